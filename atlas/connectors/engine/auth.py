"""Authentication of connector requests: API key, bearer token, OAuth2 client credentials."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec

from atlas.connectors.engine.config import AuthConfig, AuthKind
from atlas.connectors.engine.errors import FetchError
from atlas.execution_lock import ReadOnlyHttp, TransportFailure, safe_url

REFRESH_MARGIN_SECONDS = 60


class Authenticator:
    """Adds credentials to a request; for OAuth2, caches the token and refreshes it before expiry or on a 401."""

    def __init__(self, config: AuthConfig, http: ReadOnlyHttp) -> None:
        self.config = config
        self._http = http
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.token_requests = 0

    @property
    def refreshes_on_401(self) -> bool:
        return self.config.kind == AuthKind.OAUTH2_CLIENT_CREDENTIALS

    async def apply(self, headers: dict[str, str], params: dict[str, str]) -> None:
        config = self.config
        if config.kind == AuthKind.API_KEY and config.api_key:
            if config.key_location == "query":
                params[config.key_name] = config.api_key
            else:
                headers[config.key_name] = config.api_key
        elif config.kind == AuthKind.BEARER and config.token:
            headers["Authorization"] = f"Bearer {config.token}"
        elif config.kind == AuthKind.OAUTH2_CLIENT_CREDENTIALS:
            headers["Authorization"] = f"Bearer {await self._access_token()}"

    async def invalidate(self) -> None:
        async with self._lock:
            self._token = None
            self._expires_at = 0.0

    async def _access_token(self) -> str:
        async with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at - REFRESH_MARGIN_SECONDS:
                self._token, lifetime = await self._fetch_token()
                self._expires_at = time.monotonic() + lifetime
            return self._token

    async def _fetch_token(self) -> tuple[str, float]:
        config = self.config
        if not config.token_url or not config.client_id or not config.client_secret:
            raise FetchError("oauth2_not_configured", url=config.token_url or "")
        form = {
            "grant_type": "client_credentials",
            "client_id": config.client_id,
            "client_secret": config.client_secret,
        }
        if config.scopes:
            form["scope"] = config.scopes
        if config.audience:
            form["audience"] = config.audience
        self.token_requests += 1
        try:
            response = await self._http.token_request(config.token_url, form)
        except TransportFailure as exc:
            raise FetchError("oauth2_token_unreachable", url=exc.url, detail=exc.kind, retryable=True) from None
        url = safe_url(config.token_url)
        if response.status != 200:
            raise FetchError("oauth2_token_refused", url=url, status=response.status, detail=_error_code(response.body))
        try:
            body: Any = msgspec.json.decode(response.body)
            token = body["access_token"]
        except (msgspec.DecodeError, KeyError, TypeError):
            raise FetchError("oauth2_token_invalid", url=url, status=200, detail="no access_token") from None
        if not isinstance(token, str) or not token:
            raise FetchError("oauth2_token_invalid", url=url, status=200, detail="no access_token")
        expires_in = body.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) and expires_in > 0 else 3600.0
        return token, lifetime


def _error_code(body: bytes) -> str:
    try:
        parsed = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return ""
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), str):
        return str(parsed["error"])[:100]
    return ""
