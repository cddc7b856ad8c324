"""Authentication of connector requests, for every kind the systems our customers run use.

* ``api_key`` (a header, a query parameter, or a path in a read-RPC body: Odoo 17/18's JSON-RPC) and ``bearer``: a
  static credential on every request.
* ``basic``: ``Authorization: Basic base64(user ":" password)`` (RFC 7617).
* ``header``: ``Authorization: <scheme> <credential>`` with the scheme exactly as configured: InvenTree's
  ``Token <key>``, Frappe's ``token <api_key>:<api_secret>``.
* ``oauth2_client_credentials``: a token from the token endpoint, the client authenticated in the form
  (``client_secret_post``) or by HTTP Basic (``client_secret_basic``, RFC 6749 2.3.1). With an ``issuer``, the token
  endpoint and the client authentication come from the provider's published metadata (RFC 8414, then OpenID
  discovery), whose ``issuer`` must be the configured one.
* ``oauth2_refresh_token``: a long-lived refresh token exchanged for access tokens (RFC 6749 6; Zoho's accounts
  server, one per data centre); a new refresh token in the answer replaces the old one for the rest of the session.
* ``oauth2_password``: the resource owner's user name and password exchanged for access tokens (RFC 6749 4.3;
  Daftra's ``/v2/oauth/token``).
  Both send the token as ``Authorization: <scheme> <token>``, the scheme ``Bearer`` unless configured (Zoho wants
  ``Zoho-oauthtoken``). Every OAuth2 token is renewed shortly before it expires and once after a 401.
* ``session_login``: POST the credentials as JSON to the declared login URL (SAP Business One's Service Layer);
  the cookies it sets stay in the transport's jar; log in again after a 401 or a long idle time.

A token or login answer that is not a token (or a session) is a failure that names what came back, including a
200 whose body is an OAuth2 error (Zoho answers a bad refresh token with 200 ``{"error": "invalid_code"}``). It is
recorded as ``declared_request_failed`` and remembered for the rest of the connector session: every later
request fails at once with the same error, so a broken token endpoint is asked once, not once per page.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote_plus, urlsplit, urlunsplit

import msgspec

from atlas.connectors.engine.config import OAUTH2_KINDS, AuthConfig, AuthKind
from atlas.connectors.engine.errors import FetchError
from atlas.connectors.engine.nul import without_nul
from atlas.connectors.engine.pagination import place
from atlas.execution_lock import ExecutionBlocked, RawResponse, ReadOnlyHttp, TransportFailure, safe_url

REFRESH_MARGIN_SECONDS = 60
HINT_LIMIT = 100
SESSION_ID_FIELDS = ("SessionId", "sessionId", "session_id", "sid")
RFC8414_WELL_KNOWN = "/.well-known/oauth-authorization-server"
OPENID_WELL_KNOWN = "/.well-known/openid-configuration"

ClientAuth = Literal["body", "basic"]

# --- the 401 hint -------------------------------------------------------------------------------------------------

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_PARAM = re.compile(rf'^\s*({_TOKEN})\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*)\s*$')
_SCHEME = re.compile(rf"^\s*({_TOKEN})(?:\s+(.*))?$", re.DOTALL)


def _split_outside_quotes(value: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [p for p in (part.strip() for part in parts) if p]


def _printable(text: str, limit: int) -> str:
    return "".join(c for c in text if c.isprintable() and c not in '"\\')[:limit]


def challenge_hint(header: str | None) -> str | None:
    """The schemes (and realms) a 401's ``WWW-Authenticate`` names, such as ``Token`` or ``Basic realm="api"``.

    Only the scheme and the realm are kept, never ``error_description`` or other parameters, and never more than
    `HINT_LIMIT` characters: it is shown to people and stored with health checks."""
    if not header:
        return None
    challenges: list[tuple[str, str | None]] = []
    for piece in _split_outside_quotes(header[:2000]):
        param = _PARAM.match(piece)
        if param and challenges:  # an auth-param of the current challenge
            name, value = param.groups()
            scheme, realm = challenges[-1]
            if name.lower() == "realm" and realm is None:
                challenges[-1] = (scheme, value.strip('"') if value else "")
            continue
        start = _SCHEME.match(piece)
        if start is None:
            continue
        scheme, rest = start.groups()
        realm = None
        inner = _PARAM.match(rest or "")
        if inner and inner.group(1).lower() == "realm":
            realm = (inner.group(2) or "").strip('"')
        challenges.append((scheme, realm))
    if not challenges:
        return None
    words = [scheme + (f' realm="{_printable(realm, 60)}"' if realm else "") for scheme, realm in challenges]
    hint = ", ".join(words)
    return hint if len(hint) <= HINT_LIMIT else hint[: HINT_LIMIT - 1] + "…"


# --- building credentials -----------------------------------------------------------------------------------------


def basic_authorization(username: str, password: str) -> str:
    """``Basic base64(user ":" password)``, UTF-8 (RFC 7617)."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def client_basic_authorization(client_id: str, client_secret: str) -> str:
    """HTTP Basic for an OAuth2 client: id and secret form-urlencoded *before* base64 (RFC 6749 2.3.1), so a
    secret with ``:``, ``+`` or a space reaches the provider intact."""
    return basic_authorization(quote_plus(client_id), quote_plus(client_secret))


