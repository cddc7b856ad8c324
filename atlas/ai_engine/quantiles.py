"""Demand over the next days as a distribution: the quantiles and tail probabilities the replenishment policy reads.

The policy (`analysis.py`) asks three questions of a forecast, and only through this module:
- how much demand is expected over the next ``days`` (`expected_demand`);
- the ``level`` quantile of the total demand over the next ``days`` (`demand_quantile`): the reorder point is the
  lead-time total's quantile at the target service level, the order-up-to level the (lead time + review) total's;
- the probability that the total demand over the next ``days`` exceeds ``stock`` (`probability_exceeds`): the
  stockout probability shown to people, which must come true at its stated rate.

``days`` may differ per series and need not be whole. Beyond the forecast's horizon, the last day repeats.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from atlas.ai_engine.forecast import ForecastResult

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


def total_sigma(result: ForecastResult, days: Array) -> Array:
    """The spread of the total demand over ``days``."""
    spread: Array = result.sigma * np.sqrt(days)
    return spread


def demand_quantile(result: ForecastResult, days: Array, level: float | Array) -> Array:
    """The ``level`` quantile of the total demand over ``days`` per series."""
    mean = expected_demand(result.forecast, days)
    quantile: Array = mean + stats.norm.ppf(level) * total_sigma(result, days)
    return quantile


def probability_exceeds(result: ForecastResult, days: Array, stock: Array) -> Array:
    """P(total demand over ``days`` > ``stock``) per series; NaN where ``stock`` is NaN."""
    mean = expected_demand(result.forecast, days)
    spread = total_sigma(result, days)
    with np.errstate(divide="ignore", invalid="ignore"):
        probability = np.where(spread > 0, stats.norm.sf((stock - mean) / spread), (mean > stock).astype(np.float64))
    out: Array = np.where(np.isfinite(stock), probability, np.nan)
    return out
