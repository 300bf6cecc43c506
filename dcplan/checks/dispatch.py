"""Checks of every step of the committed dispatch: the model's own rows it breaks under today's
inputs (each family explains itself), and the facility load met (on a typical-days plan, also
outside its days)."""

from __future__ import annotations

import numpy as np

from dcplan.checks.evaluate import COMPLETION_TIME_S, Evaluation
from dcplan.checks.report import PASS, WARNING
from dcplan.checks.state import SiteState
from dcplan.checks.verification import REL_TOL, TOL_MW, Verification
from dcplan.formatting import quantity
from dcplan.formulas import facility_load_mw
from dcplan.locate import Where
from dcplan.model.timegrid import month_of_hour
from dcplan.series import HOURS_PER_YEAR


def check_dispatch(v: Verification) -> None:
    """In every period, the model rows the committed dispatch breaks, and the facility load met in
    every step (violations held back for a re-dispatch: ``Verification.issue``)."""
    for (states, _), evaluation in zip(v.slices, v.evaluations):
        _broken_rows(v, states, evaluation)
    for name, final in v.states.items():
        check, steps = f"load every hour {name}", 0
        for states, _ in v.slices:
            s = states[name]
            if s.cooling_known and len(s.weight) and s.figures is not None:  # else: _broken_rows warned
                _load_met(v, s, check)
                steps += len(s.weight)
        if not any(f.check == check for f in v.dispatch_issues) and final.cooling_known and final.figures is not None:
            v.add(check, PASS, f"the committed dispatch meets the current facility load (peak "
                  f"{final.load_mw.max(initial=0):,.1f} MW) in all {steps:,} steps within every source's limit")


def _broken_rows(v: Verification, states: dict[str, SiteState], evaluation: Evaluation | None) -> None:
    """The model's own rows that the committed build and dispatch break under today's inputs
    (each family explains itself)."""
    some = next((s for s in states.values() if s.cooling_known and len(s.weight)), None)
    if some is None:
        return
    if evaluation is None:
        v.add("model rows", WARNING, f"the committed dispatch{some.when} could not be evaluated on the current "
              f"model (HiGHS found no completion of it within {COMPLETION_TIME_S:g} s, or its figures are too large "
              "to compute with): its limits per source and its caps are unchecked")
        return
    for b in evaluation.broken:
        s = states[b.site]
        at = f" at hour {b.worst_hour} of the year{s.when}" if b.worst_hour is not None else s.when
        spread = f", over in {_hours(b.hours)}" if b.hours else ""
        v.issue(f"load every hour {b.site}", f"{b.message}: by up to {quantity(b.worst)}{at}{spread}",
                v.loc.input(s.si, b.input))


def _load_met(v: Verification, s: SiteState, check: str) -> None:
    """The facility load met: the committed supply, as today's model sums it (shed load
    included where the site allows it), against the load of today's inputs; the message
    names what moved the load since the plan. (The limits of each source are the model's
    rows: :meth:`_broken_rows`.)"""
    si = s.si
    shed = s.col("unserved_mw")
    if shed.max(initial=0) > TOL_MW and si.site.reliability.unserved_energy_usd_per_mwh is None:
        v.issue(check, f"the plan sheds up to {shed.max():,.1f} MW of load{s.when} but the site no longer allows "
                "load shedding", v.loc.site(si, "reliability"))
    supply = s.figures.supply_mw
    short = s.load_mw - supply
    bad = short > TOL_MW + REL_TOL * s.load_mw
    if bad.any():
        i = int(np.argmax(short))
        v.issue(check, f"the committed dispatch supplies {supply[i]:,.1f} MW at hour {s.hours[i]} of the "
                f"year{s.when} but the facility now draws {s.load_mw[i]:,.1f} MW ({s.it_mw:,.1f} MW IT x PUE "
                f"{s.pue[i]:.3f}{f' x {s.draw_fraction:.3f} drawn' if s.draw_fraction != 1 else ''}); short by up to "
                f"{short[i]:,.1f} MW in {_hours(float(np.sum(s.weight[bad])))}", _load_culprit(v, s))
    if (v.plan.time_resolution.method == "typical_days" and si.site.reliability.unserved_energy_usd_per_mwh is None
            and not any(f.check.endswith(f" {s.name}") for f in v.dispatch_issues)):
        _whole_year(v, s, check)


def _whole_year(v: Verification, s: SiteState, check: str) -> None:
    """A typical-days plan is dispatched on its representative days only: warn of the hours it
    stands for (the year; a build-out period's months) whose load exceeds the most every source
    could deliver then, power caps taken as deep as they go, as the model's technologies state
    it (``SiteModel.most_mw``)."""
    if s.figures is None:
        return
    hours = np.arange(HOURS_PER_YEAR)
    if s.period:  # a build-out period: the months from its first day's to its last day's
        months = [(s.start.month - 1 + k) % 12
                  for k in range((s.end.year - s.start.year) * 12 + s.end.month - s.start.month + 1)]
        hours = np.flatnonzero(np.isin(month_of_hour(s.start.year), months))
    load = facility_load_mw(s.it_mw, s.si.pue[s.entry.cooling][hours], s.draw_fraction)
    parts = {k: mw[hours] for k, mw in s.figures.most_mw.items()}
    supply = sum(parts.values(), np.zeros_like(load))
    short = load - supply
    bad = short > TOL_MW + REL_TOL * load
    if bad.any():
        i = int(np.argmax(short))
        shown = ", ".join(f"{k} {mw[i]:,.1f}" for k, mw in parts.items())
        span = "its months" if s.period else "the year"
        v.add(check, WARNING, f"over {span}{s.when}, which the plan's typical days stand for, the facility draws up to "
              f"{load[i]:,.1f} MW (hour {hours[i]} of the year), more than the plan can serve then ({supply[i]:,.1f} "
              f"MW: {shown}); short in {int(bad.sum()):,} h: a full-year plan would size for them",
              _load_culprit(v, s))


def _load_culprit(v: Verification, s: SiteState) -> Where:
    """The input that moved the load: the PUE of the committed cooling, else the IT per GPU."""
    si = s.si
    if "pue" in s.d and np.max(np.abs(s.pue - s.d["pue"]), initial=0) > 5e-4:
        index = next(i for i, c in enumerate(si.site.cooling) if c.type == s.entry.cooling)
        if si.site.cooling[index].pue is None:
            return v.loc.catalog(si, "cooling", s.entry.cooling, "pue")
        return v.loc.site(si, "cooling", index, "pue")
    if abs(s.it_mw - s.entry.it_mw) > 1e-3 * max(1.0, s.entry.it_mw):
        for model in s.gpus:
            where = v.loc.catalog(si, "gpus", model, "it_power_per_gpu_w")
            if where.file in (si.doc.name, v.pi.doc.name if v.pi.doc else None):
                return where
        return v.loc.compute(si, "provisioning_utilisation")
    return Where(v.c.dispatch_name, None, "")


def _hours(x: float) -> str:
    return f"{x:,.0f} h/yr" if x >= 1 else f"{x:.2f} h/yr"
