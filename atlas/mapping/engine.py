"""The mapping engine: someone else's JSON records in, canonical rows (or per-record errors) out.

A mapping is plain data: per canonical field, a JSONPath, a constant, or a
short chain of named transforms. `compile_mapping` turns one version into
Python functions once; simple paths become direct dict/list lookups in generated
code, other paths use jsonpath-ng parsed once. A record is mapped on a fast path
and, when anything about it is unusual, again field by field on the exact path,
which alone builds errors. Mapping a record never raises: every problem becomes
a `FieldError` on that record.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from atlas.connectors.engine.jsonpath import CompiledPath, JsonPathError, _simple_steps, compile_path
from atlas.mapping.canonical import CANONICAL_FIELDS, LOCATION_TYPES, CanonicalField, FieldType, MovementKind

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
)
MAX_TRANSFORMS = 8
MOVEMENT_KINDS = frozenset(k.value for k in MovementKind)
DECIMAL_LIMIT = Decimal("1e15")


class MappingInvalid(ValueError):
    """The mapping itself is wrong (not a record): ``field`` names where, ``code`` says what."""

    def __init__(self, code: str, field: str, detail: str = "") -> None:
        super().__init__(f"{code} at {field}: {detail}" if detail else f"{code} at {field}")
        self.code = code
        self.field = field
        self.detail = detail


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    code: str
    detail: str = ""


@dataclass(slots=True)
class MappedRecord:
    values: dict[str, Any] | None
    errors: list[FieldError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


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


def _multiply(spec: dict[str, Any], where: str) -> Callable[[Any], Any]:
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

    return apply


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
        return _multiply(spec, where), False
    if op == "lookup":
        return _lookup(spec, where), False
    if op == "default":
        return _default(spec, where), False
    if op == "negate_when":
        return _negate_when(spec, where), True
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

    def location_type(value: Any) -> Any:
        text = _text(value).strip().lower()
        return text if text in LOCATION_TYPES else "other"

    return location_type


# --- compilation ----------------------------------------------------------------------------------
#
# A mapping version compiles into three generated functions over the same vetted templates:
#
#   * ``exact``: field by field, each in its own ``try``, collecting every field's error. It defines
#     what a record maps to, and is the only path that ever builds errors.
#   * ``map_record`` and ``map_many`` (the fast path): the same per-field code in one ``try`` for the
#     whole record, values kept in locals and returned as one dict. Any exception (a bad value, a
#     required field missing) sends that record through ``exact``, so a bad record gets exactly the
#     errors ``exact`` gives it. Coercions of text and integer values that repeat (quantities,
#     timestamps, kinds) are memoised per field: they are pure and their results immutable.
#
# Nothing from a mapping is spliced into source: keys, indexes, constants, compiled paths and
# transforms are bound in the namespace under generated names (S0_1, V2, P3, T1_0, ...); the only
# text in the source besides the templates is canonical field names (Atlas's own identifiers) and
# canonical length limits.

MEMO_LIMIT = 4096  # entries per memoised field; a field with more different values stops memoising
MEMO_TEXT_LIMIT = 64  # longer texts are coerced each time, not remembered
_MEMOISED = frozenset({FieldType.DECIMAL, FieldType.DATETIME, FieldType.MOVEMENT_KIND, FieldType.LOCATION_TYPE})
_ZERO = Decimal(0)


@dataclass(frozen=True)
class CompiledMapping:
    """``map_record`` returns the canonical values (a dict) or the record's errors (a list).

    ``map_many`` maps a list of records the same way, faster; ``map_exact`` is the field-by-field
    reference path that both fall back to for any record they cannot map on their fast path.
    """

    resource: str
    record_path: str
    fields: tuple[str, ...]
    map_record: Callable[[Any], dict[str, Any] | list[FieldError]]
    map_many: Callable[[list[Any]], list[dict[str, Any] | list[FieldError]]]
    map_exact: Callable[[Any], dict[str, Any] | list[FieldError]]

    def apply(self, record: Any) -> MappedRecord:
        result = self.map_record(record)
        if isinstance(result, dict):
            return MappedRecord(result, [])
        return MappedRecord(None, list(result))


@dataclass(frozen=True, slots=True)
class _FieldPlan:
    index: int
    canonical: CanonicalField
    required: bool  # required and not filled by Atlas when missing
    source: str  # "constant", "simple" or "path"
    steps: tuple[str | int, ...]
    transforms: tuple[bool, ...]  # per transform: does it take the whole record too

    @property
    def name(self) -> str:
        return self.canonical.name


def _getter_source(plan: _FieldPlan, *, record_is_dict: bool) -> list[str]:
    """Lines that put the field's source value in ``v`` (MISSING when absent)."""
    i = plan.index
    if plan.source == "constant":
        return [f"v = V{i}"]
    if plan.source == "path":
        return [f"found = P{i}.find(record)", "v = found[0] if found else MISSING"]
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
    i = plan.index
    return [
        f"v = T{i}_{j}(v, record)" if needs_record else f"v = T{i}_{j}(v)"
        for j, needs_record in enumerate(plan.transforms)
    ]


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


