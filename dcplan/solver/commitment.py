"""A bound for hourly unit commitment from inside the decomposition.

The decomposition's loop relaxes the hourly units on; the committed dispatch of its design is the
plan, but the loop's bound is the relaxation's, which can lie more than the gap below the plan
(hours the relaxation runs a unit below its minimum load). Where the dispatch falls apart into
independent parts (hours: no storage, no yearly cap), its cost is the sum of theirs, and a MIP
much smaller than the whole model's bounds the plan: the design, the parts whose committed
dispatch costs more than their relaxed one kept whole with their integers, and every other part
represented by the loop's cuts split part by part (each part's share of an optimal dual solution
of the separable LP is an optimal dual solution of that part's LP, so its cut under-estimates that
part's relaxed, hence committed, cost at any design). Its optimum is a lower bound on the plan's
cost. Where its design is not the plan's, that design is evaluated too (a cut, its committed
dispatch, a better plan perhaps) and its own differing parts join; all within a time budget,
after which the caller hands over to HiGHS's MIP on the whole model as before.
"""

from __future__ import annotations

import math
import time

import highspy
import numpy as np
import scipy.sparse as sp

from dcplan.solver.benders import (
    CUT_GROUPS,
    PENALISED_CUT_SLACK,
    Relaxation,
    _by_group,
    _parts,
    cut_row,
    dispatch_with_integers,
)
from dcplan.solver.branch import run_within
from dcplan.solver.highs import INF, Deadline, SolveOptions, highs_lp, new_highs, relative_gap

MAX_ROUNDS = 8  # partial MIPs; each adds the differing parts of a design it had not seen
DIFFERS = 1e-9  # a part's committed cost above its relaxed one by more than this share of the plan's


