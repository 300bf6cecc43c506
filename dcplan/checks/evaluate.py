"""A committed plan evaluated on today's model: the rows it breaks, in words, and what every cap
measures.

The model is built from today's inputs on the plan's own time grid; each technology fixes the
committed build on its variables and the committed dispatch is assigned to the dispatch
columns. What the plan files do not hold (which cooling option carries the IT, units on under
unit commitment, monthly peaks, ...) is completed by HiGHS with every row elastic, so that the
rows left outside their bounds are the ones no completion can satisfy. A row whose family has
registered an explanation (``SiteModel.explain``) becomes a finding with that family's message
and input; a family without one is verified by a dedicated check (the power balance, held
against the supply as the model sums it; the grid schedule, caps, N+1, the target), whose
messages name what changed since the plan. A source the plan's dispatch does not have delivered
nothing: the completion does not make it up. Each cap's
quantity is measured by the model's own definition (:meth:`dcplan.model.caps.CapRow.measured`),
as a yearly amount, whether or not the cap is in force (the check decides where it applies);
so is every annual cost line and capital price, with the inputs it comes from as the model
registers them (``SiteModel.add_cost``, ``Asset.price_inputs``).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass

import highspy
import numpy as np
import pyomo.core as pyo
import scipy.sparse as sp

from dcplan.loader import ProgramInput
from dcplan.model.build import build_single_period, time_grid_for
from dcplan.model.compute import compute_delivered
from dcplan.model.context import value_of, values_of
from dcplan.model.results import site_plan
from dcplan.model.technologies import TECHNOLOGIES
from dcplan.model.timegrid import ALL_MONTHS, grid_of_steps
from dcplan.plans.types import SitePlan
from dcplan.schema.compute import MEASURES
from dcplan.series import HOURS_PER_YEAR
from dcplan.solver.highs import Compiled, highs_lp, new_highs

TOLERANCE = 1e-3
"""Per unit of a row's coefficients: dispatch.csv keeps four decimals, solvers close rows to 1e-7."""
HOLD_SHARE = 1e-2
"""The completion's second stage holds each row's excess to the first stage's, plus this share of
``TOLERANCE``: well inside what counts as broken, well outside HiGHS's feasibility tolerance."""
COMPLETION_TIME_S = 60.0
HELD_WEIGHT = 1e3
"""How much more a MW of the plan's own figures (GPU power capped) counts than a MW of any other
row when the completion must break some: the plan's figures give way last, so the rows that
break are the limits the plan no longer meets."""


@dataclass
class BrokenRows:
    """The rows of one constraint family (one message) that a site's committed plan breaks."""

    site: str
    message: str
    input: tuple  # a Locator path (see dcplan.model.context.Explanation)
    worst: float  # how far the worst row lies outside its bounds, in the row's units
    worst_hour: int | None  # its hour of the year, for a row of one time step
    hours: float  # hours per year the broken rows stand for (0 for rows not of one step)


@dataclass
class SiteFigures:
    """What the model makes of a site's committed GPUs and cooling under today's inputs."""

    it_mw: float
    load_mw: np.ndarray  # facility load per step
    supply_mw: np.ndarray  # what the committed dispatch delivers against it per step (the power balance's other side)
    design_peak_mw: float  # what supply must carry (N+1)
    compute: dict[str, float]  # target measure -> compute delivered
    most_mw: dict[str, np.ndarray]  # source -> the most it delivers in each hour of the year (SiteModel.most_mw)


SMOOTHING_SHARES = ("smoothing_draw_added_fraction", "smoothing_peak_fraction", "smoothing_energy_overhead_fraction")
"""The capacity keys of a plan that say how its smoothed training job draws (CommittedSmoothing)."""


@dataclass(frozen=True)
class CommittedSmoothing:
    """What the model reads of a site's smoothing (the share of its design it adds to the IT's
    draw, its peak, the battery it needs), taken from the committed plan instead of re-smoothing
    the job; its cost is the plan's (a plan-only cost line)."""

    draw_added_fraction: float
    peak_fraction: float
    energy_overhead_fraction: float
    sizes: dict = dataclasses.field(default_factory=dict)
    costs_usd_per_year: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def of(cls, capacity: dict) -> CommittedSmoothing | None:
        overhead = capacity.get("smoothing_energy_overhead_fraction", 0.0)
        # a plan written before the shares were recorded drew its average share times 1 + the overhead
        added = capacity.get("smoothing_draw_added_fraction", overhead)
        peak = capacity.get("smoothing_peak_fraction", 1.0 + overhead)
        sizes = {"battery_power_mw": capacity.get("smoothing_battery_mw", 0.0),
                 "battery_energy_mwh": capacity.get("smoothing_battery_mwh", 0.0)}
        return cls(added, peak, overhead, sizes) if added or peak != 1.0 or any(sizes.values()) else None