def _exact_source(plans: list[_FieldPlan], resource: str) -> list[str]:
    body = ["def exact(record):", "    out = {}", "    errors = None"]
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
    body.extend("    " + line for line in _finish_source(resource))
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


def _fast_finish_source(plans: list[_FieldPlan], resource: str) -> tuple[list[str], str]:
    """Atlas's own fields on the fast path (as `_finish_source` does), and the result's dict display.

    The keys come in the order ``exact`` inserts them: mapped fields in canonical order, then the
    fields Atlas adds.
    """
    local = {plan.name: f"f{plan.index}" for plan in plans}
    keys = [plan.name for plan in plans]
    lines: list[str] = []

    def fill(name: str, value: str) -> None:
        if name in local:
            lines.extend([f"if {local[name]} is None:", f"    {local[name]} = {value}"])
        else:
            local[name] = f"g_{name}"
            keys.append(name)
            lines.append(f"g_{name} = {value}")

    if resource == "items":
        fill("external_id", local["sku"])
    elif resource == "locations":
        fill("external_id", local["code"])
    elif resource == "stock_balances":
        fill("reserved_qty", "ZERO")
        fill("available_qty", f"{local['quantity']} - {local['reserved_qty']}")
    else:
        fill("external_id", "'sha:' + content_hash(record)")
    for key in keys:
        if not key.isidentifier():  # canonical names are Atlas's own identifiers; never anything else
            raise MappingInvalid("bad_mapping", key)
    return lines, "{" + ", ".join(f"{key!r}: {local[key]}" for key in keys) + "}"


def _fast_source(plans: list[_FieldPlan], resource: str) -> list[str]:
    memos = [f"M{plan.index}" for plan in plans if plan.canonical.type in _MEMOISED]
    declare = [f"    global {', '.join(memos)}"] if memos else []
    fields = [line for plan in plans for line in _fast_field_source(plan)]
    finish, result = _fast_finish_source(plans, resource)
    single = [
        "def map_record(record):",
        *declare,
        "    if type(record) is not dict:",
        "        return exact(record)",
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
        "        try:",
        *("            " + line for line in fields),
        "        except Exception:",
        "            append(exact(record))",
        "            continue",
        *("        " + line for line in finish),
        f"        append({result})",
        "    return results",
    ]
    return single + many


