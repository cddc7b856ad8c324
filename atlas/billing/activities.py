"""Temporal activities of billing: thin, calling the services (renewals, dunning, the trial sweep)."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass

import structlog
from sqlalchemy import select
from temporalio import activity

from atlas.billing import payments, renewals
from atlas.billing import services as billing
from atlas.billing.models import Subscription
from atlas.billing.moyasar import client_from_settings
from atlas.durable.runtime import runtime

log = structlog.get_logger("atlas.billing.renewals")


@dataclass
class RenewalRequest:
    tenant_id: str
    subscription_id: str


@dataclass
class RenewalStep:
    kind: str
    seconds: float
    reason: str


@activity.defn(name="billing.next_step")
async def renewal_next_step(request: RenewalRequest) -> RenewalStep:
    rt = runtime()
    async with rt.db.tenant_session(uuid.UUID(request.tenant_id)) as session:
        step = await renewals.next_step(
            session,
            uuid.UUID(request.subscription_id),
            rt.settings,
            correlation_id=activity.info().workflow_id or "renewal",
        )
    return RenewalStep(step.kind, step.seconds, step.reason)


@activity.defn(name="billing.charge_renewal")
async def charge_renewal(request: RenewalRequest) -> str:
    """Charge the saved card for the next period (or the next dunning round); apply the outcome."""
    rt = runtime()
    tenant_id = uuid.UUID(request.tenant_id)
    correlation_id = activity.info().workflow_id or "renewal"
    async with rt.db.tenant_session(tenant_id) as session:
        attempt_id = await renewals.prepare_renewal(
            session, uuid.UUID(request.subscription_id), rt.settings, correlation_id=correlation_id
        )
        if attempt_id is None:
            return "nothing_due"
        attempt = await payments.PaymentAttemptRepo(session).get(attempt_id)
        status, message, url = attempt.status, attempt.message, attempt.transaction_url
        has_card = attempt.payment_method_id is not None
    if status in ("created", "error") and has_card:
        try:
            async with client_from_settings(rt.settings) as client:
                started = await payments.charge_attempt_with_saved_card(
                    rt.db,
                    client,
                    settings=rt.settings,
                    box=rt.secret_box,
                    tenant_id=tenant_id,
                    attempt_id=attempt_id,
                    actor=renewals.ACTOR,
                    correlation_id=correlation_id,
                )
            status, message, url = started.status, started.message, started.redirect_url
        except payments.PaymentFailed as exc:
            status, message, url = "failed", exc.message_key, None  # e.g. an expired or blocked card's token
    elif not has_card:
        status, message = "failed", "no saved card"
    if status == "paid":
        return "paid"
    async with rt.db.tenant_session(tenant_id) as session:
        await renewals.record_failure(
            session,
            attempt_id,
            rt.settings,
            message=message,
            transaction_url=url if status == "initiated" else None,
            correlation_id=correlation_id,
        )
    log.info("renewal_not_paid", subscription_id=request.subscription_id, status=status)
    return status


@activity.defn(name="billing.sweep")
async def billing_sweep() -> list[RenewalRequest]:
    """Persist ended trials; return every subscription that needs a renewal workflow (paid by card)."""
    async with runtime().db.system_session() as session:
        expired = await billing.expire_ended_trials(session)
        rows = (
            await session.execute(
                select(Subscription.tenant_id, Subscription.id).where(
                    Subscription.billing_mode == "moyasar", Subscription.status.in_(("active", "past_due"))
                )
            )
        ).all()
    if expired:
        log.info("trials_expired", count=expired)
    return [RenewalRequest(str(t), str(s)) for t, s in rows]


@activity.defn(name="billing.reconcile_payments")
async def reconcile_payments() -> dict[str, int]:
    """Settle payments left open (no browser return, no webhook) by asking Moyasar; skipped when not configured."""
    rt = runtime()
    if not rt.settings.moyasar_configured:
        return {"checked": 0}
    async with client_from_settings(rt.settings) as client:
        done = await payments.reconcile_open_payments(rt.db, client, settings=rt.settings)
    if done.checked:
        log.info("payments_reconciled", **dataclasses.asdict(done))
    return dataclasses.asdict(done)


__all__ = [
    "RenewalRequest",
    "RenewalStep",
    "billing_sweep",
    "charge_renewal",
    "reconcile_payments",
    "renewal_next_step",
]
