"""Tax invoices: one per successful charge, numbered without gaps across the platform, with the ZATCA
phase-1 QR code. An issued invoice never changes (the application role cannot UPDATE or DELETE it)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.billing import services as billing
from atlas.billing import zatca
from atlas.billing.einvoice_chain import issue_einvoice
from atlas.billing.models import BillingProfile, Invoice, PaymentAttempt, PaymentMethod, SubscriptionPlan
from atlas.config import Settings
from atlas.db.base import utcnow
from atlas.platform.audit import Actor, EventType, record
from atlas.platform.crypto import SecretBox
from atlas.platform.models import Tenant
from atlas.platform.tenancy import TenantRepository


class InvoiceRepo(TenantRepository[Invoice]):
    model = Invoice
    not_found_key = "errors.invoice_not_found"


def display_number(number: int) -> str:
    """How an invoice number is printed: ATL-000042."""
    return f"ATL-{number:06d}"


def buyer_address(profile: BillingProfile | None) -> dict[str, str | None] | None:
    """The profile's national address as the invoice keeps it, or None when it has none (no street, no city)."""
    if profile is None:
        return None
    address = profile.address()
    if not any(address[field] for field in ("street", "building_number", "district", "city", "postal_code")):
        return None
    return address


async def next_invoice_number(session: AsyncSession) -> int:
    """Take the next number. The counter row stays locked until this transaction ends: a rollback gives the
    number back, so numbers have no gaps, and concurrent issuers wait their turn, so none is duplicated."""
    number = await session.scalar(
        text("UPDATE invoice_counters SET last_number = last_number + 1 WHERE name = 'invoices' RETURNING last_number")
    )
    if number is None:
        raise RuntimeError("the invoice counter row is missing (migration 0008 seeds it)")
    return int(number)


async def issue_invoice(
    session: AsyncSession,
    *,
    settings: Settings,
    tenant_id: uuid.UUID,
    attempt: PaymentAttempt,
    plan: SubscriptionPlan,
    payment_method: PaymentMethod | None,
    actor: Actor,
    correlation_id: str,
    issued_at: datetime | None = None,
) -> Invoice:
    """The invoice for a paid attempt: seller from settings, buyer from the billing profile (else the tenant's
    name), the plan and period, net, VAT and total, the Phase 1 QR payload, and (with an active invoicing unit) its
    signed Phase 2 document (``einvoice_chain.issue_einvoice``)."""
    profile = await billing.billing_profile(session, tenant_id)
    tenant = await session.get(Tenant, tenant_id)
    buyer = profile.legal_name if profile else (tenant.name if tenant else "—")
    moment = issued_at or utcnow()
    number = await next_invoice_number(session)
    invoice = await InvoiceRepo(session, tenant_id=tenant_id).add(
        Invoice(
            number=number,
            issued_at=moment,
            payment_attempt_id=attempt.id,
            purpose=attempt.purpose,
            plan_id=plan.id,
            plan_name_ar=plan.display_name_ar,
            plan_name_en=plan.display_name_en,
            period_start=attempt.period_start,
            period_end=attempt.period_end,
            net=attempt.amount_net,
            vat=attempt.vat,
            total=attempt.amount_total,
            vat_rate_bp=settings.vat_rate_bp,
            currency=attempt.currency,
            seller_name=settings.seller_name,
            seller_vat_number=settings.seller_vat_number,
            buyer_legal_name=buyer,
            buyer_vat_number=profile.vat_number if profile else None,
            buyer_address=buyer_address(profile),
            buyer_crn=profile.crn if profile else None,
            card_brand=payment_method.brand if payment_method else None,
            card_last_four=payment_method.last_four if payment_method else None,
            qr_tlv_base64=zatca.phase1_payload(
                seller_name=settings.seller_name,
                seller_vat_number=settings.seller_vat_number,
                issued_at=moment,
                total=attempt.amount_total,
                vat=attempt.vat,
            ),
        )
    )
    await record(
        session,
        EventType.INVOICE_ISSUED,
        actor=actor,
        correlation_id=correlation_id,
        tenant_id=tenant_id,
        payload={
            "invoice_id": str(invoice.id),
            "number": display_number(number),
            "net": invoice.net,
            "vat": invoice.vat,
            "total": invoice.total,
            "payment_attempt_id": str(attempt.id),
        },
    )
    # Phase 2: the signed document, next in the active unit's chain, in this same transaction (none without a unit)
    await issue_einvoice(
        session, settings, SecretBox(settings.fernet_key()), invoice=invoice, actor=actor, correlation_id=correlation_id
    )
    return invoice


async def list_invoices(session: AsyncSession) -> list[Invoice]:
    return await InvoiceRepo(session).list(order_by=[Invoice.number.desc()])


async def get_invoice(session: AsyncSession, invoice_id: uuid.UUID) -> Invoice:
    return await InvoiceRepo(session).get(invoice_id)


async def invoice_for_attempt(session: AsyncSession, attempt_id: uuid.UUID) -> Invoice | None:
    return await InvoiceRepo(session).one_or_none(Invoice.payment_attempt_id == attempt_id)
