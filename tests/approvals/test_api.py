"""The approval API: what waits for me and for my team, bulk decisions, changing a quantity, and every route's
roles and tenant isolation."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.services import html_page

EN = {"Accept-Language": "en"}


@pytest.fixture(scope="module")
def team(approvals) -> dict[str, Any]:
    tenant = approvals.tenant()
    tenant.policy(approvals={"sandbox": {"low": 1, "medium": 1, "high": 2}})
    operator, operator_subject = tenant.member("operator")
    viewer, _ = tenant.member("viewer")
    other = approvals.tenant()
    return {
        "tenant": tenant,
        "operator": operator,
        "operator_subject": operator_subject,
        "viewer": viewer,
        "viewer_token": approvals.atlas.token_client(tenant.admin, "viewer"),
        "operator_token": approvals.atlas.token_client(tenant.admin, "operator"),
        "other": other,
    }


def ids_of(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()["items"]]


def test_mine_and_team(approvals, team):
    tenant, operator = team["tenant"], team["operator"]
    high = tenant.recommendation(priority="high")
    low = tenant.recommendation(kind="write_off", priority="low")
    medium = tenant.recommendation(priority="medium")
    changed = tenant.recommendation(priority="medium")
    for rec in (high, low, medium, changed):
        approvals.wait_evaluated(rec)
    response = operator.patch(f"/api/recommendations/{changed}", json={"quantity": 12, "reason": "Half a pallet"})
    assert response.status_code == 200, response.text
    approvals.wait_evaluated(changed)

    team_ids = ids_of(operator.get("/api/approvals", params={"scope": "team", "limit": 500}))
    assert {high, low, medium, changed} <= set(team_ids)
    ours = [i for i in team_ids if i in {high, low, medium, changed}]
    assert ours.index(high) < ours.index(medium) < ours.index(low)  # priority first

    mine = ids_of(operator.get("/api/approvals", params={"limit": 500}))  # scope=mine is the default
    assert {high, low, medium} <= set(mine) and changed not in mine  # four-eyes: I changed it
    entry = next(e for e in operator.get("/api/approvals").json()["items"] if e["id"] == high)
    assert entry["can_decide"] and entry["required"] == 2 and entry["approvals"] == 0 and entry["sku"]
    low_entry = next(e for e in operator.get("/api/approvals").json()["items"] if e["id"] == low)
    assert low_entry["dry_run_required"] and not low_entry["dry_run_done"]

    assert operator.post(f"/api/recommendations/{high}/approve").json()["approvals"] == 1
    assert high not in ids_of(operator.get("/api/approvals", params={"limit": 500}))  # I voted on it
    assert high in ids_of(tenant.admin.get("/api/approvals", params={"limit": 500}))  # the admin has not
    assert changed in ids_of(tenant.admin.get("/api/approvals", params={"limit": 500}))

    # A viewer may not decide: nothing is theirs; the team's list is readable.
    assert ids_of(team["viewer"].get("/api/approvals")) == []
    assert set(ids_of(team["viewer"].get("/api/approvals", params={"scope": "team", "limit": 500}))) >= {high, low}

    # Filters.
    only_low = ids_of(operator.get("/api/approvals", params={"scope": "team", "priority": "low", "limit": 500}))
    assert low in only_low and high not in only_low
    only_write_off = ids_of(operator.get("/api/approvals", params={"scope": "team", "type": "write_off"}))
    assert low in only_write_off and medium not in only_write_off
    location = tenant.location()
    assert medium in ids_of(operator.get("/api/approvals", params={"scope": "team", "location_id": location}))
    assert ids_of(operator.get("/api/approvals", params={"scope": "team", "location_id": str(uuid.uuid4())})) == []
    for params in ({"scope": "everyone"}, {"type": "buy"}, {"priority": "urgent"}):
        bad = operator.get("/api/approvals", params=params, headers=EN)
        assert bad.status_code == 422, (params, bad.text)
        assert bad.json()["type"] == "urn:atlas:problem:validation-failed"

    # The queue page shows the same.
    page = html_page(operator, "/app/approvals")
    assert page.status_code == 200 and f'data-id="{medium}"' in page.text and f'data-id="{changed}"' not in page.text
    team_page = html_page(operator, "/app/approvals?tab=team")
    assert f'data-id="{changed}"' in team_page.text and 'data-testid="not-mine"' in team_page.text
    viewer_page = html_page(team["viewer"], "/app/approvals")
    assert viewer_page.status_code == 200 and 'data-testid="bulk-bar"' not in viewer_page.text


def test_bulk_counts_each_against_policy_on_its_own(approvals, team):
    tenant, operator = team["tenant"], team["operator"]
    small = tenant.recommendation(priority="medium")
    needs_dry_run = tenant.recommendation(kind="write_off", priority="low")
    two = tenant.recommendation(priority="high")
    gone = tenant.recommendation(priority="medium")
    for rec in (small, needs_dry_run, two, gone):
        approvals.wait_evaluated(rec)
    assert operator.post(f"/api/recommendations/{gone}/reject", json={"reason": "Duplicate"}).status_code == 200
    foreign = team["other"].recommendation()

    body = {"ids": [small, needs_dry_run, two, gone, foreign, small], "verdict": "approve", "reason": "Weekly review"}
    response = operator.post("/api/approvals/bulk", json=body, headers=EN)
    assert response.status_code == 200, response.text
    result = response.json()
    by_id = {r["id"]: r for r in result["results"]}
    assert len(result["results"]) == 5  # the repeated id once
    assert by_id[small]["ok"] and by_id[small]["status"] == "approved"
    assert not by_id[needs_dry_run]["ok"] and by_id[needs_dry_run]["http_status"] == 409
    assert [r["code"] for r in by_id[needs_dry_run]["reasons"]] == ["dry_run_required"]
    assert "dry run" in by_id[needs_dry_run]["detail"]
    assert by_id[two]["ok"] and by_id[two]["status"] == "pending" and by_id[two]["approvals"] == 1
    assert not by_id[gone]["ok"] and by_id[gone]["recommendation_status"] == "rejected"
    assert not by_id[foreign]["ok"] and by_id[foreign]["http_status"] == 404
    assert (result["counted"], result["refused"]) == (2, 3)
    approvals.wait_status(small, "blocked_by_lock")
    assert approvals.row(foreign)["status"] == "pending" and approvals.count(foreign, "policy_evaluated") == 1

    for bad in (
        {"ids": [small], "verdict": "reject"},
        {"ids": [small], "verdict": "reject", "reason": " "},
        {"ids": [], "verdict": "approve"},
        {"ids": [small], "verdict": "maybe"},
        {"ids": ["not-a-uuid"], "verdict": "approve"},
        {"ids": [str(uuid.uuid4()) for _ in range(101)], "verdict": "approve"},
    ):
        refused = operator.post("/api/approvals/bulk", json=bad)
        assert refused.status_code == 422, (bad, refused.text)

    # One decision per person per revision: who approved it cannot also reject it; someone else can.
    mind_changed = operator.post("/api/approvals/bulk", json={"ids": [two], "verdict": "reject", "reason": "Hm"})
    assert [r["code"] for r in mind_changed.json()["results"][0]["reasons"]] == ["already_decided"]
    body = {"ids": [two], "verdict": "reject", "reason": "Too early"}
    rejected = tenant.admin.post("/api/approvals/bulk", json=body)
    assert rejected.json()["results"][0]["status"] == "rejected"
    assert approvals.row(two)["resolution_reason"] == "Too early"


def test_changing_a_quantity(approvals, team):
    tenant, operator = team["tenant"], team["operator"]
    rec = tenant.recommendation(quantity="40", unit_cost="12.50", value="500")
    approvals.wait_evaluated(rec)
    path = f"/api/recommendations/{rec}"
    for body in (
        {"quantity": -1, "reason": "x"},
        {"quantity": 0, "reason": "x"},
        {"quantity": "abc", "reason": "x"},
        {"quantity": "1.00001", "reason": "x"},
        {"quantity": "NaN", "reason": "x"},
        {"quantity": 5},
        {"quantity": 5, "reason": "  "},
        {"quantity": 5, "reason": "x", "status": "approved"},
    ):
        response = operator.patch(path, json=body, headers=EN)
        assert response.status_code == 422, (body, response.text)
    assert approvals.row(rec)["update_count"] == 0

    response = operator.patch(path, json={"quantity": "50.5", "reason": "Supplier minimum"})
    assert response.status_code == 200, response.text
    assert response.json()["quantity"] == "50.5000" or float(response.json()["quantity"]) == 50.5
    assert float(response.json()["value"]) == 631.25  # the unit value is kept
    assert response.json()["update_count"] == 1 and response.json()["last_changed_by"] == team["operator_subject"]
    (changed,) = [p for t, p, _ in approvals.events(rec) if t == "recommendation_changed"]
    assert changed["quantity"] == {"from": "40.0000", "to": "50.5000"} and changed["reason"] == "Supplier minimum"
    approvals.wait_evaluated(rec)

    assert operator.post(f"/api/recommendations/{rec}/reject", json={"reason": "No"}).status_code == 200
    closed = operator.patch(path, json={"quantity": 10, "reason": "late"})
    assert closed.status_code == 409 and closed.json()["type"] == "urn:atlas:problem:not-pending"


def test_every_route_checks_roles_and_tenants(approvals, team):
    tenant = team["tenant"]
    rec = tenant.recommendation()
    approvals.wait_evaluated(rec)
    writes = [
        ("POST", f"/api/recommendations/{rec}/approve", {}),
        ("POST", f"/api/recommendations/{rec}/reject", {"reason": "no"}),
        ("POST", f"/api/recommendations/{rec}/dry-run", None),
        ("PATCH", f"/api/recommendations/{rec}", {"quantity": 3, "reason": "x"}),
        ("POST", "/api/approvals/bulk", {"ids": [rec], "verdict": "approve"}),
    ]
    reads = [
        ("GET", f"/api/recommendations/{rec}/timeline", None),
        ("GET", f"/api/recommendations/{rec}/approval", None),
        ("GET", "/api/approvals?scope=team", None),
    ]
    anonymous = approvals.atlas.client(headers={"Accept": "application/json"})
    for method, path, body in writes + reads:
        assert anonymous.request(method, path, json=body).status_code == 401, path
    for viewer in (team["viewer"], team["viewer_token"]):
        for method, path, body in writes:
            response = viewer.request(method, path, json=body)
            assert response.status_code == 403, (method, path, response.status_code)
            assert response.headers["content-type"].startswith("application/problem+json")
        for method, path, body in reads:
            assert viewer.request(method, path, json=body).status_code == 200, path
    assert approvals.row(rec)["status"] == "pending" and approvals.row(rec)["update_count"] == 0

    # Another tenant's admin (and a platform admin of another tenant): 404, and nothing changes.
    outsider = team["other"].admin
    approvals.atlas.sql(
        "UPDATE users SET platform_role = 'platform_admin' WHERE id = %s", (team["other"].me["user_id"],)
    )
    before = approvals.event_types(rec)
    for method, path, body in writes[:4] + reads[:2]:
        response = outsider.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.status_code, response.text)
        assert response.json()["type"] == "urn:atlas:problem:not-found"
    assert rec not in ids_of(outsider.get("/api/approvals", params={"scope": "team", "limit": 500}))
    assert html_page(outsider, f"/app/recommendations/{rec}").status_code == 404
    assert approvals.event_types(rec) == before and approvals.row(rec)["status"] == "pending"

    # An operator's API token may decide (its subject is the token).
    approved = team["operator_token"].post(f"/api/recommendations/{rec}/approve")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    votes = approvals.atlas.sql("SELECT subject, role FROM approval_decisions WHERE recommendation_id = %s", (rec,))
    assert votes[0][0].startswith("token:") and votes[0][1] == "operator"


def test_without_temporal_a_vote_answers_503_and_nothing_is_lost(atlas):
    """The `atlas` fixture runs without Temporal: a vote cannot reach its workflow, so it is refused as
    unavailable (the row is unchanged); a change of quantity is still saved (the workflow catches up later)."""
    from atlas.mapping.demo_setup import demo_connector_body
    from tests.approvals.conftest import ApprovalStack, Tenant

    admin, me = atlas.new_tenant()
    connector = admin.post("/api/connectors", json=demo_connector_body("http://127.0.0.1:9", name="No Temporal ERP"))
    assert connector.status_code == 201, connector.text
    tenant = Tenant(ApprovalStack(atlas, None, "", ""), admin, me, connector.json()["id"])  # type: ignore[arg-type]
    rec = tenant.recommendation(start=False)
    response = admin.post(f"/api/recommendations/{rec}/approve", headers=EN)
    assert response.status_code == 503, response.text
    assert response.json()["type"] == "urn:atlas:problem:unavailable" and response.json()["detail"]
    changed = admin.patch(f"/api/recommendations/{rec}", json={"quantity": 7, "reason": "Fewer"})
    assert changed.status_code == 200 and changed.json()["update_count"] == 1
    rows = atlas.sql("SELECT status, update_count FROM recommendations WHERE id = %s", (rec,))
    assert rows == [("pending", 1)]
    assert atlas.sql("SELECT count(*) FROM approval_decisions WHERE recommendation_id = %s", (rec,)) == [(0,)]
