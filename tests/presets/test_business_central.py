"""Business Central through its preset: a customer types the Entra tenant, the app's client id and secret and the
company's name (the environment defaults to production), presses Connect, and Atlas holds the company's items,
locations, each stock item's inventory and its item ledger entries exactly as the simulation
(tests/sims/business_central.py) knows them, through Temporal, first and after the source changed.

API v2.0 gives stock per item only (``inventory`` over all locations) and ledger entries without their location:
balances and movements land in Atlas's "no location" bucket, and the tests hold Atlas to exactly that. The truth
comes from the simulated company's own ledger (`BcCompany.truth_*`), snapshotted when each sync ended. The ledger
is read incrementally: the second sync asks only for entries modified since a day before the first
(``lastModifiedDateTime ge …`` inside $filter) and must still hold every movement exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.presets import journey
from tests.presets.engine_reads import filled, read_and_map
from tests.sims.auth_http import Received
from tests.sims.business_central import BusinessCentral, business_central
from tests.sims.business_central_data import INVENTORY, BcCompany, BcItem, bc_company

UNASSIGNED = "atlas:unassigned"
KINDS = {"Purchase": "receipt", "Sale": "sale", "Positive Adjmt.": "adjustment", "Negative Adjmt.": "adjustment"}
Movement = tuple[str, str, Decimal, date]  # item number, kind, signed quantity, posting date


def ledger_reads(sim: BusinessCentral, since: int = 0) -> list[Received]:
    """The requests for item ledger entries, from the ``since``-th request the API received."""
    return [r for r in sim.log.received[since:] if r.path.endswith("/itemLedgerEntries")]


def modified_since(read: Received) -> datetime | None:
    """Where a ledger read's window starts (``lastModifiedDateTime ge …`` in its $filter), or None."""
    text = read.query.get("$filter") or ""
    prefix = "lastModifiedDateTime ge "
    return datetime.fromisoformat(text.removeprefix(prefix).replace("Z", "+00:00")) if text.startswith(prefix) else None


def inputs(sim: BusinessCentral, **changed: str) -> dict[str, str]:
    """What the person types: four fields (the environment keeps its default). The token URL is typed only because
    the simulated Entra ID is not at login.microsoftonline.com."""
    typed = {
        "tenant_id": sim.tenant,
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
        "company": sim.company.name,
        "token_url": sim.token_url,
    }
    return {**typed, **changed}


@dataclass(frozen=True)
class Truth:
    items: dict[str, tuple[str, str]]  # id -> (number, display name), stock items only
    locations: dict[str, str]  # id -> code
    balances: dict[str, Decimal]  # number -> inventory
    movements: dict[int, Movement]  # entry number -> what it must become
    set_aside: set[int]  # entry numbers of items that are not stock (non-inventory): unknown items to Atlas
    transfers: int
    skipped_items: int


def truth(company: BcCompany) -> Truth:
    with company.lock:
        stock = company.truth_items()
        movements = {
            e.entry_number: (e.item_number, KINDS[e.entry_type], e.quantity, e.posting_date)
            for e in company.entries
            if e.entry_type != "Transfer" and e.item_number in stock
        }
        return Truth(
            {i.id: (i.number, i.display_name) for i in stock.values()},
            {loc.id: loc.code for loc in company.locations.values()},
            company.truth_balances(),
            movements,
            {e.entry_number for e in company.entries if e.entry_type != "Transfer" and e.item_number not in stock},
            len(company.entries_of_type("Transfer")),
            len(company.items) - len(stock),
        )


def movements(stack: Any, connected: journey.Connected) -> dict[int, tuple[str, str, Decimal, date, str]]:
    rows = stack.atlas.sql(
        """SELECT m.external_id, i.sku, m.kind, m.quantity, m.occurred_at, l.external_id
           FROM stock_movements m JOIN items i ON i.id = m.item_id JOIN locations l ON l.id = m.location_id
           WHERE m.tenant_id = %s AND m.connector_id = %s""",
        (connected.tenant_id, connected.connector_id),
    )
    return {int(e): (sku, kind, q, when.date(), loc) for e, sku, kind, q, when, loc in rows}


def by_number(stack: Any, connected: journey.Connected, source: Truth) -> dict[str, tuple[Decimal, str]]:
    """Atlas's balances by item number: (quantity, location external id)."""
    numbers = {item_id: number for item_id, (number, _) in source.items.items()}
    return {numbers[item]: (q, loc) for (item, loc), (q, _, _) in journey.balances(stack, connected).items()}


# --- the preset over every record the simulation serves, without the stack --------------------------------------


def test_the_base_and_token_urls_are_built_from_the_tenant_and_environment() -> None:
    rendered = filled(
        "business_central",
        None,
        {"tenant_id": "contoso.onmicrosoft.com", "client_id": "c", "client_secret": "s", "company": "CRONUS USA, Inc."},
    )
    connector = rendered.connector
    assert connector["base_url"] == (
        "https://api.businesscentral.dynamics.com/v2.0/contoso.onmicrosoft.com/production/api/v2.0"
    )
    assert (
        connector["auth"]["token_url"] == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    )
    assert connector["auth"]["scopes"] == "https://api.businesscentral.dynamics.com/.default"
    assert connector["endpoints"][0]["params"]["$filter"] == "name eq 'CRONUS USA, Inc.'"


