#!/usr/bin/env python
"""A suite of full-year single-site cases, each solved by dcplan and by an independently written
PyPSA + HiGHS model, to show that dcplan is exact and how fast it is on *any* such case.

Why a suite: one tuned case (``bench_plan.py``) says little about the next site. Here fixed,
hand-written cases cover each feature (demand charge, hourly grid CO2 and a CO2 cap, islanded
N+1, two gas types, unit commitment, wind, batteries of fixed or free duration, infeasible
inputs) and seeded random cases vary them together (``suite_cases.py`` defines both).

Each case is written to a folder (a dcplan site file, hourly CSVs, ``case.json``). Then, for
each of ``--repeat`` pairs, dcplan runs in a fresh subprocess and PyPSA after it in another, so
that imports, caches and peak memory (``ru_maxrss`` from ``os.wait4``) belong to one tool.

- dcplan: ``dcplan.api.plan(site)`` with dcplan's default ``SolveOptions`` (what a user gets).
  For a case meant to be infeasible it is the ``dcplan plan SITE -o DIR`` command instead, run
  in-process, because its explanation of the infeasibility is part of the answer a user waits
  for.
- PyPSA: a one-bus network built from the same arrays and catalog figures (``p_nom_mod`` for
  integer units, a StorageUnit for a fixed-duration battery, Store and Links for a free one),
  then linopy variables and constraints for what PyPSA has no component for: monthly demand-
  charge peaks, N+1 against the largest unit type built, a CO2 cap with hourly grid intensity,
  and hourly integer units-on with a minimum stable load; where a case derates gas in the heat,
  each gas generator's ``p_max_pu`` is its curve at the hour's temperature (and its units-on
  rows and its N+1 size follow it: the hottest hour's output). Solved by HiGHS (``io_api="direct"``)
  with default options but output off (``mip_rel_gap`` 1e-4, HiGHS's and dcplan's default).

dcplan's objective includes the GPUs and the cooling plant, which are constants here (one GPU
model, a fixed GPU count, one cooling option), so its power-system cost (total minus those) must
equal PyPSA's objective within ``--tolerance``; a case meant to be infeasible must be found
infeasible by both.

Usage::

    python benchmarks/suite.py --list
    python benchmarks/suite.py [--repeat 3] [--seed 2026 --random 5] [--cases A,B]
        [--time-limit 600] [--threads T] [--markdown out.md] [--json out.json] [--keep DIR]

A case the pairs leave unverified (a tool past ``--time-limit``) gets a design check
(:func:`check_design`): each tool's best answer at a solver time limit, and PyPSA's price of
dcplan's design with its capacities held. ``--check-only`` skips the timing: one run of each
tool at the solver time limit, then the check.

Exit status 1 when the objectives of a case disagree, a design check disagrees, or a case meant
to be infeasible is not found infeasible by dcplan; 0 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
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
import suite_cases as sc  # noqa: E402

TOLERANCE = 1e-4
HIGHS_MIP_GAP = 1e-4  # HiGHS's own default, passed explicitly so the run records it
SPEED_TARGET = 0.5  # dcplan wall / PyPSA wall: "at least 2x faster"
POWER_EXCLUDED = cp.POWER_EXCLUDED


# --- dcplan (child process) ------------------------------------------------------------------


def worker_dcplan(folder: Path, threads: int | None, time_limit: float | None = None) -> dict:
    """``api.plan`` on the case's site file with dcplan's default options (``--threads``, when
    given, is passed to both tools alike); ``time_limit``: its ``--time-limit``, only where the
    timed pairs left a case with no plan (its plan at the limit, for the design check)."""
    t0 = time.perf_counter()
    from dcplan import api
    from dcplan.solver import SolveOptions

    imports = time.perf_counter() - t0
    data = _case_data(folder)
    t1 = time.perf_counter()
    outcome = api.plan(folder / data["site_file"], options=SolveOptions(threads=threads, time_limit_s=time_limit))
    wall = time.perf_counter() - t1
    out = _dcplan_outcome(outcome, data)
    out["timings"].update(import_seconds=imports, wall_seconds=wall)
    return _with_other(out)


def _with_other(out: dict) -> dict:
    """dcplan's wall time outside build, hand-off and solve: reading the inputs, the plan on
    typical days that starts a full-year solve, extracting the plan, and (CLI) explaining."""
    t = out["timings"]
    parts = [t[k] for k in ("build_seconds", "compile_seconds", "solve_seconds")]
    t["other_seconds"] = None if None in parts else t["wall_seconds"] - sum(parts)
    return out


def worker_dcplan_cli(folder: Path) -> dict:
    """``dcplan plan SITE -o DIR`` in-process (the CLI has no threads option). ``api.plan`` is
    wrapped only to read the outcome the CLI acts on; the CLI's own work (explaining an
    infeasible plan) is the rest of its wall time."""
    t0 = time.perf_counter()
    from dcplan import api, cli

    imports = time.perf_counter() - t0
    data = _case_data(folder)
    seen: dict = {}
    plan = api.plan

    def recording(*args, **kwargs):
        start = time.perf_counter()
        seen["outcome"] = plan(*args, **kwargs)
        seen["seconds"] = time.perf_counter() - start
        return seen["outcome"]

    api.plan = recording
    stderr = io.StringIO()
    argv = ["plan", str(folder / data["site_file"]), "-o", str(folder / "dcplan_out")]
    t1 = time.perf_counter()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        code = cli.app(argv, standalone_mode=False)
    wall = time.perf_counter() - t1
    message = _unwrap(stderr.getvalue())
    if "outcome" not in seen:  # the command stopped before planning (invalid input)
        return {"status": "error", "objective": None, "timings": {"wall_seconds": wall},
                "cli_exit_code": code, "message": " / ".join(message)}
    out = _dcplan_outcome(seen["outcome"], data)
    t = out["timings"]
    if t["build_seconds"] is None:  # no plan, so no build time recorded: loading included
        t["build_seconds"] = seen["seconds"] - t["compile_seconds"] - t["solve_seconds"]
        t["build_includes_loading"] = True
    t.update(import_seconds=imports, wall_seconds=wall, explain_seconds=wall - seen["seconds"])
    out.update(cli_exit_code=code, cli_message=message)
    return _with_other(out)


def _unwrap(text: str) -> list[str]:
    """The CLI's messages, one per bullet: off a terminal, rich wraps them at 80 columns."""
    items: list[str] = []
    for line in (ln.strip() for ln in text.splitlines()):
        if not line:
            continue
        if items and not line.startswith(("•", "infeasible:")):
            items[-1] += " " + line
        else:
            items.append(line.lstrip("• "))
    return items


