"""Import formats: how each system's own import screen (or API console) takes approved actions, as data.

Atlas never writes to a customer system (the execution lock), so an approved action ends as an execution draft
that a person applies. Each preset may declare, in ``atlas/presets/imports/<preset id>.toml``, the forms its
system's import takes (a CSV its import screen reads, or the JSON body its API documents); this module loads
those files strictly and renders drafts into them. The result is only ever a file for a person: nothing here
sends anything, and the JSON form says so in the file itself (``"sendable": false``).

Pure: drafts (as ``atlas.execution_lock.services.draft_dict`` gives them) and a format in, bytes out. No database,
no network, no clock (the caller passes the export time).

The file (docs/presets.md, "Import formats")::

    [[imports]]
    id = "purchase_order_lines"          # [a-z][a-z0-9_]*, unique in the file
    action = "reorder"                   # reorder | transfer | write_off | investigate
    format = "csv"                       # csv | json
    label = "draft_imports.x.y"          # catalogue key (Arabic and English): the button's words
    help = "draft_imports.x.y_help"      # optional catalogue key: what the person fills in and where it goes
    filename = "inventree-po-lines"      # the file's name without date or extension
    docs_url = "https://…"               # where the system documents this import
    group_by = ["location_external_id"]  # optional: one document per distinct value (an order with its lines)
    bom = false                          # csv: a UTF-8 byte-order mark (only where the system's reader strips it)
    columns = [                          # csv: one row per draft, in this order
      {header = "Item", value = "item_external_id"},
      {header = "Supplier", fill = true, per = "document"},   # per = "document": only on a document's first row
    ]
    request = {method = "POST", path = "/b1s/v1/PurchaseOrders"}   # json: where a person would paste the body
    [imports.document]                   # json: the document's own fields (dotted targets nest)
    DocDueDate = {min = "needed_by"}
    [imports.lines]                      # json: the lines, one per draft, under ``path``
    path = "DocumentLines"
    fields = {ItemCode = "item_external_id", Quantity = "quantity"}

A value is a canonical draft field (``"quantity"``, see ``CANONICAL_FIELDS``) or a table with exactly one of
``value`` (a canonical field), ``const`` (a constant), ``fill = true`` (left empty for the person: Atlas does not
know it, e.g. the supplier), ``export = "date"`` (the export's date), or, for a document's own fields only,
``min``/``max``/``join`` over its lines' values; ``type`` ("integer", "number", "string") converts a value the
system expects in that type, and ``negate = true`` turns a quantity into the decrease a system records.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, cast

from atlas.execution_lock.templates import ACTION_TYPES, CANONICAL_FIELDS
from atlas.i18n import catalogue

IMPORTS_DIR = Path(__file__).with_name("imports")
FORMATS: tuple[str, ...] = ("csv", "json")
METHODS: tuple[str, ...] = ("POST", "PUT", "PATCH")
TYPES: tuple[str, ...] = ("integer", "number", "string")
EXPORT_VALUES: tuple[str, ...] = ("date", "datetime")
AGGREGATES: tuple[str, ...] = ("min", "max", "join")
SOURCE_KEYS: tuple[str, ...] = ("value", "const", "fill", "export", *AGGREGATES)
MODIFIERS: tuple[str, ...] = ("type", "negate")
NOT_SENDABLE = (
    "Atlas never sends this to your system (execution lock). A person reviews it and applies it with the "
    "system's own import screen or API console."
)

# The location Atlas files a record under when the source gives none (atlas.mapping.writer's
# UNASSIGNED_EXTERNAL_ID, e.g. Business Central's stock, which has no location): not a location of the system, so
# an import leaves it empty for the system's default or the person's choice.
UNASSIGNED_LOCATION = "atlas:unassigned"
_LOCATION_IDS = frozenset({"location_external_id", "from_location_external_id", "to_location_external_id"})

_ID = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_FILENAME = re.compile(r"^[a-z0-9][a-z0-9\-]{0,79}$")
_TARGET = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z_][A-Za-z0-9_\-]*)*$")
# Bidirectional formatting characters: the drafts' Arabic summaries use isolates for display, but an import file
# is data for another program, where they would become part of a name or a code.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

Scalar = str | int | float | bool
SourceKind = Literal["value", "const", "fill", "export", "min", "max", "join"]


class ImportFormatInvalid(ValueError):
    """An import file that cannot be used; the message names the file and the place in it."""


@dataclass(frozen=True, slots=True)
class Source:
    """Where one cell or field takes its value from."""

    kind: SourceKind
    name: str = ""  # the canonical field (value, min, max, join) or the export value
    const: Scalar | None = None
    type: str | None = None
    negate: bool = False


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    source: Source
    per_document: bool = False


@dataclass(frozen=True, slots=True)
class ImportFormat:
    """One way a system takes one kind of approved action."""

    system: str  # the preset id (the file's name)
    id: str
    action: str
    format: str
    label: str
    help: str | None
    filename: str
    docs_url: str
    group_by: tuple[str, ...] = ()
    bom: bool = False
    columns: tuple[Column, ...] = ()
    method: str | None = None
    path: str | None = None
    document: tuple[tuple[str, Source], ...] = ()
    lines_path: str | None = None
    lines: tuple[tuple[str, Source], ...] = ()

    @property
    def extension(self) -> str:
        return self.format

    @property
    def media_type(self) -> str:
        return "text/csv; charset=utf-8" if self.format == "csv" else "application/json; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Rendered:
    content: bytes
    filename: str
    media_type: str
    draft_ids: tuple[str, ...]
    documents: int


# --- loading and validation ----------------------------------------------------------------------------------


def _fail(where: str, message: str) -> ImportFormatInvalid:
    return ImportFormatInvalid(f"{where}: {message}")


def _catalogue_key(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(where, "must be a catalogue key")
    entry = catalogue().get(value)
    if entry is None or not entry.get("ar") or not entry.get("en"):
        raise _fail(where, f"catalogue key {value!r} is missing (it needs Arabic and English)")
    return value


def _source(where: str, raw: Any, action: str, *, document: bool, group_by: tuple[str, ...]) -> Source:
    """One value's source, checked against the action's canonical fields and where it is used."""
    fields = CANONICAL_FIELDS[action]
    if isinstance(raw, str):
        raw = {"value": raw}
    if not isinstance(raw, dict):
        raise _fail(where, "must be a canonical field name or a table")
    kinds = [k for k in SOURCE_KEYS if k in raw]
    unknown = sorted(set(raw) - set(SOURCE_KEYS) - set(MODIFIERS))
    if unknown:
        raise _fail(where, f"unknown key {unknown[0]!r}")
    if len(kinds) != 1:
        raise _fail(where, f"needs exactly one of {', '.join(SOURCE_KEYS)}")
    kind = cast(SourceKind, kinds[0])
    value = raw[kind]
    type_ = raw.get("type")
    if type_ is not None and type_ not in TYPES:
        raise _fail(where, f"type must be one of {', '.join(TYPES)}")
    negate = raw.get("negate", False)
    if not isinstance(negate, bool):
        raise _fail(where, "negate must be true or false")
    if kind in ("value", "min", "max", "join"):
        if not isinstance(value, str) or value not in fields:
            raise _fail(where, f"unknown canonical field {value!r} for {action}")
        if kind == "value" and document and value not in group_by:
            # A document holds several drafts: only what they share (what it is grouped by) is one value.
            raise _fail(where, f"a document's field may only name what it is grouped by, not {value!r}")
        if kind != "value" and not document:
            raise _fail(where, f"{kind} is for a document's own fields")
        if negate and kind == "join":
            raise _fail(where, "negate needs a number")
        return Source(kind, name=value, type=type_, negate=negate)
    if negate:
        raise _fail(where, "negate needs a canonical field")
    if kind == "const":
        if not isinstance(value, str | int | float | bool) or (isinstance(value, str) and len(value) > 1000):
            raise _fail(where, "const must be a short text, a number or true/false")
        return Source("const", const=value, type=type_)
    if kind == "fill":
        if value is not True:
            raise _fail(where, "fill must be true")
        return Source("fill")
    if value not in EXPORT_VALUES:
        raise _fail(where, f"export must be one of {', '.join(EXPORT_VALUES)}")
    return Source("export", name=value)


def _targets(
    where: str, raw: Any, action: str, *, document: bool, group_by: tuple[str, ...]
) -> list[tuple[str, Source]]:
    if not isinstance(raw, dict):
        raise _fail(where, "must be a table of target field = source")
    result: list[tuple[str, Source]] = []
    for target, source in raw.items():
        if not _TARGET.match(target) or len(target) > 200:
            raise _fail(f"{where}.{target}", "is not a valid target field")
        result.append((target, _source(f"{where}.{target}", source, action, document=document, group_by=group_by)))
    clash = _clash([t for t, _ in result])
    if clash is not None:
        raise _fail(f"{where}.{clash}", "is filled twice (a field and a field inside it)")
    return result


def _clash(targets: Sequence[str]) -> str | None:
    """A target that another target already fills (``a`` and ``a.b``), or None."""
    names = set(targets)
    for target in targets:
        parts = target.split(".")
        if any(".".join(parts[:i]) in names for i in range(1, len(parts))):
            return target
    return None


_COMMON = {"id", "action", "format", "label", "help", "filename", "docs_url", "group_by"}
_CSV = _COMMON | {"columns", "bom"}
_JSON = _COMMON | {"request", "document", "lines"}


def parse_format(system: str, index: int, raw: Any) -> ImportFormat:
    """One ``[[imports]]`` entry, checked strictly: an unknown key, action, field or catalogue key fails."""
    where = f"imports/{system}.toml: imports[{index}]"
    if not isinstance(raw, dict):
        raise _fail(where, "must be a table")
    import_id = raw.get("id")
    if not isinstance(import_id, str) or not _ID.match(import_id):
        raise _fail(f"{where}.id", "must match [a-z][a-z0-9_]*")
    where = f"imports/{system}.toml: {import_id}"
    action = raw.get("action")
    if action not in ACTION_TYPES:
        raise _fail(f"{where}.action", f"must be one of {', '.join(ACTION_TYPES)}")
    fmt = raw.get("format")
    if fmt not in FORMATS:
        raise _fail(f"{where}.format", f"must be one of {', '.join(FORMATS)}")
    unknown = sorted(set(raw) - (_CSV if fmt == "csv" else _JSON))
    if unknown:
        raise _fail(f"{where}.{unknown[0]}", f"is not a field of a {fmt} import")
    label = _catalogue_key(f"{where}.label", raw.get("label"))
    help_key = _catalogue_key(f"{where}.help", raw["help"]) if "help" in raw else None
    filename = raw.get("filename")
    if not isinstance(filename, str) or not _FILENAME.match(filename):
        raise _fail(f"{where}.filename", "must be lower-case letters, digits and dashes (no extension)")
    docs_url = raw.get("docs_url")
    if not isinstance(docs_url, str) or not docs_url.startswith("https://") or any(c.isspace() for c in docs_url):
        raise _fail(f"{where}.docs_url", "must be an https:// address")
    group_raw = raw.get("group_by", [])
    if not isinstance(group_raw, list) or len(set(group_raw)) != len(group_raw):
        raise _fail(f"{where}.group_by", "must be a list of distinct canonical fields")
    for name in group_raw:
        if name not in CANONICAL_FIELDS[action]:
            raise _fail(f"{where}.group_by", f"unknown canonical field {name!r} for {action}")
    group_by = tuple(group_raw)
    common: dict[str, Any] = {
        "system": system,
        "id": import_id,
        "action": action,
        "format": fmt,
        "label": label,
        "help": help_key,
        "filename": filename,
        "docs_url": docs_url,
        "group_by": group_by,
    }
    if fmt == "csv":
        return ImportFormat(**common, **_csv_parts(where, raw, action, group_by))
    return ImportFormat(**common, **_json_parts(where, raw, action, group_by))


def _csv_parts(where: str, raw: dict[str, Any], action: str, group_by: tuple[str, ...]) -> dict[str, Any]:
    bom = raw.get("bom", False)
    if not isinstance(bom, bool):
        raise _fail(f"{where}.bom", "must be true or false")
    columns_raw = raw.get("columns")
    if not isinstance(columns_raw, list) or not columns_raw:
        raise _fail(f"{where}.columns", "needs at least one column")
    columns: list[Column] = []
    headers: set[str] = set()
    for i, col in enumerate(columns_raw):
        at = f"{where}.columns[{i}]"
        if not isinstance(col, dict):
            raise _fail(at, "must be a table")
        header = col.get("header")
        if not isinstance(header, str) or not header.strip() or len(header) > 200 or _BIDI.search(header):
            raise _fail(f"{at}.header", "must be a short text")
        if header in headers:
            raise _fail(f"{at}.header", f"{header!r} appears twice")
        headers.add(header)
        per = col.get("per", "line")
        if per not in ("line", "document"):
            raise _fail(f"{at}.per", "must be line or document")
        spec = {k: v for k, v in col.items() if k not in ("header", "per")}
        source = _source(at, spec, action, document=per == "document", group_by=group_by)
        columns.append(Column(header, source, per_document=per == "document"))
    return {"bom": bom, "columns": tuple(columns)}


def _json_parts(where: str, raw: dict[str, Any], action: str, group_by: tuple[str, ...]) -> dict[str, Any]:
    request = raw.get("request")
    if not isinstance(request, dict) or set(request) != {"method", "path"}:
        raise _fail(f"{where}.request", "needs exactly method and path")
    method = request["method"]
    path = request["path"]
    if method not in METHODS:
        raise _fail(f"{where}.request.method", f"must be one of {', '.join(METHODS)}")
    if not isinstance(path, str) or not path.startswith("/") or "://" in path or any(c.isspace() for c in path):
        raise _fail(f"{where}.request.path", "must be a path on the system (starting with /)")
    document = _targets(f"{where}.document", raw.get("document", {}), action, document=True, group_by=group_by)
    lines_raw = raw.get("lines")
    lines_path: str | None = None
    lines: list[tuple[str, Source]] = []
    if lines_raw is not None:
        if not isinstance(lines_raw, dict) or set(lines_raw) != {"path", "fields"}:
            raise _fail(f"{where}.lines", "needs exactly path and fields")
        lines_path = lines_raw["path"]
        if not isinstance(lines_path, str) or not _TARGET.match(lines_path):
            raise _fail(f"{where}.lines.path", "is not a valid target field")
        lines = _targets(f"{where}.lines.fields", lines_raw["fields"], action, document=False, group_by=group_by)
        if not lines:
            raise _fail(f"{where}.lines.fields", "needs at least one field")
        clash = _clash([t for t, _ in document] + [lines_path])
        if clash is not None or lines_path in {t for t, _ in document}:
            raise _fail(f"{where}.lines.path", "is also one of the document's fields")
    elif group_by:
        raise _fail(f"{where}.group_by", "a document that groups drafts needs lines")
    if not document and not lines:
        raise _fail(where, "needs a document or lines")
    return {
        "method": method,
        "path": path,
        "document": tuple(document),
        "lines_path": lines_path,
        "lines": tuple(lines),
    }


def parse_file(system: str, text: str) -> tuple[ImportFormat, ...]:
    """Every import format of one system's file; raises `ImportFormatInvalid` naming what is wrong."""
    if not _ID.match(system):
        raise _fail(f"imports/{system}.toml", "the file's name must be a preset id")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(f"imports/{system}.toml", f"is not valid TOML ({exc})") from exc
    unknown = sorted(set(data) - {"imports"})
    if unknown:
        raise _fail(f"imports/{system}.toml: {unknown[0]}", "is not a field of an imports file")
    entries = data.get("imports")
    if not isinstance(entries, list) or not entries:
        raise _fail(f"imports/{system}.toml", "needs at least one [[imports]] entry")
    formats = tuple(parse_format(system, i, raw) for i, raw in enumerate(entries))
    ids = [f.id for f in formats]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise _fail(f"imports/{system}.toml: {repeated[0]}", "appears twice")
    return formats


