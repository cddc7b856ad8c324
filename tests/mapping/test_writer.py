"""The batch writer on its own: decimals stay exact, row ids are new and time-ordered, a repeat changes nothing."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Any

import msgspec

from atlas.db.engine import Database

# Exponent notation, the smallest step of the column's scale, and all 18 digits of numeric(18, 4), whose last
# ones a float would lose.
DECIMALS = [
    Decimal("1E+3"),
    Decimal("0.0001"),
    Decimal("-12.3456"),
    Decimal(0),
    Decimal("12345678901234.5678"),
    Decimal(7),
]


async def _setup(database: Database) -> tuple[uuid.UUID, uuid.UUID]:
    from atlas.config import Settings
    from atlas.connectors import services as connectors
    from atlas.connectors.schemas import ConnectorCreate
    from atlas.execution_lock import NetworkPolicy
    from atlas.platform.audit import Actor
    from atlas.platform.crypto import SecretBox
    from atlas.platform.services import provision_tenant

    actor = Actor("system", "test")
    settings = Settings()
    async with database.system_session() as session:
        tenant = await provision_tenant(session, name=f"Writer {uuid.uuid4().hex[:6]}", actor=actor, correlation_id="t")
    body = msgspec.convert(
        {
            "name": "Writer ERP",
            "base_url": "http://127.0.0.1:9",
            "endpoints": [{"key": "stock", "resource": "stock_balances", "path": "/stock", "record_path": "$.items"}],
        },
        ConnectorCreate,
    )
    async with database.tenant_session(tenant.id) as session:
        connector, _ = await connectors.create_connector(
            session,
            body,
            actor=actor,
            correlation_id="t",
            box=SecretBox(settings.fernet_key()),
            network=NetworkPolicy(allow_private=True),
        )
    return tenant.id, connector.id


async def _scenario(url: str) -> dict[str, Any]:
    from atlas.mapping.writer import run_counts, write_batch

    database = Database(url.replace("postgresql://", "postgresql+asyncpg://", 1), app_role="atlas_app")
    try:
        tenant_id, connector_id = await _setup(database)
        items = [
            {"external_id": f"I-{i}", "sku": f"I-{i}", "name": f"Item {i}", "unit_cost": cost}
            for i, cost in enumerate(DECIMALS)
        ]
        locations = [{"external_id": "W-1", "code": "W-1", "name": "Main"}]
        balances = [
            {
                "item_ref": f"I-{i}",
                "location_ref": "W-1",
                "quantity": quantity,
                "reserved_qty": Decimal("0.0000005"),  # rounds to a balance part's scale of 6
                "available_qty": quantity,
                "as_of": None,
            }
            for i, quantity in enumerate(DECIMALS)
        ]
        first, second = uuid.uuid4(), uuid.uuid4()
        counts = {}
        for run in (first, second):
            async with database.tenant_session(tenant_id) as session:
                await write_batch(session, resource="items", connector_id=connector_id, run_id=run, rows=items)
                await write_batch(session, resource="locations", connector_id=connector_id, run_id=run, rows=locations)
                unresolved = await write_batch(
                    session, resource="stock_balances", connector_id=connector_id, run_id=run, rows=balances
                )
                assert unresolved == []
            async with database.tenant_session(tenant_id) as session:
                counts[run] = await run_counts(session, connector_id=connector_id, run_id=run)
        async with database.tenant_session(tenant_id) as session:
            raw = await (await session.connection()).get_raw_connection()
            stored = await raw.driver_connection.fetch(
                "SELECT i.sku, i.unit_cost, i.id AS item_id, b.id, b.quantity, b.reserved_qty, b.available_qty "
                "FROM stock_balances b JOIN items i ON i.id = b.item_id ORDER BY i.sku"
            )
        return {"counts": counts, "first": first, "second": second, "rows": [dict(r) for r in stored]}
    finally:
        await database.dispose()


def test_decimals_stay_exact_ids_are_new_and_a_repeat_changes_nothing(database_url: str) -> None:
    outcome = asyncio.run(_scenario(database_url))
    rows = outcome["rows"]
    assert len(rows) == len(DECIMALS)
    for row in rows:
        expected = DECIMALS[int(row["sku"].split("-")[1])]
        assert isinstance(row["quantity"], Decimal) and row["quantity"] == expected
        assert row["available_qty"] == expected and row["unit_cost"] == expected
        assert row["reserved_qty"] == Decimal("0.000001")  # numeric(20, 6) rounds half away from zero
    ids = [uuid.UUID(str(row["item_id"])) for row in rows]
    assert len(set(ids)) == len(ids) and all(i.version == 7 for i in ids)  # new rows get time-ordered ids
    balances = {uuid.UUID(str(row["id"])) for row in rows}  # a balance's id is its item and location's
    assert len(balances) == len(rows)
    first, second = outcome["counts"][outcome["first"]], outcome["counts"][outcome["second"]]
    assert first["stock_balances"]["inserted"] == len(DECIMALS) and first["items"]["inserted"] == len(DECIMALS)
    for resource in ("items", "locations", "stock_balances"):
        assert second[resource]["inserted"] == 0 and second[resource]["updated"] == 0
        assert second[resource]["unchanged"] == second[resource]["fetched"] > 0


async def _repeats(url: str) -> tuple[list[dict[str, Any]], dict[str, dict[str, int]]]:
    from atlas.mapping.writer import run_counts, write_batch

    database = Database(url.replace("postgresql://", "postgresql+asyncpg://", 1), app_role="atlas_app")
    try:
        tenant_id, connector_id = await _setup(database)
        run = uuid.uuid4()
        items = [
            {"external_id": "I-1", "sku": "I-1", "name": "first"},
            {"external_id": "I-2", "sku": "I-2", "name": "only"},
            {"external_id": "I-1", "sku": "I-1", "name": "last"},
        ]
        async with database.tenant_session(tenant_id) as session:
            await write_batch(session, resource="items", connector_id=connector_id, run_id=run, rows=items)
        async with database.tenant_session(tenant_id) as session:
            counts = await run_counts(session, connector_id=connector_id, run_id=run)
            raw = await (await session.connection()).get_raw_connection()
            stored = await raw.driver_connection.fetch("SELECT external_id, name FROM items ORDER BY external_id")
        return [dict(r) for r in stored], counts
    finally:
        await database.dispose()


def test_an_id_repeated_within_a_batch_is_written_once_and_the_last_one_wins(database_url: str) -> None:
    rows, counts = asyncio.run(_repeats(database_url))
    assert rows == [{"external_id": "I-1", "name": "last"}, {"external_id": "I-2", "name": "only"}]
    assert counts["items"]["inserted"] == 2 and counts["items"]["fetched"] == 2


async def _one_balance_per_item_and_location(url: str) -> tuple[list[dict[str, Any]], dict[str, int]]:
    from atlas.mapping.writer import run_counts, write_batch

    database = Database(url.replace("postgresql://", "postgresql+asyncpg://", 1), app_role="atlas_app")
    try:
        tenant_id, connector_id = await _setup(database)
        first, second = uuid.uuid4(), uuid.uuid4()

        def balance(item_ref: str, quantity: int) -> dict[str, Any]:
            return {
                "item_ref": item_ref,
                "location_ref": "W-1",
                "quantity": Decimal(quantity),
                "reserved_qty": Decimal(0),
                "available_qty": Decimal(quantity),
                "as_of": None,
            }

        async def write(resource: str, run: uuid.UUID, rows: list[dict[str, Any]]) -> None:
            async with database.tenant_session(tenant_id) as session:
                await write_batch(session, resource=resource, connector_id=connector_id, run_id=run, rows=rows)

        await write("items", first, [{"external_id": "X-1", "sku": "MILK-1", "name": "Milk"}])
        await write("locations", first, [{"external_id": "W-1", "code": "W-1", "name": "Main"}])
        # The same item by its SKU and by the source's id, in one batch: one balance, the last one wins.
        await write("stock_balances", first, [balance("MILK-1", 5), balance("X-1", 7)])
        # A later run that names it by its SKU again updates that balance, not a second one.
        await write("stock_balances", second, [balance("MILK-1", 9)])
        async with database.tenant_session(tenant_id) as session:
            counts = (await run_counts(session, connector_id=connector_id, run_id=second))["stock_balances"]
            raw = await (await session.connection()).get_raw_connection()
            stored = await raw.driver_connection.fetch(
                "SELECT i.sku, b.quantity FROM stock_balances b JOIN items i ON i.id = b.item_id"
            )
        return [dict(r) for r in stored], counts
    finally:
        await database.dispose()


def test_one_balance_per_item_and_location_whichever_reference_the_source_uses(database_url: str) -> None:
    rows, counts = asyncio.run(_one_balance_per_item_and_location(database_url))
    assert rows == [{"sku": "MILK-1", "quantity": Decimal(9)}]
    assert (counts["inserted"], counts["updated"], counts["fetched"]) == (0, 1, 1)


def test_the_migration_to_one_balance_per_item_and_location_keeps_the_latest(pg_server: str) -> None:
    """Migration 0011 on a database with two balances of one item at one location (two references to it)."""
    import psycopg

    from atlas.db.migrate import upgrade
    from tests.services import with_database

    name = f"atlas_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(with_database(pg_server, "postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(pg_server, name)
    try:
        upgrade(url.replace("postgresql://", "postgresql+psycopg://", 1), "0010")
        tenant_id, connector_id = _setup_at(url)
        item, location, older, newer = (uuid.uuid4() for _ in range(4))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO items (id, tenant_id, connector_id, external_id, sku, name, created_at, updated_at) "
                "VALUES (%s, %s, %s, 'X-1', 'MILK-1', 'Milk', now(), now())",
                (item, tenant_id, connector_id),
            )
            conn.execute(
                "INSERT INTO locations (id, tenant_id, connector_id, external_id, code, name, created_at, updated_at) "
                "VALUES (%s, %s, %s, 'W-1', 'W-1', 'Main', now(), now())",
                (location, tenant_id, connector_id),
            )
            for row_id, ref, quantity, age in (
                (older, "MILK-1@W-1", 5, "2 hours"),
                (newer, "X-1@W-1", 7, "1 hour"),
            ):
                conn.execute(
                    "INSERT INTO stock_balances (id, tenant_id, connector_id, external_id, item_id, location_id, "
                    "quantity, reserved_qty, available_qty, updated_at) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, 0, %s, now() - %s::interval)",
                    (row_id, tenant_id, connector_id, ref, item, location, quantity, quantity, age),
                )
        upgrade(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with psycopg.connect(url, autocommit=True) as conn:
            # Migration 0011 kept the latest of the two; migration 0012 made it the balance's one part (keyed as a
            # one-row-per-pair mapping keys it), and the balance the sum of its parts.
            parts = conn.execute("SELECT endpoint_key, source_id, quantity FROM stock_balance_parts").fetchall()
            assert parts == [("stock", f"{item}@{location}", Decimal(7))]
            rows = conn.execute("SELECT item_id, location_id, quantity FROM stock_balances").fetchall()
            assert rows == [(item, location, Decimal(7))]
    finally:
        with psycopg.connect(with_database(pg_server, "postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _setup_at(url: str) -> tuple[uuid.UUID, uuid.UUID]:
    """A tenant and a connector written in 0010's own shape: today's models have columns a database at 0010 does not
    (the tenant's time zone, the connector's later settings), so neither goes through the services."""
    import psycopg

    tenant_id, connector_id = uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO tenants (id, name, created_at) VALUES (%s, 'At 0010', now())", (tenant_id,))
        conn.execute(
            "INSERT INTO connectors (id, tenant_id, name, base_url, environment, auth_kind, auth_settings, "
            "rate_limit_per_second, rate_limit_burst, timeout_seconds, max_concurrency, retry_attempts, "
            "health_status, action_templates, created_by, created_at, updated_at) "
            "VALUES (%s, %s, 'Old ERP', 'http://127.0.0.1:9', 'sandbox', 'none', '{}', 10, 10, 30, 4, 5, "
            "'unknown', '{}', 'test', now(), now())",
            (connector_id, tenant_id),
        )
    return tenant_id, connector_id
