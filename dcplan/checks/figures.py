"""Checks that a committed plan.yaml agrees with itself: the figures the other checks do not
recompute must add up, so that an edited file is not verified. The build checks read each
site's ``gpus``, the model's evaluation its ``gpus_new``, and no check recomputed the totals: a
hand-edited GPU count or total cost had passed `dcplan check`."""

from __future__ import annotations

from dcplan.checks.report import PASS, VIOLATION, WARNING
from dcplan.checks.verification import Verification
from dcplan.model.build import site_compute
from dcplan.plans.files import figures_of
from dcplan.plans.types import gas_key

FIGURE_TOLERANCE = 1e-5  # relative (and $1): plan.yaml writes its figures to six or more digits
TOTALS_TOLERANCE = 1e-4
"""Relative: the totals made again from figures written to six digits and a dispatch written to
four decimals (a small site's energy) agree to about 1e-6; an edit moves one by more."""
BUILT_TOLERANCE = 1e-4
"""Relative: a site's figures read again from a dispatch written to four decimals and written to
six digits themselves."""
BUILT_ABSOLUTE = {"capacity": 1e-3, "yearly": 2.0}
"""Absolute, beside :data:`BUILT_TOLERANCE`: MW are written to 1e-4; a year's energy read from a
dispatch written to four decimals may move by 8,760 h x 0.00005 MW = 0.44 MWh a column (a 0.3 kW
battery's charge read 1.095 MWh against the 1.16 solved), and emissions and water, made of a few
columns at up to about one tonne or cubic metre a MWh, by a few times that: 2 covers them, and an
edit that matters moves a figure by far more."""


def apart(a: float, b: float) -> bool:
    """Two figures of a plan that should be one, further apart than plan.yaml's digits allow."""
    return abs(a - b) > FIGURE_TOLERANCE * max(abs(a), abs(b)) + 1.0


def dollars_apart(a: float, b: float) -> bool:
    """Two sums of cost lines written to the whole dollar (and so added exactly) that should be
    one, more than a dollar apart: an edit of $706 on a $228 M total had passed as round-off."""
    return abs(a - b) > 1.0


def check_plan_figures(v: Verification) -> None:
    """Each site's GPUs are its new ones and the site's existing ones; each cost line of the
    breakdown is the sites' lines; the total is the breakdown's lines; the other totals (GPUs,
    energy, cost per MWh and per GPU-hour, emissions) what the sites and the dispatch make."""
    check, before, plan = "plan figures", len(v.report.findings), v.plan
    for name, entry in plan.sites.items():
        si = v.sites.get(name)
        if si is None:  # a site the program no longer lists: a structure finding
            continue
        existing = {o.model: o.existing_gpus for o in site_compute(si, v.pi).gpus}
        for model in sorted(set(entry.gpus) | set(entry.gpus_new)):
            total, new, old = entry.gpus.get(model, 0), entry.gpus_new.get(model, 0), existing.get(model, 0)
            if total != new + old:
                v.add(check, VIOLATION, f"plan.yaml has {total:,} {model} GPUs at {name}, but {new:,} new and "
                      f"the {old:,} the site has make {new + old:,}: the file was edited, or the site's existing "
                      "GPUs changed: re-plan", v.c.where(("sites", name, "gpus", model)))
        for cand in si.site.technologies.gas:
            units, new = entry.capacity.get(gas_key(cand.key, "units")), entry.capacity.get(gas_key(cand.key, "new_units"))
            if units is not None and new is not None and units != new + cand.existing_units:
                v.add(check, VIOLATION, f"plan.yaml has {units:g} {cand.key} units in use at {name}, but {new:g} new "
                      f"and the {cand.existing_units} the site has make {new + cand.existing_units:g}: the file was "
                      "edited, or the site's existing units changed: re-plan",
                      v.c.where(("sites", name, "capacity", gas_key(cand.key, "units"))))
    by_line: dict[str, float] = {}
    for entry in plan.sites.values():
        for line, usd in entry.costs_usd_per_year.items():
            by_line[line] = by_line.get(line, 0.0) + usd
    breakdown = {k: u for k, u in plan.cost_breakdown_usd_per_year.items() if u is not None}
    for line in sorted(set(by_line) | set(breakdown)) if breakdown else ():  # (a plan may leave it out)
        if dollars_apart(breakdown.get(line, 0.0), by_line.get(line, 0.0)):
            v.add(check, VIOLATION, f"cost_breakdown_usd_per_year.{line} is ${breakdown.get(line, 0.0):,.0f}/yr but "
                  f"the sites' {line} lines add up to ${by_line.get(line, 0.0):,.0f}/yr: the file was edited: re-plan",
                  v.c.where(("cost_breakdown_usd_per_year", line)))
    total = plan.totals.get("total_cost_usd_per_year")
    if total is not None and breakdown and dollars_apart(total, sum(breakdown.values())):
        v.add(check, VIOLATION, f"totals.total_cost_usd_per_year is ${total:,.0f}/yr but its cost lines add up to "
              f"${sum(breakdown.values()):,.0f}/yr: the file was edited: re-plan",
              v.c.where(("totals", "total_cost_usd_per_year")))
    made = figures_of(plan, v.c.dispatch)
    for key, stated in plan.totals.items():
        again = made.get(key)
        if stated is None or again is None or key == "total_cost_usd_per_year":  # (the total: above, to the dollar)
            continue
        tolerance = 0.0 if key == "gpus" else TOTALS_TOLERANCE * max(abs(stated), abs(again)) + 1e-6  # GPUs: whole
        if abs(stated - again) > tolerance:
            v.add(check, VIOLATION, f"totals.{key} is {stated:,.6g} but the plan's sites and dispatch make it "
                  f"{again:,.6g}: the file was edited: re-plan", v.c.where(("totals", key)))
    if len(v.report.findings) == before:
        v.add(check, PASS, "each site's GPUs are its new and existing ones; the cost lines add up to the total; "
              "the totals are the sites' figures")


