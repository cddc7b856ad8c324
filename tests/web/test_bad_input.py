"""No input makes a 5xx (issue 16): bad-input probes over the real routes, as a signed-in admin.

Each probe is a request that used to answer 500 (or could): a NUL (U+0000) in a path, a query parameter, a JSON
string or key, or a form field; JSON nested thousands of levels deep; an integer past its column's range; a line
break in what a connector puts on the wire. Each must answer a 4xx problem (``application/problem+json``) that
names the field, in Arabic and in English, with nothing stored (the tenant's audit trail, which every write
extends, is unchanged; and the rows the probe aimed at do not exist).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from atlas.errors import BadRequest
from atlas.mapping.demo_setup import DEMO_MAPPINGS, demo_connector_body
from atlas.web.input_guard import MAX_JSON_DEPTH, check_body, first_nul_in_json, json_depth_exceeds
from tests.services import free_port
from tests.sims import oauth_server as oauth
from tests.sims.canary import CANARY

INT4_OVER = 2**31
ZERO = "00000000-0000-0000-0000-000000000000"
DEEP = "[" * 5000 + "]" * 5000
PROBES_TRIED: list[str] = []
LOCK_EVENTS = ("declared_request_sent", "declared_request_failed")


class Tenant:
    def __init__(self, atlas: Any, admin: httpx.Client, me: dict[str, Any], connector_id: str) -> None:
        self.atlas, self.admin, self.me, self.connector_id = atlas, admin, me, connector_id
        self.id = me["tenant_id"]

    def audit_count(self, *, besides: tuple[str, ...] = ()) -> int:
        """The tenant's audit events, leaving out the types in ``besides``."""
        query = "SELECT count(*) FROM audit_events WHERE tenant_id = %s AND NOT event_type = ANY(%s)"
        return int(self.atlas.sql(query, (self.id, list(besides)))[0][0])

    def event_types(self) -> list[str]:
        rows = self.atlas.sql("SELECT event_type FROM audit_events WHERE tenant_id = %s ORDER BY seq", (self.id,))
        return [r[0] for r in rows]

    def count(self, table: str) -> int:
        return int(self.atlas.sql(f"SELECT count(*) FROM {table} WHERE tenant_id = %s", (self.id,))[0][0])


@pytest.fixture(scope="module", autouse=True)
def probe_count() -> Iterator[None]:
    """How many bad-input requests were tried (each probe in two languages), for the issue's closing note."""
    yield
    print(f"\nbad-input requests tried: {len(PROBES_TRIED)}")


@pytest.fixture(scope="module")
def tenant(atlas) -> Tenant:
    admin, me = atlas.new_tenant()
    response = admin.post("/api/connectors", json=demo_connector_body("http://127.0.0.1:9", name="Probe ERP"))
    assert response.status_code == 201, response.text
    return Tenant(atlas, admin, me, response.json()["id"])


