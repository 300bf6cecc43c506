"""dcplan's compiler of linear rows gives the same matrix, bounds and objective as Pyomo's
standard-form compiler, on every model dcplan builds (plans, build-outs, committed-plan checks,
smoothing) and on a model of every expression shape it reads."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest
from conftest import REPO
from pyomo.common.errors import InfeasibleConstraintException

from dcplan import api
from dcplan.checks.run import check_paths
from dcplan.loader import load_program
from dcplan.model import build_model
from dcplan.model.rows import Rows, Term, row_family
from dcplan.schema.smoothing import SmoothingSpec
from dcplan.smoothing.api import smooth
from dcplan.smoothing.workload import synthetic_workload
from dcplan.solver import highs
from dcplan.solver.highs import Compiled, _pyomo_form
from dcplan.solver.standard_form import Unsupported, evaluate, linear_form


def _rows(form) -> dict[int, tuple[dict[int, float], float, float]]:
    """Constraint -> (column -> coefficient, lower, upper), Pyomo's two rows of a ranged
    constraint merged into one."""
    A = form.A.tocsr()
    found: dict[int, tuple[dict, float, float]] = {}
    for i, con in enumerate(form.rows):
        start, end = A.indptr[i], A.indptr[i + 1]
        terms = {id(form.columns[j]): v for j, v in zip(A.indices[start:end], A.data[start:end]) if v != 0.0}
        if id(con) in found:
            known, lo, hi = found[id(con)]
            assert known == pytest.approx(terms, rel=1e-12)
            found[id(con)] = (known, max(lo, form.row_lower[i]), min(hi, form.row_upper[i]))
        else:
            found[id(con)] = (terms, form.row_lower[i], form.row_upper[i])
    return found


def assert_same_form(model: pyo.Block) -> None:
    """Same columns in the same order, same rows (a ranged row merged), coefficients, bounds,
    objective and offset."""
    ours, reference = linear_form(model), _pyomo_form(model)
    assert [v.name for v in ours.columns] == [v.name for v in reference.columns]
    mine, theirs = _rows(ours), _rows(reference)
    assert list(mine) == list(theirs)
    for key, (terms, lo, hi) in theirs.items():
        got_terms, got_lo, got_hi = mine[key]
        scale = max([1.0, *map(abs, terms.values())])
        assert got_terms.keys() == terms.keys()
        for column, coef in terms.items():
            assert got_terms[column] == pytest.approx(coef, rel=1e-12, abs=1e-12 * scale)
        for got, want in ((got_lo, lo), (got_hi, hi)):
            assert got == pytest.approx(want, rel=1e-12, abs=1e-9) or (np.isinf(got) and got == want)
    cost = {id(v): c for v, c in zip(ours.columns, ours.cost) if c != 0.0}
    want = {id(v): c for v, c in zip(reference.columns, reference.cost) if c != 0.0}
    assert cost.keys() == want.keys()
    assert [cost[k] for k in want] == pytest.approx(list(want.values()), rel=1e-12)
    assert ours.offset == pytest.approx(reference.offset, rel=1e-12, abs=1e-6)


@pytest.fixture
def compiled_models(monkeypatch) -> list:
    """Every model ``Compiled`` is given while the test runs, each compared with Pyomo's form
    as it is compiled (a check fixes variables later)."""
    seen = []

    def recording(model):
        assert_same_form(model)
        seen.append(model)
        return linear_form(model)

    monkeypatch.setattr(highs, "linear_form", recording)
    return seen


@pytest.mark.parametrize("path", ["sites/memphis.yaml", "sites/alberta.yaml"])
def test_plans_compile_as_pyomo_compiles_them(compiled_models, path):
    """Unit commitment and N+1: every model the plan solves."""
    outcome = api.plan(REPO / path, typical_days=2)
    assert outcome.plan is not None
    assert compiled_models


@pytest.mark.parametrize("path", ["examples/gigawatt-buildout/program.yaml", "examples/flexible-connection/program.yaml",
                                  "examples/quickstart/program.yaml"])
def test_build_outs_compile_as_pyomo_compiles_them(path):
    """Build-outs with lead times and bridges, a flexible grid connection with upgrades, caps."""
    assert_same_form(build_model(load_program(REPO / path), 2).model)


def test_committed_plan_checks_compile_as_pyomo_compiles_them(compiled_models):
    """The check fixes a committed plan's decisions: fixed variables become numbers."""
    assert check_paths([REPO / "sites" / "johor.yaml"]).exit_code == 0
    assert compiled_models


def test_smoothing_compiles_as_pyomo_compiles_it(compiled_models):
    """Battery, burn, ramps and a swing window over a checkpointed job."""
    job = synthetic_workload(gpu="h100_sxm", gpus=24_000, duration_s=60, resolution_s=0.5, seed=3,
                             iteration={"period_s": 8, "compute_fraction": 0.75}, checkpoint={"every_min": 0.5, "duration_s": 5})
    spec = SmoothingSpec.model_validate({"limits": {"swing_mw": 10, "ramp_up_mw_per_s": 2, "ramp_down_mw_per_s": 2},
                                         "mitigations": {"burn": {}, "battery": {}}})
    result = smooth(job, spec)
    assert result.has_schedule and compiled_models


