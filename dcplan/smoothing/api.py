"""The smoothing library API: ``smooth(workload, spec) -> SmoothingResult``.

Steps: pick the model's time step (decimating the trace by block means when it is finer than
``resolution_s`` or longer than ``max_steps``); precompute what each GPU smoothing setting does
to the GPUs' power at the trace's own resolution; build and solve the model
(:mod:`dcplan.smoothing.model`); read back the schedule, the sizes, the costs and the worst
ramps and swings before and after. When the limits cannot be met, say which, from a cheap
check and from an elastic re-solve that finds the least violation.

Decimation error: the model sees block means. Within a block the raw load deviates from its
mean by at most ``decimation['ripple_mw']`` (reported); the schedule's decisions are held over
the block, so at the trace's resolution the grid sees the model's series plus that ripple: the
swing can exceed the model's by at most twice the ripple, and steps shorter than the model's
are not constrained (that is the rack capacitors' and power supplies' time scale). The result
reports the limits re-measured at the trace's resolution (``trace_after``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dcplan.catalog import builtin_catalog
from dcplan.errors import InputError, Problem
from dcplan.model.context import capital_recovery_factor
from dcplan.smoothing.limits import (BATTERY_CYCLE_DEPTH, BATTERY_CYCLE_LIFE, Battery, Burn,
                                     Capacitors, GpuSmoothing, Limits, SmoothingSpec,
                                     load_smoothing_spec, with_overrides)
from dcplan.smoothing.metrics import measure, violations
from dcplan.smoothing.model import ModelData, Profile, SmoothingModel, Store, build, values
from dcplan.smoothing.workload import Workload, load_workload
from dcplan.solver import SolveOptions, SolveResult, solve

DEFAULT_MIN_STEP_S = 0.1
"""Model step when the trace is finer and no resolution is asked for."""

SLACK_TOL_MW = 1e-6


@dataclass
class SmoothingResult:
    """What ``smooth`` found. ``schedule`` holds arrays at the model's step (``step_s``)."""

    status: str  # optimal | time_limit | infeasible | no_solution | error
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

    @property
    def has_schedule(self) -> bool:
        return bool(self.schedule)

    @property
    def total_cost_usd_per_year(self) -> float | None:
        return sum(self.costs_usd_per_year.values()) if self.has_schedule else None

    @property
    def limits(self) -> Limits:
        return self.spec.limits


# --- preparation -------------------------------------------------------------------------

def _decimation(w: Workload, spec: SmoothingSpec) -> tuple[int, int]:
    """(factor, model steps): block means of ``factor`` trace steps."""
    dt = w.time_step_s
    wanted = spec.resolution_s if spec.resolution_s is not None else max(dt, DEFAULT_MIN_STEP_S)
    factor = max(1, int(round(wanted / dt)))
    if w.steps // factor > spec.max_steps:
        factor = int(math.ceil(w.steps / spec.max_steps))
    steps = w.steps // factor
    if steps < 2:
        raise InputError([Problem(w.source or w.name, None, "resolution_s",
                                  f"the trace ({w.duration_s:g} s) is shorter than two model steps "
                                  f"of {factor * dt:g} s")])
    return factor, steps


def _blocks(x: np.ndarray, factor: int, steps: int) -> np.ndarray:
    return x[: steps * factor].reshape(steps, factor).mean(axis=1)


def _smoothed_gpu(gpu: np.ndarray, floor_mw: float, up_mw_per_step: float | None,
                  down_mw_per_step: float | None) -> np.ndarray:
    """GPU power under a floor and ramp limits: the target is max(power, floor); the power
    follows it no faster than the ramp limits."""
    target = np.maximum(gpu, floor_mw)
    if up_mw_per_step is None and down_mw_per_step is None:
        return target
    up = math.inf if up_mw_per_step is None else up_mw_per_step
    down = math.inf if down_mw_per_step is None else down_mw_per_step
    out = np.empty_like(target)
    prev = float(target[-1])  # start from the end: the trace as one period of a steady state
    for _ in range(2):
        for i, want in enumerate(target.tolist()):
            prev = min(want, prev + up) if want > prev else max(want, prev - down)
            out[i] = prev
    return out


