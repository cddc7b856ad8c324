"""The geometry of the dashboard's charts (issue 19): horizontal bars and daily columns as inline SVG, computed on the
server as the item page's charts are (``atlas.ai_engine.pages``), so they need no script and no CDN.

Only coordinates and numbers are computed here; the words (titles, legends, the names of types and bands) come from
the catalogue in ``_charts.html`` so they follow the language switch. Horizontal bars are laid out from the start
edge; in right-to-left pages ``dashboard.css`` mirrors the drawing and turns each text back, so bars grow from the
right and labels read normally. Time runs left to right in both languages, as on the item page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

WIDTH = 440
LABEL_WIDTH = 120  # the row labels' column
VALUE_WIDTH = 76  # the totals' column after the longest bar
ROW_HEIGHT = 30
BAR_HEIGHT = 18
TOP = 8
AXIS_HEIGHT = 22


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """0, step, 2·step, … up to the first tick at or above ``top``, with a round step (1, 2, 2.5 or 5 × 10ⁿ)."""
    top = top if top > 0 else 1.0
    raw = top / count
    base = 10.0 ** math.floor(math.log10(raw))
    step = next((m * base for m in (1, 2, 2.5, 5, 10) if raw <= m * base + 1e-12), 10 * base)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def tick_text(value: float) -> str:
    """A tick's label: whole numbers with thousands separators, otherwise up to two decimals."""
    return f"{value:,.0f}" if value == round(value) else f"{value:,.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class BarRow:
    """One row of a horizontal bar chart: its label (or a catalogue key naming it), its parts by series, the total
    as people read it, and an optional tone that overrides the series' colour (a stale connector's bar)."""

    key: str
    label: str
    parts: Mapping[str, float]
    total_text: str
    label_key: str | None = None
    tone: str | None = None
    empty: bool = False  # nothing to draw (a connector that never synced): the total text says why


@dataclass(frozen=True)
class Chart:
    """What a template draws: the view box, the rows or columns, and the value axis."""

    width: int
    height: int
    plot: dict[str, float]
    ticks: list[dict[str, Any]]
    rows: list[dict[str, Any]] = field(default_factory=list)
    columns: list[dict[str, Any]] = field(default_factory=list)
    date_ticks: list[dict[str, Any]] = field(default_factory=list)


def bar_chart(rows: Sequence[BarRow], series: Sequence[str], *, floor: float = 1.0) -> Chart:
    """Horizontal bars, one row each, stacked in the order of ``series``, against one value axis starting at 0 and
    reaching at least ``floor`` (so that tiny values are not stretched across the whole width)."""
    left = float(LABEL_WIDTH)
    right = float(WIDTH - VALUE_WIDTH)
    peak = max((sum(max(v, 0.0) for v in row.parts.values()) for row in rows), default=0.0)
    ticks = nice_ticks(max(peak, floor))
    ceiling = ticks[-1]
    scale = (right - left) / ceiling
    drawn = []
    for index, row in enumerate(rows):
        top = TOP + index * ROW_HEIGHT
        y = top + (ROW_HEIGHT - BAR_HEIGHT) / 2
        x = left
        parts = []
        for name in series:
            value = max(float(row.parts.get(name, 0.0)), 0.0)
            if value <= 0:
                continue
            width = value * scale
            parts.append(
                {
                    "series": name,
                    "x": round(x, 1),
                    "y": round(y, 1),
                    "width": round(max(width, 1.0), 1),
                    "height": BAR_HEIGHT,
                    "value": tick_text(value),
                }
            )
            x += width
        drawn.append(
            {
                "key": row.key,
                "label": row.label,
                "label_key": row.label_key,
                "tone": row.tone,
                "empty": row.empty,
                "text_y": round(top + ROW_HEIGHT / 2 + 4, 1),
                "label_x": left - 8,
                "parts": parts,
                "total_text": row.total_text,
                "total_x": round(x + 6, 1),
            }
        )
    bottom = TOP + len(rows) * ROW_HEIGHT
    return Chart(
        width=WIDTH,
        height=int(bottom + AXIS_HEIGHT),
        plot={"left": left, "right": right, "top": float(TOP), "bottom": float(bottom)},
        ticks=[{"x": round(left + v * scale, 1), "label": tick_text(v)} for v in ticks],
        rows=drawn,
    )


def day_columns(by_day: Sequence[Mapping[str, int]], first_day: date, series: Sequence[str]) -> Chart:
    """Daily columns, stacked in the order of ``series`` from the baseline up; a date label every seven days."""
    left, right, top, height = 40.0, float(WIDTH - 12), 10.0, 160.0
    bottom = top + height
    days = max(len(by_day), 1)
    slot = (right - left) / days
    peak = max((sum(day.get(name, 0) for name in series) for day in by_day), default=0)
    ticks = nice_ticks(float(max(peak, 1)))
    ceiling = ticks[-1]
    columns = []
    for index, day in enumerate(by_day):
        on = first_day + timedelta(days=index)
        y = bottom
        parts = []
        for name in series:
            count = int(day.get(name, 0))
            if count <= 0:
                continue
            h = count / ceiling * height
            y -= h
            parts.append(
                {
                    "series": name,
                    "x": round(left + index * slot + slot * 0.15, 1),
                    "y": round(y, 1),
                    "width": round(slot * 0.7, 1),
                    "height": round(h, 1),
                    "count": count,
                }
            )
        columns.append({"date": on.isoformat(), "total": sum(day.get(n, 0) for n in series), "parts": parts})
    return Chart(
        width=WIDTH,
        height=int(bottom + 30),
        plot={"left": left, "right": right, "top": top, "bottom": bottom},
        ticks=[{"y": round(bottom - v / ceiling * height, 1), "label": tick_text(v)} for v in ticks],
        columns=columns,
        date_ticks=[
            {"x": round(left + (i + 0.5) * slot, 1), "label": (first_day + timedelta(days=i)).isoformat()[5:]}
            for i in range(days - 1, -1, -7)
        ],
    )