def _dcplan_outcome(outcome, data: dict) -> dict:
    s, plan = outcome.solve, outcome.plan
    status = "infeasible" if outcome.infeasible else (s.status if s else "no_solution")
    out = {
        "status": status,
        "strategy": s.strategy if s else None,
        "gap": s.gap if s else None,
        "message": s.message if s else "; ".join(outcome.reasons),
        "objective": None,
        "timings": {
            "build_seconds": plan.solver["build_seconds"] if plan else None,
            "compile_seconds": s.compile_seconds if s else 0.0,
            "solve_seconds": s.solve_seconds if s else 0.0,
            "lp_solves": s.lp_solves if s else 0,
            "nodes": s.nodes if s else 0,
            "integer_columns": s.integer_columns if s else 0,
            "columns": s.columns if s else 0,
            "rows": s.rows if s else 0,
        },
    }
    if plan is None:
        return out
    comps = plan.cost_components()
    constants = sum(comps.get(k, 0.0) for k in POWER_EXCLUDED)
    site = plan.sites[0]
    cap = site.capacity
    out.update(
        objective=sum(v for k, v in comps.items() if k not in POWER_EXCLUDED),
        bound=None if s.bound is None else s.bound - constants,
        total_cost=plan.total_cost_usd,
        constants={k: comps.get(k, 0.0) for k in POWER_EXCLUDED},
        components=comps,
        it_mw=site.it_mw,
        gpus=dict(site.gpus),
        co2_t=site.co2_t,
        capacity={
            **{f"{k}_units": cap.get(f"gas_{k}_units", 0.0) for k in data["economics"]["gas"]},
            **{k: cap.get(k, 0.0) for k in ("solar_mw", "wind_mw", "battery_mw", "battery_mwh")},
        },
    )
    return out


# --- PyPSA (child process) -------------------------------------------------------------------


def worker_pypsa(folder: Path, threads: int | None, time_limit: float | None = None,
                 design: dict | None = None) -> dict:
    """Read the case, build the network and its extra constraints, solve with HiGHS (given
    ``time_limit``: HiGHS's own, so that a case it does not finish still gives its best
    objective and bound). ``design``: capacities to fix (dcplan's), so that PyPSA prices that
    design's dispatch alone."""
    t0 = time.perf_counter()
    import pypsa  # noqa: F401 - timed import

    imports = time.perf_counter() - t0
    cp.quiet_pypsa()
    t1 = time.perf_counter()
    data = _case_data(folder)
    arrays = {c: cp._read_column(folder / f, c) for c, f in data["series"].items()}
    n = build_network(data, arrays, design)
    t2 = time.perf_counter()
    n.optimize.create_model(include_objective_constant=False)
    add_constraints(n, data, arrays)
    t3 = time.perf_counter()
    options = cp.pypsa_solver_options(HIGHS_MIP_GAP, threads)
    if time_limit is not None:
        options["time_limit"] = time_limit
    status, condition = n.optimize.solve_model(solver_name="highs", io_api="direct", solver_options=options)
    t4 = time.perf_counter()
    highs = cp._highs_runtime(n.model)
    out = {
        "status": "optimal" if status == "ok" and condition == "optimal" else str(condition),
        "condition": f"{status}/{condition}",
        "objective": None,
        "timings": {
            "import_seconds": imports,
            "network_seconds": t2 - t1,
            "create_model_seconds": t3 - t2,
            "build_seconds": t3 - t1,
            "solve_model_seconds": t4 - t3,
            "compile_seconds": None if highs is None else t4 - t3 - highs,
            "solve_seconds": highs,
            "wall_seconds": t4 - t1,
            "variables": int(n.model.nvars),
            "constraints": int(n.model.ncons),
        },
    }
    if condition == "time_limit":  # linopy counts it "ok": not an optimum
        return out | _at_time_limit(n.model)
    if status != "ok":
        return out
    info = n.model.solver.solver_model.getInfo()
    gen, econ = n.c.generators.static, data["economics"]
    capacity = {f"{k}_units": gen.at[f"gas_{k}", "p_nom_opt"] / g["unit_mw"]
                for k, g in econ["gas"].items()}
    for tech in ("solar", "wind"):
        capacity[f"{tech}_mw"] = float(gen.at[tech, "p_nom_opt"]) if tech in econ else 0.0
    battery = econ.get("battery")
    if battery is None:
        capacity.update(battery_mw=0.0, battery_mwh=0.0)
    elif battery["duration_h"] is not None:
        mw = float(n.c.storage_units.static.at["battery", "p_nom_opt"])
        capacity.update(battery_mw=mw, battery_mwh=mw * battery["duration_h"])
    else:
        capacity.update(
            battery_mw=float(n.c.links.static.at["battery_charge", "p_nom_opt"]),
            battery_mwh=float(n.c.stores.static.at["battery_energy", "e_nom_opt"]),
        )
    out.update(
        objective=float(n.objective) + float(getattr(n, "objective_constant", 0.0) or 0.0),
        bound=float(info.mip_dual_bound),
        gap=float(info.mip_gap),
        capacity=capacity,
    )
    return out


def _at_time_limit(model) -> dict:
    """PyPSA stopped by HiGHS's time limit: the best objective HiGHS found and its bound (no
    objective where it found no plan)."""
    info = model.solver.solver_model.getInfo()
    found = info.primal_solution_status == 2  # a feasible point
    return {"status": "time_limit", "objective": float(info.objective_function_value) if found else None,
            "bound": _finite(float(info.mip_dual_bound)), "gap": float(info.mip_gap) if found else None}


