"""Conditions over a source record: which records a skip rule sets apart, which ones a count rule reads as counts.

A condition is plain data in a mapping version::

    {"path": "$.tracking_type", "equals": 10}
    {"path": "$.tracking_type", "in": [10, 11]}        {"path": "$.deltas.quantity", "not_in": [0]}
    {"path": "$.deltas.quantity", "empty": true}       {"all": [...]}       {"any": [...]}

compiled once into a closure that the mapping engine's fast path and its exact path both call, so the two
agree by construction. Values compare the way the ``lookup`` transform compares them: by their text form,
trimmed and case-insensitive, so ``10``, ``10.0`` and ``"10"`` are one value and ``"Out"`` equals ``"out"``.
A path reads its first match, as a field rule does; a path that matches nothing reads as null, so
``{"equals": null}`` matches a missing value and ``not_in`` matches it too (it is none of the listed values).
Evaluating a condition never raises: a value that is an object or a list equals nothing (only ``empty`` looks at
it), and a path that cannot be evaluated on a record reads as missing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from atlas.connectors.engine.jsonpath import CompiledPath, JsonPathError, compile_path
from atlas.mapping.invalid import MappingInvalid

MAX_CONDITIONS = 20  # per list (``skip``, ``count.when``), nested ones included
MAX_DEPTH = 3  # a list's own conditions are depth 1; an ``all``/``any`` inside one is depth 2, and so on
MAX_VALUES = 5000  # values of one ``in`` / ``not_in``, as many as a lookup table may have
TESTS = ("equals", "in", "not_in", "empty")

Condition = Callable[[Any], bool]
_ABSENT: Any = object()
_UNCOMPARABLE: Any = object()  # the text form of an object or a list: equal to nothing


def is_empty(value: Any) -> bool:
    """Null, a blank text, or an empty list or object: what "finds nothing" means to ``paths``, ``default`` and
    the ``empty`` test (a present ``0`` or ``false`` is a value)."""
    if value is None:
        return True
    if type(value) is str:
        return not value.strip()
    if type(value) is list or type(value) is dict:
        return not value
    return False


def comparable(value: Any) -> Any:
    """A value's text form as conditions compare it (the lookup transform's: trimmed, lower case)."""
    if value is None or value is _ABSENT:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value.strip().lower()
    if isinstance(value, int | Decimal):
        return str(value).lower()
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value).lower()
    return _UNCOMPARABLE


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | bool | int | float)


def compile_conditions(specs: Any, where: str) -> list[Condition]:
    """A list of conditions (``where`` names the list, such as ``skip``), each ready to test a record."""
    if not isinstance(specs, list) or not specs:
        raise MappingInvalid("bad_condition", where, "a list of one or more conditions")
    budget = [0]
    return [_condition(spec, f"{where}[{index}]", 1, budget, where) for index, spec in enumerate(specs)]


def first_match(conditions: list[Condition]) -> Callable[[Any], int | None]:
    """The index of the first condition a record matches, or None."""
    indexed = list(enumerate(conditions))

    def which(record: Any) -> int | None:
        for index, condition in indexed:
            if condition(record):
                return index
        return None

    return which


def _condition(spec: Any, where: str, depth: int, budget: list[int], root: str) -> Condition:
    if depth > MAX_DEPTH:
        raise MappingInvalid("conditions_too_deep", where, str(MAX_DEPTH))
    budget[0] += 1
    if budget[0] > MAX_CONDITIONS:
        raise MappingInvalid("too_many_conditions", root, str(MAX_CONDITIONS))
    if not isinstance(spec, dict):
        raise MappingInvalid("bad_condition", where, "a condition is an object")
    for group in ("all", "any"):
        if group in spec:
            if len(spec) != 1:
                raise MappingInvalid("bad_condition", where, f"“{group}” stands alone in its condition")
            members = spec[group]
            if not isinstance(members, list) or not members:
                raise MappingInvalid("bad_condition", f"{where}.{group}", "a list of one or more conditions")
            parts = [
                _condition(member, f"{where}.{group}[{index}]", depth + 1, budget, root)
                for index, member in enumerate(members)
            ]
            if group == "all":
                return lambda record: all(part(record) for part in parts)
            return lambda record: any(part(record) for part in parts)
    tests = [key for key in spec if key in TESTS]
    extra = sorted(set(spec) - {"path", *TESTS})
    if "path" not in spec or len(tests) != 1 or extra:
        raise MappingInvalid(
            "bad_condition", where, "a path and one of equals, in, not_in or empty (or all / any on their own)"
        )
    read = _reader(spec["path"], f"{where}.path")
    test = tests[0]
    wanted = spec[test]
    if test == "empty":
        if not isinstance(wanted, bool):
            raise MappingInvalid("bad_condition", f"{where}.empty", "true or false")

        def empty(record: Any) -> bool:
            value = read(record)
            return (value is _ABSENT or is_empty(value)) is wanted

        return empty
    if test == "equals":
        if not _scalar(wanted):
            raise MappingInvalid("bad_condition", f"{where}.equals", "a text, a number, true, false or null")
        key = comparable(wanted)
        return lambda record: comparable(read(record)) == key
    if not isinstance(wanted, list) or not wanted or len(wanted) > MAX_VALUES or not all(map(_scalar, wanted)):
        raise MappingInvalid(
            "bad_condition", f"{where}.{test}", f"a list of 1 to {MAX_VALUES} texts, numbers, true, false or null"
        )
    keys = frozenset(comparable(value) for value in wanted)
    if test == "in":
        return lambda record: comparable(read(record)) in keys
    return lambda record: comparable(read(record)) not in keys


def _reader(expression: Any, where: str) -> Callable[[Any], Any]:
    """The first value a path matches in a record, or ``_ABSENT``; never raises."""
    if not isinstance(expression, str) or len(expression) > 500:
        raise MappingInvalid("bad_path", where, "a JSONPath expression is required")
    try:
        path: CompiledPath = compile_path(expression)
    except JsonPathError:
        raise MappingInvalid("bad_path", where, expression) from None
    find = path.find

    def read(record: Any) -> Any:
        try:
            found = find(record)
        except Exception:  # a filter comparing a text with a number, say: this record has no such value
            return _ABSENT
        return found[0] if found else _ABSENT

    return read
