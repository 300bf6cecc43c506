"""The cases of the dcplan-vs-PyPSA benchmark suite (``benchmarks/suite.py``).

A case is a full-year (8,760 h), single-site, fixed-load planning problem: one GPU model and
one cooling option, so IT MW is fixed and facility load is IT MW x an hourly PUE. The power
system around it varies from case to case: grid-tied (hourly price, import cap, optional
monthly demand charge and hourly CO2 intensity) or islanded (N+1 on gas), one or two gas types
of different sizes (optionally with hourly unit commitment), solar, wind, a battery of fixed or
free duration, and an annual CO2 cap.

:func:`write_case` turns a :class:`Case` into a folder that both tools read: a dcplan site file,
one CSV per hourly series (written with ``repr`` so both read the very same floats), and
``case.json`` with the figures the PyPSA model needs, computed here from the catalog data
files and dcplan's default finance (never from dcplan's model code).

Fixed cases are hand-written to cover each feature; random ones are drawn from a seed, each
from its own generator (``default_rng([seed, i])``), so ``--random 5`` and ``--random 8`` share
their first five cases.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path

import compare_pypsa as cp
import numpy as np

HOURS = cp.HOURS
YEAR = 2027  # dcplan's default horizon start for a site planned alone: a 365-day year
CO2_T_PER_MMBTU = 0.05306
"""EPA natural-gas factor (40 CFR 98 Table C-1), the figure dcplan documents for gas CO2."""

WEATHER_FILES = {
    "miami": "miami_weather.csv",
    "greensboro": "greensboro_weather.csv",
    "sand_point": "sand_point_weather.csv",
}
"""Real TMY weather in sites/data (solar_cf, wind_cf, ambient_temp_c); "synthetic" is seeded."""
PRICE_FILES = {"mojave": "mojave_price.csv", "memphis": "memphis_price.csv"}

EXTRA_GENERATORS = {
    "trent60": {
        "name": "60 MW-class aeroderivative gas turbine (benchmark-suite entry)",
        "kind": "aeroderivative",
        "unit_mw": 60.0,
        "heat_rate_mmbtu_per_mwh": 8.9,
        "capex_usd_per_kw": 1500.0,
        "fixed_om_usd_per_kw_year": 9.99,
        "variable_om_usd_per_mwh": 5.97,
        "lead_time_months": 36.0,
        "min_stable_load_fraction": 0.5,
        "ramp_rate_fraction_per_min": 0.3,
        "nox_kg_per_mwh": 0.37,
        "lifetime_years": 25.0,
        "notes": "assumption: the built-in catalog has no 60 MW class (lm6000 is 49 MW, "
        "frame_ct 233 MW); figures are LM6000-like, added through the site's catalog section",
    }
}
"""Generator types a case adds through its site's ``catalog:`` section: the built-in catalog
jumps from 49 MW to 233 MW, and the suite wants a 60 MW class (and to exercise overrides)."""

LIQUID_GPUS = ("gb200_nvl72", "gb300_nvl72", "mi355x")


@dataclass(frozen=True)
class Gas:
    type: str
    max_units: int
    unit_commitment: bool = False


@dataclass(frozen=True)
class Case:
    """One benchmark case. ``it_mw`` is rounded down to whole purchase units of ``gpu_model``;
    ``grid_max_import_mw`` None means islanded; ``co2_cap`` is a multiple of the emissions of a
    simple feasible dispatch (see :func:`co2_references`): 1 or more is feasible by construction.
    """

    name: str
    about: str
    it_mw: float
    gpu_model: str = "h100_sxm"
    cooling: str = "air_economizer"
    pue_curve: tuple[tuple[float, float], ...] = ((10, 1.12), (20, 1.16), (28, 1.24), (34, 1.32))
    weather: str = "miami"
    price: str = "mojave"
    price_scale: float = 1.0
    price_noise_usd_per_mwh: float = 0.0
    price_offset_usd_per_mwh: float = 0.0  # added after the scale
    price_floor_usd_per_mwh: float = 1.0  # below 0: the grid pays for energy taken in its cheapest hours
    grid_max_import_mw: float | None = 50.0
    demand_charge_usd_per_kw_month: float = 0.0
    grid_co2_mean_t_per_mwh: float | None = None
    gas: tuple[Gas, ...] = (Gas("lm2500xpress", 6),)
    gas_price_usd_per_mmbtu: float = 5.0
    solar_max_mw: float | None = 150.0
    wind_max_mw: float | None = None
    battery: str = "fixed"  # "none" | "fixed" | "free" (energy sized apart from power)
    battery_duration_h: float = 4.0
    battery_max_power_mw: float | None = None
    co2_cap: float | None = None
    derate: bool = False  # the site gives its weather's ambient_temp_c: gas output falls on hot hours
    expect: str = "optimal"  # or "infeasible"
    origin: str = "fixed"
    seed: int = 0

    @property
    def islanded(self) -> bool:
        return self.grid_max_import_mw is None


FIXED_CASES = (
    Case(
        "grid_lm2500_solar_bat",
        "grid-tied, capped import, 35 MW-class units, solar and a 4 h battery",
        it_mw=100,
        grid_max_import_mw=50,
        gas=(Gas("lm2500xpress", 6),),
        gas_price_usd_per_mmbtu=8.0,
        solar_max_mw=200,
    ),
    Case(
        "grid_demand_two_gas_wind",
        "demand charge, LM6000 and Wartsila engines, solar, wind, battery of free duration",
        it_mw=160,
        gpu_model="b200",
        cooling="direct_liquid",
        pue_curve=((0, 1.07), (20, 1.08), (28, 1.11), (34, 1.15)),
        weather="sand_point",
        price="memphis",
        grid_max_import_mw=120,
        demand_charge_usd_per_kw_month=15.78,
        gas=(Gas("lm6000", 4), Gas("wartsila_18v50sg", 8)),
        gas_price_usd_per_mmbtu=9.0,
        solar_max_mw=150,
        wind_max_mw=150,
        battery="free",
        battery_max_power_mw=200,
    ),
    Case(
        "grid_co2_cap_wind",
        "hourly grid CO2 and an annual CO2 cap at a feasible dispatch's emissions, windy site",
        it_mw=80,
        gpu_model="h200",
        weather="sand_point",
        price="memphis",
        price_scale=1.2,
        price_noise_usd_per_mwh=4.0,
        grid_max_import_mw=60,
        grid_co2_mean_t_per_mwh=0.45,
        gas=(Gas("lm6000", 3),),
        gas_price_usd_per_mmbtu=4.5,
        solar_max_mw=200,
        wind_max_mw=250,
        battery="none",
        co2_cap=1.0,
        seed=11,
    ),
    Case(
        "grid_negative_prices_bat",
        "grid-tied with negative prices (Mojave's x3 less $90 a MWh: the grid pays in 1,836 hours), "
        "an import cap above the load, solar and a 4 h battery that charges and discharges in one hour",
        it_mw=60,
        price_scale=3.0,
        price_offset_usd_per_mwh=-90.0,
        price_floor_usd_per_mwh=-150.0,
        grid_max_import_mw=120,
        gas=(Gas("lm2500xpress", 4),),
        solar_max_mw=100,
        battery_max_power_mw=80,
        seed=17,
    ),
    Case(
        "grid_uc_solar_bat",
        "grid-tied, LM6000 with hourly unit commitment, solar and a 4 h battery as candidates",
        it_mw=90,
        weather="sand_point",
        price="memphis",
        price_scale=1.3,
        price_noise_usd_per_mwh=6.0,
        grid_max_import_mw=60,
        gas=(Gas("lm6000", 3, unit_commitment=True),),
        gas_price_usd_per_mmbtu=5.5,
        solar_max_mw=200,
        seed=13,
    ),
    Case(
        "islanded_wartsila_uc",
        "islanded (N+1) gas campus, Wartsila engines with hourly unit commitment",
        it_mw=60,
        gpu_model="mi300x",
        cooling="air_chiller",
        pue_curve=((10, 1.25), (20, 1.3), (30, 1.4), (36, 1.5)),
        grid_max_import_mw=None,
        gas=(Gas("wartsila_18v50sg", 8, unit_commitment=True),),
        gas_price_usd_per_mmbtu=6.0,
        solar_max_mw=None,
        battery="none",
    ),
    Case(
        "islanded_60mw_class_two_gas",
        "islanded (N+1) GB200 campus, 60 MW-class and 35 MW-class units, solar, wind, free battery",
        it_mw=220,
        gpu_model="gb200_nvl72",
        cooling="direct_liquid",
        pue_curve=((0, 1.07), (20, 1.08), (28, 1.11), (34, 1.15), (45, 1.22)),
        weather="synthetic",
        grid_max_import_mw=None,
        gas=(Gas("trent60", 6), Gas("lm2500xpress", 4)),
        gas_price_usd_per_mmbtu=7.0,
        solar_max_mw=300,
        wind_max_mw=150,
        battery="free",
        seed=5,
    ),
    Case(
        "hot_islanded_derated_gas",
        "islanded (N+1) on a hot site, gas derated hour by hour: LM6000s (8 %/10 °C above 15 °C) with "
        "hourly commitment beside two Wartsila engines (flat to 40 °C), solar",
        it_mw=70,
        weather="miami",
        grid_max_import_mw=None,
        gas=(Gas("lm6000", 5, unit_commitment=True), Gas("wartsila_18v50sg", 2)),
        gas_price_usd_per_mmbtu=6.0,
        solar_max_mw=100,
        battery="none",
        derate=True,
    ),
    Case(
        "infeasible_islanded_n1",
        "islanded, too few LM6000 allowed for N+1 (3 x 49 MW firm + a battery of at most 20 MW < design peak)",
        it_mw=150,
        grid_max_import_mw=None,
        gas=(Gas("lm6000", 4),),
        solar_max_mw=200,
        battery_max_power_mw=20,
        expect="infeasible",
    ),
    Case(
        "infeasible_co2_cap",
        "grid-tied, CO2 cap below what any dispatch can reach",
        it_mw=120,
        weather="greensboro",
        price="memphis",
        grid_max_import_mw=90,
        grid_co2_mean_t_per_mwh=0.4,
        gas=(Gas("lm2500xpress", 6),),
        solar_max_mw=100,
        co2_cap=0.25,
        expect="infeasible",
        seed=3,
    ),
)


# --- random cases ----------------------------------------------------------------------------

RANDOM_GPUS = ("h100_sxm", "h200", "b200", "mi300x", "gb200_nvl72")
RANDOM_GAS = ("lm2500xpress", "lm6000", "wartsila_18v50sg", "trent60")


def random_cases(seed: int, count: int, catalog: dict) -> list[Case]:
    """``count`` feasible cases drawn from ``seed``. Supply is sized to be adequate (grid cap
    plus all allowed gas covers the peak with a margin; islanded sites may build N+1 of their
    first gas type), so each has a plan; a CO2 cap, when drawn, is at least the emissions of a
    simple feasible dispatch."""
    return [_random_case(seed, i, catalog) for i in range(count)]


MODES = ("plain", "plain", "unit_commitment", "co2_cap")
"""What a random case stresses. Some combinations are left out because PyPSA's HiGHS MIP takes
5 minutes or more on them on a 2-core machine (measured while writing the suite): a CO2 cap with
a battery or with unit commitment, and unit commitment on an islanded site with solar or wind."""


def _random_case(seed: int, i: int, catalog: dict) -> Case:
    rng = np.random.default_rng([seed, i])
    mode = str(rng.choice(MODES))
    gpu = str(rng.choice(RANDOM_GPUS))
    cooling = (
        str(rng.choice(("direct_liquid", "immersion")))
        if gpu in LIQUID_GPUS
        else str(rng.choice(("air_economizer", "air_chiller", "direct_liquid")))
    )
    base = float(rng.uniform(1.06, 1.3))
    pue_curve = tuple(
        (t, round(base + d, 3)) for t, d in ((0, 0.0), (20, 0.02), (30, 0.08), (40, 0.18))
    )
    it_mw = float(rng.uniform(60, 220))
    peak = it_mw * max(p for _, p in pue_curve)
    islanded = bool(rng.random() < 0.35)
    grid = None if islanded else round(float(rng.uniform(0.3, 0.9)) * peak, 1)
    two_types = mode != "unit_commitment" and rng.random() < 0.4
    kinds = [str(k) for k in rng.choice(RANDOM_GAS, size=1 + two_types, replace=False)]
    gas = []
    for j, kind in enumerate(kinds):
        size = catalog["generators"][kind]["unit_mw"]
        need = peak if islanded else max(peak * 1.1 - grid, 0.0)
        # the first type alone can carry the load (N+1 when islanded); a second adds options
        least = math.ceil(need / size) + (1 if islanded else 0) if j == 0 else 1
        gas.append(Gas(kind, least + int(rng.integers(0, 3)), mode == "unit_commitment"))
    solar = round(float(rng.uniform(0.2, 2.0)) * it_mw) if rng.random() < 0.85 else None
    wind = round(float(rng.uniform(0.2, 1.5)) * it_mw) if rng.random() < 0.4 else None
    battery = str(rng.choice(("none", "fixed", "fixed", "free")))
    if mode == "co2_cap":
        battery = "none"
    if mode == "unit_commitment" and islanded:
        solar = wind = None
        battery = "none"
    return Case(
        name=f"r{seed}_{i + 1:02d}",
        about=f"random draw {i + 1} of seed {seed} ({mode.replace('_', ' ')})",
        it_mw=round(it_mw, 1),
        gpu_model=gpu,
        cooling=cooling,
        pue_curve=pue_curve,
        weather=str(rng.choice((*WEATHER_FILES, "synthetic"))),
        price=str(rng.choice((*PRICE_FILES, "synthetic"))),
        price_scale=round(float(rng.uniform(0.8, 1.4)), 3),
        price_noise_usd_per_mwh=round(float(rng.uniform(0.0, 8.0)), 2),
        grid_max_import_mw=grid,
        demand_charge_usd_per_kw_month=(
            round(float(rng.uniform(8, 20)), 2) if grid and rng.random() < 0.5 else 0.0
        ),
        grid_co2_mean_t_per_mwh=(
            round(float(rng.uniform(0.2, 0.6)), 3)
            if grid and (mode == "co2_cap" or rng.random() < 0.4)
            else None
        ),
        gas=tuple(gas),
        gas_price_usd_per_mmbtu=round(float(rng.uniform(2.5, 9.0)), 2),
        solar_max_mw=solar,
        wind_max_mw=wind,
        battery=battery,
        battery_duration_h=float(rng.choice((2.0, 4.0, 6.0))),
        battery_max_power_mw=round(float(rng.uniform(0.3, 1.5)) * it_mw),
        co2_cap=round(float(rng.uniform(1.0, 1.15)), 3) if mode == "co2_cap" else None,
        origin="random",
        seed=seed * 100 + i,
    )


# --- catalog and economics (the PyPSA side's numbers) ---------------------------------------


def merged_catalog() -> dict:
    """The built-in catalog data files plus the suite's extra generator types: exactly what a
    case's site file gives dcplan (its ``catalog:`` section adds those types)."""
    from dcplan.catalog import builtin_catalog_data

    data = {section: dict(entries) for section, entries in builtin_catalog_data().items()}
    data["generators"].update(EXTRA_GENERATORS)
    return data


