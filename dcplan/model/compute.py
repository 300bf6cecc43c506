"""GPUs and cooling: how many purchase units of each GPU model, which cooling option, and the
facility load they draw each hour.

IT power is disaggregated by cooling option (``it_mw[c]``, zero unless option c is chosen) so
that facility load = sum_c PUE[c, t] * it_mw[c] stays linear.
"""

from __future__ import annotations

import numpy as np
import pyomo.core as pyo

import dcplan.model.training as training
from dcplan.formulas import (
    capping_segments,
    facility_load_mw,
    gpu_it_mw,
    lead_time_months,
    smoothed_draw_fraction,
)
from dcplan.model.context import Asset, SiteModel, value_of
from dcplan.model.rows import Hourly, Rows, Term, row_family, weighted_sum
from dcplan.plans.types import COMPUTE_LINES, SitePlan
from dcplan.schema.compute import Compute
from dcplan.series import HOURS_PER_YEAR


def gpu_measure(spec, measure: str) -> float:
    """What one GPU counts for toward a target measured in ``measure``."""
    if measure == "gpus":
        return 1.0
    if measure == "h100_equivalents":
        return spec.h100_equivalents
    return spec.bf16_dense_tflops / 1000.0  # PFLOPS


def existing_it_mw(si, compute: Compute) -> float:
    """IT load of the GPUs already installed. They come with the cooling they run on (on the
    option the plan picks): cooling is bought, and ordered, only for the IT beyond it."""
    return sum(gpu_it_mw(o.existing_gpus, si.catalog.gpus[o.model], compute.provisioning_utilisation)
               for o in compute.gpus)


