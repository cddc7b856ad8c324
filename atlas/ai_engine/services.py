"""Running the AI engine for a tenant: load the canonical data, analyse, and store what it found.

A new run updates the open recommendation for the same item, location and type rather than
piling up duplicates, retires the ones whose reason is gone, and writes ``decision_generated``
for each new recommendation in the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.ai_engine import changes
from atlas.ai_engine.analysis import AnalysisOutput, AnalysisSettings, Movements, SeriesInputs, analyse_matrix
from atlas.ai_engine.anomalies import Anomaly as Found
from atlas.ai_engine.anomalies import same_episode
from atlas.ai_engine.forecast import METHODS
from atlas.ai_engine.lead_times import learn as learn_lead_times
from atlas.ai_engine.models import AnalysisRun, Anomaly, Forecast, Recommendation
from atlas.ai_engine.position import DEFAULT_LEAD_DAYS, apply_lead_times, lead_time_observations, load_position
from atlas.ai_engine.position import apply as apply_position
from atlas.config import get_settings
from atlas.db import paging
from atlas.db.base import utcnow
from atlas.db.engine import tenant_context
from atlas.errors import NotFound
from atlas.mapping.models import Item, Location, StockBalance, SyncRun
from atlas.mapping.run_summary import summary_numbers
from atlas.platform.audit import Actor, EventType, record
from atlas.platform.tenancy import TenantRepository

HISTORY_DAYS = 180
LOCAL_ZONE = ZoneInfo("Asia/Riyadh")
ACTOR = Actor("ai_engine", "Atlas AI engine")


class RecommendationRepo(TenantRepository[Recommendation]):
    model = Recommendation
    not_found_key = "errors.recommendation_not_found"


class AnomalyRepo(TenantRepository[Anomaly]):
    model = Anomaly


class ForecastRepo(TenantRepository[Forecast]):
    model = Forecast


class AnalysisRunRepo(TenantRepository[AnalysisRun]):
    model = AnalysisRun


async def _raw(session: AsyncSession) -> Any:
    connection = await session.connection()
    return (await connection.get_raw_connection()).driver_connection


# --- loading ----------------------------------------------------------------------------------


class Loaded:
    def __init__(
        self,
        y: np.ndarray[Any, Any],
        start: date,
        inputs: SeriesInputs,
        movements: Movements,
        keys: list[tuple[uuid.UUID, uuid.UUID]],
        committed: frozenset[str] = frozenset(),
    ) -> None:
        self.y, self.start, self.inputs, self.movements, self.keys = y, start, inputs, movements, keys
        # Keys of approved reorders and transfers still in their window (`atlas.ai_engine.position`).
        self.committed = committed


_PLACED = "location_id NOT IN (SELECT id FROM locations WHERE tenant_id = $1 AND type = 'unassigned')"


async def load(
    session: AsyncSession, *, today: date | None = None, history_days: int = HISTORY_DAYS, quiet_days: int = 90
) -> Loaded | None:
    """Daily demand per item × location (sales and issues; days without movement count as zero), the
    balances, lead times and costs, and recent movements. None when the tenant has no data yet.

    For the dead-stock rules (`dead_stock`): each series' first movement of any kind, and whether a year before
    today it was quiet for ``quiet_days`` and then sold within ``quiet_days`` (its quiet is its season)."""
    tenant_id = tenant_context(session).tenant_id
    raw = await _raw(session)
    today = today or datetime.now(LOCAL_ZONE).date()
    start = today - timedelta(days=history_days)
    start_at = datetime.combine(start, datetime.min.time(), LOCAL_ZONE)
    end_at = datetime.combine(today, datetime.min.time(), LOCAL_ZONE)
    # Stock with no location (in transit, not yet put away: a connector's "no location" bucket) is not a place to
    # forecast, reorder for, transfer from or write off: it stays out of the analysis.
    demand = await raw.fetch(
        f"""SELECT item_id, location_id, (occurred_at AT TIME ZONE 'Asia/Riyadh')::date AS day,
                  sum(-quantity) AS demand
           FROM stock_movements WHERE tenant_id = $1 AND occurred_at >= $2 AND occurred_at < $3
             AND kind IN ('sale', 'issue') AND {_PLACED}
           GROUP BY 1, 2, 3""",
        tenant_id,
        start_at,
        end_at,
    )
    balances = await raw.fetch(
        "SELECT item_id, location_id, quantity, available_qty, as_of FROM stock_balances "
        f"WHERE tenant_id = $1 AND {_PLACED}",
        tenant_id,
    )
    if not demand and not balances:
        return None
    series: dict[tuple[uuid.UUID, uuid.UUID], int] = {}
    for row in [*balances, *demand]:
        series.setdefault((row["item_id"], row["location_id"]), len(series))
    keys = list(series)
    days = history_days
    y = np.zeros((len(keys), days))
    if demand:
        frame = pl.DataFrame(
            {
                "row": [series[(r["item_id"], r["location_id"])] for r in demand],
                "col": [(r["day"] - start).days for r in demand],
                "demand": [float(r["demand"]) for r in demand],
            }
        ).filter((pl.col("col") >= 0) & (pl.col("col") < days))
        y[frame["row"].to_numpy(), frame["col"].to_numpy()] = np.maximum(frame["demand"].to_numpy(), 0.0)
    available = np.full(len(keys), np.nan)
    on_hand = np.zeros(len(keys))
    age = np.full(len(keys), np.nan)
    now = datetime.now(UTC)
    for row in balances:
        index = series[(row["item_id"], row["location_id"])]
        available[index] = float(row["available_qty"])
        on_hand[index] = float(row["quantity"])
        if row["as_of"] is not None:
            age[index] = max(0.0, (now - row["as_of"]).total_seconds() / 86400)
    items = {
        r["id"]: r
        for r in await raw.fetch(
            "SELECT id, sku, name, unit_cost, lead_time_days, connector_id FROM items WHERE tenant_id = $1",
            tenant_id,
        )
    }
    locations = {r["id"]: r for r in await raw.fetch("SELECT id, code FROM locations WHERE tenant_id = $1", tenant_id)}
    item_index: dict[uuid.UUID, int] = {}
    location_index: dict[uuid.UUID, int] = {}
    lead = np.full(len(keys), np.nan)
    cost = np.full(len(keys), np.nan)
    labels = []
    for index, (item_id, location_id) in enumerate(keys):
        item = items.get(item_id)
        if item is not None:
            lead[index] = float(item["lead_time_days"]) if item["lead_time_days"] is not None else np.nan
            cost[index] = float(item["unit_cost"]) if item["unit_cost"] is not None else np.nan
        item_index.setdefault(item_id, len(item_index))
        location_index.setdefault(location_id, len(location_index))
        labels.append(
            (item["sku"] if item else "?", locations[location_id]["code"] if location_id in locations else "?")
        )
    nonzero = y > 0
    last_demand = np.where(nonzero.any(axis=1), days - 1 - np.argmax(nonzero[:, ::-1], axis=1), -1)
    first_movement, quiet_last_year = await _dead_stock_history(raw, tenant_id, series, start, end_at, quiet_days)
    sources: dict[Any, int] = {}
    source_index = {
        item_id: sources.setdefault(items[item_id]["connector_id"] if item_id in items else None, len(sources))
        for item_id, _ in keys
    }
    inputs = SeriesInputs(
        available=available,
        on_hand=on_hand,
        lead_time_days=lead,
        unit_cost=cost,
        item=np.array([item_index[k[0]] for k in keys], dtype=np.int64),
        location=np.array([location_index[k[1]] for k in keys], dtype=np.int64),
        labels=labels,
        last_demand_day=last_demand.astype(np.int64),
        as_of_age_days=age,
        first_movement_day=first_movement,
        quiet_last_year=quiet_last_year,
        source=np.array([source_index[k[0]] for k in keys], dtype=np.int64),
    )
    # The lead time learnt from the receipts of Atlas's approved reorders (the declared one as prior; `lead_times`).
    observed_series, observed_days = await lead_time_observations(
        raw, tenant_id, keys, lead, now=datetime.now(UTC), zone=LOCAL_ZONE
    )
    if len(observed_series):
        declared = np.where(np.isfinite(lead) & (lead > 0), lead, float(DEFAULT_LEAD_DAYS))
        apply_lead_times(inputs, learn_lead_times(declared, observed_series, observed_days, inputs.item))
    # Inventory position: open orders at the source, Atlas's own approved orders it does not show yet, pack sizes;
    # when each part arrives (today is the first forecast day).
    grace = get_settings().on_order_grace_days
    position = await load_position(
        raw,
        tenant_id,
        keys,
        now=datetime.now(UTC),
        grace_days=grace,
        today=today,
        zone=LOCAL_ZONE,
        lead_days=inputs.lead_time_days,
    )
    apply_position(inputs, position)
    recent_from = end_at - timedelta(days=14)
    moves = await raw.fetch(
        """SELECT id, item_id, location_id, abs(quantity) AS size, occurred_at, reference, kind
           FROM stock_movements WHERE tenant_id = $1 AND occurred_at >= $2 AND occurred_at < $3
             AND kind IN ('sale', 'issue', 'adjustment')""",
        tenant_id,
        end_at - timedelta(days=120),
        end_at,
    )
    moves = [m for m in moves if (m["item_id"], m["location_id"]) in series]
    movements = Movements(
        series=np.array([series[(m["item_id"], m["location_id"])] for m in moves], dtype=np.int64),
        size=np.array([float(m["size"]) for m in moves]),
        recent=np.array([m["occurred_at"] >= recent_from for m in moves], dtype=bool),
        reference=[m["reference"] or "" for m in moves],
        movement_id=[int(m["id"]) for m in moves],
        kind=[m["kind"] for m in moves],
        day=np.array([(m["occurred_at"].astimezone(LOCAL_ZONE).date() - start).days for m in moves], dtype=np.int64),
    )
    return Loaded(y, start, inputs, movements, keys, position.committed_keys)


async def _dead_stock_history(
    raw: Any,
    tenant_id: uuid.UUID | None,
    series: dict[tuple[uuid.UUID, uuid.UUID], int],
    start: date,
    end_at: datetime,
    quiet_days: int,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Per series: the column (from ``start``) of its first movement of any kind, NaN where it has none; and
    whether, a year before ``end_at``, it had no demand for ``quiet_days`` and then demand within ``quiet_days``."""
    first = np.full(len(series), np.nan)
    for row in await raw.fetch(
        f"""SELECT item_id, location_id, min(occurred_at) AS first FROM stock_movements
           WHERE tenant_id = $1 AND occurred_at < $2 AND {_PLACED} GROUP BY 1, 2""",
        tenant_id,
        end_at,
    ):
        index = series.get((row["item_id"], row["location_id"]))
        if index is not None:
            first[index] = (row["first"].astimezone(LOCAL_ZONE).date() - start).days
    turn = end_at - timedelta(days=365)
    quiet = np.zeros(len(series), dtype=bool)
    for row in await raw.fetch(
        f"""SELECT item_id, location_id, bool_or(occurred_at < $3) AS sold_before,
                  bool_or(occurred_at >= $3) AS sold_after
           FROM stock_movements WHERE tenant_id = $1 AND occurred_at >= $2 AND occurred_at < $4
             AND kind IN ('sale', 'issue') AND {_PLACED}
           GROUP BY 1, 2""",
        tenant_id,
        turn - timedelta(days=quiet_days),
        turn,
        turn + timedelta(days=quiet_days),
    ):
        index = series.get((row["item_id"], row["location_id"]))
        if index is not None and not row["sold_before"] and row["sold_after"]:
            # Quiet through the same period a year ago, selling after it: only if its history reaches back so far.
            quiet[index] = bool(first[index] <= (turn.date() - start).days - quiet_days)
    return first, quiet


