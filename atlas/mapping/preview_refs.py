"""What a previewed balance or movement points at: the item and location a sync would resolve its references to.

The sync's writer resolves a reference by the source's own id of an item or location, else by its SKU or code
(`atlas.mapping.writer.by_reference`; `References` loads the whole connector once per sync). A preview asks the same
question of only the references on its sample page, so a person who mapped ``item_ref`` to a stock row's id sees
unknown or wrong items before the first sync, without loading every item of a large connector on each edit.
Nothing is written: a record with no location shows none (a sync puts it in the connector's "no location" bucket).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.mapping.models import Item, Location
from atlas.mapping.writer import by_reference
from atlas.platform.tenancy import TenantRepository


class _Items(TenantRepository[Item]):
    model = Item


class _Locations(TenantRepository[Location]):
    model = Location


async def resolve_items(
    session: AsyncSession, connector_id: uuid.UUID, refs: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """``{ref: {"id", "sku", "name"}}`` for each reference that names one of the connector's items."""
    wanted = sorted(set(refs))
    if not wanted:
        return {}
    rows = await _Items(session).list(
        Item.connector_id == connector_id,
        or_(Item.external_id.in_(wanted), Item.sku.in_(wanted)),
        order_by=[Item.created_at, Item.id],
    )
    return _by_reference(
        wanted, [(row.external_id, row.sku, {"id": str(row.id), "sku": row.sku, "name": row.name}) for row in rows]
    )


async def resolve_locations(
    session: AsyncSession, connector_id: uuid.UUID, refs: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """``{ref: {"id", "code", "name"}}`` for each reference that names one of the connector's locations."""
    wanted = sorted(set(refs))
    if not wanted:
        return {}
    rows = await _Locations(session).list(
        Location.connector_id == connector_id,
        or_(Location.external_id.in_(wanted), Location.code.in_(wanted)),
        order_by=[Location.created_at, Location.id],
    )
    return _by_reference(
        wanted, [(row.external_id, row.code, {"id": str(row.id), "code": row.code, "name": row.name}) for row in rows]
    )


def _by_reference(wanted: list[str], rows: list[tuple[str, str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    found = by_reference(rows)  # the writer's rule, so the preview shows what a sync would resolve
    return {ref: found[ref] for ref in wanted if ref in found}
