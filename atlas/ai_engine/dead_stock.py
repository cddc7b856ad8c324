"""Which idle stock is dead (a write-off) and which only sits at the wrong place (a transfer), as pure computation.

Idle days are counted up to the data's end: the last day the source (the item's connector) recorded demand for
any series, not today.
A source that stopped sending data (the last movement two years ago) says nothing about any one item, so its
items are not idle by that alone (the stale source is an alert of its own); a source connected minutes ago has
no history to judge by either. A series is dead stock only when all of these hold:

- it holds stock, and its idle run (days without demand up to the data's end) reaches the dead-stock period;
- its own history since its first movement is longer than that period (``first_movement_day``; a freshly
  connected system has minutes of it);
- the idle run is longer than every earlier gap between its sales in the window (an item that sells every few
  months is not dead after a few months);
- the idleness is not its season: it was not quiet over the same period a year earlier only to sell again
  after it (``quiet_last_year``, from the loader).

Of those, a series whose item sells at another location (demand there within the dead-stock period) is a
transfer to the location that sells it best, not a write-off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

# How sure an idle-stock proposal is that the stock will not sell where it is: by the demand its earlier rate would
# have produced over the idle run (``expected_idle_sales``), the share of such proposals that were right (no sale at
# that location over the next dead-stock period), measured by ``benchmarks/write_offs.py`` (20,000 generated series,
# seeds 0 and 1: 0.47/0.50 below 10 units, 0.67/0.68 from 10). A silence where an item used to sell many units is
# stronger evidence than one where it sold a unit or two, but neither is sure: a pause (a supplier problem, a range
# change undone) looks like a death until it ends, so the precision depends on how often a tenant's items pause,
# which no history of the item shows. Pages show it in words (`anomalies.evidence_strength`: both bands read "some
# evidence"), never as a percentage.
BANDS = ("weak", "strong")
BAND_EDGES = (10.0,)  # expected idle sales below 10: weak; 10 and more: strong
PRECISION_BY_BAND = {"weak": 0.48, "strong": 0.68}


def idle_band(expected_idle_sales: float) -> str:
    """The band of an idle-stock proposal by the demand its earlier rate would have produced while idle."""
    for name, edge in zip(BANDS, BAND_EDGES, strict=False):
        if expected_idle_sales < edge:
            return name
    return BANDS[-1]


def idle_confidence(expected_idle_sales: float) -> float:
    """The measured precision of an idle-stock proposal's band (see ``PRECISION_BY_BAND``)."""
    return PRECISION_BY_BAND[idle_band(expected_idle_sales)]


@dataclass
class IdleStock:
    """The idle series, one entry per row in ``rows`` (ascending)."""

    rows: list[int]
    idle_days: list[int]
    history_days: list[int | None]  # None where the first movement is unknown (the whole window counted)
    longest_gap_days: list[int]
    seller: list[int]  # the series of the same item that sells (highest rate), -1 where none does


def data_end(last_demand_day: NDArray[np.int64], source: NDArray[np.int64] | None = None) -> NDArray[np.int64]:
    """Per series: the column of the last day with demand anywhere in its source (the whole tenant where the
    sources are unknown), -1 where the source's window holds none."""
    if not len(last_demand_day):
        return np.zeros(0, dtype=np.int64)
    if source is None:
        return np.full(len(last_demand_day), int(last_demand_day.max()), dtype=np.int64)
    groups, where = np.unique(source, return_inverse=True)
    ends = np.full(len(groups), -1, dtype=np.int64)
    np.maximum.at(ends, where, last_demand_day)
    out: NDArray[np.int64] = ends[where]
    return out


def longest_gap(demand: Array, before: int) -> int:
    """The longest run of days without demand between two demand days, among columns ``< before``."""
    days = np.flatnonzero(demand[:before] > 0)
    if len(days) < 2:
        return 0
    return int(np.diff(days).max()) - 1


def idle_stock(
    y: Array,
    on_hand: Array,
    last_demand_day: NDArray[np.int64],
    item: NDArray[np.int64],
    daily_rate: Array,
    dead_stock_days: int,
    first_movement_day: Array | None = None,
    quiet_last_year: NDArray[np.bool_] | None = None,
    source: NDArray[np.int64] | None = None,
) -> IdleStock:
    """The series whose stock is idle by the rules above, with the figures behind each and where it sells.

    ``first_movement_day`` is the column of each series' first movement of any kind (negative before the
    window, NaN where none is known: no history); None counts the whole window as history (a caller that
    does not know). ``source`` (the connector of each series' item) counts each source's data end apart: a
    stale connector beside a live one floods nothing either."""
    end = data_end(last_demand_day, source)
    idle = end - last_demand_day
    held = np.nan_to_num(on_hand) > 0
    candidate = held & (end >= 0) & (idle >= dead_stock_days)
    history: Array | None = None
    if first_movement_day is not None:
        first = np.asarray(first_movement_day, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            history = np.where(np.isfinite(first), end - first + 1, 0.0)
        candidate &= history > dead_stock_days
    if quiet_last_year is not None:
        candidate &= ~np.asarray(quiet_last_year, dtype=bool)
    # Sellers: series with demand within the dead-stock period.
    selling = (idle < dead_stock_days) & (last_demand_day >= 0) & (daily_rate > 0)
    rows = np.flatnonzero(candidate)
    out = IdleStock([], [], [], [], [])
    if not len(rows):
        return out
    # The best seller of each item: the selling series ordered by item, then rate (highest last).
    sellers = np.flatnonzero(selling & np.isin(item, item[rows]))  # only the idle rows' items matter
    ordered = sellers[np.lexsort((daily_rate[sellers], item[sellers]))]
    best_of_item = dict(zip(item[ordered].tolist(), ordered.tolist(), strict=True))  # the last of each item wins
    for row in rows.tolist():
        quiet = int(idle[row])
        gap = longest_gap(y[row], int(last_demand_day[row]) + 1) if last_demand_day[row] >= 0 else 0
        if quiet <= gap:
            continue
        seller = best_of_item.get(int(item[row]), -1)
        out.rows.append(row)
        out.idle_days.append(quiet)
        out.history_days.append(None if history is None else int(history[row]))
        out.longest_gap_days.append(gap)
        out.seller.append(seller)
    return out
