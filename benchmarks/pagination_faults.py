"""Pagination faults: for each fault, the requests a read makes, the records it loads, and how it ends.

    .venv/bin/python benchmarks/pagination_faults.py [--before d144345] [--max-pages 1000]

Every fault of `tests.sims.pagination_faults` (a real HTTP server on 127.0.0.1 that knows its truth) is read
through the real engine (`ConnectorSession`). The table gives, per fault, the requests the server received,
the records the read handed on, the records a correct read holds, and the outcome: ``ok`` or the failure's
reason and detail. With ``--before <commit>`` the same faults are read again by the reader of that commit
(loaded from git, on today's transport), capped at ``--max-pages`` pages, to show what the rules changed; that
reader cannot send read-RPC POSTs, so those rows say so.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from atlas.connectors.engine import (  # noqa: E402
    ConnectorConfig,
    ConnectorSession,
    EndpointConfig,
    FetchError,
    PaginationConfig,
    PaginationKind,
    ResourceKind,
    TimeWindowConfig,
)
from atlas.connectors.engine.config import RpcConfig, RpcProtocol  # noqa: E402
from atlas.execution_lock import NetworkPolicy  # noqa: E402
from tests.sims.pagination_faults import PaginationFaults, pagination_faults  # noqa: E402

OPEN = NetworkPolicy(allow_private=True)
GRAPHQL = "query Stock($first: Int!, $after: String) { stock(first: $first, after: $after) { edges { node { id } } } }"


@dataclass(frozen=True)
class Fault:
    name: str
    endpoint: EndpointConfig
    truth: Callable[[PaginationFaults], int | None]  # records a correct read loads; None: it must fail
    concurrency: int = 4
    key: str = "id"


def ep(path: str, record_path: str = "$.results", **options: Any) -> EndpointConfig:
    params = options.pop("params", {})
    window = options.pop("time_window", None)
    rpc = options.pop("rpc", None)
    return EndpointConfig(
        key="stock",
        resource=ResourceKind.STOCK_BALANCES,
        path=path,
        record_path=record_path,
        params=params,
        pagination=PaginationConfig(**options),
        time_window=window,
        rpc=rpc,
    )


def faults() -> list[Fault]:
    offset = PaginationKind.OFFSET
    page = PaginationKind.PAGE
    cursor = PaginationKind.CURSOR
    all_records = 250
    visible = 210
    dated = {
        "kind": cursor,
        "cursor_source": "next_url",
        "cursor_path": "$.next",
        "total_path": "$.count",
        "params": {"limit": "2"},
    }

    def since_ten_days(sim: PaginationFaults) -> int:
        return len(sim.changed_since((sim.now - timedelta(days=10)).date()))

    return [
        Fault(
            "last page for ever, fresh cursors",
            ep("/repeat/cursor", "$.items", kind=cursor, cursor_path="$.next_cursor", size_param="limit"),
            lambda _: None,
        ),
        Fault(
            "last page for ever, fresh next URLs",
            ep(
                "/repeat/next-url", kind=cursor, cursor_source="next_url", cursor_path="$.next", params={"limit": "100"}
            ),
            lambda _: None,
        ),
        Fault(
            "last page for ever, fresh Link headers",
            ep("/repeat/link", "$", kind=cursor, cursor_source="link_header", params={"limit": "100"}),
            lambda _: None,
        ),
        Fault("A, B, A, B by offset", ep("/abab/offset", kind=offset), lambda _: None),
        Fault("A, B, A, B by page number", ep("/abab/page", kind=page), lambda _: None),
        Fault(
            "A, B, A, B by offset, total 1,000",
            ep("/abab/offset", kind=offset, total_path="$.total", params={"total": "1"}),
            lambda _: None,
        ),
        Fault("short page mid-stream, offset, no total", ep("/short/offset", kind=offset), lambda _: visible),
        Fault("short page mid-stream, page, no total", ep("/short/page", kind=page), lambda _: visible),
        Fault(
            "short page mid-stream, offset + total",
            ep("/short/offset", kind=offset, total_path="$.total", params={"total": "visible"}),
            lambda _: visible,
        ),
        Fault(
            "short page once (a glitch), offset + total",
            ep("/glitch/offset", kind=offset, total_path="$.total"),
            lambda _: all_records,
        ),
        Fault(
            "total counts unserved records (250 of 210)",
            ep("/short/offset", kind=offset, total_path="$.total", params={"total": "all"}),
            lambda _: None,
        ),
        Fault(
            "total 950, serves 250, offset", ep("/overstated/offset", kind=offset, total_path="$.total"), lambda _: None
        ),
        Fault(
            "count 950, serves 250, next URL",
            ep(
                "/overstated/next-url",
                kind=cursor,
                cursor_source="next_url",
                cursor_path="$.next",
                total_path="$.count",
                params={"limit": "100"},
            ),
            lambda _: None,
        ),
        Fault(
            "ends by has_more only (Zoho)",
            ep("/signal/has-more", "$.items", kind=page, has_more_path="$.page_context.has_more_page"),
            lambda _: visible,
        ),
        Fault(
            "ends by next only (Daftra)",
            ep("/signal/next", "$.data", kind=page, size_param="limit", next_path="$.pagination.next"),
            lambda _: visible,
        ),
        Fault(
            "ends by hasMore only (NetSuite)",
            ep("/signal/has-more-offset", "$.items", kind=offset, has_more_path="$.hasMore"),
            lambda _: visible,
        ),
        Fault(
            "date-only window, 10 days to now (InvenTree)",
            ep(
                "/dated/stock/",
                time_window=TimeWindowConfig("updated_after", "updated_before", 72, 10, "date"),
                **dated,
            ),
            since_ten_days,
            key="pk",
        ),
        Fault(
            "start-only window, 10 days to now",
            ep("/dated/stock/", time_window=TimeWindowConfig("updated_after", None, 72, 10, "date"), **dated),
            since_ten_days,
            key="pk",
        ),
        Fault(
            "Odoo search_read, offset/limit in the body",
            ep(
                "/json/2/stock.quant/search_read",
                "$",
                kind=offset,
                params_in="body",
                rpc=RpcConfig(RpcProtocol.ODOO_JSON2, {"domain": [], "fields": ["quantity"]}),
            ),
            lambda _: all_records,
        ),
        Fault(
            "Odoo search_read ignoring its offset",
            ep(
                "/json/2/stock.move/search_read",
                "$",
                kind=offset,
                params_in="body",
                rpc=RpcConfig(RpcProtocol.ODOO_JSON2, {"domain": [], "fields": ["quantity"]}),
            ),
            lambda _: None,
        ),
        Fault(
            "GraphQL connection, first/after",
            ep(
                "/graphql",
                "$.data.stock.edges[*].node",
                kind=cursor,
                cursor_path="$.data.stock.pageInfo.endCursor",
                has_more_path="$.data.stock.pageInfo.hasNextPage",
                cursor_param="variables.after",
                size_param="variables.first",
                params_in="body",
                rpc=RpcConfig(RpcProtocol.GRAPHQL, {"query": GRAPHQL, "variables": {}}),
            ),
            lambda _: all_records,
        ),
        Fault(
            "GraphQL same edges, fresh endCursor",
            ep(
                "/graphql-loop",
                "$.data.stock.edges[*].node",
                kind=cursor,
                cursor_path="$.data.stock.pageInfo.endCursor",
                has_more_path="$.data.stock.pageInfo.hasNextPage",
                cursor_param="variables.after",
                size_param="variables.first",
                params_in="body",
                rpc=RpcConfig(RpcProtocol.GRAPHQL, {"query": GRAPHQL, "variables": {}}),
            ),
            lambda _: None,
        ),
        Fault(
            "SuiteQL, ?limit=&offset= on a POST",
            ep(
                "/services/rest/query/v1/suiteql",
                "$.items",
                kind=offset,
                has_more_path="$.hasMore",
                rpc=RpcConfig(RpcProtocol.SQL, {"q": "SELECT id, sku, qty FROM item"}),
            ),
            lambda _: all_records,
        ),
    ]


def old_reader(commit: str) -> types.ModuleType:
    """The reader module as it was at ``commit``, loaded from git (it runs on today's executor)."""
    source = subprocess.run(
        ["git", "show", f"{commit}:atlas/connectors/engine/reader.py"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    module = types.ModuleType(f"reader_{commit}")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"reader@{commit}", "exec"), module.__dict__)  # our own history, from git
    return module


async def run(sim: PaginationFaults, fault: Fault, before: types.ModuleType | None, max_pages: int) -> list[str]:
    config = ConnectorConfig(
        base_url=sim.base,
        endpoints=(fault.endpoint,),
        rate_limit_per_second=100_000,
        rate_limit_burst=100_000,
        min_backoff_seconds=0.01,
        retry_attempts=2,
        max_concurrency=fault.concurrency,
    )
    path = fault.endpoint.path
    start = sim.count(path)
    loaded: list[Any] = []
    outcome = "ok"
    if before is not None and fault.endpoint.rpc is not None:
        return [f"{fault.name}", "—", "—", "—", "cannot read (GET only)"]
    async with ConnectorSession(config, network=OPEN) as session:
        reader = session.reader if before is None else before.EndpointReader(config, session.executor)
        try:
            async for page in reader.read(fault.endpoint, now=sim.now, max_pages=max_pages if before else None):
                loaded.extend(page.records)
        except FetchError as exc:
            outcome = f"failed: {exc.reason}" + (f" ({exc.detail})" if exc.detail else "")
        except TypeError:  # the old reader on a setting it did not have (a window with no end parameter)
            return [f"{fault.name}", "—", "—", "—", "cannot read (no such setting then)"]
    truth = fault.truth(sim)
    distinct = len({r.get(fault.key) if isinstance(r, dict) else repr(r) for r in loaded})
    if outcome == "ok" and truth is None:
        outcome = "ok: **a wrong success**"
    elif outcome == "ok" and truth is not None and distinct < truth:
        outcome = f"ok: **{truth - distinct} records lost silently**"
    correct = "must fail" if truth is None else f"{truth:,} records"
    loaded_text = f"{len(loaded):,}" + (f" ({distinct:,} distinct)" if distinct != len(loaded) else "")
    return [fault.name, f"{sim.count(path) - start:,}", loaded_text, correct, outcome]


def table(rows: list[list[str]], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", help="also read every fault with the reader of this commit (e.g. d144345)")
    parser.add_argument("--max-pages", type=int, default=1000, help="page cap for the older reader")
    args = parser.parse_args()
    header = ["fault", "requests", "records loaded", "a correct read", "outcome"]
    with pagination_faults() as sim:
        rows = [await run(sim, fault, None, args.max_pages) for fault in faults()]
        print("Today's reader\n")
        print(table(rows, header))
        if args.before:
            before = old_reader(args.before)
            sim.reset()
            rows = [await run(sim, fault, before, args.max_pages) for fault in faults()]
            print(f"\nThe reader at {args.before} (at most {args.max_pages:,} pages)\n")
            print(table(rows, header))


if __name__ == "__main__":
    asyncio.run(main())
