"""`atlas serve --workers N` (issue 21): N web processes share the port under uvicorn's supervisor, each with its
own app (pools, Temporal client); one killed is replaced and the port keeps answering."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import httpx

from tests.services import atlas_serve_process, wait_until


def children(pid: int) -> set[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout.split()
    return {int(child) for child in found}


def serving(pids: set[int]) -> set[int]:
    """Those of ``pids`` that are web processes (uvicorn's supervisor may also hold a resource tracker child)."""
    web = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                command = handle.read()
        except FileNotFoundError:
            continue
        if b"resource_tracker" not in command:
            web.add(pid)
    return web


def test_two_web_processes_share_the_port_and_one_that_dies_is_replaced(database_url, oidc_url):
    settings = {
        "DATABASE_URL": database_url,
        "OIDC_ISSUER": oidc_url,
        "TEMPORAL_ADDRESS": "127.0.0.1:1",
        "ATLAS_LOG_LEVEL": "WARNING",
        "ATLAS_DB_POOL_SIZE": "2",
    }
    with atlas_serve_process(settings, "--workers", "2", "--keep-alive", "10") as (base_url, pid):
        wait_until(lambda: len(serving(children(pid))) == 2, timeout=60, what="two web processes")
        first = serving(children(pid))
        with httpx.Client(base_url=base_url) as client:
            assert all(client.get("/health").json() == {"status": "ok"} for _ in range(20))
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        wait_until(
            lambda: len(serving(children(pid))) == 2 and victim not in children(pid),
            timeout=60,
            what="the supervisor replacing the killed web process",
        )
        assert serving(children(pid)) - first  # a new process took its place
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the new process is ready once it answers
            try:
                if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        with httpx.Client(base_url=base_url) as client:
            assert [client.get("/health").status_code for _ in range(20)] == [200] * 20
