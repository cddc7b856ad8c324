"""Anomaly detection measured on generated data with anomalies at known positions.

Uses `benchmarks/forecast.py`'s generator. Each injected anomaly is examined as of the day
it ends (the history up to that day), as the nightly analysis would see it:
  * spikes of 5 or more standard deviations: recall of a `demand_spike` on that day;
  * false alarms: single-day spike alerts per 1,000 clean series-days (series without any
    injected anomaly, examined at several days);
  * zero runs: recall of a `zero_run` covering the run.

    .venv/bin/python benchmarks/anomalies.py [--series 20000] [--days 168] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from forecast import ANOMALY_KINDS, generate  # noqa: E402

from atlas.ai_engine.anomalies import AnomalySettings, demand_anomalies  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=168)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    y, _start_dow, truth = generate(args.series, args.days, args.seed)
    settings = AnomalySettings()
    spike_kind = ANOMALY_KINDS.index("spike")
    zero_kind = ANOMALY_KINDS.index("zero_run")

    # Spikes: as of the spike's day, with the day itself as the examined window.
    spikes = np.flatnonzero(truth.anomaly_kind == spike_kind)
    big, found = 0, 0
    for index in spikes:
        row, day = int(truth.anomaly_series[index]), int(truth.anomaly_start[index])
        if day < 42:
            continue
        history = y[row : row + 1, : day + 1]
        baseline = history[0, day - 56 if day >= 56 else 0 : day]
        sd = max(float(baseline.std()), 1e-9)
        if history[0, day] - float(truth.expected[row, day]) < 5 * sd:
            continue
        big += 1
        alerts = demand_anomalies(history, settings, window=1)
        if any(a.type == "demand_spike" and a.day == day for a in alerts):
            found += 1

    # False alarms on clean series: single-day alerts on days without any injected anomaly.
    dirty = np.zeros(args.series, dtype=bool)
    dirty[truth.anomaly_series] = True
    clean = np.flatnonzero(~dirty)
    examined, false_alarms = 0, 0
    for day in range(56, args.days, 7):
        block = y[clean, : day + 1]
        alerts = demand_anomalies(block, settings, window=1)
        examined += len(clean)
        false_alarms += sum(1 for a in alerts if a.type == "demand_spike" and a.day == day)

    # Zero runs: as of the run's last day, examining the run.
    runs = np.flatnonzero(truth.anomaly_kind == zero_kind)
    eligible, caught = 0, 0
    for index in runs:
        row = int(truth.anomaly_series[index])
        start, length = int(truth.anomaly_start[index]), int(truth.anomaly_length[index])
        end = start + length - 1
        if start < 42 or length < settings.zero_run_min_days:
            continue
        eligible += 1
        alerts = demand_anomalies(y[row : row + 1, : end + 1], settings, window=length)
        if any(a.type == "zero_run" for a in alerts):
            caught += 1

    print(f"spikes of >= 5 sd: {big}; recalled {found} ({found / max(big, 1):.1%})  [target >= 85%]")
    print(
        f"false spike alarms: {false_alarms} in {examined:,} clean series-days = "
        f"{1000 * false_alarms / max(examined, 1):.2f} per 1,000  [target <= 5]"
    )
    print(
        f"zero runs of >= {settings.zero_run_min_days} days: {eligible}; recalled {caught} "
        f"({caught / max(eligible, 1):.1%})  [target >= 75%]"
    )


if __name__ == "__main__":
    main()
