"""The ERPNext simulation behaves as Frappe v15 and ERPNext do, so tests against it can be trusted.

Each test names the behaviour it holds the simulation to (sources in tests/sims/frappe.py and frappe_model.py).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from decimal import Decimal

import httpx
import pytest

from tests.sims.canary import CANARY
from tests.sims.frappe import API_KEY, API_SECRET, FrappeApi, frappe_server
from tests.sims.frappe_model import OperationRefused, StockData, frappe_datetime, frappe_time, movement_key

AUTH = {"Authorization": f"token {API_KEY}:{API_SECRET}"}
LEDGER = "/api/resource/Stock Ledger Entry"


@pytest.fixture(scope="module")
def server() -> Iterator[FrappeApi]:
    with frappe_server(seed=15) as api:
        yield api


@pytest.fixture(scope="module")
def client(server: FrappeApi) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base, headers=AUTH, timeout=30) as http:
        yield http


def small() -> StockData:
    """One item, two warehouses, a clock the test moves."""
    moment = {"now": datetime(2026, 11, 20, 9, 30, 15)}
    data = StockData(clock=lambda: moment["now"])
    data.add_company("Test Co", "TC")
    data.add_warehouse("All Warehouses", "Test Co", is_group=True)
    data.add_warehouse("Stores", "Test Co", parent="All Warehouses - TC")
    data.add_warehouse("Shop", "Test Co", parent="All Warehouses - TC")
    data.add_item("WIDGET", "Widget", valuation_rate=Decimal(5))
    return data


# --- authentication (frappe/auth.py validate_auth) -----------------------------------------------------


def test_api_keys_as_token_or_basic_and_every_refusal_as_frappe_answers_it(server: FrappeApi) -> None:
    url = server.base + "/api/resource/Item"
    assert httpx.get(url, headers=AUTH).status_code == 200
    assert httpx.get(url, headers={"Authorization": f"TOKEN {API_KEY}:{API_SECRET}"}).status_code == 200
    basic = base64.b64encode(f"{API_KEY}:{API_SECRET}".encode()).decode()
    assert httpx.get(url, headers={"Authorization": f"Basic {basic}"}).status_code == 200
    for header in (f"token {API_KEY}:wrong", f"token nobody:{API_SECRET}", f"Bearer {API_SECRET}", "token nocolon"):
        refused = httpx.get(url, headers={"Authorization": header})
        assert refused.status_code == 401 and refused.json() == {"exc_type": "AuthenticationError"}, header
        assert "www-authenticate" not in refused.headers
    guest = httpx.get(url)
    assert guest.status_code == 403 and guest.json()["exc_type"] == "PermissionError"
    assert "Guest" in json.loads(json.loads(guest.json()["_server_messages"])[0])["message"]
    bad = httpx.get(url, headers={"Authorization": "Basic %%%"})
    assert bad.status_code == 400 and bad.json()["exc_type"] == "InvalidAuthorizationToken"
    assert httpx.get(server.base + "/api/method/ping").json() == {"message": "pong"}


# --- get_list (frappe/api/v1.py, frappe/model/db_query.py) -----------------------------------------------


def test_a_list_is_names_only_twenty_at_a_time_without_a_total(client: httpx.Client, server: FrappeApi) -> None:
    body = client.get("/api/resource/Item").json()
    assert list(body) == ["data"] and len(body["data"]) == 20
    assert all(list(row) == ["name"] for row in body["data"])
    everything = client.get("/api/resource/Item", params={"limit_page_length": 0}).json()["data"]
    assert len(everything) == len(server.data.items)
    assert len(client.get("/api/resource/Item", params={"limit": 7}).json()["data"]) == 7
    # The default order is the doctype's: modified, newest first (Bin: oldest first).
    modified = [server.data.items[r["name"]].modified for r in everything]
    assert modified == sorted(modified, reverse=True)
    bins = client.get("/api/resource/Bin", params={"fields": '["modified"]', "limit_page_length": 0}).json()["data"]
    assert [b["modified"] for b in bins] == sorted(b["modified"] for b in bins)


def test_offset_pages_cover_the_list_once_and_end_in_an_empty_page(client: httpx.Client) -> None:
    params: dict[str, str | int] = {"order_by": "creation asc", "limit_page_length": 50}
    names: list[str] = []
    start = 0
    while True:
        page = client.get(LEDGER, params={**params, "limit_start": start}).json()["data"]
        if not page:
            break
        names += [r["name"] for r in page]
        start += 50
    everything = client.get(LEDGER, params={"order_by": "creation asc", "limit_page_length": 0}).json()["data"]
    assert names == [r["name"] for r in everything] and len(set(names)) == len(names)


def test_fields_filters_and_unknown_parameters(client: httpx.Client, server: FrappeApi) -> None:
    rows = client.get(
        LEDGER,
        params={
            "fields": '["name","voucher_type","actual_qty","is_cancelled"]',
            "filters": '[["is_cancelled","=",0],["voucher_type","=","stock entry"],["actual_qty",">",0]]',
            "limit_page_length": 0,
            "colour": "blue",  # frappe.call drops what get_list does not take
        },
    ).json()["data"]
    live = [e for e in server.data.entries.values() if not e.is_cancelled]
    expected = [e for e in live if e.voucher_type == "Stock Entry" and e.actual_qty > 0]
    assert len(rows) == len(expected) > 0  # "stock entry" matches regardless of case (MariaDB's collation)
    assert all(isinstance(r["actual_qty"], float) and r["is_cancelled"] == 0 for r in rows)
    as_dict = client.get(
        "/api/resource/Warehouse", params={"filters": json.dumps({"is_group": 1}), "limit_page_length": 0}
    ).json()["data"]
    assert {r["name"] for r in as_dict} == {n for n, w in server.data.warehouses.items() if w.is_group}
    cut = sorted(e.modified for e in live)[len(live) // 2]
    newer = client.get(
        LEDGER,
        params={"filters": json.dumps([["modified", ">", frappe_datetime(cut)]]), "limit_page_length": 0},
    ).json()["data"]
    assert len(newer) == sum(1 for e in server.data.entries.values() if e.modified > cut)
    liked = client.get("/api/resource/Item", params={"filters": '[["name","like","sku-00%"]]', "limit": 0})
    assert liked.json()["data"] and all(r["name"].startswith("SKU-00") for r in liked.json()["data"])
    first_value = client.get("/api/resource/Item?limit_page_length=3&limit_page_length=9").json()["data"]
    assert len(first_value) == 3  # werkzeug's MultiDict: the first value


def test_what_frappe_refuses(client: httpx.Client) -> None:
    unknown = client.get("/api/resource/Item", params={"fields": '["name","has_bom"]'})
    assert unknown.status_code == 417 and unknown.json()["exc_type"] == "DataError"
    assert "Field not permitted in query: has_bom" in unknown.json()["_server_messages"]
    assert client.get("/api/resource/Item", params={"filters": '[["has_bom","=",1]]'}).status_code == 417
    assert client.get("/api/resource/Item", params={"fields": "[name"}).status_code == 500
    missing = client.get("/api/resource/Sales Widget")
    assert missing.status_code == 404 and missing.json()["exc_type"] == "DoesNotExistError"
    assert client.get("/api/resource/Item/").status_code == 404  # no trailing slash on the list route
    assert client.get("/api/resource/Item/SKU-0001").json()["data"]["item_code"] == "SKU-0001"
    with CANARY.deliberate():
        write = client.post("/api/resource/Item", json={"item_code": "X"})
    assert write.status_code == 403 and write.json()["exc_type"] == "PermissionError"
    assert any(s.method == "POST" and s.deliberate for s in CANARY.seen(system="erpnext", kind="write"))


def test_values_are_written_as_frappe_writes_them() -> None:
    assert frappe_time(time(6, 8, 12)) == "6:08:12"
    assert frappe_time(time(14, 3, 22, 512345)) == "14:03:22.512345"
    assert frappe_datetime(datetime(2026, 11, 22, 6, 8, 12)) == "2026-11-22 06:08:12"
    assert frappe_datetime(datetime(2026, 11, 22, 6, 8, 12, 123456)) == "2026-11-22 06:08:12.123456"


# --- ERPNext's stock (erpnext/stock/stock_ledger.py and doctypes) -----------------------------------------


def test_bins_hold_what_the_live_ledger_says(server: FrappeApi) -> None:
    data = server.data
    truth = data.truth_balances()
    for pair, stock in data.bins.items():
        assert (stock.actual_qty, stock.reserved_qty) == truth.get(pair, (Decimal(0), Decimal(0)))
        assert stock.projected_qty == stock.actual_qty + stock.ordered_qty - stock.reserved_qty
    assert all(q >= 0 for q, _ in truth.values())  # negative stock is refused


def test_a_reconciliation_sets_the_level_and_a_backdated_entry_reposts_without_touching_modified() -> None:
    data = small()
    data.submit("Purchase Receipt", [("WIDGET", "Stores - TC", Decimal(10))], posting=datetime(2026, 11, 1, 9))
    count = data.submit("Stock Reconciliation", [("WIDGET", "Stores - TC", Decimal(7))], posting=datetime(2026, 11, 5))
    data.submit("Delivery Note", [("WIDGET", "Stores - TC", Decimal(-2))], posting=datetime(2026, 11, 6))
    entry = next(e for e in data.entries.values() if e.voucher_no == count.name)
    assert entry.actual_qty == 0 and entry.qty_after_transaction == 7
    assert data.bins[("WIDGET", "Stores - TC")].actual_qty == 5
    sale = next(e for e in data.entries.values() if e.voucher_type == "Delivery Note")
    modified = sale.modified
    data.submit("Purchase Receipt", [("WIDGET", "Stores - TC", Decimal(4))], posting=datetime(2026, 11, 2))
    assert sale.qty_after_transaction == 5 and sale.modified == modified  # the count still sets 7
    changes = {m.voucher_no: m.change for m in data.truth_movements()}
    assert changes[count.name] == 7 - 14
    with pytest.raises(OperationRefused):
        data.submit("Delivery Note", [("WIDGET", "Stores - TC", Decimal(-6))], posting=datetime(2026, 11, 5, 12))
    with pytest.raises(OperationRefused):
        data.submit("Purchase Receipt", [("WIDGET", "All Warehouses - TC", Decimal(1))])


def test_cancelling_marks_the_entries_and_writes_reversals_that_count_for_nothing() -> None:
    data = small()
    data.submit("Purchase Receipt", [("WIDGET", "Stores - TC", Decimal(10))], posting=datetime(2026, 11, 1))
    sale = data.submit("Delivery Note", [("WIDGET", "Stores - TC", Decimal(-3))], posting=datetime(2026, 11, 2))
    original = next(e for e in data.entries.values() if e.voucher_no == sale.name)
    reversals = data.cancel("Delivery Note", sale.name)
    assert original.is_cancelled == 1 and original.modified > original.creation
    assert [(r.actual_qty, r.is_cancelled, r.posting_datetime) for r in reversals] == [
        (Decimal(3), 1, original.posting_datetime)
    ]
    assert movement_key(reversals[0]) != movement_key(original)
    assert data.bins[("WIDGET", "Stores - TC")].actual_qty == 10


def test_the_hourly_rename_changes_names_and_modified_but_not_creation() -> None:
    data = small()
    data.submit("Purchase Receipt", [("WIDGET", "Stores - TC", Decimal(10))], posting=datetime(2026, 11, 1))
    data.transfer("WIDGET", "Stores - TC", "Shop - TC", Decimal(4), posting=datetime(2026, 11, 2))
    before = {movement_key(e): (e.name, e.creation) for e in data.entries.values()}
    assert all(len(name) == 10 and not name.startswith("MAT-") for name, _ in before.values())
    data.clock = lambda: datetime(2026, 11, 20, 10, 30)
    renamed = data.rename_temporarily_named_docs()
    assert sorted(renamed.values()) == ["MAT-SLE-2026-00001", "MAT-SLE-2026-00002", "MAT-SLE-2026-00003"]
    after = {movement_key(e): (e.name, e.creation) for e in data.entries.values()}
    assert set(after) == set(before)  # the key survives
    assert all(after[k][1] == before[k][1] and after[k][0] != before[k][0] for k in after)
    assert all(e.modified >= datetime(2026, 11, 20, 10, 30) and not e.to_rename for e in data.entries.values())
    transfer = [e for e in data.entries.values() if e.voucher_type == "Stock Entry"]
    assert len({e.voucher_detail_no for e in transfer}) == 1 and len(transfer) == 2  # one row, two entries


def test_the_generated_site_has_every_messy_case(server: FrappeApi) -> None:
    data, marks = server.data, server.landmarks
    assert marks is not None
    assert {w.warehouse_name for w in data.warehouses.values()} >= {"Stores"}
    assert sum(1 for w in data.warehouses.values() if w.warehouse_name == "Stores") == 2
    assert marks.non_stock and all(not data.items[c].is_stock_item for c in marks.non_stock)
    assert data.items[marks.disabled_with_stock].disabled and data.bins[(marks.disabled_with_stock, marks.stores)]
    assert data.warehouses[marks.disabled_warehouse].disabled
    assert len(marks.cancelled) == 3 and marks.opening_counts
    assert data.bins[marks.zero_bin].actual_qty == 0
    assert (marks.stale_bin_item, marks.stores) in data.bins and not data.items[marks.stale_bin_item].is_stock_item
    hashed = [e for e in data.entries.values() if e.to_rename]
    assert hashed and len(hashed) < len(data.entries)  # some renamed, some still by hash
    assert any(e.posting_time.hour < 10 for e in data.entries.values())
    assert data.clock() - max(e.creation for e in data.entries.values()) < timedelta(days=1)
