"""``frappe.client.get_list`` as ``GET /api/resource/<DocType>`` calls it (``frappe/api/v1.py`` ``document_list``),
over the simulation's rows: fields, filters, or_filters, order_by, limit_start and limit_page_length.

From ``frappe/api/v1.py``: ``fields`` is ``json.loads``-ed (invalid JSON is an unhandled ``JSONDecodeError``, a 500);
``limit_page_length`` defaults to ``limit`` or 20 (``setdefault``, so an explicit ``0`` stays ``0``, which
``DatabaseQuery`` reads as no limit); ``order_by`` defaults to the doctype's sort field and order; the call goes
through ``frappe.call``, which drops every parameter ``get_list`` does not take, so unknown parameters are ignored.
From ``frappe/model/db_query.py``: no ``fields`` means ``name`` only; ``*`` means every column; a field the doctype
does not have is ``DataError: Field not permitted in query: <field>`` (HTTP 417); filters are a list of
``[field, op, value]`` (or ``[doctype, field, op, value]``) or a dict ``{field: value | [op, value]}``, all ANDed,
``or_filters`` ORed; ``!=`` and ``not in`` compare through ``ifnull`` (a missing value is ``""`` or 0); comparisons of
text follow MariaDB's default collation (``utf8mb4_unicode_ci``: regardless of case); the answer has no total.
Inferred: rows that tie on the sort key come in name order (MariaDB's order for ties is not specified); an
unknown operator is a 417 ValidationError; a negative ``limit_start`` is a SQL error (500).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from tests.sims.frappe_doctypes import NUMERIC, DocType, Row, to_json

OPERATORS = ("=", "!=", ">", "<", ">=", "<=", "like", "not like", "in", "not in", "is", "between")
ORDER_TERM = re.compile(r"^\s*(?:`tab[^`]+`\.)?`?([A-Za-z_][A-Za-z0-9_]*)`?\s*(asc|desc)?\s*$", re.IGNORECASE)


class FrappeError(Exception):
    """An exception Frappe turns into ``{"exc_type": ..., "_server_messages": ...}`` with its HTTP status."""

    def __init__(self, status: int, exc_type: str, message: str | None = None) -> None:
        super().__init__(message or exc_type)
        self.status = status
        self.exc_type = exc_type
        self.message = message


def cint(value: Any) -> int:
    """``frappe.utils.cint``: an int, or 0 for anything that is not one."""
    try:
        return int(float(str(value).strip()))
    except (TypeError, ValueError):
        return 0


def _not_permitted(field: str) -> FrappeError:
    return FrappeError(417, "DataError", f"Field not permitted in query: {field}")


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise FrappeError(500, "JSONDecodeError") from None


def _clean(field: str) -> str:
    found = re.match(r"^(?:`tab[^`]+`\.)?`?([^`]+)`?$", field.strip())
    return found.group(1) if found else field.strip()


def _comparable(value: Any, fieldtype: str) -> Any:
    """A stored value as the database compares it (``ifnull`` to "" or 0; text regardless of case)."""
    if fieldtype in NUMERIC:
        return Decimal(value) if value is not None else Decimal(0)
    if fieldtype in ("Date", "Datetime", "Time"):
        return value
    return ("" if value is None else str(value)).casefold()


def _coerce(value: Any, fieldtype: str) -> Any:
    """A filter value as the column's type."""
    if value is None:
        return None
    if fieldtype in NUMERIC:
        try:
            return Decimal(str(value).strip() or "0")
        except InvalidOperation:
            return Decimal(0)
    text = str(value).strip()
    try:
        if fieldtype == "Datetime":
            return datetime.fromisoformat(text.replace("T", " ").removesuffix("Z")).replace(tzinfo=None)
        if fieldtype == "Date":
            return date.fromisoformat(text[:10])
        if fieldtype == "Time":
            return time.fromisoformat(text)
    except ValueError:
        raise FrappeError(417, "ValidationError", f"Invalid value {text} for {fieldtype}") from None
    return text.casefold()


