"""The local ZATCA gateway's HTTP API: ZATCA's routes under /e-invoicing/{environment}/ and the /_fake admin API.

| route                                    | auth                         | what                                     |
| ---------------------------------------- | ---------------------------- | ---------------------------------------- |
| POST compliance                          | header OTP                   | compliance CSID from a CSR               |
| POST compliance/invoices                 | Basic (compliance CSID)      | check a sample document                  |
| POST production/csids                    | Basic (compliance CSID)      | production CSID once every sample passed |
| PATCH production/csids                   | Basic (production CSID), OTP | renew the production CSID with a new CSR |
| POST invoices/reporting/single           | Basic (production CSID)      | report a simplified document             |
| POST invoices/clearance/single           | Basic (production CSID)      | clear a standard document                |
| /_fake/settings, faults, documents, reset, ca | none                    | tests and the demo (bind to 127.0.0.1)   |

`environment` is developer-portal, simulation or core. Requests carry `Accept-Version: V2`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from typing import Any

import msgspec
from cryptography.hazmat.primitives import serialization
from litestar import Litestar, Request, Response, delete, get, patch, post, put
from litestar.datastructures import State
from litestar.params import FromPath

from atlas.zatca_fake.ca import TEMPLATES
from atlas.zatca_fake.faults import FaultRule, Faults
from atlas.zatca_fake.gateway import Gateway, unauthorised
from atlas.zatca_fake.messages import error
from atlas.zatca_fake.options import GatewayOptions, Switches
from atlas.zatca_fake.state import Csid

__all__ = ["GatewayApp", "create_app"]


class GatewayApp(Litestar):
    """The Litestar app with its `gateway` and `faults` at hand (tests reach them directly)."""

    gateway: Gateway
    faults: Faults


def _gateway(request: Request[Any, Any, Any]) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


def _answer(status: int, body: dict[str, Any]) -> Response[Any]:
    headers: dict[str, str] = {}
    return Response(body, status_code=status, headers=headers, media_type="application/json")


async def _json(request: Request[Any, Any, Any]) -> dict[str, Any] | None:
    raw = await request.body()
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _credentials(request: Request[Any, Any, Any]) -> tuple[str, str] | None:
    scheme, _, encoded = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        user, sep, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


SUBMISSIONS = ("invoices/reporting/single", "invoices/clearance/single")


async def _gate(
    request: Request[Any, Any, Any], environment: str, path: str
) -> tuple[Response[Any] | None, FaultRule | None]:
    """What every gateway request goes through: the environment, the API version, and the injected faults. A
    `refuse` fault on reporting or clearance is handed back rather than answered here: the document is then checked
    as usual and refused with the fault's messages added, so it takes its place in the chain as any document ZATCA
    refuses after reading it (`chain_counts_refused`)."""
    if environment not in TEMPLATES:
        return _answer(404, {"code": "Not-Found", "message": f"Unknown environment {environment}"}), None
    fault = request.app.state.faults.take(path)
    injected: FaultRule | None = None
    if fault is not None:
        if fault.kind == "hang":
            await asyncio.sleep(fault.seconds)
            return _answer(504, {"code": "Gateway-Timeout", "message": "The gateway did not answer in time"}), None
        if fault.kind == "server_error":
            return _answer(
                fault.status or 500,
                {"code": "Internal-Server-Error", "message": "Something went wrong, please try again later"},
            ), None
        if path in SUBMISSIONS:
            injected = fault
        else:
            return _answer(400, _refusal(fault, path)), None
    if request.headers.get("accept-version") != "V2":
        return _answer(400, {"code": "Invalid-Request", "message": "The Accept-Version header must be V2"}), None
    language = request.headers.get("accept-language")
    if language is not None and language.split(",")[0].strip().lower()[:2] not in ("ar", "en"):
        return _answer(400, {"code": "Invalid-Request", "message": "Accept-Language must be ar or en"}), None
    return None, injected


def _refusal(fault: FaultRule, path: str) -> dict[str, Any]:
    messages = [
        {"type": "ERROR", "code": m.code, "category": m.category, "message": m.message, "status": "ERROR"}
        for m in fault.messages
    ]
    status_key = "clearanceStatus" if "clearance" in path else "reportingStatus"
    return {
        "validationResults": {"infoMessages": [], "warningMessages": [], "errorMessages": messages, "status": "ERROR"},
        status_key: "NOT_CLEARED" if status_key == "clearanceStatus" else "NOT_REPORTED",
    }


def _authenticated(request: Request[Any, Any, Any], environment: str) -> Csid | None:
    credentials = _credentials(request)
    if credentials is None:
        return None
    return _gateway(request).authenticate(environment, *credentials)


@post("/e-invoicing/{environment:str}/compliance", status_code=200)
async def compliance(request: Request[Any, Any, Any], environment: FromPath[str]) -> Response[Any]:
    blocked, _ = await _gate(request, environment, "compliance")
    if blocked is not None:
        return blocked
    body = await _json(request)
    if body is None:
        return _answer(400, {"errors": [{"code": "Invalid-Request", "message": "The body must be a JSON object"}]})
    return _answer(*_gateway(request).compliance_csid(environment, request.headers.get("otp"), body))


@post("/e-invoicing/{environment:str}/compliance/invoices", status_code=200)
async def compliance_invoices(request: Request[Any, Any, Any], environment: FromPath[str]) -> Response[Any]:
    return await _documents(request, environment, "compliance/invoices")


@post("/e-invoicing/{environment:str}/invoices/reporting/single", status_code=200)
async def reporting(request: Request[Any, Any, Any], environment: FromPath[str]) -> Response[Any]:
    return await _documents(request, environment, "invoices/reporting/single")


@post("/e-invoicing/{environment:str}/invoices/clearance/single", status_code=200)
async def clearance(request: Request[Any, Any, Any], environment: FromPath[str]) -> Response[Any]:
    return await _documents(request, environment, "invoices/clearance/single")


async def _documents(request: Request[Any, Any, Any], environment: str, path: str) -> Response[Any]:
    blocked, injected = await _gate(request, environment, path)
    if blocked is not None:
        return blocked
    csid = _authenticated(request, environment)
    if csid is None:
        return _answer(401, unauthorised())
    body = await _json(request)
    if body is None:
        return _answer(400, {"code": "Invalid-Request", "message": "The body must be a JSON object"})
    gateway = _gateway(request)
    if path == "compliance/invoices":
        return _answer(*gateway.compliance_invoice(csid, body))
    clearance_status = request.headers.get("clearance-status")
    refusal = [error(m.code, m.category, m.message) for m in injected.messages] if injected is not None else []
    if path == "invoices/reporting/single":
        return _answer(*gateway.submit("reporting", csid, body, clearance_status, refusal))
    return _answer(*gateway.submit("clearance", csid, body, clearance_status, refusal))


@post("/e-invoicing/{environment:str}/production/csids", status_code=200)
async def production_csids(request: Request[Any, Any, Any], environment: FromPath[str]) -> Response[Any]:
    blocked, _ = await _gate(request, environment, "production/csids")
    if blocked is not None:
        return blocked
    csid = _authenticated(request, environment)
    if csid is None:
        return _answer(401, unauthorised())
    body = await _json(request)
    if body is None:
        return _answer(400, {"errors": [{"code": "Invalid-Request", "message": "The body must be a JSON object"}]})
    return _answer(*_gateway(request).production_csid(environment, csid, body))


@patch("/e-invoicing/{environment:str}/production/csids", status_code=200)
async def renew_csid(request: Request[Any, Any, Any], environment: FromPath[str]) -> Response[Any]:
    blocked, _ = await _gate(request, environment, "production/csids")
    if blocked is not None:
        return blocked
    csid = _authenticated(request, environment)
    if csid is None:
        return _answer(401, unauthorised())
    body = await _json(request)
    if body is None:
        return _answer(400, {"errors": [{"code": "Invalid-Request", "message": "The body must be a JSON object"}]})
    return _answer(*_gateway(request).renew(environment, csid, request.headers.get("otp"), body))


# --- the admin API ------------------------------------------------------------------------------------------


@get("/_fake/settings")
async def read_settings(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return msgspec.to_builtins(_gateway(request).switches)  # type: ignore[no-any-return]


@put("/_fake/settings")
async def change_settings(request: Request[Any, Any, Any]) -> Response[Any]:
    gateway = _gateway(request)
    body = await _json(request)
    try:
        gateway.switches = msgspec.convert({**msgspec.to_builtins(gateway.switches), **(body or {})}, Switches)
    except msgspec.ValidationError as exc:
        return _answer(400, {"message": str(exc)})
    return _answer(200, msgspec.to_builtins(gateway.switches))


@post("/_fake/faults", status_code=201)
async def add_faults(request: Request[Any, Any, Any]) -> Response[Any]:
    raw = await _json_any(request)
    items = raw if isinstance(raw, list) else [raw]
    try:
        rules = [msgspec.convert(item, FaultRule) for item in items]
    except (msgspec.ValidationError, ValueError) as exc:
        return _answer(400, {"message": str(exc)})
    faults: Faults = request.app.state.faults
    faults.add(rules)
    return _answer(201, {"faults": msgspec.to_builtins(faults.rules)})


async def _json_any(request: Request[Any, Any, Any]) -> Any:
    try:
        return json.loads(await request.body() or b"{}")
    except ValueError:
        return None


@delete("/_fake/faults", status_code=204)
async def clear_faults(request: Request[Any, Any, Any]) -> None:
    request.app.state.faults.clear()


@get("/_fake/documents")
async def documents(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """What the gateway received, oldest first; `?endpoint=reporting` and `?uuid=` filter."""
    endpoint = request.query_params.get("endpoint")
    uuid = request.query_params.get("uuid")
    found = [
        d
        for d in _gateway(request).store.documents
        if (endpoint is None or d.endpoint == endpoint) and (uuid is None or d.uuid == uuid)
    ]
    return {"documents": msgspec.to_builtins(found)}


@get("/_fake/ca")
async def authority(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The CA's and the clearance stamp's certificates (PEM), to verify what the gateway issued or stamped."""
    ca = _gateway(request).authority
    return {
        "certificate": ca.certificate.public_bytes(serialization.Encoding.PEM).decode(),
        "stamp_certificate": ca.stamp_certificate.public_bytes(serialization.Encoding.PEM).decode(),
    }


@post("/_fake/reset", status_code=200)
async def reset(request: Request[Any, Any, Any]) -> dict[str, str]:
    _gateway(request).reset()
    request.app.state.faults.clear()
    return {"status": "reset"}


def create_app(options: GatewayOptions | None = None) -> GatewayApp:
    gateway = Gateway(options or GatewayOptions())
    faults = Faults()
    app = GatewayApp(
        route_handlers=[
            compliance,
            compliance_invoices,
            reporting,
            clearance,
            production_csids,
            renew_csid,
            read_settings,
            change_settings,
            add_faults,
            clear_faults,
            documents,
            authority,
            reset,
        ],
        state=State({"gateway": gateway, "faults": faults}),
        on_shutdown=[lambda: gateway.store.close()],
        openapi_config=None,
    )
    app.gateway = gateway
    app.faults = faults
    return app
