"""The lead time learnt from receipts (issue 17, `atlas.ai_engine.lead_times`) and the lead-time total widened by its
variance, Var(D_L) ≈ Var at E[L] + μ²·Var(L) (`quantiles.lead_time_variance`): pure, on crafted inputs."""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import pytest

from atlas.ai_engine import count_distribution
from atlas.ai_engine.analysis import AnalysisSettings, SeriesInputs, analyse_matrix, stockout_risk
from atlas.ai_engine.forecast import CALIBRATION_DAYS, CALIBRATION_GRID, forecast_matrix
from atlas.ai_engine.lead_times import learn
from atlas.ai_engine.quantiles import demand_quantile, expected_demand, lead_time_variance, total_variance

DAYS = 120
START = date(2026, 8, 3)


def test_without_receipts_the_declared_lead_time_stays_certain() -> None:
    learnt = learn(np.array([7.0, 14.0]), np.zeros(0, dtype=np.int64), np.zeros(0))
    assert learnt.mean.tolist() == [7.0, 14.0]
    assert learnt.sd.tolist() == [0.0, 0.0] and learnt.observations.tolist() == [0, 0]


def test_one_odd_receipt_moves_the_mean_by_a_third_of_its_surprise() -> None:
    learnt = learn(np.array([10.0]), np.array([0]), np.array([31.0]))
    assert learnt.mean[0] == pytest.approx(17.0)  # (2 × 10 + 31) / 3
    # The pooled sample 10, 10, 31: its sample standard deviation.
    assert learnt.sd[0] == pytest.approx(np.std([10, 10, 31], ddof=1))
    # Many receipts outweigh the declared lead time.
    many = learn(np.array([10.0]), np.zeros(40, dtype=np.int64), np.full(40, 16.0))
    assert many.mean[0] == pytest.approx((20 + 640) / 42) and many.observations[0] == 40
    # A receipt far too late (beyond 4 declared lead times) is capped there.
    capped = learn(np.array([5.0]), np.array([0]), np.array([90.0]))
    assert capped.mean[0] == pytest.approx((10 + 20) / 3)


def test_a_location_with_few_receipts_learns_from_its_items_other_locations() -> None:
    # Series 0 and 1: one item at two locations; series 0 has 5 receipts of its own, series 1 one; series 2 another
    # item with none.
    series = np.array([0, 0, 0, 0, 0, 1])
    observed = np.array([9.0, 9.0, 11.0, 11.0, 10.0, 20.0])
    learnt = learn(np.array([7.0, 7.0, 7.0]), series, observed, item=np.array([0, 0, 1]))
    own = learn(np.array([7.0]), np.zeros(5, dtype=np.int64), observed[:5])
    pooled = learn(np.array([7.0]), np.zeros(6, dtype=np.int64), observed)
    assert learnt.mean[0] == pytest.approx(own.mean[0]) and learnt.observations[0] == 5
    assert learnt.mean[1] == pytest.approx(pooled.mean[0]) and learnt.observations[1] == 6
    assert learnt.sd[1] == pytest.approx(pooled.sd[0])
    assert learnt.mean[2] == 7.0 and learnt.sd[2] == 0.0


def _identity(result):  # the calibration map that changes nothing
    return dataclasses.replace(result, calibration=np.tile(CALIBRATION_GRID, (len(CALIBRATION_DAYS), 1)))


def test_the_lead_time_total_adds_the_variance_of_the_lead_time() -> None:
    rng = np.random.default_rng(3)
    y = rng.poisson([[2.0], [6.0]], (2, DAYS)).astype(np.float64)
    result = _identity(forecast_matrix(y, horizon=30, start_dow=START.weekday()))
    lead = np.array([10.0, 10.0])
    extra = lead_time_variance(result.forecast, lead, np.array([9.0, 9.0]))
    assert extra is not None
    rate = expected_demand(result.forecast, lead) / lead
    assert extra == pytest.approx(rate * rate * 9.0)
    assert lead_time_variance(result.forecast, lead, np.zeros(2)) is None  # nothing varies: nothing added
    assert lead_time_variance(result.forecast, lead, None) is None
    mean = expected_demand(result.forecast, lead)
    widened = demand_quantile(result, lead, 0.95, extra)
    assert widened.tolist() == count_distribution.ppf(0.95, mean, total_variance(result, lead) + extra).tolist()
    assert (widened > demand_quantile(result, lead, 0.95)).all()


def test_a_learnt_spread_raises_the_reorder_point_and_covers_random_lead_times() -> None:
    """Poisson demand at 5 a day; lead times 10 days × a lognormal factor: the reorder point from the learnt mean
    and spread covers the demand over the random lead time about as often as promised; the declared one does not."""
    rng = np.random.default_rng(8)
    count = 400
    y = rng.poisson(5.0, (count, DAYS)).astype(np.float64)
    lead = rng.lognormal(np.log(10.0), 0.4, (count, 12)).round().clip(1, 40)
    learnt = learn(np.full(count, 10.0), np.repeat(np.arange(count), 12), lead.ravel())
    inputs = SeriesInputs(
        available=np.zeros(count),
        on_hand=np.zeros(count),
        lead_time_days=learnt.mean,
        unit_cost=np.full(count, 10.0),
        item=np.arange(count, dtype=np.int64),
        location=np.zeros(count, dtype=np.int64),
        labels=[(f"SKU-{i}", "WH") for i in range(count)],
        last_demand_day=np.full(count, DAYS - 1, dtype=np.int64),
        lead_time_sd=learnt.sd,
        lead_time_observations=learnt.observations,
    )
    settings = AnalysisSettings(service_level=0.95, analysis_interval_days=0)
    result = forecast_matrix(y, horizon=60, start_dow=START.weekday())
    with_spread = stockout_risk(result, inputs, settings)
    declared = stockout_risk(
        result, dataclasses.replace(inputs, lead_time_days=np.full(count, 10.0), lead_time_sd=None), settings
    )
    assert (with_spread.reorder_point > declared.reorder_point).all()
    # The next lead time is another draw of the same factor; demand over it is Poisson.
    future = rng.lognormal(np.log(10.0), 0.4, (count, 200)).round().clip(1, 40)
    demand = rng.poisson(5.0 * future)
    covered = (demand <= with_spread.reorder_point[:, None]).mean()
    naive = (demand <= declared.reorder_point[:, None]).mean()
    assert 0.9 <= covered <= 0.98, (covered, naive)
    assert naive < covered - 0.05, (covered, naive)
    # The figures name the learnt lead time, its spread and how many receipts it rests on.
    output = analyse_matrix(y, START, inputs, settings=settings)
    figures = next(c for c in output.candidates if c.type == "reorder").evidence["figures"]
    row = next(c.series for c in output.candidates if c.type == "reorder")
    assert figures["lead_time_days"] == round(float(learnt.mean[row]), 1)
    assert figures["lead_time_sd"] == round(float(learnt.sd[row]), 1)
    assert figures["lead_time_observations"] == 12