def _like(pattern: str) -> re.Pattern[str]:
    parts = [".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern.casefold()]
    return re.compile("^" + "".join(parts) + "$", re.DOTALL)


def _condition(doctype: DocType, spec: Any) -> Callable[[Row], bool]:
    if isinstance(spec, list | tuple):
        parts = list(spec)
        if len(parts) == 4:
            parts = parts[1:]
        if len(parts) == 2:
            parts = [parts[0], "=", parts[1]]
        if len(parts) != 3:
            raise FrappeError(417, "ValidationError", f"Invalid filter: {spec}")
        field, op, value = parts
    else:
        raise FrappeError(417, "ValidationError", f"Invalid filter: {spec}")
    field = _clean(str(field))
    fieldtype = doctype.fields.get(field)
    if fieldtype is None:
        raise _not_permitted(field)
    op = str(op).strip().lower()
    if op not in OPERATORS:
        raise FrappeError(417, "ValidationError", f"Operator must be one of {', '.join(OPERATORS)}")

    def stored(row: Row) -> Any:
        return _comparable(row.get(field), fieldtype)

    if op == "is":
        wanted = str(value).strip().lower() == "set"
        return lambda row: (row.get(field) not in (None, "")) == wanted
    if op in ("in", "not in"):
        values = value if isinstance(value, list | tuple) else [v for v in str(value or "").split(",")]
        options = {_coerce(v, fieldtype) for v in values}
        inside = op == "in"
        return lambda row: (stored(row) in options) == inside
    if op in ("like", "not like"):
        pattern = _like(str(value))
        matches = op == "like"
        return lambda row: bool(pattern.match(str(row.get(field) or "").casefold())) == matches
    if op == "between":
        low, high = (_coerce(v, fieldtype) for v in (value if isinstance(value, list | tuple) else [value, value]))
        return lambda row: row.get(field) is not None and low <= stored(row) <= high
    target = _coerce(value, fieldtype)
    if target is None:
        target = _comparable(None, fieldtype)
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        ">": lambda a, b: a > b,
        "<": lambda a, b: a < b,
        ">=": lambda a, b: a >= b,
        "<=": lambda a, b: a <= b,
    }
    check = compare[op]

    def test(row: Row) -> bool:
        have = stored(row)
        if have is None:
            return False  # NULL compares as unknown
        return check(have, target)

    return test


def _conditions(doctype: DocType, raw: Any) -> list[Callable[[Row], bool]]:
    if raw in (None, "", [], {}):
        return []
    parsed = _json(raw) if isinstance(raw, str) else raw
    if isinstance(parsed, dict):
        specs: list[Any] = []
        for field, value in parsed.items():
            if isinstance(value, list | tuple) and len(value) == 2 and str(value[0]).lower() in OPERATORS:
                specs.append([field, value[0], value[1]])
            else:
                specs.append([field, "=", value])
        return [_condition(doctype, s) for s in specs]
    if isinstance(parsed, list):
        if parsed and not isinstance(parsed[0], list | tuple):
            parsed = [parsed]
        return [_condition(doctype, s) for s in parsed]
    raise FrappeError(417, "ValidationError", "Invalid filters")


def _ordering(doctype: DocType, order_by: str) -> Callable[[list[Row]], list[Row]]:
    terms = []
    for term in order_by.split(","):
        found = ORDER_TERM.match(term)
        if not found:
            raise FrappeError(417, "ValidationError", "Illegal SQL Query")
        field = found.group(1)
        if field not in doctype.fields:
            raise FrappeError(500, "OperationalError", f"Unknown column '{field}' in 'order clause'")
        terms.append((field, (found.group(2) or "asc").lower() == "desc"))

    def sort(rows: list[Row]) -> list[Row]:
        result = sorted(rows, key=lambda r: _comparable(r["name"], "Data"))
        for field, descending in reversed(terms):
            fieldtype = doctype.fields[field]

            def key(row: Row, field: str = field, fieldtype: str = fieldtype) -> tuple[bool, Any]:
                value = row.get(field)
                return (value is not None, _comparable(value, fieldtype) if value is not None else 0)

            result.sort(key=key, reverse=descending)
        return result

    return sort


def get_list(doctype: DocType, rows: list[Row], form: dict[str, str]) -> list[dict[str, Any]]:
    """The rows ``GET /api/resource/<doctype>`` answers for the request's parameters (first value of each)."""
    fields: list[str] = ["name"]
    if form.get("fields"):
        chosen = _json(form["fields"])
        fields = [chosen] if isinstance(chosen, str) else list(chosen or ["name"])
    if "*" in fields:
        fields = list(doctype.fields)
    selected = [_clean(str(f)) for f in fields]
    for field in selected:
        if field not in doctype.fields:
            raise _not_permitted(field)
    limit = cint(form["limit_page_length"]) if "limit_page_length" in form else cint(form.get("limit") or 20)
    start = cint(form.get("limit_start"))
    if start < 0 or limit < 0:
        raise FrappeError(500, "ProgrammingError", "You have an error in your SQL syntax")
    conditions = _conditions(doctype, form.get("filters"))
    alternatives = _conditions(doctype, form.get("or_filters"))
    kept = [r for r in rows if all(c(r) for c in conditions) and (not alternatives or any(a(r) for a in alternatives))]
    ordered = _ordering(doctype, form.get("order_by") or doctype.sort)(kept)
    page = ordered[start : start + limit] if limit else ordered[start:]
    return [{f: to_json(r.get(f), doctype.fields[f]) for f in selected} for r in page]
