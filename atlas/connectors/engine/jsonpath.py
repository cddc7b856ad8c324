"""JSONPath compiled once per configuration, with a fast path for simple paths.

``$``, ``$.a.b``, ``$.a[0].b`` and ``$['a b']`` are walked directly (a few dict
and list lookups per record); anything else goes through jsonpath-ng, parsed
once here, never per record. Both return the list of matched values, with
jsonpath-ng's semantics (a field on a list or an index on a dict matches nothing).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
from jsonpath_ng.ext.parser import parse as parse_extended

_SEGMENT = re.compile(r"""\.([A-Za-z_][A-Za-z0-9_\-]*)|\[(\d+)\]|\[['"]([^'"\]]+)['"]\]""")


class JsonPathError(ValueError):
    """A JSONPath expression that is empty or does not parse."""


def _simple_steps(expression: str) -> list[str | int] | None:
    if not expression.startswith("$"):
        return None
    steps: list[str | int] = []
    position = 1
    while position < len(expression):
        match = _SEGMENT.match(expression, position)
        if match is None:
            return None
        name, index, quoted = match.groups()
        steps.append(int(index) if index is not None else (name if name is not None else quoted))
        position = match.end()
    return steps


def _walk(steps: list[str | int]) -> Callable[[Any], list[Any]]:
    def find(document: Any) -> list[Any]:
        value = document
        for step in steps:
            if isinstance(step, int):
                if not isinstance(value, list) or step >= len(value):
                    return []
                value = value[step]
            else:
                if not isinstance(value, dict) or step not in value:
                    return []
                value = value[step]
        return [value]

    return find


class CompiledPath:
    """A JSONPath expression ready to apply to many documents."""

    __slots__ = ("expression", "find", "is_simple")

    def __init__(self, expression: str) -> None:
        expression = expression.strip()
        if not expression:
            raise JsonPathError("an empty JSONPath expression")
        if not expression.startswith("$"):
            expression = "$." + expression
        self.expression = expression
        steps = _simple_steps(expression)
        self.is_simple = steps is not None
        if steps is not None:
            self.find: Callable[[Any], list[Any]] = _walk(steps)
        else:
            try:
                parsed = parse_extended(expression)
            except (JsonPathLexerError, JsonPathParserError, Exception) as exc:
                raise JsonPathError(f"not a valid JSONPath expression: {expression}") from exc

            def find(document: Any) -> list[Any]:
                return [match.value for match in parsed.find(document)]

            self.find = find

    def first(self, document: Any, default: Any = None) -> Any:
        found = self.find(document)
        return found[0] if found else default


@lru_cache(maxsize=4096)
def compile_path(expression: str) -> CompiledPath:
    return CompiledPath(expression)
