"""Temporal activities and scheduling of the ZATCA submission (issue 20): one workflow per invoicing unit.

The workflow is started by name (``atlas.workflows.einvoicing`` registers itself under the names here, as the
renewal workflow does with ``atlas.billing.scheduling``), so billing never imports a workflow definition. It is
nudged after each issued document — ``issue_einvoice`` sends ``NOTIFY einvoice_issued, '<unit id>'`` in its
transaction, which PostgreSQL delivers only on commit, and the worker's listener starts/signals the workflow — and
by the billing sweep, which starts one for every unit with pending documents (so a lost notification, a worker
restart or an outage loses nothing).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Final

import structlog
from sqlalchemy import select
from temporalio import activity
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError

from atlas.billing.einvoice_submission import PENDING, submit_pending
from atlas.billing.models import EInvoice, EInvoicingUnit
from atlas.billing.zatca_gateway import ZatcaGateway
from atlas.config import Settings
from atlas.db.engine import Database
from atlas.durable.runtime import runtime

log = structlog.get_logger("atlas.billing.einvoice")

SUBMISSION_WORKFLOW: Final = "EInvoiceSubmission"
ISSUED_SIGNAL: Final = "issued"


def submission_workflow_id(unit_id: str) -> str:
    return f"einvoice-unit-{unit_id}"


@dataclass
class SubmissionRequest:
    unit_id: str


@dataclass
class SubmissionResult:
    sent: int
    accepted: int
    refused: int
    pending: int
    auth_refused: bool
    outage: str | None = None  # ZATCA unavailable (a message safe to show): the workflow waits and tries again


@activity.defn(name="einvoice.submit_pending")
async def submit_unit_documents(request: SubmissionRequest) -> SubmissionResult:
    """One round for the unit, its progress kept. An outage is an answer, not a failure: the workflow waits (and a
    newly issued document cuts the wait short); an activity retry's backoff could not be shortened."""
    rt = runtime()
    unit_id = uuid.UUID(request.unit_id)
    async with rt.db.system_session() as session:
        unit = await session.get(EInvoicingUnit, unit_id)
        if unit is None:
            raise ApplicationError(f"no invoicing unit {unit_id}", non_retryable=True)
        gateway_url, environment = unit.gateway_url, unit.environment
    async with ZatcaGateway(gateway_url, environment, timeout=rt.settings.zatca_timeout_seconds) as gateway:
        result = await submit_pending(rt.db, rt.settings, rt.secret_box, gateway, unit_id)
    outage = result.outage if result.outage is not None and not result.auth_refused else None
    if outage is not None:
        log.warning("einvoice_gateway_unavailable", unit_id=request.unit_id, sent=result.sent, outage=outage)
    return SubmissionResult(result.sent, result.accepted, result.refused, result.pending, result.auth_refused, outage)


async def pending_unit_ids(database: Database) -> list[str]:
    """Every unit with documents still to send."""
    async with database.system_session() as session:
        rows = (
            await session.execute(select(EInvoice.unit_id).where(EInvoice.status.in_(PENDING)).distinct())
        ).scalars()
        return [str(unit_id) for unit_id in rows]


@activity.defn(name="einvoice.units_with_pending")
async def units_with_pending() -> list[SubmissionRequest]:
    """Every unit with documents still to send (the billing sweep starts their workflows)."""
    return [SubmissionRequest(unit_id) for unit_id in await pending_unit_ids(runtime().db)]


async def ensure_submission(client: Any, settings: Settings, unit_id: str) -> bool:
    """Make sure the unit's submission workflow runs and looks again now. Never raises: the sweep is the backstop."""
    try:
        handle = await client.start_workflow(
            SUBMISSION_WORKFLOW,
            SubmissionRequest(unit_id),
            id=submission_workflow_id(unit_id),
            task_queue=settings.temporal_task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        await handle.signal(ISSUED_SIGNAL)
        return True
    except Exception as exc:
        log.warning("einvoice_submission_not_started", unit_id=unit_id, error=type(exc).__name__)
        return False
