"""A staged build-out: the horizon cut into quarters or years, the same site blocks dispatched in
every period, and the build decisions tied together through time.

For each site asset (GPUs, cooling plant, gas units, solar, wind, battery power and energy) the
model decides how much to order at the start of each period. An order is usable from the first
period that starts at or after its order date plus its lead time, and until its life ends;
what is in use in a period equals what is usable then (cooling plant may stand spare). A rented
asset has no orders: from its lead time after the plan starts, each period rents what it needs.

Money is a discounted cash flow to the horizon's start: an order's capital is paid at order
(or split with its delivery), operating costs (each period's yearly rate times its length) at
the middle of their period, and the undepreciated value of what remains at the horizon's end
is credited back (straight line; optional). Each period is dispatched on a time grid of its own
months, so a quarter sees its own weather and prices.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import time
from dataclasses import dataclass

import pyomo.core as pyo

from dcplan.collector import paused_collector
from dcplan.formulas import (
    DAYS_PER_YEAR,
    capital_payments,
    discount_factor,
    undepreciated_share,
    years_between,
)
from dcplan.loader import ProgramInput
from dcplan.model.build import PlanModel, add_caps_and_costs, add_site_blocks, time_grid_for
from dcplan.model.caps import ADDS_UP, ELASTIC_USD, CapBuilder
from dcplan.model.compute import compute_delivered
from dcplan.model.context import Asset, Limit, SiteModel


@dataclass(frozen=True)
class Period:
    index: int
    name: str  # 2027-Q1, or 2027
    start: dt.date
    end: dt.date  # inclusive
    years: float  # length as a fraction of a year (0.25 or 1)
    months: tuple[int, ...]  # calendar months (0-11) it covers


def periods_of(program) -> list[Period]:
    length = 3 if program.buildout.period == "quarter" else 12
    start, out = program.horizon.start, []
    for i in range(program.horizon.years * 12 // length):
        first = add_months(start, i * length)
        after = add_months(first, length)
        name = f"{first.year}-Q{(first.month - 1) // 3 + 1}" if length == 3 else str(first.year)
        out.append(Period(i, name, first, after - dt.timedelta(days=1), length / 12,
                          tuple(sorted((first.month - 1 + k) % 12 for k in range(length)))))
    return out


def add_months(day: dt.date, months: float) -> dt.date:
    """Calendar months (a fraction counts as that share of an average month)."""
    whole = int(months)
    y, m = divmod(day.month - 1 + whole, 12)
    year, month = day.year + y, m + 1
    shifted = dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
    return shifted + dt.timedelta(days=round((months - whole) * DAYS_PER_YEAR / 12))


def latest_start(by: dt.date, months: float) -> dt.date:
    """The last day from which ``months`` (``add_months``) end on or before ``by``: the latest an
    order with that lead time may be placed. Going back the months is not the inverse where a
    fraction of a month is counted in days (29.5 months back from 2028-07-01 is 2026-01-17, and
    forward from there 2028-07-02: a day too late; an audit)."""
    day = add_months(by, -months)
    while add_months(day, months) > by:
        day -= dt.timedelta(days=1)
    while add_months(day + dt.timedelta(days=1), months) <= by:
        day += dt.timedelta(days=1)
    return day


def months_between(a: dt.date, b: dt.date) -> float:
    """Calendar months from ``a`` to ``b`` (``add_months`` undone: 2026-01-01 to 2026-07-01 is 6,
    where 181 days over an average month read 5.9), the part month in average months."""
    whole = (b.year - a.year) * 12 + b.month - a.month
    if add_months(a, whole) > b:
        whole -= 1
    return whole + (b - add_months(a, whole)).days / (DAYS_PER_YEAR / 12)


@dataclass
class Order:
    """One possible order of one asset at one site in one period."""

    site: str
    asset: Asset
    period: Period
    var: object
    online: Period  # the first period it can be used
    online_date: dt.date  # that period's start
    retire_date: dt.date  # end of life: the first day it can no longer be used
    latest_order_date: dt.date  # placed later than this, it misses ``online``

    def usable_in(self, p: Period) -> bool:
        """Delivered by the period's start and not retired before its end (a whole period)."""
        return self.online.index <= p.index and p.end < self.retire_date