@dataclass
class Evaluation:
    sites: dict[str, SiteFigures]
    broken: list[BrokenRows]
    caps: dict[str, list[tuple[str, float | None]]]  # cap name -> (group label, yearly value)
    costs: dict[str, dict[str, tuple[float, list[tuple]]]]  # site -> cost line -> (USD/yr, its inputs)
    prices: dict[str, dict[str, tuple[float, list[tuple]]]]  # site -> asset -> (USD per reported unit, inputs)
    plans: dict[str, SitePlan]  # site -> its figures as the model reads them at the committed build and dispatch (if asked)


def evaluate_committed(pi: ProgramInput, built: dict, dispatch: dict[str, dict[str, np.ndarray]], dates,
                       typical_days: bool, peak_days: int = 0, months: tuple[int, ...] = ALL_MONTHS,
                       site_plans: bool = False) -> Evaluation | None:
    """Evaluate the committed ``built`` (site -> SiteEntry-like: ``gpus_new``, ``cooling``,
    ``capacity``) and ``dispatch`` (site -> column -> values per step) on today's model over
    ``dates`` (first, last day); None when no completion was found in time. ``peak_days``: of
    a typical-day plan's days, those it kept for a peak hour; ``months``: those its grid covers
    (a build-out period's, 0-11); ``site_plans``: also read each site's figures (``Evaluation.plans``)."""
    tg = _committed_grid(pi, next(iter(dispatch.values())), typical_days, peak_days, months)
    smoothing = {name: CommittedSmoothing.of(b.capacity) for name, b in built.items()}
    smoothing = {name: s for name, s in smoothing.items() if s is not None}
    every_cap = [dataclasses.replace(rc, cap=rc.cap.model_copy(update={"period": "year"}), in_force=True)
                 for rc in pi.caps if rc.groups and all(n in built for _, names in rc.groups for n in names)]
    pm = build_single_period(dataclasses.replace(pi, caps=every_cap), smoothing=smoothing, time_grid=tg, dates=dates)
    sites = {id(sm.block): sm for sm in pm.sites if sm.name in built}
    # the committed dispatch: a column of one variable per step is fixed at the plan's value, one
    # of several (GPU power capped, over the curve's segments) held by a row; a column the plan
    # does not have (a grid or load shedding allowed since) delivered nothing: the completion
    # must not make it up
    pm.model.committed_sums = pyo.ConstraintList()
    fixed_at = {}
    for sm in sites.values():
        for name, col in sm.dispatch.items():
            if col.at is None or col.derive is not None:
                continue
            for t, value in zip(sm.steps, dispatch[sm.name].get(name, np.zeros(len(sm.steps)))):
                at = col.at(t)
                if not getattr(at, "is_potentially_variable", lambda: False)():
                    continue  # a figure of numbers only (no capping segments, say)
                if at.is_variable_type():
                    fixed_at[id(at)] = float(value)
                elif col.decided:  # at most the plan's: less (a smaller load since) is no break
                    pm.model.committed_sums.add(at <= float(value))
    compiled = Compiled(pm.model)
    for sm in sites.values():
        for technology in TECHNOLOGIES:
            technology.commit(sm, built[sm.name])
    lower, upper = compiled.col_lower.copy(), compiled.col_upper.copy()
    for j, var in enumerate(compiled.columns):
        value = var.value if var.fixed else fixed_at.get(id(var))
        if value is not None:
            lower[j] = upper[j] = value
    family = [r.parent_component() for r in compiled.rows]
    completed = _complete(compiled, lower, upper, measured_only=np.array([f is pm.model.component("cap_rows") for f in family]),
                          held=np.array([f is pm.model.committed_sums for f in family]))
    if completed is None:
        return None
    x, excess = completed
    compiled.store(x)
    caps: dict[str, list] = {}
    for row in pm.cap_rows:
        measured = caps.setdefault(row.cap.cap.name, [])
        if all(label != row.label for label, _ in measured):
            measured.append((row.label, row.measured()))
    committed = list(sites.values())
    costs = {sm.name: {k: (value_of(e), sm.cost_inputs.get(k, [])) for k, e in sm.costs.items()} for sm in committed}
    prices = {sm.name: {a.key: (a.capex_usd_per_unit / a.size, list(a.price_inputs)) for a in sm.assets
                        if not a.rented} for sm in committed}
    figures = {sm.name: SiteFigures(value_of(sm.block.it_total_mw), sm.dispatch["load_mw"].values(sm.steps),
                                    values_of([sm.net_supply_mw(t) for t in sm.steps]), value_of(sm.peak_load),
                                    {m: value_of(compute_delivered(sm, m)) for m in MEASURES},
                                    {k: np.broadcast_to(np.asarray(most(), dtype=float), (HOURS_PER_YEAR,))
                                     for k, most in sm.most_mw.items()})
               for sm in committed}
    return Evaluation(figures, _explain(compiled, excess, sites, tg), caps, costs, prices,
                      {sm.name: site_plan(sm, smoothing=False) for sm in committed} if site_plans else {})


