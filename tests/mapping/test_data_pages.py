"""The data pages: the inventory browser, the quarantine list and the connector's syncs card.

Over HTTP against a tenant synced from the demo ERP (with adjustments left out of the
movement-kind lookup, so some records land in quarantine), and once in Chromium.
"""

from __future__ import annotations

import copy
import html
import re
import uuid
from typing import Any

import pytest

from atlas.mapping.demo_setup import DEMO_MAPPINGS
from tests.browser_pages import signed_in_page
from tests.mapping.test_sync import setup_connector, sync
from tests.services import HTML

ROW = re.compile(r'<tr data-testid="inventory-row"([^>]*)>')


def get(client: Any, path: str, **kwargs: Any) -> Any:
    return client.get(path, headers=HTML, **kwargs)


def rows(page_html: str, attribute: str = "data-sku") -> list[str]:
    """The value of ``attribute`` on every inventory row, in order."""
    values = []
    for attrs in ROW.findall(page_html):
        found = re.search(rf'{attribute}="([^"]*)"', attrs)
        values.append(html.unescape(found.group(1)) if found else "")
    return values


def total(page_html: str) -> int:
    found = re.search(r'data-testid="range-of" data-total="(\d+)"', page_html)
    assert found, "no total on the page"
    return int(found.group(1))


@pytest.fixture(scope="module")
def synced(stack, demo_erp_url):
    """A tenant with the demo ERP synced; adjustments are not in the kind lookup, so they are quarantined."""
    admin, me = stack.atlas.new_tenant()
    broken = copy.deepcopy(DEMO_MAPPINGS)
    table = dict(broken["movements"]["fields"]["kind"]["transforms"][0]["table"])
    del table["ADJUSTMENT"]
    broken["movements"]["fields"]["kind"]["transforms"][0]["table"] = table
    connector_id = setup_connector(admin, demo_erp_url, broken)
    run = sync(admin, connector_id)
    assert run["status"] == "succeeded", run
    assert run["stats"]["stock_movements"]["quarantined"] > 0
    return admin, me, connector_id, run


# --- the inventory browser -------------------------------------------------------------------------


def test_every_tab_renders_the_synced_data_in_arabic(synced, stack):
    admin, me, _, _ = synced
    db = stack.atlas
    tenant = me["tenant_id"]
    counts = {
        "items": db.sql("SELECT count(*) FROM items WHERE tenant_id = %s", (tenant,))[0][0],
        "locations": db.sql("SELECT count(*) FROM locations WHERE tenant_id = %s", (tenant,))[0][0],
        "balances": db.sql("SELECT count(*) FROM stock_balances WHERE tenant_id = %s", (tenant,))[0][0],
        "movements": db.sql("SELECT count(*) FROM stock_movements WHERE tenant_id = %s", (tenant,))[0][0],
    }
    for tab, expected in counts.items():
        response = get(admin, f"/app/inventory?tab={tab}")
        assert response.status_code == 200, (tab, response.text[:300])
        page = response.text
        assert 'lang="ar"' in page and 'dir="rtl"' in page
        assert 'href="/app/inventory"' in page and "المخزون" in page  # the navigation link
        for testid in ("inventory-tabs", "inventory-table", "inventory-row"):
            assert f'data-testid="{testid}"' in page, (tab, testid)
        assert f'data-testid="inventory-table" data-tab="{tab}"' in page
        assert total(page) == expected, tab
        assert len(rows(page)) == min(expected, 50), tab
        assert 'data-testid="inventory-search"' in page, tab
    items = get(admin, "/app/inventory").text  # items is the default tab
    assert rows(items)[0] == "SKU-0001" and 'data-tab="items" aria-current="page"' in items
    assert "/app/inventory?tab=balances&amp;item_id=" in items  # items link to their balances
    balances = get(admin, "/app/inventory?tab=balances").text
    assert "/app/inventory?tab=movements&amp;item_id=" in balances  # balances link to the movements
    movements = get(admin, "/app/inventory?tab=movements").text
    assert "بيع" in movements and "\u2212" in movements  # kinds translated, sales carry their minus sign
    english = get(admin, "/app/inventory?tab=movements", cookies={"atlas_lang": "en"}).text
    assert 'dir="ltr"' in english and "Movement kind" in english and ">Sale<" in english


