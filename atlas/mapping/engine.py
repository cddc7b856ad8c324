"""The mapping engine: someone else's JSON records in, canonical rows (or per-record errors, or "skipped") out.

A mapping is plain data: per canonical field, a JSONPath, the first non-empty of
several paths, or a constant, then a short chain of named transforms and a default;
beside the fields, skip rules, a stock-count rule (movements) and how balance rows
combine (`docs/mappings.md` is the reference). `compile_mapping` turns one version
into Python functions once; simple paths become direct dict/list lookups in
generated code, other paths use jsonpath-ng parsed once. A record is mapped on a
fast path and, when anything about it is unusual, again field by field on the exact
path, which alone builds errors. Mapping a record never raises: every problem
becomes a `FieldError` on that record.

What a record becomes (the contract the sync writer builds on): a ``dict`` (the
canonical row), a ``list[FieldError]`` (set aside with these errors) or a
`Skipped` (a skip rule matched: counted as skipped, not quarantined). Every
balance row has ``source_id`` and ``location_ref`` (None when the record has no
location); every movement row has ``location_ref``, ``level``, ``level_key`` and
``is_count``.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from atlas.connectors.engine.jsonpath import CompiledPath, JsonPathError, _simple_steps, compile_path
from atlas.mapping.canonical import (
    CANONICAL_FIELDS,
    LOCATION_TYPES,
    ORDER_KINDS,
    CanonicalField,
    FieldType,
    MovementKind,
)
from atlas.mapping.conditions import compile_conditions, first_match, is_empty
from atlas.mapping.invalid import MappingInvalid

MISSING: Any = object()
TRANSFORMS = (
    "to_number",
    "to_text",
    "trim",
    "lower",
    "upper",
    "parse_datetime",
    "multiply",
    "lookup",
    "default",
    "negate_when",
    "join",
    "subtract",
    "blank_if",
)
MAX_TRANSFORMS = 8
MOVEMENT_KINDS = frozenset(k.value for k in MovementKind)
# Quantities and money are numeric(18, 4) in PostgreSQL: at most 14 digits before the point. A larger value is the
# record's error (out_of_range, set aside with its reason), never the database's (which would fail the whole batch).
DECIMAL_LIMIT = Decimal("1e14")


__all__ = [
    "CompiledMapping",
    "FieldError",
    "MappedRecord",
    "MappingInvalid",
    "Skipped",
    "compile_mapping",
    "content_hash",
]
COMBINES = ("sum", "last")
SPEC_KEYS = frozenset({"record_path", "timezone", "fields", "skip", "combine", "count", "unnest"})
UNNEST_KEYS = frozenset({"path", "parent_as"})
PARENT_AS = re.compile(r"^[A-Za-z_@][A-Za-z0-9_@\-]{0,59}$")
RULE_KEYS = frozenset({"path", "paths", "constant", "transforms", "default"})
COUNT_KEYS = frozenset({"when", "counted", "level_key", "complete_history"})
MAX_PATHS = 10


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    code: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record a skip rule matched: counted as skipped, neither written nor set aside. ``rule`` is the index of
    the first rule of the mapping's ``skip`` list that matched it."""

    rule: int


@dataclass(slots=True)
class MappedRecord:
    values: dict[str, Any] | None
    errors: list[FieldError] = field(default_factory=list)
    skipped: int | None = None  # the skip rule that matched, for a skipped record

    @property
    def ok(self) -> bool:
        """Mapped into a row (neither set aside nor skipped)."""
        return self.values is not None


class _RecordProblem(Exception):
    def __init__(self, code: str, detail: str = "") -> None:
        self.code = code
        self.detail = detail


# --- transforms -----------------------------------------------------------------------------------


def _number(value: Any) -> Any:
    if value is MISSING or value is None:
        return value
    if isinstance(value, bool):
        raise _RecordProblem("not_a_number", repr(value)[:60])
    if isinstance(value, int | Decimal):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _RecordProblem("not_a_number", repr(value))
        return Decimal(repr(value))
    if isinstance(value, str):
        text = value.strip().replace(",", "").replace("\u066c", "").replace("\u066b", ".")
        text = text.translate(_ARABIC_DIGITS)
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise _RecordProblem("not_a_number", value[:60]) from None
        if not number.is_finite():
            raise _RecordProblem("not_a_number", value[:60])
        return number
    raise _RecordProblem("not_a_number", type(value).__name__)


_ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def _text(value: Any) -> Any:
    if value is MISSING or value is None:
        return value
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else str(int(value))
    raise _RecordProblem("not_text", type(value).__name__)


def _string_op(op: Callable[[str], str]) -> Callable[[Any], Any]:
    def apply(value: Any) -> Any:
        if isinstance(value, str):
            return op(value)
        return value

    return apply


def _timezone(name: str | None, where: str) -> tzinfo:
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise MappingInvalid("unknown_timezone", where, name) from None


def _parse_datetime(spec: dict[str, Any], where: str, default_zone: tzinfo = UTC) -> Callable[[Any], Any]:
    zone = _timezone(spec["timezone"], where) if spec.get("timezone") else default_zone
    fmt = spec.get("format")
    if fmt is not None and not isinstance(fmt, str):
        raise MappingInvalid("bad_transform", where, "format must be text")

    def apply(value: Any) -> Any:
        if value is MISSING or value is None or isinstance(value, datetime):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = value / 1000 if value > 1e11 else value
            try:
                return datetime.fromtimestamp(seconds, UTC)
            except (OverflowError, OSError, ValueError):
                raise _RecordProblem("not_a_datetime", repr(value)[:60]) from None
        if not isinstance(value, str):
            raise _RecordProblem("not_a_datetime", type(value).__name__)
        try:
            text = value.strip()
            moment = datetime.strptime(text, fmt) if fmt else datetime.fromisoformat(text)  # noqa: DTZ007
        except ValueError:
            raise _RecordProblem("not_a_datetime", value[:60]) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        return moment

    return apply


