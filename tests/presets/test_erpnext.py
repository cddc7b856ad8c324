"""The ERPNext preset end to end: a new tenant connects a simulated ERPNext v15 site as a customer does (the base
URL, the API key and secret, the preset), syncs through the running Atlas (web app, Temporal, a worker,
PostgreSQL), and must hold exactly what the site holds; then the site lives on and a second sync, which reads the
ledger only from where the first left off (the window's start inside Frappe's JSON filter), must hold it again.

The site's truth comes from the simulation's own state (``StockData.truth_*``, replayed from its ledger and orders),
never from what Atlas read. Every record Atlas did not write is accounted for by name: skipped service items,
templates and group warehouses, and the Bin of an item that stopped being a stock item (set aside: unknown item).
The opening-stock reconciliations resolve from zero: the preset reads the whole ledger (``complete_history``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from atlas.presets.loader import load_presets
from tests.presets.engine_reads import filled, read_and_map
from tests.sims.frappe import API_KEY, API_SECRET, FrappeApi, Seen, frappe_server
from tests.sims.frappe_doctypes import DOCTYPES
from tests.sims.frappe_model import ZERO, Entry, StockData, movement_key
from tests.sims.frappe_query import get_list

FINISHED = ("succeeded", "needs_attention", "failed")
PRESET = load_presets()["erpnext"]
# What each voucher type is, as a customer would expect it in Atlas (stock entries are split by sign).
KINDS = {
    "Delivery Note": "sale",
    "Sales Invoice": "sale",
    "POS Invoice": "sale",
    "Purchase Receipt": "receipt",
    "Purchase Invoice": "receipt",
    "Stock Reconciliation": "adjustment",
}
Pair = tuple[str, str]


@dataclass
class Tenant:
    admin: Any
    tenant_id: str
    connector_id: str
    connected: dict[str, Any]


def connect(stack: Any, sim: FrappeApi) -> Tenant:
    """What a person types: the site's address, the API key and the secret. Nothing else."""
    admin, me = stack.atlas.new_tenant()
    answer = admin.post(
        "/api/presets/erpnext/connect",
        json={"base_url": sim.base, "inputs": {"api_key": API_KEY, "api_secret": API_SECRET}},
    )
    assert answer.status_code == 201, answer.text
    connected = answer.json()
    assert all(check["ok"] for check in connected["checks"]), connected["checks"]
    return Tenant(admin, me["tenant_id"], connected["connector"]["id"], connected)


def sync(tenant: Tenant, timeout: float = 120) -> dict[str, Any]:
    started = tenant.admin.post(f"/api/connectors/{tenant.connector_id}/sync")
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = tenant.admin.get(f"/api/syncs/{run_id}").json()
        if run["status"] in FINISHED:
            return run  # type: ignore[no-any-return]
        time.sleep(0.3)
    raise AssertionError(f"sync {run_id} did not finish")


# --- what Atlas holds ------------------------------------------------------------------------------------


def atlas_items(stack: Any, tenant: Tenant) -> dict[str, tuple[Any, ...]]:
    rows = stack.atlas.sql(
        "SELECT external_id, sku, name, category, unit_of_measure, unit_cost FROM items "
        "WHERE tenant_id = %s AND connector_id = %s",
        (tenant.tenant_id, tenant.connector_id),
    )
    return {r[0]: tuple(r[1:]) for r in rows}


def atlas_locations(stack: Any, tenant: Tenant) -> dict[str, tuple[Any, ...]]:
    rows = stack.atlas.sql(
        "SELECT external_id, code, name, type FROM locations WHERE tenant_id = %s AND connector_id = %s",
        (tenant.tenant_id, tenant.connector_id),
    )
    return {r[0]: tuple(r[1:]) for r in rows}


