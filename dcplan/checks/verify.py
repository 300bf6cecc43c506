"""Verify a committed plan against the current inputs without re-optimising.

The plan's build (GPUs, cooling, gas units, solar, wind, battery) and its committed dispatch are
held against today's site, program and catalog files:

- the plan file itself: each site's GPUs are its new and existing ones, its cost lines add up
  to its total (:mod:`.figures`: what no other check recomputes, so an edited file fails);
- the build: allowed GPU models and their limits, the IT limit, liquid cooling, unit and MW
  limits, N+1, the compute target;
- every step of the dispatch: the facility load recomputed from the committed GPUs and the
  current PUE is met, and no source exceeds its current limit (grid schedule, units x unit size,
  capacity factor x MW, pipeline, battery power, energy and efficiency);
- every cap in force, and the links between sites;
- a build-out's orders and rentals against the current lead times, and its dated targets; its
  dispatch and caps are checked period by period against what the timeline has online then;
- costs: each annual cost line recomputed from current prices (a drift is a warning; a
  build-out's escalated costs are not recomputed).

When only the committed dispatch fails, the build may still fit: the current model is solved
with the build fixed (an LP, or a small MIP with unit commitment), and a feasible re-dispatch
turns those findings into warnings. Every finding names the input it is about.

This module prepares the plan's sites (:class:`~dcplan.checks.verification.Verification`) and runs
the checks, one module a family: :mod:`.figures`, :mod:`.build`, :mod:`.grid`, :mod:`.dispatch`, :mod:`.caps`,
:mod:`.costs`, :mod:`.timeline`.
"""

from __future__ import annotations

from dcplan.checks.build import check_site_build, check_target
from dcplan.checks.caps import check_caps, check_links
from dcplan.checks.costs import check_costs
from dcplan.checks.dispatch import check_dispatch
from dcplan.checks.evaluate import SMOOTHING_SHARES, Evaluation, evaluate_committed
from dcplan.checks.figures import check_built_figures, check_plan_figures
from dcplan.checks.grid import check_grid_schedule
from dcplan.checks.planfile import CommittedPlan
from dcplan.checks.report import PASS, VIOLATION, WARNING, FileReport, Finding
from dcplan.checks.solve import redispatch_committed
from dcplan.checks.state import SiteState
from dcplan.checks.timeline import (
    check_allocations,
    check_capital_per_year,
    check_lead_times,
    check_period_targets,
    check_timeline_money,
)
from dcplan.checks.verification import Verification
from dcplan.loader import ProgramInput
from dcplan.model.build import site_compute
from dcplan.model.buildout import periods_of
from dcplan.model.timegrid import ALL_MONTHS
from dcplan.plans.types import gas_key
from dcplan.solver import SolveOptions

PLAN_ONLY = ("smoothing", "major_source_permit")  # cost lines priced outside the model's rows


def verify_plan(pi: ProgramInput, committed: CommittedPlan, report: FileReport,
                redispatch: SolveOptions | None = None) -> None:
    """Add a finding for every check of ``committed`` against ``pi`` to ``report``.
    ``redispatch``: solver options for re-dispatching the committed build (None: never)."""
    v = Verification(pi, committed, report)
    if not _structure(v):
        return
    check_plan_figures(v)
    v.states = {name: _state(v, name, entry) for name, entry in v.plan.sites.items() if name in v.sites}
    # what each period of the plan runs: a build-out's earlier periods (their annual costs are
    # not in the plan, so cost caps are measured on the final one), then the final state
    v.slices = [(_period_states(v, p), {}) for p in v.timeline.periods[:-1]] if v.timeline else []
    v.slices.append((v.states, {}))
    v.evaluations = [_evaluate(v, states) for states, _ in v.slices]
    lines = _cost_lines(v, v.evaluations[-1])
    totals = {n: (sum(usd for usd, _ in lines[n].values()) if n in lines
                  else sum(s.entry.costs_usd_per_year.values())) for n, s in v.states.items()}
    v.slices[-1] = (v.states, totals)
    check_target(v, totals)
    for s in v.states.values():
        check_site_build(v, s)
    check_grid_schedule(v)
    check_dispatch(v)
    check_caps(v)
    check_links(v)
    check_costs(v, lines)
    if v.timeline is not None:
        check_lead_times(v)
        check_period_targets(v)
        check_allocations(v)
        check_timeline_money(v)
        check_capital_per_year(v)
    _settle_dispatch(v, redispatch)
    check_built_figures(v)  # last: none where the plan is violated already