def test_search_and_filters_narrow_the_results(synced, stack):
    admin, me, _, _ = synced
    tenant = me["tenant_id"]
    db = stack.atlas

    found = get(admin, "/app/inventory", params={"tab": "items", "q": "sku-0001"}).text
    assert rows(found) == ["SKU-0001"] and total(found) == 1

    category = db.sql("SELECT category, count(*) FROM items WHERE tenant_id = %s GROUP BY 1 ORDER BY 2 DESC", (tenant,))
    name, size = category[0]
    by_category = get(admin, "/app/inventory", params={"tab": "items", "category": name}).text
    assert total(by_category) == size < 100
    assert f'<option value="{html.escape(name)}" dir="auto" selected>' in by_category

    code = db.sql("SELECT code FROM locations WHERE tenant_id = %s ORDER BY code LIMIT 1", (tenant,))[0][0]
    locations = get(admin, "/app/inventory", params={"tab": "locations", "q": code}).text
    assert code in rows(locations, "data-code")

    # From an item to its balances, and from a balance to its movements.
    item_id = db.sql("SELECT id FROM items WHERE tenant_id = %s AND sku = 'SKU-0001'", (tenant,))[0][0]
    balances = get(admin, "/app/inventory", params={"tab": "balances", "item_id": str(item_id)}).text
    assert set(rows(balances)) == {"SKU-0001"} and 'data-testid="inventory-item-filter"' in balances
    link = re.search(r'href="(/app/inventory\?tab=movements[^"]+)" data-testid="balance-movements-link"', balances)
    assert link
    movements = get(admin, html.unescape(link.group(1))).text
    assert set(rows(movements)) == {"SKU-0001"} and total(movements) > 0
    location_id = re.search(r"location_id=([0-9a-f-]{36})", html.unescape(link.group(1))).group(1)
    expected = db.sql(
        "SELECT count(*) FROM stock_movements WHERE tenant_id = %s AND item_id = %s AND location_id = %s",
        (tenant, item_id, location_id),
    )[0][0]
    assert total(movements) == expected

    # The SKU as typed, a kind, and a date range.
    sales = get(admin, "/app/inventory", params={"tab": "movements", "sku": "SKU-0002", "kind": "sale"}).text
    assert set(rows(sales)) == {"SKU-0002"} and set(rows(sales, "data-kind")) == {"sale"}
    assert set(rows(sales, "data-direction")) == {"out"}
    newest = db.sql("SELECT max(occurred_at)::date FROM stock_movements WHERE tenant_id = %s", (tenant,))[0][0]
    recent = get(admin, "/app/inventory", params={"tab": "movements", "since": str(newest), "until": str(newest)}).text
    expected = db.sql(
        "SELECT count(*) FROM stock_movements WHERE tenant_id = %s AND occurred_at >= %s::date"
        " AND occurred_at < %s::date + 1",
        (tenant, newest, newest),
    )[0][0]
    assert 0 < total(recent) == expected

    missing = get(admin, "/app/inventory", params={"tab": "balances", "sku": "NO-SUCH-SKU"})
    assert missing.status_code == 200 and 'data-testid="inventory-item-missing"' in missing.text
    assert rows(missing.text) == [] and 'data-testid="inventory-no-results"' in missing.text
    bad_date = get(admin, "/app/inventory", params={"tab": "movements", "since": "yesterday"})
    assert bad_date.status_code == 200 and 'aria-invalid="true"' in bad_date.text
    nothing = get(admin, "/app/inventory", params={"tab": "items", "q": "%_nothing_%"}).text
    assert rows(nothing) == [] and 'data-testid="inventory-clear"' in nothing


def test_pages_of_fifty_with_links(synced):
    admin, *_ = synced
    first = get(admin, "/app/inventory?tab=items").text
    assert rows(first)[-1] == "SKU-0050" and 'data-testid="inventory-next"' in first
    assert 'href="?tab=items&amp;page=2"' in first and 'data-testid="inventory-prev"' not in first
    second = get(admin, "/app/inventory?tab=items&page=2").text
    assert rows(second)[0] == "SKU-0051" and rows(second)[-1] == "SKU-0100"
    assert 'data-testid="inventory-next"' not in second and 'data-testid="inventory-prev"' in second
    assert rows(get(admin, "/app/inventory?tab=items&page=999").text) == rows(second)  # past the end: the last page
    # Filters stay in the page links.
    movements = get(admin, "/app/inventory", params={"tab": "movements", "kind": "sale"}).text
    assert total(movements) > 50 and "kind=sale&amp;page=2" in movements


# --- the quarantine list ---------------------------------------------------------------------------


