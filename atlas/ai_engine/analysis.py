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

from atlas.ai_engine.anomalies import (
    Anomaly,
    AnomalySettings,
    alert_confidence,
    demand_anomalies,
    evidence_strength,
    large_transactions,
    severity,
)
from atlas.ai_engine.arrivals import Schedule, checkpoints, combine
from atlas.ai_engine.classes import ClassSettings, SeriesClasses, classify
from atlas.ai_engine.dead_stock import idle_confidence, idle_stock
from atlas.ai_engine.explain import explain_many
from atlas.ai_engine.forecast import ForecastResult, forecast_matrix
from atlas.ai_engine.quantiles import (
    demand_quantile,
    expected_demand,
    lead_time_variance,
    probability_exceeds,
    total_variance,
)

Array = NDArray[np.float64]
REVIEW_DAYS = 7
TRANSFER_DAYS = 2


@dataclass(frozen=True)
class AnalysisSettings:
    """Per-tenant settings with sensible defaults.

    The target service level of a series is its item's ABC/XYZ class's (``classes.service_levels``, from the
    tenant's policy); ``service_level``, when set, is one level for every series instead (benchmarks).
    """

    service_level: float | None = None
    classes: ClassSettings = field(default_factory=ClassSettings)
    default_lead_time_days: int = 7
    review_days: int = REVIEW_DAYS
    analysis_interval_days: int = 1  # days until the next analysis may reorder (nightly)
    dead_stock_days: int = 90
    horizon: int = 30
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
    # Inventory position's other parts (None: zeros / unknown). ``on_order`` is the open quantity of purchase
    # orders and transfers in transit to the series' location plus Atlas's own approved reorders and transfers the
    # source does not show yet; ``min_order_qty`` and ``order_multiple`` (case pack) come from the source, NaN
    # where unknown.
    on_order: Array | None = None
    min_order_qty: Array | None = None
    order_multiple: Array | None = None
    # The column of each series' first movement of any kind (negative: before the window; NaN: none known), and
    # whether its present quiet is its season (quiet over the same period a year earlier, selling after it).
    # None: unknown (the whole window counts as history; no season known). See `dead_stock`.
    first_movement_day: Array | None = None
    quiet_last_year: NDArray[np.bool_] | None = None
    source: NDArray[np.int64] | None = None  # the connector of each series' item (its data's end is its own)
    # When what is on order arrives, sparse, one entry per order line (`arrivals`): the series (row), the day (0 =
    # the first forecast day, before its demand; at or before 0: on the shelf already) and the quantity. None: not
    # known, and the stockout probability counts everything on order as if it were on the shelf now. A series with
    # entries is judged on them alone (they should add up to its ``on_order``).
    arrival_series: NDArray[np.int64] | None = None
    arrival_day: Array | None = None
    arrival_qty: Array | None = None
    # The lead time learnt from receipts (`lead_times`): ``lead_time_days`` is then its mean; ``lead_time_sd`` its
    # standard deviation in days (0 or NaN: certain, as declared), from ``lead_time_observations`` receipts.
    lead_time_sd: Array | None = None
    lead_time_observations: NDArray[np.int64] | None = None


@dataclass
class Movements:
    """Individual movements, for the large-transaction test."""

    series: NDArray[np.int64]
    size: Array  # absolute quantity
    recent: NDArray[np.bool_]
    reference: list[str]
    movement_id: list[int]
    kind: list[str]
    day: NDArray[np.int64] | None = None  # column of each movement's day (None: the last day)


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
    days_of_cover: Array  # of the available stock
    lead_time: Array
    demand_over_lead: Array  # expected demand over the lead time
    sigma_over_lead: Array  # the safety stock's spread: (reorder point − expected lead-time demand) / z
    reorder_point: Array  # the lead-time total's quantile at the service level
    order_up_to: Array  # the (lead time + review) total's quantile at the service level
    stockout_probability: Array  # P(running out within the lead time), open orders arriving on their days
    on_order: Array  # zeros where unknown
    position: Array  # inventory position: available + on order; NaN where there is no balance
    service_level: Array  # the target service level of each series
    # Units due before a reorder placed today could arrive (NaN: the arrival schedule is not known), and the day of
    # the next arrival (0 = the first forecast day; NaN: none known).
    arrivals_before_lead: Array
    next_arrival_day: Array
    lead_time_sd: Array  # the lead time's standard deviation in days (zeros: certain)
    lead_time_observations: NDArray[np.int64]  # receipts it was learnt from (zeros: the declared lead time)


@dataclass
class AnalysisOutput:
    forecast: ForecastResult
    risk: SeriesRisk
    anomalies: list[Anomaly]
    candidates: list[Candidate]
    start: date