def _multiply(spec: dict[str, Any], where: str) -> tuple[Callable[..., Any], bool]:
    """The value times a constant ``factor`` (grams to kilograms) or times the number at ``path`` in the same record
    (an order line's quantity in its purchase unit times the line's conversion factor to the stock unit); absent or
    null at ``path``: times 1, as ``subtract`` takes nothing away. Exactly one of the two. Also says whether the
    function needs the record."""
    if ("factor" in spec) == ("path" in spec):
        raise MappingInvalid("bad_transform", where, "multiply needs a factor or a path, not both")
    if "path" in spec:
        path = _compile(spec.get("path"), where)

        def by_field(value: Any, record: Any) -> Any:
            number = _number(value)
            if number is MISSING or number is None:
                return number
            found = path.find(record)
            other = _number(found[0]) if found else None
            if other is MISSING or other is None:
                return number
            return number * other

        return by_field, True
    try:
        factor = Decimal(str(spec.get("factor")))
    except InvalidOperation:
        raise MappingInvalid("bad_transform", where, "factor must be a number") from None
    if not factor.is_finite():
        raise MappingInvalid("bad_transform", where, "factor must be a number")

    def apply(value: Any) -> Any:
        number = _number(value)
        if number is MISSING or number is None:
            return number
        return number * factor

    return apply, False


def _lookup(spec: dict[str, Any], where: str) -> Callable[[Any], Any]:
    table = spec.get("table")
    if not isinstance(table, dict) or not table or len(table) > 5000:
        raise MappingInvalid("bad_transform", where, "a lookup needs a table of 1 to 5,000 entries")
    ignore_case = bool(spec.get("ignore_case", True))
    entries = {(str(k).strip().lower() if ignore_case else str(k)): v for k, v in table.items()}
    has_default = "default" in spec
    fallback = spec.get("default")

    def apply(value: Any) -> Any:
        if value is MISSING or value is None:
            return value
        key = _text(value)
        key = key.strip().lower() if ignore_case else key
        if key in entries:
            return entries[key]
        if has_default:
            return fallback
        raise _RecordProblem("not_in_lookup", str(value)[:60])

    return apply


def _default(spec: dict[str, Any], where: str) -> Callable[[Any], Any]:
    if "value" not in spec:
        raise MappingInvalid("bad_transform", where, "default needs a value")
    fallback = spec["value"]

    def apply(value: Any) -> Any:
        return fallback if value is MISSING or value is None or value == "" else value

    return apply


def _negate_when(spec: dict[str, Any], where: str) -> Callable[[Any, Any], Any]:
    path = _compile(spec.get("path"), where)
    values = spec.get("values")
    if not isinstance(values, list) or not values:
        raise MappingInvalid("bad_transform", where, "negate_when needs a list of values")
    matches = {str(v).strip().lower() for v in values}

    def apply(value: Any, record: Any) -> Any:
        number = _number(value)
        if number is MISSING or number is None:
            return number
        found = path.find(record)
        if found and str(found[0]).strip().lower() in matches:
            return -abs(number)
        return number

    return apply


def _subtract(spec: dict[str, Any], where: str) -> Callable[[Any, Any], Any]:
    """The value minus the number at ``path`` in the same record (absent or null: nothing to subtract), e.g. an order
    line's open quantity as ordered − received."""
    path = _compile(spec.get("path"), where)

    def apply(value: Any, record: Any) -> Any:
        number = _number(value)
        if number is MISSING or number is None:
            return number
        found = path.find(record)
        other = _number(found[0]) if found else None
        if other is MISSING or other is None:
            return number
        return number - other

    return apply


def _blank_if(spec: dict[str, Any], where: str) -> Callable[[Any], Any]:
    """No value (as if the source sent none) when the value is one of ``values``: the placeholders some systems
    write instead of leaving a field empty, e.g. Business Central's blank date ``0001-01-01``. Compared as text,
    ignoring surrounding spaces and case; anything else passes unchanged."""
    values = spec.get("values")
    if not isinstance(values, list) or not values or len(values) > 50:
        raise MappingInvalid("bad_transform", where, "blank_if needs a list of 1 to 50 values")
    blanks = {str(v).strip().lower() for v in values}

    def apply(value: Any) -> Any:
        if value is MISSING or value is None:
            return value
        return None if _text(value).strip().lower() in blanks else value

    return apply


def _join(spec: dict[str, Any], where: str) -> Callable[[Any, Any], Any]:
    paths = spec.get("paths")
    if not isinstance(paths, list) or not paths or len(paths) > 10:
        raise MappingInvalid("bad_transform", where, "join needs 1 to 10 paths")
    compiled = [_compile(p, where) for p in paths]
    separator = str(spec.get("separator", ", "))

    def apply(value: Any, record: Any) -> Any:
        parts = [] if value is MISSING or value in (None, "") else [_text(value)]
        for path in compiled:
            found = path.find(record)
            if found and found[0] not in (None, "") and not isinstance(found[0], dict | list):
                parts.append(_text(found[0]))
        return separator.join(parts) if parts else MISSING

    return apply


