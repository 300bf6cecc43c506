"""Write a smoothing result: ``schedule.csv`` (every model step), ``smoothing.yaml`` (sizes,
costs, before/after; no timings, so diff-friendly) and ``smoothing.png`` (a representative
window). Every file is rendered before any is replaced, and each is replaced atomically."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import yaml

from dcplan.extras import available
from dcplan.plans.write import _round, atomic_write
from dcplan.smoothing.spectrum import band_label
from dcplan.version import __version__

SCHEDULE_COLUMNS = [
    "time_s", "raw_load_mw", "gpu_smoothing_mw", "burn_mw", "battery_charge_mw", "battery_discharge_mw",
    "battery_soc_mwh", "capacitor_charge_mw", "capacitor_discharge_mw", "capacitor_soc_mj", "grid_mw",
]


def schedule_csv(result) -> str:
    s = result.schedule
    cols = []
    for name in SCHEDULE_COLUMNS:
        x = np.asarray(s[name], dtype=float).copy()
        x[np.abs(x) < 1e-9] = 0.0
        cols.append(x)
    out = io.StringIO()
    out.write(",".join(SCHEDULE_COLUMNS) + "\n")
    fmt = ",".join(["%.4f"] + ["%.7g"] * (len(cols) - 1))
    np.savetxt(out, np.column_stack(cols), fmt=fmt, delimiter=",", newline="\n")
    return out.getvalue()


def summary_document(result) -> dict:
    w = result.workload
    method = {k: v for k, v in result.method.items() if not k.endswith("_seconds")}
    doc = {
        "dcplan_version": __version__,
        "workload": {"name": w.name, "source": w.source, "gpu": w.gpu_model, "gpus": w.gpus,
                     "duration_s": w.duration_s, "trace_step_s": w.time_step_s, "energy_mwh": w.energy_mwh},
        "status": result.status,
        "reasons": result.reasons,
        "notes": result.notes,
        "model_step_s": result.step_s,
        "method": method,
        "limits": _limits(result.spec.limits),
        "mitigations_allowed": result.spec.mitigations.names(),
        "sizes": result.sizes,
        "energy_overhead_fraction": result.energy_overhead_fraction,
        "costs_usd_per_year": dict(sorted(result.costs_usd_per_year.items())),
        "total_cost_usd_per_year": result.total_cost_usd_per_year,
        "lower_bound_usd_per_year": result.lower_bound_usd_per_year,
        "before": result.before,
        "after": result.after,
    }
    if result.trace_before is not None:
        doc["decimation"] = result.decimation
        doc["trace_resolution"] = {"before": result.trace_before, "after": result.trace_after}
    return _round(_plain(doc))


def _limits(limits) -> dict:
    """The limits that are set; a spectral mask as {band: max amplitude} (every value a number,
    as readers of smoothing.yaml expect)."""
    out = {k: v for k, v in limits.model_dump(exclude={"spectral_mask"}).items() if v is not None}
    if limits.spectral_mask:
        out["spectral_mask_max_amplitude_mw"] = {band_label(b): b.max_amplitude_mw for b in limits.spectral_mask}
    return out


def _plain(x):
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x


def write_smoothing(result, outdir: Path) -> list[Path]:
    """Write the outputs of a result that has a schedule; return the paths written."""
    from dcplan.smoothing.plot import plot_png

    texts = {
        "schedule.csv": schedule_csv(result),
        "smoothing.yaml": yaml.safe_dump(summary_document(result), sort_keys=False, allow_unicode=True, width=100),
    }
    png = plot_png(result) if available("matplotlib") else None  # the plots extra
    paths = []
    for name, text in texts.items():
        atomic_write(outdir / name, text)
        paths.append(outdir / name)
    if png is not None:
        atomic_write(outdir / "smoothing.png", png)
        paths.append(outdir / "smoothing.png")
    return paths


def read_schedule(path: Path) -> dict[str, np.ndarray]:
    """schedule.csv back into arrays (tests, notebooks)."""
    data = np.genfromtxt(path, delimiter=",", names=True)
    return {name: np.asarray(data[name], dtype=float) for name in data.dtype.names}
