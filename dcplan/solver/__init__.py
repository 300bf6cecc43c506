"""Hand a Pyomo model to HiGHS (through highspy) and solve it.

The model is compiled once into sparse matrices with Pyomo's linear standard-form compiler and
passed to HiGHS in one call. Planning models have few integer decisions (GPU purchase units, gas
unit counts, the cooling choice) on top of a large LP of operations; the strategies:

- ``decompose``: Benders decomposition, design in a small master, the dispatch in a
  warm-started subproblem (:mod:`dcplan.solver.benders`); what ``auto`` picks for a plan with
  integers (a full year or typical days, one period or a build-out's), whose dispatch LP with
  the design fixed solves many times faster than the whole LP;
- ``branch_and_bound``: a compact branch-and-bound over few integers with warm-started LP
  re-solves (models without a dispatch part, with at most ``BRANCH_AND_BOUND_MAX_INTEGERS``);
- ``highs_mip``: HiGHS's own MIP solver (what ``auto`` picks for many integers without a
  dispatch part, a gap finer than the decomposition's cuts hold, or a model whose coarser
  version had no plan), started from a plan where one is known.

All stop at the requested relative gap or time limit and report what they got; when the
decomposition does not converge it hands its best plan to HiGHS's MIP solver as a start.
"""

from __future__ import annotations

# isort: off
import dcplan.solver.without_scipy_extras  # noqa: F401  (before SciPy is imported: see there)
# isort: on

import dataclasses
import math
import time
from dataclasses import dataclass

import highspy
import numpy as np
import pyomo.core as pyo
from pyomo.common.errors import InfeasibleConstraintException

from dcplan.choices import STRATEGIES
from dcplan.solver.benders import decompose, dispatch_with_integers
from dcplan.solver.branch import branch_and_bound, highs_mip
from dcplan.solver.commitment import CommitmentBound
from dcplan.solver.highs import (
    GRACE_S,
    LP_FEASIBILITY_TOLERANCE,
    MIP_FEASIBILITY_TOLERANCE,
    Compiled,
    Deadline,
    Progress,
    SolveOptions,
    SolveResult,
    Status,
    new_highs,
    relative_gap,
)
from dcplan.solver.lagrangian import lagrangian_bound, linking_rows

__all__ = ["STRATEGIES", "Conflict", "SolveOptions", "SolveResult", "irreducible_conflict", "solve"]

BRANCH_AND_BOUND_MAX_INTEGERS = 16  # beyond this, HiGHS (presolve, cuts, heuristics) wins
PRICED_SHARE = 0.75
PRICED_MAX_S = 120.0
"""The priced MIP (:mod:`dcplan.solver.lagrangian`) may take this share of the time left (at most
PRICED_MAX_S, and at least the loop's time) before HiGHS's MIP on the whole model gets the rest.
On every held-out draw where that whole MIP closed the gap, the priced MIP (a relaxation of it
with fewer integers and no rows over time) closed it sooner: r2026_10 4.7 s against 20 s,
r2051_11 9.9 s against 48 s, r2053_10 62 s against 118 s (with 15 s it stopped short, and the
plan missed PyPSA's 115 s); where it did not, neither did the whole MIP in minutes (9 draws)."""
DECOMPOSE_MIN_GAP = 1e-6  # seen: a plan 2e-6 above the optimum when 1e-9 was asked
DECOMPOSE_MIN_OPERATIONAL = 15_000
"""Operational columns from which ``auto`` decomposes a model without integers (below, one LP): a
year of hourly dispatch has 40-80k, a dozen typical days a few thousand, whose whole LP solves in
well under a second. A model with integers is decomposed whatever its size, start plan or not:
on 29 random build-outs on typical days (benchmarks/buildouts.py, seeds 2067-2068) the
decomposition took 0.03-1.08x the time of HiGHS's MIP on the whole model (31 s -> 0.9 s), and on
8 of the suite's full years without a start 0.01-0.4x (r2066_09: HiGHS's MIP not done in 90 s,
0.9 s). Below it too, a decomposed plan whose prices are wanted is re-solved at its vertex
(:func:`_at_vertex`)."""
LP_DUAL_EDGE_WEIGHTS = 1
"""HiGHS's dual simplex prices by Devex on a model without integers (strategy ``lp``: chiefly the
smoothing's whole traces, a plan's models having whole units), not by its default dual steepest edge: on
24 random jobs of 2-5 minutes at 100 ms (``benchmarks/smooth_direct.py``, seeds 12 and 13) a
median 0.84 and 0.94 of the time, the worst 1.15, 15 and 17 % less in all."""
VERTEX_ROUND_OFF = 1e-9  # the plan's vertex may cost this much more (relative): the two LPs' round-off
HELD_TOLERANCE_MAX = 1e-4  # a hundred times the MIP's: a plan that misses by more is not held to it


