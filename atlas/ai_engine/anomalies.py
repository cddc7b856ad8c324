"""Anomaly detection that respects what retail demand is: small counts with many zero days.

Gaussian z-scores and median/MAD flood such series with false alarms (the MAD is zero for
most of them), so the tests here are count-aware: negative-binomial tail probabilities
against the series' own recent level, and a run-length test for zero runs given the
series' usual share of zero days. The z-score is kept only as a displayed signal.
All functions are vectorised over series.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

Array = NDArray[np.float64]
SEVERITIES = ("low", "medium", "high", "critical")


@dataclass(frozen=True)
class AnomalySettings:
    """Per-tenant thresholds."""

    p_threshold: float = 1e-4  # report only what is less likely than this under the series' own level
    day_p_threshold: float = 1e-3  # a single day (tuned on generated data: recall vs false alarms per 1,000 days)
    baseline_days: int = 56
    recent_days: int = 7
    zero_run_min_days: int = 4
    large_ratio: float = 8.0  # a movement this many times the item's median size, and outside its history
    stale_days: int = 3
    dispersion_days: int = 112  # the spread of counts from up to 16 weeks (benchmarks/anomalies.py)


@dataclass
class Anomaly:
    """One detection. Dated by the movement: ``day`` is the column of the demand it is about (a spike's day,
    the first day of a zero run, a week's peak day), and ``first_day``..``last_day`` the days it covers (its
    episode: the next night's detection of overlapping days is the same alert, `same_episode`)."""

    series: int  # row of the demand matrix (or -1 for a balance without demand history)
    type: str
    day: int  # column of the movement it is about
    p_value: float
    severity: str
    zscore: float
    observed: float
    expected: float
    details: dict[str, Any] = field(default_factory=dict)
    first_day: int | None = None  # None: ``day``
    last_day: int | None = None  # None: ``day``

    def span(self) -> tuple[int, int]:
        """The first and last column of the movement days this detection covers."""
        first = self.day if self.first_day is None else self.first_day
        last = self.day if self.last_day is None else self.last_day
        return min(first, self.day), max(last, self.day)


# Two detections of the same series and type whose movement days overlap, or lie this many days apart or
# less, are one episode: one alert, updated by each night that still sees it.
EPISODE_GAP_DAYS = 1


def same_episode(a: tuple[int, int], b: tuple[int, int], gap: int = EPISODE_GAP_DAYS) -> bool:
    """Whether two spans of movement days (first, last; inclusive, any common origin) are one episode."""
    return a[0] <= b[1] + gap and b[0] <= a[1] + gap


# What share of the alerts of each severity were real on the benchmark (`benchmarks/anomalies.py`: episodes
# on generated data that overlap an injected anomaly, nightly analyses over 8 weeks; see benchmarks/README.md).
# An investigation's confidence is this measured precision, never 1 − p-value.
PRECISION_BY_SEVERITY = {"critical": 0.98, "high": 0.91, "medium": 0.73, "low": 0.33}
STRONG_EVIDENCE = 0.8  # a measured precision from here on reads "strong evidence"; below it, "some evidence"


def alert_confidence(severity_band: str) -> float:
    """The calibrated precision of an alert of this severity (the share of such alerts that were real)."""
    return PRECISION_BY_SEVERITY.get(severity_band, PRECISION_BY_SEVERITY["low"])


def evidence_strength(confidence: float) -> str:
    """``strong`` or ``some``: how an investigation's calibrated confidence is put in words."""
    return "strong" if confidence >= STRONG_EVIDENCE else "some"


def severity(p_value: float) -> str:
    if p_value < 1e-7:
        return "critical"
    if p_value < 1e-5:
        return "high"
    if p_value < 1e-4:
        return "medium"
    return "low"


def _dispersion(window: Array) -> tuple[Array, Array]:
    mean = window.mean(axis=1)
    var = window.var(axis=1, ddof=1) if window.shape[1] > 1 else mean
    return mean, np.maximum(var / np.maximum(mean, 1e-9), 1.0)


def _nb_tail(observed: Array, mean: Array, dispersion: Array, upper: bool) -> Array:
    """P(X >= observed) (upper) or P(X <= observed) for X with the given mean and variance = dispersion × mean:
    negative binomial where overdispersed, Poisson otherwise."""
    mean = np.maximum(mean, 1e-9)
    poisson = dispersion <= 1.0 + 1e-9
    p = np.where(poisson, 0.5, 1.0 / dispersion)
    n = np.where(poisson, 1.0, mean * p / np.maximum(1.0 - p, 1e-12))
    if upper:
        nb = stats.nbinom.sf(observed - 1, n, p)
        po = stats.poisson.sf(observed - 1, mean)
    else:
        nb = stats.nbinom.cdf(observed, n, p)
        po = stats.poisson.cdf(observed, mean)
    result: Array = np.where(poisson, po, nb).astype(np.float64)
    return result


def demand_anomalies(
    y: Array,
    settings: AnomalySettings = AnomalySettings(),
    window: int | None = None,
) -> list[Anomaly]:
    """Spikes (a day, or the recent week), drops of the recent week, and improbable zero runs.

    ``window``: how many recent days to examine for single-day spikes and zero runs (default: the recent week).
    """
    count, days = y.shape
    recent = settings.recent_days
    window = window or recent
    found: list[Anomaly] = []
    if days < recent + 14:
        return found
    # Baseline: the days before the examined window.
    end = days - max(window, recent)
    start = max(0, end - settings.baseline_days)
    if end - start < 14:
        return found
    base = y[:, start:end]
    mean, dispersion = _dispersion(base)
    if settings.dispersion_days > end - start:
        # The spread from a longer history where there is one: eight weeks of small counts often understate it.
        _, longer = _dispersion(y[:, max(0, end - settings.dispersion_days) : end])
        dispersion = np.maximum(dispersion, longer)

    # The recent week as a whole: a sustained spike or a drop.
    observed = y[:, -recent:].sum(axis=1)
    expected = mean * recent
    week_dispersion = dispersion  # sums of independent days keep the variance-to-mean ratio
    # Tail probabilities only where the effect is large enough to report at all (the floors below): the
    # negative-binomial tail is the costly part, and most series are nowhere near either floor.
    up = np.ones(count)
    spiking = np.flatnonzero(observed >= 2 * expected + 3)
    up[spiking] = _nb_tail(observed[spiking], expected[spiking], week_dispersion[spiking], upper=True)
    down = np.ones(count)
    dropping = np.flatnonzero((expected >= 7) & (observed <= 0.5 * expected))
    down[dropping] = _nb_tail(observed[dropping], expected[dropping], week_dispersion[dropping], upper=False)
    sd = np.sqrt(np.maximum(expected * week_dispersion, 1e-9))
    z = (observed - expected) / sd
    week = y[:, -recent:]
    first_week_day = days - recent
    for row in np.flatnonzero((up < settings.p_threshold) & (observed >= 2 * expected + 3)):
        # Dated by the movement: the week's busiest day; the episode covers its days above the usual level.
        above = np.flatnonzero(week[row] > mean[row])
        found.append(
            Anomaly(
                int(row),
                "demand_spike",
                first_week_day + int(np.argmax(week[row])),
                float(up[row]),
                severity(float(up[row])),
                float(z[row]),
                float(observed[row]),
                float(expected[row]),
                {"window_days": recent, "baseline_daily": round(float(mean[row]), 3)},
                first_day=first_week_day + int(above[0]),
                last_day=first_week_day + int(above[-1]),
            )
        )
    for row in np.flatnonzero((down < settings.p_threshold) & (expected >= 7) & (observed <= 0.5 * expected)):
        found.append(
            Anomaly(
                int(row),
                "demand_drop",
                first_week_day,
                float(down[row]),
                severity(float(down[row])),
                float(z[row]),
                float(observed[row]),
                float(expected[row]),
                {"window_days": recent, "baseline_daily": round(float(mean[row]), 3)},
                last_day=days - 1,
            )
        )

    # Single days in the examined window far above the level (those not already part of a weekly spike).
    weekly = {a.series for a in found if a.type == "demand_spike"}
    tail = y[:, -window:]
    floor = tail >= 2 * mean[:, None] + 2
    rows, cols = np.nonzero(floor)
    day_p = np.ones_like(tail)
    day_p[rows, cols] = _nb_tail(tail[rows, cols], mean[rows], dispersion[rows], upper=True)
    day_z = (tail - mean[:, None]) / np.sqrt(np.maximum(mean * dispersion, 1e-9))[:, None]
    hits = (day_p < settings.day_p_threshold) & floor
    for row, col in zip(*np.nonzero(hits), strict=True):
        if int(row) in weekly:
            continue
        p_value = float(day_p[row, col])
        found.append(
            Anomaly(
                int(row),
                "demand_spike",
                days - window + int(col),
                p_value,
                severity(p_value),
                float(day_z[row, col]),
                float(tail[row, col]),
                float(mean[row]),
                {"window_days": 1, "baseline_daily": round(float(mean[row]), 3)},
            )
        )

    # Zero runs in the examined window that the series' usual share of zero days makes improbable
    # (often stock that ran out without being recorded).
    zero_share = (base == 0).mean(axis=1)
    run = np.zeros(count)
    longest = np.zeros(count)
    last_end = np.full(count, -1)
    span = y[:, -max(window, settings.zero_run_min_days) :]
    for col in range(span.shape[1]):
        zero = span[:, col] == 0
        run = np.where(zero, run + 1, 0)
        better = run > longest
        longest = np.where(better, run, longest)
        last_end = np.where(better, col, last_end)
    with np.errstate(divide="ignore"):
        p_run = np.where(zero_share < 1, zero_share**longest, 1.0)
    for row in np.flatnonzero((longest >= settings.zero_run_min_days) & (p_run < settings.p_threshold) & (mean >= 0.5)):
        p_value = float(p_run[row])
        run_end = days - span.shape[1] + int(last_end[row])
        found.append(
            Anomaly(
                int(row),
                "zero_run",
                run_end - int(longest[row]) + 1,  # dated by the day demand stopped
                p_value,
                severity(p_value),
                float(-mean[row] / max(np.sqrt(mean[row]), 1e-9)),
                0.0,
                float(mean[row] * longest[row]),
                {"run_days": int(longest[row]), "usual_zero_share": round(float(zero_share[row]), 3)},
                last_day=run_end,
            )
        )
    return found


def large_transactions(
    series: NDArray[np.int64], sizes: Array, recent: NDArray[np.bool_], settings: AnomalySettings = AnomalySettings()
) -> list[tuple[int, int, float, float, float]]:
    """Single movements far outside their item's usual size.

    ``series``: the series of each movement; ``sizes``: its absolute quantity; ``recent``: whether it falls in
    the examined window. Returns (movement index, series, p-value, ratio to the median, median size).
    """
    if len(sizes) == 0:
        return []
    # Vectorised over all series at once (a loop per series cost about 20 µs each). A recent movement must
    # exceed twice the largest of its history, which needs only a maximum per series; the few that do are
    # then checked against the median of their history (taken as np.median takes it, from the sorted sizes).
    series = np.asarray(series, dtype=np.int64)
    sizes = np.asarray(sizes, dtype=np.float64)
    past = ~np.asarray(recent, dtype=bool)
    count = np.bincount(series[past], minlength=int(series.max()) + 1)
    top_of = np.full(len(count), -np.inf)
    np.maximum.at(top_of, series[past], sizes[past])
    examined = np.flatnonzero(~past)
    owner = series[examined]
    outside = (count[owner] >= 10) & (sizes[examined] > 2 * top_of[owner])
    examined, owner = examined[outside], owner[outside]
    if not len(examined):
        return []
    n = count[owner]
    top = top_of[owner]
    size = sizes[examined]
    among = past & np.isin(series, owner)
    by_series = np.lexsort((sizes[among], series[among]))
    history = sizes[among][by_series]
    kept = np.bincount(series[among], minlength=len(count))
    first = np.cumsum(kept) - kept
    median = (history[first[owner] + (n - 1) // 2] + history[first[owner] + n // 2]) / 2
    with np.errstate(divide="ignore"):
        ratio = np.where(median > 0, size / np.where(median > 0, median, 1.0), np.inf)
    hits = np.flatnonzero(ratio >= settings.large_ratio)
    hits = hits[np.lexsort((examined[hits], owner[hits]))]  # by series, then in the movements' order
    result = []
    for hit in hits.tolist():
        index, row, usual, largest, moved = (
            int(examined[hit]),
            int(owner[hit]),
            int(n[hit]),
            float(top[hit]),
            float(size[hit]),
        )
        middle = float(median[hit])
        # Empirical tail: nothing in the history was this large; the chance of a first such movement among
        # n + 1 is at most 1 / (n + 1), sharpened by how far outside it lies.
        p_value = float(1.0 / (usual + 1) * (largest / moved) ** 2)
        result.append((index, row, p_value, float(moved / middle if middle > 0 else np.inf), middle))
    return result
