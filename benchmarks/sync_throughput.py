"""Sync throughput: a full sync of stock balances from a local fast server into PostgreSQL.

Runs the real path of a sync (`atlas.mapping.sync.sync_endpoint`: connector engine →
mapping → COPY + upsert batches of balance parts, each balance the sum of its parts → the
reconciliation of a complete full read → run counts), without Temporal's fixed per-endpoint
cost, against a fresh database (DATABASE_URL's server, or an embedded PostgreSQL), in a
process whose garbage collector is tuned as the worker's is (`atlas.collector`).
Reports, in the same run:
  * full sync:        records per second, fetch to committed rows;
  * mapping engine:   records mapped per second (no I/O), for the 6-field balance mapping (also over records
                      whose quantities and moments all differ, so that no value repeats);
  * database writes:  rows written per second through the batch writer (no fetch, no mapping).

    .venv/bin/python benchmarks/sync_throughput.py [--records 200000] [--page-size 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ITEMS = 2000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def records(total: int) -> list[dict[str, Any]]:
    locations = max(1, total // ITEMS)
    return [
        {
            "id": i,
            "sku": f"SKU-{i % ITEMS:06d}",
            "warehouse_id": f"WH-{i // ITEMS:03d}",
            "on_hand": i % 97,
            "reserved": i % 5,
            "available": i % 97 - i % 5,
            "as_of": "2026-11-22T09:00:00+03:00",
        }
        for i in range(ITEMS * locations)
    ]


def make_app(total: int, page_size: int) -> Any:
    from functools import lru_cache
    from urllib.parse import parse_qs

    rows = records(total)

    @lru_cache(maxsize=4096)
    def page(offset: int, limit: int) -> bytes:
        return json.dumps({"results": rows[offset : offset + limit], "total": len(rows)}).encode()

    # A fast server: every page is encoded before the server listens (as in connector_throughput.py), so that
    # the first sync does not share the two cores with the test server's own JSON encoding.
    for offset in range(0, len(rows), page_size):
        page(offset, page_size)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        body = page(int(query.get("offset", 0)), int(query.get("limit", 1000)))
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


def serve(port: int, total: int, page_size: int) -> None:
    import uvicorn

    uvicorn.run(make_app(total, page_size), host="127.0.0.1", port=port, log_level="warning", access_log=False)


# Balances are summed over their source records (each under its own id), as issue 14 has every balance mapping do.
BALANCE_MAPPING = {
    "record_path": "$.results",
    "combine": "sum",
    "fields": {
        "source_id": {"path": "$.id"},
        "item_ref": {"path": "$.sku"},
        "location_ref": {"path": "$.warehouse_id"},
        "quantity": {"path": "$.on_hand"},
        "reserved_qty": {"path": "$.reserved"},
        "available_qty": {"path": "$.available"},
        "as_of": {"path": "$.as_of"},
    },
}


async def prepare(database: Any, base_url: str, total: int, page_size: int) -> tuple[uuid.UUID, uuid.UUID]:
    import msgspec

    from atlas.config import Settings
    from atlas.connectors import services as connectors
    from atlas.connectors.schemas import ConnectorCreate
    from atlas.execution_lock import NetworkPolicy
    from atlas.mapping import services as mappings
    from atlas.mapping.writer import write_batch
    from atlas.platform.audit import Actor
    from atlas.platform.crypto import SecretBox
    from atlas.platform.services import provision_tenant

    actor = Actor("system", "benchmark")
    settings = Settings()
    async with database.system_session() as session:
        tenant = await provision_tenant(session, name="Benchmark", actor=actor, correlation_id="bench")
    body = msgspec.convert(
        {
            "name": "Fast ERP",
            "base_url": base_url,
            "rate_limit_per_second": 1000,
            "rate_limit_burst": 1000,
            "max_concurrency": 4,
            "endpoints": [
                {
                    "key": "stock",
                    "resource": "stock_balances",
                    "path": "/stock",
                    "record_path": "$.results",
                    "pagination": {"kind": "offset", "page_size": page_size, "total_path": "$.total"},
                }
            ],
        },
        ConnectorCreate,
    )
    async with database.tenant_session(tenant.id) as session:
        connector, _ = await connectors.create_connector(
            session,
            body,
            actor=actor,
            correlation_id="bench",
            box=SecretBox(settings.fernet_key()),
            network=NetworkPolicy(allow_private=True),
        )
        await mappings.create_mapping(
            session,
            connector_id=connector.id,
            endpoint_key="stock",
            spec=BALANCE_MAPPING,
            note="",
            actor=actor,
            correlation_id="bench",
        )
        run = uuid.uuid4()
        await write_batch(
            session,
            resource="items",
            connector_id=connector.id,
            run_id=run,
            rows=[{"external_id": f"SKU-{i:06d}", "sku": f"SKU-{i:06d}", "name": f"Item {i}"} for i in range(ITEMS)],
        )
        await write_batch(
            session,
            resource="locations",
            connector_id=connector.id,
            run_id=run,
            rows=[
                {"external_id": f"WH-{i:03d}", "code": f"WH-{i:03d}", "name": f"Warehouse {i}"}
                for i in range(max(1, total // ITEMS))
            ],
        )
    return tenant.id, connector.id


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux), 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _backends(database: Any) -> list[int]:
    """The PostgreSQL backends serving this benchmark's database (the server runs on this machine)."""
    from sqlalchemy import text

    async with database.system_session() as session:
        rows = await session.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"))
        return [int(pid) for (pid,) in rows]


