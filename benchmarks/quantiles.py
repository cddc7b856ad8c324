"""Quantile benchmark (issue 17): daily tails, lead-time-total coverage and stockout-probability calibration.

    .venv/bin/python benchmarks/quantiles.py [--series 20000] [--seed 11]

Data: ``benchmarks/forecast.py``'s generator (known truth). The engine forecasts from the first 120 days; the next
days are held out. Reported:

- daily tails: the share of held-out days below q0.1 and above q0.9, a day on a quantile counted by the share of
  its probability beyond the level (non-randomised PIT, Czado, Gneiting and Held 2009; for counts "strictly below
  q0.1" alone cannot reach 10% where a day without demand is likelier than that), and the strict shares too;
- lead-time totals over L days (fractional L too): the share of actual totals at or below the 0.95 quantile
  (``demand_quantile``), against the previous σ·√L normal reorder point;
- stockout probability (``probability_exceeds``) for a stock level drawn at random between 0 and 2.5 times the
  expected total: expected calibration error over 10 equal-width bins, and each bin's mean prediction : realised
  rate.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from atlas.ai_engine import count_distribution  # noqa: E402
from atlas.ai_engine.forecast import forecast_matrix  # noqa: E402
from atlas.ai_engine.quantiles import demand_quantile, expected_demand, probability_exceeds  # noqa: E402
from benchmarks.forecast import generate  # noqa: E402

TRAIN = 120


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    n = args.series
    y, dow, truth = generate(n, TRAIN + 40, seed=args.seed)
    result = forecast_matrix(y[:, :TRAIN], horizon=30, start_dow=dow)
    intermittent = np.array([kind.startswith("intermittent") for kind in truth.kind_names()])
    actual = y[:, TRAIN : TRAIN + 30]
    variance = np.broadcast_to((result.sigma**2)[:, None], actual.shape)
    below = count_distribution.cdf(actual - 1.0, result.forecast, variance)
    at_or_below = count_distribution.cdf(actual, result.forecast, variance)
    mass = np.where(at_or_below > below, at_or_below - below, 1.0)
    low = np.clip((0.1 - below) / mass, 0.0, 1.0)
    high = np.clip((at_or_below - 0.9) / mass, 0.0, 1.0)
    print(f"{n} series, seed {args.seed}, 30 held-out days")
    print("| series | below q0.1 (PIT) | above q0.9 (PIT) | strictly below q0.1 | strictly above q0.9 |")
    for name, members in (("intermittent", intermittent), ("other", ~intermittent), ("all", intermittent | True)):
        strictly_below = (actual[members] < result.q10[members]).mean()
        strictly_above = (actual[members] > result.q90[members]).mean()
        print(
            f"| {name} | {low[members].mean():.1%} | {high[members].mean():.1%} | "
            f"{strictly_below:.1%} | {strictly_above:.1%} |"
        )
    rng = np.random.default_rng(2)
    print("| L days | 0.95 quantile covers | σ·√L normal covered | ECE | bins (predicted : realised) |")
    for days in (3.5, 7.0, 14.0, 21.0):
        whole = int(days)
        total = y[:, TRAIN : TRAIN + whole].sum(axis=1) + (days - whole) * y[:, TRAIN + whole]
        lead = np.full(n, days)
        mean = expected_demand(result.forecast, lead)
        quantile = demand_quantile(result, lead, 0.95)
        textbook = mean + stats.norm.ppf(0.95) * result.sigma * np.sqrt(lead)
        stock = np.floor(rng.uniform(0.0, 2.5, n) * (mean + 1.0))
        probability = probability_exceeds(result, lead, stock)
        happened = (total > stock).astype(np.float64)
        bins = np.minimum((probability * 10).astype(np.int64), 9)
        used = [b for b in range(10) if (bins == b).any()]
        ece = sum(abs(probability[bins == b].mean() - happened[bins == b].mean()) * (bins == b).mean() for b in used)
        pairs = " ".join(f"{probability[bins == b].mean():.2f}:{happened[bins == b].mean():.2f}" for b in used)
        print(
            f"| {days:g} | {(total <= quantile).mean():.1%} | {(total <= textbook).mean():.1%} | {ece:.3f} | {pairs} |"
        )


if __name__ == "__main__":
    main()
