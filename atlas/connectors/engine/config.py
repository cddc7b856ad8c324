"""A connector's configuration as the engine uses it: plain frozen data, secrets included, never logged."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from typing import Literal


class ResourceKind(enum.StrEnum):
    ITEMS = "items"
    LOCATIONS = "locations"
    STOCK_BALANCES = "stock_balances"
    STOCK_MOVEMENTS = "stock_movements"


class AuthKind(enum.StrEnum):
    NONE = "none"
    API_KEY = "api_key"
    BEARER = "bearer"
    OAUTH2_CLIENT_CREDENTIALS = "oauth2_client_credentials"


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
    key_location: Literal["header", "query"] = "header"
    api_key: str | None = field(default=None, repr=False)
    # bearer
    token: str | None = field(default=None, repr=False)
    # oauth2 client credentials
    token_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    scopes: str | None = None
    audience: str | None = None


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


@dataclass(frozen=True)
class TimeWindowConfig:
    """Walk [start, end) in windows of ``window_hours``, from ``lookback_days`` ago (or a checkpoint) to now."""

    start_param: str = "from"
    end_param: str = "to"
    window_hours: int = 24 * 30
    lookback_days: int = 180
    format: Literal["iso", "date", "epoch"] = "iso"


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

    def endpoint(self, key: str) -> EndpointConfig:
        for endpoint in self.endpoints:
            if endpoint.key == key:
                return endpoint
        raise KeyError(key)