class CommitmentBound:
    """Partial MIPs over the relaxation's parts (see the module's docstring)."""

    def __init__(self, relaxation: Relaxation):
        s = self.s = relaxation.split
        self.dispatch = relaxation.dispatch
        rows = s.A_sub_op.tocsr()
        multi = np.diff(rows.indptr) > 1  # a row on one dispatch column is a bound once the design is fixed
        self.col_part, self.n_parts = _parts(rows[multi], s.c.cost[s.O])
        live = self.col_part >= 0
        self.applies = self.n_parts > 1 and np.bincount(self.col_part[live]).max() <= live.sum() / 2
        if not self.applies:
            return
        # a row's part is its columns' (one part by construction); rows on columns in no part: -1
        self.row_part = self.col_part[rows.indices[rows.indptr[:-1]]]
        self.sum_cols = _by_group(np.where(live, self.col_part, 0), self.n_parts).multiply(live[None, :]).tocsr()
        kept = self.row_part >= 0
        self.sum_rows = _by_group(np.where(kept, self.row_part, 0), self.n_parts).multiply(kept[None, :]).tocsr()
        self.group = np.arange(self.n_parts) * min(CUT_GROUPS, self.n_parts) // self.n_parts
        self.cuts = [self._part_cut(*e) for e in relaxation.evaluated]

    def _part_cut(self, xd: np.ndarray, xo: np.ndarray, y: np.ndarray, penalised: np.ndarray):
        """(design, each part's relaxed cost there, each part's gradient in the design); priced
        violations loosened as the loop's cuts are (see PENALISED_CUT_SLACK)."""
        cost = self.sum_cols @ (self.s.c.cost[self.s.O] * xo) + (1 - PENALISED_CUT_SLACK) * (self.sum_rows @ penalised)
        gradient = -(self.sum_rows @ sp.csr_matrix(self.s.A_sub_design.multiply(y[:, None])))
        return xd, cost, gradient.toarray()

    def prove(self, x: np.ndarray, objective: float, options: SolveOptions, deadline: Deadline, cap_s: float):
        """(bound, objective, x) from partial MIPs started from the plan ``x`` (full columns) of
        cost ``objective``, within ``cap_s`` seconds: stops once the bound is within
        ``options.mip_gap`` of the best plan (``objective`` and ``x``: the best plan found, a
        committed dispatch). ``bound`` is None when no partial MIP gave one."""
        s, gap = self.s, options.mip_gap
        budget = Deadline(cap_s, time.perf_counter())
        xd = x[s.D]
        relaxed = self._relaxed_cost(xd)
        if relaxed is None:
            return None, objective, x
        whole = self._differing(x, relaxed, objective)
        bound = None
        for _ in range(MAX_ROUNDS):
            if deadline.passed or budget.passed:
                break
            found = self._partial_mip(whole, x, options, deadline, budget)
            if found is None:
                break
            round_bound, xd_next = found
            bound = round_bound if bound is None else max(bound, round_bound)
            if relative_gap(objective, bound) <= gap:
                break
            if any(np.allclose(xd_next, e[0], rtol=1e-9, atol=1e-9) for e in self.cuts):
                break  # a design seen already: no new cut, no new part
            relaxed = self._relaxed_cost(xd_next)
            if relaxed is None:
                break
            abs_gap = gap * abs(objective) / 10
            total, x_next = dispatch_with_integers(s.c, None, s.full(xd_next, np.zeros(len(s.O))), options,
                                                   deadline, abs_gap=abs_gap, cap_s=budget.remaining(), split=s)
            if x_next is None:
                break
            if total < objective:
                objective, x = total, x_next
            whole |= self._differing(x_next, relaxed, total)
        return bound, objective, x

    def _relaxed_cost(self, xd: np.ndarray):
        """Each part's relaxed cost at design ``xd`` (its dispatch solved now if the loop did not),
        or None when that dispatch has no solution."""
        for seen, cost, _ in self.cuts:
            if np.array_equal(seen, xd):
                return cost
        state, payload = self.dispatch.solve(xd)
        if state != "ok":
            return None
        self.cuts.append(self._part_cut(xd.copy(), payload[2], payload[3], payload[5]))
        return self.cuts[-1][1]

    def _differing(self, x: np.ndarray, relaxed, objective: float) -> np.ndarray:
        """The parts whose committed dispatch in ``x`` costs more than the relaxed one."""
        committed = self.sum_cols @ (self.s.c.cost[self.s.O] * x[self.s.O])
        return committed - relaxed > DIFFERS * max(abs(objective), 1.0)

    def _partial_mip(self, whole: np.ndarray, x: np.ndarray, options: SolveOptions, deadline: Deadline,
                     budget: Deadline):
        """(lower bound, its design) of the MIP with the parts ``whole`` whole and integral and
        the others by their cuts, started from the plan ``x``; None if it did not finish."""
        s, c = self.s, self.s.c
        n, n_groups = len(s.D), int(self.group.max()) + 1
        cols = np.flatnonzero(np.isin(self.col_part, np.flatnonzero(whole)))
        rows = np.flatnonzero(np.isin(self.row_part, np.flatnonzero(whole)))
        rest = _by_group(self.group, n_groups).multiply(~whole[None, :]).tocsr()  # the other parts by group
        cut_lower, cut_design, cut_theta = [], [], []
        for xd, cost, gradient in self.cuts:
            group_cost, group_gradient = rest @ cost, rest @ gradient
            for g in range(n_groups):
                lower, row = cut_row(group_cost[g], group_gradient[g], xd)
                cut_lower.append(lower)
                cut_design.append(row[:n])
                cut_theta.append(row[n])
        n_cuts = len(cut_lower)
        cut_group = np.arange(n_cuts) % n_groups
        cut_lower, cut_design, cut_theta = np.array(cut_lower), np.array(cut_design), np.array(cut_theta)
        A = sp.vstack([
            sp.hstack([s.A_master, sp.csr_matrix((s.A_master.shape[0], n_groups + len(cols)))]),
            sp.hstack([sp.csr_matrix(cut_design), sp.csr_matrix((cut_theta, (np.arange(n_cuts), cut_group)),
                                                                shape=(n_cuts, n_groups)),
                       sp.csr_matrix((n_cuts, len(cols)))]),
            sp.hstack([s.A_sub_design[rows], sp.csr_matrix((len(rows), n_groups)), s.A_sub_op[rows][:, cols]]),
        ]).tocsc()
        kept = s.O[cols]
        lp = highs_lp(np.r_[c.cost[s.D], np.ones(n_groups), c.cost[kept]],
                      np.r_[c.col_lower[s.D], np.full(n_groups, -INF), c.col_lower[kept]],
                      np.r_[c.col_upper[s.D], np.full(n_groups, INF), c.col_upper[kept]],
                      np.r_[c.row_lower[s.RM], cut_lower, c.row_lower[s.RS][rows]],
                      np.r_[c.row_upper[s.RM], np.full(n_cuts, INF), c.row_upper[s.RS][rows]],
                      A, c.offset, np.r_[s.design_integer, np.zeros(n_groups, dtype=bool), s.op_integer[cols]])
        h = new_highs(options)
        h.passModel(lp)
        h.setOptionValue("mip_rel_gap", options.mip_gap / 2)
        # the plan as a start: its design, its committed hours, each theta at its cuts' highest
        xd = x[s.D]
        theta = np.full(n_groups, -INF)
        np.maximum.at(theta, cut_group, (cut_lower - cut_design @ xd) / cut_theta)
        start = highspy.HighsSolution()
        start.col_value = np.r_[xd, theta, x[kept]]
        start.value_valid = True
        h.setSolution(start)
        deadline.arm(h, cap_s=budget.remaining())
        if not run_within(h, deadline):  # HiGHS's MIP can look at its clock seconds apart
            return None
        bound = h.getInfo().mip_dual_bound
        if not math.isfinite(bound) or h.getInfo().primal_solution_status != 2:
            return None
        return bound, np.array(h.getSolution().col_value)[:n]

