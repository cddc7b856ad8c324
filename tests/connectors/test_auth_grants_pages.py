"""The connector form and detail page for the refresh-token (Zoho) and password (Daftra) grants, over HTTP and in
Chromium: every field offered, nothing secret ever echoed, a connector set up by hand that works, and an edit that
keeps the stored secrets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.browser_pages import signed_in_page
from tests.services import html_page as page
from tests.sims import daftra, zoho
from tests.sims.daftra_model import DaftraData
from tests.sims.zoho_model import ZohoData


@pytest.fixture(scope="module")
def zoho_sim() -> Iterator[zoho.ZohoServers]:
    with zoho.zoho_servers(ZohoData(seed=12, items=60, adjustments=1)) as sim:
        yield sim


@pytest.fixture(scope="module")
def daftra_sim() -> Iterator[daftra.DaftraSite]:
    with daftra.daftra_site(DaftraData(seed=12, products=30, transactions=2)) as site:
        yield site


def daftra_body(site: daftra.DaftraSite) -> dict[str, Any]:
    return {
        "name": "Daftra",
        "base_url": site.base,
        "auth": {
            "kind": "oauth2_password",
            "token_url": site.token_url,
            "client_id": daftra.CLIENT_ID,
            "client_secret": daftra.CLIENT_SECRET,
            "username": daftra.USERNAME,
            "password": daftra.PASSWORD,
        },
        "endpoints": [{"key": "products", "resource": "items", "path": "/api2/products", "record_path": "$.data"}],
    }


def test_the_form_offers_both_grants_and_the_pages_never_echo_a_secret(
    atlas: Any, daftra_sim: daftra.DaftraSite
) -> None:
    admin, _ = atlas.new_tenant()
    new = page(admin, "/app/connectors/new").text
    for kind in ("oauth2_refresh_token", "oauth2_password"):
        assert f'<option value="{kind}"' in new
    for name in ("auth.refresh_token", "auth.token_scheme", "auth.username", "auth.password", "auth.token_url"):
        assert f'name="{name}"' in new
    created = admin.post("/api/connectors", json=daftra_body(daftra_sim))
    assert created.status_code == 201, created.text
    connector_id = created.json()["id"]
    edit = page(admin, f"/app/connectors/{connector_id}/edit").text
    assert daftra.PASSWORD not in edit and daftra.CLIENT_SECRET not in edit
    assert f'value="{daftra.USERNAME}"' in edit and f'value="{daftra_sim.token_url}"' in edit
    detail = page(admin, f"/app/connectors/{connector_id}", cookies={"atlas_lang": "en"}).text
    assert daftra.PASSWORD not in detail and daftra.CLIENT_SECRET not in detail
    assert "OAuth2 user name and password (such as Daftra)" in detail
    assert "Authorization: Bearer ••••" in detail and daftra.USERNAME in detail
    assert 'data-testid="credential-state" data-set="true"' in detail


# --- in the browser -------------------------------------------------------------------------------------------------


def signed_in(atlas: Any, browser: Any, client: httpx.Client) -> tuple[Any, Any]:
    return signed_in_page(browser, atlas.base_url, client, lang="en", locale="en-GB")


@pytest.mark.browser
def test_an_admin_sets_up_zoho_by_hand_tests_it_and_edits_it_without_the_refresh_token(
    atlas: Any, browser: Any, zoho_sim: zoho.ZohoServers
) -> None:
    admin, me = atlas.new_tenant()
    context, tab = signed_in(atlas, browser, admin)
    tab.goto(f"{atlas.base_url}/app/connectors/new")
    tab.wait_for_selector("[data-connector-form][data-ready]")
    tab.fill("[name='name']", "Zoho Inventory")
    tab.fill("[name='base_url']", zoho_sim.api + zoho.ROOT)
    tab.select_option("[name='auth.kind']", "oauth2_refresh_token")
    assert tab.locator("[name='auth.refresh_token']").is_visible()
    assert tab.locator("[name='auth.password']").is_hidden() and tab.locator("[name='auth.scheme']").is_hidden()
    assert tab.locator("[name='auth.refresh_token']").get_attribute("type") == "password"
    tab.fill("[name='auth.token_url']", zoho_sim.token_url)
    tab.fill("[name='auth.client_id']", zoho.CLIENT_ID)
    tab.fill("[name='auth.client_secret']", zoho.CLIENT_SECRET)
    tab.fill("[name='auth.refresh_token']", zoho.REFRESH_TOKEN)
    tab.fill("[name='auth.token_scheme']", "Zoho-oauthtoken")
    tab.fill("[name='endpoints.0.path']", "/items")
    tab.fill("[name='endpoints.0.record_path']", "$.items")
    tab.locator("[data-endpoint]").nth(0).get_by_test_id("add-param").click()
    tab.fill("[name='endpoints.0.params.0.key']", "organization_id")  # on every Zoho request
    tab.fill("[name='endpoints.0.params.0.value']", zoho_sim.data.organization_id)
    tab.get_by_test_id("connector-save").click()
    tab.wait_for_url(f"{atlas.base_url}/app/connectors/*-*")
    connector_id = tab.url.rsplit("/", 1)[-1]
    auth = admin.get(f"/api/connectors/{connector_id}").json()["auth"]
    assert (auth["kind"], auth["scheme"], auth["client_id"]) == (
        "oauth2_refresh_token",
        "Zoho-oauthtoken",
        zoho.CLIENT_ID,
    )
    assert auth["refresh_token"] == "••••" + zoho.REFRESH_TOKEN[-2:]

    tab.get_by_test_id("test-connection").click()
    tab.wait_for_function(
        "() => document.querySelectorAll(\"[data-testid='test-result']\").length === 1", timeout=60_000
    )
    assert tab.locator("[data-testid='test-result']").first.get_attribute("data-ok") == "true"

    # Edit: the secrets stay empty (saved, never shown); a change elsewhere keeps them.
    tab.get_by_test_id("edit-connector").click()
    tab.wait_for_selector("[data-connector-form][data-ready]")
    assert tab.input_value("[name='auth.refresh_token']") == "" and tab.input_value("[name='auth.client_secret']") == ""
    assert tab.input_value("[name='auth.token_scheme']") == "Zoho-oauthtoken"
    tab.fill("[name='name']", "Zoho Inventory (Riyadh)")
    tab.get_by_test_id("connector-save").click()
    tab.wait_for_url(f"{atlas.base_url}/app/connectors/{connector_id}")
    after = admin.get(f"/api/connectors/{connector_id}").json()
    assert after["name"] == "Zoho Inventory (Riyadh)" and after["auth"]["refresh_token"] == auth["refresh_token"]
    assert admin.post(f"/api/connectors/{connector_id}/test").json()["health_status"] == "healthy"
    assert zoho.REFRESH_TOKEN not in tab.content() and zoho.CLIENT_SECRET not in tab.content()
    sent = atlas.sql(
        "SELECT payload FROM audit_events WHERE tenant_id = %s AND event_type = 'declared_request_sent'",
        (me["tenant_id"],),
    )
    assert {row[0]["kind"] for row in sent} == {"token_request"}
    context.close()