def _compile(expression: Any, where: str) -> CompiledPath:
    if not isinstance(expression, str) or len(expression) > 500:
        raise MappingInvalid("bad_path", where, "a JSONPath expression is required")
    try:
        return compile_path(expression)
    except JsonPathError:
        raise MappingInvalid("bad_path", where, expression) from None


def _transform(spec: Any, where: str) -> tuple[Callable[..., Any], bool]:
    """A transform function and whether it also needs the whole record."""
    if not isinstance(spec, dict) or spec.get("op") not in TRANSFORMS:
        raise MappingInvalid("unknown_transform", where, str(spec.get("op") if isinstance(spec, dict) else spec))
    op = spec["op"]
    if op == "to_number":
        return _number, False
    if op == "to_text":
        return _text, False
    if op == "trim":
        return _string_op(str.strip), False
    if op == "lower":
        return _string_op(str.lower), False
    if op == "upper":
        return _string_op(str.upper), False
    if op == "parse_datetime":
        return _parse_datetime(spec, where), False
    if op == "multiply":
        return _multiply(spec, where)
    if op == "lookup":
        return _lookup(spec, where), False
    if op == "default":
        return _default(spec, where), False
    if op == "negate_when":
        return _negate_when(spec, where), True
    if op == "subtract":
        return _subtract(spec, where), True
    if op == "blank_if":
        return _blank_if(spec, where), False
    return _join(spec, where), True


# --- coercion to the canonical type ---------------------------------------------------------------


def _coerce(canonical: CanonicalField, default_zone: tzinfo) -> Callable[[Any], Any]:
    kind = canonical.type
    limit = canonical.max_length
    if kind == FieldType.TEXT:

        def text(value: Any) -> Any:
            if isinstance(value, dict | list):
                raise _RecordProblem("not_text", type(value).__name__)
            result = _text(value).strip()
            if len(result) > limit:
                raise _RecordProblem("too_long", f"{len(result)} > {limit}")
            return result or None

        return text
    if kind == FieldType.DECIMAL:

        def decimal(value: Any) -> Any:
            number = _number(value)
            if isinstance(number, int):
                number = Decimal(number)
            if abs(number) >= DECIMAL_LIMIT:
                raise _RecordProblem("out_of_range", str(number)[:40])
            return number

        return decimal
    if kind == FieldType.INTEGER:

        def integer(value: Any) -> Any:
            number = _number(value)
            if isinstance(number, Decimal):
                if number != number.to_integral_value():
                    raise _RecordProblem("not_an_integer", str(number)[:40])
                number = int(number)
            if abs(number) > 2**31 - 1:
                raise _RecordProblem("out_of_range", str(number)[:40])
            return number

        return integer
    if kind == FieldType.DATETIME:
        parse = _parse_datetime({}, canonical.name, default_zone)

        def moment(value: Any) -> Any:
            result = parse(value)
            if result.tzinfo is None:
                result = result.replace(tzinfo=default_zone)
            if result.year < 1970 or result.year > 2200:
                raise _RecordProblem("out_of_range", result.isoformat())
            return result

        return moment
    if kind == FieldType.MOVEMENT_KIND:

        def movement(value: Any) -> Any:
            text = _text(value).strip().lower()
            if text not in MOVEMENT_KINDS:
                raise _RecordProblem("unknown_movement_kind", text[:40])
            return text

        return movement
    if kind == FieldType.ORDER_KIND:

        def order_kind(value: Any) -> Any:
            text = _text(value).strip().lower()
            if text not in ORDER_KINDS:
                raise _RecordProblem("unknown_order_kind", text[:40])
            return text

        return order_kind

    def location_type(value: Any) -> Any:
        text = _text(value).strip().lower()
        return text if text in LOCATION_TYPES else "other"

    return location_type


# --- compilation ----------------------------------------------------------------------------------
#
# A mapping version compiles into generated functions over the same vetted templates:
#
#   * ``exact``: field by field, each in its own ``try``, collecting every field's error. It defines
#     what a record maps to, and is the only path that ever builds errors.
#   * ``map_record`` and ``map_many`` (the fast path): the same per-field code in one ``try`` for the
#     whole record, values kept in locals and returned as one dict. Any exception (a bad value, a
#     required field missing) sends that record through ``exact``, so a bad record gets exactly the
#     errors ``exact`` gives it. Coercions of text and integer values that repeat (quantities,
#     timestamps, kinds) are memoised per field: they are pure and their results immutable.
#
# A mapping with skip rules or a count rule adds no per-field code: both paths first ask the same
# compiled closures (``SKIP``, ``COUNT``, from `atlas.mapping.conditions`) what the record is. A skipped
# record is a `Skipped`; a stock count is mapped by a second variant of the same functions
# (``exact_count``, ``map_count``) whose plans leave out ``kind``, ``quantity`` and ``level`` and read the
# counted level instead. The fields Atlas fills itself (external ids, available quantity, a balance's
# source id, a movement's level key) are one list of ``_Fill`` that both paths are generated from.
#
# Nothing from a mapping is spliced into source: keys, indexes, constants, compiled paths and
# transforms are bound in the namespace under generated names (S0_1, V2, P3, T1_0, G4, D5, ...); the
# only text in the source besides the templates is canonical field names (Atlas's own identifiers) and
# canonical length limits.

