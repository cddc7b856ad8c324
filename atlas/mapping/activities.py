"""Temporal activities of syncs: thin, calling `atlas.mapping.sync`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from atlas.connectors.sync_request import SyncRequest
from atlas.durable.heartbeat import heartbeating
from atlas.durable.runtime import runtime
from atlas.execution_lock import NetworkPolicy
from atlas.mapping import sync
from atlas.mapping.sync_types import SyncPlan
from atlas.platform.audit import Actor


@dataclass
class SyncStep:
    tenant_id: str
    connector_id: str
    run_id: str
    endpoint_key: str


@dataclass
class FinishRequest:
    tenant_id: str
    run_id: str
    error: dict[str, Any] | None = None


@activity.defn(name="sync.begin")
async def begin_sync(request: SyncRequest) -> SyncPlan:
    async with runtime().db.tenant_session(uuid.UUID(request.tenant_id)) as session:
        return await sync.begin_run(
            session,
            uuid.UUID(request.connector_id),
            uuid.UUID(request.run_id) if request.run_id else None,
            trigger=request.trigger,
            actor=Actor("system", f"{request.trigger} sync"),
            correlation_id=activity.info().workflow_id or "sync",
        )


@activity.defn(name="sync.endpoint")
async def sync_endpoint(step: SyncStep) -> dict[str, Any]:
    """One endpoint of a run. It heartbeats through every wait on the customer's system (a slow page, a
    ``Retry-After``, a backoff), not only after each page, so Temporal never starts a second copy of it while
    this one still reads; a retry after a crash resumes from the endpoint's checkpoint (`atlas.mapping.sync`)."""
    rt = runtime()
    try:
        return await heartbeating(
            lambda progress: sync.sync_endpoint(
                rt.db,
                tenant_id=uuid.UUID(step.tenant_id),
                connector_id=uuid.UUID(step.connector_id),
                run_id=uuid.UUID(step.run_id),
                endpoint_key=step.endpoint_key,
                box=rt.secret_box,
                network=NetworkPolicy.from_settings(rt.settings),
                heartbeat=progress,
            )
        )
    except sync.SyncFailed as exc:
        # The engine already spent its retry budget: the run fails with the reason, no further retries.
        raise ApplicationError(
            str(exc), {"endpoint": exc.endpoint, **exc.details}, type="SyncFailed", non_retryable=True
        ) from None


@activity.defn(name="sync.finish")
async def finish_sync(request: FinishRequest) -> dict[str, Any]:
    async with runtime().db.tenant_session(uuid.UUID(request.tenant_id)) as session:
        return await sync.finish_run(
            session,
            uuid.UUID(request.run_id),
            error=request.error,
            correlation_id=activity.info().workflow_id or "sync",
        )