def header_authorization(scheme: str, credential: str) -> str:
    """``<scheme> <credential>``, the scheme exactly as configured (``Token``, ``token``, ``Api-Key``)."""
    return f"{scheme} {credential}"


GRANTS = {
    AuthKind.OAUTH2_CLIENT_CREDENTIALS: "client_credentials",
    AuthKind.OAUTH2_REFRESH_TOKEN: "refresh_token",
    AuthKind.OAUTH2_PASSWORD: "password",
}


def token_form(config: AuthConfig, client_auth: ClientAuth, *, refresh_token: str | None = None) -> dict[str, str]:
    """The token request's form for the connector's grant: ``refresh_token`` (RFC 6749 6) carries the refresh token
    (``refresh_token`` overrides the configured one: a rotated token), ``password`` (4.3) the user name and password;
    the client id and secret are in it only for ``client_secret_post``."""
    form = {"grant_type": GRANTS.get(config.kind, "client_credentials")}
    if config.kind == AuthKind.OAUTH2_REFRESH_TOKEN:
        form["refresh_token"] = refresh_token or config.refresh_token or ""
    elif config.kind == AuthKind.OAUTH2_PASSWORD:
        form["username"] = config.username or ""
        form["password"] = config.password or ""
    if client_auth == "body":
        form["client_id"] = config.client_id or ""
        form["client_secret"] = config.client_secret or ""
    if config.scopes:
        form["scope"] = config.scopes
    if config.audience:
        form["audience"] = config.audience
    return form


def login_body(config: AuthConfig) -> dict[str, Any]:
    """The session login's JSON: the declared non-secret fields, then the user name and the password."""
    body: dict[str, Any] = dict(config.login_fields)
    body[config.username_field] = config.username or ""
    body[config.password_field] = config.password or ""
    return body


# --- provider metadata (RFC 8414, OpenID discovery) ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    issuer: str
    token_endpoint: str
    auth_methods: tuple[str, ...]  # token_endpoint_auth_methods_supported


def metadata_urls(issuer: str) -> list[str]:
    """Where an issuer publishes its metadata, in the order to try: RFC 8414 3 inserts the well-known path
    *between* the host and the issuer's path (``https://as/.well-known/oauth-authorization-server/tenant``);
    OpenID discovery appends it to the issuer (``https://as/tenant/.well-known/openid-configuration``)."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    rfc8414 = urlunsplit((parts.scheme, parts.netloc, RFC8414_WELL_KNOWN + path, "", ""))
    openid = urlunsplit((parts.scheme, parts.netloc, path + OPENID_WELL_KNOWN, "", ""))
    return [rfc8414, openid]


def same_issuer(published: str, configured: str) -> bool:
    """RFC 8414 3.3: the metadata's issuer is the configured one (a trailing slash aside)."""
    return published.rstrip("/") == configured.rstrip("/")


