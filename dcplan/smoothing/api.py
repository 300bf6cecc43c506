"""The smoothing library API: ``smooth(workload, spec) -> SmoothingResult``.

Steps: pick the model's time step (decimating the trace by block means when it is finer than
``resolution_s`` or longer than ``max_steps``); precompute what each GPU smoothing setting does
to the GPUs' power at the trace's own resolution; build and solve the model
(:mod:`dcplan.smoothing.model`: one period of a trace that repeats, the whole trace, or two
levels for a long one; see :class:`Strategy`); read back the schedule, the sizes, the costs and the worst
ramps and swings before and after. When the limits cannot be met, say which, from a cheap
check and from an elastic re-solve that finds the least violation.

Decimation error: the model sees block means. Within a block the raw load deviates from its
mean by at most ``decimation['ripple_mw']`` (reported); the schedule's decisions are held over
the block, so at the trace's resolution the grid sees the model's series plus that ripple: the
swing in a window can exceed the model's swing over the blocks it touches by at most twice the
ripple, and steps shorter than the model's are not constrained (that is the rack capacitors'
and power supplies' time scale). The result reports the limits re-measured at the trace's
resolution (``trace_after``); ``--resolution-s`` down to the trace's own step removes the error.
"""

from __future__ import annotations

import dataclasses
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import highspy
import numpy as np

from dcplan.catalog import builtin_catalog
from dcplan.errors import InputError, Problem
from dcplan.formulas import capital_recovery_factor
from dcplan.schema.smoothing import (
    BATTERY_CYCLE_DEPTH,
    BATTERY_CYCLE_LIFE,
    LIMIT_KEYS,
    Battery,
    Burn,
    GpuSmoothing,
    Limits,
    SmoothingSpec,
)
from dcplan.smoothing.bound import Marginals, lagrangian_bound, same_sizes
from dcplan.smoothing.limits import load_smoothing_spec, with_overrides
from dcplan.smoothing.metrics import measure, minute_lag, violations
from dcplan.smoothing.model import (
    WRAP_ROWS,
    Boundary,
    ModelData,
    Profile,
    SmoothingModel,
    Store,
    WithinBlocks,
    build,
    read,
    swing_implied,
)
from dcplan.smoothing.spectrum import band_label, variation_budget_mw
from dcplan.smoothing.workload import Workload, load_workload
from dcplan.solver import SolveOptions, SolveResult, solve
from dcplan.solver.highs import Compiled, Deadline, new_highs

DEFAULT_MIN_STEP_S = 0.1
"""Model step when the trace is finer and no resolution is asked for."""

SLACK_TOL_MW = 1e-6
WRAP_DUAL_TOL = 1e-7
"""A row whose dual is at most this (USD/year per MW) is not binding (HiGHS's dual tolerance)."""


@dataclass
class SmoothingResult:
    """What ``smooth`` found. ``schedule`` holds arrays at the model's step (``step_s``)."""

    status: str  # optimal | feasible (two-level: limits met, cost within `method['gap']` of a
    # lower bound) | time_limit | infeasible | no_solution | error
    workload: Workload
    spec: SmoothingSpec
    step_s: float
    reasons: list[str] = field(default_factory=list)
    schedule: dict[str, np.ndarray] = field(default_factory=dict)
    sizes: dict[str, float | None] = field(default_factory=dict)
    costs_usd_per_year: dict[str, float] = field(default_factory=dict)
    energy_overhead_fraction: float | None = None
    before: dict = field(default_factory=dict)
    after: dict | None = None
    trace_before: dict | None = None
    trace_after: dict | None = None
    decimation: dict = field(default_factory=dict)
    solve: SolveResult | None = None
    timings: dict[str, float] = field(default_factory=dict)
    objective_usd_per_year: float | None = None
    lower_bound_usd_per_year: float | None = None
    method: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def has_schedule(self) -> bool:
        return bool(self.schedule)

    @property
    def total_cost_usd_per_year(self) -> float | None:
        return sum(self.costs_usd_per_year.values()) if self.has_schedule else None

    @property
    def limits(self) -> Limits:
        return self.spec.limits


# --- preparation -------------------------------------------------------------------------

def _decimation(w: Workload, spec: SmoothingSpec) -> tuple[int, int]:
    """(factor, model steps): block means of ``factor`` trace steps."""
    dt = w.time_step_s
    wanted = spec.resolution_s if spec.resolution_s is not None else max(dt, DEFAULT_MIN_STEP_S)
    factor = max(1, round(wanted / dt))
    if w.steps // factor > spec.max_steps:
        factor = math.ceil(w.steps / spec.max_steps)
    steps = w.steps // factor
    if steps < 2:
        raise InputError([Problem(w.source or w.name, None, "resolution_s",
                                  f"the trace ({w.duration_s:g} s) is shorter than two model steps "
                                  f"of {factor * dt:g} s")])
    return factor, steps


def _blocks(x: np.ndarray, factor: int, steps: int) -> np.ndarray:
    return x[: steps * factor].reshape(steps, factor).mean(axis=1)


def _smoothed_gpu(gpu: np.ndarray, floor_mw: float, up_mw_per_step: float | None,
                  down_mw_per_step: float | None, hold_steps: int = 0) -> np.ndarray:
    """GPU power under the firmware's smoothing: the target is max(power, floor); the power
    rises to it no faster than the ramp-up limit; when the target falls below the power, the
    power is held for ``hold_steps`` steps (the ramp-down hysteresis; the target coming back up
    to the power restarts it) and then falls no faster than the ramp-down limit."""
    target = np.maximum(gpu, floor_mw)
    if up_mw_per_step is None and down_mw_per_step is None and hold_steps == 0:
        return target
    up = math.inf if up_mw_per_step is None else up_mw_per_step
    down = math.inf if down_mw_per_step is None else down_mw_per_step
    out = np.empty_like(target)
    prev, held = float(target[-1]), 0  # start from the end: the trace as one period of a steady state
    for _ in range(2):
        for i, want in enumerate(target.tolist()):
            if want >= prev:
                prev, held = min(want, prev + up), 0
            elif held < hold_steps:
                held += 1
            else:
                prev = max(want, prev - down)
            out[i] = prev
    return out


