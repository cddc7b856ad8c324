"""A strict little OpenID provider for the refusal tests, served over real HTTP on 127.0.0.1.

It verifies PKCE (S256) itself, and issues an id_token that is wrong in exactly
the way a test asks for: expired, signed by another key, for another audience,
from another issuer, or with another nonce.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.services import free_port


class FakeIdP:
    def __init__(self, port: int) -> None:
        self.issuer = f"http://127.0.0.1:{port}"
        self.key = RSAKey.generate_key(2048, parameters={"kid": "good"})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "good"})
        self.mode = "valid"
        self.codes: dict[str, dict[str, Any]] = {}
        self.pkce_failures = 0
        self.token_requests: list[dict[str, str]] = []
        self.access_tokens: dict[str, str] = {}  # access token -> sub, for userinfo

    def id_token(self, request: dict[str, Any], client_id: str) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": request["sub"],
            "aud": client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": request["nonce"],
            "email": request["sub"],
            "name": "Strict User",
        }
        key = self.key
        if self.mode == "expired":
            claims["iat"], claims["exp"] = now - 3600, now - 1800
        elif self.mode == "wrong_key":
            key = self.other_key
        elif self.mode == "wrong_audience":
            claims["aud"] = "someone-else"
        elif self.mode == "wrong_issuer":
            claims["iss"] = "http://evil.example"
        elif self.mode == "wrong_nonce":
            claims["nonce"] = "not-the-nonce"
        elif self.mode.startswith("userinfo_"):  # claims only from userinfo, answered per mode
            del claims["email"], claims["name"]
        elif self.mode == "no_name_userinfo_down":
            del claims["name"]
        return jwt.encode({"alg": "RS256", "kid": "good"}, claims, key)


def _handler(idp: FakeIdP) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _json(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path == "/.well-known/openid-configuration":
                self._json(
                    200,
                    {
                        "issuer": idp.issuer,
                        "authorization_endpoint": f"{idp.issuer}/authorize",
                        "token_endpoint": f"{idp.issuer}/token",
                        "jwks_uri": f"{idp.issuer}/jwks",
                        "userinfo_endpoint": f"{idp.issuer}/userinfo",
                        "response_types_supported": ["code"],
                        "id_token_signing_alg_values_supported": ["RS256"],
                        "code_challenge_methods_supported": ["S256"],
                        "subject_types_supported": ["public"],
                    },
                )
            elif url.path == "/userinfo":
                sub = idp.access_tokens.get(self.headers.get("Authorization", "").removeprefix("Bearer "))
                if sub is None:
                    self._json(401, {"error": "invalid_token"})
                elif idp.mode == "no_name_userinfo_down":
                    self._json(503, {"error": "temporarily_unavailable"})
                elif idp.mode == "userinfo_jwt":
                    body = jwt.encode({"alg": "RS256", "kid": "good"}, {"sub": sub, "email": sub}, idp.key).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/jwt")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                elif idp.mode == "userinfo_other_sub":
                    self._json(200, {"sub": "someone-else", "email": "victim@example.sa", "email_verified": True})
                else:
                    self._json(200, {"sub": sub, "email": sub, "email_verified": True, "name": "Userinfo Person"})
            elif url.path == "/jwks":
                self._json(200, {"keys": [idp.key.as_dict(private=False)]})
            elif url.path == "/authorize":
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
                    self._json(400, {"error": "invalid_request", "error_description": "PKCE required"})
                    return
                code = uuid.uuid4().hex
                idp.codes[code] = {"sub": query.get("login_hint") or "strict@example.sa", **query}
                location = query["redirect_uri"] + "?" + urlencode({"code": code, "state": query.get("state", "")})
                self.send_response(302)
                self.send_header("Location", location)
                self.end_headers()
            else:
                self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            idp.token_requests.append(form)
            request = idp.codes.pop(form.get("code", ""), None)
            if request is None:
                self._json(400, {"error": "invalid_grant"})
                return
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if challenge != request["code_challenge"]:
                idp.pkce_failures += 1
                self._json(400, {"error": "invalid_grant", "error_description": "PKCE verification failed"})
                return
            client_id = form.get("client_id") or "atlas"
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                client_id = base64.b64decode(auth[6:]).decode().split(":", 1)[0]
            access_token = uuid.uuid4().hex
            idp.access_tokens[access_token] = request["sub"]
            self._json(
                200,
                {
                    "access_token": access_token,
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "id_token": idp.id_token(request, client_id),
                },
            )

    return Handler


@contextmanager
def fake_idp() -> Iterator[FakeIdP]:
    port = free_port()
    idp = FakeIdP(port)
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(idp))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield idp
    finally:
        server.shutdown()
        server.server_close()