MEMO_LIMIT = 4096  # entries per memoised field; a field with more different values stops memoising
MEMO_TEXT_LIMIT = 64  # longer texts are coerced each time, not remembered
_MEMOISED = frozenset(
    {FieldType.DECIMAL, FieldType.DATETIME, FieldType.MOVEMENT_KIND, FieldType.LOCATION_TYPE, FieldType.ORDER_KIND}
)
_ZERO = Decimal(0)
_PAIR = "{item_ref} + '@' + ({location_ref} or '')"  # a balance's or a level's key when the source gives none


@dataclass(frozen=True)
class CompiledMapping:
    """``map_record`` returns the canonical values (a dict), the record's errors (a list) or `Skipped`.

    ``map_many`` maps a list of records the same way, faster; ``map_exact`` is the field-by-field
    reference path that both fall back to for any record they cannot map on their fast path.
    ``combine`` says how a sync combines balance rows of one item and location: ``"sum"`` (parts of a
    whole, each identified by its ``source_id``) or ``"last"`` (one row per pair: the last one read wins);
    always ``"last"`` for other resources. ``counts``: a movement mapping with a stock-count rule;
    ``complete_history``: its rule says the source's ledger is complete from the beginning, so a count with no
    earlier level starts from 0 (`atlas.mapping.writer.resolve_counts`).
    """

    resource: str
    record_path: str
    fields: tuple[str, ...]
    map_record: Callable[[Any], dict[str, Any] | list[FieldError] | Skipped]
    map_many: Callable[[list[Any]], list[dict[str, Any] | list[FieldError] | Skipped]]
    map_exact: Callable[[Any], dict[str, Any] | list[FieldError] | Skipped]
    combine: str = "last"
    counts: bool = False
    complete_history: bool = False
    unnest: tuple[str, str] | None = None  # (path, parent_as): records nested in each record of the record path

    def apply(self, record: Any) -> MappedRecord:
        result = self.map_record(record)
        if isinstance(result, dict):
            return MappedRecord(result, [])
        if isinstance(result, Skipped):
            return MappedRecord(None, [], result.rule)
        return MappedRecord(None, list(result))


@dataclass(frozen=True, slots=True)
class _FieldPlan:
    index: int
    canonical: CanonicalField
    required: bool  # required and not filled by Atlas when missing
    source: str  # "constant", "simple", "path" or "first" (the first non-empty of several paths)
    steps: tuple[str | int, ...]
    transforms: tuple[bool, ...]  # per transform: does it take the whole record too
    has_default: bool = False

    @property
    def name(self) -> str:
        return self.canonical.name


@dataclass(frozen=True, slots=True)
class _Fill:
    """A field Atlas fills when the mapping leaves it empty: ``expression`` is Python over ``{field}``
    placeholders (the row's other values), ``record`` and the namespace's names. A fixed template."""

    name: str
    expression: str


def _getter_source(plan: _FieldPlan, *, record_is_dict: bool) -> list[str]:
    """Lines that put the field's source value in ``v`` (MISSING when absent)."""
    i = plan.index
    if plan.source == "constant":
        return [f"v = V{i}"]
    if plan.source == "path":
        return [f"found = P{i}.find(record)", "v = found[0] if found else MISSING"]
    if plan.source == "first":
        return [f"v = G{i}(record)"]
    lines = ["v = record"]
    if record_is_dict and plan.steps and isinstance(plan.steps[0], str):
        lines = []  # the first step below reads ``record`` itself
    for j, step in enumerate(plan.steps):
        if isinstance(step, int):
            lines.append(f"v = v[S{i}_{j}] if type(v) is list and len(v) > S{i}_{j} else MISSING")
        elif j == 0 and record_is_dict:
            lines.append(f"v = record.get(S{i}_{j}, MISSING)")
        else:
            lines.append(f"v = v.get(S{i}_{j}, MISSING) if type(v) is dict else MISSING")
    return lines


def _transform_source(plan: _FieldPlan) -> list[str]:
    """The transforms, then the rule's default when they leave nothing (a default is a canonical value)."""
    i = plan.index
    lines = [
        f"v = T{i}_{j}(v, record)" if needs_record else f"v = T{i}_{j}(v)"
        for j, needs_record in enumerate(plan.transforms)
    ]
    if plan.has_default:
        lines += ["if v is MISSING or EMPTY(v):", f"    v = D{i}"]
    return lines


def _coercion_source(plan: _FieldPlan, *, fast_first: bool) -> list[str]:
    """Lines that turn ``v`` into the canonical value in ``v`` or raise ``_RecordProblem``.

    The common cases are generated inline, so most values never pay for a function call; each
    such case implies a value that is present, so testing it first (``fast_first``) changes nothing.
    """
    i = plan.index
    missing = [
        "if v is MISSING or v is None or v == '':",
        f"    raise _RecordProblem('required', F{i})" if plan.required else "    v = None",
    ]
    fast = _fast_coercion(plan.canonical, i)
    if fast and fast_first:
        lines = ["if" + fast[0][len("elif") :], *fast[1:], "el" + missing[0], missing[1]]
    else:
        lines = [*missing, *fast]
    lines += ["else:", f"    v = K{i}(v)"]
    if plan.required:
        lines += ["if v is None:", f"    raise _RecordProblem('required', F{i})"]
    return lines


