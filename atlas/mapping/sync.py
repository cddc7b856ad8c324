"""Syncs: fetch each mapped endpoint through the connector engine, map, write in batches.

The Temporal workflow (`atlas.workflows.sync`) calls these through thin activities:
`begin_run` (one run per connector at a time), `sync_endpoint` (pages → mapped
rows → batches, each committed with its quarantined records, its progress and, for
incremental endpoints, the checkpoint it reached; then, for a complete full read of
balances, the reconciliation that zeroes what the source no longer has, and for
movements the changes of stock counts), and `finish_run` (exact counts from the rows
themselves and what was read, one ``signal_received`` event per resource, and the
outcome: ``succeeded``, ``needs_attention`` when too much was set aside or a
reconciliation was refused, or ``failed``).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import msgspec
import structlog
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.connectors import services as connectors
from atlas.connectors.engine import ConnectorConfig, ConnectorSession, EndpointConfig, FetchError
from atlas.connectors.engine.reader import sends_end, windows
from atlas.connectors.models import Connector
from atlas.db.base import utcnow
from atlas.db.engine import Database
from atlas.errors import Conflict, NotFound
from atlas.execution_lock import NetworkPolicy, NetworkRefused
from atlas.execution_lock.audit import blocked_auditor
from atlas.mapping import services as mappings
from atlas.mapping.engine import CompiledMapping, FieldError, content_hash
from atlas.mapping.models import Item, QuarantinedRecord, SyncCheckpoint, SyncRun
from atlas.mapping.run_summary import summary_numbers
from atlas.mapping.sync_types import PlannedEndpoint, SyncPlan
from atlas.mapping.writer import (
    ItemLimit,
    Reconciliation,
    References,
    Unresolved,
    reconcile_balances,
    replace_open_orders,
    resolve_counts,
    run_counts,
    unresolved_errors,
    write_batch,
)
from atlas.platform.audit import Actor, EventType, record
from atlas.platform.crypto import SecretBox
from atlas.platform.entitlements import plan_limits
from atlas.platform.tenancy import TenantRepository

log = structlog.get_logger("atlas.sync")
BATCH_SIZE = 5000
QUARANTINE_CHUNK = 2000
WINDOW_OVERLAP = timedelta(days=1)
RESOURCE_ORDER = {"locations": 0, "items": 1, "stock_balances": 2, "stock_movements": 3, "open_orders": 4}
ACTIVE = ("queued", "running")
STALE_AFTER = timedelta(hours=7)  # longer than a sync endpoint may run (6 hours) plus margin


class SyncRunRepo(TenantRepository[SyncRun]):
    model = SyncRun
    not_found_key = "errors.sync_not_found"


class CheckpointRepo(TenantRepository[SyncCheckpoint]):
    model = SyncCheckpoint


class QuarantineRepo(TenantRepository[QuarantinedRecord]):
    model = QuarantinedRecord
    not_found_key = "errors.quarantine_not_found"


class SyncFailed(Exception):
    """A fetch that cannot be completed correctly; the run fails rather than miss rows."""

    def __init__(self, endpoint: str, details: dict[str, Any]) -> None:
        super().__init__(f"{endpoint}: {details.get('reason')}")
        self.endpoint = endpoint
        self.details = details


async def records_limit(session: AsyncSession) -> ItemLimit | None:
    """The plan's limit on canonical items for this tenant, or None when its plan has none."""
    limits = plan_limits()
    limit = await limits.limit(session, "max_records")
    if limit is None or limit.limit is None:
        return None
    lifting = await limits.lifting_plan(session, "max_records", limit.limit + 1)
    return ItemLimit(limit.limit, limit.plan_id, lifting or "enterprise")


