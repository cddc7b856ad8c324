"""The platform admin's billing: subscriptions by state, trials ending this week, past-due tenants, monthly
recurring revenue (self-serve and contract customers apart, the operator's internal tenants outside it) and meeting
requests (read in a platform-read transaction), and two actions (a system transaction each, audited in the target
tenant's trail): extend a trial, activate an enterprise tenant by contract (invoiced outside Moyasar)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.billing import services as billing
from atlas.billing.models import MeetingRequest, Subscription, SubscriptionPlan
from atlas.billing.states import Event, Status
from atlas.db.base import utcnow
from atlas.errors import Conflict, NotFound, ValidationFailed
from atlas.platform.audit import Actor, EventType, record
from atlas.platform.models import Tenant
from atlas.platform.platform_admin import as_platform_admin

MAX_TRIAL_EXTENSION_DAYS = 90
MAX_CONTRACT_MONTHS = 60


@dataclass
class TenantBilling:
    tenant_id: uuid.UUID
    tenant_name: str
    org_type: str | None
    status: str
    plan_id: str
    billing_mode: str
    trial_ends_at: datetime | None
    current_period_end: datetime | None
    past_due_since: datetime | None
    cancel_at_period_end: bool
    internal: bool = False


@dataclass
class BillingOverview:
    """``mrr_halalas`` is customers' revenue only: ``mrr_self_serve_halalas`` (paid through Moyasar) plus
    ``mrr_contract_halalas`` (enterprise contracts invoiced outside Moyasar). The operator's own tenants (a
    subscription marked ``internal``) are never revenue: their plans' price is ``internal_halalas``, apart."""

    by_state: dict[str, int]
    mrr_halalas: int
    trials_ending_this_week: list[TenantBilling]
    past_due: list[TenantBilling]
    subscriptions: list[TenantBilling]
    meeting_requests: list[dict[str, Any]] = field(default_factory=list)
    mrr_self_serve_halalas: int = 0
    mrr_contract_halalas: int = 0
    internal_halalas: int = 0


async def overview(session: AsyncSession, *, now: datetime | None = None) -> BillingOverview:
    """Across tenants (platform-read transaction). MRR counts the monthly net price of every customer's
    subscription being paid for now: active (Moyasar or contract) and past due (still owed, not yet churned).
    An internal tenant's plan counts in ``internal_halalas`` instead: the operator does not pay itself."""
    moment = now or utcnow()
    rows = (
        await session.execute(
            select(Subscription, Tenant.name, Tenant.org_type, SubscriptionPlan.price_halalas)
            .join(Tenant, Tenant.id == Subscription.tenant_id)
            .join(SubscriptionPlan, SubscriptionPlan.id == Subscription.plan_id)
            .order_by(Tenant.name, Tenant.id)
        )
    ).all()
    by_state = {s.value: 0 for s in Status}
    self_serve = contract = internal = 0
    items: list[TenantBilling] = []
    for subscription, name, org_type, price in rows:
        state = billing.effective(subscription, moment)
        by_state[state.value] += 1
        if state in (Status.ACTIVE, Status.PAST_DUE):
            if subscription.internal:
                internal += int(price)
            elif subscription.billing_mode == "contract":
                contract += int(price)
            else:
                self_serve += int(price)
        items.append(
            TenantBilling(
                tenant_id=subscription.tenant_id,
                tenant_name=name,
                org_type=org_type,
                status=state.value,
                plan_id=subscription.plan_id,
                billing_mode=subscription.billing_mode,
                trial_ends_at=subscription.trial_ends_at,
                current_period_end=subscription.current_period_end,
                past_due_since=subscription.past_due_since,
                cancel_at_period_end=subscription.cancel_at_period_end,
                internal=subscription.internal,
            )
        )
    week = moment + timedelta(days=7)
    ending = sorted(
        (t for t in items if t.status == "trial" and t.trial_ends_at is not None and t.trial_ends_at <= week),
        key=lambda t: t.trial_ends_at or moment,
    )
    meetings = (
        await session.execute(
            select(MeetingRequest, Tenant.name)
            .join(Tenant, Tenant.id == MeetingRequest.tenant_id)
            .order_by(MeetingRequest.created_at.desc(), MeetingRequest.id.desc())
            .limit(200)
        )
    ).all()
    return BillingOverview(
        by_state=by_state,
        mrr_halalas=self_serve + contract,
        mrr_self_serve_halalas=self_serve,
        mrr_contract_halalas=contract,
        internal_halalas=internal,
        trials_ending_this_week=ending,
        past_due=[t for t in items if t.status == "past_due"],
        subscriptions=items,
        meeting_requests=[
            {
                "id": m.id,
                "tenant_id": m.tenant_id,
                "tenant_name": tenant_name,
                "contact_name": m.contact_name,
                "email": m.email,
                "phone": m.phone,
                "preferred_times": m.preferred_times,
                "notes": m.notes,
                "created_at": m.created_at,
            }
            for m, tenant_name in meetings
        ],
    )


