"""Grid import: capped by the connection, priced by the hour, with a monthly demand charge on
each month's peak import and hourly CO2 intensity."""

from __future__ import annotations

import numpy as np
import pyomo.core as pyo

from dcplan.errors import InputError
from dcplan.formulas import grid_connected, grid_limit_during, grid_limit_key, lead_time_months
from dcplan.model.context import Asset, SiteModel, value_of
from dcplan.model.rows import Rows, Term, row_family, weighted_sum
from dcplan.model.timegrid import hourly_grid
from dcplan.plans.types import SitePlan
from dcplan.series import SeriesError


def add_grid(sm: SiteModel, start, end=None) -> None:
    """Import up to the connection's firm limit in the period (``b.grid_limit_mw``), plus what the
    plan's grid upgrades add once in service (to a connection that is there: nothing before its
    date), and outside the curtailed hours up to a flexible offer's limit if the plan accepts it
    (``b.flex_on``): the larger of the offer and the firm limit with the upgrades."""
    grid = sm.si.site.grid
    if grid is None:
        return
    b = sm.block
    firm = grid_limit_during(grid, start, end or start)
    connected = grid_connected(grid, start)
    b.grid_limit_mw = firm
    added, added_most = _add_upgrades(sm, grid.upgrades)
    added, added_most = (added, added_most) if connected else (0.0, 0.0)
    extra, curtailed = _flexible_room(sm, grid, firm, start)
    b.grid_most_mw = firm + added_most + extra
    b.grid_import = pyo.Var(sm.steps, bounds=(0, b.grid_most_mw))
    firm_key = ("site", *grid_limit_key(grid, start, end))
    import_limit = ("grid import limit", firm_key)
    sm.limit(b.grid_import, lambda t: import_limit)
    imports = [b.grid_import[t] for t in sm.steps]
    sm.supply.append(b.grid_import)
    sm.most_mw["grid"] = lambda: _most_mw(sm, firm + value_of(added), value_of(b.flex_room_mw) if extra else 0.0)
    if extra:  # the offer's room beyond the firm limit and the upgrades, while accepted
        b.flex_room_mw = pyo.Var(bounds=(0, extra))
        b.flex_room_accepted = pyo.Constraint(expr=b.flex_room_mw <= extra * b.flex_on)
        if added_most:  # room <= max(0, offer - firm - upgrades): none once the upgrades reach the offer
            b.flex_upgraded_past = pyo.Var(domain=pyo.Binary)
            b.flex_room_beyond = pyo.Constraint(expr=b.flex_room_mw <= extra - added + added_most * b.flex_upgraded_past)
            b.flex_room_none = pyo.Constraint(expr=b.flex_room_mw <= extra * (1 - b.flex_upgraded_past))
            b.flex_upgrades_reach = pyo.Constraint(expr=added >= extra * b.flex_upgraded_past)
    if added_most or extra:
        steps = list(sm.steps)
        terms = [Term(imports), Term(added, -1.0)]
        if extra:  # the flexible room, outside the curtailed hours
            terms.append(Term(b.flex_room_mw, -np.array([0.0 if t in curtailed else 1.0 for t in steps])))
        b.grid_within_limit = row_family(sm.steps, rows=[Rows(steps, terms, upper=firm)])
        sm.explain(b.grid_within_limit, lambda t: (
            "grid import (MW) above the connection's limit" + (" in a curtailed hour" if t in curtailed else ""),
            ("site", "grid", "flexible", "curtailment") if t in curtailed else firm_key))
        sm.limit(b.grid_within_limit, lambda t: import_limit)
    sm.add_dispatch("grid_mw", at=lambda t: b.grid_import[t])
    # the price the period pays: a build-out's escalation included, as in its grid_energy cost
    sm.add_dispatch("price_usd_per_mwh", derive=lambda: sm.tg.sample(sm.si.price_usd_per_mwh) * sm.grid_price_factor)
    sm.add_dispatch("grid_co2_t_per_mwh", derive=lambda: sm.tg.sample(sm.si.grid_co2_t_per_mwh))
    price, co2, w = sm.series(sm.si.price_usd_per_mwh * sm.grid_price_factor), sm.series(sm.si.grid_co2_t_per_mwh), sm.weights()
    sm.add_cost("grid_energy", weighted_sum(np.multiply(w, price), imports),
                ("site", "grid", "energy_price_usd_per_mwh"))
    sm.co2_t.append(weighted_sum(np.multiply(w, co2), imports))
    if grid.demand_charge_usd_per_kw_month > 0:
        add_monthly_peaks(sm)
        # a year's worth of charges: a grid of one quarter's months stands for the year
        sm.add_cost("grid_demand", sum(b.grid_peak_mw[m] for m in b.M) * 1000
                    * grid.demand_charge_usd_per_kw_month * 12 / len(b.M), ("site", "grid", "demand_charge_usd_per_kw_month"))