def check_built_figures(v: Verification) -> None:
    """Each site's figures that follow from its committed build and dispatch (units in use, MW
    and peaks, energy by source, emissions, water) against what the model reads of them under
    today's inputs: a warning where one moved past plan.yaml's digits (edited, or an input such
    as a unit's rating changed). A single-period plan's; a build-out's periods are checked by
    their orders. None for a plan with any violation: it must change, and its figures with it."""
    evaluation = v.evaluations[-1] if v.evaluations else None
    if v.timeline is not None or evaluation is None or any(f.status == VIOLATION for f in v.report.findings):
        return  # (a violated plan must change: what moved is said at the input, not again at its figures)
    check, before = "built figures", len(v.report.findings)
    for name, entry in v.plan.sites.items():
        made = evaluation.plans.get(name)
        if made is None:
            continue
        stated = {("capacity", k): x for k, x in entry.capacity.items() if not k.startswith("smoothing_")}
        stated.update({("energy_mwh_per_year", k): x for k, x in entry.energy_mwh_per_year.items()})
        stated.update({("emissions_t_per_year", k): x for k, x in entry.emissions_t_per_year.items()})
        stated[("water_m3_per_year",)] = entry.water_m3_per_year
        again = {("capacity", k): x for k, x in made.capacity.items()}
        again.update({("energy_mwh_per_year", k): x for k, x in made.energy_mwh.items()})
        again.update({("emissions_t_per_year", "co2"): made.co2_t, ("emissions_t_per_year", "nox"): made.nox_t,
                      ("water_m3_per_year",): made.water_m3})
        for key, value in stated.items():
            now = again.get(key)
            floor = BUILT_ABSOLUTE["capacity" if key[0] == "capacity" else "yearly"]
            if value is None or now is None or abs(value - now) <= BUILT_TOLERANCE * max(abs(value), abs(now)) + floor:
                continue
            v.add(check, WARNING, f"{value:,.6g} in plan.yaml, but the committed build and dispatch make "
                  f"{now:,.6g} under today's inputs: the file was edited, or an input changed since: re-plan",
                  v.c.where(("sites", name, *key)))
    if len(v.report.findings) == before:
        v.add(check, PASS, "each site's units, MW, energy, emissions and water are what its committed build "
              "and dispatch make")
