"""Grid import: capped by the connection, priced by the hour, with a monthly demand charge on
each month's peak import and hourly CO2 intensity."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from dcplan.formulas import grid_limit_during
from dcplan.model.context import SiteModel
from dcplan.plans.types import SitePlan


def add_grid(sm: SiteModel, start, end=None) -> None:
    grid = sm.si.site.grid
    if grid is None:
        return
    b = sm.block
    limit = grid_limit_during(grid, start, end or start)
    b.grid_limit_mw = limit
    b.grid_import = pyo.Var(sm.steps, bounds=(0, limit))
    sm.supply.append(b.grid_import)
    sm.add_dispatch("grid_mw", at=lambda t: b.grid_import[t])
    sm.add_dispatch("price_usd_per_mwh", derive=lambda: sm.tg.sample(sm.si.price_usd_per_mwh))
    sm.add_dispatch("grid_co2_t_per_mwh", derive=lambda: sm.tg.sample(sm.si.grid_co2_t_per_mwh))
    price, co2, w = sm.series(sm.si.price_usd_per_mwh * sm.grid_price_factor), sm.series(sm.si.grid_co2_t_per_mwh), sm.weights()
    sm.add_cost("grid_energy", sum(w[t] * price[t] * b.grid_import[t] for t in sm.steps),
                ("site", "grid", "energy_price_usd_per_mwh"))
    sm.co2_t.append(sum(w[t] * co2[t] * b.grid_import[t] for t in sm.steps))
    if grid.demand_charge_usd_per_kw_month > 0:
        add_monthly_peaks(sm)
        # a year's worth of charges: a grid of one quarter's months stands for the year
        sm.add_cost("grid_demand", sum(b.grid_peak_mw[m] for m in b.M) * 1000
                    * grid.demand_charge_usd_per_kw_month * 12 / len(b.M), ("site", "grid", "demand_charge_usd_per_kw_month"))


def add_monthly_peaks(sm: SiteModel) -> None:
    """``grid_peak_mw[m]``: the peak import of each month the time grid represents (once)."""
    b = sm.block
    if b.component("grid_peak_mw") is not None:
        return
    months = sm.tg.months()
    b.M = pyo.Set(initialize=months, ordered=True)
    b.grid_peak_mw = pyo.Var(b.M, bounds=(0, b.grid_limit_mw))
    pairs = [(m, int(t)) for m in months for t in sm.tg.month_steps[m]]
    b.grid_peak_def = pyo.Constraint(pairs, rule=lambda m_, m, t: m_.grid_import[t] <= m_.grid_peak_mw[m])


def report(sm: SiteModel, plan: SitePlan) -> None:
    """The connection's limit, the peak import, the energy bought and the hours at the limit."""
    if sm.si.site.grid is None:
        return
    b, w, grid = sm.block, sm.tg.weight, plan.dispatch["grid_mw"]
    plan.capacity["grid_limit_mw"] = b.grid_limit_mw
    plan.capacity["grid_peak_import_mw"] = float(grid.max(initial=0))
    plan.energy_mwh["grid"] = float(np.sum(w * grid))
    at_limit = int(np.sum(w * (grid >= b.grid_limit_mw - 1e-4))) if b.grid_limit_mw > 0 else 0
    if at_limit:
        plan.binding.append(f"grid import at its {b.grid_limit_mw:g} MW limit for {at_limit:,} h/yr")


def commit(sm: SiteModel, built: SitePlan) -> None:
    """Nothing is built: the connection is an input."""
