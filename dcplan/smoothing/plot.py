"""A PNG of a representative window of the schedule: the raw load against what the grid sees
(before/after), and below it what each mitigation does. Rendered with matplotlib's Agg
backend into bytes, without touching pyplot's global state."""

from __future__ import annotations

import io

import numpy as np

from dcplan.smoothing.metrics import rolling_swing, window_steps


def representative_window(raw: np.ndarray, step_s: float, swing_window_s: float) -> slice:
    """A window of 60 s (at least 6 swing windows) around the worst
    swing of the raw load."""
    n = len(raw)
    width = max(2, min(n, round(max(60.0, 6 * swing_window_s) / step_s)))
    w = window_steps(swing_window_s, step_s, n)
    worst = int(np.argmax(rolling_swing(raw, w))) if n >= 2 else 0
    start = int(np.clip(worst - width // 3, 0, n - width))
    return slice(start, start + width)


def plot_png(result) -> bytes:
    """The plot as PNG bytes (deterministic for the same result and matplotlib version)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    s = result.schedule
    lim = result.spec.limits
    window = representative_window(s["raw_load_mw"], result.step_s, lim.swing_window_s)
    t = s["time_s"][window]
    fig = Figure(figsize=(11, 6.5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    top.plot(t, s["raw_load_mw"][window], color="0.55", lw=1.0, label="before: the job's load")
    top.plot(t, s["grid_mw"][window], color="C0", lw=1.8, label="after: what the grid sees")
    for key, style in (("band_min_mw", ":"), ("band_max_mw", ":")):
        value = getattr(lim, key)
        if value is not None:
            top.axhline(value, color="C3", ls=style, lw=1.0, label=key.replace("_", " "))
    top.set_ylabel("MW")
    before, after = result.before, result.after or {}
    title = (f"{result.workload.name}: swing in any {lim.swing_window_s:g} s "
             f"{before['swing_mw']:,.2f} → {after.get('swing_mw', float('nan')):,.2f} MW; "
             f"ramp {max(before['ramp_up_mw_per_s'], before['ramp_down_mw_per_s']):,.1f} → "
             f"{max(after.get('ramp_up_mw_per_s', 0), after.get('ramp_down_mw_per_s', 0)):,.1f} MW/s")
    top.set_title(title, fontsize=10)
    top.legend(loc="lower right", fontsize=8)
    top.grid(alpha=0.3)
    net = s["battery_discharge_mw"][window] - s["battery_charge_mw"][window]
    bottom.plot(t, net, color="C2", lw=1.2, label="battery discharge − charge (MW)")
    if np.any(s["burn_mw"][window] > 1e-9):
        bottom.plot(t, s["burn_mw"][window], color="C1", lw=1.2, label="burn (MW)")
    if np.any(np.abs(s["gpu_smoothing_mw"][window]) > 1e-9):
        bottom.plot(t, s["gpu_smoothing_mw"][window], color="C4", lw=1.2, label="GPU floor / ramp hold (MW)")
    cap = s["capacitor_discharge_mw"][window] - s["capacitor_charge_mw"][window]
    if np.any(np.abs(cap) > 1e-9):
        bottom.plot(t, cap, color="C5", lw=1.0, label="capacitors discharge − charge (MW)")
    bottom.axhline(0, color="0.3", lw=0.6)
    bottom.set_ylabel("MW")
    bottom.set_xlabel("time (s)")
    bottom.grid(alpha=0.3)
    soc = s["battery_soc_mwh"][window] * 1000.0
    if np.any(soc > 1e-9):
        twin = bottom.twinx()
        twin.plot(t, soc, color="C2", ls="--", lw=0.9, label="battery state of charge (kWh)")
        twin.set_ylabel("kWh")
        lines = bottom.get_legend_handles_labels()
        extra = twin.get_legend_handles_labels()
        bottom.legend(lines[0] + extra[0], lines[1] + extra[1], loc="upper right", fontsize=8)
    else:
        bottom.legend(loc="upper right", fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()
