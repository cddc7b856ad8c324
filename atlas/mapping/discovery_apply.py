"""Discovery's use cases: discover from a base URL (nothing stored), and apply a proposal in one step.

Applying lays the proposal down exactly as a person would through the API, in one transaction: a new connector
(``connector_created``) and one mapping per endpoint (``mapping_created``), or, for a connector that exists, a
connector update with the proposed endpoints (``connector_updated``) and a new active version of each mapping
(``mapping_version_saved``; ``mapping_created`` for an endpoint that had none). ``discovery_applied`` records what
was applied. Every check of the connector and mapping APIs applies (a 422 names the field or the endpoint), and
nothing is stored unless all of it is valid.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal
from urllib.parse import urlsplit

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.connectors import services as connectors
from atlas.connectors.engine import ConnectorConfig
from atlas.connectors.models import Connector
from atlas.connectors.schemas import AuthIn, ConnectorCreate, ConnectorRead, ConnectorUpdate, EndpointIn
from atlas.errors import ValidationFailed
from atlas.execution_lock import NetworkPolicy
from atlas.mapping import services as mappings
from atlas.mapping.schemas import MappingRead
from atlas.platform.audit import Actor, EventType, record
from atlas.platform.crypto import SecretBox


class DiscoveryRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Where the system is and how to authenticate: all discovery needs. Secrets are used, never echoed."""

    base_url: str
    auth: AuthIn = msgspec.field(default_factory=AuthIn)
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    language: Literal["ar", "en"] | None = None  # the texts to prefer where the source has both


class DiscoveryApply(msgspec.Struct, forbid_unknown_fields=True):
    """A proposal to lay down as a new connector: the discovery request's base URL and authentication, and the
    proposal's endpoints and mappings (``proposal.endpoints``, ``proposal.mappings`` of the discovery report)."""

    base_url: str
    endpoints: list[EndpointIn]
    mappings: dict[str, dict[str, Any]]
    auth: AuthIn = msgspec.field(default_factory=AuthIn)
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    name: str | None = None
    environment: Literal["production", "sandbox"] = "production"


class DiscoveryApplyExisting(msgspec.Struct, forbid_unknown_fields=True):
    """A proposal (all of it, or one endpoint of it) to apply to a connector that exists."""

    endpoints: list[EndpointIn]
    mappings: dict[str, dict[str, Any]]


class DiscoveryApplied(msgspec.Struct):
    connector: ConnectorRead
    mappings: list[MappingRead]


def discovery_config(data: DiscoveryRequest, box: SecretBox, tenant_id: uuid.UUID) -> ConnectorConfig:
    """The engine's configuration for a discovery: validated as a connector's would be, stored nowhere."""
    body = ConnectorCreate(name="discovery", base_url=data.base_url, auth=data.auth, headers=data.headers)
    connectors.validate_url(body.base_url, "base_url")
    connectors.validate_auth(body.auth, {})
    connectors.validate_headers(body.headers)
    connectors.validate_declared_urls(body.auth.kind, connectors._public_auth(body.auth), body.base_url, [], {})
    return connectors.transient_config(body, box, tenant_id)


def _check_mappings(endpoints: list[EndpointIn], specs: dict[str, dict[str, Any]]) -> None:
    """Each mapping names one of the endpoints and compiles strictly (a 422 naming the endpoint otherwise)."""
    resources = {e.key: e.resource for e in endpoints}
    for key, spec in specs.items():
        if key not in resources:
            raise ValidationFailed(
                "errors.endpoint_not_found", field=f"mappings.{key}", extra={"field": f"mappings.{key}"}, endpoint=key
            )
        try:
            mappings.validated(resources[key], spec, strict=True)
        except ValidationFailed as exc:
            exc.extra = {**(exc.extra or {}), "endpoint": key}
            raise