async def count_items(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    """The tenant's canonical items now: its use of the plan's ``max_records`` (atlas.platform.entitlements)."""
    found = await session.scalar(select(func.count()).select_from(Item).where(Item.tenant_id == tenant_id))
    return int(found or 0)


# --- starting -------------------------------------------------------------------------------------


async def request_run(
    session: AsyncSession, connector_id: uuid.UUID, *, trigger: str, actor: Actor, correlation_id: str
) -> SyncRun:
    """Create a queued run, refusing when one is already queued or running for this connector."""
    connector = (
        await session.execute(connectors.ConnectorRepo(session).select(Connector.id == connector_id).with_for_update())
    ).scalar_one_or_none()
    if connector is None:
        raise NotFound("errors.connector_not_found")
    runs = SyncRunRepo(session)
    # A run still "active" long after a sync could have lasted lost its workflow (Temporal's state was reset):
    # close it, so it does not block this connector for ever.
    stale_before = utcnow() - STALE_AFTER
    await runs.bulk_update(
        SyncRun.connector_id == connector_id,
        SyncRun.status.in_(ACTIVE),
        SyncRun.started_at < stale_before,
        values={
            "status": "failed",
            "finished_at": utcnow(),
            "error": {"reason": "stale", "detail": "the run stopped reporting"},
        },
    )
    if await runs.count(SyncRun.connector_id == connector_id, SyncRun.status.in_(ACTIVE)):
        raise Conflict("errors.sync_already_running")
    run = await runs.add(
        SyncRun(
            connector_id=connector_id,
            status="queued",
            trigger=trigger,
            requested_by=actor.ref,
            workflow_id=None,
        )
    )
    run.workflow_id = f"sync-{run.id}"
    await record(
        session,
        EventType.SYNC_STARTED,
        actor=actor,
        correlation_id=correlation_id,
        payload={"sync_run_id": str(run.id), "connector_id": str(connector_id), "trigger": trigger},
    )
    return run


async def begin_run(
    session: AsyncSession,
    connector_id: uuid.UUID,
    run_id: uuid.UUID | None,
    *,
    trigger: str,
    actor: Actor,
    correlation_id: str,
) -> SyncPlan:
    """Mark the run running (creating it for scheduled syncs) and plan the endpoints in dependency order."""
    runs = SyncRunRepo(session)
    refused = await plan_limits().background_work_refused(session)
    if refused is not None:
        # The subscription gives no syncs now (past due, cancelled or expired): skip, saying why.
        log.info("sync_skipped", reason=refused, connector_id=str(connector_id), trigger=trigger)
        if run_id is not None:
            run = await runs.get(run_id)
            if run.status in ACTIVE:
                await runs.update_values(run, status="failed", finished_at=utcnow(), error={"reason": refused})
        return SyncPlan(run_id=str(run_id or ""), endpoints=[], unmapped=[], skipped_reason=refused)
    if run_id is None:
        try:
            run = await request_run(session, connector_id, trigger=trigger, actor=actor, correlation_id=correlation_id)
        except Conflict:
            return SyncPlan(run_id="", endpoints=[], unmapped=[], skipped_reason="already_running")
    else:
        run = await runs.get(run_id)
        if run.status not in ACTIVE:
            return SyncPlan(run_id=str(run.id), endpoints=[], unmapped=[], skipped_reason=f"run_{run.status}")
    connector, endpoints = await connectors.get_connector(session, connector_id)
    active = await mappings.active_mappings(session, connector.id)
    planned = sorted(
        (
            PlannedEndpoint(e.key, e.resource, str(active[e.key][0].id), active[e.key][1].version)
            for e in endpoints
            if e.key in active
        ),
        key=lambda p: (RESOURCE_ORDER[p.resource], p.key),
    )
    unmapped = [e.key for e in endpoints if e.key not in active]
    progress = {p.key: {"resource": p.resource, "records": 0, "pages": 0, "state": "waiting"} for p in planned}
    await runs.update_values(
        run,
        status="running",
        started_at=utcnow(),
        progress=progress,
        mapping_versions={p.key: {"mapping_id": p.mapping_id, "version": p.version} for p in planned},
    )
    return SyncPlan(run_id=str(run.id), endpoints=planned, unmapped=unmapped)


# --- one endpoint ---------------------------------------------------------------------------------


@dataclass
class EndpointProgress:
    """What one endpoint's read has done so far. ``read`` counts every record the source sent (a record read
    twice counts twice), ``skipped`` those a skip rule matched, ``records`` the rows handed to the writer and
    written, ``quarantined`` those set aside. Committed with every batch, so a resumed read goes on counting."""

    records: int = 0
    pages: int = 0
    quarantined: int = 0
    batches: int = 0
    read: int = 0
    skipped: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self, resource: str, state: str) -> dict[str, Any]:
        return {
            "resource": resource,
            "records": self.records,
            "pages": self.pages,
            "quarantined": self.quarantined,
            "read": self.read,
            "skipped": self.skipped,
            "state": state,
            **self.extra,
        }


