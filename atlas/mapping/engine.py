"""The mapping engine: someone else's JSON records in, canonical rows (or per-record errors) out.

A mapping is plain data: per canonical field, a JSONPath, a constant, or a
short chain of named transforms. `compile_mapping` turns one version into a
Python function once; simple paths become direct dict/list lookups in generated
code, other paths use jsonpath-ng parsed once. Mapping a record never raises:
every problem becomes a `FieldError` on that record.
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


@dataclass(frozen=True)
class CompiledMapping:
    """``map_record`` returns the canonical values (a dict) or the record's errors (a list)."""

    resource: str
    record_path: str
    fields: tuple[str, ...]
    map_record: Callable[[Any], dict[str, Any] | list[FieldError]]

    def map_many(self, records: list[Any]) -> list[dict[str, Any] | list[FieldError]]:
        mapper = self.map_record
        return [mapper(record) for record in records]

    def apply(self, record: Any) -> MappedRecord:
        result = self.map_record(record)
        if isinstance(result, dict):
            return MappedRecord(result, [])
        return MappedRecord(None, list(result))


def _getter_source(steps: list[str | int], name: str) -> list[str]:
    """Generated lines that walk ``steps`` from ``record`` into ``name`` (MISSING when absent)."""
    lines = [f"{name} = record"]
    for step in steps:
        if isinstance(step, int):
            lines.append(f"{name} = {name}[{step}] if type({name}) is list and len({name}) > {step} else MISSING")
        else:
            lines.append(f"{name} = {name}.get({step!r}, MISSING) if type({name}) is dict else MISSING")
    return lines


def compile_mapping(resource: str, spec: dict[str, Any], *, timezone: str | None = None) -> CompiledMapping:
    """Validate a mapping version and build its record function. Raises `MappingInvalid` on a bad mapping."""
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
        "MappedRecord": MappedRecord,
    }
    body: list[str] = ["def map_record(record):", "    out = {}", "    errors = None"]
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
        lines: list[str] = []
        if "constant" in rule:
            namespace[f"C{index}"] = rule["constant"]
            lines.append(f"v = C{index}")
        elif "path" in rule:
            path = _compile(rule["path"], f"{where}.path")
            steps = _simple_steps(path.expression)
            if steps is not None:
                lines.extend(_getter_source(steps, "v"))
            else:
                namespace[f"P{index}"] = path
                lines.append(f"found = P{index}.find(record)")
                lines.append("v = found[0] if found else MISSING")
        else:
            raise MappingInvalid("bad_rule", where, "a rule needs a path or a constant")
        for position, transform in enumerate(transforms):
            function, needs_record = _transform(transform, f"{where}.transforms[{position}]")
            namespace[f"T{index}_{position}"] = function
            lines.append(f"v = T{index}_{position}(v, record)" if needs_record else f"v = T{index}_{position}(v)")
        namespace[f"K{index}"] = _coerce(canonical, zone)
        lines.append("if v is MISSING or v is None or v == '':")
        lines.append(
            "    v = None"
            if not canonical.required or _derivable(resource, name, rules)
            else f"    raise _RecordProblem('required', {name!r})"
        )
        lines.extend(_fast_coercion(canonical, index))
        lines.append("else:")
        lines.append(f"    v = K{index}(v)")
        if canonical.required and not _derivable(resource, name, rules):
            lines.append("if v is None:")
            lines.append(f"    raise _RecordProblem('required', {name!r})")
        lines.append(f"out[{name!r}] = v")
        body.append("    try:")
        body.extend("        " + line for line in lines)
        body.append("    except _RecordProblem as problem:")
        body.append("        errors = errors or []")
        body.append(f"        errors.append(FieldError({name!r}, problem.code, problem.detail))")
        body.append("    except Exception as problem:")
        body.append("        errors = errors or []")
        body.append(f"        errors.append(FieldError({name!r}, 'unmappable', type(problem).__name__))")
    body.append("    if errors:")
    body.append("        return errors")
    body.extend("    " + line for line in _finish_source(resource))
    namespace["Decimal"] = Decimal
    namespace["fromisoformat"] = datetime.fromisoformat
    namespace["content_hash"] = content_hash
    exec(compile("\n".join(body), f"<mapping {resource}>", "exec"), namespace)  # noqa: S102 - generated from validated data
    return CompiledMapping(
        resource=resource, record_path=record_path, fields=tuple(order), map_record=namespace["map_record"]
    )


def _fast_coercion(canonical: CanonicalField, index: int) -> list[str]:
    """Generated branches for the common cases, so most values never pay for a function call."""
    if canonical.type == FieldType.TEXT:
        return [
            f"elif type(v) is str and 0 < len(v) <= {canonical.max_length} and not v[0].isspace() "
            "and not v[-1].isspace():",
            "    pass",
        ]
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
