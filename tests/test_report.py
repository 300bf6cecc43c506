"""`dcplan report` and `dcplan show`: every section is there, the HTML needs nothing from the
network, text from the inputs is escaped, a multi-period plan gets its Gantt chart, and a
missing or damaged folder is a clear input error (exit code 2), never a traceback."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import REPO, run_cli
from typer.testing import CliRunner

from dcplan.report import load_folder, render
from dcplan.report.data import key_figures, typical_week
from dcplan.smoothing.output import SCHEDULE_COLUMNS

EXTERNAL = re.compile(r"""(?:src|href|xlink:href|action)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//""", re.I)
HOSTILE = "<script>alert('x')</script> & </pre>"


def plan_quickstart(tmp: Path) -> Path:
    """Plan the quickstart, with --report, from a copy of the example in a repository of its own;
    return its output folder."""
    (tmp / ".git").mkdir()
    shutil.copytree(REPO / "sites", tmp / "sites")
    shutil.copytree(REPO / "examples" / "quickstart", tmp / "examples" / "quickstart")
    result = run_cli(CliRunner(), "plan", tmp / "examples" / "quickstart" / "program.yaml", "-o", tmp / "out",
                     "--report", "-q")
    assert result.exit_code == 0, result.output
    return tmp / "out"


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory) -> Path:
    return plan_quickstart(tmp_path_factory.mktemp("quickstart"))


def _periods():
    for year in (2026, 2027):
        for q in range(4):
            start = dt.date(year, 3 * q + 1, 1)
            end = (dt.date(year + (q == 3), (3 * q + 3) % 12 + 1, 1) - dt.timedelta(days=1))
            yield f"{year}-Q{q + 1}", start, end


