"""The Business Central and Entra ID simulation behaves as Microsoft's documentation says, and its truth is its own."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from tests.sims.business_central import SCOPE, business_central
from tests.sims.business_central_data import BLANK_DATE, INVENTORY, NULL_GUID, BcItem, bc_company


def token(sim: Any, **form: str) -> httpx.Response:
    body = {"grant_type": "client_credentials", "client_id": sim.client_id, "client_secret": sim.client_secret}
    return httpx.post(sim.token_url, data={**body, "scope": SCOPE, **form})


def every_page(client: httpx.Client, url: str, **params: str) -> tuple[list[dict[str, Any]], int]:
    records, pages = [], 0
    answer = client.get(url, params=params).json()
    while True:
        pages += 1
        records.extend(answer["value"])
        following = answer.get("@odata.nextLink")
        if not following:
            return records, pages
        assert following.startswith("http://127.0.0.1:")  # absolute
        answer = client.get(following).json()


def test_entra_issues_tokens_for_the_client_and_refuses_with_its_codes() -> None:
    with business_central() as sim:
        issued = token(sim)
        assert issued.status_code == 200 and issued.json()["token_type"] == "Bearer"
        assert issued.json()["expires_in"] == 3599 and sim.tokens_issued == 1
        wrong = token(sim, client_secret="nope")
        assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
        assert wrong.json()["error_codes"] == [7000215]
        assert token(sim, client_id="someone").json()["error_codes"] == [700016]
        assert token(sim, scope="https://graph.microsoft.com/.default").json()["error"] == "invalid_scope"
        other = httpx.post(sim.token_url.replace(sim.tenant, "contoso.example"), data={"grant_type": "x"})
        assert other.status_code == 400 and other.json()["error_codes"] == [90002]


def test_the_api_needs_a_live_token_and_pages_by_absolute_next_links() -> None:
    with business_central(company=bc_company(count=50), page_size=20) as sim:
        assert httpx.get(f"{sim.base_url}/companies").status_code == 401
        bearer = token(sim).json()["access_token"]
        with httpx.Client(headers={"Authorization": f"Bearer {bearer}"}) as client:
            companies = client.get(f"{sim.base_url}/companies", params={"$filter": f"name eq '{sim.company.name}'"})
            assert [c["id"] for c in companies.json()["value"]] == [sim.company.id]
            url = f"{sim.base_url}/companies({sim.company.id})/items"
            items, pages = every_page(client, url, **{"$select": "number,type,inventory"})
            assert [i["number"] for i in items] == sorted(sim.company.items) and pages == 3  # 54 items, 20 a page
            assert set(items[0]) == {"@odata.etag", "number", "type", "inventory"}
            stock, _ = every_page(client, url, **{"$filter": "type eq 'Inventory'"})
            assert {i["number"] for i in stock} == set(sim.company.truth_items())
            non_inventory = client.get(url, params={"$filter": "type eq 'Non_x002D_Inventory'"}).json()["value"]
            assert {i["number"] for i in non_inventory} == {"NI-PAPER", "NI-COFFEE"}
            since = client.get(url, params={"$filter": "lastModifiedDateTime gt 2025-07-01T00:00:00Z"}).json()
            assert since["value"] and all(i["lastModifiedDateTime"] > "2025-07-01" for i in since["value"])
            assert client.get(url, params={"$select": "number,quantityOnHand"}).status_code == 400
            small = client.get(url, headers={"Prefer": "odata.maxpagesize=5"}).json()
            assert len(small["value"]) == 5 and "$skiptoken=" in small["@odata.nextLink"]
            sim.expire_tokens_after(1)
            assert client.get(f"{sim.base_url}/companies").status_code == 200
            refused = client.get(f"{sim.base_url}/companies")
            assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer ")


def test_inventory_is_the_ledger_and_the_api_cannot_tell_locations() -> None:
    company = bc_company(messy=True)
    entries = company.entry_records()
    assert {"location", "locationCode"}.isdisjoint(entries[0])  # API v2.0's itemLedgerEntry
    kinds = {e["entryType"] for e in entries}
    assert {"Purchase", "Sale", "Transfer", "Positive_x0020_Adjmt_x002E_", "Negative_x0020_Adjmt_x002E_"} <= kinds
    items = {i["number"]: i for i in company.item_records()}
    assert items["NI-PAPER"]["type"] == "Non_x002D_Inventory" and items["SVC-INSTALL"]["type"] == "Service"
    truth = company.truth_balances()
    assert all(Decimal(repr(items[n]["inventory"])) == q for n, q in truth.items())
    by_location = company.truth_by_location()
    assert any(q != 0 for q in by_location.values())
    assert all(sum(q for (n, _), q in by_location.items() if n == number) == truth[number] for number in truth)
    transfers = company.entries_of_type("Transfer")
    assert transfers and sum(e.quantity for e in transfers) == 0  # nothing changes for the items as a whole
    number = next(iter(truth))
    before, modified = truth[number], company.items[number].modified
    company.sell(number, "MAIN", Decimal(2), "S-1")
    company.transfer(number, "MAIN", "EAST", Decimal(1), "T-1")
    assert company.truth_balances()[number] == before - 2
    assert company.items[number].modified == modified  # posting does not modify the item record
    company.add_item(BcItem("NEW-1", "New", type=INVENTORY))
    assert company.truth_balances()["NEW-1"] == 0


def test_purchase_order_lines_come_only_with_their_order_or_for_one_document() -> None:
    with business_central(company=bc_company(count=20, orders=6), page_size=4) as sim:
        bearer = token(sim).json()["access_token"]
        with httpx.Client(headers={"Authorization": f"Bearer {bearer}"}) as client:
            base = f"{sim.base_url}/companies({sim.company.id})"
            refused = client.get(f"{base}/purchaseOrderLines")  # company-wide: APIV2 page 30067 refuses
            assert refused.status_code == 400
            assert refused.json()["error"]["code"] == "Application_DialogException"
            assert "You must specify an Id or a Document Id to get the lines." in refused.json()["error"]["message"]
            order = next(iter(sim.company.orders.values()))
            lines = client.get(f"{base}/purchaseOrderLines", params={"$filter": f"documentId eq {order.id}"})
            assert [r["sequence"] for r in lines.json()["value"]] == [li.sequence for li in order.lines]
            navigated = client.get(f"{base}/purchaseOrders({order.id})/purchaseOrderLines").json()["value"]
            assert [r["id"] for r in navigated] == [li.id for li in order.lines]
            select = "purchaseOrderLines($select=lineType,quantity,receivedQuantity,expectedReceiptDate)"
            orders, pages = every_page(client, f"{base}/purchaseOrders", **{"$select": "number", "$expand": select})
            assert pages == 2 and [o["number"] for o in orders] == sorted(sim.company.orders)
            assert set(orders[0]) == {"@odata.etag", "number", "purchaseOrderLines"}
            line = orders[0]["purchaseOrderLines"][0]
            assert set(line) == {"@odata.etag", "lineType", "quantity", "receivedQuantity", "expectedReceiptDate"}
            plain = client.get(f"{base}/purchaseOrders").json()["value"][0]
            assert "purchaseOrderLines" not in plain and plain["status"] in ("Draft", "In_x0020_Review", "Open")
            assert client.get(f"{base}/purchaseOrders", params={"$expand": "lines"}).status_code == 400
            waiting, _ = every_page(client, f"{base}/purchaseOrders", **{"$filter": "fullyReceived eq false"})
            assert {o["number"] for o in waiting} == {n for n, o in sim.company.orders.items() if not o.fully_received}


def test_purchase_orders_keep_what_is_on_order_and_receipts_are_ledger_entries() -> None:
    company = bc_company(count=20, orders=8)
    records = [line for order in company.order_records() for line in order["purchaseOrderLines"]]
    comment = next(r for r in records if r["lineType"] == "Comment")
    assert comment["expectedReceiptDate"] == BLANK_DATE == "0001-01-01" and comment["itemId"] == NULL_GUID
    assert {r["lineType"] for r in records} >= {"Item", "Comment", "Account", "Charge"}
    on_order = company.truth_qty_on_order()
    order = next(o for o in company.orders.values() if not o.fully_received)
    line = next(li for li in order.lines if li.line_type == "Item" and li.outstanding > 1)
    before, stock = on_order.get(line.number, Decimal(0)), company.truth_balances()[line.number]
    entry = company.receive(order.number, line.sequence, Decimal(1))
    assert entry is not None and entry.entry_type == "Purchase" and entry.location == line.location
    assert company.truth_qty_on_order()[line.number] == before - 1
    assert company.truth_balances()[line.number] == stock + 1
    rest = line.outstanding
    company.short_close(order.number, line.sequence)  # the rest will never come
    assert line.outstanding == 0 and company.truth_qty_on_order().get(line.number, Decimal(0)) == before - 1 - rest
