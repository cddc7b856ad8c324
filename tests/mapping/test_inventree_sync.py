"""Atlas against a faithful InvenTree simulation, end to end: the running Atlas (web app, Temporal, a worker,
PostgreSQL) reads the simulated server through the reference connector and mappings (tests/sims/inventree_setup.py)
and must hold exactly what the simulation knows it holds.

The simulation's truth is computed from its own state (``InvenTreeData.truth_*``), never from what Atlas read.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from atlas.mapping.engine import Skipped, compile_mapping
from tests.sims.inventree import InvenTreeApi, inventree_server
from tests.sims.inventree_data import SERIALS_IN_ONE_PLACE, populate
from tests.sims.inventree_model import (
    BUILD_CONSUMED,
    CREATED,
    SPLIT_CHILD_ITEM,
    SPLIT_FROM_PARENT,
    STOCK_ADD,
    STOCK_COUNT,
    STOCK_REMOVE,
    InvenTreeData,
    StockItem,
)
from tests.sims.inventree_render import Renderer
from tests.sims.inventree_setup import INVENTREE_MAPPINGS, MOVEMENT_KINDS, inventree_connector_body

UNASSIGNED = "atlas:unassigned"
FINISHED = ("succeeded", "needs_attention", "failed")
STOCK_PAGE = 200
Pair = tuple[int, int | None]
Balances = dict[Pair, tuple[Decimal, Decimal]]


# --- helpers -------------------------------------------------------------------------------------------


@dataclass
class Tenant:
    admin: Any
    tenant_id: str
    connector_id: str


def connect(stack: Any, sim: InvenTreeApi, **body: Any) -> Tenant:
    """A new tenant connected as a customer connects: the InvenTree preset, the base URL and the token. With
    ``body`` (a variation of the preset: another stock page size, incremental stock reads) the varied connector
    and the preset's mappings are created through the connector and mapping APIs instead."""
    admin, me = stack.atlas.new_tenant()
    if not body or body == {"stock_page": STOCK_PAGE}:
        answer = admin.post(
            "/api/presets/inventree/connect", json={"base_url": sim.base, "inputs": {"token": sim.token}}
        )
        assert answer.status_code == 201, answer.text
        connected = answer.json()
        assert all(check["ok"] for check in connected["checks"]), connected["checks"]
        assert sorted(m["endpoint_key"] for m in connected["mappings"]) == sorted(INVENTREE_MAPPINGS)
        return Tenant(admin, me["tenant_id"], connected["connector"]["id"])
    created = admin.post("/api/connectors", json=inventree_connector_body(sim.base, **body))
    assert created.status_code == 201, created.text
    connector_id = created.json()["id"]
    for key, spec in INVENTREE_MAPPINGS.items():
        response = admin.post(
            "/api/mappings",
            json={"connector_id": connector_id, "endpoint_key": key, "spec": spec, "note": "InvenTree reference"},
        )
        assert response.status_code == 201, response.text
    return Tenant(admin, me["tenant_id"], connector_id)


def sync(tenant: Tenant, timeout: float = 300) -> dict[str, Any]:
    started = tenant.admin.post(f"/api/connectors/{tenant.connector_id}/sync")
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = tenant.admin.get(f"/api/syncs/{run_id}").json()
        if run["status"] in FINISHED:
            return run  # type: ignore[no-any-return]
        time.sleep(0.3)
    raise AssertionError(f"sync {run_id} did not finish: {tenant.admin.get(f'/api/syncs/{run_id}').json()}")


def _location(external_id: str) -> int | None:
    return None if external_id == UNASSIGNED else int(external_id)


def atlas_balances(stack: Any, tenant: Tenant) -> dict[Pair, tuple[Decimal, Decimal, Decimal]]:
    """Every balance Atlas holds for the connector, keyed by InvenTree's part pk and location pk (None: the
    connector's "no location" bucket): (quantity, reserved, available)."""
    rows = stack.atlas.sql(
        """SELECT i.external_id, l.external_id, b.quantity, b.reserved_qty, b.available_qty
           FROM stock_balances b JOIN items i ON i.id = b.item_id JOIN locations l ON l.id = b.location_id
           WHERE b.tenant_id = %s AND b.connector_id = %s""",
        (tenant.tenant_id, tenant.connector_id),
    )
    return {(int(part), _location(loc)): (q, r, a) for part, loc, q, r, a in rows}


