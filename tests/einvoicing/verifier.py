"""An independent check of a signed ZATCA document, written from ZATCA's specification, not from Atlas's code.

It imports nothing of ``atlas``: it re-derives every value from the XML alone — the invoice hash (its own removal of
the three excluded parts and lxml's canonicaliser), the ECDSA signature against the embedded certificate's key, the
certificate digest, issuer and serial, the signed properties' digest (from the raw text, by string surgery rather
than a tree), the totals (with ``Decimal``), the QR's nine tags, and the chain (ICV, PIH). ``check`` returns the list
of what is wrong; an empty list means the document passes.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from decimal import ROUND_HALF_UP, Decimal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

NS = {
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "ext": "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "xades": "http://uri.etsi.org/01903/v1.3.2#",
}
FIRST_PIH = "NWZlY2ViNjZmZmM4NmYzOGQ5NTI3ODZjNmQ2OTZjNzljMmRiYzIzOWRkNGU5MWI0NjcyOWQ3M2EyN2ZiNTdlOQ=="
RATES = {"S": Decimal(15), "Z": Decimal(0), "E": Decimal(0)}
CENT = Decimal("0.01")
SHORT_NAMES = {"2.5.4.3": "CN", "0.9.2342.19200300.100.1.25": "DC", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.6": "C"}


def _text(root: etree._Element, path: str) -> str:
    found = root.find(path, NS)
    if found is None or found.text is None:
        raise AssertionError(f"missing {path}")
    return found.text


def _money(value: str) -> Decimal:
    if not re.fullmatch(r"\d+\.\d{2}", value):
        raise AssertionError(f"amount {value!r} is not a two-decimal SAR amount")
    return Decimal(value)


def recompute_hash(xml: bytes) -> str:
    """ZATCA's invoice hash from scratch: drop the three parts (keeping the text around them), C14N, SHA-256."""
    root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    doomed = [
        child
        for child in root
        if child.tag == f"{{{NS['ext']}}}UBLExtensions"
        or child.tag == f"{{{NS['cac']}}}Signature"
        or (child.tag == f"{{{NS['cac']}}}AdditionalDocumentReference" and child.findtext("cbc:ID", None, NS) == "QR")
    ]
    for child in doomed:
        index = root.index(child)
        keep = child.tail or ""
        if index == 0:
            root.text = (root.text or "") + keep
        else:
            root[index - 1].tail = (root[index - 1].tail or "") + keep
        root.remove(child)
    canonical = etree.tostring(root.getroottree(), method="c14n", exclusive=False, with_comments=False)
    return base64.b64encode(hashlib.sha256(canonical).digest()).decode()


def signed_properties_text(xml: bytes) -> bytes:
    """The xades:SignedProperties element as the raw document has it, with the namespace declarations it inherits
    written where a detached serialisation needs them (xades on the element, ds on each ds element)."""
    text = xml.decode("utf-8")
    match = re.search(r"<xades:SignedProperties\b.*?</xades:SignedProperties>", text, re.DOTALL)
    if match is None:
        raise AssertionError("no xades:SignedProperties")
    element = match.group(0)
    if "xmlns:xades=" not in element.split(">", 1)[0]:
        element = element.replace("<xades:SignedProperties", f'<xades:SignedProperties xmlns:xades="{NS["xades"]}"', 1)
    element = re.sub(r"<ds:(\w+)", lambda m: f'<ds:{m.group(1)} xmlns:ds="{NS["ds"]}"', element)
    return element.encode("utf-8")


def _hex_base64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).hexdigest().encode()).decode()


def _issuer(cert: x509.Certificate) -> str:
    parts = []
    for rdn in reversed(cert.issuer.rdns):
        for attribute in rdn:
            parts.append(f"{SHORT_NAMES[attribute.oid.dotted_string]}={attribute.value}")
    return ", ".join(parts)


def _tlv(payload: str) -> dict[int, bytes]:
    raw = base64.b64decode(payload, validate=True)
    fields: dict[int, bytes] = {}
    at = 0
    while at < len(raw):
        tag, length = raw[at], raw[at + 1]
        fields[tag] = raw[at + 2 : at + 2 + length]
        if len(fields[tag]) != length:
            raise AssertionError("truncated QR")
        at += 2 + length
    return fields


