"""Power balance every step (with optional priced load shedding) and N+1 on firm on-site
generation: installed gas capacity minus its largest unit covers the design peak load."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from dcplan.model.context import SiteModel, value_of
from dcplan.plans.types import SitePlan


def add_balance(sm: SiteModel) -> None:
    b = sm.block
    shed_price = sm.si.site.reliability.unserved_energy_usd_per_mwh
    if shed_price is not None:
        b.unserved = pyo.Var(sm.steps, bounds=(0, None))
        sm.supply.append(b.unserved)
        sm.add_dispatch("unserved_mw", at=lambda t: b.unserved[t])
        w = sm.weights()
        sm.add_cost("unserved_energy", sum(w[t] * shed_price * b.unserved[t] for t in sm.steps),
                    ("site", "reliability", "unserved_energy_usd_per_mwh"))
    supply, withdraw, load = sm.supply, sm.withdraw, sm.load
    b.balance = pyo.Constraint(sm.steps, rule=lambda m, t: sum(s[t] for s in supply)
                               - sum(x[t] for x in withdraw) == load[t])


def add_n_plus_one(sm: SiteModel) -> None:
    """N+1 in this period (a build-out's period, or the plan's year) when the site requires it."""
    b, site = sm.block, sm.si.site
    if not site.needs_n_plus_one(b.grid_limit_mw if site.grid is not None else 0.0):
        return
    battery = 0.0
    if sm.battery_size is not None:  # a battery counts for the power it can hold (formulas.battery_firm_mw)
        power, energy = sm.battery_size
        b.bat_firm_mw = pyo.Var(bounds=(0, None))
        b.bat_firm_power = pyo.Constraint(expr=b.bat_firm_mw <= power)
        b.bat_firm_energy = pyo.Constraint(expr=b.bat_firm_mw <= energy * (1 / site.reliability.battery_firm_hours))
        battery = b.bat_firm_mw
    if not site.technologies.gas:
        b.n_plus_one = pyo.Constraint(expr=battery >= sm.peak_load)
        return
    cat = sm.si.catalog
    size = {c.key: cat.generators[c.type].unit_mw for c in sm.si.site.technologies.gas}
    b.gas_type_built = pyo.Var(b.K, domain=pyo.Binary)
    b.gas_largest_mw = pyo.Var(bounds=(0, max(size.values())))
    most = {c.key: c.max_units + c.existing_units for c in sm.si.site.technologies.gas}
    b.gas_built_if = pyo.Constraint(b.K, rule=lambda m, k: m.gas_units[k] <= most[k] * m.gas_type_built[k])
    b.gas_largest_def = pyo.Constraint(b.K, rule=lambda m, k: m.gas_largest_mw >= size[k] * m.gas_type_built[k])
    b.n_plus_one = pyo.Constraint(expr=sum(size[k] * b.gas_units[k] for k in b.K) - b.gas_largest_mw + battery
                                  >= sm.peak_load)



def report(sm: SiteModel, plan: SitePlan) -> None:
    """Load shed, and the contingency the period survives: N+1's firm capacity (gas without its
    largest unit, and a battery for the power it can hold) against the design peak."""
    b, site = sm.block, sm.si.site
    if "unserved_mw" in plan.dispatch:
        plan.energy_mwh["unserved"] = float(np.sum(sm.tg.weight * plan.dispatch["unserved_mw"]))
    if b.component("n_plus_one") is None:
        return
    gas = sum(plan.capacity[f"gas_{c.key}_mw"] for c in site.technologies.gas)
    gas -= value_of(b.gas_largest_mw) if b.component("gas_largest_mw") is not None else 0.0
    battery = value_of(b.bat_firm_mw) if b.component("bat_firm_mw") is not None else 0.0
    firm, peak = gas + battery, value_of(sm.peak_load)
    plan.capacity["n_plus_one_firm_mw"] = firm
    largest = max((sm.si.catalog.generators[c.type].unit_mw for c in site.technologies.gas), default=0.0)
    if firm - peak <= max(1e-6 * peak, 1e-6) + largest:
        held = f" + battery {battery:,.1f} MW for {site.reliability.battery_firm_hours:g} h" if battery > 1e-6 else ""
        plan.binding.append(f"N+1: firm gas {gas:,.1f} MW (without the largest unit){held} vs design peak {peak:,.1f} MW")


def commit(sm: SiteModel, built: SitePlan) -> None:
    """Nothing is built: reliability is a rule on what the other technologies build."""
