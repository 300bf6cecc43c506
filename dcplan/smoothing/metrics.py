"""Worst-case ramps, swing, band and spectrum of a power series, measured the way the limits
are defined (:mod:`dcplan.schema.smoothing`), so that 'before', 'after' and the optimizer agree."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from dcplan.schema.smoothing import Limits, SpectralBand
from dcplan.smoothing.spectrum import band_amplitudes, band_label


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


def measure(x: np.ndarray, step_s: float, window_s: float = 5.0,
            mask: list[SpectralBand] | None = None) -> dict:
    """Worst ramps (MW/s per step, MW per 60 s), worst swing in any ``window_s``, the range, and
    with a ``mask`` the largest amplitude in each of its bands (``spectral_amplitude_mw``)."""
    x = np.asarray(x, dtype=float)
    diff = np.diff(x)
    lag = minute_lag(step_s)
    per_min = 60.0 / (lag * step_s)
    minute = x[lag:] - x[:-lag] if len(x) > lag else None
    out = {
        # max(0.0, ...): the first of equals wins, so a flat series's -0.0 (printed "-0.000") is 0.0
        "ramp_up_mw_per_s": float(max(0.0, diff.max(initial=0.0)) / step_s),
        "ramp_down_mw_per_s": float(max(0.0, (-diff).max(initial=0.0)) / step_s),
        "ramp_up_mw_per_min": None if minute is None else float(max(0.0, minute.max()) * per_min),
        "ramp_down_mw_per_min": None if minute is None else float(max(0.0, (-minute).max()) * per_min),
        "swing_mw": float(rolling_swing(x, window_steps(window_s, step_s, len(x))).max()),
        "min_mw": float(x.min()),
        "max_mw": float(x.max()),
        "mean_mw": float(x.mean()),
    }
    if mask:
        out["spectral_amplitude_mw"] = band_amplitudes(x, step_s, mask)
    return out


MEASURE_OF_LIMIT = {
    "ramp_up_mw_per_s": "ramp_up_mw_per_s",
    "ramp_down_mw_per_s": "ramp_down_mw_per_s",
    "ramp_up_mw_per_min": "ramp_up_mw_per_min",
    "ramp_down_mw_per_min": "ramp_down_mw_per_min",
    "swing_mw": "swing_mw",
    "band_min_mw": "min_mw",
    "band_max_mw": "max_mw",
}


LIMIT_UNIT = {"ramp_up_mw_per_s": "MW/s", "ramp_down_mw_per_s": "MW/s", "ramp_up_mw_per_min": "MW/min",
              "ramp_down_mw_per_min": "MW/min", "ramp_up_pct_per_min": "%/min", "ramp_down_pct_per_min": "%/min",
              "swing_mw": "MW", "band_min_mw": "MW", "band_max_mw": "MW", "spectral_mask": "MW"}
"""Each limit's unit: what :func:`violations` measures its excess in."""


def violations(x: np.ndarray, step_s: float, limits: Limits, tol_mw: float = 1e-6) -> dict[str, float]:
    """Limit name -> by how much ``x`` exceeds it, in the limit's unit (only those exceeded by
    more than ``tol_mw`` MW; rates are compared as MW per step / per 60 s; the spectral mask by
    its worst band)."""
    m = measure(x, step_s, limits.swing_window_s, limits.spectral_mask)
    lag_s = minute_lag(step_s) * step_s
    out = {}
    for key in limits.active():
        limit = getattr(limits, key)
        if key == "spectral_mask":
            found = m["spectral_amplitude_mw"]
            excess = max([found[band_label(b)] - b.max_amplitude_mw for b in limit
                          if found[band_label(b)] is not None], default=0.0)
            scale = 1.0
        elif key.endswith("_pct_per_min"):
            value = m[key.replace("_pct_", "_mw_")]
            if value is None:
                continue
            excess = value / limits.capacity_mw * 100.0 - limit
            scale = lag_s / 60.0 * limits.capacity_mw / 100.0
        else:
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
