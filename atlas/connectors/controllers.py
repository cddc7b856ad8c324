"""Connector API: admins manage connectors; operators and viewers read them."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.connectors import services
from atlas.connectors.schedules import set_sync_schedule
from atlas.connectors.schemas import ConnectorCreate, ConnectorHealthRead, ConnectorRead, ConnectorUpdate
from atlas.db.engine import Database
from atlas.errors import Unavailable
from atlas.execution_lock import NetworkPolicy
from atlas.execution_lock.audit import blocked_auditor
from atlas.i18n import request_lang
from atlas.platform.principal import Principal
from atlas.platform.rbac import Permission

log = structlog.get_logger("atlas.connectors")


async def apply_schedule(
    request: Request[Any, Any, Any], tenant_id: uuid.UUID, connector_id: uuid.UUID, minutes: int | None
) -> None:
    """Bring the connector's Temporal schedule in line; a failure undoes the whole request."""
    settings = request.app.state.settings
    try:
        client = await request.app.state.temporal.client()
        await set_sync_schedule(client, settings, tenant_id=tenant_id, connector_id=connector_id, minutes=minutes)
    except Exception as exc:
        log.warning("schedule_not_updated", error=type(exc).__name__)
        raise Unavailable("errors.scheduler_unavailable") from None


class ConnectorController(Controller):
    path = "/api/connectors"
    tags = ["connectors"]

    @get("/", opt={"permission": Permission.READ})
    async def list_connectors(
        self, request: Request[Any, Any, Any], db: NamedDependency[AsyncSession]
    ) -> list[ConnectorRead]:
        box = request.app.state.secret_box
        return [services.read_model(c, e, box) for c, e in await services.list_connectors(db)]

    @post("/", opt={"permission": Permission.MANAGE_CONNECTORS}, status_code=201)
    async def create(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        data: ConnectorCreate,
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> ConnectorRead:
        """Create a connector: base URL, authentication, limits and one endpoint per resource."""
        state = request.app.state
        connector, endpoints = await services.create_connector(
            db,
            data,
            actor=principal.actor,
            correlation_id=correlation_id,
            box=state.secret_box,
            network=NetworkPolicy.from_settings(state.settings),
        )
        if connector.sync_interval_minutes:
            await apply_schedule(request, principal.tenant_id, connector.id, connector.sync_interval_minutes)
        return services.read_model(connector, endpoints, state.secret_box)

    @get("/{connector_id:uuid}", opt={"permission": Permission.READ})
    async def read(
        self, request: Request[Any, Any, Any], db: NamedDependency[AsyncSession], connector_id: FromPath[uuid.UUID]
    ) -> ConnectorRead:
        connector, endpoints = await services.get_connector(db, connector_id)
        return services.read_model(connector, endpoints, request.app.state.secret_box)

    @patch("/{connector_id:uuid}", opt={"permission": Permission.MANAGE_CONNECTORS})
    async def update(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        connector_id: FromPath[uuid.UUID],
        data: ConnectorUpdate,
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> ConnectorRead:
        """Change a connector. Omitted credentials keep their stored value."""
        state = request.app.state
        connector, endpoints = await services.update_connector(
            db,
            connector_id,
            data,
            actor=principal.actor,
            correlation_id=correlation_id,
            box=state.secret_box,
            network=NetworkPolicy.from_settings(state.settings),
        )
        if data.sync_interval_minutes is not None:
            await apply_schedule(request, principal.tenant_id, connector.id, connector.sync_interval_minutes)
        return services.read_model(connector, endpoints, state.secret_box)

    @delete("/{connector_id:uuid}", opt={"permission": Permission.MANAGE_CONNECTORS}, status_code=204)
    async def remove(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        connector_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> None:
        connector, _ = await services.get_connector(db, connector_id)
        scheduled = connector.sync_interval_minutes
        await services.delete_connector(db, connector_id, actor=principal.actor, correlation_id=correlation_id)
        if scheduled:
            await apply_schedule(request, principal.tenant_id, connector_id, None)

    @post("/{connector_id:uuid}/test", opt={"permission": Permission.MANAGE_CONNECTORS}, status_code=200)
    async def test(
        self,
        request: Request[Any, Any, Any],
        database: NamedDependency[Database],
        connector_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> ConnectorHealthRead:
        """Check every endpoint now (reachability, authentication, latency, a one-page sample)."""
        state = request.app.state
        async with database.tenant_session(principal.tenant_id) as session:
            connector, endpoints = await services.get_connector(session, connector_id)
            config = services.connector_config(connector, endpoints, state.secret_box)
        results = await services.check_connector(
            config,
            network=NetworkPolicy.from_settings(state.settings),
            on_blocked=blocked_auditor(
                database,
                tenant_id=principal.tenant_id,
                actor=principal.actor,
                correlation_id=correlation_id,
                source="connector_test",
                connector_id=connector_id,
            ),
        )
        async with database.tenant_session(principal.tenant_id) as session:
            await services.record_health(
                session, connector_id, results, trigger="manual", actor=principal.actor, correlation_id=correlation_id
            )
            return await services.health_of(session, connector_id, lang=request_lang(request))

    @get("/{connector_id:uuid}/health", opt={"permission": Permission.READ})
    async def health(
        self, request: Request[Any, Any, Any], db: NamedDependency[AsyncSession], connector_id: FromPath[uuid.UUID]
    ) -> ConnectorHealthRead:
        """The latest result per endpoint and a short history (Atlas's own messages in the request's language)."""
        return await services.health_of(db, connector_id, lang=request_lang(request))
