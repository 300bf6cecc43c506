#!/usr/bin/env python
"""Benchmark dcplan against PyPSA/linopy on one full-year case, and typical days against the
full year on the sample sites.

Section 1 (full year, one site, integer gas units): the case of ``compare_pypsa.py`` with
~35 MW LM2500XPRESS units, so several integer units are needed. Each tool runs in its own
subprocess (a fresh interpreter per repeat), so imports, caches and peak memory of one do not
leak into the other; peak RSS is the child's ``ru_maxrss`` as reported to the parent by
``os.wait4`` (the per-child form of ``getrusage(RUSAGE_CHILDREN)``).

- dcplan: ``api.plan`` wall time, split into Pyomo model build (``plan.solver['build_seconds']``),
  compile and hand-off to HiGHS (``solve.compile_seconds``), solve (``solve.solve_seconds``,
  dcplan's branch-and-bound over LP re-solves), and the rest (reading YAML/CSVs, extracting
  results).
- PyPSA: network construction (``n.add``), ``n.optimize.create_model()`` (linopy build), and
  ``n.optimize.solve_model()`` (in-memory hand-off, HiGHS MIP, writing the solution back), with
  HiGHS's own run time reported separately.

Both are solved to the same relative MIP gap (``--mip-gap``); the objectives are checked to
agree so the timings are for the same answer.

Section 2 (typical days): every sample site in ``sites/*.yaml`` with a compute target, planned
with ``api.plan(path, typical_days=12)`` and ``api.plan(path)``, each in its own subprocess
with a time limit; wall time, speed-up and the objective difference.

Usage::

    python benchmarks/bench_plan.py [--repeat N] [--json out.json] [--time-limit S]
        [--skip-typical] [--skip-full-year] [--threads T]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [p for p in (str(REPO), str(HERE)) if p not in sys.path]

import compare_pypsa as cp  # noqa: E402  (after the path set-up above)

BENCH_SPEC = dataclasses.replace(
    cp.CaseSpec(), name="bench_plan", gas_type="lm2500xpress", gas_max_units=6
)
"""compare_pypsa's case with ~35 MW-class units, so several integer units are needed."""

TYPICAL_DAYS = 12
BUILD_SHARE_TARGET = 0.25
SPEED_UP_TARGET = 10.0
OBJECTIVE_DIFF_TARGET = 0.03


# --- workers (run in a child interpreter) ----------------------------------------------------


def _rss_mb() -> float:
    """Current resident set size (MB), from /proc where available."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _import_dcplan() -> None:
    """Import dcplan up front (it imports the scipy.sparse that Pyomo would defer to the first
    model compile), so that wall times here exclude library imports for both tools (PyPSA pays
    for SciPy at ``import pypsa``). dcplan is imported before anything else imports SciPy, as a
    user's process does (see dcplan.solver.without_scipy_extras)."""
    from dcplan import api  # noqa: F401


def _worker_dcplan(case_dir: Path, mip_gap: float, threads: int | None) -> dict:
    t0 = time.perf_counter()
    _import_dcplan()

    imports = time.perf_counter() - t0
    rss0 = _rss_mb()
    case = _load_case(case_dir)
    out = cp.solve_dcplan(case, mip_gap, threads)
    t = out["timings"]
    t["import_seconds"], t["rss_after_import_mb"] = imports, rss0
    t["other_seconds"] = (
        t["wall_seconds"] - t["build_seconds"] - t["compile_seconds"] - t["solve_seconds"]
    )
    return {
        "objective": out["objective"],
        "capacity": out["capacity"],
        "status": out["status"],
        "timings": t,
    }


def _worker_pypsa(case_dir: Path, mip_gap: float, threads: int | None) -> dict:
    t0 = time.perf_counter()
    import pypsa  # noqa: F401 - timed import

    imports = time.perf_counter() - t0
    cp.quiet_pypsa()
    rss0 = _rss_mb()
    case = _load_case(case_dir)
    out = cp.solve_pypsa(case, mip_gap, threads)
    t = out["timings"]
    t["import_seconds"], t["rss_after_import_mb"] = imports, rss0
    t["wall_seconds"] = t["network_seconds"] + t["create_model_seconds"] + t["solve_model_seconds"]
    return {
        "objective": out["objective"],
        "capacity": out["capacity"],
        "status": out["status"],
        "timings": t,
    }


