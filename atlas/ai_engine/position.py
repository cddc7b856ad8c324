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

When each part arrives (the arrival schedule, `arrivals`): an open line on its expected date; a line without one no
sooner than a reorder placed today (the source gives no date, and first seen is no order date: ERPNext's Bin sums
many orders in one row); Atlas's own order at its approval plus the lead time. A date already past (the line is
late) is taken as tomorrow.

The lead time learnt from receipts (`lead_times`, `lead_time_observations`): each of Atlas's approved reorders of
the last year is matched to the first receipt of its item at its location after its approval (in order: the k-th
receipt to the k-th approval still waiting; one receipt per day; within `lead_times.CAP` declared lead times).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import numpy as np

from atlas.ai_engine import lead_times
from atlas.ai_engine.analysis import SeriesInputs

# Statuses of a recommendation people approved and that is not yet known to the source.
APPROVED = ("approved", "ready_for_execution", "blocked_by_lock")
DEFAULT_LEAD_DAYS = 7
LEARN_DAYS = 365  # approvals this recent teach the lead time

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
    approved_at: datetime | None = None
    lead_days: float = DEFAULT_LEAD_DAYS  # the item's declared lead time


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
    # The arrival schedule of what is on order (one entry per line or own order): series, day (0 = today; inf: no
    # sooner than a reorder placed today), quantity.
    arrival_series: np.ndarray[Any, Any] | None = None
    arrival_day: np.ndarray[Any, Any] | None = None
    arrival_qty: np.ndarray[Any, Any] | None = None


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
                approved_at=row["approved_at"],
                lead_days=float(lead),
            )
        )
    return found


def arrival_day(due: datetime | None, today: date, zone: tzinfo) -> float:
    """The day an order expected at ``due`` arrives, counted from ``today`` (0: today, before its demand); inf when
    not known (no sooner than a reorder placed today); a date already past (late): tomorrow."""
    if due is None:
        return math.inf
    days = (due.astimezone(zone).date() - today).days
    return float(days) if days >= 0 else 1.0


async def load_position(
    raw: Any,
    tenant_id: uuid.UUID | None,
    keys: list[tuple[uuid.UUID, uuid.UUID]],
    *,
    now: datetime,
    grace_days: int,
    today: date | None = None,
    zone: tzinfo = UTC,
    lead_days: np.ndarray[Any, Any] | None = None,
) -> Position:
    """The position inputs of the series ``keys`` (item, location), in their order. ``today`` (in ``zone``): the first
    forecast day, from which arrival days count (default: ``now``'s date); ``lead_days``: each series' lead time
    (learnt or declared; default the item's declared), for when Atlas's own orders are expected."""
    today = today or now.astimezone(zone).date()
    index = {key: position for position, key in enumerate(keys)}
    count = len(keys)
    on_order, own, committed = np.zeros(count), np.zeros(count), np.zeros(count)
    arrivals: list[tuple[int, float, float]] = []
    for row in await raw.fetch(
        "SELECT item_id, location_id, open_qty, expected_at FROM open_orders WHERE tenant_id = $1 AND open_qty > 0",
        tenant_id,
    ):
        at = index.get((row["item_id"], row["location_id"]))
        if at is not None:
            quantity = float(row["open_qty"])
            on_order[at] += quantity
            arrivals.append((at, arrival_day(row["expected_at"], today, zone), quantity))
    orders = await own_orders(raw, tenant_id, now=now, grace_days=grace_days)
    for order in orders:
        at = index.get((order.item_id, order.location_id))
        if at is not None:
            own[at] += order.quantity
            lead = order.lead_days
            if lead_days is not None and math.isfinite(lead_days[at]) and lead_days[at] > 0:
                lead = float(lead_days[at])
            due = None if order.approved_at is None else order.approved_at + timedelta(days=lead)
            arrivals.append((at, arrival_day(due, today, zone), order.quantity))
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
    return Position(
        on_order + own,
        own,
        committed,
        moq,
        multiple,
        frozenset(order.key for order in orders),
        arrival_series=np.array([a[0] for a in arrivals], dtype=np.int64),
        arrival_day=np.array([a[1] for a in arrivals], dtype=np.float64),
        arrival_qty=np.array([a[2] for a in arrivals], dtype=np.float64),
    )


