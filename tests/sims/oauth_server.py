"""An OAuth2 authorization server for the client-credentials grant, strict as RFC 6749 and RFC 8414 say, with a
protected inventory API behind it, over real HTTP on 127.0.0.1.

* The token endpoint ``POST /oauth2/token`` accepts exactly one client authentication method, as configured:
  ``client_secret_basic`` (``Authorization: Basic base64(form-urlencoded id ":" form-urlencoded secret)``,
  RFC 6749 2.3.1) or ``client_secret_post`` (``client_id`` and ``client_secret`` in the form). The other method
  answers 401 ``{"error": "invalid_client"}`` with ``WWW-Authenticate: Basic realm="oauth"`` (RFC 6749 5.2); both at
  once is 400 ``invalid_request`` (a client must not use more than one method).
* Metadata (``metadata``): ``rfc8414`` at ``/.well-known/oauth-authorization-server`` with the issuer's path appended
  (RFC 8414 3), ``openid`` at ``<issuer>/.well-known/openid-configuration``, ``both`` or ``none``. ``metadata_issuer``
  makes the document claim another issuer (a mix-up the client must refuse).
* ``GET /api/items`` needs ``Authorization: Bearer <token>``; otherwise 401 with
  ``WWW-Authenticate: Bearer realm="inventory", error="invalid_token"``.
* ``token_answer``: ``ok``; ``html`` (a 200 HTML login page, as a misconfigured gateway sends); ``no_token`` (a 200
  JSON without ``access_token``); ``error`` (400 ``invalid_scope``).
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote_plus

from tests.sims.auth_http import Log, SimHandler, serve

CLIENT_ID = "atlas reader@erp"  # a space and an @: form-urlencoding matters for client_secret_basic
CLIENT_SECRET = "s3cr3t:/+&= value"
TOKEN_PATH = "/oauth2/token"
ITEMS = [{"id": n, "sku": f"OA-{n:03d}", "name": f"OAuth item {n}"} for n in range(1, 8)]


@dataclass
class OAuthServer:
    base: str = ""
    method: str = "client_secret_basic"  # the one client authentication the token endpoint accepts
    issuer_path: str = ""  # e.g. "/tenant-a": the issuer is base + issuer_path
    metadata: str = "rfc8414"  # rfc8414 | openid | both | none
    metadata_issuer: str | None = None  # claim this issuer in the metadata instead of the real one
    advertise_methods: list[str] | None = None  # token_endpoint_auth_methods_supported; None: [method]
    token_answer: str = "ok"
    token_lifetime: int = 3600
    log: Log = field(default_factory=Log)
    tokens: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def issuer(self) -> str:
        return self.base + self.issuer_path

    @property
    def token_url(self) -> str:
        return self.base + TOKEN_PATH

    @property
    def token_requests(self) -> int:
        return len(self.log.of(kind="token"))

    def document(self) -> dict[str, Any]:
        return {
            "issuer": self.metadata_issuer or self.issuer,
            "token_endpoint": self.token_url,
            "token_endpoint_auth_methods_supported": self.advertise_methods or [self.method],
            "grant_types_supported": ["client_credentials"],
            "response_types_supported": ["token"],
        }

    def published(self) -> list[str]:
        """The paths the metadata document is served at."""
        paths = []
        if self.metadata in ("rfc8414", "both"):
            paths.append("/.well-known/oauth-authorization-server" + self.issuer_path)
        if self.metadata in ("openid", "both"):
            paths.append(self.issuer_path + "/.well-known/openid-configuration")
        return paths

    def revoke_all(self) -> None:
        with self.lock:
            self.tokens.clear()

    def issue(self) -> str:
        token = secrets.token_urlsafe(16)
        with self.lock:
            self.tokens[token] = time.time() + self.token_lifetime
        return token

    def valid(self, token: str) -> bool:
        with self.lock:
            return self.tokens.get(token, 0) > time.time()


def basic_credentials(header: str) -> tuple[str, str] | None:
    """The client id and secret of ``Authorization: Basic ...`` decoded as RFC 6749 2.3.1 says, or None."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (unquote_plus(user), unquote_plus(password)) if sep else None


def _handler(sim: OAuthServer) -> type[SimHandler]:
    class Handler(SimHandler):
        system = "oauth_server"
        log = sim.log

        def kind_of(self, method: str, path: str) -> str:
            if method == "POST" and path == TOKEN_PATH:
                return "token"
            return "read" if method in ("GET", "HEAD") else "write"

        def handle_request(self, method: str, path: str, query: dict[str, str], body: bytes) -> None:
            if method == "POST" and path == TOKEN_PATH:
                self.token(body)
            elif method != "GET":
                self.send(405, {"error": "method_not_allowed"})
            elif path in sim.published():
                self.send(200, sim.document())
            elif path == "/api/items":
                scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
                if scheme.lower() != "bearer" or not sim.valid(token.strip()):
                    self.send(
                        401,
                        {"error": "invalid_token"},
                        headers=[("WWW-Authenticate", 'Bearer realm="inventory", error="invalid_token"')],
                    )
                    return
                self.send(200, {"items": ITEMS})
            else:
                self.send(404, {"error": "not_found"})

        def token(self, body: bytes) -> None:
            form = {k: v[-1] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
            header = self.headers.get("Authorization") or ""
            by_basic = basic_credentials(header) if header else None
            in_body = "client_secret" in form
            if header and in_body:
                self.send(400, {"error": "invalid_request", "error_description": "more than one client auth method"})
                return
            challenge = [("WWW-Authenticate", 'Basic realm="oauth"')]
            if sim.method == "client_secret_basic":
                credentials = by_basic
            else:
                credentials = (form.get("client_id", ""), form["client_secret"]) if in_body and not header else None
            if credentials != (CLIENT_ID, CLIENT_SECRET):
                self.send(401, {"error": "invalid_client"}, headers=challenge)
                return
            if form.get("grant_type") != "client_credentials":
                self.send(400, {"error": "unsupported_grant_type"})
                return
            if sim.token_answer == "html":
                self.send(200, raw=b"<!doctype html><title>Sign in</title><form></form>", content_type="text/html")
            elif sim.token_answer == "no_token":
                self.send(200, {"token_type": "Bearer", "expires_in": 3600})
            elif sim.token_answer == "error":
                self.send(400, {"error": "invalid_scope", "error_description": "scope not allowed"})
            else:
                self.send(
                    200,
                    {
                        "access_token": sim.issue(),
                        "token_type": "Bearer",
                        "expires_in": sim.token_lifetime,
                        "scope": form.get("scope", ""),
                    },
                    headers=[("Cache-Control", "no-store")],
                )

    return Handler


@contextmanager
def oauth_server(**options: Any) -> Iterator[OAuthServer]:
    sim = OAuthServer(**options)
    with serve(_handler(sim)) as base:
        sim.base = base
        yield sim
