"""Connector use cases: create, change, delete, read (secrets masked), test and record health.

Configuration is validated here, before anything is stored, with errors that name
the field; credentials are encrypted before they touch the session; every change is
audited without its secrets.
"""

from __future__ import annotations

import contextlib
import copy
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.connectors import auth_checks, hints
from atlas.connectors.engine import (
    AuthConfig,
    AuthKind,
    ConnectorConfig,
    ConnectorSession,
    EndpointConfig,
    EndpointHealth,
    PaginationConfig,
    PaginationKind,
    ResourceKind,
    TimeWindowConfig,
)
from atlas.connectors.engine.config import RpcConfig, RpcProtocol
from atlas.connectors.engine.errors import FetchError
from atlas.connectors.engine.jsonpath import JsonPathError, compile_path
from atlas.connectors.engine.pagination import place
from atlas.connectors.engine.reader import (
    PLACEHOLDER,
    WINDOW_PLACEHOLDER,
    window_placeholder_problem,
    window_placeholders,
)
from atlas.connectors.models import Connector, ConnectorEndpoint, ConnectorHealthCheck
from atlas.connectors.schemas import (
    AuthIn,
    AuthRead,
    ConnectorCreate,
    ConnectorHealthRead,
    ConnectorRead,
    ConnectorUpdate,
    EndpointIn,
    EndpointRead,
    HealthRead,
)
from atlas.connectors.wire_text import check_wire_text
from atlas.db.base import utcnow
from atlas.errors import ValidationFailed
from atlas.execution_lock import NetworkPolicy
from atlas.execution_lock.read_proofs import NotARead, prove
from atlas.execution_lock.templates import validate_action_templates
from atlas.execution_lock.transport import BlockedHandler
from atlas.i18n import DEFAULT_LANG
from atlas.i18n import stored as stored_message
from atlas.platform.audit import Actor, EventType, record
from atlas.platform.crypto import SecretBox, mask
from atlas.platform.entitlements import limit_reached, plan_limits
from atlas.platform.tenancy import TenantRepository

SECRET_FIELDS = ("api_key", "token", "client_secret", "password", "credential", "refresh_token")
PUBLIC_AUTH_FIELDS = (
    "key_name",
    "key_location",
    "token_url",
    "client_id",
    "scopes",
    "audience",
    "client_auth",
    "issuer",
    "username",
    "scheme",
    "login_url",
    "login_fields",
    "username_field",
    "password_field",
    "session_idle_minutes",
)
# The secrets each kind keeps; a change of kind drops the others.
KIND_SECRETS = {
    "api_key": ("api_key",),
    "bearer": ("token",),
    "oauth2_client_credentials": ("client_secret",),
    "oauth2_refresh_token": ("client_secret", "refresh_token"),
    "oauth2_password": ("client_secret", "password"),
    "basic": ("password",),
    "header": ("credential",),
    "session_login": ("password",),
}
# Headers a connector may not set statically: authentication and the transport's own.
RESERVED_HEADERS = frozenset(
    {"authorization", "cookie", "host", "content-length", "content-type", "transfer-encoding", "connection"}
)
HEALTH_HISTORY = 50


class ConnectorRepo(TenantRepository[Connector]):
    model = Connector
    not_found_key = "errors.connector_not_found"


