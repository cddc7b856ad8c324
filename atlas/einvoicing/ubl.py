"""The UBL 2.1 invoice XML of a document, in the element order of UBL's XSD and ZATCA's SDK samples.

Credit and debit notes are ``Invoice`` documents too (type code 381/383), as ZATCA requires. The tree has three
slots that signing fills and the invoice hash leaves out: ``ext:UBLExtensions`` (the XAdES signature), the ``QR``
``cac:AdditionalDocumentReference`` and ``cac:Signature``. Indentation is four spaces per level, as in ZATCA's
samples; it matters, because the invoice hash covers the whitespace between elements and the signed properties are
hashed as they appear in the document (see ``signing.py``).
"""

from __future__ import annotations

from typing import cast

from lxml import etree

from atlas.einvoicing.amounts import Totals, sar, totals
from atlas.einvoicing.documents import VAT_PERCENT, Address, Buyer, Document, DocumentKind, Seller

INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
EXT = "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2"
SIG = "urn:oasis:names:specification:ubl:schema:xsd:CommonSignatureComponents-2"
SAC = "urn:oasis:names:specification:ubl:schema:xsd:SignatureAggregateComponents-2"
SBC = "urn:oasis:names:specification:ubl:schema:xsd:SignatureBasicComponents-2"
DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
NAMESPACES = {"cac": CAC, "cbc": CBC, "ext": EXT, "sig": SIG, "sac": SAC, "sbc": SBC, "ds": DS, "xades": XADES}

PROFILE = "reporting:1.0"
SIGNATURE_ID = "urn:oasis:names:specification:ubl:signature:Invoice"
SIGNATURE_METHOD = "urn:oasis:names:specification:ubl:dsig:enveloped:xades"
INDENT = "    "


def parser() -> etree.XMLParser:
    """A parser that never expands entities nor reaches the network, and keeps whitespace (the hash covers it)."""
    return etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False, huge_tree=False)


def parse(xml: bytes) -> etree._ElementTree:
    """A document to hash or check; a DOCTYPE (entities, external subsets) is refused, as no ZATCA document has one."""
    root = etree.fromstring(xml, parser())
    tree = root.getroottree()
    if tree.docinfo.doctype:
        raise ValueError("a ZATCA document has no DOCTYPE")
    return tree


def serialize(tree: etree._ElementTree) -> bytes:
    """UTF-8 with the declaration ZATCA's samples carry (double quotes; lxml would write single ones)."""
    body = cast(bytes, etree.tostring(tree, encoding="UTF-8", xml_declaration=False))
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def q(prefix: str, name: str) -> str:
    return f"{{{NAMESPACES[prefix]}}}{name}"


def sub(parent: etree._Element, prefix: str, name: str, text: str | None = None, /, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, q(prefix, name), attrs)
    if text is not None:
        element.text = text
    return element


def _amount(parent: etree._Element, name: str, halalas: int, currency: str) -> None:
    sub(parent, "cbc", name, sar(halalas), currencyID=currency)


def _percent(value: int) -> str:
    return f"{value}.00"


def _address(parent: etree._Element, address: Address) -> None:
    postal = sub(parent, "cac", "PostalAddress")
    sub(postal, "cbc", "StreetName", address.street)
    sub(postal, "cbc", "BuildingNumber", address.building_number)
    if address.additional_number is not None:
        sub(postal, "cbc", "PlotIdentification", address.additional_number)
    sub(postal, "cbc", "CitySubdivisionName", address.district)
    sub(postal, "cbc", "CityName", address.city)
    sub(postal, "cbc", "PostalZone", address.postal_code)
    country = sub(postal, "cac", "Country")
    sub(country, "cbc", "IdentificationCode", address.country)


def _tax_scheme(parent: etree._Element, vat_number: str) -> None:
    scheme = sub(parent, "cac", "PartyTaxScheme")
    sub(scheme, "cbc", "CompanyID", vat_number)
    sub(sub(scheme, "cac", "TaxScheme"), "cbc", "ID", "VAT")


