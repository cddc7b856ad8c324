"""Policies over HTTP and on their page: versions, audit, RBAC, validation messages, tenant isolation; and
the `policy_evaluated` audit event that every evaluation writes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from atlas.db.engine import Database
from atlas.platform.audit import Actor
from tests.execution_lock.seed import run
from tests.services import html_page


@pytest.fixture(scope="module")
def team(atlas) -> dict[str, Any]:
    admin, me = atlas.new_tenant()
    operator, _ = atlas.member_client(admin, "operator")
    viewer, _ = atlas.member_client(admin, "viewer")
    return {"admin": admin, "operator": operator, "viewer": viewer, "me": me, "tenant_id": me["tenant_id"]}


def audit(atlas: Any, tenant_id: str, event_type: str) -> list[tuple[Any, ...]]:
    return atlas.sql(
        "SELECT actor, payload FROM audit_events WHERE tenant_id = %s AND event_type = %s ORDER BY seq",
        (tenant_id, event_type),
    )


def test_versions_history_and_audit(atlas, team):
    admin, viewer = team["admin"], team["viewer"]
    start = viewer.get("/api/policies").json()
    assert start["version"] == 0 and start["history"] == [] and start["rules"] == start["defaults"]
    assert start["rules"]["max_items_per_action"] == 50

    first = admin.post("/api/policies", json={"rules": {"max_items_per_action": 20}, "note": "tighter"})
    assert first.status_code == 201, first.text
    assert first.json()["version"] == 1 and first.json()["rules"]["max_items_per_action"] == 20
    second = admin.post(
        "/api/policies",
        json={"rules": {"approvals": {"sandbox": {"high": 2}}, "dry_run_required_over_value_sar": None}},
    )
    assert second.status_code == 201 and second.json()["version"] == 2
    rules = second.json()["rules"]
    # Fields left out keep the active version's values; approvals change cell by cell.
    assert rules["max_items_per_action"] == 20
    assert rules["approvals"]["sandbox"] == {"low": 1, "medium": 1, "high": 2}
    assert rules["approvals"]["production"]["high"] == 2
    assert rules["dry_run_required_over_value_sar"] is None

    now = viewer.get("/api/policies").json()
    assert now["version"] == 2 and now["rules"] == rules
    assert [(h["version"], h["note"]) for h in now["history"]] == [(2, ""), (1, "tighter")]
    assert now["history"][1]["author"] == f"user:{team['me']['user_id']}"
    one = viewer.get("/api/policies/versions/1").json()
    assert one["rules"]["max_items_per_action"] == 20 and one["rules"]["approvals"]["sandbox"]["high"] == 1
    assert viewer.get("/api/policies/versions/0").json()["rules"] == start["defaults"]
    missing = viewer.get("/api/policies/versions/9", headers={"Accept-Language": "en"})
    assert missing.status_code == 404 and missing.json()["detail"] == "This policy version does not exist."

    events = audit(atlas, team["tenant_id"], "policy_changed")
    assert [(e[1]["version"], e[1]["previous_version"]) for e in events] == [(1, 0), (2, 1)]
    assert events[0][1]["changed"] == ["max_items_per_action"] and events[0][1]["note"] == "tighter"
    assert events[1][1]["changed"] == ["approvals", "dry_run_required_over_value_sar"]
    assert events[0][0] == f"user:{team['me']['user_id']}"


def test_only_admins_change_policies(atlas, team):
    before = team["viewer"].get("/api/policies").json()["version"]
    for name in ("operator", "viewer"):
        response = team[name].post("/api/policies", json={"rules": {"max_items_per_action": 1}})
        assert response.status_code == 403, name
    for role in ("operator", "viewer"):
        assert atlas.token_client(team["admin"], role).post("/api/policies", json={"rules": {}}).status_code == 403
    token = atlas.token_client(team["admin"], "admin")
    assert token.post("/api/policies", json={"rules": {}, "note": "by token"}).status_code == 201
    assert team["viewer"].get("/api/policies").json()["version"] == before + 1


@pytest.mark.parametrize(
    ("body", "field", "english"),
    [
        ({"rules": {"max_items_per_action": 0}}, "max_items_per_action", "must be between 1 and 1000000"),
        ({"rules": {"approvals": {"production": {"high": 3}}}}, "approvals.production.high", "must be 1 or 2"),
        ({"rules": {"dry_run_required_types": ["ship"]}}, "dry_run_required_types", "“ship” is not allowed"),
        ({"rules": {"expiry_hours": 5, "reminder_before_hours": 6}}, "reminder_before_hours", "before expiry"),
        ({"rules": {"colour": "red"}}, "colour", "no field “colour”"),
        ({"rules": "strict"}, "rules", "Send the policy in “rules”"),
        ({"rules": {}, "extra": 1}, "extra", "Send the policy in “rules”"),
        ({"rules": {}, "note": "x" * 2001}, "note", "at most 2000 characters"),
    ],
)
def test_bad_input_is_422_naming_the_field_in_both_languages(team, body, field, english):
    admin = team["admin"]
    version = admin.get("/api/policies").json()["version"]
    response = admin.post("/api/policies", json=body, headers={"Accept-Language": "en"})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["field"] == field and english in problem["detail"], problem
    arabic = admin.post("/api/policies", json=body, headers={"Accept-Language": "ar"}).json()
    assert arabic["detail"] != problem["detail"] and arabic["field"] == field
    assert admin.get("/api/policies").json()["version"] == version  # nothing saved


def test_a_body_that_is_not_json_is_a_clear_error(team):
    response = team["admin"].post("/api/policies", content=b"{oops", headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 422)
    assert response.headers["content-type"].startswith("application/problem+json")


def test_another_tenant_never_sees_these_policies(atlas, team):
    team["admin"].post("/api/policies", json={"rules": {"max_items_per_action": 7}})
    other, other_me = atlas.new_tenant()
    mine = other.get("/api/policies").json()
    assert mine["version"] == 0 and mine["history"] == [] and mine["rules"]["max_items_per_action"] == 50
    assert other.get("/api/policies/versions/1").status_code == 404
    assert atlas.as_app_role("SELECT count(*) FROM policies", tenant_id=other_me["tenant_id"])[0][0] == 0
    assert atlas.as_app_role("SELECT count(*) FROM policies", tenant_id=team["tenant_id"])[0][0] >= 1


def test_the_page_is_a_form_for_admins_and_read_only_for_others(team):
    admin_page = html_page(team["admin"], "/app/policies")
    assert admin_page.status_code == 200
    assert 'data-testid="policy-save"' in admin_page.text and "policies-read-only" not in admin_page.text
    assert 'data-testid="policy-history-row"' in admin_page.text
    for name in ("operator", "viewer"):
        page = html_page(team[name], "/app/policies")
        assert page.status_code == 200
        assert 'data-testid="policies-read-only"' in page.text and '<fieldset class="stack" disabled>' in page.text
        assert 'data-testid="policy-save"' not in page.text
    compare = html_page(team["viewer"], "/app/policies?left=1&right=2")
    assert 'data-testid="policy-diff"' in compare.text and 'data-field="approvals"' in compare.text
    viewer = team["viewer"]
    try:
        viewer.cookies.set("atlas_lang", "en")
        english = html_page(viewer, "/app/policies").text
        viewer.cookies.set("atlas_lang", "ar")
        arabic = html_page(viewer, "/app/policies").text
    finally:
        viewer.cookies.delete("atlas_lang")
    assert 'lang="en"' in english and "Blast-radius limits" in english
    assert 'lang="ar"' in arabic and "حدود نطاق التأثير" in arabic


def test_every_evaluation_is_audited_with_its_outcome_and_reasons(atlas, database_url, team):
    from atlas.policy.rules import PolicyRules, Voter, evaluate_proposal, evaluate_vote
    from atlas.policy.services import active_policy, audit_evaluation
    from tests.execution_lock.seed import load_recommendation, seed

    tenant_id = uuid.UUID(team["tenant_id"])
    actor = Actor("system", "test")

    async def work(database: Database) -> tuple[int, PolicyRules, str]:
        from atlas.policy.services import proposal_of

        seeded = await seed(database, tenant_id)
        rec_id = seeded.recs["transfer"]
        async with database.tenant_session(tenant_id) as session:
            version, rules = await active_policy(session)
            rec = await session.merge(await load_recommendation(database, tenant_id, rec_id))
            facts = await proposal_of(session, rec)
            refused = evaluate_proposal(PolicyRules.from_json({"max_items_per_action": 1}), facts)
            assert refused.allowed  # one item is within a limit of one
            decision = evaluate_proposal(rules, facts)
            await audit_evaluation(
                session,
                actor=actor,
                correlation_id=rec.correlation_id,
                recommendation_id=rec_id,
                policy_version=version,
                stage="proposal",
                decision=decision,
            )
            vote = evaluate_vote(rules, facts, Voter("user:o", "operator"), "approve", frozenset())
            await audit_evaluation(
                session,
                actor=Actor("user:o"),
                correlation_id=rec.correlation_id,
                recommendation_id=rec_id,
                policy_version=version,
                stage="approve",
                decision=vote,
            )
        return version, rules, str(rec_id)

    version, rules, rec_id = run(database_url, work)
    rows = [p for _, p in audit(atlas, team["tenant_id"], "policy_evaluated") if p["recommendation_id"] == rec_id]
    assert [(p["stage"], p["outcome"], p["policy_version"]) for p in rows] == [
        ("proposal", "allowed", version),
        ("approve", "refused", version),
    ]
    assert "dry_run_required_by_type" in [r["code"] for r in rows[0]["reasons"]]
    assert rows[0]["requirements"]["approvals"] == rules.approvals["production"]["medium"]
    assert [r["code"] for r in rows[1]["reasons"]] == ["dry_run_required"]
