"""A committed site plan's annual cost lines, recomputed from the current catalog prices, site
tariffs and finance (as :mod:`dcplan.model` prices them), each with the inputs it depends on so
that a drift can be traced to the catalog entry or site key that moved."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dcplan.checks.state import SiteState
from dcplan.loader import SiteInput
from dcplan.model.compute import existing_it_mw
from dcplan.model.context import capital_recovery_factor
from dcplan.schema.program import Finance

PLAN_ONLY = ("smoothing", "major_source_permit")  # priced outside the plan's own numbers


@dataclass
class CostLine:
    usd_per_year: float = 0.0
    # the inputs it depends on: ("catalog", section, key, field) or ("site"|"program", *key path)
    inputs: list[tuple] = field(default_factory=list)

    def add(self, usd: float, *inputs: tuple) -> None:
        self.usd_per_year += usd
        self.inputs += [i for i in inputs if i not in self.inputs]


def _crf(finance: Finance, section: str, key: str, spec_life: float) -> float:
    lives = finance.lifetimes_years
    return capital_recovery_factor(finance.discount_rate, lives.get(key, lives.get(section, spec_life)))


def _catalog(section: str, key: str):
    """A maker of ("catalog", section, key, field) input references for one entry."""
    return lambda name: ("catalog", section, key, name)


def order_unit_price(si: SiteInput, asset: str) -> tuple[float, list[tuple]] | None:
    """Today's capital per reported unit of a build-out order of ``asset`` (USD per GPU, MW IT,
    gas unit, MW or MWh, as the model prices it) and the inputs it comes from; None when the
    site no longer offers the asset."""
    section, _, key = asset.partition(":")
    cat, tech = si.catalog, si.site.technologies
    if section == "gpus" and key in cat.gpus:
        return cat.gpus[key].price_usd_per_gpu, [("catalog", "gpus", key, "price_usd_per_gpu")]
    if section == "cooling" and key in cat.cooling:
        return 1000 * cat.cooling[key].capex_usd_per_kw_it, [("catalog", "cooling", key, "capex_usd_per_kw_it")]
    if section == "gas":
        cand = next((c for c in tech.gas if c.key == key and c.rental is None), None)
        if cand is not None:
            gen, entry = cat.generators[cand.type], _catalog("generators", cand.type)
            return 1000 * gen.unit_mw * gen.capex_usd_per_kw, [entry("capex_usd_per_kw"), entry("unit_mw")]
    if section in ("solar", "wind") and key in cat.renewables:
        return 1000 * cat.renewables[key].capex_usd_per_kw, [("catalog", "renewables", key, "capex_usd_per_kw")]
    if section in ("battery_power", "battery_energy") and key in cat.storage:
        name = "power_capex_usd_per_kw" if section == "battery_power" else "energy_capex_usd_per_kwh"
        return 1000 * getattr(cat.storage[key], name), [("catalog", "storage", key, name)]
    return None


def recompute_costs(s: SiteState, finance: Finance) -> dict[str, CostLine]:
    """Annual cost by component (``costs_usd_per_year`` of plan.yaml) under the current inputs."""
    lines: dict[str, CostLine] = {}
    cat, site = s.si.catalog, s.si.site

    def line(name: str) -> CostLine:
        return lines.setdefault(name, CostLine())

    rate = ("program", "finance", "discount_rate")
    for g, n in s.entry.gpus_new.items():
        if g in cat.gpus and n:
            spec = cat.gpus[g]
            line("gpus").add(n * spec.price_usd_per_gpu * _crf(finance, "gpus", g, spec.lifetime_years),
                             ("catalog", "gpus", g, "price_usd_per_gpu"), ("catalog", "gpus", g, "lifetime_years"), rate)
    index, option = next((i, c) for i, c in enumerate(site.cooling) if c.type == s.entry.cooling)
    spec = cat.cooling[s.entry.cooling]
    new_it_mw = max(0.0, s.it_mw - existing_it_mw(s.si, s.compute))  # existing GPUs bring their cooling
    if option.rental is not None:
        line("cooling_rental").add(new_it_mw * 1000 * option.rental.usd_per_kw_month * 12,
                                   ("site", "cooling", index, "rental", "usd_per_kw_month"))
    else:
        line("cooling").add(new_it_mw * 1000 * spec.capex_usd_per_kw_it * _crf(finance, "cooling", s.entry.cooling, spec.lifetime_years),
                            ("catalog", "cooling", s.entry.cooling, "capex_usd_per_kw_it"), rate)
    fuel = ("site", "fuel", "gas_price_usd_per_mmbtu")
    for i, cand, units in s.gas():
        gen = cat.generators[cand.type]
        new, kw, energy = units - cand.existing_units, gen.unit_mw * 1000, s.energy(f"gas_{cand.key}_mw")
        entry = _catalog("generators", cand.type)
        if cand.rental is not None:
            line("gas_rental").add(new * kw * cand.rental.usd_per_kw_month * 12,
                                   ("site", "technologies", "gas", i, "rental", "usd_per_kw_month"))
        else:
            line("gas_capex").add(new * kw * gen.capex_usd_per_kw * _crf(finance, "generators", cand.type, gen.lifetime_years),
                                  entry("capex_usd_per_kw"), entry("unit_mw"), rate)
            line("gas_fixed_om").add(units * kw * gen.fixed_om_usd_per_kw_year, entry("fixed_om_usd_per_kw_year"))
        line("gas_variable_om").add(energy * gen.variable_om_usd_per_mwh, entry("variable_om_usd_per_mwh"))
        line("gas_fuel").add(energy * gen.heat_rate_mmbtu_per_mwh * site.fuel.gas_price_usd_per_mmbtu,
                             fuel, entry("heat_rate_mmbtu_per_mwh"))
    for tech in ("solar", "wind"):
        cand, key = getattr(site.technologies, tech), s.renewable_key(tech)
        if cand is None or key not in cat.renewables:
            continue
        spec, total = cat.renewables[key], s.capacity(f"{tech}_mw")
        line(f"{tech}_capex").add((total - cand.existing_mw) * 1000 * spec.capex_usd_per_kw
                                  * _crf(finance, "renewables", key, spec.lifetime_years),
                                  ("catalog", "renewables", key, "capex_usd_per_kw"), rate)
        line(f"{tech}_fixed_om").add(total * 1000 * spec.fixed_om_usd_per_kw_year,
                                     ("catalog", "renewables", key, "fixed_om_usd_per_kw_year"))
    battery = site.technologies.battery
    if battery is not None and battery.type in cat.storage:
        spec, entry = cat.storage[battery.type], _catalog("storage", battery.type)
        power, energy = s.capacity("battery_mw"), s.capacity("battery_mwh")
        capex = ((power - battery.existing_power_mw) * spec.power_capex_usd_per_kw
                 + (energy - battery.existing_energy_mwh) * spec.energy_capex_usd_per_kwh) * 1000
        line("battery_capex").add(capex * _crf(finance, "storage", battery.type, spec.lifetime_years),
                                  entry("power_capex_usd_per_kw"), entry("energy_capex_usd_per_kwh"), rate)
        line("battery_fixed_om").add(power * 1000 * spec.fixed_om_usd_per_kw_year, entry("fixed_om_usd_per_kw_year"))
    grid = site.grid
    if grid is not None:
        line("grid_energy").add(float(np.sum(s.weight * s.si.price_usd_per_mwh[s.hours] * s.col("grid_mw"))),
                                ("site", "grid", "energy_price_usd_per_mwh"))
        if grid.demand_charge_usd_per_kw_month > 0 and s.months():
            line("grid_demand").add(sum(s.monthly_peaks()) * 1000 * grid.demand_charge_usd_per_kw_month
                                    * 12 / len(s.months()), ("site", "grid", "demand_charge_usd_per_kw_month"))
    if finance.carbon_price_usd_per_t > 0:
        line("carbon").add(finance.carbon_price_usd_per_t * s.co2_t, ("program", "finance", "carbon_price_usd_per_t"))
    shed = site.reliability.unserved_energy_usd_per_mwh
    if shed is not None and "unserved_mw" in s.d:
        line("unserved_energy").add(shed * s.energy("unserved_mw"), ("site", "reliability", "unserved_energy_usd_per_mwh"))
    for name in PLAN_ONLY:
        if name in s.entry.costs_usd_per_year:
            line(name).add(s.entry.costs_usd_per_year[name])
    return lines