async def count_connectors(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    """The tenant's connectors now: its use of the plan's ``max_connectors`` (atlas.platform.entitlements)."""
    found = await session.scalar(select(func.count()).select_from(Connector).where(Connector.tenant_id == tenant_id))
    return int(found or 0)


async def check_connector_limit(session: AsyncSession, repo: ConnectorRepo) -> None:
    """Refuse a new connector beyond the plan's ``max_connectors``, naming the plan that lifts the limit.

    The plan's limit comes through the platform's entitlements with the tenant's subscription row-locked first,
    so two creations at once cannot both take the last place."""
    limit = await plan_limits().limit(session, "max_connectors", repo.tenant_id, lock=True)
    if limit is None or limit.limit is None:
        return
    existing = await repo.count()
    if existing < limit.limit:
        return
    raise await limit_reached(session, limit, existing + 1, "errors.plan_limit_connectors")


class EndpointRepo(TenantRepository[ConnectorEndpoint]):
    model = ConnectorEndpoint


class HealthRepo(TenantRepository[ConnectorHealthCheck]):
    model = ConnectorHealthCheck


# --- validation -----------------------------------------------------------------------------------


_invalid = auth_checks.invalid  # a 422 that names the field


def validate_url(value: str, field: str) -> str:
    value = value.strip()
    parts = auth_checks.split_url(value)
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise _invalid("errors.connector_url", field)
    if parts.username or parts.password:
        raise _invalid("errors.connector_url_credentials", field)
    if parts.query or parts.fragment:
        raise _invalid("errors.connector_url_query", field)
    return value.rstrip("/")


def _check_range(value: float, low: float, high: float, field: str) -> None:
    if not low <= value <= high:
        raise _invalid("errors.out_of_range", field, low=low, high=high)


def _check_path(expression: str | None, field: str) -> None:
    if expression is None:
        return
    try:
        compile_path(expression)
    except JsonPathError:
        raise _invalid("errors.jsonpath_invalid", field, expression=expression) from None


def validate_endpoints(endpoints: list[EndpointIn]) -> None:
    if not endpoints:
        raise _invalid("errors.connector_needs_endpoint", "endpoints")
    keys = [e.key for e in endpoints]
    if len(set(keys)) != len(keys):
        raise _invalid("errors.endpoint_key_repeated", "endpoints")
    by_key = {e.key: e for e in endpoints}
    for index, endpoint in enumerate(endpoints):
        where = f"endpoints[{index}]"
        if not endpoint.path.startswith("/") and "://" in endpoint.path:
            raise _invalid("errors.endpoint_path_relative", f"{where}.path")
        uses_parent = bool(PLACEHOLDER.search(endpoint.path)) or any(
            PLACEHOLDER.search(v) for v in endpoint.params.values()
        )
        if endpoint.parent:
            if endpoint.parent not in by_key or endpoint.parent == endpoint.key:
                raise _invalid("errors.endpoint_parent_unknown", f"{where}.parent", parent=endpoint.parent)
            if by_key[endpoint.parent].parent:
                raise _invalid("errors.endpoint_parent_nested", f"{where}.parent")
            if not uses_parent:
                raise _invalid("errors.endpoint_parent_unused", f"{where}.path")
        elif uses_parent:
            raise _invalid("errors.endpoint_placeholder_without_parent", f"{where}.path")
        _check_window_placeholders(endpoint, where)
        if "{" in WINDOW_PLACEHOLDER.sub("", PLACEHOLDER.sub("", endpoint.path)):
            raise _invalid("errors.endpoint_placeholder_invalid", f"{where}.path")
        _check_path(endpoint.record_path, f"{where}.record_path")
        pagination = endpoint.pagination
        _check_range(pagination.page_size, 1, 10_000, f"{where}.pagination.page_size")
        for name in ("cursor_path", "total_path", "total_pages_path", "has_more_path", "next_path"):
            _check_path(getattr(pagination, name), f"{where}.pagination.{name}")
        # Parameter names: never blank (a request would carry "=5"); in a read-RPC body, dotted paths. An empty
        # size_param, start_param or end_param means none (a TOML preset cannot say null): a next-link read without
        # a page size, a window whose bounds travel in placeholders.
        in_body = pagination.params_in == "body"
        if in_body and endpoint.rpc is None:
            raise _invalid("errors.paging_params_in_body_without_rpc", f"{where}.pagination.params_in")
        names = [
            (f"{where}.pagination.{n}", getattr(pagination, n))
            for n in ("cursor_param", "offset_param", "limit_param", "page_param", "size_param")
        ]
        if endpoint.time_window is not None:
            window = endpoint.time_window
            names += [(f"{where}.time_window.{n}", getattr(window, n)) for n in ("start_param", "end_param")]
        for field_name, value in names:
            if value == "" and field_name.rsplit(".", 1)[-1] in OPTIONAL_NAMES:
                continue
            if value is not None and not value.strip():
                raise _invalid("errors.paging_param_empty", field_name)
            if value is not None and in_body and not all(part.strip() for part in value.split(".")):
                raise _invalid("errors.paging_body_path_invalid", field_name, name=value)
        if (
            pagination.kind == "cursor"
            and pagination.cursor_source in ("body", "next_url")
            and not (pagination.cursor_path)
        ):
            raise _invalid("errors.cursor_path_required", f"{where}.pagination.cursor_path")
        if endpoint.time_window is not None:
            _check_range(endpoint.time_window.window_hours, 1, 24 * 366, f"{where}.time_window.window_hours")
            _check_range(endpoint.time_window.lookback_days, 1, 36500, f"{where}.time_window.lookback_days")
    validate_rpc_endpoints(endpoints)


# Parameter names that may be left empty: no page size on a next-link read, no window parameter of its own.
OPTIONAL_NAMES = frozenset({"size_param", "start_param", "end_param"})


def _check_window_placeholders(endpoint: EndpointIn, where: str) -> None:
    """``{window.start}`` and ``{window.end}`` (optionally ``:format``) in the path and parameters: only those names
    and formats, only with a time window; and a time window must send its start somewhere (a parameter of its own
    or a placeholder), or every read would be a full read that the sync takes for an incremental one."""
    found = window_placeholders(endpoint.path, endpoint.params)
    for where_in, name, style in found:
        problem = window_placeholder_problem(name, style)
        if problem is not None:
            raise _invalid("errors.window_placeholder_unknown", f"{where}.{where_in}", placeholder=problem)
        if endpoint.time_window is None:
            raise _invalid("errors.window_placeholder_without_window", f"{where}.{where_in}")
    window = endpoint.time_window
    if window is not None and not window.start_param and not any(name == "start" for _, name, _ in found):
        raise _invalid("errors.window_start_unsent", f"{where}.time_window.start_param")


def validate_rpc_endpoints(endpoints: list[EndpointIn]) -> None:
    """Each read-RPC endpoint's request is proved a read when the connector is saved, by the execution lock's own
    proof, with the paging and window values the reader will place in its body: a person learns at once that a
    method is not a read (422 naming the endpoint and the reason), not at the first sync. The lock proves every
    request again before it is sent."""
    for index, endpoint in enumerate(endpoints):
        if endpoint.rpc is None:
            continue
        body = copy.deepcopy(endpoint.rpc.body)
        pagination = endpoint.pagination
        if pagination.params_in == "body":
            by_kind: dict[str, list[str | None]] = {
                "offset": [pagination.offset_param, pagination.limit_param],
                "page": [pagination.page_param, pagination.size_param],
                "cursor": [pagination.cursor_param, pagination.size_param],
            }
            names = list(by_kind.get(pagination.kind, []))
            if endpoint.time_window is not None:
                names += [endpoint.time_window.start_param, endpoint.time_window.end_param]
            for name in names:
                _place_sample(body, name)
        try:
            prove(endpoint.rpc.protocol, unquote(urlsplit(endpoint.path).path), body)
        except NotARead as refusal:
            field_name = f"endpoints[{index}].rpc"
            raise ValidationFailed(
                f"read_kinds.invalid.{refusal.reason}",
                field=field_name,
                extra={"field": field_name, "endpoint": endpoint.key, "reason": refusal.reason},
                endpoint=endpoint.key,
                detail=refusal.detail,
            ) from None


def _place_sample(body: dict[str, Any], dotted: str | None) -> None:
    """Put a sample value where the reader will put a paging or window value (a dotted path of the body, through
    lists by index), with the reader's own placement; a path it cannot place is left out here: the reader fails on
    it with ``paging_path_invalid`` and the endpoint test shows it."""
    if not dotted or not all(part.strip() for part in dotted.split(".")):
        return  # an empty or malformed name is refused by validate_endpoints with its own message
    with contextlib.suppress(FetchError):
        place(body, dotted, 1, url="")


def validate_auth(auth: AuthIn, stored: dict[str, str]) -> None:
    def has(name: str) -> bool:
        value = getattr(auth, name)
        return bool(value) or (value is None and bool(stored.get(name)))

    if auth.kind == "api_key":
        if not has("api_key"):
            raise _invalid("errors.auth_api_key_required", "auth.api_key")
        if auth.key_name is not None and not re.fullmatch(r"[A-Za-z0-9_.\-]{1,100}", auth.key_name):
            raise _invalid("errors.auth_key_name_invalid", "auth.key_name")
        if auth.api_key is not None and not auth.api_key.isascii():  # sent in a header (or a query, as a rule)
            raise _invalid("errors.header_value_not_ascii", "auth.api_key")
    elif auth.kind == "bearer":
        if not has("token"):
            raise _invalid("errors.auth_token_required", "auth.token")
        if auth.token is not None and not auth.token.isascii():
            raise _invalid("errors.header_value_not_ascii", "auth.token")
    elif auth.kind in auth_checks.OAUTH2_KINDS:
        if not auth.token_url and not auth.issuer:  # the issuer's metadata names the token URL
            raise _invalid("errors.auth_token_url_required", "auth.token_url")
        auth_checks.check_kind_fields(auth, has)
        if not auth.client_id:
            raise _invalid("errors.auth_client_id_required", "auth.client_id")
        if not has("client_secret"):
            raise _invalid("errors.auth_client_secret_required", "auth.client_secret")
        auth_checks.check_grant_fields(auth, has)
    else:
        auth_checks.check_kind_fields(auth, has)  # basic, header, session_login


def validate_key_in_body(
    auth_kind: str, auth_settings: dict[str, Any], endpoints: Sequence[EndpointIn | ConnectorEndpoint]
) -> None:
    """An API key that travels in the request body (Odoo 17/18's JSON-RPC: ``params.args.2``) can only reach
    endpoints that have a body: a GET endpoint would go out without any credential."""
    if auth_kind != "api_key" or auth_settings.get("key_location") != "body":
        return
    for index, endpoint in enumerate(endpoints):
        if endpoint.rpc is None:
            raise _invalid("errors.auth_key_in_body_needs_rpc", f"endpoints[{index}].rpc", endpoint=endpoint.key)


def validate_declared_urls(
    auth_kind: str,
    auth_settings: dict[str, Any],
    base_url: str,
    endpoints: list[EndpointIn] | list[ConnectorEndpoint],
    action_templates: dict[str, Any],
) -> None:
    """The token URL and the login URL (the only URLs Atlas POSTs to) may not share a path with a data endpoint
    or an action template of the connector; and an API key sent inside the body goes only to read-RPC endpoints."""
    validate_key_in_body(auth_kind, auth_settings, endpoints)
    declared = "token_url" if auth_kind in auth_checks.OAUTH2_KINDS else {"session_login": "login_url"}.get(auth_kind)
    url = auth_settings.get(declared) if declared else None
    if not declared or not url:
        return
    clash = auth_checks.declared_path_clash(
        url, base_url=base_url, endpoints=[(e.key, e.path) for e in endpoints], templates=action_templates
    )
    if clash is not None:
        what, name = clash
        raise _invalid(f"errors.auth_{declared}_is_{what}_path", f"auth.{declared}", name=name)


def validate_headers(headers: dict[str, str]) -> dict[str, str]:
    """Static headers: at most 20, token-like names, no line breaks, none of the reserved ones."""
    if len(headers) > 20:
        raise _invalid("errors.connector_headers_too_many", "headers")
    for name, value in headers.items():
        if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}", name):
            raise _invalid("errors.connector_header_name_invalid", f"headers.{name}", name=name)
        if name.lower() in RESERVED_HEADERS:
            raise _invalid("errors.connector_header_reserved", f"headers.{name}", name=name)
        if len(value) > 1000 or any(c in value for c in "\r\n\0"):
            raise _invalid("errors.connector_header_value_invalid", f"headers.{name}", name=name)
        if not value.isascii():  # HTTP clients encode header values as ASCII: the first request would fail
            raise _invalid("errors.header_value_not_ascii", f"headers.{name}")
    return dict(headers)


