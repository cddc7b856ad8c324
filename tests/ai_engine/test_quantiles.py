"""Forecast quantiles and the lead-time total's distribution, measured on generated demand with a known truth."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from atlas.ai_engine import count_distribution
from atlas.ai_engine.forecast import ForecastResult, forecast_matrix
from atlas.ai_engine.quantiles import demand_quantile, expected_demand, probability_exceeds, total_variance
from benchmarks.forecast import generate

SERIES = 6000
TRAIN = 120


@pytest.fixture(scope="module")
def generated() -> tuple[np.ndarray, ForecastResult, np.ndarray]:
    y, start_dow, truth = generate(SERIES, TRAIN + 30, seed=11)
    result = forecast_matrix(y[:, :TRAIN], horizon=30, start_dow=start_dow)
    intermittent = np.array([kind.startswith("intermittent") for kind in truth.kind_names()])
    return y, result, intermittent


def tail_misses(actual: np.ndarray, mean: np.ndarray, variance: np.ndarray) -> tuple[float, float]:
    """The share of days below the 0.1 and above the 0.9 quantile, a day on a quantile counted by the share of
    its probability beyond the level (the non-randomised PIT: for counts, 'below q0.1' alone cannot reach 10%
    where a day without demand is more likely than that)."""
    below = count_distribution.cdf(actual - 1.0, mean, variance)
    at_or_below = count_distribution.cdf(actual, mean, variance)
    mass = np.where(at_or_below > below, at_or_below - below, 1.0)
    low = np.clip((0.1 - below) / mass, 0.0, 1.0).mean()
    high = np.clip((at_or_below - 0.9) / mass, 0.0, 1.0).mean()
    return float(low), float(high)


def test_each_daily_tail_misses_ten_percent(generated: tuple[np.ndarray, ForecastResult, np.ndarray]) -> None:
    y, result, intermittent = generated
    actual = y[:, TRAIN:]
    variance = np.broadcast_to((result.sigma**2)[:, None], actual.shape)
    for members in (intermittent, ~intermittent):
        low, high = tail_misses(actual[members], result.forecast[members], variance[members])
        assert 0.08 <= low <= 0.12, low
        assert 0.08 <= high <= 0.12, high
        # The published quantiles are those of the same distribution: strictly below q0.1 at most 10%, at or
        # below it at least 10% (and the same at q0.9).
        assert (actual[members] < result.q10[members]).mean() <= 0.12
        assert (actual[members] <= result.q10[members]).mean() >= 0.08
        assert (actual[members] > result.q90[members]).mean() <= 0.12
        assert (actual[members] >= result.q90[members]).mean() >= 0.08
    # Intermittent days: the old mid-quantile interval left 17% above it; the 0.9 quantile leaves at most 10%.
    assert (actual[intermittent] > result.q90[intermittent]).mean() < 0.1
    assert (result.q10 <= result.q50).all() and (result.q50 <= result.q90).all()
    assert np.array_equal(result.lo80, result.q10) and np.array_equal(result.hi80, result.q90)


@pytest.mark.parametrize(("days", "floor"), [(3.5, 0.93), (7.0, 0.93), (14.0, 0.93)])
def test_lead_time_total_is_covered_at_the_service_level(
    generated: tuple[np.ndarray, ForecastResult, np.ndarray], days: float, floor: float
) -> None:
    y, result, _ = generated
    whole = int(days)
    actual = y[:, TRAIN : TRAIN + whole].sum(axis=1) + (days - whole) * y[:, TRAIN + whole]
    lead = np.full(SERIES, days)
    reorder_point = demand_quantile(result, lead, 0.95)
    covered = float((actual <= reorder_point).mean())
    # σ·√L with independent daily errors covered 89% at 7 days and 86% at 14 on this data.
    textbook = expected_demand(result.forecast, lead) + stats.norm.ppf(0.95) * result.sigma * np.sqrt(lead)
    assert covered > float((actual <= textbook).mean()) + 0.03
    assert floor <= covered <= 0.98, covered
    counted = total_variance(result, lead) >= expected_demand(result.forecast, lead)
    assert counted.mean() > 0.5
    assert (reorder_point[counted] == np.floor(reorder_point[counted])).all()  # a whole count


@pytest.mark.parametrize("days", [3.5, 7.0, 14.0])
def test_stockout_probability_is_calibrated(
    generated: tuple[np.ndarray, ForecastResult, np.ndarray], days: float
) -> None:
    y, result, _ = generated
    whole = int(days)
    actual = y[:, TRAIN : TRAIN + whole].sum(axis=1) + (days - whole) * y[:, TRAIN + whole]
    lead = np.full(SERIES, days)
    rng = np.random.default_rng(5)
    stock = np.floor(rng.uniform(0.0, 2.5, SERIES) * (expected_demand(result.forecast, lead) + 1.0))
    probability = probability_exceeds(result, lead, stock)
    happened = (actual > stock).astype(np.float64)
    bins = np.minimum((probability * 10).astype(np.int64), 9)
    ece = sum(
        abs(probability[bins == b].mean() - happened[bins == b].mean()) * (bins == b).mean()
        for b in range(10)
        if (bins == b).any()
    )
    assert ece <= 0.03, ece
    assert ((probability >= 0) & (probability <= 1)).all()


def test_count_distribution_edge_cases() -> None:
    mean = np.array([0.0, 2.0, 2.0, 2.0, 50.0])
    variance = np.array([0.0, 2.0, 1.0, 6.0, 500.0])  # none, Poisson, under-dispersed (Poisson), NB, NB
    poisson = stats.poisson(2.0)
    assert count_distribution.ppf(0.9, mean[:1], variance[:1])[0] == 0.0
    assert count_distribution.cdf(np.array([0.0]), mean[:1], variance[:1])[0] == 1.0
    assert count_distribution.ppf(0.9, mean[1:2], variance[1:2])[0] == poisson.ppf(0.9)
    assert count_distribution.ppf(0.9, mean[2:3], variance[2:3])[0] == poisson.ppf(0.9)
    size = 2.0**2 / (6.0 - 2.0)
    negative_binomial = stats.nbinom(size, size / (size + 2.0))
    for level in (0.05, 0.1, 0.5, 0.9, 0.95, 0.999):
        assert count_distribution.ppf(level, mean[3:4], variance[3:4])[0] == negative_binomial.ppf(level)
    # Not whole: X ≤ 2.7 is X ≤ 2; below zero nothing.
    assert count_distribution.cdf(np.array([2.7]), mean[3:4], variance[3:4])[0] == pytest.approx(
        negative_binomial.cdf(2)
    )
    assert count_distribution.cdf(np.array([-0.5]), mean[3:4], variance[3:4])[0] == 0.0
    size = 50.0**2 / 450.0
    assert count_distribution.ppf(0.95, mean[4:], variance[4:])[0] == stats.nbinom(size, size / (size + 50.0)).ppf(0.95)
    # The negative binomial's upper quantile is above the Poisson's of the same mean (right-skewed, wider).
    assert count_distribution.ppf(0.95, mean[3:4], variance[3:4])[0] > poisson.ppf(0.95)


def test_zero_series_and_fractional_days() -> None:
    rng = np.random.default_rng(4)
    y = np.vstack([np.zeros(90), rng.poisson(3.0, 90), rng.poisson(0.4, 90)]).astype(np.float64)
    result = forecast_matrix(y, horizon=14)
    assert (result.q10[0] == 0).all() and (result.q90[0] == 0).all()
    days = np.array([2.5, 2.5, 2.5])
    quantile = demand_quantile(result, days, 0.95)
    assert quantile[0] == 0.0
    assert probability_exceeds(result, days, np.array([0.0, 0.0, 0.0]))[0] == 0.0
    # Longer (and fractional) lead times: more demand to cover, never less.
    longer = demand_quantile(result, np.array([2.5, 3.25, 9.75]), 0.95)
    assert (demand_quantile(result, np.array([2.0, 2.0, 2.0]), 0.95) <= longer).all()
    assert np.isnan(probability_exceeds(result, days, np.array([np.nan, 1.0, 1.0]))[0])
    # Stock below zero is already short: certain.
    assert probability_exceeds(result, days, np.array([-1.0, -1.0, -1.0]))[1] == 1.0
    # A per-series level and days.
    assert demand_quantile(result, np.array([1.0, 7.0, 0.5]), np.array([0.5, 0.95, 0.99])).shape == (3,)
