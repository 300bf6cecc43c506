"""Power balance every step (with optional priced load shedding) and N+1 on firm on-site
generation: installed gas capacity minus its largest unit covers the design peak load."""

from __future__ import annotations

import numpy as np
import pyomo.core as pyo

from dcplan.formulas import battery_firm_mw
from dcplan.model.context import SiteModel, value_of
from dcplan.model.rows import Rows, Term, row_family, weighted_sum
from dcplan.plans.types import SitePlan, gas_key


def add_balance(sm: SiteModel) -> None:
    b = sm.block
    shed_price = sm.si.site.reliability.unserved_energy_usd_per_mwh
    if shed_price is not None:
        b.unserved = pyo.Var(sm.steps, bounds=(0, None))
        sm.supply.append(b.unserved)
        sm.add_dispatch("unserved_mw", at=lambda t: b.unserved[t])
        w = sm.weights()
        sm.add_cost("unserved_energy", weighted_sum(np.multiply(w, shed_price), [b.unserved[t] for t in sm.steps]),
                    ("site", "reliability", "unserved_energy_usd_per_mwh"))
    steps = list(sm.steps)
    b.balance = row_family(sm.steps, rows=[Rows(steps, [Term([s[t] for t in steps]) for s in sm.supply]  # supply = load
                                                + [Term([x[t] for t in steps], -1.0) for x in sm.withdraw]
                                                + [Term(term.variables, -term.coef) for term in sm.load.terms],
                                                lower=0.0, upper=0.0)])


def add_n_plus_one(sm: SiteModel) -> None:
    """Firm on-site capacity in this period (a build-out's period, or the plan's year): N+1 when
    the site requires it, and the backup for a grid outage when it asks for one."""
    b, site = sm.block, sm.si.site
    limit = b.grid_limit_mw if site.grid is not None else 0.0
    outage_h = site.reliability.grid_outage_hours if limit > 0 else None
    if outage_h is not None:
        _add_firm(sm, "grid_outage_backup", outage_h, n_plus_one=site.needs_n_plus_one(limit))
        sm.explain(b.grid_outage_backup, lambda: (
            f"on-site supply (MW) below the design peak through a {outage_h:g} h grid outage"
            + (" (gas counted for its output in the hottest hour)" if _derated(sm) else ""),
            ("site", "reliability", "grid_outage_hours")))
        sm.limit(b.grid_outage_backup, lambda: (f"{outage_h:g} h grid outage backup", ("site", "reliability", "grid_outage_hours")))
    elif site.needs_n_plus_one(limit):
        _add_firm(sm, "n_plus_one", site.reliability.battery_firm_hours, n_plus_one=True)
        sm.limit(b.n_plus_one, lambda: ("N+1", ("site", "reliability", "n_plus_one")))


def _derated(sm: SiteModel) -> bool:
    """Whether heat or elevation lowers a gas unit's firm output below its rating here."""
    return any(sm.si.gas_firm_unit_mw(c.type) < sm.si.catalog.generators[c.type].unit_mw
               for c in sm.si.site.technologies.gas)


def _add_firm(sm: SiteModel, name: str, battery_hours: float, n_plus_one: bool) -> None:
    """On-site firm capacity covers the design peak: the gas units (less the largest one when
    ``n_plus_one``) and the battery for the power it can hold ``battery_hours``: what it counts
    for it keeps in store every hour (its state of charge never below firm MW x hours), so
    that it can carry that power when the unit trips (a battery counted firm and kept empty by
    the dispatch passed before; domain review)."""
    b, site = sm.block, sm.si.site
    battery = 0.0
    if sm.battery_size is not None:  # a battery counts for the power it can hold (formulas.battery_firm_mw)
        power, energy = sm.battery_size
        eta_out = sm.si.catalog.storage[site.technologies.battery.type].one_way_efficiencies()[1]
        b.bat_firm_mw = pyo.Var(bounds=(0, None))
        b.bat_firm_power = pyo.Constraint(expr=b.bat_firm_mw <= power)
        b.bat_firm_energy = pyo.Constraint(expr=b.bat_firm_mw <= energy * (eta_out / battery_hours))
        steps = list(sm.steps)
        b.bat_firm_reserve = row_family(sm.steps, rows=[Rows(steps, [  # soc[t] >= hours x firm MW / eta out
            Term([b.bat_soc[t] for t in steps]), Term(b.bat_firm_mw, -battery_hours / eta_out)], lower=0.0)])
        sm.explain(b.bat_firm_reserve, lambda t: (
            f"battery state of charge (MWh) below the {battery_hours:g} h of firm power it counts for",
            ("site", "reliability", "battery_firm_hours" if name == "n_plus_one" else "grid_outage_hours")))
        battery = b.bat_firm_mw
    if not site.technologies.gas:
        b.add_component(name, pyo.Constraint(expr=battery >= sm.peak_load))
        return
    size = {c.key: sm.si.gas_firm_unit_mw(c.type) for c in site.technologies.gas}  # in the hottest hour
    if not n_plus_one:
        b.add_component(name, pyo.Constraint(expr=sum(b.gas_units[k] * size[k] for k in b.K) + battery
                                             >= sm.peak_load))
        return
    b.gas_type_built = pyo.Var(b.K, domain=pyo.Binary)
    b.gas_largest_mw = pyo.Var(bounds=(0, max(size.values())))
    most = {c.key: c.max_units + c.existing_units for c in sm.si.site.technologies.gas}
    b.gas_built_if = pyo.Constraint(b.K, rule=lambda m, k: m.gas_units[k] <= most[k] * m.gas_type_built[k])
    b.gas_largest_def = pyo.Constraint(b.K, rule=lambda m, k: m.gas_largest_mw >= size[k] * m.gas_type_built[k])
    b.add_component(name, pyo.Constraint(expr=sum(size[k] * b.gas_units[k] for k in b.K) - b.gas_largest_mw
                                         + battery >= sm.peak_load))