def balance_anomalies(loaded: Loaded) -> list[Found]:
    """Negative stock. (Stale data is one alert per connector, `stale_connectors`, not one per balance.)"""
    found = []
    days = loaded.y.shape[1]
    for row in np.flatnonzero(loaded.inputs.on_hand < 0):
        found.append(
            Found(int(row), "negative_stock", days - 1, 1e-9, "high", 0.0, float(loaded.inputs.on_hand[row]), 0.0, {})
        )
    return found


STALE_CONNECTOR = "stale_connector"


async def stale_connectors(session: AsyncSession, stale_days: int, now: datetime | None = None) -> list[dict[str, Any]]:
    """The tenant's connectors whose newest data (a balance's ``as_of``, a movement's ``occurred_at``) is older
    than ``stale_days``: one entry each, however many items they hold. A connector with no dated data at all
    is not judged."""
    now = now or datetime.now(UTC)
    rows = await (await _raw(session)).fetch(
        """SELECT c.id, c.name, greatest(b.newest, m.newest) AS newest, coalesce(b.balances, 0) AS balances
           FROM connectors c
           LEFT JOIN (SELECT connector_id, max(as_of) AS newest, count(*) AS balances FROM stock_balance_parts
                      WHERE tenant_id = $1 GROUP BY 1) b ON b.connector_id = c.id
           LEFT JOIN (SELECT connector_id, max(occurred_at) AS newest FROM stock_movements
                      WHERE tenant_id = $1 GROUP BY 1) m ON m.connector_id = c.id
           WHERE c.tenant_id = $1 ORDER BY c.name, c.id""",
        tenant_context(session).tenant_id,
    )
    stale = []
    for row in rows:
        if row["newest"] is None:
            continue
        age = (now - row["newest"]).total_seconds() / 86400
        if age > stale_days:
            stale.append(
                {
                    "connector_id": row["id"],
                    "connector_name": row["name"],
                    "newest": row["newest"],
                    "age_days": round(age, 1),
                    "balances": int(row["balances"]),
                }
            )
    return stale


