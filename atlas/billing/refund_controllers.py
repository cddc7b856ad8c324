"""A platform admin's refunds of a tenant's paid invoices and debit notes, each with its credit note (issue 20).

`GET /api/platform/tenants/{tenant_id}/refunds/quote` (the suggested and maximum amounts, what else happens),
`POST /api/platform/tenants/{tenant_id}/refunds` (refund, settle, credit note) and
`GET /api/platform/tenants/{tenant_id}/refunds` (the tenant's refunds). Platform admins only (the permission of the
platform billing page's actions); audited in the tenant's trail with the admin as ``platform_admin:<id>``. The flow
and why it is safe with Moyasar's non-idempotent refund API are in `atlas.billing.refunds`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter
from sqlalchemy import select

from atlas.billing import invoices, refunds, services
from atlas.billing.models import Invoice, Refund
from atlas.billing.moyasar import MoyasarClient
from atlas.billing.scheduling import ensure_renewal
from atlas.config import Settings
from atlas.db.engine import Database
from atlas.errors import Unavailable
from atlas.platform import platform_admin
from atlas.platform.principal import Principal
from atlas.platform.rbac import Permission

PLATFORM = {"permission": Permission.PLATFORM_TENANTS}
RefundKind = Annotated[str, msgspec.Meta(pattern="^(refund|cancellation|downgrade)$")]


class RefundIn(msgspec.Struct, forbid_unknown_fields=True):
    invoice_id: uuid.UUID
    kind: RefundKind
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    # halalas, VAT included; omitted: the quote's suggestion
    amount: Annotated[int, msgspec.Meta(ge=1, le=100_000_000)] | None = None
    plan_id: Annotated[str, msgspec.Meta(max_length=40)] | None = None  # a downgrade's target ("" is none)


class AmountRead(msgspec.Struct):
    net_halalas: int
    vat_halalas: int
    total_halalas: int


class QuoteRead(msgspec.Struct):
    invoice_id: uuid.UUID
    number: str
    kind: str
    plan_id: str | None
    paid_total_halalas: int
    credited_total_halalas: int
    moyasar_remaining_halalas: int
    remaining: AmountRead
    maximum_total_halalas: int
    suggested: AmountRead
    effect: str  # none | cancel_now | plan_now


class RefundRead(msgspec.Struct):
    id: uuid.UUID
    invoice_id: uuid.UUID
    kind: str
    plan_id: str | None
    net_halalas: int
    vat_halalas: int
    total_halalas: int
    reason: str
    status: str  # requested | refunded | failed | unknown
    message: str | None
    credit_note_id: uuid.UUID | None
    credit_note_number: str | None
    created_at: datetime
    completed_at: datetime | None


def amount_read(split: refunds.Split) -> AmountRead:
    return AmountRead(net_halalas=split.net, vat_halalas=split.vat, total_halalas=split.total)


def quote_read(found: refunds.Quote) -> QuoteRead:
    return QuoteRead(
        invoice_id=found.invoice_id,
        number=found.number,
        kind=found.kind,
        plan_id=found.plan_id,
        paid_total_halalas=found.paid_total,
        credited_total_halalas=found.credited_total,
        moyasar_remaining_halalas=found.moyasar_remaining,
        remaining=amount_read(found.remaining),
        maximum_total_halalas=found.maximum_total,
        suggested=amount_read(found.suggested),
        effect=found.effect,
    )


def refund_read(refund: Refund, credit_note_number: int | None) -> RefundRead:
    return RefundRead(
        id=refund.id,
        invoice_id=refund.invoice_id,
        kind=refund.kind,
        plan_id=refund.plan_id,
        net_halalas=refund.amount_net,
        vat_halalas=refund.vat,
        total_halalas=refund.amount_total,
        reason=refund.reason,
        status=refund.status,
        message=refund.message,
        credit_note_id=refund.credit_note_id,
        credit_note_number=invoices.display_number(credit_note_number) if credit_note_number else None,
        created_at=refund.created_at,
        completed_at=refund.completed_at,
    )


def moyasar_client(request: Request[Any, Any, Any]) -> MoyasarClient:
    client = getattr(request.app.state, "moyasar", None)
    if client is None:
        raise Unavailable("errors.payments_not_configured")
    return client  # type: ignore[no-any-return]


async def read_with_note(database: Database, tenant_id: uuid.UUID, refund: Refund) -> RefundRead:
    number = None
    if refund.credit_note_id is not None:
        async with database.tenant_session(tenant_id) as session:
            note = await invoices.InvoiceRepo(session).get_or_none(refund.credit_note_id)
            number = note.number if note else None
    return refund_read(refund, number)


class RefundsController(Controller):
    path = "/api/platform/tenants/{tenant_id:uuid}/refunds"
    tags = ["platform"]

    @get("/quote", opt=PLATFORM)
    async def quote(
        self,
        request: Request[Any, Any, Any],
        database: NamedDependency[Database],
        settings: NamedDependency[Settings],
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
        tenant_id: FromPath[uuid.UUID],
        invoice_id: Annotated[uuid.UUID, Parameter(query="invoice_id")],
        kind: Annotated[str, Parameter(query="kind", pattern="^(refund|cancellation|downgrade)$")] = "refund",
        plan_id: Annotated[str | None, Parameter(query="plan_id", max_length=40)] = None,
    ) -> QuoteRead:
        """What a refund of one of the tenant's paid invoices or debit notes would give back: the suggested amount
        (for a cancellation or downgrade, the unused share plus VAT), the most that may be refunded, and what else
        happens (the subscription cancelled or its plan changed now). Nothing is changed."""
        # a platform admin reading one tenant's billing: audited like every cross-tenant read (404 for no tenant)
        await platform_admin.audit_view(
            database, principal, correlation_id, what="refund_quote", viewed_tenant_id=tenant_id
        )
        found = await refunds.quote_refund(
            database,
            moyasar_client(request),
            settings=settings,
            tenant_id=tenant_id,
            invoice_id=invoice_id,
            kind=kind,
            plan_id=plan_id or None,
        )
        return quote_read(found)

    @post("/", opt=PLATFORM, status_code=201)
    async def refund(
        self,
        request: Request[Any, Any, Any],
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
        settings: NamedDependency[Settings],
        tenant_id: FromPath[uuid.UUID],
        data: RefundIn,
    ) -> Response[RefundRead]:
        """Refund money on a paid invoice or debit note through Moyasar and issue the credit note (381 in the
        invoicing unit's chain). 201: refunded, with the credit note; 202: sent but not confirmed yet (settled by
        reconciliation) or unknown (a platform admin must look at Moyasar); 502: Moyasar refused and nothing
        changed. Amounts above what is refundable, or that no net plus 15% VAT gives, are refused (422) before
        Moyasar is asked anything."""
        refund = await refunds.refund_document(
            database,
            moyasar_client(request),
            settings=settings,
            tenant_id=tenant_id,
            invoice_id=data.invoice_id,
            kind=data.kind,
            amount=data.amount,
            plan_id=data.plan_id or None,
            reason=data.reason,
            actor=platform_admin.as_platform_admin(principal.actor),
            correlation_id=correlation_id,
        )
        if refund.status == "failed":
            raise refunds.RefundRefused(
                "errors.refund_refused",
                message=refund.message or "—",
                extra={"refund": msgspec.to_builtins(await read_with_note(database, tenant_id, refund))},
            )
        if refund.status == "refunded" and refund.kind in ("cancellation", "downgrade"):
            async with database.tenant_session(tenant_id) as session:
                subscription = await services.current_subscription(session)
            if subscription is not None:
                await ensure_renewal(
                    request.app.state.temporal, settings, tenant_id=tenant_id, subscription_id=subscription.id
                )
        read = await read_with_note(database, tenant_id, refund)
        return Response(read, status_code=201 if refund.status == "refunded" else 202)

    @get("/", opt=PLATFORM)
    async def list_refunds(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
        tenant_id: FromPath[uuid.UUID],
    ) -> list[RefundRead]:
        """The tenant's refunds, newest first, with where each stands (an audited cross-tenant read)."""
        async with platform_admin.audited_platform_read(
            database, principal, correlation_id, what="tenant_refunds", viewed_tenant_id=tenant_id
        ) as session:
            rows = list(
                (
                    await session.execute(
                        select(Refund).where(Refund.tenant_id == tenant_id).order_by(Refund.created_at.desc())
                    )
                ).scalars()
            )
            notes = await session.execute(
                select(Invoice.id, Invoice.number).where(Invoice.tenant_id == tenant_id, Invoice.kind == "credit_note")
            )
            numbers = {note_id: number for note_id, number in notes.all()}
        return [refund_read(r, numbers.get(r.credit_note_id) if r.credit_note_id else None) for r in rows]


CONTROLLERS = [RefundsController]
