"""The approval workflow's state machine, path by path, against the real worker, Temporal and PostgreSQL.

One tenant for the module (a sandbox connector): high priority needs two distinct approvers, the rest one;
policy hours are seconds here (`ATLAS_APPROVAL_HOUR_SECONDS=1`).
"""

from __future__ import annotations

from typing import Any

import pytest

EN = {"Accept-Language": "en"}
FULL_PATH = ["policy_evaluated", "approval_requested", "policy_evaluated", "approval_resolved", "action_blocked"]


@pytest.fixture(scope="module")
def team(approvals) -> dict[str, Any]:
    tenant = approvals.tenant()
    tenant.policy(approvals={"sandbox": {"low": 1, "medium": 1, "high": 2}})
    operator, operator_subject = tenant.member("operator")
    second, second_subject = tenant.member("operator")
    return {
        "tenant": tenant,
        "operator": operator,
        "operator_subject": operator_subject,
        "second": second,
        "second_subject": second_subject,
    }


def approve(client, rec: str, **body: Any):
    return client.post(f"/api/recommendations/{rec}/approve", json=body or None, headers=EN)


def payloads(approvals, rec: str, event_type: str) -> list[dict[str, Any]]:
    return [p for t, p, _ in approvals.events(rec) if t == event_type]


def test_one_approver_takes_it_to_the_lock_with_one_correlation_id(approvals, team):
    tenant, operator = team["tenant"], team["operator"]
    rec = tenant.recommendation(priority="medium")
    row = approvals.wait_evaluated(rec)
    assert row["status"] == "pending" and row["required_approvals"] == 1 and row["workflow_started_at"]
    assert row["policy_version"] == 2 and row["expires_at"] is not None

    response = approve(operator, rec, comment="Stock is low, order it")
    assert response.status_code == 200, response.text
    body = response.json()
    # The answer comes when the vote is counted, before the lock.
    assert body["result"] == "counted" and body["status"] == "approved" and body["transitioned"] is True
    assert (body["approvals"], body["required"]) == (1, 1)
    assert body["reasons"][0]["message"] == "Approval counted: 1 of 1."

    row = approvals.wait_status(rec, "blocked_by_lock")
    assert row["resolved_by"] == team["operator_subject"] and row["resolution_reason"] == "Stock is low, order it"
    assert approvals.workflow_result(rec) == "blocked_by_lock"
    assert approvals.event_types(rec) == FULL_PATH
    stages = [p["stage"] for p in payloads(approvals, rec, "policy_evaluated")]
    assert stages == ["proposal", "approve"]
    (resolved,) = payloads(approvals, rec, "approval_resolved")
    assert resolved["outcome"] == "approved" and resolved["approvals"] == [team["operator_subject"]]
    drafts = approvals.drafts(rec)
    (blocked,) = payloads(approvals, rec, "action_blocked")
    assert len(drafts) == 1 and blocked["draft_id"] == str(drafts[0][0]) and blocked["reason"] == "execution_lock"

    timeline = operator.get(f"/api/recommendations/{rec}/timeline").json()
    assert [e["event_type"] for e in timeline["events"]] == FULL_PATH
    assert {e["correlation_id"] for e in timeline["events"]} == {timeline["correlation_id"]}
    assert [e["seq"] for e in timeline["events"]] == sorted(e["seq"] for e in timeline["events"])
    state = operator.get(f"/api/recommendations/{rec}/approval").json()
    assert state["status"] == "blocked_by_lock" and state["blocked_draft"]["id"] == str(drafts[0][0])
    assert state["votes"][0]["verdict"] == "approve" and state["can_decide"] is False

    again = approve(team["second"], rec)
    assert again.status_code == 409 and again.json()["type"] == "urn:atlas:problem:not-pending"


def test_two_approvers_and_the_same_person_twice(approvals, team):
    tenant = team["tenant"]
    rec = tenant.recommendation(priority="high")
    assert approvals.wait_evaluated(rec)["required_approvals"] == 2

    first = approve(team["operator"], rec)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "pending" and first.json()["approvals"] == 1 and not first.json()["transitioned"]

    twice = approve(team["operator"], rec)
    assert twice.status_code == 409, twice.text
    problem = twice.json()
    assert problem["type"] == "urn:atlas:problem:policy-refused"
    assert [r["code"] for r in problem["reasons"]] == ["already_voted"]
    assert "already approved" in problem["detail"] and problem["approvals"] == 1 and problem["required"] == 2
    assert approvals.row(rec)["status"] == "pending"
    # Every evaluation is audited, the refused one too.
    refused = [p for p in payloads(approvals, rec, "policy_evaluated") if p["outcome"] == "refused"]
    assert len(refused) == 1 and refused[0]["stage"] == "approve"

    second = approve(team["second"], rec)
    assert second.status_code == 200 and second.json()["status"] == "approved" and second.json()["approvals"] == 2
    approvals.wait_status(rec, "blocked_by_lock")
    (resolved,) = payloads(approvals, rec, "approval_resolved")
    assert sorted(resolved["approvals"]) == sorted([team["operator_subject"], team["second_subject"]])
    assert approvals.count(rec, "action_blocked") == 1


