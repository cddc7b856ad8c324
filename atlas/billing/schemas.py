"""API shapes of billing. No card data and no token ever appears here: a saved card is its brand and
last four digits."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec

PlanId = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class PlanRead(msgspec.Struct):
    id: str
    name: str
    display_name_ar: str
    display_name_en: str
    price_halalas: int
    vat_halalas: int
    total_halalas: int
    currency: str
    features: dict[str, Any]


class CardRead(msgspec.Struct):
    brand: str | None
    last_four: str | None


class SubscriptionRead(msgspec.Struct):
    id: uuid.UUID
    plan_id: str
    status: str  # the effective state now
    stored_status: str
    billing_mode: str
    trial_ends_at: datetime | None
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    pending_plan_id: str | None
    past_due_since: datetime | None
    failed_renewals: int
    card: CardRead | None
    usage: dict[str, int]
    limits: dict[str, int | None]


class PlanChange(msgspec.Struct, forbid_unknown_fields=True):
    plan: PlanId


class PlanChangeResult(msgspec.Struct):
    outcome: str  # upgraded | downgrade_scheduled | payment_required | redirect
    subscription: SubscriptionRead
    charged_halalas: int | None = None
    redirect_url: str | None = None
    invoice_id: uuid.UUID | None = None


Short = Annotated[str, msgspec.Meta(max_length=40)]
Text = Annotated[str, msgspec.Meta(max_length=400)]


class BillingProfileIn(msgspec.Struct, forbid_unknown_fields=True):
    """The whole billing profile (PUT replaces it). At least one legal name; with a VAT number, the national
    address a standard tax invoice needs (street, building number, district, city, postal code; country SA unless
    given). Digits may be Arabic-Indic and grouped with spaces. ``legal_name`` is the one-name form of clients from
    before issue 20: it fills the Arabic or the English name by its script when neither is sent."""

    legal_name_ar: Text | None = None
    legal_name_en: Text | None = None
    legal_name: Text | None = None
    vat_number: Short | None = None
    street: Text | None = None
    building_number: Short | None = None
    additional_number: Short | None = None
    district: Text | None = None
    city: Text | None = None
    postal_code: Short | None = None
    country: Annotated[str, msgspec.Meta(max_length=8)] | None = None
    crn: Short | None = None


class BillingProfileRead(msgspec.Struct):
    """``legal_name`` is the name invoices print first: the Arabic one, else the English one."""

    legal_name: str
    legal_name_ar: str | None
    legal_name_en: str | None
    vat_number: str | None
    street: str | None
    building_number: str | None
    additional_number: str | None
    district: str | None
    city: str | None
    postal_code: str | None
    country: str
    crn: str | None
    updated_at: datetime | None


class BuyerAddressRead(msgspec.Struct):
    """The buyer's national address as the billing profile held it when the invoice was issued."""

    street: str | None = None
    building_number: str | None = None
    additional_number: str | None = None
    district: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: str | None = None


class MeetingRequestIn(msgspec.Struct, forbid_unknown_fields=True):
    contact_name: Annotated[str, msgspec.Meta(max_length=400)]
    email: Annotated[str, msgspec.Meta(max_length=320)]
    phone: Annotated[str, msgspec.Meta(max_length=60)]
    preferred_times: Annotated[str, msgspec.Meta(max_length=2000)]
    notes: Annotated[str, msgspec.Meta(max_length=8000)] | None = None


class MeetingRequestRead(msgspec.Struct):
    id: uuid.UUID
    contact_name: str
    email: str
    phone: str
    preferred_times: str
    notes: str | None
    created_at: datetime
    tenant_id: uuid.UUID | None = None
    tenant_name: str | None = None


class InvoiceRead(msgspec.Struct):
    id: uuid.UUID
    number: str
    issued_at: datetime
    purpose: str
    plan_id: str
    plan_name_ar: str
    plan_name_en: str
    period_start: datetime
    period_end: datetime
    net_halalas: int
    vat_halalas: int
    total_halalas: int
    vat_rate_percent: str
    currency: str
    seller_name: str
    seller_vat_number: str
    buyer_legal_name: str
    buyer_vat_number: str | None
    buyer_address: BuyerAddressRead | None
    buyer_crn: str | None
    card: CardRead | None
    # the QR to show: the Phase 2 one once the document may be shared (ZATCA's cleared copy's for a standard
    # invoice), the Phase 1 one without a document; None while a standard invoice is being cleared or was refused
    qr_tlv_base64: str | None
    url: str
    # issue 20: invoice, credit_note or debit_note; the title (by kind and buyer) in both languages; a note's
    # original document and reason (ZATCA's instruction note)
    kind: str = "invoice"
    title_ar: str = ""
    title_en: str = ""
    original_invoice_id: uuid.UUID | None = None
    original_number: str | None = None
    reason: str | None = None
    # issue 20: where its ZATCA document stands (none: no Phase 2 document; clearing, cleared, reporting, reported,
    # refused) and whether it may be shared (a standard invoice only once cleared; a replaced one never); the
    # invoice that replaced it, or the one it replaces, after ZATCA refused a document
    zatca_state: str = "none"
    shareable: bool = True
    replaced_by_invoice_id: uuid.UUID | None = None
    replaces_invoice_id: uuid.UUID | None = None


class PaymentStart(msgspec.Struct, forbid_unknown_fields=True):
    plan: PlanId
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class PaymentStarted(msgspec.Struct):
    payment_id: uuid.UUID
    status: str  # initiated (go to redirect_url for 3-D Secure) | paid | failed
    amount_halalas: int
    currency: str
    redirect_url: str | None
    message: str | None = None


class TrialExtension(msgspec.Struct, forbid_unknown_fields=True):
    days: Annotated[int, msgspec.Meta(ge=1, le=90)]


class ContractActivation(msgspec.Struct, forbid_unknown_fields=True):
    plan: PlanId
    months: Annotated[int, msgspec.Meta(ge=1, le=60)]
    reference: Annotated[str, msgspec.Meta(max_length=400)]


class TenantBillingRead(msgspec.Struct):
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
    # The operator's own tenant: its plan is internal use, not revenue.
    internal: bool


class BillingOverviewRead(msgspec.Struct):
    """``mrr_halalas`` (customers' monthly recurring revenue, excl. VAT) = ``mrr_self_serve_halalas`` (paid
    through Moyasar) + ``mrr_contract_halalas`` (enterprise contracts invoiced outside Moyasar). The operator's
    internal tenants are not revenue: their plans' monthly price is ``internal_halalas``, apart."""

    by_state: dict[str, int]
    mrr_halalas: int
    trials_ending_this_week: list[TenantBillingRead]
    past_due: list[TenantBillingRead]
    subscriptions: list[TenantBillingRead]
    meeting_requests: list[MeetingRequestRead]
    mrr_self_serve_halalas: int
    mrr_contract_halalas: int
    internal_halalas: int
