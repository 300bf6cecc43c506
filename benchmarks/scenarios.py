#!/usr/bin/env python
"""Every shipped example program and each of its scenarios, planned by two or more dcplan trees.

Why: a strategy chosen on random draws can still fall on a shipped case (the examples as
shipped miss their scenarios: an hourly CFE cap of examples/greener-and-fast took the
decomposition 250 s where HiGHS's MIP took 0.3 s). Each run is a fresh
``python -m dcplan plan PROGRAM [--scenario S] --json`` process with ``PYTHONPATH`` at the
tree, the trees one after the other per scenario (A B, A B ...); the whole command's wall time.

    python benchmarks/scenarios.py --tree before=/tmp/wt-old --tree after=. [--time-limit 300]
        [--markdown F] [--json F]

Reports each run's wall seconds, the strategy and the objective against the first tree's, then
the median, best and worst ratio of the last tree to the first over runs with a plan from both.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def plan(tree: Path, program: Path, scenario: str | None, time_limit: float) -> dict:
    """One ``dcplan plan --json`` of ``program`` (as it stands in ``tree``) in a fresh process."""
    path = tree / "examples" / program.parent.name / program.name
    cmd = [sys.executable, "-m", "dcplan", "plan", str(path), "--json", "--time-limit", str(time_limit)]
    cmd += ["--scenario", scenario] if scenario else []
    started = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=path.parent, timeout=time_limit * 1.5 + 30,
                              env=dict(os.environ, PYTHONPATH=str(tree)))
    except subprocess.TimeoutExpired:
        return {"wall_s": round(time.perf_counter() - started, 2), "exit": None, "status": "killed"}
    run = {"wall_s": round(time.perf_counter() - started, 2), "exit": done.returncode}
    try:
        solver = json.loads(done.stdout).get("solver") or {}
    except json.JSONDecodeError:
        return {**run, "status": None}
    return {**run, **{k: solver.get(k) for k in ("status", "strategy", "objective", "solve_seconds")}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", action="append", required=True, help="NAME=PATH of a dcplan checkout")
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    trees = dict(t.split("=", 1) for t in args.tree)
    rows = []
    for program in sorted(EXAMPLES.glob("*/program.yaml")):
        scenarios = list((yaml.safe_load(program.read_text(encoding="utf-8")).get("scenarios") or {}))
        for scenario in [None, *scenarios]:
            row = {"example": program.parent.name, "scenario": scenario or "(base)"}
            for name, tree in trees.items():
                row[name] = plan(Path(tree).resolve(), program, scenario, args.time_limit)
            rows.append(row)
            print(json.dumps(row), flush=True)
    first, last = list(trees)[0], list(trees)[-1]
    head = f"| example | scenario | {' | '.join(f'{n} (s)' for n in trees)} | {last}/{first} | strategies | objective, {last} vs {first} |"
    lines = [head, "|" + "---|" * 2 + "---:|" * (len(trees) + 1) + "---|---:|"]
    ratios = []
    for row in rows:
        a, b = row[first], row[last]
        both = bool(a.get("objective") and b.get("objective"))
        if both:
            ratios.append(b["wall_s"] / a["wall_s"])
        objective = f"{b['objective'] / a['objective'] - 1:+.1e}" if both else "-"
        lines.append(f"| {row['example']} | {row['scenario']} | " + " | ".join(f"{row[n]['wall_s']:.2f}" for n in trees)
                     + f" | {b['wall_s'] / a['wall_s']:.2f} | "
                     + ", ".join(row[n].get("strategy") or f"no plan (exit {row[n]['exit']})" for n in trees)
                     + f" | {objective} |")
    if ratios:
        lines += ["", f"{len(rows)} runs, {len(ratios)} with a plan from both: {last}/{first} median "
                  f"{statistics.median(ratios):.2f}, best {min(ratios):.2f}, worst {max(ratios):.2f}; total "
                  f"{sum(r[first]['wall_s'] for r in rows):.1f} s -> {sum(r[last]['wall_s'] for r in rows):.1f} s."]
    print("\n".join(lines))
    if args.markdown:
        args.markdown.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