# What a candidate's confidence is (``evidence.confidence_kind``): the calibrated probability of running out before a
# reorder placed today could arrive (reorders and the transfers that cover them), or the measured precision of the
# proposal's band (investigations: `anomalies.PRECISION_BY_SEVERITY`; idle stock: `dead_stock.PRECISION_BY_BAND`),
# shown in words.
STOCKOUT_PROBABILITY = "stockout_probability"
MEASURED_PRECISION = "measured_precision"
CONFIDENCE_KINDS = (STOCKOUT_PROBABILITY, MEASURED_PRECISION)
URGENT_PROBABILITY = 0.5  # a stockout this likely before a reorder could arrive makes a replenishment high priority


def _urgency(probability: float, days_of_cover: float, lead_time: float) -> str:
    """A reorder's or transfer's priority: ``high`` when the available stock runs out before a reorder placed today
    could arrive at the current rate, or running out before then is likelier than not; ``medium`` otherwise (the
    position fell below the reorder point, with time to order)."""
    if probability >= URGENT_PROBABILITY or days_of_cover < lead_time:
        return "high"
    return "medium"


def _zeros_for_nan(values: Array | None, size: int) -> Array:
    if values is None:
        return np.zeros(size)
    out: Array = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    return np.maximum(out, 0.0)


def stockout_risk(
    result: ForecastResult, inputs: SeriesInputs, settings: AnalysisSettings, service_level: Array | None = None
) -> SeriesRisk:
    """Reorder point, order-up-to level and stockout probability of every series, on its inventory position.

    ``service_level`` is each series' target (default: ``settings.service_level`` for all, else 0.95). Lead-time
    demand is read from `quantiles` only: the reorder point is the lead-time total's quantile at the target, the
    order-up-to level the (lead time + review period) total's. A lead time learnt from receipts
    (``inputs.lead_time_sd``) widens both totals by μ²·Var(L). The stockout probability is that of running out
    before a reorder placed today could arrive: on the position where the arrival schedule is not known, with each
    open order on its own day where it is (`arrivals`).
    """
    size = len(inputs.available)
    if service_level is None:
        level = np.full(size, settings.service_level if settings.service_level is not None else 0.95)
    else:
        level = np.asarray(service_level, dtype=np.float64)
    lead = np.where(
        np.isfinite(inputs.lead_time_days) & (inputs.lead_time_days > 0),
        inputs.lead_time_days,
        float(settings.default_lead_time_days),
    )
    lead_sd = _zeros_for_nan(inputs.lead_time_sd, size)
    extra = lead_time_variance(result.forecast, lead, lead_sd * lead_sd if inputs.lead_time_sd is not None else None)
    rate = result.forecast[:, :7].mean(axis=1)
    over_lead = expected_demand(result.forecast, lead)
    # The analysis runs nightly: an item just above its reorder point tonight is next looked at tomorrow, so the
    # reorder point protects the lead time plus that day (otherwise the day's demand before the order is placed
    # comes out of the lead time's protection, and the cycle service level falls short of its target).
    reorder_point = np.maximum(demand_quantile(result, lead + settings.analysis_interval_days, level, extra), 0.0)
    cycle = lead + settings.review_days
    order_up_to = np.maximum(demand_quantile(result, cycle, level, extra), reorder_point)
    z = stats.norm.ppf(level)
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma_lead = np.where(z > 0, (reorder_point - over_lead) / z, 0.0)
    available = inputs.available
    on_order = _zeros_for_nan(inputs.on_order, size)
    position = available + on_order
    with np.errstate(divide="ignore", invalid="ignore"):
        cover = np.where(rate > 0, available / rate, np.inf)
    # The chance that demand before a reorder placed today arrives exceeds the inventory position ...
    probability = probability_exceeds(result, lead, position, extra)
    schedule = Schedule.of(inputs.arrival_series, inputs.arrival_day, inputs.arrival_qty, size)
    before_lead = np.zeros(size) if inputs.arrival_series is not None else np.full(size, np.nan)
    next_arrival = np.full(size, np.nan)
    if schedule is not None:
        # ... or, where the schedule is known, of running out before then with each order arriving on its day.
        points = checkpoints(schedule, lead, available)
        at_lead = points.days == lead[points.series]
        point_extra = None if extra is None else np.where(at_lead, extra[points.series], 0.0)
        exceeds = probability_exceeds(result, points.days, points.stock, point_extra, points.series)
        variance = total_variance(result, points.days, points.series)
        running_out = combine(points, exceeds, variance, size)
        known = np.unique(points.series)
        probability[known] = running_out[known]
        before_lead = schedule.before(lead, size)
        next_arrival = schedule.next_day(size)
    return SeriesRisk(
        daily_rate=rate,
        days_of_cover=cover,
        lead_time=lead,
        demand_over_lead=over_lead,
        sigma_over_lead=sigma_lead,
        reorder_point=reorder_point,
        order_up_to=order_up_to,
        stockout_probability=probability,
        on_order=on_order,
        position=position,
        service_level=level,
        arrivals_before_lead=before_lead,
        next_arrival_day=next_arrival,
        lead_time_sd=lead_sd,
        lead_time_observations=(
            np.zeros(size, dtype=np.int64)
            if inputs.lead_time_observations is None
            else np.asarray(inputs.lead_time_observations, dtype=np.int64)
        ),
    )