def every_shape() -> pyo.ConcreteModel:
    m = pyo.ConcreteModel()
    m.y = pyo.Var(bounds=(0, 1))
    m.x = pyo.Var(range(3), bounds=(0, 10))
    m.n = pyo.Var(domain=pyo.NonNegativeIntegers, bounds=(0, 5))
    m.fixed = pyo.Var(initialize=4.0)
    m.fixed.fix()
    m.p = pyo.Param(initialize=2.5, mutable=True)
    m.zero = pyo.Param(initialize=0.0, mutable=True)
    m.e = pyo.Expression(expr=3 * m.x[0] - m.x[1] + 7)
    m.order = pyo.Constraint(expr=m.x[2] + m.y >= m.x[0])  # variables met out of index order
    m.sum = pyo.Constraint(expr=m.x[0] + 2 * m.x[1] - m.x[2] <= 6)
    m.named = pyo.Constraint(expr=m.e + m.e >= m.n)  # a named expression used twice
    m.ranged = pyo.Constraint(expr=pyo.inequality(m.fixed, m.x[0] + m.x[2], 2 * m.fixed + m.p))
    m.param = pyo.Constraint(expr=m.p * m.x[1] == -(m.x[2] / 4) + m.fixed * m.n)
    m.cancel = pyo.Constraint(expr=m.x[0] - m.x[0] + m.x[1] <= 9)
    m.left = pyo.Constraint(expr=5 <= m.x[1] + np.float64(1.5) * m.x[0])  # the constant on the left, a numpy number
    m.fixed_products = pyo.Constraint(expr=(m.fixed + 1) * (m.x[0] + 2) - (m.x[1] + 1) * (m.fixed - m.p) <= 30)
    m.quotient = pyo.Constraint(expr=(m.x[0] + m.x[2]) / (m.fixed - 2) + -(m.x[1] - 3) >= 0)
    m.equal_bounds = pyo.Constraint(expr=pyo.inequality(3, m.x[2], 3))
    m.fixed_only = pyo.Constraint(expr=m.fixed <= 5)  # no free variable, holds: dropped
    m.constant = pyo.Constraint(expr=pyo.inequality(0, m.p, 3))  # numbers only: dropped
    m.zero_term = pyo.Constraint(expr=m.zero * m.n + m.x[0] >= 1)  # n's coefficient 0: not its column
    m.all_cancel = pyo.Constraint(expr=m.x[1] - m.x[1] <= 1)  # nothing free left, holds: dropped
    m.obj = pyo.Objective(expr=sum(m.x.values()) + 10 * m.n + m.fixed + 1)
    return m


def test_every_expression_shape_compiles_as_pyomo_compiles_it():
    assert_same_form(every_shape())


def test_a_row_of_numbers_that_cannot_hold_is_infeasible_and_a_product_of_variables_falls_back():
    for broken in (lambda m: m.p >= 3, lambda m: m.x[0] - m.x[0] >= 1, lambda m: m.zero * m.x[0] >= 1):
        m = every_shape()
        m.broken = pyo.Constraint(expr=broken(m))
        with pytest.raises(InfeasibleConstraintException, match="broken"):
            linear_form(m)
        with pytest.raises(InfeasibleConstraintException, match="broken"):
            _pyomo_form(m)
    m = every_shape()
    m.bilinear = pyo.Constraint(expr=m.x[0] * m.x[1] <= 3)
    with pytest.raises(Unsupported):
        linear_form(m)
    with pytest.raises(ValueError, match="nonlinear"):  # Pyomo's compiler, the fallback, says why
        Compiled(m)


def test_expressions_evaluate_as_pyomo_evaluates_them():
    m = every_shape()
    for i, x in enumerate((1.5, 2.0, 0.25)):
        m.x[i].set_value(x)
    m.n.set_value(3)
    m.y.set_value(0.5)
    exprs = [m.e, m.e + m.e - m.n, m.p * m.x[1] + m.x[2] / 4 - m.fixed * m.n, m.obj.expr, 2 * m.x[0], 7.0]
    assert evaluate(exprs) == pytest.approx([pyo.value(e) for e in exprs], rel=1e-12)
    m.y.set_value(None)
    with pytest.raises(Unsupported):  # the caller then evaluates as Pyomo does
        evaluate([m.x[0] + m.y])
    # plain variables (a dispatch column) are read as they are, fixed ones too, as the walk reads them
    m.x[1].fix(4.0)
    plain = [m.x[0], m.x[1], m.x[2], m.n, m.x[0]]
    assert list(evaluate(plain)) == [1.5, 4.0, 0.25, 3.0, 1.5]
    assert evaluate([]).shape == (0,)
    with pytest.raises(Unsupported):
        evaluate([m.x[0], m.y])