@lru_cache(maxsize=1)
def load_imports() -> dict[str, tuple[ImportFormat, ...]]:
    """Every system's import formats, by preset id (read once; the files ship with the code)."""
    return {
        path.stem: parse_file(path.stem, path.read_text(encoding="utf-8"))
        for path in sorted(IMPORTS_DIR.glob("*.toml"))
    }


def find_format(system: str, import_id: str) -> ImportFormat | None:
    return next((f for f in load_imports().get(system, ()) if f.id == import_id), None)


# --- rendering -----------------------------------------------------------------------------------------------


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _BIDI.sub("", value)
    return value


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def _json_number(value: Decimal) -> int | float:
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _convert(value: Any, source: Source) -> Any:
    """The value in the type the system expects; a value that cannot be converted stays as it is, so a person
    sees it (and the system's import names it) rather than Atlas silently dropping it."""
    if value is None:
        return None
    if source.negate:
        number = _decimal(value)
        if number is not None:
            value = _json_number(-number)
    if source.type == "string":
        return value if isinstance(value, str) else _text(value)
    if source.type in ("integer", "number"):
        number = _decimal(value)
        if number is None or (source.type == "integer" and number != number.to_integral_value()):
            return value
        return int(number) if source.type == "integer" else _json_number(number)
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f")
    return str(value)


