"""The hand-off to HiGHS: a Pyomo model compiled once into sparse arrays, Highs objects that keep
quiet, and a time limit that holds across re-solves."""

from __future__ import annotations

import ctypes
import math
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import highspy
import numpy as np
import pyomo.core as pyo
import scipy.sparse  # noqa: F401  (Pyomo imports it lazily; keep that out of compile timings)
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from dcplan.solver.array_rows import RowFamily
from dcplan.solver.standard_form import LinearForm, Unsupported, linear_form

INF = highspy.kHighsInf
LP_FEASIBILITY_TOLERANCE = 1e-7  # HiGHS's own primal feasibility tolerance
MIP_FEASIBILITY_TOLERANCE = 1e-6  # and its MIP's, of the rows and of each integer's distance to a whole number
Status = highspy.HighsModelStatus
OUT_OF_TIME = (Status.kTimeLimit, Status.kInterrupt)
"""How HiGHS ends a run that was cut short: at the time limit, or stopped (``SolveOptions.stop``)."""
WARM_SLACK_ITERATIONS = 2500
"""A warm re-solve (the decomposition's dispatch, a branch-and-bound node) may take as many simplex
iterations as the cold solve took and this many more before it is stopped and the LP solved cold
(so no re-solve costs more than about two cold ones): one from a design far off can take four
times the cold solve's time (held-out r2027_06: 0.57 s against 0.15 s). Counted in iterations,
not seconds, so that a solve's path does not depend on how busy the machine is (a cap in seconds,
the cold solve's and 0.05 s, made the same inputs give other plans within the gap under load; at
50-60k iterations a second on a year's dispatch, the two caps are about the same)."""
PARALLEL_ROWS_RULE = 1 << 13
"""HiGHS's presolve rule that looks for parallel rows and columns (its bit in ``presolve_rule_off``).
On a year's LP with the design fixed and a yearly cap it can take a second by itself where the
rest of the solve takes a tenth (held-out r2041_06: 1.01 s against 0.17 s without it, r2043_09
1.43 s against 0.15 s); turned off there, 8.6 -> 5.5 s over 27 such LPs, none more than 0.05 s
slower (r2041_10, which presolve solves whole: 0.09 -> 0.14 s), the same iterations to one."""
AGGREGATOR_RULE = 1 << 12
"""HiGHS's presolve rule that substitutes columns out through equations (its bit in
``presolve_rule_off``). On the priced relaxation's MIP of hourly commitment with a battery
(:mod:`dcplan.solver.lagrangian`) its presolve took 35 s by itself, past any time limit (HiGHS
looks at the clock between presolve's passes: a 4.4 s limit ran 12.7 s on held-out r2048_08);
without it 0.7 s, and the bound within the limit as good or better (r2043_08)."""
FOURIER_MOTZKIN_RULE = 1 << 22
"""HiGHS's Fourier-Motzkin elimination in presolve (rule 22 of HiGHS 1.16), off in every run
dcplan makes (:func:`new_highs`). HiGHS looks at no clock inside it: on a decomposition's master
with an hourly clean-energy cap (a column an hour, 8,773 columns and 6 integers) it ran past a
300 s time limit and was still running at 400 s (an audit's case, its master kept in
tests/data/fourier_motzkin_master.mps); without it that master solves in 0.3 s."""


def presolve_rules_off(h: highspy.Highs, rules: int) -> None:
    """Switch off presolve ``rules`` (bits of ``presolve_rule_off``), beside those off already."""
    current = h.getOptionValue("presolve_rule_off")
    current = current[1] if isinstance(current, tuple) else current  # (status, value) in some highspy versions
    h.setOptionValue("presolve_rule_off", current | rules)


