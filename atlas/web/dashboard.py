"""What the dashboard (``/app``) shows beyond the components' own cards (issue 19): the getting-started checklist,
ticked from the tenant's real state, and the charts a person would rather look at than read.

It sits at the top of the web layer because it assembles several components: each figure comes from the component
that owns its rows (connectors and sync runs from ``atlas.mapping.freshness``, forecasts and recommendations from
``atlas.ai_engine.dashboard_figures``, decisions from ``atlas.approvals.turnaround``, people from the platform);
the geometry is ``atlas.web.charts``'s and the words are the catalogue's, in ``_charts.html``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from atlas.ai_engine import dashboard_figures as figures
from atlas.approvals.turnaround import approval_turnaround, has_approval
from atlas.i18n.formats import DEFAULT_TIME_ZONE, local, valid_time_zone
from atlas.mapping.freshness import ConnectorFreshness
from atlas.platform import services as platform
from atlas.web.charts import BarRow, bar_chart, day_columns
from atlas.web.ui.formatting import format_money

# A connector's data is fresh for a day after its last successful sync, late for three, then stale.
FRESH_HOURS = 24.0
LATE_HOURS = 72.0
MAX_LOCATIONS = 10


@dataclass(frozen=True)
class Step:
    """One getting-started step: its name in the catalogue (``dashboard.getting_started.<key>``), where it is done,
    and whether the tenant's data shows it done."""

    key: str
    href: str
    done: bool


@dataclass(frozen=True)
class Checklist:
    steps: list[Step]

    @property
    def done(self) -> int:
        return sum(step.done for step in self.steps)

    @property
    def complete(self) -> bool:
        return self.done == len(self.steps)


async def checklist(db: AsyncSession, freshness: list[ConnectorFreshness], members: int) -> Checklist:
    """The five steps from what exists: a connector, a succeeded sync, a recommendation, an approve vote, and an
    invitation sent or a second member."""
    invited = members > 1 or await platform.InvitationRepo(db).count() > 0
    return Checklist(
        [
            Step("connect", "/app/connectors", bool(freshness)),
            Step("sync", "/app/connectors", any(c.last_succeeded_at is not None for c in freshness)),
            Step("analyse", "/app/recommendations", await figures.recommendation_count(db) > 0),
            Step("approve", "/app/approvals", await has_approval(db)),
            Step("invite", "/app/team", invited),
        ]
    )


def freshness_tone(hours: float | None) -> str:
    """How a connector's bar is coloured: fresh, late or stale (never synced: stale)."""
    if hours is None or hours > LATE_HOURS:
        return "stale"
    return "fresh" if hours <= FRESH_HOURS else "late"


def _hours_text(hours: float | None) -> str:
    return "—" if hours is None else f"{hours:,.1f}"


async def charts(
    db: AsyncSession, freshness: list[ConnectorFreshness], now: datetime, time_zone: str | None = None
) -> dict[str, Any]:
    """Every chart's geometry and the rows of its table (its text alternative), from the owning components."""
    cover = (await figures.stock_cover_by_location(db))[:MAX_LOCATIONS]
    cover_rows = [
        BarRow(c.code, c.code, {k: float(v) for k, v in c.bands.items()}, f"{sum(c.bands.values()):,}") for c in cover
    ]
    zone = time_zone if time_zone and valid_time_zone(time_zone) else DEFAULT_TIME_ZONE
    # days as the tenant's clock reads them (issue 19: times in the tenant's time zone)
    activity = await figures.recommendation_activity(db, today=local(now, zone).date(), time_zone=zone)
    columns = day_columns(activity.by_day, activity.first_day, figures.TYPE_ORDER)
    statuses = {status: count for status, count in activity.by_status.items() if count}
    status_rows = [
        BarRow(s, s, {"count": float(n)}, f"{n:,}", label_key=f"dashboard.charts.status.{s}")
        for s, n in statuses.items()
    ]
    values = await figures.pending_value_by_type(db)
    value_rows = [
        BarRow(t, t, {t: float(v)}, format_money(v) or "0.00", label_key=f"aipage.type.{t}") for t, v in values.items()
    ]
    ages = [(c, c.age_hours(now)) for c in freshness]
    fresh_rows = [
        BarRow(
            str(c.connector_id),
            c.name,
            {"age": hours or 0.0},
            _hours_text(hours),
            tone=freshness_tone(hours),
            empty=hours is None,
        )
        for c, hours in ages
    ]
    turnaround = await approval_turnaround(db, now=now)
    turn_rows = [
        BarRow(
            t,
            t,
            {"hours": hours or 0.0},
            _hours_text(hours),
            label_key=f"aipage.type.{t}",
            empty=hours is None,
        )
        for t, hours in turnaround.median_hours.items()
    ]
    return {
        "cover": {
            "chart": bar_chart(cover_rows, figures.COVER_BANDS) if cover_rows else None,
            "bands": figures.COVER_BANDS,
            "rows": [{"code": c.code, "name": c.name, "bands": c.bands, "total": sum(c.bands.values())} for c in cover],
        },
        "activity": {
            "chart": columns if activity.total else None,
            "statuses": bar_chart(status_rows, ["count"]) if status_rows else None,
            "types": figures.TYPE_ORDER,
            "days": [
                {"date": c["date"], "counts": dict(day), "total": c["total"]}
                for c, day in zip(columns.columns, activity.by_day, strict=True)
                if c["total"]
            ],
            "by_status": statuses,
            "total": activity.total,
            "first_day": activity.first_day.isoformat(),
            "last_day": now.date().isoformat(),
        },
        "value": {
            "chart": bar_chart(value_rows, figures.TYPE_ORDER) if any(values.values()) else None,
            "rows": [{"type": t, "value": v, "text": format_money(v) or "0.00"} for t, v in values.items()],
            "total_text": format_money(sum(values.values(), Decimal(0))) or "0.00",
        },
        "freshness": {
            "chart": bar_chart(fresh_rows, ["age"], floor=FRESH_HOURS) if fresh_rows else None,
            "rows": [
                {
                    "id": str(c.connector_id),
                    "name": c.name,
                    "last": c.last_succeeded_at,
                    "hours": hours,
                    "hours_text": _hours_text(hours),
                    "tone": freshness_tone(hours),
                }
                for c, hours in ages
            ],
        },
        "turnaround": {
            "chart": bar_chart(turn_rows, ["hours"]) if turnaround.overall_decided else None,
            "rows": [
                {
                    "type": t,
                    "hours": turnaround.median_hours[t],
                    "hours_text": _hours_text(turnaround.median_hours[t]),
                    "decided": turnaround.decided[t],
                }
                for t in figures.TYPE_ORDER
            ],
            "overall_text": _hours_text(turnaround.overall_median_hours),
            "decided": turnaround.overall_decided,
        },
    }
