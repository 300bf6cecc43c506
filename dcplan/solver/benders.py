"""Benders decomposition: the build in a small master problem, the year's dispatch in a
subproblem.

A planning model has few design columns (GPU units, the cooling choice, gas units, MW of solar,
battery, ...) and tens of thousands of operational ones (each hour's dispatch). With the design
fixed, every "dispatch <= capacity" row becomes a column bound and the dispatch LP solves some
twenty times faster than the whole LP; a new design only moves bounds, so each later dispatch
is a warm dual-simplex re-solve. The master holds the design rows, the design columns (integers
kept integral) and one variable for the dispatch cost, bounded below by cuts from the dispatch
LP's duals. Rows that a design may leave unmet (the power balance, yearly caps) are elastic at a
price, so every design yields a cut; conflicting bounds yield exact feasibility cuts. The
master's optimum is a lower bound on the plan's cost and every evaluated design that meets all
rows an upper bound: the loop is exact up to ``mip_gap``, like branch-and-bound, and stops with
the same guarantee.

First the master is solved as an LP (cheap cuts around the relaxation), then, once the
relaxation has converged or what is left of the gap is mostly integrality, as a MIP. When
operational columns are integer too (hourly unit commitment), they are relaxed in the loop
(a valid lower bound) and the converged design's dispatch is then solved with them integral;
if that closes the gap the plan is exact, otherwise the caller finishes with a monolithic MIP
started from it. Every loop has a bounded cost: past ``MAX_ROUNDS`` or its time budget it hands
over its best plan rather than going on.
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass, replace

import highspy
import numpy as np
import scipy.sparse as sp

from dcplan.solver.highs import (
    GRACE_S,
    INF,
    MIP_FEASIBILITY_TOLERANCE,
    OUT_OF_TIME,
    PARALLEL_ROWS_RULE,
    WARM_SLACK_ITERATIONS,
    Compiled,
    Deadline,
    Progress,
    SolveOptions,
    Status,
    fractional,
    highs_lp,
    new_highs,
    presolve_rules_off,
    relative_gap,
)

REACH_CUTS = 8  # the most rows a broken dispatch adds cuts on its design's reach for (see _Dispatch._reach_cuts)
ELASTIC_MIN_TERMS = 24  # a row over more dispatch columns than a day's is a cap over time
PENALTY_SCALE = 1e3  # price of a violated design row, relative to the dearest dispatch cost
MAX_PENALTY_RAISES = 2
PENALISED_CUT_SLACK = 1e-7  # seen: 4e-8 of a penalised cut's size lost to the LP's tolerances
MAX_ROUNDS = 200  # Benders iterations before handing over (converged cases take 5-40)
POLISH_ROUNDS = 20  # rounds that bring the continuous design to a hundredth of the gap
DUST_ROUNDS = 3  # rounds that try a converged design's negligible amounts at zero (see decompose)
SOLVE_CAP_COLD = 40  # one dispatch solve may take this many cold solves' time (and a second),
BUDGET_COLD = 100  # and the whole loop this many (and BUDGET_FLOOR_S): a whole-model LP takes about
# 20-80 cold dispatch solves, so a loop that will not converge costs about one or two monolithic
# LPs before it hands over to HiGHS's MIP
BUDGET_FLOOR_S = 5.0
"""Seconds every loop may take whatever its dispatch costs, its master's MIPs counted: a small
model's loop took at most 2.5 s where it converged (random build-outs on typical days, seeds
2067-2072), and one whose master took 1.25 s a round (examples/greener-and-fast, an hourly CFE
cap in every quarter) had gone on for 200 rounds, 250 s, where HiGHS's MIP needed 0.3 s."""
VIOLATION_TOL = 1e-7
CUT_MAX = 1e6  # the largest coefficient an optimality cut keeps (see _Master.add_optimality_cut)
CUT_GROUPS = 52
"""The most parts of the dispatch cost the master bounds apart, one cut each a round. Where no
row ties the year's dispatch together (no storage, no yearly cap), the dispatch LP falls apart
into independent hours (or months, with demand charges), so its cost is the sum of theirs and
each part's duals bound that part alone; gathered into this many groups in time (weeks), each
bounded by its own cut, they carry more of the dispatch's shape to the master per round."""
PARALLEL_PIECES = 4
"""The most pieces the dispatch LP is cut into where it falls apart into groups (see CUT_GROUPS):
whole groups, each piece a HiGHS LP of its own, solved side by side in threads (HiGHS lets go of
Python's lock while it solves), as many as there are processors (``SolveOptions.threads`` when
set; 1: the LP whole). The pieces' optima are the whole LP's (measured: the same columns and duals
to the last bit), so the cuts are the same; a year of hours: 62 ms a cold solve in two pieces on
two cores, against 121 ms whole."""
FALLBACKS = ({"primal_feasibility_tolerance": 1e-6, "dual_feasibility_tolerance": 1e-6},
             {"simplex_strategy": 4})  # primal simplex
FALLBACK_DEFAULTS = {"primal_feasibility_tolerance": 1e-7, "dual_feasibility_tolerance": 1e-7, "simplex_strategy": 1}
"""How a dispatch LP that HiGHS's dual simplex fails on is solved again (HiGHS's defaults after)."""
INTEGRALITY_SHARE = 0.5
"""The relaxation phase ends once what is left of the relaxation's gap is at most this share of
the gap between the best integral plan and the bound: what is left is then mostly integrality
(half a gas unit, say), which refining the relaxation cannot close (26 rounds to 17 where the
relaxation wants 0.73 of a unit, 58 to 29 with a battery; no case needed more rounds)."""
STALL_ROUNDS = 5
"""The relaxation phase ends, too, once this many rounds in a row have moved neither its bound
nor its best cost by a tenth of the gap: its master proposes designs whose dispatch breaks a row
by a little and learns one group at a time where it breaks (a yearly CO2 cap shared among weekly
groups, 0.17 t short in a different week each round, for 20 rounds), which the integral master,
moving the units, settles at once."""


def _connected_parts(n: int, u: np.ndarray, v: np.ndarray) -> tuple[int, np.ndarray]:
    """(count, each node's part 0..count-1) of the undirected graph on ``n`` nodes with edges
    ``(u, v)``. In NumPy, not SciPy's csgraph, whose import (SciPy's linear algebra with it) costs
    every planning process about 0.07 s. Each round hooks every tree's root below the least root
    next to it, then points every node at its root: a tree left out of one round is hooked in the
    next, so the trees halve every two rounds (at most about 2 log2 n rounds), and pointing at the
    roots takes at most log2 n halvings of the trees' depth."""
    parent = np.arange(n)
    while True:
        pu, pv = parent[u], parent[v]
        apart = pu != pv
        if not apart.any():
            break
        np.minimum.at(parent, np.maximum(pu[apart], pv[apart]), np.minimum(pu[apart], pv[apart]))
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
    roots, label = np.unique(parent, return_inverse=True)
    return len(roots), label


def _parts(rows: sp.csr_matrix, cost: np.ndarray) -> tuple[np.ndarray, int]:
    """Each column's independent part of the LP (connected to the others by no row), numbered
    0.. in order of the parts' first columns (time, within a family), and their count. A column
    in no row that costs nothing (units on left out, say) is no part of the cost: -1."""
    n_rows, n_cols = rows.shape
    pattern = rows.tocoo()
    count, label = _connected_parts(n_rows + n_cols, pattern.row, n_rows + pattern.col)
    label = label[n_rows:]  # the columns' parts
    live = (np.bincount(pattern.col, minlength=n_cols) > 0) | (cost != 0)
    first = np.full(count, n_cols)
    np.minimum.at(first, label[live], np.flatnonzero(live))
    used = np.unique(label[live])
    order = np.full(count, -1, dtype=np.int64)  # a part's place among the used ones, by first column
    order[used[np.argsort(first[used], kind="stable")]] = np.arange(len(used))
    part = order[label]
    part[~live] = -1
    return part, len(used)