def _fixed(design: dict | None, key: str, scale: float = 1.0, most: float | None = None) -> dict:
    """A capacity held at a design's value (within 1e-6 of it and 1e-6 MW: the design met its
    rows to HiGHS's tolerances) and kept to the case's ``most`` (a design beyond it is then
    infeasible), or only ``most`` where there is no design to hold."""
    top = {} if most is None else {"p_nom_max": most * (1 + 1e-6) + 1e-6 if design else most}
    if design is None:
        return top
    x = design[key] * scale
    return {"p_nom_min": max(x * (1 - 1e-6) - 1e-6, 0.0),
            "p_nom_max": min(x * (1 + 1e-6) + 1e-6, top.get("p_nom_max", math.inf))}


def build_network(data: dict, arrays: dict, design: dict | None = None):
    """The case as a one-bus PyPSA network: load = IT MW x PUE, the grid as a generator of
    fixed capacity at the hourly price, one modular generator per gas type, solar and wind
    with hourly availability, and the battery; with ``design`` (dcplan's capacities, as
    :func:`_dcplan_outcome` records them), each capacity held at the design's."""
    import pandas as pd
    import pypsa

    case, econ = data["case"], data["economics"]
    n = pypsa.Network(name=case["name"])
    n.set_snapshots(pd.date_range(f"{data['year']}-01-01", periods=sc.HOURS, freq="h"))
    idx = n.snapshots
    n.add("Carrier", ["AC", "grid", "gas", "solar", "wind", "battery"])
    n.add("Bus", "site", carrier="AC")
    n.add("Load", "datacenter", bus="site", carrier="AC",
          p_set=pd.Series(data["it_mw"] * arrays["pue"], index=idx))
    if case["grid_max_import_mw"] is not None:
        n.add("Generator", "grid", bus="site", carrier="grid", p_nom=case["grid_max_import_mw"],
              marginal_cost=pd.Series(arrays["price_usd_per_mwh"], index=idx))
    for kind, g in econ["gas"].items():
        units = None if design is None else {f"{kind}_units": round(design[f"{kind}_units"])}
        n.add("Generator", f"gas_{kind}", bus="site", carrier="gas", p_nom_extendable=True,
              p_nom_mod=g["unit_mw"], capital_cost=g["capital_usd_per_mw_yr"],
              marginal_cost=g["marginal_usd_per_mwh"], p_max_pu=pd.Series(gas_share(g, arrays), index=idx),
              **_fixed(units, f"{kind}_units", g["unit_mw"], g["max_units"] * g["unit_mw"]))
    for tech in ("solar", "wind"):
        if tech in econ:
            n.add("Generator", tech, bus="site", carrier=tech, p_nom_extendable=True,
                  capital_cost=econ[tech]["capital_usd_per_mw_yr"], p_max_pu=pd.Series(arrays[f"{tech}_cf"], index=idx),
                  **_fixed(design, f"{tech}_mw", most=econ[tech]["max_mw"]))
    battery = econ.get("battery")
    if battery is None:
        return n
    eta = battery["efficiency"]
    power = _fixed(design, "battery_mw", most=battery["max_power_mw"])
    if battery["duration_h"] is not None:
        n.add("StorageUnit", "battery", bus="site", carrier="battery", p_nom_extendable=True,
              max_hours=battery["duration_h"], efficiency_store=eta, efficiency_dispatch=eta,
              standing_loss=0.0, cyclic_state_of_charge=True,
              capital_cost=battery["power_usd_per_mw_yr"], **power)
        return n
    # free duration: energy (Store) sized apart from power (the charging Link); the
    # discharging Link's capacity is tied to it in add_constraints
    n.add("Bus", "battery", carrier="battery")
    energy = {f"e_nom_{end}": x for end, x in ((k.removeprefix("p_nom_"), v) for k, v in
                                               _fixed(design, "battery_mwh").items())}
    n.add("Store", "battery_energy", bus="battery", carrier="battery", e_nom_extendable=True,
          e_cyclic=True, standing_loss=0.0, capital_cost=battery["energy_usd_per_mwh_yr"], **energy)
    n.add("Link", "battery_charge", bus0="site", bus1="battery", carrier="battery",
          efficiency=eta, p_nom_extendable=True, capital_cost=battery["power_usd_per_mw_yr"], **power)
    n.add("Link", "battery_discharge", bus0="battery", bus1="site", carrier="battery",
          efficiency=eta, p_nom_extendable=True)
    return n


BATTERY_FIRM_HOURS = 4.0  # dcplan's reliability.battery_firm_hours default


def gas_share(g: dict, arrays: dict):
    """A gas type's available output as a share of its rating each hour: its curve against the
    site's temperature where the case derates gas (linear between the points, held at the
    ends), else 1."""
    import numpy as np

    curve = g.get("output_vs_ambient_c")
    if not curve or "ambient_temp_c" not in arrays:
        return np.ones(sc.HOURS)
    xs, ys = zip(*curve)
    return np.interp(arrays["ambient_temp_c"], xs, ys)


