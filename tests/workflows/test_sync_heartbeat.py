"""Long waits never start a second copy of a sync.

Temporal starts an activity again when it has been silent for its heartbeat timeout (3 s on the test stack),
whether or not the first attempt is still running. These tests hold a customer system's answer longer than
that (a slow page, a ``Retry-After``, a request timed out and retried), through the real stack (Temporal dev
server, a worker process, Atlas, PostgreSQL) and a real HTTP server that counts every request per page, and
check that each page is read by one attempt only, that the run's counts are exact and that no row is written
twice; and that a worker killed mid-sync resumes from the endpoint's checkpoint. The keepalive itself
(`atlas.durable.heartbeat`) is checked under Temporal's own activity test environment for what the stack
cannot show on demand: it stops when the work ends, fails or is cancelled, and while failed work hangs in its
teardown, but not when a cancellation inside the work is withdrawn.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment

from atlas.durable.heartbeat import heartbeating
from atlas.mapping.sync import WINDOW_OVERLAP
from tests.sims.canary import CANARY

SYSTEM = "held-inventory"
HELD_SECONDS = 10.0  # longer than the stack's heartbeat timeout (ATLAS_SYNC_HEARTBEAT_SECONDS=3), three times over
PAGE_SIZE = 20
ITEMS = [{"id": f"I-{n:04d}", "sku": f"SKU-{n:04d}", "name": f"Item {n}"} for n in range(1, 121)]  # six pages
LOCATIONS = [{"id": f"L-{n}", "code": f"WH-{n}", "name": f"Warehouse {n}"} for n in range(1, 4)]
WINDOW_HOURS = 24
LOOKBACK_DAYS = 6
FINISHED = ("succeeded", "failed", "needs_attention")


def movements(now: datetime) -> list[dict[str, Any]]:
    """150 receipts, one every 53 minutes back from ten minutes ago: about 5.5 days, inside the lookback."""
    newest = now - timedelta(minutes=10)
    return [
        {
            "id": f"M-{n:05d}",
            "item": ITEMS[n % len(ITEMS)]["id"],
            "location": LOCATIONS[n % len(LOCATIONS)]["id"],
            "at": (newest - timedelta(minutes=53 * n)).isoformat().replace("+00:00", "Z"),
            "qty": n + 1,
            "kind": "receipt",
        }
        for n in range(150)
    ]


@dataclasses.dataclass(frozen=True)
class Request:
    generation: int  # bumped by a test when it kills the worker: requests after it are the next attempt's
    path: str
    query: dict[str, str]

    @property
    def page(self) -> int:
        return int(self.query.get("page", "1"))


class HeldInventory:
    """A small inventory API whose answers a test can hold: it sleeps on, rate-limits or blocks the first
    request of a chosen page. Every request is logged (and reported to the canary as a read)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[Request] = []
        self.generation = 1
        self.movements = movements(datetime.now(UTC))
        self.sleep_first: dict[tuple[str, int], float] = {}  # (path, page) -> seconds before the first answer
        self.retry_after_first: dict[tuple[str, int], int] = {}  # (path, page) -> a 429 with Retry-After first
        self.block_window: int | None = None  # the first request of the n-th time window waits for `release`
        self.blocking = threading.Event()
        self.release = threading.Event()
        self.windows: list[str] = []  # distinct window starts, in the order they were first asked for
        self.base_url = ""

    def log(self, path: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def pages_asked(self, path: str) -> Counter[int]:
        return Counter(r.page for r in self.log(path))

    def first_request(self, path: str, page: int) -> bool:
        return sum(1 for r in self.log(path) if r.page == page) == 1

    def movements_between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        return [m for m in self.movements if start <= datetime.fromisoformat(m["at"]) < end]


def _page(records: list[dict[str, Any]], page: int) -> tuple[list[dict[str, Any]], int]:
    return records[(page - 1) * PAGE_SIZE : page * PAGE_SIZE], max(1, -(-len(records) // PAGE_SIZE))


def _handler(api: HeldInventory) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the reader is gone (a killed worker): nobody to answer

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            request = Request(api.generation, url.path, query)
            with api.lock:
                api.requests.append(request)
            CANARY.record(SYSTEM, "GET", url.path, "read")
            page = request.page
            if (seconds := api.sleep_first.get((url.path, page))) and api.first_request(url.path, page):
                time.sleep(seconds)
            if (wait := api.retry_after_first.get((url.path, page))) and api.first_request(url.path, page):
                self.send(429, {"error": "slow down"}, {"Retry-After": str(wait)})
                return
            if url.path == "/items":
                chunk, pages = _page(ITEMS, page)
                self.send(200, {"data": chunk, "meta": {"total_pages": pages}})
            elif url.path == "/locations":
                self.send(200, {"results": LOCATIONS})
            elif url.path == "/movements":
                start, end = datetime.fromisoformat(query["from"]), datetime.fromisoformat(query["to"])
                with api.lock:
                    if query["from"] not in api.windows:
                        api.windows.append(query["from"])
                    window = api.windows.index(query["from"]) + 1
                first_of_window = sum(1 for r in api.log("/movements") if r.query["from"] == query["from"]) == 1
                if window == api.block_window and first_of_window:
                    api.blocking.set()
                    api.release.wait(120)
                chunk, pages = _page(api.movements_between(start, end), page)
                self.send(200, {"movements": chunk, "meta": {"total_pages": pages}})
            else:
                self.send(404, {"error": "no such path"})

    return Handler


@contextmanager
def held_inventory() -> Iterator[HeldInventory]:
    api = HeldInventory()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    server.daemon_threads = True
    api.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        api.release.set()
        server.shutdown()
        server.server_close()


PAGED = {"kind": "page", "page_size": PAGE_SIZE, "page_param": "page", "size_param": "per_page"}
CONNECTOR = {
    "environment": "sandbox",
    "auth": {"kind": "none"},
    "rate_limit_per_second": 100,
    "rate_limit_burst": 50,
    "timeout_seconds": 60,  # a held page is slow, not broken: the engine waits for it
    "max_concurrency": 4,
    "retry_attempts": 5,
    "endpoints": [
        {
            "key": "items",
            "resource": "items",
            "path": "/items",
            "record_path": "$.data",
            "pagination": {**PAGED, "total_pages_path": "$.meta.total_pages"},
        },
        {"key": "locations", "resource": "locations", "path": "/locations", "record_path": "$.results"},
        {
            "key": "movements",
            "resource": "stock_movements",
            "path": "/movements",
            "record_path": "$.movements",
            "pagination": {**PAGED, "total_pages_path": "$.meta.total_pages"},
            "time_window": {
                "start_param": "from",
                "end_param": "to",
                "window_hours": WINDOW_HOURS,
                "lookback_days": LOOKBACK_DAYS,
                "format": "iso",
            },
        },
    ],
}
MAPPINGS = {
    "items": {
        "record_path": "$.data",
        "fields": {"external_id": {"path": "$.id"}, "sku": {"path": "$.sku"}, "name": {"path": "$.name"}},
    },
    "locations": {
        "record_path": "$.results",
        "fields": {"external_id": {"path": "$.id"}, "code": {"path": "$.code"}, "name": {"path": "$.name"}},
    },
    "movements": {
        "record_path": "$.movements",
        "fields": {
            "external_id": {"path": "$.id"},
            "item_ref": {"path": "$.item"},
            "location_ref": {"path": "$.location"},
            "occurred_at": {"path": "$.at"},
            "quantity": {"path": "$.qty"},
            "kind": {"path": "$.kind"},
        },
    },
}


def connect(admin: Any, api: HeldInventory, **settings: Any) -> str:
    body = {**CONNECTOR, "name": f"Held {id(api)}", "base_url": api.base_url, **settings}
    response = admin.post("/api/connectors", json=body)
    assert response.status_code == 201, response.text
    connector_id: str = response.json()["id"]
    for key, spec in MAPPINGS.items():
        response = admin.post("/api/mappings", json={"connector_id": connector_id, "endpoint_key": key, "spec": spec})
        assert response.status_code == 201, response.text
    return connector_id


def start_sync(admin: Any, connector_id: str) -> str:
    response = admin.post(f"/api/connectors/{connector_id}/sync")
    assert response.status_code == 202, response.text
    run_id: str = response.json()["id"]
    return run_id


def wait_for_run(admin: Any, run_id: str, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run: dict[str, Any] = admin.get(f"/api/syncs/{run_id}").json()
        if run["status"] in FINISHED:
            return run
        time.sleep(0.3)
    raise AssertionError(f"sync {run_id} did not finish: {admin.get(f'/api/syncs/{run_id}').json()}")


def endpoint_attempts(temporal_address: str, workflow_id: str) -> dict[str, list[int]]:
    """The attempt that completed each endpoint of a sync workflow, from its Temporal history (the history
    keeps one started event per activity, written when it closes, with the number of its last attempt)."""

    async def read() -> dict[str, list[int]]:
        client = await Client.connect(temporal_address)
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        endpoints: dict[int, str] = {}
        attempts: dict[str, list[int]] = {}
        for event in history.events:
            if event.HasField("activity_task_scheduled_event_attributes"):
                scheduled = event.activity_task_scheduled_event_attributes
                if scheduled.activity_type.name == "sync.endpoint":
                    step = json.loads(scheduled.input.payloads[0].data)
                    endpoints[event.event_id] = step["endpoint_key"]
            elif event.HasField("activity_task_started_event_attributes"):
                started = event.activity_task_started_event_attributes
                if started.scheduled_event_id in endpoints:
                    attempts.setdefault(endpoints[started.scheduled_event_id], []).append(started.attempt)
        return attempts

    return asyncio.run(read())


def exact(stats: dict[str, Any], resource: str, count: int, *, read_twice: int = 0) -> None:
    """Every record written once, none changed or set aside; read once each, but for ``read_twice`` of them."""
    expected = {
        "inserted": count,
        "written": count,
        "updated": 0,
        "quarantined": 0,
        "read": count + read_twice,
        "duplicates": read_twice,
    }
    assert {key: stats[resource][key] for key in expected} == expected, (resource, stats[resource])


def no_duplicate_rows(stack: Any, tenant_id: str) -> None:
    db = stack.atlas
    assert db.sql("SELECT count(*), count(DISTINCT external_id) FROM items WHERE tenant_id = %s", (tenant_id,)) == [
        (len(ITEMS), len(ITEMS))
    ]
    assert db.sql(
        "SELECT count(*), count(DISTINCT external_id) FROM stock_movements WHERE tenant_id = %s", (tenant_id,)
    ) == [(150, 150)]


# --- through the real stack -------------------------------------------------------------------------------


def test_a_page_held_longer_than_the_heartbeat_timeout_is_read_by_one_attempt(stack, temporal_address):
    """Without heartbeats during the wait, Temporal starts the endpoint again after 3 s and the second attempt
    asks for pages 1-3 again while the first still waits for page 3 (each page twice): this test failed so."""
    admin, me = stack.atlas.new_tenant()
    with held_inventory() as api:
        api.sleep_first[("/items", 3)] = HELD_SECONDS
        connector_id = connect(admin, api)
        run = wait_for_run(admin, start_sync(admin, connector_id))
        items_asked = api.pages_asked("/items")
    assert run["status"] == "succeeded", run
    assert items_asked == {page: 1 for page in range(1, 7)}, items_asked  # one request stream, each page once
    exact(run["stats"], "items", len(ITEMS))
    exact(run["stats"], "locations", len(LOCATIONS))
    exact(run["stats"], "stock_movements", 150)
    no_duplicate_rows(stack, me["tenant_id"])
    attempts = endpoint_attempts(temporal_address, f"sync-{run['id']}")
    assert attempts == {"locations": [1], "items": [1], "movements": [1]}, attempts


def test_a_retry_after_longer_than_the_heartbeat_timeout_is_waited_for_by_one_attempt(stack, temporal_address):
    admin, me = stack.atlas.new_tenant()
    with held_inventory() as api:
        api.retry_after_first[("/items", 2)] = int(HELD_SECONDS)
        connector_id = connect(admin, api)
        run = wait_for_run(admin, start_sync(admin, connector_id))
        items_asked = api.pages_asked("/items")
    assert run["status"] == "succeeded", run
    assert items_asked == {1: 1, 2: 2, 3: 1, 4: 1, 5: 1, 6: 1}, items_asked  # page 2: the 429, then its answer
    exact(run["stats"], "items", len(ITEMS))
    exact(run["stats"], "stock_movements", 150)
    no_duplicate_rows(stack, me["tenant_id"])
    attempts = endpoint_attempts(temporal_address, f"sync-{run['id']}")
    assert attempts == {"locations": [1], "items": [1], "movements": [1]}, attempts


def test_a_request_timed_out_and_retried_past_the_heartbeat_timeout_stays_one_attempt(stack, temporal_address):
    """The connector gives up on a page after 5 s and asks again after a backoff: more than the 3 s heartbeat
    timeout of silence, with a timed-out request (and its withdrawn cancellation) inside."""
    admin, me = stack.atlas.new_tenant()
    with held_inventory() as api:
        api.sleep_first[("/items", 4)] = 8.0
        connector_id = connect(admin, api, timeout_seconds=5)
        run = wait_for_run(admin, start_sync(admin, connector_id))
        items_asked = api.pages_asked("/items")
    assert run["status"] == "succeeded", run
    assert items_asked == {1: 1, 2: 1, 3: 1, 4: 2, 5: 1, 6: 1}, items_asked  # page 4: timed out, then answered
    exact(run["stats"], "items", len(ITEMS))
    no_duplicate_rows(stack, me["tenant_id"])
    attempts = endpoint_attempts(temporal_address, f"sync-{run['id']}")
    assert attempts == {"locations": [1], "items": [1], "movements": [1]}, attempts


def test_a_worker_killed_mid_sync_resumes_from_the_checkpoint_with_exact_counts(stack, temporal_address):
    """The worker dies while the fourth time window of the movements is being read, after the third was
    committed with its checkpoint. The next attempt starts after the checkpoint (less the overlap Atlas always
    reads again), never reads the earlier windows again, and the run ends with every row once."""
    admin, me = stack.atlas.new_tenant()
    with held_inventory() as api:
        api.block_window = 4
        connector_id = connect(admin, api)
        run_id = start_sync(admin, connector_id)
        assert api.blocking.wait(120), "the sync never reached the fourth window"
        with api.lock:
            fourth_window = datetime.fromisoformat(api.windows[3])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the third window's batch and its checkpoint are committed
            found = stack.atlas.sql(
                "SELECT watermark FROM sync_checkpoints WHERE connector_id = %s AND endpoint_key = 'movements'",
                (connector_id,),
            )
            if found and found[0][0] >= fourth_window:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the third window was never checkpointed")
        checkpoint: datetime = found[0][0]
        stack.worker.kill()
        with api.lock:
            api.generation = 2
        api.release.set()
        assert admin.get(f"/api/syncs/{run_id}").json()["status"] == "running"
        stack.worker.start()
        run = wait_for_run(admin, run_id)
        first, second = ([r for r in api.log("/movements") if r.generation == generation] for generation in (1, 2))
        items_asked = api.pages_asked("/items")
        locations_asked = len(api.log("/locations"))
    assert run["status"] == "succeeded", run
    # Items and locations were done before the worker died: not read again.
    assert items_asked == {page: 1 for page in range(1, 7)} and locations_asked == 1, (items_asked, locations_asked)
    # The next attempt began at the checkpoint less the overlap; windows before it were read once, by the first.
    resume = checkpoint - WINDOW_OVERLAP
    assert second and min(datetime.fromisoformat(r.query["from"]) for r in second) == resume, second[:3]
    before = Counter((r.query["from"], r.page) for r in first if datetime.fromisoformat(r.query["to"]) <= resume)
    assert before and set(before.values()) == {1}, before
    assert not [r for r in second if datetime.fromisoformat(r.query["to"]) <= resume]
    exact(run["stats"], "items", len(ITEMS))
    # Read twice, and counted once: the records of the overlap before the checkpoint, which both attempts read.
    exact(run["stats"], "stock_movements", 150, read_twice=len(api.movements_between(resume, checkpoint)))
    no_duplicate_rows(stack, me["tenant_id"])
    attempts = endpoint_attempts(temporal_address, f"sync-{run_id}")
    assert attempts == {"locations": [1], "items": [1], "movements": [2]}, attempts  # one retry, after the kill


# --- the keepalive on its own, in Temporal's activity test environment --------------------------------------


class Beats:
    """Every heartbeat an activity sends, with a way to wait for the next few."""

    def __init__(self, env: ActivityEnvironment) -> None:
        self.details: list[tuple[Any, ...]] = []
        self.changed = asyncio.Event()
        env.on_heartbeat = self.record

    def record(self, *details: Any) -> None:
        self.details.append(details)
        self.changed.set()

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(30):
            while len(self.details) < count:
                self.changed.clear()
                await self.changed.wait()

    async def none_for_a_while(self) -> None:
        """No heartbeat during more than three keepalive intervals (of the 300 ms timeout below)."""
        sent = len(self.details)
        await asyncio.sleep(1)
        assert len(self.details) == sent, self.details[sent:]


def environment(heartbeat_timeout: timedelta | None = timedelta(milliseconds=300)) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, heartbeat_timeout=heartbeat_timeout)
    return env


def test_the_keepalive_repeats_the_latest_progress_and_stops_when_the_work_returns():
    async def scenario() -> None:
        env = environment()
        beats = Beats(env)

        async def work(progress: Any) -> str:
            progress({"pages": 1})
            await beats.wait_for(len(beats.details) + 3)  # a long wait with no progress of its own
            return "done"

        async def attempt() -> str:
            return await heartbeating(work)

        assert await env.run(attempt) == "done"
        assert beats.details[-3:] == [({"pages": 1},)] * 3  # the keepalive repeats what the work last reported
        await beats.none_for_a_while()  # nothing after the attempt ended

    asyncio.run(scenario())


def test_the_keepalive_stops_when_the_work_fails():
    async def scenario() -> None:
        env = environment()
        beats = Beats(env)

        async def work(progress: Any) -> None:
            await beats.wait_for(2)
            raise ValueError("the database went away")

        async def attempt() -> None:
            await heartbeating(work)

        with pytest.raises(ValueError, match="went away"):
            await env.run(attempt)
        await beats.none_for_a_while()

    asyncio.run(scenario())


def test_a_cancelled_attempt_stops_heartbeating_even_while_its_work_is_still_unwinding():
    """Temporal cancels an attempt by cancelling its task; from then on the attempt must not look alive, even
    while its work takes long to unwind (here until `unwound` is set), so that Temporal can time it out."""

    async def scenario() -> None:
        env = environment()
        beats = Beats(env)
        reading_stopped = asyncio.Event()
        unwound = asyncio.Event()

        async def work(progress: Any) -> None:
            try:
                await asyncio.Event().wait()  # a request that never answers
            except asyncio.CancelledError:
                reading_stopped.set()
                await unwound.wait()  # a slow cleanup
                raise

        async def attempt() -> None:
            await heartbeating(work)

        running = asyncio.create_task(env.run(attempt))
        await beats.wait_for(2)
        env.cancel()
        async with asyncio.timeout(30):
            await reading_stopped.wait()  # the cancellation reached the work and stopped its reading
        await beats.none_for_a_while()  # silent while it unwinds
        unwound.set()
        with pytest.raises(asyncio.CancelledError):
            await running

    asyncio.run(scenario())


def test_work_whose_task_group_failed_stops_heartbeating_while_its_teardown_hangs():
    """The sync's shape: a reader and a writer in a task group. The writer fails (the database went away) while
    the reader waits to hand it a batch, and the reader's cleanup then waits for ever on a queue nobody reads.
    The attempt's coroutine never returns, but its work is gone: it must fall silent so Temporal retries it."""

    async def scenario() -> None:
        env = environment()
        beats = Beats(env)
        failed = asyncio.Event()
        teardown = asyncio.Event()
        released = asyncio.Event()

        async def reader() -> None:
            try:
                await asyncio.Event().wait()  # waiting to hand a batch over
            finally:
                teardown.set()
                await released.wait()  # a cleanup that hangs until the test lets it go

        async def writer() -> None:
            await beats.wait_for(2)
            failed.set()
            raise ValueError("the database went away")

        async def work(progress: Any) -> None:
            async with asyncio.TaskGroup() as group:
                group.create_task(reader())
                group.create_task(writer())

        async def attempt() -> None:
            await heartbeating(work)

        running = asyncio.create_task(env.run(attempt))
        async with asyncio.timeout(30):
            await failed.wait()
            await teardown.wait()
        await beats.none_for_a_while()  # the teardown hangs, and the attempt is silent
        released.set()
        with pytest.raises(ExceptionGroup):
            await running

    asyncio.run(scenario())


def test_a_cancellation_withdrawn_inside_the_work_keeps_the_keepalive_beating():
    """``asyncio.timeout`` cancels the task and withdraws the cancellation when it turns it into TimeoutError
    (as a request timeout that the engine retries does): the attempt is alive and must go on heartbeating."""

    async def scenario() -> None:
        env = environment()
        beats = Beats(env)

        async def work(progress: Any) -> str:
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.05):
                    await asyncio.Event().wait()
            await beats.wait_for(len(beats.details) + 3)  # still beating after the timeout
            return "retried"

        async def attempt() -> str:
            return await heartbeating(work)

        assert await env.run(attempt) == "retried"

    asyncio.run(scenario())


def test_without_a_heartbeat_timeout_the_keepalive_still_beats_to_carry_a_cancellation():
    async def scenario() -> None:
        env = environment(heartbeat_timeout=None)
        beats = Beats(env)

        async def work(progress: Any) -> str:
            await beats.wait_for(1)
            return "checked"

        async def attempt() -> str:
            return await heartbeating(work)

        assert await env.run(attempt) == "checked"

    asyncio.run(scenario())
