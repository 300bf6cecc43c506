"""`dcplan report` and `dcplan show`: every section is there, the HTML needs nothing from the
network, text from the inputs is escaped, a multi-period plan gets its Gantt chart, and a
missing or damaged folder is a clear input error (exit code 2), never a traceback."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import re
import shutil
from html import unescape
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import REPO, base_site, run_cli, write_yaml
from typer.testing import CliRunner

from dcplan.formatting import money
from dcplan.report import load_folder, render
from dcplan.report.data import (
    duration_curve,
    key_figures,
    source_costs,
    typical_week,
    whole_year,
)
from dcplan.smoothing.output import SCHEDULE_COLUMNS

EXTERNAL = re.compile(r"""(?:src|href|xlink:href|action)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//""", re.I)
HOSTILE = "<script>alert('x')</script> & </pre>"


def plan_example(tmp: Path, example: str, *options: str) -> Path:
    """Plan an example, with --report (and ``options``), from a copy of it in a repository of
    its own; return its output folder."""
    (tmp / ".git").mkdir()
    shutil.copytree(REPO / "sites", tmp / "sites")
    shutil.copytree(REPO / "examples" / example, tmp / "examples" / example)
    result = run_cli(CliRunner(), "plan", tmp / "examples" / example / "program.yaml", "-o", tmp / "out",
                     "--report", "-q", *options)
    assert result.exit_code == 0, result.output
    return tmp / "out"


def plan_quickstart(tmp: Path, *options: str) -> Path:
    return plan_example(tmp, "quickstart", *options)


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory) -> Path:
    return plan_quickstart(tmp_path_factory.mktemp("quickstart"))


