"""A NUL (U+0000) inside a customer's record never poisons a sync (issue 16): PostgreSQL cannot store it in text or
jsonb, so the read used to fail on every retry of its activity. The engine reads it as U+FFFD (the replacement
character), so the record is stored (or set aside for its other faults) and the run completes."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlparse

import msgspec
import psycopg

from atlas.db.engine import Database
from tests.services import free_port
from tests.sims.canary import CANARY

ITEMS = [
    {"id": 1, "sku": "SKU-1", "name": "Milk\u0000 1 L"},
    {"id": 2, "sku": "SKU\u00002", "name": "Bread", "tags": {"k\u0000": "v\u0000"}},
    {"id": 3, "sku": "SKU-3", "name": "C:\\u0000 folder"},  # an escaped backslash: not a NUL, kept as sent
    {"id": 4, "sku": "SKU-4", "name": "Dates"},
]


@contextmanager
def items_api() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            CANARY.record("nul-items-api", "GET", urlparse(self.path).path, "read")
            body = json.dumps({"results": ITEMS}).encode()  # NULs travel as \\u0000 escapes, as JSON requires
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


def test_a_nul_in_a_customer_record_is_read_as_a_replacement_character(database_url: str) -> None:
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

    settings = Settings()
    box = SecretBox(settings.fernet_key())
    actor = Actor("system", "test")
    network = NetworkPolicy(allow_private=True)

    async def scenario(base_url: str) -> uuid.UUID:
        database = Database(database_url.replace("postgresql://", "postgresql+asyncpg://", 1), app_role="atlas_app")
        try:
            async with database.system_session() as session:
                tenant = await provision_tenant(session, name="NUL records", actor=actor, correlation_id="t")
            body = msgspec.convert(
                {
                    "name": "Items API",
                    "base_url": base_url,
                    "endpoints": [{"key": "items", "resource": "items", "path": "/items", "record_path": "$.results"}],
                },
                ConnectorCreate,
            )
            async with database.tenant_session(tenant.id) as session:
                connector, _ = await connectors.create_connector(
                    session, body, actor=actor, correlation_id="t", box=box, network=network
                )
                spec = {
                    "fields": {"external_id": {"path": "$.id"}, "sku": {"path": "$.sku"}, "name": {"path": "$.name"}}
                }
                await mappings.create_mapping(
                    session,
                    connector_id=connector.id,
                    endpoint_key="items",
                    spec=spec,
                    note="",
                    actor=actor,
                    correlation_id="t",
                )
                run = await sync.SyncRunRepo(session).add(
                    SyncRun(connector_id=connector.id, status="running", requested_by="test")
                )
            await sync.sync_endpoint(
                database,
                tenant_id=tenant.id,
                connector_id=connector.id,
                run_id=run.id,
                endpoint_key="items",
                box=box,
                network=network,
                heartbeat=lambda _details: None,
            )
            return connector.id
        finally:
            await database.dispose()

    with items_api() as base_url:
        connector_id = asyncio.run(scenario(base_url))
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT external_id, sku, name FROM items WHERE connector_id = %s ORDER BY external_id", (connector_id,)
        ).fetchall()
    assert rows == [
        ("1", "SKU-1", "Milk\ufffd 1 L"),
        ("2", "SKU\ufffd2", "Bread"),
        ("3", "SKU-3", "C:\\u0000 folder"),
        ("4", "SKU-4", "Dates"),
    ]
