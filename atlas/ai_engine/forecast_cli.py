"""``atlas forecast``: forecast daily demand from a file, without a database.

Input: Parquet (a path ending in ``.parquet``) or CSV with the columns ``series_id``, ``date``
(``YYYY-MM-DD``) and ``demand`` (a number, not negative), one row per series and day; days
without a row count as zero demand and several rows for the same series and day are added
up. Every series is laid on the same calendar, from the earliest to the latest date in the
file, and is forecast from the day after the latest date.

Output: Parquet (a path ending in ``.parquet``) or CSV with the columns ``series_id``,
``date``, ``forecast`` (the mean), ``lo80``, ``hi80`` (the 80% interval), ``method`` (the method
the series' own backtest chose, see ``atlas.ai_engine.forecast``), then the daily quantiles
``q10`` (demand at or above it on 9 days in 10; the same as ``lo80``), ``q50`` (the median: at or
below it on half the days) and ``q90`` (at or below it on 9 days in 10; the same as ``hi80``), one
row per series and day. The quantiles come last so that readers of the earlier columns by
position are unaffected.

A bad input stops with a message that names the problem (the column, how many rows, an
example), never a traceback.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import click
import numpy as np
import polars as pl
from numpy.typing import NDArray

from atlas.ai_engine.forecast import METHODS, forecast_matrix

COLUMNS = ("series_id", "date", "demand")
MIN_DAYS = 14
MAX_HORIZON = 366
MAX_CELLS = 400_000_000  # series × days; beyond this the matrix would not fit in memory comfortably


class ForecastInputError(ValueError):
    """The input file cannot be forecast; the message says why."""


def _is_parquet(path: str) -> bool:
    return path.lower().endswith(".parquet")


def _examples(frame: pl.DataFrame, column: str, limit: int = 3) -> str:
    rows = frame.head(limit)
    return ", ".join(f"row {row} ({value!r})" for row, value in zip(rows["row"], rows[column], strict=True))


def _read(path: str) -> pl.DataFrame:
    if not Path(path).is_file():
        raise ForecastInputError(f"input file not found: {path}")
    if Path(path).stat().st_size == 0:
        raise ForecastInputError(f"the input file is empty: {path}")
    try:
        if _is_parquet(path):
            return pl.read_parquet(path)
        # Everything as text, so that a stray value gives our message rather than a parse error.
        return pl.read_csv(path, infer_schema=False)
    except pl.exceptions.NoDataError:
        raise ForecastInputError(f"the input file is empty: {path}") from None
    except (pl.exceptions.PolarsError, OSError) as error:
        kind = "Parquet" if _is_parquet(path) else "CSV"
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ForecastInputError(f"cannot read {path} as {kind}: {first_line}") from None


def _dates(frame: pl.DataFrame) -> pl.DataFrame:
    dtype = frame.schema["date"]
    if dtype == pl.Date:
        parsed = pl.col("date")
    elif isinstance(dtype, pl.Datetime):
        parsed = pl.col("date").dt.date()
    elif dtype == pl.String:
        parsed = pl.col("date").str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
    else:
        raise ForecastInputError(f"column 'date' must hold dates (YYYY-MM-DD), not {dtype}")
    frame = frame.with_columns(parsed.alias("day"))
    bad = frame.filter(pl.col("day").is_null())
    if len(bad):
        raise ForecastInputError(
            f"column 'date' must hold dates as YYYY-MM-DD: {len(bad)} row(s) do not, e.g. {_examples(bad, 'date')}"
        )
    return frame


def _demand(frame: pl.DataFrame) -> pl.DataFrame:
    dtype = frame.schema["demand"]
    if dtype.is_numeric():
        parsed = pl.col("demand").cast(pl.Float64)
    elif dtype == pl.String:
        parsed = pl.col("demand").str.strip_chars().cast(pl.Float64, strict=False)
    else:
        raise ForecastInputError(f"column 'demand' must be numeric, not {dtype}")
    frame = frame.with_columns(parsed.alias("quantity"))
    bad = frame.filter(pl.col("quantity").is_null() | pl.col("quantity").is_nan() | pl.col("quantity").is_infinite())
    if len(bad):
        raise ForecastInputError(
            f"column 'demand' must be a number on every row: {len(bad)} row(s) are not, e.g. {_examples(bad, 'demand')}"
        )
    negative = frame.filter(pl.col("quantity") < 0)
    if len(negative):
        raise ForecastInputError(
            f"column 'demand' must not be negative: {len(negative)} row(s) are, e.g. {_examples(negative, 'demand')}"
        )
    return frame


def load_demand(path: str) -> tuple[NDArray[np.float64], pl.Series, date]:
    """Read and check a demand file; returns the series × day matrix, the series ids (in row
    order) and the date of the first column."""
    frame = _read(path)
    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise ForecastInputError(
            f"the input lacks column(s) {', '.join(repr(c) for c in missing)}; it needs series_id, date and "
            f"demand (it has: {', '.join(frame.columns) or 'none'})"
        )
    if not len(frame):
        raise ForecastInputError("the input has no rows")
    frame = frame.select(COLUMNS).with_row_index("row", offset=1)
    if frame.schema["series_id"] == pl.String:
        frame = frame.with_columns(pl.col("series_id").str.strip_chars())
    empty_id = frame.filter(pl.col("series_id").is_null() | (pl.col("series_id").cast(pl.String) == ""))
    if len(empty_id):
        raise ForecastInputError(
            f"column 'series_id' must not be empty: {len(empty_id)} row(s) are, e.g. row {empty_id['row'][0]}"
        )
    frame = _demand(_dates(frame))
    first, last = frame["day"].min(), frame["day"].max()
    assert isinstance(first, date)
    assert isinstance(last, date)
    days = (last - first).days + 1
    if days < MIN_DAYS:
        raise ForecastInputError(
            f"forecasting needs at least {MIN_DAYS} days of history; the input spans {days} day(s) ({first} to {last})"
        )
    daily = frame.group_by("series_id", "day").agg(pl.col("quantity").sum())
    ids = daily["series_id"].unique().sort()
    if len(ids) * days > MAX_CELLS:
        raise ForecastInputError(f"{len(ids):,} series × {days:,} days is too large for one run; split the input")
    index = pl.DataFrame({"series_id": ids, "series_index": np.arange(len(ids), dtype=np.int64)})
    daily = daily.join(index, on="series_id").with_columns(
        ((pl.col("day") - pl.lit(first)).dt.total_days()).alias("day_index")
    )
    matrix = np.zeros((len(ids), days))
    matrix[daily["series_index"].to_numpy(), daily["day_index"].to_numpy()] = daily["quantity"].to_numpy()
    return matrix, ids, first


def run_forecast(input_path: str, horizon: int, output_path: str) -> int:
    """Forecast every series of ``input_path`` ``horizon`` days ahead into ``output_path``;
    returns the number of series. Raises ForecastInputError on a bad input or output."""
    if not 1 <= horizon <= MAX_HORIZON:
        raise ForecastInputError(f"the horizon must be between 1 and {MAX_HORIZON} days, not {horizon}")
    matrix, ids, start = load_demand(input_path)
    result = forecast_matrix(matrix, horizon=horizon, start_dow=start.weekday())
    count = len(ids)
    after = start + timedelta(days=matrix.shape[1])
    dates = pl.date_range(after, after + timedelta(days=horizon - 1), interval="1d", eager=True)
    out = pl.DataFrame(
        {
            "series_id": ids.gather(np.repeat(np.arange(count), horizon)),
            "date": dates.gather(np.tile(np.arange(horizon), count)),
            "forecast": result.forecast.ravel(),
            "lo80": result.lo80.ravel(),
            "hi80": result.hi80.ravel(),
            "method": np.repeat(np.array(METHODS)[result.method], horizon),
            "q10": result.q10.ravel(),
            "q50": result.q50.ravel(),
            "q90": result.q90.ravel(),
        }
    ).with_columns(pl.col("forecast", "lo80", "hi80", "q10", "q50", "q90").round(4))
    parent = Path(output_path).resolve().parent
    if not parent.is_dir():
        raise ForecastInputError(f"the output folder does not exist: {parent}")
    try:
        if _is_parquet(output_path):
            out.write_parquet(output_path)
        else:
            out.write_csv(output_path)
    except (pl.exceptions.PolarsError, OSError) as error:
        raise ForecastInputError(f"cannot write {output_path}: {error}") from None
    return count


@click.command("forecast")
@click.option(
    "--input",
    "input_path",
    required=True,
    metavar="DEMAND",
    help="Parquet or CSV with series_id, date (YYYY-MM-DD) and demand; missing days count as zero.",
)
@click.option("--horizon", default=30, show_default=True, type=int, help="Days to forecast.")
@click.option(
    "--output",
    "output_path",
    required=True,
    metavar="OUT",
    help="Where to write series_id, date, forecast, lo80, hi80, method, q10, q50, q90 (Parquet if it ends in "
    ".parquet, else CSV).",
)
def forecast_command(input_path: str, horizon: int, output_path: str) -> None:
    """Forecast daily demand per series from a file (no database needed)."""
    try:
        count = run_forecast(input_path, horizon, output_path)
    except ForecastInputError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"forecast {count} series, {horizon} days ahead, written to {output_path}")
