"""Explanations in Arabic and English, with the figures behind them, from the one translation catalogue.

A placeholder named in ``PHRASES`` is a counted phrase (``12 days``, ``يومان``, ``3 وحدات``): the figure's
number, formatted as everywhere else, with its noun in the CLDR plural form of that number in each language
(`atlas.i18n.translate_plural`). ``value_text`` is the value at risk in riyals, or "value unknown" where the
item has no unit cost.
"""

from __future__ import annotations

import math
import string
from collections.abc import Callable, Sequence
from functools import lru_cache
from operator import itemgetter
from typing import Any

import numpy as np

from atlas.i18n import DEFAULT_LANG, LANGS, catalogue, translate, translate_plural

Label = tuple[str, str]
TREND_KINDS = frozenset({"reorder", "transfer"})  # the kinds whose explanation adds the trend's sentence
EXTRA_ORDER = ("ai.explain.reorder_transfer_covers", "ai.explain.reorder_rounded")  # see `extra_sentences`


# Counted phrases: placeholder → (figure, plural key). Figures an older analysis did not record take defaults
# (``_figure``).
PHRASES: dict[str, tuple[str, str]] = {
    "available_units": ("available", "plural.unit"),
    "on_hand_units": ("on_hand", "plural.unit"),
    "on_order_units": ("on_order", "plural.unit"),
    "position_units": ("position", "plural.unit"),
    "reorder_point_units": ("reorder_point", "plural.unit"),
    "safety_stock_units": ("safety_stock", "plural.unit"),
    "order_up_to_units": ("order_up_to", "plural.unit"),
    "demand_over_lead_units": ("demand_over_lead_time", "plural.unit"),
    "quantity_units": ("quantity", "plural.unit"),
    "covered_units": ("covered_by_transfer", "plural.unit"),
    "need_units": ("quantity_before_rounding", "plural.unit"),
    "from_available_units": ("from_available", "plural.unit"),
    "observed_units": ("observed", "plural.unit"),
    "idle_on_hand_units": ("idle_on_hand", "plural.unit"),
    "daily_rate_rate": ("daily_rate", "plural.unit_per_day"),
    "from_rate": ("daily_rate", "plural.unit_per_day"),  # an idle stock's transfer: the rate where it sells
    "cover_period": ("days_of_cover", "plural.day"),
    "from_cover_period": ("from_days_of_cover", "plural.day"),
    "lead_period": ("lead_time_days", "plural.day"),
    "transfer_period": ("transfer_days", "plural.day"),
    "idle_period": ("idle_days", "plural.day"),
    "history_period": ("history_days", "plural.day"),
    "threshold_period": ("dead_stock_days", "plural.day"),
    "run_period": ("run_days", "plural.day"),
    "age_period": ("observed", "plural.day"),
}
PERCENT_FIGURES = frozenset({"service_level"})


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def extra_sentences(kind: str, figures: dict[str, Any]) -> list[str]:
    """The keys of the sentences a ``kind``'s explanation adds after its first, in order: for a reorder, the part
    a transfer covers and the rounding to minimum order and case pack, so its figures add up for the reader."""
    if kind != "reorder":
        return []
    keys: list[str] = []
    covered = _number(figures.get("covered_by_transfer"))
    if covered is not None and covered > 0:
        keys.append("ai.explain.reorder_transfer_covers")
    need, quantity = _number(figures.get("quantity_before_rounding")), _number(figures.get("quantity"))
    if need is not None and quantity is not None and quantity > need:
        keys.append("ai.explain.reorder_rounded")
    return keys


SMALL_FIGURES = frozenset({"trend30"})  # slopes: two significant digits below one (0.015, not 0)


