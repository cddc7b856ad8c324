"""Writing canonical rows in batches: COPY into a staging table, then one INSERT … ON CONFLICT.

Rows are deduplicated within a batch (the last one wins), references from
balances and movements to items and locations are resolved in SQL (by the
source's external id, else by SKU or location code), and each row records the
sync run that created it, last changed it, and last saw it, so a run's counts
come from the database and stay exact when a batch is written twice after a crash.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from typing import Any

from asyncpg.pgproto.pgproto import UUID as WireUUID
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.db.engine import tenant_context

COLUMNS: dict[str, list[tuple[str, str]]] = {
    "items": [
        ("external_id", "text"),
        ("sku", "text"),
        ("name", "text"),
        ("category", "text"),
        ("unit_of_measure", "text"),
        ("unit_cost", "numeric"),
        ("lead_time_days", "integer"),
    ],
    "locations": [("external_id", "text"), ("code", "text"), ("name", "text"), ("type", "text"), ("address", "text")],
    "stock_balances": [
        ("item_ref", "text"),
        ("location_ref", "text"),
        ("quantity", "numeric"),
        ("reserved_qty", "numeric"),
        ("available_qty", "numeric"),
        ("as_of", "timestamptz"),
    ],
    "stock_movements": [
        ("external_id", "text"),
        ("item_ref", "text"),
        ("location_ref", "text"),
        ("occurred_at", "timestamptz"),
        ("quantity", "numeric"),
        ("kind", "text"),
        ("reference", "text"),
    ],
}
CONTENT = {
    "items": ["sku", "name", "category", "unit_of_measure", "unit_cost", "lead_time_days"],
    "locations": ["code", "name", "type", "address"],
    "stock_balances": ["item_id", "location_id", "quantity", "reserved_qty", "available_qty", "as_of"],
    "stock_movements": ["item_id", "location_id", "occurred_at", "quantity", "kind", "reference"],
}


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


NUMERIC = {"unit_cost", "quantity", "reserved_qty", "available_qty"}


def _staged(columns: list[tuple[str, str]]) -> str:
    """The staging table's columns: numeric values arrive as text (see `_wire_decimal`)."""
    return ", ".join(f"{name} {'text' if kind == 'numeric' else kind}" for name, kind in columns)


# What identifies a row (its unique key, the upsert's conflict target). A balance is one item at one location
# (an item belongs to one connector; migration 0011); everything else is the source's own record.
KEY: dict[str, tuple[str, ...]] = {
    "items": ("tenant_id", "connector_id", "external_id"),
    "locations": ("tenant_id", "connector_id", "external_id"),
    "stock_balances": ("tenant_id", "item_id", "location_id"),
    "stock_movements": ("tenant_id", "connector_id", "external_id"),
}


def _latest(resource: str, stage: str) -> str:
    """The batch's rows, one per key: the last one the source sent wins."""
    key = ", ".join(c for c in KEY[resource] if c not in ("tenant_id", "connector_id"))
    return f"(SELECT DISTINCT ON ({key}) * FROM {stage} ORDER BY {key}, ord DESC)"


def _upsert_sql(resource: str, source: str) -> str:
    table = resource
    columns = ["external_id", *CONTENT[resource]]
    content = [c for c in columns if c not in KEY[resource]]  # overwritten, and compared to tell an update
    distinct = " OR ".join(f"{table}.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in content)
    assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in content)
    updated_at = (
        f", updated_at = CASE WHEN {distinct} THEN now() ELSE {table}.updated_at END"
        if (resource != "stock_movements")
        else ""
    )
    timestamps = (
        ", created_at, updated_at"
        if resource in ("items", "locations")
        else (", updated_at" if resource == "stock_balances" else "")
    )
    timestamp_values = (
        ", now(), now()" if resource in ("items", "locations") else (", now()" if resource == "stock_balances" else "")
    )
    id_column = "" if resource == "stock_movements" else "id, "
    id_value = "" if resource == "stock_movements" else "s.id, "
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

    @classmethod
    async def load(cls, session: AsyncSession, connector_id: uuid.UUID) -> References:
        tenant_id = tenant_context(session).tenant_id
        raw = await _raw(session)
        found: list[dict[str, uuid.UUID]] = []
        for table, natural in (("items", "sku"), ("locations", "code")):
            rows = await raw.fetch(
                f"SELECT external_id, {natural} AS natural_key, id FROM {table} "
                "WHERE tenant_id = $1 AND connector_id = $2",
                tenant_id,
                connector_id,
            )
            refs: dict[str, uuid.UUID] = {}
            for row in rows:
                refs.setdefault(row["natural_key"], row["id"])
            refs.update({row["external_id"]: row["id"] for row in rows})  # the source's own id wins
            found.append(refs)
        return cls(found[0], found[1])