def _most_mw(sm: SiteModel, firm_mw: float, room_mw: float):
    """The most the site imports in each hour of the year: the firm limit with the upgrades, and a
    flexible offer's room outside its curtailed hours (chosen over the whole year)."""
    if not room_mw:
        return firm_mw
    flex = sm.si.site.grid.flexible
    year = hourly_grid(2001)  # the hours of a year; the series do not depend on the calendar
    curtailed = chosen_steps(year, sm.si, flex.curtailment, ("grid", "flexible", "curtailment", "flags"))
    most = np.full(len(year.hour_of_year), firm_mw + room_mw)
    most[curtailed] = firm_mw
    return most


def add_monthly_peaks(sm: SiteModel) -> None:
    """``grid_peak_mw[m]``: the peak import of each month the time grid represents (once)."""
    b = sm.block
    if b.component("grid_peak_mw") is not None:
        return
    months = sm.tg.months()
    b.M = pyo.Set(initialize=months, ordered=True)
    b.grid_peak_mw = pyo.Var(b.M, bounds=(0, b.grid_most_mw))
    pairs = [(m, int(t)) for m in months for t in sm.tg.month_steps[m]]
    b.grid_peak_def = row_family(pairs, rows=[Rows(pairs, [Term([b.grid_import[t] for _, t in pairs]),
                                                          Term([b.grid_peak_mw[m] for m, _ in pairs], -1.0)], upper=0.0)])


def _add_upgrades(sm: SiteModel, upgrades) -> tuple[object, float]:
    """Each upgrade's units in service (``b.grid_upgrade_units``), an asset ordered with its lead
    time; return the MW they add (expression) and the most they can add."""
    if not upgrades:
        return 0.0, 0.0
    b, cat = sm.block, sm.si.catalog
    names = [u.name for u in upgrades]
    b.grid_upgrade_units = pyo.Var(names, domain=pyo.NonNegativeIntegers,
                                   bounds=lambda m, n: (0, next(u.max_units for u in upgrades if u.name == n)))
    for i, u in enumerate(upgrades):
        spec = cat.grid_equipment[u.equipment] if u.equipment else None
        price = u.capex_usd if u.capex_usd is not None else spec.capex_usd
        if price is None:
            raise InputError([sm.si.doc.problem(("grid", "upgrades", i), f"no price for upgrade {u.name}: the "
                                                f"catalog's {u.equipment} has none; give capex_usd")])
        sm.add_asset(Asset(
            key=f"grid_upgrade:{u.name}", label=f"grid upgrade {u.name} (+{u.adds_mw:g} MW)", unit="units",
            in_use=b.grid_upgrade_units[u.name], capex_usd_per_unit=price,
            life_years=sm.life("grid_equipment", u.name, u.lifetime_years),
            crf=sm.crf("grid_equipment", u.name, u.lifetime_years),
            lead_time_months=lead_time_months(u.lead_time_months, spec.lead_time_months if spec else 0.0),
            component="grid_upgrade", integer=True,
            price_inputs=(("site", "grid", "upgrades", i, "capex_usd") if u.capex_usd is not None
                          else ("catalog", "grid_equipment", u.equipment, "capex_usd"),)))
    return (sum(u.adds_mw * b.grid_upgrade_units[u.name] for u in upgrades),
            sum(u.adds_mw * u.max_units for u in upgrades))


def _flexible_room(sm: SiteModel, grid, firm: float, start) -> tuple[float, set[int]]:
    """A flexible connection's MW beyond the firm limit in this period (0 when it is not offered
    for the whole period), with ``b.flex_on`` (accepted, at its yearly fee), and the curtailed
    steps, in which import stays within the firm limit."""
    flex = grid.flexible
    if flex is None:
        return 0.0, set()
    offered_from = flex.available_from or grid.available_from or start
    extra = max(0.0, flex.max_import_mw - firm) if offered_from <= start else 0.0
    if extra <= 0:
        return 0.0, set()
    b = sm.block
    b.flex_on = pyo.Var(domain=pyo.Binary)
    if flex.fee_usd_per_year > 0:
        sm.add_cost("grid_flexible_fee", flex.fee_usd_per_year * b.flex_on, ("site", "grid", "flexible", "fee_usd_per_year"))
    return extra, set(chosen_steps(sm.tg, sm.si, flex.curtailment, ("grid", "flexible", "curtailment", "flags")))


