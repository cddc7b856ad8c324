"""Onboarding against the local gateway: compliance CSID from a CSR, the six samples, production CSID, renewal."""

from __future__ import annotations

import base64

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from tests.zatca_fake.conftest import Gateway
from tests.zatca_fake.signer import VAT, Unit, make_csr


def test_whole_onboarding_issues_certificates_from_the_gateways_ca(gateway: Gateway) -> None:
    key, csr = make_csr()
    answer = gateway.compliance_csid(csr)
    assert answer.status_code == 200, answer.text
    compliance = answer.json()
    assert set(compliance) >= {"requestID", "dispositionMessage", "binarySecurityToken", "secret"}
    assert compliance["dispositionMessage"] == "ISSUED"
    certificate = x509.load_der_x509_certificate(base64.b64decode(base64.b64decode(compliance["binarySecurityToken"])))
    ca = x509.load_pem_x509_certificate(gateway.admin("GET", "ca")["certificate"].encode())
    certificate.verify_directly_issued_by(ca)
    assert certificate.public_key() == key.public_key()
    public_key = certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey) and public_key.curve.name == "secp256k1"
    auth = (compliance["binarySecurityToken"], compliance["secret"])

    unit = Unit(key=key)
    unit.use(compliance["binarySecurityToken"])
    early = gateway.post("production/csids", {"compliance_request_id": str(compliance["requestID"])}, auth=auth)
    assert early.status_code == 400
    assert early.json()["errors"][0]["code"] == "Missing-ComplianceSteps"

    for kind in ("standard", "simplified"):
        for code in ("388", "381", "383"):
            sample = unit.document(kind=kind, type_code=code)
            checked = gateway.post("compliance/invoices", sample.body(), auth=auth)
            assert checked.status_code == 200, checked.text
            result = checked.json()
            assert result["validationResults"]["status"] == "PASS"
            assert result["validationResults"]["errorMessages"] == []
            assert result["validationResults"]["infoMessages"][0]["code"] == "XSD_ZATCA_VALID"
            if kind == "standard":
                assert (result["clearanceStatus"], result["reportingStatus"]) == ("CLEARED", None)
            else:
                assert (result["reportingStatus"], result["clearanceStatus"]) == ("REPORTED", None)

    # The compliance CSID may not report; the production CSID is issued for the same key.
    assert gateway.post("invoices/reporting/single", unit.document(advance=False).body(), auth=auth).status_code == 401
    production = gateway.post("production/csids", {"compliance_request_id": str(compliance["requestID"])}, auth=auth)
    assert production.status_code == 200, production.text
    issued = x509.load_der_x509_certificate(
        base64.b64decode(base64.b64decode(production.json()["binarySecurityToken"]))
    )
    issued.verify_directly_issued_by(ca)
    assert issued.public_key() == key.public_key()
    assert issued.serial_number != certificate.serial_number

    # Renewal (PATCH with OTP and a new CSR for the same unit) gives a new production CSID.
    new_key, new_csr = make_csr()
    renewed = httpx.patch(
        f"{gateway.base}/production/csids",
        json={"csr": base64.b64encode(new_csr).decode()},
        auth=(production.json()["binarySecurityToken"], production.json()["secret"]),
        headers={"Accept-Version": "V2", "OTP": "123345"},
        timeout=30,
    )
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["binarySecurityToken"] != production.json()["binarySecurityToken"]
    assert (
        new_key.public_key()
        == x509.load_der_x509_certificate(
            base64.b64decode(base64.b64decode(renewed.json()["binarySecurityToken"]))
        ).public_key()
    )


def test_standard_only_unit_needs_three_samples(gateway: Gateway) -> None:
    unit, auth = gateway.onboard(title="1000")
    assert unit.certificate is not None


def test_csr_refusals(gateway: Gateway) -> None:
    _, csr = make_csr()
    wrong_otp = gateway.compliance_csid(csr, otp="999999")
    assert wrong_otp.status_code == 400
    assert wrong_otp.json() == {"errors": [{"code": "Invalid-OTP", "message": "The provided OTP is invalid"}]}
    cases = {
        "template": make_csr(template="ZATCA-Code-Signing")[1],  # production's template on the developer portal
        "vat not 3...3": make_csr(vat="123456789012345")[1],
        "vat length": make_csr(vat=VAT[:-1])[1],
        "serial": make_csr(serial="atlas-unit-1")[1],
        "title": make_csr(title="0000")[1],
        "curve": make_csr(key=ec.generate_private_key(ec.SECP256R1()))[1],
    }
    for what, pem in cases.items():
        answer = gateway.compliance_csid(pem)
        assert answer.status_code == 400, what
        assert answer.json()["errors"][0]["code"] == "Invalid-CSR", what
    missing_version = httpx.post(
        f"{gateway.base}/compliance", json={"csr": base64.b64encode(csr).decode()}, headers={"OTP": "123345"}
    )
    assert missing_version.status_code == 400


def test_wrong_secret_is_401(gateway: Gateway) -> None:
    unit, (token, _secret) = gateway.onboard()
    answer = gateway.post("invoices/reporting/single", unit.document(advance=False).body(), auth=(token, "wrong"))
    assert answer.status_code == 401
