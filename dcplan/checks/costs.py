"""Checks of the plan's costs at today's prices: each annual cost line (single-period plans), or
each order's capital (build-outs); a drift beyond the tolerance is a warning naming its inputs."""

from __future__ import annotations

from dcplan.checks.report import PASS, SKIPPED, WARNING
from dcplan.checks.verification import Verification
from dcplan.formatting import quantity
from dcplan.loader import SiteInput
from dcplan.locate import Where
from dcplan.plans.types import gas_key

COST_TOLERANCE = 0.01  # a cost line that moved by more than 1 % is reported


def check_costs(v: Verification, lines_by_site: dict[str, dict]) -> None:
    """Warn where an annual cost line moved beyond the tolerance under current prices."""
    if v.timeline is not None:
        _order_prices(v)
        return
    for name, lines in lines_by_site.items():
        s = v.states[name]
        check, before = f"costs {name}", len(v.report.findings)
        if any(f.check.endswith(f" {name}") for f in v.dispatch_issues):
            # today's limits hold the committed dispatch back (a lower grid limit caps the metered
            # peak): its cost lines move with the dispatch, not with their prices
            v.add(check, SKIPPED, "cost lines not compared with today's prices: the committed dispatch "
                  "breaks today's limits (see the dispatch findings)")
            continue
        planned = s.entry.costs_usd_per_year
        built = {c.type for c in s.si.site.technologies.gas if s.entry.capacity.get(gas_key(c.key, "units"), 0) > 0}
        for component in sorted(set(lines) | set(planned)):
            now, inputs = lines.get(component, (0.0, []))
            then = planned.get(component, 0.0)
            if abs(now - then) <= max(COST_TOLERANCE * abs(then), 1.0):
                continue
            inputs = [ref for ref in inputs if ref[:2] != ("catalog", "generators") or ref[2] in built]  # of units run
            where, sources = _cost_inputs(v, s.si, inputs)
            change = f"{(now - then) / then:+.1%}" if then else "new"
            v.add(check, WARNING, f"{component}: the plan says ${then:,.0f}/yr, the current inputs give "
                  f"${now:,.0f}/yr ({change})" + (f"; inputs: {sources}" if sources else ""), where)
        if len(v.report.findings) == before:
            total = sum(usd for usd, _ in lines.values())
            v.add(check, PASS, f"every annual cost line within {COST_TOLERANCE:.0%} of the current prices "
                  f"(${total:,.0f}/yr)")


def _order_prices(v: Verification) -> None:
    """A build-out's order capital against today's prices (its operating costs are escalated
    per period and not recomputed)."""
    check, before, priced = "costs", len(v.report.findings), 0
    prices = v.evaluations[-1].prices if v.evaluations[-1] is not None else {}
    for order in v.timeline.orders:
        si = v.sites.get(order.site)
        found = prices.get(order.site, {}).get(order.asset)
        if found is None:  # an asset no longer offered is a lead-time finding
            continue
        priced += 1
        now, then = order.quantity * found[0], order.capex_usd
        if abs(now - then) <= max(COST_TOLERANCE * abs(then), 1.0):
            continue
        where, sources = _cost_inputs(v, si, found[1])
        change = f"{(now - then) / then:+.1%}" if then else "new"
        v.add(check, WARNING, f"{quantity(order.quantity)} {order.unit} of {order.label} at {order.site} ordered "
              f"{order.order_date}: the plan says ${then:,.0f}, today's prices give ${now:,.0f} ({change})"
              + (f"; inputs: {sources}" if sources else ""), where)
    if len(v.report.findings) == before:
        v.add(check, PASS, f"{priced} orders' capital within {COST_TOLERANCE:.0%} of today's prices "
              "(operating costs, escalated per period, are not recomputed)")


def _cost_inputs(v: Verification, si: SiteInput, inputs: list[tuple]) -> tuple[Where | None, str]:
    """The first input of a cost line that lives in the user's files (where a change is most
    likely), else the first; and each input with its value's source."""
    wheres, parts = [], []
    for ref in inputs:
        if ref[0] == "catalog":
            _, section, key, name = ref
            entry = getattr(si.catalog, section)[key]
            where = v.loc.catalog(si, section, key, name)
            parts.append(f"{section}.{key}.{name} = {getattr(entry, name):g} "
                         f"(source: {entry.sources.get(name, 'none given')})")
        elif ref[0] == "site":
            where = v.loc.site(si, *ref[1:])
            parts.append(where.key)
        elif v.pi.doc is not None and ref[1:] in v.pi.doc.lines:  # a program setting, when written
            where = v.loc.program(*ref[1:])
            parts.append(where.key)
        else:
            continue
        wheres.append(where)
    mine = {si.doc.name} | ({v.pi.doc.name} if v.pi.doc else set())
    chosen = next((w for w in wheres if w.file in mine), wheres[0] if wheres else None)
    return chosen, "; ".join(parts)
