"""Open purchase-order lines from a faithful Zoho Inventory simulation (issue 17), read through the Zoho Inventory
preset: the issued and the partially received orders are listed (one status per list, as Zoho filters), each is
read for its lines, and Atlas holds exactly what the organization's own orders leave to arrive, per line: item,
receiving location (the line's, else the order's), quantity ordered − received, expected date and order number.
An order closed after a partial receipt is listed as partially received but no longer counts. After lines arrive,
an order is closed and another issued, the next full read replaces the open set. The truth comes from the
simulation's own orders (``ZohoData.truth_open_orders``), never from what Atlas read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from tests.presets import journey
from tests.presets.test_zoho import inputs
from tests.sims import zoho
from tests.sims.zoho_model import ZohoData

Line = tuple[str, str, Decimal, str | None, str]  # item, location, still to arrive, expected day, order number


@pytest.fixture(scope="module")
def sim() -> Iterator[zoho.ZohoServers]:
    with zoho.zoho_servers(ZohoData(seed=17, items=40, adjustments=0, purchases=12)) as server:
        yield server


def truth(data: ZohoData) -> dict[str, Line]:
    return {
        line_id: (item, location, qty.normalize(), None if expected is None else expected.isoformat(), number)
        for line_id, (item, location, qty, expected, number) in data.truth_open_orders().items()
    }


def atlas_open(stack: Any, connected: journey.Connected) -> dict[str, Line]:
    """The lines Atlas counts as on order (a line read with nothing left to arrive counts as nothing)."""
    rows = stack.atlas.sql(
        """SELECT o.external_id, i.external_id, l.external_id, o.open_qty,
                  to_char(o.expected_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), o.reference, o.kind
           FROM open_orders o JOIN items i ON i.id = o.item_id JOIN locations l ON l.id = o.location_id
           WHERE o.tenant_id = %s AND o.connector_id = %s AND o.open_qty > 0""",
        (connected.tenant_id, connected.connector_id),
    )
    assert {row[6] for row in rows} <= {"purchase"}
    return {line: (item, loc, Decimal(qty).normalize(), day, ref) for line, item, loc, qty, day, ref, _ in rows}


def test_atlas_holds_exactly_the_lines_still_to_arrive(stack: Any, sim: zoho.ZohoServers) -> None:
    data = sim.data
    orders = list(data.purchase_orders.values())
    assert {o.order_status for o in orders} == {"draft", "open", "closed", "cancelled"}
    assert any(o.order_status == "closed" and o.received_status == "partially_received" for o in orders)
    assert any(o.order_status == "open" and o.received_status == "partially_received" for o in orders)
    lines = [line for o in orders if o.order_status == "open" for line in o.lines]
    assert any(line.location_id == "" for line in lines)  # a line without a location: the order's is meant
    assert any(o.expected is None and o.order_status == "open" for o in orders)  # no expected date entered
    expected = truth(data)
    assert expected and any(day is None for _, _, _, day, _ in expected.values())

    connected = journey.connect(stack, "zoho_inventory", sim.base, inputs(sim))
    checks = {c["endpoint"]: c["ok"] for c in connected.answer["checks"]}
    assert checks["po_lines_issued"] and checks["po_lines_partial"]
    before = len(sim.api_requests(f"{zoho.ROOT}/purchaseorders"))
    run = journey.sync(connected)
    assert run["status"] == "succeeded", (run["error"], run.get("attention"))
    assert run["stats"]["open_orders"]["quarantined"] == 0
    assert atlas_open(stack, connected) == expected
    # Zoho was asked for the open orders only, one status per list, and only those orders were read one by one.
    lists = sim.api_requests(f"{zoho.ROOT}/purchaseorders")[before:]
    assert sorted(r.query["filter_by"] for r in lists) == ["Status.Issued", "Status.PartiallyReceived"]
    wanted = (zoho.PO_FILTERS["Status.Issued"], zoho.PO_FILTERS["Status.PartiallyReceived"])
    listed = {o.purchaseorder_id for o in orders if any(keep(o) for keep in wanted)}
    detail = {r.path.rsplit("/", 1)[1] for r in sim.api_requests() if r.path.startswith(f"{zoho.ROOT}/purchaseorders/")}
    assert detail == listed and len(detail) < len(orders)

    # Goods arrive, an order is closed, another is issued: the next full read replaces the open set.
    with data.lock:
        issued = [o for o in orders if o.order_status == "open" and o.received_status == ""]
        partial = next(o for o in orders if o.order_status == "open" and o.received_status == "partially_received")
        arriving = issued[0]
        for line in arriving.lines:  # received in full: the order leaves both lists
            data.receive(arriving.purchaseorder_id, line.line_item_id, line.quantity)
        first = issued[1].lines[0]
        data.receive(issued[1].purchaseorder_id, first.line_item_id, Decimal(1))  # issued -> partially received
        data.set_order_status(partial.purchaseorder_id, "closed")  # the rest will not come
        item = next(i for i in data.items.values() if i.track_inventory)
        new = data.purchase_order(
            [(item.item_id, Decimal("12.5"), "")], next(iter(data.locations)), expected=date(2027, 1, 15)
        )
    after = truth(data)
    assert after != expected and new.lines[0].line_item_id in after
    again = journey.sync(connected)
    assert again["status"] == "succeeded", (again["error"], again.get("attention"))
    assert atlas_open(stack, connected) == after
