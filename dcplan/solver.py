"""Hand a Pyomo model to HiGHS (through highspy) and solve it.

The model is compiled once into sparse matrices with Pyomo's linear standard-form compiler and
passed to HiGHS in one call, which is far faster than a row-by-row hand-off. Planning models
have few integer decisions (GPU purchase units, gas unit counts, the cooling choice) on top of a
large hourly LP, so by default they are solved by a compact branch-and-bound over those decisions
with warm-started LP re-solves; models with many integers (hourly unit commitment) go to HiGHS's
own MIP solver. Both stop at the requested relative gap or time limit and report what they got.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import highspy
import numpy as np
import pyomo.environ as pyo
import scipy.sparse  # noqa: F401  (Pyomo imports it lazily; keep that out of compile timings)
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

INF = highspy.kHighsInf
BRANCH_AND_BOUND_MAX_INTEGERS = 16  # beyond this, HiGHS (presolve, cuts, heuristics) wins
INTEGRALITY_TOL = 1e-6


@dataclass
class SolveOptions:
    time_limit_s: float | None = None
    mip_gap: float = 1e-4
    strategy: str = "auto"  # "auto" | "branch_and_bound" | "highs_mip"
    progress: Callable[[str, float, float | None], None] | None = None  # (phase, elapsed s, gap)
    threads: int | None = None
    duals: bool = False  # compute row duals (shadow prices) for the plan found
    relax_for_duals: tuple[str, ...] = ("gpu_units",)  # integer components left free for the duals


@dataclass
class SolveResult:
    status: str  # optimal | time_limit (a plan, gap open) | infeasible | unbounded | no_solution | error
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    strategy: str = ""
    compile_seconds: float = 0.0
    solve_seconds: float = 0.0
    lp_solves: int = 0
    nodes: int = 0
    integer_columns: int = 0
    columns: int = 0
    rows: int = 0
    message: str = ""
    row_duals: np.ndarray | None = field(default=None, repr=False)  # with integers fixed at the plan
    row_index: dict = field(default_factory=dict, repr=False)  # id(constraint) -> row

    def dual(self, constraint) -> float | None:
        """Marginal change of the objective per unit increase of the constraint's bound."""
        row = self.row_index.get(id(constraint))
        if row is None or self.row_duals is None:
            return None
        return float(self.row_duals[row])

    @property
    def has_solution(self) -> bool:
        return self.status in ("optimal", "time_limit")


class _Compiled:
    """The model as HiGHS arrays, with the map back to Pyomo variables."""

    def __init__(self, model: pyo.ConcreteModel):
        repn = LinearStandardFormCompiler().write(model, mixed_form=True, set_sense=None)
        self.columns = repn.columns
        self.offset = float(repn.c_offset[0]) if len(repn.c_offset) else 0.0
        A = repn.A.tocsc()
        self.A = A
        self.cost = np.asarray(repn.c.toarray()).ravel() if repn.c.shape[0] else np.zeros(A.shape[1])
        self.col_lower = np.array([-INF if v.lb is None else v.lb for v in self.columns], dtype=float)
        self.col_upper = np.array([INF if v.ub is None else v.ub for v in self.columns], dtype=float)
        self.integer = np.array([v.is_integer() or v.is_binary() for v in self.columns], dtype=bool)
        self.row_index = {id(r.constraint): i for i, r in enumerate(repn.rows)}
        self.rows = [r.constraint for r in repn.rows]
        sense = np.array([r.bound_type for r in repn.rows], dtype=int)
        rhs = np.asarray(repn.rhs, dtype=float)
        self.row_lower = np.where(sense <= 0, rhs, -INF)
        self.row_upper = np.where(sense >= 0, rhs, INF)

    def lp(self, integral: bool) -> highspy.HighsLp:
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = self.A.shape[1], self.A.shape[0]
        lp.col_cost_, lp.offset_ = self.cost, self.offset
        lp.col_lower_, lp.col_upper_ = self.col_lower, self.col_upper
        lp.row_lower_, lp.row_upper_ = self.row_lower, self.row_upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = self.A.indptr
        lp.a_matrix_.index_ = self.A.indices
        lp.a_matrix_.value_ = self.A.data
        if integral:
            lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                               for i in self.integer]
        return lp

    def store(self, x: np.ndarray) -> None:
        for var, value in zip(self.columns, x):
            var.set_value(float(value), skip_validation=True)