def _committed_grid(pi: ProgramInput, steps: dict[str, np.ndarray], typical_days: bool, peak_days: int,
                    months: tuple[int, ...]):
    """The plan's time grid: today's typical days when they are the plan's (a month's peak then
    counts over the days that stand for it, as the plan counted it), else read from its steps.
    A plan that records no peak day was clustered without them (as before they were kept)."""
    hours, weight = steps["hour_of_year"].astype(int), steps["weight"]
    asked = len(hours) // 24 - peak_days
    if typical_days and len(hours) % 24 == 0 and asked > 0:
        today = time_grid_for(pi, asked, months=months, keep_peak=peak_days > 0)
        # dispatch.csv writes weights to 4 decimals: a one-day group of a 90-day quarter (4.05556) is 4.4e-5 off
        if np.array_equal(today.hour_of_year, hours) and np.allclose(today.weight, weight, rtol=0.0, atol=5.01e-5):
            return today
    return grid_of_steps(hours, weight, pi.program.horizon.start.year, typical_days)


def _complete(compiled: Compiled, lower: np.ndarray, upper: np.ndarray, measured_only: np.ndarray,
              held: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The columns, the free ones chosen as the optimiser would: first to minimise the rows'
    total excess over their bounds (every row elastic, integrality kept), then, with each row's
    excess held, at least cost (a month's peak at its least, say); and each row's excess. None
    when HiGHS finds no answer in time. The ``measured_only`` rows (caps) take no part: a cap is
    judged by the value it measures, and must not bend what the rest implies. The ``held`` rows
    (the plan's own figures) give way last: their excess counts ``HELD_WEIGHT`` times."""
    m, n = compiled.shape
    eye = sp.identity(m, format="csc")
    A = sp.hstack([compiled.A, eye, -eye], format="csc")
    integer = np.r_[compiled.integer & (lower != upper), np.zeros(2 * m, dtype=bool)]
    slack_upper = np.full(2 * m, np.inf)
    h = new_highs()
    h.setOptionValue("time_limit", COMPLETION_TIME_S)
    row_lower = np.where(measured_only, -np.inf, compiled.row_lower)
    row_upper = np.where(measured_only, np.inf, compiled.row_upper)
    x = None
    weight = np.where(held, HELD_WEIGHT, 1.0)
    for cost in (np.r_[np.zeros(n), weight, weight], np.r_[compiled.cost, np.zeros(2 * m)]):
        h.passModel(highs_lp(cost, np.r_[lower, np.zeros(2 * m)], np.r_[upper, slack_upper],
                             row_lower, row_upper, A, integer=integer))
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            break  # the first stage's completion stands (its costs may be above the least)
        x = np.array(h.getSolution().col_value)
        # the least excess found, held, give or take a hundredth of what counts as broken: HiGHS
        # closes the first stage's rows only to its tolerance (9e-7 seen), and held tighter the
        # second stage had been infeasible (a fresh plan's demand charge then read at its limit)
        slack_upper = x[n:] * (1 + 1e-7) + np.tile(HOLD_SHARE * TOLERANCE * _row_scale(compiled), 2)
    return None if x is None else (x[:n], x[n:n + m] + x[n + m:])


def _row_scale(compiled: Compiled) -> np.ndarray:
    """Each row's sum of absolute coefficients, at least 1: what its tolerances are per unit of."""
    return np.maximum(1.0, np.asarray(abs(compiled.A).sum(axis=1)).ravel())


def _explain(compiled: Compiled, excess: np.ndarray, sites: dict, tg) -> list[BrokenRows]:
    broken = np.flatnonzero(excess > TOLERANCE * _row_scale(compiled))
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
