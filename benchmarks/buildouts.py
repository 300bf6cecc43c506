#!/usr/bin/env python
"""Random build-outs on typical days, each planned by dcplan under several ``--strategy`` values.

Why: the suite (``suite.py``) covers single-period full years. A build-out (targets at dates,
orders per quarter or year, lead times, escalation, salvage) on typical days is one MIP over
every period, whose strategy cannot be chosen from four shipped examples. Each draw takes a
random suite site (``suite_cases._random_case``: grid or islanded, one or two gas types with or
without hourly commitment, solar, wind, a battery, perhaps a CO2 cap; a third of them scaled up
3-10 times, to campus size) and wraps it in a program
drawn from the same seed: 4-6 years from 2026-01-01, by quarter or year, 1-3 targets ramping to
the site's GPUs no sooner than 36 months out, 2-6 typical days a period, a discount rate, a
deposit at order, salvage, escalation of gas and grid prices.

Each draw is planned once per strategy, each run a fresh ``dcplan plan --json`` process (the
whole command's wall time), one after the other (A B C, A B C ...). Reports per draw the status,
wall seconds, the strategy ``auto`` chose and the objective against the best found, then the
median and worst ratio of each strategy against ``auto``.

    python benchmarks/buildouts.py --seed 2067 --random 16 [--strategies auto,decompose]
        [--time-limit 120] [--keep DIR] [--markdown F] [--json F]

Exit status 1 when two strategies that both claim optimal differ by more than the asked gap.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [p for p in (str(HERE.parent), str(HERE)) if p not in sys.path]

import numpy as np  # noqa: E402
import suite  # noqa: E402  (its machine and commit records)
import suite_cases as sc  # noqa: E402
import yaml  # noqa: E402

MIP_GAP = 1e-4  # dcplan's default, of the whole cost on typical days


def random_program(seed: int, i: int, catalog: dict, single: bool = False) -> tuple[sc.Case, dict]:
    """The ``i``-th draw: a suite site (its own generator) and a build-out program around it
    (a second generator from the same seed, so the site is the suite's ``r{seed}_{i+1}``).
    ``single``: the site planned alone for one year on 4-24 typical days, no build-out."""
    case = sc._random_case(seed, i, catalog)
    rng = np.random.default_rng([seed, i, 1])
    if rng.random() < 0.35:  # a campus: the site's loads, limits and unit counts times 3-10
        case = scaled(case, float(rng.uniform(3, 10)))
    if single:
        return case, {"kind": "program", "name": case.name, "time": {"typical_days": int(rng.integers(4, 25))}}
    period = str(rng.choice(("quarter", "quarter", "year")))
    years = int(rng.integers(4, 7))
    months = 3 if period == "quarter" else 12
    # the first target no sooner than the slowest gas type's lead time (36 months), so a draw
    # is infeasible only when its site is (islanded N+1 on gas the catalog cannot deliver sooner)
    first = int(rng.integers(36 // months, (years * 12 - 12) // months + 1)) * months
    steps = int(rng.integers(1, 4))
    dates, fractions = [], sorted(rng.uniform(0.3, 1.0, size=steps - 1).tolist()) + [1.0]
    month = first
    for _ in range(steps):
        if month >= years * 12:
            break
        dates.append(month)
        month += int(rng.integers(1, 4)) * months
    targets = [
        {"date": f"{2026 + m // 12}-{m % 12 + 1:02d}-01", "fraction": f}
        for m, f in zip(dates, fractions[-len(dates):])
    ]
    program = {
        "kind": "program",
        "name": case.name,
        "horizon": {"start": "2026-01-01", "years": years},
        "time": {"typical_days": int(rng.integers(2, 7))},
        "finance": {"discount_rate": round(float(rng.uniform(0.05, 0.12)), 3)},
        "buildout": {
            "period": period,
            "targets": targets,
            "capital_at_order_fraction": round(float(rng.uniform(0.0, 0.5)), 2),
            "salvage": str(rng.choice(("straight_line", "none"))),
            "escalation": {
                "gas_price_pct_per_year": round(float(rng.uniform(0.0, 4.0)), 1),
                "grid_energy_price_pct_per_year": round(float(rng.uniform(0.0, 3.0)), 1),
            },
        },
    }
    return case, program


def scaled(case: sc.Case, k: float) -> sc.Case:
    """``case`` with its IT MW, grid limit, unit counts and renewable and battery limits times
    ``k`` (the suite's sites are 60-220 MW IT; the shipped build-outs reach gigawatts)."""
    def times(x):
        return None if x is None else round(x * k, 1)

    return dataclasses.replace(
        case, name=case.name, it_mw=round(case.it_mw * k, 1), grid_max_import_mw=times(case.grid_max_import_mw),
        gas=tuple(dataclasses.replace(g, max_units=math.ceil(g.max_units * k)) for g in case.gas),
        solar_max_mw=times(case.solar_max_mw), wind_max_mw=times(case.wind_max_mw),
        battery_max_power_mw=times(case.battery_max_power_mw), about=f"{case.about}, x{k:.1f}")


def write_draw(case: sc.Case, program: dict, folder: Path, catalog: dict) -> Path:
    """The site (as the suite writes it, without its own target) and ``program.yaml``; the
    targets' fractions become GPU counts of the site's."""
    data = sc.write_case(case, folder, catalog, sc.default_discount_rate())
    site_path = folder / data["site_file"]
    program = json.loads(json.dumps(program))
    program["sites"] = [site_path.name]
    if "buildout" not in program:
        return _write_program(program, folder)
    site = yaml.safe_load(site_path.read_text(encoding="utf-8"))
    site["compute"].pop("target")
    site_path.write_text(yaml.safe_dump(site, sort_keys=False), encoding="utf-8")
    per_unit = catalog["gpus"][case.gpu_model]["gpus_per_unit"]
    for target in program["buildout"]["targets"]:
        target["gpus"] = max(int(data["gpus"] * target.pop("fraction") / per_unit), 1) * per_unit
    return _write_program(program, folder)


def _write_program(program: dict, folder: Path) -> Path:
    path = folder / "program.yaml"
    path.write_text("# Generated by benchmarks/buildouts.py; do not edit.\n"
                    + yaml.safe_dump(program, sort_keys=False), encoding="utf-8")
    return path


def _shape(case: sc.Case, program: dict) -> str:
    days = program["time"]["typical_days"]
    gas = sc.describe(case)["gas"].rsplit(" @", 1)[0]
    if "buildout" not in program:
        return f"1 year, {days} d, {case.it_mw:g} MW IT, {gas}"
    b = program["buildout"]
    return (f"{b['period']}, {program['horizon']['years']} y, {days} d, {len(b['targets'])} targets, "
            f"{case.it_mw:g} MW IT, {gas}")


def plan(program: Path, strategy: str, time_limit: float) -> dict:
    """One ``dcplan plan --json`` process; its wall time and the solver's figures."""
    cmd = [sys.executable, "-m", "dcplan", "plan", str(program), "--json", "--strategy", strategy,
           "--time-limit", str(time_limit)]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=time_limit * 1.5 + 30,
                          cwd=suite.REPO)  # `-m dcplan` imports from its working folder first: this checkout
    wall = time.perf_counter() - t0
    row = {"strategy": strategy, "exit": done.returncode, "wall_s": round(wall, 3)}
    if done.returncode == 0:
        solver = json.loads(done.stdout)["solver"]
        row.update(status=solver["status"], chose=solver["strategy"], objective=solver["objective"],
                   bound=solver.get("best_bound"), integers=solver["integer_columns"],
                   columns=solver["columns"], solve_s=solver["solve_seconds"])
    else:
        row["status"] = {1: "infeasible", 3: "no plan in time"}.get(done.returncode, "error")
        row["error"] = done.stderr.strip().splitlines()[-1:] if done.stderr.strip() else []
    return row


def summarise(draws: list[dict], strategies: list[str]) -> tuple[dict, list[str]]:
    """Ratios of each strategy's wall time to auto's (both with a plan), and disagreements."""
    ratios: dict[str, list[float]] = {s: [] for s in strategies if s != "auto"}
    problems = []
    for d in draws:
        runs = {r["strategy"]: r for r in d["runs"]}
        optimal = [r for r in runs.values() if r["status"] == "optimal"]
        if optimal:
            best = min(r["objective"] for r in optimal)
            for r in optimal:
                if (r["objective"] - best) > 2 * MIP_GAP * abs(best):
                    problems.append(f"{d['name']}: {r['strategy']} optimal at {r['objective']:.6g}, "
                                    f"another at {best:.6g}")
        base = runs.get("auto")
        for s in ratios:
            if base and s in runs and "objective" in base and "objective" in runs[s]:
                ratios[s].append(runs[s]["wall_s"] / base["wall_s"])
    stats = {s: {"n": len(v), "median": statistics.median(v) if v else None,
                 "best": min(v, default=None), "worst": max(v, default=None)} for s, v in ratios.items()}
    return stats, problems


def markdown(report: dict) -> str:
    strategies = report["strategies"]
    what = "single-period plans on typical days" if report["single"] else "build-outs on typical days"
    lines = [f"{what}, seed {report['seed']}, {len(report['draws'])} draws, time limit {report['time_limit']} s, "
             f"{report['cpu']}, dcplan {report['commit']}" + (" (modified)" if report["dirty"] else ""), "",
             "| draw | shape | integers | " + " | ".join(f"{s} (s)" for s in strategies)
             + " | auto chose |", "|---|---|---:|" + "---:|" * len(strategies) + "---|"]
    for d in report["draws"]:
        runs = {r["strategy"]: r for r in d["runs"]}
        cells = []
        for s in strategies:
            r = runs[s]
            cells.append(f"{r['wall_s']:.1f}" + ("" if r["status"] == "optimal" else f" ({r['status']})"))
        auto = runs.get("auto", {})
        lines.append(f"| {d['name']} | {d['shape']} | {auto.get('integers', '-')} | " + " | ".join(cells)
                     + f" | {auto.get('chose', '-')} |")
    lines.append("")
    for s, st in report["ratios"].items():
        if st["n"]:
            lines.append(f"- {s} / auto wall: median {st['median']:.2f}, best {st['best']:.2f}, "
                         f"worst {st['worst']:.2f} ({st['n']} draws with a plan from both)")
    lines += [f"- DISAGREE {p}" for p in report["problems"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=2067)
    parser.add_argument("--random", type=int, default=12)
    parser.add_argument("--cases", help="comma-separated draw names (r{seed}_NN) to run")
    parser.add_argument("--single", action="store_true", help="plan each site alone for a year on typical "
                        "days (no build-out)")
    parser.add_argument("--strategies", default="auto,decompose")
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--keep", type=Path, help="write the draws here (else a temporary folder)")
    parser.add_argument("--list", action="store_true", help="write and describe the draws, plan none")
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    suite.measured_tree()
    strategies = args.strategies.split(",")
    catalog = sc.merged_catalog()
    root = args.keep or Path(tempfile.mkdtemp(prefix="dcplan-buildouts-"))
    wanted = set(args.cases.split(",")) if args.cases else None
    draws = []
    for i in range(args.random):
        case, program = random_program(args.seed, i, catalog, args.single)
        if wanted and case.name not in wanted:
            continue
        path = write_draw(case, program, root / case.name, catalog)
        shape = _shape(case, program)
        draw = {"name": case.name, "shape": shape, "program": str(path), "runs": []}
        print(f"{case.name}: {shape}", flush=True)
        if not args.list:
            for s in strategies:
                row = plan(path, s, args.time_limit)
                draw["runs"].append(row)
                print(f"  {s:>12}: {row['status']:<16} {row['wall_s']:7.2f} s  "
                      f"{row.get('objective', float('nan')):.8g}  ({row.get('chose', '-')})", flush=True)
        draws.append(draw)
    if args.list:
        return 0
    stats, problems = summarise(draws, strategies)
    report = {"seed": args.seed, "single": args.single, "time_limit": args.time_limit, "strategies": strategies, "draws": draws,
              "ratios": stats, "problems": problems, "cpu": suite._cpu_name(), **suite._git_state()}
    text = markdown(report)
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
