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

from atlas.billing.invoices import display_number, title_key
from atlas.billing.models import Invoice, Refund, Subscription, SubscriptionPlan
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


async def tenant_documents(session: AsyncSession, tenant_id: uuid.UUID) -> dict[str, Any]:
    """The tenant's invoices and notes for the platform admin's tenant page (issue 20), newest first, each with what
    is still refundable on it by Atlas's own records (its total less its credit notes'), and the tenant's refunds
    with where each stands. Moyasar's own figure is checked when a refund is asked for."""
    rows = list(
        (
            await session.execute(select(Invoice).where(Invoice.tenant_id == tenant_id).order_by(Invoice.number.desc()))
        ).scalars()
    )
    numbers = {row.id: row.number for row in rows}
    credited: dict[uuid.UUID, int] = {}
    for row in rows:
        if row.kind == "credit_note" and row.original_invoice_id is not None:
            credited[row.original_invoice_id] = credited.get(row.original_invoice_id, 0) + row.total
    documents = [
        {
            "id": row.id,
            "number": display_number(row.number),
            "kind": row.kind,
            "title_key": title_key(row.kind, row.buyer_vat_number),
            "issued_at": row.issued_at,
            "total": row.total,
            "refundable": row.total - credited.get(row.id, 0) if row.kind != "credit_note" else 0,
            "paid": row.payment_attempt_id is not None and row.kind != "credit_note",
            "original_number": display_number(numbers[row.original_invoice_id])
            if row.original_invoice_id in numbers
            else None,
            "reason": row.reason,
        }
        for row in rows
    ]
    refunds = list(
        (
            await session.execute(
                select(Refund).where(Refund.tenant_id == tenant_id).order_by(Refund.created_at.desc()).limit(50)
            )
        ).scalars()
    )
    plans = list((await session.execute(select(SubscriptionPlan).order_by(SubscriptionPlan.sort_order))).scalars())
    return {
        "documents": documents,
        "refunds": [
            {
                "id": r.id,
                "kind": r.kind,
                "status": r.status,
                "total": r.amount_total,
                "reason": r.reason,
                "message": r.message,
                "number": display_number(numbers[r.invoice_id]) if r.invoice_id in numbers else None,
                "credit_note_number": display_number(numbers[r.credit_note_id])
                if r.credit_note_id in numbers
                else None,
                "created_at": r.created_at,
            }
            for r in refunds
        ],
        "plans": [{"id": p.id, "price": p.price_halalas} for p in plans],
    }
