"""A NUL (U+0000) in a vote never reaches the approval workflow (issue 16): it used to fail the approval step's
activity five times (PostgreSQL cannot store it) and answer a misleading 422. Now the request is refused before any
handler runs, with the field named, and the recommendation's approval goes on as if nothing had been sent."""

from __future__ import annotations

from typing import Any

import pytest

EN = {"Accept-Language": "en"}
AR = {"Accept-Language": "ar"}


@pytest.fixture(scope="module")
def team(approvals) -> dict[str, Any]:
    tenant = approvals.tenant()
    tenant.policy(approvals={"sandbox": {"low": 1, "medium": 1, "high": 1}})
    operator, subject = tenant.member("operator")
    return {"tenant": tenant, "operator": operator, "subject": subject}


def refused(response, field: str) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == "errors.input_nul_field" and body["field"] == field
    assert field in body["detail"]
    return body


def test_a_nul_in_a_reject_reason_is_refused_and_the_approval_still_works(approvals, team):
    rec = team["tenant"].recommendation()
    approvals.wait_evaluated(rec)
    operator = team["operator"]
    events_before = approvals.event_types(rec)

    english = refused(
        operator.post(f"/api/recommendations/{rec}/reject", json={"reason": "x\u0000y"}, headers=EN), "/reason"
    )
    arabic = refused(
        operator.post(f"/api/recommendations/{rec}/reject", json={"reason": "\u0000"}, headers=AR), "/reason"
    )
    assert english["title"] != arabic["title"]
    refused(operator.post(f"/api/recommendations/{rec}/approve", json={"comment": "ok\u0000"}, headers=EN), "/comment")
    bulk = {"ids": [rec], "verdict": "reject", "reason": "closed\u0000"}
    refused(operator.post("/api/approvals/bulk", json=bulk, headers=EN), "/reason")
    change = {"quantity": "30", "reason": "smaller\u0000"}
    refused(operator.patch(f"/api/recommendations/{rec}", json=change, headers=EN), "/reason")

    # Nothing reached the workflow: no vote, no failure, the same events, still pending and unchanged.
    row = approvals.row(rec)
    assert row["status"] == "pending" and row["update_count"] == 0 and row["resolution_reason"] is None
    assert approvals.event_types(rec) == events_before

    # The approval goes on: a reject with a plain reason ends it, once, through the workflow.
    response = operator.post(f"/api/recommendations/{rec}/reject", json={"reason": "Supplier closed"}, headers=EN)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "rejected"
    assert approvals.workflow_result(rec) == "rejected"
    row = approvals.row(rec)
    assert row["status"] == "rejected" and row["resolution_reason"] == "Supplier closed"
    assert approvals.count(rec, "approval_resolved") == 1
