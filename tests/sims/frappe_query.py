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
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from tests.sims.frappe_doctypes import NUMERIC, DocType, Row, to_json

OPERATORS = ("=", "!=", ">", "<", ">=", "<=", "like", "not like", "in", "not in", "is", "between")
ORDER_TERM = re.compile(r"^\s*(?:`tab([^`]+)`\.)?`?([A-Za-z_][A-Za-z0-9_]*)`?\s*(asc|desc)?\s*$", re.IGNORECASE)
Predicate = Callable[[Row], bool]
Children = Callable[[str], tuple[DocType, list[Row]]]
Joined = tuple[Row, Row | None]  # a row of the doctype and, when its child table is joined, the line (or None)


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


def _condition(doctype: DocType, spec: Any, children: Children | None = None) -> tuple[str | None, Predicate]:
    """A filter: the child table it reads (None: the doctype itself) and its test. ``[doctype, field, op, value]``
    names the table: the doctype itself or one of its child tables (which joins the child table); another doctype is
    joined on a ``parent`` column it does not have (a SQL error)."""
    if not isinstance(spec, list | tuple):
        raise FrappeError(417, "ValidationError", f"Invalid filter: {spec}")
    parts = list(spec)
    if len(parts) == 4:
        named = str(parts[0])
        if named != doctype.name:
            if named not in doctype.tables.values() or children is None:
                raise FrappeError(500, "OperationalError", f"Unknown column 'tab{named}.parenttype' in 'on clause'")
            return named, _test(children(named)[0], parts[1:])
        parts = parts[1:]
    return None, _test(doctype, parts)


def _test(doctype: DocType, parts: list[Any]) -> Predicate:
    if len(parts) == 2:
        parts = [parts[0], "=", parts[1]]
    if len(parts) != 3:
        raise FrappeError(417, "ValidationError", f"Invalid filter: {parts}")
    field, op, value = parts
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


def _conditions(doctype: DocType, raw: Any, children: Children | None = None) -> list[tuple[str | None, Predicate]]:
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
        return [_condition(doctype, s, children) for s in specs]
    if isinstance(parsed, list):
        if parsed and not isinstance(parsed[0], list | tuple):
            parsed = [parsed]
        return [_condition(doctype, s, children) for s in parsed]
    raise FrappeError(417, "ValidationError", "Invalid filters")


@dataclass(frozen=True)
class Column:
    """A selected column: from the doctype itself (``table`` None) or a child table, and its key in the answer."""

    table: str | None
    field: str
    key: str


def _column(doctype: DocType, term: str, children: Children) -> Column:
    """One entry of ``fields``, as ``validate_fields`` and ``DatabaseQuery.parse_args`` read it: ``field``,
    ``field as alias``, ``tablefield.field`` (``items.item_code``: the child table of that Table field, joined),
    ``tablefield.field as alias``, or ```tabChild`.`field```. The answer names a column by its alias, else by its
    bare name (``items.name`` is ``name``, like the order's own)."""
    term = term.strip()
    if "." not in term:
        words = term.split()
        if len(words) == 3 and words[1].lower() == "as":
            return Column(None, _own(doctype, _clean(words[0])), words[2].strip("`"))
        field = _own(doctype, _clean(term))
        return Column(None, field, field)
    expression, alias = term, ""
    if " as " in term:
        expression, alias = term.split(" as ", 1)
    elif " as " in term.lower():  # parse_args splits on " as " only: "item_code AS x" becomes one column name
        raise FrappeError(500, "OperationalError", f"Unknown column '{term.split('.', 1)[1]}' in 'field list'")
    head, _, field = expression.strip().partition(".")
    field = field.strip().strip("`")
    if head.startswith("`tab") and head.endswith("`"):
        table = head[4:-1]
        if table == doctype.name:
            return Column(None, _own(doctype, field), alias.strip() or field)
        if table not in doctype.tables.values():
            raise _not_permitted(f"{head}.{field}")
    elif head in doctype.tables:
        table = doctype.tables[head]
    elif head in doctype.fields:
        raise FrappeError(500, "NotSimulated", f"a join through the link field {head} is not simulated")
    else:  # get_parenttype_and_fieldname: meta.get_field(head) is None, and None has no options
        raise FrappeError(500, "AttributeError", "'NoneType' object has no attribute 'options'")
    if field not in children(table)[0].fields:
        raise _not_permitted(f"{head}.{field}")
    return Column(table, field, alias.strip().strip("`") or field)


def _own(doctype: DocType, field: str) -> str:
    if field not in doctype.fields:
        raise _not_permitted(field)
    return field


