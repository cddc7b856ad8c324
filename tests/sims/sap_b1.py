"""SAP Business One Service Layer, as SAP's "Working with SAP Business One Service Layer" describes it, over real HTTP
on 127.0.0.1, serving a `SapCompany` (tests/sims/sap_b1_data.py) that knows its own truth.

* ``POST <root>/Login`` with ``{"CompanyDB", "UserName", "Password"}`` answers 200 with ``SessionId``, ``Version`` and
  ``SessionTimeout`` (minutes) and two cookies: ``B1SESSION=<id>; HttpOnly`` and ``ROUTEID=.node1`` (the load
  balancer's sticky route). Wrong credentials: 401 with SAP's JSON error ``{"error": {"code", "message": {"lang",
  "value"}}}``.
* Every other call needs both cookies. A session idle longer than ``idle_seconds`` (30 minutes by default) is gone:
  401 ``Invalid session.``.
* Two roots, as the real server has: ``/b1s/v1`` speaks OData V3 JSON (``odata.metadata``, ``odata.count``, and the
  next page in ``odata.nextLink`` as a path from the server's root, ``/b1s/v1/Items?$skip=20``); ``/b1s/v2`` speaks
  OData V4 (``@odata.context``, ``@odata.count``, ``@odata.nextLink`` relative to the entity set, ``Items?$skip=20``).
* ``Items``, ``Warehouses`` and the documents that move stock (``InventoryGenEntries``, ``InventoryGenExits``,
  ``StockTransfers``, ``DeliveryNotes``, ``PurchaseDeliveryNotes``: a header with ``DocDate`` and its lines in
  ``DocumentLines``, or ``StockTransferLines``) take ``$select``, ``$filter`` (comparisons joined by ``and``),
  ``$top``, ``$skip`` and ``$inlinecount=allpages`` (V3) / ``$count=true`` (V4); an unknown property is a 400, never
  ignored. ``PurchaseOrders`` too: open or closed, item or service orders, their lines with what remains
  (``$filter=DocumentStatus eq 'bost_Open' and DocType eq 'dDocument_Items'``). The server pages at ``page_size``
  records (20, B1's default); ``Prefer: odata.maxpagesize=N`` changes it per request and is echoed in
  ``Preference-Applied``. Records come in key order (``ItemCode``, ``WarehouseCode``, ``DocEntry``), and a next link
  keeps the request's query options.

Test switches: ``login_answer`` (``ok``, ``html``: a 200 HTML page, ``no_session``: a 200 JSON without a session),
``expire_all()`` (the server forgets every session, as after a restart or a timeout), ``expire_after_reads``
(the same, once, after that many data reads, so a long read meets an expired session part-way). ``rejected`` counts
the reads refused for an invalid session.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from tests.sims.auth_http import Log, SimHandler, serve
from tests.sims.odata import ODataError, parse_filter, parse_select, selected
from tests.sims.sap_b1_data import (
    DOCUMENT_ENTITIES,
    PURCHASE_ORDERS,
    Document,
    Item,
    OrderLine,
    PurchaseOrder,
    SapCompany,
    Warehouse,
    legacy_company,
)

V1 = "/b1s/v1"
V2 = "/b1s/v2"
ROOT = V2  # the OData V4 root (``@odata.nextLink``)
ROOTS = (V1, V2)
COMPANY_DB = "SBODEMOUS"
USER = "manager"
PASSWORD = "B1-pa$$word:1"
ENTITIES = {
    "Items": list(Item("x", None).render()),
    "Warehouses": list(Warehouse("x", None).render()),
    **{entity: list(Document(entity, 0, 0, date(2026, 1, 1), []).render()) for entity in DOCUMENT_ENTITIES},
    PURCHASE_ORDERS: list(
        PurchaseOrder(
            0, 0, date(2026, 1, 1), date(2026, 1, 1), [OrderLine("x", "x", Decimal(1), date(2026, 1, 1))]
        ).render()
    ),
}
ENTITY_TYPES = {
    "Items": "Item",
    "Warehouses": "Warehouse",
    "StockTransfers": "StockTransfer",
    **{entity: "Document" for entity in DOCUMENT_ENTITIES if entity != "StockTransfers"},
    PURCHASE_ORDERS: "Document",
}


def _error(code: int, text: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": {"lang": "en-us", "value": text}}}


@dataclass
class SapB1:
    base: str = ""
    item_count: int = 45
    company: SapCompany | None = None  # None: the legacy company of ``item_count`` plain items
    page_size: int = 20
    idle_seconds: float = 30 * 60
    login_answer: str = "ok"  # ok | html | no_session
    expire_after_reads: int | None = None  # forget every session once, after this many data reads answered
    reads_answered: int = 0
    rejected: int = 0  # reads answered 401 for an invalid session
    log: Log = field(default_factory=Log)
    sessions: dict[str, float] = field(default_factory=dict)  # SessionId -> last request (monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.company is None:
            self.company = legacy_company(self.item_count)

    @property
    def data(self) -> SapCompany:
        assert self.company is not None
        return self.company

    @property
    def items(self) -> list[dict[str, Any]]:
        """Every item as the Service Layer lists it, in key order."""
        return self.data.item_records()

    @property
    def logins(self) -> int:
        return len(self.log.of(kind="login"))

    def expire_all(self) -> None:
        with self.lock:
            self.sessions.clear()

    def expire_after(self, reads: int) -> None:
        """Forget every session once, after ``reads`` more data reads are answered."""
        with self.lock:
            self.expire_after_reads = self.reads_answered + reads

    def login(self, body: dict[str, Any]) -> str | None:
        if (body.get("CompanyDB"), body.get("UserName"), body.get("Password")) != (COMPANY_DB, USER, PASSWORD):
            return None
        session = str(uuid.uuid4())
        with self.lock:
            self.sessions[session] = time.monotonic()
        return session

    def touch(self, session: str | None) -> bool:
        """True when ``session`` is alive (and now used again); an idle one is forgotten."""
        now = time.monotonic()
        with self.lock:
            last = self.sessions.get(session or "")
            if last is None:
                return False
            if now - last > self.idle_seconds:
                del self.sessions[session or ""]
                return False
            self.sessions[session or ""] = now
            return True

    def records(self, entity: str) -> list[dict[str, Any]]:
        if entity == "Items":
            return self.data.item_records()
        if entity == "Warehouses":
            return self.data.warehouse_records()
        return self.data.document_records(entity)


def _encode(value: str) -> str:
    return quote(value, safe="$,'()/:=*")


def _handler(sim: SapB1) -> type[SimHandler]:
    class Handler(SimHandler):
        system = "sap_b1"
        log = sim.log

        def kind_of(self, method: str, path: str) -> str:
            if method == "POST" and path in (f"{root}/Login" for root in ROOTS):
                return "login"
            return "read" if method in ("GET", "HEAD") else "write"

        def handle_request(self, method: str, path: str, query: dict[str, str], body: bytes) -> None:
            root = next((r for r in ROOTS if path.startswith(r + "/")), None)
            if root is None:
                self.send(404, raw=b"<html><body>Not Found</body></html>", content_type="text/html")
                return
            if path == f"{root}/Login" and method == "POST":
                self.do_login(root, body)
                return
            if method not in ("GET", "HEAD"):
                self.send(405, _error(-1, "Method not allowed in this simulation."))
                return
            cookies = self.cookies()
            if cookies.get("ROUTEID") != ".node1" or not sim.touch(cookies.get("B1SESSION")):
                with sim.lock:
                    sim.rejected += 1
                self.send(401, _error(301, "Invalid session."))
                return
            entity = path.removeprefix(f"{root}/")
            if entity not in ENTITIES:
                self.send(404, _error(-2028, "Invalid resource path."))
                return
            try:
                answer, headers = self.page(root, entity, query)
            except ODataError as exc:
                self.send(400, _error(-1000, f"{exc} (entity {ENTITY_TYPES[entity]})"))
                return
            self.send(200, answer, headers=headers)
            with sim.lock:
                sim.reads_answered += 1
                if sim.reads_answered == sim.expire_after_reads:
                    sim.sessions.clear()  # the server restarted or timed the session out: once

        def do_login(self, root: str, body: bytes) -> None:
            try:
                credentials = json.loads(body or b"{}")
            except ValueError:
                self.send(400, _error(-1000, "Invalid JSON in the request body."))
                return
            if not isinstance(credentials, dict):
                self.send(400, _error(-1000, "Invalid JSON in the request body."))
                return
            session = sim.login(credentials)
            if session is None:
                self.send(401, _error(100000027, "Login failed"))
                return
            if sim.login_answer == "html":
                self.send(200, raw=b"<html><body>Service Layer maintenance</body></html>", content_type="text/html")
                return
            meta = self.metadata(root, "B1Sessions/$entity" if root == V2 else "B1Sessions/@Element")
            if sim.login_answer == "no_session":
                self.send(200, meta)
                return
            self.send(
                200,
                {**meta, "SessionId": session, "Version": "1000190", "SessionTimeout": round(sim.idle_seconds / 60)},
                headers=[("Set-Cookie", f"B1SESSION={session}; HttpOnly"), ("Set-Cookie", "ROUTEID=.node1; path=/b1s")],
            )

        def metadata(self, root: str, fragment: str) -> dict[str, Any]:
            url = f"{sim.base}{root}/$metadata#{fragment}"
            return {"@odata.context": url} if root == V2 else {"odata.metadata": url}

        def page(self, root: str, entity: str, query: dict[str, str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
            properties = ENTITIES[entity]
            fields = parse_select(query.get("$select"), properties)
            records = sim.records(entity)
            if query.get("$filter"):
                keep = parse_filter(query["$filter"], properties)
                records = [r for r in records if keep(r)]
            skip = int(query.get("$skip") or 0)
            top = int(query["$top"]) if query.get("$top") else None
            size, headers = sim.page_size, []
            prefer = self.headers.get("Prefer") or ""
            if "odata.maxpagesize=" in prefer:
                size = int(prefer.split("odata.maxpagesize=")[1].split(",")[0].split(";")[0])
                headers.append(("Preference-Applied", f"odata.maxpagesize={size}"))
            wanted = len(records) - skip if top is None else min(top, len(records) - skip)
            taken = records[skip : skip + max(0, wanted if size == 0 else min(size, wanted))]
            answer = {**self.metadata(root, entity), "value": [selected(r, fields) for r in taken]}
            counted = query.get("$inlinecount") == "allpages" if root == V1 else query.get("$count") == "true"
            if counted:
                if root == V1:
                    answer["odata.count"] = str(len(records))  # V3 sends the count as text
                else:
                    answer["@odata.count"] = len(records)
            left = wanted - len(taken)
            if left > 0:
                kept = [(k, v) for k, v in query.items() if k not in ("$skip", "$top")]
                if top is not None:
                    kept.append(("$top", str(left)))
                kept.append(("$skip", str(skip + len(taken))))
                link = f"{entity}?" + "&".join(f"{k}={_encode(v)}" for k, v in kept)
                if root == V1:
                    answer["odata.nextLink"] = f"{V1}/{link}"
                else:
                    answer["@odata.nextLink"] = link
            return answer, headers

    return Handler


@contextmanager
def sap_b1(**options: Any) -> Iterator[SapB1]:
    sim = SapB1(**options)
    with serve(_handler(sim)) as base:
        sim.base = base
        yield sim
