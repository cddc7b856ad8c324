"""Reporting and clearance of documents the test builds and signs, and ZATCA's refusals."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import etree

from tests.zatca_fake.conftest import Gateway
from tests.zatca_fake.signer import FIRST_PIH, Line, N, hash_of

REPORT = "invoices/reporting/single"
CLEAR = "invoices/clearance/single"


def codes(answer: dict) -> set[str]:  # type: ignore[type-arg]
    return {m["code"] for m in answer["validationResults"]["errorMessages"]}


def test_first_pih_is_base64_of_the_hex_sha256_of_zero() -> None:
    assert FIRST_PIH == "NWZlY2ViNjZmZmM4NmYzOGQ5NTI3ODZjNmQ2OTZjNzljMmRiYzIzOWRkNGU5MWI0NjcyOWQ3M2EyN2ZiNTdlOQ=="


def test_reporting_and_clearance_keep_one_chain(gateway: Gateway) -> None:
    unit, auth = gateway.onboard()
    simplified = unit.document(
        kind="simplified",
        lines=[Line("Plan", Decimal(3), Decimal("99.99")), Line("Extra seat", Decimal(2), Decimal("12.35"))],
    )
    reported = gateway.post(REPORT, simplified.body(), auth=auth)
    assert reported.status_code == 200, reported.text
    assert reported.json()["reportingStatus"] == "REPORTED"
    assert simplified.icv == 7  # after the six compliance samples
    # Per-line VAT (45.00 + 3.71) differs from the document's (324.67 x 15% = 48.70): ZATCA's rounding.
    assert b'<cbc:TaxAmount currencyID="SAR">48.70</cbc:TaxAmount>' in simplified.xml

    standard = unit.document(kind="standard")
    cleared = gateway.post(CLEAR, standard.body(), auth=auth, headers={"Clearance-Status": "1"})
    assert cleared.status_code == 200, cleared.text
    answer = cleared.json()
    assert answer["clearanceStatus"] == "CLEARED"
    xml = base64.b64decode(answer["clearedInvoice"])
    # The cleared invoice has the same hash, ZATCA's stamp (verifiable with its certificate) and a QR.
    assert hash_of(xml) == standard.invoice_hash
    root = etree.fromstring(xml)
    stamp = x509.load_pem_x509_certificate(gateway.admin("GET", "ca")["stamp_certificate"].encode())
    signature = base64.b64decode(root.xpath("//ds:SignatureValue", namespaces=N)[0].text)
    stamp_key = stamp.public_key()
    assert isinstance(stamp_key, ec.EllipticCurvePublicKey)
    stamp_key.verify(signature, base64.b64decode(standard.invoice_hash), ec.ECDSA(hashes.SHA256()))
    qr = root.xpath("//cac:AdditionalDocumentReference[cbc:ID='QR']//cbc:EmbeddedDocumentBinaryObject", namespaces=N)[
        0
    ].text
    raw = base64.b64decode(qr)
    tags, i = {}, 0
    while i < len(raw):
        tags[raw[i]] = raw[i + 2 : i + 2 + raw[i + 1]]
        i += 2 + raw[i + 1]
    assert tags[6].decode() == standard.invoice_hash
    assert tags[8] == stamp_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    received = gateway.documents()
    assert [(d["endpoint"], d["icv"], d["accepted"]) for d in received[-2:]] == [
        ("reporting", 7, True),
        ("clearance", 8, True),
    ]
    assert received[-1]["pih"] == simplified.invoice_hash

    # Duplicates: reporting answers 409, clearance 208 with the cleared invoice again; the chain does not move.
    again = gateway.post(REPORT, simplified.body(), auth=auth)
    assert again.status_code == 409
    assert again.json()["reportingStatus"] == "NOT_REPORTED"
    twice = gateway.post(CLEAR, standard.body(), auth=auth)
    assert twice.status_code == 208
    assert twice.json()["clearedInvoice"] == answer["clearedInvoice"]
    assert gateway.post(REPORT, unit.document().body(), auth=auth).status_code == 200


def test_wrong_endpoint_for_the_kind(gateway: Gateway) -> None:
    unit, auth = gateway.onboard()
    standard = unit.document(kind="standard", advance=False)
    assert gateway.post(REPORT, standard.body(), auth=auth).status_code == 303
    simplified = unit.document(kind="simplified", advance=False)
    refused = gateway.post(CLEAR, simplified.body(), auth=auth)
    assert refused.status_code == 400
    assert "invoice-type" in codes(refused.json())


def test_tampered_amount_is_refused(gateway: Gateway) -> None:
    unit, auth = gateway.onboard()
    signed = unit.document(advance=False)
    tampered = signed.xml.replace(
        b'<cbc:PayableAmount currencyID="SAR">343.85<', b'<cbc:PayableAmount currencyID="SAR">1.00<'
    )
    assert tampered != signed.xml
    body = {**signed.body(), "invoice": base64.b64encode(tampered).decode()}
    refused = gateway.post(REPORT, body, auth=auth)
    assert refused.status_code == 400
    assert refused.json()["reportingStatus"] == "NOT_REPORTED"
    assert {"invalid-invoice-hash", "invalid-signature"} <= codes(refused.json())
    # Signed properly but with wrong arithmetic: the totals are checked.
    right = unit.document(vat="44.85", gross="343.85")  # 15% of 299.00 is 44.85
    assert gateway.post(REPORT, right.body(), auth=auth).status_code == 200
    bad = unit.document(advance=False, vat="45.00", gross="344.00")
    answer = gateway.post(REPORT, bad.body(), auth=auth)
    assert answer.status_code == 400
    assert codes(answer.json()) == {"BR-CO-17"}
    assert "BR-CO-15" not in codes(answer.json())  # 299.00 + 45.00 = 344.00 holds
    inclusive = unit.document(advance=False, gross="343.00")
    assert "BR-CO-15" in codes(gateway.post(REPORT, inclusive.body(), auth=auth).json())


def test_wrong_pih_and_icv_gap_are_refused(gateway: Gateway) -> None:
    unit, auth = gateway.onboard()
    first = unit.document()
    assert gateway.post(REPORT, first.body(), auth=auth).status_code == 200
    wrong_pih = unit.document(advance=False, pih=FIRST_PIH)
    answer = gateway.post(REPORT, wrong_pih.body(), auth=auth)
    assert answer.status_code == 400
    assert codes(answer.json()) == {"KSA-13"}
    gap = unit.document(advance=False, icv=unit.icv + 2)
    answer = gateway.post(REPORT, gap.body(), auth=auth)
    assert answer.status_code == 400
    assert "BR-KSA-33" in codes(answer.json())
    # Neither moved the chain: the right next document is accepted.
    assert gateway.post(REPORT, unit.document().body(), auth=auth).status_code == 200


def test_refused_document_with_a_right_chain_position_takes_its_icv(gateway: Gateway) -> None:
    """ZATCA: ICV and PIH move for every document, accepted or not; a refused one's successor links to it."""
    unit, auth = gateway.onboard()
    refused = unit.document(gross="1.00")  # wrong totals, right ICV/PIH, valid signature
    assert gateway.post(REPORT, refused.body(), auth=auth).status_code == 400
    assert gateway.post(REPORT, unit.document().body(), auth=auth).status_code == 200
    gateway.admin("PUT", "settings", json={"chain_counts_refused": False})
    refused = unit.document(gross="1.00")
    assert gateway.post(REPORT, refused.body(), auth=auth).status_code == 400
    answer = gateway.post(REPORT, unit.document(advance=False).body(), auth=auth)
    assert "KSA-13" in codes(answer.json())


