"""Write a plan to an output folder: plan.yaml (decisions and key figures, stable key order),
dispatch.csv (every time step of every site, with its timestamp) and summary.json
(machine-readable). Every file is a function of the inputs alone: re-planning unchanged inputs
rewrites them byte for byte, so a committed plan shows a diff only when something changed
(the solve's timings are printed, and in `plan --json`, not written).

Each file is written to a temporary name in the same folder and renamed into place, so a reader
never sees a half-written file and a failed run never clobbers a good plan.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import yaml

import dcplan.trust as trust
from dcplan.errors import InputError, Problem, display_path
from dcplan.outfolder import current_umask
from dcplan.plans.types import Plan, SitePlan

DISPATCH_FIRST = ["site", "step", "hour_of_year", "timestamp", "weight", "load_mw", "pue"]
RUN_FIELDS = ("build_seconds", "compile_seconds", "solve_seconds", "lp_solves", "nodes")
"""What differs from one run of the same plan to the next (time, and with several HiGHS threads
the search itself): left out of the files."""


def _round(x, digits: int = 6):
    """Round for diff-friendly files: 6 significant digits (a small value too: 0.000226658, not
    0.000227, an audit), whole numbers from 100,000, and solver dust below 5e-7 as 0."""
    if isinstance(x, dict):
        return {k: _round(v, digits) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_round(v, digits) for v in x]
    if isinstance(x, (bool, int, str)) or x is None:
        return x
    x = float(x)
    if not math.isfinite(x):
        return None
    if x == 0:
        return 0.0
    if abs(x) >= 1e5 and float(round(x)) == round(x, 0):
        return float(round(x))
    return float(f"{x:.{digits}g}") if abs(x) >= 5e-7 else 0.0  # -1e-9 is 0.0, not -0.0


def _dollars(costs: dict[str, float]) -> dict[str, float]:
    """Cost lines to the whole dollar, sorted: their sums (a site's total, the breakdown, the
    plan's total) are then exact, so that the written lines add up to the written totals (to
    six digits each, $65,176.8 among whole dollars had left a total 20 cents off its lines)."""
    return {k: float(round(v)) + 0.0 for k, v in sorted(costs.items())}


def site_document(s: SitePlan) -> dict:
    """One site's entry in plan.yaml's ``sites:`` (not rounded but its cost lines: see
    :func:`plan_document`)."""
    costs = _dollars(s.costs_usd)
    return {
        "country": s.country,
        "gpus": dict(sorted(s.gpus.items())),
        "gpus_new": dict(sorted(s.gpus_new.items())),
        **({"cloud_gpus": dict(sorted(s.cloud_gpus.items()))} if s.cloud_gpus else {}),
        "cooling": s.cooling,
        "it_mw": s.it_mw,
        "capacity": dict(sorted(s.capacity.items())),
        "energy_mwh_per_year": dict(sorted(s.energy_mwh.items())),
        "costs_usd_per_year": costs,
        "total_cost_usd_per_year": sum(costs.values()),
        "emissions_t_per_year": {"co2": s.co2_t, "nox": s.nox_t},
        "water_m3_per_year": s.water_m3,
        "binding_limits": s.binding,
    }


def plan_document(plan: Plan) -> dict:
    """The content of plan.yaml: what to build and what it costs, no timings (diff-friendly)."""
    sites = {s.name: site_document(s) for s in plan.sites}
    solver = plan.solver
    return _round({
        "dcplan_version": plan.version,
        "program": plan.program,
        "scenario": plan.scenario,
        "objective": plan.objective,
        "time_resolution": plan.time_resolution,
        "solution": {"status": solver["status"], "gap": solver["gap"],
                     "gap_of": "power_system_cost" if solver.get("gap_share", 1.0) < 1.0 else "total_cost"},
        "target": plan.target,
        "compute_delivered": plan.compute_delivered,
        "totals": {**plan.key_figures(), "total_cost_usd_per_year": sum(s["total_cost_usd_per_year"] for s in sites.values())},
        "cost_breakdown_usd_per_year": {k: sum(s["costs_usd_per_year"].get(k, 0.0) for s in sites.values())
                                        for k in sorted(plan.cost_components())},
        "caps": [_cap_entry(c) for c in plan.caps],
        **({"earliest": plan.earliest} if plan.earliest else {}),
        **({"pareto": plan.pareto} if plan.pareto else {}),
        **({"timeline": timeline_document(plan.timeline)} if plan.timeline else {}),
        "sites": sites,
    })


def timeline_document(t) -> dict:
    """plan.yaml's ``timeline:``: periods, orders, bridges and program totals of a build-out."""
    return {
        "period_length": t.period_length,
        "base_date": t.base_date,
        "totals": t.totals(),
        "orders": [dataclasses.asdict(o) for o in t.orders],
        "bridges": [dataclasses.asdict(b) for b in t.bridges],
        "periods": [dataclasses.asdict(p) for p in t.periods],
    }


