"""Verify a committed plan against the current inputs without re-optimising.

The plan's build (GPUs, cooling, gas units, solar, wind, battery) and its committed dispatch are
held against today's site, program and catalog files:

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
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from dcplan.checks.evaluate import COMPLETION_TIME_S, Evaluation, evaluate_committed
from dcplan.checks.planfile import CommittedPlan
from dcplan.checks.report import PASS, SKIPPED, VIOLATION, WARNING, FileReport, Finding
from dcplan.checks.solve import redispatch_committed
from dcplan.checks.state import SiteState
from dcplan.earliest import with_goal_at
from dcplan.formatting import quantity
from dcplan.formulas import (
    battery_firm_mw,
    facility_load_mw,
    firm_without_largest_mw,
    grid_import_limit_mw,
    grid_limit_during,
)
from dcplan.loader import ProgramInput, SiteInput
from dcplan.locate import Locator, Where
from dcplan.model.build import site_compute
from dcplan.model.buildout import add_months, over_horizon, periods_of
from dcplan.model.compute import gpu_measure
from dcplan.solver import SolveOptions

TOL_MW = 1e-3  # dispatch.csv keeps 4 decimals; solvers close rows to ~1e-7
REL_TOL = 1e-6
COST_TOLERANCE = 0.01  # a cost line that moved by more than 1 % is reported
MEASURES = {"gpus": "GPUs", "h100_equivalents": "H100-equivalents", "bf16_pflops": "BF16 PFLOPS"}
PLAN_ONLY = ("smoothing", "major_source_permit")  # cost lines priced outside the model's rows
ASSET_SECTIONS = {"gpus": "gpus", "gas": "generators", "solar": "renewables", "wind": "renewables",
                  "battery_power": "storage", "battery_energy": "storage", "cooling": "cooling",
                  "grid_equipment": "grid_equipment"}


def _over(value, limit) -> bool:
    return value > limit + TOL_MW + REL_TOL * abs(limit)


def _hours(x: float) -> str:
    return f"{x:,.0f} h/yr" if x >= 1 else f"{x:.2f} h/yr"


def verify_plan(pi: ProgramInput, committed: CommittedPlan, report: FileReport,
                redispatch: SolveOptions | None = None) -> None:
    """Add a finding for every check of ``committed`` against ``pi`` to ``report``.
    ``redispatch``: solver options for re-dispatching the committed build (None: never)."""
    Verifier(pi, committed, report).run(redispatch)


class Verifier:
    def __init__(self, pi: ProgramInput, committed: CommittedPlan, report: FileReport):
        self.pi, self.c, self.plan, self.report = pi, committed, committed.plan, report
        self.loc = Locator(pi)
        self.sites = {si.name: si for si in pi.sites}
        self.timeline = self.plan.timeline
        self.dispatch_issues: list[Finding] = []  # a re-dispatch of the committed build may clear these

    # --- driver --------------------------------------------------------------------------

    def run(self, redispatch: SolveOptions | None) -> None:
        if not self._structure():
            return
        self.states = {name: self._state(name, entry) for name, entry in self.plan.sites.items()
                       if name in self.sites}
        # what each period of the plan runs: a build-out's earlier periods (their annual costs are
        # not in the plan, so cost caps are measured on the final one), then the final state
        self.slices = [(self._period_states(p), {}) for p in self.timeline.periods[:-1]] if self.timeline else []
        self.slices.append((self.states, {}))
        self.evaluations = [self._evaluate(states) for states, _ in self.slices]
        lines = self._cost_lines(self.evaluations[-1])
        totals = {n: (sum(usd for usd, _ in lines[n].values()) if n in lines
                      else sum(s.entry.costs_usd_per_year.values())) for n, s in self.states.items()}
        self.slices[-1] = (self.states, totals)
        self._target(totals)
        for s in self.states.values():
            self._site_build(s)
        self._grid_schedule()
        self._dispatch_all()
        self._caps()
        self._links()
        self._costs(lines)
        if self.timeline is not None:
            self._lead_times()
            self._period_targets()
            self._allocations()
            self._capital_per_year()
        self._settle_dispatch(redispatch)

    def add(self, check: str, status: str, message: str, where: Where | None = None,
            details: tuple[str, ...] = ()) -> None:
        self.report.add(check, status, message, where, details)

    def _settle_dispatch(self, options: SolveOptions | None) -> None:
        """Report dispatch issues: as violations, or as warnings when the committed build can
        still be dispatched under the current inputs."""
        issues = self.dispatch_issues
        if not issues:
            return
        build_fails = any(f.status == VIOLATION for f in self.report.findings)
        if options is None or build_fails or self.timeline is not None:
            self.report.findings += issues
            return
        result = redispatch_committed(self.pi, self.c.plan, options)
        if result.has_solution:
            note = ("; the committed build still fits: a re-dispatch under the current inputs meets every "
                    "step (refresh dispatch.csv with `dcplan plan`)")
            self.report.findings += [Finding(f.check, WARNING, f.message + note, f.where, f.details) for f in issues]
            return
        self.report.findings += issues
        if result.status == "infeasible":
            self.add("re-dispatch", VIOLATION, "no dispatch of the committed build meets the current inputs "
                     "(re-dispatch with the build fixed is infeasible): the plan must change", issues[0].where)
        else:
            self.add("re-dispatch", WARNING, f"re-dispatch of the committed build did not finish "
                     f"({result.status}: {result.message}); the committed dispatch stands violated")

    # --- the plan against the program's shape -------------------------------------------

    def _structure(self) -> bool:
        check, plan, program = "plan matches program", self.plan, self.pi.program
        ok = True
        if plan.program != self.pi.name:
            self.add(check, VIOLATION, f"plan.yaml is the plan of '{plan.program}', not of '{self.pi.name}': "
                     "commit the plan of this program in its folder", self.c.where(("program",)))
            return False
        for name in plan.sites:
            if name not in self.sites:
                ok = False
                self.add(check, VIOLATION, f"the plan builds at site '{name}', which the program no longer lists",
                         self.loc.program("sites"))
        for name in self.sites:
            if name not in plan.sites:
                self.add(check, WARNING, f"site '{name}' has nothing in the committed plan (added since it was "
                         "made): re-plan to use it", self.loc.program("sites"))
        buildout = program.buildout
        if (self.timeline is None) != (buildout is None):
            ok = False
            what = "now plans a staged build-out" if buildout else "no longer plans a staged build-out"
            self.add(check, VIOLATION, f"the program {what} but the committed plan "
                     f"{'is single-period' if buildout else 'has a timeline'}: re-plan",
                     self.loc.program("buildout") if buildout else self.c.where(("timeline",)))
        elif self.timeline is not None:
            if self.timeline.base_date != program.horizon.start:
                ok = False
                self.add(check, VIOLATION, f"the build-out now starts on {program.horizon.start}, the plan on "
                         f"{self.timeline.base_date}: re-plan", self.loc.program("horizon", "start"))
            if self.timeline.period_length != buildout.period:
                ok = False
                self.add(check, VIOLATION, f"the build-out is now planned by {buildout.period}, the plan by "
                         f"{self.timeline.period_length}: re-plan", self.loc.program("buildout", "period"))
            elif len(self.timeline.periods) != len(periods_of(program)):
                ok = False
                self.add(check, VIOLATION, f"the horizon is now {program.horizon.years} years "
                         f"({len(periods_of(program))} periods), the plan covers {len(self.timeline.periods)}: "
                         "re-plan", self.loc.program("horizon", "years"))
        if ok:
            self.add(check, PASS, f"plan of '{plan.program}' with sites {', '.join(plan.sites)}")
        return ok

    def _dates(self) -> tuple[dt.date, dt.date]:
        if self.timeline is None:
            start = self.pi.program.horizon.start
            return start, start
        last = self.timeline.periods[-1]
        return last.start, last.end

    def _state(self, name: str, entry) -> SiteState:
        si, d = self.sites[name], self.c.dispatch[name]
        start, end = self._dates()
        if self.timeline is None:
            return SiteState(si, entry, d, site_compute(si, self.pi), start, end)
        last = self.timeline.periods[-1].name  # the final period: what `sites:` of plan.yaml describes
        d = {k: v[d["period"] == last] for k, v in d.items()}
        return SiteState(si, entry, d, site_compute(si, self.pi), start, end, last)

    def _period_states(self, p) -> dict[str, SiteState]:
        """Each site as it stands in an earlier period of a build-out: the GPUs, capacity and
        cooling the timeline has online then, gas units from the orders in use and the rentals."""
        states = {}
        for name, entry in self.plan.sites.items():
            si = self.sites.get(name)
            if si is None:
                continue
            compute, online = site_compute(si, self.pi), p.capacity_online.get(name, {})
            existing = {o.model: o.existing_gpus for o in compute.gpus}
            gpus = {g: int(round(n)) for g, n in p.gpus_online.get(name, {}).items()}
            capacity = {"grid_limit_mw": online.get("grid_mw", 0.0),
                        **{k: online.get(k, 0.0) for k in ("solar_mw", "wind_mw", "battery_mw", "battery_mwh")},
                        "smoothing_energy_overhead_fraction": entry.capacity.get("smoothing_energy_overhead_fraction", 0.0)}
            for cand in si.site.technologies.gas:
                new = self._gas_in_use(name, cand, p)
                capacity[f"gas_{cand.key}_new_units"], capacity[f"gas_{cand.key}_units"] = new, new + cand.existing_units
            for u in si.site.grid.upgrades if si.site.grid else []:
                capacity[f"grid_upgrade_{u.name}_units"] = self._owned_in_use(name, f"grid_upgrade:{u.name}", p)
            if "grid_flexible_mw" in online:
                capacity["grid_flexible_mw"] = online["grid_flexible_mw"] or 0.0
            cooling = online.get("cooling")
            view = entry.model_copy(update={
                "cloud_gpus": p.cloud_gpus_online.get(name, {}),
                "gpus": gpus, "gpus_new": {g: max(0, n - existing.get(g, 0)) for g, n in gpus.items()},
                "cooling": cooling if isinstance(cooling, str) else entry.cooling,
                "it_mw": online.get("it_mw", entry.it_mw), "capacity": capacity})
            d = {k: v[self.c.dispatch[name]["period"] == p.name] for k, v in self.c.dispatch[name].items()}
            states[name] = SiteState(si, view, d, compute, p.start, p.end, p.name)
        return states

    def _gas_in_use(self, site: str, cand, p) -> float:
        """Gas units of a candidate in use in period ``p``: owned ones delivered by its start and
        not retired before its end, or the most rented in a span that covers it."""
        key = f"gas:{cand.key}"
        if cand.rental is None:
            return self._owned_in_use(site, key, p)
        return max((b.quantity for b in self.timeline.bridges if b.site == site and b.asset in
                    (key, f"rental_gas:{cand.type}") and b.start_date <= p.start <= b.end_date), default=0)

    def _owned_in_use(self, site: str, asset: str, p) -> float:
        """Units of an owned asset in use in period ``p``: delivered by its start, not retired before its end."""
        return sum(o.quantity for o in self.timeline.orders if o.site == site and o.asset == asset
                   and o.online_date <= p.start and (o.retire_date is None or p.end < o.retire_date))

    # --- build ---------------------------------------------------------------------------

    def _target(self, costs: dict[str, float]) -> None:
        program = self.pi.program
        target = program.compute.target
        if target is None and program.buildout is not None and program.buildout.targets:
            index = len(program.buildout.targets) - 1
            target, where = program.buildout.targets[index], self.loc.program("buildout", "targets", index)
        elif target is not None:
            where = self.loc.program("compute", "target", target.measure)
        if target is not None and any(s.figures is None for s in self.states.values()):
            self.add("compute target", SKIPPED, "not measured: the committed plan could not be evaluated (see model rows)")
        elif target is not None:
            delivered = sum(s.compute_in(target.measure) for s in self.states.values())
            unit = MEASURES[target.measure]
            if delivered < target.amount * (1 - 1e-9) - 1e-6:
                self.add("compute target", VIOLATION, f"the plan delivers {delivered:,.0f} {unit} but the target is now "
                         f"{target.amount:,.0f}: {target.amount - delivered:,.0f} short", where)
            else:
                self.add("compute target", PASS, f"{delivered:,.0f} {unit} against a target of {target.amount:,.0f}")
        if program.objective.sense == "max_compute":
            budget = program.objective.budget_usd_per_year
            total = sum(costs.values())
            if _over(total, budget):
                self.add("budget", VIOLATION, f"the plan costs ${total:,.0f}/yr under current prices, over the "
                         f"budget of ${budget:,.0f}/yr", self.loc.program("objective", "budget_usd_per_year"))

    def _site_build(self, s: SiteState) -> None:
        check, si, loc = f"build {s.name}", s.si, self.loc
        before = len(self.report.findings)
        options = {o.model: o for o in s.compute.gpus}
        for model, n in s.gpus.items():
            option = options.get(model)
            if option is None:
                self.add(check, VIOLATION, f"{n:,} {model} GPUs are planned but {model} is no longer an allowed GPU "
                         f"at {s.name}", loc.compute(si, "gpus"))
            elif option.max_gpus is not None and n > option.max_gpus:
                self.add(check, VIOLATION, f"{n:,} {model} GPUs are planned but at most {option.max_gpus:,} are "
                         f"allowed now ({n - option.max_gpus:,} too many)", loc.gpu_option(si, model, "max_gpus"))
            if model not in si.catalog.gpus:
                self.add(check, VIOLATION, f"{model} is no longer in the GPU catalog", loc.gpu_option(si, model))
        if s.compute.max_it_mw is not None and _over(s.it_mw, s.compute.max_it_mw):
            self.add(check, VIOLATION, f"the planned GPUs draw {s.it_mw:,.1f} MW of IT but the limit is now "
                     f"{s.compute.max_it_mw:,.1f} MW", loc.compute(si, "max_it_mw"))
        cooling = {c.type: i for i, c in enumerate(si.site.cooling)}
        if s.entry.cooling not in cooling:
            self.add(check, VIOLATION, f"the plan cools with {s.entry.cooling}, which the site no longer offers "
                     f"(offers: {', '.join(cooling)})", loc.site(si, "cooling"))
        else:
            needs = [g for g in s.gpus if g in si.catalog.gpus and si.catalog.gpus[g].liquid_cooling_required]
            if needs and not si.catalog.cooling[s.entry.cooling].liquid:
                self.add(check, VIOLATION, f"{', '.join(needs)} need liquid cooling but {s.entry.cooling} is now "
                         "air cooling", loc.catalog(si, "cooling", s.entry.cooling, "liquid"))
        self._site_supply_build(s, check)
        for states, _ in self.slices:
            if s.name in states:
                self._n_plus_one(states[s.name])
        if len(self.report.findings) == before:
            self.add(check, PASS, f"{sum(s.gpus.values()):,} GPUs, {s.it_mw:,.1f} MW IT, {s.entry.cooling}, "
                     "units and MW within the site's limits")

    def _site_supply_build(self, s: SiteState, check: str) -> None:
        si, loc, tech = s.si, self.loc, s.si.site.technologies
        keys = {c.key for c in tech.gas}
        planned = (k.removeprefix("gas_").removesuffix("_new_units") for k in s.entry.capacity
                   if k.startswith("gas_") and k.endswith("_new_units"))
        for k in planned:
            if k not in keys and s.capacity(f"gas_{k}_units") > 0:
                self.add(check, VIOLATION, f"the plan has {s.capacity(f'gas_{k}_units'):g} {k} units but the site no "
                         "longer lists that gas type", loc.site(si, "technologies", "gas"))
        for i, cand, units in s.gas():
            new = units - cand.existing_units
            if new > cand.max_units:
                self.add(check, VIOLATION, f"the plan builds {new} new {cand.type} units but at most {cand.max_units} "
                         "are allowed now", loc.site(si, "technologies", "gas", i, "max_units"))
        for name in ("solar", "wind"):
            cand, total = getattr(tech, name), s.capacity(f"{name}_mw")
            if cand is None:
                if total > TOL_MW:
                    self.add(check, VIOLATION, f"the plan has {total:,.1f} MW of {name} but the site no longer lists "
                             f"{name}", loc.site(si, "technologies"))
            elif _over(total - cand.existing_mw, cand.max_mw):
                self.add(check, VIOLATION, f"the plan builds {total - cand.existing_mw:,.1f} MW of {name} but at most "
                         f"{cand.max_mw:,.1f} MW are allowed now", loc.site(si, "technologies", name, "max_mw"))
        bat, power, energy = tech.battery, s.capacity("battery_mw"), s.capacity("battery_mwh")
        if bat is None:
            if power > TOL_MW or energy > TOL_MW:
                self.add(check, VIOLATION, f"the plan has a {power:,.1f} MW / {energy:,.1f} MWh battery but the site "
                         "no longer lists one", loc.site(si, "technologies"))
        else:
            new_p, new_e = power - bat.existing_power_mw, energy - bat.existing_energy_mwh
            if bat.max_power_mw is not None and _over(new_p, bat.max_power_mw):
                self.add(check, VIOLATION, f"the plan builds a {new_p:,.1f} MW battery but at most "
                         f"{bat.max_power_mw:,.1f} MW are allowed now",
                         loc.site(si, "technologies", "battery", "max_power_mw"))
            if bat.duration_h is not None and abs(new_e - bat.duration_h * new_p) > TOL_MW + 1e-4 * new_e:
                self.add(check, VIOLATION, f"the planned battery stores {new_e:,.1f} MWh for {new_p:,.1f} MW, not the "
                         f"{bat.duration_h:g} h duration the site now fixes",
                         loc.site(si, "technologies", "battery", "duration_h"))
    def _n_plus_one(self, s: SiteState) -> None:
        """N+1 in the slice's period when the site requires it then (no grid in force)."""
        si, grid = s.si, s.si.site.grid
        limit = grid_limit_during(grid, s.start, s.end) if grid is not None else 0.0
        if not (si.site.needs_n_plus_one(limit) and s.cooling_known and s.figures is not None):
            return
        firm = firm_without_largest_mw([(si.catalog.generators[c.type].unit_mw, units) for _, c, units in s.gas()])
        if si.site.technologies.battery is not None:
            firm += battery_firm_mw(s.capacity("battery_mw"), s.capacity("battery_mwh"),
                                    si.site.reliability.battery_firm_hours)
        peak = s.design_peak_mw
        if firm < peak - TOL_MW - REL_TOL * peak:
            where = (self.loc.site(si, "reliability", "n_plus_one") if si.site.reliability.n_plus_one is not None
                     else self.loc.site(si, "technologies", "gas"))
            self.add(f"build {s.name}", VIOLATION, f"N+1{s.when}: the planned gas units give {firm:,.1f} MW without the "
                     f"largest, below the design peak of {peak:,.1f} MW now ({peak - firm:,.1f} MW short)", where)

    # --- every step of the dispatch ------------------------------------------------------

    def _issue(self, check: str, message: str, where: Where) -> None:
        self.dispatch_issues.append(Finding(check, VIOLATION, message, where))

    def _evaluate(self, states: dict[str, SiteState]) -> Evaluation | None:
        """A slice's committed build and dispatch evaluated on today's model (see
        dcplan.checks.evaluate); None with nothing to evaluate, or no answer in time."""
        known = {n: s for n, s in states.items() if len(s.weight)}
        some = next(iter(known.values()), None)
        evaluation = None if some is None else evaluate_committed(
            self.pi, {n: s.entry for n, s in known.items()}, {n: s.d for n, s in known.items()},
            (some.start, some.end), self.plan.time_resolution.method == "typical_days")
        for name, s in known.items():
            s.figures = evaluation.sites[name] if evaluation is not None else None
        return evaluation

    def _cost_lines(self, final: Evaluation | None) -> dict[str, dict[str, tuple[float, list]]]:
        """Each site's annual cost lines at today's inputs, as the model prices the committed
        plan (a single-period plan's; a build-out's are escalated per period and not recomputed).
        Smoothing and a major-source permit are priced outside the model's rows: the plan's."""
        if self.timeline is not None or final is None:
            return {}
        lines = {}
        for name, found in final.costs.items():
            planned = self.states[name].entry.costs_usd_per_year
            lines[name] = {**found, **{k: (planned[k], []) for k in PLAN_ONLY if k in planned}}
        return lines

    def _dispatch_all(self) -> None:
        for (states, _), evaluation in zip(self.slices, self.evaluations):
            self._broken_rows(states, evaluation)
        for name, final in self.states.items():
            check, steps = f"load every hour {name}", 0
            for states, _ in self.slices:
                s = states[name]
                if s.cooling_known and len(s.weight) and s.figures is not None:  # else: _broken_rows warned
                    self._dispatch(s, check)
                    steps += len(s.weight)
            if not any(f.check == check for f in self.dispatch_issues) and final.cooling_known and final.figures is not None:
                self.add(check, PASS, f"the committed dispatch meets the current facility load (peak "
                         f"{final.load_mw.max(initial=0):,.1f} MW) in all {steps:,} steps within every source's limit")

    def _broken_rows(self, states: dict[str, SiteState], evaluation: Evaluation | None) -> None:
        """The model's own rows that the committed build and dispatch break under today's inputs
        (each family explains itself)."""
        some = next((s for s in states.values() if s.cooling_known and len(s.weight)), None)
        if some is None:
            return
        if evaluation is None:
            self.add("model rows", WARNING, f"the committed dispatch{some.when} could not be evaluated on the current "
                     f"model within {COMPLETION_TIME_S:g} s: its limits per source and its caps are unchecked")
            return
        for b in evaluation.broken:
            s = states[b.site]
            at = f" at hour {b.worst_hour} of the year{s.when}" if b.worst_hour is not None else s.when
            spread = f", over in {_hours(b.hours)}" if b.hours else ""
            self._issue(f"load every hour {b.site}", f"{b.message}: by up to {quantity(b.worst)}{at}{spread}",
                        self._input(s.si, b.input))

    def _input(self, si: SiteInput, path: tuple) -> Where:
        """The input at a model explanation's path (see dcplan.model.context.Explanation)."""
        kind, keys = path[0], path[1:]
        if kind == "program":
            return self.loc.program(*keys)
        return getattr(self.loc, kind)(si, *keys)

    def _dispatch(self, s: SiteState, check: str) -> None:
        """The facility load met: the committed supply, as today's model sums it (shed load
        included where the site allows it), against the load of today's inputs; the message
        names what moved the load since the plan. (The limits of each source are the model's
        rows: :meth:`_broken_rows`.)"""
        si = s.si
        shed = s.col("unserved_mw")
        if shed.max(initial=0) > TOL_MW and si.site.reliability.unserved_energy_usd_per_mwh is None:
            self._issue(check, f"the plan sheds up to {shed.max():,.1f} MW of load{s.when} but the site no longer allows "
                        "load shedding", self.loc.site(si, "reliability"))
        supply = s.figures.supply_mw
        short = s.load_mw - supply
        bad = short > TOL_MW + REL_TOL * s.load_mw
        if bad.any():
            i = int(np.argmax(short))
            self._issue(check, f"the committed dispatch supplies {supply[i]:,.1f} MW at hour {s.hours[i]} of the "
                        f"year{s.when} but the facility now draws {s.load_mw[i]:,.1f} MW ({s.it_mw:,.1f} MW IT x PUE "
                        f"{s.pue[i]:.3f}{f' x {s.compute.average_draw_fraction:.2f} drawn' if s.compute.average_draw_fraction < 1 else ''}"
                        f"{f' x {1 + s.overhead:.3f} smoothing' if s.overhead else ''}); short by up to "
                        f"{short[i]:,.1f} MW in {_hours(float(np.sum(s.weight[bad])))}", self._load_culprit(s))
        if (self.timeline is None and self.plan.time_resolution.method == "typical_days"
                and si.site.reliability.unserved_energy_usd_per_mwh is None
                and not any(f.check.endswith(f" {s.name}") for f in self.dispatch_issues)):
            self._whole_year(s, check)

    def _whole_year(self, s: SiteState, check: str) -> None:
        """A typical-days plan is dispatched on its representative days only: warn of the hours of
        the year whose load exceeds the most every source could deliver then, as the model's
        technologies state it (``SiteModel.most_mw``)."""
        if s.figures is None:
            return
        load = facility_load_mw(s.it_mw, s.si.pue[s.entry.cooling], s.compute.average_draw_fraction, s.overhead)
        parts = s.figures.most_mw
        supply = sum(parts.values(), np.zeros_like(load))
        short = load - supply
        bad = short > TOL_MW + REL_TOL * load
        if bad.any():
            h = int(np.argmax(short))
            shown = ", ".join(f"{k} {v[h]:,.1f}" for k, v in parts.items())
            self.add(check, WARNING, f"outside the plan's typical days the facility draws up to {load[h]:,.1f} MW "
                     f"(hour {h} of the year), more than all the planned capacity then ({supply[h]:,.1f} MW: {shown}); "
                     f"short in {int(bad.sum()):,} h of the year: a full-year plan would size for them",
                     self._load_culprit(s))

    def _load_culprit(self, s: SiteState) -> Where:
        """The input that moved the load: the PUE of the committed cooling, else the IT per GPU."""
        si = s.si
        if "pue" in s.d and np.max(np.abs(s.pue - s.d["pue"]), initial=0) > 5e-4:
            index = next(i for i, c in enumerate(si.site.cooling) if c.type == s.entry.cooling)
            if si.site.cooling[index].pue is None:
                return self.loc.catalog(si, "cooling", s.entry.cooling, "pue")
            return self.loc.site(si, "cooling", index, "pue")
        if abs(s.it_mw - s.entry.it_mw) > 1e-3 * max(1.0, s.entry.it_mw):
            for model in s.gpus:
                where = self.loc.catalog(si, "gpus", model, "it_power_per_gpu_w")
                if where.file in (si.doc.name, self.pi.doc.name if self.pi.doc else None):
                    return where
            return self.loc.compute(si, "provisioning_utilisation")
        return Where(self.c.dispatch_name, None, "")

    # --- grid schedule -------------------------------------------------------------------

    def _slices(self, name: str):
        """(label, first day, last day, the grid limit the plan had then, dispatch rows) of each
        period the plan dispatches."""
        d = self.c.dispatch[name]
        if self.timeline is None:
            start = self.pi.program.horizon.start
            yield "", start, start, self.plan.sites[name].capacity.get("grid_limit_mw"), d
            return
        for p in self.timeline.periods:
            rows = d["period"] == p.name
            planned = p.capacity_online.get(name, {}).get("grid_mw")
            yield f" in {p.name}", p.start, p.end, planned, {k: v[rows] for k, v in d.items()}

    def _grid_schedule(self) -> None:
        for name in self.states:
            si = self.sites[name]
            check, before = f"grid schedule {name}", len(self.dispatch_issues)
            for label, start, end, planned, d in self._slices(name):
                used = float(d.get("grid_mw", np.zeros(1)).max(initial=0.0))
                grid = si.site.grid
                if grid is None:
                    if used > TOL_MW:
                        self._issue(check, f"the plan imports up to {used:,.1f} MW{label} but the site no longer has "
                                    "a grid connection", self.loc.site(si, "grid"))
                    continue
                limit = self._grid_allows(si, name, start, end)
                if _over(used, limit):
                    where, moved = self._grid_culprit(si, used, start, end, planned)
                    when = f"on {start}" if start == end else f"from {start} to {end}"
                    hint = f"; the step to {moved.max_import_mw:,.0f} MW now comes on {moved.date}" if moved else ""
                    self._issue(check, f"grid import reaches {used:,.1f} MW{label} but the grid allows {limit:,.1f} MW "
                                f"{when}{hint}", where)
            if len(self.dispatch_issues) == before and si.site.grid is not None:
                self.add(check, PASS, "grid import within the limit in force on every planned date")

    def _grid_allows(self, si: SiteInput, name: str, start, end) -> float:
        """The most the grid allows in any hour from ``start`` to ``end`` with the plan's upgrades
        (at today's MW each) and flexible offer (the curtailed hours are the model's rows,
        checked with the rest of the dispatch)."""
        grid = si.site.grid
        if self.timeline is None:
            units = {u.name: self.plan.sites[name].capacity.get(f"grid_upgrade_{u.name}_units", 0.0) for u in grid.upgrades}
        else:
            period = next(p for p in self.timeline.periods if p.start == start)
            units = {u.name: self._owned_in_use(name, f"grid_upgrade:{u.name}", period) for u in grid.upgrades}
        return grid_import_limit_mw(grid, start, end, units, self._flexible_accepted(name, start))

    def _flexible_accepted(self, name: str, start) -> bool:
        if self.timeline is None:
            return self.plan.sites[name].capacity.get("grid_flexible_mw", 0.0) > 0
        period = next((p for p in self.timeline.periods if p.start == start), None)
        return period is not None and (period.capacity_online.get(name, {}).get("grid_flexible_mw") or 0.0) > 0

    def _grid_culprit(self, si: SiteInput, used: float, start, end, planned: float | None):
        """The grid key that took the import away, and the step that moved later if that is it:
        a connection date now after the period, a step whose limit the plan had (``planned``)
        that now comes later, or else the limit in force."""
        grid = si.site.grid
        if grid.available_from and grid.available_from > start:
            return self.loc.site(si, "grid", "available_from"), None
        for j, st in enumerate(grid.steps):
            if st.date > start and planned is not None and abs(st.max_import_mw - planned) <= TOL_MW \
                    and st.max_import_mw >= used - TOL_MW:
                return self.loc.site(si, "grid", "steps", j, "date"), st
        in_force = [j for j, st in enumerate(grid.steps) if st.date <= start]
        if in_force:
            return self.loc.site(si, "grid", "steps", in_force[-1], "max_import_mw"), None
        return self.loc.site(si, "grid", "max_import_mw"), None

    # --- caps and links ------------------------------------------------------------------

    def _caps(self) -> None:
        contexts = []
        for (states, costs), evaluation in zip(self.slices, self.evaluations):
            first = next(iter(states.values()), None)
            start, end = (first.start, first.end) if first else self._dates()
            contexts.append((start, end, first.when if first else "", (evaluation, costs)))
        for rc in self.pi.caps:
            cap, check = rc.cap, f"cap {rc.cap.name}"
            if self.timeline is not None and over_horizon(rc):
                self._horizon_cap(rc, [ctx for *_, ctx in contexts])
                continue
            measured = [(when, ctx) for start, end, when, ctx in contexts if cap.in_force_during(start, end)]
            if not measured or not rc.groups:
                self.add(check, SKIPPED, "binds no site of this program" if not rc.groups else
                         f"not in force on {', '.join(str(start) for start, *_ in contexts)}")
                continue
            if not self._measurable(check, [ctx for _, ctx in measured]):
                continue
            failed, shown = False, ""
            for when, ctx in measured:
                values = self._cap_values(rc, *ctx)
                failed |= self._cap_limits(rc, values, when)
                shown = ", ".join(f"{label} {quantity(v)}" for label, v in values if v is not None) or "nothing to measure"
            if not failed:
                self.add(check, PASS, f"{cap.quantity} within its limit{' in every period' if len(measured) > 1 else ''}"
                         f": {shown}")

    def _measurable(self, check: str, contexts: list[tuple]) -> bool:
        if not all(s.cooling_known for states, _ in self.slices for s in states.values()):
            self.add(check, SKIPPED, "not measured: the plan's cooling is no longer offered (see build)")
            return False
        if any(evaluation is None for evaluation, _ in contexts):
            self.add(check, SKIPPED, "not measured: the committed dispatch could not be evaluated (see model rows)")
            return False
        return True

    def _cap_values(self, rc, evaluation: Evaluation, costs: dict[str, float]) -> list[tuple[str, float | None]]:
        """(group label, yearly value) as the model measures the cap on the committed plan; a
        build-out's annual cost is the plan's own (its escalated costs are not recomputed)."""
        if rc.cap.quantity == "cost_usd" and self.timeline is not None:
            return [(label, sum(costs[n] for n in names) if all(n in costs for n in names) else None)
                    for label, names in rc.groups]
        return evaluation.caps.get(rc.cap.name, [])

    def _horizon_cap(self, rc, contexts: list[tuple]) -> None:
        """A build-out's cap on a total over the horizon: each period's yearly amount times its
        length, summed (as the model limits it)."""
        check = f"cap {rc.cap.name}"
        if not rc.in_force or not rc.groups:
            self.add(check, SKIPPED, "binds no site of this program" if not rc.groups else "not in force")
            return
        if not self._measurable(check, contexts):
            return
        years = periods_of(self.pi.program)[0].years
        totals: dict[str, float] = {}
        for ctx in contexts:
            for label, value in self._cap_values(rc, *ctx):
                if value is not None:
                    totals[label] = totals.get(label, 0.0) + value * years
        if not self._cap_limits(rc, list(totals.items()), "", scale=1.0):
            shown = ", ".join(f"{label} {quantity(v)}" for label, v in totals.items()) or "nothing to measure"
            self.add(check, PASS, f"{rc.cap.quantity} over the horizon within its limit: {shown}")

    def _cap_limits(self, rc, values: list[tuple[str, float | None]], when: str, scale: float | None = None) -> bool:
        """Report each group whose value breaks the cap's limits; True if one does. ``scale``
        turns a value into the cap's period (default: a yearly value, times the horizon's years
        for a horizon cap)."""
        cap, check = rc.cap, f"cap {rc.cap.name}"
        noted = {c.name: c.note for c in self.plan.caps}
        if scale is None:
            scale = self.pi.program.horizon.years if cap.period == "horizon" else 1
        failed = False
        for label, value in values:
            if value is None:
                continue
            total = value * scale
            for sense, bound in (("max", cap.max), ("min", cap.min)):
                if bound is None:
                    continue
                over = total - bound if sense == "max" else bound - total
                tol = 1e-6 * max(1.0, abs(bound))
                if over <= tol:
                    continue
                if sense == "max" and cap.major_source is not None and "major source" in noted.get(cap.name, ""):
                    continue  # the plan pays to become a major source, which lifts the cap
                failed = True
                word = "above the maximum" if sense == "max" else "below the minimum"
                period = " over the horizon" if cap.period == "horizon" else ""
                self.add(check, VIOLATION, f"{cap.quantity} at {label}{when} is {quantity(total)}{period}, {word} "
                         f"of {quantity(bound)} by {quantity(over)} ({rc.origin}: {cap.source})", self.loc.cap(rc, sense))
        return failed

    def _links(self) -> None:
        links, states = self.pi.program.links, list(self.states.values())
        if links.min_gpus_in_one_site is not None:
            most = max((sum(s.gpus.values()) for s in states), default=0)
            if most < links.min_gpus_in_one_site:
                self.add("links", VIOLATION, f"no site holds a cluster of {links.min_gpus_in_one_site:,} GPUs "
                         f"(the largest has {most:,})", self.loc.program("links", "min_gpus_in_one_site"))
        if links.max_compute_share_per_site is not None and any(s.figures is None for s in states):
            self.add("links", SKIPPED, "compute share not measured: the committed plan could not be evaluated (see model rows)")
        elif links.max_compute_share_per_site is not None:
            total = sum(s.compute_in("h100_equivalents") for s in states)  # TPP, in H100s
            for s in states:
                share = s.compute_in("h100_equivalents") / total if total else 0.0
                if share > links.max_compute_share_per_site + 1e-9:
                    self.add("links", VIOLATION, f"site {s.name} holds {share:.1%} of the compute, above the "
                             f"{links.max_compute_share_per_site:.1%} allowed per site",
                             self.loc.program("links", "max_compute_share_per_site"))

    # --- costs ---------------------------------------------------------------------------

    def _costs(self, lines_by_site: dict[str, dict]) -> None:
        """Warn where an annual cost line moved beyond the tolerance under current prices."""
        if self.timeline is not None:
            self._order_prices()
            return
        for name, lines in lines_by_site.items():
            s = self.states[name]
            check, before = f"costs {name}", len(self.report.findings)
            planned = s.entry.costs_usd_per_year
            for component in sorted(set(lines) | set(planned)):
                now, inputs = lines.get(component, (0.0, []))
                then = planned.get(component, 0.0)
                if abs(now - then) <= max(COST_TOLERANCE * abs(then), 1.0):
                    continue
                where, sources = self._cost_inputs(s.si, inputs)
                change = f"{(now - then) / then:+.1%}" if then else "new"
                self.add(check, WARNING, f"{component}: the plan says ${then:,.0f}/yr, the current inputs give "
                         f"${now:,.0f}/yr ({change})" + (f"; inputs: {sources}" if sources else ""), where)
            if len(self.report.findings) == before:
                total = sum(usd for usd, _ in lines.values())
                self.add(check, PASS, f"every annual cost line within {COST_TOLERANCE:.0%} of the current prices "
                         f"(${total:,.0f}/yr)")

    def _order_prices(self) -> None:
        """A build-out's order capital against today's prices (its operating costs are escalated
        per period and not recomputed)."""
        check, before, priced = "costs", len(self.report.findings), 0
        prices = self.evaluations[-1].prices if self.evaluations[-1] is not None else {}
        for order in self.timeline.orders:
            si = self.sites.get(order.site)
            found = prices.get(order.site, {}).get(order.asset)
            if found is None:  # an asset no longer offered is a lead-time finding
                continue
            priced += 1
            now, then = order.quantity * found[0], order.capex_usd
            if abs(now - then) <= max(COST_TOLERANCE * abs(then), 1.0):
                continue
            where, sources = self._cost_inputs(si, found[1])
            change = f"{(now - then) / then:+.1%}" if then else "new"
            self.add(check, WARNING, f"{quantity(order.quantity)} {order.unit} of {order.label} at {order.site} ordered "
                     f"{order.order_date}: the plan says ${then:,.0f}, today's prices give ${now:,.0f} ({change})"
                     + (f"; inputs: {sources}" if sources else ""), where)
        if len(self.report.findings) == before:
            self.add(check, PASS, f"{priced} orders' capital within {COST_TOLERANCE:.0%} of today's prices "
                     "(operating costs, escalated per period, are not recomputed)")

    def _cost_inputs(self, si: SiteInput, inputs: list[tuple]) -> tuple[Where | None, str]:
        """The first input of a cost line that lives in the user's files (where a change is most
        likely), else the first; and each input with its value's source."""
        wheres, parts = [], []
        for ref in inputs:
            if ref[0] == "catalog":
                _, section, key, name = ref
                entry = getattr(si.catalog, section)[key]
                where = self.loc.catalog(si, section, key, name)
                parts.append(f"{section}.{key}.{name} = {getattr(entry, name):g} "
                             f"(source: {entry.sources.get(name, 'none given')})")
            elif ref[0] == "site":
                where = self.loc.site(si, *ref[1:])
                parts.append(where.key)
            elif self.pi.doc is not None and ref[1:] in self.pi.doc.lines:  # a program setting, when written
                where = self.loc.program(*ref[1:])
                parts.append(where.key)
            else:
                continue
            wheres.append(where)
        mine = {si.doc.name} | ({self.pi.doc.name} if self.pi.doc else set())
        chosen = next((w for w in wheres if w.file in mine), wheres[0] if wheres else None)
        return chosen, "; ".join(parts)

    # --- build-out timeline --------------------------------------------------------------

    def _lead_time(self, si: SiteInput, asset: str) -> tuple[float, Where] | None:
        """The current lead time of an asset of a timeline (months), and where it is set."""
        section, _, key = asset.partition(":")
        rented = section.startswith("rental_")
        section = section.removeprefix("rental_")
        tech, loc = si.site.technologies, self.loc
        if section == "gpus":
            option = next((o for o in site_compute(si, self.pi).gpus if o.model == key), None)
            if option is None:
                return None
            if option.lead_time_months is not None:
                return option.lead_time_months, loc.gpu_option(si, key, "lead_time_months")
        elif section == "grid_upgrade":
            found = next(((i, u) for i, u in enumerate(si.site.grid.upgrades if si.site.grid else []) if u.name == key),
                         None)
            if found is None:
                return None
            i, u = found
            if u.lead_time_months is not None or u.equipment is None:
                return u.lead_time_months or 0.0, loc.site(si, "grid", "upgrades", i, "lead_time_months")
            section, key = "grid_equipment", u.equipment
        elif section == "cloud":
            found = next(((i, o) for i, o in enumerate(site_compute(si, self.pi).cloud) if o.model == key), None)
            return None if found is None else (found[1].lead_time_months,
                                               loc.program("compute", "cloud", found[0], "lead_time_months"))
        elif section == "gas":
            found = next(((i, c) for i, c in enumerate(tech.gas)
                          if c.key == key or (rented and c.rental and c.type == key)), None)
            if found is None:
                return None
            i, cand = found
            if cand.rental is not None:
                return cand.rental.lead_time_months, loc.site(si, "technologies", "gas", i, "rental", "lead_time_months")
            if cand.lead_time_months is not None:
                return cand.lead_time_months, loc.site(si, "technologies", "gas", i, "lead_time_months")
            key = cand.type
        elif section in ("solar", "wind", "battery_power", "battery_energy"):
            name = "battery" if section.startswith("battery") else section
            cand = getattr(tech, name)
            if cand is None:
                return None
            if cand.lead_time_months is not None:
                return cand.lead_time_months, loc.site(si, "technologies", name, "lead_time_months")
        elif section == "cooling":
            found = next(((i, c) for i, c in enumerate(si.site.cooling) if c.type == key), None)
            if found is None:
                return None
            i, option = found
            if option.rental is not None:
                return option.rental.lead_time_months, loc.site(si, "cooling", i, "rental", "lead_time_months")
            if option.lead_time_months is not None:
                return option.lead_time_months, loc.site(si, "cooling", i, "lead_time_months")
        else:
            return None
        catalog_section = ASSET_SECTIONS[section]
        entries = getattr(si.catalog, catalog_section)
        if key not in entries:
            return None
        return entries[key].lead_time_months, loc.catalog(si, catalog_section, key, "lead_time_months")

    def _lead_times(self) -> None:
        check, before = "lead times", len(self.report.findings)
        for i, order in enumerate(self.timeline.orders):
            si = self.sites.get(order.site)
            found = self._lead_time(si, order.asset) if si else None
            if found is None:
                self.add(check, VIOLATION, f"the plan orders {order.label} ({order.asset}) at {order.site}, which the "
                         "site no longer offers", self.c.where(("timeline", "orders", i, "asset")))
                continue
            months, where = found
            ready = add_months(order.order_date, months)
            if order.online_date < ready:
                self.add(check, VIOLATION, f"{quantity(order.quantity)} {order.unit} of {order.label} at {order.site} "
                         f"ordered {order.order_date} are planned online {order.online_date}, but the lead time is now "
                         f"{months:g} months: not before {ready} ({(ready - order.online_date).days} days late)", where)
        base = self.timeline.base_date
        for i, bridge in enumerate(self.timeline.bridges):
            si = self.sites.get(bridge.site)
            found = self._lead_time(si, bridge.asset) if si else None
            if found is None:
                self.add(check, VIOLATION, f"the plan rents {bridge.label} ({bridge.asset}) at {bridge.site}, which "
                         "the site no longer offers", self.c.where(("timeline", "bridges", i, "asset")))
                continue
            months, where = found
            ready = add_months(base, months)
            if bridge.start_date < ready:
                self.add(check, VIOLATION, f"{bridge.label} at {bridge.site} is rented from {bridge.start_date}, but "
                         f"renting now takes {months:g} months: not before {ready}", where)
        if len(self.report.findings) == before:
            self.add(check, PASS, f"{len(self.timeline.orders)} orders and {len(self.timeline.bridges)} rentals "
                     "respect the current lead times")

    def _period_targets(self) -> None:
        program, check, before = self.pi.program, "dated targets", len(self.report.findings)
        own = [(t, ("buildout", "targets", i, "date")) for i, t in enumerate(program.buildout.targets
                                                                             if program.buildout else [])]
        targets = self._earliest_targets(own) if program.buildout and program.buildout.earliest else own
        for p in self.timeline.periods:
            due = [(t, path) for t, path in targets if t.date <= p.end]
            if program.compute.target is not None:
                target, where = program.compute.target, self.loc.program("compute", "target",
                                                                         program.compute.target.measure)
            elif due:
                target, where = due[-1][0], self.loc.program(*due[-1][1])
            else:
                continue
            online = 0.0
            for site, gpus in [*p.gpus_online.items(), *p.cloud_gpus_online.items()]:
                si = self.sites.get(site)
                if si is None:
                    continue
                online += sum(n * _measure(si, g, target.measure) for g, n in gpus.items())
            if online < target.amount * (1 - 1e-9) - 1e-6:
                self.add(check, VIOLATION, f"{p.name}: {online:,.0f} {MEASURES[target.measure]} online but "
                         f"{target.amount:,.0f} are due by {getattr(target, 'date', p.start)}", where)
        if len(self.report.findings) == before:
            self.add(check, PASS, f"every period meets the target in force ({len(self.timeline.periods)} periods)")


    def _earliest_targets(self, own: list[tuple]) -> list[tuple]:
        """The ramp (``own``: targets with their input paths) with the program's earliest goal due
        from the period the plan says it found (dcplan.earliest); a plan that says none, or names a
        period the program does not have, is a violation (and only the program's own ramp is checked)."""
        bo, found = self.pi.program.buildout, self.plan.earliest
        goal_path = ("buildout", "earliest", bo.earliest.measure)
        period = next((p for p in periods_of(self.pi.program) if found and p.name == found.period), None)
        if period is None:
            said = f"says {found.period!r}" if found and found.period else "names no period"
            self.add("dated targets", VIOLATION, f"the program asks for the earliest period of "
                     f"{getattr(bo.earliest, bo.earliest.measure):,.0f} {MEASURES[bo.earliest.measure]}, but the plan "
                     f"{said} (re-plan it)", self.loc.program(*goal_path))
            return own
        mine = {t.date: (t.amount, path) for t, path in own}  # a target the goal did not raise keeps its line
        return [(t, mine[t.date][1] if t.date in mine and mine[t.date][0] == t.amount else goal_path)
                for t in with_goal_at(self.pi, period).program.buildout.targets]

    def _allocations(self) -> None:
        """GPUs ordered per period within each supplier allocation (max_new_gpus_per_period)."""
        check, before = "GPU allocations", len(self.report.findings)
        limited = 0
        for name, si in self.sites.items():
            for opt in site_compute(si, self.pi).gpus:
                if opt.max_new_gpus_per_period is None:
                    continue
                limited += 1
                ordered: dict[dt.date, float] = {}
                for o in self.timeline.orders:
                    if o.site == name and o.asset == f"gpus:{opt.model}":
                        ordered[o.order_date] = ordered.get(o.order_date, 0.0) + o.quantity
                for day, n in sorted(ordered.items()):
                    if n > opt.max_new_gpus_per_period + 1e-6:
                        self.add(check, VIOLATION, f"{quantity(n)} {opt.model} ordered at {name} on {day}, above the "
                                 f"allocation of {opt.max_new_gpus_per_period:,} a period",
                                 self.loc.gpu_option(si, opt.model, "max_new_gpus_per_period"))
        if limited and len(self.report.findings) == before:
            self.add(check, PASS, f"GPU orders within {limited} allocation{'s' if limited > 1 else ''} in every period")

    def _capital_per_year(self) -> None:
        """Capital paid per calendar year within buildout.max_capital_usd_per_year."""
        limit = self.pi.program.buildout.max_capital_usd_per_year
        if limit is None:
            return
        check, paid = "capital per year", {}
        for p in self.timeline.periods:
            paid[p.start.year] = paid.get(p.start.year, 0.0) + p.spend_usd.get("capital", 0.0)
        over = [(year, usd) for year, usd in sorted(paid.items()) if usd > limit * (1 + 1e-9) + 1e-3]
        for year, usd in over:
            self.add(check, VIOLATION, f"the plan pays ${quantity(usd)} of capital in {year}, above the limit of "
                     f"${quantity(limit)} a year", self.loc.program("buildout", "max_capital_usd_per_year"))
        if not over:
            self.add(check, PASS, f"capital within ${quantity(limit)} in every year (most: ${quantity(max(paid.values()))})")


def _measure(si: SiteInput, model: str, measure: str) -> float:
    spec = si.catalog.gpus.get(model)
    return gpu_measure(spec, measure) if spec is not None else 0.0
