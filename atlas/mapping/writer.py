"""Writing canonical rows in batches: COPY into a staging table, then one INSERT … ON CONFLICT.

Rows are deduplicated within a batch (the last one wins), references from
balances and movements to items and locations are resolved in memory (by the
source's external id, else by SKU or location code; a record with no location
goes to the connector's "no location" bucket), and each row records the sync run
that created it, last changed it, and last saw it, so a run's counts come from the
database and stay exact when a batch is written twice after a crash.

A stock balance is the sum of its parts: every source record of it (a lot, a serial,
a bin, one of several stock rows of an item at a location) is kept in
``stock_balance_parts`` under its own id, and ``stock_balances`` is a view that sums
them per item and location (migration 0012), so a balance is always exactly the sum
of the records Atlas holds: a part read twice is written once, a part that moved to
another location counts there and no longer at the first. A full read then reconciles:
parts the source no longer has go to zero and stay, so their balances stay too, at
zero (`reconcile_balances`). Stock counts become adjustments of (counted − the level
before) once an endpoint is written (`resolve_counts`).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from asyncpg.pgproto.pgproto import UUID as WireUUID
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.db.engine import tenant_context
from atlas.mapping.quarantine_groups import run_top

T = TypeVar("T")

# Items and locations as staged, with their ids (balances and movements: `STAGED`, with resolved references).
COLUMNS: dict[str, list[tuple[str, str]]] = {
    "items": [
        ("external_id", "text"),
        ("sku", "text"),
        ("name", "text"),
        ("category", "text"),
        ("unit_of_measure", "text"),
        ("unit_cost", "numeric"),
        ("lead_time_days", "integer"),
        ("min_order_qty", "numeric"),
        ("order_multiple", "numeric"),
    ],
    "locations": [("external_id", "text"), ("code", "text"), ("name", "text"), ("type", "text"), ("address", "text")],
}
CONTENT = {
    "items": [
        "sku",
        "name",
        "category",
        "unit_of_measure",
        "unit_cost",
        "lead_time_days",
        "min_order_qty",
        "order_multiple",
    ],
    "locations": ["code", "name", "type", "address"],
    "stock_movements": [
        "item_id",
        "location_id",
        "occurred_at",
        "quantity",
        "kind",
        "reference",
        "level",
        "level_key",
        "is_count",
    ],
}
# The location a record without one belongs to (stock in transit, not yet put away): one per connector, made when
# first needed, so such records are kept instead of quarantined on every run.
UNASSIGNED_EXTERNAL_ID = "atlas:unassigned"
UNASSIGNED_CODE = "UNASSIGNED"
UNASSIGNED_NAME = "No location"
UNASSIGNED_TYPE = "unassigned"


@dataclass(frozen=True, slots=True)
class Unresolved:
    position: int  # index of the row in the batch
    reason: str  # unknown_item, unknown_location, or plan_limit (a new item over the plan's records limit)


@dataclass(frozen=True, slots=True)
class ItemLimit:
    """The plan's records limit for a sync: at most ``limit`` items per tenant; ``plan`` names the current
    plan and ``upgrade_plan`` the one that lifts it (for the quarantine reason)."""

    limit: int
    plan: str
    upgrade_plan: str


def unresolved_errors(miss: Unresolved, item_limit: ItemLimit | None = None) -> list[dict[str, Any]]:
    """The quarantine reason for a row the writer did not write."""
    if miss.reason == "plan_limit" and item_limit is not None:
        return [
            {
                "field": "sku",
                "code": "plan_limit_records",
                "detail": "",
                "params": {"limit": item_limit.limit, "plan": item_limit.plan, "upgrade_plan": item_limit.upgrade_plan},
            }
        ]
    field = "item_ref" if miss.reason == "unknown_item" else "location_ref"
    return [{"field": field, "code": miss.reason, "detail": ""}]


async def _over_item_limit(
    raw: Any, tenant_id: uuid.UUID, connector_id: uuid.UUID, rows: list[dict[str, Any]], limit: int
) -> set[int]:
    """Positions of new items beyond the tenant's limit. Existing items always keep updating. An advisory
    lock per tenant serialises the check with the insert, so concurrent writers cannot overshoot."""
    await raw.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('atlas-items-limit:' || $1::text, 0))", str(tenant_id)
    )
    ids = list({str(row.get("external_id")) for row in rows})
    known = {
        r["external_id"]
        for r in await raw.fetch(
            "SELECT external_id FROM items "
            "WHERE tenant_id = $1 AND connector_id = $2 AND external_id = ANY($3::text[])",
            tenant_id,
            connector_id,
            ids,
        )
    }
    room = max(0, limit - int(await raw.fetchval("SELECT count(*) FROM items WHERE tenant_id = $1", tenant_id)))
    admitted: set[str] = set()
    over: set[int] = set()
    for position, row in enumerate(rows):
        external_id = str(row.get("external_id"))
        if external_id in known or external_id in admitted:
            continue
        if room > 0:
            admitted.add(external_id)
            room -= 1
        else:
            over.add(position)
    return over


async def _raw(session: AsyncSession) -> Any:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


def new_ids(count: int) -> list[uuid.UUID]:
    """``count`` new row ids, time-ordered like UUID version 7 (48-bit milliseconds, then random bits).

    Made here rather than by ``gen_random_uuid()`` per row: PostgreSQL builds without OpenSSL (the embedded
    server among them) read /dev/urandom once per call, a system call for every inserted row, and ids that
    grow with time append to the right edge of the primary key instead of landing on random pages.
    asyncpg's own UUID type is built from 16 bytes without the checks of ``uuid.UUID``, and sent as is.
    """
    millis = time.time_ns() // 1_000_000
    rand_a = int.from_bytes(os.urandom(2)) & 0xFFF
    rand_b = int.from_bytes(os.urandom(8)) >> 3  # 61 bits: the counter below cannot carry into the variant
    base = (millis & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return [WireUUID((base + offset).to_bytes(16, "big")) for offset in range(count)]


def _wire_decimal(value: Any) -> str | None:
    """Decimals travel to the staging table as their exact text and are cast back to numeric in SQL:
    asyncpg's binary numeric encoder costs about 0.75 µs a value, ``str(Decimal)`` a tenth of that."""
    return None if value is None else str(value)