def _figure(name: str, figures: dict[str, Any]) -> Any:
    """A figure, with the defaults of those an analysis may not have recorded: nothing on order, the position
    as available plus on order, the safety stock as the reorder point above the expected lead-time demand."""
    if name in figures:
        return figures[name]
    if name == "on_order":
        return 0.0
    if name == "position":
        if "inventory_position" in figures:  # as the replenishment policy records it
            return figures["inventory_position"]
        available, on_order = figures.get("available"), _figure("on_order", figures)
        if isinstance(available, int | float) and isinstance(on_order, int | float):
            return float(round(available + on_order, 2))
    if name == "safety_stock":
        point, expected = figures.get("reorder_point"), figures.get("demand_over_lead_time")
        if isinstance(point, int | float) and isinstance(expected, int | float):
            return float(round(max(point - expected, 0.0), 1))
    return "?"


def _phrase(name: str, value: Any, lang: str) -> str:
    """The counted phrase ``name`` for a figure's ``value`` in ``lang``."""
    if name == "value_text":
        if isinstance(value, int | float) and math.isfinite(value):
            shown = _fmt(float(value))
            return translate_plural("plural.value_at_risk", shown, lang, n=shown)
        return translate("explain.value_unknown", lang)
    key = PHRASES[name][1]
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        shown = _fmt(float(value))
        return translate_plural(key, shown, lang, n=shown)
    if value is None or (isinstance(value, float) and math.isinf(value)):  # no demand: the stock lasts
        return translate("explain.cover_unlimited", lang)
    return translate_plural(key, "other", lang, n=_fmt(value))


def _small(value: Any) -> Any:
    """A slope: two significant digits below one in size, else as ``_fmt``."""
    if isinstance(value, float) and math.isfinite(value) and 0 < abs(value) < 1:
        return f"{value:.2g}"
    return _fmt(value)


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


def _param(name: str, figures: dict[str, Any], label: Label, from_label: Label | None, lang: str) -> Any:
    """The value of one placeholder in ``lang``."""
    if name == "value_text":
        return _phrase(name, figures.get("value"), lang)
    if name in PHRASES:
        return _phrase(name, _figure(PHRASES[name][0], figures), lang)
    if name in PERCENT_FIGURES:
        return _percent(figures.get(name, "?"))
    if name in SMALL_FIGURES:
        return _small(figures.get(name, "?"))
    if name == "item":
        return label[0]
    if name == "location":
        return label[1]
    if name == "from_location":
        return from_label[1] if from_label else ""
    if name == "usual_demand_share":
        share = figures.get("usual_zero_share")
        return f"{(1 - share) * 100:.0f}%" if isinstance(share, int | float) else "?"
    if name == "p_value" and isinstance(figures.get("p_value"), int | float):
        return f"{figures['p_value']:.1e}"
    if name.endswith("probability") and isinstance(figures.get(name), int | float):
        return f"{figures[name] * 100:.0f}%"
    return _fmt(figures.get(name, "?"))


def _params(key: str, figures: dict[str, Any], label: Label, from_label: Label | None, lang: str) -> dict[str, Any]:
    return {name: _param(name, figures, label, from_label, lang) for name in _fields(key)}


def explain(kind: str, figures: dict[str, Any], label: Label, from_label: Label | None = None) -> tuple[str, str]:
    """(English, Arabic) for a recommendation of ``kind`` (``reorder``, ``investigate_demand_spike``, …)."""
    key = f"ai.explain.{kind}"
    parts_en = [translate(key, "en", **_params(key, figures, label, from_label, "en"))]
    parts_ar = [translate(key, "ar", **_params(key, figures, label, from_label, "ar"))]
    for extra in extra_sentences(kind, figures):
        parts_en.append(translate(extra, "en", **_params(extra, figures, label, from_label, "en")))
        parts_ar.append(translate(extra, "ar", **_params(extra, figures, label, from_label, "ar")))
    trend = figures.get("trend", "stable")
    if kind in TREND_KINDS and trend != "stable":
        trend_key = f"ai.explain.trend_{trend}"
        parts_en.append(translate(trend_key, "en", **_params(trend_key, figures, label, from_label, "en")))
        parts_ar.append(translate(trend_key, "ar", **_params(trend_key, figures, label, from_label, "ar")))
    return " ".join(parts_en), " ".join(parts_ar)


