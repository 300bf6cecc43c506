"""A committed plan evaluated on today's model: the rows it breaks, in words.

The model is built from today's inputs on the plan's own time grid; each technology fixes the
committed build on its variables and the committed dispatch is assigned to the dispatch
columns. What the plan files do not hold (which cooling option carries the IT, units on under
unit commitment, monthly peaks, ...) is completed by HiGHS with every row elastic, so that the
rows left outside their bounds are the ones no completion can satisfy. A row whose family has
registered an explanation (``SiteModel.explain``) becomes a finding with that family's message
and input; a family without one is verified by a dedicated check (the power balance, the grid
schedule, caps, N+1, the target), whose messages name what changed since the plan.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from dcplan.loader import ProgramInput
from dcplan.model.build import TECHNOLOGIES, build_single_period
from dcplan.model.timegrid import grid_of_steps
from dcplan.solver.highs import Compiled, highs_lp, new_highs

TOLERANCE = 1e-3
"""Per unit of a row's coefficients: dispatch.csv keeps four decimals, solvers close rows to 1e-7."""
COMPLETION_TIME_S = 60.0


@dataclass
class BrokenRows:
    """The rows of one constraint family (one message) that a site's committed plan breaks."""

    site: str
    message: str
    input: tuple  # a Locator path (see dcplan.model.context.Explanation)
    worst: float  # how far the worst row lies outside its bounds, in the row's units
    worst_hour: int | None  # its hour of the year, for a row of one time step
    hours: float  # hours per year the broken rows stand for (0 for rows not of one step)


def broken_rows(pi: ProgramInput, built: dict, dispatch: dict[str, dict[str, np.ndarray]], dates,
                typical_days: bool, smoothing: dict | None = None) -> list[BrokenRows] | None:
    """The explained rows that the committed ``built`` (site -> SiteEntry-like: ``gpus_new``,
    ``cooling``, ``capacity``) and ``dispatch`` (site -> column -> values per step) break under
    today's inputs, over ``dates`` (first, last day); None when no completion was found in time."""
    first = next(iter(dispatch.values()))
    tg = grid_of_steps(first["hour_of_year"], first["weight"], pi.program.horizon.start.year, typical_days)
    pm = build_single_period(pi, smoothing=smoothing, time_grid=tg, dates=dates)
    compiled = Compiled(pm.model)
    lower, upper = compiled.col_lower.copy(), compiled.col_upper.copy()
    column = {id(v): j for j, v in enumerate(compiled.columns)}
    sites = {}
    for sm in pm.sites:
        if sm.name not in built:
            continue
        sites[id(sm.block)] = sm
        for technology in TECHNOLOGIES:
            technology.commit(sm, built[sm.name])
        for name, col in sm.dispatch.items():
            values = dispatch[sm.name].get(name)
            if col.is_decision and values is not None:
                for t, value in zip(sm.steps, values):
                    j = column.get(id(col.at(t)))
                    if j is not None:
                        lower[j] = upper[j] = value
    for j, var in enumerate(compiled.columns):
        if var.fixed:
            lower[j] = upper[j] = var.value
    excess = _least_excess(compiled, lower, upper)
    if excess is None:
        return None
    return _explain(compiled, excess, sites, tg)


def _least_excess(compiled: Compiled, lower: np.ndarray, upper: np.ndarray) -> np.ndarray | None:
    """Per row, how far it lies outside its bounds when the free columns are chosen to minimise
    the total excess (every row elastic, integrality kept); None when HiGHS finds no answer."""
    m, n = compiled.shape
    eye = sp.identity(m, format="csc")
    A = sp.hstack([compiled.A, eye, -eye], format="csc")
    cost = np.r_[np.zeros(n), np.ones(2 * m)]
    integer = np.r_[compiled.integer & (lower != upper), np.zeros(2 * m, dtype=bool)]
    lp = highs_lp(cost, np.r_[lower, np.zeros(2 * m)], np.r_[upper, np.full(2 * m, np.inf)],
                  compiled.row_lower, compiled.row_upper, A, integer=integer)
    h = new_highs()
    h.setOptionValue("time_limit", COMPLETION_TIME_S)
    h.passModel(lp)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    x = np.array(h.getSolution().col_value)
    return x[n:n + m] + x[n + m:]


def _explain(compiled: Compiled, excess: np.ndarray, sites: dict, tg) -> list[BrokenRows]:
    scale = np.asarray(abs(compiled.A).sum(axis=1)).ravel()
    broken = np.flatnonzero(excess > TOLERANCE * np.maximum(1.0, scale))
    found: dict[tuple, BrokenRows] = {}
    counted = defaultdict(set)
    for i in broken:
        row = compiled.rows[i]
        family = row.parent_component()
        sm = sites.get(id(family.parent_block()))
        explanation = sm.explanations.get(family.local_name) if sm is not None else None
        if explanation is None:
            continue
        index = row.index()
        index = index if isinstance(index, tuple) else (() if index is None else (index,))
        message, where = explanation(*index)
        step = index[-1] if index and isinstance(index[-1], int) else None  # families over steps: t last
        hour = int(tg.hour_of_year[step]) if step is not None else None
        key = (sm.name, message, where)
        entry = found.get(key)
        if entry is None:
            entry = found[key] = BrokenRows(sm.name, message, where, 0.0, hour, 0.0)
        if excess[i] > entry.worst:
            entry.worst, entry.worst_hour = float(excess[i]), hour
        if step is not None and step not in counted[key]:
            counted[key].add(step)
            entry.hours += float(tg.weight[step])
    return list(found.values())