NUMERIC = {
    "unit_cost",
    "quantity",
    "reserved_qty",
    "available_qty",
    "level",
    "min_order_qty",
    "order_multiple",
    "open_qty",
}


def _staged(columns: list[tuple[str, str]]) -> str:
    """The staging table's columns: numeric values arrive as text (see `_wire_decimal`)."""
    return ", ".join(f"{name} {'text' if kind == 'numeric' else kind}" for name, kind in columns)


# What identifies a row (its unique key, the upsert's conflict target): the source's own record. (Balances are
# written as parts, `BALANCE_PARTS_SQL`.)
KEY: dict[str, tuple[str, ...]] = {
    "items": ("tenant_id", "connector_id", "external_id"),
    "locations": ("tenant_id", "connector_id", "external_id"),
    "stock_movements": ("tenant_id", "connector_id", "external_id"),
}


def _latest(resource: str, stage: str) -> str:
    """The batch's rows, one per key: the last one the source sent wins."""
    key = ", ".join(c for c in KEY[resource] if c not in ("tenant_id", "connector_id"))
    return f"(SELECT DISTINCT ON ({key}) * FROM {stage} ORDER BY {key}, ord DESC)"


def _upsert_sql(resource: str, source: str) -> str:
    """Items and locations (with ids and timestamps) and movements (identity ids, no timestamps)."""
    table = resource
    columns = ["external_id", *CONTENT[resource]]
    content = [c for c in columns if c not in KEY[resource]]  # overwritten, and compared to tell an update
    distinct = " OR ".join(f"{table}.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in content)
    assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in content)
    described = resource in ("items", "locations")
    updated_at = f", updated_at = CASE WHEN {distinct} THEN now() ELSE {table}.updated_at END" if described else ""
    timestamps = ", created_at, updated_at" if described else ""
    timestamp_values = ", now(), now()" if described else ""
    id_column = "id, " if described else ""
    id_value = "s.id, " if described else ""
    values = ", ".join(f"s.{c}::numeric" if c in NUMERIC else f"s.{c}" for c in columns)
    return f"""
        INSERT INTO {table} ({id_column}tenant_id, connector_id, {", ".join(columns)},
                             created_run_id, updated_run_id, seen_run_id{timestamps})
        SELECT {id_value}$1, $2, {values}, $3, $3, $3{timestamp_values}
        FROM {source} s
        ON CONFLICT ({", ".join(KEY[resource])}) DO UPDATE SET
            {assignments},
            updated_run_id = CASE WHEN {distinct} THEN EXCLUDED.updated_run_id ELSE {table}.updated_run_id END,
            seen_run_id = EXCLUDED.seen_run_id{updated_at}
    """