def _families(arrays: bool) -> pyo.ConcreteModel:
    """Hourly rows of every kind a model part writes, as arrays or by rules: a unit's output
    under its units built (a shared design expression with a constant), a state that follows the
    previous step (a variable met twice in a row), a ranged row, a row over a fixed variable."""
    m = pyo.ConcreteModel()
    m.K = pyo.Set(initialize=["a", "b"], ordered=True)
    m.T = pyo.RangeSet(0, 5)
    m.n = pyo.Var(m.K, domain=pyo.NonNegativeIntegers, bounds=(0, 4))
    m.g = pyo.Var(m.K, m.T, bounds=(0, 100))
    m.s = pyo.Var(m.T, bounds=(0, 50))
    m.fixed = pyo.Var(initialize=3.0)
    m.fixed.fix()
    m.units = pyo.Expression(m.K, rule=lambda m, k: m.n[k] + 1)
    size, cf, prev = {"a": 10.0, "b": 25.0}, np.linspace(0.1, 0.9, 6), [5, 0, 1, 2, 3, 4]
    hours = list(m.T)
    if arrays:
        m.cap = row_family(m.K, m.T, rows=[Rows([(k, t) for t in hours], [
            Term([m.g[k, t] for t in hours]), Term(m.units[k], -size[k] * cf)], upper=0.0) for k in m.K])
        m.state = row_family(m.T, rows=[Rows(hours, [Term([m.s[t] for t in hours]), Term([m.s[p] for p in prev], -1.0),
                                                     Term([m.g["a", t] for t in hours], -0.9)], lower=0.0, upper=0.0)])
        m.band = row_family(m.T, rows=[Rows(hours, [Term([m.g["b", t] for t in hours]), Term(m.fixed, 2.0)],
                                            lower=5.0, upper=np.arange(6) + 80.0)])
    else:
        m.cap = pyo.Constraint(m.K, m.T, rule=lambda m, k, t: m.g[k, t] <= size[k] * cf[t] * m.units[k])
        m.state = pyo.Constraint(m.T, rule=lambda m, t: m.s[t] == m.s[prev[t]] + 0.9 * m.g["a", t])
        m.band = pyo.Constraint(m.T, rule=lambda m, t: pyo.inequality(5.0, m.g["b", t] + 2.0 * m.fixed, t + 80.0))
    m.demand = pyo.Constraint(m.T, rule=lambda m, t: sum(m.g[k, t] for k in m.K) >= 20 + t)
    m.obj = pyo.Objective(expr=sum(m.g.values()) + 100 * sum(m.n.values()))
    return m


def test_rows_given_as_arrays_compile_as_the_same_rows_written_by_rules():
    arrays, rules = _families(True), _families(False)
    assert_same_form(arrays)  # Pyomo's compiler reads them through each row's expression
    for change in (lambda m: m.n["a"].fix(2), lambda m: m.band[3].deactivate(), lambda m: m.fixed.fix(50.0)):
        for model in (arrays, rules):  # a design fixed after the rows are built (a committed plan), a row left out
            change(model)
        ours, theirs = linear_form(arrays), linear_form(rules)
        assert [v.name for v in ours.columns] == [v.name for v in theirs.columns]
        assert [r.name for r in ours.rows] == [r.name for r in theirs.rows]
        assert (ours.A != theirs.A).nnz == 0
        assert np.array_equal(ours.row_lower, theirs.row_lower) and np.array_equal(ours.row_upper, theirs.row_upper)
    assert "band[3]" not in [r.name for r in ours.rows]
    row = arrays.cap["b", 4]  # a row is a constraint like any other: its index, name and expression
    assert row.index() == ("b", 4) and row.name == "cap[b,4]"
    assert pyo.value(row.upper) == pytest.approx(25.0 * 0.74) and "g[b,4]" in str(row.expr)  # the units built' constant moved across
    arrays.n["b"].fix(0)
    arrays.g["b", 4].fix(30.0)  # 30 <= 25 x 0.74 x 1: a row of numbers that cannot hold
    with pytest.raises(InfeasibleConstraintException, match=r"cap\[b,4\]"):
        linear_form(arrays)


def test_a_compiled_form_keeps_its_model_alive():
    """Pyomo's variables name their components only weakly: a compiled form held without its
    model (as a test fixture did) must still tell each column's component after a collection."""
    import gc

    def compiled_alone() -> Compiled:
        m = pyo.ConcreteModel()
        m.T = pyo.RangeSet(0, 2)
        m.x = pyo.Var(m.T, bounds=(0, 1))
        m.c = pyo.Constraint(expr=sum(m.x[t] for t in m.T) >= 1)
        m.o = pyo.Objective(expr=sum(m.x[t] for t in m.T))
        return Compiled(m)

    compiled = compiled_alone()
    gc.collect()
    assert all(v.parent_component() is not None for v in compiled.columns)
    assert compiled.components(("x",)).all()