def _profiles(w: Workload, gs: GpuSmoothing | None, burn: Burn | None, factor: int, steps: int,
              per_step_usd: float, slowdown_usd_per_fraction: float) -> list[Profile]:
    tdp = w.tdp_mw
    gpu = w.gpu_mw[: steps * factor]
    dt = w.time_step_s
    ceiling = burn.max_power_fraction * tdp if burn is not None else None
    if gs is None:
        settings = [(0.0, None, None)]
    else:
        settings = [(f, gs.ramp_up_w_per_s, gs.ramp_down_w_per_s) for f in sorted(set(gs.floor_fractions))]
    gpu_energy = float(gpu.sum())
    out: list[Profile] = []
    for floor, up, down in settings:
        q = _smoothed_gpu(gpu, floor * tdp,
                          None if up is None else up * w.gpus / 1e6 * dt,
                          None if down is None else down * w.gpus / 1e6 * dt)
        uplift_fine = q - gpu
        deferred = float(np.maximum(-uplift_fine, 0.0).sum())
        slowdown = deferred / gpu_energy if gpu_energy > 0 else 0.0
        room = _blocks(np.maximum(ceiling - q, 0.0), factor, steps) if ceiling is not None else None
        uplift = _blocks(uplift_fine, factor, steps)
        # deferred work is done later: its energy is still paid, and the job takes longer
        p = Profile(floor, uplift, room, slowdown, deferred / factor, per_step_usd / factor * deferred,
                    slowdown_usd_per_fraction * slowdown, up, down)
        if any(np.allclose(p.uplift_mw, o.uplift_mw, rtol=0, atol=1e-12) and p.fixed_cost_usd_per_year
               == o.fixed_cost_usd_per_year for o in out):
            continue  # a floor below every trough does what a lower one does
        out.append(p)
    return out


def _battery(b: Battery, discount_rate: float) -> tuple[Store, dict]:
    cat = builtin_catalog().storage[b.type]

    def pick(name):
        v = getattr(b, name)
        return getattr(cat, name) if v is None else v

    power_capex, energy_capex = pick("power_capex_usd_per_kw"), pick("energy_capex_usd_per_kwh")
    fom, rte, life = pick("fixed_om_usd_per_kw_year"), pick("round_trip_efficiency"), pick("lifetime_years")
    crf = capital_recovery_factor(discount_rate, life)
    wear = b.degradation_usd_per_mwh if b.degradation_usd_per_mwh is not None \
        else energy_capex * 1000.0 / (BATTERY_CYCLE_LIFE * BATTERY_CYCLE_DEPTH)
    eta = math.sqrt(rte)
    store = Store(eta, eta, None, b.max_power_mw,
                  None if b.max_energy_mwh is None else b.max_energy_mwh * 3600.0, b.max_c_rate_per_h,
                  power_usd_per_mw_year=power_capex * 1000.0 * crf + fom * 1000.0,
                  energy_usd_per_mj_year=energy_capex * 1000.0 / 3600.0 * crf,
                  wear_usd_per_mwh=wear)
    info = {"power_capex_usd_per_mw_year": power_capex * 1000.0 * crf, "fixed_om_usd_per_mw_year": fom * 1000.0,
            "energy_capex_usd_per_mj_year": energy_capex * 1000.0 / 3600.0 * crf,
            "round_trip_efficiency": rte, "wear_usd_per_mwh": wear}
    return store, info


def _need_gpus(w: Workload, names: list[str]) -> None:
    if names and w.tdp_mw is None:
        raise InputError([Problem(w.source or w.name, None, "gpu",
                                  f"mitigations {', '.join(names)} act on the GPUs: the workload needs a GPU "
                                  "model and count (`gpu:` and `gpus:` in a workload file, or --gpu and --gpus)")])


# --- solve -------------------------------------------------------------------------------