def default_discount_rate() -> float:
    """dcplan's default finance (a site planned alone has no finance section)."""
    from dcplan.schema.program import Finance

    return Finance().discount_rate


def economics(case: Case, catalog: dict, rate: float) -> dict:
    """Annualised per-MW (per-MWh) capital plus fixed O&M, marginal costs and emission factors,
    from the catalog as dcplan prices them: capital x CRF(rate, life) + fixed O&M on new
    capacity, fuel = heat rate x gas price, plus variable O&M."""
    gen, ren, sto = catalog["generators"], catalog["renewables"], catalog["storage"]

    def annual(capex_per_kw: float, life: float, fom_per_kw: float = 0.0) -> float:
        return 1000.0 * (capex_per_kw * cp.crf(rate, life) + fom_per_kw)

    gas = {}
    for g in case.gas:
        s = gen[g.type]
        gas[g.type] = {
            "unit_mw": s["unit_mw"],
            "max_units": g.max_units,
            "unit_commitment": g.unit_commitment,
            "min_stable_load_fraction": s["min_stable_load_fraction"],
            "capital_usd_per_mw_yr": annual(
                s["capex_usd_per_kw"], s["lifetime_years"], s["fixed_om_usd_per_kw_year"]
            ),
            "marginal_usd_per_mwh": s["heat_rate_mmbtu_per_mwh"] * case.gas_price_usd_per_mmbtu
            + s["variable_om_usd_per_mwh"],
            "co2_t_per_mwh": s["heat_rate_mmbtu_per_mwh"] * CO2_T_PER_MMBTU,
            "output_vs_ambient_c": s.get("output_vs_ambient_c") if case.derate else None,
        }
    out = {"discount_rate": rate, "gas": gas}
    for tech, key, cap in (
        ("solar", "utility_pv", case.solar_max_mw),
        ("wind", "onshore_wind", case.wind_max_mw),
    ):
        if cap is not None:
            s = ren[key]
            out[tech] = {
                "max_mw": cap,
                "capital_usd_per_mw_yr": annual(
                    s["capex_usd_per_kw"], s["lifetime_years"], s["fixed_om_usd_per_kw_year"]
                ),
            }
    if case.battery != "none":
        s = sto["li_ion_lfp"]
        crf = cp.crf(rate, s["lifetime_years"])
        power = 1000.0 * (s["power_capex_usd_per_kw"] * crf + s["fixed_om_usd_per_kw_year"])
        energy = 1000.0 * s["energy_capex_usd_per_kwh"] * crf
        fixed = case.battery == "fixed"
        out["battery"] = {
            "efficiency": math.sqrt(s["round_trip_efficiency"]),
            "duration_h": case.battery_duration_h if fixed else None,
            "max_power_mw": case.battery_max_power_mw,
            # a fixed duration folds the energy capital into the per-MW figure
            "power_usd_per_mw_yr": power + (case.battery_duration_h * energy if fixed else 0.0),
            "energy_usd_per_mwh_yr": None if fixed else energy,
        }
    return out