def atlas_balances(stack: Any, tenant: Tenant) -> dict[Pair, tuple[Decimal, Decimal, Decimal]]:
    rows = stack.atlas.sql(
        """SELECT i.external_id, l.external_id, b.quantity, b.reserved_qty, b.available_qty
           FROM stock_balances b JOIN items i ON i.id = b.item_id JOIN locations l ON l.id = b.location_id
           WHERE b.tenant_id = %s AND b.connector_id = %s""",
        (tenant.tenant_id, tenant.connector_id),
    )
    return {(item, place): (q, r, a) for item, place, q, r, a in rows}


def held(balances: dict[Pair, tuple[Decimal, Decimal, Decimal]]) -> dict[Pair, tuple[Decimal, Decimal]]:
    return {pair: (q, r) for pair, (q, r, _) in balances.items() if q != 0 or r != 0}


@dataclass(frozen=True)
class Move:
    item: str
    warehouse: str
    kind: str
    quantity: Decimal
    is_count: bool
    occurred_at: datetime


def atlas_movements(stack: Any, tenant: Tenant) -> dict[str, Move]:
    rows = stack.atlas.sql(
        """SELECT m.external_id, i.external_id, l.external_id, m.kind, m.quantity, m.is_count, m.occurred_at
           FROM stock_movements m JOIN items i ON i.id = m.item_id JOIN locations l ON l.id = m.location_id
           WHERE m.tenant_id = %s AND m.connector_id = %s""",
        (tenant.tenant_id, tenant.connector_id),
    )
    return {key: Move(item, place, kind, q, c, at) for key, item, place, kind, q, c, at in rows}


# --- what the site holds ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Truth:
    """The site as it was when a sync finished (later tests change it)."""

    items: dict[str, tuple[Any, ...]]
    locations: dict[str, tuple[Any, ...]]
    balances: dict[Pair, tuple[Decimal, Decimal]]
    movements: dict[str, Move]
    opening_counts: set[str]  # reconciliations that open their pair's ledger: no level before them
    entries: int
    skipped_items: set[str]
    groups: set[str]
    stale_bins: set[Pair]  # bins of items that are no longer stock items


def expected_move(entry: Entry, change: Decimal | None, zone: ZoneInfo) -> Move:
    """What one ledger entry must become: cancelled entries are zero adjustments; stock entries transfers by sign;
    a reconciliation the change it made (counted minus the level before)."""
    at = entry.posting_datetime.replace(tzinfo=zone)
    if entry.is_cancelled:
        return Move(entry.item_code, entry.warehouse, "adjustment", ZERO, False, at)
    if entry.voucher_type == "Stock Entry":
        kind = "transfer_in" if entry.actual_qty > 0 else "transfer_out"
        return Move(entry.item_code, entry.warehouse, kind, entry.actual_qty, False, at)
    reconciliation = entry.voucher_type == "Stock Reconciliation"
    quantity = change if reconciliation and change is not None else entry.actual_qty
    return Move(entry.item_code, entry.warehouse, KINDS[entry.voucher_type], quantity, reconciliation, at)


def truth(data: StockData) -> Truth:
    with data.lock:
        zone = ZoneInfo(data.time_zone)
        changes = {m.key: m for m in data.truth_movements()}
        movements: dict[str, Move] = {}
        opening: set[str] = set()
        for entry in data.entries.values():
            key = movement_key(entry)
            found = changes.get(key)
            if found is not None and found.is_reconciliation and found.opens_ledger:
                opening.add(key)  # nothing before it: its change is the counted quantity, from zero
            change = found.change if found is not None else None
            movements[key] = expected_move(entry, change, zone)
        items = {
            name: (i.item_code, i.item_name, i.item_group, i.stock_uom, i.valuation_rate)
            for name, i in data.truth_items().items()
        }
        locations = {
            name: (name, name, "other" if w.warehouse_type == "Transit" else "warehouse")
            for name, w in data.truth_warehouses().items()
        }
        return Truth(
            items=items,
            locations=locations,
            balances=data.truth_balances(),
            movements=movements,
            opening_counts=opening,
            entries=len(data.entries),
            skipped_items={n for n in data.items if n not in items},
            groups={n for n, w in data.warehouses.items() if w.is_group},
            stale_bins={p for p in data.bins if p[0] not in items},
        )


