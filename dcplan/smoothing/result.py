"""What ``smooth`` returns, and how an outcome's schedule becomes its figures: the costs, the
sizes, the energy overhead and the limits measured again."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dcplan.extras import pandas
from dcplan.schema.smoothing import Limits, SmoothingSpec
from dcplan.smoothing.metrics import LIMIT_UNIT, measure, violations
from dcplan.smoothing.prepare import DEFAULT_MIN_STEP_S
from dcplan.smoothing.run import Context, Outcome
from dcplan.smoothing.workload import Workload
from dcplan.solver import SolveResult

BROKEN_SHARE = 0.01
"""A limit the schedule breaks at the trace's own step by more than this share of it is said so,
where a step coarser than the default (DEFAULT_MIN_STEP_S) was asked for: the ripple within a
step that fine is the power supplies' time scale, which the model leaves out by design (see
dcplan.smoothing.api), and a step coarsened for a long trace (max_steps) was not the user's
choice, so "plan at a finer step" would not help there."""


@dataclass
class SmoothingResult:
    """What ``smooth`` found. ``schedule`` holds arrays at the model's step (``step_s``)."""

    status: str  # optimal | feasible (two-level: limits met, cost within `method['gap']` of a
    # lower bound) | time_limit | infeasible | no_solution | error
    workload: Workload
    spec: SmoothingSpec
    step_s: float
    reasons: list[str] = field(default_factory=list)
    schedule: dict[str, np.ndarray] = field(default_factory=dict)
    sizes: dict[str, float | None] = field(default_factory=dict)
    costs_usd_per_year: dict[str, float] = field(default_factory=dict)
    energy_overhead_fraction: float | None = None
    before: dict = field(default_factory=dict)
    after: dict | None = None
    trace_before: dict | None = None
    trace_after: dict | None = None
    decimation: dict = field(default_factory=dict)
    solve: SolveResult | None = None
    timings: dict[str, float] = field(default_factory=dict)
    objective_usd_per_year: float | None = None
    lower_bound_usd_per_year: float | None = None
    method: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    larger: SmoothingResult | None = None
    """The job scaled to the most GPUs a build-out may run at the site: the limits are in MW, so
    what smoothing needs grows faster than the GPUs (a second 100k H100 needs 84 MW, not 2 x 39.7);
    the plan's battery follows the line through the two (:func:`dcplan.model.storage`)."""

    @property
    def has_schedule(self) -> bool:
        return bool(self.schedule)

    @property
    def draw_added_fraction(self) -> float:
        """The energy smoothing adds (burn work, a floor, the stores' losses) as a share of the
        job's design IT: what it adds to a plan's hourly draw."""
        return (self.energy_overhead_fraction or 0.0) * self.before["mean_mw"] / self.workload.design_mw

    @property
    def peak_fraction(self) -> float:
        """The smoothed job's highest draw as a share of its design IT, at least 1: the design
        peak the plan's supply and cooling carry (above 1 only where charging a store at the
        job's own peak goes beyond it)."""
        peak = max(m["max_mw"] for m in (self.after, self.trace_after) if m)
        return max(1.0, peak / self.workload.design_mw)

    def schedule_frame(self):
        """The schedule as a pandas DataFrame, a row a step of ``step_s``, indexed by the time from
        the trace's start (a TimedeltaIndex); MW by column, the stores' charge in MWh (battery)
        and MJ (capacitors). Empty without a schedule. Needs pandas (``dcplan[pandas]``)."""
        pd = pandas()
        if not self.has_schedule:
            return pd.DataFrame()
        columns = {k: v for k, v in self.schedule.items() if k != "time_s"}
        return pd.DataFrame(columns, index=pd.to_timedelta(self.schedule["time_s"], unit="s").rename("time"))

    @property
    def total_cost_usd_per_year(self) -> float | None:
        return sum(self.costs_usd_per_year.values()) if self.has_schedule else None

    @property
    def limits(self) -> Limits:
        return self.spec.limits