def validate_shares(set_aside: float, vanished: float) -> None:
    _check_range(set_aside, 0, 1, "max_set_aside_share")
    _check_range(vanished, 0, 1, "max_vanished_share")


def sync_interval(minutes: int | None) -> int | None:
    """0 or None: on demand only; otherwise between 5 minutes and a week."""
    if not minutes:
        return None
    _check_range(minutes, 5, 7 * 24 * 60, "sync_interval_minutes")
    return minutes


def validate_limits(rate: float, burst: int, timeout: float, concurrency: int, retries: int) -> None:
    _check_range(rate, 0.1, 1000, "rate_limit_per_second")
    _check_range(burst, 1, 1000, "rate_limit_burst")
    _check_range(timeout, 1, 300, "timeout_seconds")
    _check_range(concurrency, 1, 32, "max_concurrency")
    _check_range(retries, 1, 10, "retry_attempts")


async def check_reachable_network(network: NetworkPolicy, base_url: str) -> None:
    parts = urlsplit(base_url)
    await network.check(parts.scheme, parts.hostname or "", parts.port)


# --- conversion -----------------------------------------------------------------------------------


def _secrets(box: SecretBox, connector: Connector) -> dict[str, str]:
    if not connector.secrets_encrypted:
        return {}
    decoded: dict[str, str] = msgspec.json.decode(box.decrypt(connector.secrets_encrypted))
    return decoded