def _seller(root: etree._Element, seller: Seller) -> None:
    party = sub(sub(root, "cac", "AccountingSupplierParty"), "cac", "Party")
    sub(sub(party, "cac", "PartyIdentification"), "cbc", "ID", seller.id_value, schemeID=seller.id_scheme)
    _address(party, seller.address)
    _tax_scheme(party, seller.vat_number)
    sub(sub(party, "cac", "PartyLegalEntity"), "cbc", "RegistrationName", seller.legal_name)


def _buyer(root: etree._Element, buyer: Buyer) -> None:
    party = sub(sub(root, "cac", "AccountingCustomerParty"), "cac", "Party")
    if buyer.id_scheme is not None and buyer.id_value is not None:
        sub(sub(party, "cac", "PartyIdentification"), "cbc", "ID", buyer.id_value, schemeID=buyer.id_scheme)
    if buyer.address is not None:
        _address(party, buyer.address)
    if buyer.vat_number is not None:
        _tax_scheme(party, buyer.vat_number)
    sub(sub(party, "cac", "PartyLegalEntity"), "cbc", "RegistrationName", buyer.name)


def _reference(root: etree._Element, name: str) -> etree._Element:
    reference = sub(root, "cac", "AdditionalDocumentReference")
    sub(reference, "cbc", "ID", name)
    return reference


def _attachment(reference: etree._Element, value: str) -> etree._Element:
    return sub(sub(reference, "cac", "Attachment"), "cbc", "EmbeddedDocumentBinaryObject", value, mimeCode="text/plain")


