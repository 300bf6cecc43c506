"""Why a smoothing problem's limits cannot be met: direct checks, then an elastic re-solve."""

from __future__ import annotations

from dcplan.schema.smoothing import LIMIT_KEYS, Limits, SmoothingSpec
from dcplan.smoothing.metrics import LIMIT_UNIT, minute_lag, violations
from dcplan.smoothing.model import ModelData, build
from dcplan.smoothing.spectrum import band_label
from dcplan.solver import SolveOptions, solve

SLACK_TOL_MW = 1e-6


def _stated(lim: Limits, key: str) -> str:
    """A limit as written: '10 MW', '2 %/min', or a spectral mask's bands."""
    value = getattr(lim, key)
    if key == "spectral_mask":
        return "(" + ", ".join(f"{band_label(b)} <= {b.max_amplitude_mw:g} MW" for b in value) + ")"
    return f"{value:g} {LIMIT_UNIT[key]}"


def diagnose(data: ModelData, spec: SmoothingSpec, options: SolveOptions, blocks_of: int | None = None) -> list[str]:
    """Why the limits cannot be met: a few direct checks, then an elastic re-solve (one slack
    per limit, least total violation) that names the limits still exceeded. ``blocks_of``: the
    data are a long trace's block means (f steps each), a relaxation whose excess is a floor of
    the trace's (a ramp over one step of a block is averaged over the block: half as steep at
    2; an audit had read the block's figure as the schedule's)."""
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
            reasons.append(f"{key} {_stated(lim, key)}: the raw load exceeds it by "
                           f"{excess:,.3f} {LIMIT_UNIT[key]} and no mitigation is allowed")
        return reasons or [f"the limits cannot be met {with_what}"]
    sm = build(data, elastic=True)
    res = solve(sm.model, SolveOptions(time_limit_s=options.time_limit_s, threads=options.threads))
    if not res.has_solution:
        return reasons or [f"the limits cannot be met {with_what} (the diagnosis found no schedule: {res.status})"]
    m = sm.model
    dt = data.step_s
    lag_s = minute_lag(dt) * dt
    found = []
    for key in LIMIT_KEYS:
        var = getattr(m, "slack_" + key, None)
        if var is None or (var.value or 0.0) <= SLACK_TOL_MW:
            continue
        excess = var.value
        if key == "spectral_mask":
            found.append(f"spectral_mask {_stated(lim, key)} cannot be met {with_what}: the closest schedule's "
                         f"total variation still exceeds the {data.variation_budget_mw:,.3f} MW that guarantees "
                         f"it by {excess:,.3f} MW")
            continue
        if key.endswith("_per_s"):
            excess /= dt
        elif key.endswith("_per_min"):
            excess *= 60.0 / lag_s * (100.0 / lim.capacity_mw if "_pct_" in key else 1.0)
        by = f"by at least {excess:,.3f} {LIMIT_UNIT[key]} (on blocks of {blocks_of} steps)" if blocks_of else \
            f"by {excess:,.3f} {LIMIT_UNIT[key]}"
        found.append(f"{key} {_stated(lim, key)} cannot be met {with_what}: the closest "
                     f"schedule still exceeds it {by}")
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
