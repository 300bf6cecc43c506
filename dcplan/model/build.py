"""Assemble the Pyomo model of a program: one block per site, each built from the parts, tied
together by the compute target and the objective, for a program planned for one period. A
build-out (``dcplan.model.buildout``) builds the same site blocks once per period."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pyomo.core as pyo

import dcplan.model.training as training
from dcplan.collector import paused_collector
from dcplan.formulas import gpu_it_mw
from dcplan.loader import ProgramInput
from dcplan.model.caps import ELASTIC_USD, CapBuilder, CapRow, add_links
from dcplan.model.compute import add_compute, compute_delivered, gpu_measure
from dcplan.model.context import NEGLIGIBLE_MW, Limit, SiteModel
from dcplan.model.gas import add_gas
from dcplan.model.grid import add_grid
from dcplan.model.reliability import add_balance, add_n_plus_one
from dcplan.model.renewables import add_renewables
from dcplan.model.storage import add_storage
from dcplan.model.timegrid import ALL_MONTHS, TimeGrid, hourly_grid, typical_days_grid


@dataclass
class PlanModel:
    model: pyo.ConcreteModel
    program: ProgramInput
    tg: TimeGrid  # of the sites below
    sites: list[SiteModel]  # a build-out's last period
    build_seconds: float
    cap_rows: list[CapRow]
    buildout: object = None  # dcplan.model.buildout.BuildoutModel of a staged build-out
    limits: dict[int, Limit] = field(default_factory=dict)  # the program's rows that are limits, by the row family's id

    @property
    def every_site(self) -> list[SiteModel]:
        """The site models of every period (a build-out's), or of the plan's one."""
        return [sm for period in self.buildout.sites for sm in period] if self.buildout else self.sites

    def negligible(self) -> dict[int, float]:
        """The amount below which each sized asset's variable (in use and, in a build-out, its
        orders) is no order, by the variable's id: :func:`dcplan.solver.solve`'s ``negligible``."""
        sized = [a.in_use for sm in self.every_site for a in sm.assets if a.sized]
        sized += [o.var for o in self.buildout.orders if o.asset.sized] if self.buildout else []
        return {id(var): NEGLIGIBLE_MW for var in sized}


def time_grid_for(pi: ProgramInput, typical_days: int | None, months: tuple[int, ...] = ALL_MONTHS,
                  keep_peak: bool = True) -> TimeGrid:
    """``keep_peak``: the day of each PUE's highest hour, and of each gas unit type's least output
    in the heat, is a day of its own where no medoid reaches it (see :func:`typical_days_grid`;
    plans before 2026-12-02 were made without)."""
    year = pi.program.horizon.start.year
    if not typical_days:
        return hourly_grid(year, months)
    features = []
    for si in pi.sites:
        features += [a for a in (si.price_usd_per_mwh, si.solar_cf, si.wind_cf, *si.pue.values()) if a is not None]
    peaks = ()
    if keep_peak:  # the design peak's hour, and the hour the heat takes most from a gas unit
        peaks = tuple(pue for si in pi.sites for pue in si.pue.values())
        peaks += tuple(1.0 - share for si in pi.sites for share in
                       (si.gas_output_fraction(t) for t in sorted({g.type for g in si.site.technologies.gas}))
                       if share.min() < 1.0)
    return typical_days_grid(features, typical_days, year, months=months, peaks=peaks)


def largest_target(program):
    """The most compute the program ever asks for (its target, or the top of its ramp)."""
    if program.compute.target is not None:
        return program.compute.target
    targets = program.buildout.targets if program.buildout else []
    return max(targets, key=lambda t: t.amount) if targets else None


def site_compute(si, pi: ProgramInput):
    """The compute options at one site: the program's, with the site's own GPU list, IT limit and
    power capping when a portfolio site declares them. Cloud GPUs belong to no site: the
    program's first site books them (once), from the program's list."""
    compute = pi.program.compute
    if compute.cloud and si.name != pi.sites[0].name:
        compute = compute.model_copy(update={"cloud": []})
    own = si.site.compute
    if own is not None and len(pi.sites) > 1:
        update = {"gpus": own.gpus}
        if own.max_it_mw is not None:
            update["max_it_mw"] = own.max_it_mw
        if "fixed_it_mw" in own.model_fields_set:
            update["fixed_it_mw"] = own.fixed_it_mw
        if own.power_capping is not None:
            update["power_capping"] = own.power_capping
        compute = compute.model_copy(update=update)
    return compute


def it_bound_mw(si, program, compute) -> float:
    """A valid upper bound on the site's IT load (the big-M of the cooling choice): what its
    supply could carry at its best PUE, and, when minimising cost against a target, what the
    most power-hungry allowed GPU would draw to meet the target alone."""
    tech = si.site.technologies
    grid = si.site.grid
    supply = 0.0
    if grid is not None:  # the most it may ever import: steps, a flexible offer, every upgrade
        supply = max([grid.max_import_mw, *(s.max_import_mw for s in grid.steps),
                      *([grid.flexible.max_import_mw] if grid.flexible else [])]) \
            + sum(u.adds_mw * u.max_units for u in grid.upgrades)
    for g in tech.gas:
        supply += (g.max_units + g.existing_units) * si.catalog.generators[g.type].unit_mw \
            * float(np.max(si.gas_output_fraction(g.type)))  # a derate curve may credit cold hours above 1
    for r in (tech.solar, tech.wind):
        supply += (r.max_mw + r.existing_mw) if r else 0.0
    if tech.battery is not None:
        supply += (tech.battery.max_power_mw or supply) + tech.battery.existing_power_mw
    bounds = [supply / (min(float(np.min(p)) for p in si.pue.values()) * compute.average_draw_fraction)]
    if si.site.reliability.unserved_energy_usd_per_mwh is not None:
        bounds = []
    target = largest_target(program)
    if program.objective.sense == "min_cost" and target is not None:
        need = 0.0
        for opt in compute.gpus:
            spec = si.catalog.gpus[opt.model]
            gpus = target.amount / gpu_measure(spec, target.measure) + opt.existing_gpus
            need = max(need, gpu_it_mw(gpus + spec.gpus_per_unit, spec, compute.provisioning_utilisation))
        bounds.append(need + compute.fixed_it_mw
                      + sum(gpu_it_mw(o.existing_gpus, si.catalog.gpus[o.model], 1.0) for o in compute.gpus))
    if compute.max_it_mw is not None:
        bounds.append(compute.max_it_mw)
    return min(bounds) if bounds else 1e6


def add_site(sm: SiteModel, pi: ProgramInput, start, end=None) -> None:
    """All the parts of one site's block, dispatched over ``start``..``end`` (grid limits)."""
    si, program = sm.si, pi.program
    compute = site_compute(si, pi)
    add_compute(sm, compute, it_bound_mw(si, program, compute))
    add_grid(sm, start, end)
    add_gas(sm)
    add_renewables(sm)
    add_storage(sm)
    add_balance(sm)
    add_n_plus_one(sm)
    training.add_cost(sm)
    carbon = program.finance.carbon_price_usd_per_t
    if carbon > 0 and sm.co2_t:
        sm.add_cost("carbon", carbon * sum(sm.co2_t), ("program", "finance", "carbon_price_usd_per_t"))


