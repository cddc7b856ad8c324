"""SAP Business One through its preset: a customer types the Service Layer's address, the company database, a user
and a password, presses Connect, and Atlas holds the company's items, warehouses and stock per item and warehouse
exactly as the simulation (tests/sims/sap_b1.py) knows them, through Temporal, first and after the source changed.

The truth comes from the simulated company's own state (`SapCompany.truth_*`), snapshotted when each sync ended.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from tests.presets import journey
from tests.presets.engine_reads import filled, read_and_map
from tests.sims.sap_b1 import COMPANY_DB, PASSWORD, USER, V1, SapB1, sap_b1
from tests.sims.sap_b1_data import Item, SapCompany, Warehouse, messy_company

INPUTS = {"company_db": COMPANY_DB, "username": USER, "password": PASSWORD}
Pair = tuple[str, str]


@dataclass(frozen=True)
class Truth:
    items: dict[str, str]  # ItemCode -> the name Atlas must show (ItemName, else the code)
    warehouses: dict[str, str]  # WarehouseCode -> name (WarehouseName, else the code)
    balances: dict[Pair, tuple[Decimal, Decimal]]  # (ItemCode, WarehouseCode) -> (InStock, Committed)
    skipped: int  # items that are not stock


def truth(company: SapCompany) -> Truth:
    with company.lock:
        return Truth(
            {code: item.name or code for code, item in company.truth_items().items()},
            {code: w.name or code for code, w in company.truth_warehouses().items()},
            company.truth_balances(),
            sum(1 for item in company.items.values() if not item.inventory),
        )


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
        # Read as the Service Layer must be read: the V3 root, logged in, every page by its odata.nextLink.
        reads = sim.log.of(kind="read")
        assert reads and all(r.path.startswith(V1) and "B1SESSION=" in r.headers.get("cookie", "") for r in reads)
        assert all(r.headers.get("prefer") == "odata.maxpagesize=100" for r in reads)
        assert any(r.query.get("$skip") == "100" for r in reads)


# --- end to end, through the running Atlas ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> Iterator[SapB1]:
    with sap_b1(company=messy_company(seed=7)) as server:
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
    assert [(c["endpoint"], c["ok"]) for c in answer["checks"]] == [
        ("items", True),
        ("warehouses", True),
        ("stock", True),
    ]
    assert sorted(m["endpoint_key"] for m in answer["mappings"]) == ["items", "stock", "warehouses"]
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


def test_the_first_runs_counts_are_honest(first: tuple[journey.Connected, dict[str, Any], Truth]) -> None:
    connected, run, source = first
    stats = run["stats"]
    assert stats["items"]["read"] == len(source.items) + source.skipped
    assert stats["items"]["written"] == len(source.items) and stats["items"]["skipped"] == source.skipped
    assert stats["locations"]["read"] == stats["locations"]["written"] == len(source.warehouses)
    assert stats["stock_balances"]["read"] == stats["stock_balances"]["written"] == len(source.balances)
    assert run["summary"]["set_aside"] == 0 and run["summary"]["skipped"] == source.skipped
    assert journey.set_aside(connected) == []


def test_the_source_changes_a_session_expires_mid_read_and_the_second_sync_is_exact_again(
    stack: Any, sim: SapB1, first: tuple[journey.Connected, dict[str, Any], Truth]
) -> None:
    connected = first[0]
    company = sim.data
    company.receive("A00003", "01", Decimal("12.125"))
    company.order("A00004", "02", Decimal(5))
    company.deliver("A00005", "01", Decimal(2))
    company.transfer("A00006", "01", "RUH 1", Decimal(1))
    company.issue("FG 1009", "03", Decimal(400))  # into negative stock
    company.add_warehouse(Warehouse("04", "Khobar Store", city="Khobar", country="SA"))
    company.add_item(Item("NEW 100", "Saffron 1 g"), ["01", "04"])
    company.receive("NEW 100", "04", Decimal(30))
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
    assert run["summary"]["set_aside"] == 0 and journey.set_aside(connected) == []


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
