"""Checks of a build-out's timeline: orders and rentals against today's lead times, the dated
targets (with an earliest goal) in every period, GPU allocations, its money figures, capital per
calendar year."""

from __future__ import annotations

import datetime as dt

from dcplan.checks.figures import FIGURE_TOLERANCE, apart
from dcplan.checks.report import PASS, VIOLATION
from dcplan.checks.verification import Verification
from dcplan.formatting import counted, month_span, quantity
from dcplan.formulas import capital_payments, discount_factor
from dcplan.loader import SiteInput
from dcplan.model.build import site_compute
from dcplan.model.buildout import add_months, periods_of
from dcplan.model.compute import gpu_measure
from dcplan.schema.compute import MEASURE_UNITS
from dcplan.series import HOURS_PER_YEAR
from dcplan.studies.earliest import with_goal_at


def check_lead_times(v: Verification) -> None:
    """Every order online no sooner than today's lead time after it is placed; every rental
    started no sooner than its own lead time after the build-out begins."""
    check, before = "lead times", len(v.report.findings)
    for i, order in enumerate(v.timeline.orders):
        found = _offered(v, check, order, "orders", i)
        if found is None:
            continue
        months, where = found
        ready = add_months(order.order_date, months)
        if order.online_date < ready:
            v.add(check, VIOLATION, f"{quantity(order.quantity)} {order.unit} of {order.label} at {order.site} "
                  f"ordered {order.order_date} are planned online {order.online_date}, but the lead time is now "
                  f"{month_span(months)}: not before {ready} ({(ready - order.online_date).days} days late)", where)
    for i, bridge in enumerate(v.timeline.bridges):
        found = _offered(v, check, bridge, "bridges", i)
        if found is None:
            continue
        months, where = found
        ready = add_months(v.timeline.base_date, months)
        if bridge.start_date < ready:
            v.add(check, VIOLATION, f"{bridge.label} at {bridge.site} is rented from {bridge.start_date}, but "
                  f"renting now takes {month_span(months)}: not before {ready}", where)
    if len(v.report.findings) == before:
        v.add(check, PASS, f"{len(v.timeline.orders)} orders and {len(v.timeline.bridges)} rentals "
              "respect the current lead times")


def _offered(v: Verification, check: str, item, section: str, i: int):
    """An order's or a rental's lead time and where it is set (:meth:`Locator.lead_time`); None,
    with a violation, where its site no longer offers the asset."""
    si = v.sites.get(item.site)
    found = v.loc.lead_time(si, item.asset) if si else None
    if found is None:
        verb = "orders" if section == "orders" else "rents"
        v.add(check, VIOLATION, f"the plan {verb} {item.label} ({item.asset}) at {item.site}, which the site no "
              "longer offers", v.c.where(("timeline", section, i, "asset")))
    return found


def check_period_targets(v: Verification) -> None:
    """The compute online in every period meets the target in force then (with an earliest goal,
    from the period the plan found)."""
    program, check, before = v.pi.program, "dated targets", len(v.report.findings)
    own = [(t, ("buildout", "targets", i, "date")) for i, t in enumerate(program.buildout.targets
                                                                         if program.buildout else [])]
    targets = _earliest_targets(v, own) if program.buildout and program.buildout.earliest else own
    for p in v.timeline.periods:
        due = [(t, path) for t, path in targets if t.date <= p.end]
        if program.compute.target is not None:
            target, where = program.compute.target, v.loc.program("compute", "target",
                                                                  program.compute.target.measure)
        elif due:
            target, where = due[-1][0], v.loc.program(*due[-1][1])
        else:
            continue
        online = 0.0
        for site, gpus in [*p.gpus_online.items(), *p.cloud_gpus_online.items()]:
            si = v.sites.get(site)
            if si is None:
                continue
            online += sum(n * _measure(si, g, target.measure) for g, n in gpus.items())
        if online < target.amount * (1 - 1e-9) - 1e-6:
            v.add(check, VIOLATION, f"{p.name}: {online:,.0f} {MEASURE_UNITS[target.measure]} online but "
                  f"{target.amount:,.0f} are due by {getattr(target, 'date', p.start)}", where)
    if len(v.report.findings) == before:
        v.add(check, PASS, f"every period meets the target in force ({len(v.timeline.periods)} periods)")


