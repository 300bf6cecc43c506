"""The two solves `dcplan check` may need: feasibility of a program with no committed plan (any
plan will do, so the solver stops at the first), and a re-dispatch of a committed build under
the current inputs (the build fixed, only the dispatch free)."""

from __future__ import annotations

import dataclasses
import time

from dcplan.api import PlanOutcome, less_time, plan_program, smooth_training_jobs
from dcplan.loader import ProgramInput
from dcplan.model import build_model
from dcplan.model.technologies import TECHNOLOGIES
from dcplan.plans.files import PlanFile
from dcplan.solver import SolveOptions, SolveResult, solve

FIRST_PLAN_GAP = 1.0  # a relative gap of 100 %: stop at the first plan found


def solve_for_feasibility(pi: ProgramInput, options: SolveOptions) -> PlanOutcome:
    """Is there any plan for the current inputs? Optimality is not sought."""
    return plan_program(pi, None, dataclasses.replace(options, mip_gap=FIRST_PLAN_GAP))


def redispatch_committed(pi: ProgramInput, plan: PlanFile, options: SolveOptions) -> SolveResult:
    """Solve the current model on the plan's time resolution with every build decision fixed at
    the committed plan's: feasible means the build still meets every step."""
    started = time.perf_counter()
    smoothing, ended = smooth_training_jobs(pi, options)
    if ended is not None:
        return ended.solve or SolveResult("infeasible", message="; ".join(ended.reasons))
    res = plan.time_resolution  # the days asked for: the peak days come back with them
    pm = build_model(pi, res.typical_days - (res.peak_days or 0) if res.typical_days else None, smoothing)
    for sm in pm.sites:
        for technology in TECHNOLOGIES:
            technology.commit(sm, plan.sites[sm.name])
    return solve(pm.model, dataclasses.replace(less_time(options, time.perf_counter() - started), mip_gap=FIRST_PLAN_GAP))
