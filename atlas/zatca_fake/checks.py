"""ZATCA's checks of one submitted document, apart from HTTP and from the chain (see `chain`).

In order: the body (base64, UUID, hash), well-formedness and the structure ZATCA's UBL 2.1 profile requires, the
invoice hash, the XAdES signature and its certificate, the QR code, and the totals. Each failure is a message in
ZATCA's form. The UBL 2.1 XSDs are not shipped by any package this machine can install, so the structure is
checked element by element (what the XSDs and ZATCA's rules require of these documents), not by the schema.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import uuid as uuid_module
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

from atlas.zatca_fake.ca import Authority, read_taxpayer
from atlas.zatca_fake.messages import Message, Results, error, warning
from atlas.zatca_fake.ubl import NS, amount, b64, invoice_hash, parse, read_tlv, round2, text

XSD: Final = "XSD validation"
SUBTYPE: Final = re.compile(r"^0[12][01]{5}$")
DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME: Final = re.compile(r"^\d{2}:\d{2}:\d{2}Z?$")
KSA: Final = timezone(timedelta(hours=3))  # ZATCA judges "today" in Saudi Arabia (UTC+3, no daylight saving)
VAT: Final = re.compile(r"^3\d{13}3$")
TYPE_CODES: Final = {"388": "invoice", "381": "credit note", "383": "debit note"}
SIGNED_PROPERTIES: Final = "ds:Object/xades:QualifyingProperties/xades:SignedProperties"
STANDARD_VAT_PERCENT: Final = Decimal(15)


@dataclass
class Document:
    """What the gateway read from a submitted document, with the messages its checks produced."""

    results: Results = field(default_factory=Results)
    root: etree._Element | None = None
    uuid: str | None = None
    invoice_hash: str | None = None
    kind: str | None = None  # "standard" or "simplified"
    type_code: str | None = None
    icv: int | None = None
    pih: str | None = None
    certificate: x509.Certificate | None = None
    signature_ok: bool = False
    number: str | None = None

    @property
    def type_key(self) -> str | None:
        return f"{self.kind}:{self.type_code}" if self.kind and self.type_code else None


def decode_body(body: dict[str, object]) -> tuple[bytes | None, Results]:
    """The XML bytes from the request's `invoice` (base64)."""
    results = Results()
    raw = body.get("invoice")
    if not isinstance(raw, str) or not raw:
        results.add(error("invoice", XSD, "The invoice is missing from the request body"))
        return None, results
    try:
        return base64.b64decode(raw, validate=True), results
    except (binascii.Error, ValueError):
        results.add(error("invoice", XSD, "The invoice is not valid base64"))
        return None, results


def inspect(
    data: bytes,
    body: dict[str, object],
    *,
    authority: Authority,
    certificate: x509.Certificate | None,
    validate: bool = True,
    now: datetime | None = None,
) -> Document:
    """Read and (when `validate`) check one document. `certificate` is the CSID the request authenticated with:
    the document must be signed with it."""
    doc = Document()
    try:
        doc.root = parse(data)
    except etree.XMLSyntaxError as exc:
        doc.results.add(error("XSD_ZATCA_INVALID", XSD, f"The invoice is not well-formed XML: {exc}"))
        return doc
    root = doc.root
    doc.uuid = text(root, "cbc:UUID")
    doc.number = text(root, "cbc:ID")
    doc.type_code = text(root, "cbc:InvoiceTypeCode")
    subtype = text(root, "cbc:InvoiceTypeCode/@name") or ""
    doc.kind = {"01": "standard", "02": "simplified"}.get(subtype[:2])
    icv = text(root, "cac:AdditionalDocumentReference[cbc:ID='ICV']/cbc:UUID")
    doc.icv = int(icv) if icv and icv.isdigit() else None
    doc.pih = text(
        root, "cac:AdditionalDocumentReference[cbc:ID='PIH']/cac:Attachment/cbc:EmbeddedDocumentBinaryObject"
    )
    doc.invoice_hash = b64(invoice_hash(root))
    doc.certificate = _certificate(root)
    if not validate:
        doc.signature_ok = True
        return doc
    results = doc.results
    results.extend(_body(body, doc))
    results.extend(_structure(root, doc))
    if any(m.category == XSD for m in results.errors):
        return doc
    results.extend(_signature(root, doc, authority, certificate, now or datetime.now(UTC)))
    results.extend(_qr(root, doc))
    results.extend(_totals(root))
    return doc


