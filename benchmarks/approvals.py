"""Approvals end to end: the time from an approve call to the `blocked_by_lock` row, and approvals per second.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python benchmarks/approvals.py --recommendations 600 --rate 20 --concurrency 32

Starts what the tests start (a fresh migrated database on DATABASE_URL's server, else the embedded
PostgreSQL; the fake OIDC provider; the Temporal dev server; one worker process) and Atlas's web server as
production runs it, `atlas serve` in a process of its own (`--web-in-process`: in a thread of this process,
as the tests do, where it shares the interpreter with the client threads),
creates one tenant with a sandbox connector and a policy of one approver without dry run, writes N pending
recommendations as the AI engine stores them and starts their workflows, waits until policy has evaluated
each, then approves them through the API at a fixed rate with concurrent clients (an operator, so four-eyes
holds). For each, the latency is the time from sending the approve call (client clock) to the commit of its
blocked draft (`execution_drafts.created_at`, the server's clock on the same machine). Prints p50, p95 and
p99, the approve call's own latency, the approvals per second actually sustained, and the CPU seconds per
approval of each part (web, worker, Temporal dev server, PostgreSQL backends, and this process's client
threads), read from /proc, with the transactions per approval from PostgreSQL's statistics.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int, tid: int | None = None) -> float:
    """User + system CPU seconds of a process (or one of its threads) from /proc; 0 when it is gone."""
    path = f"/proc/{pid}/task/{tid}/stat" if tid else f"/proc/{pid}/stat"
    try:
        fields = Path(path).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (the web server's worker processes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


class CpuMeter:
    """CPU seconds spent by each part of the stack between `start` and `stop` (Linux /proc).

    `parts` maps a name to a process (and its descendants); the web server in this process (``web`` None) is
    what this process spent minus the client threads and the main thread."""

    def __init__(self, stack: Any, parts: dict[str, int | None]) -> None:
        self.stack, self.parts = stack, parts
        self.client_cpu: dict[int, float] = {}  # client thread -> its CPU seconds after its latest call
        self.main_thread = threading.main_thread().native_id or 0
        self.begin_main = 0.0
        self.begin: dict[int, float] = {}
        self.begin_backends: dict[int, float] = {}
        self.begin_xacts = 0

    def _database(self) -> str:
        return str(self.stack.atlas.database_url.rsplit("/", 1)[1].split("?")[0])

    def _backends(self) -> dict[int, float]:
        pids = self.stack.atlas.sql("SELECT pid FROM pg_stat_activity WHERE datname = %s", (self._database(),))
        return {pid: cpu_seconds(pid) for (pid,) in pids}

    def _xacts(self) -> int:
        rows = self.stack.atlas.sql(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s", (self._database(),)
        )
        return int(rows[0][0])

    def _pids(self) -> dict[int, float]:
        roots = [os.getpid(), *(pid for pid in self.parts.values() if pid)]
        return {
            pid: cpu_seconds(pid) for root in roots for pid in (process_tree(root) if root != os.getpid() else [root])
        }

    def start(self) -> None:
        self.begin, self.begin_backends, self.begin_xacts = self._pids(), self._backends(), self._xacts()
        self.begin_main = cpu_seconds(os.getpid(), self.main_thread)

    def client_done(self) -> None:
        """Called by a client thread after each call (the pool's threads start after `start`)."""
        tid = threading.get_native_id()
        self.client_cpu[tid] = cpu_seconds(os.getpid(), tid)

    def stop(self, approvals: int) -> dict[str, float]:
        end, backends, xacts = self._pids(), self._backends(), self._xacts()

        def spent(root: int) -> float:
            tree = process_tree(root) if root != os.getpid() else [root]
            return sum(end.get(pid, cpu_seconds(pid)) - self.begin.get(pid, 0.0) for pid in tree)

        clients = sum(self.client_cpu.values()) + cpu_seconds(os.getpid(), self.main_thread) - self.begin_main
        used = {name: spent(pid) for name, pid in self.parts.items() if pid}
        if not self.parts.get("web"):
            used["web"] = spent(os.getpid()) - clients
        used["clients"] = clients
        used["postgres"] = sum(cpu - self.begin_backends.get(pid, 0.0) for pid, cpu in backends.items())
        per = {f"cpu_ms_per_approval_{key}": round(value / approvals * 1000, 2) for key, value in used.items()}
        per["cpu_ms_per_approval_total"] = round(sum(used.values()) / approvals * 1000, 2)
        per["transactions_per_approval"] = round((xacts - self.begin_xacts) / approvals, 2)
        return per


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recommendations", type=int, default=600)
    parser.add_argument("--rate", type=float, default=20.0, help="approve calls per second")
    parser.add_argument("--concurrency", type=int, default=32, help="client threads")
    parser.add_argument(
        "--web-in-process", action="store_true", help="serve Atlas from a thread of this process, as the tests do"
    )
    args = parser.parse_args()

    import httpx

    from tests.approvals.conftest import ApprovalStack
    from tests.conftest import Atlas
    from tests.services import (
        WorkerProcess,
        atlas_serve_process,
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
            with ExitStack() as running:
                if args.web_in_process:
                    base_url, web_pid = running.enter_context(atlas_server(dict(settings))), None
                else:
                    base_url, web_pid = running.enter_context(atlas_serve_process(settings))
                stack = ApprovalStack(Atlas(base_url, oidc_url, database_url), worker, temporal_address, queue)
                parts = {
                    "web": web_pid,
                    "worker": worker.process.pid if worker.process else None,
                    "temporal": child_pid("temporal"),
                }
                run(stack, args, httpx, parts)
        finally:
            worker.stop()


def child_pid(word: str) -> int | None:
    """The pid of this process's child whose command line mentions `word` (the Temporal dev server)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError):
            continue
        if parent == os.getpid() and word in command:
            return int(entry.name)
    return None


def run(stack: Any, args: argparse.Namespace, httpx: Any, parts: dict[str, int | None]) -> None:
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

    meter = CpuMeter(stack, parts)

    def approve(rec_id: str, due: float) -> None:
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        sent[rec_id] = datetime.now(UTC)
        began = time.perf_counter()
        response = client().post(f"/api/recommendations/{rec_id}/approve", json={})
        call_seconds.append(time.perf_counter() - began)
        meter.client_done()
        if response.status_code != 200:
            failures.append(f"{response.status_code} {response.text[:200]}")

    meter.start()
    began = time.perf_counter() + 0.5
    with ThreadPoolExecutor(args.concurrency) as pool:
        for index, rec_id in enumerate(ids):
            pool.submit(approve, rec_id, began + index / args.rate)
    for rec_id in ids:
        stack.wait_status(rec_id, "blocked_by_lock", timeout=120)
    cpu = meter.stop(len(ids))
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
        "web": "in process" if args.web_in_process else "atlas serve",
        "failures": len(failures),
        "approve_to_blocked_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "approve_to_blocked_p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "approve_to_blocked_p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "approve_to_blocked_max_ms": round(max(latencies) * 1000, 1),
        "approve_call_p50_ms": round(statistics.median(call_seconds) * 1000, 1),
        "approve_call_p95_ms": round(percentile(call_seconds, 0.95) * 1000, 1),
        "sustained_approvals_per_second": round(len(ids) / (last - first).total_seconds(), 1),
        **cpu,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    for key, value in result.items():
        print(f"{key:40} {value}")
    if failures:
        print("first failures:", failures[:3])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
