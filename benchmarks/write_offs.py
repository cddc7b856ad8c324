"""Write-offs and idle-stock transfers measured against what happened next, on generated data with a known future.

An idle-stock proposal (a write-off, or a transfer of idle stock to a location where the item sells) says "this
stock will not sell where it is". The benchmark checks that statement: each series' history is generated together
with its next ``dead_stock_days`` days, Atlas's `analyse_matrix` runs once on the history (the last 180 days, as the
nightly analysis loads them, with the first movement and the "quiet a year ago" season flag the loader computes
from older data), and a proposal is right when the series then sells nothing at that location over the next
``dead_stock_days`` days.

The figure a proposal is judged by is the demand its earlier rate would have produced over the idle run
(``expected_idle_sales``: the series' mean daily demand in the window before the silence × the silence's length):
the silence is strong evidence when an item that used to sell many units in such a time sold none. The benchmark
reports the precision (share right) of each band of that figure; `dead_stock.PRECISION_BY_BAND` states them.

Kinds of series (shares in ``KIND_SHARES``): items that keep selling, items that died (demand stops for good on a
day in the window), items whose demand pauses for 95–200 days then resumes (a supplier problem, a range change
undone), slow movers (one sale every 30–200 days), and seasonal items (selling 90–150 days a year). About a third
of items are also stocked at a second location where they keep selling (the idle one becomes a transfer). The
shares are ours: on a tenant's data the precision of a band differs, which is why the pages show the strength of
the evidence in words, not a percentage.

    .venv/bin/python benchmarks/write_offs.py [--series 20000] [--seed 0] [--dead-stock-days 90]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from atlas.ai_engine import analysis, dead_stock  # noqa: E402

Array = NDArray[np.float64]
WINDOW = 180  # the nightly analysis's history (services.HISTORY_DAYS)
PAST = 365 + 90  # older history, for the first movement and the season flag
KINDS = ("alive", "died", "paused", "slow", "seasonal")
KIND_SHARES = (0.30, 0.25, 0.15, 0.20, 0.10)


def generate(series: int, future: int, seed: int) -> tuple[Array, NDArray[np.int8]]:
    """Daily demand over ``PAST + WINDOW + future`` days per series, and each series' kind."""
    rng = np.random.default_rng(seed)
    total = PAST + WINDOW + future
    kind = rng.choice(len(KINDS), size=series, p=KIND_SHARES).astype(np.int8)
    rate = np.exp(rng.normal(np.log(0.8), 1.0, series))
    t = np.arange(total)
    active = np.ones((series, total), dtype=bool)
    now = PAST + WINDOW  # the first future day
    died = kind == KINDS.index("died")
    death = rng.integers(now - 170, now - 20, series)
    active[died] = t[None, :] < death[died, None]
    paused = kind == KINDS.index("paused")
    pause = rng.integers(now - 170, now - 60, series)
    length = rng.integers(95, 201, series)
    active[paused] = (t[None, :] < pause[paused, None]) | (t[None, :] >= (pause + length)[paused, None])
    slow = kind == KINDS.index("slow")
    rate[slow] = 1.0 / rng.uniform(30, 200, int(slow.sum()))
    seasonal = kind == KINDS.index("seasonal")
    phase = rng.integers(0, 365, series)
    season = rng.integers(90, 151, series)
    in_season = ((t[None, :] - phase[:, None]) % 365) < season[:, None]
    active[seasonal] = in_season[seasonal]
    demand = rng.poisson(rate[:, None] * active).astype(np.float64)
    return demand, kind