def smooth(workload: Workload, spec: SmoothingSpec | None = None, options: SolveOptions | None = None) -> SmoothingResult:
    """Choose mitigation sizes and a schedule that keep what the grid sees within
    ``spec.limits`` at least annual cost. Raises :class:`InputError` for unusable input; an
    infeasible problem is a result with ``status == 'infeasible'`` and ``reasons``."""
    t0 = time.perf_counter()
    spec = spec or SmoothingSpec()
    options = options or SolveOptions()
    w = workload
    mit, econ, lim = spec.mitigations, spec.economics, spec.limits
    _need_gpus(w, [n for n in ("gpu_smoothing", "burn", "capacitors") if getattr(mit, n) is not None])
    factor, steps = _decimation(w, spec)
    step = factor * w.time_step_s
    load = _blocks(w.load_mw, factor, steps)
    year_scale = econ.job_hours_per_year * 3600.0 / (steps * step)
    per_step_usd = econ.energy_price_usd_per_mwh * year_scale * step / 3600.0
    slowdown_value = econ.throughput_value_usd_per_gpu_hour * (w.gpus or 0) * econ.job_hours_per_year
    profiles = []
    if w.tdp_mw is not None and (mit.gpu_smoothing is not None or mit.burn is not None):
        profiles = _profiles(w, mit.gpu_smoothing, mit.burn, factor, steps, per_step_usd, slowdown_value)
    data = ModelData(step, load, lim, econ.energy_price_usd_per_mwh, year_scale, profiles,
                     burn=mit.burn is not None,
                     burn_slowdown_usd_per_year=(mit.burn.slowdown_fraction * slowdown_value
                                                 if mit.burn is not None else 0.0))
    battery_info = {}
    if mit.battery is not None:
        data.battery, battery_info = _battery(mit.battery, econ.discount_rate)
    cap_capex = 0.0
    if mit.capacitors is not None:
        c = mit.capacitors
        eta = math.sqrt(c.round_trip_efficiency)
        data.capacitors = Store(eta, eta, fixed_energy_mj=c.j_per_gpu * w.gpus / 1e6)
        cap_capex = c.capex_usd_per_gpu * w.gpus * capital_recovery_factor(econ.discount_rate, c.lifetime_years)
    ripple = float(np.abs(w.load_mw[: steps * factor] - np.repeat(load, factor)).max()) if factor > 1 else 0.0
    decimation = {"trace_step_s": w.time_step_s, "model_step_s": step, "factor": factor, "model_steps": steps,
                  "dropped_s": (w.steps - steps * factor) * w.time_step_s, "ripple_mw": ripple}
    result = SmoothingResult("error", w, spec, step, before=measure(load, step, lim.swing_window_s),
                             decimation=decimation)
    if factor > 1:
        result.trace_before = measure(w.load_mw, w.time_step_s, lim.swing_window_s)
    prepare = time.perf_counter() - t0
    sm = build(data)
    res = solve(sm.model, options)
    result.solve = res
    result.timings = {"prepare_s": prepare, "build_s": sm.build_seconds, "compile_s": res.compile_seconds,
                      "solve_s": res.solve_seconds}
    result.status = res.status
    if res.status == "infeasible":
        t1 = time.perf_counter()
        result.reasons = diagnose(data, spec, options)
        result.timings["diagnose_s"] = time.perf_counter() - t1
    elif res.has_solution:
        t1 = time.perf_counter()
        _extract(result, sm, battery_info, cap_capex, per_step_usd)
        result.objective_usd_per_year = res.objective
        result.timings["extract_s"] = time.perf_counter() - t1
    else:
        result.reasons = [f"solver: {res.status}" + (f" ({res.message})" if res.message else "")]
    result.timings["total_s"] = time.perf_counter() - t0
    return result


