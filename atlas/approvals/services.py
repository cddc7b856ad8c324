"""The approval workflow's database side: every transition is one transaction on the locked recommendation row.

Each function here is what one activity of `atlas.workflows.approval` does (or what the API reads). They
are idempotent: each starts with ``SELECT … FOR UPDATE`` on the recommendation and acts only if the row is
still in the state the step expects, so a step re-run after a crash finds the row already moved and does
nothing, and two people voting at the same moment are counted one after the other (plus the unique
``approval_decisions`` row per person and revision as the last wall). The row is the read model; the
workflow is the process; they never disagree because only these functions move the row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import and_, exists, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.ai_engine.models import Recommendation
from atlas.approvals.lock_actions import attempt, dry_run
from atlas.approvals.models import ApprovalDecision
from atlas.db.base import utcnow
from atlas.errors import Conflict, NotFound, ValidationFailed
from atlas.execution_lock.lock import latest_blocked, latest_dry_run
from atlas.execution_lock.models import ExecutionDraft
from atlas.i18n import translate
from atlas.mapping.models import Item, Location
from atlas.platform.audit import Actor, EventType, record
from atlas.platform.models import AuditEvent
from atlas.platform.services import AuditRepo
from atlas.platform.tenancy import TenantRepository
from atlas.policy.models import Policy
from atlas.policy.rules import Reason, VoteDecision, Voter, dry_run_reasons, evaluate_proposal, evaluate_vote
from atlas.policy.services import active_policy, audit_evaluation, proposal_of

WORKFLOW_ACTOR = Actor("approval_workflow", "Atlas approval workflow")
OPEN = "pending"
TERMINAL = frozenset({"rejected", "expired", "retired", "blocked_by_lock"})
REASON_MAX = 2000
PRIORITY_ORDER = ("high", "medium", "low")
TYPES = ("reorder", "transfer", "write_off", "investigate")


class RecommendationRepo(TenantRepository[Recommendation]):
    model = Recommendation
    not_found_key = "errors.recommendation_not_found"


class DecisionRepo(TenantRepository[ApprovalDecision]):
    model = ApprovalDecision


# --- results the workflow and the API share (plain data: they cross Temporal's boundary) -----------------


@dataclass
class Evaluation:
    """What the policy step found: the row's status after it, and when to remind and expire (seconds from now)."""

    status: str
    revision: int = 0
    allowed: bool = False
    required: int = 0
    expires_in: float | None = None
    remind_in: float | None = None
    reminded: bool = False


@dataclass
class Vote:
    """One person's decision as the API hands it to the workflow."""

    subject: str
    role: str
    verdict: str  # approve | reject
    reason: str | None = None
    display: str | None = None
    revision: int | None = None  # the revision the person saw; None: whatever is current
    vote_id: str | None = None  # idempotency key: the decision row's id, so a retried step is not counted twice


@dataclass
class VoteOutcome:
    """``result``: counted | refused | not_pending | revision_changed | needs_evaluation | missing."""

    result: str
    status: str
    revision: int = 0
    approvals: int = 0
    required: int = 0
    reasons: list[dict[str, Any]] = field(default_factory=list)
    transitioned: bool = False


@dataclass
class StepOutcome:
    status: str
    draft_id: str | None = None


# --- helpers -------------------------------------------------------------------------------------------


async def locked(session: AsyncSession, recommendation_id: uuid.UUID) -> Recommendation | None:
    """The recommendation with its row locked until the transaction ends (None: not in this tenant)."""
    repo = RecommendationRepo(session)
    statement = repo.select(Recommendation.id == recommendation_id).with_for_update()
    found: Recommendation | None = (await session.execute(statement)).scalar_one_or_none()
    return found


def scaled(duration: timedelta, hour_seconds: float) -> timedelta:
    """A policy duration (whole hours) in this deployment's hours (3600 s, or seconds in tests)."""
    return timedelta(seconds=duration.total_seconds() / 3600 * hour_seconds)


