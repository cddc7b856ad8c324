"""The replenishment benchmark's bookkeeping: stock is conserved, orders arrive after exactly their lead time,
stock never goes negative, unmet demand is lost, and cycles and duplicate orders are counted as documented."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pytest

from atlas.ai_engine import analysis, forecast
from benchmarks.forecast import generate
from benchmarks.replenishment import (
    AtlasPolicy,
    Decision,
    Run,
    TextbookPolicy,
    calibration_error,
    initial_stock,
    measure,
    pinball,
    simulate,
)


@dataclass
class UpTo:
    """Order up to ``level`` on position every night (or only on the nights listed)."""

    level: float
    nights: set[int] | None = None
    ignore_on_order: bool = False
    name: str = "up to"

    def decide(
        self, night: int, sales: np.ndarray, on_hand: np.ndarray, on_order: np.ndarray, due: np.ndarray
    ) -> Decision | None:
        # ``due``: what is on order by the day it is expected (series × days ahead); it adds up to ``on_order``.
        assert np.allclose(due.sum(axis=1), on_order)
        if self.nights is not None and night not in self.nights:
            return None
        position = on_hand if self.ignore_on_order else on_hand + on_order
        target = np.full(len(on_hand), self.level)
        return Decision(quantity=target - position, reorder_point=target)


def check_books(run: Run) -> None:
    warmup = run.warmup
    sim = slice(warmup, run.demand.shape[1])
    assert (run.stock[:, sim] >= 0).all()
    assert np.allclose(run.sales + run.lost, run.demand)
    assert (run.sales[:, sim] <= run.demand[:, sim]).all()
    assert (run.lost[:, :warmup] == 0).all()
    # Conservation day by day: yesterday's stock + this morning's receipts − today's sales = tonight's stock.
    before = np.concatenate([run.initial[:, None], run.stock[:, warmup:-1]], axis=1)
    assert np.allclose(run.stock[:, sim], before + run.received[:, sim] - run.sales[:, sim])
    # Every order is received on the morning after exactly its lead time, and nothing else is received.
    expected = np.zeros_like(run.received)
    for row, night, quantity, arrival in zip(
        run.orders.series, run.orders.night, run.orders.quantity, run.orders.arrival, strict=True
    ):
        assert arrival - night == run.lead[row] + 1
        assert quantity > 0
        if arrival < run.demand.shape[1]:
            expected[row, arrival] += quantity
    assert np.allclose(run.received, expected)


def test_a_hand_made_run_serves_loses_and_receives_as_documented() -> None:
    demand = np.array([[1.0, 1.0, 3.0, 3.0, 3.0, 3.0, 1.0, 0.0]])
    lead = np.array([2], dtype=np.int64)
    run = simulate(UpTo(level=5.0, nights={2}), demand, lead, warmup=2, initial=np.array([4.0]))
    check_books(run)
    # Day 2 serves 3 of 4, night 2 orders 5 − 1 = 4, received on the morning of day 5 (2 days later).
    assert run.orders.night == [2] and run.orders.arrival == [5] and run.orders.quantity == [4.0]
    assert run.sales[0, 2:].tolist() == [3.0, 1.0, 0.0, 3.0, 1.0, 0.0]
    assert run.lost[0, 2:].tolist() == [0.0, 2.0, 3.0, 0.0, 0.0, 0.0]  # lost, not backordered
    assert run.stock[0, 2:].tolist() == [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]


def test_cycles_and_duplicate_orders_are_counted() -> None:
    demand = np.full((1, 30), 1.0)
    lead = np.array([3], dtype=np.int64)
    # Ignoring what is on order, the policy orders again every night while the first order travels.
    run = simulate(UpTo(level=6.0, ignore_on_order=True), demand, lead, warmup=5, initial=np.array([4.0]))
    check_books(run)
    metrics = measure(run, since=5)
    assert metrics.duplicates > 0
    assert metrics.orders == len(run.orders.night)
    sensible = simulate(UpTo(level=6.0), demand, lead, warmup=5, initial=np.array([4.0]))
    check_books(sensible)
    figures = measure(sensible, since=5)
    assert figures.duplicates == 0
    assert figures.fill_rate == 1.0 and figures.cycle_service_level == 1.0 and figures.cycles > 5
    # Too little stock: every cycle ends short.
    short = simulate(UpTo(level=2.0, nights=set(range(5, 30, 4))), demand, lead, 5, np.array([0.0]))
    check_books(short)
    assert measure(short, since=5).cycle_service_level == 0.0


@pytest.mark.parametrize("kind", ["atlas", "textbook"])
def test_the_real_policies_keep_the_books(kind: str) -> None:
    series, days, warmup = 24, 70, 42
    demand, start_dow, _ = generate(series, days, seed=3)
    lead = np.where(np.arange(series) % 2 == 0, 7, 14).astype(np.int64)
    initial = initial_stock(demand, warmup, lead, 7)
    start = date(2026, 1, 5) + timedelta(days=start_dow)
    policy = (
        AtlasPolicy(analysis, lead, start, 120, demand, warmup)
        if kind == "atlas"
        else TextbookPolicy(forecast, lead, start_dow, 120, 7)
    )
    run = simulate(policy, demand, lead, warmup, initial)
    check_books(run)
    assert run.orders.night  # the policies do order
    metrics = measure(run, warmup)
    assert 0.0 <= metrics.fill_rate <= 1.0
    if isinstance(policy, AtlasPolicy):
        predicted, happened = policy.stockouts(run)
        assert len(predicted) == len(happened) > 0
        assert ((predicted >= 0) & (predicted <= 1)).all()


def test_pinball_and_calibration_error() -> None:
    actual = np.array([0.0, 10.0])
    assert pinball(actual, np.array([5.0, 5.0]), 0.9) == pytest.approx((0.1 * 5 + 0.9 * 5) / 2)
    predicted = np.array([0.05, 0.05, 0.95, 0.95])
    assert calibration_error(predicted, np.array([False, False, True, True])) == pytest.approx(0.05)
    assert calibration_error(predicted, np.array([True, True, False, False])) == pytest.approx(0.95)
