"""The replenishment policy on crafted inputs (pure: `analyse_matrix`, no database).

Reorders are decided on the inventory position (available + on order) against the reorder point at the target
service level, with no separate probability gate; quantities go up to the order-up-to level, rounded up to the
minimum order quantity and the case pack; a transfer from a location with surplus reduces the reorder; each
item's ABC/XYZ class sets its service level.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pytest

from atlas.ai_engine.analysis import AnalysisOutput, AnalysisSettings, SeriesInputs, analyse_matrix
from atlas.ai_engine.classes import ClassSettings, classify, default_service_levels

DAYS = 120
START = date(2026, 8, 3)


def demand(rates: list[float], seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.poisson(np.asarray(rates)[:, None], (len(rates), DAYS)).astype(np.float64)


def inputs(
    count: int,
    *,
    available: list[float] | None = None,
    item: list[int] | None = None,
    on_order: list[float] | None = None,
    min_order_qty: list[float] | None = None,
    order_multiple: list[float] | None = None,
    cost: list[float] | None = None,
    lead: float = 7.0,
) -> SeriesInputs:
    stock = np.asarray(available if available is not None else [0.0] * count, dtype=np.float64)
    items = np.asarray(item if item is not None else list(range(count)), dtype=np.int64)
    return SeriesInputs(
        available=stock,
        on_hand=np.maximum(stock, 0.0),
        lead_time_days=np.full(count, lead),
        unit_cost=np.asarray(cost if cost is not None else [10.0] * count, dtype=np.float64),
        item=items,
        location=np.arange(count, dtype=np.int64),
        labels=[(f"SKU-{i}", f"WH-{i}") for i in range(count)],
        last_demand_day=np.full(count, DAYS - 1, dtype=np.int64),
        on_order=None if on_order is None else np.asarray(on_order, dtype=np.float64),
        min_order_qty=None if min_order_qty is None else np.asarray(min_order_qty, dtype=np.float64),
        order_multiple=None if order_multiple is None else np.asarray(order_multiple, dtype=np.float64),
    )


def of_type(output: AnalysisOutput, kind: str) -> dict[int, Any]:
    return {c.series: c for c in output.candidates if c.type == kind}


ONE_LEVEL = AnalysisSettings(service_level=0.95)


def test_stock_on_order_counts_in_the_position_and_suppresses_the_reorder() -> None:
    y = demand([10.0, 10.0])
    probe = analyse_matrix(y, START, inputs(2), settings=ONE_LEVEL)
    rop = probe.risk.reorder_point
    available = [float(rop[0] - 20), float(rop[1] - 20)]
    output = analyse_matrix(y, START, inputs(2, available=available, on_order=[0.0, 40.0]), settings=ONE_LEVEL)
    reorders = of_type(output, "reorder")
    assert set(reorders) == {0}
    figures = reorders[0].evidence["figures"]
    assert figures["position"] == pytest.approx(available[0], abs=0.01)
    assert figures["on_order"] == 0.0
    assert output.risk.position[1] == pytest.approx(available[1] + 40.0)
    # The reorder brings the position (not the available stock) up to the order-up-to level.
    assert reorders[0].quantity == np.ceil(output.risk.order_up_to[0] - available[0] - 1e-9)


def test_below_the_reorder_point_at_low_risk_still_reorders() -> None:
    y = demand([10.0])
    probe = analyse_matrix(y, START, inputs(1), settings=ONE_LEVEL)
    just_below = float(probe.risk.reorder_point[0]) - 0.5
    output = analyse_matrix(y, START, inputs(1, available=[just_below]), settings=ONE_LEVEL)
    reorders = of_type(output, "reorder")
    assert 0 in reorders, "a position below the reorder point is reordered whatever the stockout probability"
    assert reorders[0].confidence < 0.1  # the old gate (P ≥ 0.3) would have dropped it
    above = analyse_matrix(y, START, inputs(1, available=[just_below + 1.0]), settings=ONE_LEVEL)
    assert of_type(above, "reorder") == {}


def test_reorder_point_and_safety_stock_in_the_evidence() -> None:
    y = demand([10.0])
    output = analyse_matrix(y, START, inputs(1, available=[5.0], on_order=[3.0]), settings=ONE_LEVEL)
    figures = of_type(output, "reorder")[0].evidence["figures"]
    risk = output.risk
    assert figures["reorder_point"] == round(float(risk.reorder_point[0]), 1)
    assert figures["safety_stock"] == round(float(risk.reorder_point[0] - risk.demand_over_lead[0]), 1)
    assert figures["safety_stock"] > 0
    assert figures["position"] == 8.0 and figures["available"] == 5.0 and figures["on_hand"] == 5.0
    assert figures["service_level"] == 0.95 and figures["service_class"] is None
    assert figures["quantity"] == figures["quantity_before_rounding"]
    assert figures["min_order_qty"] is None and figures["order_multiple"] is None
    assert figures["covered_by_transfer"] == 0


@pytest.mark.parametrize(
    ("moq", "pack", "expected"),
    [
        (100.0, None, lambda need: max(need, 100)),
        (None, 12.0, lambda need: int(np.ceil(need / 12) * 12)),
        (100.0, 12.0, lambda need: int(np.ceil(max(need, 100) / 12) * 12)),
        (float("nan"), float("nan"), lambda need: need),
    ],
)
def test_quantity_rounded_up_to_the_minimum_order_and_the_case_pack(
    moq: float | None, pack: float | None, expected: Any
) -> None:
    y = demand([6.0])
    output = analyse_matrix(
        y,
        START,
        inputs(
            1,
            available=[3.0],
            min_order_qty=None if moq is None else [moq],
            order_multiple=None if pack is None else [pack],
        ),
        settings=ONE_LEVEL,
    )
    reorder = of_type(output, "reorder")[0]
    figures = reorder.evidence["figures"]
    need = int(np.ceil(output.risk.order_up_to[0] - 3.0 - 1e-9))
    assert figures["quantity_before_rounding"] == need
    assert reorder.quantity == figures["quantity"] == expected(need)
    assert reorder.quantity >= need


def test_a_transfer_covers_part_of_the_need_and_the_reorder_the_rest() -> None:
    """The issue's case: one need of 73 units was proposed as a reorder of 51 and a transfer of 22 (both
    sized to the whole need); now the transfer of 22 covers its part and the reorder is the other 51."""
    y = demand([6.0, 6.0, 6.0])
    item = [0, 0, 1]
    probe = analyse_matrix(y, START, inputs(3, item=item), settings=ONE_LEVEL)
    order_up_to = probe.risk.order_up_to
    short = float(np.ceil(order_up_to[0])) - 73.0
    assert short < probe.risk.reorder_point[0] and short < probe.risk.reorder_point[2]
    assert short < probe.risk.daily_rate[0] * 7  # runs out before a reorder could arrive
    donor = float(order_up_to[1]) + 22.0  # 22 units beyond its own order-up-to level
    output = analyse_matrix(y, START, inputs(3, item=item, available=[short, donor, short]), settings=ONE_LEVEL)
    transfers = of_type(output, "transfer")
    reorders = of_type(output, "reorder")
    assert set(transfers) == {0} and transfers[0].from_series == 1 and transfers[0].quantity == 22
    assert transfers[0].evidence["figures"]["need"] == 73
    assert reorders[0].quantity == 51
    assert reorders[0].evidence["figures"]["covered_by_transfer"] == 22
    assert reorders[0].evidence["figures"]["quantity_before_rounding"] == 51
    assert 1 not in reorders  # the donor is not short
    # The other item has no location to give: its whole need is reordered.
    assert reorders[2].quantity == np.ceil(output.risk.order_up_to[2] - short - 1e-9)
    assert 2 not in transfers


def test_no_transfer_when_a_reorder_arrives_in_time() -> None:
    y = demand([6.0, 6.0])
    item = [0, 0]
    probe = analyse_matrix(y, START, inputs(2, item=item), settings=ONE_LEVEL)
    risk = probe.risk
    stock = float(risk.reorder_point[0]) - 1.0  # below the reorder point, with more than the lead time's cover
    assert stock > risk.daily_rate[0] * 7
    donor = float(risk.order_up_to[1]) + 50.0
    output = analyse_matrix(y, START, inputs(2, item=item, available=[stock, donor]), settings=ONE_LEVEL)
    assert of_type(output, "transfer") == {}
    assert of_type(output, "reorder")[0].quantity == np.ceil(output.risk.order_up_to[0] - stock - 1e-9)


def test_the_donor_is_judged_on_its_position_and_gives_its_surplus_once() -> None:
    y = demand([12.0, 12.0, 12.0])
    item = [0, 0, 0]
    probe = analyse_matrix(y, START, inputs(3, item=item), settings=ONE_LEVEL)
    order_up_to = probe.risk.order_up_to
    donor_stock = float(order_up_to[1]) + 30.0
    stock = [5.0, donor_stock, 5.0]
    # Stock on order at the donor's location counts towards its own position: it may give more.
    output = analyse_matrix(y, START, inputs(3, item=item, available=stock), settings=ONE_LEVEL)
    moved = sum(c.quantity for c in output.candidates if c.type == "transfer")
    assert moved == 30  # shared between the two short locations, never 2 × 30
    # The donor's position above its order-up-to level is what it can spare, but only what is available moves.
    low = float(np.floor(order_up_to[1])) - 10.0
    output = analyse_matrix(
        y, START, inputs(3, item=item, available=[5.0, low, 5.0], on_order=[0.0, 1000.0, 0.0]), settings=ONE_LEVEL
    )
    moved = sum(c.quantity for c in output.candidates if c.type == "transfer")
    assert moved == np.floor(low)
    # Without on-order stock, a donor below its own order-up-to level gives nothing.
    output = analyse_matrix(y, START, inputs(3, item=item, available=[5.0, low, 5.0]), settings=ONE_LEVEL)
    assert of_type(output, "transfer") == {}


def test_abc_by_value_and_xyz_by_variability() -> None:
    rng = np.random.default_rng(3)
    steady = np.full((1, DAYS), 50.0)
    erratic = np.zeros((1, DAYS))
    erratic[0, rng.choice(DAYS, 6, replace=False)] = 40.0
    y = np.vstack([steady, erratic, steady * 0.1, erratic])
    cost = np.array([100.0, 1.0, 100.0, np.nan])
    classes = classify(y, np.arange(4, dtype=np.int64), cost, ClassSettings())
    assert classes.name[:3] == ["AX", "CZ", "BX"]
    assert classes.name[3] == "AZ"  # unknown cost: ranked by volume among the items without a cost
    levels = default_service_levels()
    assert classes.service_level.tolist() == [levels["AX"], levels["CZ"], levels["BX"], levels["AZ"]]


def test_an_item_has_one_class_at_every_location() -> None:
    y = demand([20.0, 1.0, 2.0, 2.0])
    classes = classify(y, np.array([0, 0, 1, 2], dtype=np.int64), np.full(4, 5.0), ClassSettings())
    assert classes.name[0] == classes.name[1]


def test_class_service_levels_reach_the_reorder() -> None:
    y = demand([40.0, 1.0])
    settings = AnalysisSettings(
        classes=ClassSettings(service_levels={**default_service_levels(), "AX": 0.99, "CZ": 0.80})
    )
    output = analyse_matrix(y, START, inputs(2, available=[0.0, 0.0], cost=[50.0, 1.0]), settings=settings)
    reorders = of_type(output, "reorder")
    a = reorders[0].evidence["figures"]
    assert a["service_class"][0] == "A" and a["service_level"] == settings.classes.service_levels[a["service_class"]]
    assert output.risk.service_level[0] == a["service_level"]
    assert (
        output.risk.service_level[1]
        == settings.classes.service_levels[
            classify(y, np.arange(2, dtype=np.int64), np.array([50.0, 1.0]), settings.classes).name[1]
        ]
    )
    # A higher service level means a higher reorder point for the same demand.
    lower = analyse_matrix(
        y,
        START,
        inputs(2, available=[0.0, 0.0], cost=[50.0, 1.0]),
        settings=AnalysisSettings(service_level=0.5),
    )
    assert output.risk.reorder_point[0] > lower.risk.reorder_point[0]
