"""A small, deliberately awkward inventory API over real HTTP on 127.0.0.1, for the engine's odd cases.

Every request is counted by method and path, so a test can prove that a blocked
request never reached the wire.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from tests.services import free_port

RECORDS = [{"id": i, "sku": f"SKU-{i:04d}", "qty": i % 7} for i in range(1, 251)]


class OddApi:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.base = f"http://{host}:{port}"
        self.hits: Counter[tuple[str, str]] = Counter()
        self.calls: list[tuple[str, str, dict[str, str]]] = []
        self.fail_counts: Counter[str] = Counter()
        self.tokens: dict[str, float] = {}
        self.token_requests = 0
        self.token_lifetime = 3600
        self.lock = threading.Lock()
        self.redirect_target = ""

    def count(self, method: str, path: str) -> int:
        return self.hits[(method, path)]

    def total(self, method: str) -> int:
        return sum(n for (m, _), n in self.hits.items() if m == method)


def _handler(api: OddApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def send(
            self,
            status: int,
            body: Any = None,
            *,
            raw: bytes | None = None,
            content_type: str = "application/json",
            headers: dict[str, str] | None = None,
        ) -> None:
            data = raw if raw is not None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _record(self) -> tuple[str, dict[str, str]]:
            url = urlparse(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            with api.lock:
                api.hits[(self.command, url.path)] += 1
                api.calls.append((self.command, url.path, query))
            return url.path, query

        def do_POST(self) -> None:  # only the OAuth2 token endpoint accepts POST
            path, _ = self._record()
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if path != "/oauth/token":
                self.send(405, {"error": "method not allowed"})
                return
            if form.get("grant_type") != "client_credentials" or form.get("client_secret") != "s3cret-value":
                self.send(401, {"error": "invalid_client"})
                return
            with api.lock:
                api.token_requests += 1
                token = f"tok-{api.token_requests}"
                api.tokens[token] = time.time() + api.token_lifetime
            self.send(
                200,
                {
                    "access_token": token,
                    "token_type": "Bearer",
                    "expires_in": api.token_lifetime,
                    "scope": form.get("scope", ""),
                },
            )

        do_PUT = do_PATCH = do_DELETE = do_POST

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_OPTIONS(self) -> None:
            self._record()
            self.send(204, raw=b"", headers={"Allow": "GET, HEAD, OPTIONS"})

        def fail_first(self, name: str, times: int) -> bool:
            with api.lock:
                api.fail_counts[name] += 1
                return api.fail_counts[name] <= times

        def do_GET(self) -> None:
            path, q = self._record()
            size = int(q.get("limit") or q.get("per_page") or 50)
            if path == "/auth/header":
                ok = self.headers.get("X-API-Key") == "k-123"
                self.send(200 if ok else 401, {"items": RECORDS[:3]} if ok else {"error": "bad key"})
            elif path == "/auth/query":
                ok = q.get("api_key") == "k-123"
                self.send(200 if ok else 401, {"items": RECORDS[:3]} if ok else {"error": "bad key"})
            elif path == "/auth/bearer":
                ok = self.headers.get("Authorization") == "Bearer b-456"
                self.send(200 if ok else 401, {"items": RECORDS[:3]} if ok else {"error": "bad token"})
            elif path == "/oauth/items":
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                if api.tokens.get(token, 0) < time.time():
                    self.send(401, {"error": "invalid_token"})
                else:
                    self.send(200, {"items": RECORDS[:5]})
            elif path == "/pages":  # page numbers with a total-pages field
                page = int(q.get("page", 1))
                chunk = RECORDS[(page - 1) * size : page * size]
                self.send(200, {"data": chunk, "meta": {"total_pages": -(-len(RECORDS) // size)}})
            elif path == "/pages-open":  # page numbers, no total: the read ends on an empty page
                page = int(q.get("page", 1))
                self.send(200, {"data": RECORDS[(page - 1) * size : page * size]})
            elif path == "/pages-repeat":  # ignores the page parameter
                self.send(200, {"data": RECORDS[:size]})
            elif path == "/offset":
                offset = int(q.get("offset", 0))
                self.send(200, {"results": RECORDS[offset : offset + size], "total": len(RECORDS)})
            elif path == "/offset-short-middle":  # page 2 comes back short once, then right
                offset = int(q.get("offset", 0))
                chunk = RECORDS[offset : offset + size]
                if offset == size and self.fail_first("short", int(q.get("fail", 1))):
                    chunk = chunk[: size // 2]
                self.send(200, {"results": chunk, "total": len(RECORDS)})
            elif path == "/cursor":
                start = int(base64.b64decode(q["cursor"]).decode()) if q.get("cursor") else 0
                chunk = RECORDS[start : start + size]
                nxt = base64.b64encode(str(start + size).encode()).decode() if start + size < len(RECORDS) else None
                self.send(200, {"items": chunk, "next_cursor": nxt})
            elif path == "/cursor-repeat":
                self.send(200, {"items": RECORDS[:size], "next_cursor": "same-cursor"})
            elif path == "/next-url":
                start = int(q.get("start", 0))
                nxt = f"/next-url?start={start + size}&limit={size}" if start + size < len(RECORDS) else None
                self.send(200, {"items": RECORDS[start : start + size], "links": {"next": nxt}})
            elif path == "/link":
                start = int(q.get("start", 0))
                headers = {}
                if start + size < len(RECORDS):
                    headers["Link"] = f'<{api.base}/link?start={start + size}&limit={size}>; rel="next"'
                self.send(200, RECORDS[start : start + size], headers=headers)
            elif path == "/link-loop":
                self.send(200, RECORDS[:5], headers={"Link": f'<{api.base}/link-loop?x=1>; rel="next"'})
            elif path == "/flaky":
                if self.fail_first("flaky", int(q.get("fail", 2))):
                    self.send(503 if q.get("kind") == "503" else 500, {"error": "try later"})
                else:
                    self.send(200, {"items": RECORDS[:2]})
            elif path == "/always-500":
                self.send(500, {"error": "broken"})
            elif path == "/rate-limited":
                if self.fail_first("rate", int(q.get("fail", 1))):
                    self.send(429, {"error": "slow down"}, headers={"Retry-After": q.get("after", "1")})
                else:
                    self.send(200, {"items": RECORDS[:2]})
            elif path == "/html":
                self.send(200, raw=b"<html><body>Gateway error</body></html>", content_type="text/html")
            elif path == "/truncated":
                if self.fail_first("truncated", int(q.get("fail", 99))):
                    self.send(200, raw=b'{"items": [{"id": 1}, {"id": 2')
                else:
                    self.send(200, {"items": RECORDS[:2]})
            elif path == "/empty-body":
                self.send(200, raw=b"")
            elif path == "/huge":
                self.send(200, {"items": [{"blob": "x" * 1000}] * 200})
            elif path == "/wrong-path":
                self.send(200, {"rows": RECORDS[:3]})
            elif path == "/not-found":
                self.send(404, {"message": "no such collection"})
            elif path == "/forbidden":
                self.send(403, {"error": {"message": "key lacks scope inventory:read"}})
            elif path == "/slow":
                time.sleep(float(q.get("seconds", 2)))
                self.send(200, {"items": []})
            elif path == "/redirect":
                self.send(302, raw=b"", headers={"Location": api.redirect_target})
            elif path == "/parents":
                self.send(200, {"locations": [{"id": "L1"}, {"id": "L2"}, {"id": "L 3"}]})
            elif path.startswith("/parents/") and path.endswith("/stock"):
                location = unquote(path.split("/")[2])
                self.send(200, {"stock": [{"location": location, "sku": r["sku"]} for r in RECORDS[:4]]})
            elif path == "/movements":
                start, end = q.get("from", ""), q.get("to", "")
                page = int(q.get("page", 1))
                rows = [{"window": [start, end], "n": i} for i in range(7)]
                headers = {}
                if page == 1:
                    headers["Link"] = f'</movements?from={start}&to={end}&page=2>; rel="next"'
                    rows = rows[:4]
                else:
                    rows = rows[4:]
                self.send(200, {"movements": rows}, headers=headers)
            else:
                self.send(404, {"error": "unknown path"})

    return Handler


@contextmanager
def odd_api(host: str = "127.0.0.1") -> Iterator[OddApi]:
    port = free_port()
    api = OddApi(host, port)
    server = ThreadingHTTPServer((host, port), _handler(api))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