def _body(body: dict[str, object], doc: Document) -> list[Message]:
    found: list[Message] = []
    if body.get("uuid") != doc.uuid:
        found.append(error("invalid-uuid", "UUID_ERRORS", "The UUID in the API body does not match the invoice UUID"))
    if body.get("invoiceHash") != doc.invoice_hash:
        found.append(
            error(
                "invalid-invoice-hash",
                "INVOICE_HASHING_ERRORS",
                "The invoice hash API body does not match the (calculated) Hash of the XML",
            )
        )
    return found


def _structure(root: etree._Element, doc: Document) -> list[Message]:
    """The elements and values ZATCA's profile of UBL 2.1 requires (what its XSD and BR-KSA rules check)."""
    found: list[Message] = []

    def need(condition: bool, code: str, message: str, category: str = XSD) -> None:
        if not condition:
            found.append(error(code, category, message))

    need(
        etree.QName(root).namespace == NS["inv"] and etree.QName(root).localname == "Invoice",
        "XSD_ZATCA_INVALID",
        "The root element must be urn:oasis:names:specification:ubl:schema:xsd:Invoice-2 Invoice",
    )
    need(text(root, "cbc:ProfileID") == "reporting:1.0", "XSD_ZATCA_INVALID", "cbc:ProfileID must be reporting:1.0")
    need(bool(doc.number), "XSD_ZATCA_INVALID", "cbc:ID (the invoice number) is required")
    try:
        uuid_module.UUID(doc.uuid or "")
    except ValueError:
        found.append(error("XSD_ZATCA_INVALID", XSD, "cbc:UUID must be a UUID"))
    need(bool(DATE.match(text(root, "cbc:IssueDate") or "")), "XSD_ZATCA_INVALID", "cbc:IssueDate must be YYYY-MM-DD")
    need(bool(TIME.match(text(root, "cbc:IssueTime") or "")), "XSD_ZATCA_INVALID", "cbc:IssueTime must be hh:mm:ss")
    issued = text(root, "cbc:IssueDate") or ""
    need(
        not DATE.match(issued) or issued <= datetime.now(KSA).date().isoformat(),
        "BR-KSA-04",
        "[BR-KSA-04]-The document issue date (BT-2) must be less or equal to the current date.",
        "KSA",
    )
    need(doc.type_code in TYPE_CODES, "BR-KSA-05", "[BR-KSA-05]-The invoice type code must be 388, 381 or 383", "KSA")
    need(
        bool(SUBTYPE.match(text(root, "cbc:InvoiceTypeCode/@name") or "")),
        "BR-KSA-06",
        "[BR-KSA-06]-The invoice transaction code must be NNPNESB (01 standard or 02 simplified, then 0/1 flags)",
        "KSA",
    )
    need(
        text(root, "cbc:DocumentCurrencyCode") is not None, "XSD_ZATCA_INVALID", "cbc:DocumentCurrencyCode is required"
    )
    need(
        text(root, "cbc:TaxCurrencyCode") == "SAR", "BR-KSA-68", "[BR-KSA-68]-The tax currency code must be SAR", "KSA"
    )
    need(doc.icv is not None, "BR-KSA-33", "[BR-KSA-33]-The invoice counter value (ICV) must be a whole number", "KSA")
    need(
        bool(doc.pih) and _is_base64(doc.pih or ""),
        "BR-KSA-26",
        "[BR-KSA-26]-The previous invoice hash (PIH) must be present and base64 encoded",
        "KSA",
    )
    need(
        text(root, "cac:Signature/cbc:ID") == "urn:oasis:names:specification:ubl:signature:Invoice"
        and text(root, "cac:Signature/cbc:SignatureMethod") == "urn:oasis:names:specification:ubl:dsig:enveloped:xades",
        "BR-KSA-60",
        "[BR-KSA-60]-cac:Signature must name the invoice signature and the XAdES method",
        "KSA",
    )
    need(
        root.find("ext:UBLExtensions", NS) is not None and _signature_element(root) is not None,
        "XSD_ZATCA_INVALID",
        "ext:UBLExtensions must hold the XAdES signature (ds:Signature)",
    )
    supplier = "cac:AccountingSupplierParty/cac:Party/"
    seller_vat = text(root, supplier + "cac:PartyTaxScheme/cbc:CompanyID") or ""
    need(
        bool(VAT.match(seller_vat)),
        "BR-KSA-39",
        "[BR-KSA-39]-The seller's VAT number must be 15 digits starting and ending with 3",
        "KSA",
    )
    need(
        bool(text(root, supplier + "cac:PartyLegalEntity/cbc:RegistrationName")),
        "BR-06",
        "[BR-06]-An Invoice shall contain the Seller name",
        "EN_16931",
    )
    for element in (
        "cbc:StreetName",
        "cbc:BuildingNumber",
        "cbc:CityName",
        "cbc:PostalZone",
        "cac:Country/cbc:IdentificationCode",
    ):
        need(
            bool(text(root, supplier + "cac:PostalAddress/" + element)),
            "BR-KSA-09",
            f"[BR-KSA-09]-The seller's address must contain {element.split(':')[-1]}",
            "KSA",
        )
    customer = "cac:AccountingCustomerParty/cac:Party/"
    if doc.kind == "standard":
        need(
            bool(text(root, customer + "cac:PartyLegalEntity/cbc:RegistrationName")),
            "BR-KSA-42",
            "[BR-KSA-42]-A standard tax invoice must contain the buyer's name",
            "KSA",
        )
        need(
            root.find(customer.rstrip("/") + "/cac:PostalAddress", NS) is not None,
            "BR-KSA-10",
            "[BR-KSA-10]-A standard tax invoice must contain the buyer's address",
            "KSA",
        )
        if doc.type_code == "388":
            need(
                bool(text(root, "cac:Delivery/cbc:ActualDeliveryDate")),
                "BR-KSA-15",
                "[BR-KSA-15]-A standard tax invoice must contain the supply date",
                "KSA",
            )
    if doc.kind == "simplified":
        need(
            root.find("cac:AdditionalDocumentReference[cbc:ID='QR']", NS) is not None,
            "BR-KSA-27",
            "[BR-KSA-27]-A simplified invoice must contain the QR code",
            "KSA",
        )
    if doc.type_code in ("381", "383"):
        need(
            bool(text(root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID")),
            "BR-KSA-56",
            "[BR-KSA-56]-A credit or debit note must reference the original invoice",
            "KSA",
        )
        need(
            bool(text(root, "cac:PaymentMeans/cbc:InstructionNote")),
            "BR-KSA-17",
            "[BR-KSA-17]-A credit or debit note must state the reason for its issuance",
            "KSA",
        )
    need(
        bool(root.findall("cac:InvoiceLine", NS)),
        "BR-16",
        "[BR-16]-An Invoice shall have at least one line",
        "EN_16931",
    )
    for path in (
        "cac:LegalMonetaryTotal/cbc:LineExtensionAmount",
        "cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount",
        "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount",
        "cac:LegalMonetaryTotal/cbc:PayableAmount",
        "cac:TaxTotal/cbc:TaxAmount",
    ):
        need(amount(root, path) is not None, "XSD_ZATCA_INVALID", f"{path} must be an amount")
    return found


def _is_base64(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _signature_element(root: etree._Element) -> etree._Element | None:
    found = root.xpath(
        "ext:UBLExtensions/ext:UBLExtension/ext:ExtensionContent/sig:UBLDocumentSignatures/"
        "sac:SignatureInformation/ds:Signature",
        namespaces=NS,
    )
    return found[0] if found else None


def _certificate(root: etree._Element) -> x509.Certificate | None:
    signature = _signature_element(root)
    if signature is None:
        return None
    value = text(signature, "ds:KeyInfo/ds:X509Data/ds:X509Certificate")
    try:
        return x509.load_der_x509_certificate(base64.b64decode("".join((value or "").split())))
    except (ValueError, binascii.Error):
        return None


def _escape_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attribute(value: str) -> str:
    return _escape_text(value).replace('"', "&quot;")


def _as_sent(element: etree._Element, parent_namespace: str | None) -> str:
    """``element`` written as ZATCA's SDK hashes its signed properties: the text exactly as it stands (the
    document's whitespace included, not canonicalised), each element declaring its own namespace where it differs
    from its parent's (so ``xmlns:xades`` on the top and ``xmlns:ds`` on every ``ds:`` element inside), attributes
    in document order, empty elements as ``<x/>``. ZATCA's own signed samples (the SDK's Data/Samples) carry
    digests of exactly this form; neither C14N form reproduces them."""
    qname = etree.QName(element)
    prefix = element.prefix
    name = f"{prefix}:{qname.localname}" if prefix else qname.localname
    parts = [f"<{name}"]
    if qname.namespace != parent_namespace and qname.namespace is not None:
        parts.append(f' xmlns:{prefix}="{qname.namespace}"' if prefix else f' xmlns="{qname.namespace}"')
    for key, value in element.attrib.items():
        parts.append(f' {etree.QName(key).localname}="{_escape_attribute(value)}"')
    children = list(element)
    if element.text is None and not children:
        parts.append("/>")
    else:
        parts.append(">")
        parts.append(_escape_text(element.text or ""))
        for child in children:
            parts.append(_as_sent(child, qname.namespace))
            parts.append(_escape_text(child.tail or ""))
        parts.append(f"</{name}>")
    return "".join(parts)


def signed_properties_forms(properties: etree._Element) -> set[str]:
    """Every digest of the signed properties the gateway accepts: the SDK's form (as sent), and both C14N forms
    (as XMLDSig would compute it), each as base64 of the hex digest or of the raw digest."""
    return (
        digest_forms(_as_sent(properties, None).encode("utf-8"))
        | digest_forms(etree.tostring(properties, method="c14n", exclusive=True))
        | digest_forms(etree.tostring(properties, method="c14n", exclusive=False))
    )


def digest_forms(data: bytes) -> set[str]:
    """A SHA-256 digest as ZATCA writes it (base64 of the hex digest) and as XMLDSig does (base64 of the bytes)."""
    digest = hashlib.sha256(data)
    return {b64(digest.hexdigest().encode()), b64(digest.digest())}


def _signature(
    root: etree._Element, doc: Document, authority: Authority, expected: x509.Certificate | None, now: datetime
) -> list[Message]:
    found: list[Message] = []
    signature = _signature_element(root)
    assert signature is not None  # the structure check requires it
    certificate = doc.certificate
    computed = doc.invoice_hash or ""
    reference = text(signature, "ds:SignedInfo/ds:Reference[@URI='']/ds:DigestValue")
    if reference != computed:
        found.append(
            error(
                "invalid-invoice-hash",
                "INVOICE_HASHING_ERRORS",
                "The signature's invoice digest does not match the (calculated) Hash of the XML",
            )
        )
    properties = signature.xpath(SIGNED_PROPERTIES, namespaces=NS)
    declared = text(signature, "ds:SignedInfo/ds:Reference[@URI='#xadesSignedProperties']/ds:DigestValue")
    if not properties or declared is None or declared not in signed_properties_forms(properties[0]):
        found.append(
            error(
                "signed-properties-hashing",
                "CERTIFICATE_ERRORS",
                "Invalid signed properties hashing, SignedProperties with id='xadesSignedProperties'",
            )
        )
    if certificate is None:
        found.append(
            error(
                "certificate-missing", "CERTIFICATE_ERRORS", "The signature does not carry a readable X509 certificate"
            )
        )
        return found
    der = certificate.public_bytes(serialization.Encoding.DER)
    cert_digest = text(
        signature,
        SIGNED_PROPERTIES + "/xades:SignedSignatureProperties/xades:SigningCertificate/"
        "xades:Cert/xades:CertDigest/ds:DigestValue",
    )
    if cert_digest not in digest_forms(der) | digest_forms(b64(der).encode()):
        found.append(
            error(
                "certificate-hashing",
                "CERTIFICATE_ERRORS",
                "The signing certificate's digest does not match the X509 certificate",
            )
        )
    serial = text(
        signature,
        SIGNED_PROPERTIES + "/xades:SignedSignatureProperties/xades:SigningCertificate/"
        "xades:Cert/xades:IssuerSerial/ds:X509SerialNumber",
    )
    if serial != str(certificate.serial_number):
        found.append(
            error(
                "certificate-issuer-serial",
                "CERTIFICATE_ERRORS",
                "The X509 serial number in the signed properties is not the certificate's",
            )
        )
    if not authority.issued(certificate):
        found.append(
            error(
                "certificate-issuer",
                "CERTIFICATE_ERRORS",
                "The certificate was not issued by ZATCA's certificate authority",
            )
        )
    elif not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        found.append(error("certificate-expired", "CERTIFICATE_ERRORS", "The certificate is expired or not yet valid"))
    elif expected is not None and certificate != expected:
        found.append(
            error(
                "certificate-permissions",
                "CERTIFICATE_ERRORS",
                "The document is not signed with the CSID used to submit it",
            )
        )
    try:
        taxpayer_vat = read_taxpayer(certificate.extensions, certificate.subject).vat_number
    except Exception:
        taxpayer_vat = ""
    seller_vat = text(root, "cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID")
    if taxpayer_vat != seller_vat:
        found.append(
            error(
                "certificate-vat-number",
                "CERTIFICATE_ERRORS",
                "The seller's VAT number is not the one the certificate was issued to",
            )
        )
    key = certificate.public_key()
    value = text(signature, "ds:SignatureValue") or ""
    try:
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise InvalidSignature
        # ZATCA's stamp is ECDSA-SHA256 over the invoice hash's 32 bytes (its SDK and the QR's tag 7).
        key.verify(base64.b64decode(value), base64.b64decode(computed), ec.ECDSA(hashes.SHA256()))
        doc.signature_ok = not found
    except (InvalidSignature, ValueError, binascii.Error):
        found.append(
            error(
                "invalid-signature",
                "SIGNATURE_ERRORS",
                "The invoice signature does not verify with the certificate's public key",
            )
        )
    return found


def _qr(root: etree._Element, doc: Document) -> list[Message]:
    """Tags 1-9 (9 simplified only), each compared with the XML and the signature."""
    raw = text(root, "cac:AdditionalDocumentReference[cbc:ID='QR']/cac:Attachment/cbc:EmbeddedDocumentBinaryObject")
    if raw is None:
        return []
    invalid = error(
        "QRCODE_INVALID", "QRCODE_VALIDATION", "Invalid QR code format, Please follow the ZATCA QR code specifications"
    )
    if len(raw) > 1000:
        return [
            error(
                "BR-CL-KSA-14",
                "KSA",
                "[KSA-14]Field character limit for QR Code field has been exceeded. "
                "The maximum character limit for this field is 1000 characters.",
            )
        ]
    try:
        tags = read_tlv(base64.b64decode(raw, validate=True))
    except (ValueError, binascii.Error):
        return [invalid]
    wanted = range(1, 10) if doc.kind == "simplified" else range(1, 9)
    if any(tag not in tags for tag in wanted):
        return [invalid]
    found: list[Message] = []

    def value(tag: int) -> str:
        return tags[tag].decode("utf-8", "replace")

    supplier = "cac:AccountingSupplierParty/cac:Party/"
    if value(1) != text(root, supplier + "cac:PartyLegalEntity/cbc:RegistrationName"):
        found.append(error("sellerName_QRCODE_INVALID", "QRCODE_VALIDATION", "Seller name does not match the XML"))
    if value(2) != text(root, supplier + "cac:PartyTaxScheme/cbc:CompanyID"):
        found.append(error("vatNumber_QRCODE_INVALID", "QRCODE_VALIDATION", "VAT number does not match the XML"))
    stamp = f"{text(root, 'cbc:IssueDate')}T{(text(root, 'cbc:IssueTime') or '').rstrip('Z')}"
    if value(3).rstrip("Z") != stamp:
        found.append(error("timestamp_QRCODE_INVALID", "QRCODE_VALIDATION", "Timestamp does not match the XML"))
    if not _same_amount(value(4), amount(root, "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount")):
        found.append(error("totalWithVat_QRCODE_INVALID", "QRCODE_VALIDATION", "Total with VAT does not match the XML"))
    if not _same_amount(value(5), _document_vat(root)):
        found.append(error("vatTotal_QRCODE_INVALID", "QRCODE_VALIDATION", "VAT total does not match the XML"))
    if value(6) != doc.invoice_hash:
        found.append(
            error(
                "invoiceHash_QRCODE_INVALID",
                "QRCODE_VALIDATION",
                "Invoice xml hash does not match with qr code invoice xml hash",
            )
        )
    signature = _signature_element(root)
    signature_value = text(signature, "ds:SignatureValue") if signature is not None else None
    if value(7) != "".join((signature_value or "").split()):
        found.append(
            error(
                "signature_QRCODE_INVALID",
                "QRCODE_VALIDATION",
                "Invoice signature does not match with qr code signature",
            )
        )
    certificate = doc.certificate
    if certificate is not None:
        public_key = certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if tags[8] != public_key:
            found.append(
                error(
                    "publicKey_QRCODE_INVALID", "QRCODE_VALIDATION", "Public key does not match with qr code public key"
                )
            )
        if doc.kind == "simplified" and tags[9] != certificate.signature:
            found.append(
                error(
                    "certificateSignature_QRCODE_INVALID",
                    "QRCODE_VALIDATION",
                    "Certificate signature does not match with qr code certificate signature",
                )
            )
    return found


def _same_amount(text_value: str, expected: Decimal | None) -> bool:
    try:
        return expected is not None and Decimal(text_value) == expected
    except ArithmeticError:
        return False


def _document_vat(root: etree._Element) -> Decimal | None:
    """The VAT total in SAR: the TaxTotal without subtotals (ZATCA has two: with breakdown, and in SAR)."""
    plain = amount(root, "cac:TaxTotal[not(cac:TaxSubtotal)]/cbc:TaxAmount")
    return plain if plain is not None else amount(root, "cac:TaxTotal[cac:TaxSubtotal]/cbc:TaxAmount")


def _totals(root: etree._Element) -> list[Message]:
    """Line amounts, VAT at the category's rate with ZATCA's rounding (half up to 2 places), and the totals."""
    found: list[Message] = []
    zero = Decimal(0)
    line_sum = zero
    for line in root.findall("cac:InvoiceLine", NS):
        line_id = text(line, "cbc:ID") or "?"
        quantity = amount(line, "cbc:InvoicedQuantity")
        price = amount(line, "cac:Price/cbc:PriceAmount")
        base = amount(line, "cac:Price/cbc:BaseQuantity") or Decimal(1)
        net = amount(line, "cbc:LineExtensionAmount")
        vat = amount(line, "cac:TaxTotal/cbc:TaxAmount")
        with_vat = amount(line, "cac:TaxTotal/cbc:RoundingAmount")
        percent = amount(line, "cac:Item/cac:ClassifiedTaxCategory/cbc:Percent")
        category = text(line, "cac:Item/cac:ClassifiedTaxCategory/cbc:ID")
        if None in (quantity, price, net, vat, percent):
            found.append(error("XSD_ZATCA_INVALID", XSD, f"Line {line_id} lacks a quantity, price, amount or VAT"))
            continue
        assert quantity is not None
        assert price is not None
        assert net is not None
        assert vat is not None
        assert percent is not None
        allowances = sum(
            (
                amount(a, "cbc:Amount") or zero
                for a in line.xpath("cac:AllowanceCharge[cbc:ChargeIndicator='false']", namespaces=NS)
            ),
            zero,
        )
        charges = sum(
            (
                amount(a, "cbc:Amount") or zero
                for a in line.xpath("cac:AllowanceCharge[cbc:ChargeIndicator='true']", namespaces=NS)
            ),
            zero,
        )
        if round2(quantity * price / base - allowances + charges) != net:
            found.append(
                error(
                    "BR-KSA-EN16931-11",
                    "KSA",
                    f"[BR-KSA-EN16931-11]-Line {line_id}: the net amount "
                    "must be the quantity times the price, less allowances, plus charges",
                )
            )
        if category == "S" and percent != STANDARD_VAT_PERCENT:
            found.append(error("BR-KSA-18", "KSA", f"[BR-KSA-18]-Line {line_id}: the standard VAT rate is 15%"))
        if round2(net * percent / 100) != vat:
            found.append(
                error(
                    "BR-KSA-50",
                    "KSA",
                    f"[BR-KSA-50]-Line {line_id}: the line VAT amount must be the "
                    "line net amount times the VAT rate, rounded to 2 decimals",
                )
            )
        if with_vat is not None and with_vat != net + vat:
            found.append(
                error(
                    "BR-KSA-51",
                    "KSA",
                    f"[BR-KSA-51]-Line {line_id}: the line amount with VAT must "
                    "be the line net amount plus the line VAT amount",
                )
            )
        line_sum += net
    totals = "cac:LegalMonetaryTotal/"
    line_total = amount(root, totals + "cbc:LineExtensionAmount") or zero
    exclusive = amount(root, totals + "cbc:TaxExclusiveAmount") or zero
    inclusive = amount(root, totals + "cbc:TaxInclusiveAmount") or zero
    payable = amount(root, totals + "cbc:PayableAmount") or zero
    prepaid = amount(root, totals + "cbc:PrepaidAmount") or zero
    rounding = amount(root, totals + "cbc:PayableRoundingAmount") or zero
    doc_allowances = sum(
        (
            amount(a, "cbc:Amount") or zero
            for a in root.xpath("cac:AllowanceCharge[cbc:ChargeIndicator='false']", namespaces=NS)
        ),
        zero,
    )
    doc_charges = sum(
        (
            amount(a, "cbc:Amount") or zero
            for a in root.xpath("cac:AllowanceCharge[cbc:ChargeIndicator='true']", namespaces=NS)
        ),
        zero,
    )
    if line_total != line_sum:
        found.append(
            error(
                "BR-CO-10",
                "EN_16931",
                "[BR-CO-10]-Sum of Invoice line net amount (BT-106) = Σ Invoice line net amount (BT-131).",
            )
        )
    if exclusive != line_total - doc_allowances + doc_charges:
        found.append(
            error(
                "BR-CO-13",
                "EN_16931",
                "[BR-CO-13]-Invoice total amount without VAT (BT-109) = Σ "
                "Invoice line net amount (BT-131) - Sum of allowances on document level (BT-107) + Sum "
                "of charges on document level (BT-108).",
            )
        )
    subtotal_vat = zero
    for subtotal in root.xpath("cac:TaxTotal/cac:TaxSubtotal", namespaces=NS):
        taxable = amount(subtotal, "cbc:TaxableAmount") or zero
        tax = amount(subtotal, "cbc:TaxAmount") or zero
        percent = amount(subtotal, "cac:TaxCategory/cbc:Percent") or zero
        if round2(taxable * percent / 100) != tax:
            found.append(
                error(
                    "BR-CO-17",
                    "EN_16931",
                    "[BR-CO-17]-VAT category tax amount (BT-117) = VAT "
                    "category taxable amount (BT-116) x (VAT category rate (BT-119) / 100), rounded to "
                    "two decimals.",
                )
            )
        subtotal_vat += tax
    breakdown = amount(root, "cac:TaxTotal[cac:TaxSubtotal]/cbc:TaxAmount")
    if breakdown is None or breakdown != subtotal_vat:
        found.append(
            error(
                "BR-CO-14",
                "EN_16931",
                "[BR-CO-14]-Invoice total VAT amount (BT-110) = Σ VAT category tax amount (BT-117).",
            )
        )
    vat_total = _document_vat(root) or zero
    if vat_total != (breakdown or zero):
        found.append(
            error(
                "BR-KSA-EN16931-09",
                "KSA",
                "[BR-KSA-EN16931-09]-The VAT total in SAR must equal the VAT total of the breakdown",
            )
        )
    if inclusive != exclusive + vat_total:
        found.append(
            error(
                "BR-CO-15",
                "EN_16931",
                "[BR-CO-15]-Invoice total amount with VAT (BT-112) = Invoice "
                "total amount without VAT (BT-109) + Invoice total VAT amount (BT-110).",
            )
        )
    if payable != inclusive - prepaid + rounding:
        found.append(
            error(
                "BR-CO-16",
                "EN_16931",
                "[BR-CO-16]-Amount due for payment (BT-115) = Invoice total "
                "amount with VAT (BT-112) -Paid amount (BT-113) +Rounding amount (BT-114).",
            )
        )
    if payable < zero:
        found.append(warning("BR-CO-25", "EN_16931", "[BR-CO-25]-The amount due for payment is negative"))
    return found