def _merge_secrets(auth: AuthIn, stored: dict[str, str]) -> dict[str, str]:
    merged = dict(stored)
    for name in SECRET_FIELDS:
        value = getattr(auth, name)
        if value is None:
            continue
        if value == "":
            merged.pop(name, None)
        else:
            merged[name] = value
    return {k: v for k, v in merged.items() if k in KIND_SECRETS.get(auth.kind, ())}


def _public_auth(auth: AuthIn) -> dict[str, Any]:
    settings = {name: getattr(auth, name) for name in PUBLIC_AUTH_FIELDS if getattr(auth, name) is not None}
    if auth.kind == "api_key":
        settings.setdefault("key_name", "X-API-Key")
        settings.setdefault("key_location", "header")
    return settings


def _endpoint_row(endpoint: EndpointIn, position: int) -> ConnectorEndpoint:
    return ConnectorEndpoint(
        key=endpoint.key,
        resource=endpoint.resource,
        path=endpoint.path,
        record_path=endpoint.record_path,
        params=dict(endpoint.params),
        pagination=msgspec.to_builtins(endpoint.pagination),
        time_window=msgspec.to_builtins(endpoint.time_window) if endpoint.time_window else None,
        parent_key=endpoint.parent,
        position=position,
        rpc=msgspec.to_builtins(endpoint.rpc) if endpoint.rpc else None,
    )


def endpoint_config(row: ConnectorEndpoint) -> EndpointConfig:
    pagination = dict(row.pagination or {})
    kind = PaginationKind(pagination.pop("kind", "none"))
    window = TimeWindowConfig(**row.time_window) if row.time_window else None
    rpc = (
        RpcConfig(protocol=RpcProtocol(row.rpc["protocol"]), body=dict(row.rpc.get("body") or {})) if row.rpc else None
    )
    return EndpointConfig(
        key=row.key,
        resource=ResourceKind(row.resource),
        path=row.path,
        params=dict(row.params or {}),
        record_path=row.record_path,
        pagination=PaginationConfig(kind=kind, **pagination),
        time_window=window,
        parent=row.parent_key,
        id=row.id,
        rpc=rpc,
    )


