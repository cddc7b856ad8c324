"""API shapes of connectors. A read never carries a credential: secrets come back masked."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from atlas.bounds import Int32Field
from atlas.i18n.text import visible_name

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Short = Annotated[str, msgspec.Meta(max_length=200)]
Path = Annotated[str, msgspec.Meta(max_length=1000)]
Secret = Annotated[str, msgspec.Meta(max_length=4000)]


AuthKindName = Literal[
    "none",
    "api_key",
    "bearer",
    "oauth2_client_credentials",
    "basic",
    "header",
    "session_login",
    "oauth2_refresh_token",
    "oauth2_password",
]


class AuthIn(msgspec.Struct, forbid_unknown_fields=True):
    kind: AuthKindName = "none"
    key_name: Short | None = None
    key_location: Literal["header", "query", "body"] | None = None  # body: a dotted path of a read-RPC body
    api_key: Secret | None = None
    token: Secret | None = None
    token_url: Path | None = None
    client_id: Short | None = None
    client_secret: Secret | None = None
    scopes: Short | None = None
    audience: Short | None = None
    client_auth: Literal["body", "basic"] | None = None  # OAuth2: client_secret_post (body) or client_secret_basic
    issuer: Path | None = None  # OAuth2: read token_url and client_auth from the issuer's published metadata
    refresh_token: Secret | None = None  # oauth2_refresh_token: exchanged at token_url for access tokens
    username: Short | None = None  # basic, session_login, oauth2_password
    password: Secret | None = None  # basic, session_login, oauth2_password
    scheme: Short | None = None  # header: Authorization: <scheme> <credential>; refresh/password: the token's scheme
    credential: Secret | None = None  # header
    login_url: Path | None = None  # session_login
    login_fields: dict[str, str] | None = None  # session_login: non-secret fields of the login body (CompanyDB)
    username_field: Short | None = None  # session_login, default UserName
    password_field: Short | None = None  # session_login, default Password
    session_idle_minutes: Int32Field | None = None  # session_login: log in again after this long without a request


class PaginationIn(msgspec.Struct, forbid_unknown_fields=True):
    kind: Literal["none", "cursor", "offset", "page"] = "none"
    page_size: Int32Field = 100
    cursor_source: Literal["body", "link_header", "next_url"] = "body"
    cursor_path: Short | None = None
    cursor_param: Short = "cursor"
    offset_param: Short = "offset"
    limit_param: Short = "limit"
    total_path: Short | None = None
    page_param: Short = "page"
    size_param: Short | None = "per_page"
    start_page: Int32Field = 1
    total_pages_path: Short | None = None
    has_more_path: Short | None = None
    next_path: Short | None = None
    params_in: Literal["query", "body"] = "query"


class TimeWindowIn(msgspec.Struct, forbid_unknown_fields=True):
    # null or "": no parameter of its own ({window.start} / {window.end} placeholders in the path or parameters
    # carry the bound, e.g. inside Frappe's JSON filters or OData's $filter)
    start_param: Short | None = "from"
    end_param: Short | None = "to"  # null: the API takes only a start (updated_after)
    window_hours: Int32Field = 24 * 30
    lookback_days: Int32Field = 180
    format: Literal["iso", "date", "epoch", "datetime_space"] = "iso"


class RpcIn(msgspec.Struct, forbid_unknown_fields=True):
    """A read-RPC endpoint: the request body, which the execution lock proves a read before every call."""

    protocol: Literal["odoo_json2", "odoo_jsonrpc", "graphql", "sql"]
    body: dict[str, Any] = msgspec.field(default_factory=dict)


class EndpointIn(msgspec.Struct, forbid_unknown_fields=True):
    key: Annotated[str, msgspec.Meta(min_length=1, max_length=60, pattern=r"^[a-z][a-z0-9_-]*$")]
    resource: Literal["items", "locations", "stock_balances", "stock_movements", "open_orders"]
    path: Path
    record_path: Short = "$"
    params: dict[str, str] = msgspec.field(default_factory=dict)
    pagination: PaginationIn = msgspec.field(default_factory=PaginationIn)
    time_window: TimeWindowIn | None = None
    parent: Annotated[str, msgspec.Meta(max_length=60)] | None = None
    rpc: RpcIn | None = None


class ConnectorCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    base_url: Path
    environment: Literal["production", "sandbox"] = "sandbox"
    auth: AuthIn = msgspec.field(default_factory=AuthIn)
    endpoints: list[EndpointIn] = msgspec.field(default_factory=list)
    rate_limit_per_second: float = 10.0
    rate_limit_burst: Int32Field = 10
    timeout_seconds: float = 30.0
    max_concurrency: Int32Field = 4
    retry_attempts: Int32Field = 5
    sync_interval_minutes: Int32Field | None = None  # None or 0: on demand only
    headers: dict[str, str] = msgspec.field(default_factory=dict)  # static, non-secret request headers
    max_set_aside_share: float = 0.05  # a run setting aside more than this share of its records needs attention
    max_vanished_share: float = 0.2  # a full read may zero at most this share of the balances
    # How each action type *would* be sent (never sent: the execution lock); see atlas.execution_lock.templates.
    action_templates: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.name = visible_name(self.name, "name")  # shown to the whole tenant: no bidi or invisible characters


class ConnectorUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Every field optional. Omitted secrets keep their stored value; send "" to clear one."""

    name: Name | None = None
    base_url: Path | None = None
    environment: Literal["production", "sandbox"] | None = None
    auth: AuthIn | None = None
    endpoints: list[EndpointIn] | None = None
    rate_limit_per_second: float | None = None
    rate_limit_burst: Int32Field | None = None
    timeout_seconds: float | None = None
    max_concurrency: Int32Field | None = None
    retry_attempts: Int32Field | None = None
    sync_interval_minutes: Int32Field | None = None  # 0 turns the schedule off
    headers: dict[str, str] | None = None  # replaces all static headers; {} removes them
    max_set_aside_share: float | None = None
    max_vanished_share: float | None = None
    action_templates: dict[str, Any] | None = None  # replaces all templates; {} removes them

    def __post_init__(self) -> None:
        if self.name is not None:
            self.name = visible_name(self.name, "name")