@dataclass
class BuildoutModel:
    periods: list[Period]
    sites: list[list[SiteModel]]  # [period][site]
    orders: list[Order]
    rented: dict[tuple[str, str], dt.date]  # (site, asset key) of a rented asset -> first day it can be used
    targets: list[object]  # the compute target in force in each period (or None)
    discount: list[float]  # discount factor at the middle of each period
    capital_cash: list[object]  # nominal capital paid in each period (expression)
    salvage: object  # discounted credit for undepreciated assets at the horizon's end (expression)
    npv: object  # the objective: discounted cost of the program


def target_in_force(program, period: Period):
    """The latest dated target on or before the period's last day; a program-wide target applies
    from the start."""
    if program.compute.target is not None:
        return program.compute.target
    due = [t for t in program.buildout.targets if t.date <= period.end]
    return due[-1] if due else None


@paused_collector()
def build_buildout_model(pi: ProgramInput, typical_days: int | None = None,
                         smoothing: dict | None = None, elastic: bool = False) -> PlanModel:
    started = time.perf_counter()
    program, bo = pi.program, pi.program.buildout
    periods = periods_of(program)
    base = program.horizon.start
    rate = program.finance.discount_rate
    m = pyo.ConcreteModel(name=program.name)
    m.period = pyo.Block([p.index for p in periods])
    grids, sites_by_period, cap_rows, targets, violation = {}, [], [], [], 0
    limits: dict[int, Limit] = {}  # the program's rows that are limits (see PlanModel.limits)
    days = typical_days if typical_days is not None else program.time.typical_days
    for p in periods:
        if p.months not in grids:  # one grid per season: quarters of later years reuse it
            grids[p.months] = time_grid_for(pi, days, p.months)
        pb = m.period[p.index]
        middle = years_between(base, p.start) + p.years / 2  # years from the horizon's start
        calendar_year = (p.start + dt.timedelta(days=p.years * DAYS_PER_YEAR / 2)).year
        factors = {f"{kind}_price_factor": bo.escalation.factor(f"{kind}_price" if kind == "gas" else
                                                                 "grid_energy_price", middle, calendar_year)
                   for kind in ("gas", "grid")}
        sites = add_site_blocks(pb, pi, grids[p.months], smoothing, p.start, p.end, period=p, **factors)
        caps = [dataclasses.replace(rc, in_force=rc.cap.in_force_during(p.start, p.end)) for rc in pi.caps
                if not over_horizon(rc)]
        builder = add_caps_and_costs(pb, pi, sites, caps, elastic)
        limits.update(builder.limits)
        violation = violation + builder.penalty
        for row in builder.rows:
            row.label = f"{p.name} {row.label}"
        cap_rows += builder.rows
        target = target_in_force(program, p)
        targets.append(target)
        if target is not None:
            pb.target = pyo.Constraint(expr=sum(compute_delivered(sm, target.measure) for sm in sites)
                                       >= target.amount)
            words = f"target of {target.amount:,.0f} {target.measure} by {p.name}"
            limits[id(pb.target)] = lambda words=words, date=getattr(target, "date", None): (
                words, ("dated_target", date))
        sites_by_period.append(sites)

    horizon_caps = CapBuilder(m, sites_by_period[-1], program.horizon.years, elastic)
    for rc in pi.caps:
        if over_horizon(rc) and rc.in_force:
            horizon_caps.add_over_periods(rc, [(p.years, {sm.name: sm for sm in sites_by_period[p.index]})
                                               for p in periods])
    cap_rows += horizon_caps.rows
    violation = violation + horizon_caps.penalty
    discount = [discount_factor(rate, base, p.start, p.years / 2) for p in periods]
    orders, rented, linked = _link_assets(m, periods, sites_by_period, base, pi.delay_months)
    capital_cash, npv_capital = _capital(periods, orders, bo.capital_at_order_fraction, base, rate)
    horizon_end = periods[-1].end + dt.timedelta(days=1)
    salvage = 0
    if bo.salvage == "straight_line":
        left = [(o, undepreciated_share(o.online_date, o.retire_date, horizon_end)) for o in orders]
        salvage = sum(o.var * o.asset.capex_usd_per_unit * share for o, share in left if share > 0)
        salvage = salvage * discount_factor(rate, base, horizon_end)
    m.capital_cash = pyo.Expression([p.index for p in periods], rule=lambda _, i: capital_cash[i])
    if bo.max_capital_usd_per_year is not None:
        years = sorted({p.start.year for p in periods})
        m.capital_budget = pyo.Constraint(years, rule=lambda mm, y: sum(
            mm.capital_cash[p.index] for p in periods if p.start.year == y) <= bo.max_capital_usd_per_year)
        limits[id(m.capital_budget)] = lambda y: ("yearly capital limit", ("program", "buildout", "max_capital_usd_per_year"))
    operating = sum(discount[p.index] * p.years * sum(sm.block.operating_cost for sm in sites_by_period[p.index])
                    for p in periods)
    m.salvage = pyo.Expression(expr=salvage)
    m.npv = pyo.Expression(expr=npv_capital + operating - m.salvage)
    m.objective = pyo.Objective(expr=m.npv + ELASTIC_USD * violation, sense=pyo.minimize)
    last = sites_by_period[-1]
    measure = targets[-1].measure if targets[-1] is not None else "gpus"
    m.total_cost = pyo.Expression(expr=sum(sm.block.cost for sm in last))
    m.compute_delivered = pyo.Expression(expr=sum(compute_delivered(sm, measure) for sm in last))
    bm = BuildoutModel(periods, sites_by_period, orders, rented, targets, discount,
                       [m.capital_cash[p.index] for p in periods], m.salvage, m.npv)
    limits[id(m.link)] = lambda i: (f"{linked[i][0]}: lead time of {linked[i][1].key.replace(':', ' ')} (in use only "
                                    "once ordered and delivered)", ("site_named", linked[i][0], "lead_time", linked[i][1].key))
    return PlanModel(m, pi, last[0].tg, last, time.perf_counter() - started, cap_rows, bm, limits)


