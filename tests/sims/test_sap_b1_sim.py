"""The SAP Business One simulation behaves as the Service Layer's documentation says, and its truth is its own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.sims.sap_b1 import COMPANY_DB, PASSWORD, USER, V1, V2, sap_b1
from tests.sims.sap_b1_data import Item, messy_company


@contextmanager
def session(base: str, root: str = V1) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base) as client:
        answer = client.post(f"{root}/Login", json={"CompanyDB": COMPANY_DB, "UserName": USER, "Password": PASSWORD})
        assert answer.status_code == 200, answer.text
        assert {"B1SESSION", "ROUTEID"} <= set(client.cookies.keys())
        yield client


def every_page(client: httpx.Client, url: str, link: str, **params: Any) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    answer = client.get(url, params=params).json()
    while True:
        records.extend(answer["value"])
        following = answer.get(link)
        if not following:
            return records
        answer = client.get(httpx.URL(str(client.base_url)).join(url).join(following)).json()


def test_v1_speaks_odata_v3_and_v2_speaks_odata_v4() -> None:
    with sap_b1(company=messy_company()) as sim, session(sim.base) as client:
        first = client.get(f"{V1}/Items", params={"$inlinecount": "allpages", "$select": "ItemCode"}).json()
        assert first["odata.metadata"].endswith("/b1s/v1/$metadata#Items")
        assert first["odata.count"] == str(len(sim.data.items))  # V3: the count is text
        assert first["odata.nextLink"] == "/b1s/v1/Items?$inlinecount=allpages&$select=ItemCode&$skip=20"
        assert len(first["value"]) == 20 and set(first["value"][0]) == {"ItemCode"}
    # B1SESSION has no path of its own: a session opened at /b1s/v1 travels only there.
    with sap_b1(company=messy_company()) as sim, session(sim.base, V2) as client:
        second = client.get(f"{V2}/Items", params={"$count": "true"}, headers={"Prefer": "odata.maxpagesize=50"})
        body = second.json()
        assert second.headers["Preference-Applied"] == "odata.maxpagesize=50"
        assert body["@odata.context"].endswith("/b1s/v2/$metadata#Items") and body["@odata.count"] == len(sim.items)
        assert body["@odata.nextLink"] == "Items?$count=true&$skip=50" and len(body["value"]) == 50


def test_every_page_in_key_order_once_by_either_link() -> None:
    with sap_b1(company=messy_company()) as sim, session(sim.base) as client:
        codes = sorted(sim.data.items)
        v1 = every_page(client, f"{V1}/Items", "odata.nextLink", **{"$select": "ItemCode"})
        assert [r["ItemCode"] for r in v1] == codes
    with sap_b1(company=messy_company()) as sim, session(sim.base, V2) as client:
        v2 = every_page(client, f"{V2}/Items", "@odata.nextLink", **{"$select": "ItemCode"})
        assert [r["ItemCode"] for r in v2] == codes


def test_a_filter_keeps_stock_items_and_an_unknown_property_is_refused() -> None:
    with sap_b1(company=messy_company()) as sim, session(sim.base) as client:
        stock = every_page(client, f"{V1}/Items", "odata.nextLink", **{"$filter": "InventoryItem eq 'tYES'"})
        assert {r["ItemCode"] for r in stock} == set(sim.data.truth_items())
        assert "SRV-INSTALL" in sim.data.items and "SRV-INSTALL" not in {r["ItemCode"] for r in stock}
        refused = client.get(f"{V1}/Items", params={"$select": "ItemCode,QuantityOnHand"})
        assert refused.status_code == 400 and "QuantityOnHand" in refused.json()["error"]["message"]["value"]
        refused = client.get(f"{V1}/Items", params={"$filter": "InventoryItm eq 'tYES'"})
        assert refused.status_code == 400


def test_without_a_live_session_every_read_is_refused_and_sessions_expire() -> None:
    with sap_b1(company=messy_company()) as sim:
        assert httpx.get(f"{sim.base}{V1}/Items").status_code == 401
        wrong = httpx.post(f"{sim.base}{V1}/Login", json={"CompanyDB": COMPANY_DB, "UserName": USER, "Password": "x"})
        assert wrong.status_code == 401 and wrong.json()["error"]["message"]["value"] == "Login failed"
        with session(sim.base) as client:
            assert client.get(f"{V1}/Warehouses").status_code == 200
            sim.expire_after(1)
            assert client.get(f"{V1}/Warehouses").status_code == 200
            answer = client.get(f"{V1}/Warehouses")
            assert answer.status_code == 401 and answer.json()["error"]["code"] == 301
            assert sim.rejected == 2  # the first, cookie-less read and this one


def test_the_company_holds_the_mess_real_ones_do_and_knows_its_truth() -> None:
    company = messy_company()
    items = company.items
    assert any(" " in code for code in items) and {"A00002", "a00002"} <= set(items)
    assert any(i.name is None for i in items.values()) and any(not i.valid for i in items.values())
    assert any(i.frozen for i in items.values()) and any(i.uom is None for i in items.values())
    assert [c for c, i in items.items() if not i.inventory] == ["SRV-INSTALL", "FEE DELIVERY"]
    assert {w.code for w in company.warehouses.values() if w.inactive} == {"WIP", "OLD"}
    truth = company.truth_balances()
    assert truth[("A00001", "02")] == (Decimal(-3), Decimal(0))  # negative stock
    assert any(q != q.to_integral_value() for q, _ in truth.values())  # six decimals for weighed goods
    assert any(q > 0 for (_, w), (q, _) in truth.items() if w == "OLD")  # left in a closed warehouse
    assert any(len(i.stock) == 2 for i in items.values())  # linked to only some warehouses
    record = items["A00001"].render()
    assert record["UpdateDate"].count("-") == 2 and record["UpdateTime"].count(":") == 2
    before = truth[("A00003", "01")]
    company.receive("A00003", "01", Decimal("2.5"))
    company.order("A00003", "01", Decimal(1))
    company.deliver("A00003", "01", Decimal(1))
    assert company.truth_balances()[("A00003", "01")] == (before[0] + Decimal("1.5"), before[1])
    company.add_item(Item("NEW 1", "New"), ["01"])
    assert company.truth_balances()[("NEW 1", "01")] == (0, 0)


@pytest.mark.parametrize("root", [V1, V2])
def test_the_legacy_company_reads_as_before(root: str) -> None:
    with sap_b1() as sim, session(sim.base, root) as client:
        assert len(sim.items) == 45 and len(client.get(f"{root}/Warehouses").json()["value"]) == 3


def test_purchase_orders_keep_each_warehouses_ordered_and_receipts_are_based_on_them() -> None:
    with sap_b1(company=messy_company(seed=3, count=30, documents=20)) as sim, session(sim.base) as client:
        company = sim.data
        opened = "DocumentStatus eq 'bost_Open' and DocType eq 'dDocument_Items'"
        listed = every_page(client, f"{V1}/PurchaseOrders", "odata.nextLink", **{"$filter": opened})
        assert {o["DocEntry"] for o in listed} == {e for e, o in company.orders.items() if o.open and not o.service}
        service = next(o for o in company.orders.values() if o.service).render()
        assert service["DocType"] == "dDocument_Service" and service["DocumentLines"][0]["ItemCode"] is None
        assert client.get(f"{V1}/PurchaseOrders", params={"$filter": "DocStatus eq 'O'"}).status_code == 400

        def ordered() -> dict[tuple[str, str], Decimal]:
            rows = company.items.items()
            return {(code, w): r.ordered for code, item in rows for w, r in item.stock.items() if r.ordered}

        assert ordered() == company.truth_ordered() and ordered()
        order = next(o for o in company.orders.values() if o.open and not any(li.received for li in o.lines))
        line = order.lines[0]
        assert line.item is not None and line.warehouse is not None
        on_hand = company.items[line.item].stock[line.warehouse].in_stock
        receipt = company.receive_order(order.entry, 0, line.quantity)
        rendered = receipt.render()["DocumentLines"][0]
        assert (rendered["BaseType"], rendered["BaseEntry"], rendered["BaseLine"]) == (22, order.entry, 0)
        assert line.closed and company.items[line.item].stock[line.warehouse].in_stock == on_hand + line.quantity
        assert ordered() == company.truth_ordered()
        if len(order.lines) > 1:
            company.close_line(order.entry, len(order.lines) - 1)  # closed by hand: it no longer counts
            assert ordered() == company.truth_ordered()
        other = next(o for o in company.orders.values() if o.open and o.entry != order.entry and not o.service)
        company.close_order(other.entry)
        assert ordered() == company.truth_ordered() and not other.open
        with pytest.raises(ValueError):
            company.cancel_order(order.entry)  # something was received: it can only be closed