@dataclass
class SolveOptions:
    time_limit_s: float | None = None
    mip_gap: float = 1e-4
    strategy: str = "auto"  # see dcplan.solver.STRATEGIES
    progress: Callable[[str, float, float | None], None] | None = None  # (phase, elapsed s, gap)
    threads: int | None = None
    duals: bool = False  # compute row duals (shadow prices) for the plan found
    relax_for_duals: tuple[str, ...] = ("gpu_units",)  # integer components left free for the duals
    solver_log: str | None = None  # a file that receives HiGHS's own log
    feasibility_tolerance: float | None = None
    """HiGHS's primal and MIP feasibility tolerances, in the rows' own units (None: its own, 1e-7
    and 1e-6): see :func:`dcplan.solver.held_to`."""
    stop: threading.Event | None = None
    """Set it (from any thread: a Ctrl-C handler, a notebook's button) to end the solve as at its
    time limit: the best plan found so far is returned, with its gap."""


@dataclass
class SolveResult:
    status: str  # optimal | time_limit (a plan, gap open) | infeasible | unbounded | no_solution | error
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    gap_share: float = 1.0  # the share of the objective the gap is of (gap = (objective - bound) / (objective x it))
    strategy: str = ""
    compile_seconds: float = 0.0
    solve_seconds: float = 0.0
    lp_solves: int = 0
    nodes: int = 0
    integer_columns: int = 0
    columns: int = 0
    rows: int = 0
    message: str = ""
    row_duals: np.ndarray | None = field(default=None, repr=False)  # with integers fixed at the plan; NaN: unpriced
    row_index: dict = field(default_factory=dict, repr=False)  # id(constraint) -> row

    def dual(self, constraint) -> float | None:
        """Marginal change of the objective per unit increase of the constraint's bound; None
        where there are no duals or the strategy could not price this row (see :meth:`unpriced`)."""
        row = self.row_index.get(id(constraint))
        if row is None or self.row_duals is None or np.isnan(self.row_duals[row]):
            return None
        return float(self.row_duals[row])

    def unpriced(self, constraint) -> bool:
        """Duals were computed, but not this row's: a cap over the year in the decomposition
        where a feasibility cut holds the design (see benders._Master.over_time_duals)."""
        row = self.row_index.get(id(constraint))
        return row is not None and self.row_duals is not None and bool(np.isnan(self.row_duals[row]))

    @property
    def has_solution(self) -> bool:
        return self.status in ("optimal", "time_limit")


_banner_swallowed = False


_scheduler = threading.local()  # .threads: what HiGHS's scheduler of this thread was started for


class _Highs(highspy.Highs):
    """A Highs whose run restarts HiGHS's scheduler where it was started for another thread
    count. HiGHS keeps one scheduler per thread, started at the thread's first run with that run's
    count (0: its default), and refuses a later run on the thread that asks another (an error
    status: `dcplan.plan(threads=1)` after a plan with the default failed as "design rows: error",
    as did every scenario of a sweep run from a script that had planned at import). A restart
    touches the calling thread's scheduler only, never a run in another thread."""

    threads_asked = 0  # (0: HiGHS's default)

    def run(self):
        started = getattr(_scheduler, "threads", None)
        if started is not None and started != self.threads_asked:
            highspy.Highs.resetGlobalScheduler(True)
        _scheduler.threads = self.threads_asked
        return super().run()


def new_highs(options: SolveOptions | None = None) -> highspy.Highs:
    """A Highs object with its console output off. HiGHS prints a copyright banner to the C
    stdout when the first one is made, whatever the options: it is swallowed here, so that
    ``--format json`` and ``-q`` keep stdout clean. ``options.solver_log`` appends HiGHS's log."""
    global _banner_swallowed
    if not _banner_swallowed:
        _banner_swallowed = True
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                h = _Highs()
                ctypes.CDLL(None).fflush(None)
        finally:
            os.dup2(saved, 1)
            os.close(saved)
    else:
        h = _Highs()
    h.setOptionValue("output_flag", False)
    presolve_rules_off(h, FOURIER_MOTZKIN_RULE)
    if options is not None:
        if options.solver_log:
            h.setOptionValue("output_flag", True)
            h.setOptionValue("log_to_console", False)
            h.setOptionValue("log_file", str(options.solver_log))
        if options.threads:
            h.setOptionValue("threads", options.threads)
            h.threads_asked = options.threads
        if options.feasibility_tolerance:
            h.setOptionValue("primal_feasibility_tolerance", options.feasibility_tolerance)
            h.setOptionValue("mip_feasibility_tolerance", options.feasibility_tolerance)
        if options.stop is not None:
            _stop_when_set(h, options.stop)
    return h


