"""The AI engine's figures behind the dashboard's charts (issue 19): stock cover by location, recommendations by
type and status over the last days, and the value at stake in pending recommendations.

Here, beside the forecasts and recommendations they read, so that the dashboard (``atlas.web.pages``, the top
layer) asks the component that owns the rows; the dashboard only draws them (``atlas.web.charts``).
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.ai_engine.models import Forecast, Recommendation
from atlas.db.engine import tenant_context
from atlas.mapping.models import Location

# Stock cover bands, in days of forecast demand: what a person acts on first comes first.
COVER_BANDS = ("short", "watch", "healthy", "no_demand")
SHORT_DAYS = 7.0
WATCH_DAYS = 30.0
# The order a person works through recommendations: reorders, then transfers, then investigations, then write-offs.
TYPE_ORDER = ("reorder", "transfer", "investigate", "write_off")
STATUS_ORDER = ("pending", "approved", "ready_for_execution", "blocked_by_lock", "rejected", "expired", "retired")


def cover_band(days_of_cover: object, daily_rate: object) -> str:
    """The band of one item at one location: no demand (no rate, or none forecast), short, watch or healthy."""
    if not isinstance(days_of_cover, int | float) or isinstance(days_of_cover, bool):
        return "no_demand"
    if isinstance(daily_rate, int | float) and daily_rate <= 0:
        return "no_demand"
    if days_of_cover < SHORT_DAYS:
        return "short"
    return "watch" if days_of_cover < WATCH_DAYS else "healthy"


@dataclass(frozen=True)
class LocationCover:
    """How many item series at one location fall in each cover band."""

    location_id: uuid.UUID
    code: str
    name: str
    bands: dict[str, int]


async def stock_cover_by_location(session: AsyncSession) -> list[LocationCover]:
    """Each location with a forecast, its series counted by cover band; the most short-covered first."""
    tenant_id = tenant_context(session).tenant_id
    rows = await session.execute(
        select(Forecast.location_id, Forecast.figures["days_of_cover"], Forecast.figures["daily_rate"]).where(
            Forecast.tenant_id == tenant_id
        )
    )
    counts: dict[uuid.UUID, Counter[str]] = {}
    for location_id, days, rate in rows.all():
        counts.setdefault(location_id, Counter())[cover_band(days, rate)] += 1
    if not counts:
        return []
    names = {
        loc.id: loc
        for loc in (
            await session.execute(select(Location).where(Location.tenant_id == tenant_id, Location.id.in_(counts)))
        ).scalars()
    }
    found = [
        LocationCover(
            location_id,
            names[location_id].code if location_id in names else "—",
            names[location_id].name if location_id in names else "",
            {band: counter.get(band, 0) for band in COVER_BANDS},
        )
        for location_id, counter in counts.items()
    ]
    return sorted(found, key=lambda c: (-c.bands["short"], -c.bands["watch"], c.code, str(c.location_id)))


@dataclass(frozen=True)
class RecommendationActivity:
    """Recommendations created on each of the last ``days`` days (UTC), by type, and the statuses they are in now."""

    first_day: date
    days: int
    by_day: list[dict[str, int]] = field(default_factory=list)
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


async def recommendation_activity(
    session: AsyncSession, *, today: date, days: int = 30, time_zone: str = "UTC"
) -> RecommendationActivity:
    """The last ``days`` days up to ``today``, days as the tenant's clock reads them (``time_zone``, the dates of
    ``created_at`` there): counts per day and type, and per status."""
    tenant_id = tenant_context(session).tenant_id
    zone = ZoneInfo(time_zone)
    first = today - timedelta(days=days - 1)
    since = datetime(first.year, first.month, first.day, tzinfo=zone).astimezone(UTC)
    day = func.date(func.timezone(time_zone, Recommendation.created_at))
    rows = await session.execute(
        select(day, Recommendation.type, Recommendation.status, func.count())
        .where(Recommendation.tenant_id == tenant_id, Recommendation.created_at >= since)
        .group_by(day, Recommendation.type, Recommendation.status)
    )
    by_day = [dict.fromkeys(TYPE_ORDER, 0) for _ in range(days)]
    by_status = dict.fromkeys(STATUS_ORDER, 0)
    for created_on, rec_type, status, count in rows.all():
        index = (created_on - first).days
        if 0 <= index < days and rec_type in TYPE_ORDER:
            by_day[index][rec_type] += int(count)
        by_status[status] = by_status.get(status, 0) + int(count)
    return RecommendationActivity(first, days, by_day, by_status)


async def pending_value_by_type(session: AsyncSession) -> dict[str, Decimal]:
    """The value (SAR) at stake in pending recommendations, by type, in the reading order of ``TYPE_ORDER``."""
    tenant_id = tenant_context(session).tenant_id
    rows = await session.execute(
        select(Recommendation.type, func.coalesce(func.sum(Recommendation.value), 0))
        .where(Recommendation.tenant_id == tenant_id, Recommendation.status == "pending")
        .group_by(Recommendation.type)
    )
    found = {rec_type: Decimal(total or 0) for rec_type, total in rows.all()}
    return {rec_type: found.get(rec_type, Decimal(0)) for rec_type in TYPE_ORDER}


async def recommendation_count(session: AsyncSession) -> int:
    """How many recommendations the analysis has ever produced for the tenant (the checklist's third step)."""
    tenant_id = tenant_context(session).tenant_id
    found = await session.scalar(
        select(func.count()).select_from(Recommendation).where(Recommendation.tenant_id == tenant_id)
    )
    return int(found or 0)
