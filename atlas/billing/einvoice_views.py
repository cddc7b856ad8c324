"""What the tenant's pages and downloads may show of an invoice's Phase 2 document (issue 20).

A **standard** invoice is shared only once ZATCA cleared it: until then the page says it is being cleared (no QR,
no download), and the XML and PDF routes answer 409. Once cleared, what is shared is ZATCA's stamped copy
(``cleared_xml``) and its QR. A **simplified** invoice is shared at once (reported within 24 hours) with the QR
of the signed document. An invoice without a document (no active unit when it was issued) keeps its Phase 1 QR.
A platform admin sees refused documents with ZATCA's messages and simplified ones past their ``report_by``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.billing.einvoice_chain import einvoice_for_invoice, invoices_without_document
from atlas.billing.models import EInvoice, Invoice
from atlas.db.base import utcnow
from atlas.errors import Conflict

QR_PATH = "cac:AdditionalDocumentReference[cbc:ID='QR']/cac:Attachment/cbc:EmbeddedDocumentBinaryObject"
NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
STANDARD = "0100000"


@dataclass(frozen=True, slots=True)
class EInvoiceView:
    """``state``: none (Phase 1 only), clearing, cleared, reporting, reported, refused. ``shareable``: the page may
    show the invoice's QR and offer its downloads. ``qr``: the QR payload to show (Phase 2 when there is a document,
    else the Phase 1 one); None while not shareable."""

    state: str
    standard: bool
    shareable: bool
    qr: str | None


def qr_of(xml: str) -> str | None:
    """The QR payload a signed (or ZATCA-cleared) document carries."""
    root = etree.fromstring(xml.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True))
    found: str | None = root.findtext(QR_PATH, None, NS)
    return found


def view_of(invoice: Invoice, document: EInvoice | None) -> EInvoiceView:
    if document is None:
        return EInvoiceView("none", standard=False, shareable=True, qr=invoice.qr_tlv_base64)
    standard = document.transaction == STANDARD
    shareable = document.status == "cleared" if standard else True
    if not shareable:
        return EInvoiceView(document.status, standard=True, shareable=False, qr=None)
    qr = qr_of(document.cleared_xml) if document.cleared_xml else None
    return EInvoiceView(document.status, standard=standard, shareable=True, qr=qr or document.qr)


async def einvoice_view(session: AsyncSession, invoice: Invoice) -> EInvoiceView:
    return view_of(invoice, await einvoice_for_invoice(session, invoice.id))


async def states_by_invoice(session: AsyncSession, invoice_ids: list[Any]) -> dict[Any, EInvoiceView]:
    """The list of invoices: each one's state (one query; the newest document of each invoice)."""
    if not invoice_ids:
        return {}
    rows = (
        await session.execute(
            select(EInvoice).where(EInvoice.invoice_id.in_(invoice_ids)).order_by(EInvoice.created_at, EInvoice.icv)
        )
    ).scalars()
    newest = {row.invoice_id: row for row in rows}
    invoices = (await session.execute(select(Invoice).where(Invoice.id.in_(invoice_ids)))).scalars()
    return {invoice.id: view_of(invoice, newest.get(invoice.id)) for invoice in invoices}


async def shareable_xml(session: AsyncSession, invoice: Invoice) -> bytes | None:
    """The XML to hand out (ZATCA's cleared copy, else the signed one); None for a Phase 1 invoice. A standard
    invoice not cleared yet is not handed out: ``Conflict`` (409, problem details)."""
    document = await einvoice_for_invoice(session, invoice.id)
    if document is None:
        return None
    view = view_of(invoice, document)
    if not view.shareable:
        raise Conflict("errors.einvoice_being_cleared", extra={"state": document.status})
    return (document.cleared_xml or document.xml).encode("utf-8")


@dataclass(frozen=True, slots=True)
class DocumentIssue:
    tenant_id: Any
    invoice_id: Any
    number: str
    icv: int
    status: str
    transaction: str
    report_by: datetime | None
    messages: list[str]


def _messages(raw: dict[str, Any]) -> list[str]:
    found = [f"{m.get('code', '')}: {m.get('message', '')}".strip(": ") for m in raw.get("errors") or []]
    if raw.get("issued_as_simplified"):
        found.append(str(raw["issued_as_simplified"]))
    return found


@dataclass(frozen=True, slots=True)
class PlatformEInvoices:
    refused: list[DocumentIssue]
    late: list[DocumentIssue]
    without_document: int


async def platform_einvoices(session: AsyncSession, *, limit: int = 50) -> PlatformEInvoices:
    """For the platform billing page (a cross-tenant read): refused documents with ZATCA's messages, simplified
    ones still unreported past ``report_by``, and how many invoices carry no Phase 2 document."""

    def issue(row: EInvoice) -> DocumentIssue:
        return DocumentIssue(
            row.tenant_id,
            row.invoice_id,
            row.number,
            row.icv,
            row.status,
            row.transaction,
            row.report_by,
            _messages(row.messages or {}),
        )

    refused = (
        await session.execute(
            select(EInvoice).where(EInvoice.status == "refused").order_by(EInvoice.icv.desc()).limit(limit)
        )
    ).scalars()
    late = (
        await session.execute(
            select(EInvoice)
            .where(EInvoice.status == "reporting", EInvoice.report_by < utcnow())
            .order_by(EInvoice.icv)
            .limit(limit)
        )
    ).scalars()
    return PlatformEInvoices(
        refused=[issue(r) for r in refused],
        late=[issue(r) for r in late],
        without_document=await invoices_without_document(session),
    )


__all__ = [
    "EInvoiceView",
    "PlatformEInvoices",
    "einvoice_view",
    "platform_einvoices",
    "shareable_xml",
]
