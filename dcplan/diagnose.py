"""Explain, in sentences, why no plan exists.

First cheap arithmetic on the inputs (GPU supply limits, liquid cooling, N+1 firm capacity);
then an elastic solve in which unmet load is allowed at a penalty, which shows where and when
demand could not be served and by how much.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter

import numpy as np

from dcplan.formatting import counted, month_span
from dcplan.formulas import (
    facility_load_mw,
    firm_without_largest_mw,
    gas_co2_t_per_mwh,
    gpu_it_mw,
    grid_limit_during,
    grid_limit_key,
    grid_limit_mw,
    smoothed_draw_fraction,
)
from dcplan.loader import ProgramInput, SiteInput
from dcplan.locate import Locator
from dcplan.model import build_model
from dcplan.model.build import site_compute
from dcplan.model.buildout import add_months, periods_of, target_in_force
from dcplan.model.compute import gpu_measure
from dcplan.model.results import extract
from dcplan.model.timegrid import month_of_hour
from dcplan.solver import SolveOptions, irreducible_conflict, solve

PENALTY_USD_PER_MWH = 1e6
ELASTIC_GAP = 1e-2
"""How close to the least relaxation an elastic solve must prove its plan: the penalties are most
of its objective, so within about this share of the relaxation it names. On a perturbed
export-capped-portfolio at 1e-3, HiGHS held a plan 0.14 % above the optimum after 0.4 s and took
54 s to prove one within 1e-3 (the explanation 63 s); at 1e-2 the explanation takes 2.3 s, and the
cap is said to need 0.269 where the least is 0.268."""
ELASTIC_TIME_LIMIT_S = 60.0
"""Each elastic solve's limit: the diagnosis ends in minutes at worst, with the plan found by then
(a relaxation within the gap reached), else without that solve's sentences (the conflicting
set HiGHS isolates still says which limits)."""


def _cheapest_power_per_measure(si: SiteInput, program, measure: str | None = None) -> float:
    """Lowest IT MW per unit of the target measure among the GPU models the site may use."""
    c = program.compute
    measure = measure or (c.target.measure if c.target else "gpus")
    return min(gpu_it_mw(1, si.catalog.gpus[g.model], c.provisioning_utilisation)
               / gpu_measure(si.catalog.gpus[g.model], measure) for g in c.gpus)


def arithmetic_checks(pi: ProgramInput, smoothing: dict | None = None) -> list[str]:
    """Why a one-site program with a compute target cannot have a plan, by the model's own
    formulas, before any model is built: too few GPUs allowed, GPUs that need liquid cooling on a
    site without it, N+1 beyond every allowed unit, a CO2 cap below the least the site emits. Each
    is a proof (a necessary condition of the model that fails), so `plan` answers at once; a
    portfolio is left to the solve. ``smoothing``: site -> the result of its training job, whose
    extra energy the CO2 floor then counts."""
    program = pi.program
    target = program.compute.target
    if target is None or len(pi.sites) != 1:
        return []
    si, lines, loc = pi.sites[0], [], Locator(pi)
    compute = site_compute(si, pi)
    if compute.cloud:  # cloud GPUs meet a target without a site's GPUs, power or cooling: left to the solve
        return []
    gpus = compute.gpus
    head = f"compute target of {target.amount:,.0f} {target.measure} ({loc.program('compute', 'target')})"
    if all(g.max_gpus is not None for g in gpus):
        most = sum(g.max_gpus * gpu_measure(si.catalog.gpus[g.model], target.measure) for g in gpus)
        if most < target.amount:
            lines.append(f"{head} exceeds what the allowed GPUs can supply: at most {most:,.0f} (max_gpus: "
                         + ", ".join(f"{g.model} {g.max_gpus:,} at {loc.gpu_option(si, g.model, 'max_gpus')}"
                                     for g in gpus) + ")")
    least_it = _least_it_mw(si, compute, target)
    if not lines and compute.max_it_mw is not None and least_it > compute.max_it_mw * (1 + 1e-9):
        unit = "GPU" if target.measure == "gpus" else target.measure.replace("_", " ")
        lines.append(f"{head} needs at least {least_it:,.1f} MW of design IT (with the allowed GPUs that draw the "
                     f"least per {unit} first), but max_it_mw is {compute.max_it_mw:,.1f} MW "
                     f"({loc.compute(si, 'max_it_mw')}): raise max_it_mw or lower the target")
    if not any(si.catalog.cooling[c.type].liquid for c in si.site.cooling) and \
            all(si.catalog.gpus[g.model].liquid_cooling_required for g in gpus):
        lines.append(f"site {si.name}: every allowed GPU needs liquid cooling but the site offers only "
                     f"{', '.join(c.type for c in si.site.cooling)}")
    it_mw = target.amount * _cheapest_power_per_measure(si, program) + program.compute.fixed_it_mw
    peak = facility_load_mw(it_mw, min(float(p.max()) for p in si.pue.values()))
    if si.site.needs_n_plus_one(grid_limit_mw(si.site.grid, program.horizon.start) if si.site.grid else 0.0):
        firm = firm_without_largest_mw([(si.gas_firm_unit_mw(g.type), g.max_units + g.existing_units)
                                        for g in si.site.technologies.gas])
        bat = si.site.technologies.battery  # counts at most its power (its energy may be bought freely)
        if bat is not None:
            firm = float("inf") if bat.max_power_mw is None else firm + bat.max_power_mw + bat.existing_power_mw
        if firm < peak:
            lines.append(f"site {si.name}: N+1 needs firm gas of at least {peak:,.1f} MW without its largest "
                         f"unit (design peak at the best cooling), but all allowed units{' and the battery' if bat else ''} give only "
                         f"{firm:,.1f} MW: raise max_units, add a unit type, or relax reliability.n_plus_one")
    if not lines and least_it < float("inf"):
        job = (smoothing or {}).get(si.name)  # before it is smoothed, what it adds is at least 0
        draw = smoothed_draw_fraction(compute.average_draw_fraction, job.draw_added_fraction, job.peak_fraction) \
            if job is not None else compute.average_draw_fraction
        lines += _co2_floor(pi, si, least_it, draw)
    return lines


def _co2_floor(pi: ProgramInput, si: SiteInput, least_it_mw: float, draw_fraction: float) -> list[str]:
    """A CO2 cap below what the site must emit whatever it builds: the least facility energy (the
    least IT for the target, drawing ``draw_fraction`` of it, at each hour's best PUE) less the
    most that its solar and wind can make, times the lowest emission rate among the grid's hours
    and the gas units' fuel. A battery only loses energy, so this holds whatever is stored.
    Full-year plans only (a typical-days plan weighs hours its own way), and not where load may
    be shed."""
    caps = [rc for rc in pi.caps if rc.in_force and rc.cap.quantity == "co2_t" and rc.cap.max is not None
            and rc.cap.major_source is None]
    if not caps or pi.program.time.typical_days is not None or si.site.reliability.unserved_energy_usd_per_mwh:
        return []
    tech, grid = si.site.technologies, si.site.grid
    pue = np.min([si.pue[c.type] for c in si.site.cooling], axis=0)
    load_mwh = float(np.sum(facility_load_mw(least_it_mw, pue, draw_fraction)))
    clean_mwh = sum(float(np.sum(cf)) * (cand.max_mw + cand.existing_mw)
                    for cand, cf in ((tech.solar, si.solar_cf), (tech.wind, si.wind_cf)) if cand is not None)
    rates = ([("the grid's cleanest hour", float(np.min(si.grid_co2_t_per_mwh)))] if grid is not None else []) + [
        (g.type, gas_co2_t_per_mwh(si.catalog.generators[g.type].heat_rate_mmbtu_per_mwh, si.site.fuel.co2_t_per_mmbtu))
        for g in tech.gas]
    if not rates or load_mwh <= clean_mwh:
        return []
    source, rate = min(rates, key=lambda r: r[1])
    floor_t = (load_mwh - clean_mwh) * rate
    lines = []
    for rc in caps:
        limit = rc.cap.max / (pi.program.horizon.years if rc.cap.period == "horizon" else 1)
        if floor_t > limit * (1 + 1e-6) + 1e-6:
            where = f"{rc.file}:{rc.line}" if rc.line else rc.file
            lines.append(f"cap {rc.cap.name} ({where}: caps max) allows {limit:,.0f} t of CO2 a year, but the site must "
                         f"emit at least {floor_t:,.0f}: it needs at least {load_mwh:,.0f} MWh a year (the least IT for the "
                         f"target{f', drawing {draw_fraction:.1%} of it,' if draw_fraction != 1 else ''} at the best PUE of each hour), its solar and wind can make at most {clean_mwh:,.0f} MWh, "
                         f"and the rest comes from sources emitting at least {rate:.3f} t/MWh ({source})")
    return lines


def _least_it_mw(si: SiteInput, compute, target) -> float:
    """The least design IT that meets ``target`` (GPUs in any fractions, so a lower bound on the
    model's whole units): the GPUs that draw least per unit of the target first, each up to its
    max_gpus; infinite when the allowed GPUs cannot meet it."""
    def mw_per_measure(g):
        spec = si.catalog.gpus[g.model]
        return gpu_it_mw(1, spec, compute.provisioning_utilisation) / gpu_measure(spec, target.measure)

    need, it_mw = target.amount, compute.fixed_it_mw
    for g in sorted(compute.gpus, key=mw_per_measure):
        spec = si.catalog.gpus[g.model]
        most = float("inf") if g.max_gpus is None else g.max_gpus * gpu_measure(spec, target.measure)
        take = min(need, most)
        it_mw += take * mw_per_measure(g)
        need -= take
        if need <= 0:
            return it_mw
    return float("inf")


def elastic_checks(pi: ProgramInput, smoothing: dict | None = None) -> list[str]:
    """Two elastic solves, each a way out: every cap may move (at a large penalty per share of
    its limit), or load may go unserved (N+1 relaxed, caps held). Each that finds a plan gives
    the least relaxation of its kind; together they are the alternatives a reviewer chooses
    from. A full-year program is diagnosed on 12 typical days."""
    days = pi.program.time.typical_days or 12
    lines = []
    if pi.caps:
        plan = _elastic_plan(pi, days, False, smoothing)
        if plan is not None:
            lines += _cap_relaxations(plan)
    plan = _elastic_plan(pi, days, True, smoothing)
    if plan is not None:
        lines += _shortfalls(pi, plan)
    return [("or " if i else "") + line for i, line in enumerate(lines)]


def _elastic_plan(pi: ProgramInput, days: int, shed: bool, smoothing: dict | None):
    """The plan of the elastic model: caps elastic, or load shedding allowed with N+1 relaxed."""
    sites = pi.sites
    if shed:
        sites = []
        for si in pi.sites:
            rel = si.site.reliability.model_copy(update={"unserved_energy_usd_per_mwh": PENALTY_USD_PER_MWH,
                                                          "n_plus_one": False})
            sites.append(dataclasses.replace(si, site=si.site.model_copy(update={"reliability": rel})))
    pm = build_model(dataclasses.replace(pi, sites=sites), days, smoothing, elastic=not shed)  # its delays kept (odds)
    result = solve(pm.model, SolveOptions(mip_gap=ELASTIC_GAP, time_limit_s=ELASTIC_TIME_LIMIT_S))
    return extract(pm, result) if result.has_solution else None


def _shortfalls(pi: ProgramInput, plan) -> list[str]:
    """Each site's unserved load in the plan's dispatch (a build-out's last period's) and what was
    available then."""
    lines, loc = [], Locator(pi)
    when = periods_of(pi.program)[-1].start if pi.program.buildout else pi.program.horizon.start
    for sp, si in zip(plan.sites, pi.sites):
        d = sp.dispatch
        short = d.get("unserved_mw")
        if short is None or short.max(initial=0) <= 1e-6:
            continue
        hours = float(np.sum(d["weight"][short > 1e-6]))
        worst = int(np.argmax(short))
        available = _supply_sentence(si, when, loc, pi.caps)
        lines.append(f"site {si.name}: the facility load of {d['load_mw'][worst]:,.1f} MW could not be met in "
                     f"{hours:,.0f} h/yr; the largest shortfall is {short[worst]:,.1f} MW "
                     f"(hour {int(d['hour_of_year'][worst])} of the year), {sp.energy_mwh.get('unserved', 0):,.0f} "
                     f"MWh/yr in all. Available: {available}")
    return lines


def _cap_relaxations(plan) -> list[str]:
    """One sentence per cap (and scope) that the elastic plan had to exceed, at its worst."""
    worst: dict[tuple, tuple[float, object]] = {}
    for c in plan.caps:
        if c.value is None or not c.in_force:
            continue
        excess = c.value - c.limit if c.sense == "max" else c.limit - c.value
        if excess > 1e-6 * max(1.0, abs(c.limit)):
            key = (c.name, c.scope.split(" ", 1)[-1] if plan.timeline else c.scope, c.sense)
            if key not in worst or excess > worst[key][0]:
                worst[key] = (excess, c)
    lines = []
    for excess, c in sorted(worst.values(), key=lambda x: -x[0] / max(abs(x[1].limit), 1e-9)):
        where = f"{c.file}:{c.line}" if c.line else c.file
        bound = "≤" if c.sense == "max" else "≥"
        lines.append(f"cap {c.name} ({c.quantity}, {c.scope}, {where}): {bound} {_figure(c.limit)} would need "
                     f"{_figure(c.value)} ({'+' if c.sense == 'max' else '-'}{_figure(excess)})")
    return lines


def _figure(x: float) -> str:
    return f"{x:,.3f}" if abs(x) < 10 else f"{x:,.2f}" if abs(x) < 1000 else f"{x:,.0f}"


def _supply_sentence(si: SiteInput, when, loc: Locator, caps=()) -> str:
    """Each source's limit and the line that sets it; a cap on the grid import below the
    connection's limit is named beside it (the shortfall was measured against the cap)."""
    parts, tech = [], si.site.technologies
    if si.site.grid:
        limit = grid_limit_mw(si.site.grid, when)
        parts.append(f"grid import ≤ {limit:,.0f} MW ({loc.site(si, *grid_limit_key(si.site.grid, when))})")
        for rc in caps:
            scope = next((names for _, names in rc.groups if si.name in names), None)
            if (rc.cap.quantity == "grid_import_mw" and rc.cap.max is not None and rc.cap.max < limit
                    and scope is not None and rc.cap.in_force(when)):
                shared = f" with {', '.join(n for n in scope if n != si.name)}" if len(scope) > 1 else ""
                where = f"{rc.file}:{rc.line}" if rc.line else rc.file
                parts[-1] += f", capped at {rc.cap.max:,.0f} MW{shared} by cap {rc.cap.name} ({where})"
    else:
        parts.append("no grid connection")
    for i, g in enumerate(tech.gas):
        mw, firm_mw = si.catalog.generators[g.type].unit_mw, si.gas_firm_unit_mw(g.type)
        hours = "in every hour" if np.ptp(si.gas_output_fraction(g.type)) == 0 else "in the hottest hour"
        hot = f" ({firm_mw:,.1f} MW {hours})" if firm_mw < mw else ""
        units, key = (str(g.max_units), "max_units") if not g.existing_units else (
            f"({g.existing_units} existing" + (f" + {g.max_units} new)" if g.max_units else ")"),
            "max_units" if g.max_units else "existing_units")
        parts.append(f"{g.type} ≤ {units} × {mw:g} MW{hot} ({loc.site(si, 'technologies', 'gas', i, key)})")
    pipeline = si.site.fuel.pipeline_limit_mmbtu_per_h if tech.gas else None
    if pipeline is not None:  # the units' output may be more than the pipeline can fuel
        rate = min(si.catalog.generators[g.type].heat_rate_mmbtu_per_mwh for g in tech.gas)
        parts.append(f"gas burn ≤ {pipeline:,.0f} MMBtu/h, {pipeline / rate:,.1f} MW at the best heat rate "
                     f"({loc.site(si, 'fuel', 'pipeline_limit_mmbtu_per_h')})")
    for name, cand, cf in (("solar", tech.solar, si.solar_cf), ("wind", tech.wind, si.wind_cf)):
        if cand:
            parts.append(f"{name} ≤ {cand.max_mw + cand.existing_mw:,.0f} MW at a mean capacity factor of "
                         f"{float(np.mean(cf)):.0%} ({loc.site(si, 'technologies', name, 'max_mw')})")
    if tech.battery:
        parts.append("a battery" + (f" ≤ {tech.battery.max_power_mw:,.0f} MW "
                                    f"({loc.site(si, 'technologies', 'battery', 'max_power_mw')})"
                                    if tech.battery.max_power_mw else ""))
    return "; ".join(parts)


def timeline_checks(pi: ProgramInput) -> list[str]:
    """For a build-out: the first target that no order placed today can meet in time, compared
    with the most supply that can be in service by then (:func:`_firm_supply_by`: an upper bound,
    so what it finds short is short) and the cooling and GPUs that can be ready by then. A plan
    runs it before any model is built or job smoothed (:func:`dcplan.api.plan_once`), so it must
    stay a necessary condition: on the 208 perturbed examples of seeds 7002-7004 it found 27 of
    the infeasible and none of those with a plan."""
    program = pi.program
    if program.buildout is None or any(site_compute(si, pi).cloud for si in pi.sites):
        return []  # cloud GPUs meet a target without a site's GPUs, power or cooling: left to the solve
    periods, start, loc = periods_of(program), program.horizon.start, Locator(pi)

    def when(day: dt.date) -> str:
        return next((p.name for p in periods if p.start >= day), f"{day:%Y-%m-%d} (after the horizon)")

    for p in periods:
        target = target_in_force(program, p)
        if target is None:
            continue
        head = f"target of {target.amount:,.0f} {target.measure.replace('_', ' ')} by {p.name}"
        installed = sum(o.existing_gpus * gpu_measure(si.catalog.gpus[o.model], target.measure)
                        for si in pi.sites for o in site_compute(si, pi).gpus)
        beyond = target.amount > installed + 1e-9  # installed GPUs run from day one, cooled
        if installed:
            head += f" ({installed:,.0f} installed)"
        gpus = [(add_months(start, lead), o.model, where) for si in pi.sites for o in site_compute(si, pi).gpus
                for lead, where in [_lead(loc, si, f"gpus:{o.model}")]]
        first = min(gpus)
        late = []  # every reason, so that a fix of one does not meet the next
        if beyond and first[0] > p.start:
            late.append(f"the earliest GPUs ordered now ({first[1]}, {first[2]}) arrive in {when(first[0])}")
        per_unit, firm, notes, cooling_late = [], 0.0, [], []
        for si in pi.sites:
            ready = []
            for c in si.site.cooling:
                lead, where = _lead(loc, si, f"cooling:{c.type}")
                ready.append((c, add_months(start, lead), where))
            usable = [c for c, day, _ in ready if day <= p.start] or ([] if beyond else [c for c, _, _ in ready])
            if not usable:
                c, day, where = min(ready, key=lambda x: x[1])
                cooling_late.append(f"site {si.name}: no cooling plant can be ready (the first, {c.type} "
                                    f"ordered now, {where}, is ready in {when(day)})")
                continue
            supply, parts, n_plus_one = _firm_supply_by(si, p, start, when, loc)
            # N+1 holds firm capacity to the design peak (the year's highest PUE); else the period's own peak
            hours = slice(None) if n_plus_one else np.isin(month_of_hour(start.year), p.months)
            pue = min(float(si.pue[c.type][hours].max()) for c in usable)
            per_unit.append(_cheapest_power_per_measure(si, program, target.measure) * pue)
            firm += supply
            notes.append(f"site {si.name}: {parts}")
        if cooling_late and len(cooling_late) == len(pi.sites):
            late += cooling_late
        elif firm < target.amount * min(per_unit) - 1e-6:  # at the site that needs the least power per unit
            late.append(f"it needs at least {target.amount * min(per_unit):,.1f} MW at its peak (the facility at the "
                        f"highest PUE of the best cooling ready by then: the period's, or the year's where N+1 holds "
                        f"the design peak); everything that can be in service by then gives at most {firm:,.1f} MW "
                        f"({'; '.join(notes)})")
        if late:
            return [f"{head}: " + "; and ".join(late)]
    return []


def _lead(loc: Locator, si: SiteInput, asset: str) -> tuple[float, str]:
    """An asset's lead time in months (:meth:`Locator.lead_time`), and in words where it is set."""
    months, where = loc.lead_time(si, asset)
    said = f"lead time {month_span(months)}"
    return months, f"{said} at {where.file}:{where.line}" if where.line else said


def _firm_supply_by(si: SiteInput, p, start: dt.date, when, loc: Locator) -> tuple[float, str, bool]:
    """The most MW a site can supply at its peak in period ``p`` if everything is ordered at
    ``start`` (grid, gas, the battery at its power, sun and wind at their best hour of the
    period: an upper bound, so a target above it cannot be met), what arrives too late, in
    words, and whether N+1 holds there: then its firm capacity instead (the largest unit left
    out, sun and wind not counted, as the model's N+1). Infinite where a battery has no power limit."""
    parts, units = [], []
    grid = si.site.grid
    mw = 0.0
    if grid is not None:
        mw = grid_limit_during(grid, p.start, p.end)
        later = [s for s in grid.steps if s.date > p.end and s.max_import_mw > mw]
        parts.append(f"grid {mw:,.0f} MW" + (f", rising to {later[0].max_import_mw:,.0f} MW in "
                                               f"{when(later[0].date)}" if later else ""))
        for u in grid.upgrades:
            lead, where = _lead(loc, si, f"grid_upgrade:{u.name}")
            arrive = add_months(start, lead)
            if arrive <= p.start:
                mw += u.adds_mw * u.max_units
                parts.append(f"upgrade {u.name}: {u.max_units} × {u.adds_mw:g} MW")
            else:
                parts.append(f"upgrade {u.name} ordered now in service in {when(arrive)} ({where})")
    else:
        parts.append("no grid")
    n_plus_one = si.site.needs_n_plus_one(mw)
    for g in si.site.technologies.gas:  # N+1 counts a unit for its output in the hottest hour
        unit = si.gas_firm_unit_mw(g.type) if n_plus_one else \
            si.catalog.generators[g.type].unit_mw * float(np.max(si.gas_output_fraction(g.type)))  # its best hour
        lead, where = _lead(loc, si, f"gas:{g.key}")
        arrive = add_months(start, lead)
        count = g.existing_units + (g.max_units if arrive <= p.start else 0)
        units += [unit] * count
        word = "rented" if g.rental else "ordered now"
        parts.append(f"{g.key} {word} arrive in {when(arrive)} ({where})" if arrive > p.start
                     else f"{g.key}: {count} × {unit:,.4g} MW")
    gas = sum(units) - (max(units) if units and n_plus_one else 0.0)
    if n_plus_one:
        parts.append("N+1 leaves out the largest unit")
    hours = np.isin(month_of_hour(start.year), p.months)
    tech, other = si.site.technologies, 0.0
    for name, cand, cf in (("solar", tech.solar, si.solar_cf), ("wind", tech.wind, si.wind_cf)):
        if cand is not None and cf is not None and not n_plus_one:
            lead, _ = _lead(loc, si, f"{name}:{cand.type}")
            built = cand.existing_mw + (cand.max_mw if add_months(start, lead) <= p.start else 0.0)
            other += built * float(np.max(cf[hours]))
            parts.append(f"{name} at most {built * float(np.max(cf[hours])):,.0f} MW")
    if tech.battery is not None:
        lead, _ = _lead(loc, si, f"battery_power:{tech.battery.type}")
        in_time = add_months(start, lead) <= p.start
        if in_time and tech.battery.max_power_mw is None:
            return float("inf"), ", ".join(parts), n_plus_one
        power = tech.battery.existing_power_mw + ((tech.battery.max_power_mw or 0.0) if in_time else 0.0)
        other += power
        parts.append(f"battery at most {power:,.0f} MW")
    return mw + gas + other, ", ".join(parts), n_plus_one


def conflict_summary(pi: ProgramInput, smoothing: dict | None = None) -> list[str]:
    """HiGHS's irreducible infeasible subset of the LP relaxation: the smallest set of limits
    that cannot hold together (a plan needs one of them moved). The limits the model registers
    (:data:`dcplan.model.context.Limit`) are named where their inputs are; the physics rows that
    tie them together are counted."""
    pm = build_model(pi, pi.program.time.typical_days or 12, smoothing)
    conflict = irreducible_conflict(pm.model)
    if conflict is None:
        return []
    loc = Locator(pi)
    caps = {id(row.row): f"cap {row.cap.cap.name} ({row.label}, {loc.cap(row.cap, row.sense)})" for row in pm.cap_rows}
    sites = {id(sm.block): sm for sm in pm.every_site}

    def limit_named(component) -> str | None:  # None: physics, or a bound that is not a user's limit
        family = component.parent_component()
        sm = sites.get(id(family.parent_block()))
        limit = sm.limits.get(family.local_name) if sm is not None else pm.limits.get(id(family))
        if limit is None:
            return None
        index = component.index()
        words, path = limit(*(index if isinstance(index, tuple) else () if index is None else (index,)))
        where = loc.input(sm.si if sm is not None else None, path) if path is not None else None
        name = f"{sm.name}: {words}" if sm is not None else words
        return f"{name} at {where.file}:{where.line}" if where is not None and where.line else name

    rows = [caps.get(id(row)) or limit_named(row) for row in conflict.rows]
    physics = rows.count(None)
    named = Counter(name for name in rows + [limit_named(var) for var, side in conflict.bounds
                                             if side != "lower" and var.ub is not None] if name is not None)
    if not named:
        return []
    parts = [name + (f" (×{n})" if n > 1 else "") for name, n in named.most_common()]
    return ["these limits cannot hold together (HiGHS: irreducible infeasible subset of the LP relaxation): "
            + "; ".join(parts) + (f", tied by {counted(physics, 'row')} of the power balance and equipment physics"
                                  if physics else "")]


def explain_infeasible(pi: ProgramInput, smoothing: dict | None = None) -> list[str]:
    """Sentences a reviewer can act on: arithmetic and time checks first (cheap and exact), else
    the alternatives the elastic solves find; then the conflicting set HiGHS isolates. ``smoothing``:
    the plan's results for its sites' training jobs, whose draw and battery the models carry as the
    plan's did (without them, a cap the smoothing's energy breaks went unexplained)."""
    lines = timeline_checks(pi) or arithmetic_checks(pi, smoothing)
    if not lines:
        lines = elastic_checks(pi, smoothing)
    lines += conflict_summary(pi, smoothing)
    return lines or ["the limits conflict in a way these checks do not isolate (the LP relaxation is "
                     "feasible: the conflict is in whole units); try relaxing max_units or the target"]
