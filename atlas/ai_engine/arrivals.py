"""Running out before open orders arrive: the stockout probability with each open order on its own day.

The inventory position (available + on order) decides whether to reorder, but it counts stock on order as if it
were on the shelf today. A planner asks a different question of the stockout probability: will the location run out
(demand finds no stock) before a reorder placed today could arrive, i.e. within the lead time ``L``, given that the
open orders arrive on their own days?

With lost sales, the location runs out before day ``L`` exactly when, at some checkpoint just before an arrival day
``d < L`` (and at ``L``), the demand of the days before it exceeds the available stock plus what arrived before it:
``D(d) > available + Σ arrivals before d`` (stock not used before an arrival is still there after it, so the
events are those of the cumulative demand). Each checkpoint's probability is `quantiles.probability_exceeds` over
``d`` days (calibrated per total length); the probability of running out is their union's, estimated by
`combine` (see there for how, and how well it came true).

The schedule is sparse, one entry per order line: the series (row of the demand matrix), the day it arrives (0 =
the first forecast day, before that day's demand; a day at or before 0 is on the shelf already; infinite: not
known, so no sooner than a reorder placed today), the quantity. Series without entries cost nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr, ndtri, owens_t

Array = NDArray[np.float64]
Rows = NDArray[np.int64]


@dataclass(frozen=True)
class Schedule:
    """The arrival schedule, valid entries only (a day that is not NaN, quantity > 0), sorted by series then day."""

    series: Rows
    day: Array
    quantity: Array

    @classmethod
    def of(cls, series: Rows | None, day: Array | None, quantity: Array | None, size: int) -> Schedule | None:
        """The schedule of the analysis inputs' sparse arrays; None when there is none (or nothing in it)."""
        if series is None or day is None or quantity is None or len(series) == 0:
            return None
        rows = np.asarray(series, dtype=np.int64)
        days = np.asarray(day, dtype=np.float64)
        amounts = np.asarray(quantity, dtype=np.float64)
        valid = (rows >= 0) & (rows < size) & ~np.isnan(days) & np.isfinite(amounts) & (amounts > 0)
        if not valid.any():
            return None
        rows, days, amounts = rows[valid], days[valid], amounts[valid]
        order = np.lexsort((days, rows))
        return cls(rows[order], days[order], amounts[order])

    def before(self, lead: Array, size: int) -> Array:
        """Per series, the units due before ``lead`` days (strictly): what arrives before a new order could."""
        due = self.day < lead[self.series]
        total: Array = np.bincount(self.series[due], weights=self.quantity[due], minlength=size).astype(np.float64)
        return total

    def next_day(self, size: int) -> Array:
        """Per series, the day of its first arrival (NaN: none)."""
        first: Array = np.full(size, np.nan)
        starts = np.flatnonzero(np.r_[True, self.series[1:] != self.series[:-1]])
        first[self.series[starts]] = np.where(np.isfinite(self.day[starts]), self.day[starts], np.nan)
        return first


@dataclass(frozen=True)
class Checkpoints:
    """The totals whose probability of exceeding their stock makes up the running-out probability: per checkpoint,
    its series, its length in days and the stock it must exceed."""

    series: Rows
    days: Array
    stock: Array