def _fast_field_source(plan: _FieldPlan) -> list[str]:
    """One field on the fast path: its value ends in the local ``f<index>``; any problem raises."""
    i = plan.index
    lines = _getter_source(plan, record_is_dict=True) + _transform_source(plan)
    coercion = _coercion_source(plan, fast_first=True)
    if plan.canonical.type in _MEMOISED:
        # A field whose values hardly repeat fills its memo; it then stops remembering (the memo is dropped):
        # looking up and storing every value would cost more than it saves.
        lines += [
            f"if M{i} is not None and ((type(v) is str and len(v) <= {MEMO_TEXT_LIMIT}) or type(v) is int):",
            f"    c = M{i}.get(v)",
            "    if c is None:",
            f"        c = Q{i}(v)",
            "        if c is not None:",
            f"            if len(M{i}) < {MEMO_LIMIT}:",
            f"                M{i}[v] = c",
            "            else:",
            f"                M{i} = None",
            "    v = c",
            "else:",
            *("    " + line for line in coercion),
        ]
    else:
        lines += coercion
    lines.append(f"f{i} = v")
    return lines


class _OutValue(dict[str, str]):
    """``{name}`` in a fill's expression, on the exact path: the row's value so far."""

    def __missing__(self, key: str) -> str:
        return f"out.get({key!r})"


def _exact_source(name: str, plans: list[_FieldPlan], fills: list[_Fill]) -> list[str]:
    body = [f"def {name}(record):", "    out = {}", "    errors = None"]
    for plan in plans:
        i = plan.index
        lines = _getter_source(plan, record_is_dict=False) + _transform_source(plan)
        lines += _coercion_source(plan, fast_first=False)
        lines.append(f"out[F{i}] = v")
        body.append("    try:")
        body.extend("        " + line for line in lines)
        body.append("    except _RecordProblem as problem:")
        body.append("        errors = errors or []")
        body.append(f"        errors.append(FieldError(F{i}, problem.code, problem.detail))")
        body.append("    except Exception as problem:")
        body.append("        errors = errors or []")
        body.append(f"        errors.append(FieldError(F{i}, 'unmappable', type(problem).__name__))")
    body.append("    if errors:")
    body.append("        return errors")
    for fill in fills:
        _identifier(fill.name)
        body.append(f"    if out.get({fill.name!r}) is None:")
        body.append(f"        out[{fill.name!r}] = {fill.expression.format_map(_OutValue())}")
    body.append("    return out")
    return body


def _memo_functions_source(plans: list[_FieldPlan]) -> list[str]:
    """``Q<index>``: a memoised field's whole coercion as a function (the same lines as ``exact``)."""
    body: list[str] = []
    for plan in plans:
        if plan.canonical.type in _MEMOISED:
            body.append(f"def Q{plan.index}(v):")
            body.extend("    " + line for line in _coercion_source(plan, fast_first=False))
            body.append("    return v")
    return body


def _fast_finish_source(plans: list[_FieldPlan], fills: list[_Fill]) -> tuple[list[str], str]:
    """Atlas's own fields on the fast path (the same ``_Fill`` list as ``exact``), and the result's dict display.

    The keys come in the order ``exact`` inserts them: mapped fields in plan order, then the fields Atlas adds.
    """
    local = {plan.name: f"f{plan.index}" for plan in plans}
    keys = [plan.name for plan in plans]
    lines: list[str] = []
    for fill in fills:
        value = fill.expression.format_map(local)
        if fill.name in local:
            lines.extend([f"if {local[fill.name]} is None:", f"    {local[fill.name]} = {value}"])
        else:
            local[fill.name] = f"g_{_identifier(fill.name)}"
            keys.append(fill.name)
            lines.append(f"{local[fill.name]} = {value}")
    for key in keys:
        _identifier(key)
    return lines, "{" + ", ".join(f"{key!r}: {local[key]}" for key in keys) + "}"


def _identifier(name: str) -> str:
    if not name.isidentifier():  # canonical names are Atlas's own identifiers; never anything else
        raise MappingInvalid("bad_mapping", name)
    return name


def _memo_globals(plans: list[_FieldPlan]) -> list[str]:
    memos = [f"M{plan.index}" for plan in plans if plan.canonical.type in _MEMOISED]
    return [f"    global {', '.join(memos)}"] if memos else []


@dataclass(frozen=True, slots=True)
class _Variant:
    """One way of mapping a record: its field plans and the fields Atlas fills after them."""

    plans: list[_FieldPlan]
    fills: list[_Fill]


def _dispatch_source(*, skip: bool, count: bool, indent: str, then: str) -> list[str]:
    """What a record is before it is mapped: skipped (``then`` hands the result on) or a stock count."""
    lines: list[str] = []
    if skip:
        lines += [f"{indent}s = SKIP(record)", f"{indent}if s is not None:", f"{indent}    {then.format('SKIPS[s]')}"]
    if count:
        lines += [f"{indent}if COUNT(record) is not None:", f"{indent}    {then.format('map_count(record)')}"]
    return lines


def _fast_source(plain: _Variant, counted: _Variant | None, *, skip: bool) -> list[str]:
    fields = [line for plan in plain.plans for line in _fast_field_source(plan)]
    finish, result = _fast_finish_source(plain.plans, plain.fills)
    declare = _memo_globals(plain.plans)
    single = [
        "def map_record(record):",
        *declare,
        "    if type(record) is not dict:",
        "        return exact(record)",
        *_dispatch_source(skip=skip, count=counted is not None, indent="    ", then="return {}"),
        "    try:",
        *("        " + line for line in fields),
        "    except Exception:",
        "        return exact(record)",
        *("    " + line for line in finish),
        f"    return {result}",
    ]
    many = [
        "def map_many(records):",
        *declare,
        "    results = []",
        "    append = results.append",
        "    for record in records:",
        "        if type(record) is not dict:",
        "            append(exact(record))",
        "            continue",
        *_dispatch_source(skip=skip, count=counted is not None, indent="        ", then="append({}); continue"),
        "        try:",
        *("            " + line for line in fields),
        "        except Exception:",
        "            append(exact(record))",
        "            continue",
        *("        " + line for line in finish),
        f"        append({result})",
        "    return results",
    ]
    if counted is None:
        return single + many
    count_fields = [line for plan in counted.plans for line in _fast_field_source(plan)]
    count_finish, count_result = _fast_finish_source(counted.plans, counted.fills)
    count = [
        "def map_count(record):",
        *_memo_globals(counted.plans),
        "    try:",
        *("        " + line for line in count_fields),
        "    except Exception:",
        "        return exact(record)",
        *("    " + line for line in count_finish),
        f"    return {count_result}",
    ]
    return single + many + count


