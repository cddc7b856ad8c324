"""The quarantine grouped by cause over HTTP: the groups, re-processing one group, and the lookup fix in place."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.connectors import services as connectors
from atlas.errors import ValidationFailed
from atlas.i18n import request_lang
from atlas.mapping import quarantine
from atlas.mapping.quarantine_fix import add_lookup_entry
from atlas.mapping.quarantine_groups import Filters, Group
from atlas.platform.principal import Principal
from atlas.platform.rbac import Permission
from atlas.web import params as paging

Key = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
# An error keeps at most 60 characters of the offending value; a field name is a canonical field's (or a writer's).
Value = Annotated[str, msgspec.Meta(max_length=60)]
FieldName = Annotated[str, msgspec.Meta(max_length=60)]


class GroupRef(msgspec.Struct, forbid_unknown_fields=True):
    """One group: a connector's endpoint, the field, the error code and the offending value."""

    connector_id: uuid.UUID
    endpoint_key: Key
    field: FieldName
    code: Key
    value: Value = ""


class LookupFix(msgspec.Struct, forbid_unknown_fields=True):
    """Add ``value`` → ``canonical`` to the field's lookup table, then re-process the group."""

    connector_id: uuid.UUID
    endpoint_key: Key
    field: FieldName
    value: Value
    canonical: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class QuarantineGroupController(Controller):
    path = "/api/quarantine/groups"
    tags = ["quarantine"]

    @get("/", opt={"permission": Permission.READ})
    async def list_groups(
        self,
        db: NamedDependency[AsyncSession],
        connector_id: uuid.UUID | None = None,
        status: str = Parameter(default="open", max_length=20),
        sync_run_id: uuid.UUID | None = None,
        endpoint_key: str | None = Parameter(default=None, max_length=60),
        limit: int = paging.limit_param(maximum=200),
        offset: int = paging.offset_param(),
    ) -> dict[str, Any]:
        """Records grouped by (endpoint, field, error code, offending value), most frequent first: exact counts,
        one sample record each, and the fix (``add_lookup`` with its canonical choices, ``edit_rule`` with the
        editor's address, or ``plan``). ``status`` is open by default, or ``all``; ``records`` counts distinct
        records (one with two errors is in two groups)."""
        if status not in (*quarantine.STATUSES, "all"):
            raise ValidationFailed("errors.field_invalid", field="status", extra={"field": "status"})
        filters = Filters(
            connector_id=connector_id,
            status=None if status == "all" else status,
            sync_run_id=sync_run_id,
            endpoint_key=endpoint_key or None,
        )
        return await quarantine.groups(db, filters, limit=limit, offset=offset)

    @post("/reprocess", opt={"permission": Permission.MANAGE_CONNECTORS}, status_code=200)
    async def reprocess_group(
        self,
        db: NamedDependency[AsyncSession],
        data: GroupRef,
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> dict[str, Any]:
        """Map one group's open records again with the active mapping (after an edit of the rule): how many were
        loaded, still fail (kept open with their new reasons) or are skipped, and how many of the group remain."""
        await connectors.get_connector(db, data.connector_id)
        return await quarantine.reprocess(
            db,
            connector_id=data.connector_id,
            endpoint_key=data.endpoint_key,
            actor=principal.actor,
            correlation_id=correlation_id,
            group=Group(field=data.field, code=data.code, value=data.value),
        )

    @post("/lookup", opt={"permission": Permission.MANAGE_CONNECTORS}, status_code=200)
    async def add_lookup(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        data: LookupFix,
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> dict[str, Any]:
        """The fix in place for a value the field's lookup lacks: a new active mapping version with the entry
        added (audited as every version), then the group re-processed."""
        return await add_lookup_entry(
            db,
            connector_id=data.connector_id,
            endpoint_key=data.endpoint_key,
            field=data.field,
            value=data.value,
            canonical=data.canonical,
            actor=principal.actor,
            correlation_id=correlation_id,
            lang=request_lang(request),
        )


CONTROLLERS = [QuarantineGroupController]
