"""Running a simulation: a threaded HTTP server on 127.0.0.1 for as long as a ``with`` block lasts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.services import free_port


class QuietHandler(BaseHTTPRequestHandler):
    """What every simulation's handler shares: keep-alive HTTP/1.1, and no request log on the test's output."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the standard library's name
        pass


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler], port: int | None = None, host: str = "127.0.0.1") -> Iterator[int]:
    """Serve ``handler`` on ``port`` (a free one when None) in a background thread; yields the port."""
    port = port or free_port()
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        server.shutdown()
        server.server_close()
