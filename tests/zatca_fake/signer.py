"""A small ZATCA signer for the gateway's tests, written from ZATCA's specification (not from the gateway's code,
and not from `atlas.einvoicing`): a CSR, UBL 2.1 documents, the invoice hash, the XAdES signature and the QR.

- `make_csr(...)`: an ECDSA secp256k1 key and a CSR with ZATCA's subject and extensions;
- `Unit`: an invoicing unit's key, certificate and chain (ICV, PIH); `unit.document(...)` builds and signs one.
"""

from __future__ import annotations

import base64
import hashlib
import uuid as uuid_module
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier
from lxml import etree

VAT = "399999999900003"
FIRST_PIH = base64.b64encode(hashlib.sha256(b"0").hexdigest().encode()).decode()
N = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "ext": "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2",
    "sig": "urn:oasis:names:specification:ubl:schema:xsd:CommonSignatureComponents-2",
    "sac": "urn:oasis:names:specification:ubl:schema:xsd:SignatureAggregateComponents-2",
    "sbc": "urn:oasis:names:specification:ubl:schema:xsd:SignatureBasicComponents-2",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "xades": "http://uri.etsi.org/01903/v1.3.2#",
}


def _der_utf8(value: str) -> bytes:
    raw = value.encode()
    return bytes([0x0C, len(raw)]) + raw


