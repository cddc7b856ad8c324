"""The AI engine's pages: recommendations, anomalies, an item's forecasts, the dashboard's cards; and the rows and
the chart of one recommendation's page, whose handler is `atlas.approvals.recommendation_pages` (the page shows the
recommendation's approval too, and the approvals sit above the AI engine).

Every page reads through `atlas.ai_engine.services`, the same functions as the JSON API. Filters
and pages live in the query string (read leniently, as on the inventory browser). Charts are
inline SVG whose geometry is computed here, so they need no script and no CDN; their words
(titles, axes, legends) come from the catalogue in the template, so they switch language
with the rest of the page. Both languages of an explanation are in the page, and CSS shows the
one matching ``<html lang>``.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.ai_engine import services as ai
from atlas.ai_engine.analysis import CONFIDENCE_KINDS, MEASURED_PRECISION, STOCKOUT_PROBABILITY
from atlas.ai_engine.anomalies import evidence_strength
from atlas.errors import NotFound
from atlas.i18n import catalogue
from atlas.mapping import inventory
from atlas.mapping.data_pages import ItemRepo
from atlas.platform.principal import Principal
from atlas.platform.rbac import Permission
from atlas.web.params import page_param, text_param, uuid_param
from atlas.web.ui.formatting import format_money, format_quantity, pager
from atlas.web.ui.layout import page, tenant_context_for

PAGE_SIZE = 50
MAX_LOCATION_OPTIONS = 500
REC_TYPES = ("reorder", "transfer", "write_off", "investigate")
PRIORITIES = ("high", "medium", "low")
REC_STATUSES = ("pending", "approved", "ready_for_execution", "blocked_by_lock", "rejected", "retired", "expired")
ANOMALY_TYPES = (
    "demand_spike",
    "demand_drop",
    "zero_run",
    "large_transaction",
    "negative_stock",
    "stale_connector",
    "stale_data",
)
SEVERITIES = ("critical", "high", "medium", "low")
ANOMALY_STATUSES = ("open", "resolved")

# The evidence figures in the order a person reads them; each has a name (aipage.figure.<key>).
FIGURE_ORDER = (
    "quantity",
    "quantity_before_rounding",
    "min_order_qty",
    "order_multiple",
    "covered_by_transfer",
    "need",
    "value",
    "position",
    "available",
    "on_hand",
    "on_order",
    "daily_rate",
    "days_of_cover",
    "lead_time_days",
    "review_days",
    "demand_over_lead_time",
    "safety_stock",
    "reorder_point",
    "order_up_to",
    "stockout_probability",
    "service_level",
    "service_class",
    "from_available",
    "from_position",
    "from_order_up_to",
    "from_daily_rate",
    "from_days_of_cover",
    "transfer_days",
    "idle_days",
    "history_days",
    "longest_gap_days",
    "idle_on_hand",
    "dead_stock_days",
    "anomaly",
    "severity",
    "observed",
    "expected",
    "zscore",
    "p_value",
    "window_days",
    "baseline_daily",
    "run_days",
    "usual_zero_share",
    "age_days",
    "kind",
    "reference",
    "movement_id",
    "ratio_to_median",
    "median_size",
    "ma7",
    "ma14",
    "ma30",
    "trend7",
    "trend30",
    "trend",
    "method",
    "mae",
    "mase",
)
# The statistics behind a recommendation (test statistics, error measures, smoothed levels and slopes, the method):
# shown behind "details" on its page, below the figures the explanation speaks of in plain words.
STATISTICS_FIGURES = frozenset(
    {"zscore", "p_value", "mase", "mae", "ma7", "ma14", "ma30", "trend7", "trend30", "method", "usual_zero_share"}
)
PERCENT_FIGURES = frozenset({"stockout_probability", "service_level", "usual_zero_share"})
# Figures whose value is a word with a name in the catalogue: the prefix of its key.
WORD_FIGURES = {
    "trend": "aipage.trend.",
    "method": "aipage.method.",
    "anomaly": "aipage.anomaly_type.",
    "severity": "aipage.severity.",
    "kind": "inventory.kind.",
    "evidence_strength": "alerts.strength.",
}
TEXT_FIGURES = frozenset({"reference", "movement_id", "connector_id"})
SIGNED_FIGURES = frozenset({"trend7", "trend30"})
SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
MINUS = "\u2212"


# --- numbers as people read them ------------------------------------------------------------------


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def format_number(value: Any, *, signed: bool = False) -> str:
    """``1234.5`` → ``1,234.5``; up to two decimals (three significant figures below 0.01); a true minus."""
    number = _float(value)
    if number is None:
        return "—"
    size = abs(number)
    if size >= 100 or size == round(size):
        text = f"{size:,.0f}"
    elif size >= 0.01:
        text = f"{size:,.2f}".rstrip("0").rstrip(".")
    else:
        text = f"{size:.2g}"
    if number < 0 and text.strip("0.,") != "":
        return MINUS + text
    return ("+" + text) if signed and number > 0 else text


def format_percent(value: Any) -> str:
    """A share (0..1) as a whole percentage; ``<1%`` rather than a misleading ``0%``."""
    number = _float(value)
    if number is None:
        return "—"
    percent = number * 100
    if 0 < percent < 1:
        return "<1%"
    if 99 < percent < 100:
        return ">99%"
    return f"{percent:.0f}%"


def format_p_value(value: Any) -> str:
    """``0.012``; very small ones in scientific notation: ``3.2×10⁻⁵``."""
    number = _float(value)
    if number is None:
        return "—"
    if number >= 0.001 or number == 0:
        return f"{number:.3f}".rstrip("0").rstrip(".") if number else "0"
    mantissa, exponent = f"{number:.1e}".split("e")
    mantissa = mantissa.removesuffix(".0")
    return f"{mantissa}×10{str(int(exponent)).translate(SUPERSCRIPT)}"


def format_zscore(value: Any) -> str:
    """A z-score with its sign and one decimal: ``+18.6``, ``−4.2``."""
    number = _float(value)
    if number is None:
        return "—"
    text = f"{abs(number):,.1f}"
    if text == "0.0":
        return "0"
    return (MINUS if number < 0 else "+") + text


def plain_figures(figures: dict[str, Any] | None) -> dict[str, Any]:
    """The figures a person reads first (those the explanation speaks of), without the statistics."""
    return {k: v for k, v in (figures or {}).items() if k not in STATISTICS_FIGURES}


def statistics_figures(figures: dict[str, Any] | None) -> dict[str, Any]:
    """The statistics behind the figures (z, p-value, MASE, …), for the page's "details"."""
    return {k: v for k, v in (figures or {}).items() if k in STATISTICS_FIGURES}


