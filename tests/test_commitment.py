"""The decomposition's bounds for hourly unit commitment: partial MIPs over the hours that
commitment changes (:mod:`dcplan.solver.commitment`), and where storage ties the hours together
the MIP with its rows over time priced (:mod:`dcplan.solver.lagrangian`), bound the plan where the
relaxation alone does not, and never above the exact MIP's optimum."""

from __future__ import annotations

import dataclasses
import shutil
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyomo.core as pyo
import pytest
import yaml

import dcplan.solver as solver
from dcplan.loader import load_program
from dcplan.model import build_model
from dcplan.model.context import is_operational
from dcplan.model.technologies import couples_steps, relaxed_away
from dcplan.solver import SolveOptions, lagrangian, solve
from dcplan.solver.benders import decompose, dispatch_with_integers
from dcplan.solver.commitment import CommitmentBound
from dcplan.solver.highs import Compiled, Deadline, Progress, relative_gap
from dcplan.solver.lagrangian import lagrangian_bound, linking_rows

REPO = Path(__file__).resolve().parents[1]
DAYS = 6
DAYS_PLANNED = DAYS + 1  # memphis's hottest day is no medoid: the typical days keep it besides


@pytest.fixture(scope="module")
def committed_site(tmp_path_factory) -> Path:
    """Memphis with one commitment gas type filling what the grid cannot (dear gas, no battery,
    no demand charge): hours apart, and gas held below its minimum load by the relaxation. At the
    units' ISO rating, the instance these tests were measured on (derated, a battery pays)."""
    folder = tmp_path_factory.mktemp("commitment")
    shutil.copytree(REPO / "sites", folder / "sites")
    path = folder / "sites" / "memphis.yaml"
    data = yaml.safe_load(path.read_text())
    data["technologies"].pop("battery")
    data.pop("ambient_temp_c")
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


def test_a_commitment_mip_cut_short_still_gives_the_relaxed_dispatch_rounded_up(committed_site, exact):
    """With no time for HiGHS's MIP, the relaxed dispatch with enough units on for its output
    (then dispatched again by one LP, each unit at its minimum load at least) is the plan: it
    meets every row, its units on are whole, and it costs no less than the optimum."""
    compiled = Compiled(build_model(load_program(committed_site), DAYS).model)
    operational = solver._component_mask(compiled, is_operational)
    away = solver._component_mask(compiled, relaxed_away) & operational & compiled.integer
    options = SolveOptions(mip_gap=1e-8)
    deadline = Deadline(None, time.perf_counter())
    out = decompose(compiled, operational, options, deadline, Progress(options, 0.0), None, away)
    cost, x = dispatch_with_integers(compiled, operational, out.x, options, deadline, 0.0, cap_s=0.0, relaxed=True)
    assert x is not None
    tol = 1e-6 * np.maximum(1.0, np.abs(compiled.row_upper))
    rows = compiled.A @ x
    assert (rows <= compiled.row_upper + tol).all() and (rows >= compiled.row_lower - tol).all()
    assert (x >= compiled.col_lower - 1e-9).all() and (x <= compiled.col_upper + 1e-9).all()
    on = x[away]
    assert np.allclose(on, np.round(on)) and on.max() >= 1  # whole units, and some on
    assert cost == pytest.approx(compiled.cost @ x + compiled.offset, rel=1e-12)
    assert exact * (1 - 1e-9) <= cost <= exact * 1.01


@pytest.mark.parametrize("cut_short_by", ["time limit", "Ctrl-C"])
def test_a_commitment_cut_short_by_the_deadline_still_makes_the_design_a_plan(committed_site, cut_short_by):
    """The time limit (or a stop) that ends the commitment's MIP leaves the design its rounded-up
    dispatch, dispatched within a grace (GRACE_S): it had been given no time either, and the plan
    in hand was thrown away (`--time-limit 3.4` on the quickstart's full year: "no plan found")."""
    compiled = Compiled(build_model(load_program(committed_site), DAYS).model)
    operational = solver._component_mask(compiled, is_operational)
    away = solver._component_mask(compiled, relaxed_away) & operational & compiled.integer
    options = SolveOptions(mip_gap=1e-8)
    out = decompose(compiled, operational, options, Deadline(None, time.perf_counter()), Progress(options, 0.0), None,
                    away)
    stop = threading.Event()
    if cut_short_by == "Ctrl-C":
        stop.set()
    spent = Deadline(0.0 if cut_short_by == "time limit" else None, time.perf_counter(), stop)
    assert spent.passed
    cost, x = dispatch_with_integers(compiled, operational, out.x, dataclasses.replace(options, stop=stop), spent,
                                     0.0, cap_s=0.0, relaxed=True)
    assert x is not None and np.allclose(x[away], np.round(x[away]))
    assert cost == pytest.approx(compiled.cost @ x + compiled.offset, rel=1e-12)


