"""Starting (or nudging) a subscription's renewal workflow from the web app."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from temporalio.common import WorkflowIDConflictPolicy

from atlas.billing.activities import RenewalRequest
from atlas.config import Settings

log = structlog.get_logger("atlas.billing")


async def ensure_renewal(
    temporal: Any, settings: Settings, *, tenant_id: uuid.UUID, subscription_id: uuid.UUID
) -> bool:
    """Make sure `subscription-<id>` runs and re-decides now. Never fails the request that paid: if Temporal
    is unreachable, the scheduled billing sweep starts the workflow later."""
    from atlas.workflows.billing import SubscriptionRenewalWorkflow, workflow_id

    try:
        client = await temporal.client()
        handle = await client.start_workflow(
            SubscriptionRenewalWorkflow.run,
            RenewalRequest(str(tenant_id), str(subscription_id)),
            id=workflow_id(str(subscription_id)),
            task_queue=settings.temporal_task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        await handle.signal(SubscriptionRenewalWorkflow.changed)
        return True
    except Exception as exc:  # the payment is applied either way; the sweep reconciles
        log.warning("renewal_workflow_not_started", error=type(exc).__name__)
        return False
