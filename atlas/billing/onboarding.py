"""Onboarding as the tenant's admin finishes it: the platform records the wizard's choices on the tenant, and
billing starts the trial of the chosen plan (SPEC 3 steps 2-4).

It lives in billing, the lower of the two layers that may use both the platform (tenants) and billing
(subscriptions); the platform itself never imports billing (docs/architecture.md).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from atlas.billing import services as billing
from atlas.errors import NotFound
from atlas.platform import services as platform
from atlas.platform.audit import Actor


@dataclass(frozen=True, slots=True)
class OnboardingStatus:
    completed: bool
    company_name: str
    org_type: str | None
    use_case: str | None
    subscription_status: str | None
    plan_id: str | None
    trial_ends_at: datetime | None


async def onboarding_status(session: AsyncSession, tenant_id: uuid.UUID | None = None) -> OnboardingStatus:
    tenant = await platform.TenantRepo(session, tenant_id=tenant_id).one_or_none()
    if tenant is None:
        raise NotFound("errors.not_found")
    subscription = await billing.current_subscription(session, tenant_id=tenant.id)
    return OnboardingStatus(
        completed=tenant.onboarding_completed_at is not None,
        company_name=tenant.name,
        org_type=tenant.org_type,
        use_case=tenant.use_case,
        subscription_status=subscription.status if subscription else None,
        plan_id=subscription.plan_id if subscription else None,
        trial_ends_at=subscription.trial_ends_at if subscription else None,
    )


async def complete_onboarding(
    session: AsyncSession,
    *,
    company_name: str,
    org_type: str,
    use_case: str,
    plan_id: str | None,
    actor: Actor,
    correlation_id: str,
    trial_days: int,
    tenant_id: uuid.UUID | None = None,
) -> OnboardingStatus:
    """Record the wizard's choices and start the 7-day trial (SPEC 3 steps 2-4)."""
    tenant = await platform.record_onboarding(
        session,
        company_name=company_name,
        org_type=org_type,
        use_case=use_case,
        actor=actor,
        correlation_id=correlation_id,
        tenant_id=tenant_id,
    )
    await billing.start_trial(
        session,
        plan_id=plan_id or billing.default_plan_for(org_type),
        trial_days=trial_days,
        actor=actor,
        correlation_id=correlation_id,
        tenant_id=tenant.id,
    )
    return await onboarding_status(session, tenant_id=tenant.id)