def checkpoints(schedule: Schedule, lead: Array, available: Array) -> Checkpoints:
    """Just before each distinct arrival day ``0 < d < L`` of a series, and at ``L``: the demand of the days before
    must exceed the available stock plus the arrivals before that day."""
    series, day, quantity = schedule.series, schedule.day, schedule.quantity
    # Cumulative arrivals within each series, and for each entry the units that arrived strictly before its day
    # (the cumulative total before the first entry of its (series, day) group).
    cumulative = np.cumsum(quantity)
    new_series = np.r_[True, series[1:] != series[:-1]]
    series_base = np.maximum.accumulate(np.where(new_series, np.arange(len(series)), 0))
    offset = cumulative[series_base] - quantity[series_base]
    within = cumulative - offset  # arrivals of the series up to and including this entry
    new_group = new_series | np.r_[True, day[1:] != day[:-1]]
    group_base = np.maximum.accumulate(np.where(new_group, np.arange(len(series)), 0))
    before = within[group_base] - quantity[group_base]
    lead_of = lead[series]
    inside = new_group & (day > 0) & (day < lead_of)
    # At L: everything due before L has arrived.
    last = np.r_[series[1:] != series[:-1], True]
    owners = series[last]
    due = np.bincount(series[day < lead_of], weights=quantity[day < lead_of], minlength=len(lead))[owners]
    return Checkpoints(
        series=np.concatenate([series[inside], owners]),
        days=np.concatenate([day[inside], lead[owners]]),
        stock=np.concatenate([available[series[inside]] + before[inside], available[owners] + due]),
    )


def _both_exceed(z_first: Array, z_second: Array, rho: Array) -> Array:
    """P(X > z_first and Y > z_second) for standard normals of correlation ``rho`` (Owen's T function)."""
    root = np.sqrt(np.maximum(1.0 - rho * rho, 1e-12))
    h = np.where(np.abs(z_first) < 1e-9, 1e-9, z_first)
    k = np.where(np.abs(z_second) < 1e-9, 1e-9, z_second)
    beta = np.where(h * k > 0, 0.0, 0.5)
    below_both = 0.5 * ndtr(h) + 0.5 * ndtr(k) - owens_t(h, (k - rho * h) / (h * root))
    below_both = below_both - owens_t(k, (h - rho * k) / (k * root)) - beta
    out: Array = 1.0 - ndtr(h) - ndtr(k) + below_both
    return out


def combine(points: Checkpoints, probability: Array, variance: Array, size: int) -> Array:
    """P(running out) per series from its checkpoints' probabilities (NaN where a series has none, or one of its
    checkpoints is unknown).

    The events are nested in time and strongly dependent (the same demand runs through all of them): their union
    is at least the largest probability and at most the sum. It is estimated by Hunter's bound along the chain of
    checkpoints in time, Σ P(A_j) − Σ P(A_j−1 and A_j), each pair's joint probability from a Gaussian copula of the
    two probabilities with the correlation of independent increments, √(Var D(d_j−1) / Var D(d_j)) (``variance``:
    each checkpoint's total variance); never below the largest. On generated demand with one to three arrivals
    before the lead time (`tests/ai_engine/test_arrivals.py`), it stated 0.376 where 0.368 came true (ECE 0.014),
    where the largest alone stated 0.342 (ECE 0.027) and independence 0.418 (ECE 0.053)."""
    order = np.lexsort((points.days, points.series))
    series = points.series[order]
    chance = np.clip(probability[order], 1e-15, 1.0 - 1e-15)
    spread = variance[order]
    same = np.r_[False, series[1:] == series[:-1]]
    previous = np.r_[0, np.arange(len(series) - 1)]
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.clip(np.sqrt(np.maximum(spread[previous], 0.0) / spread), 0.0, 0.999)
    rho = np.where(np.isfinite(rho), rho, 0.0)
    z = ndtri(1.0 - np.nan_to_num(chance, nan=0.5))
    both = np.clip(_both_exceed(z[previous], z, rho), 0.0, np.minimum(chance, chance[previous]))
    added = np.where(same, chance - np.nan_to_num(both, nan=0.0), chance)
    total = np.bincount(series, weights=np.nan_to_num(added), minlength=size)
    largest = np.full(size, -np.inf)
    np.maximum.at(largest, series, np.nan_to_num(chance, nan=-np.inf))
    unknown = np.bincount(series, weights=np.isnan(chance).astype(np.float64), minlength=size) > 0
    seen = np.bincount(series, minlength=size) > 0
    combined: Array = np.where(seen & ~unknown, np.clip(np.maximum(total, largest), 0.0, 1.0), np.nan)
    return combined
