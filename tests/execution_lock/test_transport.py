"""The guarded transport's declared kinds in detail, against a real local server: what each kind sends, the cookies
a session login keeps, redirects a POST never follows, bodies that cannot be judged, and the audit of each."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from atlas.config import Settings
from atlas.db.engine import Database
from atlas.execution_lock import (
    BlockedAttempt,
    DeclaredFailure,
    DeclaredKind,
    DeclaredRequest,
    ExecutionBlocked,
    NetworkPolicy,
    NetworkRefused,
    ReadOnlyHttp,
)
from atlas.execution_lock.audit import blocked_auditor
from atlas.execution_lock.transport import Declarations, GuardedTransport
from atlas.i18n import translate
from atlas.platform.audit import Actor
from tests.services import free_port
from tests.sims.canary import CANARY

OPEN = NetworkPolicy(allow_private=True)


@dataclass
class Recorder:
    base: str = ""
    seen: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)

    def paths(self, method: str | None = None) -> list[str]:
        return [path for m, path, _, _ in self.seen if method is None or m == method]


@pytest.fixture(scope="module")
def server() -> Iterator[Recorder]:
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def do_GET(self) -> None:
            CANARY.record("transport-test", "GET", self.path, "read")
            recorder.seen.append(("GET", self.path, {k.lower(): v for k, v in self.headers.items()}, b""))
            if self.path == "/redirect-to-items":
                self.reply(302, {}, {"Location": "/items"})
            else:
                self.reply(200, {"items": [], "cookie": self.headers.get("Cookie")})

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            kind = {"/login": "login", "/oauth/token": "token"}.get(self.path, "rpc_read")
            CANARY.record("transport-test", "POST", self.path, kind)
            recorder.seen.append(("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            if self.path == "/login":
                self.reply(200, {"SessionId": "s-1"}, {"Set-Cookie": "B1SESSION=s-1; HttpOnly; Path=/"})
            elif self.path == "/oauth/token":
                self.reply(200, {"access_token": "tok", "token_type": "Bearer", "expires_in": 60})
            elif self.path == "/moved/graphql":
                self.reply(307, {}, {"Location": "/graphql"})
            else:
                self.reply(200, {"data": {}})

    port = free_port()
    recorder.base = f"http://127.0.0.1:{port}"
    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield recorder
    finally:
        httpd.shutdown()
        httpd.server_close()


class Reports:
    def __init__(self) -> None:
        self.blocked: list[BlockedAttempt] = []
        self.sent: list[DeclaredRequest] = []
        self.failed: list[DeclaredFailure] = []

    async def on_blocked(self, attempt: BlockedAttempt) -> None:
        self.blocked.append(attempt)

    async def on_sent(self, request: DeclaredRequest) -> None:
        self.sent.append(request)

    async def on_failed(self, failure: DeclaredFailure) -> None:
        self.failed.append(failure)


def client(server: Recorder, reports: Reports, **options: Any) -> ReadOnlyHttp:
    options.setdefault("network", OPEN)
    return ReadOnlyHttp(
        token_urls=[f"{server.base}/oauth/token"],
        login_urls=[f"{server.base}/login"],
        rpc_protocols=["graphql", "odoo_json2"],
        data_paths=["/items", "/parents/{parent.id}/stock"],
        on_blocked=reports.on_blocked,
        on_sent=reports.on_sent,
        on_failed=reports.on_failed,
        **options,
    )


def test_a_session_login_keeps_its_cookies_for_the_same_host_until_cleared(server):
    reports = Reports()

    async def go() -> tuple[Any, Any, Any]:
        async with client(server, reports) as http:
            login = await http.session_login(
                f"{server.base}/login", {"CompanyDB": "SBO", "UserName": "u", "Password": "p"}
            )
            with_cookie = json.loads((await http.get(f"{server.base}/items")).body)["cookie"]
            http.clear_cookies()
            after_clear = json.loads((await http.get(f"{server.base}/items")).body)["cookie"]
            return login.status, with_cookie, after_clear

    status, with_cookie, after_clear = asyncio.run(go())
    assert (status, with_cookie, after_clear) == (200, "B1SESSION=s-1", None)
    method, _, headers, body = next(s for s in server.seen if s[1] == "/login")
    assert headers["content-type"] == "application/json" and json.loads(body)["UserName"] == "u"
    assert reports.sent == [DeclaredRequest(DeclaredKind.SESSION_LOGIN, f"{server.base}/login")]


def test_a_token_request_is_a_client_credentials_form_with_optional_basic_client_auth(server):
    reports = Reports()

    async def go() -> None:
        async with client(server, reports) as http:
            await http.token_request(
                f"{server.base}/oauth/token", {"grant_type": "client_credentials", "scope": "read"}
            )
            await http.token_request(
                f"{server.base}/oauth/token?tenant=1",
                {"grant_type": "client_credentials"},
                basic_auth=("my id", "s:cr+t"),
            )

    asyncio.run(go())
    posts = [s for s in server.seen if s[1].startswith("/oauth/token")][-2:]
    assert [parse_qs(body.decode()) for _, _, _, body in posts] == [
        {"grant_type": ["client_credentials"], "scope": ["read"]},
        {"grant_type": ["client_credentials"]},
    ]
    assert posts[0][2]["content-type"] == "application/x-www-form-urlencoded" and "authorization" not in posts[0][2]
    assert posts[1][2]["authorization"] == "Basic " + base64.b64encode(b"my id:s:cr+t").decode()
    # the audit never sees the query string (it may carry a key) nor the form
    assert [s.url for s in reports.sent] == [f"{server.base}/oauth/token"] * 2


@pytest.mark.parametrize(
    ("grant", "reason"),
    [
        ("authorization_code", "token_grant_not_allowed"),
        ("urn:ietf:params:oauth:grant-type:device_code", "token_grant_not_allowed"),
        ("implicit", "token_grant_not_allowed"),
    ],
)
def test_a_token_request_with_another_grant_is_blocked(server, grant, reason):
    reports = Reports()
    before = len(server.seen)

    async def go() -> None:
        async with client(server, reports) as http:
            await http.token_request(f"{server.base}/oauth/token", {"grant_type": grant, "password": "secret"})

    with pytest.raises(ExecutionBlocked):
        asyncio.run(go())
    assert len(server.seen) == before
    assert [(b.reason, b.detail) for b in reports.blocked] == [(reason, grant)]
    assert "secret" not in repr(reports.blocked)


@pytest.mark.parametrize(
    "form",
    [
        {"grant_type": "refresh_token", "refresh_token": "1000.r", "client_id": "c", "client_secret": "s"},
        {"grant_type": "password", "username": "u@example.sa", "password": "p", "client_id": "1", "client_secret": "s"},
    ],
)
def test_the_refresh_token_and_password_grants_are_declared_token_requests(server, form):
    reports = Reports()

    async def go() -> None:
        async with client(server, reports) as http:
            await http.token_request(f"{server.base}/oauth/token", form)

    asyncio.run(go())
    _, _, headers, body = [s for s in server.seen if s[1].startswith("/oauth/token")][-1]
    assert {k: v[0] for k, v in parse_qs(body.decode()).items()} == form
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert reports.sent[-1] == DeclaredRequest(DeclaredKind.TOKEN_REQUEST, f"{server.base}/oauth/token")
    assert not reports.blocked


def test_a_declared_post_never_follows_a_redirect_and_a_get_does(server):
    reports = Reports()

    async def go() -> tuple[int, int]:
        async with client(server, reports) as http:
            moved = await http.read_rpc(f"{server.base}/moved/graphql", protocol="graphql", body={"query": "{ a }"})
            followed = await http.get(f"{server.base}/redirect-to-items")
            return moved.status, followed.status

    before = server.paths("POST").count("/graphql")
    assert asyncio.run(go()) == (307, 200)
    assert server.paths("POST").count("/graphql") == before  # the 307 was not re-posted anywhere
    assert server.paths("GET")[-2:] == ["/redirect-to-items", "/items"]


def test_the_proof_judges_the_path_the_server_will_route_on(server):
    # %77rite is "write" once the server decodes the path.
    reports = Reports()

    async def go() -> None:
        async with client(server, reports) as http:
            await http.read_rpc(f"{server.base}/json/2/stock.quant/%77rite", protocol="odoo_json2", body={"ids": [1]})

    before = len(server.seen)
    with pytest.raises(ExecutionBlocked) as caught:
        asyncio.run(go())
    assert (caught.value.attempt.reason, caught.value.attempt.detail) == ("rpc_method_not_read", "write")
    assert len(server.seen) == before


@pytest.mark.parametrize(
    ("content", "headers", "reason"),
    [
        (
            b'{"query": "{ a }", "query": "mutation { b }"}',
            {"Content-Type": "application/json"},
            "rpc_body_duplicate_key",
        ),
        (b'{"query": "{ a }"}', {"Content-Type": "text/plain"}, "post_body_not_json"),
        (b"query=%7Ba%7D", {"Content-Type": "application/x-www-form-urlencoded"}, "post_body_not_json"),
        (b"{not json", {"Content-Type": "application/json"}, "post_body_not_json"),
        (b"x" * (1024 * 1024 + 1), {"Content-Type": "application/json"}, "rpc_body_too_large"),
    ],
)
def test_a_body_the_transport_cannot_judge_is_not_sent(server, content, headers, reason):
    reports = Reports()

    async def go() -> None:
        transport = GuardedTransport(
            network=OPEN, declarations=Declarations(protocols=frozenset({"graphql"})), on_blocked=reports.on_blocked
        )
        async with httpx.AsyncClient(transport=transport) as raw:
            request = raw.build_request(
                "POST",
                f"{server.base}/graphql",
                content=content,
                headers=headers,
                extensions={"atlas_read_protocol": "graphql"},
            )
            await raw.send(request)

    before = len(server.seen)
    with pytest.raises(ExecutionBlocked):
        asyncio.run(go())
    assert len(server.seen) == before and [b.reason for b in reports.blocked] == [reason]


def test_a_streamed_body_is_not_sent(server):
    reports = Reports()

    async def chunks() -> Any:
        yield b'{"query": "{ a }"}'

    async def go() -> None:
        transport = GuardedTransport(
            network=OPEN, declarations=Declarations(protocols=frozenset({"graphql"})), on_blocked=reports.on_blocked
        )
        async with httpx.AsyncClient(transport=transport) as raw:
            request = raw.build_request(
                "POST",
                f"{server.base}/graphql",
                content=chunks(),
                headers={"Content-Type": "application/json"},
                extensions={"atlas_read_protocol": "graphql"},
            )
            await raw.send(request)

    before = len(server.seen)
    with pytest.raises(ExecutionBlocked):
        asyncio.run(go())
    assert len(server.seen) == before and [b.reason for b in reports.blocked] == ["streamed_body"]


def test_a_request_the_network_policy_refuses_is_not_reported_as_sent(server):
    reports = Reports()

    async def go() -> None:
        async with client(server, reports, network=NetworkPolicy(allow_private=False)) as http:
            await http.read_rpc(f"{server.base}/graphql", protocol="graphql", body={"query": "{ a }"})

    with pytest.raises(NetworkRefused):
        asyncio.run(go())
    assert reports.sent == [] and reports.blocked == []


def test_a_token_url_that_shares_a_data_path_is_refused_when_declared(server):
    reports = Reports()

    async def go() -> None:
        async with client(server, reports) as http:
            for url in (f"{server.base}/items/", f"{server.base}/parents/7/stock?x=1"):
                with pytest.raises(ExecutionBlocked):
                    http.declare_token_url(url)
            http.declare_token_url(f"{server.base}/oauth2/v2/token")  # its own path: fine
            await http.token_request(f"{server.base}/oauth2/v2/token", {"grant_type": "client_credentials"})
            with pytest.raises(ExecutionBlocked):
                await http.token_request(f"{server.base}/items", {"grant_type": "client_credentials"})

    asyncio.run(go())  # the declarations' refusals are reported by the time the client is closed
    assert [(b.url, b.reason) for b in reports.blocked] == [
        (f"{server.base}/items/", "token_url_is_a_data_path"),
        (f"{server.base}/parents/7/stock", "token_url_is_a_data_path"),
        (f"{server.base}/items", "token_url_is_a_data_path"),
    ]
    assert server.paths("POST").count("/items") == 0 and "/oauth2/v2/token" in server.paths("POST")


def test_a_login_url_that_is_a_data_path_is_refused_at_construction(server):
    reports = Reports()

    async def go() -> None:
        async with ReadOnlyHttp(
            network=OPEN, login_urls=[f"{server.base}/items"], data_paths=["/items"], on_blocked=reports.on_blocked
        ) as http:
            await http.session_login(f"{server.base}/items", {"UserName": "u"})

    before = len(server.seen)
    with pytest.raises(ExecutionBlocked):
        asyncio.run(go())
    assert len(server.seen) == before and [b.reason for b in reports.blocked] == ["login_url_is_a_data_path"]


def test_a_failed_token_or_login_answer_is_reported_without_secrets(server):
    reports = Reports()

    async def go() -> None:
        async with client(server, reports) as http:
            await http.record_declared_failure(
                "oauth2_token", f"http://u:p@{server.base[7:]}/oauth/token?key=k", "oauth2_token_invalid", 200
            )

    asyncio.run(go())
    assert reports.failed == [
        DeclaredFailure("oauth2_token", f"{server.base}/oauth/token", "oauth2_token_invalid", 200)
    ]


def test_every_refusal_reads_in_both_languages():
    attempt = BlockedAttempt("POST", "https://erp.example/json/2/stock.quant/write", "rpc_method_not_read", "write")
    error = ExecutionBlocked(attempt)
    english = translate(error.message_key, "en", **error.params)
    arabic = translate(error.message_key, "ar", **error.params)
    assert english.startswith("The execution lock refused POST https://erp.example/json/2/stock.quant/write")
    assert "“write”" in english and "«write»" in arabic and error.extra == {"reason": "rpc_method_not_read"}
    written = ExecutionBlocked(BlockedAttempt("DELETE", "https://erp.example/items/1"))
    assert translate(written.message_key, "en", **written.params).startswith("The execution lock blocked DELETE")


def test_the_lock_audit_records_sent_failed_and_blocked_requests(atlas):
    admin, me = atlas.new_tenant()
    other, other_me = atlas.new_tenant()
    settings = Settings(DATABASE_URL=atlas.database_url)
    tenant = uuid.UUID(me["tenant_id"])
    connector_id = uuid.uuid4()

    async def go() -> None:
        database = Database(settings.database_url, app_role=settings.db_app_role, pool_size=1)
        context = {
            "tenant_id": tenant,
            "actor": Actor("system"),
            "correlation_id": "transport-test",
            "source": "test",
            "connector_id": connector_id,
        }
        try:
            await blocked_auditor(database, **context).sent(
                DeclaredRequest(DeclaredKind.TOKEN_REQUEST, "https://idp.example/oauth2/token")
            )
            await blocked_auditor(database, **context).failed(
                DeclaredFailure("session_login", "https://erp.example/b1s/v1/Login", "session_login_invalid", 200)
            )
            await blocked_auditor(database, **context)(
                BlockedAttempt("POST", "https://erp.example/graphql", "graphql_mutation", "adjustStock")
            )
        finally:
            await database.dispose()

    asyncio.run(go())
    rows = atlas.sql(
        "SELECT event_type, payload FROM audit_events WHERE tenant_id = %s AND correlation_id = 'transport-test' "
        "ORDER BY seq",
        (me["tenant_id"],),
    )
    assert [(event, {k: v for k, v in payload.items() if k != "actor_display"}) for event, payload in rows] == [
        ("declared_request_sent", {"kind": "token_request", "method": "POST", "url": "https://idp.example/oauth2/token",
         "protocol": None, "rpc_method": None, "subject": None, "source": "test", "connector_id": str(connector_id)}),
        ("declared_request_failed", {"kind": "session_login", "url": "https://erp.example/b1s/v1/Login",
         "reason": "session_login_invalid", "status": 200, "source": "test", "connector_id": str(connector_id)}),
        ("action_blocked", {"method": "POST", "url": "https://erp.example/graphql", "reason": "graphql_mutation",
         "detail": "adjustStock", "source": "test", "connector_id": str(connector_id)}),
    ]  # fmt: skip
    assert atlas.sql(
        "SELECT count(*) FROM audit_events WHERE tenant_id = %s AND correlation_id = 'transport-test'",
        (other_me["tenant_id"],),
    ) == [(0,)]
    events = admin.get("/api/audit-logs", params={"event_type": "declared_request_sent"})
    assert events.status_code == 200 and "idp.example" in events.text
    assert "idp.example" not in other.get("/api/audit-logs", params={"event_type": "declared_request_sent"}).text
