"""Issue 19 in Chromium, Arabic and English, at 1366×900 and on a 390×844 phone: a count on a page agrees with its
noun (0, 1, 2, 3, 11 and 100 days, as CLDR's rules give each language), the language switch swaps the counted
phrase for the other language's form, and the policies page shows money with thousands separators."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from atlas.mapping.demo_setup import demo_connector_body
from tests.browser_pages import signed_in_page

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("ATLAS_SCREENSHOTS")  # a folder: save screenshots there while developing
VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
# A connector endpoint's time window: window_hours → days shown ("every N days", connectors/detail.html).
WINDOWS = {"w0": (0.001, 0), "w1": (24, 1), "w2": (48, 2), "w3": (72, 3), "w11": (264, 11), "w100": (2400, 100)}
EXPECTED = {
    "ar": {0: "كل 0 يوم", 1: "كل 1 يوم", 2: "كل يومين", 3: "كل 3 أيام", 11: "كل 11 يوماً", 100: "كل 100 يوم"},
    "en": {
        0: "every 0 days",
        1: "every 1 day",
        2: "every 2 days",
        3: "every 3 days",
        11: "every 11 days",
        100: "every 100 days",
    },
}


def shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def signed_in(atlas, browser, client, lang: str, viewport: dict[str, int]):
    return signed_in_page(browser, atlas.base_url, client, lang=lang, viewport=viewport)


def connector_with_windows(atlas, admin) -> str:
    body = demo_connector_body("http://127.0.0.1:9", name="Windows ERP")
    template = body["endpoints"][0]
    body["endpoints"] = [{**template, "key": key, "path": f"/api/v1/{key}"} for key in WINDOWS]
    response = admin.post("/api/connectors", json=body)
    assert response.status_code == 201, response.text
    connector_id = response.json()["id"]
    for key, (hours, _) in WINDOWS.items():
        window = {"start_param": "from", "end_param": "to", "window_hours": hours, "lookback_days": 180}
        atlas.sql(
            "UPDATE connector_endpoints SET time_window = %s::jsonb WHERE connector_id = %s AND key = %s",
            (json.dumps({**window, "format": "iso"}), connector_id, key),
        )
    return connector_id


def window_texts(page) -> list[str]:
    return page.eval_on_selector_all(
        '[data-i18n-plural="connectors.detail.endpoints.window_days"]', "els => els.map(e => e.textContent.trim())"
    )


def test_counted_days_agree_with_their_number_in_both_languages(atlas, browser):
    admin, _ = atlas.new_tenant()
    connector_id = connector_with_windows(atlas, admin)
    for lang in ("ar", "en"):
        other = "en" if lang == "ar" else "ar"
        for size, viewport in VIEWPORTS.items():
            context, page = signed_in(atlas, browser, admin, lang, viewport)
            page.goto(f"{atlas.base_url}/app/connectors/{connector_id}")
            assert page.get_attribute("html", "dir") == ("rtl" if lang == "ar" else "ltr")
            assert window_texts(page) == [EXPECTED[lang][days] for _, days in WINDOWS.values()]
            shot(page, f"plural-days-{lang}-{size}")
            # the language switch shows the other language's forms, chosen on the server by CLDR's rules
            page.get_by_test_id("lang-switch").click()
            page.wait_for_function(f"() => document.documentElement.lang === '{other}'")
            assert window_texts(page) == [EXPECTED[other][days] for _, days in WINDOWS.values()]
            context.close()


def test_policies_page_money_in_both_languages(atlas, browser):
    admin, _ = atlas.new_tenant()
    for lang in ("ar", "en"):
        for size, viewport in VIEWPORTS.items():
            context, page = signed_in(atlas, browser, admin, lang, viewport)
            page.goto(f"{atlas.base_url}/app/policies")
            shown = page.get_by_test_id("policy-max-value-shown")
            assert shown.is_visible()
            text = shown.inner_text()
            assert "250,000.00" in text and ("ر.س" if lang == "ar" else "SAR") in text
            shot(page, f"policies-money-{lang}-{size}")
            context.close()


def test_the_admin_chooses_the_time_zone_on_the_team_page(atlas, browser):
    admin, me = atlas.new_tenant()
    for lang, zone in (("ar", "Asia/Dubai"), ("en", "Europe/London")):
        for size, viewport in VIEWPORTS.items():
            context, page = signed_in(atlas, browser, admin, lang, viewport)
            page.goto(f"{atlas.base_url}/app/team")
            select = page.get_by_test_id("tenant-time-zone")
            assert select.is_visible() and select.is_enabled()
            with page.expect_response(lambda r: r.url.endswith("/api/tenant/settings") and r.status == 200):
                select.select_option(zone)
            page.wait_for_load_state()
            page.get_by_test_id("tenant-time-zone").wait_for(state="visible")
            assert page.get_by_test_id("tenant-time-zone").input_value() == zone
            shot(page, f"team-time-zone-{lang}-{size}")
            page.goto(f"{atlas.base_url}/app/audit")
            assert page.locator(f'time.local-time[title="{zone}"]').count() > 0
            assert page.get_by_test_id("hijri-date").first.is_visible()
            shot(page, f"audit-hijri-{lang}-{size}")
            context.close()
            assert atlas.sql("SELECT time_zone FROM tenants WHERE id = %s", (me["tenant_id"],)) == [(zone,)]