def add_constraints(n, data: dict, arrays: dict) -> None:
    """What PyPSA has no component for, as linopy variables, constraints and objective terms."""
    import pandas as pd
    import xarray as xr

    m, case, econ = n.model, data["case"], data["economics"]
    idx = n.snapshots
    p, n_mod = m["Generator-p"], m["Generator-n_mod"]
    gas = {k: f"gas_{k}" for k in econ["gas"]}
    names = list(gas.values())

    def by_gas(values) -> xr.DataArray:
        return xr.DataArray(list(values), coords={"name": names})

    # hourly unit commitment: integer units on, at most those built, each between its minimum
    # stable load and its rating
    for kind, g in econ["gas"].items():
        if not g["unit_commitment"]:
            continue
        gen = gas[kind]
        on = m.add_variables(lower=0, upper=g["max_units"], coords=[idx], name=f"{gen}-on",
                             integer=True)
        m.add_constraints(on - n_mod.sel(name=gen) <= 0, name=f"{gen}-on_le_built")
        unit = g["unit_mw"] * xr.DataArray(gas_share(g, arrays), coords={"snapshot": idx})  # derated
        m.add_constraints(p.sel(name=gen) - unit * on <= 0, name=f"{gen}-on_max")
        m.add_constraints(
            p.sel(name=gen) - g["min_stable_load_fraction"] * unit * on >= 0,
            name=f"{gen}-on_min",
        )

    # monthly demand charge: each month's peak import, charged per kW every month of the year
    charge = case["demand_charge_usd_per_kw_month"]
    if case["grid_max_import_mw"] is not None and charge > 0:
        peak = m.add_variables(lower=0, upper=case["grid_max_import_mw"], name="grid-month_peak",
                               coords=[pd.RangeIndex(12, name="month")])
        month = xr.DataArray(idx.month - 1, coords={"snapshot": idx})
        m.add_constraints(p.sel(name="grid") - peak.sel(month=month) <= 0,
                          name="grid-month_peak_def")
        m.add_objective(m.objective.expression + 1000.0 * charge * peak.sum(), overwrite=True)

    # N+1 when islanded: for every type k, installed MW minus one unit of k (if any k is built)
    # covers the design peak, so the largest built unit can trip; a battery counts for the
    # power it can hold for BATTERY_FIRM_HOURS (dcplan's reliability.battery_firm_hours default)
    # and holds it
    if case["grid_max_import_mw"] is None:
        built = m.add_variables(binary=True, coords=[pd.Index(names, name="name")],
                                name="gas-type_built")
        # a unit counts for its output in the hottest hour (the least share of its rating)
        size = by_gas(g["unit_mw"] * float(gas_share(g, arrays).min()) for g in econ["gas"].values())
        most = by_gas(g["max_units"] for g in econ["gas"].values())
        units = n_mod.sel(name=names)
        m.add_constraints(units - most * built <= 0, name="gas-type_built_def")
        firm = (units * size).sum() - size * built
        battery = econ.get("battery")
        if battery is not None:
            held = m.add_variables(lower=0, name="battery-firm")
            if battery["duration_h"] is not None:
                power = m["StorageUnit-p_nom"].sel(name="battery")
                energy = battery["duration_h"] * power
            else:
                power = m["Link-p_nom"].sel(name="battery_charge")  # the AC rating (see below)
                energy = m["Store-e_nom"].sel(name="battery_energy")
            m.add_constraints(held - power <= 0, name="battery-firm_power")
            eta = battery["efficiency"]  # one way: what is drawn from store for a MWh out is 1 / eta
            m.add_constraints(held - energy * eta / BATTERY_FIRM_HOURS <= 0, name="battery-firm_energy")
            # and keeps those hours in store every hour (dcplan's reliability.bat_firm_reserve)
            soc = (m["StorageUnit-state_of_charge"].sel(name="battery") if battery["duration_h"] is not None
                   else m["Store-e"].sel(name="battery_energy"))
            m.add_constraints(soc - BATTERY_FIRM_HOURS / eta * held >= 0, name="battery-firm_reserve")
            firm = firm + held
        m.add_constraints(firm >= data["peak_load_mw"], name="gas-n_plus_one")

    # annual CO2 cap: gas at its heat rate's CO2, grid at its hourly intensity
    if data["co2_cap_t"] is not None:
        co2 = (p.sel(name=names) * by_gas(g["co2_t_per_mwh"] for g in econ["gas"].values())).sum()
        if "co2_t_per_mwh" in arrays and case["grid_max_import_mw"] is not None:
            grid = xr.DataArray(arrays["co2_t_per_mwh"], coords={"snapshot": idx})
            co2 = co2 + (p.sel(name="grid") * grid).sum()
        m.add_constraints(co2 <= data["co2_cap_t"], name="co2_cap")

    battery = econ.get("battery")
    if battery is None:
        return
    if battery["duration_h"] is not None:
        cp.add_shared_battery_power(m)
        return
    # free-duration battery: charge and discharge share one power rating (the discharging
    # Link's capacity and flow are counted on its input, the store side: AC / efficiency), and
    # an hour's charge plus discharge stays within it, as in dcplan
    eta, p_nom, flow = battery["efficiency"], m["Link-p_nom"], m["Link-p"]
    m.add_constraints(eta * p_nom.sel(name="battery_discharge") - p_nom.sel(name="battery_charge") == 0,
                      name="battery-power_rating")
    m.add_constraints(flow.sel(name="battery_charge") + eta * flow.sel(name="battery_discharge")
                      - p_nom.sel(name="battery_charge") <= 0, name="battery-charge_plus_discharge")


def _case_data(folder: Path) -> dict:
    return json.loads((folder / "case.json").read_text(encoding="utf-8"))


# --- running children ------------------------------------------------------------------------


def run_child(args: list[str], timeout: float) -> dict:
    """Run this script as a worker in a fresh interpreter; return its JSON result with its peak
    RSS (``os.wait4``'s ``ru_maxrss``) and its wall time as seen from here (interpreter start
    and imports included). A child past ``timeout`` is killed and recorded as "timeout"."""
    load = os.getloadavg()[0]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), *args],
                                stdout=out, stderr=err, cwd=REPO)
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t0 > timeout:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                timed_out = True
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, errors = out.read().decode(), err.read().decode()
    lines = [ln for ln in text.splitlines() if ln.startswith("{")]
    if timed_out:
        result = {"status": "timeout", "objective": None, "timings": {}}
    elif proc.returncode == 0 and lines:
        result = json.loads(lines[-1])
    else:
        last = errors.strip().splitlines()[-1] if errors.strip() else ""
        result = {"status": "error", "objective": None, "timings": {},
                  "message": f"exit {proc.returncode}: {last}", "stderr": errors[-3000:]}
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes / KiB
    result.update(peak_rss_mb=usage.ru_maxrss / scale, process_seconds=elapsed,
                  load_average_before=load)
    return result


# --- one case: runs, verdict, summary --------------------------------------------------------


