"""API shapes of the AI engine's reads: a stored forecast (``GET /api/forecasts``)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

import msgspec

Mean = Annotated[list[float], msgspec.Meta(description="The expected (mean) demand per day.")]
Q10 = Annotated[
    list[float],
    msgspec.Meta(description="The daily 0.1 quantile: demand is expected at or above it on 9 days in 10."),
]
Q50 = Annotated[
    list[float] | None,
    msgspec.Meta(
        description="The daily median (0.5 quantile): demand is expected at or below it on half the days and at or "
        "above it on half. null on a forecast stored before the median was kept (migration 0019), until the next "
        "analysis replaces it."
    ),
]
Q90 = Annotated[
    list[float],
    msgspec.Meta(description="The daily 0.9 quantile: demand is expected at or below it on 9 days in 10."),
]
Lo80 = Annotated[list[float], msgspec.Meta(description="The same as q10 (the 80% interval's lower end), kept.")]
Hi80 = Annotated[list[float], msgspec.Meta(description="The same as q90 (the 80% interval's upper end), kept.")]


class ForecastRead(msgspec.Struct):
    """The latest forecast of one item at one location: one value a day from ``start_date``."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    item_id: uuid.UUID
    location_id: uuid.UUID
    location_code: str | None
    analysis_run_id: uuid.UUID
    start_date: date
    method: Annotated[str, msgspec.Meta(description="The method the series' own backtest chose.")]
    mae: Annotated[float, msgspec.Meta(description="The backtest's mean absolute error, units a day.")]
    mase: Annotated[float, msgspec.Meta(description="The backtest's error scaled by the naive forecast's.")]
    forecast: Mean
    q10: Q10
    q50: Q50
    q90: Q90
    lo80: Lo80
    hi80: Hi80
    figures: dict[str, Any]
    computed_at: datetime
