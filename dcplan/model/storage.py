"""Batteries: power and energy sized separately (or at a fixed duration), one-way charge and
discharge efficiencies (the catalog's, or the square root of the round trip each), an hour's
charge plus discharge within the power (as in the smoothing's model), state of charge cyclic
within each cycle of the time grid (the year, or each typical day)."""

from __future__ import annotations

import numpy as np
import pyomo.core as pyo

from dcplan.formulas import lead_time_months
from dcplan.model.context import Asset, SiteModel, value_of
from dcplan.model.rows import Rows, Term, row_family
from dcplan.plans.types import SitePlan

BINDING_TOL = 1e-6
COUPLES_STEPS = ("bat_soc_balance",)
"""The state of charge carries energy from one step to the next, a chain through the year that a
bound on hourly commitment prices rather than imposes (:mod:`dcplan.solver.lagrangian`). A month's
peak import is not one: it ties its hours as a design column does, and priced, an hour below the
peak would import more for free."""


def add_storage(sm: SiteModel) -> None:
    cand = sm.si.site.technologies.battery
    if cand is None:
        return
    b = sm.block
    spec = sm.si.catalog.storage[cand.type]
    eta_in, eta_out = spec.one_way_efficiencies()
    b.bat_new_mw = pyo.Var(bounds=(0, cand.max_power_mw))
    sm.limit(b.bat_new_mw, lambda: ("battery max_power_mw", ("site", "technologies", "battery", "max_power_mw")))
    b.bat_new_mwh = pyo.Var(bounds=(0, None))
    if cand.duration_h is not None:
        b.bat_duration = pyo.Constraint(expr=b.bat_new_mwh == cand.duration_h * b.bat_new_mw)
    power = b.bat_new_mw + cand.existing_power_mw
    energy = b.bat_new_mwh + cand.existing_energy_mwh
    held_mw, held_mwh = _hold_for_smoothing(sm, power, energy)
    free_power, free_energy = power - held_mw, energy - held_mwh  # what the hourly dispatch and N+1 may use
    b.bat_charge = pyo.Var(sm.steps, bounds=(0, None))
    b.bat_discharge = pyo.Var(sm.steps, bounds=(0, None))
    b.bat_soc = pyo.Var(sm.steps, bounds=(0, None))
    prev = sm.tg.previous().tolist()
    steps = list(sm.steps)
    charge, discharge, soc = ([x[t] for t in steps] for x in (b.bat_charge, b.bat_discharge, b.bat_soc))
    # an hour's charge and discharge share the power: a battery may charge for part of the hour
    # and discharge for the rest, never both at full power (held each to the power alone, a plan
    # at negative prices had charged and discharged in full in one hour to burn energy in losses).
    # Each alone within the power is implied, and kept for the decomposition, to which a row on
    # one dispatch column is a bound telling how far the design lets each reach (without them a
    # plan with hourly commitment and a battery took twice the dispatch solves)
    b.bat_charge_max = row_family(sm.steps, rows=[Rows(steps, [Term(charge), Term(free_power, -1.0)], upper=0.0)],
                                  implied=True)
    b.bat_discharge_max = row_family(sm.steps, rows=[Rows(steps, [Term(discharge), Term(free_power, -1.0)],
                                                          upper=0.0)], implied=True)
    b.bat_power_max = row_family(sm.steps, rows=[Rows(steps, [Term(charge), Term(discharge), Term(free_power, -1.0)],
                                                      upper=0.0)])
    b.bat_soc_max = row_family(sm.steps, rows=[Rows(steps, [Term(soc), Term(free_energy, -1.0)], upper=0.0)])
    b.bat_soc_balance = row_family(sm.steps, rows=[Rows(steps, [  # soc[t] = soc[t-1] + charge in - discharge out
        Term(soc), Term([soc[p] for p in prev], -1.0), Term(charge, -eta_in), Term(discharge, 1 / eta_out)],
        lower=0.0, upper=0.0)])
    where = ("site", "technologies", "battery")
    less = " less the share held for smoothing the training job" if sm.smoothing is not None else ""
    sm.explain(b.bat_charge_max, lambda t: (f"battery charging (MW) above its power{less}", where))
    sm.explain(b.bat_discharge_max, lambda t: (f"battery discharge (MW) above its power{less}", where))
    sm.explain(b.bat_power_max, lambda t: (f"battery charge plus discharge (MW) above its power{less}", where))
    sm.explain(b.bat_soc_max, lambda t: (f"battery state of charge (MWh) above its energy{less}", where))
    sm.explain(b.bat_soc_balance, lambda t: (
        f"battery state of charge (MWh) does not follow charge and discharge at the current efficiencies "
        f"({eta_in:.1%} in, {eta_out:.1%} out)", ("catalog", "storage", cand.type, "round_trip_efficiency")))
    sm.supply.append(b.bat_discharge)
    sm.withdraw.append(b.bat_charge)
    sm.storage = (b.bat_charge, b.bat_discharge)
    sm.battery_size = (free_power, free_energy)
    sm.firm_mw.append(free_power)
    sm.most_mw["battery"] = lambda: value_of(free_power)
    sm.add_dispatch("battery_charge_mw", at=lambda t: b.bat_charge[t])
    sm.add_dispatch("battery_discharge_mw", at=lambda t: b.bat_discharge[t])
    sm.add_dispatch("battery_soc_mwh", at=lambda t: b.bat_soc[t])
    life = sm.life("storage", cand.type, spec.lifetime_years)
    crf = sm.crf("storage", cand.type, spec.lifetime_years)
    lead = lead_time_months(cand.lead_time_months, spec.lead_time_months)
    for part, var, unit, field, existing in (
            ("power", b.bat_new_mw, "MW", "power_capex_usd_per_kw", cand.existing_power_mw),
            ("energy", b.bat_new_mwh, "MWh", "energy_capex_usd_per_kwh", cand.existing_energy_mwh)):
        sm.add_asset(Asset(key=f"battery_{part}:{cand.type}", label=f"{spec.name} ({part})", unit=unit, in_use=var,
                           capex_usd_per_unit=1000 * getattr(spec, field), life_years=life, crf=crf,
                           lead_time_months=lead, component="battery_capex",
                           price_inputs=(("catalog", "storage", cand.type, field),), existing=existing))
    sm.add_cost("battery_fixed_om", power * 1000 * spec.fixed_om_usd_per_kw_year,
                ("catalog", "storage", cand.type, "fixed_om_usd_per_kw_year"))


