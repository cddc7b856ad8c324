"""Pages over the synced data: the inventory browser and the quarantine list.

Both are plain GET views rendered on the server: every filter, search and page is in the
query string, so a view can be bookmarked, shared and opened without JavaScript. They read
through the same services as the JSON API (`atlas.mapping.inventory`, `.quarantine`); the
few actions (re-process, dismiss) go through the API from `static/data.js`.

Query values are read leniently: a malformed id, date or page number is ignored (and the
field marked), never a 400, because these are links people type and edit.

The helpers other components' pages share moved below every component in issue 18's pages part: the query-string
readers to `atlas.web.params`, the pager and the formatting to `atlas.web.ui.formatting`, the layout to
`atlas.web.ui.layout`. What stays is mapping's own: these two pages and `ItemRepo` (pages above mapping read items
through it).
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.response import Template
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.connectors import services as connector_services
from atlas.errors import NotFound
from atlas.i18n.typed_input import parse_local_time
from atlas.mapping import inventory, quarantine
from atlas.mapping.canonical import LOCATION_TYPES, MovementKind
from atlas.mapping.models import Item
from atlas.mapping.quarantine_groups import Filters
from atlas.platform.principal import Principal
from atlas.platform.rbac import Permission
from atlas.platform.tenancy import TenantRepository
from atlas.web.params import page_param, text_param, uuid_param
from atlas.web.ui.formatting import format_money, format_quantity, pager, pretty_json
from atlas.web.ui.layout import page, tenant_context_for

PAGE_SIZE = 50
TABS = ("items", "locations", "balances", "movements", "open_orders")
MOVEMENT_KINDS = tuple(str(kind) for kind in MovementKind)
QUARANTINE_STATUSES = ("open", "reprocessed", "dismissed", "superseded")
MAX_LOCATION_OPTIONS = 500
GROUPS_SHOWN = 25  # the quarantine page's most frequent causes
# The reason codes the mapping engine and the writer give; each has a name in the catalogue.
REASON_CODES = (
    "required",
    "not_a_number",
    "not_a_datetime",
    "not_in_lookup",
    "unknown_item",
    "plan_limit_records",
    "unknown_location",
    "too_long",
    "not_text",
    "unknown_movement_kind",
    "out_of_range",
    "not_an_integer",
    "unmappable",
)


class ItemRepo(TenantRepository[Item]):
    model = Item
    not_found_key = "errors.not_found"


# --- reading the query string --------------------------------------------------------------------


def day_param(value: str, *, end: bool = False, time_zone: str | None = None) -> datetime | None:
    """A date (``2024-05-01``) or a date and time, typed in either language's digits, as a wall-clock time in the
    tenant's ``time_zone`` (issue 19); an end date includes its whole day. A moment with an explicit offset
    (``2024-05-01T00:00:00+00:00``) is taken as it says. None when unreadable."""
    if not value:
        return None
    try:
        return parse_local_time(value, time_zone, end=end)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


# --- the inventory browser -----------------------------------------------------------------------


async def _find_item(db: AsyncSession, item_id: uuid.UUID | None, sku: str) -> tuple[Item | None, bool]:
    """The item a filter names (by id from a link, else by SKU as typed); and whether a filter was asked for."""
    repo = ItemRepo(db)
    if item_id is not None:
        return await repo.get_or_none(item_id), True
    if not sku:
        return None, False
    exact = await repo.list(Item.sku == sku, order_by=[Item.created_at, Item.id], limit=1)
    if exact:
        return exact[0], True
    folded = await repo.list(func.lower(Item.sku) == sku.lower(), order_by=[Item.created_at, Item.id], limit=1)
    return (folded[0] if folded else None), True


async def _inventory_rows(
    db: AsyncSession,
    tab: str,
    filters: dict[str, Any],
    offset: int,
) -> dict[str, Any]:
    if tab == "items":
        result = await inventory.items(
            db,
            q=filters["q"] or None,
            category=filters["category"] or None,
            connector_id=filters["connector"],
            limit=PAGE_SIZE,
            offset=offset,
        )
        for row in result["items"]:
            row["unit_cost_text"] = format_money(row["unit_cost"])
        return result
    if tab == "locations":
        return await inventory.locations(db, q=filters["q"] or None, limit=PAGE_SIZE, offset=offset)
    if filters["item_missing"]:
        return {"total": 0, "items": []}
    if tab == "balances":
        result = await inventory.balances(
            db,
            q=filters["q"] or None,
            item_id=filters["item"],
            location_id=filters["location"],
            limit=PAGE_SIZE,
            offset=offset,
        )
        for row in result["items"]:
            for name in ("quantity", "reserved_qty", "available_qty"):
                row[name + "_text"] = format_quantity(row[name])
        return result
    if tab == "open_orders":
        result = await inventory.open_orders(
            db,
            q=filters["q"] or None,
            item_id=filters["item"],
            location_id=filters["location"],
            kind=None,
            limit=PAGE_SIZE,
            offset=offset,
        )
        for row in result["items"]:
            row["open_qty_text"] = format_quantity(row["open_qty"])
        return result
    result = await inventory.movements(
        db,
        item_id=filters["item"],
        location_id=filters["location"],
        kind=filters["kind"] or None,
        since=filters["since_at"],
        until=filters["until_at"],
        limit=PAGE_SIZE,
        offset=offset,
    )
    for row in result["items"]:
        row["quantity_text"] = format_quantity(row["quantity"], signed=True)
        row["direction"] = "in" if row["quantity"] > 0 else ("out" if row["quantity"] < 0 else "zero")
    return result


# --- the quarantine list -------------------------------------------------------------------------


def _quarantine_row(record: Any, connector_names: dict[uuid.UUID, str]) -> dict[str, Any]:
    return {
        "id": record.id,
        "connector_id": record.connector_id,
        "connector_name": connector_names.get(record.connector_id, ""),
        "sync_run_id": record.sync_run_id,
        "endpoint_key": record.endpoint_key,
        "resource": record.resource,
        "mapping_version": record.mapping_version,
        "errors": [
            {
                "field": str(error.get("field") or ""),
                "code": str(error.get("code") or ""),
                "detail": str(error.get("detail") or ""),
                "params": error.get("params") if isinstance(error.get("params"), dict) else {},
            }
            for error in (record.errors or [])
            if isinstance(error, dict)
        ],
        "raw_json": pretty_json(record.raw),
        "status": record.status,
        "created_at": record.created_at,
        "resolved_at": record.resolved_at,
    }


class DataPages(Controller):
    include_in_schema = False

    @get("/app/inventory", opt={"permission": Permission.READ})
    async def inventory_page(self, request: Request[Any, Any, Any], db: NamedDependency[AsyncSession]) -> Template:
        ctx = await tenant_context_for(db)
        params = request.query_params
        tab = text_param(params, "tab", 20)
        tab = tab if tab in TABS else "items"
        since, until = text_param(params, "since", 40), text_param(params, "until", 40)
        kind = text_param(params, "kind", 40)
        filters: dict[str, Any] = {
            "q": text_param(params, "q"),
            "category": text_param(params, "category", 200),
            "connector": uuid_param(text_param(params, "connector_id", 40)),
            "sku": text_param(params, "sku", 200),
            "item": uuid_param(text_param(params, "item_id", 40)),
            "location": uuid_param(text_param(params, "location_id", 40)),
            "kind": kind if kind in MOVEMENT_KINDS else "",
            "since": since,
            "until": until,
            "since_at": day_param(since, time_zone=ctx["time_zone"]),
            "until_at": day_param(until, end=True, time_zone=ctx["time_zone"]),
            "item_missing": False,
        }
        invalid = [name for name in ("since", "until") if filters[name] and filters[name + "_at"] is None]

        # Nothing synced yet: no items and no locations at all.
        everything = await inventory.items(db, q=None, category=None, connector_id=None, limit=1, offset=0)
        has_data = everything["total"] > 0 or (await inventory.locations(db, q=None, limit=1, offset=0))["total"] > 0

        item: Item | None = None
        if tab in ("balances", "movements", "open_orders"):
            item, asked = await _find_item(db, filters["item"], filters["sku"])
            if item is not None:
                filters["item"], filters["sku"] = item.id, item.sku
            elif asked:
                filters["item_missing"] = True

        current = page_param(text_param(params, "page", 12))
        result: dict[str, Any] = {"total": 0, "items": []}
        if has_data:
            result = await _inventory_rows(db, tab, filters, (current - 1) * PAGE_SIZE)
            if not result["items"] and result["total"] and current > 1:  # past the end: show the last page
                current = math.ceil(result["total"] / PAGE_SIZE)
                result = await _inventory_rows(db, tab, filters, (current - 1) * PAGE_SIZE)

        # The filters as they go back into links (only those set, only this tab's).
        per_tab = {
            "items": ("q", "category", "connector_id"),
            "locations": ("q",),
            "balances": ("q", "item_id", "location_id"),
            "movements": ("item_id", "location_id", "kind", "since", "until"),
            "open_orders": ("q", "item_id", "location_id"),
        }[tab]
        values = {
            "q": filters["q"],
            "category": filters["category"],
            "connector_id": str(filters["connector"] or ""),
            "item_id": str(filters["item"] or ""),
            "location_id": str(filters["location"] or ""),
            "kind": filters["kind"],
            "since": filters["since"],
            "until": filters["until"],
        }
        link_params = {"tab": tab, **{k: values[k] for k in per_tab if values[k]}}
        if filters["item_missing"] and filters["sku"]:
            link_params["sku"] = filters["sku"]
        active = [k for k in per_tab if values[k]] + (["sku"] if filters["item_missing"] else [])

        locations: list[dict[str, Any]] = []
        if tab in ("balances", "movements", "open_orders") and has_data:
            locations = (await inventory.locations(db, q=None, limit=MAX_LOCATION_OPTIONS, offset=0))["items"]
        open_quarantine = (
            await quarantine.list_quarantine(db, connector_id=None, status="open", endpoint_key=None, limit=1, offset=0)
        )["total"]
        connectors: list[dict[str, str]] = []
        if tab == "items":
            connectors = [{"id": str(c.id), "name": c.name} for c, _ in await connector_services.list_connectors(db)]

        return page(
            request,
            "inventory/browser.html",
            nav="inventory",
            tab=tab,
            tabs=TABS,
            filters={**values, "sku": filters["sku"]},
            active_filters=active,
            invalid=invalid,
            item=item,
            item_missing=filters["item_missing"],
            has_data=has_data,
            rows=result["items"],
            categories=everything["categories"],
            locations=locations,
            connectors=connectors,
            kinds=MOVEMENT_KINDS,
            location_types=LOCATION_TYPES,
            pager=pager(result["total"], current),
            link_params=link_params,
            quarantine_open=open_quarantine,
            **ctx,
        )

    @get("/app/quarantine", opt={"permission": Permission.READ})
    async def quarantine_page(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template:
        ctx = await tenant_context_for(db)
        params = request.query_params
        connector_id = uuid_param(text_param(params, "connector_id", 40))
        sync_run_id = uuid_param(text_param(params, "sync_run_id", 40))
        endpoint_key = text_param(params, "endpoint_key", 60)
        status = text_param(params, "status", 20) or "open"
        status = status if status in (*QUARANTINE_STATUSES, "all") else "open"
        current = page_param(text_param(params, "page", 12))

        pairs = await connector_services.list_connectors(db)
        connector_names = {c.id: c.name for c, _ in pairs}
        if connector_id is not None and connector_id not in connector_names:
            raise NotFound("errors.connector_not_found")  # another tenant's connector is not found, as everywhere
        connectors: list[dict[str, Any]] = [
            {
                "id": str(c.id),
                "name": c.name,
                "endpoints": [{"key": e.key, "resource": e.resource} for e in endpoints],
            }
            for c, endpoints in pairs
        ]
        endpoint_keys = sorted(
            {
                endpoint["key"]
                for c in connectors
                if connector_id is None or c["id"] == str(connector_id)
                for endpoint in c["endpoints"]
            }
        )

        async def fetch(number: int) -> dict[str, Any]:
            return await quarantine.list_quarantine(
                db,
                connector_id=connector_id,
                status=None if status == "all" else status,
                endpoint_key=endpoint_key or None,
                limit=PAGE_SIZE,
                offset=(number - 1) * PAGE_SIZE,
                sync_run_id=sync_run_id,
            )

        result = await fetch(current)
        if not result["items"] and result["total"] and current > 1:
            current = math.ceil(result["total"] / PAGE_SIZE)
            result = await fetch(current)

        link_params = {
            k: v
            for k, v in (
                ("connector_id", str(connector_id or "")),
                ("sync_run_id", str(sync_run_id or "")),
                ("endpoint_key", endpoint_key),
                ("status", "" if status == "open" else status),
            )
            if v
        }
        return page(
            request,
            "quarantine/list.html",
            nav="inventory",
            rows=[_quarantine_row(r, connector_names) for r in result["items"]],
            connectors=connectors,
            endpoint_keys=endpoint_keys,
            statuses=QUARANTINE_STATUSES,
            filters={
                "connector_id": str(connector_id or ""),
                "sync_run_id": str(sync_run_id or ""),
                "endpoint_key": endpoint_key,
                "status": status,
            },
            active_filters=[k for k in ("connector_id", "sync_run_id", "endpoint_key") if link_params.get(k)]
            + (["status"] if status != "open" else []),
            # The same records grouped by cause, with the fix of each (quarantine/_groups.html).
            grouped=await quarantine.groups(
                db,
                Filters(connector_id, None if status == "all" else status, sync_run_id, endpoint_key or None),
                limit=GROUPS_SHOWN,
                offset=0,
            ),
            reason_codes=REASON_CODES,
            pager=pager(result["total"], current),
            link_params=link_params,
            can_manage=principal.can(Permission.MANAGE_CONNECTORS),
            **ctx,
        )