def test_steps_that_fix_the_loops_design_hold_it_to_the_tolerance_its_dispatch_met():
    """A plan that misses a row by more than HiGHS's LP tolerance (the loop's, as HiGHS scales its
    rows) is held to twice its miss, within HiGHS's MIP tolerance and HELD_TOLERANCE_MAX; rows on
    columns relaxed away do not count, and a plan within tolerance keeps HiGHS's own."""
    m = pyo.ConcreteModel()
    m.x, m.y, m.on = pyo.Var(bounds=(0, 10)), pyo.Var(bounds=(0, 10)), pyo.Var(bounds=(0, 1))
    m.balance = pyo.Constraint(expr=m.x + m.y == 7.0)
    m.minimum_load = pyo.Constraint(expr=m.y >= 4.0 * m.on)
    m.cost = pyo.Objective(expr=m.x + 2 * m.y)
    compiled = Compiled(m)
    away = np.array([v is m.on for v in compiled.columns])
    x = np.array([{"x": 3.0, "y": 4.0 - 6e-6, "on": 1.0}[v.name] for v in compiled.columns])
    options = SolveOptions()
    held = solver.held_to(options, compiled, x, away)
    assert held.feasibility_tolerance == pytest.approx(1.2e-5)
    assert options.feasibility_tolerance is None  # a copy
    h = solver.new_highs(held)
    assert h.getOptionValue("primal_feasibility_tolerance")[1] == pytest.approx(1.2e-5)
    assert h.getOptionValue("mip_feasibility_tolerance")[1] == pytest.approx(1.2e-5)
    x[[v is m.y for v in compiled.columns].index(True)] = 4.0 - 2e-7  # 2e-7 short: HiGHS's MIP's own
    assert solver.held_to(options, compiled, x, away).feasibility_tolerance == solver.MIP_FEASIBILITY_TOLERANCE
    x[[v is m.y for v in compiled.columns].index(True)] = 4.0 - 5e-8  # within HiGHS's LP tolerance
    assert solver.held_to(options, compiled, x, away) is options
    x[[v is m.on for v in compiled.columns].index(True)] = 1.5  # minimum load missed: its row is away
    assert solver.held_to(options, compiled, x, away) is options
    x[[v is m.x for v in compiled.columns].index(True)] = 2.0  # a whole MW short: the most
    assert solver.held_to(options, compiled, x, away).feasibility_tolerance == solver.HELD_TOLERANCE_MAX


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
    assert proof.applies and proof.n_parts == DAYS_PLANNED
    bound, proved, _ = proof.prove(x, objective, options, deadline, cap_s=1.0)
    assert proved <= objective and (bound is None or bound <= proved)


# --- storage ties the hours together: priced rows (dcplan.solver.lagrangian) -----------------


@pytest.fixture(scope="module")
def stored_site(committed_site, tmp_path_factory) -> Path:
    """The committed site at $6/MMBtu with a 2 h battery as a candidate (too dear to build)."""
    folder = tmp_path_factory.mktemp("stored")
    shutil.copytree(committed_site.parent, folder / "sites")
    path = folder / "sites" / committed_site.name
    data = yaml.safe_load(path.read_text())
    data["fuel"]["gas_price_usd_per_mmbtu"] = 6.0
    data["technologies"]["battery"] = {"type": "li_ion_lfp", "max_power_mw": 100, "duration_h": 2}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def stored(stored_site):
    """(exact optimum, compiled, loop outcome, committed plan's cost, its x, linking rows)."""
    exact = solve(build_model(load_program(stored_site), DAYS).model, SolveOptions(strategy="highs_mip", mip_gap=1e-9))
    assert exact.status == "optimal"
    compiled, out, objective, x, _, _ = _relaxed_loop(stored_site, 1e-8)
    operational = solver._component_mask(compiled, is_operational)
    linking = linking_rows(compiled, operational, solver._component_mask(compiled, couples_steps, rows=True))
    return exact.objective, compiled, out, objective, x, linking


def _priced_bound(stored, cuts=True):
    _, compiled, out, objective, x, linking = stored
    operational = solver._component_mask(compiled, is_operational)
    options = SolveOptions(mip_gap=1e-8)
    return lagrangian_bound(compiled, operational, linking, x, objective * (1 - 1e-8), options,
                            Deadline(None, time.perf_counter()), 60.0, cuts=out.cuts if cuts else None)[0]


