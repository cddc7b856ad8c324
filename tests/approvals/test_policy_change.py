"""A new policy reaches recommendations already waiting: their workflows judge them again under it.

Each test has its own tenant (a sandbox connector), so a policy saved here reaches only its own recommendations.
"""

from __future__ import annotations

import json
from typing import Any

EN = {"Accept-Language": "en"}


def approve(client, rec: str):
    return client.post(f"/api/recommendations/{rec}/approve", headers=EN)


def payloads(approvals, rec: str, event_type: str) -> list[dict[str, Any]]:
    return [p for t, p, _ in approvals.events(rec) if t == event_type]


def sandbox_tenant(approvals, **approvers: int):
    tenant = approvals.tenant()
    tenant.policy(approvals={"sandbox": {"low": 1, "medium": 1, "high": 2, **approvers}})
    return tenant


def test_a_tighter_blast_radius_refuses_a_waiting_recommendation(approvals):
    tenant = sandbox_tenant(approvals)
    rec = tenant.recommendation(quantity="100", unit_cost="50")  # 5,000 SAR
    first = approvals.wait_evaluated(rec)
    assert first["status"] == "pending"
    # The policies page tells the admin, in both languages, that a new version reaches it.
    pages = {}
    try:
        for lang in ("en", "ar"):
            tenant.admin.cookies.set("atlas_lang", lang)
            pages[lang] = tenant.admin.get("/app/policies", headers={"Accept": "text/html"}).text
    finally:
        tenant.admin.cookies.delete("atlas_lang")
    assert 'data-testid="policy-pending-reach" data-count="1"' in pages["en"]
    assert "also applies to the 1 recommendation(s) waiting" in pages["en"]
    assert "تنطبق النسخة الجديدة أيضاً على 1 توصية" in pages["ar"]

    response = tenant.admin.post(
        "/api/policies", json={"rules": {"max_value_sar_per_action": "1000"}, "note": "tighter"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["pending"] == 1
    row = approvals.wait_status(rec, "rejected")
    assert row["policy_version"] == first["policy_version"] + 1
    assert "5,000.00" in row["resolution_reason"]
    assert approvals.workflow_result(rec) == "rejected"
    (resolved,) = payloads(approvals, rec, "approval_resolved")
    assert resolved["outcome"] == "rejected_by_policy" and resolved["cause"] == "policy_changed"
    assert resolved["reasons"][0]["code"] == "blast_radius_value"
    expected = ["policy_evaluated", "approval_requested", "policy_evaluated", "approval_resolved"]
    assert approvals.event_types(rec) == expected


def test_more_approvers_asked_for_and_the_approval_given_still_counts(approvals):
    tenant = sandbox_tenant(approvals)
    operator, operator_subject = tenant.member("operator")
    second, second_subject = tenant.member("operator")
    rec = tenant.recommendation(priority="medium")
    assert approvals.wait_evaluated(rec)["required_approvals"] == 1

    tenant.policy(approvals={"sandbox": {"medium": 2}})
    row = approvals.wait(rec, lambda r: r["required_approvals"] == 2, what="two approvers required")
    assert row["status"] == "pending"
    requested = payloads(approvals, rec, "approval_requested")
    assert [p["cause"] for p in requested] == [None, "policy_changed"]
    assert requested[1]["required_approvals"] == 2 and requested[1]["previous_policy_version"] == 2

    body = approve(operator, rec).json()
    assert (body["result"], body["status"], body["approvals"], body["required"]) == ("counted", "pending", 1, 2)
    body = approve(second, rec).json()
    assert (body["status"], body["approvals"]) == ("approved", 2)
    approvals.wait_status(rec, "blocked_by_lock")
    (resolved,) = payloads(approvals, rec, "approval_resolved")
    assert sorted(resolved["approvals"]) == sorted([operator_subject, second_subject])


def test_fewer_approvers_asked_for_completes_an_approval_already_given(approvals):
    tenant = sandbox_tenant(approvals)
    operator, operator_subject = tenant.member("operator")
    rec = tenant.recommendation(priority="high")
    assert approvals.wait_evaluated(rec)["required_approvals"] == 2
    body = approve(operator, rec).json()
    assert (body["status"], body["approvals"], body["required"]) == ("pending", 1, 2)

    tenant.policy(approvals={"sandbox": {"high": 1}})
    row = approvals.wait_status(rec, "blocked_by_lock")
    assert row["resolved_by"] == "approval_workflow" and row["required_approvals"] == 1
    (resolved,) = payloads(approvals, rec, "approval_resolved")
    assert resolved["outcome"] == "approved" and resolved["cause"] == "policy_changed"
    assert resolved["approvals"] == [operator_subject] and resolved["required"] == 1
    assert len(approvals.drafts(rec)) == 1


def test_an_approval_no_longer_counts_when_its_role_may_no_longer_approve(approvals):
    tenant = sandbox_tenant(approvals)
    operator, _ = tenant.member("operator")
    rec = tenant.recommendation(priority="high")
    approvals.wait_evaluated(rec)
    assert approve(operator, rec).json()["approvals"] == 1

    tenant.policy(approvals={"sandbox": {"high": 1}}, approver_roles=["admin"])
    row = approvals.wait(rec, lambda r: r["required_approvals"] == 1, what="policy judged again")
    assert row["status"] == "pending"  # the operator's approval does not count under the new roles
    refused = approve(tenant.stack.atlas.member_client(tenant.admin, "operator")[0], rec)
    assert refused.status_code == 409 and refused.json()["reasons"][0]["code"] == "role_not_allowed"


def test_a_lost_signal_is_made_good_by_the_vote_and_by_the_reconcile(approvals):
    tenant = sandbox_tenant(approvals)
    operator, _ = tenant.member("operator")
    voted = tenant.recommendation(priority="medium")
    swept = tenant.recommendation(priority="medium")
    version = approvals.wait_evaluated(voted)["policy_version"]
    approvals.wait_evaluated(swept)

    # A policy saved behind the workflows' backs (as if every signal was lost): admins approve only.
    rules = tenant.admin.get("/api/policies").json()["rules"]
    approvals.atlas.sql(
        """INSERT INTO policies (id, tenant_id, version, rules, author, note, created_at)
           VALUES (gen_random_uuid(), %s, %s, %s, 'user:test', 'behind their backs', now() - interval '5 minutes')""",
        (tenant.id, version + 1, json.dumps({**rules, "approver_roles": ["admin"]})),
    )
    # The vote has the workflow judge the recommendation under the new policy first.
    refused = approve(operator, voted)
    assert refused.status_code == 409, refused.text
    assert refused.json()["reasons"][0]["code"] == "role_not_allowed"
    assert approvals.row(voted)["policy_version"] == version + 1

    # The reconcile sweep tells the other one.
    assert approvals.row(swept)["policy_version"] == version
    assert approvals.run_reconcile() >= 1
    row = approvals.wait(swept, lambda r: r["policy_version"] == version + 1, what="judged under the new policy")
    assert row["status"] == "pending"
    assert [p["cause"] for p in payloads(approvals, swept, "approval_requested")] == [None, "policy_changed"]