def run_case(case: sc.Case, folder: Path, args) -> dict:
    """``args.repeat`` pairs (dcplan, then PyPSA), each in its own process."""
    extra = ["--threads", str(args.threads)] if args.threads else []
    dcplan_kind = "dcplan-cli" if case.expect == "infeasible" else "dcplan"
    runs: dict[str, list[dict]] = {"dcplan": [], "pypsa": []}
    kill = args.time_limit
    if args.check_only:  # one run each, at a solver time limit: answers to check, not times
        extra, kill = extra + _solver_limit(args), CHECK_GRACE * args.time_limit
    for i in range(args.repeat):
        for tool, kind in (("dcplan", dcplan_kind), ("pypsa", "pypsa")):
            r = run_child(["--worker", kind, "--case-dir", str(folder), *extra], kill)
            runs[tool].append(r)
            wall = r["timings"].get("wall_seconds")
            print(f"  {case.name} pair {i + 1}/{args.repeat} {tool}: {r['status']}"
                  + (f", {wall:.2f} s in-process" if wall is not None else "")
                  + f", {r['process_seconds']:.2f} s process, {r['peak_rss_mb']:.0f} MB",
                  file=sys.stderr, flush=True)
    row = summarise(case, runs, args.tolerance)
    if row["verdict"] == "unverified" and case.expect != "infeasible":
        row["design_check"] = check_design(folder, args, runs["dcplan"][0], runs["pypsa"][0])
    return row


CHECK_GRACE = 1.5
"""In a design check each tool's solver has ``--time-limit`` as its own, and its child is
killed only at this many times it: HiGHS does not look at its clock inside an LP, and one LP of
a year with hourly commitment may take tens of seconds."""


def _solver_limit(args) -> list[str]:
    return ["--solver-time-limit", f"{args.time_limit:g}"]


def check_design(folder: Path, args, dc: dict, ps: dict) -> dict:
    """A case the timed pairs left unverified (a tool past the limit): each tool's best answer
    at a solver time limit (rerun only where the pair had none), then PyPSA's price of dcplan's
    design, its capacities held, and :func:`judge_design`'s verdict on the three."""
    limit = _solver_limit(args)
    base = ["--case-dir", str(folder), *(["--threads", str(args.threads)] if args.threads else [])]
    kill = CHECK_GRACE * args.time_limit
    if not args.check_only:  # there the pair ran at this limit already
        if dc["status"] == "timeout":
            dc = run_child(["--worker", "dcplan", *base, *limit], kill)
        if ps["status"] == "timeout":
            ps = run_child(["--worker", "pypsa", *base, *limit], kill)
    priced = None
    if dc.get("capacity"):
        design = folder / "dcplan_design.json"
        design.write_text(json.dumps(dc["capacity"]), encoding="utf-8")
        priced = run_child(["--worker", "pypsa", *base, *limit, "--design", str(design)], kill)
    verdict, note = judge_design(dc, ps, priced, args.tolerance)
    print(f"  {folder.name} design check: {verdict}: {note}", file=sys.stderr, flush=True)
    keep = ("status", "objective", "bound", "gap", "capacity", "process_seconds")
    return {"dcplan": {k: dc.get(k) for k in keep}, "pypsa": {k: ps.get(k) for k in keep},
            "priced": None if priced is None else {k: priced.get(k) for k in keep},
            "verdict": verdict, "note": note}


DESIGN_VERDICTS = ("design agrees", "consistent", "dispatch dearer", "DISAGREE", "unchecked")


def judge_design(dc: dict, ps: dict, priced: dict | None, tolerance: float) -> tuple[str, str]:
    """What an independent model can still say of dcplan's answer where PyPSA has no optimum
    to compare with. Each figure is a power-system cost, $/yr; ``priced``: PyPSA's run with
    dcplan's capacities held, whose [bound, objective] holds what the design costs to run.

    - "DISAGREE": a proof that one model is wrong: dcplan's cost below what its own design can
      cost (the priced bound) or below PyPSA's bound on the optimum; a PyPSA plan (the priced
      dispatch, or PyPSA's best at its limit) below dcplan's bound; the design infeasible for
      PyPSA; dcplan infeasible where PyPSA found a plan.
    - "dispatch dearer": PyPSA runs dcplan's design for less than dcplan says, though not below
      dcplan's bound (within the gap dcplan stopped at).
    - "consistent": dcplan runs its design for less than PyPSA found in time, and not below the
      bound of PyPSA's priced run: nothing proved either way.
    - "design agrees": PyPSA prices the design at dcplan's cost (within ``tolerance``).
    - "unchecked": no plan, or no price."""
    tol = tolerance
    z, found = dc.get("objective"), ps.get("objective")
    if dc.get("status") == "infeasible" and found is not None:
        return "DISAGREE", f"dcplan infeasible, PyPSA found a plan of {found:,.0f}"
    if z is None:
        return "unchecked", f"dcplan has no plan ({dc.get('status')})"
    status = (priced or {}).get("status")
    if status in ("infeasible", "infeasible_or_unbounded"):  # costs are bounded below: infeasible
        return "DISAGREE", "PyPSA finds dcplan's design infeasible"
    if status not in ("optimal", "time_limit") or priced.get("objective") is None:
        return "unchecked", f"PyPSA did not price the design ({status})"
    price, price_low = priced["objective"], _finite(priced.get("bound")) or priced["objective"]
    dc_bound, ps_bound = _finite(dc.get("bound")), _finite(ps.get("bound"))
    best = max((b for b in (dc_bound, ps_bound) if b is not None), default=None)
    words = (f"dcplan {z:,.0f} ({dc['status']}), PyPSA's price of its design {price:,.0f} ({_rel(z, price):+.1e})"
             + ("" if best is None else f", dcplan {_rel(z, best):+.1e} from the best bound")
             + ("" if found is None else f"; PyPSA's best at its limit {found:,.0f} ({_rel(found, z):+.1e})"))

    def below(x: float, floor: float | None) -> bool:
        return floor is not None and x < floor - tol * max(abs(floor), 1.0)

    if below(z, price_low):
        return "DISAGREE", words + ": dcplan's cost is below what PyPSA proves its design costs"
    if below(z, ps_bound):
        return "DISAGREE", words + ": dcplan's cost is below PyPSA's bound"
    if below(price, dc_bound) or (found is not None and below(found, dc_bound)):
        return "DISAGREE", words + ": a PyPSA plan is below dcplan's bound"
    if z > price + tol * max(abs(price), 1.0):
        return "dispatch dearer", words
    if z < price - tol * max(abs(price), 1.0):
        return "consistent", words + ": PyPSA did not dispatch the design as cheaply in time"
    return "design agrees", words


