"""Caps as constraints: one builder per quantity, each adding the rows that bound it over a
group of sites. Every cap gets one row of its own (``<= max`` or ``>= min``) so that its value,
slack and shadow price can be read back; per-hour quantities go through an envelope variable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyomo.core as pyo
from pyomo.contrib.fbbt.fbbt import compute_bounds_on_expr

from dcplan.model.context import Limit, SiteModel, value_of
from dcplan.model.grid import add_monthly_peaks, chosen_steps
from dcplan.rules import ResolvedCap
from dcplan.schema.catalog import H100_TPP

ADDS_UP = ("nox_t", "co2_t", "water_m3")  # quantities whose period: horizon caps sum over time
ELASTIC_USD = 1e10  # objective cost of violating a cap by its whole limit, in an elastic model


@dataclass
class CapRow:
    """One applied limit: a cap over one group of sites, in one direction."""

    cap: ResolvedCap
    label: str
    sense: str  # "max" or "min"
    limit: float
    value: object  # Pyomo expression, or a tagged tuple (see measured), giving the value reached
    row: object  # the constraint whose dual is the shadow price
    sensitivity: object = 1.0  # change of the row's bound per unit of the limit (number or expression)
    extras: dict = field(default_factory=dict)

    def measured(self) -> float | None:
        """The value the cap's quantity reaches in the model's current values (a solved plan, or a
        committed one assigned to it): the same definition the row limits."""
        value = self.value
        if not isinstance(value, tuple):
            return value_of(value)
        kind = value[0]
        if kind == "share":
            whole = value_of(value[2])
            return value_of(value[1]) / whole if abs(whole) > 1e-12 else None
        if kind == "hours":
            capacity = value[2] * value_of(value[3])
            return value_of(value[1]) / capacity if capacity > 1e-12 else 0.0
        if kind == "matched":  # share of the load met hour by hour: sum of w * min(load, clean) / whole
            whole = value_of(value[2])
            matched = sum(w * min(value_of(load), value_of(clean)) for w, load, clean in value[1])
            return matched / whole if abs(whole) > 1e-12 else None
        if kind == "max_of":
            return max((value_of(x) for x in value[1]), default=0.0)
        if kind == "min_of":
            return min(value_of(x) for x in value[1]) / value[2]
        raise ValueError(kind)


def _tpp(sm: SiteModel):
    b, cat = sm.block, sm.si.catalog
    return sum(b.gpus[g] * cat.gpus[g].tpp for g in b.G)


def _h100e(sm: SiteModel):
    return _tpp(sm) / H100_TPP


def _gpus(sm: SiteModel):
    b = sm.block
    return sum(b.gpus[g] for g in b.G)


def _facility_energy(sm: SiteModel):
    return sm.load.weighted_sum(sm.tg.weight)


def _renewable(sm: SiteModel, t):
    return sum(gen[t] for gen in sm.renewable)


class CapBuilder:
    """Adds the rows of every cap in force to the model; keeps what is needed to report them.

    ``elastic``: every row may be violated through a slack variable; ``penalty`` sums the slacks,
    each relative to the size of its limit, so that explaining an infeasible plan can ask for
    the least relaxation of the caps (dcplan.diagnose).
    """

    def __init__(self, model: pyo.ConcreteModel, sites: list[SiteModel], years: int, elastic: bool = False):
        self.m, self.sites, self.years = model, {sm.name: sm for sm in sites}, years
        self.elastic, self.penalty = elastic, 0
        if elastic:
            self.m.cap_slack = pyo.VarList(bounds=(0, None))
        self.m.cap_rows = pyo.ConstraintList()
        self.m.cap_aux = pyo.VarList(bounds=(0, None))
        self.m.cap_bin = pyo.VarList(domain=pyo.Binary)
        self.m.cap_link = pyo.ConstraintList()
        self.rows: list[CapRow] = []
        self.limits: dict[int, Limit] = {}  # of the links between sites (see add_links)
        self.deferred: list[ResolvedCap] = []
        self.hourly_columns = 0  # the hourly-share caps' dispatch columns made, which names the next

    def add(self, rc: ResolvedCap) -> None:
        """Add a cap's rows; budget caps wait for :meth:`finish` (other caps may add costs)."""
        if not rc.in_force:
            return
        if rc.cap.quantity == "cost_usd":
            self.deferred.append(rc)
            return
        self._apply(rc)

    def finish(self) -> None:
        for rc in self.deferred:
            self._apply(rc)

    def _apply(self, rc: ResolvedCap) -> None:
        for label, names in rc.groups:
            group = [self.sites[n] for n in names]
            getattr(self, f"_{rc.cap.quantity}")(rc, label, group)

    # -- helpers ------------------------------------------------------------------------

    def _row(self, lhs, sense: str, rhs, size: float):
        """``lhs <= rhs`` (max) or ``lhs >= rhs`` (min); elastic by a slack counted per ``size``."""
        if self.elastic:
            slack = self.m.cap_slack.add()
            self.penalty = self.penalty + slack * (1 / max(size, 1e-9))
            rhs = rhs + slack if sense == "max" else rhs - slack
        return self.m.cap_rows.add(lhs <= rhs if sense == "max" else lhs >= rhs)

    def _limit(self, rc: ResolvedCap, label: str, expr, scale: float = 1.0, value=None, extras=None):
        """Rows expr <= max*scale and/or expr >= min*scale (scale: what the row's bound moves per
        unit of the limit, e.g. the denominator of a share)."""
        cap = rc.cap
        for sense, bound in (("max", cap.max), ("min", cap.min)):
            if bound is None:
                continue
            row = self._row(expr, sense, bound * scale, abs(bound * scale) if bound else 1.0)
            self.rows.append(CapRow(rc, label, sense, bound, value if value is not None else expr * (1 / scale),
                                    row, scale, extras or {}))

    def _aux(self):
        return self.m.cap_aux.add()

    def _link(self, expr):
        self.m.cap_link.add(expr)

    def _period_scale(self, rc: ResolvedCap) -> float:
        return float(self.years) if rc.cap.period == "horizon" else 1.0

    # -- quantities ---------------------------------------------------------------------

    @staticmethod
    def _unit(group, per_gpu) -> float:
        """The largest step one purchase unit (server or rack) makes in a GPU quantity: a cap
        with less slack than this cannot take another unit, so it binds."""
        return max(sm.si.catalog.gpus[g].gpus_per_unit * per_gpu(sm.si.catalog.gpus[g])
                   for sm in group for g in sm.block.G)

    def _gpus(self, rc, label, group):
        self._limit(rc, label, sum(_gpus(sm) for sm in group),
                    extras={"granularity": self._unit(group, lambda spec: 1.0)})

    def _gpus_h100e(self, rc, label, group):
        """H100-equivalents installed; with an exemption, a site's new order below the size
        does not count (a binary per site chooses whether its order is exempt)."""
        threshold = rc.cap.exempt_orders_below_h100e
        granularity = {"granularity": self._unit(group, lambda spec: spec.tpp / H100_TPP)}
        if threshold is None:
            self._limit(rc, label, sum(_h100e(sm) for sm in group), extras=granularity)
            return
        counted = 0
        for sm in group:
            b, cat = sm.block, sm.si.catalog
            per_unit = {g: cat.gpus[g].gpus_per_unit * cat.gpus[g].tpp / H100_TPP for g in b.G}
            new = sum(b.gpu_units[g] * per_unit[g] for g in b.G)
            most = sum(b.gpu_units[g].ub * per_unit[g] for g in b.G)
            small, large, exempt = self._aux(), self._aux(), self.m.cap_bin.add()
            self._link(new == small + large)
            self._link(small <= threshold * exempt)
            self._link(large <= most * (1 - exempt))
            counted = counted + (_h100e(sm) - new) + large
        self._limit(rc, label, counted, extras=granularity)

    def _compute_share(self, rc, label, group):
        total = sum(_tpp(sm) for sm in self.sites.values())
        self._share(rc, label, sum(_tpp(sm) for sm in group), total,
                    {"granularity_tpp": self._unit(group, lambda spec: spec.tpp), "total_tpp": total})

    def _annual(self, rc: ResolvedCap, group):
        """The yearly amount of a quantity that adds up over time (emissions, water)."""
        if rc.cap.quantity == "water_m3":  # L/kWh x MWh -> m3
            return sum(sm.si.wue(c) * sm.it_energy_mwh(c) for sm in group for c in sm.block.C)
        attr = rc.cap.quantity
        return sum(sum(getattr(sm, attr)) for sm in group if getattr(sm, attr))

    def add_over_periods(self, rc: ResolvedCap, periods: list[tuple[float, dict[str, SiteModel]]]) -> None:
        """A build-out's horizon cap on a quantity that adds up: the sum over the periods of each
        period's yearly amount times its length (``periods``: (years, sites by name))."""
        for label, names in rc.groups:
            total = sum(years * self._annual(rc, [sites[n] for n in names]) for years, sites in periods)
            self._limit(rc, label, total)

    def _emissions(self, rc, label, group):
        """Yearly (or, for period: horizon, yearly times the horizon's years) emissions or water;
        only emissions may have a major-source permit (the schema refuses it elsewhere)."""
        total = self._annual(rc, group) * self._period_scale(rc)
        ms = rc.cap.major_source
        if ms is None or rc.cap.max is None:
            self._limit(rc, label, total)
            return
        # becoming a major source lifts the cap at a yearly cost
        major = self.m.cap_bin.add()
        big = compute_bounds_on_expr(total)[1]  # the most the model's own variables can emit
        if big is None:
            raise ValueError(f"cap {rc.cap.name}: emissions without an upper bound")
        big += 1.0
        row = self._row(total, "max", rc.cap.max + big * major, max(rc.cap.max, 1.0))
        first = group[0]
        first.add_cost("major_source_permit", ms.cost_usd_per_year * major)
        self.rows.append(CapRow(rc, label, "max", rc.cap.max, total, row, 1.0, {"major_source": major}))

    _nox_t = _co2_t = _water_m3 = _emissions

    def _backup_engine_hours(self, rc, label, group):
        """Equivalent full-load hours of each backup unit type: energy <= hours x installed MW,
        each step's energy counted against what the units could give then (a unit derated to 0.8
        in the heat runs an hour at full output on 0.8 h of its rating's energy)."""
        for sm in group:
            b, w = sm.block, sm.weights()
            for c in sm.si.site.technologies.gas:
                if c.role != "backup":
                    continue
                unit = sm.si.catalog.generators[c.type].unit_mw
                share = sm.series(sm.si.gas_output_fraction(c.type))
                energy = sum(w[i] / share[i] * b.gas_gen[c.key, t] for i, t in enumerate(sm.steps))
                row = self._row(energy, "max", rc.cap.max * unit * b.gas_units[c.key],
                                rc.cap.max * unit * (c.max_units + c.existing_units))
                self.rows.append(CapRow(rc, f"{sm.name}:{c.type}", "max", rc.cap.max,
                                        ("hours", energy, unit, b.gas_units[c.key]), row,
                                        unit * b.gas_units[c.key]))

    def _pue(self, rc, label, group):
        for sm in group:  # an annual PUE is a per-site figure: facility energy / IT energy
            b, w = sm.block, sm.tg.weight
            facility = sum(float(np.sum(w * sm.tg.sample(sm.si.pue[c]))) * b.it_mw[c] for c in b.C)
            it = sum(float(np.sum(w)) * b.it_mw[c] for c in b.C)
            self._share(rc, sm.name if len(group) > 1 else label, facility, it)

    def _renewable_share(self, rc, label, group):
        w_ = {sm.name: sm.weights() for sm in group}
        renewable = sum(sum(w_[sm.name][t] * _renewable(sm, t) for t in sm.steps) for sm in group)
        load = sum(_facility_energy(sm) for sm in group)
        self._share(rc, label, renewable, load)

    def _hourly_cfe_share(self, rc, label, group):
        """Hour by hour, clean supply counts up to the load; ``matched`` need only reach the limit,
        so the reported value is recomputed from the dispatch (min of load and clean supply)."""
        matched_total, hours = 0, []
        for sm in group:
            w = sm.weights()
            # dispatch, indexed by the site's steps (is_operational): as anonymous cap columns they had
            # gone to the decomposition's master, a column an hour, whose cuts then took HiGHS a minute
            matched_of = pyo.Var(sm.steps, bounds=(0, None))
            self.hourly_columns += 1
            sm.block.add_component(f"cap_matched_{self.hourly_columns}", matched_of)
            for t in sm.steps:
                matched = matched_of[t]
                clean = _renewable(sm, t)
                if sm.storage is not None:
                    charge, discharge = sm.storage
                    clean = clean + discharge[t] - charge[t]
                    self._link(charge[t] <= _renewable(sm, t))  # storage counts only if charged clean
                self._link(matched <= sm.load[t])
                self._link(matched <= clean)
                matched_total = matched_total + w[t] * matched
                hours.append((w[t], sm.load[t], clean))
        whole = sum(_facility_energy(sm) for sm in group)
        self._share(rc, label, matched_total, whole, value=("matched", hours, whole))

    def _share(self, rc, label, part, whole, extras=None, value=None):
        """part / whole within the limits, kept linear as part - limit * whole (<= or >=) 0."""
        cap = rc.cap
        for sense, bound in (("max", cap.max), ("min", cap.min)):
            if bound is None:
                continue
            expr = part - bound * whole
            most = compute_bounds_on_expr(whole)[1] if self.elastic else None
            row = self._row(expr, sense, 0, 0.01 * most if most else 1.0)  # slack per 1 % of the most
            self.rows.append(CapRow(rc, label, sense, bound, value or ("share", part, whole), row, whole,
                                    extras or {}))

    def _hourly_envelope(self, rc, label, group, hours_of):
        """The most the scope imports in any of the chosen steps, through one envelope variable:
        its sites' imports added up step by step (each site's in its own chosen steps). Capped
        per site, a scope of two sites could import twice its limit."""
        chosen = {sm.name: set(hours_of(sm)) for sm in group if sm.si.site.grid is not None}
        if not chosen:
            return
        totals = [sum(sm.block.grid_import[t] for sm in group if t in chosen.get(sm.name, ()))
                  for t in sorted(set().union(*chosen.values()))]
        top = self._aux()
        for total in totals:
            self._link(total <= top)
        self._limit(rc, label, top, value=("max_of", totals))

    def _grid_import_mw(self, rc, label, group):
        self._hourly_envelope(rc, label, group, lambda sm: list(sm.steps))

    def _grid_emergency_import_mw(self, rc, label, group):
        self._hourly_envelope(rc, label, group, lambda sm: chosen_steps(sm.tg, sm.si, rc.cap.emergency, rc.flags_at, rc.doc))

    def _billed_demand_fraction(self, rc, label, group):
        """Each site's minimum take of its own connection's contract (a contract is per
        connection: a scope of several sites has a row for each)."""
        for sm in group:
            b, grid = sm.block, sm.si.site.grid
            if grid is None:
                continue
            contract = rc.cap.contract_mw if rc.cap.contract_mw is not None else b.grid_limit_mw
            add_monthly_peaks(sm)
            if contract <= 0:
                continue
            lowest = self._aux()
            for m in b.M:
                self._link(lowest <= b.grid_peak_mw[m])
            self._limit(rc, sm.name if len(group) > 1 else label, lowest * (1 / contract),
                        value=("min_of", [b.grid_peak_mw[m] for m in b.M], contract))

    def _land_acres(self, rc, label, group):
        self._limit(rc, label, rc.cap.building_acres * len(group) + sum(sum(sm.land_acres) for sm in group))

    def _cost_usd(self, rc, label, group):
        self._limit(rc, label, sum(sum(sm.costs.values()) for sm in group))

    def _onsite_dispatchable_share(self, rc, label, group):
        """The scope's on-site firm MW over its sites' firm grid limits together."""
        gridded = [sm for sm in group if sm.si.site.grid is not None and sm.block.grid_limit_mw > 0]
        if gridded:
            self._limit(rc, label, sum(sum(sm.firm_mw) for sm in gridded)
                        * (1 / sum(sm.block.grid_limit_mw for sm in gridded)))


