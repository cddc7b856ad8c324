"""The connector pages: the list, the new/edit form and the detail page, over HTTP and in Chromium."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests import browser_pages
from tests.connectors.oddapi import OddApi, odd_api
from tests.services import HTML, free_port, wait_until
from tests.services import html_page as page

SECRET = "PAGE-SECRET-value-7731"
CLIENT_SECRET = "oauth-CLIENT-secret-5519"
DETAIL_URL = re.compile(r".*/app/connectors/[0-9a-f-]{36}$")


@pytest.fixture(scope="module")
def api() -> Iterator[OddApi]:
    with odd_api() as server:
        yield server


def connector_body(api: OddApi, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": f"Warehouse ERP {uuid.uuid4().hex[:6]}",
        "base_url": api.base,
        "environment": "production",
        "auth": {"kind": "api_key", "key_name": "X-API-Key", "api_key": SECRET},
        "endpoints": [
            {"key": "items", "resource": "items", "path": "/auth/header", "record_path": "$.items"},
            {
                "key": "locations",
                "resource": "locations",
                "path": "/offset",
                "record_path": "$.results",
                "pagination": {"kind": "offset", "page_size": 50, "total_path": "$.total"},
            },
        ],
    }
    body.update(overrides)
    return body


def create(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/connectors", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


# --- HTTP ------------------------------------------------------------------------------------------


def test_every_page_renders_in_arabic_without_a_secret(atlas, api):
    admin, _ = atlas.new_tenant()
    connector = create(admin, connector_body(api))
    oauth = create(
        admin,
        connector_body(
            api,
            name=f"OAuth ERP {uuid.uuid4().hex[:6]}",
            auth={
                "kind": "oauth2_client_credentials",
                "token_url": f"{api.base}/oauth/token",
                "client_id": "atlas-client",
                "client_secret": CLIENT_SECRET,
                "scopes": "inventory.read",
            },
        ),
    )
    assert admin.post(f"/api/connectors/{connector['id']}/test").status_code == 200
    paths = [
        "/app/connectors",
        "/app/connectors/new",
        f"/app/connectors/{connector['id']}",
        f"/app/connectors/{connector['id']}/edit",
        f"/app/connectors/{oauth['id']}",
        f"/app/connectors/{oauth['id']}/edit",
    ]
    for path in paths:
        response = page(admin, path)
        assert response.status_code == 200, (path, response.text[:500])
        assert response.headers["content-type"].startswith("text/html")
        html = response.text
        assert 'dir="rtl"' in html and 'lang="ar"' in html, path
        assert SECRET not in html and CLIENT_SECRET not in html, path
        assert SECRET[-6:] not in html and CLIENT_SECRET[-6:] not in html, path
        assert 'href="/app/connectors"' in html  # the navigation link
        if path != "/app/connectors/new":
            assert oauth["name"] in html or connector["name"] in html, path

    listing = page(admin, "/app/connectors").text
    assert connector["name"] in listing and oauth["name"] in listing
    assert 'data-testid="new-connector"' in listing
    # The API-key connector was tested (its key is not the server's: items fail, locations work).
    assert 'data-health="degraded"' in listing and 'data-health="unknown"' in listing
    assert 'data-env="production"' in listing

    detail = page(admin, f"/app/connectors/{connector['id']}").text
    for testid in ("test-connection", "edit-connector", "delete-connector", "endpoints-table", "test-results"):
        assert f'data-testid="{testid}"' in detail, testid
    assert 'data-testid="credential-state" data-set="true"' in detail
    assert detail.count('data-testid="test-result"') == 2
    assert 'data-endpoint="items" data-ok="false"' in detail and 'data-endpoint="locations" data-ok="true"' in detail
    assert "رُفضت المصادقة (401)" in detail and "bad key" in detail  # the reason, in Arabic, and the detail
    assert 'data-testid="history-row"' in detail
    assert "/auth/header" in detail and "$.results" in detail

    form = page(admin, f"/app/connectors/{oauth['id']}/edit").text
    assert 'data-testid="connector-form"' in form and 'data-mode="edit"' in form
    for name in ("name", "base_url", "environment", "auth.kind", "auth.client_secret", "auth.token_url"):
        assert f'name="{name}"' in form, name
    assert 'type="password" name="auth.client_secret"' in form
    assert 'data-secret-set="true"' in form and 'data-testid="secret-saved"' in form
    assert '"client_secret": true' in form or '"client_secret":true' in form  # only whether it is set
    assert 'data-testid="demo-preset"' not in form  # the preset is for new connectors

    new = page(admin, "/app/connectors/new").text
    for testid in ("connector-form", "add-endpoint", "connector-save", "demo-preset"):
        assert f'data-testid="{testid}"' in new, testid
    assert 'name="endpoints.0.pagination.kind"' in new  # the endpoint group's template

    english = page(admin, f"/app/connectors/{connector['id']}", cookies={"atlas_lang": "en"}).text
    assert 'dir="ltr"' in english and "Test connection" in english and SECRET not in english


def test_the_empty_state_explains_connectors(atlas):
    admin, _ = atlas.new_tenant()
    html = page(admin, "/app/connectors").text
    assert 'data-testid="connectors-empty"' in html
    assert "REST" in html and 'href="/app/connectors/new"' in html
    viewer, _ = atlas.member_client(admin, "viewer")
    html = page(viewer, "/app/connectors").text
    assert 'data-testid="connectors-empty"' in html and 'href="/app/connectors/new"' not in html


def test_viewers_and_operators_read_but_see_no_admin_buttons(atlas, api):
    admin, _ = atlas.new_tenant()
    connector = create(admin, connector_body(api))
    for role in ("viewer", "operator"):
        client, _ = atlas.member_client(admin, role)
        listing = page(client, "/app/connectors")
        assert listing.status_code == 200 and connector["name"] in listing.text
        assert 'data-testid="new-connector"' not in listing.text
        assert 'href="/app/connectors"' in listing.text  # the navigation link is for everyone
        detail = page(client, f"/app/connectors/{connector['id']}")
        assert detail.status_code == 200 and connector["name"] in detail.text
        for testid in ("test-connection", "edit-connector", "delete-connector"):
            assert f'data-testid="{testid}"' not in detail.text, (role, testid)
        assert 'data-testid="connectors-read-only"' in detail.text
        assert SECRET not in detail.text
        for path in ("/app/connectors/new", f"/app/connectors/{connector['id']}/edit"):
            response = page(client, path)
            assert response.status_code == 403, (role, path, response.status_code)
            assert SECRET not in response.text


def test_another_tenants_connector_is_not_found(atlas, api):
    admin, _ = atlas.new_tenant()
    connector = create(admin, connector_body(api))
    other, _ = atlas.new_tenant()
    for path in (f"/app/connectors/{connector['id']}", f"/app/connectors/{connector['id']}/edit"):
        response = page(other, path)
        assert response.status_code == 404, (path, response.status_code)
        assert connector["name"] not in response.text and SECRET not in response.text
    assert connector["name"] not in page(other, "/app/connectors").text
    assert page(admin, f"/app/connectors/{uuid.uuid4()}").status_code == 404


def test_pages_need_a_session(atlas):
    anonymous = atlas.client()
    response = anonymous.get("/app/connectors", headers=HTML)
    assert response.status_code in (302, 303, 307)
    assert response.headers["location"].startswith("/signin")


# --- Chromium --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_erp() -> Iterator[str]:
    """The demo ERP (atlas.connectors.demo_erp) under uvicorn on a free port, in a background thread."""
    app_module = pytest.importorskip("atlas.connectors.demo_erp.app")
    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        app_module.create_app(), host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, what="demo ERP")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def signed_in_page(atlas: Any, browser: Any, client: httpx.Client) -> tuple[Any, Any]:
    return browser_pages.signed_in_page(browser, atlas.base_url, client, locale="ar-SA")


@pytest.mark.browser
def test_admin_fills_in_the_demo_erp_saves_and_tests_every_endpoint(atlas, browser, demo_erp):
    admin, _ = atlas.new_tenant()
    context, tab = signed_in_page(atlas, browser, admin)
    tab.goto(f"{atlas.base_url}/app/connectors")
    tab.get_by_test_id("new-connector").click()
    tab.wait_for_url(f"{atlas.base_url}/app/connectors/connect")
    tab.get_by_test_id("manual-connector").click()  # the systems Atlas knows come first; this is by hand
    tab.wait_for_url(f"{atlas.base_url}/app/connectors/new")
    assert tab.get_attribute("html", "dir") == "rtl"
    tab.wait_for_selector("[data-connector-form][data-ready]")

    tab.get_by_test_id("demo-preset").click()
    assert tab.input_value("[name='base_url']") == "http://127.0.0.1:3001"
    assert tab.input_value("[name='auth.kind']") == "api_key"
    assert tab.input_value("[name='auth.api_key']") == "DEMO-API-KEY-2024"
    assert tab.locator("[data-endpoint]").count() == 4
    assert tab.input_value("[name='endpoints.3.pagination.cursor_source']") == "link_header"
    assert tab.locator("[name='endpoints.3.time_window.enabled']").is_checked()
    assert tab.locator("[name='auth.token']").is_hidden()  # only the chosen kind's fields
    tab.fill("[name='base_url']", demo_erp)  # this test's demo ERP listens on a free port
    tab.get_by_test_id("connector-save").click()
    tab.wait_for_url(DETAIL_URL)

    tab.evaluate("window.__noReload = 'still-here'")
    tab.get_by_test_id("test-connection").click()
    results = tab.locator("[data-testid='test-result']")
    results.first.wait_for(state="visible", timeout=60_000)
    tab.wait_for_function(
        "() => document.querySelectorAll(\"[data-testid='test-result']\").length === 4", timeout=60_000
    )
    rows = results.all()
    assert sorted(r.get_attribute("data-endpoint") for r in rows) == [
        "items",
        "locations",
        "stock_balances",
        "stock_movements",
    ]
    for row in rows:
        assert row.get_attribute("data-ok") == "true", row.inner_text()
        assert "200" in row.inner_text()
    assert tab.locator("[data-testid='health-badge'][data-health='healthy']").first.is_visible()
    assert tab.locator("[data-testid='history-row']").count() == 4
    assert tab.evaluate("window.__noReload") == "still-here"
    assert "DEMO-API-KEY-2024" not in tab.content()

    # English without a reload: server-rendered and script-written labels both change.
    button_ar = tab.get_by_test_id("test-connection").inner_text()
    result_ar = results.first.locator("[data-result]").inner_text()
    tab.get_by_test_id("lang-switch").click()
    tab.wait_for_function("() => document.documentElement.lang === 'en'")
    assert tab.get_attribute("html", "dir") == "ltr"
    assert tab.evaluate("window.__noReload") == "still-here"
    assert tab.get_by_test_id("test-connection").inner_text().strip() == "Test connection" != button_ar.strip()
    assert results.first.locator("[data-result]").inner_text().strip() == "OK" != result_ar.strip()
    context.close()


@pytest.mark.browser
def test_admin_fills_the_form_by_hand_sees_field_errors_and_edits_without_retyping_the_key(atlas, browser, api):
    admin, _ = atlas.new_tenant()
    context, tab = signed_in_page(atlas, browser, admin)
    tab.goto(f"{atlas.base_url}/app/connectors/new")
    tab.wait_for_selector("[data-connector-form][data-ready]")

    # Switch to English first: the help text and the endpoint copies made afterwards follow.
    label_ar = tab.locator("label[for='cf-base_url']").inner_text()
    tab.get_by_test_id("lang-switch").click()
    tab.wait_for_function("() => document.documentElement.lang === 'en'")
    assert tab.locator("label[for='cf-base_url']").inner_text().strip() == "Base URL" != label_ar.strip()

    tab.fill("[name='name']", "Hand-made ERP")
    tab.fill("[name='base_url']", api.base)
    tab.select_option("[name='environment']", "production")
    tab.select_option("[name='auth.kind']", "api_key")
    assert tab.locator("[name='auth.api_key']").get_attribute("type") == "password"
    assert tab.locator("[name='auth.api_key']").get_attribute("autocomplete") == "off"
    tab.select_option("[name='auth.key_location']", "header")
    tab.fill("[name='auth.key_name']", "X-API-Key")
    tab.fill("[name='auth.api_key']", "k-123")

    tab.select_option("[name='endpoints.0.resource']", "items")
    assert tab.input_value("[name='endpoints.0.key']") == "items"
    tab.fill("[name='endpoints.0.path']", "/auth/header")
    tab.fill("[name='endpoints.0.record_path']", "$[")  # a broken JSONPath first
    tab.get_by_test_id("add-endpoint").click()
    assert tab.locator("[data-endpoint]").count() == 2
    # the copy was made after the switch: it is in English too
    assert "Remove endpoint" in tab.locator("[data-endpoint]").nth(1).get_by_test_id("remove-endpoint").inner_text()
    tab.select_option("[name='endpoints.1.resource']", "locations")
    assert tab.input_value("[name='endpoints.1.key']") == "locations"
    tab.fill("[name='endpoints.1.path']", "/offset")
    tab.fill("[name='endpoints.1.record_path']", "$.results")
    tab.select_option("[name='endpoints.1.pagination.kind']", "offset")
    assert tab.locator("[name='endpoints.1.pagination.offset_param']").is_visible()
    assert tab.locator("[name='endpoints.1.pagination.cursor_path']").is_hidden()
    tab.fill("[name='endpoints.1.pagination.page_size']", "50")
    tab.fill("[name='endpoints.1.pagination.total_path']", "$.total")
    tab.locator("[data-endpoint]").nth(1).get_by_test_id("add-param").click()
    tab.fill("[name='endpoints.1.params.0.key']", "status")
    tab.fill("[name='endpoints.1.params.0.value']", "active")

    tab.get_by_test_id("connector-save").click()
    error = tab.locator(".field:has([name='endpoints.0.record_path']) .field-error")
    error.first.wait_for(state="visible")
    assert "JSONPath" in error.first.inner_text()
    assert tab.get_attribute("[name='endpoints.0.record_path']", "aria-invalid") == "true"
    assert tab.url.endswith("/app/connectors/new")

    tab.fill("[name='endpoints.0.record_path']", "$.items")
    tab.get_by_test_id("connector-save").click()
    tab.wait_for_url(DETAIL_URL)
    connector_id = tab.url.rsplit("/", 1)[-1]
    saved = admin.get(f"/api/connectors/{connector_id}").json()
    assert saved["name"] == "Hand-made ERP" and saved["environment"] == "production"
    assert saved["auth"]["kind"] == "api_key" and saved["auth"]["api_key"]  # masked, but set
    locations = saved["endpoints"][1]
    assert locations["params"] == {"status": "active"}
    assert locations["pagination"]["kind"] == "offset" and locations["pagination"]["page_size"] == 50

    # Edit: change the name only; the stored key is kept because the empty secret is not sent.
    tab.get_by_test_id("edit-connector").click()
    tab.wait_for_url(f"{atlas.base_url}/app/connectors/{connector_id}/edit")
    tab.wait_for_selector("[data-connector-form][data-ready]")
    assert tab.input_value("[name='auth.api_key']") == ""
    assert tab.input_value("[name='endpoints.1.pagination.total_path']") == "$.total"
    assert tab.input_value("[name='endpoints.1.params.0.value']") == "active"
    tab.fill("[name='name']", "Hand-made ERP (renamed)")
    tab.get_by_test_id("connector-save").click()
    tab.wait_for_url(f"{atlas.base_url}/app/connectors/{connector_id}")
    assert "Hand-made ERP (renamed)" in tab.get_by_test_id("connector-name").inner_text()

    tab.get_by_test_id("test-connection").click()
    tab.wait_for_function(
        "() => document.querySelectorAll(\"[data-testid='test-result']\").length === 2", timeout=60_000
    )
    for row in tab.locator("[data-testid='test-result']").all():
        assert row.get_attribute("data-ok") == "true", row.inner_text()
    assert "k-123" not in tab.content()
    context.close()


@pytest.mark.browser
def test_admin_sets_how_runs_are_judged_and_a_static_header(atlas, browser, api):
    """The advanced part of the form: the two shares a run is judged by, typed as percents, and a static header;
    a reserved header is refused next to the headers, in the person's language."""
    admin, _ = atlas.new_tenant()
    created = create(admin, connector_body(api))
    context, tab = signed_in_page(atlas, browser, admin)
    tab.goto(f"{atlas.base_url}/app/connectors/{created['id']}/edit")
    tab.wait_for_selector("[data-connector-form][data-ready]")
    tab.locator("[data-advanced] > summary").click()
    assert tab.input_value("[name='max_set_aside_share']") == "5"
    assert tab.input_value("[name='max_vanished_share']") == "20"
    tab.fill("[name='max_set_aside_share']", "12.5")
    tab.fill("[name='max_vanished_share']", "35")
    tab.get_by_test_id("add-header").click()
    tab.locator("[data-header-name]").last.fill("Authorization")
    tab.locator("[data-header-value]").last.fill("Bearer nope")
    tab.get_by_test_id("connector-save").click()
    error = tab.locator("[data-field-error-for='headers']")
    error.wait_for(state="visible")
    assert "Authorization" in error.inner_text()
    tab.locator("[data-header-name]").last.fill("X-Odoo-Database")
    tab.locator("[data-header-value]").last.fill("prod")
    tab.get_by_test_id("connector-save").click()
    tab.wait_for_url(f"{atlas.base_url}/app/connectors/{created['id']}")
    saved = admin.get(f"/api/connectors/{created['id']}").json()
    assert (saved["max_set_aside_share"], saved["max_vanished_share"]) == (0.125, 0.35)
    assert saved["headers"] == {"X-Odoo-Database": "prod"}
    tab.goto(f"{atlas.base_url}/app/connectors/{created['id']}/edit")
    tab.wait_for_selector("[data-connector-form][data-ready]")
    assert tab.input_value("[name='max_set_aside_share']") == "12.5"
    assert tab.locator("[data-header-value]").first.input_value() == "prod"
    context.close()


def test_static_headers_and_shares_are_checked(atlas, api):
    admin, _ = atlas.new_tenant()
    for body, field in (
        ({"headers": {"Cookie": "x"}}, "headers.Cookie"),
        ({"headers": {"Bad Name": "x"}}, "headers.Bad Name"),
        ({"headers": {"X-Ok": "a\r\nInjected: 1"}}, "headers.X-Ok"),
        ({"max_set_aside_share": 1.5}, "max_set_aside_share"),
        ({"max_vanished_share": -0.1}, "max_vanished_share"),
    ):
        response = admin.post("/api/connectors", json=connector_body(api, **body))
        assert response.status_code == 422, (body, response.text)
        assert response.json()["field"] == field, response.json()
    created = create(admin, connector_body(api, headers={"X-Odoo-Database": "prod"}))
    assert created["headers"] == {"X-Odoo-Database": "prod"}
    assert admin.patch(f"/api/connectors/{created['id']}", json={"headers": {}}).json()["headers"] == {}