def _round(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def check_totals(root: etree._Element) -> list[str]:
    errors: list[str] = []
    by_category: dict[str, Decimal] = {}
    line_sum = Decimal(0)
    for line in root.findall("cac:InvoiceLine", NS):
        quantity = Decimal(_text(line, "cbc:InvoicedQuantity"))
        price = _money(_text(line, "cac:Price/cbc:PriceAmount"))
        net = _money(_text(line, "cbc:LineExtensionAmount"))
        if quantity <= 0:
            errors.append("a line has a non-positive quantity")
        if _round(quantity * price) != net:
            errors.append(f"line net {net} ≠ {quantity} × {price}")
        category = _text(line, "cac:Item/cac:ClassifiedTaxCategory/cbc:ID")
        vat = _money(_text(line, "cac:TaxTotal/cbc:TaxAmount"))
        if _round(net * RATES[category] / 100) != vat:
            errors.append(f"line VAT {vat} ≠ {net} × {RATES[category]}%")
        if _money(_text(line, "cac:TaxTotal/cbc:RoundingAmount")) != net + vat:
            errors.append("line amount with VAT ≠ net + VAT")
        by_category[category] = by_category.get(category, Decimal(0)) + net
        line_sum += net
    if not by_category:
        errors.append("no lines")
    tax_totals = root.findall("cac:TaxTotal", NS)
    if len(tax_totals) != 2:
        errors.append("expected two document-level TaxTotal elements")
        return errors
    subtotal_tax = Decimal(0)
    seen: dict[str, Decimal] = {}
    for subtotal in tax_totals[1].findall("cac:TaxSubtotal", NS):
        category = _text(subtotal, "cac:TaxCategory/cbc:ID")
        taxable = _money(_text(subtotal, "cbc:TaxableAmount"))
        tax = _money(_text(subtotal, "cbc:TaxAmount"))
        seen[category] = seen.get(category, Decimal(0)) + taxable
        if _round(taxable * RATES[category] / 100) != tax:
            errors.append(f"category {category} tax {tax} ≠ {taxable} × rate")
        subtotal_tax += tax
    if seen != by_category:
        errors.append(f"taxable amounts {seen} ≠ line nets by category {by_category}")
    for tax_total in tax_totals:
        if _money(_text(tax_total, "cbc:TaxAmount")) != subtotal_tax:
            errors.append("a TaxTotal's TaxAmount ≠ Σ TaxSubtotal")
    monetary = root.find("cac:LegalMonetaryTotal", NS)
    assert monetary is not None
    extension = _money(_text(monetary, "cbc:LineExtensionAmount"))
    exclusive = _money(_text(monetary, "cbc:TaxExclusiveAmount"))
    inclusive = _money(_text(monetary, "cbc:TaxInclusiveAmount"))
    payable = _money(_text(monetary, "cbc:PayableAmount"))
    if extension != line_sum:
        errors.append(f"LineExtensionAmount {extension} ≠ Σ lines {line_sum}")
    if exclusive != extension:
        errors.append("TaxExclusiveAmount ≠ LineExtensionAmount")
    if inclusive != exclusive + subtotal_tax:
        errors.append("TaxInclusiveAmount ≠ TaxExclusiveAmount + VAT")
    if payable != inclusive:
        errors.append("PayableAmount ≠ TaxInclusiveAmount")
    for node in root.iter():
        if node.get("currencyID") not in (None, "SAR"):
            errors.append("an amount not in SAR")
    return errors


def check(
    xml: bytes,
    *,
    expected_pih: str,
    expected_icv: int | None = None,
    ca_public_key: ec.EllipticCurvePublicKey | None = None,
) -> list[str]:
    errors: list[str] = []
    root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    if root.tag != f"{{{NS['inv']}}}Invoice":
        return ["the root is not a UBL Invoice"]
    type_code = root.find("cbc:InvoiceTypeCode", NS)
    assert type_code is not None
    if type_code.text not in {"388", "381", "383"}:
        errors.append(f"type code {type_code.text}")
    subtype = type_code.get("name", "")
    if subtype not in {"0100000", "0200000"}:
        errors.append(f"subtype {subtype!r}")
    simplified = subtype.startswith("02")
    if _text(root, "cbc:ProfileID") != "reporting:1.0":
        errors.append("profile is not reporting:1.0")
    uuid.UUID(_text(root, "cbc:UUID"))
    if type_code.text in {"381", "383"}:
        if root.find("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", NS) is None:
            errors.append("a note without its original invoice")
        if root.find("cac:PaymentMeans/cbc:InstructionNote", NS) is None:
            errors.append("a note without its reason")
    buyer_vat = root.find("cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID", NS)
    if not simplified and buyer_vat is None:
        errors.append("a standard document without the buyer's VAT number")

    icv = _text(root, "cac:AdditionalDocumentReference[cbc:ID='ICV']/cbc:UUID")
    if not icv.isdigit() or (expected_icv is not None and int(icv) != expected_icv):
        errors.append(f"ICV {icv} ≠ {expected_icv}")
    pih = _text(root, "cac:AdditionalDocumentReference[cbc:ID='PIH']/cac:Attachment/cbc:EmbeddedDocumentBinaryObject")
    if pih != expected_pih:
        errors.append("PIH is not the previous document's hash")

    invoice_hash = recompute_hash(xml)
    signature = root.find(".//ds:Signature", NS)
    if signature is None:
        return [*errors, "unsigned"]
    reference = signature.find("ds:SignedInfo/ds:Reference[@Id='invoiceSignedData']", NS)
    assert reference is not None
    if _text(reference, "ds:DigestValue") != invoice_hash:
        errors.append("the invoice hash does not match the document")
    transforms = [t.text for t in reference.findall("ds:Transforms/ds:Transform/ds:XPath", NS)]
    if transforms != [
        "not(//ancestor-or-self::ext:UBLExtensions)",
        "not(//ancestor-or-self::cac:Signature)",
        "not(//ancestor-or-self::cac:AdditionalDocumentReference[cbc:ID='QR'])",
    ]:
        errors.append("unexpected transforms")

    certificate_text = _text(signature, "ds:KeyInfo/ds:X509Data/ds:X509Certificate")
    certificate = x509.load_der_x509_certificate(base64.b64decode(certificate_text))
    public_key = certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    if not isinstance(public_key.curve, ec.SECP256K1):
        errors.append("the certificate's key is not secp256k1")
    if ca_public_key is not None:
        try:
            ca_public_key.verify(certificate.signature, certificate.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            errors.append("the certificate is not the CA's")
    try:
        public_key.verify(
            base64.b64decode(_text(signature, "ds:SignatureValue")),
            base64.b64decode(invoice_hash),
            ec.ECDSA(hashes.SHA256()),
        )
    except InvalidSignature:
        errors.append("the signature does not verify with the certificate's key")

    properties = signature.find("ds:Object/xades:QualifyingProperties/xades:SignedProperties", NS)
    assert properties is not None
    cert_path = "xades:SignedSignatureProperties/xades:SigningCertificate/xades:Cert/"
    if _text(properties, cert_path + "xades:CertDigest/ds:DigestValue") != _hex_base64(certificate_text.encode()):
        errors.append("the certificate digest does not match the certificate")
    if _text(properties, cert_path + "xades:IssuerSerial/ds:X509IssuerName") != _issuer(certificate):
        errors.append("the issuer name does not match the certificate")
    if int(_text(properties, cert_path + "xades:IssuerSerial/ds:X509SerialNumber")) != certificate.serial_number:
        errors.append("the serial number does not match the certificate")
    properties_reference = signature.find("ds:SignedInfo/ds:Reference[@URI='#xadesSignedProperties']", NS)
    assert properties_reference is not None
    if _text(properties_reference, "ds:DigestValue") != _hex_base64(signed_properties_text(xml)):
        errors.append("the signed properties digest does not match")

    errors.extend(check_totals(root))

    qr = _text(root, "cac:AdditionalDocumentReference[cbc:ID='QR']/cac:Attachment/cbc:EmbeddedDocumentBinaryObject")
    if len(qr) > 700:
        errors.append("QR longer than 700 characters")
    tags = _tlv(qr)
    supplier = "cac:AccountingSupplierParty/cac:Party/"
    expected_tags = {
        1: _text(root, supplier + "cac:PartyLegalEntity/cbc:RegistrationName").encode(),
        2: _text(root, supplier + "cac:PartyTaxScheme/cbc:CompanyID").encode(),
        3: f"{_text(root, 'cbc:IssueDate')}T{_text(root, 'cbc:IssueTime')}".encode(),
        4: _text(root, "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount").encode(),
        5: _text(root, "cac:TaxTotal/cbc:TaxAmount").encode(),
        6: invoice_hash.encode(),
        7: _text(signature, "ds:SignatureValue").encode(),
        8: public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
    }
    if simplified:
        expected_tags[9] = certificate.signature
    for tag, value in expected_tags.items():
        if tags.get(tag) != value:
            errors.append(f"QR tag {tag} is wrong")
    if set(tags) != set(expected_tags):
        errors.append(f"QR tags {sorted(tags)} ≠ {sorted(expected_tags)}")
    return errors
