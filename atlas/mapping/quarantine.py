"""Quarantined records: listed with their reasons, grouped by cause, re-processed after a mapping fix, or dismissed.

Re-processing never loses a record: what maps now is written and closed, what still fails stays open with its new
reasons. A group (`atlas.mapping.quarantine_groups`) is re-processed on its own after the fix of its cause."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.connectors import services as connectors
from atlas.db import paging
from atlas.db.base import utcnow
from atlas.errors import Conflict, ValidationFailed
from atlas.mapping import services as mappings
from atlas.mapping.canonical import CANONICAL_FIELDS, LOCATION_TYPES, FieldType, MovementKind
from atlas.mapping.models import QuarantinedRecord, SyncRun
from atlas.mapping.quarantine_groups import Filters, Group, count_in_group, group_rows, in_group
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


QUARANTINE_ORDER = paging.Ordering(
    "quarantine",
    (paging.desc(QuarantinedRecord.created_at, "datetime"), paging.desc(QuarantinedRecord.id, "uuid")),
)


async def list_quarantine(
    session: AsyncSession,
    *,
    connector_id: uuid.UUID | None,
    status: str | None,
    endpoint_key: str | None,
    limit: int,
    offset: int,
    sync_run_id: uuid.UUID | None = None,
    cursor: str | None = None,
    cursor_key: paging.CursorKey | None = None,
) -> dict[str, Any]:
    """Newest first, ``id`` breaking ties (a sync sets aside many records in one transaction, at one time)."""
    repo = QuarantineRepo(session)
    where: list[Any] = []
    if connector_id:
        where.append(QuarantinedRecord.connector_id == connector_id)
    if status:
        where.append(QuarantinedRecord.status == status)
    if endpoint_key:
        where.append(QuarantinedRecord.endpoint_key == endpoint_key)
    if sync_run_id:
        where.append(QuarantinedRecord.sync_run_id == sync_run_id)
    total = await repo.count(*where)
    page = paging.Page(limit=limit, offset=offset, cursor=cursor, key=cursor_key)
    found = await paging.fetch(session, repo.select(*where), QUARANTINE_ORDER, page)
    return {"total": total, "items": [quarantine_read(r) for r in found.first()], "next_cursor": found.next_cursor}


async def reprocess(
    session: AsyncSession,
    *,
    connector_id: uuid.UUID,
    endpoint_key: str | None,
    actor: Actor,
    correlation_id: str,
    group: Group | None = None,
) -> dict[str, Any]:
    """Map the open records again with today's active mappings; what now maps is written and closed, what still
    fails stays open with its new reasons. With a ``group`` (and its endpoint), only the records with that error;
    the answer then also says how many records of the group remain open."""
    if group is not None and not endpoint_key:
        raise ValidationFailed("errors.field_invalid", field="endpoint_key", extra={"field": "endpoint_key"})
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
    if group is not None:
        where.append(in_group(group))  # type: ignore[arg-type]
    rows = await repo.list(*where, order_by=[QuarantinedRecord.created_at, QuarantinedRecord.id])
    fixed = still_failing = skipped = 0
    by_endpoint: dict[str, list[QuarantinedRecord]] = {}
    for row in rows:
        by_endpoint.setdefault(row.endpoint_key, []).append(row)
    # What becomes of each row is collected and written in two statements at the end: a connector can have
    # thousands of quarantined records (movements of items a plan limit kept out), and one UPDATE per row
    # made a re-process take longer than a person would wait.
    closed: list[uuid.UUID] = []
    failing: list[dict[str, Any]] = []
    # What still fails, per resource and reason: the re-process run's own outcome (its records keep the run that
    # first set them aside, so counting this run's rows would call it a clean success).
    failing_reasons: dict[str, Counter[str]] = {}
    failing_records: Counter[str] = Counter()

    def still(resource: str, errors: list[dict[str, Any]]) -> None:
        failing_records[resource] += 1
        failing_reasons.setdefault(resource, Counter()).update({str(e.get("code") or "unknown") for e in errors})

    for key, records in by_endpoint.items():
        if key not in active:
            still_failing += len(records)
            for row in records:
                still(row.resource, row.errors)
            continue
        mapping, version = active[key]
        compiled = mappings.validated(mapping.resource, version.spec)
        good: list[tuple[QuarantinedRecord, dict[str, Any]]] = []
        for row in records:
            result = compiled.map_record(row.raw)
            if isinstance(result, dict):
                good.append((row, result))
            elif not isinstance(result, list):  # a skip rule now matches it: not a record of this resource
                skipped += 1
                closed.append(row.id)
            else:
                still_failing += 1
                errors = [{"field": e.field, "code": e.code, "detail": e.detail} for e in result]
                still(mapping.resource, errors)
                failing.append({"id": row.id, "errors": errors, "mapping_version": version.version})
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
                errors = unresolved_errors(missing[position], item_limit)
                still(mapping.resource, errors)
                failing.append({"id": row.id, "errors": errors, "mapping_version": version.version})
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
    stats = {k: v for k, v in counts.items() if v["fetched"] or k in failing_reasons}
    for resource, reasons in failing_reasons.items():
        numbers = stats.setdefault(resource, dict(counts.get(resource) or {}))
        numbers["quarantined"] = failing_records[resource]  # still set aside after this re-process
        numbers["reasons"] = dict(reasons.most_common())
    await runs.update_values(run, status="succeeded", finished_at=utcnow(), stats=stats)
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
            **({"group": group.as_dict()} if group is not None else {}),
        },
    )
    answer: dict[str, Any] = {
        "sync_run_id": str(run.id),
        "reprocessed": fixed,
        "still_failing": still_failing,
        "skipped": skipped,
    }
    if group is not None and endpoint_key:
        answer["remaining"] = await count_in_group(
            session, connector_id=connector_id, endpoint_key=endpoint_key, group=group
        )
    return answer


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


# --- grouped by cause -----------------------------------------------------------------------------

STATUSES = ("open", "reprocessed", "dismissed", "superseded")


CHOICE_LABELS: dict[str, str] = {
    FieldType.MOVEMENT_KIND: "inventory.kind.",
    FieldType.LOCATION_TYPE: "inventory.location_type.",
}


def field_type(resource: str, field: str) -> FieldType | None:
    canonical = next((f for f in CANONICAL_FIELDS.get(resource, ()) if f.name == field), None)
    return canonical.type if canonical else None


def lookup_choices(resource: str, field: str) -> list[str] | None:
    """The canonical values a lookup of this field may give (a movement kind, a location type), or None when the
    field takes free text."""
    kind = field_type(resource, field)
    if kind == FieldType.MOVEMENT_KIND:
        return [str(k) for k in MovementKind]
    if kind == FieldType.LOCATION_TYPE:
        return list(LOCATION_TYPES)
    return None


def lookups_of(spec: dict[str, Any] | None, field: str) -> list[dict[str, Any]]:
    """The lookup transforms of one field's rule, in the order they apply."""
    fields = (spec or {}).get("fields")
    rule = fields.get(field) if isinstance(fields, dict) else None
    transforms = rule.get("transforms") if isinstance(rule, dict) else None
    return [t for t in transforms or [] if isinstance(t, dict) and t.get("op") == "lookup"]


