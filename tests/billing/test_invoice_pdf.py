"""The invoice PDF (issue 20): a bilingual PDF/A-3b with the signed XML embedded as an associated file, read
back with pypdf (an independent reader), and its two download routes, tenant by tenant."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pypdf
import pytest
import segno
from pypdf.generic import DictionaryObject

from atlas.billing import zatca
from atlas.billing.einvoice_views import qr_of
from atlas.billing.invoice_pdf import PHASE1_NOTE, XML_NOTE, Party, money, render_invoice_pdf
from atlas.billing.schemas import BuyerAddressRead, CardRead, InvoiceRead
from tests.billing.einvoice_helpers import (
    ADDRESS,
    StoredUnit,
    issue,
    local_gateway_fixture,  # noqa: F401 (fixture)
    set_profile,
    unit_fixture,  # noqa: F401 (fixture)
)
from tests.billing.einvoice_helpers import add_attempts as add_einvoice_attempts
from tests.billing.test_einvoice_submission import run_round
from tests.billing.test_invoices import add_attempts, issue_concurrently
from tests.services import html_page

ISSUED = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
XML = '<?xml version="1.0" encoding="UTF-8"?>\n<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">'
XML_BYTES = (XML + "<cbc:Note>فاتورة</cbc:Note></Invoice>\n").encode("utf-8")


def view(**changes: Any) -> InvoiceRead:
    fields: dict[str, Any] = dict(
        id=uuid.uuid4(),
        number="ATL-000042",
        issued_at=ISSUED,
        purpose="renewal",
        plan_id="growth",
        plan_name_ar="النمو",
        plan_name_en="Growth",
        period_start=ISSUED,
        period_end=datetime(2027, 1, 7, 10, 0, tzinfo=UTC),
        net_halalas=100_000_000,
        vat_halalas=15_000_000,
        total_halalas=115_000_000,
        vat_rate_percent="15",
        currency="SAR",
        seller_name="Atlas Enterprise AI Layer",
        seller_vat_number="300000000000003",
        buyer_legal_name="شركة الرياض للتجارة",
        buyer_vat_number="310122393500003",
        buyer_address=BuyerAddressRead(
            street="طريق الملك فهد", building_number="2417", district="العليا", city="الرياض", postal_code="12214"
        ),
        buyer_crn="1010123456",
        card=CardRead(brand="mada", last_four="4242"),
        qr_tlv_base64="",
        url="/app/invoices/x",
    )
    fields.update(changes)
    return InvoiceRead(**fields)


def qr_payload() -> str:
    return zatca.phase1_payload(
        seller_name="Atlas Enterprise AI Layer",
        seller_vat_number="300000000000003",
        issued_at=ISSUED,
        total=115_000_000,
        vat=15_000_000,
    )


@pytest.fixture(scope="module")
def with_xml() -> pypdf.PdfReader:
    data = render_invoice_pdf(view(), xml=XML_BYTES, qr_payload=qr_payload())
    return pypdf.PdfReader(io.BytesIO(data))


@pytest.fixture(scope="module")
def phase1() -> pypdf.PdfReader:
    seller = Party("Atlas Enterprise AI Layer", "300000000000003", BuyerAddressRead(city="Riyadh"), "1010999999")
    data = render_invoice_pdf(view(buyer_vat_number=None), xml=None, qr_payload=qr_payload(), seller=seller)
    return pypdf.PdfReader(io.BytesIO(data))


def text_of(reader: pypdf.PdfReader) -> str:
    return "\n".join(page.extract_text() for page in reader.pages)


def xmp(reader: pypdf.PdfReader) -> str:
    metadata = reader.xmp_metadata
    assert metadata is not None
    return metadata.stream.get_data().decode("utf-8")


def keywords(reader: pypdf.PdfReader) -> str | None:
    """The XMP's pdf:Keywords (a PDF/A-3 file written by fpdf2 keeps its metadata in XMP, no Info dictionary)."""
    metadata = reader.xmp_metadata
    assert metadata is not None
    return metadata.pdf_keywords


