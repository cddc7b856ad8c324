"""Plans, subscriptions, payments, invoices and the rest of billing (SPEC 5 and 6). Money is integer halalas."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from atlas.db.base import Base, TenantOwned, created_at_column, utcnow, uuid_pk

SUBSCRIPTION_STATUSES = ("trial", "active", "past_due", "cancelled", "expired")


class SubscriptionPlan(Base):
    """A plan on the price list. Global (not tenant-owned); seeded by the migrations."""

    __tablename__ = "subscription_plans"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    display_name_ar: Mapped[str] = mapped_column(String(100), nullable=False)
    display_name_en: Mapped[str] = mapped_column(String(100), nullable=False)
    price_halalas: Mapped[int] = mapped_column(Integer, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="SAR")
    features: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    sort_order: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class Subscription(TenantOwned, Base):
    """The tenant's one subscription and where it stands (`atlas.billing.states` owns the transitions)."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("tenant_id", name="uq_subscriptions_tenant"),
        CheckConstraint("status IN ('trial', 'active', 'past_due', 'cancelled', 'expired')", name="status"),
        CheckConstraint("billing_mode IN ('moyasar', 'contract')", name="billing_mode"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    plan_id: Mapped[str] = mapped_column(String(40), ForeignKey("subscription_plans.id"), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    trial_ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    current_period_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    current_period_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    # 'moyasar': charged by Atlas; 'contract': an enterprise customer invoiced outside Moyasar.
    billing_mode: Mapped[str] = mapped_column(String(20), nullable=False, default="moyasar")
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A downgrade waits for the next period.
    pending_plan_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("subscription_plans.id"))
    past_due_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Failed renewal charges of the current period (dunning).
    failed_renewals: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    payment_method_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("payment_methods.id", ondelete="SET NULL")
    )
    contract_reference: Mapped[str | None] = mapped_column(String(200))
    # The operator's own tenant (Atlas's platform operations): its plan is internal use, reported apart from
    # revenue in the platform admin's billing overview (migration 0020).
    internal: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())


class PaymentMethod(TenantOwned, Base):
    """A saved card: Moyasar's token (encrypted at rest) and what may be shown of it. Never the card itself."""

    __tablename__ = "payment_methods"

    id: Mapped[uuid.UUID] = uuid_pk()
    token_encrypted: Mapped[str] = mapped_column(Text, nullable=False)
    brand: Mapped[str | None] = mapped_column(String(20))
    last_four: Mapped[str | None] = mapped_column(String(4))
    created_at: Mapped[datetime] = created_at_column()


class PaymentAttempt(TenantOwned, Base):
    """One charge Atlas asked Moyasar for, recorded before the HTTP call. Its id is the payment's given_id."""

    __tablename__ = "payment_attempts"
    __table_args__ = (
        CheckConstraint("purpose IN ('subscribe', 'upgrade', 'renewal')", name="purpose"),
        CheckConstraint("status IN ('created', 'initiated', 'paid', 'failed', 'abandoned', 'error')", name="status"),
        CheckConstraint("amount_total = amount_net + vat", name="total"),
        UniqueConstraint("subscription_id", "purpose", "plan_id", "period_start", "attempt_no", name="key"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("subscriptions.id", ondelete="CASCADE"), nullable=False
    )
    purpose: Mapped[str] = mapped_column(String(20), nullable=False)
    plan_id: Mapped[str] = mapped_column(String(40), ForeignKey("subscription_plans.id"), nullable=False)
    period_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    period_end: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    attempt_no: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    amount_net: Mapped[int] = mapped_column(Integer, nullable=False)
    vat: Mapped[int] = mapped_column(Integer, nullable=False)
    amount_total: Mapped[int] = mapped_column(Integer, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="SAR")
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="created")
    payment_method_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("payment_methods.id", ondelete="SET NULL")
    )
    transaction_url: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(Text)
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


INVOICE_KINDS = ("invoice", "credit_note", "debit_note")