@dataclass
class _Batch:
    rows: list[dict[str, Any]] = field(default_factory=list)
    sources: list[Any] = field(default_factory=list)
    rejected: list[tuple[Any, list[dict[str, str]]]] = field(default_factory=list)
    read: int = 0
    skipped: int = 0

    def __len__(self) -> int:
        return len(self.rows) + len(self.rejected)


def _errors(errors: list[FieldError]) -> list[dict[str, str]]:
    return [{"field": e.field, "code": e.code, "detail": e.detail} for e in errors]


async def _flush(
    database: Database,
    *,
    tenant_id: uuid.UUID,
    connector_id: uuid.UUID,
    run_id: uuid.UUID,
    endpoint_key: str,
    resource: str,
    version: int,
    batch: _Batch,
    progress: EndpointProgress,
    checkpoint: datetime | None,
    references: References | None,
    item_limit: ItemLimit | None = None,
    combine: str = "last",
) -> None:
    """Commit one batch: its rows, its quarantined records, the run's progress and (optionally) a checkpoint."""
    async with database.tenant_session(tenant_id) as session:
        unresolved: list[Unresolved] = await write_batch(
            session,
            resource=resource,
            connector_id=connector_id,
            run_id=run_id,
            rows=batch.rows,
            references=references,
            item_limit=item_limit.limit if item_limit else None,
            endpoint_key=endpoint_key,
            combine=combine,
        )
        rejected = list(batch.rejected)
        for miss in unresolved:
            rejected.append((batch.sources[miss.position], unresolved_errors(miss, item_limit)))
        if rejected:
            values = [
                {
                    "id": uuid.uuid4(),
                    "tenant_id": tenant_id,
                    "connector_id": connector_id,
                    "sync_run_id": run_id,
                    "endpoint_key": endpoint_key,
                    "resource": resource,
                    "mapping_version": version,
                    "content_hash": content_hash(source),
                    "raw": source,
                    "errors": errors,
                    "status": "open",
                    "created_at": utcnow(),
                }
                for source, errors in rejected
            ]
            # At most QUARANTINE_CHUNK rows a statement: a driver takes at most 32,767 parameters (12 a row).
            for first in range(0, len(values), QUARANTINE_CHUNK):
                await session.execute(
                    insert(QuarantinedRecord)
                    .values(values[first : first + QUARANTINE_CHUNK])
                    .on_conflict_do_nothing(constraint="uq_quarantine_record_run")
                )
            # A record set aside again supersedes its earlier open copies: the quarantine counts it once.
            await session.execute(
                update(QuarantinedRecord)
                .where(
                    QuarantinedRecord.tenant_id == tenant_id,
                    QuarantinedRecord.connector_id == connector_id,
                    QuarantinedRecord.endpoint_key == endpoint_key,
                    QuarantinedRecord.status == "open",
                    QuarantinedRecord.sync_run_id != run_id,
                    QuarantinedRecord.content_hash.in_({v["content_hash"] for v in values}),
                )
                .values(status="superseded", resolved_at=utcnow(), resolved_run_id=run_id)
                .execution_options(synchronize_session=False)
            )
        progress.records += len(batch.rows) - len(unresolved)
        progress.quarantined += len(rejected)
        progress.read += batch.read
        progress.skipped += batch.skipped
        progress.batches += 1
        await _save_progress(session, run_id, endpoint_key, progress.as_json(resource, "running"))
        if checkpoint is not None:
            checkpoints = CheckpointRepo(session)
            existing = await checkpoints.one_or_none(
                SyncCheckpoint.connector_id == connector_id, SyncCheckpoint.endpoint_key == endpoint_key
            )
            if existing is None:
                await checkpoints.add(
                    SyncCheckpoint(connector_id=connector_id, endpoint_key=endpoint_key, watermark=checkpoint)
                )
            elif existing.watermark is None or checkpoint > existing.watermark:
                await checkpoints.update_values(existing, watermark=checkpoint, updated_at=utcnow())