@dataclass
class Conflict:
    """An irreducible infeasible subset of a model's LP relaxation: remove any one of these rows
    or bounds and the rest can hold together."""

    rows: list  # Pyomo constraint data
    bounds: list[tuple[object, str]]  # (Pyomo variable, "lower" | "upper" | "both")


def irreducible_conflict(model: pyo.ConcreteModel) -> Conflict | None:
    """HiGHS's IIS of the LP relaxation, or None when the relaxation is feasible (the conflict
    is then in the integers) or HiGHS finds none."""
    compiled = Compiled(model)
    h = new_highs()
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


def solve(model: pyo.ConcreteModel, options: SolveOptions | None = None, operational=None,
          start: dict | None = None, suspect_infeasible: bool = False, relaxed_away=None,
          couples_steps=None, negligible: dict[int, float] | None = None) -> SolveResult:
    """Solve ``model`` to ``options.mip_gap``. ``operational(var) -> bool`` tells the dispatch
    columns from the design ones (without it the model is not decomposed); ``start`` maps
    variable names to the values of a plan to try first (e.g. from typical days);
    ``suspect_infeasible``: a coarser model had no plan, so ``auto`` leaves the model whole;
    ``relaxed_away(var) -> bool``: operational integers whose LP relaxation the model's other
    rows imply, which the decomposition's relaxed dispatch leaves out with their rows.
    ``negligible``: id of a design variable -> the amount below which the plan would rather have
    none (a 0.1 kW battery): tried at zero by the decomposition and at the plan's vertex, and kept
    so where the plan stays within the gap and each step costs at most a tenth of it more (not by
    ``lp``, ``branch_and_bound`` or ``highs_mip``, whose plans are vertices of the whole model)."""
    options = options or SolveOptions()
    if options.strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {options.strategy!r}: one of {', '.join(STRATEGIES)}")
    t0 = time.perf_counter()
    progress = Progress(options, t0)
    deadline = Deadline(options.time_limit_s, t0, options.stop)
    if deadline.passed:  # compiling a year takes a second: not when no time is left to solve it
        return SolveResult("no_solution", message="time limit")
    progress.report("compiling model")
    try:
        compiled = Compiled(model)
    except InfeasibleConstraintException as err:  # fixed variables already break a row
        return SolveResult("infeasible", message=str(err), compile_seconds=time.perf_counter() - t0)
    compile_seconds = time.perf_counter() - t0
    op_mask = _component_mask(compiled, operational)
    strategy = _choose(options.strategy, compiled, op_mask)
    if strategy == "decompose" and options.strategy == "auto" and (options.mip_gap < DECOMPOSE_MIN_GAP
                                                                    or suspect_infeasible):
        # the loop's cuts carry the dispatch LP's tolerances, so a gap finer than they allow is
        # left to the whole model; and HiGHS's presolve and LP prove infeasibility fastest
        strategy = "highs_mip"
    t_solve = time.perf_counter()
    basis, duals, x, held = None, None, None, None  # held: negligible amounts the vertex holds at zero
    lp_options = options  # those of the LPs around the plan: see held_to
    if strategy == "decompose":
        start_x = _start_vector(compiled, start, op_mask)
        away = _component_mask(compiled, relaxed_away)
        away = None if away is None else away & op_mask & compiled.integer & (compiled.cost == 0) & (compiled.col_lower == 0)
        small = _negligible_below(compiled, negligible, op_mask)
        result, x, duals = _decomposed(compiled, op_mask, options, deadline, progress, start_x, away, couples_steps,
                                       small)
        if (x is not None and options.duals and result.status == "optimal" and not deadline.passed
                and op_mask.sum() < DECOMPOSE_MIN_OPERATIONAL):
            progress.report("the plan's vertex")
            lp_options = held_to(options, compiled, x, away)
            x, basis, held = _at_vertex(compiled, x, result, lp_options, deadline, small)
    else:
        h = new_highs(options)
        progress.attach(h)
        if strategy == "lp":
            h.setOptionValue("simplex_dual_edge_weight_strategy", LP_DUAL_EDGE_WEIGHTS)
        if strategy == "highs_mip":
            result, x = highs_mip(h, compiled, options, deadline, progress, _start_vector(compiled, start, op_mask))
        else:
            result, x, basis = branch_and_bound(h, compiled, options, deadline, progress)
            if strategy == "lp" and x is not None:
                duals = np.array(h.getSolution().row_dual)
    result.strategy = strategy
    result.compile_seconds = compile_seconds
    result.integer_columns = int(compiled.integer.sum())
    result.columns, result.rows = compiled.shape[1], compiled.shape[0]
    if x is not None:
        compiled.store(x)
        if options.duals and result.status == "optimal":
            if duals is None or (strategy != "lp" and result.integer_columns):
                progress.report("shadow prices")
                duals = _duals_at(compiled, x, lp_options, basis, held) if strategy != "decompose" or basis is not None \
                    else duals
            result.row_duals = duals
        result.row_index = compiled.row_index
    result.solve_seconds = time.perf_counter() - t_solve
    if deadline.stop is not None and deadline.stop.is_set() and result.status in ("time_limit", "no_solution"):
        result.message = "stopped"
    return result


