"""Gas units: an integer number built per candidate type, continuous dispatch or (optionally)
unit commitment with integer units on and a minimum stable load; fuel, O&M, CO2 and NOx."""

from __future__ import annotations

import numpy as np
import pyomo.core as pyo

from dcplan.formulas import gas_co2_t_per_mwh, lead_time_months
from dcplan.model.context import Asset, SiteModel, value_of
from dcplan.model.rows import Rows, Term, row_family, weighted_sum
from dcplan.plans.types import SitePlan, gas_key

RELAXED_AWAY = ("gas_on",)
"""Units on, hour by hour: relaxed, they lie anywhere between output / unit size and output /
(minimum load x unit size), and at most the units built; with no start cost nor minimum up or
down time that adds nothing to ``gas_cap`` (output <= units built x unit size), so a relaxed
dispatch may leave them out with their rows."""


def add_gas(sm: SiteModel) -> None:
    cands = sm.si.site.technologies.gas
    if not cands:
        return
    b, cat, fuel = sm.block, sm.si.catalog, sm.si.site.fuel
    b.K = pyo.Set(initialize=[c.key for c in cands], ordered=True)
    cand = {c.key: c for c in cands}
    spec = {c.key: cat.generators[c.type] for c in cands}
    b.gas_new_units = pyo.Var(b.K, domain=pyo.NonNegativeIntegers, bounds=lambda m, k: (0, cand[k].max_units))
    b.gas_units = pyo.Expression(b.K, rule=lambda m, k: m.gas_new_units[k] + cand[k].existing_units)
    index = {c.key: i for i, c in enumerate(cands)}  # in the site's list
    sm.limit(b.gas_new_units, lambda k: (f"gas {k} max_units", ("site", "technologies", "gas", index[k], "max_units")))
    most_mw = {k: spec[k].unit_mw * float(np.max(sm.si.gas_output_fraction(cand[k].type)))  # a curve may pass 1
               * (cand[k].max_units + cand[k].existing_units) for k in b.K}
    b.gas_gen = pyo.Var(b.K, sm.steps, bounds=lambda m, k, t: (0, most_mw[k]))  # valid bounds: caps' big-M
    gen = {k: [b.gas_gen[k, t] for t in sm.steps] for k in b.K}
    hours = {k: [(k, t) for t in sm.steps] for k in b.K}
    unit_mw = {k: _unit_mw_by_step(sm, cand[k].type) for k in b.K}  # the ISO rating, derated on hot hours
    b.gas_cap = row_family(b.K, sm.steps, rows=[  # output <= units built x unit size
        Rows(hours[k], [Term(gen[k]), Term(b.gas_units[k], -unit_mw[k])], upper=0.0) for k in b.K])
    uc = [k for k in b.K if cand[k].unit_commitment]
    if uc:
        b.KU = pyo.Set(initialize=uc, ordered=True)
        b.gas_on = pyo.Var(b.KU, sm.steps, domain=pyo.NonNegativeIntegers,
                           bounds=lambda m, k, t: (0, cand[k].max_units + cand[k].existing_units))
        on = {k: [b.gas_on[k, t] for t in sm.steps] for k in uc}
        b.gas_on_le_built = row_family(b.KU, sm.steps, rows=[
            Rows(hours[k], [Term(on[k]), Term(b.gas_units[k], -1.0)], upper=0.0) for k in uc])
        b.gas_max_on = row_family(b.KU, sm.steps, rows=[
            Rows(hours[k], [Term(gen[k]), Term(on[k], -unit_mw[k])], upper=0.0) for k in uc])
        b.gas_min_on = row_family(b.KU, sm.steps, rows=[  # units on x minimum load <= output
            Rows(hours[k], [Term(on[k], spec[k].min_stable_load_fraction * unit_mw[k]), Term(gen[k], -1.0)], upper=0.0)
            for k in uc])
    if fuel.pipeline_limit_mmbtu_per_h is not None:
        b.pipeline = row_family(sm.steps, rows=[Rows(
            list(sm.steps), [Term(gen[k], spec[k].heat_rate_mmbtu_per_mwh) for k in b.K],
            upper=fuel.pipeline_limit_mmbtu_per_h)])
        pipeline = ("site", "fuel", "pipeline_limit_mmbtu_per_h")
        sm.explain(b.pipeline, lambda t: ("gas burn (MMBtu/h) above the pipeline limit", pipeline))
        sm.limit(b.pipeline, lambda t: ("gas pipeline limit", pipeline))
    step_of = {t: i for i, t in enumerate(sm.steps)}
    heat = {k: sm.series(sm.si.gas_output_fraction(cand[k].type, thin_air=False)) for k in b.K}  # the heat's share alone
    sm.explain(b.gas_cap, lambda k, t: _cap_explained(cand[k].type, value_of(b.gas_units[k]), spec[k].unit_mw,
                                                      unit_mw[k], heat[k], step_of[t]))
    if uc:
        sm.explain(b.gas_min_on, lambda k, t: (
            f"{cand[k].type} runs below its minimum stable load ({spec[k].min_stable_load_fraction:.0%} "
            "of each unit on)", ("catalog", "generators", cand[k].type, "min_stable_load_fraction")))
    sm.supply += gen.values()
    sm.most_mw["gas"] = lambda: _most_mw(
        {k: spec[k].unit_mw * sm.si.gas_output_fraction(cand[k].type) * value_of(b.gas_units[k]) for k in b.K},
        {k: spec[k].heat_rate_mmbtu_per_mwh for k in b.K}, fuel.pipeline_limit_mmbtu_per_h)
    for k in b.K:
        sm.add_dispatch(f"gas_{k}_mw", at=lambda t, k=k: b.gas_gen[k, t])
        sm.firm_mw.append(sm.si.gas_firm_unit_mw(cand[k].type) * b.gas_units[k])
    w = sm.weights()
    b.gas_energy_mwh = pyo.Expression(b.K, rule=lambda m, k: weighted_sum(w, gen[k]))
    energy = b.gas_energy_mwh  # a year's MWh, in several costs and emissions (compiled once)
    entry = {k: (lambda field, k=k: ("catalog", "generators", cand[k].type, field)) for k in b.K}
    for k in b.K:
        c, rent = cand[k], cand[k].rental
        unit_kw = spec[k].unit_mw * 1000
        sm.add_asset(Asset(
            key=f"gas:{k}", label=spec[k].name + (" (rented)" if rent else ""), unit="units",
            in_use=b.gas_new_units[k], capex_usd_per_unit=unit_kw * spec[k].capex_usd_per_kw,
            life_years=sm.life("generators", c.type, spec[k].lifetime_years),
            crf=sm.crf("generators", c.type, spec[k].lifetime_years),
            lead_time_months=rent.lead_time_months if rent else lead_time_months(c.lead_time_months, spec[k].lead_time_months),
            component="gas_rental" if rent else "gas_capex", integer=True, existing=c.existing_units,
            rental_usd_per_unit_year=unit_kw * rent.usd_per_kw_month * 12 if rent else None,
            price_inputs=(("site", "technologies", "gas", index[k], "rental", "usd_per_kw_month"),) if rent
            else (entry[k]("capex_usd_per_kw"), entry[k]("unit_mw"))))
    # a rent covers the unit's upkeep; owned units pay fixed O&M
    owned = [k for k in b.K if cand[k].rental is None]
    sm.add_cost("gas_fixed_om", sum(b.gas_units[k] * spec[k].unit_mw * 1000 * spec[k].fixed_om_usd_per_kw_year
                                    for k in owned), *(entry[k]("fixed_om_usd_per_kw_year") for k in owned))
    sm.add_cost("gas_variable_om", sum(energy[k] * spec[k].variable_om_usd_per_mwh for k in b.K),
                *(entry[k]("variable_om_usd_per_mwh") for k in b.K))
    sm.add_cost("gas_fuel", sum(energy[k] * spec[k].heat_rate_mmbtu_per_mwh * fuel.gas_price_usd_per_mmbtu
                                * sm.gas_price_factor for k in b.K),
                ("site", "fuel", "gas_price_usd_per_mmbtu"), *(entry[k]("heat_rate_mmbtu_per_mwh") for k in b.K))
    sm.co2_t.append(sum(energy[k] * gas_co2_t_per_mwh(spec[k].heat_rate_mmbtu_per_mwh, fuel.co2_t_per_mmbtu)
                        for k in b.K))
    sm.nox_t.append(sum(energy[k] * spec[k].nox_kg_per_mwh / 1000 for k in b.K))


