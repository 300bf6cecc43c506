"""Benchmark: a 10-site, 3-country portfolio at 12 typical days under an export-control preset.

Sites are generated from the sample portfolio's profiles (sites/data) with varied prices, grid
limits and technology options, so the run is repeatable. Prints wall time (build, compile,
solve), peak memory and the plan's key figures.

    python benchmarks/bench_portfolio.py [--sites 10] [--typical-days 12] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import yaml

from dcplan import api

REPO = Path(__file__).resolve().parents[1]
COUNTRIES = [
    ("US", "greensboro_weather.csv", "America/Chicago"),
    ("MY", "miami_weather.csv", "Asia/Kuala_Lumpur"),
    ("CA", "sand_point_weather.csv", "America/Edmonton"),
]


def make_site(i: int, data: Path) -> dict:
    country, weather, tz = COUNTRIES[i % 3]
    csv = str(data / weather)
    islanded = i % 5 == 4
    site = {
        "kind": "site",
        "name": f"site{i:02d}",
        "location": {"lat": 30 + i, "lon": -90 + i, "country": country, "timezone": tz},
        "fuel": {"gas_price_usd_per_mmbtu": 3.0 + 0.4 * i},
        "technologies": {
            "gas": [
                {"type": "wartsila_18v50sg", "max_units": 12},
                {"type": "lm2500xpress", "max_units": 6},
            ],
            "solar": {"max_mw": 200, "capacity_factor": {"csv": csv, "column": "solar_cf"}},
            "battery": {"type": "li_ion_lfp", "duration_h": 4, "max_power_mw": 100},
        },
        "cooling": [
            {
                "type": "air_economizer",
                "pue": {
                    "curve": [[-10, 1.1], [20, 1.18], [38, 1.4]],
                    "against": {"csv": csv, "column": "ambient_temp_c"},
                },
            },
            {
                "type": "direct_liquid",
                "pue": {
                    "curve": [[-10, 1.07], [25, 1.1], [40, 1.2]],
                    "against": {"csv": csv, "column": "ambient_temp_c"},
                },
            },
        ],
        "compute": {"gpus": [{"model": "h100_sxm"}, {"model": "gb200_nvl72"}], "max_it_mw": 150},
    }
    if not islanded:
        site["grid"] = {
            "max_import_mw": 60 + 15 * i,
            "energy_price_usd_per_mwh": 40 + 3 * i,
            "demand_charge_usd_per_kw_month": 8 + i % 4,
            "co2_t_per_mwh": 0.3 + 0.03 * i,
        }
    return site


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=10)
    parser.add_argument("--typical-days", type=int, default=12)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        names = []
        for i in range(args.sites):
            (tmp / f"site{i:02d}.yaml").write_text(
                yaml.safe_dump(make_site(i, REPO / "sites" / "data"))
            )
            names.append(f"site{i:02d}.yaml")
        program = {
            "kind": "program",
            "name": "bench-portfolio",
            "sites": names,
            "presets": ["ai-diffusion-2025-uveu-us"],
            "compute": {
                "gpus": [{"model": "h100_sxm"}, {"model": "gb200_nvl72"}],
                "target": {"h100_equivalents": 600_000},
            },
            "time": {"typical_days": args.typical_days},
            "caps": [
                {
                    "name": "nox-per-site",
                    "quantity": "nox_t",
                    "max": 250,
                    "each": "site",
                    "source": "benchmark: a typical minor-source permit budget",
                }
            ],
        }
        (tmp / "program.yaml").write_text(yaml.safe_dump(program))
        start = time.perf_counter()
        outcome = api.plan(tmp / "program.yaml")
        wall = time.perf_counter() - start
    plan, solve = outcome.plan, outcome.solve
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {
        "sites": args.sites,
        "typical_days": args.typical_days,
        "status": solve.status,
        "strategy": solve.strategy,
        "gap": solve.gap,
        "wall_s": round(wall, 2),
        "build_s": plan.solver["build_seconds"] if plan else None,
        "compile_s": round(solve.compile_seconds, 2),
        "solve_s": round(solve.solve_seconds, 2),
        "columns": solve.columns,
        "rows": solve.rows,
        "integer_columns": solve.integer_columns,
        "peak_rss_mb": round(peak_mb),
        "total_cost_usd": plan.total_cost_usd if plan else None,
        "binding_caps": [c.name + "@" + c.scope for c in plan.caps if c.binding] if plan else [],
    }
    for k, v in figures.items():
        print(f"{k:>16}: {v}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
