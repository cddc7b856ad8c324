"""The real path from the demo ERP's data: a sync, the AI analysis, an approval workflow for every new
recommendation (and a new revision for each at the next analysis); then, in Chromium, an operator opens the
approval queue, approves a demo reorder (after its dry run when policy asks for one) and sees it end in
`blocked_by_lock` with its draft on the recommendation's page."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from tests.mapping.test_sync import setup_connector, sync

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo(approvals, demo_erp_url) -> dict[str, Any]:
    admin, me = approvals.atlas.new_tenant()
    connector_id = setup_connector(admin, demo_erp_url)
    run = sync(admin, connector_id)
    assert run["status"] == "succeeded", run
    # The sync starts the analysis (a post-sync workflow), which stores recommendations and starts their workflows.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = approvals.atlas.sql(
            "SELECT count(*) FROM analysis_runs WHERE tenant_id = %s AND status = 'succeeded'", (me["tenant_id"],)
        )
        if done[0][0]:
            break
        time.sleep(0.3)
    assert done[0][0] == 1, "the post-sync analysis did not finish"
    return {"admin": admin, "me": me}


def unevaluated(approvals, tenant_id: str) -> list[tuple[Any, ...]]:
    return approvals.atlas.sql(
        """SELECT id, status FROM recommendations WHERE tenant_id = %s
             AND (workflow_started_at IS NULL OR policy_revision IS DISTINCT FROM update_count)
             AND status NOT IN ('retired')""",
        (tenant_id,),
    )


def wait_all_evaluated(approvals, tenant_id: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while unevaluated(approvals, tenant_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert unevaluated(approvals, tenant_id) == []


def test_every_new_recommendation_gets_its_workflow_and_a_revision_is_evaluated_again(approvals, demo):
    tenant_id = demo["me"]["tenant_id"]
    created = approvals.atlas.sql("SELECT count(*) FROM recommendations WHERE tenant_id = %s", (tenant_id,))[0][0]
    assert created >= 20
    wait_all_evaluated(approvals, tenant_id)
    rec = approvals.atlas.sql(
        "SELECT id FROM recommendations WHERE tenant_id = %s AND type = 'reorder' AND status = 'pending' LIMIT 1",
        (tenant_id,),
    )[0][0]
    assert approvals.event_types(str(rec))[:3] == ["decision_generated", "policy_evaluated", "approval_requested"]

    # The next analysis, on new stock figures for its item, revises it: the workflow hears of it and evaluates again.
    # Less stock by more than the case pack and minimum order together, so the rounded quantity must rise.
    figures = approvals.atlas.sql("SELECT evidence->'figures' FROM recommendations WHERE id = %s", (rec,))[0][0]
    by = 5 + int(figures.get("order_multiple") or 0) + int(figures.get("min_order_qty") or 0)
    approvals.atlas.sql(
        """UPDATE stock_balance_parts SET available_qty = available_qty - %s  -- one part: the balance is their sum
            WHERE ctid = (SELECT p.ctid FROM stock_balance_parts p JOIN recommendations r
                          ON (p.item_id, p.location_id) = (r.item_id, r.location_id) WHERE r.id = %s LIMIT 1)""",
        (by, rec),
    )
    second = demo["admin"].post("/api/recommendations")
    assert second.status_code == 200 and second.json()["updated"] >= 1, second.text
    wait_all_evaluated(approvals, tenant_id)
    row = approvals.row(str(rec))
    assert row["update_count"] == 1 and row["policy_decision"]["revision"] == 1
    requested = [p for t, p, _ in approvals.events(str(rec)) if t == "approval_requested"]
    assert [(p["revision"], p["again"]) for p in requested] == [(0, False), (1, True)]


def test_an_operator_approves_a_demo_reorder_in_chromium(approvals, demo, browser):
    atlas = approvals.atlas
    email = f"operator-{uuid.uuid4().hex[:8]}@example.sa"
    invited = demo["admin"].post("/api/invitations", json={"email": email, "role": "operator"})
    assert invited.status_code == 201, invited.text
    atlas.set_user(email, name="Noura Operator")
    context = browser.new_context(locale="ar-SA")
    page = context.new_page()
    page.goto(f"{atlas.base_url}/signin")
    page.locator("a[href^='/api/login']").first.click()
    page.wait_for_url(f"{atlas.oidc_url}/**")
    page.fill("input[name=sub]", email)
    page.locator("form:has(input[name=sub]) button[type=submit]").first.click()
    page.wait_for_url(f"{atlas.base_url}/app**")

    # The approval queue, in Arabic (right to left): what waits for me.
    page.get_by_test_id("nav-approvals").click()
    page.wait_for_url(f"{atlas.base_url}/app/approvals")
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.get_by_test_id("approval-tab-mine").get_attribute("aria-current") == "page"
    reorder = page.locator("[data-testid=approval-row][data-type=reorder][data-can-decide=true]").first
    sku = reorder.get_attribute("data-sku")
    rec_id = reorder.get_attribute("data-id")
    assert sku and rec_id
    reorder.get_by_test_id("approval-open").click()
    page.wait_for_url(f"{atlas.base_url}/app/recommendations/{rec_id}")
    region = page.get_by_test_id("approval-region")
    assert region.get_attribute("data-status") == "pending"
    assert page.get_by_test_id("policy-outcome").get_attribute("data-allowed") == "true"
    assert page.get_by_test_id("timeline-event").count() >= 3

    if page.get_by_test_id("dry-run-required").count():
        with page.expect_navigation():
            page.get_by_test_id("dry-run-button").click()
        assert page.get_by_test_id("dry-run-draft").is_visible()
    page.fill("#approve-comment", "Approved from the queue")
    with page.expect_navigation():
        page.get_by_test_id("approve-button").click()

    # The workflow takes it on to the lock; the page shows where it ended, and the draft.
    deadline = time.monotonic() + 30
    while page.get_by_test_id("approval-region").get_attribute("data-status") != "blocked_by_lock":
        assert time.monotonic() < deadline, "the recommendation did not reach blocked_by_lock"
        time.sleep(0.3)
        page.reload()
    assert page.get_by_test_id("recommendation-detail").get_attribute("data-status") == "blocked_by_lock"
    draft = page.get_by_test_id("blocked-draft")
    assert draft.is_visible()
    assert sku in page.get_by_test_id("blocked-draft-summary").inner_text()
    assert "ATLAS-" in page.get_by_test_id("blocked-draft-action").inner_text()
    # The demo connector declares how its ERP takes a purchase order: the draft shows that exact request,
    # which nothing sends.
    request = page.get_by_test_id("blocked-draft-request").inner_text()
    assert "/api/v1/purchase-orders" in request and f'"item_code": "{sku}"' in request
    assert '"sendable": false' in request and "DEMO-API-KEY" not in request
    events = [e.get_attribute("data-event") for e in page.get_by_test_id("timeline-event").all()]
    assert events[-3:] == ["policy_evaluated", "approval_resolved", "action_blocked"]
    assert events[0] == "decision_generated" and "approval_requested" in events

    # English, left to right, without a reload: the draft's summary follows the page's language.
    page.get_by_test_id("lang-switch").click()
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert page.get_attribute("html", "dir") == "ltr"
    summary = page.get_by_test_id("blocked-draft-summary").inner_text()
    assert summary.startswith("Purchase order line") and sku in summary
    assert "Blocked by the execution lock" in page.get_by_test_id("approval-region").inner_text()
    context.close()
    assert approvals.row(rec_id)["status"] == "blocked_by_lock" and len(approvals.drafts(rec_id)) == 1