def test_pdfa3b_identification_and_srgb_output_intent(with_xml: pypdf.PdfReader, phase1: pypdf.PdfReader) -> None:
    for reader in (with_xml, phase1):
        assert reader.pdf_header == "%PDF-1.7"
        packet = xmp(reader)
        assert re.search(r"<pdfaid:part>3</pdfaid:part>", packet)
        assert re.search(r"<pdfaid:conformance>B</pdfaid:conformance>", packet)
        intents = reader.trailer["/Root"]["/OutputIntents"]
        assert len(intents) == 1
        intent = intents[0].get_object()
        assert intent["/S"] == "/GTS_PDFA1"
        assert intent["/OutputConditionIdentifier"] == "sRGB"
        profile = intent["/DestOutputProfile"].get_object()
        assert profile["/N"] == 3 and len(profile.get_data()) > 1000  # a real ICC profile, not a name


def test_every_font_is_embedded(with_xml: pypdf.PdfReader) -> None:
    seen = 0
    for page in with_xml.pages:
        fonts = page["/Resources"]["/Font"]
        for ref in fonts.values():
            font = ref.get_object()
            assert font["/Subtype"] == "/Type0", font  # no standard-14 font, which PDF/A forbids unembedded
            descendant = font["/DescendantFonts"][0].get_object()
            descriptor = descendant["/FontDescriptor"].get_object()
            assert "/FontFile2" in descriptor, descriptor["/FontName"]
            assert len(descriptor["/FontFile2"].get_object().get_data()) > 1000
            assert "Amiri" in str(descriptor["/FontName"])
            assert "/ToUnicode" in font  # text extracts as characters, not glyph ids
            seen += 1
    assert seen == 2  # regular and bold


def test_the_signed_xml_is_embedded_byte_for_byte_as_an_associated_file(with_xml: pypdf.PdfReader) -> None:
    assert with_xml.attachments["ATL-000042.xml"] == [XML_BYTES]
    associated = with_xml.trailer["/Root"]["/AF"]
    assert len(associated) == 1
    spec = associated[0].get_object()
    assert isinstance(spec, DictionaryObject)
    assert spec["/AFRelationship"] == "/Alternative"
    assert spec["/F"] == "ATL-000042.xml" and spec["/UF"] == "ATL-000042.xml"
    stream = spec["/EF"]["/F"].get_object()
    assert stream["/Subtype"] == "/application/xml"  # the name application#2Fxml, decoded
    assert stream.get_data() == XML_BYTES
    assert keywords(with_xml) == XML_NOTE


def test_a_phase1_invoice_has_no_attachment_and_says_so(phase1: pypdf.PdfReader) -> None:
    assert dict(phase1.attachments) == {}
    assert "/AF" not in phase1.trailer["/Root"]
    assert keywords(phase1) == PHASE1_NOTE
    text = text_of(phase1)
    assert "فاتورة ضريبية مبسطة" in text and "Simplified tax invoice" in text  # no buyer VAT number
    assert "1010999999" in text and "Riyadh" in text  # the seller's CRN and address when given


def test_both_languages_the_number_and_money_with_separators(with_xml: pypdf.PdfReader) -> None:
    text = text_of(with_xml)
    assert "ATL-000042" in text
    assert "Tax invoice" in text and "فاتورة ضريبية" in text
    assert "Simplified" not in text
    for english, arabic in (
        ("Invoice number", "رقم الفاتورة"),
        ("Seller", "البائع"),
        ("Buyer", "المشتري"),
        ("VAT number", "الرقم الضريبي"),
        ("Total including VAT", "الإجمالي شامل الضريبة"),
        ("Net amount", "المبلغ قبل الضريبة"),
    ):
        assert english in text and arabic in text, (english, arabic)
    assert "1,150,000.00 SAR" in text and "1,000,000.00 SAR" in text and "150,000.00 SAR" in text
    assert "310122393500003" in text and "1010123456" in text and "mada •••• 4242" in text


def test_arabic_is_shaped_and_extracts_in_reading_order(with_xml: pypdf.PdfReader) -> None:
    text = text_of(with_xml)
    assert "شركة الرياض للتجارة" in text  # the buyer's name as typed
    assert "الإجمالي" in text
    assert "يلامجإلا" not in text  # not drawn letter by letter backwards
    # shaping drew contextual forms: the same letter (lam, U+0644) is drawn with several glyphs (initial, medial,
    # final, in ligatures), each mapped back to it in the font's ToUnicode map; unshaped text has one glyph a letter
    regular = next(iter(with_xml.pages[0]["/Resources"]["/Font"].values())).get_object()
    cmap = regular["/ToUnicode"].get_object().get_data().decode("ascii")
    lam_glyphs = set(re.findall(r"<([0-9A-F]{4})> <0644>", cmap))
    assert len(lam_glyphs) >= 3, cmap