def _unit_mw_by_step(sm: SiteModel, gen_type: str) -> float | np.ndarray:
    """A unit's output at each step, MW: its ISO rating, derated by the site's ambient temperature
    and elevation where it gives them (one number where nothing is derated: the model as it was)."""
    share = sm.si.gas_output_fraction(gen_type)
    unit_mw = sm.si.catalog.generators[gen_type].unit_mw
    return unit_mw if np.all(share == 1.0) else unit_mw * np.asarray(sm.series(share))


def _cap_explained(gen_type: str, units: float, rated: float, by_step, heat_share: list[float],
                   step: int) -> tuple[str, tuple]:
    """What a broken ``gas_cap`` row at ``step`` means: the units' output above their rating
    then (``by_step``: one number, or one per step), blamed on the derate where the hour's
    temperature (``heat_share``: the heat's share alone, per step) or the site's elevation
    lowered it."""
    if np.ndim(by_step) == 0 or by_step[step] == rated:
        return f"{gen_type} output (MW) above {units:g} units x {rated:g} MW", ("catalog", "generators", gen_type, "unit_mw")
    if heat_share[step] == 1.0:  # thin air alone
        return (f"{gen_type} output (MW) above {units:g} units at their rating derated for the site's elevation "
                "(the catalog's output_vs_elevation_m)", ("site", "location", "elevation_m"))
    return (f"{gen_type} output (MW) above {units:g} units at their rating derated for the hour's ambient "
            "temperature (the catalog's output_vs_ambient_c)", ("site", "ambient_temp_c"))