def _profiles(w: Workload, gs: GpuSmoothing | None, burn: Burn | None, factor: int, steps: int,
              per_step_usd: float, slowdown_usd_per_fraction: float) -> list[Profile]:
    tdp = w.tdp_mw
    gpu = w.gpu_mw[: steps * factor]
    dt = w.time_step_s
    ceiling = burn.max_power_fraction * tdp if burn is not None else None
    if gs is None:
        settings = [(0.0, None, None)]
    else:
        settings = [(f, gs.ramp_up_w_per_s, gs.ramp_down_w_per_s) for f in sorted(set(gs.floor_fractions))]
    hold_steps = round(gs.ramp_down_hysteresis_s / dt) if gs is not None else 0
    gpu_energy = float(gpu.sum())
    out: list[Profile] = []
    for floor, up, down in settings:
        q = _smoothed_gpu(gpu, floor * tdp,
                          None if up is None else up * w.gpus / 1e6 * dt,
                          None if down is None else down * w.gpus / 1e6 * dt, hold_steps)
        uplift_fine = q - gpu
        deferred = float(np.maximum(-uplift_fine, 0.0).sum())
        slowdown = deferred / gpu_energy if gpu_energy > 0 else 0.0
        room = _blocks(np.maximum(ceiling - q, 0.0), factor, steps) if ceiling is not None else None
        uplift = _blocks(uplift_fine, factor, steps)
        # deferred work is done later: its energy is still paid, and the job takes longer
        p = Profile(floor, uplift, room, slowdown, deferred / factor, per_step_usd / factor * deferred,
                    slowdown_usd_per_fraction * slowdown, up, down)
        if any(np.allclose(p.uplift_mw, o.uplift_mw, rtol=0, atol=1e-12) and p.fixed_cost_usd_per_year
               == o.fixed_cost_usd_per_year for o in out):
            continue  # a floor below every trough does what a lower one does
        out.append(p)
    return out


def _battery(b: Battery, discount_rate: float) -> tuple[Store, dict]:
    cat = builtin_catalog().storage[b.type]

    def pick(name):
        v = getattr(b, name)
        return getattr(cat, name) if v is None else v

    power_capex, energy_capex = pick("power_capex_usd_per_kw"), pick("energy_capex_usd_per_kwh")
    fom, rte, life = pick("fixed_om_usd_per_kw_year"), pick("round_trip_efficiency"), pick("lifetime_years")
    crf = capital_recovery_factor(discount_rate, life)
    wear = b.degradation_usd_per_mwh if b.degradation_usd_per_mwh is not None \
        else energy_capex * 1000.0 / (BATTERY_CYCLE_LIFE * BATTERY_CYCLE_DEPTH)
    eta_in, eta_out = cat.one_way_efficiencies() if b.round_trip_efficiency is None else (math.sqrt(rte),) * 2
    store = Store(eta_in, eta_out, None, b.max_power_mw,
                  None if b.max_energy_mwh is None else b.max_energy_mwh * 3600.0, b.max_c_rate_per_h,
                  power_usd_per_mw_year=power_capex * 1000.0 * crf + fom * 1000.0,
                  energy_usd_per_mj_year=energy_capex * 1000.0 / 3600.0 * crf,
                  wear_usd_per_mwh=wear)
    info = {"power_capex_usd_per_mw_year": power_capex * 1000.0 * crf, "fixed_om_usd_per_mw_year": fom * 1000.0,
            "energy_capex_usd_per_mj_year": energy_capex * 1000.0 / 3600.0 * crf,
            "round_trip_efficiency": rte, "wear_usd_per_mwh": wear}
    return store, info


def _need_gpus(w: Workload, names: list[str]) -> None:
    if names and w.tdp_mw is None:
        raise InputError([Problem(w.source or w.name, None, "gpu",
                                  f"mitigations {', '.join(names)} act on the GPUs: the workload needs a GPU "
                                  "model and count (`gpu:` and `gpus:` in a workload file, or --gpu and --gpus)")])


# --- solve -------------------------------------------------------------------------------

