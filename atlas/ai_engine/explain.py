"""Explanations in Arabic and English, with the figures behind them, from the one translation catalogue."""

from __future__ import annotations

import math
import string
from functools import lru_cache
from typing import Any

from atlas.i18n import catalogue, translate


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        if not math.isfinite(value):
            return "∞"
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}".rstrip("0").rstrip(".")
    return value


@lru_cache(maxsize=256)
def _fields(key: str) -> frozenset[str]:
    """The placeholders a message uses, in either language."""
    entry = catalogue().get(key, {})
    names: set[str] = set()
    for text in entry.values():
        names.update(name for _, name, _, _ in string.Formatter().parse(text) if name)
    return frozenset(names)


def _params(
    key: str, figures: dict[str, Any], label: tuple[str, str], from_label: tuple[str, str] | None
) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name in _fields(key):
        if name == "item":
            params[name] = label[0]
        elif name == "location":
            params[name] = label[1]
        elif name == "from_location":
            params[name] = from_label[1] if from_label else ""
        elif name == "usual_demand_share":
            share = figures.get("usual_zero_share")
            params[name] = f"{(1 - share) * 100:.0f}%" if isinstance(share, int | float) else "?"
        elif name == "p_value" and isinstance(figures.get("p_value"), int | float):
            params[name] = f"{figures['p_value']:.1e}"
        elif name.endswith("probability") and isinstance(figures.get(name), int | float):
            params[name] = f"{figures[name] * 100:.0f}%"
        else:
            params[name] = _fmt(figures.get(name, "?"))
    return params


def explain(
    kind: str, figures: dict[str, Any], label: tuple[str, str], from_label: tuple[str, str] | None = None
) -> tuple[str, str]:
    """(English, Arabic) for a recommendation of ``kind`` (``reorder``, ``investigate_demand_spike``, …)."""
    key = f"ai.explain.{kind}"
    params = _params(key, figures, label, from_label)
    parts_en = [translate(key, "en", **params)]
    parts_ar = [translate(key, "ar", **params)]
    trend = figures.get("trend", "stable")
    if kind in ("reorder", "transfer") and trend != "stable":
        trend_key = f"ai.explain.trend_{trend}"
        trend_params = _params(trend_key, figures, label, from_label)
        parts_en.append(translate(trend_key, "en", **trend_params))
        parts_ar.append(translate(trend_key, "ar", **trend_params))
    return " ".join(parts_en), " ".join(parts_ar)
