"""Turning billing rows into API shapes (shared by the API and the pages)."""

from __future__ import annotations

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import object_session

from atlas.billing import services as billing
from atlas.billing.einvoice_views import EInvoiceView
from atlas.billing.invoices import ORIGINAL_NUMBERS, display_number, title_key
from atlas.billing.models import BillingProfile, Invoice, PaymentMethod, Subscription, SubscriptionPlan
from atlas.billing.money import charge_for
from atlas.billing.schemas import (
    BillingProfileRead,
    BuyerAddressRead,
    CardRead,
    InvoiceRead,
    PlanRead,
    SubscriptionRead,
)
from atlas.i18n import translate
from atlas.invoice_party import has_arabic_letters
from atlas.platform.tenancy import TenantRepository


class PaymentMethodRepo(TenantRepository[PaymentMethod]):
    model = PaymentMethod


def plan_read(plan: SubscriptionPlan, vat_rate_bp: int) -> PlanRead:
    charge = charge_for(plan.price_halalas, vat_rate_bp)
    return PlanRead(
        id=plan.id,
        name=plan.name,
        display_name_ar=plan.display_name_ar,
        display_name_en=plan.display_name_en,
        price_halalas=plan.price_halalas,
        vat_halalas=charge.vat,
        total_halalas=charge.total,
        currency=plan.currency,
        features=dict(plan.features or {}),
    )


async def card_of(session: AsyncSession, subscription: Subscription) -> CardRead | None:
    if subscription.payment_method_id is None:
        return None
    method = await PaymentMethodRepo(session).get_or_none(subscription.payment_method_id)
    return CardRead(brand=method.brand, last_four=method.last_four) if method else None


async def subscription_read(session: AsyncSession, subscription: Subscription) -> SubscriptionRead:
    plan = await billing.get_plan(session, subscription.plan_id)
    features = plan.features or {}
    return SubscriptionRead(
        id=subscription.id,
        plan_id=subscription.plan_id,
        status=billing.effective(subscription).value,
        stored_status=subscription.status,
        billing_mode=subscription.billing_mode,
        trial_ends_at=subscription.trial_ends_at,
        current_period_start=subscription.current_period_start,
        current_period_end=subscription.current_period_end,
        cancel_at_period_end=subscription.cancel_at_period_end,
        pending_plan_id=subscription.pending_plan_id,
        past_due_since=subscription.past_due_since,
        failed_renewals=subscription.failed_renewals,
        card=await card_of(session, subscription),
        usage=await billing.usage(session),
        limits={"connectors": features.get("max_connectors"), "records": features.get("max_records")},
    )


def original_number_of(invoice: Invoice) -> int | None:
    """A note's original document's number, from the session that loaded the note (``invoices.get_invoice`` and
    ``list_invoices`` remember the originals' numbers on it), without a query: this view is synchronous."""
    if invoice.original_invoice_id is None:
        return None
    session = object_session(invoice)
    if session is None:
        return None
    number = session.info.get(ORIGINAL_NUMBERS, {}).get(invoice.original_invoice_id)
    return int(number) if number is not None else None


def invoice_read(
    invoice: Invoice, original_number: int | None = None, *, einvoice: EInvoiceView | None = None
) -> InvoiceRead:
    """The invoice as the API gives it; ``einvoice`` (``einvoice_views``) decides the QR shown and whether it may be
    shared (without it: the Phase 1 QR, as for an invoice issued with no Phase 2 document)."""
    whole, part = divmod(invoice.vat_rate_bp, 100)
    title = title_key(invoice.kind, invoice.buyer_vat_number)
    original = original_number if original_number is not None else original_number_of(invoice)
    return InvoiceRead(
        id=invoice.id,
        number=display_number(invoice.number),
        issued_at=invoice.issued_at,
        purpose=invoice.purpose,
        plan_id=invoice.plan_id,
        plan_name_ar=invoice.plan_name_ar,
        plan_name_en=invoice.plan_name_en,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        net_halalas=invoice.net,
        vat_halalas=invoice.vat,
        total_halalas=invoice.total,
        vat_rate_percent=f"{whole}" if not part else f"{whole}.{part:02d}",
        currency=invoice.currency,
        seller_name=invoice.seller_name,
        seller_vat_number=invoice.seller_vat_number,
        buyer_legal_name=invoice.buyer_legal_name,
        buyer_vat_number=invoice.buyer_vat_number,
        buyer_address=msgspec.convert(invoice.buyer_address, BuyerAddressRead) if invoice.buyer_address else None,
        buyer_crn=invoice.buyer_crn,
        card=CardRead(brand=invoice.card_brand, last_four=invoice.card_last_four) if invoice.card_last_four else None,
        qr_tlv_base64=einvoice.qr if einvoice is not None else invoice.qr_tlv_base64,
        url=f"/app/invoices/{invoice.id}",
        kind=invoice.kind,
        title_ar=translate(title, "ar"),
        title_en=translate(title, "en"),
        original_invoice_id=invoice.original_invoice_id,
        original_number=display_number(original) if original is not None else None,
        reason=invoice.reason,
        zatca_state=einvoice.state if einvoice is not None else "none",
        shareable=einvoice.shareable if einvoice is not None else True,
        replaced_by_invoice_id=einvoice.replaced_by.id if einvoice and einvoice.replaced_by else None,
        replaces_invoice_id=invoice.replaces_invoice_id,
    )


def profile_read(profile: BillingProfile | None, company_name: str) -> BillingProfileRead:
    """The billing profile; before one is saved, the company's name (in the slot of its script) and nothing else."""
    if profile is None:
        arabic = has_arabic_letters(company_name)
        return BillingProfileRead(
            legal_name=company_name,
            legal_name_ar=company_name if arabic and company_name else None,
            legal_name_en=company_name if not arabic and company_name else None,
            vat_number=None,
            street=None,
            building_number=None,
            additional_number=None,
            district=None,
            city=None,
            postal_code=None,
            country="SA",
            crn=None,
            updated_at=None,
        )
    return BillingProfileRead(
        legal_name=profile.legal_name,
        legal_name_ar=profile.legal_name_ar,
        legal_name_en=profile.legal_name_en,
        vat_number=profile.vat_number,
        street=profile.street,
        building_number=profile.building_number,
        additional_number=profile.additional_number,
        district=profile.district,
        city=profile.city,
        postal_code=profile.postal_code,
        country=profile.country,
        crn=profile.crn,
        updated_at=profile.updated_at,
    )