def same_items(atlas: dict[str, tuple[Any, ...]], expected: dict[str, tuple[Any, ...]]) -> bool:
    return atlas == {k: (*v[:4], Decimal(v[4])) for k, v in expected.items()}


# --- how a ledger read's window shows in its request ------------------------------------------------------------


def window_start(seen: Seen) -> str | None:
    """The ``modified >=`` value of a request's JSON filter: where its window starts (None: no window)."""
    terms = json.loads(seen.query.get("filters", ["[]"])[0])  # [field, op, value] or [doctype, field, op, value]
    found = [term[-1] for term in terms if term[-3:-1] == ["modified", ">="]]
    return found[0] if found else None


def without_window(seen: Seen) -> str:
    """A request's filter without its window: which of the preset's reads it is."""
    terms = json.loads(seen.query.get("filters", ["[]"])[0])
    return json.dumps([t for t in terms if t[0] != "modified"])


# --- the mappings over every record the site serves (no stack needed) ------------------------------------


def test_the_preset_maps_every_record_the_site_serves() -> None:
    """Each endpoint read through the engine as a sync reads it (its parameters, offset pages until an empty one),
    mapped by the preset's mapping: every record the site has for it, only what the preset means to skip skipped,
    nothing set aside by the mapping, and each ledger entry landing once."""
    with frappe_server(seed=15) as site:
        rendered = filled("erpnext", site.base, {"api_key": API_KEY, "api_secret": API_SECRET})
        marks = site.landmarks
        assert marks is not None
        keys: list[str] = []
        for endpoint in rendered.connector["endpoints"]:
            mapped = read_and_map(rendered, endpoint["key"])
            doctype = DOCTYPES[endpoint["path"].removeprefix("/api/resource/")]
            # The ledger reads' first window reaches back 36,500 days: before anything the site holds.
            params = {k: v.replace("{window.start}", "1927-01-01 00:00:00") for k, v in endpoint["params"].items()}
            rows = list(doctype.rows(site.data))
            every = get_list(doctype, rows, {**params, "limit_page_length": "0"}, site.children)
            assert mapped.records == every, endpoint["key"]  # all of them, in the site's order, once
            assert mapped.errors == [], endpoint["key"]
            skipped = {r["name"] for r in mapped.skipped}
            if endpoint["key"] == "items":
                assert skipped == {*marks.non_stock, marks.template, marks.stale_bin_item}
            elif endpoint["key"] == "warehouses":
                assert skipped == set(marks.groups)
            else:
                assert skipped == set()
            if endpoint["resource"] == "stock_movements":
                keys.extend(row["external_id"] for row in mapped.rows)
        assert sorted(keys) == sorted(movement_key(e) for e in site.data.entries.values())  # each entry once


# --- one tenant on a messy site, then the site lives on ---------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> Iterator[FrappeApi]:
    with frappe_server(seed=15) as api:
        yield api


@dataclass(frozen=True)
class Synced:
    tenant: Tenant
    run: dict[str, Any]
    source: Truth
    seen: list[Seen]  # every request the site received up to the end of the sync


@pytest.fixture(scope="module")
def first(stack: Any, sim: FrappeApi) -> Synced:
    tenant = connect(stack, sim)
    run = sync(tenant)
    return Synced(tenant, run, truth(sim.data), sim.requests())


def test_connecting_takes_the_address_and_two_credentials(first: Synced) -> None:
    tenant = first.tenant
    typed = [i for i in PRESET.inputs if i.required and not i.advanced]
    assert [i.name for i in typed] == ["api_key", "api_secret"]  # with the base URL: three entries
    connector = tenant.connected["connector"]
    assert connector["auth"]["kind"] == "header" and connector["auth"]["scheme"] == "token"
    assert API_SECRET not in str(tenant.connected)  # the secret is never returned
    assert sorted(m["endpoint_key"] for m in tenant.connected["mappings"]) == sorted(PRESET.mappings)
    previews = {p["endpoint"]: p for p in tenant.connected["previews"]}
    assert previews["items"]["failed"] == 0 and previews["bins"]["failed"] == 0