async def _save_progress(session: AsyncSession, run_id: uuid.UUID, endpoint_key: str, value: dict[str, Any]) -> None:
    await session.execute(
        text("UPDATE sync_runs SET progress = jsonb_set(progress, :path, CAST(:value AS jsonb)) WHERE id = :run"),
        {"path": [endpoint_key], "run": run_id, "value": msgspec.json.encode(value).decode()},
    )


async def sync_endpoint(
    database: Database,
    *,
    tenant_id: uuid.UUID,
    connector_id: uuid.UUID,
    run_id: uuid.UUID,
    endpoint_key: str,
    box: SecretBox,
    network: NetworkPolicy,
    heartbeat: Callable[[dict[str, Any]], None],
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
) -> dict[str, Any]:
    """Fetch, map and write one endpoint. Safe to run again after a crash: writes are idempotent and an
    incremental endpoint resumes from the checkpoint its last committed batch reached (counting on from what
    its committed batches had counted); a full read starts again and counts again from zero."""
    async with database.tenant_session(tenant_id) as session:
        connector, endpoint_rows = await connectors.get_connector(session, connector_id)
        config: ConnectorConfig = connectors.connector_config(connector, endpoint_rows, box)
        mapping, version = (await mappings.active_mappings(session, connector_id))[endpoint_key]
        checkpoint_row = await CheckpointRepo(session).one_or_none(
            SyncCheckpoint.connector_id == connector_id, SyncCheckpoint.endpoint_key == endpoint_key
        )
        watermark = checkpoint_row.watermark if checkpoint_row else None
        run = await SyncRunRepo(session).get(run_id)
        saved = (run.progress or {}).get(endpoint_key) or {}
        vanish_limit = connector.max_vanished_share
        references = (
            await References.load(session, connector_id)
            if mapping.resource in ("stock_balances", "stock_movements", "open_orders")
            else None
        )
        item_limit = await records_limit(session) if mapping.resource == "items" else None
    compiled: CompiledMapping = mappings.validated(mapping.resource, version.spec)
    endpoint: EndpointConfig = mappings.with_record_path(config.endpoint(endpoint_key), compiled)
    progress = EndpointProgress()
    if endpoint.time_window is not None and saved.get("state") == "running":
        # A retried attempt of an incremental read resumes after the checkpoint its last batch committed, with the
        # counts committed alongside it.
        for name in ("records", "pages", "quarantined", "read", "skipped"):
            setattr(progress, name, int(saved.get(name) or 0))
    map_many = compiled.map_many
    combine = compiled.combine
    actor = Actor("system", "sync")
    on_blocked = blocked_auditor(
        database,
        tenant_id=tenant_id,
        actor=actor,
        correlation_id=f"sync-{run_id}",
        source="sync",
        connector_id=connector_id,
    )
    # Fetching and mapping run ahead of the database by at most two batches; the writer commits them in order,
    # so a checkpoint is written only after every batch before it.
    # An incremental endpoint commits in order (its checkpoint must follow every batch before it); a full
    # snapshot has no checkpoint, so two writers on two connections keep the database busy on both cores.
    writers = 1 if endpoint.time_window is not None else 2
    queue: asyncio.Queue[tuple[_Batch, datetime | None] | None] = asyncio.Queue(maxsize=2 * writers)
    state = {"batch": _Batch()}

    async def writer() -> None:
        while (item := await queue.get()) is not None:
            pending, checkpoint = item
            await _flush(
                database,
                tenant_id=tenant_id,
                connector_id=connector_id,
                run_id=run_id,
                endpoint_key=endpoint_key,
                resource=mapping.resource,
                version=version.version,
                batch=pending,
                progress=progress,
                checkpoint=checkpoint,
                references=references,
                item_limit=item_limit,
                combine=combine,
            )
            heartbeat({"endpoint": endpoint_key, "records": progress.records, "pages": progress.pages})

    async def hand_over(checkpoint: datetime | None = None) -> None:
        if len(state["batch"]) or state["batch"].read or checkpoint is not None:
            await queue.put((state["batch"], checkpoint))
            state["batch"] = _Batch()

    async def consume(pages: Any) -> None:
        async for page in pages:
            progress.pages += 1
            batch = state["batch"]
            rows, sources = batch.rows, batch.sources
            batch.read += len(page.records)
            for source, result in zip(page.records, map_many(page.records), strict=True):
                if isinstance(result, dict):
                    rows.append(result)
                    sources.append(source)
                elif isinstance(result, list):
                    batch.rejected.append((source, _errors(result)))
                else:  # a skip rule matched: not a record of this resource (counted, never quarantined)
                    batch.skipped += 1
            if len(batch) >= batch_size:
                await hand_over()
            heartbeat({"endpoint": endpoint_key, "records": progress.records, "pages": progress.pages})

    async def produce() -> None:
        moment = now or utcnow()
        try:
            async with ConnectorSession(config, network=network, on_blocked=on_blocked) as client:
                parents = await client.parent_records(endpoint, now=moment)
                if endpoint.time_window is None:
                    await consume(client.reader.read(endpoint, parents=parents, now=moment))
                    await hand_over()
                else:
                    start = watermark - WINDOW_OVERLAP if watermark else None
                    spans = windows(endpoint.time_window, start=start, end=moment, stepped=sends_end(endpoint))
                    for window_start, window_end in spans:
                        await consume(
                            client.reader.read(endpoint, parents=parents, window_start=window_start, now=window_end)
                        )
                        await hand_over(checkpoint=window_end)  # the window is complete: resume after it
        except BaseException:
            # The read failed or was cancelled (a writer failed, Temporal cancelled the attempt): the task group stops
            # the writers. Never wait for room in a queue nobody may read any more.
            for _ in range(writers):
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(None)
            raise
        for _ in range(writers):
            await queue.put(None)

    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(produce())
            for _ in range(writers):
                group.create_task(writer())
    except* FetchError as errors:
        fetch_error = errors.exceptions[0]
        assert isinstance(fetch_error, FetchError)
        raise SyncFailed(endpoint_key, fetch_error.as_dict()) from None
    except* NetworkRefused as errors:
        refused = errors.exceptions[0]
        assert isinstance(refused, NetworkRefused)
        raise SyncFailed(
            endpoint_key,
            {"reason": refused.slug, "url": config.base_url, "status": None, "detail": refused.message_key},
        ) from None
    # The read is complete and every batch is committed: what only a whole endpoint can tell.
    async with database.tenant_session(tenant_id) as session:
        if mapping.resource == "stock_balances" and endpoint.time_window is None:
            reconciliation = await reconcile_balances(
                session, connector_id=connector_id, endpoint_key=endpoint_key, run_id=run_id, limit=vanish_limit
            )
            await _record_vanished(session, reconciliation, run_id=run_id, connector_id=connector_id)
            progress.extra["reconciliation"] = reconciliation.as_dict()
        if mapping.resource == "open_orders" and endpoint.time_window is None:
            # A full read is the whole open set: what it did not return is no longer open at the source.
            progress.extra["closed"] = await replace_open_orders(
                session, connector_id=connector_id, endpoint_key=endpoint_key, run_id=run_id
            )
        if mapping.resource == "stock_movements" and compiled.counts:
            progress.extra["counts"] = await resolve_counts(session, connector_id=connector_id, run_id=run_id)
        await _save_progress(session, run_id, endpoint_key, progress.as_json(mapping.resource, "done"))
    return {
        "endpoint": endpoint_key,
        "records": progress.records,
        "pages": progress.pages,
        "quarantined": progress.quarantined,
        "read": progress.read,
        "skipped": progress.skipped,
        **progress.extra,
    }