def test_bad_signature_is_refused(gateway: Gateway) -> None:
    unit, auth = gateway.onboard()
    other = ec.generate_private_key(ec.SECP256K1())
    original = unit.key
    unit.key = other
    try:
        signed = unit.document(advance=False)
    finally:
        unit.key = original
    answer = gateway.post(REPORT, signed.body(), auth=auth)
    assert answer.status_code == 400
    assert "invalid-signature" in codes(answer.json())


def test_certificate_from_another_ca_is_refused(gateway: Gateway) -> None:
    unit, auth = gateway.onboard()
    assert unit.certificate is not None
    rogue_key = ec.generate_private_key(ec.SECP256K1())
    now = datetime.now(UTC)
    forged = (
        x509.CertificateBuilder()
        .subject_name(unit.certificate.subject)
        .issuer_name(unit.certificate.issuer)  # claims the gateway's CA as issuer
        .public_key(unit.key.public_key())
        .serial_number(unit.certificate.serial_number)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            unit.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value, critical=False
        )
        .sign(rogue_key, hashes.SHA256())
    )
    genuine = unit.certificate
    unit.certificate = forged
    try:
        signed = unit.document(advance=False)
    finally:
        unit.certificate = genuine
    answer = gateway.post(REPORT, signed.body(), auth=auth)
    assert answer.status_code == 400
    assert "certificate-issuer" in codes(answer.json())
    assert forged.subject.get_attributes_for_oid(NameOID.COMMON_NAME)


