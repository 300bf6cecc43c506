"""A solved build-out read back as a timeline: what to order, where and when, when it comes
online, what is rented and for how long, and per period the compute, capacity, energy and
money. Everything here is read from the solved model; nothing is re-derived by hand."""

from __future__ import annotations

from dcplan.model.buildout import BuildoutModel, Period, months_between
from dcplan.model.compute import compute_delivered
from dcplan.model.context import value_of
from dcplan.plans.types import Bridge, OrderLine, PeriodLine, SitePlan, Timeline
from dcplan.series import HOURS_PER_YEAR

RENT_COMPONENTS = ("gas_rental", "cooling_rental", "cloud_rental")


def _quantity(asset, units: float) -> tuple[float, str]:
    return units * asset.size, asset.reported_unit or asset.unit


def extract_timeline(bm: BuildoutModel, program, sites_by_period: list[list[SitePlan]]) -> Timeline:
    periods = bm.periods
    orders = []
    for o in bm.orders:
        units = value_of(o.var)
        if units <= 1e-6:
            continue
        qty, unit = _quantity(o.asset, round(units) if o.asset.integer else units)
        retire = o.retire_date if o.retire_date <= periods[-1].end else None
        orders.append(OrderLine(o.site, o.asset.key, o.asset.label, qty, unit, o.period.name,
                                o.period.start.isoformat(), o.online.name, o.online_date.isoformat(),
                                retire.isoformat() if retire else None, units * o.asset.capex_usd_per_unit,
                                o.latest_order_date.isoformat(),
                                months_between(o.period.start, o.latest_order_date)))
    orders.sort(key=lambda x: (x.order_date, x.site, x.asset))
    lines = [_period_line(p, bm, sites_by_period[p.index]) for p in periods]
    gpu_hours = sum(bm.discount[p.index] * (lines[p.index].gpus + lines[p.index].cloud_gpus) * p.years * HOURS_PER_YEAR
                    for p in periods)
    npv = value_of(bm.npv)
    return Timeline(program.buildout.period, program.horizon.start.isoformat(), lines, orders,
                    _bridges(bm), npv, value_of(bm.salvage), npv / gpu_hours if gpu_hours else None, sites_by_period,
                    _asset_table(bm))


def _asset_table(bm: BuildoutModel) -> dict[str, dict[tuple, list]]:
    """Per period and (site, asset, unit): [ordered, usable (what the site has and the orders
    delivered), rented, capex ordered]."""
    table: dict[str, dict[tuple, list]] = {p.name: {} for p in bm.periods}

    def row(period: Period, site: str, asset) -> list:
        return table[period.name].setdefault((site, asset.key, _quantity(asset, 1)[1]), [0.0, 0.0, 0.0, 0.0])

    for p in bm.periods:
        for sm in bm.sites[p.index]:
            for asset in sm.assets:
                row(p, sm.name, asset)[2] = _quantity(asset, value_of(asset.in_use))[0] if asset.rented else 0.0
                row(p, sm.name, asset)[1] += _quantity(asset, value_of(asset.existing))[0]  # counted from day one
    for o in bm.orders:
        units = value_of(o.var)
        qty = _quantity(o.asset, units)[0]
        row(o.period, o.site, o.asset)[0] += qty
        row(o.period, o.site, o.asset)[3] += units * o.asset.capex_usd_per_unit
        for p in bm.periods:
            if o.usable_in(p):
                row(p, o.site, o.asset)[1] += qty
    return table


