"""Benders decomposition: the build in a small master problem, the year's dispatch in a
subproblem.

A planning model has few design columns (GPU units, the cooling choice, gas units, MW of solar,
battery, ...) and tens of thousands of operational ones (each hour's dispatch). With the design
fixed, every "dispatch <= capacity" row becomes a bound and the dispatch LP solves some twenty
times faster than the whole LP; a new design only moves row bounds, so each later dispatch is a
warm dual-simplex re-solve. The master holds the design rows, the design columns (integers
kept integral) and one variable for the dispatch cost, bounded below by cuts from the dispatch
LP's duals (optimality cuts) or dual rays (feasibility cuts). The master's optimum is a lower
bound on the plan's cost and every evaluated design an upper bound: the loop is exact up to
``mip_gap``, like branch-and-bound, and stops with the same guarantee.

First the master is solved as an LP (cheap cuts around the relaxation), then as a MIP. When
operational columns are integer too (hourly unit commitment), they are relaxed in the loop
(a valid lower bound) and the converged design's dispatch is then solved with them integral;
if that closes the gap the plan is exact, otherwise the caller finishes with a monolithic MIP
started from it. Every loop has a bounded cost: past ``max_rounds`` or its time budget it hands
over its best plan rather than going on.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from dcplan.solver.highs import (
    INF,
    Compiled,
    Deadline,
    Progress,
    SolveOptions,
    Status,
    highs_lp,
    new_highs,
    relative_gap,
)

ELASTIC_MIN_TERMS = 24  # a row over more dispatch columns than a day's is a cap over time
PENALTY_SCALE = 1e3  # price of a violated design row, relative to the dearest dispatch cost
MAX_ROUNDS = 200  # Benders iterations before handing over (converged cases take 5-40)
SOLVE_CAP_COLD = 10  # one dispatch solve may take this many cold solves' time (and a second) ...
BUDGET_COLD = 60  # ... and the whole loop this many (and five seconds): a whole-model LP is
# typically 20-40 cold dispatch solves, so a loop that will not converge costs about as much as
# one more monolithic solve before it hands over
INFEASIBLE_TOL = 1e-7
VIOLATION_TOL = 1e-7


@dataclass
class Outcome:
    status: str  # optimal | handover (not converged: best plan and bound so far) | infeasible | no_solution
    objective: float | None = None
    bound: float | None = None
    x: np.ndarray | None = None  # a full column vector of the best plan
    row_duals: np.ndarray | None = None
    rounds: int = 0
    sub_solves: int = 0
    message: str = ""


class _Split:
    """The columns and rows of the compiled model, parted into design and operational."""

    def __init__(self, compiled: Compiled, operational: np.ndarray):
        self.c = compiled
        self.D, self.O = np.flatnonzero(~operational), np.flatnonzero(operational)
        A = compiled.A.tocsr()
        has_op = np.diff(A[:, self.O].tocsr().indptr) > 0
        self.RS, self.RM = np.flatnonzero(has_op), np.flatnonzero(~has_op)
        sub = A[self.RS]
        self.A_sub_op = sub[:, self.O].tocsc()
        self.A_sub_design = sub[:, self.D].tocsc()
        self.A_master = A[self.RM][:, self.D].tocsc()
        self.moved = np.flatnonzero(np.diff(self.A_sub_design.tocsr().indptr) > 0).astype(np.int32)
        self.design_integer = compiled.integer[self.D]
        self.op_integer = compiled.integer[self.O]

    def full(self, xd: np.ndarray, xo: np.ndarray) -> np.ndarray:
        x = np.empty(self.c.shape[1])
        x[self.D], x[self.O] = xd, xo
        return x


class _Dispatch:
    """The subproblem: dispatch with the design fixed, re-solved warm as the design moves."""

    def __init__(self, split: _Split, options: SolveOptions, deadline: Deadline):
        self.s, self.deadline = split, deadline
        c = split.c
        self.h = new_highs(options)
        self.row_lower, self.row_upper = c.row_lower[split.RS], c.row_upper[split.RS]
        # elastic: rows that the design moves and that tie several dispatch columns together (a
        # power balance), and rows over many steps (yearly caps), may be violated at a price, so
        # that a design without a dispatch still yields an informative cut rather than a slow
        # infeasibility proof. Rows of one dispatch column stay as they are: with the design
        # fixed, presolve makes them bounds, which is what makes the dispatch fast.
        per_row = np.diff(split.A_sub_op.tocsr().indptr)
        is_moved = np.zeros(len(split.RS), dtype=bool)
        is_moved[split.moved] = True
        moved = np.flatnonzero((is_moved & (per_row > 1)) | (per_row > ELASTIC_MIN_TERMS)).astype(np.int32)
        up = moved[np.isfinite(self.row_upper[moved])]
        lo = moved[np.isfinite(self.row_lower[moved])]
        n_op, n_rows = len(split.O), len(split.RS)
        slack = sp.csc_matrix((np.r_[-np.ones(len(up)), np.ones(len(lo))],
                               (np.r_[up, lo], np.arange(len(up) + len(lo)))), shape=(n_rows, len(up) + len(lo)))
        self.slack = np.arange(n_op, n_op + slack.shape[1])
        self.penalty = PENALTY_SCALE * max(1.0, float(np.abs(c.cost[split.O]).max(initial=0.0)))
        self.col_lower = np.r_[c.col_lower[split.O], np.zeros(len(self.slack))]
        self.col_upper = np.r_[c.col_upper[split.O], np.full(len(self.slack), INF)]
        self.A = sp.hstack([split.A_sub_op, slack]).tocsc()
        self.h.passModel(highs_lp(np.r_[c.cost[split.O], np.full(len(self.slack), self.penalty)],
                                  self.col_lower, self.col_upper, self.row_lower, self.row_upper, self.A))
        self.solves, self.seconds, self.cold_seconds = 0, 0.0, None

    @property
    def cap_s(self) -> float:
        return SOLVE_CAP_COLD * self.cold_seconds + 1.0

    @property
    def over_budget(self) -> bool:
        return self.cold_seconds is not None and self.seconds > BUDGET_COLD * self.cold_seconds + 5.0

    def bounds_at(self, xd: np.ndarray):
        shift = self.s.A_sub_design @ xd
        return self.row_lower - shift, self.row_upper - shift

    def solve(self, xd: np.ndarray):
        """('ok', (cost, gradient in the design, x, row duals)) | ('infeasible', cut) |
        ('time' | 'error', message). A warm re-solve may take as long as the first, cold one
        did (and half a second): past that, and after an infeasible design, it is solved cold."""
        lower, upper = self.bounds_at(xd)
        moved = self.s.moved
        self.h.changeRowsBounds(len(moved), moved, lower[moved], upper[moved])
        status = self._run(warm=self.cold_seconds is not None)
        if status == Status.kTimeLimit and not self.deadline.passed:
            status = self._run(warm=False)
            if status == Status.kTimeLimit and not self.deadline.passed:
                return "slow", "a dispatch solve took longer than the decomposition allows"
        if status == Status.kInfeasible:
            cut = self._farkas_cut(lower, upper)
            if cut is None:  # presolve proved it without a ray: once more on the simplex
                self.h.setOptionValue("presolve", "off")
                self.h.clearSolver()
                self.h.run()
                self.solves += 1
                cut = self._farkas_cut(lower, upper) if self.h.getModelStatus() == Status.kInfeasible else None
            self.h.clearSolver()  # the basis that proved infeasibility is a poor start
            return ("infeasible", cut) if cut is not None else ("error", "no certificate of infeasibility")
        if status == Status.kTimeLimit:
            return "time", "time limit"
        if status != Status.kOptimal:
            return "error", self.h.modelStatusToString(status)
        sol = self.h.getSolution()
        y = np.array(sol.row_dual)
        x = np.array(sol.col_value)
        gradient = -(self.s.A_sub_design.T @ y)
        violation = float(x[self.slack].sum())
        return "ok", (self.h.getInfo().objective_function_value, gradient, x[: len(self.s.O)], y, violation)

    def raise_penalty(self) -> None:
        """A dearer violation: the cuts so far stay valid (they under-estimate this dispatch too)."""
        self.penalty *= 100
        n = len(self.slack)
        self.h.changeColsCost(n, self.slack.astype(np.int32), np.full(n, self.penalty))

    def _run(self, warm: bool):
        h = self.h
        if warm:
            h.setOptionValue("presolve", "off")
            self.deadline.arm(h, cap_s=self.cold_seconds + 0.5)
        else:
            h.setOptionValue("presolve", "on")
            h.clearSolver()
            self.deadline.arm(h, cap_s=None if self.cold_seconds is None else self.cap_s)
        t = time.perf_counter()
        h.run()
        elapsed = time.perf_counter() - t
        self.seconds += elapsed
        self.solves += 1
        status = h.getModelStatus()
        if not warm and status == Status.kOptimal:
            self.cold_seconds = max(self.cold_seconds or 0.0, elapsed)
        return status

    def _farkas_cut(self, lower, upper):
        """A feasibility cut ``a @ x_design <= b`` from the LP's dual ray, checked here: it must
        cut off the design at hand (either sign of the ray is tried)."""
        _, has_ray, ray = self.h.getDualRay()
        if not has_ray:
            return None
        ray = np.asarray(ray, dtype=float)
        A_op, A_d = self.A, self.s.A_sub_design
        for r in (ray, -ray):
            pos, neg = r > 0, r < 0
            if np.any(~np.isfinite(lower[pos])) or np.any(~np.isfinite(upper[neg])):
                continue
            reduced = A_op.T @ r  # max over the column box of reduced @ y
            scale = max(1.0, float(np.abs(r).max()))
            reduced[np.abs(reduced) < 1e-9 * scale] = 0.0
            top = np.where(reduced > 0, self.col_upper, self.col_lower)
            if np.any(~np.isfinite(top[reduced != 0])):
                continue
            gamma = float(reduced @ np.where(reduced != 0, top, 0.0))
            rl, ru = self.s.c.row_lower[self.s.RS], self.s.c.row_upper[self.s.RS]
            const = float(r[pos] @ rl[pos] + r[neg] @ ru[neg])
            a = -(A_d.T @ r)  # the ray's bound side moves by -A_d x
            beta_now = float(r[pos] @ lower[pos] + r[neg] @ upper[neg])
            if beta_now - gamma > INFEASIBLE_TOL * max(1.0, abs(gamma), abs(beta_now)):
                return a, gamma - const
        return None


class _Master:
    """Design rows and columns plus ``theta`` (the dispatch cost), bounded by the cuts."""

    def __init__(self, split: _Split, options: SolveOptions):
        self.s = split
        c = split.c
        n = len(split.D)
        self.n = n
        self.h = new_highs(options)
        A = sp.hstack([split.A_master, sp.csc_matrix((split.A_master.shape[0], 1))]).tocsc()
        self.cost = np.r_[c.cost[split.D], 1.0]
        self.h.passModel(highs_lp(self.cost, np.r_[c.col_lower[split.D], -INF], np.r_[c.col_upper[split.D], INF],
                                  c.row_lower[split.RM], c.row_upper[split.RM], A))
        self.cut_index = np.arange(n + 1, dtype=np.int32)
        self.has_optimality_cut = False
        self.integral = False

    def add_optimality_cut(self, cost: float, gradient: np.ndarray, xd: np.ndarray) -> None:
        # theta >= cost + gradient @ (x - xd)
        self.h.addRow(float(cost - gradient @ xd), INF, self.n + 1, self.cut_index, np.r_[-gradient, 1.0])
        self.has_optimality_cut = True

    def add_feasibility_cut(self, a: np.ndarray, b: float) -> None:
        nz = np.flatnonzero(a)
        self.h.addRow(-INF, float(b), len(nz), nz.astype(np.int32), a[nz])

    def make_integral(self) -> None:
        integer = np.flatnonzero(self.s.design_integer).astype(np.int32)
        if len(integer):
            kinds = [highspy.HighsVarType.kInteger] * len(integer)
            self.h.changeColsIntegrality(len(integer), integer, kinds)
        self.integral = True

    def row_duals_at(self, xd: np.ndarray, relax: np.ndarray) -> np.ndarray | None:
        """Duals of the design rows around ``xd``: its integers fixed but those in ``relax``
        (GPU units), as the LP of the master; with the dispatch's cuts, they price the design
        rows as the whole model's LP would near the plan."""
        fix = np.flatnonzero(self.s.design_integer & ~relax).astype(np.int32)
        free = np.flatnonzero(self.s.design_integer).astype(np.int32)
        if len(free):
            self.h.changeColsIntegrality(len(free), free, [highspy.HighsVarType.kContinuous] * len(free))
        if len(fix):
            self.h.changeColsBounds(len(fix), fix, xd[fix], xd[fix])
        self.h.run()
        if self.h.getModelStatus() != Status.kOptimal:
            return None
        return np.array(self.h.getSolution().row_dual)[: self.s.A_master.shape[0]]

    def solve(self, deadline: Deadline, mip_gap: float, region: tuple[np.ndarray, np.ndarray] | None = None):
        """(status, x_design, lower bound on the plan's cost less the model's offset, columns at
        the edge of ``region``). ``region``: (centre, radius) of a box that keeps the LP master's
        continuous design near the best design so far; its bound counts only when no column is at
        its edge (the LP is convex, so the box's optimum is then the master's)."""
        c, n = self.s.c, self.n
        lower, upper = c.col_lower[self.s.D].copy(), c.col_upper[self.s.D].copy()
        tight_lo = tight_hi = np.zeros(n, dtype=bool)
        if region is not None:
            centre, radius = region
            cont = ~self.s.design_integer
            lo, hi = np.maximum(lower, centre - radius), np.minimum(upper, centre + radius)
            tight_lo, tight_hi = cont & (lo > lower), cont & (hi < upper)
            lower[cont], upper[cont] = lo[cont], hi[cont]
        self.h.changeColsBounds(n, self.cut_index[:n], lower, upper)
        self.h.changeColBounds(n, -INF if self.has_optimality_cut else 0.0, INF)
        if self.integral:
            self.h.setOptionValue("mip_rel_gap", mip_gap)
        deadline.arm(self.h)
        self.h.run()
        status = self.h.getModelStatus()
        if status == Status.kInfeasible:
            return "infeasible", None, None, None
        if status != Status.kOptimal:
            return ("time" if status == Status.kTimeLimit else "error"), None, None, None
        info = self.h.getInfo()
        x = np.array(self.h.getSolution().col_value)[:n]
        near = 1e-7 * np.maximum(1, np.abs(x))
        edge = (tight_lo & (x - lower <= near)) | (tight_hi & (upper - x <= near))
        bound = info.mip_dual_bound if self.integral else info.objective_function_value
        if not self.has_optimality_cut or edge.any():
            bound = -INF
        return "ok", x, bound, edge


