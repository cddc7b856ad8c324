"""The only HTTP transport that reaches customer systems (ARCHITECTURE rule 2).

It sends GET and HEAD, and a POST only to a token URL that the connector
declared for OAuth2 client credentials; OPTIONS only when the caller asks for
it (capability discovery). Anything else raises `ExecutionBlocked` before a
single byte leaves the process, and the attempt is reported so it is audited as
``action_blocked``. There is no switch that widens this.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from atlas.errors import AtlasError
from atlas.execution_lock.network import NetworkPolicy

READ_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True, slots=True)
class BlockedAttempt:
    method: str
    url: str  # without query string: a query may carry an API key


class ExecutionBlocked(AtlasError):
    status = 423
    slug = "execution-blocked"

    def __init__(self, attempt: BlockedAttempt) -> None:
        super().__init__("errors.execution_blocked", method=attempt.method, url=attempt.url)
        self.attempt = attempt


def _without_query(url: httpx.URL) -> str:
    return str(url.copy_with(query=None, fragment=None))


BlockedHandler = Callable[[BlockedAttempt], Awaitable[None]]


class GuardedTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        *,
        network: NetworkPolicy,
        token_urls: frozenset[str] = frozenset(),
        allow_options: bool = False,
        on_blocked: BlockedHandler | None = None,
        inner: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._network = network
        self._token_urls = frozenset(_normalise(url) for url in token_urls)
        self._allow_options = allow_options
        self._on_blocked = on_blocked
        self._inner = inner or httpx.AsyncHTTPTransport(retries=0)

    def permits(self, request: httpx.Request) -> bool:
        method = request.method.upper()
        if method in READ_METHODS:
            return True
        if method == "OPTIONS":
            return self._allow_options
        if method == "POST":
            return _normalise(str(request.url.copy_with(query=None, fragment=None))) in self._token_urls
        return False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.permits(request):
            attempt = BlockedAttempt(method=request.method.upper(), url=_without_query(request.url))
            if self._on_blocked is not None:
                await self._on_blocked(attempt)
            raise ExecutionBlocked(attempt)
        await self._network.check(request.url.scheme, request.url.host, request.url.port)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _normalise(url: str) -> str:
    parsed = httpx.URL(url)
    return str(parsed.copy_with(query=None, fragment=None)).rstrip("/")


@dataclass(frozen=True, slots=True)
class RawResponse:
    """What the engine sees of a response: no HTTP library types leave this module."""

    status: int
    url: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    elapsed_ms: float


class TransportFailure(Exception):
    """A request that produced no usable response: ``kind`` is timeout, connect, protocol or too_large."""

    def __init__(self, kind: str, url: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.url = url
        self.detail = detail


class ReadOnlyHttp:
    """The read-only client connectors use; built only here, over `GuardedTransport`."""

    def __init__(
        self,
        *,
        network: NetworkPolicy,
        token_urls: frozenset[str] = frozenset(),
        allow_options: bool = False,
        on_blocked: BlockedHandler | None = None,
        timeout: float = 30.0,
        max_connections: int = 10,
        max_body_bytes: int = 50 * 1024 * 1024,
        user_agent: str = "Atlas-Connector/1.0 (read-only)",
    ) -> None:
        self.max_body_bytes = max_body_bytes
        transport = GuardedTransport(
            network=network,
            token_urls=token_urls,
            allow_options=allow_options,
            on_blocked=on_blocked,
            inner=httpx.AsyncHTTPTransport(
                retries=0,
                limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            ),
        )
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(timeout),
            follow_redirects=True,
            max_redirects=5,
            headers={"User-Agent": user_agent, "Accept": "application/json"},
        )

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
    ) -> RawResponse:
        """Send one request; the body is read up to ``max_body_bytes`` (more is a `TransportFailure`)."""
        # params=None keeps a query string already in ``url`` (a next link); {} would wipe it.
        started = time.perf_counter()
        try:
            async with self._client.stream(method, url, params=params or None, headers=headers, data=form) as response:
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
                    raise TransportFailure("too_large", safe_url(url), f"{declared} bytes declared")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self.max_body_bytes:
                        raise TransportFailure("too_large", safe_url(url), f"over {self.max_body_bytes} bytes")
                    chunks.append(chunk)
                return RawResponse(
                    status=response.status_code,
                    url=str(response.url),
                    headers={k.lower(): v for k, v in response.headers.items()},
                    body=b"".join(chunks),
                    elapsed_ms=(time.perf_counter() - started) * 1000,
                )
        except httpx.TimeoutException as exc:
            raise TransportFailure("timeout", safe_url(url), type(exc).__name__) from None
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise TransportFailure("connect", safe_url(url), type(exc).__name__) from None
        except httpx.TooManyRedirects:
            raise TransportFailure("protocol", safe_url(url), "too many redirects") from None
        except httpx.HTTPError as exc:
            raise TransportFailure("protocol", safe_url(url), type(exc).__name__) from None

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> ReadOnlyHttp:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def safe_url(url: str) -> str:
    """A URL fit for errors and logs: no query string (it may carry an API key), no user info."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(query=None, fragment=None, userinfo=b""))
