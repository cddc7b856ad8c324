"""ZATCA's e-invoicing gateway (Fatoora) for Atlas's own invoices: an async client over httpx, typed answers.

Besides Moyasar's client, the one billing module allowed an HTTP client (tests/test_architecture.py): it talks to
ZATCA, the tax authority, never to a customer system. Routes (`/work/shared/docs/zatca.md`, `docs/zatca-fake.md`):
`{base_url}/{environment}/compliance`, `compliance/invoices`, `production/csids` (POST: the first production CSID;
PATCH: its renewal), `invoices/reporting/single`, `invoices/clearance/single`.

- Every request sends `Accept-Version: V2` and `Accept-Language`; document routes authenticate with HTTP Basic
  (the CSID's `binarySecurityToken` as user name, its `secret` as password); the CSID request sends the OTP header.
- What ZATCA decides is an answer (`GatewayAnswer`), a refusal included (4xx: its messages as ZATCA sends them);
  409/208 ("already reported / cleared") is a success, since the document is at ZATCA. What says "try again
  later" raises `GatewayUnavailable` (timeouts, connection errors, 5xx), and 401 raises `GatewayAuthRefused` (the
  CSID is wrong or revoked: retrying does not help).
- Nothing here logs a token, a secret, an OTP or a private key; the answer keeps the CSID it received
  (`binary_security_token`, `secret`) out of its repr.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, Self

import httpx
import structlog

if TYPE_CHECKING:
    from atlas.config import Settings

__all__ = [
    "DEFAULT_GATEWAY_URL",
    "ENVIRONMENTS",
    "GatewayAnswer",
    "GatewayAuthRefused",
    "GatewayError",
    "GatewayUnavailable",
    "ZatcaGateway",
    "ZatcaMessage",
]

log = structlog.get_logger("atlas.billing.zatca_gateway")

DEFAULT_GATEWAY_URL: Final = "https://gw-fatoora.zatca.gov.sa/e-invoicing"
ENVIRONMENTS: Final = ("developer-portal", "simulation", "core")
Environment = Literal["developer-portal", "simulation", "core"]
Auth = tuple[str, str]


class GatewayError(Exception):
    """Base of the gateway's exceptions; `message` is safe to keep and show (never a token, secret or OTP)."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class GatewayUnavailable(GatewayError):
    """ZATCA did not decide: a timeout, a connection error or a 5xx. Transient: the same request may be retried."""


class GatewayAuthRefused(GatewayError):
    """401: ZATCA does not accept the CSID (wrong token or secret, wrong environment, a compliance CSID where a
    production one is needed, revoked). Not transient: the unit must be (re)onboarded."""


@dataclass(frozen=True, slots=True)
class ZatcaMessage:
    """One of ZATCA's validation messages, as it sends them."""

    type: str
    code: str
    category: str
    message: str
    status: str

    def json(self) -> dict[str, str]:
        return {
            "type": self.type,
            "code": self.code,
            "category": self.category,
            "message": self.message,
            "status": self.status,
        }


@dataclass(frozen=True, slots=True)
class GatewayAnswer:
    """What ZATCA answered. `accepted`: the document (or CSID request) is at ZATCA, a duplicate included.

    `status` is ZATCA's word: REPORTED / NOT_REPORTED, CLEARED / NOT_CLEARED, the compliance check's
    validationResults status (PASS / WARNING / ERROR), ISSUED for a CSID, or the error code of a refusal.
    For a CSID request, `request_id`, `binary_security_token` and `secret` are set (the last two kept out of repr).
    """

    status_code: int
    accepted: bool
    status: str | None
    info: tuple[ZatcaMessage, ...] = ()
    warnings: tuple[ZatcaMessage, ...] = ()
    errors: tuple[ZatcaMessage, ...] = ()
    cleared_xml: bytes | None = field(default=None, repr=False)
    duplicate: bool = False
    validation_status: str | None = None
    request_id: str | None = None
    binary_security_token: str | None = field(default=None, repr=False)
    secret: str | None = field(default=None, repr=False)

    @property
    def messages(self) -> dict[str, list[dict[str, str]]]:
        """The messages as JSON (to store with a document or a compliance check)."""
        return {
            "info": [m.json() for m in self.info],
            "warnings": [m.json() for m in self.warnings],
            "errors": [m.json() for m in self.errors],
        }

    @property
    def error_codes(self) -> tuple[str, ...]:
        return tuple(m.code for m in self.errors)