TIMELINE_COLUMNS = ["period", "start", "end", "site", "asset", "unit", "ordered", "online", "rented", "capex_usd"]


def timeline_csv(t) -> str:
    """One row per period, site and asset: ordered then, usable then (owned), rented then."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TIMELINE_COLUMNS)
    for p in t.periods:
        for *row, capex_usd in t.asset_rows(p):
            capex_usd = round(capex_usd, 2) + 0.0  # to the cent: not a solver's 1e-06 of a dollar
            writer.writerow([_round(v) if isinstance(v, float) else v for v in (*row, capex_usd)])
    return out.getvalue()


def _cap_entry(c) -> dict:
    entry = {"name": c.name, "quantity": c.quantity, "scope": c.scope, "sense": c.sense, "limit": c.limit,
             "value": c.value, "slack": c.slack, "binding": c.binding, "shadow_price": c.shadow_price,
             "shadow_price_unit": c.shadow_price_unit, "origin": c.origin, "source": c.source}
    if not c.in_force:
        entry["in_force"] = False
    if c.note:
        entry["note"] = c.note
    return entry


def summary_document(plan: Plan, timings: bool = False) -> dict:
    """summary.json: plan.yaml's content with the solver's figures, and for a build-out each
    period's sites (what :func:`dcplan.plans.files.read_plan` needs to rebuild the Plan); the
    solve's timings and search counts only when asked (``timings``), as they differ from run to run."""
    doc = plan_document(plan)
    doc["solver"] = _round({k: v for k, v in plan.solver.items() if timings or k not in RUN_FIELDS})
    if plan.timeline is not None:  # plan.yaml's sites are the last period's: here every period's
        doc["sites_by_period"] = _round({p.name: {s.name: site_document(s) for s in sites} for p, sites
                                         in zip(plan.timeline.periods, plan.timeline.sites_by_period)})
    return doc


def dispatch_csv(plan: Plan) -> str:
    """Every step of every site; a build-out's rows carry their period first."""
    periods = ([(p.name, int(str(p.start)[:4]), sites) for p, sites in zip(plan.timeline.periods, plan.timeline.sites_by_period)]
               if plan.timeline else [(None, plan.year or 2027, plan.sites)])
    columns = list(DISPATCH_FIRST)
    for _, _, sites in periods:
        for s in sites:
            columns += [c for c in s.dispatch if c not in columns]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((["period"] if plan.timeline else []) + columns)
    for period, year, sites in periods:
        for s in sites:
            _dispatch_rows(writer, s, columns, [period] if period else [], dt.datetime(year, 1, 1))
    return out.getvalue()


def _dispatch_rows(writer, s, columns: list[str], lead: list[str], new_year: dt.datetime) -> None:
    """One row a step; ``timestamp`` is the hour the step stands for (local time, ISO 8601).
    Made column by column, each column's cells in one pass (a year: 8,760 rows)."""
    n = len(s.dispatch["load_mw"])
    cells = [[value] * n for value in lead]
    for name in columns:
        arr = s.dispatch.get(name)
        if name == "site":
            cells.append([s.name] * n)
        elif name == "step":
            cells.append(range(n))
        elif name == "timestamp":
            cells.append([(new_year + dt.timedelta(hours=h)).isoformat(timespec="minutes")
                          for h in np.asarray(s.dispatch["hour_of_year"][:n], dtype=np.int64).tolist()])
        elif arr is None:
            cells.append([""] * n)
        elif name == "hour_of_year":
            cells.append(np.asarray(arr[:n], dtype=np.int64).tolist())
        else:
            cells.append([f"{v:.4f}".rstrip("0").rstrip(".") if abs(v) > 5e-5 else "0"
                          for v in np.asarray(arr[:n], dtype=float).tolist()])
    writer.writerows(zip(*cells))