def test_priced_rows_bound_the_optimum_whatever_the_prices(stored, monkeypatch):
    """The model with its rows over time priced rather than imposed is a relaxation for any
    prices: random ones (with and without the loop's cuts) never bound above the optimum."""
    exact, _, out, objective, _, linking = stored
    assert objective == pytest.approx(exact, rel=1e-9)
    assert linking.sum() == DAYS_PLANNED * 24  # each hour's state of charge
    rng = np.random.default_rng(7)
    for cuts in (True, False):
        for _ in range(2):
            monkeypatch.setattr(lagrangian, "_prices",
                                lambda *args: (np.where(linking, rng.normal(0, 80, len(linking)), 0), args[3]))
            bound = _priced_bound(stored, cuts)
            assert bound is not None and bound <= exact * (1 + 1e-9)


def test_prices_read_with_a_little_storage_lift_the_bound_above_the_loops(stored, monkeypatch):
    """The plan builds no battery, so its state of charge has no price of its own; read with a
    hundredth of the battery, the priced MIP bounds the plan far closer than the loop (7.2e-4 to
    1e-8 measured), where the plan's own (arbitrary) prices do not."""
    exact, compiled, out, objective, x, _ = stored
    operational = solver._component_mask(compiled, is_operational)
    names = np.array([v.parent_component().local_name for v in compiled.columns])
    assert x[names == "bat_new_mw"] == 0
    assert relative_gap(objective, out.bound) > 5e-4
    bound = _priced_bound(stored)
    assert out.bound < bound <= exact * (1 + 1e-9)
    assert relative_gap(objective, bound) < 1e-7
    raised = lagrangian._with_first_storage(compiled, operational, stored[5], x, SolveOptions())
    design = names[~operational]
    assert raised[design == "bat_new_mw"] == pytest.approx(1.0)  # a hundredth of 100 MW
    assert raised[design == "bat_new_mwh"] == pytest.approx(2.0)  # at the battery's own duration
    monkeypatch.setattr(lagrangian, "_with_first_storage", lambda compiled, operational, linking, x, options: x[~operational])
    assert _priced_bound(stored) < bound


def test_a_priced_limit_keeps_its_bound_in_the_bound(monkeypatch):
    """Two hours by hand: 20 MW each, imports at $100/MWh, a unit at $10/MWh of 15 MW minimum
    load and $1/MW built, at most 30 MWh of fuel over both hours (a row over time, its limit not
    zero). Optimum: 15 MW built, 15 MW each hour, 10 MWh imported: 15 + 300 + 1,000 = $1,315.
    Priced at -$50/MWh instead of imposed, the fuel limit gives at most 20 + 400 + 40 x 50 - 30 x
    50 = $920; without the limit's own term (30 x 50) the bound would pass the optimum. The priced
    MIP builds 20 MW, not the plan's 15: that design is handed back to be committed."""
    m = pyo.ConcreteModel()
    m.T = pyo.Set(initialize=[0, 1])
    m.unit_mw = pyo.Var(bounds=(0, 50))
    m.gen = pyo.Var(m.T, bounds=(0, None))
    m.on = pyo.Var(m.T, domain=pyo.Binary)
    m.grid = pyo.Var(m.T, bounds=(0, None))
    m.balance = pyo.Constraint(m.T, rule=lambda m, t: m.gen[t] + m.grid[t] == 20)
    m.most = pyo.Constraint(m.T, rule=lambda m, t: m.gen[t] <= m.unit_mw)
    m.when_on = pyo.Constraint(m.T, rule=lambda m, t: m.gen[t] <= 50 * m.on[t])
    m.least = pyo.Constraint(m.T, rule=lambda m, t: m.gen[t] >= 15 * m.on[t])
    m.fuel = pyo.Constraint(expr=m.gen[0] + m.gen[1] <= 30)
    m.cost = pyo.Objective(expr=m.unit_mw + sum(10 * m.gen[t] + 100 * m.grid[t] for t in m.T))
    exact = solve(m, SolveOptions(strategy="highs_mip", mip_gap=1e-9))
    assert exact.objective == pytest.approx(1315)
    compiled = Compiled(m)
    operational = np.array([v.parent_component() is not m.unit_mw for v in compiled.columns])
    linking = np.array([r.parent_component() is m.fuel for r in compiled.rows])
    x = np.array([v.value for v in compiled.columns])

    def priced_at(price, plan=x):
        monkeypatch.setattr(lagrangian, "_prices", lambda *args: (np.where(linking, price, 0.0), plan))
        return lagrangian_bound(compiled, operational, linking, plan, 1e9, SolveOptions(mip_gap=1e-9),
                                Deadline(None, time.perf_counter()), 10.0)

    def bound_at(price):
        return priced_at(price)[0]

    assert bound_at(-50.0) == pytest.approx(920)
    other = priced_at(-50.0)[1]
    assert other is not None and other[~operational] == pytest.approx([20.0])
    assert x[~operational] == pytest.approx([15.0])
    assert priced_at(-50.0, plan=other)[1] is None  # a plan of that design: nothing else to try
    assert bound_at(0.0) == pytest.approx(420)  # no limit: 20 + 400
    assert bound_at(+50.0) == pytest.approx(420)  # a price of the wrong sign for a "<=" row: none
    for price in np.linspace(-300, 0, 7):
        assert bound_at(price) <= 1315 + 1e-6


