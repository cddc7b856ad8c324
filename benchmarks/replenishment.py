"""Replenishment benchmark: Atlas's policy's decisions, simulated night after night on demand with a known truth.

    .venv/bin/python benchmarks/replenishment.py                         # 300 series × 168 days, 56 warm-up
    .venv/bin/python benchmarks/replenishment.py --series 500 --days 180 # larger
    .venv/bin/python benchmarks/replenishment.py --skip-ets              # without statsforecast (faster)
    .venv/bin/python benchmarks/replenishment.py --atlas /tmp/old-checkout  # another commit's atlas package

Data: ``benchmarks/forecast.py``'s generator (intermittent, smooth, weekly and trending series, with injected
spikes, drops and zero runs; its truth is the demand). No registry package was found that ships real daily retail
demand (see benchmarks/README.md), so the data is generated, and said to be.

The simulation, per policy, on the same demand: the first ``warmup`` days are history only. Then every day ``t``
the morning's receipts are put on the shelf, the day's demand is served from stock (**lost sales**: demand that
finds no stock is gone, it is not backordered), and at night the policy looks at the sales so far (what a shop
sees: demand cut by stockouts), the stock on hand and the open orders, and places orders. An order placed on
night ``t`` with lead time ``L`` is received on the morning of day ``t + L + 1``: it arrives after exactly ``L``
days of demand served without it.

Policies compared in the same run (one item per location, so no transfers):

- **Atlas**: ``atlas.ai_engine.analysis.analyse_matrix`` every night on the last ``window`` days of sales, with
  ``SeriesInputs(available=on_hand, on_hand=on_hand, on_order=open orders, lead_time_days=L)``; each ``reorder``
  candidate is placed as proposed.
- **Textbook (R, S)**: the policy the commercial tools document, reviewed every ``review`` days: order
  ``forecast × (L + R) + z·σ·√L − position`` when positive, with Atlas's own forecast and σ (so only the policy
  differs).
- **AutoETS (R, S)**: the same formula with statsforecast's ``AutoETS(season_length=7)`` forecast and the σ of its
  in-sample residuals (what a planner with statsforecast would build).

Measured after a burn-in of ``warmup + burn`` days: fill rate (served / demand), cycle service level (the share of
replenishment cycles, from one receipt to the day before the next, without a day of unmet demand), stockout days
(days with unmet demand per 1,000 series-days), average stock (units, and days of mean demand), orders placed,
and duplicate orders (an order placed while another for the series is still open and the position, on hand plus
on order, already reached the policy's own reorder point: the order was only needed by ignoring what is on its
way). For Atlas also: how often the reorder point covered the next ``L`` days of true demand (the service level's
promise on the lead-time total), and the calibration of its stockout probability (expected calibration error over
10 bins, against whether the simulation ran out in the next ``L`` days, before an order placed that night could
arrive).

Tails: at 3 origins on the true demand, Atlas's q0.1/q0.9 (its 80% interval bounds) and AutoETS's, per day over 14
days: the share of days below q0.1 and above q0.9 (10% each when calibrated) and the pinball loss of each tail,
for intermittent and other series.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parents[1]

Array = NDArray[np.float64]
SERVICE_LEVEL = 0.95
REVIEW_DAYS = 7
LEAD_TIMES = (7, 14)


# --------------------------------------------------------------------------- the simulation


@dataclass
class Orders:
    """Every order placed, in the order placed."""

    series: list[int] = field(default_factory=list)
    night: list[int] = field(default_factory=list)
    quantity: list[float] = field(default_factory=list)
    arrival: list[int] = field(default_factory=list)  # the morning it is received
    duplicate: list[bool] = field(default_factory=list)


@dataclass
class Decision:
    """What a policy orders tonight, and the position it considers enough (its reorder point)."""

    quantity: Array  # per series, 0 for none
    reorder_point: Array


class Policy(Protocol):
    name: str

    def decide(self, night: int, sales: Array, on_hand: Array, on_order: Array, due: Array) -> Decision | None:
        """Orders for tonight, from the sales of days 0..night; None when the policy does not review tonight.
        ``due[:, k]`` is what arrives on the morning of day ``night + 1 + k`` (the open orders' schedule)."""


@dataclass
class Run:
    """One policy's simulation: the state each day and every order."""

    name: str
    demand: Array  # series × days, the true demand
    lead: NDArray[np.int64]
    warmup: int
    initial: Array  # on hand on the morning of day ``warmup``
    sales: Array  # series × days: served demand (the true demand during the warm-up)
    lost: Array  # series × days: unmet demand
    received: Array  # series × days: received on the morning of each day
    stock: Array  # series × days: on hand at the end of each day
    orders: Orders
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def initial_stock(demand: Array, warmup: int, lead: NDArray[np.int64], review: int) -> Array:
    """Enough for the lead time and a review period at the warm-up's last four weeks' mean rate."""
    rate = demand[:, max(0, warmup - 28) : warmup].mean(axis=1)
    stock: Array = np.ceil(rate * (lead + review))
    return stock


def actual_leads(lead: NDArray[np.int64], days: int, spread: float, seed: int) -> NDArray[np.int64] | None:
    """With ``spread`` > 0, the lead time an order placed on each night actually takes (series × nights): the
    declared lead time times a lognormal factor (median 1, log standard deviation ``spread``; late more often by more
    than early), whole days, at least 1 and at most 4 declared lead times. None: every order takes the declared."""
    if spread <= 0:
        return None
    rng = np.random.default_rng(seed + 7)
    factor = rng.lognormal(0.0, spread, (len(lead), days))
    actual: NDArray[np.int64] = np.clip(np.rint(lead[:, None] * factor), 1, 4 * lead[:, None]).astype(np.int64)
    return actual


def simulate(
    policy: Policy,
    demand: Array,
    lead: NDArray[np.int64],
    warmup: int,
    initial: Array,
    *,
    actual: NDArray[np.int64] | None = None,
    quiet: bool = True,
) -> Run:
    """Run ``policy`` over ``demand`` from day ``warmup`` on; see the module's docstring for the rules. ``actual``:
    the lead time of an order placed on each night (`actual_leads`; None: the declared ``lead``). The policy sees
    each open order due on its expected day (placed + declared lead time; when that has passed, the next morning)."""
    series, days = demand.shape
    sales = np.zeros_like(demand)
    sales[:, :warmup] = demand[:, :warmup]
    lost = np.zeros_like(demand)
    received = np.zeros_like(demand)
    stock = np.zeros_like(demand)
    width = days + 4 * int(lead.max()) + 2
    pipeline = np.zeros((series, width))  # quantity received on each morning
    expected = np.zeros((series, width))  # the same open orders on the morning they are expected
    landing: dict[int, list[tuple[int, int, float]]] = {}  # morning → (series, expected morning, quantity)
    on_hand = initial.astype(np.float64).copy()
    orders = Orders()
    started = time.perf_counter()
    observe = getattr(policy, "receive", None)
    for t in range(warmup, days):
        arriving = pipeline[:, t]
        received[:, t] = arriving
        on_hand += arriving
        for row, due_on, amount in landing.pop(t, []):
            expected[row, due_on] -= amount
        if observe is not None:
            observe(t, np.flatnonzero(arriving > 0))
        served = np.minimum(on_hand, demand[:, t])
        sales[:, t] = served
        lost[:, t] = demand[:, t] - served
        on_hand -= served
        stock[:, t] = on_hand
        if t == days - 1:
            break
        due = expected[:, t + 1 :].copy()
        due[:, 0] += expected[:, : t + 1].sum(axis=1)  # late: expected the next morning
        on_order = due.sum(axis=1)
        decision = policy.decide(t, sales[:, : t + 1], on_hand.copy(), on_order, due)
        if decision is None:
            continue
        quantity = np.where(np.isfinite(decision.quantity), np.maximum(decision.quantity, 0.0), 0.0)
        placed = np.flatnonzero(quantity > 0)
        covered = on_hand + on_order >= decision.reorder_point
        arrival = t + 1 + (lead if actual is None else actual[:, t])
        promised = t + 1 + lead
        pipeline[placed, arrival[placed]] += quantity[placed]
        expected[placed, promised[placed]] += quantity[placed]
        for row in placed.tolist():
            landing.setdefault(int(arrival[row]), []).append((row, int(promised[row]), float(quantity[row])))
            orders.series.append(row)
            orders.night.append(t)
            orders.quantity.append(float(quantity[row]))
            orders.arrival.append(int(arrival[row]))
            orders.duplicate.append(bool(on_order[row] > 0 and covered[row]))
        if not quiet and (t - warmup) % 28 == 0:
            print(f"  {policy.name}: night {t}, {len(orders.series):,} orders so far", file=sys.stderr)
    return Run(
        name=policy.name,
        demand=demand,
        lead=lead,
        warmup=warmup,
        initial=initial,
        sales=sales,
        lost=lost,
        received=received,
        stock=stock,
        orders=orders,
        seconds=time.perf_counter() - started,
    )


@dataclass
class Metrics:
    fill_rate: float
    cycle_service_level: float
    cycles: int
    stockout_days_per_1000: float
    average_stock: float  # units per series
    stock_days: float  # average stock in days of mean demand
    orders: int
    duplicates: int


def cycle_service_level(run: Run, since: int, rows: NDArray[np.bool_] | None = None) -> tuple[float, int]:
    """The share of replenishment cycles without unmet demand, and their number.

    A cycle runs from a receipt's morning to the day before the next receipt, both on or after ``since``.
    """
    good = cycles = 0
    short = run.lost > 0
    chosen = np.ones(run.demand.shape[0], dtype=bool) if rows is None else rows
    for row in np.flatnonzero(chosen).tolist():
        receipts = np.flatnonzero(run.received[row, since:] > 0) + since
        for begin, end in zip(receipts[:-1].tolist(), receipts[1:].tolist(), strict=True):
            cycles += 1
            good += not bool(short[row, begin:end].any())
    return (good / cycles if cycles else float("nan")), cycles


def measure(run: Run, since: int) -> Metrics:
    """The run's figures over days ``since`` and later (orders placed on those nights)."""
    demand = run.demand[:, since:]
    lost = run.lost[:, since:]
    total = float(demand.sum())
    fill = 1.0 - float(lost.sum()) / total if total > 0 else 1.0
    level, cycles = cycle_service_level(run, since)
    stockout_days = float((lost > 0).sum()) / lost.size * 1000.0
    average = float(run.stock[:, since:].mean())
    mean_demand = float(demand.mean())
    night = np.asarray(run.orders.night, dtype=np.int64)
    recent = night >= since
    return Metrics(
        fill_rate=fill,
        cycle_service_level=level,
        cycles=cycles,
        stockout_days_per_1000=stockout_days,
        average_stock=average,
        stock_days=average / mean_demand if mean_demand > 0 else float("nan"),
        orders=int(recent.sum()),
        duplicates=int(np.asarray(run.orders.duplicate, dtype=bool)[recent].sum()),
    )


# --------------------------------------------------------------------------- policies


def _z(level: float) -> float:
    from scipy import stats

    return float(stats.norm.ppf(level))


class AtlasPolicy:
    """Atlas's nightly analysis; its reorder candidates are placed as proposed. ``schedule``: Atlas is told when each
    open order is expected (else only how much is on order); ``learn``: Atlas learns each series' lead time from its
    own orders' receipts (`atlas.ai_engine.lead_times`, the k-th receipt after an order matched to the k-th order
    still waiting, as the loader matches them), else it trusts the declared one."""

    def __init__(
        self,
        modules: Any,
        lead: NDArray[np.int64],
        start: date,
        window: int,
        demand: Array,
        since: int,
        *,
        schedule: bool = True,
        learn: bool = False,
        name: str = "Atlas",
    ) -> None:
        self.name = name
        self.analysis = modules
        self.lead = lead
        self.start = start  # the date of column 0
        self.window = window
        self.demand = demand  # the true demand, to score the promises (never shown to the policy)
        self.since = since
        self.schedule = schedule
        self.learn = learn
        series = len(lead)
        self.unit_cost = np.full(series, 10.0)
        self.labels = [(f"SKU-{i}", "L0") for i in range(series)]
        self.covered: list[NDArray[np.bool_]] = []  # reorder point ≥ next L days' demand, per night
        self.nights: list[int] = []
        self.predicted: list[Array] = []  # stockout probability, per night
        # Whether the next L days' true demand exceeded the stock on hand, and the position (on hand + on order):
        # the events the stated probability describes (on hand before issue 17, the position since).
        self.exceeded_on_hand: list[NDArray[np.bool_]] = []
        self.exceeded_position: list[NDArray[np.bool_]] = []
        self.waiting: list[list[int]] = [[] for _ in range(series)]  # nights of orders not yet received
        self.observed_series: list[int] = []  # lead times observed: series, days from order to receipt
        self.observed_days: list[float] = []
        self.learnt_sd: list[Array] = []

    def receive(self, morning: int, rows: NDArray[np.int64]) -> None:
        """Receipts this morning: each matched to the oldest order of its series still waiting."""
        for row in rows.tolist():
            if self.waiting[row]:
                night = self.waiting[row].pop(0)
                self.observed_series.append(row)
                self.observed_days.append(float(morning - night - 1))

    def decide(self, night: int, sales: Array, on_hand: Array, on_order: Array, due: Array) -> Decision:
        analysis = self.analysis
        first = max(0, sales.shape[1] - self.window)
        history = sales[:, first:]
        has = history > 0
        days = history.shape[1]
        last = np.where(has.any(axis=1), days - 1 - np.argmax(has[:, ::-1], axis=1), -1).astype(np.int64)
        series = len(on_hand)
        fields = {
            "available": on_hand,
            "on_hand": on_hand.copy(),
            "lead_time_days": self.lead.astype(np.float64),
            "unit_cost": self.unit_cost,
            "item": np.arange(series, dtype=np.int64),
            "location": np.zeros(series, dtype=np.int64),
            "labels": self.labels,
            "last_demand_day": last,
        }
        if "on_order" in analysis.SeriesInputs.__dataclass_fields__:
            fields["on_order"] = on_order
        if self.schedule and "arrival_series" in analysis.SeriesInputs.__dataclass_fields__:
            # Each open order on its day: column k of ``due`` arrives before the demand of forecast day k.
            rows, columns = np.nonzero(due)
            fields["arrival_series"] = rows.astype(np.int64)
            fields["arrival_day"] = columns.astype(np.float64)
            fields["arrival_qty"] = due[rows, columns]
        if self.learn:
            from atlas.ai_engine.lead_times import learn

            learnt = learn(
                self.lead.astype(np.float64),
                np.asarray(self.observed_series, dtype=np.int64),
                np.asarray(self.observed_days, dtype=np.float64),
            )
            fields["lead_time_days"] = learnt.mean
            fields["lead_time_sd"] = learnt.sd
            fields["lead_time_observations"] = learnt.observations
            self.learnt_sd.append(learnt.sd)
        inputs = analysis.SeriesInputs(**fields)
        # One service level for every series (the target the cycle service level is held to).
        settings = analysis.AnalysisSettings(service_level=SERVICE_LEVEL)
        output = analysis.analyse_matrix(history, self.start + timedelta(days=first), inputs, None, settings)
        quantity = np.zeros(series)
        for candidate in output.candidates:
            if candidate.type == "reorder":
                quantity[candidate.series] += candidate.quantity
        for row in np.flatnonzero(quantity > 0).tolist():
            self.waiting[row].append(night)
        risk = output.risk
        # Score the promises against the days to come (only where the next L days are in the data).
        if night >= self.since:
            end = night + 1 + self.lead
            inside = end <= self.demand.shape[1]
            cumulative = np.concatenate([np.zeros((series, 1)), np.cumsum(self.demand, axis=1)], axis=1)
            ahead = cumulative[np.arange(series), np.minimum(end, self.demand.shape[1])] - cumulative[:, night + 1]
            self.covered.append(np.where(inside, ahead <= risk.reorder_point, False)[inside])
            self.nights.append(night)
            self.predicted.append(np.nan_to_num(risk.stockout_probability))
            self.exceeded_on_hand.append((ahead > on_hand)[inside])
            self.exceeded_position.append((ahead > on_hand + on_order)[inside])
        return Decision(quantity=quantity, reorder_point=risk.reorder_point)

    def stockouts(self, run: Run) -> tuple[Array, NDArray[np.bool_]]:
        """Each night's stated stockout probability and whether the run did run out (unmet demand) in the next
        ``L`` days, before an order placed that night could arrive; nights whose next ``L`` days end past the data
        are left out."""
        predicted, happened = [], []
        short = run.lost > 0
        days = short.shape[1]
        for night, probability in zip(self.nights, self.predicted, strict=True):
            inside = night + 1 + self.lead <= days
            for row in np.flatnonzero(inside).tolist():
                predicted.append(float(probability[row]))
                happened.append(bool(short[row, night + 1 : night + 1 + int(self.lead[row])].any()))
        return np.asarray(predicted, dtype=np.float64), np.asarray(happened, dtype=bool)


class TextbookPolicy:
    """(R, S) on Atlas's forecast: order ``forecast × (L + R) + z·σ·√L − position`` every R days."""

    name = "Textbook (R, S)"

    def __init__(self, forecast_module: Any, lead: NDArray[np.int64], start_dow: int, window: int, review: int):
        self.forecast = forecast_module
        self.lead = lead.astype(np.float64)
        self.start_dow = start_dow
        self.window = window
        self.review = review
        self.z = _z(SERVICE_LEVEL)
        self.first_night: int | None = None

    def _reviews(self, night: int) -> bool:
        if self.first_night is None:
            self.first_night = night
        return (night - self.first_night) % self.review == 0

    def decide(self, night: int, sales: Array, on_hand: Array, on_order: Array, due: Array) -> Decision | None:
        if not self._reviews(night):
            return None
        first = max(0, sales.shape[1] - self.window)
        result = self.forecast.forecast_matrix(
            sales[:, first:], horizon=int(self.lead.max()) + self.review, start_dow=(self.start_dow + first) % 7
        )
        cumulative = np.cumsum(result.forecast, axis=1)
        over = cumulative[np.arange(len(self.lead)), (self.lead + self.review - 1).astype(np.int64)]
        level = over + self.z * result.sigma * np.sqrt(self.lead)
        return Decision(quantity=np.ceil(level - on_hand - on_order), reorder_point=level)


class EtsPolicy(TextbookPolicy):
    """The same (R, S) formula with statsforecast's AutoETS forecast and its residual σ."""

    name = "AutoETS (R, S)"

    def decide(self, night: int, sales: Array, on_hand: Array, on_order: Array, due: Array) -> Decision | None:
        if not self._reviews(night):
            return None
        first = max(0, sales.shape[1] - self.window)
        horizon = int(self.lead.max()) + self.review
        mean, _, _, sigma = ets_forecast(sales[:, first:], horizon, fitted=True)
        cumulative = np.cumsum(np.maximum(mean, 0.0), axis=1)
        over = cumulative[np.arange(len(self.lead)), (self.lead + self.review - 1).astype(np.int64)]
        level = over + self.z * sigma * np.sqrt(self.lead)
        return Decision(quantity=np.ceil(level - on_hand - on_order), reorder_point=level)


def ets_forecast(history: Array, horizon: int, fitted: bool = False) -> tuple[Array, Array, Array, Array]:
    """AutoETS(season_length=7) per series: mean, q0.1, q0.9 (80% interval) over ``horizon``, in-sample residual σ."""
    import pandas as pd
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    count, days = history.shape
    frame = pd.DataFrame(
        {"unique_id": np.repeat(np.arange(count), days), "ds": np.tile(np.arange(days), count), "y": history.ravel()}
    )
    model = StatsForecast(models=[AutoETS(season_length=7)], freq=1, n_jobs=1)
    out = model.forecast(df=frame, h=horizon, level=[80], fitted=fitted).sort_values(["unique_id", "ds"])
    mean = out["AutoETS"].to_numpy().reshape(count, horizon)
    low = out["AutoETS-lo-80"].to_numpy().reshape(count, horizon)
    high = out["AutoETS-hi-80"].to_numpy().reshape(count, horizon)
    sigma = np.full(count, np.nan)
    if fitted:
        values = model.forecast_fitted_values().sort_values(["unique_id", "ds"])
        residual = (values["y"].to_numpy() - values["AutoETS"].to_numpy()).reshape(count, days)
        sigma = np.nanstd(residual, axis=1)
    return mean, low, high, sigma


# --------------------------------------------------------------------------- tails


def pinball(actual: Array, quantile: Array, tau: float) -> float:
    """Mean pinball (quantile) loss of ``quantile`` at level ``tau``."""
    diff = actual - quantile
    return float(np.mean(np.maximum(tau * diff, (tau - 1.0) * diff)))


def tails(
    forecast_module: Any, demand: Array, start_dow: int, intermittent: NDArray[np.bool_], with_ets: bool
) -> list[tuple[str, str, float, float, float, float, float, float]]:
    """Per forecaster and group of series, over 3 origins × 14 days: the shares of days below, at or below q0.1, above,
    at or above q0.9 (counts: a calibrated q0.1 has below ≤ 10% ≤ at or below), and the pinball loss of each tail."""
    horizon, days = 14, demand.shape[1]
    origins = [days - horizon * k for k in (3, 2, 1)]
    collected: dict[str, list[tuple[Array, Array, Array]]] = {"Atlas": [], "AutoETS": []}
    for origin in origins:
        history, actual = demand[:, :origin], demand[:, origin : origin + horizon]
        result = forecast_module.forecast_matrix(history, horizon=horizon, start_dow=start_dow)
        low = getattr(result, "q10", result.lo80)
        high = getattr(result, "q90", result.hi80)
        collected["Atlas"].append((actual, low[:, :horizon], high[:, :horizon]))
        if with_ets:
            _, ets_low, ets_high, _ = ets_forecast(history, horizon)
            collected["AutoETS"].append((actual, np.maximum(ets_low, 0.0), ets_high))
    rows = []
    for name, parts in collected.items():
        if not parts:
            continue
        actual = np.concatenate([p[0] for p in parts], axis=1)
        low = np.concatenate([p[1] for p in parts], axis=1)
        high = np.concatenate([p[2] for p in parts], axis=1)
        for group, members in (("intermittent", intermittent), ("other", ~intermittent), ("all", intermittent | True)):
            a, lo, hi = actual[members], low[members], high[members]
            rows.append(
                (
                    name,
                    group,
                    float((a < lo).mean()),
                    float((a <= lo).mean()),
                    float((a > hi).mean()),
                    float((a >= hi).mean()),
                    pinball(a, lo, 0.1),
                    pinball(a, hi, 0.9),
                )
            )
    return rows


def calibration_error(predicted: Array, happened: NDArray[np.bool_], bins: int = 10) -> float:
    """Expected calibration error: Σ over equal-width bins of (share of cases) × |mean predicted − observed rate|."""
    if len(predicted) == 0:
        return float("nan")
    index = np.minimum((predicted * bins).astype(np.int64), bins - 1)
    error = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            error += members.mean() * abs(float(predicted[members].mean()) - float(happened[members].mean()))
    return error


# --------------------------------------------------------------------------- main


def _load_atlas(path: str | None) -> tuple[Any, Any, Any]:
    """The analysis and forecast modules, and the generator, from this checkout or ``path``'s ``atlas``."""
    sys.path.insert(0, str(ROOT))
    generator = importlib.import_module("benchmarks.forecast")
    if path is not None:
        for name in [name for name in sys.modules if name == "atlas" or name.startswith("atlas.")]:
            del sys.modules[name]
        sys.path.insert(0, str(Path(path).resolve()))
    analysis = importlib.import_module("atlas.ai_engine.analysis")
    forecast = importlib.import_module("atlas.ai_engine.forecast")
    print(f"atlas from {Path(analysis.__file__).resolve().parents[2]}")
    return analysis, forecast, generator


def reliability(predicted: Array, happened: NDArray[np.bool_], bins: int = 10) -> list[tuple[str, int, float, float]]:
    """Per equal-width bin of the stated probability: its range, cases, mean stated, share that happened."""
    index = np.minimum((predicted * bins).astype(np.int64), bins - 1)
    rows = []
    for b in range(bins):
        members = index == b
        if members.any():
            rows.append(
                (
                    f"{b / bins:.1f}–{(b + 1) / bins:.1f}",
                    int(members.sum()),
                    float(predicted[members].mean()),
                    float(happened[members].mean()),
                )
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=300)
    parser.add_argument("--days", type=int, default=168)
    parser.add_argument("--warmup", type=int, default=56, help="days of history before the first night")
    parser.add_argument("--burn", type=int, default=21, help="days after the warm-up not measured")
    parser.add_argument("--window", type=int, default=120, help="days of sales each analysis sees at most")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-ets", action="store_true", help="no AutoETS policy or tails (no statsforecast)")
    parser.add_argument("--skip-tails", action="store_true", help="no tails table")
    parser.add_argument("--only-tails", action="store_true", help="the tails and pinball losses only")
    parser.add_argument("--atlas", help="a folder holding another version's atlas package (e.g. from git archive)")
    parser.add_argument(
        "--lead-spread",
        type=float,
        default=0.0,
        help="orders take the declared lead time times a lognormal factor with this log standard deviation (0: exact)",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also Atlas told only how much is on order (no arrival days), and Atlas trusting the declared lead times",
    )
    args = parser.parse_args()

    analysis, forecast_module, generator = _load_atlas(args.atlas)
    demand, start_dow, truth = generator.generate(args.series, args.days, args.seed)
    rng = np.random.default_rng(args.seed + 1)
    lead = rng.choice(np.array(LEAD_TIMES, dtype=np.int64), size=args.series)
    actual = actual_leads(lead, args.days, args.lead_spread, args.seed)
    start = date(2026, 1, 5) + timedelta(days=start_dow)  # 2026-01-05 is a Monday
    since = args.warmup + args.burn
    initial = initial_stock(demand, args.warmup, lead, REVIEW_DAYS)
    intermittent = np.char.startswith(np.array(truth.kind_names()), "intermittent")
    spread = "orders take exactly the declared lead time"
    if actual is not None:
        ratio = actual[:, since:] / lead[:, None]
        spread = (
            f"actual lead times: declared × lognormal(0, {args.lead_spread}), whole days "
            f"(mean {ratio.mean():.2f} × declared, sd {ratio.std():.2f})"
        )
    print(
        f"{args.series} series × {args.days} days (seed {args.seed}; {intermittent.mean():.0%} intermittent; "
        f"{(demand == 0).mean():.0%} zero days), warm-up {args.warmup}, measured from day {since}; lead times "
        f"{LEAD_TIMES} days, review {REVIEW_DAYS}, service level {SERVICE_LEVEL:.0%}; lost sales; {spread}"
    )
    if args.only_tails:
        print_tails(forecast_module, demand, start_dow, intermittent, not args.skip_ets)
        return
    learns = "lead_time_sd" in analysis.SeriesInputs.__dataclass_fields__
    atlas_runs: list[AtlasPolicy] = [
        AtlasPolicy(analysis, lead, start, args.window, demand, since, learn=learns, name="Atlas")
    ]
    if args.compare:
        atlas_runs.append(
            AtlasPolicy(
                analysis,
                lead,
                start,
                args.window,
                demand,
                since,
                schedule=False,
                learn=learns,
                name="Atlas, no arrival days",
            )
        )
        if learns:
            atlas_runs.append(
                AtlasPolicy(analysis, lead, start, args.window, demand, since, name="Atlas, declared lead times")
            )
    policies: list[Any] = [*atlas_runs, TextbookPolicy(forecast_module, lead, start_dow, args.window, REVIEW_DAYS)]
    if not args.skip_ets:
        policies.append(EtsPolicy(forecast_module, lead, start_dow, args.window, REVIEW_DAYS))
    runs = [simulate(policy, demand, lead, args.warmup, initial, actual=actual, quiet=False) for policy in policies]

    print(
        "\n| policy | fill rate | cycle service level (cycles) | stockout days /1,000 | average stock (days of "
        "demand) | orders | duplicate orders | seconds |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for run in runs:
        m = measure(run, since)
        print(
            f"| {run.name} | {m.fill_rate:.1%} | {m.cycle_service_level:.1%} ({m.cycles:,}) | "
            f"{m.stockout_days_per_1000:.1f} | {m.average_stock:.1f} ({m.stock_days:.1f}) | {m.orders:,} | "
            f"{m.duplicates:,} | {run.seconds:.0f} |"
        )
    print("\n| policy | " + " | ".join(f"cycle service level, L = {days} days" for days in LEAD_TIMES) + " |")
    print("| --- |" + " --- |" * len(LEAD_TIMES))
    for run in runs:
        parts = [cycle_service_level(run, since, lead == days) for days in LEAD_TIMES]
        print(f"| {run.name} | " + " | ".join(f"{level:.1%} ({count:,})" for level, count in parts) + " |")
    for atlas, run in zip(atlas_runs, runs, strict=False):
        print_promises(atlas, run, lead, args.days)
    if not args.skip_tails:
        print_tails(forecast_module, demand, start_dow, intermittent, not args.skip_ets)


def print_promises(atlas: AtlasPolicy, run: Run, lead: NDArray[np.int64], days: int) -> None:
    """How Atlas's reorder point and stated stockout probability came true in ``run``."""
    print(f"\n{atlas.name}:")
    covered = np.concatenate(atlas.covered) if atlas.covered else np.zeros(0, dtype=bool)
    predicted, happened = atlas.stockouts(run)
    inside = np.concatenate(
        [night + 1 + lead <= days for night in atlas.nights] if atlas.nights else [np.zeros(0, dtype=bool)]
    )
    stated = np.concatenate(atlas.predicted)[inside] if atlas.nights else np.zeros(0)
    for label, events in (("on hand", atlas.exceeded_on_hand), ("the position", atlas.exceeded_position)):
        event = np.concatenate(events) if events else np.zeros(0, dtype=bool)
        print(
            f"  stockout probability against 'the next L days' true demand exceeded {label}': came true "
            f"{event.mean():.3f}, expected calibration error {calibration_error(stated, event):.3f}"
        )
    if atlas.learnt_sd:
        final = atlas.learnt_sd[-1]
        print(f"  learnt lead-time standard deviation on the last night: mean {final.mean():.2f} days")
    print(
        f"  reorder point covered the next L days' demand {covered.mean():.1%} of {len(covered):,} "
        f"series-nights (target {SERVICE_LEVEL:.0%}); stockout probability: mean {predicted.mean():.3f}, came "
        f"true {happened.mean():.3f} (unmet demand before an order placed that night could arrive), expected "
        f"calibration error {calibration_error(predicted, happened):.3f} (target ≤ 0.03)"
    )
    print("\n  | stated probability | series-nights | mean stated | came true |")
    print("  | --- | --- | --- | --- |")
    for label, count, mean, rate in reliability(predicted, happened):
        print(f"  | {label} | {count:,} | {mean:.3f} | {rate:.3f} |")


def print_tails(
    forecast_module: Any, demand: Array, start_dow: int, intermittent: NDArray[np.bool_], with_ets: bool
) -> None:
    print(
        "\n| forecaster | series | below q0.1 (at or below) | above q0.9 (at or above) | pinball q0.1 | pinball q0.9 |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for name, group, below, at_below, above, at_above, loss_low, loss_high in tails(
        forecast_module, demand, start_dow, intermittent, with_ets
    ):
        print(
            f"| {name} | {group} | {below:.1%} ({at_below:.1%}) | {above:.1%} ({at_above:.1%}) | {loss_low:.4f} | "
            f"{loss_high:.4f} |"
        )


if __name__ == "__main__":
    main()
