"""Forecast benchmark: speed, accuracy against statsforecast, interval coverage.

    .venv/bin/python benchmarks/forecast.py                      # everything below
    .venv/bin/python benchmarks/forecast.py --skip-speed         # accuracy and coverage only
    .venv/bin/python benchmarks/forecast.py --skip-accuracy      # speed only
    .venv/bin/python benchmarks/forecast.py --full               # also time the whole analysis

Speed: ``forecast_matrix`` over 100,000 generated series with 120 and with 365 days of
history (the backtest that picks each series' method included), series per second, and the
peak memory traced by ``tracemalloc`` during the call (numpy reports its buffers to it).

Accuracy: a 14-day horizon from 3 rolling origins (the last 42 days held out, 14 at a time),
MASE and RMSSE (each series' errors scaled by its in-sample one-step naive error, averaged
over series and origins), the bias of the total forecast, the error of each series' 14-day
total, and the coverage of the stated 80% interval. The engine runs on every accuracy series;
statsforecast's AutoETS(season_length=7), WindowAverage(window_size=7) and
SeasonalNaive(season_length=7) run, with ``n_jobs=1``, on a subset (AutoETS is slow), and the
comparison is made on that subset, the engine timed on the same subset too.

statsforecast is a benchmark-only dependency (``.venv/bin/pip install statsforecast``);
without it the statsforecast columns are skipped with a message.

The generator, ``generate(series, days, seed) -> (matrix, start_dow, truth)``, is importable
(``from benchmarks.forecast import generate``): ``truth`` keeps each series' kind, its clean
expected demand and the position of every injected anomaly (spikes, drops, zero runs), so
that anomaly detection can be measured on the same data.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import threading
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from atlas.ai_engine.forecast import METHODS, forecast_matrix  # noqa: E402

KINDS = ("smooth", "weekly", "trend", "trend_weekly", "intermittent", "intermittent_weekly")
KIND_SHARES = (0.12, 0.10, 0.06, 0.05, 0.50, 0.17)
ANOMALY_KINDS = ("spike", "drop", "zero_run")
Z80 = 1.2815515655446004


@dataclass
class Truth:
    """What the generator put into the data, per series (rows) and per day (columns)."""

    kind: NDArray[np.int8]  # index into KINDS
    expected: NDArray[np.float32]  # series × days: the clean mean demand, before noise and anomalies
    weekly: NDArray[np.float64]  # series × 7: day-of-week factors, column d is weekday d (Monday 0)
    growth: NDArray[np.float64]  # per-day log growth of the trend (0 without one)
    anomaly_series: NDArray[np.int64]  # one entry per injected anomaly
    anomaly_start: NDArray[np.int64]  # first day (column)
    anomaly_length: NDArray[np.int64]  # days
    anomaly_kind: NDArray[np.int8]  # index into ANOMALY_KINDS

    def kind_names(self) -> list[str]:
        return [KINDS[k] for k in self.kind]

    def anomaly_mask(self, kind: str | None = None) -> NDArray[np.bool_]:
        """series × days, True on the days an anomaly (of ``kind``, or any) was injected."""
        mask = np.zeros(self.expected.shape, dtype=bool)
        pick = np.ones(len(self.anomaly_series), dtype=bool)
        if kind is not None:
            pick = self.anomaly_kind == ANOMALY_KINDS.index(kind)
        for row, start, length in zip(
            self.anomaly_series[pick], self.anomaly_start[pick], self.anomaly_length[pick], strict=True
        ):
            mask[row, start : start + length] = True
        return mask


def generate(series: int, days: int, seed: int = 0) -> tuple[NDArray[np.float64], int, Truth]:
    """A series × days matrix of daily demand counts, the weekday (Monday 0) of column 0, and the truth.

    Mixes smooth and intermittent demand (about half of all days are zero; real retail data has
    about 60%), with or without a trend and a weekly pattern; the level wanders slowly (a random
    walk in the log) and counts are over-dispersed (gamma-Poisson). About 30% of series get a spike
    (one day of several times the usual demand), 12% a drop (3–10 days at a fifth of it) and
    12% of the smooth ones a zero run (5–20 days without any demand, as in a stockout).
    """
    rng = np.random.default_rng(seed)
    start_dow = int(rng.integers(7))
    kind = rng.choice(len(KINDS), size=series, p=KIND_SHARES).astype(np.int8)
    names = np.array(KINDS)[kind]
    intermittent = np.char.startswith(names, "intermittent")
    weekly_kind = np.char.endswith(names, "weekly")
    trend_kind = np.char.startswith(names, "trend")

    level = np.where(
        intermittent, np.exp(rng.normal(np.log(0.35), 0.8, series)), np.exp(rng.normal(np.log(5.0), 1.0, series))
    )
    # Weekly pattern: a busier weekend or a busier mid-week, plus noise; factors average 1.
    shape = np.array([[0.9, 0.9, 0.95, 1.0, 1.15, 1.35, 0.75], [1.1, 1.15, 1.2, 1.15, 1.0, 0.6, 0.5]])
    base = shape[rng.integers(2, size=series)]
    strength = rng.uniform(0.6, 1.6, (series, 1))
    weekly = np.exp(strength * np.log(base) + rng.normal(0, 0.08, (series, 7)))
    weekly = np.where(weekly_kind[:, None], weekly / weekly.mean(axis=1, keepdims=True), 1.0)
    growth = np.where(trend_kind, rng.choice([-1.0, 1.0], series) * rng.uniform(0.5, 1.4, series) / days, 0.0)
    drift = np.where(intermittent, rng.uniform(0.0, 0.02, series), rng.uniform(0.0, 0.03, series))

    t = np.arange(days, dtype=np.float64)
    walk = np.cumsum(rng.standard_normal((series, days), dtype=np.float32), axis=1)
    walk *= drift[:, None].astype(np.float32)
    walk -= walk.mean(axis=1, keepdims=True)
    log_mean = walk
    log_mean += (np.log(level)[:, None] + growth[:, None] * (t - days / 2)).astype(np.float32)
    expected = np.exp(log_mean, out=log_mean)
    dow = (start_dow + np.arange(days)) % 7
    expected *= weekly[:, dow].astype(np.float32)

    # Over-dispersed counts: gamma-Poisson, lumpier for intermittent series.
    shape_k = np.where(intermittent, rng.uniform(0.3, 1.5, series), rng.uniform(2.0, 20.0, series))
    rate = rng.standard_gamma(shape_k[:, None].astype(np.float32) * np.ones((1, days), np.float32)).astype(np.float32)
    rate *= expected
    rate /= shape_k[:, None].astype(np.float32)
    y = rng.poisson(rate).astype(np.float64)
    del rate

    # Anomalies at known positions, away from the first 28 days.
    rows, starts, lengths, kinds = [], [], [], []
    low = min(28, days // 2)

    def inject(members: NDArray[np.bool_], kind_index: int, length_low: int, length_high: int) -> None:
        chosen = np.flatnonzero(members)
        length = rng.integers(length_low, length_high + 1, size=len(chosen))
        start = rng.integers(low, np.maximum(days - length, low + 1))
        rows.append(chosen)
        starts.append(start)
        lengths.append(np.minimum(length, days - start))
        kinds.append(np.full(len(chosen), kind_index, dtype=np.int8))

    inject(rng.random(series) < 0.30, 0, 1, 1)
    inject(rng.random(series) < 0.12, 1, 3, 10)
    inject((rng.random(series) < 0.12) & ~intermittent, 2, 5, 20)
    anomaly_series = np.concatenate(rows)
    anomaly_start = np.concatenate(starts)
    anomaly_length = np.concatenate(lengths)
    anomaly_kind = np.concatenate(kinds)
    for row, start, length, kind_index in zip(anomaly_series, anomaly_start, anomaly_length, anomaly_kind, strict=True):
        span = slice(start, start + length)
        if kind_index == 0:
            usual = max(float(expected[row, span].mean()), 0.3)
            y[row, span] = np.round(usual * rng.uniform(4.0, 10.0) + rng.uniform(3.0, 8.0))
        elif kind_index == 1:
            y[row, span] = np.floor(y[row, span] * 0.2)
        else:
            y[row, span] = 0.0
    truth = Truth(
        kind=kind,
        expected=expected,
        weekly=weekly,
        growth=growth,
        anomaly_series=anomaly_series,
        anomaly_start=anomaly_start,
        anomaly_length=anomaly_length,
        anomaly_kind=anomaly_kind,
    )
    return y, start_dow, truth


# --------------------------------------------------------------------------- accuracy


@dataclass
class Scores:
    """Errors of one forecaster over every (series, origin) pair it was scored on."""

    mase: NDArray[np.float64]  # per (series, origin), NaN where the scale is zero
    rmsse: NDArray[np.float64]
    forecast_sum: float
    actual_sum: float
    total_abs_error: float  # Σ over pairs of |14-day forecast total − 14-day actual total|
    covered: float = float("nan")  # share of held-out days inside the 80% interval
    clean_bias: float = float("nan")  # bias over the held-out days without an injected anomaly

    @property
    def bias(self) -> float:
        return (self.forecast_sum - self.actual_sum) / self.actual_sum

    @property
    def total_error(self) -> float:
        return self.total_abs_error / self.actual_sum


def _score(
    forecasts: list[NDArray[np.float64]],
    actuals: list[NDArray[np.float64]],
    trains: list[NDArray[np.float64]],
    intervals: list[tuple[NDArray[np.float64], NDArray[np.float64]]] | None,
    clean: list[NDArray[np.bool_]] | None = None,
) -> Scores:
    mase, rmsse, covered = [], [], []
    forecast_sum = actual_sum = total_abs = clean_forecast = clean_actual = 0.0
    for index, (f, a, train) in enumerate(zip(forecasts, actuals, trains, strict=True)):
        step = np.diff(train, axis=1)
        mae_scale = np.abs(step).mean(axis=1)
        mse_scale = (step * step).mean(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            mase.append(np.where(mae_scale > 0, np.abs(f - a).mean(axis=1) / mae_scale, np.nan))
            rmsse.append(np.where(mse_scale > 0, np.sqrt(((f - a) ** 2).mean(axis=1) / mse_scale), np.nan))
        forecast_sum += float(f.sum())
        actual_sum += float(a.sum())
        total_abs += float(np.abs(f.sum(axis=1) - a.sum(axis=1)).sum())
        if intervals is not None:
            lo, hi = intervals[index]
            covered.append(((lo <= a) & (a <= hi)).mean())
        if clean is not None:
            clean_forecast += float(f[clean[index]].sum())
            clean_actual += float(a[clean[index]].sum())
    return Scores(
        mase=np.concatenate(mase),
        rmsse=np.concatenate(rmsse),
        forecast_sum=forecast_sum,
        actual_sum=actual_sum,
        total_abs_error=total_abs,
        covered=float(np.mean(covered)) if covered else float("nan"),
        clean_bias=(clean_forecast - clean_actual) / clean_actual if clean_actual else float("nan"),
    )


def _origins(days: int, horizon: int, origins: int) -> list[int]:
    return [days - k * horizon for k in range(origins, 0, -1)]


def engine_backtest(
    y: NDArray[np.float64], start_dow: int, horizon: int, origins: int, anomalies: NDArray[np.bool_] | None = None
) -> tuple[Scores, float, list[NDArray[np.int64]]]:
    forecasts, actuals, trains, intervals, methods = [], [], [], [], []
    clean = (
        None if anomalies is None else [~anomalies[:, o : o + horizon] for o in _origins(y.shape[1], horizon, origins)]
    )
    elapsed = 0.0
    for origin in _origins(y.shape[1], horizon, origins):
        train = y[:, :origin]
        started = time.perf_counter()
        result = forecast_matrix(train, horizon=horizon, start_dow=start_dow)
        elapsed += time.perf_counter() - started
        forecasts.append(result.forecast)
        actuals.append(y[:, origin : origin + horizon])
        trains.append(train)
        intervals.append((result.lo80, result.hi80))
        methods.append(result.method)
    return _score(forecasts, actuals, trains, intervals, clean), elapsed, methods


def statsforecast_backtest(y: NDArray[np.float64], horizon: int, origins: int) -> dict[str, tuple[Scores, float]]:
    import pandas as pd
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, SeasonalNaive, WindowAverage

    models: dict[str, Any] = {
        "AutoETS": AutoETS(season_length=7),
        "WindowAverage": WindowAverage(window_size=7),
        "SeasonalNaive": SeasonalNaive(season_length=7),
    }
    # Compile numba code outside the timings.
    warm = pd.DataFrame({"unique_id": np.zeros(60, dtype=np.int64), "ds": np.arange(60), "y": y[0, :60]})
    StatsForecast(models=list(models.values()), freq=1, n_jobs=1).forecast(df=warm, h=horizon)
    results: dict[str, tuple[Scores, float]] = {}
    count = y.shape[0]
    for name, model in models.items():
        forecasts, actuals, trains, intervals = [], [], [], []
        elapsed = 0.0
        for origin in _origins(y.shape[1], horizon, origins):
            train = y[:, :origin]
            frame = pd.DataFrame(
                {
                    "unique_id": np.repeat(np.arange(count), origin),
                    "ds": np.tile(np.arange(origin), count),
                    "y": train.ravel(),
                }
            )
            level = [80] if name == "AutoETS" else None
            started = time.perf_counter()
            out = StatsForecast(models=[model], freq=1, n_jobs=1).forecast(df=frame, h=horizon, level=level)
            elapsed += time.perf_counter() - started
            out = out.sort_values(["unique_id", "ds"])
            forecasts.append(np.maximum(out[name].to_numpy().reshape(count, horizon), 0.0))
            if level:
                intervals.append(
                    (
                        out[f"{name}-lo-80"].to_numpy().reshape(count, horizon),
                        out[f"{name}-hi-80"].to_numpy().reshape(count, horizon),
                    )
                )
            actuals.append(y[:, origin : origin + horizon])
            trains.append(train)
        results[name] = (_score(forecasts, actuals, trains, intervals or None), elapsed)
    return results


def _mean(values: NDArray[np.float64]) -> float:
    return float(np.nanmean(values))


def accuracy(series: int, subset: int, days: int, seed: int, horizon: int = 14, origins: int = 3) -> None:
    y, start_dow, truth = generate(series, days, seed)
    print(
        f"\n## Accuracy: {series:,} series × {days} days (seed {seed}), {horizon}-day horizon, {origins} rolling "
        f"origins (training {days - origins * horizon}–{days - horizon} days); zero days {(y == 0).mean():.0%}"
    )
    scores, elapsed, methods = engine_backtest(y, start_dow, horizon, origins, truth.anomaly_mask())
    chosen = np.concatenate(methods)
    shares = ", ".join(f"{name} {np.mean(chosen == i):.0%}" for i, name in enumerate(METHODS))
    print(
        f"engine on all {series:,} series: MASE {_mean(scores.mase):.4f}  RMSSE {_mean(scores.rmsse):.4f}  "
        f"bias {scores.bias:+.2%}  14-day total error {scores.total_error:.2%}  80% coverage {scores.covered:.1%}  "
        f"({elapsed:.2f} s for {origins} origins)"
    )
    print(f"methods chosen: {shares}")
    print(
        f"bias on held-out days without an injected anomaly: {scores.clean_bias:+.2%} (the injected spikes, "
        f"drops and zero runs that fall in the held-out days cannot be forecast)"
    )
    kinds = np.tile(truth.kind, origins)
    for k, name in enumerate(KINDS):
        members = kinds == k
        print(f"  {name:20s} MASE {_mean(scores.mase[members]):.4f}  RMSSE {_mean(scores.rmsse[members]):.4f}")

    try:
        import statsforecast  # noqa: F401
    except ImportError:
        print(
            "\nstatsforecast is not installed, so the comparison is skipped: "
            ".venv/bin/pip install statsforecast (benchmark only, not a dependency of Atlas)"
        )
        return
    part = y[:subset]
    engine_part, engine_elapsed, _ = engine_backtest(part, start_dow, horizon, origins)
    others = statsforecast_backtest(part, horizon, origins)
    ets_scores, ets_elapsed = others["AutoETS"]
    print(f"\nComparison on the first {subset:,} series (statsforecast n_jobs=1):")
    print("| forecaster | MASE | RMSSE | bias | 14-day total error | 80% coverage | seconds | series/s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    rows = [("Atlas engine", engine_part, engine_elapsed)] + [(n, s, e) for n, (s, e) in others.items()]
    for name, s, e in rows:
        coverage = "" if np.isnan(s.covered) else f"{s.covered:.1%}"
        print(
            f"| {name} | {_mean(s.mase):.4f} | {_mean(s.rmsse):.4f} | {s.bias:+.2%} | {s.total_error:.2%} | "
            f"{coverage} | {e:.2f} | {subset * origins / e:,.0f} |"
        )
    print(
        f"engine / AutoETS: MASE {_mean(engine_part.mase) / _mean(ets_scores.mase):.4f}, "
        f"RMSSE {_mean(engine_part.rmsse) / _mean(ets_scores.rmsse):.4f}; "
        f"speed {ets_elapsed / engine_elapsed:,.0f}× AutoETS"
    )
    sub_kinds = np.tile(truth.kind[:subset], origins)
    for k, name in enumerate(KINDS):
        members = sub_kinds == k
        print(
            f"  {name:20s} engine MASE {_mean(engine_part.mase[members]):.4f} "
            f"AutoETS {_mean(ets_scores.mase[members]):.4f} | RMSSE {_mean(engine_part.rmsse[members]):.4f} "
            f"AutoETS {_mean(ets_scores.rmsse[members]):.4f}"
        )


# --------------------------------------------------------------------------- speed


def speed(series: int, days: int, seed: int, horizon: int) -> None:
    y, start_dow, _ = generate(series, days, seed)
    gc.collect()
    forecast_matrix(y[:100], horizon=horizon, start_dow=start_dow)
    started = time.perf_counter()
    forecast_matrix(y, horizon=horizon, start_dow=start_dow)
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    forecast_matrix(y, horizon=horizon, start_dow=start_dow)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"| {series:,} | {days} | {horizon} | {elapsed:.2f} | {series / elapsed:,.0f} | {peak / 2**20:,.0f} MiB "
        f"(input {y.nbytes / 2**20:,.0f} MiB) |"
    )


def _rss() -> int:
    """This process's resident memory in bytes (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class _RssPeak:
    """The highest resident memory seen while the block runs, sampled every 5 ms by a thread."""

    def __enter__(self) -> _RssPeak:
        self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())


