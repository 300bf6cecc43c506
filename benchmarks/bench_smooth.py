#!/usr/bin/env python
"""Benchmark ``dcplan smooth`` on the example job (24k H100, ~30 MW) against the ERCOT-like
limits, in a fresh interpreter per repeat: one hour at 100 ms (36,000 steps) by default, or the
same job generated for ``--duration-s`` at ``--resolution-s`` (24 hours at 1 s: 86,400 steps).
Wall time split into preparation, Pyomo build, compile (Pyomo's standard-form compiler) and
HiGHS solve, the method and its proven gap (upper - lower) / upper, and peak RSS
(``ru_maxrss`` of the child). With ``--exact-minutes M`` it also solves the first M minutes both
exactly (one LP) and with the two-level method, to measure the rolling horizon's real error
against the optimum, not only against its lower bound.

Usage::

    python benchmarks/bench_smooth.py [--repeat N] [--minutes 60] [--exact-minutes 10] [--json out.json]
    python benchmarks/bench_smooth.py --duration-s 86400 --resolution-s 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import yaml
from dcplan.smoothing.api import smooth
from dcplan.smoothing.limits import load_smoothing_spec
from dcplan.smoothing.workload import load_workload, synthetic_workload
from dcplan.smoothing.api import Strategy
minutes, exact = float(sys.argv[1]), sys.argv[2] == "exact"
duration_s, resolution_s = sys.argv[5:7]
if duration_s == "example":
    w = load_workload(sys.argv[3])
    w.load_mw = w.load_mw[: int(round(minutes * 60 / w.time_step_s))]
else:
    fields = yaml.safe_load(open(sys.argv[3]))
    fields.pop("kind")
    w = synthetic_workload(**{**fields, "duration_s": float(duration_s), "resolution_s": float(resolution_s)})
spec = load_smoothing_spec(sys.argv[4])
spec = spec.model_copy(update={"max_steps": max(spec.max_steps, w.steps)})  # at the resolution asked for
t1 = time.perf_counter()
r = smooth(w, spec, strategy=Strategy(direct_max_steps=10**9) if exact else None)
print(json.dumps({
    "status": r.status, "steps": len(r.schedule.get("grid_mw", [])), "method": r.method,
    "timings": r.timings, "import_and_load_s": t1 - t0, "wall_s": time.perf_counter() - t0,
    "cost": r.total_cost_usd_per_year, "lower_bound": r.lower_bound_usd_per_year,
    "sizes": r.sizes, "overhead": r.energy_overhead_fraction, "after": r.after, "before": r.before,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}, default=float))
"""


def run(minutes: float, exact: bool, duration_s: float | None = None, resolution_s: float | None = None) -> dict:
    job = REPO / "examples" / "smoothing" / "llama_24k_h100.yaml"
    limits = REPO / "examples" / "smoothing" / "ercot_limits.yaml"
    generated = ["example", "example"] if duration_s is None else [str(duration_s), str(resolution_s)]
    out = subprocess.run([sys.executable, "-c", CHILD, str(minutes), "exact" if exact else "auto", str(job),
                          str(limits), *generated], capture_output=True, text=True, check=True, cwd=REPO)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--exact-minutes", type=float, default=0)
    ap.add_argument("--duration-s", type=float, help="generate the example job for this long instead")
    ap.add_argument("--resolution-s", type=float, default=0.1, help="with --duration-s: its time step")
    ap.add_argument("--json")
    args = ap.parse_args()
    report = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                          "platform": platform.platform()}, "runs": []}
    for i in range(args.repeat):
        r = run(args.minutes, False, args.duration_s, args.resolution_s)
        report["runs"].append(r)
        t, m = r["timings"], r["method"]
        length = f"{args.minutes:g} min" if args.duration_s is None else \
            f"{args.duration_s / 3600:g} h at {args.resolution_s:g} s"
        print(f"[{i + 1}] {length}, {r['steps']:,} steps, {m['method']}: wall {r['wall_s']:.1f} s "
              f"(prepare {t['prepare_s']:.1f}, build {t['build_s']:.1f}, compile {t['compile_s']:.1f}, "
              f"solve {t['solve_s']:.1f}); peak RSS {r['peak_rss_mb']:.0f} MB; cost ${r['cost']:,.0f}/yr, "
              f"lower bound ${r['lower_bound']:,.0f} (gap {m.get('gap', 0):.1%}); "
              f"swing {r['before']['swing_mw']:.2f} -> {r['after']['swing_mw']:.2f} MW")
    if args.exact_minutes:
        ex, tl = run(args.exact_minutes, True), run(args.exact_minutes, False)
        report["exact_vs_two_level"] = {"exact": ex, "two_level": tl}
        print(f"{args.exact_minutes:g} min: exact ${ex['cost']:,.0f}/yr in {ex['wall_s']:.1f} s; two-level "
              f"${tl['cost']:,.0f}/yr in {tl['wall_s']:.1f} s (+{tl['cost'] / ex['cost'] - 1:.2%}; its bound "
              f"${tl['lower_bound']:,.0f})")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=float) + "\n")


if __name__ == "__main__":
    main()
