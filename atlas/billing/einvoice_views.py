"""What the tenant's pages and downloads may show of an invoice's Phase 2 document (issue 20).

A **standard** invoice is shared only once ZATCA cleared it: until then the page says it is being cleared (no QR,
no download), and the XML and PDF routes answer 409. Once cleared, what is shared is ZATCA's stamped copy
(``cleared_xml``) and its QR. A **simplified** invoice is shared at once (reported within 24 hours) with the QR
of the signed document. An invoice without a document (no active unit when it was issued) keeps its Phase 1 QR.
A platform admin sees refused documents with ZATCA's messages and simplified ones past their ``report_by``.

A refused document is corrected by a replacement invoice (``einvoice_corrections``): the refused invoice then says
which invoice replaced it (``replaced_by``) and is never shared (it never became valid), and the replacement says
which one it replaces (``replaces``). Refused documents stay on the platform page until superseded; superseded ones
move to a short "corrected" list with their replacement's number and state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.billing.einvoice_chain import display_number, einvoice_for_invoice, invoices_without_document
from atlas.billing.models import EInvoice, Invoice
from atlas.db.base import utcnow
from atlas.errors import Conflict
from atlas.platform.models import Tenant

QR_PATH = "cac:AdditionalDocumentReference[cbc:ID='QR']/cac:Attachment/cbc:EmbeddedDocumentBinaryObject"
NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
STANDARD = "0100000"


@dataclass(frozen=True, slots=True)
class InvoiceRef:
    """Another invoice a page links to: its id, printed number and its document's state (``none`` without one)."""

    id: Any
    number: str
    state: str


@dataclass(frozen=True, slots=True)
class EInvoiceView:
    """``state``: none (Phase 1 only), clearing, cleared, reporting, reported, refused. ``shareable``: the page may
    show the invoice's QR and offer its downloads. ``qr``: the QR payload to show (Phase 2 when there is a document,
    else the Phase 1 one); None while not shareable. ``replaced_by``: the invoice that replaced this refused one;
    ``replaces``: the refused invoice this one replaces."""

    state: str
    standard: bool
    shareable: bool
    qr: str | None
    replaced_by: InvoiceRef | None = None
    replaces: InvoiceRef | None = None


def qr_of(xml: str) -> str | None:
    """The QR payload a signed (or ZATCA-cleared) document carries."""
    root = etree.fromstring(xml.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True))
    found: str | None = root.findtext(QR_PATH, None, NS)
    return found


def view_of(
    invoice: Invoice,
    document: EInvoice | None,
    *,
    replaced_by: InvoiceRef | None = None,
    replaces: InvoiceRef | None = None,
) -> EInvoiceView:
    links = {"replaced_by": replaced_by, "replaces": replaces}
    if document is None:
        return EInvoiceView("none", standard=False, shareable=True, qr=invoice.qr_tlv_base64, **links)
    standard = document.transaction == STANDARD
    shareable = document.status == "cleared" if standard else True
    if document.superseded_by is not None:
        shareable = False  # replaced: it never became valid, so it is never handed out
    if not shareable:
        return EInvoiceView(document.status, standard=standard, shareable=False, qr=None, **links)
    qr = qr_of(document.cleared_xml) if document.cleared_xml else None
    return EInvoiceView(document.status, standard=standard, shareable=True, qr=qr or document.qr, **links)


async def _links(
    session: AsyncSession, invoices: list[Invoice], documents: dict[Any, EInvoice]
) -> tuple[dict[Any, InvoiceRef], dict[Any, InvoiceRef]]:
    """For each invoice: the invoice that replaced it (its refused document superseded) and the one it replaces."""
    superseding = {d.superseded_by: d.invoice_id for d in documents.values() if d.superseded_by is not None}
    replaced_ids = {i.replaces_invoice_id for i in invoices if i.replaces_invoice_id is not None}
    replaced_by: dict[Any, InvoiceRef] = {}
    replaces: dict[Any, InvoiceRef] = {}
    if superseding:
        rows = await session.execute(
            select(EInvoice.id, EInvoice.status, Invoice.id, Invoice.number)
            .join(Invoice, Invoice.id == EInvoice.invoice_id)
            .where(EInvoice.id.in_(list(superseding)))
        )
        for document_id, status, invoice_id, number in rows.tuples():
            replaced_by[superseding[document_id]] = InvoiceRef(invoice_id, display_number(number), status)
    if replaced_ids:
        found = await session.execute(select(Invoice.id, Invoice.number).where(Invoice.id.in_(list(replaced_ids))))
        numbers = {invoice_id: display_number(number) for invoice_id, number in found.tuples()}
        for invoice in invoices:
            if invoice.replaces_invoice_id in numbers:
                replaces[invoice.id] = InvoiceRef(
                    invoice.replaces_invoice_id, numbers[invoice.replaces_invoice_id], "refused"
                )
    return replaced_by, replaces


