"""Many people at once, and a worker that dies between the approval and the lock: exactly one of everything."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest


@pytest.fixture(scope="module")
def team(approvals) -> dict[str, Any]:
    tenant = approvals.tenant()
    tenant.policy(approvals={"sandbox": {"low": 1, "medium": 1, "high": 2}})
    operators = [approvals.atlas.token_client(tenant.admin, "operator") for _ in range(6)]
    return {"tenant": tenant, "operators": operators}


def all_at_once(clients: list[Any], path: str) -> list[Any]:
    """Every client POSTs ``path`` at the same moment (a barrier releases the threads together)."""
    barrier = threading.Barrier(len(clients))

    def call(client: Any) -> Any:
        barrier.wait()
        return client.post(path)

    with ThreadPoolExecutor(len(clients)) as pool:
        return list(pool.map(call, clients))


def test_concurrent_approvals_make_exactly_one_transition(approvals, team):
    rec = team["tenant"].recommendation(priority="medium")  # one approver
    approvals.wait_evaluated(rec)
    responses = all_at_once(team["operators"], f"/api/recommendations/{rec}/approve")
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * (len(responses) - 1), [r.text for r in responses]
    winner = next(r.json() for r in responses if r.status_code == 200)
    assert winner["status"] == "approved" and winner["transitioned"] is True
    assert all(r.json()["type"] == "urn:atlas:problem:not-pending" for r in responses if r.status_code == 409)

    approvals.wait_status(rec, "blocked_by_lock")
    assert approvals.workflow_result(rec) == "blocked_by_lock"
    assert approvals.count(rec, "approval_resolved") == 1
    assert approvals.count(rec, "action_blocked") == 1
    assert len(approvals.drafts(rec)) == 1
    decisions = approvals.atlas.sql("SELECT count(*) FROM approval_decisions WHERE recommendation_id = %s", (rec,))
    assert decisions == [(1,)]


def test_the_same_person_approving_many_times_at_once_counts_once(approvals, team):
    rec = team["tenant"].recommendation(priority="high")  # two approvers
    approvals.wait_evaluated(rec)
    same = team["operators"][0]
    responses = all_at_once([same] * 4, f"/api/recommendations/{rec}/approve")
    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 409, 409, 409], [r.text for r in responses]
    refused = [r.json() for r in responses if r.status_code == 409]
    assert all([x["code"] for x in p["reasons"]] == ["already_voted"] for p in refused)
    assert approvals.row(rec)["status"] == "pending"
    decisions = approvals.atlas.sql("SELECT count(*) FROM approval_decisions WHERE recommendation_id = %s", (rec,))
    assert decisions == [(1,)]


def test_a_worker_killed_between_approval_and_lock_finishes_once(approvals, team):
    """The lock step is held up (its draft insert waits on a table lock) while the worker is killed; a new
    worker takes the step over and the workflow ends with exactly one of each event."""
    rec = team["tenant"].recommendation()
    approvals.wait_evaluated(rec)
    with psycopg.connect(approvals.atlas.database_url) as conn:
        conn.execute("LOCK TABLE execution_drafts IN EXCLUSIVE MODE")  # reads pass; the lock's insert waits
        response = team["operators"][1].post(f"/api/recommendations/{rec}/approve")
        assert response.status_code == 200 and response.json()["status"] == "approved", response.text
        approvals.wait_status(rec, "ready_for_execution")
        approvals.worker.kill()
        conn.rollback()
    assert approvals.row(rec)["status"] == "ready_for_execution"
    approvals.worker.start()
    approvals.wait_status(rec, "blocked_by_lock", timeout=90)
    assert approvals.workflow_result(rec) == "blocked_by_lock"
    assert approvals.event_types(rec) == [
        "policy_evaluated",
        "approval_requested",
        "policy_evaluated",
        "approval_resolved",
        "action_blocked",
    ]
    assert len(approvals.drafts(rec)) == 1
    # The restarted worker carries on with new work as usual.
    after = team["tenant"].recommendation()
    approvals.wait_evaluated(after, timeout=60)