SMOOTHING_NEEDS = {"power": ("battery_power_mw", "MW"), "energy": ("battery_energy_mwh", "MWh")}
SMOOTHING_LIMIT = ("the training job's smoothing, which needs a battery with its GPUs", ("site", "smoothing", "limits"))
"""How a diagnosis names the rows that hold a battery for the job's smoothing: the limits it keeps
the job within are what ask for the battery."""


def _hold_for_smoothing(sm: SiteModel, power, energy) -> tuple:
    """The share of the battery (MW, MWh) held back for smoothing the site's training job: the
    smoothing swings it within seconds around the hour, at any hour, so the hourly dispatch and
    the firm capacity counted for N+1 have only the rest (a battery sized for the larger of the
    two duties had counted its power twice). The share is what the smoothing sized; in a
    build-out, for the GPUs running: in proportion to them up to the job's, and beyond, along the
    line to what the job needs at the most GPUs the site may run (the limits are in MW: the need
    grows faster than the GPUs, and the line through two points of a convex need lies above it
    between them). (0, 0) where nothing is smoothed."""
    smoothing = sm.smoothing
    if smoothing is None:
        return 0.0, 0.0
    b = sm.block
    # a build-out's GPUs running (a committed plan's smoothing, in `check`, is for its own GPUs)
    job = smoothing.workload.gpus if sm.period is not None else None
    gpus = sum(b.gpus[g] for g in b.G) if job else None
    larger = smoothing.larger if gpus is not None else None
    if not any((sizes.get(key) or 0.0) > 0 for sizes in (smoothing.sizes, larger.sizes if larger else {})
               for key, _ in SMOOTHING_NEEDS.values()):
        return 0.0, 0.0
    lines = {}  # (power or energy, line) -> (need at the job's GPUs, the need's rise per GPU)
    for k, (key, _) in SMOOTHING_NEEDS.items():
        need = smoothing.sizes.get(key) or 0.0
        lines[k, "job"] = (need, need / job if gpus is not None else 0.0)
        if larger is not None:
            rise = (larger.sizes.get(key) or 0.0) - need
            lines[k, "larger"] = (need, rise / (larger.workload.gpus - job))
    if gpus is None:
        held = {k: lines[k, "job"][0] for k in SMOOTHING_NEEDS}
        sm.smoothing_held = lambda: dict(held)
    else:
        b.bat_smoothing_held = pyo.Var(list(SMOOTHING_NEEDS), bounds=(0, None))
        held = {k: b.bat_smoothing_held[k] for k in SMOOTHING_NEEDS}
        b.bat_smoothing_line = pyo.Constraint(list(lines), rule=lambda m, k, line: held[k] >= lines[k, line][0]
                                              + lines[k, line][1] * (gpus - job))
        sm.explain(b.bat_smoothing_line, lambda k, line: (
            f"battery {k} held for smoothing below what the training job needs ({lines[k, line][0]:,.2f} "
            f"{SMOOTHING_NEEDS[k][1]} on its GPUs), in step with the GPUs running",
            ("site", "smoothing", "mitigations", "battery")))
        sm.limit(b.bat_smoothing_line, lambda k, line: SMOOTHING_LIMIT)
        sm.smoothing_held = lambda: {"gpus": value_of(gpus), **{
            k: max(0.0, *(a + rise * (value_of(gpus) - job) for (kk, _), (a, rise) in lines.items() if kk == k))
            for k in SMOOTHING_NEEDS}}
    built = {"power": power, "energy": energy}
    b.bat_for_smoothing = pyo.Constraint(list(SMOOTHING_NEEDS), rule=lambda m, k: built[k] >= held[k])
    sm.explain(b.bat_for_smoothing, lambda k: (
        f"battery {k} below the {lines[k, 'job'][0]:,.2f} {SMOOTHING_NEEDS[k][1]} the training job's smoothing "
        f"needs{' on its GPUs, and in step with the GPUs running' if gpus is not None else ''}",
        ("site", "smoothing", "mitigations", "battery")))
    sm.limit(b.bat_for_smoothing, lambda k: SMOOTHING_LIMIT)
    return held["power"], held["energy"]