def write_buildout(folder: Path) -> Path:
    """A hand-made output folder of a two-year, quarterly build-out (the timeline contract), with
    a smoothing result, a cap, and an input file whose text and names need escaping."""
    folder.mkdir(parents=True)
    program = folder / "inputs" / "program.yaml"
    program.parent.mkdir()
    program.write_text(f"kind: program\nname: buildout  # {HOSTILE}\n")
    periods, rows = [], []
    for i, (name, start, end) in enumerate(_periods()):
        gas = 0.0 if i < 4 else 49.0
        rental = 60.0 if 1 <= i < 4 else 0.0
        periods.append({
            "name": name, "start": start, "end": end, "target": 20000.0 * min(i + 1, 4),
            "compute_online": 20000.0 * min(i + 1, 4), "gpus_online": {"memphis": {"h100_sxm": 20000 * min(i + 1, 4)}},
            "capacity_online": {"memphis": {"grid_mw": 50.0, "gas_mw": gas, "rental_gas_mw": rental,
                                            "solar_mw": 40.0 if i >= 5 else 0.0, "wind_mw": 0.0, "battery_mw": 0.0,
                                            "battery_mwh": 0.0, "it_mw": 25.0 * min(i + 1, 4)}},
            "spend_usd": {"capital": 1.0e9 if i == 0 else 2.0e8, "operating": 3.0e7, "rental": 4.0e6 if rental else 0.0},
            "energy_mwh": {"grid": 1.0e5, "gas": 1.0e4 * i, "rental_gas": 1.0e4 if rental else 0.0, "solar": 0.0,
                           "wind": 0.0},
            "co2_t": 1234.0 * (i + 1),
        })
        hours = np.arange(48)
        load = 25.0 * min(i + 1, 4) * 1.2 * (1 + 0.1 * np.sin(hours / 24 * 2 * np.pi))
        solar = np.where((hours % 24 >= 7) & (hours % 24 <= 17), 30.0 if i >= 5 else 0.0, 0.0)
        charge = np.where(hours % 24 == 12, 2.0, 0.0)
        rest = load + charge - solar
        grid = np.minimum(rest, 50.0)
        rented = np.minimum(rest - grid, rental)
        gas_mw = rest - grid - rented
        for h in hours:
            rows.append([name, "memphis", h, [100, 3000][h // 24] + h % 24, [150, 215][h // 24], load[h], 1.2,
                         grid[h], gas_mw[h], rented[h], solar[h], charge[h], 0.0])
    with (folder / "dispatch.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["period", "site", "step", "hour_of_year", "weight", "load_mw", "pue", "grid_mw",
                         "gas_lm6000_mw", "rental_gas_mobile_turbine_mw", "solar_mw", "battery_charge_mw",
                         "battery_discharge_mw"])
        writer.writerows(rows)
    order = {"site": "memphis", "quantity": 4.0, "unit": "units", "retire_date": None, "capex_usd": 1.2e8}
    timeline = {
        "period_length": "quarter", "base_date": dt.date(2026, 1, 1), "periods": periods,
        "orders": [
            order | {"asset": "gas:lm6000", "label": "LM6000PF", "order_period": "2026-Q1",
                     "order_date": dt.date(2026, 1, 1), "online_period": "2027-Q1", "online_date": dt.date(2027, 1, 1)},
            order | {"asset": "gpus:h100_sxm", "label": "H100 SXM", "quantity": 80000.0, "unit": "GPUs",
                     "order_period": "2026-Q1", "order_date": dt.date(2026, 1, 1), "online_period": "2026-Q1",
                     "online_date": dt.date(2026, 1, 1), "capex_usd": 2.5e9},
            order | {"asset": "solar:utility_pv", "label": "utility PV", "quantity": 40.0, "unit": "MW",
                     "order_period": "2026-Q2", "order_date": "2026-04-01", "online_period": "2027-Q2",
                     "online_date": "2027-04-01", "retire_date": "2027-10-01"},
        ],
        "bridges": [{"site": "memphis", "asset": "rental_gas:mobile_turbine", "label": "mobile gas turbines (rented)",
                     "quantity": 15.0, "unit": "units", "start_period": "2026-Q2", "start_date": dt.date(2026, 4, 1),
                     "end_period": "2026-Q4", "end_date": dt.date(2026, 12, 31), "cost_usd": 4.5e7}],
        "totals": {"npv_cost_usd": 1.2e10, "cost_per_gpu_hour_usd": 2.1},
    }
    plan = {
        "dcplan_version": "0.1.0", "program": "buildout <b>bold</b>", "scenario": None, "objective": "min_cost",
        "time_resolution": {"method": "typical_days", "steps": 48, "typical_days": 2},
        "solution": {"status": "optimal", "gap": 1e-5}, "target": {"measure": "gpus", "amount": 80000.0},
        "compute_delivered": 80000.0,
        "totals": {"gpus": 80000, "it_mw": 100.0, "facility_energy_mwh_per_year": 1.05e6,
                   "total_cost_usd_per_year": 1.5e9, "levelised_cost_usd_per_mwh": 1400.0,
                   "power_cost_usd_per_mwh": 60.0, "cost_usd_per_gpu_hour": 2.14, "co2_t_per_year": 3.0e5,
                   "nox_t_per_year": 40.0},
        "cost_breakdown_usd_per_year": {"gpus": 1.2e9, "gas_capex": 1.0e8, "gas_fuel": 5.0e7, "grid_energy": 9.0e7,
                                        "rental_gas": 4.0e6, "cooling": 6.0e7},
        "caps": [{"name": f"air-permit {HOSTILE}", "quantity": "nox_t", "scope": "memphis", "sense": "max",
                  "limit": 87.0, "value": 40.0, "slack": 47.0, "binding": False, "shadow_price": 0.0,
                  "shadow_price_unit": "USD/yr per t", "origin": "program", "source": "permit 2025-07-02"}],
        "timeline": timeline,
        "sites": {"memphis": {
            "country": "US", "gpus": {"h100_sxm": 80000}, "gpus_new": {"h100_sxm": 80000}, "cooling": "air_economizer",
            "it_mw": 100.0, "capacity": {"grid_limit_mw": 50.0, "grid_peak_import_mw": 50.0, "gas_lm6000_units": 4,
                                         "gas_lm6000_new_units": 4, "gas_lm6000_mw": 49.0, "solar_mw": 40.0,
                                         "battery_mw": 2.0, "battery_mwh": 8.0},
            "energy_mwh_per_year": {"grid": 4.0e5, "gas_lm6000": 6.0e5, "solar": 5.0e4, "battery_charge": 500.0,
                                    "battery_discharge": 0.0},
            "costs_usd_per_year": {"gpus": 1.2e9, "gas_capex": 1.0e8, "gas_fuel": 5.0e7, "grid_energy": 9.0e7,
                                   "rental_gas": 4.0e6, "cooling": 6.0e7},
            "total_cost_usd_per_year": 1.504e9, "emissions_t_per_year": {"co2": 3.0e5, "nox": 40.0},
            "water_m3_per_year": 1.0e5, "binding_limits": []}},
    }
    (folder / "plan.yaml").write_text(yaml.safe_dump(plan, sort_keys=False))
    inputs = [{"path": "inputs/program.yaml", "sha256": hashlib.sha256(program.read_bytes()).hexdigest()}]
    (folder / "summary.json").write_text(json.dumps({"inputs": inputs}))
    _write_smoothing(folder)
    return folder


