"""One connector sync as a durable workflow: plan, each endpoint in dependency order, finish.

Activities heartbeat as they go; a worker killed mid-endpoint is noticed by the
heartbeat timeout and the endpoint runs again on another worker, where idempotent
writes and checkpoints make the second pass finish the run with exact counts.
After a successful run, each workflow in `POST_SYNC_WORKFLOWS` is started as a
child with the tenant and the run (the AI analysis hooks in here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from atlas.connectors.sync_request import SYNC_WORKFLOW, SyncRequest
    from atlas.mapping.activities import FinishRequest, SyncStep, begin_sync, finish_sync, sync_endpoint


@dataclass
class PostSyncRequest:
    tenant_id: str
    connector_id: str
    run_id: str


# Workflow names started after every successful sync, with a `PostSyncRequest`.
POST_SYNC_WORKFLOWS: list[str] = ["TenantAnalysis"]


@workflow.defn(name=SYNC_WORKFLOW)
class ConnectorSyncWorkflow:
    def __init__(self) -> None:
        self.current: str | None = None

    @workflow.query
    def current_endpoint(self) -> str | None:
        return self.current

    @workflow.run
    async def run(self, request: SyncRequest) -> dict[str, Any]:
        plan = await workflow.execute_activity(
            begin_sync,
            request,
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=RetryPolicy(maximum_attempts=5),
        )
        if plan.skipped_reason:
            return {"status": "skipped", "reason": plan.skipped_reason, "run_id": plan.run_id}
        error: dict[str, Any] | None = None
        for endpoint in plan.endpoints:
            self.current = endpoint.key
            try:
                await workflow.execute_activity(
                    sync_endpoint,
                    SyncStep(request.tenant_id, request.connector_id, plan.run_id, endpoint.key),
                    start_to_close_timeout=timedelta(hours=6),
                    heartbeat_timeout=timedelta(seconds=request.heartbeat_seconds),
                    retry_policy=RetryPolicy(
                        initial_interval=timedelta(seconds=1),
                        maximum_attempts=10,
                        non_retryable_error_types=["SyncFailed"],
                    ),
                )
            except ActivityError as exc:
                cause = exc.cause
                details = cause.details[0] if isinstance(cause, ApplicationError) and cause.details else {}
                error = {
                    "endpoint": endpoint.key,
                    "reason": details.get("reason", "activity_failed"),
                    "status": details.get("status"),
                    "url": details.get("url"),
                    "detail": details.get("detail") or str(cause or exc)[:300],
                    "hint": details.get("hint"),  # a 401's WWW-Authenticate: what the server expects
                }
                # A read that ended short of the source's declared total says both numbers.
                error.update({k: details[k] for k in ("read", "declared") if k in details})
                break
        self.current = None
        outcome: dict[str, Any] = await workflow.execute_activity(
            finish_sync,
            FinishRequest(request.tenant_id, plan.run_id, error),
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(maximum_attempts=10),
        )
        if outcome["status"] == "succeeded":
            for name in POST_SYNC_WORKFLOWS:
                await workflow.start_child_workflow(
                    name,
                    PostSyncRequest(request.tenant_id, request.connector_id, plan.run_id),
                    id=f"{name}-{plan.run_id}",
                    parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                )
        return outcome
