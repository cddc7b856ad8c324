"""Running a simulation: a threaded HTTP server on 127.0.0.1 for as long as a ``with`` block lasts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.services import free_port


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
