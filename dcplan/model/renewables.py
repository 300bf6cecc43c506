"""Solar and wind: built MW times the hourly capacity factor, curtailment free."""

from __future__ import annotations

import pyomo.environ as pyo

from dcplan.loader import DEFAULT_RENEWABLE
from dcplan.model.context import Asset, SiteModel, lead_time


def add_renewables(sm: SiteModel) -> None:
    for tech in ("solar", "wind"):
        cand = getattr(sm.si.site.technologies, tech)
        if cand is not None:
            _add_one(sm, tech, cand)


def _add_one(sm: SiteModel, tech: str, cand) -> None:
    b = sm.block
    key = cand.type or DEFAULT_RENEWABLE[tech]
    spec = sm.si.catalog.renewables[key]
    cf = sm.series(sm.si.solar_cf if tech == "solar" else sm.si.wind_cf)
    new = pyo.Var(bounds=(0, cand.max_mw))
    gen = pyo.Var(sm.steps, bounds=(0, None))
    b.add_component(f"{tech}_new_mw", new)
    b.add_component(f"{tech}_gen", gen)
    b.add_component(f"{tech}_avail", pyo.Constraint(
        sm.steps, rule=lambda m, t: gen[t] <= cf[t] * (new + cand.existing_mw)))
    sm.supply.append(gen)
    sm.add_asset(Asset(
        key=f"{tech}:{key}", label=spec.name, unit="MW", in_use=new, capex_usd_per_unit=1000 * spec.capex_usd_per_kw,
        life_years=sm.life("renewables", key, spec.lifetime_years), crf=sm.crf("renewables", key, spec.lifetime_years),
        lead_time_months=lead_time(cand.lead_time_months, spec.lead_time_months), component=f"{tech}_capex"))
    sm.add_cost(f"{tech}_fixed_om", (new + cand.existing_mw) * 1000 * spec.fixed_om_usd_per_kw_year)
