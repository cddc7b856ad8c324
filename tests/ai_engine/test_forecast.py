"""The forecasting core (known answers and properties) and the `atlas forecast` command."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from atlas.ai_engine import forecast as forecast_module
from atlas.ai_engine.forecast import METHODS, forecast_matrix, weekday_profile
from atlas.ai_engine.forecast_cli import forecast_command, load_demand, run_forecast

WEEK = np.array([2.0, 2.0, 2.0, 2.0, 10.0, 20.0, 5.0])  # Monday first


def one(y: np.ndarray, **kwargs: int) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    result = forecast_matrix(np.asarray(y, dtype=np.float64)[None, :], **kwargs)
    return METHODS[int(result.method[0])], result.forecast[0], result.lo80[0], result.hi80[0]


# --------------------------------------------------------------------------- known answers


def test_constant_series_forecasts_the_constant_with_a_narrow_interval() -> None:
    method, forecast, lo, hi = one(np.full(120, 10.0))
    assert np.allclose(forecast, 10.0, atol=0.05)
    assert (lo <= forecast).all()
    assert (hi >= forecast).all()
    assert (hi - lo).max() < 3.0  # far narrower than a Poisson interval (about 7 to 14)


def test_clean_upward_trend_rises_but_never_above_the_undamped_line() -> None:
    t = np.arange(120, dtype=np.float64)
    y = 20.0 + 0.5 * t
    method, forecast, _, _ = one(y, horizon=30)
    undamped = y[-1] + 0.5 * np.arange(1, 31)
    assert method == "damped" or forecast[-1] > forecast[0]
    assert forecast[-1] > forecast[0]
    assert (forecast <= undamped + 1e-9).all()
    assert forecast[0] > 0.95 * y[-1]
    # Damped: the rise per day shrinks.
    steps = np.diff(forecast)
    assert (steps[1:] <= steps[:-1] + 1e-9).all()


def test_weekly_pattern_is_followed() -> None:
    y = np.tile(WEEK, 20)  # 140 days starting on a Monday
    method, forecast, lo, hi = one(y, horizon=14, start_dow=0)
    assert method == "ses_weekly"
    # 140 days later is a Monday again: the forecast repeats the pattern.
    assert np.allclose(forecast, np.tile(WEEK, 2), rtol=0.05)
    assert forecast[5] == forecast.max()  # Saturday


def test_weekday_profile_is_aligned_to_weekdays() -> None:
    y = np.tile(WEEK, 12)[None, 3:]  # starts on a Thursday
    factors, strength = weekday_profile(y, start_dow=3)
    assert np.argmax(factors[0]) == 5
    assert strength[0] > 0.9


def test_intermittent_series_gets_a_small_flat_forecast_not_a_spike() -> None:
    y = np.zeros(120)
    y[::9] = 3.0  # mean 1/3 a day
    method, forecast, lo, hi = one(y)
    assert method in {"tsb", "ses", "window"}
    assert forecast.max() - forecast.min() < 0.05
    assert 0.15 < forecast.mean() < 0.6
    assert (lo == 0).all()


@pytest.mark.parametrize("position", [100, 119])
def test_a_single_spike_barely_moves_the_forecast(position: int) -> None:
    rng = np.random.default_rng(7)
    y = rng.poisson(10.0, 120).astype(np.float64)
    base = one(y)[1].mean()
    y[position] = 300.0
    method, forecast, lo, hi = one(y)
    assert abs(forecast.mean() - base) < 0.05 * base
    assert hi.max() < 25  # the spike does not blow up the interval either


def test_a_past_stockout_is_censored_not_learnt_as_zero_demand() -> None:
    rng = np.random.default_rng(3)
    y = rng.poisson(10.0, 120).astype(np.float64)
    base = one(y)[1].mean()
    y[95:110] = 0.0  # fifteen days without a sale, then demand as before: the shelf was empty
    assert abs(one(y)[1].mean() - base) < 0.05 * base
    fitted = forecast_module._censor_stockouts(y[None, :], y[None, :], [120])[0]
    assert (fitted[95:110] > 5).all()
    assert (fitted[:95] == y[:95]).all()
    assert (fitted[110:] == y[110:]).all()


def test_an_ongoing_zero_run_and_intermittent_gaps_are_left_as_they_are() -> None:
    rng = np.random.default_rng(3)
    smooth = rng.poisson(10.0, 120).astype(np.float64)
    smooth[110:] = 0.0  # still out (or no longer sold): not censored
    intermittent = np.zeros(120)
    intermittent[::9] = 3.0
    intermittent[40:80] = 0.0  # a long gap is what intermittent demand does
    y = np.stack([smooth, intermittent])
    assert (forecast_module._censor_stockouts(y, y, [120]) == y).all()
    # A run cut by a backtest origin is censored only if it was already improbable there: the
    # backtest must not learn from a later day that those zeros were a stockout.
    crossing = rng.poisson(10.0, 120).astype(np.float64)[None, :]
    crossing[0, 60:75] = 0.0
    assert (forecast_module._censor_stockouts(crossing, crossing, [62, 120]) == crossing).all()
    assert (forecast_module._censor_stockouts(crossing, crossing, [70, 120])[0, 60:75] > 5).all()
    assert (forecast_module._censor_stockouts(crossing, crossing, [80, 120])[0, 60:75] > 5).all()


def test_intervals_cover_about_eighty_percent_on_poisson_demand() -> None:
    rng = np.random.default_rng(1)
    means = rng.uniform(0.2, 20.0, 400)
    y = rng.poisson(means[:, None], (400, 150)).astype(np.float64)
    result = forecast_matrix(y[:, :120], horizon=30)
    actual = y[:, 120:]
    covered = ((result.lo80 <= actual) & (actual <= result.hi80)).mean()
    assert 0.74 < covered < 0.88


def test_blocks_do_not_change_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    y = rng.poisson(rng.uniform(0.1, 8.0, (10, 1)), (10, 90)).astype(np.float64)
    whole = forecast_matrix(y, horizon=10)
    monkeypatch.setattr(forecast_module, "BLOCK", 3)
    split = forecast_matrix(y, horizon=10)
    assert np.array_equal(whole.method, split.method)
    assert np.allclose(whole.forecast, split.forecast)
    assert np.allclose(whole.hi80, split.hi80)
    assert np.allclose(whole.signals.ma7, split.signals.ma7)


def test_bad_values_are_cleaned_and_short_input_refused() -> None:
    y = np.array([[np.nan, np.inf, -5.0] + [1.0] * 30])
    result = forecast_matrix(y)
    assert np.isfinite(result.forecast).all()
    assert (result.forecast >= 0).all()
    with pytest.raises(ValueError, match="14 days"):
        forecast_matrix(np.ones((2, 13)))
    assert forecast_matrix(np.zeros((0, 30))).forecast.shape == (0, 30)


# --------------------------------------------------------------------------- properties


@st.composite
def demand_matrices(draw: st.DrawFn) -> np.ndarray:
    rows = draw(st.integers(1, 5))
    days = draw(st.integers(14, 70))
    values = st.one_of(
        st.just(0.0), st.integers(0, 30).map(float), st.floats(0.0, 1e300, allow_nan=False), st.floats(0.0, 5.0)
    )
    y = draw(hnp.arrays(np.float64, (rows, days), elements=values))
    zero_rows = draw(st.lists(st.booleans(), min_size=rows, max_size=rows))
    y[np.array(zero_rows)] = 0.0
    return y


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(y=demand_matrices(), horizon=st.integers(1, 40), start_dow=st.integers(0, 6))
def test_forecasts_are_finite_non_negative_and_inside_their_interval(
    y: np.ndarray, horizon: int, start_dow: int
) -> None:
    result = forecast_matrix(y, horizon=horizon, start_dow=start_dow)
    assert result.forecast.shape == (y.shape[0], horizon)
    for values in (result.forecast, result.lo80, result.hi80, result.sigma):
        assert np.isfinite(values).all()
        assert (values >= 0).all()
    assert (result.lo80 <= result.forecast).all()
    assert (result.forecast <= result.hi80).all()
    assert np.isfinite(result.mase).all()
    assert (result.mase >= 0).all()
    assert ((result.method >= 0) & (result.method < len(METHODS))).all()
    zero = ~y.any(axis=1)
    assert (result.forecast[zero] == 0).all()


# --------------------------------------------------------------------------- the command


def write_demand(path: Path, rows: list[tuple[str, str, str]]) -> None:
    path.write_text("series_id,date,demand\n" + "".join(f"{s},{d},{q}\n" for s, d, q in rows))


def sample_rows(days: int = 60, skip_every: int = 0) -> list[tuple[str, str, str]]:
    rows = []
    for i in range(days):
        day = (date(2026, 1, 5) + timedelta(days=i)).isoformat()  # a Monday
        rows.append(("SKU-1", day, str(int(WEEK[i % 7]))))
        if not skip_every or i % skip_every:
            rows.append(("SKU-2", day, "1"))
    return rows


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(forecast_command, list(args))
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_csv_in_csv_out(tmp_path: Path) -> None:
    source, target = tmp_path / "demand.csv", tmp_path / "forecast.csv"
    write_demand(source, sample_rows())
    code, output = invoke("--input", str(source), "--horizon", "7", "--output", str(target))
    assert code == 0, output
    out = pl.read_csv(target, try_parse_dates=True)
    assert out.columns == ["series_id", "date", "forecast", "lo80", "hi80", "method", "q10", "q50", "q90"]
    assert out.height == 14
    # The quantiles are the engine's own (rounded to 4 places), q10/q90 under their earlier names too.
    matrix, ids, start = load_demand(str(source))
    engine = forecast_matrix(matrix, horizon=7, start_dow=start.weekday())
    for name in ("q10", "q50", "q90"):
        for row, series_id in enumerate(ids):
            got = out.filter(pl.col("series_id") == series_id)[name].to_numpy()
            assert np.allclose(got, getattr(engine, name)[row], rtol=0, atol=5.1e-5), (name, series_id)
    assert out["q10"].equals(out["lo80"]) and out["q90"].equals(out["hi80"])
    assert ((out["q10"] <= out["q50"]) & (out["q50"] <= out["q90"])).all()
    assert out["date"].min() == date(2026, 3, 6)  # the day after the last input day
    first = out.filter(pl.col("series_id") == "SKU-1")
    assert first["method"][0] == "ses_weekly"
    assert np.allclose(first["forecast"].to_numpy(), np.roll(WEEK, -4), rtol=0.1)  # 2026-03-06 is a Friday
    assert (out["lo80"] <= out["forecast"]).all()
    assert (out["forecast"] <= out["hi80"]).all()


def test_parquet_in_parquet_out(tmp_path: Path) -> None:
    rows = sample_rows()
    source, target = tmp_path / "demand.parquet", tmp_path / "forecast.parquet"
    pl.DataFrame(
        {
            "series_id": [r[0] for r in rows],
            "date": [date.fromisoformat(r[1]) for r in rows],
            "demand": [int(r[2]) for r in rows],
        }
    ).write_parquet(source)
    assert run_forecast(str(source), 30, str(target)) == 2
    out = pl.read_parquet(target)
    assert out.schema["date"] == pl.Date
    assert out.height == 60
    csv_target = tmp_path / "forecast.csv"
    csv_source = tmp_path / "demand.csv"
    write_demand(csv_source, rows)
    run_forecast(str(csv_source), 30, str(csv_target))
    assert np.allclose(pl.read_csv(csv_target)["forecast"].to_numpy(), out["forecast"].to_numpy())


def test_missing_days_count_as_zero(tmp_path: Path) -> None:
    gaps = sample_rows(skip_every=3)
    explicit = [row for row in sample_rows()]
    explicit = [(s, d, "0") if s == "SKU-2" and (s, d, q) not in gaps else (s, d, q) for s, d, q in explicit]
    write_demand(tmp_path / "gaps.csv", gaps)
    write_demand(tmp_path / "zeros.csv", explicit)
    run_forecast(str(tmp_path / "gaps.csv"), 10, str(tmp_path / "a.csv"))
    run_forecast(str(tmp_path / "zeros.csv"), 10, str(tmp_path / "b.csv"))
    a, b = pl.read_csv(tmp_path / "a.csv"), pl.read_csv(tmp_path / "b.csv")
    assert a.equals(b)
    second = a.filter(pl.col("series_id") == "SKU-2")["forecast"]
    assert 0.5 < second.mean() < 0.9  # a third of the days had no demand


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("series_id,day,demand\nA,2026-01-01,1\n", "'date'"),
        (
            "series_id,date,demand\n" + "".join(f"A,2026-01-{d:02d},{'x' if d == 3 else 1}\n" for d in range(1, 21)),
            "'demand' must be a number",
        ),
        (
            "series_id,date,demand\n" + "".join(f"A,2026-01-{d:02d},{-2 if d == 3 else 1}\n" for d in range(1, 21)),
            "must not be negative",
        ),
        ("", "empty"),
        ("series_id,date,demand\n", "no rows"),
        (
            "series_id,date,demand\n" + "".join(f"A,2026-01-{d:02d},1\n" for d in range(1, 20)) + "A,01/20/2026,1\n",
            "YYYY-MM-DD",
        ),
        ("series_id,date,demand\n" + "".join(f"A,2026-01-{d:02d},1\n" for d in range(1, 8)), "at least 14 days"),
    ],
)
def test_bad_input_gives_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    source = tmp_path / "demand.csv"
    source.write_text(content)
    code, output = invoke("--input", str(source), "--output", str(tmp_path / "out.csv"))
    assert code != 0
    assert message in output
    assert "Traceback" not in output
    assert not (tmp_path / "out.csv").exists()


def test_bad_parquet_types_and_paths(tmp_path: Path) -> None:
    source = tmp_path / "demand.parquet"
    pl.DataFrame(
        {
            "series_id": ["A"] * 20,
            "date": [date(2026, 1, 1) + timedelta(days=i) for i in range(20)],
            "demand": [True] * 20,
        }
    ).write_parquet(source)
    code, output = invoke("--input", str(source), "--output", str(tmp_path / "out.csv"))
    assert code != 0
    assert "'demand' must be numeric" in output
    code, output = invoke("--input", str(tmp_path / "missing.csv"), "--output", str(tmp_path / "out.csv"))
    assert code != 0
    assert "not found" in output
    (tmp_path / "not-parquet.parquet").write_text("series_id,date,demand\n")
    code, output = invoke("--input", str(tmp_path / "not-parquet.parquet"), "--output", str(tmp_path / "o.csv"))
    assert code != 0
    assert "cannot read" in output