class Invoice(TenantOwned, Base):
    """A tax invoice for one successful charge, or a credit/debit note adjusting one (migration 0024): a gapless
    platform-wide number (one sequence for every kind), fixed once issued."""

    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint("total = net + vat", name="total"),
        CheckConstraint("kind IN ('invoice', 'credit_note', 'debit_note')", name="kind"),
        CheckConstraint("(original_invoice_id IS NULL) = (kind = 'invoice')", name="original"),
        CheckConstraint("kind = 'invoice' OR (reason IS NOT NULL AND length(btrim(reason)) > 0)", name="note_reason"),
        UniqueConstraint("number", name="uq_invoices_number"),
        UniqueConstraint("payment_attempt_id", name="uq_invoices_payment_attempt"),
        Index(
            "ix_invoices_original_invoice_id",
            "original_invoice_id",
            postgresql_where=text("original_invoice_id IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    number: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # invoice (388), credit_note (381) or debit_note (383)
    kind: Mapped[str] = mapped_column(String(20), nullable=False, default="invoice", server_default="invoice")
    # The document a note adjusts (NULL exactly for an invoice).
    original_invoice_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("invoices.id", ondelete="RESTRICT")
    )
    # A note's reason: ZATCA's KSA-10 instruction note (required for notes).
    reason: Mapped[str | None] = mapped_column(Text)
    # An amended invoice replacing one ZATCA refused.
    replaces_invoice_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("invoices.id", ondelete="RESTRICT")
    )
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    payment_attempt_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("payment_attempts.id", ondelete="RESTRICT")
    )
    purpose: Mapped[str] = mapped_column(String(20), nullable=False)
    plan_id: Mapped[str] = mapped_column(String(40), nullable=False)
    plan_name_ar: Mapped[str] = mapped_column(String(100), nullable=False)
    plan_name_en: Mapped[str] = mapped_column(String(100), nullable=False)
    period_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    period_end: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    net: Mapped[int] = mapped_column(Integer, nullable=False)
    vat: Mapped[int] = mapped_column(Integer, nullable=False)
    total: Mapped[int] = mapped_column(Integer, nullable=False)
    vat_rate_bp: Mapped[int] = mapped_column(Integer, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    seller_name: Mapped[str] = mapped_column(String(200), nullable=False)
    seller_vat_number: Mapped[str] = mapped_column(String(15), nullable=False)
    buyer_legal_name: Mapped[str] = mapped_column(String(200), nullable=False)
    buyer_vat_number: Mapped[str | None] = mapped_column(String(15))
    # The buyer's national address and CRN as the billing profile held them at issue (migration 0022), by field
    # (atlas.invoice_party.ADDRESS_FIELDS); None when the profile had no address.
    buyer_address: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    buyer_crn: Mapped[str | None] = mapped_column(String(10))
    card_brand: Mapped[str | None] = mapped_column(String(20))
    card_last_four: Mapped[str | None] = mapped_column(String(4))
    qr_tlv_base64: Mapped[str] = mapped_column(Text, nullable=False)


REFUND_KINDS = ("refund", "cancellation", "downgrade")
REFUND_STATUSES = ("requested", "refunded", "failed", "unknown")


class Refund(TenantOwned, Base):
    """Money a platform admin gives back on a paid invoice or debit note (migration 0024; `atlas.billing.refunds`).

    Recorded ``requested`` before Moyasar is called (its refund API is not idempotent), with ``refunded_before``:
    Moyasar's ``refunded`` figure read just before the call. Settled afterwards: ``refunded`` (the credit note is
    ``credit_note_id``), ``failed`` (nothing changed; safe to try again) or ``unknown`` (a platform admin looks).
    """

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("kind IN ('refund', 'cancellation', 'downgrade')", name="kind"),
        CheckConstraint("status IN ('requested', 'refunded', 'failed', 'unknown')", name="status"),
        CheckConstraint("amount_total = amount_net + vat", name="total"),
        CheckConstraint("amount_total > 0 AND amount_net >= 0 AND vat >= 0", name="positive"),
        CheckConstraint("(plan_id IS NOT NULL) = (kind = 'downgrade')", name="plan"),
        Index("uq_refunds_requested", "payment_attempt_id", unique=True, postgresql_where=text("status = 'requested'")),
        Index("ix_refunds_open", "created_at", postgresql_where=text("status IN ('requested', 'unknown')")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    invoice_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("invoices.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    payment_attempt_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("payment_attempts.id", ondelete="RESTRICT"), nullable=False
    )
    moyasar_payment_id: Mapped[str] = mapped_column(String(100), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    plan_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("subscription_plans.id"))
    amount_net: Mapped[int] = mapped_column(Integer, nullable=False)
    vat: Mapped[int] = mapped_column(Integer, nullable=False)
    amount_total: Mapped[int] = mapped_column(Integer, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="SAR", server_default="SAR")
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="requested")
    refunded_before: Mapped[int] = mapped_column(Integer, nullable=False)
    message: Mapped[str | None] = mapped_column(Text)
    credit_note_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("invoices.id", ondelete="RESTRICT")
    )
    requested_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class InvoiceCounter(Base):
    """The platform-wide invoice sequence. Global; its row is locked by the transaction that issues an invoice,
    so a rolled-back issue gives its number back and the sequence has no gaps."""

    __tablename__ = "invoice_counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_number: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class BillingProfile(TenantOwned, Base):
    """Who the invoices are made out to: the tenant's legal name in Arabic and/or English, its optional VAT number
    and, for a standard (B2B) tax invoice, its national address and commercial registration number (migration 0022;
    the rules are `atlas.billing.services.update_billing_profile`)."""

    __tablename__ = "billing_profiles"
    __table_args__ = (
        UniqueConstraint("tenant_id", name="uq_billing_profiles_tenant"),
        CheckConstraint("legal_name_ar IS NOT NULL OR legal_name_en IS NOT NULL", name="legal_name"),
        CheckConstraint("country ~ '^[A-Z]{2}$'", name="country"),
        CheckConstraint("crn IS NULL OR crn ~ '^[0-9]{10}$'", name="crn"),
    )
    tenant_id_index = False

    id: Mapped[uuid.UUID] = uuid_pk()
    legal_name_ar: Mapped[str | None] = mapped_column(String(200))
    legal_name_en: Mapped[str | None] = mapped_column(String(200))
    vat_number: Mapped[str | None] = mapped_column(String(15))
    street: Mapped[str | None] = mapped_column(String(200))
    building_number: Mapped[str | None] = mapped_column(String(16))
    additional_number: Mapped[str | None] = mapped_column(String(16))
    district: Mapped[str | None] = mapped_column(String(100))
    city: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(16))
    country: Mapped[str] = mapped_column(String(2), nullable=False, default="SA", server_default="SA")
    crn: Mapped[str | None] = mapped_column(String(10))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    @property
    def legal_name(self) -> str:
        """The name an invoice prints first: the Arabic one when there is one (invoices are Arabic first)."""
        return self.legal_name_ar or self.legal_name_en or ""

    def address(self) -> dict[str, str | None]:
        """The national address as stored, by field (``atlas.invoice_party.ADDRESS_FIELDS``)."""
        return {
            "street": self.street,
            "building_number": self.building_number,
            "additional_number": self.additional_number,
            "district": self.district,
            "city": self.city,
            "postal_code": self.postal_code,
            "country": self.country,
        }