STAGED: dict[str, list[tuple[str, str]]] = {
    "stock_balances": [
        ("external_id", "text"),
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
    ],
}


async def write_batch(
    session: AsyncSession,
    *,
    resource: str,
    connector_id: uuid.UUID,
    run_id: uuid.UUID,
    rows: list[dict[str, Any]],
    references: References | None = None,
    item_limit: int | None = None,
) -> list[Unresolved]:
    """Upsert one batch of mapped rows; returns the rows whose item or location is unknown, or new items over
    the plan's ``item_limit`` (not written)."""
    if not rows:
        return []
    tenant_id = tenant_context(session).tenant_id
    assert tenant_id is not None
    raw = await _raw(session)
    # A batch is its own unit: if the server crashes before the commit is flushed, the batch and its
    # checkpoint are lost together and simply fetched again.
    await raw.execute("SET LOCAL synchronous_commit = off")
    stage = f"_stage_{resource}"
    keyed = resource != "stock_movements"  # movements number their rows with an identity column
    ids = new_ids(len(rows)) if keyed else []
    unresolved: list[Unresolved] = []
    records: list[tuple[Any, ...]] = []
    if resource in ("items", "locations"):
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
    else:
        refs = references or await References.load(session, connector_id)
        columns = STAGED[resource]
        names = [n for n, _ in columns]
        items, locations = refs.items, refs.locations
        is_balance = resource == "stock_balances"
        for position, row in enumerate(rows):
            item_id = items.get(row["item_ref"])
            location_id = locations.get(row["location_ref"])
            if item_id is None or location_id is None:
                unresolved.append(Unresolved(position, "unknown_item" if item_id is None else "unknown_location"))
                continue
            if is_balance:
                records.append(
                    (
                        position,
                        ids[position],
                        row["item_ref"] + "@" + row["location_ref"],
                        item_id,
                        location_id,
                        str(row["quantity"]),
                        str(row["reserved_qty"]),
                        str(row["available_qty"]),
                        row.get("as_of"),
                    )
                )
            else:
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
                    )
                )
    if records:
        staged = ["ord", "id", *names] if keyed else ["ord", *names]
        await raw.execute(
            f"CREATE TEMP TABLE {stage} (ord integer, {'id uuid, ' if keyed else ''}{_staged(columns)}) ON COMMIT DROP"
        )
        await raw.copy_records_to_table(stage, columns=staged, records=records)
        await raw.execute(
            _upsert_sql(resource, _latest(resource, stage)),
            tenant_id,
            connector_id,
            run_id,
        )
        await raw.execute(f"DROP TABLE {stage}")
    return unresolved


TABLES = ("items", "locations", "stock_balances", "stock_movements")


async def run_counts(session: AsyncSession, *, connector_id: uuid.UUID, run_id: uuid.UUID) -> dict[str, dict[str, int]]:
    """Inserted, updated, unchanged and quarantined per resource for a run, from the rows themselves."""
    tenant_id = tenant_context(session).tenant_id
    raw = await _raw(session)
    counts: dict[str, dict[str, int]] = {}
    for table in TABLES:
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
        quarantined = await raw.fetchval(
            "SELECT count(*) FROM quarantined_records WHERE tenant_id = $1 AND connector_id = $2 "
            "AND sync_run_id = $3 AND resource = $4",
            tenant_id,
            connector_id,
            run_id,
            table,
        )
        seen = int(row["seen"])
        counts[table] = {
            "fetched": seen + int(quarantined),
            "inserted": int(row["inserted"]),
            "updated": int(row["updated"]),
            "unchanged": seen - int(row["inserted"]) - int(row["updated"]),
            "quarantined": int(quarantined),
        }
    return counts
