"""A long trace in two levels: a coarse model on block means (a bound, and the plan), a rolling
horizon at full resolution (the schedule), and the pieces' Lagrangian bound that proves the gap
and may roll again (see :class:`dcplan.smoothing.run.Strategy`)."""

from __future__ import annotations

import dataclasses
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from dcplan.smoothing.bound import Marginals, lagrangian_bound, same_sizes
from dcplan.smoothing.model import (
    Boundary,
    ModelData,
    Profile,
    SmoothingModel,
    WithinBlocks,
    build,
    read,
)
from dcplan.smoothing.prepare import block_means
from dcplan.smoothing.result import SmoothingResult, fill, gap_of
from dcplan.smoothing.run import (
    SCHEDULE,
    CoarsePlan,
    Context,
    Outcome,
    Strategy,
    count_times,
    run_lp,
    run_model,
    solve_lp,
    time_left,
)
from dcplan.solver import SolveOptions
from dcplan.solver.highs import Compiled, Deadline


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
        return None if x is None else block_means(x, f, T)

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


@dataclass
class _Piece:
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


def two_level(ctx: Context, st: Strategy) -> Outcome:
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
    deadline = Deadline(ctx.options.time_limit_s, ctx.started, ctx.options.stop)
    t1 = time.perf_counter()
    # the coarse level may take half of what is left; the full resolution the rest
    sm_c, res_c = run_model(ctx, coarse, dataclasses.replace(
        ctx.options, time_limit_s=None if ctx.options.time_limit_s is None else deadline.remaining() / 2),
        interior=True)
    method["coarse_seconds"] = time.perf_counter() - t1
    method["coarse_rows"], method["coarse_columns"] = res_c.rows, res_c.columns
    if res_c.status == "infeasible" and covers:
        # the coarse model is a relaxation: the full problem is infeasible too
        return Outcome("infeasible", method, res_c, diagnose_data=coarse)
    if res_c.status == "infeasible":
        left = T - coarse.steps * f
        return Outcome("no_solution", method, res_c, reasons=[
            f"the coarse level (blocks of {f} steps) has no schedule, but its blocks leave out the trace's "
            f"last {left} step(s), so that is no proof that none exists; a trace of a multiple of {f} steps "
            "(or another --resolution-s) settles it"])
    if res_c.status == "no_solution":  # what the solver says when the time ran out first
        return Outcome("time_limit", method, res_c, reasons=["the time limit ran out at the coarse level, "
                                                              "before any schedule; give more time"])
    if not res_c.has_solution:
        return Outcome(res_c.status, method, res_c, reasons=[f"solver (coarse level): {res_c.status}"])
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
    plan = CoarsePlan(st, lookahead, chosen, burn_on, (np.arange(coarse.steps) + 1) * f, targets,
                       {k: float(v[-1]) for k, v in targets.items()},  # cyclic: where the coarse plan ends
                       lower, res_c)
    return _rolling(ctx, plan, sizes, method, deadline)


def _rolling(ctx: Context, plan: CoarsePlan, sizes: tuple[float, float], method: dict,
             deadline: Deadline) -> Outcome:
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

    def prepare(a: int, L: int) -> _Piece:
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
        return _Piece(a, b, e, L, sm, compiled)

    def hold(prep: _Piece) -> None:
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

    # the stop (Ctrl-C) reaches each piece's solve: without a time limit a piece ran on for a
    # minute after it
    options = SolveOptions(threads=ctx.options.threads, stop=ctx.options.stop)
    prep = prepare(0, L)
    with ThreadPoolExecutor(max_workers=1) as pool:
        while prep is not None:
            a, b, e = prep.a, prep.b, prep.e
            if e == T and not soft_end:
                final_a = a
            hold(prep)
            options.time_limit_s = deadline.remaining() if ctx.options.time_limit_s is not None else None
            solving = pool.submit(run_lp, prep.compiled, options)
            # the next piece is built while this one is solved (HiGHS lets go of the GIL)
            ahead = prepare(b, st.piece_steps) if b < T and not (budget is not None and a == 0) else None
            res, x, reduced = solving.result()
            ctx.timings["solve_s"] += res.solve_seconds
            last_res = res
            if res.status != "optimal" and deadline.passed:  # a piece cut short is not a schedule
                method.update(pieces=pieces, stopped_at_s=a * dt)
                return Outcome("time_limit", method, res, lower_bound=lower, reasons=[
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
                return Outcome("no_solution", method, res, reasons=[
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
    return Outcome(status, method, last_res, out, chosen, burn_on, (p_mw, e_mj), lower, seams=seams, plan=plan)


def tighten(r: SmoothingResult, ctx: Context, o: Outcome) -> None:
    """The pieces' Lagrangian bound (:mod:`dcplan.smoothing.bound`), with the schedule planned
    again where it loses most against it; then, while the gap is above the strategy's
    ``target_gap`` (and at most ``max_rolls`` times), the rolling horizon again with the battery
    the cuts find best, its own prices adding cuts to the model (a rolling horizon's prices are
    good near its own sizes, far from them weak); the coarse plan's charges kept as floors or
    not as the first such roll found cheaper. The cheapest schedule and the best bound are kept.
    Within what is left of the time limit."""
    t0 = time.perf_counter()
    deadline = Deadline(ctx.options.time_limit_s, ctx.started, ctx.options.stop)
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
                fill(r, ctx, o)
        else:
            _keep_cheaper(r, ctx, o)
        if bound is None:
            break
        model = bound.model
        value = bound.usd_per_year + ctx.cap_capex
        r.method["piece_bound_usd_per_year"] = max(value, r.method.get("piece_bound_usd_per_year", -math.inf))
        r.lower_bound_usd_per_year = value if r.lower_bound_usd_per_year is None else max(value, r.lower_bound_usd_per_year)
        if (bound.sizes is None or gap_of(r) <= st.target_gap or deadline.passed or r.method["rolls"] >= st.max_rolls
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
    r.method["gap"] = gap_of(r)


def _rolled_again(r: SmoothingResult, ctx: Context, plan: CoarsePlan, sizes: tuple[float, float],
                  deadline: Deadline, floors: bool | None) -> tuple[Outcome | None, bool]:
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


def _keep_cheaper(r: SmoothingResult, ctx: Context, o: Outcome) -> None:
    """``o``'s schedule in ``r`` where it is cheaper than ``r``'s."""
    other = _filled(r, ctx, o)
    if other.objective_usd_per_year < r.objective_usd_per_year:
        for name in ("schedule", "sizes", "costs_usd_per_year", "energy_overhead_fraction", "after",
                     "trace_after", "objective_usd_per_year"):
            setattr(r, name, getattr(other, name))
        r.method.update({k: o.method[k] for k in ("pieces", "retries", "fine_seconds")})


def _filled(r: SmoothingResult, ctx: Context, o: Outcome) -> SmoothingResult:
    """A copy of ``r`` with ``o``'s schedule and its figures."""
    other = dataclasses.replace(r, method=dict(r.method))
    fill(other, ctx, o)
    return other


def _replan(ctx: Context, o: Outcome, a: int, b: int) -> bool:
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
    res = solve_lp(sm, time_left(ctx))[0]
    count_times(ctx, sm, res)
    if res.status != "optimal":
        return False
    arrays = read(sm)[0]
    for k in SCHEDULE:
        out[k][a:b] = arrays[k]
    return True


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
