"""A customer API with every pagination fault Atlas must survive, over real HTTP on 127.0.0.1, knowing its truth.

Peer frameworks have lost rows on a short page in the middle of a stream and on a server that repeats its last
page (TRAPS.md); real systems end their lists in their own ways (REAL_SYSTEMS.md). Each endpoint below is one
such behaviour, and the simulation knows what a correct read must return (`truth`, `changed_since`) or that no
correct read exists (the read must fail):

- ``GET /repeat/cursor``, ``/repeat/next-url``, ``/repeat/link`` (a cursor in the body, a next URL, a ``Link``
  header): the last page again, for ever, each time under a fresh cursor or link.
- ``GET /abab/offset``, ``/abab/page`` (offset, page number): pages A, B, A, B ... (``?total=1``: with a total).
- ``GET /short/offset``, ``/short/page``: page-then-filter, page 2 short mid-stream (``?total=visible`` declares
  what it serves, ``?total=all`` declares the hidden records too: a mismatch).
- ``GET /glitch/offset`` (offset + total): page 2 short once, right on a retry.
- ``GET /overstated/offset`` (offset + total), ``/overstated/next-url`` (next URL + count, InvenTree's shape):
  declare 950 records, serve 250.
- ``GET /signal/has-more`` (page numbers, Zoho's ``page_context.has_more_page``), ``/signal/next`` (page
  numbers, Daftra's ``pagination.next``), ``/signal/has-more-offset`` (offset, NetSuite's ``hasMore``): end
  only by their signal, with a short page mid-stream.
- ``GET /dated/stock/`` (InvenTree's stock list): date-only ``updated_after`` (inclusive) and ``updated_before``
  (exclusive), records changed today among them.
- ``POST /json/2/stock.quant/search_read`` (Odoo JSON-2, offset/limit in the body): a correct read-RPC list;
  ``/json/2/stock.move/search_read`` ignores the offset and serves the first page for ever.
- ``POST /graphql`` (``variables.first``/``after``, ``pageInfo``): a cursor connection; ``/graphql-loop`` hands
  out a fresh ``endCursor`` over the same edges with ``hasNextPage`` true.
- ``POST /services/rest/query/v1/suiteql?limit=&offset=`` (NetSuite SuiteQL): query paging on a POST, ``hasMore``.
- ``GET /scenario/<n>``: a `Scenario` made up by a property test.

"Short" servers filter after paging (records 101–140 are never served, as a permission filter would), so
their truth is the 210 visible records, and page 2 holds 60 where 100 were asked for. Servers that have no empty
page past their end (Zoho, Daftra, NetSuite) answer any later page with their last page again, so a reader that
ignores their end signal fails on a repeated page rather than passing by luck.

Every request is reported to the canary (GET: ``read``; a POST whose body is a read: ``rpc_read``; anything else:
``write``) and counted per path, so a test can say exactly how many requests a read made.
"""

from __future__ import annotations

import base64
import itertools
import json
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from tests.services import free_port
from tests.sims.canary import CANARY
from tests.sims.serving import QuietHandler

SYSTEM = "pagination_faults"
RECORDS: list[dict[str, Any]] = [{"id": i, "sku": f"PF-{i:04d}", "qty": (i * 7) % 23} for i in range(1, 251)]
HIDDEN = frozenset(range(101, 141))  # on the "short" servers' pages, never served
VISIBLE: list[dict[str, Any]] = [r for r in RECORDS if r["id"] not in HIDDEN]
OVERSTATED = 950
ODOO_READS = frozenset({"search_read", "read", "search", "search_count", "fields_get"})
# Days before today on which the dated records changed; 0 is today (twice: at midnight and a minute ago).
DATED_DAYS = (0, 0, 1, 2, 5, 9, 15, 30)


def _ids(records: list[dict[str, Any]]) -> list[int]:
    return [r["id"] for r in records]


def _dated(now: datetime) -> list[dict[str, Any]]:
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    moments = []
    for number, days in enumerate(DATED_DAYS):
        if days == 0:
            moment = today if number == 0 else max(today, now - timedelta(minutes=1))
        else:
            moment = today - timedelta(days=days) + timedelta(hours=9, minutes=number)
        moments.append(moment)
    return [
        {"pk": 1000 + n, "part": 10 + n, "quantity": float(n + 1), "updated": m.strftime("%Y-%m-%d %H:%M")}
        for n, m in enumerate(moments)
    ]