@dataclass
class Strategy:
    """How the model is solved.

    A trace that repeats exactly (a synthetic job's steady state): one period, cyclic, exact when
    the rows that reach back across its end have zero duals (``_periodic``); else as below.

    Up to ``direct_max_steps`` steps: one LP (or MILP) over the whole trace, cyclic, exact.

    Longer: two levels. (1) The same model on block means of ``f`` steps (at most
    ``coarse_max_steps`` blocks; ``f`` divides the trace where it can, see ``_coarse_factor``),
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


def smooth(workload: Workload, spec: SmoothingSpec | None = None, options: SolveOptions | None = None,
           strategy: Strategy | None = None) -> SmoothingResult:
    """Choose mitigation sizes and a schedule that keep what the grid sees within
    ``spec.limits`` at least annual cost. Raises :class:`InputError` for unusable input; an
    infeasible problem is a result with ``status == 'infeasible'`` and ``reasons``."""
    t0 = time.perf_counter()
    spec = spec or SmoothingSpec()
    options = options or SolveOptions()
    strategy = strategy or Strategy()
    w = workload
    mit, econ, lim = spec.mitigations, spec.economics, spec.limits
    notes = []
    if "mitigations" not in spec.model_fields_set and w.tdp_mw is None and mit.burn is not None:
        # the default mitigations: burn needs to know the GPUs; without them, the battery alone
        mit = mit.model_copy(update={"burn": None})
        spec = spec.model_copy(update={"mitigations": mit})
        notes.append("burn work was not considered: the trace does not say which GPUs run it "
                     "(give --gpu and --gpus)")
    _need_gpus(w, [n for n in ("gpu_smoothing", "burn", "capacitors") if getattr(mit, n) is not None])
    factor, steps = _decimation(w, spec)
    step = factor * w.time_step_s
    load = _blocks(w.load_mw, factor, steps)
    year_scale = econ.job_hours_per_year * 3600.0 / (steps * step)
    per_step_usd = econ.energy_price_usd_per_mwh * year_scale * step / 3600.0
    slowdown_value = econ.throughput_value_usd_per_gpu_hour * (w.gpus or 0) * econ.job_hours_per_year
    profiles = []
    if w.tdp_mw is not None and (mit.gpu_smoothing is not None or mit.burn is not None):
        profiles = _profiles(w, mit.gpu_smoothing, mit.burn, factor, steps, per_step_usd, slowdown_value)
    data = ModelData(step, load, lim, econ.energy_price_usd_per_mwh, year_scale, profiles,
                     burn=mit.burn is not None,
                     burn_slowdown_usd_per_year=(mit.burn.slowdown_fraction * slowdown_value
                                                 if mit.burn is not None else 0.0),
                     variation_budget_mw=variation_budget_mw(lim.spectral_mask, steps, step)
                     if lim.spectral_mask else None)
    battery_info = {}
    if mit.battery is not None:
        data.battery, battery_info = _battery(mit.battery, econ.discount_rate)
    cap_capex = 0.0
    if mit.capacitors is not None:
        c = mit.capacitors
        eta = math.sqrt(c.round_trip_efficiency)
        per_gpu_w = c.max_power_w_per_gpu if c.max_power_w_per_gpu is not None else w.tdp_w
        data.capacitors = Store(eta, eta, fixed_energy_mj=c.j_per_gpu * w.gpus / 1e6,
                                max_power_mw=per_gpu_w * w.gpus / 1e6)
        cap_capex = c.capex_usd_per_gpu * w.gpus * capital_recovery_factor(econ.discount_rate, c.lifetime_years)
    ripple = float(np.abs(w.load_mw[: steps * factor] - np.repeat(load, factor)).max()) if factor > 1 else 0.0
    decimation = {"trace_step_s": w.time_step_s, "model_step_s": step, "factor": factor, "model_steps": steps,
                  "dropped_s": (w.steps - steps * factor) * w.time_step_s, "ripple_mw": ripple}
    result = SmoothingResult("error", w, spec, step, before=measure(load, step, lim.swing_window_s, lim.spectral_mask),
                             decimation=decimation, notes=notes)
    if factor > 1:
        result.trace_before = measure(w.load_mw, w.time_step_s, lim.swing_window_s, lim.spectral_mask)
    result.timings = {"prepare_s": time.perf_counter() - t0, "build_s": 0.0, "compile_s": 0.0, "solve_s": 0.0}
    ctx = _Context(data, battery_info, cap_capex, per_step_usd, options, result.timings, t0)
    period = _period(data) if strategy.periodic else None
    outcome = _periodic(ctx, period) if period is not None else None
    if outcome is None:
        outcome = _direct(ctx) if steps <= strategy.direct_max_steps else _two_level(ctx, strategy)
    result.status, result.solve = outcome.status, outcome.solve
    result.method = outcome.method
    if outcome.status == "infeasible":
        t1 = time.perf_counter()
        result.reasons = diagnose(outcome.diagnose_data or data, spec, options)
        result.timings["diagnose_s"] = time.perf_counter() - t1
    elif outcome.arrays is not None:
        _fill(result, ctx, outcome)
        if outcome.seams and not outcome.method.get("soc_end_shortfall_mj"):
            # (a schedule that ends short of its starting charge is no upper bound, which the
            # pieces' boxes rest on)
            _tighten(result, ctx, outcome)
        short = result.method.get("soc_end_shortfall_mj", 0.0)
        if short > 1e-6:
            result.notes.append(f"the stores end {short:,.4g} MJ below their starting charge (the rolling "
                                "horizon could not refill them under the limits); that energy is counted "
                                "as battery losses")
    else:
        result.reasons = outcome.reasons
        result.lower_bound_usd_per_year = outcome.lower_bound
    result.timings["total_s"] = time.perf_counter() - t0
    return result


@dataclass
class _Context:
    data: ModelData
    battery_info: dict
    cap_capex: float
    per_step_usd: float
    options: SolveOptions
    timings: dict
    started: float  # perf_counter when smooth began: --time-limit counts from there


@dataclass
class _Outcome:
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
    plan: _CoarsePlan | None = None  # two levels: what the coarse level found (to roll again)


def _run(ctx: _Context, data: ModelData, options: SolveOptions | None = None, interior: bool = False):
    """Build and solve; ``interior``: by HiGHS's interior point method (``_lp``) when the
    model is an LP."""
    sm = build(data)
    options = options or ctx.options
    res = _lp(sm, options, interior=True)[0] if interior and not sm.choice and not hasattr(sm.model, "burn_on") \
        else solve(sm.model, options)
    _count(ctx, sm, res)
    return sm, res


def _count(ctx: _Context, sm: SmoothingModel, res: SolveResult) -> None:
    ctx.timings["build_s"] += sm.build_seconds
    ctx.timings["compile_s"] += res.compile_seconds
    ctx.timings["solve_s"] += res.solve_seconds


PRIMAL_SIMPLEX = 4
"""HiGHS's primal simplex: on the rolling horizon's pieces (a minute and its lookahead at
100 ms) a quarter faster than its default dual simplex (0.37 s against 0.49 s a piece)."""


def _lp(sm: SmoothingModel, options: SolveOptions,
        interior: bool = False) -> tuple[SolveResult, np.ndarray | None, Compiled]:
    """The model as an LP (its integers relaxed), with its columns' reduced costs at the
    optimum (None without one); see :func:`_run_lp`."""
    t0 = time.perf_counter()
    compiled = Compiled(sm.model)
    res, x, reduced = _run_lp(compiled, options, interior)
    res.compile_seconds = time.perf_counter() - t0 - res.solve_seconds
    if x is not None:
        compiled.store(x)
    return res, reduced, compiled


def _run_lp(compiled: Compiled, options: SolveOptions,
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
    else:
        h.setOptionValue("simplex_strategy", PRIMAL_SIMPLEX)
    Deadline(options.time_limit_s, t1).arm(h)
    h.passModel(compiled.lp(integral=False))
    h.run()
    status = h.getModelStatus()
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


def _marginals(sm: SmoothingModel, reduced: np.ndarray, compiled: Compiled, start: int, stop: int) -> Marginals:
    """What a rolling-horizon piece's seams are worth to it (see :mod:`dcplan.smoothing.bound`):
    the reduced costs of its held grid power and starting charges."""
    m = sm.model
    column = {id(v): j for j, v in enumerate(compiled.columns)}

    def rc(var) -> float:  # a column no row or cost uses is worth nothing
        j = column.get(id(var))
        return 0.0 if j is None else float(reduced[j])

    start_soc = {k: rc(getattr(m, k + "_soc_start")) for k in ("bat", "cap") if hasattr(m, k + "_soc_start")}
    return Marginals(start, stop, np.array([rc(m.g[t]) for t in range(sm.history)]), start_soc)


def _left(ctx: _Context, **changes) -> SolveOptions:
    """The solve options with what is left of --time-limit (it counts from when smooth began)."""
    limit = ctx.options.time_limit_s
    left = None if limit is None else Deadline(limit, ctx.started).remaining()
    return dataclasses.replace(ctx.options, time_limit_s=left, **changes)


def _direct(ctx: _Context) -> _Outcome:
    sm, res = _run(ctx, ctx.data, _left(ctx))
    method = {"method": "direct", "steps": ctx.data.steps, "rows": res.rows, "columns": res.columns,
              "strategy": res.strategy, "lp_solves": res.lp_solves}
    if res.status == "infeasible":
        return _Outcome("infeasible", method, res)
    if res.status == "no_solution":  # what the solver says when the time ran out first
        return _Outcome("time_limit", method, res, reasons=["the time limit ran out before any schedule"])
    if not res.has_solution:
        return _Outcome(res.status, method, res, reasons=[f"solver: {res.status}" + (f" ({res.message})"
                                                                                  if res.message else "")])
    arrays, chosen, burn_on, sizes = read(sm)
    bound = res.bound if res.bound is not None else res.objective
    method["gap"] = res.gap or 0.0
    return _Outcome(res.status, method, res, arrays, chosen, burn_on, sizes,
                    None if bound is None else bound + ctx.cap_capex)


def _period(data: ModelData) -> int | None:
    """The fewest steps p (the trace n >= 2 of them) after which the load, and what each GPU
    setting adds and leaves for burn, repeat (to 1e-9 MW); None when they do not, or when swing
    windows shorter than p would reach back across its end (not covered by ``_periodic``)."""
    x = np.vstack([data.load_mw] + [p.uplift_mw for p in data.profiles]
                  + [p.burn_room_mw for p in data.profiles if p.burn_room_mw is not None])
    T, lim = data.steps, data.limits
    for p in range(2, T // 2 + 1):
        if T % p == 0 and np.allclose(x[:, p:], x[:, :-p], rtol=0.0, atol=1e-9):
            swing_rows = lim.swing_mw is not None and not swing_implied(lim, data.step_s, data.window())
            return None if swing_rows and data.window() < p else p
    return None


def _periodic(ctx: _Context, p: int) -> _Outcome | None:
    """A periodic trace: one period, cyclic, solved exactly and repeated.

    Why it is exact: the whole trace taken as cyclic (every row also reaching back across its
    end) has a periodic optimum -- shifting any solution by a period gives another of the same
    cost, and their average is feasible (convexity) and periodic -- whose period is the one-period
    cyclic model, with the operating cost counted n times and the spectral mask's total variation
    shared n ways. The trace as the model reads it lacks only the rows that reach back across its
    start; when those rows of the period (``WRAP_ROWS``) have zero duals, the repeated solution
    with the repeated duals satisfies the whole trace's optimality conditions, so it is optimal
    there too. Without that certificate (or without an optimal period), None: solve it whole."""
    d = ctx.data
    n = d.steps // p
    one = dataclasses.replace(d.piece(0, p, None), year_scale=d.year_scale * n, cyclic=True,
                              variation_budget_mw=None if d.variation_budget_mw is None else d.variation_budget_mw / n)
    sm, res = _run(ctx, one, _left(ctx, duals=True))
    if res.status != "optimal":
        return None
    rows = [c for name in WRAP_ROWS if hasattr(sm.model, name) for c in getattr(sm.model, name).values()]
    duals = [res.dual(c) for c in rows]
    if any(y is None or abs(y) > WRAP_DUAL_TOL for y in duals):
        return None
    arrays, chosen, burn_on, sizes = read(sm)
    if chosen is not None:
        chosen = d.profiles[next(i for i, q in enumerate(one.profiles) if q is chosen)]
    method = {"method": "periodic", "steps": d.steps, "period_steps": p, "periods": n, "rows": res.rows,
              "columns": res.columns, "gap": res.gap or 0.0}
    bound = res.bound if res.bound is not None else res.objective
    return _Outcome("optimal", method, res, {k: np.tile(v, n) for k, v in arrays.items()}, chosen, burn_on, sizes,
                    bound + ctx.cap_capex)


def _coarse_factor(steps: int, max_blocks: int) -> int:
    """Steps in a block of the coarse level, so that there are at most ``max_blocks`` blocks: the
    least such number that divides ``steps``, up to twice the least allowed, so that the blocks
    cover every step and the coarse level is a relaxation (its infeasibility a proof, its optimum
    a bound); else the least allowed (the steps past the last whole block are then in no block)."""
    least = max(2, math.ceil(steps / max_blocks))
    return next((f for f in range(least, 2 * least + 1) if steps % f == 0), least)


def _coarsen(data: ModelData, f: int) -> ModelData:
    """The model on block means of ``f`` steps: a relaxation of ``data`` (see Strategy)."""
    T = data.steps // f

    def blocks(x):
        return None if x is None else _blocks(x, f, T)

    W = data.window()
    lag = data.lag()
    profiles = [dataclasses.replace(p, uplift_mw=blocks(p.uplift_mw), burn_room_mw=blocks(p.burn_room_mw),
                                    deferred_mw_steps=p.deferred_mw_steps / f)
                for p in data.profiles]
    return dataclasses.replace(
        data, step_s=data.step_s * f, load_mw=blocks(data.load_mw), profiles=profiles,
        year_scale=data.year_scale * data.steps / (T * f),
        window_steps=max(1, W // f), lag_steps=lag // f if lag % f == 0 else 0, boundary=None,
        within=_within(data, f, T) if len(data.profiles) <= 1 else None)


def _within(data: ModelData, f: int, T: int) -> WithinBlocks:
    """What the steps inside each block of ``f`` imply for its means (``WithinBlocks``)."""
    lim, dt = data.limits, data.step_s
    up = math.inf if lim.ramp_up_mw_per_s is None else lim.ramp_up_mw_per_s * dt
    down = math.inf if lim.ramp_down_mw_per_s is None else lim.ramp_down_mw_per_s * dt
    j = np.arange(f)
    later = np.maximum(j[None, :] - j[:, None], 0)  # [j, s]: s - j steps later
    earlier = np.maximum(j[:, None] - j[None, :], 0)
    def spread(ahead: float, behind: float) -> np.ndarray:
        """Mean over the block's steps of how far grid power may be from step j's (ahead: per
        step to later steps; behind: to earlier ones; inf without a limit)."""
        with np.errstate(invalid="ignore"):  # inf x 0 where no step is that far: not used
            far = np.where(later > 0, ahead * later, 0.0) + np.where(earlier > 0, behind * earlier, 0.0)
        return far.sum(axis=1) / f

    above, below = spread(down, up), spread(up, down)
    p = data.profiles[0] if data.profiles else None
    need = data.load_mw[: T * f] + (p.uplift_mw[: T * f] if p is not None else 0.0)
    need = need.reshape(T, f)
    room = (p.burn_room_mw[: T * f].reshape(T, f) if data.burn and p is not None and p.burn_room_mw is not None
            else np.zeros((T, f)))
    # only where the need moves more within a block than the grid could follow it
    moves = np.flatnonzero(np.ptp(need, axis=1) > min(above.min() + below.min(), 1e9) + 1e-9).tolist()
    return WithinBlocks(need, above, below, room, moves)


SCHEDULE = ("grid_mw", "burn_mw", "battery_charge_mw", "battery_discharge_mw", "battery_soc_mj",
            "capacitor_charge_mw", "capacitor_discharge_mw", "capacitor_soc_mj")
"""The arrays of a schedule over the trace (:func:`dcplan.smoothing.model.read`)."""


@dataclass
class _Prepared:
    """A piece of the rolling horizon, built and compiled: steps ``[a, e)``, ``[a, b)`` kept."""

    a: int
    b: int
    e: int
    L: int
    sm: SmoothingModel
    compiled: Compiled


def _decided(data: ModelData, chosen: Profile | None, burn_on: bool) -> ModelData:
    """The model at full resolution with the coarse level's choices made: the GPU setting and
    the burn switch (its slowdown then a constant, counted in the costs)."""
    return dataclasses.replace(data, profiles=[chosen] if chosen is not None else [],
                               burn=data.burn and burn_on, burn_slowdown_usd_per_year=0.0)


def _two_level(ctx: _Context, st: Strategy) -> _Outcome:
    data = ctx.data
    T = data.steps
    f = _coarse_factor(T, st.coarse_max_steps)
    coarse = _coarsen(data, f)
    covers = coarse.steps * f == T
    minute_limits = data.limits.minute_ramp("up") is not None or data.limits.minute_ramp("down") is not None
    lookahead = st.lookahead_steps if st.lookahead_steps is not None else \
        (data.lag() if minute_limits else st.piece_steps // 2)
    method = {"method": "two_level", "steps": T, "coarse_factor": f, "coarse_steps": coarse.steps,
              "coarse_window_steps": coarse.window(), "coarse_minute_rows": coarse.lag() > 0,
              "piece_steps": st.piece_steps, "lookahead_steps": lookahead}
    deadline = Deadline(ctx.options.time_limit_s, ctx.started)
    t1 = time.perf_counter()
    # the coarse level may take half of what is left; the full resolution the rest
    sm_c, res_c = _run(ctx, coarse, dataclasses.replace(
        ctx.options, time_limit_s=None if ctx.options.time_limit_s is None else deadline.remaining() / 2),
        interior=True)
    method["coarse_seconds"] = time.perf_counter() - t1
    method["coarse_rows"], method["coarse_columns"] = res_c.rows, res_c.columns
    if res_c.status == "infeasible" and covers:
        # the coarse model is a relaxation: the full problem is infeasible too
        return _Outcome("infeasible", method, res_c, diagnose_data=coarse)
    if res_c.status == "infeasible":
        left = T - coarse.steps * f
        return _Outcome("no_solution", method, res_c, reasons=[
            f"the coarse level (blocks of {f} steps) has no schedule, but its blocks leave out the trace's "
            f"last {left} step(s), so that is no proof that none exists; a trace of a multiple of {f} steps "
            "(or another --resolution-s) settles it"])
    if res_c.status == "no_solution":  # what the solver says when the time ran out first
        return _Outcome("time_limit", method, res_c, reasons=["the time limit ran out at the coarse level, "
                                                              "before any schedule; give more time"])
    if not res_c.has_solution:
        return _Outcome(res_c.status, method, res_c, reasons=[f"solver (coarse level): {res_c.status}"])
    # a bound only where the blocks cover the trace: steps past the last whole block are in no block
    # (71 steps in blocks of 3: the optimum of the first 69, above the 71's)
    lower = None
    if covers:
        lower = (res_c.bound if res_c.bound is not None else res_c.objective) + ctx.cap_capex
        method["coarse_bound_usd_per_year"] = lower
    c_arrays, chosen, burn_on, sizes = read(sm_c)
    if chosen is not None:  # the same setting at full resolution
        chosen = data.profiles[next(i for i, p in enumerate(coarse.profiles) if p is chosen)]
    # state-of-charge targets: the coarse plan's, at the end of each block
    targets = {"bat": c_arrays["battery_soc_mj"], "cap": c_arrays["capacitor_soc_mj"]}
    plan = _CoarsePlan(st, lookahead, chosen, burn_on, (np.arange(coarse.steps) + 1) * f, targets,
                       {k: float(v[-1]) for k, v in targets.items()},  # cyclic: where the coarse plan ends
                       lower, res_c)
    return _rolling(ctx, plan, sizes, method, deadline)


@dataclass
class _CoarsePlan:
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


def _rolling(ctx: _Context, plan: _CoarsePlan, sizes: tuple[float, float], method: dict,
             deadline: Deadline) -> _Outcome:
    """The rolling horizon at full resolution (see :class:`Strategy`), the battery at least
    ``sizes`` (MW, MJ)."""
    data, st = ctx.data, plan.strategy
    T, dt = data.steps, data.step_s
    lookahead, chosen, burn_on, ends, targets, start = (plan.lookahead, plan.chosen, plan.burn_on, plan.ends,
                                                         plan.targets, plan.start)
    lower, res_c = plan.lower, plan.result
    p_mw, e_mj = sizes
    fine = _decided(data, chosen, burn_on)
    out = {k: np.zeros(T) for k in SCHEDULE}
    stores = [k for k, s in (("bat", data.battery), ("cap", data.capacitors)) if s is not None]
    mj_value = data.energy_price_usd_per_mwh * data.year_scale / 3600.0
    penalty = 100.0 * (mj_value + 1.0)
    history_need = data.reach()
    budget = data.variation_budget_mw
    pieces, retries, last_res = 0, 0, res_c
    seams: list[Marginals] = []  # what each committed piece's seams are worth to it
    soft_end, final_a = False, 0
    L = st.piece_steps
    t1 = time.perf_counter()
    g = out["grid_mw"]

    def prepare(a: int, L: int) -> _Prepared:
        """The piece from step ``a`` built and compiled, what the pieces before it decide held
        at placeholders (set by ``hold`` once they are known)."""
        b = min(a + L, T)
        if T - b < L // 2:
            b = T
        e = min(b + lookahead, T)
        H = min(a, history_need)
        if e == T:
            end, pen = {k: start[k] for k in stores}, (penalty if soft_end else 0.0)
        else:
            end, pen = {k: float(np.interp(e, ends, targets[k])) for k in stores}, penalty
        t = time.perf_counter()
        piece = fine.piece(a, e, Boundary(np.zeros(H), {k: 0.0 for k in stores}, end, pen,
                                          wrap_to_mw=float(g[0]) if e == T and a > 0 else None))
        if budget is not None:
            piece.variation_budget_mw = 0.0
        sm = build(piece)
        compiled = Compiled(sm.model)
        ctx.timings["build_s"] += sm.build_seconds
        ctx.timings["compile_s"] += time.perf_counter() - t - sm.build_seconds
        return _Prepared(a, b, e, L, sm, compiled)

    def hold(prep: _Prepared) -> None:
        """Hold what the pieces before ``prep`` decided: their grid power its rows reach back
        to, the charge it starts from, the sizes so far, what is left of the mask's budget."""
        a, m, c = prep.a, prep.sm.model, prep.compiled
        column = {id(v): j for j, v in enumerate(c.columns)}
        held = [(m.g[t], float(g[a - prep.sm.history + t])) for t in range(prep.sm.history)]
        for k in stores:
            soc = out[("battery" if k == "bat" else "capacitor") + "_soc_mj"]
            held.append((getattr(m, k + "_soc_start"), start[k] if a == 0 else float(soc[a - 1])))
        for var, value in held:
            j = column.get(id(var))
            if j is not None:
                c.col_lower[j] = c.col_upper[j] = value
        if fine.battery is not None:
            for var, least in ((m.bat_power, p_mw), (m.bat_energy, e_mj)):
                j = column.get(id(var))
                if j is not None:
                    c.col_lower[j] = max(c.col_lower[j], least)
        if budget is not None:  # what is left of the spectral mask's total variation, shared by length
            left = budget - float(np.abs(np.diff(g[:a])).sum())
            c.row_upper[c.row_index[id(m.variation_budget)]] = left if prep.e == T else left * (prep.e - a) / (T - a)

    options = SolveOptions(threads=ctx.options.threads)
    prep = prepare(0, L)
    with ThreadPoolExecutor(max_workers=1) as pool:
        while prep is not None:
            a, b, e = prep.a, prep.b, prep.e
            if e == T and not soft_end:
                final_a = a
            hold(prep)
            options.time_limit_s = deadline.remaining() if ctx.options.time_limit_s is not None else None
            solving = pool.submit(_run_lp, prep.compiled, options)
            # the next piece is built while this one is solved (HiGHS lets go of the GIL)
            ahead = prepare(b, st.piece_steps) if b < T and not (budget is not None and a == 0) else None
            res, x, reduced = solving.result()
            ctx.timings["solve_s"] += res.solve_seconds
            last_res = res
            if res.status != "optimal" and deadline.passed:  # a piece cut short is not a schedule
                method.update(pieces=pieces, stopped_at_s=a * dt)
                return _Outcome("time_limit", method, res, lower_bound=lower, reasons=[
                    f"the time limit ran out at {a * dt:,.1f} s of {T * dt:,.1f} s of the trace (full resolution, "
                    "rolling horizon); give more time or a coarser --resolution-s"])
            if not res.has_solution:
                if retries < 3 and a > 0:
                    # step back: re-plan the previous piece together with this one
                    retries += 1
                    prep = prepare(max(0, a - prep.L), prep.L * 2)
                    continue
                if res.status == "infeasible" and e == T and not soft_end:
                    soft_end = True  # accept ending short of the starting state of charge (counted)
                    prep = prepare(final_a, st.piece_steps)
                    continue
                method.update(pieces=pieces, failed_at_s=a * dt)
                return _Outcome("no_solution", method, res, reasons=[
                    (f"the rolling horizon found no schedule for the piece at {a * dt:,.1f} s ({res.status}); "
                    "try a coarser --resolution-s")])
            prep.compiled.store(x)
            arrays, _, _, (p_mw, e_mj) = read(prep.sm)
            for k in SCHEDULE:
                out[k][a:b] = arrays[k][: b - a]
            # a piece planned again from inside an earlier one (a retry) ends that one where it starts
            seams = [dataclasses.replace(s, stop=min(s.stop, a)) for s in seams if s.start < a] \
                + [_marginals(prep.sm, reduced, prep.compiled, a, b)]
            pieces += 1
            prep = None if b >= T else (ahead if ahead is not None else prepare(b, st.piece_steps))
    method.update(pieces=pieces, retries=retries, fine_seconds=time.perf_counter() - t1,
                  coarse_status=res_c.status)
    shortfall = sum(max(start[k] - float(out[("battery" if k == "bat" else "capacitor") + "_soc_mj"][-1]), 0.0)
                    for k in stores)
    method["soc_end_shortfall_mj"] = shortfall
    # every limit holds at full resolution; optimality is bounded by the gap, not proven
    status = "time_limit" if res_c.status == "time_limit" else "feasible"
    return _Outcome(status, method, last_res, out, chosen, burn_on, (p_mw, e_mj), lower, seams=seams, plan=plan)


