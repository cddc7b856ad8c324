"""Entitlements: what a tenant's plan allows, asked of the platform by the components that enforce it.

Billing knows each tenant's plan and its limits (``max_connectors``, ``max_records``) and whether the subscription
allows background work now; connectors and mapping enforce those limits, and billing in turn needs to know how much
of each a tenant uses (to refuse a downgrade that would not fit). Importing each other made a cycle between billing
and connectors (and mapping). Here the platform owns the question and neither side imports the other:

- billing answers :class:`PlanLimits` (``atlas.billing.entitlements``);
- connectors and mapping each count what they own (:data:`UsageCounter`), where their limit is checked;
- the process's composition (``atlas.wiring.wire``: the web app, the worker, the demo, the tests) connects them once.

The page layout (``atlas.web.ui.layout``) asks here too, for what its trial and billing notices show of the
tenant's subscription (:class:`SubscriptionStanding`): it sits below billing, so it cannot read billing itself.

Nothing answered is an error (:class:`EntitlementsNotWired`), never "no limit": a process that forgot the wiring
fails loudly instead of letting a tenant past its plan.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from atlas.errors import AtlasError


@dataclass(frozen=True, slots=True)
class PlanLimit:
    """A tenant's limit on ``feature`` from its plan (``limit`` None: the plan has none)."""

    feature: str
    limit: int | None
    plan_id: str


@dataclass(frozen=True, slots=True)
class SubscriptionStanding:
    """What the page layout shows of a tenant's subscription: its effective state now (``trial``, ``active``,
    ``past_due``, ``cancelled``, ``expired``), its plan, when its trial ends, and when it ends because it is being
    cancelled at the end of its period (None when it is not)."""

    state: str
    plan_id: str
    trial_ends_at: datetime | None
    cancel_at: datetime | None


class PlanLimitReached(AtlasError):
    status = 402
    slug = "plan-limit-reached"


class PlanLimits(Protocol):
    """What billing answers about a tenant's plan."""

    async def limit(
        self, session: AsyncSession, feature: str, tenant_id: uuid.UUID | None = None, *, lock: bool = False
    ) -> PlanLimit | None:
        """The tenant's limit on ``feature`` (None before a subscription exists). ``lock`` holds the tenant's
        subscription for the rest of the transaction, so two requests cannot both take the last place."""
        ...

    async def lifting_plan(self, session: AsyncSession, feature: str, needed: int) -> str | None:
        """The cheapest plan whose ``feature`` limit allows ``needed`` (None: no plan does)."""
        ...

    async def background_work_refused(self, session: AsyncSession, tenant_id: uuid.UUID | None = None) -> str | None:
        """Why scheduled syncs and analyses must not run for this tenant now, or None when they may."""
        ...

    async def standing(self, session: AsyncSession, tenant_id: uuid.UUID | None = None) -> SubscriptionStanding | None:
        """The tenant's subscription as the page layout shows it (None before a subscription exists)."""
        ...


# A count of what a tenant uses of a feature now, by the component that owns the rows (session, tenant).
UsageCounter = Callable[[AsyncSession, uuid.UUID], Awaitable[int]]


class EntitlementsNotWired(RuntimeError):
    """This process never connected billing's answers or a component's usage count (``atlas.wiring.wire``)."""


_limits: PlanLimits | None = None
_counters: dict[str, UsageCounter] = {}


def provide_limits(limits: PlanLimits) -> None:
    """Billing's answers for this process (set once, at start-up)."""
    global _limits
    _limits = limits


def provide_usage(feature: str, counter: UsageCounter) -> None:
    """How to count a tenant's use of ``feature`` (``max_connectors``, ``max_records``) for this process."""
    _counters[feature] = counter


def plan_limits() -> PlanLimits:
    if _limits is None:
        raise EntitlementsNotWired("no plan limits in this process: call atlas.wiring.wire() at start-up")
    return _limits


async def subscription_standing(
    session: AsyncSession, tenant_id: uuid.UUID | None = None
) -> SubscriptionStanding | None:
    """The tenant's subscription as the page layout shows it (None before a subscription exists), from billing."""
    return await plan_limits().standing(session, tenant_id)


async def usage(session: AsyncSession, feature: str, tenant_id: uuid.UUID) -> int:
    """How much of ``feature`` the tenant uses now, counted by the component that owns it."""
    counter = _counters.get(feature)
    if counter is None:
        raise EntitlementsNotWired(f"nothing counts {feature} in this process: call atlas.wiring.wire() at start-up")
    return await counter(session, tenant_id)


async def limit_reached(session: AsyncSession, limit: PlanLimit, needed: int, key: str) -> PlanLimitReached:
    """The 402 for going past ``limit`` (``needed`` in all), naming the plan that lifts it."""
    lifting = await plan_limits().lifting_plan(session, limit.feature, needed)
    return PlanLimitReached(
        key,
        limit=limit.limit,
        plan=limit.plan_id,
        upgrade_plan=lifting or "enterprise",
        extra={"limit": limit.feature, "max": limit.limit, "plan": limit.plan_id, "upgrade_to": lifting},
    )