# --- hourly profiles -------------------------------------------------------------------------


def _synthetic_wind(seed: int) -> np.ndarray:
    """A seeded wind capacity factor: an AR(1) wind speed with a seasonal swing through a
    cut-in / rated / cut-out power curve."""
    rng = np.random.default_rng([seed, 17])
    doy = np.arange(HOURS) // 24
    speed = np.empty(HOURS)
    x = 0.0
    for t in range(HOURS):
        x = 0.97 * x + rng.normal(0, 0.6)
        speed[t] = 7.0 + 1.5 * math.cos(2 * math.pi * doy[t] / 365) + x
    cf = np.clip((speed - 3.0) / (12.0 - 3.0), 0, 1) ** 1.5
    cf[speed > 25] = 0.0
    return np.round(cf, 4)


def profiles(case: Case) -> dict[str, np.ndarray]:
    """The case's hourly arrays: solar and wind capacity factors, PUE, price and grid CO2.
    Real TMY weather from sites/data or seeded synthetic stand-ins; the price is perturbed
    with the case's seed; grid CO2 rises with the price rank (dearer hours burn more gas)."""
    if case.weather == "synthetic":
        solar, temp, _ = cp._synthetic_profiles(case.seed)
        wind = _synthetic_wind(case.seed)
    else:
        path = cp.SITES_DATA / WEATHER_FILES[case.weather]
        solar, wind, temp = (
            cp._read_column(path, c) for c in ("solar_cf", "wind_cf", "ambient_temp_c")
        )
    if case.price == "synthetic":
        price = cp._synthetic_profiles(case.seed + 1)[2]
    else:
        price = cp._read_column(cp.SITES_DATA / PRICE_FILES[case.price], "price_usd_per_mwh")
    rng = np.random.default_rng([case.seed, 29])
    price = price * case.price_scale + case.price_offset_usd_per_mwh + rng.normal(0, case.price_noise_usd_per_mwh, HOURS)
    xs, ys = zip(*case.pue_curve)
    out = {
        "solar_cf": np.round(np.clip(solar, 0, 1), 4),
        "wind_cf": np.round(np.clip(wind, 0, 1), 4),
        "pue": np.round(np.clip(np.interp(temp, xs, ys), 1.0, 3.0), 4),
        "price_usd_per_mwh": np.round(np.clip(price, case.price_floor_usd_per_mwh, None), 2),
    }
    if case.derate:
        out["ambient_temp_c"] = np.round(temp, 2)
    if case.grid_co2_mean_t_per_mwh is not None:
        rank = np.argsort(np.argsort(out["price_usd_per_mwh"], kind="stable")) / (HOURS - 1)
        co2 = case.grid_co2_mean_t_per_mwh * (0.75 + 0.5 * rank + rng.normal(0, 0.03, HOURS))
        out["co2_t_per_mwh"] = np.round(np.clip(co2, 0.01, 1.5), 4)
    return out