def _extract(r: SmoothingResult, sm: SmoothingModel, battery_info: dict, cap_capex: float,
             per_step_usd: float) -> None:
    m, d = sm.model, sm.data
    T, dt = d.steps, d.step_s
    w = r.workload
    zeros = np.zeros(T)
    chosen = None
    if sm.choice:
        z = [m.z[k].value or 0.0 for k in range(len(d.profiles))]
        chosen = d.profiles[int(np.argmax(z))]
    elif d.profiles:
        chosen = d.profiles[0]
    uplift = chosen.uplift_mw.copy() if chosen is not None else zeros
    burn = values(m.burn, T) if hasattr(m, "burn") else zeros
    bc = values(m.bat_charge, T) if d.battery else zeros
    bd = values(m.bat_discharge, T) if d.battery else zeros
    bs = values(m.bat_soc, T) / 3600.0 if d.battery else zeros
    cc = values(m.cap_charge, T) if d.capacitors else zeros
    cd = values(m.cap_discharge, T) if d.capacitors else zeros
    cs = values(m.cap_soc, T) if d.capacitors else zeros
    grid = values(m.g, T)
    r.schedule = {
        "time_s": np.arange(T) * dt,
        "raw_load_mw": d.load_mw,
        "gpu_smoothing_mw": uplift,
        "burn_mw": burn,
        "battery_charge_mw": bc,
        "battery_discharge_mw": bd,
        "battery_soc_mwh": bs,
        "capacitor_charge_mw": cc,
        "capacitor_discharge_mw": cd,
        "capacitor_soc_mj": cs,
        "grid_mw": grid,
    }
    lim = r.spec.limits
    r.after = measure(grid, dt, lim.swing_window_s)
    factor = r.decimation["factor"]
    if factor > 1:
        fine = w.load_mw[: T * factor] + np.repeat(grid - d.load_mw, factor)
        r.trace_after = measure(fine, w.time_step_s, lim.swing_window_s)
    load_sum = float(d.load_mw.sum())
    # work a ramp-up limit defers is done later at the same energy: it is not saved
    smoothing = float(uplift.sum()) + (chosen.deferred_mw_steps if chosen is not None else 0.0)
    extra = smoothing + float(burn.sum()) + float((bc - bd).sum()) + float((cc - cd).sum())
    r.energy_overhead_fraction = extra / load_sum if load_sum > 0 else None
    costs = {
        "energy_gpu_smoothing": per_step_usd * smoothing,
        "energy_burn": per_step_usd * float(burn.sum()),
        "energy_battery_losses": per_step_usd * float((bc - bd).sum()),
        "energy_capacitor_losses": per_step_usd * float((cc - cd).sum()),
    }
    sizes: dict[str, float | None] = {
        "gpu_floor_fraction": chosen.floor_fraction if chosen is not None and w.tdp_mw is not None
        and r.spec.mitigations.gpu_smoothing is not None else None,
        "gpu_ramp_up_w_per_s": chosen.ramp_up_w_per_s if chosen is not None else None,
        "gpu_ramp_down_w_per_s": chosen.ramp_down_w_per_s if chosen is not None else None,
        "gpu_slowdown_fraction": chosen.slowdown_fraction if chosen is not None else 0.0,
        "burn_peak_mw": float(burn.max(initial=0.0)),
        "burn_mwh_per_year": float(burn.sum()) * dt / 3600.0 * d.year_scale,
        "burn_on": bool(burn.max(initial=0.0) > 1e-9),
    }
    if chosen is not None and chosen.slowdown_usd_per_year:
        costs["gpu_ramp_up_slowdown"] = chosen.slowdown_usd_per_year
    if hasattr(m, "burn_on") and (m.burn_on.value or 0) > 0.5:
        costs["burn_slowdown"] = d.burn_slowdown_usd_per_year
    if d.battery:
        p, e = float(m.bat_power.value or 0.0), float(m.bat_energy.value or 0.0)
        costs["battery_capex"] = p * battery_info["power_capex_usd_per_mw_year"] + \
            e * battery_info["energy_capex_usd_per_mj_year"]
        costs["battery_fixed_om"] = p * battery_info["fixed_om_usd_per_mw_year"]
        costs["battery_wear"] = d.battery.wear_usd_per_mwh * d.year_scale * dt / 3600.0 * float(bd.sum())
        sizes.update({"battery_power_mw": p, "battery_energy_mwh": e / 3600.0,
                      "battery_duration_s": e / p if p > 1e-9 else None,
                      "battery_round_trip_efficiency": battery_info["round_trip_efficiency"],
                      "battery_discharge_mwh_per_year": float(bd.sum()) * dt / 3600.0 * d.year_scale})
    if d.capacitors:
        sizes.update({"capacitor_energy_mj": d.capacitors.fixed_energy_mj,
                      "capacitor_peak_mw": float(np.maximum(cc, cd).max(initial=0.0))})
        costs["capacitor_capex"] = cap_capex
    r.sizes = sizes
    r.costs_usd_per_year = costs


# --- infeasibility -----------------------------------------------------------------------

UNIT = {"ramp_up_mw_per_s": "MW/s", "ramp_down_mw_per_s": "MW/s", "ramp_up_mw_per_min": "MW/min",
        "ramp_down_mw_per_min": "MW/min", "swing_mw": "MW", "band_min_mw": "MW", "band_max_mw": "MW"}


