"""Inventory position's other parts, loaded for the analysis: what is on order and how an item can be ordered.

On order at a location is the open quantity of the source's open order lines to it (purchase orders not yet
received, transfers in transit: `atlas.mapping.models.OpenOrder`) plus Atlas's own approved reorders and transfers
that the source does not show yet. An approved recommendation (``approved``, ``ready_for_execution``, or
``blocked_by_lock`` with its draft for people to apply) counts from its approval until the source shows it, or
until the item's lead time plus a grace period has passed (whichever comes first):

- a reorder is shown by an open order line for its item and location first seen after the approval, or a receipt
  there after the approval;
- a transfer is on order at its destination until an open order line or a receipt / transfer-in there after the
  approval shows it; until the source shows it leaving (a transfer-out at the source location after the approval,
  or the destination showing it), the quantity is also taken from the source location's available stock, so the
  same units are not offered twice.

Such a recommendation is also "in its window": the next analysis proposes no new one for the same item, location
and type (`committed_keys`), so an approved reorder is not proposed again every night until the goods arrive.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from atlas.ai_engine.analysis import SeriesInputs

# Statuses of a recommendation people approved and that is not yet known to the source.
APPROVED = ("approved", "ready_for_execution", "blocked_by_lock")
DEFAULT_LEAD_DAYS = 7

# Atlas's own approved reorders and transfers, with what would show each one at the source after its approval.
_OWN_ORDERS = f"""
SELECT r.key, r.type, r.item_id, r.location_id, r.from_location_id, r.quantity,
       coalesce(r.resolved_at, r.updated_at) AS approved_at, i.lead_time_days,
       EXISTS (SELECT 1 FROM open_orders o
               WHERE o.tenant_id = r.tenant_id AND o.item_id = r.item_id AND o.location_id = r.location_id
                 AND o.created_at >= coalesce(r.resolved_at, r.updated_at)) AS ordered_at_source,
       EXISTS (SELECT 1 FROM stock_movements m
               WHERE m.tenant_id = r.tenant_id AND m.item_id = r.item_id AND m.location_id = r.location_id
                 AND m.kind IN ('receipt', 'transfer_in') AND m.occurred_at >= coalesce(r.resolved_at, r.updated_at))
           AS received_at_source,
       r.from_location_id IS NOT NULL AND EXISTS (
           SELECT 1 FROM stock_movements m
           WHERE m.tenant_id = r.tenant_id AND m.item_id = r.item_id AND m.location_id = r.from_location_id
             AND m.kind = 'transfer_out' AND m.occurred_at >= coalesce(r.resolved_at, r.updated_at)
       ) AS shipped_at_source
FROM recommendations r LEFT JOIN items i ON i.id = r.item_id
WHERE r.tenant_id = $1 AND r.type IN ('reorder', 'transfer') AND r.status IN {APPROVED}
"""


@dataclass(frozen=True, slots=True)
class OwnOrder:
    """One of Atlas's approved reorders or transfers, still waiting for the source to show it."""

    key: str
    type: str
    item_id: uuid.UUID
    location_id: uuid.UUID
    from_location_id: uuid.UUID | None
    quantity: float
    shipped: bool  # a transfer the source shows leaving its source location


@dataclass
class Position:
    """Per series: ``on_order`` (source open lines + Atlas's own), ``own_on_order`` (Atlas's part of it),
    ``committed`` (units of Atlas's approved transfers not yet shipped, to be taken from the source location's
    available), ``min_order_qty`` and ``order_multiple`` (NaN where unknown); and the keys of the approved
    recommendations still in their window."""

    on_order: np.ndarray[Any, Any]
    own_on_order: np.ndarray[Any, Any]
    committed: np.ndarray[Any, Any]
    min_order_qty: np.ndarray[Any, Any]
    order_multiple: np.ndarray[Any, Any]
    committed_keys: frozenset[str]


async def own_orders(raw: Any, tenant_id: uuid.UUID | None, *, now: datetime, grace_days: int) -> list[OwnOrder]:
    """Atlas's approved reorders and transfers that the source does not show yet and whose lead time plus
    ``grace_days`` has not passed."""
    found = []
    for row in await raw.fetch(_OWN_ORDERS, tenant_id):
        lead = row["lead_time_days"] if row["lead_time_days"] is not None else DEFAULT_LEAD_DAYS
        if now > row["approved_at"] + timedelta(days=max(int(lead), 0) + grace_days):
            continue  # long enough: the goods came or the order was never placed; the source's data decides now
        if row["ordered_at_source"] or row["received_at_source"]:
            continue  # the source shows it: its open line or its receipt counts instead
        found.append(
            OwnOrder(
                key=row["key"],
                type=row["type"],
                item_id=row["item_id"],
                location_id=row["location_id"],
                from_location_id=row["from_location_id"],
                quantity=float(row["quantity"]),
                shipped=bool(row["shipped_at_source"]),
            )
        )
    return found


async def load_position(
    raw: Any,
    tenant_id: uuid.UUID | None,
    keys: list[tuple[uuid.UUID, uuid.UUID]],
    *,
    now: datetime,
    grace_days: int,
) -> Position:
    """The position inputs of the series ``keys`` (item, location), in their order."""
    index = {key: position for position, key in enumerate(keys)}
    count = len(keys)
    on_order, own, committed = np.zeros(count), np.zeros(count), np.zeros(count)
    for row in await raw.fetch(
        "SELECT item_id, location_id, sum(open_qty) AS open_qty FROM open_orders "
        "WHERE tenant_id = $1 AND open_qty > 0 GROUP BY 1, 2",
        tenant_id,
    ):
        at = index.get((row["item_id"], row["location_id"]))
        if at is not None:
            on_order[at] += float(row["open_qty"])
    orders = await own_orders(raw, tenant_id, now=now, grace_days=grace_days)
    for order in orders:
        at = index.get((order.item_id, order.location_id))
        if at is not None:
            own[at] += order.quantity
        if order.from_location_id is not None and not order.shipped:
            source = index.get((order.item_id, order.from_location_id))
            if source is not None:
                committed[source] += order.quantity
    moq, multiple = np.full(count, np.nan), np.full(count, np.nan)
    terms = {
        row["id"]: row
        for row in await raw.fetch(
            "SELECT id, min_order_qty, order_multiple FROM items WHERE tenant_id = $1 "
            "AND (min_order_qty IS NOT NULL OR order_multiple IS NOT NULL)",
            tenant_id,
        )
    }
    for position, (item_id, _location_id) in enumerate(keys):
        item = terms.get(item_id)
        if item is None:
            continue
        if item["min_order_qty"] is not None:
            moq[position] = float(item["min_order_qty"])
        if item["order_multiple"] is not None and item["order_multiple"] > 0:
            multiple[position] = float(item["order_multiple"])
    return Position(on_order + own, own, committed, moq, multiple, frozenset(order.key for order in orders))


def apply(inputs: SeriesInputs, position: Position) -> None:
    """Put the position into the analysis inputs: on order, pack sizes, and the source locations' available stock
    less what Atlas's approved transfers take from them."""
    inputs.on_order = position.on_order
    inputs.min_order_qty = position.min_order_qty
    inputs.order_multiple = position.order_multiple
    taken = position.committed > 0
    inputs.available = np.where(
        taken & np.isfinite(inputs.available), inputs.available - position.committed, inputs.available
    )