# --- storing ----------------------------------------------------------------------------------


def _decimal(value: float | None, digits: str = "0.0001") -> Decimal | None:
    if value is None or not np.isfinite(value):
        return None
    return Decimal(str(value)).quantize(Decimal(digits))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


async def analyse_tenant(
    session: AsyncSession,
    *,
    trigger: str,
    sync_run_id: uuid.UUID | None = None,
    settings: AnalysisSettings = AnalysisSettings(),
    today: date | None = None,
) -> dict[str, Any]:
    """One analysis of the tenant of ``session`` (a tenant transaction), stored. Returns its counts."""
    # One analysis of a tenant at a time (a sync's and a person's can meet): the second waits for the first.
    await (await _raw(session)).execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('atlas-analysis:' || $1::text, 0))",
        str(tenant_context(session).tenant_id),
    )
    runs = AnalysisRunRepo(session)
    run = await runs.add(AnalysisRun(trigger=trigger, sync_run_id=sync_run_id, status="running"))
    loaded = await load(session, today=today, quiet_days=settings.dead_stock_days)
    if loaded is None:
        await runs.update_values(run, status="succeeded", finished_at=utcnow(), stats={"series": 0})
        return {"analysis_run_id": str(run.id), "series": 0, "new": 0, "updated": 0, "refreshed": 0, "retired": 0}
    output = analyse_matrix(loaded.y, loaded.start, loaded.inputs, loaded.movements, settings)
    output.anomalies.extend(balance_anomalies(loaded))
    await _store_forecasts(session, run.id, loaded, output)
    anomaly_ids = await _store_anomalies(session, run.id, loaded, output)
    stale = await _store_stale_connectors(session, run.id, settings.anomalies.stale_days)
    counts = await _store_recommendations(session, run.id, loaded, output, anomaly_ids)
    stats = {
        "series": len(loaded.keys),
        "anomalies": len(output.anomalies),
        "stale_connectors": stale,
        "candidates": len(output.candidates),
        **counts,
        "by_type": {
            t: sum(1 for c in output.candidates if c.type == t)
            for t in ("reorder", "transfer", "write_off", "investigate")
        },
        "methods": {m: int((output.forecast.method == i).sum()) for i, m in enumerate(METHODS)},
    }
    await runs.update_values(run, status="succeeded", finished_at=utcnow(), stats=stats)
    await record(
        session,
        EventType.ANALYSIS_COMPLETED,
        actor=ACTOR,
        correlation_id=f"analysis-{run.id}",
        payload={
            "analysis_run_id": str(run.id),
            "trigger": trigger,
            "sync_run_id": str(sync_run_id) if sync_run_id else None,
            **stats,
        },
    )
    return {"analysis_run_id": str(run.id), **stats}


