"""Pure formulas the model, the check and the diagnosis share: each defined once, with its units
in its name. Nothing here knows Pyomo; the model applies them to variables where they are
linear in them (a number of GPUs), the check and the diagnosis to numbers."""

from __future__ import annotations

import datetime as dt

import numpy as np


def capital_recovery_factor(rate: float, years: float) -> float:
    """CRF = r(1+r)^n / ((1+r)^n - 1): the annuity that repays 1 unit of capital over n years."""
    if rate == 0:
        return 1.0 / years
    growth = (1 + rate) ** years
    return rate * growth / (growth - 1)


def asset_life_years(lifetimes_years: dict[str, float], section: str, key: str, catalog_years: float) -> float:
    """The life an asset's capital is annualised over: the program's ``finance.lifetimes_years``
    by the asset's catalog key, else by its catalog section, else the catalog's own."""
    return lifetimes_years.get(key, lifetimes_years.get(section, catalog_years))


def lead_time_months(override: float | None, catalog: float) -> float:
    """A site's own lead time for a candidate, else the catalog's."""
    return catalog if override is None else override


def gas_co2_t_per_mwh(heat_rate_mmbtu_per_mwh: float, co2_t_per_mmbtu: float) -> float:
    """CO2 of a MWh from gas, tonnes: the fuel burnt for it (heat rate) times the fuel's CO2."""
    return heat_rate_mmbtu_per_mwh * co2_t_per_mmbtu


def gpu_it_mw(gpus, spec, provisioning: float):
    """Design IT load of ``gpus`` GPUs (a number, or a model expression), MW: each GPU's all-in
    power (server or rack share plus network fabric, storage and management) times the share
    provisioned (1: a synchronous training cluster, whose GPUs peak together)."""
    return gpus * (spec.design_w_per_gpu * provisioning / 1e6)


def facility_load_mw(it_mw, pue, draw_fraction: float = 1.0):
    """Facility load, MW: the IT (design MW, a number or a model expression) drawing its share
    ``draw_fraction`` (1 at the design peak), times the PUE (a number or an array of hours)."""
    return it_mw * (pue * draw_fraction)


def smoothed_draw_fraction(average_draw_fraction: float, added_fraction: float = 0.0,
                           peak_fraction: float = 1.0) -> float:
    """The IT's hourly draw as a share of its design IT: its average share, plus what smoothing a
    training job adds (``added_fraction``: burn work, a floor, the stores' losses), never above the
    smoothed job's peak (``peak_fraction``, 1 but where charging goes beyond the design). A
    cluster drawing its design all hour has no troughs to fill: the extra energy of smoothing had
    been added on top of that, a load above what the GPUs can draw."""
    return min(average_draw_fraction + added_fraction, max(peak_fraction, average_draw_fraction))


def firm_without_largest_mw(units: list[tuple[float, int]]) -> float:
    """N+1 firm capacity, MW, of (unit MW, units) pairs: all of it less the largest unit built."""
    built = [(mw, n) for mw, n in units if n]
    return sum(mw * n for mw, n in built) - max((mw for mw, _ in built), default=0.0)


def output_fraction(curve: list[tuple[float, float]] | None, at: np.ndarray) -> np.ndarray:
    """A gas unit's available output as a share of its ISO rating at each value ``at`` of what
    the curve is against (the ambient dry-bulb temperature in °C for the catalog's
    ``output_vs_ambient_c``, the elevation in m for ``output_vs_elevation_m``): its points,
    interpolated linearly and held at the end points; 1 everywhere without a curve."""
    if not curve:
        return np.ones_like(at, dtype=float)
    points = np.asarray(curve, dtype=float)
    return np.interp(at, points[:, 0], points[:, 1])


def battery_firm_mw(power_mw, energy_mwh, hours: float, discharge_efficiency: float = 1.0):
    """What a battery counts for as firm capacity, MW: the power it can hold for ``hours`` out of
    ``energy_mwh`` in store, each MWh out costing 1 / ``discharge_efficiency`` of it."""
    return min(power_mw, energy_mwh * discharge_efficiency / hours)


def grid_limit_mw(grid, when) -> float:
    """Import limit in force on date ``when`` (0 before the connection is available)."""
    if grid.available_from and when < grid.available_from:
        return 0.0
    limit = grid.max_import_mw
    for step in grid.steps:
        if step.date <= when:
            limit = step.max_import_mw
    return limit