def test_quarantine_lists_records_with_reasons_and_raw_json(synced, stack):
    admin, _, connector_id, run = synced
    quarantined = run["stats"]["stock_movements"]["quarantined"]
    page = get(admin, "/app/quarantine")
    assert page.status_code == 200 and 'dir="rtl"' in page.text
    text = page.text
    assert 'data-testid="quarantine-table"' in text and total(text) == quarantined
    assert text.count('data-testid="quarantine-row"') == min(quarantined, 50)
    assert 'data-code="not_in_lookup"' in text and "قيمة غير موجودة في جدول التحويل" in text  # translated reason
    assert "<details" in text and "&#34;type&#34;: &#34;ADJUSTMENT&#34;" in text.replace("&quot;", "&#34;")
    assert 'data-testid="reprocess"' in text and 'data-testid="dismiss"' in text
    assert f'href="/app/connectors/{connector_id}"' in text

    # Filters: the connector, an endpoint, a status.
    assert total(get(admin, f"/app/quarantine?connector_id={connector_id}").text) == quarantined
    assert total(get(admin, "/app/quarantine?endpoint_key=movements").text) == quarantined
    empty = get(admin, "/app/quarantine?endpoint_key=items").text
    assert 'data-testid="quarantine-empty"' in empty and 'data-testid="quarantine-clear"' in empty
    record_id = re.search(r'data-testid="quarantine-row" data-id="([0-9a-f-]{36})"', text).group(1)
    assert admin.post(f"/api/quarantine/{record_id}/dismiss").status_code == 200
    dismissed = get(admin, "/app/quarantine?status=dismissed").text
    assert total(dismissed) == 1 and f'data-id="{record_id}" data-status="dismissed"' in dismissed
    assert total(get(admin, "/app/quarantine").text) == quarantined - 1
    assert total(get(admin, "/app/quarantine?status=all").text) == quarantined

    # A viewer reads the same list without the admin buttons.
    viewer, _ = stack.atlas.member_client(admin, "viewer")
    seen = get(viewer, "/app/quarantine").text
    assert 'data-testid="quarantine-row"' in seen and 'data-testid="quarantine-read-only"' in seen
    assert 'data-testid="reprocess"' not in seen and 'data-testid="dismiss"' not in seen
    english = get(viewer, "/app/quarantine", cookies={"atlas_lang": "en"}).text
    assert "Value not in the lookup table" in english and "Quarantined records" in english


def test_the_connector_page_shows_the_syncs(synced, stack):
    admin, _, connector_id, run = synced
    page = get(admin, f"/app/connectors/{connector_id}").text
    for testid in ("sync-section", "sync-now", "sync-schedule", "sync-runs", "quarantine-link", "sync-progress"):
        assert f'data-testid="{testid}"' in page, testid
    assert f'data-testid="sync-run" data-run-id="{run["id"]}" data-status="succeeded" data-trigger="manual"' in page
    assert 'data-resource="items"' in page and 'data-count="inserted">100<' in page
    assert f'href="/app/quarantine?connector_id={connector_id}"' in page
    assert 'data-interval="0"' in page and "عند الطلب فقط" in page and "/static/data.js" in page

    assert admin.patch(f"/api/connectors/{connector_id}", json={"sync_interval_minutes": 90}).status_code == 200
    page = get(admin, f"/app/connectors/{connector_id}").text
    assert 'data-interval="90"' in page and 'كل <bdi dir="ltr">90</bdi> دقيقة' in page
    assert admin.patch(f"/api/connectors/{connector_id}", json={"sync_interval_minutes": 0}).status_code == 200

    operator, _ = stack.atlas.member_client(admin, "operator")
    seen = get(operator, f"/app/connectors/{connector_id}").text
    assert 'data-testid="sync-run"' in seen and 'data-testid="sync-schedule"' in seen
    assert 'data-testid="sync-now"' not in seen and "data-schedule-form" not in seen


def test_another_tenant_sees_nothing(synced, stack):
    admin, _, connector_id, _ = synced
    other, _ = stack.atlas.new_tenant()
    inventory = get(other, "/app/inventory")
    assert inventory.status_code == 200 and 'data-testid="inventory-empty"' in inventory.text
    assert "SKU-0001" not in inventory.text and 'href="/app/connectors"' in inventory.text
    for tab in ("balances", "movements"):
        page = get(other, f"/app/inventory?tab={tab}&sku=SKU-0001").text
        assert "SKU-0001" not in rows(page) and 'data-testid="inventory-empty"' in page
    quarantine = get(other, "/app/quarantine").text
    assert 'data-testid="quarantine-empty"' in quarantine and 'data-testid="quarantine-row"' not in quarantine
    assert get(other, f"/app/quarantine?connector_id={connector_id}").status_code == 404
    assert get(other, f"/app/connectors/{connector_id}").status_code == 404
    assert get(admin, f"/app/quarantine?connector_id={uuid.uuid4()}").status_code == 404


