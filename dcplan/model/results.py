"""Read a solved model back into a plain result: decisions, hourly dispatch, costs, emissions,
and the limits that bind. Everything downstream (writers, terminal, tests) uses this object."""

from __future__ import annotations

import dcplan.model.training as training
from dcplan.formatting import month_span
from dcplan.model.build import PlanModel
from dcplan.model.context import SiteModel, value_of, values_of
from dcplan.model.reliability import UNGUARDED
from dcplan.model.technologies import TECHNOLOGIES
from dcplan.model.timeline import extract_timeline
from dcplan.plans.types import CapReport, Plan, SitePlan
from dcplan.solver import SolveResult

FRACTION_QUANTITIES = {"compute_share", "renewable_share", "hourly_cfe_share", "pue",
                       "billed_demand_fraction", "onsite_dispatchable_share"}
UNITS = {"gpus": "GPU", "gpus_h100e": "H100e", "nox_t": "t", "co2_t": "t", "backup_engine_hours": "h",
         "water_m3": "m3", "grid_import_mw": "MW", "grid_emergency_import_mw": "MW", "land_acres": "acre",
         "cost_usd": "USD"}


def extract(pm: PlanModel, solve: SolveResult) -> Plan:
    program = pm.program.program
    tg = pm.tg
    time_res = {"method": tg.method, "steps": tg.n}
    if tg.typical_days:
        time_res["typical_days"] = tg.typical_days
        if tg.peak_days:
            time_res["peak_days"] = tg.peak_days
    target = program.compute.target
    timeline = None
    if pm.buildout is not None:
        by_period = [[site_plan(sm) for sm in sites] for sites in pm.buildout.sites]
        timeline = extract_timeline(pm.buildout, program, by_period)
        _carry_unguarded(timeline)
        target = pm.buildout.targets[-1]
        time_res["periods"] = len(by_period)
        time_res["period_length"] = program.buildout.period
    return Plan(
        program=program.name,
        scenario=pm.program.scenario,
        objective=program.objective.sense,
        time_resolution=time_res,
        solver=_solver_info(solve, pm),
        sites=timeline.sites_by_period[-1] if timeline else [site_plan(sm) for sm in pm.sites],
        target={"measure": target.measure, "amount": target.amount} if target else None,
        compute_delivered=value_of(pm.model.compute_delivered),
        caps=_cap_reports(pm, solve),
        timeline=timeline,
        year=program.horizon.start.year,
    )


def _carry_unguarded(timeline) -> None:
    """A build-out's plan shows its last period's notes: the periods before it that leave a unit's
    trip unguarded (reliability.UNGUARDED) are added there, the worst said whole."""
    last = {s.name: s for s in timeline.sites_by_period[-1]}
    for name, site in last.items():
        notes = [(p.name, note, s.unguarded_trip_short_mw)
                 for p, sites in zip(timeline.periods[:-1], timeline.sites_by_period[:-1]) for s in sites
                 if s.name == name for note in s.binding if note.startswith(UNGUARDED)]
        if notes:
            worst = max(notes, key=lambda pn: pn[2])
            site.binding.append(f"{UNGUARDED} in {len(notes)} earlier period(s), {notes[0][0]} to {notes[-1][0]}; "
                                f"the worst, {worst[0]}: {worst[1].split('): ', 1)[1]}")


def at_limit_tolerance(limit: float) -> float:
    """How far from its limit a cap still sits at it: 1e-5 of the limit (at least of 1). A cap a
    design meets is met to the design's accuracy, not HiGHS's row tolerance (a renewable share
    of 0.250003 against 0.25 read as not binding, though the plan's solar was sized to it and a
    lower limit saved $56 k a year; an audit)."""
    return 1e-5 * max(1.0, abs(limit))


