"""Tax invoices: one per successful charge, numbered without gaps across the platform, with the ZATCA
phase-1 QR code. An issued invoice never changes (the application role cannot UPDATE or DELETE it).

Credit notes (money given back: a refund, a cancellation or downgrade with money back) and debit notes (an upgrade's
prorated charge for the rest of a paid period) are rows of the same table, numbered from the same sequence, each
naming the document it adjusts (``original_invoice_id``) and why (``reason``); `issue_note` issues them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select, text
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


TITLE_KEYS = {
    ("invoice", True): "billing.invoice.tax_invoice",
    ("invoice", False): "billing.invoice.simplified_tax_invoice",
    ("credit_note", True): "billing.invoice.credit_note",
    ("credit_note", False): "billing.invoice.simplified_credit_note",
    ("debit_note", True): "billing.invoice.debit_note",
    ("debit_note", False): "billing.invoice.simplified_debit_note",
}
NOTE_EVENTS = {"credit_note": EventType.CREDIT_NOTE_ISSUED, "debit_note": EventType.DEBIT_NOTE_ISSUED}


def title_key(kind: str, buyer_vat_number: str | None) -> str:
    """The catalogue key of a document's title: its kind, and tax (the buyer has a VAT number) or simplified."""
    return TITLE_KEYS[(kind, bool(buyer_vat_number))]


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


async def issue_note(
    session: AsyncSession,
    *,
    settings: Settings,
    kind: str,
    original: Invoice,
    net: int,
    vat: int,
    reason: str,
    purpose: str,
    actor: Actor,
    correlation_id: str,
    attempt: PaymentAttempt | None = None,
    plan: SubscriptionPlan | None = None,
    payment_method: PaymentMethod | None = None,
    issued_at: datetime | None = None,
) -> Invoice:
    """A credit note (``credit_note``, 381) or debit note (``debit_note``, 383) adjusting ``original``, numbered from
    the one sequence, with its Phase 1 QR and (with an active invoicing unit) its signed document in the chain.

    A credit note copies the original's buyer, seller, plan and period (it gives back part of that very supply) and
    has no payment attempt. A debit note (an upgrade's charge) is paid by ``attempt``: the buyer is the billing
    profile now, as for an invoice, the plan the new one and the period the attempt's."""
    if kind not in NOTE_EVENTS:
        raise ValueError(f"not a note kind: {kind}")
    if not reason.strip():
        raise ValueError("a note needs its reason (ZATCA's instruction note)")
    if original.kind == "credit_note":
        raise ValueError("a note adjusts an invoice or a debit note, never a credit note")
    moment = issued_at or utcnow()
    number = await next_invoice_number(session)
    fields: dict[str, object]
    if attempt is not None:
        profile = await billing.billing_profile(session, original.tenant_id)
        tenant = await session.get(Tenant, original.tenant_id)
        fields = {
            "payment_attempt_id": attempt.id,
            "period_start": attempt.period_start,
            "period_end": attempt.period_end,
            "currency": attempt.currency,
            "seller_name": settings.seller_name,
            "seller_vat_number": settings.seller_vat_number,
            "buyer_legal_name": profile.legal_name if profile else (tenant.name if tenant else "—"),
            "buyer_vat_number": profile.vat_number if profile else None,
            "buyer_address": buyer_address(profile),
            "buyer_crn": profile.crn if profile else None,
            "card_brand": payment_method.brand if payment_method else None,
            "card_last_four": payment_method.last_four if payment_method else None,
        }
    else:
        fields = {
            "payment_attempt_id": None,
            "period_start": original.period_start,
            "period_end": original.period_end,
            "currency": original.currency,
            "seller_name": original.seller_name,
            "seller_vat_number": original.seller_vat_number,
            "buyer_legal_name": original.buyer_legal_name,
            "buyer_vat_number": original.buyer_vat_number,
            "buyer_address": original.buyer_address,
            "buyer_crn": original.buyer_crn,
            "card_brand": original.card_brand,
            "card_last_four": original.card_last_four,
        }
    note = await InvoiceRepo(session, tenant_id=original.tenant_id).add(
        Invoice(
            number=number,
            kind=kind,
            original_invoice_id=original.id,
            reason=reason.strip(),
            issued_at=moment,
            purpose=purpose,
            plan_id=plan.id if plan else original.plan_id,
            plan_name_ar=plan.display_name_ar if plan else original.plan_name_ar,
            plan_name_en=plan.display_name_en if plan else original.plan_name_en,
            net=net,
            vat=vat,
            total=net + vat,
            vat_rate_bp=original.vat_rate_bp if attempt is None else settings.vat_rate_bp,
            qr_tlv_base64=zatca.phase1_payload(
                seller_name=str(fields["seller_name"]),
                seller_vat_number=str(fields["seller_vat_number"]),
                issued_at=moment,
                total=net + vat,
                vat=vat,
            ),
            **fields,
        )
    )
    await record(
        session,
        NOTE_EVENTS[kind],
        actor=actor,
        correlation_id=correlation_id,
        tenant_id=original.tenant_id,
        payload={
            "invoice_id": str(note.id),
            "number": display_number(number),
            "original_invoice_id": str(original.id),
            "original_number": display_number(original.number),
            "net": note.net,
            "vat": note.vat,
            "total": note.total,
            "payment_attempt_id": str(attempt.id) if attempt else None,
        },
    )
    await issue_einvoice(
        session, settings, SecretBox(settings.fernet_key()), invoice=note, actor=actor, correlation_id=correlation_id
    )
    return note


async def credited_total(session: AsyncSession, invoice_id: uuid.UUID) -> int:
    """What credit notes have already given back on a document (halalas, VAT included)."""
    found = await session.scalar(
        select(func.coalesce(func.sum(Invoice.total), 0)).where(
            Invoice.original_invoice_id == invoice_id, Invoice.kind == "credit_note"
        )
    )
    return int(found or 0)


async def list_invoices(session: AsyncSession) -> list[Invoice]:
    rows = await InvoiceRepo(session).list(order_by=[Invoice.number.desc()])
    remember_numbers(session, rows)
    return rows


async def get_invoice(session: AsyncSession, invoice_id: uuid.UUID) -> Invoice:
    """The tenant's invoice or note; a note's original is loaded with it (its number is printed on the note)."""
    invoice = await InvoiceRepo(session).get(invoice_id)
    if invoice.original_invoice_id is not None:
        original = await InvoiceRepo(session).get_or_none(invoice.original_invoice_id)
        remember_numbers(session, [original] if original else [])
    return invoice


ORIGINAL_NUMBERS = "invoice_numbers"


def remember_numbers(session: AsyncSession, rows: list[Invoice]) -> None:
    """Keep the numbers of loaded documents on the session, so a note's view can print its original's number
    without a query (``views.invoice_read`` is synchronous)."""
    session.sync_session.info.setdefault(ORIGINAL_NUMBERS, {}).update({row.id: row.number for row in rows})


async def invoice_for_attempt(session: AsyncSession, attempt_id: uuid.UUID) -> Invoice | None:
    return await InvoiceRepo(session).one_or_none(Invoice.payment_attempt_id == attempt_id)