def report(sm: SiteModel, plan: SitePlan) -> None:
    """Power and energy built (with what exists), energy through it, and the power limit reached."""
    cand = sm.si.site.technologies.battery
    if cand is None:
        return
    b, w = sm.block, sm.tg.weight
    plan.capacity["battery_mw"] = max(0.0, value_of(b.bat_new_mw)) + cand.existing_power_mw  # no solver dust
    plan.capacity["battery_mwh"] = max(0.0, value_of(b.bat_new_mwh)) + cand.existing_energy_mwh
    plan.energy_mwh["battery_discharge"] = float(np.sum(w * plan.dispatch["battery_discharge_mw"]))
    plan.energy_mwh["battery_charge"] = float(np.sum(w * plan.dispatch["battery_charge_mw"]))
    if cand.max_power_mw is not None and value_of(b.bat_new_mw) >= cand.max_power_mw - BINDING_TOL:
        plan.binding.append(f"battery: built to its {cand.max_power_mw:g} MW limit (max_power_mw)")


def commit(sm: SiteModel, built: SitePlan) -> None:
    """Fix the new power and energy at a committed plan's (less what exists)."""
    cand = sm.si.site.technologies.battery
    if cand is None:
        return
    sm.block.bat_new_mw.fix(max(0.0, built.capacity.get("battery_mw", 0.0) - cand.existing_power_mw), skip_validation=True)
    sm.block.bat_new_mwh.fix(max(0.0, built.capacity.get("battery_mwh", 0.0) - cand.existing_energy_mwh), skip_validation=True)
