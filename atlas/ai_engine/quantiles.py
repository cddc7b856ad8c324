"""Demand over the next days as a distribution: the quantiles and tail probabilities the replenishment policy reads.

The policy (`analysis.py`) asks three questions of a forecast, and only through this module:
- how much demand is expected over the next ``days`` (`expected_demand`);
- the ``level`` quantile of the total demand over the next ``days`` (`demand_quantile`): the reorder point is the
  lead-time total's quantile at the target service level, the order-up-to level the (lead time + review) total's;
- the probability that the total demand over the next ``days`` exceeds ``stock`` (`probability_exceeds`): the
  stockout probability shown to people, which must come true at its stated rate.

``days`` may differ per series and need not be whole. Beyond the forecast's horizon, the last day repeats.

The total over ``days`` is a negative binomial (Poisson where its variance does not exceed its mean: demand is
counted in whole units and right-skewed) with the forecast's total as its mean and the variance the rolling-origin
backtest measured for sums of errors over that many days (`total_variance`): σ²·(c₁·L + c₂·L² + c₃·L³), where the
higher powers carry the error of the level that every day of the total shares, and its wandering on. (σ·√L, with
independent daily errors, understated it: the "95%" reorder point covered 88.8% of lead-time demand at L = 7.)
Its probabilities then pass through the calibration map the same backtest measured (`ForecastResult.calibration`),
so that a probability of 0.3 comes true about 30% of the time on this tenant's own history.
See docs/replenishment.md.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr, ndtri

from atlas.ai_engine import count_distribution
from atlas.ai_engine.forecast import CALIBRATION_DAYS, CALIBRATION_GRID, LEAD_POWERS, ForecastResult

Array = NDArray[np.float64]


def expected_demand(forecast: Array, days: Array) -> Array:
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


def total_variance(result: ForecastResult, days: Array, rows: NDArray[np.int64] | None = None) -> Array:
    """The variance of the total demand over ``days``: σ²·(c₁·days + c₂·days² + c₃·days³), as the backtest measured
    it (independent daily errors, σ²·days, where the forecast carries no measured factors). ``rows``: the series
    each element of ``days`` belongs to (default: one element per series, in order)."""
    days = np.maximum(np.asarray(days, dtype=np.float64), 0.0)
    factors = result.lead_factors
    if factors.shape != (len(result.sigma), LEAD_POWERS):
        factors = np.zeros((len(result.sigma), LEAD_POWERS))
        factors[:, 0] = 1.0
    sigma = result.sigma
    if rows is not None:
        factors, sigma = factors[rows], sigma[rows]
    powers = days[:, None] ** np.arange(1, LEAD_POWERS + 1)[None, :]
    variance: Array = sigma**2 * (factors * powers).sum(axis=1)
    return variance


def lead_time_variance(forecast: Array, lead: Array, lead_variance: Array | None) -> Array | None:
    """The part of the lead-time total's variance that comes from the lead time itself being uncertain: μ²·Var(L),
    μ the expected daily demand over the lead time (the standard formula Var(D_L) ≈ E[L]·Var(d) + μ²·Var(L), whose
    first part the backtest's total variance at E[L] already carries). None where no lead time varies."""
    if lead_variance is None:
        return None
    spread = np.nan_to_num(np.asarray(lead_variance, dtype=np.float64), nan=0.0)
    if not (spread > 0).any():
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(lead > 0, expected_demand(forecast, lead) / lead, 0.0)
    extra: Array = rate * rate * np.maximum(spread, 0.0)
    return extra


def total_sigma(result: ForecastResult, days: Array) -> Array:
    """The spread (standard deviation) of the total demand over ``days``."""
    spread: Array = np.sqrt(total_variance(result, days))
    return spread


def _map_weights(result: ForecastResult, days: Array) -> tuple[NDArray[np.int64], Array]:
    """Which two calibration maps a total over ``days`` reads, and the weight of the second (linear in log days)."""
    lengths = np.log(np.asarray(CALIBRATION_DAYS, dtype=np.float64))
    position = np.log(np.clip(np.asarray(days, dtype=np.float64), CALIBRATION_DAYS[0], CALIBRATION_DAYS[-1]))
    first = np.clip(np.searchsorted(lengths, position, side="right") - 1, 0, len(lengths) - 2)
    weight: Array = np.clip((position - lengths[first]) / (lengths[first + 1] - lengths[first]), 0.0, 1.0)
    return first.astype(np.int64), weight


def _through_maps(result: ForecastResult, days: Array, values: Array, inverse: bool) -> Array:
    """``values`` (one per series) through the calibration map of each series' ``days`` (or its inverse)."""
    maps = result.calibration
    if maps.ndim != 2 or maps.shape[0] != len(CALIBRATION_DAYS):
        return values
    first, weight = _map_weights(result, days)
    mapped = np.stack(
        [np.interp(values, m, CALIBRATION_GRID) if inverse else np.interp(values, CALIBRATION_GRID, m) for m in maps]
    )
    columns = np.arange(len(values))
    result_values: Array = (1.0 - weight) * mapped[first, columns] + weight * mapped[first + 1, columns]
    return result_values


def _model_level(result: ForecastResult, days: Array, level: float | Array) -> Array:
    """The model's cumulative probability whose quantile is, by the calibration map, the ``level`` quantile."""
    levels = np.broadcast_to(np.asarray(level, dtype=np.float64), np.shape(days)).astype(np.float64)
    return _through_maps(result, days, levels, inverse=True)


def demand_quantile(
    result: ForecastResult, days: Array, level: float | Array, extra_variance: Array | None = None
) -> Array:
    """The ``level`` quantile of the total demand over ``days`` per series: a whole count, except for very regular
    demand (variance below the mean), whose total is normal (a count distribution would make it too wide).
    ``extra_variance``: added to the total's variance per series (an uncertain lead time, `lead_time_variance`)."""
    mean = expected_demand(result.forecast, days)
    variance = total_variance(result, days)
    if extra_variance is not None:
        variance = variance + extra_variance
    model_level = _model_level(result, days, level)
    counted = count_distribution.ppf(model_level, mean, variance)
    regular = mean + ndtri(model_level) * np.sqrt(variance)
    quantile: Array = np.where(variance < mean, np.maximum(regular, 0.0), counted)
    return quantile


def probability_exceeds(
    result: ForecastResult,
    days: Array,
    stock: Array,
    extra_variance: Array | None = None,
    rows: NDArray[np.int64] | None = None,
) -> Array:
    """P(total demand over ``days`` > ``stock``) per series, calibrated; NaN where ``stock`` is NaN.

    ``rows``: the series each element of ``days`` and ``stock`` belongs to (default: one element per series, in
    order), so that one series can be asked about several totals at once (the running-out checkpoints of
    `arrivals`). ``extra_variance`` (per element): added to the total's variance."""
    forecast = result.forecast if rows is None else result.forecast[rows]
    mean = expected_demand(forecast, days)
    variance = total_variance(result, days, rows)
    if extra_variance is not None:
        variance = variance + extra_variance
    finite = np.isfinite(stock)
    level = np.where(finite, stock, 0.0)
    spread = np.sqrt(variance)
    with np.errstate(divide="ignore", invalid="ignore"):
        regular = np.where(spread > 0, ndtr((level - mean) / spread), (level >= mean).astype(np.float64))
    model = np.where(variance < mean, regular, count_distribution.cdf(level, mean, variance))
    calibrated = 1.0 - _through_maps(result, days, model, inverse=False)
    out: Array = np.where(finite, calibrated, np.nan)
    return out