def _exact_dispatch_source(*, skip: bool, count: bool) -> list[str]:
    lines = ["def exact(record):"]
    if skip:
        lines += ["    s = SKIP(record)", "    if s is not None:", "        return SKIPS[s]"]
    if count:
        lines += ["    if COUNT(record) is not None:", "        return exact_count(record)"]
    return [*lines, "    return exact_plain(record)"]


def _fills(resource: str, mapped: set[str], *, count: bool = False, levels: bool = False) -> list[_Fill]:
    """Fields Atlas fills itself: external ids from the natural key, available = quantity - reserved, a balance's
    source id and a level's key from the item and location, and what a stock count is (``count``). ``levels``:
    the movements carry levels (a count rule, or a mapped ``level``), so each needs the key of its level."""
    if resource == "items":
        return [_Fill("external_id", "{sku}")]
    if resource == "locations":
        return [_Fill("external_id", "{code}")]
    fills = [_Fill("location_ref", "None")] if "location_ref" not in mapped else []
    if resource == "open_orders":
        # No id from the source: the content identifies the line (a full read replaces the open set, so a line
        # whose open quantity changed is simply a new line and the old one leaves). No kind: a purchase order.
        return [*fills, _Fill("external_id", "'sha:' + content_hash(record)"), _Fill("kind", "'purchase'")]
    if resource == "stock_balances":
        fills += [_Fill("reserved_qty", "ZERO"), _Fill("available_qty", "{quantity} - {reserved_qty}")]
        if "source_id" not in mapped:
            fills.append(_Fill("source_id", _PAIR))
        return fills
    # No id from the source: the content identifies the movement, so a re-sync finds it again.
    fills.append(_Fill("external_id", "'sha:' + content_hash(record)"))
    if count:
        fills += [_Fill("kind", "'adjustment'"), _Fill("quantity", "ZERO")]
    elif "level" not in mapped:
        fills.append(_Fill("level", "None"))
    if "level_key" not in mapped:
        fills.append(_Fill("level_key", _PAIR if levels else "None"))
    fills.append(_Fill("is_count", "True" if count else "False"))
    return fills


def _rule_plan(
    index: int,
    canonical: CanonicalField,
    rule: Any,
    where: str,
    namespace: dict[str, Any],
    zone: tzinfo,
    *,
    required: bool,
    strict: bool,
) -> _FieldPlan:
    """Compile one field rule (a path, the first non-empty of ``paths``, or a constant; transforms; a default)
    and bind what its generated lines use in ``namespace`` under names made from ``index``."""
    if not isinstance(rule, dict):
        raise MappingInvalid("bad_rule", where)
    sources = [key for key in ("constant", "path", "paths") if key in rule]
    if not sources:
        raise MappingInvalid("bad_rule", where, "a rule needs a path or a constant")
    if strict:
        unknown = sorted(set(rule) - RULE_KEYS)
        if unknown:
            raise MappingInvalid("unknown_key", f"{where}.{unknown[0]}", unknown[0])
        if len(sources) > 1:
            raise MappingInvalid("several_sources", where, ", ".join(sources))
    transforms = rule.get("transforms") or []
    if not isinstance(transforms, list) or len(transforms) > MAX_TRANSFORMS:
        raise MappingInvalid("bad_transform", where, f"at most {MAX_TRANSFORMS} transforms")
    steps: list[str | int] = []
    source = sources[0]  # stored versions from before ``paths`` keep their meaning: a constant wins, then a path
    if source == "constant":
        namespace[f"V{index}"] = rule["constant"]
    elif source == "path":
        path = _compile(rule["path"], f"{where}.path")
        simple = _simple_steps(path.expression)
        if simple is not None:
            steps, source = simple, "simple"
            for position, step in enumerate(steps):
                namespace[f"S{index}_{position}"] = step
        else:
            namespace[f"P{index}"] = path
    else:
        paths = rule["paths"]
        if not isinstance(paths, list) or not paths or len(paths) > MAX_PATHS:
            raise MappingInvalid("bad_paths", f"{where}.paths", str(MAX_PATHS))
        namespace[f"G{index}"] = _first_present(
            [_compile(p, f"{where}.paths[{position}]") for position, p in enumerate(paths)]
        )
        source = "first"
    needs: list[bool] = []
    for position, transform in enumerate(transforms):
        function, needs_record = _transform(transform, f"{where}.transforms[{position}]")
        namespace[f"T{index}_{position}"] = function
        needs.append(needs_record)
    coerce = _coerce(canonical, zone)
    if "default" in rule:
        namespace[f"D{index}"] = _checked_default(rule["default"], coerce, f"{where}.default")
    namespace[f"F{index}"] = canonical.name
    namespace[f"K{index}"] = coerce
    if canonical.type in _MEMOISED:
        namespace[f"M{index}"] = {}
    return _FieldPlan(
        index=index,
        canonical=canonical,
        required=required,
        source=source,
        steps=tuple(steps),
        transforms=tuple(needs),
        has_default="default" in rule,
    )