def connector_config(connector: Connector, endpoints: list[ConnectorEndpoint], box: SecretBox) -> ConnectorConfig:
    """What the engine needs, secrets decrypted. Lives only in memory, for one run."""
    secrets = _secrets(box, connector)
    settings = connector.auth_settings or {}
    auth = AuthConfig(
        kind=AuthKind(connector.auth_kind),
        key_name=settings.get("key_name", "X-API-Key"),
        key_location=settings.get("key_location", "header"),
        api_key=secrets.get("api_key"),
        token=secrets.get("token"),
        token_url=settings.get("token_url"),
        client_id=settings.get("client_id"),
        client_secret=secrets.get("client_secret"),
        scopes=settings.get("scopes"),
        audience=settings.get("audience"),
        client_auth=settings.get("client_auth") or None,
        issuer=settings.get("issuer"),
        username=settings.get("username"),
        password=secrets.get("password"),
        refresh_token=secrets.get("refresh_token"),
        scheme=settings.get("scheme"),
        credential=secrets.get("credential"),
        login_url=settings.get("login_url"),
        login_fields=tuple(sorted((settings.get("login_fields") or {}).items())),
        username_field=settings.get("username_field") or "UserName",
        password_field=settings.get("password_field") or "Password",
        session_idle_minutes=int(settings.get("session_idle_minutes") or 25),
    )
    return ConnectorConfig(
        id=connector.id,
        tenant_id=connector.tenant_id,
        name=connector.name,
        base_url=connector.base_url,
        environment=connector.environment,  # type: ignore[arg-type]
        auth=auth,
        endpoints=tuple(endpoint_config(e) for e in endpoints),
        rate_limit_per_second=connector.rate_limit_per_second,
        rate_limit_burst=connector.rate_limit_burst,
        timeout_seconds=connector.timeout_seconds,
        max_concurrency=connector.max_concurrency,
        retry_attempts=connector.retry_attempts,
        headers=tuple(sorted((connector.headers or {}).items())),
    )


def read_model(connector: Connector, endpoints: list[ConnectorEndpoint], box: SecretBox) -> ConnectorRead:
    secrets = _secrets(box, connector)
    settings = connector.auth_settings or {}
    return ConnectorRead(
        id=connector.id,
        name=connector.name,
        base_url=connector.base_url,
        environment=connector.environment,
        auth=AuthRead(
            kind=connector.auth_kind,
            key_name=settings.get("key_name"),
            key_location=settings.get("key_location"),
            token_url=settings.get("token_url"),
            client_id=settings.get("client_id"),
            scopes=settings.get("scopes"),
            audience=settings.get("audience"),
            api_key=mask(secrets.get("api_key")),
            token=mask(secrets.get("token")),
            client_secret=mask(secrets.get("client_secret")),
            client_auth=settings.get("client_auth"),
            issuer=settings.get("issuer"),
            username=settings.get("username"),
            password=mask(secrets.get("password")),
            scheme=settings.get("scheme"),
            credential=mask(secrets.get("credential")),
            login_url=settings.get("login_url"),
            login_fields=settings.get("login_fields"),
            username_field=settings.get("username_field"),
            password_field=settings.get("password_field"),
            session_idle_minutes=settings.get("session_idle_minutes"),
            refresh_token=mask(secrets.get("refresh_token")),
        ),
        endpoints=[
            EndpointRead(
                key=e.key,
                resource=e.resource,
                path=e.path,
                record_path=e.record_path,
                params=dict(e.params or {}),
                pagination=dict(e.pagination or {}),
                time_window=dict(e.time_window) if e.time_window else None,
                parent=e.parent_key,
                rpc=dict(e.rpc) if e.rpc else None,
            )
            for e in endpoints
        ],
        rate_limit_per_second=connector.rate_limit_per_second,
        rate_limit_burst=connector.rate_limit_burst,
        timeout_seconds=connector.timeout_seconds,
        max_concurrency=connector.max_concurrency,
        retry_attempts=connector.retry_attempts,
        sync_interval_minutes=connector.sync_interval_minutes,
        health_status=connector.health_status,
        last_checked_at=connector.last_checked_at,
        created_at=connector.created_at,
        updated_at=connector.updated_at,
        action_templates=dict(connector.action_templates or {}),
        headers=dict(connector.headers or {}),
        max_set_aside_share=connector.max_set_aside_share,
        max_vanished_share=connector.max_vanished_share,
        preset=dict(connector.preset) if connector.preset else None,
    )


def _audit_view(connector: Connector, endpoints: list[ConnectorEndpoint]) -> dict[str, Any]:
    """What an audit event says about a connector: its shape, never a credential."""
    return {
        "connector_id": str(connector.id),
        "name": connector.name,
        "base_url": connector.base_url,
        "environment": connector.environment,
        "auth_kind": connector.auth_kind,
        "auth_settings": dict(connector.auth_settings or {}),
        "endpoints": [{"key": e.key, "resource": e.resource, "path": e.path} for e in endpoints],
        "action_templates": dict(connector.action_templates or {}),
        "headers": sorted((connector.headers or {}).keys()),
        "max_set_aside_share": connector.max_set_aside_share,
        "max_vanished_share": connector.max_vanished_share,
    }