def _time_groups(rows: sp.csr_matrix, cost: np.ndarray, n_groups: int) -> tuple[np.ndarray, int]:
    """Each column's group: the LP's independent parts (see :func:`_parts`) gathered into at
    most ``n_groups`` groups in column order; one group where one part holds most columns
    (storage, a yearly cap ties the year together). Columns in no part: group 0."""
    part, count = _parts(rows, cost)
    live = part >= 0
    if not live.any() or np.bincount(part[live]).max() > live.sum() / 2:
        return np.zeros(len(part), dtype=np.int64), 1
    groups = min(n_groups, count)
    return np.where(live, part * groups // count, 0), groups


def least_cost(sum_cols: sp.csr_matrix, cost: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """The least each group of the dispatch can cost at any design, from its columns' own bounds
    (-inf where a column that earns has no bound): a floor under the master's cuts. Without it, a
    first cut from a design that cannot serve the load, steep with the price of the broken rows,
    lets the master build a store of no upper size without end (unbounded: the test suite's
    emergency cap, whose outage a battery must carry, went to HiGHS's MIP on the whole year, 15.5 s
    against 0.8 s with the floor)."""
    with np.errstate(invalid="ignore"):  # 0 x inf: a free column costs nothing
        least = np.where(cost > 0, cost * lower, np.where(cost < 0, cost * upper, 0.0))
    return sum_cols @ least


def _by_group(groups: np.ndarray, n_groups: int) -> sp.csr_matrix:
    """The 0/1 matrix that sums entries into their groups."""
    return sp.csr_matrix((np.ones(len(groups)), (groups, np.arange(len(groups)))), shape=(n_groups, len(groups)))


@dataclass
class _Shared:
    """The model with its caps over time shared out (see :func:`_share_caps`): the arrays
    :func:`decompose` reads, as :class:`Compiled` names them, and its size before."""

    A: sp.csc_matrix
    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    integer: np.ndarray
    offset: float
    operational: np.ndarray
    original: tuple[int, int]  # (rows, columns) of the model itself
    caps: np.ndarray  # the rows shared out, each with one share a group (the last columns)

    @property
    def shape(self) -> tuple[int, int]:
        return self.A.shape

    def start(self, compiled: Compiled, x: np.ndarray, options: SolveOptions, deadline: Deadline) -> np.ndarray:
        """A plan of the model itself with each cap shared out as the dispatch of its design uses
        it: the whole model's LP with that design fixed, solved once (0.1-0.4 s on a year). From
        shares in proportion to what each group can reach, the first dispatch breaks some and
        the penalised cuts can leave the master unsolvable (held-out r2026_11: a hand-over to
        HiGHS's MIP, 12 s against 3.5 s). Without such a dispatch, the proportional shares."""
        n_rows, n_cols = self.original
        lower, upper = compiled.col_lower.copy(), compiled.col_upper.copy()
        design = ~self.operational[:n_cols]
        lower[design] = upper[design] = x[design]
        h = new_highs(options)
        presolve_rules_off(h, PARALLEL_ROWS_RULE)
        h.passModel(highs_lp(compiled.cost, lower, upper, compiled.row_lower, compiled.row_upper, compiled.A))
        deadline.arm(h)
        h.run()
        if h.getModelStatus() == Status.kOptimal:
            return np.r_[x, self.A[n_rows:, :n_cols] @ np.array(h.getSolution().col_value)]
        lo, hi = (bound[n_cols:].reshape(len(self.caps), -1) for bound in (self.col_lower, self.col_upper))
        limit = np.where(np.isfinite(self.row_upper[self.caps]), self.row_upper[self.caps], self.row_lower[self.caps])
        room = limit - self.A[self.caps][:, :n_cols] @ x
        reach = lo.sum(axis=1), hi.sum(axis=1)
        share = np.clip((room - reach[0]) / np.maximum(reach[1] - reach[0], 1e-12), 0.0, 1.0)
        return np.r_[x, (lo + share[:, None] * (hi - lo)).ravel()]


def _share_caps(compiled: Compiled, operational: np.ndarray, away: np.ndarray) -> _Shared | None:
    """The model with each cap over time (a yearly CO2 limit: a row over more dispatch columns
    than ELASTIC_MIN_TERMS) that alone ties the dispatch together shared out among the groups the
    dispatch falls apart into without it (see CUT_GROUPS): a design column per group, its share
    ``b_g``, the group's part of the row at most (at least, or equal to) ``b_g``, and the row
    itself made ``design part + sum of shares`` within its old bounds. The same plans at the same
    costs (a dispatch meets the cap exactly when its groups' parts fit shares that add up to it),
    but a dispatch the master bounds group by group and solves in pieces. Shares are bounded by
    what their group's columns can reach; None when some cannot be, or nothing is gained."""
    A = compiled.A.tocsc()
    n_rows, n_cols = A.shape
    col_of = np.repeat(np.arange(n_cols), np.diff(A.indptr))  # each entry's column
    op_terms = np.bincount(A.indices[operational[col_of]], minlength=n_rows)
    touches_away = np.bincount(A.indices[away[col_of]], minlength=n_rows) > 0
    long = np.flatnonzero((op_terms > ELASTIC_MIN_TERMS) & ~touches_away)
    if not len(long):  # (found in a few milliseconds: most models have no cap over time)
        return None
    op = np.flatnonzero(operational)
    A_op = A[:, op].tocsr()
    rest = np.flatnonzero((op_terms > 1) & ~touches_away & ~np.isin(np.arange(A.shape[0]), long))
    group, n_groups = _time_groups(A_op[rest], compiled.cost[op], CUT_GROUPS)
    if n_groups == 1:
        return None
    rows = A_op[long].tocoo()
    spans = np.zeros((len(long), n_groups), dtype=bool)
    spans[rows.row, group[rows.col]] = True
    caps = long[spans.sum(axis=1) > 1]
    if not len(caps):
        return None
    cap_op = A_op[caps].tocoo()
    lo, hi = compiled.col_lower[op][cap_op.col], compiled.col_upper[op][cap_op.col]
    low_end, high_end = np.minimum(cap_op.data * lo, cap_op.data * hi), np.maximum(cap_op.data * lo, cap_op.data * hi)
    share = cap_op.row * n_groups + group[cap_op.col]  # each term's share, cap by cap
    n_shares = len(caps) * n_groups
    share_lower = np.bincount(share, low_end, n_shares)
    share_upper = np.bincount(share, high_end, n_shares)
    if not (np.isfinite(share_lower).all() and np.isfinite(share_upper).all()):
        return None
    # the caps lose their dispatch terms and gain their shares; each share has a row of its terms
    A_cut = A.tocoo()
    is_cap_op = np.isin(A_cut.row, caps) & operational[A_cut.col]
    keep = ~is_cap_op
    share_col = n_cols + np.arange(n_shares)
    share_row = n_rows + np.arange(n_shares)
    cap_of_share = np.repeat(caps, n_groups)
    data = np.r_[A_cut.data[keep], np.ones(n_shares), cap_op.data, -np.ones(n_shares)]
    row = np.r_[A_cut.row[keep], cap_of_share, n_rows + share, share_row]
    col = np.r_[A_cut.col[keep], share_col, op[cap_op.col], share_col]
    A_new = sp.csc_matrix((data, (row, col)), shape=(n_rows + n_shares, n_cols + n_shares))
    lower, upper = compiled.row_lower[cap_of_share], compiled.row_upper[cap_of_share]
    return _Shared(A_new, np.r_[compiled.cost, np.zeros(n_shares)],
                   np.r_[compiled.col_lower, share_lower], np.r_[compiled.col_upper, share_upper],
                   np.r_[compiled.row_lower, np.where(np.isfinite(lower), 0.0, -INF)],
                   np.r_[compiled.row_upper, np.where(np.isfinite(upper), 0.0, INF)],
                   np.r_[compiled.integer, np.zeros(n_shares, dtype=bool)], compiled.offset,
                   np.r_[operational, np.zeros(n_shares, dtype=bool)], (n_rows, n_cols), caps)


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
    relaxation: Relaxation | None = None  # with operational integers: what a proof of the commitment needs
    cuts: list | None = None  # with operational integers and no cap shared out: the optimality cuts,
    # (cost per group, gradient per group, design), bounds on the relaxed dispatch at any design


@dataclass
class Relaxation:
    """The loop's relaxed dispatch, kept for a proof of the committed plan
    (:mod:`dcplan.solver.commitment`): the split, the warm dispatch LP, and each design it
    evaluated with that dispatch's columns, the duals of the sub rows and their priced violations."""

    split: _Split
    dispatch: _Dispatch
    evaluated: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]


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
        self.design_integer = compiled.integer[self.D]
        self.op_integer = compiled.integer[self.O]

    def meets_design_rows(self, xd: np.ndarray) -> bool:
        """Whether the design ``xd`` holds the rows on design columns alone (the master's)."""
        activity = self.A_master @ xd
        lower, upper = self.c.row_lower[self.RM], self.c.row_upper[self.RM]
        # relative to the row's largest term as well as its limit: a cap of 0 on large flows
        scale = np.maximum(np.abs(np.where(np.isfinite(upper), upper, lower)), abs(self.A_master) @ np.abs(xd))
        tolerance = MIP_FEASIBILITY_TOLERANCE * np.maximum(1.0, scale)
        return bool(np.all(activity >= lower - tolerance) and np.all(activity <= upper + tolerance))

    def full(self, xd: np.ndarray, xo: np.ndarray) -> np.ndarray:
        x = np.empty(self.c.shape[1])
        x[self.D], x[self.O] = xd, xo
        return x


@dataclass
class _Piece:
    """Part of the dispatch LP that no row ties to the rest, in its own Highs object: its columns
    and rows among the LP's, and those of them a design moves (local and LP indices)."""

    h: highspy.Highs
    cols: np.ndarray
    rows: np.ndarray
    bounded: tuple[np.ndarray, np.ndarray]
    moved: tuple[np.ndarray, np.ndarray]
    slack: tuple[np.ndarray, np.ndarray]
    cold_iterations: int | None = None  # the most simplex iterations a cold solve of it has taken


def _local(members: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions in ``members``, values) of the entries of ``wanted`` that are in ``members``;
    both sorted."""
    if not len(members):
        return np.zeros(0, dtype=np.int32), wanted[:0]
    at = np.searchsorted(members, wanted).clip(max=len(members) - 1)
    hit = members[at] == wanted
    return at[hit].astype(np.int32), wanted[hit]


def _pieces_wanted(options: SolveOptions, n_groups: int) -> int:
    """One piece a processor (or ``options.threads``), at most PARALLEL_PIECES and ``n_groups``."""
    threads = options.threads or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                  else os.cpu_count() or 1)
    return max(1, min(threads, PARALLEL_PIECES, n_groups))


def _met_idle(A_op: sp.spmatrix, A_design: sp.spmatrix, row_lower: np.ndarray, row_upper: np.ndarray,
              design_lower: np.ndarray, design_upper: np.ndarray, col_lower: np.ndarray,
              col_upper: np.ndarray) -> np.ndarray:
    """Rows that the dispatch meets idle (its columns at zero, which their bounds allow) at every
    design within the design's bounds: a battery's charge plus discharge within its power. Such a
    row cannot make the dispatch infeasible, so it needs no slack (with one an hour, a year's
    dispatch with a battery and demand charges had solved 20 times slower)."""
    def by_row(m: sp.csr_matrix, values: np.ndarray) -> np.ndarray:
        return np.bincount(np.repeat(np.arange(m.shape[0]), np.diff(m.indptr)), weights=values, minlength=m.shape[0])

    ops, D = A_op.tocsr(), A_design.tocsr()
    idle = by_row(ops, ((col_lower > 0) | (col_upper < 0))[ops.indices].astype(float)) == 0
    with np.errstate(invalid="ignore"):  # unbounded both ways: NaN, never met
        most = by_row(D, np.where(D.data > 0, design_upper[D.indices], design_lower[D.indices]) * D.data)
        least = by_row(D, np.where(D.data > 0, design_lower[D.indices], design_upper[D.indices]) * D.data)
    return idle & (row_lower <= least) & (most <= row_upper)


class _Dispatch:
    """The subproblem: dispatch with the design fixed, re-solved warm as the design moves.

    A row with one dispatch column (``gen[t] <= unit_mw * units``) is, once the design is fixed,
    a bound on that column: it is kept as one here, so that the LP holds only the rows that tie
    dispatch columns together (the power balance, storage, yearly caps) and a new design changes
    bounds, the case a warm dual simplex re-solve handles best. Its dual, needed for the cut, is
    the column's reduced cost where that row's bound is the active one.

    Columns ``away`` (hourly units on, say) are relaxed integers whose relaxation the remaining
    rows imply: they and every row they appear in are left out (held at 0, those rows' duals 0:
    a dual solution of the whole relaxed LP, since the columns cost nothing). The loop's
    dispatch is relaxed anyway; the integral dispatch of the converged design has them all.
    """

    def __init__(self, split: _Split, options: SolveOptions, deadline: Deadline, away: np.ndarray):
        self.s, self.deadline = split, deadline
        c = split.c
        A_all = split.A_sub_op.tocsr()
        self.kept = np.flatnonzero(np.diff(A_all[:, np.flatnonzero(away)].tocsr().indptr) == 0)  # sub rows used
        A_op = A_all[self.kept]
        design = split.A_sub_design.tocsr()[self.kept]
        row_lower, row_upper = c.row_lower[split.RS][self.kept], c.row_upper[split.RS][self.kept]
        per_row = np.diff(A_op.indptr)
        single = per_row == 1
        self.single = np.flatnonzero(single)  # kept rows that are bounds on one column
        self.single_col = A_op.indices[A_op.indptr[self.single]]
        self.single_coef = A_op.data[A_op.indptr[self.single]]
        self.single_design = design[self.single]
        self.single_lower, self.single_upper = row_lower[self.single], row_upper[self.single]
        self.bounded = np.unique(self.single_col).astype(np.int32)
        multi = np.flatnonzero(~single)
        self.multi = multi
        self.multi_design = design[multi]
        self.row_lower, self.row_upper = row_lower[multi], row_upper[multi]
        self.moved = np.flatnonzero(np.diff(self.multi_design.indptr) > 0).astype(np.int32)
        self.col_lower = np.where(away, 0.0, c.col_lower[split.O])
        self.col_upper = np.where(away, 0.0, c.col_upper[split.O])
        # elastic: rows that the design moves (a power balance that the built capacity cannot
        # serve) and rows over many steps (yearly caps) may be violated at a price, so that a
        # design without a dispatch still yields an informative cut, not an infeasibility proof
        n_terms = per_row[multi]
        moved = np.isin(np.arange(len(multi)), self.moved) & ~_met_idle(
            A_op[multi], self.multi_design, self.row_lower, self.row_upper, c.col_lower[split.D], c.col_upper[split.D],
            self.col_lower, self.col_upper)
        elastic = np.flatnonzero(moved | (n_terms > ELASTIC_MIN_TERMS))
        up = elastic[np.isfinite(self.row_upper[elastic])]
        lo = elastic[np.isfinite(self.row_lower[elastic])]
        n_op = len(split.O)
        slack = sp.csc_matrix((np.r_[-np.ones(len(up)), np.ones(len(lo))],
                               (np.r_[up, lo], np.arange(len(up) + len(lo)))), shape=(len(multi), len(up) + len(lo)))
        self.slack = np.arange(n_op, n_op + slack.shape[1], dtype=np.int32)
        self.slack_multi = np.r_[up, lo]  # the multi row each slack relaxes, and on which side
        self.slack_below = np.r_[np.zeros(len(up), dtype=bool), np.ones(len(lo), dtype=bool)]
        self.slack_row = self.kept[multi[self.slack_multi]]  # the sub row each slack relaxes
        self.penalty = PENALTY_SCALE * max(1.0, float(np.abs(c.cost[split.O]).max(initial=0.0)))
        self.penalty_raises = 0
        # the parts of the dispatch cost bounded apart (see CUT_GROUPS): a column's, a row's and
        # a slack's group
        A_multi = self.A_multi = A_op[multi].tocsr()
        col_group, self.n_groups = _time_groups(A_multi, c.cost[split.O], CUT_GROUPS)
        row_group = np.zeros(len(multi), dtype=np.int64)
        rows = A_multi.tocoo()
        row_group[rows.row] = col_group[rows.col]
        self.sum_cols = _by_group(col_group, self.n_groups)
        self.sum_slack = _by_group(row_group[np.r_[up, lo]], self.n_groups)
        self.sum_multi = _by_group(row_group, self.n_groups)
        self.sum_single = _by_group(col_group[self.single_col], self.n_groups)
        over_time = n_terms > ELASTIC_MIN_TERMS  # yearly caps: see _Master.over_time_duals
        self.over_time, self.over_time_group = self.kept[multi[over_time]], row_group[over_time]
        self.cost_op = c.cost[split.O]
        self.floor = least_cost(self.sum_cols, self.cost_op, self.col_lower, self.col_upper)
        lp = (np.r_[c.cost[split.O], np.full(len(self.slack), self.penalty)],
              np.r_[self.col_lower, np.zeros(len(self.slack))], np.r_[self.col_upper, np.full(len(self.slack), INF)],
              self.row_lower, self.row_upper, sp.hstack([A_multi, slack]).tocsc())
        n_pieces = _pieces_wanted(options, self.n_groups)  # whole groups a piece, slacks with their rows
        col_piece = np.r_[col_group, row_group[np.r_[up, lo]]] * n_pieces // self.n_groups
        row_piece = row_group * n_pieces // self.n_groups
        self.pieces = [self._piece(options, lp, np.flatnonzero(col_piece == k), np.flatnonzero(row_piece == k))
                       for k in range(n_pieces)]
        self.solves, self.seconds, self.cold_seconds = 0, 0.0, None

    def _piece(self, options: SolveOptions, lp: tuple, cols: np.ndarray, rows: np.ndarray) -> _Piece:
        cost, col_lower, col_upper, row_lower, row_upper, A = lp
        h = new_highs(options)
        whole = len(cols) == A.shape[1] and len(rows) == A.shape[0]
        h.passModel(highs_lp(cost[cols], col_lower[cols], col_upper[cols], row_lower[rows], row_upper[rows],
                             A if whole else A[:, cols].tocsr()[rows]))
        return _Piece(h, cols, rows, _local(cols, self.bounded), _local(rows, self.moved), _local(cols, self.slack))

    @property
    def cap_s(self) -> float:
        return SOLVE_CAP_COLD * self.cold_seconds + 1.0

    def over_budget(self, master_seconds: float) -> bool:
        """Whether the loop, its dispatch solves and its master's (``master_seconds``), has taken
        its budget (see BUDGET_COLD)."""
        return (self.cold_seconds is not None
                and self.seconds + master_seconds > BUDGET_COLD * self.cold_seconds + BUDGET_FLOOR_S)

    def _column_bounds(self, xd: np.ndarray):
        """Each bounded column's lower and upper bound at design ``xd``, and the singleton row
        each comes from (-1: the column's own bound)."""
        shift = self.single_design @ xd
        a = self.single_coef
        lo_row = np.where(a > 0, self.single_lower - shift, self.single_upper - shift) / a
        hi_row = np.where(a > 0, self.single_upper - shift, self.single_lower - shift) / a
        n = len(self.col_lower)
        lower, upper = self.col_lower.copy(), self.col_upper.copy()
        lo_src, hi_src = np.full(n, -1), np.full(n, -1)
        if not len(a):  # no design bounds a dispatch column alone (a model of a few rows)
            return lower, upper, lo_src, hi_src
        order = np.lexsort((-lo_row, self.single_col))  # per column, the highest lower bound first
        first = order[np.r_[True, np.diff(self.single_col[order]) != 0]]
        take = lo_row[first] > lower[self.single_col[first]]
        lower[self.single_col[first[take]]] = lo_row[first[take]]
        lo_src[self.single_col[first[take]]] = first[take]
        order = np.lexsort((hi_row, self.single_col))  # per column, the lowest upper bound first
        first = order[np.r_[True, np.diff(self.single_col[order]) != 0]]
        take = hi_row[first] < upper[self.single_col[first]]
        upper[self.single_col[first[take]]] = hi_row[first[take]]
        hi_src[self.single_col[first[take]]] = first[take]
        return lower, upper, lo_src, hi_src

    def solve(self, xd: np.ndarray):
        """('ok', (cost, gradient in the design, x, row duals of the sub rows, violation, each sub
        row's priced violation), each of cost, gradient and violation per group of the dispatch
        (see CUT_GROUPS)) |
        ('infeasible', [cuts]) | ('time' | 'slow' | 'error', message). A warm re-solve may take
        as many simplex iterations as a cold one did (and WARM_SLACK_ITERATIONS): past that it is solved cold."""
        lower, upper, lo_src, hi_src = self._column_bounds(xd)
        # bounds that cross by less than the master's tolerance meet (its design may pass a cut by
        # that: a conflict within it would be cut again and again at the same design)
        conflict = lower > upper + MIP_FEASIBILITY_TOLERANCE * np.maximum(1.0, np.abs(upper))
        if conflict.any():
            return "infeasible", self._bound_cuts(np.flatnonzero(conflict), lower, upper, lo_src, hi_src)
        upper = np.maximum(upper, lower)
        shift = self.multi_design @ xd
        row_lower, row_upper = self.row_lower - shift, self.row_upper - shift
        for p in self.pieces:
            (b, b_lp), (m, m_lp) = p.bounded, p.moved
            p.h.changeColsBounds(len(b), b, lower[b_lp], upper[b_lp])
            p.h.changeRowsBounds(len(m), m, row_lower[m_lp], row_upper[m_lp])
        status = self._run(warm=self.cold_seconds is not None)
        if status in (Status.kTimeLimit, Status.kIterationLimit) and not self.deadline.passed:
            status = self._run(warm=False)
            if status == Status.kTimeLimit and not self.deadline.passed:
                return "slow", "a dispatch solve took longer than the decomposition allows"
        if status in OUT_OF_TIME or status == Status.kIterationLimit:  # (a warm one's allowance, past the deadline)
            return "time", "time limit"
        for fallback in FALLBACKS:
            if status not in (Status.kSolveError, Status.kUnknown, Status.kNotset):
                break
            # the dual simplex can fail on the round-off of a heavily penalised design ("solve
            # error": held-out r2028_03, violations priced at 9e12): solved cold with 10 times
            # its tolerances (0.3 s there), else by the primal simplex (3 s)
            status = self._run(warm=False, fallback=fallback)
        if status != Status.kOptimal:  # rows that are not elastic cannot hold: HiGHS's MIP will say why
            for p in self.pieces:
                p.h.clearSolver()
            return "error", self.pieces[0].h.modelStatusToString(status)
        n = len(self.col_lower)
        x, reduced, y_multi = np.empty(n + len(self.slack)), np.empty(n + len(self.slack)), np.empty(len(self.multi))
        for p in self.pieces:
            sol = p.h.getSolution()
            x[p.cols], reduced[p.cols], y_multi[p.rows] = sol.col_value, sol.col_dual, sol.row_dual
        reduced = reduced[:n]
        # the dual of a singleton row: the reduced cost of its column where its bound is active
        y_single = np.zeros(len(self.single))
        at_lo = (reduced > 0) & (lo_src >= 0)
        at_hi = (reduced < 0) & (hi_src >= 0)
        y_single[lo_src[at_lo]] += reduced[at_lo] / self.single_coef[lo_src[at_lo]]
        y_single[hi_src[at_hi]] += reduced[at_hi] / self.single_coef[hi_src[at_hi]]
        gradient = -(self.sum_multi @ self.multi_design.multiply(y_multi[:, None]).tocsr()) \
            - (self.sum_single @ self.single_design.multiply(y_single[:, None]).tocsr())
        y = np.zeros(len(self.s.RS))
        y[self.kept[self.multi]], y[self.kept[self.single]] = y_multi, y_single
        slack = x[self.slack]
        cost = self.sum_cols @ (self.cost_op * x[:n]) + self.penalty * (self.sum_slack @ slack)
        penalised = np.bincount(self.slack_row, self.penalty * slack, minlength=len(self.s.RS))
        reach = self._reach_cuts(xd, slack, lower, upper, lo_src, hi_src) if slack.any() else []
        return "ok", (cost, np.asarray(gradient.todense()), x[:n], y, self.sum_slack @ slack, penalised, reach)

    def _reach_cuts(self, xd, slack, lower, upper, lo_src, hi_src):
        """Cuts ``a @ x_design <= b`` that the rows the dispatch breaks (those with slack) need
        at least: each row within what its columns' bounds can reach, the bounds as the design
        sets them (``gen[t] <= unit_mw * units``): the hour's load at most all its supply at its
        most. Feasibility alone cannot cut it off in few rounds: the penalised cuts find where
        the design's reach meets the load hour by hour, the shortest hour last (held-out
        r2050_08: a tenth of a unit short, found over ten rounds). A valid relaxation (other rows,
        a battery's state of charge, only limit the dispatch more); only those the design
        breaks, the REACH_CUTS it breaks by most."""
        rows = self.slack_multi[slack > 0]
        below = self.slack_below[slack > 0]
        sub = self.A_multi[rows].tocoo()
        a, j = sub.data, sub.col
        need_upper = (a > 0) == below[sub.row]  # below its lower bound: each column at its most
        value = np.where(need_upper, upper[j], lower[j])
        reach = np.bincount(sub.row, a * value, minlength=len(rows)) + self.multi_design[rows] @ xd
        limit = np.where(below, self.row_lower[rows], self.row_upper[rows])
        with np.errstate(invalid="ignore"):
            short = np.where(below, limit - reach, reach - limit)
        short[~np.isfinite(short)] = 0.0  # a column without a bound on that side: it can reach anything
        tol = 1e-9 * np.maximum(1.0, np.abs(limit))
        worst = np.argsort(-short)[:REACH_CUTS]
        cuts = []
        for r in worst[short[worst] > tol[worst]]:
            sign = 1.0 if below[r] else -1.0  # the cut: sign * (reach(x) - limit) >= 0
            grad = self.multi_design[rows[r]].toarray().ravel().copy()
            constant = 0.0
            for k in np.flatnonzero(sub.row == r):
                src = (hi_src if need_upper[k] else lo_src)[j[k]]
                if src < 0:
                    constant += a[k] * value[k]
                    continue
                coef = self.single_coef[src]  # the bound is (bound - D[src] @ x) / coef
                bound = (self.single_upper if need_upper[k] == (coef > 0) else self.single_lower)[src]
                constant += a[k] * bound / coef
                grad -= a[k] / coef * self.single_design[src].toarray().ravel()
            cuts.append((-sign * grad, sign * (constant - limit[r])))
        return cuts

    def _bound_cuts(self, cols, lower, upper, lo_src, hi_src, most: int = 8):
        """Cuts ``a @ x_design <= b`` that keep each of the most violated columns' lower bound
        at or below its upper bound, both linear in the design."""
        worst = cols[np.argsort(-(lower[cols] - upper[cols]))][:most]
        cuts = []
        D = self.single_design
        for j in worst:
            a = np.zeros(D.shape[1])
            b = 0.0
            for src, sign, own in ((lo_src[j], 1.0, self.col_lower[j]), (hi_src[j], -1.0, self.col_upper[j])):
                if src < 0:
                    b -= sign * own
                    continue
                coef = self.single_coef[src]
                bound = (self.single_lower if (coef > 0) == (sign > 0) else self.single_upper)[src]
                # the bound is (bound - D[src] @ x) / coef
                a += sign * -(D[src].toarray().ravel() / coef)
                b -= sign * bound / coef
            if np.any(a):
                cuts.append((a, b))
        return cuts

    def raise_penalty(self) -> None:
        """A dearer violation: the cuts so far stay valid (they under-estimate this dispatch too)."""
        self.penalty *= 100
        self.penalty_raises += 1
        for p in self.pieces:
            local = p.slack[0]
            p.h.changeColsCost(len(local), local, np.full(len(local), self.penalty))

    def _run(self, warm: bool, fallback: dict | None = None):
        """Solve every piece (side by side, one thread each); their status: the first piece's
        that is not optimal, else optimal."""
        for p in self.pieces:
            h = p.h
            for key, value in (fallback or FALLBACK_DEFAULTS).items():
                h.setOptionValue(key, value)
            if warm:
                h.setOptionValue("presolve", "off")
                h.setOptionValue("simplex_iteration_limit", (p.cold_iterations or 0) + WARM_SLACK_ITERATIONS)
            else:
                h.setOptionValue("presolve", "on")
                h.setOptionValue("simplex_iteration_limit", highspy.kHighsIInf)
                h.clearSolver()
            self.deadline.arm(h, cap_s=None if self.cold_seconds is None else self.cap_s)
        t = time.perf_counter()
        others = [threading.Thread(target=p.h.run) for p in self.pieces[1:]]
        for thread in others:
            thread.start()
        self.pieces[0].h.run()
        for thread in others:
            thread.join()
        elapsed = time.perf_counter() - t
        self.seconds += elapsed
        self.solves += 1
        statuses = [p.h.getModelStatus() for p in self.pieces]
        status = next((s for s in statuses if s != Status.kOptimal), Status.kOptimal)
        if not warm and status == Status.kOptimal and fallback is None:  # a fallback's time is no baseline
            self.cold_seconds = max(self.cold_seconds or 0.0, elapsed)
            for p in self.pieces:
                p.cold_iterations = max(p.cold_iterations or 0, p.h.getInfo().simplex_iteration_count)
        return status


def cut_row(cost: float, gradient: np.ndarray, xd: np.ndarray) -> tuple[float, np.ndarray]:
    """``theta >= cost + gradient @ (x - xd)`` as (lower bound, coefficients of [x, theta])."""
    # round-off in the gradient dropped
    grad = np.where(np.abs(gradient) > 1e-12 * max(1.0, float(np.abs(gradient).max(initial=0.0))), gradient, 0.0)
    row = np.r_[-grad, 1.0]
    # a steep cut (a penalised design's: coefficients to 1e12) is divided down to CUT_MAX, so that
    # HiGHS's absolute tolerances stay above its round-off; theta keeps a coefficient of at least
    # 1 / CUT_MAX, far above what HiGHS drops as zero (1e-9)
    scale = max(1.0, float(np.abs(row).max()) / CUT_MAX)
    return float(cost - grad @ xd) / scale, row / scale


class _Master:
    """Design rows and columns plus ``theta``, the dispatch cost (one per group of the dispatch,
    see CUT_GROUPS), bounded by the cuts."""

    def __init__(self, split: _Split, options: SolveOptions, floor: np.ndarray):
        """``floor``: the least each group of the dispatch can cost (:func:`least_cost`)."""
        self.s = split
        self.floor = np.where(np.isfinite(floor), floor, -INF)
        n_groups = len(floor)
        c = split.c
        n = len(split.D)
        self.n, self.n_groups = n, n_groups
        self.h = new_highs(options)
        # no restart: on a master with a column an hour (an hourly clean-energy cap) HiGHS's restart
        # took 22 s of a 23 s solve where the master without it took 1.6 s (an audit's case, round
        # 5 of its full year); on the other 19 masters of that case the same answers, as fast or faster
        self.h.setOptionValue("mip_allow_restart", False)
        A = sp.hstack([split.A_master, sp.csc_matrix((split.A_master.shape[0], n_groups))]).tocsc()
        self.cost = np.r_[c.cost[split.D], np.ones(n_groups)]
        self.h.passModel(highs_lp(self.cost, np.r_[c.col_lower[split.D], np.full(n_groups, -INF)],
                                  np.r_[c.col_upper[split.D], np.full(n_groups, INF)],
                                  c.row_lower[split.RM], c.row_upper[split.RM], A))
        self.cut_index = np.arange(n + n_groups, dtype=np.int32)
        self.cut_made_by: list[tuple[int, int, float]] = []  # (evaluation, group, theta's coefficient) of each
        # cut row; (-1, -1, 0): a feasibility cut
        self.has_optimality_cut = False
        self.integral = False
        self.fixed = np.full(n, np.nan)  # design columns held at a value (NaN: free)
        self.seconds = 0.0  # in HiGHS, all solves (see _Dispatch.over_budget)

    def add_optimality_cut(self, cost: np.ndarray, gradient: np.ndarray, xd: np.ndarray, evaluation: int) -> None:
        """theta_g >= cost_g + gradient_g @ (x - xd) for each group g of the dispatch, made by
        the ``evaluation``-th dispatch solve."""
        for g in range(self.n_groups):
            lower, row = cut_row(cost[g], gradient[g], xd)
            index = np.r_[self.cut_index[:self.n], self.n + g].astype(np.int32)
            self.h.addRow(lower, INF, self.n + 1, index, row)
            self.cut_made_by.append((evaluation, g, row[-1]))
        self.has_optimality_cut = True

    def add_feasibility_cut(self, a: np.ndarray, b: float) -> None:
        nz = np.flatnonzero(a)
        self.h.addRow(-INF, float(b), len(nz), nz.astype(np.int32), a[nz])
        self.cut_made_by.append((-1, -1, 0.0))

    def make_integral(self) -> None:
        integer = np.flatnonzero(self.s.design_integer).astype(np.int32)
        if len(integer):
            kinds = [highspy.HighsVarType.kInteger] * len(integer)
            self.h.changeColsIntegrality(len(integer), integer, kinds)
        self.integral = True

    def row_duals_at(self, xd: np.ndarray, relax: np.ndarray, zeroed: np.ndarray) -> np.ndarray | None:
        """Duals of the master's rows (design rows, then the cuts) around ``xd``: its integers
        fixed but those in ``relax`` (GPU units), and the negligible amounts it holds at zero
        (``zeroed``), the rest within their own bounds, as the LP of the master; with the
        dispatch's cuts, they price the design rows as the whole model's LP would near the plan."""
        c, n = self.s.c, self.n
        fix = (self.s.design_integer & ~relax) | zeroed
        lower, upper = np.where(fix, xd, c.col_lower[self.s.D]), np.where(fix, xd, c.col_upper[self.s.D])
        self.h.changeColsBounds(n, self.cut_index[:n], lower, upper)
        free = np.flatnonzero(self.s.design_integer).astype(np.int32)
        if len(free):
            self.h.changeColsIntegrality(len(free), free, [highspy.HighsVarType.kContinuous] * len(free))
        self.h.run()
        if self.h.getModelStatus() != Status.kOptimal:
            return None
        return np.array(self.h.getSolution().row_dual)

    def over_time_duals(self, row_duals: np.ndarray, made_by: list[np.ndarray], group: np.ndarray) -> np.ndarray:
        """The whole LP's duals of the dispatch rows over time (yearly caps), from the master's
        ``row_duals``: the duals of each group's cuts weigh the dispatch duals (``made_by``, one
        array an evaluation) that made them. (Those weights add up to theta's cost, 1, or less
        where theta rests on its floor, whose dual is 0; with the master's own duals they meet
        the whole LP's optimality conditions.) The last dispatch's duals alone price a cap as
        if the design could not move: a cap that a battery meets reads 0 there, where building
        more to meet one tonne less costs $243 (a review's case). NaN where a feasibility cut,
        which no dispatch's duals made, holds the design."""
        out = np.zeros(len(group))
        for dual, (evaluation, g, theta) in zip(row_duals[self.s.A_master.shape[0]:], self.cut_made_by):
            if abs(dual) <= 1e-12:
                continue
            if evaluation < 0:
                return np.full(len(group), np.nan)
            out += np.where(group == g, dual * theta * made_by[evaluation], 0.0)  # a scaled cut's dual, unscaled
        return out

    def solve(self, deadline: Deadline, mip_gap: float, region: tuple[np.ndarray, np.ndarray] | None = None):
        """(status, x_design, lower bound on the plan's cost less the model's offset, columns at
        the edge of ``region``). ``region``: (centre, radius) of a box that keeps the LP master's
        continuous design near the best design so far; its bound counts only when no column is at
        its edge (the LP is convex, so the box's optimum is then the master's)."""
        c, n = self.s.c, self.n
        lower, upper = c.col_lower[self.s.D].copy(), c.col_upper[self.s.D].copy()
        held = ~np.isnan(self.fixed)
        lower[held] = upper[held] = self.fixed[held]
        tight_lo = tight_hi = np.zeros(n, dtype=bool)
        if region is not None:
            centre, radius = region
            cont = ~self.s.design_integer
            lo, hi = np.maximum(lower, centre - radius), np.minimum(upper, centre + radius)
            tight_lo, tight_hi = cont & (lo > lower), cont & (hi < upper)
            lower[cont], upper[cont] = lo[cont], hi[cont]
        self.h.changeColsBounds(n, self.cut_index[:n], lower, upper)
        thetas = self.cut_index[n:]
        # each theta above its floor (see least_cost); with none, above 0 until the first cut (the
        # master bounds nothing before it)
        floor = np.where(self.floor > -INF, self.floor, -INF if self.has_optimality_cut else 0.0)
        self.h.changeColsBounds(len(thetas), thetas, floor, np.full(len(thetas), INF))
        if self.integral:
            self.h.setOptionValue("mip_rel_gap", mip_gap)
        deadline.arm(self.h)
        started = time.perf_counter()
        self.h.run()
        status = self.h.getModelStatus()
        if status not in (Status.kOptimal, Status.kInfeasible, *OUT_OF_TIME):
            # steep cuts can trouble a warm start: once more from scratch
            self.h.clearSolver()
            self.h.run()
            status = self.h.getModelStatus()
        self.seconds += time.perf_counter() - started
        if status == Status.kInfeasible:
            return "infeasible", None, None, None
        if status != Status.kOptimal:
            return ("time" if status in OUT_OF_TIME else "error"), None, None, None
        info = self.h.getInfo()
        # within its bounds: HiGHS's values may pass them by its tolerance (held-out r2065_02: a
        # battery of -3.9e-8 MW left its dispatch no room, and the loop asked for it 180 times)
        x = np.clip(np.array(self.h.getSolution().col_value)[:n], lower, upper)
        near = 1e-7 * np.maximum(1, np.abs(x))
        edge = (tight_lo & (x - lower <= near)) | (tight_hi & (upper - x <= near))
        integral = self.integral and self.s.design_integer.any()  # (without integers HiGHS ran an LP)
        bound = info.mip_dual_bound if integral else info.objective_function_value
        if integral:
            x, bound = self._continuous_part(x, info.objective_function_value, bound, lower, upper)
        if not self.has_optimality_cut or edge.any():
            bound = -INF
        return "ok", x, bound, edge

    def _continuous_part(self, x: np.ndarray, objective: float, bound: float, lower: np.ndarray,
                         upper: np.ndarray) -> tuple[np.ndarray, float]:
        """The MIP master's design ``x`` (of cost ``objective``, its dual ``bound``) with its
        continuous part re-solved as the LP of the master at x's integers. HiGHS's MIP can miss
        the best continuous design of its own integers on steep cuts (sites/johor.yaml, its
        dispatch solved cold: solar and a battery of hundredths of a MW, $273 a year above the
        LP of the same integers, its bound above that LP's optimum too, the plan stopped short of
        it). Where the LP costs less, its design is taken and the bound is at most its cost."""
        n, whole = self.n, np.flatnonzero(self.s.design_integer).astype(np.int32)
        held = lower.copy(), upper.copy()
        held[0][whole] = held[1][whole] = np.round(x[whole])
        self.h.changeColsBounds(n, self.cut_index[:n], *held)
        self.h.changeColsIntegrality(len(whole), whole, [highspy.HighsVarType.kContinuous] * len(whole))
        started = time.perf_counter()
        self.h.run()
        self.seconds += time.perf_counter() - started
        solved = self.h.getModelStatus() == Status.kOptimal
        cost = self.h.getInfo().objective_function_value if solved else math.inf
        lp_x = np.clip(np.array(self.h.getSolution().col_value)[:n], *held) if solved else x
        self.h.changeColsIntegrality(len(whole), whole, [highspy.HighsVarType.kInteger] * len(whole))
        if cost >= objective - 1e-9 * max(1.0, abs(objective)):
            return x, bound
        return lp_x, min(bound, cost)


def decompose(compiled: Compiled, operational: np.ndarray, options: SolveOptions, deadline: Deadline,
              progress: Progress, start: np.ndarray | None = None, relaxed_away: np.ndarray | None = None,
              small: np.ndarray | None = None) -> Outcome:
    """Solve ``compiled`` by Benders decomposition over its design columns (``~operational``).
    ``start``: a full column vector whose design part is tried first (a typical-days plan);
    ``relaxed_away``: operational integer columns whose relaxation the other rows imply (see
    :class:`_Dispatch`); ``small``: each column's negligible amount (see
    :func:`dcplan.solver.solve`), which the converged design is tried without."""
    original = compiled
    relaxed_away = np.zeros(compiled.shape[1], dtype=bool) if relaxed_away is None else relaxed_away
    shared = _share_caps(compiled, operational, relaxed_away)
    if shared is not None:
        compiled, operational = shared, shared.operational
        relaxed_away = np.r_[relaxed_away, np.zeros(shared.shape[1] - shared.original[1], dtype=bool)]
        small = None if small is None else np.r_[small, np.zeros(shared.shape[1] - shared.original[1])]
        start = None if start is None else shared.start(original, start, options, deadline)
    s = _Split(compiled, operational)
    away = relaxed_away[s.O]
    dispatch = _Dispatch(s, options, deadline, away)
    master = _Master(s, options, dispatch.floor)
    # kept where the dispatch falls apart into parts (commitment without storage or a yearly cap)
    relaxation = Relaxation(s, dispatch, []) if shared is None and s.op_integer.any() and dispatch.n_groups > 1 else None
    cuts = [] if shared is None and s.op_integer.any() else None
    gap, offset = options.mip_gap, compiled.offset
    best = math.inf
    best_xd = best_xo = best_y = None
    made_by: list[np.ndarray] = []  # the duals of the rows over time of each dispatch a cut came from
    lower = -math.inf
    rounds = 0

    if start is not None:
        xd = np.clip(start[s.D], compiled.col_lower[s.D], compiled.col_upper[s.D])
        xd[s.design_integer] = np.round(xd[s.design_integer])
        if not s.meets_design_rows(xd):
            start = None  # (typical days' elastic plan breaks a cap: evaluated, it was taken as a plan)
    if start is None:
        state, xd, _, _ = master.solve(deadline, gap)
        if state != "ok":
            return Outcome("infeasible" if state == "infeasible" else "no_solution", message="design rows: " + state)

    def evaluate(xd):
        state, payload = dispatch.solve(xd)
        if state == "ok":
            cost, gradient, xo, y, violation, penalised, reach = payload
            total = float(compiled.cost[s.D] @ xd) + float(cost.sum()) + offset
            if relaxation is not None:
                relaxation.evaluated.append((xd.copy(), xo, y, penalised))
            violated = violation.sum() > VIOLATION_TOL * max(1.0, float(np.abs(xo).max(initial=0.0)))
            # a priced violation makes the cut steep and large: the LP's tolerances then leave it
            # inexact by more than the gap, so it is loosened by its own size
            cut_cost = cost - PENALISED_CUT_SLACK * dispatch.penalty * violation if violated else cost
            master.add_optimality_cut(cut_cost, gradient, xd, len(made_by))
            made_by.append(y[dispatch.over_time])
            if cuts is not None:
                cuts.append((cut_cost, gradient, xd.copy()))
            if violated:
                for cut in reach:
                    master.add_feasibility_cut(*cut)
                return "violated", total, False, None, None
            integral = not fractional(xd[s.design_integer]).any()
            return "ok", total, integral, xo, y
        if state == "infeasible":
            for cut in payload:
                master.add_feasibility_cut(*cut)
            return "infeasible", None, False, None, None
        return state, payload, False, None, None

    phase = "relaxation"
    lp_best = math.inf
    mark, still = (-math.inf, math.inf), 0  # (lower, lp_best) when the relaxation last moved; rounds since
    centre, radius = xd.copy(), np.maximum(np.abs(xd), 1.0)
    floor = radius / 8
    edge = np.zeros(len(xd), dtype=bool)
    previous = None
    while True:
        rounds += 1
        state, total, integral, xo, y = evaluate(xd)
        if state in ("time", "error", "slow"):
            break
        if state == "ok" and integral and total < best:
            best, best_xd, best_xo, best_y = total, xd.copy(), xo, y
        settled = previous is not None and np.allclose(xd, previous, rtol=1e-9, atol=1e-9)
        if state == "infeasible" and settled and phase == "integral":
            break  # its feasibility cuts did not move the master (the box does not hold it): nor would they again
        if state == "violated" and (settled or (lower > -math.inf and relative_gap(total, lower) <= gap / 10)):
            if dispatch.penalty_raises >= MAX_PENALTY_RAISES:
                break  # likely no design serves the load within the limits: HiGHS's MIP proves it
            dispatch.raise_penalty()  # the master settled on a design that cannot serve the load
        elif settled and phase == "relaxation":
            radius *= 4  # the box alone holds the master on a design it has seen: widen it
        if state == "ok" and total < lp_best:  # a serious step: move the box, widen it where it held
            lp_best, centre = total, xd.copy()
            radius[edge] *= 4
        elif phase == "relaxation" and rounds > 1:  # a null step: look closer to the best design
            radius = np.maximum(radius / 2, floor)
        if best < math.inf and lower > -math.inf and relative_gap(best, lower) <= gap:
            break
        # to the integral master: once the relaxation has converged, or what is left is mostly
        # integrality, or no design has met every row yet (the box would hold the master around
        # one that does not; unboxed and integral, it looks elsewhere)
        moved = relative_gap(max(lower, mark[0]), mark[0]) > gap / 10 or relative_gap(mark[1], min(lp_best, mark[1])) > gap / 10
        mark, still = ((lower, lp_best), 0) if moved else (mark, still + 1)
        if phase == "relaxation" and lower > -math.inf and (
                lp_best == math.inf or relative_gap(lp_best, lower) <= gap / 10 or still >= STALL_ROUNDS
                or (best < math.inf and relative_gap(lp_best, lower) <= INTEGRALITY_SHARE * relative_gap(best, lower))):
            phase = "integral"
            master.make_integral()
        if rounds >= MAX_ROUNDS or deadline.passed or dispatch.over_budget(master.seconds):
            break
        progress.report(f"decomposition: round {rounds} ({phase})",
                        relative_gap(best, lower) if best < math.inf and lower > -math.inf else None)
        region = (centre, radius) if phase == "relaxation" else None
        mstate, xd_next, bound, edge = master.solve(deadline, gap / 10, region)
        if mstate == "infeasible" and region is not None:
            # the box alone can leave out every design the feasibility cuts allow (a design short
            # of the load, the box around it): the master without it, the box grown to its design
            mstate, xd_next, bound, edge = master.solve(deadline, gap / 10, None)
            if mstate == "ok":
                radius = np.maximum(radius, np.abs(xd_next - centre))
        if mstate == "ok" and region is not None and edge.any():
            # the box held the master back: its bound is the master's without the box
            gstate, _, global_bound, _ = master.solve(deadline, gap / 10, None)
            bound = global_bound if gstate == "ok" else None
        if mstate != "ok":
            # (an infeasible master is no proof: its cuts hold only to the LP's tolerances, and
            # they had cut off a design that met every row, random build-out r2069_14 at a 0.26 %
            # gap: what the loop has goes on to HiGHS's MIP, which proves infeasibility itself)
            break
        if bound is not None and bound > -INF:
            # an LP master bounds the relaxation, hence the plan; so does a MIP master
            lower = max(lower, bound + offset)
        if best < math.inf and lower > -math.inf and relative_gap(best, lower) <= gap:
            break
        previous, xd = xd, xd_next

    converged = best < math.inf and lower > -math.inf and relative_gap(best, lower) <= gap
    if converged and s.design_integer.any():
        # polish: with the integers settled, the continuous design (MW of solar, battery) is
        # brought to a hundredth of the gap in a few more cheap rounds
        master.fixed[s.design_integer] = np.round(best_xd[s.design_integer])
        for _ in range(POLISH_ROUNDS):
            mstate, xd, bound, _ = master.solve(deadline, gap / 100, None)
            if mstate != "ok" or deadline.passed or relative_gap(best, bound + offset) <= gap / 100:
                break
            rounds += 1
            state, total, integral, xo, y = evaluate(xd)
            if state == "ok" and total < best:
                best, best_xd, best_xo, best_y = total, xd.copy(), xo, y
        master.fixed[:] = np.nan
    zeroed = np.zeros(len(s.D), dtype=bool)  # negligible amounts the plan holds at zero (see small)
    if converged and small is not None:
        (best, best_xd, best_xo, best_y), zeroed, tried = _without_dust(
            s, master, dispatch, evaluate, small[s.D], (best, best_xd, best_xo, best_y), lower, deadline, gap)
        rounds += tried
    outcome = Outcome("optimal" if converged else "handover", best if best < math.inf else None,
                      lower if lower > -math.inf else None, rounds=rounds, sub_solves=dispatch.solves,
                      relaxation=relaxation, cuts=cuts)
    if best_xd is None:
        if converged is False and lower > -math.inf and not deadline.passed:
            outcome.message = "no integral design evaluated"
        return outcome
    n_rows, n_cols = original.shape
    outcome.x = s.full(best_xd, best_xo)[:n_cols]
    if options.duals and converged:
        relax = np.r_[original.components(options.relax_for_duals), np.zeros(compiled.shape[1] - n_cols, dtype=bool)]
        master_duals = master.row_duals_at(best_xd, relax[s.D], zeroed)
        if master_duals is not None:
            duals = np.zeros(compiled.shape[0])
            duals[s.RS], duals[s.RM] = best_y, master_duals[:len(s.RM)]
            duals[s.RS[dispatch.over_time]] = master.over_time_duals(master_duals, made_by, dispatch.over_time_group)
            outcome.row_duals = duals[:n_rows]
    return outcome


def _without_dust(s: _Split, master: _Master, dispatch: _Dispatch, evaluate, small: np.ndarray, plan: tuple,
                  lower: float, deadline: Deadline, gap: float) -> tuple[tuple, np.ndarray, int]:
    """The converged ``plan`` (total, design, dispatch, duals) with its negligible amounts (design
    columns below ``small``) at zero: the cuts bring a MW of solar or battery near zero, not to
    it. The master's design with them held at zero (what depends on them, such as a build-out's
    capacity in use, follows) is evaluated, and kept where it has fewer such amounts, costs at
    most a tenth of the gap more than ``plan`` and stays within the gap of ``lower``; its own
    such amounts join them, DUST_ROUNDS times at most (an amount the cuts need, a firm MW short
    at N+1, moves from one column to another: the rounds stop there). Returns (the plan kept,
    the columns it holds at zero, the evaluations made)."""
    def dust(xd):
        return (small > 0) & (xd < small) & (xd != 0)

    kept, held, tried = plan, np.zeros(len(small), dtype=bool), 0
    for _ in range(DUST_ROUNDS):
        tiny = dust(kept[1])
        if not tiny.any() or deadline.passed or dispatch.over_budget(master.seconds):
            break
        master.fixed[s.design_integer] = np.round(kept[1][s.design_integer])
        master.fixed[held | tiny] = 0.0
        state, xd, _, _ = master.solve(deadline, gap / 100, None)
        master.fixed[:] = np.nan
        if state != "ok":
            break
        tried += 1
        state, total, integral, xo, y = evaluate(xd)
        if not (state == "ok" and integral and dust(xd).sum() < tiny.sum()
                and total <= plan[0] + gap / 10 * abs(plan[0]) and relative_gap(total, lower) <= gap):
            break
        kept, held = (total, xd.copy(), xo, y), held | tiny
    return kept, held, tried


def dispatch_with_integers(compiled: Compiled, operational: np.ndarray | None, x: np.ndarray, options: SolveOptions,
                           deadline: Deadline, abs_gap: float, cap_s: float, split: _Split | None = None,
                           relaxed: bool = False):
    """The dispatch of the design in ``x`` with the operational integers (unit commitment) kept
    integral, within ``cap_s`` seconds: (cost of the plan, full x) or (None, None). ``split``:
    the model's split, if made already (else by ``operational``). ``relaxed``: ``x`` holds a
    relaxed dispatch of that design; where HiGHS's MIP is cut short, that dispatch rounded up
    (:func:`_rounded_up`) is the plan if it costs less or the MIP found none (held-out r2041_01:
    the MIP at its 5 s cap none, or 0.16 % above the rounded plan)."""
    s = split or _Split(compiled, operational)
    lower, upper = compiled.row_lower[s.RS], compiled.row_upper[s.RS]
    shift = s.A_sub_design @ x[s.D]
    lp = (compiled.cost[s.O], compiled.col_lower[s.O], compiled.col_upper[s.O], lower - shift, upper - shift, s.A_sub_op)
    h = new_highs(options)
    h.passModel(highs_lp(*lp, integer=s.op_integer))
    h.setOptionValue("mip_abs_gap", abs_gap)
    h.setOptionValue("mip_rel_gap", 0.0)
    deadline.arm(h, cap_s=cap_s)
    h.run()
    found = h.getInfo().primal_solution_status == 2
    xo = np.array(h.getSolution().col_value) if found else None
    if relaxed and h.getModelStatus() != Status.kOptimal:
        late = deadline.passed  # (the MIP cut short by the time limit or a stop: the design still gets its plan)
        rounded = _rounded_up(lp, s.op_integer, x[s.O], replace(options, stop=None) if late else options,
                              Deadline(GRACE_S, time.perf_counter()) if late else deadline, cap_s)
        if rounded is not None and (xo is None or lp[0] @ rounded < lp[0] @ xo):
            xo = rounded
    if xo is None:
        return None, None
    total = float(compiled.cost[s.D] @ x[s.D]) + float(lp[0] @ xo) + compiled.offset
    return total, s.full(x[s.D], xo)


def value_range(A: sp.spmatrix, row_lower: np.ndarray, row_upper: np.ndarray, col_lower: np.ndarray,
                col_upper: np.ndarray, x: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(least, most) each column of ``cols`` may be with every other column at ``x``: what its own
    bounds and the rows it is in leave (units on in an hour: from its output over the unit's
    rating up to its output over the unit's minimum load)."""
    entries = A[:, cols].tocsc()
    entries.eliminate_zeros()
    entries = entries.tocoo()
    a, j = entries.data, entries.col
    others = (A @ x)[entries.row] - a * x[cols[j]]  # each row's activity without the column
    from_lower = (row_lower[entries.row] - others) / a
    from_upper = (row_upper[entries.row] - others) / a
    least, most = col_lower[cols].copy(), col_upper[cols].copy()
    np.maximum.at(least, j, np.minimum(from_lower, from_upper))
    np.minimum.at(most, j, np.maximum(from_lower, from_upper))
    return least, most


def _rounded_up(lp: tuple, integer: np.ndarray, xo: np.ndarray, options: SolveOptions, deadline: Deadline,
                cap_s: float) -> np.ndarray | None:
    """A plan of the dispatch LP ``lp`` (cost, column bounds, row bounds, matrix) with its
    ``integer`` columns integral, near its relaxed solution ``xo``: each integer column at the least
    integer its rows allow with every other column at ``xo`` (hourly units on: enough units for the
    relaxed output, whatever the relaxation ran them at), then the rest dispatched again by one LP
    with those held (a unit's minimum load then holds), within ``cap_s`` seconds and one more.
    None where that LP has no plan."""
    cost, col_lower, col_upper, row_lower, row_upper, A = lp
    ints = np.flatnonzero(integer)
    least, _ = value_range(A, row_lower, row_upper, col_lower, col_upper, xo, ints)
    held = np.ceil(least - 1e-6)
    if (held > col_upper[ints] + 1e-9).any():
        return None
    lower, upper = col_lower.copy(), col_upper.copy()
    lower[ints] = upper[ints] = held
    h = new_highs(options)
    h.passModel(highs_lp(cost, lower, upper, row_lower, row_upper, A))
    deadline.arm(h, cap_s=cap_s + 1.0)
    h.run()
    return np.array(h.getSolution().col_value) if h.getModelStatus() == Status.kOptimal else None
