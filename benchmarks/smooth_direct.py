#!/usr/bin/env python
"""The smoothing's whole-trace LP (``Strategy.direct``: up to 6,000 steps) under HiGHS settings,
on random jobs and limits drawn from a seed: which setting solves it fastest, by the median and
the worst ratio to HiGHS's default, each LP compiled once and solved by each setting in turn.

Jobs: 20k-150k GPUs (H100, B200, GB200), 2-5 minutes at 100 ms, iterations of 4-14 s, compute
60-85 %, communication 10-40 % of TDP, period jitter 0-5 %, 1-32 groups out of step; limits:
a swing of 5-20 MW per 100k GPUs in 2, 5 or 10 s, ramps per second or per minute at random; a
battery of 1, 2 or 4 C, burn work at random; energy at $40-90/MWh.

Usage::

    python benchmarks/smooth_direct.py --seed 12 --cases 12 [--configs dual,devex] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

from dcplan.schema.smoothing import SmoothingSpec
from dcplan.smoothing.model import build
from dcplan.smoothing.prepare import prepare
from dcplan.smoothing.workload import synthetic_workload
from dcplan.solver.highs import Compiled, new_highs

CONFIGS = {
    "dual": {},
    "devex": {"simplex_dual_edge_weight_strategy": 1},
    "dantzig": {"simplex_dual_edge_weight_strategy": 0},
    "primal": {"simplex_strategy": 4},
    "ipx": {"solver": "ipx", "run_crossover": "on"},
}


def draw(rng: random.Random) -> tuple[dict, dict]:
    """A job (the fields of a workload file) and its smoothing section."""
    gpus = rng.choice([20000, 50000, 100000, 150000])
    per_100k = gpus / 100000
    job = {"gpu": rng.choice(["h100_sxm", "b200", "gb200_nvl72"]), "gpus": gpus, "seed": rng.randrange(1000),
           "duration_s": rng.choice([120, 180, 240, 300]), "resolution_s": 0.1,
           "iteration": {"period_s": round(rng.uniform(4, 14), 2), "compute_fraction": round(rng.uniform(0.6, 0.85), 2),
                         "comm_power_fraction": round(rng.uniform(0.1, 0.4), 2),
                         "period_jitter_fraction": rng.choice([0.0, 0.01, 0.02, 0.05])},
           "start": {"idle_s": rng.choice([0, 10, 30]), "ramp_s": rng.choice([0, 5])},
           "stop": {"idle_s": rng.choice([0, 10]), "ramp_s": 0},
           "jitter": {"groups": rng.choice([1, 8, 16, 32]), "max_offset_s": round(rng.uniform(0, 0.5), 2)}}
    limits = {"swing_mw": round(rng.uniform(5, 20) * per_100k, 1), "swing_window_s": rng.choice([2, 5, 10])}
    if rng.random() < 0.5:
        limits["ramp_up_mw_per_s"] = limits["ramp_down_mw_per_s"] = round(rng.uniform(1, 5) * per_100k, 2)
    if rng.random() < 0.4:
        limits["ramp_up_mw_per_min"] = round(rng.uniform(5, 30) * per_100k, 1)
        limits["ramp_down_mw_per_min"] = round(rng.uniform(10, 40) * per_100k, 1)
    mitigations = {"battery": {"type": "li_ion_lfp", "max_c_rate_per_h": rng.choice([1, 2, 4])}}
    if rng.random() < 0.4:
        mitigations["burn"] = {"max_power_fraction": 1.0}
    return job, {"limits": limits, "mitigations": mitigations,
                 "economics": {"energy_price_usd_per_mwh": rng.choice([40, 60, 90])}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--cases", type=int, default=12)
    ap.add_argument("--configs", default="dual,devex", help=f"of {', '.join(CONFIGS)}; the first is the reference")
    ap.add_argument("--json")
    a = ap.parse_args()
    names = a.configs.split(",")
    rng, rows = random.Random(a.seed), []
    for i in range(a.cases):
        job, section = draw(rng)
        p = prepare(synthetic_workload(**job), SmoothingSpec.model_validate(section), None)
        compiled = Compiled(build(p.data).model)
        row = {"case": i, "steps": p.data.steps, "rows": compiled.shape[0], "columns": compiled.shape[1],
               "integers": int(compiled.integer.sum()), "job": job, "smoothing": section}
        for name in names:
            h = new_highs(None)
            for key, value in CONFIGS[name].items():
                h.setOptionValue(key, value)
            h.passModel(compiled.lp(integral=False))
            t = time.perf_counter()
            h.run()
            row[name] = {"s": time.perf_counter() - t, "status": h.modelStatusToString(h.getModelStatus()),
                         "objective": h.getInfo().objective_function_value}
        objectives = [row[n]["objective"] for n in names]
        row["agree"] = max(objectives) - min(objectives) <= 1e-6 * max(1.0, abs(objectives[0]))
        print(f"case {i}: {row['steps']} steps, {row['rows']} rows, " + ", ".join(
            f"{n} {row[n]['s']:.2f} s" for n in names) + ("" if row["agree"] else "  OBJECTIVES DIFFER"), flush=True)
        rows.append(row)
    for name in names[1:]:
        ratios = [r[name]["s"] / r[names[0]]["s"] for r in rows]
        print(f"{name} / {names[0]}: median {statistics.median(ratios):.3f}, worst {max(ratios):.3f}, best "
              f"{min(ratios):.3f}; total {sum(r[name]['s'] for r in rows):.1f} s against "
              f"{sum(r[names[0]]['s'] for r in rows):.1f} s")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"seed": a.seed, "cases": a.cases, "configs": names, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
