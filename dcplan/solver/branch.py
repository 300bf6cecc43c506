"""Two monolithic routes: HiGHS's own MIP solver, and a compact branch-and-bound over few
integer columns with warm-started LP re-solves (each node starts from its parent's basis; a
re-solve that takes more simplex iterations than a cold solve did is stopped and solved cold)."""

from __future__ import annotations

import atexit
import math
import threading

import highspy
import numpy as np

from dcplan.solver.highs import (
    OUT_OF_TIME,
    WARM_SLACK_ITERATIONS,
    Compiled,
    Deadline,
    Progress,
    SolveOptions,
    SolveResult,
    Status,
    fractional,
    relative_gap,
)

OVERRUN_SHARE = 0.05
"""How far past the time limit (a share of it, at least half a second) HiGHS's MIP is waited for.
HiGHS looks at the clock where it looks at its callbacks, not inside the LPs it solves for cuts
and nodes: one was seen to run 96 s on a 59 s limit. Past this, the solve returns its best plan
so far and asks HiGHS to stop where it next looks at its callbacks (see :func:`run_within`)."""
POLL_S = 0.1  # how often a MIP's wait looks at the deadline and the stop request
EXIT_WAIT_S = 30.0
"""How long Python's exit waits for a HiGHS run that was asked to stop (see :func:`run_within`):
a program that ends while HiGHS runs in another thread is aborted by the C++ runtime
("terminate called without an active exception")."""
_abandoned: list[threading.Thread] = []


def highs_mip(h: highspy.Highs, compiled: Compiled, options: SolveOptions, deadline: Deadline,
              progress: Progress, start: np.ndarray | None = None):
    """HiGHS's MIP solver on the whole model; ``start``: a feasible plan to begin from."""
    h.passModel(compiled.lp(integral=True))
    h.setOptionValue("mip_rel_gap", options.mip_gap)
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = start
        sol.value_valid = True
        h.setSolution(sol)
    deadline.arm(h)
    progress.report("solving (HiGHS MIP)")
    best = _Incumbent(h)
    if not run_within(h, deadline):
        found = best.found  # one read: HiGHS may still be finding better plans
        if found is None:
            return SolveResult("no_solution", message="time limit (HiGHS did not stop at it)"), None
        x, objective, bound = found
        bound = bound if math.isfinite(bound) else None
        gap = relative_gap(objective, bound) if bound is not None else None
        return SolveResult("time_limit", objective, bound, gap,
                           message="time limit (HiGHS did not stop at it: its best plan then)"), x
    status, info = h.getModelStatus(), h.getInfo()
    if status == Status.kInfeasible:
        return SolveResult("infeasible", lp_solves=1, message="HiGHS: infeasible"), None
    if status in (Status.kUnbounded, Status.kUnboundedOrInfeasible):
        return SolveResult("unbounded", message=h.modelStatusToString(status)), None
    if info.primal_solution_status != 2:
        if status in OUT_OF_TIME:
            return SolveResult("no_solution", message="time limit"), None
        return SolveResult("error", message=h.modelStatusToString(status)), None
    x = np.array(h.getSolution().col_value)
    gap = float(info.mip_gap) if math.isfinite(info.mip_gap) else None
    return SolveResult("optimal" if status == Status.kOptimal else "time_limit", info.objective_function_value,
                       info.mip_dual_bound, gap, nodes=int(info.mip_node_count),
                       message=h.modelStatusToString(status)), x


class _Incumbent:
    """The best plan HiGHS's MIP has found so far, and its bound, kept as it finds them."""

    def __init__(self, h: highspy.Highs):
        self.found = None  # (x, objective, bound), replaced whole
        h.cbMipImprovingSolution += self._found

    def _found(self, event) -> None:
        out = event.data_out
        self.found = (np.array(out.mip_solution), float(out.objective_function_value), float(out.mip_dual_bound))