def co2_references(case: Case, econ: dict, it_mw: float, arrays: dict) -> dict:
    """Two yardsticks for a CO2 cap, in t/yr.

    ``feasible``: the emissions of one dispatch that meets every limit (all allowed solar and
    wind, then the cleanest firm source first each hour; a committed unit below its minimum
    stable load is raised to it, which other supply can make room for since load exceeds any
    unit's minimum), so a cap at or above it is feasible. ``floor``: no plan can emit less than
    the energy that renewables cannot cover, even shifted by a lossless battery, times the
    cleanest intensity available, so a cap below it is infeasible."""
    load = it_mw * arrays["pue"]
    renewable = np.zeros(HOURS)
    for tech in ("solar", "wind"):
        if tech in econ:
            renewable += econ[tech]["max_mw"] * arrays[f"{tech}_cf"]
    residual = np.maximum(load - renewable, 0.0)
    grid_co2 = arrays.get("co2_t_per_mwh", np.zeros(HOURS))
    sources = [
        (np.full(HOURS, g["co2_t_per_mwh"]), g["max_units"] * g["unit_mw"], g)
        for g in econ["gas"].values()
    ]
    if not case.islanded:
        sources.append((grid_co2, case.grid_max_import_mw, None))
    intensity = np.stack([s[0] for s in sources])
    order = np.argsort(intensity, axis=0, kind="stable")
    left, emitted = residual.copy(), np.zeros(HOURS)
    for rank in range(len(sources)):
        for j, (co2, cap, gas) in enumerate(sources):
            hours = order[rank] == j
            take = np.minimum(left, cap) * hours
            if gas is not None and gas["unit_commitment"]:
                floor = gas["min_stable_load_fraction"] * gas["unit_mw"]
                take = np.where((take > 0) & (take < floor), floor, take)
            emitted += take * co2
            left = np.maximum(left - take, 0.0)
    if left.max() > 1e-6:
        raise ValueError(f"{case.name}: allowed supply cannot meet the load in every hour")
    floor = max(float(load.sum() - renewable.sum()), 0.0) * float(intensity.min())
    return {"feasible_t": float(emitted.sum()), "floor_t": floor}


