"""The decomposition's bound for hourly unit commitment (:mod:`dcplan.solver.commitment`): partial
MIPs over the hours that commitment changes bound the plan where the relaxation alone does not,
and never above the exact MIP's optimum."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

import dcplan.solver as solver
from dcplan.loader import load_program
from dcplan.model import build_model
from dcplan.model.context import is_operational
from dcplan.model.technologies import relaxed_away
from dcplan.solver import SolveOptions, solve
from dcplan.solver.benders import decompose, dispatch_with_integers
from dcplan.solver.commitment import CommitmentBound
from dcplan.solver.highs import Compiled, Deadline, Progress, relative_gap

REPO = Path(__file__).resolve().parents[1]
DAYS = 6


@pytest.fixture(scope="module")
def committed_site(tmp_path_factory) -> Path:
    """Memphis with one commitment gas type filling what the grid cannot (dear gas, no battery,
    no demand charge): hours apart, and gas held below its minimum load by the relaxation."""
    folder = tmp_path_factory.mktemp("commitment")
    shutil.copytree(REPO / "sites", folder / "sites")
    path = folder / "sites" / "memphis.yaml"
    data = yaml.safe_load(path.read_text())
    data["technologies"].pop("battery")
    data["technologies"]["gas"] = data["technologies"]["gas"][:1]  # lm6000, unit commitment
    data["grid"]["demand_charge_usd_per_kw_month"] = 0
    data["grid"].pop("steps")
    data["fuel"]["gas_price_usd_per_mmbtu"] = 8.0
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def exact(committed_site) -> float:
    result = solve(build_model(load_program(committed_site), DAYS).model,
                   SolveOptions(strategy="highs_mip", mip_gap=1e-9))
    assert result.status == "optimal"
    return result.objective


def _relaxed_loop(path: Path, gap: float):
    """(compiled, loop outcome, committed plan's cost, its x, options, deadline)."""
    compiled = Compiled(build_model(load_program(path), DAYS).model)
    operational = solver._component_mask(compiled, is_operational)
    away = solver._component_mask(compiled, relaxed_away) & operational & compiled.integer
    options = SolveOptions(mip_gap=gap)
    deadline = Deadline(None, time.perf_counter())
    out = decompose(compiled, operational, options, deadline, Progress(options, 0.0), None, away)
    objective, x = dispatch_with_integers(compiled, operational, out.x, options, deadline, 0.0, 60.0)
    return compiled, out, objective, x, options, deadline


def test_partial_mips_close_the_gap_the_relaxation_leaves(committed_site, exact):
    _, out, objective, x, options, deadline = _relaxed_loop(committed_site, 1e-8)
    assert objective == pytest.approx(exact, rel=1e-9)
    assert relative_gap(objective, out.bound) > 1e-4  # the relaxation alone is far from proving it
    proof = CommitmentBound(out.relaxation)
    assert proof.applies
    bound, proved, _ = proof.prove(x, objective, options, deadline, cap_s=60.0)
    assert bound <= exact * (1 + 1e-9)
    assert relative_gap(proved, bound) <= 1e-8


def test_any_hours_kept_whole_give_a_bound_below_the_optimum(committed_site, exact, monkeypatch):
    """The partial MIP is a relaxation of the model whichever hours it keeps whole (here every
    other one of those commitment changes, or none): its bound never passes the optimum."""
    _, out, objective, x, options, deadline = _relaxed_loop(committed_site, 1e-8)
    real = CommitmentBound._differing
    for keep in (lambda d: d & (np.arange(len(d)) % 2 == 0), lambda d: d & False):
        monkeypatch.setattr(CommitmentBound, "_differing", lambda self, *args, keep=keep: keep(real(self, *args)))
        bound, _, _ = CommitmentBound(out.relaxation).prove(x, objective, options, deadline, cap_s=60.0)
        assert bound is not None and bound <= exact * (1 + 1e-9)


def test_a_committed_plan_is_proved_without_the_whole_models_mip(committed_site, exact, monkeypatch):
    def no_whole_mip(*args, **kwargs):
        raise AssertionError("handed over to HiGHS's MIP on the whole model")

    monkeypatch.setattr(solver, "highs_mip", no_whole_mip)
    result = solve(build_model(load_program(committed_site), DAYS).model,
                   SolveOptions(strategy="decompose", mip_gap=1e-7), operational=is_operational,
                   relaxed_away=relaxed_away)
    assert result.status == "optimal" and result.strategy == "decompose"
    assert result.objective == pytest.approx(exact, rel=1e-7)
    assert result.bound <= exact * (1 + 1e-9)


def test_storage_makes_each_typical_day_one_part(committed_site, tmp_path):
    """A battery ties a typical day's hours together (its charge wraps around the day): the
    parts are the days (a full year with storage is one part, and no partial MIP is tried)."""
    path = tmp_path / "sites" / committed_site.name
    shutil.copytree(committed_site.parent, path.parent)
    data = yaml.safe_load(path.read_text())
    data["technologies"]["battery"] = {"type": "li_ion_lfp", "max_power_mw": 100}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    _, out, objective, x, options, deadline = _relaxed_loop(path, 1e-8)
    proof = CommitmentBound(out.relaxation)
    assert proof.applies and proof.n_parts == DAYS
    bound, proved, _ = proof.prove(x, objective, options, deadline, cap_s=1.0)
    assert proved <= objective and (bound is None or bound <= proved)
