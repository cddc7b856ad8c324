"""Housekeeping: a scheduled workflow that sweeps expired sign-in flows and sessions.

The workflow is deterministic (ARCHITECTURE rule 7); the activity does the I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from atlas.durable.runtime import runtime


@dataclass
class SweepResult:
    login_flows: int
    sessions: int


@activity.defn(name="housekeeping.sweep_expired")
async def sweep_expired() -> SweepResult:
    from sqlalchemy import delete, or_

    from atlas.db.base import utcnow
    from atlas.platform.models import LoginFlow, WebSession

    now = utcnow()
    async with runtime().db.system_session() as session:
        flows = await session.execute(delete(LoginFlow).where(LoginFlow.expires_at < now))
        sessions = await session.execute(
            delete(WebSession).where(or_(WebSession.expires_at < now, WebSession.revoked_at.is_not(None)))
        )
    return SweepResult(login_flows=int(flows.rowcount), sessions=int(sessions.rowcount))  # type: ignore[attr-defined,unused-ignore]


@workflow.defn(name="Housekeeping")
class HousekeepingWorkflow:
    @workflow.run
    async def run(self) -> SweepResult:
        result: SweepResult = await workflow.execute_activity(
            sweep_expired, start_to_close_timeout=timedelta(minutes=2)
        )
        return result
