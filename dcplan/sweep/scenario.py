"""One scenario of a sweep: load the base program with the scenario's overrides, plan it, and
summarise the plan in one row. This is the function a pool process or a Dask worker runs; it
reads only the input files and returns plain data, so the same task gives the same row anywhere
(bar its timings)."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path

from dcplan.api import plan_program
from dcplan.errors import InputError
from dcplan.formatting import gap_words
from dcplan.loader import load_program
from dcplan.model.buildout import months_between
from dcplan.plans.types import Plan, gas_units
from dcplan.solver import SolveOptions

TIMING_COLUMNS = ("seconds", "solve_seconds")
"""Columns that differ from run to run; everything else in a row is deterministic."""
OUTPUT_COLUMNS = ("total_cost_usd_per_year", "cost_usd_per_gpu_hour", "power_cost_usd_per_mwh", "compute_delivered",
                  "gpus", "it_mw", "cooling", "pue", "grid_peak_mw", "gas_mw", "solar_mw", "wind_mw", "battery_mw",
                  "battery_mwh", "co2_t_per_year", "nox_t_per_year", "water_m3_per_year", "binding_caps", "gap")
"""The figures :func:`plan_outputs` gives every plan (results tables have them even when no
scenario has a plan); GPUs by model and gas units by type follow."""


@dataclass(frozen=True)
class ScenarioTask:
    id: str
    base: str  # absolute path of the program file (workers need the inputs at the same path)
    overrides: dict
    time_limit_s: float | None
    mip_gap: float
    set_at: tuple = ()  # (key path, (file, line, key)) of each axis: what findings cite (ProgramInput.set_at)


def run_scenario(task: ScenarioTask) -> tuple[dict, Plan | None]:
    """The scenario's outcome as (row fields, plan or None). One HiGHS thread: the sweep runs
    scenarios side by side instead."""
    started = time.perf_counter()
    try:
        program = load_program(Path(task.base), None, task.overrides, dict(task.set_at))
    except InputError as err:  # each value was tried alone up front; this combination fails
        reason = "; ".join(str(p) for p in err.problems)
        return {"status": "invalid", "reason": reason, "seconds": time.perf_counter() - started}, None
    program.scenario = task.id  # plan.yaml names the scenario it belongs to
    options = SolveOptions(time_limit_s=task.time_limit_s, mip_gap=task.mip_gap, threads=1)
    outcome = plan_program(program, None, options)
    result = outcome.solve
    if outcome.infeasible:
        row = {"status": "infeasible", "reason": "; ".join(outcome.why_no_plan())}
    elif outcome.plan is None:
        row = {"status": result.status, "reason": result.message or result.status}
    else:
        row = {"status": result.status, **plan_outputs(outcome.plan)}
        if result.status == "time_limit":
            row["reason"] = "time limit reached" + (f"; gap {gap_words(result.gap, result.gap_share)}"
                                                    if result.gap is not None else "")
    row["seconds"] = time.perf_counter() - started
    if outcome.plan is not None:
        outcome.plan.smoothing = {}  # a sweep writes no training job's smoothing: not sent back from a worker
    if result is not None:
        row["solve_seconds"] = result.compile_seconds + result.solve_seconds
    return row, outcome.plan


def plan_outputs(plan: Plan) -> dict:
    """The plan's key figures, summed over its sites: cost, MW by source, emissions, the caps
    that bind, and the decisions (GPUs by model, gas units by type, cooling); of a build-out its
    NPV, and with an earliest goal its period and the months from the horizon's start to it
    (a number a sweep's summary can rank)."""
    sites = plan.sites

    def capacity(test) -> float:
        return sum(v for s in sites for k, v in s.capacity.items() if test(k))

    figures = plan.key_figures()
    out = {
        **{k: figures[k] for k in ("total_cost_usd_per_year", "cost_usd_per_gpu_hour", "power_cost_usd_per_mwh")},
        "compute_delivered": plan.compute_delivered,
        **{k: figures[k] for k in ("gpus", "it_mw")},
        "cooling": sites[0].cooling if len(sites) == 1 else ", ".join(f"{s.name}: {s.cooling}" for s in sites),
        "pue": figures["pue"],
        "grid_peak_mw": capacity(lambda k: k == "grid_peak_import_mw"),
        "gas_mw": capacity(lambda k: k.startswith("gas_") and k.endswith("_mw")),
        "solar_mw": capacity(lambda k: k == "solar_mw"),
        "wind_mw": capacity(lambda k: k == "wind_mw"),
        "battery_mw": capacity(lambda k: k == "battery_mw"),
        "battery_mwh": capacity(lambda k: k == "battery_mwh"),
        **{k: figures[k] for k in ("co2_t_per_year", "nox_t_per_year")},
        "water_m3_per_year": sum(s.water_m3 for s in sites),
        "binding_caps": ", ".join(c.name for c in plan.caps if c.binding),
        "gap": plan.solver["gap"],
    }
    if plan.timeline is not None:  # a build-out: its net present cost, and its time to power
        out["npv_cost_usd"] = plan.timeline.npv_cost_usd
        period = (plan.earliest or {}).get("period")
        if period:
            out["earliest_period"] = period
            out["earliest_months"] = months_between(dt.date.fromisoformat(plan.timeline.base_date),
                                                    dt.date.fromisoformat(plan.earliest["date"]))
    for s in sites:
        for model, n in sorted(s.gpus.items()):
            out[f"gpus_{model}"] = out.get(f"gpus_{model}", 0) + n
        for kind, (n, _) in sorted(gas_units(s.capacity).items()):
            name = f"gas_units_{kind}"
            out[name] = out.get(name, 0) + int(n)
    return out