def test_the_preset_reads_and_maps_every_record_exactly() -> None:
    with business_central(company=bc_company(messy=True), page_size=40) as sim:
        rendered = filled("business_central", sim.base_url, inputs(sim))
        source = truth(sim.company)
        items = read_and_map(rendered, "items")
        assert items.errors == [] and len(items.skipped) == source.skipped_items
        assert {r["external_id"]: (r["sku"], r["name"]) for r in items.rows} == source.items
        stock = read_and_map(rendered, "stock")
        assert stock.errors == [] and {r["item_ref"]: r["quantity"] for r in stock.rows} == source.balances
        assert all(r["location_ref"] is None for r in stock.rows)  # the "no location" bucket
        ledger = read_and_map(rendered, "ledger")
        assert ledger.errors == [] and len(ledger.skipped) == source.transfers
        mapped = {
            int(r["external_id"]): (r["item_ref"], r["kind"], r["quantity"], r["occurred_at"].date())
            for r in ledger.rows
        }
        assert {n: m for n, m in mapped.items() if n not in source.set_aside} == source.movements
        assert sim.tokens_issued == 3  # one token per connector session, reused across pages
        assert all(r.headers["authorization"].startswith("Bearer ") for r in sim.log.received)
        # Only OData's own options go out (no page-size parameter BC does not document); the ledger's first window
        # reaches back before anything the company holds.
        assert all(name.startswith("$") for r in sim.log.received for name in r.query)
        starts = [modified_since(r) for r in ledger_reads(sim)]
        assert starts and all(start is not None and start.year < 1928 for start in starts)


# --- end to end, through the running Atlas ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> Iterator[BusinessCentral]:
    other = bc_company(seed=5, count=10)
    other.name = other.display_name = "CRONUS Canada, Inc."  # another company of the environment: never read
    # The company's postings were made three weeks ago (their lastModifiedDateTime).
    company = bc_company(messy=True, entered=datetime.now(UTC) - timedelta(days=21))
    with business_central(company=company, others=[other], page_size=40) as server:
        yield server


@pytest.fixture(scope="module")
def first(stack: Any, sim: BusinessCentral) -> tuple[journey.Connected, dict[str, Any], Truth]:
    connected = journey.connect(stack, "business_central", sim.base_url, inputs(sim))
    run = journey.sync(connected)
    return connected, run, truth(sim.company)


def test_connecting_tests_every_endpoint_of_the_named_company(
    first: tuple[journey.Connected, dict[str, Any], Truth], sim: BusinessCentral
) -> None:
    connected, _, _ = first
    answer = connected.answer
    endpoints = ["company", "items", "locations", "stock", "ledger", "po_lines"]
    assert [c["endpoint"] for c in answer["checks"]] == endpoints
    assert all(c["ok"] for c in answer["checks"]), answer["checks"]
    assert sorted(m["endpoint_key"] for m in answer["mappings"]) == sorted(endpoints[1:])
    assert answer["connector"]["auth"]["client_secret"] != sim.client_secret
    assert all(f"companies({sim.company.id})" in c["url"] for c in answer["checks"][1:])
    assert all(f"companies({sim.others[0].id})" not in r.path for r in sim.log.received)


def test_after_the_first_sync_items_balances_and_movements_equal_the_source(
    stack: Any, first: tuple[journey.Connected, dict[str, Any], Truth]
) -> None:
    connected, run, source = first
    assert run["status"] in ("succeeded", "needs_attention"), (run["error"], run.get("attention"))
    assert run["error"] is None
    held = journey.items(stack, connected)
    assert {item_id: (sku, name) for item_id, (sku, name, _, _) in held.items()} == source.items
    assert {item_id: code for item_id, (code, _) in journey.locations(stack, connected).items()} == source.locations
    balances = by_number(stack, connected, source)
    exact = sum(1 for number, q in source.balances.items() if balances.get(number) == (q, UNASSIGNED))
    assert exact == len(source.balances) == len(balances), f"{exact} of {len(source.balances)} balances exact"
    atlas = movements(stack, connected)
    expected = {n: (*m, UNASSIGNED) for n, m in source.movements.items()}
    assert atlas == expected, f"{sum(1 for n in expected if atlas.get(n) == expected[n])} of {len(expected)}"