async def _store_forecasts(session: AsyncSession, run_id: uuid.UUID, loaded: Loaded, output: AnalysisOutput) -> None:
    repo = ForecastRepo(session)
    await repo.bulk_delete()
    result = output.forecast
    start = loaded.start + timedelta(days=loaded.y.shape[1])
    names = result.method_names()
    risk = output.risk
    rows = []
    for index, (item_id, location_id) in enumerate(loaded.keys):
        rows.append(
            Forecast(
                tenant_id=repo.tenant_id,
                item_id=item_id,
                location_id=location_id,
                analysis_run_id=run_id,
                start_date=start,
                method=names[index],
                mae=float(result.mae[index]),
                mase=float(np.nan_to_num(result.mase[index])),
                forecast=[round(float(v), 3) for v in result.forecast[index]],
                lo80=[round(float(v), 3) for v in result.lo80[index]],
                hi80=[round(float(v), 3) for v in result.hi80[index]],
                q50=[round(float(v), 3) for v in result.q50[index]],
                figures=_jsonable(
                    {
                        "available": float(loaded.inputs.available[index]),
                        "on_hand": float(loaded.inputs.on_hand[index]),
                        "daily_rate": float(risk.daily_rate[index]),
                        "days_of_cover": float(risk.days_of_cover[index]),
                        "lead_time_days": float(risk.lead_time[index]),
                        "reorder_point": float(risk.reorder_point[index]),
                        "order_up_to": float(risk.order_up_to[index]),
                        "stockout_probability": float(risk.stockout_probability[index]),
                        "ma7": float(result.signals.ma7[index]),
                        "ma14": float(result.signals.ma14[index]),
                        "ma30": float(result.signals.ma30[index]),
                        "trend7": float(result.signals.trend7[index]),
                        "trend30": float(result.signals.trend30[index]),
                        "method": names[index],
                        "sigma": float(result.sigma[index]),
                    }
                ),
            )
        )
    session.add_all(rows)
    await session.flush()


def _episode_series(loaded: Loaded, found: Found) -> str:
    """What an episode belongs to: its type, series and (a large transaction) movement."""
    item_id, location_id = loaded.keys[found.series]
    suffix = f":{found.details['movement_id']}" if "movement_id" in found.details else ""
    return f"{found.type}:{item_id}:{location_id}{suffix}"


def _row_span(row: Anomaly) -> tuple[date, date] | None:
    """The movement days a stored anomaly covers (rows stored before episodes: its date alone)."""
    details = row.details or {}
    try:
        return date.fromisoformat(details["first_day"]), date.fromisoformat(details["last_day"])
    except (KeyError, TypeError, ValueError):
        return (row.occurred_on, row.occurred_on) if row.occurred_on is not None else None


# A resolved anomaly seen again within this many days of its last movement day is the same episode, reopened.
EPISODE_MEMORY_DAYS = 28


async def _store_anomalies(
    session: AsyncSession, run_id: uuid.UUID, loaded: Loaded, output: AnalysisOutput
) -> dict[int, uuid.UUID]:
    """One alert per episode: a detection whose movement days overlap those of a stored anomaly of the same
    type and series (open, or resolved lately) updates it, extending its days; otherwise it is a new one,
    dated by its movement. Open ones not seen again are resolved. Returns ids by id(found)."""
    repo = AnomalyRepo(session)
    today = loaded.start + timedelta(days=loaded.y.shape[1])
    stored = await repo.list(
        Anomaly.type != STALE_CONNECTOR,
        (Anomaly.status == "open") | (Anomaly.occurred_on >= today - timedelta(days=EPISODE_MEMORY_DAYS)),
        order_by=[Anomaly.detected_at, Anomaly.id],
    )
    by_series: dict[str, list[Anomaly]] = {}
    for row in stored:
        suffix = f":{row.details['movement_id']}" if "movement_id" in (row.details or {}) else ""
        by_series.setdefault(f"{row.type}:{row.item_id}:{row.location_id}{suffix}", []).append(row)
    spans = {row.id: _row_span(row) for row in stored}
    seen: set[uuid.UUID] = set()
    ids: dict[int, uuid.UUID] = {}
    now = utcnow()
    for found in output.anomalies:
        series_key = _episode_series(loaded, found)
        first_col, last_col = found.span()
        first, last = loaded.start + timedelta(days=first_col), loaded.start + timedelta(days=last_col)
        occurred = loaded.start + timedelta(days=found.day)
        match = next((row for row in by_series.get(series_key, []) if _overlaps(spans[row.id], first, last)), None)
        if match is not None:
            # The episode keeps its first movement day as its date, and covers every day seen so far.
            known = spans[match.id]
            if known is not None:
                first, last = min(first, known[0]), max(last, known[1])
            if match.occurred_on is not None:
                occurred = min(occurred, match.occurred_on)
        values = {
            "severity": found.severity,
            "p_value": float(found.p_value),
            "zscore": float(found.zscore),
            "observed": float(found.observed),
            "expected": float(found.expected),
            "details": {**_jsonable(found.details), "first_day": first.isoformat(), "last_day": last.isoformat()},
            "analysis_run_id": run_id,
            "updated_at": now,
            "occurred_on": occurred,
        }
        if match is not None:
            if match.id in seen:  # a second detection of this night in the same episode: keep the stronger figures
                values.update(
                    {
                        name: getattr(match, name)
                        for name in ("severity", "p_value", "zscore", "observed", "expected")
                        if match.p_value <= found.p_value
                    }
                )
            if match.status != "open":
                values.update(status="open", resolved_at=None)
            await repo.update_values(match, **values)
            row = match
        else:
            row = await repo.add(
                Anomaly(
                    key=f"{series_key}:{first.isoformat()}",
                    type=found.type,
                    status="open",
                    item_id=loaded.keys[found.series][0],
                    location_id=loaded.keys[found.series][1],
                    detected_at=now,
                    **values,
                )
            )
            by_series.setdefault(series_key, []).append(row)
        spans[row.id] = (first, last)
        seen.add(row.id)
        ids[id(found)] = row.id
    for row in stored:
        if row.status == "open" and row.id not in seen:
            await repo.update_values(row, status="resolved", resolved_at=now)
    return ids


