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
                "reserved_qty": Decimal("0.00005"),  # rounds to the column's scale of 4, as before
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
                "SELECT i.sku, i.unit_cost, b.id, b.quantity, b.reserved_qty, b.available_qty "
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
        assert row["reserved_qty"] == Decimal("0.0001")  # numeric(18, 4) rounds half away from zero
    ids = [uuid.UUID(str(row["id"])) for row in rows]
    assert len(set(ids)) == len(ids) and all(i.version == 7 for i in ids)
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
