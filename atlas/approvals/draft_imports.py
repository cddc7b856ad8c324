"""Approved drafts, exported in the import form of the connector's own system (issue 15).

A connector laid down from a preset remembers it (``connectors.preset``); its system's import formats are in
``atlas/presets/imports/<preset id>.toml``. The drafts page offers one download per format, and each download is
audited with the SHA-256 of every draft it holds and of the file itself, so what a person imported can always be
matched to what Atlas approved. Atlas still sends nothing: the file is for a person.

Drafts link to a connector through their recommendation's item (items belong to a connector). For each
recommendation only its latest approved draft (``blocked``: the lock stopped it) is exported, oldest first, so
the same approval never becomes two lines.

It was ``atlas/presets/draft_imports.py``. What it exports is the approvals' outcome: approved drafts, found through
their recommendation (the AI engine's table) and its item; the presets (layer 5) supply only each system's import
formats (``atlas.presets.imports``) and names (``atlas.presets.loader``). Reading recommendations from the presets
was an arrow up to the AI engine (layer 6), so it sits here, in the approvals (layer 8), beside the other drafts
routes (``atlas.approvals.draft_controllers``), and imports the presets, the AI engine's table and the lock's drafts
downwards. Routes, audit events and files are unchanged.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import Parameter
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.ai_engine.models import Recommendation
from atlas.connectors.models import Connector
from atlas.connectors.services import ConnectorRepo
from atlas.db.base import utcnow
from atlas.errors import ValidationFailed
from atlas.execution_lock.models import ExecutionDraft
from atlas.execution_lock.services import draft_dict
from atlas.i18n import request_lang, translate
from atlas.mapping.models import Item
from atlas.platform.audit import Actor, EventType, canonical_json, record
from atlas.platform.principal import Principal
from atlas.platform.rbac import Permission
from atlas.presets.imports import ImportFormat, Rendered, load_imports, render
from atlas.presets.loader import load_presets

APPROVED = "blocked"  # an approved action the lock stopped; dry runs are not approvals
EXPORT_LIMIT = 2000  # drafts in one file (oldest first); ``since`` continues from there


def sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def draft_sha256(draft: dict[str, Any]) -> str:
    """The fingerprint of a draft's whole stored content (``draft_dict``), in the audit trail's canonical JSON."""
    return sha256(canonical_json(draft))


def system_name(preset_id: str) -> str:
    preset = load_presets().get(preset_id)
    return preset.name if preset is not None else preset_id


def preset_id_of(connector: Connector) -> str | None:
    preset = connector.preset or {}
    value = preset.get("id")
    return value if isinstance(value, str) and value else None


def _latest_approved(connector_id: uuid.UUID, tenant_id: uuid.UUID | None) -> Any:
    """Each recommendation's latest approved draft among the connector's items (a subquery of draft ids)."""
    return (
        select(ExecutionDraft.id, ExecutionDraft.action_type, ExecutionDraft.created_at)
        .join(
            Recommendation,
            (Recommendation.tenant_id == ExecutionDraft.tenant_id)
            & (Recommendation.id == ExecutionDraft.recommendation_id),
        )
        .join(Item, (Item.tenant_id == Recommendation.tenant_id) & (Item.id == Recommendation.item_id))
        .where(
            ExecutionDraft.tenant_id == tenant_id,
            ExecutionDraft.kind == APPROVED,
            Item.connector_id == connector_id,
        )
        .distinct(ExecutionDraft.recommendation_id)
        .order_by(ExecutionDraft.recommendation_id, ExecutionDraft.created_at.desc(), ExecutionDraft.id.desc())
        .subquery()
    )


async def approved_drafts(
    session: AsyncSession, connector: Connector, action: str, *, since: datetime | None = None
) -> tuple[list[dict[str, Any]], int]:
    """The connector's approved drafts of one action, oldest first (at most `EXPORT_LIMIT`), and how many
    there are in all."""
    latest = _latest_approved(connector.id, connector.tenant_id)
    where = [latest.c.action_type == action]
    if since is not None:
        where.append(latest.c.created_at >= since)
    total = (await session.execute(select(func.count()).select_from(latest).where(*where))).scalar_one()
    statement = (
        select(ExecutionDraft)
        .join(latest, latest.c.id == ExecutionDraft.id)
        .where(ExecutionDraft.tenant_id == connector.tenant_id, *where)
        .order_by(ExecutionDraft.created_at, ExecutionDraft.id)
        .limit(EXPORT_LIMIT)
    )
    rows = (await session.execute(statement)).scalars()
    return [draft_dict(r) for r in rows], int(total)


async def approved_counts(session: AsyncSession, connector: Connector) -> dict[str, int]:
    """How many approved drafts (one per recommendation) the connector has, per action type."""
    latest = _latest_approved(connector.id, connector.tenant_id)
    rows = await session.execute(select(latest.c.action_type, func.count()).group_by(latest.c.action_type))
    return {str(action): int(count) for action, count in rows}


def _format_of(connector: Connector, import_id: str) -> ImportFormat:
    preset_id = preset_id_of(connector)
    formats = load_imports().get(preset_id or "", ())
    if preset_id is None or not formats:
        raise ValidationFailed("errors.draft_import_no_preset", extra={"field": "connector_id"})
    found = next((f for f in formats if f.id == import_id), None)
    if found is None:
        raise ValidationFailed(
            "errors.draft_import_unknown",
            extra={"field": "import_id"},
            import_id=import_id,
            system=system_name(preset_id),
            allowed=", ".join(f.id for f in formats),
        )
    return found


async def export(
    session: AsyncSession,
    *,
    connector_id: uuid.UUID,
    import_id: str,
    since: datetime | None,
    lang: str,
    actor: Actor,
    correlation_id: str,
) -> tuple[Rendered, int]:
    """Render the connector's approved drafts in one of its system's import formats and audit the export:
    every draft's id and SHA-256, and the file's. Returns the file and how many drafts were left out."""
    connector = await ConnectorRepo(session).get(connector_id)
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)  # a time without a zone is UTC, as everywhere in Atlas
    fmt = _format_of(connector, import_id)
    drafts, total = await approved_drafts(session, connector, fmt.action, since=since)
    exported_at = utcnow()
    rendered = render(fmt, drafts, exported_at=exported_at, lang=lang)
    by_id = {d["id"]: d for d in drafts}
    await record(
        session,
        EventType.DRAFT_IMPORT_EXPORTED,
        actor=actor,
        correlation_id=correlation_id,
        payload={
            "connector_id": str(connector.id),
            "preset": dict(connector.preset or {}),
            "import_id": fmt.id,
            "action": fmt.action,
            "format": fmt.format,
            "filename": rendered.filename,
            "file_sha256": sha256(rendered.content),
            "file_bytes": len(rendered.content),
            "documents": rendered.documents,
            "since": since.isoformat() if since else None,
            "drafts": [{"id": i, "sha256": draft_sha256(by_id[i])} for i in rendered.draft_ids],
            "left_out": total - len(drafts),
            "sendable": False,
        },
    )
    return rendered, total - len(drafts)


async def formats_by_connector(session: AsyncSession, lang: str) -> list[dict[str, Any]]:
    """Every connector laid down from a preset whose system has import formats, with its formats (labels in
    ``lang``) and how many approved drafts each would hold."""
    imports = load_imports()
    repo = ConnectorRepo(session)
    connectors = (
        await session.execute(repo.select(Connector.preset.is_not(None)).order_by(Connector.name, Connector.id))
    ).scalars()
    result: list[dict[str, Any]] = []
    for connector in connectors:
        preset_id = preset_id_of(connector)
        formats = imports.get(preset_id or "", ())
        if preset_id is None or not formats:
            continue
        counts = await approved_counts(session, connector)
        result.append(
            {
                "connector_id": str(connector.id),
                "connector_name": connector.name,
                "preset": dict(connector.preset or {}),
                "system": system_name(preset_id),
                "imports": [
                    {
                        "id": f.id,
                        "action": f.action,
                        "format": f.format,
                        "label_key": f.label,
                        "label": translate(f.label, lang),
                        "help_key": f.help,
                        "help": translate(f.help, lang) if f.help else None,
                        "docs_url": f.docs_url,
                        "drafts": counts.get(f.action, 0),
                        "href": f"/api/drafts/imports?connector_id={connector.id}&import_id={f.id}",
                    }
                    for f in formats
                ],
            }
        )
    return result


class DraftImportController(Controller):
    """Approved drafts in the connector's system's own import form. Reading drafts is enough (as for the plain
    CSV and JSON exports); each export is audited."""

    path = "/api/drafts/imports"
    tags = ["execution lock"]

    @get("/", opt={"permission": Permission.READ})
    async def export_file(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
        connector_id: uuid.UUID | None = None,
        import_id: str | None = Parameter(default=None, max_length=63),
        since: datetime | None = None,
    ) -> Response[bytes]:
        """The connector's approved drafts (one per recommendation, oldest first) as the file its system's import
        takes. ``X-Atlas-Drafts-Left-Out`` says how many more there are past the limit (continue with ``since``)."""
        # Named in the problem, so a person editing the link sees which one is missing.
        if connector_id is None:
            raise ValidationFailed("errors.draft_import_missing", extra={"field": "connector_id"}, name="connector_id")
        if not import_id:
            raise ValidationFailed("errors.draft_import_missing", extra={"field": "import_id"}, name="import_id")
        rendered, left_out = await export(
            db,
            connector_id=connector_id,
            import_id=import_id,
            since=since,
            lang=request_lang(request),
            actor=principal.actor,
            correlation_id=correlation_id,
        )
        return Response(
            content=rendered.content,
            media_type=rendered.media_type,
            headers={
                "Content-Disposition": f'attachment; filename="{rendered.filename}"',
                "X-Atlas-Drafts": str(len(rendered.draft_ids)),
                "X-Atlas-Drafts-Left-Out": str(left_out),
                "X-Atlas-File-SHA256": sha256(rendered.content),
            },
        )

    @get("/formats", opt={"permission": Permission.READ})
    async def formats(self, request: Request[Any, Any, Any], db: NamedDependency[AsyncSession]) -> dict[str, Any]:
        """Per connector laid down from a preset: its system's import formats and the approved drafts each holds.
        A connector set up by hand has none (its system is not known)."""
        return {"connectors": await formats_by_connector(db, request_lang(request))}