def _arrival_figures(risk: SeriesRisk, first_day: date) -> tuple[list[float | None], list[str | None]]:
    """Per series, the units due before a reorder could arrive and the date of the next arrival (None: nothing on its
    way is known); empty lists when the schedule is not known."""
    known = np.isfinite(risk.arrivals_before_lead)
    if not known.any():
        return [], []
    size = len(risk.lead_time)
    due: list[float | None] = list(_rounded(np.where(known, risk.arrivals_before_lead, 0.0), 2))
    dates: list[str | None] = [None] * size
    days = risk.next_arrival_day
    for row in np.flatnonzero(np.isfinite(days)).tolist():
        dates[row] = (first_day + timedelta(days=max(math.ceil(days[row]), 0))).isoformat()
    return due, dates


def order_quantity(need: Array, min_order_qty: Array | None, order_multiple: Array | None) -> Array:
    """``need`` (whole units, > 0) raised to the minimum order quantity, then up to a multiple of the case pack
    (NaN, None or ≤ 0: none)."""
    size = len(need)
    moq = _zeros_for_nan(min_order_qty, size)
    pack = _zeros_for_nan(order_multiple, size)
    quantity = np.ceil(np.maximum(need, moq) - 1e-9)
    packs = np.ceil(quantity / np.where(pack > 0, pack, 1.0) - 1e-9)
    out: Array = np.where(pack > 0, packs * pack, quantity)
    return out


@dataclass
class ReplenishmentPlan:
    """Reorders and transfers decided together on inventory positions: per short series the need is
    ``order_up_to − position`` (whole units); when its available stock runs out before a reorder could arrive, a
    transfer covers what a surplus location can spare, the reorder the rest (rounded up to the minimum order
    quantity and case pack). Never both for the same units."""

    reorder_rows: list[int]
    reorder_before: list[int]  # the reorder's need before rounding to the minimum order quantity and pack
    reorder_quantity: list[int]
    reorder_covered: list[int]  # units of the need a transfer covers
    transfers: list[tuple[int, int, int, int]]  # short series, from series, quantity, the short one's need
    min_order_qty: list[float | None]  # per series, None where none is known
    order_multiple: list[float | None]


def _known_positive(values: Array | None, size: int) -> list[float | None]:
    if values is None:
        return [None] * size
    array = np.asarray(values, dtype=np.float64)
    known = np.isfinite(array) & (array > 0)
    return [value if ok else None for value, ok in zip(array.tolist(), known.tolist(), strict=True)]