def _overlaps(span: tuple[date, date] | None, first: date, last: date) -> bool:
    return span is not None and same_episode(
        (span[0].toordinal(), span[1].toordinal()), (first.toordinal(), last.toordinal())
    )


async def _store_stale_connectors(session: AsyncSession, run_id: uuid.UUID, stale_days: int) -> int:
    """One open ``stale_connector`` anomaly per connector whose newest data is older than ``stale_days``
    (updated while it stays stale, resolved when fresh data arrives). Returns how many are stale."""
    repo = AnomalyRepo(session)
    existing = {a.key: a for a in await repo.list(Anomaly.status == "open", Anomaly.type == STALE_CONNECTOR)}
    now = utcnow()
    seen = set()
    for connector in await stale_connectors(session, stale_days, now):
        key = f"{STALE_CONNECTOR}:{connector['connector_id']}"
        seen.add(key)
        values = {
            "severity": "high",
            "p_value": 0.0,
            "zscore": 0.0,
            "observed": float(connector["age_days"]),
            "expected": float(stale_days),
            "details": {
                "connector_id": str(connector["connector_id"]),
                "connector_name": connector["connector_name"],
                "age_days": connector["age_days"],
                "newest": connector["newest"].isoformat(),
                "balances": connector["balances"],
                "stale_days": stale_days,
            },
            "analysis_run_id": run_id,
            "updated_at": now,
            "occurred_on": connector["newest"].astimezone(LOCAL_ZONE).date(),  # the day of its newest data
        }
        if key in existing:
            await repo.update_values(existing[key], **values)
        else:
            await repo.add(Anomaly(key=key, type=STALE_CONNECTOR, status="open", detected_at=now, **values))
    for key, row in existing.items():
        if key not in seen:
            await repo.update_values(row, status="resolved", resolved_at=now)
    return len(seen)


async def _store_recommendations(
    session: AsyncSession, run_id: uuid.UUID, loaded: Loaded, output: AnalysisOutput, anomaly_ids: dict[int, uuid.UUID]
) -> dict[str, int]:
    repo = RecommendationRepo(session)
    pending = {r.key: r for r in await repo.list(Recommendation.status == "pending")}
    # One investigation per episode (its stored anomaly): the pending one is updated, and an episode people
    # already decided on (approved, rejected, expired, …) raises none again however many nights still see it.
    episodes = set(anomaly_ids.values())
    decided = {
        r.anomaly_id
        for r in await repo.list(
            Recommendation.type == "investigate",
            Recommendation.status != "pending",
            Recommendation.anomaly_id.in_(episodes),
        )
    }
    pending_episode = {r.anomaly_id: r.key for r in pending.values() if r.type == "investigate" and r.anomaly_id}
    seen: set[str] = set()
    new = updated = refreshed = retired = 0
    now = utcnow()
    for candidate in output.candidates:
        item_id, location_id = loaded.keys[candidate.series]
        # The same item, location and type is the same recommendation (an investigation: the same episode).
        key = f"{candidate.type}:{item_id}:{location_id}"
        if candidate.anomaly is not None:
            episode = anomaly_ids.get(id(candidate.anomaly))
            if episode in decided:
                continue
            known = pending_episode.get(episode) if episode is not None else None
            key = known or f"{key}:{candidate.anomaly.type}:{episode}"
        if key in seen:
            continue
        if key in loaded.committed:
            # Approved and not shown by the source yet: it is on order (the position counts it), not a new proposal.
            continue
        seen.add(key)
        from_location = loaded.keys[candidate.from_series][1] if candidate.from_series is not None else None
        unit_value = _unit_value(candidate.value, candidate.quantity)
        values = {
            "priority": candidate.priority,
            "quantity": _decimal(candidate.quantity) or Decimal(0),
            "value": _decimal(candidate.value, "0.01"),
            "confidence_score": float(min(max(candidate.confidence, 0), 1)),
            "signals_used": candidate.signals_used,
            "explanation_en": candidate.explanation_en,
            "explanation_ar": candidate.explanation_ar,
            "evidence": {**_jsonable(candidate.evidence), "unit_value": _text(unit_value)},
            "from_location_id": from_location,
            "analysis_run_id": run_id,
            "updated_at": now,
            "anomaly_id": anomaly_ids.get(id(candidate.anomaly)) if candidate.anomaly is not None else None,
        }
        if key in pending:
            row = pending[key]
            # A quantity a person set stays theirs; otherwise the engine's figures are the proposal.
            if row.last_changed_by != ACTOR.ref:
                unchanged = _keep_persons_quantity(row, values)  # rewrites values to the person's quantity
            else:
                unchanged = _same_action(row, values)
            if unchanged:
                # What people approve is unchanged: refresh the figures and reasons in place. No new revision,
                # so votes already given still count and policy need not look again.
                await repo.update_values(row, **values)
                refreshed += 1
                continue
            await repo.update_values(row, update_count=row.update_count + 1, **values)
            changes.note(session, "revised", row.id)  # a new revision: its approval starts over
            updated += 1
            continue
        correlation_id = f"rec-{uuid.uuid4().hex}"
        row = await repo.add(
            Recommendation(
                key=key,
                type=candidate.type,
                status="pending",
                item_id=item_id,
                location_id=location_id,
                correlation_id=correlation_id,
                **values,
            )
        )
        await record(
            session,
            EventType.DECISION_GENERATED,
            actor=ACTOR,
            correlation_id=correlation_id,
            payload={
                "recommendation_id": str(row.id),
                "type": row.type,
                "priority": row.priority,
                "item_id": str(item_id),
                "location_id": str(location_id),
                "quantity": str(row.quantity),
                "confidence_score": row.confidence_score,
                "signals_used": row.signals_used,
                "explanation_en": row.explanation_en,
                "analysis_run_id": str(run_id),
            },
        )
        changes.note(session, "created", row.id)  # its approval workflow starts once this commits
        new += 1
    for key, row in pending.items():
        if key not in seen:
            await repo.update_values(row, status="retired", retired_at=now, updated_at=now)
            changes.note(session, "retired", row.id)
            await record(
                session,
                EventType.RECOMMENDATION_RETIRED,
                actor=ACTOR,
                correlation_id=row.correlation_id,
                payload={"recommendation_id": str(row.id), "type": row.type, "reason": "no_longer_applies"},
            )
            retired += 1
    return {"new": new, "updated": updated, "refreshed": refreshed, "retired": retired}


