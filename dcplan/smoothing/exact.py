"""The strategies that solve the whole trace at once, exactly: one LP (or MILP) over it, or one
period of a trace that repeats (see :class:`dcplan.smoothing.run.Strategy`)."""

from __future__ import annotations

import dataclasses

import numpy as np

from dcplan.smoothing.model import WRAP_ROWS, ModelData, read, swing_implied
from dcplan.smoothing.run import Context, Outcome, run_model, time_left

WRAP_DUAL_TOL = 1e-7
"""A row whose dual is at most this (USD/year per MW) is not binding (HiGHS's dual tolerance)."""


def direct(ctx: Context) -> Outcome:
    """The whole trace as one LP (or MILP, with GPU settings or burn to choose), cyclic: exact."""
    sm, res = run_model(ctx, ctx.data, time_left(ctx))
    method = {"method": "direct", "steps": ctx.data.steps, "rows": res.rows, "columns": res.columns,
              "strategy": res.strategy, "lp_solves": res.lp_solves}
    if res.status == "infeasible":
        return Outcome("infeasible", method, res)
    if res.status == "no_solution":  # what the solver says when the time ran out first
        stopped = ctx.options.stop is not None and ctx.options.stop.is_set()
        return Outcome("time_limit", method, res, reasons=[f"{'stopped' if stopped else 'the time limit ran out'} "
                                                           "before any schedule"])
    if not res.has_solution:
        return Outcome(res.status, method, res, reasons=[f"solver: {res.status}" + (f" ({res.message})"
                                                                                  if res.message else "")])
    arrays, chosen, burn_on, sizes = read(sm)
    bound = res.bound if res.bound is not None else res.objective
    method["gap"] = res.gap or 0.0
    return Outcome(res.status, method, res, arrays, chosen, burn_on, sizes,
                    None if bound is None else bound + ctx.cap_capex)


def repeat_period(data: ModelData) -> int | None:
    """The fewest steps p (the trace n >= 2 of them) after which the load, and what each GPU
    setting adds and leaves for burn, repeat (to 1e-9 MW); None when they do not, or when swing
    windows shorter than p would reach back across its end (not covered by ``periodic``)."""
    x = np.vstack([data.load_mw] + [p.uplift_mw for p in data.profiles]
                  + [p.burn_room_mw for p in data.profiles if p.burn_room_mw is not None])
    T, lim = data.steps, data.limits
    for p in range(2, T // 2 + 1):
        if T % p == 0 and np.allclose(x[:, p:], x[:, :-p], rtol=0.0, atol=1e-9):
            swing_rows = lim.swing_mw is not None and not swing_implied(lim, data.step_s, data.window())
            return None if swing_rows and data.window() < p else p
    return None


def periodic(ctx: Context, p: int) -> Outcome | None:
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
    sm, res = run_model(ctx, one, time_left(ctx, duals=True))
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
    return Outcome("optimal", method, res, {k: np.tile(v, n) for k, v in arrays.items()}, chosen, burn_on, sizes,
                    bound + ctx.cap_capex)
