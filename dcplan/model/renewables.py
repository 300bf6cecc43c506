"""Solar and wind: built MW times the hourly capacity factor, curtailment free."""

from __future__ import annotations

import numpy as np
import pyomo.core as pyo

from dcplan.formulas import lead_time_months
from dcplan.model.context import Asset, SiteModel, value_of, values_of
from dcplan.model.rows import Rows, Term, row_family
from dcplan.plans.types import SitePlan

BINDING_TOL = 1e-6
TECHS = ("solar", "wind")


ON_THE_PARCEL = ("solar",)
"""What a site's land_available_acres holds: its PV. A wind project's area (the catalog's 85
acres/MW, nearly all of it still farmable) is leased apart, rarely on the data-center parcel;
the land_acres cap counts both."""


def add_renewables(sm: SiteModel) -> None:
    taken = []
    for tech in TECHS:
        cand = getattr(sm.si.site.technologies, tech)
        if cand is not None:
            land = _add_one(sm, tech, cand)
            taken += [land] if tech in ON_THE_PARCEL else []
    acres = sm.si.site.land_available_acres
    if acres is not None and taken:  # the site's land holds the PV on it
        sm.block.land_available = pyo.Constraint(expr=sum(taken) <= acres)
        sm.explain(sm.block.land_available, lambda: (
            f"land taken by solar (acres, by the catalog's acres per MW) above the {acres:g} acres the site has",
            ("site", "land_available_acres")))
        sm.limit(sm.block.land_available, lambda: ("land_available_acres", ("site", "land_available_acres")))


def _add_one(sm: SiteModel, tech: str, cand):
    b = sm.block
    key = cand.type
    spec = sm.si.catalog.renewables[key]
    cf_year = sm.si.solar_cf if tech == "solar" else sm.si.wind_cf
    cf = sm.series(cf_year)
    new = pyo.Var(bounds=(0, cand.max_mw))
    gen = pyo.Var(sm.steps, bounds=(0, None))
    b.add_component(f"{tech}_new_mw", new)
    sm.limit(new, lambda: (f"{tech} max_mw", ("site", "technologies", tech, "max_mw")))
    b.add_component(f"{tech}_gen", gen)
    b.add_component(f"{tech}_avail", row_family(sm.steps, rows=[Rows(  # output <= capacity factor x MW
        list(sm.steps), [Term([gen[t] for t in sm.steps]), Term(new + cand.existing_mw, -np.asarray(cf))], upper=0.0)]))
    sm.explain(b.component(f"{tech}_avail"), lambda t: (
        f"{tech} output (MW) above {value_of(new) + cand.existing_mw:,.1f} MW x the current capacity factor",
        ("site", "technologies", tech, "capacity_factor")))
    sm.supply.append(gen)
    sm.most_mw[tech] = lambda: cf_year * (value_of(new) + cand.existing_mw)
    sm.renewable.append(gen)
    land = (new + cand.existing_mw) * spec.land_acres_per_mw
    sm.land_acres.append(land)
    available = sm.tg.sample(cf_year)
    sm.add_dispatch(f"{tech}_mw", at=lambda t: gen[t])
    sm.add_dispatch(f"{tech}_curtailed_mw", derive=lambda: np.maximum(
        0.0, available * (value_of(new) + cand.existing_mw) - values_of([gen[t] for t in sm.steps])))
    sm.add_asset(Asset(
        key=f"{tech}:{key}", label=spec.name, unit="MW", in_use=new, capex_usd_per_unit=1000 * spec.capex_usd_per_kw,
        life_years=sm.life("renewables", key, spec.lifetime_years), crf=sm.crf("renewables", key, spec.lifetime_years),
        lead_time_months=lead_time_months(cand.lead_time_months, spec.lead_time_months), component=f"{tech}_capex",
        price_inputs=(("catalog", "renewables", key, "capex_usd_per_kw"),), existing=cand.existing_mw))
    sm.add_cost(f"{tech}_fixed_om", (new + cand.existing_mw) * 1000 * spec.fixed_om_usd_per_kw_year,
                ("catalog", "renewables", key, "fixed_om_usd_per_kw_year"))
    return land


def report(sm: SiteModel, plan: SitePlan) -> None:
    """MW built (with what exists), energy, and whether the MW limit was reached."""
    for tech in TECHS:
        cand = getattr(sm.si.site.technologies, tech)
        if cand is None:
            continue
        new = max(0.0, value_of(sm.block.component(f"{tech}_new_mw")))  # no solver dust below zero
        plan.capacity[f"{tech}_mw"] = new + cand.existing_mw
        plan.energy_mwh[tech] = float(np.sum(sm.tg.weight * plan.dispatch[f"{tech}_mw"]))
        if cand.max_mw > 0 and new >= cand.max_mw - BINDING_TOL:
            plan.binding.append(f"{tech}: built to its {cand.max_mw:g} MW limit (max_mw)")
        missed = sm.typical_days_miss(sm.si.solar_cf if tech == "solar" else sm.si.wind_cf, f"{tech} capacity factor", "")
        if missed:
            plan.binding.append(missed)
    land = sm.block.component("land_available")
    acres = sm.si.site.land_available_acres
    if land is not None and value_of(land.body) >= acres * (1 - BINDING_TOL) and acres > 0:
        plan.binding.append(f"land: solar takes all {acres:,.0f} acres the site has (land_available_acres)")


def commit(sm: SiteModel, built: SitePlan) -> None:
    """Fix the new MW at a committed plan's (its MW less what exists)."""
    for tech in TECHS:
        cand = getattr(sm.si.site.technologies, tech)
        if cand is not None:
            sm.block.component(f"{tech}_new_mw").fix(max(0.0, built.capacity.get(f"{tech}_mw", 0.0) - cand.existing_mw), skip_validation=True)