async def full_sync(database: Any, tenant_id: uuid.UUID, connector_id: uuid.UUID) -> tuple[int, float, float, float]:
    """Records, seconds, and the CPU seconds this process and its PostgreSQL backends spent on the sync."""
    from atlas.config import Settings
    from atlas.execution_lock import NetworkPolicy
    from atlas.mapping import sync
    from atlas.mapping.models import SyncRun
    from atlas.platform.crypto import SecretBox

    settings = Settings()
    async with database.tenant_session(tenant_id) as session:
        run = await sync.SyncRunRepo(session).add(
            SyncRun(connector_id=connector_id, status="running", requested_by="benchmark")
        )
    before = {pid: _cpu_seconds(pid) for pid in await _backends(database)}
    cpu = time.process_time()
    started = time.perf_counter()
    result = await sync.sync_endpoint(
        database,
        tenant_id=tenant_id,
        connector_id=connector_id,
        run_id=run.id,
        endpoint_key="stock",
        box=SecretBox(settings.fernet_key()),
        network=NetworkPolicy(allow_private=True),
        heartbeat=lambda _details: None,
    )
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    backends = sum(_cpu_seconds(pid) - before.get(pid, 0.0) for pid in await _backends(database))
    return int(result["records"]), elapsed, cpu, backends


def distinct_records(total: int) -> list[dict[str, Any]]:
    """The same records, but no two with the same quantities or moment: nothing repeats for a memo to reuse."""
    return [
        {
            **r,
            "on_hand": 1000 + i,
            "reserved": i % 5,
            "available": 995 + i,
            "as_of": f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:{i // 24 % 60:02d}:{i // 1440 % 60:02d}+03:00",
        }
        for i, r in enumerate(records(total))
    ]


def mapping_rate(total: int, distinct: bool = False) -> tuple[int, float]:
    from atlas.mapping.engine import compile_mapping

    mapping = compile_mapping("stock_balances", BALANCE_MAPPING)
    rows = distinct_records(total) if distinct else records(total)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        mapped = mapping.map_many(rows)
        best = min(best, time.perf_counter() - started)
    assert all(isinstance(m, dict) for m in mapped)
    return len(rows), best


async def write_rate(database: Any, tenant_id: uuid.UUID, connector_id: uuid.UUID, total: int) -> tuple[int, float]:
    from atlas.mapping.engine import compile_mapping
    from atlas.mapping.writer import write_batch

    mapping = compile_mapping("stock_balances", BALANCE_MAPPING)
    rows = [m for m in mapping.map_many(records(total)) if isinstance(m, dict)]
    for row in rows:
        row["quantity"] += Decimal(1)  # changed content: every row is really written
    run = uuid.uuid4()
    started = time.perf_counter()
    for start in range(0, len(rows), 5000):
        async with database.tenant_session(tenant_id) as session:
            await write_batch(
                session,
                resource="stock_balances",
                connector_id=connector_id,
                run_id=run,
                rows=rows[start : start + 5000],
                endpoint_key="stock",
                combine="sum",
            )
    return len(rows), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.records, args.page_size)
        return
    from atlas import collector
    from tests.services import fresh_database, postgres_server

    collector.tune()  # as `atlas worker` does at its start: the sync runs here as it would in the worker
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            str(port),
            "--records",
            str(args.records),
            "--page-size",
            str(args.page_size),
        ]
    )
    try:
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        with postgres_server() as pg, fresh_database(pg) as url:
            os.environ["DATABASE_URL"] = url
            from atlas.db.engine import Database

            async def go() -> dict[str, Any]:
                database = Database(url.replace("postgresql://", "postgresql+asyncpg://", 1), app_role="atlas_app")
                try:
                    tenant_id, connector_id = await prepare(
                        database, f"http://127.0.0.1:{port}", args.records, args.page_size
                    )
                    first, first_seconds, first_cpu, first_db_cpu = await full_sync(database, tenant_id, connector_id)
                    second, second_seconds, _, _ = await full_sync(database, tenant_id, connector_id)
                    written, write_seconds = await write_rate(database, tenant_id, connector_id, args.records)
                finally:
                    await database.dispose()
                mapped, map_seconds = mapping_rate(args.records)
                distinct, distinct_seconds = mapping_rate(args.records, distinct=True)
                return {
                    "full_sync_first_records_per_second": round(first / first_seconds),
                    "full_sync_first_seconds": round(first_seconds, 2),
                    # CPU seconds of the first sync, steadier than the wall clock on a busy machine: this process
                    # (fetch, mapping, writer) and the PostgreSQL backends serving the benchmark's database.
                    "full_sync_first_cpu_python": round(first_cpu, 2),
                    "full_sync_first_cpu_postgres": round(first_db_cpu, 2),
                    "full_sync_unchanged_records_per_second": round(second / second_seconds),
                    "full_sync_unchanged_seconds": round(second_seconds, 2),
                    "records": first,
                    "mapping_records_per_second": round(mapped / map_seconds),
                    # the same mapping over records whose quantities and moments all differ
                    "mapping_distinct_records_per_second": round(distinct / distinct_seconds),
                    "database_rows_per_second": round(written / write_seconds),
                }

            results = asyncio.run(go())
    finally:
        server.terminate()
        server.wait(10)
    for key, value in results.items():
        print(f"{key:<42} {value:>10}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
