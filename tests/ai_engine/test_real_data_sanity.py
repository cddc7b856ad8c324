"""Sane on real data (issue 17): no write-off flood from a fresh or a stale source, idle stock that sells
elsewhere is moved there, items with a usual long gap or a quiet season are not dead, new items are forecast
from their own days, and a missing unit cost reads "value unknown" in both languages."""

from __future__ import annotations

from datetime import date

import numpy as np

from atlas.ai_engine.analysis import AnalysisSettings, Candidate, SeriesInputs, analyse_matrix
from atlas.ai_engine.forecast import forecast_matrix

START = date(2026, 6, 1)
DAYS = 180
SETTINGS = AnalysisSettings(dead_stock_days=90)


def inputs_for(
    y: np.ndarray,
    *,
    on_hand: float = 25.0,
    item: list[int] | None = None,
    cost: float = 12.5,
    first: np.ndarray | None = None,
    quiet_last_year: np.ndarray | None = None,
) -> SeriesInputs:
    """Inputs as the loader builds them from a tenant's rows."""
    count = y.shape[0]
    has = y > 0
    last = np.where(has.any(axis=1), DAYS - 1 - np.argmax(has[:, ::-1], axis=1), -1)
    items = np.array(item if item is not None else list(range(count)), dtype=np.int64)
    return SeriesInputs(
        available=np.full(count, on_hand),
        on_hand=np.full(count, on_hand),
        lead_time_days=np.full(count, 7.0),
        unit_cost=np.full(count, cost),
        item=items,
        location=np.arange(count, dtype=np.int64) % 2,
        labels=[(f"SKU-{i}", f"WH-{i % 2}") for i in range(count)],
        last_demand_day=last.astype(np.int64),
        first_movement_day=first,
        quiet_last_year=quiet_last_year,
    )


def of_type(candidates: list[Candidate], kind: str) -> list[Candidate]:
    return [c for c in candidates if c.type == kind]


def steady(count: int, rate: float = 3.0, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).poisson(rate, (count, DAYS)).astype(np.float64)


def test_a_source_connected_minutes_ago_gets_no_write_off() -> None:
    # Balances only; the first movements are today's (not yet a whole day of demand in the matrix).
    y = np.zeros((40, DAYS))
    inputs = inputs_for(y, first=np.full(40, float(DAYS)))
    output = analyse_matrix(y, START, inputs, settings=SETTINGS)
    assert of_type(output.candidates, "write_off") == []
    # Nor when the loader knows no movement at all.
    output = analyse_matrix(y, START, inputs_for(y, first=np.full(40, np.nan)), settings=SETTINGS)
    assert of_type(output.candidates, "write_off") == []


def test_a_source_whose_data_stopped_long_ago_floods_nothing() -> None:
    # Last movement two years ago: the window holds no demand at all.
    y = np.zeros((466, DAYS))
    output = analyse_matrix(y, START, inputs_for(y, first=np.full(466, -900.0)), settings=SETTINGS)
    assert of_type(output.candidates, "write_off") == []
    # Data that stopped 100 days ago (every series at once): idleness is counted to the data's end, not today.
    y = steady(466)
    y[:, DAYS - 100 :] = 0.0
    output = analyse_matrix(y, START, inputs_for(y, first=np.full(466, -400.0)), settings=SETTINGS)
    assert of_type(output.candidates, "write_off") == []


def test_dead_stock_among_selling_items_is_still_written_off() -> None:
    y = steady(20, seed=2)
    y[3, DAYS - 120 :] = 0.0  # item 3 stopped selling 120 days ago; the others sell on
    output = analyse_matrix(y, START, inputs_for(y, first=np.full(20, -400.0)), settings=SETTINGS)
    write_offs = of_type(output.candidates, "write_off")
    assert [c.series for c in write_offs] == [3]
    figures = write_offs[0].evidence["figures"]
    assert figures["idle_days"] == 120 and figures["history_days"] == DAYS + 400
    assert write_offs[0].value == 25.0 * 12.5


def test_history_shorter_than_the_threshold_is_no_reason_to_write_off() -> None:
    y = steady(20, seed=3)
    y[3] = 0.0  # received 85 days ago, never sold: too young to call dead
    first = np.full(20, -400.0)
    first[3] = DAYS - 85
    output = analyse_matrix(y, START, inputs_for(y, first=first), settings=SETTINGS)
    assert of_type(output.candidates, "write_off") == []
    first[3] = DAYS - 150  # received 150 days ago, never sold: dead
    output = analyse_matrix(y, START, inputs_for(y, first=first), settings=SETTINGS)
    assert [c.series for c in of_type(output.candidates, "write_off")] == [3]