def figure_entries(figures: dict[str, Any] | None, order: tuple[str, ...] = FIGURE_ORDER) -> list[dict[str, Any]]:
    """Figures as rows of a definition list: known ones first, in reading order, then any others."""
    if not figures:
        return []
    names = catalogue()
    keys = [k for k in order if k in figures] + sorted(k for k in figures if k not in order)
    entries = []
    for key in keys:
        value = figures[key]
        if isinstance(value, dict | list):
            continue
        label = f"aipage.figure.{key}"
        entry: dict[str, Any] = {"key": key, "label": label if label in names else None, "word": None, "text": None}
        word_key = f"{WORD_FIGURES[key]}{value}" if key in WORD_FIGURES else None
        if word_key and word_key in names:
            entry["word"] = word_key
        elif value is None:
            no_demand = key == "days_of_cover" and _float(figures.get("daily_rate")) == 0
            entry["text"] = "∞" if no_demand else "—"  # no demand: the stock lasts indefinitely
        elif key in PERCENT_FIGURES:
            entry["text"] = format_percent(value)
        elif key == "p_value":
            entry["text"] = format_p_value(value)
        elif key == "zscore":
            entry["text"] = format_zscore(value)
        elif key in TEXT_FIGURES or isinstance(value, str):
            entry["text"] = str(value)
            entry["mono"] = True
        else:
            entry["text"] = format_number(value, signed=key in SIGNED_FIGURES)
        entries.append(entry)
    return entries