def test_after_a_sync_items_locations_and_balances_equal_the_site_exactly(
    stack: Any, sim: FrappeApi, first: Synced
) -> None:
    tenant, run, source = first.tenant, first.run, first.source
    assert run["status"] == "succeeded", (run["error"], run["attention"])
    assert same_items(atlas_items(stack, tenant), source.items)
    assert atlas_locations(stack, tenant) == source.locations
    atlas = atlas_balances(stack, tenant)
    exact = [pair for pair, value in source.balances.items() if atlas.get(pair, (None, None))[:2] == value]
    assert len(exact) == len(source.balances), f"{len(exact)} of {len(source.balances)} balances exact"
    assert held(atlas) == source.balances
    assert all(a == q - r for q, r, a in atlas.values())  # available is derived
    marks = sim.landmarks
    assert marks is not None
    assert atlas[marks.zero_bin][:2] == (ZERO, ZERO)  # a Bin sold down to zero is a balance at zero
    assert atlas[marks.reserved_only][0] == 0 and atlas[marks.reserved_only][1] == 4  # reserved, not held
    assert (marks.disabled_with_stock, marks.stores) in source.balances  # a disabled item still holds stock
    assert any(pair[0] == marks.arabic_code for pair in source.balances)
    assert any(pair[0] == marks.spaced_code for pair in source.balances)
    weighed = [v for p, v in source.balances.items() if p[0] == marks.weighed]
    assert weighed and any(q != q.to_integral_value() for q, _ in weighed)  # three decimals, exactly


def test_every_record_not_written_is_explained(stack: Any, first: Synced) -> None:
    tenant, run, source = first.tenant, first.run, first.source
    stats = run["stats"]
    assert stats["items"]["skipped"] == len(source.skipped_items)  # services, templates, a former stock item
    assert stats["items"]["written"] == len(source.items)
    assert stats["locations"]["skipped"] == len(source.groups)  # group warehouses
    assert stats["locations"]["written"] == len(source.locations)
    balances = stats["stock_balances"]
    assert balances["quarantined"] == len(source.stale_bins) == 1
    assert balances["reasons"] == {"unknown_item": 1}
    aside = stack.atlas.sql(
        "SELECT endpoint_key, raw->>'item_code', errors FROM quarantined_records "
        "WHERE tenant_id = %s AND connector_id = %s",
        (tenant.tenant_id, tenant.connector_id),
    )
    assert [(e, i) for e, i, _ in aside] == [("bins", p[0]) for p in source.stale_bins]
    assert aside[0][2][0]["code"] == "unknown_item"
    movements = stats["stock_movements"]
    assert movements["read"] == source.entries and movements["quarantined"] == 0 and movements["skipped"] == 0
    # Opening stock entered as a count resolves from zero: the ledger is read from its first entry.
    assert source.opening_counts and movements["counts_unresolved"] == 0
    summary = run["summary"]
    assert summary["set_aside"] == 1 and summary["skipped"] == len(source.skipped_items) + len(source.groups)


def test_movements_equal_the_ledger(stack: Any, first: Synced) -> None:
    tenant, source = first.tenant, first.source
    atlas = atlas_movements(stack, tenant)
    assert set(atlas) == set(source.movements)
    wrong = {k: (atlas[k], source.movements[k]) for k in source.movements if atlas[k] != source.movements[k]}
    assert not wrong, f"{len(wrong)} of {len(source.movements)} movements differ, e.g. {list(wrong.items())[:2]}"
    counts = [m for m in source.movements.values() if m.is_count and m.quantity != 0]
    assert counts  # reconciliations became the change they made
    opening = [k for k in source.opening_counts if source.movements[k].is_count]  # not cancelled since
    assert any(atlas[k].quantity > 0 for k in opening)  # opening stock: the counted quantity, from zero
    # Per pair, the movements add up to the balance, opening counts included.
    sums: dict[Pair, Decimal] = {}
    for move in atlas.values():
        sums[(move.item, move.warehouse)] = sums.get((move.item, move.warehouse), ZERO) + move.quantity
    for pair, (quantity, _) in source.balances.items():
        assert sums.get(pair, ZERO) == quantity, pair