def parse_metadata(body: bytes, *, issuer: str, url: str) -> ProviderMetadata:
    try:
        document = msgspec.json.decode(body)
    except msgspec.DecodeError:
        raise FetchError("oauth2_metadata_invalid", url=url, status=200, detail="not JSON") from None
    if not isinstance(document, dict):
        raise FetchError("oauth2_metadata_invalid", url=url, status=200, detail="not a JSON object")
    published = document.get("issuer")
    if not isinstance(published, str) or not same_issuer(published, issuer):
        shown = published[:200] if isinstance(published, str) else "none"
        raise FetchError("oauth2_issuer_mismatch", url=url, status=200, detail=f"the metadata names issuer {shown}")
    endpoint = document.get("token_endpoint")
    parts = urlsplit(endpoint) if isinstance(endpoint, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
        raise FetchError("oauth2_metadata_invalid", url=url, status=200, detail="no usable token_endpoint")
    methods = document.get("token_endpoint_auth_methods_supported")
    if not isinstance(methods, list):
        methods = ["client_secret_basic"]  # RFC 8414 2: the default when the field is omitted
    return ProviderMetadata(
        issuer=published,
        token_endpoint=str(endpoint),
        auth_methods=tuple(m for m in methods if isinstance(m, str)),
    )


def choose_client_auth(configured: ClientAuth | None, methods: tuple[str, ...]) -> ClientAuth | None:
    """The person's choice when they made one; else what the provider supports (Basic first, as RFC 6749 2.3.1
    asks servers to support it); None when the provider supports neither secret method."""
    if configured is not None:
        return configured
    if "client_secret_basic" in methods:
        return "basic"
    if "client_secret_post" in methods:
        return "body"
    return None


# --- reading token and login answers ------------------------------------------------------------------------------


def _json(body: bytes) -> Any:
    try:
        return msgspec.json.decode(without_nul(body))
    except msgspec.DecodeError:
        return None


def _is_html(response: RawResponse) -> bool:
    return "html" in response.headers.get("content-type", "") or response.body.lstrip()[:1] == b"<"


def answer_message(body: bytes) -> str:
    """A short, safe account of an error answer: OAuth2's ``error``/``error_description``, SAP's
    ``error.message.value``, or ``message``/``detail``."""
    parsed = _json(body)
    if parsed is None:
        text = without_nul(body[:200]).decode("utf-8", "replace").strip()
        return "an HTML page" if text.startswith("<") else ("not JSON" if text else "an empty answer")
    if not isinstance(parsed, dict):
        return ""
    error = parsed.get("error")
    if isinstance(error, str):
        description = parsed.get("error_description")
        return (f"{error}: {description}" if isinstance(description, str) else error)[:200]
    if isinstance(error, dict):
        message = error.get("message")
        if isinstance(message, dict) and isinstance(message.get("value"), str):
            return str(message["value"])[:200]
        if isinstance(message, str):
            return message[:200]
    for key in ("message", "detail", "title"):
        if isinstance(parsed.get(key), str):
            return str(parsed[key])[:200]
    return ""


def read_token(response: RawResponse, url: str) -> tuple[str, float]:
    """The access token and its lifetime from a token answer; `FetchError` when the answer is not a token."""
    if response.status != 200:
        raise FetchError(
            "oauth2_token_refused",
            url=url,
            status=response.status,
            detail=answer_message(response.body),
            hint=challenge_hint(response.headers.get("www-authenticate")),
        )
    if _is_html(response):
        raise FetchError("oauth2_token_invalid", url=url, status=200, detail="an HTML page, not a token")
    body = _json(response.body)
    if isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"].strip():
        # An OAuth2 error answered with 200 (Zoho: {"error": "invalid_code"} for a bad refresh token, "invalid_client"
        # for a bad client): a refusal, named as the server named it.
        raise FetchError("oauth2_token_refused", url=url, status=200, detail=answer_message(response.body))
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token.strip():
        raise FetchError("oauth2_token_invalid", url=url, status=200, detail="no access_token in the answer")
    assert isinstance(body, dict)
    token_type = body.get("token_type")
    if isinstance(token_type, str) and token_type.lower() != "bearer":
        raise FetchError("oauth2_token_invalid", url=url, status=200, detail=f"token_type {token_type[:40]}")
    expires_in = body.get("expires_in")
    if isinstance(expires_in, str) and expires_in.strip().isdigit():
        expires_in = int(expires_in)  # some servers send the lifetime as a string
    lifetime = float(expires_in) if isinstance(expires_in, int | float) and expires_in > 0 else 3600.0
    return token, lifetime


def rotated_refresh_token(response: RawResponse) -> str | None:
    """A new refresh token in a token answer (RFC 6749 6: the server may rotate it), or None."""
    body = _json(response.body)
    value = body.get("refresh_token") if isinstance(body, dict) else None
    return value if isinstance(value, str) and value.strip() else None


class SharedTokens:
    """Access tokens kept across the connector sessions of one process, for the grants whose providers ration
    tokens: Zoho issues at most ten access tokens per refresh token in ten minutes, and a sync opens one session per
    endpoint. Keyed by a digest of everything that makes the token (never the secrets themselves); in memory only,
    never stored, dropped after a 401 and at expiry. Bounded: the oldest entry goes first."""

    def __init__(self, size: int = 1000) -> None:
        self._size = size
        self._tokens: dict[str, tuple[str, float, float]] = {}  # key -> (token, renew_at, expires_at), monotonic

    @staticmethod
    def key(config: AuthConfig, token_url: str) -> str:
        material = "\0".join(
            [
                str(config.kind),
                token_url,
                config.client_id or "",
                config.client_secret or "",
                config.refresh_token or "",
                config.username or "",
                config.password or "",
                config.scopes or "",
            ]
        )
        return hashlib.sha256(material.encode()).hexdigest()

    def get(self, key: str, now: float) -> tuple[str, float, float] | None:
        found = self._tokens.get(key)
        if found is None or now >= found[1]:
            return None
        return found

    def put(self, key: str, token: str, renew_at: float, expires_at: float) -> None:
        self._tokens.pop(key, None)
        self._tokens[key] = (token, renew_at, expires_at)
        while len(self._tokens) > self._size:
            self._tokens.pop(next(iter(self._tokens)))

    def drop(self, key: str, token: str) -> None:
        if self._tokens.get(key, ("",))[0] == token:
            del self._tokens[key]


SHARED_TOKENS = SharedTokens()
# The grants whose tokens are shared across sessions (client credentials keep one token per session, as before).
SHARED_GRANTS = frozenset({AuthKind.OAUTH2_REFRESH_TOKEN, AuthKind.OAUTH2_PASSWORD})


def refresh_margin(lifetime: float) -> float:
    """How long before its expiry a token is renewed: a minute, or a tenth of a short lifetime (a token that lives
    thirty seconds is not renewed before every request)."""
    return min(REFRESH_MARGIN_SECONDS, lifetime / 10)


def read_session(response: RawResponse, url: str) -> None:
    """Checks that a login answer opened a session: a 2xx that set a cookie or returned a session id, and is not
    an HTML page; `FetchError` otherwise."""
    if not 200 <= response.status < 300:
        raise FetchError(
            "session_login_failed",
            url=url,
            status=response.status,
            detail=answer_message(response.body),
            hint=challenge_hint(response.headers.get("www-authenticate")),
        )
    if _is_html(response):
        raise FetchError("session_login_invalid", url=url, status=response.status, detail="an HTML page")
    body = _json(response.body) if response.body.strip() else {}
    if body is None:
        raise FetchError("session_login_invalid", url=url, status=response.status, detail="not JSON")
    has_id = isinstance(body, dict) and any(isinstance(body.get(k), str) and body[k] for k in SESSION_ID_FIELDS)
    if not has_id and "set-cookie" not in response.headers:
        raise FetchError(
            "session_login_invalid", url=url, status=response.status, detail="no session cookie and no session id"
        )


# --- the authenticator --------------------------------------------------------------------------------------------


class Authenticator:
    """Adds credentials to each request of one connector session, fetching and renewing tokens and sessions.

    ``generation`` counts the credentials handed out; after a 401, `refresh` drops the credential only if it is
    still the one that request used, so several requests failing together cause one new token or login, not one
    each."""

    def __init__(self, config: AuthConfig, http: ReadOnlyHttp, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._http = http
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self._renew_at = 0.0
        self._refresh_token: str | None = None  # a rotated refresh token, for the rest of this session
        self._session_open = False
        self._last_used = 0.0
        self._generation = 0
        self._failure: FetchError | None = None
        self._token_url: str | None = config.token_url
        self._client_auth: ClientAuth | None = config.client_auth
        self._discovered = False
        self.token_requests = 0
        self.logins = 0

    @property
    def refreshes_on_401(self) -> bool:
        return self.config.kind in OAUTH2_KINDS or self.config.kind == AuthKind.SESSION_LOGIN

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def failure(self) -> FetchError | None:
        """The token or login failure this session remembers, if any."""
        return self._failure

    async def apply(self, headers: dict[str, str], params: dict[str, str]) -> None:
        self._raise_remembered()
        config = self.config
        kind = config.kind
        if kind == AuthKind.API_KEY and config.api_key:
            if config.key_location == "query":
                params[config.key_name] = config.api_key
            elif config.key_location == "header":
                headers[config.key_name] = config.api_key
            # "body": never in a header or the URL; `rpc_body` puts it inside the read-RPC body
        elif kind == AuthKind.BEARER and config.token:
            headers["Authorization"] = f"Bearer {config.token}"
        elif kind == AuthKind.BASIC:
            headers["Authorization"] = basic_authorization(config.username or "", config.password or "")
        elif kind == AuthKind.HEADER and config.scheme and config.credential:
            headers["Authorization"] = header_authorization(config.scheme, config.credential)
        elif kind == AuthKind.OAUTH2_CLIENT_CREDENTIALS:
            headers["Authorization"] = f"Bearer {await self._access_token()}"
        elif kind in OAUTH2_KINDS:
            headers["Authorization"] = header_authorization(config.scheme or "Bearer", await self._access_token())
        elif kind == AuthKind.SESSION_LOGIN:
            await self._session()  # the session's cookies travel in the transport's jar

    def rpc_body(self, body: dict[str, Any], *, url: str) -> dict[str, Any]:
        """The read-RPC body to send: ``body`` itself, or, for an API key that travels in the body (Odoo 17/18's
        JSON-RPC takes the key as ``execute_kw``'s third argument, ``params.args.2``), a copy with the key at the
        ``key_name`` path. The stored body never holds the key: it lives encrypted with the other secrets."""
        config = self.config
        if config.kind != AuthKind.API_KEY or config.key_location != "body" or not config.api_key:
            return body
        filled = copy.deepcopy(body)
        place(filled, config.key_name, config.api_key, url=url)
        return filled

    async def refresh(self, generation: int) -> None:
        """A request sent with credential ``generation`` got a 401: the next `apply` fetches a new token or logs in
        again, unless another request has already done so."""
        async with self._lock:
            if generation == self._generation:
                if self._token is not None and self.config.kind in SHARED_GRANTS and self._token_url:
                    SHARED_TOKENS.drop(SHARED_TOKENS.key(self.config, self._token_url), self._token)
                self._token = None
                self._expires_at = self._renew_at = 0.0
                self._session_open = False

    async def invalidate(self) -> None:
        await self.refresh(self._generation)

    # --- failures -------------------------------------------------------------------------------------------------
    def _raise_remembered(self) -> None:
        failure = self._failure
        if failure is not None:
            raise FetchError(
                failure.reason, url=failure.url, status=failure.status, detail=failure.detail, hint=failure.hint
            )

    async def _fail(self, error: FetchError, *, kind: str | None) -> FetchError:
        """Remember ``error`` for the rest of the session; a failed token request or login is also audited."""
        self._failure = error
        if kind is not None:
            await self._http.record_declared_failure(kind, error.url, error.reason, error.status)
        return error

    # --- OAuth2 client credentials --------------------------------------------------------------------------------
    async def _access_token(self) -> str:
        async with self._lock:
            self._raise_remembered()
            if self._token is None or self._clock() >= self._renew_at:
                shared = self.config.kind in SHARED_GRANTS and not self.config.issuer and self._token_url
                key = SHARED_TOKENS.key(self.config, self._token_url or "") if shared else ""
                found = SHARED_TOKENS.get(key, self._clock()) if shared else None
                if found is not None:
                    self._token, self._renew_at, self._expires_at = found
                else:
                    self._token, lifetime = await self._fetch_token()
                    self._expires_at = self._clock() + lifetime
                    self._renew_at = self._expires_at - refresh_margin(lifetime)
                    if shared:
                        SHARED_TOKENS.put(key, self._token, self._renew_at, self._expires_at)
                self._generation += 1
            return self._token

    async def _discover(self) -> None:
        """Read the issuer's metadata once per session: the token endpoint and the client authentication."""
        issuer = self.config.issuer or ""
        metadata: ProviderMetadata | None = None
        for url in metadata_urls(issuer):
            try:
                response = await self._http.get(url)
            except TransportFailure as exc:
                raise FetchError("oauth2_metadata_unreachable", url=exc.url, detail=exc.kind, retryable=True) from None
            where = safe_url(url)
            if response.status in (400, 403, 404, 405, 410):
                continue  # not published here: try the next well-known location
            if response.status != 200:
                raise await self._fail(
                    FetchError("oauth2_metadata_invalid", url=where, status=response.status), kind=None
                )
            try:
                metadata = parse_metadata(response.body, issuer=issuer, url=where)
            except FetchError as error:
                raise await self._fail(error, kind=None) from None
            break
        if metadata is None:
            raise await self._fail(
                FetchError("oauth2_metadata_missing", url=safe_url(issuer), detail="no RFC 8414 or OpenID metadata"),
                kind=None,
            )
        chosen = choose_client_auth(self.config.client_auth, metadata.auth_methods)
        if chosen is None:
            detail = "the provider supports " + (", ".join(metadata.auth_methods)[:150] or "no method")
            raise await self._fail(
                FetchError("oauth2_client_auth_unsupported", url=safe_url(metadata.token_endpoint), detail=detail),
                kind=None,
            )
        try:
            self._http.declare_token_url(metadata.token_endpoint)
        except ExecutionBlocked as exc:  # the lock refuses a token endpoint that is one of the connector's data paths
            refused = FetchError(
                "oauth2_token_url_refused", url=safe_url(metadata.token_endpoint), detail=exc.attempt.reason
            )
            raise await self._fail(refused, kind=None) from None
        self._token_url = metadata.token_endpoint
        self._client_auth = chosen
        self._discovered = True

    async def _fetch_token(self) -> tuple[str, float]:
        config = self.config
        if config.issuer and not self._discovered:
            await self._discover()
        token_url = self._token_url
        if not token_url or not config.client_id or not config.client_secret or not self._grant_configured():
            raise await self._fail(FetchError("oauth2_not_configured", url=safe_url(token_url or "")), kind=None)
        client_auth: ClientAuth = self._client_auth or "body"
        # RFC 6749 2.3.1: the id and secret are form-urlencoded before the transport base64-encodes them.
        basic = (quote_plus(config.client_id), quote_plus(config.client_secret)) if client_auth == "basic" else None
        form = token_form(config, client_auth, refresh_token=self._refresh_token)
        self.token_requests += 1
        try:
            response = await self._http.token_request(token_url, form, basic_auth=basic)
        except TransportFailure as exc:
            raise FetchError("oauth2_token_unreachable", url=exc.url, detail=exc.kind, retryable=True) from None
        try:
            token = read_token(response, safe_url(token_url))
        except FetchError as error:
            raise await self._fail(error, kind="oauth2_token") from None
        if config.kind == AuthKind.OAUTH2_REFRESH_TOKEN:
            self._refresh_token = rotated_refresh_token(response) or self._refresh_token
        return token

    def _grant_configured(self) -> bool:
        """The grant's own credentials are there: a refresh token, or a user name and password."""
        config = self.config
        if config.kind == AuthKind.OAUTH2_REFRESH_TOKEN:
            return bool(self._refresh_token or config.refresh_token)
        if config.kind == AuthKind.OAUTH2_PASSWORD:
            return bool(config.username and config.password)
        return True

    # --- session login --------------------------------------------------------------------------------------------
    async def _session(self) -> None:
        async with self._lock:
            self._raise_remembered()
            now = self._clock()
            idle = now - self._last_used > self.config.session_idle_minutes * 60
            if not self._session_open or idle:
                await self._login()
                self._session_open = True
                self._generation += 1
            self._last_used = self._clock()

    async def _login(self) -> None:
        config = self.config
        if not config.login_url or not config.username or not config.password:
            raise await self._fail(
                FetchError("session_login_not_configured", url=safe_url(config.login_url or "")), kind=None
            )
        self._http.clear_cookies()  # an expired session's cookies must not ride along with the new login
        self.logins += 1
        try:
            response = await self._http.session_login(config.login_url, login_body(config))
        except TransportFailure as exc:
            raise FetchError("session_login_unreachable", url=exc.url, detail=exc.kind, retryable=True) from None
        try:
            read_session(response, safe_url(config.login_url))
        except FetchError as error:
            raise await self._fail(error, kind="session_login") from None
