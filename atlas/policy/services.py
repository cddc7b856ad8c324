"""Policies in the database: the active version, saving a new one, the facts a proposal is judged on,
and the `policy_evaluated` audit event of every evaluation.

A tenant without a saved policy has version 0: the defaults of `PolicyRules`.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.ai_engine.analysis import AnalysisSettings
from atlas.ai_engine.classes import ClassSettings
from atlas.ai_engine.models import Recommendation
from atlas.connectors.models import Connector
from atlas.db.engine import tenant_context
from atlas.errors import NotFound
from atlas.execution_lock.models import ExecutionDraft
from atlas.mapping.models import Item
from atlas.platform.audit import Actor, EventType, record
from atlas.platform.tenancy import TenantRepository
from atlas.policy.models import Policy
from atlas.policy.rules import PolicyRules, Proposal, ProposalDecision, VoteDecision

NOTE_MAX = 2000


class PolicyRepo(TenantRepository[Policy]):
    model = Policy
    not_found_key = "errors.policy_version_not_found"


async def active_policy(session: AsyncSession) -> tuple[int, PolicyRules]:
    """The tenant's newest policy version and its rules; ``(0, PolicyRules())`` when none was saved."""
    repo = PolicyRepo(session)
    row = (await session.execute(repo.select().order_by(Policy.version.desc()).limit(1))).scalar_one_or_none()
    if row is None:
        return 0, PolicyRules()
    return row.version, PolicyRules.from_json(row.rules)


async def analysis_settings(session: AsyncSession) -> AnalysisSettings:
    """The analysis settings the tenant's active policy sets: the service level of each ABC/XYZ class."""
    _, rules = await active_policy(session)
    return AnalysisSettings(classes=ClassSettings(service_levels=dict(rules.service_levels)))


async def pending_recommendations(session: AsyncSession) -> list[uuid.UUID]:
    """The tenant's recommendations waiting for a decision (their workflows judge them again on a new policy)."""
    tenant_id = tenant_context(session).tenant_id
    rows = await session.execute(
        select(Recommendation.id).where(Recommendation.tenant_id == tenant_id, Recommendation.status == "pending")
    )
    return list(rows.scalars())


async def pending_count(session: AsyncSession) -> int:
    """How many of the tenant's recommendations wait for a decision."""
    tenant_id = tenant_context(session).tenant_id
    found = await session.execute(
        select(func.count())
        .select_from(Recommendation)
        .where(Recommendation.tenant_id == tenant_id, Recommendation.status == "pending")
    )
    return int(found.scalar_one())


def merge_rules(active: PolicyRules, changes: dict[str, Any]) -> dict[str, Any]:
    """The active rules with ``changes`` over them (approvals cell by cell, service levels class by class),
    for `PolicyRules.from_json`."""
    merged = active.to_json()
    for key, value in changes.items():
        if key == "approvals" and isinstance(value, dict):
            table = {env: dict(cells) for env, cells in merged["approvals"].items()}
            for env, cells in value.items():
                table[env] = {**table.get(env, {}), **cells} if isinstance(cells, dict) else cells
            merged["approvals"] = table
        elif key == "service_levels" and isinstance(value, dict):
            merged["service_levels"] = {**merged["service_levels"], **value}
        else:
            merged[key] = value
    return merged


async def save_policy(session: AsyncSession, *, actor: Actor, rules: PolicyRules, note: str) -> int:
    """Store ``rules`` as the tenant's next version (immutable) and audit `policy_changed`; returns the version."""
    repo = PolicyRepo(session)
    # Two admins saving at once get consecutive versions, not a unique-key error.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended('atlas.policies:' || :tenant, 0))"),
        {"tenant": str(repo.tenant_id)},
    )
    previous_version, previous = await active_policy(session)
    version = previous_version + 1
    note = (note or "").strip()[:NOTE_MAX]
    await repo.add(
        Policy(version=version, rules=rules.to_json(), author=actor.ref, author_display=actor.display, note=note)
    )
    before, after = previous.to_json(), rules.to_json()
    await record(
        session,
        EventType.POLICY_CHANGED,
        actor=actor,
        correlation_id=f"policy-{repo.tenant_id}-v{version}",
        payload={
            "version": version,
            "previous_version": previous_version,
            "note": note,
            "changed": sorted(k for k in after if after[k] != before.get(k)),
            "rules": after,
        },
    )
    return version


