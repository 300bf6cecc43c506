"""Random build-outs from ``benchmarks/buildouts.py`` that once came out wrong, planned again
by ``auto`` (the decomposition) and by HiGHS's MIP on the whole model: the same plan."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import buildouts  # noqa: E402
import suite_cases as sc  # noqa: E402

import dcplan  # noqa: E402


@pytest.mark.parametrize("seed, draw", [
    (2069, 14),  # the master went infeasible on cuts that cut off a design meeting every row: "infeasible"
])
def test_a_random_buildout_has_the_whole_models_plan(tmp_path, seed, draw):
    catalog = sc.merged_catalog()
    case, program = buildouts.random_program(seed, draw - 1, catalog)
    path = buildouts.write_draw(case, program, tmp_path / case.name, catalog)
    auto = dcplan.plan_outcome(path)
    whole = dcplan.plan_outcome(path, strategy="highs_mip")
    assert whole.solve.status == "optimal"
    assert auto.solve.status == "optimal" and auto.solve.strategy == "decompose"
    assert auto.solve.objective == pytest.approx(whole.solve.objective, rel=2e-4)