def _choose(strategy: str, compiled: Compiled, op_mask: np.ndarray | None) -> str:
    n_int = int(compiled.integer.sum())
    if n_int == 0 and (strategy == "auto" and (op_mask is None or op_mask.sum() < DECOMPOSE_MIN_OPERATIONAL)):
        return "lp"
    if strategy == "decompose" and op_mask is None:
        return "highs_mip" if n_int > BRANCH_AND_BOUND_MAX_INTEGERS else "branch_and_bound"
    if strategy != "auto":
        return strategy
    if op_mask is not None and op_mask.any() and (~op_mask).any():
        return "decompose"
    return "branch_and_bound" if n_int <= BRANCH_AND_BOUND_MAX_INTEGERS else "highs_mip"


def _component_mask(compiled: Compiled, predicate, rows: bool = False) -> np.ndarray | None:
    """Columns (``rows``: rows) whose Pyomo component ``predicate`` holds for (None without a
    predicate)."""
    if predicate is None:
        return None
    items = compiled.rows if rows else compiled.columns
    cache: dict[int, bool] = {}
    mask = np.empty(len(items), dtype=bool)
    for i, item in enumerate(items):
        comp = item.parent_component()
        key = id(comp)
        if key not in cache:
            cache[key] = bool(predicate(comp))
        mask[i] = cache[key]
    return mask


def _negligible_below(compiled: Compiled, negligible: dict[int, float] | None, op_mask: np.ndarray) -> np.ndarray | None:
    """Each column's amount below which it is negligible (0: none is), from ``negligible`` (see
    :func:`solve`); None without any. Design columns only: a year's dispatch is not looked up."""
    if not negligible:
        return None
    below = np.zeros(len(compiled.columns))
    for i in np.flatnonzero(~op_mask):
        below[i] = negligible.get(id(compiled.columns[i]), 0.0)
    return below if below.any() else None