class AuthRead(msgspec.Struct):
    kind: str
    key_name: str | None
    key_location: str | None
    token_url: str | None
    client_id: str | None
    scopes: str | None
    audience: str | None
    api_key: str | None  # masked: "••••" when set
    token: str | None
    client_secret: str | None
    client_auth: str | None = None
    issuer: str | None = None
    username: str | None = None
    password: str | None = None  # masked
    scheme: str | None = None
    credential: str | None = None  # masked
    login_url: str | None = None
    login_fields: dict[str, str] | None = None
    username_field: str | None = None
    password_field: str | None = None
    session_idle_minutes: int | None = None
    refresh_token: str | None = None  # masked


class EndpointRead(msgspec.Struct):
    key: str
    resource: str
    path: str
    record_path: str
    params: dict[str, str]
    pagination: dict[str, object]
    time_window: dict[str, object] | None
    parent: str | None
    rpc: dict[str, object] | None = None


class HealthRead(msgspec.Struct):
    endpoint: str
    checked_at: datetime
    trigger: str
    ok: bool
    status_code: int | None
    latency_ms: float | None
    sample_count: int | None
    reason: str | None
    detail: str | None
    url: str | None
    hint: str | None = None  # a 401's WWW-Authenticate scheme and realm: what the server expects
    # When the detail is one of Atlas's own messages (e.g. a refused address): ``detail`` is that message in the
    # request's language, ``code`` its catalogue key and ``params`` its parameters (pages switch language with them).
    code: str | None = None
    params: dict[str, str] | None = None


class ConnectorRead(msgspec.Struct):
    id: uuid.UUID
    name: str
    base_url: str
    environment: str
    auth: AuthRead
    endpoints: list[EndpointRead]
    rate_limit_per_second: float
    rate_limit_burst: int
    timeout_seconds: float
    max_concurrency: int
    retry_attempts: int
    sync_interval_minutes: int | None
    health_status: str
    last_checked_at: datetime | None
    created_at: datetime
    updated_at: datetime
    action_templates: dict[str, Any] = msgspec.field(default_factory=dict)
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    max_set_aside_share: float = 0.05
    max_vanished_share: float = 0.2
    preset: dict[str, Any] | None = None  # {"id", "version"} of the preset it was laid down from


class ConnectorHealthRead(msgspec.Struct):
    connector_id: uuid.UUID
    health_status: str
    last_checked_at: datetime | None
    latest: list[HealthRead]
    history: list[HealthRead]