# --- use cases ------------------------------------------------------------------------------------


async def endpoints_of(
    session: AsyncSession, connector_id: uuid.UUID, tenant_id: uuid.UUID | None = None
) -> list[ConnectorEndpoint]:
    return await EndpointRepo(session, tenant_id=tenant_id).list(
        ConnectorEndpoint.connector_id == connector_id, order_by=[ConnectorEndpoint.position, ConnectorEndpoint.id]
    )


async def list_connectors(session: AsyncSession) -> list[tuple[Connector, list[ConnectorEndpoint]]]:
    connectors = await ConnectorRepo(session).list(order_by=[Connector.created_at, Connector.id])
    return [(c, await endpoints_of(session, c.id)) for c in connectors]


async def get_connector(
    session: AsyncSession, connector_id: uuid.UUID, tenant_id: uuid.UUID | None = None
) -> tuple[Connector, list[ConnectorEndpoint]]:
    connector = await ConnectorRepo(session, tenant_id=tenant_id).get(connector_id)
    return connector, await endpoints_of(session, connector.id, tenant_id)


@dataclass(frozen=True, slots=True)
class CheckedCreate:
    base_url: str
    action_templates: dict[str, Any]
    headers: dict[str, str]


def validate_create(data: ConnectorCreate) -> CheckedCreate:
    """Every check a new connector passes before anything is stored, each 422 naming its field."""
    base_url = validate_url(data.base_url, "base_url")
    validate_auth(data.auth, {})
    validate_limits(
        data.rate_limit_per_second,
        data.rate_limit_burst,
        data.timeout_seconds,
        data.max_concurrency,
        data.retry_attempts,
    )
    validate_endpoints(data.endpoints)
    action_templates = validate_action_templates(data.action_templates)
    validate_declared_urls(data.auth.kind, _public_auth(data.auth), base_url, data.endpoints, action_templates)
    headers = validate_headers(data.headers)
    validate_shares(data.max_set_aside_share, data.max_vanished_share)
    check_wire_text(data)  # after the checks with a more particular message (an auth value's line break)
    return CheckedCreate(base_url, action_templates, headers)


def transient_config(data: ConnectorCreate, box: SecretBox, tenant_id: uuid.UUID) -> ConnectorConfig:
    """The engine's configuration of a connector not stored yet (validated first, by `validate_create` or the
    caller's own checks), to test its credentials and endpoints before saving it. Lives only in memory."""
    # Only what reading needs: discovery tests a connector with no endpoints yet.
    check_wire_text(data)
    checked = CheckedCreate(validate_url(data.base_url, "base_url"), {}, validate_headers(data.headers))
    connector = _new_connector(data, checked, box)
    connector.id, connector.tenant_id = uuid.uuid4(), tenant_id
    return connector_config(connector, [_endpoint_row(e, i) for i, e in enumerate(data.endpoints)], box)


def _new_connector(data: ConnectorCreate, checked: CheckedCreate, box: SecretBox) -> Connector:
    """The row of a new connector, its secrets encrypted (not added to any session)."""
    secrets = _merge_secrets(data.auth, {})
    return Connector(
        name=data.name.strip(),
        base_url=checked.base_url,
        environment=data.environment,
        auth_kind=data.auth.kind,
        auth_settings=_public_auth(data.auth),
        secrets_encrypted=box.encrypt(msgspec.json.encode(secrets).decode()) if secrets else None,
        rate_limit_per_second=data.rate_limit_per_second,
        rate_limit_burst=data.rate_limit_burst,
        timeout_seconds=data.timeout_seconds,
        max_concurrency=data.max_concurrency,
        retry_attempts=data.retry_attempts,
        sync_interval_minutes=sync_interval(data.sync_interval_minutes),
        action_templates=checked.action_templates,
        headers=checked.headers,
        max_set_aside_share=data.max_set_aside_share,
        max_vanished_share=data.max_vanished_share,
    )


