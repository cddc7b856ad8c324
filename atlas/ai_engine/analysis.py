"""The whole analysis of one tenant as pure computation: forecast, stockout risk, anomalies, recommendations.

Input is plain data (a demand matrix and per-series arrays, movements as arrays); output is
plain data. No database in here, so it tests in isolation and scales by giving each worker
its own tenants.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from atlas.ai_engine.anomalies import Anomaly, AnomalySettings, demand_anomalies, large_transactions, severity
from atlas.ai_engine.explain import explain
from atlas.ai_engine.forecast import ForecastResult, forecast_matrix

Array = NDArray[np.float64]
REVIEW_DAYS = 7
TRANSFER_DAYS = 2


@dataclass(frozen=True)
class AnalysisSettings:
    """Per-tenant settings with sensible defaults."""

    service_level: float = 0.95
    default_lead_time_days: int = 7
    review_days: int = REVIEW_DAYS
    dead_stock_days: int = 90
    horizon: int = 30
    min_stockout_probability: float = 0.3
    anomalies: AnomalySettings = field(default_factory=AnomalySettings)


@dataclass
class SeriesInputs:
    """Per series (rows of the demand matrix)."""

    available: Array  # NaN where there is no balance
    on_hand: Array
    lead_time_days: Array  # NaN where the source has none
    unit_cost: Array  # NaN where unknown
    item: NDArray[np.int64]  # an item index, shared by the item's series at every location
    location: NDArray[np.int64]
    labels: list[tuple[str, str]]  # (SKU or name, location code) for explanations
    last_demand_day: NDArray[np.int64]  # column of the last day with demand, -1 if none in the window
    as_of_age_days: Array | None = None  # how old each balance is, NaN where unknown


@dataclass
class Movements:
    """Individual movements, for the large-transaction test."""

    series: NDArray[np.int64]
    size: Array  # absolute quantity
    recent: NDArray[np.bool_]
    reference: list[str]
    movement_id: list[int]
    kind: list[str]


@dataclass
class Candidate:
    """A recommendation the engine proposes: what, where, how much, how sure and why."""

    type: str
    priority: str
    series: int
    quantity: float
    value: float | None
    confidence: float
    signals_used: list[str]
    explanation_en: str
    explanation_ar: str
    evidence: dict[str, Any]
    from_series: int | None = None
    anomaly: Anomaly | None = None


@dataclass
class SeriesRisk:
    daily_rate: Array
    days_of_cover: Array
    lead_time: Array
    demand_over_lead: Array
    sigma_over_lead: Array
    reorder_point: Array
    order_up_to: Array
    stockout_probability: Array


@dataclass
class AnalysisOutput:
    forecast: ForecastResult
    risk: SeriesRisk
    anomalies: list[Anomaly]
    candidates: list[Candidate]
    start: date


def _sum_ahead(forecast: Array, days: Array) -> Array:
    """Expected demand over ``days`` per series (beyond the horizon, the last day repeats)."""
    horizon = forecast.shape[1]
    cumulative = np.cumsum(forecast, axis=1)
    whole = np.minimum(np.floor(days).astype(np.int64), horizon)
    total = np.where(whole > 0, cumulative[np.arange(len(days)), np.maximum(whole - 1, 0)], 0.0)
    extra = np.maximum(days - horizon, 0.0) * forecast[:, -1]
    fraction = np.where(
        days < horizon, (days - np.floor(days)) * forecast[np.arange(len(days)), np.minimum(whole, horizon - 1)], 0.0
    )
    result: Array = total + extra + fraction
    return result


def stockout_risk(result: ForecastResult, inputs: SeriesInputs, settings: AnalysisSettings) -> SeriesRisk:
    z = float(stats.norm.ppf(settings.service_level))
    lead = np.where(
        np.isfinite(inputs.lead_time_days) & (inputs.lead_time_days > 0),
        inputs.lead_time_days,
        float(settings.default_lead_time_days),
    )
    rate = result.forecast[:, :7].mean(axis=1)
    over_lead = _sum_ahead(result.forecast, lead)
    sigma_lead = result.sigma * np.sqrt(lead)
    over_cycle = _sum_ahead(result.forecast, lead + settings.review_days)
    sigma_cycle = result.sigma * np.sqrt(lead + settings.review_days)
    available = inputs.available
    with np.errstate(divide="ignore", invalid="ignore"):
        cover = np.where(rate > 0, available / rate, np.inf)
        # The chance that demand before a reorder placed today arrives exceeds what is available.
        probability = np.where(
            sigma_lead > 0,
            stats.norm.sf((available - over_lead) / sigma_lead),
            (over_lead > available).astype(np.float64),
        )
    return SeriesRisk(
        daily_rate=rate,
        days_of_cover=cover,
        lead_time=lead,
        demand_over_lead=over_lead,
        sigma_over_lead=sigma_lead,
        reorder_point=over_lead + z * sigma_lead,
        order_up_to=over_cycle + z * sigma_cycle,
        stockout_probability=np.where(np.isfinite(available), probability, np.nan),
    )


def _round(value: float, digits: int = 1) -> float:
    return float(round(value, digits))


def _excerpt(values: list[float], dates: list[str]) -> list[dict[str, Any]]:
    """Days of demand of one series, dated."""
    return [{"date": day, "demand": value} for day, value in zip(dates, values, strict=True)]


def _forecast_excerpt(
    forecast: list[float], lo: list[float], hi: list[float], dates: list[str]
) -> list[dict[str, Any]]:
    return [
        {"date": day, "forecast": f, "lo80": low, "hi80": high}
        for day, f, low, high in zip(dates, forecast, lo, hi, strict=True)
    ]


def _trend_word(slope: float, level: float) -> str:
    if level <= 0 or abs(slope) * 14 < 0.15 * level:
        return "stable"
    return "rising" if slope > 0 else "falling"


@contextmanager
def _cycle_collection_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the analysis builds its records.

    A large tenant's analysis creates millions of small dicts and lists (figures, evidence excerpts),
    none of them in a reference cycle; each batch of new objects made the collector walk every object
    still alive, about a quarter of the whole analysis at 100,000 series. Reference counting still
    frees everything as usual; the collector resumes (if it was on) when the analysis returns.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def analyse_matrix(
    y: Array,
    start: date,
    inputs: SeriesInputs,
    movements: Movements | None = None,
    settings: AnalysisSettings = AnalysisSettings(),
) -> AnalysisOutput:
    """Analyse a tenant: ``y`` is series × days of demand ending yesterday, ``start`` the date of column 0."""
    with _cycle_collection_paused():
        return _analyse(y, start, inputs, movements, settings)


def _analyse(
    y: Array, start: date, inputs: SeriesInputs, movements: Movements | None, settings: AnalysisSettings
) -> AnalysisOutput:
    days = y.shape[1]
    result = forecast_matrix(y, horizon=settings.horizon, start_dow=start.weekday())
    risk = stockout_risk(result, inputs, settings)
    anomalies = demand_anomalies(y, settings.anomalies, window=14)
    if movements is not None and len(movements.size):
        for index, row, p_value, ratio, median in large_transactions(
            movements.series, movements.size, movements.recent, settings.anomalies
        ):
            anomalies.append(
                Anomaly(
                    row,
                    "large_transaction",
                    days - 1,
                    p_value,
                    severity(p_value),
                    float(ratio),
                    float(movements.size[index]),
                    median,
                    {
                        "movement_id": movements.movement_id[index],
                        "reference": movements.reference[index],
                        "kind": movements.kind[index],
                        "ratio_to_median": _round(ratio, 1),
                        "median_size": median,
                    },
                )
            )
    first_forecast_day = start + timedelta(days=days)
    candidates: list[Candidate] = []
    sig = result.signals
    method_names = result.method_names()

    # Every figure an explanation may cite, as Python floats once for all series: converting and checking
    # them one value at a time cost more than the rest of the analysis (Python's round() is kept, so that
    # each figure is exactly what it was).
    available = inputs.available.tolist()
    on_hand = inputs.on_hand.tolist()
    daily_rate = risk.daily_rate.tolist()
    days_of_cover = risk.days_of_cover.tolist()
    lead_time = risk.lead_time.tolist()
    demand_over_lead = risk.demand_over_lead.tolist()
    reorder_point = risk.reorder_point.tolist()
    order_up_to = risk.order_up_to.tolist()
    stockout = np.nan_to_num(risk.stockout_probability).tolist()
    ma7, ma14, ma30 = sig.ma7.tolist(), sig.ma14.tolist(), sig.ma30.tolist()
    trend7, trend30 = sig.trend7.tolist(), sig.trend30.tolist()
    mase, mae = result.mase.tolist(), result.mae.tolist()
    service_level = settings.service_level

    def figures(row: int) -> dict[str, Any]:
        cover = days_of_cover[row]
        return {
            "available": round(available[row], 2),
            "on_hand": round(on_hand[row], 2),
            "daily_rate": round(daily_rate[row], 2),
            "days_of_cover": None if not math.isfinite(cover) else round(cover, 1),
            "lead_time_days": round(lead_time[row], 0),
            "demand_over_lead_time": round(demand_over_lead[row], 1),
            "reorder_point": round(reorder_point[row], 1),
            "order_up_to": round(order_up_to[row], 1),
            "stockout_probability": round(stockout[row], 3),
            "ma7": round(ma7[row], 2),
            "ma14": round(ma14[row], 2),
            "ma30": round(ma30[row], 2),
            "trend7": round(trend7[row], 3),
            "trend30": round(trend30[row], 3),
            "trend": _trend_word(trend30[row], ma30[row]),
            "method": method_names[row],
            "mase": round(mase[row], 3),
            "mae": round(mae[row], 3),
            "service_level": service_level,
        }

    history_dates = [(start + timedelta(days=col)).isoformat() for col in range(max(0, days - 30), days)]
    forecast_dates = [
        (first_forecast_day + timedelta(days=i)).isoformat() for i in range(min(14, result.forecast.shape[1]))
    ]

    history = y[:, -len(history_dates) :]
    # np.round over all series at once rounds each value exactly as it did one series at a time.
    ahead = len(forecast_dates)
    forecast_rounded = np.round(result.forecast[:, :ahead], 2)
    lo_rounded = np.round(result.lo80[:, :ahead], 2)
    hi_rounded = np.round(result.hi80[:, :ahead], 2)

    def evidence(row: int, extra: dict[str, Any] | None = None, known: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "figures": {**(known if known is not None else figures(row)), **(extra or {})},
            "history": _excerpt(history[row].tolist(), history_dates),
            "forecast": _forecast_excerpt(
                forecast_rounded[row].tolist(), lo_rounded[row].tolist(), hi_rounded[row].tolist(), forecast_dates
            ),
        }

    def signals_for(row: int, base: list[str]) -> list[str]:
        used = list(base)
        if method_names[row] == "ses_weekly":
            used.append("seasonality")
        if method_names[row] == "damped" or _trend_word(float(sig.trend30[row]), float(sig.ma30[row])) != "stable":
            used.append("demand_trend")
        return used

    # Reorder: below the reorder point, with a real chance of running out before a new order arrives.
    probability = np.nan_to_num(risk.stockout_probability)
    below = (
        np.isfinite(inputs.available)
        & (inputs.available < risk.reorder_point)
        & (probability >= settings.min_stockout_probability)
        & (risk.daily_rate > 0)
    )
    for row in (int(r) for r in np.flatnonzero(below)):
        quantity = math.ceil(max(0.0, float(risk.order_up_to[row] - inputs.available[row])))
        if quantity <= 0:
            continue
        cost = float(inputs.unit_cost[row])
        figs = figures(row)
        figs["quantity"] = quantity
        en, ar = explain("reorder", figs, inputs.labels[row])
        candidates.append(
            Candidate(
                type="reorder",
                priority="high",
                series=int(row),
                quantity=float(quantity),
                value=quantity * cost if math.isfinite(cost) else None,
                confidence=_round(float(probability[row]), 3),
                signals_used=signals_for(row, ["stock_level", "demand_forecast", "lead_time", "forecast_uncertainty"]),
                explanation_en=en,
                explanation_ar=ar,
                evidence=evidence(row, {"quantity": quantity}, known=figs),
            )
        )

    # Transfer: a location of the same item with cover to spare, when the short one runs out before a
    # reorder could arrive and a transfer would not.
    # The series of each item, found once (ascending, as a scan of every series for each short one found them).
    by_item = np.argsort(inputs.item, kind="stable")
    item_sorted = inputs.item[by_item]
    for short in np.flatnonzero(below & (risk.days_of_cover < risk.lead_time)):
        need = float(risk.reorder_point[short] - inputs.available[short])
        best, spare = -1, 0.0
        same = by_item[
            np.searchsorted(item_sorted, inputs.item[short]) : np.searchsorted(
                item_sorted, inputs.item[short], side="right"
            )
        ]
        for other in same:
            if other == short or not math.isfinite(float(inputs.available[other])):
                continue
            surplus = float(inputs.available[other] - risk.order_up_to[other])
            if surplus > spare:
                best, spare = int(other), surplus
        if best < 0 or risk.days_of_cover[short] >= TRANSFER_DAYS + risk.lead_time[short] or spare < 1:
            continue
        quantity = math.floor(min(spare, max(need, 1.0)))
        if quantity < 1:
            continue
        figs = figures(int(short))
        figs.update(
            {
                "quantity": quantity,
                "from_available": _round(float(inputs.available[best]), 1),
                "from_days_of_cover": _round(float(min(risk.days_of_cover[best], 9999.0)), 1),
                "transfer_days": TRANSFER_DAYS,
            }
        )
        en, ar = explain("transfer", figs, inputs.labels[short], inputs.labels[best])
        cost = float(inputs.unit_cost[short])
        candidates.append(
            Candidate(
                type="transfer",
                priority="medium",
                series=int(short),
                from_series=best,
                quantity=float(quantity),
                value=quantity * cost if math.isfinite(cost) else None,
                confidence=_round(float(probability[short]) * min(1.0, spare / max(need, 1.0)), 3),
                signals_used=["stock_level", "demand_forecast", "lead_time", "location_surplus"],
                explanation_en=en,
                explanation_ar=ar,
                evidence=evidence(
                    int(short), {"quantity": quantity, "from_available": figs["from_available"]}, known=figs
                ),
            )
        )

    # Write-off: stock on hand and no demand for the tenant's dead-stock period.
    idle = days - 1 - inputs.last_demand_day
    for row in (int(r) for r in np.flatnonzero((inputs.on_hand > 0) & (idle >= settings.dead_stock_days))):
        earlier = y[row, : max(1, days - int(idle[row]))]
        rate = float(earlier.mean()) if inputs.last_demand_day[row] >= 0 else 0.0
        quiet = float(idle[row])
        # How unlikely such a silence is for an item that sold at its earlier rate.
        confidence = 1.0 - math.exp(-rate * quiet) if rate > 0 else quiet / (quiet + 30.0)
        cost = float(inputs.unit_cost[row])
        held = float(inputs.on_hand[row])
        value = held * cost if math.isfinite(cost) else None
        figs = figures(row)
        figs.update(
            {
                "idle_days": int(quiet),
                "quantity": held,
                "value": None if value is None else _round(value, 2),
                "dead_stock_days": settings.dead_stock_days,
            }
        )
        en, ar = explain("write_off", figs, inputs.labels[row])
        candidates.append(
            Candidate(
                type="write_off",
                priority="low",
                series=int(row),
                quantity=held,
                value=value,
                confidence=_round(min(confidence, 0.99), 3),
                signals_used=["stock_level", "demand_history", "unit_cost"],
                explanation_en=en,
                explanation_ar=ar,
                evidence=evidence(row, {"idle_days": int(quiet)}, known=figs),
            )
        )

    # Investigate: one per anomaly.
    priority = {"critical": "high", "high": "high", "medium": "medium", "low": "low"}
    for anomaly in anomalies:
        row = anomaly.series
        figs = figures(row)
        figs.update(
            {
                "observed": _round(anomaly.observed, 1),
                "expected": _round(anomaly.expected, 1),
                "zscore": _round(anomaly.zscore, 1),
                "p_value": anomaly.p_value,
                "anomaly": anomaly.type,
                "severity": anomaly.severity,
                **{k: v for k, v in anomaly.details.items() if isinstance(v, int | float | str)},
            }
        )
        en, ar = explain(f"investigate_{anomaly.type}", figs, inputs.labels[row])
        candidates.append(
            Candidate(
                type="investigate",
                priority=priority[anomaly.severity],
                series=row,
                quantity=anomaly.observed,
                value=None,
                confidence=_round(1.0 - min(max(anomaly.p_value, 0.0), 1.0), 4),
                signals_used=["anomaly_score", "demand_history"],
                explanation_en=en,
                explanation_ar=ar,
                evidence=evidence(
                    row,
                    {
                        "anomaly": anomaly.type,
                        "p_value": anomaly.p_value,
                        "zscore": figs["zscore"],
                        **{k: v for k, v in anomaly.details.items()},
                    },
                ),
                anomaly=anomaly,
            )
        )
    return AnalysisOutput(forecast=result, risk=risk, anomalies=anomalies, candidates=candidates, start=start)
