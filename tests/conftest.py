"""Shared helpers: write small site files and CSVs into a temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from dcplan import api, cli
from dcplan.cli import app

try:  # the property tests draw the same examples on every run (CI is not a lottery: a random
    # draw once found an LP that IPX could not finish); HYPOTHESIS_PROFILE=explore draws new ones
    from hypothesis import settings

    settings.register_profile("default", derandomize=True)
    settings.register_profile("explore", derandomize=False)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
except ImportError:  # the minimum-versions check runs without the test extra's hypothesis
    pass

REPO = Path(__file__).resolve().parents[1]

# Rich wraps at the terminal's width, 80 columns in a test run, and may cut a long temporary path
# in the middle of a word that a test looks for: the command line's consoles get room for it.
cli.console.width = cli.err_console.width = 240


@pytest.fixture(autouse=True)
def _smoothing_forgotten():
    """Each test smooths its training jobs afresh: a test that changes how a job is smoothed
    (a stub, a time limit) must not meet another test's remembered answer (api.smoothed)."""
    api._SMOOTHED.clear()


def base_site(**overrides) -> dict:
    """A minimal valid grid-only site with a small fixed compute target."""
    site = {
        "kind": "site",
        "name": "testsite",
        "location": {"lat": 35.0, "lon": -90.0, "country": "US", "timezone": "America/Chicago"},
        "grid": {"max_import_mw": 100, "energy_price_usd_per_mwh": 50},
        "cooling": [{"type": "air_economizer", "pue": 1.2}],
        "compute": {"gpus": [{"model": "h100_sxm"}], "target": {"gpus": 1000}},
    }
    site.update(overrides)
    return site


def write_yaml(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def write_csv(path: Path, columns: dict[str, np.ndarray], index: str | None = "hour") -> Path:
    names = list(columns)
    n = len(next(iter(columns.values())))
    lines = [",".join(([index] if index else []) + names)]
    for i in range(n):
        lines.append(",".join(([str(i)] if index else []) + [f"{float(columns[c][i]):.6g}" for c in names]))
    path.write_text("\n".join(lines) + "\n")
    return path


def daily(pattern: list[float]) -> np.ndarray:
    """A 24-value daily pattern repeated over the 365 days of the year."""
    assert len(pattern) == 24
    return np.tile(np.asarray(pattern, dtype=float), 365)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run_cli(runner: CliRunner, *args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
