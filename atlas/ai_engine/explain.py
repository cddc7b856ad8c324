"""Explanations in Arabic and English, with the figures behind them, from the one translation catalogue."""

from __future__ import annotations

import math
from typing import Any

from atlas.i18n import translate


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        if not math.isfinite(value):
            return "∞"
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}".rstrip("0").rstrip(".")
    return value


def explain(
    kind: str, figures: dict[str, Any], label: tuple[str, str], from_label: tuple[str, str] | None = None
) -> tuple[str, str]:
    """(English, Arabic) for a recommendation of ``kind`` (``reorder``, ``investigate_demand_spike``, …)."""
    params = {key: _fmt(value) for key, value in figures.items()}
    for key, value in figures.items():
        if key.endswith("probability") and isinstance(value, int | float):
            params[key] = f"{value * 100:.0f}%"
    if isinstance(figures.get("usual_zero_share"), int | float):
        params["usual_demand_share"] = f"{(1 - figures['usual_zero_share']) * 100:.0f}%"
    if isinstance(figures.get("p_value"), int | float):
        params["p_value"] = f"{figures['p_value']:.1e}"
    params["item"], params["location"] = label
    if from_label is not None:
        params["from_location"] = from_label[1]
    trend = figures.get("trend", "stable")
    key = f"ai.explain.{kind}"
    parts_en = [translate(key, "en", **params)]
    parts_ar = [translate(key, "ar", **params)]
    if kind in ("reorder", "transfer") and trend != "stable":
        parts_en.append(translate(f"ai.explain.trend_{trend}", "en", **params))
        parts_ar.append(translate(f"ai.explain.trend_{trend}", "ar", **params))
    return " ".join(parts_en), " ".join(parts_ar)
