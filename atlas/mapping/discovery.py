"""Capability discovery: probe a system's endpoints (GET and HEAD only) and suggest mappings.

For each configured endpoint, and for common inventory paths under the base URL,
report whether it answers, the methods it advertises, the pagination style its
answers suggest (next links, cursors, totals), the fields and types of its
sample records, and a suggested mapping for a person to confirm in the editor.
Field names are matched in English and in transliterated and written Arabic.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import msgspec

from atlas.connectors.engine import ConnectorConfig, ConnectorSession, EndpointConfig, FetchError
from atlas.connectors.engine.reader import link_next
from atlas.db.base import utcnow
from atlas.execution_lock import NetworkPolicy, TransportFailure
from atlas.execution_lock.transport import BlockedHandler
from atlas.mapping.canonical import CANONICAL_FIELDS, FieldType
from atlas.mapping.engine import MappingInvalid, compile_mapping

COMMON_PATHS: dict[str, tuple[str, ...]] = {
    "items": (
        "/items",
        "/products",
        "/api/items",
        "/api/products",
        "/api/v1/items",
        "/api/v1/products",
        "/inventory/items",
    ),
    "locations": (
        "/locations",
        "/warehouses",
        "/stores",
        "/api/locations",
        "/api/warehouses",
        "/api/v1/locations",
        "/api/v1/warehouses",
    ),
    "stock_balances": (
        "/stock",
        "/inventory",
        "/balances",
        "/stock-levels",
        "/api/stock",
        "/api/inventory",
        "/api/v1/stock",
        "/api/v1/inventory",
    ),
    "stock_movements": (
        "/movements",
        "/transactions",
        "/stock-movements",
        "/api/movements",
        "/api/transactions",
        "/api/v1/movements",
        "/api/v1/transactions",
    ),
}
RECORD_KEYS = (
    "data",
    "items",
    "results",
    "records",
    "rows",
    "value",
    "movements",
    "transactions",
    "locations",
    "warehouses",
    "products",
    "stock",
    "balances",
    "entries",
    "list",
)
SAMPLE = 50

# Candidate names per canonical field: English, transliterated Arabic, and Arabic script.
CANDIDATES: dict[str, tuple[str, ...]] = {
    # A balance record's own id (a stock row, a lot, a quant): rows of one item and location add up.
    "source_id": ("id", "pk", "stock_id", "stock_item_id", "row_id", "quant_id", "bin_id", "uuid", "_id"),
    "sku": (
        "sku",
        "item_code",
        "itemcode",
        "product_code",
        "code",
        "article_number",
        "part_number",
        "item_no",
        "ramz",
        "rmz",
        "raqm_almadda",
        "kod",
        "رمز",
        "رمز_الصنف",
        "الرمز",
    ),
    "name": (
        "name",
        "item_name",
        "product_name",
        "title",
        "description",
        "desc",
        "ism",
        "ism_alsinf",
        "wasf",
        "الاسم",
        "اسم",
        "الوصف",
    ),
    "category": ("category", "category_name", "group", "family", "department", "fia", "sinf", "fiaa", "الفئة", "الصنف"),
    "unit_of_measure": ("uom", "unit", "unit_of_measure", "unit_name", "wahda", "الوحدة"),
    "unit_cost": (
        "unit_cost",
        "cost",
        "amount",
        "purchase_price",
        "cost_price",
        "price",
        "taklifa",
        "taklufa",
        "التكلفة",
        "السعر",
    ),
    "lead_time_days": ("lead_time_days", "lead_time", "leadtime", "delivery_days", "muddat_altawrid", "مدة_التوريد"),
    "code": ("code", "location_code", "warehouse_code", "store_code", "ramz", "kod", "رمز"),
    "type": ("type", "location_type", "kind", "category", "naw", "النوع"),
    "address": ("address", "city", "location", "unwan", "العنوان", "المدينة"),
    "item_ref": (
        "sku",
        "item_code",
        "itemcode",
        "product_code",
        "item_id",
        "product_id",
        "item",
        "ramz",
        "رمز_الصنف",
        "الصنف",
    ),
    "location_ref": (
        "warehouse_id",
        "location_id",
        "store_id",
        "warehouse",
        "location",
        "warehouse_code",
        "location_code",
        "mustawda",
        "mustawdaa",
        "المستودع",
        "الموقع",
    ),
    "quantity": (
        "quantity",
        "qty",
        "on_hand",
        "onhand",
        "quantity_on_hand",
        "stock",
        "amount",
        "kamiya",
        "kammiya",
        "الكمية",
    ),
    "reserved_qty": ("reserved", "reserved_qty", "allocated", "committed", "mahjuz", "المحجوز"),
    "available_qty": ("available", "available_qty", "free", "free_stock", "mutah", "المتاح"),
    "as_of": ("as_of", "asof", "updated_at", "timestamp", "snapshot_at", "date", "tarikh", "التاريخ"),
    "occurred_at": (
        "occurred_at",
        "timestamp",
        "date",
        "transaction_date",
        "created_at",
        "posted_at",
        "tarikh",
        "التاريخ",
    ),
    "kind": ("type", "kind", "movement_type", "transaction_type", "naw", "النوع"),
    "reference": ("reference", "ref", "document", "document_number", "invoice", "marja", "المرجع"),
    "external_id": ("id", "external_id", "uuid", "movement_id", "transaction_id", "_id"),
}
KIND_WORDS = (
    ("transfer_in", ("transfer_in", "trf_in", "in_transfer")),
    ("transfer_out", ("transfer_out", "trf_out", "out_transfer")),
    ("sale", ("sale", "sold", "invoice", "pos", "بيع", "مبيعات")),
    ("receipt", ("receipt", "goods_receipt", "grn", "purchase", "received", "استلام")),
    ("adjustment", ("adjust", "count", "تسوية")),
    ("issue", ("issue", "consum", "صرف")),
)
DIRECTION_NAMES = ("direction", "in_out", "sign", "flow", "ittijah")


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-.]", "", name.lower())


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _path(parent: str, key: str) -> str:
    return f"{parent}.{key}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", key) else f"{parent}['{key}']"


@dataclass
class FieldStats:
    path: str
    types: Counter[str] = field(default_factory=Counter)
    example: Any = None
    seen: int = 0


def flatten(records: list[Any], depth: int = 3) -> list[FieldStats]:
    stats: dict[str, FieldStats] = {}

    def walk(value: Any, path: str, level: int) -> None:
        if isinstance(value, dict) and level < depth:
            for key, child in value.items():
                walk(child, _path(path, str(key)), level + 1)
            return
        entry = stats.setdefault(path, FieldStats(path))
        entry.types[_type_name(value)] += 1
        entry.seen += 1
        if entry.example is None and value is not None and not isinstance(value, dict | list):
            entry.example = value

    for record in records:
        if isinstance(record, dict):
            walk(record, "$", 0)
    return list(stats.values())


def find_records(body: Any) -> tuple[str | None, list[Any]]:
    """Where the records are in an answer: the body itself, or the first list of objects under a likely key."""
    if isinstance(body, list):
        return "$", body
    if not isinstance(body, dict):
        return None, []
    keys = sorted(body, key=lambda k: 0 if str(k).lower() in RECORD_KEYS else 1)
    for key in keys:
        value = body[key]
        if isinstance(value, list) and (not value or isinstance(value[0], dict)):
            return _path("$", str(key)), value
        if isinstance(value, dict):
            for inner in sorted(value, key=lambda k: 0 if str(k).lower() in RECORD_KEYS else 1):
                if isinstance(value[inner], list) and value[inner] and isinstance(value[inner][0], dict):
                    return _path(_path("$", str(key)), str(inner)), value[inner]
    return None, []


def detect_pagination(body: Any, headers: dict[str, str]) -> dict[str, Any]:
    """The pagination style an answer suggests, with the evidence, and settings to start from."""
    evidence: list[str] = []
    if link_next(headers.get("link")):
        return {
            "style": "link_header",
            "evidence": ['Link: rel="next" header'],
            "suggested": {"kind": "cursor", "cursor_source": "link_header"},
        }
    flat = {p.path: p for p in flatten([body], depth=3)} if isinstance(body, dict) else {}

    def find(*names: str) -> str | None:
        wanted = {_norm(n) for n in names}
        for path in flat:
            last = re.split(r"[.\[\]']+", path.strip("$.[]'"))[-1] if path != "$" else ""
            if _norm(last) in wanted:
                return path
        return None

    next_url = find("next", "nextLink", "@odata.nextLink", "next_url", "nextPage", "next_page_url")
    if (
        next_url
        and isinstance(flat[next_url].example, str)
        and ("/" in flat[next_url].example or "?" in flat[next_url].example)
    ):
        return {
            "style": "next_url",
            "evidence": [f"{next_url} holds a URL"],
            "suggested": {"kind": "cursor", "cursor_source": "next_url", "cursor_path": next_url},
        }
    cursor = find("next_cursor", "nextCursor", "cursor", "next_page_token", "nextPageToken", "continuation_token")
    if cursor:
        return {
            "style": "cursor_body",
            "evidence": [f"{cursor} in the body"],
            "suggested": {
                "kind": "cursor",
                "cursor_source": "body",
                "cursor_path": cursor,
                "cursor_param": "page_token" if "token" in cursor.lower() else "cursor",
            },
        }
    total_pages = find("total_pages", "totalPages", "page_count", "pages")
    if total_pages:
        evidence.append(f"{total_pages} (pages)")
        page_size = find("per_page", "page_size", "pageSize", "limit")
        return {
            "style": "page_number",
            "evidence": evidence,
            "suggested": {
                "kind": "page",
                "total_pages_path": total_pages,
                "page_param": "page",
                "size_param": "per_page" if not page_size else re.split(r"[.\[\]']+", page_size.strip("$."))[-1],
            },
        }
    total = find("total", "total_count", "totalCount", "count", "total_items", "totalItems")
    offset = find("offset", "skip", "start")
    if total and offset:
        return {
            "style": "offset",
            "evidence": [f"{total} (total)", f"{offset} (offset)"],
            "suggested": {"kind": "offset", "total_path": total, "offset_param": "offset", "limit_param": "limit"},
        }
    if total and find("page"):
        return {
            "style": "page_number",
            "evidence": [f"{total} (total)", "page in the body"],
            "suggested": {"kind": "page", "total_path": total, "page_param": "page", "size_param": "per_page"},
        }
    if total:
        return {
            "style": "offset",
            "evidence": [f"{total} (total)"],
            "suggested": {"kind": "offset", "total_path": total, "offset_param": "offset", "limit_param": "limit"},
        }
    return {"style": "none", "evidence": [], "suggested": {"kind": "none"}}


def _score(path: str, candidates: tuple[str, ...]) -> int:
    parts = [p for p in re.split(r"[.\[\]']+", path.strip("$")) if p]
    if not parts:
        return 0
    names = [_norm(c) for c in candidates]
    last = _norm(parts[-1])
    parent = _norm(parts[-2]) if len(parts) > 1 else ""
    if last in names:
        score = 100 - names.index(last) - 5 * (len(parts) - 1)
        # "supplier.name" is the supplier's name, not the item's.
        return score - 40 if parent and parent not in names else score
    # {"description": {"en": "...", "ar": "..."}}: the English text of a name-like object.
    if last in ("en", "english", "value", "name", "amount") and parent in names:
        return 80 - names.index(parent) - (0 if last in ("en", "amount") else 10)
    return 0


def suggest_mapping(
    resource: str, records_path: str | None, fields: list[FieldStats], records: list[Any]
) -> tuple[dict[str, Any] | None, list[str]]:
    """A mapping to start from: the best-matching field for each canonical field, plus the transforms it needs."""
    if resource not in CANONICAL_FIELDS:
        return None, []
    rules: dict[str, Any] = {}
    used: set[str] = set()
    scalar = [f for f in fields if not set(f.types) <= {"object", "array", "null"}]
    for canonical in CANONICAL_FIELDS[resource]:
        candidates = CANDIDATES.get(canonical.name, ())
        ranked = sorted(
            ((_score(f.path, candidates), f) for f in scalar if f.path not in used), key=lambda pair: -pair[0]
        )
        ranked = [(s, f) for s, f in ranked if s > 0 and _fits(canonical.type, f)]
        if not ranked:
            continue
        chosen = ranked[0][1]
        if canonical.name == "external_id" and resource in ("items", "locations"):
            rules[canonical.name] = {"path": chosen.path}
            continue
        used.add(chosen.path)
        rule: dict[str, Any] = {"path": chosen.path}
        if canonical.type in (FieldType.DECIMAL, FieldType.INTEGER) and "string" in chosen.types:
            rule["transforms"] = [{"op": "to_number"}]
        if canonical.name == "kind":
            table = _kind_table(chosen, records)
            if table:
                rule["transforms"] = [{"op": "lookup", "table": table}]
        if canonical.name == "quantity" and resource == "stock_movements":
            direction = next(
                (f for f in scalar if _norm(f.path.split(".")[-1]) in {_norm(d) for d in DIRECTION_NAMES}), None
            )
            if direction is not None:
                rule.setdefault("transforms", []).append(
                    {"op": "negate_when", "path": direction.path, "values": ["out", "-", "-1", "outbound"]}
                )
        rules[canonical.name] = rule
    spec: dict[str, Any] = {"record_path": records_path or "$", "fields": rules}
    if resource == "stock_balances" and "source_id" not in rules:
        # No row id to sum by: the source must have one row per item and location (the preview shows it).
        spec["combine"] = "last"
    try:
        compile_mapping(resource, spec, strict=True)
    except MappingInvalid as exc:
        missing = [exc.detail] if exc.code == "required_field_unmapped" else []
        return spec, missing
    return spec, []


def _fits(kind: FieldType, stats: FieldStats) -> bool:
    types = set(stats.types) - {"null"}
    if kind in (FieldType.DECIMAL, FieldType.INTEGER):
        if types <= {"integer", "number"}:
            return True
        return (
            types == {"string"}
            and isinstance(stats.example, str)
            and re.fullmatch(r"-?[\d,٠-٩]+(\.\d+)?", stats.example.strip()) is not None
        )
    if kind == FieldType.DATETIME:
        return (
            types == {"string"}
            and isinstance(stats.example, str)
            and re.match(r"\d{4}-\d{2}-\d{2}", stats.example) is not None
        )
    return bool(types) and types <= {"string", "integer"}


def _kind_table(stats: FieldStats, records: list[Any]) -> dict[str, str]:
    from atlas.connectors.engine.jsonpath import compile_path

    path = compile_path(stats.path)
    values = {str(v) for r in records for v in path.find(r) if v is not None}
    table = {}
    for value in sorted(values):
        lowered = value.lower()
        for kind, words in KIND_WORDS:
            if any(word in lowered for word in words):
                table[value] = kind
                break
    return table


def _field_report(stats: FieldStats, total: int) -> dict[str, Any]:
    return {
        "path": stats.path,
        "types": sorted(stats.types),
        "example": stats.example,
        "present": round(stats.seen / total, 2) if total else 0.0,
    }


def _guess_resource(path: str) -> str | None:
    for resource, paths in COMMON_PATHS.items():
        if path in paths:
            return resource
    return None


async def _probe_methods(session: ConnectorSession, url: str) -> list[str]:
    """What the endpoint accepts, from reads only: GET answered (the caller has its page), HEAD is tried, and an
    ``Allow`` header on the HEAD answer adds what the server says. OPTIONS is not sent: it is not one of the
    execution lock's declared kinds."""
    headers: dict[str, str] = dict(session.config.headers)
    params: dict[str, str] = {}
    await session.auth.apply(headers, params)
    methods = {"GET"}
    try:
        head = await session.http.head(url, params=params or None, headers=headers)
        if head.status < 400:
            methods.add("HEAD")
        allow = head.headers.get("allow") or ""
        methods |= {m.strip().upper() for m in allow.split(",") if m.strip()}
    except TransportFailure:
        pass  # a server that refuses HEAD still answered GET: report what was seen
    return sorted(methods)


