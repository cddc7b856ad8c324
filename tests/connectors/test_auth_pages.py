"""The connector form's authentication section and the hint of a 401, over HTTP and in Chromium."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.browser_pages import signed_in_page
from tests.services import html_page as page
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


def create(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/connectors", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def sap_connector(server: sap.SapB1) -> dict[str, Any]:
    return {
        "name": f"SAP B1 {uuid.uuid4().hex[:6]}",
        "base_url": server.base,
        "auth": {
            "kind": "session_login",
            "login_url": f"{server.base}{sap.ROOT}/Login",
            "login_fields": {"CompanyDB": sap.COMPANY_DB},
            "username": sap.USER,
            "password": sap.PASSWORD,
        },
        "endpoints": [
            {"key": "warehouses", "resource": "locations", "path": f"{sap.ROOT}/Warehouses", "record_path": "$.value"}
        ],
    }


# --- HTTP -----------------------------------------------------------------------------------------------------------


def test_the_form_offers_every_kind_and_never_echoes_a_secret(atlas, sap_server):
    admin, _ = atlas.new_tenant()
    new = page(admin, "/app/connectors/new").text
    for kind in ("none", "api_key", "bearer", "basic", "header", "oauth2_client_credentials", "session_login"):
        assert f'<option value="{kind}"' in new
    for name in ("auth.username", "auth.password", "auth.scheme", "auth.credential", "auth.issuer", "auth.client_auth"):
        assert f'name="{name}"' in new
    assert 'name="auth.login_url"' in new and "data-login-field-template" in new

    connector = create(admin, sap_connector(sap_server))
    edit = page(admin, f"/app/connectors/{connector['id']}/edit").text
    assert sap.PASSWORD not in edit
    assert 'data-secret-set="true"' in edit  # the password input says one is saved and stays empty
    assert 'value="CompanyDB"' in edit and f'value="{sap.COMPANY_DB}"' in edit
    assert f'value="{sap_server.base}{sap.ROOT}/Login"' in edit

    detail = page(admin, f"/app/connectors/{connector['id']}", cookies={"atlas_lang": "en"}).text
    assert sap.PASSWORD not in detail
    assert f"{sap_server.base}{sap.ROOT}/Login" in detail and f"CompanyDB={sap.COMPANY_DB}" in detail
    assert 'data-testid="credential-state" data-set="true"' in detail
    assert "Session login (such as SAP Business One)" in detail


def test_the_detail_page_names_the_header_scheme_but_not_the_credential(atlas, inventree):
    admin, _ = atlas.new_tenant()
    connector = create(
        admin,
        {
            "name": f"InvenTree {uuid.uuid4().hex[:6]}",
            "base_url": inventree.base,
            "auth": {"kind": "header", "scheme": "Token", "credential": tokens.INVENTREE_KEY},
            "endpoints": [{"key": "parts", "resource": "items", "path": "/api/part/", "record_path": "$"}],
        },
    )
    detail = page(admin, f"/app/connectors/{connector['id']}").text
    assert "Authorization: Token ••••" in detail
    assert tokens.INVENTREE_KEY not in detail


# --- in the browser -------------------------------------------------------------------------------------------------


def signed_in(atlas: Any, browser: Any, client: httpx.Client) -> tuple[Any, Any]:
    return signed_in_page(browser, atlas.base_url, client, lang="en", locale="en-GB")


@pytest.mark.browser
def test_an_admin_sets_up_a_session_login_by_hand_tests_it_and_edits_it_without_the_password(
    atlas, browser, sap_server
):
    admin, me = atlas.new_tenant()
    context, tab = signed_in(atlas, browser, admin)
    tab.goto(f"{atlas.base_url}/app/connectors/new")
    tab.wait_for_selector("[data-connector-form][data-ready]")
    tab.fill("[name='name']", "SAP Business One")
    tab.fill("[name='base_url']", sap_server.base)
    tab.select_option("[name='auth.kind']", "session_login")
    assert tab.locator("[name='auth.login_url']").is_visible() and tab.locator("[name='auth.scheme']").is_hidden()
    assert tab.locator("[name='auth.password']").get_attribute("type") == "password"
    tab.fill("[name='auth.login_url']", f"{sap_server.base}{sap.ROOT}/Login")
    tab.get_by_test_id("add-login-field").click()
    tab.fill("[data-login-field-name]", "CompanyDB")
    tab.fill("[data-login-field-value]", sap.COMPANY_DB)
    tab.fill("[name='auth.username']", sap.USER)
    tab.fill("[name='auth.password']", sap.PASSWORD)
    tab.fill("[name='auth.session_idle_minutes']", "20")
    tab.select_option("[name='endpoints.0.resource']", "locations")
    tab.fill("[name='endpoints.0.path']", f"{sap.ROOT}/Warehouses")
    tab.fill("[name='endpoints.0.record_path']", "$.value")
    tab.get_by_test_id("connector-save").click()
    tab.wait_for_url(f"{atlas.base_url}/app/connectors/*-*")
    connector_id = tab.url.rsplit("/", 1)[-1]
    auth = admin.get(f"/api/connectors/{connector_id}").json()["auth"]
    assert auth["kind"] == "session_login" and auth["login_fields"] == {"CompanyDB": sap.COMPANY_DB}
    assert auth["username"] == sap.USER and auth["password"] == "••••" + sap.PASSWORD[-2:]
    assert auth["session_idle_minutes"] == 20 and auth["username_field"] == "UserName"

    tab.get_by_test_id("test-connection").click()
    tab.wait_for_function(
        "() => document.querySelectorAll(\"[data-testid='test-result']\").length === 1", timeout=60_000
    )
    assert tab.locator("[data-testid='test-result']").first.get_attribute("data-ok") == "true"

    # Edit: the password field is empty (saved, never shown); a change elsewhere keeps it.
    tab.get_by_test_id("edit-connector").click()
    tab.wait_for_selector("[data-connector-form][data-ready]")
    assert tab.input_value("[name='auth.password']") == ""
    assert tab.locator("[data-testid='secret-saved']").first.is_visible()
    tab.fill("[name='auth.session_idle_minutes']", "15")
    tab.get_by_test_id("connector-save").click()
    tab.wait_for_url(f"{atlas.base_url}/app/connectors/{connector_id}")
    assert admin.get(f"/api/connectors/{connector_id}").json()["auth"]["session_idle_minutes"] == 15
    tested = admin.post(f"/api/connectors/{connector_id}/test").json()
    assert tested["health_status"] == "healthy", tested
    assert sap.PASSWORD not in tab.content()
    kinds = [
        r[0]["kind"]
        for r in atlas.sql(
            "SELECT payload FROM audit_events WHERE tenant_id = %s AND event_type = 'declared_request_sent'",
            (me["tenant_id"],),
        )
    ]
    assert kinds == ["session_login", "session_login"]
    context.close()


@pytest.mark.browser
def test_a_bearer_sent_to_inventree_shows_what_the_server_expects_and_the_fix_works(atlas, browser, inventree):
    admin, _ = atlas.new_tenant()
    connector = create(
        admin,
        {
            "name": f"InvenTree {uuid.uuid4().hex[:6]}",
            "base_url": inventree.base,
            "auth": {"kind": "bearer", "token": tokens.INVENTREE_KEY},
            "endpoints": [{"key": "parts", "resource": "items", "path": "/api/part/", "record_path": "$"}],
        },
    )
    context, tab = signed_in(atlas, browser, admin)
    tab.goto(f"{atlas.base_url}/app/connectors/{connector['id']}")
    tab.get_by_test_id("test-connection").click()
    hint = tab.locator("[data-testid='test-result'] [data-testid='auth-hint']")
    hint.wait_for(state="visible", timeout=60_000)
    assert hint.get_attribute("data-hint") == "Token"
    assert "expects the “Token” scheme" in hint.inner_text()
    assert "Authorization header" in hint.inner_text()
    tab.get_by_test_id("lang-switch").click()
    tab.wait_for_function("() => document.documentElement.lang === 'ar'")
    assert "Token" in hint.inner_text() and "الخادم يتوقع" in hint.inner_text()
    tab.get_by_test_id("lang-switch").click()
    tab.wait_for_function("() => document.documentElement.lang === 'en'")

    # The fix the hint names: an Authorization header with the scheme Token.
    tab.get_by_test_id("edit-connector").click()
    tab.wait_for_selector("[data-connector-form][data-ready]")
    tab.select_option("[name='auth.kind']", "header")
    tab.fill("[name='auth.scheme']", "Token")
    tab.fill("[name='auth.credential']", tokens.INVENTREE_KEY)
    tab.get_by_test_id("connector-save").click()
    tab.wait_for_url(f"{atlas.base_url}/app/connectors/{connector['id']}")
    inventree.log.clear()
    tab.get_by_test_id("test-connection").click()
    tab.wait_for_selector("[data-testid='test-result'][data-ok='true']", timeout=60_000)
    assert inventree.authorizations() == [f"Token {tokens.INVENTREE_KEY}"]
    assert tab.locator("[data-testid='history-row'] [data-testid='auth-hint']").count() == 1  # the first test's
    assert tokens.INVENTREE_KEY not in tab.content()
    context.close()