@dataclass
class References:
    """The connector's items and locations by the source's id, SKU and code, for resolving balances and movements
    in memory (a dict lookup per row) instead of a join per batch."""

    items: dict[str, uuid.UUID]
    locations: dict[str, uuid.UUID]
    unassigned: uuid.UUID | None = None

    async def unassigned_location(self, session: AsyncSession, connector_id: uuid.UUID) -> uuid.UUID:
        """The connector's "no location" bucket, made when a record without a location first needs it."""
        if self.unassigned is None:
            self.unassigned = await unassigned_location(session, connector_id)
        return self.unassigned

    @classmethod
    async def load(cls, session: AsyncSession, connector_id: uuid.UUID) -> References:
        tenant_id = tenant_context(session).tenant_id
        raw = await _raw(session)
        found: list[dict[str, uuid.UUID]] = []
        for table, natural in (("items", "sku"), ("locations", "code")):
            rows = await raw.fetch(
                f"SELECT external_id, {natural} AS natural_key, id FROM {table} "
                "WHERE tenant_id = $1 AND connector_id = $2 ORDER BY created_at, id",
                tenant_id,
                connector_id,
            )
            found.append(by_reference((row["external_id"], row["natural_key"], row["id"]) for row in rows))
        return cls(found[0], found[1], found[1].get(UNASSIGNED_EXTERNAL_ID))


def by_reference(rows: Iterable[tuple[str, str, T]]) -> dict[str, T]:
    """How a balance or movement names an item or location: by the source's own id of the row, else by its natural
    key (SKU or code). ``rows`` are (external id, natural key, value), oldest first: the oldest row with a natural key
    keeps it, and an id always wins over a natural key. The sync and the mapping preview both resolve this way."""
    rows = list(rows)
    found: dict[str, T] = {}
    for _external_id, natural, value in rows:
        found.setdefault(natural, value)
    found.update({external_id: value for external_id, _natural, value in rows})
    return found


async def unassigned_location(session: AsyncSession, connector_id: uuid.UUID) -> uuid.UUID:
    """The id of the connector's "no location" bucket, inserted if it is not there yet."""
    tenant_id = tenant_context(session).tenant_id
    raw = await _raw(session)
    found = await raw.fetchval(
        """
        INSERT INTO locations (id, tenant_id, connector_id, external_id, code, name, type, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, now(), now())
        ON CONFLICT (tenant_id, connector_id, external_id) DO UPDATE SET type = EXCLUDED.type
        RETURNING id
        """,
        new_ids(1)[0],
        tenant_id,
        connector_id,
        UNASSIGNED_EXTERNAL_ID,
        UNASSIGNED_CODE,
        UNASSIGNED_NAME,
        UNASSIGNED_TYPE,
    )
    assert isinstance(found, uuid.UUID)
    return found


STAGED: dict[str, list[tuple[str, str]]] = {
    "stock_balances": [
        ("source_id", "text"),
        ("item_id", "uuid"),
        ("location_id", "uuid"),
        ("quantity", "numeric"),
        ("reserved_qty", "numeric"),
        ("available_qty", "numeric"),
        ("as_of", "timestamptz"),
    ],
    "stock_movements": [
        ("external_id", "text"),
        ("item_id", "uuid"),
        ("location_id", "uuid"),
        ("occurred_at", "timestamptz"),
        ("quantity", "numeric"),
        ("kind", "text"),
        ("reference", "text"),
        ("level", "numeric"),
        ("level_key", "text"),
        ("is_count", "boolean"),
    ],
    "open_orders": [
        ("external_id", "text"),
        ("item_id", "uuid"),
        ("location_id", "uuid"),
        ("open_qty", "numeric"),
        ("expected_at", "timestamptz"),
        ("kind", "text"),
        ("reference", "text"),
    ],
}