class MeetingRequest(TenantOwned, Base):
    """An enterprise prospect asking to meet the sales team (SPEC 3)."""

    __tablename__ = "meeting_requests"

    id: Mapped[uuid.UUID] = uuid_pk()
    contact_name: Mapped[str] = mapped_column(String(200), nullable=False)
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    phone: Mapped[str] = mapped_column(String(40), nullable=False)
    preferred_times: Mapped[str] = mapped_column(Text, nullable=False)
    notes: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class BillingNotice(TenantOwned, Base):
    """An in-app notice to the tenant's admins (a failed renewal, a payment that needs the customer)."""

    __tablename__ = "billing_notices"

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    action_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MoyasarEvent(Base):
    """Each webhook event once, keyed by Moyasar's event id. Global: the tenant is known only after the
    payment has been fetched and matched to one of our payment attempts."""

    __tablename__ = "moyasar_events"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    type: Mapped[str] = mapped_column(String(50), nullable=False)
    payment_id: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime] = created_at_column()
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(60))


class EInvoicingUnit(Base):
    """An invoicing unit of Atlas's own (the seller), onboarded with ZATCA (issue 20). Global, not tenant-owned.

    One chain per unit: ``last_icv`` and ``last_hash`` are the counter value and hash of the unit's last document.
    A document is taken under ``SELECT … FOR UPDATE`` of this row in the transaction that issues it, so two
    renewals at the same moment wait for each other and the chain has no gap and no fork (a rollback gives the
    place back). The private key and the CSIDs' secrets are encrypted at rest (``SecretBox``), never returned.
    """

    __tablename__ = "einvoicing_units"
    __table_args__ = (Index("uq_einvoicing_units_active", "active", unique=True, postgresql_where=text("active")),)

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    environment: Mapped[str] = mapped_column(String(20), nullable=False)  # developer-portal, simulation, core
    gateway_url: Mapped[str] = mapped_column(String(300), nullable=False)  # …/e-invoicing (the environment follows)
    vat_number: Mapped[str] = mapped_column(String(15), nullable=False)
    common_name: Mapped[str] = mapped_column(String(200), nullable=False)
    serial: Mapped[str] = mapped_column(String(200), nullable=False)  # 1-<solution>|2-<model>|3-<serial>
    # onboarding (compliance CSID obtained, checks under way), production, failed, retired
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="onboarding")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    private_key_encrypted: Mapped[str] = mapped_column(Text, nullable=False)
    compliance_request_id: Mapped[str | None] = mapped_column(String(100))
    compliance_token_encrypted: Mapped[str | None] = mapped_column(Text)
    compliance_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    compliance_checks: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    production_token_encrypted: Mapped[str | None] = mapped_column(Text)
    production_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    certificate_pem: Mapped[str | None] = mapped_column(Text)
    certificate_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_icv: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    last_hash: Mapped[str] = mapped_column(Text, nullable=False)
    failure: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