def held(balances: dict[Pair, tuple[Decimal, Decimal, Decimal]]) -> Balances:
    """The balances that hold something (a vanished balance is kept at zero)."""
    return {pair: (q, r) for pair, (q, r, _) in balances.items() if q != 0 or r != 0}


@dataclass(frozen=True)
class Movement:
    part: int
    location: int | None
    kind: str
    quantity: Decimal
    is_count: bool


def atlas_movements(stack: Any, tenant: Tenant) -> dict[int, Movement]:
    rows = stack.atlas.sql(
        """SELECT m.external_id, i.external_id, l.external_id, m.kind, m.quantity, m.is_count
           FROM stock_movements m JOIN items i ON i.id = m.item_id JOIN locations l ON l.id = m.location_id
           WHERE m.tenant_id = %s AND m.connector_id = %s""",
        (tenant.tenant_id, tenant.connector_id),
    )
    return {int(pk): Movement(int(part), _location(loc), kind, q, c) for pk, part, loc, kind, q, c in rows}


def expected_movements(data: InvenTreeData) -> dict[int, Movement]:
    """What each tracking entry the source has now must become, from the simulation's own history: entries of
    serialised items and entries that change no quantity are skipped; a count is counted minus the stock row's
    quantity just before it; the location is where the stock row is now (the only one the API gives)."""
    kinds = {int(code): kind for code, kind in MOVEMENT_KINDS.items()}
    expected: dict[int, Movement] = {}
    for truth in data.truth_track():
        entry = data.tracking[truth.pk]
        item = data.items[truth.item]
        if item.serial or (truth.tracking_type not in kinds and truth.tracking_type != STOCK_COUNT):
            continue
        if truth.tracking_type == STOCK_COUNT:
            assert truth.change is not None
            expected[truth.pk] = Movement(truth.part, truth.location, "adjustment", truth.change, True)
            continue
        deltas = entry.deltas
        amount = {
            CREATED: deltas.get("quantity"),
            STOCK_ADD: deltas.get("added"),
            STOCK_REMOVE: deltas.get("removed"),
            SPLIT_FROM_PARENT: deltas.get("quantity"),
            SPLIT_CHILD_ITEM: deltas.get("removed"),
            BUILD_CONSUMED: deltas.get("quantity"),
        }[truth.tracking_type]
        quantity = Decimal(repr(amount))
        if truth.tracking_type in (STOCK_REMOVE, SPLIT_CHILD_ITEM, BUILD_CONSUMED):
            quantity = -quantity
        expected[truth.pk] = Movement(truth.part, truth.location, kinds[truth.tracking_type], quantity, False)
    return expected


