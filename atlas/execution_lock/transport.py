"""The only HTTP transport that reaches customer systems (ARCHITECTURE rule 2).

It sends GET and HEAD, and beyond them only a closed set of declared read kinds, each built by a method of
`ReadOnlyHttp` and each checked again, byte for byte, by `GuardedTransport` just before the wire:

- ``token_request``: an OAuth2 token request, a form POST to a URL the connector declared as its token URL (apart
  from its data paths), for one of three grants: client credentials, a refresh token, or the resource owner's
  password;
- ``session_login``: a JSON POST to the connector's declared login URL (SAP Business One Service Layer); the
  cookies it sets stay in this client's jar;
- ``read_rpc``: a JSON POST whose body `atlas.execution_lock.read_proofs` proves a read for a protocol the
  connector declared (an allow-listed Odoo method, a GraphQL query, one SQL SELECT).

Anything else (PUT, PATCH, DELETE, OPTIONS, TRACE, a POST to an undeclared URL, a POST whose body is not a
read) raises `ExecutionBlocked` before a single byte leaves the process, and the attempt is reported so it is
audited as ``action_blocked`` with a machine reason. Every declared request that does leave is reported first
(``on_sent``), so it is audited as ``declared_request_sent``. There is no switch that widens any of this.
"""

from __future__ import annotations

import asyncio
import contextvars
import enum
import json
import re
import time
import typing
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpcore
import httpx

from atlas.errors import AtlasError
from atlas.execution_lock.network import Destination, NetworkPolicy, normalise_host
from atlas.execution_lock.read_proofs import NotARead, ProvenRead, prove

READ_METHODS = frozenset({"GET", "HEAD"})
# OAuth2 grants a token request may carry, and no other: each asks the authorization server for an access token
# and changes nothing in the customer's data. ``refresh_token`` (Zoho) exchanges a refresh token, ``password``
# (Daftra) the resource owner's credentials; both go only to the declared token URL, which may not be a data path.
# An authorization code, a device code or any extension grant is refused.
TOKEN_GRANTS = frozenset({"client_credentials", "refresh_token", "password"})
MAX_DECLARED_BODY_BYTES = 1024 * 1024  # a token form, a login or a read query is never near a megabyte
_RPC_PROTOCOL = "atlas_read_protocol"  # the httpx request extension naming the protocol a read-RPC claims
_PLACEHOLDER = re.compile(r"\{[^{}/]*\}")


class DeclaredKind(enum.StrEnum):
    """The only requests other than GET and HEAD that can leave Atlas for a customer system."""

    TOKEN_REQUEST = "token_request"
    SESSION_LOGIN = "session_login"
    READ_RPC = "read_rpc"


@dataclass(frozen=True, slots=True)
class BlockedAttempt:
    """A request the lock refused. ``url`` has no query string and no user info (either may carry a secret);
    ``reason`` is a stable machine reason; ``detail`` names what was refused (a method, a function), never a body."""

    method: str
    url: str
    reason: str = "method_not_allowed"
    detail: str = ""


@dataclass(frozen=True, slots=True)
class DeclaredRequest:
    """A declared request about to leave: its kind, its URL (no query, no user info), and for a read-RPC what the
    proof established (protocol, method such as ``search_read``/``query``/``select``, and what it reads)."""

    kind: DeclaredKind
    url: str
    protocol: str | None = None
    method: str | None = None
    subject: str | None = None


class ExecutionBlocked(AtlasError):
    status = 423
    slug = "execution-blocked"

    def __init__(self, attempt: BlockedAttempt) -> None:
        written = attempt.reason == "method_not_allowed"
        key = "errors.execution_blocked" if written else f"read_kinds.blocked.{attempt.reason}"
        super().__init__(
            key,
            extra={"reason": attempt.reason},
            method=attempt.method,
            url=attempt.url,
            detail=attempt.detail,
        )
        self.attempt = attempt