@pytest.fixture(scope="module")
def full_year(tmp_path_factory) -> Path:
    """The quickstart dispatched on all 8,760 hours (its full_year scenario)."""
    return plan_quickstart(tmp_path_factory.mktemp("full-year"), "--scenario", "full_year")


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
    assert _section_ids(html) == ["figures", "capacity", "dispatch", "year", "costs", "emissions", "inputs"]
    plan = yaml.safe_load((quickstart / "plan.yaml").read_text())
    assert f"{plan['totals']['gpus']:,}" in html and f"${plan['totals']['cost_usd_per_gpu_hour']:.2f}" in html
    # capacity, energy, a week of dispatch, costs; and of the whole year: heat maps of the grid and of
    # the one gas unit type that ran, energy and energy cost by typical day, load and price durations
    assert html.count('<svg class="chart"') == 4 + 6
    assert "the 7 most-weighted of 13 typical days" in html  # 12 and the peak day
    for name in ("program.yaml", "memphis.yaml"):  # the inputs, embedded
        assert re.search(rf"<summary><code>[^<]*{name}</code></summary><pre>", html)
    for name in ("memphis_price.csv", "greensboro_weather.csv"):  # the site's series: listed, their hashes checked
        assert re.search(rf"<p><code>[^<]*{name}</code> <span class=\"note\">\(data, not embedded: as when "
                         r"the plan was made\)</span></p>", html)
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
    assert _section_ids(html) == ["figures", "timeline", "capacity", "dispatch", "year", "costs", "emissions",
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


def test_the_gap_shown_says_what_it_is_of(buildout):
    """A gap measured against the power system's cost (summary.json's ``gap_share`` below 1)
    says so, as the terminal does; an older summary without it shows the bare figure."""
    def solution() -> str:
        return next(value for name, value, _ in key_figures(load_folder(buildout)) if name == "solution")
    assert solution() == "optimal, gap 0.001%"
    summary = json.loads((buildout / "summary.json").read_text())
    (buildout / "summary.json").write_text(json.dumps(summary | {"solver": {"gap_share": 0.1}}))
    assert solution() == "optimal, gap 0.001% of the power system's cost"


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
    axis = [line.index("│") for line in result.output.splitlines() if "MW│" in line or line.startswith(" " * 7 + "│")]
    assert len(axis) >= 4 and len(set(axis)) == 1, axis  # ticks, each on one straight axis (1,124 MW too)
    costs = {sc.source: sc for sc in source_costs(load_folder(quickstart).plan["sites"]["memphis"])}
    gas = costs["gas"]
    row = next(line for line in result.output.splitlines() if line.startswith("│ gas "))
    assert f"{gas.cost_usd / gas.energy_mwh:,.2f}" in row and f"{gas.running_usd / gas.energy_mwh:,.2f}" in row


def test_the_chart_axis_stays_straight_for_a_gigawatt_peak():
    from dcplan.report.data import Week
    from dcplan.report.terminal import week_chart

    hours = np.arange(48)
    week = Week("two days", ["1 Jan", "2 Jan"], {"grid_mw": 900 + 224 * (hours % 24 > 8)}, None, np.full(48, 1124.0))
    lines = week_chart(week, 48).plain.splitlines()
    assert lines[0].startswith("1,124 MW│")
    assert len({line.index("│") for line in lines if "│" in line} | {lines[-3].index("└")}) == 1


def test_an_order_of_one_reads_one_unit():
    from dcplan.formatting import amount

    assert [amount(1, "units"), amount(3, "units"), amount(1, "GPUs"), amount(146.7, "MW IT"), amount(1.0, "MW")] == \
        ["1 unit", "3 units", "1 GPU", "146.7 MW IT", "1 MW"]


def test_show_and_report_of_a_buildout(buildout, runner):
    assert "NPV cost" in run_cli(runner, "show", buildout).output
    out = buildout.parent / "elsewhere" / "r.html"
    result = run_cli(runner, "report", buildout, "-o", out)
    assert result.exit_code == 0 and out.read_text().startswith("<!DOCTYPE html>")
    folder = buildout.parent / "new-folder"  # a trailing separator names a folder, made if missing
    assert run_cli(runner, "report", buildout, "-o", f"{folder}/").exit_code == 0
    assert (folder / "report.html").is_file()


def test_a_buildouts_yearly_figures_say_they_are_its_last_periods_rate(buildout, runner):
    """A quarter's yearly rate carries its season (an audit: a build-out's CO2 read 28 % above
    its last year's, gas 28 % above, solar 18 % below): its figures say whose rate they are, and
    CO2 gives the last year's periods as emitted beside it."""
    periods = yaml.safe_load((buildout / "plan.yaml").read_text())["timeline"]["periods"]
    year = [p for p in periods if p["name"].startswith("2027")]
    assert len(year) == 4 and periods[-1]["name"] == "2027-Q4"
    out = " ".join(run_cli(runner, "show", buildout).output.split())
    assert "annualised capital, fuel and O&M at 2027-Q4's rate" in out, out
    assert f"2027-Q4's rate; {sum(p['co2_t'] for p in year):,.0f} t in 2027-Q1 to 2027-Q4;" in out, out
    assert "Sources at memphis (per year, at 2027-Q4's rate)" in out
    assert "<p>Per year, at 2027-Q4&#x27;s rate:" in render(load_folder(buildout))


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
        assert f"a file: give the plan's folder ({buildout})" in " ".join(fails(command, buildout / "plan.yaml").split())
        program = REPO / "examples" / "quickstart" / "program.yaml"  # its folder is no plan's: not offered
        assert "a file: give the plan's folder, as" in " ".join(fails(command, program).split())
    plan = buildout / "plan.yaml"
    text = plan.read_text()
    plan.write_text(text.replace("totals:\n  gpus: 80000", "totals:\n  gpus: many"))
    line = plan.read_text().splitlines().index("  gpus: many") + 1
    assert f"plan.yaml:{line}: totals.gpus: input should be a valid number" in fails("report", buildout)
    plan.write_text(text.replace("    online_date: 2027-01-01", "    online_date: soon"))
    assert "timeline.orders[0].online_date: input should be a valid date" in fails("report", buildout)
    # a period's capacity edited to no number (check had ended in an internal error, exit 70)
    online = text.index("    capacity_online:\n")
    battery = text.index("battery_mw: ", online)
    plan.write_text(text[:battery] + "battery_mw: null" + text[text.index("\n", battery):])
    assert "capacity_online.memphis.battery_mw: input should be a valid number; found null" in fails("report", buildout)
    plan.write_text(text[:battery] + "battery_mw: x" + text[text.index("\n", battery):])
    assert "capacity_online.memphis.battery_mw: expected a number, found 'x'" in fails("show", buildout)
    plan.write_text(text.replace("\ncaps: []\n", "\n"))  # no caps written: none (plan.yaml's shape's default)
    assert run_cli(runner, "report", buildout, "-o", tmp_path / "r.html").exit_code == 0
    plan.write_text(text)
    summary = buildout / "summary.json"
    written = summary.read_text()
    for key, value, said in (("solver", "x", "summary.json: solver: input should be a valid dictionary"),
                             ("inputs", -1, "summary.json: inputs: input should be a valid list")):
        summary.write_text(json.dumps({**json.loads(written), key: value}))
        assert said in fails("show", buildout) and said in fails("report", buildout)
    summary.write_text(written)
    smoothing, schedule = buildout / "smoothing.yaml", buildout / "schedule.csv"
    figures, steps = smoothing.read_text(), schedule.read_text()
    smoothing.write_text(yaml.safe_dump({**yaml.safe_load(figures), "costs_usd_per_year": -1}, sort_keys=False))
    assert "costs_usd_per_year: expected a mapping of figures, found '-1'" in fails("report", buildout)
    smoothing.write_text(figures)
    schedule.write_text("")  # numpy had warned, then failed on its missing columns
    assert "schedule.csv: cannot read schedule: empty file" in fails("report", buildout)
    schedule.write_text(steps)
    dispatch = buildout / "dispatch.csv"
    rows = dispatch.read_text()
    header = rows.splitlines()[0].split(",")
    first = rows.splitlines()[1].split(",")
    for hour in ("-1", "1e16", "0.5"):  # show had drawn -1 and overflowed on 1e16
        edited = dict(zip(header, first), hour_of_year=hour)
        dispatch.write_text(rows.replace(",".join(first), ",".join(edited[k] for k in header), 1))
        assert f"dispatch.csv:2: hour_of_year: '{hour}' is not an hour of the year (0 to 8759)" in fails("show", buildout)
    dispatch.write_text(rows)
    lines = dispatch.read_text().splitlines()
    lines[5] = lines[5].replace("memphis,4,", "memphis,4x,")
    dispatch.write_text("\n".join(lines) + "\n")
    assert "dispatch.csv:6: step: not a number: '4x'" in fails("show", buildout)
    dispatch.unlink()
    assert "dispatch.csv: file not found" in fails("report", buildout)
    assert not (buildout / "report.html").exists()  # nothing half-written


def test_a_folder_name_that_is_not_utf8_is_reported_escaped(quickstart, tmp_path, runner):
    """A byte no UTF-8 reads (kept by Python as a lone surrogate) in the plan's folder name had
    ended report and plan --report in an internal error (exit 70) after the solve."""
    folder = Path(os.fsdecode(os.fsencode(str(tmp_path)) + b"/plan\xff"))
    shutil.copytree(quickstart, folder)
    result = run_cli(runner, "report", folder, "-o", tmp_path / "r.html")
    assert result.exit_code == 0, result.output
    assert "plan\\udcff" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_plan_report_needs_an_output_folder(runner):
    result = run_cli(runner, "plan", REPO / "examples" / "quickstart" / "program.yaml", "--report")
    assert result.exit_code == 2 and "--report: needs -o OUTDIR" in result.output


def _part(html: str, key: str) -> str:
    """One section of a report."""
    start = html.index(f'<section id="{key}">')
    return html[start:html.index("</section>", start)]


def _tables(html: str) -> list[list[list[str]]]:
    """Every table in ``html``: rows of cell texts, tags stripped."""
    return [[[unescape(re.sub(r"<[^>]+>", "", cell)) for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row)]
             for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table)]
            for table in re.findall(r"<table>(.*?)</table>", html)]


