"""Solving a smoothing model: how (:class:`Strategy`), with what (:class:`Context`), to what
(:class:`Outcome`), and the LP runs that the strategies share."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import highspy
import numpy as np

from dcplan.smoothing.bound import Marginals
from dcplan.smoothing.model import ModelData, Profile, SmoothingModel, build
from dcplan.solver import SolveOptions, SolveResult, solve
from dcplan.solver.highs import Compiled, Deadline, new_highs


@dataclass
class Strategy:
    """How the model is solved.

    A trace that repeats exactly (a synthetic job's steady state): one period, cyclic, exact when
    the rows that reach back across its end have zero duals (``periodic``); else as below.

    Up to ``direct_max_steps`` steps: one LP (or MILP) over the whole trace, cyclic, exact.

    Longer: two levels. (1) The same model on block means of ``f`` steps (at most
    ``coarse_max_steps`` blocks; ``f`` divides the trace where it can, see ``two_level._coarse_factor``),
    with the swing window rounded down to whole blocks and per-minute rows only where 60 s is a
    whole number of blocks, the total variation's budget whole (block means vary no more than the
    steps do), and what the steps inside a block imply for its means where the load moves within
    it (``WithinBlocks``): every schedule of the full problem, averaged over blocks, satisfies it,
    so its optimum (by interior point and crossover: exact) is a lower bound and its
    infeasibility a proof (only where the blocks cover every step: steps left over are in no
    block). It fixes the GPU setting and the burn switch, and gives starting sizes and
    state-of-charge targets.
    (2) A rolling horizon at full resolution: pieces of ``piece_steps``, plus ``lookahead_steps``
    solved and discarded (default: a minute when per-minute limits are set, so that a piece
    looks as far ahead as the limits do; else half a piece). Each piece sees the grid power
    already committed before it (so ramps, swing windows and per-minute rows across the seams
    hold), starts from the state of charge where the previous piece ended, aims at the coarse
    plan's state of charge at its end, and may grow the sizes (paying only for the growth). The
    result meets every limit at full resolution; its cost is an upper bound.
    (3) The proof (:mod:`dcplan.smoothing.bound`): the whole trace's LP cut at the pieces' seams,
    each seam priced at what the pieces' own LPs say it is worth, is a sum of small LPs whose
    optima bound the whole from below; a cutting-plane model over the battery's sizes makes it
    a bound for any sizes. Where a piece's optimum is well below the schedule's cost on it, the
    schedule is planned again over that window (everything around it held); where the gap is
    still above ``target_gap``, the rolling horizon runs again (``max_rolls`` in all) with the
    battery the cuts find best, its prices adding cuts of their own. ``gap`` = (upper - lower) / upper,
    the lower the better of the coarse level's bound (where there is one) and the pieces'."""

    periodic: bool = True  # a trace that repeats exactly: one period, when certified exact
    target_gap: float = 1e-3  # two levels: above this proven gap, roll again with the cuts' best battery
    max_rolls: int = 4  # two levels: rolling horizons at most (the first one's included)
    direct_max_steps: int = 6000
    coarse_max_steps: int = 6000
    piece_steps: int = 600
    lookahead_steps: int | None = None  # default: 60 s with per-minute limits, else half a piece


@dataclass
class Context:
    data: ModelData
    battery_info: dict
    cap_capex: float
    per_step_usd: float
    options: SolveOptions
    timings: dict
    started: float  # perf_counter when smooth began: --time-limit counts from there


@dataclass
class Outcome:
    status: str
    method: dict
    solve: SolveResult | None = None
    arrays: dict[str, np.ndarray] | None = None
    profile: Profile | None = None
    burn_on: bool = False
    sizes: tuple[float, float] = (0.0, 0.0)  # battery MW, MJ
    lower_bound: float | None = None
    reasons: list[str] = field(default_factory=list)
    diagnose_data: ModelData | None = None
    seams: list[Marginals] | None = None  # two levels: the rolling horizon's pieces (a bound from them)
    plan: CoarsePlan | None = None  # two levels: what the coarse level found (to roll again)


def run_model(ctx: Context, data: ModelData, options: SolveOptions | None = None, interior: bool = False):
    """Build and solve; ``interior``: by HiGHS's interior point method (``solve_lp``) when the
    model is an LP."""
    sm = build(data)
    options = options or ctx.options
    res = solve_lp(sm, options, interior=True)[0] if interior and not sm.choice and not hasattr(sm.model, "burn_on") \
        else solve(sm.model, options)
    count_times(ctx, sm, res)
    return sm, res


def count_times(ctx: Context, sm: SmoothingModel, res: SolveResult) -> None:
    ctx.timings["build_s"] += sm.build_seconds
    ctx.timings["compile_s"] += res.compile_seconds
    ctx.timings["solve_s"] += res.solve_seconds


IPM_ITERATIONS = 500
"""Interior-point iterations before the simplex method takes over: IPX converges in tens; on a
tiny, degenerate coarse model (a property test's random trace of 23 blocks) it had iterated for
over ten minutes without a time limit to stop it."""
PRIMAL_SIMPLEX = 4
"""HiGHS's primal simplex: on the rolling horizon's pieces (a minute and its lookahead at
100 ms) a quarter faster than its default dual simplex (0.37 s against 0.49 s a piece)."""


def solve_lp(sm: SmoothingModel, options: SolveOptions,
        interior: bool = False) -> tuple[SolveResult, np.ndarray | None, Compiled]:
    """The model as an LP (its integers relaxed), with its columns' reduced costs at the
    optimum (None without one); see :func:`run_lp`."""
    t0 = time.perf_counter()
    compiled = Compiled(sm.model)
    res, x, reduced = run_lp(compiled, options, interior)
    res.compile_seconds = time.perf_counter() - t0 - res.solve_seconds
    if x is not None:
        compiled.store(x)
    return res, reduced, compiled


def run_lp(compiled: Compiled, options: SolveOptions,
            interior: bool = False) -> tuple[SolveResult, np.ndarray | None, np.ndarray | None]:
    """Solve a compiled LP: (result, column values, reduced costs), None without an optimum.
    No Pyomo object is touched, so it may run in a thread beside a model being built.
    ``interior``: by interior point with crossover to a basic optimal solution (the objective
    exact, so a bound): on the coarse level's block means about 40 % faster than the simplex
    method (the hour's 6,000 blocks: 12 s against 20 s on 2 cores); else by the primal simplex
    (:data:`PRIMAL_SIMPLEX`)."""
    t1 = time.perf_counter()
    h = new_highs(options)
    if interior:
        h.setOptionValue("solver", "ipx")
        h.setOptionValue("run_crossover", "on")
        h.setOptionValue("ipm_iteration_limit", IPM_ITERATIONS)
    else:
        h.setOptionValue("simplex_strategy", PRIMAL_SIMPLEX)
    deadline = Deadline(options.time_limit_s, t1, options.stop)
    deadline.arm(h)
    h.passModel(compiled.lp(integral=False))
    h.run()
    status = h.getModelStatus()
    if interior and status == highspy.HighsModelStatus.kIterationLimit:  # IPX stalled: the simplex method
        left = None if options.time_limit_s is None else deadline.remaining()
        res, x, reduced = run_lp(compiled, dataclasses.replace(options, time_limit_s=left))
        res.solve_seconds = time.perf_counter() - t1  # IPX's time too
        return res, x, reduced
    done = {"solve_seconds": time.perf_counter() - t1, "rows": compiled.shape[0], "columns": compiled.shape[1],
            "lp_solves": 1, "strategy": "ipx" if interior else "simplex"}
    if status != highspy.HighsModelStatus.kOptimal:
        kind = {highspy.HighsModelStatus.kInfeasible: "infeasible",
                highspy.HighsModelStatus.kTimeLimit: "no_solution"}.get(status, "error")
        return SolveResult(kind, message=h.modelStatusToString(status), **done), None, None
    solution = h.getSolution()
    value = h.getInfo().objective_function_value
    return (SolveResult("optimal", value, value, 0.0, **done), np.array(solution.col_value),
            np.array(solution.col_dual))


def time_left(ctx: Context, **changes) -> SolveOptions:
    """The solve options with what is left of --time-limit (it counts from when smooth began)."""
    limit = ctx.options.time_limit_s
    left = None if limit is None else Deadline(limit, ctx.started, ctx.options.stop).remaining()
    return dataclasses.replace(ctx.options, time_limit_s=left, **changes)


SCHEDULE = ("grid_mw", "burn_mw", "battery_charge_mw", "battery_discharge_mw", "battery_soc_mj",
            "capacitor_charge_mw", "capacitor_discharge_mw", "capacitor_soc_mj")
"""The arrays of a schedule over the trace (:func:`dcplan.smoothing.model.read`)."""


@dataclass
class CoarsePlan:
    """What the coarse level hands the rolling horizon: its choices, its state of charge at the
    end of each block (``ends``: the steps) and where it starts, its bound and result."""

    strategy: Strategy
    lookahead: int
    chosen: Profile | None
    burn_on: bool
    ends: np.ndarray
    targets: dict[str, np.ndarray]
    start: dict[str, float]
    lower: float | None  # the coarse level's bound (None: not a proven one)
    result: SolveResult
