"""Mappings, syncs, quarantine and the inventory browser over HTTP."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from atlas.bounds import INT4_MAX, PositiveInt32
from atlas.config import Settings
from atlas.connectors.sync_request import SYNC_WORKFLOW, SyncRequest
from atlas.db.engine import Database
from atlas.errors import Conflict, Unavailable, ValidationFailed
from atlas.execution_lock import NetworkPolicy
from atlas.execution_lock.audit import blocked_auditor
from atlas.i18n import request_lang
from atlas.mapping import inventory, quarantine, services, sync
from atlas.mapping.discovery_controllers import DiscoveryController
from atlas.mapping.quarantine_controllers import CONTROLLERS as QUARANTINE_GROUP_CONTROLLERS
from atlas.mapping.run_summary import run_summary
from atlas.mapping.schemas import (
    FieldDiff,
    MappingCreate,
    MappingPreviewRead,
    MappingPreviewRequest,
    MappingRead,
    MappingVersionCreate,
    QuarantineRead,
    SyncRunRead,
)
from atlas.platform.controllers import parse_time
from atlas.platform.principal import Principal
from atlas.platform.rbac import Permission
from atlas.web import params as paging

log = structlog.get_logger("atlas.sync")


class MappingController(Controller):
    path = "/api/mappings"
    tags = ["mappings"]

    @get("/", opt={"permission": Permission.READ})
    async def list_mappings(
        self, db: NamedDependency[AsyncSession], connector_id: uuid.UUID | None = None
    ) -> list[MappingRead]:
        return [services.mapping_read(m) for m in await services.list_mappings(db, connector_id)]

    @post("/", opt={"permission": Permission.MANAGE_CONNECTORS}, status_code=201)
    async def create(
        self,
        db: NamedDependency[AsyncSession],
        data: MappingCreate,
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> MappingRead:
        """Create a mapping for one connector endpoint; its first version is active."""
        mapping, versions = await services.create_mapping(
            db,
            connector_id=data.connector_id,
            endpoint_key=data.endpoint_key,
            spec=data.spec,
            note=data.note,
            actor=principal.actor,
            correlation_id=correlation_id,
        )
        return services.mapping_read(mapping, versions)

    @get("/{mapping_id:uuid}", opt={"permission": Permission.READ})
    async def read(self, db: NamedDependency[AsyncSession], mapping_id: FromPath[uuid.UUID]) -> MappingRead:
        mapping, versions = await services.get_mapping(db, mapping_id)
        return services.mapping_read(mapping, versions)

    @post("/{mapping_id:uuid}/versions", opt={"permission": Permission.MANAGE_CONNECTORS}, status_code=201)
    async def add_version(
        self,
        db: NamedDependency[AsyncSession],
        mapping_id: FromPath[uuid.UUID],
        data: MappingVersionCreate,
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> MappingRead:
        """Save a change as a new immutable version (active unless ``activate`` is false)."""
        mapping, versions = await services.add_version(
            db,
            mapping_id,
            spec=data.spec,
            note=data.note,
            activate=data.activate,
            actor=principal.actor,
            correlation_id=correlation_id,
        )
        return services.mapping_read(mapping, versions)

    @post(
        "/{mapping_id:uuid}/activate/{version:int}", opt={"permission": Permission.MANAGE_CONNECTORS}, status_code=200
    )
    async def activate(
        self,
        db: NamedDependency[AsyncSession],
        mapping_id: FromPath[uuid.UUID],
        version: PositiveInt32,
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> MappingRead:
        """Make an older (or newer) version active: a rollback."""
        mapping, versions = await services.activate(
            db, mapping_id, version, actor=principal.actor, correlation_id=correlation_id
        )
        return services.mapping_read(mapping, versions)

    @get("/{mapping_id:uuid}/diff", opt={"permission": Permission.READ})
    async def diff(
        self,
        db: NamedDependency[AsyncSession],
        mapping_id: FromPath[uuid.UUID],
        left: int = Parameter(ge=1, le=INT4_MAX),
        right: int = Parameter(ge=1, le=INT4_MAX),
    ) -> list[FieldDiff]:
        """Two versions compared field by field."""
        return await services.compare(db, mapping_id, left, right)

    @post("/preview", opt={"permission": Permission.MANAGE_CONNECTORS}, status_code=200)
    async def preview(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        data: MappingPreviewRequest,
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
        database: NamedDependency[Database],
    ) -> MappingPreviewRead:
        """Apply a draft or saved mapping to a live sample page; nothing is saved."""
        connector_id, endpoint_key, spec = data.connector_id, data.endpoint_key, data.spec
        if data.mapping_id is not None:
            mapping, versions = await services.get_mapping(db, data.mapping_id)
            wanted = data.version or mapping.active_version
            chosen = next((v for v in versions if v.version == wanted), None)
            if chosen is None:
                raise ValidationFailed("errors.mapping_version_not_found", field="version")
            connector_id, endpoint_key = mapping.connector_id, mapping.endpoint_key
            spec = spec if spec is not None else chosen.spec
        if connector_id is None or endpoint_key is None or spec is None:
            raise ValidationFailed("errors.preview_needs_target", field="spec", extra={"field": "spec"})
        state = request.app.state
        return await services.preview(
            db,
            connector_id=connector_id,
            endpoint_key=endpoint_key,
            spec=spec,
            limit=data.limit,
            box=state.secret_box,
            network=NetworkPolicy.from_settings(state.settings),
            on_blocked=blocked_auditor(
                database,
                tenant_id=principal.tenant_id,
                actor=principal.actor,
                correlation_id=correlation_id,
                source="mapping_preview",
                connector_id=connector_id,
            ),
        )


def run_read(run: Any, lang: str = "ar") -> SyncRunRead:
    """A run for the API and the pages; a finished run carries its one-line summary in ``lang``."""
    finished = run.status in ("succeeded", "needs_attention", "failed")
    return SyncRunRead(
        id=run.id,
        connector_id=run.connector_id,
        status=run.status,
        trigger=run.trigger,
        requested_by=run.requested_by,
        started_at=run.started_at,
        finished_at=run.finished_at,
        mapping_versions=run.mapping_versions,
        stats=run.stats,
        progress=run.progress,
        error=run.error,
        attention=run.attention,
        summary=run_summary(run.stats or {}, run.attention, lang, status=run.status)
        if finished and run.stats
        else None,
    )


async def start_sync(
    request: Request[Any, Any, Any],
    *,
    database: Database,
    principal: Principal,
    connector_id: uuid.UUID,
    correlation_id: str,
    trigger: str = "manual",
) -> SyncRunRead:
    """Queue a run and start its workflow; one run per connector at a time."""
    settings: Settings = request.app.state.settings
    async with database.tenant_session(principal.tenant_id) as session:
        run = await sync.request_run(
            session, connector_id, trigger=trigger, actor=principal.actor, correlation_id=correlation_id
        )
    try:
        client = await request.app.state.temporal.client()
        await client.start_workflow(
            SYNC_WORKFLOW,
            SyncRequest(
                tenant_id=str(principal.tenant_id),
                connector_id=str(connector_id),
                run_id=str(run.id),
                trigger=trigger,
                heartbeat_seconds=settings.sync_heartbeat_seconds,
            ),
            id=f"sync-{run.id}",  # one workflow per run; the database allows one active run per connector
            task_queue=settings.temporal_task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
    except WorkflowAlreadyStartedError:
        async with database.tenant_session(principal.tenant_id) as session:
            await sync.mark_failed_to_start(session, run.id, "already_running")
        raise Conflict("errors.sync_already_running") from None
    except Exception as exc:
        log.warning("sync_not_started", error=type(exc).__name__)
        async with database.tenant_session(principal.tenant_id) as session:
            await sync.mark_failed_to_start(session, run.id, "scheduler_unavailable")
        raise Unavailable("errors.scheduler_unavailable") from None
    return run_read(run, request_lang(request))


class SyncController(Controller):
    path = "/api"
    tags = ["syncs"]

    @post("/connectors/{connector_id:uuid}/sync", opt={"permission": Permission.MANAGE_CONNECTORS}, status_code=202)
    async def sync_now(
        self,
        request: Request[Any, Any, Any],
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        connector_id: FromPath[uuid.UUID],
        correlation_id: NamedDependency[str],
    ) -> SyncRunRead:
        """Start a sync of every mapped endpoint now (202: it runs in the background)."""
        return await start_sync(
            request, database=database, principal=principal, connector_id=connector_id, correlation_id=correlation_id
        )

    @get("/connectors/{connector_id:uuid}/syncs", opt={"permission": Permission.READ})
    async def runs(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        connector_id: FromPath[uuid.UUID],
        limit: int = Parameter(default=20, ge=1, le=100),
    ) -> list[SyncRunRead]:
        """Recent runs, newest first, with progress (records so far per endpoint), counts and, once finished,
        a summary ("N written, M set aside (reasons)") and why a run needs attention."""
        lang = request_lang(request)
        return [run_read(r, lang) for r in await sync.list_runs(db, connector_id, limit)]

    @get("/syncs/{run_id:uuid}", opt={"permission": Permission.READ})
    async def run(
        self, request: Request[Any, Any, Any], db: NamedDependency[AsyncSession], run_id: FromPath[uuid.UUID]
    ) -> SyncRunRead:
        return run_read(await sync.SyncRunRepo(db).get(run_id), request_lang(request))


class QuarantineController(Controller):
    path = "/api/quarantine"
    tags = ["quarantine"]

    @get("/", opt={"permission": Permission.READ})
    async def list_records(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        connector_id: uuid.UUID | None = None,
        status: str | None = "open",
        endpoint_key: str | None = None,
        limit: int = paging.limit_param(),
        offset: int = paging.offset_param(),
        cursor: str | None = paging.cursor_param(),
    ) -> dict[str, Any]:
        """Records that could not be mapped or stored, with the raw record and the reasons, newest first."""
        return await quarantine.list_quarantine(
            db,
            connector_id=connector_id,
            status=status or None,
            endpoint_key=endpoint_key,
            limit=limit,
            offset=offset,
            cursor=cursor,
            cursor_key=paging.cursor_key(request),
        )

    @post("/reprocess", opt={"permission": Permission.MANAGE_CONNECTORS}, status_code=200)
    async def reprocess(
        self,
        db: NamedDependency[AsyncSession],
        data: dict[str, Any],
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> dict[str, Any]:
        """Map the open records again with the active mappings (after a fix)."""
        try:
            connector_id = uuid.UUID(str(data.get("connector_id")))
        except ValueError:
            raise ValidationFailed("errors.field_invalid", field="connector_id") from None
        endpoint_key = data.get("endpoint_key")
        return await quarantine.reprocess(
            db,
            connector_id=connector_id,
            endpoint_key=str(endpoint_key) if endpoint_key else None,
            actor=principal.actor,
            correlation_id=correlation_id,
        )

    @post("/{record_id:uuid}/dismiss", opt={"permission": Permission.MANAGE_CONNECTORS}, status_code=200)
    async def dismiss(
        self,
        db: NamedDependency[AsyncSession],
        record_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> QuarantineRead:
        return await quarantine.dismiss(db, record_id, actor=principal.actor, correlation_id=correlation_id)


class InventoryController(Controller):
    path = "/api/inventory"
    tags = ["inventory"]

    @get("/items", opt={"permission": Permission.READ})
    async def items(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        q: str | None = Parameter(default=None, max_length=100),
        category: str | None = None,
        connector_id: uuid.UUID | None = None,
        limit: int = paging.limit_param(),
        offset: int = paging.offset_param(),
        cursor: str | None = paging.cursor_param(),
    ) -> dict[str, Any]:
        """Items by SKU; ``next_cursor`` (when more follow) is the ``cursor`` of the next page."""
        return await inventory.items(
            db,
            q=q,
            category=category,
            connector_id=connector_id,
            limit=limit,
            offset=offset,
            cursor=cursor,
            cursor_key=paging.cursor_key(request),
        )

    @get("/locations", opt={"permission": Permission.READ})
    async def locations(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        q: str | None = Parameter(default=None, max_length=100),
        limit: int = paging.limit_param(),
        offset: int = paging.offset_param(),
        cursor: str | None = paging.cursor_param(),
    ) -> dict[str, Any]:
        """Locations by code; ``next_cursor`` (when more follow) is the ``cursor`` of the next page."""
        return await inventory.locations(
            db, q=q, limit=limit, offset=offset, cursor=cursor, cursor_key=paging.cursor_key(request)
        )

    @get("/balances", opt={"permission": Permission.READ})
    async def balances(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        q: str | None = Parameter(default=None, max_length=100),
        item_id: uuid.UUID | None = None,
        location_id: uuid.UUID | None = None,
        limit: int = paging.limit_param(),
        offset: int = paging.offset_param(),
        cursor: str | None = paging.cursor_param(),
    ) -> dict[str, Any]:
        """Balances by SKU and location code; ``next_cursor`` (when more follow) is the next page's ``cursor``."""
        return await inventory.balances(
            db,
            q=q,
            item_id=item_id,
            location_id=location_id,
            limit=limit,
            offset=offset,
            cursor=cursor,
            cursor_key=paging.cursor_key(request),
        )

    @get("/movements", opt={"permission": Permission.READ})
    async def movements(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        item_id: uuid.UUID | None = None,
        location_id: uuid.UUID | None = None,
        kind: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = paging.limit_param(),
        offset: int = paging.offset_param(),
        cursor: str | None = paging.cursor_param(),
    ) -> dict[str, Any]:
        """Movements, newest first; ``next_cursor`` (when more follow) is the ``cursor`` of the next page."""
        return await inventory.movements(
            db,
            item_id=item_id,
            location_id=location_id,
            kind=kind,
            since=parse_time(since, "since"),
            until=parse_time(until, "until"),
            limit=limit,
            offset=offset,
            cursor=cursor,
            cursor_key=paging.cursor_key(request),
        )

    @get("/open-orders", opt={"permission": Permission.READ})
    async def open_orders(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        q: str | None = Parameter(default=None, max_length=100),
        item_id: uuid.UUID | None = None,
        location_id: uuid.UUID | None = None,
        kind: str | None = Parameter(default=None, max_length=20),
        limit: int = paging.limit_param(),
        offset: int = paging.offset_param(),
        cursor: str | None = paging.cursor_param(),
    ) -> dict[str, Any]:
        """Open order lines (purchase orders and transfers in transit, what is still to arrive) by SKU and receiving
        location; ``next_cursor`` (when more follow) is the next page's ``cursor``."""
        return await inventory.open_orders(
            db,
            q=q,
            item_id=item_id,
            location_id=location_id,
            kind=kind,
            limit=limit,
            offset=offset,
            cursor=cursor,
            cursor_key=paging.cursor_key(request),
        )


CONTROLLERS = [
    MappingController,
    SyncController,
    DiscoveryController,
    QuarantineController,
    *QUARANTINE_GROUP_CONTROLLERS,
    InventoryController,
]