def _most_mw(built_mw: dict, heat_rate: dict, pipeline_mmbtu_per_h: float | None) -> np.ndarray:
    """The most the units built deliver in each hour (``built_mw``: their MW by hour): all of
    them, or what the pipeline feeds, the most efficient first."""
    if pipeline_mmbtu_per_h is None:
        return sum(built_mw.values())
    fuel, most = pipeline_mmbtu_per_h, 0.0
    for k in sorted(built_mw, key=heat_rate.get):
        mw = np.minimum(built_mw[k], fuel / heat_rate[k])
        most, fuel = most + mw, np.maximum(0.0, fuel - mw * heat_rate[k])
    return most


def report(sm: SiteModel, plan: SitePlan) -> None:
    """Units built and in use per candidate, their energy, and the limits reached (all allowed
    units built, the pipeline full)."""
    site, cat = sm.si.site, sm.si.catalog
    if not site.technologies.gas:
        return
    b, w = sm.block, sm.tg.weight
    said = set()  # a type both owned and rented is derated once
    for cand in site.technologies.gas:
        k = cand.key
        new = round(value_of(b.gas_new_units[k]))
        plan.capacity[gas_key(k, "units")] = new + cand.existing_units
        plan.capacity[gas_key(k, "new_units")] = new
        plan.capacity[gas_key(k, "mw")] = (new + cand.existing_units) * cat.generators[cand.type].unit_mw
        plan.energy_mwh[f"gas_{k}"] = float(np.sum(w * plan.dispatch[f"gas_{k}_mw"]))
        if new >= cand.max_units and cand.max_units > 0:
            plan.binding.append(f"gas {k}: all {cand.max_units} allowed new units built (max_units)")
        if new + cand.existing_units > 0 and cand.type not in said:
            said.add(cand.type)
            _say_derate(sm.si, cand.type, plan)
    limit = site.fuel.pipeline_limit_mmbtu_per_h
    if limit is not None:
        fuel = sum(plan.dispatch[f"gas_{c.key}_mw"] * cat.generators[c.type].heat_rate_mmbtu_per_mwh
                   for c in site.technologies.gas)
        hours = int(np.sum(w * (fuel >= limit * (1 - 1e-6))))
        if hours:
            plan.binding.append(f"gas pipeline at its {limit:g} MMBtu/h limit for {hours:,} h/yr")


def _say_derate(si, gen_type: str, plan: SitePlan) -> None:
    """How the heat (and thin air) lowered a unit type's output, or that the heat was not asked
    to: a curve in the catalog and no temperature at the site leaves the units at their rating."""
    spec, elevation = si.catalog.generators[gen_type], si.site.location.elevation_m
    share = si.gas_output_fraction(gen_type)
    flat = bool(np.ptp(share) == 0)
    least = np.flatnonzero(share <= share.min())
    worst = int(least[np.argmax(si.ambient_temp_c[least])]) if si.ambient_temp_c is not None else int(least[0])
    where = [f"{si.ambient_temp_c[worst]:.1f} °C"] if si.gas_output_fraction(gen_type, thin_air=False)[worst] < 1 else []
    where += [f"{elevation:,.0f} m up"] if si.gas_output_fraction(gen_type, heat=False)[worst] < 1 else []
    if share[worst] < 1:
        when = "in every hour" if flat else "in the hottest hour"
        plan.binding.append(f"gas {gen_type}: {spec.unit_mw * share[worst]:,.1f} MW a unit {when} ({', '.join(where)}, "
                            f"what counts as firm), {spec.unit_mw:g} MW at ISO; below its rating "
                            f"{int(np.sum(share < 1)):,} h a year")
    if si.ambient_temp_c is None and any(s < 1 for _, s in spec.output_vs_ambient_c or []):
        plan.binding.append(f"gas {gen_type}: no derate for heat: the site gives no ambient_temp_c (its catalog's "
                            "output_vs_ambient_c lowers its output on hot hours)")


def commit(sm: SiteModel, built: SitePlan) -> None:
    """Fix the new units of each candidate at a committed plan's."""
    for cand in sm.si.site.technologies.gas:
        sm.block.gas_new_units[cand.key].fix(round(built.capacity.get(f"gas_{cand.key}_new_units", 0)), skip_validation=True)
