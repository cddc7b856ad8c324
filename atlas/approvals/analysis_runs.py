"""An analysis run end to end: the policy's service levels, the analysis, then the approval workflows told.

The analysis (``atlas.ai_engine.services.analyse_tenant``) takes the tenant's service levels from its active policy
and notes the recommendations it created, revised and retired (``atlas.ai_engine.changes``); once that transaction
commits, the approval workflows must hear of them: new ones start, revised ones judge the new revision, retired ones
end. The worker's activity (after a sync, every night) and the analyse-now endpoint did all of this each on its own,
inside the AI engine, which is why the AI engine imported the policy and the approvals above it.

It is done once here, in the approvals (layer 8), the lowest component allowed to import all three: the AI engine
(6), the policy (7) and the approvals' dispatch. The AI engine only analyses and notes; the Temporal activity below
and ``atlas.approvals.recommendation_controllers`` are thin over :func:`analyse_and_tell`.

What differs between the two callers is passed in, not decided here:

- how the workflows are told (``tell``): the worker with its Temporal client (``dispatch.notify``), the web app
  through its lazy connection, never failing the request (``dispatch.notify_safely``);
- a scheduled run (``scheduled``) is skipped for a tenant whose subscription refuses background work now, asked of
  the platform's entitlements (billing answers there); a person's analyse-now is not (the web's subscription guard
  decides that request);
- the analyse-now answer also lists the pending recommendations (``listed``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from temporalio import activity

from atlas.ai_engine import changes, services
from atlas.ai_engine.activities import AnalysisRequest
from atlas.ai_engine.changes import Changes
from atlas.approvals.dispatch import notify
from atlas.db.engine import Database
from atlas.durable.runtime import runtime
from atlas.platform.entitlements import plan_limits
from atlas.policy.services import analysis_settings

# Tells the approval workflows what an analysis changed, once its transaction has committed.
Tell = Callable[[Changes], Awaitable[None]]


async def analyse_and_tell(
    database: Database,
    tenant_id: uuid.UUID,
    tell: Tell,
    *,
    trigger: str,
    sync_run_id: uuid.UUID | None = None,
    scheduled: bool = False,
    listed: int = 0,
) -> dict[str, Any]:
    """Analyse the tenant under its policy's service levels in one transaction, then (committed) ``tell`` the
    approval workflows what changed, so a workflow never starts for a row that was rolled back. Returns the
    analysis's counts; ``{"skipped": reason}`` for a ``scheduled`` run the subscription refuses now; with the first
    ``listed`` pending recommendations under ``"recommendations"`` when asked."""
    async with database.tenant_session(tenant_id) as session:
        if scheduled:
            refused = await plan_limits().background_work_refused(session)
            if refused is not None:
                # No analyses for a tenant whose subscription gives no access now; the reason is the result.
                return {"skipped": refused}
        outcome = await services.analyse_tenant(
            session,
            trigger=trigger,
            sync_run_id=sync_run_id,
            settings=await analysis_settings(session),  # the policy's service levels
        )
        if listed:
            outcome["recommendations"] = (await services.list_recommendations(session, limit=listed))["items"]
        changed = changes.take(session)
    # Committed: the new recommendations' approval workflows start, revised and retired ones are told.
    await tell(changed)
    return outcome


# The name is the one it had in ``atlas.ai_engine.activities``: Temporal finds an activity by its name, so the
# workflows' histories and the worker's registration (``atlas.workflows.analysis``, ``.worker``) are unchanged.
@activity.defn(name="ai.analyse_tenant")
async def analyse_tenant(request: AnalysisRequest) -> dict[str, Any]:
    """A scheduled analysis of one tenant (after its sync, or the nightly run), through :func:`analyse_and_tell`."""
    tenant_id = uuid.UUID(request.tenant_id)
    state = runtime()
    return await analyse_and_tell(
        state.db,
        tenant_id,
        partial(notify, activity.client(), state.settings, tenant_id),
        trigger=request.trigger,
        sync_run_id=uuid.UUID(request.sync_run_id) if request.sync_run_id else None,
        scheduled=True,
    )