def run_within(h, deadline: Deadline) -> bool:
    """Run ``h`` and wait for it until the deadline (or a stop request) and :data:`OVERRUN_SHARE`
    of the limit more (half a second at least); False when it has not finished by then: it is
    then asked to stop, and left to (Python's exit waits for it, EXIT_WAIT_S at most). HiGHS
    answers where it looks at its callbacks, which can be seconds apart inside its MIP (4 s
    seen on memphis)."""
    if deadline.limit_s is None and deadline.stop is None:
        h.run()
        return True
    done = threading.Event()
    h.HandleUserInterrupt = True  # so that cancelSolve stops it

    def work() -> None:
        h.run()
        done.set()

    thread = threading.Thread(target=work, daemon=True, name="highs-mip")
    thread.start()
    while not done.wait(POLL_S):
        if deadline.passed:
            if done.wait(max(0.5, OVERRUN_SHARE * (deadline.limit_s or 0.0))):
                return True
            h.cancelSolve()  # no CPU burnt on a plan no one waits for, and an exit that waits for it
            _abandoned.append(thread)
            return False
    return True


@atexit.register
def _wait_for_abandoned_runs() -> None:
    for thread in _abandoned:
        thread.join(EXIT_WAIT_S)


class _Node:
    __slots__ = ("lower", "upper", "bound", "basis")

    def __init__(self, lower, upper, bound, basis):
        self.lower, self.upper, self.bound, self.basis = lower, upper, bound, basis


class _LpRunner:
    """Re-solves of one LP whose integer columns' bounds change, each from a given basis. A warm
    re-solve may take as many simplex iterations as a cold solve has (and WARM_SLACK_ITERATIONS):
    past that it is stopped and the LP solved cold, so no path is much slower than solving each
    node afresh, and the path does not depend on how busy the machine is."""

    def __init__(self, h, compiled: Compiled, idx: np.ndarray, deadline: Deadline):
        self.h, self.compiled, self.idx, self.deadline = h, compiled, idx, deadline
        self.solves, self.cold_iterations = 0, None
        h.passModel(compiled.lp(integral=False))

    def run(self, lower, upper, basis=None):
        h = self.h
        if len(self.idx):
            h.changeColsBounds(len(self.idx), self.idx, lower, upper)
        if self.deadline.passed:
            return "time", None, None
        if basis is not None and self.cold_iterations is not None:
            h.setBasis(basis)
            h.setOptionValue("simplex_iteration_limit", self.cold_iterations + WARM_SLACK_ITERATIONS)
            self.deadline.arm(h)
            h.run()
            self.solves += 1
            if h.getModelStatus() != Status.kIterationLimit or self.deadline.passed:
                return self._outcome()
        h.setOptionValue("simplex_iteration_limit", highspy.kHighsIInf)
        h.clearSolver()  # cold, with presolve
        self.deadline.arm(h)
        h.run()
        self.solves += 1
        if h.getModelStatus() == Status.kOptimal:
            self.cold_iterations = max(self.cold_iterations or 0, h.getInfo().simplex_iteration_count)
        return self._outcome()

    def _outcome(self):
        h = self.h
        status = h.getModelStatus()
        if status == Status.kOptimal:
            return "ok", h.getInfo().objective_function_value, np.array(h.getSolution().col_value)
        if status == Status.kInfeasible:
            return "infeasible", None, None
        if status in (Status.kUnbounded, Status.kUnboundedOrInfeasible):
            return "unbounded", None, None
        if status in OUT_OF_TIME or status == Status.kIterationLimit:  # (a warm one's, past the deadline)
            return "time", None, None
        return "error:" + h.modelStatusToString(status), None, None