def full_analysis(series: int, days: int, seed: int) -> None:
    """Hook for the whole analysis (forecast, stockout risk, anomalies, recommendations)."""
    try:
        from atlas.ai_engine import analysis
    except ImportError as error:
        print(f"\nfull analysis: not available yet ({error})")
        return
    analyse = getattr(analysis, "analyse_matrix", None)
    if analyse is None:
        print("\nfull analysis: atlas.ai_engine.analysis.analyse_matrix is not available yet")
        return
    from datetime import date, timedelta

    y, start_dow, _ = generate(series, days, seed)
    rng = np.random.default_rng(seed)
    start = date(2026, 1, 5) + timedelta(days=start_dow)  # 2026-01-05 is a Monday
    rate = y[:, -28:].mean(axis=1)
    on_hand = np.round(rate * rng.uniform(0.0, 40.0, series))
    has_demand = y > 0
    last = np.where(has_demand.any(axis=1), days - 1 - np.argmax(has_demand[:, ::-1], axis=1), -1)
    # The movements the service loads for the large-transaction test: its last 120 days of sales, issues and
    # adjustments (here one sale per day with demand, the fewest a real ledger would hold), the last 14 days recent.
    window = min(days, 120)
    recent_y = y[:, -window:]
    moved, column = np.nonzero(recent_y > 0)
    try:
        movements = analysis.Movements(
            series=moved.astype(np.int64),
            size=recent_y[moved, column],
            recent=column >= window - 14,
            reference=[f"SO-{i}" for i in range(len(moved))],
            movement_id=list(range(1, len(moved) + 1)),
            kind=["sale"] * len(moved),
        )
        inputs = analysis.SeriesInputs(
            available=on_hand.copy(),
            on_hand=on_hand,
            lead_time_days=np.full(series, np.nan),
            unit_cost=rng.uniform(1.0, 50.0, series),
            item=np.arange(series, dtype=np.int64) // 2,
            location=np.arange(series, dtype=np.int64) % 2,
            labels=[(f"SKU-{i}", f"L{i % 2}") for i in range(series)],
            last_demand_day=last.astype(np.int64),
        )
        gc.collect()
        before = _rss()
        with _RssPeak() as rss:
            started, cpu = time.perf_counter(), time.process_time()
            output = analyse(y, start, inputs, movements)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        del output
        gc.collect()
        tracemalloc.start()
        output = analyse(y, start, inputs, movements)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    except Exception as error:  # the hook must not break the benchmark while the analysis is being built
        print(f"\nfull analysis: analyse_matrix failed ({type(error).__name__}: {error})")
        return
    kinds = {
        kind: sum(c.type == kind for c in output.candidates)
        for kind in ("reorder", "transfer", "write_off", "investigate")
    }
    print(
        f"\nfull analysis (analyse_matrix): {series:,} series × {days} days, {len(moved):,} movements, in "
        f"{elapsed:.2f} s, {series / elapsed:,.0f} series/s (CPU {cpu:.2f} s: {series / cpu:,.0f} series per CPU "
        f"second, steadier on a busy machine); process memory (RSS) {before / 2**30:.2f} GiB before "
        f"the call (the generated inputs), at most {rss.peak / 2**30:.2f} GiB during it; peak traced memory "
        f"{peak / 2**20:,.0f} MiB (tracemalloc, a second run; input matrix {y.nbytes / 2**20:,.0f} MiB); "
        f"{len(output.candidates):,} candidates {kinds}, {len(output.anomalies):,} anomalies"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=100_000, help="series for the speed runs")
    parser.add_argument("--days", type=int, nargs="+", default=[120, 365], help="history lengths for the speed runs")
    parser.add_argument("--horizon", type=int, default=30, help="forecast horizon of the speed runs")
    parser.add_argument("--accuracy-series", type=int, default=20_000)
    parser.add_argument("--accuracy-days", type=int, default=168)
    parser.add_argument("--subset", type=int, default=2_000, help="series compared with statsforecast")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument(
        "--full",
        action="store_true",
        help="also time atlas.ai_engine.analysis.analyse_matrix (the whole analysis), if it exists",
    )
    args = parser.parse_args()
    if not args.skip_accuracy:
        accuracy(args.accuracy_series, min(args.subset, args.accuracy_series), args.accuracy_days, args.seed)
    if not args.skip_speed:
        print("\n## Speed: forecast_matrix (backtest and method choice included)")
        print("| series | days | horizon | seconds | series/s | peak traced memory |")
        print("| --- | --- | --- | --- | --- | --- |")
        for days in args.days:
            speed(args.series, days, args.seed, args.horizon)
    if args.full:
        for days in args.days:
            full_analysis(args.series, days, args.seed)


if __name__ == "__main__":
    main()
