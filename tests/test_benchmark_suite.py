"""The benchmark suite's design check (``benchmarks/suite.py``): where PyPSA gives no optimum
to compare with, PyPSA prices dcplan's design with its capacities held. The verdicts are pinned
on figures written by hand; the pricing itself (two full-year solves) is under ``-m slow``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import suite  # noqa: E402
import suite_cases as sc  # noqa: E402

TOL = 1e-4


def _dc(objective, status="optimal", bound=None):
    return {"status": status, "objective": objective, "bound": bound}


def _priced(objective, status="optimal"):
    return {"status": status, "objective": objective, "bound": objective}


@pytest.mark.parametrize("dc, ps, priced, verdict", [
    # PyPSA prices the design at dcplan's cost, and its bound at the limit is below it
    (_dc(100.0e6), {"status": "time_limit", "objective": 101.0e6, "bound": 99.0e6}, _priced(100.0e6 + 50),
     "design agrees"),
    # dcplan's cost of its design is below what that design costs: dcplan leaves a cost out
    (_dc(100.0e6), {"status": "timeout"}, _priced(100.1e6), "DISAGREE"),
    # ... but not where the priced run's own gap reaches down to it
    (_dc(100.0e6), {"status": "timeout"}, {"status": "time_limit", "objective": 100.1e6, "bound": 99.9e6},
     "consistent"),
    # dcplan claims less than PyPSA proves possible
    (_dc(100.0e6), {"status": "time_limit", "objective": None, "bound": 100.5e6}, _priced(100.0e6), "DISAGREE"),
    # PyPSA runs the design for less than dcplan says: within dcplan's gap, or below its bound
    (_dc(100.1e6), {"status": "timeout"}, _priced(100.0e6), "dispatch dearer"),
    (_dc(100.1e6, "time_limit", 99.0e6), {"status": "timeout"}, _priced(100.0e6), "dispatch dearer"),
    (_dc(100.1e6, "optimal", 100.09e6), {"status": "timeout"}, _priced(100.0e6), "DISAGREE"),
    # PyPSA's own plan at its limit below the bound dcplan proves
    (_dc(100.0e6, "optimal", 99.99e6), {"status": "time_limit", "objective": 99.0e6, "bound": 98.0e6},
     _priced(100.0e6), "DISAGREE"),
    (_dc(100.0e6), {"status": "timeout"}, _priced(None, "infeasible"), "DISAGREE"),
    (_dc(100.0e6), {"status": "timeout"}, _priced(None, "infeasible_or_unbounded"), "DISAGREE"),
    (_dc(None, "infeasible"), {"status": "time_limit", "objective": 99.0e6, "bound": 98.0e6}, None, "DISAGREE"),
    (_dc(None, "timeout"), {"status": "timeout"}, None, "unchecked"),
    (_dc(100.0e6), {"status": "timeout"}, {"status": "timeout", "objective": None}, "unchecked"),
])
def test_design_verdicts(dc, ps, priced, verdict):
    assert suite.judge_design(dc, ps, priced, TOL)[0] == verdict


def test_the_note_says_how_far_the_plan_is_proven():
    _, note = suite.judge_design(_dc(100.0e6, "time_limit", 99.9e6),
                                 {"status": "time_limit", "objective": 101.0e6, "bound": 99.0e6},
                                 _priced(100.0e6), TOL)
    assert "dcplan +1.0e-03 from the best bound" in note  # dcplan's own bound, the higher
    assert "PyPSA's best at its limit 101,000,000 (+1.0e-02)" in note
    bare = suite.judge_design(_dc(100.0e6), {"status": "time_limit", "objective": None, "bound": float("-inf")},
                              _priced(100.0e6), TOL)
    assert bare == ("design agrees", "dcplan 100,000,000 (optimal), PyPSA's price of its design 100,000,000 (+0.0e+00)")


def test_pypsa_prices_dcplans_design_at_dcplans_cost_and_a_bigger_one_higher(tmp_path):
    pytest.importorskip("pypsa")
    case = next(c for c in sc.FIXED_CASES if c.name == "grid_co2_cap_wind")
    sc.write_case(case, tmp_path, sc.merged_catalog(), sc.default_discount_rate())
    dc = suite.worker_dcplan(tmp_path, None)
    priced = suite.worker_pypsa(tmp_path, None, 300.0, dc["capacity"])
    assert suite.judge_design(dc, {"status": "timeout"}, priced, TOL)[0] == "design agrees"
    # one more LM6000 (2 of the case's 3 are built; wind and solar sit at their limits, which a
    # held design is kept to)
    assert dc["capacity"]["lm6000_units"] < 3
    bigger = dc["capacity"] | {"lm6000_units": dc["capacity"]["lm6000_units"] + 1}
    dearer = suite.worker_pypsa(tmp_path, None, 300.0, bigger)
    assert dearer["objective"] > priced["objective"] * (1 + TOL)
    assert suite.judge_design(dc, {"status": "timeout"}, dearer, TOL)[0] == "DISAGREE"