def editor_url(connector_id: uuid.UUID, endpoint_key: str, resource: str, field: str) -> str:
    """The mapping editor of the endpoint, scrolled to the field's rule when the field is a canonical one."""
    url = f"/app/connectors/{connector_id}/mappings/{endpoint_key}"
    if any(f.name == field for f in CANONICAL_FIELDS.get(resource, ())):
        url += f"#mp-f-{field}-name"
    return url


def fix_of(
    *,
    connector_id: uuid.UUID,
    endpoint_key: str,
    resource: str,
    field: str,
    code: str,
    spec: dict[str, Any] | None,
) -> dict[str, Any]:
    """What fixes a group: ``add_lookup`` (a value the field's lookup table lacks: add it, choosing the canonical
    value), ``plan`` (over the plan's records limit: a larger plan, then re-process) or ``edit_rule`` (change the
    rule in the editor, then re-process)."""
    if code == "not_in_lookup" and lookups_of(spec, field):
        kind = "add_lookup"
    elif code == "plan_limit_records":
        kind = "plan"
    else:
        kind = "edit_rule"
    choices = lookup_choices(resource, field) if kind == "add_lookup" else None
    return {
        "kind": kind,
        "choices": choices,
        # Where the page finds each choice's name in the catalogue (a movement kind, a location type).
        "choice_prefix": CHOICE_LABELS.get(field_type(resource, field) or "", "") if choices else "",
        "editor_url": editor_url(connector_id, endpoint_key, resource, field),
    }


async def groups(session: AsyncSession, filters: Filters, *, limit: int, offset: int) -> dict[str, Any]:
    """Records grouped by (connector, endpoint, field, error code, offending value), most frequent first, with
    exact counts, one sample record each and what fixes the group; ``records`` is the number of distinct records
    the filters match (a record with two errors is in two groups)."""
    if filters.connector_id is not None:
        await connectors.get_connector(session, filters.connector_id)  # another tenant's connector: 404
    rows, total, records = await group_rows(session, filters, limit=limit, offset=offset)
    samples: dict[uuid.UUID, QuarantinedRecord] = {}
    if rows:
        found = await QuarantineRepo(session).list(QuarantinedRecord.id.in_([row["sample_id"] for row in rows]))
        samples = {row.id: row for row in found}
    specs: dict[tuple[uuid.UUID, str], dict[str, Any]] = {}
    for connector_id in {row["connector_id"] for row in rows}:
        for key, (_, version) in (await mappings.active_mappings(session, connector_id)).items():
            specs[(connector_id, key)] = version.spec
    items = []
    for row in rows:
        connector_id, endpoint_key = row["connector_id"], row["endpoint_key"]
        items.append(
            {
                "connector_id": str(connector_id),
                "endpoint_key": endpoint_key,
                "resource": row["resource"],
                "field": row["field"],
                "code": row["code"],
                "value": row["value"],
                "count": int(row["n"]),
                "sample": quarantine_read(samples[row["sample_id"]]),
                "fix": fix_of(
                    connector_id=connector_id,
                    endpoint_key=endpoint_key,
                    resource=row["resource"],
                    field=row["field"],
                    code=row["code"],
                    spec=specs.get((connector_id, endpoint_key)),
                ),
            }
        )
    return {"records": records, "total": total, "groups": items}