def build(document: Document, amounts: Totals | None = None) -> etree._ElementTree:
    """The unsigned document: every element, with an empty signature slot and an empty QR."""
    amounts = amounts or totals(document.lines)
    currency = document.currency
    root = etree.Element(f"{{{INVOICE}}}Invoice", nsmap={None: INVOICE, "cac": CAC, "cbc": CBC, "ext": EXT})
    extension = sub(sub(root, "ext", "UBLExtensions"), "ext", "UBLExtension")
    sub(extension, "ext", "ExtensionURI", SIGNATURE_METHOD)
    sub(extension, "ext", "ExtensionContent")
    sub(root, "cbc", "ProfileID", PROFILE)
    sub(root, "cbc", "ID", document.number)
    sub(root, "cbc", "UUID", str(document.uuid))
    sub(root, "cbc", "IssueDate", document.issue_date)
    sub(root, "cbc", "IssueTime", document.issue_time)
    sub(root, "cbc", "InvoiceTypeCode", document.kind.value, name=document.transaction.value)
    sub(root, "cbc", "DocumentCurrencyCode", currency)
    sub(root, "cbc", "TaxCurrencyCode", currency)
    if document.billing_reference is not None:
        billing = sub(root, "cac", "BillingReference")
        sub(sub(billing, "cac", "InvoiceDocumentReference"), "cbc", "ID", document.billing_reference)
    sub(_reference(root, "ICV"), "cbc", "UUID", str(document.icv))
    _attachment(_reference(root, "PIH"), document.pih)
    _attachment(_reference(root, "QR"), "")
    signature = sub(root, "cac", "Signature")
    sub(signature, "cbc", "ID", SIGNATURE_ID)
    sub(signature, "cbc", "SignatureMethod", SIGNATURE_METHOD)
    _seller(root, document.seller)
    _buyer(root, document.buyer)
    if document.supply_date is not None:
        delivery = sub(root, "cac", "Delivery")
        sub(delivery, "cbc", "ActualDeliveryDate", document.supply_date.isoformat())
        if document.supply_end_date is not None:
            sub(delivery, "cbc", "LatestDeliveryDate", document.supply_end_date.isoformat())
    means = sub(root, "cac", "PaymentMeans")
    sub(means, "cbc", "PaymentMeansCode", document.payment_means_code)
    if document.kind is not DocumentKind.INVOICE and document.instruction_note is not None:
        sub(means, "cbc", "InstructionNote", document.instruction_note)
    # ZATCA's samples: the first TaxTotal is the VAT in the tax currency (BT-111), the second carries the breakdown.
    _amount(sub(root, "cac", "TaxTotal"), "TaxAmount", amounts.tax, currency)
    breakdown = sub(root, "cac", "TaxTotal")
    _amount(breakdown, "TaxAmount", amounts.tax, currency)
    for subtotal in amounts.subtotals:
        node = sub(breakdown, "cac", "TaxSubtotal")
        _amount(node, "TaxableAmount", subtotal.taxable, currency)
        _amount(node, "TaxAmount", subtotal.tax, currency)
        category = sub(node, "cac", "TaxCategory")
        sub(category, "cbc", "ID", subtotal.category.value, schemeID="UN/ECE 5305", schemeAgencyID="6")
        sub(category, "cbc", "Percent", _percent(subtotal.percent))
        if subtotal.exemption_code is not None and subtotal.exemption_reason is not None:
            sub(category, "cbc", "TaxExemptionReasonCode", subtotal.exemption_code)
            sub(category, "cbc", "TaxExemptionReason", subtotal.exemption_reason)
        scheme = sub(category, "cac", "TaxScheme")
        sub(scheme, "cbc", "ID", "VAT", schemeID="UN/ECE 5153", schemeAgencyID="6")
    monetary = sub(root, "cac", "LegalMonetaryTotal")
    _amount(monetary, "LineExtensionAmount", amounts.line_extension, currency)
    _amount(monetary, "TaxExclusiveAmount", amounts.tax_exclusive, currency)
    _amount(monetary, "TaxInclusiveAmount", amounts.tax_inclusive, currency)
    _amount(monetary, "AllowanceTotalAmount", 0, currency)
    _amount(monetary, "PayableAmount", amounts.payable, currency)
    for index, (line, line_amounts) in enumerate(zip(document.lines, amounts.lines, strict=True), start=1):
        node = sub(root, "cac", "InvoiceLine")
        sub(node, "cbc", "ID", str(index))
        sub(node, "cbc", "InvoicedQuantity", str(line.quantity), unitCode=line.unit_code)
        _amount(node, "LineExtensionAmount", line_amounts.net, currency)
        line_tax = sub(node, "cac", "TaxTotal")
        _amount(line_tax, "TaxAmount", line_amounts.vat, currency)
        _amount(line_tax, "RoundingAmount", line_amounts.gross, currency)
        item = sub(node, "cac", "Item")
        sub(item, "cbc", "Name", line.name)
        category = sub(item, "cac", "ClassifiedTaxCategory")
        sub(category, "cbc", "ID", line.category.value)
        sub(category, "cbc", "Percent", _percent(VAT_PERCENT[line.category]))
        sub(sub(category, "cac", "TaxScheme"), "cbc", "ID", "VAT")
        _amount(sub(node, "cac", "Price"), "PriceAmount", line.unit_price, currency)
    tree = etree.ElementTree(root)
    indent(tree)
    return tree


def indent(tree: etree._ElementTree) -> None:
    etree.indent(tree, space=INDENT)


def find(tree: etree._ElementTree, path: str) -> etree._Element:
    found = tree.getroot().find(path, NAMESPACES)
    if found is None:
        raise ValueError(f"the document has no {path}")
    return found


def qr_slot(tree: etree._ElementTree) -> etree._Element:
    return find(tree, "cac:AdditionalDocumentReference[cbc:ID='QR']/cac:Attachment/cbc:EmbeddedDocumentBinaryObject")


def extension_content(tree: etree._ElementTree) -> etree._Element:
    return find(tree, "ext:UBLExtensions/ext:UBLExtension/ext:ExtensionContent")