def quiet_last_year(demand: Array, quiet_days: int) -> NDArray[np.bool_]:
    """The loader's season flag: no demand over the ``quiet_days`` before the day a year before the data's end,
    then demand within ``quiet_days`` after it (the history reaches back so far here)."""
    turn = PAST + WINDOW - 365
    before = demand[:, turn - quiet_days : turn].sum(axis=1) == 0
    after = demand[:, turn : turn + quiet_days].sum(axis=1) > 0
    out: NDArray[np.bool_] = before & after
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dead-stock-days", type=int, default=90)
    args = parser.parse_args()
    future = args.dead_stock_days
    demand, kind = generate(args.series, future, args.seed)
    # A third of the items also sit at a second location where they keep selling.
    rng = np.random.default_rng(args.seed + 1)
    second = np.flatnonzero(rng.random(args.series) < 1 / 3)
    sibling = np.random.default_rng(args.seed + 2).poisson(
        np.exp(rng.normal(np.log(0.8), 0.7, len(second)))[:, None], (len(second), demand.shape[1])
    )
    all_demand = np.vstack([demand, sibling.astype(np.float64)])
    item = np.concatenate([np.arange(args.series), second]).astype(np.int64)
    location = np.concatenate([np.zeros(args.series), np.ones(len(second))]).astype(np.int64)
    size = len(item)
    window = all_demand[:, PAST : PAST + WINDOW]
    ahead = all_demand[:, PAST + WINDOW :]
    sold = window > 0
    last = np.where(sold.any(axis=1), WINDOW - 1 - np.argmax(sold[:, ::-1], axis=1), -1).astype(np.int64)
    stock = np.full(size, 40.0)
    inputs = analysis.SeriesInputs(
        available=stock,
        on_hand=stock.copy(),
        lead_time_days=np.full(size, 7.0),
        unit_cost=np.full(size, 10.0),
        item=item,
        location=location,
        labels=[(f"SKU-{i}", f"L{loc}") for i, loc in zip(item.tolist(), location.tolist(), strict=True)],
        last_demand_day=last,
        first_movement_day=np.full(size, -float(PAST)),
        quiet_last_year=quiet_last_year(all_demand, args.dead_stock_days),
    )
    settings = analysis.AnalysisSettings(dead_stock_days=args.dead_stock_days)
    began = time.perf_counter()
    output = analysis.analyse_matrix(window, date(2026, 1, 1), inputs, None, settings)
    took = time.perf_counter() - began
    rows: list[int] = []
    expected: list[float] = []
    kinds: list[str] = []
    for candidate in output.candidates:
        figures = candidate.evidence.get("figures", {})
        if candidate.type == "write_off":
            idle_row = candidate.series
        elif candidate.type == "transfer" and "idle_days" in figures and candidate.from_series is not None:
            idle_row = candidate.from_series
        else:
            continue
        rows.append(idle_row)
        expected.append(float(figures["expected_idle_sales"]))
        kinds.append(candidate.type)
    right = ahead[rows].sum(axis=1) == 0 if rows else np.zeros(0, dtype=bool)
    lam = np.asarray(expected)
    print(
        f"{args.series:,} series (+{len(second):,} second locations), seed {args.seed}, dead-stock period "
        f"{args.dead_stock_days} days; analysis {took:.2f} s"
    )
    print(
        f"idle-stock proposals: {len(rows):,} ({kinds.count('write_off'):,} write-offs, "
        f"{kinds.count('transfer'):,} transfers); right (no sale there in the next {future} days): "
        f"{right.mean() if len(right) else float('nan'):.3f}"
    )
    names = np.array(KINDS)
    series_kind = np.concatenate([names[kind], np.full(len(second), "sibling")])
    print("by kind of series:")
    for name in (*KINDS, "sibling"):
        mask = np.array([series_kind[row] == name for row in rows], dtype=bool)
        if mask.any():
            print(f"  {name:9s} {int(mask.sum()):6,d} proposals, right {right[mask].mean():.3f}")
    print("precision by band of expected idle sales (what dead_stock.PRECISION_BY_BAND states):")
    edges = [*dead_stock.BAND_EDGES, np.inf]
    low = 0.0
    for name, high in zip(dead_stock.BANDS, edges, strict=True):
        mask = (lam >= low) & (lam < high)
        stated = dead_stock.PRECISION_BY_BAND[name]
        if mask.any():
            print(
                f"  {name:6s} [{low:g}, {high:g}): {int(mask.sum()):6,d} proposals, right {right[mask].mean():.3f} "
                f"(stated {stated:.2f})"
            )
        low = high


if __name__ == "__main__":
    main()