def plan_replenishment(inputs: SeriesInputs, risk: SeriesRisk) -> ReplenishmentPlan:
    """Which series to reorder and which to supply by transfer, and how much (see `ReplenishmentPlan`)."""
    size = len(inputs.available)
    position = risk.position
    with np.errstate(invalid="ignore"):
        below = np.isfinite(position) & (position < risk.reorder_point) & (risk.daily_rate > 0)
        need_all = np.ceil(np.maximum(risk.order_up_to - position, 0.0) - 1e-9)
        # What a location can give without falling below its own order-up-to level (on its position), and no
        # more than it physically has available.
        spare_all = np.floor(np.minimum(position - risk.order_up_to, inputs.available) + 1e-9)
    donor = np.isfinite(spare_all) & (spare_all >= 1) & ~below
    shorts = np.flatnonzero(below & (need_all >= 1))
    need = need_all[shorts].astype(np.int64).tolist()
    covered = [0] * len(shorts)
    transfers: list[tuple[int, int, int, int]] = []
    # A transfer when the available stock runs out before a reorder placed today could arrive (otherwise the
    # reorder alone is in time, and moving a few units between locations is not worth a decision).
    urgent = risk.days_of_cover[shorts] < risk.lead_time[shorts]
    candidates = np.flatnonzero(urgent & np.isin(inputs.item[shorts], inputs.item[donor]))
    if len(candidates):
        # The donors of each item, found once (ascending by series).
        donors = np.flatnonzero(donor)
        by_item = donors[np.argsort(inputs.item[donors], kind="stable")]
        item_sorted = inputs.item[by_item]
        wanted = inputs.item[shorts[candidates]]
        firsts = np.searchsorted(item_sorted, wanted).tolist()
        lasts = np.searchsorted(item_sorted, wanted, side="right").tolist()
        by_item_list = by_item.tolist()
        spare: dict[int, int] = {}
        for index, first, last in zip(candidates.tolist(), firsts, lasts, strict=True):
            short = int(shorts[index])
            best, most = -1, 0
            for other in by_item_list[first:last]:
                left = spare.setdefault(other, int(spare_all[other]))
                if left > most:
                    best, most = other, left
            if best < 0:
                continue
            quantity = min(most, need[index])
            spare[best] = most - quantity
            covered[index] = quantity
            transfers.append((short, best, quantity, need[index]))
    remaining = np.asarray(need, dtype=np.float64) - np.asarray(covered, dtype=np.float64)
    ordering = remaining >= 1
    rows = shorts[ordering]
    moq = None if inputs.min_order_qty is None else np.asarray(inputs.min_order_qty, dtype=np.float64)[rows]
    pack = None if inputs.order_multiple is None else np.asarray(inputs.order_multiple, dtype=np.float64)[rows]
    quantity = order_quantity(remaining[ordering], moq, pack)
    return ReplenishmentPlan(
        reorder_rows=rows.tolist(),
        reorder_before=remaining[ordering].astype(np.int64).tolist(),
        reorder_quantity=quantity.astype(np.int64).tolist(),
        reorder_covered=np.asarray(covered, dtype=np.int64)[ordering].tolist(),
        transfers=transfers,
        min_order_qty=_known_positive(inputs.min_order_qty, size),
        order_multiple=_known_positive(inputs.order_multiple, size),
    )


def _class_names(classes: SeriesClasses, one_level: bool) -> list[str | None]:
    """Each series' ABC/XYZ class as evidence names it; None when one service level applies to all."""
    if one_level:
        return [None] * len(classes.name)
    return list(classes.name)


def _round(value: float, digits: int = 1) -> float:
    return float(round(value, digits))


def _rounded(values: Array, digits: int) -> list[float]:
    """``[round(v, digits) for v in values.tolist()]``, computed for the whole array at once.

    Python's round() rounds the exact binary value to the nearest multiple of 10**-digits (half to even) and
    returns the float nearest to it; numpy's rint(v * 10**digits) / 10**digits gives the same float whenever
    the product is rounded far from a half (its rounding error is below 2**-53 of it, and the division of an
    exact integer is correctly rounded). Values near a half, and the non-finite or huge, take round() itself.
    """
    values = np.asarray(values, dtype=np.float64)
    scale = 10.0**digits
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = values * scale
        result: list[float] = (np.rint(scaled) / scale).tolist()
        size = np.abs(scaled)
        from_half = np.abs(scaled - np.floor(scaled) - 0.5)
        plain = (size < 2.0**50) & (from_half > 1e-9 * np.maximum(size, 1.0))
    doubtful = np.flatnonzero(~plain)
    if len(doubtful):
        exact = values[doubtful].tolist()
        for index, value in zip(doubtful.tolist(), exact, strict=True):
            result[index] = round(value, digits)
    return result


def _trend_word(slope: float, level: float) -> str:
    if level <= 0 or abs(slope) * 14 < 0.15 * level:
        return "stable"
    return "rising" if slope > 0 else "falling"


def _trend_words(slope: Array, level: Array) -> list[str]:
    """``_trend_word`` for every series (the same comparisons, elementwise)."""
    with np.errstate(over="ignore"):  # a huge slope overflows to inf, as Python's float does: "rising"/"falling"
        stable = (level <= 0) | (np.abs(slope) * 14 < 0.15 * level)
    words: list[str] = np.where(stable, "stable", np.where(slope > 0, "rising", "falling")).tolist()
    return words


