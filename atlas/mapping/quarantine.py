"""Quarantined records: listed with their reasons, re-processed after a mapping fix, or dismissed."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.connectors import services as connectors
from atlas.db.base import utcnow
from atlas.errors import Conflict
from atlas.mapping import services as mappings
from atlas.mapping.models import QuarantinedRecord, SyncRun
from atlas.mapping.schemas import QuarantineRead
from atlas.mapping.sync import QuarantineRepo, SyncRunRepo, records_limit
from atlas.mapping.writer import run_counts, unresolved_errors, write_batch
from atlas.platform.audit import Actor, EventType, record


def quarantine_read(row: QuarantinedRecord) -> QuarantineRead:
    return QuarantineRead(
        id=row.id,
        connector_id=row.connector_id,
        sync_run_id=row.sync_run_id,
        endpoint_key=row.endpoint_key,
        resource=row.resource,
        mapping_version=row.mapping_version,
        raw=row.raw,
        errors=row.errors,
        status=row.status,
        created_at=row.created_at,
        resolved_at=row.resolved_at,
    )


async def list_quarantine(
    session: AsyncSession,
    *,
    connector_id: uuid.UUID | None,
    status: str | None,
    endpoint_key: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    repo = QuarantineRepo(session)
    where: list[Any] = []
    if connector_id:
        where.append(QuarantinedRecord.connector_id == connector_id)
    if status:
        where.append(QuarantinedRecord.status == status)
    if endpoint_key:
        where.append(QuarantinedRecord.endpoint_key == endpoint_key)
    total = await repo.count(*where)
    rows = (
        await session.execute(
            repo.select(*where).order_by(QuarantinedRecord.created_at.desc()).limit(limit).offset(offset)
        )
    ).scalars()
    return {"total": total, "items": [quarantine_read(r) for r in rows]}


async def reprocess(
    session: AsyncSession, *, connector_id: uuid.UUID, endpoint_key: str | None, actor: Actor, correlation_id: str
) -> dict[str, Any]:
    """Map the open records again with today's active mappings; what now maps is written and closed."""
    await connectors.get_connector(session, connector_id)
    active = await mappings.active_mappings(session, connector_id)
    runs = SyncRunRepo(session)
    run = await runs.add(
        SyncRun(
            connector_id=connector_id,
            status="running",
            trigger="reprocess",
            requested_by=actor.ref,
            mapping_versions={k: {"mapping_id": str(m.id), "version": v.version} for k, (m, v) in active.items()},
        )
    )
    repo = QuarantineRepo(session)
    where = [QuarantinedRecord.connector_id == connector_id, QuarantinedRecord.status == "open"]
    if endpoint_key:
        where.append(QuarantinedRecord.endpoint_key == endpoint_key)
    rows = await repo.list(*where, order_by=[QuarantinedRecord.created_at])
    fixed = still_failing = skipped = 0
    by_endpoint: dict[str, list[QuarantinedRecord]] = {}
    for row in rows:
        by_endpoint.setdefault(row.endpoint_key, []).append(row)
    # What becomes of each row is collected and written in two statements at the end: a connector can have
    # thousands of quarantined records (movements of items a plan limit kept out), and one UPDATE per row
    # made a re-process take longer than a person would wait.
    closed: list[uuid.UUID] = []
    failing: list[dict[str, Any]] = []
    for key, group in by_endpoint.items():
        if key not in active:
            still_failing += len(group)
            continue
        mapping, version = active[key]
        compiled = mappings.validated(mapping.resource, version.spec)
        good: list[tuple[QuarantinedRecord, dict[str, Any]]] = []
        for row in group:
            result = compiled.map_record(row.raw)
            if isinstance(result, dict):
                good.append((row, result))
            elif not isinstance(result, list):  # a skip rule now matches it: not a record of this resource
                skipped += 1
                closed.append(row.id)
            else:
                still_failing += 1
                failing.append(
                    {
                        "id": row.id,
                        "errors": [{"field": e.field, "code": e.code, "detail": e.detail} for e in result],
                        "mapping_version": version.version,
                    }
                )
        item_limit = await records_limit(session) if mapping.resource == "items" else None
        unresolved = await write_batch(
            session,
            resource=mapping.resource,
            connector_id=connector_id,
            run_id=run.id,
            rows=[values for _, values in good],
            item_limit=item_limit.limit if item_limit else None,
            endpoint_key=key,
            combine=compiled.combine,
        )
        missing = {u.position: u for u in unresolved}
        for position, (row, _values) in enumerate(good):
            if position in missing:
                still_failing += 1
                failing.append(
                    {
                        "id": row.id,
                        "errors": unresolved_errors(missing[position], item_limit),
                        "mapping_version": version.version,
                    }
                )
            else:
                fixed += 1
                closed.append(row.id)
    if failing:  # new reasons, one executemany (by primary key; row-level security keeps it to this tenant)
        await session.execute(update(QuarantinedRecord), failing)
    resolved_at = utcnow()
    for first in range(0, len(closed), 5000):  # bounded statements: a driver takes at most 32,767 parameters
        await session.execute(
            update(QuarantinedRecord)
            .where(QuarantinedRecord.id.in_(closed[first : first + 5000]), QuarantinedRecord.status == "open")
            .values(status="reprocessed", resolved_at=resolved_at, resolved_run_id=run.id)
            .execution_options(synchronize_session=False)
        )
    counts = await run_counts(session, connector_id=connector_id, run_id=run.id)
    await runs.update_values(
        run, status="succeeded", finished_at=utcnow(), stats={k: v for k, v in counts.items() if v["fetched"]}
    )
    await record(
        session,
        EventType.QUARANTINE_REPROCESSED,
        actor=actor,
        correlation_id=correlation_id,
        payload={
            "connector_id": str(connector_id),
            "endpoint_key": endpoint_key,
            "sync_run_id": str(run.id),
            "reprocessed": fixed,
            "still_failing": still_failing,
            "skipped": skipped,
        },
    )
    return {"sync_run_id": str(run.id), "reprocessed": fixed, "still_failing": still_failing, "skipped": skipped}


async def dismiss(session: AsyncSession, record_id: uuid.UUID, *, actor: Actor, correlation_id: str) -> QuarantineRead:
    repo = QuarantineRepo(session)
    row = await repo.get(record_id)
    if row.status != "open":
        raise Conflict("errors.quarantine_closed")
    await repo.update_values(row, status="dismissed", resolved_at=utcnow())
    await record(
        session,
        EventType.QUARANTINE_REPROCESSED,
        actor=actor,
        correlation_id=correlation_id,
        payload={"quarantine_id": str(row.id), "dismissed": True},
    )
    return quarantine_read(row)