def _worker_typical(site: Path, typical_days: int, time_limit: float, threads: int | None) -> dict:
    _import_dcplan()
    from dcplan import api
    from dcplan.solver import SolveOptions

    t0 = time.perf_counter()
    outcome = api.plan(
        site,
        typical_days=typical_days or None,
        options=SolveOptions(time_limit_s=time_limit, threads=threads),
    )
    wall = time.perf_counter() - t0
    s, plan = outcome.solve, outcome.plan
    power = None
    if plan is not None:
        power = sum(v for k, v in plan.cost_components().items() if k not in cp.POWER_EXCLUDED)
    return {
        "wall_seconds": wall,
        "has_solution": s.has_solution,
        "status": s.status,
        "strategy": s.strategy,
        "objective": s.objective,
        "gap": s.gap,
        "power_cost": power,
        "message": s.message,
        "build_seconds": plan.solver["build_seconds"] if plan else None,
        "compile_seconds": s.compile_seconds,
        "solve_seconds": s.solve_seconds,
        "columns": s.columns,
        "integer_columns": s.integer_columns,
        "gpus": plan.total_gpus if plan else None,
    }


def _load_case(case_dir: Path) -> cp.Case:
    """Re-read a case written by the parent: the spec from case.json, the arrays from its CSVs."""
    raw = json.loads((case_dir / "case.json").read_text())
    raw["pue_curve"] = tuple(tuple(p) for p in raw["pue_curve"])
    spec = cp.CaseSpec(**raw)
    col = cp._read_column
    return cp.Case(
        spec,
        case_dir,
        case_dir / f"{spec.name}.yaml",
        col(case_dir / "pue.csv", "pue"),
        col(case_dir / "price.csv", "price_usd_per_mwh"),
        col(case_dir / "solar.csv", "solar_cf"),
        "case folder",
    )


# --- running a worker in a subprocess --------------------------------------------------------


