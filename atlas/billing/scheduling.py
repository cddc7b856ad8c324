"""Starting (or nudging) a subscription's renewal workflow from the web app.

The workflow is started by its registered name with billing's own `RenewalRequest`, so billing never imports the
workflow's definition (`atlas.workflows.billing`, a layer above): the names here are the ones that definition
registers itself under (it imports them from here), and the worker runs it.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from temporalio.common import WorkflowIDConflictPolicy

from atlas.billing.activities import RenewalRequest
from atlas.config import Settings

log = structlog.get_logger("atlas.billing")

# The renewal workflow's registered name and its signal "something changed, decide again now"
# (`atlas.workflows.billing.SubscriptionRenewalWorkflow`).
RENEWAL_WORKFLOW = "SubscriptionRenewal"
RENEWAL_CHANGED_SIGNAL = "changed"


def renewal_workflow_id(subscription_id: str) -> str:
    """One renewal workflow per subscription: started here, by the billing sweep and by continue-as-new alike."""
    return f"subscription-{subscription_id}"


async def ensure_renewal(
    temporal: Any, settings: Settings, *, tenant_id: uuid.UUID, subscription_id: uuid.UUID
) -> bool:
    """Make sure `subscription-<id>` runs and re-decides now. Never fails the request that paid: if Temporal
    is unreachable, the scheduled billing sweep starts the workflow later."""
    try:
        client = await temporal.client()
        handle = await client.start_workflow(
            RENEWAL_WORKFLOW,
            RenewalRequest(str(tenant_id), str(subscription_id)),
            id=renewal_workflow_id(str(subscription_id)),
            task_queue=settings.temporal_task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        await handle.signal(RENEWAL_CHANGED_SIGNAL)
        return True
    except Exception as exc:  # the payment is applied either way; the sweep reconciles
        log.warning("renewal_workflow_not_started", error=type(exc).__name__)
        return False
