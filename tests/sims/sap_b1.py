"""SAP Business One Service Layer, as its documentation describes it, over real HTTP on 127.0.0.1.

* ``POST /b1s/v1/Login`` with ``{"CompanyDB", "UserName", "Password"}`` answers 200 with
  ``{"odata.metadata", "SessionId", "Version", "SessionTimeout": 30}`` and two cookies: ``B1SESSION=<id>; HttpOnly``
  and ``ROUTEID=.node1`` (the load balancer's sticky route). Wrong credentials: 401 with SAP's JSON error.
* Every other call needs both cookies. A session that has been idle longer than ``idle_seconds`` (30 minutes in
  production; seconds or "now" in tests) is gone: the call answers 401
  ``{"error": {"code": 301, "message": {"lang": "en-us", "value": "Invalid session."}}}``.
* ``GET /b1s/v1/Items`` and ``/b1s/v1/Warehouses`` take OData ``$top``, ``$skip`` and ``$select``; the server pages
  at ``page_size`` records (``Prefer: odata.maxpagesize=N`` changes it, as B1S_PageSize does), puts the records
  under ``value`` and, when more follow, a *relative* ``@odata.nextLink`` such as ``Items?$skip=20``.
* Items carry ``ItemWarehouseInfoCollection``: per warehouse ``WarehouseCode``, ``InStock``, ``Committed``,
  ``Ordered`` (the stock per item and warehouse).

Test switches: ``login_answer`` (``ok``, ``html``: a 200 HTML page, ``no_session``: a 200 JSON without a session),
``expire_all()`` (the server forgets every session, as after a restart or a timeout), ``expire_after_reads``
(the same, once, after that many data reads, so a long read meets an expired session part-way).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from tests.sims.auth_http import Log, SimHandler, serve

ROOT = "/b1s/v1"
COMPANY_DB = "SBODEMOUS"
USER = "manager"
PASSWORD = "B1-pa$$word:1"
WAREHOUSES = [
    {"WarehouseCode": "01", "WarehouseName": "General Warehouse", "Inactive": "tNO"},
    {"WarehouseCode": "02", "WarehouseName": "Riyadh Store", "Inactive": "tNO"},
    {"WarehouseCode": "WIP", "WarehouseName": "Work in progress", "Inactive": "tYES"},
]


def _items(count: int) -> list[dict[str, Any]]:
    items = []
    for n in range(1, count + 1):
        rows = []
        for index, warehouse in enumerate(WAREHOUSES[:2]):
            rows.append(
                {
                    "ItemCode": f"A{n:05d}",
                    "WarehouseCode": warehouse["WarehouseCode"],
                    "InStock": float((n * 7 + index * 3) % 50),
                    "Committed": float(n % 4),
                    "Ordered": float((n + index) % 3),
                    "MinimalStock": 0.0,
                }
            )
        items.append(
            {
                "ItemCode": f"A{n:05d}",
                "ItemName": f"Item {n}",
                "InventoryUOM": "Each",
                "QuantityOnStock": sum(r["InStock"] for r in rows),
                "UpdateDate": "2026-11-20",
                "ItemWarehouseInfoCollection": rows,
            }
        )
    return items


def _error(code: int, text: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": {"lang": "en-us", "value": text}}}


@dataclass
class SapB1:
    base: str = ""
    item_count: int = 45
    page_size: int = 20
    idle_seconds: float = 30 * 60
    login_answer: str = "ok"  # ok | html | no_session
    expire_after_reads: int | None = None  # forget every session once, after this many data reads answered
    reads_answered: int = 0
    log: Log = field(default_factory=Log)
    sessions: dict[str, float] = field(default_factory=dict)  # SessionId -> last request (monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)
    items: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.items = _items(self.item_count)

    @property
    def logins(self) -> int:
        return len(self.log.of(kind="login"))

    def expire_all(self) -> None:
        with self.lock:
            self.sessions.clear()

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


def _handler(sim: SapB1) -> type[SimHandler]:
    class Handler(SimHandler):
        system = "sap_b1"
        log = sim.log

        def kind_of(self, method: str, path: str) -> str:
            if method == "POST" and path == f"{ROOT}/Login":
                return "login"
            return "read" if method in ("GET", "HEAD") else "write"

        def handle_request(self, method: str, path: str, query: dict[str, str], body: bytes) -> None:
            if path == f"{ROOT}/Login" and method == "POST":
                self.do_login(body)
                return
            if method not in ("GET", "HEAD"):
                self.send(405, _error(-1, "Method not allowed in this simulation."))
                return
            cookies = self.cookies()
            if cookies.get("ROUTEID") != ".node1" or not sim.touch(cookies.get("B1SESSION")):
                self.send(401, _error(301, "Invalid session."))
                return
            entity = path.removeprefix(f"{ROOT}/")
            records = {"Items": sim.items, "Warehouses": WAREHOUSES}.get(entity)
            if records is None:
                self.send(404, _error(-2028, "Invalid resource path."))
                return
            self.send(200, self.page(entity, records, query))
            with sim.lock:
                sim.reads_answered += 1
                if sim.reads_answered == sim.expire_after_reads:
                    sim.sessions.clear()  # the server restarted or timed the session out: once

        def do_login(self, body: bytes) -> None:
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
            if sim.login_answer == "no_session":
                self.send(200, {"odata.metadata": f"{sim.base}{ROOT}/$metadata#B1Sessions/@Element"})
                return
            self.send(
                200,
                {
                    "odata.metadata": f"{sim.base}{ROOT}/$metadata#B1Sessions/@Element",
                    "SessionId": session,
                    "Version": "1000190",
                    "SessionTimeout": 30,
                },
                headers=[("Set-Cookie", f"B1SESSION={session}; HttpOnly"), ("Set-Cookie", "ROUTEID=.node1; path=/b1s")],
            )

        def page(self, entity: str, records: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
            skip = int(query.get("$skip") or 0)
            top = int(query["$top"]) if query.get("$top") else None
            size = sim.page_size
            prefer = self.headers.get("Prefer") or ""
            if "odata.maxpagesize=" in prefer:
                size = int(prefer.split("odata.maxpagesize=")[1].split(",")[0])
            wanted = len(records) - skip if top is None else min(top, len(records) - skip)
            taken = records[skip : skip + max(0, min(size, wanted))]
            fields = [f for f in (query.get("$select") or "").split(",") if f]
            value = [{k: v for k, v in r.items() if k in fields} if fields else r for r in taken]
            answer: dict[str, Any] = {"odata.metadata": f"{sim.base}{ROOT}/$metadata#{entity}", "value": value}
            left = wanted - len(taken)
            if left > 0:
                parts = [f"$select={quote(query['$select'], safe=',')}"] if fields else []
                if top is not None:
                    parts.append(f"$top={left}")
                parts.append(f"$skip={skip + len(taken)}")
                answer["@odata.nextLink"] = f"{entity}?{'&'.join(parts)}"
            return answer

    return Handler


@contextmanager
def sap_b1(**options: Any) -> Iterator[SapB1]:
    sim = SapB1(**options)
    with serve(_handler(sim)) as base:
        sim.base = base
        yield sim
