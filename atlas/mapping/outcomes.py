"""The dashboard's sync cards: per connector, how its last sync ended (honest about what it set aside), when,
what is set aside now, and how fresh its data is.

Freshness is judged from the last run that read the source to the end (``succeeded`` or ``needs_attention``; a
failed run leaves the data as it was): ``fresh`` within twice the schedule's interval (a day for a connector synced
on demand), else ``stale``; ``never`` when no run has finished reading.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.connectors.models import Connector
from atlas.db.base import utcnow
from atlas.db.engine import tenant_context
from atlas.mapping.models import QuarantinedRecord, SyncRun
from atlas.mapping.run_summary import run_summary

FINISHED = ("succeeded", "needs_attention", "failed")
READ_TO_THE_END = ("succeeded", "needs_attention")
ON_DEMAND_FRESH = timedelta(days=1)
MAX_CARDS = 12


def freshness(last_read: datetime | None, interval_minutes: int | None, now: datetime) -> str:
    """``fresh``, ``stale`` or ``never`` (see the module's docstring)."""
    if last_read is None:
        return "never"
    allowed = timedelta(minutes=2 * interval_minutes) if interval_minutes else ON_DEMAND_FRESH
    return "fresh" if now - last_read <= allowed else "stale"


async def _latest(session: AsyncSession, tenant_id: uuid.UUID, statuses: tuple[str, ...]) -> dict[uuid.UUID, SyncRun]:
    """Each connector's newest run among ``statuses`` (one statement: DISTINCT ON the connector)."""
    rows = await session.execute(
        select(SyncRun)
        .where(SyncRun.tenant_id == tenant_id, SyncRun.status.in_(statuses))
        .distinct(SyncRun.connector_id)
        .order_by(SyncRun.connector_id, SyncRun.started_at.desc())
    )
    return {run.connector_id: run for run in rows.scalars()}


async def sync_cards(session: AsyncSession, lang: str, *, now: datetime | None = None) -> dict[str, Any]:
    """One card per connector (the first ``MAX_CARDS``, oldest first), and how many connectors there are."""
    tenant_id = tenant_context(session).tenant_id
    assert tenant_id is not None
    moment = now or utcnow()
    connectors = list(
        (
            await session.execute(
                select(Connector)
                .where(Connector.tenant_id == tenant_id)
                .order_by(Connector.created_at)
                .limit(MAX_CARDS)
            )
        ).scalars()
    )
    total = (
        await session.execute(select(func.count()).select_from(Connector).where(Connector.tenant_id == tenant_id))
    ).scalar_one()
    finished = await _latest(session, tenant_id, FINISHED)
    read = await _latest(session, tenant_id, READ_TO_THE_END)
    active = await _latest(session, tenant_id, ("queued", "running"))
    open_counts: dict[uuid.UUID, int] = {
        connector_id: int(count)
        for connector_id, count in (
            await session.execute(
                select(QuarantinedRecord.connector_id, func.count())
                .where(QuarantinedRecord.tenant_id == tenant_id, QuarantinedRecord.status == "open")
                .group_by(QuarantinedRecord.connector_id)
            )
        ).all()
    }
    cards = []
    for connector in connectors:
        last = finished.get(connector.id)
        last_read = read.get(connector.id)
        read_at = last_read.finished_at if last_read else None
        cards.append(
            {
                "id": str(connector.id),
                "name": connector.name,
                "running": connector.id in active,
                "last_run": None
                if last is None
                else {
                    "id": str(last.id),
                    "connector_id": str(connector.id),
                    "status": last.status,
                    "finished_at": last.finished_at,
                    "summary": run_summary(last.stats or {}, last.attention, lang, status=last.status)
                    if last.stats
                    else None,
                },
                "open": int(open_counts.get(connector.id, 0)),
                "data_as_of": read_at,
                "freshness": freshness(read_at, connector.sync_interval_minutes, moment),
            }
        )
    return {"cards": cards, "total": int(total)}
