"""The execution hard lock (SPEC 8.1): the end of every path that could lead to execution.

There is no executor, and no setting that adds one. `attempt` is what ``ready_for_execution`` leads
to: it stores an immutable execution draft (the action, and the request that would have been sent),
records ``action_blocked`` and returns `Blocked`. `dry_run` computes the same draft and its impact for
people to review before approving. Neither does any I/O beyond Atlas's own database.

Both take a `CanonicalAction` (plain data, `atlas.execution_lock.action`): the layer above builds it from a
recommendation (``atlas/approvals/lock_actions.py``), so the lock reads no table but its own drafts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from atlas.db.base import utcnow
from atlas.execution_lock.action import CanonicalAction
from atlas.execution_lock.drafts import draft_of
from atlas.execution_lock.services import draft_dict, latest_of, store_draft
from atlas.platform.audit import Actor, EventType, record

LOCK_REASON = "execution_lock"


@dataclass(frozen=True)
class Blocked:
    draft_id: uuid.UUID
    reason: str = LOCK_REASON


async def attempt(
    session: AsyncSession,
    action: CanonicalAction,
    *,
    actor: Actor,
    correlation_id: str,
    source: str = "approval_workflow",
) -> Blocked:
    """Meet the lock: store the blocked draft, record ``action_blocked``, return `Blocked`.

    Never sends anything and never changes the recommendation (its caller moves it to
    ``blocked_by_lock`` in the same transaction). Idempotent per revision: a retried attempt (a worker
    that died after committing) returns the draft already stored instead of writing a second one.
    """
    existing = await latest_of(session, action.recommendation_id, kind="blocked", revision=action.revision)
    if existing is not None:
        return Blocked(draft_id=existing.id)
    content = draft_of(action, today=utcnow().date())
    draft = await store_draft(
        session, action, content, kind="blocked", created_by=actor.ref, correlation_id=correlation_id
    )
    await record(
        session,
        EventType.ACTION_BLOCKED,
        actor=actor,
        correlation_id=correlation_id,
        payload={
            "recommendation_id": str(action.recommendation_id),
            "draft_id": str(draft.id),
            "revision": action.revision,
            "reason": LOCK_REASON,
            "source": source,
        },
    )
    return Blocked(draft_id=draft.id)


async def dry_run(
    session: AsyncSession, action: CanonicalAction, *, actor: Actor, correlation_id: str
) -> dict[str, Any]:
    """Compute the draft and its impact (items, quantities, value, locations) for the action (the
    recommendation's current revision), store it as a ``dry_run`` draft and record ``dry_run_completed``.
    No network."""
    content = draft_of(action, today=utcnow().date())
    draft = await store_draft(
        session, action, content, kind="dry_run", created_by=actor.ref, correlation_id=correlation_id
    )
    await record(
        session,
        EventType.DRY_RUN_COMPLETED,
        actor=actor,
        correlation_id=correlation_id,
        payload={
            "recommendation_id": str(action.recommendation_id),
            "draft_id": str(draft.id),
            "revision": action.revision,
            "impact": content.impact,
            "request_rendered": content.request is not None,
        },
    )
    return {"draft": draft_dict(draft), "impact": content.impact}


async def latest_dry_run(session: AsyncSession, recommendation_id: uuid.UUID, revision: int) -> dict[str, Any] | None:
    """The newest dry-run draft of that revision of the recommendation, or None."""
    found = await latest_of(session, recommendation_id, kind="dry_run", revision=revision)
    return None if found is None else draft_dict(found)


async def latest_blocked(session: AsyncSession, recommendation_id: uuid.UUID) -> dict[str, Any] | None:
    """The newest blocked draft of the recommendation (any revision), or None."""
    found = await latest_of(session, recommendation_id, kind="blocked")
    return None if found is None else draft_dict(found)