# What an approval is given for: the action (its quantity, value and locations), its priority and, for an
# investigation, its anomaly. A change to any of these is a new revision; figures and wording alone are not.
# A quantity a person set stays theirs (`_keep_persons_quantity`): the engine's own figure goes to the evidence.
_ACTION_FIELDS = ("priority", "quantity", "value", "from_location_id", "anomaly_id")


def _same_action(row: Recommendation, values: dict[str, Any]) -> bool:
    return all(getattr(row, name) == values[name] for name in _ACTION_FIELDS)


def _unit_value(value: float | None, quantity: float) -> Decimal | None:
    """What the engine priced one unit at (the item's unit cost, 4 decimals); None without a value or quantity."""
    if value is None or not np.isfinite(value) or not np.isfinite(quantity) or quantity <= 0:
        return None
    return (Decimal(str(value)) / Decimal(str(quantity))).quantize(Decimal("0.0001"))


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _keep_persons_quantity(row: Recommendation, values: dict[str, Any]) -> bool:
    """A person set the quantity of ``row`` (``PATCH /api/recommendations/{id}``): the analysis keeps it.

    Rewrites ``values`` to the person's quantity, valued at the newly computed unit value, and adds the
    engine's own figures to the evidence (``computed_quantity``, ``computed_value``, ``quantity_set_by``).
    Returns whether what people approve is unchanged: True unless the priority, the source location, the
    anomaly or the unit value changed (a new price changes the value policy judged; rounding does not).
    ``last_changed_by`` is not in ``values``, so it stays the person's (four-eyes)."""
    evidence = values["evidence"]
    computed_quantity, computed_value = values["quantity"], values["value"]
    stored = row.evidence or {}
    before = stored.get("unit_value")
    if computed_value is None:
        value = None
    elif evidence["unit_value"] is None:  # no quantity to price a unit by: the row's value stands
        value, evidence["unit_value"] = row.value, before
    else:
        value = (Decimal(evidence["unit_value"]) * row.quantity).quantize(Decimal("0.01"))
    # A new price is a new revision (policy judged the value); a row stored before unit values were kept in
    # its evidence can only tell by a different value.
    repriced = before != evidence["unit_value"] if "unit_value" in stored else value != row.value
    evidence["computed_quantity"] = _text(computed_quantity)
    evidence["computed_value"] = _text(computed_value)
    evidence["quantity_set_by"] = row.last_changed_by
    values["quantity"], values["value"] = row.quantity, value
    return not repriced and all(
        getattr(row, name) == values[name] for name in _ACTION_FIELDS if name not in ("quantity", "value")
    )


# --- reading ----------------------------------------------------------------------------------


def _rec_dict(row: Recommendation, labels: dict[str, Any]) -> dict[str, Any]:
    data = {c.name: getattr(row, c.name) for c in Recommendation.__table__.columns}
    data.update(labels)
    return data


async def _labels(session: AsyncSession) -> tuple[dict[uuid.UUID, Item], dict[uuid.UUID, Location]]:
    tenant_id = tenant_context(session).tenant_id
    items = {i.id: i for i in (await session.execute(select(Item).where(Item.tenant_id == tenant_id))).scalars()}
    locations = {
        loc.id: loc
        for loc in (await session.execute(select(Location).where(Location.tenant_id == tenant_id))).scalars()
    }
    return items, locations


def _label_fields(
    items: dict[uuid.UUID, Item],
    locations: dict[uuid.UUID, Location],
    item_id: Any,
    location_id: Any,
    from_location_id: Any = None,
) -> dict[str, Any]:
    item, location = items.get(item_id), locations.get(location_id)
    origin = locations.get(from_location_id) if from_location_id else None
    return {
        "sku": item.sku if item else None,
        "item_name": item.name if item else None,
        "location_code": location.code if location else None,
        "location_name": location.name if location else None,
        "from_location_code": origin.code if origin else None,
    }