def _tighten(r: SmoothingResult, ctx: _Context, o: _Outcome) -> None:
    """The pieces' Lagrangian bound (:mod:`dcplan.smoothing.bound`), with the schedule planned
    again where it loses most against it; then, while the gap is above the strategy's
    ``target_gap`` (and at most ``max_rolls`` times), the rolling horizon again with the battery
    the cuts find best, its own prices adding cuts to the model (a rolling horizon's prices are
    good near its own sizes, far from them weak); the coarse plan's charges kept as floors or
    not as the first such roll found cheaper. The cheapest schedule and the best bound are kept.
    Within what is left of the time limit."""
    t0 = time.perf_counter()
    deadline = Deadline(ctx.options.time_limit_s, ctx.started)
    st = o.plan.strategy
    fixed = (o.profile.fixed_cost_usd_per_year if o.profile is not None else 0.0) \
        + (ctx.data.burn_slowdown_usd_per_year if o.burn_on else 0.0)
    model, tried, first, floors = None, [], o, None
    r.method.update(replanned_windows=0, rolls=1)
    while True:
        replan = None if ctx.data.variation_budget_mw is not None else \
            (lambda a, b, o=o: _replan(ctx, o, a, b))  # the mask's budget is the whole trace's: not held by a window
        bound = lagrangian_bound(ctx.data, o.seams, o.arrays, fixed, o.sizes, r.objective_usd_per_year - ctx.cap_capex,
                                 SolveOptions(threads=ctx.options.threads), deadline, replan, model,
                                 then_roll=r.method["rolls"] < st.max_rolls)
        tried.append(np.asarray(o.sizes))
        if bound is not None:
            r.method["replanned_windows"] += bound.replanned
        if o is first:
            if bound is None or bound.replanned:  # (windows may have been planned again before it failed)
                _fill(r, ctx, o)
        else:
            _keep_cheaper(r, ctx, o)
        if bound is None:
            break
        model = bound.model
        value = bound.usd_per_year + ctx.cap_capex
        r.method["piece_bound_usd_per_year"] = max(value, r.method.get("piece_bound_usd_per_year", -math.inf))
        r.lower_bound_usd_per_year = value if r.lower_bound_usd_per_year is None else max(value, r.lower_bound_usd_per_year)
        if (bound.sizes is None or _gap(r) <= st.target_gap or deadline.passed or r.method["rolls"] >= st.max_rolls
                or any(same_sizes(bound.sizes, s) for s in tried)):
            break
        t1 = time.perf_counter()
        tried.append(np.asarray(bound.sizes))  # (a rolling horizon may grow them: not asked for twice)
        o, floors = _rolled_again(r, ctx, first.plan, bound.sizes, deadline, floors)
        r.method["rolled_again_seconds"] = r.method.get("rolled_again_seconds", 0.0) + time.perf_counter() - t1
        if o is None:
            break
        r.method["rolls"] += 1
    r.method["bound_seconds"] = time.perf_counter() - t0 - r.method.get("rolled_again_seconds", 0.0)
    r.method["gap"] = _gap(r)