@dataclass(frozen=True, slots=True)
class DeclaredFailure:
    """A token or login answer that was not a token or a session (the authenticator judges the answer): the kind
    (``oauth2_token``, ``session_login``), the URL without secrets, the engine's reason and the HTTP status."""

    kind: str
    url: str
    reason: str
    status: int | None = None


BlockedHandler = Callable[[BlockedAttempt], Awaitable[None]]
SentHandler = Callable[[DeclaredRequest], Awaitable[None]]
FailedHandler = Callable[[DeclaredFailure], Awaitable[None]]


def safe_url(url: str) -> str:
    """A URL fit for errors, logs and the audit trail: no query string (it may carry an API key), no user info."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(query=None, fragment=None, userinfo=b""))


def printable_url(url: str) -> str:
    """`safe_url`, or for a URL httpx cannot read, the text before any query with no user info."""
    try:
        return safe_url(url)
    except (httpx.InvalidURL, UnicodeError, ValueError):
        head = url.split("#", 1)[0].split("?", 1)[0]
        return re.sub(r"//[^/@]*@", "//", head)[:300]


def _normalise(url: str | httpx.URL) -> str:
    parsed = httpx.URL(str(url))
    return str(parsed.copy_with(query=None, fragment=None, userinfo=b"")).rstrip("/")


def _path_pattern(path_or_url: str) -> re.Pattern[str]:
    """A data endpoint's path as a pattern: ``/parents/{id}/stock`` matches any value in the placeholder."""
    path = httpx.URL(path_or_url).path if "://" in path_or_url else path_or_url.split("?", 1)[0]
    parts = _PLACEHOLDER.split(path.rstrip("/") or "/")
    return re.compile("[^/]+".join(re.escape(part) for part in parts) + "/?")


@dataclass
class Declarations:
    """What one connector declared: its token and login URLs, the read-RPC protocols of its endpoints, and its data
    paths (which no token or login URL may share). Shared by `ReadOnlyHttp` and its `GuardedTransport`; a URL
    refused at declaration keeps its reason, so a later attempt is refused with it."""

    token_urls: set[str] = field(default_factory=set)
    login_urls: set[str] = field(default_factory=set)
    protocols: frozenset[str] = frozenset()
    data_paths: tuple[re.Pattern[str], ...] = ()
    refused: dict[str, str] = field(default_factory=dict)

    def shares_a_data_path(self, url: str) -> bool:
        path = httpx.URL(url).path
        return any(pattern.fullmatch(path) for pattern in self.data_paths)

    def declare(self, kind: DeclaredKind, url: str) -> str | None:
        """Record ``url`` as the token or login URL; the refusal reason when it shares a data path."""
        key = _normalise(url)
        if self.shares_a_data_path(url):
            reason = "token_url_is_a_data_path" if kind is DeclaredKind.TOKEN_REQUEST else "login_url_is_a_data_path"
            self.refused[key] = reason
            return reason
        (self.token_urls if kind is DeclaredKind.TOKEN_REQUEST else self.login_urls).add(key)
        return None


