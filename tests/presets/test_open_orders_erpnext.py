"""What a simulated ERPNext site has on order (issue 17), read through the ERPNext preset line by line: each open
Purchase Order line with what it still brings in the stock unit ((qty − received) × conversion factor), its
expected date and its order. Atlas must hold exactly the lines ERPNext counts, each with its quantity and date, and
per item and warehouse exactly the site's own Bin.ordered_qty; again after receipts (in the purchase unit), a closed
order, an order resumed from hold, a new supplier date and a new order: the full read replaces the open set. The
truth comes from the simulation's purchase orders and bins, never from what Atlas read.

The site's mess is all there: lines bought in boxes of 12 and of 6, dates without a zone, an order on hold (still on
order), one billed before it was received (To Receive), a draft, a cancelled and a drop-ship order delivered by the
supplier (nothing on order), a drop-ship line and a line without a warehouse in an open order (left out, as ERPNext
leaves them out), a line received in full and one received beyond its quantity in orders still open (read, kept as
nothing on order)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.presets.test_erpnext import Tenant, connect, sync
from tests.sims.frappe import FrappeApi, frappe_server
from tests.sims.frappe_model import StockData
from tests.sims.frappe_purchasing import PurchaseOrderItem

ZONE = ZoneInfo("Asia/Riyadh")  # the site's system time zone and the preset's default
Pair = tuple[str, str]


@pytest.fixture(scope="module")
def site() -> Iterator[FrappeApi]:
    with frappe_server(seed=23, items=30) as api:
        yield api


@dataclass(frozen=True)
class Held:
    item: str
    warehouse: str
    open_qty: Decimal
    expected: datetime | None
    reference: str


def atlas_lines(stack: Any, tenant: Tenant) -> dict[str, Held]:
    rows = stack.atlas.sql(
        """SELECT o.external_id, i.external_id, l.external_id, o.open_qty, o.expected_at, o.reference, o.kind
           FROM open_orders o JOIN items i ON i.id = o.item_id JOIN locations l ON l.id = o.location_id
           WHERE o.tenant_id = %s AND o.connector_id = %s""",
        (tenant.tenant_id, tenant.connector_id),
    )
    assert all(row[6] == "purchase" for row in rows)
    return {row[0]: Held(row[1], row[2], Decimal(row[3]).normalize(), row[4], row[5]) for row in rows}


def truth_lines(data: StockData) -> dict[str, Held]:
    """The lines ERPNext counts, with the date a person would read on the line (midnight in the site's zone)."""
    return {
        name: Held(
            line.item_code,
            line.warehouse,
            line.open_qty.normalize(),
            datetime.combine(line.expected, time(0), ZONE),
            line.order,
        )
        for name, line in data.truth_open_lines().items()
    }


def site_bins(data: StockData) -> dict[Pair, Decimal]:
    """The site's own sum: each Bin's ordered_qty, as ERPNext keeps it."""
    with data.lock:
        return {pair: b.ordered_qty.normalize() for pair, b in data.bins.items() if b.ordered_qty}


def assert_atlas_holds_the_open_lines(stack: Any, tenant: Tenant, data: StockData) -> dict[str, Held]:
    held = atlas_lines(stack, tenant)
    truth = truth_lines(data)
    counted = {name: line for name, line in held.items() if line.open_qty > 0}
    assert counted == truth  # each line: item, warehouse, open quantity in the stock unit, expected date, order
    # The other lines read are those of open orders received in full or beyond: kept, nothing on order.
    with data.lock:
        lines = {line.name: (order, line) for order in data.purchase_orders.values() for line in order.items}
    for name in set(held) - set(counted):
        order, line = lines[name]
        assert order.counts and line.qty <= line.received_qty and held[name].open_qty <= 0, name
    per_pair: dict[Pair, Decimal] = {}
    for line in counted.values():
        pair = (line.item, line.warehouse)
        per_pair[pair] = per_pair.get(pair, Decimal(0)) + line.open_qty
    assert per_pair == site_bins(data) == {p: q.normalize() for p, q in data.truth_ordered().items()}
    return held


def test_atlas_holds_each_open_purchase_order_line_as_erpnext_counts_it(stack, site):
    data = site.data
    items = sorted(data.truth_items())
    wh = sorted(data.truth_warehouses())
    today = data.clock().date()

    def line(item: int, warehouse: str | None, qty: int, days: int = 10, **more: Any) -> PurchaseOrderItem:
        return PurchaseOrderItem(items[item], warehouse, Decimal(qty), today + timedelta(days=days), **more)

    boxes = {"uom": "Box", "conversion_factor": Decimal(12)}
    with data.lock:
        mixed = data.purchase_order(
            [
                line(0, wh[0], 10, **boxes),  # 120 in the stock unit
                line(1, wh[1], 5, 14, expected_delivery_date=today + timedelta(days=9)),  # the supplier's date wins
                line(2, None, 4),  # no warehouse: on order nowhere
                line(3, wh[0], 6, delivered_by_supplier=1),  # drop-ship: straight to the customer
            ]
        )
        data.purchase_order([line(0, wh[0], 8, 3)])  # adds up with the boxes above
        partial = data.purchase_order([line(1, wh[1], 25, 20)])
        data.receive_purchase(partial.name, 1, 10)
        received = data.purchase_order([line(2, wh[0], 12)])
        data.receive_purchase(received.name, 1, 12)  # in full: per_received 100, not read at all
        closing = data.purchase_order([line(3, wh[1], 30)])
        held = data.purchase_order([line(4, wh[0], 7)])
        data.set_purchase_order_status(held.name, "On Hold")  # still on order
        data.purchase_order([line(5, wh[0], 9)], submit=False)  # a draft orders nothing
        six = {"uom": "Pack", "conversion_factor": Decimal(6)}
        half = data.purchase_order([line(5, wh[1], 4), line(6, wh[1], 6, 30, **six)])
        data.receive_purchase(half.name, 1, 4)  # one line in full, the other open: the order is read
        over = data.purchase_order([line(6, wh[0], 3), line(7, wh[0], 10)])
        data.receive_purchase(over.name, 1, 5)  # over-received (within the allowance): -2, nothing on order
        billed = data.purchase_order([line(8, wh[0], 11)])
        data.set_purchase_order_status(billed.name, "Billed")  # To Receive: still on order
        delivered = data.purchase_order([line(9, wh[0], 2, delivered_by_supplier=1)])
        data.set_purchase_order_status(delivered.name, "Delivered")
        cancelled = data.purchase_order([line(9, wh[1], 5)])
        data.set_purchase_order_status(cancelled.name, "Cancelled")
    statuses = {o.status for o in data.purchase_orders.values()}
    assert statuses >= {"Draft", "On Hold", "To Receive and Bill", "To Bill", "To Receive", "Delivered", "Cancelled"}
    assert truth_lines(data)[mixed.items[0].name].open_qty == 120
    assert site_bins(data)[(items[0], wh[0])] == 128

    tenant = connect(stack, site)
    run = sync(tenant)
    assert run["status"] in ("succeeded", "needs_attention"), run
    assert run["stats"]["open_orders"]["quarantined"] == 0, run["stats"]
    first = assert_atlas_holds_the_open_lines(stack, tenant, data)
    assert first[mixed.items[1].name].expected == datetime.combine(today + timedelta(days=9), time(0), ZONE)
    assert first[half.items[0].name].open_qty == 0 and first[over.items[0].name].open_qty == -2
    assert received.items[0].name not in first and mixed.items[2].name not in first

    with data.lock:
        data.receive_purchase(partial.name, 1, 15)  # the rest arrives
        data.receive_purchase(mixed.name, 1, 2)  # two boxes: 24 fewer in the stock unit
        data.set_purchase_order_status(closing.name, "Closed")  # closed with nothing received
        data.set_purchase_order_status(held.name, "")  # resumed, then partly received
        data.receive_purchase(held.name, 1, 3)
        data.set_expected_delivery_date(half.name, 2, today + timedelta(days=21))
        new = data.purchase_order([line(10, wh[1], 2, 5, **boxes)])
    assert truth_lines(data)[mixed.items[0].name].open_qty == 96
    again = sync(tenant)
    assert again["status"] in ("succeeded", "needs_attention"), again
    after = assert_atlas_holds_the_open_lines(stack, tenant, data)
    assert partial.items[0].name not in after and closing.items[0].name not in after  # left the open set
    assert after[new.items[0].name].open_qty == 24 and after[held.items[0].name].open_qty == 4
    assert after[half.items[1].name].expected == datetime.combine(today + timedelta(days=21), time(0), ZONE)
