"""A small base for the authentication simulations: a threaded HTTP server on 127.0.0.1 whose handler records
every request (for the test and for the canary) and answers JSON, HTML or raw bytes with any headers, including
several ``Set-Cookie`` lines (which the real systems send and a dict of headers cannot hold).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.sims.canary import CANARY
from tests.sims.serving import QuietHandler, serving


@dataclass(frozen=True, slots=True)
class Received:
    """One request as the simulation saw it: enough for a test to prove what Atlas sent."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    kind: str  # the canary's kind: read, token, login, write


@dataclass
class Log:
    """What a simulation received, in order, thread-safe."""

    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, entry: Received) -> None:
        with self.lock:
            self.received.append(entry)

    def of(self, *, kind: str | None = None, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.received if (kind is None or r.kind == kind) and (path is None or r.path == path)]

    def clear(self) -> None:
        with self.lock:
            self.received.clear()


class SimHandler(QuietHandler):
    """Subclasses set ``system`` and ``log`` and implement ``handle_request(method, path, query, body)``; every
    request is recorded first, with the kind the subclass's ``kind_of`` gives it."""

    system = "sim"
    log: Log

    def kind_of(self, method: str, path: str) -> str:
        return "read" if method in ("GET", "HEAD") else "write"

    def handle_request(self, method: str, path: str, query: dict[str, str], body: bytes) -> None:
        raise NotImplementedError

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        method = self.command.upper()
        kind = self.kind_of(method, url.path)
        CANARY.record(self.system, method, url.path, kind)
        self.log.add(Received(method, url.path, query, {k.lower(): v for k, v in self.headers.items()}, body, kind))
        self.handle_request(method, url.path, query, body)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch

    def cookies(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for header in self.headers.get_all("Cookie") or []:
            for part in header.split(";"):
                name, _, value = part.strip().partition("=")
                if name:
                    found[name] = value
        return found

    def send(
        self,
        status: int,
        body: Any = None,
        *,
        raw: bytes | None = None,
        content_type: str = "application/json",
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        data = raw if raw is not None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers or []:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


@contextmanager
def serve(handler: type[SimHandler], host: str = "127.0.0.1") -> Iterator[str]:
    """Run ``handler`` on a free port; yields the base URL."""
    with serving(handler, host=host) as port:
        yield f"http://{host}:{port}"
