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

    async def check_response_issuer(self, iss: str | None) -> None:
        """RFC 9207: the callback's ``iss`` must be present when the provider advertises it, and always match.

        A mix-up attack sends a code from another provider to this callback; the ``iss`` parameter names the
        provider that really answered, so it is checked before the code goes to any token endpoint.
        """
        metadata = await self.metadata()
        advertised = metadata.get("authorization_response_iss_parameter_supported") is True
        if iss is None:
            if advertised:
                raise OIDCError("missing_issuer_parameter")
            return
        if iss != metadata.get("issuer"):
            raise OIDCError("wrong_issuer_parameter")

    async def identity(self, tokens: dict[str, Any], *, nonce: str) -> IdentityClaims:
        """The identity behind a token response: the verified id_token, completed from userinfo when needed.

        A standards-conformant provider puts only ``sub`` in the id_token when an access token is issued
        (OIDC Core 5.4); e-mail and name then come from the userinfo endpoint, whose ``sub`` must be the
        id_token's. ``email_verified`` is taken from the same source as ``email``.
        """
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise OIDCError("no_id_token")
        claims = await self._verified_claims(id_token, nonce=nonce)
        has_email = isinstance(claims.get("email"), str) and bool(claims["email"].strip())
        has_name = any(_text(claims.get(key)) for key in ("name", "given_name", "family_name"))
        access_token = tokens.get("access_token")
        if (not has_email or not has_name) and isinstance(access_token, str) and access_token:
            try:
                userinfo = await self.userinfo(access_token, sub=str(claims["sub"]))
            except OIDCError as exc:
                # Only the name was missing: sign in without it rather than fail (a wrong subject still fails).
                if not has_email or exc.reason == "userinfo_wrong_subject":
                    raise
                userinfo = {}
            merged = {key: value for key, value in userinfo.items() if key not in ("sub", "email", "email_verified")}
            merged.update({key: value for key, value in claims.items() if value is not None})
            if not has_email:
                merged.pop("email_verified", None)
                for key in ("email", "email_verified"):
                    if key in userinfo:
                        merged[key] = userinfo[key]
            claims = merged
        return _identity(self.issuer, claims)

    async def userinfo(self, access_token: str, *, sub: str) -> dict[str, Any]:
        """The userinfo endpoint's claims (plain JSON); refused when missing, signed, or about someone else."""
        metadata = await self.metadata()
        endpoint = metadata.get("userinfo_endpoint")
        if not isinstance(endpoint, str) or not endpoint:
            return {}
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                response = await http.get(
                    endpoint, headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
                )
        except httpx.HTTPError as exc:
            raise OIDCError("userinfo_failed", type(exc).__name__) from exc
        if response.status_code != 200:
            raise OIDCError("userinfo_failed", f"status {response.status_code}")
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "application/jwt":
            # Signed (or encrypted) userinfo is not supported: configure the provider to answer plain JSON.
            raise OIDCError("userinfo_signed")
        try:
            body = response.json()
        except ValueError as exc:
            raise OIDCError("userinfo_failed", "not JSON") from exc
        if not isinstance(body, dict):
            raise OIDCError("userinfo_failed", "not a JSON object")
        if body.get("sub") != sub:
            raise OIDCError("userinfo_wrong_subject")
        return body

    async def end_session_url(self, *, id_token_hint: str | None, post_logout_redirect_uri: str) -> str | None:
        """RP-initiated logout: the provider's end_session URL for this browser, or None when it has none.

        A provider that cannot be reached now does not stop signing out of Atlas: None then too.
        """
        try:
            metadata = await self.metadata()
        except (OIDCError, httpx.HTTPError, ValueError):
            return None
        endpoint = metadata.get("end_session_endpoint")
        if not isinstance(endpoint, str) or not endpoint:
            return None
        params = {"client_id": self.client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
        if id_token_hint:
            params["id_token_hint"] = id_token_hint
        return str(httpx.URL(endpoint).copy_merge_params(params))

    async def _verified_claims(self, id_token: str, *, nonce: str) -> dict[str, Any]:
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
        return claims


def _identity(issuer: str, claims: dict[str, Any]) -> IdentityClaims:
    email = claims.get("email")
    verified = claims.get("email_verified")
    if isinstance(verified, str) and verified.lower() in ("true", "false"):  # some providers send a string
        verified = verified.lower() == "true"
    return IdentityClaims(
        issuer=issuer,
        sub=str(claims["sub"]),
        email=email.strip().lower() if isinstance(email, str) and email.strip() else None,
        email_verified=verified if isinstance(verified, bool) else None,
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