def _cap_reports(pm: PlanModel, solve: SolveResult) -> list[CapReport]:
    objective_unit = "USD/yr" if pm.program.program.objective.sense == "min_cost" else "compute"
    if pm.buildout is not None:
        objective_unit = "USD (NPV)"
    reports = []
    for row in pm.cap_rows:
        cap = row.cap.cap
        value = row.measured()
        slack = None if value is None else (row.limit - value if row.sense == "max" else value - row.limit)
        tol = at_limit_tolerance(row.limit)
        if slack is not None and abs(slack) <= tol:
            slack = 0.0
        dual = solve.dual(row.row)
        per = 0.01 if cap.quantity in FRACTION_QUANTITIES else 1.0
        shadow = None if dual is None else abs(dual) * abs(value_of(row.sensitivity)) * per
        if shadow is not None and shadow < 1e-9 * max(1.0, abs(solve.objective or 0)):
            shadow = 0.0
        binding = (slack is not None and slack <= tol) or bool(shadow)
        note = ""
        step = row.extras.get("granularity")
        if "granularity_tpp" in row.extras:
            step = row.extras["granularity_tpp"] / max(value_of(row.extras["total_tpp"]), 1e-9)
        if solve.unpriced(row.row):
            note = ("no shadow price: the decomposition could not price this cap here "
                    "(--strategy highs_mip does, on the whole model)")
        if not binding and step is not None and slack is not None and slack < step:
            binding = True
            note = "binds to within one purchase unit (server or rack)"
        major = row.extras.get("major_source")
        if major is not None and value_of(major) > 0.5:
            binding = False
            note = (f"exceeded as a major source: permit cost ${cap.major_source.cost_usd_per_year:,.0f}/yr, "
                    f"lead time {month_span(cap.major_source.lead_time_months)}")
        unit = f"{objective_unit} per {'0.01' if per < 1 else UNITS.get(cap.quantity, 'unit')}"
        reports.append(CapReport(cap.name, cap.quantity, row.label, row.sense, row.limit, value, slack,
                                 binding, shadow, unit, row.cap.origin, cap.source, row.cap.file, row.cap.line,
                                 note=note))
    for rc in pm.program.caps:
        if not rc.in_force:
            cap = rc.cap
            limit = cap.max if cap.max is not None else cap.min
            reports.append(CapReport(cap.name, cap.quantity, ", ".join(label for label, _ in rc.groups) or "-",
                                     "max" if cap.max is not None else "min", limit, None, None, False, None, "",
                                     rc.origin, cap.source, rc.file, rc.line, in_force=False))
    return reports


def _solver_info(solve: SolveResult, pm: PlanModel) -> dict:
    return {
        "status": solve.status,
        "strategy": solve.strategy,
        "objective": solve.objective,
        "best_bound": solve.bound,
        "gap": solve.gap,
        "gap_share": solve.gap_share,
        "build_seconds": round(pm.build_seconds, 3),
        "compile_seconds": round(solve.compile_seconds, 3),
        "solve_seconds": round(solve.solve_seconds, 3),
        "lp_solves": solve.lp_solves,
        "nodes": solve.nodes,
        "columns": solve.columns,
        "rows": solve.rows,
        "integer_columns": solve.integer_columns,
    }


def site_plan(sm: SiteModel, smoothing: bool = True) -> SitePlan:
    """The site's plan: its dispatch columns, then what each technology reports, then costs,
    emissions and (``smoothing``) the smoothing of its training job: the figures of a solved
    model, or of a committed plan fixed on it (``dcplan check``, which has no job's result)."""
    tg = sm.tg
    plan = SitePlan(sm.name, sm.si.site.location.country)
    plan.dispatch = {"hour_of_year": tg.hour_of_year.astype(float), "weight": tg.weight.astype(float)}
    plan.dispatch.update({name: column.values(sm.steps) for name, column in sm.dispatch.items()})
    if smoothing and sm.smoothing is not None:  # first: what the technologies report of the battery leaves it out
        sizes = sm.smoothing.sizes
        held = sm.smoothing_held() if sm.smoothing_held is not None else {
            "power": sizes.get("battery_power_mw") or 0.0, "energy": sizes.get("battery_energy_mwh") or 0.0}
        plan.capacity["smoothing_battery_mw"] = held["power"]  # the share of the site's battery it holds
        plan.capacity["smoothing_battery_mwh"] = held["energy"]
        plan.capacity["smoothing_energy_overhead_fraction"] = training.overhead_fraction(sm)
        plan.capacity["smoothing_draw_added_fraction"] = training.draw_added_fraction(sm)
        plan.capacity["smoothing_peak_fraction"] = training.peak_fraction(sm)
        # what the sizes are for: the job's GPUs, or in a build-out the GPUs running (the share follows them)
        plan.capacity["smoothing_job_gpus"] = held.get("gpus") or float(sm.smoothing.workload.gpus or 0)
    for technology in TECHNOLOGIES:
        technology.report(sm, plan)
    lines = list({**sm.costs, **sm.capital})
    running = values_of([sm.costs.get(k, 0) for k in lines])
    capital = values_of([sm.capital.get(k, 0) for k in lines])
    plan.costs_usd = {k: float(a + b) for k, a, b in zip(lines, running, capital)}
    plan.co2_t = float(values_of(sm.co2_t).sum())
    plan.nox_t = float(values_of(sm.nox_t).sum())
    return plan
