"""The tax invoice as a bilingual PDF/A-3b: Arabic first (right) with English beside it (left), the ZATCA QR
code, and the signed e-invoice XML embedded as an associated file, as ZATCA and Factur-X carry it.

fpdf2 writes the PDF/A-3b parts (XMP ``pdfaid:part``/``conformance``, the sRGB output intent, embedded font
subsets, the ``/AF`` array); uharfbuzz shapes Arabic (joined letter forms, right to left) so the text is drawn
as read and extracts in logical order. The font is Amiri (SIL OFL, Debian's ``fonts-hosny-amiri``, installed by
``scripts/bootstrap.sh``): one family with Arabic and Latin glyphs, so no fallback font splits a line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from uuid import UUID

import anyio.to_thread
import segno
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from lxml import etree
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.billing import einvoice_views, invoices, views
from atlas.billing.invoices import title_key
from atlas.billing.models import Invoice
from atlas.billing.schemas import BuyerAddressRead, InvoiceRead
from atlas.config import Settings
from atlas.errors import NotFound
from atlas.i18n import translate
from atlas.i18n.formats import DEFAULT_TIME_ZONE, format_date, format_datetime
from atlas.platform.services import TenantRepo

FONT_DIRS = (
    "/usr/share/fonts/opentype/fonts-hosny-amiri",
    "/usr/share/fonts/truetype/fonts-hosny-amiri",
)
FONT_FILES = {"": "Amiri-Regular.ttf", "B": "Amiri-Bold.ttf"}
PHASE1_NOTE = "ZATCA Phase 1 invoice: no e-invoice XML attached"
XML_NOTE = "ZATCA e-invoice: the signed UBL 2.1 XML is attached (AFRelationship /Alternative)"

# A4 in millimetres: 15 mm margins leave 180 mm; label columns either side of the value.
MARGIN = 15.0
WIDTH = 180.0
LABEL_W = 52.0
VALUE_W = WIDTH - 2 * LABEL_W
INK = (33, 37, 41)
MUTED = (102, 112, 133)
RULE = (208, 213, 221)


class FontMissing(RuntimeError):
    """The Arabic font is not installed (``scripts/bootstrap.sh`` installs ``fonts-hosny-amiri``)."""


@dataclass(frozen=True, slots=True)
class Party:
    """A party as printed: the invoice's name and VAT number, plus address and CRN where known."""

    name: str
    vat_number: str | None
    address: BuyerAddressRead | None = None
    crn: str | None = None


@cache
def font_dir() -> Path:
    """Where Amiri is (``ATLAS_PDF_FONT_DIR`` first, then Debian's places)."""
    candidates = [os.environ.get("ATLAS_PDF_FONT_DIR", ""), *FONT_DIRS]
    for folder in filter(None, candidates):
        if all((Path(folder) / name).is_file() for name in FONT_FILES.values()):
            return Path(folder)
    raise FontMissing("Amiri not found: install Debian's fonts-hosny-amiri (scripts/bootstrap.sh does)")


def money(halalas: int) -> str:
    """Halalas as riyals with thousands separators, exactly (integers, no float): 115000000 -> 1,150,000.00 SAR."""
    sign = "-" if halalas < 0 else ""
    whole, part = divmod(abs(halalas), 100)
    return f"{sign}{whole:,}.{part:02d} SAR"


def address_line(address: BuyerAddressRead | None) -> str:
    """The national address on one line, in the order the invoice page prints it."""
    if address is None:
        return ""
    parts = [
        " ".join(p for p in (address.building_number, address.street) if p),
        address.district,
        address.city,
        address.postal_code,
        address.additional_number,
        address.country,
    ]
    return " · ".join(p for p in parts if p)


def invoice_kind_key(view: InvoiceRead) -> str:
    """The title by kind (invoice, credit note, debit note) and buyer: a buyer with a VAT number gets a tax
    document, one without a simplified one (as the page)."""
    return title_key(view.kind, view.buyer_vat_number)


