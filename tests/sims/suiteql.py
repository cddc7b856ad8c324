"""NetSuite's SuiteQL over SuiteTalk REST, as its documentation describes it, over real HTTP on 127.0.0.1.

* ``POST /services/rest/query/v1/suiteql?limit=L&offset=O`` with ``Prefer: transient``,
  ``Authorization: Bearer <token>`` (OAuth 2.0) and the JSON body ``{"q": "SELECT ..."}``.
* The answer: ``{"links": [...], "count", "hasMore", "items": [{..., "links": []}], "offset", "totalResults"}``;
  ``limit`` is 1 to 1000 (1000 by default) and ``offset`` must be a multiple of it.
* SuiteQL runs queries only: anything but a SELECT is answered 400 (``Invalid search query``).

The query runs on an SQLite copy of a small account (items and inventory balances per location and inventory
number), so a SELECT really reads. Every request is reported to the canary: ``rpc_read`` for a single SELECT,
``write`` for anything else the server received (another statement, several statements).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.services import free_port
from tests.sims.canary import CANARY
from tests.sims.serving import QuietHandler, serving

SYSTEM = "netsuite"
PATH = "/services/rest/query/v1/suiteql"
TOKEN = "ns-m2m-token-456"


def _database() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, itemid TEXT, displayname TEXT, lastmodifieddate TEXT)")
    db.execute(
        "CREATE TABLE inventorybalance (item INTEGER, location INTEGER, inventorynumber TEXT, "
        "quantityonhand REAL, quantityavailable REAL)"
    )
    for n in range(1, 21):
        db.execute("INSERT INTO item VALUES (?, ?, ?, ?)", (n, f"NS-{n:04d}", f"Item {n}", f"2025-05-{n:02d}"))
        for location in (1, 2):
            for lot in range(1 + n % 2):
                on_hand = float((n * 3 + location + lot) % 17 + 1)
                db.execute(
                    "INSERT INTO inventorybalance VALUES (?, ?, ?, ?, ?)",
                    (n, location, f"LOT{n}-{location}-{lot}", on_hand, on_hand - (n % 3)),
                )
    db.commit()
    return db


def statement_kind(query: str) -> str:
    """What the server received: one SELECT (WITH ... SELECT) is a read; anything else is a write."""
    statements = [s for s in query.strip().split(";") if s.strip()]
    if len(statements) != 1:
        return "write"
    first = statements[0].lstrip().split(None, 1)[0].upper() if statements[0].strip() else ""
    return "rpc_read" if first in ("SELECT", "WITH") else "write"


@dataclass
class SuiteqlSim:
    base: str
    db: sqlite3.Connection = field(default_factory=_database)
    received: list[str] = field(default_factory=list)  # every query text received, in order
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"{self.base}{PATH}"

    def requests(self) -> int:
        return len(self.received)


def _handler(sim: SuiteqlSim) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        def answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/vnd.oracle.resource+json; type=collection")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def error(self, status: int, code: str, detail: str) -> None:
            self.answer(
                status,
                {
                    "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1",
                    "title": "Bad Request",
                    "status": status,
                    "o:errorDetails": [{"detail": detail, "o:errorCode": code}],
                },
            )

        def do_POST(self) -> None:
            url = urlparse(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = None
            query = body.get("q") if isinstance(body, dict) else None
            kind = statement_kind(query) if isinstance(query, str) else "write"
            CANARY.record(SYSTEM, "POST", url.path, kind)
            with sim.lock:
                sim.received.append(str(query))
            if url.path != PATH:
                self.error(404, "NONEXISTENT_ID", "The requested resource does not exist.")
                return
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self.error(401, "INVALID_LOGIN", "Invalid login attempt.")
                return
            if (self.headers.get("Prefer") or "").strip().lower() != "transient":
                self.error(400, "INVALID_HEADER", "The Prefer: transient header is required for SuiteQL queries.")
                return
            if not isinstance(query, str) or kind != "rpc_read":
                self.error(400, "INVALID_PARAMETER", "Invalid search query. Only SELECT queries are supported.")
                return
            params = {k: v[-1] for k, v in parse_qs(url.query).items()}
            limit = int(params.get("limit", 1000))
            offset = int(params.get("offset", 0))
            if not 1 <= limit <= 1000 or offset % limit:
                self.error(400, "INVALID_PARAMETER", "The offset must be a multiple of the limit (1 to 1000).")
                return
            with sim.lock:
                try:
                    cursor = sim.db.execute(query)
                except sqlite3.Error as exc:
                    self.error(400, "INVALID_PARAMETER", f"Invalid search query: {exc}")
                    return
                columns = [c[0].lower() for c in cursor.description or []]
                rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
            page = rows[offset : offset + limit]
            self.answer(
                200,
                {
                    "links": [{"rel": "self", "href": f"{sim.url}?limit={limit}&offset={offset}"}],
                    "count": len(page),
                    "hasMore": offset + limit < len(rows),
                    "items": [{"links": [], **row} for row in page],
                    "offset": offset,
                    "totalResults": len(rows),
                },
            )

        def do_GET(self) -> None:
            CANARY.record(SYSTEM, "GET", urlparse(self.path).path, "read")
            self.error(405, "METHOD_NOT_ALLOWED", "SuiteQL queries are POST requests.")

    return Handler


@contextmanager
def suiteql_server(host: str = "127.0.0.1") -> Iterator[SuiteqlSim]:
    port = free_port()
    sim = SuiteqlSim(base=f"http://{host}:{port}")
    with serving(_handler(sim), port, host):
        yield sim
