"""Approvals end to end: the time from an approve call to the `blocked_by_lock` row, and approvals per second.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python benchmarks/approvals.py --recommendations 600 --rate 20 --concurrency 32

Starts what the tests start (a fresh migrated database on DATABASE_URL's server, else the embedded
PostgreSQL; the fake OIDC provider; the Temporal dev server; Atlas's web server and one worker process),
creates one tenant with a sandbox connector and a policy of one approver without dry run, writes N pending
recommendations as the AI engine stores them and starts their workflows, waits until policy has evaluated
each, then approves them through the API at a fixed rate with concurrent clients (an operator, so four-eyes
holds). For each, the latency is the time from sending the approve call (client clock) to the commit of its
blocked draft (`execution_drafts.created_at`, the server's clock on the same machine). Prints p50, p95 and
p99, the approve call's own latency, and the approvals per second actually sustained.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recommendations", type=int, default=600)
    parser.add_argument("--rate", type=float, default=20.0, help="approve calls per second")
    parser.add_argument("--concurrency", type=int, default=32, help="client threads")
    args = parser.parse_args()

    import httpx

    from tests.approvals.conftest import ApprovalStack
    from tests.conftest import Atlas
    from tests.services import (
        WorkerProcess,
        atlas_server,
        fresh_database,
        oidc_provider,
        postgres_server,
        temporal_server,
    )

    queue = "atlas-approvals-bench"
    with (
        postgres_server() as pg,
        fresh_database(pg) as database_url,
        oidc_provider() as oidc_url,
        temporal_server() as temporal_address,
    ):
        settings = {
            "DATABASE_URL": database_url,
            "OIDC_ISSUER": oidc_url,
            "TEMPORAL_ADDRESS": temporal_address,
            "TEMPORAL_TASK_QUEUE": queue,
            "ATLAS_ALLOW_PRIVATE_NETWORKS": "true",
            "ATLAS_LOGIN_RATE_LIMIT": "1000000",
            "ATLAS_TOKEN_RATE_LIMIT": "1000000",
            "ATLAS_HOUSEKEEPING_SECONDS": "86400",
            "ATLAS_CONNECTOR_HEALTH_SECONDS": "86400",
            "ATLAS_APPROVAL_RECONCILE_SECONDS": "86400",
            "ATLAS_LOG_LEVEL": "WARNING",
        }
        worker = WorkerProcess(settings)
        worker.start()
        try:
            with atlas_server(dict(settings)) as base_url:
                stack = ApprovalStack(Atlas(base_url, oidc_url, database_url), worker, temporal_address, queue)
                run(stack, args, httpx)
        finally:
            worker.stop()


def run(stack: Any, args: argparse.Namespace, httpx: Any) -> None:
    tenant = stack.tenant(environment="sandbox")
    tenant.policy(
        approvals={"sandbox": {"low": 1, "medium": 1, "high": 1}, "production": {"low": 1, "medium": 1, "high": 1}},
        dry_run_required_types=[],
        dry_run_required_priorities=[],
        dry_run_required_environments=[],
        dry_run_required_over_value_sar=None,
    )
    operator, _ = tenant.member("operator")
    created = time.perf_counter()
    ids = [tenant.recommendation(priority="medium") for _ in range(args.recommendations)]
    for rec_id in ids:
        stack.wait_evaluated(rec_id, timeout=300)
    print(f"{len(ids)} recommendations written and evaluated by policy in {time.perf_counter() - created:.1f} s")

    cookies = dict(operator.cookies)
    headers = dict(operator.headers)
    local = threading.local()

    def client() -> Any:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=stack.atlas.base_url, cookies=cookies, headers=headers, timeout=60)
        return local.client

    sent: dict[str, datetime] = {}
    call_seconds: list[float] = []
    failures: list[str] = []

    def approve(rec_id: str, due: float) -> None:
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        sent[rec_id] = datetime.now(UTC)
        began = time.perf_counter()
        response = client().post(f"/api/recommendations/{rec_id}/approve", json={})
        call_seconds.append(time.perf_counter() - began)
        if response.status_code != 200:
            failures.append(f"{response.status_code} {response.text[:200]}")

    began = time.perf_counter() + 0.5
    with ThreadPoolExecutor(args.concurrency) as pool:
        for index, rec_id in enumerate(ids):
            pool.submit(approve, rec_id, began + index / args.rate)
    for rec_id in ids:
        stack.wait_status(rec_id, "blocked_by_lock", timeout=120)
    rows = stack.atlas.sql(
        "SELECT recommendation_id::text, created_at FROM execution_drafts WHERE kind = 'blocked' AND tenant_id = %s",
        (tenant.id,),
    )
    blocked_at = dict(rows)
    latencies = [(blocked_at[r] - sent[r]).total_seconds() for r in ids]
    first, last = min(sent.values()), max(blocked_at.values())
    result = {
        "recommendations": len(ids),
        "offered_rate_per_second": args.rate,
        "concurrency": args.concurrency,
        "failures": len(failures),
        "approve_to_blocked_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "approve_to_blocked_p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "approve_to_blocked_p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "approve_to_blocked_max_ms": round(max(latencies) * 1000, 1),
        "approve_call_p50_ms": round(statistics.median(call_seconds) * 1000, 1),
        "approve_call_p95_ms": round(percentile(call_seconds, 0.95) * 1000, 1),
        "sustained_approvals_per_second": round(len(ids) / (last - first).total_seconds(), 1),
    }
    for key, value in result.items():
        print(f"{key:40} {value}")
    if failures:
        print("first failures:", failures[:3])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
