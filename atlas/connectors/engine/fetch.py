"""One request, done right: rate limit, authentication, retries with backoff, and response checks.

Retried (within the connector's budget of attempts and seconds): timeouts, connection
errors, 408, 429, 5xx, and 200 answers that are not usable JSON (HTML error pages,
truncated or empty bodies). 429 and 503 honour ``Retry-After`` and pause the whole
connector; a minimum backoff applies always, so ``Retry-After: 0`` or no header
never makes a retry storm. Other 4xx are not retried and surface with the URL
(never its secrets), the status and the server's own error text.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import msgspec
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, stop_after_delay
from tenacity.wait import wait_random_exponential

from atlas.connectors.engine.auth import Authenticator, challenge_hint
from atlas.connectors.engine.config import ConnectorConfig
from atlas.connectors.engine.errors import FetchError
from atlas.connectors.engine.nul import without_nul
from atlas.connectors.engine.ratelimit import TokenBucket
from atlas.execution_lock import ExecutionBlocked, RawResponse, ReadOnlyHttp, TransportFailure, safe_url

_decoder = msgspec.json.Decoder()


@dataclass(frozen=True, slots=True)
class FetchedPage:
    url: str  # the final URL, without its query string
    full_url: str  # with the query string, to resolve relative next links; never logged
    status: int
    headers: dict[str, str]
    body: Any
    elapsed_ms: float
    attempts: int


def parse_retry_after(value: str | None, *, cap: float) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), cap)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return min(max(0.0, (moment - datetime.now(UTC)).total_seconds()), cap)


def _server_message(body: bytes) -> str:
    """A short, safe description of an error body."""
    body = without_nul(body)  # stored with the health check: never a NUL
    try:
        parsed = _decoder.decode(body)
    except msgspec.DecodeError:
        text = body[:120].decode("utf-8", "replace").strip()
        return "non-JSON body" if text.startswith("<") else text
    if isinstance(parsed, dict):
        for key in ("message", "error_description", "detail", "error", "title"):
            value = parsed.get(key)
            if isinstance(value, str):
                return value[:200]
            if isinstance(value, dict):
                message = value.get("message")
                if isinstance(message, str):
                    return message[:200]
                # OData v4 / SAP Business One Service Layer: {"error": {"code": .., "message": {"value": ".."}}}
                if isinstance(message, dict) and isinstance(message.get("value"), str):
                    return str(message["value"])[:200]
    return ""


@dataclass(frozen=True, slots=True)
class RpcCall:
    """A read-RPC request: its protocol and JSON body (which the execution lock proves a read before sending)."""

    protocol: str
    body: dict[str, Any]


def rpc_error_message(body: Any) -> str | None:
    """The server's message when a read-RPC answer reports an error in its body, else None: JSON-RPC's
    ``{"error": {"message", "data": {"message"}}}`` (Odoo's JSON-RPC answers errors with 200), a bare
    ``{"error": "..."}``, or GraphQL's ``{"errors": [{"message"}]}``."""
    if not isinstance(body, dict):
        return None
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0]
        message = first.get("message") if isinstance(first, dict) else first
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return f"{str(message)[:200]}{more}" if message else f"{len(errors)} errors"
    error = body.get("error")
    if error in (None, False, "", {}):
        return None
    if isinstance(error, dict):
        data = error.get("data")
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            return str(data["message"])[:200]
        if isinstance(error.get("message"), str):
            return str(error["message"])[:200]
        return "error"
    return str(error)[:200]


# Errors a JSON-RPC server answers with 200 that are about the credentials, by the exception's name in
# ``error.data.name`` (Odoo's ``serialize_exception``): a wrong key or password is ``AccessDenied``, a user without
# the right to read a model ``AccessError``. They are the same failures a REST API answers with 401 and 403.
RPC_CREDENTIAL_ERRORS = {"odoo.exceptions.AccessDenied": "unauthorized", "odoo.exceptions.AccessError": "forbidden"}


def rpc_error_reason(body: Any) -> str:
    """``unauthorized`` or ``forbidden`` when a read-RPC error answer is about the credentials, else ``rpc_error``."""
    error = body.get("error") if isinstance(body, dict) else None
    data = error.get("data") if isinstance(error, dict) else None
    name = data.get("name") if isinstance(data, dict) else None
    return RPC_CREDENTIAL_ERRORS.get(name, "rpc_error") if isinstance(name, str) else "rpc_error"