def _settle_dispatch(v: Verification, options: SolveOptions | None) -> None:
    """Report dispatch issues: as violations, or as warnings when the committed build can
    still be dispatched under the current inputs."""
    issues = v.dispatch_issues
    if not issues:
        return
    build_fails = any(f.status == VIOLATION for f in v.report.findings)
    if options is None or build_fails or v.timeline is not None:
        v.report.findings += issues
        return
    result = redispatch_committed(v.pi, v.c.plan, options)
    if result.has_solution:
        note = ("; the committed build still fits: a re-dispatch under the current inputs meets every "
                "step (refresh dispatch.csv with `dcplan plan`)")
        v.report.findings += [Finding(f.check, WARNING, f.message + note, f.where, f.details) for f in issues]
        return
    v.report.findings += issues
    if result.status == "infeasible":
        v.add("re-dispatch", VIOLATION, "no dispatch of the committed build meets the current inputs "
              "(re-dispatch with the build fixed is infeasible): the plan must change", issues[0].where)
    else:
        v.add("re-dispatch", WARNING, f"re-dispatch of the committed build did not finish "
              f"({result.status}: {result.message}); the committed dispatch stands violated")


def _structure(v: Verification) -> bool:
    check, plan, program = "plan matches program", v.plan, v.pi.program
    ok = True
    if plan.program != v.pi.name:
        v.add(check, VIOLATION, f"plan.yaml is the plan of '{plan.program}', not of '{v.pi.name}': "
              "commit the plan of this program in its folder", v.c.where(("program",)))
        return False
    for name in plan.sites:
        if name not in v.sites:
            ok = False
            v.add(check, VIOLATION, f"the plan builds at site '{name}', which the program no longer lists",
                  v.loc.program("sites"))
    for name in v.sites:
        if name not in plan.sites:
            v.add(check, WARNING, f"site '{name}' has nothing in the committed plan (added since it was "
                  "made): re-plan to use it", v.loc.program("sites"))
    buildout = program.buildout
    if (v.timeline is None) != (buildout is None):
        ok = False
        what = "now plans a staged build-out" if buildout else "no longer plans a staged build-out"
        v.add(check, VIOLATION, f"the program {what} but the committed plan "
              f"{'is single-period' if buildout else 'has a timeline'}: re-plan",
              v.loc.program("buildout") if buildout else v.c.where(("timeline",)))
    elif v.timeline is not None:
        if v.timeline.base_date != program.horizon.start:
            ok = False
            v.add(check, VIOLATION, f"the build-out now starts on {program.horizon.start}, the plan on "
                  f"{v.timeline.base_date}: re-plan", v.loc.program("horizon", "start"))
        if v.timeline.period_length != buildout.period:
            ok = False
            v.add(check, VIOLATION, f"the build-out is now planned by {buildout.period}, the plan by "
                  f"{v.timeline.period_length}: re-plan", v.loc.program("buildout", "period"))
        elif len(v.timeline.periods) != len(periods_of(program)):
            ok = False
            v.add(check, VIOLATION, f"the horizon is now {program.horizon.years} years "
                  f"({len(periods_of(program))} periods), the plan covers {len(v.timeline.periods)}: "
                  "re-plan", v.loc.program("horizon", "years"))
    if ok:
        v.add(check, PASS, f"plan of '{plan.program}' with sites {', '.join(plan.sites)}")
    return ok


def _state(v: Verification, name: str, entry) -> SiteState:
    si, d = v.sites[name], v.c.dispatch[name]
    start, end = v.dates()
    if v.timeline is None:
        return SiteState(si, entry, d, site_compute(si, v.pi), start, end)
    last = v.timeline.periods[-1].name  # the final period: what `sites:` of plan.yaml describes
    d = {k: col[d["period"] == last] for k, col in d.items()}
    return SiteState(si, entry, d, site_compute(si, v.pi), start, end, last)