def test_atlas_read_the_site_as_frappe_must_be_read(first: Synced) -> None:
    """GET only, ``token key:secret``, fields named (Frappe answers only ``name`` otherwise), ordered by creation;
    each endpoint read by limit_start/limit_page_length until the first empty page: a page shorter than the page
    size does not end the read (Frappe sends no total), the empty one after it does. The ledger reads carry their
    window inside the JSON filter, and the first one reaches back before anything the site holds."""
    seen = first.seen
    assert seen and all(s.method == "GET" for s in seen)
    assert all(s.authorization == f"token {API_KEY}:{API_SECRET}" for s in seen)
    reads: dict[tuple[str, str], list[int]] = {}
    lines_order = "`tabPurchase Order`.`creation` asc, `tabPurchase Order Item`.`idx` asc"  # a join: tables named
    for s in seen:
        order = lines_order if s.path == "/api/resource/Purchase Order" else "creation asc"
        assert s.query["order_by"] == [order] and s.query["limit_page_length"] == ["500"], s
        assert "fields" in s.query
        reads.setdefault((s.path, without_window(s)), []).append(int(s.query["limit_start"][0]))
        start = window_start(s)
        assert (start is not None) == (s.path == "/api/resource/Stock Ledger Entry"), s  # only the ledger: windowed
        assert start is None or start < "1927-02", s  # 36,500 days back: the whole ledger
    assert len(reads) == len(PRESET.connector["endpoints"])
    for endpoint, starts in reads.items():
        if endpoint[0] == "/api/resource/Purchase Order":
            assert starts == [0, 0], endpoint  # no purchase orders at this site: its first page is the empty one
            continue
        assert starts == [0, 0, 500], endpoint  # the connect check's first page; then the sync's page and the empty one
    assert 0 < first.source.entries < 500  # so each first page was short, and the read still went on


# --- the site lives on ----------------------------------------------------------------------------------


@dataclass
class Changes:
    sold: Pair
    received: Pair
    new_pair: Pair
    cancelled_keys: set[str]  # the entries of a delivery Atlas had read, now cancelled
    backdated_count: str  # a count after which a receipt was backdated: its change is 5 smaller
    reposted_count: str  # a count whose ordinary predecessor was reposted (a receipt backdated before it): 5 smaller
    reposted_entry: str  # that predecessor: its qty_after_transaction changed, its `modified` did not
    same_time_counts: list[str]  # counts posted at the very time of a sale entered before each: after the sale
    renamed: dict[str, str]


@dataclass(frozen=True)
class Lived:
    changes: Changes
    run: dict[str, Any]
    source: Truth