def _first_present(paths: list[CompiledPath]) -> Callable[[Any], Any]:
    """The value of the first path that finds one that is not empty (null, blank, [] or {}), else MISSING."""
    finds = [path.find for path in paths]

    def first(record: Any) -> Any:
        for find in finds:
            found = find(record)
            if found and not is_empty(found[0]):
                return found[0]
        return MISSING

    return first


def _checked_default(value: Any, coerce: Callable[[Any], Any], where: str) -> Any:
    """A rule's default is a value of the canonical field, checked now: a bad one is the mapping's error, not
    every record's."""
    if is_empty(value):
        raise MappingInvalid("bad_default", where, "give the value itself")
    try:
        coerce(value)
    except _RecordProblem as problem:
        raise MappingInvalid("bad_default", where, f"{problem.code}: {problem.detail}") from None
    except Exception as problem:  # any failure of a default is the mapping's fault
        raise MappingInvalid("bad_default", where, type(problem).__name__) from None
    return value


def _combine(resource: str, spec: dict[str, Any], rules: dict[str, Any], *, strict: bool) -> str:
    """How balance rows combine. ``sum`` needs each row's own id; a stored version from before that has none
    behaves as ``last`` (what Atlas did then), and saving such a version is refused."""
    chosen = spec.get("combine")
    if resource != "stock_balances":
        if chosen is not None:
            raise MappingInvalid("balances_only", "combine", str(chosen)[:40])
        return "last"
    if chosen is None:
        chosen = "sum"
    if chosen not in COMBINES:
        raise MappingInvalid("bad_combine", "combine", str(chosen)[:40])
    if chosen == "sum" and "source_id" not in rules:
        if strict:
            raise MappingInvalid("source_id_required", "fields.source_id", "source_id")
        return "last"
    return str(chosen)


def compile_mapping(
    resource: str, spec: dict[str, Any], *, timezone: str | None = None, strict: bool = False
) -> CompiledMapping:
    """Validate a mapping version and build its record functions. Raises `MappingInvalid` on a bad mapping.

    ``strict`` (saving a version, previews) also refuses what a stored version may still hold: keys the
    engine does not know (a misspelt ``skip`` would otherwise do nothing), a rule with several sources, and
    balances that would add up rows without knowing which rows they are (``combine: "sum"`` with no
    ``source_id``). Syncs compile stored versions leniently, so they keep meaning what they meant.
    """
    if resource not in CANONICAL_FIELDS:
        raise MappingInvalid("unknown_resource", "resource", resource)
    if not isinstance(spec, dict):
        raise MappingInvalid("bad_mapping", "mapping")
    if strict:
        unknown = sorted(set(spec) - SPEC_KEYS)
        if unknown:
            raise MappingInvalid("unknown_key", unknown[0], unknown[0])
    record_path = spec.get("record_path") or "$"
    _compile(record_path, "record_path")
    unnest = _unnest(spec.get("unnest"), strict=strict)
    rules = spec.get("fields")
    if not isinstance(rules, dict):
        raise MappingInvalid("bad_mapping", "fields", "fields must be an object")
    known = {f.name: f for f in CANONICAL_FIELDS[resource]}
    unknown = sorted(set(rules) - set(known))
    if unknown:
        raise MappingInvalid("unknown_field", f"fields.{unknown[0]}", unknown[0])
    for canonical in known.values():
        if canonical.required and canonical.name not in rules and not _derivable(resource, canonical.name, rules):
            raise MappingInvalid("required_field_unmapped", f"fields.{canonical.name}", canonical.name)
    zone = _timezone(timezone or spec.get("timezone"), "timezone")
    combine = _combine(resource, spec, rules, strict=strict)
    namespace: dict[str, Any] = {
        "MISSING": MISSING,
        "_RecordProblem": _RecordProblem,
        "FieldError": FieldError,
        "Decimal": Decimal,
        "ZERO": _ZERO,
        "EMPTY": is_empty,
        "fromisoformat": datetime.fromisoformat,
        "content_hash": content_hash,
    }
    skip_spec = spec.get("skip")
    skip = skip_spec is not None and skip_spec != []
    if skip:
        skips = compile_conditions(skip_spec, "skip")
        namespace["SKIP"] = first_match(skips)
        namespace["SKIPS"] = [Skipped(rule) for rule in range(len(skips))]
    count_spec = spec.get("count")
    rules = dict(rules)
    wheres = {name: f"fields.{name}" for name in rules}
    if count_spec is not None:
        if resource != "stock_movements":
            raise MappingInvalid("movements_only", "count")
        if not isinstance(count_spec, dict) or "when" not in count_spec or "counted" not in count_spec:
            raise MappingInvalid("bad_count", "count")
        if strict:
            unknown = sorted(set(count_spec) - COUNT_KEYS)
            if unknown:
                raise MappingInvalid("unknown_key", f"count.{unknown[0]}", unknown[0])
        if not isinstance(count_spec.get("complete_history", False), bool):
            raise MappingInvalid("bad_complete_history", "count.complete_history", "true or false")
        namespace["COUNT"] = first_match(compile_conditions(count_spec["when"], "count.when"))
        if "level_key" in count_spec:
            if "level_key" in rules:
                raise MappingInvalid("level_key_twice", "count.level_key")
            rules["level_key"] = count_spec["level_key"]  # every movement's level key, counts or not
            wheres["level_key"] = "count.level_key"
    plans: list[_FieldPlan] = []
    order = [f.name for f in CANONICAL_FIELDS[resource] if f.name in rules]
    for index, name in enumerate(order):
        canonical = known[name]
        # A source id or a level key that a mapping names must be there: without it the row cannot say which
        # source row it is, or whose level it moves.
        required = (canonical.required and not _derivable(resource, name, rules)) or name in ("source_id", "level_key")
        plans.append(
            _rule_plan(index, canonical, rules[name], wheres[name], namespace, zone, required=required, strict=strict)
        )
    plain = _Variant(plans, _fills(resource, set(order), levels=count_spec is not None or "level" in rules))
    counted: _Variant | None = None
    if count_spec is not None:
        counted_plan = _rule_plan(
            len(plans),
            known["level"],
            count_spec["counted"],
            "count.counted",
            namespace,
            zone,
            required=True,
            strict=strict,
        )
        # A count's plans: the mapping's, without the change it does not have (kind, quantity) and with the
        # counted quantity as its level, in canonical order.
        mapped = {plan.name: plan for plan in plans} | {"level": counted_plan}
        count_plans = [
            mapped[f.name]
            for f in CANONICAL_FIELDS[resource]
            if f.name in mapped and f.name not in ("kind", "quantity")
        ]
        counted = _Variant(count_plans, _fills(resource, {p.name for p in count_plans}, count=True, levels=True))
    every_plan = {plan.index: plan for plan in plans + (counted.plans if counted else [])}
    if skip or counted is not None:
        exact = [
            *_exact_source("exact_plain", plain.plans, plain.fills),
            *(_exact_source("exact_count", counted.plans, counted.fills) if counted else []),
            *_exact_dispatch_source(skip=skip, count=counted is not None),
        ]
    else:
        exact = _exact_source("exact", plain.plans, plain.fills)
    source_text = "\n".join(
        [*exact, *_memo_functions_source(list(every_plan.values())), *_fast_source(plain, counted, skip=skip)]
    )
    exec(compile(source_text, f"<mapping {resource}>", "exec"), namespace)  # noqa: S102 - vetted templates, data bound by name
    return CompiledMapping(
        resource=resource,
        record_path=record_path,
        fields=tuple(name for name in order if name in spec["fields"]),
        map_record=namespace["map_record"],
        map_many=namespace["map_many"],
        map_exact=namespace["exact"],
        combine=combine,
        counts=counted is not None,
        complete_history=bool(count_spec and count_spec.get("complete_history")),
        unnest=unnest,
    )


