"""Discovery over HTTP: discover from a base URL or for a connector, and apply a proposal (all of it, or one
endpoint) in one request. Reads only; nothing is stored until a proposal is applied."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.connectors import services as connector_services
from atlas.db.engine import Database
from atlas.execution_lock import NetworkPolicy
from atlas.execution_lock.audit import blocked_auditor
from atlas.i18n import request_lang
from atlas.mapping.discovery import discover, discover_base
from atlas.mapping.discovery_apply import (
    DiscoveryApplied,
    DiscoveryApply,
    DiscoveryApplyExisting,
    DiscoveryRequest,
    apply_existing,
    apply_new,
    discovery_config,
)
from atlas.platform.principal import Principal
from atlas.platform.rbac import Permission


class DiscoveryController(Controller):
    path = "/api"
    tags = ["mappings"]

    @post("/discovery", opt={"permission": Permission.MANAGE_CONNECTORS}, status_code=200)
    async def discover_from_base(
        self,
        request: Request[Any, Any, Any],
        database: NamedDependency[Database],
        data: DiscoveryRequest,
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> dict[str, Any]:
        """Discover a system from its base URL and authentication alone: its description (OpenAPI, Swagger, OData)
        or its usual paths, each endpoint's pagination verified on a second page, and a proposal of endpoints and
        mappings (with a confidence per field) to apply in one step. Nothing is stored; secrets are not echoed."""
        state = request.app.state
        config = discovery_config(data, state.secret_box, principal.tenant_id)
        network = NetworkPolicy.from_settings(state.settings)
        await connector_services.check_reachable_network(network, config.base_url)
        return await discover_base(
            config,
            network=network,
            on_blocked=blocked_auditor(
                database,
                tenant_id=principal.tenant_id,
                actor=principal.actor,
                correlation_id=correlation_id,
                source="discovery",
            ),
            language=data.language or request_lang(request),
        )

    @post("/discovery/adopt", opt={"permission": Permission.MANAGE_CONNECTORS}, status_code=201)
    async def apply_from_base(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        data: DiscoveryApply,
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> DiscoveryApplied:
        """Create the connector with the proposal's endpoints and one mapping per endpoint (audited)."""
        state = request.app.state
        return await apply_new(
            db,
            data,
            actor=principal.actor,
            correlation_id=correlation_id,
            box=state.secret_box,
            network=NetworkPolicy.from_settings(state.settings),
        )

    @post("/connectors/{connector_id:uuid}/discover", opt={"permission": Permission.MANAGE_CONNECTORS}, status_code=200)
    async def discover_connector(
        self,
        request: Request[Any, Any, Any],
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        connector_id: FromPath[uuid.UUID],
        correlation_id: NamedDependency[str],
    ) -> dict[str, Any]:
        """Read the connector's endpoints with their own settings (a read-RPC endpoint with its own read call, never
        a GET), look for the resources it has no endpoint for, and propose endpoints and mappings."""
        state = request.app.state
        async with database.tenant_session(principal.tenant_id) as session:
            connector, endpoints = await connector_services.get_connector(session, connector_id)
            config = connector_services.connector_config(connector, endpoints, state.secret_box)
        return await discover(
            config,
            network=NetworkPolicy.from_settings(state.settings),
            on_blocked=blocked_auditor(
                database,
                tenant_id=principal.tenant_id,
                actor=principal.actor,
                correlation_id=correlation_id,
                source="discovery",
                connector_id=connector_id,
            ),
            language=request_lang(request),
        )

    @post(
        "/connectors/{connector_id:uuid}/discover/adopt",
        opt={"permission": Permission.MANAGE_CONNECTORS},
        status_code=200,
    )
    async def apply_to_connector(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        connector_id: FromPath[uuid.UUID],
        data: DiscoveryApplyExisting,
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> DiscoveryApplied:
        """Apply a proposal (or one endpoint of it) to the connector: a connector update and new mapping versions."""
        state = request.app.state
        return await apply_existing(
            db,
            connector_id,
            data,
            actor=principal.actor,
            correlation_id=correlation_id,
            box=state.secret_box,
            network=NetworkPolicy.from_settings(state.settings),
        )
