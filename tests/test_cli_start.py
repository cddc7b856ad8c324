"""The command line starts without the forecaster's libraries, and still offers `atlas forecast`."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner


def test_starting_the_command_line_loads_no_numpy_scipy_or_polars() -> None:
    probe = "import sys, atlas.cli; print(sorted(m for m in ('numpy', 'scipy', 'polars') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_the_forecast_command_is_listed_and_runs_from_the_group() -> None:
    from atlas.cli import main

    listed = CliRunner().invoke(main, ["--help"])
    assert listed.exit_code == 0 and "forecast" in listed.output
    helped = CliRunner().invoke(main, ["forecast", "--help"])
    assert helped.exit_code == 0, helped.output
    assert "Forecast daily demand per series from a file" in helped.output
    unknown = CliRunner().invoke(main, ["forecasts"])
    assert unknown.exit_code == 2 and "No such command" in unknown.output