def _rolled_again(r: SmoothingResult, ctx: _Context, plan: _CoarsePlan, sizes: tuple[float, float],
                  deadline: Deadline, floors: bool | None) -> tuple[_Outcome | None, bool]:
    """The rolling horizon with the battery at ``sizes``, with the coarse plan's charges as
    floors (within the store) and without any (starting empty), or only as ``floors`` says: a
    coarse level whose blocks average the load's swings away plans charge for its own use of
    the battery, which at full resolution needs that power for the swings (12 h at 1 s in
    blocks of 8 s: 3.4 % dearer with its floors). The cheaper complete schedule (or None) and
    whether it kept the floors (``floors`` as given where nothing was compared)."""
    energy = sizes[1]
    kept = np.minimum(plan.targets["bat"], energy)
    with_floors = dataclasses.replace(plan, targets={**plan.targets, "bat": kept},
                                      start={**plan.start, "bat": min(plan.start["bat"], energy)})
    without = dataclasses.replace(plan, targets={**plan.targets, "bat": np.zeros_like(kept)},
                                  start={**plan.start, "bat": 0.0})
    tries = [(True, with_floors), (False, without)]
    if not kept.any() and plan.start["bat"] <= 0:
        tries = tries[:1]  # the same plan
    elif floors is not None:
        tries = [t for t in tries if t[0] == floors]
    best, best_cost, best_floors = None, math.inf, True
    for floored, p in tries:
        if deadline.passed:
            break
        again = _rolling(ctx, p, sizes, dict(r.method), deadline)
        if again.arrays is None or again.method.get("soc_end_shortfall_mj"):
            continue
        other = _filled(r, ctx, again)
        if other.objective_usd_per_year < best_cost:
            best, best_cost, best_floors = again, other.objective_usd_per_year, floored
    return best, (best_floors if best is not None and len(tries) > 1 else floors)


