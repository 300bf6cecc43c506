"""dcplan's power-system optimum equals an independently built PyPSA model of the same site.

Full-year (8,760 h) MILPs solved by both tools to a gap of 1e-9: about 25 s each, so one runs
in the default suite (PyPSA comes with the ``test`` extra) and the other under ``-m slow``. The comparison itself lives in
``benchmarks/compare_pypsa.py`` (also a CLI), so the test and the script cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

pytest.importorskip("pypsa")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import compare_pypsa as cp


@pytest.mark.parametrize("gas_type, max_units", [("lm6000", 4),
                                                 pytest.param("lm2500xpress", 6, marks=pytest.mark.slow)])
def test_objective_matches_pypsa(tmp_path, gas_type, max_units):
    """Objective within 0.01 %, same integer gas units, same solar and battery MW."""
    cp.quiet_pypsa()
    spec = dataclasses.replace(cp.CaseSpec(), gas_type=gas_type, gas_max_units=max_units)
    cmp = cp.compare(spec, tmp_path)
    assert cmp.objective_rel_diff <= 1e-4, cmp.problems
    assert cmp.ok, cmp.problems
    # the case is meant to exercise gas and solar, not collapse to grid only
    assert cmp.pypsa["capacity"]["gas_units"] >= 1
    assert cmp.pypsa["capacity"]["solar_mw"] > 1