_OPEN_CONTENT = ("item_id", "location_id", "open_qty", "expected_at", "kind", "reference")
_OPEN_CHANGED = " OR ".join(f"o.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in _OPEN_CONTENT)
# One statement per batch of open order lines, one per line id (the last one read wins), under the endpoint.
OPEN_ORDERS_SQL = f"""
INSERT INTO open_orders AS o (id, tenant_id, connector_id, endpoint_key, external_id, item_id, location_id, open_qty,
                              expected_at, kind, reference, created_run_id, updated_run_id, seen_run_id, created_at,
                              updated_at)
SELECT s.id, $1, $2, $4, s.external_id, s.item_id, s.location_id, s.open_qty::numeric, s.expected_at, s.kind,
       s.reference, $3, $3, $3, now(), now()
FROM (SELECT DISTINCT ON (external_id) * FROM _stage_open_orders ORDER BY external_id, ord DESC) s
ON CONFLICT (tenant_id, connector_id, endpoint_key, external_id) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in _OPEN_CONTENT)},
    updated_run_id = CASE WHEN {_OPEN_CHANGED} THEN EXCLUDED.updated_run_id ELSE o.updated_run_id END,
    updated_at = CASE WHEN {_OPEN_CHANGED} THEN now() ELSE o.updated_at END,
    seen_run_id = EXCLUDED.seen_run_id
"""

_PART_CONTENT = ("item_id", "location_id", "quantity", "reserved_qty", "available_qty", "as_of")
_PART_CHANGED = " OR ".join(f"p.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in _PART_CONTENT) + (
    " OR p.vanished_run_id IS NOT NULL"
)
# One statement per batch of balances: the batch's parts, one per source id (the last one read wins), upserted
# under the endpoint. A part seen again is live again (``vanished_run_id`` cleared); ``updated_run_id`` and
# ``updated_at`` move only when what it holds changed.
BALANCE_PARTS_SQL = f"""
INSERT INTO stock_balance_parts AS p (tenant_id, connector_id, endpoint_key, source_id, item_id, location_id,
                                      quantity, reserved_qty, available_qty, as_of, created_run_id, updated_run_id,
                                      seen_run_id, updated_at)
SELECT $1, $2, $4, s.source_id, s.item_id, s.location_id, s.quantity::numeric, s.reserved_qty::numeric,
       s.available_qty::numeric, s.as_of, $3, $3, $3, now()
FROM (SELECT DISTINCT ON (source_id) * FROM _stage_stock_balances ORDER BY source_id, ord DESC) s
ON CONFLICT (tenant_id, connector_id, endpoint_key, source_id) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in _PART_CONTENT)},
    updated_run_id = CASE WHEN {_PART_CHANGED} THEN EXCLUDED.updated_run_id ELSE p.updated_run_id END,
    updated_at = CASE WHEN {_PART_CHANGED} THEN now() ELSE p.updated_at END,
    seen_run_id = EXCLUDED.seen_run_id,
    vanished_run_id = NULL
"""


async def write_batch(
    session: AsyncSession,
    *,
    resource: str,
    connector_id: uuid.UUID,
    run_id: uuid.UUID,
    rows: list[dict[str, Any]],
    references: References | None = None,
    item_limit: int | None = None,
    endpoint_key: str = "",
    combine: str = "last",
) -> list[Unresolved]:
    """Upsert one batch of mapped rows; returns the rows whose item or location is unknown, or new items over
    the plan's ``item_limit`` (not written).

    Balances are written as parts of ``endpoint_key``: with ``combine="sum"`` each row is a part under its
    ``source_id`` and a balance is the sum of its parts; with ``combine="last"`` (a source with one row per item
    and location) a row's part is its item and location, so the last row read for a pair wins."""
    if not rows:
        return []
    tenant_id = tenant_context(session).tenant_id
    assert tenant_id is not None
    raw = await _raw(session)
    # A batch is its own unit: if the server crashes before the commit is flushed, the batch and its
    # checkpoint are lost together and simply fetched again.
    await raw.execute("SET LOCAL synchronous_commit = off")
    stage = f"_stage_{resource}"
    unresolved: list[Unresolved] = []
    records: list[tuple[Any, ...]] = []
    extra: list[Any] = []
    if resource in ("items", "locations"):
        ids = new_ids(len(rows))
        columns = COLUMNS[resource]
        names = [n for n, _ in columns]
        over = (
            await _over_item_limit(raw, tenant_id, connector_id, rows, item_limit)
            if resource == "items" and item_limit is not None
            else set()
        )
        records = [
            (position, ids[position], *(_wire_decimal(row.get(n)) if n in NUMERIC else row.get(n) for n in names))
            for position, row in enumerate(rows)
            if position not in over
        ]
        unresolved = [Unresolved(position, "plan_limit") for position in sorted(over)]
        staged = ["ord", "id", *names]
        sql = _upsert_sql(resource, _latest(resource, stage))
    else:
        refs = references or await References.load(session, connector_id)
        columns = STAGED[resource]
        names = [n for n, _ in columns]
        items, locations = refs.items, refs.locations
        is_balance = resource == "stock_balances"
        is_open = resource == "open_orders"
        open_ids = new_ids(len(rows)) if is_open else []
        by_pair = combine != "sum"
        for position, row in enumerate(rows):
            item_id = items.get(row["item_ref"])
            location_ref = row.get("location_ref")
            location_id = (
                locations.get(location_ref)
                if location_ref is not None
                else await refs.unassigned_location(session, connector_id)
            )
            if item_id is None or location_id is None:
                unresolved.append(Unresolved(position, "unknown_item" if item_id is None else "unknown_location"))
                continue
            if is_open:
                records.append(
                    (
                        position,
                        open_ids[position],
                        row["external_id"],
                        item_id,
                        location_id,
                        str(row["open_qty"]),
                        row.get("expected_at"),
                        row.get("kind") or "purchase",
                        row.get("reference"),
                    )
                )
            elif is_balance:
                records.append(
                    (
                        position,
                        f"{item_id}@{location_id}" if by_pair else row["source_id"],
                        item_id,
                        location_id,
                        str(row["quantity"]),
                        str(row["reserved_qty"]),
                        str(row["available_qty"]),
                        row.get("as_of"),
                    )
                )
            else:
                level = row.get("level")
                records.append(
                    (
                        position,
                        row["external_id"],
                        item_id,
                        location_id,
                        row["occurred_at"],
                        str(row["quantity"]),
                        row["kind"],
                        row.get("reference"),
                        None if level is None else str(level),
                        row.get("level_key"),
                        bool(row.get("is_count", False)),
                    )
                )
        staged = ["ord", *names]
        if is_open:
            staged = ["ord", "id", *names]
            sql = OPEN_ORDERS_SQL
            extra = [endpoint_key]
        elif is_balance:
            sql = BALANCE_PARTS_SQL
            extra = [endpoint_key]
        else:
            sql = _upsert_sql(resource, _latest(resource, stage))
    if records:
        await raw.execute(
            f"CREATE TEMP TABLE {stage} (ord integer, {_staged_columns(resource, columns)}) ON COMMIT DROP"
        )
        await raw.copy_records_to_table(stage, columns=staged, records=records)
        await raw.execute(sql, tenant_id, connector_id, run_id, *extra)
        await raw.execute(f"DROP TABLE {stage}")
    return unresolved


def _staged_columns(resource: str, columns: list[tuple[str, str]]) -> str:
    """Items and locations are staged with the ids new rows will take; balances and movements without."""
    keyed = resource in ("items", "locations", "open_orders")
    return ("id uuid, " if keyed else "") + _staged(columns)


TABLES = ("items", "locations", "stock_balances", "stock_movements", "open_orders")

# Balances per item and location, from their parts: a balance a run touched (a part seen, or changed by the run's
# reconciliation), new when every part of it was created by the run, changed when any part was.
_BALANCE_COUNTS = """
WITH pairs AS (
    SELECT bool_and(created_run_id = $3) AS new, bool_or(updated_run_id = $3) AS changed,
           count(*) FILTER (WHERE seen_run_id = $3) AS seen_parts
    FROM stock_balance_parts
    WHERE tenant_id = $1 AND connector_id = $2
    GROUP BY item_id, location_id
    HAVING bool_or(seen_run_id = $3 OR updated_run_id = $3)
)
SELECT count(*) FILTER (WHERE new) AS inserted, count(*) FILTER (WHERE changed AND NOT new) AS updated,
       count(*) AS seen, coalesce(sum(seen_parts), 0) AS parts, count(*) FILTER (WHERE seen_parts > 0) AS pairs
FROM pairs
"""


async def run_counts(session: AsyncSession, *, connector_id: uuid.UUID, run_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    """What a run wrote per resource, from the rows themselves: ``written`` (distinct source records stored:
    a balance's parts, every other resource's rows), ``inserted``/``updated``/``unchanged`` (balances: per item
    and location), ``quarantined`` with its ``reasons``, and for balances ``balances`` and ``combined`` (records
    added into a balance together with others). ``fetched`` is written + quarantined here; a sync that counted
    what it read replaces it (``atlas.mapping.sync.finish_run``). A resource with records set aside also has its
    most frequent causes (``top``: endpoint, field, code, value, count) and how many causes (``groups``)."""
    tenant_id = tenant_context(session).tenant_id
    raw = await _raw(session)
    causes = await run_top(session, connector_id=connector_id, run_id=run_id)
    counts: dict[str, dict[str, Any]] = {}
    for table in TABLES:
        if table == "stock_balances":
            row = await raw.fetchrow(_BALANCE_COUNTS, tenant_id, connector_id, run_id)
        else:
            row = await raw.fetchrow(
                f"""
                SELECT count(*) FILTER (WHERE created_run_id = $3) AS inserted,
                       count(*) FILTER (WHERE updated_run_id = $3 AND created_run_id IS DISTINCT FROM $3) AS updated,
                       count(*) AS seen
                FROM {table} WHERE tenant_id = $1 AND connector_id = $2 AND seen_run_id = $3
            """,
                tenant_id,
                connector_id,
                run_id,
            )
        reasons = {
            r["code"]: int(r["n"])
            for r in await raw.fetch(
                "SELECT coalesce(e->>'code', 'unknown') AS code, count(*) AS n "
                "FROM quarantined_records q, jsonb_array_elements(q.errors) e "
                "WHERE q.tenant_id = $1 AND q.connector_id = $2 AND q.sync_run_id = $3 AND q.resource = $4 "
                "GROUP BY 1 ORDER BY 2 DESC",
                tenant_id,
                connector_id,
                run_id,
                table,
            )
        }
        quarantined = await raw.fetchval(
            "SELECT count(*) FROM quarantined_records WHERE tenant_id = $1 AND connector_id = $2 "
            "AND sync_run_id = $3 AND resource = $4",
            tenant_id,
            connector_id,
            run_id,
            table,
        )
        seen = int(row["seen"])
        numbers: dict[str, Any] = {
            "written": seen,
            "inserted": int(row["inserted"]),
            "updated": int(row["updated"]),
            "unchanged": seen - int(row["inserted"]) - int(row["updated"]),
            "quarantined": int(quarantined),
            "reasons": reasons,
        }
        if table == "stock_balances":
            numbers["written"] = int(row["parts"])
            numbers["balances"] = seen
            numbers["combined"] = int(row["parts"]) - int(row["pairs"])
        numbers["fetched"] = numbers["written"] + int(quarantined)
        numbers.update(causes.get(table, {}))
        counts[table] = numbers
    return counts


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """What a complete full read of a balance endpoint did to the balances the source no longer has.

    ``vanished_parts`` source records left (kept at zero); ``zeroed`` balances went to zero (no part left with
    stock), ``reduced`` kept other parts. When zeroing would pass ``limit`` (a share of the connector's non-zero
    balances), nothing was changed: ``refused`` is true and ``would_zero`` / ``balances`` say how many of how
    many."""

    vanished_parts: int
    zeroed: list[dict[str, Any]]
    reduced: int
    refused: bool
    would_zero: int
    balances: int
    limit: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "vanished_parts": self.vanished_parts,
            "zeroed": len(self.zeroed),
            "reduced": self.reduced,
            "refused": self.refused,
            "would_zero": self.would_zero,
            "balances": self.balances,
            "limit": self.limit,
        }


# The live parts of one balance endpoint that a complete read did not return.
_GONE = """
tenant_id = $1 AND connector_id = $2 AND endpoint_key = $3 AND seen_run_id IS DISTINCT FROM $4
AND vanished_run_id IS NULL
"""

# The balances those parts belong to: what each holds now, and what it would hold without them.
_VANISHING = f"""
WITH pairs AS (SELECT DISTINCT item_id, location_id FROM stock_balance_parts WHERE {_GONE})
SELECT p.item_id, p.location_id,
       sum(p.quantity) AS quantity, sum(p.reserved_qty) AS reserved_qty,
       coalesce(sum(p.quantity) FILTER (WHERE NOT ({_GONE})), 0) AS left_quantity,
       coalesce(sum(p.reserved_qty) FILTER (WHERE NOT ({_GONE})), 0) AS left_reserved
FROM stock_balance_parts p JOIN pairs USING (item_id, location_id)
WHERE p.tenant_id = $1
GROUP BY p.item_id, p.location_id
"""

_NONZERO = """
SELECT count(*) FROM (
    SELECT 1 FROM stock_balance_parts WHERE tenant_id = $1 AND connector_id = $2
    GROUP BY item_id, location_id HAVING sum(quantity) <> 0 OR sum(reserved_qty) <> 0
) nonzero
"""

# Parts that went to zero in an earlier run are only kept while their balance needs them: once the balance has a
# live part from an earlier run, or a newer zero part, they are dropped. (Not for a live part this run created: the
# zero part still tells this run's counts that the balance existed before, so it is updated, not new.) The table
# stays the size of what the source holds, plus one zero part per balance that went to zero, plus what the last run
# changed.
_COMPACT = """
DELETE FROM stock_balance_parts p
WHERE p.tenant_id = $1 AND p.connector_id = $2 AND p.vanished_run_id IS NOT NULL AND p.vanished_run_id <> $3
  AND EXISTS (
      SELECT 1 FROM stock_balance_parts q
      WHERE q.tenant_id = $1 AND q.item_id = p.item_id AND q.location_id = p.location_id
        AND ((q.vanished_run_id IS NULL AND q.created_run_id IS DISTINCT FROM $3)
             OR (q.vanished_run_id IS NOT NULL AND (q.updated_at, q.source_id) > (p.updated_at, p.source_id)))
  )
"""

_VANISH = f"""
UPDATE stock_balance_parts SET quantity = 0, reserved_qty = 0, available_qty = 0, vanished_run_id = $4,
                               updated_run_id = $4, updated_at = now()
WHERE {_GONE}
"""


async def reconcile_balances(
    session: AsyncSession, *, connector_id: uuid.UUID, endpoint_key: str, run_id: uuid.UUID, limit: float
) -> Reconciliation:
    """After a complete, error-free full read of a balance endpoint: the source records it did not return are
    gone at the source (consumed, deleted), so their parts go to zero (kept, marked with this run), and a
    balance left with nothing goes to zero with them — kept, with its history. Unless that would zero more than
    ``limit`` of the connector's non-zero balances: a source that suddenly answers with far fewer records is more
    likely broken than empty, so nothing changes and the caller says so. Never call it after an incremental
    (time-window) read: such a read sees only what changed."""
    tenant_id = tenant_context(session).tenant_id
    raw = await _raw(session)
    gone = int(
        await raw.fetchval(
            f"SELECT count(*) FROM stock_balance_parts WHERE {_GONE}", tenant_id, connector_id, endpoint_key, run_id
        )
    )
    if gone == 0:
        await compact_parts(session, connector_id=connector_id, run_id=run_id)
        return Reconciliation(0, [], 0, False, 0, 0, limit)
    pairs = await raw.fetch(_VANISHING, tenant_id, connector_id, endpoint_key, run_id)
    zeroed = [
        {
            "item_id": str(r["item_id"]),
            "location_id": str(r["location_id"]),
            "previous_quantity": str(r["quantity"]),
            "previous_reserved": str(r["reserved_qty"]),
        }
        for r in pairs
        if r["left_quantity"] == 0 and r["left_reserved"] == 0 and (r["quantity"] != 0 or r["reserved_qty"] != 0)
    ]
    reduced = sum(1 for r in pairs if r["left_quantity"] != 0 or r["left_reserved"] != 0)
    nonzero = int(await raw.fetchval(_NONZERO, tenant_id, connector_id))
    if nonzero and len(zeroed) / nonzero > limit:
        return Reconciliation(gone, [], reduced, True, len(zeroed), nonzero, limit)
    await raw.execute(_VANISH, tenant_id, connector_id, endpoint_key, run_id)
    await compact_parts(session, connector_id=connector_id, run_id=run_id)
    return Reconciliation(gone, zeroed, reduced, False, len(zeroed), nonzero, limit)


async def replace_open_orders(
    session: AsyncSession, *, connector_id: uuid.UUID, endpoint_key: str, run_id: uuid.UUID
) -> int:
    """After a complete, error-free full read of an open-order endpoint: the lines it did not return are no longer
    open at the source (received, cancelled, closed), so they leave. How many. Never after an incremental read."""
    raw = await _raw(session)
    status = await raw.execute(
        "DELETE FROM open_orders WHERE tenant_id = $1 AND connector_id = $2 AND endpoint_key = $3 "
        "AND seen_run_id IS DISTINCT FROM $4",
        tenant_context(session).tenant_id,
        connector_id,
        endpoint_key,
        run_id,
    )
    return int(status.split()[-1])


async def compact_parts(session: AsyncSession, *, connector_id: uuid.UUID, run_id: uuid.UUID) -> int:
    """Drop the zero parts earlier runs left that no balance needs any more (see `_COMPACT`); how many."""
    raw = await _raw(session)
    status = await raw.execute(_COMPACT, tenant_context(session).tenant_id, connector_id, run_id)
    return int(status.split()[-1])


# Stock counts of the level keys a run touched: a count's change is the counted level minus the level before it,
# which is the level of the last earlier movement that knows its level (an anchor: a count, or a movement whose
# source said the quantity after it) plus the changes of the movements since that anchor. Movements are ordered
# by time, then by their source id (numeric ids in number order), then by arrival. A count with no anchor before
# it cannot be known: it keeps a change of zero and is counted as unresolved, unless the source's ledger is
# complete from its beginning (a count rule's ``complete_history``, $4 or, when NULL, the run's mapping versions):
# then the level before the first movement is 0, and the level before such a count is the sum of the changes before
# it (ERPNext's opening stock entered as a stock reconciliation).
_COUNTS = """
WITH complete AS (
    SELECT coalesce($4::boolean, EXISTS (
        SELECT 1 FROM sync_runs r
        CROSS JOIN LATERAL jsonb_each(r.mapping_versions) AS used(endpoint_key, pinned)
        JOIN mapping_versions v ON v.tenant_id = r.tenant_id
             AND v.mapping_id = (used.pinned->>'mapping_id')::uuid AND v.version = (used.pinned->>'version')::int
        WHERE r.tenant_id = $1 AND r.id = $3 AND v.spec->'count'->'complete_history' = 'true'::jsonb
    )) AS yes
),
keys AS (
    SELECT DISTINCT level_key FROM stock_movements
    WHERE tenant_id = $1 AND connector_id = $2 AND seen_run_id = $3 AND level_key IS NOT NULL
),
ordered AS (
    SELECT m.id, m.level_key, m.level, m.quantity, m.is_count,
           count(m.level) OVER (PARTITION BY m.level_key
                                ORDER BY m.occurred_at, length(m.external_id), m.external_id, m.id) AS grp
    FROM stock_movements m JOIN keys k ON k.level_key = m.level_key
    WHERE m.tenant_id = $1 AND m.connector_id = $2
),
anchors AS (
    SELECT level_key, grp, max(level) AS base, coalesce(sum(quantity) FILTER (WHERE level IS NULL), 0) AS drift
    FROM ordered GROUP BY level_key, grp
),
computed AS (
    SELECT o.id, a.base IS NOT NULL OR c.yes AS resolved,
           CASE WHEN a.base IS NULL AND NOT c.yes THEN 0
                ELSE o.level - (coalesce(a.base, 0) + coalesce(a.drift, 0)) END AS change
    FROM ordered o CROSS JOIN complete c
    LEFT JOIN anchors a ON a.level_key = o.level_key AND a.grp = o.grp - 1 AND (a.grp > 0 OR c.yes)
    WHERE o.is_count
),
changed AS (
    UPDATE stock_movements m SET quantity = c.change, updated_run_id = $3
    FROM computed c WHERE m.id = c.id AND m.quantity IS DISTINCT FROM c.change
    RETURNING m.id
)
SELECT (SELECT count(*) FROM computed) AS counts,
       (SELECT count(*) FROM computed WHERE NOT resolved) AS unresolved,
       (SELECT count(*) FROM changed) AS changed
"""


async def resolve_counts(
    session: AsyncSession, *, connector_id: uuid.UUID, run_id: uuid.UUID, complete_history: bool | None = None
) -> dict[str, int]:
    """Set every stock count of the level keys this run touched to (counted − the level before it). Idempotent;
    run after an endpoint is written completely (a later page may hold an earlier movement). ``complete_history``:
    the connector's movements are its source's whole ledger, so a count with no earlier level starts from 0; None
    reads it from the count rules of the mapping versions the run uses (any of them saying so)."""
    tenant_id = tenant_context(session).tenant_id
    raw = await _raw(session)
    row = await raw.fetchrow(_COUNTS, tenant_id, connector_id, run_id, complete_history)
    return {"counts": int(row["counts"]), "unresolved": int(row["unresolved"]), "changed": int(row["changed"])}