def value_of(x) -> float:
    """A solved variable or expression as a float (0 where it has no value)."""
    value = pyo.value(x, exception=False)
    return 0.0 if value is None else float(value)


@dataclass
class Conflict:
    """An irreducible infeasible subset of a model's LP relaxation: remove any one of these rows
    or bounds and the rest can hold together."""

    rows: list  # Pyomo constraint data
    bounds: list[tuple[object, str]]  # (Pyomo variable, "lower" | "upper" | "both")


def irreducible_conflict(model: pyo.ConcreteModel) -> Conflict | None:
    """HiGHS's IIS of the LP relaxation, or None when the relaxation is feasible (the conflict
    is then in the integers) or HiGHS finds none."""
    compiled = _Compiled(model)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    # from the LP's infeasibility proof, then made irreducible: the default may stop empty, and
    # the irreducible filter alone deletes row by row (minutes on a build-out)
    h.setOptionValue("iis_strategy", int(highspy.IisStrategy.kIisStrategyFromLp)
                     | int(highspy.IisStrategy.kIisStrategyIrreducible))
    h.passModel(compiled.lp(integral=False))
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kInfeasible:
        return None
    status, iis = h.getIis()
    if status != highspy.HighsStatus.kOk or not iis.valid_:
        return None
    bound = highspy.IisBoundStatus
    which = {int(bound.kIisBoundStatusLower): "lower", int(bound.kIisBoundStatusUpper): "upper"}
    return Conflict([compiled.rows[i] for i in iis.row_index_],
                    [(compiled.columns[j], which.get(int(b), "both")) for j, b in zip(iis.col_index_, iis.col_bound_)])


def solve(model: pyo.ConcreteModel, options: SolveOptions | None = None) -> SolveResult:
    options = options or SolveOptions()
    start = time.perf_counter()
    progress = _Progress(options, start)
    progress.report("compiling model")
    compiled = _Compiled(model)
    compile_seconds = time.perf_counter() - start
    n_int = int(compiled.integer.sum())
    strategy = options.strategy
    if strategy == "auto":
        strategy = "branch_and_bound" if n_int <= BRANCH_AND_BOUND_MAX_INTEGERS else "highs_mip"
    if n_int == 0:
        strategy = "lp"
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    progress.attach(h)
    if options.threads:
        h.setOptionValue("threads", options.threads)
    t_solve = time.perf_counter()
    if strategy == "highs_mip":
        result, x = _highs_mip(h, compiled, options, start, progress)
    else:
        result, x = _branch_and_bound(h, compiled, options, start, progress)
    result.strategy = strategy
    result.compile_seconds = compile_seconds
    result.solve_seconds = time.perf_counter() - t_solve
    result.integer_columns = n_int
    result.columns, result.rows = compiled.A.shape[1], compiled.A.shape[0]
    if x is not None:
        compiled.store(x)
        if options.duals and n_int and result.status == "optimal":
            progress.report("shadow prices")
            result.row_duals = _duals_at(compiled, x, options.relax_for_duals)
        elif not options.duals:
            result.row_duals = None
        result.row_index = compiled.row_index
    return result


