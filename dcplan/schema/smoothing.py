"""What the grid (or the generators) will accept, which mitigations may be used, and their
prices: the ``smoothing:`` section of a site file, or a standalone ``kind: smoothing`` file.

Definitions (the optimizer and the before/after measurements use the same ones):

- ``ramp_up_mw_per_s`` / ``ramp_down_mw_per_s``: the change of grid power from one time step
  to the next, divided by the step (at the model's resolution).
- ``ramp_up_mw_per_min`` / ``ramp_down_mw_per_min``: the change of grid power between any two
  instants 60 s apart.
- ``ramp_up_pct_per_min`` / ``ramp_down_pct_per_min``: the same change as a percentage of
  ``capacity_mw`` (the load's registered capacity or maximum demand, which the operator's
  percentage refers to). ERCOT's 2023 draft: up <= min(2 %, 8 MW) and down <= min(5 %, 20 MW)
  per minute; with both kinds set, the tighter one binds at every instant.
- ``swing_mw`` within ``swing_window_s``: maximum minus minimum of grid power over the samples
  of every rolling window spanning ``swing_window_s`` (ERCOT's proposal: 10 MW in any 5 s). A
  sample is the mean power over its step, so a window is ``swing_window_s / step`` consecutive
  samples (40 of 0.1 s span 4 s); read as instants, two samples 4 s apart can differ by one
  more step's ramp.
- ``band_min_mw`` / ``band_max_mw``: grid power stays within [min, max] (a generator's
  minimum stable load and rating, or a contract's band).
- ``spectral_mask``: bands ``{from_hz, to_hz, max_amplitude_mw}``; the single-sided amplitude
  (2|X_k|/N) of every DFT bin k >= 1 of grid power over the whole series (taken as one period)
  whose frequency lies in [from_hz, to_hz] is at most ``max_amplitude_mw``. A sinusoid of
  amplitude A reads A; a square wave of swing S reads (4/pi) S/2 at its fundamental.
  The optimizer enforces a bound on the total variation that guarantees it
  (:mod:`dcplan.smoothing.spectrum`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from dcplan.schema.base import Fraction, NonNeg, StrictModel
from dcplan.schema.workload import MAX_STEP_S

DEFAULT_FLOOR_FRACTIONS = [0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
"""Floor settings the optimizer may pick from (0 = off). GB200 power smoothing supports a
floor of 20-90 % of TDP set in whole percent [2,4]."""

CAPACITOR_J_PER_GPU = 65.0
"""GB300 NVL72 power-supply energy storage, 65 J per GPU (NVIDIA technical blog, 'How new
GB300 NVL72 features provide steady power for AI'; reference notes [3])."""

BATTERY_CYCLE_LIFE = 6000
BATTERY_CYCLE_DEPTH = 0.8
"""LFP cycle life 6-8k cycles at 80 % depth of discharge (vendor figure, weak; reference notes
[42]); the low end sets the default wear cost per MWh discharged."""


class SpectralBand(StrictModel):
    """The largest oscillation the grid may see in a band of frequencies (the grid operator's
    critical frequencies: Choukse et al. 2025 name < 1 Hz lines, 1-2.5 Hz coupled sources and
    7-100+ Hz shaft torsional modes)."""

    from_hz: float = Field(gt=0, description="lowest frequency of the band (an oscillation, not the mean)")
    to_hz: float = Field(gt=0)
    max_amplitude_mw: NonNeg = Field(description="single-sided amplitude of any DFT bin in the band")

    @model_validator(mode="after")
    def _order(self):
        if self.from_hz > self.to_hz:
            raise ValueError(f"from_hz {self.from_hz:g} is above to_hz {self.to_hz:g}")
        return self


class Limits(StrictModel):
    ramp_up_mw_per_s: NonNeg | None = None
    ramp_down_mw_per_s: NonNeg | None = None
    ramp_up_mw_per_min: NonNeg | None = None
    ramp_down_mw_per_min: NonNeg | None = None
    ramp_up_pct_per_min: NonNeg | None = Field(None, description="percent of capacity_mw per minute")
    ramp_down_pct_per_min: NonNeg | None = Field(None, description="percent of capacity_mw per minute")
    capacity_mw: float | None = Field(
        None, gt=0, description="the capacity the %/min ramps refer to (registered capacity or maximum demand)")
    swing_mw: NonNeg | None = Field(None, description="peak-to-peak within any swing_window_s")
    swing_window_s: float = Field(5.0, gt=0)
    band_min_mw: NonNeg | None = None
    band_max_mw: NonNeg | None = None
    spectral_mask: list[SpectralBand] | None = Field(
        None, description="largest amplitude per frequency band of grid power (FFT over the trace)")

    @model_validator(mode="after")
    def _consistent(self):
        if self.band_min_mw is not None and self.band_max_mw is not None \
                and self.band_min_mw > self.band_max_mw:
            raise ValueError(f"band_min_mw {self.band_min_mw:g} is above band_max_mw {self.band_max_mw:g}")
        pct = [k for k in ("ramp_up_pct_per_min", "ramp_down_pct_per_min") if getattr(self, k) is not None]
        if pct and self.capacity_mw is None:
            raise ValueError(f"{' and '.join(pct)} need{'s' if len(pct) == 1 else ''} capacity_mw, "
                             "the MW the percentage is of")
        return self

    def active(self) -> list[str]:
        """Names of the limits that are set."""
        return [k for k in LIMIT_KEYS if getattr(self, k) is not None]

    def minute_ramp(self, direction: str) -> tuple[float, str] | None:
        """The binding ramp per minute, ``direction`` "up" or "down": (MW/min, the limit's name),
        the tighter of the MW/min and the %/min of ``capacity_mw``; None when neither is set."""
        found = []
        mw = getattr(self, f"ramp_{direction}_mw_per_min")
        if mw is not None:
            found.append((mw, f"ramp_{direction}_mw_per_min"))
        pct = getattr(self, f"ramp_{direction}_pct_per_min")
        if pct is not None:
            found.append((pct / 100.0 * self.capacity_mw, f"ramp_{direction}_pct_per_min"))
        return min(found) if found else None


LIMIT_KEYS = ("ramp_up_mw_per_s", "ramp_down_mw_per_s", "ramp_up_mw_per_min", "ramp_down_mw_per_min",
              "ramp_up_pct_per_min", "ramp_down_pct_per_min", "swing_mw", "band_min_mw", "band_max_mw",
              "spectral_mask")


class GpuSmoothing(StrictModel):
    """GPU power smoothing firmware (GB200/GB300 class; NVML's power smoothing profile: floor
    in % of TDP, ramp-up and ramp-down rates in W/s, ramp-down hysteresis in ms [4]). The floor
    keeps each GPU at or above ``f`` x TDP (its cost is the extra energy); when the work's power
    drops, the GPU holds its power for ``ramp_down_hysteresis_s`` (a rise within that time
    cancels the ramp-down) and then falls no faster than the ramp-down rate (more energy); the
    ramp-up limit delays the return to full power (counted as training slowdown). What the
    firmware does is a fixed response, computed step by step before the optimisation; the
    optimizer chooses among the ``floor_fractions``. Assumption: the hold is at the power the
    GPU had when the work dropped, and the timer restarts whenever the work comes back up to it."""

    floor_fractions: list[Fraction] = Field(
        default_factory=lambda: list(DEFAULT_FLOOR_FRACTIONS), min_length=1,
        description="floor settings to choose from, fraction of TDP; one value fixes it; 0 = off")
    ramp_up_w_per_s: float | None = Field(None, gt=0, description="per GPU")
    ramp_down_w_per_s: float | None = Field(None, gt=0, description="per GPU")
    ramp_down_hysteresis_s: NonNeg = Field(
        0.0, description="hold before a ramp-down starts (NVML sets it in ms); 0 = none")


class Burn(StrictModel):
    """Burn work in the troughs (PyTorch's PYTORCH_NO_POWERPLANT_BLOWUP, or a secondary job):
    raises GPU power to anything up to ``max_power_fraction`` x TDP, step by step."""

    max_power_fraction: Fraction = Field(1.0, description="GPU power plus burn at most this x TDP")
    slowdown_fraction: Fraction = Field(
        0.0, description="training throughput lost while burn is enabled (Firefly: ~5 %)")


class Capacitors(StrictModel):
    """Energy storage in the racks' power supplies: a small, fast store."""

    j_per_gpu: NonNeg = Field(CAPACITOR_J_PER_GPU, description="usable energy per GPU (GB300: 65 J)")
    max_power_w_per_gpu: float | None = Field(
        None, gt=0, description="charge/discharge limit per GPU; default: the GPU's TDP (assumption)")
    round_trip_efficiency: float = Field(0.95, gt=0, le=1, description="assumption: ~95 %")
    capex_usd_per_gpu: NonNeg = Field(
        0.0, description="assumption: 0 (ships with GB300 racks; no supercap price found)")
    lifetime_years: float = Field(5.0, gt=0, description="assumption: the racks' life")


class Battery(StrictModel):
    """A site battery sized by the optimizer. Prices and efficiency default to the catalog's
    ``type`` entry (li_ion_lfp: NREL 2025, $372/kW + $241/kWh, 85 % round trip, 15 years)."""

    type: str = "li_ion_lfp"
    power_capex_usd_per_kw: NonNeg | None = None
    energy_capex_usd_per_kwh: NonNeg | None = None
    fixed_om_usd_per_kw_year: NonNeg | None = None
    round_trip_efficiency: float | None = Field(None, gt=0, le=1)
    lifetime_years: float | None = Field(None, gt=0)
    max_c_rate_per_h: float | None = Field(
        4.0, gt=0, description="power at most this x energy (per hour); assumption: 4 "
        "(power-oriented LFP); null = unlimited")
    degradation_usd_per_mwh: NonNeg | None = Field(
        None, description="wear per MWh discharged; default energy capex / (6,000 cycles x 80 % DoD)")
    max_power_mw: NonNeg | None = None
    max_energy_mwh: NonNeg | None = None


class Mitigations(StrictModel):
    """The mitigations the optimizer may use; a missing one is not available."""

    gpu_smoothing: GpuSmoothing | None = None
    burn: Burn | None = None
    capacitors: Capacitors | None = None
    battery: Battery | None = None

    def names(self) -> list[str]:
        return [k for k in ("gpu_smoothing", "burn", "capacitors", "battery") if getattr(self, k) is not None]


class Economics(StrictModel):
    energy_price_usd_per_mwh: NonNeg = Field(60.0, description="price of the extra energy (assumption: $60/MWh)")
    discount_rate: float = Field(0.08, ge=0, lt=1, description="annualises capital; default: in a plan, the "
                                 "program's finance.discount_rate, else 8 % (the planner's default)")
    job_hours_per_year: float = Field(8760.0, gt=0, le=8784,
                                      description="hours a year the job runs like the trace")
    throughput_value_usd_per_gpu_hour: NonNeg = Field(
        0.0, description="what a GPU-hour of training is worth: prices slowdown")


def _default_mitigations() -> Mitigations:
    return Mitigations(burn=Burn(), battery=Battery())


class SmoothingSpec(StrictModel):
    """The ``smoothing:`` section of a site file."""

    limits: Limits = Field(default_factory=Limits)
    mitigations: Mitigations = Field(
        default_factory=_default_mitigations,
        description="default when the key is absent: burn and battery")
    economics: Economics = Field(default_factory=Economics)
    resolution_s: float | None = Field(
        None, gt=0, lt=MAX_STEP_S, description="model time step; default: the trace's, at least 0.1 s, coarser "
        "when the trace would exceed max_steps")
    max_steps: int = Field(40_000, ge=10, description="decimate longer traces to this many steps")
    workload: str | None = Field(
        None, description="in a site file: the site's training job (workload YAML or trace CSV, relative "
        "to the site file); `dcplan plan` then adds the smoothing it needs to the site's plan")


class SmoothingFile(SmoothingSpec):
    """A standalone limits file: ``kind: smoothing`` and the keys of a site's smoothing section."""

    kind: Literal["smoothing"]
    name: str | None = None
