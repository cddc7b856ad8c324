"""The AI analysis as workflows: after every successful sync, and every night for every tenant."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from atlas.ai_engine.activities import AnalysisRequest, tenants_with_data
    from atlas.approvals.analysis_runs import analyse_tenant
    from atlas.workflows.sync import PostSyncRequest


@workflow.defn(name="TenantAnalysis")
class TenantAnalysisWorkflow:
    """Started by the sync workflow (a post-sync hook) with the tenant and the run."""

    @workflow.run
    async def run(self, request: PostSyncRequest) -> dict[str, Any]:
        result: dict[str, Any] = await workflow.execute_activity(
            analyse_tenant,
            AnalysisRequest(tenant_id=request.tenant_id, trigger="sync", sync_run_id=request.run_id),
            start_to_close_timeout=timedelta(minutes=30),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
        return result


@workflow.defn(name="NightlyAnalysis")
class NightlyAnalysisWorkflow:
    @workflow.run
    async def run(self) -> dict[str, int]:
        tenants: list[str] = await workflow.execute_activity(
            tenants_with_data, start_to_close_timeout=timedelta(minutes=2)
        )
        done = 0
        for tenant_id in tenants:
            await workflow.execute_activity(
                analyse_tenant,
                AnalysisRequest(tenant_id=tenant_id, trigger="nightly"),
                start_to_close_timeout=timedelta(minutes=30),
                retry_policy=RetryPolicy(maximum_attempts=3),
            )
            done += 1
        return {"tenants": done}
