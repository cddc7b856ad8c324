"""The inventory browser: the canonical data, searchable, filterable and paginated."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.db import paging
from atlas.db.engine import tenant_context
from atlas.mapping.models import Item, Location, OpenOrder, StockBalance, StockMovement

# Each list's total order: its keys, then the row's id, so pages never skip or repeat a row.
ITEM_ORDER = paging.Ordering("items", (paging.asc(Item.sku, "str"), paging.asc(Item.id, "uuid")))
LOCATION_ORDER = paging.Ordering("locations", (paging.asc(Location.code, "str"), paging.asc(Location.id, "uuid")))
BALANCE_ORDER = paging.Ordering(
    "balances",
    (paging.asc(Item.sku, "str"), paging.asc(Location.code, "str"), paging.asc(StockBalance.id, "uuid")),
)
MOVEMENT_ORDER = paging.Ordering(
    "movements", (paging.desc(StockMovement.occurred_at, "datetime"), paging.desc(StockMovement.id, "int"))
)
OPEN_ORDER_ORDER = paging.Ordering(
    "open_orders",
    (paging.asc(Item.sku, "str"), paging.asc(Location.code, "str"), paging.asc(OpenOrder.id, "uuid")),
)


def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def _page(
    session: AsyncSession, statement: Any, ordering: paging.Ordering, page: paging.Page
) -> tuple[list[Any], int, str | None]:
    total = (await session.execute(select(func.count()).select_from(statement.order_by(None).subquery()))).scalar_one()
    found = await paging.fetch(session, statement, ordering, page)
    return found.rows, int(total), found.next_cursor


def _tenant(session: AsyncSession) -> uuid.UUID:
    tenant_id = tenant_context(session).tenant_id
    assert tenant_id is not None
    return tenant_id


async def items(
    session: AsyncSession,
    *,
    q: str | None,
    category: str | None,
    connector_id: uuid.UUID | None,
    limit: int,
    offset: int,
    cursor: str | None = None,
    cursor_key: paging.CursorKey | None = None,
) -> dict[str, Any]:
    statement = select(Item).where(Item.tenant_id == _tenant(session))
    if q:
        statement = statement.where(or_(Item.sku.ilike(_like(q)), Item.name.ilike(_like(q))))
    if category:
        statement = statement.where(Item.category == category)
    if connector_id:
        statement = statement.where(Item.connector_id == connector_id)
    rows, total, next_cursor = await _page(
        session, statement, ITEM_ORDER, paging.Page(limit=limit, offset=offset, cursor=cursor, key=cursor_key)
    )
    categories = (
        (
            await session.execute(
                select(Item.category)
                .where(Item.tenant_id == _tenant(session), Item.category.is_not(None))
                .distinct()
                .order_by(Item.category)
            )
        )
        .scalars()
        .all()
    )
    return {
        "total": total,
        "next_cursor": next_cursor,
        "categories": list(categories),
        "items": [
            {
                "id": str(i.id),
                "connector_id": str(i.connector_id),
                "external_id": i.external_id,
                "sku": i.sku,
                "name": i.name,
                "category": i.category,
                "unit_of_measure": i.unit_of_measure,
                "unit_cost": i.unit_cost,
                "lead_time_days": i.lead_time_days,
                "min_order_qty": i.min_order_qty,
                "order_multiple": i.order_multiple,
                "updated_at": i.updated_at,
            }
            for (i,) in rows
        ],
    }


async def locations(
    session: AsyncSession,
    *,
    q: str | None,
    limit: int,
    offset: int,
    cursor: str | None = None,
    cursor_key: paging.CursorKey | None = None,
) -> dict[str, Any]:
    statement = select(Location).where(Location.tenant_id == _tenant(session))
    if q:
        statement = statement.where(or_(Location.code.ilike(_like(q)), Location.name.ilike(_like(q))))
    rows, total, next_cursor = await _page(
        session, statement, LOCATION_ORDER, paging.Page(limit=limit, offset=offset, cursor=cursor, key=cursor_key)
    )
    return {
        "total": total,
        "next_cursor": next_cursor,
        "items": [
            {
                "id": str(loc.id),
                "connector_id": str(loc.connector_id),
                "external_id": loc.external_id,
                "code": loc.code,
                "name": loc.name,
                "type": loc.type,
                "address": loc.address,
            }
            for (loc,) in rows
        ],
    }


async def balances(
    session: AsyncSession,
    *,
    q: str | None,
    item_id: uuid.UUID | None,
    location_id: uuid.UUID | None,
    limit: int,
    offset: int,
    cursor: str | None = None,
    cursor_key: paging.CursorKey | None = None,
) -> dict[str, Any]:
    statement = (
        select(StockBalance, Item.sku, Item.name, Location.code, Location.name)
        .join(Item, Item.id == StockBalance.item_id)
        .join(Location, Location.id == StockBalance.location_id)
        .where(StockBalance.tenant_id == _tenant(session))
    )
    if q:
        statement = statement.where(
            or_(Item.sku.ilike(_like(q)), Item.name.ilike(_like(q)), Location.code.ilike(_like(q)))
        )
    if item_id:
        statement = statement.where(StockBalance.item_id == item_id)
    if location_id:
        statement = statement.where(StockBalance.location_id == location_id)
    rows, total, next_cursor = await _page(
        session, statement, BALANCE_ORDER, paging.Page(limit=limit, offset=offset, cursor=cursor, key=cursor_key)
    )
    return {
        "total": total,
        "next_cursor": next_cursor,
        "items": [
            {
                "id": str(b.id),
                "item_id": str(b.item_id),
                "sku": sku,
                "item_name": item_name,
                "location_id": str(b.location_id),
                "location_code": code,
                "location_name": location_name,
                "quantity": b.quantity,
                "reserved_qty": b.reserved_qty,
                "available_qty": b.available_qty,
                "as_of": b.as_of,
            }
            for b, sku, item_name, code, location_name in rows
        ],
    }


async def movements(
    session: AsyncSession,
    *,
    item_id: uuid.UUID | None,
    location_id: uuid.UUID | None,
    kind: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
    cursor: str | None = None,
    cursor_key: paging.CursorKey | None = None,
) -> dict[str, Any]:
    statement = (
        select(StockMovement, Item.sku, Location.code)
        .join(Item, Item.id == StockMovement.item_id)
        .join(Location, Location.id == StockMovement.location_id)
        .where(StockMovement.tenant_id == _tenant(session))
    )
    if item_id:
        statement = statement.where(StockMovement.item_id == item_id)
    if location_id:
        statement = statement.where(StockMovement.location_id == location_id)
    if kind:
        statement = statement.where(StockMovement.kind == kind)
    if since:
        statement = statement.where(StockMovement.occurred_at >= since)
    if until:
        statement = statement.where(StockMovement.occurred_at < until)
    rows, total, next_cursor = await _page(
        session, statement, MOVEMENT_ORDER, paging.Page(limit=limit, offset=offset, cursor=cursor, key=cursor_key)
    )
    return {
        "total": total,
        "next_cursor": next_cursor,
        "items": [
            {
                "id": m.id,
                "item_id": str(m.item_id),
                "sku": sku,
                "location_id": str(m.location_id),
                "location_code": code,
                "occurred_at": m.occurred_at,
                "quantity": m.quantity,
                "kind": m.kind,
                "reference": m.reference,
                "external_id": m.external_id,
            }
            for m, sku, code in rows
        ],
    }


async def open_orders(
    session: AsyncSession,
    *,
    q: str | None,
    item_id: uuid.UUID | None,
    location_id: uuid.UUID | None,
    kind: str | None,
    limit: int,
    offset: int,
    cursor: str | None = None,
    cursor_key: paging.CursorKey | None = None,
) -> dict[str, Any]:
    """Open order lines (purchase orders and transfers in transit) by SKU and receiving location."""
    statement = (
        select(OpenOrder, Item.sku, Item.name, Location.code, Location.name)
        .join(Item, Item.id == OpenOrder.item_id)
        .join(Location, Location.id == OpenOrder.location_id)
        .where(OpenOrder.tenant_id == _tenant(session))
    )
    if q:
        statement = statement.where(
            or_(
                Item.sku.ilike(_like(q)),
                Item.name.ilike(_like(q)),
                Location.code.ilike(_like(q)),
                OpenOrder.reference.ilike(_like(q)),
            )
        )
    if item_id:
        statement = statement.where(OpenOrder.item_id == item_id)
    if location_id:
        statement = statement.where(OpenOrder.location_id == location_id)
    if kind:
        statement = statement.where(OpenOrder.kind == kind)
    rows, total, next_cursor = await _page(
        session, statement, OPEN_ORDER_ORDER, paging.Page(limit=limit, offset=offset, cursor=cursor, key=cursor_key)
    )
    return {
        "total": total,
        "next_cursor": next_cursor,
        "items": [
            {
                "id": str(o.id),
                "connector_id": str(o.connector_id),
                "external_id": o.external_id,
                "item_id": str(o.item_id),
                "sku": sku,
                "item_name": item_name,
                "location_id": str(o.location_id),
                "location_code": code,
                "location_name": location_name,
                "open_qty": o.open_qty,
                "expected_at": o.expected_at,
                "kind": o.kind,
                "reference": o.reference,
            }
            for o, sku, item_name, code, location_name in rows
        ],
    }
