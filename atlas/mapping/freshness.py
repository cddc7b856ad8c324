"""How fresh each connector's data is, for the dashboard (issue 19): the last sync run that succeeded per connector.

Here, beside the sync runs it reads, because mapping owns ``sync_runs`` and may read the connectors below it; the
dashboard (``atlas.web.pages``, the top layer) turns these rows into its "sync freshness" chart and ticks the
getting-started step "data synced" from them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.connectors.models import Connector
from atlas.db.engine import tenant_context
from atlas.mapping.models import SyncRun


@dataclass(frozen=True)
class ConnectorFreshness:
    """One connector and when its last successful sync finished (None: it never synced successfully)."""

    connector_id: uuid.UUID
    name: str
    last_succeeded_at: datetime | None

    def age_hours(self, now: datetime) -> float | None:
        """Hours since the last successful sync finished, or None when there was none."""
        if self.last_succeeded_at is None:
            return None
        return max((now - self.last_succeeded_at).total_seconds() / 3600, 0.0)


async def sync_freshness(session: AsyncSession) -> list[ConnectorFreshness]:
    """Every connector of the tenant (by name) with the end of its last succeeded sync run."""
    tenant_id = tenant_context(session).tenant_id
    last = (
        select(SyncRun.connector_id, func.max(SyncRun.finished_at).label("finished_at"))
        .where(SyncRun.tenant_id == tenant_id, SyncRun.status == "succeeded")
        .group_by(SyncRun.connector_id)
        .subquery()
    )
    rows = await session.execute(
        select(Connector.id, Connector.name, last.c.finished_at)
        .outerjoin(last, last.c.connector_id == Connector.id)
        .where(Connector.tenant_id == tenant_id)
        .order_by(Connector.name, Connector.id)
    )
    return [ConnectorFreshness(row[0], row[1], row[2]) for row in rows.all()]
