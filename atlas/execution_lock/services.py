"""Execution drafts in the database: the facts a draft is built from, storing, reading, listing, exporting.

No network: everything here reads Atlas's own tables (the canonical model and the connector's
configuration, never its credentials).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.ai_engine.models import Anomaly, Recommendation
from atlas.connectors.models import Connector
from atlas.db import paging
from atlas.db.base import utcnow
from atlas.execution_lock.drafts import (
    AnomalyFacts,
    ConnectorFacts,
    DraftContent,
    ItemFacts,
    LocationFacts,
    RecommendationFacts,
    build_draft,
)
from atlas.execution_lock.models import ExecutionDraft
from atlas.mapping.models import Item, Location, StockBalance
from atlas.platform.tenancy import TenantRepository

KINDS = ("dry_run", "blocked")
TYPES = ("reorder", "transfer", "write_off", "investigate")


class DraftRepo(TenantRepository[ExecutionDraft]):
    model = ExecutionDraft
    not_found_key = "errors.draft_not_found"


class _ItemRepo(TenantRepository[Item]):
    model = Item


class _LocationRepo(TenantRepository[Location]):
    model = Location


class _AnomalyRepo(TenantRepository[Anomaly]):
    model = Anomaly


def _available(tenant_id: uuid.UUID | None, item_id: uuid.UUID, location_id: uuid.UUID) -> Any:
    return (
        select(func.sum(StockBalance.available_qty))
        .where(
            StockBalance.tenant_id == tenant_id,
            StockBalance.item_id == item_id,
            StockBalance.location_id == location_id,
        )
        .scalar_subquery()
    )


async def _location_facts(session: AsyncSession, location_id: uuid.UUID, item_id: uuid.UUID) -> LocationFacts:
    tenant_id = _LocationRepo(session).tenant_id
    available = _available(tenant_id, item_id, location_id)
    row = (
        await session.execute(
            select(Location, available).where(Location.tenant_id == tenant_id, Location.id == location_id)
        )
    ).first()
    if row is None:
        return LocationFacts(location_id, "?", "?", "", (await session.execute(select(available))).scalar_one())
    location, quantity = row
    return LocationFacts(location.id, location.code, location.name, location.external_id, quantity)


async def draft_content(session: AsyncSession, recommendation: Recommendation) -> DraftContent:
    """Build the draft of a recommendation's action from the tenant's own data (no network)."""
    tenant_id = _ItemRepo(session).tenant_id
    found = (
        await session.execute(
            select(Item, Connector)
            .outerjoin(Connector, (Connector.tenant_id == Item.tenant_id) & (Connector.id == Item.connector_id))
            .where(Item.tenant_id == tenant_id, Item.id == recommendation.item_id)
        )
    ).first()
    item, connector = (found[0], found[1]) if found is not None else (None, None)
    if item is None:
        item_facts = ItemFacts(recommendation.item_id, "?", "?", "", None, None, None)
    else:
        item_facts = ItemFacts(
            item.id, item.sku, item.name, item.external_id, item.unit_of_measure, item.unit_cost, item.lead_time_days
        )
    location = await _location_facts(session, recommendation.location_id, recommendation.item_id)
    from_location = (
        await _location_facts(session, recommendation.from_location_id, recommendation.item_id)
        if recommendation.from_location_id
        else None
    )
    anomaly_facts = None
    if recommendation.anomaly_id:
        anomaly = await _AnomalyRepo(session).get_or_none(recommendation.anomaly_id)
        if anomaly is not None:
            anomaly_facts = AnomalyFacts(
                anomaly.type, anomaly.severity, anomaly.observed, anomaly.expected, anomaly.occurred_on
            )
    connector_facts = None
    if connector is not None:
        connector_facts = ConnectorFacts(
            id=connector.id,
            name=connector.name,
            base_url=connector.base_url,
            environment=connector.environment,
            auth_kind=connector.auth_kind,
            auth_settings=dict(connector.auth_settings or {}),
            action_templates=dict(connector.action_templates or {}),
        )
    return build_draft(
        RecommendationFacts(
            id=recommendation.id,
            type=recommendation.type,
            priority=recommendation.priority,
            quantity=recommendation.quantity,
            value=recommendation.value,
            revision=recommendation.update_count,
        ),
        item=item_facts,
        location=location,
        from_location=from_location,
        anomaly=anomaly_facts,
        connector=connector_facts,
        today=utcnow().date(),
    )


async def store_draft(
    session: AsyncSession,
    recommendation: Recommendation,
    content: DraftContent,
    *,
    kind: str,
    created_by: str,
    correlation_id: str,
) -> ExecutionDraft:
    return await DraftRepo(session).add(
        ExecutionDraft(
            recommendation_id=recommendation.id,
            revision=recommendation.update_count,
            kind=kind,
            action_type=recommendation.type,
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
        "summary_en": row.summary_en,
        "summary_ar": row.summary_ar,
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
    """Text for a spreadsheet cell; text that a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True) if isinstance(value, dict | list) else str(value)
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
