"""The discovery pages in Chromium: "Other REST API" from the base URL, the key and one click (Arabic, right to
left), and a connector's discovery applying one endpoint (English, left to right)."""

from __future__ import annotations

import re

import pytest

from atlas.mapping.demo_setup import DEMO_API_KEY, demo_connector_body
from tests.mapping.test_pages import signed_in_page
from tests.services import html_page


def test_the_other_rest_api_page_needs_a_manager(atlas):
    admin, _ = atlas.new_tenant()
    response = html_page(admin, "/app/connectors/new/other")
    assert response.status_code == 200
    assert "data-start-form" in response.text and 'dir="rtl"' in response.text
    viewer = atlas.token_client(admin, "viewer")
    assert html_page(viewer, "/app/connectors/new/other").status_code == 403


@pytest.mark.browser
def test_other_rest_api_discovers_the_demo_erp_and_applies_everything_in_one_click(atlas, browser, demo_erp_url):
    admin, _ = atlas.new_tenant()
    context, tab = signed_in_page(atlas, browser, admin)
    tab.goto(f"{atlas.base_url}/app/connectors/new/other")
    tab.wait_for_selector("[data-discover-page][data-ready]")
    assert tab.get_attribute("html", "dir") == "rtl"
    # Three entries: the base URL, the authentication kind, the key.
    tab.get_by_test_id("base-url").fill(demo_erp_url)
    tab.get_by_test_id("auth-kind").select_option("api_key")
    tab.get_by_test_id("secret").fill(DEMO_API_KEY)
    tab.get_by_test_id("discover-button").click()
    tab.wait_for_selector("[data-discover-page][data-discovered]", timeout=90_000)
    cards = tab.locator("[data-testid='discovered-resource']")
    assert cards.count() == 4
    assert {cards.nth(i).get_attribute("data-resource") for i in range(4)} == {
        "items",
        "locations",
        "stock_balances",
        "stock_movements",
    }
    items = tab.locator("[data-testid='discovered-resource'][data-resource='items']")
    assert "$.item_code" in items.inner_text() and "عالية" in items.inner_text()  # a high confidence, in Arabic
    assert items.locator("[data-verified='second_page']").count() == 1
    assert DEMO_API_KEY not in tab.content().replace(f'value="{DEMO_API_KEY}"', "")
    tab.get_by_test_id("apply-all").click()
    tab.wait_for_url(re.compile(r".*/app/connectors/[0-9a-f-]{36}$"), timeout=30_000)
    connector_id = tab.url.rsplit("/", 1)[1]
    mappings = admin.get("/api/mappings", params={"connector_id": connector_id}).json()
    assert {m["endpoint_key"] for m in mappings} == {"items", "locations", "stock", "movements"}
    context.close()


@pytest.mark.browser
def test_a_connectors_discovery_applies_one_endpoint_in_english(atlas, browser, demo_erp_url):
    admin, _ = atlas.new_tenant()
    body = demo_connector_body(demo_erp_url, name="One endpoint")
    body["endpoints"] = [{**body["endpoints"][0], "record_path": "$"}]
    connector = admin.post("/api/connectors", json=body).json()
    context, tab = signed_in_page(atlas, browser, admin)
    context.add_cookies([{"name": "atlas_lang", "value": "en", "url": atlas.base_url}])
    tab.goto(f"{atlas.base_url}/app/connectors/{connector['id']}/discover")
    tab.wait_for_selector("[data-discover-page][data-ready]")
    assert tab.get_attribute("html", "dir") == "ltr"
    tab.get_by_test_id("discover-button").click()
    tab.wait_for_selector("[data-discover-page][data-discovered]", timeout=90_000)
    items = tab.locator("[data-testid='discovered-resource'][data-endpoint-key='items']")
    assert "$.data" in items.inner_text() and "Verified by reading a second page" in items.inner_text()
    items.get_by_test_id("apply-one").click()
    tab.wait_for_selector("[data-discover-page][data-applied]", timeout=30_000)
    read = admin.get(f"/api/connectors/{connector['id']}").json()
    assert [(e["key"], e["record_path"]) for e in read["endpoints"]] == [("items", "$.data")]
    assert [m["endpoint_key"] for m in admin.get("/api/mappings", params={"connector_id": connector["id"]}).json()] == [
        "items"
    ]
    context.close()