class _Refused(Exception):
    """An internal verdict of `GuardedTransport.classify`, always turned into `ExecutionBlocked`."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def _body(request: httpx.Request) -> bytes:
    try:
        content = request.content
    except httpx.RequestNotRead:
        raise _Refused("streamed_body") from None
    if len(content) > MAX_DECLARED_BODY_BYTES:
        raise _Refused("rpc_body_too_large")
    return content


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        # Parsers disagree on which duplicate wins: the server could act on the one the proof did not see.
        raise _Refused("rpc_body_duplicate_key")
    return dict(pairs)


def _json_object(request: httpx.Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise _Refused("post_body_not_json")
    try:
        body = json.loads(_body(request), object_pairs_hook=_no_duplicate_keys)
    except (ValueError, UnicodeDecodeError):
        raise _Refused("post_body_not_json") from None
    if not isinstance(body, dict):
        raise _Refused("rpc_body_not_an_object")
    return body


# --- the pinned connection (no DNS rebinding between the check and the connect) ---------------------------------------
# The destination `NetworkPolicy.check` returned for the request being sent, set by `GuardedTransport` around the
# inner transport's call; the connection pool opens a connection in the task of the request that needs it, so the
# backend below reads the destination checked for that very request.
_CHECKED: contextvars.ContextVar[Destination | None] = contextvars.ContextVar("atlas_checked_destination", default=None)


class NotChecked(httpcore.ConnectError):
    """A connection was asked for a host and port the network policy did not check for this request."""


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to the addresses the network policy checked for the request being sent, trying
    them in the resolver's order; the name is never resolved again. TLS still verifies the certificate against the
    host name (httpcore passes the URL's host as SNI and for verification) and the Host header is the URL's.

    ``pinning=False`` (every address allowed: ``ATLAS_ALLOW_PRIVATE_NETWORKS``, where nothing is checked and so
    nothing is pinned) connects as usual."""

    def __init__(self, *, pinning: bool = True) -> None:
        self._inner: httpcore.AsyncNetworkBackend = httpcore.AnyIOBackend()
        self._pinning = pinning

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        checked = _CHECKED.get()
        if checked is None and not self._pinning:
            return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        if checked is None or checked.host != normalise_host(host) or checked.port != port:
            raise NotChecked(f"no checked address for {host}:{port}")
        failure: Exception = NotChecked(f"no checked address for {host}:{port}")
        for address in checked.addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise NotChecked("a connector never connects to a Unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool whose connections go through `PinnedBackend`."""

    def __init__(self, *, pinning: bool = True, limits: httpx.Limits = httpx.Limits(), retries: int = 0) -> None:
        super().__init__(retries=retries, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            retries=retries,
            network_backend=PinnedBackend(pinning=pinning),
        )


class GuardedTransport(httpx.AsyncBaseTransport):
    """The last wall: every outgoing request is classified from its method, URL and exact body; only reads and the
    declared kinds pass, and each declared request is reported before it leaves."""

    def __init__(
        self,
        *,
        network: NetworkPolicy,
        declarations: Declarations | None = None,
        on_blocked: BlockedHandler | None = None,
        on_sent: SentHandler | None = None,
        inner: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._network = network
        self.declarations = declarations or Declarations()
        self._on_blocked = on_blocked
        self._on_sent = on_sent
        self._inner = inner or PinnedTransport(pinning=not network.allow_private)

    def classify(self, request: httpx.Request) -> DeclaredRequest | None:
        """None for a read (GET, HEAD); the declared request for an allowed POST; `_Refused` for anything else."""
        method = request.method.upper()
        if method in READ_METHODS:
            return None
        if method != "POST":
            raise _Refused("method_not_allowed")
        declared = self.declarations
        url = _normalise(request.url)
        if url in declared.refused:
            raise _Refused(declared.refused[url])
        where = safe_url(str(request.url))
        if url in declared.token_urls:
            kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if kind != "application/x-www-form-urlencoded":
                raise _Refused("token_body_not_a_form")
            try:
                form = parse_qsl(_body(request).decode("ascii"), keep_blank_values=True, strict_parsing=True)
            except (ValueError, UnicodeDecodeError):
                raise _Refused("token_body_not_a_form") from None
            grants = [value for key, value in form if key == "grant_type"]
            if len(grants) != 1 or grants[0] not in TOKEN_GRANTS:
                raise _Refused("token_grant_not_allowed", grants[0] if len(grants) == 1 else "")
            return DeclaredRequest(DeclaredKind.TOKEN_REQUEST, where)
        if url in declared.login_urls:
            _json_object(request)
            return DeclaredRequest(DeclaredKind.SESSION_LOGIN, where)
        protocol = request.extensions.get(_RPC_PROTOCOL)
        if not isinstance(protocol, str):
            raise _Refused("undeclared_post_url")
        if protocol not in declared.protocols:
            raise _Refused("rpc_protocol_not_declared", protocol)
        body = _json_object(request)
        try:
            proven: ProvenRead = prove(protocol, request.url.path, body)
        except NotARead as refusal:
            raise _Refused(refusal.reason, refusal.detail) from None
        return DeclaredRequest(DeclaredKind.READ_RPC, where, proven.protocol, proven.method, proven.subject)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            declared = self.classify(request)
        except _Refused as refused:
            attempt = BlockedAttempt(
                method=request.method.upper(),
                url=safe_url(str(request.url)),
                reason=refused.reason,
                detail=refused.detail,
            )
            if self._on_blocked is not None:
                await self._on_blocked(attempt)
            raise ExecutionBlocked(attempt) from None
        # The host as the connection pool sees it (IDNA names in their ASCII form), so the pinned backend finds it.
        checked = await self._network.check(request.url.scheme, request.url.raw_host.decode("ascii"), request.url.port)
        if declared is not None and self._on_sent is not None:
            # Reported before it leaves: a request that is on the wire is in the audit trail even if the process
            # dies waiting for the answer.
            await self._on_sent(declared)
        token = _CHECKED.set(checked)
        try:
            return await self._inner.handle_async_request(request)
        finally:
            _CHECKED.reset(token)

    async def aclose(self) -> None:
        await self._inner.aclose()


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
    """The read-only client connectors use; built only here, over `GuardedTransport`. One instance per connector
    session: it holds that session's declarations and cookie jar.

    ``data_paths`` are the connector's data endpoints (paths or URLs, ``{placeholders}`` allowed): a token or login
    URL that shares one is refused at declaration, and any attempt to use it is blocked and audited."""

    def __init__(
        self,
        *,
        network: NetworkPolicy,
        token_urls: Iterable[str] = (),
        login_urls: Iterable[str] = (),
        rpc_protocols: Iterable[str] = (),
        data_paths: Iterable[str] = (),
        on_blocked: BlockedHandler | None = None,
        on_sent: SentHandler | None = None,
        on_failed: FailedHandler | None = None,
        timeout: float = 30.0,
        max_connections: int = 10,
        max_body_bytes: int = 50 * 1024 * 1024,
        user_agent: str = "Atlas-Connector/1.0 (read-only)",
    ) -> None:
        self.max_body_bytes = max_body_bytes
        self._on_blocked = on_blocked
        self._on_failed = on_failed
        self._reports: set[asyncio.Task[None]] = set()
        self.declarations = Declarations(
            protocols=frozenset(rpc_protocols), data_paths=tuple(_path_pattern(p) for p in data_paths)
        )
        for url in token_urls:
            self.declarations.declare(DeclaredKind.TOKEN_REQUEST, url)
        for url in login_urls:
            self.declarations.declare(DeclaredKind.SESSION_LOGIN, url)
        transport = GuardedTransport(
            network=network,
            declarations=self.declarations,
            on_blocked=on_blocked,
            on_sent=on_sent,
            inner=PinnedTransport(
                pinning=not network.allow_private,
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

    # --- reads ----------------------------------------------------------------------------------------------------
    async def get(
        self, url: str, *, params: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> RawResponse:
        """GET ``url``; ``params=None`` keeps a query string already in ``url`` (a next link), {} would wipe it."""
        return await self._exchange("GET", url, params=params, headers=headers)

    async def head(
        self, url: str, *, params: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> RawResponse:
        return await self._exchange("HEAD", url, params=params, headers=headers)

    # --- the declared kinds ---------------------------------------------------------------------------------------
    async def token_request(
        self,
        url: str,
        form: dict[str, str],
        *,
        basic_auth: tuple[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> RawResponse:
        """An OAuth2 token request: a form POST to a declared token URL, with one of `TOKEN_GRANTS`; with
        ``basic_auth`` the client authenticates by HTTP Basic (client_secret_basic, RFC 6749 2.3.1)."""
        auth = httpx.BasicAuth(*basic_auth) if basic_auth else None
        return await self._exchange("POST", url, headers=headers, data=form, auth=auth)

    async def session_login(
        self, url: str, body: dict[str, Any], *, headers: dict[str, str] | None = None
    ) -> RawResponse:
        """A session login: a JSON POST to the declared login URL; the cookies it sets stay in this client and go
        back with later requests to the same host."""
        return await self._exchange("POST", url, headers=headers, json_body=body)

    async def read_rpc(
        self,
        url: str,
        *,
        protocol: str,
        body: dict[str, Any],
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> RawResponse:
        """A read-only RPC call: a JSON POST that the lock proves a read for ``protocol`` before it is sent."""
        return await self._exchange(
            "POST", url, params=params, headers=headers, json_body=body, extensions={_RPC_PROTOCOL: protocol}
        )

    def declare_token_url(self, url: str) -> None:
        """Declare a token URL learnt at run time (an issuer's published metadata, RFC 8414 / OpenID discovery).

        One that shares a path with a data endpoint is refused: `ExecutionBlocked` is raised at once, and the
        refusal is audited as ``action_blocked`` by a task this client awaits at the latest when it closes (the
        call is synchronous so that declaring can never be forgotten behind an un-awaited coroutine)."""
        reason = self.declarations.declare(DeclaredKind.TOKEN_REQUEST, url)
        if reason is not None:
            attempt = BlockedAttempt(method="POST", url=safe_url(url), reason=reason)
            handler = self._on_blocked
            if handler is not None:

                async def report() -> None:
                    await handler(attempt)

                task = asyncio.get_running_loop().create_task(report())  # connector sessions run in an event loop
                self._reports.add(task)
                task.add_done_callback(self._reports.discard)
            raise ExecutionBlocked(attempt)

    async def record_declared_failure(self, kind: str, url: str, reason: str, status: int | None = None) -> None:
        """Report a token or login answer that was not a token or a session (audited ``declared_request_failed``)."""
        if self._on_failed is not None:
            await self._on_failed(DeclaredFailure(kind=kind, url=safe_url(url), reason=reason, status=status))

    def clear_cookies(self) -> None:
        """Forget every cookie (a session that expired): the next login starts afresh."""
        self._client.cookies.clear()

    # --- the one place a request is made ------------------------------------------------------------------------
    async def _exchange(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
        auth: httpx.Auth | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> RawResponse:
        """Send one request; the body is read up to ``max_body_bytes`` (more is a `TransportFailure`). A POST never
        follows a redirect: its answer is the declared endpoint's own, or a failure the caller reports."""
        started = time.perf_counter()
        try:
            request = self._client.build_request(
                method,
                url,
                params=params or None,
                headers=headers,
                data=data,
                json=json_body,
                extensions=extensions,
            )
        except (httpx.InvalidURL, UnicodeError) as exc:
            # Settings saved before today's checks (a URL httpx cannot read, a header value that is not ASCII, a
            # host name IDNA refuses) fail here: a failure the person can read, never a crash.
            raise TransportFailure("protocol", printable_url(url), f"cannot be sent: {type(exc).__name__}") from None
        try:
            response = await self._client.send(
                request, stream=True, auth=auth or httpx.USE_CLIENT_DEFAULT, follow_redirects=method != "POST"
            )
            try:
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
            finally:
                await response.aclose()
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
        except (httpx.InvalidURL, UnicodeError) as exc:  # a redirect to a URL that cannot be sent
            raise TransportFailure("protocol", printable_url(url), f"cannot be sent: {type(exc).__name__}") from None

    async def aclose(self) -> None:
        """Wait for the audit of refused declarations, close the client, then raise an audit that failed (after
        closing, so a broken audit never leaks connections, and never passes in silence)."""
        outcomes = await asyncio.gather(*self._reports, return_exceptions=True) if self._reports else []
        await self._client.aclose()
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def __aenter__(self) -> ReadOnlyHttp:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