def _messages(raw: Any, default_type: str) -> tuple[ZatcaMessage, ...]:
    if not isinstance(raw, list):
        return ()
    found = []
    for item in raw:
        if isinstance(item, dict):
            found.append(
                ZatcaMessage(
                    type=str(item.get("type") or default_type),
                    code=str(item.get("code") or ""),
                    category=str(item.get("category") or ""),
                    message=str(item.get("message") or ""),
                    status=str(item.get("status") or ""),
                )
            )
        elif isinstance(item, str):
            found.append(ZatcaMessage(default_type, "", "", item, default_type))
    return tuple(found)


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        decoded = response.json()
    except ValueError:
        return {}
    return decoded if isinstance(decoded, dict) else {}


def _document_answer(response: httpx.Response, status_key: str | None) -> GatewayAnswer:
    body = _body(response)
    results = body.get("validationResults") if isinstance(body.get("validationResults"), dict) else {}
    assert isinstance(results, dict)
    errors = _messages(results.get("errorMessages"), "ERROR")
    if not errors and response.status_code >= 400:
        # A refusal outside validationResults: {"code", "message"} or {"errors": [...]}
        errors = _messages(body.get("errors"), "ERROR") or (
            (ZatcaMessage("ERROR", str(body.get("code") or ""), "", str(body.get("message") or ""), "ERROR"),)
            if body.get("code") or body.get("message")
            else ()
        )
    code = response.status_code
    duplicate = code in (208, 409)
    status = str(body.get(status_key)) if status_key and body.get(status_key) else None
    validation_status = str(results.get("status")) if results.get("status") else None
    if status is None:
        status = validation_status
    cleared: bytes | None = None
    raw_cleared = body.get("clearedInvoice")
    if isinstance(raw_cleared, str) and raw_cleared:
        try:
            cleared = base64.b64decode(raw_cleared, validate=True)
        except (binascii.Error, ValueError):
            cleared = None
    accepted = duplicate or (code in (200, 202) and not errors)
    return GatewayAnswer(
        status_code=code,
        accepted=accepted,
        status=status,
        info=_messages(results.get("infoMessages"), "INFO"),
        warnings=_messages(results.get("warningMessages"), "WARNING"),
        errors=errors,
        cleared_xml=cleared,
        duplicate=duplicate,
        validation_status=validation_status,
    )


def _csid_answer(response: httpx.Response) -> GatewayAnswer:
    body = _body(response)
    errors = _messages(body.get("errors"), "ERROR")
    if not errors and response.status_code >= 400 and (body.get("code") or body.get("message")):
        errors = (ZatcaMessage("ERROR", str(body.get("code") or ""), "", str(body.get("message") or ""), "ERROR"),)
    token = body.get("binarySecurityToken")
    secret = body.get("secret")
    ok = response.status_code == 200 and isinstance(token, str) and isinstance(secret, str) and not errors
    request_id = body.get("requestID")
    return GatewayAnswer(
        status_code=response.status_code,
        accepted=ok,
        status=str(body.get("dispositionMessage")) if ok else (errors[0].code if errors else None),
        errors=errors,
        request_id=str(request_id) if ok and request_id is not None else None,
        binary_security_token=token if ok else None,
        secret=secret if ok else None,
    )