def make_csr(
    *,
    template: str = "TSTZATCA-Code-Signing",
    vat: str = VAT,
    title: str = "1100",
    serial: str = "1-Atlas|2-Billing|3-unit-1",
    key: ec.EllipticCurvePrivateKey | None = None,
) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    key = key or ec.generate_private_key(ec.SECP256K1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "SA"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Riyadh Branch"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Atlas Test Co"),
            x509.NameAttribute(NameOID.COMMON_NAME, "atlas-unit-1"),
        ]
    )
    directory = x509.Name(
        [
            x509.NameAttribute(NameOID.SURNAME, serial),
            x509.NameAttribute(ObjectIdentifier("0.9.2342.19200300.100.1.1"), vat),
            x509.NameAttribute(NameOID.TITLE, title),
            x509.NameAttribute(ObjectIdentifier("2.5.4.26"), "RRRD2929"),
            x509.NameAttribute(NameOID.BUSINESS_CATEGORY, "Software"),
        ]
    )
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject)
        .add_extension(
            x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.311.20.2"), _der_utf8(template)), critical=False
        )
        .add_extension(x509.SubjectAlternativeName([x509.DirectoryName(directory)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, csr.public_bytes(serialization.Encoding.PEM)


def money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


INVOICE_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
         xmlns:cac="{cac}" xmlns:cbc="{cbc}" xmlns:ext="{ext}">
    <ext:UBLExtensions>
        <ext:UBLExtension>
            <ext:ExtensionURI>urn:oasis:names:specification:ubl:dsig:enveloped:xades</ext:ExtensionURI>
            <ext:ExtensionContent>SIGNATURE_PLACEHOLDER</ext:ExtensionContent>
        </ext:UBLExtension>
    </ext:UBLExtensions>
    <cbc:ProfileID>reporting:1.0</cbc:ProfileID>
    <cbc:ID>{number}</cbc:ID>
    <cbc:UUID>{uuid}</cbc:UUID>
    <cbc:IssueDate>{date}</cbc:IssueDate>
    <cbc:IssueTime>{time}</cbc:IssueTime>
    <cbc:InvoiceTypeCode name="{subtype}">{type_code}</cbc:InvoiceTypeCode>
    <cbc:DocumentCurrencyCode>SAR</cbc:DocumentCurrencyCode>
    <cbc:TaxCurrencyCode>SAR</cbc:TaxCurrencyCode>{billing}
    <cac:AdditionalDocumentReference>
        <cbc:ID>ICV</cbc:ID>
        <cbc:UUID>{icv}</cbc:UUID>
    </cac:AdditionalDocumentReference>
    <cac:AdditionalDocumentReference>
        <cbc:ID>PIH</cbc:ID>
        <cac:Attachment>
            <cbc:EmbeddedDocumentBinaryObject mimeCode="text/plain">{pih}</cbc:EmbeddedDocumentBinaryObject>
        </cac:Attachment>
    </cac:AdditionalDocumentReference>
    <cac:AdditionalDocumentReference>
        <cbc:ID>QR</cbc:ID>
        <cac:Attachment>
            <cbc:EmbeddedDocumentBinaryObject mimeCode="text/plain">QR_PLACEHOLDER</cbc:EmbeddedDocumentBinaryObject>
        </cac:Attachment>
    </cac:AdditionalDocumentReference>
    <cac:Signature>
        <cbc:ID>urn:oasis:names:specification:ubl:signature:Invoice</cbc:ID>
        <cbc:SignatureMethod>urn:oasis:names:specification:ubl:dsig:enveloped:xades</cbc:SignatureMethod>
    </cac:Signature>
    <cac:AccountingSupplierParty>
        <cac:Party>
            <cac:PartyIdentification><cbc:ID schemeID="CRN">1010010000</cbc:ID></cac:PartyIdentification>
            <cac:PostalAddress>
                <cbc:StreetName>King Fahd Road</cbc:StreetName>
                <cbc:BuildingNumber>1234</cbc:BuildingNumber>
                <cbc:CitySubdivisionName>Al Olaya</cbc:CitySubdivisionName>
                <cbc:CityName>Riyadh</cbc:CityName>
                <cbc:PostalZone>12211</cbc:PostalZone>
                <cac:Country><cbc:IdentificationCode>SA</cbc:IdentificationCode></cac:Country>
            </cac:PostalAddress>
            <cac:PartyTaxScheme>
                <cbc:CompanyID>{seller_vat}</cbc:CompanyID>
                <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme>
            </cac:PartyTaxScheme>
            <cac:PartyLegalEntity><cbc:RegistrationName>{seller}</cbc:RegistrationName></cac:PartyLegalEntity>
        </cac:Party>
    </cac:AccountingSupplierParty>
    <cac:AccountingCustomerParty>
        <cac:Party>
            <cac:PostalAddress>
                <cbc:StreetName>Olaya Street</cbc:StreetName>
                <cbc:BuildingNumber>4321</cbc:BuildingNumber>
                <cbc:CityName>Jeddah</cbc:CityName>
                <cbc:PostalZone>21411</cbc:PostalZone>
                <cac:Country><cbc:IdentificationCode>SA</cbc:IdentificationCode></cac:Country>
            </cac:PostalAddress>
            <cac:PartyTaxScheme>
                <cbc:CompanyID>311111111100003</cbc:CompanyID>
                <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme>
            </cac:PartyTaxScheme>
            <cac:PartyLegalEntity><cbc:RegistrationName>Buyer Trading Co</cbc:RegistrationName></cac:PartyLegalEntity>
        </cac:Party>
    </cac:AccountingCustomerParty>
    <cac:Delivery><cbc:ActualDeliveryDate>{date}</cbc:ActualDeliveryDate></cac:Delivery>
    <cac:PaymentMeans>
        <cbc:PaymentMeansCode>10</cbc:PaymentMeansCode>{reason}
    </cac:PaymentMeans>
    <cac:TaxTotal>
        <cbc:TaxAmount currencyID="SAR">{vat}</cbc:TaxAmount>
    </cac:TaxTotal>
    <cac:TaxTotal>
        <cbc:TaxAmount currencyID="SAR">{vat}</cbc:TaxAmount>
        <cac:TaxSubtotal>
            <cbc:TaxableAmount currencyID="SAR">{net}</cbc:TaxableAmount>
            <cbc:TaxAmount currencyID="SAR">{vat}</cbc:TaxAmount>
            <cac:TaxCategory>
                <cbc:ID>S</cbc:ID>
                <cbc:Percent>15.00</cbc:Percent>
                <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme>
            </cac:TaxCategory>
        </cac:TaxSubtotal>
    </cac:TaxTotal>
    <cac:LegalMonetaryTotal>
        <cbc:LineExtensionAmount currencyID="SAR">{net}</cbc:LineExtensionAmount>
        <cbc:TaxExclusiveAmount currencyID="SAR">{net}</cbc:TaxExclusiveAmount>
        <cbc:TaxInclusiveAmount currencyID="SAR">{gross}</cbc:TaxInclusiveAmount>
        <cbc:PrepaidAmount currencyID="SAR">0.00</cbc:PrepaidAmount>
        <cbc:PayableAmount currencyID="SAR">{gross}</cbc:PayableAmount>
    </cac:LegalMonetaryTotal>{lines}
</Invoice>
"""

LINE_TEMPLATE = """
    <cac:InvoiceLine>
        <cbc:ID>{index}</cbc:ID>
        <cbc:InvoicedQuantity unitCode="PCE">{quantity}</cbc:InvoicedQuantity>
        <cbc:LineExtensionAmount currencyID="SAR">{net}</cbc:LineExtensionAmount>
        <cac:TaxTotal>
            <cbc:TaxAmount currencyID="SAR">{vat}</cbc:TaxAmount>
            <cbc:RoundingAmount currencyID="SAR">{gross}</cbc:RoundingAmount>
        </cac:TaxTotal>
        <cac:Item>
            <cbc:Name>{name}</cbc:Name>
            <cac:ClassifiedTaxCategory>
                <cbc:ID>S</cbc:ID>
                <cbc:Percent>15.00</cbc:Percent>
                <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme>
            </cac:ClassifiedTaxCategory>
        </cac:Item>
        <cac:Price><cbc:PriceAmount currencyID="SAR">{price}</cbc:PriceAmount></cac:Price>
    </cac:InvoiceLine>"""

SIGNATURE_TEMPLATE = """<sig:UBLDocumentSignatures xmlns:sig="{sig}" xmlns:sac="{sac}" xmlns:sbc="{sbc}">
                    <sac:SignatureInformation>
                        <cbc:ID>urn:oasis:names:specification:ubl:signature:1</cbc:ID>
                        <sbc:ReferencedSignatureID>urn:oasis:names:specification:ubl:signature:Invoice</sbc:ReferencedSignatureID>
                        <ds:Signature xmlns:ds="{ds}" Id="signature">
                            <ds:SignedInfo>
                                <ds:CanonicalizationMethod Algorithm="http://www.w3.org/2006/12/xml-c14n11"/>
                                <ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"/>
                                <ds:Reference Id="invoiceSignedData" URI="">
                                    <ds:Transforms>
                                        <ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>not(//ancestor-or-self::ext:UBLExtensions)</ds:XPath></ds:Transform>
                                        <ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>not(//ancestor-or-self::cac:Signature)</ds:XPath></ds:Transform>
                                        <ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>not(//ancestor-or-self::cac:AdditionalDocumentReference[cbc:ID='QR'])</ds:XPath></ds:Transform>
                                        <ds:Transform Algorithm="http://www.w3.org/2006/12/xml-c14n11"/>
                                    </ds:Transforms>
                                    <ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
                                    <ds:DigestValue>{invoice_digest}</ds:DigestValue>
                                </ds:Reference>
                                <ds:Reference Type="http://www.w3.org/2000/09/xmldsig#SignatureProperties"
                                              URI="#xadesSignedProperties">
                                    <ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
                                    <ds:DigestValue>PROPERTIES_DIGEST</ds:DigestValue>
                                </ds:Reference>
                            </ds:SignedInfo>
                            <ds:SignatureValue>{signature}</ds:SignatureValue>
                            <ds:KeyInfo><ds:X509Data><ds:X509Certificate>{certificate}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
                            <ds:Object>
                                <xades:QualifyingProperties xmlns:xades="{xades}" Target="signature">
                                    <xades:SignedProperties Id="xadesSignedProperties">
                                        <xades:SignedSignatureProperties>
                                            <xades:SigningTime>{signing_time}</xades:SigningTime>
                                            <xades:SigningCertificate>
                                                <xades:Cert>
                                                    <xades:CertDigest>
                                                        <ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
                                                        <ds:DigestValue>{certificate_digest}</ds:DigestValue>
                                                    </xades:CertDigest>
                                                    <xades:IssuerSerial>
                                                        <ds:X509IssuerName>{issuer}</ds:X509IssuerName>
                                                        <ds:X509SerialNumber>{serial}</ds:X509SerialNumber>
                                                    </xades:IssuerSerial>
                                                </xades:Cert>
                                            </xades:SigningCertificate>
                                        </xades:SignedSignatureProperties>
                                    </xades:SignedProperties>
                                </xades:QualifyingProperties>
                            </ds:Object>
                        </ds:Signature>
                    </sac:SignatureInformation>
                </sig:UBLDocumentSignatures>"""


def hash_of(xml: bytes) -> str:
    """ZATCA's invoice hash, done with an XSLT identity transform as ZATCA's SDK does, then C14N and SHA-256."""
    xslt = etree.XSLT(
        etree.XML(
            f"""<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
        xmlns:ext="{N["ext"]}" xmlns:cac="{N["cac"]}" xmlns:cbc="{N["cbc"]}">
      <xsl:template match="@*|node()"><xsl:copy><xsl:apply-templates select="@*|node()"/></xsl:copy></xsl:template>
      <xsl:template match="/*/ext:UBLExtensions"/>
      <xsl:template match="/*/cac:Signature"/>
      <xsl:template match="/*/cac:AdditionalDocumentReference[cbc:ID='QR']"/>
    </xsl:stylesheet>""".encode()
        )
    )
    transformed = xslt(etree.fromstring(xml))
    canonical = etree.tostring(transformed, method="c14n")
    return base64.b64encode(hashlib.sha256(canonical).digest()).decode()


def tlv(tags: list[tuple[int, bytes]]) -> str:
    return base64.b64encode(b"".join(bytes([tag, len(value)]) + value for tag, value in tags)).decode()


@dataclass
class Line:
    name: str
    quantity: Decimal
    price: Decimal


@dataclass
class Signed:
    xml: bytes
    uuid: str
    invoice_hash: str
    icv: int

    def body(self) -> dict[str, str]:
        return {"invoiceHash": self.invoice_hash, "uuid": self.uuid, "invoice": base64.b64encode(self.xml).decode()}


@dataclass
class Unit:
    """An invoicing unit: its key, its current certificate, and its chain."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate | None = None
    icv: int = 0
    pih: str = FIRST_PIH
    issued: list[Signed] = field(default_factory=list)

    def use(self, binary_security_token: str) -> None:
        der = base64.b64decode(base64.b64decode(binary_security_token))
        self.certificate = x509.load_der_x509_certificate(der)

    def document(
        self,
        *,
        kind: str = "simplified",
        type_code: str = "388",
        lines: list[Line] | None = None,
        advance: bool = True,
        edit: Any = None,
        **overrides: Any,
    ) -> Signed:
        """Build and sign the next document; `edit(xml_text) -> xml_text` changes it before signing, and
        `overrides` replace template values (icv, pih, seller_vat...)."""
        assert self.certificate is not None
        lines = lines or [Line("Atlas subscription (monthly)", Decimal(1), Decimal("299.00"))]
        line_xml, net_total = "", Decimal(0)
        for index, line in enumerate(lines, 1):
            net = (line.quantity * line.price).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            vat = (net * Decimal("0.15")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            net_total += net
            line_xml += LINE_TEMPLATE.format(
                index=index,
                quantity=line.quantity,
                net=money(net),
                vat=money(vat),
                gross=money(net + vat),
                name=line.name,
                price=money(line.price),
            )
        # Line VAT is rounded per line; the document's VAT is the category's taxable amount times the rate,
        # rounded once (BR-CO-17), so it may differ from the sum of the lines' VAT by a halala or two.
        vat_total = (net_total * Decimal("0.15")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        now = datetime.now(UTC)
        note = type_code in ("381", "383")
        values: dict[str, Any] = {
            **N,
            "number": f"INV-{self.icv + 1}",
            "uuid": str(uuid_module.uuid4()),
            "date": now.strftime("%Y-%m-%d"),
            "time": now.strftime("%H:%M:%S"),
            "subtype": "0100000" if kind == "standard" else "0200000",
            "type_code": type_code,
            "icv": self.icv + 1,
            "pih": self.pih,
            "seller": "Atlas Test Co",
            "seller_vat": VAT,
            "net": money(net_total),
            "vat": money(vat_total),
            "gross": money(net_total + vat_total),
            "lines": line_xml,
            "billing": "\n    <cac:BillingReference><cac:InvoiceDocumentReference><cbc:ID>INV-1</cbc:ID>"
            "</cac:InvoiceDocumentReference></cac:BillingReference>"
            if note
            else "",
            "reason": "\n        <cbc:InstructionNote>Plan downgraded</cbc:InstructionNote>" if note else "",
        }
        values.update(overrides)
        text = INVOICE_TEMPLATE.format(**values)
        if edit is not None:
            text = edit(text)
        signed = self.sign(text, values)
        if advance:
            self.icv = int(values["icv"])
            self.pih = signed.invoice_hash
            self.issued.append(signed)
        return signed

    def sign(self, text: str, values: dict[str, Any], *, key: ec.EllipticCurvePrivateKey | None = None) -> Signed:
        assert self.certificate is not None
        invoice_hash = hash_of(text.encode())
        signature = base64.b64encode(
            (key or self.key).sign(base64.b64decode(invoice_hash), ec.ECDSA(hashes.SHA256()))
        ).decode()
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        block = SIGNATURE_TEMPLATE.format(
            **N,
            invoice_digest=invoice_hash,
            signature=signature,
            certificate=base64.b64encode(der).decode(),
            signing_time=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            certificate_digest=base64.b64encode(hashlib.sha256(der).hexdigest().encode()).decode(),
            issuer=self.certificate.issuer.rfc4514_string(),
            serial=self.certificate.serial_number,
        )
        document = etree.fromstring(text.replace("SIGNATURE_PLACEHOLDER", block).encode())
        properties = document.xpath("//xades:SignedProperties", namespaces=N)[0]
        digest = hashlib.sha256(etree.tostring(properties, method="c14n", exclusive=True)).hexdigest()
        document.xpath("//ds:Reference[@URI='#xadesSignedProperties']/ds:DigestValue", namespaces=N)[
            0
        ].text = base64.b64encode(digest.encode()).decode()
        public_key = self.certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        qr = tlv(
            [
                (1, str(values["seller"]).encode()),
                (2, str(values["seller_vat"]).encode()),
                (3, f"{values['date']}T{values['time']}".encode()),
                (4, str(values["gross"]).encode()),
                (5, str(values["vat"]).encode()),
                (6, invoice_hash.encode()),
                (7, signature.encode()),
                (8, public_key),
                (9, self.certificate.signature),
            ]
        )
        xml = etree.tostring(document, xml_declaration=True, encoding="UTF-8").replace(b"QR_PLACEHOLDER", qr.encode())
        return Signed(xml=xml, uuid=str(values["uuid"]), invoice_hash=invoice_hash, icv=int(values["icv"]))