async def _probe_configured(
    session: ConnectorSession, config: ConnectorConfig, endpoint: EndpointConfig
) -> dict[str, Any]:
    url = session.reader.url_for(endpoint.path)
    report: dict[str, Any] = {
        "endpoint_key": endpoint.key,
        "path": endpoint.path,
        "source": "configured",
        "resource": str(endpoint.resource),
    }
    try:
        parents = None
        if endpoint.parent:
            parents = (await session.reader.first_page(config.endpoint(endpoint.parent))).records
        slots = session.reader.slots(
            endpoint, parents=(parents or [])[:1] if endpoint.parent else None, window_start=None, now=utcnow()
        )
        slot = slots[-1]
        params = dict(slot.params)
        page_params = (
            session.reader.page_params(endpoint, slot, 0) if endpoint.pagination.kind in ("offset", "page") else params
        )
        fetched = await session.executor.get_json(session.reader.url_for(slot.path), page_params)
        url = fetched.url
    except FetchError as exc:
        return {
            **report,
            "reachable": False,
            "status": exc.status,
            "error": f"{exc.reason}: {exc.detail}".strip(": "),
            "methods": [],
            "pagination": {"style": "unknown", "evidence": [], "suggested": None},
            "record_path": None,
            "record_count": 0,
            "fields": [],
            "suggested_mapping": None,
            "unmapped_required": [],
        }
    return {
        **report,
        **await _describe(session, url, fetched.body, fetched.headers, str(endpoint.resource), endpoint.record_path),
    }