@pytest.fixture(scope="module")
def mapping_id(tenant: Tenant) -> str:
    body = {"connector_id": tenant.connector_id, "endpoint_key": "items", "spec": DEMO_MAPPINGS["items"]}
    response = tenant.admin.post("/api/mappings", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def send(client: httpx.Client, method: str, path: str, body: Any = None, *, raw: bytes | None = None, **kw: Any):
    headers = dict(kw.pop("headers", {}))
    if raw is not None:
        headers.setdefault("Content-Type", "application/json")
        return client.request(method, path, content=raw, headers=headers, **kw)
    return client.request(method, path, json=body, headers=headers, **kw)


def assert_problem(
    response: httpx.Response, statuses: tuple[int, ...], field: str | None, lang: str, text: str | None = None
) -> None:
    assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["status"] == response.status_code and body["type"].startswith("urn:atlas:problem:")
    assert response.headers["content-language"] == lang
    if field is not None:
        named = [body.get("field"), *(e.get("field") for e in body.get("errors", []))]
        assert any(n == field or (n or "").endswith("." + field) for n in named), body
        texts = [body["detail"], *(e.get("message", "") for e in body.get("errors", []))]
        assert any((field if text is None else text) in t for t in texts), body
    if lang == "ar":
        assert any("\u0600" <= c <= "\u06ff" for c in body["title"] + body["detail"]), body
    else:
        assert not any("\u0600" <= c <= "\u06ff" for c in body["title"] + body["detail"]), body


def probe(
    tenant: Tenant,
    method: str,
    path: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    statuses: tuple[int, ...] = (422,),
    field: str | None = None,
    client: httpx.Client | None = None,
    content_type: str | None = None,
    text: str | None = None,
    audited: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """The request in English and in Arabic: each a problem naming ``field``, and nothing written."""
    answers = []
    for lang in ("en", "ar"):
        before = tenant.audit_count(besides=audited)
        headers = {"Accept-Language": lang}
        if content_type:
            headers["Content-Type"] = content_type
        caller = client or tenant.admin
        caller.cookies.set("atlas_lang", lang)  # pages follow the language cookie, the API Accept-Language too
        try:
            response = send(caller, method, path, body, raw=raw, headers=headers)
        finally:
            caller.cookies.delete("atlas_lang")
        assert_problem(response, statuses, field, lang, text)
        assert tenant.audit_count(besides=audited) == before, f"{method} {path} wrote to the audit trail"
        PROBES_TRIED.append(f"{method} {path} [{lang}]")
        answers.append(response.json())
    return answers


# --- NUL in the path and in query parameters ----------------------------------------------------------------------

NUL_QUERIES = [
    ("/api/recommendations?type=a%00b", "type"),
    ("/api/recommendations?status=pending&priority=%00", "priority"),
    ("/api/anomalies?severity=%00high", "severity"),
    ("/api/anomalies?type=x%00", "type"),
    ("/api/approvals?scope=mine%00", "scope"),
    ("/api/audit-logs?event_type=%00", "event_type"),
    ("/api/audit-logs?correlation_id=abc%00", "correlation_id"),
    ("/api/audit-logs?cursor=%00", "cursor"),
    ("/api/audit-logs?since=2026-01-01%00", "since"),
    ("/api/inventory/items?q=milk%00", "q"),
    ("/api/inventory/items?category=%00", "category"),
    ("/api/inventory/balances?q=%00", "q"),
    ("/api/inventory/locations?q=%00", "q"),
    ("/api/inventory/movements?kind=%00", "kind"),
    ("/api/drafts?kind=%00", "kind"),
    ("/api/drafts/export.csv?type=%00", "type"),
    ("/api/drafts/export.json?kind=%00", "kind"),
    ("/api/drafts/imports?import_id=%00", "import_id"),
    ("/api/quarantine?endpoint_key=%00", "endpoint_key"),
    ("/api/quarantine/groups?endpoint_key=items%00", "endpoint_key"),
    ("/api/payments/callback?id=pay%00", "id"),
    ("/api/recommendations?ty%00pe=reorder", "ty\\u0000pe"),
    ("/api/recommendations?type=a+%00+b", "type"),
]


@pytest.mark.parametrize(("path", "field"), NUL_QUERIES)
def test_a_nul_in_a_query_parameter_is_a_422_naming_it(tenant, path, field):
    probe(tenant, "GET", path, field=field)


def test_a_nul_in_a_query_parameter_of_a_public_route_or_a_page(atlas, tenant):
    anonymous = atlas.client(headers={"Accept": "application/json"})
    probe(tenant, "GET", "/api/login?return_to=/app%00", field="return_to", client=anonymous)
    probe(tenant, "GET", "/app/policies?left=1&right=%00", field="right")
    probe(tenant, "GET", "/app/inventory?q=%00", field="q")


def test_a_nul_in_the_path_is_a_422(tenant):
    paths = [
        ("GET", "/api/presets/odoo%00"),
        ("POST", "/api/presets/od%00oo/connect"),
        ("GET", "/app/connectors/connect/odoo%00"),
    ]
    for method, path in paths:
        for answer in probe(tenant, method, path, {} if method == "POST" else None):
            assert answer["field"] == "path" and answer["code"] == "errors.input_nul_path"


# --- NUL inside JSON strings and keys ----------------------------------------------------------------------------


def test_nul_in_json_fields_is_a_422_naming_the_pointer(tenant):
    tokens_before = tenant.count("api_tokens")
    probe(tenant, "POST", "/api/tokens", {"name": "a\u0000b", "role": "viewer"}, field="/name")
    assert tenant.count("api_tokens") == tokens_before
    invitations_before = tenant.count("invitations")
    probe(tenant, "POST", "/api/invitations", {"email": "x\u0000@example.sa", "role": "viewer"}, field="/email")
    assert tenant.count("invitations") == invitations_before
    connectors_before = tenant.count("connectors")
    body = demo_connector_body("http://127.0.0.1:9", name="NUL\u0000 ERP")
    probe(tenant, "POST", "/api/connectors", body, field="/name")
    body = demo_connector_body("http://127.0.0.1:9", name="Keyed ERP")
    body["headers"] = {"X-Trace\u0000": "1"}
    probe(tenant, "POST", "/api/connectors", body, field="/headers/X-Trace\\u0000")
    body = demo_connector_body("http://127.0.0.1:9", name="Nested ERP")
    body["endpoints"][1]["params"] = {"q": "a\u0000"}
    probe(tenant, "POST", "/api/connectors", body, field="/endpoints/1/params/q")
    assert tenant.count("connectors") == connectors_before
    policies_before = tenant.count("policies")
    probe(tenant, "POST", "/api/policies", {"rules": {}, "note": "note\u0000"}, field="/note")
    assert tenant.count("policies") == policies_before
    probe(tenant, "PATCH", f"/api/connectors/{tenant.connector_id}", {"name": "\u0000"}, field="/name")
    probe(tenant, "PATCH", f"/api/members/{tenant.me['user_id']}", {"role": "admin\u0000"}, field="/role")
    probe(tenant, "POST", f"/api/recommendations/{ZERO}/reject", {"reason": "closed\u0000"}, field="/reason")
    probe(tenant, "POST", f"/api/recommendations/{ZERO}/approve", {"comment": "\u0000"}, field="/comment")
    probe(tenant, "PATCH", f"/api/recommendations/{ZERO}", {"quantity": 3, "reason": "\u0000"}, field="/reason")
    probe(
        tenant, "POST", "/api/approvals/bulk", {"ids": [ZERO], "verdict": "reject", "reason": "\u0000"}, field="/reason"
    )
    probe(tenant, "PUT", "/api/billing/profile", {"legal_name": "Co\u0000"}, field="/legal_name")
    meeting = {"contact_name": "A", "email": "a@b.sa", "phone": "1", "preferred_times": "\u0000am"}
    probe(tenant, "POST", "/api/meeting-requests", meeting, field="/preferred_times")
    probe(tenant, "POST", "/api/discovery", {"base_url": "http://127.0.0.1:9/\u0000"}, field="/base_url")
    probe(tenant, "POST", "/api/presets/odoo/connect", {"inputs": {"database": "\u0000"}}, field="/inputs/database")
    probe(
        tenant,
        "POST",
        "/api/mappings/preview",
        {"connector_id": tenant.connector_id, "spec": {"\u0000": 1}},
        field="/spec/\\u0000",
    )
    probe(
        tenant,
        "POST",
        "/api/onboarding/complete",
        {"company_name": "\u0000", "org_type": "smb", "use_case": "x"},
        field="/company_name",
    )
    # A raw zero byte inside a JSON string (not valid JSON, still never a 500)
    probe(tenant, "POST", "/api/tokens", raw=b'{"name": "a\x00b", "role": "viewer"}', field="/name")


def test_nul_in_a_form_field_is_a_422(tenant):
    before = tenant.count("api_tokens")
    probe(
        tenant,
        "POST",
        "/api/tokens",
        raw=b"role=viewer&name=a%00b",
        field="name",
        content_type="application/x-www-form-urlencoded",
    )
    assert tenant.count("api_tokens") == before


def test_an_escaped_backslash_before_u0000_is_not_a_nul(tenant):
    response = tenant.admin.post(
        "/api/tokens", json={"name": "C:\\u0000 folder", "role": "viewer", "expires_in_days": 1}
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "C:\\u0000 folder"
    assert tenant.admin.delete(f"/api/tokens/{response.json()['id']}").status_code in (200, 204)


# --- JSON nested without end -------------------------------------------------------------------------------------


def write_routes(atlas) -> list[tuple[str, str]]:
    document = atlas.client().get("/schema/openapi.json").json()
    routes = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            writes = method.upper() in ("POST", "PUT", "PATCH", "DELETE") and "execute" not in path
            if writes and (operation.get("requestBody") or method.upper() != "DELETE"):
                routes.append((method.upper(), path))
    return sorted(routes)


def concrete(path: str) -> str:
    """The OpenAPI path with its parameters filled: a preset that exists, version 1, a UUID elsewhere."""
    fills = {"preset_id": "odoo", "version": "1"}
    return re.sub(r"\{(\w+)\}", lambda m: fills.get(m.group(1), ZERO), path)


def test_json_nested_5000_deep_is_a_400_on_every_write_endpoint(atlas, tenant):
    routes = [r for r in write_routes(atlas) if r[1].startswith("/api/")]
    assert len(routes) >= 30, routes
    for method, path in routes:
        for body in (DEEP, '{"a":' * 5000 + "1" + "}" * 5000):
            probe(tenant, method, concrete(path), raw=body.encode(), statuses=(400,), field=None)
    answer = probe(tenant, "POST", "/api/tokens", raw=DEEP.encode(), statuses=(400,))[0]
    assert answer["code"] == "errors.input_too_deep" and answer["max_depth"] == MAX_JSON_DEPTH


def test_brackets_inside_strings_do_not_count_and_sane_nesting_passes(tenant):
    name = "[" * 100 + "{" * 100
    response = tenant.admin.post("/api/tokens", json={"name": name, "role": "viewer", "expires_in_days": 1})
    assert response.status_code == 201, response.text
    nested: Any = "leaf"
    for _ in range(MAX_JSON_DEPTH - 4):
        nested = [nested]
    spec = {"resource": "items", "records": "$", "fields": {"external_id": "$.id"}, "deep": nested}
    response = tenant.admin.post("/api/mappings/preview", json={"connector_id": tenant.connector_id, "spec": spec})
    assert response.status_code < 500 and response.json().get("code") != "errors.input_too_deep", response.text


def test_the_scanner_respects_strings_and_escapes():
    assert not json_depth_exceeds(json.dumps({"a": "[" * 500}).encode())
    assert not json_depth_exceeds(json.dumps({"a": '\\"[[[[' * 100}).encode())
    assert json_depth_exceeds(b'{"a": "]]]]\\"", "b":' + b"[" * 65 + b"]" * 65 + b"}")
    assert not json_depth_exceeds(b"[" * 64 + b"]" * 64)
    assert json_depth_exceeds(b"[" * 65 + b"]" * 65)
    assert first_nul_in_json(b'{"a": ["x", {"b~/c": "\\u0000"}]}') == "/a/1/b~0~1c"
    assert first_nul_in_json(b'{"a": "\\\\u0000"}') is None
    assert first_nul_in_json(b'"\\u0000"') == ""
    assert first_nul_in_json(b"not json \\u0000") is None
    check_body(b"sku,name\n" + b"[" * 500, "text/csv")  # not JSON: brackets in it are not nesting
    with pytest.raises(BadRequest):
        check_body(b" " + b"[" * 65 + b"]" * 65, "text/plain")  # JSON whatever its content type says


# --- integers past their column's range ---------------------------------------------------------------------------


def test_integers_past_int4_are_a_422_naming_the_field(tenant, mapping_id):
    probe(tenant, "POST", f"/api/mappings/{mapping_id}/activate/{INT4_OVER}", field="version")
    probe(tenant, "GET", f"/api/policies/versions/{INT4_OVER}", field="version")
    probe(tenant, "GET", f"/api/mappings/{mapping_id}/diff?left=1&right={INT4_OVER}", field="right")
    probe(tenant, "GET", f"/api/mappings/{mapping_id}/diff?left={2**70}&right=1", field="left")
    probe(
        tenant,
        "POST",
        "/api/tokens",
        {"name": "t", "role": "viewer", "expires_in_days": 10**12},
        field="expires_in_days",
    )
    probe(tenant, "POST", f"/api/recommendations/{ZERO}/approve", {"revision": INT4_OVER}, field="revision")
    probe(
        tenant, "POST", f"/api/recommendations/{ZERO}/reject", {"reason": "r", "revision": INT4_OVER}, field="revision"
    )
    probe(
        tenant,
        "POST",
        "/api/mappings/preview",
        {"connector_id": tenant.connector_id, "spec": {}, "version": INT4_OVER},
        field="version",
    )
    connectors_before = tenant.count("connectors")
    for where, value, field in [
        ("rate_limit_burst", INT4_OVER, "rate_limit_burst"),
        ("max_concurrency", 2**63, "max_concurrency"),
        ("retry_attempts", -(2**31) - 1, "retry_attempts"),
        ("sync_interval_minutes", INT4_OVER, "sync_interval_minutes"),
    ]:
        body = demo_connector_body("http://127.0.0.1:9", name=f"Range {where}")
        body[where] = value
        probe(tenant, "POST", "/api/connectors", body, field=field)
        probe(tenant, "PATCH", f"/api/connectors/{tenant.connector_id}", {where: value}, field=field)
    for part, value, field in [
        ("pagination", {"kind": "page", "page_size": INT4_OVER}, "page_size"),
        ("pagination", {"kind": "page", "start_page": 10**20}, "start_page"),
        ("time_window", {"window_hours": 10**15}, "window_hours"),
        ("time_window", {"lookback_days": 10**12}, "lookback_days"),
    ]:
        body = demo_connector_body("http://127.0.0.1:9", name=f"Range {field}")
        body["endpoints"][0][part] = value
        probe(tenant, "POST", "/api/connectors", body, field=field)
    body = demo_connector_body("http://127.0.0.1:9", name="Range idle")
    body["auth"] = {
        "kind": "session_login",
        "login_url": "http://127.0.0.1:9/login",
        "username": "u",
        "password": "p",
        "session_idle_minutes": 10**12,
    }
    probe(tenant, "POST", "/api/connectors", body, field="session_idle_minutes")
    assert tenant.count("connectors") == connectors_before


def test_a_page_reading_an_int_by_hand_ignores_one_out_of_range(tenant):
    response = tenant.admin.get(f"/app/policies?left=1&right={INT4_OVER}", headers={"Accept": "text/html"})
    assert response.status_code == 200, response.text[:300]


# --- what a connector puts on the wire ---------------------------------------------------------------------------

# (what, change, field named, text the detail shows: the field, or the header's name for the older header check,
# or "" where an older auth check names the field in ``field`` alone)
CONTROL = [
    ("endpoints", lambda b: b["endpoints"][0].update(path="/api/v1/items\r\nX-Evil: 1"), "endpoints[0].path", None),
    ("endpoints", lambda b: b["endpoints"][0].update(path="/api/v1/items\t"), "endpoints[0].path", None),
    ("endpoints", lambda b: b["endpoints"][1].update(record_path="$.results\x7f"), "endpoints[1].record_path", ""),
    ("base_url", lambda b: b.update(base_url="http://127.0.0.1:9/\nx"), "base_url", None),
    ("params", lambda b: b["endpoints"][0].update(params={"q": "a\r\nb"}), "endpoints[0].params.q", None),
    ("params", lambda b: b["endpoints"][0].update(params={"q\n": "a"}), "endpoints[0].params", None),
    (
        "paging",
        lambda b: b["endpoints"][0]["pagination"].update(page_param="page\r\n"),
        "endpoints[0].pagination.page_param",
        None,
    ),
    ("headers", lambda b: b.update(headers={"X-Trace": "a\nb"}), "headers.X-Trace", "X-Trace"),
    ("auth", lambda b: b["auth"].update(key_name="X-API-Key\r\n"), "auth.key_name", ""),
    ("auth", lambda b: b["auth"].update(api_key="k\r\nX-Evil: 1"), "auth.api_key", None),
]


@pytest.mark.parametrize(
    ("what", "change", "field", "text"), CONTROL, ids=[f"{c[0]}-{i}" for i, c in enumerate(CONTROL)]
)
def test_control_characters_in_wire_fields_are_refused_at_create_and_update(tenant, what, change, field, text):
    before = tenant.count("connectors")
    body = demo_connector_body("http://127.0.0.1:9", name=f"Control {uuid.uuid4().hex[:6]}")
    change(body)
    probe(tenant, "POST", "/api/connectors", body, field=field, text=text)
    assert tenant.count("connectors") == before
    update = {
        k: body[k]
        for k in ("endpoints", "base_url", "headers", "auth")
        if k == what or (what in ("params", "paging") and k == "endpoints")
    }
    before_row = tenant.atlas.sql("SELECT updated_at FROM connectors WHERE id = %s", (tenant.connector_id,))
    probe(tenant, "PATCH", f"/api/connectors/{tenant.connector_id}", update, field=field, text=text)
    assert tenant.atlas.sql("SELECT updated_at FROM connectors WHERE id = %s", (tenant.connector_id,)) == before_row


# --- discovery against a token endpoint that hands out no token -------------------------------------------------


@pytest.fixture(scope="module")
def tokenless() -> Iterator[oauth.OAuthServer]:
    with oauth.oauth_server(method="client_secret_post", metadata="none", token_answer="no_token") as server:
        yield server


def test_discovery_with_a_token_endpoint_without_access_token_is_a_422(tenant, tokenless):
    auth = {
        "kind": "oauth2_client_credentials",
        "token_url": tokenless.token_url,
        "client_id": oauth.CLIENT_ID,
        "client_secret": oauth.CLIENT_SECRET,
        "client_auth": "body",
    }
    body = {"base_url": tokenless.base, "auth": auth}
    # The token request is a declared read the execution lock audits (sent and failed); nothing else is written.
    answers = probe(
        tenant, "POST", "/api/discovery", body, field="auth.token_url", text=tokenless.token_url, audited=LOCK_EVENTS
    )
    assert set(tenant.event_types()) & set(LOCK_EVENTS)

    # The same for a saved connector's discovery: its token endpoint is named, nothing is written.
    connector = demo_connector_body(tokenless.base, name="Tokenless ERP")
    connector["auth"] = auth
    created = tenant.admin.post("/api/connectors", json=connector)
    assert created.status_code == 201, created.text
    connector_id = created.json()["id"]
    path = f"/api/connectors/{connector_id}/discover"
    answers = probe(tenant, "POST", path, field="auth.token_url", text=tokenless.token_url, audited=LOCK_EVENTS)
    assert answers[1]["code"] == "errors.discovery_token_invalid"
    # Its test reports the token endpoint's failure as a health result, never a 5xx.
    tested = tenant.admin.post(f"/api/connectors/{connector_id}/test", headers={"Accept-Language": "en"})
    assert tested.status_code < 500, tested.text
    assert tenant.admin.delete(f"/api/connectors/{connector_id}").status_code in (200, 204)
    assert answers[0]["code"] == "errors.discovery_token_invalid" and answers[0]["token_url"] == tokenless.token_url
    assert oauth.CLIENT_SECRET not in json.dumps(answers)


# --- odd values that are not NULs: never a 5xx ------------------------------------------------------------------

ODD_QUERIES = [
    "/api/audit-logs?since=99999-12-31",
    "/api/audit-logs?since=0000-01-01&until=2026-13-45",
    "/api/inventory/movements?since=10000-01-01T00:00:00",
    "/api/inventory/movements?until=-1",
    "/api/drafts/imports?since=9999-12-31T23:59:59%2B14:00",
    "/api/drafts/imports?since=0001-01-01T00:00:00-14:00",
    "/api/anomalies?item_id=not-a-uuid",
    "/api/recommendations?status=%F0%9F%98%80&type=%E2%80%AE",
    "/api/inventory/items?q=%FF%FE",
    f"/api/policies/versions/{2**63}",
    f"/api/policies/versions/-{2**63}",
    "/api/policies/versions/1e3",
    f"/api/mappings/{ZERO}/diff?left=1&right=1.5",
    f"/api/mappings/{ZERO}/diff?left=-1&right=1",
]


@pytest.mark.parametrize("path", ODD_QUERIES)
def test_odd_query_values_are_a_4xx_problem_or_an_answer_never_a_5xx(tenant, path):
    for lang in ("en", "ar"):
        response = tenant.admin.get(path, headers={"Accept-Language": lang})
        assert response.status_code < 500, (path, response.status_code, response.text[:300])
        if response.status_code >= 400:
            assert response.headers["content-type"].startswith("application/problem+json"), response.headers
            assert response.headers["content-language"] == lang
        PROBES_TRIED.append(f"GET {path} [{lang}]")


# --- a customer system's error message with a NUL ---------------------------------------------------------------


@contextmanager
def nul_messages_api() -> Iterator[str]:
    """Every path fails, with a message holding a NUL: escaped in JSON, or a raw zero byte in plain text."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            CANARY.record("nul-messages-api", "GET", self.path, "read")
            if self.path.startswith("/json"):
                status, body, kind = 500, json.dumps({"message": "disk\u0000full"}).encode(), "application/json"
            else:
                status, body, kind = 400, b"bad\x00request", "text/plain"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_nul_in_a_systems_error_message_is_stored_as_a_replacement_character(tenant):
    with nul_messages_api() as base:
        body = {
            "name": f"Failing {uuid.uuid4().hex[:6]}",
            "base_url": base,
            "retry_attempts": 1,
            "endpoints": [
                {"key": "json", "resource": "items", "path": "/json/items"},
                {"key": "text", "resource": "locations", "path": "/text/locations"},
            ],
        }
        created = tenant.admin.post("/api/connectors", json=body)
        assert created.status_code == 201, created.text
        connector_id = created.json()["id"]
        tested = tenant.admin.post(f"/api/connectors/{connector_id}/test", headers={"Accept-Language": "en"})
        assert tested.status_code == 200, tested.text
        details = {h["endpoint"]: h["detail"] for h in tested.json()["latest"]}
        assert details == {"json": "disk\ufffdfull", "text": "bad\ufffdrequest"}, details
    assert tenant.admin.delete(f"/api/connectors/{connector_id}").status_code in (200, 204)
