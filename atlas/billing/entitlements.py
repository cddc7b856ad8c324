"""Billing's answers to the platform's entitlements question (``atlas.platform.entitlements.PlanLimits``): a
tenant's limits from its plan, the plan that lifts one, whether its subscription allows background work now, and
its subscription's standing as the page layout shows it (trial and billing notices).

Connectors, mapping and the page layout ask the platform, never billing; ``atlas.wiring.wire`` hands this to the
platform.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from atlas.billing import services as billing
from atlas.platform.entitlements import PlanLimit, SubscriptionStanding


class BillingEntitlements:
    """:class:`atlas.platform.entitlements.PlanLimits`, from the tenant's subscription and its plan."""

    async def limit(
        self, session: AsyncSession, feature: str, tenant_id: uuid.UUID | None = None, *, lock: bool = False
    ) -> PlanLimit | None:
        return await billing.limit_for(session, feature, tenant_id, lock=lock)

    async def lifting_plan(self, session: AsyncSession, feature: str, needed: int) -> str | None:
        plan = await billing.plan_lifting(session, feature, needed)
        return plan.id if plan else None

    async def background_work_refused(self, session: AsyncSession, tenant_id: uuid.UUID | None = None) -> str | None:
        return await billing.background_work_refused(session, tenant_id)

    async def standing(self, session: AsyncSession, tenant_id: uuid.UUID | None = None) -> SubscriptionStanding | None:
        subscription = await billing.current_subscription(session, tenant_id)
        if subscription is None:
            return None
        return SubscriptionStanding(
            state=billing.effective(subscription).value,
            plan_id=subscription.plan_id,
            trial_ends_at=subscription.trial_ends_at,
            cancel_at=subscription.current_period_end if subscription.cancel_at_period_end else None,
        )
