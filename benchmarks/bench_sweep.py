"""Benchmark: a 64-scenario sweep (4 gas prices x 4 H100 prices x 4 liquid-cooling PUEs) of the
quickstart program (the Memphis sample site, 12 typical days), run in the local process pool with
1 and 2 workers and on a Dask LocalCluster of 2 single-thread worker processes. Prints the wall
times, the speed-up of 2 workers, and the per-scenario overhead of the Dask path against the
local pool; checks that the three runs give the same rows.

    python benchmarks/bench_sweep.py [--json out.json] [--keep DIR]

Needs the `cluster` extra (pip install -e '.[cluster]'). Wall times include starting the local
pool and the Dask workers' first import of dcplan, not starting the Dask cluster (a user's
cluster is already running).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import yaml

from dcplan.sweep.runner import run_sweep
from dcplan.sweep.scenario import TIMING_COLUMNS

REPO = Path(__file__).resolve().parents[1]
AXES = {
    "sites.memphis.fuel.gas_price_usd_per_mmbtu": [2.5, 4, 6, 8],
    "catalog.gpus.h100_sxm.price_usd_per_gpu": {"start": 40000, "stop": 58000, "step": 6000},
    "sites.memphis.cooling.direct_liquid.pue": [1.08, 1.12, 1.18, 1.25],
}


def timed(label: str, sweep: Path, outdir: Path, **how) -> dict:
    started = time.perf_counter()
    run = run_sweep(sweep, outdir, **how)
    wall = time.perf_counter() - started
    workers = how.get("workers") or 2
    inside = sum(r["seconds"] for r in run.rows)
    figures = {
        "label": label,
        "scenarios": len(run.rows),
        "statuses": dict(run.statuses),
        "wall_s": round(wall, 2),
        "scenario_s_sum": round(inside, 2),  # time inside the scenario function, summed
        "overhead_s_per_scenario": round((workers * wall - inside) / len(run.rows), 3),
    }
    print(f"{label:<22} wall {wall:7.2f} s   in scenarios {inside:7.2f} s   "
          f"overhead {figures['overhead_s_per_scenario']:.3f} s/scenario   {dict(run.statuses)}", flush=True)
    figures["rows"] = [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in run.rows]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="save the figures here")
    parser.add_argument("--keep", type=Path, help="write the sweeps here instead of a temporary folder")
    args = parser.parse_args()
    from distributed import LocalCluster

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        sweep = folder / "sweep.yaml"
        sweep.write_text(yaml.safe_dump({"base": str(REPO / "examples/quickstart/program.yaml"), "axes": AXES},
                                        sort_keys=False))
        print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
        one = timed("local pool, 1 worker", sweep, folder / "pool1", workers=1)
        two = timed("local pool, 2 workers", sweep, folder / "pool2", workers=2)
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            dask = timed("Dask, 2 workers", sweep, folder / "dask", scheduler=cluster.scheduler_address)
    same = one["rows"] == two["rows"] == dask["rows"]
    speedup = one["wall_s"] / two["wall_s"]
    dask_extra = (dask["wall_s"] - two["wall_s"]) / two["scenarios"]
    print(f"speed-up of 2 workers over 1: {speedup:.2f}x")
    print(f"Dask against the local pool (2 workers each): {dask_extra * 1000:+.0f} ms per scenario of wall time")
    print(f"same rows in all three runs: {same}")
    if args.json:
        for run in (one, two, dask):
            del run["rows"]
        args.json.write_text(json.dumps({
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                       f"Python {platform.python_version()}",
            "runs": [one, two, dask], "speedup_2_over_1": round(speedup, 2),
            "dask_minus_pool_s_per_scenario": round(dask_extra, 3), "same_rows": same}, indent=2) + "\n")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