def fill(r: SmoothingResult, ctx: Context, o: Outcome) -> None:
    """Put ``o``'s schedule in ``r`` with its figures: the limits measured again (also at the
    trace's own step where it was decimated), the energy overhead, each cost line, the sizes, and
    the gap to ``o``'s bound."""
    d = ctx.data
    T, dt = d.steps, d.step_s
    w = r.workload
    arr = o.arrays
    chosen = o.profile
    uplift = chosen.uplift_mw.copy() if chosen is not None else np.zeros(T)
    grid, burn = arr["grid_mw"], arr["burn_mw"]
    bc, bd = arr["battery_charge_mw"], arr["battery_discharge_mw"]
    cc, cd = arr["capacitor_charge_mw"], arr["capacitor_discharge_mw"]
    r.schedule = {
        "time_s": np.arange(T) * dt,
        "raw_load_mw": d.load_mw,
        "gpu_smoothing_mw": uplift,
        "burn_mw": burn,
        "battery_charge_mw": bc,
        "battery_discharge_mw": bd,
        "battery_soc_mwh": arr["battery_soc_mj"] / 3600.0,
        "capacitor_charge_mw": cc,
        "capacitor_discharge_mw": cd,
        "capacitor_soc_mj": arr["capacitor_soc_mj"],
        "grid_mw": grid,
    }
    lim = r.spec.limits
    r.after = measure(grid, dt, lim.swing_window_s, lim.spectral_mask)
    factor = r.decimation["factor"]
    if factor > 1:
        fine = w.load_mw[: T * factor] + np.repeat(grid - d.load_mw, factor)
        r.trace_after = measure(fine, w.time_step_s, lim.swing_window_s, lim.spectral_mask)
        coarse = dt > DEFAULT_MIN_STEP_S + 1e-9  # asked for, or max_steps's; finer is the supplies' scale
        broken = {k: v for k, v in violations(fine, w.time_step_s, lim).items()
                  if k == "spectral_mask" or v > BROKEN_SHARE * abs(getattr(lim, k))} if coarse else {}
        said = f"at the trace's own step ({w.time_step_s:g} s) the schedule breaks "
        # of the schedule kept: a result finished again (each candidate of a search) says it once
        r.notes = [n for n in r.notes if not n.startswith(said)]
        if broken:
            capped = w.steps > r.spec.max_steps  # the step is max_steps's: that is what to raise
            r.notes.append(said + ", ".join(f"{k} by {v:,.3g} {LIMIT_UNIT[k]}" for k, v in broken.items())
                           + f": the limits hold for the {dt:g} s block means only; plan with --resolution-s "
                           f"{w.time_step_s:g}" + (f" and max_steps {w.steps:,}" if capped else "")
                           + " to keep them at every step")
    load_sum = float(d.load_mw.sum())
    # work a ramp-up limit defers is done later at the same energy: it is not saved
    smoothing = float(uplift.sum()) + (chosen.deferred_mw_steps if chosen is not None else 0.0)
    per_step = ctx.per_step_usd
    # a state of charge left lower than it started is energy the stores still owe
    owed = 0.0
    for prefix, store in (("battery", d.battery), ("capacitor", d.capacitors)):
        if store is not None and o.method["method"] != "direct":
            soc = arr[prefix + "_soc_mj"]
            first = soc[0] - (store.eta_charge * arr[prefix + "_charge_mw"][0]
                              - arr[prefix + "_discharge_mw"][0] / store.eta_discharge) * dt
            owed += max(first - soc[-1], 0.0) / store.eta_charge / dt  # MW x steps
    losses_bat = float((bc - bd).sum())
    losses_cap = float((cc - cd).sum())
    extra = smoothing + float(burn.sum()) + losses_bat + losses_cap + owed
    r.energy_overhead_fraction = extra / load_sum if load_sum > 0 else None
    costs = {
        "energy_gpu_smoothing": per_step * smoothing,
        "energy_burn": per_step * float(burn.sum()),
        "energy_battery_losses": per_step * (losses_bat + owed),
        "energy_capacitor_losses": per_step * losses_cap,
    }
    gs = r.spec.mitigations.gpu_smoothing
    sizes: dict[str, float | None] = {
        "gpu_floor_fraction": chosen.floor_fraction if chosen is not None and gs is not None else None,
        "gpu_ramp_up_w_per_s": chosen.ramp_up_w_per_s if chosen is not None else None,
        "gpu_ramp_down_w_per_s": chosen.ramp_down_w_per_s if chosen is not None else None,
        "gpu_ramp_down_hysteresis_s": gs.ramp_down_hysteresis_s if chosen is not None and gs is not None else None,
        "gpu_slowdown_fraction": chosen.slowdown_fraction if chosen is not None else 0.0,
        "burn_peak_mw": float(burn.max(initial=0.0)),
        "burn_mwh_per_year": float(burn.sum()) * dt / 3600.0 * d.year_scale,
        "burn_on": bool(o.burn_on),
    }
    if chosen is not None and chosen.slowdown_usd_per_year:
        costs["gpu_ramp_up_slowdown"] = chosen.slowdown_usd_per_year
    if o.burn_on and d.burn_slowdown_usd_per_year:
        costs["burn_slowdown"] = d.burn_slowdown_usd_per_year
    if d.battery:
        p, e = o.sizes
        info = ctx.battery_info
        costs["battery_capex"] = p * info["power_capex_usd_per_mw_year"] + e * info["energy_capex_usd_per_mj_year"]
        costs["battery_fixed_om"] = p * info["fixed_om_usd_per_mw_year"]
        costs["battery_wear"] = d.wear_usd_per_mw_step * float(bd.sum())
        sizes.update({"battery_power_mw": p, "battery_energy_mwh": e / 3600.0,
                      "battery_duration_s": e / p if p > 1e-9 else None,
                      "battery_round_trip_efficiency": info["round_trip_efficiency"],
                      "battery_discharge_mwh_per_year": float(bd.sum()) * dt / 3600.0 * d.year_scale,
                      "battery_both_ways_mwh_per_year": float(np.minimum(bc, bd).sum()) * dt / 3600.0 * d.year_scale})
    if d.capacitors:
        # charged and discharged in one step: at full efficiency the model may, and says how much
        # (an audit saw 17.0 MW in and 14.5 MW out at once), as it does for the battery
        sizes.update({"capacitor_energy_mj": d.capacitors.fixed_energy_mj,
                      "capacitor_peak_mw": float(np.maximum(cc, cd).max(initial=0.0)),
                      "capacitor_both_ways_mj_per_year": float(np.minimum(cc, cd).sum()) * dt * d.year_scale})
        costs["capacitor_capex"] = ctx.cap_capex
    r.sizes = sizes
    r.costs_usd_per_year = costs
    total = sum(costs.values())
    r.objective_usd_per_year = total
    r.lower_bound_usd_per_year = o.lower_bound
    if o.lower_bound is not None and total > 0:
        r.method["gap"] = max(0.0, (total - o.lower_bound) / total)


def gap_of(r: SmoothingResult) -> float | None:
    """(cost - bound) / cost; None without a bound."""
    total = r.objective_usd_per_year
    if r.lower_bound_usd_per_year is None:
        return None
    return max(0.0, (total - r.lower_bound_usd_per_year) / total) if total > 0 else 0.0
