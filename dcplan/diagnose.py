"""Explain, in sentences, why no plan exists.

First cheap arithmetic on the inputs (GPU supply limits, liquid cooling, N+1 firm capacity);
then an elastic solve in which unmet load is allowed at a penalty, which shows where and when
demand could not be served and by how much.
"""

from __future__ import annotations

import numpy as np

from dcplan.loader import ProgramInput, SiteInput
from dcplan.model.build import build_model
from dcplan.model.compute import gpu_measure
from dcplan.model.grid import grid_limit_mw
from dcplan.results import extract
from dcplan.solver import SolveOptions, solve

PENALTY_USD_PER_MWH = 1e6


def _cheapest_power_per_measure(si: SiteInput, program) -> float:
    """Lowest IT MW per unit of the target measure among the GPU models the site may use."""
    c = program.compute
    measure = c.target.measure if c.target else "gpus"
    return min(si.catalog.gpus[g.model].it_power_per_gpu_w * c.provisioning_utilisation / 1e6
               / gpu_measure(si.catalog.gpus[g.model], measure) for g in c.gpus)


def arithmetic_checks(pi: ProgramInput) -> list[str]:
    program, lines = pi.program, []
    target = program.compute.target
    if target is None:
        return lines
    cat = pi.sites[0].catalog
    limited = [g for g in program.compute.gpus if g.max_gpus is not None]
    if len(limited) == len(program.compute.gpus) and pi.sites:
        most = sum(g.max_gpus * gpu_measure(cat.gpus[g.model], target.measure) for g in limited) * len(pi.sites)
        if most < target.amount:
            lines.append(f"compute target of {target.amount:,.0f} {target.measure} exceeds what the allowed GPUs "
                         f"can supply: at most {most:,.0f} (max_gpus on "
                         f"{', '.join(g.model for g in limited)})")
    for si in pi.sites:
        liquid = any(si.catalog.cooling[c.type].liquid for c in si.site.cooling)
        air_ok = [g.model for g in program.compute.gpus if not si.catalog.gpus[g.model].liquid_cooling_required]
        if not liquid and not air_ok:
            lines.append(f"site {si.name}: every allowed GPU needs liquid cooling but the site offers only "
                         f"{', '.join(c.type for c in si.site.cooling)}")
    if len(pi.sites) == 1:
        si = pi.sites[0]
        it_mw = target.amount * _cheapest_power_per_measure(si, program)
        peak = it_mw * min(float(p.max()) for p in si.pue.values())
        if si.site.n_plus_one_required:
            gas = [(si.catalog.generators[g.type].unit_mw, g.max_units + g.existing_units) for g in si.site.technologies.gas]
            firm = sum(mw * n for mw, n in gas) - max((mw for mw, n in gas if n), default=0.0)
            if firm < peak:
                lines.append(f"site {si.name}: N+1 needs firm gas of at least {peak:,.1f} MW without its largest "
                             f"unit (design peak at the best cooling), but all allowed units give only "
                             f"{firm:,.1f} MW: raise max_units, add a unit type, or relax reliability.n_plus_one")
    return lines


def elastic_checks(pi: ProgramInput) -> list[str]:
    """Solve with unmet load allowed at a penalty and N+1 relaxed; report the shortfall."""
    sites = []
    for si in pi.sites:
        rel = si.site.reliability.model_copy(update={"unserved_energy_usd_per_mwh": PENALTY_USD_PER_MWH,
                                                      "n_plus_one": False})
        site = si.site.model_copy(update={"reliability": rel})
        sites.append(SiteInput(site, si.doc, si.catalog, si.price_usd_per_mwh, si.grid_co2_t_per_mwh,
                               si.solar_cf, si.wind_cf, si.pue))
    relaxed = ProgramInput(pi.program, pi.doc, sites, pi.scenario)
    pm = build_model(relaxed)
    result = solve(pm.model, SolveOptions(mip_gap=1e-3, time_limit_s=300))
    if not result.has_solution:
        return []
    plan = extract(pm, result)
    lines = []
    for sp, si in zip(plan.sites, sites):
        d = sp.dispatch
        short = d.get("unserved_mw")
        if short is None or short.max(initial=0) <= 1e-6:
            continue
        hours = float(np.sum(d["weight"][short > 1e-6]))
        worst = int(np.argmax(short))
        available = _supply_sentence(si, pi.program.horizon.start)
        lines.append(f"site {si.name}: the facility load of {d['load_mw'][worst]:,.1f} MW could not be met in "
                     f"{hours:,.0f} h/yr; the largest shortfall is {short[worst]:,.1f} MW "
                     f"(hour {int(d['hour_of_year'][worst])} of the year), {sp.energy_mwh.get('unserved', 0):,.0f} "
                     f"MWh/yr in all. Available: {available}")
    return lines


def _supply_sentence(si: SiteInput, when) -> str:
    parts, tech = [], si.site.technologies
    if si.site.grid:
        parts.append(f"grid import ≤ {grid_limit_mw(si.site.grid, when):,.0f} MW")
    else:
        parts.append("no grid connection")
    for g in tech.gas:
        mw = si.catalog.generators[g.type].unit_mw
        parts.append(f"{g.type} ≤ {g.max_units + g.existing_units} × {mw:g} MW")
    for name, cand, cf in (("solar", tech.solar, si.solar_cf), ("wind", tech.wind, si.wind_cf)):
        if cand:
            parts.append(f"{name} ≤ {cand.max_mw + cand.existing_mw:,.0f} MW at a mean capacity factor of "
                         f"{float(np.mean(cf)):.0%}")
    if tech.battery:
        parts.append("a battery" + (f" ≤ {tech.battery.max_power_mw:,.0f} MW" if tech.battery.max_power_mw else ""))
    return "; ".join(parts)


def explain_infeasible(pi: ProgramInput) -> list[str]:
    lines = arithmetic_checks(pi)
    if not lines:
        lines = elastic_checks(pi)
    return lines or ["the limits conflict in a way these checks do not isolate; "
                     "try relaxing max_units, max_mw or the target to find the binding one"]
