"""Demand forecasting, vectorised over every series of a tenant at once.

Input is a series × day matrix of daily demand (zeros on days without demand). Each
candidate method is a few numpy operations per day over a block of series together; no
Python loop per series and no per-series model fitting. Per series, the method with the
lowest error on its own rolling backtest (4 origins × 14 days by default) is chosen:

* ``ses``        simple exponential smoothing, its level parameter chosen per series;
* ``ses_weekly`` the same with a day-of-week profile, for series whose profile stands out
                 from noise (the profile is shrunk towards flat by how much it does);
* ``damped``     Holt's damped trend, only where the trend is statistically significant;
* ``tsb``        Teunter–Syntetos–Babai, made for intermittent demand (many zero days);
* ``window``     the mean of the last 28 days, a robust fallback.

An undamped moving-average-plus-linear-trend forecast, the textbook reading of "moving
average + trend", measured about 9% worse than exponential smoothing on real retail data,
so it is kept only as an explanatory signal (the moving averages and trends), never as the
forecast.

How it runs: series are taken in blocks of a few thousand, each block turned day-major so
that one day of every series is one contiguous vector (the smoothing recursions then run in
cache). Each method makes a single pass over the days and keeps its state at every backtest
origin and at the end, so the rolling backtest costs no extra pass. A smoothing parameter
is chosen per series, at each origin, by the one-step error up to that origin only. The
methods are fitted to demand with extreme days capped (``_cap_spikes``), so that a single
spike barely moves the forecast, and with past stockouts (improbable runs of zero days that
ended) treated as censored demand (``_censor_stockouts``); the backtest MAE is measured against
demand as it was.

Intervals: for count data (whole numbers) the 80% interval is read from a negative binomial
with the forecast as its mean and the backtest error as its spread. Counts are discrete, so
an interval of exactly 80% does not exist for small counts; the interval is the range of
whole counts whose probability comes closest to 80% (taking mid-quantiles), so that over
many series and days about 80% of actual days fall inside, not the 90% or more a
conservative interval gives on intermittent demand (where it can be just "0 up to the
forecast": about 80% of such days have no demand). Larger counts, very regular counts and
fractional demand get the normal interval.

Measured (benchmarks/forecast.py, see benchmarks/README.md): within about 1% of
statsforecast's AutoETS on MASE and RMSSE at more than a thousand times its speed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray
from scipy import optimize

from atlas.ai_engine import count_distribution

Array = NDArray[np.float64]
Mask = NDArray[np.bool_]

METHODS = ("ses", "ses_weekly", "damped", "tsb", "window")
ALPHAS = np.array([0.01, 0.03, 0.08, 0.15, 0.3, 0.5])
Z80 = 1.2815515655446004
WINDOW = 28
PROFILE_DAYS = 364
PROFILE_HALF_LIFE = 13.0  # weeks
FACTOR_RANGE = (0.1, 5.0)  # a day-of-week factor stays within these multiples of the average day
PROFILE_DECAY = 0.5 ** (1.0 / PROFILE_HALF_LIFE)
TREND_DAYS = 56
PHI = 0.9
DAMPED_ALPHAS = np.array([0.1, 0.3])
DAMPED_BETA = 0.05
TSB_ALPHA = 0.1  # demand size
TSB_BETA = 0.05  # probability of demand
WEEKLY_GAMMA = 0.15  # how fast the running day-of-week profile adapts, per week
WEEKLY_MIN_WEIGHT = 0.33  # the profile may be used where its shrinkage weight exceeds this (F > 1.5)
FIT_DAYS = 364  # the recursions start at most this many days back (older data weighs < 3% at alpha 0.01)
MIN_TRAIN = 28  # a backtest origin needs at least this many days before it
BLOCK = 4096  # series per block
# See _spike_cap. At 3.0 the fence removed 0.6% of all training demand, nearly all of it on one-day spikes,
# which recur in held-out days as well (forecast bias −3.5% on benchmarks/forecast.py's comparison subset);
# at 6.0 one spike of 30 times the level moved a forecast by 5%, at 5.0 by 2-3% (bias −2.7%).
SPIKE_FACTOR = 5.0
SPIKE_DAYS = 56
SPIKE_ROOM = 1.5
SPIKE_ROOM_INTERMITTENT = 3.0
INTERMITTENT_SHARE = 0.7  # share of days with demand below which a series counts as intermittent
STOCKOUT_MIN_DAYS = 4  # a run of zero days this long or longer may be a stockout (as in anomaly detection)
STOCKOUT_P = 1e-3  # ... when the series' share of zero days makes it less likely than this
STOCKOUT_BEFORE = 28  # days before the run whose mean demand replaces it
PRIOR_DAYS = 7.0  # weight, in backtest days, of the Poisson spread in the error spread
MAX_DEMAND = 1e15  # a day's demand is clipped here, so that sums of squares stay finite
DISCRETE_MEAN = 30.0  # below this mean a count forecast gets a negative-binomial interval
DISCRETE_STEPS = 160  # whole counts scanned for it at most (beyond, the normal interval)
LEAD_POWERS = 3  # the lead-time total's variance is a polynomial in L of this degree, without constant
LEVELS = (0.1, 0.5, 0.9)  # the daily quantiles published
CALIBRATION_GRID = np.linspace(0.0, 1.0, 41)
CALIBRATION_SERIES = 5000  # about this many series (evenly spread over the rows) feed the calibration map
CALIBRATION_DAYS = (1, 3, 7, 14)  # the lengths of the backtest totals the calibration map is measured on


def _identity_maps() -> Array:
    result: Array = np.tile(CALIBRATION_GRID, (len(CALIBRATION_DAYS), 1))
    return result


@dataclass
class Signals:
    """The explanatory signals of SPEC 7.3, per series: moving averages and their trends."""

    ma7: Array
    ma14: Array
    ma30: Array
    trend7: Array  # slope of a least-squares line over the window, units per day
    trend14: Array
    trend30: Array
    zero_share: Array
    weekly_strength: Array  # 0 (none) to 1: how much of the variation the day of week explains
    trend_t: Array  # t-statistic of the trend over TREND_DAYS


@dataclass
class ForecastResult:
    method: NDArray[np.int64]  # index into METHODS
    forecast: Array  # series × horizon, expected daily demand
    q10: Array  # series × horizon: the daily demand quantiles 0.1, 0.5 and 0.9
    q50: Array
    q90: Array
    sigma: Array  # daily forecast error (standard deviation), per series
    mae: Array  # backtest mean absolute error of the chosen method
    mase: Array  # the same, scaled by the in-sample one-step naive error
    signals: Signals
    backtest_mae: Array = field(repr=False)  # series × methods
    # series × LEAD_POWERS: the variance of the total demand over L days is sigma² · Σ_k factor_k · L^k, measured
    # by the rolling-origin backtest's sums of errors over 1..backtest_horizon days and pooled over intermittent
    # and over regular series (see _lead_variance_factors).
    lead_factors: Array = field(repr=False, default_factory=lambda: np.zeros((0, LEAD_POWERS)))
    # The calibration maps of total-demand probabilities, one per CALIBRATION_DAYS length of the total: for the
    # model's cumulative probability CALIBRATION_GRID[j], calibration[i, j] is the share of backtest totals over
    # CALIBRATION_DAYS[i] days at or below the model's quantile at that probability (the identity if calibrated).
    calibration: Array = field(repr=False, default_factory=lambda: _identity_maps())

    @property
    def lo80(self) -> Array:
        """The lower end of the 80% interval: the 0.1 quantile."""
        return self.q10

    @property
    def hi80(self) -> Array:
        """The upper end of the 80% interval: the 0.9 quantile."""
        return self.q90

    def method_names(self) -> list[str]:
        return [METHODS[i] for i in self.method]


def _slope(window: Array) -> tuple[Array, Array]:
    """Least-squares slope per row and its t-statistic."""
    n = window.shape[1]
    x = np.arange(n, dtype=np.float64) - (n - 1) / 2
    sxx = float((x * x).sum())
    mean = window.mean(axis=1, keepdims=True)
    slope = ((window - mean) * x).sum(axis=1) / sxx
    residual = window - mean - slope[:, None] * x
    dof = max(n - 2, 1)
    se = np.sqrt((residual * residual).sum(axis=1) / dof / sxx)
    with np.errstate(divide="ignore", invalid="ignore"):
        # A perfectly straight line (no residual at all) is as significant as a trend gets.
        t = np.where(se > 0, slope / se, np.where(slope != 0, np.copysign(np.inf, slope), 0.0))
    return slope, t


def _week_weights(days: int) -> Array:
    """Weights of the whole weeks a profile is measured on, oldest first (the newest weighs 1)."""
    weeks = min(PROFILE_DAYS, days - days % 7 or days) // 7
    result: Array = PROFILE_DECAY ** np.arange(weeks - 1, -1, -1, dtype=np.float64)
    return result


def _profile_weeks(days: int) -> float:
    """The effective number of weeks behind a profile (Kish's effective sample size of the weights)."""
    weights = _week_weights(days)
    return float(weights.sum() ** 2 / (weights * weights).sum()) if len(weights) else 0.0


def _weekly_weight(strength: Array, weeks: float) -> Array:
    """Shrinkage weight of a weekday profile from its strength (between / total sum of squares)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.clip(strength, 0.0, 1.0)
        f_statistic = np.where(share < 1.0, share / (1.0 - share), np.inf) * (7.0 * weeks - 7.0) / 6.0
        weight: Array = np.where(f_statistic > 1.0, 1.0 - 1.0 / f_statistic, 0.0)
    return weight


def weekday_profile(y: Array, start_dow: int) -> tuple[Array, Array]:
    """Multiplicative day-of-week factors (series × 7, aligned to weekday 0..6) and their strength.

    Measured on up to PROFILE_DAYS of whole weeks, recent weeks weighing more (half the weight
    after PROFILE_HALF_LIFE weeks), so that a stable pattern is learnt from a long history and a
    changed one is followed."""
    weights = _week_weights(y.shape[1])
    weeks = len(weights)
    if weeks < 2:
        return np.ones((y.shape[0], 7)), np.zeros(y.shape[0])
    days = weeks * 7
    first_dow = (start_dow + y.shape[1] - days) % 7
    blocks = y[:, -days:].reshape(y.shape[0], weeks, 7)
    share = weights / weights.sum()
    by_position = np.einsum("swd,w->sd", blocks, share)
    overall = by_position.mean(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.where(overall > 0, by_position / overall, 1.0)
    # How much of the variation the weekday explains (a between/total sum-of-squares ratio).
    deviation = blocks - overall[:, :, None]
    total = np.einsum("swd,w->s", deviation * deviation, share)
    between = ((by_position - overall) ** 2).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        strength = np.where(total > 0, between / total, 0.0)
    # Shrink towards 1 by how far the weekday differences stand out from noise (the positive-part
    # James–Stein factor 1 − 1/F of the one-way analysis of variance); keep factors in a sane range.
    weight = _weekly_weight(strength, _profile_weeks(y.shape[1]))[:, None]
    factors = np.clip(1.0 + weight * (raw - 1.0), FACTOR_RANGE[0], FACTOR_RANGE[1])
    factors = factors / factors.mean(axis=1, keepdims=True)
    aligned = np.roll(factors, first_dow, axis=1)  # column d is weekday d
    return aligned, strength


def signals(y: Array, start_dow: int) -> Signals:
    def ma(n: int) -> Array:
        result: Array = y[:, -n:].mean(axis=1)
        return result

    trend7, _ = _slope(y[:, -7:])
    trend14, _ = _slope(y[:, -14:])
    trend30, _ = _slope(y[:, -30:])
    _, trend_t = _slope(y[:, -min(TREND_DAYS, y.shape[1]) :])
    _, strength = weekday_profile(y, start_dow)
    return Signals(
        ma7=ma(7),
        ma14=ma(14),
        ma30=ma(30),
        trend7=trend7,
        trend14=trend14,
        trend30=trend30,
        zero_share=(y == 0).mean(axis=1),
        weekly_strength=strength,
        trend_t=trend_t,
    )


# --------------------------------------------------------------------------- the methods
#
# Each method takes a block of series day-major (``z``: days × series), the days at which to
# forecast (``stops``, ascending; a stop ``s`` uses days ``< s`` only), how many days to
# forecast from each, and the weekday of day 0; it returns one series × length forecast per
# stop, in a single pass over the days.

Method = Callable[[Array, list[int], list[int], int], list[Array]]


def _start(z: Array) -> int:
    return max(0, int(z.shape[0]) - FIT_DAYS)


def _burn_in(days: int, t0: int) -> int:
    """The first day whose one-step error counts when choosing a smoothing parameter."""
    return t0 + min(14, (days - t0) // 2)


def _choose(sse: Array, state: Array) -> Array:
    """Per series, the state of the parameter with the lowest one-step error so far."""
    best = sse.argmin(axis=0)
    result: Array = state[best, np.arange(state.shape[1])]
    return result


def _ses(z: Array, stops: list[int], lengths: list[int], start_dow: int) -> list[Array]:
    days = z.shape[0]
    t0 = _start(z)
    level = np.repeat(z[t0 : t0 + 14].mean(axis=0)[None, :], len(ALPHAS), axis=0)
    sse = np.zeros_like(level)
    error = np.empty_like(level)
    alphas = ALPHAS[:, None]
    burn = _burn_in(days, t0)
    out: list[Array] = []
    pending = list(zip(stops, lengths, strict=True))
    for t in range(t0, days + 1):
        while pending and pending[0][0] == t:
            _, length = pending.pop(0)
            out.append(np.repeat(_choose(sse, level)[:, None], length, axis=1))
        if t == days:
            break
        np.subtract(z[t], level, out=error)
        if t >= burn:
            sse += error * error
        error *= alphas
        level += error
    return out


def _ses_weekly(z: Array, stops: list[int], lengths: list[int], start_dow: int) -> list[Array]:
    """Exponential smoothing with a day-of-week profile, as a ratio: the smoothed demand over the
    smoothed profile factor of the same days, times the profile of the days ahead.

    The level is ``Σ w_t·y_t / Σ w_t·f(t)`` with the smoothing weights ``w_t``, rather than the
    smoothed ``y_t / f(t)``: dividing each day by its own (estimated) factor biases the level
    low (about 2% on weekly retail-like series), the ratio of the two sums does not. The profile
    ``f`` is ``weekday_profile`` of the weeks before the origin; the smoothing parameter is
    chosen per series by the one-step error of the same forecast made with a running profile
    (so that it uses no later data), in a single pass.
    """
    days, count = z.shape
    t0 = _start(z)
    alphas = ALPHAS[:, None]
    head = z[t0 : t0 + 28]
    head_dow = (start_dow + t0 + np.arange(len(head))) % 7
    running = np.ones((7, count))
    for d in range(7):
        if (head_dow == d).any():
            running[d] = head[head_dow == d].mean(axis=0)
    total = running.sum(axis=0)
    demand = np.repeat(z[t0 : t0 + 14].mean(axis=0)[None, :], len(ALPHAS), axis=0)  # smoothed y
    weight = np.ones_like(demand)  # smoothed running factor of the same days
    sse = np.zeros_like(demand)
    error = np.empty_like(demand)
    burn = _burn_in(days, t0)
    y = np.ascontiguousarray(z.T)
    out: list[Array] = []
    pending = list(zip(stops, lengths, strict=True))
    for t in range(t0, days + 1):
        while pending and pending[0][0] == t:
            stop, length = pending.pop(0)
            factors, _ = weekday_profile(y[:, :stop], start_dow)
            # Σ w_t·f(t) for the profile of this origin: the smoothing weight of each weekday.
            age = stop - 1 - np.arange(t0, stop)
            dow = (start_dow + np.arange(t0, stop)) % 7
            by_day = ALPHAS[:, None] * (1.0 - ALPHAS[:, None]) ** age[None, :]
            by_weekday = np.stack([by_day[:, dow == d].sum(axis=1) for d in range(7)], axis=1)  # alphas × 7
            initial = (1.0 - ALPHAS) ** (stop - t0)
            smoothed_factor = initial[:, None] + by_weekday @ factors.T  # alphas × series
            best = sse.argmin(axis=0)
            columns = np.arange(count)
            level = demand[best, columns] / smoothed_factor[best, columns]
            future = (start_dow + stop + np.arange(length)) % 7
            out.append(level[:, None] * factors[:, future])
        if t == days:
            break
        d = (start_dow + t) % 7
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(total > 0, np.clip(7.0 * running[d] / total, FACTOR_RANGE[0], FACTOR_RANGE[1]), 1.0)
            np.divide(demand, weight, out=error)
        error *= factor
        np.subtract(z[t], error, out=error)
        if t >= burn:
            sse += error * error
        demand += alphas * (z[t] - demand)
        weight += alphas * (factor - weight)
        change = WEEKLY_GAMMA * (z[t] - running[d])
        running[d] += change
        total += change
    return out


def _damped(z: Array, stops: list[int], lengths: list[int], start_dow: int) -> list[Array]:
    """Holt's linear method with a damped trend (alpha chosen per series, beta 0.05, phi 0.9)."""
    days = z.shape[0]
    t0 = _start(z)
    alphas = DAMPED_ALPHAS[:, None]
    level = np.repeat(z[t0 : t0 + 14].mean(axis=0)[None, :], len(alphas), axis=0)
    n0 = min(28, days - t0)
    start_slope, _ = _slope(np.ascontiguousarray(z[t0 : t0 + n0].T))
    trend = np.repeat(start_slope[None, :], len(alphas), axis=0)
    sse = np.zeros_like(level)
    burn = _burn_in(days, t0)
    out: list[Array] = []
    pending = list(zip(stops, lengths, strict=True))
    for t in range(t0, days + 1):
        while pending and pending[0][0] == t:
            _, length = pending.pop(0)
            steps = np.cumsum(PHI ** np.arange(1, length + 1))
            final_level, final_trend = _choose(sse, level), _choose(sse, trend)
            out.append(np.maximum(final_level[:, None] + final_trend[:, None] * steps[None, :], 0.0))
        if t == days:
            break
        predicted = level + PHI * trend
        error = z[t] - predicted
        if t >= burn:
            sse += error * error
        new_level = predicted + alphas * error
        trend = PHI * trend + DAMPED_BETA * (new_level - level - PHI * trend)
        level = new_level
    return out


def _tsb(z: Array, stops: list[int], lengths: list[int], start_dow: int) -> list[Array]:
    """TSB: a smoothed probability of demand times a smoothed demand size."""
    days = z.shape[0]
    t0 = _start(z)
    occurs = z > 0
    probability = occurs[t0 : t0 + 28].mean(axis=0)
    head = z[t0 : t0 + 56]
    hits = (head > 0).sum(axis=0)
    size = np.where(hits > 0, head.sum(axis=0) / np.maximum(hits, 1), 0.0)
    out: list[Array] = []
    pending = list(zip(stops, lengths, strict=True))
    for t in range(t0, days + 1):
        while pending and pending[0][0] == t:
            _, length = pending.pop(0)
            out.append(np.repeat((probability * size)[:, None], length, axis=1))
        if t == days:
            break
        demand = occurs[t]
        probability += TSB_BETA * (demand - probability)
        size += np.where(demand, TSB_ALPHA * (z[t] - size), 0.0)
    return out


def _window(z: Array, stops: list[int], lengths: list[int], start_dow: int) -> list[Array]:
    return [
        np.repeat(z[max(0, stop - WINDOW) : stop].mean(axis=0)[:, None], length, axis=1)
        for stop, length in zip(stops, lengths, strict=True)
    ]


RUNNERS: tuple[Method, ...] = (_ses, _ses_weekly, _damped, _tsb, _window)


def _eligible(sig: Signals, weeks: float) -> Mask:
    """Which methods each series may use: the trend only where it is significant, the weekly
    profile only where there is one, intermittent methods only for intermittent series."""
    count = len(sig.ma7)
    allowed = np.ones((count, len(METHODS)), dtype=bool)
    allowed[:, METHODS.index("ses_weekly")] = _weekly_weight(sig.weekly_strength, weeks) > WEEKLY_MIN_WEIGHT
    allowed[:, METHODS.index("damped")] = np.abs(sig.trend_t) > 2.5
    allowed[:, METHODS.index("tsb")] = sig.zero_share > 0.3
    return allowed


# --------------------------------------------------------------------------- intervals


def _count_quantiles(mean: Array, variance: Array) -> tuple[Array, Array, Array, Mask]:
    """The LEVELS quantiles (the smallest whole count k with P(X ≤ k) ≥ level) of a negative binomial
    (Poisson where the variance does not exceed the mean), by scanning the whole counts up from 0. Returns
    q0.1, q0.5, q0.9 and whether the scan reached q0.9 (else the caller falls back to the normal quantiles)."""
    flat_mean = mean.ravel()
    flat_variance = np.maximum(variance.ravel(), flat_mean * (1.0 + 1e-9))
    excess = flat_variance - flat_mean
    with np.errstate(divide="ignore", invalid="ignore"):
        size = np.where(excess > 1e-12 * np.maximum(flat_mean, 1e-300), flat_mean**2 / excess, np.inf)
    poisson = ~np.isfinite(size) | (size > 1e8)
    safe_size = np.where(poisson, 1.0, size)
    # P(0) and the ratio P(k+1)/P(k) = (k + r)/(k + 1) · μ/(r + μ) (Poisson: μ/(k + 1)).
    with np.errstate(divide="ignore", invalid="ignore"):
        p0 = np.where(poisson, np.exp(-flat_mean), np.exp(-safe_size * np.log1p(flat_mean / safe_size)))
        odds = np.where(poisson, flat_mean, flat_mean / (safe_size + flat_mean))
    found = [np.zeros(flat_mean.size, dtype=bool) for _ in LEVELS]
    quantile = [np.zeros(flat_mean.size) for _ in LEVELS]
    active = np.arange(flat_mean.size)
    pmf = p0.copy()
    cdf = np.zeros(flat_mean.size)
    for k in range(DISCRETE_STEPS):
        cdf[active] += pmf[active]
        reached = cdf[active]
        for level, done, value in zip(LEVELS, found, quantile, strict=True):
            new = ~done[active] & (reached >= level - 1e-12)
            value[active[new]] = k
            done[active[new]] = True
        active = active[~found[-1][active]]
        if not active.size:
            break
        ratio = np.where(poisson[active], 1.0 / (k + 1), (k + safe_size[active]) / (k + 1))
        pmf[active] = pmf[active] * ratio * odds[active]
    shape = mean.shape
    q10, q50, q90 = (value.reshape(shape) for value in quantile)
    return q10, q50, q90, found[-1].reshape(shape)


def _daily_quantiles(forecast: Array, sigma: Array, counts: Mask) -> tuple[Array, Array, Array]:
    """The daily 0.1, 0.5 and 0.9 quantiles per series and day: of the negative binomial with the forecast as
    its mean and the backtest's error variance (Poisson where they are equal) for whole counts below
    DISCRETE_MEAN, of the normal distribution otherwise (also where the variance is below the mean: very regular
    demand, which a count distribution would make too wide). The 0.1 quantile is never above the forecast nor the
    0.9 quantile below it (for whole counts this moves no count from one side of a quantile to the other
    unless the mean is a whole count or more beyond it, which a negative binomial's 0.1 and 0.9 quantiles
    almost never are)."""
    spread = Z80 * sigma[:, None]
    q10 = np.maximum(forecast - spread, 0.0)
    q50 = forecast.copy()
    q90 = forecast + spread
    # Negative binomial where the spread is at least Poisson's; below that (very regular demand)
    # the normal quantiles, which may then be narrower than a count distribution allows.
    discrete = counts[:, None] & (forecast < DISCRETE_MEAN) & (sigma[:, None] ** 2 >= forecast)
    # A flat forecast needs its quantiles computed once per series, not once per day.
    flat = (forecast.max(axis=1, initial=0.0) == forecast.min(axis=1, initial=np.inf)) & discrete.all(axis=1)
    todo = discrete & ~flat[:, None]
    todo[:, 0] |= flat
    if todo.any():
        rows, cols = np.nonzero(todo)
        mean = forecast[rows, cols]
        low, middle, high, found = _count_quantiles(mean, (sigma * sigma)[rows])
        q10[rows[found], cols[found]] = np.minimum(low[found], mean[found])
        q50[rows[found], cols[found]] = middle[found]
        q90[rows[found], cols[found]] = np.maximum(high[found], mean[found])
        q10[flat] = q10[flat, :1]
        q50[flat] = q50[flat, :1]
        q90[flat] = q90[flat, :1]
    return q10, q50, q90


# --------------------------------------------------------------------------- the whole


def _spike_cap(window: Array) -> Array:
    """Per row, a far-out fence on the days with demand: their 90th percentile plus SPIKE_FACTOR
    times its distance from their median, but at least 1.5 times that percentile (room for the
    level to grow); infinite for a row without demand."""
    count, n = window.shape
    if n == 0:
        return np.full(count, np.inf)
    share = (window > 0).mean(axis=1)
    ordered = np.sort(window, axis=1)
    rows = np.arange(count)

    def demand_day_quantile(q: float) -> Array:
        rank = np.clip(np.floor((1.0 - (1.0 - q) * share) * (n - 1)), 0, n - 1).astype(np.int64)
        result: Array = ordered[rows, rank]
        return result

    high, middle = demand_day_quantile(0.9), demand_day_quantile(0.5)
    room = np.where(share < INTERMITTENT_SHARE, SPIKE_ROOM_INTERMITTENT, SPIKE_ROOM)
    cap: Array = np.where(high > 0, np.maximum(high + SPIKE_FACTOR * (high - middle), room * high), np.inf)
    return cap


def _cap_spikes(y: Array, origins: list[int]) -> Array:
    """The demand the methods are fitted to, with extreme days capped so that one spike barely
    moves the forecast (the backtest errors are still measured against demand as it was).

    The cap follows the series: the days before the first backtest origin are capped by the
    fence of those days; the days from each origin on (to the next, or to the end) by the fence
    of the SPIKE_DAYS before that origin, so that no backtest uses later data and a growing
    series is not cut down to its old level."""
    fit = y.copy()
    ends = [*origins, y.shape[1]]
    first = ends[0]
    fit[:, :first] = np.minimum(y[:, :first], _spike_cap(y[:, max(0, first - FIT_DAYS) : first])[:, None])
    for start, end in pairwise(ends):
        cap = _spike_cap(y[:, max(0, start - SPIKE_DAYS) : start])
        fit[:, start:end] = np.minimum(y[:, start:end], cap[:, None])
    return fit


def _censor_stockouts(y: Array, fit: Array, stops: list[int]) -> Array:
    """The fitted demand with past stockouts treated as censored, not as zero demand.

    A run of zero days that the series' own share of zero days makes improbable (at least
    STOCKOUT_MIN_DAYS long, probability below STOCKOUT_P) is most likely stock that ran out: the
    demand was there, the sales were not. Fitting to those zeros drags every level down for weeks
    after the shelves are full again, so such a run is replaced by the mean demand of the
    STOCKOUT_BEFORE days before it, which leaves the smoothing recursions where they were. Only
    runs that have ended (demand came back) are censored, as an ongoing run may be the item going
    out of use; a run cut by a backtest origin only if it was improbable by that origin already,
    so that no backtest learns from a later day. Intermittent series are left alone: long gaps
    are what they do.
    """
    count, days = y.shape
    zero = y == 0
    share = zero.mean(axis=1)
    edges = np.diff(np.pad(zero, ((0, 0), (1, 1))).view(np.int8), axis=1)
    rows, starts = np.divmod(np.flatnonzero(edges == 1), days + 1)
    _, ends = np.divmod(np.flatnonzero(edges == -1), days + 1)  # one past each run's last day
    length = ends - starts
    with np.errstate(divide="ignore"):
        log_share = np.log(share[rows])

    def improbable(days_of_zeros: NDArray[np.int64]) -> Mask:
        result: Mask = (days_of_zeros >= STOCKOUT_MIN_DAYS) & (days_of_zeros * log_share < np.log(STOCKOUT_P))
        return result

    keep = improbable(length) & (ends < days) & (share[rows] <= 1.0 - INTERMITTENT_SHARE)
    for stop in stops:
        # A run that a backtest origin cuts must already have been improbable at that origin (the
        # origin's forecast then treats it as a stockout knowing only the days before it).
        keep &= ~((starts < stop) & (stop < ends) & ~improbable(stop - starts))
    if not keep.any():
        return fit
    rows, starts, ends = rows[keep], starts[keep], ends[keep]
    before = np.maximum(starts - STOCKOUT_BEFORE, 0)
    cumulative = np.concatenate([np.zeros((count, 1)), np.cumsum(fit, axis=1)], axis=1)
    span = np.maximum(starts - before, 1)
    level = (cumulative[rows, starts] - cumulative[rows, before]) / span
    lengths = ends - starts
    censored = fit.copy()
    run_rows = np.repeat(rows, lengths)
    run_days = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
    censored[run_rows, run_days] = np.repeat(level, lengths)
    return censored


def _criterion(absolute: Array, squared: Array, signed: Array, sig: Signals) -> Array:
    """The backtest error a method is chosen by: the mean absolute error, plus, for intermittent
    series, the absolute mean error. On intermittent demand the median is below the mean, so MAE
    alone rewards forecasting low; the bias term keeps the choice from drifting low there."""
    intermittent = (sig.zero_share > 0.3)[:, None]
    result: Array = absolute + np.where(intermittent, np.abs(signed), 0.0)
    return result


def _backtest_stops(days: int, backtest_horizon: int, origins: int) -> list[int]:
    return [days - k * backtest_horizon for k in range(origins, 0, -1) if days - k * backtest_horizon >= MIN_TRAIN]


@dataclass
class _BlockStatistics:
    """What a block's backtest contributes to the pooled lead-time variance and the calibration map."""

    ratio_sum: Array  # groups × backtest_horizon: Σ over series of (mean squared L-day error sum) / sigma²
    ratio_count: Array  # groups: series counted
    sample_group: NDArray[np.int64]  # per sampled series: 0 regular, 1 intermittent
    sample_variance: Array  # sampled series × origins: sigma² as measured without that origin
    sample_mean: Array  # sampled series × origins × CALIBRATION_DAYS: the forecast total
    sample_actual: Array  # the same: the actual total


def _forecast_block(
    y: Array, horizon: int, start_dow: int, backtest_horizon: int, origins: int, first: int, sample_every: int
) -> tuple[ForecastResult, _BlockStatistics]:
    count, days = y.shape
    sig = signals(y, start_dow)
    allowed = _eligible(sig, _profile_weeks(days))
    origin_days = _backtest_stops(days, backtest_horizon, origins)
    stops = [*origin_days, days]
    lengths = [backtest_horizon] * len(origin_days) + [horizon]
    fit = _censor_stockouts(y, _cap_spikes(y, origin_days), stops)
    absolute = np.zeros((count, len(METHODS)))
    squared = np.zeros((count, len(METHODS)))
    signed = np.zeros((count, len(METHODS)))
    summed = np.zeros((count, len(METHODS), backtest_horizon))  # Σ over origins of (error summed over 1..L days)²
    finals = np.zeros((len(METHODS), count, horizon))
    sample_rows = np.flatnonzero((first + np.arange(count)) % sample_every == 0)
    totals = [days_ for days_ in CALIBRATION_DAYS if days_ <= backtest_horizon]
    sampled = np.zeros((len(METHODS), len(sample_rows), len(origin_days), len(totals)))
    # Per sampled series, method and origin: the absolute, signed and squared errors (to choose the method and its
    # spread without that origin, so that the calibration map sees out-of-sample errors).
    by_origin = np.zeros((3, len(METHODS), len(sample_rows), len(origin_days)))
    fit_by_day = np.ascontiguousarray(fit.T)  # day-major, as the methods read it: transposed once for all of them
    for index, run in enumerate(RUNNERS):
        eligible = allowed[:, index]  # a method only runs where it may be chosen
        if not eligible.any():
            continue
        # Every series (the usual case for most methods): a slice, so that no row selection copies the data.
        members: slice | Mask = slice(None) if eligible.all() else eligible
        z = fit_by_day if isinstance(members, slice) else fit_by_day.compress(eligible, axis=1)
        forecasts = run(z, stops, lengths, start_dow)
        if isinstance(members, slice):
            pick, positions = np.ones(len(sample_rows), dtype=bool), sample_rows
        else:
            pick = eligible[sample_rows]
            positions = (np.cumsum(eligible) - 1)[sample_rows[pick]]
        for number, (origin, predicted) in enumerate(zip(origin_days, forecasts, strict=False)):
            error = predicted - y[members, origin : origin + backtest_horizon]
            absolute[members, index] += np.abs(error).mean(axis=1)
            signed[members, index] += error.mean(axis=1)
            # Totals are measured against demand as it was: a spike during a lead time is demand to serve.
            running = np.cumsum(error, axis=1)
            summed[members, index] += running * running
            # The spread is measured against capped demand: one extreme day should not widen
            # every later interval (anomaly detection reports such days on its own).
            error = predicted - fit[members, origin : origin + backtest_horizon]
            squared[members, index] += (error * error).mean(axis=1)
            if totals:
                sampled[index, pick, number] = np.cumsum(predicted[positions], axis=1)[:, [t - 1 for t in totals]]
                as_was = predicted[positions] - y[sample_rows[pick], origin : origin + backtest_horizon]
                by_origin[0, index, pick, number] = np.abs(as_was).mean(axis=1)
                by_origin[1, index, pick, number] = as_was.mean(axis=1)
                by_origin[2, index, pick, number] = (error[positions] ** 2).mean(axis=1)
        finals[index, members] = forecasts[-1]
    if origin_days:
        absolute /= len(origin_days)
        squared /= len(origin_days)
        signed /= len(origin_days)
        summed /= len(origin_days)
        chosen = np.where(allowed, _criterion(absolute, squared, signed, sig), np.inf).argmin(axis=1)
    else:
        chosen = np.full(count, METHODS.index("ses"))
    rows = np.arange(count)
    final = np.maximum(finals[chosen, rows], 0.0)

    mae = absolute[rows, chosen]
    # Error spread per day: the backtest's, shrunk a little towards the Poisson spread (variance =
    # mean) so that a short lucky backtest does not promise too much.
    backtest_days = len(origin_days) * backtest_horizon
    variance = (backtest_days * squared[rows, chosen] + PRIOR_DAYS * final.mean(axis=1)) / (backtest_days + PRIOR_DAYS)
    sigma = np.sqrt(variance)
    naive = np.abs(np.diff(y, axis=1)).mean(axis=1)
    scale = np.where(naive > 0, naive, np.maximum(y.mean(axis=1), 1.0))
    counts = (y == np.floor(y)).all(axis=1)
    q10, q50, q90 = _daily_quantiles(final, sigma, counts)

    group = (sig.zero_share > 0.3).astype(np.int64)
    usable = (variance > 0) & bool(origin_days)
    ratio_sum = np.zeros((2, backtest_horizon))
    ratio_count = np.zeros(2)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = summed[rows, chosen] / variance[:, None]
    for g in (0, 1):
        members_g = usable & (group == g)
        ratio_sum[g] = ratio[members_g].sum(axis=0)
        ratio_count[g] = members_g.sum()
    actual = np.zeros((len(sample_rows), len(origin_days), len(totals)))
    for number, origin in enumerate(origin_days):
        running_actual = np.cumsum(y[sample_rows, origin : origin + backtest_horizon], axis=1)
        actual[:, number] = running_actual[:, [t - 1 for t in totals]]
    sample_mean, sample_variance = _held_out(
        by_origin, sampled, allowed[sample_rows], sig, sample_rows, final[sample_rows].mean(axis=1), backtest_horizon
    )
    statistics = _BlockStatistics(
        ratio_sum=ratio_sum,
        ratio_count=ratio_count,
        sample_group=group[sample_rows],
        sample_variance=sample_variance,
        sample_mean=sample_mean,
        sample_actual=actual,
    )
    result = ForecastResult(
        method=chosen.astype(np.int64),
        forecast=final,
        q10=q10,
        q50=q50,
        q90=q90,
        sigma=sigma,
        mae=mae,
        mase=mae / scale,
        signals=sig,
        backtest_mae=absolute,
        # The group for now; forecast_matrix puts the pooled factors in.
        lead_factors=np.repeat(group.astype(np.float64)[:, None], LEAD_POWERS, axis=1),
    )
    return result, statistics


def _held_out(
    by_origin: Array,
    sampled: Array,
    allowed: Mask,
    sig: Signals,
    sample_rows: NDArray[np.int64],
    level: Array,
    backtest_horizon: int,
) -> tuple[Array, Array]:
    """For the sampled series, each origin's forecast totals and daily error variance as the engine would have had
    them without that origin: the method chosen, and the spread measured, on the other origins only. (The method
    chosen on every origin has the lowest error there by selection, so its own backtest flatters it: measured
    in-sample, the calibration map would miss that.) With a single origin, the in-sample figures."""
    _, _, count, origins = by_origin.shape
    columns = np.arange(count)
    mean = np.zeros(sampled.shape[1:])
    variance = np.zeros((count, origins))
    sub_signals = Signals(**{f.name: getattr(sig, f.name)[sample_rows] for f in fields(Signals)})
    for origin in range(origins):
        others = [o for o in range(origins) if o != origin] or [origin]
        absolute, signed, squared = (by_origin[k][:, :, others].mean(axis=2).T for k in range(3))
        criterion = np.where(allowed, _criterion(absolute, squared, signed, sub_signals), np.inf)
        chosen = criterion.argmin(axis=1)
        mean[:, origin] = np.maximum(sampled[chosen, columns, origin], 0.0)
        days = len(others) * backtest_horizon
        variance[:, origin] = (days * squared[columns, chosen] + PRIOR_DAYS * level) / (days + PRIOR_DAYS)
    return mean, variance


def _lead_variance_factors(ratio_sum: Array, ratio_count: Array) -> Array:
    """Per group (regular, intermittent), the factors c ≥ 0 of the non-negative least-squares fit
    m(L) ≈ c₁·L + c₂·L² + c₃·L³ to the mean ratio m(L) of the squared L-day error sum to the daily error variance.
    Independent errors give c = (1, 0, 0); an error of the level, the same on every day of the total, the L² part;
    a level that wanders on (a random walk, as in the local-level model behind exponential smoothing) the L³ part.
    A group without a backtest gets independent errors."""
    horizon = ratio_sum.shape[1]
    days = np.arange(1, horizon + 1, dtype=np.float64)
    design = np.stack([days**power for power in range(1, LEAD_POWERS + 1)], axis=1)
    factors = np.zeros((2, LEAD_POWERS))
    factors[:, 0] = 1.0
    for g in range(2):
        if ratio_count[g] < 1 or horizon < LEAD_POWERS:
            continue
        # Relative errors: each L's ratio weighs by its own size, so that the short totals count too.
        weights = 1.0 / np.maximum(days, 1.0)
        factors[g], _ = optimize.nnls(design * weights[:, None], ratio_sum[g] / ratio_count[g] * weights)
    return factors


CALIBRATION_PRIOR = 400.0  # backtest totals' weight of the identity map (no correction) in the calibration map


def _calibration_map(statistics: list[_BlockStatistics], factors: Array) -> Array:
    """Per CALIBRATION_DAYS length, the share of backtest totals at or below each CALIBRATION_GRID probability of
    their forecast distribution (the non-randomised probability integral transform of Czado, Gneiting and Held,
    2009), shrunk towards the identity by CALIBRATION_PRIOR. Where the model is calibrated this is the identity;
    a length longer than the backtest horizon gets the longest measured length's map."""
    maps = _identity_maps()
    group = np.concatenate([s.sample_group for s in statistics])
    variance = np.concatenate([s.sample_variance for s in statistics])
    totals = statistics[0].sample_mean.shape[2]
    if not len(group) or not totals or not statistics[0].sample_mean.shape[1]:
        return maps
    grid = CALIBRATION_GRID
    for index in range(totals):
        mean = np.concatenate([s.sample_mean[:, :, index] for s in statistics])  # sampled series × origins
        actual = np.concatenate([s.sample_actual[:, :, index] for s in statistics])
        length = float(CALIBRATION_DAYS[index])
        powers = length ** np.arange(1, LEAD_POWERS + 1, dtype=np.float64)
        total_variance = variance * (factors[group] * powers).sum(axis=1)[:, None]
        below = count_distribution.cdf(actual - 1.0, mean, total_variance).ravel()
        at_or_below = count_distribution.cdf(actual, mean, total_variance).ravel()
        mass = at_or_below - below
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(
                mass[:, None] > 0,
                np.clip((grid[None, :] - below[:, None]) / mass[:, None], 0.0, 1.0),
                (grid[None, :] >= at_or_below[:, None]).astype(np.float64),
            )
        observed = share.sum(axis=0)
        count = float(len(below))
        calibration = np.maximum.accumulate((observed + CALIBRATION_PRIOR * grid) / (count + CALIBRATION_PRIOR))
        calibration[0], calibration[-1] = 0.0, 1.0
        maps[index:] = calibration  # longer lengths than measured keep the longest measured one's map
    return maps


def _from_own_history(result: ForecastResult, y: Array, first_day: Array | None, window: int) -> None:
    """New items (their first movement fewer than ``window`` days before the end of ``y``: the backtest's span)
    are forecast from their own short history, not from the zeros before it: the mean daily demand since the
    first movement, with the spread of those days (at least Poisson's), as a moving average. In place."""
    if first_day is None:
        return
    days = y.shape[1]
    first = np.asarray(first_day, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        new = np.isfinite(first) & (first > 0) & (first < days) & (days - first < window)
    rows = np.flatnonzero(new)
    if not len(rows):
        return
    level = np.zeros(len(rows))
    spread = np.zeros(len(rows))
    for number, row in enumerate(rows.tolist()):
        own = np.clip(np.nan_to_num(y[row, int(first[row]) :]), 0.0, MAX_DEMAND)
        level[number] = own.mean()
        spread[number] = max(float(own.var(ddof=1)) if len(own) > 1 else 0.0, level[number])
    result.forecast[rows] = level[:, None]
    result.sigma[rows] = np.sqrt(spread)
    counts = (y[rows] == np.floor(y[rows])).all(axis=1)
    q10, q50, q90 = _daily_quantiles(result.forecast[rows], result.sigma[rows], counts)
    result.q10[rows], result.q50[rows], result.q90[rows] = q10, q50, q90
    result.method[rows] = METHODS.index("window")


def forecast_matrix(
    y: Array,
    *,
    horizon: int = 30,
    start_dow: int = 0,
    backtest_horizon: int = 14,
    origins: int = 4,
    first_day: Array | None = None,
) -> ForecastResult:
    """Forecast every row of ``y`` (series × days, oldest first). ``start_dow`` is the weekday
    (Monday 0) of the first column. ``first_day`` (optional) is each series' first movement's column (NaN:
    unknown): a series that began within the backtest's span is forecast from its own days only."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 2 or y.shape[1] < 14:
        raise ValueError("forecasting needs a series × day matrix with at least 14 days")
    if horizon < 1 or backtest_horizon < 1 or origins < 0:
        raise ValueError("horizon and backtest_horizon must be positive and origins not negative")
    sample_every = max(1, -(-y.shape[0] // CALIBRATION_SERIES))
    parts: list[ForecastResult] = []
    statistics: list[_BlockStatistics] = []
    for first in range(0, max(y.shape[0], 1), BLOCK):
        block = y[first : first + BLOCK]
        block = np.where(np.isfinite(block), np.clip(block, 0.0, MAX_DEMAND), 0.0)
        part, block_statistics = _forecast_block(
            block, horizon, start_dow % 7, backtest_horizon, origins, first, sample_every
        )
        parts.append(part)
        statistics.append(block_statistics)
    factors = _lead_variance_factors(
        np.sum([s.ratio_sum for s in statistics], axis=0), np.sum([s.ratio_count for s in statistics], axis=0)
    )
    calibration = _calibration_map(statistics, factors)
    if len(parts) == 1:
        result = parts[0]
    else:
        sig = Signals(**{f.name: np.concatenate([getattr(p.signals, f.name) for p in parts]) for f in fields(Signals)})
        result = ForecastResult(
            method=np.concatenate([p.method for p in parts]),
            forecast=np.concatenate([p.forecast for p in parts]),
            q10=np.concatenate([p.q10 for p in parts]),
            q50=np.concatenate([p.q50 for p in parts]),
            q90=np.concatenate([p.q90 for p in parts]),
            sigma=np.concatenate([p.sigma for p in parts]),
            mae=np.concatenate([p.mae for p in parts]),
            mase=np.concatenate([p.mase for p in parts]),
            signals=sig,
            backtest_mae=np.concatenate([p.backtest_mae for p in parts]),
            lead_factors=np.concatenate([p.lead_factors for p in parts]),
        )
    result.lead_factors = factors[result.lead_factors[:, 0].astype(np.int64)]
    result.calibration = calibration
    _from_own_history(result, y, first_day, backtest_horizon * origins)
    return result
