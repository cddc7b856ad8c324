"""Plans and the trial. Payments, renewals and plan gating build on this."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.billing.models import Subscription, SubscriptionPlan
from atlas.db.base import utcnow
from atlas.errors import ValidationFailed
from atlas.platform.audit import Actor, EventType, record
from atlas.platform.tenancy import TenantRepository


class SubscriptionRepository(TenantRepository[Subscription]):
    model = Subscription


async def list_plans(session: AsyncSession) -> list[SubscriptionPlan]:
    result = await session.execute(select(SubscriptionPlan).order_by(SubscriptionPlan.sort_order))
    return list(result.scalars())


def default_plan_for(org_type: str) -> str:
    return "enterprise" if org_type == "enterprise" else "professional"


async def start_trial(
    session: AsyncSession,
    *,
    plan_id: str,
    trial_days: int,
    actor: Actor,
    correlation_id: str,
    tenant_id: object | None = None,
) -> Subscription:
    """Start the free trial (SPEC 4): status ``trial`` until ``trial_ends_at``. Idempotent per tenant."""
    plan = await session.get(SubscriptionPlan, plan_id)
    if plan is None:
        raise ValidationFailed("errors.unknown_plan", plan=plan_id)
    repo = SubscriptionRepository(session, tenant_id=tenant_id)  # type: ignore[arg-type]
    existing = await repo.one_or_none()
    if existing is not None:
        return existing
    now = utcnow()
    subscription = await repo.add(
        Subscription(plan_id=plan.id, status="trial", trial_ends_at=now + timedelta(days=trial_days))
    )
    await record(
        session,
        EventType.TRIAL_STARTED,
        actor=actor,
        correlation_id=correlation_id,
        payload={"plan": plan.id, "trial_ends_at": subscription.trial_ends_at},
        tenant_id=repo.tenant_id,
    )
    return subscription


async def current_subscription(session: AsyncSession, tenant_id: object | None = None) -> Subscription | None:
    return await SubscriptionRepository(session, tenant_id=tenant_id).one_or_none()  # type: ignore[arg-type]