# Atlas's approved reorders of the last year, and the receipts of their items at their locations since the first.
_APPROVALS = f"""
SELECT item_id, location_id, coalesce(resolved_at, updated_at) AS approved_at FROM recommendations
WHERE tenant_id = $1 AND type = 'reorder' AND status IN {APPROVED} AND item_id IS NOT NULL
  AND location_id IS NOT NULL AND coalesce(resolved_at, updated_at) >= $2
"""
_RECEIPTS = f"""
SELECT m.item_id, m.location_id, m.occurred_at FROM stock_movements m
JOIN (SELECT item_id, location_id, min(approved_at) AS since FROM ({_APPROVALS}) a GROUP BY 1, 2) a
  ON a.item_id = m.item_id AND a.location_id = m.location_id
WHERE m.tenant_id = $1 AND m.kind = 'receipt' AND m.occurred_at >= a.since
"""


async def lead_time_observations(
    raw: Any,
    tenant_id: uuid.UUID | None,
    keys: list[tuple[uuid.UUID, uuid.UUID]],
    declared: np.ndarray[Any, Any],
    *,
    now: datetime,
    zone: tzinfo = UTC,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Observed lead times (series, days from approval to receipt, in whole local days) of Atlas's approved reorders:
    per item and location, approvals and receipts in time order, each approval matched to the first receipt after it
    not matched to an earlier approval (several receipt movements on one day count as one delivery), within
    `lead_times.CAP` times the series' ``declared`` lead time (NaN: the default); later, no observation (the order
    may never have been placed)."""
    index = {key: position for position, key in enumerate(keys)}
    since = now - timedelta(days=LEARN_DAYS)
    approvals: dict[int, list[datetime]] = {}
    for row in await raw.fetch(_APPROVALS, tenant_id, since):
        at = index.get((row["item_id"], row["location_id"]))
        if at is not None:
            approvals.setdefault(at, []).append(row["approved_at"])
    receipts: dict[int, dict[date, datetime]] = {}  # per series, each local day's first receipt
    if approvals:
        for row in await raw.fetch(_RECEIPTS, tenant_id, since):
            at = index.get((row["item_id"], row["location_id"]))
            if at is not None and at in approvals:
                day = row["occurred_at"].astimezone(zone).date()
                first = receipts.setdefault(at, {})
                first[day] = min(first.get(day, row["occurred_at"]), row["occurred_at"])
    series: list[int] = []
    observed: list[float] = []
    for at, approved in approvals.items():
        lead = float(declared[at]) if math.isfinite(declared[at]) and declared[at] > 0 else DEFAULT_LEAD_DAYS
        deliveries = sorted(receipts.get(at, {}).values())
        used = 0
        for approved_at in sorted(approved):
            while used < len(deliveries) and deliveries[used] < approved_at:
                used += 1
            if used >= len(deliveries):
                break
            waited = (deliveries[used].astimezone(zone).date() - approved_at.astimezone(zone).date()).days
            if waited <= lead_times.CAP * lead:
                series.append(at)
                observed.append(float(waited))
                used += 1
    return np.array(series, dtype=np.int64), np.array(observed, dtype=np.float64)


def apply(inputs: SeriesInputs, position: Position) -> None:
    """Put the position into the analysis inputs: on order, its arrival schedule, pack sizes, and the source
    locations' available stock less what Atlas's approved transfers take from them."""
    inputs.on_order = position.on_order
    inputs.min_order_qty = position.min_order_qty
    inputs.order_multiple = position.order_multiple
    inputs.arrival_series = position.arrival_series
    inputs.arrival_day = position.arrival_day
    inputs.arrival_qty = position.arrival_qty
    taken = position.committed > 0
    inputs.available = np.where(
        taken & np.isfinite(inputs.available), inputs.available - position.committed, inputs.available
    )


def apply_lead_times(inputs: SeriesInputs, learnt: lead_times.LeadTimes) -> None:
    """Put the learnt lead times into the analysis inputs: where a series has observations, its lead time is their
    mean (with the declared as prior) and its spread; elsewhere the declared lead time stays (NaN: the default)."""
    known = learnt.observations > 0
    inputs.lead_time_days = np.where(known, learnt.mean, inputs.lead_time_days)
    inputs.lead_time_sd = np.where(known, learnt.sd, 0.0)
    inputs.lead_time_observations = learnt.observations