def _keep_cheaper(r: SmoothingResult, ctx: _Context, o: _Outcome) -> None:
    """``o``'s schedule in ``r`` where it is cheaper than ``r``'s."""
    other = _filled(r, ctx, o)
    if other.objective_usd_per_year < r.objective_usd_per_year:
        for name in ("schedule", "sizes", "costs_usd_per_year", "energy_overhead_fraction", "after",
                     "trace_after", "objective_usd_per_year"):
            setattr(r, name, getattr(other, name))
        r.method.update({k: o.method[k] for k in ("pieces", "retries", "fine_seconds")})


def _filled(r: SmoothingResult, ctx: _Context, o: _Outcome) -> SmoothingResult:
    """A copy of ``r`` with ``o``'s schedule and its figures."""
    other = dataclasses.replace(r, method=dict(r.method))
    _fill(other, ctx, o)
    return other


def _gap(r: SmoothingResult) -> float | None:
    """(cost - bound) / cost; None without a bound."""
    total = r.objective_usd_per_year
    if r.lower_bound_usd_per_year is None:
        return None
    return max(0.0, (total - r.lower_bound_usd_per_year) / total) if total > 0 else 0.0


def _replan(ctx: _Context, o: _Outcome, a: int, b: int) -> bool:
    """Plan the schedule ``o.arrays`` again over steps ``[a, b)``, everything around it held
    (the grid power its rows reach to on both sides, the charge it starts from and must end at,
    the sizes): the window's optimum is no dearer than what it replaces and keeps every limit
    with its neighbours. Whether it was planned again."""
    data, out = ctx.data, o.arrays
    g, dt, reach = out["grid_mw"], data.step_s, data.reach()
    start, end = {}, {}
    for key, prefix, store in (("bat", "battery", data.battery), ("cap", "capacitor", data.capacitors)):
        if store is not None:
            soc = out[prefix + "_soc_mj"]
            start[key] = float(soc[a] - (store.eta_charge * out[prefix + "_charge_mw"][a]
                                         - out[prefix + "_discharge_mw"][a] / store.eta_discharge) * dt)
            end[key] = float(soc[b - 1])
    H = min(a, reach)
    piece = _decided(data, o.profile, o.burn_on).piece(
        a, b, Boundary(g[a - H:a].copy(), start, end, end_soc_exact=True, future_g=g[b:b + reach].copy()))
    if piece.battery is not None:
        p_mw, e_mj = o.sizes
        piece.battery = dataclasses.replace(piece.battery, min_power_mw=p_mw, max_power_mw=p_mw,
                                            min_energy_mj=e_mj, max_energy_mj=e_mj)
    sm = build(piece)
    res = _lp(sm, _left(ctx))[0]
    _count(ctx, sm, res)
    if res.status != "optimal":
        return False
    arrays = read(sm)[0]
    for k in SCHEDULE:
        out[k][a:b] = arrays[k]
    return True