def stock_pages(data: InvenTreeData, page: int) -> dict[Pair, set[int]]:
    """On which pages of ``/api/stock/?limit=page`` each pair's rows come (the server's own default ordering)."""
    ordered = InvenTreeApi(data, None, "127.0.0.1", 0).ordered_stock()
    pages: dict[Pair, set[int]] = {}
    for position, item in enumerate(ordered):
        pages.setdefault((item.part, item.location), set()).add(position // page)
    return pages


def single_row_pair(data: InvenTreeData, *, exclude: frozenset[Pair] | set[Pair] = frozenset()) -> StockItem:
    """A stock row that is the only one of its pair, in stock and not serialised."""
    rows: dict[Pair, list[StockItem]] = {}
    for item in data.items.values():
        rows.setdefault((item.part, item.location), []).append(item)
    for pair, items in sorted(rows.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        item = items[0]
        if len(items) == 1 and pair not in exclude and item.in_stock and not item.serial and item.location:
            return item
    raise AssertionError("no single-row pair")


def row_of_shared_pair(data: InvenTreeData, *, exclude: frozenset[Pair] | set[Pair] = frozenset()) -> StockItem:
    """A stock row whose pair has other rows (lots), in stock and not serialised."""
    rows: dict[Pair, list[StockItem]] = {}
    for item in data.items.values():
        rows.setdefault((item.part, item.location), []).append(item)
    for pair, items in sorted(rows.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        if len(items) > 2 and pair not in exclude and pair[1] is not None:
            for item in sorted(items, key=lambda i: i.pk):
                if item.in_stock and not item.serial:
                    return item
    raise AssertionError("no shared pair")


# --- the mappings over every record the simulation serves (no stack needed) ----------------------------


def test_the_reference_mappings_map_every_record_the_simulation_serves() -> None:
    data = InvenTreeData()
    populate(data, seed=14, as_of=datetime.now(UTC))
    render = Renderer(data)
    records = {
        "parts": ("items", [render.part(p) for p in data.parts.values()]),
        "locations": ("locations", [render.location(loc) for loc in data.locations.values()]),
        "stock": ("stock_balances", [render.stock(i) for i in data.items.values()]),
        "history": (
            "stock_movements",
            [render.track(e, item_detail=True, list_view=True) for e in data.tracking.values()],
        ),
    }
    mapped: dict[str, list[Any]] = {}
    for key, (resource, rows) in records.items():
        mapping = compile_mapping(resource, INVENTREE_MAPPINGS[key], strict=True)
        mapped[key] = mapping.map_many(rows)
        assert not [m for m in mapped[key] if isinstance(m, list)], key  # nothing set aside
    skus = {row["external_id"]: row["sku"] for row in mapped["parts"]}
    for part in data.parts.values():
        assert skus[str(part.pk)] == (part.IPN or str(part.pk))  # IPN, else the pk
    assert mapped["stock"][0]["source_id"] == str(next(iter(data.items)))
    movements = [m for m in mapped["history"] if isinstance(m, dict)]
    skipped = [m for m in mapped["history"] if isinstance(m, Skipped)]
    assert len(movements) == len(expected_movements(data)) and len(skipped) == len(data.tracking) - len(movements)
    for row in movements:
        entry = data.tracking[int(row["external_id"])]
        assert row["item_ref"] == str(data.items[entry.item].part)  # the part, never the stock row's pk


# --- one tenant, read in full, then the source lives on ------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> Iterator[InvenTreeApi]:
    with inventree_server(seed=14) as api:
        yield api


@dataclass(frozen=True)
class Snapshot:
    """The source's truth at the moment a sync finished (later tests change the source)."""

    balances: Balances
    movements: dict[int, Movement]
    rows: int
    parts: int
    locations: int
    entries: int
    rows_per_pair: dict[Pair, int]
    across_pages: list[Pair]  # pairs whose rows come on more than one page of the stock list


def snapshot(data: InvenTreeData) -> Snapshot:
    with data.lock:
        rows_per_pair: dict[Pair, int] = {}
        for item in data.items.values():
            rows_per_pair[(item.part, item.location)] = rows_per_pair.get((item.part, item.location), 0) + 1
        across = [pair for pair, pages in stock_pages(data, STOCK_PAGE).items() if len(pages) > 1]
        return Snapshot(
            data.truth_balances(),
            expected_movements(data),
            len(data.items),
            len(data.parts),
            len(data.locations),
            len(data.tracking),
            rows_per_pair,
            across,
        )


@pytest.fixture(scope="module")
def first(stack: Any, sim: InvenTreeApi) -> tuple[Tenant, dict[str, Any], Snapshot]:
    tenant = connect(stack, sim, stock_page=STOCK_PAGE)
    run = sync(tenant)
    return tenant, run, snapshot(sim.data)


def test_after_a_sync_every_balance_equals_the_source_exactly(
    stack: Any, sim: InvenTreeApi, first: tuple[Tenant, dict[str, Any], Snapshot]
) -> None:
    tenant, run, source = first
    assert run["status"] == "succeeded", (run["error"], run["attention"])
    landmarks = sim.landmarks
    assert landmarks is not None
    truth = source.balances
    atlas = atlas_balances(stack, tenant)
    assert held(atlas) == truth
    assert all(a == q - r for q, r, a in atlas.values())  # available is derived
    # The things a last-row-wins reader gets wrong, one by one.
    serials = (landmarks.serial_part, landmarks.serial_location)
    assert atlas[serials][0] == SERIALS_IN_ONE_PLACE == truth[serials][0]
    lots = [pair for pair, n in source.rows_per_pair.items() if n > 1 and pair[0] != landmarks.serial_part]
    assert lots and all(atlas[pair][:2] == truth[pair] for pair in lots)
    across = source.across_pages
    assert across and all(atlas[pair][:2] == truth[pair] for pair in across)  # a pair split across pages
    unplaced = [pair for pair in truth if pair[1] is None]
    assert unplaced and all(atlas[pair][:2] == truth[pair] for pair in unplaced)  # the "no location" bucket
    assert sum(q for q, _ in truth.values()) == sum(q for q, _, _ in atlas.values())
    assert sum(r for _, r in truth.values()) == sum(r for _, r, _ in atlas.values())
    # Atlas read the way InvenTree must be read: GET only, Token auth, every path ending in its slash.
    seen = sim.requests()
    assert seen and all(s.method == "GET" for s in seen)
    assert all(s.path.endswith("/") for s in seen)
    assert all(s.authorization == f"Token {sim.token}" for s in seen)


def test_the_runs_counts_are_honest(first: tuple[Tenant, dict[str, Any], Snapshot]) -> None:
    _, run, source = first
    stats = run["stats"]
    pairs = len(source.balances)
    balances = stats["stock_balances"]
    assert balances["read"] == source.rows and balances["written"] == source.rows
    assert balances["balances"] == pairs and balances["combined"] == source.rows - pairs
    assert balances["quarantined"] == 0 and balances["skipped"] == 0 and balances.get("vanished", 0) == 0
    assert stats["items"]["read"] == stats["items"]["written"] == source.parts
    assert stats["locations"]["read"] == source.locations  # Atlas's "no location" bucket is not a read
    movements = stats["stock_movements"]
    expected = source.movements
    assert movements["read"] == source.entries
    assert movements["written"] == len(expected)
    assert movements["skipped"] == source.entries - len(expected)
    assert movements["quarantined"] == 0
    counts = sum(1 for m in expected.values() if m.is_count)
    assert movements["counts"] == counts and movements["counts_unresolved"] == 0
    # Open purchase-order lines (tests/presets/test_open_orders_inventree.py checks each against the source).
    open_orders = stats["open_orders"]
    assert open_orders["read"] == open_orders["written"] > 0 and open_orders["quarantined"] == 0
    summary = run["summary"]
    assert summary["read"] == source.parts + source.locations + source.rows + source.entries + open_orders["read"]
    assert summary["set_aside"] == 0 and summary["skipped"] == source.entries - len(expected)


def test_movements_land_on_parts_and_counts_become_adjustments_of_the_difference(
    stack: Any, sim: InvenTreeApi, first: tuple[Tenant, dict[str, Any], Snapshot]
) -> None:
    tenant, _, source = first
    expected = source.movements
    atlas = atlas_movements(stack, tenant)
    assert set(expected) <= set(atlas)
    wrong = {pk: (atlas[pk], expected[pk]) for pk in expected if atlas[pk] != expected[pk]}
    assert not wrong, f"{len(wrong)} movements differ, e.g. {list(wrong.items())[:3]}"
    counts = [pk for pk, m in expected.items() if m.is_count]
    assert counts and any(expected[pk].quantity != 0 for pk in counts)
    # A stock row's pk is never taken for a part: entries whose stock row's pk is also some part's pk land on the
    # stock row's own part.
    stock_row = {pk: sim.data.tracking[pk].item for pk in expected if pk in sim.data.tracking}
    confusable = [pk for pk, row in stock_row.items() if row in sim.data.parts and sim.data.items[row].part != row]
    assert confusable and all(atlas[pk].part == expected[pk].part != stock_row[pk] for pk in confusable)


@dataclass
class Changes:
    deleted: StockItem  # the only row of its pair: used up, deleted with its history
    deleted_quantity: Decimal
    reduced: StockItem  # one of several rows of its pair: used up
    moved: StockItem  # moved whole to another location (same pk)
    moved_from: Pair
    counted: StockItem
    count_change: Decimal


@pytest.fixture(scope="module")
def changed(
    stack: Any, sim: InvenTreeApi, first: tuple[Tenant, dict[str, Any], Snapshot]
) -> tuple[Changes, dict[str, Any], Snapshot]:
    """The source lives on after the first sync: stock is used up (deleted with its history), moved, counted,
    added to, split and reserved; then a second full read."""
    tenant = first[0]
    data = sim.data
    deleted = single_row_pair(data)
    reduced = row_of_shared_pair(data, exclude={(deleted.part, deleted.location)})
    untouched = {(deleted.part, deleted.location), (reduced.part, reduced.location)}
    moved = row_of_shared_pair(data, exclude=untouched)
    moved_from = (moved.part, moved.location)
    counted = row_of_shared_pair(data, exclude=untouched | {moved_from})
    other = next(loc for loc in sorted(data.locations) if loc != moved.location and not data.locations[loc].structural)
    deleted_quantity = deleted.quantity
    data.use_up(deleted.pk)
    data.use_up(reduced.pk)
    data.move_stock(moved.pk, other)
    before = counted.quantity
    data.count_stock(counted.pk, before + 7)
    data.add_stock(counted.pk, 2)
    data.split_stock(counted.pk, 1)
    data.allocate(counted.pk, 3)
    changes = Changes(deleted, deleted_quantity, reduced, moved, moved_from, counted, Decimal(7))
    run = sync(tenant)
    return changes, run, snapshot(data)


def test_a_full_read_zeroes_what_the_source_used_up_and_keeps_it(
    stack: Any,
    sim: InvenTreeApi,
    first: tuple[Tenant, dict[str, Any], Snapshot],
    changed: tuple[Changes, dict[str, Any], Snapshot],
) -> None:
    tenant = first[0]
    changes, run, source = changed
    assert run["status"] == "succeeded", (run["error"], run["attention"])
    truth = source.balances
    atlas = atlas_balances(stack, tenant)
    gone = (changes.deleted.part, changes.deleted.location)
    assert gone not in truth and atlas[gone][:2] == (0, 0)  # kept, at zero
    assert held(atlas) == truth
    reduced = (changes.reduced.part, changes.reduced.location)
    assert atlas[reduced][:2] == truth[reduced]
    stats = run["stats"]["stock_balances"]
    assert stats["vanished"] == 1 and stats["reduced"] == 1
    events = stack.atlas.sql(
        "SELECT payload FROM audit_events WHERE tenant_id = %s AND event_type = 'balance_vanished'",
        (tenant.tenant_id,),
    )
    assert len(events) == 1
    payload = events[0][0]
    assert payload["sync_run_id"] == run["id"] and payload["location_code"] == str(changes.deleted.location)
    assert Decimal(payload["previous_quantity"]) == changes.deleted_quantity


def test_a_record_that_moved_leaves_its_old_pair(
    stack: Any,
    sim: InvenTreeApi,
    first: tuple[Tenant, dict[str, Any], Snapshot],
    changed: tuple[Changes, dict[str, Any], Snapshot],
) -> None:
    tenant = first[0]
    changes, _, source = changed
    truth = source.balances
    atlas = atlas_balances(stack, tenant)
    now_at = (changes.moved.part, changes.moved.location)
    assert changes.moved.location != changes.moved_from[1]
    assert atlas[changes.moved_from][:2] == truth[changes.moved_from]
    assert atlas[now_at][:2] == truth[now_at]
    parts = stack.atlas.sql(
        """SELECT l.external_id FROM stock_balance_parts p JOIN locations l ON l.id = p.location_id
           WHERE p.tenant_id = %s AND p.connector_id = %s AND p.source_id = %s""",
        (tenant.tenant_id, tenant.connector_id, str(changes.moved.pk)),
    )
    assert parts == [(str(changes.moved.location),)]


def test_a_new_count_is_an_adjustment_of_counted_minus_the_level_before(
    stack: Any,
    sim: InvenTreeApi,
    first: tuple[Tenant, dict[str, Any], Snapshot],
    changed: tuple[Changes, dict[str, Any], Snapshot],
) -> None:
    tenant = first[0]
    changes, run, source = changed
    count = max(
        (t for t in sim.data.truth_track() if t.tracking_type == STOCK_COUNT and t.item == changes.counted.pk),
        key=lambda t: t.pk,
    )
    assert count.change == changes.count_change
    atlas = atlas_movements(stack, tenant)
    assert atlas[count.pk].kind == "adjustment" and atlas[count.pk].quantity == changes.count_change
    expected = source.movements
    assert {pk: atlas[pk] for pk in expected} == expected
    gone = set(first[2].movements) - set(expected)  # the history of stock used up since: gone at the source
    assert gone and gone <= set(atlas)  # but what Atlas read of it stays
    assert run["stats"]["stock_movements"]["counts_unresolved"] == 0


# --- a source that suddenly answers far fewer balances ---------------------------------------------------


def test_a_source_answering_60_percent_fewer_balances_trips_the_safety_threshold(stack: Any) -> None:
    with inventree_server(seed=15) as sim:
        tenant = connect(stack, sim)
        assert sync(tenant)["status"] == "succeeded"
        before = atlas_balances(stack, tenant)
        assert held(before) == sim.data.truth_balances()
        hidden = sim.data.answer_without_pairs(0.6)
        run = sync(tenant)
        assert run["status"] == "needs_attention", run
        assert atlas_balances(stack, tenant) == before  # nothing zeroed
        cause = next(c for c in run["attention"] if c["reason"] == "vanish_refused")
        assert cause["would_zero"] == len(hidden) and cause["limit"] == 0.2
        assert cause["balances"] == len(before)
        # The message names the count and the setting, in the reader's language (Arabic by default).
        english = tenant.admin.get(f"/api/syncs/{run['id']}", headers={"Accept-Language": "en"}).json()
        sentence = english["summary"]["attention"][0]
        assert f"would have set {len(hidden):,} of {len(before):,} balances to zero" in sentence
        assert "(20%)" in sentence and "Largest share of balances a sync may zero" in sentence
        arabic = run["summary"]["attention"][0]
        assert f"\u2066{len(hidden):,}\u2069" in arabic and "أكبر نسبة من الأرصدة قد تُصفِّرها مزامنة" in arabic
        assert run["stats"]["stock_balances"].get("vanished", 0) == 0
        events = stack.atlas.sql(
            "SELECT count(*) FROM audit_events WHERE tenant_id = %s AND event_type = 'balance_vanished'",
            (tenant.tenant_id,),
        )
        assert events == [(0,)]


# --- an incremental (time-window) read -----------------------------------------------------------------


def test_an_incremental_read_of_one_changed_lot_updates_only_that_lot_and_zeroes_nothing(stack: Any) -> None:
    # 120 parts, not the default 500: the point is which balances one narrow read touches, not the size of the read
    # (the first read still spans several stock pages, with lots, splits and serials). At 500 parts every sync
    # leaves an analysis of ~300 recommendations and their approval workflows running beside the next one.
    with inventree_server(seed=16, parts=120) as sim:
        tenant = connect(stack, sim, incremental_stock=True)
        first_run = sync(tenant)
        assert first_run["status"] == "succeeded", first_run
        data = sim.data
        before = atlas_balances(stack, tenant)
        assert held(before) == data.truth_balances()
        lot = row_of_shared_pair(data)
        lot_pair = (lot.part, lot.location)
        gone = single_row_pair(data, exclude={lot_pair})
        gone_pair = (gone.part, gone.location)
        reserved = row_of_shared_pair(data, exclude={lot_pair, gone_pair})
        today = datetime.now(UTC).date()
        data.add_stock(lot.pk, 5)  # today: inside the date window
        data.use_up(gone.pk)  # deleted: an incremental read cannot see that
        data.allocate(reserved.pk, 1)  # InvenTree does not touch `updated` for a reservation
        seen_before = len(sim.requests("/api/stock/"))
        run = sync(tenant)
        assert run["status"] == "succeeded", (run["error"], run["attention"])
        after = atlas_balances(stack, tenant)
        changed = {pair for pair in after if after[pair] != before.get(pair)}
        assert changed == {lot_pair}
        assert after[lot_pair][:2] == data.truth_balances()[lot_pair]  # the pair's sum, not the lot alone
        assert after[gone_pair] == before[gone_pair]  # an incremental read never zeroes
        assert run["stats"]["stock_balances"].get("vanished", 0) == 0
        stock_reads = sim.requests("/api/stock/")[seen_before:]
        assert stock_reads
        for seen in stock_reads:
            after_date = seen.query["updated_after"][-1]
            assert len(after_date) == 10 and datetime.strptime(after_date, "%Y-%m-%d")
        windows_end = max(s.query.get("updated_before", ["9999-12-31"])[-1] for s in stock_reads)
        assert windows_end > today.isoformat()  # a date-only end is exclusive: the window ends after today