def _earliest_targets(v: Verification, own: list[tuple]) -> list[tuple]:
    """The ramp (``own``: targets with their input paths) with the program's earliest goal due
    from the period the plan says it found (dcplan.studies.earliest); a plan that says none, or names a
    period the program does not have, is a violation (and only the program's own ramp is checked)."""
    bo, found = v.pi.program.buildout, v.plan.earliest
    goal_path = ("buildout", "earliest", bo.earliest.measure)
    period = next((p for p in periods_of(v.pi.program) if found and p.name == found.period), None)
    if period is None:
        said = f"says {found.period!r}" if found and found.period else "names no period"
        v.add("dated targets", VIOLATION, f"the program asks for the earliest period of "
              f"{getattr(bo.earliest, bo.earliest.measure):,.0f} {MEASURE_UNITS[bo.earliest.measure]}, but the plan "
              f"{said} (re-plan it)", v.loc.program(*goal_path))
        return own
    mine = {t.date: (t.amount, path) for t, path in own}  # a target the goal did not raise keeps its line
    return [(t, mine[t.date][1] if t.date in mine and mine[t.date][0] == t.amount else goal_path)
            for t in with_goal_at(v.pi, period).program.buildout.targets]


def check_allocations(v: Verification) -> None:
    """GPUs ordered per period within each supplier allocation (max_new_gpus_per_period)."""
    check, before = "GPU allocations", len(v.report.findings)
    limited = 0
    for name, si in v.sites.items():
        for opt in site_compute(si, v.pi).gpus:
            if opt.max_new_gpus_per_period is None:
                continue
            limited += 1
            ordered: dict[dt.date, float] = {}
            for o in v.timeline.orders:
                if o.site == name and o.asset == f"gpus:{opt.model}":
                    ordered[o.order_date] = ordered.get(o.order_date, 0.0) + o.quantity
            for day, n in sorted(ordered.items()):
                if n > opt.max_new_gpus_per_period + 1e-6:
                    v.add(check, VIOLATION, f"{quantity(n)} {opt.model} ordered at {name} on {day}, above the "
                          f"allocation of {opt.max_new_gpus_per_period:,} a period",
                          v.loc.gpu_option(si, opt.model, "max_new_gpus_per_period"))
    if limited and len(v.report.findings) == before:
        v.add(check, PASS, f"GPU orders within {counted(limited, 'allocation')} in every period")


def capital_paid(v: Verification) -> dict[str, float]:
    """Capital paid in each period by the plan's orders, as the model pays it: the share
    ``capital_at_order_fraction`` when ordered, the rest when online (not the period figures the
    file states, which an edit can change)."""
    at_order = v.pi.program.buildout.capital_at_order_fraction
    period_at = {p.start: p.name for p in v.timeline.periods}
    paid = {p.name: 0.0 for p in v.timeline.periods}
    for order in v.timeline.orders:
        for day, amount in capital_payments(order.capex_usd, at_order, order.order_date, order.online_date):
            if day in period_at:  # (an order off the periods' starts is the lead-time check's)
                paid[period_at[day]] += amount
    return paid


