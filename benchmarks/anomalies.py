"""Alerts measured as a planner receives them: nightly analyses over 8 weeks of generated data.

Uses `benchmarks/forecast.py`'s generator (anomalies injected at known positions). Every night of the
last 8 weeks, `demand_anomalies` examines the history so far with the analysis's 14-day window, as
the nightly analysis does. An *alert event* is what reaches the queue:

  * now: one per episode (`same_episode`: the same series and type, overlapping movement days,
    possibly seen on many nights), as `services._store_anomalies` stores them;
  * before (``--baseline``, the detector of that commit, loaded with ``git show``): one per distinct
    (series, type, date) it reported, dated as that detector dated it (a weekly spike by the analysis
    day, so a spike week alerted night after night).

Figures, for both in the same run:
  * alert events per 1,000 clean series-days (series without any injected anomaly; target ≤ 3);
  * recall of injected spikes of ≥ 3 standard deviations (of the 8 weeks before; target ≥ 0.85): an
    alert of type ``demand_spike`` on the series, on a night within a week of the spike, covering it;
  * recall of injected zero runs of ≥ 4 days (target ≥ 0.75): a ``zero_run`` alert overlapping it;
  * the precision of each severity band (episodes that overlap an injected anomaly), the figures
    `anomalies.PRECISION_BY_SEVERITY` states.

    .venv/bin/python benchmarks/anomalies.py [--series 20000] [--days 168] [--seed 0] [--baseline d771c69]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import types
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from forecast import ANOMALY_KINDS, Truth, generate  # noqa: E402

from atlas.ai_engine import anomalies as current  # noqa: E402

NIGHTS = 56
WINDOW = 14  # the analysis's examined window (analysis._analyse)
Detector = Callable[..., list[Any]]


def baseline_module(revision: str) -> types.ModuleType:
    """The anomaly detector as it was at ``revision`` (its source from git, run as a module of its own)."""
    source = subprocess.run(
        ["git", "show", f"{revision}:atlas/ai_engine/anomalies.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    module = types.ModuleType(f"anomalies_{revision}")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{revision}:anomalies.py", "exec"), module.__dict__)
    return module


@dataclass
class Episode:
    series: int
    type: str
    first: int
    last: int
    severity: str
    nights: list[int] = field(default_factory=list)


def _span(alert: Any) -> tuple[int, int]:
    span = getattr(alert, "span", None)
    return span() if callable(span) else (alert.day, alert.day)


def nightly(y: NDArray[np.float64], detect: Detector, settings: Any, episodes: bool) -> list[Episode]:
    """Every alert event of the nightly analyses of the last ``NIGHTS`` days."""
    days = y.shape[1]
    events: list[Episode] = []
    open_: dict[tuple[int, str], list[Episode]] = defaultdict(list)
    dated: dict[tuple[int, str, int], Episode] = {}
    for night in range(days - NIGHTS, days):
        for alert in detect(y[:, : night + 1], settings, window=WINDOW):
            first, last = _span(alert)
            if episodes:
                known = [
                    e
                    for e in open_[(alert.series, alert.type)]
                    if current.same_episode((e.first, e.last), (first, last))
                ]
                if known:
                    episode = known[0]
                    episode.first, episode.last = min(episode.first, first), max(episode.last, last)
                    episode.nights.append(night)
                    continue
                episode = Episode(alert.series, alert.type, first, last, alert.severity, [night])
                open_[(alert.series, alert.type)].append(episode)
            else:
                key = (alert.series, alert.type, alert.day)
                if key in dated:
                    dated[key].nights.append(night)
                    continue
                episode = dated[key] = Episode(alert.series, alert.type, alert.day, alert.day, alert.severity, [night])
            events.append(episode)
    return events


def measure(
    y: NDArray[np.float64], truth: Truth, events: list[Episode], settings: Any, episodes: bool
) -> dict[str, Any]:
    series, days = y.shape
    dirty = np.zeros(series, dtype=bool)
    dirty[truth.anomaly_series] = True
    clean_events = sum(1 for e in events if not dirty[e.series])
    clean_days = int((~dirty).sum()) * NIGHTS
    by_series: dict[int, list[Episode]] = defaultdict(list)
    for event in events:
        by_series[event.series].append(event)

    def covered(row: int, kind: str, first: int, last: int, nights_from: int, nights_to: int) -> bool:
        for event in by_series.get(row, []):
            if event.type != kind or not any(nights_from <= n <= nights_to for n in event.nights):
                continue
            # The old detector dated a weekly spike by the analysis day: any date from the spike on counts.
            if episodes and not current.same_episode((event.first, event.last), (first, last), gap=0):
                continue
            if not episodes and not (first <= event.first <= last + WINDOW):
                continue
            return True
        return False

    spike, zero = ANOMALY_KINDS.index("spike"), ANOMALY_KINDS.index("zero_run")
    spikes = found = 0
    runs = caught = 0
    for index in range(len(truth.anomaly_series)):
        row, start = int(truth.anomaly_series[index]), int(truth.anomaly_start[index])
        length, kind = int(truth.anomaly_length[index]), int(truth.anomaly_kind[index])
        end = start + length - 1
        if start < days - NIGHTS or end >= days:
            continue
        if kind == spike:
            baseline = y[row, max(0, start - 56) : start]
            sd = max(float(baseline.std()), 1e-9)
            if y[row, start] - float(truth.expected[row, start]) < 3 * sd:
                continue
            spikes += 1
            found += covered(row, "demand_spike", start, start, start, start + 6)
        elif kind == zero and length >= settings.zero_run_min_days:
            runs += 1
            caught += covered(row, "zero_run", start, end, start, end + 6)

    # Precision by severity: an episode overlapping an injected anomaly of its series (a drop's or a run's
    # effect on a week reaches up to a week past it).
    injected: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for row, start, length in zip(truth.anomaly_series, truth.anomaly_start, truth.anomaly_length, strict=True):
        injected[int(row)].append((int(start), int(start + length - 1 + 7)))
    real: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for event in events:
        hit = any(
            current.same_episode((event.first, event.last), span, gap=0) for span in injected.get(event.series, [])
        )
        real[event.severity][0] += hit
        real[event.severity][1] += 1
    return {
        "events": len(events),
        "clean_events": clean_events,
        "clean_days": clean_days,
        "per_1000": 1000 * clean_events / max(clean_days, 1),
        "spikes": (found, spikes),
        "zero_runs": (caught, runs),
        "precision": {band: (hit, total) for band, (hit, total) in real.items()},
    }


def report(name: str, figures: dict[str, Any]) -> None:
    found, spikes = figures["spikes"]
    caught, runs = figures["zero_runs"]
    print(f"== {name}")
    print(
        f"  alert events on clean series: {figures['clean_events']:,} in {figures['clean_days']:,} series-days = "
        f"{figures['per_1000']:.2f} per 1,000  [target <= 3]   (all series: {figures['events']:,} events)"
    )
    print(f"  spikes of >= 3 sd: {spikes}; recalled {found} ({found / max(spikes, 1):.1%})  [target >= 85%]")
    print(f"  zero runs of >= 4 days: {runs}; recalled {caught} ({caught / max(runs, 1):.1%})  [target >= 75%]")
    for band in current.SEVERITIES[::-1]:
        hit, total = figures["precision"].get(band, (0, 0))
        if total:
            print(f"  precision {band:>8}: {hit / total:.2f} ({hit:,} of {total:,})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=168)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline", help="a git revision whose detector to measure beside this one (e.g. d771c69)")
    args = parser.parse_args()
    y, _start_dow, truth = generate(args.series, args.days, args.seed)
    if args.baseline:
        old = baseline_module(args.baseline)
        settings = old.AnomalySettings()
        report(
            f"before ({args.baseline})",
            measure(y, truth, nightly(y, old.demand_anomalies, settings, False), settings, False),
        )
    settings = current.AnomalySettings()
    report("now", measure(y, truth, nightly(y, current.demand_anomalies, settings, True), settings, True))


if __name__ == "__main__":
    main()