def _field(action: Mapping[str, Any], name: str) -> Any:
    value = _clean(action.get(name))
    if name in _LOCATION_IDS and value == UNASSIGNED_LOCATION:
        return None
    return value


def _resolve(source: Source, lines: Sequence[Mapping[str, Any]], exported_at: datetime) -> Any:
    """A source's value for one line (a single action) or a document (its lines' actions)."""
    if source.kind == "const":
        return _convert(source.const, source)
    if source.kind == "fill":
        return None
    if source.kind == "export":
        return exported_at.date().isoformat() if source.name == "date" else exported_at.isoformat()
    if source.kind == "value":
        return _convert(_field(lines[0], source.name), source)
    values = [v for line in lines if (v := _field(line, source.name)) not in (None, "")]
    if source.kind == "join":
        return ", ".join(dict.fromkeys(_text(v) for v in values)) or None
    if not values:
        return None
    numbers = [(n, v) for v in values if (n := _decimal(v)) is not None]
    if len(numbers) == len(values):
        chosen = (min if source.kind == "min" else max)(numbers, key=lambda p: p[0])[1]
    else:  # dates (ISO text sorts as time does) and other text
        chosen = (min if source.kind == "min" else max)(_text(v) for v in values)
    return _convert(chosen, source)


def safe_cell(value: Any) -> str:
    """Text for one CSV cell: a value a spreadsheet would run as a formula is quoted with an apostrophe
    (numbers, negative ones included, stay as they are); bidirectional formatting characters are dropped."""
    text = _BIDI.sub("", _text(value))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text and text[0] in "=+-@\t\r|" and _decimal(text) is None:
        return "'" + text
    return text


