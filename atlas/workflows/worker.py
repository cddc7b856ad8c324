"""`atlas worker`: the Temporal worker, with its schedules."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import structlog
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleSpec,
)
from temporalio.worker import Worker

from atlas.ai_engine.activities import tenants_with_data
from atlas.approvals.activities import ACTIVITIES as APPROVAL_ACTIVITIES
from atlas.approvals.analysis_runs import analyse_tenant
from atlas.billing.activities import billing_sweep, charge_renewal, reconcile_payments, renewal_next_step
from atlas.billing.einvoice_activities import submit_unit_documents, units_with_pending
from atlas.billing.einvoicing_reminders import certificate_reminders
from atlas.config import Settings
from atlas.connectors.activities import check_connector_health, list_all_connectors
from atlas.durable.runtime import init_runtime
from atlas.mapping.activities import begin_sync, finish_sync, sync_endpoint
from atlas.wiring import wire
from atlas.workflows.analysis import NightlyAnalysisWorkflow, TenantAnalysisWorkflow
from atlas.workflows.approval import ApprovalReconcileWorkflow, RecommendationApprovalWorkflow
from atlas.workflows.audit_seal import AuditSealWorkflow, seal_checkpoints
from atlas.workflows.billing import BillingSweepWorkflow, SubscriptionRenewalWorkflow
from atlas.workflows.connector_health import ConnectorHealthSweepWorkflow
from atlas.workflows.einvoice_listener import listen_for_issued_documents
from atlas.workflows.einvoicing import EInvoiceSubmissionWorkflow
from atlas.workflows.housekeeping import HousekeepingWorkflow, sweep_expired
from atlas.workflows.sync import ConnectorSyncWorkflow

log = structlog.get_logger("atlas.worker")
WORKFLOWS = [
    HousekeepingWorkflow,
    ConnectorHealthSweepWorkflow,
    ConnectorSyncWorkflow,
    TenantAnalysisWorkflow,
    NightlyAnalysisWorkflow,
    SubscriptionRenewalWorkflow,  # billing (issue 7)
    BillingSweepWorkflow,
    RecommendationApprovalWorkflow,  # approvals (issue 6)
    ApprovalReconcileWorkflow,
    AuditSealWorkflow,  # signed audit checkpoints (issue 16)
    EInvoiceSubmissionWorkflow,  # ZATCA submission (issue 20)
]
ACTIVITIES: list[Callable[..., Any]] = [
    sweep_expired,
    list_all_connectors,
    check_connector_health,
    begin_sync,
    sync_endpoint,
    finish_sync,
    analyse_tenant,
    tenants_with_data,
    renewal_next_step,  # billing (issue 7)
    charge_renewal,
    billing_sweep,
    reconcile_payments,
    *APPROVAL_ACTIVITIES,  # approvals (issue 6)
    seal_checkpoints,
    submit_unit_documents,  # ZATCA submission (issue 20)
    units_with_pending,
    certificate_reminders,  # reminders before the unit's certificate expires (issue 20)
]


def recurring(settings: Settings) -> list[tuple[str, Any, int]]:
    """The platform's recurring workflows: schedule id, workflow, seconds between runs."""
    return [
        ("atlas-housekeeping", HousekeepingWorkflow.run, settings.housekeeping_interval_seconds),
        ("atlas-connector-health", ConnectorHealthSweepWorkflow.run, settings.connector_health_interval_seconds),
        ("atlas-nightly-analysis", NightlyAnalysisWorkflow.run, 24 * 3600),
        ("atlas-billing-sweep", BillingSweepWorkflow.run, settings.trial_sweep_interval_seconds),
        ("atlas-approval-reconcile", ApprovalReconcileWorkflow.run, settings.approval_reconcile_seconds),
        ("atlas-audit-seal", AuditSealWorkflow.run, settings.audit_checkpoint_interval_seconds),
    ]


async def ensure_schedules(client: Client, settings: Settings) -> None:
    """Create the recurring schedules once; an existing schedule is left as it is."""
    for schedule_id, workflow_run, seconds in recurring(settings):
        with contextlib.suppress(ScheduleAlreadyRunningError):
            await client.create_schedule(
                schedule_id,
                Schedule(
                    action=ScheduleActionStartWorkflow(
                        workflow_run, id=f"{schedule_id}-run", task_queue=settings.temporal_task_queue
                    ),
                    spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=seconds))]),
                ),
            )


def build_worker(client: Client, settings: Settings) -> Worker:
    wire()  # the activities enforce plan limits through the platform's entitlements
    return Worker(client, task_queue=settings.temporal_task_queue, workflows=WORKFLOWS, activities=ACTIVITIES)


async def reconcile_sync_schedules(client: Client, settings: Settings) -> int:
    """Every connector with a sync interval has its schedule (after a restore or a Temporal reset)."""
    from sqlalchemy import select

    from atlas.connectors.models import Connector
    from atlas.connectors.schedules import set_sync_schedule
    from atlas.durable.runtime import runtime

    async with runtime().db.system_session() as session:
        rows = (
            await session.execute(
                select(Connector.tenant_id, Connector.id, Connector.sync_interval_minutes).where(
                    Connector.sync_interval_minutes.is_not(None)
                )
            )
        ).all()
    for tenant_id, connector_id, minutes in rows:
        await set_sync_schedule(client, settings, tenant_id=tenant_id, connector_id=connector_id, minutes=minutes)
    return len(rows)


async def run_worker(settings: Settings) -> None:
    runtime = init_runtime(settings)
    client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
    await ensure_schedules(client, settings)
    await reconcile_sync_schedules(client, settings)
    log.info("worker_started", task_queue=settings.temporal_task_queue)
    # documents issued (committed) → their unit's submission workflow, at once (the billing sweep is the backstop)
    listener = asyncio.create_task(listen_for_issued_documents(client, settings, database=runtime.db))
    try:
        await build_worker(client, settings).run()
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await listener
        await runtime.db.dispose()


def main(settings: Settings) -> None:
    asyncio.run(run_worker(settings))
