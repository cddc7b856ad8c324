"""Open purchase-order lines from a faithful Business Central simulation (issue 17), read through the preset: the
orders not received in full with their lines inside ($expand), the item lines taken out of them. Atlas must hold
exactly the item lines of stock items the company still waits for, whatever the order's status (BC's own "Qty. on
Purch. Order"), with quantity − receivedQuantity, the line's expected receipt date and the order's number, in the
"no location" bucket where Business Central's stock is; and after lines are received, an order is received in
full, another deleted, a line short-closed and an order placed, again. The truth comes from the simulated
company's own orders (`BcCompany.truth_on_order`), never from what Atlas read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.presets import journey
from tests.presets.engine_reads import filled, read_and_map
from tests.presets.test_business_central import UNASSIGNED, inputs
from tests.sims.business_central import BusinessCentral, business_central
from tests.sims.business_central_data import PurchaseLine, bc_company

Line = tuple[str, Decimal, str | None, str]  # item number, open quantity, expected date (ISO), order number


def truth(sim: BusinessCentral) -> dict[str, Line]:
    return {
        line_id: (number, qty.normalize(), None if day is None else day.isoformat(), order)
        for line_id, (number, qty, day, order) in sim.company.truth_on_order().items()
    }


def atlas_open(stack: Any, connected: journey.Connected) -> tuple[dict[str, Line], set[str], set[str]]:
    """The lines Atlas holds with something still to come; the ids of those it holds at zero; their locations."""
    rows = stack.atlas.sql(
        """SELECT o.external_id, i.sku, o.open_qty, to_char(o.expected_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
                  o.reference, o.kind, l.external_id
           FROM open_orders o JOIN items i ON i.id = o.item_id JOIN locations l ON l.id = o.location_id
           WHERE o.tenant_id = %s AND o.connector_id = %s""",
        (connected.tenant_id, connected.connector_id),
    )
    assert {row[5] for row in rows} <= {"purchase"}
    held = {
        line_id: (sku, Decimal(qty).normalize(), day, reference)
        for line_id, sku, qty, day, reference, _, _ in rows
        if qty > 0
    }
    return held, {row[0] for row in rows if row[2] <= 0}, {row[6] for row in rows}


def received_in_full(sim: BusinessCentral) -> set[str]:
    """Item lines with nothing outstanding in orders that still wait for something: read, and count nothing."""
    return {
        line.id
        for order in sim.company.orders.values()
        if not order.fully_received
        for line in order.lines
        if line.line_type == "Item" and line.outstanding == 0
    }


@pytest.fixture(scope="module")
def sim() -> Iterator[BusinessCentral]:
    company = bc_company(seed=17, count=40, entered=datetime.now(UTC) - timedelta(days=21), orders=10, postings=60)
    # A line of a non-inventory item (Atlas skips those items): BC counts it on order, Atlas cannot place it.
    when = company.clock.date() + timedelta(days=9)
    company.place_order("20000", [PurchaseLine(0, "Item", "NI-PAPER", Decimal(40), location="MAIN", expected=when)])
    # An item line whose expected receipt date was left blank: BC writes 0001-01-01; Atlas keeps it, with no date.
    company.place_order("20000", [PurchaseLine(0, "Item", sorted(company.truth_items())[2], Decimal(6), expected=None)])
    with business_central(company=company, page_size=6) as server:
        yield server


def test_the_mapping_reads_the_item_lines_of_orders_still_waiting(sim: BusinessCentral) -> None:
    company = sim.company
    orders = company.orders.values()
    assert {o.status for o in orders} >= {"Open", "Released", "Pending Approval"}  # Draft, Open, In Review
    lines = [line for o in orders for line in o.lines]
    assert {line.line_type for line in lines} >= {"Item", "Comment", "Account", "Charge"}
    assert any(o.fully_received for o in orders) and received_in_full(sim)
    assert any(line.location == "" for line in lines if line.line_type == "Item")
    rendered = filled("business_central", sim.base_url, inputs(sim))
    mapped = read_and_map(rendered, "po_lines")
    assert mapped.errors == [] and all(r["location_ref"] is None for r in mapped.rows)
    waiting = [o for o in orders if not o.fully_received]
    assert len(mapped.skipped) == sum(1 for o in waiting for li in o.lines if li.line_type != "Item")
    numbers = {item.id: number for number, item in company.items.items()}
    found = {
        r["external_id"]: (
            numbers[r["item_ref"]],
            r["open_qty"].normalize(),
            None if r["expected_at"] is None else r["expected_at"].date(),
            r["reference"],
        )
        for r in mapped.rows
        if r["open_qty"] > 0
    }
    on_order = {k: (n, q, d.isoformat() if d else None, o) for k, (n, q, d, o) in found.items()}
    non_inventory = {k for k, line in on_order.items() if line[0] == "NI-PAPER"}
    assert len(non_inventory) == 1  # mapped here; only Atlas's items can tell it is not stock
    assert {k: v for k, v in on_order.items() if k not in non_inventory} == truth(sim)
    reads = [r for r in sim.log.received if "purchaseOrder" in r.path]
    assert reads and all(r.path.endswith("/purchaseOrders") for r in reads)  # never the lines on their own
    assert all(r.query.get("$filter") == "fullyReceived eq false" for r in reads)
    assert all(r.query.get("$expand", "").startswith("purchaseOrderLines($select=") for r in reads)
    assert len(reads) >= 2  # several pages, each by its absolute next link


def test_atlas_holds_exactly_what_is_on_order_before_and_after_the_company_changes(
    stack: Any, sim: BusinessCentral
) -> None:
    company = sim.company
    expected = truth(sim)
    assert expected and any(day is not None for _, _, day, _ in expected.values())
    assert any(day is None for _, _, day, _ in expected.values())  # the blank date, kept without one
    connected = journey.connect(stack, "business_central", sim.base_url, inputs(sim))
    assert "po_lines" in [c["endpoint"] for c in connected.answer["checks"]]
    run = journey.sync(connected)
    assert run["error"] is None, run["error"]
    held, zero, where = atlas_open(stack, connected)
    assert held == expected
    assert zero == received_in_full(sim)  # read as the company sent them, counting nothing
    assert where == {UNASSIGNED}  # with the balances, which API v2.0 tells per item only
    # The line of the non-inventory item is set aside with its reason, as its ledger entries would be.
    aside = [r for r in journey.set_aside(connected) if r["endpoint_key"] == "po_lines"]
    assert [(r["raw"]["lineObjectNumber"], [(e["field"], e["code"]) for e in r["errors"]]) for r in aside] == [
        ("NI-PAPER", [("item_ref", "unknown_item")])
    ]
    assert run["stats"]["open_orders"]["quarantined"] == 1

    # Lines arrive (the rest of one, part of another), an order arrives in full, one is deleted, a line will never
    # come, an order goes for approval and a new one is placed.
    with company.lock:
        company.clock = datetime.now(UTC)
        waiting = [
            o
            for o in company.orders.values()
            if not o.fully_received and all(li.number != "NI-PAPER" for li in o.lines)
        ]
        item_lines = [(o, li) for o in waiting for li in o.lines if li.line_type == "Item" and li.outstanding > 0]
        order, line = item_lines[0]
        company.receive(order.number, line.sequence, line.outstanding)
        order, line = item_lines[-1]
        company.receive(order.number, line.sequence, Decimal(1))
        whole = waiting[1]
        for li in whole.lines:
            if li.line_type != "Comment" and li.outstanding > 0:
                company.receive(whole.number, li.sequence, li.outstanding)
        assert whole.fully_received
        company.delete_order(waiting[2].number)
        order, line = item_lines[len(item_lines) // 2]
        company.short_close(order.number, line.sequence)
        company.set_status(waiting[3].number, "Pending Approval")
        numbers = sorted(company.truth_items())
        company.place_order(
            "30000",
            [
                PurchaseLine(0, "Comment", "", Decimal(0), description="Urgent"),
                PurchaseLine(0, "Item", numbers[0], Decimal(9), location="EAST", expected=datetime.now(UTC).date()),
                PurchaseLine(0, "Item", numbers[1], Decimal("2.5"), expected=datetime.now(UTC).date()),
            ],
            status="Open",
        )
    after = truth(sim)
    assert after != expected
    again = journey.sync(connected)
    assert again["error"] is None, again["error"]
    held, zero, where = atlas_open(stack, connected)
    assert held == after
    assert zero == received_in_full(sim) and where == {UNASSIGNED}
    # On order per item, as BC's own "Qty. on Purch. Order" has it.
    per_item: dict[str, Decimal] = {}
    for number, qty, _, _ in held.values():
        per_item[number] = per_item.get(number, Decimal(0)) + qty
    assert per_item == {n: q.normalize() for n, q in company.truth_qty_on_order().items()}
