"""The OpenID Connect client: authorization code + PKCE, id_token verified against the issuer's JWKS.

This module is one of the two named exceptions allowed to import an HTTP client
(it talks to Atlas's own identity provider, never to a customer system). The
provider is not trusted to catch mistakes: state, nonce, issuer, audience,
expiry and the RS256 signature are all checked here.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

CLOCK_SKEW_SECONDS = 60


class OIDCError(Exception):
    """Sign-in failed; ``reason`` is a stable code for logs and the error page."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class IdentityClaims:
    issuer: str
    sub: str
    email: str | None
    email_verified: bool | None
    first_name: str | None
    last_name: str | None
    name: str | None
    picture: str | None


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OIDCClient:
    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        scopes: str,
        timeout: float = 10.0,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.scopes = scopes
        self.timeout = timeout
        self._metadata: dict[str, Any] | None = None
        self._jwks: KeySet | None = None
        self._jwks_fetched_at = 0.0

    def _oauth(self) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self.client_secret,
            scope=self.scopes,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            timeout=self.timeout,
        )

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                response = await http.get(f"{self.issuer}/.well-known/openid-configuration")
            if response.status_code != 200:
                raise OIDCError("discovery_failed", f"status {response.status_code}")
            metadata = response.json()
            if str(metadata.get("issuer", "")).rstrip("/") != self.issuer:
                raise OIDCError("discovery_failed", "issuer in the discovery document does not match")
            self._metadata = metadata
        return self._metadata

    async def authorization_url(self, *, state: str, nonce: str, code_verifier: str) -> str:
        metadata = await self.metadata()
        async with self._oauth() as oauth:
            url, _ = oauth.create_authorization_url(
                metadata["authorization_endpoint"], state=state, nonce=nonce, code_verifier=code_verifier
            )
        return str(url)

    async def exchange_code(self, *, code: str, code_verifier: str) -> dict[str, Any]:
        metadata = await self.metadata()
        async with self._oauth() as oauth:
            try:
                token = await oauth.fetch_token(
                    metadata["token_endpoint"],
                    code=code,
                    code_verifier=code_verifier,
                    grant_type="authorization_code",
                )
            except Exception as exc:  # authlib raises several error types for a refused code
                raise OIDCError("token_exchange_failed", type(exc).__name__) from exc
        return dict(token)

    async def _key_set(self, *, refresh: bool = False) -> KeySet:
        if self._jwks is None or refresh:
            metadata = await self.metadata()
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                response = await http.get(metadata["jwks_uri"])
            if response.status_code != 200:
                raise OIDCError("jwks_unavailable", f"status {response.status_code}")
            self._jwks = KeySet.import_key_set(response.json())
            self._jwks_fetched_at = time.monotonic()
        return self._jwks

    async def verify_id_token(self, id_token: str, *, nonce: str) -> IdentityClaims:
        key_set = await self._key_set()
        try:
            decoded = _decode(id_token, key_set)
        except JoseError:
            # The provider may have rotated its keys: fetch them once more (at most once a minute).
            if time.monotonic() - self._jwks_fetched_at < 60:
                raise OIDCError("bad_signature") from None
            try:
                decoded = _decode(id_token, await self._key_set(refresh=True))
            except JoseError:
                raise OIDCError("bad_signature") from None
        claims = decoded
        now = time.time()
        if str(claims.get("iss", "")).rstrip("/") != self.issuer:
            raise OIDCError("wrong_issuer")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.client_id not in audiences:
            raise OIDCError("wrong_audience")
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise OIDCError("wrong_audience", "azp")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp + CLOCK_SKEW_SECONDS < now:
            raise OIDCError("expired")
        iat = claims.get("iat")
        if isinstance(iat, int | float) and iat - CLOCK_SKEW_SECONDS > now:
            raise OIDCError("issued_in_future")
        if claims.get("nonce") != nonce:
            raise OIDCError("bad_nonce")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise OIDCError("no_subject")
        email = claims.get("email")
        return IdentityClaims(
            issuer=self.issuer,
            sub=sub,
            email=email.strip().lower() if isinstance(email, str) and email.strip() else None,
            email_verified=claims.get("email_verified") if isinstance(claims.get("email_verified"), bool) else None,
            first_name=_text(claims.get("given_name")),
            last_name=_text(claims.get("family_name")),
            name=_text(claims.get("name")),
            picture=_text(claims.get("picture")),
        )


def _text(value: Any) -> str | None:
    return value.strip()[:200] if isinstance(value, str) and value.strip() else None


def _decode(id_token: str, key_set: KeySet) -> dict[str, Any]:
    try:
        token = jwt.decode(id_token, key_set, algorithms=["RS256", "ES256", "PS256"])
    except JoseError:
        raise
    except ValueError as exc:  # malformed compact serialisation
        raise OIDCError("malformed_id_token", str(exc)) from exc
    return dict(token.claims)