async def _free_name(session: AsyncSession, wanted: str) -> str:
    repo = connectors.ConnectorRepo(session)
    for attempt in range(1, 50):
        name = wanted if attempt == 1 else f"{wanted} ({attempt})"
        if await repo.count(Connector.name == name) == 0:
            return name
    return f"{wanted} {uuid.uuid4().hex[:6]}"


async def apply_new(
    session: AsyncSession,
    data: DiscoveryApply,
    *,
    actor: Actor,
    correlation_id: str,
    box: SecretBox,
    network: NetworkPolicy,
) -> DiscoveryApplied:
    """A new connector with the proposal's endpoints and one mapping per endpoint, all audited, in one step."""
    _check_mappings(data.endpoints, data.mappings)
    name = (data.name or "").strip() or await _free_name(session, urlsplit(data.base_url.strip()).hostname or "API")
    body = ConnectorCreate(
        name=name,
        base_url=data.base_url,
        environment=data.environment,
        auth=data.auth,
        endpoints=data.endpoints,
        headers=data.headers,
    )
    connector, endpoints = await connectors.create_connector(
        session, body, actor=actor, correlation_id=correlation_id, box=box, network=network
    )
    created = await mappings.create_mappings(
        session,
        connector_id=connector.id,
        specs=data.mappings,
        note="Discovery",
        actor=actor,
        correlation_id=correlation_id,
    )
    await _audit(session, connector.id, data.endpoints, created, actor, correlation_id, "base_url")
    return DiscoveryApplied(connectors.read_model(connector, endpoints, box), created)


async def apply_existing(
    session: AsyncSession,
    connector_id: uuid.UUID,
    data: DiscoveryApplyExisting,
    *,
    actor: Actor,
    correlation_id: str,
    box: SecretBox,
    network: NetworkPolicy,
) -> DiscoveryApplied:
    """The proposal's endpoints replace the connector's endpoints of the same key (others are kept, new ones added),
    as one audited connector update; each mapping becomes the active new version of its endpoint's mapping."""
    connector, rows = await connectors.get_connector(session, connector_id)
    current = connectors.read_model(connector, rows, box).endpoints
    merged: dict[str, EndpointIn] = {e.key: msgspec.convert(msgspec.to_builtins(e), EndpointIn) for e in current}
    for endpoint in data.endpoints:
        merged[endpoint.key] = endpoint
    _check_mappings(list(merged.values()), data.mappings)
    connector, rows = await connectors.update_connector(
        session,
        connector.id,
        ConnectorUpdate(endpoints=list(merged.values())),
        actor=actor,
        correlation_id=correlation_id,
        box=box,
        network=network,
    )
    existing = {m.endpoint_key: m for m in await mappings.list_mappings(session, connector.id)}
    applied = []
    for key, spec in data.mappings.items():
        if key in existing:
            mapping, versions = await mappings.add_version(
                session,
                existing[key].id,
                spec=spec,
                note="Discovery",
                activate=True,
                actor=actor,
                correlation_id=correlation_id,
            )
        else:
            mapping, versions = await mappings.create_mapping(
                session,
                connector_id=connector.id,
                endpoint_key=key,
                spec=spec,
                note="Discovery",
                actor=actor,
                correlation_id=correlation_id,
            )
        applied.append(mappings.mapping_read(mapping, versions))
    await _audit(session, connector.id, data.endpoints, applied, actor, correlation_id, "connector")
    return DiscoveryApplied(connectors.read_model(connector, rows, box), applied)


async def _audit(
    session: AsyncSession,
    connector_id: uuid.UUID,
    endpoints: list[EndpointIn],
    applied: list[MappingRead],
    actor: Actor,
    correlation_id: str,
    source: str,
) -> None:
    await record(
        session,
        EventType.DISCOVERY_APPLIED,
        actor=actor,
        correlation_id=correlation_id,
        payload={
            "connector_id": str(connector_id),
            "source": source,
            "endpoints": [{"key": e.key, "resource": e.resource, "path": e.path} for e in endpoints],
            "mappings": [{"endpoint_key": m.endpoint_key, "version": m.active_version} for m in applied],
        },
    )