@contextmanager
def _cycle_collection_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the analysis builds its records.

    A large tenant's analysis creates millions of small dicts and lists (figures, evidence excerpts),
    none of them in a reference cycle; each batch of new objects made the collector walk every object
    still alive, about a quarter of the whole analysis at 100,000 series. Reference counting still
    frees everything as usual; the collector resumes (if it was on) when the analysis returns.

    On resuming, the 2 million objects just made would all sit in the youngest generation: the next
    allocation would start a collection that walks them all (0.15 s at 100,000 series) only to find them
    alive, and ten collections later the middle generation's would walk them again (0.19 s). Instead
    they go straight to the oldest generation (gc.freeze then gc.unfreeze: two list moves, no walk),
    where the next full collection looks at them as at any long-lived object. Objects of the caller's
    that were young then go with them (cyclic garbage among them waits for that full collection).
    Not done when something else froze objects (unfreezing would release them).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
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
    result = forecast_matrix(
        y, horizon=settings.horizon, start_dow=start.weekday(), first_day=inputs.first_movement_day
    )
    classes = classify(y, inputs.item, inputs.unit_cost, settings.classes)
    levels = None if settings.service_level is not None else classes.service_level
    risk = stockout_risk(result, inputs, settings, levels)
    anomalies = demand_anomalies(y, settings.anomalies, window=14)
    if movements is not None and len(movements.size):
        for index, row, p_value, ratio, median in large_transactions(
            movements.series, movements.size, movements.recent, settings.anomalies
        ):
            anomalies.append(
                Anomaly(
                    row,
                    "large_transaction",
                    days - 1 if movements.day is None else int(movements.day[index]),  # dated by the movement
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
    sig = result.signals
    method_names = result.method_names()

    # Every figure an explanation may cite, rounded once for all series (exactly as Python's round() rounds
    # each value) and converted to Python objects once: one value at a time, this cost more than the rest of
    # the analysis.
    available_r = _rounded(inputs.available, 2)
    on_hand_r = _rounded(inputs.on_hand, 2)
    daily_rate_r = _rounded(risk.daily_rate, 2)
    finite_cover = np.isfinite(risk.days_of_cover)
    days_of_cover_r: list[float | None] = [
        value if finite else None
        for value, finite in zip(_rounded(risk.days_of_cover, 1), finite_cover.tolist(), strict=True)
    ]
    lead_time_r = _rounded(risk.lead_time, 1)  # whole days as declared; a mean learnt from receipts to 0.1 day
    lead_sd_r = _rounded(risk.lead_time_sd, 1) if inputs.lead_time_sd is not None else []
    lead_observed = risk.lead_time_observations.tolist() if inputs.lead_time_sd is not None else []
    arrivals_r, next_arrival = _arrival_figures(risk, first_forecast_day)
    demand_over_lead_r = _rounded(risk.demand_over_lead, 1)
    reorder_point_r = _rounded(risk.reorder_point, 1)
    order_up_to_r = _rounded(risk.order_up_to, 1)
    safety_stock_r = _rounded(risk.reorder_point - risk.demand_over_lead, 1)
    on_order_r = _rounded(risk.on_order, 2)
    position_r = _rounded(risk.position, 2)
    service_level_r = _rounded(risk.service_level, 3)
    class_names = _class_names(classes, settings.service_level is not None)
    probability = np.nan_to_num(risk.stockout_probability)
    stockout_r = _rounded(probability, 3)
    ma7_r, ma14_r, ma30_r = _rounded(sig.ma7, 2), _rounded(sig.ma14, 2), _rounded(sig.ma30, 2)
    trend7_r, trend30_r = _rounded(sig.trend7, 3), _rounded(sig.trend30, 3)
    mase_r, mae_r = _rounded(result.mase, 3), _rounded(result.mae, 3)
    trend_words = _trend_words(sig.trend30, sig.ma30)

    # The arrival and learnt-lead-time figures only where the inputs carry them (a schedule; a learnt spread), so
    # that an analysis without them builds the same records as before, at the same cost.
    with_arrivals = inputs.arrival_series is not None
    with_lead_spread = inputs.lead_time_sd is not None

    def figures(row: int) -> dict[str, Any]:
        figs = {
            "available": available_r[row],
            "on_hand": on_hand_r[row],
            "daily_rate": daily_rate_r[row],
            "days_of_cover": days_of_cover_r[row],
            "lead_time_days": lead_time_r[row],
            "demand_over_lead_time": demand_over_lead_r[row],
            "reorder_point": reorder_point_r[row],
            "order_up_to": order_up_to_r[row],
            "safety_stock": safety_stock_r[row],
            "on_order": on_order_r[row],
            "position": position_r[row],
            "review_days": settings.review_days,
            "service_class": class_names[row],
            "stockout_probability": stockout_r[row],
            "ma7": ma7_r[row],
            "ma14": ma14_r[row],
            "ma30": ma30_r[row],
            "trend7": trend7_r[row],
            "trend30": trend30_r[row],
            "trend": trend_words[row],
            "method": method_names[row],
            "mase": mase_r[row],
            "mae": mae_r[row],
            "service_level": service_level_r[row],
        }
        if with_arrivals:
            figs["arrivals_before_lead"] = arrivals_r[row]
            figs["next_arrival"] = next_arrival[row]
        if with_lead_spread:
            figs["lead_time_sd"] = lead_sd_r[row]
            figs["lead_time_observations"] = lead_observed[row]
        return figs

    history_dates = [(start + timedelta(days=col)).isoformat() for col in range(max(0, days - 30), days)]
    forecast_dates = [
        (first_forecast_day + timedelta(days=i)).isoformat() for i in range(min(14, result.forecast.shape[1]))
    ]
    history = y[:, -len(history_dates) :]
    # np.round over all series at once rounds each value exactly as it did one series at a time.
    ahead = len(forecast_dates)
    forecast_rounded = np.round(result.forecast[:, :ahead], 2)
    lo_rounded = np.round(result.lo80[:, :ahead], 2)
    median_rounded = np.round(result.q50[:, :ahead], 2)
    hi_rounded = np.round(result.hi80[:, :ahead], 2)

    def excerpts(rows: list[int]) -> tuple[list[list[dict[str, Any]]], list[list[dict[str, Any]]]]:
        """The dated history and forecast excerpts of each of ``rows`` (one pair per row, repeats included),
        from one conversion of the rows' values to Python floats."""
        index = np.asarray(rows, dtype=np.int64)
        histories = [
            [{"date": day, "demand": value} for day, value in zip(history_dates, values, strict=True)]
            for values in history[index].tolist()
        ]
        forecasts = [
            [
                # lo80/hi80 are the daily q0.1/q0.9 (names kept for compatibility), q50 the median.
                {"date": day, "forecast": f, "lo80": low, "q50": median, "hi80": high}
                for day, f, low, median, high in zip(forecast_dates, f_row, lo_row, q50_row, hi_row, strict=True)
            ]
            for f_row, lo_row, q50_row, hi_row in zip(
                forecast_rounded[index].tolist(),
                lo_rounded[index].tolist(),
                median_rounded[index].tolist(),
                hi_rounded[index].tolist(),
                strict=True,
            )
        ]
        return histories, forecasts

    def evidence(figs: dict[str, Any], history_excerpt: Any, forecast_excerpt: Any, kind: str) -> dict[str, Any]:
        # ``confidence_kind`` says what the candidate's confidence is (`CONFIDENCE_KINDS`), so pages word it right.
        return {"figures": figs, "history": history_excerpt, "forecast": forecast_excerpt, "confidence_kind": kind}

    candidates: list[Candidate] = []
    unit_cost = inputs.unit_cost.tolist()
    stockout = probability.tolist()
    plan = plan_replenishment(inputs, risk)
    base_signals = ["stock_level", "demand_forecast", "lead_time", "forecast_uncertainty"]

    # Reorder: the inventory position is below the reorder point; order what a transfer does not cover, up to
    # the order-up-to level, rounded up to the minimum order quantity and the case pack. (Each record's
    # explanation is written below for all records of the kind at once; the figures cited in it are those of
    # the evidence, so the evidence's figures are the very dict the explanation was made from.)
    all_figures: list[dict[str, Any]] = []
    for row, before, quantity, moved in zip(
        plan.reorder_rows, plan.reorder_before, plan.reorder_quantity, plan.reorder_covered, strict=True
    ):
        figs = figures(row)
        figs.update(
            {
                "quantity": quantity,
                "quantity_before_rounding": before,
                "min_order_qty": plan.min_order_qty[row],
                "order_multiple": plan.order_multiple[row],
                "covered_by_transfer": moved,
            }
        )
        all_figures.append(figs)
    rows = plan.reorder_rows
    english, arabic = explain_many("reorder", all_figures, [inputs.labels[row] for row in rows])
    histories, forecasts = excerpts(rows)
    for row, quantity, figs, en, ar, history_excerpt, forecast_excerpt in zip(
        rows, plan.reorder_quantity, all_figures, english, arabic, histories, forecasts, strict=True
    ):
        cost = unit_cost[row]
        used = list(base_signals)
        if method_names[row] == "ses_weekly":
            used.append("seasonality")
        if method_names[row] == "damped" or trend_words[row] != "stable":
            used.append("demand_trend")
        candidates.append(
            Candidate(
                type="reorder",
                priority=_urgency(stockout[row], float(risk.days_of_cover[row]), float(risk.lead_time[row])),
                series=row,
                quantity=float(quantity),
                value=quantity * cost if math.isfinite(cost) else None,
                confidence=stockout_r[row],  # round(probability, 3), as the figure
                signals_used=used,
                explanation_en=en,
                explanation_ar=ar,
                evidence=evidence(figs, history_excerpt, forecast_excerpt, STOCKOUT_PROBABILITY),
            )
        )

    # Transfer: a location of the same item with stock beyond its own order-up-to level covers what it can of
    # a short location's need; the reorder above was reduced by it.
    all_figures = []
    for short, best, quantity, need in plan.transfers:
        figs = figures(short)
        figs.update(
            {
                "quantity": quantity,
                "need": need,
                "from_available": _round(float(inputs.available[best]), 1),
                "from_days_of_cover": _round(min(float(risk.days_of_cover[best]), 9999.0), 1),
                "from_daily_rate": daily_rate_r[best],
                "from_position": position_r[best],
                "from_order_up_to": order_up_to_r[best],
                "transfer_days": TRANSFER_DAYS,
            }
        )
        all_figures.append(figs)
    english, arabic = explain_many(
        "transfer",
        all_figures,
        [inputs.labels[short] for short, _, _, _ in plan.transfers],
        [inputs.labels[best] for _, best, _, _ in plan.transfers],
    )
    histories, forecasts = excerpts([short for short, _, _, _ in plan.transfers])
    for (short, best, quantity, _need), figs, en, ar, history_excerpt, forecast_excerpt in zip(
        plan.transfers, all_figures, english, arabic, histories, forecasts, strict=True
    ):
        cost = unit_cost[short]
        candidates.append(
            Candidate(
                type="transfer",
                # The short location runs out before a reorder could arrive (why a transfer is proposed at all).
                priority=_urgency(stockout[short], float(risk.days_of_cover[short]), float(risk.lead_time[short])),
                series=short,
                from_series=best,
                quantity=float(quantity),
                value=quantity * cost if math.isfinite(cost) else None,
                # The calibrated chance that the short location runs out before a reorder could arrive: the risk
                # the transfer is for (stockout_probability, as the figure).
                confidence=stockout_r[short],
                signals_used=["stock_level", "demand_forecast", "lead_time", "location_surplus"],
                explanation_en=en,
                explanation_ar=ar,
                evidence=evidence(figs, history_excerpt, forecast_excerpt, STOCKOUT_PROBABILITY),
            )
        )

    # Write-off: stock on hand, idle longer than the dead-stock period, its own history and its usual gaps, and
    # not in its quiet season (`dead_stock`). Where the item sells at another location: a transfer there instead.
    idle_found = idle_stock(
        y,
        inputs.on_hand,
        inputs.last_demand_day,
        inputs.item,
        risk.daily_rate,
        settings.dead_stock_days,
        inputs.first_movement_day,
        inputs.quiet_last_year,
        inputs.source,
    )
    moved_from: dict[int, float] = {}  # units the reorder/transfer plan already moves out of a series
    for candidate in candidates:
        if candidate.type == "transfer" and candidate.from_series is not None:
            moved_from[candidate.from_series] = moved_from.get(candidate.from_series, 0.0) + candidate.quantity
    rows = []
    write_offs: list[tuple[float, float | None, float]] = []  # quantity, value, confidence
    all_figures = []
    moves: list[tuple[int, int, int, float]] = []  # idle series, seller, quantity, confidence
    move_figures: list[dict[str, Any]] = []
    for row, quiet_days, history_days, gap, seller in zip(
        idle_found.rows,
        idle_found.idle_days,
        idle_found.history_days,
        idle_found.longest_gap_days,
        idle_found.seller,
        strict=True,
    ):
        earlier = y[row, : max(1, days - quiet_days)]
        rate = float(earlier.mean()) if inputs.last_demand_day[row] >= 0 else 0.0
        # What the earlier rate would have sold over the idle run: the silence's evidence, whose band's measured
        # precision is the proposal's confidence (`dead_stock.PRECISION_BY_BAND`).
        expected_idle = _round(rate * float(quiet_days), 1)
        confidence = idle_confidence(expected_idle)
        cost = unit_cost[row]
        held = float(inputs.on_hand[row]) - moved_from.get(row, 0.0)
        if seller >= 0:
            # It sells elsewhere: move what the other location sells within the dead-stock period, not write off.
            if row in moved_from:
                continue  # the plan already moves its stock to where it is short
            quantity = math.floor(min(held, math.ceil(float(risk.daily_rate[seller]) * settings.dead_stock_days)))
            if quantity < 1:
                continue
            figs = figures(seller)
            figs.update(
                {
                    "quantity": quantity,
                    "idle_days": quiet_days,
                    "history_days": history_days,
                    "idle_on_hand": _round(float(inputs.on_hand[row]), 1),
                    "expected_idle_sales": expected_idle,
                    "dead_stock_days": settings.dead_stock_days,
                    "transfer_days": TRANSFER_DAYS,
                }
            )
            move_figures.append(figs)
            moves.append((row, seller, quantity, confidence))
            continue
        if held <= 0:
            continue
        value = held * cost if math.isfinite(cost) else None
        figs = figures(row)
        figs.update(
            {
                "idle_days": quiet_days,
                "history_days": history_days if history_days is not None else days,
                "longest_gap_days": gap,
                "expected_idle_sales": expected_idle,
                "quantity": held,
                "value": None if value is None else _round(value, 2),
                "dead_stock_days": settings.dead_stock_days,
            }
        )
        rows.append(row)
        all_figures.append(figs)
        write_offs.append((held, value, confidence))
    # The idle stock's transfers: the explanation speaks of the idle location (the label) and where it sells.
    english, arabic = explain_many(
        "transfer_idle",
        move_figures,
        [inputs.labels[row] for row, _, _, _ in moves],
        [inputs.labels[seller] for _, seller, _, _ in moves],
    )
    histories, forecasts = excerpts([seller for _, seller, _, _ in moves])
    for (row, seller, quantity, confidence), figs, en, ar, history_excerpt, forecast_excerpt in zip(
        moves, move_figures, english, arabic, histories, forecasts, strict=True
    ):
        cost = unit_cost[row]
        candidates.append(
            Candidate(
                type="transfer",
                priority="low",
                series=seller,
                from_series=row,
                quantity=float(quantity),
                value=quantity * cost if math.isfinite(cost) else None,
                confidence=confidence,
                signals_used=["stock_level", "demand_history", "location_surplus"],
                explanation_en=en,
                explanation_ar=ar,
                evidence=evidence(figs, history_excerpt, forecast_excerpt, MEASURED_PRECISION),
            )
        )
    english, arabic = explain_many("write_off", all_figures, [inputs.labels[row] for row in rows])
    histories, forecasts = excerpts(rows)
    for row, (held, value, confidence), figs, en, ar, history_excerpt, forecast_excerpt in zip(
        rows, write_offs, all_figures, english, arabic, histories, forecasts, strict=True
    ):
        candidates.append(
            Candidate(
                type="write_off",
                priority="low",
                series=row,
                quantity=held,
                value=value,
                confidence=confidence,
                signals_used=["stock_level", "demand_history", "unit_cost"],
                explanation_en=en,
                explanation_ar=ar,
                evidence=evidence(figs, history_excerpt, forecast_excerpt, MEASURED_PRECISION),
            )
        )

    # Investigate: one per anomaly (an episode: `services` keeps one alert per episode across nights). The
    # explanation cites the anomaly's figures; the evidence holds the series' figures with the anomaly's own,
    # and the movement days it covers.
    priority = {"critical": "high", "high": "high", "medium": "medium", "low": "low"}
    rows = [anomaly.series for anomaly in anomalies]
    all_figures = []
    by_kind: dict[str, list[int]] = {}
    for index, anomaly in enumerate(anomalies):
        figs = figures(anomaly.series)
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
        all_figures.append(figs)
        by_kind.setdefault(f"investigate_{anomaly.type}", []).append(index)
    english = [""] * len(anomalies)
    arabic = [""] * len(anomalies)
    for kind, members in by_kind.items():
        texts = explain_many(kind, [all_figures[i] for i in members], [inputs.labels[rows[i]] for i in members])
        for index, en, ar in zip(members, *texts, strict=True):
            english[index], arabic[index] = en, ar
    histories, forecasts = excerpts(rows)
    for anomaly, figs, en, ar, history_excerpt, forecast_excerpt in zip(
        anomalies, all_figures, english, arabic, histories, forecasts, strict=True
    ):
        row = anomaly.series
        candidates.append(
            Candidate(
                type="investigate",
                priority=priority[anomaly.severity],
                series=row,
                quantity=anomaly.observed,
                value=None,
                # The share of alerts of this severity that were real on the benchmark (never 1 − p-value).
                confidence=alert_confidence(anomaly.severity),
                signals_used=["anomaly_score", "demand_history"],
                explanation_en=en,
                explanation_ar=ar,
                evidence=evidence(
                    {
                        **figures(row),
                        "anomaly": anomaly.type,
                        "p_value": anomaly.p_value,
                        "zscore": figs["zscore"],
                        **{k: v for k, v in anomaly.details.items()},
                        "occurred_on": (start + timedelta(days=anomaly.day)).isoformat(),
                        "first_day": (start + timedelta(days=anomaly.span()[0])).isoformat(),
                        "last_day": (start + timedelta(days=anomaly.span()[1])).isoformat(),
                        "evidence_strength": evidence_strength(alert_confidence(anomaly.severity)),
                    },
                    history_excerpt,
                    forecast_excerpt,
                    MEASURED_PRECISION,
                ),
                anomaly=anomaly,
            )
        )
    return AnalysisOutput(forecast=result, risk=risk, anomalies=anomalies, candidates=candidates, start=start)