# --- Chromium --------------------------------------------------------------------------------------


@pytest.mark.browser
def test_admin_syncs_from_the_connector_page_then_finds_an_item(stack, demo_erp_url, browser):
    atlas = stack.atlas
    admin, _ = atlas.new_tenant()
    connector_id = setup_connector(admin, demo_erp_url)
    context, tab = signed_in_page(browser, atlas.base_url, admin, locale="ar-SA")
    try:
        tab.goto(f"{atlas.base_url}/app/connectors/{connector_id}")
        tab.wait_for_selector("[data-sync-section][data-ready]")
        assert tab.locator("[data-testid='sync-run']").count() == 0
        tab.evaluate("window.__noReload = 'still-here'")

        tab.get_by_test_id("sync-now").click()
        progress = tab.get_by_test_id("sync-progress")
        progress.wait_for(state="visible", timeout=10_000)
        assert progress.get_attribute("data-status") in ("queued", "running", "succeeded")
        tab.wait_for_selector("[data-testid='sync-run'][data-status='succeeded']", timeout=90_000)
        assert progress.get_attribute("data-status") == "succeeded"
        assert progress.locator("tr[data-state='done']").count() == 5  # every endpoint, done
        run = tab.locator("[data-testid='sync-run']").first
        assert run.locator("tr[data-resource='items'] [data-count='inserted']").inner_text() == "100"
        assert run.locator("tr[data-resource='stock_movements'] [data-count='fetched']").inner_text() != "0"
        assert tab.get_by_test_id("sync-now").is_enabled()
        assert tab.evaluate("window.__noReload") == "still-here"

        tab.goto(f"{atlas.base_url}/app/inventory")
        tab.get_by_test_id("inventory-search").fill("SKU-0001")
        tab.get_by_test_id("inventory-search").press("Enter")
        tab.wait_for_url(re.compile(r".*q=SKU-0001.*"))
        found = tab.locator("[data-testid='inventory-row']")
        assert found.count() == 1 and found.first.get_attribute("data-sku") == "SKU-0001"

        # English without a reload.
        tab.evaluate("window.__noReload = 'still-here'")
        items_ar = tab.locator("[data-testid='inventory-tabs'] [data-tab='items']").inner_text().strip()
        tab.get_by_test_id("lang-switch").click()
        tab.wait_for_function("() => document.documentElement.lang === 'en'")
        assert tab.get_attribute("html", "dir") == "ltr"
        items_en = tab.locator("[data-testid='inventory-tabs'] [data-tab='items']").inner_text().strip()
        assert items_en == "Items" != items_ar
        assert tab.get_by_test_id("inventory-search").get_attribute("placeholder") == "SKU or name"
        assert tab.evaluate("window.__noReload") == "still-here"
    finally:
        context.close()


def test_dismissing_a_quarantined_record_asks_in_the_styled_dialog(synced, stack, browser):
    """The quarantine page's dismiss asks in the page's styled dialog (issue 19), not the browser's confirm():
    Cancel leaves the record where it is, Continue dismisses it (and only it)."""
    admin, _, _, _ = synced
    atlas = stack.atlas
    before = total(get(admin, "/app/quarantine?status=dismissed").text)
    context, tab = signed_in_page(browser, atlas.base_url, admin)
    native: list[str] = []
    tab.on("dialog", lambda dialog: (native.append(dialog.message), dialog.dismiss()))
    try:
        tab.goto(f"{atlas.base_url}/app/quarantine")
        row = tab.get_by_test_id("quarantine-row").first
        record_id = row.get_attribute("data-id")
        row.get_by_test_id("dismiss").click()
        dialog = tab.get_by_test_id("confirm-dialog")
        dialog.wait_for(state="visible")
        assert dialog.evaluate("d => d.open && d.matches(':modal')")
        dialog.get_by_test_id("confirm-cancel").click()
        dialog.wait_for(state="detached")
        assert total(get(admin, "/app/quarantine?status=dismissed").text) == before
        row.get_by_test_id("dismiss").click()
        tab.get_by_test_id("confirm-dialog").get_by_test_id("confirm-ok").click()
        tab.wait_for_selector(f"[data-testid='quarantine-row'][data-id='{record_id}']", state="detached")
        dismissed = get(admin, "/app/quarantine?status=dismissed").text
        assert total(dismissed) == before + 1 and f'data-id="{record_id}" data-status="dismissed"' in dismissed
        assert native == []
    finally:
        context.close()