def test_reject_needs_a_reason_and_ends_rejected(approvals, team):
    rec = team["tenant"].recommendation()
    approvals.wait_evaluated(rec)
    operator = team["operator"]
    for body in (None, {}, {"reason": "   "}):
        response = operator.post(f"/api/recommendations/{rec}/reject", json=body, headers=EN)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "errors.reject_reason_required"
        assert "reason" in response.json()["detail"]
    assert approvals.row(rec)["status"] == "pending"

    response = operator.post(f"/api/recommendations/{rec}/reject", json={"reason": "Supplier is closed this week"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "rejected"
    row = approvals.row(rec)
    assert row["status"] == "rejected" and row["resolution_reason"] == "Supplier is closed this week"
    assert approvals.workflow_result(rec) == "rejected"
    (resolved,) = payloads(approvals, rec, "approval_resolved")
    assert resolved["outcome"] == "rejected" and resolved["reason"] == "Supplier is closed this week"
    assert approvals.count(rec, "action_blocked") == 0 and approvals.drafts(rec) == []


def test_policy_refuses_an_action_over_the_blast_radius(approvals, team):
    tenant = team["tenant"]
    tenant.policy(max_value_sar_per_action="1000")
    try:
        rec = tenant.recommendation(quantity="100", unit_cost="50")  # 5,000 SAR
        row = approvals.wait_status(rec, "rejected")
    finally:
        tenant.policy(max_value_sar_per_action="250000")
    assert "Refused by policy" in row["resolution_reason"] and "5,000.00" in row["resolution_reason"]
    assert row["policy_decision"]["allowed"] is False
    assert approvals.workflow_result(rec) == "rejected"
    assert approvals.event_types(rec) == ["policy_evaluated", "approval_resolved"]
    (resolved,) = payloads(approvals, rec, "approval_resolved")
    assert resolved["outcome"] == "rejected_by_policy" and resolved["reasons"][0]["code"] == "blast_radius_value"
    response = approve(team["operator"], rec)
    assert response.status_code == 409 and response.json()["recommendation_status"] == "rejected"
    page = team["operator"].get(f"/app/recommendations/{rec}", headers={"Accept": "text/html", **EN})
    assert 'data-allowed="false"' in page.text and 'data-reason="blast_radius_value"' in page.text


def test_expiry_by_a_durable_timer_with_a_reminder_before(approvals, team):
    tenant, operator = team["tenant"], team["operator"]
    tenant.policy(expiry_hours=6, reminder_before_hours=5)  # here: a reminder after 1 s, expiry after 6 s
    try:
        rec = tenant.recommendation()
        row = approvals.wait(rec, lambda r: r["reminded_at"] is not None, what="reminder")
    finally:
        tenant.policy(expiry_hours=600, reminder_before_hours=1)
    assert row["status"] == "pending"
    queue = operator.get("/api/approvals", params={"scope": "team"}).json()
    (entry,) = [e for e in queue["items"] if e["id"] == rec]
    assert entry["expiring_soon"] is True
    page = operator.get("/app/approvals", headers={"Accept": "text/html"})
    assert 'data-testid="approval-reminders"' in page.text and f'data-id="{rec}"' in page.text
    dashboard = operator.get("/app", headers={"Accept": "text/html"})
    assert 'data-testid="dashboard-approval-reminders"' in dashboard.text

    row = approvals.wait_status(rec, "expired", timeout=30)
    assert approvals.workflow_result(rec) == "expired"
    # The policy put back above was a new version: judged again, but the expiry it was given stays.
    expected = ["policy_evaluated", "approval_requested", "approval_reminder"]
    expected += ["policy_evaluated", "approval_requested", "approval_resolved"]
    assert approvals.event_types(rec) == expected
    (resolved,) = payloads(approvals, rec, "approval_resolved")
    assert resolved["outcome"] == "expired"
    late = approve(operator, rec)
    assert late.status_code == 409 and late.json()["recommendation_status"] == "expired"


def test_a_revision_voids_earlier_approvals_and_four_eyes_holds(approvals, team):
    tenant, operator, second = team["tenant"], team["operator"], team["second"]
    rec = tenant.recommendation(priority="high")
    approvals.wait_evaluated(rec)
    assert approve(operator, rec).json()["approvals"] == 1

    # The AI engine revises it (its next analysis), and tells the workflow.
    approvals.atlas.sql("UPDATE recommendations SET update_count = 1, quantity = 55 WHERE id = %s", (rec,))
    approvals.signal(rec, "revised")
    approvals.wait_evaluated(rec)
    state = operator.get(f"/api/recommendations/{rec}/approval").json()
    assert state["revision"] == 1 and state["approvals"] == 0 and state["votes"] == [] and state["can_decide"]
    requested = payloads(approvals, rec, "approval_requested")
    assert [(p["revision"], p["again"]) for p in requested] == [(0, False), (1, True)]
    again = approve(operator, rec)  # the same person may approve the new revision
    assert again.status_code == 200 and again.json()["approvals"] == 1 and again.json()["revision"] == 1

    # A person changes the quantity: revision 2, and that person cannot approve it.
    changed = tenant.admin.patch(f"/api/recommendations/{rec}", json={"quantity": "60", "reason": "Pallet size"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["update_count"] == 2 and changed.json()["last_changed_by"] == tenant.subject
    assert approvals.count(rec, "recommendation_changed") == 1
    approvals.wait_evaluated(rec)
    four_eyes = approve(tenant.admin, rec)
    assert four_eyes.status_code == 409
    assert [r["code"] for r in four_eyes.json()["reasons"]] == ["four_eyes"]
    assert "Four-eyes rule" in four_eyes.json()["detail"]
    stale = approve(operator, rec, revision=1)
    assert stale.status_code == 409 and stale.json()["type"] == "urn:atlas:problem:revision-changed"

    assert approve(operator, rec, revision=2).json()["approvals"] == 1
    done = approve(second, rec)
    assert done.status_code == 200 and done.json()["status"] == "approved"
    approvals.wait_status(rec, "blocked_by_lock")
    drafts = approvals.drafts(rec)
    assert [d[1] for d in drafts] == [2]  # the draft is of the revision that was approved


def test_retirement_ends_the_workflow_without_a_transition(approvals, team):
    rec = team["tenant"].recommendation()
    approvals.wait_evaluated(rec)
    # The AI engine retires it (its reason is gone) and tells the workflow.
    approvals.atlas.sql("UPDATE recommendations SET status = 'retired', retired_at = now() WHERE id = %s", (rec,))
    approvals.signal(rec, "retired")
    assert approvals.workflow_result(rec) == "retired"
    assert approvals.row(rec)["status"] == "retired" and approvals.row(rec)["resolved_at"] is None
    assert approvals.event_types(rec) == ["policy_evaluated", "approval_requested"]
    late = approve(team["operator"], rec)
    assert late.status_code == 409 and late.json()["recommendation_status"] == "retired"


def test_a_dry_run_comes_first_when_policy_asks_for_it(approvals, team):
    tenant, operator = team["tenant"], team["operator"]
    rec = tenant.recommendation(kind="write_off", priority="low")  # write-offs need a dry run by default
    row = approvals.wait_evaluated(rec)
    assert row["policy_decision"]["requirements"]["dry_run_required"] is True
    first = approve(operator, rec)
    assert first.status_code == 409 and [r["code"] for r in first.json()["reasons"]] == ["dry_run_required"]
    dry = operator.post(f"/api/recommendations/{rec}/dry-run")
    assert dry.status_code == 200, dry.text
    assert dry.json()["draft"]["kind"] == "dry_run" and dry.json()["impact"]["items"] == 1
    assert "dry_run_completed" in approvals.event_types(rec)
    queue = operator.get("/api/approvals", params={"scope": "team", "type": "write_off", "limit": 500}).json()
    assert next(e for e in queue["items"] if e["id"] == rec)["dry_run_done"] is True
    assert approve(operator, rec).json()["status"] == "approved"
    approvals.wait_status(rec, "blocked_by_lock")


def test_a_workflow_that_never_started_is_started_by_the_reconcile(approvals, team):
    rec = team["tenant"].recommendation(start=False, age_seconds=120)
    assert approvals.row(rec)["workflow_started_at"] is None
    assert approvals.run_reconcile() >= 1
    row = approvals.wait_evaluated(rec)
    assert row["workflow_started_at"] is not None and row["status"] == "pending"
    # A vote also starts a workflow that is missing (and policy is evaluated first).
    other = team["tenant"].recommendation(start=False)
    response = approve(team["operator"], other)
    assert response.status_code == 200 and response.json()["status"] == "approved"
    approvals.wait_status(other, "blocked_by_lock")
    assert approvals.event_types(other) == FULL_PATH