def report(sm: SiteModel, plan: SitePlan) -> None:
    """Load shed, and the contingency the period survives: the firm capacity of N+1 or of a grid
    outage's backup (gas, less its largest unit under N+1, and a battery for the power it can
    hold) against the design peak."""
    b, site = sm.block, sm.si.site
    if "unserved_mw" in plan.dispatch:
        plan.energy_mwh["unserved"] = float(np.sum(sm.tg.weight * plan.dispatch["unserved_mw"]))
    firm_rule = next((name for name in ("n_plus_one", "grid_outage_backup") if b.component(name) is not None), None)
    if firm_rule is None:
        _unguarded_contingency(sm, plan)
        return
    gas = sum(plan.capacity[gas_key(c.key, "units")] * sm.si.gas_firm_unit_mw(c.type) for c in site.technologies.gas)
    gas -= value_of(b.gas_largest_mw) if b.component("gas_largest_mw") is not None else 0.0
    battery = value_of(b.bat_firm_mw) if b.component("bat_firm_mw") is not None else 0.0
    firm, peak = gas + battery, value_of(sm.peak_load)
    hours = site.reliability.battery_firm_hours
    if firm_rule == "grid_outage_backup":
        hours = site.reliability.grid_outage_hours
        plan.capacity["grid_outage_firm_mw"] = firm
    else:
        plan.capacity["n_plus_one_firm_mw"] = firm
    largest = max((sm.si.gas_firm_unit_mw(c.type) for c in site.technologies.gas), default=0.0)
    if firm - peak <= max(1e-6 * peak, 1e-6) + largest:
        held = f" + battery {battery:,.1f} MW for {hours:g} h" if battery > 1e-6 else ""
        what = "N+1: firm gas" if b.component("gas_largest_mw") is not None else "gas"
        rule = "" if firm_rule == "n_plus_one" else f" through a {hours:g} h grid outage"
        plan.binding.append(f"{what} {gas:,.1f} MW{' (without the largest unit)' if 'N+1' in what else ''}{held}"
                            f"{rule} vs design peak {peak:,.1f} MW")


def commit(sm: SiteModel, built: SitePlan) -> None:
    """Nothing is built: reliability is a rule on what the other technologies build."""


UNGUARDED = "no spare unit kept"


def _unguarded_contingency(sm: SiteModel, plan: SitePlan) -> None:
    """Where a grid connection turned N+1 off (the default) and the plan leans on its gas: what
    losing the largest unit built at the period's peak load would leave unserved, said (a 250 MW
    connection beside 2.7 GW of gas read as safe; domain review), a battery counted as N+1 counts
    it (the power it can hold for battery_firm_hours), out of what it holds at that peak (N+1 off,
    nothing keeps a reserve in store: an empty battery had counted for its power)."""
    site = sm.si.site
    limit = plan.capacity.get("grid_limit_mw", 0.0)  # with the upgrades in service
    built = [c for c in site.technologies.gas if plan.capacity.get(gas_key(c.key, "units"), 0) > 0.5]
    if site.reliability.n_plus_one is not None or limit <= 0 or not built:
        return
    unit_type = max((c.type for c in built), key=sm.si.gas_firm_unit_mw)
    gas = sum(plan.capacity[gas_key(c.key, "units")] * sm.si.gas_firm_unit_mw(c.type) for c in built)
    battery, hours = 0.0, site.reliability.battery_firm_hours  # counted as N+1 would count it
    c, load = plan.capacity, plan.dispatch["load_mw"]
    at_peak = int(np.argmax(load)) if len(load) else 0
    if c.get("battery_mw", 0.0) > 0:  # less the share held for smoothing, from what it holds at the peak
        eta_out = sm.si.catalog.storage[site.technologies.battery.type].one_way_efficiencies()[1]
        stored = float(plan.dispatch["battery_soc_mwh"][at_peak])
        battery = max(0.0, battery_firm_mw(c["battery_mw"] - c.get("smoothing_battery_mw", 0.0), stored, hours, eta_out))
    left = limit + gas - sm.si.gas_firm_unit_mw(unit_type) + battery
    peak = float(np.max(load, initial=0.0))
    if left < peak - 1e-6 * peak:
        plan.unguarded_trip_short_mw = peak - left
        held = f", the battery's {battery:,.1f} MW for {hours:g} h" if battery > 1e-6 else ""
        plan.binding.append(f"{UNGUARDED} (N+1 is off with a grid connection): with one {unit_type} tripped at "
                            f"the peak load of {peak:,.1f} MW, the grid's {limit:,.1f} MW{held} and the rest give "
                            f"{left:,.1f} MW, {peak - left:,.1f} MW short (reliability.n_plus_one: true keeps a spare)")