async def einvoice_view(session: AsyncSession, invoice: Invoice) -> EInvoiceView:
    document = await einvoice_for_invoice(session, invoice.id)
    replaced_by, replaces = await _links(session, [invoice], {invoice.id: document} if document else {})
    return view_of(invoice, document, replaced_by=replaced_by.get(invoice.id), replaces=replaces.get(invoice.id))


async def states_by_invoice(session: AsyncSession, invoice_ids: list[Any]) -> dict[Any, EInvoiceView]:
    """The list of invoices: each one's state (the newest document of each invoice) and what replaced it or what it
    replaces (three queries whatever the list's length)."""
    if not invoice_ids:
        return {}
    rows = (
        await session.execute(
            select(EInvoice).where(EInvoice.invoice_id.in_(invoice_ids)).order_by(EInvoice.created_at, EInvoice.icv)
        )
    ).scalars()
    newest = {row.invoice_id: row for row in rows}
    invoices = list((await session.execute(select(Invoice).where(Invoice.id.in_(invoice_ids)))).scalars())
    replaced_by, replaces = await _links(session, invoices, newest)
    return {
        invoice.id: view_of(
            invoice, newest.get(invoice.id), replaced_by=replaced_by.get(invoice.id), replaces=replaces.get(invoice.id)
        )
        for invoice in invoices
    }


async def shareable_xml(session: AsyncSession, invoice: Invoice) -> bytes | None:
    """The XML to hand out (ZATCA's cleared copy, else the signed one); None for a Phase 1 invoice. A standard
    invoice not cleared yet is not handed out: ``Conflict`` (409, problem details)."""
    document = await einvoice_for_invoice(session, invoice.id)
    if document is None:
        return None
    if document.superseded_by is not None:
        raise Conflict("errors.einvoice_replaced", extra={"state": document.status})
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
    id: Any = None
    tenant_name: str = ""
    # a corrected (superseded) refused document: the invoice that replaced it and its document's state
    replaced_by: InvoiceRef | None = None


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
    corrected: list[DocumentIssue] = field(default_factory=list)


async def platform_einvoices(session: AsyncSession, *, limit: int = 50, corrected_limit: int = 10) -> PlatformEInvoices:
    """For the platform billing page (a cross-tenant read): refused documents not yet corrected, with ZATCA's
    messages and the tenant (they stay until a replacement supersedes them: never dropped); the last corrected ones
    with their replacement's number and state; simplified ones still unreported past ``report_by``; and how many
    invoices carry no Phase 2 document."""
    names: dict[Any, str] = {}

    def issue(row: EInvoice, replaced_by: InvoiceRef | None = None) -> DocumentIssue:
        return DocumentIssue(
            row.tenant_id,
            row.invoice_id,
            row.number,
            row.icv,
            row.status,
            row.transaction,
            row.report_by,
            _messages(row.messages or {}),
            id=row.id,
            tenant_name=names.get(row.tenant_id, ""),
            replaced_by=replaced_by,
        )

    refused = list(
        (
            await session.execute(
                select(EInvoice)
                .where(EInvoice.status == "refused", EInvoice.superseded_by.is_(None))
                .order_by(EInvoice.created_at.desc(), EInvoice.icv.desc())
                .limit(limit)
            )
        ).scalars()
    )
    corrected = list(
        (
            await session.execute(
                select(EInvoice)
                .where(EInvoice.status == "refused", EInvoice.superseded_by.is_not(None))
                .order_by(EInvoice.created_at.desc(), EInvoice.icv.desc())
                .limit(corrected_limit)
            )
        ).scalars()
    )
    late = list(
        (
            await session.execute(
                select(EInvoice)
                .where(EInvoice.status == "reporting", EInvoice.report_by < utcnow())
                .order_by(EInvoice.icv)
                .limit(limit)
            )
        ).scalars()
    )
    tenant_ids = {row.tenant_id for row in (*refused, *corrected, *late)}
    if tenant_ids:
        found = await session.execute(select(Tenant.id, Tenant.name).where(Tenant.id.in_(list(tenant_ids))))
        names.update({tenant_id: name for tenant_id, name in found.tuples()})
    replacements, _ = await _links(session, [], {row.invoice_id: row for row in corrected})
    return PlatformEInvoices(
        refused=[issue(r) for r in refused],
        late=[issue(r) for r in late],
        without_document=await invoices_without_document(session),
        corrected=[issue(r, replacements.get(r.invoice_id)) for r in corrected],
    )


__all__ = [
    "EInvoiceView",
    "InvoiceRef",
    "PlatformEInvoices",
    "einvoice_view",
    "platform_einvoices",
    "shareable_xml",
]
