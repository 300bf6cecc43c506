"""Grid import: capped by the connection, priced by the hour, with a monthly demand charge on
each month's peak import and hourly CO2 intensity."""

from __future__ import annotations

import pyomo.environ as pyo

from dcplan.model.context import SiteModel


def grid_limit_mw(grid, when) -> float:
    """Import limit in force on date ``when`` (0 before the connection is available)."""
    if grid.available_from and when < grid.available_from:
        return 0.0
    limit = grid.max_import_mw
    for step in grid.steps:
        if step.date <= when:
            limit = step.max_import_mw
    return limit


def add_grid(sm: SiteModel, when) -> None:
    grid = sm.si.site.grid
    if grid is None:
        return
    b = sm.block
    limit = grid_limit_mw(grid, when)
    b.grid_limit_mw = limit
    b.grid_import = pyo.Var(sm.steps, bounds=(0, limit))
    sm.supply.append(b.grid_import)
    price, co2, w = sm.series(sm.si.price_usd_per_mwh), sm.series(sm.si.grid_co2_t_per_mwh), sm.weights()
    sm.add_cost("grid_energy", sum(w[t] * price[t] * b.grid_import[t] for t in sm.steps))
    sm.co2_t.append(sum(w[t] * co2[t] * b.grid_import[t] for t in sm.steps))
    if grid.demand_charge_usd_per_kw_month > 0:
        b.M = pyo.RangeSet(0, 11)
        b.grid_peak_mw = pyo.Var(b.M, bounds=(0, limit))
        pairs = [(m, int(t)) for m in range(12) for t in sm.tg.month_steps[m]]
        b.grid_peak_def = pyo.Constraint(pairs, rule=lambda m_, m, t: m_.grid_import[t] <= m_.grid_peak_mw[m])
        sm.add_cost("grid_demand", sum(b.grid_peak_mw[m] * 1000 * grid.demand_charge_usd_per_kw_month
                                       for m in b.M))