async def create_connector(
    session: AsyncSession,
    data: ConnectorCreate,
    *,
    actor: Actor,
    correlation_id: str,
    box: SecretBox,
    network: NetworkPolicy,
    tenant_id: uuid.UUID | None = None,
    preset: dict[str, Any] | None = None,
) -> tuple[Connector, list[ConnectorEndpoint]]:
    """Validate and store a new connector; ``preset`` is the ``{"id", "version"}`` it was laid down from."""
    checked = validate_create(data)
    await check_reachable_network(network, checked.base_url)
    repo = ConnectorRepo(session, tenant_id=tenant_id)
    if await repo.count(Connector.name == data.name.strip()) > 0:
        raise ValidationFailed("errors.connector_name_taken", field="name", extra={"field": "name"})
    # The plan's connector limit (the subscription is locked so concurrent creations cannot overshoot).
    await check_connector_limit(session, repo)
    new = _new_connector(data, checked, box)
    new.preset, new.created_by = preset, actor.ref
    connector = await repo.add(new)
    endpoint_repo = EndpointRepo(session, tenant_id=tenant_id)
    endpoints = []
    for index, endpoint in enumerate(data.endpoints):
        row = _endpoint_row(endpoint, index)
        row.connector_id = connector.id
        endpoints.append(await endpoint_repo.add(row))
    await record(
        session,
        "connector_created",
        actor=actor,
        correlation_id=correlation_id,
        payload=_audit_view(connector, endpoints),
        tenant_id=repo.tenant_id,
    )
    return connector, endpoints


async def update_connector(
    session: AsyncSession,
    connector_id: uuid.UUID,
    data: ConnectorUpdate,
    *,
    actor: Actor,
    correlation_id: str,
    box: SecretBox,
    network: NetworkPolicy,
) -> tuple[Connector, list[ConnectorEndpoint]]:
    repo = ConnectorRepo(session)
    connector = await repo.get(connector_id)
    changes: dict[str, Any] = {}
    if data.name is not None and data.name.strip() != connector.name:
        if await repo.count(Connector.name == data.name.strip(), Connector.id != connector.id) > 0:
            raise ValidationFailed("errors.connector_name_taken", field="name", extra={"field": "name"})
        changes["name"] = data.name.strip()
    if data.base_url is not None:
        changes["base_url"] = validate_url(data.base_url, "base_url")
        await check_reachable_network(network, changes["base_url"])
    if data.environment is not None:
        changes["environment"] = data.environment
    limits = {
        name: getattr(data, name)
        for name in (
            "rate_limit_per_second",
            "rate_limit_burst",
            "timeout_seconds",
            "max_concurrency",
            "retry_attempts",
        )
    }
    merged_limits = {k: v if v is not None else getattr(connector, k) for k, v in limits.items()}
    validate_limits(*merged_limits.values())
    changes.update({k: v for k, v in limits.items() if v is not None})
    if data.sync_interval_minutes is not None:
        changes["sync_interval_minutes"] = sync_interval(data.sync_interval_minutes)
    if data.action_templates is not None:
        changes["action_templates"] = validate_action_templates(data.action_templates)
    if data.headers is not None:
        changes["headers"] = validate_headers(data.headers)
    if data.max_set_aside_share is not None or data.max_vanished_share is not None:
        set_aside = data.max_set_aside_share
        vanished = data.max_vanished_share
        validate_shares(
            connector.max_set_aside_share if set_aside is None else set_aside,
            connector.max_vanished_share if vanished is None else vanished,
        )
        if set_aside is not None:
            changes["max_set_aside_share"] = set_aside
        if vanished is not None:
            changes["max_vanished_share"] = vanished
    secrets_changed = False
    if data.auth is not None:
        stored = _secrets(box, connector) if data.auth.kind == connector.auth_kind else {}
        validate_auth(data.auth, stored)
        secrets = _merge_secrets(data.auth, stored)
        secrets_changed = secrets != _secrets(box, connector)
        changes["auth_kind"] = data.auth.kind
        changes["auth_settings"] = _public_auth(data.auth)
        changes["secrets_encrypted"] = box.encrypt(msgspec.json.encode(secrets).decode()) if secrets else None
    validate_declared_urls(
        changes.get("auth_kind", connector.auth_kind),
        changes.get("auth_settings", connector.auth_settings or {}),
        changes.get("base_url", connector.base_url),
        data.endpoints if data.endpoints is not None else await endpoints_of(session, connector.id),
        changes.get("action_templates", connector.action_templates or {}),
    )
    check_wire_text(data)  # before anything is written; after the checks with a more particular message
    endpoint_repo = EndpointRepo(session)
    if data.endpoints is not None:
        validate_endpoints(data.endpoints)
        await endpoint_repo.bulk_delete(ConnectorEndpoint.connector_id == connector.id)
        for index, endpoint in enumerate(data.endpoints):
            row = _endpoint_row(endpoint, index)
            row.connector_id = connector.id
            await endpoint_repo.add(row)
    changes["updated_at"] = utcnow()
    changes["health_status"] = (
        "unknown"
        if (data.endpoints is not None or data.auth is not None or data.base_url is not None)
        else connector.health_status
    )
    await repo.update_values(connector, **changes)
    endpoints = await endpoints_of(session, connector.id)
    payload = _audit_view(connector, endpoints)
    payload["changed"] = sorted(k for k in changes if k not in ("updated_at", "health_status", "secrets_encrypted"))
    payload["credentials_changed"] = secrets_changed
    await record(session, EventType.CONNECTOR_UPDATED, actor=actor, correlation_id=correlation_id, payload=payload)
    return connector, endpoints