def test_dates_in_both_languages_in_the_tenants_zone(with_xml: pypdf.PdfReader) -> None:
    text = text_of(with_xml)
    # 10:00 UTC is 1:00 PM in Riyadh (the default zone); CLDR puts a narrow no-break space before PM
    assert "December 7, 2026 1:00\u202fPM" in text and "December 7, 2026 – January 7, 2027" in text
    # the Arabic dates' words (runs of digits and Arabic words extract in drawn order, so word by word)
    assert "ديسمبر" in text and "يناير" in text and "م1:00" in text.replace(" ", "")


def test_the_qr_code_drawn_is_the_payload_given(with_xml: pypdf.PdfReader) -> None:
    """Each dark module is one filled square: read the squares back into a grid and compare with segno's."""
    assert drawn_qr(with_xml) == qr_cells(qr_payload())


def test_money_is_exact_halalas_with_separators() -> None:
    assert money(0) == "0.00 SAR"
    assert money(34385) == "343.85 SAR"
    assert money(115_000_000) == "1,150,000.00 SAR"
    assert money(-4485) == "-44.85 SAR"


def test_pdf_routes_serve_the_tenants_invoice_and_no_other(atlas) -> None:
    admin, me = atlas.new_tenant(name="Nakheel Stores")
    tenant = me["tenant_id"]
    issue_concurrently(atlas, tenant, add_attempts(atlas, tenant, 1), set())
    invoice = admin.get("/api/invoices").json()[0]

    api = admin.get(f"/api/invoices/{invoice['id']}/pdf")
    assert api.status_code == 200, api.text
    assert api.headers["content-type"].startswith("application/pdf")
    assert api.headers["content-disposition"] == f'attachment; filename="{invoice["number"]}.pdf"'
    reader = pypdf.PdfReader(io.BytesIO(api.content))
    text = text_of(reader)
    assert invoice["number"] in text and "343.85 SAR" in text and "44.85 SAR" in text
    assert "Atlas Test Seller" in text
    assert "<pdfaid:part>3</pdfaid:part>" in xmp(reader)

    viewer, _ = atlas.member_client(admin, "viewer")  # the invoice page's permission reads it too
    page = html_page(viewer, f"{invoice['url']}/pdf")
    assert page.status_code == 200
    assert page.headers["content-disposition"] == f'attachment; filename="{invoice["number"]}.pdf"'
    assert invoice["number"] in text_of(pypdf.PdfReader(io.BytesIO(page.content)))

    invoice_page = html_page(admin, invoice["url"])
    assert f'href="{invoice["url"]}/pdf"' in invoice_page.text  # the invoice page links to it

    other, _ = atlas.new_tenant()
    assert other.get(f"/api/invoices/{invoice['id']}/pdf").status_code == 404
    assert html_page(other, f"{invoice['url']}/pdf").status_code == 404
    assert admin.get(f"/api/invoices/{uuid.uuid4()}/pdf").status_code == 404


def drawn_qr(reader: pypdf.PdfReader) -> set[tuple[int, int]]:
    content = reader.pages[0].get_contents()
    assert content is not None
    pattern = r"([\d.]+) ([\d.]+) ([\d.]+) -?([\d.]+) re f"
    squares = [tuple(float(n) for n in m.groups()) for m in re.finditer(pattern, content.get_data().decode("latin-1"))]
    module = squares[0][2]
    left, top = min(s[0] for s in squares), max(s[1] for s in squares)
    return {(round((top - y) / module), round((x - left) / module)) for x, y, *_ in squares}


def qr_cells(payload: str) -> set[tuple[int, int]]:
    matrix = segno.make(payload, error="m", micro=False).matrix
    return {(r, c) for r, row in enumerate(matrix) for c, dark in enumerate(row) if dark}


