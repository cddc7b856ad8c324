"""Two small servers that take an ``Authorization`` header with a scheme of their own, as the real systems do.

* ``inventree_style``: Django REST framework's token authentication, as InvenTree configures it (verified on
  InvenTree 1.1): ``Authorization: Token <key>`` or HTTP Basic with a user's name and password. Anything else —
  a ``Bearer`` with the same key, no header — is 401 ``{"detail": "Authentication credentials were not
  provided."}`` with ``WWW-Authenticate: Token`` (DRF names the scheme of its first authentication class). A wrong
  key is 401 ``{"detail": "Invalid token."}``. ``GET /api/part/`` returns a bare array (no ``limit``).
* ``frappe_style``: Frappe/ERPNext's API keys: ``Authorization: token <api_key>:<api_secret>`` or
  ``Basic base64(<api_key>:<api_secret>)``; anything else is 401 with Frappe's JSON error and no challenge header.
  ``GET /api/resource/Item`` returns ``{"data": [...]}``.

Both match the scheme case-insensitively, as the real ones do; the exact header received is in ``log``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.sims.auth_http import Log, SimHandler, serve

INVENTREE_KEY = "inv-1f2e3d4c5b6a"
INVENTREE_USER = ("admin", "inventree pass:1")
FRAPPE_KEY = "a1b2c3d4e5f6a7b"
FRAPPE_SECRET = "0f9e8d7c6b5a4f3"
PARTS = [{"pk": n, "IPN": f"P-{n:03d}" if n % 3 else "", "name": f"Part {n}", "units": ""} for n in range(1, 13)]
FRAPPE_ITEMS = [{"name": f"ITEM-{n:04d}", "item_name": f"Item {n}", "stock_uom": "Nos"} for n in range(1, 9)]


@dataclass
class TokenServer:
    style: str  # inventree | frappe
    base: str = ""
    log: Log = field(default_factory=Log)

    def authorizations(self) -> list[str]:
        """The Authorization headers received, in order."""
        return [r.headers.get("authorization", "") for r in self.log.received]


def _basic(value: str) -> tuple[str, str] | None:
    try:
        user, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def _handler(sim: TokenServer) -> type[SimHandler]:
    class Handler(SimHandler):
        system = f"{sim.style}_style"
        log = sim.log

        def handle_request(self, method: str, path: str, query: dict[str, str], body: bytes) -> None:
            if method not in ("GET", "HEAD"):
                self.send(405, {"detail": f'Method "{method}" not allowed.'})
                return
            scheme, _, credential = (self.headers.get("Authorization") or "").partition(" ")
            scheme, credential = scheme.lower(), credential.strip()
            if sim.style == "inventree":
                self.inventree(path, scheme, credential)
            else:
                self.frappe(path, scheme, credential)

        def inventree(self, path: str, scheme: str, credential: str) -> None:
            if path == "/api/":
                self.send(200, {"server": "InvenTree", "version": "1.1.0", "apiVersion": 421})
                return
            challenge = [("WWW-Authenticate", "Token")]
            if scheme == "token":
                if credential != INVENTREE_KEY:
                    self.send(401, {"detail": "Invalid token."}, headers=challenge)
                    return
            elif scheme == "basic":
                if _basic(credential) != INVENTREE_USER:
                    self.send(401, {"detail": "Invalid username/password."}, headers=challenge)
                    return
            else:
                self.send(401, {"detail": "Authentication credentials were not provided."}, headers=challenge)
                return
            if path == "/api/part/":
                self.send(200, PARTS)
            else:
                self.send(404, {"detail": "Not found."})

        def frappe(self, path: str, scheme: str, credential: str) -> None:
            expected = (FRAPPE_KEY, FRAPPE_SECRET)
            if scheme == "token":
                key, _, secret = credential.partition(":")
                ok = (key, secret) == expected
            elif scheme == "basic":
                ok = _basic(credential) == expected
            else:
                ok = False
            if not ok:
                self.send(
                    401,
                    {
                        "exc_type": "AuthenticationError",
                        "exception": "frappe.exceptions.AuthenticationError",
                        "_server_messages": '["{\\"message\\": \\"Not permitted\\"}"]',
                    },
                )
                return
            if path == "/api/resource/Item":
                self.send(200, {"data": FRAPPE_ITEMS})
            else:
                self.send(404, {"exc_type": "DoesNotExistError"})

    return Handler


@contextmanager
def token_server(style: str) -> Iterator[TokenServer]:
    sim = TokenServer(style=style)
    with serve(_handler(sim)) as base:
        sim.base = base
        yield sim


def inventree_style() -> Any:
    return token_server("inventree")


def frappe_style() -> Any:
    return token_server("frappe")
