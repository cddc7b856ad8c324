"""What a simulated ERPNext site has on order (issue 17), read through the ERPNext preset: per item and warehouse, the
Bin's ``ordered_qty`` (ordered − received over the lines of submitted, open Purchase Orders). Atlas must hold exactly
what the site's purchase orders leave on order, and after a receipt in full and a closed order, again: the full
read replaces the open set. The truth comes from the simulation's purchase orders, never from what Atlas read."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.presets.test_erpnext import Tenant, connect, sync
from tests.sims.frappe import FrappeApi, frappe_server


@pytest.fixture(scope="module")
def site() -> Iterator[FrappeApi]:
    with frappe_server(seed=23, items=30) as api:
        yield api


def atlas_on_order(stack: Any, tenant: Tenant) -> dict[tuple[str, str], Decimal]:
    rows = stack.atlas.sql(
        """SELECT i.external_id, l.external_id, sum(o.open_qty), bool_and(o.kind = 'purchase')
           FROM open_orders o JOIN items i ON i.id = o.item_id JOIN locations l ON l.id = o.location_id
           WHERE o.tenant_id = %s AND o.connector_id = %s GROUP BY 1, 2""",
        (tenant.tenant_id, tenant.connector_id),
    )
    assert all(row[3] for row in rows)
    return {(item, warehouse): Decimal(qty).normalize() for item, warehouse, qty, _ in rows}


def normal(found: dict[tuple[str, str], Decimal]) -> dict[tuple[str, str], Decimal]:
    return {pair: qty.normalize() for pair, qty in found.items()}


def test_atlas_holds_what_the_purchase_orders_leave_on_order(stack, site):
    data = site.data
    items = sorted(data.truth_items())
    warehouses = sorted(data.truth_warehouses())
    with data.lock:
        orders = [
            data.purchase_order(items[0], warehouses[0], 40),
            data.purchase_order(items[0], warehouses[0], 8),  # two orders of one pair add up
            data.purchase_order(items[1], warehouses[-1], 25),
            data.purchase_order(items[2], warehouses[0], 12),
            data.purchase_order(items[3], warehouses[-1], 30),
        ]
        data.receive_purchase(orders[2], 10)  # partly received
        data.receive_purchase(orders[3], 12)  # received in full: nothing left on order
    expected = normal(data.truth_ordered())
    assert len(expected) == 3 and expected[(items[1], warehouses[-1])] == Decimal(15)

    tenant = connect(stack, site)
    run = sync(tenant)
    assert run["status"] in ("succeeded", "needs_attention"), run
    assert run["stats"]["open_orders"]["quarantined"] == 0
    assert atlas_on_order(stack, tenant) == expected

    with data.lock:
        data.receive_purchase(orders[2], 15)  # the rest arrives
        data.close_purchase_order(orders[4])  # closed with nothing received
        data.purchase_order(items[4], warehouses[0], 6)
    after = normal(data.truth_ordered())
    assert after != expected and (items[1], warehouses[-1]) not in after
    again = sync(tenant)
    assert again["status"] in ("succeeded", "needs_attention"), again
    assert atlas_on_order(stack, tenant) == after
