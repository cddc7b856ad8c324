"""The gateway's operations apart from HTTP: CSIDs, compliance checks, reporting and clearance, and the chain.

Every operation returns `(status, body)` as ZATCA answers it. The chain (ICV/PIH) is kept per environment and
invoicing unit (the VAT number and the SN of the unit's certificate, so a renewed CSID continues its chain):
a document must carry ICV = previous + 1 and PIH = the previous document's hash; the first one ICV 1 with the
initial PIH, or it continues the unit's compliance samples.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Sequence
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from atlas.zatca_fake.ca import Authority, CsrRefused, Taxpayer, check_csr, security_token
from atlas.zatca_fake.checks import Document, decode_body, inspect
from atlas.zatca_fake.messages import Message, Results, error
from atlas.zatca_fake.options import GatewayOptions, Switches
from atlas.zatca_fake.stamp import stamp
from atlas.zatca_fake.state import ChainHead, Csid, Received, Store
from atlas.zatca_fake.ubl import INITIAL_PIH

Answer = tuple[int, dict[str, Any]]
Endpoint = Literal["compliance/invoices", "reporting", "clearance"]


def csid_error(code: str, message: str) -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message}]}


class Gateway:
    def __init__(self, options: GatewayOptions) -> None:
        self.options = options
        self.store = Store(options.state_file)
        self.switches: Switches = Switches(
            **{f: getattr(options.switches, f) for f in options.switches.__struct_fields__}
        )
        if self.store.authority is None:
            self.authority = Authority.create()
            self.store.save_authority(self.authority.dump())
        else:
            self.authority = Authority.load(self.store.authority)

    # --- CSIDs ----------------------------------------------------------------------------------------------

    def _issue(
        self,
        csr: x509.CertificateSigningRequest,
        csr_pem: str,
        environment: str,
        kind: str,
        taxpayer_vat: str,
        unit_serial: str,
        title: str,
        compliance_request_id: int | None,
    ) -> Csid:
        certificate = self.authority.issue(csr, days=self.options.certificate_days)
        csid = Csid(
            token=security_token(certificate),
            secret=base64.b64encode(secrets.token_bytes(33)).decode(),
            request_id=self.store.next_request_id(),
            kind="compliance" if kind == "compliance" else "production",
            environment=environment,
            certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
            csr_pem=csr_pem,
            vat_number=taxpayer_vat,
            unit_serial=unit_serial,
            title=title,
            compliance_request_id=compliance_request_id,
        )
        self.store.save_csid(csid)
        return csid

    @staticmethod
    def _csid_answer(csid: Csid) -> dict[str, Any]:
        return {
            "requestID": csid.request_id,
            "dispositionMessage": "ISSUED",
            "binarySecurityToken": csid.token,
            "secret": csid.secret,
            "errors": None,
        }

    def _read_csr(self, body: dict[str, Any], environment: str) -> tuple[x509.CertificateSigningRequest, str, Taxpayer]:
        raw = body.get("csr")
        if not isinstance(raw, str) or not raw:
            raise CsrRefused("Missing-CSR", "The csr is missing from the request body")
        try:
            pem = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise CsrRefused("Invalid-CSR", "The csr must be the base64 of the PEM CSR") from None
        csr, taxpayer = check_csr(pem, environment)
        return csr, pem.decode(), taxpayer

    def compliance_csid(self, environment: str, otp: str | None, body: dict[str, Any]) -> Answer:
        if not otp:
            return 400, csid_error("Missing-OTP", "The OTP header is missing")
        if otp != self.options.otp:
            return 400, csid_error("Invalid-OTP", "The provided OTP is invalid")
        try:
            csr, pem, taxpayer = self._read_csr(body, environment)
        except CsrRefused as refused:
            return 400, csid_error(refused.code, refused.message)
        csid = self._issue(
            csr, pem, environment, "compliance", taxpayer.vat_number, taxpayer.unit_serial, taxpayer.title, None
        )
        return 200, self._csid_answer(csid)

    def production_csid(self, environment: str, csid: Csid, body: dict[str, Any]) -> Answer:
        if csid.kind != "compliance":
            return 401, unauthorised()
        request_id = body.get("compliance_request_id")
        if str(request_id) != str(csid.request_id):
            return 400, csid_error("Invalid-Request-ID", "The compliance_request_id is not this CSID's request")
        required = Taxpayer(csid.vat_number, csid.unit_serial, csid.title, "", "").required_types()
        missing = [kind for kind in required if kind not in csid.passed]
        if missing:
            return 400, csid_error(
                "Missing-ComplianceSteps",
                "The compliance checks are not complete; still missing: " + ", ".join(missing),
            )
        csr = x509.load_pem_x509_csr(csid.csr_pem.encode())
        issued = self._issue(
            csr, csid.csr_pem, environment, "production", csid.vat_number, csid.unit_serial, csid.title, csid.request_id
        )
        csid.superseded = True
        self.store.save_csid(csid)
        return 200, self._csid_answer(issued)

    def renew(self, environment: str, csid: Csid, otp: str | None, body: dict[str, Any]) -> Answer:
        """ZATCA's renewal (PATCH production/csids): a new production CSID for a new CSR of the same unit."""
        if csid.kind != "production":
            return 401, unauthorised()
        if otp != self.options.otp:
            return 400, csid_error("Invalid-OTP", "The provided OTP is invalid")
        try:
            csr, pem, taxpayer = self._read_csr(body, environment)
        except CsrRefused as refused:
            return 400, csid_error(refused.code, refused.message)
        if (taxpayer.vat_number, taxpayer.unit_serial) != (csid.vat_number, csid.unit_serial):
            return 400, csid_error("Invalid-CSR", "A renewal must be for the same VAT number and unit (SN)")
        issued = self._issue(
            csr,
            pem,
            environment,
            "production",
            taxpayer.vat_number,
            taxpayer.unit_serial,
            taxpayer.title,
            csid.compliance_request_id,
        )
        csid.superseded = True
        self.store.save_csid(csid)
        return 200, self._csid_answer(issued)

    def authenticate(self, environment: str, username: str, password: str) -> Csid | None:
        csid = self.store.csids.get(username)
        if csid is None or csid.environment != environment or not secrets.compare_digest(csid.secret, password):
            return None
        return csid

    # --- documents ------------------------------------------------------------------------------------------

    def _check(self, body: dict[str, Any], csid: Csid) -> tuple[Document, bytes | None]:
        data, results = decode_body(body)
        if data is None:
            return Document(results=results), None
        certificate = x509.load_pem_x509_certificate(csid.certificate_pem.encode())
        doc = inspect(data, body, authority=self.authority, certificate=certificate, validate=self.switches.validate)
        return doc, data

    def _chain_key(self, csid: Csid, scope: str) -> str:
        return f"{csid.environment}|{csid.unit}|{scope}"

    def _chain(self, doc: Document, csid: Csid) -> tuple[list[Any], bool]:
        """ZATCA-style messages for the document's place in its unit's chain; and whether that place is right."""
        head = self.store.chains.get(self._chain_key(csid, "production"))
        if head is None:
            start = self.store.chains.get(self._chain_key(csid, "compliance"))
            heads = [(0, INITIAL_PIH)] + ([(start.icv, start.invoice_hash)] if start else [])
        else:
            heads = [(head.icv, head.invoice_hash)]
        found = []
        if not any(doc.icv == icv + 1 for icv, _ in heads):
            expected = " or ".join(str(icv + 1) for icv, _ in heads)
            found.append(
                error(
                    "BR-KSA-33",
                    "KSA",
                    f"[BR-KSA-33]-The invoice counter value (ICV) must be {expected}: "
                    "one more than the unit's previous document, without gaps",
                )
            )
        if not any(doc.icv == icv + 1 and doc.pih == pih for icv, pih in heads):
            found.append(error("KSA-13", "KSA", "PIH is inValid"))
        return found, not found

    def _advance(self, doc: Document, csid: Csid, scope: str) -> None:
        assert doc.icv is not None
        assert doc.invoice_hash is not None
        self.store.save_chain(
            ChainHead(key=self._chain_key(csid, scope), icv=doc.icv, invoice_hash=doc.invoice_hash, uuid=doc.uuid or "")
        )

    def _record(
        self,
        endpoint: Endpoint,
        csid: Csid,
        body: dict[str, Any],
        doc: Document,
        status: int,
        outcome: str,
        accepted: bool,
        answer: dict[str, Any],
        cleared: str | None = None,
    ) -> None:
        invoice = body.get("invoice")
        self.store.add_document(
            Received(
                seq=self.store.next_seq(),
                endpoint=endpoint,
                environment=csid.environment,
                unit=csid.unit,
                uuid=doc.uuid,
                invoice_hash=doc.invoice_hash,
                icv=doc.icv,
                pih=doc.pih,
                kind=doc.kind,
                type_code=doc.type_code,
                http_status=status,
                status=outcome,
                accepted=accepted,
                errors=[m.json() for m in doc.results.errors],
                warnings=[m.json() for m in doc.results.warnings],
                invoice=invoice if isinstance(invoice, str) else "",
                cleared_invoice=cleared,
                answer=answer,
            )
        )

    def compliance_invoice(self, csid: Csid, body: dict[str, Any]) -> Answer:
        """A compliance sample: checked like a real document (not chained); passing ones count towards the CSID."""
        if csid.kind != "compliance":
            return 401, unauthorised()
        doc, _ = self._check(body, csid)
        results = doc.results
        if (doc.kind == "standard" and csid.title[0] != "1") or (doc.kind == "simplified" and csid.title[1] != "1"):
            results.add(error("invalid-invoice-type", "KSA", "The CSID's title does not allow this invoice type"))
        ok = not results.errors
        reported = doc.kind != "standard"
        answer: dict[str, Any] = {
            "validationResults": results.json(),
            "reportingStatus": ("REPORTED" if ok else "NOT_REPORTED") if reported else None,
            "clearanceStatus": None if reported else ("CLEARED" if ok else "NOT_CLEARED"),
            "qrSellertStatus": None,
            "qrBuyertStatus": None,
        }
        status = 400 if not ok else 202 if results.warnings else 200
        if ok and doc.type_key and doc.type_key not in csid.passed:
            csid.passed.append(doc.type_key)
            self.store.save_csid(csid)
        if ok and doc.icv is not None:
            self._advance(doc, csid, "compliance")
        self._record(
            "compliance/invoices",
            csid,
            body,
            doc,
            status,
            str(answer["reportingStatus"] or answer["clearanceStatus"]),
            ok,
            answer,
        )
        return status, answer

    def _duplicate(self, endpoint: Endpoint, csid: Csid, doc: Document) -> Received | None:
        for earlier in reversed(self.store.documents):
            if (
                earlier.endpoint == endpoint
                and earlier.accepted
                and earlier.environment == csid.environment
                and (earlier.invoice_hash == doc.invoice_hash or earlier.uuid == doc.uuid)
            ):
                return earlier
        return None

    def submit(
        self,
        endpoint: Literal["reporting", "clearance"],
        csid: Csid,
        body: dict[str, Any],
        clearance_status: str | None,
        refusal: Sequence[Message] = (),
    ) -> Answer:
        """Report or clear a document. ``refusal``: errors a test injected (the `refuse` fault), added to the
        document's own results, so it is refused yet takes its place in the chain like any document read and
        refused (``chain_counts_refused``)."""
        if csid.kind != "production":
            return 401, unauthorised()
        doc, _ = self._check(body, csid)
        doc.results.extend(list(refusal))
        status_key = "reportingStatus" if endpoint == "reporting" else "clearanceStatus"
        refused_status = "NOT_REPORTED" if endpoint == "reporting" else "NOT_CLEARED"
        if doc.root is not None and doc.kind is not None:
            if endpoint == "reporting" and doc.kind == "standard" and self.switches.clearance_enabled:
                return 303, {
                    "validationResults": Results(
                        [
                            error(
                                "invoice-type",
                                "KSA",
                                "Standard documents must be cleared: use invoices/clearance/single",
                            )
                        ]
                    ).json(),
                    status_key: refused_status,
                }
            if endpoint == "clearance" and doc.kind == "simplified":
                doc.results.add(
                    error(
                        "invoice-type",
                        "KSA",
                        "Simplified documents are reported, not cleared: use invoices/reporting/single",
                    )
                )
            if endpoint == "clearance" and clearance_status == "0":
                return 303, {
                    "validationResults": Results(
                        [error("clearance-deactivated", "KSA", "Clearance is deactivated: report the document")]
                    ).json(),
                    status_key: refused_status,
                }
        duplicate = self._duplicate(endpoint, csid, doc) if doc.invoice_hash else None
        if duplicate is not None:
            if endpoint == "clearance":
                return 208, duplicate.answer
            return 409, {
                "validationResults": Results(
                    [error("Duplicate-Invoice", "KSA", "Invoice was already reported successfully earlier.")]
                ).json(),
                status_key: refused_status,
            }
        chain_ok = True
        if (
            self.switches.validate
            and self.switches.chain
            and doc.root is not None
            and not any(m.category == "XSD validation" for m in doc.results.errors)
        ):
            messages, chain_ok = self._chain(doc, csid)
            doc.results.extend(messages)
        ok = not doc.results.errors
        cleared: str | None = None
        if ok and endpoint == "clearance" and doc.root is not None:
            cleared = base64.b64encode(stamp(doc.root, self.authority)).decode()
        answer: dict[str, Any] = {
            "validationResults": doc.results.json(),
            status_key: ("REPORTED" if endpoint == "reporting" else "CLEARED") if ok else refused_status,
        }
        if endpoint == "clearance":
            answer["clearedInvoice"] = cleared
        status = 400 if not ok else 202 if doc.results.warnings else 200
        advances = ok or (self.switches.chain_counts_refused and chain_ok and doc.signature_ok)
        if advances and doc.icv is not None and doc.invoice_hash is not None:
            self._advance(doc, csid, "production")
        self._record(endpoint, csid, body, doc, status, answer[status_key], ok, answer, cleared)
        return status, answer

    def reset(self) -> None:
        self.store.reset()
        self.switches = Switches(
            **{f: getattr(self.options.switches, f) for f in self.options.switches.__struct_fields__}
        )


def unauthorised() -> dict[str, Any]:
    return {"timestamp": None, "status": 401, "error": "Unauthorized", "message": ""}
