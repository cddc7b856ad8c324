"""Temporal activities of the AI engine: thin, calling the services.

The analysis activity itself (``ai.analyse_tenant``) is ``atlas.approvals.analysis_runs.analyse_tenant``: an
analysis run reads the policy's service levels and tells the approval workflows what it changed, so it is composed
in the approvals, above the AI engine and the policy. Its request (:class:`AnalysisRequest`) stays here, with the
activity that lists the tenants to analyse; whether a tenant's subscription allows background work is asked of the
platform's entitlements (billing answers there), not of billing.
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio import activity

from atlas.durable.runtime import runtime
from atlas.platform.audit import all_tenant_ids
from atlas.platform.entitlements import plan_limits


@dataclass
class AnalysisRequest:
    tenant_id: str
    trigger: str = "sync"
    sync_run_id: str | None = None


@activity.defn(name="ai.tenants_with_data")
async def tenants_with_data() -> list[str]:
    from sqlalchemy import text

    async with runtime().db.system_session() as session:
        ids = await all_tenant_ids(session)
        rows = await session.execute(text("SELECT DISTINCT tenant_id FROM stock_balance_parts"))
        with_data = {row[0] for row in rows}
        # Only tenants whose subscription gives full access now (trial or active).
        for tenant_id in list(with_data):
            if await plan_limits().background_work_refused(session, tenant_id) is not None:
                with_data.discard(tenant_id)
    return [str(t) for t in ids if t in with_data]