def test_a_phase2_pdf_embeds_zatcas_cleared_xml_and_only_once_cleared(atlas, unit: StoredUnit) -> None:
    """A standard invoice through the local ZATCA gateway: no PDF while it is being cleared (409), then the PDF
    carries ZATCA's cleared copy byte for byte and the cleared copy's QR code."""
    client, me = atlas.new_tenant()
    set_profile(atlas, me["tenant_id"], vat_number="311111111100003", address=ADDRESS)
    [invoice_id] = issue(atlas, me["tenant_id"], add_einvoice_attempts(atlas, me["tenant_id"], 1))
    refused = client.get(f"/api/invoices/{invoice_id}/pdf")
    assert refused.status_code == 409 and refused.headers["content-type"].startswith("application/problem+json")
    assert html_page(client, f"/app/invoices/{invoice_id}/pdf").status_code == 409

    assert run_round(atlas, unit).accepted == 1
    cleared_xml = atlas.sql("SELECT cleared_xml FROM einvoices WHERE invoice_id = %s", (invoice_id,))[0][0]
    answer = client.get(f"/api/invoices/{invoice_id}/pdf")
    assert answer.status_code == 200, answer.text
    reader = pypdf.PdfReader(io.BytesIO(answer.content))
    number = answer.headers["content-disposition"].split('filename="')[1].removesuffix('.pdf"')
    assert reader.attachments[f"{number}.xml"] == [cleared_xml.encode("utf-8")]
    assert reader.trailer["/Root"]["/AF"][0].get_object()["/AFRelationship"] == "/Alternative"
    assert keywords(reader) == XML_NOTE
    assert "فاتورة ضريبية" in text_of(reader) and "Simplified" not in text_of(reader)
    payload = qr_of(cleared_xml)
    assert payload and drawn_qr(reader) == qr_cells(payload)  # the Phase 2 QR (tags 1-8), not the Phase 1 one


def test_a_simplified_phase2_pdf_embeds_the_signed_xml_at_once(atlas, unit: StoredUnit) -> None:
    client, me = atlas.new_tenant()
    set_profile(atlas, me["tenant_id"], vat_number=None, address=None)
    [invoice_id] = issue(atlas, me["tenant_id"], add_einvoice_attempts(atlas, me["tenant_id"], 1))
    xml, qr = atlas.sql("SELECT xml, qr FROM einvoices WHERE invoice_id = %s", (invoice_id,))[0]
    answer = client.get(f"/api/invoices/{invoice_id}/pdf")
    assert answer.status_code == 200, answer.text
    reader = pypdf.PdfReader(io.BytesIO(answer.content))
    assert list(reader.attachments.values()) == [[xml.encode("utf-8")]]
    assert "فاتورة ضريبية مبسطة" in text_of(reader)
    assert drawn_qr(reader) == qr_cells(qr)


def test_the_pdf_prints_the_seller_address_the_signed_document_states_not_todays_settings() -> None:
    """The seller moved after the invoice was issued: the PDF keeps the address and CRN its signed document (what
    ZATCA holds) states; an invoice without a document falls back to the settings."""
    from atlas.billing.invoice_pdf import seller_party
    from atlas.config import Settings
    from atlas.einvoicing import FIRST_PIH
    from atlas.einvoicing.ubl import build, serialize
    from tests.einvoicing.factory import SELLER, document

    xml = serialize(build(document(pih=FIRST_PIH)))
    shown = view()
    moved = Settings(ATLAS_SELLER_STREET="Olaya St", ATLAS_SELLER_CITY="Jeddah", ATLAS_SELLER_CRN="4030000000")
    assert SELLER.address is not None and moved.seller_city != SELLER.address.city

    recorded = seller_party(shown, moved, xml)
    assert recorded.address is not None
    assert (recorded.address.street, recorded.address.city, recorded.address.postal_code) == (
        SELLER.address.street,
        SELLER.address.city,
        SELLER.address.postal_code,
    )
    assert (recorded.address.additional_number, recorded.crn) == (SELLER.address.additional_number, SELLER.id_value)
    assert (recorded.name, recorded.vat_number) == (shown.seller_name, shown.seller_vat_number)

    fallback = seller_party(shown, moved, None)
    assert fallback.address is not None and (fallback.address.city, fallback.crn) == ("Jeddah", "4030000000")
