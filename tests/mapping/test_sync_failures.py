"""When something goes wrong inside a sync: a value the database cannot hold is the record's error, and a writer
that fails ends the read instead of leaving it waiting for ever."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import msgspec
import psycopg
import pytest

from atlas.db.engine import Database
from tests.services import free_port
from tests.sims.canary import CANARY

ITEMS = [{"id": i, "sku": "BOOM" if i == 30 else f"SKU-{i:05d}", "name": f"Item {i}"} for i in range(2000)]


@contextmanager
def items_api() -> Iterator[str]:
    """2,000 items in pages of 20 (offset, with a total)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            url = urlparse(self.path)
            CANARY.record("items-api", "GET", url.path, "read")
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            offset, limit = int(query.get("offset", 0)), int(query.get("limit", 20))
            body = json.dumps({"results": ITEMS[offset : offset + limit], "total": len(ITEMS)}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_quantity_the_database_cannot_hold_is_set_aside_not_a_failed_batch(database_url: str) -> None:
    """numeric(18, 4) holds at most 14 digits before the point: the largest is mapped and stored exactly, the next
    is the record's out_of_range error, so the rest of its batch is written."""
    from atlas.mapping.engine import compile_mapping
    from tests.mapping.test_balance_parts import Writer, part, with_writer

    mapping = compile_mapping(
        "stock_balances",
        {
            "combine": "sum",
            "fields": {
                "source_id": {"path": "$.id"},
                "item_ref": {"path": "$.sku"},
                "location_ref": {"path": "$.wh"},
                "quantity": {"path": "$.qty"},
            },
        },
    )
    biggest, too_big = mapping.map_many(
        [
            {"id": 1, "sku": "P-1", "wh": "L-1", "qty": "99999999999999.9999"},
            {"id": 2, "sku": "P-1", "wh": "L-1", "qty": 10**14},
        ]
    )
    assert isinstance(biggest, dict)
    assert isinstance(too_big, list) and [(e.field, e.code) for e in too_big] == [("quantity", "out_of_range")]

    async def scenario(writer: Writer) -> Any:
        await writer.write("stock_balances", uuid.uuid4(), [biggest, part("3", "P-2", "L-1", 1)])
        return await writer.balances()

    balances = with_writer(database_url, scenario)
    assert balances[("P-1", "L-1")] == (Decimal("99999999999999.9999"), Decimal(0))


def test_a_writer_that_fails_ends_the_read_instead_of_leaving_it_waiting(database_url: str) -> None:
    """A writer fails (here a trigger refuses one item) while the read is far ahead of it and the queue between
    them is full: the endpoint's read ends with the writer's error, promptly, rather than waiting for room in a
    queue nobody reads any more (which kept a Temporal attempt alive and silent for hours)."""
    from atlas.config import Settings
    from atlas.connectors import services as connectors
    from atlas.connectors.schemas import ConnectorCreate
    from atlas.execution_lock import NetworkPolicy
    from atlas.mapping import services as mappings
    from atlas.mapping import sync
    from atlas.mapping.models import SyncRun
    from atlas.platform.audit import Actor
    from atlas.platform.crypto import SecretBox
    from atlas.platform.services import provision_tenant

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "CREATE OR REPLACE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.sku = 'BOOM' THEN RAISE EXCEPTION 'the test refuses this item'; END IF; RETURN NEW; END $$"
        )
        conn.execute("CREATE TRIGGER refuse_boom BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION refuse_boom()")
    settings = Settings()
    box = SecretBox(settings.fernet_key())
    actor = Actor("system", "test")

    async def scenario(base_url: str) -> BaseException | None:
        database = Database(database_url.replace("postgresql://", "postgresql+asyncpg://", 1), app_role="atlas_app")
        try:
            async with database.system_session() as session:
                tenant = await provision_tenant(session, name="Failing writer", actor=actor, correlation_id="t")
            body = msgspec.convert(
                {
                    "name": "Items API",
                    "base_url": base_url,
                    "rate_limit_per_second": 1000,
                    "rate_limit_burst": 1000,
                    "endpoints": [
                        {
                            "key": "items",
                            "resource": "items",
                            "path": "/items",
                            "record_path": "$.results",
                            "pagination": {"kind": "offset", "page_size": 20, "total_path": "$.total"},
                        }
                    ],
                },
                ConnectorCreate,
            )
            async with database.tenant_session(tenant.id) as session:
                connector, _ = await connectors.create_connector(
                    session, body, actor=actor, correlation_id="t", box=box, network=NetworkPolicy(allow_private=True)
                )
                await mappings.create_mapping(
                    session,
                    connector_id=connector.id,
                    endpoint_key="items",
                    spec={
                        "fields": {
                            "external_id": {"path": "$.id"},
                            "sku": {"path": "$.sku"},
                            "name": {"path": "$.name"},
                        }
                    },
                    note="",
                    actor=actor,
                    correlation_id="t",
                )
                run = await sync.SyncRunRepo(session).add(
                    SyncRun(connector_id=connector.id, status="running", requested_by="test")
                )
            try:
                await sync.sync_endpoint(
                    database,
                    tenant_id=tenant.id,
                    connector_id=connector.id,
                    run_id=run.id,
                    endpoint_key="items",
                    box=box,
                    network=NetworkPolicy(allow_private=True),
                    heartbeat=lambda _details: None,
                    batch_size=20,
                )
            except BaseException as failure:
                return failure
            return None
        finally:
            await database.dispose()

    # The read runs on a thread of its own: if it hangs (the bug this guards against), the test fails after the
    # bound instead of hanging the suite. The bound is a liveness limit, not a speed: the read ends in about a second.
    outcome: list[BaseException | None] = []
    try:
        with items_api() as base_url:
            runner = threading.Thread(target=lambda: outcome.append(asyncio.run(scenario(base_url))), daemon=True)
            runner.start()
            runner.join(timeout=120)
            assert outcome, "the read waited for ever after its writer failed"
            failure = outcome[0]
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("DROP TRIGGER refuse_boom ON items")
            conn.execute("DROP FUNCTION refuse_boom()")
    assert failure is not None
    errors = failure.exceptions if isinstance(failure, BaseExceptionGroup) else [failure]
    assert any("the test refuses this item" in str(error) for error in errors), errors


@pytest.mark.parametrize("quantity", ["100000000000000", "-100000000000000.0001"])
def test_out_of_range_either_way(quantity: str) -> None:
    from atlas.mapping.engine import compile_mapping

    mapping = compile_mapping(
        "stock_balances",
        {
            "combine": "last",
            "fields": {"item_ref": {"path": "$.sku"}, "location_ref": {"path": "$.wh"}, "quantity": {"path": "$.qty"}},
        },
    )
    [result] = mapping.map_many([{"sku": "A", "wh": "W", "qty": quantity}])
    assert isinstance(result, list) and result[0].code == "out_of_range"
