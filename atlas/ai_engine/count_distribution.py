"""The negative binomial (Poisson where the variance does not exceed the mean) by its mean and variance.

Demand is counted in whole units, right-skewed and over-dispersed; the negative binomial with a given mean and
variance is the count distribution the forecast's quantiles and the policy's lead-time totals are read from.
Vectorised over arrays of means and variances: ``cdf`` is one regularised incomplete beta (or gamma) function,
``ppf`` starts from the gamma distribution's (Wilson–Hilferty) quantile and steps to the exact whole count.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import special
from scipy.special import ndtri

Array = NDArray[np.float64]
Mask = NDArray[np.bool_]
POISSON_SIZE = 1e8  # a negative binomial with a larger size is a Poisson
MAX_STEPS = 200


def _parameters(mean: Array, variance: Array) -> tuple[Array, Array, Mask]:
    """The size r and probability p of the negative binomial, and where it is a Poisson instead."""
    mean = np.maximum(mean, 0.0)
    excess = variance - mean
    with np.errstate(divide="ignore", invalid="ignore"):
        size = np.where(excess > 1e-9 * np.maximum(mean, 1e-300), mean * mean / excess, np.inf)
    poisson = ~(size < POISSON_SIZE)
    safe_size = np.where(poisson, 1.0, size)
    with np.errstate(divide="ignore", invalid="ignore"):
        probability = np.where(poisson, 1.0, safe_size / (safe_size + mean))
    return safe_size, probability, poisson


def cdf(k: Array, mean: Array, variance: Array) -> Array:
    """P(X ≤ k) for every element (k need not be whole: X ≤ k ⇔ X ≤ ⌊k⌋)."""
    k, mean, variance = np.broadcast_arrays(np.floor(k), np.maximum(mean, 0.0), variance)
    size, probability, poisson = _parameters(mean, variance)
    whole = np.maximum(k, 0.0)
    value = np.empty(whole.shape)
    # Each element's own function only (evaluating both and choosing would double the cost).
    with np.errstate(invalid="ignore", divide="ignore"):
        value[poisson] = special.gammaincc(whole[poisson] + 1.0, mean[poisson])
        other = ~poisson
        value[other] = special.betainc(size[other], whole[other] + 1.0, probability[other])
    value = np.where(mean <= 0, 1.0, value)
    result: Array = np.where(k < 0, 0.0, np.where(np.isnan(k), np.nan, value))
    return result


def sf(k: Array, mean: Array, variance: Array) -> Array:
    """P(X > k)."""
    result: Array = 1.0 - cdf(k, mean, variance)
    return result


def ppf(level: Array | float, mean: Array, variance: Array) -> Array:
    """The smallest whole count k with P(X ≤ k) ≥ level (0 where the mean is 0)."""
    level_b, mean_b, variance_b = np.broadcast_arrays(np.asarray(level, dtype=np.float64), mean, variance)
    level_a = np.clip(level_b, 1e-12, 1.0 - 1e-12).ravel()
    mean_a = np.maximum(mean_b, 0.0).ravel()
    variance_a = np.maximum(variance_b, mean_a).ravel()
    # The gamma distribution of the same mean and variance is close (a continuous negative binomial): its
    # quantile by the Wilson–Hilferty cube, less half a unit, is nearly always within a step or two of the answer.
    z = ndtri(level_a)
    with np.errstate(divide="ignore", invalid="ignore"):
        shape = np.where(mean_a > 0, mean_a * mean_a / variance_a, 1.0)
        cube = np.maximum(1.0 - 1.0 / (9.0 * shape) + z / (3.0 * np.sqrt(shape)), 0.0) ** 3
        guess = shape * cube * np.where(mean_a > 0, variance_a / mean_a, 0.0) - 0.5
    k = np.maximum(np.ceil(np.nan_to_num(guess, nan=0.0, posinf=0.0)), 0.0)
    active = np.flatnonzero(mean_a > 0)
    # Up while the mass at or below k is short of the level, then down while one less is enough.
    for _ in range(MAX_STEPS):
        if not active.size:
            break
        short = cdf(k[active], mean_a[active], variance_a[active]) < level_a[active]
        k[active[short]] += 1.0
        active = active[short]
    active = np.flatnonzero((mean_a > 0) & (k > 0))
    for _ in range(MAX_STEPS * 4):
        if not active.size:
            break
        enough = cdf(k[active] - 1.0, mean_a[active], variance_a[active]) >= level_a[active]
        k[active[enough]] -= 1.0
        active = active[enough & (k[active] > 0)]
    k[mean_a <= 0] = 0.0
    result: Array = k.reshape(mean_b.shape)
    return result
