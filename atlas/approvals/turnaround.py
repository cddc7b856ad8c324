"""How quickly people decide (issue 19): the approval turnaround behind the dashboard's chart, and whether anyone
has approved anything yet (the getting-started checklist's "first approval").

Here, beside the votes and the resolutions the approvals write; the dashboard (``atlas.web.pages``) draws them.
The turnaround of one recommendation is the time from its creation to its resolution by people (approved or
rejected; an expiry is nobody's decision and is left out).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.ai_engine.dashboard_figures import TYPE_ORDER
from atlas.ai_engine.models import Recommendation
from atlas.approvals.models import ApprovalDecision
from atlas.db.engine import tenant_context

# The statuses of a recommendation people resolved: approved (and where the workflow took it on) or rejected.
DECIDED_STATUSES = ("approved", "ready_for_execution", "blocked_by_lock", "rejected")


@dataclass(frozen=True)
class Turnaround:
    """The median hours from creation to decision, per type and overall, with how many decisions each covers."""

    median_hours: dict[str, float | None]
    decided: dict[str, int]
    overall_median_hours: float | None
    overall_decided: int


async def approval_turnaround(session: AsyncSession, *, now: datetime, days: int = 30) -> Turnaround:
    """The recommendations people decided in the last ``days`` days: the median hours each type waited."""
    tenant_id = tenant_context(session).tenant_id
    rows = await session.execute(
        select(Recommendation.type, Recommendation.created_at, Recommendation.resolved_at).where(
            Recommendation.tenant_id == tenant_id,
            Recommendation.status.in_(DECIDED_STATUSES),
            Recommendation.resolved_at.is_not(None),
            Recommendation.resolved_at >= now - timedelta(days=days),
        )
    )
    waits: dict[str, list[float]] = {rec_type: [] for rec_type in TYPE_ORDER}
    for rec_type, created_at, resolved_at in rows.all():
        if resolved_at is None:
            continue
        hours = max((resolved_at - created_at).total_seconds() / 3600, 0.0)
        waits.setdefault(rec_type, []).append(hours)
    every = [hours for found in waits.values() for hours in found]
    return Turnaround(
        median_hours={t: statistics.median(waits[t]) if waits.get(t) else None for t in TYPE_ORDER},
        decided={t: len(waits.get(t, [])) for t in TYPE_ORDER},
        overall_median_hours=statistics.median(every) if every else None,
        overall_decided=len(every),
    )


async def has_approval(session: AsyncSession) -> bool:
    """Whether anyone in the tenant has approved a recommendation yet (a counted approve vote)."""
    tenant_id = tenant_context(session).tenant_id
    found = await session.scalar(
        select(ApprovalDecision.id)
        .where(ApprovalDecision.tenant_id == tenant_id, ApprovalDecision.verdict == "approve")
        .limit(1)
    )
    return found is not None