# Many explanations at once (an analysis writes tens of thousands): each placeholder's values are computed
# for all records in one pass, and each message is filled by %-formatting a pattern made once from the
# catalogue's text, instead of parsing the text with str.format for every record. The result is exactly
# what ``explain`` gives for each record; messages this cannot reproduce exactly (format specifications,
# conversions, positional or dotted fields, a missing key) and values of other types than those whose
# format(value, "") is str(value) take ``explain``'s own path.

_PLAIN_TYPES: frozenset[type] = frozenset({str, int, float, bool, type(None)})


@lru_cache(maxsize=256)
def _pattern(key: str, lang: str) -> tuple[str, tuple[str, ...]] | None:
    """``key``'s text in ``lang`` as a %-pattern and the placeholders in the order it takes them."""
    entry = catalogue().get(key)
    if entry is None or not _fields(key):
        return None
    text = entry.get(lang) or entry[DEFAULT_LANG]
    pattern: list[str] = []
    names: list[str] = []
    for literal, name, spec, conversion in string.Formatter().parse(text):
        pattern.append(literal.replace("%", "%%"))
        if name is None:
            continue
        if spec or conversion or not name.isidentifier():
            return None
        pattern.append("%s")
        names.append(name)
    return "".join(pattern), tuple(names)


def _percent(value: Any) -> Any:
    return f"{value * 100:.0f}%" if isinstance(value, int | float) else _fmt(value)


def _scientific(value: Any) -> Any:
    return f"{value:.1e}" if isinstance(value, int | float) else _fmt(value)


def _rendered(values: list[Any], render: Callable[[Any], Any]) -> list[Any]:
    """``render`` of every value. A figure takes few distinct values across records (stock levels, lead times,
    rounded rates), so where all are floats each distinct one (by its bits: ±0.0 are written apart) is
    rendered once and the texts are spread back by numpy."""
    if values and set(map(type, values)) == {float}:
        bits = np.array(values, dtype=np.float64).view(np.int64)
        distinct, where = np.unique(bits, return_inverse=True)
        texts = np.array([render(value) for value in distinct.view(np.float64).tolist()], dtype=object)  # str
        spread: list[Any] = texts[where].tolist()
        return spread
    return [render(value) for value in values]


def _column(
    name: str,
    figures: Sequence[dict[str, Any]],
    labels: Sequence[Label],
    from_labels: Sequence[Label | None],
    lang: str,
) -> list[Any]:
    """``_param(name, …, lang)`` for every record."""
    if name == "value_text":
        return _rendered([f.get("value") for f in figures], lambda value: _phrase(name, value, lang))
    if name in PHRASES:
        figure = PHRASES[name][0]
        return _rendered([_figure(figure, f) for f in figures], lambda value: _phrase(name, value, lang))
    if name in PERCENT_FIGURES:
        return _rendered([f.get(name, "?") for f in figures], _percent)
    if name in SMALL_FIGURES:
        return _rendered([f.get(name, "?") for f in figures], _small)
    if name == "item":
        return [label[0] for label in labels]
    if name == "location":
        return [label[1] for label in labels]
    if name in ("from_location", "usual_demand_share"):
        return [_param(name, f, label, fl, lang) for f, label, fl in zip(figures, labels, from_labels, strict=True)]
    try:
        values = list(map(itemgetter(name), figures))
    except KeyError:
        values = [f.get(name, "?") for f in figures]
    if name == "p_value":
        return _rendered(values, _scientific)
    if name.endswith("probability"):
        return _rendered(values, _percent)
    return _rendered(values, _fmt)