def _write_smoothing(folder: Path) -> None:
    t = np.arange(400) * 0.5
    raw = 20 + 8 * (np.sin(t / 4) > 0)
    grid = 20 + 8 * np.clip(np.sin(t / 4) * 3, 0, 1)
    columns = {c: np.zeros_like(t) for c in SCHEDULE_COLUMNS} | {"time_s": t, "raw_load_mw": raw, "grid_mw": grid}
    np.savetxt(folder / "schedule.csv", np.column_stack([columns[c] for c in SCHEDULE_COLUMNS]), delimiter=",",
               header=",".join(SCHEDULE_COLUMNS), comments="", fmt="%.6g")
    measures = ["ramp_up_mw_per_s", "ramp_down_mw_per_s", "swing_mw", "min_mw", "max_mw", "mean_mw"]
    (folder / "smoothing.yaml").write_text(yaml.safe_dump({
        "workload": {"name": "job <i>", "source": "job.yaml", "gpu": "h100_sxm", "gpus": 24000, "duration_s": 200.0},
        "status": "feasible", "model_step_s": 0.5, "limits": {"swing_mw": 10.0, "swing_window_s": 5.0},
        "energy_overhead_fraction": 0.05, "costs_usd_per_year": {"energy_burn": 6.9e5, "battery_capex": 1.8e5},
        "total_cost_usd_per_year": 8.7e5, "before": dict.fromkeys(measures, 16.0), "after": dict.fromkeys(measures, 9.5),
    }, sort_keys=False))


@pytest.fixture
def buildout(tmp_path) -> Path:
    return write_buildout(tmp_path / "buildout")


def _section_ids(html: str) -> list[str]:
    return re.findall(r'<section id="([a-z]+)">', html)


def test_plan_report_has_every_section_of_a_single_period_plan(quickstart):
    html = (quickstart / "report.html").read_text()
    assert _section_ids(html) == ["figures", "capacity", "dispatch", "costs", "emissions", "inputs"]
    plan = yaml.safe_load((quickstart / "plan.yaml").read_text())
    assert f"{plan['totals']['gpus']:,}" in html and f"${plan['totals']['cost_usd_per_gpu_hour']:.2f}" in html
    assert html.count('<svg class="chart"') == 4  # capacity, energy, a week of dispatch, costs
    assert "the 7 most-weighted of 12 typical days" in html
    for name in ("program.yaml", "memphis.yaml"):  # the inputs, embedded
        assert re.search(rf"<summary><code>[^<]*{name}</code></summary><pre>", html)
    assert "kind: site" in html and "No caps apply" in html


def test_report_is_self_contained(quickstart, buildout):
    for folder in (quickstart, buildout):
        html = render(load_folder(folder))
        assert not EXTERNAL.search(html), EXTERNAL.search(html)
        assert "<script" not in html.lower() and "url(" not in html and "@import" not in html
        assert "<link" not in html.lower() and "<img" not in html.lower()


def test_report_escapes_text_from_files(buildout):
    html = render(load_folder(buildout))
    assert "<script>" not in html and "<b>bold</b>" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;/pre&gt;" in html  # the input, embedded
    assert "buildout &lt;b&gt;bold&lt;/b&gt;" in html  # the program name
    assert "air-permit &lt;script&gt;" in html  # a cap name, in the table and in the chart


def test_report_of_a_buildout_has_its_gantt_chart_and_smoothing(buildout):
    html = render(load_folder(buildout))
    assert _section_ids(html) == ["figures", "timeline", "capacity", "dispatch", "costs", "emissions",
                                  "smoothing", "inputs"]
    timeline = html[html.index('<section id="timeline">'):html.index('<section id="capacity">')]
    assert timeline.count('class="lead"') == 3 and timeline.count('class="online"') == 3
    assert timeline.count('class="rented"') == 1
    assert ">mobile gas turbines (rented) ×15 units<" in timeline  # one site: no site in the labels
    assert "8 quarters from 2026-01-01" in timeline and "NPV $12.00 B" in timeline
    for period, *_ in _periods():
        assert f"<td>{period}</td>" in timeline  # the per-period table
    assert "period 2027-Q4" in html  # the dispatch shown is the last period's
    smoothing = html[html.index('<section id="smoothing">'):html.index('<section id="inputs">')]
    assert "swing (MW)" in smoothing and "≤ 10.00" in smoothing and "16.00" in smoothing and "9.50" in smoothing
    assert '<svg class="chart"' in smoothing