def _fill(r: SmoothingResult, ctx: _Context, o: _Outcome) -> None:
    d = ctx.data
    T, dt = d.steps, d.step_s
    w = r.workload
    arr = o.arrays
    chosen = o.profile
    uplift = chosen.uplift_mw.copy() if chosen is not None else np.zeros(T)
    grid, burn = arr["grid_mw"], arr["burn_mw"]
    bc, bd = arr["battery_charge_mw"], arr["battery_discharge_mw"]
    cc, cd = arr["capacitor_charge_mw"], arr["capacitor_discharge_mw"]
    r.schedule = {
        "time_s": np.arange(T) * dt,
        "raw_load_mw": d.load_mw,
        "gpu_smoothing_mw": uplift,
        "burn_mw": burn,
        "battery_charge_mw": bc,
        "battery_discharge_mw": bd,
        "battery_soc_mwh": arr["battery_soc_mj"] / 3600.0,
        "capacitor_charge_mw": cc,
        "capacitor_discharge_mw": cd,
        "capacitor_soc_mj": arr["capacitor_soc_mj"],
        "grid_mw": grid,
    }
    lim = r.spec.limits
    r.after = measure(grid, dt, lim.swing_window_s, lim.spectral_mask)
    factor = r.decimation["factor"]
    if factor > 1:
        fine = w.load_mw[: T * factor] + np.repeat(grid - d.load_mw, factor)
        r.trace_after = measure(fine, w.time_step_s, lim.swing_window_s, lim.spectral_mask)
    load_sum = float(d.load_mw.sum())
    # work a ramp-up limit defers is done later at the same energy: it is not saved
    smoothing = float(uplift.sum()) + (chosen.deferred_mw_steps if chosen is not None else 0.0)
    per_step = ctx.per_step_usd
    # a state of charge left lower than it started is energy the stores still owe
    owed = 0.0
    for prefix, store in (("battery", d.battery), ("capacitor", d.capacitors)):
        if store is not None and o.method["method"] != "direct":
            soc = arr[prefix + "_soc_mj"]
            first = soc[0] - (store.eta_charge * arr[prefix + "_charge_mw"][0]
                              - arr[prefix + "_discharge_mw"][0] / store.eta_discharge) * dt
            owed += max(first - soc[-1], 0.0) / store.eta_charge / dt  # MW x steps
    losses_bat = float((bc - bd).sum())
    losses_cap = float((cc - cd).sum())
    extra = smoothing + float(burn.sum()) + losses_bat + losses_cap + owed
    r.energy_overhead_fraction = extra / load_sum if load_sum > 0 else None
    costs = {
        "energy_gpu_smoothing": per_step * smoothing,
        "energy_burn": per_step * float(burn.sum()),
        "energy_battery_losses": per_step * (losses_bat + owed),
        "energy_capacitor_losses": per_step * losses_cap,
    }
    gs = r.spec.mitigations.gpu_smoothing
    sizes: dict[str, float | None] = {
        "gpu_floor_fraction": chosen.floor_fraction if chosen is not None and gs is not None else None,
        "gpu_ramp_up_w_per_s": chosen.ramp_up_w_per_s if chosen is not None else None,
        "gpu_ramp_down_w_per_s": chosen.ramp_down_w_per_s if chosen is not None else None,
        "gpu_ramp_down_hysteresis_s": gs.ramp_down_hysteresis_s if chosen is not None and gs is not None else None,
        "gpu_slowdown_fraction": chosen.slowdown_fraction if chosen is not None else 0.0,
        "burn_peak_mw": float(burn.max(initial=0.0)),
        "burn_mwh_per_year": float(burn.sum()) * dt / 3600.0 * d.year_scale,
        "burn_on": bool(o.burn_on),
    }
    if chosen is not None and chosen.slowdown_usd_per_year:
        costs["gpu_ramp_up_slowdown"] = chosen.slowdown_usd_per_year
    if o.burn_on and d.burn_slowdown_usd_per_year:
        costs["burn_slowdown"] = d.burn_slowdown_usd_per_year
    if d.battery:
        p, e = o.sizes
        info = ctx.battery_info
        costs["battery_capex"] = p * info["power_capex_usd_per_mw_year"] + e * info["energy_capex_usd_per_mj_year"]
        costs["battery_fixed_om"] = p * info["fixed_om_usd_per_mw_year"]
        costs["battery_wear"] = d.wear_usd_per_mw_step * float(bd.sum())
        sizes.update({"battery_power_mw": p, "battery_energy_mwh": e / 3600.0,
                      "battery_duration_s": e / p if p > 1e-9 else None,
                      "battery_round_trip_efficiency": info["round_trip_efficiency"],
                      "battery_discharge_mwh_per_year": float(bd.sum()) * dt / 3600.0 * d.year_scale,
                      "battery_both_ways_mwh_per_year": float(np.minimum(bc, bd).sum()) * dt / 3600.0 * d.year_scale})
    if d.capacitors:
        sizes.update({"capacitor_energy_mj": d.capacitors.fixed_energy_mj,
                      "capacitor_peak_mw": float(np.maximum(cc, cd).max(initial=0.0))})
        costs["capacitor_capex"] = ctx.cap_capex
    r.sizes = sizes
    r.costs_usd_per_year = costs
    total = sum(costs.values())
    r.objective_usd_per_year = total
    r.lower_bound_usd_per_year = o.lower_bound
    if o.lower_bound is not None and total > 0:
        r.method["gap"] = max(0.0, (total - o.lower_bound) / total)