@pytest.fixture(scope="module")
def changed(stack: Any, sim: FrappeApi, first: Synced) -> Lived:
    """After the first sync: a sale, a receipt, a new item received, a delivery cancelled, a receipt backdated
    before a count, and the hourly job renaming the ledger entries Atlas read under their temporary names."""
    data, marks, before = sim.data, sim.landmarks, first.source
    assert marks is not None
    with data.lock:
        balances = data.truth_balances()
        sold = next(p for p, (q, _) in sorted(balances.items()) if q >= 3 and p[1] == marks.stores)
        data.submit("Delivery Note", [(sold[0], sold[1], Decimal(-2))])
        received = next(p for p in sorted(balances) if p[1] in marks.shops and p != sold)
        data.submit("Purchase Receipt", [(received[0], received[1], Decimal("7.5"))])
        item = data.add_item("NEW-ITEM-001", "صنف جديد", valuation_rate=Decimal("3.75"))
        data.submit("Purchase Receipt", [(item.name, marks.stores, Decimal(12))])
        untouchable = {sold, received, marks.zero_bin}
        delivery = next(
            v
            for v in sorted(data.vouchers.values(), key=lambda v: v.posting, reverse=True)
            if v.doctype == "Delivery Note"
            and v.docstatus == 1
            and not {(line.item_code, line.warehouse) for line in v.lines} & untouchable
        )
        cancelled = {movement_key(e) for e in data.entries.values() if e.voucher_no == delivery.name}
        assert cancelled <= set(before.movements)  # Atlas read them while they counted
        data.cancel("Delivery Note", delivery.name)
        count = next(
            e
            for e in sorted(data.entries.values(), key=lambda e: e.order)
            if e.voucher_type == "Stock Reconciliation"
            and not e.is_cancelled
            and movement_key(e) not in before.opening_counts
            and not data.items[e.item_code].disabled
            and (e.item_code, e.warehouse) not in untouchable
        )
        data.submit(
            "Purchase Receipt",
            [(count.item_code, count.warehouse, Decimal(5))],
            posting=count.posting_datetime - timedelta(hours=2),
        )
        untouchable |= {(count.item_code, count.warehouse)}
        # A count whose predecessor is an ordinary entry: a receipt backdated before that entry reposts it (its
        # qty_after_transaction grows by 5, its `modified` stays), so no window reads it again.
        reposted = next(
            (e, before_it[-1])
            for e in sorted(data.entries.values(), key=lambda e: e.order)
            if e.voucher_type == "Stock Reconciliation"
            and not e.is_cancelled
            and movement_key(e) not in before.opening_counts
            and (e.item_code, e.warehouse) not in untouchable
            and not data.items[e.item_code].disabled
            and not data.warehouses[e.warehouse].disabled
            and (before_it := [x for x in data._ordered(e.item_code, e.warehouse) if x.order < e.order])
            and before_it[-1].voucher_type != "Stock Reconciliation"
            and before_it[-1].posting_datetime < e.posting_datetime
        )
        reposted_count, predecessor = reposted
        predecessor_level, predecessor_modified = predecessor.qty_after_transaction, predecessor.modified
        data.submit(
            "Purchase Receipt",
            [(predecessor.item_code, predecessor.warehouse, Decimal(5))],
            posting=predecessor.posting_datetime - timedelta(minutes=1),
        )
        assert (
            predecessor.qty_after_transaction == predecessor_level + 5 and predecessor.modified == predecessor_modified
        )
        untouchable |= {(predecessor.item_code, predecessor.warehouse)}
        # Counts posted at the very time of a sale entered just before each (a posting time typed by hand, in whole
        # seconds): ERPNext orders them after the sale, by creation. Several, so the order cannot come out right by
        # chance (the voucher rows' names are random).
        shops = [
            p
            for p, (q, _) in sorted(data.truth_balances().items())
            if q >= 3 and p not in untouchable and p in before.balances
        ][:6]
        moment = data.now().replace(microsecond=0)
        same_time = []
        for shop in shops:
            data.submit("Delivery Note", [(shop[0], shop[1], Decimal(-1))], posting=moment)
            level = data.truth_balances()[shop][0]
            same_time.append(data.submit("Stock Reconciliation", [(shop[0], shop[1], level + 2)], posting=moment))
        renamed = data.rename_temporarily_named_docs()
    same_time_keys = [movement_key(e) for e in data.entries.values() if e.voucher_no in {v.name for v in same_time}]
    changes = Changes(
        sold,
        received,
        (item.name, marks.stores),
        cancelled,
        movement_key(count),
        movement_key(reposted_count),
        movement_key(predecessor),
        same_time_keys,
        renamed,
    )
    run = sync(first.tenant)
    return Lived(changes, run, truth(data))