def diagnose(data: ModelData, spec: SmoothingSpec, options: SolveOptions) -> list[str]:
    """Why the limits cannot be met: a few direct checks, then an elastic re-solve (one slack
    per limit, least total violation) that names the limits still exceeded."""
    lim, mit = spec.limits, spec.mitigations
    allowed = mit.names()
    with_what = f"with the allowed mitigations ({', '.join(allowed)})" if allowed else "with no mitigation allowed"
    reasons = []
    lowest_mean = float(data.load_mw.mean()) + min([float(p.uplift_mw.mean()) for p in data.profiles], default=0.0)
    if lim.band_max_mw is not None and lim.band_max_mw < lowest_mean - 1e-9:
        reasons.append(f"band_max_mw {lim.band_max_mw:g} MW is below the job's average power "
                       f"{lowest_mean:,.3f} MW: storage only shifts energy and burn adds it, so no "
                       "mitigation can bring the average down")
    if not allowed:
        for key, excess in violations(data.load_mw, data.step_s, lim).items():
            reasons.append(f"{key} {getattr(lim, key):g} {UNIT[key]}: the raw load exceeds it by "
                           f"{excess:,.3f} {UNIT[key]} and no mitigation is allowed")
        return reasons or [f"the limits cannot be met {with_what}"]
    sm = build(data, elastic=True)
    res = solve(sm.model, SolveOptions(time_limit_s=options.time_limit_s, threads=options.threads))
    if not res.has_solution:
        return reasons or [f"the limits cannot be met {with_what} (the diagnosis found no schedule: {res.status})"]
    m = sm.model
    dt = data.step_s
    from dcplan.smoothing.metrics import minute_lag
    lag_s = minute_lag(dt) * dt
    found = []
    for key in ("ramp_up_mw_per_s", "ramp_down_mw_per_s", "ramp_up_mw_per_min", "ramp_down_mw_per_min",
                "swing_mw", "band_min_mw", "band_max_mw"):
        var = getattr(m, "slack_" + key, None)
        if var is None or (var.value or 0.0) <= SLACK_TOL_MW:
            continue
        excess = var.value
        if key.endswith("_per_s"):
            excess /= dt
        elif key.endswith("_per_min"):
            excess *= 60.0 / lag_s
        found.append(f"{key} {getattr(lim, key):g} {UNIT[key]} cannot be met {with_what}: the closest "
                     f"schedule still exceeds it by {excess:,.3f} {UNIT[key]}")
    if not found and not reasons:
        found.append(f"the limits cannot all be met {with_what} (the violation is within solver tolerance: "
                     "loosen a limit slightly)")
    reasons += found
    hints = []
    if "battery" not in allowed:
        hints.append("a site battery (mitigations.battery) can absorb swings of any shape")
    elif hasattr(m, "bat_power") and mit.battery.max_power_mw is not None and \
            (m.bat_power.value or 0) >= mit.battery.max_power_mw - 1e-6:
        hints.append(f"the battery is at its max_power_mw ({mit.battery.max_power_mw:g} MW)")
    elif hasattr(m, "bat_energy") and mit.battery.max_energy_mwh is not None and \
            (m.bat_energy.value or 0) / 3600 >= mit.battery.max_energy_mwh - 1e-9:
        hints.append(f"the battery is at its max_energy_mwh ({mit.battery.max_energy_mwh:g} MWh)")
    if "burn" in allowed and mit.burn.max_power_fraction < 1:
        hints.append(f"burn may only fill up to {mit.burn.max_power_fraction:.0%} of TDP")
    if found and hints:
        reasons.append("hint: " + "; ".join(hints))
    return reasons


# --- files -------------------------------------------------------------------------------

def smooth_files(workload_path: Path | str, site_path: Path | str | None = None, *,
                 gpus: int | None = None, gpu_model: str | None = None, limits: dict | None = None,
                 economics: dict | None = None, resolution_s: float | None = None,
                 options: SolveOptions | None = None) -> SmoothingResult:
    """Load a workload (CSV or YAML) and the site's ``smoothing:`` section (or a
    ``kind: smoothing`` file), apply command-line overrides, and smooth."""
    problems: list[Problem] = []
    workload = spec = None
    try:
        workload = load_workload(Path(workload_path), gpus, gpu_model)
    except InputError as err:
        problems += err.problems
    try:
        spec = load_smoothing_spec(Path(site_path)) if site_path is not None else SmoothingSpec()
        spec = with_overrides(spec, limits, economics, resolution_s=resolution_s)
    except InputError as err:
        problems += err.problems
    if problems:
        raise InputError(problems)
    return smooth(workload, spec, options)


__all__ = ["Capacitors", "SmoothingResult", "diagnose", "smooth", "smooth_files"]