def _start_vector(compiled: Compiled, start: dict | None, op_mask: np.ndarray | None) -> np.ndarray | None:
    """The start plan as a column vector (0 for what it does not name), or None. A start names
    design variables only, so with ``op_mask`` only the design columns are looked up (a name
    costs microseconds, and a year has tens of thousands of dispatch columns)."""
    if not start:
        return None
    x = np.zeros(len(compiled.columns))
    for i in np.flatnonzero(~op_mask) if op_mask is not None else range(len(x)):
        x[i] = start.get(compiled.columns[i].name, 0.0)
    return x


def _decomposed(compiled, op_mask, options, deadline, progress, start, relaxed_away=None, couples_steps=None,
                small=None):
    """Benders, then the operational integers (and a bound on them where the loop's is too low),
    then (only if the gap is still open) HiGHS's MIP from the best plan. ``couples_steps``: see
    :func:`solve`; ``small``: see :func:`_negligible_below`. Returns (result, x, row duals)."""
    op_integer = compiled.integer & op_mask
    # with hourly commitment, the loop (which relaxes it) leaves nine tenths of the gap to it
    loop_options = dataclasses.replace(options, mip_gap=options.mip_gap / 10) if op_integer.any() else options
    loop_started = time.perf_counter()
    out = decompose(compiled, op_mask, loop_options, deadline, progress, start, relaxed_away, small)
    loop_seconds = time.perf_counter() - loop_started
    info = dict(lp_solves=out.sub_solves, nodes=out.rounds)
    if out.status in ("infeasible", "no_solution") or (out.x is None and deadline.passed):
        status = out.status if out.status != "handover" else "no_solution"
        message = out.message or ("time limit" if deadline.passed else "")
        return SolveResult(status, bound=out.bound, message=message, **info), None, None
    x, objective, duals = out.x, out.objective, out.row_duals
    if x is not None and op_integer.any():
        progress.report("unit commitment of the plan's design")
        options = held_to(options, compiled, x, relaxed_away)
        allowed = max(options.mip_gap * abs(objective) - (objective - out.bound), 0.0) / 2 if out.bound is not None else 0.0
        commit_by, commit_options = deadline, options
        if deadline.stop is not None and deadline.stop.is_set():
            # stopped (Ctrl-C keeps the plan): the loop's design is no plan until its units are
            # committed hour by hour, which gets a short grace (a second Ctrl-C quits)
            commit_by = Deadline(GRACE_S, time.perf_counter())
            commit_options = dataclasses.replace(options, stop=None)
        committed = dispatch_with_integers(compiled, op_mask, x, commit_options, commit_by, abs_gap=allowed,
                                           cap_s=max(5.0, loop_seconds), relaxed=True)  # no longer than the loop took
        duals = None
        if committed[1] is None:
            out.status, x = "handover", None
        else:
            objective, x = _bound_commitment(compiled, op_mask, couples_steps, out, *committed, options, deadline,
                                             progress, loop_seconds)
    if out.status == "optimal" and x is not None and (_gap(objective, out.bound) or 0.0) <= options.mip_gap:
        return SolveResult("optimal", objective, out.bound, _gap(objective, out.bound), **info), x, duals
    if deadline.passed:
        if x is None:
            return SolveResult("no_solution", bound=out.bound, message="time limit", **info), None, None
        return SolveResult("time_limit", objective, out.bound, _gap(objective, out.bound),
                           message="time limit reached", **info), x, duals
    # not converged: the monolithic MIP finishes, from the best plan found
    h = new_highs(options)
    progress.attach(h)
    result, x_mip = highs_mip(h, compiled, options, deadline, progress, x)
    result.lp_solves += out.sub_solves
    if x_mip is None and x is not None and result.status != "infeasible":
        return SolveResult("time_limit", objective, out.bound, _gap(objective, out.bound),
                           message="time limit reached", **info), x, None
    if result.status == "time_limit" and out.bound is not None and (result.bound is None or result.bound < out.bound):
        result.bound = out.bound  # the loop's bound holds for the same model: the better of the two
        result.gap = _gap(result.objective, out.bound)
    return result, x_mip, None