def _stop_when_set(h: highspy.Highs, stop: threading.Event) -> None:
    """Let HiGHS's simplex, interior point and MIP end their run once ``stop`` is set (the
    status is then ``kInterrupt``)."""
    def interrupt(event) -> None:
        if stop.is_set():
            event.data_in.user_interrupt = True

    h.cbSimplexInterrupt += interrupt
    h.cbIpmInterrupt += interrupt
    h.cbMipInterrupt += interrupt


GRACE_S = 15.0
"""Seconds a solve stopped (Ctrl-C) or out of time may still take to make its best design a
plan: to commit its units hour by hour (the decomposition relaxes commitment), or to dispatch its
rounded-up commitment where that MIP was cut short. Without them a full year of hourly
commitment kept no plan, though its status line showed a gap (a review's case: round 9, gap
0.118 %; an audit's: `--time-limit 3.4`, gap 0.104 %)."""


class Deadline:
    """The wall-clock limit of one solve, shared by every HiGHS run in it. HiGHS's own
    ``time_limit`` counts a Highs object's total run time, so each run gets that plus what is
    left (passing only what is left would count earlier runs twice). Once ``stop`` is set (see
    ``SolveOptions.stop``) no time is left."""

    def __init__(self, limit_s: float | None, start: float, stop: threading.Event | None = None):
        self.limit_s, self.start, self.stop = limit_s, start, stop

    def remaining(self) -> float:
        if self.stop is not None and self.stop.is_set():
            return 0.0
        if self.limit_s is None:
            return INF
        return max(0.0, self.limit_s - (time.perf_counter() - self.start))

    @property
    def passed(self) -> bool:
        return self.remaining() <= 0

    def arm(self, h: highspy.Highs, cap_s: float | None = None) -> None:
        """Let ``h`` run until the deadline, or for at most ``cap_s`` seconds more."""
        budget = min(self.remaining(), cap_s if cap_s is not None else INF)
        h.setOptionValue("time_limit", h.getRunTime() + budget if math.isfinite(budget) else INF)



def fractional(values: np.ndarray) -> np.ndarray:
    """Which of integer columns' ``values`` are not whole numbers, by HiGHS's own test: farther
    from one than its MIP tolerance, an absolute one (a relative tolerance had let 14,598.125
    servers of GPUs pass as whole, and the plan was one GPU short of its target)."""
    return np.abs(values - np.round(values)) > MIP_FEASIBILITY_TOLERANCE

