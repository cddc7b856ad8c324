"""Session-wide real components and helpers shared by every test package."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import psycopg
import pytest

from tests.services import (
    CHROMIUM,
    CHROMIUM_ARGS,
    WorkerProcess,
    asgi_server,
    atlas_server,
    fresh_database,
    oidc_provider,
    postgres_server,
    temporal_server,
)

os.environ.setdefault("ATLAS_LOG_LEVEL", "WARNING")

# --- the order in which parallel test processes take the files ------------------------------------------------------
# With `--dist loadfile` a file runs whole in one process, and pytest-xdist by default hands the files out by their
# number of tests, most first: the slowest files, which have few long tests (schemathesis, the screenshots, the
# syncs), came last and ran on alone while the other processes sat idle. The processes take the slowest files first
# instead (longest processing time first), by each file's seconds in the last measured run
# (tests/file_seconds.json, rewritten with scripts/test_durations.py); a file not measured yet counts
# DEFAULT_SECONDS_PER_TEST a test. Only the order changes: every test runs, in its own file's order.
FILE_SECONDS = Path(__file__).with_name("file_seconds.json")
DEFAULT_SECONDS_PER_TEST = 3.0


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput") and getattr(config.option, "dist", "no") in ("loadfile", "loadscope"):
        config.option.loadscopereorder = False  # keep the order the processes collect (below)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not hasattr(config, "workerinput"):
        return  # one process: the usual order
    measured: dict[str, float] = json.loads(FILE_SECONDS.read_text(encoding="utf-8")) if FILE_SECONDS.exists() else {}
    files: dict[str, list[pytest.Item]] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::", 1)[0], []).append(item)

    def seconds(name: str) -> float:
        return measured.get(name, DEFAULT_SECONDS_PER_TEST * len(files[name]))

    # sorted() is stable and every process collects the same items, so every process reports the same order
    items[:] = [item for name in sorted(files, key=lambda name: -seconds(name)) for item in files[name]]


@pytest.fixture(scope="session", autouse=True)
def entitlements_wired() -> None:
    """Services called straight from a test (not through the app or the worker) ask the platform for plan limits:
    connect billing's answers and the usage counts, as the app and the worker do at start-up."""
    from atlas.wiring import wire

    wire()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def database_url(pg_server: str) -> Iterator[str]:
    """A migrated database for this test session (superuser URL, plain postgresql://)."""
    with fresh_database(pg_server) as url:
        yield url


@pytest.fixture(scope="session")
def oidc_url() -> Iterator[str]:
    with oidc_provider() as url:
        yield url


@pytest.fixture(scope="session")
def temporal_address() -> Iterator[str]:
    with temporal_server() as address:
        yield address


class Atlas:
    """A running Atlas with helpers to sign people in for real and to inspect the database."""

    def __init__(self, base_url: str, oidc_url: str, database_url: str) -> None:
        self.base_url = base_url
        self.oidc_url = oidc_url
        self.database_url = database_url

    # --- database, as the superuser (behind the app's back) ---------------------------------
    def sql(self, query: str, params: Any = None) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def as_app_role(
        self, query: str, params: Any = None, *, tenant_id: uuid.UUID | None = None, scope: str = ""
    ) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url) as conn:
            conn.execute("SET ROLE atlas_app")
            if tenant_id or scope:
                conn.execute(
                    "SELECT set_config('app.tenant_id', %s, true), set_config('app.scope', %s, true)",
                    (str(tenant_id or ""), scope),
                )
            cursor = conn.execute(query, params)
            rows = cursor.fetchall() if cursor.description else []
            conn.rollback()
            return rows

    # --- HTTP ----------------------------------------------------------------------------------
    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, follow_redirects=False, timeout=30, **kwargs)

    def set_user(self, sub: str, **claims: Any) -> None:
        response = httpx.put(f"{self.oidc_url}/users/{sub}", json={"email": sub, **claims})
        assert response.status_code in (200, 204), response.text

    def begin_login(self, client: httpx.Client, return_to: str = "/app") -> str:
        response = client.get("/api/login", params={"return_to": return_to})
        assert response.status_code in (302, 303, 307), response.text
        return response.headers["location"]

    def authorize_at_provider(self, authorize_url: str, sub: str) -> str:
        """Press the provider's button for ``sub``; returns Atlas's callback URL with code and state."""
        response = httpx.post(authorize_url, data={"sub": sub}, follow_redirects=False)
        assert response.status_code in (302, 303), response.text
        return response.headers["location"]

    def login(self, email: str | None = None, *, name: str | None = None) -> httpx.Client:
        """The real authorization-code flow; returns a client holding the session cookie and CSRF header."""
        email = email or f"user-{uuid.uuid4().hex[:10]}@example.sa"
        self.set_user(email, name=name or email.split("@")[0].title())
        client = self.client()
        callback = self.authorize_at_provider(self.begin_login(client), email)
        parsed = urlparse(callback)
        response = client.get(parsed.path, params={k: v[0] for k, v in parse_qs(parsed.query).items()})
        assert response.status_code in (302, 303), response.text
        assert "atlas_session" in client.cookies, response.headers
        me = client.get("/api/auth/user").json()
        client.headers["X-CSRF-Token"] = me["csrf_token"]
        client.headers["Accept"] = "application/json"
        return client

    def new_tenant(
        self, *, org_type: str = "smb", name: str | None = None, email: str | None = None
    ) -> tuple[httpx.Client, dict[str, Any]]:
        """A fresh tenant through first sign-in and the onboarding wizard; returns its admin's client."""
        client = self.login(email)
        response = client.post(
            "/api/onboarding/complete",
            json={
                "company_name": name or f"Company {uuid.uuid4().hex[:6]}",
                "org_type": org_type,
                "use_case": "inventory_management",
            },
        )
        assert response.status_code == 200, response.text
        return client, client.get("/api/auth/user").json()

    def token_client(self, admin: httpx.Client, role: str) -> httpx.Client:
        response = admin.post("/api/tokens", json={"name": f"{role} token", "role": role, "expires_in_days": 7})
        assert response.status_code == 201, response.text
        return self.client(
            headers={"Authorization": f"Bearer {response.json()['token']}", "Accept": "application/json"}
        )

    def member_client(self, admin: httpx.Client, role: str) -> tuple[httpx.Client, dict[str, Any]]:
        """Invite someone with ``role`` and sign them in; they join the admin's tenant."""
        email = f"{role}-{uuid.uuid4().hex[:8]}@example.sa"
        response = admin.post("/api/invitations", json={"email": email, "role": role})
        assert response.status_code == 201, response.text
        client = self.login(email)
        return client, client.get("/api/auth/user").json()


