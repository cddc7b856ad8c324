"""The part of OData's query language the simulated SAP Business One and Business Central servers understand:
``$filter`` comparisons joined by ``and``, and ``$select``.

Both systems refuse what they do not understand rather than ignoring it (a misspelt property is a 400, never "every
record"), so the simulations do too: an unknown property or an expression outside this subset raises
`ODataError`, which each server answers in its own error format.

Literals: ``'text'`` (a quote inside doubled, ``'O''Brien'``), numbers, ``true``/``false``, ``null``, unquoted
ISO date-times (``2026-01-01T00:00:00Z``, OData v4's form that Business Central takes) and unquoted GUIDs
(``documentId eq 5d115c9c-44e3-ea11-bb43-000d3a2feca1``, OData v4's form). Text compares as text, so ISO dates in
quotes (SAP Business One's ``UpdateDate ge '2026-01-01'``) compare as dates.

``$expand`` (OData v4, Business Central): `parse_expand` reads ``lines`` or ``lines($select=a,b)``, refusing a
navigation property the entity does not have.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

OPERATORS = ("eq", "ne", "gt", "ge", "lt", "le")
_CLAUSE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s+(eq|ne|gt|ge|lt|le)\s+(.+?)\s*$", re.IGNORECASE)
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_EXPAND = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$")
Predicate = Callable[[dict[str, Any]], bool]


class ODataError(ValueError):
    """A query option the server refuses: the message is what the server says."""


def _split_and(expression: str) -> list[str]:
    """The clauses of ``a and b and c``, not splitting inside quotes."""
    parts, current, quoted, position = [], [], False, 0
    while position < len(expression):
        char = expression[position]
        if char == "'":
            quoted = not quoted
        if not quoted:
            match = _AND.match(expression, position)
            if match:
                parts.append("".join(current))
                current = []
                position = match.end()
                continue
        current.append(char)
        position += 1
    if quoted:
        raise ODataError("unterminated text literal")
    parts.append("".join(current))
    return parts


def literal(text: str) -> Any:
    """One literal of a filter: text, a number, a boolean, null or a date-time."""
    text = text.strip()
    if len(text) >= 2 and text[0] == "'" and text[-1] == "'":
        inner = text[1:-1]
        if re.search(r"(?<!')'(?!')", inner.replace("''", "")):
            raise ODataError(f"invalid text literal {text}")
        return inner.replace("''", "'")
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T[0-9:.]+(Z|[+-]\d{2}:\d{2})", text):
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    if _GUID.fullmatch(text):
        return text.lower()
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ODataError(f"invalid literal {text}") from None


def _comparable(value: Any, wanted: Any) -> tuple[Any, Any]:
    if isinstance(wanted, datetime) and isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00")), wanted
    if isinstance(wanted, Decimal) and isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(repr(value)), wanted
    return value, wanted


def _compare(op: str, value: Any, wanted: Any) -> bool:
    if op == "eq":
        return bool(value == wanted)
    if op == "ne":
        return bool(value != wanted)
    if value is None or wanted is None:
        return False
    try:
        return bool({"gt": value > wanted, "ge": value >= wanted, "lt": value < wanted, "le": value <= wanted}[op])
    except TypeError:
        raise ODataError("incompatible types in a comparison") from None


def parse_filter(expression: str, properties: Iterable[str]) -> Predicate:
    """A predicate over records for ``expression``; `ODataError` for an unknown property or another form."""
    known = set(properties)
    clauses: list[tuple[str, str, Any]] = []
    for clause in _split_and(expression):
        match = _CLAUSE.match(clause)
        if match is None:
            raise ODataError(f"unsupported filter expression: {clause.strip()}")
        name, op, raw = match.group(1), match.group(2).lower(), match.group(3)
        if name not in known:
            raise ODataError(f"property {name} is invalid")
        clauses.append((name, op, literal(raw)))

    def matches(record: dict[str, Any]) -> bool:
        for name, op, wanted in clauses:
            value, target = _comparable(record.get(name), wanted)
            if not _compare(op, value, target):
                return False
        return True

    return matches


def parse_select(expression: str | None, properties: Iterable[str]) -> list[str] | None:
    """The selected properties in the request's order, or None for all; `ODataError` for an unknown one."""
    if not expression:
        return None
    known = set(properties)
    names = [name.strip() for name in expression.split(",") if name.strip()]
    for name in names:
        if name != "*" and name not in known:
            raise ODataError(f"property {name} is invalid")
    return None if "*" in names else names


def selected(record: dict[str, Any], names: list[str] | None) -> dict[str, Any]:
    return dict(record) if names is None else {name: record[name] for name in names if name in record}


def parse_expand(expression: str | None, navigations: dict[str, Iterable[str]]) -> dict[str, list[str] | None]:
    """The expanded navigation properties of ``a,b($select=x,y)``, each with its selected properties (None: all);
    `ODataError` for a property that is not one of ``navigations`` or a nested option other than ``$select``."""
    if not expression:
        return {}
    found: dict[str, list[str] | None] = {}
    for part in re.split(r",(?![^()]*\))", expression):
        match = _EXPAND.match(part)
        if match is None:
            raise ODataError(f"invalid $expand: {part.strip()}")
        name, options = match.group(1), match.group(2)
        if name not in navigations:
            raise ODataError(f"could not find a navigation property named '{name}'")
        fields: list[str] | None = None
        for option in (o for o in (options or "").split(";") if o.strip()):
            key, _, value = option.partition("=")
            if key.strip() != "$select":
                raise ODataError(f"unsupported option {key.strip()} in $expand")
            fields = parse_select(value, navigations[name])
        found[name] = fields
    return found