def add_links(model: pyo.ConcreteModel, sites: list[SiteModel], links) -> dict[int, Limit]:
    """How compute may be split between sites: one site must hold a training cluster of at
    least N GPUs; no site may hold more than a share of the compute. Returns the rows' limits."""
    limits: dict[int, Limit] = {}
    if links.min_gpus_in_one_site is not None:
        n = links.min_gpus_in_one_site
        model.holds_cluster = pyo.Var([sm.name for sm in sites], domain=pyo.Binary)
        model.cluster_size = pyo.Constraint([sm.name for sm in sites], rule=lambda m, s: _gpus(
            next(x for x in sites if x.name == s)) >= n * m.holds_cluster[s])
        model.one_cluster = pyo.Constraint(expr=sum(model.holds_cluster[sm.name] for sm in sites) >= 1)
        cluster = ("links.min_gpus_in_one_site", ("program", "links", "min_gpus_in_one_site"))
        limits.update({id(model.cluster_size): lambda s: cluster, id(model.one_cluster): lambda: cluster})
    if links.max_compute_share_per_site is not None:
        share = links.max_compute_share_per_site
        total = sum(_tpp(sm) for sm in sites)
        model.site_share = pyo.Constraint([sm.name for sm in sites], rule=lambda m, s: _tpp(
            next(x for x in sites if x.name == s)) <= share * total)
        limits[id(model.site_share)] = lambda s: ("links.max_compute_share_per_site",
                                          ("program", "links", "max_compute_share_per_site"))
    return limits