# Each test process runs two Atlas apps and a worker (the `atlas` and `stack` fixtures), and the suite runs four
# processes on two cores (scripts/test.sh): at the default pool (10 kept + 10 overflow each) their idle connections
# alone neared PostgreSQL's default 100. Five kept (and five overflow) per pool is ample for the concurrency tests.
TEST_POOL_SIZE = 5


@pytest.fixture(scope="session")
def atlas(database_url: str, oidc_url: str) -> Iterator[Atlas]:
    overrides = {
        "DATABASE_URL": database_url,
        "OIDC_ISSUER": oidc_url,
        "TEMPORAL_ADDRESS": "127.0.0.1:1",  # no Temporal unless a test asks for it
        "ATLAS_LOGIN_RATE_LIMIT": 100000,  # the suite signs in hundreds of times from one address
        "ATLAS_TOKEN_RATE_LIMIT": 100000,
        "ATLAS_ALLOW_PRIVATE_NETWORKS": True,  # the test servers live on 127.0.0.1
        "ATLAS_LOG_LEVEL": os.environ.get("ATLAS_LOG_LEVEL", "WARNING"),
        "ATLAS_DB_POOL_SIZE": TEST_POOL_SIZE,
    }
    with atlas_server(overrides) as base_url:
        yield Atlas(base_url, oidc_url, database_url)


def demo_erp_as_of(days_back: int = 1) -> Any:
    """The demo ERP's data date in the suite: ``days_back`` days before today in Riyadh (the demo ERP's and the
    analysis's time zone)."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    return (datetime.now(ZoneInfo("Asia/Riyadh")) - timedelta(days=days_back)).date()


@pytest.fixture(scope="session")
def demo_erp_url() -> Iterator[str]:
    """The demo ERP, its data as of yesterday (so every movement lies in the past)."""

    from atlas.connectors.demo_erp.app import create_app

    # the data ends yesterday on Riyadh's clock, the day the analysis counts as the last complete one (its days are
    # Asia/Riyadh's): with UTC's yesterday, between 21:00 and 24:00 UTC the analysis saw an empty last day
    with asgi_server(create_app(as_of=demo_erp_as_of())) as url:
        yield url


class Stack:
    """Atlas with Temporal and a worker process behind it, for syncs and other workflows."""

    def __init__(self, atlas: Atlas, worker: WorkerProcess) -> None:
        self.atlas = atlas
        self.worker = worker


@pytest.fixture(scope="session")
def stack(database_url: str, oidc_url: str, temporal_address: str) -> Iterator[Stack]:
    queue = f"atlas-test-{uuid.uuid4().hex[:8]}"
    settings = {
        "DATABASE_URL": database_url,
        "OIDC_ISSUER": oidc_url,
        "TEMPORAL_ADDRESS": temporal_address,
        "TEMPORAL_TASK_QUEUE": queue,
        "ATLAS_SYNC_HEARTBEAT_SECONDS": "3",
        "ATLAS_ALLOW_PRIVATE_NETWORKS": "true",
        "ATLAS_LOGIN_RATE_LIMIT": "100000",
        "ATLAS_TOKEN_RATE_LIMIT": "100000",
        "ATLAS_HOUSEKEEPING_SECONDS": "86400",
        "ATLAS_CONNECTOR_HEALTH_SECONDS": "86400",
        "ATLAS_LOG_LEVEL": "WARNING",
        "ATLAS_DB_POOL_SIZE": str(TEST_POOL_SIZE),
    }
    worker = WorkerProcess(settings)
    worker.start()
    try:
        with atlas_server(dict(settings)) as base_url:
            yield Stack(Atlas(base_url, oidc_url, database_url), worker)
    finally:
        worker.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium under Playwright, one per test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture(scope="session", autouse=True)
def canary_sees_no_writes() -> Iterator[None]:
    """At the end of the suite, no simulated customer system has received a single request that is not a read."""
    from tests.sims.canary import CANARY

    yield
    assert CANARY.writes() == [], CANARY.writes()[:20]