def test_schema_errors_are_refused(gateway: Gateway) -> None:
    unit, auth = gateway.onboard()
    no_date = unit.document(
        advance=False,
        edit=lambda t: t.replace(
            t[t.index("<cbc:IssueDate>") : t.index("</cbc:IssueDate>") + len("</cbc:IssueDate>")], "", 1
        ),
    )
    answer = gateway.post(REPORT, no_date.body(), auth=auth)
    assert answer.status_code == 400
    messages = answer.json()["validationResults"]["errorMessages"]
    assert any(m["code"] == "XSD_ZATCA_INVALID" and "IssueDate" in m["message"] for m in messages)
    assert answer.json()["validationResults"]["infoMessages"] == []
    broken = {
        "invoiceHash": no_date.invoice_hash,
        "uuid": no_date.uuid,
        "invoice": base64.b64encode(b"<Invoice><unclosed></Invoice>").decode(),
    }
    answer = gateway.post(REPORT, broken, auth=auth)
    assert answer.status_code == 400
    assert codes(answer.json()) == {"XSD_ZATCA_INVALID"}
    bad_type = unit.document(advance=False, type_code="380")
    assert "BR-KSA-05" in codes(gateway.post(REPORT, bad_type.body(), auth=auth).json())
    note_without_reference = unit.document(advance=False, type_code="381", billing="")
    assert "BR-KSA-56" in codes(gateway.post(REPORT, note_without_reference.body(), auth=auth).json())


def test_qr_must_match_the_xml(gateway: Gateway) -> None:
    unit, auth = gateway.onboard()
    signed = unit.document(advance=False)
    root = etree.fromstring(signed.xml)
    element = root.xpath(
        "//cac:AdditionalDocumentReference[cbc:ID='QR']//cbc:EmbeddedDocumentBinaryObject", namespaces=N
    )[0]
    raw = bytearray(base64.b64decode(element.text))
    seller = b"Atlas Test Co"
    start = raw.index(seller)
    raw[start : start + len(seller)] = b"Other Test Co"
    element.text = base64.b64encode(bytes(raw)).decode()
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    assert hash_of(xml) == signed.invoice_hash  # the QR is outside the hash
    answer = gateway.post(REPORT, {**signed.body(), "invoice": base64.b64encode(xml).decode()}, auth=auth)
    assert answer.status_code == 400
    assert codes(answer.json()) == {"sellerName_QRCODE_INVALID"}
    assert hashlib.sha256(b"0").hexdigest() in base64.b64decode(FIRST_PIH).decode()


def test_expired_certificate_and_other_environment(gateway: Gateway) -> None:
    from atlas.zatca_fake.checks import inspect

    unit, auth = gateway.onboard()
    signed = unit.document(advance=False)
    assert gateway.app is not None
    authority = gateway.app.gateway.authority
    now = inspect(signed.xml, signed.body(), authority=authority, certificate=unit.certificate)
    assert now.results.errors == [] and now.signature_ok
    later = inspect(
        signed.xml,
        signed.body(),
        authority=authority,
        certificate=unit.certificate,
        now=datetime.now(UTC) + timedelta(days=400),
    )
    assert [m.code for m in later.results.errors] == ["certificate-expired"]
    # A developer-portal CSID does not authenticate on the simulation environment.
    other = httpx.post(
        f"{gateway.url}/e-invoicing/simulation/{REPORT}",
        json=signed.body(),
        auth=auth,
        headers={"Accept-Version": "V2"},
        timeout=30,
    )
    assert other.status_code == 401


def test_tampered_signed_properties_are_refused(gateway: Gateway) -> None:
    unit, auth = gateway.onboard()
    signed = unit.document(advance=False)
    root = etree.fromstring(signed.xml)
    root.xpath("//xades:SigningTime", namespaces=N)[0].text = "2020-01-01T00:00:00"
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    answer = gateway.post(REPORT, {**signed.body(), "invoice": base64.b64encode(xml).decode()}, auth=auth)
    assert answer.status_code == 400
    assert codes(answer.json()) == {"signed-properties-hashing"}


def test_an_issue_date_after_today_in_saudi_arabia_is_refused(gateway: Gateway) -> None:
    """BR-KSA-04 on ZATCA's clock (UTC+3): today in Riyadh is accepted even when it is still yesterday in UTC; the
    day after is refused."""
    unit, auth = gateway.onboard()
    riyadh_today = (datetime.now(UTC) + timedelta(hours=3)).date()
    # refused, yet read with its chain position right: it takes its ICV, and the next document links to it
    tomorrow = unit.document(date=(riyadh_today + timedelta(days=1)).isoformat())
    answer = gateway.post(REPORT, tomorrow.body(), auth=auth)
    assert answer.status_code == 400 and codes(answer.json()) == {"BR-KSA-04"}
    today = unit.document(date=riyadh_today.isoformat())
    assert gateway.post(REPORT, today.body(), auth=auth).status_code == 200
