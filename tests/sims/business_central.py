"""Dynamics 365 Business Central API v2.0 and the Microsoft Entra ID token endpoint in front of it, as
learn.microsoft.com describes them, over real HTTP on 127.0.0.1: two servers, as the real ones are two hosts.

Entra ID (``entra``), the OAuth2 client-credentials grant of the v2.0 endpoint:

* ``POST /<tenant>/oauth2/v2.0/token`` with the form ``grant_type=client_credentials``, ``scope``
  (``https://api.businesscentral.dynamics.com/.default``) and the client authenticated by ``client_id`` and
  ``client_secret`` in the form or by HTTP Basic. Answers ``{"token_type": "Bearer", "expires_in": 3599,
  "ext_expires_in": 3599, "access_token"}``. Refusals carry Entra's ``AADSTS`` codes: an unknown tenant 400
  ``invalid_request`` (AADSTS90002), an unknown application 400 ``unauthorized_client`` (AADSTS700016), a wrong
  secret 401 ``invalid_client`` (AADSTS7000215), a missing or foreign scope 400 (AADSTS90014, AADSTS70011).

Business Central (``api``), ``/v2.0/<tenant>/<environment>/api/v2.0``:

* Every call needs ``Authorization: Bearer <token>`` of a token Entra issued for this tenant and still valid;
  otherwise 401 ``Authentication_InvalidCredentials`` with a ``WWW-Authenticate: Bearer`` challenge.
* ``GET companies``, then ``companies(<id>)/items``, ``/locations``, ``/itemLedgerEntries``, ``/purchaseOrders``;
  records under ``value``, each with its ``@odata.etag``, and ``@odata.context``. ``$expand=purchaseOrderLines``
  (optionally ``purchaseOrderLines($select=...)``) puts each order's lines inside it; an unknown navigation property
  is a 400. ``companies(<id>)/purchaseOrderLines`` lists lines only for a ``documentId`` or ``id`` in the
  ``$filter``: without one, BC's page answers 400 ``Application_DialogException`` "You must specify an Id or a
  Document Id to get the lines." (APIV2 page 30067, OnFindRecord), so lines cannot be read company-wide;
  ``companies(<id>)/purchaseOrders(<id>)/purchaseOrderLines`` lists one order's.
* ``$filter`` (comparisons joined by ``and``: ``lastModifiedDateTime gt 2026-01-01T00:00:00Z``,
  ``type eq 'Inventory'``, ``name eq 'CRONUS USA, Inc.'``), ``$select``, ``$top``, ``$skip``; an unknown property is
  a 400 ``BadRequest``, never ignored.
* Server-driven paging: at most ``page_size`` records a page (20,000 online; a test sets a few dozen), fewer when
  the request says ``Prefer: odata.maxpagesize=N``; when more follow, an absolute ``@odata.nextLink`` that keeps the
  query and adds ``$skiptoken``, the key of the last record sent (keyset paging: a record added meanwhile is not
  read twice).

Test switches: ``expire_tokens_after(reads)`` (every issued token stops working once, after that many more data
reads, as an expiry in the middle of a read does), ``revoke_all()``. ``tokens_issued`` and ``rejected`` count.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from tests.sims.auth_http import Log, SimHandler, serve
from tests.sims.business_central_data import (
    BcCompany,
    BcItem,
    BcLocation,
    LedgerEntry,
    PurchaseLine,
    bc_company,
)
from tests.sims.oauth_server import basic_credentials
from tests.sims.odata import ODataError, parse_expand, parse_filter, parse_select, selected

TENANT = "7c1d5e2a-0b7e-4a8f-9a55-3c2f0d4e8b61"
ENVIRONMENT = "production"
CLIENT_ID = "4f1b8c3e-2a7d-4e6b-9f0a-5d3c2b1a0e9f"
CLIENT_SECRET = "Qx8~kP2.vT_-aB3cD4eF5gH6iJ7kL8mN9oP0qR"  # Entra secrets hold ~, . and _
SCOPE = "https://api.businesscentral.dynamics.com/.default"
TOKEN_LIFETIME = 3599
KEYS = {
    "companies": "name",
    "items": "number",
    "locations": "code",
    "itemLedgerEntries": "entryNumber",
    "purchaseOrders": "number",
    "purchaseOrderLines": "sequence",
}
NAVIGATIONS = {"purchaseOrders": "purchaseOrderLines"}  # the navigation property $expand can take, per entity
_LINES_BY_DOCUMENT = re.compile(r"(?<![A-Za-z])(documentId|id)\s+eq\s", re.IGNORECASE)
_COMPANY = re.compile(r"^companies\(([0-9a-fA-F-]{36})\)(?:/([A-Za-z]+))?$")
_ORDER_LINES = re.compile(r"^companies\(([0-9a-fA-F-]{36})\)/purchaseOrders\(([0-9a-fA-F-]{36})\)/purchaseOrderLines$")


def _entra_error(error: str, code: int, text: str) -> dict[str, Any]:
    trace = secrets.token_hex(8)
    return {
        "error": error,
        "error_description": f"AADSTS{code}: {text}\r\nTrace ID: {trace}\r\nCorrelation ID: {trace}",
        "error_codes": [code],
        "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
        "trace_id": trace,
        "correlation_id": trace,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }


def _bc_error(code: str, text: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": f"{text}  CorrelationId:  {secrets.token_hex(8)}."}}


def _properties(sample: dict[str, Any]) -> list[str]:
    return [k for k in sample if not k.startswith("@")]


@dataclass
class BusinessCentral:
    company: BcCompany = field(default_factory=bc_company)
    others: list[BcCompany] = field(default_factory=list)  # more companies in the same environment
    page_size: int = 20_000
    tenant: str = TENANT
    environment: str = ENVIRONMENT
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    token_lifetime: int = TOKEN_LIFETIME
    entra_base: str = ""
    api_base: str = ""
    tokens: dict[str, float] = field(default_factory=dict)  # access token -> expiry (epoch seconds)
    tokens_issued: int = 0
    rejected: int = 0  # data reads refused for an invalid or expired token
    reads_answered: int = 0
    expire_at_read: int | None = None
    entra_log: Log = field(default_factory=Log)
    log: Log = field(default_factory=Log)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def token_url(self) -> str:
        return f"{self.entra_base}/{self.tenant}/oauth2/v2.0/token"

    @property
    def base_url(self) -> str:
        """What a person types (or the preset builds): the API's root for the tenant and environment."""
        return f"{self.api_base}/v2.0/{self.tenant}/{self.environment}/api/v2.0"

    def companies(self) -> list[BcCompany]:
        return [self.company, *self.others]

    def issue(self) -> str:
        token = "eyJ0eXAiOiJKV1Qi." + secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = time.time() + self.token_lifetime
            self.tokens_issued += 1
        return token

    def valid(self, token: str) -> bool:
        with self.lock:
            return self.tokens.get(token, 0) > time.time()

    def revoke_all(self) -> None:
        with self.lock:
            self.tokens.clear()

    def expire_tokens_after(self, reads: int) -> None:
        """Every token issued so far stops working once ``reads`` more data reads have been answered."""
        with self.lock:
            self.expire_at_read = self.reads_answered + reads

    def answered(self) -> None:
        with self.lock:
            self.reads_answered += 1
            if self.reads_answered == self.expire_at_read:
                self.tokens.clear()


