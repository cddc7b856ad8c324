"""Test documents and a test certificate authority (a stand-in for ZATCA's CA: it issues a CSID from a CSR)."""

from __future__ import annotations

import datetime as dt
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from atlas.einvoicing import Address, Buyer, Document, DocumentKind, Line, Seller, Transaction
from atlas.einvoicing.csr import CsrRequest, Environment, build_csr, generate_key

RIYADH_NOON = dt.datetime(2026, 12, 7, 9, 0, 0, tzinfo=dt.UTC)  # 12:00 in Riyadh

SELLER = Seller(
    legal_name="شركة أطلس لعمليات المخزون",
    vat_number="310122393500003",
    id_value="1010010000",
    address=Address(
        street="طريق الملك فهد",
        building_number="2322",
        district="العليا",
        city="الرياض",
        postal_code="12214",
        additional_number="8228",
    ),
)
BUSINESS_BUYER = Buyer(
    name="Nahdi Trading Co.",
    vat_number="300000000000003",
    address=Address(
        street="Prince Sultan St", building_number="1234", district="Al Rawdah", city="Jeddah", postal_code="23435"
    ),
)
CONSUMER_BUYER = Buyer(name="Layla Al-Harbi")


def issue_certificate(
    csr: x509.CertificateSigningRequest, ca_key: ec.EllipticCurvePrivateKey, serial: int = 0x1A2B3C4D5E6F
) -> x509.Certificate:
    """What ZATCA's CA does with a CSR, enough for tests: the subject, the key and the SAN copied into a cert."""
    issuer = x509.Name(
        [
            x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "local"),
            x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "gov"),
            x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "extgazt"),
            x509.NameAttribute(NameOID.COMMON_NAME, "TSZEINVOICE-SubCA-1"),
        ]
    )
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(issuer)
        .public_key(csr.public_key())
        .serial_number(serial)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(san, critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def csr_request(environment: Environment = Environment.DEVELOPER_PORTAL) -> CsrRequest:
    return CsrRequest(
        common_name="TST-886431145-310122393500003",
        organization="Atlas Inventory Operations",
        organization_unit="Riyadh Branch",
        vat_number="310122393500003",
        solution_name="Atlas",
        model="Cloud",
        serial="ed22f1d8-e6a2-1118-9b58-d9a8f11e445f",
        registered_address="RRRD2929",
        business_category="Software",
        environment=environment,
    )


def new_identity(serial: int = 0x1A2B3C4D5E6F) -> tuple[bytes, bytes]:
    """A fresh key and its certificate, PEM (what onboarding stores)."""
    key = generate_key()
    ca_key = ec.generate_private_key(ec.SECP256K1())
    cert = issue_certificate(build_csr(csr_request(), key), ca_key, serial)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def document(
    kind: DocumentKind = DocumentKind.INVOICE,
    transaction: Transaction = Transaction.SIMPLIFIED,
    *,
    icv: int = 1,
    pih: str,
    lines: tuple[Line, ...] | None = None,
    number: str | None = None,
) -> Document:
    note = kind is not DocumentKind.INVOICE
    standard = transaction is Transaction.STANDARD
    return Document(
        kind=kind,
        transaction=transaction,
        number=number or f"ATL-2026-{icv:06d}",
        uuid=uuid.uuid5(uuid.NAMESPACE_URL, f"atlas-test-{kind.value}-{transaction.value}-{icv}"),
        issued_at=RIYADH_NOON,
        icv=icv,
        pih=pih,
        seller=SELLER,
        buyer=BUSINESS_BUYER if standard else CONSUMER_BUYER,
        lines=lines
        if lines is not None
        else (
            Line(name="اشتراك أطلس — الخطة المهنية (شهري)", quantity=1, unit_price=49_900),
            Line(name="Extra connector", quantity=3, unit_price=3_333),
        ),
        payment_means_code="48",
        billing_reference="ATL-2026-000100" if note else None,
        instruction_note="Refund of unused period after downgrade" if note else None,
        supply_date=dt.date(2026, 12, 1) if standard else None,
        supply_end_date=dt.date(2026, 12, 31) if standard else None,
    )
