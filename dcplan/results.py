"""Read a solved model back into a plain result: decisions, hourly dispatch, costs, emissions,
and the limits that bind. Everything downstream (writers, terminal, tests) uses this object."""

from __future__ import annotations

import numpy as np

from dcplan.model.build import PlanModel
from dcplan.model.context import SiteModel
from dcplan.plan.types import CapReport, Plan, SitePlan
from dcplan.solver import SolveResult, value_of
from dcplan.timeline import extract_timeline

BINDING_TOL = 1e-6


def _arr(indexed, steps) -> np.ndarray:
    return np.array([value_of(indexed[t]) for t in steps])


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
    target = program.compute.target
    timeline = None
    if pm.buildout is not None:
        by_period = [[_site_plan(sm) for sm in sites] for sites in pm.buildout.sites]
        timeline = extract_timeline(pm.buildout, program, by_period)
        target = pm.buildout.targets[-1]
        time_res["periods"] = len(by_period)
        time_res["period_length"] = program.buildout.period
    return Plan(
        program=program.name,
        scenario=pm.program.scenario,
        objective=program.objective.sense,
        time_resolution=time_res,
        solver=_solver_info(solve, pm),
        sites=timeline.sites_by_period[-1] if timeline else [_site_plan(sm) for sm in pm.sites],
        target={"measure": target.measure, "amount": target.amount} if target else None,
        compute_delivered=value_of(pm.model.compute_delivered),
        caps=_cap_reports(pm, solve),
        timeline=timeline,
    )


def _cap_value(value) -> float | None:
    if not isinstance(value, tuple):
        return value_of(value)
    kind = value[0]
    if kind == "share":
        whole = value_of(value[2])
        return value_of(value[1]) / whole if abs(whole) > 1e-12 else None
    if kind == "hours":
        capacity = value[2] * value_of(value[3])
        return value_of(value[1]) / capacity if capacity > 1e-12 else 0.0
    if kind == "matched":  # share of the load met hour by hour: sum of w * min(load, clean) / whole
        whole = value_of(value[2])
        matched = sum(w * min(value_of(load), value_of(clean)) for w, load, clean in value[1])
        return matched / whole if abs(whole) > 1e-12 else None
    if kind == "max_of":
        return max((value_of(x) for x in value[1]), default=0.0)
    if kind == "min_of":
        return min(value_of(x) for x in value[1]) / value[2]
    raise ValueError(kind)


def _cap_reports(pm: PlanModel, solve: SolveResult) -> list[CapReport]:
    objective_unit = "USD/yr" if pm.program.program.objective.sense == "min_cost" else "compute"
    if pm.buildout is not None:
        objective_unit = "USD (NPV)"
    reports = []
    for row in pm.cap_rows:
        cap = row.cap.cap
        value = _cap_value(row.value)
        slack = None if value is None else (row.limit - value if row.sense == "max" else value - row.limit)
        tol = 1e-6 * max(1.0, abs(row.limit))
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
        if not binding and step is not None and slack is not None and slack < step:
            binding = True
            note = "binds to within one purchase unit (server or rack)"
        major = row.extras.get("major_source")
        if major is not None and value_of(major) > 0.5:
            binding = False
            note = (f"exceeded as a major source: permit cost ${cap.major_source.cost_usd_per_year:,.0f}/yr, "
                    f"lead time {cap.major_source.lead_time_months:g} months")
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
        "build_seconds": round(pm.build_seconds, 3),
        "compile_seconds": round(solve.compile_seconds, 3),
        "solve_seconds": round(solve.solve_seconds, 3),
        "lp_solves": solve.lp_solves,
        "nodes": solve.nodes,
        "columns": solve.columns,
        "rows": solve.rows,
        "integer_columns": solve.integer_columns,
    }