def _entra_handler(sim: BusinessCentral) -> type[SimHandler]:
    class Handler(SimHandler):
        system = "entra_id"
        log = sim.entra_log

        def kind_of(self, method: str, path: str) -> str:
            if method == "POST" and path.endswith("/oauth2/v2.0/token"):
                return "token"
            return "read" if method in ("GET", "HEAD") else "write"

        def handle_request(self, method: str, path: str, query: dict[str, str], body: bytes) -> None:
            parts = path.strip("/").split("/")
            if method != "POST" or len(parts) != 4 or parts[1:] != ["oauth2", "v2.0", "token"]:
                self.send(404, raw=b"", content_type="text/html")
                return
            if parts[0] != sim.tenant:
                self.send(400, _entra_error("invalid_request", 90002, f"Tenant '{parts[0]}' not found."))
                return
            form = {k: v[-1] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
            header = self.headers.get("Authorization") or ""
            given = basic_credentials(header) if header else (form.get("client_id", ""), form.get("client_secret"))
            if given is None or (header and "client_secret" in form):
                self.send(400, _entra_error("invalid_request", 90023, "Only one client authentication at a time."))
                return
            client_id, secret = given
            if form.get("grant_type") != "client_credentials":
                self.send(400, _entra_error("unsupported_grant_type", 70003, "The grant type is not supported."))
                return
            if client_id != sim.client_id:
                text = f"Application with identifier '{client_id}' was not found in the directory '{sim.tenant}'."
                self.send(400, _entra_error("unauthorized_client", 700016, text))
                return
            if secret != sim.client_secret:
                text = "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                text += f"secret value, not the client secret ID, for a secret added to app '{client_id}'."
                self.send(401, _entra_error("invalid_client", 7000215, text))
                return
            scope = form.get("scope")
            if not scope:
                self.send(400, _entra_error("invalid_request", 90014, "The required field 'scope' is missing."))
                return
            if scope != SCOPE:
                self.send(400, _entra_error("invalid_scope", 70011, f"The provided value '{scope}' is not valid."))
                return
            self.send(
                200,
                {
                    "token_type": "Bearer",
                    "expires_in": sim.token_lifetime,
                    "ext_expires_in": sim.token_lifetime,
                    "access_token": sim.issue(),
                },
                headers=[("Cache-Control", "no-store, no-cache")],
            )

    return Handler


def _api_handler(sim: BusinessCentral) -> type[SimHandler]:
    class Handler(SimHandler):
        system = "business_central"
        log = sim.log

        def handle_request(self, method: str, path: str, query: dict[str, str], body: bytes) -> None:
            root = f"/v2.0/{sim.tenant}/"
            if not path.startswith(root):
                self.send(404, _bc_error("BadRequest_NotFound", "The tenant was not found."))
                return
            environment, _, rest = path.removeprefix(root).partition("/")
            if method not in ("GET", "HEAD"):
                self.send(405, _bc_error("BadRequest_MethodNotAllowed", "Not in this simulation."))
                return
            scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
            if scheme.lower() != "bearer" or not sim.valid(token.strip()):
                with sim.lock:
                    sim.rejected += 1
                challenge = (
                    f'Bearer authorization_uri="https://login.microsoftonline.com/{sim.tenant}/oauth2/authorize", '
                    'resource_id="https://api.businesscentral.dynamics.com"'
                )
                self.send(
                    401,
                    _bc_error("Authentication_InvalidCredentials", "The server has rejected the client credentials."),
                    headers=[("WWW-Authenticate", challenge)],
                )
                return
            if environment != sim.environment:
                self.send(404, _bc_error("BadRequest_NotFound", f"Environment '{environment}' was not found."))
                return
            if not rest.startswith("api/v2.0/"):
                self.send(404, _bc_error("BadRequest_NotFound", "No API at this path."))
                return
            self.resource(unquote(rest.removeprefix("api/v2.0/")), path, query)

        def resource(self, segment: str, path: str, query: dict[str, str]) -> None:
            navigated = _ORDER_LINES.match(segment)
            if segment == "companies":
                entity, records = "companies", [self.company_record(c) for c in sim.companies()]
            elif navigated:  # an order's lines through its navigation property: the document id is the order's
                company = next((c for c in sim.companies() if c.id == navigated.group(1)), None)
                orders = [o for o in (company.order_records() if company else []) if o["id"] == navigated.group(2)]
                if not orders:
                    self.send(404, _bc_error("BadRequest_NotFound", f"Resource not found for the segment '{segment}'."))
                    return
                entity, records = "purchaseOrderLines", orders[0]["purchaseOrderLines"]
            else:
                match = _COMPANY.match(segment)
                company = next((c for c in sim.companies() if match and c.id == match.group(1)), None)
                if match is None or company is None:
                    self.send(404, _bc_error("BadRequest_NotFound", f"Resource not found for the segment '{segment}'."))
                    return
                entity = match.group(2) or ""
                found = {
                    "items": company.item_records,
                    "locations": company.location_records,
                    "itemLedgerEntries": company.entry_records,
                    "purchaseOrders": company.order_records,
                    "purchaseOrderLines": lambda: [
                        line for order in company.order_records() for line in order["purchaseOrderLines"]
                    ],
                }.get(entity)
                if found is None:
                    self.send(404, _bc_error("BadRequest_NotFound", f"Resource not found for the segment '{entity}'."))
                    return
                if entity == "purchaseOrderLines" and not _LINES_BY_DOCUMENT.search(query.get("$filter") or ""):
                    text = "You must specify an Id or a Document Id to get the lines."
                    self.send(400, _bc_error("Application_DialogException", text))
                    return
                records = found()
            try:
                answer = self.page(entity, path, records, query)
            except ODataError as exc:
                self.send(400, _bc_error("BadRequest", f"Could not parse the query: {exc}."))
                return
            self.send(200, answer, content_type="application/json; odata.metadata=minimal")
            sim.answered()

        def company_record(self, company: BcCompany) -> dict[str, Any]:
            return {
                "id": company.id,
                "systemVersion": "26.0.30643.32481",
                "timestamp": 12345,
                "name": company.name,
                "displayName": company.display_name,
                "businessProfileId": "",
                "systemCreatedAt": "2024-10-01T06:30:00Z",
                "systemCreatedBy": "00000000-0000-0000-0000-000000000001",
                "systemModifiedAt": "2025-02-03T11:20:14.42Z",
                "systemModifiedBy": "00000000-0000-0000-0000-000000000001",
            }

        def page(self, entity: str, path: str, records: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
            properties = _properties(records[0]) if records else list(KEYS.values())
            if entity != "companies":
                properties = _properties(_SAMPLES[entity])
            navigation = NAVIGATIONS.get(entity)
            properties = [p for p in properties if p != navigation]
            nested = {navigation: _properties(_SAMPLES[navigation])} if navigation else {}
            expand = parse_expand(query.get("$expand"), nested)
            fields = parse_select(query.get("$select"), properties)
            if query.get("$filter"):
                keep = parse_filter(query["$filter"], properties)
                records = [r for r in records if keep(r)]
            key = KEYS[entity]
            if query.get("$skiptoken"):
                after = query["$skiptoken"]
                records = [r for r in records if _after(r[key], after)]
            records = records[int(query.get("$skip") or 0) :]
            if query.get("$top"):
                records = records[: int(query["$top"])]
            size = sim.page_size
            prefer = self.headers.get("Prefer") or ""
            if "odata.maxpagesize=" in prefer:
                size = min(size, int(prefer.split("odata.maxpagesize=")[1].split(",")[0].split(";")[0]))
            taken = records[:size]
            answer: dict[str, Any] = {
                "@odata.context": f"{sim.api_base}{path.split('/companies')[0]}/$metadata#{entity}",
                "value": [self.render(r, fields, expand) for r in taken],
            }
            if len(records) > len(taken):
                kept = [(k, v) for k, v in query.items() if k not in ("$skiptoken", "$skip", "$top")]
                if query.get("$top"):
                    kept.append(("$top", str(len(records) - len(taken))))
                kept.append(("$skiptoken", str(taken[-1][key])))
                link = "&".join(f"{k}={quote(v, safe='$,()=:*')}" for k, v in kept)
                answer["@odata.nextLink"] = f"{sim.api_base}{path}?{link}"
            return answer

        def render(
            self, record: dict[str, Any], fields: list[str] | None, expand: dict[str, list[str] | None]
        ) -> dict[str, Any]:
            """A record as sent: its etag, the selected properties (never a navigation property), and each expanded
            navigation property's records, selected in turn."""
            names = [k for k in record if k not in NAVIGATIONS.values()] if fields is None else fields
            shown = {**({"@odata.etag": record["@odata.etag"]} if "@odata.etag" in record else {})}
            shown.update(selected(record, names))
            for navigation, nested in expand.items():
                shown[navigation] = [self.render(r, nested, {}) for r in record.get(navigation, [])]
            return shown

    return Handler


def _after(value: Any, token: str) -> bool:
    return bool(value > int(token)) if isinstance(value, int) else str(value) > token


_SAMPLE = BcCompany(items={"X": BcItem("X", "x")}, locations={"X": BcLocation("X", "x")})
_SAMPLE.entries.append(LedgerEntry(1, "X", "X", _SAMPLE.clock.date(), "Sale", _SAMPLE.inventory("X"), "D"))
_SAMPLE.place_order("10000", [PurchaseLine(0, "Item", "X", Decimal(1))])
_SAMPLES = {
    "items": _SAMPLE.item_records()[0],
    "locations": _SAMPLE.location_records()[0],
    "itemLedgerEntries": _SAMPLE.entry_records()[0],
    "purchaseOrders": _SAMPLE.order_records()[0],
    "purchaseOrderLines": _SAMPLE.order_records()[0]["purchaseOrderLines"][0],
}


@contextmanager
def business_central(**options: Any) -> Iterator[BusinessCentral]:
    """Entra ID and Business Central, each on its own port."""
    sim = BusinessCentral(**options)
    with serve(_entra_handler(sim)) as entra, serve(_api_handler(sim)) as api:
        sim.entra_base, sim.api_base = entra, api
        yield sim
