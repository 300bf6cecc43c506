"""Worst-case ramps, swing and band of a power series, measured the way the limits are
defined (:mod:`dcplan.smoothing.limits`), so that 'before', 'after' and the optimizer agree."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from dcplan.schema.smoothing import Limits


def window_steps(window_s: float, step_s: float, steps: int | None = None) -> int:
    """Samples in a rolling window: those covering ``window_s`` of time, at least 2 (and at
    most the whole series)."""
    n = max(2, round(window_s / step_s + 1e-9))
    return min(n, steps) if steps is not None else n


def minute_lag(step_s: float) -> int:
    """Steps between two instants 60 s apart (at least one)."""
    return max(1, round(60.0 / step_s))


def rolling_swing(x: np.ndarray, w: int) -> np.ndarray:
    """max - min over each window of ``w`` consecutive samples (len(x) - w + 1 values)."""
    w = min(w, len(x))
    view = sliding_window_view(x, w)
    return view.max(axis=1) - view.min(axis=1)


def measure(x: np.ndarray, step_s: float, window_s: float = 5.0) -> dict[str, float | None]:
    """Worst ramps (MW/s per step, MW per 60 s), worst swing in any ``window_s`` and the range."""
    x = np.asarray(x, dtype=float)
    diff = np.diff(x)
    lag = minute_lag(step_s)
    per_min = 60.0 / (lag * step_s)
    minute = x[lag:] - x[:-lag] if len(x) > lag else None
    return {
        "ramp_up_mw_per_s": float(max(diff.max(initial=0.0), 0.0) / step_s),
        "ramp_down_mw_per_s": float(max((-diff).max(initial=0.0), 0.0) / step_s),
        "ramp_up_mw_per_min": None if minute is None else float(max(minute.max(), 0.0) * per_min),
        "ramp_down_mw_per_min": None if minute is None else float(max((-minute).max(), 0.0) * per_min),
        "swing_mw": float(rolling_swing(x, window_steps(window_s, step_s, len(x))).max()),
        "min_mw": float(x.min()),
        "max_mw": float(x.max()),
        "mean_mw": float(x.mean()),
    }


MEASURE_OF_LIMIT = {
    "ramp_up_mw_per_s": "ramp_up_mw_per_s",
    "ramp_down_mw_per_s": "ramp_down_mw_per_s",
    "ramp_up_mw_per_min": "ramp_up_mw_per_min",
    "ramp_down_mw_per_min": "ramp_down_mw_per_min",
    "swing_mw": "swing_mw",
    "band_min_mw": "min_mw",
    "band_max_mw": "max_mw",
}


def violations(x: np.ndarray, step_s: float, limits: Limits, tol_mw: float = 1e-6) -> dict[str, float]:
    """Limit name -> by how much ``x`` exceeds it (only those exceeded by more than ``tol_mw``,
    in MW; rates are compared as MW per step / per 60 s)."""
    m = measure(x, step_s, limits.swing_window_s)
    lag_s = minute_lag(step_s) * step_s
    out = {}
    for key in limits.active():
        limit = getattr(limits, key)
        value = m[MEASURE_OF_LIMIT[key]]
        if value is None:
            continue
        if key == "band_min_mw":
            excess, scale = limit - value, 1.0
        else:
            excess = value - limit
            scale = step_s if key.endswith("_per_s") else (lag_s / 60.0 if key.endswith("_per_min") else 1.0)
        if excess * scale > tol_mw:
            out[key] = excess
    return out
