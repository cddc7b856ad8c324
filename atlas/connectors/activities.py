"""Temporal activities of connectors: thin, calling the services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from temporalio import activity

from atlas.connectors import services
from atlas.durable.heartbeat import heartbeating
from atlas.durable.runtime import runtime
from atlas.execution_lock import NetworkPolicy
from atlas.execution_lock.audit import blocked_auditor
from atlas.platform.audit import Actor


@dataclass
class ConnectorTarget:
    tenant_id: str
    connector_id: str


@activity.defn(name="connectors.list_all")
async def list_all_connectors() -> list[ConnectorTarget]:
    async with runtime().db.system_session() as session:
        refs = await services.all_connectors(session)
    return [ConnectorTarget(str(r.tenant_id), str(r.connector_id)) for r in refs]


@activity.defn(name="connectors.check_health")
async def check_connector_health(target: ConnectorTarget) -> str:
    """Scheduled health check of one connector: read its configuration, check, record the results.

    The check waits on the customer's system (each endpoint up to the connector's timeout), so it heartbeats
    through the waits: a dead worker is noticed within the heartbeat timeout, and an attempt Temporal has
    given up on (its start-to-close timeout passed) learns so from its next heartbeat and stops, instead of
    checking on and recording its results beside the retry."""
    rt = runtime()
    tenant_id, connector_id = uuid.UUID(target.tenant_id), uuid.UUID(target.connector_id)
    correlation_id = f"health-{activity.info().workflow_id}"
    actor = Actor("system", "scheduled health check")
    async with rt.db.tenant_session(tenant_id) as session:
        connector, endpoints = await services.get_connector(session, connector_id)
        config = services.connector_config(connector, endpoints, rt.secret_box)
    on_blocked = blocked_auditor(
        rt.db,
        tenant_id=tenant_id,
        actor=actor,
        correlation_id=correlation_id,
        source="health_check",
        connector_id=connector_id,
    )
    results = await heartbeating(
        lambda _: services.check_connector(
            config, network=NetworkPolicy.from_settings(rt.settings), on_blocked=on_blocked
        )
    )
    async with rt.db.tenant_session(tenant_id) as session:
        return await services.record_health(
            session, connector_id, results, trigger="scheduled", actor=actor, correlation_id=correlation_id
        )