def _finite(x: float | None) -> float | None:
    """A bound, or None where HiGHS had none (infinite before the root, or not a MIP)."""
    return x if x is not None and math.isfinite(x) else None


def _rel(x: float, ref: float) -> float:
    return (x - ref) / max(abs(ref), 1.0)


TIMING_KEYS = ("build_seconds", "compile_seconds", "solve_seconds", "other_seconds",
               "wall_seconds")
PYPSA_TIMING_KEYS = tuple(k for k in TIMING_KEYS if k != "other_seconds")  # nothing outside


def _median(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _tool_summary(runs: list[dict]) -> dict:
    """The first run's answer and the median of each figure over the runs."""
    first = runs[0]
    return {
        **{k: first.get(k) for k in ("status", "objective", "bound", "gap", "constants",
                                     "capacity", "co2_t", "strategy", "message",
                                     "cli_exit_code", "cli_message")},
        "objective_spread": _spread([r.get("objective") for r in runs]),
        "timings": {k: _median(r["timings"].get(k) for r in runs) for k in TIMING_KEYS},
        "process_seconds": _median(r["process_seconds"] for r in runs),
        "peak_rss_mb": _median(r["peak_rss_mb"] for r in runs),
    }


def _spread(values: list) -> float | None:
    """Relative spread of one tool's objective over its repeats (should be 0)."""
    values = [v for v in values if v is not None]
    if len(values) < 2:
        return None
    return (max(values) - min(values)) / max(abs(min(values)), 1.0)


def summarise(case: sc.Case, runs: dict, tolerance: float) -> dict:
    dc, ps = _tool_summary(runs["dcplan"]), _tool_summary(runs["pypsa"])
    verdict, rel, diagnosis = judge(dc, ps, tolerance)
    ratios, process_ratios = [], []
    for a, b in zip(runs["dcplan"], runs["pypsa"]):
        wa, wb = a["timings"].get("wall_seconds"), b["timings"].get("wall_seconds")
        if wa is not None and wb:
            ratios.append(wa / wb)
        if a["status"] != "timeout" and b["status"] != "timeout":
            process_ratios.append(a["process_seconds"] / b["process_seconds"])
    missed = case.expect == "infeasible" and dc["status"] != "infeasible"
    return {
        "name": case.name,
        "case": sc.describe(case),
        "about": case.about,
        "expect": case.expect,
        "dcplan": dc,
        "pypsa": ps,
        "rel_diff": rel,
        "verdict": verdict,
        "diagnosis": diagnosis,
        "infeasible_missed": missed,
        "ratio_wall": _median(ratios),
        "ratio_process": _median(process_ratios),
        "runs": runs,
    }


def judge(dc: dict, ps: dict, tolerance: float) -> tuple[str, float | None, str]:
    """(verdict, relative difference, diagnosis). A disagreement is diagnosed from the two
    tools' optimality intervals [bound, objective] on the power-system cost: if they overlap,
    both answers are within their own MIP gaps and the difference is the gaps' width (dcplan's
    gap, like PyPSA's, is of the power system's cost); if they do not, the two formulations do
    not describe the same problem."""
    a, b = dc["status"], ps["status"]
    if {a, b} & {"timeout", "time_limit"} or "error" == b:  # a plan at a time limit is not an optimum
        return "unverified", None, f"dcplan {a}, PyPSA {b}"
    if a == "infeasible" and b == "infeasible":
        return "agree", None, "both infeasible"
    if dc["objective"] is None or ps["objective"] is None:
        return "DISAGREE", None, f"dcplan {a}, PyPSA {b}"
    rel = abs(dc["objective"] - ps["objective"]) / max(abs(ps["objective"]), 1.0)
    if rel <= tolerance:
        return "agree", rel, ""
    lo = max(x for x in (dc.get("bound"), ps.get("bound"), 0.0) if x is not None)
    hi = min(dc["objective"], ps["objective"])
    if lo <= hi * (1 + 1e-7):  # HiGHS solves to feasibility tolerances of about 1e-7
        why = (f"optimality intervals overlap: dcplan stopped at gap {dc['gap'] or 0:.2e} of the power-system "
               f"cost, PyPSA at gap {ps.get('gap') or 0:.2e}: a tolerance difference, not a formulation one")
    else:
        why = (f"optimality intervals disjoint (best bound {lo:,.0f} > best objective {hi:,.0f}):"
               " the two formulations differ")
    return "DISAGREE", rel, why


# --- output ----------------------------------------------------------------------------------


def _f(x, spec: str = ".2f", none: str = "-") -> str:
    return none if x is None else format(x, spec)


def _status(t: dict) -> str:
    s = t["status"]
    if t.get("strategy"):
        s += f" ({t['strategy']})"
    if t.get("cli_exit_code") is not None:
        s += f", CLI exit {t['cli_exit_code']}"
    return s


def _decisions(t: dict) -> str:
    c = t.get("capacity")
    if not c:
        return "-"
    gas = " ".join(f"{k.removesuffix('_units')}:{v:.0f}" for k, v in c.items()
                   if k.endswith("_units"))
    mw = {k: round(v, 6) + 0.0 for k, v in c.items()}  # no "-0.0" from solver round-off
    return (f"{gas}; PV {mw['solar_mw']:.1f}, wind {mw['wind_mw']:.1f}, "
            f"bat {mw['battery_mw']:.1f} MW/{mw['battery_mwh']:.0f} MWh")


def markdown(report: dict) -> str:
    rows, src, after = report["cases"], report["dcplan_source"], report["dcplan_source_after"]
    changed = f" (at {after['commit']} by the end: it changed during the run)" if (
        after != src) else ""
    loads = [r["load_average_before"] for c in rows for t in ("dcplan", "pypsa")
             for r in c["runs"][t]]
    load = f"{min(loads):.1f}-{max(loads):.1f}" if loads else "-"
    out = [f"# dcplan vs PyPSA suite ({report['when']})", "",
           f"{len(rows)} cases; {report['repeat']} pair(s) each (dcplan then PyPSA, each in a "
           f"fresh process); medians over the pairs"
           + (f"; check only: each tool at a solver time limit of {report['options']['time_limit']:g} s "
              f"(its child killed at {CHECK_GRACE:g} x), so the seconds are not a timing"
              if report["options"].get("check_only") else "")
           + f". Machine: {report['machine']['processor']}, "
           f"{report['machine']['cpus']} CPUs; threads: {report['threads'] or 'HiGHS default'}; "
           f"versions: {', '.join(f'{k} {v}' for k, v in report['versions'].items())}; dcplan "
           f"at commit {src['commit']}{' with local changes' if src['dirty'] else ''}{changed}; "
           "load "
           f"average before each child {load}.", "",
           "## Cases", ""]
    keys = list(rows[0]["case"]) if rows else []
    out += ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    out += ["| " + " | ".join(r["case"][k] for k in keys) + " |" for r in rows]
    out += ["", "## Answers", "",
            "| case | expect | dcplan | PyPSA | dcplan power cost $/yr | PyPSA objective $/yr "
            "| rel diff | verdict | dcplan decisions | PyPSA decisions |",
            "|---|---|---|---|---:|---:|---:|---|---|---|"]
    for r in rows:
        d, p = r["dcplan"], r["pypsa"]
        out.append(f"| {r['name']} | {r['expect']} | {_status(d)} | {_status(p)} "
                   f"| {_f(d['objective'], ',.0f')} | {_f(p['objective'], ',.0f')} "
                   f"| {_f(r['rel_diff'], '.1e')} | {r['verdict']} | {_decisions(d)} "
                   f"| {_decisions(p)} |")
    out += ["", "## Seconds and memory", "",
            "Build: dcplan's Pyomo model (for an infeasible case, which has no plan to record "
            "it, all of `api.plan` before the hand-off: loading, typical-days start) / PyPSA's "
            "CSV reading, network and `create_model` with the extra constraints. Hand-off: "
            "dcplan's standard-form compile / `solve_model` minus HiGHS's run time. Solve: "
            "dcplan's solve (its strategy in the table above) / HiGHS's run time. Other: the "
            "rest of dcplan's wall (reading inputs, its typical-days start of a full-year solve, "
            "extracting the plan, the CLI's explanation). Wall: in-process, from "
            "reading the case to the answer (for dcplan on an infeasible case: the `dcplan plan`"
            " command, its explanation included). Process: the child's whole life, interpreter "
            "start and imports included. Ratio: dcplan / PyPSA, median over the pairs; the "
            f"target is <= {SPEED_TARGET:g} (2x faster).", "",
            "| case | dc build | dc hand-off | dc solve | dc other | dc wall | dc process | dc MB "
            "| PyPSA build | PyPSA hand-off | PyPSA solve | PyPSA wall | PyPSA process "
            "| PyPSA MB | ratio wall | ratio process | 2x faster |",
            "|---|" + "---:|" * 15 + "---|"]
    for r in rows:
        cells = [r["name"]]
        for tool in ("dcplan", "pypsa"):
            t = r[tool]
            keys = TIMING_KEYS if tool == "dcplan" else PYPSA_TIMING_KEYS
            cells += [_f(t["timings"][k]) for k in keys]
            cells += [_f(t["process_seconds"]), _f(t["peak_rss_mb"], ".0f")]
        fast = r["ratio_wall"] is not None and r["ratio_wall"] <= SPEED_TARGET
        cells += [_f(r["ratio_wall"]), _f(r["ratio_process"]),
                  "-" if r["ratio_wall"] is None else ("yes" if fast else "no")]
        out.append("| " + " | ".join(cells) + " |")
    notes = []
    for r in rows:
        if r["diagnosis"] and r["verdict"] != "agree":
            notes.append(f"- {r['name']}: {r['verdict']}: {r['diagnosis']}")
        if r["infeasible_missed"]:
            notes.append(f"- {r['name']}: meant to be infeasible, dcplan says "
                         f"{r['dcplan']['status']}")
        if r["dcplan"].get("cli_message"):
            notes.append(f"- {r['name']}: `dcplan plan` says: "
                         + " / ".join(r["dcplan"]["cli_message"]))
        for tool in ("dcplan", "pypsa"):
            if r[tool]["status"] in ("error", "timeout"):
                notes.append(f"- {r['name']}: {tool} {r[tool]['status']}: "
                             f"{(r[tool].get('message') or '')[:300]}")
    checked = [r for r in rows if r.get("design_check")]
    if checked:
        out += ["", "## Unverified cases: dcplan's design priced by PyPSA", "",
                "Where the pairs gave no answer to compare, each tool ran again with `--time-limit` as "
                f"its solver's (its child killed at {CHECK_GRACE:g} x; only where its pair had no answer), "
                "and PyPSA priced dcplan's design with its capacities held, at the same limit. Costs are "
                "of the power system, $/yr; \"within\": dcplan's cost above the higher of the two tools' bounds.",
                "", "| case | dcplan | PyPSA at its limit (best / bound) | PyPSA's price of dcplan's design "
                "| verdict | note |", "|---|---|---|---|---|---|"]
        for r in checked:
            c = r["design_check"]
            d, p, q = c["dcplan"], c["pypsa"], c["priced"] or {}
            out.append(f"| {r['name']} | {_f(d['objective'], ',.0f')} ({d['status']}) "
                       f"| {_f(p['objective'], ',.0f')} / {_f(p['bound'], ',.0f')} ({p['status']}) "
                       f"| {_f(q.get('objective'), ',.0f')} ({q.get('status', '-')}) | {c['verdict']} | {c['note']} |")
    if notes:
        out += ["", "## Notes", "", *notes]
    out += ["", report["final_line"], ""]
    return "\n".join(out)


def final_line(rows: list[dict], timed: bool = True) -> str:
    """The report's last line; ``timed`` False (``--check-only``): no speed, the runs were not timed."""
    ratios = [(r["ratio_wall"], r["name"]) for r in rows if r["ratio_wall"] is not None and timed]
    disagree = sum(r["verdict"] == "DISAGREE" for r in rows)
    missed = sum(r["infeasible_missed"] for r in rows)
    unverified = sum(r["verdict"] == "unverified" for r in rows)
    checks = [r["design_check"]["verdict"] for r in rows if r.get("design_check")]
    if ratios:
        worst = max(ratios)
        speed = (f"dcplan/PyPSA wall ratio median {statistics.median(v for v, _ in ratios):.2f}, "
                 f"worst {worst[0]:.2f} ({worst[1]}); "
                 f"{sum(v <= SPEED_TARGET for v, _ in ratios)}/{len(ratios)} cases 2x faster")
    else:
        speed = "no ratio" if timed else "check only, not timed"
    return (f"SUITE: {len(rows)} cases; {speed}; objectives disagree in {disagree} case(s); "
            f"infeasible cases missed: {missed}; unverified (a tool past its limit, or PyPSA's error): "
            f"{unverified}" + ("; design checks: " + ", ".join(f"{checks.count(v)} {v}" for v in DESIGN_VERDICTS)
                               if checks else ""))


# --- main ------------------------------------------------------------------------------------


def all_cases(seed: int, count: int, catalog: dict) -> list[sc.Case]:
    return [*sc.FIXED_CASES, *sc.random_cases(seed, count, catalog)]


def print_list(cases: list[sc.Case]) -> None:
    rows = [sc.describe(c) for c in cases]
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(r[k]) for r in rows)) for k in keys}
    print("  ".join(k.ljust(widths[k]) for k in keys))
    for r in rows:
        print("  ".join(r[k].ljust(widths[k]) for k in keys))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=2026, help="seed of the random cases")
    ap.add_argument("--random", type=int, default=5, help="how many random cases (default 5)")
    ap.add_argument("--repeat", type=int, default=3, help="pairs of runs per case (default 3)")
    ap.add_argument("--time-limit", type=float, default=600.0,
                    help="seconds each child may run before it is killed (default 600)")
    ap.add_argument("--threads", type=int, help="HiGHS threads, both tools (default: HiGHS's)")
    ap.add_argument("--tolerance", type=float, default=TOLERANCE,
                    help="relative objective difference allowed (default 1e-4)")
    ap.add_argument("--cases", help="comma-separated case names to run (default: all)")
    ap.add_argument("--check-only", action="store_true",
                    help="one run of each tool with --time-limit as its solver's (the child killed at "
                    f"{CHECK_GRACE:g} x), and where PyPSA has no optimum, PyPSA's price of dcplan's design: "
                    "a check of the answers, not a timing")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--keep", type=Path, help="write the case folders here and keep them")
    ap.add_argument("--markdown", type=Path, help="write the report here as Markdown")
    ap.add_argument("--json", type=Path, help="write every figure here as JSON")
    ap.add_argument("--worker", choices=["dcplan", "dcplan-cli", "pypsa"], help=argparse.SUPPRESS)
    ap.add_argument("--case-dir", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--solver-time-limit", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--design", type=Path, help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def measured_tree() -> None:
    """The dcplan these benchmarks measure is the checkout they are in (REPO, first on sys.path,
    and the children's working folder): a PYTHONPATH naming another checkout is refused, not
    ignored (runs "at" a worktree given through PYTHONPATH to this checkout's script had measured
    this checkout)."""
    for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        if entry and (Path(entry) / "dcplan" / "__init__.py").is_file() and Path(entry).resolve() != REPO:
            sys.exit(f"PYTHONPATH names another dcplan checkout ({entry}): run its own "
                     f"benchmarks/{Path(sys.argv[0]).name}; these measure the dcplan in {REPO}")


def main(argv: list[str] | None = None) -> int:
    measured_tree()
    args = parse_args(argv)
    if args.worker:
        if args.worker == "pypsa":
            design = json.loads(args.design.read_text(encoding="utf-8")) if args.design else None
            result = worker_pypsa(args.case_dir, args.threads, args.solver_time_limit, design)
        elif args.worker == "dcplan":
            result = worker_dcplan(args.case_dir, args.threads, args.solver_time_limit)
        else:
            result = worker_dcplan_cli(args.case_dir)
        print(json.dumps(result, default=float))
        return 0

    catalog = sc.merged_catalog()
    cases = all_cases(args.seed, args.random, catalog)
    if args.cases:
        wanted = [c.strip() for c in args.cases.split(",") if c.strip()]
        unknown = sorted(set(wanted) - {c.name for c in cases})
        if unknown:
            print(f"unknown case(s): {', '.join(unknown)}; see --list", file=sys.stderr)
            return 2
        cases = [c for c in cases if c.name in wanted]
    if args.list:
        print_list(cases)
        return 0

    rate = sc.default_discount_rate()
    source = _git_state()
    if args.check_only:
        args.repeat = 1
    rows = []
    with tempfile.TemporaryDirectory(prefix="dcplan_suite_") as tmp:
        root = args.keep or Path(tmp)
        for case in cases:
            print(f"{case.name}: {case.about}", file=sys.stderr, flush=True)
            sc.write_case(case, root / case.name, catalog, rate)
            rows.append(run_case(case, root / case.name, args))
    report = {
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform(), "processor": _cpu_name()},
        "versions": cp.versions(),
        "dcplan_source": source,
        "dcplan_source_after": _git_state(),
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                    if k not in ("worker", "case_dir")},
        "repeat": args.repeat,
        "threads": args.threads,
        "highs_mip_rel_gap": HIGHS_MIP_GAP,
        "cases": rows,
        "final_line": final_line(rows, timed=not args.check_only),
    }
    text = markdown(report)
    print(text)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text, encoding="utf-8")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1, default=float), encoding="utf-8")
    failed = any(r["verdict"] == "DISAGREE" or r["infeasible_missed"]
                 or (r.get("design_check") or {}).get("verdict") == "DISAGREE" for r in rows)
    return 1 if failed else 0


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git_state() -> dict:
    """The commit of the dcplan being measured, and whether its package files differ from it:
    dcplan is installed editable, so the suite measures this checkout as it is."""
    def git(*cmd: str) -> str:
        done = subprocess.run(["git", "-C", str(REPO), *cmd], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    return {"commit": git("rev-parse", "--short", "HEAD") or None,
            "dirty": bool(git("status", "--porcelain", "--", "dcplan"))}


if __name__ == "__main__":
    sys.exit(main())
