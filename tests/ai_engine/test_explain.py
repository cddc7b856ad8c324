"""The analysis's batched building blocks give exactly what their one-record forms give.

The analysis writes tens of thousands of explanations and figures per tenant, so it explains all
records of a kind at once (``explain_many``) and rounds every figure for all series at once
(``_rounded``, ``_trend_words``); these tests hold each to the plain form it replaces, on values
chosen to hit the edges (halves, negative zero, non-finite and huge values, missing figures, other
types), so that a speed-up can never change a word or a digit.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas.ai_engine.analysis import _rounded, _trend_word, _trend_words
from atlas.ai_engine.explain import explain, explain_many
from atlas.i18n import catalogue

KINDS = sorted(key.removeprefix("ai.explain.") for key in catalogue() if key.startswith("ai.explain."))

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1000, max_value=1000).map(lambda v: round(v * 8) / 8),  # halves and quarters
    st.integers(min_value=-(10**6), max_value=10**6).map(lambda v: v / 1000 + 0.0005),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.booleans(),
    st.none(),
    st.text(max_size=5),
    st.sampled_from([0.0, -0.0, 99.95, 99.949999, 100.0, -100.5, 1e16, 0.05, -0.04]),
)
NAMES = [
    "available", "days_of_cover", "daily_rate", "lead_time_days", "stockout_probability", "quantity",
    "order_up_to", "from_available", "from_days_of_cover", "transfer_days", "idle_days", "dead_stock_days",
    "value", "observed", "expected", "zscore", "p_value", "run_days", "usual_zero_share", "kind", "reference",
    "ratio_to_median", "median_size", "trend30", "covered_by_transfer", "quantity_before_rounding",
]  # fmt: skip
figures = st.fixed_dictionaries(
    {},
    optional={
        **dict.fromkeys(NAMES, numbers),
        "trend": st.sampled_from(["stable", "rising", "falling", "sideways", None]),
    },
)
labels = st.tuples(st.text(max_size=6), st.text(max_size=6))


def _same(a: Any, b: Any) -> bool:
    return repr(a) == repr(b) and type(a) is type(b)


@settings(max_examples=150, deadline=None)
@given(
    kind=st.sampled_from([*KINDS, "not_in_the_catalogue"]),
    records=st.lists(st.tuples(figures, labels, st.one_of(st.none(), labels)), max_size=8),
    with_from=st.booleans(),
)
def test_explain_many_says_exactly_what_explain_says(kind, records, with_from) -> None:
    figs = [f for f, _, _ in records]
    labs = [label for _, label, _ in records]
    froms = [fl for _, _, fl in records] if with_from else None
    english, arabic = explain_many(kind, figs, labs, froms)
    expected = [explain(kind, f, label, froms[i] if froms else None) for i, (f, label, _) in enumerate(records)]
    assert english == [en for en, _ in expected]
    assert arabic == [ar for _, ar in expected]


def test_explain_many_on_every_kind_with_typical_figures() -> None:
    rng = np.random.default_rng(5)
    records = []
    for index in range(300):
        draws = rng.normal(0, 10 ** (index % 5), len(NAMES))
        f: dict[str, Any] = {name: float(v) for name, v in zip(NAMES, draws, strict=True)}
        f.update({"trend": ["stable", "rising", "falling"][index % 3], "quantity": index, "kind": "sale"})
        f["p_value"] = float(rng.random() ** 20)
        f["stockout_probability"] = round(float(rng.random()), 3)
        if index % 7 == 0:
            f["value"] = None
        if index % 11 == 0:
            f["days_of_cover"] = math.inf
        records.append(f)
    labs = [(f"SKU-{i}", f"WH-{i % 3}") for i in range(len(records))]
    froms = [(f"SKU-{i}", f"WH-{(i + 1) % 3}") for i in range(len(records))]
    for kind in KINDS:
        english, arabic = explain_many(kind, records, labs, froms)
        assert (english, arabic) == (
            [explain(kind, f, label, fl)[0] for f, label, fl in zip(records, labs, froms, strict=True)],
            [explain(kind, f, label, fl)[1] for f, label, fl in zip(records, labs, froms, strict=True)],
        )


def test_rounded_rounds_exactly_as_python_round() -> None:
    rng = np.random.default_rng(7)
    for digits in range(5):
        values = np.concatenate(
            [
                rng.normal(0, 10.0 ** rng.integers(-6, 14, 20_000)),
                (rng.integers(-(10**6), 10**6, 20_000) + 0.5) / 10.0**digits,  # halves at this precision
                rng.integers(0, 400, 20_000) / 8.0,
                rng.integers(-(2**62), 2**62, 20_000, dtype=np.int64).view(np.float64),  # any bit pattern
                [0.0, -0.0, -0.004, np.nan, np.inf, -np.inf, 1e300, 2.0**52 + 1, 5e-324, 2.675, 1.005, 0.125],
            ]
        )
        got = _rounded(values, digits)
        want = [round(v, digits) for v in values.tolist()]
        assert [repr(v) for v in got] == [repr(v) for v in want]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=20), st.integers(0, 4))
def test_rounded_on_any_floats(values, digits) -> None:
    assert [repr(v) for v in _rounded(np.array(values), digits)] == [repr(round(v, digits)) for v in values]


@given(st.lists(st.tuples(st.floats(), st.floats()), min_size=1, max_size=30))
def test_trend_words_are_trend_word_for_every_series(pairs) -> None:
    slope = np.array([s for s, _ in pairs])
    level = np.array([lv for _, lv in pairs])
    assert _trend_words(slope, level) == [_trend_word(s, lv) for s, lv in pairs]


def test_explain_many_of_nothing() -> None:
    assert explain_many("reorder", [], []) == ([], [])
    assert all(_same(a, b) for a, b in zip(_rounded(np.array([1.25, -0.0]), 1), [1.2, -0.0], strict=True))


def test_a_reorder_says_what_a_transfer_covers_and_how_the_order_was_rounded() -> None:
    """Position + order + transfer reach the order-up-to level: the explanation says so, in both languages, so the
    reader can add the figures up (47 + 468 + 133 ≥ 642, with 462 rounded up to the case pack)."""
    figures = {
        "position": 47.0, "available": 47.0, "on_order": 0.0, "reorder_point": 370.0, "safety_stock": 131.2,
        "demand_over_lead_time": 238.8, "lead_time_days": 7.0, "service_level": 0.95, "daily_rate": 34.11,
        "days_of_cover": 1.4, "quantity": 468, "order_up_to": 642.0, "covered_by_transfer": 133,
        "quantity_before_rounding": 462, "trend": "rising", "ma30": 30.0, "trend30": 0.4,
    }  # fmt: skip
    english, arabic = explain("reorder", figures, ("SKU-1", "RUH-01"))
    assert "A transfer from another location covers 133 units of the need" in english
    assert "The 462 units needed are rounded up to 468 units" in english
    assert english.index("covers 133") < english.index("rounded up") < len(english)
    assert "133" in arabic and "462" in arabic and "حجم العبوة" in arabic
    plain = dict(figures, covered_by_transfer=0, quantity_before_rounding=468)
    english, arabic = explain("reorder", plain, ("SKU-1", "RUH-01"))
    assert "transfer" not in english and "rounded" not in english and "حجم العبوة" not in arabic
    many = explain_many("reorder", [figures, plain], [("SKU-1", "RUH-01"), ("SKU-2", "RUH-01")])
    assert many == (
        [explain("reorder", figures, ("SKU-1", "RUH-01"))[0], explain("reorder", plain, ("SKU-2", "RUH-01"))[0]],
        [explain("reorder", figures, ("SKU-1", "RUH-01"))[1], explain("reorder", plain, ("SKU-2", "RUH-01"))[1]],
    )