def add_site_blocks(parent: pyo.Block, pi: ProgramInput, tg: TimeGrid, smoothing: dict | None,
                    start, end=None, **period) -> list[SiteModel]:
    """``parent.site[name]`` for every site; ``period``: SiteModel fields of a build-out period."""
    parent.site = pyo.Block([si.name for si in pi.sites])
    sites = []
    for si in pi.sites:
        blk = parent.site[si.name]
        blk.T = pyo.RangeSet(0, tg.n - 1)
        sm = SiteModel(si.name, si, tg, pi.program.finance, blk, smoothing=(smoothing or {}).get(si.name), **period)
        add_site(sm, pi, start, end)
        sites.append(sm)
    return sites


def add_caps_and_costs(parent: pyo.Block, pi: ProgramInput, sites: list[SiteModel], caps,
                       elastic: bool = False) -> CapBuilder:
    """Caps and links over ``sites``, then each site's ``cost`` (after caps: a major-source permit
    adds a cost; a budget cap needs every other cost)."""
    builder = CapBuilder(parent, sites, pi.program.horizon.years, elastic)
    for rc in caps:
        builder.add(rc)
    builder.limits = add_links(parent, sites, pi.program.links)
    for sm in sites:
        sm.block.operating_cost = pyo.Expression(expr=sum(sm.costs.values()))
        sm.block.cost = pyo.Expression(expr=sm.block.operating_cost + sum(sm.capital.values()))
    builder.finish()
    return builder


@paused_collector()
def build_single_period(pi: ProgramInput, typical_days: int | None = None, smoothing: dict | None = None,
                        elastic: bool = False, time_grid: TimeGrid | None = None, dates=None) -> PlanModel:
    """The model of a program planned for one period; see :func:`dcplan.model.build_model`.
    ``time_grid`` and ``dates`` (first and last day: the grid limits in force) replace the
    program's, to evaluate a committed plan's dispatch on the grid and period it was made for."""
    start = time.perf_counter()
    program = pi.program
    tg = time_grid or time_grid_for(pi, typical_days if typical_days is not None else program.time.typical_days)
    m = pyo.ConcreteModel(name=program.name)
    first, last = dates or (program.horizon.start, None)
    sites = add_site_blocks(m, pi, tg, smoothing, first, last)
    caps = add_caps_and_costs(m, pi, sites, pi.caps, elastic)

    m.total_cost = pyo.Expression(expr=sum(sm.block.cost for sm in sites))
    target = program.compute.target
    measure = target.measure if target else "gpus"
    m.compute_delivered = pyo.Expression(expr=sum(compute_delivered(sm, measure) for sm in sites))
    limits = dict(caps.limits)
    if target is not None:
        m.target = pyo.Constraint(expr=m.compute_delivered >= target.amount)
        limits[id(m.target)] = lambda: ("compute target", ("program", "compute", "target"))
    violation = ELASTIC_USD * caps.penalty
    if program.objective.sense == "max_compute":
        m.budget = pyo.Constraint(expr=m.total_cost <= program.objective.budget_usd_per_year)
        limits[id(m.budget)] = lambda: ("budget", ("program", "objective", "budget_usd_per_year"))
        m.objective = pyo.Objective(expr=-m.compute_delivered + violation, sense=pyo.minimize)
    else:
        m.objective = pyo.Objective(expr=m.total_cost + violation, sense=pyo.minimize)
    return PlanModel(m, pi, tg, sites, time.perf_counter() - start, caps.rows, limits=limits)
