"""Checks of a committed build against today's limits: the compute target and budget, the GPUs
allowed and their IT, cooling, units and MW of each source, N+1 in every period."""

from __future__ import annotations

from dcplan.checks.report import PASS, SKIPPED, VIOLATION
from dcplan.checks.state import SiteState
from dcplan.checks.verification import REL_TOL, TOL_MW, Verification, over
from dcplan.formulas import battery_firm_mw, firm_without_largest_mw, grid_limit_during
from dcplan.plans.types import gas_units
from dcplan.schema.compute import MEASURE_UNITS

DELIVERED_TOLERANCE = 6e-6
"""Relative: plan.yaml writes compute_delivered to six significant digits (at most 5e-6 off)."""


def check_target(v: Verification, costs: dict[str, float]) -> None:
    """The compute target in force (a build-out's last) delivered, and what the plan says it
    delivers what its GPUs do; a max-compute plan within its budget."""
    program = v.pi.program
    target = program.compute.target
    if target is None and program.buildout is not None and program.buildout.targets:
        index = len(program.buildout.targets) - 1
        target, where = program.buildout.targets[index], v.loc.program("buildout", "targets", index)
    elif target is not None:
        where = v.loc.program("compute", "target", target.measure)
    if target is not None and any(s.figures is None for s in v.states.values()):
        v.add("compute target", SKIPPED, "not measured: the committed plan could not be evaluated (see model rows)")
    elif target is not None:
        delivered = sum(s.compute_in(target.measure) for s in v.states.values())
        unit = MEASURE_UNITS[target.measure]
        if delivered < target.amount * (1 - 1e-9) - 1e-6:
            v.add("compute target", VIOLATION, f"the plan delivers {delivered:,.0f} {unit} but the target is now "
                  f"{target.amount:,.0f}: {target.amount - delivered:,.0f} short", where)
        else:
            v.add("compute target", PASS, f"{delivered:,.0f} {unit} against a target of {target.amount:,.0f}")
    stated, measured = v.plan.compute_delivered, v.plan.target.measure if v.plan.target else "gpus"
    if stated is not None and all(s.figures is not None for s in v.states.values()):
        made = sum(s.compute_in(measured) for s in v.states.values())
        if abs(stated - made) > DELIVERED_TOLERANCE * max(abs(stated), abs(made)) + 1e-9:
            v.add("compute target", VIOLATION, f"compute_delivered is {stated:,.6g} {MEASURE_UNITS[measured]} but the "
                  f"plan's GPUs deliver {made:,.6g}: the file was edited, or the catalog's figures changed: re-plan",
                  v.c.where(("compute_delivered",)))
    if program.objective.sense == "max_compute":
        budget = program.objective.budget_usd_per_year
        total = sum(costs.values())
        if over(total, budget):
            v.add("budget", VIOLATION, f"the plan costs ${total:,.0f}/yr under current prices, over the "
                  f"budget of ${budget:,.0f}/yr", v.loc.program("objective", "budget_usd_per_year"))


def check_site_build(v: Verification, s: SiteState) -> None:
    """A site's GPUs, IT, cooling, units and MW within today's limits, and N+1 in each period."""
    check, si, loc = f"build {s.name}", s.si, v.loc
    before = len(v.report.findings)
    options = {o.model: o for o in s.compute.gpus}
    for model, n in s.gpus.items():
        option = options.get(model)
        if option is None:
            v.add(check, VIOLATION, f"{n:,} {model} GPUs are planned but {model} is no longer an allowed GPU "
                  f"at {s.name}", loc.compute(si, "gpus"))
        elif option.max_gpus is not None and n > option.max_gpus:
            v.add(check, VIOLATION, f"{n:,} {model} GPUs are planned but at most {option.max_gpus:,} are "
                  f"allowed now ({n - option.max_gpus:,} too many)", loc.gpu_option(si, model, "max_gpus"))
        if model not in si.catalog.gpus:
            v.add(check, VIOLATION, f"{model} is no longer in the GPU catalog", loc.gpu_option(si, model))
    if s.compute.max_it_mw is not None and over(s.it_mw, s.compute.max_it_mw):
        v.add(check, VIOLATION, f"the planned GPUs draw {s.it_mw:,.1f} MW of IT but the limit is now "
              f"{s.compute.max_it_mw:,.1f} MW", loc.compute(si, "max_it_mw"))
    cooling = {c.type: i for i, c in enumerate(si.site.cooling)}
    if s.entry.cooling not in cooling:
        v.add(check, VIOLATION, f"the plan cools with {s.entry.cooling}, which the site no longer offers "
              f"(offers: {', '.join(cooling)})", loc.site(si, "cooling"))
    else:
        needs = [g for g in s.gpus if g in si.catalog.gpus and si.catalog.gpus[g].liquid_cooling_required]
        if needs and not si.catalog.cooling[s.entry.cooling].liquid:
            v.add(check, VIOLATION, f"{', '.join(needs)} need liquid cooling but {s.entry.cooling} is now "
                  "air cooling", loc.catalog(si, "cooling", s.entry.cooling, "liquid"))
    _supply_build(v, s, check)
    for states, _ in v.slices:
        if s.name in states:
            _n_plus_one(v, states[s.name])
    if len(v.report.findings) == before:
        v.add(check, PASS, f"{sum(s.gpus.values()):,} GPUs, {s.it_mw:,.1f} MW IT, {s.entry.cooling}, "
              "units and MW within the site's limits")