def held_to(options: SolveOptions, compiled: Compiled, x: np.ndarray, away: np.ndarray | None) -> SolveOptions:
    """``options`` with feasibility tolerances that the plan ``x`` meets (twice its worst row's
    miss, HELD_TOLERANCE_MAX at most), where it misses a row by more than HiGHS's LP tolerance;
    rows on columns ``away`` (relaxed away: see :func:`solve`) are not counted.
    The loop accepts a design at its dispatch LP's tolerance, which HiGHS applies to the scaled
    rows, so a row can miss by more in its own units (held-out r2047_10: a balance row 6.1e-6 MW
    short in one hour, the battery and every unit at their limits). Held to HiGHS's own
    tolerances, the steps that fix that design (its commitment, the prices of its dispatch) find
    it infeasible and HiGHS's MIP starts over from nothing (0.56 % above the optimum at 60 s)."""
    activity = compiled.A @ x
    miss = np.maximum(compiled.row_lower - activity, activity - compiled.row_upper)
    if away is not None and away.any():
        miss[np.diff(compiled.A[:, np.flatnonzero(away)].tocsr().indptr) > 0] = 0.0
    miss = float(np.max(miss, initial=0.0))
    if miss <= LP_FEASIBILITY_TOLERANCE:
        return options
    return dataclasses.replace(options, feasibility_tolerance=min(max(2 * miss, MIP_FEASIBILITY_TOLERANCE),
                                                                  HELD_TOLERANCE_MAX))


def _bound_commitment(compiled, op_mask, couples_steps, out, objective, x, options, deadline, progress, loop_seconds):
    """Where the loop's bound (the relaxed commitment's) is more than the gap below the committed
    plan: partial MIPs over the hours that commitment changes where the dispatch falls apart into
    hours (for about as long as the loop took), then the MIP with the rows over time priced (see
    PRICED_SHARE), whose own design, where it is not the plan's, is committed too (a better plan
    perhaps); what is left to HiGHS's MIP on the whole model. Raises ``out.bound``; returns the best
    plan found, (objective, x)."""
    def still_open() -> bool:
        return out.bound is not None and (_gap(objective, out.bound) or 0.0) > options.mip_gap and not deadline.passed

    if out.relaxation is not None and still_open():
        progress.report("unit commitment: bounding the committed hours")
        proof = CommitmentBound(out.relaxation)
        if proof.applies:
            bound, objective, x = proof.prove(x, objective, options, deadline, cap_s=loop_seconds + 1.0)
            out.bound = max(out.bound, bound if bound is not None else -math.inf)
    if still_open():
        progress.report("unit commitment: bounding the plan with rows over time priced")
        target = objective - 0.99 * options.mip_gap * abs(objective)  # (a hundredth for round-off)
        linking = linking_rows(compiled, op_mask, _component_mask(compiled, couples_steps, rows=True))
        bound, other = lagrangian_bound(compiled, op_mask, linking, x, target, options, deadline,
                                        cap_s=max(loop_seconds, min(PRICED_SHARE * deadline.remaining(), PRICED_MAX_S)),
                                        cuts=out.cuts)
        out.bound = max(out.bound, bound if bound is not None else -math.inf)
        if other is not None and still_open():
            progress.report("unit commitment of the priced MIP's design")
            allowed = max(options.mip_gap * abs(objective) - (objective - out.bound), 0.0) / 2
            cost, committed = dispatch_with_integers(compiled, op_mask, other, options, deadline, abs_gap=allowed,
                                                     cap_s=max(5.0, loop_seconds), relaxed=True)
            if cost is not None and cost < objective:
                objective, x = cost, committed
    return objective, x


def _gap(objective: float, bound: float | None) -> float | None:
    return None if bound is None else relative_gap(objective, bound)


