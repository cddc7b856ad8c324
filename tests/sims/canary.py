"""The canary: every simulated customer system reports each request it receives here, and the suite ends by
checking that none of them ever received anything but a read (the session fixture in tests/conftest.py).

A simulation calls ``CANARY.record(system, method, path, kind)`` for every request, with ``kind`` one of
``read`` (GET or HEAD), ``token`` (an OAuth2 token request), ``login`` (a session login), ``rpc_read`` (a POST
whose body is a read: an allow-listed RPC method, a GraphQL query, a SELECT) or ``write`` (anything else:
a write method, an RPC write method, a mutation, another statement). A test that writes to a simulation on
purpose, from the test itself and not through Atlas (to show that the simulation really applies writes, as the
real system would), does so inside ``with CANARY.deliberate():``, and those requests are kept apart.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

KINDS = frozenset({"read", "token", "login", "rpc_read", "write"})


@dataclass(frozen=True, slots=True)
class Seen:
    system: str
    method: str
    path: str
    kind: str
    deliberate: bool


class Canary:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: list[Seen] = []
        self._deliberate = 0

    def record(self, system: str, method: str, path: str, kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown request kind {kind!r}")
        with self._lock:
            self._seen.append(Seen(system, method.upper(), path, kind, self._deliberate > 0))

    @contextmanager
    def deliberate(self) -> Iterator[None]:
        """Requests made while this is open are the test's own, not Atlas's."""
        with self._lock:
            self._deliberate += 1
        try:
            yield
        finally:
            with self._lock:
                self._deliberate -= 1

    def seen(self, *, system: str | None = None, kind: str | None = None) -> list[Seen]:
        with self._lock:
            return [
                s for s in self._seen if (system is None or s.system == system) and (kind is None or s.kind == kind)
            ]

    def writes(self) -> list[Seen]:
        """Every non-read request a simulation received from anything but a deliberate test write."""
        return [s for s in self.seen(kind="write") if not s.deliberate]


CANARY = Canary()