async def _record_vanished(
    session: AsyncSession, reconciliation: Reconciliation, *, run_id: uuid.UUID, connector_id: uuid.UUID
) -> None:
    """One ``balance_vanished`` event per balance a full read zeroed, naming the item, the location and what the
    balance held before."""
    if not reconciliation.zeroed:
        return
    ids = [uuid.UUID(z["item_id"]) for z in reconciliation.zeroed]
    places = [uuid.UUID(z["location_id"]) for z in reconciliation.zeroed]
    found = await session.execute(text("SELECT id, sku FROM items WHERE id = ANY(:ids)"), {"ids": ids})
    skus: dict[uuid.UUID, str] = {row[0]: row[1] for row in found}
    found = await session.execute(text("SELECT id, code FROM locations WHERE id = ANY(:ids)"), {"ids": places})
    codes: dict[uuid.UUID, str] = {row[0]: row[1] for row in found}
    actor = Actor("system", "sync")
    for zeroed in reconciliation.zeroed:
        await record(
            session,
            EventType.BALANCE_VANISHED,
            actor=actor,
            correlation_id=f"sync-{run_id}",
            payload={
                "sync_run_id": str(run_id),
                "connector_id": str(connector_id),
                **zeroed,
                "sku": skus.get(uuid.UUID(zeroed["item_id"])),
                "location_code": codes.get(uuid.UUID(zeroed["location_id"])),
            },
        )


