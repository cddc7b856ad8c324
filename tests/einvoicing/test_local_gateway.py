"""Atlas's own documents at the local ZATCA gateway (issue 20): the gateway (`atlas/zatca_fake/`) is written from the
specification independently of `atlas.einvoicing` and imports none of it, so its acceptance is a real check of
Atlas's CSR, UBL, hash, signature, QR and chain; and its refusals of a tampered document, a wrong PIH and an ICV gap
are the ones ZATCA would give."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from cryptography.hazmat.primitives import serialization

from atlas.einvoicing import FIRST_PIH, DocumentKind, SigningIdentity, Transaction, sign
from atlas.einvoicing.csr import build_csr, csr_for_api, generate_key
from atlas.zatca_fake.app import create_app
from atlas.zatca_fake.options import GatewayOptions
from tests.einvoicing.factory import csr_request, document
from tests.services import asgi_server
from tests.zatca_fake.conftest import Gateway

KINDS = (DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE, DocumentKind.DEBIT_NOTE)


@pytest.fixture
def local_gateway(tmp_path: Path) -> Iterator[Gateway]:
    app = create_app(GatewayOptions(state_file=tmp_path / "zatca.sqlite"))
    with asgi_server(app) as url:
        yield Gateway(url, app)


def body(signed: Any, document_uuid: uuid.UUID) -> dict[str, str]:
    return {
        "invoiceHash": signed.invoice_hash,
        "uuid": str(document_uuid),
        "invoice": base64.b64encode(signed.xml).decode("ascii"),
    }


def onboard(gateway: Gateway) -> tuple[SigningIdentity, tuple[str, str], bytes]:
    """Atlas's CSR → compliance CSID → the six samples, each signed by Atlas → production CSID."""
    key = generate_key()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    answer = gateway.post("compliance", {"csr": csr_for_api(build_csr(csr_request(), key))}, headers={"OTP": "123345"})
    assert answer.status_code == 200, answer.text
    compliance = answer.json()
    identity = SigningIdentity.from_binary_security_token(compliance["binarySecurityToken"], key_pem)
    auth = (compliance["binarySecurityToken"], compliance["secret"])
    pih, icv = FIRST_PIH, 0
    for transaction in (Transaction.STANDARD, Transaction.SIMPLIFIED):
        for kind in KINDS:
            icv += 1
            sample = document(kind, transaction, icv=icv, pih=pih)
            signed = sign(sample, identity)
            checked = gateway.post("compliance/invoices", body(signed, sample.uuid), auth=auth)
            assert checked.status_code == 200, (kind, transaction, checked.text)
            assert checked.json()["validationResults"]["status"] == "PASS", checked.text
            pih = signed.invoice_hash
    production = gateway.post("production/csids", {"compliance_request_id": str(compliance["requestID"])}, auth=auth)
    assert production.status_code == 200, production.text
    token, secret = production.json()["binarySecurityToken"], production.json()["secret"]
    return SigningIdentity.from_binary_security_token(token, key_pem), (token, secret), key_pem


def test_atlas_onboards_and_its_documents_are_reported_and_cleared_in_one_chain(local_gateway: Gateway) -> None:
    gateway = local_gateway
    identity, auth, _ = onboard(gateway)
    pih = FIRST_PIH
    hashes = []
    for icv, (transaction, kind) in enumerate(
        [(t, k) for t in (Transaction.SIMPLIFIED, Transaction.STANDARD) for k in KINDS], start=1
    ):
        sample = document(kind, transaction, icv=icv, pih=pih, number=f"ATL-P-{icv:06d}")
        signed = sign(sample, identity)
        if transaction is Transaction.SIMPLIFIED:
            answer = gateway.post("invoices/reporting/single", body(signed, sample.uuid), auth=auth)
            assert answer.status_code == 200, answer.text
            assert answer.json()["reportingStatus"] == "REPORTED"
        else:
            answer = gateway.post(
                "invoices/clearance/single", body(signed, sample.uuid), auth=auth, headers={"Clearance-Status": "1"}
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["clearanceStatus"] == "CLEARED"
            assert answer.json()["clearedInvoice"]
        pih = signed.invoice_hash
        hashes.append(signed.invoice_hash)
    received = [d for d in gateway.documents() if d["endpoint"] in ("reporting", "clearance")]
    assert [d["invoice_hash"] for d in received] == hashes
    assert [d["icv"] for d in received] == [1, 2, 3, 4, 5, 6]
    assert all(d["accepted"] for d in received)


@pytest.mark.parametrize("fault", ["tampered amount", "wrong pih", "icv gap"])
def test_the_gateway_refuses_what_zatca_refuses(local_gateway: Gateway, fault: str) -> None:
    gateway = local_gateway
    identity, auth, _ = onboard(gateway)
    first = document(DocumentKind.INVOICE, Transaction.SIMPLIFIED, icv=1, pih=FIRST_PIH, number="ATL-P-000001")
    signed = sign(first, identity)
    assert gateway.post("invoices/reporting/single", body(signed, first.uuid), auth=auth).status_code == 200
    second = document(DocumentKind.INVOICE, Transaction.SIMPLIFIED, icv=2, pih=signed.invoice_hash, number="ATL-P-2")
    if fault == "wrong pih":
        second = replace_struct(second, pih=FIRST_PIH)
    if fault == "icv gap":
        second = replace_struct(second, icv=3)
    next_signed = sign(second, identity)
    xml = next_signed.xml
    if fault == "tampered amount":
        xml = xml.replace(b">499.00<", b">399.00<", 1)
        assert xml != next_signed.xml
    answer = gateway.post(
        "invoices/reporting/single",
        {"invoiceHash": next_signed.invoice_hash, "uuid": str(second.uuid), "invoice": base64.b64encode(xml).decode()},
        auth=auth,
    )
    assert answer.status_code == 400, answer.text
    result = answer.json()
    assert result["reportingStatus"] == "NOT_REPORTED"
    assert result["validationResults"]["errorMessages"], result


def replace_struct(value: Any, **changes: Any) -> Any:
    return msgspec.structs.replace(value, **changes)