def test_idle_stock_that_sells_at_another_location_is_moved_there() -> None:
    y = steady(20, seed=4)
    y[6, DAYS - 120 :] = 0.0  # item 3 at WH-0 idle for 120 days ...
    items = [i // 2 for i in range(20)]  # ... while item 3 sells at WH-1 (series 7)
    output = analyse_matrix(y, START, inputs_for(y, item=items, first=np.full(20, -400.0)), settings=SETTINGS)
    assert [c for c in output.candidates if c.type == "write_off"] == []
    moves = [c for c in output.candidates if c.type == "transfer" and c.from_series == 6]
    assert len(moves) == 1 and moves[0].series == 7 and 1 <= moves[0].quantity <= 25
    assert "WH-1" in moves[0].explanation_en and "instead of writing it off" in moves[0].explanation_en
    assert "بدلاً من شطبه" in moves[0].explanation_ar


def test_a_usual_long_gap_or_a_quiet_season_is_not_dead_stock() -> None:
    y = steady(20, seed=5)
    y[3] = 0.0
    y[3, [5, 8, 12]] = 2.0  # sold three days, then 167 days of nothing: dead
    y[4] = 0.0
    y[4, [0, 1, 101]] = 1.0  # sells about every 100 days: idle 78 days (below the threshold)
    y[5] = 0.0
    y[5, [2, 3, 4, 81]] = 1.0  # a gap of 76 days before, idle 98 days now: longer than any gap, dead
    y[8] = 0.0
    y[8, [0, 94]] = 1.0  # a gap of 93 days before, idle 85 days (below the threshold anyway)
    y[9] = 0.0
    y[9, [0, 130]] = 1.0  # a gap of 129 days before, idle 49 days
    y[10] = 0.0
    y[10, [0, 61]] = 1.0  # a gap of 60 days before, idle 118 days: dead ...
    quiet = np.zeros(20, dtype=bool)
    quiet[10] = True  # ... unless a year ago it was just as quiet and sold after: its season
    output = analyse_matrix(
        y, START, inputs_for(y, first=np.full(20, -400.0), quiet_last_year=quiet), settings=SETTINGS
    )
    assert sorted(c.series for c in of_type(output.candidates, "write_off")) == [3, 5]
    y[11] = 0.0
    y[11, [0, 20, 60]] = 1.0  # gaps of 19 and 39 days, idle 119: dead
    y[12] = 0.0
    y[12, [0, 130, 150]] = 1.0  # a gap of 129 days before, idle 29: not even idle
    output = analyse_matrix(y, START, inputs_for(y, first=np.full(20, -400.0)), settings=SETTINGS)
    assert sorted(c.series for c in of_type(output.candidates, "write_off")) == [3, 5, 10, 11]


def test_a_missing_unit_cost_reads_value_unknown_in_both_languages() -> None:
    y = steady(10, seed=6)
    y[2, DAYS - 120 :] = 0.0
    output = analyse_matrix(y, START, inputs_for(y, cost=np.nan, first=np.full(10, -400.0)), settings=SETTINGS)
    (write_off,) = of_type(output.candidates, "write_off")
    assert write_off.value is None and write_off.evidence["figures"]["value"] is None
    assert "value unknown" in write_off.explanation_en and "None" not in write_off.explanation_en
    assert "القيمة غير معروفة" in write_off.explanation_ar and "None" not in write_off.explanation_ar
    assert "120 days" in write_off.explanation_en and "120 يوماً" in write_off.explanation_ar  # CLDR: many
    assert "25 units" in write_off.explanation_en and "25 وحدةً" in write_off.explanation_ar


def test_a_new_item_is_forecast_from_its_own_days_not_padded_with_zeros() -> None:
    rng = np.random.default_rng(7)
    y = steady(30, seed=8)
    y[0] = 0.0
    y[0, DAYS - 4 :] = rng.poisson(6.0, 4)  # first movement 4 days ago, about 6 a day since
    own = y[0, DAYS - 4 :].mean()
    first = np.full(30, -400.0)
    first[0] = DAYS - 4
    padded = forecast_matrix(y, start_dow=START.weekday())
    result = forecast_matrix(y, start_dow=START.weekday(), first_day=first)
    # The zeros before its first movement made the backtest judge it on days it did not exist: its spread came
    # out below even Poisson's for its level (a promise of precision four days cannot give).
    assert padded.sigma[0] < np.sqrt(own)
    assert np.allclose(result.forecast[0], own)
    assert result.q10[0, 0] <= own <= result.q90[0, 0] and result.q90[0, 0] > result.q10[0, 0]
    assert result.sigma[0] >= np.sqrt(own) - 1e-9
    # Series with a long history are forecast as before.
    assert np.array_equal(result.forecast[1:], padded.forecast[1:])
    # Through the analysis: the reorder for it is sized on its own rate.
    inputs = inputs_for(y, on_hand=2.0, first=first)
    output = analyse_matrix(y, START, inputs, settings=SETTINGS)
    assert abs(output.risk.daily_rate[0] - own) < 1e-9


def test_a_stale_connector_beside_a_live_one_floods_nothing() -> None:
    # Connector 0 sells every day; connector 1's 466 items last moved two years ago (nothing in the window).
    y = np.zeros((486, DAYS))
    y[:20] = steady(20, seed=9)
    source = np.array([0] * 20 + [1] * 466, dtype=np.int64)
    inputs = inputs_for(y, first=np.full(486, -600.0))
    inputs.source = source
    output = analyse_matrix(y, START, inputs, settings=SETTINGS)
    assert of_type(output.candidates, "write_off") == []
    # Counted to the whole tenant's data end instead, every one of them would be "dead".
    inputs.source = None
    flooded = of_type(analyse_matrix(y, START, inputs, settings=SETTINGS).candidates, "write_off")
    assert len(flooded) == 466
