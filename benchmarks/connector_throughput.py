"""Connector engine throughput: records per second pulled from a local fast server.

Serves 200,000 stock-balance records (page size 1,000) from a separate process
(uvicorn, pages pre-encoded so the server costs little), then measures in the
same run:
  * plain:          a plain httpx fetch-and-decode loop over the same pages (sequential);
  * engine-offset:  the connector engine, offset + total (pages fetched concurrently);
  * engine-cursor:  the connector engine, cursor in the body (sequential by nature).
The engine figures include its whole path (rate limiter, auth, retries wrapper,
JSON decode, checks, JSONPath record extraction); no database.

    .venv/bin/python benchmarks/connector_throughput.py [--records 200000] [--page-size 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import socket
import subprocess
import sys
import time
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_app(total: int) -> Any:
    @lru_cache(maxsize=4096)
    def page(offset: int, limit: int, cursor_style: bool) -> bytes:
        rows = [
            {
                "sku": f"SKU-{i:06d}",
                "warehouse_id": f"WH-{i % 5:02d}",
                "on_hand": i % 97,
                "reserved": i % 5,
                "available": i % 97 - i % 5,
                "as_of": "2026-11-22T09:00:00+03:00",
            }
            for i in range(offset, min(offset + limit, total))
        ]
        if cursor_style:
            following = offset + limit
            nxt = base64.urlsafe_b64encode(str(following).encode()).decode() if following < total else None
            return json.dumps({"items": rows, "next_cursor": nxt}).encode()
        return json.dumps({"results": rows, "total": total, "offset": offset, "limit": limit}).encode()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        limit = int(query.get("limit", 1000))
        if scope["path"] == "/stock-cursor":
            cursor = query.get("cursor")
            offset = int(base64.urlsafe_b64decode(cursor).decode()) if cursor else 0
            body = page(offset, limit, True)
        else:
            body = page(int(query.get("offset", 0)), limit, False)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


def serve(port: int, total: int) -> None:
    import uvicorn

    uvicorn.run(make_app(total), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def plain_loop(base: str, total: int, size: int) -> int:
    import httpx

    count = 0
    async with httpx.AsyncClient() as client:
        for offset in range(0, total, size):
            response = await client.get(f"{base}/stock", params={"offset": offset, "limit": size})
            count += len(response.json()["results"])
    return count


async def engine_read(base: str, size: int, style: str) -> int:
    from atlas.connectors.engine import (
        ConnectorConfig,
        ConnectorSession,
        EndpointConfig,
        PaginationConfig,
        PaginationKind,
        ResourceKind,
    )
    from atlas.execution_lock import NetworkPolicy

    if style == "offset":
        endpoint = EndpointConfig(
            key="balances",
            resource=ResourceKind.STOCK_BALANCES,
            path="/stock",
            record_path="$.results",
            pagination=PaginationConfig(kind=PaginationKind.OFFSET, page_size=size, total_path="$.total"),
        )
    else:
        endpoint = EndpointConfig(
            key="balances",
            resource=ResourceKind.STOCK_BALANCES,
            path="/stock-cursor",
            record_path="$.items",
            pagination=PaginationConfig(
                kind=PaginationKind.CURSOR, page_size=size, cursor_path="$.next_cursor", size_param="limit"
            ),
        )
    config = ConnectorConfig(
        base_url=base, endpoints=(endpoint,), rate_limit_per_second=100_000, rate_limit_burst=1000, max_concurrency=4
    )
    count = 0
    async with ConnectorSession(config, network=NetworkPolicy(allow_private=True)) as session:
        async for page in session.read(endpoint):
            count += len(page.records)
    return count


def measure(label: str, runner: Any, repeat: int) -> dict[str, Any]:
    best = None
    count = 0
    for _ in range(repeat):
        started = time.perf_counter()
        count = asyncio.run(runner())
        elapsed = time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
    assert best is not None
    return {"label": label, "records": count, "seconds": round(best, 3), "records_per_second": round(count / best)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.records)
        return
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), "--records", str(args.records)])
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        # Warm the server's page cache so every measured run sees the same server.
        asyncio.run(plain_loop(base, args.records, args.page_size))
        asyncio.run(engine_read(base, args.page_size, "cursor"))
        results = [
            measure("plain httpx loop", lambda: plain_loop(base, args.records, args.page_size), args.repeat),
            measure("engine, offset + total", lambda: engine_read(base, args.page_size, "offset"), args.repeat),
            measure("engine, cursor", lambda: engine_read(base, args.page_size, "cursor"), args.repeat),
        ]
    finally:
        server.terminate()
        server.wait(10)
    plain = results[0]["records_per_second"]
    for result in results:
        result["vs_plain"] = round(result["records_per_second"] / plain, 2)
        print(
            f"{result['label']:<26} {result['records']:>8} records  {result['seconds']:>7.3f} s  "
            f"{result['records_per_second']:>9} records/s  ({result['vs_plain']:.2f}× plain)"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