# --- finishing ------------------------------------------------------------------------------------


STAT_FROM_PROGRESS = ("read", "skipped")


def _merge_progress(stats: dict[str, dict[str, Any]], progress: dict[str, Any]) -> None:
    """What only the read knows, per resource: records read (``fetched``, duplicates included), skipped by a skip
    rule, read twice and so counted once (``duplicates``), and the reconciliations and stock counts of endpoints."""
    for value in progress.values():
        resource = value.get("resource")
        if resource not in stats or "read" not in value:
            continue
        numbers = stats[resource]
        for name in STAT_FROM_PROGRESS:
            numbers[name] = numbers.get(name, 0) + int(value.get(name) or 0)
        if "reconciliation" in value:
            found = value["reconciliation"]
            numbers["vanished"] = numbers.get("vanished", 0) + int(found.get("zeroed") or 0)
            numbers["reduced"] = numbers.get("reduced", 0) + int(found.get("reduced") or 0)
        if "counts" in value:
            numbers["counts"] = numbers.get("counts", 0) + int(value["counts"].get("counts") or 0)
            numbers["counts_unresolved"] = numbers.get("counts_unresolved", 0) + int(
                value["counts"].get("unresolved") or 0
            )
    for numbers in stats.values():
        if "read" in numbers:
            numbers["fetched"] = numbers["read"]
            numbers["duplicates"] = max(
                0, numbers["read"] - numbers["skipped"] - numbers["quarantined"] - numbers["written"]
            )


def attention_of(
    stats: dict[str, dict[str, Any]], progress: dict[str, Any], *, max_set_aside_share: float
) -> list[dict[str, Any]]:
    """Why a run that finished needs a person: it set aside more than its share of what it read, or a full read
    would have zeroed more balances than allowed (so it zeroed none)."""
    causes: list[dict[str, Any]] = []
    totals = summary_numbers(stats)
    read, set_aside = totals["read"], totals["set_aside"]
    if read and set_aside / read > max_set_aside_share:
        causes.append(
            {
                "reason": "set_aside_share",
                "set_aside": set_aside,
                "read": read,
                "share": round(set_aside / read, 4),
                "limit": max_set_aside_share,
                "reasons": totals["reasons"],
            }
        )
    for key, value in progress.items():
        found = value.get("reconciliation") or {}
        if found.get("refused"):
            causes.append(
                {
                    "reason": "vanish_refused",
                    "endpoint": key,
                    "would_zero": found.get("would_zero"),
                    "balances": found.get("balances"),
                    "share": round(found["would_zero"] / found["balances"], 4) if found.get("balances") else None,
                    "limit": found.get("limit"),
                }
            )
    return causes