def signal_entries(signals: list[str] | None) -> list[dict[str, Any]]:
    names = catalogue()
    return [
        {"name": name, "label": f"aipage.signal.{name}" if f"aipage.signal.{name}" in names else None}
        for name in (signals or [])
        if isinstance(name, str)
    ]


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


# --- charts: inline SVG geometry ------------------------------------------------------------------


def _nice_step(raw: float) -> float:
    if raw <= 0:
        return 1.0
    base = 10.0 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if raw <= multiple * base + 1e-12:
            return multiple * base
    return 10 * base


def _value_ticks(top: float, count: int = 4) -> list[float]:
    """0, step, 2·step, … up to the first tick at or above ``top``."""
    top = top if top > 0 else 1.0
    step = _nice_step(top / count)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def _line(points: list[tuple[float, float]]) -> str:
    return ("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in points)) if points else ""


class _Panel:
    """One plot area: ``days`` slots across, values 0..top upwards."""

    def __init__(self, left: float, top: float, width: float, height: float, days: int, ceiling: float) -> None:
        self.left, self.top, self.width, self.height = left, top, width, height
        self.days = max(days, 1)
        self.ticks = _value_ticks(ceiling)
        self.ceiling = self.ticks[-1]
        self.slot = width / self.days

    @property
    def bottom(self) -> float:
        return self.top + self.height

    @property
    def right(self) -> float:
        return self.left + self.width

    def x(self, index: float) -> float:
        """The centre of day ``index``."""
        return self.left + (index + 0.5) * self.slot

    def edge(self, index: float) -> float:
        """The left edge of day ``index`` (``days`` is the right edge of the panel)."""
        return self.left + index * self.slot

    def y(self, value: float) -> float:
        value = min(max(value, 0.0), self.ceiling)
        return self.bottom - value / self.ceiling * self.height

    def frame(self) -> dict[str, Any]:
        return {
            "left": self.left,
            "top": self.top,
            "right": self.right,
            "bottom": self.bottom,
            "width": self.width,
            "height": self.height,
            "y_ticks": [{"y": round(self.y(v), 1), "label": format_number(v)} for v in self.ticks],
        }

    def date_ticks(self, first: date | None, anchor: int = 0) -> list[dict[str, Any]]:
        """Date labels every 7·k days, counted from day ``anchor`` (at most about seven labels)."""
        if first is None:
            return []
        step = 7 * max(1, math.ceil(self.days / 49))
        indexes = sorted(
            {i for i in range(anchor % step, self.days, step)} | ({anchor} if 0 <= anchor < self.days else set())
        )
        return [{"x": round(self.x(i), 1), "label": (first + timedelta(days=i)).isoformat()} for i in indexes]


def _demand_geometry(
    history: list[dict[str, Any]], forecast: list[dict[str, Any]], panel_box: tuple[float, float, float, float]
) -> dict[str, Any]:
    """Bars of past daily demand, then the forecast (mean) line inside its 80% band (q0.1 to q0.9) and, where the
    forecast carries it, the daily median (q0.5) as a line of its own, on one time axis."""
    past = [(_as_date(h.get("date")), _float(h.get("demand")) or 0.0) for h in history]
    ahead = [
        (
            _as_date(f.get("date")),
            _float(f.get("forecast")) or 0.0,
            _float(f.get("lo80")),
            _float(f.get("hi80")),
        )
        for f in forecast
    ]
    medians = [_float(f.get("q50")) for f in forecast]
    peak = max(
        [v for _, v in past] + [max(v, hi or 0.0) for _, v, _, hi in ahead] + [m or 0.0 for m in medians] + [0.0],
    )
    left, top, width, height = panel_box
    panel = _Panel(left, top, width, height, len(past) + len(ahead), peak * 1.05 if peak > 0 else 1.0)
    bar_width = max(panel.slot * 0.72, 1.0)
    bars = []
    for i, (day, value) in enumerate(past):
        if value <= 0:
            continue
        y = panel.y(value)
        bars.append(
            {
                "x": round(panel.x(i) - bar_width / 2, 1),
                "y": round(y, 1),
                "width": round(bar_width, 1),
                "height": round(max(panel.bottom - y, 0.5), 1),
                "title": f"{day.isoformat() if day else ''}: {format_number(value)}",
            }
        )
    offset = len(past)
    line = [(panel.x(offset + i), panel.y(v)) for i, (_, v, _, _) in enumerate(ahead)]
    upper = [(panel.x(offset + i), panel.y(hi if hi is not None else v)) for i, (_, v, _, hi) in enumerate(ahead)]
    lower = [(panel.x(offset + i), panel.y(lo if lo is not None else v)) for i, (_, v, lo, _) in enumerate(ahead)]
    band = ("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in upper + lower[::-1]) + " Z") if ahead else ""
    # The median only where every forecast day has one (a forecast stored before migration 0019 has none).
    median = (
        _line([(panel.x(offset + i), panel.y(m)) for i, m in enumerate(medians) if m is not None])
        if ahead and all(m is not None for m in medians)
        else ""
    )
    points = [
        {
            "x": round(x, 1),
            "y": round(y, 1),
            "title": f"{day.isoformat() if day else ''}: {format_number(v)} ({format_number(lo)}–{format_number(hi)})",
        }
        for (x, y), (day, v, lo, hi) in zip(line, ahead, strict=True)
    ]
    first_day = past[0][0] if past else (ahead[0][0] if ahead else None)
    if first_day is None and ahead and ahead[0][0] is not None:
        first_day = ahead[0][0] - timedelta(days=len(past))
    return {
        **panel.frame(),
        "x_ticks": panel.date_ticks(first_day, anchor=offset if ahead else 0),
        "bars": bars,
        "band": band,
        "line": _line(line),
        "median": median,
        "points": points if panel.slot >= 10 else [],  # a dot per forecast day, when there is room
        "divider": round(panel.edge(offset), 1) if past and ahead else None,
        "history_mid": round((panel.left + panel.edge(offset)) / 2, 1) if past else None,
        "forecast_mid": round((panel.edge(offset) + panel.right) / 2, 1) if ahead else None,
    }


def demand_chart(history: list[dict[str, Any]] | None, forecast: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    """The recommendation's chart: its last 30 days of demand and the next 14 days' forecast with the 80% band."""
    history, forecast = list(history or []), list(forecast or [])
    if not history and not forecast:
        return None
    width, height = 720, 280
    return {
        "width": width,
        "height": height,
        "demand": _demand_geometry(history, forecast, (56, 30, width - 56 - 16, height - 30 - 44)),
        "table": _chart_table(history, forecast),
    }


def _chart_table(history: list[dict[str, Any]], forecast: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The chart's numbers, for a table people (and screen readers) can read: past demand, then per forecast day
    the mean and the daily quantiles q0.1, q0.5 (the median; "—" where the stored forecast has none) and q0.9
    (``lo80``/``hi80`` are q0.1/q0.9 under their earlier names)."""
    rows = [{"date": str(h.get("date", ""))[:10], "demand": format_number(h.get("demand"))} for h in history]
    rows += [
        {
            "date": str(f.get("date", ""))[:10],
            "forecast": format_number(f.get("forecast")),
            "q10": format_number(f.get("q10", f.get("lo80"))),
            "q50": format_number(f.get("q50")),
            "q90": format_number(f.get("q90", f.get("hi80"))),
        }
        for f in forecast
    ]
    return rows


def _projected_stock(
    start: date | None, forecast: list[float], available: float, reorder_point: float | None, box: tuple[float, ...]
) -> dict[str, Any]:
    """Available stock minus the cumulative forecast, day by day, against the reorder point."""
    levels = [available]
    for value in forecast:
        levels.append(levels[-1] - max(value, 0.0))
    ceiling = max([available, reorder_point or 0.0, 1.0]) * 1.08
    left, top, width, height = box
    panel = _Panel(left, top, width, height, len(levels), ceiling)
    # Day 0 is today's stock; day i the stock left after i days of forecast demand.
    points = [(panel.x(i), panel.y(max(level, 0.0))) for i, level in enumerate(levels)]
    runs_out = next((i for i, level in enumerate(levels) if level <= 0), None)
    reaches_rop = (
        next((i for i, level in enumerate(levels) if level < reorder_point), None)
        if reorder_point is not None and reorder_point > 0
        else None
    )
    area = (
        _line(points) + f" L{points[-1][0]:.1f},{panel.bottom:.1f} L{points[0][0]:.1f},{panel.bottom:.1f} Z"
        if points
        else ""
    )
    return {
        **panel.frame(),
        "x_ticks": panel.date_ticks(start, anchor=0),
        "line": _line(points),
        "area": area,
        "reorder_y": round(panel.y(reorder_point), 1) if reorder_point is not None and reorder_point > 0 else None,
        "reorder_label": format_number(reorder_point) if reorder_point is not None else None,
        "runs_out": None
        if runs_out is None
        else {
            "x": round(points[runs_out][0], 1),
            "y": round(points[runs_out][1], 1),
            "day": runs_out,
            # The level after i days is gone: the stock runs out during day i - 1.
            "date": (start + timedelta(days=max(runs_out - 1, 0))).isoformat() if start else "",
        },
        "reaches_rop": None
        if reaches_rop is None
        else {
            "x": round(points[reaches_rop][0], 1),
            "y": round(points[reaches_rop][1], 1),
            "day": reaches_rop,
            "date": (start + timedelta(days=reaches_rop)).isoformat() if start else "",
        },
    }


def item_chart(series: dict[str, Any]) -> dict[str, Any] | None:
    """One location's chart: 90 days of demand and the 30-day forecast (mean, median and 80% band) above; below,
    the projected stock (available minus cumulative forecast) against the reorder point; and its numbers."""
    block = series.get("forecast") or None
    history = list(series.get("history") or [])
    forecast: list[dict[str, Any]] = []
    start: date | None = None
    figures: dict[str, Any] = {}
    if block:
        start = _as_date(block.get("start_date"))
        figures = block.get("figures") or {}
        values, lo, hi = block.get("forecast") or [], block.get("lo80") or [], block.get("hi80") or []
        mid = block.get("q50") or []  # None on a forecast stored before migration 0019
        for i, value in enumerate(values):
            forecast.append(
                {
                    "date": (start + timedelta(days=i)).isoformat() if start else "",
                    "forecast": value,
                    "lo80": lo[i] if i < len(lo) else None,
                    "hi80": hi[i] if i < len(hi) else None,
                    "q50": mid[i] if i < len(mid) else None,
                }
            )
    if not history and not forecast:
        return None
    width = 840
    left, inner = 60, 840 - 60 - 16
    # Each panel: its title 32px above, its axis title 10px above, the plot, then 44px of date labels.
    demand_top, demand_height, stock_height = 48, 190, 150
    stock_top = demand_top + demand_height + 44 + 48
    chart: dict[str, Any] = {
        "width": width,
        "demand": _demand_geometry(history, forecast, (left, demand_top, inner, demand_height)),
        "table": _chart_table(history, forecast),
    }
    balance = series.get("balance") or {}
    available = _float(figures.get("available"))
    if available is None:
        available = _float(balance.get("available_qty"))
    stock = None
    if forecast and available is not None:
        stock = _projected_stock(
            start,
            [_float(f["forecast"]) or 0.0 for f in forecast],
            available,
            _float(figures.get("reorder_point")),
            (left, stock_top, inner, stock_height),
        )
    chart["stock"] = stock
    chart["height"] = (stock_top + stock_height + 40) if stock else (demand_top + demand_height + 40)
    return chart


# --- rows for the templates -----------------------------------------------------------------------


def confidence_kind(rec: dict[str, Any], evidence: dict[str, Any]) -> str:
    """What a recommendation's confidence is: ``evidence.confidence_kind`` as the analysis recorded it; for one
    stored before it was recorded, read from its type (an idle-stock transfer by its ``idle_days`` figure)."""
    kind = evidence.get("confidence_kind")
    if kind in CONFIDENCE_KINDS:
        return str(kind)
    figures = evidence.get("figures")
    idle = isinstance(figures, dict) and "idle_days" in figures
    if rec.get("type") in ("investigate", "write_off") or (rec.get("type") == "transfer" and idle):
        return MEASURED_PRECISION
    return STOCKOUT_PROBABILITY


def recommendation_row(rec: dict[str, Any]) -> dict[str, Any]:
    row = dict(rec)
    row["quantity_text"] = format_quantity(_decimal(rec.get("quantity")))
    row["value_text"] = format_money(_decimal(rec.get("value")))
    row["confidence_text"] = format_percent(rec.get("confidence_score"))
    row["confidence_pct"] = max(0, min(100, round((_float(rec.get("confidence_score")) or 0) * 100)))
    found = rec.get("evidence")
    evidence: dict[str, Any] = found if isinstance(found, dict) else {}
    # A confidence that is a measured precision (an investigation's severity band, an idle-stock proposal's band) is
    # shown in plain words; a reorder's or transfer's is a calibrated stockout probability, shown as a risk.
    row["strength_key"] = None
    row["confidence_hint_key"] = "aipage.confidence.stockout_hint"
    if confidence_kind(rec, evidence) == MEASURED_PRECISION:
        strong = evidence_strength(_float(rec.get("confidence_score")) or 0.0) == "strong"
        row["strength_key"] = "alerts.strength.strong" if strong else "alerts.strength.some"
        investigate = rec.get("type") == "investigate"
        row["confidence_hint_key"] = "alerts.strength.hint" if investigate else "aipage.confidence.idle_hint"
    # A quantity a person set stays theirs; the engine's own latest figure is kept beside it in the evidence.
    computed = _decimal(evidence.get("computed_quantity")) if evidence.get("quantity_set_by") else None
    row["computed_quantity_text"] = None if computed is None else format_quantity(computed)
    return row


def anomaly_row(anomaly: dict[str, Any]) -> dict[str, Any]:
    row = dict(anomaly)
    row["observed_text"] = format_number(anomaly.get("observed"))
    row["expected_text"] = format_number(anomaly.get("expected"))
    row["zscore_text"] = format_zscore(anomaly.get("zscore"))
    row["p_value_text"] = format_p_value(anomaly.get("p_value"))
    row["detail_entries"] = figure_entries(anomaly.get("details") or {})
    row["occurred"] = _as_date(anomaly.get("occurred_on"))
    details = anomaly.get("details") or {}
    # A connector's stale data is one alert for the connector (no item, no location).
    row["connector"] = (
        {
            "id": details.get("connector_id"),
            "name": details.get("connector_name"),
            "age_text": format_number(details.get("age_days")),
        }
        if anomaly.get("type") == "stale_connector"
        else None
    )
    return row


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _choice(value: str, allowed: tuple[str, ...]) -> str:
    return value if value in allowed else ""


async def _location_options(db: AsyncSession) -> list[dict[str, Any]]:
    return list((await inventory.locations(db, q=None, limit=MAX_LOCATION_OPTIONS, offset=0))["items"])


async def _item_filter(db: AsyncSession, item_id: uuid.UUID | None) -> dict[str, Any] | None:
    """The item a list is narrowed to (from the item page's links); another tenant's item is not found."""
    if item_id is None:
        return None
    item = await ItemRepo(db).get_or_none(item_id)
    if item is None:
        raise NotFound("errors.not_found")
    return {"id": str(item.id), "sku": item.sku, "name": item.name}


async def _fetch_page(fetch: Any, current: int) -> tuple[dict[str, Any], int]:
    result: dict[str, Any] = await fetch(current)
    if not result["items"] and result["total"] and current > 1:  # past the end: show the last page
        current = math.ceil(result["total"] / PAGE_SIZE)
        result = await fetch(current)
    return result, current


async def _filtered_list(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    *,
    template: str,
    nav: str,
    statuses: tuple[str, ...],
    default_status: str,
    choices: dict[str, tuple[str, ...]],
    lister: Callable[..., Awaitable[dict[str, Any]]],
    row: Callable[[Any], dict[str, Any]],
    **extra: Any,
) -> Template:
    """A paged, filtered list (recommendations, anomalies): coded `choices`, a status whose
    default is left out of links ("all" shows every status), a location and an item."""
    ctx = await tenant_context_for(db)
    params = request.query_params
    status = text_param(params, "status", 30) or default_status
    status = status if status in (*statuses, "all") else default_status
    chosen = {name: _choice(text_param(params, name, 40), allowed) for name, allowed in choices.items()}
    location_id = uuid_param(text_param(params, "location_id", 40))
    item_id = uuid_param(text_param(params, "item_id", 40))
    item = await _item_filter(db, item_id)

    async def fetch(number: int) -> dict[str, Any]:
        return await lister(
            db,
            **{name: value or None for name, value in chosen.items()},
            status=None if status == "all" else status,
            item_id=item_id,
            location_id=location_id,
            limit=PAGE_SIZE,
            offset=(number - 1) * PAGE_SIZE,
        )

    result, current = await _fetch_page(fetch, page_param(text_param(params, "page", 12)))
    values = {
        **chosen,
        "status": "" if status == default_status else status,
        "location_id": str(location_id or ""),
        "item_id": str(item_id or ""),
    }
    link_params = {k: v for k, v in values.items() if v}
    return page(
        request,
        template,
        nav=nav,
        rows=[row(r) for r in result["items"]],
        filters={**values, "status": status},
        active_filters=list(link_params),
        item=item,
        locations=await _location_options(db),
        statuses=statuses,
        pager=pager(result["total"], current, PAGE_SIZE),
        link_params=link_params,
        **extra,
        **ctx,
    )


class AiPages(Controller):
    include_in_schema = False

    @get("/app/recommendations", opt={"permission": Permission.READ})
    async def recommendations(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template:
        return await _filtered_list(
            request,
            db,
            template="ai/recommendations.html",
            nav="recommendations",
            statuses=REC_STATUSES,
            default_status="pending",
            choices={"type": REC_TYPES, "priority": PRIORITIES},
            lister=ai.list_recommendations,
            row=recommendation_row,
            types=REC_TYPES,
            priorities=PRIORITIES,
            can_analyse=principal.can(Permission.DECIDE_RECOMMENDATIONS),
        )

    @get("/app/anomalies", opt={"permission": Permission.READ})
    async def anomalies(self, request: Request[Any, Any, Any], db: NamedDependency[AsyncSession]) -> Template:
        return await _filtered_list(
            request,
            db,
            template="ai/anomalies.html",
            nav="anomalies",
            statuses=ANOMALY_STATUSES,
            default_status="open",
            choices={"type": ANOMALY_TYPES, "severity": SEVERITIES},
            lister=ai.list_anomalies,
            row=anomaly_row,
            types=ANOMALY_TYPES,
            severities=SEVERITIES,
        )

    @get("/app/items/{item_id:uuid}", opt={"permission": Permission.READ})
    async def item(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        item_id: FromPath[uuid.UUID],
    ) -> Template:
        ctx = await tenant_context_for(db)
        view = await ai.item_view(db, item_id)
        series = []
        for entry in view.get("series") or []:
            block = entry.get("forecast") or {}
            figures = dict(block.get("figures") or {})
            balance = entry.get("balance") or {}
            if "available" not in figures and balance.get("available_qty") is not None:
                figures["available"] = balance["available_qty"]
            key_figures = {k: figures.get(k) for k in ("available", "days_of_cover", "reorder_point")}
            if block:
                key_figures["method"] = block.get("method") or figures.get("method")
                key_figures["mase"] = block.get("mase")
            series.append(
                {
                    **entry,
                    "chart": item_chart(entry),
                    "key_figures": figure_entries(
                        key_figures, ("available", "days_of_cover", "reorder_point", "method", "mase")
                    ),
                    "stockout_probability": format_percent(figures.get("stockout_probability"))
                    if figures.get("stockout_probability") is not None
                    else None,
                    "stockout_high": (_float(figures.get("stockout_probability")) or 0.0) >= 0.5,
                }
            )
        return page(
            request,
            "ai/item.html",
            nav="inventory",
            item=view["item"],
            series=series,
            recommendations=[recommendation_row(r) for r in view.get("recommendations") or []],
            anomalies=[anomaly_row(a) for a in view.get("anomalies") or []],
            **ctx,
        )


# The order a person works through recommendations on the dashboard (issue 19): reorders, transfers, investigations,
# then write-offs; a few of each, the most urgent first (the list's own order).
NEXT_UP_PER_TYPE = 3
# An investigation's statistics, behind "details" on the dashboard: the test and the anomaly's own measures.
ANOMALY_STATISTICS = (
    "observed",
    "expected",
    "zscore",
    "p_value",
    "window_days",
    "baseline_daily",
    "run_days",
    "usual_zero_share",
    "ratio_to_median",
    "median_size",
    "age_days",
)


def next_up_row(rec: dict[str, Any], anomaly: Any = None) -> dict[str, Any]:
    """A pending recommendation for the dashboard's "next up" list; an investigation says what is unusual in plain
    words (``dashboard.anomaly.<type>``) and keeps its statistics (from its evidence and its linked anomaly, when
    there is one) for the "details" under it."""
    row = recommendation_row(rec)
    row["plain_key"] = None
    row["statistics"] = []
    row["observed_text"] = row["quantity_text"]
    if rec.get("type") == "investigate":
        evidence = rec.get("evidence") if isinstance(rec.get("evidence"), dict) else {}
        found = evidence.get("figures") if isinstance(evidence, dict) else None
        figures: dict[str, Any] = dict(found) if isinstance(found, dict) else {}
        if anomaly is not None:
            figures.update({k: v for k, v in (anomaly.details or {}).items() if isinstance(v, int | float)})
            figures.update(
                anomaly=anomaly.type,
                observed=anomaly.observed,
                expected=anomaly.expected,
                zscore=anomaly.zscore,
                p_value=anomaly.p_value,
            )
            row["observed_text"] = format_number(anomaly.observed)
        key = f"dashboard.anomaly.{figures.get('anomaly')}"
        row["plain_key"] = key if key in catalogue() else "dashboard.anomaly.other"
        row["statistics"] = figure_entries({k: figures[k] for k in ANOMALY_STATISTICS if k in figures})
    return row


async def dashboard_cards(
    db: AsyncSession, approval_reminders: list[dict[str, Any]], type_order: tuple[str, ...]
) -> dict[str, Any]:
    """`services.dashboard_summary` with its numbers formatted for the dashboard's cards, and the approvals about to
    expire (issue 6) that the dashboard (above the approvals) reads from them and passes on; the pending
    recommendations in ``type_order`` (a few of each) for the "next up" list."""
    summary = dict(await ai.dashboard_summary(db))
    summary["approval_reminders"] = approval_reminders
    summary["type_order"] = type_order
    pending = [
        rec
        for rec_type in type_order
        for rec in (await ai.list_recommendations(db, type=rec_type, status="pending", limit=NEXT_UP_PER_TYPE))["items"]
    ]
    anomalies = ai.AnomalyRepo(db)
    summary["next_up"] = [
        next_up_row(rec, await anomalies.get_or_none(rec["anomaly_id"]) if rec.get("anomaly_id") else None)
        for rec in pending
    ]
    summary["stale_connectors"] = [
        {**row, "age_text": format_number(row.get("age_days"))} for row in summary.get("stale_connectors") or []
    ]
    summary["items_at_risk"] = [
        {
            **row,
            "days_of_cover_text": format_number(row.get("days_of_cover")),
            "stockout_text": format_percent(row.get("stockout_probability")),
        }
        for row in summary.get("items_at_risk") or []
    ]
    return summary