async def policy_version(session: AsyncSession, version: int) -> dict[str, Any]:
    """One saved version (404 when it does not exist in this tenant); version 0 is the defaults."""
    if version == 0:
        return {
            "version": 0,
            "rules": PolicyRules().to_json(),
            "author": None,
            "author_display": None,
            "note": "",
            "created_at": None,
        }
    row = await PolicyRepo(session).one_or_none(Policy.version == version)
    if row is None:
        raise NotFound("errors.policy_version_not_found", version=version)
    return _version_dict(row)


async def policy_history(session: AsyncSession) -> list[dict[str, Any]]:
    """Every saved version, newest first (without the rules)."""
    rows = await PolicyRepo(session).list(order_by=[Policy.version.desc()])
    return [{k: v for k, v in _version_dict(r).items() if k != "rules"} for r in rows]


def _version_dict(row: Policy) -> dict[str, Any]:
    return {
        "version": row.version,
        "rules": row.rules,
        "author": row.author,
        "author_display": row.author_display,
        "note": row.note,
        "created_at": row.created_at,
    }


async def proposal_of(session: AsyncSession, recommendation: Recommendation) -> Proposal:
    """The facts policy judges a recommendation on, read in the caller's (tenant) transaction: the item's cost,
    its connector's environment and whether this revision had its dry run, in one query."""
    tenant_id = _ItemRepo(session).tenant_id
    dry_runs = (
        select(func.count())
        .select_from(ExecutionDraft)
        .where(
            ExecutionDraft.tenant_id == recommendation.tenant_id,
            ExecutionDraft.recommendation_id == recommendation.id,
            ExecutionDraft.revision == recommendation.update_count,
            ExecutionDraft.kind == "dry_run",
        )
        .scalar_subquery()
    )
    facts = (
        select(Item.unit_cost, Connector.environment, dry_runs)
        .select_from(Item)
        .outerjoin(Connector, (Connector.tenant_id == Item.tenant_id) & (Connector.id == Item.connector_id))
        .where(Item.tenant_id == tenant_id, Item.id == recommendation.item_id)
    )
    row = (await session.execute(facts)).first()
    unit_cost: Decimal | None = None
    environment = "production"  # unknown (no item or no connector): the safe side
    if row is None:
        dry_run_count = (await session.execute(select(dry_runs))).scalar_one()
    else:
        unit_cost, connector_environment, dry_run_count = row
        environment = connector_environment or environment
    value = recommendation.value
    if value is None and unit_cost is not None:
        value = (recommendation.quantity * unit_cost).quantize(Decimal("0.01"))
    return Proposal(
        recommendation_id=recommendation.id,
        type=recommendation.type,
        priority=recommendation.priority,
        environment=environment,
        item_count=1,
        quantity=recommendation.quantity,
        value_sar=value,
        created_by=recommendation.created_by,
        last_changed_by=recommendation.last_changed_by,
        dry_run_done=int(dry_run_count) > 0,
    )


class _ItemRepo(TenantRepository[Item]):
    model = Item


async def audit_evaluation(
    session: AsyncSession,
    *,
    actor: Actor,
    correlation_id: str,
    recommendation_id: uuid.UUID,
    policy_version: int,
    stage: str,
    decision: ProposalDecision | VoteDecision,
) -> None:
    """Write `policy_evaluated`: outcome (allowed/refused), reasons, stage (proposal/approve/reject), version."""
    payload: dict[str, Any] = {
        "recommendation_id": str(recommendation_id),
        "stage": stage,
        "policy_version": policy_version,
        **decision.to_json(),
    }
    await record(session, EventType.POLICY_EVALUATED, actor=actor, correlation_id=correlation_id, payload=payload)
