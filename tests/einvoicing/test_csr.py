"""The CSR ZATCA's onboarding expects, read back with cryptography and with OpenSSL's own parser."""

from __future__ import annotations

import base64
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier

from atlas.einvoicing import DocumentError
from atlas.einvoicing.csr import CsrRequest, Environment, build_csr, csr_for_api, csr_pem, generate_key
from tests.einvoicing.factory import csr_request


@pytest.mark.parametrize(
    ("environment", "template"),
    [
        (Environment.DEVELOPER_PORTAL, "TSTZATCA-Code-Signing"),
        (Environment.SIMULATION, "PREZATCA-Code-Signing"),
        (Environment.CORE, "ZATCA-Code-Signing"),
    ],
)
def test_the_csr_carries_zatca_s_fields(environment, template):
    key = generate_key()
    csr = build_csr(csr_request(environment), key)
    assert csr.is_signature_valid
    public = csr.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256K1)
    assert [(a.oid, a.value) for a in csr.subject] == [
        (NameOID.COUNTRY_NAME, "SA"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "Riyadh Branch"),
        (NameOID.ORGANIZATION_NAME, "Atlas Inventory Operations"),
        (NameOID.COMMON_NAME, "TST-886431145-310122393500003"),
    ]
    extension = csr.extensions.get_extension_for_oid(ObjectIdentifier("1.3.6.1.4.1.311.20.2")).value
    assert isinstance(extension, x509.UnrecognizedExtension)
    assert extension.value == bytes([0x13, len(template)]) + template.encode()  # ASN.1 PrintableString
    names = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    (directory,) = names.get_values_for_type(x509.DirectoryName)
    assert {a.oid.dotted_string: a.value for a in directory} == {
        "2.5.4.4": "1-Atlas|2-Cloud|3-ed22f1d8-e6a2-1118-9b58-d9a8f11e445f",
        "0.9.2342.19200300.100.1.1": "310122393500003",
        "2.5.4.12": "1100",
        "2.5.4.26": "RRRD2929",
        "2.5.4.15": "Software",
    }
    assert base64.b64decode(csr_for_api(csr)) == csr_pem(csr)


def test_openssl_reads_and_verifies_the_csr():
    pem = csr_pem(build_csr(csr_request(), generate_key()))
    out = subprocess.run(["openssl", "req", "-noout", "-text", "-verify"], input=pem, capture_output=True, check=True)
    text = (out.stdout + out.stderr).decode()
    assert "verify OK" in text
    assert "secp256k1" in text
    assert "TSTZATCA-Code-Signing" in text
    assert "1-Atlas|2-Cloud|3-ed22f1d8" in text
    assert "ecdsa-with-SHA256" in text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"vat_number": "123"}, "15 digits"),
        ({"model": "a|b"}, "no '\\|'"),
        ({"invoice_types": "0011"}, "four 0/1 flags"),
        ({"organization": " "}, "organization is empty"),
        ({"vat_number": "310122393510003"}, "10-digit TIN"),
    ],
)
def test_bad_csr_fields_are_refused(change, message):
    fields = {field: getattr(csr_request(), field) for field in CsrRequest.__struct_fields__}
    with pytest.raises(DocumentError, match=message):
        CsrRequest(**{**fields, **change})


def test_only_secp256k1_keys():
    with pytest.raises(DocumentError, match="secp256k1"):
        build_csr(csr_request(), ec.generate_private_key(ec.SECP256R1()))
