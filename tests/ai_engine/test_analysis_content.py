"""The whole analysis's output, compared with a stored snapshot on a small fixture.

The analysis builds tens of thousands of explanations and evidence records per tenant, and is
tuned for speed (benchmarks/README.md); this test guards that such tuning never changes what is
produced: every candidate's type, figures, explanations in both languages, evidence excerpts,
confidence and signals, and every anomaly, must stay identical.

When the engine's answers change on purpose (a better forecast, a new figure), regenerate the
snapshot and review its diff:

    ATLAS_WRITE_SNAPSHOT=1 .venv/bin/python -m pytest tests/ai_engine/test_analysis_content.py
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from atlas.ai_engine.analysis import AnalysisOutput, Movements, SeriesInputs, analyse_matrix

SNAPSHOT = Path(__file__).with_name("analysis_snapshot.json")
ITEMS = 36
DAYS = 120


def fixture() -> tuple[np.ndarray, date, SeriesInputs, Movements]:
    """36 items at two locations: steady, weekly, intermittent and dying demand, spikes and zero runs
    in the recent days, stock from none to plenty, known and unknown lead times and costs."""
    rng = np.random.default_rng(20261122)
    series = ITEMS * 2
    rates = np.exp(rng.normal(np.log(3.0), 1.2, series))
    week = np.array([0.8, 0.9, 1.0, 1.0, 1.1, 1.5, 0.7])
    weekly = np.where((np.arange(series) % 3 == 0)[:, None], week[np.arange(DAYS) % 7][None, :], 1.0)
    y = rng.poisson(rates[:, None] * weekly).astype(np.float64)
    y[::11, -3] += np.round(rates[::11] * 9 + 6)  # recent spikes
    y[5::17, -9:] = 0.0  # recent zero runs
    y[7::13, : DAYS - 100] = rng.poisson(2.0, (len(range(7, series, 13)), DAYS - 100))
    y[7::13, DAYS - 100 :] = 0.0  # no demand for 100 days: idle stock (moved where its item still sells) ...
    y[21, DAYS - 100 :] = 0.0  # ... or dead where it sells nowhere (item 10 at both locations: a write-off)
    rate = y[:, -28:].mean(axis=1)
    on_hand = np.round(rate * rng.uniform(0.0, 30.0, series)) + (np.arange(series) % 13 == 7) * 40
    available = on_hand.copy()
    available[::23] = np.nan  # no balance
    lead = np.where(rng.random(series) < 0.5, np.nan, rng.integers(2, 15, series).astype(np.float64))
    cost = np.where(rng.random(series) < 0.2, np.nan, np.round(rng.uniform(1.0, 80.0, series), 2))
    has_demand = y > 0
    last = np.where(has_demand.any(axis=1), DAYS - 1 - np.argmax(has_demand[:, ::-1], axis=1), -1)
    inputs = SeriesInputs(
        available=available,
        on_hand=on_hand,
        lead_time_days=lead,
        unit_cost=cost,
        item=np.arange(series, dtype=np.int64) // 2,
        location=np.arange(series, dtype=np.int64) % 2,
        labels=[(f"SKU-{i // 2:04d}", f"WH-{i % 2}") for i in range(series)],
        last_demand_day=last.astype(np.int64),
    )
    moved = np.repeat(np.arange(0, series, 4, dtype=np.int64), 12)
    sizes = rng.integers(1, 6, len(moved)).astype(np.float64)
    recent = np.tile(np.arange(12) >= 10, len(moved) // 12)
    sizes[11::36] = 90.0  # a recent movement far outside the item's usual size
    movements = Movements(
        series=moved,
        size=sizes,
        recent=recent,
        reference=[f"REF-{i}" for i in range(len(moved))],
        movement_id=list(range(1, len(moved) + 1)),
        kind=["sale"] * len(moved),
    )
    return y, date(2026, 7, 6), inputs, movements


def content(output: AnalysisOutput) -> dict[str, Any]:
    """Everything the analysis hands to the services, as JSON data."""
    candidates = []
    for candidate in output.candidates:
        fields = asdict(candidate)
        fields["anomaly"] = None if candidate.anomaly is None else asdict(candidate.anomaly)
        candidates.append(fields)
    risk = {name: np.round(values, 6).tolist() for name, values in asdict(output.risk).items()}
    forecast = output.forecast
    return json.loads(
        json.dumps(
            {
                "candidates": candidates,
                "anomalies": [asdict(anomaly) for anomaly in output.anomalies],
                "risk": risk,
                "methods": forecast.method_names(),
                "forecast_week": np.round(forecast.forecast[:, :7], 6).tolist(),
            },
            default=float,
        )
    )


# Floats agree to 12 significant digits: the last bits of a p-value move between numpy/scipy builds (scipy 1.17.1's
# survival function answered 1.8606685216341834e-09 where an earlier build gave ...836e-09), while every figure a
# person reads is rounded far above that. Everything else (text, kinds, counts, order) must be identical.
REL_TOL = 1e-12


def differences(new: Any, old: Any, path: str = "") -> list[str]:
    """Where ``new`` and ``old`` differ: every path whose value is not equal (floats: within REL_TOL)."""
    if isinstance(new, dict) and isinstance(old, dict):
        return [
            d
            for key in sorted(set(new) | set(old), key=str)
            for d in differences(new.get(key), old.get(key), f"{path}.{key}")
        ]
    if isinstance(new, list) and isinstance(old, list):
        if len(new) != len(old):
            return [f"{path}: {len(new)} items, stored {len(old)}"]
        return [d for i, (a, b) in enumerate(zip(new, old, strict=True)) for d in differences(a, b, f"{path}[{i}]")]
    if isinstance(new, float) and isinstance(old, float | int) and not isinstance(old, bool):
        same = math.isclose(new, old, rel_tol=REL_TOL, abs_tol=0.0) or (math.isnan(new) and math.isnan(old))
        return [] if same else [f"{path}: {new!r}, stored {old!r}"]
    return [] if new == old and type(new) is type(old) else [f"{path}: {new!r}, stored {old!r}"]


def test_the_comparison_sees_every_kind_of_change() -> None:
    stored = {"a": [1.0, "x", {"b": 2}], "p": 1.8606685216341836e-09}
    assert differences({"a": [1.0, "x", {"b": 2}], "p": 1.8606685216341834e-09}, stored) == []
    assert differences({"a": [1.0, "y", {"b": 2}], "p": 1.8606685216341836e-09}, stored) == [".a[1]: 'y', stored 'x'"]
    assert differences({"a": [1.0, "x", {"b": 3}], "p": 1.86066852163e-09}, stored) == [
        ".a[2].b: 3, stored 2",
        ".p: 1.86066852163e-09, stored 1.8606685216341836e-09",
    ]
    assert differences({"a": [1.0, "x"], "p": 1.8606685216341836e-09}, stored) == [".a: 2 items, stored 3"]
    assert differences({"a": [1, "x", {"b": 2}], "p": 1.8606685216341836e-09}, stored) == [".a[0]: 1, stored 1.0"]
    assert differences({"p": math.nan}, {"p": math.nan}) == []
    assert differences({"p": math.nan}, {"p": 1.0}) == [".p: nan, stored 1.0"]


def test_the_analysis_produces_exactly_the_stored_content() -> None:
    y, start, inputs, movements = fixture()
    produced = content(analyse_matrix(y, start, inputs, movements))
    if os.environ.get("ATLAS_WRITE_SNAPSHOT"):
        SNAPSHOT.write_text(json.dumps(produced, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    stored = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    kinds = {c["type"] for c in stored["candidates"]}
    assert kinds == {"reorder", "transfer", "write_off", "investigate"}  # the fixture exercises every kind
    assert {a["type"] for a in stored["anomalies"]} >= {"demand_spike", "zero_run", "large_transaction"}
    assert len(produced["candidates"]) == len(stored["candidates"])
    for index, (new, old) in enumerate(zip(produced["candidates"], stored["candidates"], strict=True)):
        changed = differences(new, old)
        assert not changed, f"candidate {index} ({old['type']}, series {old['series']}) changed: {changed[:10]}"
    changed = differences(produced, stored)
    assert not changed, f"the analysis's output changed: {changed[:10]}"


def test_the_analysis_leaves_the_cyclic_collector_as_it_found_it() -> None:
    import gc

    y, start, inputs, movements = fixture()
    enabled = gc.isenabled()
    try:
        gc.enable()
        analyse_matrix(y, start, inputs, movements)
        assert gc.isenabled()
        assert gc.get_freeze_count() == 0
        gc.disable()
        analyse_matrix(y, start, inputs, movements)
        assert not gc.isenabled()
        # Objects someone else froze (as before a fork) stay frozen.
        gc.enable()
        gc.freeze()
        analyse_matrix(y, start, inputs, movements)
        assert gc.get_freeze_count() > 0 and gc.isenabled()  # (freed frozen objects leave the count)
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()
        else:
            gc.disable()