def test_a_second_sync_equals_the_site_again(stack: Any, first: Synced, changed: Lived) -> None:
    tenant, changes, run, source = first.tenant, changed.changes, changed.run, changed.source
    assert run["status"] == "succeeded", (run["error"], run["attention"])
    assert same_items(atlas_items(stack, tenant), source.items)
    assert changes.new_pair[0] in source.items
    assert atlas_locations(stack, tenant) == source.locations
    atlas = atlas_balances(stack, tenant)
    assert held(atlas) == source.balances
    for pair in (changes.sold, changes.received, changes.new_pair):
        assert atlas[pair][:2] == source.balances[pair] != first.source.balances.get(pair)
    assert run["summary"]["set_aside"] == 1  # the same former stock item's Bin


def test_renamed_cancelled_and_reposted_entries_are_neither_lost_nor_doubled(
    stack: Any, first: Synced, changed: Lived
) -> None:
    changes, run, source = changed.changes, changed.run, changed.source
    assert changes.renamed  # entries Atlas read by their temporary names have new names now
    atlas = atlas_movements(stack, first.tenant)
    assert set(atlas) == set(source.movements)  # no entry twice, under its old and its new name
    wrong = {k: (atlas[k], source.movements[k]) for k in source.movements if atlas[k] != source.movements[k]}
    assert not wrong, f"{len(wrong)} of {len(source.movements)} movements differ, e.g. {list(wrong.items())[:2]}"
    # The cancelled delivery, read while it counted, now counts for nothing.
    assert changes.cancelled_keys and all(atlas[k].quantity == 0 for k in changes.cancelled_keys)
    # The count after the backdated receipt changed the stock by 5 less than it did before.
    key = changes.backdated_count
    assert atlas[key].is_count and atlas[key].quantity == first.source.movements[key].quantity - 5
    # So did the count after an entry that was reposted unseen (no window read it again).
    key = changes.reposted_count
    assert atlas[key].is_count and atlas[key].quantity == first.source.movements[key].quantity - 5
    assert run["stats"]["stock_movements"]["counts_unresolved"] == 0
    # A count posted at the very time of a sale entered before it counts after the sale, as ERPNext orders them.
    assert len(changes.same_time_counts) == 6
    assert all(atlas[k].quantity == source.movements[k].quantity == 2 for k in changes.same_time_counts)


def test_the_second_sync_read_the_ledger_only_from_where_the_first_left_off(
    sim: FrappeApi, first: Synced, changed: Lived
) -> None:
    """Every ledger read of the second sync carried its window inside the JSON filter, starting a day before the
    first sync (the sync's overlap; in UTC, which the site's local `modified` times, three hours ahead, only widen),
    and read fewer entries than the first sync, which read them all; items, warehouses and bins were read in full."""
    later = sim.requests()[len(first.seen) :]
    ledger = [s for s in later if s.path == "/api/resource/Stock Ledger Entry"]
    assert ledger and {without_window(s) for s in ledger} == {
        without_window(s) for s in first.seen if s.path == "/api/resource/Stock Ledger Entry"
    }  # all four reads
    began = datetime.fromisoformat(first.run["started_at"].replace("Z", "+00:00"))
    finished = datetime.fromisoformat(first.run["finished_at"].replace("Z", "+00:00"))
    starts = {window_start(s) for s in ledger}  # each read from its own checkpoint: when its first read began
    assert 1 <= len(starts) <= 4 and None not in starts
    for start in starts:
        assert start is not None
        moment = datetime.fromisoformat(start).replace(tzinfo=ZoneInfo("UTC"))
        assert began - timedelta(days=1, seconds=1) <= moment <= finished - timedelta(days=1)
    assert all(window_start(s) is None for s in later if s.path != "/api/resource/Stock Ledger Entry")
    read_first = first.run["stats"]["stock_movements"]["read"]
    read_second = changed.run["stats"]["stock_movements"]["read"]
    assert read_first == first.source.entries and 0 < read_second < read_first / 2, (read_first, read_second)
    # The site's own count of what those reads asked for (each read's filter, window included, over the site as it is
    # now, unchanged since): what Atlas read, and under half of the ledger.
    doctype = DOCTYPES["Stock Ledger Entry"]
    rows = list(doctype.rows(sim.data))
    reads = {s.query["filters"][0]: s for s in ledger}.values()
    asked = sum(
        len(get_list(doctype, rows, {"filters": s.query["filters"][0], "fields": '["name"]', "limit_page_length": "0"}))
        for s in reads
    )
    assert asked == read_second and asked < len(sim.data.entries) / 2
    # What the second read took is what changed in its window: entries created or renamed since, and cancelled.
    assert all(int(s.query["limit_start"][0]) in (0, 500) for s in ledger)