def as_bytes(data: str | bytes) -> bytes:
    """What :func:`atomic_write` writes of ``data``: text as UTF-8, a name that is not UTF-8 (a
    byte the file system kept as a lone surrogate) escaped (``\\udcff``)."""
    return data.encode("utf-8", errors="backslashreplace") if isinstance(data, str) else data


def file_digest(data: bytes) -> str:
    """The SHA-256 a plan's summary.json records of each file written with it, line ends read as
    LF (a checkout that writes CRLF does not change a plan)."""
    return hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write text (UTF-8) or bytes to a temporary file beside ``path``, then rename it into place;
    never over an input file read since the command began (``check -o sites/x.yaml`` replaced
    the site it checked): an InputError naming it. A link is kept (the file it leads to is
    replaced); a device (``/dev/null``, a terminal) is written as it is, in place (it had been
    replaced by a file). Text is written as :func:`as_bytes` has it (a name that is not UTF-8
    had ended the command in an internal error after its solve)."""
    data = as_bytes(data)
    if trust.was_read(path):
        raise InputError([Problem(display_path(path), None, "", "a file this command read (an input, or a plan's "
                                  "file): no output is written over it; give another name")])
    if os.path.exists(path) and not os.path.isfile(path):
        with open(path, "wb") as fh:
            fh.write(data)
        return
    path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; give the file normal permissions
        os.replace(tmp, path)
    except OSError as err:  # a full disk says no file: name the one being written, as other I/O errors do
        Path(tmp).unlink(missing_ok=True)
        raise OSError(err.errno, err.strerror, err.filename or str(path)) from err
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def input_hashes(paths) -> dict[Path, str]:
    """Each input file (resolved) with its SHA-256, taken when the plan is made: a report embeds
    the inputs and can tell when one has changed since."""
    return {Path(p).resolve(): hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths}


def input_records(inputs: dict[Path, str], outdir: Path) -> list[dict]:
    """summary.json's ``inputs``: each input file relative to the output folder, with its SHA-256."""
    return [{"path": os.path.relpath(p, Path(outdir).resolve()), "sha256": sha} for p, sha in inputs.items()]


def dispatch_parquet(csv_text: str) -> bytes:
    """dispatch.csv as Parquet (typed columns, timestamps as timestamps; needs the sweep extra's
    pyarrow): for pandas, Polars, DuckDB and Spark users with many plans."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq
    from pyarrow import BufferOutputStream

    table = pacsv.read_csv(io.BytesIO(csv_text.encode()))
    out = BufferOutputStream()
    pq.write_table(table, out)
    return out.getvalue().to_pybytes()


def write_plan_files(plan: Plan, outdir: Path, sweep_values: dict | None = None, parquet: bool = False) -> list[Path]:
    """Write all outputs; every file is fully rendered before any is replaced. The files the
    plan was made from and ``sweep_values``, what a sweep scenario changed in them (path ->
    value; by default the plan's overrides), are recorded in summary.json; ``parquet`` adds
    dispatch.parquet."""
    summary = summary_document(plan)
    summary["inputs"] = input_records(plan.inputs, outdir)
    sweep_values = plan.overrides if sweep_values is None else sweep_values
    if sweep_values:
        summary["sweep_values"] = sweep_values
    rendered = {
        "plan.yaml": yaml.safe_dump(plan_document(plan), sort_keys=False, allow_unicode=True, width=100),
        "dispatch.csv": dispatch_csv(plan),
    }
    if plan.timeline is not None:
        rendered["timeline.csv"] = timeline_csv(plan.timeline)
    if parquet:
        rendered["dispatch.parquet"] = dispatch_parquet(rendered["dispatch.csv"])
    summary["files"] = {name: file_digest(as_bytes(data)) for name, data in rendered.items()}
    rendered["summary.json"] = json.dumps(summary, indent=2) + "\n"
    paths = []
    for name, text in rendered.items():
        atomic_write(outdir / name, text)
        paths.append(outdir / name)
    return paths