def run_child(args: list[str], timeout: float | None = None) -> dict:
    """Run this script as a worker; return its JSON result plus its peak RSS (MB) taken from
    ``os.wait4`` and the child's wall time as seen from outside (interpreter start included)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), *args], stdout=out, stderr=err, cwd=REPO
        )
        deadline = None if timeout is None else t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if deadline and time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        text, errors = out.read().decode(), err.read().decode()
    result: dict
    lines = [ln for ln in text.splitlines() if ln.startswith("{")]
    if proc.returncode == 0 and lines:
        result = json.loads(lines[-1])
    else:
        result = {
            "error": f"exit {proc.returncode}"
            + (" (killed at the time limit)" if deadline and elapsed > timeout else ""),
            "stderr": errors[-2000:],
        }
    # ru_maxrss is in KiB on Linux, bytes on macOS
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    result["peak_rss_mb"] = usage.ru_maxrss / scale
    result["process_seconds"] = elapsed
    return result


# --- section 1: full year, dcplan vs PyPSA ---------------------------------------------------


def bench_full_year(repeat: int, mip_gap: float, threads: int | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="dcplan_bench_") as tmp:
        case = cp.write_case(tmp, BENCH_SPEC)
        (case.folder / "case.json").write_text(json.dumps(dataclasses.asdict(BENCH_SPEC)))
        common = ["--case", tmp, "--mip-gap", repr(mip_gap)] + (
            ["--threads", str(threads)] if threads else []
        )
        runs = {"dcplan": [], "pypsa": []}
        for i in range(repeat):
            for tool in (
                ("dcplan", "pypsa") if i % 2 == 0 else ("pypsa", "dcplan")
            ):  # alternate order
                r = run_child(["--worker", tool, *common])
                if "error" in r:
                    raise RuntimeError(f"{tool} worker failed: {r['error']}\n{r['stderr']}")
                runs[tool].append(r)
                print(
                    f"  run {i + 1}/{repeat} {tool}: {r['timings']['wall_seconds']:.2f} s, "
                    f"{r['peak_rss_mb']:.0f} MB",
                    file=sys.stderr,
                    flush=True,
                )
    summary = {tool: _summarise(rs) for tool, rs in runs.items()}
    a, b = summary["dcplan"]["objective"], summary["pypsa"]["objective"]
    summary["objective_rel_diff"] = abs(a - b) / abs(b)
    summary["case"] = {
        **dataclasses.asdict(BENCH_SPEC),
        "profiles": case.profile_source,
        "columns_dcplan": summary["dcplan"]["timings"]["columns"],
        "variables_pypsa": summary["pypsa"]["timings"]["variables"],
    }
    summary["runs"] = runs
    return summary


def _summarise(runs: list[dict]) -> dict:
    """Median of each timing over the repeats (min would flatter; there are few repeats)."""
    keys = runs[0]["timings"].keys()
    timings = {
        k: statistics.median(r["timings"][k] for r in runs)
        if isinstance(runs[0]["timings"][k], (int, float))
        else runs[0]["timings"][k]
        for k in keys
    }
    return {
        "objective": runs[0]["objective"],
        "capacity": runs[0]["capacity"],
        "status": runs[0]["status"],
        "timings": timings,
        "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs),
        "process_seconds": statistics.median(r["process_seconds"] for r in runs),
    }


def print_full_year(s: dict, out=sys.stdout) -> None:
    d, p = s["dcplan"]["timings"], s["pypsa"]["timings"]
    w = out.write
    w("\n== Full year (8,760 h), one site, integer gas units: dcplan vs PyPSA ==\n")
    c = s["case"]
    w(
        f"case: {c['gpus']:,} x {c['gpu_model']} ({c['cooling']}), grid {c['grid_max_import_mw']:g} MW, "
        f"gas {c['gas_type']} <= {c['gas_max_units']}, solar <= {c['solar_max_mw']:g} MW, "
        f"battery {c['battery_duration_h']:g} h; {c['profiles']}\n"
    )
    w(
        f"size: dcplan {d['columns']:,} columns x {d['rows']:,} rows; "
        f"PyPSA {p['variables']:,} variables x {p['constraints']:,} constraints\n"
    )
    w(f"medians of {len(s['runs']['dcplan'])} run(s), each in a fresh subprocess\n\n")
    rows = [
        ("import (not in total)", d["import_seconds"], p["import_seconds"]),
        ("model build", d["build_seconds"], p["network_seconds"] + p["create_model_seconds"]),
        ("  dcplan: Pyomo model / PyPSA: network", d["build_seconds"], p["network_seconds"]),
        ("  PyPSA: create_model (linopy)", None, p["create_model_seconds"]),
        ("hand-off to HiGHS", d["compile_seconds"], _handoff(p)),
        ("solve (HiGHS)", d["solve_seconds"], p["highs_seconds"]),
        ("other (load inputs, results)", d["other_seconds"], None),
        ("total wall", d["wall_seconds"], p["wall_seconds"]),
    ]
    w(f"{'seconds':40}{'dcplan':>12}{'PyPSA':>12}\n")
    for label, a, b in rows:
        w(f"{label:40}{_fmt(a, '.2f'):>12}{_fmt(b, '.2f'):>12}\n")
    w(
        f"{'peak RSS (MB)':40}{s['dcplan']['peak_rss_mb']:>12.0f}{s['pypsa']['peak_rss_mb']:>12.0f}\n"
    )
    w(
        f"{'RSS after imports (MB)':40}{d['rss_after_import_mb']:>12.0f}{p['rss_after_import_mb']:>12.0f}\n"
    )
    share = d["build_seconds"] / d["wall_seconds"]
    w(
        f"\ndcplan build share of total: {100 * share:.1f} % (target < {100 * BUILD_SHARE_TARGET:.0f} %) "
        f"{'OK' if share < BUILD_SHARE_TARGET else 'MISSED'}; "
        f"build + hand-off: {100 * (d['build_seconds'] + d['compile_seconds']) / d['wall_seconds']:.1f} %\n"
    )
    w(
        f"dcplan: {s['dcplan']['status']}, {d['lp_solves']:.0f} LP solves; PyPSA: {s['pypsa']['status']}\n"
    )
    w(
        f"objectives: dcplan {s['dcplan']['objective']:,.2f}, PyPSA {s['pypsa']['objective']:,.2f} "
        f"(diff {100 * s['objective_rel_diff']:.2e} %); capacities dcplan {_round(s['dcplan']['capacity'])}, "
        f"PyPSA {_round(s['pypsa']['capacity'])}\n"
    )


def _handoff(p: dict) -> float | None:
    return None if p.get("highs_seconds") is None else p["solve_model_seconds"] - p["highs_seconds"]


def _round(d: dict) -> dict:
    return {k: round(v, 4) for k, v in d.items()}


def _fmt(x, spec: str) -> str:
    return "-" if x is None else format(x, spec)


# --- section 2: typical days vs full year ----------------------------------------------------


def sample_sites() -> list[Path]:
    """Sample site files that can be planned alone (they have a compute target)."""
    import yaml

    found = []
    for path in sorted((REPO / "sites").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if data.get("kind") == "site" and (data.get("compute") or {}).get("target"):
            found.append(path)
    return found


def bench_typical(time_limit: float, threads: int | None) -> list[dict]:
    rows = []
    extra = ["--threads", str(threads)] if threads else []
    for site in sample_sites():
        row = {"site": site.stem}
        for label, days in (("typical", TYPICAL_DAYS), ("full", 0)):
            r = run_child(
                [
                    "--worker",
                    "typical",
                    "--site",
                    str(site),
                    "--typical-days",
                    str(days),
                    "--time-limit",
                    str(time_limit),
                    *extra,
                ],
                timeout=time_limit + 300,
            )
            row[label] = r
            print(
                f"  {site.stem} {label}: {r.get('status', r.get('error'))}, "
                f"{r.get('wall_seconds', float('nan')):.1f} s",
                file=sys.stderr,
                flush=True,
            )
        t, f = row["typical"], row["full"]
        if t.get("has_solution") and f.get("has_solution"):
            # a full year stopped at the time limit makes the speed-up a lower bound and the
            # objective difference one against an incumbent, not the optimum
            row["full_proven"] = f["status"] == "optimal"
            row["speed_up"] = f["wall_seconds"] / t["wall_seconds"]
            row["objective_diff"] = (t["objective"] - f["objective"]) / abs(f["objective"])
            row["power_cost_diff"] = (t["power_cost"] - f["power_cost"]) / abs(f["power_cost"])
            row["meets_targets"] = (
                row["speed_up"] >= SPEED_UP_TARGET
                and abs(row["objective_diff"]) <= OBJECTIVE_DIFF_TARGET
            )
        rows.append(row)
    return rows


def print_typical(rows: list[dict], time_limit: float, out=sys.stdout) -> None:
    w = out.write
    w(
        f"\n== Typical days ({TYPICAL_DAYS}) vs full year, sample sites "
        f"(time limit {time_limit:g} s per solve) ==\n"
    )
    w(
        f"{'site':9}{'full s':>8}  {'status':31}{'12-day s':>9}  {'status':31}{'speed-up':>9}"
        f"{'obj diff %':>12}{'power diff %':>14}{'targets':>9}\n"
    )
    for r in rows:
        t, f = r["typical"], r["full"]
        bound = "" if r.get("full_proven", True) else ">"
        speed = _fmt(r.get("speed_up"), ".1f")
        w(
            f"{r['site']:9}{_fmt(f.get('wall_seconds'), '.1f'):>8}  {_status(f):31}"
            f"{_fmt(t.get('wall_seconds'), '.1f'):>9}  {_status(t):31}"
            f"{(bound + speed) if speed != '-' else speed:>9}"
            f"{_fmt(_pct(r.get('objective_diff')), '+.3f'):>12}"
            f"{_fmt(_pct(r.get('power_cost_diff')), '+.2f'):>14}"
            f"{('yes' if r['meets_targets'] else 'no') if 'meets_targets' in r else 'n/a':>9}\n"
        )
    w(
        f"targets: >= {SPEED_UP_TARGET:g}x faster and objective within "
        f"{100 * OBJECTIVE_DIFF_TARGET:g} %; 'power diff' excludes the GPU and cooling costs, "
        "which dominate the objective; wall times include loading, building and extracting\n"
    )
    for r in rows:
        for label in ("full", "typical"):
            x = r[label]
            if not x.get("has_solution"):
                last = x["stderr"].strip().splitlines()[-1] if x.get("stderr") else ""
                w(
                    f"  {r['site']} {label}: NOT SOLVED: {x.get('error') or x.get('status')} "
                    f"{x.get('message', '')} {last}\n"
                )
            elif x.get("status") != "optimal":
                w(
                    f"  {r['site']} {label}: stopped with a plan at gap "
                    f"{100 * (x.get('gap') or 0):.3f} % ({x.get('status')}: {x.get('message')}); "
                    f"{x.get('integer_columns')} integer columns, {x.get('strategy')}\n"
                )
        if r.get("full_proven") is False:
            w(
                f"  {r['site']}: speed-up is a lower bound and the objective difference is against "
                "the full year's incumbent (not proven optimal)\n"
            )


STRATEGY_SHORT = {"branch_and_bound": "B&B", "highs_mip": "HiGHS MIP", "lp": "LP"}


def _status(r: dict) -> str:
    if "error" in r:
        return "failed"
    s = r["status"]
    if s != "optimal" and r.get("gap") is not None:
        s += f" {100 * r['gap']:.2f}%"
    return f"{s} ({STRATEGY_SHORT.get(r['strategy'], r['strategy'])})"


def _pct(x):
    return None if x is None else 100 * x


# --- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Benchmark dcplan vs PyPSA, and typical days vs full year."
    )
    ap.add_argument("--repeat", type=int, default=1, help="runs per tool (fresh subprocess each)")
    ap.add_argument("--json", type=Path, help="write the figures here as JSON")
    ap.add_argument(
        "--time-limit",
        type=float,
        default=300.0,
        help="solver time limit per typical-days/full-year sample-site solve (s)",
    )
    ap.add_argument(
        "--mip-gap", type=float, default=cp.MIP_GAP, help="relative MIP gap, both tools"
    )
    ap.add_argument("--threads", type=int, help="HiGHS threads, both tools (default: HiGHS's own)")
    ap.add_argument("--skip-full-year", action="store_true")
    ap.add_argument("--skip-typical", action="store_true")
    # worker mode (internal)
    ap.add_argument("--worker", choices=["dcplan", "pypsa", "typical"], help=argparse.SUPPRESS)
    ap.add_argument("--case", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--site", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--typical-days", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        if args.worker == "dcplan":
            result = _worker_dcplan(args.case, args.mip_gap, args.threads)
        elif args.worker == "pypsa":
            result = _worker_pypsa(args.case, args.mip_gap, args.threads)
        else:
            result = _worker_typical(args.site, args.typical_days, args.time_limit, args.threads)
        print(json.dumps(result, default=float))
        return 0

    report = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "processor": _cpu_name(),
        },
        "versions": cp.versions(),
        "threads": args.threads,
        "mip_gap": args.mip_gap,
    }
    status = 0
    if not args.skip_full_year:
        print(f"full year: {args.repeat} run(s) per tool ...", file=sys.stderr, flush=True)
        report["full_year"] = bench_full_year(args.repeat, args.mip_gap, args.threads)
        print_full_year(report["full_year"])
        if report["full_year"]["objective_rel_diff"] > cp.OBJECTIVE_TOLERANCE:
            print("WARNING: the two tools disagree on the objective", file=sys.stderr)
            status = 1
    if not args.skip_typical:
        print("typical days: sample sites ...", file=sys.stderr, flush=True)
        report["typical_days"] = bench_typical(args.time_limit, args.threads)
        report["typical_days_time_limit_s"] = args.time_limit
        print_typical(report["typical_days"], args.time_limit)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, default=float))
        print(f"\nfigures written to {args.json}")
    return status


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    sys.exit(main())
