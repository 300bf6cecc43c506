"""The value a committed plan reaches on each cap quantity, under the current inputs.

Each quantity is measured as :mod:`dcplan.model.caps` constrains it, but from numbers: the
committed GPUs, build and dispatch, and today's catalog, series and site files. A cap that
binds several sites separately (``each``, or per-site quantities such as PUE) yields one value
per site, labelled as the plan labels them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dcplan.checks.state import SiteState
from dcplan.model.caps import emergency_steps
from dcplan.model.timegrid import TimeGrid
from dcplan.rules import ResolvedCap
from dcplan.schema.catalog import H100_TPP


def _share(part: float, whole: float) -> float | None:
    return part / whole if abs(whole) > 1e-12 else None


def _per_site(label: str, group: list[SiteState], value) -> list[tuple[str, float | None]]:
    """Per-site quantities (PUE, grid import) are limited site by site, labelled by site in a group."""
    return [(s.name if len(group) > 1 else label, value(s)) for s in group]


def _grid_sites(group: list[SiteState]) -> list[SiteState]:
    return [s for s in group if s.si.site.grid is not None]


def _counted_h100e(rc: ResolvedCap, s: SiteState) -> float:
    """H100-equivalents that count: a site's new order at or below the exemption does not."""
    threshold = rc.cap.exempt_orders_below_h100e
    if threshold is None:
        return s.h100e
    cat = s.si.catalog.gpus
    new = sum(n * cat[g].tpp for g, n in s.entry.gpus_new.items() if g in cat) / H100_TPP
    return s.h100e - new if new <= threshold else s.h100e


def _hourly_cfe(s: SiteState) -> float:
    clean = s.renewable_mw + s.col("battery_discharge_mw") - s.col("battery_charge_mw")
    return float(np.sum(s.weight * np.clip(np.minimum(s.load_mw, clean), 0.0, None)))


def _emergency_import(rc: ResolvedCap, s: SiteState) -> float:
    tg = TimeGrid(s.hours, s.weight, np.zeros(len(s.hours), dtype=int), tuple(s.month_steps), "committed")
    steps = emergency_steps(tg, s.si, rc)
    return float(s.col("grid_mw")[steps].max(initial=0.0))


def _billed_fraction(rc: ResolvedCap, s: SiteState, grid_limit_mw: float) -> float | None:
    contract = rc.cap.contract_mw if rc.cap.contract_mw is not None else grid_limit_mw
    peaks = s.monthly_peaks()
    return min(peaks) / contract if contract > 0 and peaks else None


def _land(rc: ResolvedCap, group: list[SiteState]) -> float:
    acres = rc.cap.building_acres * len(group)
    for s in group:
        for tech in ("solar", "wind"):
            key = s.renewable_key(tech)
            if key is not None and key in s.si.catalog.renewables:
                acres += s.capacity(f"{tech}_mw") * s.si.catalog.renewables[key].land_acres_per_mw
    return acres


def _dispatchable_share(s: SiteState, grid_limit_mw: float) -> float | None:
    firm = sum(s.gas_mw(cand, units) for _, cand, units in s.gas()) + s.capacity("battery_mw")
    return firm / grid_limit_mw if grid_limit_mw > 0 else None


def _backup_hours(group: list[SiteState]) -> list[tuple[str, float | None]]:
    """Equivalent full-load hours of each backup gas type, per site."""
    out = []
    for s in group:
        for _, cand, units in s.gas():
            if cand.role == "backup":
                mw = s.gas_mw(cand, units)
                out.append((f"{s.name}:{cand.type}", s.energy(f"gas_{cand.key}_mw") / mw if mw else 0.0))
    return out


@dataclass
class Context:
    """What some quantities need beyond the group: every site (shares of the portfolio), the
    recomputed annual cost (where known) and the grid limit in force, by site."""

    states: dict[str, SiteState]
    costs: dict[str, float]
    grid_limits: dict[str, float]


def _whole(value):
    return lambda rc, label, group, ctx: [(label, value(rc, group, ctx))]


QUANTITY_VALUES = {
    "gpus": _whole(lambda rc, g, ctx: float(sum(sum(s.gpus.values()) for s in g))),
    "gpus_h100e": _whole(lambda rc, g, ctx: sum(_counted_h100e(rc, s) for s in g)),
    "compute_share": _whole(lambda rc, g, ctx: _share(sum(s.tpp for s in g),
                                                      sum(s.tpp for s in ctx.states.values()))),
    "nox_t": _whole(lambda rc, g, ctx: sum(s.nox_t for s in g)),
    "co2_t": _whole(lambda rc, g, ctx: sum(s.co2_t for s in g)),
    "backup_engine_hours": lambda rc, label, g, ctx: _backup_hours(g),
    "pue": lambda rc, label, g, ctx: _per_site(label, g, lambda s: float(np.sum(s.weight * s.pue)
                                                                         / np.sum(s.weight))),
    "renewable_share": _whole(lambda rc, g, ctx: _share(sum(float(np.sum(s.weight * s.renewable_mw)) for s in g),
                                                        sum(s.facility_energy_mwh for s in g))),
    "hourly_cfe_share": _whole(lambda rc, g, ctx: _share(sum(_hourly_cfe(s) for s in g),
                                                         sum(s.facility_energy_mwh for s in g))),
    "water_m3": _whole(lambda rc, g, ctx: sum(s.si.wue(s.entry.cooling) * float(np.sum(s.weight)) * s.it_mw
                                              for s in g)),
    "grid_import_mw": lambda rc, label, g, ctx: _per_site(label, _grid_sites(g),
                                                          lambda s: float(s.col("grid_mw").max(initial=0))),
    "grid_emergency_import_mw": lambda rc, label, g, ctx: _per_site(label, _grid_sites(g),
                                                                    lambda s: _emergency_import(rc, s)),
    "billed_demand_fraction": lambda rc, label, g, ctx: _per_site(
        label, _grid_sites(g), lambda s: _billed_fraction(rc, s, ctx.grid_limits[s.name])),
    "land_acres": _whole(lambda rc, g, ctx: _land(rc, g)),
    "cost_usd": _whole(lambda rc, g, ctx: sum(ctx.costs[s.name] for s in g)  # None: no annual cost known
                       if all(s.name in ctx.costs for s in g) else None),
    "onsite_dispatchable_share": lambda rc, label, g, ctx: _per_site(
        label, [s for s in _grid_sites(g) if ctx.grid_limits[s.name] > 0],
        lambda s: _dispatchable_share(s, ctx.grid_limits[s.name])),
}


def cap_values(rc: ResolvedCap, ctx: Context) -> list[tuple[str, float | None]]:
    """(label, value) for every group ``rc`` binds; None where a share is of nothing."""
    out: list[tuple[str, float | None]] = []
    for label, names in rc.groups:
        group = [ctx.states[n] for n in names if n in ctx.states]
        out += QUANTITY_VALUES[rc.cap.quantity](rc, label, group, ctx)
    return out