async def _describe(
    session: ConnectorSession,
    url: str,
    body: Any,
    headers: dict[str, str],
    resource: str | None,
    record_path: str | None,
) -> dict[str, Any]:
    if record_path and record_path != "$":
        from atlas.connectors.engine.jsonpath import compile_path

        found = compile_path(record_path).find(body)
        records = found[0] if len(found) == 1 and isinstance(found[0], list) else found
    else:
        record_path, records = find_records(body)
    sample = [r for r in records[:SAMPLE] if isinstance(r, dict)]
    fields = flatten(sample)
    methods = await _probe_methods(session, url)
    suggestion, missing = suggest_mapping(resource, record_path, fields, sample) if resource and sample else (None, [])
    return {
        "reachable": True,
        "status": 200,
        "error": None,
        "methods": methods or ["GET"],
        "pagination": detect_pagination(body, headers),
        "record_path": record_path,
        "record_count": len(records),
        "fields": [_field_report(f, len(sample)) for f in fields],
        "suggested_mapping": suggestion,
        "unmapped_required": missing,
    }


async def _probe_common(session: ConnectorSession, path: str) -> dict[str, Any] | None:
    url = urljoin(session.config.base_url.rstrip("/") + "/", path.lstrip("/"))
    headers: dict[str, str] = dict(session.config.headers)
    params: dict[str, str] = {}
    await session.auth.apply(headers, params)
    await session.executor.bucket.acquire()
    try:
        response = await session.http.get(url, params=params or None, headers=headers)
    except TransportFailure:
        return None
    if response.status >= 400:
        return None  # nothing there (or not without parameters): not reported
    try:
        body = msgspec.json.decode(response.body)
    except msgspec.DecodeError:
        return None
    resource = _guess_resource(path)
    described = await _describe(session, url, body, response.headers, resource, None)
    if not described["record_count"]:
        return None
    return {"endpoint_key": None, "path": path, "source": "common_path", "resource": resource, **described}


async def discover(
    config: ConnectorConfig, *, network: NetworkPolicy, on_blocked: BlockedHandler | None = None
) -> dict[str, Any]:
    """Probe configured endpoints and common inventory paths. Reads only: GET and HEAD."""
    resources: list[dict[str, Any]] = []
    async with ConnectorSession(config, network=network, on_blocked=on_blocked) as session:
        for endpoint in config.endpoints:
            resources.append(await _probe_configured(session, config, endpoint))
        configured = {e.path.rstrip("/") for e in config.endpoints}
        candidates = [p for paths in COMMON_PATHS.values() for p in paths if p not in configured]
        found = await asyncio.gather(*(_probe_common(session, p) for p in candidates))
        resources.extend(r for r in found if r is not None)
    return {"connector_id": str(config.id), "base_url": config.base_url, "probed_at": utcnow(), "resources": resources}