def branch_and_bound(h, compiled: Compiled, options: SolveOptions, deadline: Deadline, progress: Progress):
    """Best-first branch-and-bound on the LP relaxation, diving depth-first until the first
    integer solution. Exact up to ``mip_gap``. Returns (result, x, basis of the plan's LP)."""
    idx = np.flatnonzero(compiled.integer).astype(np.int32)
    runner = _LpRunner(h, compiled, idx, deadline)
    base_lower, base_upper = compiled.col_lower[idx], compiled.col_upper[idx]

    progress.report("solving LP relaxation")
    state, root_obj, x = runner.run(base_lower.copy(), base_upper.copy())
    if state == "infeasible":
        return SolveResult("infeasible", lp_solves=runner.solves, message="the LP relaxation is infeasible"), None, None
    if state == "unbounded":
        return SolveResult("unbounded", lp_solves=runner.solves), None, None
    if state != "ok":
        return SolveResult("no_solution" if state == "time" else "error", lp_solves=runner.solves,
                           message="time limit" if state == "time" else state), None, None
    if not len(idx):
        return SolveResult("optimal", root_obj, root_obj, 0.0, lp_solves=runner.solves), x, h.getBasis()

    incumbent_obj, incumbent_x, incumbent_basis = math.inf, None, None
    open_nodes = [_Node(base_lower.copy(), base_upper.copy(), root_obj, None)]
    first = (root_obj, x)
    nodes, timed_out = 0, False

    def tolerance(obj):
        return options.mip_gap * max(abs(obj), 1.0)

    while open_nodes:
        if incumbent_x is None:
            node = open_nodes.pop()  # dive: last pushed (the preferred child) first
        else:
            best = min(range(len(open_nodes)), key=lambda i: open_nodes[i].bound)
            node = open_nodes.pop(best)
            if node.bound >= incumbent_obj - tolerance(incumbent_obj):
                open_nodes.append(node)
                break
        if first is not None:
            (obj, x), first = first, None
        else:
            gap = (relative_gap(incumbent_obj, min([node.bound] + [n.bound for n in open_nodes]))
                   if incumbent_x is not None else None)
            progress.report(f"branch and bound: node {nodes + 1}" + ("" if incumbent_x is not None else ", diving"), gap)
            state, obj, x = runner.run(node.lower, node.upper, node.basis)
            nodes += 1
            if state == "time":
                open_nodes.append(node)
                timed_out = True
                break
            if state != "ok":
                continue
        if obj >= incumbent_obj - tolerance(incumbent_obj):
            continue
        values = x[idx]
        split = np.flatnonzero(fractional(values))
        basis = h.getBasis()
        if not split.size:
            incumbent_obj, incumbent_x, incumbent_basis = obj, x.copy(), basis
            incumbent_x[idx] = np.round(values)
            gap = relative_gap(incumbent_obj, min([n.bound for n in open_nodes], default=incumbent_obj))
            progress.report("branch and bound: improved plan", gap)
            continue
        # branch on the most fractional, binaries (range 1) first: they are the structural choices
        ranges = node.upper[split] - node.lower[split]
        order = np.lexsort((-np.abs(values[split] - np.round(values[split])), ranges > 1))
        j = split[order[0]]
        value = values[j]
        down = _Node(node.lower.copy(), node.upper.copy(), obj, basis)
        down.upper[j] = math.floor(value)
        up = _Node(node.lower.copy(), node.upper.copy(), obj, basis)
        up.lower[j] = math.ceil(value)
        # dive toward the rounding nearer the LP value; ties go up (covering a target)
        preferred_up = value - math.floor(value) >= 0.5
        open_nodes += [down, up] if preferred_up else [up, down]

    best_bound = min([n.bound for n in open_nodes], default=incumbent_obj)
    if incumbent_x is None:
        status = "no_solution" if timed_out else "infeasible"
        return SolveResult(status, bound=best_bound if open_nodes else None, lp_solves=runner.solves, nodes=nodes,
                           message="time limit before an integer plan was found" if timed_out
                           else "no integer plan satisfies the limits"), None, None
    best_bound = min(best_bound, incumbent_obj)
    return SolveResult("time_limit" if timed_out else "optimal", incumbent_obj, best_bound,
                       relative_gap(incumbent_obj, best_bound), lp_solves=runner.solves, nodes=nodes,
                       message="time limit reached" if timed_out else ""), incumbent_x, incumbent_basis