@dataclass(frozen=True)
class Scenario:
    """A source made up by a property test: ``GET /scenario/<n>`` serves it.

    Numbered kinds page the ids with the size asked for; a cursor source pages them ``size`` at a time with a
    fresh opaque cursor per page. Ids in ``hidden`` are on the pages but never served (page-then-filter: short
    or empty pages mid-stream). ``total`` is the count declared on every page (None: none); ``signal`` adds
    ``has_more`` (numbered kinds; a cursor source always ends by its cursor). ``repeat_at`` serves page
    ``repeat_of``'s records in place of its own; ``loop_last`` (cursor) serves the last page for ever.
    """

    kind: str  # offset, page, cursor
    ids: tuple[int, ...]
    size: int = 10
    hidden: frozenset[int] = field(default_factory=frozenset)
    total: int | None = None
    signal: bool = False
    repeat_at: int | None = None
    repeat_of: int = 0
    loop_last: bool = False

    @property
    def truth(self) -> list[int]:
        return [i for i in self.ids if i not in self.hidden]

    def raw_page(self, index: int, size: int) -> list[int]:
        return list(self.ids[index * size : (index + 1) * size])

    def page(self, index: int, size: int) -> list[int]:
        if self.repeat_at is not None and index == self.repeat_at:
            index = self.repeat_of
        return [i for i in self.raw_page(index, size) if i not in self.hidden]


class PaginationFaults:
    """The server's state and its truth."""

    def __init__(self, host: str, port: int, now: datetime | None = None) -> None:
        self.base = f"http://{host}:{port}"
        self.hits: Counter[str] = Counter()
        self.queries: list[tuple[str, dict[str, str], Any]] = []
        self.lock = threading.Lock()
        self.nonce = itertools.count(1)
        self.glitched: set[str] = set()
        self.now = now or datetime.now(UTC)
        self.dated = _dated(self.now)
        self.scenarios: dict[int, Scenario] = {}

    def add(self, scenario: Scenario) -> str:
        """Serve ``scenario``; returns its path."""
        with self.lock:
            number = len(self.scenarios) + 1
            self.scenarios[number] = scenario
        return f"/scenario/{number}"

    def count(self, path: str) -> int:
        with self.lock:
            return self.hits[path]

    def reset(self) -> None:
        with self.lock:
            self.hits.clear()
            self.queries.clear()
            self.glitched.clear()

    # --- the truth --------------------------------------------------------------------------------
    @staticmethod
    def truth(path: str) -> list[int]:
        """The ids a correct read of ``path`` returns, in order."""
        return _ids(VISIBLE if path.startswith(("/short/", "/signal/")) else RECORDS)

    def changed_since(self, day: date) -> list[int]:
        """The dated records changed on ``day`` or later (today's included): what a window from ``day`` holds."""
        return [r["pk"] for r in self.dated if datetime.strptime(r["updated"], "%Y-%m-%d %H:%M").date() >= day]

    def today(self) -> list[int]:
        return self.changed_since(self.now.date())


def _slice(records: list[dict[str, Any]], start: int, size: int, *, hide: bool = False) -> list[dict[str, Any]]:
    chunk = records[start : start + size]
    return [r for r in chunk if r["id"] not in HIDDEN] if hide else chunk