def check_timeline_money(v: Verification) -> None:
    """The money figures of the timeline add up: each period's capital is what its orders pay
    then, the totals are the periods' sums, the net present cost is the capital discounted when
    paid plus each period's running spend discounted at its middle less the salvage credit, and
    the cost per GPU-hour is that over the discounted GPU-hours (an edited net present cost,
    capital or salvage had passed, and an edited period's capital had hidden a breach of the
    capital budget; an audit)."""
    check, before, t = "timeline money", len(v.report.findings), v.timeline
    program = v.pi.program
    rate, base, at_order = program.finance.discount_rate, program.horizon.start, program.buildout.capital_at_order_fraction
    paid = capital_paid(v)
    for i, p in enumerate(t.periods):
        stated = p.spend_usd.get("capital", 0.0)
        if apart(stated, paid[p.name]):
            v.add(check, VIOLATION, f"{p.name}'s capital is ${quantity(stated)} but the orders pay ${quantity(paid[p.name])} "
                  "then: the file was edited: re-plan", v.c.where(("timeline", "periods", i, "spend_usd", "capital")))
    for key, part in (("capital_usd", "capital"), ("operating_usd", "operating"), ("rental_usd", "rental")):
        stated, summed = t.totals.get(key), sum(p.spend_usd.get(part, 0.0) for p in t.periods)
        if stated is not None and apart(stated, summed):
            v.add(check, VIOLATION, f"timeline.totals.{key} is ${quantity(stated)} but the periods' {part} adds up to "
                  f"${quantity(summed)}: the file was edited: re-plan", v.c.where(("timeline", "totals", key)))
    lengths = {p.name: p.years for p in periods_of(program)}
    npv, salvage = t.totals.get("npv_cost_usd"), t.totals.get("salvage_credit_usd") or 0.0
    if npv is not None and all(p.name in lengths for p in t.periods):
        middle = [discount_factor(rate, base, p.start, lengths[p.name] / 2) for p in t.periods]
        capital = sum(amount * discount_factor(rate, base, day) for o in t.orders
                      for day, amount in capital_payments(o.capex_usd, at_order, o.order_date, o.online_date))
        running = sum(d * (p.spend_usd.get("operating", 0.0) + p.spend_usd.get("rental", 0.0))
                      for d, p in zip(middle, t.periods))
        if apart(npv, capital + running - salvage):
            v.add(check, VIOLATION, f"timeline.totals.npv_cost_usd is ${quantity(npv)} but the orders, the periods' "
                  f"spend and the ${quantity(salvage)} salvage credit make ${quantity(capital + running - salvage)}: "
                  "the file was edited: re-plan", v.c.where(("timeline", "totals", "npv_cost_usd")))
        hours = sum(d * lengths[p.name] * HOURS_PER_YEAR * sum(n for site in (p.gpus_online, p.cloud_gpus_online)
                                                              for models in site.values() for n in models.values())
                    for d, p in zip(middle, t.periods))
        per_hour = t.totals.get("cost_per_gpu_hour_usd")
        if per_hour is not None and hours > 0 and abs(per_hour - npv / hours) > FIGURE_TOLERANCE * npv / hours:
            v.add(check, VIOLATION, f"timeline.totals.cost_per_gpu_hour_usd is ${per_hour:,.4f} but its net present "
                  f"cost over its discounted GPU-hours is ${npv / hours:,.4f}: the file was edited: re-plan",
                  v.c.where(("timeline", "totals", "cost_per_gpu_hour_usd")))
    if len(v.report.findings) == before:
        v.add(check, PASS, "each period's capital is its orders', and the totals and the net present cost add up")


def check_capital_per_year(v: Verification) -> None:
    """Capital paid per calendar year within buildout.max_capital_usd_per_year, as the orders pay it."""
    limit = v.pi.program.buildout.max_capital_usd_per_year
    if limit is None:
        return
    check, paid = "capital per year", {}
    by_period = capital_paid(v)
    for p in v.timeline.periods:
        paid[p.start.year] = paid.get(p.start.year, 0.0) + by_period[p.name]
    over = [(year, usd) for year, usd in sorted(paid.items()) if usd > limit * (1 + 1e-9) + 1e-3]
    for year, usd in over:
        v.add(check, VIOLATION, f"the plan pays ${quantity(usd)} of capital in {year}, above the limit of "
              f"${quantity(limit)} a year", v.loc.program("buildout", "max_capital_usd_per_year"))
    if not over:
        v.add(check, PASS, f"capital within ${quantity(limit)} in every year (most: ${quantity(max(paid.values()))})")


def _measure(si: SiteInput, model: str, measure: str) -> float:
    spec = si.catalog.gpus.get(model)
    return gpu_measure(spec, measure) if spec is not None else 0.0