async def delete_connector(
    session: AsyncSession, connector_id: uuid.UUID, *, actor: Actor, correlation_id: str
) -> None:
    repo = ConnectorRepo(session)
    connector = await repo.get(connector_id)
    endpoints = await endpoints_of(session, connector.id)
    payload = _audit_view(connector, endpoints)
    await repo.delete(connector)
    await record(session, EventType.CONNECTOR_DELETED, actor=actor, correlation_id=correlation_id, payload=payload)


async def check_connector(
    config: ConnectorConfig, *, network: NetworkPolicy, on_blocked: BlockedHandler | None = None
) -> list[EndpointHealth]:
    """Run the health check of every endpoint. Network only: no database transaction is held."""
    try:
        connector_session = ConnectorSession(config, network=network, on_blocked=on_blocked)
    except ValueError as exc:
        # A base URL stored before today's checks that urllib cannot read (an unclosed IPv6 bracket): every
        # endpoint fails with the reason, rather than the request failing.
        return [
            EndpointHealth(e.key, False, None, None, None, "protocol_error", f"cannot be sent: {exc}")
            for e in config.endpoints
        ]
    async with connector_session as session:
        return [await session.check(endpoint) for endpoint in config.endpoints]


def overall_status(results: list[EndpointHealth]) -> str:
    if not results:
        return "unknown"
    healthy = sum(1 for r in results if r.ok)
    return "healthy" if healthy == len(results) else ("failing" if healthy == 0 else "degraded")


async def record_health(
    session: AsyncSession,
    connector_id: uuid.UUID,
    results: list[EndpointHealth],
    *,
    trigger: str,
    actor: Actor,
    correlation_id: str,
    tenant_id: uuid.UUID | None = None,
) -> str:
    repo = ConnectorRepo(session, tenant_id=tenant_id)
    connector = await repo.get(connector_id)
    now = utcnow()
    health = HealthRepo(session, tenant_id=tenant_id)
    for result in results:
        await health.add(
            ConnectorHealthCheck(
                connector_id=connector.id,
                endpoint_key=result.endpoint,
                checked_at=now,
                trigger=trigger,
                ok=result.ok,
                status_code=result.status,
                latency_ms=result.latency_ms,
                sample_count=result.sample_count,
                reason=result.reason,
                detail=hints.pack(result.detail, result.hint),
                url=result.url,
            )
        )
    status = overall_status(results)
    previous = connector.health_status
    await repo.update_values(connector, health_status=status, last_checked_at=now)
    if trigger == "manual" or status != previous:
        await record(
            session,
            "connector_tested",
            actor=actor,
            correlation_id=correlation_id,
            tenant_id=repo.tenant_id,
            payload={
                "connector_id": str(connector.id),
                "trigger": trigger,
                "status": status,
                "previous_status": previous,
                "endpoints": [{"key": r.endpoint, "ok": r.ok, "status": r.status, "reason": r.reason} for r in results],
            },
        )
    return status


def _health_read(row: ConnectorHealthCheck, lang: str) -> HealthRead:
    stored, hint = hints.unpack(row.detail)
    detail, code, params = stored_message.render(stored, lang)
    return HealthRead(
        endpoint=row.endpoint_key,
        checked_at=row.checked_at,
        trigger=row.trigger,
        ok=row.ok,
        status_code=row.status_code,
        latency_ms=row.latency_ms,
        sample_count=row.sample_count,
        reason=row.reason,
        detail=detail,
        url=row.url,
        hint=hint,
        code=code,
        params=params,
    )


async def health_of(session: AsyncSession, connector_id: uuid.UUID, *, lang: str = DEFAULT_LANG) -> ConnectorHealthRead:
    """The latest check per endpoint and a short history; Atlas's own messages in ``lang``."""
    connector = await ConnectorRepo(session).get(connector_id)
    rows = await HealthRepo(session).list(
        ConnectorHealthCheck.connector_id == connector.id,
        order_by=[ConnectorHealthCheck.checked_at.desc(), ConnectorHealthCheck.id.desc()],
        limit=HEALTH_HISTORY,
    )
    latest: dict[str, ConnectorHealthCheck] = {}
    for row in rows:
        latest.setdefault(row.endpoint_key, row)
    return ConnectorHealthRead(
        connector_id=connector.id,
        health_status=connector.health_status,
        last_checked_at=connector.last_checked_at,
        latest=[_health_read(r, lang) for r in latest.values()],
        history=[_health_read(r, lang) for r in rows],
    )


@dataclass(frozen=True, slots=True)
class ConnectorRef:
    tenant_id: uuid.UUID
    connector_id: uuid.UUID


async def all_connectors(session: AsyncSession) -> list[ConnectorRef]:
    """Every tenant's connectors, for the scheduled health sweep. System transaction."""
    rows = await session.execute(select(Connector.tenant_id, Connector.id).order_by(Connector.created_at, Connector.id))
    return [ConnectorRef(tenant_id=t, connector_id=c) for t, c in rows]
