"""All six documents signed by Atlas and checked by the independent verifier; tampering of every kind refused."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from atlas.einvoicing import (
    FIRST_PIH,
    DocumentKind,
    SigningError,
    SigningIdentity,
    Transaction,
    invoice_hash,
    sign,
)
from atlas.einvoicing.csr import build_csr, generate_key, key_pem
from tests.einvoicing import verifier
from tests.einvoicing.factory import csr_request, document, issue_certificate

SIX = [(kind, transaction) for transaction in Transaction for kind in DocumentKind]
SIGNED_AT = dt.datetime(2026, 12, 7, 9, 0, 5, tzinfo=dt.UTC)


def test_the_verifier_starts_a_chain_where_zatca_does():
    assert FIRST_PIH == verifier.FIRST_PIH


@pytest.mark.parametrize(("kind", "transaction"), SIX, ids=[f"{t.name}-{k.name}" for k, t in SIX])
def test_each_document_is_signed_and_verified_independently(identity, ca_key, kind, transaction):
    signed = sign(document(kind, transaction, pih=FIRST_PIH), identity, signing_time=SIGNED_AT)
    errors = verifier.check(signed.xml, expected_pih=FIRST_PIH, expected_icv=1, ca_public_key=ca_key.public_key())
    assert errors == []
    assert signed.invoice_hash == verifier.recompute_hash(signed.xml) == invoice_hash(signed.xml)
    type_code = re.search(rb'<cbc:InvoiceTypeCode name="(\d{7})">(\d{3})<', signed.xml)
    assert type_code is not None
    assert type_code.groups() == (transaction.value.encode(), kind.value.encode())
    assert b"<xades:SigningTime>2026-12-07T12:00:05</xades:SigningTime>" in signed.xml


def test_a_chain_links_each_document_to_the_previous_hash(identity):
    pih = FIRST_PIH
    for icv, (kind, transaction) in enumerate(SIX * 2, start=1):
        signed = sign(document(kind, transaction, icv=icv, pih=pih), identity, signing_time=SIGNED_AT)
        assert verifier.check(signed.xml, expected_pih=pih, expected_icv=icv) == []
        pih = signed.invoice_hash


def test_a_wrong_pih_is_refused(identity):
    first = sign(document(pih=FIRST_PIH), identity)
    second = sign(document(icv=2, pih=FIRST_PIH), identity)  # should have been first.invoice_hash
    assert "PIH is not the previous document's hash" in verifier.check(second.xml, expected_pih=first.invoice_hash)


def test_an_icv_other_than_the_next_is_refused(identity):
    signed = sign(document(icv=3, pih=FIRST_PIH), identity)
    assert any(error.startswith("ICV") for error in verifier.check(signed.xml, expected_pih=FIRST_PIH, expected_icv=2))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b'<cbc:LineExtensionAmount currencyID="SAR">499.00<', b'<cbc:LineExtensionAmount currencyID="SAR">399.00<'),
        (b'<cbc:PayableAmount currencyID="SAR">688.84<', b'<cbc:PayableAmount currencyID="SAR">688.85<'),
        (b'<cbc:InvoicedQuantity unitCode="PCE">3<', b'<cbc:InvoicedQuantity unitCode="PCE">4<'),
    ],
)
def test_one_changed_amount_breaks_the_hash(identity, old, new):
    signed = sign(document(pih=FIRST_PIH), identity)
    assert signed.xml.count(old) == 1
    errors = verifier.check(signed.xml.replace(old, new), expected_pih=FIRST_PIH)
    assert "the invoice hash does not match the document" in errors
    assert "the signature does not verify with the certificate's key" in errors


def test_whitespace_between_elements_is_hashed(identity):
    signed = sign(document(pih=FIRST_PIH), identity)
    moved = signed.xml.replace(b"\n    <cbc:ProfileID>", b"\n  <cbc:ProfileID>", 1)
    assert "the invoice hash does not match the document" in verifier.check(moved, expected_pih=FIRST_PIH)


def test_the_excluded_parts_do_not_change_the_hash(identity):
    signed = sign(document(pih=FIRST_PIH), identity)
    stripped = re.sub(rb"<ext:UBLExtensions>.*</ext:UBLExtensions>", b"<ext:UBLExtensions/>", signed.xml, flags=re.S)
    assert invoice_hash(stripped) == verifier.recompute_hash(stripped) == signed.invoice_hash


def test_a_signature_by_another_key_is_refused(identity):
    signed = sign(document(pih=FIRST_PIH), identity)
    other = ec.generate_private_key(ec.SECP256K1())
    forged = base64.b64encode(other.sign(base64.b64decode(signed.invoice_hash), ec.ECDSA(hashes.SHA256()))).decode()
    errors = verifier.check(signed.xml.replace(signed.signature.encode(), forged.encode()), expected_pih=FIRST_PIH)
    assert "the signature does not verify with the certificate's key" in errors


def test_a_certificate_from_another_ca_is_refused(identity):
    signed = sign(document(pih=FIRST_PIH), identity)
    stranger = ec.generate_private_key(ec.SECP256K1())
    assert "the certificate is not the CA's" in verifier.check(
        signed.xml, expected_pih=FIRST_PIH, ca_public_key=stranger.public_key()
    )


def test_a_key_that_is_not_the_certificate_s_cannot_sign(identity, ca_key):
    other_key = generate_key()
    certificate = issue_certificate(build_csr(csr_request(), generate_key()), ca_key)
    with pytest.raises(SigningError, match="does not belong"):
        SigningIdentity.load(certificate.public_bytes(serialization.Encoding.PEM), key_pem(other_key))
    p256 = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(SigningError, match="secp256k1"):
        SigningIdentity(certificate=identity.certificate, private_key=p256)


def test_changed_signed_properties_are_refused(identity):
    signed = sign(document(pih=FIRST_PIH), identity, signing_time=SIGNED_AT)
    later = signed.xml.replace(b"2026-12-07T12:00:05<", b"2026-12-07T12:00:06<")
    assert "the signed properties digest does not match" in verifier.check(later, expected_pih=FIRST_PIH)


def test_the_signed_properties_digest_covers_their_whitespace(identity):
    signed = sign(document(pih=FIRST_PIH), identity)
    reindented = signed.xml.replace(b"<xades:SignedSignatureProperties>", b" <xades:SignedSignatureProperties>")
    assert "the signed properties digest does not match" in verifier.check(reindented, expected_pih=FIRST_PIH)


def test_a_swapped_certificate_is_refused(identity, ca_key):
    signed = sign(document(pih=FIRST_PIH), identity)
    other = issue_certificate(build_csr(csr_request(), generate_key()), ca_key, serial=7)
    other_text = base64.b64encode(other.public_bytes(serialization.Encoding.DER))
    errors = verifier.check(
        signed.xml.replace(identity.certificate_base64.encode(), other_text), expected_pih=FIRST_PIH
    )
    assert "the signature does not verify with the certificate's key" in errors
    assert "the certificate digest does not match the certificate" in errors


def test_signing_is_deterministic_apart_from_the_ecdsa_nonce(identity):
    one = sign(document(pih=FIRST_PIH), identity, signing_time=SIGNED_AT)
    two = sign(document(pih=FIRST_PIH), identity, signing_time=SIGNED_AT)
    assert one.invoice_hash == two.invoice_hash
    assert one.signed_properties_digest == two.signed_properties_digest
    assert identity.verify(base64.b64decode(two.invoice_hash), one.signature)


def test_the_binary_security_token_form_loads(identity):
    token = base64.b64encode(identity.certificate_base64.encode()).decode()
    key = identity.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert SigningIdentity.from_binary_security_token(token, key).certificate == identity.certificate
