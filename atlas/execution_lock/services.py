"""Execution drafts in the database: storing, reading, listing, exporting.

No network, and no table but the lock's own (``execution_drafts``): what a draft is built from arrives as a
canonical action (`atlas.execution_lock.action`), read by the layer above.

What leaves as data (the API's drafts, the CSV and JSON exports) is plain text: no bidirectional control
character (U+200E, U+200F, U+061C, U+202A–U+202E, U+2066–U+2069), which would end up invisible in spreadsheet
cells and ERP imports (issue 19). Summaries are stored plain; `plain` also cleans those stored before, which
carried isolates around their figures and codes. Pages isolate in mark-up instead (`atlas.web.ui.isolation`).
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from atlas.db import paging
from atlas.execution_lock.action import CanonicalAction
from atlas.execution_lock.drafts import DraftContent
from atlas.execution_lock.models import ExecutionDraft
from atlas.platform.tenancy import TenantRepository

KINDS = ("dry_run", "blocked")
TYPES = ("reorder", "transfer", "write_off", "investigate")


BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def plain(text: str) -> str:
    """``text`` without bidirectional control characters (a file's cell is read by programs, not laid out)."""
    return BIDI_CONTROLS.sub("", text)


class DraftRepo(TenantRepository[ExecutionDraft]):
    model = ExecutionDraft
    not_found_key = "errors.draft_not_found"


async def store_draft(
    session: AsyncSession,
    action: CanonicalAction,
    content: DraftContent,
    *,
    kind: str,
    created_by: str,
    correlation_id: str,
) -> ExecutionDraft:
    return await DraftRepo(session).add(
        ExecutionDraft(
            recommendation_id=action.recommendation_id,
            revision=action.revision,
            kind=kind,
            action_type=action.kind,
            action=content.action,
            request=content.request,
            impact=content.impact,
            summary_en=content.summary_en,
            summary_ar=content.summary_ar,
            correlation_id=correlation_id,
            created_by=created_by,
        )
    )


def draft_dict(row: ExecutionDraft) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "recommendation_id": str(row.recommendation_id),
        "revision": row.revision,
        "kind": row.kind,
        "action_type": row.action_type,
        "action": row.action,
        "request": row.request,
        "impact": row.impact,
        "summary_en": plain(row.summary_en),
        "summary_ar": plain(row.summary_ar),
        "correlation_id": row.correlation_id,
        "created_by": row.created_by,
        "created_at": row.created_at.isoformat(),
        "sendable": False,
    }


async def latest_of(
    session: AsyncSession, recommendation_id: uuid.UUID, *, kind: str, revision: int | None = None
) -> ExecutionDraft | None:
    repo = DraftRepo(session)
    where = [ExecutionDraft.recommendation_id == recommendation_id, ExecutionDraft.kind == kind]
    if revision is not None:
        where.append(ExecutionDraft.revision == revision)
    statement = repo.select(*where).order_by(ExecutionDraft.created_at.desc(), ExecutionDraft.id.desc()).limit(1)
    found: ExecutionDraft | None = (await session.execute(statement)).scalar_one_or_none()
    return found


async def get_draft(session: AsyncSession, draft_id: uuid.UUID) -> dict[str, Any]:
    return draft_dict(await DraftRepo(session).get(draft_id))


def _filters(kind: str | None, action_type: str | None, recommendation_id: uuid.UUID | None = None) -> list[Any]:
    where: list[Any] = []
    if kind:
        where.append(ExecutionDraft.kind == kind)
    if action_type:
        where.append(ExecutionDraft.action_type == action_type)
    if recommendation_id:
        where.append(ExecutionDraft.recommendation_id == recommendation_id)
    return where


async def list_drafts(
    session: AsyncSession,
    *,
    kind: str | None = None,
    action_type: str | None = None,
    recommendation_id: uuid.UUID | None = None,
    limit: int = 50,
    offset: int = 0,
    cursor: str | None = None,
    cursor_key: paging.CursorKey | None = None,
) -> dict[str, Any]:
    """Newest first, ``id`` breaking ties; ``next_cursor`` leads to the rows after this page."""
    repo = DraftRepo(session)
    where = _filters(kind, action_type, recommendation_id)
    total = await repo.count(*where)
    page = paging.Page(limit=limit, offset=offset, cursor=cursor, key=cursor_key)
    found = await paging.fetch(session, repo.select(*where), DRAFT_ORDER, page)
    return {"total": total, "items": [draft_dict(r) for r in found.first()], "next_cursor": found.next_cursor}


DRAFT_ORDER = paging.Ordering(
    "drafts", (paging.desc(ExecutionDraft.created_at, "datetime"), paging.desc(ExecutionDraft.id, "uuid"))
)


EXPORT_LIMIT = 10_000
CSV_COLUMNS = (
    "draft_id",
    "created_at",
    "kind",
    "action_type",
    "recommendation_id",
    "revision",
    "reference",
    "item_sku",
    "item_name",
    "location_code",
    "from_location_code",
    "to_location_code",
    "quantity",
    "unit_of_measure",
    "needed_by",
    "value_sar",
    "request_method",
    "request_url",
    "request_body",
    "summary_en",
    "summary_ar",
    "created_by",
    "correlation_id",
)


async def export_rows(session: AsyncSession, *, kind: str | None, action_type: str | None) -> list[dict[str, Any]]:
    repo = DraftRepo(session)
    statement = (
        repo.select(*_filters(kind, action_type))
        .order_by(ExecutionDraft.created_at.desc(), ExecutionDraft.id.desc())
        .limit(EXPORT_LIMIT)
    )
    return [draft_dict(r) for r in (await session.execute(statement)).scalars()]


def _cell(value: Any) -> str:
    """Plain text for a spreadsheet cell; text that a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True) if isinstance(value, dict | list) else str(value)
    text = plain(text)
    if text and text[0] in "=+-@\t\r" and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    """CSV with a header row, UTF-8 with a byte-order mark so spreadsheet programs read Arabic right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        action = row["action"]
        request = row["request"] or {}
        writer.writerow(
            _cell(v)
            for v in (
                row["id"],
                row["created_at"],
                row["kind"],
                row["action_type"],
                row["recommendation_id"],
                row["revision"],
                action.get("reference"),
                action.get("item_sku"),
                action.get("item_name"),
                action.get("location_code"),
                action.get("from_location_code"),
                action.get("to_location_code"),
                action.get("quantity"),
                action.get("unit_of_measure"),
                action.get("needed_by"),
                action.get("value"),
                request.get("method"),
                request.get("url"),
                request.get("body") if request else None,
                row["summary_en"],
                row["summary_ar"],
                row["created_by"],
                row["correlation_id"],
            )
        )
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")