def _ordering(
    doctype: DocType, order_by: str, joined: set[str], columns: list[Column], children: Children
) -> Callable[[list[Joined]], list[Joined]]:
    """``order by`` as MariaDB runs it on the joined rows: ```tabX`.`field``` names its table (one the query joins,
    else ``validate_order_by_and_group_by`` refuses it); a bare name is a selected column's key first, then the one
    table that has it (a name both tables have is ambiguous: a SQL error)."""
    terms: list[tuple[str | None, str, bool]] = []
    for term in order_by.split(","):
        found = ORDER_TERM.match(term)
        if not found:
            raise FrappeError(417, "ValidationError", "Illegal SQL Query")
        table, field, descending = found.group(1), found.group(2), (found.group(3) or "asc").lower() == "desc"
        if table is not None and table != doctype.name:
            if table not in joined:
                raise FrappeError(417, "ValidationError", f"Please select atleast 1 column from {table} to sort/group")
            source: str | None = table
        elif table is None and joined:
            chosen = [c for c in columns if c.key == field]
            inside = [t for t in (None, *sorted(joined)) if field in _fields(doctype, t, children)]
            if chosen:
                source, field = chosen[-1].table, chosen[-1].field
            elif len(inside) > 1:
                raise FrappeError(500, "OperationalError", f"Column '{field}' in order clause is ambiguous")
            else:
                source = inside[0] if inside else None
        else:
            source = None
        if field not in _fields(doctype, source, children):
            raise FrappeError(500, "OperationalError", f"Unknown column '{field}' in 'order clause'")
        terms.append((source, field, descending))

    def sort(rows: list[Joined]) -> list[Joined]:
        result = sorted(rows, key=lambda r: (_comparable(r[0]["name"], "Data"), _comparable(_name(r[1]), "Data")))
        for source, field, descending in reversed(terms):
            fieldtype = _fields(doctype, source, children)[field]

            def key(row: Joined, source: str | None = source, field: str = field, kind: str = fieldtype) -> Any:
                value = _value(row, source, field)
                return (value is not None, _comparable(value, kind) if value is not None else 0)

            result.sort(key=key, reverse=descending)
        return result

    return sort


def _fields(doctype: DocType, table: str | None, children: Children) -> dict[str, str]:
    return doctype.fields if table is None else children(table)[0].fields


def _name(row: Row | None) -> str:
    return "" if row is None else str(row["name"])


def _value(row: Joined, table: str | None, field: str) -> Any:
    source = row[0] if table is None else row[1]
    return None if source is None else source.get(field)


def _no_children(name: str) -> tuple[DocType, list[Row]]:
    raise FrappeError(500, "OperationalError", f"Table 'tab{name}' is not joined here")


def get_list(
    doctype: DocType, rows: list[Row], form: dict[str, str], children: Children = _no_children
) -> list[dict[str, Any]]:
    """The rows ``GET /api/resource/<doctype>`` answers for the request's parameters (first value of each).

    ``children(child doctype)`` gives a child table's doctype and rows. A child table named in ``fields`` or in a
    filter is joined as ``DatabaseQuery.prepare_args`` joins it: ``left join `tabChild` on (parenttype = the doctype
    and parent = name)``, so the answer has one row per child line (an order with two matching lines twice, one
    with none once, with nulls), and the child's filters test the line."""
    fields: list[str] = ["name"]
    if form.get("fields"):
        chosen = _json(form["fields"])
        fields = [chosen] if isinstance(chosen, str) else list(chosen or ["name"])
    fields = [f for f in fields if f]
    if "*" in fields:
        fields = list(doctype.fields)
    columns = [_column(doctype, str(f), children) for f in fields]
    limit = cint(form["limit_page_length"]) if "limit_page_length" in form else cint(form.get("limit") or 20)
    start = cint(form.get("limit_start"))
    if start < 0 or limit < 0:
        raise FrappeError(500, "ProgrammingError", "You have an error in your SQL syntax")
    conditions = _conditions(doctype, form.get("filters"), children)
    alternatives = _conditions(doctype, form.get("or_filters"), children)
    joined = {c.table for c in columns if c.table} | {t for t, _ in conditions + alternatives if t}
    if len(joined) > 1:
        raise FrappeError(500, "NotSimulated", "a join of two child tables is not simulated")
    combined: list[Joined] = []
    if joined:
        [table] = joined
        lines: dict[str, list[Row]] = {}
        for line in children(table)[1]:
            if line.get("parenttype") == doctype.name:
                lines.setdefault(str(line["parent"]), []).append(line)
        for row in rows:
            combined += [(row, line) for line in lines.get(str(row["name"]), [])] or [(row, None)]
    else:
        combined = [(row, None) for row in rows]

    def holds(row: Joined, table: str | None, test: Predicate) -> bool:
        if table is None:
            return test(row[0])
        return test(row[1] if row[1] is not None else {})

    kept = [
        r
        for r in combined
        if all(holds(r, t, c) for t, c in conditions)
        and (not alternatives or any(holds(r, t, a) for t, a in alternatives))
    ]
    order_by = form.get("order_by") or ", ".join(f"`tab{doctype.name}`.{term}" for term in doctype.sort.split(","))
    ordered = _ordering(doctype, order_by, joined, columns, children)(kept)
    page = ordered[start : start + limit] if limit else ordered[start:]
    answer = []
    for row in page:
        record: dict[str, Any] = {}
        for column in columns:  # frappe.db.sql(as_dict=True): a later column of the same name wins
            kind = _fields(doctype, column.table, children)[column.field]
            record[column.key] = to_json(_value(row, column.table, column.field), kind)
        answer.append(record)
    return answer
