"""Every document type Atlas signs passes an independent ZATCA validator from the registry (`fatoora-rs`: the UBL
2.1 XSDs, the CEN and KSA rules of ZATCA's SDK, signature, QR and PIH; see `zatca_validator.py`), and the documents
the tests tamper with fail it for the right reason."""

from __future__ import annotations

import pytest

from atlas.einvoicing import FIRST_PIH, DocumentKind, SigningIdentity, Transaction, sign
from tests.einvoicing import zatca_validator
from tests.einvoicing.factory import document

KINDS = [DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE, DocumentKind.DEBIT_NOTE]
TRANSACTIONS = [Transaction.STANDARD, Transaction.SIMPLIFIED]


@pytest.mark.parametrize("transaction", TRANSACTIONS, ids=lambda t: t.name.lower())
@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name.lower())
def test_each_document_type_passes_the_independent_validator(
    identity: SigningIdentity, kind: DocumentKind, transaction: Transaction
) -> None:
    signed = sign(document(kind, transaction, icv=1, pih=FIRST_PIH), identity)
    assert zatca_validator.problems(signed.xml, FIRST_PIH) == []
    ran = zatca_validator.stages(signed.xml, FIRST_PIH)
    assert ran["xsd"] == ran["cen"] == ran["ksa"] == ran["previous_invoice_hash"] == "completed"
    if transaction is Transaction.SIMPLIFIED:  # a standard document's stamp and QR are ZATCA's, at clearance
        assert ran["signature"] == ran["qr"] == "completed"


def test_a_chain_of_six_documents_passes_link_by_link(identity: SigningIdentity) -> None:
    pih = FIRST_PIH
    for icv, (transaction, kind) in enumerate(((t, k) for t in TRANSACTIONS for k in KINDS), start=1):
        signed = sign(document(kind, transaction, icv=icv, pih=pih), identity)
        assert zatca_validator.problems(signed.xml, pih) == [], (icv, kind, transaction)
        pih = signed.invoice_hash


def test_a_tampered_document_and_a_wrong_pih_fail_it(identity: SigningIdentity) -> None:
    first = sign(document(icv=1, pih=FIRST_PIH), identity)
    second = sign(document(icv=2, pih=first.invoice_hash), identity)
    assert zatca_validator.problems(second.xml, first.invoice_hash) == []

    tampered = second.xml.replace(b"Layla Al-Harbi", b"Layla Al-Harbx")
    assert tampered != second.xml
    codes = [f["code"] for f in zatca_validator.findings(zatca_validator.report(tampered, first.invoice_hash))]
    assert "SIGNATURE_DIGEST" in codes

    other = sign(document(icv=1, pih=FIRST_PIH, number="ATL-OTHER"), identity).invoice_hash
    codes = [f["code"] for f in zatca_validator.findings(zatca_validator.report(second.xml, other))]
    assert "PIH_MISMATCH" in codes