EINVOICE_STATUSES = ("clearing", "cleared", "reporting", "reported", "refused")


class EInvoice(TenantOwned, Base):
    """A signed ZATCA document for one of a tenant's invoices (issue 20): its place in the unit's chain (ICV, PIH),
    the signed UBL XML, its hash and QR, and where it stands with ZATCA.

    ``clearing``: a standard invoice not yet cleared (not shown or shared); ``cleared``: cleared (``cleared_xml`` is
    ZATCA's stamped copy, the one shared); ``reporting``: a simplified invoice shared at once, to report within 24
    hours (``report_by``); ``reported``; ``refused``: ZATCA's messages in ``messages``, corrected by a new document
    (``superseded_by``), never dropped. The XML never changes once signed; only the status columns move.
    """

    __tablename__ = "einvoices"
    __table_args__ = (
        UniqueConstraint("unit_id", "icv", name="uq_einvoices_unit_icv"),
        UniqueConstraint("uuid", name="uq_einvoices_uuid"),
        CheckConstraint(f"status IN {EINVOICE_STATUSES}", name="status"),
        Index("ix_einvoices_pending", "unit_id", "icv", postgresql_where=text("status IN ('clearing', 'reporting')")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    invoice_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("invoices.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    unit_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("einvoicing_units.id", ondelete="RESTRICT"), nullable=False
    )
    icv: Mapped[int] = mapped_column(BigInteger, nullable=False)
    document_uuid: Mapped[uuid.UUID] = mapped_column("uuid", UUID(as_uuid=True), nullable=False)  # cbc:UUID
    kind: Mapped[str] = mapped_column(String(3), nullable=False)  # 388 invoice, 381 credit note, 383 debit note
    transaction: Mapped[str] = mapped_column(String(7), nullable=False)  # 0100000 standard, 0200000 simplified
    number: Mapped[str] = mapped_column(String(40), nullable=False)
    invoice_hash: Mapped[str] = mapped_column(Text, nullable=False)
    pih: Mapped[str] = mapped_column(Text, nullable=False)
    qr: Mapped[str] = mapped_column(Text, nullable=False)
    xml: Mapped[str] = mapped_column(Text, nullable=False)
    cleared_xml: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    messages: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    report_by: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    superseded_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at_column()