def _number(text: str) -> float:
    return float(text.replace(",", "").replace("$", ""))


def _dispatch(folder: Path) -> list[dict]:
    """dispatch.csv's rows, numbers as numbers (the site, the period and the timestamp stay text)."""
    def value(text: str):
        try:
            return float(text)
        except ValueError:
            return text

    with (folder / "dispatch.csv").open(newline="") as fh:
        return [{k: value(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def _date(hour: float) -> dt.date:
    return dt.date(2001, 1, 1) + dt.timedelta(hours=int(hour))


SOURCES = ("grid_mw", "gas_wartsila_18v50sg_mw")  # the quickstart's sources that run


def test_whole_year_of_typical_days_adds_up_to_the_plans_energy(quickstart):
    """Energy by typical day, summed here from dispatch.csv, is in the report's table and adds
    up to plan.yaml's energy by source; the report says the typical days are not mapped to months."""
    html = (quickstart / "report.html").read_text()
    plan = yaml.safe_load((quickstart / "plan.yaml").read_text())
    rows = _dispatch(quickstart)
    year = _part(html, "year")
    assert "does not record which calendar days each stands for" in year
    days = sorted((rows[i:i + 24] for i in range(0, len(rows), 24)), key=lambda day: day[0]["hour_of_year"])
    expected = []
    for day in days:
        first = _date(day[0]["hour_of_year"])
        energy = [sum(r["weight"] * r[c] for r in day) for c in SOURCES]
        expected.append([f"{first.day} {first:%b} ×{sum(r['weight'] for r in day) / 24:.0f} d",
                         *(f"{e:,.0f}" for e in energy), f"{sum(energy):,.0f}"])
    table = _tables(year)[0]
    assert table[0][:4] == ["typical day", "grid MWh", "gas wartsila 18v50sg MWh", "total MWh"]
    assert [row[:4] for row in table[1:-1]] == expected
    energy = plan["sites"]["memphis"]["energy_mwh_per_year"]
    total = table[-1]
    assert total[0] == "year"
    for cell, key in zip(total[1:3], ("grid", "gas_wartsila_18v50sg")):
        assert _number(cell) == pytest.approx(energy[key], abs=1.0)
    costs = plan["cost_breakdown_usd_per_year"]
    assert total[4] == money(costs["grid_energy"] + costs["gas_fuel"] + costs["gas_variable_om"])
    assert "No energy from gas lm6000, battery." in year  # no heat map of what never ran


def test_whole_year_of_hourly_dispatch_by_month(full_year):
    """An hourly plan: a heat map column per day of the year, and energy by calendar month,
    summed here from dispatch.csv, adding up to plan.yaml's energy by source."""
    html = (full_year / "report.html").read_text()
    plan = yaml.safe_load((full_year / "plan.yaml").read_text())
    rows = _dispatch(full_year)
    assert len(rows) == 8760
    year = _part(html, "year")
    assert "typical days" not in year
    maps = re.findall(r'<svg class="chart".*?aria-label="[^"]* by hour of the day and day of the year".*?</svg>', year)
    assert len(maps) == 2  # the grid and the gas units that ran
    for chart in maps:
        assert chart.count('<rect class="hover"') == 365
        assert all(f">{m}</tspan>" in chart for m in ("Jan", "Jun", "Dec"))
    monthly = np.zeros((12, len(SOURCES)))
    for r in rows:
        monthly[_date(r["hour_of_year"]).month - 1] += [r["weight"] * r[c] for c in SOURCES]
    table = _tables(year)[0]
    assert [row[0] for row in table[1:]] == [dt.date(2001, m, 1).strftime("%b") for m in range(1, 13)] + ["year"]
    for row, expected in zip(table[1:13], monthly):
        assert row[1:3] == [f"{e:,.0f}" for e in expected]
    energy = plan["sites"]["memphis"]["energy_mwh_per_year"]
    assert monthly.sum(axis=0) == pytest.approx([energy["grid"], energy["gas_wartsila_18v50sg"]], abs=1.0)
    costs = plan["cost_breakdown_usd_per_year"]
    grid_cost = sum(r["weight"] * r["price_usd_per_mwh"] * r["grid_mw"] for r in rows)
    assert grid_cost == pytest.approx(costs["grid_energy"], rel=1e-4)
    assert table[-1][4] == money(costs["grid_energy"] + costs["gas_fuel"] + costs["gas_variable_om"])


def test_duration_curves_are_sorted_and_weighted(quickstart, full_year):
    """The load duration curve falls from the peak, its hours make a year and its energy the
    plan's; the report states the weighted energy, mean price and hours above gas's running
    cost, each computed here from dispatch.csv and plan.yaml."""
    for folder in (quickstart, full_year):
        plan = yaml.safe_load((folder / "plan.yaml").read_text())
        year = whole_year(load_folder(folder), "memphis")
        level, hours = duration_curve(year.load, year.weight_h)
        assert np.all(np.diff(level) <= 0) and level[0] == year.load.max()
        assert hours.sum() == pytest.approx(8760)
        assert np.sum(level * hours) == pytest.approx(plan["totals"]["facility_energy_mwh_per_year"], rel=1e-5)
        rows = _dispatch(folder)
        html = _part((folder / "report.html").read_text(), "year")
        assert f"{sum(r['weight'] * r['load_mw'] for r in rows):,.0f} MWh in the year" in html
        chart = re.search(r'aria-label="load duration curve".*?</svg>', html).group(0)
        points = re.search(r'<polyline points="([^"]+)" fill="none"', chart).group(1).split()
        y = [float(p.split(",")[1]) for p in points]
        assert y == sorted(y)  # down the chart, never up
        site = plan["sites"]["memphis"]
        costs = site["costs_usd_per_year"]
        running = (costs["gas_fuel"] + costs["gas_variable_om"]) / site["energy_mwh_per_year"]["gas_wartsila_18v50sg"]
        mean = sum(r["weight"] * r["price_usd_per_mwh"] for r in rows) / sum(r["weight"] for r in rows)
        above = sum(r["weight"] for r in rows if r["price_usd_per_mwh"] > running)
        assert f"mean ${mean:,.2f}/MWh" in html
        prices = [r["price_usd_per_mwh"] for r in rows]  # lowest first; on typical days it says so
        over = "the typical days' hours" if folder == quickstart else "the year's hours"
        assert f"price: ${min(prices):,.2f} to ${max(prices):,.2f}/MWh, mean ${mean:,.2f}/MWh over {over}" in html
        assert f"above gas's running cost (${running:,.2f}/MWh, dotted) for {above:,.0f} h" in html
        assert 'aria-label="grid price duration curve"' in html


def test_cost_per_mwh_by_source(quickstart):
    """Each source's cost lines over its energy, from plan.yaml, with what the numbers show:
    the grid's price against gas's running cost, hour by hour from dispatch.csv."""
    plan = yaml.safe_load((quickstart / "plan.yaml").read_text())
    site = plan["sites"]["memphis"]
    costs, energy = site["costs_usd_per_year"], site["energy_mwh_per_year"]
    table = next(t for t in _tables(_part((quickstart / "report.html").read_text(), "costs"))
                 if t[0][0] == "source")
    rows = {row[0]: row for row in table[1:]}
    assert list(rows) == ["grid", "gas", "battery"]
    gas_cost = sum(v for k, v in costs.items() if k.startswith("gas_"))
    gas_mwh = energy["gas_lm6000"] + energy["gas_wartsila_18v50sg"]
    running = (costs["gas_fuel"] + costs["gas_variable_om"]) / gas_mwh
    assert rows["gas"][1:6] == ["188.0", f"{gas_mwh:,.0f}", money(gas_cost), f"${gas_cost / gas_mwh:,.2f}",
                                f"${running:,.2f}"]
    assert "no energy from lm6000" in rows["gas"][6]
    grid_cost = costs["grid_energy"] + costs["grid_demand"]
    assert rows["grid"][3:6] == [money(grid_cost), f"${grid_cost / energy['grid']:,.2f}",
                                 f"${costs['grid_energy'] / energy['grid']:,.2f}"]
    dispatch = _dispatch(quickstart)
    hours = sum(r["weight"] for r in dispatch)
    imported = sum(r["weight"] for r in dispatch if r["grid_mw"] > 1e-3) / hours
    dearer = sum(r["weight"] for r in dispatch if r["price_usd_per_mwh"] > running) / hours
    importing = [r for r in dispatch if r["grid_mw"] > 1e-3]
    flat_out = sum(r["weight"] for r in importing if r["gas_wartsila_18v50sg_mw"] + r["gas_lm6000_mw"] >= 188 * 0.999)
    cheaper = sum(r["weight"] for r in importing if r["price_usd_per_mwh"] < running)
    assert (f"peak import {site['capacity']['grid_peak_import_mw']:,.1f} MW of a 150 MW limit; imported in "
            f"{imported:.0%} of hours; its price was above gas's running cost (${running:,.2f}/MWh) in "
            f"{dearer:.0%} of hours; of the hours it imported, its price was below that in "
            f"{cheaper / sum(r['weight'] for r in importing):.0%} and the gas units ran at their full 188.0 MW in "
            f"{flat_out / sum(r['weight'] for r in importing):.0%}") in rows["grid"][6]
    assert rows["battery"][6] == "not built"


def test_with_a_carbon_price_the_grid_and_gas_are_weighed_with_their_co2(tmp_path):
    """The plan weighs a MWh of grid and of gas with the carbon price on each (the grid at its
    hourly intensity, gas at its fuel's); the report had compared the bare grid price with gas's
    fuel and O&M (an audit's site at $20/t: "above gas's running cost in 100 % of hours")."""
    folder = plan_quickstart(tmp_path, "--scenario", "carbon_100", "--typical-days", "4")
    site = yaml.safe_load((folder / "plan.yaml").read_text())["sites"]["memphis"]
    costs, energy = site["costs_usd_per_year"], site["energy_mwh_per_year"]
    per_t = costs["carbon"] / site["emissions_t_per_year"]["co2"]
    assert per_t == pytest.approx(100, rel=1e-5)
    rows = _dispatch(folder)
    gas_mwh = sum(v for k, v in energy.items() if k.startswith("gas_"))
    grid_t = sum(r["weight"] * r["grid_mw"] * r["grid_co2_t_per_mwh"] for r in rows)
    running = ((costs["gas_fuel"] + costs["gas_variable_om"]) / gas_mwh
               + per_t * (site["emissions_t_per_year"]["co2"] - grid_t) / gas_mwh)
    hours = sum(r["weight"] for r in rows)
    dearer = sum(r["weight"] for r in rows if r["price_usd_per_mwh"] + per_t * r["grid_co2_t_per_mwh"] > running)
    html = unescape((folder / "report.html").read_text())
    assert (f"its price was above gas's running cost (${running:,.2f}/MWh) (with CO2 at ${per_t:,.2f}/t on "
            f"both) in {dearer / hours:.0%} of hours") in html
    assert (f"with its CO2, above gas's running cost with CO2 at ${per_t:,.2f}/t (${running:,.2f}/MWh, dotted) "
            f"for {dearer:,.0f} h") in html


def test_whole_year_of_a_buildout_is_its_last_year(buildout):
    """A build-out's year is its last four quarters, each step at a quarter of its yearly rate;
    its energy cost by month is left out (prices escalate by period)."""
    folder = load_folder(buildout)
    year = whole_year(folder, "memphis")
    assert "periods 2027-Q1 to 2027-Q4" in year.label and year.typical
    assert year.weight_h.sum() == pytest.approx(8760)
    rows = [r for r in _dispatch(buildout) if r["period"].startswith("2027")]
    html = _part(render(folder), "year")
    total = _tables(html)[0][-1]
    assert _number(total[-1]) == pytest.approx(sum(
        0.25 * r["weight"] * sum(r[c] for c in ("grid_mw", "gas_lm6000_mw", "rental_gas_mobile_turbine_mw",
                                                "solar_mw", "battery_discharge_mw")) for r in rows), abs=1.0)
    assert "Energy cost in each" not in html and "left out for a build-out" in html


def test_cash_flow_by_year_of_a_buildout(buildout):
    """Capital by the year its orders are placed, operating and rental cost by the year of
    their periods, summed here from plan.yaml."""
    plan = yaml.safe_load((buildout / "plan.yaml").read_text())
    timeline = plan["timeline"]
    table = _tables(_part(render(load_folder(buildout)), "timeline"))[-1]
    assert table[0][:5] == ["year", "capital (orders placed)", "capital paid", "operating", "rental"]
    for row in table[1:]:
        year = int(row[0])
        ordered = sum(o["capex_usd"] for o in timeline["orders"] if str(o["order_date"]).startswith(row[0]))
        spend = [p["spend_usd"] for p in timeline["periods"] if p["name"].startswith(row[0])]
        paid, operating, rental = (sum(s[k] for s in spend) for k in ("capital", "operating", "rental"))
        assert row[1:] == [money(ordered), money(paid), money(operating), money(rental),
                           money(ordered + operating + rental)], year
    assert [row[0] for row in table[1:]] == ["2026", "2027"]
    assert table[1][1] == "$2.74 B"  # 120 M + 2.5 B + 120 M of orders placed in 2026


def assert_one_colour_per_technology(html: str, names: tuple[str, str]) -> None:
    """A gas unit type (``names``: its catalog label and its name in the charts) has one colour in
    every chart of a build-out's report: the Gantt chart, the capacity and energy bars, the week of
    dispatch and the energy by typical day (their <title>s name them)."""
    fills = re.findall(rf'fill="(#[0-9a-f]{{6}})"><title>(?:[^<]*: )?(?:{"|".join(names)})', html)
    gantt = [f for f in re.findall(rf'fill="(#[0-9a-f]{{6}})"><title>{names[0]}', html)]
    assert gantt and len(fills) > len(gantt) + 2 and len(set(fills)) == 1, (names, fills)


@pytest.mark.slow  # 35 s; the gigawatt example's owned turbines are checked in test_examples.py
def test_a_rented_unit_has_one_colour_in_every_chart(tmp_path):
    """Rented units in every chart, not the Gantt alone: memphis rents in its last periods."""
    html = (plan_example(tmp_path, "memphis-colossus") / "report.html").read_text()
    assert_one_colour_per_technology(html, ("Solar Turbines SMT-130", "gas smt130 rented"))


def test_gantt_labels_are_cut_between_words(buildout):
    """A long label wraps onto a second line and is cut after a whole word, keeping its
    quantity in view; the whole label is its tooltip."""
    plan = yaml.safe_load((buildout / "plan.yaml").read_text())
    long = ("GE LM6000PF aeroderivative gas turbine package (simple cycle, SPRINT water injection, dual fuel, "
            "trailer-mounted, black start)")
    plan["timeline"]["orders"][0]["label"] = long
    (buildout / "plan.yaml").write_text(yaml.safe_dump(plan, sort_keys=False))
    gantt = re.search(r'aria-label="orders and bridges over the build-out".*?</svg>',
                      render(load_folder(buildout))).group(0)
    label = re.search(r'<text [^>]*text-anchor="end">((?:<tspan[^>]*>[^<]*</tspan>)+)<title>([^<]*)</title>',
                      gantt)
    lines = re.findall(r">([^<]*)</tspan>", label.group(1))
    assert len(lines) == 2 and label.group(2) == f"{long} ×4 units"
    shown = " ".join(lines)
    head, tail = shown.split("…")
    assert tail == " ×4 units" and long.startswith(head) and long[len(head)] in " ,"
    assert all(len(line) <= 46 for line in lines)
    assert ">mobile gas turbines (rented) ×15 units<" in gantt  # a short one stays on one line, whole


def test_report_links_its_data_files(buildout, runner):
    """The report links the CSVs beside it by relative addresses, also when it is written elsewhere."""
    (buildout / "timeline.csv").write_text("period\n")
    html = render(load_folder(buildout))
    assert '<a href="dispatch.csv">' in html and '<a href="timeline.csv">' in html
    out = buildout.parent / "elsewhere" / "r.html"
    assert run_cli(runner, "report", buildout, "-o", out).exit_code == 0
    html = out.read_text()
    assert '<a href="../buildout/dispatch.csv">' in html and '<a href="../buildout/timeline.csv">' in html
    assert not EXTERNAL.search(html) and str(buildout) not in re.findall(r'href="([^"]*)"', html)


def test_a_plan_without_its_optional_lists_still_reports(buildout, tmp_path, runner):
    """What the one reader lets pass (no bridges, no capacity online), the report can draw."""
    folder = tmp_path / "copy"
    shutil.copytree(buildout, folder)
    plan = yaml.safe_load((folder / "plan.yaml").read_text())
    del plan["timeline"]["bridges"]
    for period in plan["timeline"]["periods"]:
        del period["capacity_online"]
    (folder / "plan.yaml").write_text(yaml.safe_dump(plan, sort_keys=False))
    for command in ("report", "show"):
        result = run_cli(runner, command, folder)
        assert result.exit_code == 0, result.output


def test_the_smoothing_section_shows_the_minute_ramp_in_force_and_the_spectral_mask(buildout):
    """A %/min ramp of a stated capacity tighter than the MW/min one is the limit shown (1 % of
    400 MW = 4 MW/min, not 8), and each band of a spectral mask is a row with its amplitudes."""
    data = yaml.safe_load((buildout / "smoothing.yaml").read_text())
    data["limits"].update(ramp_up_mw_per_min=8.0, ramp_up_pct_per_min=1.0, capacity_mw=400.0,
                          spectral_mask_max_amplitude_mw={"0.1-1 Hz": 2.0})
    data["before"].update(ramp_up_mw_per_min=15.12, spectral_amplitude_mw={"0.1-1 Hz": 3.43})
    data["after"].update(ramp_up_mw_per_min=4.0, spectral_amplitude_mw={"0.1-1 Hz": 0.7})
    (buildout / "smoothing.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    html = render(load_folder(buildout))
    smoothing = html[html.index('<section id="smoothing">'):html.index('<section id="inputs">')]
    row = smoothing[smoothing.index("ramp up per minute (MW/min)"):]
    assert row.index("≤ 4.00") < row.index("15.12")  # the limit in force, then before and after
    band = smoothing[smoothing.index("amplitude 0.1-1 Hz (MW)"):]
    assert band.index("≤ 2.00") < band.index("3.43") < band.index("0.70")


def test_plan_report_names_the_plans_folder_and_is_the_same_each_run(tmp_path, runner):
    site = write_yaml(tmp_path / "site.yaml", base_site())
    texts = []
    for _ in range(2):
        assert run_cli(runner, "plan", site, "--typical-days", "1", "-q", "--report", "-o", tmp_path / "out").exit_code == 0
        texts.append((tmp_path / "out" / "report.html").read_text())
    assert f"to {tmp_path / 'out'}</p>" in texts[0] and "staging" not in texts[0]
    assert texts[0] == texts[1]


def test_a_builtin_catalog_file_is_named_the_same_wherever_dcplan_is_installed(tmp_path, monkeypatch):
    import dcplan
    from dcplan.errors import display_path

    catalog = Path(dcplan.__file__).parent / "catalog" / "data" / "generators.yaml"
    for folder in (tmp_path, catalog.parents[3], catalog.parents[4]):  # elsewhere, and above the install
        monkeypatch.chdir(folder)
        assert display_path(catalog) == "dcplan/catalog/data/generators.yaml", folder


def test_a_plan_that_imports_nothing_reports_without_a_warning(tmp_path, runner):
    """Shares of the hours the grid imported were worked out over none (0/0: numpy's
    RuntimeWarning printed with its source line) before being left out."""
    import warnings

    site = base_site(fuel={"gas_price_usd_per_mmbtu": 1.0},
                     technologies={"gas": [{"type": "wartsila_18v50sg", "max_units": 4}]})
    site["grid"]["energy_price_usd_per_mwh"] = 900.0
    out = tmp_path / "out"
    assert run_cli(runner, "plan", write_yaml(tmp_path / "site.yaml", site), "--typical-days", "2",
                   "-o", out, "-q").exit_code == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        html = render(load_folder(out))
    assert "imported in 0% of hours" in html


def test_a_build_out_weeks_days_stand_for_days_of_their_period(buildout):
    """A period's weights are a yearly rate (150 and 215 days of a year here): in a quarter its two
    typical days stand for 37.5 and 53.75 of its days, as labelled (it read ×150 and ×215)."""
    from dcplan.report.data import typical_week

    week = typical_week(load_folder(buildout), "memphis")
    assert [day.split("×")[1] for day in week.days] == ["38", "54"]


def test_numbers_for_people_round_before_they_choose_their_unit_and_count_their_nouns():
    """$999.96 M had printed as '$1,000.0 M' (an audit); '1 rounds', '1 scenarios' as counted."""
    from dcplan.formatting import counted

    assert money(999.96e6) == "$1.00 B" and money(999.94e6) == "$999.9 M" and money(1.5e9) == "$1.50 B"
    assert counted(1, "round") == "1 round" and counted(0, "round") == "0 rounds"
    assert counted(1234, "scenario") == "1,234 scenarios"



def test_a_data_input_is_listed_with_its_state_whatever_its_size(tmp_path, monkeypatch):
    """A CSV the plan was made from is hashed, not embedded, even past the embedding limit (a
    large price file had been 'too large to embed', its change never told)."""
    import dcplan.report.data as data

    monkeypatch.setattr(data, "EMBED_LIMIT_BYTES", 16)
    (tmp_path / "out" / "inputs").mkdir(parents=True)
    csv = tmp_path / "out" / "inputs" / "price.csv"
    csv.write_text("hour,price_usd_per_mwh\n" + "".join(f"{h},40\n" for h in range(8760)))
    summary = {"inputs": [{"path": "inputs/price.csv", "sha256": hashlib.sha256(csv.read_bytes()).hexdigest()}]}
    [listed] = data._inputs(tmp_path / "out", summary)
    assert listed.text is None and listed.note == "data, not embedded: as when the plan was made"
    csv.write_text(csv.read_text().replace("0,40", "0,41", 1))
    [listed] = data._inputs(tmp_path / "out", summary)
    assert listed.note == "data, not embedded: changed since the plan was made"
