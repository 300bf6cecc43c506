"""The spectral mask: what the grid sees, band by band, and a linear condition that guarantees it.

Measurement: the single-sided amplitude of each DFT bin of the series taken as one period
(``numpy.fft.rfft``): a sinusoid of amplitude A on a bin reads A, a square wave of swing S reads
(4/pi) S/2 at its fundamental (exactly (2/n) S / sin(pi/n) when a period has n samples).

Guarantee: write d_t = x_t - x_{t-1} (circularly, so x_0 - x_{N-1} too) and TV = sum |d_t|, the
total variation. The DFT of d is X_k (1 - e^{-2 pi i k/N}), and |1 - e^{-2 pi i k/N}| = 2 sin(pi k/N),
so for 1 <= k <= N/2

    A_k = 2 |X_k| / N = 2 |D_k| / (2 N sin(pi k/N)) <= TV / (N sin(pi k/N)).

sin(pi k/N) grows with k up to Nyquist, so ``TV <= N x max_amplitude x sin(pi k_lo/N)``, with
k_lo the band's first bin, holds every bin of the band at or below its maximum. The optimizer
enforces the smallest such budget over the bands (one linear row on |d_t|). It is sufficient,
not necessary: exact for a square wave whose fundamental is the band's first bin (its TV is 2S a
period), conservative by pi/4 for a sinusoid there and by f / f_lo for content at f above the
band's lower edge.
"""

from __future__ import annotations

import math

import numpy as np

from dcplan.schema.smoothing import SpectralBand


def band_label(band: SpectralBand) -> str:
    return f"{band.from_hz:g}-{band.to_hz:g} Hz"


def band_bins(band: SpectralBand, steps: int, step_s: float) -> np.ndarray:
    """DFT bins k (1 <= k <= steps // 2) whose frequency k / (steps x step_s) is in the band."""
    k = np.arange(1, steps // 2 + 1)
    f = k / (steps * step_s)
    return k[(f >= band.from_hz - 1e-12) & (f <= band.to_hz + 1e-12)]


def amplitude_spectrum(x: np.ndarray) -> np.ndarray:
    """Single-sided amplitude of each DFT bin k = 0 .. N // 2 of ``x`` taken as one period: a
    sinusoid of amplitude A on a bin reads A (2|X_k| / N; |X_k| / N at 0 and at Nyquist)."""
    n = len(x)
    a = np.abs(np.fft.rfft(np.asarray(x, dtype=float))) * (2.0 / n)
    a[0] /= 2.0
    if n % 2 == 0:
        a[-1] /= 2.0
    return a


def band_amplitudes(x: np.ndarray, step_s: float, mask: list[SpectralBand]) -> dict[str, float | None]:
    """Band label -> the largest amplitude of a bin in it (None: no bin of this series is in it)."""
    spectrum = amplitude_spectrum(x)
    out = {}
    for band in mask:
        k = band_bins(band, len(x), step_s)
        out[band_label(band)] = float(spectrum[k].max()) if len(k) else None
    return out


def variation_budget_mw(mask: list[SpectralBand], steps: int, step_s: float) -> float | None:
    """Largest total variation (MW, circular, over ``steps``) that holds every band of ``mask``;
    None when no band has a bin at this length and step (nothing to hold)."""
    budgets = []
    for band in mask:
        k = band_bins(band, steps, step_s)
        if len(k):
            budgets.append(steps * band.max_amplitude_mw * math.sin(math.pi * int(k[0]) / steps))
    return min(budgets) if budgets else None
