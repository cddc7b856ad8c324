"""A connector's configuration as the engine uses it: plain frozen data, secrets included, never logged."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal


class ResourceKind(enum.StrEnum):
    ITEMS = "items"
    LOCATIONS = "locations"
    STOCK_BALANCES = "stock_balances"
    STOCK_MOVEMENTS = "stock_movements"
    OPEN_ORDERS = "open_orders"


class AuthKind(enum.StrEnum):
    NONE = "none"
    API_KEY = "api_key"
    BEARER = "bearer"
    OAUTH2_CLIENT_CREDENTIALS = "oauth2_client_credentials"
    BASIC = "basic"  # HTTP Basic: username and password
    HEADER = "header"  # ``Authorization: <scheme> <credential>``: ``Token <key>`` (InvenTree), ``token k:s`` (Frappe)
    SESSION_LOGIN = "session_login"  # POST credentials to a declared login URL, keep the cookies (SAP B1)
    OAUTH2_REFRESH_TOKEN = "oauth2_refresh_token"  # a long-lived refresh token exchanged for access tokens (Zoho)
    OAUTH2_PASSWORD = "oauth2_password"  # the resource-owner password grant (Daftra)


# The OAuth2 kinds: a token from a token endpoint, renewed before it expires and once after a 401.
OAUTH2_KINDS = frozenset({AuthKind.OAUTH2_CLIENT_CREDENTIALS, AuthKind.OAUTH2_REFRESH_TOKEN, AuthKind.OAUTH2_PASSWORD})


class RpcProtocol(enum.StrEnum):
    """Read-only RPC protocols a data endpoint may be read with (a POST whose body the lock proves a read)."""

    ODOO_JSON2 = "odoo_json2"  # POST /json/2/<model>/<method>, the method allow-listed (search_read, read, ...)
    ODOO_JSONRPC = "odoo_jsonrpc"  # Odoo 17/18: POST /jsonrpc, object.execute_kw of an allow-listed read method
    GRAPHQL = "graphql"  # a GraphQL document with queries only
    SQL = "sql"  # one SELECT statement (NetSuite SuiteQL ``{"q": "SELECT ..."}``)


class PaginationKind(enum.StrEnum):
    NONE = "none"
    CURSOR = "cursor"
    OFFSET = "offset"
    PAGE = "page"


@dataclass(frozen=True)
class AuthConfig:
    kind: AuthKind = AuthKind.NONE
    # api_key
    key_name: str = "X-API-Key"
    key_location: Literal["header", "query", "body"] = "header"  # body: at the dotted path key_name of a read-RPC body
    api_key: str | None = field(default=None, repr=False)
    # bearer
    token: str | None = field(default=None, repr=False)
    # oauth2 (client credentials, refresh token, password)
    token_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    scopes: str | None = None
    audience: str | None = None
    # client_secret_post ("body") or client_secret_basic ("basic", RFC 6749 2.3.1); None: not chosen, so the
    # issuer's metadata decides (token_endpoint_auth_methods_supported), and without an issuer "body".
    client_auth: Literal["body", "basic"] | None = None
    issuer: str | None = None  # when set, token_url (and client_auth) come from the issuer's published metadata
    # oauth2 refresh token: the long-lived token exchanged for access tokens (Zoho's "self client" refresh token)
    refresh_token: str | None = field(default=None, repr=False)
    # basic, the user of a session login, and the resource owner of the oauth2 password grant
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    # header: Authorization: <scheme> <credential>; oauth2 refresh token and password: Authorization: <scheme> <token>
    # (None: Bearer; Zoho wants "Zoho-oauthtoken")
    scheme: str | None = None
    credential: str | None = field(default=None, repr=False)
    # session login: POST {**login_fields, username_field: username, password_field: password} as JSON to
    # login_url; keep the cookies it sets; log in again on a 401 or after session_idle_minutes without a request.
    login_url: str | None = None
    login_fields: tuple[tuple[str, str], ...] = ()  # non-secret fields of the login body, e.g. CompanyDB
    username_field: str = "UserName"
    password_field: str = "Password"
    session_idle_minutes: int = 25


@dataclass(frozen=True)
class PaginationConfig:
    kind: PaginationKind = PaginationKind.NONE
    page_size: int = 100
    # cursor: the next cursor from a JSONPath in the body, the Link header, or a next-URL field
    cursor_source: Literal["body", "link_header", "next_url"] = "body"
    cursor_path: str | None = None  # JSONPath to the cursor or the next URL
    cursor_param: str = "cursor"
    # offset + limit
    offset_param: str = "offset"
    limit_param: str = "limit"
    total_path: str | None = None  # JSONPath to the total number of records
    # page number
    page_param: str = "page"
    size_param: str | None = "per_page"
    start_page: int = 1
    total_pages_path: str | None = None
    max_pages: int = 100_000
    # The API's own end signal (any kind): a JSONPath to a boolean that is false on the last page
    # (``$.page_context.has_more_page``, ``$.hasMore``), or to a next link / cursor that is empty on the last page.
    # Without a total or an end signal a read goes on until an empty page: a short page never ends it.
    has_more_path: str | None = None
    next_path: str | None = None
    # Where the paging values go: the query string, or (read-RPC endpoints) the JSON body, where each *_param is
    # a dotted path (``offset``, ``variables.after``).
    params_in: Literal["query", "body"] = "query"


WindowFormat = Literal["iso", "date", "epoch", "datetime_space"]
WINDOW_FORMATS: tuple[str, ...] = ("iso", "date", "epoch", "datetime_space")


@dataclass(frozen=True)
class TimeWindowConfig:
    """Walk [start, end) in windows of ``window_hours``, from ``lookback_days`` ago (or a checkpoint) to now.

    The window's start and end go out as parameters of their own (``start_param``, ``end_param``) and/or through
    ``{window.start}`` / ``{window.end}`` placeholders in the endpoint's path and parameters, for APIs whose filter
    is an expression (Frappe's JSON ``filters``, OData's ``$filter``). An empty or None ``start_param`` sends no
    parameter of its own (a placeholder carries the start); likewise ``end_param``. Windows are stepped when the end
    is sent somewhere; an API that takes only a start is read as one window up to now."""

    start_param: str | None = "from"
    end_param: str | None = "to"  # None: the API takes only a start (``updated_after``); one window up to now
    window_hours: int = 24 * 30
    lookback_days: int = 180
    format: WindowFormat = "iso"


@dataclass(frozen=True)
class RpcConfig:
    """A data endpoint read by POST: ``body`` is the JSON request body (the reader adds paging values to it when
    ``PaginationConfig.params_in`` is ``body``); the execution lock validates it as a read before it is sent."""

    protocol: RpcProtocol
    body: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UnnestConfig:
    """Records nested inside each record (a mapping's ``unnest``): the array at ``path``, a JSONPath relative to the
    record (Zoho's ``$.locations`` inside an item), gives the records, each carrying the record it is nested in
    (without that array) under the key ``parent_as``. A record without the array gives none."""

    path: str
    parent_as: str


@dataclass(frozen=True)
class EndpointConfig:
    key: str  # unique within the connector, e.g. "items"
    resource: ResourceKind
    path: str  # may hold {parent.<field>} placeholders when ``parent`` is set
    params: dict[str, str] = field(default_factory=dict)
    record_path: str = "$"
    pagination: PaginationConfig = field(default_factory=PaginationConfig)
    time_window: TimeWindowConfig | None = None
    parent: str | None = None  # the key of the endpoint whose records fill the placeholders
    id: uuid.UUID | None = None
    rpc: RpcConfig | None = None  # set: read by POST as a declared read-RPC call (Odoo JSON-2, GraphQL, SQL)
    unnest: UnnestConfig | None = None  # from the mapping (never stored with the endpoint): records nested in records


@dataclass(frozen=True)
class ConnectorConfig:
    base_url: str
    auth: AuthConfig = field(default_factory=AuthConfig)
    endpoints: tuple[EndpointConfig, ...] = ()
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    tenant_id: uuid.UUID | None = None
    name: str = ""
    environment: Literal["production", "sandbox"] = "sandbox"
    rate_limit_per_second: float = 10.0
    rate_limit_burst: int = 10
    timeout_seconds: float = 30.0
    max_concurrency: int = 4
    retry_attempts: int = 5  # the budget: attempts per request, first one included
    retry_max_seconds: float = 60.0  # and the most time all retries of one request may take
    min_backoff_seconds: float = 0.5
    max_body_bytes: int = 50 * 1024 * 1024
    headers: tuple[tuple[str, str], ...] = ()  # static, non-secret headers on every request (X-Odoo-Database)

    def endpoint(self, key: str) -> EndpointConfig:
        for endpoint in self.endpoints:
            if endpoint.key == key:
                return endpoint
        raise KeyError(key)
