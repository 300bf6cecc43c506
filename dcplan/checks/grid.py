"""Checks of the committed grid import against the limit in force on every planned date, with
the plan's upgrades and flexible offer; a finding names the grid key that took the import away."""

from __future__ import annotations

import numpy as np

from dcplan.checks.report import PASS
from dcplan.checks.verification import TOL_MW, Verification, over
from dcplan.formulas import grid_import_limit_mw, grid_limit_key
from dcplan.loader import SiteInput


def _slices(v: Verification, name: str):
    """(label, first day, last day, the grid limit the plan had then, dispatch rows) of each
    period the plan dispatches."""
    d = v.c.dispatch[name]
    if v.timeline is None:
        start = v.pi.program.horizon.start
        yield "", start, start, v.plan.sites[name].capacity.get("grid_limit_mw"), d
        return
    for p in v.timeline.periods:
        rows = d["period"] == p.name
        planned = p.capacity_online.get(name, {}).get("grid_mw")
        yield f" in {p.name}", p.start, p.end, planned, {k: col[rows] for k, col in d.items()}


def check_grid_schedule(v: Verification) -> None:
    """Each site's grid import within the limit in force in each period the plan dispatches."""
    for name in v.states:
        si = v.sites[name]
        check, before = f"grid schedule {name}", len(v.dispatch_issues)
        for label, start, end, planned, d in _slices(v, name):
            used = float(d.get("grid_mw", np.zeros(1)).max(initial=0.0))
            grid = si.site.grid
            if grid is None:
                if used > TOL_MW:
                    v.issue(check, f"the plan imports up to {used:,.1f} MW{label} but the site no longer has "
                            "a grid connection", v.loc.site(si, "grid"))
                continue
            limit = _grid_allows(v, si, name, start, end)
            if over(used, limit):
                where, moved = _grid_culprit(v, si, used, start, planned)
                when = f"on {start}" if start == end else f"from {start} to {end}"
                hint = f"; the step to {moved.max_import_mw:,.0f} MW now comes on {moved.date}" if moved else ""
                v.issue(check, f"grid import reaches {used:,.1f} MW{label} but the grid allows {limit:,.1f} MW "
                        f"{when}{hint}", where)
        if len(v.dispatch_issues) == before and si.site.grid is not None:
            v.add(check, PASS, "grid import within the limit in force on every planned date")


def _grid_allows(v: Verification, si: SiteInput, name: str, start, end) -> float:
    """The most the grid allows in any hour from ``start`` to ``end`` with the plan's upgrades
    (at today's MW each) and flexible offer (the curtailed hours are the model's rows,
    checked with the rest of the dispatch)."""
    grid = si.site.grid
    if v.timeline is None:
        units = {u.name: v.plan.sites[name].capacity.get(f"grid_upgrade_{u.name}_units", 0.0) for u in grid.upgrades}
    else:
        period = next(p for p in v.timeline.periods if p.start == start)
        units = {u.name: v.owned_in_use(name, f"grid_upgrade:{u.name}", period) for u in grid.upgrades}
    return grid_import_limit_mw(grid, start, end, units, _flexible_accepted(v, name, start))


def _flexible_accepted(v: Verification, name: str, start) -> bool:
    if v.timeline is None:
        return v.plan.sites[name].capacity.get("grid_flexible_mw", 0.0) > 0
    period = next((p for p in v.timeline.periods if p.start == start), None)
    return period is not None and (period.capacity_online.get(name, {}).get("grid_flexible_mw") or 0.0) > 0


def _grid_culprit(v: Verification, si: SiteInput, used: float, start, planned: float | None):
    """The grid key that took the import away, and the step that moved later if that is it:
    a connection date now after the period, a step whose limit the plan had (``planned``)
    that now comes later, or else the limit in force."""
    grid = si.site.grid
    in_force = grid_limit_key(grid, start)
    for j, st in enumerate(grid.steps if in_force[-1] != "available_from" else ()):
        if st.date > start and planned is not None and abs(st.max_import_mw - planned) <= TOL_MW \
                and st.max_import_mw >= used - TOL_MW:
            return v.loc.site(si, "grid", "steps", j, "date"), st
    return v.loc.site(si, *in_force), None