def _duals_at(compiled: _Compiled, x: np.ndarray, relax: tuple[str, ...]) -> np.ndarray | None:
    """Row duals of the LP around the plan: structural integers (cooling choice, unit counts)
    fixed at their values in ``x``, the integer components named in ``relax`` (GPU purchase
    units) left continuous so that limits on them have a marginal value."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    lp = compiled.lp(integral=False)
    lower, upper = compiled.col_lower.copy(), compiled.col_upper.copy()
    fix = compiled.integer & ~np.array([v.parent_component().local_name in relax for v in compiled.columns])
    lower[fix] = upper[fix] = np.round(x[fix])
    lp.col_lower_, lp.col_upper_ = lower, upper
    h.passModel(lp)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return np.array(h.getSolution().row_dual)


class _Progress:
    """Reports the solve's phase, elapsed time and gap to ``options.progress``: when the phase
    changes, and from inside HiGHS's simplex and MIP callbacks at most every ``every_s``
    seconds, so a long LP or MIP still shows time passing and the MIP gap."""

    def __init__(self, options: SolveOptions, start: float, every_s: float = 0.25):
        self.callback, self.start, self.every_s = options.progress, start, every_s
        self.phase, self.gap, self.last = "solving", None, 0.0

    def report(self, phase: str, gap: float | None = None) -> None:
        self.phase, self.gap = phase, gap
        if self.callback:
            self.callback(phase, time.perf_counter() - self.start, gap)

    def attach(self, h) -> None:
        if self.callback:
            h.cbSimplexInterrupt += self._tick
            h.cbMipInterrupt += self._tick

    def _tick(self, event) -> None:
        now = time.perf_counter()
        if now - self.last < self.every_s:
            return
        self.last = now
        gap = self.gap
        if event.callback_type == highspy.cb.HighsCallbackType.kCallbackMipInterrupt:
            mip_gap = event.data_out.mip_gap
            gap = mip_gap if math.isfinite(mip_gap) and mip_gap < 1e30 else None
        self.callback(self.phase, now - self.start, gap)


def _remaining(options: SolveOptions, start: float) -> float:
    if options.time_limit_s is None:
        return INF
    return max(0.0, options.time_limit_s - (time.perf_counter() - start))


# --- HiGHS MIP ---------------------------------------------------------------------------

def _highs_mip(h, compiled: _Compiled, options: SolveOptions, start: float, progress: _Progress):
    h.passModel(compiled.lp(integral=True))
    h.setOptionValue("mip_rel_gap", options.mip_gap)
    if options.time_limit_s is not None:
        h.setOptionValue("time_limit", _remaining(options, start))
    progress.report("solving (HiGHS MIP)")
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    S = highspy.HighsModelStatus
    if status == S.kInfeasible:
        return SolveResult("infeasible", lp_solves=1, message="HiGHS: infeasible"), None
    if status in (S.kUnbounded, S.kUnboundedOrInfeasible):
        return SolveResult("unbounded", message=h.modelStatusToString(status)), None
    has_x = info.primal_solution_status == 2
    if not has_x:
        kind = "no_solution" if status == S.kTimeLimit else "error"
        return SolveResult(kind, message=h.modelStatusToString(status)), None
    x = np.array(h.getSolution().col_value)
    gap = float(info.mip_gap) if math.isfinite(info.mip_gap) else None
    res = SolveResult("optimal" if status == S.kOptimal else "time_limit", info.objective_function_value,
                      info.mip_dual_bound, gap, nodes=int(info.mip_node_count),
                      message=h.modelStatusToString(status))
    return res, x


# --- branch and bound over few integers --------------------------------------------------

class _Node:
    __slots__ = ("lower", "upper", "bound", "depth")

    def __init__(self, lower, upper, bound, depth):
        self.lower, self.upper, self.bound, self.depth = lower, upper, bound, depth


def _branch_and_bound(h, compiled: _Compiled, options: SolveOptions, start: float, progress: _Progress):
    """Best-first branch-and-bound on the LP relaxation, diving depth-first until the first
    integer solution. Exact up to ``mip_gap``; each node is an LP re-solve warm-started from the
    previous basis (only integer column bounds change)."""
    h.passModel(compiled.lp(integral=False))
    idx = np.flatnonzero(compiled.integer).astype(np.int32)
    base_lower, base_upper = compiled.col_lower[idx], compiled.col_upper[idx]
    S = highspy.HighsModelStatus
    lp_solves = 0

    def solve_lp(lower, upper):
        nonlocal lp_solves
        if len(idx):
            h.changeColsBounds(len(idx), idx, lower, upper)
        remaining = _remaining(options, start)
        if remaining <= 0:
            return "time", None, None
        h.setOptionValue("time_limit", float(remaining) if math.isfinite(remaining) else INF)
        h.run()
        lp_solves += 1
        status = h.getModelStatus()
        if status == S.kOptimal:
            return "ok", h.getInfo().objective_function_value, np.array(h.getSolution().col_value)
        if status == S.kInfeasible:
            return "infeasible", None, None
        if status in (S.kUnbounded, S.kUnboundedOrInfeasible):
            return "unbounded", None, None
        if status == S.kTimeLimit:
            return "time", None, None
        return "error:" + h.modelStatusToString(status), None, None

    progress.report("solving LP relaxation")
    state, root_obj, x = solve_lp(base_lower.copy(), base_upper.copy())
    if state == "infeasible":
        return SolveResult("infeasible", lp_solves=lp_solves, message="the LP relaxation is infeasible"), None
    if state == "unbounded":
        return SolveResult("unbounded", lp_solves=lp_solves), None
    if state != "ok":
        return SolveResult("no_solution" if state == "time" else "error", lp_solves=lp_solves,
                           message=state), None
    if not len(idx):
        return SolveResult("optimal", root_obj, root_obj, 0.0, lp_solves=lp_solves,
                           row_duals=np.array(h.getSolution().row_dual)), x

    incumbent_obj, incumbent_x = math.inf, None
    open_nodes = [_Node(base_lower.copy(), base_upper.copy(), root_obj, 0)]
    first = (root_obj, x)
    nodes = 0
    timed_out = False

    def tolerance(obj):
        return options.mip_gap * max(abs(obj), 1.0)

    while open_nodes:
        if incumbent_x is None:
            node = open_nodes.pop()  # dive: last pushed (the preferred child) first
        else:
            best = min(range(len(open_nodes)), key=lambda i: open_nodes[i].bound)
            node = open_nodes.pop(best)
            if node.bound >= incumbent_obj - tolerance(incumbent_obj):
                open_nodes.append(node)
                break
        if first is not None:
            (obj, x), first = first, None
        else:
            gap = _gap(incumbent_obj, min([node.bound] + [n.bound for n in open_nodes])) if incumbent_x is not None else None
            progress.report(f"branch and bound: node {nodes + 1}" + ("" if incumbent_x is not None else ", diving"), gap)
            state, obj, x = solve_lp(node.lower, node.upper)
            nodes += 1
            if state == "time":
                open_nodes.append(node)
                timed_out = True
                break
            if state != "ok":
                continue
        if obj >= incumbent_obj - tolerance(incumbent_obj):
            continue
        values = x[idx]
        frac = np.abs(values - np.round(values))
        fractional = np.flatnonzero(frac > INTEGRALITY_TOL * np.maximum(1.0, np.abs(values)))
        if not fractional.size:
            incumbent_obj, incumbent_x = obj, x.copy()
            incumbent_x[idx] = np.round(values)
            gap = _gap(incumbent_obj, min([n.bound for n in open_nodes], default=incumbent_obj))
            progress.report("branch and bound: improved plan", gap)
            continue
        # branch on the most fractional, binaries (range 1) first: they are the structural choices
        ranges = node.upper[fractional] - node.lower[fractional]
        order = np.lexsort((-frac[fractional], ranges > 1))
        j = fractional[order[0]]
        value = values[j]
        down = _Node(node.lower.copy(), node.upper.copy(), obj, node.depth + 1)
        down.upper[j] = math.floor(value)
        up = _Node(node.lower.copy(), node.upper.copy(), obj, node.depth + 1)
        up.lower[j] = math.ceil(value)
        # dive toward the rounding nearer the LP value; ties go up (covering a target)
        preferred_up = value - math.floor(value) >= 0.5
        open_nodes += [down, up] if preferred_up else [up, down]

    best_bound = min([n.bound for n in open_nodes], default=incumbent_obj)
    if incumbent_x is None:
        status = "no_solution" if timed_out else "infeasible"
        return SolveResult(status, bound=best_bound if open_nodes else None, lp_solves=lp_solves, nodes=nodes,
                           message="time limit before an integer plan was found" if timed_out
                           else "no integer plan satisfies the limits"), None
    best_bound = min(best_bound, incumbent_obj)
    gap = _gap(incumbent_obj, best_bound)
    status = "time_limit" if timed_out else "optimal"
    # restore the incumbent's LP so the stored solution is exactly consistent
    fixed = incumbent_x[idx]
    state, obj, x = solve_lp(fixed, fixed)
    if state == "ok":
        incumbent_x, incumbent_obj = x, obj
    return SolveResult(status, incumbent_obj, best_bound, gap, lp_solves=lp_solves, nodes=nodes,
                       message="time limit reached" if timed_out else ""), incumbent_x


def _gap(obj: float, bound: float) -> float:
    return max(0.0, (obj - bound) / max(abs(obj), 1e-9))
