"""From a workload and a smoothing spec to the model's data: the time step (block means of the
trace where it is finer than asked or too long), what each GPU smoothing setting does to the
GPUs' power, and the battery's and capacitors' stores with their annual costs."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dcplan.catalog import builtin_catalog
from dcplan.errors import InputError, Problem
from dcplan.formulas import capital_recovery_factor
from dcplan.schema.catalog import Catalog, StorageSpec
from dcplan.schema.smoothing import (
    BATTERY_CYCLE_DEPTH,
    BATTERY_CYCLE_LIFE,
    Battery,
    Burn,
    GpuSmoothing,
    SmoothingSpec,
    SpectralBand,
)
from dcplan.smoothing.model import ModelData, Profile, Store
from dcplan.smoothing.spectrum import band_bins, band_label, variation_budget_mw
from dcplan.smoothing.workload import Workload

DEFAULT_MIN_STEP_S = 0.1
"""Model step when the trace is finer and no resolution is asked for."""


def _decimate(w: Workload, spec: SmoothingSpec) -> tuple[int, int, str | None]:
    """(factor, model steps, a note where the step is not the one wanted): block means of
    ``factor`` trace steps, a whole number of them, and at most ``max_steps`` steps."""
    dt = w.time_step_s
    wanted = spec.resolution_s if spec.resolution_s is not None else max(dt, DEFAULT_MIN_STEP_S)
    factor = max(1, round(wanted / dt))
    why = f"a whole number of the trace's {dt:g} s steps" if spec.resolution_s is not None else None
    if w.steps // factor > spec.max_steps:
        factor = math.ceil(w.steps / spec.max_steps)
        why = (f"at most max_steps ({spec.max_steps:,}) model steps: the trace has {w.steps:,} of {dt:g} s "
               f"(max_steps in the smoothing file raises it)")
    steps = w.steps // factor
    if steps < 2:
        raise InputError([Problem(w.source or w.name, None, "resolution_s",
                                  f"the trace ({w.duration_s:g} s) is shorter than two model steps "
                                  f"of {factor * dt:g} s")])
    asked = "asked" if spec.resolution_s is not None else "the default"
    note = (f"the model step is {factor * dt:g} s, not the {wanted:g} s {asked}: {why}"
            if why and abs(factor * dt - wanted) > 1e-9 * wanted else None)
    return factor, steps, note


def block_means(x: np.ndarray, factor: int, steps: int) -> np.ndarray:
    return x[: steps * factor].reshape(steps, factor).mean(axis=1)


def _smoothed_gpu(gpu: np.ndarray, floor_mw: float, up_mw_per_step: float | None,
                  down_mw_per_step: float | None, hold_steps: int = 0) -> np.ndarray:
    """GPU power under the firmware's smoothing: the target is max(power, floor); the power
    rises to it no faster than the ramp-up limit; when the target falls below the power, the
    power is held for ``hold_steps`` steps (the ramp-down hysteresis; the target coming back up
    to the power restarts it) and then falls no faster than the ramp-down limit."""
    target = np.maximum(gpu, floor_mw)
    if up_mw_per_step is None and down_mw_per_step is None and hold_steps == 0:
        return target
    up = math.inf if up_mw_per_step is None else up_mw_per_step
    down = math.inf if down_mw_per_step is None else down_mw_per_step
    out = np.empty_like(target)
    prev, held = float(target[-1]), 0  # start from the end: the trace as one period of a steady state
    for _ in range(2):
        for i, want in enumerate(target.tolist()):
            if want >= prev:
                prev, held = min(want, prev + up), 0
            elif held < hold_steps:
                held += 1
            else:
                prev = max(want, prev - down)
            out[i] = prev
    return out


def _gpu_profiles(w: Workload, gs: GpuSmoothing | None, burn: Burn | None, factor: int, steps: int,
              per_step_usd: float, slowdown_usd_per_fraction: float) -> list[Profile]:
    tdp = w.tdp_mw
    gpu = w.gpu_mw[: steps * factor]
    dt = w.time_step_s
    ceiling = burn.max_power_fraction * tdp if burn is not None else None
    if gs is None:
        settings = [(0.0, None, None)]
    else:
        settings = [(f, gs.ramp_up_w_per_s, gs.ramp_down_w_per_s) for f in sorted(set(gs.floor_fractions))]
    hold_steps = round(gs.ramp_down_hysteresis_s / dt) if gs is not None else 0
    gpu_energy = float(gpu.sum())
    out: list[Profile] = []
    for floor, up, down in settings:
        q = _smoothed_gpu(gpu, floor * tdp,
                          None if up is None else up * w.gpus / 1e6 * dt,
                          None if down is None else down * w.gpus / 1e6 * dt, hold_steps)
        uplift_fine = q - gpu
        deferred = float(np.maximum(-uplift_fine, 0.0).sum())
        slowdown = deferred / gpu_energy if gpu_energy > 0 else 0.0
        room = block_means(np.maximum(ceiling - q, 0.0), factor, steps) if ceiling is not None else None
        uplift = block_means(uplift_fine, factor, steps)
        # deferred work is done later: its energy is still paid, and the job takes longer
        p = Profile(floor, uplift, room, slowdown, deferred / factor, per_step_usd / factor * deferred,
                    slowdown_usd_per_fraction * slowdown, up, down)
        if any(np.allclose(p.uplift_mw, o.uplift_mw, rtol=0, atol=1e-12) and p.fixed_cost_usd_per_year
               == o.fixed_cost_usd_per_year for o in out):
            continue  # a floor below every trough does what a lower one does
        out.append(p)
    return out


def _battery_store(b: Battery, discount_rate: float, cat: StorageSpec) -> tuple[Store, dict]:
    """The battery as the model's store, priced from ``cat`` where ``b`` does not say."""

    def pick(name):
        v = getattr(b, name)
        return getattr(cat, name) if v is None else v

    power_capex, energy_capex = pick("power_capex_usd_per_kw"), pick("energy_capex_usd_per_kwh")
    fom, rte, life = pick("fixed_om_usd_per_kw_year"), pick("round_trip_efficiency"), pick("lifetime_years")
    crf = capital_recovery_factor(discount_rate, life)
    wear = b.degradation_usd_per_mwh if b.degradation_usd_per_mwh is not None \
        else energy_capex * 1000.0 / (BATTERY_CYCLE_LIFE * BATTERY_CYCLE_DEPTH)
    eta_in, eta_out = cat.one_way_efficiencies() if b.round_trip_efficiency is None else (math.sqrt(rte),) * 2
    store = Store(eta_in, eta_out, None, b.max_power_mw,
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


@dataclass
class Prepared:
    """The model's data and what the results need besides it."""

    spec: SmoothingSpec  # as solved: burn left out where the trace does not say which GPUs run it
    data: ModelData
    battery_info: dict  # the battery's annual costs per unit and efficiency
    cap_capex: float  # USD/year: the capacitors' (their size is fixed by the GPUs)
    per_step_usd: float  # USD/year for 1 MW over one model step
    decimation: dict
    notes: list[str]


def _unshaped_bands(mask: list[SpectralBand], w: Workload, steps: int, step_s: float) -> list[str]:
    """Notes for the bands the schedule cannot shape: none of the model's frequencies lies in them
    (from one cycle over the trace to one every two steps). The trace's own step may still measure
    them; where it cannot either, the limit is not checked at all and must not pass in silence."""
    def resolved(n: int, dt: float) -> str:
        return f"{1 / (n * dt):.3g} to {1 / (2 * dt):.3g} Hz at {dt:g} s steps"

    notes = []
    for band in mask:
        if len(band_bins(band, steps, step_s)):
            continue
        if len(band_bins(band, w.steps, w.time_step_s)):
            notes.append(f"spectral_mask {band_label(band)} lies outside the frequencies the schedule is made "
                         f"at ({resolved(steps, step_s)}): it is measured at the trace's step, not shaped")
        else:
            notes.append(f"spectral_mask {band_label(band)} is not checked: no frequency this trace resolves "
                         f"({resolved(w.steps, w.time_step_s)}) lies in it")
    return notes


def prepare(workload: Workload, spec: SmoothingSpec, catalog: Catalog | None = None) -> Prepared:
    """The model's data for ``workload`` under ``spec``, the battery priced from ``catalog``
    (default: dcplan's own). Raises :class:`InputError` where a mitigation needs GPUs that the
    workload does not name, or the trace is too short."""
    w = workload
    mit, econ, lim = spec.mitigations, spec.economics, spec.limits
    notes = []
    if "mitigations" not in spec.model_fields_set and w.tdp_mw is None and mit.burn is not None:
        # the default mitigations: burn needs to know the GPUs; without them, the battery alone
        mit = mit.model_copy(update={"burn": None})
        spec = spec.model_copy(update={"mitigations": mit})
        notes.append("burn work was not considered: the trace does not say which GPUs run it "
                     "(give --gpu and --gpus)")
    _need_gpus(w, [n for n in ("gpu_smoothing", "burn", "capacitors") if getattr(mit, n) is not None])
    factor, steps, stepped = _decimate(w, spec)
    step = factor * w.time_step_s
    notes += [stepped] if stepped else []
    if steps * factor < w.steps:
        notes.append(f"the trace's last {(w.steps - steps * factor) * w.time_step_s:g} s are left out: the model "
                     f"step ({step:g} s) does not divide its {w.duration_s:g} s")
    notes += _unshaped_bands(lim.spectral_mask or [], w, steps, step)
    load = block_means(w.load_mw, factor, steps)
    year_scale = econ.job_hours_per_year * 3600.0 / (steps * step)
    per_step_usd = econ.energy_price_usd_per_mwh * year_scale * step / 3600.0
    slowdown_value = econ.throughput_value_usd_per_gpu_hour * (w.gpus or 0) * econ.job_hours_per_year
    profiles = []
    if w.tdp_mw is not None and (mit.gpu_smoothing is not None or mit.burn is not None):
        profiles = _gpu_profiles(w, mit.gpu_smoothing, mit.burn, factor, steps, per_step_usd, slowdown_value)
    data = ModelData(step, load, lim, econ.energy_price_usd_per_mwh, year_scale, profiles,
                     burn=mit.burn is not None,
                     burn_slowdown_usd_per_year=(mit.burn.slowdown_fraction * slowdown_value
                                                 if mit.burn is not None else 0.0),
                     variation_budget_mw=variation_budget_mw(lim.spectral_mask, steps, step)
                     if lim.spectral_mask else None)
    battery_info = {}
    if mit.battery is not None:
        storage = (catalog or builtin_catalog()).storage[mit.battery.type]
        data.battery, battery_info = _battery_store(mit.battery, econ.discount_rate, storage)
    cap_capex = 0.0
    if mit.capacitors is not None:
        c = mit.capacitors
        eta = math.sqrt(c.round_trip_efficiency)
        per_gpu_w = c.max_power_w_per_gpu if c.max_power_w_per_gpu is not None else w.tdp_w
        data.capacitors = Store(eta, eta, fixed_energy_mj=c.j_per_gpu * w.gpus / 1e6,
                                max_power_mw=per_gpu_w * w.gpus / 1e6)
        cap_capex = c.capex_usd_per_gpu * w.gpus * capital_recovery_factor(econ.discount_rate, c.lifetime_years)
    ripple = float(np.abs(w.load_mw[: steps * factor] - np.repeat(load, factor)).max()) if factor > 1 else 0.0
    decimation = {"trace_step_s": w.time_step_s, "model_step_s": step, "factor": factor, "model_steps": steps,
                  "dropped_s": (w.steps - steps * factor) * w.time_step_s, "ripple_mw": ripple}
    return Prepared(spec, data, battery_info, cap_capex, per_step_usd, decimation, notes)