async def list_analysis_runs(session: AsyncSession, *, sync_run_id: uuid.UUID | None, limit: int) -> dict[str, Any]:
    """Analyses newest first (optionally those one sync started), with the count of pending recommendations."""
    where = [AnalysisRun.sync_run_id == sync_run_id] if sync_run_id is not None else []
    rows = await AnalysisRunRepo(session).list(
        *where, order_by=[AnalysisRun.started_at.desc(), AnalysisRun.id.desc()], limit=limit
    )
    pending = (await list_recommendations(session, limit=1))["total"]
    return {
        "items": [
            {
                "id": str(r.id),
                "trigger": r.trigger,
                "sync_run_id": str(r.sync_run_id) if r.sync_run_id else None,
                "status": r.status,
                "started_at": r.started_at,
                "finished_at": r.finished_at,
                "stats": r.stats,
                "recommendations": pending,
            }
            for r in rows
        ]
    }


RECOMMENDATION_ORDER = paging.Ordering(
    "recommendations",
    (
        paging.asc(func.array_position(["high", "medium", "low"], Recommendation.priority), "int"),
        paging.desc(Recommendation.confidence_score, "float"),
        paging.desc(Recommendation.updated_at, "datetime"),
        paging.asc(Recommendation.id, "uuid"),
    ),
)
ANOMALY_ORDER = paging.Ordering(
    "anomalies",
    (
        paging.asc(func.array_position(["critical", "high", "medium", "low"], Anomaly.severity), "int"),
        paging.desc(Anomaly.detected_at, "datetime"),
        paging.asc(Anomaly.id, "uuid"),
    ),
)


async def list_recommendations(
    session: AsyncSession,
    *,
    type: str | None = None,
    status: str | None = "pending",
    priority: str | None = None,
    item_id: uuid.UUID | None = None,
    location_id: uuid.UUID | None = None,
    limit: int = 50,
    offset: int = 0,
    cursor: str | None = None,
    cursor_key: paging.CursorKey | None = None,
) -> dict[str, Any]:
    """High priority first, then the most confident, then the latest changed; ``id`` breaks ties so pages
    never skip or repeat a row. ``next_cursor`` leads to the rows after this page."""
    repo = RecommendationRepo(session)
    where: list[Any] = []
    for column, value in (
        (Recommendation.type, type),
        (Recommendation.status, status),
        (Recommendation.priority, priority),
        (Recommendation.item_id, item_id),
        (Recommendation.location_id, location_id),
    ):
        if value:
            where.append(column == value)
    total = await repo.count(*where)
    page = paging.Page(limit=limit, offset=offset, cursor=cursor, key=cursor_key)
    found = await paging.fetch(session, repo.select(*where), RECOMMENDATION_ORDER, page)
    items, locations = await _labels(session)
    return {
        "total": total,
        "items": [
            _rec_dict(r, _label_fields(items, locations, r.item_id, r.location_id, r.from_location_id))
            for r in found.first()
        ],
        "next_cursor": found.next_cursor,
    }


async def get_recommendation(session: AsyncSession, recommendation_id: uuid.UUID) -> dict[str, Any]:
    row = await RecommendationRepo(session).get(recommendation_id)
    items, locations = await _labels(session)
    return _rec_dict(row, _label_fields(items, locations, row.item_id, row.location_id, row.from_location_id))


async def list_anomalies(
    session: AsyncSession,
    *,
    type: str | None = None,
    severity: str | None = None,
    status: str | None = "open",
    item_id: uuid.UUID | None = None,
    location_id: uuid.UUID | None = None,
    limit: int = 50,
    offset: int = 0,
    cursor: str | None = None,
    cursor_key: paging.CursorKey | None = None,
) -> dict[str, Any]:
    """Most severe first, then the latest detected; ``id`` breaks ties. ``next_cursor`` leads on."""
    repo = AnomalyRepo(session)
    where: list[Any] = []
    for column, value in (
        (Anomaly.type, type),
        (Anomaly.severity, severity),
        (Anomaly.status, status),
        (Anomaly.item_id, item_id),
        (Anomaly.location_id, location_id),
    ):
        if value:
            where.append(column == value)
    total = await repo.count(*where)
    page = paging.Page(limit=limit, offset=offset, cursor=cursor, key=cursor_key)
    found = await paging.fetch(session, repo.select(*where), ANOMALY_ORDER, page)
    items, locations = await _labels(session)
    result = []
    for row in found.first():
        data = {c.name: getattr(row, c.name) for c in Anomaly.__table__.columns}
        data.update(_label_fields(items, locations, row.item_id, row.location_id))
        result.append(data)
    return {"total": total, "items": result, "next_cursor": found.next_cursor}


async def forecasts_of(session: AsyncSession, item_id: uuid.UUID) -> list[dict[str, Any]]:
    """An item's stored forecasts, every column, with the daily quantiles by their names too: ``q10``/``q90`` are
    ``lo80``/``hi80``; ``q50`` is None on rows stored before migration 0019."""
    rows = await ForecastRepo(session).list(Forecast.item_id == item_id)
    _, locations = await _labels(session)
    return [
        {
            **{c.name: getattr(r, c.name) for c in Forecast.__table__.columns},
            "q10": r.lo80,
            "q90": r.hi80,
            "location_code": locations[r.location_id].code if r.location_id in locations else None,
        }
        for r in rows
    ]