def reasons_text(reasons: list[dict[str, Any]], lang: str = "en") -> str:
    return " ".join(translate(f"policy.reason.{r['code']}", lang, **(r.get("params") or {})) for r in reasons)


def translated(reasons: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """Reasons as the API returns them: code, figures and the message in the request's language."""
    return [
        {
            "code": r["code"],
            "params": r.get("params") or {},
            "message": translate(f"policy.reason.{r['code']}", lang, **(r.get("params") or {})),
        }
        for r in reasons
    ]


async def _decisions(session: AsyncSession, rec: Recommendation, revision: int | None = None) -> list[ApprovalDecision]:
    return await DecisionRepo(session).list(
        ApprovalDecision.recommendation_id == rec.id,
        ApprovalDecision.revision == (rec.update_count if revision is None else revision),
        order_by=[ApprovalDecision.created_at, ApprovalDecision.id],
    )


def _deadlines(rec: Recommendation, now: datetime, remind_before: timedelta) -> tuple[float | None, float | None]:
    if rec.expires_at is None:
        return None, None
    expires_in = max((rec.expires_at - now).total_seconds(), 0.0)
    remind_in = None
    if remind_before.total_seconds() > 0 and rec.reminded_at is None:
        remind_in = max((rec.expires_at - remind_before - now).total_seconds(), 0.0)
    return expires_in, remind_in


async def _resolve(
    session: AsyncSession,
    rec: Recommendation,
    *,
    status: str,
    outcome: str,
    actor: Actor,
    reason: str | None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Move a pending recommendation to its resolution and write `approval_resolved`, once."""
    now = utcnow()
    rec.status = status
    rec.resolved_at = now
    rec.resolved_by = actor.ref
    rec.resolution_reason = reason
    rec.updated_at = now
    await session.flush()
    await record(
        session,
        EventType.APPROVAL_RESOLVED,
        actor=actor,
        correlation_id=rec.correlation_id,
        payload={
            "recommendation_id": str(rec.id),
            "outcome": outcome,
            "status": status,
            "revision": rec.update_count,
            "reason": reason,
            **(extra or {}),
        },
    )


# --- the workflow's steps ---------------------------------------------------------------------------------


async def evaluate(session: AsyncSession, recommendation_id: uuid.UUID, *, hour_seconds: float) -> Evaluation:
    """Judge the current revision against the tenant's active policy (once per revision and policy version)
    and store the result.

    Refused (blast radius): ``rejected`` with the policy's reasons and `approval_resolved`. Allowed:
    `approval_requested` (again after a revision: earlier approvals no longer count). Judged again because
    an admin saved a new policy (same revision): the approvals already given still count if the new policy
    would count them (role, four-eyes, the dry run), and when they are now enough the recommendation is
    ``approved``; otherwise `approval_requested` again with the new requirements. The expiry stays."""
    rec = await locked(session, recommendation_id)
    if rec is None:
        return Evaluation(status="missing")
    now = utcnow()
    if rec.workflow_started_at is None:
        rec.workflow_started_at = now
    version, rules = await active_policy(session)
    judged_revision = rec.policy_revision == rec.update_count and rec.policy_decision is not None
    if rec.status != OPEN or (judged_revision and rec.policy_version == version):
        # Already judged (a step run again): the reminder the evaluation asked for, not today's policy's.
        requirements = (rec.policy_decision or {}).get("requirements") or {}
        remind_before = scaled(timedelta(seconds=requirements.get("remind_before_seconds") or 0), hour_seconds)
        expires_in, remind_in = _deadlines(rec, now, remind_before) if rec.status == OPEN else (None, None)
        await session.flush()
        return Evaluation(
            status=rec.status,
            revision=rec.update_count,
            allowed=bool((rec.policy_decision or {}).get("allowed")),
            required=rec.required_approvals or 0,
            expires_in=expires_in,
            remind_in=remind_in,
            reminded=rec.reminded_at is not None,
        )
    proposal = await proposal_of(session, rec)
    decision = evaluate_proposal(rules, proposal)
    await audit_evaluation(
        session,
        actor=WORKFLOW_ACTOR,
        correlation_id=rec.correlation_id,
        recommendation_id=rec.id,
        policy_version=version,
        stage="proposal",
        decision=decision,
    )
    first = rec.policy_decision is None
    # The same revision judged again: the policy changed, not the recommendation.
    cause = "policy_changed" if judged_revision else (None if first else "revised")
    previous_version = rec.policy_version
    rec.policy_version = version
    rec.policy_revision = rec.update_count
    rec.policy_decision = {**decision.to_json(), "revision": rec.update_count}
    rec.required_approvals = decision.requirements.approvals
    if rec.expires_at is None:
        rec.expires_at = now + scaled(decision.requirements.expires_after, hour_seconds)
    remind_before = scaled(decision.requirements.remind_before, hour_seconds)
    reasons = [r.to_json() for r in decision.reasons]
    if not decision.allowed:
        await _resolve(
            session,
            rec,
            status="rejected",
            outcome="rejected_by_policy",
            actor=WORKFLOW_ACTOR,
            reason=reasons_text(reasons),
            extra={"reasons": reasons, "policy_version": version, "cause": cause},
        )
        return Evaluation(status=rec.status, revision=rec.update_count, required=rec.required_approvals)
    if cause == "policy_changed":
        still_counted = sorted(
            {
                d.subject
                for d in await _decisions(session, rec)
                if d.verdict == "approve"
                and d.role in rules.approver_roles
                and d.subject not in (proposal.created_by, proposal.last_changed_by)
            }
        )
        dry_run_done = proposal.dry_run_done or not dry_run_reasons(rules, proposal)
        if still_counted and dry_run_done and len(still_counted) >= max(rec.required_approvals, 1):
            # People already gave what the new policy asks for: approved now, in the policy change's name.
            await _resolve(
                session,
                rec,
                status="approved",
                outcome="approved",
                actor=WORKFLOW_ACTOR,
                reason=None,
                extra={
                    "approvals": still_counted,
                    "required": rec.required_approvals,
                    "policy_version": version,
                    "cause": cause,
                },
            )
            return Evaluation(status=rec.status, revision=rec.update_count, required=rec.required_approvals)
    await record(
        session,
        EventType.APPROVAL_REQUESTED,
        actor=WORKFLOW_ACTOR,
        correlation_id=rec.correlation_id,
        payload={
            "recommendation_id": str(rec.id),
            "revision": rec.update_count,
            "policy_version": version,
            "required_approvals": decision.requirements.approvals,
            "approver_roles": sorted(decision.requirements.approver_roles),
            "dry_run_required": decision.requirements.dry_run_required,
            "expires_at": rec.expires_at.isoformat(),
            "again": not first,
            "cause": cause,
            **({"previous_policy_version": previous_version} if cause == "policy_changed" else {}),
        },
    )
    expires_in, remind_in = _deadlines(rec, now, remind_before)
    return Evaluation(
        status=rec.status,
        revision=rec.update_count,
        allowed=True,
        required=rec.required_approvals,
        expires_in=expires_in,
        remind_in=remind_in,
        reminded=rec.reminded_at is not None,
    )


async def record_vote(session: AsyncSession, recommendation_id: uuid.UUID, vote: Vote) -> VoteOutcome:
    """Count one person's approve or reject, in one transaction on the locked row.

    Re-checks status and revision, asks policy (role, four-eyes, no double vote, the dry run when
    required), writes `policy_evaluated`, and, if allowed, the decision row and the transition it
    completes: reject → ``rejected`` with the reviewer's reason; the required distinct approvals →
    ``approved``. A refused vote changes nothing but the audit trail."""
    rec = await locked(session, recommendation_id)
    if rec is None:
        return VoteOutcome(result="missing", status="missing")
    required = rec.required_approvals or 0
    vote_id = uuid.UUID(vote.vote_id) if vote.vote_id else None
    # This revision's decisions and, in the same query, this very vote if it was counted before (any revision).
    current = ApprovalDecision.revision == rec.update_count
    found = await DecisionRepo(session).list(
        ApprovalDecision.recommendation_id == rec.id,
        or_(current, ApprovalDecision.id == vote_id) if vote_id else current,
        order_by=[ApprovalDecision.created_at, ApprovalDecision.id],
    )
    decisions = [d for d in found if d.revision == rec.update_count]
    if vote_id:
        done = next((d for d in found if d.id == vote_id), None)
        if done is not None:  # this very vote was counted before a crash: report it, count nothing again
            same_revision = (
                decisions if done.revision == rec.update_count else await _decisions(session, rec, done.revision)
            )
            return VoteOutcome(
                result="counted",
                status=rec.status,
                revision=done.revision,
                approvals=len([d for d in same_revision if d.verdict == "approve"]),
                required=required,
                transitioned=rec.status != OPEN,
            )
    if rec.status != OPEN:
        return VoteOutcome(result="not_pending", status=rec.status, revision=rec.update_count, required=required)
    if vote.revision is not None and vote.revision != rec.update_count:
        return VoteOutcome(result="revision_changed", status=rec.status, revision=rec.update_count, required=required)
    version, rules = await active_policy(session)
    if rec.policy_revision != rec.update_count or rec.policy_decision is None or rec.policy_version != version:
        # A new revision, or a new policy, that the workflow has not judged yet: it judges, then asks again.
        return VoteOutcome(result="needs_evaluation", status=rec.status, revision=rec.update_count)
    proposal = await proposal_of(session, rec)
    approvers = frozenset(d.subject for d in decisions if d.verdict == "approve")
    verdict: Literal["approve", "reject"] = "approve" if vote.verdict == "approve" else "reject"
    decision = evaluate_vote(rules, proposal, Voter(vote.subject, vote.role), verdict, approvers)
    if decision.allowed and vote.subject in {d.subject for d in decisions}:
        # One decision per person per revision: someone who approved cannot also reject it.
        decision = VoteDecision(allowed=False, reasons=(Reason("already_decided", {"subject": vote.subject}),))
    actor = Actor(vote.subject, vote.display)
    await audit_evaluation(
        session,
        actor=actor,
        correlation_id=rec.correlation_id,
        recommendation_id=rec.id,
        policy_version=version,
        stage=verdict,
        decision=decision,
    )
    reasons = [r.to_json() for r in decision.reasons]
    if not decision.allowed:
        return VoteOutcome(
            result="refused",
            status=rec.status,
            revision=rec.update_count,
            approvals=len(approvers),
            required=required,
            reasons=reasons,
        )
    reason = (vote.reason or "").strip()[:REASON_MAX] or None
    await DecisionRepo(session).add(
        ApprovalDecision(
            id=vote_id or uuid.uuid4(),
            recommendation_id=rec.id,
            revision=rec.update_count,
            subject=vote.subject,
            subject_display=(vote.display or "")[:320] or None,
            role=vote.role,
            verdict=verdict,
            reason=reason,
        )
    )
    counted = approvers | {vote.subject} if verdict == "approve" else approvers
    transitioned = False
    if verdict == "reject":
        await _resolve(
            session,
            rec,
            status="rejected",
            outcome="rejected",
            actor=actor,
            reason=reason,
            extra={"approvals": sorted(counted), "required": required},
        )
        transitioned = True
    elif len(counted) >= max(required, 1):
        await _resolve(
            session,
            rec,
            status="approved",
            outcome="approved",
            actor=actor,
            reason=reason,
            extra={"approvals": sorted(counted), "required": required},
        )
        transitioned = True
    return VoteOutcome(
        result="counted",
        status=rec.status,
        revision=rec.update_count,
        approvals=len(counted),
        required=required,
        reasons=reasons,
        transitioned=transitioned,
    )


async def mark_ready(session: AsyncSession, recommendation_id: uuid.UUID) -> StepOutcome:
    """``approved`` → ``ready_for_execution`` (once)."""
    rec = await locked(session, recommendation_id)
    if rec is None:
        return StepOutcome(status="missing")
    if rec.status == "approved":
        rec.status = "ready_for_execution"
        rec.updated_at = utcnow()
        await session.flush()
    return StepOutcome(status=rec.status)


async def meet_the_lock(session: AsyncSession, recommendation_id: uuid.UUID) -> StepOutcome:
    """``ready_for_execution`` → the execution lock → ``blocked_by_lock``, in the same transaction as the
    lock's blocked draft and its `action_blocked`. There is nothing that executes."""
    rec = await locked(session, recommendation_id)
    if rec is None:
        return StepOutcome(status="missing")
    if rec.status == "ready_for_execution":
        blocked = await attempt(session, rec, actor=WORKFLOW_ACTOR, correlation_id=rec.correlation_id)
        rec.status = "blocked_by_lock"
        rec.updated_at = utcnow()
        await session.flush()
        return StepOutcome(status=rec.status, draft_id=str(blocked.draft_id))
    draft = await latest_blocked(session, rec.id) if rec.status == "blocked_by_lock" else None
    return StepOutcome(status=rec.status, draft_id=draft["id"] if draft else None)


async def remind(session: AsyncSession, recommendation_id: uuid.UUID) -> StepOutcome:
    """Before expiry: mark the reminder (shown to the tenant's approvers) and write `approval_reminder`, once."""
    rec = await locked(session, recommendation_id)
    if rec is None:
        return StepOutcome(status="missing")
    if rec.status == OPEN and rec.reminded_at is None:
        rec.reminded_at = utcnow()
        approvals = len([d for d in await _decisions(session, rec) if d.verdict == "approve"])
        await record(
            session,
            EventType.APPROVAL_REMINDER,
            actor=WORKFLOW_ACTOR,
            correlation_id=rec.correlation_id,
            payload={
                "recommendation_id": str(rec.id),
                "expires_at": rec.expires_at.isoformat() if rec.expires_at else None,
                "approvals": approvals,
                "required": rec.required_approvals,
            },
        )
    return StepOutcome(status=rec.status)


async def expire(session: AsyncSession, recommendation_id: uuid.UUID) -> StepOutcome:
    """The durable timer ran out: ``pending`` → ``expired`` with `approval_resolved` (once)."""
    rec = await locked(session, recommendation_id)
    if rec is None:
        return StepOutcome(status="missing")
    if rec.status == OPEN:
        approvals = [d.subject for d in await _decisions(session, rec) if d.verdict == "approve"]
        await _resolve(
            session,
            rec,
            status="expired",
            outcome="expired",
            actor=WORKFLOW_ACTOR,
            reason="expired",
            extra={"approvals": sorted(approvals), "required": rec.required_approvals},
        )
    return StepOutcome(status=rec.status)


# --- what the API and the pages do ---------------------------------------------------------------------------


async def status_of(session: AsyncSession, recommendation_id: uuid.UUID) -> Recommendation:
    """The recommendation (404 when it is not this tenant's)."""
    return await RecommendationRepo(session).get(recommendation_id)


async def change_quantity(
    session: AsyncSession, recommendation_id: uuid.UUID, *, quantity: Decimal, reason: str, actor: Actor
) -> Recommendation:
    """A person changes the quantity of a pending recommendation: a new revision (earlier approvals no longer
    count) that this person may not approve (four-eyes). Audited as `recommendation_changed`."""
    rec = await locked(session, recommendation_id)
    if rec is None:
        raise NotFound("errors.recommendation_not_found")
    if rec.status != OPEN:
        raise Conflict("errors.approval_not_pending", slug="not-pending", status_name=rec.status)
    before_quantity, before_value = rec.quantity, rec.value
    if before_value is not None and before_quantity > 0:
        rec.value = (before_value / before_quantity * quantity).quantize(Decimal("0.01"))
    rec.quantity = quantity
    rec.last_changed_by = actor.ref
    rec.update_count += 1
    rec.updated_at = utcnow()
    await session.flush()
    await record(
        session,
        EventType.RECOMMENDATION_CHANGED,
        actor=actor,
        correlation_id=rec.correlation_id,
        payload={
            "recommendation_id": str(rec.id),
            "revision": rec.update_count,
            "quantity": {"from": str(before_quantity), "to": str(quantity)},
            "value": {
                "from": None if before_value is None else str(before_value),
                "to": None if rec.value is None else str(rec.value),
            },
            "reason": reason,
        },
    )
    return rec


async def run_dry_run(session: AsyncSession, recommendation_id: uuid.UUID, *, actor: Actor) -> dict[str, Any]:
    """The lock's dry run of the current revision (no network); only while the recommendation waits."""
    rec = await RecommendationRepo(session).get(recommendation_id)
    if rec.status != OPEN:
        raise Conflict("errors.approval_not_pending", slug="not-pending", status_name=rec.status)
    result = await dry_run(session, rec, actor=actor, correlation_id=rec.correlation_id)
    return {"recommendation_id": str(rec.id), "revision": rec.update_count, **result}


async def timeline(session: AsyncSession, recommendation_id: uuid.UUID) -> list[dict[str, Any]]:
    """The audit events of the recommendation's correlation id, oldest first."""
    rec = await RecommendationRepo(session).get(recommendation_id)
    events = await AuditRepo(session).list(AuditEvent.correlation_id == rec.correlation_id, order_by=[AuditEvent.seq])
    return [
        {
            "seq": e.seq,
            "occurred_at": e.occurred_at,
            "event_type": e.event_type,
            "actor": e.actor,
            "correlation_id": e.correlation_id,
            "payload": e.payload,
        }
        for e in events
    ]


async def approval_state(session: AsyncSession, rec: Recommendation, *, subject: str, role: str) -> dict[str, Any]:
    """Where a recommendation's approval stands, for the API and the detail page."""
    decisions = await _decisions(session, rec)
    approvals = [d for d in decisions if d.verdict == "approve"]
    version, rules = await active_policy(session)
    requirements = (rec.policy_decision or {}).get("requirements") or {}
    dry_run_required = bool(requirements.get("dry_run_required"))
    dry = await latest_dry_run(session, rec.id, rec.update_count)
    blocked = await latest_blocked(session, rec.id)
    waiting = rec.status == OPEN and rec.policy_decision is not None and rec.policy_revision == rec.update_count
    mine = waiting and can_decide(
        rec, subject=subject, role=role, approver_roles=rules.approver_roles, voters={d.subject for d in decisions}
    )
    return {
        "recommendation_id": str(rec.id),
        "status": rec.status,
        "revision": rec.update_count,
        "policy_version": rec.policy_version,
        "policy_decision": rec.policy_decision,
        "policy_current": rec.policy_revision == rec.update_count,
        "required": rec.required_approvals,
        "approvals": len(approvals),
        "votes": [
            {
                "subject": d.subject,
                "display": d.subject_display,
                "role": d.role,
                "verdict": d.verdict,
                "reason": d.reason,
                "created_at": d.created_at,
            }
            for d in decisions
        ],
        "dry_run_required": dry_run_required,
        "dry_run": dry,
        "blocked_draft": blocked,
        "expires_at": rec.expires_at,
        "reminded_at": rec.reminded_at,
        "resolved_at": rec.resolved_at,
        "resolved_by": rec.resolved_by,
        "resolution_reason": rec.resolution_reason,
        "created_by": rec.created_by,
        "last_changed_by": rec.last_changed_by,
        "can_decide": mine,
        "active_policy_version": version,
    }


def can_decide(
    rec: Recommendation, *, subject: str, role: str, approver_roles: frozenset[str], voters: set[str]
) -> bool:
    """Would this person's approval count now (role, four-eyes, not yet voted on this revision)?"""
    return role in approver_roles and subject not in (rec.created_by, rec.last_changed_by) and subject not in voters


def _labels(items: dict[uuid.UUID, Item], locations: dict[uuid.UUID, Location], rec: Recommendation) -> dict[str, Any]:
    item, location = items.get(rec.item_id), locations.get(rec.location_id)
    origin = locations.get(rec.from_location_id) if rec.from_location_id else None
    return {
        "sku": item.sku if item else None,
        "item_name": item.name if item else None,
        "location_code": location.code if location else None,
        "location_name": location.name if location else None,
        "from_location_code": origin.code if origin else None,
    }


async def queue(
    session: AsyncSession,
    *,
    scope: str,
    subject: str,
    role: str,
    kind: str | None = None,
    priority: str | None = None,
    location_id: uuid.UUID | None = None,
    limit: int = 50,
    offset: int = 0,
    hour_seconds: float = 3600,
) -> dict[str, Any]:
    """What waits for a decision. ``mine``: what this person may decide now (role allowed, four-eyes ok, not yet
    voted on this revision); ``team``: everything pending in the tenant. Priority first, then what expires
    soonest, then the oldest."""
    if scope not in ("mine", "team"):
        raise ValidationFailed("errors.approval_scope", field="scope")
    repo = RecommendationRepo(session)
    version, rules = await active_policy(session)
    where: list[Any] = [Recommendation.status == OPEN]
    for column, value in (
        (Recommendation.type, kind),
        (Recommendation.priority, priority),
        (Recommendation.location_id, location_id),
    ):
        if value:
            where.append(column == value)
    voted = exists().where(
        ApprovalDecision.tenant_id == Recommendation.tenant_id,
        ApprovalDecision.recommendation_id == Recommendation.id,
        ApprovalDecision.revision == Recommendation.update_count,
        ApprovalDecision.subject == subject,
    )
    mine_where = [
        Recommendation.policy_decision.is_not(None),
        Recommendation.policy_revision == Recommendation.update_count,
        Recommendation.created_by != subject,
        Recommendation.last_changed_by != subject,
        not_(voted),
    ]
    if scope == "mine":
        if role not in rules.approver_roles:
            where.append(Recommendation.id.is_(None))  # nothing waits for a role that may not decide
        where.extend(mine_where)
    total = await repo.count(*where)
    order = [
        func.array_position(list(PRIORITY_ORDER), Recommendation.priority),
        Recommendation.expires_at.asc().nulls_last(),
        Recommendation.created_at.asc(),
        Recommendation.id,
    ]
    rows = list((await session.execute(repo.select(*where).order_by(*order).limit(limit).offset(offset))).scalars())
    ids = [r.id for r in rows]
    votes: dict[uuid.UUID, list[ApprovalDecision]] = {i: [] for i in ids}
    if ids:
        for d in await DecisionRepo(session).list(ApprovalDecision.recommendation_id.in_(ids)):
            votes[d.recommendation_id].append(d)
    tenant_id = repo.tenant_id
    dry_runs: set[tuple[uuid.UUID, int]] = set()
    if ids:
        found = await session.execute(
            select(ExecutionDraft.recommendation_id, ExecutionDraft.revision).where(
                ExecutionDraft.tenant_id == tenant_id,
                ExecutionDraft.recommendation_id.in_(ids),
                ExecutionDraft.kind == "dry_run",
            )
        )
        dry_runs = {(r, v) for r, v in found.all()}
    items = {
        i.id: i
        for i in (
            await session.execute(
                select(Item).where(Item.tenant_id == tenant_id, Item.id.in_({r.item_id for r in rows}))
            )
        ).scalars()
    }
    location_ids = {r.location_id for r in rows} | {r.from_location_id for r in rows if r.from_location_id}
    locations = {
        loc.id: loc
        for loc in (
            await session.execute(
                select(Location).where(Location.tenant_id == tenant_id, Location.id.in_(location_ids))
            )
        ).scalars()
    }
    now = utcnow()
    soon = timedelta(seconds=rules.reminder_before_hours * hour_seconds)
    entries = []
    for rec in rows:
        current = [d for d in votes[rec.id] if d.revision == rec.update_count]
        requirements = (rec.policy_decision or {}).get("requirements") or {}
        evaluated = rec.policy_decision is not None and rec.policy_revision == rec.update_count
        entries.append(
            {
                "id": str(rec.id),
                "type": rec.type,
                "priority": rec.priority,
                "status": rec.status,
                "quantity": rec.quantity,
                "value": rec.value,
                "confidence_score": rec.confidence_score,
                "explanation_en": rec.explanation_en,
                "explanation_ar": rec.explanation_ar,
                "item_id": str(rec.item_id),
                "location_id": str(rec.location_id),
                **_labels(items, locations, rec),
                "revision": rec.update_count,
                "created_at": rec.created_at,
                "expires_at": rec.expires_at,
                "reminded_at": rec.reminded_at,
                "expiring_soon": rec.reminded_at is not None
                or (rec.expires_at is not None and rec.expires_at - now <= soon),
                "required": rec.required_approvals,
                "approvals": len([d for d in current if d.verdict == "approve"]),
                "voters": [d.subject for d in current],
                "evaluated": evaluated,
                "dry_run_required": bool(requirements.get("dry_run_required")),
                "dry_run_done": (rec.id, rec.update_count) in dry_runs,
                "can_decide": evaluated
                and can_decide(
                    rec,
                    subject=subject,
                    role=role,
                    approver_roles=rules.approver_roles,
                    voters={d.subject for d in current},
                ),
            }
        )
    return {"scope": scope, "total": total, "items": entries, "policy_version": version}


async def reminders(session: AsyncSession, *, limit: int = 20) -> list[dict[str, Any]]:
    """The in-app notices for the tenant's approvers: pending recommendations reminded before their expiry."""
    repo = RecommendationRepo(session)
    rows = await repo.list(
        Recommendation.status == OPEN,
        Recommendation.reminded_at.is_not(None),
        order_by=[Recommendation.expires_at.asc().nulls_last(), Recommendation.id],
        limit=limit,
    )
    tenant_id = repo.tenant_id
    items = {
        i.id: i
        for i in (
            await session.execute(
                select(Item).where(Item.tenant_id == tenant_id, Item.id.in_({r.item_id for r in rows}))
            )
        ).scalars()
    }
    return [
        {
            "id": str(r.id),
            "type": r.type,
            "priority": r.priority,
            "sku": items[r.item_id].sku if r.item_id in items else None,
            "expires_at": r.expires_at,
            "reminded_at": r.reminded_at,
        }
        for r in rows
    ]


@dataclass
class Sweep:
    """What the reconcile sweep found, across tenants: (tenant, recommendation) pairs."""

    start: list[tuple[uuid.UUID, uuid.UUID]]  # workflows to (re)start
    policy_changed: list[tuple[uuid.UUID, uuid.UUID]]  # pending, judged under an older policy than the active one


async def needing_workflows(session: AsyncSession, *, older_than: timedelta) -> Sweep:
    """Across tenants (a system transaction): pending recommendations whose workflow never ran and approved ones
    stuck before the lock (to start), and pending ones still judged under an older policy version than the
    tenant's newest, saved longer ago than ``older_than`` (their workflow missed the ``policy_changed`` signal)."""
    cutoff = utcnow() - older_than
    rows = await session.execute(
        select(Recommendation.tenant_id, Recommendation.id).where(
            or_(
                and_(
                    Recommendation.status == OPEN,
                    Recommendation.workflow_started_at.is_(None),
                    Recommendation.created_at < cutoff,
                ),
                and_(
                    Recommendation.status.in_(("approved", "ready_for_execution")),
                    Recommendation.updated_at < cutoff,
                ),
            )
        )
    )
    newest = (
        select(Policy.tenant_id, func.max(Policy.version).label("version"))
        .where(Policy.created_at < cutoff)
        .group_by(Policy.tenant_id)
        .subquery()
    )
    behind = await session.execute(
        select(Recommendation.tenant_id, Recommendation.id)
        .join(newest, newest.c.tenant_id == Recommendation.tenant_id)
        .where(
            Recommendation.status == OPEN,
            Recommendation.workflow_started_at.is_not(None),
            Recommendation.policy_decision.is_not(None),
            func.coalesce(Recommendation.policy_version, 0) < newest.c.version,
        )
    )
    return Sweep(start=[(t, r) for t, r in rows.all()], policy_changed=[(t, r) for t, r in behind.all()])
