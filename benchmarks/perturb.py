#!/usr/bin/env python
"""The shipped example programs and sample sites with other numbers: held-out inputs for dcplan.

Why: users plan cases built from the same kinds of inputs with other numbers. Each draw copies an
input (``examples/*/program.yaml`` as ``scenarios.py`` takes them, or ``sites/*.yaml``) with its
folder and every file it refers to into ``OUT/<input>/d<k>/`` (the repository's layout kept),
then moves numbers in its YAML files (the program, its sites, a site's training job): a price,
cost, limit, target, capacity or rate times a factor (log-normal, within 1/spread..spread);
counts and months stay integers; fractions and shares within [0, 1]; a PUE stays >= 1 (its
excess over 1 scaled); the discount rate within 0.5-30 %; a price CSV gets a ``scale:``; grid
and target dates move by a quarter (a list's all together). Names, coordinates, temperatures,
horizons, the time resolution and the scenarios (not planned) stay. Each number is moved or not
(``--share``) and by how much from its own generator, seeded by (seed, input, draw, file, key):
``--keys REGEX`` keeps a subset of a draw's moves unchanged, to find the one that matters.
``perturbations.json`` in the draw's folder lists file, key, old and new.

Each draw is a fresh ``dcplan plan FILE --json -o plans/<name> --time-limit T`` process in the
draw's folder (killed at 1.5 T + 30 s); a plan it writes is then held to its inputs by
``dcplan check FILE --plan plans --format json`` (as in CI, without re-optimising). Flags: a
traceback, an exit code the README does not document, exit 70 (internal error; re-run with
DCPLAN_DEBUG=1 for the traceback), a child killed or slower than T + 30 s, output that is not the
documented JSON, a plan with non-finite or negative figures, and a plan ``dcplan check`` fails.

    python benchmarks/perturb.py --seed 7001 --draws 3 --time-limit 120 --out /tmp/perturb-out
        [--only quickstart,site-memphis] [--draw K] [--keys REGEX] [--share 0.5] [--spread 2] [--dry]
        [--markdown F] [--json F]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [p for p in (str(HERE.parent), str(HERE)) if p not in sys.path]

import suite  # noqa: E402  (REPO, its machine and commit records)
import yaml  # noqa: E402
from scenarios import EXAMPLES  # noqa: E402

REPO = suite.REPO
DOCUMENTED_EXITS = {0, 1, 2, 3, 70, 130, 143}  # README "Exit codes" (70: documented, but a bug)
REFS = {"sites", "csv", "workload", "trace", "base"}  # keys whose strings name other input files
KEEP_UNDER = {"location", "scenarios", "sources", "delays", "against", "horizon", "time", "start", "stop", "jitter"}
KEEP = re.compile(r"^(lat|lon|elevation_m|seed|duration_s|resolution_s|hours?|months|scale|co2_points|curve_periods)$"
                  r"|temp")
FRACTION = re.compile(r"fraction|share|_cf$|capacity_factor|efficiency|utilisation|probability")
DATES = {"date", "available_from", "in_force_from"}


class Perturber:
    def __init__(self, args, name: str, draw: int):
        self.args, self.name, self.draw, self.file, self.log = args, name, draw, "", []

    def rng(self, where: str) -> random.Random:
        # a str seed is hashed by SHA-512: the same numbers on every run and machine
        return random.Random(f"{self.args.seed}/{self.name}/{self.draw}/{self.file}:{where}")

    def factor(self, where: str) -> float | None:
        """This leaf's factor, or None where it stays (``--share``, ``--keys`` on FILE:KEY)."""
        rng = self.rng(where)
        moved = rng.random() < self.args.share
        f = math.exp(rng.gauss(0.0, math.log(self.args.spread) / 2))
        if not moved or (self.args.keys and not re.search(self.args.keys, f"{self.file}:{where}")):
            return None
        return min(max(f, 1 / self.args.spread), self.args.spread)

    def note(self, where: str, old, new):
        self.log.append({"key": where, "old": old, "new": new})
        return new

    def number(self, where: str, key: str, x, quantity: str | None = None):
        if (f := self.factor(where)) is None:
            return x
        kind = quantity if key in ("min", "max") and quantity else key
        if kind == "pue":
            new = 1 + (x - 1) * f
        elif FRACTION.search(kind):
            new = min(max(x * f, 0.0), 1.0)
        elif key == "discount_rate":
            new = min(max(x * f, 0.005), 0.3)
        else:
            new = x * f
        if key.endswith("hours_per_year"):
            new = min(new, 8760)
        if isinstance(x, int):
            new = max(round(new), min(x, 1))
            new = min(new, 1200) if key.endswith("_months") else new
        else:
            new = float(f"{new:.4g}")
        return self.note(where, x, new) if new != x else x

    def date(self, where: str, value, shared: str):
        """A date moved by a quarter either way; one move for all the dates of a list."""
        if self.factor(shared) is None:
            return value
        d = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
        months = d.year * 12 + d.month - 1 + self.rng(shared + "/move").choice((-3, 3))
        return self.note(where, str(d), dt.date(months // 12, months % 12 + 1, min(d.day, 28)))

    def walk(self, node, where: str, key: str = "", quantity: str | None = None, under: str = ""):
        if key in KEEP_UNDER or (key and KEEP.search(key)):
            return node
        if isinstance(node, dict):
            q = node.get("quantity") if isinstance(node.get("quantity"), str) else None
            out = {k: self.walk(v, f"{where}.{k}" if where else str(k), str(k), q, key) for k, v in node.items()}
            if "csv" in node and ("_usd_per_" in key or "capacity_factor" in key):
                f = self.factor(f"{where}.scale")
                if f is not None:
                    f = min(f, 1.0) if "capacity_factor" in key else f
                    old = node.get("scale", 1)
                    if (new := float(f"{old * f:.4g}")) != old:
                        out["scale"] = self.note(f"{where}.scale", old, new)
            return out
        if isinstance(node, list):
            if key == "curve" and under == "pue":  # [[temperature, PUE], ...]: one factor for the curve
                f = self.factor(where)
                if f is None:
                    return node
                new = [[t, float(f"{1 + (p - 1) * f:.4g}")] for t, p in node]
                return self.note(where, node, new)
            return [self.walk(v, f"{where}[{i}]", key, quantity, under) for i, v in enumerate(node)]
        if isinstance(node, bool) or key in REFS:
            return node
        if key in DATES and isinstance(node, (dt.date, str)):
            return self.date(where, node, re.sub(r"\[\d+\]", "[*]", where))
        if isinstance(node, (int, float)):
            return self.number(where, key, node, quantity)
        return node


def referenced(path: Path, seen: set[Path]) -> set[Path]:
    """``path`` and every file it names (recursively), those that exist where they are named."""
    if path in seen or not path.is_file():
        return seen
    seen.add(path)
    if path.suffix in (".yaml", ".yml"):
        def names(node, key=""):
            if isinstance(node, dict):
                for k, v in node.items():
                    yield from names(v, k)
            elif isinstance(node, list):
                for v in node:
                    yield from names(v, key)
            elif key in REFS and isinstance(node, str):
                yield node
        for name in names(yaml.safe_load(path.read_text(encoding="utf-8"))):
            referenced((path.parent / name).resolve(), seen)
    return seen


def make_draw(args, name: str, source: Path, draw: int) -> tuple[Path, Path, list]:
    """The draw's folder, its input file and the perturbation log."""
    root = args.out / name / f"d{draw}"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(source.parent, root / source.parent.relative_to(REPO))
    files = sorted(referenced(source.resolve(), set()))
    log, per = [], Perturber(args, name, draw)
    for path in files:
        rel = path.relative_to(REPO)
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, root / rel)
        if path.suffix == ".yaml":
            per.file, per.log = str(rel), []
            data = per.walk(yaml.safe_load(path.read_text(encoding="utf-8")), "")
            if per.log:
                (root / rel).write_text(yaml.safe_dump(data, sort_keys=False, default_flow_style=None,
                                                       allow_unicode=True, width=120), encoding="utf-8")
                log += [{"file": str(rel), **entry} for entry in per.log]
    (root / "perturbations.json").write_text(json.dumps(log, indent=1, default=str), encoding="utf-8")
    return root, source.relative_to(REPO), log


def run(cmd: list[str], cwd: Path, timeout: float, env: dict | None = None) -> dict:
    started = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr or ""
        return {"exit": None, "wall_s": round(time.perf_counter() - started, 2), "stdout": "",
                "stderr": err.decode(errors="replace") if isinstance(err, bytes) else err}
    return {"exit": done.returncode, "wall_s": round(time.perf_counter() - started, 2),
            "stdout": done.stdout, "stderr": done.stderr}


def tail(text: str, n: int = 6) -> list[str]:
    return [line for line in text.strip().splitlines() if line.strip()][-n:]


def bad_numbers(node, where="") -> list[str]:
    if isinstance(node, dict):
        return [b for k, v in node.items() for b in bad_numbers(v, f"{where}.{k}")]
    if isinstance(node, list):
        return [b for i, v in enumerate(node) for b in bad_numbers(v, f"{where}[{i}]")]
    return [where] if isinstance(node, float) and not math.isfinite(node) else []


def plan_draw(args, root: Path, file: Path) -> dict:
    T = args.time_limit
    name = yaml.safe_load((root / file).read_text(encoding="utf-8"))["name"]
    cmd = ["dcplan", "plan", str(file), "--json", "-o", f"plans/{name}", "--time-limit", f"{T:g}"]
    out = run([sys.executable, "-m", "dcplan", *cmd[1:]], root, T * 1.5 + 30)
    row = {"command": f"cd {root} && {' '.join(cmd)}", "exit": out["exit"], "wall_s": out["wall_s"],
           "stderr_tail": tail(out["stderr"]), "flags": []}
    flags = row["flags"]
    try:
        data = json.loads(out["stdout"])
    except json.JSONDecodeError:
        data = None
    solution = (data or {}).get("solution") or {}
    status = {0: solution.get("status"), 1: "infeasible", 2: "input error", 3: solution.get("status") or "time_limit",
              None: "killed"}.get(out["exit"], "other")
    row["status"] = status or "other"
    if data is None and out["exit"] in (0, 1, 2, 3):
        flags.append("stdout is not JSON")
    if "Traceback (most recent call last)" in out["stdout"] + out["stderr"]:
        flags.append("traceback")
    if out["exit"] is None:
        flags.append(f"killed at {T * 1.5 + 30:g} s")
    elif out["exit"] not in DOCUMENTED_EXITS:
        flags.append(f"undocumented exit {out['exit']}")
    elif out["exit"] == 70:
        flags.append("internal error (exit 70)")
        debug = run([sys.executable, "-m", "dcplan", *cmd[1:]], root, T * 1.5 + 30,
                    env={**os.environ, "DCPLAN_DEBUG": "1"})
        row["debug_tail"] = tail(debug["stderr"], 25)
    if out["wall_s"] > T + 30:
        flags.append(f"slow: {out['wall_s']:.0f} s > limit + 30 s")
    if out["exit"] == 0 and status != "optimal":
        flags.append(f"exit 0 with status {status}")
    if out["exit"] == 1:
        row["reasons"] = solution.get("reasons") or []
        flags += [] if row["reasons"] else ["infeasible without a reason"]
    if out["exit"] == 2:
        row["problems"] = [f"{p.get('file')}:{p.get('line')}: {p.get('key')}: {p.get('message')}"
                           for p in (data or {}).get("problems") or []]
        flags += [] if row["problems"] else ["input error without a problem"]
    if data and status in ("optimal", "time_limit"):
        totals = data.get("totals") or {}
        row["figures"] = {k: totals.get(k) for k in ("gpus", "total_cost_usd_per_year", "cost_usd_per_gpu_hour", "pue")}
        row["gap"] = solution.get("gap")
        odd = bad_numbers(data)
        odd += [k for k in ("total_cost_usd_per_year", "cost_usd_per_gpu_hour") if (totals.get(k) or 0) < 0]
        odd += ["totals.pue < 1"] if (totals.get("pue") or 1) < 1 else []
        flags += [f"odd figures: {', '.join(odd[:5])}"] if odd else []
        if (root / "plans" / name / "plan.yaml").is_file():
            row["check"] = check_draw(root, file, T)
            if row["check"]["exit"] != 0 or row["check"].get("mode") != "verified":
                flags.append(f"check: exit {row['check']['exit']}, {row['check'].get('status')} "
                             f"({row['check'].get('mode')})")
    return row


def check_draw(root: Path, file: Path, T: float) -> dict:
    """``dcplan check`` of the draw's input against the plan just written (plans/<name>/)."""
    out = run([sys.executable, "-m", "dcplan", "check", str(file), "--plan", "plans", "--format", "json",
               "--time-limit", f"{T:g}"], root, T * 1.5 + 30)
    res = {"command": f"cd {root} && dcplan check {file} --plan plans", "exit": out["exit"], "wall_s": out["wall_s"]}
    try:
        (fr,) = json.loads(out["stdout"])["files"]
    except (json.JSONDecodeError, KeyError, ValueError):
        return {**res, "stderr_tail": tail(out["stderr"])}
    findings = [f"{f['status']}: {(f['where'] or {}).get('key') or ''}: {f['message']}"
                for f in fr["findings"] if f["status"] not in ("ok", "skipped", "pass", "passed")]
    return {**res, "status": fr["status"], "mode": fr["mode"], "findings": findings[:8]}


def inputs(only: set[str]) -> list[tuple[str, Path]]:
    found = [(p.parent.name, p) for p in sorted(EXAMPLES.glob("*/program.yaml"))]
    found += [(f"site-{p.stem}", p) for p in sorted((REPO / "sites").glob("*.yaml"))]
    return [(n, p) for n, p in found if not only or n in only]


def markdown(args, rows: list[dict], seconds: float) -> str:
    lines = ["| input | draw | moved | exit | status | wall s | check | flag |", "|---|---:|---:|---:|---|---:|---|---|"]
    for r in rows:
        check = r.get("check", {}).get("status", "-")
        lines.append(f"| {r['input']} | {r['draw']} | {r['moved']} | {r['exit']} | {r['status']} | {r['wall_s']:.1f} "
                     f"| {check} | {'; '.join(r['flags'])} |")
    walls = [r["wall_s"] for r in rows]
    counts = ", ".join(f"{s} {n}" for s, n in Counter(r["status"] for r in rows).most_common())
    lines += ["", f"{len(rows)} draws (seed {args.seed}, --time-limit {args.time_limit:g}, share {args.share}, "
              f"spread {args.spread}): {counts}; wall median {statistics.median(walls):.1f} s, worst {max(walls):.1f} s; "
              f"{seconds:.0f} s in all."]
    flagged = [r for r in rows if r["flags"]]
    lines += ["", f"Flagged: {len(flagged)}."] + [
        f"- {r['input']} d{r['draw']}: {'; '.join(r['flags'])}\n  `{r['again']}`\n  `{r['command']}`\n  "
        + " / ".join((r.get("debug_tail") or r.get("check", {}).get("findings") or r["stderr_tail"])[-3:])
        for r in flagged]
    lines += ["", "Infeasible and invalid draws, first reason:"] + [
        f"- {r['input']} d{r['draw']} ({r['status']}): {((r.get('reasons') or r.get('problems') or r['stderr_tail'] or ['-'])[0])[:400]}"
        for r in rows if r["status"] in ("infeasible", "input error")]
    return "\n".join(lines) + "\n"


def main() -> int:
    suite.measured_tree()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7001)
    parser.add_argument("--draws", type=int, default=3, help="draws per input")
    parser.add_argument("--draw", type=int, help="only this draw (0-based) of each input")
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--out", type=Path, default=Path("/tmp/perturb-out"))
    parser.add_argument("--only", default="", help="inputs by name: quickstart,site-memphis,...")
    parser.add_argument("--keys", help="move only the numbers whose FILE:KEY path matches this regex")
    parser.add_argument("--share", type=float, default=0.5, help="chance that each number moves")
    parser.add_argument("--spread", type=float, default=2.0, help="factors within 1/spread..spread")
    parser.add_argument("--dry", action="store_true", help="write the draws and their logs, plan nothing")
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    args.out = args.out.resolve()
    todo = inputs(set(filter(None, args.only.split(","))))
    meta = {"seed": args.seed, "draws": args.draws, "time_limit": args.time_limit, "share": args.share,  # at the start:
            "spread": args.spread, "keys": args.keys, "cpu": suite._cpu_name(), **suite._git_state()}  # the tree may move
    rows, started = [], time.perf_counter()
    for name, source in todo:
        for draw in [args.draw] if args.draw is not None else range(args.draws):
            root, file, log = make_draw(args, name, source, draw)
            if args.dry:
                print(f"{name} d{draw}: {root / file}, {len(log)} moved")
                continue
            again = (f"python benchmarks/perturb.py --seed {args.seed} --only {name} --draw {draw} --time-limit "
                     f"{args.time_limit:g} --share {args.share:g} --spread {args.spread:g} --out {args.out}"
                     + (f" --keys '{args.keys}'" if args.keys else ""))
            row = {"input": name, "draw": draw, "moved": len(log), "folder": str(root), "again": again,
                   **plan_draw(args, root, file), "perturbations": log}
            rows.append(row)
            print(f"{name} d{draw}: exit {row['exit']}, {row['status']}, {row['wall_s']:.1f} s, "
                  f"{len(log)} moved{'; FLAG ' + '; '.join(row['flags']) if row['flags'] else ''}", flush=True)
    if not rows:
        return 0
    text = markdown(args, rows, time.perf_counter() - started)
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps({**meta, "rows": rows}, indent=1, default=str), encoding="utf-8")
    return 1 if any(r["flags"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
