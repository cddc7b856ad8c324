"""The fix in place for a value a lookup table lacks: add it, then re-process the records it kept out.

A sync set 573 movements aside because the kind lookup has no entry for "ADJUSTMENT". The person chooses what
"ADJUSTMENT" means (a canonical value); Atlas saves a new version of the mapping with that one entry added (an
ordinary, audited version: the editor and the version history show it, and it can be rolled back) and maps the
group's records again. Nothing is saved unless the new version resolves the group's sample record: a value cut to
the 60 characters an error keeps, or a lookup whose miss comes from elsewhere, is refused with a clear error
rather than saved as a change that fixes nothing.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from atlas.connectors import services as connectors
from atlas.errors import Conflict, ValidationFailed
from atlas.i18n import translate
from atlas.mapping import services as mappings
from atlas.mapping.engine import CompiledMapping, FieldError
from atlas.mapping.models import Mapping, QuarantinedRecord
from atlas.mapping.quarantine import lookup_choices, lookups_of, reprocess
from atlas.mapping.quarantine_groups import Group, in_group
from atlas.mapping.sync import QuarantineRepo
from atlas.platform.audit import Actor

LOOKUP_MISS = "not_in_lookup"
MAX_CANONICAL = 200


def _still_misses(compiled: CompiledMapping, raw: Any, group: Group) -> bool:
    result = compiled.map_record(raw)
    return isinstance(result, list) and any(
        isinstance(e, FieldError) and e.field == group.field and e.code == group.code and e.detail == group.value
        for e in result
    )


def _has_key(lookup: dict[str, Any], value: str) -> bool:
    """Whether the lookup already answers ``value`` (then it is not the one that missed: never overwrite an entry)."""
    table = lookup.get("table") or {}
    if lookup.get("ignore_case", True):
        return value.strip().lower() in {str(k).strip().lower() for k in table}
    return value in {str(k) for k in table}


def _with_entry(spec: dict[str, Any], field: str, position: int, value: str, canonical: str) -> dict[str, Any]:
    """A copy of ``spec`` whose field's ``position``-th lookup maps ``value`` to ``canonical``."""
    changed = copy.deepcopy(spec)
    lookup = lookups_of(changed, field)[position]
    lookup["table"] = {**(lookup.get("table") or {}), value: canonical}
    return changed


def _check_canonical(resource: str, field: str, canonical: str) -> None:
    choices = lookup_choices(resource, field)
    if not canonical.strip() or len(canonical) > MAX_CANONICAL or (choices is not None and canonical not in choices):
        raise ValidationFailed(
            "errors.quarantine_fix_canonical_invalid",
            field="canonical",
            extra={"field": "canonical", "choices": choices},
            value=canonical[:60],
        )


async def add_lookup_entry(
    session: AsyncSession,
    *,
    connector_id: uuid.UUID,
    endpoint_key: str,
    field: str,
    value: str,
    canonical: str,
    actor: Actor,
    correlation_id: str,
    lang: str,
) -> dict[str, Any]:
    """Add ``value`` → ``canonical`` to the lookup of ``field`` in the endpoint's active mapping (a new, active,
    audited version), then re-process the open records of the group (endpoint, field, lookup miss, value).
    Answers the new version, how many records were loaded, still fail (kept open with their new reasons) or are
    now skipped, and how many of the group remain open."""
    await connectors.get_connector(session, connector_id)  # another tenant's connector: 404
    group = Group(field=field, code=LOOKUP_MISS, value=value)
    # The mapping is locked first, so two fixes at once each add their entry to the other's version, never lose it.
    repo = mappings.MappingRepo(session)
    mapping = (
        await session.execute(
            repo.select(Mapping.connector_id == connector_id, Mapping.endpoint_key == endpoint_key).with_for_update()
        )
    ).scalar_one_or_none()
    if mapping is None:
        raise ValidationFailed(
            "errors.quarantine_fix_no_mapping", field="endpoint_key", extra={"field": "endpoint_key"}
        )
    _check_canonical(mapping.resource, field, canonical)
    sample = (
        await session.execute(
            QuarantineRepo(session)
            .select(
                QuarantinedRecord.connector_id == connector_id,
                QuarantinedRecord.endpoint_key == endpoint_key,
                QuarantinedRecord.status == "open",
                in_group(group),  # type: ignore[arg-type]
            )
            .order_by(QuarantinedRecord.created_at, QuarantinedRecord.id)
            .limit(1)
        )
    ).scalar_one_or_none()
    if sample is None:
        raise Conflict("errors.quarantine_group_empty", extra={"field": "value"})
    versions = await mappings.versions_of(session, mapping.id)
    active = next((v for v in versions if v.version == mapping.active_version), None)
    spec = active.spec if active else {}
    candidates = lookups_of(spec, field)
    if not candidates:
        raise ValidationFailed("errors.quarantine_fix_no_lookup", field="field", extra={"field": "field"}, name=field)
    chosen: dict[str, Any] | None = None
    for position, lookup in enumerate(candidates):  # the lookup whose new entry resolves the sample record
        if _has_key(lookup, value):
            continue
        changed = _with_entry(spec, field, position, value, canonical)
        if not _still_misses(mappings.validated(mapping.resource, changed, strict=True), sample.raw, group):
            chosen = changed
            break
    if chosen is None:
        raise ValidationFailed("errors.quarantine_fix_not_resolved", field="value", extra={"field": "value"})
    note = translate("outcomes.fix.note", lang, field=field, value=value, canonical=canonical)
    _, saved = await mappings.add_version(
        session, mapping.id, spec=chosen, note=note[:500], activate=True, actor=actor, correlation_id=correlation_id
    )
    result = await reprocess(
        session,
        connector_id=connector_id,
        endpoint_key=endpoint_key,
        actor=actor,
        correlation_id=correlation_id,
        group=group,
    )
    return {"mapping_id": str(mapping.id), "version": max(v.version for v in saved), **result}