# --- a tidy site, and credentials that are wrong ----------------------------------------------------------


def test_a_tidy_site_sets_nothing_aside(stack: Any) -> None:
    with frappe_server(seed=21, items=40, messy=False) as site:
        tenant = connect(stack, site)
        run = sync(tenant)
        source = truth(site.data)
    assert run["status"] == "succeeded", run
    assert run["summary"]["set_aside"] == 0
    assert run["stats"]["locations"]["skipped"] == len(source.groups)  # "All Warehouses" is always a group
    assert run["stats"]["items"]["skipped"] == 0
    assert run["stats"]["stock_movements"]["counts_unresolved"] == 0
    assert same_items(atlas_items(stack, tenant), source.items)
    assert atlas_locations(stack, tenant) == source.locations
    assert held(atlas_balances(stack, tenant)) == source.balances
    atlas = atlas_movements(stack, tenant)
    assert {k: atlas.get(k) for k in source.movements} == source.movements


def test_a_wrong_secret_is_a_clear_422_and_stores_nothing(stack: Any, sim: FrappeApi) -> None:
    admin, me = stack.atlas.new_tenant()
    seen = len(sim.requests())
    answer = admin.post(
        "/api/presets/erpnext/connect",
        json={"base_url": sim.base, "inputs": {"api_key": API_KEY, "api_secret": "not-the-secret"}},
        headers={"Accept-Language": "en"},
    )
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["field"] == "inputs"
    assert "ERPNext refused the credentials (HTTP 401" in problem["detail"]
    assert "not-the-secret" not in answer.text
    assert [c["endpoint"] for c in problem["checks"]] == ["items"]  # it stopped at the first refusal
    assert len(sim.requests()) == seen + 1
    stored = stack.atlas.sql(
        """SELECT (SELECT count(*) FROM connectors WHERE tenant_id = %(t)s),
                  (SELECT count(*) FROM mappings WHERE tenant_id = %(t)s),
                  (SELECT count(*) FROM audit_events WHERE tenant_id = %(t)s
                     AND event_type IN ('connector_created', 'mapping_created', 'preset_applied'))""",
        {"t": me["tenant_id"]},
    )
    assert stored == [(0, 0, 0)]


def test_a_user_who_cannot_read_the_ledger_is_told_where_and_nothing_is_stored(stack: Any) -> None:
    with frappe_server(seed=22, items=10, messy=False) as site:
        site.permissions.discard("Stock Ledger Entry")  # a role that reads items, warehouses and bins only
        admin, me = stack.atlas.new_tenant()
        answer = admin.post(
            "/api/presets/erpnext/connect",
            json={"base_url": site.base, "inputs": {"api_key": API_KEY, "api_secret": API_SECRET}},
            headers={"Accept-Language": "en"},
        )
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    failed = [c for c in problem["checks"] if not c["ok"]]
    assert [c["status"] for c in failed] == [403] and "Stock%20Ledger%20Entry" in failed[0]["url"]
    assert "HTTP 403" in problem["detail"] and "permissions" in problem["detail"]
    assert stack.atlas.sql("SELECT count(*) FROM connectors WHERE tenant_id = %s", (me["tenant_id"],)) == [(0,)]
