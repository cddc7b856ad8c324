"""What each recommendation's confidence is (issue 17): a reorder's and a transfer's is the calibrated probability of
running out before a reorder placed today could arrive (the very figure its evidence states), never a product with
other factors; an idle-stock proposal's (write-off, transfer of idle stock) and an investigation's is the measured
precision of its band, below 1, shown in words. Priorities follow urgency, and the pages word each kind right."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from atlas.ai_engine import dead_stock
from atlas.ai_engine.analysis import (
    MEASURED_PRECISION,
    STOCKOUT_PROBABILITY,
    AnalysisSettings,
    SeriesInputs,
    _urgency,
    analyse_matrix,
)
from atlas.ai_engine.pages import recommendation_row

DAYS = 180
START = date(2026, 6, 1)


def series_inputs(y: np.ndarray, available: list[float], item: list[int]) -> SeriesInputs:
    count = y.shape[0]
    has = y > 0
    last = np.where(has.any(axis=1), DAYS - 1 - np.argmax(has[:, ::-1], axis=1), -1)
    stock = np.asarray(available, dtype=np.float64)
    return SeriesInputs(
        available=stock,
        on_hand=stock.copy(),
        lead_time_days=np.full(count, 7.0),
        unit_cost=np.full(count, 10.0),
        item=np.asarray(item, dtype=np.int64),
        location=np.arange(count, dtype=np.int64) % 2,
        labels=[(f"SKU-{i}", f"WH-{i % 2}") for i in range(count)],
        last_demand_day=last.astype(np.int64),
        first_movement_day=np.full(count, -400.0),
    )


@pytest.fixture(scope="module")
def output():
    rng = np.random.default_rng(5)
    y = rng.poisson(4.0, (8, DAYS)).astype(np.float64)
    y[4, DAYS - 130 :] = 0.0  # series 4 (item 2 at WH-0) idle while item 2 sells at WH-1: a transfer of idle stock
    y[6, DAYS - 130 :] = 0.0  # series 6 (item 3 at WH-0) idle, and series 7 (item 3 at WH-1) too: a write-off
    y[7, DAYS - 130 :] = 0.0
    # Series 0 (item 0, WH-0) is short, series 1 (item 0, WH-1) holds far more than it needs: a transfer and a
    # reorder; series 2 (item 1) is short with nowhere to take from: a reorder only.
    available = [2.0, 400.0, 2.0, 60.0, 30.0, 60.0, 30.0, 30.0]
    item = [0, 0, 1, 1, 2, 2, 3, 3]
    return analyse_matrix(y, START, series_inputs(y, available, item), settings=AnalysisSettings(dead_stock_days=90))


def by_type(output, kind: str):
    return [c for c in output.candidates if c.type == kind]


def test_a_reorder_is_as_sure_as_its_stockout_probability(output) -> None:
    reorders = by_type(output, "reorder")
    assert reorders
    for candidate in reorders:
        figures = candidate.evidence["figures"]
        assert candidate.confidence == figures["stockout_probability"]
        assert candidate.evidence["confidence_kind"] == STOCKOUT_PROBABILITY
        # Short with 2 units against a daily demand of about 4 and a lead time of 7: runs out before any order.
        assert candidate.priority == "high"


def test_an_urgent_transfer_states_the_short_locations_stockout_probability(output) -> None:
    transfers = [c for c in by_type(output, "transfer") if "idle_days" not in c.evidence["figures"]]
    assert [c.series for c in transfers] == [0] and transfers[0].from_series == 1
    figures = transfers[0].evidence["figures"]
    # Not scaled by the share of the need it covers: the probability of the event the transfer is for.
    assert transfers[0].confidence == figures["stockout_probability"]
    assert transfers[0].evidence["confidence_kind"] == STOCKOUT_PROBABILITY
    assert transfers[0].priority == "high"


def test_idle_stock_proposals_state_their_bands_measured_precision(output) -> None:
    idle = [c for c in output.candidates if c.type == "write_off" or "idle_days" in c.evidence["figures"]]
    assert {c.type for c in idle} == {"write_off", "transfer"}
    for candidate in idle:
        figures = candidate.evidence["figures"]
        assert figures["expected_idle_sales"] >= 10  # about 4 a day over 130 days
        assert candidate.confidence == dead_stock.PRECISION_BY_BAND["strong"] < 1.0
        assert candidate.evidence["confidence_kind"] == MEASURED_PRECISION


def test_bands_of_expected_idle_sales() -> None:
    assert dead_stock.idle_band(0.0) == "weak" and dead_stock.idle_band(9.9) == "weak"
    assert dead_stock.idle_band(10.0) == "strong" and dead_stock.idle_band(5000.0) == "strong"
    assert all(0 < value < 1 for value in dead_stock.PRECISION_BY_BAND.values())
    assert dead_stock.idle_confidence(2.0) == dead_stock.PRECISION_BY_BAND["weak"]


def test_urgency() -> None:
    assert _urgency(0.6, 30.0, 7.0) == "high"  # likelier than not to run out
    assert _urgency(0.1, 3.0, 7.0) == "high"  # the shelf empties before an order could arrive
    assert _urgency(0.1, 30.0, 7.0) == "medium"  # below the reorder point with time to order


def test_pages_word_each_kind_of_confidence(output) -> None:
    reorder = by_type(output, "reorder")[0]
    write_off = by_type(output, "write_off")[0]
    row = recommendation_row({"type": "reorder", "confidence_score": reorder.confidence, "evidence": reorder.evidence})
    assert row["strength_key"] is None and row["confidence_hint_key"] == "aipage.confidence.stockout_hint"
    row = recommendation_row(
        {"type": "write_off", "confidence_score": write_off.confidence, "evidence": write_off.evidence}
    )
    # 0.68 is below the "strong evidence" mark: some evidence, never a percentage.
    assert row["strength_key"] == "alerts.strength.some"
    assert row["confidence_hint_key"] == "aipage.confidence.idle_hint"
    # Stored before the kind was recorded: read from the type (an idle-stock transfer by its idle_days figure).
    old_transfer = {"type": "transfer", "confidence_score": 0.9, "evidence": {"figures": {"idle_days": 120}}}
    assert recommendation_row(old_transfer)["strength_key"] == "alerts.strength.strong"
    old_reorder = {"type": "reorder", "confidence_score": 0.9, "evidence": {"figures": {}}}
    assert recommendation_row(old_reorder)["strength_key"] is None
    investigate = {"type": "investigate", "confidence_score": 0.91, "evidence": None}
    row = recommendation_row(investigate)
    assert row["strength_key"] == "alerts.strength.strong" and row["confidence_hint_key"] == "alerts.strength.hint"
