"""The gateway's own certificate authority: it checks a CSR as ZATCA does and issues CSID certificates from it.

ZATCA's CSR (docs/zatca.md, onboarding): subject C=SA, O, OU, CN; an extension 1.3.6.1.4.1.311.20.2 naming the
certificate template of the environment; a subject alternative name holding a directory name with SN
(`1-<solution>|2-<model>|3-<serial>`), UID (the 15-digit VAT number, 3…3), title (the document types, e.g. 1100),
registeredAddress and businessCategory. Keys are ECDSA on secp256k1. The issued certificate keeps the CSR's
subject, key and those extensions, signed by this CA (secp256k1, ECDSA-SHA256).
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier

TEMPLATE_OID: Final = ObjectIdentifier("1.3.6.1.4.1.311.20.2")
UID_OID: Final = ObjectIdentifier("0.9.2342.19200300.100.1.1")
REGISTERED_ADDRESS_OID: Final = ObjectIdentifier("2.5.4.26")
TEMPLATES: Final = {
    "developer-portal": "TSTZATCA-Code-Signing",
    "simulation": "PREZATCA-Code-Signing",
    "core": "ZATCA-Code-Signing",
}
VAT_NUMBER: Final = re.compile(r"^3\d{13}3$")
SERIAL_NUMBER: Final = re.compile(r"^1-[^|]+\|2-[^|]+\|3-[^|]+$")
# The four positions of `title`: T standard, S simplified, then two reserved (0).
TITLE: Final = re.compile(r"^[01][01]00$")


class CsrRefused(Exception):
    """A CSR ZATCA would not issue a CSID for; `code` and the message go into the 400 answer."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Taxpayer:
    """What a CSR (and the certificate issued from it) says about the invoicing unit."""

    vat_number: str
    unit_serial: str  # the SN field: 1-solution|2-model|3-serial
    title: str  # which document types the unit issues (1100, 1000, 0100)
    common_name: str
    organisation: str

    @property
    def unit(self) -> str:
        """The invoicing unit a chain belongs to."""
        return f"{self.vat_number}/{self.unit_serial}"

    def required_types(self) -> list[str]:
        """The compliance samples ZATCA asks of this title: standard and/or simplified × invoice, credit, debit."""
        kinds: list[str] = []
        if self.title[0] == "1":
            kinds += ["standard:388", "standard:381", "standard:383"]
        if self.title[1] == "1":
            kinds += ["simplified:388", "simplified:381", "simplified:383"]
        return kinds


def _der_string(raw: bytes) -> str:
    """The text of a DER-encoded string (PrintableString, UTF8String, IA5String or BMPString)."""
    if len(raw) < 2:
        raise ValueError("empty DER value")
    tag, length, offset = raw[0], raw[1], 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(raw[2 : 2 + count], "big")
        offset = 2 + count
    body = raw[offset : offset + length]
    if tag == 0x1E:
        return body.decode("utf-16-be")
    if tag in (0x0C, 0x13, 0x16, 0x14):
        return body.decode("utf-8")
    raise ValueError(f"unexpected DER tag {tag:#x}")


