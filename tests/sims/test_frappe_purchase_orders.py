"""The ERPNext simulation's Purchase Orders behave as Frappe v15 and ERPNext do (sources in
tests/sims/frappe_purchasing.py and frappe_query.py): a child table read through its parent, one row per line, bare
column names and aliases, child filters, ordering over a join; statuses, units and the Bin's ordered_qty."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.sims.frappe import API_KEY, API_SECRET, FrappeApi, frappe_server
from tests.sims.frappe_model import OperationRefused, StockData
from tests.sims.frappe_purchasing import PurchaseOrder
from tests.sims.frappe_purchasing import PurchaseOrderItem as Line

AUTH = {"Authorization": f"token {API_KEY}:{API_SECRET}"}
ORDERS = "/api/resource/Purchase Order"
DAY = date(2026, 12, 1)


def small() -> StockData:
    moment = {"now": datetime(2026, 11, 20, 9, 30, 15)}
    data = StockData(clock=lambda: moment["now"])
    data.add_company("Test Co", "TC")
    data.add_warehouse("All Warehouses", "Test Co", is_group=True)
    data.add_warehouse("Stores", "Test Co", parent="All Warehouses - TC")
    data.add_warehouse("Shop", "Test Co", parent="All Warehouses - TC")
    data.add_item("TEA", "Tea")
    data.add_item("RICE", "Rice", stock_uom="Kg")
    return data


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[FrappeApi, list[PurchaseOrder]]]:
    data = small()
    orders = [
        data.purchase_order([Line("TEA", "Stores - TC", Decimal(10), DAY, uom="Box", conversion_factor=Decimal(12))]),
        data.purchase_order(
            [
                Line("RICE", "Shop - TC", Decimal(5), DAY, expected_delivery_date=date(2026, 11, 28)),
                Line("TEA", None, Decimal(2), DAY),
                Line("TEA", "Shop - TC", Decimal(3), DAY, delivered_by_supplier=1),
            ]
        ),
        data.purchase_order([Line("RICE", "Stores - TC", Decimal(7), DAY)], submit=False),
    ]
    with frappe_server(data=data) as api:
        yield api, orders


def get(api: FrappeApi, path: str = ORDERS, **params: Any) -> httpx.Response:
    encoded = {k: json.dumps(v) if isinstance(v, list) else v for k, v in params.items()}
    return httpx.get(api.base + path, params=encoded, headers=AUTH, timeout=30)


def test_child_fields_give_one_row_per_line_with_bare_names_and_aliases(site) -> None:
    api, orders = site
    rows = get(
        api,
        fields=["name", "status", "items.name as line_name", "items.item_code", "items.qty", "items.schedule_date"],
        filters=[["docstatus", "=", 1]],
        order_by="`tabPurchase Order`.`creation` asc, `tabPurchase Order Item`.`idx` asc",
    ).json()["data"]
    first, second = orders[0], orders[1]
    assert [(r["name"], r["line_name"], r["item_code"], r["qty"]) for r in rows] == [
        (first.name, first.items[0].name, "TEA", 10.0),
        (second.name, second.items[0].name, "RICE", 5.0),
        (second.name, second.items[1].name, "TEA", 2.0),
        (second.name, second.items[2].name, "TEA", 3.0),
    ]
    assert rows[0]["schedule_date"] == "2026-12-01" and rows[0]["status"] == "To Receive and Bill"
    # Without an alias the line's name comes last and wins (frappe.db.sql builds each row with zip).
    named = get(api, fields=["name", "items.name"], filters=[["docstatus", "=", 1]]).json()["data"]
    assert {r["name"] for r in named} == {line.name for o in orders[:2] for line in o.items}
    # A child filter joins the lines too, without any child field: one row per matching line.
    lines = get(api, fields=["name"], filters=[["Purchase Order Item", "item_code", "=", "tea"]]).json()["data"]
    assert sorted(r["name"] for r in lines) == sorted([first.name, second.name, second.name])
    kept = get(
        api,
        fields=["items.name as line"],
        filters=[
            ["Purchase Order Item", "delivered_by_supplier", "=", 0],
            ["Purchase Order Item", "warehouse", "is", "set"],
        ],
    ).json()["data"]
    assert {r["line"] for r in kept} == {first.items[0].name, second.items[0].name, orders[2].items[0].name}
    document = get(api, f"{ORDERS}/{second.name}").json()["data"]
    assert [line["idx"] for line in document["items"]] == [1, 2, 3] and document["items"][0]["parent"] == second.name


def test_what_frappe_refuses_on_a_child_table(site) -> None:
    api, _ = site
    alone = get(api, "/api/resource/Purchase Order Item")
    assert alone.status_code == 403 and alone.json()["exc_type"] == "PermissionError"
    assert get(api, "/api/resource/Purchase Order Item", parent="Item").status_code == 403
    through = get(api, "/api/resource/Purchase Order Item", parent="Purchase Order", fields=["name", "qty"])
    assert through.status_code == 200 and len(through.json()["data"]) == 5
    unknown = get(api, fields=["name", "items.no_such"])
    assert unknown.status_code == 417 and "Field not permitted in query: items.no_such" in unknown.text
    assert get(api, fields=["name", "lines.qty"]).status_code == 500  # no such table field: an AttributeError
    assert get(api, fields=["items.qty AS q"]).status_code == 500  # parse_args splits on " as " only
    ambiguous = get(api, fields=["name", "items.qty"], order_by="creation asc")  # both tables have creation
    assert ambiguous.status_code == 500 and "ambiguous" in ambiguous.text
    selected = get(api, fields=["name", "creation", "items.qty"], order_by="creation asc")
    assert selected.status_code == 200  # a selected column's name resolves first
    unjoined = get(api, fields=["name"], order_by="`tabPurchase Order Item`.`idx` asc")
    assert unjoined.status_code == 417 and "Please select atleast 1 column" in unjoined.text
    other = get(api, fields=["name"], filters=[["Item", "item_code", "=", "TEA"]])
    assert other.status_code == 500  # another doctype is joined on a parent column it does not have


def test_statuses_units_and_what_the_bin_counts() -> None:
    data = small()
    order = data.purchase_order(
        [
            Line("TEA", "Stores - TC", Decimal(10), DAY, uom="Box", conversion_factor=Decimal(12)),
            Line("RICE", "Stores - TC", Decimal(4), DAY),
        ]
    )
    ordered = lambda item: data.bins[(item, "Stores - TC")].ordered_qty  # noqa: E731
    assert (ordered("TEA"), ordered("RICE"), order.status) == (Decimal(120), Decimal(4), "To Receive and Bill")
    data.receive_purchase(order.name, 1, 3)  # three boxes
    assert ordered("TEA") == Decimal(84) and order.per_received == Decimal("21.428571")  # rounded to 6
    data.set_purchase_order_status(order.name, "On Hold")
    assert order.status == "On Hold" and ordered("TEA") == Decimal(84)  # on hold still counts
    with pytest.raises(OperationRefused):
        data.receive_purchase(order.name, 1, 1)
    data.set_purchase_order_status(order.name, "")
    data.receive_purchase(order.name, 2, 5)  # over-received: counts nothing, never less than nothing
    assert ordered("RICE") == 0 and order.status == "To Receive and Bill"
    data.set_purchase_order_status(order.name, "Billed")
    assert order.status == "To Receive" and ordered("TEA") == Decimal(84)
    data.receive_purchase(order.name, 1, 7)
    assert order.status == "Completed" and order.per_received == 100 and ordered("TEA") == 0
    closing = data.purchase_order([Line("TEA", "Shop - TC", Decimal(6), DAY)])
    assert data.bins[("TEA", "Shop - TC")].ordered_qty == 6
    data.set_purchase_order_status(closing.name, "Closed")
    assert data.bins[("TEA", "Shop - TC")].ordered_qty == 0 and not data.truth_open_lines()
    drop = data.purchase_order([Line("RICE", "Shop - TC", Decimal(2), DAY, delivered_by_supplier=1)])
    assert ("RICE", "Shop - TC") not in data.bins and drop.status == "To Receive and Bill"  # no Bin is made
    draft = data.purchase_order([Line("RICE", "Shop - TC", Decimal(2), DAY)], submit=False)
    assert draft.status == "Draft" and data.truth_ordered() == {}
    data.set_purchase_order_status(draft.name, "Cancelled")
    assert draft.status == "Cancelled"
