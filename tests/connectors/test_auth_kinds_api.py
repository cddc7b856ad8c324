"""The authentication kinds over the API: saved and masked, validated with the field named, tested against the
simulations of the real systems, every token request and login audited, and a 401's hint shown to the person."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.services import html_page
from tests.sims import oauth_server as oauth
from tests.sims import sap_b1 as sap
from tests.sims import token_servers as tokens


@pytest.fixture(scope="module")
def inventree() -> Iterator[tokens.TokenServer]:
    with tokens.inventree_style() as server:
        yield server


@pytest.fixture(scope="module")
def sap_server() -> Iterator[sap.SapB1]:
    with sap.sap_b1() as server:
        yield server


@pytest.fixture(scope="module")
def provider() -> Iterator[oauth.OAuthServer]:
    with oauth.oauth_server(method="client_secret_basic", issuer_path="/tenant-a") as server:
        yield server


def body(base_url: str, auth: dict[str, Any], endpoints: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "name": f"ERP {uuid.uuid4().hex[:6]}",
        "base_url": base_url,
        "environment": "production",
        "auth": auth,
        "endpoints": endpoints,
        "retry_attempts": 2,
        **extra,
    }


def inventree_body(server: tokens.TokenServer, auth: dict[str, Any]) -> dict[str, Any]:
    return body(server.base, auth, [{"key": "parts", "resource": "items", "path": "/api/part/", "record_path": "$"}])


def sap_body(server: sap.SapB1, **auth: Any) -> dict[str, Any]:
    return body(
        server.base,
        {
            "kind": "session_login",
            "login_url": f"{server.base}{sap.ROOT}/Login",
            "login_fields": {"CompanyDB": sap.COMPANY_DB},
            "username": sap.USER,
            "password": sap.PASSWORD,
            "session_idle_minutes": 20,
            **auth,
        },
        [
            {
                "key": "items",
                "resource": "items",
                "path": f"{sap.ROOT}/Items",
                "record_path": "$.value",
                "pagination": {"kind": "cursor", "cursor_source": "next_url", "cursor_path": "$['@odata.nextLink']"},
            },
            {"key": "warehouses", "resource": "locations", "path": f"{sap.ROOT}/Warehouses", "record_path": "$.value"},
        ],
    )


def oauth_body(server: oauth.OAuthServer, **auth: Any) -> dict[str, Any]:
    return body(
        server.base,
        {
            "kind": "oauth2_client_credentials",
            "issuer": server.issuer,
            "client_id": oauth.CLIENT_ID,
            "client_secret": oauth.CLIENT_SECRET,
            **auth,
        },
        [{"key": "items", "resource": "items", "path": "/api/items", "record_path": "$.items"}],
    )


def audit(atlas: Any, tenant_id: str, event_type: str) -> list[dict[str, Any]]:
    rows = atlas.sql(
        "SELECT payload FROM audit_events WHERE tenant_id = %s AND event_type = %s ORDER BY seq",
        (tenant_id, event_type),
    )
    return [row[0] for row in rows]


def all_audit_text(atlas: Any, tenant_id: str) -> str:
    return " ".join(
        r[0] for r in atlas.sql("SELECT payload::text FROM audit_events WHERE tenant_id = %s", (tenant_id,))
    )


# --- each kind saved, masked, and working ---------------------------------------------------------------------------


def test_basic_and_header_kinds_are_saved_masked_and_work(atlas, inventree):
    admin, me = atlas.new_tenant()
    user, password = tokens.INVENTREE_USER
    cases = [
        ({"kind": "basic", "username": user, "password": password}, "password", password),
        ({"kind": "header", "scheme": "Token", "credential": tokens.INVENTREE_KEY}, "credential", tokens.INVENTREE_KEY),
    ]
    for auth, secret_field, secret in cases:
        created = admin.post("/api/connectors", json=inventree_body(inventree, auth))
        assert created.status_code == 201, created.text
        read = created.json()["auth"]
        assert read["kind"] == auth["kind"] and read[secret_field] == "••••" + secret[-2:]
        assert read.get("username") == auth.get("username") and read.get("scheme") == auth.get("scheme")
        connector_id = created.json()["id"]
        tested = admin.post(f"/api/connectors/{connector_id}/test").json()
        assert tested["health_status"] == "healthy", tested
        assert tested["latest"][0]["sample_count"] == len(tokens.PARTS)
        for response in (admin.get("/api/connectors"), admin.get(f"/api/connectors/{connector_id}")):
            assert secret not in response.text
        stored = atlas.sql(
            "SELECT secrets_encrypted, auth_settings::text FROM connectors WHERE id = %s", (connector_id,)
        )
        assert secret not in stored[0][0] and secret not in stored[0][1]
    assert password not in all_audit_text(atlas, me["tenant_id"])
    assert tokens.INVENTREE_KEY not in all_audit_text(atlas, me["tenant_id"])


def test_an_edit_keeps_the_stored_secret_and_a_kind_change_drops_it(atlas, inventree):
    admin, _ = atlas.new_tenant()
    auth = {"kind": "header", "scheme": "Token", "credential": tokens.INVENTREE_KEY}
    connector = admin.post("/api/connectors", json=inventree_body(inventree, auth)).json()
    kept = admin.patch(f"/api/connectors/{connector['id']}", json={"auth": {"kind": "header", "scheme": "Token"}})
    assert kept.status_code == 200, kept.text
    assert kept.json()["auth"]["credential"] == "••••" + tokens.INVENTREE_KEY[-2:]
    assert admin.post(f"/api/connectors/{connector['id']}/test").json()["health_status"] == "healthy"
    switched = admin.patch(f"/api/connectors/{connector['id']}", json={"auth": {"kind": "basic", "username": "admin"}})
    assert switched.status_code == 422 and switched.json()["code"] == "errors.auth_password_required"
    assert switched.json()["field"] == "auth.password"


def test_session_login_connector_is_tested_and_every_login_audited(atlas, sap_server):
    admin, me = atlas.new_tenant()
    created = admin.post("/api/connectors", json=sap_body(sap_server))
    assert created.status_code == 201, created.text
    read = created.json()["auth"]
    assert read["password"] == "••••" + sap.PASSWORD[-2:] and read["login_fields"] == {"CompanyDB": sap.COMPANY_DB}
    assert read["login_url"] == f"{sap_server.base}{sap.ROOT}/Login" and read["session_idle_minutes"] == 20
    logins_before = sap_server.logins
    tested = admin.post(f"/api/connectors/{created.json()['id']}/test").json()
    assert tested["health_status"] == "healthy", tested
    assert {h["endpoint"]: h["sample_count"] for h in tested["latest"]} == {"items": 20, "warehouses": 3}
    assert sap_server.logins == logins_before + 1  # one login serves every endpoint of the test
    sent = audit(atlas, me["tenant_id"], "declared_request_sent")
    assert [(e["kind"], e["url"], e["method"]) for e in sent] == [
        ("session_login", f"{sap_server.base}{sap.ROOT}/Login", "POST")
    ]
    assert sent[0]["connector_id"] == created.json()["id"]
    assert sap.PASSWORD not in all_audit_text(atlas, me["tenant_id"])
    events = admin.get("/api/audit-logs", params={"event_type": "declared_request_sent"}).json()["items"]
    assert len(events) == 1


def test_a_refused_login_is_audited_as_failed_and_asked_once(atlas, sap_server):
    admin, me = atlas.new_tenant()
    connector = admin.post("/api/connectors", json=sap_body(sap_server, password="wrong")).json()
    before = sap_server.logins
    tested = admin.post(f"/api/connectors/{connector['id']}/test").json()
    assert tested["health_status"] == "failing"
    assert [(h["reason"], h["status_code"], h["detail"]) for h in tested["latest"]] == [
        ("session_login_failed", 401, "Login failed")
    ] * 2
    assert sap_server.logins == before + 1
    failed = audit(atlas, me["tenant_id"], "declared_request_failed")
    assert [(e["kind"], e["reason"], e["status"]) for e in failed] == [("session_login", "session_login_failed", 401)]
    assert len(audit(atlas, me["tenant_id"], "declared_request_sent")) == 1


def test_oauth2_with_an_issuer_reads_its_metadata_and_audits_the_token_request(atlas, provider):
    admin, me = atlas.new_tenant()
    created = admin.post("/api/connectors", json=oauth_body(provider))
    assert created.status_code == 201, created.text
    read = created.json()["auth"]
    assert read["issuer"] == provider.issuer and read["client_auth"] is None and read.get("token_url") is None
    assert read["client_secret"] == "••••" + oauth.CLIENT_SECRET[-2:]
    tested = admin.post(f"/api/connectors/{created.json()['id']}/test").json()
    assert tested["health_status"] == "healthy", tested
    sent = audit(atlas, me["tenant_id"], "declared_request_sent")
    assert [(e["kind"], e["url"]) for e in sent] == [("token_request", provider.token_url)]
    assert oauth.CLIENT_SECRET not in all_audit_text(atlas, me["tenant_id"])


def test_a_token_answer_that_is_not_a_token_is_audited_as_failed(atlas):
    admin, me = atlas.new_tenant()
    with oauth.oauth_server(token_answer="html") as server:
        connector = admin.post(
            "/api/connectors", json=oauth_body(server, issuer=None, token_url=server.token_url, client_auth="basic")
        ).json()
        tested = admin.post(f"/api/connectors/{connector['id']}/test").json()
        assert [h["reason"] for h in tested["latest"]] == ["oauth2_token_invalid"]
        assert server.token_requests == 1
    failed = audit(atlas, me["tenant_id"], "declared_request_failed")
    assert [(e["kind"], e["reason"], e["url"]) for e in failed] == [
        ("oauth2_token", "oauth2_token_invalid", server.token_url)
    ]


# --- the hint of a 401, where the person sees it --------------------------------------------------------------------


def test_the_hint_of_a_401_is_kept_with_the_health_check_and_shown_on_the_page(atlas, inventree):
    admin, _ = atlas.new_tenant()
    auth = {"kind": "bearer", "token": tokens.INVENTREE_KEY}  # InvenTree wants "Token", not "Bearer"
    connector = admin.post("/api/connectors", json=inventree_body(inventree, auth)).json()
    tested = admin.post(f"/api/connectors/{connector['id']}/test").json()
    latest = tested["latest"][0]
    assert (latest["status_code"], latest["reason"], latest["hint"]) == (401, "unauthorized", "Token")
    assert latest["detail"] == "Authentication credentials were not provided."
    history = admin.get(f"/api/connectors/{connector['id']}/health").json()["history"]
    assert [h["hint"] for h in history] == ["Token"]
    stored = atlas.sql("SELECT detail FROM connector_health_checks WHERE connector_id = %s", (connector["id"],))
    assert stored == [("WWW-Authenticate: Token\nAuthentication credentials were not provided.",)]
    admin.cookies.set("atlas_lang", "en")
    response = html_page(admin, f"/app/connectors/{connector['id']}")
    assert response.status_code == 200, response.text[:2000]
    page = response.text
    assert 'data-testid="auth-hint"' in page
    assert "The server expects the “Token” scheme (WWW-Authenticate: Token)" in page


# --- validation -----------------------------------------------------------------------------------------------------


BASE = "https://erp.example.com/api"
ENDPOINTS = [
    {"key": "items", "resource": "items", "path": "/v1/items", "record_path": "$"},
    {"key": "orders", "resource": "stock_movements", "path": "/v1/purchase-orders", "record_path": "$"},
    {"key": "locations", "resource": "locations", "path": "/v1/locations", "record_path": "$"},
    {
        "key": "stock",
        "resource": "stock_balances",
        "path": "/v1/locations/{parent.id}/stock",
        "record_path": "$",
        "parent": "locations",
    },
]
OAUTH = {"kind": "oauth2_client_credentials", "client_id": "atlas", "client_secret": "s"}
LOGIN = {"kind": "session_login", "username": "u", "password": "p"}


@pytest.mark.parametrize(
    ("auth", "extra", "code", "field"),
    [
        ({"kind": "basic", "password": "p"}, {}, "errors.auth_username_required", "auth.username"),
        ({"kind": "basic", "username": "a:b", "password": "p"}, {}, "errors.auth_username_colon", "auth.username"),
        ({"kind": "basic", "username": "a"}, {}, "errors.auth_password_required", "auth.password"),
        ({"kind": "header", "credential": "k"}, {}, "errors.auth_scheme_required", "auth.scheme"),
        ({"kind": "header", "scheme": "Token abc", "credential": "k"}, {}, "errors.auth_scheme_invalid", "auth.scheme"),
        ({"kind": "header", "scheme": "Token"}, {}, "errors.auth_credential_required", "auth.credential"),
        (
            {"kind": "header", "scheme": "Token", "credential": "k\r\nX-Evil: 1"},
            {},
            "errors.auth_value_line_break",
            "auth.credential",
        ),
        (OAUTH, {}, "errors.auth_token_url_required", "auth.token_url"),
        ({**OAUTH, "issuer": "ftp://idp.example.com"}, {}, "errors.auth_url_invalid", "auth.issuer"),
        ({**OAUTH, "token_url": "/oauth/token"}, {}, "errors.auth_url_invalid", "auth.token_url"),
        (
            {**OAUTH, "token_url": "https://user:pw@idp.example.com/token"},
            {},
            "errors.auth_url_credentials",
            "auth.token_url",
        ),
        ({**OAUTH, "client_auth": "jwt", "token_url": "https://idp.example.com/t"}, {}, None, None),
        (LOGIN, {}, "errors.auth_login_url_required", "auth.login_url"),
        ({**LOGIN, "login_url": "erp.example.com/Login"}, {}, "errors.auth_url_invalid", "auth.login_url"),
        (
            {**LOGIN, "login_url": "https://erp.example.com/Login", "login_fields": {"UserName": "x"}},
            {},
            "errors.auth_login_field_reserved",
            "auth.login_fields.UserName",
        ),
        (
            {**LOGIN, "login_url": "https://erp.example.com/Login", "password_field": "UserName"},
            {},
            "errors.auth_field_names_same",
            "auth.password_field",
        ),
        (
            {**LOGIN, "login_url": "https://erp.example.com/Login", "session_idle_minutes": 0},
            {},
            "errors.out_of_range",
            "auth.session_idle_minutes",
        ),
        # The only URLs Atlas POSTs to may not be a data path or an action template's path.
        (
            {**OAUTH, "token_url": f"{BASE}/v1/purchase-orders"},
            {},
            "errors.auth_token_url_is_endpoint_path",
            "auth.token_url",
        ),
        (
            {**OAUTH, "token_url": "https://ERP.example.com/API/v1/Purchase-Orders/"},
            {},
            "errors.auth_token_url_is_endpoint_path",
            "auth.token_url",
        ),
        (
            {**OAUTH, "token_url": f"{BASE}/v1/locations/7/stock"},
            {},
            "errors.auth_token_url_is_endpoint_path",
            "auth.token_url",
        ),
        (
            {**LOGIN, "login_url": f"{BASE}/v1/items"},
            {},
            "errors.auth_login_url_is_endpoint_path",
            "auth.login_url",
        ),
        (
            {**LOGIN, "login_url": f"{BASE}/v1/transfers/A-1"},
            {
                "action_templates": {
                    "transfer": {"method": "POST", "path": "/v1/transfers/{item_external_id}", "body": {}}
                }
            },
            "errors.auth_login_url_is_action_path",
            "auth.login_url",
        ),
    ],
)
def test_bad_auth_settings_are_refused_with_the_field_named(atlas, auth, extra, code, field):
    admin, _ = atlas.new_tenant()
    response = admin.post("/api/connectors", json=body(BASE, auth, ENDPOINTS, **extra))
    assert response.status_code == 422, response.text
    problem = response.json()
    if code is not None:
        assert (problem["code"], problem["field"]) == (code, field)
        assert problem["detail"] and not problem["detail"].startswith("errors.")
    assert admin.get("/api/connectors").json() == []


def test_a_clash_made_by_changing_the_endpoints_is_refused_too(atlas):
    admin, _ = atlas.new_tenant()
    auth = {**OAUTH, "token_url": "https://erp.example.com/api/oauth/token"}
    created = admin.post("/api/connectors", json=body(BASE, auth, ENDPOINTS[:1]))
    assert created.status_code == 201, created.text
    moved = [{"key": "tokens", "resource": "items", "path": "/oauth/token/", "record_path": "$"}]
    response = admin.patch(f"/api/connectors/{created.json()['id']}", json={"endpoints": moved})
    assert response.status_code == 422, response.text
    assert (response.json()["code"], response.json()["field"]) == (
        "errors.auth_token_url_is_endpoint_path",
        "auth.token_url",
    )
    assert [e["path"] for e in admin.get(f"/api/connectors/{created.json()['id']}").json()["endpoints"]] == [
        "/v1/items"
    ]


def test_the_problem_detail_speaks_arabic_and_english(atlas):
    admin, _ = atlas.new_tenant()
    bad = body(BASE, {**OAUTH, "token_url": f"{BASE}/v1/purchase-orders"}, ENDPOINTS)
    admin.cookies.set("atlas_lang", "en")
    english = admin.post("/api/connectors", json=bad)
    admin.cookies.set("atlas_lang", "ar")
    arabic = admin.post("/api/connectors", json=bad)
    assert "The token URL is the path of the endpoint “orders”" in english.json()["detail"]
    assert "عنوان إصدار الرموز هو مسار نقطة النهاية «orders»" in arabic.json()["detail"]


def test_another_tenant_cannot_test_or_read_the_connector(atlas, inventree):
    admin_a, _ = atlas.new_tenant()
    admin_b, _ = atlas.new_tenant()
    auth = {"kind": "header", "scheme": "Token", "credential": tokens.INVENTREE_KEY}
    connector = admin_a.post("/api/connectors", json=inventree_body(inventree, auth)).json()
    assert admin_b.post(f"/api/connectors/{connector['id']}/test").status_code == 404
    assert admin_b.get(f"/api/connectors/{connector['id']}/health").status_code == 404
    assert admin_b.get(f"/api/connectors/{connector['id']}").status_code == 404


# --- the hint where mappings are previewed and syncs fail -----------------------------------------------------------

PARTS_MAPPING = {
    "record_path": "$",
    "fields": {"external_id": {"path": "$.pk"}, "sku": {"path": "$.pk"}, "name": {"path": "$.name"}},
}


def bearer_to_inventree(client: Any, server: tokens.TokenServer) -> str:
    auth = {"kind": "bearer", "token": tokens.INVENTREE_KEY}
    created = client.post("/api/connectors", json=inventree_body(server, auth))
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def test_a_mapping_preview_says_which_scheme_the_server_expects(atlas, inventree):
    admin, _ = atlas.new_tenant()
    connector_id = bearer_to_inventree(admin, inventree)
    admin.cookies.set("atlas_lang", "en")
    response = admin.post(
        "/api/mappings/preview",
        json={"connector_id": connector_id, "endpoint_key": "parts", "spec": PARTS_MAPPING, "limit": 5},
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "errors.preview_fetch_failed_hint"
    assert "The server asks for “Token”" in problem["detail"]
    assert problem["fetch"]["hint"] == "Token" and problem["fetch"]["status"] == 401


def test_a_failed_sync_keeps_the_hint_and_the_connector_page_shows_it(stack, inventree):
    admin, _ = stack.atlas.new_tenant()
    connector_id = bearer_to_inventree(admin, inventree)
    mapping = admin.post(
        "/api/mappings",
        json={"connector_id": connector_id, "endpoint_key": "parts", "spec": PARTS_MAPPING, "note": "parts"},
    )
    assert mapping.status_code == 201, mapping.text
    started = admin.post(f"/api/connectors/{connector_id}/sync")
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    deadline = time.monotonic() + 180
    run = admin.get(f"/api/syncs/{run_id}").json()
    while run["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.3)
        run = admin.get(f"/api/syncs/{run_id}").json()
    assert run["status"] == "failed", run
    assert (run["error"]["reason"], run["error"]["status"], run["error"]["hint"]) == ("unauthorized", 401, "Token")
    admin.cookies.set("atlas_lang", "en")
    html = html_page(admin, f"/app/connectors/{connector_id}").text
    assert 'data-testid="auth-hint" data-hint="Token"' in html