def _handler(sim: PaginationFaults) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms wait for a delayed ACK

        def send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _note(self, kind: str, body: Any = None) -> tuple[str, dict[str, str]]:
            url = urlparse(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            CANARY.record(SYSTEM, self.command, url.path, kind)
            with sim.lock:
                sim.hits[url.path] += 1
                sim.queries.append((url.path, query, body))
            return url.path, query

        # --- GET --------------------------------------------------------------------------------
        def do_GET(self) -> None:
            path, q = self._note("read")
            size = int(q.get("limit") or q.get("per_page") or 100)
            if path == "/repeat/cursor":
                start = int(base64.b64decode(q["cursor"]).decode().split(":")[0]) if q.get("cursor") else 0
                following = start + size if start + size < len(RECORDS) else start  # the last page, again
                cursor = base64.b64encode(f"{following}:{next(sim.nonce)}".encode()).decode()
                self.send(200, {"items": _slice(RECORDS, start, size), "next_cursor": cursor})
            elif path in ("/repeat/next-url", "/repeat/link"):
                start = int(q.get("start", 0))
                following = start + size if start + size < len(RECORDS) else start
                link = f"{sim.base}{path}?{urlencode({'start': following, 'limit': size, 'n': next(sim.nonce)})}"
                chunk = _slice(RECORDS, start, size)
                if path == "/repeat/link":
                    self.send(200, chunk, {"Link": f'<{link}>; rel="next"'})
                else:
                    self.send(200, {"results": chunk, "next": link})
            elif path in ("/abab/offset", "/abab/page"):
                index = int(q.get("offset", 0)) // size if path == "/abab/offset" else int(q.get("page", 1)) - 1
                body: dict[str, Any] = {"results": _slice(RECORDS, (index % 2) * size, size)}
                if q.get("total"):
                    body["total"] = 1000
                self.send(200, body)
            elif path in ("/short/offset", "/short/page"):
                start = int(q.get("offset", 0)) if path == "/short/offset" else (int(q.get("page", 1)) - 1) * size
                body = {"results": _slice(RECORDS, start, size, hide=True)}
                if q.get("total") == "visible":
                    body["total"] = len(VISIBLE)
                elif q.get("total") == "all":
                    body["total"] = len(RECORDS)
                self.send(200, body)
            elif path == "/glitch/offset":
                offset = int(q.get("offset", 0))
                chunk = _slice(RECORDS, offset, size)
                with sim.lock:
                    first_time = offset == size and path not in sim.glitched
                    if first_time:
                        sim.glitched.add(path)
                self.send(200, {"results": chunk[: size // 2] if first_time else chunk, "total": len(RECORDS)})
            elif path == "/overstated/offset":
                offset = int(q.get("offset", 0))
                self.send(200, {"results": _slice(RECORDS, offset, size), "total": OVERSTATED})
            elif path == "/overstated/next-url":
                offset = int(q.get("offset", 0))
                link = f"{sim.base}{path}?{urlencode({'offset': offset + size, 'limit': size})}"
                following = link if offset + size < len(RECORDS) else None
                self.send(200, {"count": OVERSTATED, "next": following, "results": _slice(RECORDS, offset, size)})
            elif path in ("/signal/has-more", "/signal/next", "/signal/has-more-offset"):
                self._signalled(path, q, size)
            elif path == "/dated/stock/":
                self._dated(q)
            elif path.startswith("/scenario/"):
                self._scenario(sim.scenarios[int(path.rsplit("/", 1)[1])], q)
            else:
                self.send(404, {"detail": "Not found."})

        def _signalled(self, path: str, q: dict[str, str], size: int) -> None:
            pages = [_slice(RECORDS, s, size, hide=True) for s in range(0, len(RECORDS), size)]
            offset = path == "/signal/has-more-offset"
            index = int(q.get("offset", 0)) // size if offset else int(q.get("page", 1)) - 1
            index = min(index, len(pages) - 1)  # no empty page past the end: the last one again
            more = index < len(pages) - 1
            if path == "/signal/has-more":
                self.send(200, {"items": pages[index], "page_context": {"page": index + 1, "has_more_page": more}})
            elif path == "/signal/next":
                following = f"{sim.base}{path}?page={index + 2}&limit={size}" if more else None
                self.send(200, {"data": pages[index], "pagination": {"page": index + 1, "next": following}})
            else:
                self.send(200, {"items": pages[index], "hasMore": more, "offset": index * size})

        def _scenario(self, scenario: Scenario, q: dict[str, str]) -> None:
            def record(i: int) -> dict[str, Any]:
                return {"id": i, "qty": i % 5}

            extra: dict[str, Any] = {} if scenario.total is None else {"total": scenario.total}
            if scenario.kind == "cursor":
                pages = -(-len(scenario.ids) // scenario.size) or 1
                index = int(q["cursor"].split(":")[0]) if q.get("cursor") else 0
                following = index + 1 if index + 1 < pages else (index if scenario.loop_last else None)
                cursor = None if following is None else f"{following}:{next(sim.nonce)}"
                rows = [record(i) for i in scenario.page(index, scenario.size)]
                self.send(200, {"items": rows, "next": cursor, **extra})
                return
            size = int(q.get("limit") or q.get("per_page") or 10)
            index = int(q.get("offset", 0)) // size if scenario.kind == "offset" else int(q.get("page", 1)) - 1
            rows = [record(i) for i in scenario.page(index, size)]
            if scenario.signal:
                extra["has_more"] = (index + 1) * size < len(scenario.ids)
            self.send(200, {"items": rows, **extra})

        def _dated(self, q: dict[str, str]) -> None:
            """InvenTree's stock list: ``updated_after`` inclusive, ``updated_before`` exclusive, both dates; a bare
            array without ``limit``, else ``{count, next, previous, results}`` with absolute links."""
            rows = sim.dated
            if q.get("updated_after"):
                after = date.fromisoformat(q["updated_after"])
                rows = [r for r in rows if datetime.strptime(r["updated"], "%Y-%m-%d %H:%M").date() >= after]
            if q.get("updated_before"):
                before = date.fromisoformat(q["updated_before"])
                rows = [r for r in rows if datetime.strptime(r["updated"], "%Y-%m-%d %H:%M").date() < before]
            if not q.get("limit"):
                self.send(200, rows)
                return
            limit, offset = int(q["limit"]), int(q.get("offset", 0))

            def link(at: int) -> str:
                return f"{sim.base}/dated/stock/?{urlencode({**q, 'offset': at, 'limit': limit})}"

            self.send(
                200,
                {
                    "count": len(rows),
                    "next": link(offset + limit) if offset + limit < len(rows) else None,
                    "previous": link(max(0, offset - limit)) if offset else None,
                    "results": rows[offset : offset + limit],
                },
            )

        # --- POST: read-RPC -----------------------------------------------------------------------
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"null")
            except ValueError:
                body = None
            path = urlparse(self.path).path
            self._note(self._kind(path, body), body)
            if not isinstance(body, dict):
                self.send(400, {"error": "a JSON object, please"})
            elif path.startswith("/json/2/"):
                self._odoo(path, body)
            elif path in ("/graphql", "/graphql-loop"):
                self._graphql(path, body)
            elif path == "/services/rest/query/v1/suiteql":
                q = {k: v[-1] for k, v in parse_qs(urlparse(self.path).query).items()}
                limit, offset = int(q.get("limit", 1000)), int(q.get("offset", 0))
                chunk = _slice(RECORDS, offset, limit)
                more = offset + limit < len(RECORDS)
                self.send(200, {"items": chunk, "hasMore": more, "count": len(chunk), "totalResults": len(RECORDS)})
            else:
                self.send(404, {"error": "unknown path"})

        do_PUT = do_PATCH = do_DELETE = do_POST

        def _kind(self, path: str, body: Any) -> str:
            if self.command != "POST" or not isinstance(body, dict):
                return "write"
            if path.startswith("/json/2/"):
                return "rpc_read" if path.rstrip("/").rsplit("/", 1)[-1] in ODOO_READS else "write"
            if path.startswith("/graphql"):
                query = str(body.get("query", "")).lstrip()
                return "write" if query.startswith(("mutation", "subscription")) else "rpc_read"
            if path.endswith("/suiteql"):
                return "rpc_read" if str(body.get("q", "")).lstrip().upper().startswith("SELECT") else "write"
            return "write"

        def _odoo(self, path: str, body: dict[str, Any]) -> None:
            model, method = path.removeprefix("/json/2/").rstrip("/").rsplit("/", 1)
            if method != "search_read":
                self.send(422, {"name": "odoo.exceptions.UserError", "message": f"{method} is not served here"})
                return
            limit = int(body.get("limit") or len(RECORDS))
            offset = 0 if model == "stock.move" else int(body.get("offset") or 0)  # stock.move ignores it
            rows = [{"id": r["id"], "product_id": [r["id"], r["sku"]], "quantity": r["qty"]} for r in RECORDS]
            self.send(200, rows[offset : offset + limit])

        def _graphql(self, path: str, body: dict[str, Any]) -> None:
            variables = body.get("variables") or {}
            first = int(variables.get("first") or 20)
            after = variables.get("after")
            start = int(base64.b64decode(after).decode().split(":")[0]) if after else 0
            if path == "/graphql-loop":
                start = 0
            chunk = _slice(RECORDS, start, first)
            end = start + len(chunk)
            more = end < len(RECORDS) or path == "/graphql-loop"
            cursor = base64.b64encode(f"{end}:{next(sim.nonce)}".encode()).decode() if chunk else None
            connection = {
                "edges": [
                    {"cursor": str(r["id"]), "node": {"id": r["id"], "sku": r["sku"], "qty": r["qty"]}} for r in chunk
                ],
                "pageInfo": {"hasNextPage": more, "endCursor": cursor},
            }
            self.send(200, {"data": {"stock": connection}})

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a reader that stopped (a repeat ended its read) closed pages still in flight: expected
        super().handle_error(request, client_address)


@contextmanager
def pagination_faults(host: str = "127.0.0.1", now: datetime | None = None) -> Iterator[PaginationFaults]:
    port = free_port()
    sim = PaginationFaults(host, port, now)
    server = _Server((host, port), _handler(sim))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sim
    finally:
        server.shutdown()
        server.server_close()