def add_compute(sm: SiteModel, compute: Compute, it_bound_mw: float) -> None:
    b, cat = sm.block, sm.si.catalog
    options = [g for g in compute.gpus]
    b.G = pyo.Set(initialize=[g.model for g in options], ordered=True)
    b.C = pyo.Set(initialize=[c.type for c in sm.si.site.cooling], ordered=True)
    util = compute.provisioning_utilisation

    def unit_bounds(m, g):
        opt = next(o for o in options if o.model == g)
        spec = cat.gpus[g]
        if opt.max_gpus is not None:
            return (0, max(0, (opt.max_gpus - opt.existing_gpus) // spec.gpus_per_unit))
        return (0, int(it_bound_mw / gpu_it_mw(spec.gpus_per_unit, spec, util)) + 1)

    b.gpu_units = pyo.Var(b.G, domain=pyo.NonNegativeIntegers, bounds=unit_bounds)
    existing = {o.model: o.existing_gpus for o in options}
    b.gpus = pyo.Expression(b.G, rule=lambda m, g: m.gpu_units[g] * cat.gpus[g].gpus_per_unit + existing[g])
    b.it_total_mw = pyo.Expression(expr=sum(gpu_it_mw(b.gpus[g], cat.gpus[g], util) for g in b.G)
                                   + compute.fixed_it_mw)  # the design IT: what supply and cooling carry

    b.cooling_on = pyo.Var(b.C, domain=pyo.Binary)
    b.it_mw = pyo.Var(b.C, bounds=(0, it_bound_mw))
    b.one_cooling = pyo.Constraint(expr=sum(b.cooling_on[c] for c in b.C) == 1)
    b.it_split = pyo.Constraint(expr=sum(b.it_mw[c] for c in b.C) == b.it_total_mw)
    b.it_only_if_chosen = pyo.Constraint(b.C, rule=lambda m, c: m.it_mw[c] <= it_bound_mw * m.cooling_on[c])
    liquid = [c for c in b.C if cat.cooling[c].liquid]

    def needs_liquid(m, g):
        if not cat.gpus[g].liquid_cooling_required:
            return pyo.Constraint.Skip
        if not liquid:
            return m.gpus[g] == 0
        return m.gpu_units[g] <= m.gpu_units[g].ub * sum(m.cooling_on[c] for c in liquid)

    b.liquid_required = pyo.Constraint(b.G, rule=needs_liquid)
    sm.limit(b.liquid_required, lambda g: (f"{g} needs liquid cooling", ("catalog", "gpus", g, "liquid_cooling_required")))
    existing_it = existing_it_mw(sm.si, compute)
    if existing_it > 0:
        b.cooling_new_mw = pyo.Var(b.C, bounds=(0, it_bound_mw))
        b.cooling_new = pyo.Constraint(b.C, rule=lambda m, c: m.cooling_new_mw[c] == m.it_mw[c]
                                       - existing_it * m.cooling_on[c])
    new_cooling = b.cooling_new_mw if existing_it > 0 else b.it_mw

    pue = {c: sm.series(sm.si.pue[c]) for c in b.C}
    # hour by hour the IT draws its average share of the design IT (which the design peak keeps),
    # and the energy smoothing a training job adds, up to its peak
    draw = smoothed_draw_fraction(compute.average_draw_fraction, training.draw_added_fraction(sm),
                                  training.peak_fraction(sm))
    capped = add_power_capping(sm, compute, options, draw)
    steps = list(sm.steps)
    load = [Term(b.it_mw[c], facility_load_mw(1.0, np.asarray(pue[c]), draw))
            for c in b.C]
    if capped is not None:  # less the GPU power capped away, at the PUE
        load += [Term([capped[c, j, t] for t in steps], -np.asarray(pue[c])) for c in b.C for j in b.J]
    sm.load = Hourly(load, len(steps))
    sm.add_dispatch("load_mw", derive=sm.load.values)
    sm.add_dispatch("pue", derive=lambda: sm.tg.sample(sm.si.pue[chosen_cooling(sm)]))
    sm.peak_load = sum(facility_load_mw(b.it_mw[c], float(sm.si.pue[c].max()), training.peak_fraction(sm))
                       for c in b.C)  # design peak
    sm.it_energy_mwh = _it_energy_mwh(sm, draw, capped)
    sm.provisioning, sm.fixed_it_mw = util, compute.fixed_it_mw

    for opt in options:
        spec = cat.gpus[opt.model]
        per_period = opt.max_new_gpus_per_period
        sm.add_asset(Asset(
            key=f"gpus:{opt.model}", label=spec.name, unit="units", in_use=b.gpu_units[opt.model],
            capex_usd_per_unit=spec.gpus_per_unit * spec.price_usd_per_gpu,
            life_years=sm.life("gpus", opt.model, spec.lifetime_years),
            crf=sm.crf("gpus", opt.model, spec.lifetime_years),
            lead_time_months=lead_time_months(opt.lead_time_months, spec.lead_time_months),
            component="gpus", integer=True, size=spec.gpus_per_unit, reported_unit="GPUs",
            existing=opt.existing_gpus / spec.gpus_per_unit,
            spare_allowed=True,  # delivered, they need not run: in stock, aging from delivery
            price_inputs=(("catalog", "gpus", opt.model, "price_usd_per_gpu"), ("catalog", "gpus", opt.model, "lifetime_years")),
            max_order_per_period=None if per_period is None else per_period // spec.gpus_per_unit))
    add_cloud(sm, compute)
    for index, option in enumerate(sm.si.site.cooling):
        c, spec = option.type, cat.cooling[option.type]
        rent = option.rental
        sm.add_asset(Asset(
            key=f"cooling:{c}", label=spec.name + (" (rented)" if rent else ""), unit="MW IT",
            in_use=new_cooling[c], capex_usd_per_unit=1000 * spec.capex_usd_per_kw_it,
            life_years=sm.life("cooling", c, spec.lifetime_years), crf=sm.crf("cooling", c, spec.lifetime_years),
            lead_time_months=rent.lead_time_months if rent else lead_time_months(option.lead_time_months,
                                                                         spec.lead_time_months),
            component="cooling_rental" if rent else "cooling",
            rental_usd_per_unit_year=rent.usd_per_kw_month * 1000 * 12 if rent else None,
            spare_allowed=True, price_inputs=(("site", "cooling", index, "rental", "usd_per_kw_month"),) if rent
            else (("catalog", "cooling", c, "capex_usd_per_kw_it"),),
            existing=existing_it * b.cooling_on[c] if existing_it > 0 else 0.0))  # the existing IT, where c cools it


def _it_energy_mwh(sm: SiteModel, draw: float, capped):
    """The IT's energy in a year under cooling option c, MWh, as a model expression (what its
    water is reckoned on, in the plan and in a water cap): the design IT drawing ``draw`` of it
    (its average share, with a smoothed training job's) every hour, less what power caps
    take away."""
    b, w = sm.block, sm.weights()
    hours = float(np.sum(sm.tg.weight)) * draw
    steps = list(sm.steps)

    def of(c):
        taken = weighted_sum(np.repeat(w, len(b.J)), [capped[c, j, t] for t in steps for j in b.J]) if capped is not None else 0.0
        return hours * b.it_mw[c] - taken
    return of


def add_power_capping(sm: SiteModel, compute: Compute, options, draw: float) -> object:
    """The IT MW capped away in each step under each cooling option (``b.gpu_capped_mw[c, j, t]``
    by segment j of the curve's convex envelope, within its depth of the GPUs' draw; zero unless
    option c is chosen, since it is bounded by ``it_mw[c]``), priced by the GPU-hours it loses;
    ``draw``: the IT's hourly share of its design. Returns ``b.gpu_capped_mw``, or None without
    power capping."""
    pc = compute.power_capping
    if pc is None or not options:
        return None
    b, cat = sm.block, sm.si.catalog
    segments = capping_segments(pc.curve)
    spec = min((cat.gpus[o.model] for o in options), key=lambda g: g.tdp_w / g.design_w_per_gpu)
    board_share = spec.tdp_w / spec.design_w_per_gpu
    b.J = pyo.RangeSet(0, len(segments) - 1)
    b.gpu_capped_mw = pyo.Var(b.C, b.J, sm.steps, bounds=(0, None))
    steps = list(sm.steps)
    b.gpu_cap_depth = row_family(b.C, b.J, sm.steps, rows=[Rows(  # capped <= the segment's depth of the draw
        [(c, j, t) for t in steps], [Term([b.gpu_capped_mw[c, j, t] for t in steps]), Term(
            b.it_mw[c] - compute.fixed_it_mw * b.cooling_on[c], -segments[j][0] * board_share * draw)], upper=0.0)
        for c in b.C for j in b.J])
    sm.explain(b.gpu_cap_depth, lambda c, j, t: ("GPU power capped (MW) deeper than the curve allows",
                                                 ("program", "compute", "power_capping", "curve")))
    b.gpu_capped = pyo.Expression(b.C, sm.steps, rule=lambda m, c, t: sum(m.gpu_capped_mw[c, j, t] for j in m.J))
    lost_per_mwh = [slope / (spec.tdp_w / 1e6 * draw) for _, slope in segments]  # GPU-hours lost per MWh saved
    w = sm.weights()
    sm.add_cost("power_capping", pc.value_usd_per_gpu_hour * sum(
        w[t] * lost_per_mwh[j] * b.gpu_capped_mw[c, j, t] for c in b.C for j in b.J for t in sm.steps),
        ("program", "compute", "power_capping", "value_usd_per_gpu_hour"))
    sm.add_dispatch("gpu_capped_mw", at=lambda t: sum(b.gpu_capped[c, t] for c in b.C), decided=True)
    deepest = sum(width for width, _ in segments)

    def most_taken_away_mw():  # the facility load the deepest cap takes away in each hour of the year
        c = chosen_cooling(sm)
        return deepest * board_share * draw * (value_of(b.it_mw[c]) - compute.fixed_it_mw) * np.asarray(sm.si.pue[c])

    sm.most_mw["power capping"] = most_taken_away_mw
    return b.gpu_capped_mw


def add_cloud(sm: SiteModel, compute: Compute) -> None:
    """GPUs rented from a cloud (``b.cloud_gpus``): compute without power, cooling or capital,
    rented by the hour (a rented asset: all year in a single-period plan, period by period in a
    build-out, from its lead time)."""
    b, cat = sm.block, sm.si.catalog
    options = {o.model: o for o in compute.cloud}
    b.CL = pyo.Set(initialize=list(options), ordered=True)
    b.cloud_gpus = pyo.Var(b.CL, bounds=lambda m, g: (0, options[g].max_gpus))
    for i, (g, opt) in enumerate(options.items()):
        sm.add_asset(Asset(
            key=f"cloud:{g}", label=f"{cat.gpus[g].name} (cloud)", unit="GPUs", in_use=b.cloud_gpus[g],
            capex_usd_per_unit=0.0, life_years=1.0, crf=1.0, lead_time_months=opt.lead_time_months,
            component="cloud_rental", rental_usd_per_unit_year=opt.usd_per_gpu_hour * HOURS_PER_YEAR,
            price_inputs=(("program", "compute", "cloud", i, "usd_per_gpu_hour"),)))


def chosen_cooling(sm: SiteModel) -> str:
    b = sm.block
    return max(b.C, key=lambda c: value_of(b.cooling_on[c]))


def report(sm: SiteModel, plan: SitePlan) -> None:
    """The GPUs, the cooling chosen, the IT load, its peaks and the water it uses."""
    b, cat = sm.block, sm.si.catalog
    plan.cooling = chosen_cooling(sm)
    plan.gpus = {g: round(value_of(b.gpus[g])) for g in b.G}
    plan.gpus_new = {g: round(value_of(b.gpu_units[g])) * cat.gpus[g].gpus_per_unit for g in b.G}
    plan.cloud_gpus = {g: value_of(b.cloud_gpus[g]) for g in b.CL}
    plan.it_mw = value_of(b.it_total_mw)
    plan.capacity["facility_peak_mw"] = float(plan.dispatch["load_mw"].max(initial=0))
    plan.capacity["design_peak_mw"] = value_of(sm.peak_load)
    if sm.provisioning < 1 and plan.it_mw > 0:  # oversubscribed: say what a synchronous job would draw
        full = (plan.it_mw - sm.fixed_it_mw) / sm.provisioning + sm.fixed_it_mw
        plan.binding.append(f"oversubscribed: IT designed for {sm.provisioning:.0%} of the GPUs' all-in power; a "
                            f"job driving every GPU at once draws {full:,.1f} MW, {full - plan.it_mw:,.1f} MW more")
    if "gpu_capped_mw" in plan.dispatch:
        capped, w = plan.dispatch["gpu_capped_mw"], sm.tg.weight
        hours = float(np.sum(w * (capped > 1e-6)))
        if hours:
            plan.binding.append(f"GPU power capped in {hours:,.0f} h/yr: {float(np.sum(w * capped)):,.0f} MWh of IT less, "
                                f"at a throughput cost of ${value_of(sm.costs['power_capping']):,.0f}/yr")
    plan.water_m3 = value_of(sm.it_energy_mwh(plan.cooling)) * sm.si.wue(plan.cooling)  # MWh x L/kWh -> m3


def commit(sm: SiteModel, built: SitePlan) -> None:
    """Fix the GPUs bought, the cooling chosen and the IT it carries at those of a committed plan
    (which may lie outside today's bounds: `dcplan check` reports that itself)."""
    b, cat = sm.block, sm.si.catalog
    for g in b.G:
        b.gpu_units[g].fix(built.gpus_new.get(g, 0) // cat.gpus[g].gpus_per_unit, skip_validation=True)
    for g in b.CL:
        b.cloud_gpus[g].fix(built.cloud_gpus.get(g, 0.0), skip_validation=True)
    it_mw = value_of(b.it_total_mw)
    for c in b.C:
        b.cooling_on[c].fix(1 if c == built.cooling else 0, skip_validation=True)
        b.it_mw[c].fix(it_mw if c == built.cooling else 0.0, skip_validation=True)


def power_share(sites: list[SiteModel], total_cost) -> float:
    """The share of a solved plan's cost that is the power system's, not its compute
    (:data:`dcplan.plans.types.COMPUTE_LINES`): what the optimality gap of a full year is measured
    against, as a power-system model measures its own. 1 when the plan costs nothing, 0 when its
    compute is all of it."""
    total = value_of(total_cost)
    compute = sum(value_of(sm.costs[line]) for sm in sites for line in COMPUTE_LINES if line in sm.costs)
    if total <= 0:
        return 1.0
    return max(0.0, (total - compute) / total)


def compute_delivered(sm: SiteModel, measure: str):
    """Expression: this site's contribution to a compute target (its GPUs, and cloud GPUs it rents)."""
    b, cat = sm.block, sm.si.catalog
    return sum(b.gpus[g] * gpu_measure(cat.gpus[g], measure) for g in b.G) \
        + sum(b.cloud_gpus[g] * gpu_measure(cat.gpus[g], measure) for g in b.CL)