class Compiled:
    """The model as HiGHS arrays, with the map back to Pyomo variables and constraints: from
    dcplan's own compiler of linear rows (:mod:`dcplan.solver.standard_form`), or from Pyomo's
    standard-form compiler for an expression the former does not read."""

    def __init__(self, model: pyo.ConcreteModel):
        # its columns name their components only weakly (Pyomo): held here, the model lives as
        # long as its compiled form (a test that kept only the form saw them vanish)
        self.model = model
        try:
            form = linear_form(model)
        except Unsupported:
            form = _pyomo_form(model)
        self.columns, self.rows, self.offset = form.columns, form.rows, form.offset
        self.A = form.A.tocsc()
        self.cost = form.cost
        self.row_lower, self.row_upper = form.row_lower, form.row_upper
        self.col_lower = np.array([-INF if v.lb is None else v.lb for v in self.columns], dtype=float)
        self.col_upper = np.array([INF if v.ub is None else v.ub for v in self.columns], dtype=float)
        self.integer = np.array([v.is_integer() or v.is_binary() for v in self.columns], dtype=bool)
        self.row_index = {id(r): i for i, r in enumerate(self.rows)}
        # rows other rows imply (a battery's charge alone within its power, beside charge plus
        # discharge): bounds to the decomposition, left free in a whole-model solve (:meth:`lp`),
        # where a year's MIP with them took 1.7 times as long as without
        self.implied = np.zeros(len(self.rows), dtype=bool)
        for family in model.component_objects(pyo.Constraint, active=True, descend_into=True):
            if isinstance(family, RowFamily) and family.implied:
                self.implied[[self.row_index[id(r)] for r in family.values() if id(r) in self.row_index]] = True
        undefined = (not np.isfinite(self.A.data).all() or not np.isfinite(self.cost).all()
                     or any(np.isnan(b).any() for b in (self.row_lower, self.row_upper, self.col_lower, self.col_upper)))
        if undefined:  # HiGHS given NaN or an infinite coefficient can run past any time limit
            raise ValueError("the model has an undefined or infinite coefficient, cost or bound "
                             "(inputs are held below 1e15 in magnitude: a product of them overflowed)")

    @property
    def shape(self) -> tuple[int, int]:
        return self.A.shape

    def components(self, names: tuple[str, ...]) -> np.ndarray:
        """Mask of the columns whose Pyomo component is named in ``names``."""
        return np.array([v.parent_component().local_name in names for v in self.columns], dtype=bool)

    def lp(self, integral: bool) -> highspy.HighsLp:
        """The whole model for HiGHS, its :attr:`implied` rows free (HiGHS's presolve drops them;
        their duals are 0, a dual solution of the model with them)."""
        return highs_lp(self.cost, self.col_lower, self.col_upper, np.where(self.implied, -INF, self.row_lower),
                        np.where(self.implied, INF, self.row_upper), self.A, self.offset,
                        self.integer if integral else None)

    def store(self, x: np.ndarray) -> None:
        for var, value in zip(self.columns, x):
            var.set_value(float(value), skip_validation=True)


def _pyomo_form(model: pyo.ConcreteModel) -> LinearForm:
    """Pyomo's standard form of ``model`` (a ranged row becomes two rows, one per bound)."""
    repn = LinearStandardFormCompiler().write(model, mixed_form=True, set_sense=None)
    cost = np.asarray(repn.c.toarray()).ravel() if repn.c.shape[0] else np.zeros(repn.A.shape[1])
    sense = np.array([r.bound_type for r in repn.rows], dtype=int)
    rhs = np.asarray(repn.rhs, dtype=float)
    return LinearForm(repn.A, repn.columns, [r.constraint for r in repn.rows], np.where(sense <= 0, rhs, -INF),
                      np.where(sense >= 0, rhs, INF), cost, float(repn.c_offset[0]) if len(repn.c_offset) else 0.0)


def highs_lp(cost, col_lower, col_upper, row_lower, row_upper, A, offset: float = 0.0,
             integer: np.ndarray | None = None) -> highspy.HighsLp:
    """A HighsLp from arrays and a sparse matrix (integrality from the ``integer`` mask)."""
    A = A.tocsc()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = A.shape[1], A.shape[0]
    lp.col_cost_, lp.offset_ = np.asarray(cost, dtype=float), offset
    lp.col_lower_, lp.col_upper_ = np.asarray(col_lower, dtype=float), np.asarray(col_upper, dtype=float)
    lp.row_lower_, lp.row_upper_ = np.asarray(row_lower, dtype=float), np.asarray(row_upper, dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = A.indptr, A.indices, A.data
    if integer is not None and integer.any():
        kinds = highspy.HighsVarType
        lp.integrality_ = [kinds.kInteger if i else kinds.kContinuous for i in integer]
    return lp


class Progress:
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


def relative_gap(obj: float, bound: float) -> float:
    """(obj - bound) / |obj|, at least 0; infinite while either is unknown (infinite)."""
    if not (math.isfinite(obj) and math.isfinite(bound)):
        return math.inf
    return max(0.0, (obj - bound) / max(abs(obj), 1e-9))
