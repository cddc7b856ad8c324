"""The lock against the real database: attempt and dry run store immutable drafts and audit them, never
change the recommendation, and a draft is only visible to its tenant."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
import pytest

from atlas.db.engine import Database
from atlas.platform.audit import Actor
from tests.execution_lock.seed import API_KEY, Seeded, load_recommendation, new_tenant, run, seed

ACTOR = Actor("user:lock-test", "lock@example.sa")


@pytest.fixture(scope="module")
def seeded(database_url: str) -> Seeded:
    async def work(database: Database) -> Seeded:
        return await seed(database, await new_tenant(database))

    return run(database_url, work)


def audit_rows(database_url: str, tenant_id: uuid.UUID, event_type: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT actor, correlation_id, payload FROM audit_events"
            " WHERE tenant_id = %s AND event_type = %s ORDER BY seq",
            (tenant_id, event_type),
        ).fetchall()


def test_attempt_stores_a_blocked_draft_audits_it_and_changes_nothing_else(database_url, seeded):
    from atlas.approvals.lock_actions import attempt
    from atlas.execution_lock.lock import Blocked, latest_blocked

    rec_id = seeded.recs["reorder"]

    async def work(database: Database) -> tuple[Any, Any, Any, Any]:
        async with database.tenant_session(seeded.tenant_id) as session:
            rec = await load_recommendation(database, seeded.tenant_id, rec_id)
            rec = await session.merge(rec)
            first = await attempt(session, rec, actor=ACTOR, correlation_id=rec.correlation_id)
            again = await attempt(session, rec, actor=ACTOR, correlation_id=rec.correlation_id)  # a retried activity
            draft = await latest_blocked(session, rec_id)
        after = await load_recommendation(database, seeded.tenant_id, rec_id)
        return first, again, draft, after

    first, again, draft, after = run(database_url, work)
    assert isinstance(first, Blocked) and first.reason == "execution_lock"
    assert again == first  # idempotent per revision: one draft, one audit event
    assert after.status == "pending" and after.update_count == 0  # the caller moves the status, not the lock
    assert draft["id"] == str(first.draft_id) and draft["kind"] == "blocked" and draft["sendable"] is False
    assert draft["request"]["url"] == "http://127.0.0.1:9/erp/api/v1/purchase-orders"
    assert API_KEY not in json.dumps(draft)
    events = [p for a, c, p in audit_rows(database_url, seeded.tenant_id, "action_blocked") if p.get("draft_id")]
    assert len(events) == 1
    payload = events[0]
    assert payload["recommendation_id"] == str(rec_id)
    assert payload["draft_id"] == str(first.draft_id)
    assert payload["reason"] == "execution_lock" and payload["source"] == "approval_workflow"


def test_dry_run_stores_the_impact_for_the_current_revision(database_url, seeded):
    from atlas.approvals.lock_actions import dry_run
    from atlas.execution_lock.lock import latest_dry_run
    from atlas.policy.services import proposal_of

    rec_id = seeded.recs["transfer"]

    async def work(database: Database) -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with database.tenant_session(seeded.tenant_id) as session:
            rec = await session.merge(await load_recommendation(database, seeded.tenant_id, rec_id))
            out["before"] = await proposal_of(session, rec)
            out["result"] = await dry_run(session, rec, actor=ACTOR, correlation_id=rec.correlation_id)
            out["after"] = await proposal_of(session, rec)
            out["latest"] = await latest_dry_run(session, rec_id, 0)
            out["other_revision"] = await latest_dry_run(session, rec_id, 1)
            # A new revision of the recommendation (the AI engine updated it) needs its own dry run.
            rec.update_count = 1
            await session.flush()
            out["next"] = await proposal_of(session, rec)
        return out

    out = run(database_url, work)
    assert out["before"].dry_run_done is False and out["after"].dry_run_done is True
    assert out["next"].dry_run_done is False
    result = out["result"]
    assert result["draft"]["kind"] == "dry_run" and result["draft"]["revision"] == 0
    impact = result["impact"]
    assert impact["items"] == 1 and impact["quantity"] == 20 and impact["value_sar"] == "250.00"
    assert impact["locations"] == ["WH-1", "ST-1"]
    assert [(s["available_before"], s["available_after"]) for s in impact["stock"]] == [(100, 80), (4, 24)]
    assert out["latest"]["id"] == result["draft"]["id"]
    assert out["other_revision"] is None
    events = audit_rows(database_url, seeded.tenant_id, "dry_run_completed")
    assert [p["draft_id"] for _, _, p in events] == [result["draft"]["id"]]
    assert events[0][0] == ACTOR.ref


def test_proposal_facts_come_from_the_item_and_its_connector(database_url, seeded):
    from atlas.policy.services import proposal_of

    async def work(database: Database) -> dict[str, Any]:
        async with database.tenant_session(seeded.tenant_id) as session:
            return {
                kind: await proposal_of(
                    session, await session.merge(await load_recommendation(database, seeded.tenant_id, rid))
                )
                for kind, rid in seeded.recs.items()
            }

    proposals = run(database_url, work)
    reorder = proposals["reorder"]
    assert (reorder.type, reorder.priority, reorder.environment, reorder.item_count) == (
        "reorder",
        "high",
        "production",
        1,
    )
    assert str(reorder.value_sar) == "500.00"  # quantity × unit cost, the recommendation had no value
    assert str(proposals["write_off"].value_sar) == "381.25"  # the recommendation's own value wins
    assert reorder.created_by == "ai_engine" and reorder.last_changed_by == "ai_engine"


def test_unknown_environment_is_production_and_a_sandbox_connector_is_sandbox(database_url):
    from decimal import Decimal

    from atlas.ai_engine.models import Recommendation
    from atlas.policy.services import proposal_of

    async def work(database: Database) -> tuple[str, Any]:
        tenant_id = await new_tenant(database)
        seeded = await seed(database, tenant_id, environment="sandbox", templates={})
        async with database.tenant_session(tenant_id) as session:
            rec = await session.merge(await load_recommendation(database, tenant_id, seeded.recs["reorder"]))
            sandbox = (await proposal_of(session, rec)).environment
            # An item that no longer exists: the facts fall back to the safe side.
            orphan = Recommendation(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                type="reorder",
                priority="high",
                item_id=uuid.uuid4(),
                location_id=uuid.uuid4(),
                quantity=Decimal(3),
                value=None,
                created_by="ai_engine",
                last_changed_by="user:x",
                update_count=0,
            )
            unknown = await proposal_of(session, orphan)
        return sandbox, unknown

    sandbox, unknown = run(database_url, work)
    assert sandbox == "sandbox"
    assert unknown.environment == "production" and unknown.value_sar is None
    assert unknown.last_changed_by == "user:x" and unknown.dry_run_done is False


def test_drafts_and_policies_are_insert_only_and_tenant_isolated(atlas, database_url, seeded):
    from atlas.approvals.lock_actions import dry_run
    from atlas.policy.rules import PolicyRules
    from atlas.policy.services import save_policy

    async def work(database: Database) -> str:
        async with database.tenant_session(seeded.tenant_id) as session:
            rec = await session.merge(await load_recommendation(database, seeded.tenant_id, seeded.recs["write_off"]))
            result = await dry_run(session, rec, actor=ACTOR, correlation_id="c")
            await save_policy(session, actor=ACTOR, rules=PolicyRules(), note="first")
        return str(result["draft"]["id"])

    draft_id = run(database_url, work)
    other = run(database_url, new_tenant)
    # The application role cannot change or delete a draft, even its own tenant's.
    for statement in (
        "UPDATE execution_drafts SET summary_en = 'x' WHERE id = %s",
        "DELETE FROM execution_drafts WHERE id = %s",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            atlas.as_app_role(statement, (draft_id,), tenant_id=seeded.tenant_id)
    # Not even the owner: a trigger refuses it.
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        atlas.sql("UPDATE execution_drafts SET summary_en = 'x' WHERE id = %s", (draft_id,))
    # Policy versions likewise.
    policy_id = atlas.as_app_role("SELECT id FROM policies LIMIT 1", tenant_id=seeded.tenant_id)[0][0]
    for statement in ("UPDATE policies SET note = 'x' WHERE id = %s", "DELETE FROM policies WHERE id = %s"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            atlas.as_app_role(statement, (policy_id,), tenant_id=seeded.tenant_id)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            atlas.sql(statement, (policy_id,))
    # Row-level security: another tenant sees none of them.
    assert atlas.as_app_role("SELECT count(*) FROM execution_drafts", tenant_id=other)[0][0] == 0
    assert atlas.as_app_role("SELECT count(*) FROM execution_drafts", tenant_id=seeded.tenant_id)[0][0] >= 1
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        atlas.as_app_role(
            "INSERT INTO execution_drafts (id, tenant_id, recommendation_id, revision, kind, action_type, action,"
            " impact, summary_en, summary_ar, correlation_id, created_by, created_at)"
            " VALUES (gen_random_uuid(), %s, gen_random_uuid(), 0, 'blocked', 'reorder', '{}', '{}', 'x', 'x', 'c',"
            " 's', now())",
            (seeded.tenant_id,),
            tenant_id=other,
        )
