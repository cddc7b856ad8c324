"""The secp256k1 key and the certificate signing request ZATCA's onboarding (``POST /compliance``) expects.

Subject ``C=SA, OU, O, CN``; extensions: the certificate template name (Microsoft's OID 1.3.6.1.4.1.311.20.2, a
PrintableString naming the environment), and a subject alternative name holding one directoryName with
SN (surname, 2.5.4.4) = ``1-<solution>|2-<model>|3-<serial>``, UID (0.9.2342.19200300.100.1.1) = the VAT number,
title (2.5.4.12) = the document types the unit issues (``1100``: standard and simplified), registeredAddress
(2.5.4.26) and businessCategory (2.5.4.15) — the fields of ZATCA's SDK ``csr-config`` file, as its OpenSSL template
writes them. The API takes the PEM text, base64-encoded once more (``csr_for_api``).
"""

from __future__ import annotations

import base64
import enum

import msgspec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier

from atlas.einvoicing.documents import DocumentError, check_vat_number

TEMPLATE_NAME_OID = ObjectIdentifier("1.3.6.1.4.1.311.20.2")
REGISTERED_ADDRESS_OID = ObjectIdentifier("2.5.4.26")
PRINTABLE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?")


class Environment(enum.Enum):
    """The gateway environments and the certificate template each expects."""

    DEVELOPER_PORTAL = "developer-portal"
    SIMULATION = "simulation"
    CORE = "core"

    @property
    def template_name(self) -> str:
        return {
            Environment.DEVELOPER_PORTAL: "TSTZATCA-Code-Signing",
            Environment.SIMULATION: "PREZATCA-Code-Signing",
            Environment.CORE: "ZATCA-Code-Signing",
        }[self]


class CsrRequest(msgspec.Struct, frozen=True, kw_only=True):
    """The fields of ZATCA's ``csr-config``: the unit's identity and the taxpayer's."""

    common_name: str
    organization: str
    organization_unit: str
    vat_number: str
    solution_name: str
    model: str
    serial: str
    registered_address: str
    business_category: str
    invoice_types: str = "1100"
    environment: Environment = Environment.CORE

    def __post_init__(self) -> None:
        check_vat_number(self.vat_number)
        for field in ("common_name", "organization", "organization_unit", "registered_address", "business_category"):
            if not getattr(self, field).strip():
                raise DocumentError(f"CSR {field} is empty")
        for field in ("solution_name", "model", "serial"):
            value = getattr(self, field)
            if not value.strip() or "|" in value:
                raise DocumentError(f"CSR {field} must be non-empty and have no '|'")
        if self.vat_number[10] == "1" and not (self.organization_unit.isdigit() and len(self.organization_unit) == 10):
            raise DocumentError("a VAT group member's organization unit is its 10-digit TIN (11th VAT digit 1)")
        if len(self.invoice_types) != 4 or set(self.invoice_types) - {"0", "1"} or self.invoice_types[:2] == "00":
            raise DocumentError("invoice types are four 0/1 flags, standard and simplified first (e.g. 1100)")

    @property
    def device_serial(self) -> str:
        return f"1-{self.solution_name}|2-{self.model}|3-{self.serial}"


def generate_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256K1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """The key in SEC 1 PEM (``BEGIN EC PRIVATE KEY``), the form ZATCA's SDK and OpenSSL write."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )


def _printable_string(value: str) -> bytes:
    if set(value) - PRINTABLE or len(value) > 127:
        raise DocumentError(f"{value!r} is not a short PrintableString")
    return bytes([0x13, len(value)]) + value.encode("ascii")


def build_csr(request: CsrRequest, key: ec.EllipticCurvePrivateKey) -> x509.CertificateSigningRequest:
    if not isinstance(key.curve, ec.SECP256K1):
        raise DocumentError("ZATCA stamps are ECDSA keys on secp256k1")
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "SA"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, request.organization_unit),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, request.organization),
            x509.NameAttribute(NameOID.COMMON_NAME, request.common_name),
        ]
    )
    directory = x509.Name(
        [
            x509.NameAttribute(NameOID.SURNAME, request.device_serial),
            x509.NameAttribute(NameOID.USER_ID, request.vat_number),
            x509.NameAttribute(NameOID.TITLE, request.invoice_types),
            x509.NameAttribute(REGISTERED_ADDRESS_OID, request.registered_address),
            x509.NameAttribute(NameOID.BUSINESS_CATEGORY, request.business_category),
        ]
    )
    template = x509.UnrecognizedExtension(TEMPLATE_NAME_OID, _printable_string(request.environment.template_name))
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject)
        .add_extension(template, critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.DirectoryName(directory)]), critical=False)
        .sign(key, hashes.SHA256())
    )


def csr_pem(csr: x509.CertificateSigningRequest) -> bytes:
    return csr.public_bytes(serialization.Encoding.PEM)


def csr_for_api(csr: x509.CertificateSigningRequest) -> str:
    """The ``csr`` field of ``POST /compliance``: base64 of the PEM text."""
    return base64.b64encode(csr_pem(csr)).decode("ascii")