def _unnest(spec: Any, *, strict: bool) -> tuple[str, str] | None:
    """``{"path": "$.locations", "parent_as": "item"}``: the records are the elements of each record's array at
    ``path``, each carrying its record under ``parent_as`` (read with ``$.item.item_id``)."""
    if spec is None:
        return None
    if (
        not isinstance(spec, dict)
        or not isinstance(spec.get("path"), str)
        or not isinstance(spec.get("parent_as"), str)
    ):
        raise MappingInvalid("bad_unnest", "unnest")
    if strict:
        unknown = sorted(set(spec) - UNNEST_KEYS)
        if unknown:
            raise MappingInvalid("unknown_key", f"unnest.{unknown[0]}", unknown[0])
    _compile(spec["path"], "unnest.path")
    if not PARENT_AS.fullmatch(spec["parent_as"]):
        raise MappingInvalid("bad_unnest", "unnest.parent_as", spec["parent_as"][:60])
    return spec["path"], spec["parent_as"]


def _fast_coercion(canonical: CanonicalField, index: int) -> list[str]:
    """Generated ``elif`` branches for the common cases (each implies a present value)."""
    if canonical.type == FieldType.TEXT:
        # ``strip`` returns the very string when there is nothing to strip; when it does not, the
        # value only takes the slower branch, which gives the same result.
        # Source ids are often integers (InvenTree's and Odoo's pks): at most 18 digits, never longer than a limit.
        return [
            f"elif type(v) is str and 0 < len(v) <= {canonical.max_length} and v.strip() is v:",
            "    pass",
            "elif type(v) is int and -1000000000000000000 < v < 1000000000000000000:",
            "    v = str(v)",
        ]
    if canonical.type == FieldType.DECIMAL:
        return ["elif type(v) is int and -100000000000000 < v < 100000000000000:", "    v = Decimal(v)"]
    if canonical.type == FieldType.INTEGER:
        return ["elif type(v) is int and -2147483648 <= v <= 2147483647:", "    pass"]
    if canonical.type == FieldType.DATETIME:
        return [
            "elif type(v) is str and len(v) >= 25 and v[10] == 'T' and (v[-6] in '+-' and v[-3] == ':'):",
            "    try:",
            "        v = fromisoformat(v)",
            "    except ValueError:",
            "        raise _RecordProblem('not_a_datetime', v[:60]) from None",
            "    if not 1970 <= v.year <= 2200:",
            "        raise _RecordProblem('out_of_range', v.isoformat())",
        ]
    return []


def _derivable(resource: str, name: str, rules: dict[str, Any]) -> bool:
    """Fields Atlas fills itself when the source has none."""
    if resource in ("items", "locations") and name == "external_id":
        return ("sku" if resource == "items" else "code") in rules
    return False


def content_hash(record: Any) -> str:
    import msgspec

    return hashlib.sha256(msgspec.json.encode(record, order="sorted")).hexdigest()[:40]
