"""In Chromium, in Arabic: a sync that set movements aside says so where an admin looks, and the fix in place works.

The demo ERP is synced with a movement-kind lookup that lacks ADJUSTMENT, so its adjustments are really set aside.
The admin starts the sync from the connector page, reads the honest outcome there and on the dashboard, follows
the link to the quarantine filtered to that run, adds ADJUSTMENT → adjustment in place and watches the group empty.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from tests.browser_pages import signed_in_page
from tests.mapping.test_quarantine_groups import movements_mapping, without_kinds
from tests.mapping.test_sync import expected_dataset, setup_connector

pytestmark = pytest.mark.browser


def test_the_honest_outcome_and_the_fix_in_place_in_arabic(stack, demo_erp_url, browser):
    atlas = stack.atlas
    admin, me = atlas.new_tenant()
    connector_id = setup_connector(admin, demo_erp_url, without_kinds("ADJUSTMENT"))
    data = expected_dataset()
    adjustments = Counter(m.type for m in data.movements)["ADJUSTMENT"]
    assert adjustments > 0
    context, tab = signed_in_page(browser, atlas.base_url, admin, locale="ar-SA")
    try:
        # The connector page: the sync started there ends "succeeded, with N set aside", said beside the status.
        tab.goto(f"{atlas.base_url}/app/connectors/{connector_id}")
        tab.wait_for_selector("[data-sync-section][data-ready]")
        assert tab.get_attribute("html", "dir") == "rtl"
        tab.get_by_test_id("sync-now").click()
        row = tab.locator("[data-testid='sync-run'][data-status='succeeded']").first
        row.wait_for(timeout=90_000)

        def check_run_row() -> None:
            badge = row.locator("[data-set-aside-badge]")
            assert badge.get_attribute("data-set-aside") == str(adjustments)
            # the figure is isolated in mark-up (a left-to-right <bdi>), never with invisible U+2066/U+2069
            assert badge.inner_text().strip() == f"معزول: {adjustments:,}"
            assert badge.locator('bdi[dir="ltr"]').inner_text() == f"{adjustments:,}"
            outcome = row.get_by_test_id("run-outcome")
            head = outcome.locator(".run-outcome-head").inner_text()
            assert head.startswith("نجحت، مع عزل") and f"{adjustments:,}" in head
            cause = outcome.locator("[data-cause]").first
            assert cause.get_attribute("data-value") == "ADJUSTMENT"
            assert cause.inner_text().replace("\u2066", "").replace("\u2069", "") == (
                f"نوع الحركة — قيمة غير معروفة ADJUSTMENT ({adjustments:,})"
            )

        check_run_row()  # as the page's script wrote it when the run ended
        progress = tab.get_by_test_id("sync-progress")
        assert progress.locator("[data-set-aside-badge]").get_attribute("data-set-aside") == str(adjustments)
        run_id = row.get_attribute("data-run-id")
        tab.reload()
        row = tab.locator(f"[data-testid='sync-run'][data-run-id='{run_id}']")
        check_run_row()  # as the server renders it

        # The dashboard: the connector's sync card, just as honest.
        tab.goto(f"{atlas.base_url}/app")
        card = tab.locator(f"[data-testid='sync-card'][data-connector-id='{connector_id}']")
        assert card.get_attribute("data-status") == "succeeded"
        assert card.get_attribute("data-set-aside") == str(adjustments)
        outcome = card.get_by_test_id("sync-card-outcome").inner_text()
        assert "نجحت" in outcome and f"{adjustments:,}" in outcome
        assert "ADJUSTMENT" in card.get_by_test_id("run-outcome").inner_text()
        assert card.get_by_test_id("sync-card-freshness").locator(".badge").inner_text().strip() == "محدَّثة"

        # From the run to the quarantine filtered to it: one group, its exact count, the fix in place.
        card.get_by_test_id("run-quarantine-link").click()
        tab.wait_for_url(re.compile(rf".*/app/quarantine\?connector_id={connector_id}&sync_run_id={run_id}$"))
        tab.wait_for_selector("[data-quarantine-page][data-groups-ready]")
        assert tab.get_by_test_id("quarantine-run-filter").is_visible()
        groups = tab.locator("[data-testid='quarantine-group']")
        assert groups.count() == 1
        group = groups.first
        assert group.get_attribute("data-value") == "ADJUSTMENT"
        assert group.get_by_test_id("group-count").inner_text() == f"{adjustments:,}"
        assert "قيمة غير معروفة" in group.inner_text()

        apply = group.get_by_test_id("fix-apply")
        apply.click()  # nothing chosen yet: the page asks for the value first, and sends nothing
        error = tab.locator("[data-groups-error]")
        error.wait_for(state="visible")
        assert error.inner_text() == "اختر القيمة الموحّدة أولاً."
        assert movements_mapping(admin, connector_id)["active_version"] == 1

        group.get_by_test_id("fix-canonical").select_option("adjustment")
        apply.click()
        result = tab.get_by_test_id("group-result")
        result.wait_for(state="visible", timeout=30_000)
        assert result.get_attribute("data-reprocessed") == str(adjustments)
        assert result.get_attribute("data-remaining") == "0" and result.get_attribute("data-version") == "2"
        assert f"{adjustments:,}" in result.inner_text() and "حُفظ الإصدار" in result.inner_text()
        tab.get_by_test_id("groups-empty").wait_for(timeout=10_000)  # the group is empty: the list refreshed
        assert tab.locator("[data-testid='quarantine-group']").count() == 0

        # What the fix did, seen behind Atlas's back: a new active version, every movement loaded.
        assert movements_mapping(admin, connector_id)["active_version"] == 2
        assert atlas.sql("SELECT count(*) FROM stock_movements WHERE tenant_id = %s", (me["tenant_id"],)) == [
            (len(data.movements),)
        ]

        # The result re-translates with the page.
        tab.get_by_test_id("lang-switch").click()
        tab.wait_for_function("() => document.documentElement.lang === 'en'")
        assert "Mapping version 2 saved." in result.inner_text()
        assert tab.get_by_test_id("groups-empty").inner_text() == "No set-aside records match this view."
    finally:
        context.close()