async def item_view(session: AsyncSession, item_id: uuid.UUID) -> dict[str, Any]:
    tenant_id = tenant_context(session).tenant_id
    item = (
        await session.execute(select(Item).where(Item.tenant_id == tenant_id, Item.id == item_id))
    ).scalar_one_or_none()
    if item is None:
        raise NotFound("errors.not_found")
    raw = await _raw(session)
    today = datetime.now(LOCAL_ZONE).date()
    start = today - timedelta(days=90)
    history = await raw.fetch(
        """SELECT location_id, (occurred_at AT TIME ZONE 'Asia/Riyadh')::date AS day, sum(-quantity) AS demand
           FROM stock_movements WHERE tenant_id = $1 AND item_id = $2 AND kind IN ('sale', 'issue')
             AND occurred_at >= $3 GROUP BY 1, 2""",
        tenant_id,
        item_id,
        datetime.combine(start, datetime.min.time(), LOCAL_ZONE),
    )
    balances = {
        b.location_id: b
        for b in (
            await session.execute(
                select(StockBalance).where(StockBalance.tenant_id == tenant_id, StockBalance.item_id == item_id)
            )
        ).scalars()
    }
    forecasts = {f["location_id"]: f for f in await forecasts_of(session, item_id)}
    _, locations = await _labels(session)
    series = []
    for location_id in sorted(
        {*balances, *forecasts, *(h["location_id"] for h in history)},
        key=lambda loc: locations[loc].code if loc in locations else "",
    ):
        by_day = {h["day"]: float(h["demand"]) for h in history if h["location_id"] == location_id}
        balance = balances.get(location_id)
        series.append(
            {
                "location_id": location_id,
                "location_code": locations[location_id].code if location_id in locations else None,
                "location_name": locations[location_id].name if location_id in locations else None,
                "forecast": forecasts.get(location_id),
                "history": [
                    {
                        "date": (start + timedelta(days=i)).isoformat(),
                        "demand": by_day.get(start + timedelta(days=i), 0.0),
                    }
                    for i in range(90)
                ],
                "balance": None
                if balance is None
                else {"quantity": balance.quantity, "available_qty": balance.available_qty, "as_of": balance.as_of},
            }
        )
    return {
        "item": {
            "id": item.id,
            "sku": item.sku,
            "name": item.name,
            "category": item.category,
            "unit_cost": item.unit_cost,
            "lead_time_days": item.lead_time_days,
            "unit_of_measure": item.unit_of_measure,
        },
        "series": series,
        "recommendations": (await list_recommendations(session, item_id=item_id, limit=50))["items"],
        "anomalies": (await list_anomalies(session, item_id=item_id, limit=50))["items"],
    }


async def dashboard_summary(session: AsyncSession) -> dict[str, Any]:
    tenant_id = tenant_context(session).tenant_id
    forecasts = await ForecastRepo(session).list()
    at_risk = sorted(
        (f for f in forecasts if (f.figures.get("stockout_probability") or 0) >= 0.3),
        key=lambda f: -(f.figures.get("stockout_probability") or 0),
    )[:10]
    items, locations = await _labels(session)
    pending = dict(
        (
            await session.execute(
                select(Recommendation.type, func.count())
                .where(Recommendation.tenant_id == tenant_id, Recommendation.status == "pending")
                .group_by(Recommendation.type)
            )
        ).all()
    )
    open_anomalies = dict(
        (
            await session.execute(
                select(Anomaly.severity, func.count())
                .where(Anomaly.tenant_id == tenant_id, Anomaly.status == "open")
                .group_by(Anomaly.severity)
            )
        ).all()
    )
    stale = await AnomalyRepo(session).list(
        Anomaly.status == "open", Anomaly.type == STALE_CONNECTOR, order_by=[Anomaly.detected_at, Anomaly.id]
    )
    last_sync = (
        await session.execute(
            select(SyncRun).where(SyncRun.tenant_id == tenant_id).order_by(SyncRun.started_at.desc()).limit(1)
        )
    ).scalar_one_or_none()
    last_analysis = (
        await session.execute(
            select(AnalysisRun)
            .where(AnalysisRun.tenant_id == tenant_id)
            .order_by(AnalysisRun.started_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return {
        "items_at_risk": [
            {
                "item_id": f.item_id,
                "sku": items[f.item_id].sku if f.item_id in items else None,
                "item_name": items[f.item_id].name if f.item_id in items else None,
                "location_code": locations[f.location_id].code if f.location_id in locations else None,
                "days_of_cover": f.figures.get("days_of_cover"),
                "stockout_probability": f.figures.get("stockout_probability"),
            }
            for f in at_risk
        ],
        "pending_by_type": {t: int(pending.get(t, 0)) for t in ("reorder", "transfer", "write_off", "investigate")},
        "open_anomalies_by_severity": {s: int(open_anomalies.get(s, 0)) for s in ("critical", "high", "medium", "low")},
        "open_anomalies": int(sum(open_anomalies.values())),
        # One notice per connector whose data is stale (not one per item).
        "stale_connectors": [
            {
                "connector_id": row.details.get("connector_id"),
                "connector_name": row.details.get("connector_name"),
                "age_days": row.details.get("age_days"),
                "anomaly_id": row.id,
            }
            for row in stale
        ],
        "last_sync": None
        if last_sync is None
        else {
            "status": last_sync.status,
            "finished_at": last_sync.finished_at,
            "started_at": last_sync.started_at,
            # what the run set aside, so the card never shows "Succeeded" alone when it set records aside
            "set_aside": summary_numbers(last_sync.stats or {})["set_aside"],
        },
        "last_analysis": None
        if last_analysis is None
        else {"status": last_analysis.status, "finished_at": last_analysis.finished_at, "stats": last_analysis.stats},
    }