def _groups(fmt: ImportFormat, drafts: Iterable[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """The drafts of the format's action, in the order given, one group per document."""
    groups: dict[Any, list[Mapping[str, Any]]] = {}
    for position, draft in enumerate(drafts):
        if draft.get("action_type") != fmt.action:
            continue
        action = draft.get("action") or {}
        key = tuple(_text(action.get(name)) for name in fmt.group_by) if fmt.group_by else position
        groups.setdefault(key, []).append(draft)
    return list(groups.values())


def _nest(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for target, value in pairs:
        parts = target.split(".")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return root


def _csv(fmt: ImportFormat, groups: list[list[Mapping[str, Any]]], exported_at: datetime) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(c.header) for c in fmt.columns])
    for group in groups:
        actions = [d.get("action") or {} for d in group]
        for index, action in enumerate(actions):
            row: list[str] = []
            for column in fmt.columns:
                if column.per_document:
                    value = _resolve(column.source, actions, exported_at) if index == 0 else None
                else:
                    value = _resolve(column.source, [action], exported_at)
                row.append(safe_cell(value))
            writer.writerow(row)
    text = buffer.getvalue().encode("utf-8")
    return (b"\xef\xbb\xbf" + text) if fmt.bom else text


def _json(fmt: ImportFormat, groups: list[list[Mapping[str, Any]]], exported_at: datetime, lang: str) -> bytes:
    documents: list[dict[str, Any]] = []
    for group in groups:
        actions = [d.get("action") or {} for d in group]
        pairs = [(target, _resolve(source, actions, exported_at)) for target, source in fmt.document]
        if fmt.lines_path is not None:
            lines = [
                _nest((target, _resolve(source, [action], exported_at)) for target, source in fmt.lines)
                for action in actions
            ]
            pairs.append((fmt.lines_path, lines))
        documents.append(
            {
                "drafts": [
                    {
                        "id": d.get("id"),
                        "reference": _clean((d.get("action") or {}).get("reference")),
                        "summary": _clean(d.get("summary_ar" if lang == "ar" else "summary_en")),
                    }
                    for d in group
                ],
                "body": _nest(pairs),
            }
        )
    body = {
        "system": fmt.system,
        "import": fmt.id,
        "action": fmt.action,
        "exported_at": exported_at.isoformat(),
        "sendable": False,
        "note": NOT_SENDABLE,
        "request": {"method": fmt.method, "path": fmt.path},
        "docs_url": fmt.docs_url,
        "documents": documents,
    }
    return (json.dumps(body, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def render(
    fmt: ImportFormat, drafts: Sequence[Mapping[str, Any]], *, exported_at: datetime, lang: str = "en"
) -> Rendered:
    """The drafts of ``fmt``'s action as the file the system's import takes. Drafts of other actions are left
    out; the order of the drafts given is kept (documents in the order their first draft comes)."""
    groups = _groups(fmt, drafts)
    content = _csv(fmt, groups, exported_at) if fmt.format == "csv" else _json(fmt, groups, exported_at, lang)
    stamp = exported_at.strftime("%Y%m%d-%H%M%S")
    return Rendered(
        content=content,
        filename=f"{fmt.filename}-{stamp}.{fmt.extension}",
        media_type=fmt.media_type,
        draft_ids=tuple(str(d.get("id")) for group in groups for d in group),
        documents=len(groups),
    )