# --- writing a case --------------------------------------------------------------------------


SERIES_FILES = {
    "solar_cf": "solar.csv",
    "wind_cf": "wind.csv",
    "pue": "pue.csv",
    "price_usd_per_mwh": "price.csv",
    "co2_t_per_mwh": "grid_co2.csv",
    "ambient_temp_c": "weather.csv",
}
"""Each hourly series in its own CSV, its column named with its unit as dcplan requires."""


def _series(column: str) -> dict:
    return {"csv": SERIES_FILES[column], "column": column}


def site_document(case: Case, gpus: int, co2_cap_t: float | None) -> dict:
    """The dcplan site file of the case, as data (written as YAML)."""
    site: dict = {
        "kind": "site",
        "name": case.name,
        "location": {"lat": 35.0, "lon": -100.0, "country": "US", "timezone": "America/Chicago"},
    }
    if not case.islanded:
        grid = {
            "max_import_mw": case.grid_max_import_mw,
            "energy_price_usd_per_mwh": _series("price_usd_per_mwh"),
            "demand_charge_usd_per_kw_month": case.demand_charge_usd_per_kw_month,
        }
        if case.grid_co2_mean_t_per_mwh is not None:
            grid["co2_t_per_mwh"] = _series("co2_t_per_mwh")
        site["grid"] = grid
    if case.derate:
        site["ambient_temp_c"] = _series("ambient_temp_c")
    site["fuel"] = {"gas_price_usd_per_mmbtu": case.gas_price_usd_per_mmbtu}
    tech: dict = {
        "gas": [
            {"type": g.type, "max_units": g.max_units, "unit_commitment": g.unit_commitment}
            for g in case.gas
        ]
    }
    for name, key, cap in (
        ("solar", "utility_pv", case.solar_max_mw),
        ("wind", "onshore_wind", case.wind_max_mw),
    ):
        if cap is not None:
            tech[name] = {"type": key, "max_mw": cap, "capacity_factor": _series(f"{name}_cf")}
    if case.battery != "none":
        battery: dict = {"type": "li_ion_lfp"}
        if case.battery == "fixed":
            battery["duration_h"] = case.battery_duration_h
        if case.battery_max_power_mw is not None:
            battery["max_power_mw"] = case.battery_max_power_mw
        tech["battery"] = battery
    site["technologies"] = tech
    site["cooling"] = [{"type": case.cooling, "pue": _series("pue")}]
    site["compute"] = {
        "gpus": [{"model": case.gpu_model}],
        "provisioning_utilisation": 0.8,
        "target": {"gpus": gpus},
    }
    if co2_cap_t is not None:
        site["caps"] = [
            {
                "name": "co2-permit",
                "quantity": "co2_t",
                "max": co2_cap_t,
                "source": "benchmark suite: a multiple of a feasible dispatch's emissions",
            }
        ]
    extra = {g.type: EXTRA_GENERATORS[g.type] for g in case.gas if g.type in EXTRA_GENERATORS}
    if extra:
        site["catalog"] = {"generators": extra}
    return site