def _fill(key: str, lang: str, columns: dict[str, list[Any]], count: int) -> list[str] | None:
    """``key``'s text in ``lang`` filled from ``columns`` (that language's values of each placeholder)."""
    compiled = _pattern(key, lang)
    if compiled is None:
        return None
    pattern, names = compiled
    if not names:
        return [pattern % ()] * count
    return [pattern % values for values in zip(*(columns[name] for name in names), strict=True)]


def _explain_group(
    key: str, figures: Sequence[dict[str, Any]], labels: Sequence[Label], from_labels: Sequence[Label | None]
) -> tuple[list[str], list[str]] | None:
    """(English, Arabic) of ``key`` for every record, or None where only ``translate`` gives the exact text."""
    by_lang: dict[str, dict[str, list[Any]]] = {}
    shared: dict[str, list[Any]] = {}
    for lang in LANGS:
        columns: dict[str, list[Any]] = {}
        for name in _fields(key):
            if name in PHRASES or name == "value_text" or name in ("from_location", "usual_demand_share"):
                columns[name] = _column(name, figures, labels, from_labels, lang)
            else:
                if name not in shared:
                    shared[name] = _column(name, figures, labels, from_labels, lang)
                columns[name] = shared[name]
            if not set(map(type, columns[name])) <= _PLAIN_TYPES:
                return None
        by_lang[lang] = columns
    english = _fill(key, "en", by_lang["en"], len(figures))
    arabic = _fill(key, "ar", by_lang["ar"], len(figures))
    if english is None or arabic is None:
        return None
    return english, arabic


def explain_many(
    kind: str,
    figures: Sequence[dict[str, Any]],
    labels: Sequence[Label],
    from_labels: Sequence[Label | None] | None = None,
) -> tuple[list[str], list[str]]:
    """``explain`` for many records of one ``kind``: (English texts, Arabic texts), in the records' order."""
    count = len(figures)
    from_list: Sequence[Label | None] = from_labels if from_labels is not None else [None] * count
    key = f"ai.explain.{kind}"
    done = _explain_group(key, figures, labels, from_list)
    if done is None:
        pairs = [explain(kind, f, label, fl) for f, label, fl in zip(figures, labels, from_list, strict=True)]
        return [en for en, _ in pairs], [ar for _, ar in pairs]
    english, arabic = done
    # The extra sentences (a reorder's transfer cover and rounding), each for the records that need it.
    extras: dict[str, list[int]] = {}
    for index, f in enumerate(figures):
        for extra in extra_sentences(kind, f):
            extras.setdefault(extra, []).append(index)
    for extra in sorted(extras, key=EXTRA_ORDER.index):
        members = extras[extra]
        group = _explain_group(
            extra, [figures[i] for i in members], [labels[i] for i in members], [from_list[i] for i in members]
        )
        if group is None:
            group = (
                [translate(extra, "en", **_params(extra, figures[i], labels[i], from_list[i], "en")) for i in members],
                [translate(extra, "ar", **_params(extra, figures[i], labels[i], from_list[i], "ar")) for i in members],
            )
        for index, en, ar in zip(members, group[0], group[1], strict=True):
            english[index] = f"{english[index]} {en}"
            arabic[index] = f"{arabic[index]} {ar}"
    if kind not in TREND_KINDS:
        return english, arabic
    # The trend's sentence, where the trend is not stable.
    trends: dict[str, list[int]] = {}
    for index, f in enumerate(figures):
        trend = f.get("trend", "stable")
        if trend != "stable":
            trends.setdefault(trend, []).append(index)
    for trend, members in trends.items():
        trend_key = f"ai.explain.trend_{trend}"
        group = _explain_group(
            trend_key, [figures[i] for i in members], [labels[i] for i in members], [from_list[i] for i in members]
        )
        if group is None:
            for index in members:
                english[index], arabic[index] = explain(kind, figures[index], labels[index], from_list[index])
            continue
        for index, en, ar in zip(members, group[0], group[1], strict=True):
            english[index] = f"{english[index]} {en}"
            arabic[index] = f"{arabic[index]} {ar}"
    return english, arabic