def _first(name: x509.Name, oid: ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else None


def read_taxpayer(extensions: x509.Extensions, subject: x509.Name) -> Taxpayer:
    """The unit's identity from a CSR's or certificate's subject and alternative name."""
    try:
        san = extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise CsrRefused("Invalid-CSR", "The CSR has no subject alternative name (SN, UID, title)") from None
    directories = san.get_values_for_type(x509.DirectoryName)
    if not directories:
        raise CsrRefused("Invalid-CSR", "The subject alternative name holds no directory name")
    directory = directories[0]
    unit_serial = _first(directory, NameOID.SURNAME) or ""
    vat_number = _first(directory, UID_OID) or ""
    title = _first(directory, NameOID.TITLE) or ""
    return Taxpayer(
        vat_number=vat_number,
        unit_serial=unit_serial,
        title=title,
        common_name=_first(subject, NameOID.COMMON_NAME) or "",
        organisation=_first(subject, NameOID.ORGANIZATION_NAME) or "",
    )


def check_csr(pem: bytes, environment: str) -> tuple[x509.CertificateSigningRequest, Taxpayer]:
    """Parse and check a CSR as ZATCA's compliance API does; raise `CsrRefused` with its reason."""
    try:
        csr = x509.load_pem_x509_csr(pem)
    except ValueError:
        raise CsrRefused("Invalid-CSR", "The CSR is not a PEM certificate signing request") from None
    if not csr.is_signature_valid:
        raise CsrRefused("Invalid-CSR", "The CSR's signature does not verify")
    key = csr.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256k1":
        raise CsrRefused("Invalid-CSR", "The CSR's key must be ECDSA on the secp256k1 curve")
    subject = csr.subject
    for oid, label in (
        (NameOID.COUNTRY_NAME, "C"),
        (NameOID.ORGANIZATION_NAME, "O"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "OU"),
        (NameOID.COMMON_NAME, "CN"),
    ):
        if not _first(subject, oid):
            raise CsrRefused("Invalid-CSR", f"The CSR's subject lacks {label}")
    if _first(subject, NameOID.COUNTRY_NAME) != "SA":
        raise CsrRefused("Invalid-CSR", "The CSR's country (C) must be SA")
    try:
        template = _der_string(csr.extensions.get_extension_for_oid(TEMPLATE_OID).value.public_bytes())
    except x509.ExtensionNotFound:
        raise CsrRefused("Invalid-CSR", "The CSR lacks the certificate template name extension") from None
    except ValueError:
        raise CsrRefused("Invalid-CSR", "The certificate template name extension is not a string") from None
    expected = TEMPLATES[environment]
    if template != expected:
        raise CsrRefused("Invalid-CSR", f"The certificate template name must be {expected} in {environment}")
    taxpayer = read_taxpayer(csr.extensions, subject)
    if not SERIAL_NUMBER.match(taxpayer.unit_serial):
        raise CsrRefused("Invalid-CSR", "SN must read 1-<solution>|2-<model>|3-<serial number>")
    if not VAT_NUMBER.match(taxpayer.vat_number):
        raise CsrRefused("Invalid-CSR", "UID must be a 15-digit VAT number that starts and ends with 3")
    if not TITLE.match(taxpayer.title) or taxpayer.title == "0000":
        raise CsrRefused("Invalid-CSR", "title must be 1100, 1000 or 0100 (standard, simplified)")
    directory = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = directory.get_values_for_type(x509.DirectoryName)[0]
    if not _first(names, REGISTERED_ADDRESS_OID) or not _first(names, NameOID.BUSINESS_CATEGORY):
        raise CsrRefused("Invalid-CSR", "registeredAddress and businessCategory are required")
    return csr, taxpayer


class Authority:
    """A CA key and its self-signed certificate, and a stamping key certified by it (ZATCA's own stamp on
    cleared invoices)."""

    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey,
        certificate: x509.Certificate,
        stamp_key: ec.EllipticCurvePrivateKey,
        stamp_certificate: x509.Certificate,
    ) -> None:
        self.key = key
        self.certificate = certificate
        self.stamp_key = stamp_key
        self.stamp_certificate = stamp_certificate

    @classmethod
    def create(cls) -> Authority:
        key = ec.generate_private_key(ec.SECP256K1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "SA"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Atlas local ZATCA gateway"),
                x509.NameAttribute(NameOID.COMMON_NAME, "ATLAS-FAKE-ZATCA-CA"),
            ]
        )
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256())
        )
        stamp_key = ec.generate_private_key(ec.SECP256K1())
        stamp_name = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "SA"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Atlas local ZATCA gateway"),
                x509.NameAttribute(NameOID.COMMON_NAME, "ATLAS-FAKE-ZATCA-STAMP"),
            ]
        )
        stamp = (
            x509.CertificateBuilder()
            .subject_name(stamp_name)
            .issuer_name(name)
            .public_key(stamp_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .sign(key, hashes.SHA256())
        )
        return cls(key, certificate, stamp_key, stamp)

    def dump(self) -> dict[str, str]:
        def key_pem(key: ec.EllipticCurvePrivateKey) -> str:
            return key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode()

        return {
            "key": key_pem(self.key),
            "certificate": self.certificate.public_bytes(serialization.Encoding.PEM).decode(),
            "stamp_key": key_pem(self.stamp_key),
            "stamp_certificate": self.stamp_certificate.public_bytes(serialization.Encoding.PEM).decode(),
        }

    @classmethod
    def load(cls, data: dict[str, str]) -> Authority:
        def key(pem: str) -> ec.EllipticCurvePrivateKey:
            loaded = serialization.load_pem_private_key(pem.encode(), password=None)
            assert isinstance(loaded, ec.EllipticCurvePrivateKey)
            return loaded

        return cls(
            key(data["key"]),
            x509.load_pem_x509_certificate(data["certificate"].encode()),
            key(data["stamp_key"]),
            x509.load_pem_x509_certificate(data["stamp_certificate"].encode()),
        )

    def issue(self, csr: x509.CertificateSigningRequest, *, days: int) -> x509.Certificate:
        """A CSID certificate for the CSR's key and subject, with its template and alternative name."""
        now = datetime.now(UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(csr.subject)
            .issuer_name(self.certificate.subject)
            .public_key(csr.public_key())
            .serial_number(int.from_bytes(secrets.token_bytes(16), "big") >> 1)
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=days))
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
        )
        for extension in csr.extensions:
            if extension.oid == TEMPLATE_OID or isinstance(extension.value, x509.SubjectAlternativeName):
                builder = builder.add_extension(extension.value, critical=extension.critical)
        return builder.sign(self.key, hashes.SHA256())

    def issued(self, certificate: x509.Certificate) -> bool:
        """Whether this CA signed `certificate`."""
        if certificate.issuer != self.certificate.subject:
            return False
        try:
            certificate.verify_directly_issued_by(self.certificate)
        except (ValueError, TypeError, InvalidSignature):
            return False
        return True


def security_token(certificate: x509.Certificate) -> str:
    """ZATCA's `binarySecurityToken`: base64 of the certificate's base64 DER (the PEM body on one line)."""
    body = base64.b64encode(certificate.public_bytes(serialization.Encoding.DER))
    return base64.b64encode(body).decode()


def certificate_from_token(token: str) -> x509.Certificate:
    return x509.load_der_x509_certificate(base64.b64decode(base64.b64decode(token)))
