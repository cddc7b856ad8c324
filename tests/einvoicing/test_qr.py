"""The Phase 2 QR: nine tags decoded to the document's values; its signature verifies with the certificate's key."""

from __future__ import annotations

import base64
import re

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from atlas.billing import zatca
from atlas.einvoicing import FIRST_PIH, DocumentKind, Transaction, sign
from atlas.einvoicing.qr import MAX_CHARACTERS, PhaseTwoQr, QrError, decode, decode_fields, encode_fields
from tests.einvoicing.factory import document


def test_a_simplified_invoice_s_qr_has_the_nine_tags(identity):
    signed = sign(document(pih=FIRST_PIH), identity)
    qr = decode(signed.qr)
    assert (qr.seller_name, qr.vat_number, qr.timestamp) == (
        "شركة أطلس لعمليات المخزون",
        "310122393500003",
        "2026-12-07T12:00:00",
    )
    assert (qr.total, qr.vat_total) == ("688.84", "89.85")
    assert qr.invoice_hash == signed.invoice_hash
    assert qr.signature == signed.signature
    assert qr.public_key == identity.certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert qr.certificate_signature == identity.certificate.signature
    assert sorted(decode_fields(signed.qr)) == list(range(1, 10))
    assert len(signed.qr) <= MAX_CHARACTERS
    assert re.search(
        rb"<cbc:ID>QR</cbc:ID>\s*<cac:Attachment>\s*<cbc:EmbeddedDocumentBinaryObject "
        rb'mimeCode="text/plain">' + re.escape(signed.qr.encode()),
        signed.xml,
    )


def test_the_qr_signature_verifies_with_the_qr_s_own_public_key(identity):
    qr = decode(sign(document(pih=FIRST_PIH), identity).qr)
    key = serialization.load_der_public_key(qr.public_key)
    assert isinstance(key, ec.EllipticCurvePublicKey)
    key.verify(base64.b64decode(qr.signature), base64.b64decode(qr.invoice_hash), ec.ECDSA(hashes.SHA256()))


@pytest.mark.parametrize("kind", list(DocumentKind))
def test_a_standard_document_s_qr_has_no_tag_9(identity, kind):
    qr = decode(sign(document(kind, Transaction.STANDARD, pih=FIRST_PIH), identity).qr)
    assert qr.certificate_signature is None


def test_a_payload_over_700_characters_is_refused(identity):
    fields = dict(
        seller_name="س" * 120,
        vat_number="310122393500003",
        timestamp="2026-12-07T12:00:00",
        total="1.00",
        vat_total="0.15",
        invoice_hash="h" * 44,
        signature="s" * 96,
        public_key=b"k" * 88,
        certificate_signature=b"c" * 72,
    )
    with pytest.raises(QrError, match="700"):
        PhaseTwoQr(**fields).encode()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("not base64!", "not base64"),
        (base64.b64encode(bytes([1, 5]) + b"ab").decode(), "truncated"),
        (base64.b64encode(bytes([1, 1]) + b"a" + bytes([1, 1]) + b"b").decode(), "twice"),
        (encode_fields([(1, b"a")]), "lacks tags"),
    ],
)
def test_bad_payloads_are_refused(payload, message):
    with pytest.raises(QrError, match=message):
        decode(payload)


def test_a_field_over_255_bytes_is_refused():
    with pytest.raises(QrError, match="255"):
        encode_fields([(1, b"x" * 256)])


def test_phase_one_payloads_still_work():
    import datetime as dt

    payload = zatca.phase1_payload(
        seller_name="أطلس",
        seller_vat_number="310122393500003",
        issued_at=dt.datetime(2026, 12, 7, 9, tzinfo=dt.UTC),
        total=11_500,
        vat=1_500,
    )
    assert zatca.decode(payload) == {
        1: "أطلس",
        2: "310122393500003",
        3: "2026-12-07T09:00:00Z",
        4: "115.00",
        5: "15.00",
    }