def decompose(compiled: Compiled, operational: np.ndarray, options: SolveOptions, deadline: Deadline,
              progress: Progress, start: np.ndarray | None = None) -> Outcome:
    """Solve ``compiled`` by Benders decomposition over its design columns (``~operational``).
    ``start``: a full column vector whose design part is tried first (a typical-days plan)."""
    s = _Split(compiled, operational)
    dispatch, master = _Dispatch(s, options, deadline), _Master(s, options)
    gap, offset = options.mip_gap, compiled.offset
    best = math.inf
    best_xd = best_xo = best_y = None
    lower = -math.inf
    rounds = 0

    if start is not None:
        xd = np.clip(start[s.D], compiled.col_lower[s.D], compiled.col_upper[s.D])
        xd[s.design_integer] = np.round(xd[s.design_integer])
    else:
        state, xd, _, _ = master.solve(deadline, gap)
        if state != "ok":
            return Outcome("infeasible" if state == "infeasible" else "no_solution", message="design rows: " + state)

    def evaluate(xd):
        state, payload = dispatch.solve(xd)
        if state == "ok":
            cost, gradient, xo, y, violation = payload
            master.add_optimality_cut(cost, gradient, xd)
            total = float(compiled.cost[s.D] @ xd) + cost + offset
            if violation > VIOLATION_TOL * max(1.0, float(np.abs(xo).max(initial=0.0))):
                return "violated", total, False, None, None
            integral = not s.design_integer.any() or np.allclose(xd[s.design_integer], np.round(xd[s.design_integer]), atol=1e-6)
            return "ok", total, integral, xo, y
        if state == "infeasible":
            master.add_feasibility_cut(*payload)
            return "infeasible", None, False, None, None
        return state, payload, False, None, None

    phase = "relaxation"
    lp_best = math.inf
    centre, radius = xd.copy(), np.maximum(np.abs(xd), 1.0)
    floor = radius / 8
    edge = np.zeros(len(xd), dtype=bool)
    while True:
        rounds += 1
        state, total, integral, xo, y = evaluate(xd)
        if state in ("time", "error", "slow"):
            break
        if state == "ok" and integral and total < best:
            best, best_xd, best_xo, best_y = total, xd.copy(), xo, y
        if state == "violated" and lower > -math.inf and relative_gap(total, lower) <= gap / 10:
            dispatch.raise_penalty()  # the master settled on a design that cannot serve the load
        if state == "ok" and total < lp_best:  # a serious step: move the box, widen it where it held
            lp_best, centre = total, xd.copy()
            radius[edge] *= 4
        elif phase == "relaxation" and rounds > 1:  # a null step: look closer to the best design
            radius = np.maximum(radius / 2, floor)
        if best < math.inf and lower > -math.inf and relative_gap(best, lower) <= gap:
            break
        if phase == "relaxation" and lower > -math.inf and relative_gap(lp_best, lower) <= gap / 10:
            phase = "integral"
            master.make_integral()
        if rounds >= MAX_ROUNDS or deadline.passed or dispatch.over_budget:
            break
        progress.report(f"decomposition: round {rounds} ({phase})",
                        relative_gap(best, lower) if best < math.inf and lower > -math.inf else None)
        region = (centre, radius) if phase == "relaxation" else None
        mstate, xd_next, bound, edge = master.solve(deadline, gap / 10, region)
        if mstate == "infeasible":
            return Outcome("infeasible", rounds=rounds, sub_solves=dispatch.solves,
                           message="no design lets the dispatch meet every limit")
        if mstate != "ok":
            break
        if bound is not None and bound > -INF:
            # an LP master bounds the relaxation, hence the plan; so does a MIP master
            lower = max(lower, bound + offset)
        if best < math.inf and lower > -math.inf and relative_gap(best, lower) <= gap:
            break
        xd = xd_next

    converged = best < math.inf and lower > -math.inf and relative_gap(best, lower) <= gap
    outcome = Outcome("optimal" if converged else "handover", best if best < math.inf else None,
                      lower if lower > -math.inf else None, rounds=rounds, sub_solves=dispatch.solves)
    if best_xd is None:
        if converged is False and lower > -math.inf and not deadline.passed:
            outcome.message = "no integral design evaluated"
        return outcome
    outcome.x = s.full(best_xd, best_xo)
    if options.duals and converged:
        master_duals = master.row_duals_at(best_xd, compiled.components(options.relax_for_duals)[s.D])
        if master_duals is not None:
            outcome.row_duals = np.zeros(compiled.shape[0])
            outcome.row_duals[s.RS], outcome.row_duals[s.RM] = best_y, master_duals
    return outcome


def dispatch_with_integers(compiled: Compiled, operational: np.ndarray, x: np.ndarray, options: SolveOptions,
                           deadline: Deadline, abs_gap: float):
    """The dispatch of the design in ``x`` with the operational integers (unit commitment) kept
    integral: (cost of the plan, full x) or (None, None)."""
    s = _Split(compiled, operational)
    lower, upper = compiled.row_lower[s.RS], compiled.row_upper[s.RS]
    shift = s.A_sub_design @ x[s.D]
    h = new_highs(options)
    h.passModel(highs_lp(compiled.cost[s.O], compiled.col_lower[s.O], compiled.col_upper[s.O],
                         lower - shift, upper - shift, s.A_sub_op, integer=s.op_integer))
    h.setOptionValue("mip_abs_gap", abs_gap)
    h.setOptionValue("mip_rel_gap", 0.0)
    deadline.arm(h)
    h.run()
    if h.getInfo().primal_solution_status != 2:
        return None, None
    xo = np.array(h.getSolution().col_value)
    total = float(compiled.cost[s.D] @ x[s.D]) + h.getInfo().objective_function_value + compiled.offset
    return total, s.full(x[s.D], xo)
