"""Temporal activities of the AI engine: thin, calling the services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from temporalio import activity

from atlas.ai_engine import services
from atlas.approvals import hooks as approval_hooks
from atlas.approvals.dispatch import notify
from atlas.billing.services import background_work_refused
from atlas.durable.runtime import runtime
from atlas.platform.audit import all_tenant_ids
from atlas.policy.services import analysis_settings


@dataclass
class AnalysisRequest:
    tenant_id: str
    trigger: str = "sync"
    sync_run_id: str | None = None


@activity.defn(name="ai.analyse_tenant")
async def analyse_tenant(request: AnalysisRequest) -> dict[str, Any]:
    tenant_id = uuid.UUID(request.tenant_id)
    async with runtime().db.tenant_session(tenant_id) as session:
        refused = await background_work_refused(session)
        if refused is not None:
            # No analyses for a tenant whose subscription gives no access now; the reason is the result.
            return {"skipped": refused}
        outcome = await services.analyse_tenant(
            session,
            trigger=request.trigger,
            sync_run_id=uuid.UUID(request.sync_run_id) if request.sync_run_id else None,
            settings=await analysis_settings(session),  # the policy's service levels
        )
        changes = approval_hooks.take(session)
    # Committed: start the new recommendations' approval workflows, tell revised and retired ones.
    await notify(activity.client(), runtime().settings, tenant_id, changes)
    return outcome


@activity.defn(name="ai.tenants_with_data")
async def tenants_with_data() -> list[str]:
    from sqlalchemy import text

    async with runtime().db.system_session() as session:
        ids = await all_tenant_ids(session)
        rows = await session.execute(text("SELECT DISTINCT tenant_id FROM stock_balance_parts"))
        with_data = {row[0] for row in rows}
        # Only tenants whose subscription gives full access now (trial or active).
        for tenant_id in list(with_data):
            if await background_work_refused(session, tenant_id) is not None:
                with_data.discard(tenant_id)
    return [str(t) for t in ids if t in with_data]
