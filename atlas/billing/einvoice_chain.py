"""Each issued invoice's signed ZATCA Phase 2 document, taken in the active invoicing unit's chain (issue 20).

``issue_einvoice`` runs in the transaction that issues the invoice. It locks the active production unit's row
(``SELECT … FOR UPDATE``), so two invoices issued at the same moment queue behind each other: the first takes
ICV n and the second ICV n+1 with PIH = the first's hash, and a rollback gives the place back (the head only moves
when the transaction commits). With no active production unit there is no document: the invoice keeps its Phase 1
QR (``invoices_without_document`` counts them for the platform page).

Which document: **standard** (cleared before it is shared) when the invoice names the buyer's VAT number and a
complete Saudi national address, else **simplified** (shared at once, reported within 24 hours). A VAT-registered
buyer whose stored address is missing or incomplete (profiles saved before migration 0022) cannot get a standard
invoice (BR-KSA-10/63): Atlas then issues a simplified one that still names the buyer's VAT number — the payment is
not refused for it — logs ``einvoice_standard_downgraded`` at error level and keeps the reason in the document's
``messages`` (``issued_as_simplified``), so a platform admin can see it and correct the profile.

The amounts are checked, not trusted: the library's line net, VAT at 15% and total must equal the invoice's stored
``net``/``vat``/``total`` to the halala, or ``EInvoiceMismatch`` rolls the whole issue back.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.billing.models import EInvoice, EInvoicingUnit, Invoice
from atlas.config import Settings
from atlas.einvoicing import (
    Address,
    Buyer,
    Document,
    DocumentError,
    DocumentKind,
    Line,
    Seller,
    SignedDocument,
    SigningIdentity,
    Transaction,
    sign,
    totals,
)
from atlas.einvoicing.documents import RIYADH
from atlas.platform.audit import Actor
from atlas.platform.crypto import SecretBox
from atlas.platform.tenancy import TenantRepository

log = structlog.get_logger("atlas.billing.einvoice")

REPORTING_WINDOW = timedelta(hours=24)
CARD = "48"  # UNTDID 4461 bank card: every Atlas invoice is paid by card through Moyasar
CREDIT_TRANSFER = "30"
# PostgreSQL NOTIFY channel (payload: the unit's id), delivered only when the issuing transaction commits: the
# worker's listener (atlas.workflows.einvoicing) then starts/signals the unit's submission workflow.
ISSUED_CHANNEL = "einvoice_issued"


class EInvoiceMismatch(RuntimeError):
    """The document's amounts would differ from the invoice's stored ones: never sign such a document."""


class EInvoiceRepo(TenantRepository[EInvoice]):
    model = EInvoice
    not_found_key = "errors.invoice_not_found"


async def locked_active_unit(session: AsyncSession) -> EInvoicingUnit | None:
    """The unit that issues documents, its row locked until this transaction ends (the chain's serialized writer)."""
    statement = (
        select(EInvoicingUnit)
        .where(EInvoicingUnit.active.is_(True), EInvoicingUnit.status == "production")
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


def signing_identity(unit: EInvoicingUnit, box: SecretBox) -> SigningIdentity:
    """The unit's production stamp: its certificate and its decrypted private key."""
    key_pem = box.decrypt(unit.private_key_encrypted).encode("ascii")
    if unit.certificate_pem:
        return SigningIdentity.load(unit.certificate_pem, key_pem)
    if unit.production_token_encrypted is None:
        raise RuntimeError(f"invoicing unit {unit.id} is in production without a certificate")
    return SigningIdentity.from_binary_security_token(box.decrypt(unit.production_token_encrypted), key_pem)


def seller(settings: Settings) -> Seller:
    """Atlas as the seller of every document (the ``ATLAS_SELLER_*`` settings), for invoices and the onboarding's
    compliance samples alike."""
    return Seller(
        legal_name=settings.seller_legal_name_ar,
        vat_number=settings.seller_vat_number,
        id_value=settings.seller_crn,
        address=Address(
            street=settings.seller_street,
            building_number=settings.seller_building_number,
            additional_number=settings.seller_additional_number or None,
            district=settings.seller_district,
            city=settings.seller_city,
            postal_code=settings.seller_postal_code,
            country=settings.seller_country,
        ),
    )


def buyer_address(stored: dict[str, Any] | None) -> Address | None:
    """The invoice's copy of the buyer's national address as the library takes it; raises ``DocumentError`` when
    it is incomplete or not Saudi."""
    if not stored:
        return None
    fields = {name: (stored.get(name) or None) for name in ("street", "building_number", "district", "city")}
    fields["postal_code"] = stored.get("postal_code") or None
    missing = [name for name, value in fields.items() if value is None]
    if missing:
        raise DocumentError(f"the buyer's address lacks {', '.join(missing)}")
    return Address(
        street=str(fields["street"]),
        building_number=str(fields["building_number"]),
        district=str(fields["district"]),
        city=str(fields["city"]),
        postal_code=str(fields["postal_code"]),
        additional_number=stored.get("additional_number") or None,
        country=(stored.get("country") or "SA").upper(),
    )


def buyer(invoice: Invoice) -> tuple[Buyer, Transaction, str | None]:
    """The buyer, the transaction it allows, and why a VAT-registered buyer got a simplified invoice (or None)."""
    name = invoice.buyer_legal_name
    if invoice.buyer_vat_number is None:
        address = None
        with contextlib.suppress(DocumentError):  # a simplified invoice needs no buyer address: leave a bad one out
            address = buyer_address(invoice.buyer_address)
        return Buyer(name=name, address=address), Transaction.SIMPLIFIED, None
    try:
        address = buyer_address(invoice.buyer_address)
        if address is None:
            raise DocumentError("the buyer has no national address (a profile saved before migration 0022)")
    except DocumentError as error:
        return Buyer(name=name, vat_number=invoice.buyer_vat_number), Transaction.SIMPLIFIED, str(error)
    return Buyer(name=name, vat_number=invoice.buyer_vat_number, address=address), Transaction.STANDARD, None


def _local_date(moment: datetime) -> date:
    return moment.astimezone(RIYADH).date()


NOTE_KINDS = {
    "invoice": DocumentKind.INVOICE,
    "credit_note": DocumentKind.CREDIT_NOTE,
    "debit_note": DocumentKind.DEBIT_NOTE,
}


def document_for(
    invoice: Invoice, settings: Settings, *, icv: int, pih: str, original_number: int | None = None
) -> tuple[Document, str | None]:
    """The Phase 2 document that says what the invoice says, and the reason it is simplified despite a VAT number.

    A credit note (381) or debit note (383) names the document it adjusts in its billing reference (the original's
    printed number, ``original_number``) and carries its reason as the instruction note (KSA-10); standard or
    simplified follows the note's own buyer, exactly as for an invoice."""
    kind = NOTE_KINDS.get(invoice.kind or "invoice")  # an Invoice not yet flushed has no default kind
    if kind is None:
        raise EInvoiceMismatch(f"invoice {invoice.id} has kind {invoice.kind!r}")
    billing_reference: str | None = None
    instruction_note: str | None = None
    if kind is not DocumentKind.INVOICE:
        if original_number is None:
            raise EInvoiceMismatch(f"{invoice.kind} {invoice.id} needs the number of the document it adjusts")
        billing_reference = display_number(original_number)
        instruction_note = invoice.reason
    party, transaction, downgraded = buyer(invoice)
    if invoice.currency != "SAR":
        raise EInvoiceMismatch(f"invoice {invoice.id} is in {invoice.currency}; ZATCA documents are in SAR")
    if invoice.vat_rate_bp != 1500:
        raise EInvoiceMismatch(f"invoice {invoice.id} has VAT at {invoice.vat_rate_bp} bp; Atlas documents 15%")
    line = Line(name=f"{invoice.plan_name_ar} — {invoice.plan_name_en}", quantity=1, unit_price=invoice.net)
    amounts = totals((line,))
    if (amounts.tax_exclusive, amounts.tax, amounts.payable) != (invoice.net, invoice.vat, invoice.total):
        raise EInvoiceMismatch(
            f"invoice {invoice.id}: stored net/VAT/total {invoice.net}/{invoice.vat}/{invoice.total} halalas, the "
            f"document would say {amounts.tax_exclusive}/{amounts.tax}/{amounts.payable}"
        )
    supply_start = _local_date(invoice.period_start)
    supply_end = max(_local_date(invoice.period_end), supply_start)
    document = Document(
        kind=kind,
        transaction=transaction,
        number=display_number(invoice.number),
        uuid=uuid.uuid4(),
        issued_at=invoice.issued_at,
        icv=icv,
        pih=pih,
        seller=seller(settings),
        buyer=party,
        lines=(line,),
        payment_means_code=CARD if invoice.card_brand else CREDIT_TRANSFER,
        supply_date=supply_start,
        supply_end_date=supply_end,
        billing_reference=billing_reference,
        instruction_note=instruction_note,
    )
    return document, downgraded


def display_number(number: int) -> str:
    """The invoice's printed number (``atlas.billing.invoices.display_number``; repeated to avoid an import cycle)."""
    return f"ATL-{number:06d}"


async def issue_einvoice(
    session: AsyncSession,
    settings: Settings,
    box: SecretBox,
    *,
    invoice: Invoice,
    actor: Actor,
    correlation_id: str,
) -> EInvoice | None:
    """Sign the invoice's document as the next link of the active unit's chain, in the caller's transaction."""
    unit = await locked_active_unit(session)
    if unit is None:
        log.info("einvoice_not_issued_no_unit", invoice_id=str(invoice.id), correlation_id=correlation_id)
        return None
    if unit.vat_number != settings.seller_vat_number:
        # A misconfigured deployment (ATLAS_SELLER_VAT_NUMBER changed after onboarding): ZATCA would refuse every
        # document. The customer has paid, so the payment is applied and the invoice issued with its Phase 1 QR and
        # no document — counted on the platform page, which says why in a red alert — rather than rolled back.
        log.error(
            "einvoice_unit_vat_mismatch",
            invoice_id=str(invoice.id),
            unit_id=str(unit.id),
            unit_vat_number=unit.vat_number,
            seller_vat_number=settings.seller_vat_number,
            correlation_id=correlation_id,
        )
        return None
    icv = unit.last_icv + 1
    original_number: int | None = None
    if invoice.original_invoice_id is not None:
        original_number = await session.scalar(select(Invoice.number).where(Invoice.id == invoice.original_invoice_id))
    document, downgraded = document_for(invoice, settings, icv=icv, pih=unit.last_hash, original_number=original_number)
    if downgraded is not None:
        log.error(
            "einvoice_standard_downgraded",
            invoice_id=str(invoice.id),
            tenant_id=str(invoice.tenant_id),
            reason=downgraded,
            correlation_id=correlation_id,
        )
    signed: SignedDocument = sign(document, signing_identity(unit, box))
    standard = document.transaction is Transaction.STANDARD
    einvoice = await EInvoiceRepo(session, tenant_id=invoice.tenant_id).add(
        EInvoice(
            invoice_id=invoice.id,
            unit_id=unit.id,
            icv=icv,
            document_uuid=document.uuid,
            kind=document.kind.value,
            transaction=document.transaction.value,
            number=document.number,
            invoice_hash=signed.invoice_hash,
            pih=document.pih,
            qr=signed.qr,
            xml=signed.xml.decode("utf-8"),
            status="clearing" if standard else "reporting",
            messages={"issued_as_simplified": downgraded} if downgraded else {},
            attempts=0,
            report_by=None if standard else invoice.issued_at + REPORTING_WINDOW,
        )
    )
    unit.last_icv = icv
    unit.last_hash = signed.invoice_hash
    await session.flush()
    await session.execute(text("SELECT pg_notify(:channel, :unit)"), {"channel": ISSUED_CHANNEL, "unit": str(unit.id)})
    log.info(
        "einvoice_issued",
        invoice_id=str(invoice.id),
        unit_id=str(unit.id),
        icv=icv,
        kind=document.kind.value,
        transaction=document.transaction.value,
        actor=actor.ref,
        correlation_id=correlation_id,
    )
    return einvoice


async def einvoice_for_invoice(session: AsyncSession, invoice_id: uuid.UUID) -> EInvoice | None:
    """The invoice's current document (the newest, should a refused one have been superseded)."""
    found: EInvoice | None = (
        await session.execute(
            EInvoiceRepo(session)
            .select(EInvoice.invoice_id == invoice_id)
            .order_by(EInvoice.created_at.desc(), EInvoice.icv.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return found


async def invoices_without_document(session: AsyncSession) -> int:
    """Invoices issued with no Phase 2 document (no active unit at the time): they carry the Phase 1 QR only.
    Counted across tenants: call it in the database's system scope."""
    has_document = select(EInvoice.id).where(EInvoice.invoice_id == Invoice.id).exists()
    return int(await session.scalar(select(func.count()).select_from(Invoice).where(~has_document)) or 0)