def chosen_steps(tg, si, hours, where: tuple, doc=None) -> list[int]:
    """The steps of time grid ``tg`` in a set of hours (a cap's emergency hours, a connection's
    curtailed ones): flagged hours from a CSV (``where``: its key in ``doc``, the file that names
    it, by default the site's), or the site's dearest hours by price until their weight reaches
    the yearly count."""
    if hours.flags is not None:
        try:
            flags = si.hour_flags(hours.flags, where, doc)
        except SeriesError as err:
            raise InputError([err.problem]) from None
        return [int(i) for i in np.flatnonzero(tg.sample(flags) > 0.5)]
    price = tg.sample(si.price_usd_per_mwh) if si.price_usd_per_mwh is not None else np.zeros(tg.n)
    order = np.argsort(-price, kind="stable")
    before = np.cumsum(np.r_[0.0, tg.weight[order]])[:-1]  # the weight chosen ahead of each step
    return sorted(order[before < hours.hours_per_year].tolist())


def report(sm: SiteModel, plan: SitePlan) -> None:
    """The connection's limit (with the upgrades in service), the flexible room accepted, the
    peak import, the energy bought and the hours at the limit."""
    if sm.si.site.grid is None:
        return
    b, w, grid = sm.block, sm.tg.weight, plan.dispatch["grid_mw"]
    limit = b.grid_limit_mw
    for u in sm.si.site.grid.upgrades:
        units = round(value_of(b.grid_upgrade_units[u.name]))
        plan.capacity[f"grid_upgrade_{u.name}_units"] = units
        limit += u.adds_mw * units
    plan.capacity["grid_limit_mw"] = limit
    missed = sm.typical_days_miss(sm.si.price_usd_per_mwh, "grid price", "$/MWh") \
        if sm.si.price_usd_per_mwh is not None else None
    if missed:
        plan.binding.append(missed)
    in_force, room = np.full(len(grid), limit), 0.0  # each step's limit: a flexible connection's room outside its curtailed hours
    if b.component("flex_on") is not None:
        room = value_of(b.flex_room_mw) if value_of(b.flex_on) > 0.5 else 0.0
        plan.capacity["grid_flexible_mw"] = room
        if room > 1e-6:
            curtailment = sm.si.site.grid.flexible.curtailment
            steps = chosen_steps(sm.tg, sm.si, curtailment, ("grid", "flexible", "curtailment", "flags"))
            in_force += room
            in_force[steps] = limit
            hours = float(np.sum(w[steps]))
            # typical days curtail a whole step's weight (the dearest until the count is reached)
            asked = curtailment.hours_per_year
            note = f" for the {asked:,} h asked: a typical day's hour stands for its whole weight" \
                if asked is not None and abs(hours - asked) > 0.5 else ""
            plan.binding.append(f"flexible connection accepted: {room:,.6g} MW more outside its curtailed hours "
                                f"({hours:,.0f} h/yr on the plan's time grid{note})")
    plan.capacity["grid_peak_import_mw"] = float(grid.max(initial=0))
    plan.energy_mwh["grid"] = float(np.sum(w * grid))
    at_limit = int(np.sum(w * (in_force > 0) * (grid >= in_force - 1e-4)))
    if at_limit:
        outside = f" ({limit + room:,.6g} MW outside the curtailed hours)" if room > 1e-6 else ""
        plan.binding.append(f"grid import at its {limit:g} MW limit{outside} for {at_limit:,} h/yr")


def commit(sm: SiteModel, built: SitePlan) -> None:
    """The upgrades in service and the flexible connection accepted, as the committed plan has them."""
    b = sm.block
    for u in (sm.si.site.grid.upgrades if sm.si.site.grid else []):
        b.grid_upgrade_units[u.name].fix(built.capacity.get(f"grid_upgrade_{u.name}_units", 0), skip_validation=True)
    if b.component("flex_on") is not None:
        room = built.capacity.get("grid_flexible_mw", 0.0)
        b.flex_on.fix(1 if room > 0 else 0, skip_validation=True)
        b.flex_room_mw.fix(room, skip_validation=True)