class ZatcaGateway:
    """One environment of ZATCA's gateway. Use as `async with ZatcaGateway(url, env) as gateway:` or `aclose()`.

    `transport` is for tests (an in-process ASGI transport); the real use goes over the network.
    """

    def __init__(
        self,
        base_url: str,
        environment: str,
        *,
        timeout: float = 30.0,
        language: str = "en",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if environment not in ENVIRONMENTS:
            raise ValueError(f"environment must be one of {', '.join(ENVIRONMENTS)}")
        self.base_url = base_url.rstrip("/")
        self.environment = environment
        self.timeout = timeout
        self.language = language
        self._client = httpx.AsyncClient(
            base_url=f"{self.base_url}/{environment}/",
            timeout=httpx.Timeout(timeout),
            transport=transport,
            headers={"Accept": "application/json", "Accept-Version": "V2", "Accept-Language": language},
        )

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> ZatcaGateway:
        """The gateway the settings name (`ATLAS_ZATCA_GATEWAY_URL`, `ATLAS_ZATCA_ENVIRONMENT`)."""
        return cls(
            settings.zatca_gateway_url,
            settings.zatca_environment,
            timeout=settings.zatca_timeout_seconds,
            **kwargs,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    # --- the requests ----------------------------------------------------------------------------------------

    async def _post(
        self,
        path: str,
        body: dict[str, Any],
        *,
        auth: Auth | None = None,
        headers: dict[str, str] | None = None,
        method: str = "POST",
    ) -> httpx.Response:
        try:
            if auth is None:
                response = await self._client.request(method, path, json=body, headers=headers)
            else:
                response = await self._client.request(
                    method, path, json=body, auth=httpx.BasicAuth(*auth), headers=headers
                )
        except httpx.TimeoutException:
            log.warning("zatca_gateway.timeout", path=path, environment=self.environment)
            raise GatewayUnavailable(f"ZATCA's gateway did not answer within {self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            log.warning("zatca_gateway.unreachable", path=path, environment=self.environment, error=type(exc).__name__)
            raise GatewayUnavailable(f"ZATCA's gateway could not be reached ({type(exc).__name__})") from None
        log.info("zatca_gateway.answer", path=path, environment=self.environment, status=response.status_code)
        if response.status_code >= 500:
            raise GatewayUnavailable(
                f"ZATCA's gateway answered {response.status_code}: try again later", status_code=response.status_code
            )
        if response.status_code == 401:
            raise GatewayAuthRefused(
                "ZATCA refused the unit's credentials (401): onboard the unit again", status_code=401
            )
        return response

    @staticmethod
    def _document(invoice_hash: str, uuid: str, xml: bytes) -> dict[str, str]:
        return {"invoiceHash": invoice_hash, "uuid": str(uuid), "invoice": base64.b64encode(xml).decode("ascii")}

    async def compliance_csid(self, otp: str, csr_b64: str) -> GatewayAnswer:
        """`POST compliance`: a compliance CSID for the CSR (base64 of its PEM), with the Fatoora portal's OTP."""
        return _csid_answer(await self._post("compliance", {"csr": csr_b64}, headers={"OTP": otp}))

    async def compliance_check(self, auth: Auth, invoice_hash: str, uuid: str, xml: bytes) -> GatewayAnswer:
        """`POST compliance/invoices`: a sample document, signed with the compliance CSID's certificate."""
        response = await self._post("compliance/invoices", self._document(invoice_hash, uuid, xml), auth=auth)
        # A sample passes when ZATCA answers 2xx without an error (validation status PASS, or WARNING).
        return _document_answer(response, None)

    async def production_csid(self, auth: Auth, compliance_request_id: str) -> GatewayAnswer:
        """`POST production/csids`, authenticated with the compliance CSID, once every sample passed."""
        return _csid_answer(
            await self._post("production/csids", {"compliance_request_id": str(compliance_request_id)}, auth=auth)
        )

    async def renew_csid(self, auth: Auth, otp: str, csr_b64: str) -> GatewayAnswer:
        """`PATCH production/csids`: renew the production CSID with a new CSR (base64 of its PEM) of the same unit
        and an OTP from the Fatoora portal, authenticated with the current production CSID. The answer is a new
        production CSID (`binary_security_token`, `secret`); a refusal keeps the current one."""
        return _csid_answer(
            await self._post("production/csids", {"csr": csr_b64}, auth=auth, headers={"OTP": otp}, method="PATCH")
        )

    async def report(self, auth: Auth, invoice_hash: str, uuid: str, xml: bytes) -> GatewayAnswer:
        """`POST invoices/reporting/single`: a simplified document (within 24 hours of issuing it)."""
        response = await self._post(
            "invoices/reporting/single",
            self._document(invoice_hash, uuid, xml),
            auth=auth,
            headers={"Clearance-Status": "0"},
        )
        return _document_answer(response, "reportingStatus")

    async def clear(self, auth: Auth, invoice_hash: str, uuid: str, xml: bytes) -> GatewayAnswer:
        """`POST invoices/clearance/single`: a standard document; `cleared_xml` is ZATCA's stamped copy."""
        response = await self._post(
            "invoices/clearance/single",
            self._document(invoice_hash, uuid, xml),
            auth=auth,
            headers={"Clearance-Status": "1"},
        )
        return _document_answer(response, "clearanceStatus")
