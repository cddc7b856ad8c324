"""The platform admin's cross-tenant views of tenants: the list, and one tenant read-only, each with its
subscription. Explicit queries run in a platform-read transaction; the caller audits each view first
(``atlas.platform.platform_admin.audited_platform_read``).

In billing because they join billing's subscriptions to the platform's tenants, members and audit events; the
platform never imports billing.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.billing.models import Subscription
from atlas.errors import NotFound
from atlas.platform.models import AuditEvent, Tenant, User
from atlas.platform.schemas import TenantDetail, TenantSummary, audit_event_read, member_read


def _summary_query() -> Any:
    members = select(User.tenant_id, func.count().label("member_count")).group_by(User.tenant_id).subquery()
    return (
        select(Tenant, Subscription.status, Subscription.plan_id, func.coalesce(members.c.member_count, 0))
        .outerjoin(Subscription, Subscription.tenant_id == Tenant.id)
        .outerjoin(members, members.c.tenant_id == Tenant.id)
    )


def _summary(row: Any) -> TenantSummary:
    tenant, status, plan_id, member_count = row
    return TenantSummary(
        id=tenant.id,
        name=tenant.name,
        org_type=tenant.org_type,
        created_at=tenant.created_at,
        subscription_status=status,
        plan_id=plan_id,
        member_count=int(member_count),
    )


async def list_tenants(session: AsyncSession) -> list[TenantSummary]:
    """Every tenant with its subscription status and member count. Platform-read transaction."""
    rows = await session.execute(_summary_query().order_by(Tenant.created_at.desc(), Tenant.id.desc()))
    return [_summary(row) for row in rows]


async def tenant_detail(session: AsyncSession, tenant_id: uuid.UUID) -> TenantDetail:
    row = (await session.execute(_summary_query().where(Tenant.id == tenant_id))).first()
    if row is None:
        raise NotFound("errors.tenant_not_found")
    tenant: Tenant = row[0]
    subscription = (
        await session.execute(select(Subscription).where(Subscription.tenant_id == tenant_id))
    ).scalar_one_or_none()
    members = (
        await session.execute(select(User).where(User.tenant_id == tenant_id).order_by(User.created_at, User.id))
    ).scalars()
    events = (
        await session.execute(
            select(AuditEvent).where(AuditEvent.tenant_id == tenant_id).order_by(AuditEvent.seq.desc()).limit(20)
        )
    ).scalars()
    return TenantDetail(
        tenant=_summary(row),
        use_case=tenant.use_case,
        onboarding_completed=tenant.onboarding_completed_at is not None,
        trial_ends_at=subscription.trial_ends_at if subscription else None,
        members=[member_read(user) for user in members],
        recent_events=[audit_event_read(event) for event in events],
    )