def grid_limit_during(grid, start, end) -> float:
    """The firm limit over a whole period: the least in force on any of its days (a step that
    arrives mid-period helps from the next period)."""
    changes = [d for d in [grid.available_from, *(s.date for s in grid.steps)] if d and start < d <= end]
    return min(grid_limit_mw(grid, d) for d in [start, *changes])


def grid_limit_key(grid, start, end=None) -> tuple:
    """The key of the site file that sets :func:`grid_limit_during` (of the day ``start`` alone
    without ``end``): ``available_from`` before the connection, the latest step in force, else
    ``max_import_mw``. What a message about the limit cites."""
    end = end or start
    changes = [d for d in [grid.available_from, *(s.date for s in grid.steps)] if d and start < d <= end]
    when = min([start, *changes], key=lambda d: grid_limit_mw(grid, d))
    if grid.available_from and when < grid.available_from:
        return ("grid", "available_from")
    steps = [i for i, s in enumerate(grid.steps) if s.date <= when]
    return ("grid", "steps", steps[-1], "max_import_mw") if steps else ("grid", "max_import_mw")


def grid_connected(grid, start) -> bool:
    """Whether the connection is there from a period's first day (upgrades add to it only then)."""
    return grid.available_from is None or grid.available_from <= start


def grid_import_limit_mw(grid, start, end, upgrade_units: dict[str, float], flexible_accepted: bool) -> float:
    """The most a site may import in any hour of a period: the firm limit, plus each upgrade's MW
    times its units in service (on a connection that is there), or a flexible offer's limit
    where the plan accepted it and that is more (outside the offer's curtailed hours)."""
    limit = grid_limit_during(grid, start, end)
    if grid_connected(grid, start):
        limit += sum(u.adds_mw * upgrade_units.get(u.name, 0.0) for u in grid.upgrades)
    if grid.flexible is not None and flexible_accepted:
        limit = max(limit, grid.flexible.max_import_mw)
    return limit


def capping_segments(curve: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """A power-capping curve — (power share, throughput share) points from (1, 1) down — as
    segments of its lower convex envelope in the depth of the cap r = 1 - power share: (width in
    r, throughput lost per unit of r). Convex, each segment dearer than the one before, so that a
    linear model fills them in order; the envelope lies on or below the measured loss."""
    points = sorted((1.0 - p, 1.0 - t) for p, t in curve)
    hull: list[tuple[float, float]] = []
    for point in points:  # the lower hull of points sorted by depth (monotone chain)
        while len(hull) >= 2 and _turns_left(hull[-2], hull[-1], point) <= 0:
            hull.pop()
        hull.append(point)
    return [(b[0] - a[0], (b[1] - a[1]) / (b[0] - a[0])) for a, b in zip(hull, hull[1:])]


def _turns_left(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


DAYS_PER_YEAR = 365.25


def years_between(a: dt.date, b: dt.date) -> float:
    """Years from ``a`` to ``b``, in days over 365.25."""
    return (b - a).days / DAYS_PER_YEAR


def discount_factor(rate: float, base: dt.date, when: dt.date, later_years: float = 0.0) -> float:
    """What a dollar paid on ``when`` (plus ``later_years``: a period's middle) is worth on
    ``base``, discounted at ``rate`` a year."""
    return (1 + rate) ** -(years_between(base, when) + later_years)


def undepreciated_share(online: dt.date, retire: dt.date, horizon_end: dt.date) -> float:
    """The share of an asset's capital not yet depreciated (straight line from ``online`` to
    ``retire``) on ``horizon_end``: the salvage credit's."""
    life_days = (retire - online).days
    left = (retire - max(horizon_end, online)).days
    return min(1.0, max(0.0, left / life_days)) if life_days > 0 else 0.0


def capital_payments(cost, at_order: float, ordered: dt.date, online: dt.date) -> tuple:
    """An order's capital as it is paid: the share ``at_order`` (a deposit) when ordered, the
    rest when online; ((date, amount), (date, amount)), ``cost`` a number or an expression."""
    return (ordered, at_order * cost), (online, (1 - at_order) * cost)