class _InvoicePdf(FPDF):
    def bi_heading(self, key: str, *, size: float = 12) -> None:
        """A heading in both languages: Arabic on the right, English on the left, on one rule."""
        y = self.get_y()
        self.set_font("Amiri", "B", size)
        self.set_text_color(*INK)
        self.set_xy(MARGIN + WIDTH / 2, y)
        self.cell(WIDTH / 2, size * 0.6, translate(key, "ar"), align="R")
        self.set_xy(MARGIN, y)
        self.cell(WIDTH / 2, size * 0.6, translate(key, "en"), align="L")
        self.set_y(y + size * 0.6 + 1)
        self.set_draw_color(*RULE)
        self.line(MARGIN, self.get_y(), MARGIN + WIDTH, self.get_y())
        self.set_y(self.get_y() + 1.5)

    def bi_row(self, key: str, value: str, *, bold: bool = False, x: float = MARGIN, width: float = WIDTH) -> None:
        """One labelled value: the Arabic label right, the value in the middle, the English label left."""
        label_w = min(LABEL_W, width * 0.3)
        value_w = width - 2 * label_w
        y = self.get_y()
        self.set_text_color(*MUTED)
        self.set_font("Amiri", "", 9.5)
        self.set_xy(x + width - label_w, y)
        self.cell(label_w, 6.5, translate(key, "ar"), align="R")
        self.set_xy(x, y)
        self.cell(label_w, 6.5, translate(key, "en"), align="L")
        self.set_text_color(*INK)
        self.set_font("Amiri", "B" if bold else "", 11 if bold else 10)
        self.set_xy(x + label_w, y)
        self.multi_cell(value_w, 6.5, value or "—", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_y(max(self.get_y(), y + 6.5))

    def qr(self, payload: str, x: float, y: float, size: float) -> None:
        """The QR code drawn as vector squares (no image, nothing to colour-manage), error correction M."""
        code = segno.make(payload, error="m", micro=False)
        rows = list(code.matrix_iter(border=2))
        module = size / len(rows)
        self.set_fill_color(0, 0, 0)
        for r, row in enumerate(rows):
            for c, dark in enumerate(row):
                if dark:
                    self.rect(x + c * module, y + r * module, module, module, style="F")


def render_invoice_pdf(
    view: InvoiceRead,
    *,
    xml: bytes | None,
    qr_payload: str,
    seller: Party | None = None,
    time_zone: str | None = None,
) -> bytes:
    """The invoice as PDF/A-3b bytes. ``xml`` is the signed (for a standard invoice: cleared) e-invoice, embedded
    byte for byte as ``<number>.xml`` with ``AFRelationship /Alternative``; None for a Phase 1 invoice (the
    metadata says so). ``seller`` adds the seller's address and CRN to the invoice's own name and VAT number."""
    zone = time_zone or DEFAULT_TIME_ZONE
    seller = seller or Party(view.seller_name, view.seller_vat_number)
    buyer = Party(view.buyer_legal_name, view.buyer_vat_number, view.buyer_address, view.buyer_crn)
    kind = invoice_kind_key(view)

    pdf = _InvoicePdf(orientation="P", unit="mm", format="A4", enforce_compliance="PDF/A-3B")
    folder = font_dir()
    for style, name in FONT_FILES.items():
        pdf.add_font("Amiri", style, str(folder / name))
    pdf.set_text_shaping(use_shaping_engine=True)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(auto=True, margin=MARGIN)
    pdf.set_lang("ar-SA")
    pdf.set_title(f"{translate(kind, 'en')} {view.number}")
    pdf.set_author(seller.name)
    pdf.set_subject(f"{translate(kind, 'ar')} / {translate(kind, 'en')} {view.number}")
    pdf.set_keywords(XML_NOTE if xml is not None else PHASE1_NOTE)
    pdf.set_creator("Atlas")
    pdf.set_creation_date(view.issued_at)
    pdf.add_page()

    # Title: Arabic right, English left; the QR code under the English title, the invoice's facts beside it.
    pdf.bi_heading(kind, size=18)
    top = pdf.get_y() + 1
    qr_size = 38.0
    pdf.qr(qr_payload, MARGIN, top, qr_size)
    pdf.set_y(top)
    facts_x = MARGIN + qr_size + 4
    facts_w = WIDTH - qr_size - 4
    pdf.bi_row("billing.invoice.number", view.number, bold=True, x=facts_x, width=facts_w)
    pdf.bi_row("billing.invoice.issued", _issued(view.issued_at, zone), x=facts_x, width=facts_w)
    pdf.bi_row("billing.invoice.period", _period(view, zone), x=facts_x, width=facts_w)
    if view.original_number:  # a credit or debit note names the document it adjusts
        pdf.bi_row("billing.invoice.for_invoice", view.original_number, bold=True, x=facts_x, width=facts_w)
    pdf.set_y(max(pdf.get_y(), top + qr_size) + 4)

    for key, party in (("billing.invoice.seller", seller), ("billing.invoice.buyer", buyer)):
        pdf.bi_heading(key)
        pdf.bi_row("billing.invoice.party_name", party.name)
        if party.vat_number:
            pdf.bi_row("billing.invoice.vat_number", party.vat_number)
        if party.address is not None:
            pdf.bi_row("billing.invoice_party.address", address_line(party.address))
        if party.crn:
            pdf.bi_row("billing.invoice_party.crn", party.crn)
        pdf.set_y(pdf.get_y() + 3)

    pdf.bi_heading("billing.invoice.description")
    purpose = f"billing.purpose.{view.purpose}"
    pdf.bi_row("billing.invoice.description", f"{view.plan_name_ar} · {translate(purpose, 'ar')}")
    pdf.bi_row("billing.invoice.description", f"{view.plan_name_en} · {translate(purpose, 'en')}")
    if view.reason:
        pdf.bi_row("billing.invoice.reason", view.reason)
    pdf.set_y(pdf.get_y() + 3)

    pdf.bi_heading("billing.invoice.amounts")
    pdf.bi_row("billing.invoice.net", money(view.net_halalas))
    pdf.bi_row("billing.invoice.vat", f"{money(view.vat_halalas)} ({view.vat_rate_percent}%)")
    pdf.bi_row("billing.invoice.total", money(view.total_halalas), bold=True)
    if view.card is not None and view.card.last_four:
        pdf.bi_row("billing.invoice.paid_with", f"{view.card.brand or ''} •••• {view.card.last_four}".strip())

    if xml is not None:
        pdf.embed_file(
            bytes=xml,
            basename=f"{view.number}.xml",
            mime_type="application/xml",
            associated_file_relationship="Alternative",
            desc=f"ZATCA e-invoice (UBL 2.1) {view.number}",
            modification_date=view.issued_at,
            creation_date=view.issued_at,
            compress=True,
        )
    return bytes(pdf.output())


def _issued(moment: datetime, zone: str) -> str:
    """The moment in the tenant's zone, in Arabic then in English (one line each)."""
    return "\n".join(format_datetime(moment, lang, zone) for lang in ("ar", "en"))


def _period(view: InvoiceRead, zone: str) -> str:
    if view.period_start is None or view.period_end is None:
        return "—"
    start, end = view.period_start, view.period_end
    return "\n".join(f"{format_date(start, lang, zone)} – {format_date(end, lang, zone)}" for lang in ("ar", "en"))


def seller_party(view: InvoiceRead, settings: Settings, xml: bytes | None = None) -> Party:
    """The seller as the invoice recorded it (name, VAT number) with its address and CRN: from the signed document
    when there is one (what was true when it was issued, and what ZATCA holds), else from the settings."""
    recorded = seller_of_document(xml) if xml else None
    if recorded is not None:
        address, crn = recorded
        return Party(name=view.seller_name, vat_number=view.seller_vat_number, address=address, crn=crn)
    return Party(
        name=view.seller_name,
        vat_number=view.seller_vat_number,
        address=BuyerAddressRead(
            street=settings.seller_street,
            building_number=settings.seller_building_number,
            additional_number=settings.seller_additional_number,
            district=settings.seller_district,
            city=settings.seller_city,
            postal_code=settings.seller_postal_code,
            country=settings.seller_country,
        ),
        crn=settings.seller_crn,
    )


UBL_NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}


