"""Correcting a document ZATCA refused: an amended invoice that replaces it (issue 20).

Invoices are immutable rows (the application role cannot UPDATE them) and a refused document stays in its unit's
chain (ZATCA counts it: the next document's PIH is its hash), so nothing is edited. A platform admin corrects a
``refused`` document that no other document has superseded yet, in **one system-scope transaction**:

1. the refused document's row is locked (``SELECT … FOR UPDATE``): two corrections of the same document queue, and
   the second finds it superseded (409, nothing issued);
2. a **replacement invoice** takes the next number of the one gapless sequence: same kind, original document (for a
   note), reason, plan, period, amounts, currency, VAT rate and card as the refused one; no payment attempt (the
   payment belongs to the invoice it replaces); ``replaces_invoice_id`` names the refused document's invoice. The
   **buyer** is the tenant's billing profile *now* (a corrected VAT number or national address is what the new
   document carries) and the **seller** the current settings. The amounts are recomputed from the net and the VAT
   rate and must equal the stored ones (a correction never changes what was paid);
3. its Phase 2 document is signed as the next link of the active unit's chain (``einvoice_chain.issue_einvoice``:
   next ICV, PIH = the chain's head); the ``NOTIFY`` it sends makes the unit's submission workflow clear or report
   it once the transaction commits;
4. the refused document's ``superseded_by`` is the new document's id; ``invoice_corrected`` is audited in the
   tenant's trail (both numbers, ZATCA's error codes, the admin's note) and logged.

Without an active production unit nothing is issued (409: onboard a unit first); the invoice number taken is given
back by the rollback.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.billing import services as billing
from atlas.billing import zatca
from atlas.billing.einvoice_chain import issue_einvoice, locked_active_unit
from atlas.billing.invoices import InvoiceRepo, buyer_address, display_number, next_invoice_number
from atlas.billing.models import EInvoice, Invoice
from atlas.billing.money import charge_for
from atlas.config import Settings
from atlas.db.base import utcnow
from atlas.errors import Conflict, NotFound
from atlas.i18n.text import clean_name
from atlas.platform.audit import Actor, EventType, record
from atlas.platform.crypto import SecretBox
from atlas.platform.models import Tenant

log = structlog.get_logger("atlas.billing.einvoice")

NOTE_MAX = 500


@dataclass(frozen=True, slots=True)
class Correction:
    """What a correction issued: the replacement invoice and its document, and what they replace."""

    invoice: Invoice
    document: EInvoice
    replaced: Invoice
    refused: EInvoice


def error_codes(messages: dict[str, Any] | None) -> list[str]:
    """ZATCA's error codes on a refused document, in the order ZATCA gave them."""
    return [str(m.get("code")) for m in (messages or {}).get("errors") or [] if isinstance(m, dict) and m.get("code")]


async def _locked_document(session: AsyncSession, einvoice_id: uuid.UUID) -> EInvoice:
    statement = (
        select(EInvoice).where(EInvoice.id == einvoice_id).with_for_update().execution_options(populate_existing=True)
    )
    document = (await session.execute(statement)).scalar_one_or_none()
    if document is None:
        raise NotFound("errors.einvoice_not_found")
    return document


async def _replacement_number(session: AsyncSession, document_id: uuid.UUID) -> str | None:
    """The printed number of the invoice whose document superseded a refused one."""
    number = await session.scalar(
        select(Invoice.number).join(EInvoice, EInvoice.invoice_id == Invoice.id).where(EInvoice.id == document_id)
    )
    return display_number(int(number)) if number is not None else None


def _checked_amounts(invoice: Invoice) -> None:
    """Recompute VAT and total from the net and the rate: they must be the stored ones to the halala."""
    charge = charge_for(invoice.net, invoice.vat_rate_bp)
    if (charge.net, charge.vat, charge.total) != (invoice.net, invoice.vat, invoice.total):
        log.error(
            "invoice_correction_amounts_disagree",
            invoice_id=str(invoice.id),
            stored=[invoice.net, invoice.vat, invoice.total],
            recomputed=[charge.net, charge.vat, charge.total],
        )
        raise Conflict("errors.einvoice_correction_amounts", number=display_number(invoice.number))