def test_week_of_a_full_year_is_the_one_closest_to_the_years_mix(buildout):
    folder = load_folder(buildout)
    day = np.repeat(np.arange(365), 24)
    solar = 100.0 * day / 364  # solar grows through the year; the grid makes up the rest
    folder.plan["time_resolution"] = {"method": "full_year", "steps": 8760}
    folder.dispatch["memphis"] = {"hour_of_year": np.arange(8760.0), "weight": np.ones(8760), "solar_mw": solar,
                                  "grid_mw": 100.0 - solar, "load_mw": np.full(8760, 100.0)}
    week = typical_week(folder, "memphis")
    assert len(week.load) == 168 and list(week.supply) == ["grid_mw", "solar_mw"]
    assert week.days[0] in ("28 Jun", "29 Jun")  # days 179-185 have the year's 50 % solar share
    assert "closest to the year's" in week.label


def test_show_prints_the_key_figures_and_a_chart(quickstart, runner):
    result = run_cli(runner, "show", quickstart)
    assert result.exit_code == 0, result.output
    for name, value, _ in key_figures(load_folder(quickstart)):
        assert name in result.output and value in result.output
    assert "Dispatch at memphis" in result.output and "0 MW│" in result.output
    assert "gas wartsila 18v50sg" in result.output


def test_show_and_report_of_a_buildout(buildout, runner):
    assert "NPV cost" in run_cli(runner, "show", buildout).output
    out = buildout.parent / "elsewhere" / "r.html"
    result = run_cli(runner, "report", buildout, "-o", out)
    assert result.exit_code == 0 and out.read_text().startswith("<!DOCTYPE html>")
    folder = buildout.parent / "new-folder"  # a trailing separator names a folder, made if missing
    assert run_cli(runner, "report", buildout, "-o", f"{folder}/").exit_code == 0
    assert (folder / "report.html").is_file()


def test_changed_or_missing_inputs_are_flagged(buildout):
    (buildout / "inputs" / "program.yaml").write_text("kind: program\nname: edited\n")
    assert "changed since the plan was made" in render(load_folder(buildout))
    (buildout / "inputs" / "program.yaml").unlink()
    assert "not found: moved or deleted" in render(load_folder(buildout))


def test_missing_or_damaged_folders_are_input_errors(tmp_path, buildout, runner):
    def fails(*args) -> str:
        result = run_cli(runner, *args)
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        return result.output

    for command in ("report", "show"):
        assert "no such folder" in fails(command, tmp_path / "nope")
        assert "plan.yaml: file not found" in fails(command, tmp_path)
    plan = buildout / "plan.yaml"
    text = plan.read_text()
    plan.write_text(text.replace("totals:\n  gpus: 80000", "totals:\n  gpus: many"))
    line = plan.read_text().splitlines().index("  gpus: many") + 1
    assert f"plan.yaml:{line}: totals.gpus: expected a number, found 'many'" in fails("report", buildout)
    plan.write_text(text.replace("    online_date: 2027-01-01", "    online_date: soon"))
    assert "timeline.orders[0].online_date: expected a date (YYYY-MM-DD)" in fails("report", buildout)
    plan.write_text(text)
    dispatch = buildout / "dispatch.csv"
    lines = dispatch.read_text().splitlines()
    lines[5] = lines[5].replace("memphis,4,", "memphis,4x,")
    dispatch.write_text("\n".join(lines) + "\n")
    assert "dispatch.csv:6: step: not a number: '4x'" in fails("show", buildout)
    dispatch.unlink()
    assert "dispatch.csv: file not found" in fails("report", buildout)
    assert not (buildout / "report.html").exists()  # nothing half-written


def test_plan_report_needs_an_output_folder(runner):
    result = run_cli(runner, "plan", REPO / "examples" / "quickstart" / "program.yaml", "--report")
    assert result.exit_code == 2 and "--report: needs -o OUTDIR" in result.output
