"""SAP Business One through its preset: a customer types the Service Layer's address, the company database, a user
and a password, presses Connect, and Atlas holds the company's items, warehouses, stock per item and warehouse and
the movements of its stock documents exactly as the simulation (tests/sims/sap_b1.py) knows them, through Temporal,
first and after the source changed.

The truth comes from the simulated company's own state (`SapCompany.truth_*`), snapshotted when each sync ended.
The documents are read incrementally: the second sync asks only for documents changed since a day before the first
(UpdateDate inside $filter) and must still hold every movement exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.presets import journey
from tests.presets.engine_reads import filled, read_and_map
from tests.sims.auth_http import Received
from tests.sims.odata import parse_filter
from tests.sims.sap_b1 import COMPANY_DB, ENTITIES, PASSWORD, USER, V1, SapB1, sap_b1
from tests.sims.sap_b1_data import Item, Movement, SapCompany, Warehouse, messy_company

INPUTS = {"company_db": COMPANY_DB, "username": USER, "password": PASSWORD}
MOVEMENT_ENDPOINTS = (
    "goods_receipts",
    "goods_issues",
    "transfers_out",
    "transfers_in",
    "deliveries",
    "purchase_deliveries",
)
DOCUMENTS = (
    "/InventoryGenEntries",
    "/InventoryGenExits",
    "/StockTransfers",
    "/DeliveryNotes",
    "/PurchaseDeliveryNotes",
)
Pair = tuple[str, str]


def document_reads(reads: list[Received]) -> list[Received]:
    """The reads of the documents that move stock (the movement endpoints)."""
    return [r for r in reads if r.path.removeprefix(V1) in DOCUMENTS]


def updated_since(read: Received) -> str | None:
    """The date a document read's window starts at (``UpdateDate ge '…'`` in its $filter), or None. A next link
    keeps the query, so every page of a read says it."""
    text = read.query.get("$filter") or ""
    prefix = "UpdateDate ge '"
    return text[len(prefix) : len(prefix) + 10] if text.startswith(prefix) else None


@dataclass(frozen=True)
class Truth:
    items: dict[str, str]  # ItemCode -> the name Atlas must show (ItemName, else the code)
    warehouses: dict[str, str]  # WarehouseCode -> name (WarehouseName, else the code)
    balances: dict[Pair, tuple[Decimal, Decimal]]  # (ItemCode, WarehouseCode) -> (InStock, Committed)
    skipped: int  # items that are not stock
    movements: dict[str, Movement]  # the preset's movement id -> item, warehouse, kind, quantity, date
    not_stock: set[str]  # ids of document lines whose item is not stock: set aside as unknown items
    closed_lines: int  # lines of open purchase orders closed by hand: skipped by the open-order mapping


def truth(company: SapCompany) -> Truth:
    with company.lock:
        return Truth(
            {code: item.name or code for code, item in company.truth_items().items()},
            {code: w.name or code for code, w in company.truth_warehouses().items()},
            company.truth_balances(),
            sum(1 for item in company.items.values() if not item.inventory),
            company.truth_movements(),
            company.non_stock_lines(),
            sum(1 for o in company.orders.values() if o.open and not o.service for line in o.lines if line.closed),
        )


def atlas_movements(stack: Any, connected: journey.Connected) -> dict[str, Movement]:
    rows = stack.atlas.sql(
        """SELECT m.external_id, i.external_id, l.external_id, m.kind, m.quantity, m.occurred_at
           FROM stock_movements m JOIN items i ON i.id = m.item_id JOIN locations l ON l.id = m.location_id
           WHERE m.tenant_id = %s AND m.connector_id = %s""",
        (connected.tenant_id, connected.connector_id),
    )
    return {e: (item, place, kind, q, when.date()) for e, item, place, kind, q, when in rows}


# --- the preset over every record the simulation serves, without the stack --------------------------------------


def test_the_login_url_is_the_typed_address_with_the_service_layers_root() -> None:
    for typed in ("https://b1.example.com:50000", "https://b1.example.com:50000/b1s/v1/"):
        rendered = filled("sap_b1", typed, INPUTS)
        assert rendered.connector["base_url"] == "https://b1.example.com:50000/b1s/v1"
        assert rendered.connector["auth"]["login_url"] == "https://b1.example.com:50000/b1s/v1/Login"
        assert rendered.connector["auth"]["login_fields"] == {"CompanyDB": COMPANY_DB}


def test_the_preset_reads_and_maps_every_record_exactly_and_sets_nothing_aside() -> None:
    with sap_b1(company=messy_company()) as sim:
        rendered = filled("sap_b1", sim.base, INPUTS)
        source = truth(sim.data)
        items = read_and_map(rendered, "items")
        assert items.errors == [] and len(items.skipped) == source.skipped == 2
        assert {r["external_id"]: r["name"] for r in items.rows} == source.items
        assert all(r["sku"] == r["external_id"] for r in items.rows)  # spaces and case kept
        warehouses = read_and_map(rendered, "warehouses")
        assert warehouses.errors == [] and {r["code"]: r["name"] for r in warehouses.rows} == source.warehouses
        stock = read_and_map(rendered, "stock")
        assert stock.errors == [] and stock.skipped == []
        read = {(r["item_ref"], r["location_ref"]): (r["quantity"], r["reserved_qty"]) for r in stock.rows}
        assert len(stock.rows) == len(read) == len(source.balances)  # one row per item and warehouse
        assert read == source.balances
        mapped: dict[str, Movement] = {}
        for key in MOVEMENT_ENDPOINTS:
            lines = read_and_map(rendered, key)
            assert lines.errors == [] and lines.skipped == []
            for r in lines.rows:
                when = r["occurred_at"].date()
                mapped[r["external_id"]] = (r["item_ref"], r["location_ref"], r["kind"], r["quantity"], when)
        assert {k: m for k, m in mapped.items() if k not in source.not_stock} == source.movements
        # A cancelled delivery and its cancellation document add up to nothing, line by line.
        cancelled = next(d for d in sim.data.documents["DeliveryNotes"].values() if d.cancel_status == "csYes")
        undoing = next(d for d in sim.data.documents["DeliveryNotes"].values() if d.cancel_status == "csCancellation")
        for n in range(len(cancelled.lines)):
            sale, back = mapped[f"DLN-{cancelled.entry}-{n}"], mapped[f"DLN-{undoing.entry}-{n}"]
            assert sale[3] < 0 and back[3] == -sale[3] and sale[:3] == back[:3]
        assert source.not_stock == {"DLN-152-1"} <= set(mapped)  # maps; only Atlas's items can tell it is no stock
        # Read as the Service Layer must be read: the V3 root, logged in, every page by its odata.nextLink, the page
        # size asked by the Prefer header only (no parameter the Service Layer does not document).
        reads = sim.log.of(kind="read")
        assert reads and all(r.path.startswith(V1) and "B1SESSION=" in r.headers.get("cookie", "") for r in reads)
        assert all(r.headers.get("prefer") == "odata.maxpagesize=100" for r in reads)
        assert any(r.query.get("$skip") == "100" for r in reads)
        assert all(name.startswith("$") for r in reads for name in r.query), {n for r in reads for n in r.query}
        # The documents' first window reaches back before anything the company holds; the rest is read in full.
        assert all((updated_since(r) or "") < "1927-02" for r in document_reads(reads))
        assert all(updated_since(r) is not None for r in document_reads(reads))


# --- end to end, through the running Atlas ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> Iterator[SapB1]:
    # The company's history was entered three weeks ago (its documents' CreationDate and UpdateDate).
    with sap_b1(company=messy_company(seed=7, entered=datetime.now(UTC) - timedelta(days=21))) as server:
        yield server


@pytest.fixture(scope="module")
def first(stack: Any, sim: SapB1) -> tuple[journey.Connected, dict[str, Any], Truth]:
    connected = journey.connect(stack, "sap_b1", sim.base, INPUTS)  # the address as a person types it
    run = journey.sync(connected)
    return connected, run, truth(sim.data)


def test_connecting_tests_every_endpoint_and_previews_real_records(
    first: tuple[journey.Connected, dict[str, Any], Truth],
) -> None:
    connected, _, _ = first
    answer = connected.answer
    endpoints = ["items", "warehouses", "stock", *MOVEMENT_ENDPOINTS, "po_lines"]
    assert [(c["endpoint"], c["ok"]) for c in answer["checks"]] == [(key, True) for key in endpoints]
    assert sorted(m["endpoint_key"] for m in answer["mappings"]) == sorted(endpoints)
    assert answer["connector"]["base_url"].endswith("/b1s/v1")
    assert answer["connector"]["auth"]["password"] != PASSWORD  # never returned
    previews = {p["endpoint"]: p for p in answer["previews"]}
    assert previews["stock"]["failed"] == 0 and previews["stock"]["mapped"] > 0
    assert previews["items"]["records"][0]["source"]["ItemCode"] == "A00001"


def test_after_the_first_sync_items_warehouses_and_every_balance_equal_the_source(
    stack: Any, first: tuple[journey.Connected, dict[str, Any], Truth]
) -> None:
    connected, run, source = first
    assert run["status"] == "succeeded", (run["error"], run.get("attention"))
    held = journey.items(stack, connected)
    assert {code: name for code, (_, name, _, _) in held.items()} == source.items
    assert held["A00017"][2] == "pcs"  # no inventory unit in B1: pieces
    assert {code: name for code, (_, name) in journey.locations(stack, connected).items()} == source.warehouses
    atlas = journey.balances(stack, connected)
    exact = sum(1 for pair, value in source.balances.items() if atlas.get(pair, (None, None))[:2] == value)
    assert exact == len(source.balances) == len(atlas), f"{exact} of {len(source.balances)} balances exact"
    assert all(available == q - r for q, r, available in atlas.values())
    assert atlas[("A00001", "02")][0] == -3 and atlas[("a00002", "01")][0] == 6  # negative; case-sensitive codes
    assert atlas[("A00001", "01")][2] == -7  # committed beyond what is on hand
    movements = atlas_movements(stack, connected)
    exact = sum(1 for ident, m in source.movements.items() if movements.get(ident) == m)
    assert exact == len(source.movements) == len(movements), f"{exact} of {len(source.movements)} movements exact"
    boxed = [m for ident, m in source.movements.items() if ident.startswith("DLN") and m[3] % 12 == 0]
    assert boxed  # deliveries in boxes of 12 moved their pieces (InventoryQuantity), not their boxes


def test_the_first_runs_counts_are_honest_and_each_set_aside_line_is_explained(
    first: tuple[journey.Connected, dict[str, Any], Truth],
) -> None:
    connected, run, source = first
    stats = run["stats"]
    assert stats["items"]["read"] == len(source.items) + source.skipped
    assert stats["items"]["written"] == len(source.items) and stats["items"]["skipped"] == source.skipped
    assert stats["locations"]["read"] == stats["locations"]["written"] == len(source.warehouses)
    assert stats["stock_balances"]["read"] == stats["stock_balances"]["written"] == len(source.balances)
    moved = stats["stock_movements"]
    assert moved["written"] == len(source.movements) and moved["skipped"] == 0
    assert moved["read"] == len(source.movements) + len(source.not_stock)
    assert run["summary"]["set_aside"] == len(source.not_stock) == 1
    assert run["summary"]["skipped"] == source.skipped + source.closed_lines  # services; order lines closed by hand
    aside = journey.set_aside(connected)
    assert len(aside) == 1 and aside[0]["endpoint_key"] == "deliveries"
    assert aside[0]["raw"]["ItemCode"] == "FEE DELIVERY"  # a delivery fee billed on a delivery: not stock
    assert [(e["field"], e["code"]) for e in aside[0]["errors"]] == [("item_ref", "unknown_item")]


def test_the_source_changes_a_session_expires_mid_read_and_the_second_sync_is_exact_again(
    stack: Any, sim: SapB1, first: tuple[journey.Connected, dict[str, Any], Truth]
) -> None:
    connected, first_run = first[0], first[1]
    company = sim.data
    company.clock = datetime.now(UTC)  # the company works on today
    reads_before = len(sim.log.of(kind="read"))
    company.receive("A00003", "01", Decimal("12.125"))
    company.order("A00004", "02", Decimal(5))
    company.deliver("A00005", "01", Decimal(2))
    company.transfer("A00006", "01", "RUH 1", Decimal(1))
    company.issue("FG 1009", "03", Decimal(400))  # into negative stock
    company.add_warehouse(Warehouse("04", "Khobar Store", city="Khobar", country="SA"))
    company.add_item(Item("NEW 100", "Saffron 1 g"), ["01", "04"])
    company.receive("NEW 100", "04", Decimal(30))
    read_before = next(d for d in company.documents["DeliveryNotes"].values() if d.cancel_status == "csNo")
    company.cancel("DeliveryNotes", read_before.entry)  # a delivery Atlas has read is cancelled after the sync
    logins, rejected = sim.logins, sim.rejected
    sim.expire_after(2)  # the server forgets the session after two more reads: in the middle of the items
    run = journey.sync(connected)
    assert run["status"] == "succeeded", (run["error"], run.get("attention"))
    source = truth(company)
    assert sim.rejected > rejected and sim.logins >= logins + 2  # refused once, logged in again, read on
    atlas = journey.balances(stack, connected)
    assert {pair: value[:2] for pair, value in atlas.items()} == source.balances
    assert (
        atlas[("NEW 100", "04")][:2] == (30, 0)
        and atlas[("A00006", "RUH 1")][:2] == source.balances[("A00006", "RUH 1")]
    )
    assert {code: name for code, (_, name, _, _) in journey.items(stack, connected).items()} == source.items
    assert "04" in journey.locations(stack, connected)
    movements = atlas_movements(stack, connected)
    assert movements == source.movements  # the cancellation arrived as movements moving the stock back
    assert sum(m[3] for k, m in movements.items() if k.startswith(f"DLN-{read_before.entry}-")) < 0
    # The delivery fee's line was not read again (its document did not change): this run set nothing aside, and the
    # first run's record of it is still open, once.
    assert run["summary"]["set_aside"] == 0
    aside = journey.set_aside(connected)
    assert [(r["endpoint_key"], r["raw"]["ItemCode"]) for r in aside] == [("deliveries", "FEE DELIVERY")]
    # Incremental: every document read asked only for what changed since a day before the first sync (the sync's
    # overlap, as a date), and read far fewer lines than the first sync, which read them all.
    later = document_reads(sim.log.of(kind="read")[reads_before:])
    began = datetime.fromisoformat(first_run["started_at"].replace("Z", "+00:00"))
    finished = datetime.fromisoformat(first_run["finished_at"].replace("Z", "+00:00"))
    assert later and {updated_since(r) for r in later} <= {
        (began - timedelta(days=1)).date().isoformat(),
        (finished - timedelta(days=1)).date().isoformat(),
    }
    assert {r.path for r in later} == {V1 + path for path in DOCUMENTS}
    read_first = first_run["stats"]["stock_movements"]["read"]
    read_second = run["stats"]["stock_movements"]["read"]
    assert 0 < read_second < read_first / 10, (read_first, read_second)
    # The company's own count of what those reads asked for: each read's $filter over its documents, their lines.
    asked = 0
    for first_page in (r for r in later if "$skip" not in r.query):  # one first page per endpoint's read
        entity = first_page.path.removeprefix(V1 + "/")
        keep = parse_filter(first_page.query["$filter"], ENTITIES[entity])
        lines = "StockTransferLines" if entity == "StockTransfers" else "DocumentLines"
        asked += sum(len(d[lines]) for d in sim.records(entity) if keep(d))
    assert asked == read_second


def test_a_company_without_mess_atlas_cannot_place_sets_nothing_aside(stack: Any) -> None:
    with sap_b1(company=messy_company(seed=3, count=30, fee=False)) as clean:
        connected = journey.connect(stack, "sap_b1", clean.base, INPUTS)
        run = journey.sync(connected)
        assert run["status"] == "succeeded" and run["summary"]["set_aside"] == 0, run["summary"]
        source = truth(clean.data)
        assert {pair: v[:2] for pair, v in journey.balances(stack, connected).items()} == source.balances
        assert atlas_movements(stack, connected) == source.movements
        assert journey.set_aside(connected) == []


def test_a_wrong_password_is_a_clear_422_and_nothing_is_stored(stack: Any, sim: SapB1) -> None:
    admin, me = stack.atlas.new_tenant()
    answer = admin.post(
        "/api/presets/sap_b1/connect",
        json={"base_url": sim.base, "inputs": {**INPUTS, "password": "not the password"}},
        headers={"Accept-Language": "en"},
    )
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["field"] == "inputs" and "SAP Business One refused the credentials" in problem["detail"]
    assert "not the password" not in answer.text
    assert journey.nothing_stored(stack, me["tenant_id"])
