"""Open purchase-order lines from a faithful InvenTree simulation (issue 17): connected through the InvenTree preset,
Atlas holds exactly the lines the simulation knows are open (order pending, placed or on hold; less received than
ordered), each at its destination (the line's, else its order's), with what is still to arrive; a line received in
full or an order cancelled leaves Atlas at the next sync. The truth comes from the simulation's own state."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.mapping.test_inventree_sync import UNASSIGNED, Tenant, connect, sync
from tests.sims.inventree import InvenTreeApi, inventree_server
from tests.sims.inventree_model import PO_CANCELLED, PO_COMPLETE, PO_OPEN


@pytest.fixture(scope="module")
def sim() -> Any:
    with inventree_server(seed=21, parts=120) as api:
        yield api


def atlas_open(stack: Any, tenant: Tenant) -> dict[int, tuple[int, int | None, Decimal, str | None, str]]:
    rows = stack.atlas.sql(
        """SELECT o.external_id, i.external_id, l.external_id, o.open_qty,
                  to_char(o.expected_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), o.reference, o.kind
           FROM open_orders o JOIN items i ON i.id = o.item_id JOIN locations l ON l.id = o.location_id
           WHERE o.tenant_id = %s AND o.connector_id = %s""",
        (tenant.tenant_id, tenant.connector_id),
    )
    assert {row[6] for row in rows} <= {"purchase"}
    return {
        int(pk): (int(part), None if loc == UNASSIGNED else int(loc), Decimal(qty).normalize(), day, ref)
        for pk, part, loc, qty, day, ref, _ in rows
    }


def truth(sim: InvenTreeApi) -> dict[int, tuple[int, int | None, Decimal, str | None, str]]:
    return {
        pk: (part, location, qty.normalize(), None if target is None else target.isoformat(), reference)
        for pk, (part, location, qty, target, reference) in sim.data.truth_open_orders().items()
    }


def test_atlas_holds_exactly_the_open_lines(stack, sim):
    data = sim.data
    statuses = {order.status for order in data.purchase_orders.values()}
    assert set(PO_OPEN) <= statuses and {PO_COMPLETE, PO_CANCELLED} <= statuses
    lines = data.po_lines.values()
    assert any(0 < line.received < line.quantity for line in lines)  # partly received
    assert any(line.destination is None for line in lines) and any(line.destination is not None for line in lines)
    expected = truth(sim)
    assert expected and any(location is None for _, location, _, _, _ in expected.values())

    tenant = connect(stack, sim)
    run = sync(tenant)
    assert run["status"] in ("succeeded", "needs_attention"), run
    assert run["stats"]["open_orders"]["quarantined"] == 0
    assert atlas_open(stack, tenant) == expected
    # The connector asked InvenTree for the open lines only, with their orders.
    asked = sim.requests("/api/order/po-line/")
    assert asked
    assert all(s.query.get("received") == ["false"] and s.query.get("order_detail") == ["true"] for s in asked)

    # Lines arrive in full, an order is cancelled, another is placed: the next full read replaces the open set.
    data = sim.data
    with data.lock:
        open_lines = [pk for pk in expected]
        data.receive_line(open_lines[0], data.po_lines[open_lines[0]].quantity - data.po_lines[open_lines[0]].received)
        data.receive_line(open_lines[1], Decimal(1))
        cancelled = data.po_lines[open_lines[2]].order
        data.purchase_orders[cancelled].status = PO_CANCELLED
        order = data.add_purchase_order(destination=next(iter(data.locations)))
        data.add_po_line(order.pk, next(iter(data.supplier_parts)), 7)
    after = truth(sim)
    assert after != expected
    again = sync(tenant)
    assert again["status"] in ("succeeded", "needs_attention"), again
    assert atlas_open(stack, tenant) == after
