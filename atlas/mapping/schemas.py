"""API shapes of mappings, previews, discovery, syncs, quarantine and the inventory browser."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec

from atlas.bounds import PositiveInt32Field

Note = Annotated[str, msgspec.Meta(max_length=500)]


class MappingCreate(msgspec.Struct, forbid_unknown_fields=True):
    connector_id: uuid.UUID
    endpoint_key: Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
    spec: dict[str, Any]
    note: Note = ""


class MappingVersionCreate(msgspec.Struct, forbid_unknown_fields=True):
    spec: dict[str, Any]
    note: Note = ""
    activate: bool = True


class MappingPreviewRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A draft ``spec``, or a saved ``mapping_id`` (and optional ``version``), applied to a live sample page."""

    connector_id: uuid.UUID | None = None
    endpoint_key: Annotated[str, msgspec.Meta(max_length=60)] | None = None
    spec: dict[str, Any] | None = None
    mapping_id: uuid.UUID | None = None
    version: PositiveInt32Field | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=200)] = 25


class MappingVersionRead(msgspec.Struct):
    version: int
    spec: dict[str, Any]
    note: str
    author: str
    created_at: datetime
    active: bool


class MappingRead(msgspec.Struct):
    id: uuid.UUID
    connector_id: uuid.UUID
    endpoint_key: str
    resource: str
    active_version: int
    created_at: datetime
    updated_at: datetime
    versions: list[MappingVersionRead] | None = None


class FieldDiff(msgspec.Struct):
    field: str
    change: str  # added, removed, changed, same
    before: Any
    after: Any


class PreviewRecord(msgspec.Struct):
    """One sample record and what a sync would make of it: its canonical ``values`` (mapped), its ``errors`` (set
    aside), or ``skipped`` (the index of the skip rule that matched). For balances and movements, the ``item`` and
    ``location`` its references resolve to (``{"id", "sku", "name"}`` / ``{"id", "code", "name"}``, as the sync
    resolves them: by the source's id, else SKU or code), null when nothing matches; ``unresolved`` names the
    references that match nothing (``item_ref``, ``location_ref``). A record with no location has location null
    and is not unresolved: a sync puts it in the connector's "no location" bucket."""

    index: int
    source: Any
    values: dict[str, Any] | None
    errors: list[dict[str, str]]
    skipped: int | None = None
    item: dict[str, Any] | None = None
    location: dict[str, Any] | None = None
    unresolved: list[str] = msgspec.field(default_factory=list)


class MappingPreviewRead(msgspec.Struct):
    """``mapped`` + ``failed`` + ``skipped`` records of the sample; ``unresolved``: mapped records whose item or
    location resolves to nothing (a sync would set them aside)."""

    resource: str
    url: str
    record_count: int
    mapped: int
    failed: int
    records: list[PreviewRecord]
    skipped: int = 0
    unresolved: int = 0


class SyncRunRead(msgspec.Struct):
    id: uuid.UUID
    connector_id: uuid.UUID
    status: str
    trigger: str
    requested_by: str
    started_at: datetime
    finished_at: datetime | None
    mapping_versions: dict[str, Any]
    stats: dict[str, Any]
    progress: dict[str, Any]
    error: dict[str, Any] | None
    # Why a finished run needs attention (status needs_attention): too much set aside, a refused reconciliation.
    attention: list[dict[str, Any]] | None = None
    # The run in one line: records written, set aside (with reasons), skipped; and its sentence in the request's
    # language ("1,204 written, 3 set aside (unknown_item: 3)").
    summary: dict[str, Any] | None = None


class QuarantineRead(msgspec.Struct):
    id: uuid.UUID
    connector_id: uuid.UUID
    sync_run_id: uuid.UUID | None
    endpoint_key: str
    resource: str
    mapping_version: int | None
    raw: Any
    errors: list[dict[str, Any]]
    status: str
    created_at: datetime
    resolved_at: datetime | None