def over_horizon(rc) -> bool:
    """A cap on the total over the horizon of a quantity that adds up (not a per-period cap)."""
    return rc.cap.period == "horizon" and rc.cap.quantity in ADDS_UP


def _link_assets(m, periods, sites_by_period, base, delay_months: dict):
    """Order variables, and in each period: in use == (or <=, for spare capacity) usable orders.
    ``delay_months``: (site, asset key) -> months its deliveries come after its lead time. Returns
    the orders, the rentals' dates and each link row's site and asset."""
    orders: list[Order] = []
    rented: dict[tuple[str, str], dt.date] = {}
    linked: dict[int, tuple[str, Asset]] = {}  # each link row's site and asset, by its index
    m.link = pyo.ConstraintList()
    m.orders = pyo.VarList(domain=pyo.NonNegativeReals)
    for s, first in enumerate(sites_by_period[0]):
        for a, asset in enumerate(first.assets):
            in_use = [sites_by_period[p.index][s].assets[a].in_use for p in periods]
            lead = asset.lead_time_months + delay_months.get((first.name, asset.key), 0.0)
            if asset.rented:
                ready = add_months(base, lead)
                rented[(first.name, asset.key)] = ready
                for p, var in zip(periods, in_use):
                    if p.start < ready:
                        var.setub(0)
                continue
            placed = [o for o in (_order(m, first.name, asset, lead, q, periods) for q in periods) if o]
            orders += placed
            for p, var in zip(periods, in_use):
                usable = sum(o.var for o in placed if o.usable_in(p))
                row = m.link.add(var <= usable if asset.spare_allowed else var == usable)
                linked[row.index()] = (first.name, asset)
    return orders, rented, linked


def _order(m, site: str, asset: Asset, lead_months: float, q: Period, periods: list[Period]) -> Order | None:
    """The order variable of ``asset`` placed at the start of ``q`` and delivered ``lead_months``
    later; None if it would arrive after the horizon."""
    online = next((p for p in periods if p.start >= add_months(q.start, lead_months)), None)
    if online is None:
        return None
    var = m.orders.add()
    if asset.integer:
        var.domain = pyo.NonNegativeIntegers
    if asset.max_order_per_period is not None:
        var.setub(asset.max_order_per_period)
    elif asset.in_use.ub is not None:
        var.setub(asset.in_use.ub)
    return Order(site, asset, q, var, online, online.start, add_months(online.start, asset.life_years * 12),
                 latest_start(online.start, lead_months))


def _capital(periods, orders, at_order: float, base, rate):
    """Nominal capital paid in each period, and its discounted total."""
    cash = [0] * len(periods)
    npv = 0
    index = {p.start: p.index for p in periods}
    for o in orders:
        for day, paid in capital_payments(o.var * o.asset.capex_usd_per_unit, at_order, o.period.start, o.online.start):
            cash[index[day]] += paid
            npv += paid * discount_factor(rate, base, day)
    return cash, npv

