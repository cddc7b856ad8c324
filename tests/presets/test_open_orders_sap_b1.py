"""Open purchase-order lines from a faithful SAP Business One Service Layer (issue 17), read through the preset: the
open item orders (``DocumentStatus eq 'bost_Open' and DocType eq 'dDocument_Items'``), their open lines taken out of
them. Atlas must hold exactly what each open line of a stock item still brings, in inventory units, at its warehouse,
expected on its ship date, under its order's number; the lines add up to B1's own ``Ordered`` per warehouse. After
goods receipt POs (in part and in full), an order closed, one cancelled, a line closed by hand and an order placed,
again. The truth comes from the simulated company's own orders (`SapCompany.truth_on_order`), never from what Atlas
read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.presets import journey
from tests.presets.engine_reads import filled, read_and_map
from tests.presets.test_sap_b1 import INPUTS
from tests.sims.sap_b1 import V1, SapB1, sap_b1
from tests.sims.sap_b1_data import OrderLine, messy_company

Line = tuple[str, str, Decimal, str, str]  # ItemCode, WarehouseCode, open (inventory units), ShipDate, DocNum


def truth(sim: SapB1) -> dict[str, Line]:
    return {
        ident: (item, warehouse, qty.normalize(), day.isoformat(), str(number))
        for ident, (item, warehouse, qty, day, number) in sim.data.truth_on_order().items()
    }


def atlas_open(stack: Any, connected: journey.Connected) -> dict[str, Line]:
    rows = stack.atlas.sql(
        """SELECT o.external_id, i.external_id, l.external_id, o.open_qty,
                  to_char(o.expected_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), o.reference, o.kind
           FROM open_orders o JOIN items i ON i.id = o.item_id JOIN locations l ON l.id = o.location_id
           WHERE o.tenant_id = %s AND o.connector_id = %s""",
        (connected.tenant_id, connected.connector_id),
    )
    assert {row[6] for row in rows} <= {"purchase"}
    return {ident: (item, place, Decimal(q).normalize(), day, ref) for ident, item, place, q, day, ref, _ in rows}


@pytest.fixture(scope="module")
def sim() -> Iterator[SapB1]:
    company = messy_company(seed=13, count=40, fee=False, entered=datetime.now(UTC) - timedelta(days=21), documents=30)
    with sap_b1(company=company) as server:
        yield server


def test_the_mapping_reads_every_open_line_and_they_add_up_to_b1s_ordered(sim: SapB1) -> None:
    company = sim.data
    orders = list(company.orders.values())
    assert any(o.service for o in orders) and any(o.cancelled for o in orders) and any(o.closed for o in orders)
    lines = [line for o in orders if o.open for line in o.lines]
    assert any(line.closed and line.remaining > 0 for line in lines)  # closed by hand, remaining kept
    assert any(0 < line.received < line.quantity for line in lines)  # received in part
    assert any(line.per_unit == 12 for line in lines)  # ordered in boxes of 12
    rendered = filled("sap_b1", sim.base, INPUTS)
    mapped = read_and_map(rendered, "po_lines")
    assert mapped.errors == []
    assert len(mapped.skipped) == sum(1 for o in orders if o.open and not o.service for li in o.lines if li.closed)
    found = {
        r["external_id"]: (
            r["item_ref"],
            r["location_ref"],
            r["open_qty"].normalize(),
            r["expected_at"].date().isoformat(),
            r["reference"],
        )
        for r in mapped.rows
    }
    assert found == truth(sim)
    boxed = next(ident for ident, line in found.items() if line[2] == 84)  # seven boxes of 12 still to come
    assert boxed.startswith("POR-")
    # What the lines bring per item and warehouse is the company's own Ordered (OITW.OnOrder).
    ordered = {(code, w): r.ordered for code, item in company.items.items() for w, r in item.stock.items() if r.ordered}
    summed: dict[tuple[str, str], Decimal] = {}
    for item, warehouse, qty, _, _ in found.values():
        summed[(item, warehouse)] = summed.get((item, warehouse), Decimal(0)) + qty
    assert summed == ordered
    reads = [r for r in sim.log.of(kind="read") if r.path == f"{V1}/PurchaseOrders"]
    assert reads  # only the open item orders are asked for
    assert {r.query.get("$filter") for r in reads} == {"DocumentStatus eq 'bost_Open' and DocType eq 'dDocument_Items'"}


def test_atlas_holds_exactly_the_open_lines_before_and_after_the_company_changes(stack: Any, sim: SapB1) -> None:
    company = sim.data
    expected = truth(sim)
    assert expected
    connected = journey.connect(stack, "sap_b1", sim.base, INPUTS)
    assert "po_lines" in [c["endpoint"] for c in connected.answer["checks"]]
    run = journey.sync(connected)
    assert run["status"] == "succeeded", (run["error"], run.get("attention"))
    assert run["stats"]["open_orders"]["quarantined"] == 0
    assert atlas_open(stack, connected) == expected

    with company.lock:
        company.clock = datetime.now(UTC)
        waiting = [o for o in company.orders.values() if o.open and not o.service and not o.closed]
        untouched = [o for o in waiting if not any(li.received or li.closed for li in o.lines)]
        first = untouched[0]
        company.receive_order(first.entry, 0, first.lines[0].remaining)  # the line arrives in full and closes
        second = untouched[1]
        company.receive_order(second.entry, 0, Decimal(1))  # one unit of it
        company.close_order(untouched[2].entry)
        company.cancel_order(untouched[3].entry)
        fourth = untouched[4]
        company.close_line(fourth.entry, len(fourth.lines) - 1)
        codes = sorted(code for code in company.truth_items() if code not in ("A00001", "a00002"))
        today = datetime.now(UTC).date()
        company.place_order(
            [
                OrderLine(codes[0], "01", Decimal(6), today + timedelta(days=10), Decimal(12)),
                OrderLine(codes[1], "RUH 1", Decimal("2.5"), date(today.year + 1, 1, 15)),
            ],
            today + timedelta(days=10),
        )
    after = truth(sim)
    assert after != expected and after[f"POR-{max(company.orders)}-0"][2] == 72
    again = journey.sync(connected)
    assert again["status"] == "succeeded", (again["error"], again.get("attention"))
    assert atlas_open(stack, connected) == after