def _with_query(url: str, extra: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(extra.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


class RequestExecutor:
    def __init__(
        self,
        config: ConnectorConfig,
        http: ReadOnlyHttp,
        auth: Authenticator,
        bucket: TokenBucket,
        in_flight: asyncio.Semaphore | None = None,
    ) -> None:
        self.config = config
        self.http = http
        self.auth = auth
        self.bucket = bucket
        self.in_flight = in_flight or asyncio.Semaphore(max(1, config.max_concurrency))
        self.requests = 0
        self.retries = 0

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        floor = self.config.min_backoff_seconds
        if isinstance(error, FetchError) and error.retry_after is not None:
            return max(floor, error.retry_after)
        backoff = wait_random_exponential(multiplier=floor, max=30)(state)
        return max(floor, float(backoff))

    async def get_json(self, url: str, params: dict[str, str] | None = None) -> FetchedPage:
        """GET a JSON document. ``params=None`` keeps the query already in ``url`` (next links)."""
        return await self._fetch(url, params, None)

    async def _fetch(self, url: str, params: dict[str, str] | None, rpc: RpcCall | None) -> FetchedPage:
        """One request with the connector's retries (a GET, or a read-RPC POST: a read, so as safe to repeat)."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(max(1, self.config.retry_attempts))
            | stop_after_delay(self.config.retry_max_seconds),
            wait=self._wait,
            retry=retry_if_exception(lambda e: isinstance(e, FetchError) and e.retryable),
            reraise=True,
        )
        attempts = 0
        async for attempt in retrying:
            with attempt:
                attempts += 1
                if attempts > 1:
                    self.retries += 1
                page = await self._once(url, params, attempts, rpc)
        return page

    async def rpc_json(
        self, url: str, body: dict[str, Any], *, protocol: str, params: dict[str, str] | None = None
    ) -> FetchedPage:
        """POST a declared read-RPC call (Odoo JSON-2, GraphQL, SQL) through the lock, which proves ``body`` a read
        before anything is sent; the answer is checked and retried as `get_json` does.

        An answer that reports an error in its body is a `FetchError` with the server's message, never records:
        a JSON-RPC ``error`` answered with 200, or GraphQL ``errors`` (even beside partial ``data``: a page with
        some of its rows missing is a page that loses rows). Odoo's JSON-RPC refusing the key (``AccessDenied``) or a
        model (``AccessError``) is ``unauthorized`` or ``forbidden``, as a 401 or 403 would be."""
        page = await self._fetch(url, params, RpcCall(protocol, body))
        error = rpc_error_message(page.body)
        if error is not None:
            raise FetchError(rpc_error_reason(page.body), url=page.url, status=page.status, detail=error)
        return page

    async def _send(
        self, url: str, params: dict[str, str] | None, rpc: RpcCall | None = None, used: list[int] | None = None
    ) -> RawResponse:
        """Send one request; ``used`` receives the generation of the credential it carries."""
        # The connector's static headers first (X-Odoo-Database): authentication's own headers win over them.
        headers: dict[str, str] = dict(self.config.headers)
        query: dict[str, str] = dict(params) if params is not None else {}
        try:
            # The rate limit first, the credential after: a token taken before a long wait (a 429's pause) could
            # expire on the way.
            await self.bucket.acquire()
            await self.auth.apply(headers, query)
            if used is not None:
                # Read right after `apply` (no await between): the credential this very request carries, which
                # `apply` may just have fetched or renewed, not the one before it.
                used.append(self.auth.generation)
            if params is None and query:
                url, query = _with_query(url, query), {}
            async with self.in_flight:
                self.requests += 1
                if rpc is None:
                    return await self.http.get(url, params=query or None, headers=headers)
                return await self.http.read_rpc(
                    url,
                    protocol=rpc.protocol,
                    body=self.auth.rpc_body(rpc.body, url=url),
                    params=query or None,
                    headers=headers,
                )
        except ExecutionBlocked as exc:
            # Refused before the wire and already audited as action_blocked: the read stops here, with the reason.
            attempt = exc.attempt
            raise FetchError(
                "blocked_by_lock", url=attempt.url, detail=f"{attempt.reason}: {attempt.detail}".rstrip(": ")
            ) from None
        except TransportFailure as exc:
            raise FetchError(
                {"timeout": "timeout", "connect": "connection_failed", "too_large": "body_too_large"}.get(
                    exc.kind, "protocol_error"
                ),
                url=exc.url,
                detail=exc.detail,
                retryable=exc.kind in ("timeout", "connect", "protocol"),
            ) from None

    async def _once(
        self, url: str, params: dict[str, str] | None, attempt: int, rpc: RpcCall | None = None
    ) -> FetchedPage:
        used: list[int] = []
        response = await self._send(url, params, rpc, used)
        if response.status == 401 and self.auth.refreshes_on_401:
            # The token was revoked or the session expired at the server: a new token or login, once per request
            # (and once for all the requests that failed with the same credential). The credential is the one the
            # request carried: a session's first request, or one sent just after a renewal, carries a credential
            # `apply` fetched for it (a shared token another session cached may already be revoked).
            await self.auth.refresh(used[0] if used else self.auth.generation)
            response = await self._send(url, params, rpc)
        where = safe_url(response.url)
        status = response.status
        if status in (429, 503):
            wait = parse_retry_after(response.headers.get("retry-after"), cap=self.config.retry_max_seconds)
            self.bucket.pause(max(self.config.min_backoff_seconds, wait or 0.0))
            raise FetchError(
                "rate_limited" if status == 429 else "unavailable",
                url=where,
                status=status,
                retryable=True,
                retry_after=wait,
            )
        if status == 408 or status >= 500:
            raise FetchError(
                "server_error", url=where, status=status, detail=_server_message(response.body), retryable=True
            )
        if status >= 400:
            reason = {401: "unauthorized", 403: "forbidden", 404: "not_found"}.get(status, "client_error")
            hint = challenge_hint(response.headers.get("www-authenticate")) if status == 401 else None
            raise FetchError(reason, url=where, status=status, detail=_server_message(response.body), hint=hint)
        if status >= 300:
            raise FetchError("unexpected_redirect", url=where, status=status)
        content_type = response.headers.get("content-type", "")
        if not response.body.strip():
            raise FetchError("empty_body", url=where, status=status, retryable=True)
        if "html" in content_type or response.body.lstrip()[:1] == b"<":
            raise FetchError("html_instead_of_json", url=where, status=status, retryable=True)
        try:
            body = _decoder.decode(without_nul(response.body))
        except msgspec.DecodeError as exc:
            raise FetchError("invalid_json", url=where, status=status, detail=str(exc)[:120], retryable=True) from None
        return FetchedPage(
            url=where,
            full_url=response.url,
            status=status,
            headers=response.headers,
            body=body,
            elapsed_ms=response.elapsed_ms,
            attempts=attempt,
        )


def monotonic_ms() -> float:
    return time.monotonic() * 1000