def _site_plan(sm: SiteModel) -> SitePlan:
    b, si, steps, tg = sm.block, sm.si, list(sm.steps), sm.tg
    site, cat = si.site, si.catalog
    w = tg.weight
    cooling = max(b.C, key=lambda c: value_of(b.cooling_on[c]))
    d: dict[str, np.ndarray] = {
        "hour_of_year": tg.hour_of_year.astype(float),
        "weight": w.astype(float),
        "load_mw": _arr(b.load_mw, steps),
        "pue": tg.sample(si.pue[cooling]),
    }
    capacity: dict[str, float] = {}
    energy: dict[str, float] = {}
    binding: list[str] = []
    if site.grid is not None:
        d["grid_mw"] = _arr(b.grid_import, steps)
        d["price_usd_per_mwh"] = tg.sample(si.price_usd_per_mwh)
        d["grid_co2_t_per_mwh"] = tg.sample(si.grid_co2_t_per_mwh)
        capacity["grid_limit_mw"] = b.grid_limit_mw
        capacity["grid_peak_import_mw"] = float(d["grid_mw"].max(initial=0))
        energy["grid"] = float(np.sum(w * d["grid_mw"]))
        at_limit = int(np.sum(w * (d["grid_mw"] >= b.grid_limit_mw - 1e-4))) if b.grid_limit_mw > 0 else 0
        if at_limit:
            binding.append(f"grid import at its {b.grid_limit_mw:g} MW limit for {at_limit:,} h/yr")
    for cand in site.technologies.gas:
        k = cand.key
        gen = np.array([value_of(b.gas_gen[k, t]) for t in steps])
        d[f"gas_{k}_mw"] = gen
        new = round(value_of(b.gas_new_units[k]))
        capacity[f"gas_{k}_units"] = new + cand.existing_units
        capacity[f"gas_{k}_new_units"] = new
        capacity[f"gas_{k}_mw"] = (new + cand.existing_units) * cat.generators[cand.type].unit_mw
        energy[f"gas_{k}"] = float(np.sum(w * gen))
        if new >= cand.max_units and cand.max_units > 0:
            binding.append(f"gas {k}: all {cand.max_units} allowed new units built (max_units)")
    if site.technologies.gas and site.fuel.pipeline_limit_mmbtu_per_h is not None:
        fuel = sum(d[f"gas_{c.key}_mw"] * cat.generators[c.type].heat_rate_mmbtu_per_mwh
                   for c in site.technologies.gas)
        hours = int(np.sum(w * (fuel >= site.fuel.pipeline_limit_mmbtu_per_h * (1 - 1e-6))))
        if hours:
            binding.append(f"gas pipeline at its {site.fuel.pipeline_limit_mmbtu_per_h:g} MMBtu/h limit "
                           f"for {hours:,} h/yr")
    for tech in ("solar", "wind"):
        cand = getattr(site.technologies, tech)
        if cand is None:
            continue
        gen = _arr(getattr(b, f"{tech}_gen"), steps)
        new = value_of(getattr(b, f"{tech}_new_mw"))
        cf = tg.sample(si.solar_cf if tech == "solar" else si.wind_cf)
        d[f"{tech}_mw"] = gen
        d[f"{tech}_curtailed_mw"] = np.maximum(0.0, cf * (new + cand.existing_mw) - gen)
        capacity[f"{tech}_mw"] = new + cand.existing_mw
        energy[tech] = float(np.sum(w * gen))
        if cand.max_mw > 0 and new >= cand.max_mw - BINDING_TOL:
            binding.append(f"{tech}: built to its {cand.max_mw:g} MW limit (max_mw)")
    if site.technologies.battery is not None:
        cand = site.technologies.battery
        d["battery_charge_mw"] = _arr(b.bat_charge, steps)
        d["battery_discharge_mw"] = _arr(b.bat_discharge, steps)
        d["battery_soc_mwh"] = _arr(b.bat_soc, steps)
        capacity["battery_mw"] = value_of(b.bat_new_mw) + cand.existing_power_mw
        capacity["battery_mwh"] = value_of(b.bat_new_mwh) + cand.existing_energy_mwh
        energy["battery_discharge"] = float(np.sum(w * d["battery_discharge_mw"]))
        energy["battery_charge"] = float(np.sum(w * d["battery_charge_mw"]))
        if cand.max_power_mw is not None and value_of(b.bat_new_mw) >= cand.max_power_mw - BINDING_TOL:
            binding.append(f"battery: built to its {cand.max_power_mw:g} MW limit (max_power_mw)")
    if hasattr(b, "unserved"):
        d["unserved_mw"] = _arr(b.unserved, steps)
        energy["unserved"] = float(np.sum(w * d["unserved_mw"]))
    if hasattr(b, "n_plus_one") and hasattr(b, "K"):
        firm = sum(capacity[f"gas_{k}_mw"] for k in b.K) - value_of(b.gas_largest_mw)
        peak = value_of(sm.peak_load)
        capacity["n_plus_one_firm_mw"] = firm
        if firm - peak <= max(1e-6 * peak, 1e-6) + max(cat.generators[c.type].unit_mw for c in site.technologies.gas):
            binding.append(f"N+1: firm gas {firm:,.1f} MW (without the largest unit) vs design peak {peak:,.1f} MW")
    if sm.smoothing is not None:
        sizes = sm.smoothing.sizes
        capacity["smoothing_battery_mw"] = sizes.get("battery_power_mw") or 0.0
        capacity["smoothing_battery_mwh"] = sizes.get("battery_energy_mwh") or 0.0
        capacity["smoothing_energy_overhead_fraction"] = sm.smoothing.energy_overhead_fraction or 0.0
    gpus = {g: round(value_of(b.gpus[g])) for g in b.G}
    gpus_new = {g: round(value_of(b.gpu_units[g])) * cat.gpus[g].gpus_per_unit for g in b.G}
    it = value_of(b.it_total_mw)
    facility = d["load_mw"]
    capacity["facility_peak_mw"] = float(facility.max(initial=0))
    capacity["design_peak_mw"] = value_of(sm.peak_load)
    water = float(np.sum(w * it)) * si.wue(cooling)  # MWh x L/kWh = m3
    return SitePlan(
        name=sm.name, country=site.location.country, gpus=gpus, gpus_new=gpus_new, cooling=cooling,
        it_mw=it, capacity=capacity, energy_mwh=energy,
        costs_usd={k: value_of(sm.costs.get(k, 0)) + value_of(sm.capital.get(k, 0)) for k in {**sm.costs, **sm.capital}},
        co2_t=sum(value_of(e) for e in sm.co2_t), nox_t=sum(value_of(e) for e in sm.nox_t), water_m3=water,
        dispatch=d, binding=binding,
    )