def _period_line(p: Period, bm: BuildoutModel, plans: list[SitePlan]) -> PeriodLine:
    target = bm.targets[p.index]
    measure = target.measure if target is not None else "gpus"
    compute = sum(value_of(compute_delivered(sm, measure)) for sm in bm.sites[p.index])
    capacity, energy, rent, operating = {}, {}, 0.0, 0.0
    for sm, plan in zip(bm.sites[p.index], plans):
        capacity[plan.name] = _capacity(sm, plan)
        for source, mwh in plan.energy_mwh.items():
            group = _energy_group(sm, source)
            if group:
                energy[group] = energy.get(group, 0.0) + mwh * p.years
        for component, value in plan.costs_usd.items():
            if component in RENT_COMPONENTS:
                rent += value * p.years
            elif component in sm.costs:
                operating += value * p.years
    return PeriodLine(
        p.name, p.start.isoformat(), p.end.isoformat(), target.amount if target is not None else None, compute,
        {plan.name: dict(sorted(plan.gpus.items())) for plan in plans}, capacity,
        {"capital": value_of(bm.capital_cash[p.index]), "operating": operating, "rental": rent},
        dict(sorted(energy.items())), sum(plan.co2_t for plan in plans) * p.years,
        {plan.name: dict(sorted(plan.cloud_gpus.items())) for plan in plans if plan.cloud_gpus},
        _gpus_in_stock(p, bm), bm.sites[p.index][0].tg.n, bm.sites[p.index][0].tg.peak_days)


def _gpus_in_stock(p: Period, bm: BuildoutModel) -> dict[str, dict[str, int]]:
    """Per site and GPU model, GPUs delivered by ``p`` (and not yet retired) that do not run in
    it: bought ahead of their power or cooling, within a supplier's allocation per period."""
    stock: dict[str, dict[str, int]] = {}
    for sm in bm.sites[p.index]:
        for asset in sm.assets:
            if not asset.key.startswith("gpus:"):
                continue
            delivered = sum(value_of(o.var) for o in bm.orders
                            if o.site == sm.name and o.asset.key == asset.key and o.usable_in(p))
            idle = round(delivered - value_of(asset.in_use))
            if idle > 0:
                stock.setdefault(sm.name, {})[asset.key.split(":", 1)[1]] = int(idle * asset.size)
    return stock


def _capacity(sm, plan: SitePlan) -> dict[str, float]:
    cap = plan.capacity
    out = {"grid_mw": cap.get("grid_limit_mw", 0.0), "gas_mw": 0.0, "rented_gas_mw": 0.0}
    for c in sm.si.site.technologies.gas:
        out["rented_gas_mw" if c.rental else "gas_mw"] += cap[f"gas_{c.key}_mw"]
    if "grid_flexible_mw" in cap:
        out["grid_flexible_mw"] = cap["grid_flexible_mw"]
    out.update(solar_mw=cap.get("solar_mw", 0.0), wind_mw=cap.get("wind_mw", 0.0),
               battery_mw=cap.get("battery_mw", 0.0), battery_mwh=cap.get("battery_mwh", 0.0),
               it_mw=plan.it_mw, cooling=plan.cooling)
    return out


def _energy_group(sm, source: str) -> str | None:
    """Sources of supply as the timeline groups them (battery flows and shedding left out)."""
    if source.startswith("gas_"):
        rented = {c.key for c in sm.si.site.technologies.gas if c.rental}
        return "rented_gas" if source[4:] in rented else "gas"
    return source if source in ("grid", "solar", "wind") else None


def _bridges(bm: BuildoutModel) -> list[Bridge]:
    out = []
    for s, first in enumerate(bm.sites[0]):
        for a, asset in enumerate(first.assets):
            if not asset.rented:
                continue
            used = [value_of(bm.sites[p.index][s].assets[a].in_use) for p in bm.periods]
            span: list[Period] = []
            for p, units in zip([*bm.periods, None], [*used, 0.0]):
                if p is not None and units > 1e-6:
                    span.append(p)
                    continue
                if span:
                    most = max(used[q.index] for q in span)
                    qty, unit = _quantity(asset, most)
                    cost = sum(used[q.index] * asset.rental_usd_per_unit_year * q.years for q in span)
                    out.append(Bridge(first.name, asset.key, asset.label, qty, unit, span[0].name,
                                      span[0].start.isoformat(), span[-1].name, span[-1].end.isoformat(), cost))
                    span = []
    return out