async def _resolve_counts_last(session: AsyncSession, run: SyncRun) -> dict[str, Any]:
    """Stock counts once more, after every endpoint: a count's level before may come from a movement another
    endpoint wrote later in the run (a ledger read in parts), whatever the order the endpoints were read in.
    Idempotent; the run's figures become the final ones."""
    progress = dict(run.progress or {})
    if not any("counts" in (value or {}) for value in progress.values()):
        return progress
    final = await resolve_counts(session, connector_id=run.connector_id, run_id=run.id)
    return {
        key: ({**value, "counts": final} if "counts" in (value or {}) else value) for key, value in progress.items()
    }


async def finish_run(
    session: AsyncSession, run_id: uuid.UUID, *, error: dict[str, Any] | None, correlation_id: str
) -> dict[str, Any]:
    """Count what the run did, from the rows themselves and what it read; record one signal per resource; judge
    it: ``failed`` (an endpoint could not be read completely), ``needs_attention`` (see `attention_of`), or
    ``succeeded``."""
    runs = SyncRunRepo(session)
    run = await runs.get(run_id)
    connector = await connectors.ConnectorRepo(session).get(run.connector_id)
    run.progress = await _resolve_counts_last(session, run)
    counts = await run_counts(session, connector_id=run.connector_id, run_id=run.id)
    resources = {p.get("resource") for p in (run.progress or {}).values()}
    stats = {resource: counts[resource] for resource in counts if resource in resources}
    _merge_progress(stats, run.progress or {})
    attention = (
        [] if error else attention_of(stats, run.progress or {}, max_set_aside_share=connector.max_set_aside_share)
    )
    status = "failed" if error else ("needs_attention" if attention else "succeeded")
    progress = {
        key: {
            **value,
            "state": "failed"
            if error and key == error.get("endpoint")
            else ("done" if not error else value.get("state", "waiting")),
        }
        for key, value in (run.progress or {}).items()
    }
    await runs.update_values(
        run,
        status=status,
        finished_at=utcnow(),
        stats=stats,
        error=error,
        progress=progress,
        attention=attention or None,
    )
    actor = Actor("system", "sync")
    for resource, numbers in stats.items():
        await record(
            session,
            EventType.SIGNAL_RECEIVED,
            actor=actor,
            correlation_id=correlation_id,
            payload={
                "sync_run_id": str(run.id),
                "connector_id": str(run.connector_id),
                "resource": resource,
                **numbers,
                "mapping_versions": run.mapping_versions,
            },
        )
    await record(
        session,
        EventType.SYNC_FINISHED,
        actor=actor,
        correlation_id=correlation_id,
        payload={
            "sync_run_id": str(run.id),
            "connector_id": str(run.connector_id),
            "status": status,
            "error": error,
            "attention": attention or None,
        },
    )
    return {"run_id": str(run.id), "status": status, "stats": stats, "attention": attention}


async def list_runs(session: AsyncSession, connector_id: uuid.UUID, limit: int = 50) -> list[SyncRun]:
    await connectors.get_connector(session, connector_id)
    return await SyncRunRepo(session).list(
        SyncRun.connector_id == connector_id, order_by=[SyncRun.started_at.desc(), SyncRun.id.desc()], limit=limit
    )


async def mark_failed_to_start(session: AsyncSession, run_id: uuid.UUID, reason: str) -> None:
    runs = SyncRunRepo(session)
    run = await runs.get(run_id)
    await runs.update_values(run, status="failed", finished_at=utcnow(), error={"reason": reason})
