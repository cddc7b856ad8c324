"""ABC/XYZ classes of items and the service level each class is promised.

ABC ranks items by annual demand value (demand × unit cost): the items making up the first ``a_share`` of the
tenant's total value are A, the next up to ``b_share`` B, the rest C. Items whose unit cost is unknown are ranked
the same way among themselves by annual volume (units), so a missing cost never makes an item C by default.
XYZ judges the variability of an item's weekly demand (all its locations together): coefficient of variation
at most ``x_cv`` is X, at most ``y_cv`` Y, else (or no demand at all) Z.

Pure numpy over all series at once: an item's class is shared by its series at every location.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

CLASSES: tuple[str, ...] = ("AX", "AY", "AZ", "BX", "BY", "BZ", "CX", "CY", "CZ")


def default_service_levels() -> dict[str, float]:
    """High-value steady items are promised the most; low-value erratic ones the least."""
    return {
        "AX": 0.98,
        "AY": 0.97,
        "AZ": 0.95,
        "BX": 0.97,
        "BY": 0.95,
        "BZ": 0.93,
        "CX": 0.95,
        "CY": 0.93,
        "CZ": 0.90,
    }


@dataclass(frozen=True)
class ClassSettings:
    """Where the class boundaries lie and the service level of each class."""

    service_levels: Mapping[str, float] = field(default_factory=default_service_levels)
    a_share: float = 0.80
    b_share: float = 0.95
    x_cv: float = 0.5
    y_cv: float = 1.0


@dataclass
class SeriesClasses:
    """Per series: its item's class (``"AX"`` …) and the target service level of that class."""

    abc: list[str]
    xyz: list[str]
    name: list[str]
    service_level: Array


def _abc(amount: NDArray[np.floating[Any]], a_share: float, b_share: float) -> NDArray[np.int64]:
    """0/1/2 (A/B/C) per entry by its share of the cumulative total, largest first. An entry is A while the
    total before it is under ``a_share`` (so the largest item is always A), B while under ``b_share``."""
    order = np.argsort(-amount, kind="stable")
    ranked = amount[order]
    total = float(ranked.sum())
    out = np.full(len(amount), 2, dtype=np.int64)
    if total <= 0:
        return out
    before = (np.cumsum(ranked) - ranked) / total
    grade = np.where(ranked <= 0, 2, np.where(before < a_share, 0, np.where(before < b_share, 1, 2)))
    out[order] = grade
    return out


def classify(y: Array, item: NDArray[np.int64], unit_cost: Array, settings: ClassSettings) -> SeriesClasses:
    """The ABC/XYZ class of each series' item from the demand history ``y`` (series × days)."""
    series, days = y.shape
    items, row_item = np.unique(item, return_inverse=True)
    count = len(items)
    daily = y.mean(axis=1) if days else np.zeros(series)
    volume = np.bincount(row_item, weights=daily, minlength=count) * 365.0
    # An item's cost: the mean of its locations' known costs (NaN when none is known).
    known = np.isfinite(unit_cost)
    cost_sum = np.bincount(row_item, weights=np.where(known, unit_cost, 0.0), minlength=count)
    cost_n = np.bincount(row_item, weights=known.astype(np.float64), minlength=count)
    with np.errstate(invalid="ignore", divide="ignore"):
        cost = np.where(cost_n > 0, cost_sum / np.maximum(cost_n, 1.0), np.nan)
    has_cost = np.isfinite(cost)
    abc = np.full(count, 2, dtype=np.int64)
    if has_cost.any():
        abc[has_cost] = _abc(volume[has_cost] * cost[has_cost], settings.a_share, settings.b_share)
    if (~has_cost).any():
        abc[~has_cost] = _abc(volume[~has_cost], settings.a_share, settings.b_share)
    # XYZ on weekly totals (daily demand of most items is too intermittent to judge): the newest whole weeks.
    weeks = days // 7
    if weeks >= 2:
        weekly_rows = y[:, days - weeks * 7 :].reshape(series, weeks, 7).sum(axis=2)
        weekly = np.stack(
            [np.bincount(row_item, weights=weekly_rows[:, w], minlength=count) for w in range(weeks)], axis=1
        )
        mean = weekly.mean(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            cv = np.where(mean > 0, weekly.std(axis=1) / np.where(mean > 0, mean, 1.0), np.inf)
    else:
        cv = np.full(count, np.inf)
    xyz = np.where(cv <= settings.x_cv, 0, np.where(cv <= settings.y_cv, 1, 2))
    abc_names = np.array(["A", "B", "C"])[abc][row_item]
    xyz_names = np.array(["X", "Y", "Z"])[xyz][row_item]
    names = np.char.add(abc_names, xyz_names)
    levels = np.array([float(settings.service_levels[name]) for name in CLASSES])
    service_level: Array = levels[(abc * 3 + xyz)[row_item]]
    return SeriesClasses(
        abc=abc_names.tolist(), xyz=xyz_names.tolist(), name=names.tolist(), service_level=service_level
    )
