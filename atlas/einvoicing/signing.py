"""The XAdES signature ZATCA specifies (ECDSA secp256k1 / SHA-256), the QR, and the signed document.

ZATCA's signature is XAdES-shaped but not a standard XMLDSig signature; its quirks, as ZATCA's SDK, its Detailed
Technical Guideline and the implementations ZATCA accepts (docs/einvoicing.md lists them) do it:

- ``ds:SignatureValue`` is ECDSA-SHA256 over the **invoice hash** (the 32 raw bytes of the first reference's digest),
  not over the canonical ``ds:SignedInfo``; DER-encoded, base64. The signed properties' digest is therefore not
  covered by the signature: ZATCA checks it on its own.
- The certificate digest (``xades:CertDigest``) is base64 of the *hex text* of SHA-256 over the certificate's
  *base64 text* (the DER in base64 on one line, as in ``ds:X509Certificate``) — not of the DER bytes.
- The signed properties' digest (second reference) is base64 of the *hex text* of SHA-256 over the
  ``xades:SignedProperties`` element serialised as it stands in the document (its whitespace included: ZATCA's
  server hashes what it receives, without canonicalising), detached: ``xmlns:xades`` declared on it and ``xmlns:ds``
  on each ``ds:`` element inside, as a namespace-fixing serialiser writes a subtree (the form the accepted
  implementations hash). The document is indented like ZATCA's samples (four spaces a level), so the element sits
  at the samples' depth.
- ``xades:SigningTime`` is a wall-clock time without a zone, as in the SDK's samples; Atlas writes Asia/Riyadh's,
  like the document's issue time.
- ``ds:X509IssuerName`` is the issuer's RDNs most-specific first, joined by ``", "`` (``CN=…, DC=…``), and
  ``ds:X509SerialNumber`` the serial in decimal.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

from atlas.einvoicing import hashing, ubl
from atlas.einvoicing.amounts import sar, totals
from atlas.einvoicing.documents import RIYADH, Document
from atlas.einvoicing.qr import PhaseTwoQr
from atlas.einvoicing.ubl import DS, XADES, q, sub

C14N11 = "http://www.w3.org/2006/12/xml-c14n11"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
XPATH = "http://www.w3.org/TR/1999/REC-xpath-19991116"
SIGNATURE_PROPERTIES = "http://www.w3.org/2000/09/xmldsig#SignatureProperties"
TRANSFORMS = (
    "not(//ancestor-or-self::ext:UBLExtensions)",
    "not(//ancestor-or-self::cac:Signature)",
    "not(//ancestor-or-self::cac:AdditionalDocumentReference[cbc:ID='QR'])",
)


class SigningError(ValueError):
    """A key or certificate that cannot sign a ZATCA document."""


def _certificate_from_text(text: str | bytes) -> x509.Certificate:
    raw = text.decode("ascii") if isinstance(text, bytes) else text
    try:
        if "BEGIN CERTIFICATE" in raw:
            return x509.load_pem_x509_certificate(raw.encode("ascii"))
        return x509.load_der_x509_certificate(base64.b64decode(re.sub(r"\s+", "", raw), validate=True))
    except ValueError as error:
        raise SigningError("the certificate is neither PEM nor base64 DER") from error


@dataclass(frozen=True)
class SigningIdentity:
    """A cryptographic stamp: the CSID's certificate and its secp256k1 private key."""

    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey

    def __post_init__(self) -> None:
        if not isinstance(self.private_key, ec.EllipticCurvePrivateKey) or not isinstance(
            self.private_key.curve, ec.SECP256K1
        ):
            raise SigningError("ZATCA stamps are ECDSA keys on secp256k1")
        public = self.certificate.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey) or public.public_numbers() != (
            self.private_key.public_key().public_numbers()
        ):
            raise SigningError("the private key does not belong to the certificate")

    @classmethod
    def load(cls, certificate: str | bytes, private_key_pem: bytes) -> SigningIdentity:
        """From the certificate (PEM, or base64 DER as ZATCA's decoded ``binarySecurityToken``) and a PEM key."""
        key = serialization.load_pem_private_key(private_key_pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise SigningError("ZATCA stamps are ECDSA keys on secp256k1")
        return cls(_certificate_from_text(certificate), key)

    @classmethod
    def from_binary_security_token(cls, token: str, private_key_pem: bytes) -> SigningIdentity:
        """ZATCA's CSID answers carry the certificate as base64 of its base64 DER text."""
        return cls.load(base64.b64decode(token).decode("ascii"), private_key_pem)

    @property
    def certificate_base64(self) -> str:
        return base64.b64encode(self.certificate.public_bytes(serialization.Encoding.DER)).decode("ascii")

    @property
    def certificate_digest(self) -> str:
        return base64.b64encode(hashlib.sha256(self.certificate_base64.encode("ascii")).hexdigest().encode()).decode()

    @property
    def issuer_name(self) -> str:
        return ", ".join(rdn.rfc4514_string() for rdn in reversed(self.certificate.issuer.rdns))

    @property
    def serial_number(self) -> str:
        return str(self.certificate.serial_number)

    @property
    def public_key_der(self) -> bytes:
        return self.certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def certificate_signature(self) -> bytes:
        return self.certificate.signature

    def sign(self, invoice_digest: bytes) -> str:
        """ECDSA-SHA256 over the invoice hash's 32 bytes, DER, base64 (ZATCA's SignatureValue and QR tag 7)."""
        if len(invoice_digest) != 32:
            raise SigningError("the invoice hash is 32 bytes")
        return base64.b64encode(self.private_key.sign(invoice_digest, ec.ECDSA(hashes.SHA256()))).decode("ascii")

    def verify(self, invoice_digest: bytes, signature: str) -> bool:
        public = self.certificate.public_key()
        assert isinstance(public, ec.EllipticCurvePublicKey)
        try:
            public.verify(base64.b64decode(signature), invoice_digest, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class SignedDocument:
    xml: bytes
    invoice_hash: str
    signature: str
    signed_properties_digest: str
    qr: str
    signing_time: datetime


def _detached_copy(element: etree._Element, parent: etree._Element | None) -> etree._Element:
    """A copy of a subtree whose prefixes are declared where first needed, as a namespace-fixing serialiser does."""
    prefix = element.prefix
    namespace = etree.QName(element).namespace
    in_scope = parent.nsmap if parent is not None else {}
    nsmap = {} if in_scope.get(prefix) == namespace else {prefix: namespace}
    attributes = dict(element.attrib)
    if parent is None:
        copy = etree.Element(element.tag, attributes, nsmap=nsmap)
    else:
        copy = etree.SubElement(parent, element.tag, attributes, nsmap=nsmap)
        copy.tail = element.tail
    copy.text = element.text
    for child in element:
        _detached_copy(child, copy)
    return copy


def signed_properties_bytes(properties: etree._Element) -> bytes:
    return cast(bytes, etree.tostring(_detached_copy(properties, None), encoding="UTF-8", xml_declaration=False))


def signed_properties_digest(properties: etree._Element) -> str:
    return base64.b64encode(hashlib.sha256(signed_properties_bytes(properties)).hexdigest().encode()).decode()


def _ds(parent: etree._Element, name: str, text: str | None = None, /, **attrs: str) -> etree._Element:
    return sub(parent, "ds", name, text, **attrs)


def _signature_block(identity: SigningIdentity, invoice_hash: str, signature: str, signing_time: str) -> etree._Element:
    signatures = etree.Element(
        q("sig", "UBLDocumentSignatures"), nsmap={"sig": ubl.SIG, "sac": ubl.SAC, "sbc": ubl.SBC}
    )
    information = sub(signatures, "sac", "SignatureInformation")
    sub(information, "cbc", "ID", "urn:oasis:names:specification:ubl:signature:1")
    sub(information, "sbc", "ReferencedSignatureID", ubl.SIGNATURE_ID)
    ds_signature = etree.SubElement(information, q("ds", "Signature"), {"Id": "signature"}, nsmap={"ds": DS})
    signed_info = _ds(ds_signature, "SignedInfo")
    _ds(signed_info, "CanonicalizationMethod", Algorithm=C14N11)
    _ds(signed_info, "SignatureMethod", Algorithm=ECDSA_SHA256)
    reference = _ds(signed_info, "Reference", Id="invoiceSignedData", URI="")
    transforms = _ds(reference, "Transforms")
    for expression in TRANSFORMS:
        _ds(_ds(transforms, "Transform", Algorithm=XPATH), "XPath", expression)
    _ds(transforms, "Transform", Algorithm=C14N11)
    _ds(reference, "DigestMethod", Algorithm=SHA256)
    _ds(reference, "DigestValue", invoice_hash)
    properties_reference = _ds(signed_info, "Reference", Type=SIGNATURE_PROPERTIES, URI="#xadesSignedProperties")
    _ds(properties_reference, "DigestMethod", Algorithm=SHA256)
    _ds(properties_reference, "DigestValue", "")
    _ds(ds_signature, "SignatureValue", signature)
    _ds(_ds(_ds(ds_signature, "KeyInfo"), "X509Data"), "X509Certificate", identity.certificate_base64)
    qualifying = etree.SubElement(
        _ds(ds_signature, "Object"), q("xades", "QualifyingProperties"), {"Target": "signature"}, nsmap={"xades": XADES}
    )
    properties = sub(qualifying, "xades", "SignedProperties", Id="xadesSignedProperties")
    signature_properties = sub(properties, "xades", "SignedSignatureProperties")
    sub(signature_properties, "xades", "SigningTime", signing_time)
    cert = sub(sub(signature_properties, "xades", "SigningCertificate"), "xades", "Cert")
    cert_digest = sub(cert, "xades", "CertDigest")
    _ds(cert_digest, "DigestMethod", Algorithm=SHA256)
    _ds(cert_digest, "DigestValue", identity.certificate_digest)
    issuer_serial = sub(cert, "xades", "IssuerSerial")
    _ds(issuer_serial, "X509IssuerName", identity.issuer_name)
    _ds(issuer_serial, "X509SerialNumber", identity.serial_number)
    return signatures


def qr_timestamp(document: Document) -> str:
    """QR tag 3: the issue date and time as the XML states them (Asia/Riyadh wall clock)."""
    return f"{document.issue_date}T{document.issue_time}"


def sign(document: Document, identity: SigningIdentity, *, signing_time: datetime | None = None) -> SignedDocument:
    """The signed UBL document, its hash (the next document's PIH) and its QR."""
    moment = (signing_time or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    amounts = totals(document.lines)
    tree = ubl.build(document, amounts)
    digest = hashing.digest(tree)
    invoice_hash = base64.b64encode(digest).decode("ascii")
    signature = identity.sign(digest)
    qr = PhaseTwoQr(
        seller_name=document.seller.legal_name,
        vat_number=document.seller.vat_number,
        timestamp=qr_timestamp(document),
        total=sar(amounts.tax_inclusive),
        vat_total=sar(amounts.tax),
        invoice_hash=invoice_hash,
        signature=signature,
        public_key=identity.public_key_der,
        certificate_signature=identity.certificate_signature if document.simplified else None,
    ).encode()
    ubl.qr_slot(tree).text = qr
    ubl.extension_content(tree).append(
        _signature_block(identity, invoice_hash, signature, moment.astimezone(RIYADH).strftime("%Y-%m-%dT%H:%M:%S"))
    )
    ubl.indent(tree)
    properties = ubl.find(tree, ".//xades:SignedProperties")
    properties_digest = signed_properties_digest(properties)
    ubl.find(tree, ".//ds:Reference[@URI='#xadesSignedProperties']/ds:DigestValue").text = properties_digest
    xml = ubl.serialize(tree)
    if hashing.invoice_hash(xml) != invoice_hash:  # the slots filled must not have moved what the hash covers
        raise RuntimeError("signing changed the hashed part of the document")
    return SignedDocument(
        xml=xml,
        invoice_hash=invoice_hash,
        signature=signature,
        signed_properties_digest=properties_digest,
        qr=qr,
        signing_time=moment,
    )
