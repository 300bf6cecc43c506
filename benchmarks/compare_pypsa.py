#!/usr/bin/env python
"""Independent check of dcplan's power-system optimum against PyPSA.

One single-site, full-year (8,760 h) case is written to a folder as a dcplan site file plus
hourly CSVs, planned with dcplan (``dcplan.api.plan``), and rebuilt by hand as a PyPSA network
from the same hourly arrays and the same catalog figures. The GPU count and the cooling option
are fixed, so dcplan's GPU and cooling costs are constants and the rest of its objective (the
power system) must equal PyPSA's objective: a second, independently written formulation of
the same capacity-expansion problem.

The case:

- fixed IT load: ``target: {gpus: N}`` of one GPU model, ONE cooling option with an hourly PUE
  CSV, so facility load = IT MW x PUE_t;
- grid: import cap, hourly price CSV, no demand charge, no CO2 price;
- gas: one catalog type, integer number of new units, continuous dispatch (no unit commitment);
- solar: hourly capacity factor CSV, ``max_mw``;
- battery: fixed duration, cyclic state of charge, sqrt(round-trip) each way, no standing loss;
- no N+1 (grid-connected sites default to none).

Usage::

    python benchmarks/compare_pypsa.py                     # LM6000 case, prints a table
    python benchmarks/compare_pypsa.py --gas-type lm2500xpress --gas-max-units 6
    python benchmarks/compare_pypsa.py --keep ./case       # keep the generated files

Exit status 0 when objectives agree within ``--tolerance`` (default 0.01 %) and the capacities
match; 1 otherwise.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import math
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere: import dcplan from this checkout
    sys.path.insert(0, str(REPO))

HOURS = 8760
SITES_DATA = REPO / "sites" / "data"
OBJECTIVE_TOLERANCE = 1e-4  # 0.01 %
MIP_GAP = 1e-9
"""Both tools are run to (near) proven optimality, well inside the 0.01 % check (dcplan's default
1e-4 is of the power system's cost on a full year, but of its whole cost, ~10x the power
system's here, on typical days and in the other strategies)."""


# --- the case --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseSpec:
    """Everything that defines the comparison case. Defaults give a case where the grid cap
    binds, several gas units are needed and solar plus battery are worth building."""

    name: str = "pypsa_check"
    year: int = 2027
    gpu_model: str = "h100_sxm"
    gpus: int = 80_000  # a multiple of 8 (one HGX server) so the GPU count is exactly fixed
    provisioning_utilisation: float = 0.8
    cooling: str = "air_economizer"
    # PUE against ambient dry-bulb temperature, (deg C, PUE); written out as an hourly CSV
    pue_curve: tuple[tuple[float, float], ...] = ((10, 1.12), (20, 1.16), (28, 1.24), (34, 1.32))
    grid_max_import_mw: float = 50.0
    gas_type: str = "lm6000"
    gas_max_units: int = 4
    gas_price_usd_per_mmbtu: float = 8.0
    solar_type: str = "utility_pv"
    solar_max_mw: float = 150.0
    battery_type: str = "li_ion_lfp"
    battery_duration_h: float = 4.0
    weather_csv: str = "miami_weather.csv"  # solar_cf and ambient_temp_c, from sites/data
    price_csv: str = "mojave_price.csv"  # price_usd_per_mwh, from sites/data
    seed: int = 7  # for the synthetic profiles used when sites/data is absent


@dataclass
class Case:
    spec: CaseSpec
    folder: Path
    site_path: Path
    pue: np.ndarray
    price: np.ndarray
    solar_cf: np.ndarray
    profile_source: str


def _read_column(path: Path, column: str) -> np.ndarray:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return np.array([float(r[column]) for r in rows])


def _synthetic_profiles(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded stand-ins for the repo's weather and price files (used only if they are absent):
    a clear-sky-like solar day shape with random cloudiness, a seasonal and daily temperature
    cycle, and a duck-curve price that dips with solar and peaks in the evening."""
    rng = np.random.default_rng(seed)
    h = np.arange(HOURS)
    hod, doy = h % 24, h // 24
    daylight = np.clip(np.sin(np.pi * (hod - 6) / 12), 0, None)
    season = 0.85 + 0.15 * np.cos(2 * np.pi * (doy - 172) / 365)
    clouds = np.repeat(rng.uniform(0.4, 1.0, HOURS // 24), 24)
    solar = np.round(np.clip(0.9 * daylight * season * clouds, 0, 1), 4)
    temp = np.round(
        24
        + 5 * np.cos(2 * np.pi * (doy - 200) / 365)
        + 4 * np.sin(np.pi * (hod - 9) / 12)
        + rng.normal(0, 1, HOURS),
        1,
    )
    evening = np.isin(hod, [17, 18, 19, 20]) * 32.0
    price = np.round(np.clip(52 + evening - 40 * solar + rng.normal(0, 3, HOURS), 5, None), 2)
    return solar, temp, price


def case_profiles(spec: CaseSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """(solar_cf, ambient_temp_c, price) for the case: the repo's sample profiles when present
    (real TMY weather, synthetic price), else seeded synthetic ones. Deterministic either way."""
    weather, prices = SITES_DATA / spec.weather_csv, SITES_DATA / spec.price_csv
    if weather.exists() and prices.exists():
        return (
            _read_column(weather, "solar_cf"),
            _read_column(weather, "ambient_temp_c"),
            _read_column(prices, "price_usd_per_mwh"),
            f"sites/data/{spec.weather_csv} + sites/data/{spec.price_csv}",
        )
    solar, temp, price = _synthetic_profiles(spec.seed)
    return solar, temp, price, f"synthetic (seed {spec.seed})"


def _write_series(path: Path, column: str, values: np.ndarray) -> None:
    # repr() of a float round-trips exactly, so dcplan reads back the very array PyPSA gets
    with path.open("w", newline="", encoding="utf-8") as fh:
        fh.write(f"hour,{column}\n")
        fh.writelines(f"{i},{float(v)!r}\n" for i, v in enumerate(values))


def site_yaml(spec: CaseSpec) -> str:
    return f"""\
# Generated by benchmarks/compare_pypsa.py: a fixed-load site for the PyPSA equivalence check.
kind: site
name: {spec.name}
location: {{lat: 35.0, lon: -117.5, country: US, timezone: America/Los_Angeles}}
grid:
  max_import_mw: {spec.grid_max_import_mw}
  energy_price_usd_per_mwh: {{csv: price.csv, column: price_usd_per_mwh}}
  demand_charge_usd_per_kw_month: 0
fuel:
  gas_price_usd_per_mmbtu: {spec.gas_price_usd_per_mmbtu}
technologies:
  gas:
    - {{type: {spec.gas_type}, max_units: {spec.gas_max_units}}}
  solar:
    type: {spec.solar_type}
    max_mw: {spec.solar_max_mw}
    capacity_factor: {{csv: solar.csv, column: solar_cf}}
  battery:
    type: {spec.battery_type}
    duration_h: {spec.battery_duration_h}
cooling:
  - type: {spec.cooling}
    pue: {{csv: pue.csv, column: pue}}
compute:
  gpus:
    - model: {spec.gpu_model}
  provisioning_utilisation: {spec.provisioning_utilisation}
  target: {{gpus: {spec.gpus}}}
reliability:
  n_plus_one: false
"""


def write_case(folder: Path | str, spec: CaseSpec = CaseSpec()) -> Case:
    """Write the case's site YAML and CSVs into ``folder``; return it with its hourly arrays."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    solar, temp, price, source = case_profiles(spec)
    xs, ys = zip(*spec.pue_curve)
    pue = np.round(np.interp(temp, xs, ys), 4)
    _write_series(folder / "pue.csv", "pue", pue)
    _write_series(folder / "price.csv", "price_usd_per_mwh", price)
    _write_series(folder / "solar.csv", "solar_cf", solar)
    site_path = folder / f"{spec.name}.yaml"
    site_path.write_text(site_yaml(spec), encoding="utf-8")
    return Case(spec, folder, site_path, pue, price, solar, source)


# --- economics, computed here rather than taken from dcplan's model ---------------------------


def crf(rate: float, years: float) -> float:
    """Capital recovery factor r(1+r)^n / ((1+r)^n - 1)."""
    if rate == 0:
        return 1.0 / years
    g = (1 + rate) ** years
    return rate * g / (g - 1)


@dataclass(frozen=True)
class Economics:
    """Annualised per-MW costs and marginal costs for the PyPSA side, from the catalog data
    files (the same figures dcplan reads) and dcplan's default finance assumptions."""

    discount_rate: float
    it_mw: float
    gas_unit_mw: float
    gas_capital_usd_per_mw_yr: float
    gas_marginal_usd_per_mwh: float
    solar_capital_usd_per_mw_yr: float
    battery_capital_usd_per_mw_yr: float
    battery_efficiency: float  # each way

    @classmethod
    def for_case(cls, spec: CaseSpec) -> Economics:
        from dcplan.catalog import builtin_catalog_data  # raw YAML, no dcplan model code
        from dcplan.schema.program import Finance

        cat = builtin_catalog_data()
        rate = Finance().discount_rate  # dcplan's default; the site file sets no finance
        gpu, gas = cat["gpus"][spec.gpu_model], cat["generators"][spec.gas_type]
        pv, bat = cat["renewables"][spec.solar_type], cat["storage"][spec.battery_type]
        per_kw = 1000.0
        return cls(
            discount_rate=rate,
            it_mw=spec.gpus * ((gpu["it_power_per_gpu_w"] + gpu.get("cluster_w_per_gpu", 0.0))
                               * spec.provisioning_utilisation / 1e6),
            gas_unit_mw=gas["unit_mw"],
            gas_capital_usd_per_mw_yr=per_kw
            * (
                gas["capex_usd_per_kw"] * crf(rate, gas["lifetime_years"])
                + gas["fixed_om_usd_per_kw_year"]
            ),
            gas_marginal_usd_per_mwh=(
                gas["heat_rate_mmbtu_per_mwh"] * spec.gas_price_usd_per_mmbtu
                + gas["variable_om_usd_per_mwh"]
            ),
            solar_capital_usd_per_mw_yr=per_kw
            * (
                pv["capex_usd_per_kw"] * crf(rate, pv["lifetime_years"])
                + pv["fixed_om_usd_per_kw_year"]
            ),
            battery_capital_usd_per_mw_yr=per_kw
            * (
                (
                    bat["power_capex_usd_per_kw"]
                    + spec.battery_duration_h * bat["energy_capex_usd_per_kwh"]
                )
                * crf(rate, bat["lifetime_years"])
                + bat["fixed_om_usd_per_kw_year"]
            ),
            battery_efficiency=math.sqrt(bat["round_trip_efficiency"]),
        )


# --- PyPSA -----------------------------------------------------------------------------------


def build_network(case: Case, econ: Economics | None = None):
    """The case as a one-bus PyPSA network (the PyPSA counterpart of the site file)."""
    import pandas as pd
    import pypsa

    spec = case.spec
    econ = econ or Economics.for_case(spec)
    n = pypsa.Network(name=spec.name)
    n.set_snapshots(pd.date_range(f"{spec.year}-01-01", periods=HOURS, freq="h"))
    idx = n.snapshots
    n.add("Carrier", ["AC", "grid", "gas", "solar", "battery"])
    n.add("Bus", "site", carrier="AC")
    n.add(
        "Load",
        "datacenter",
        bus="site",
        carrier="AC",
        p_set=pd.Series(econ.it_mw * case.pue, index=idx),
    )
    n.add(
        "Generator",
        "grid",
        bus="site",
        carrier="grid",
        p_nom=spec.grid_max_import_mw,
        marginal_cost=pd.Series(case.price, index=idx),
    )
    n.add(
        "Generator",
        "gas",
        bus="site",
        carrier="gas",
        p_nom_extendable=True,
        p_nom_mod=econ.gas_unit_mw,
        p_nom_max=spec.gas_max_units * econ.gas_unit_mw,
        capital_cost=econ.gas_capital_usd_per_mw_yr,
        marginal_cost=econ.gas_marginal_usd_per_mwh,
    )
    n.add(
        "Generator",
        "solar",
        bus="site",
        carrier="solar",
        p_nom_extendable=True,
        p_nom_max=spec.solar_max_mw,
        p_max_pu=pd.Series(case.solar_cf, index=idx),
        capital_cost=econ.solar_capital_usd_per_mw_yr,
    )
    n.add(
        "StorageUnit",
        "battery",
        bus="site",
        carrier="battery",
        p_nom_extendable=True,
        max_hours=spec.battery_duration_h,
        efficiency_store=econ.battery_efficiency,
        efficiency_dispatch=econ.battery_efficiency,
        standing_loss=0.0,
        cyclic_state_of_charge=True,
        capital_cost=econ.battery_capital_usd_per_mw_yr,
    )
    return n


def add_shared_battery_power(m) -> None:
    """An hour's charge plus discharge of the (fixed-duration) battery within its power, as in
    dcplan: PyPSA's storage holds each to the power alone, which lets a battery at negative
    prices charge and discharge in full in one hour."""
    m.add_constraints(m["StorageUnit-p_dispatch"].sel(name="battery") + m["StorageUnit-p_store"].sel(name="battery")
                      - m["StorageUnit-p_nom"].sel(name="battery") <= 0, name="battery-charge_plus_discharge")


def pypsa_solver_options(mip_gap: float, threads: int | None = None) -> dict:
    opts = {"mip_rel_gap": mip_gap, "output_flag": False}
    if threads:
        opts["threads"] = threads
    return opts


def solve_pypsa(case: Case, mip_gap: float = MIP_GAP, threads: int | None = None) -> dict:
    """Build and solve the network with HiGHS (in-memory hand-off); timings and results."""
    t0 = time.perf_counter()
    n = build_network(case)
    t1 = time.perf_counter()
    n.optimize.create_model(include_objective_constant=False)
    add_shared_battery_power(n.model)
    t2 = time.perf_counter()
    status, condition = n.optimize.solve_model(
        solver_name="highs", io_api="direct", solver_options=pypsa_solver_options(mip_gap, threads)
    )
    t3 = time.perf_counter()
    if status != "ok":
        raise RuntimeError(f"PyPSA/HiGHS: {status} ({condition})")
    runtime = _highs_runtime(n.model)
    objective = float(n.objective) + float(getattr(n, "objective_constant", 0.0) or 0.0)
    gen, su = n.c.generators.static, n.c.storage_units.static
    econ = Economics.for_case(case.spec)
    p = n.c.generators.dynamic.p
    return {
        "objective": objective,
        "objective_constant": float(getattr(n, "objective_constant", 0.0) or 0.0),
        "status": f"{status}/{condition}",
        "capacity": {
            "gas_units": float(gen.at["gas", "p_nom_opt"]) / econ.gas_unit_mw,
            "solar_mw": float(gen.at["solar", "p_nom_opt"]),
            "battery_mw": float(su.at["battery", "p_nom_opt"]),
        },
        "costs": {  # grouped like dcplan's components, for the breakdown table
            "grid": float((p["grid"] * n.c.generators.dynamic.marginal_cost["grid"]).sum()),
            "gas capital": float(gen.at["gas", "p_nom_opt"]) * econ.gas_capital_usd_per_mw_yr,
            "gas energy": float(p["gas"].sum()) * econ.gas_marginal_usd_per_mwh,
            "solar": float(gen.at["solar", "p_nom_opt"]) * econ.solar_capital_usd_per_mw_yr,
            "battery": float(su.at["battery", "p_nom_opt"]) * econ.battery_capital_usd_per_mw_yr,
        },
        "timings": {
            "network_seconds": t1 - t0,
            "create_model_seconds": t2 - t1,
            "solve_model_seconds": t3 - t2,
            "highs_seconds": runtime,
            "variables": int(n.model.nvars),
            "constraints": int(n.model.ncons),
        },
    }


def _highs_runtime(model) -> float | None:
    """HiGHS's own run time from linopy's solver object, to split hand-off from solve."""
    solver = getattr(model, "solver", None)
    h = getattr(solver, "solver_model", None)
    try:
        return float(h.getRunTime()) if h is not None else None
    except Exception:  # noqa: BLE001 - diagnostic only
        return None


# --- dcplan ----------------------------------------------------------------------------------

POWER_EXCLUDED = ("gpus", "cooling")
"""dcplan cost components that are constants in this case (fixed GPU count and cooling)."""

DCPLAN_GROUPS = {
    "grid": ("grid_energy", "grid_demand"),
    "gas capital": ("gas_capex", "gas_fixed_om"),
    "gas energy": ("gas_fuel", "gas_variable_om"),
    "solar": ("solar_capex", "solar_fixed_om"),
    "battery": ("battery_capex", "battery_fixed_om"),
}


def solve_dcplan(case: Case, mip_gap: float = MIP_GAP, threads: int | None = None) -> dict:
    """Plan the site file with dcplan's library API; the power-system part of the objective."""
    from dcplan import api
    from dcplan.solver import SolveOptions

    t0 = time.perf_counter()
    outcome = api.plan(case.site_path, options=SolveOptions(mip_gap=mip_gap, threads=threads))
    wall = time.perf_counter() - t0
    if outcome.plan is None:
        raise RuntimeError(f"dcplan: {outcome.solve.status} ({outcome.solve.message})")
    plan, site = outcome.plan, outcome.plan.sites[0]
    comps = plan.cost_components()
    cap = site.capacity
    gas = case.spec.gas_type
    return {
        "objective": sum(v for k, v in comps.items() if k not in POWER_EXCLUDED),
        "total_cost": plan.total_cost_usd,
        "solver_objective": outcome.solve.objective,
        "constants": {k: comps.get(k, 0.0) for k in POWER_EXCLUDED},
        "status": f"{outcome.solve.status} ({outcome.solve.strategy}, gap {outcome.solve.gap})",
        "it_mw": site.it_mw,
        "gpus": dict(site.gpus),
        "cooling": site.cooling,
        "capacity": {
            "gas_units": float(cap[f"gas_{gas}_units"]),
            "solar_mw": float(cap.get("solar_mw", 0.0)),
            "battery_mw": float(cap.get("battery_mw", 0.0)),
        },
        "costs": {g: sum(comps.get(k, 0.0) for k in keys) for g, keys in DCPLAN_GROUPS.items()},
        "components": comps,
        "timings": {
            "wall_seconds": wall,
            "build_seconds": plan.solver["build_seconds"],
            "compile_seconds": outcome.solve.compile_seconds,
            "solve_seconds": outcome.solve.solve_seconds,
            "lp_solves": outcome.solve.lp_solves,
            "columns": outcome.solve.columns,
            "rows": outcome.solve.rows,
        },
    }


# --- comparison ------------------------------------------------------------------------------


@dataclass
class Comparison:
    case: Case
    dcplan: dict
    pypsa: dict
    tolerance: float = OBJECTIVE_TOLERANCE
    problems: list[str] = field(default_factory=list)

    @property
    def objective_rel_diff(self) -> float:
        a, b = self.dcplan["objective"], self.pypsa["objective"]
        return abs(a - b) / max(abs(b), 1.0)

    @property
    def ok(self) -> bool:
        return not self.problems


CAPACITY_TOL_MW = 1e-3


def check(case: Case, dc: dict, ps: dict, tolerance: float = OBJECTIVE_TOLERANCE) -> Comparison:
    """Compare the two solutions; every disagreement is listed in ``problems``."""
    cmp = Comparison(case, dc, ps, tolerance)
    econ = Economics.for_case(case.spec)
    if abs(dc["it_mw"] - econ.it_mw) > 1e-9 * max(1.0, econ.it_mw):
        cmp.problems.append(
            f"IT load differs: dcplan {dc['it_mw']:.6f} MW, PyPSA case {econ.it_mw:.6f} MW"
        )
    if dc["gpus"] != {case.spec.gpu_model: case.spec.gpus} or dc["cooling"] != case.spec.cooling:
        cmp.problems.append(f"compute not fixed as intended: {dc['gpus']}, cooling {dc['cooling']}")
    if abs(ps["objective_constant"]) > 0:
        cmp.problems.append(f"unexpected PyPSA objective constant {ps['objective_constant']:g}")
    if cmp.objective_rel_diff > tolerance:
        cmp.problems.append(
            f"objectives differ by {100 * cmp.objective_rel_diff:.5f} % (> {100 * tolerance:g} %)"
        )
    a, b = dc["capacity"], ps["capacity"]
    if round(a["gas_units"]) != round(b["gas_units"]):
        cmp.problems.append(
            f"gas units differ: dcplan {a['gas_units']:g}, PyPSA {b['gas_units']:g}"
        )
    for key in ("solar_mw", "battery_mw"):
        if abs(a[key] - b[key]) > max(CAPACITY_TOL_MW, 1e-4 * abs(b[key])):
            cmp.problems.append(f"{key} differs: dcplan {a[key]:.4f}, PyPSA {b[key]:.4f}")
    return cmp


def compare(
    spec: CaseSpec = CaseSpec(),
    folder: Path | str | None = None,
    tolerance: float = OBJECTIVE_TOLERANCE,
    mip_gap: float = MIP_GAP,
) -> Comparison:
    """Write the case (to ``folder`` or a temporary one), solve it with both tools, compare."""
    with tempfile.TemporaryDirectory(prefix="dcplan_pypsa_") as tmp:
        case = write_case(Path(folder) if folder else Path(tmp), spec)
        dc = solve_dcplan(case, mip_gap)
        ps = solve_pypsa(case, mip_gap)
        return check(case, dc, ps, tolerance)


def report(cmp: Comparison, out=sys.stdout) -> None:
    """Plain-text tables: objective, capacities and the cost breakdown, side by side."""
    dc, ps, spec = cmp.dcplan, cmp.pypsa, cmp.case.spec
    econ = Economics.for_case(spec)
    w = out.write
    w(
        f"Case: {spec.gpus:,} x {spec.gpu_model}, {spec.cooling}, IT {econ.it_mw:.2f} MW, "
        f"facility {econ.it_mw * cmp.case.pue.min():.1f}-{econ.it_mw * cmp.case.pue.max():.1f} MW; "
        f"grid cap {spec.grid_max_import_mw:g} MW; gas {spec.gas_type} ({econ.gas_unit_mw:g} MW, "
        f"<= {spec.gas_max_units}); solar <= {spec.solar_max_mw:g} MW; battery {spec.battery_duration_h:g} h\n"
    )
    w(f"Profiles: {cmp.case.profile_source}; discount rate {econ.discount_rate:g}\n")
    w(f"dcplan: {dc['status']}; PyPSA: {ps['status']}\n")
    w(
        f"dcplan constants excluded: gpus {dc['constants']['gpus']:,.0f}, "
        f"cooling {dc['constants']['cooling']:,.0f} USD/yr\n\n"
    )
    rows = [("power-system objective (USD/yr)", dc["objective"], ps["objective"], ",.2f")]
    rows += [(f"  {g}", dc["costs"][g], ps["costs"][g], ",.2f") for g in DCPLAN_GROUPS]
    rows += [
        ("gas units", dc["capacity"]["gas_units"], ps["capacity"]["gas_units"], ".4f"),
        ("solar MW", dc["capacity"]["solar_mw"], ps["capacity"]["solar_mw"], ".4f"),
        ("battery MW", dc["capacity"]["battery_mw"], ps["capacity"]["battery_mw"], ".4f"),
    ]
    w(f"{'':34}{'dcplan':>20}{'PyPSA':>20}{'diff %':>12}\n")
    for label, a, b, fmt in rows:
        diff = 100 * (a - b) / abs(b) if abs(b) > 1e-9 else (0.0 if abs(a) < 1e-9 else math.inf)
        w(f"{label:34}{a:>20{fmt}}{b:>20{fmt}}{diff:>12.5f}\n")
    w(
        f"\nobjective difference {100 * cmp.objective_rel_diff:.2e} % (tolerance {100 * cmp.tolerance:g} %)"
        f" -> {'AGREE' if cmp.ok else 'DISAGREE'}\n"
    )
    for p in cmp.problems:
        w(f"  problem: {p}\n")


def quiet_pypsa() -> None:
    """Silence PyPSA/linopy INFO logs and pandas-3 FutureWarnings so the table stays readable."""
    import logging
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)
    for name in ("pypsa", "linopy"):
        logging.getLogger(name).setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    defaults = CaseSpec()
    ap.add_argument("--gas-type", default=defaults.gas_type)
    ap.add_argument("--gas-max-units", type=int, default=defaults.gas_max_units)
    ap.add_argument("--gpus", type=int, default=defaults.gpus)
    ap.add_argument(
        "--tolerance", type=float, default=OBJECTIVE_TOLERANCE, help="relative, default 1e-4"
    )
    ap.add_argument("--mip-gap", type=float, default=MIP_GAP)
    ap.add_argument("--keep", type=Path, help="write the case here (kept) instead of a temp folder")
    args = ap.parse_args(argv)
    quiet_pypsa()
    spec = dataclasses.replace(
        defaults, gas_type=args.gas_type, gas_max_units=args.gas_max_units, gpus=args.gpus
    )
    cmp = compare(spec, args.keep, args.tolerance, args.mip_gap)
    report(cmp)
    return 0 if cmp.ok else 1



def versions() -> dict:
    """The versions of the packages a benchmark's figures depend on (None where not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("dcplan", "pyomo", "highspy", "pypsa", "linopy", "numpy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


if __name__ == "__main__":
    sys.exit(main())
