"""Mapping use cases: create, version, activate (rollback), compare, and preview on a live sample."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.connectors import services as connectors
from atlas.connectors.engine import ConnectorSession, FetchError
from atlas.db.base import utcnow
from atlas.errors import NotFound, ValidationFailed
from atlas.execution_lock import NetworkPolicy, NetworkRefused
from atlas.execution_lock.transport import BlockedHandler
from atlas.mapping import preview_refs
from atlas.mapping.canonical import CANONICAL_FIELDS
from atlas.mapping.engine import CompiledMapping, MappingInvalid, compile_mapping
from atlas.mapping.models import Mapping, MappingVersion
from atlas.mapping.schemas import FieldDiff, MappingPreviewRead, MappingRead, MappingVersionRead, PreviewRecord
from atlas.platform.audit import Actor, EventType, record
from atlas.platform.crypto import SecretBox
from atlas.platform.tenancy import TenantRepository


class MappingRepo(TenantRepository[Mapping]):
    model = Mapping
    not_found_key = "errors.mapping_not_found"


class VersionRepo(TenantRepository[MappingVersion]):
    model = MappingVersion
    not_found_key = "errors.mapping_version_not_found"


def validated(resource: str, spec: dict[str, Any], *, strict: bool = False) -> CompiledMapping:
    """Compile a mapping, turning a bad one into a 422 that names the place.

    ``strict`` when a person saves or previews a version: what only stored versions may still hold (a
    balance that adds up rows without their source ids, unknown keys) is refused there. Syncs compile
    stored versions leniently, so an old version keeps meaning what it meant."""
    try:
        return compile_mapping(resource, spec, strict=strict)
    except MappingInvalid as exc:
        raise ValidationFailed(
            f"errors.mapping_{exc.code}",
            field=exc.field,
            detail=exc.detail,
            extra={"field": exc.field, "reason": exc.code},
        ) from None


def version_read(row: MappingVersion, active: int) -> MappingVersionRead:
    return MappingVersionRead(
        version=row.version,
        spec=row.spec,
        note=row.note,
        author=row.author,
        created_at=row.created_at,
        active=row.version == active,
    )


def mapping_read(mapping: Mapping, versions: list[MappingVersion] | None = None) -> MappingRead:
    return MappingRead(
        id=mapping.id,
        connector_id=mapping.connector_id,
        endpoint_key=mapping.endpoint_key,
        resource=mapping.resource,
        active_version=mapping.active_version,
        created_at=mapping.created_at,
        updated_at=mapping.updated_at,
        versions=[version_read(v, mapping.active_version) for v in versions] if versions is not None else None,
    )


async def versions_of(
    session: AsyncSession, mapping_id: uuid.UUID, tenant_id: uuid.UUID | None = None
) -> list[MappingVersion]:
    return await VersionRepo(session, tenant_id=tenant_id).list(
        MappingVersion.mapping_id == mapping_id, order_by=[MappingVersion.version.desc()]
    )


async def list_mappings(session: AsyncSession, connector_id: uuid.UUID | None = None) -> list[Mapping]:
    where = [Mapping.connector_id == connector_id] if connector_id else []
    return await MappingRepo(session).list(*where, order_by=[Mapping.created_at, Mapping.id])


async def get_mapping(session: AsyncSession, mapping_id: uuid.UUID) -> tuple[Mapping, list[MappingVersion]]:
    mapping = await MappingRepo(session).get(mapping_id)
    return mapping, await versions_of(session, mapping.id)


async def create_mapping(
    session: AsyncSession,
    *,
    connector_id: uuid.UUID,
    endpoint_key: str,
    spec: dict[str, Any],
    note: str,
    actor: Actor,
    correlation_id: str,
    tenant_id: uuid.UUID | None = None,
) -> tuple[Mapping, list[MappingVersion]]:
    connector, endpoints = await connectors.get_connector(session, connector_id, tenant_id)
    endpoint = next((e for e in endpoints if e.key == endpoint_key), None)
    if endpoint is None:
        raise ValidationFailed(
            "errors.endpoint_not_found", field="endpoint_key", extra={"field": "endpoint_key"}, endpoint=endpoint_key
        )
    repo = MappingRepo(session, tenant_id=tenant_id)
    if await repo.count(Mapping.connector_id == connector.id, Mapping.endpoint_key == endpoint_key):
        raise ValidationFailed("errors.mapping_exists", field="endpoint_key", extra={"field": "endpoint_key"})
    validated(endpoint.resource, spec, strict=True)
    mapping = await repo.add(
        Mapping(connector_id=connector.id, endpoint_key=endpoint_key, resource=endpoint.resource, active_version=1)
    )
    version = await VersionRepo(session, tenant_id=tenant_id).add(
        MappingVersion(
            mapping_id=mapping.id, version=1, spec=spec, note=note.strip(), author=actor.display or actor.ref
        )
    )
    await record(
        session,
        EventType.MAPPING_CREATED,
        actor=actor,
        correlation_id=correlation_id,
        tenant_id=repo.tenant_id,
        payload={
            "mapping_id": str(mapping.id),
            "connector_id": str(connector.id),
            "endpoint_key": endpoint_key,
            "resource": endpoint.resource,
            "version": 1,
            "note": version.note,
        },
    )
    return mapping, [version]


async def create_mappings(
    session: AsyncSession,
    *,
    connector_id: uuid.UUID,
    specs: dict[str, dict[str, Any]],
    note: str,
    actor: Actor,
    correlation_id: str,
    tenant_id: uuid.UUID | None = None,
) -> list[MappingRead]:
    """One mapping per endpoint key (a preset's, a discovery's, the demo's), each created and audited as
    `create_mapping` does."""
    created = []
    for key, spec in specs.items():
        mapping, versions = await create_mapping(
            session,
            connector_id=connector_id,
            endpoint_key=key,
            spec=spec,
            note=note,
            actor=actor,
            correlation_id=correlation_id,
            tenant_id=tenant_id,
        )
        created.append(mapping_read(mapping, versions))
    return created


async def add_version(
    session: AsyncSession,
    mapping_id: uuid.UUID,
    *,
    spec: dict[str, Any],
    note: str,
    activate: bool,
    actor: Actor,
    correlation_id: str,
) -> tuple[Mapping, list[MappingVersion]]:
    repo = MappingRepo(session)
    mapping = (await session.execute(repo.select(Mapping.id == mapping_id).with_for_update())).scalar_one_or_none()
    if mapping is None:
        raise NotFound("errors.mapping_not_found")
    validated(mapping.resource, spec, strict=True)
    versions = VersionRepo(session)
    latest = (
        await session.execute(
            select(func.max(MappingVersion.version)).where(
                MappingVersion.tenant_id == versions.tenant_id, MappingVersion.mapping_id == mapping.id
            )
        )
    ).scalar_one()
    number = int(latest or 0) + 1
    was_active = mapping.active_version  # what the change is against (after a rollback, not the latest version)
    await versions.add(
        MappingVersion(
            mapping_id=mapping.id, version=number, spec=spec, note=note.strip(), author=actor.display or actor.ref
        )
    )
    if activate:
        await repo.update_values(mapping, active_version=number, updated_at=utcnow())
    await record(
        session,
        EventType.MAPPING_VERSION_SAVED,
        actor=actor,
        correlation_id=correlation_id,
        payload={
            "mapping_id": str(mapping.id),
            "version": number,
            "activated": activate,
            "note": note.strip(),
            "changes": [
                d.field
                for d in diff_specs(mapping.resource, (await _spec(session, mapping.id, was_active)) or {}, spec)
                if d.change != "same"
            ],
        },
    )
    return mapping, await versions_of(session, mapping.id)


async def _spec(session: AsyncSession, mapping_id: uuid.UUID, version: int) -> dict[str, Any] | None:
    row = await VersionRepo(session).one_or_none(
        MappingVersion.mapping_id == mapping_id, MappingVersion.version == version
    )
    return row.spec if row else None


async def activate(
    session: AsyncSession, mapping_id: uuid.UUID, version: int, *, actor: Actor, correlation_id: str
) -> tuple[Mapping, list[MappingVersion]]:
    """Make an existing version the active one: how a rollback is done."""
    repo = MappingRepo(session)
    mapping = await repo.get(mapping_id)
    if await _spec(session, mapping.id, version) is None:
        raise NotFound("errors.mapping_version_not_found")
    previous = mapping.active_version
    await repo.update_values(mapping, active_version=version, updated_at=utcnow())
    await record(
        session,
        EventType.MAPPING_ACTIVATED,
        actor=actor,
        correlation_id=correlation_id,
        payload={"mapping_id": str(mapping.id), "version": version, "previous_version": previous},
    )
    return mapping, await versions_of(session, mapping.id)


def diff_specs(resource: str, before: dict[str, Any], after: dict[str, Any]) -> list[FieldDiff]:
    """Compare two versions field by field (plus the record path and time zone, and the skip, combine and count
    rules when either version has them)."""
    result = []
    for key in ("record_path", "timezone"):
        old, new = before.get(key), after.get(key)
        result.append(FieldDiff(field=key, change="same" if old == new else "changed", before=old, after=new))
    for key in ("skip", "combine", "count"):
        old, new = before.get(key), after.get(key)
        if old is None and new is None:
            continue
        change = "added" if old is None else "removed" if new is None else "same" if old == new else "changed"
        result.append(FieldDiff(field=key, change=change, before=old, after=new))
    old_fields, new_fields = before.get("fields") or {}, after.get("fields") or {}
    for name in [f.name for f in CANONICAL_FIELDS.get(resource, ())]:
        old, new = old_fields.get(name), new_fields.get(name)
        if old is None and new is None:
            continue
        change = "added" if old is None else "removed" if new is None else "same" if old == new else "changed"
        result.append(FieldDiff(field=name, change=change, before=old, after=new))
    return result


async def compare(session: AsyncSession, mapping_id: uuid.UUID, left: int, right: int) -> list[FieldDiff]:
    mapping = await MappingRepo(session).get(mapping_id)
    before, after = await _spec(session, mapping.id, left), await _spec(session, mapping.id, right)
    if before is None or after is None:
        raise NotFound("errors.mapping_version_not_found")
    return diff_specs(mapping.resource, before, after)


async def active_mappings(
    session: AsyncSession, connector_id: uuid.UUID, tenant_id: uuid.UUID | None = None
) -> dict[str, tuple[Mapping, MappingVersion]]:
    """The active version of every mapping of a connector, by endpoint key."""
    result: dict[str, tuple[Mapping, MappingVersion]] = {}
    for mapping in await MappingRepo(session, tenant_id=tenant_id).list(Mapping.connector_id == connector_id):
        version = await VersionRepo(session, tenant_id=tenant_id).one_or_none(
            MappingVersion.mapping_id == mapping.id, MappingVersion.version == mapping.active_version
        )
        if version is not None:
            result[mapping.endpoint_key] = (mapping, version)
    return result


def _jsonable(value: Any) -> Any:
    import msgspec

    return msgspec.to_builtins(value, str_keys=True, builtin_types=())


async def preview(
    session: AsyncSession,
    *,
    connector_id: uuid.UUID,
    endpoint_key: str,
    spec: dict[str, Any],
    limit: int,
    box: SecretBox,
    network: NetworkPolicy,
    on_blocked: BlockedHandler | None = None,
) -> MappingPreviewRead:
    """Apply a mapping to a live sample page. Nothing is saved."""
    connector, endpoints = await connectors.get_connector(session, connector_id)
    row = next((e for e in endpoints if e.key == endpoint_key), None)
    if row is None:
        raise ValidationFailed(
            "errors.endpoint_not_found", field="endpoint_key", extra={"field": "endpoint_key"}, endpoint=endpoint_key
        )
    compiled = validated(row.resource, spec, strict=True)
    config = connectors.connector_config(connector, endpoints, box)
    endpoint = with_record_path(config.endpoint(endpoint_key), compiled)
    try:
        async with ConnectorSession(config, network=network, on_blocked=on_blocked) as client:
            parents = None
            if endpoint.parent:
                parents = (await client.reader.first_page(config.endpoint(endpoint.parent))).records
            page = await client.reader.first_page(endpoint, parents=parents)
    except FetchError as exc:
        raise ValidationFailed(
            # a 401's WWW-Authenticate hint says which scheme the server expects
            "errors.preview_fetch_failed_hint" if exc.hint else "errors.preview_fetch_failed",
            reason=exc.reason,
            url=exc.url,
            http_status=exc.status or "",
            hint=exc.hint or "",
            extra={"fetch": exc.as_dict()},
        ) from None
    except NetworkRefused:
        raise
    results = [compiled.apply(source) for source in page.records[:limit]]
    # What each balance or movement points at, resolved as a sync resolves it, so a wrong reference shows at once.
    items: dict[str, dict[str, Any]] = {}
    locations: dict[str, dict[str, Any]] = {}
    if row.resource in ("stock_balances", "stock_movements", "open_orders"):
        rows = [r.values for r in results if r.values is not None]
        items = await preview_refs.resolve_items(session, connector.id, (v["item_ref"] for v in rows))
        locations = await preview_refs.resolve_locations(
            session, connector.id, (v["location_ref"] for v in rows if v.get("location_ref") is not None)
        )
    records = []
    mapped = failed = skipped = unresolved = 0
    for index, (source, result) in enumerate(zip(page.records, results, strict=False)):
        record = PreviewRecord(
            index=index,
            source=source,
            values=_jsonable(result.values) if result.values is not None else None,
            errors=[{"field": e.field, "code": e.code, "detail": e.detail} for e in result.errors],
            skipped=result.skipped,
        )
        if result.values is not None:
            mapped += 1
            if row.resource in ("stock_balances", "stock_movements", "open_orders"):
                item_ref, location_ref = result.values["item_ref"], result.values.get("location_ref")
                record.item = items.get(item_ref)
                record.location = locations.get(location_ref) if location_ref is not None else None
                record.unresolved = [
                    name
                    for name, missing in (
                        ("item_ref", record.item is None),
                        ("location_ref", location_ref is not None and record.location is None),
                    )
                    if missing
                ]
                unresolved += bool(record.unresolved)
        elif result.skipped is not None:
            skipped += 1
        else:
            failed += 1
        records.append(record)
    return MappingPreviewRead(
        resource=row.resource,
        url=page.url,
        record_count=len(page.records),
        mapped=mapped,
        failed=failed,
        records=records,
        skipped=skipped,
        unresolved=unresolved,
    )


def with_record_path(endpoint: Any, compiled: CompiledMapping) -> Any:
    """The endpoint as a sync reads it: the mapping's record path, when it has one, wins; and the mapping's records
    nested in records (``unnest``), when it has them, are taken out by the reader."""
    import dataclasses

    from atlas.connectors.engine.config import UnnestConfig

    if compiled.record_path and compiled.record_path != "$":
        endpoint = dataclasses.replace(endpoint, record_path=compiled.record_path)
    if compiled.unnest is not None:
        endpoint = dataclasses.replace(endpoint, unnest=UnnestConfig(*compiled.unnest))
    return endpoint
