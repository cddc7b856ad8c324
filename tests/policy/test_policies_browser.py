"""The policies page and the drafts page in Chromium: an admin saves a new version through the form, a bad value
shows the server's message in the page's language, a viewer cannot edit, and drafts show in both languages."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from atlas.db.engine import Database
from atlas.platform.audit import Actor
from tests.browser_pages import signed_in_page
from tests.execution_lock.seed import load_recommendation, run, seed

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("ATLAS_SCREENSHOTS")  # a folder: save screenshots there while developing


def shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def signed_in(atlas, browser, client, lang: str = "ar"):
    return signed_in_page(browser, atlas.base_url, client, lang=lang)


def test_admin_saves_a_policy_version_and_a_viewer_only_reads_it(atlas, browser):
    admin, _ = atlas.new_tenant()
    viewer, _ = atlas.member_client(admin, "viewer")
    context, page = signed_in(atlas, browser, admin, "en")
    page.goto(f"{atlas.base_url}/app/policies")
    assert page.get_by_test_id("policy-version").get_attribute("data-version") == "0"
    shot(page, "policies-en")

    # A reminder after expiry: the server refuses, naming the problem in English.
    page.fill("[data-testid=policy-expiry]", "4")
    page.fill("[data-testid=policy-reminder]", "8")
    page.get_by_test_id("policy-save").click()
    error = page.get_by_test_id("policy-error")
    error.wait_for(state="visible")
    assert "before expiry" in error.inner_text()
    assert admin.get("/api/policies").json()["version"] == 0

    page.fill("[data-testid=policy-reminder]", "2")
    page.fill("[data-testid=policy-max-items]", "12")
    page.fill("[data-testid=policy-dry-value]", "")
    page.get_by_test_id("policy-dry-type-investigate").check()
    page.get_by_test_id("policy-dry-env-production").uncheck()
    page.select_option("[data-testid=policy-approvals-sandbox-high]", "2")
    page.get_by_test_id("policy-role-operator").uncheck()
    page.fill("[data-testid=policy-note]", "Stricter for the audit")
    page.get_by_test_id("policy-save").click()
    page.wait_for_function("() => document.querySelector('[data-testid=policy-version]').dataset.version === '1'")
    saved = admin.get("/api/policies").json()
    assert saved["version"] == 1
    rules = saved["rules"]
    assert rules["max_items_per_action"] == 12 and rules["expiry_hours"] == 4 and rules["reminder_before_hours"] == 2
    assert rules["dry_run_required_over_value_sar"] is None
    assert rules["dry_run_required_types"] == ["transfer", "write_off", "investigate"]
    assert rules["dry_run_required_environments"] == []
    assert rules["approvals"]["sandbox"]["high"] == 2 and rules["approver_roles"] == ["admin"]
    assert "Stricter for the audit" in page.get_by_test_id("policy-history").inner_text()
    context.close()

    context, page = signed_in(atlas, browser, viewer, "ar")
    page.goto(f"{atlas.base_url}/app/policies")
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.get_by_test_id("policies-read-only").is_visible()
    assert page.get_by_test_id("policy-max-items").is_disabled()
    assert page.get_by_test_id("policy-save").count() == 0
    assert page.get_by_test_id("policy-max-items").input_value() == "12"
    shot(page, "policies-ar-viewer")
    context.close()


def test_drafts_page_switches_language_and_links_the_exports(atlas, browser, database_url):
    from atlas.approvals.lock_actions import attempt

    admin, me = atlas.new_tenant()
    tenant_id = uuid.UUID(me["tenant_id"])

    async def work(database: Database) -> None:
        seeded = await seed(database, tenant_id)
        async with database.tenant_session(tenant_id) as session:
            rec = await session.merge(await load_recommendation(database, tenant_id, seeded.recs["reorder"]))
            await attempt(session, rec, actor=Actor("system"), correlation_id=rec.correlation_id)

    run(database_url, work)
    context, page = signed_in(atlas, browser, admin, "ar")
    page.goto(f"{atlas.base_url}/app/drafts")
    summary = page.get_by_test_id("draft-summary").first
    assert "أمر شراء" in summary.inner_text()
    shot(page, "drafts-ar")
    page.get_by_test_id("lang-switch").click()
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert "Purchase order line" in summary.inner_text()
    with page.expect_download() as download:
        page.get_by_test_id("drafts-export-csv").click()
    data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and "أمر شراء".encode() in data
    shot(page, "drafts-en")
    context.close()
