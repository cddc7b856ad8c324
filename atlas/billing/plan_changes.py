"""Changing plan: during the trial the trial's plan simply changes; on a paid subscription an upgrade
takes effect at once with a prorated charge on the saved card, and a downgrade waits for the next period
(refused when today's usage would not fit the smaller plan)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from atlas.billing import services as billing
from atlas.billing import views
from atlas.billing.payments import UpgradeCharge, prepare_upgrade
from atlas.billing.schemas import PlanChangeResult
from atlas.billing.states import Status
from atlas.config import Settings
from atlas.errors import Conflict
from atlas.platform.audit import Actor, EventType, record


async def change_plan(
    session: AsyncSession, plan_id: str, *, settings: Settings, actor: Actor, correlation_id: str
) -> PlanChangeResult | UpgradeCharge:
    """Change the plan, or (an upgrade of a paid subscription) record the prorated charge to make; the caller
    charges it after this transaction commits (`atlas.billing.payments.charge_attempt_with_saved_card`)."""
    subscription = await billing.locked_subscription(session)
    plan = await billing.get_plan(session, plan_id)
    status = billing.effective(subscription)
    if plan.id == subscription.plan_id:
        if subscription.pending_plan_id is not None:
            # Choosing the current plan again withdraws a scheduled downgrade.
            subscription.pending_plan_id = None
            await record(
                session,
                EventType.SUBSCRIPTION_PLAN_CHANGED,
                actor=actor,
                correlation_id=correlation_id,
                payload={"subscription_id": str(subscription.id), "to": plan.id, "effective": "withdrawn"},
            )
            return PlanChangeResult("downgrade_withdrawn", await views.subscription_read(session, subscription))
        raise Conflict("errors.plan_unchanged", plan=plan.id)
    if status is Status.TRIAL:
        if billing.plan_rank(plan.id) < billing.plan_rank(subscription.plan_id):
            await billing.check_fits(session, plan)
        before = subscription.plan_id
        subscription.plan_id = plan.id
        await record(
            session,
            EventType.SUBSCRIPTION_PLAN_CHANGED,
            actor=actor,
            correlation_id=correlation_id,
            payload={"subscription_id": str(subscription.id), "from": before, "to": plan.id, "effective": "now"},
        )
        return PlanChangeResult("changed", await views.subscription_read(session, subscription))
    if status is not Status.ACTIVE or subscription.billing_mode != "moyasar":
        # Expired, cancelled and past-due subscriptions choose their plan by paying for it.
        raise Conflict("errors.plan_change_needs_payment", state=status.value)
    if billing.plan_rank(plan.id) < billing.plan_rank(subscription.plan_id):
        await billing.schedule_downgrade(session, subscription, plan, actor=actor, correlation_id=correlation_id)
        return PlanChangeResult("downgrade_scheduled", await views.subscription_read(session, subscription))
    return await prepare_upgrade(
        session, subscription, plan, settings=settings, actor=actor, correlation_id=correlation_id
    )