def _at_vertex(compiled: Compiled, x: np.ndarray, result: SolveResult, options: SolveOptions,
               deadline: Deadline, small: np.ndarray | None = None):
    """The plan's integers with the rest re-solved as one LP: the decomposition's plan is
    optimal to the gap but need not be a vertex, so a cap that binds may show a few parts per
    million of slack and no shadow price (a 25 % renewable share met at 25.0002 %). Only for a
    model whose whole LP is cheap (see DECOMPOSE_MIN_OPERATIONAL). ``small`` (see
    :func:`_negligible_below`): the negligible amounts the plan has, and those it has none of, are
    held at zero too (a vertex may hold such dust of its own) where that costs at most a tenth of
    the gap more than the plan, else the LP is solved again without. Returns (x, the LP's basis,
    the columns held at zero or None), ``result``'s objective, bound and gap updated; (x, None,
    None) where the LP does worse than the plan beyond round-off, or would leave the gap wider
    than asked."""
    held = None if small is None else (small > 0) & (x < small)
    if held is not None and held.any():
        found = _vertex_lp(compiled, x, result, options, deadline, compiled.integer | held, options.mip_gap / 10)
        if found is not None:
            return *found, held
    return *(_vertex_lp(compiled, x, result, options, deadline, compiled.integer, VERTEX_ROUND_OFF) or (x, None)), None


def _vertex_lp(compiled, x, result, options, deadline, fix: np.ndarray, allowed: float):
    """The LP around ``x`` with the columns ``fix`` held at its values, rounded (see
    :func:`_at_vertex`): (x, basis) with ``result`` updated, or None where it costs more than
    ``allowed`` (relative) over the plan or leaves the gap wider than asked."""
    h = _lp_around(compiled, x, options, fix, deadline=deadline)
    if h.getModelStatus() != Status.kOptimal:
        return None
    objective = h.getInfo().objective_function_value
    if objective > result.objective + allowed * max(1.0, abs(result.objective)):
        return None
    if result.bound is not None and _gap(objective, result.bound) > options.mip_gap >= (result.gap or 0.0):
        return None
    result.objective = objective
    if result.bound is not None:
        result.bound = min(result.bound, objective)
    result.gap = _gap(result.objective, result.bound)
    return np.array(h.getSolution().col_value), h.getBasis()


def _duals_at(compiled: Compiled, x: np.ndarray, options: SolveOptions, basis=None,
              held: np.ndarray | None = None) -> np.ndarray | None:
    """Row duals of the LP around the plan: structural integers (cooling choice, unit counts)
    fixed at their values in ``x``, the integer components named in ``options.relax_for_duals``
    (GPU purchase units) left continuous so that limits on them have a marginal value, and the
    negligible amounts the plan holds at zero (``held``, see :func:`_at_vertex`) held there, so
    that the prices are this plan's. Starts from the plan's own basis when there is one."""
    fix = compiled.integer & ~compiled.components(options.relax_for_duals)
    h = _lp_around(compiled, x, options, fix if held is None else fix | held, basis)
    if h.getModelStatus() != Status.kOptimal:
        return None
    return np.array(h.getSolution().row_dual)


def _lp_around(compiled: Compiled, x: np.ndarray, options: SolveOptions, fix: np.ndarray, basis=None,
               deadline: Deadline | None = None) -> highspy.Highs:
    """The model's LP with the columns ``fix`` held at their values in ``x`` (rounded), solved
    (from ``basis`` where one is given; until ``deadline`` where one is given)."""
    h = new_highs(options)
    if deadline is not None:
        deadline.arm(h)
    lp = compiled.lp(integral=False)
    lower, upper = compiled.col_lower.copy(), compiled.col_upper.copy()
    lower[fix] = upper[fix] = np.round(x[fix])
    lp.col_lower_, lp.col_upper_ = lower, upper
    h.passModel(lp)
    if basis is not None and basis.valid:
        h.setBasis(basis)
    h.run()
    return h