def _period_states(v: Verification, p) -> dict[str, SiteState]:
    """Each site as it stands in an earlier period of a build-out: the GPUs, capacity and
    cooling the timeline has online then, gas units from the orders in use and the rentals."""
    states = {}
    for name, entry in v.plan.sites.items():
        si = v.sites.get(name)
        if si is None:
            continue
        compute, online = site_compute(si, v.pi), p.capacity_online.get(name, {})
        existing = {o.model: o.existing_gpus for o in compute.gpus}
        gpus = {g: int(round(n)) for g, n in p.gpus_online.get(name, {}).items()}
        capacity = {"grid_limit_mw": online.get("grid_mw", 0.0),
                    **{k: online.get(k, 0.0) for k in ("solar_mw", "wind_mw", "battery_mw", "battery_mwh")},
                    **{k: entry.capacity[k] for k in SMOOTHING_SHARES if k in entry.capacity}}
        for cand in si.site.technologies.gas:
            new = _gas_in_use(v, name, cand, p)
            capacity[gas_key(cand.key, "new_units")], capacity[gas_key(cand.key, "units")] = new, new + cand.existing_units
        for u in si.site.grid.upgrades if si.site.grid else []:
            capacity[f"grid_upgrade_{u.name}_units"] = v.owned_in_use(name, f"grid_upgrade:{u.name}", p)
        if "grid_flexible_mw" in online:
            capacity["grid_flexible_mw"] = online["grid_flexible_mw"] or 0.0
        cooling = online.get("cooling")
        view = entry.model_copy(update={
            "cloud_gpus": p.cloud_gpus_online.get(name, {}),
            "gpus": gpus, "gpus_new": {g: max(0, n - existing.get(g, 0)) for g, n in gpus.items()},
            "cooling": cooling if isinstance(cooling, str) else entry.cooling,
            "it_mw": online.get("it_mw", entry.it_mw), "capacity": capacity})
        d = {k: col[v.c.dispatch[name]["period"] == p.name] for k, col in v.c.dispatch[name].items()}
        states[name] = SiteState(si, view, d, compute, p.start, p.end, p.name)
    return states


def _gas_in_use(v: Verification, site: str, cand, p) -> float:
    """Gas units of a candidate in use in period ``p``: owned ones delivered by its start and
    not retired before its end; rented ones from the period's rented MW where the site rents one
    kind, else the most rented in a span that covers the period (a span's figure: its busiest)."""
    key = f"gas:{cand.key}"
    if cand.rental is None:
        return v.owned_in_use(site, key, p)
    rented_mw = p.capacity_online.get(site, {}).get("rented_gas_mw")
    if rented_mw is not None and sum(c.rental is not None for c in v.sites[site].site.technologies.gas) == 1:
        return round(rented_mw / v.sites[site].catalog.generators[cand.type].unit_mw, 6)
    return max((b.quantity for b in v.timeline.bridges if b.site == site and b.asset in
                (key, f"rental_gas:{cand.type}") and b.start_date <= p.start <= b.end_date), default=0)


def _evaluate(v: Verification, states: dict[str, SiteState]) -> Evaluation | None:
    """A slice's committed build and dispatch evaluated on today's model (see
    dcplan.checks.evaluate); None with nothing to evaluate, or no answer in time."""
    known = {n: s for n, s in states.items() if len(s.weight)}
    some = next(iter(known.values()), None)
    evaluation = None if some is None else evaluate_committed(
        v.pi, {n: s.entry for n, s in known.items()}, {n: s.d for n, s in known.items()},
        (some.start, some.end), v.plan.time_resolution.method == "typical_days", _peak_days(v, some.period),
        _months(v, some.period), site_plans=v.timeline is None)  # (see check_built_figures)
    for name, s in known.items():
        s.figures = evaluation.sites[name] if evaluation is not None else None
    return evaluation


def _months(v: Verification, period: str) -> tuple[int, ...]:
    """The calendar months (0-11) a slice's grid covers: a build-out period's own, else the year."""
    entry = next((p for p in v.timeline.periods if p.name == period), None) if v.timeline else None
    if entry is None:
        return ALL_MONTHS
    months = (entry.end.year - entry.start.year) * 12 + entry.end.month - entry.start.month + 1
    return tuple(sorted({(entry.start.month - 1 + k) % 12 for k in range(months)}))


def _peak_days(v: Verification, period: str) -> int:
    """The typical days a period's grid kept for a peak hour: its own where the plan records it
    (they can differ by period), else the plan's (its last period's)."""
    entry = next((p for p in v.timeline.periods if p.name == period), None) if v.timeline else None
    if entry is not None and entry.peak_days is not None:
        return entry.peak_days
    return v.plan.time_resolution.peak_days or 0


def _cost_lines(v: Verification, final: Evaluation | None) -> dict[str, dict[str, tuple[float, list]]]:
    """Each site's annual cost lines at today's inputs, as the model prices the committed
    plan (a single-period plan's; a build-out's are escalated per period and not recomputed).
    Smoothing and a major-source permit are priced outside the model's rows: the plan's."""
    if v.timeline is not None or final is None:
        return {}
    lines = {}
    for name, found in final.costs.items():
        planned = v.states[name].entry.costs_usd_per_year
        lines[name] = {**found, **{k: (planned[k], []) for k in PLAN_ONLY if k in planned}}
    return lines
