"""Talking to the approval workflows from outside: start them, signal them, send them votes.

Starting never fails the caller's work: a recommendation whose workflow could not be started (Temporal
down) is found by the reconcile sweep (`approvals.reconcile`) and started then. A vote waits for the
workflow's answer, which comes back as soon as the vote is counted (not after the lock).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import structlog
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from atlas.ai_engine.changes import Changes
from atlas.approvals.requests import ApprovalRequest
from atlas.approvals.services import Vote, VoteOutcome
from atlas.config import Settings

log = structlog.get_logger("atlas.approvals")
WORKFLOW = "RecommendationApproval"
CONCURRENCY = 16


def workflow_id(recommendation_id: uuid.UUID | str) -> str:
    return f"approval-{recommendation_id}"


async def start_workflow(
    client: Client, settings: Settings, tenant_id: uuid.UUID, recommendation_id: uuid.UUID
) -> WorkflowHandle[Any, Any]:
    """The recommendation's workflow, started if it is not running (already running: that one)."""
    return await client.start_workflow(
        WORKFLOW,
        ApprovalRequest(str(tenant_id), str(recommendation_id)),
        id=workflow_id(recommendation_id),
        task_queue=settings.temporal_task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )


async def start_workflows(
    client: Client, settings: Settings, tenant_id: uuid.UUID, recommendation_ids: list[uuid.UUID]
) -> int:
    """Start many (a few at a time); returns how many Temporal accepted. Failures are logged, not raised."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(recommendation_id: uuid.UUID) -> bool:
        async with gate:
            try:
                await start_workflow(client, settings, tenant_id, recommendation_id)
                return True
            except Exception as exc:  # the reconcile sweep starts it later
                log.warning(
                    "approval_workflow_not_started", recommendation_id=str(recommendation_id), error=type(exc).__name__
                )
                return False

    return sum(await asyncio.gather(*(one(r) for r in recommendation_ids)))


async def signal(client: Client, recommendation_id: uuid.UUID, name: str) -> bool:
    """Signal a running workflow; False when there is none (or Temporal is unreachable)."""
    try:
        await client.get_workflow_handle(workflow_id(recommendation_id)).signal(name)
        return True
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            log.warning(
                "approval_signal_failed", signal=name, recommendation_id=str(recommendation_id), error=str(exc.status)
            )
        return False
    except Exception as exc:
        log.warning(
            "approval_signal_failed", signal=name, recommendation_id=str(recommendation_id), error=type(exc).__name__
        )
        return False


async def policy_changed(client: Client, recommendation_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """Tell the workflows of these pending recommendations that the tenant saved a new policy (a few at a time);
    returns those that did not hear it (no workflow running, or Temporal unreachable). They are judged again by
    the reconcile sweep, and any vote is judged under the new policy in any case (the vote step has the
    workflow evaluate first)."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(recommendation_id: uuid.UUID) -> bool:
        async with gate:
            return await signal(client, recommendation_id, "policy_changed")

    heard = await asyncio.gather(*(one(r) for r in recommendation_ids))
    return [r for r, ok in zip(recommendation_ids, heard, strict=True) if not ok]


async def policy_changed_safely(temporal: Any, recommendation_ids: list[uuid.UUID]) -> None:
    """`policy_changed` from the web app, after the response (never fails anything)."""
    if not recommendation_ids:
        return
    try:
        missed = await policy_changed(await temporal.client(), recommendation_ids)
        log.info("approval_policy_change_told", pending=len(recommendation_ids), missed=len(missed))
    except Exception as exc:  # the reconcile sweep tells them
        log.warning("approval_policy_change_not_told", error=type(exc).__name__)


async def notify(client: Client, settings: Settings, tenant_id: uuid.UUID, changes: Changes) -> None:
    """After the analysis committed: start workflows of new recommendations, tell the running ones that their
    recommendation was revised (re-evaluate policy; earlier approvals no longer count) or retired (end)."""
    if not changes:
        return
    await start_workflows(client, settings, tenant_id, changes.created)
    missing = [r for r in changes.revised if not await signal(client, r, "revised")]
    if missing:  # no workflow running for a pending recommendation: start one (it evaluates the new revision)
        await start_workflows(client, settings, tenant_id, missing)
    for recommendation_id in changes.retired:
        await signal(client, recommendation_id, "retired")


async def notify_safely(temporal: Any, settings: Settings, tenant_id: uuid.UUID, changes: Changes) -> None:
    """`notify` from the web app (its lazy Temporal connection); never fails the request."""
    if not changes:
        return
    try:
        client = await temporal.client()
        await notify(client, settings, tenant_id, changes)
    except Exception as exc:  # the reconcile sweep and the vote path recover
        log.warning("approval_notify_failed", error=type(exc).__name__)


async def decide(
    client: Client, settings: Settings, tenant_id: uuid.UUID, recommendation_id: uuid.UUID, vote: Vote
) -> VoteOutcome:
    """Send one vote to the recommendation's workflow (starting it if it is not running) and wait for the
    workflow's answer: counted (with the new state), or why not."""
    running = client.get_workflow_handle(workflow_id(recommendation_id))
    try:
        found: VoteOutcome = await running.execute_update("decide", vote, id=vote.vote_id, result_type=VoteOutcome)
        return found
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
    # No workflow running (its start failed, or it ended): start one, then vote.
    handle = await start_workflow(client, settings, tenant_id, recommendation_id)
    outcome: VoteOutcome = await handle.execute_update("decide", vote, id=vote.vote_id, result_type=VoteOutcome)
    return outcome