def seller_of_document(xml: bytes) -> tuple[BuyerAddressRead, str | None] | None:
    """The seller's national address and CRN as the signed UBL document states them (None when it has none)."""
    root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    party = root.find("cac:AccountingSupplierParty/cac:Party", UBL_NS)
    postal = party.find("cac:PostalAddress", UBL_NS) if party is not None else None
    if party is None or postal is None:
        return None

    def text(path: str) -> str | None:
        value = postal.findtext(path, None, UBL_NS)
        return value.strip() if value and value.strip() else None

    address = BuyerAddressRead(
        street=text("cbc:StreetName"),
        building_number=text("cbc:BuildingNumber"),
        additional_number=text("cbc:PlotIdentification"),
        district=text("cbc:CitySubdivisionName"),
        city=text("cbc:CityName"),
        postal_code=text("cbc:PostalZone"),
        country=text("cac:Country/cbc:IdentificationCode") or "SA",
    )
    crn = party.findtext("cac:PartyIdentification/cbc:ID[@schemeID='CRN']", None, UBL_NS)
    return address, crn


async def shareable_xml(session: AsyncSession, invoice: Invoice) -> bytes | None:
    """The signed XML to embed (``EInvoice.cleared_xml or EInvoice.xml``), None for a Phase 1 invoice; a standard
    invoice not yet cleared is not served (``Conflict``, 409): the rule is the XML download's
    (``einvoice_views.shareable_xml``), so the PDF and the XML are handed out alike."""
    return await einvoice_views.shareable_xml(session, invoice)


@dataclass(frozen=True, slots=True)
class PdfDownload:
    filename: str
    content: bytes

    @property
    def headers(self) -> dict[str, str]:
        return {"Content-Disposition": f'attachment; filename="{self.filename}"'}


async def invoice_pdf(session: AsyncSession, invoice_id: UUID, settings: Settings) -> PdfDownload:
    """The signed-in tenant's invoice as a PDF (another tenant's id is not found: the session is the tenant's).
    Rendering takes most of a second of CPU, so it runs in a worker thread, off the event loop."""
    try:
        invoice = await invoices.get_invoice(session, invoice_id)
    except NotFound:
        raise NotFound("errors.invoice_not_found") from None
    xml = await shareable_xml(session, invoice)  # first: a standard invoice not cleared stops here
    qr = (await einvoice_views.einvoice_view(session, invoice)).qr or invoice.qr_tlv_base64  # Phase 2's QR if any
    tenant = await TenantRepo(session).one_or_none()
    view = views.invoice_read(invoice)
    seller = seller_party(view, settings, xml)
    zone = tenant.time_zone if tenant is not None else None

    def render() -> bytes:
        return render_invoice_pdf(view, xml=xml, qr_payload=qr, seller=seller, time_zone=zone)

    return PdfDownload(f"{view.number}.pdf", await anyio.to_thread.run_sync(render))