def write_case(case: Case, folder: Path, catalog: dict, rate: float) -> dict:
    """Write the case's site file, CSVs and ``case.json`` into ``folder``; return the JSON data.
    Raises ValueError when the case cannot mean what it says (a CO2 cap meant to be feasible
    below a feasible dispatch's emissions, or one meant to be infeasible above the floor)."""
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    gpu = catalog["gpus"][case.gpu_model]
    per_gpu_mw = (gpu["it_power_per_gpu_w"] + gpu.get("cluster_w_per_gpu", 0.0)) * 0.8 / 1e6  # all-in, 80 % provisioned
    gpus = int(case.it_mw / (gpu["gpus_per_unit"] * per_gpu_mw)) * gpu["gpus_per_unit"]
    it_mw = gpus * per_gpu_mw  # dcplan's product, in its order
    if gpu["liquid_cooling_required"] and not catalog["cooling"][case.cooling]["liquid"]:
        raise ValueError(f"{case.name}: {case.gpu_model} needs a liquid cooling option")
    arrays = profiles(case)
    econ = economics(case, catalog, rate)
    refs = co2_references(case, econ, it_mw, arrays)
    co2_cap_t = None
    if case.co2_cap is not None:
        co2_cap_t = round(case.co2_cap * refs["feasible_t"], 1)
        if case.expect == "optimal" and co2_cap_t < refs["feasible_t"] - 0.1:
            raise ValueError(f"{case.name}: a feasible case's CO2 cap must be >= 1 x feasible")
        if case.expect == "infeasible" and co2_cap_t >= refs["floor_t"]:
            raise ValueError(f"{case.name}: CO2 cap {co2_cap_t:g} t is not below the floor")
    used = [c for c in SERIES_FILES if c in arrays]
    for column in used:
        cp._write_series(folder / SERIES_FILES[column], column, arrays[column])
    site_path = folder / f"{case.name}.yaml"
    site_path.write_text(
        "# Generated by benchmarks/suite.py (see suite_cases.py); do not edit.\n"
        + yaml.safe_dump(site_document(case, gpus, co2_cap_t), sort_keys=False),
        encoding="utf-8",
    )
    data = {
        "case": dataclasses.asdict(case),
        "site_file": site_path.name,
        "series": {c: SERIES_FILES[c] for c in used},
        "year": YEAR,
        "gpus": gpus,
        "it_mw": it_mw,
        "peak_load_mw": it_mw * float(arrays["pue"].max()),
        "co2_cap_t": co2_cap_t,
        "co2_references_t": refs,
        "economics": econ,
    }
    (folder / "case.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
    return data


def describe(case: Case) -> dict[str, str]:
    """A case's parameters as short strings, for ``--list`` and the report."""
    grid = (
        "islanded (N+1)"
        if case.islanded
        else f"{case.grid_max_import_mw:g} MW {case.price}"
        + (f" x{case.price_scale:g}" if case.price_scale != 1 else "")
        + (f" DC {charge:g}" if (charge := case.demand_charge_usd_per_kw_month) else "")
        + (" CO2/h" if case.grid_co2_mean_t_per_mwh is not None else "")
    )
    gas = " + ".join(
        f"{g.type}<={g.max_units}" + (" UC" if g.unit_commitment else "") for g in case.gas
    )
    battery = {
        "none": "-",
        "fixed": f"{case.battery_duration_h:g} h",
        "free": "free",
    }[case.battery]
    return {
        "case": case.name,
        "origin": case.origin,
        "expect": case.expect,
        "IT MW": f"{case.it_mw:g}",
        "GPU": case.gpu_model,
        "cooling": case.cooling,
        "weather": case.weather,
        "grid": grid,
        "gas": gas + f" @{case.gas_price_usd_per_mmbtu:g}$",
        "solar MW": "-" if case.solar_max_mw is None else f"<={case.solar_max_mw:g}",
        "wind MW": "-" if case.wind_max_mw is None else f"<={case.wind_max_mw:g}",
        "battery": battery,
        "CO2 cap": "-" if case.co2_cap is None else f"{case.co2_cap:g}x feasible",
    }