def compile_mapping(resource: str, spec: dict[str, Any], *, timezone: str | None = None) -> CompiledMapping:
    """Validate a mapping version and build its record functions. Raises `MappingInvalid` on a bad mapping."""
    if resource not in CANONICAL_FIELDS:
        raise MappingInvalid("unknown_resource", "resource", resource)
    if not isinstance(spec, dict):
        raise MappingInvalid("bad_mapping", "mapping")
    record_path = spec.get("record_path") or "$"
    _compile(record_path, "record_path")
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
    namespace: dict[str, Any] = {
        "MISSING": MISSING,
        "_RecordProblem": _RecordProblem,
        "FieldError": FieldError,
        "Decimal": Decimal,
        "ZERO": _ZERO,
        "fromisoformat": datetime.fromisoformat,
        "content_hash": content_hash,
    }
    plans: list[_FieldPlan] = []
    order = [f.name for f in CANONICAL_FIELDS[resource] if f.name in rules]
    for index, name in enumerate(order):
        rule = rules[name]
        where = f"fields.{name}"
        if not isinstance(rule, dict):
            raise MappingInvalid("bad_rule", where)
        canonical = known[name]
        transforms = rule.get("transforms") or []
        if not isinstance(transforms, list) or len(transforms) > MAX_TRANSFORMS:
            raise MappingInvalid("bad_transform", where, f"at most {MAX_TRANSFORMS} transforms")
        steps: list[str | int] = []
        if "constant" in rule:
            namespace[f"V{index}"] = rule["constant"]
            source = "constant"
        elif "path" in rule:
            path = _compile(rule["path"], f"{where}.path")
            simple = _simple_steps(path.expression)
            if simple is not None:
                steps, source = simple, "simple"
                for position, step in enumerate(steps):
                    namespace[f"S{index}_{position}"] = step
            else:
                namespace[f"P{index}"] = path
                source = "path"
        else:
            raise MappingInvalid("bad_rule", where, "a rule needs a path or a constant")
        needs: list[bool] = []
        for position, transform in enumerate(transforms):
            function, needs_record = _transform(transform, f"{where}.transforms[{position}]")
            namespace[f"T{index}_{position}"] = function
            needs.append(needs_record)
        namespace[f"F{index}"] = name
        namespace[f"K{index}"] = _coerce(canonical, zone)
        if canonical.type in _MEMOISED:
            namespace[f"M{index}"] = {}
        plans.append(
            _FieldPlan(
                index=index,
                canonical=canonical,
                required=canonical.required and not _derivable(resource, name, rules),
                source=source,
                steps=tuple(steps),
                transforms=tuple(needs),
            )
        )
    source_text = "\n".join(
        [*_exact_source(plans, resource), *_memo_functions_source(plans), *_fast_source(plans, resource)]
    )
    exec(compile(source_text, f"<mapping {resource}>", "exec"), namespace)  # noqa: S102 - vetted templates, data bound by name
    return CompiledMapping(
        resource=resource,
        record_path=record_path,
        fields=tuple(order),
        map_record=namespace["map_record"],
        map_many=namespace["map_many"],
        map_exact=namespace["exact"],
    )


def _fast_coercion(canonical: CanonicalField, index: int) -> list[str]:
    """Generated ``elif`` branches for the common cases (each implies a present value)."""
    if canonical.type == FieldType.TEXT:
        # ``strip`` returns the very string when there is nothing to strip; when it does not, the
        # value only takes the slower branch, which gives the same result.
        return [f"elif type(v) is str and 0 < len(v) <= {canonical.max_length} and v.strip() is v:", "    pass"]
    if canonical.type == FieldType.DECIMAL:
        return ["elif type(v) is int and -1000000000000000 < v < 1000000000000000:", "    v = Decimal(v)"]
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


def _finish_source(resource: str) -> list[str]:
    """Fields Atlas fills itself: external ids from the natural key, available = quantity - reserved."""
    if resource == "items":
        return ["if out.get('external_id') is None:", "    out['external_id'] = out['sku']", "return out"]
    if resource == "locations":
        return ["if out.get('external_id') is None:", "    out['external_id'] = out['code']", "return out"]
    if resource == "stock_balances":
        return [
            "reserved = out.get('reserved_qty')",
            "if reserved is None:",
            "    reserved = out['reserved_qty'] = Decimal(0)",
            "if out.get('available_qty') is None:",
            "    out['available_qty'] = out['quantity'] - reserved",
            "return out",
        ]
    # No id from the source: the content identifies the movement, so a re-sync finds it again.
    return [
        "if out.get('external_id') is None:",
        "    out['external_id'] = 'sha:' + content_hash(record)",
        "return out",
    ]


def _derivable(resource: str, name: str, rules: dict[str, Any]) -> bool:
    """Fields Atlas fills itself when the source has none."""
    if resource in ("items", "locations") and name == "external_id":
        return ("sku" if resource == "items" else "code") in rules
    return False


def content_hash(record: Any) -> str:
    import msgspec

    return hashlib.sha256(msgspec.json.encode(record, order="sorted")).hexdigest()[:40]