def test_integrality_is_kept_where_the_relaxed_dispatch_breaks_it():
    """Up to 3 units on, each 15-50 MW: an hour's output fits a whole number of units on at 0,
    15-50, 30-100 or 45-150 MW; 5 MW (below one unit's minimum) and 160 MW (above three units)
    fit none. The value the relaxation holds for the units on does not matter."""
    m = pyo.ConcreteModel()
    outputs = [0.0, 5.0, 15.0, 40.0, 100.0, 150.0, 160.0]
    m.T = pyo.RangeSet(0, len(outputs) - 1)
    m.gen = pyo.Var(m.T, bounds=(0, None))
    m.on = pyo.Var(m.T, domain=pyo.NonNegativeIntegers, bounds=(0, 3))
    m.when_on = pyo.Constraint(m.T, rule=lambda m, t: m.gen[t] <= 50 * m.on[t])
    m.least = pyo.Constraint(m.T, rule=lambda m, t: m.gen[t] >= 15 * m.on[t])
    m.cost = pyo.Objective(expr=sum(m.gen[t] for t in m.T))
    compiled = Compiled(m)
    x = np.zeros(compiled.shape[1])
    for i, v in enumerate(compiled.columns):
        x[i] = outputs[v.index()] if v.parent_component() is m.gen else outputs[v.index()] / 50 + 0.3
    unmet = lagrangian.unmet_integers(compiled, x)
    on = np.array([v.parent_component() is m.on for v in compiled.columns])
    assert not unmet[~on].any()
    assert [bool(unmet[i]) for i in np.flatnonzero(on)] == [False, True, False, False, False, False, True]


def test_the_priced_mip_keeps_integral_only_the_hours_the_relaxed_dispatch_breaks(stored, monkeypatch):
    """The priced MIP's dispatch integers: only the hours whose relaxed output no whole number of
    units carries (some, not all, on the stored site), and the bound still closes on the plan."""
    _, compiled, _, objective, _, _ = stored
    operational = solver._component_mask(compiled, is_operational)
    passed = []
    highs_lp = lagrangian.highs_lp

    def recorded(*args):
        if len(args) > 7:
            passed.append(args[7])
        return highs_lp(*args)

    monkeypatch.setattr(lagrangian, "highs_lp", recorded)
    bound = _priced_bound(stored)
    assert relative_gap(objective, bound) < 1e-7
    integral = passed[-1][:compiled.shape[1]]
    hours = compiled.integer & operational
    assert 0 < (integral & hours).sum() < hours.sum()
    assert (integral[~operational] == compiled.integer[~operational]).all()


def test_a_plan_with_storage_is_proved_without_the_whole_models_mip(stored_site, stored, monkeypatch):
    """On typical days a battery's charge wraps around each day, so the partial MIPs over days
    could prove the plan; ruled out here, as in a year where the battery ties every hour together,
    the priced MIP proves it, and HiGHS's MIP on the whole model is never called."""
    def no_whole_mip(*args, **kwargs):
        raise AssertionError("handed over to HiGHS's MIP on the whole model")

    monkeypatch.setattr(solver, "highs_mip", no_whole_mip)
    monkeypatch.setattr(solver, "CommitmentBound", lambda relaxation: SimpleNamespace(applies=False))
    result = solve(build_model(load_program(stored_site), DAYS).model, SolveOptions(strategy="decompose", mip_gap=1e-7),
                   operational=is_operational, relaxed_away=relaxed_away, couples_steps=couples_steps)
    assert result.status == "optimal" and result.strategy == "decompose"
    assert result.objective == pytest.approx(stored[0], rel=1e-7)
    assert result.bound <= stored[0] * (1 + 1e-9)
