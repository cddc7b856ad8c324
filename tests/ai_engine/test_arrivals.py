"""Running out before open orders arrive (issue 17): the stockout probability with each open order on its own day
(`atlas.ai_engine.arrivals`), on crafted inputs and against a Monte Carlo simulation of the same demand."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from atlas.ai_engine.analysis import AnalysisSettings, SeriesInputs, analyse_matrix, stockout_risk
from atlas.ai_engine.arrivals import Checkpoints, Schedule, checkpoints, combine
from atlas.ai_engine.forecast import forecast_matrix
from benchmarks.forecast import generate

DAYS = 120
START = date(2026, 8, 3)
ONE_LEVEL = AnalysisSettings(service_level=0.95)


def inputs(
    available: list[float],
    *,
    on_order: list[float] | None = None,
    arrivals: list[tuple[int, float, float]] | None = None,
    lead: float = 14.0,
) -> SeriesInputs:
    count = len(available)
    stock = np.asarray(available, dtype=np.float64)
    entries = arrivals or []
    return SeriesInputs(
        available=stock,
        on_hand=np.maximum(np.nan_to_num(stock), 0.0),
        lead_time_days=np.full(count, lead),
        unit_cost=np.full(count, 10.0),
        item=np.arange(count, dtype=np.int64),
        location=np.zeros(count, dtype=np.int64),
        labels=[(f"SKU-{i}", "WH") for i in range(count)],
        last_demand_day=np.full(count, DAYS - 1, dtype=np.int64),
        on_order=None if on_order is None else np.asarray(on_order, dtype=np.float64),
        arrival_series=None if arrivals is None else np.array([e[0] for e in entries], dtype=np.int64),
        arrival_day=None if arrivals is None else np.array([e[1] for e in entries], dtype=np.float64),
        arrival_qty=None if arrivals is None else np.array([e[2] for e in entries], dtype=np.float64),
    )


def poisson(rates: list[float], seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.poisson(np.asarray(rates)[:, None], (len(rates), DAYS)).astype(np.float64)


def test_checkpoints_are_just_before_each_arrival_and_at_the_lead_time() -> None:
    # Series 0: 2 units on day 2, 1 + 3 on day 5; series 2: 7 already here (day 0), 4 on day 3; series 3: a line
    # with no date (infinite: no sooner than a new order).
    schedule = Schedule.of(
        np.array([2, 0, 0, 0, 2, 3, 1]),
        np.array([3.0, 5.0, 2.0, 5.0, 0.0, np.inf, np.nan]),  # a NaN day is no entry
        np.array([4.0, 1.0, 2.0, 3.0, 7.0, 9.0, 5.0]),
        4,
    )
    assert schedule is not None
    lead = np.array([7.0, 7.0, 7.0, 7.0])
    points = checkpoints(schedule, lead, np.array([10.0, 1.0, 1.0, 1.0]))
    found = sorted(zip(points.series.tolist(), points.days.tolist(), points.stock.tolist(), strict=True))
    assert found == [(0, 2.0, 10.0), (0, 5.0, 12.0), (0, 7.0, 16.0), (2, 3.0, 8.0), (2, 7.0, 12.0), (3, 7.0, 1.0)]
    assert schedule.before(lead, 4).tolist() == [6.0, 0.0, 11.0, 0.0]
    assert np.array_equal(schedule.next_day(4), [2.0, np.nan, 0.0, np.nan], equal_nan=True)
    # The union of the checkpoints' events: at least the largest, at most the sum, near the largest when the later
    # event nearly contains the earlier one; NaN where a series has no checkpoint (or an unknown one).
    pairs = Checkpoints(np.array([0, 0, 1, 2, 2]), np.array([2.0, 7.0, 7.0, 3.0, 7.0]), np.zeros(5))
    probability = np.array([0.1, 0.4, 0.2, 0.3, np.nan])
    combined = combine(pairs, probability, np.array([2.0, 7.0, 7.0, 3.0, 7.0]), 4)
    assert 0.4 <= combined[0] <= 0.5 and combined[1] == pytest.approx(0.2)
    assert np.isnan(combined[2]) and np.isnan(combined[3])
    far = combine(pairs, probability, np.array([1e-6, 7.0, 7.0, 3.0, 7.0]), 4)  # nearly independent: nearly the sum
    assert far[0] == pytest.approx(0.1 + 0.4 - 0.04, abs=0.01)
    assert Schedule.of(np.array([0]), np.array([1.0]), np.array([0.0]), 1) is None  # nothing to arrive


def test_an_order_arriving_after_the_stock_runs_out_does_not_protect_it() -> None:
    y = poisson([10.0, 10.0, 10.0, 10.0])
    # 20 on the shelf (two days of demand) and 200 on order: as a position, safe; but the 200 arrive on day 10
    # (series 0), day 0 (series 1: on the shelf tomorrow morning), after the lead time (series 2), or the schedule
    # is not known (series 3: counted as on the shelf, as before).
    arrivals = [(0, 10.0, 200.0), (1, 0.0, 200.0), (2, 14.0, 200.0)]
    data = inputs([20.0] * 4, on_order=[200.0] * 4, arrivals=arrivals)
    result = forecast_matrix(y, horizon=30, start_dow=START.weekday())
    risk = stockout_risk(result, data, ONE_LEVEL)
    probability = risk.stockout_probability
    assert probability[0] > 0.95 and probability[2] > 0.95
    assert probability[1] < 0.01 and probability[3] < 0.01
    # Only the stockout probability reads the schedule: the reorder decision stays on the position.
    assert np.allclose(risk.position, 220.0)
    assert risk.arrivals_before_lead.tolist() == [200.0, 200.0, 0.0, 0.0]
    assert np.array_equal(risk.next_arrival_day, [10.0, 0.0, 14.0, np.nan], equal_nan=True)


def test_no_schedule_changes_nothing_and_the_figures_say_so() -> None:
    y = poisson([4.0, 6.0])
    plain = analyse_matrix(y, START, inputs([3.0, 5.0], on_order=[30.0, 0.0]), settings=ONE_LEVEL)
    empty = analyse_matrix(y, START, inputs([3.0, 5.0], on_order=[30.0, 0.0], arrivals=[]), settings=ONE_LEVEL)
    assert np.array_equal(plain.risk.stockout_probability, empty.risk.stockout_probability)
    assert np.isnan(plain.risk.arrivals_before_lead).all()
    figures = {c.series: c.evidence["figures"] for c in plain.candidates if c.type == "reorder"}
    assert figures and all("arrivals_before_lead" not in f and "next_arrival" not in f for f in figures.values())
    assert all("lead_time_sd" not in f for f in figures.values())  # nothing learnt: the records as before
    known = {c.series: c.evidence["figures"] for c in empty.candidates if c.type == "reorder"}
    assert all(f["arrivals_before_lead"] == 0.0 and f["next_arrival"] is None for f in known.values())


def test_the_evidence_names_what_arrives_before_a_new_order_and_when() -> None:
    y = poisson([8.0, 8.0])
    data = inputs(
        [5.0, np.nan], on_order=[40.0, 10.0], arrivals=[(0, 3.0, 15.0), (0, 20.0, 25.0), (1, 2.0, 10.0)], lead=7.0
    )
    output = analyse_matrix(y, START, data, settings=ONE_LEVEL)
    reorder = next(c for c in output.candidates if c.type == "reorder" and c.series == 0)
    figures = reorder.evidence["figures"]
    assert figures["arrivals_before_lead"] == 15.0
    assert figures["next_arrival"] == (START + timedelta(days=DAYS + 3)).isoformat()
    assert figures["on_order"] == 40.0 and figures["position"] == 45.0
    assert np.isnan(output.risk.stockout_probability[1])  # no balance: no probability


def test_the_probability_of_running_out_comes_true_at_its_stated_rate() -> None:
    """Generated demand with a known future (`benchmarks.forecast`): stock for part of the lead time, one to three
    orders arriving before it ends; the stated probability against whether the next 14 days did run out (lost
    sales). Counting everything on order as on the shelf states far less than happens."""
    count, lead = 6000, 14
    y, start_dow, _ = generate(count, DAYS + lead, seed=5)
    history, future = y[:, :DAYS], y[:, DAYS:]
    result = forecast_matrix(history, horizon=30, start_dow=start_dow)
    rng = np.random.default_rng(2)
    mean = result.forecast[:, :lead].sum(axis=1)
    available = np.floor(rng.uniform(0.0, 1.0, count) * (mean + 2.0))
    rows = np.repeat(np.arange(count), rng.integers(1, 4, count))
    days = rng.integers(1, lead, len(rows)).astype(np.float64)
    quantity = np.ceil(rng.uniform(0.2, 0.8, len(rows)) * (mean[rows] + 1.0))
    arrivals = list(zip(rows.tolist(), days.tolist(), quantity.tolist(), strict=True))
    data = inputs(available.tolist(), on_order=[0.0] * count, arrivals=arrivals, lead=float(lead))
    stated = stockout_risk(result, data, ONE_LEVEL).stockout_probability
    due = np.zeros((count, lead))
    np.add.at(due, (rows, days.astype(np.int64)), quantity)
    stock, short = available.copy(), np.zeros(count, dtype=bool)
    for day in range(lead):
        stock += due[:, day]
        short |= future[:, day] > stock
        stock = np.maximum(stock - future[:, day], 0.0)
    assert calibration_error(stated, short) <= 0.03, calibration_error(stated, short)
    assert abs(stated.mean() - short.mean()) < 0.02
    on_shelf = inputs(available.tolist(), on_order=due.sum(axis=1).tolist(), lead=float(lead))
    position = stockout_risk(result, on_shelf, ONE_LEVEL).stockout_probability
    assert position.mean() < short.mean() - 0.15
    assert calibration_error(position, short) > 0.1


def calibration_error(predicted: np.ndarray, happened: np.ndarray) -> float:
    bins = np.minimum((predicted * 10).astype(np.int64), 9)
    return float(
        sum(
            abs(predicted[bins == b].mean() - happened[bins == b].mean()) * (bins == b).mean()
            for b in range(10)
            if (bins == b).any()
        )
    )