async def correct_refused(
    session: AsyncSession,
    settings: Settings,
    box: SecretBox,
    *,
    einvoice_id: uuid.UUID,
    note: str | None,
    actor: Actor,
    correlation_id: str,
) -> Correction:
    """Replace the refused document ``einvoice_id`` by a new invoice and its document (see the module). Run it in
    a system-scope transaction; ``NotFound`` (404) or ``Conflict`` (409) leave nothing behind."""
    refused = await _locked_document(session, einvoice_id)
    if refused.superseded_by is not None:
        replaced_by = await _replacement_number(session, refused.superseded_by)
        raise Conflict(
            "errors.einvoice_already_corrected",
            number=refused.number,
            replaced_by=replaced_by or "—",
            extra={"replaced_by": replaced_by},
        )
    if refused.status != "refused":
        raise Conflict("errors.einvoice_not_refused", number=refused.number, extra={"state": refused.status})
    original = await session.get(Invoice, refused.invoice_id)
    if original is None:  # the foreign key forbids it; a clear failure rather than an AttributeError
        raise NotFound("errors.invoice_not_found")
    _checked_amounts(original)
    number = await next_invoice_number(session)  # the counter first, then the unit: the order issuing takes them
    if await locked_active_unit(session) is None:
        raise Conflict("errors.einvoice_correction_no_unit")
    tenant_id = original.tenant_id
    profile = await billing.billing_profile(session, tenant_id)
    tenant = await session.get(Tenant, tenant_id)
    moment = utcnow()
    replacement = await InvoiceRepo(session, tenant_id=tenant_id).add(
        Invoice(
            number=number,
            kind=original.kind,
            original_invoice_id=original.original_invoice_id,
            reason=original.reason,
            replaces_invoice_id=original.id,
            issued_at=moment,
            payment_attempt_id=None,
            purpose=original.purpose,
            plan_id=original.plan_id,
            plan_name_ar=original.plan_name_ar,
            plan_name_en=original.plan_name_en,
            period_start=original.period_start,
            period_end=original.period_end,
            net=original.net,
            vat=original.vat,
            total=original.total,
            vat_rate_bp=original.vat_rate_bp,
            currency=original.currency,
            seller_name=settings.seller_name,
            seller_vat_number=settings.seller_vat_number,
            buyer_legal_name=profile.legal_name if profile else (tenant.name if tenant else original.buyer_legal_name),
            buyer_vat_number=profile.vat_number if profile else None,
            buyer_address=buyer_address(profile),
            buyer_crn=profile.crn if profile else None,
            card_brand=original.card_brand,
            card_last_four=original.card_last_four,
            qr_tlv_base64=zatca.phase1_payload(
                seller_name=settings.seller_name,
                seller_vat_number=settings.seller_vat_number,
                issued_at=moment,
                total=original.total,
                vat=original.vat,
            ),
        )
    )
    document = await issue_einvoice(
        session, settings, box, invoice=replacement, actor=actor, correlation_id=correlation_id
    )
    if document is None:  # the unit is locked by this transaction: it cannot have gone
        raise Conflict("errors.einvoice_correction_no_unit")
    refused.superseded_by = document.id
    codes = error_codes(refused.messages)
    await record(
        session,
        EventType.INVOICE_CORRECTED,
        actor=actor,
        correlation_id=correlation_id,
        tenant_id=tenant_id,
        payload={
            "invoice_id": str(replacement.id),
            "number": display_number(replacement.number),
            "replaces_invoice_id": str(original.id),
            "replaces_number": display_number(original.number),
            "kind": replacement.kind,
            "refused_einvoice_id": str(refused.id),
            "refused_icv": refused.icv,
            "einvoice_id": str(document.id),
            "icv": document.icv,
            "transaction": document.transaction,
            "zatca_error_codes": codes,
            "net": replacement.net,
            "vat": replacement.vat,
            "total": replacement.total,
            "buyer_vat_number": replacement.buyer_vat_number,
            "note": note,
        },
    )
    await session.flush()
    log.info(
        "invoice_corrected",
        tenant_id=str(tenant_id),
        replaced=display_number(original.number),
        replacement=display_number(replacement.number),
        refused_icv=refused.icv,
        icv=document.icv,
        codes=codes,
        actor=actor.ref,
        correlation_id=correlation_id,
    )
    return Correction(invoice=replacement, document=document, replaced=original, refused=refused)


def clean_note(note: str | None) -> str | None:
    """The admin's note as kept in the audit: its spaces collapsed, at most ``NOTE_MAX`` characters; None if empty."""
    if note is None:
        return None
    cleaned = clean_name(note)[:NOTE_MAX]
    return cleaned or None


__all__ = ["Correction", "clean_note", "correct_refused", "error_codes"]