async def meeting_requesters(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Who asked for each meeting (its actor reference, ``user:<uuid>``), for the platform page to name them.
    Platform-read transaction."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await session.execute(
        select(MeetingRequest.id, MeetingRequest.created_by).where(MeetingRequest.id.in_(wanted))
    )
    return {row_id: created_by for row_id, created_by in rows.tuples()}


async def _subscription_of(session: AsyncSession, tenant_id: uuid.UUID) -> tuple[Tenant, Subscription]:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("errors.tenant_not_found")
    subscription = await billing.current_subscription(session, tenant_id)
    if subscription is None:
        raise NotFound("errors.subscription_not_found")
    locked = (
        await session.execute(select(Subscription).where(Subscription.id == subscription.id).with_for_update())
    ).scalar_one()
    return tenant, locked


async def extend_trial(
    session: AsyncSession, tenant_id: uuid.UUID, *, days: int, actor: Actor, correlation_id: str
) -> Subscription:
    """Give a tenant ``days`` more of trial (from now if it has already ended). System transaction."""
    if not 1 <= days <= MAX_TRIAL_EXTENSION_DAYS:
        raise ValidationFailed(
            "errors.trial_extension_days", low=1, high=MAX_TRIAL_EXTENSION_DAYS, extra={"field": "days"}
        )
    _, subscription = await _subscription_of(session, tenant_id)
    state = billing.effective(subscription)
    if state not in (Status.TRIAL, Status.EXPIRED) or subscription.current_period_start is not None:
        raise Conflict("errors.trial_extension_not_trial", state=state.value)
    now = utcnow()
    base = max(now, subscription.trial_ends_at or now)
    new_end = base + timedelta(days=days)
    before = subscription.trial_ends_at
    await billing.transition(
        session,
        subscription,
        Event.TRIAL_EXTENDED,
        actor=as_platform_admin(actor),
        correlation_id=correlation_id,
        reason="platform_admin",
        trial_ends_at=new_end,
        expired_at=None,
    )
    await record(
        session,
        EventType.TRIAL_EXTENDED,
        actor=as_platform_admin(actor),
        correlation_id=correlation_id,
        tenant_id=tenant_id,
        payload={"days": days, "from": before, "to": new_end},
    )
    return subscription


async def activate_by_contract(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    plan_id: str,
    months: int,
    reference: str,
    actor: Actor,
    correlation_id: str,
) -> Subscription:
    """Set an enterprise tenant active on ``plan_id`` for ``months`` under a contract invoiced outside Moyasar
    (no card, no renewal charges). System transaction."""
    tenant, subscription = await _subscription_of(session, tenant_id)
    if tenant.org_type != "enterprise":
        raise Conflict("errors.contract_enterprise_only")
    if not 1 <= months <= MAX_CONTRACT_MONTHS:
        raise ValidationFailed("errors.contract_months", low=1, high=MAX_CONTRACT_MONTHS, extra={"field": "months"})
    text = " ".join(reference.split())
    if not 2 <= len(text) <= 200:
        raise ValidationFailed("errors.contract_reference", extra={"field": "reference"})
    plan = await billing.get_plan(session, plan_id)
    now = utcnow()
    end = now
    for _ in range(months):
        end = billing.add_calendar_month(end)
    await billing.transition(
        session,
        subscription,
        Event.CONTRACT_ACTIVATED,
        actor=as_platform_admin(actor),
        correlation_id=correlation_id,
        reason="contract",
        plan_id=plan.id,
        billing_mode="contract",
        contract_reference=text,
        current_period_start=now,
        current_period_end=end,
        cancel_at_period_end=False,
        cancelled_at=None,
        pending_plan_id=None,
        past_due_since=None,
        failed_renewals=0,
        expired_at=None,
    )
    await billing.resolve_notices(session, tenant_id)
    await record(
        session,
        EventType.CONTRACT_ACTIVATED,
        actor=as_platform_admin(actor),
        correlation_id=correlation_id,
        tenant_id=tenant_id,
        payload={"plan": plan.id, "months": months, "reference": text, "until": end},
    )
    return subscription