def _supply_build(v: Verification, s: SiteState, check: str) -> None:
    si, loc, tech = s.si, v.loc, s.si.site.technologies
    keys = {c.key for c in tech.gas}
    for k, (units, _) in gas_units(s.entry.capacity).items():
        if k not in keys and units > 0:
            v.add(check, VIOLATION, f"the plan has {units:g} {k} units but the site no "
                  "longer lists that gas type", loc.site(si, "technologies", "gas"))
    for i, cand, units in s.gas():
        new = units - cand.existing_units
        if new > cand.max_units:
            v.add(check, VIOLATION, f"the plan builds {new} new {cand.type} units but at most {cand.max_units} "
                  "are allowed now", loc.site(si, "technologies", "gas", i, "max_units"))
    for name in ("solar", "wind"):
        cand, total = getattr(tech, name), s.capacity(f"{name}_mw")
        if cand is None:
            if total > TOL_MW:
                v.add(check, VIOLATION, f"the plan has {total:,.1f} MW of {name} but the site no longer lists "
                      f"{name}", loc.site(si, "technologies"))
        elif over(total - cand.existing_mw, cand.max_mw):
            v.add(check, VIOLATION, f"the plan builds {total - cand.existing_mw:,.1f} MW of {name} but at most "
                  f"{cand.max_mw:,.1f} MW are allowed now", loc.site(si, "technologies", name, "max_mw"))
    bat, power, energy = tech.battery, s.capacity("battery_mw"), s.capacity("battery_mwh")
    if bat is None:
        if power > TOL_MW or energy > TOL_MW:
            v.add(check, VIOLATION, f"the plan has a {power:,.1f} MW / {energy:,.1f} MWh battery but the site "
                  "no longer lists one", loc.site(si, "technologies"))
    else:
        new_p, new_e = power - bat.existing_power_mw, energy - bat.existing_energy_mwh
        if bat.max_power_mw is not None and over(new_p, bat.max_power_mw):
            v.add(check, VIOLATION, f"the plan builds a {new_p:,.1f} MW battery but at most "
                  f"{bat.max_power_mw:,.1f} MW are allowed now",
                  loc.site(si, "technologies", "battery", "max_power_mw"))
        if bat.duration_h is not None and abs(new_e - bat.duration_h * new_p) > TOL_MW + 1e-4 * new_e:
            v.add(check, VIOLATION, f"the planned battery stores {new_e:,.1f} MWh for {new_p:,.1f} MW, not the "
                  f"{bat.duration_h:g} h duration the site now fixes",
                  loc.site(si, "technologies", "battery", "duration_h"))


def _n_plus_one(v: Verification, s: SiteState) -> None:
    """N+1 in the slice's period when the site requires it then (no grid in force)."""
    si, grid = s.si, s.si.site.grid
    limit = grid_limit_during(grid, s.start, s.end) if grid is not None else 0.0
    if not (si.site.needs_n_plus_one(limit) and s.cooling_known and s.figures is not None):
        return
    gas = firm_without_largest_mw([(si.gas_firm_unit_mw(c.type), units) for _, c, units in s.gas()])
    battery, held_mw = si.site.technologies.battery, 0.0
    if battery is not None:  # for what it holds: its energy, and the least it kept in store
        soc = s.d.get("battery_soc_mwh")
        held = s.capacity("battery_mwh") if soc is None or not len(soc) else min(s.capacity("battery_mwh"), float(min(soc)))
        held_mw = battery_firm_mw(s.capacity("battery_mw"), held, si.site.reliability.battery_firm_hours,
                                  si.catalog.storage[battery.type].one_way_efficiencies()[1])
    firm, peak = gas + held_mw, s.design_peak_mw
    if firm < peak - TOL_MW - REL_TOL * peak:
        where = (v.loc.site(si, "reliability", "n_plus_one") if si.site.reliability.n_plus_one is not None
                 else v.loc.site(si, "technologies", "gas" if si.site.technologies.gas else "battery"))
        def firm_gas(heat: bool, thin_air: bool) -> float:
            return firm_without_largest_mw([(si.gas_firm_unit_mw(c.type, heat, thin_air), units) for _, c, units in s.gas()])

        rated = firm_gas(False, False)
        heat = ""
        if rated + held_mw >= peak - TOL_MW - REL_TOL * peak:  # short only for the derate: say so, blame it
            # a cause is one without which the firm figure would be higher (the unit left out may be the derated one)
            causes = [cause for cause, without in (("heat", firm_gas(False, True)), ("elevation", firm_gas(True, False)))
                      if without > gas + 1e-9]
            heat = f" (derated for the site's {' and '.join(causes)}; {rated:,.1f} MW at ISO)"
            where = (v.loc.site(si, "ambient_temp_c") if "heat" in causes
                     else v.loc.site(si, "location", "elevation_m"))
        stored = (f" and the battery {held_mw:,.1f} MW for {si.site.reliability.battery_firm_hours:g} h (of what it "
                  "keeps in store at its lowest)" if battery is not None else "")
        v.add(f"build {s.name}", VIOLATION, f"N+1{s.when}: the planned gas units give {gas:,.1f} MW without the "
              f"largest{heat}{stored}, below the design peak of {peak:,.1f} MW now ({peak - firm:,.1f} MW short)", where)
