"""Temporal activities of the approval workflow: thin, each one transaction through `atlas.approvals.services`.

Each commits before it returns, and each is idempotent (see the services), so a retry after a worker died
mid-step finds the row already moved and changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import structlog
from temporalio import activity

from atlas.approvals import services
from atlas.approvals.requests import ApprovalRequest, VoteRequest
from atlas.approvals.services import Evaluation, StepOutcome, VoteOutcome
from atlas.durable.runtime import runtime

log = structlog.get_logger("atlas.approvals")


def _ids(request: ApprovalRequest | VoteRequest) -> tuple[uuid.UUID, uuid.UUID]:
    return uuid.UUID(request.tenant_id), uuid.UUID(request.recommendation_id)


@activity.defn(name="approvals.evaluate")
async def evaluate_policy(request: ApprovalRequest) -> Evaluation:
    tenant_id, recommendation_id = _ids(request)
    state = runtime()
    async with state.db.tenant_session(tenant_id) as session:
        return await services.evaluate(session, recommendation_id, hour_seconds=state.settings.approval_hour_seconds)


@activity.defn(name="approvals.record_vote")
async def record_vote(request: VoteRequest) -> VoteOutcome:
    tenant_id, recommendation_id = _ids(request)
    async with runtime().db.tenant_session(tenant_id) as session:
        return await services.record_vote(session, recommendation_id, request.vote)


@activity.defn(name="approvals.meet_the_lock")
async def meet_the_lock(request: ApprovalRequest) -> StepOutcome:
    tenant_id, recommendation_id = _ids(request)
    async with runtime().db.tenant_session(tenant_id) as session:
        return await services.meet_the_lock(session, recommendation_id)


# Registered under the name of its first step, which it was alone before: a history written then (a marker
# of `approvals.mark_ready`, then perhaps one of `approvals.meet_the_lock`) replays unchanged, since the
# workflow still runs `meet_the_lock` when this returns ``ready_for_execution``.
@activity.defn(name="approvals.mark_ready")
async def to_the_lock(request: ApprovalRequest) -> StepOutcome:
    """``approved`` → ``ready_for_execution``, then the lock → ``blocked_by_lock``: two transactions, each
    committing its own transition, in one local activity (one workflow step rather than two). Run again after a
    crash, each finds the row already moved and only what is left is done."""
    tenant_id, recommendation_id = _ids(request)
    database = runtime().db
    async with database.tenant_session(tenant_id) as session:
        ready = await services.mark_ready(session, recommendation_id)
    if ready.status != "ready_for_execution":
        return ready
    async with database.tenant_session(tenant_id) as session:
        return await services.meet_the_lock(session, recommendation_id)


@activity.defn(name="approvals.remind")
async def remind(request: ApprovalRequest) -> StepOutcome:
    tenant_id, recommendation_id = _ids(request)
    async with runtime().db.tenant_session(tenant_id) as session:
        return await services.remind(session, recommendation_id)


@activity.defn(name="approvals.expire")
async def expire(request: ApprovalRequest) -> StepOutcome:
    tenant_id, recommendation_id = _ids(request)
    async with runtime().db.tenant_session(tenant_id) as session:
        return await services.expire(session, recommendation_id)


@activity.defn(name="approvals.reconcile")
async def reconcile(grace_seconds: float = 30.0) -> int:
    """Start the workflow of every pending recommendation whose workflow never ran (a start that failed), resume
    approved ones stuck before the lock, and tell pending ones judged under an older policy that a new one was
    saved (a signal that was lost). Returns how many workflows it started or told."""
    from atlas.approvals.dispatch import policy_changed, start_workflows

    state = runtime()
    async with state.db.system_session() as session:
        sweep = await services.needing_workflows(session, older_than=timedelta(seconds=grace_seconds))
    client = activity.client()
    missed = set(await policy_changed(client, [r for _, r in sweep.policy_changed]))
    told = len(sweep.policy_changed) - len(missed)
    # A pending recommendation without a running workflow is started: its workflow judges it under today's policy.
    to_start = sweep.start + [(t, r) for t, r in sweep.policy_changed if r in missed]
    by_tenant: dict[uuid.UUID, list[uuid.UUID]] = {}
    for tenant_id, recommendation_id in to_start:
        by_tenant.setdefault(tenant_id, []).append(recommendation_id)
    started = 0
    for tenant_id, ids in by_tenant.items():
        started += await start_workflows(client, state.settings, tenant_id, ids)
    if sweep.start or sweep.policy_changed:
        log.info(
            "approval_workflows_reconciled",
            found=len(sweep.start),
            started=started,
            behind_policy=len(sweep.policy_changed),
            told=told,
        )
    return started + told


ACTIVITIES: list[Callable[..., Any]] = [
    evaluate_policy,
    record_vote,
    to_the_lock,
    meet_the_lock,
    remind,
    expire,
    reconcile,
]
