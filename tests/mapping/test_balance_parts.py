"""A stock balance is the sum of its source records (issue 14), written by the real batch writer into PostgreSQL.

Each test writes rows as a sync's mapping produces them and compares the balances with a truth computed here
from the source records, exactly (Decimals, not floats).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlas.db.engine import Database
from tests.mapping.test_writer import _setup

Truth = dict[tuple[str, str], tuple[Decimal, Decimal]]


def part(source_id: str, item: str, location: str | None, quantity: Any, reserved: Any = 0) -> dict[str, Any]:
    quantity, reserved = Decimal(str(quantity)), Decimal(str(reserved))
    return {
        "source_id": source_id,
        "item_ref": item,
        "location_ref": location,
        "quantity": quantity,
        "reserved_qty": reserved,
        "available_qty": quantity - reserved,
        "as_of": None,
    }


def truth_of(rows: list[dict[str, Any]]) -> Truth:
    """What the balances must be: the last version of each source record, summed per item and location."""
    latest = {row["source_id"]: row for row in rows}
    totals: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
    for row in latest.values():
        key = (row["item_ref"], row["location_ref"] or "UNASSIGNED")
        quantity, reserved = totals.get(key, (Decimal(0), Decimal(0)))
        totals[key] = (quantity + row["quantity"], reserved + row["reserved_qty"])
    return totals


class Writer:
    """A tenant with a connector, its items and locations, and helpers to write and read balances."""

    def __init__(self, database: Database, tenant_id: uuid.UUID, connector_id: uuid.UUID) -> None:
        self.database = database
        self.tenant_id = tenant_id
        self.connector_id = connector_id

    async def write(
        self, resource: str, run: uuid.UUID, rows: list[dict[str, Any]], *, combine: str = "sum"
    ) -> list[Any]:
        from atlas.mapping.writer import write_batch

        async with self.database.tenant_session(self.tenant_id) as session:
            return await write_batch(
                session,
                resource=resource,
                connector_id=self.connector_id,
                run_id=run,
                rows=rows,
                endpoint_key="stock",
                combine=combine,
            )

    async def balances(self) -> Truth:
        async with self.database.tenant_session(self.tenant_id) as session:
            raw = (await (await session.connection()).get_raw_connection()).driver_connection
            rows = await raw.fetch(
                "SELECT i.sku, l.code, b.quantity, b.reserved_qty, b.available_qty FROM stock_balances b "
                "JOIN items i ON i.id = b.item_id JOIN locations l ON l.id = b.location_id"
            )
        for row in rows:
            assert row["available_qty"] == row["quantity"] - row["reserved_qty"], dict(row)
        return {(r["sku"], r["code"]): (r["quantity"], r["reserved_qty"]) for r in rows}

    async def reconcile(self, run: uuid.UUID, limit: float = 0.2) -> Any:
        from atlas.mapping.writer import reconcile_balances

        async with self.database.tenant_session(self.tenant_id) as session:
            return await reconcile_balances(
                session, connector_id=self.connector_id, endpoint_key="stock", run_id=run, limit=limit
            )

    async def counts(self, run: uuid.UUID) -> dict[str, Any]:
        from atlas.mapping.writer import run_counts

        async with self.database.tenant_session(self.tenant_id) as session:
            return (await run_counts(session, connector_id=self.connector_id, run_id=run))["stock_balances"]


ITEMS = [f"P-{i}" for i in range(1, 7)]
LOCATIONS = ["L-1", "L-2", "L-3"]


def with_writer(url: str, scenario: Callable[[Writer], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        database = Database(url.replace("postgresql://", "postgresql+asyncpg://", 1), app_role="atlas_app")
        try:
            tenant_id, connector_id = await _setup(database)
            writer = Writer(database, tenant_id, connector_id)
            first = uuid.uuid4()
            await writer.write("items", first, [{"external_id": s, "sku": s, "name": s} for s in ITEMS])
            await writer.write("locations", first, [{"external_id": c, "code": c, "name": c} for c in LOCATIONS])
            return await scenario(writer)
        finally:
            await database.dispose()

    return asyncio.run(run())


def zeroes(truth: Truth, *pairs: tuple[str, str]) -> Truth:
    return {**truth, **{pair: (Decimal(0), Decimal(0)) for pair in pairs}}


def test_rows_of_one_item_and_location_add_up_across_batches_and_a_repeat_counts_once(database_url: str) -> None:
    lots = [
        part("1", "P-1", "L-1", "10.5", 2),
        part("2", "P-1", "L-1", 4, 1),  # a second lot of the same part in the same place
        part("3", "P-1", "L-2", 7),
        *[part(f"s{n}", "P-2", "L-1", 1) for n in range(166)],  # serials: one row each
        part("4", "P-3", None, 5),  # in transit: the no-location bucket
    ]

    async def scenario(writer: Writer) -> tuple[Truth, dict[str, Any]]:
        run = uuid.uuid4()
        # Split across batches, the pair P-1@L-1 in two of them, and a page overlap that sends lot 2 twice.
        await writer.write("stock_balances", run, lots[:1])
        await writer.write("stock_balances", run, [*lots[1:80], lots[1]])
        await writer.write("stock_balances", run, lots[79:])
        return await writer.balances(), await writer.counts(run)

    balances, counts = with_writer(database_url, scenario)
    assert balances == truth_of(lots)
    assert balances[("P-1", "L-1")] == (Decimal("14.5"), Decimal(3))
    assert balances[("P-2", "L-1")] == (Decimal(166), Decimal(0))
    assert balances[("P-3", "UNASSIGNED")] == (Decimal(5), Decimal(0))
    assert counts["written"] == len(lots)  # distinct source records
    assert counts["balances"] == 4
    assert counts["combined"] == len(lots) - 4


def test_an_incremental_read_of_one_changed_lot_moves_only_that_lot(database_url: str) -> None:
    lots = [part("1", "P-1", "L-1", 10), part("2", "P-1", "L-1", 5), part("3", "P-1", "L-2", 3)]

    async def scenario(writer: Writer) -> tuple[Truth, Truth]:
        await writer.write("stock_balances", uuid.uuid4(), lots)
        after_full = await writer.balances()
        changed = part("2", "P-1", "L-1", 1)  # lot 2 sold 4; lot 1 is not in this read
        await writer.write("stock_balances", uuid.uuid4(), [changed])
        return after_full, await writer.balances()

    after_full, after_change = with_writer(database_url, scenario)
    assert after_full[("P-1", "L-1")] == (Decimal(15), Decimal(0))
    assert after_change[("P-1", "L-1")] == (Decimal(11), Decimal(0))  # 10 + 1, not the changed lot's 1
    assert after_change[("P-1", "L-2")] == (Decimal(3), Decimal(0))


def test_a_record_that_moves_to_another_location_leaves_the_first(database_url: str) -> None:
    async def scenario(writer: Writer) -> Truth:
        await writer.write("stock_balances", uuid.uuid4(), [part("7", "P-1", "L-1", 6, 1), part("8", "P-1", "L-1", 2)])
        await writer.write("stock_balances", uuid.uuid4(), [part("7", "P-1", "L-3", 6, 1)])  # same pk, moved
        return await writer.balances()

    balances = with_writer(database_url, scenario)
    assert balances[("P-1", "L-1")] == (Decimal(2), Decimal(0))
    assert balances[("P-1", "L-3")] == (Decimal(6), Decimal(1))


def test_a_full_read_zeroes_what_the_source_no_longer_has_and_keeps_the_balance(database_url: str) -> None:
    lots = [part(str(n), ITEMS[n % 6], LOCATIONS[n % 3], n + 1) for n in range(30)]

    async def scenario(writer: Writer) -> tuple[Truth, Any, Any]:
        await writer.write("stock_balances", uuid.uuid4(), lots)
        second = uuid.uuid4()
        # Lot 0 (the only row of P-1@L-1 left after the loop below) is used up and deleted; lot 6 too, but P-1@L-1
        # also had lot 12, 18, 24: they stay.
        remaining = [row for row in lots if row["source_id"] not in {"0", "6"}]
        await writer.write("stock_balances", second, remaining)
        found = await writer.reconcile(second)
        again = await writer.reconcile(second)  # idempotent: nothing more to do
        return await writer.balances(), found, again

    balances, found, again = with_writer(database_url, scenario)
    expected = truth_of([row for row in lots if row["source_id"] not in {"0", "6"}])
    assert balances == expected
    assert found.vanished_parts == 2 and found.refused is False and found.zeroed == [] and found.reduced == 1
    assert again.vanished_parts == 0


def test_a_balance_left_without_parts_goes_to_zero_and_is_kept(database_url: str) -> None:
    lots = [part(str(n), ITEMS[n], "L-1", 10 + n, 1) for n in range(6)]

    async def scenario(writer: Writer) -> tuple[Truth, Any]:
        await writer.write("stock_balances", uuid.uuid4(), lots)
        second = uuid.uuid4()
        await writer.write("stock_balances", second, lots[1:])  # P-1's only lot was used up and deleted
        found = await writer.reconcile(second)
        return await writer.balances(), found

    balances, found = with_writer(database_url, scenario)
    assert balances == zeroes(truth_of(lots[1:]), ("P-1", "L-1"))
    assert [(z["previous_quantity"], z["previous_reserved"]) for z in found.zeroed] == [("10.000000", "1.000000")]


def test_the_safety_threshold_refuses_to_zero_most_balances_and_says_how_many(database_url: str) -> None:
    lots = [part(str(n), ITEMS[n % 6], LOCATIONS[n // 6 % 3], 1 + n) for n in range(18)]  # 18 pairs

    async def scenario(writer: Writer) -> tuple[Truth, Truth, Any]:
        await writer.write("stock_balances", uuid.uuid4(), lots)
        before = await writer.balances()
        second = uuid.uuid4()
        await writer.write("stock_balances", second, lots[:7])  # a broken source answers 7 of 18 rows
        return before, await writer.balances(), await writer.reconcile(second, limit=0.2)

    before, after, found = with_writer(database_url, scenario)
    assert after == before  # nothing zeroed
    assert found.refused is True and found.zeroed == []
    assert (found.would_zero, found.balances) == (11, 18)


def test_last_keeps_one_row_per_item_and_location(database_url: str) -> None:
    async def scenario(writer: Writer) -> Truth:
        run = uuid.uuid4()
        rows = [part("ignored-a", "P-1", "L-1", 4), part("ignored-b", "P-1", "L-1", 9)]
        await writer.write("stock_balances", run, rows, combine="last")
        await writer.write("stock_balances", uuid.uuid4(), [part("x", "P-1", "L-1", 8)], combine="last")
        return await writer.balances()

    assert with_writer(database_url, scenario) == {("P-1", "L-1"): (Decimal(8), Decimal(0))}


def test_two_writers_on_the_same_balances_at_once_count_every_part_once(database_url: str) -> None:
    """Page overlap across two batches written concurrently on two connections (the sync runs two writers)."""
    lots = [part(str(n), ITEMS[n % 6], LOCATIONS[n % 3], n % 11, n % 3) for n in range(600)]

    async def scenario(writer: Writer) -> Truth:
        run = uuid.uuid4()
        shuffled = random.Random(7).sample(lots, len(lots))
        halves = [shuffled[:350], shuffled[250:]]  # 100 records in both
        for _ in range(3):
            await asyncio.gather(*(writer.write("stock_balances", run, half) for half in halves))
        return await writer.balances()

    assert with_writer(database_url, scenario) == truth_of(lots)


source_rows = st.lists(
    st.tuples(
        st.integers(0, 25),  # source id: repeats are the same record read again (or changed)
        st.sampled_from(ITEMS),
        st.sampled_from([*LOCATIONS, None]),
        st.decimals(min_value=-50, max_value=10_000, places=4, allow_nan=False, allow_infinity=False),
        st.decimals(min_value=0, max_value=100, places=4, allow_nan=False, allow_infinity=False),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=source_rows, cuts=st.lists(st.integers(0, 60), max_size=4), seed=st.integers(0, 1000))
def test_sums_do_not_depend_on_order_or_batching_and_a_rerun_changes_nothing(
    database_url: str, rows: list[tuple[Any, ...]], cuts: list[int], seed: int
) -> None:
    records = [part(str(s), i, loc, q, r) for s, i, loc, q, r in rows]
    # Distinct records in any order (a record's latest version is what the source holds now).
    latest = list({row["source_id"]: row for row in records}.values())
    random.Random(seed).shuffle(latest)
    bounds = sorted({0, len(latest), *(c % (len(latest) + 1) for c in cuts)})
    batches = [latest[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]

    async def scenario(writer: Writer) -> tuple[Truth, Truth, dict[str, Any]]:
        first = uuid.uuid4()
        for batch in batches:
            await writer.write("stock_balances", first, batch)
        once = await writer.balances()
        again = uuid.uuid4()
        for batch in reversed(batches):
            await writer.write("stock_balances", again, batch)
        await writer.reconcile(again)
        return once, await writer.balances(), await writer.counts(again)

    once, twice, counts = with_writer(database_url, scenario)
    assert once == truth_of(latest)
    assert twice == once
    assert counts["updated"] == 0 and counts["inserted"] == 0


@pytest.mark.parametrize("combine", ["sum", "last"])
def test_quantities_stay_exact_decimals(database_url: str, combine: str) -> None:
    quantities = ["12345678901234.5678", "0.0001", "-12.3456"]

    async def scenario(writer: Writer) -> Truth:
        rows = [part(str(n), "P-4", "L-2", q) for n, q in enumerate(quantities)]
        await writer.write("stock_balances", uuid.uuid4(), rows, combine=combine)
        return await writer.balances()

    expected = sum(Decimal(q) for q in quantities) if combine == "sum" else Decimal(quantities[-1])
    assert with_writer(database_url, scenario) == {("P-4", "L-2"): (expected, Decimal(0))}


# --- stock counts ---------------------------------------------------------------------------------------------


def movement(external_id: str, minute: int, quantity: Any, *, level: Any = None, count: bool = False) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "item_ref": "P-5",
        "location_ref": "L-1",
        "occurred_at": datetime(2026, 11, 22, 6, 0, tzinfo=UTC) + timedelta(minutes=minute),
        "quantity": Decimal(0) if count else Decimal(str(quantity)),
        "kind": "adjustment" if count else ("receipt" if Decimal(str(quantity)) > 0 else "sale"),
        "reference": None,
        "level": None if level is None else Decimal(str(level)),
        "level_key": "stock-row-9",
        "is_count": count,
    }


def test_a_stock_count_becomes_an_adjustment_of_counted_minus_the_level_before(database_url: str) -> None:
    history = [
        movement("100", 0, 40, level=40),  # created with 40 (the source says the level after it)
        movement("101", 5, -3),  # a sale the source gives without a level
        movement("102", 9, -2),
        movement("103", 12, 0, level=33, count=True),  # counted 33 where 35 were expected: -2
        movement("104", 20, 10, level=43),
        movement("105", 30, 0, level=50, count=True),  # +7
    ]

    async def scenario(writer: Writer) -> tuple[dict[str, Decimal], dict[str, int], dict[str, int]]:
        from atlas.mapping.writer import resolve_counts

        run = uuid.uuid4()
        # Written out of order and in two batches: a later page may hold an earlier movement.
        await writer.write("stock_movements", run, [history[5], history[3], history[1]])
        await writer.write("stock_movements", run, [history[0], history[4], history[2]])
        async with writer.database.tenant_session(writer.tenant_id) as session:
            first = await resolve_counts(session, connector_id=writer.connector_id, run_id=run)
            again = await resolve_counts(session, connector_id=writer.connector_id, run_id=run)
            raw = (await (await session.connection()).get_raw_connection()).driver_connection
            rows = await raw.fetch("SELECT external_id, quantity FROM stock_movements WHERE is_count")
        return {r["external_id"]: r["quantity"] for r in rows}, first, again

    changes, first, again = with_writer(database_url, scenario)
    assert changes == {"103": Decimal(-2), "105": Decimal(7)}
    assert first == {"counts": 2, "unresolved": 0, "changed": 2}
    assert again["changed"] == 0


def test_a_count_with_no_earlier_level_is_unresolved_not_invented(database_url: str) -> None:
    async def scenario(writer: Writer) -> tuple[dict[str, Decimal], dict[str, int]]:
        from atlas.mapping.writer import resolve_counts

        run = uuid.uuid4()
        history = [movement("200", 0, -1), movement("201", 3, 0, level=12, count=True)]
        await writer.write("stock_movements", run, history)
        async with writer.database.tenant_session(writer.tenant_id) as session:
            outcome = await resolve_counts(session, connector_id=writer.connector_id, run_id=run)
            raw = (await (await session.connection()).get_raw_connection()).driver_connection
            rows = await raw.fetch("SELECT external_id, quantity FROM stock_movements WHERE is_count")
        return {r["external_id"]: r["quantity"] for r in rows}, outcome

    changes, outcome = with_writer(database_url, scenario)
    assert changes == {"201": Decimal(0)}
    assert outcome["unresolved"] == 1


def test_deleting_a_connector_takes_its_parts_and_so_its_balances(database_url: str) -> None:
    async def scenario(writer: Writer) -> tuple[Truth, int]:
        from atlas.connectors import services as connectors
        from atlas.platform.audit import Actor

        await writer.write("stock_balances", uuid.uuid4(), [part("1", "P-1", "L-1", 3), part("2", "P-2", "L-2", 4)])
        async with writer.database.tenant_session(writer.tenant_id) as session:
            await connectors.delete_connector(
                session, writer.connector_id, actor=Actor("system", "test"), correlation_id="t"
            )
        async with writer.database.tenant_session(writer.tenant_id) as session:
            raw = (await (await session.connection()).get_raw_connection()).driver_connection
            parts = int(await raw.fetchval("SELECT count(*) FROM stock_balance_parts"))
        return await writer.balances(), parts

    balances, parts = with_writer(database_url, scenario)
    assert balances == {} and parts == 0


def test_zero_parts_are_kept_only_while_their_balance_needs_them(database_url: str) -> None:
    """Stock used up at the source leaves a zero part behind (its balance stays, at zero). A later full read drops
    it when the balance has live parts again, and keeps one zero part for a balance that has nothing else."""

    async def parts_of(writer: Writer) -> dict[tuple[str, str], list[str]]:
        async with writer.database.tenant_session(writer.tenant_id) as session:
            raw = (await (await session.connection()).get_raw_connection()).driver_connection
            rows = await raw.fetch(
                "SELECT i.sku, l.code, p.source_id FROM stock_balance_parts p JOIN items i ON i.id = p.item_id "
                "JOIN locations l ON l.id = p.location_id ORDER BY 1, 2, 3"
            )
        found: dict[tuple[str, str], list[str]] = {}
        for row in rows:
            found.setdefault((row["sku"], row["code"]), []).append(row["source_id"])
        return found

    async def scenario(writer: Writer) -> tuple[Truth, dict[tuple[str, str], list[str]], Any, Any]:
        # Twelve balances that never change, so zeroing two stays within the safety threshold (20 %).
        steady = [part(str(n), ITEMS[n % 6], LOCATIONS[1 + n // 6], 5) for n in range(12)]
        first = [part("a", "P-1", "L-1", 3), part("b", "P-2", "L-1", 4), *steady]
        await writer.write("stock_balances", uuid.uuid4(), first)
        second = uuid.uuid4()  # lot a (P-1) and lot b (P-2) are used up and deleted at the source
        await writer.write("stock_balances", second, steady)
        await writer.reconcile(second)
        third = uuid.uuid4()  # P-1 gets a new lot; P-2 stays empty
        now = [part("c", "P-1", "L-1", 8), *steady]
        await writer.write("stock_balances", third, now)
        await writer.reconcile(third)
        counts = await writer.counts(third)
        fourth = uuid.uuid4()  # nothing changes at the source
        await writer.write("stock_balances", fourth, now)
        await writer.reconcile(fourth)
        return await writer.balances(), await parts_of(writer), counts, await writer.counts(fourth)

    balances, parts, third, fourth = with_writer(database_url, scenario)
    assert balances[("P-1", "L-1")] == (Decimal(8), Decimal(0))
    assert balances[("P-2", "L-1")] == (Decimal(0), Decimal(0))  # kept, at zero
    assert parts[("P-1", "L-1")] == ["c"]  # lot a's zero part is gone: the balance has a live part
    assert parts[("P-2", "L-1")] == ["b"]  # the zero part that keeps the empty balance
    # P-1 went 3 -> 0 -> 8: the balance existed before, so the third run updated it; the fourth changed nothing.
    assert (third["inserted"], third["updated"]) == (0, 1)
    assert (fourth["inserted"], fourth["updated"], fourth["balances"]) == (0, 0, 13)


def test_five_decimals_add_up_exactly(database_url: str) -> None:
    """InvenTree keeps quantities with five decimals: three lots of 0.33333 kg are 0.99999 kg, not 0.9999."""

    async def scenario(writer: Writer) -> Truth:
        await writer.write("stock_balances", uuid.uuid4(), [part(str(n), "P-6", "L-3", "0.33333") for n in range(3)])
        return await writer.balances()

    assert with_writer(database_url, scenario) == {("P-6", "L-3"): (Decimal("0.99999"), Decimal(0))}