def test_the_first_runs_counts_are_honest_and_each_set_aside_entry_is_explained(
    first: tuple[journey.Connected, dict[str, Any], Truth],
) -> None:
    connected, run, source = first
    stats = run["stats"]
    assert stats["items"]["skipped"] == source.skipped_items and stats["items"]["written"] == len(source.items)
    assert stats["stock_balances"]["written"] == len(source.balances)
    ledger = stats["stock_movements"]
    assert ledger["read"] == len(source.movements) + len(source.set_aside) + source.transfers
    assert ledger["skipped"] == source.transfers and ledger["written"] == len(source.movements)
    assert run["summary"]["set_aside"] == len(source.set_aside) == 3
    aside = journey.set_aside(connected)
    assert {int(r["raw"]["entryNumber"]) for r in aside} == source.set_aside
    for record in aside:  # each one: an entry of an item Atlas does not hold (a skipped non-inventory item)
        assert record["endpoint_key"] == "ledger" and record["raw"]["itemNumber"].startswith("NI-")
        assert [(e["field"], e["code"]) for e in record["errors"]] == [("item_ref", "unknown_item")]


def test_the_source_changes_a_token_expires_mid_read_and_the_second_sync_is_exact_again(
    stack: Any, sim: BusinessCentral, first: tuple[journey.Connected, dict[str, Any], Truth]
) -> None:
    connected, first_run = first[0], first[1]
    company = sim.company
    company.clock = datetime.now(UTC)  # the company posts on today
    since = len(sim.log.received)
    numbers = sorted(company.truth_items())
    company.sell(numbers[0], "MAIN", Decimal(3), "S-9001")
    company.purchase(numbers[1], "EAST", Decimal("12.5"), "P-9001")
    company.adjust(numbers[2], "WEST", Decimal("-0.25"), "PHYS-9001")
    company.transfer(numbers[3], "MAIN", "OUT. LOG.", Decimal(2), "T-9001")
    company.add_item(BcItem("2000-S", "New desk", type=INVENTORY))
    company.purchase("2000-S", "MAIN", Decimal(7), "P-9002")
    company.block(numbers[4])
    issued, rejected = sim.tokens_issued, sim.rejected
    sim.expire_tokens_after(3)  # every token dies after three more reads: in the middle of the sync
    run = journey.sync(connected)
    assert run["error"] is None, run["error"]
    source = truth(company)
    assert sim.rejected > rejected and sim.tokens_issued > issued + 1  # refused, a new token, read on
    balances = by_number(stack, connected, source)
    assert balances == {number: (q, UNASSIGNED) for number, q in source.balances.items()}
    assert balances["2000-S"] == (7, UNASSIGNED)
    atlas = movements(stack, connected)
    assert atlas == {n: (*m, UNASSIGNED) for n, m in source.movements.items()}
    assert {int(r["raw"]["entryNumber"]) for r in journey.set_aside(connected)} == source.set_aside
    # Incremental: the ledger was asked only for entries modified since a day before the first sync (one page where
    # the first sync read eleven), and read a handful of entries where the first read them all.
    later = ledger_reads(sim, since)
    began = datetime.fromisoformat(first_run["started_at"].replace("Z", "+00:00"))
    finished = datetime.fromisoformat(first_run["finished_at"].replace("Z", "+00:00"))
    starts = {modified_since(r) for r in later}
    assert len(starts) == 1 and len(later) == 1, later
    (start,) = starts
    assert start is not None and began - timedelta(days=1, seconds=1) <= start <= finished - timedelta(days=1)
    assert len(ledger_reads(sim)) - len(later) > 10  # the first sync (and the connect check) paged through all
    read_first = first_run["stats"]["stock_movements"]["read"]
    read_second = run["stats"]["stock_movements"]["read"]
    assert read_second == 6 and read_first > 400, (read_first, read_second)  # the six entries posted since


def test_a_clean_company_sets_nothing_aside(stack: Any) -> None:
    with business_central(company=bc_company(seed=3, count=20), page_size=40) as clean:
        connected = journey.connect(stack, "business_central", clean.base_url, inputs(clean))
        run = journey.sync(connected)
        assert run["status"] == "succeeded" and run["summary"]["set_aside"] == 0, run["summary"]
        source = truth(clean.company)
        assert by_number(stack, connected, source) == {n: (q, UNASSIGNED) for n, q in source.balances.items()}
        assert journey.set_aside(connected) == []


def test_a_wrong_secret_or_company_is_a_clear_422_and_nothing_is_stored(stack: Any, sim: BusinessCentral) -> None:
    admin, me = stack.atlas.new_tenant()
    english = {"Accept-Language": "en"}
    wrong = admin.post(
        "/api/presets/business_central/connect",
        json={"base_url": sim.base_url, "inputs": inputs(sim, client_secret="a secret id, not its value")},
        headers=english,
    )
    assert wrong.status_code == 422, wrong.text
    assert wrong.json()["field"] == "inputs" and "AADSTS7000215" in wrong.json()["detail"]
    assert "a secret id, not its value" not in wrong.text
    company = admin.post(
        "/api/presets/business_central/connect",
        json={"base_url": sim.base_url, "inputs": inputs(sim, company="CRONUS USA")},
        headers=english,
    )
    assert company.status_code == 422, company.text
    problem = company.json()
    assert problem["field"] == "inputs" and "company's name" in problem["detail"] and "/companies" in problem["detail"]
    assert journey.nothing_stored(stack, me["tenant_id"])
