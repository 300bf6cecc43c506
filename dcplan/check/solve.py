"""The two solves `dcplan check` may need: feasibility of a program with no committed plan (any
plan will do, so the solver stops at the first), and a re-dispatch of a committed build under
the current inputs (the build fixed, only the dispatch free)."""

from __future__ import annotations

import dataclasses

from dcplan import api
from dcplan.check.planfile import PlanFile
from dcplan.loader import ProgramInput
from dcplan.model import build_model
from dcplan.solver import SolveOptions, SolveResult, solve

FIRST_PLAN_GAP = 1.0  # a relative gap of 100 %: stop at the first plan found


def solve_for_feasibility(pi: ProgramInput, options: SolveOptions) -> api.PlanOutcome:
    """Is there any plan for the current inputs? Optimality is not sought."""
    return api.plan_program(pi, None, dataclasses.replace(options, mip_gap=FIRST_PLAN_GAP))


def redispatch_committed(pi: ProgramInput, plan: PlanFile, options: SolveOptions) -> SolveResult:
    """Solve the current model on the plan's time resolution with every build decision fixed at
    the committed plan's: feasible means the build still meets every step."""
    smoothing, reasons = api.smooth_training_jobs(pi)
    if reasons:
        return SolveResult("infeasible", message="; ".join(reasons))
    pm = build_model(pi, plan.time_resolution.typical_days, smoothing)
    for sm in pm.sites:
        entry, b, cat = plan.sites[sm.name], sm.block, sm.si.catalog
        tech = sm.si.site.technologies
        for g in b.G:
            b.gpu_units[g].fix(entry.gpus_new.get(g, 0) // cat.gpus[g].gpus_per_unit)
        for c in b.C:
            b.cooling_on[c].fix(1 if c == entry.cooling else 0)
        for cand in tech.gas:
            b.gas_new_units[cand.key].fix(round(entry.capacity.get(f"gas_{cand.key}_new_units", 0)))
        for name in ("solar", "wind"):
            cand = getattr(tech, name)
            if cand is not None:
                getattr(b, f"{name}_new_mw").fix(max(0.0, entry.capacity.get(f"{name}_mw", 0.0) - cand.existing_mw))
        if tech.battery is not None:
            b.bat_new_mw.fix(max(0.0, entry.capacity.get("battery_mw", 0.0) - tech.battery.existing_power_mw))
            b.bat_new_mwh.fix(max(0.0, entry.capacity.get("battery_mwh", 0.0) - tech.battery.existing_energy_mwh))
    return solve(pm.model, dataclasses.replace(options, mip_gap=FIRST_PLAN_GAP))