# --- infeasibility -----------------------------------------------------------------------

UNIT = {"ramp_up_mw_per_s": "MW/s", "ramp_down_mw_per_s": "MW/s", "ramp_up_mw_per_min": "MW/min",
        "ramp_down_mw_per_min": "MW/min", "ramp_up_pct_per_min": "%/min", "ramp_down_pct_per_min": "%/min",
        "swing_mw": "MW", "band_min_mw": "MW", "band_max_mw": "MW", "spectral_mask": "MW"}


def _stated(lim: Limits, key: str) -> str:
    """A limit as written: '10 MW', '2 %/min', or a spectral mask's bands."""
    value = getattr(lim, key)
    if key == "spectral_mask":
        return "(" + ", ".join(f"{band_label(b)} <= {b.max_amplitude_mw:g} MW" for b in value) + ")"
    return f"{value:g} {UNIT[key]}"


def diagnose(data: ModelData, spec: SmoothingSpec, options: SolveOptions) -> list[str]:
    """Why the limits cannot be met: a few direct checks, then an elastic re-solve (one slack
    per limit, least total violation) that names the limits still exceeded."""
    lim, mit = spec.limits, spec.mitigations
    allowed = mit.names()
    with_what = f"with the allowed mitigations ({', '.join(allowed)})" if allowed else "with no mitigation allowed"
    reasons = []
    lowest_mean = float(data.load_mw.mean()) + min([float(p.uplift_mw.mean()) for p in data.profiles], default=0.0)
    if lim.band_max_mw is not None and lim.band_max_mw < lowest_mean - 1e-9:
        reasons.append(f"band_max_mw {lim.band_max_mw:g} MW is below the job's average power "
                       f"{lowest_mean:,.3f} MW: storage only shifts energy and burn adds it, so no "
                       "mitigation can bring the average down")
    if not allowed:
        for key, excess in violations(data.load_mw, data.step_s, lim).items():
            reasons.append(f"{key} {_stated(lim, key)}: the raw load exceeds it by "
                           f"{excess:,.3f} {UNIT[key]} and no mitigation is allowed")
        return reasons or [f"the limits cannot be met {with_what}"]
    sm = build(data, elastic=True)
    res = solve(sm.model, SolveOptions(time_limit_s=options.time_limit_s, threads=options.threads))
    if not res.has_solution:
        return reasons or [f"the limits cannot be met {with_what} (the diagnosis found no schedule: {res.status})"]
    m = sm.model
    dt = data.step_s
    lag_s = minute_lag(dt) * dt
    found = []
    for key in LIMIT_KEYS:
        var = getattr(m, "slack_" + key, None)
        if var is None or (var.value or 0.0) <= SLACK_TOL_MW:
            continue
        excess = var.value
        if key == "spectral_mask":
            found.append(f"spectral_mask {_stated(lim, key)} cannot be met {with_what}: the closest schedule's "
                         f"total variation still exceeds the {data.variation_budget_mw:,.3f} MW that guarantees "
                         f"it by {excess:,.3f} MW")
            continue
        if key.endswith("_per_s"):
            excess /= dt
        elif key.endswith("_per_min"):
            excess *= 60.0 / lag_s * (100.0 / lim.capacity_mw if "_pct_" in key else 1.0)
        found.append(f"{key} {_stated(lim, key)} cannot be met {with_what}: the closest "
                     f"schedule still exceeds it by {excess:,.3f} {UNIT[key]}")
    if not found and not reasons:
        found.append(f"the limits cannot all be met {with_what} (the violation is within solver tolerance: "
                     "loosen a limit slightly)")
    reasons += found
    hints = []
    if "battery" not in allowed:
        hints.append("a site battery (mitigations.battery) can absorb swings of any shape")
    elif hasattr(m, "bat_power") and mit.battery.max_power_mw is not None and \
            (m.bat_power.value or 0) >= mit.battery.max_power_mw - 1e-6:
        hints.append(f"the battery is at its max_power_mw ({mit.battery.max_power_mw:g} MW)")
    elif hasattr(m, "bat_energy") and mit.battery.max_energy_mwh is not None and \
            (m.bat_energy.value or 0) / 3600 >= mit.battery.max_energy_mwh - 1e-9:
        hints.append(f"the battery is at its max_energy_mwh ({mit.battery.max_energy_mwh:g} MWh)")
    if "burn" in allowed and mit.burn.max_power_fraction < 1:
        hints.append(f"burn may only fill up to {mit.burn.max_power_fraction:.0%} of TDP")
    if found and hints:
        reasons.append("hint: " + "; ".join(hints))
    return reasons


# --- files -------------------------------------------------------------------------------

def smooth_files(workload_path: Path | str, site_path: Path | str | None = None, *,
                 gpus: int | None = None, gpu_model: str | None = None, limits: dict | None = None,
                 economics: dict | None = None, resolution_s: float | None = None,
                 options: SolveOptions | None = None) -> SmoothingResult:
    """Load a workload (CSV or YAML) and the site's ``smoothing:`` section (or a
    ``kind: smoothing`` file), apply command-line overrides, and smooth."""
    problems: list[Problem] = []
    workload = spec = None
    try:
        workload = load_workload(Path(workload_path), gpus, gpu_model)
    except InputError as err:
        problems += err.problems
    try:
        spec = load_smoothing_spec(Path(site_path)) if site_path is not None else SmoothingSpec()
        spec = with_overrides(spec, limits, economics, resolution_s=resolution_s)
    except InputError as err:
        problems += err.problems
    if problems:
        raise InputError(problems)
    return smooth(workload, spec, options)


__all__ = ["SmoothingResult", "Strategy", "diagnose", "smooth", "smooth_files"]
