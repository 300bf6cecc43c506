"""`dcplan check`: committed plans are verified against the current inputs without re-optimising;
a change that breaks a plan is reported at the file, line and key of the input that breaks it;
every exit code has a test; the GitHub and JUnit outputs follow their specifications; and the
explanation of an infeasible program names the limit that conflicts."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import REPO, base_site, daily, run_cli, write_csv, write_yaml
from typer.testing import CliRunner

from dcplan.catalog import builtin_catalog
from dcplan.checks import check_paths, render
from dcplan.checks.formats import escape_data, escape_property
from dcplan.checks.report import (
    INFEASIBLE,
    INVALID,
    PASS,
    SOLVER,
    VIOLATION,
    WARNING,
    CheckReport,
    FileReport,
)
from dcplan.locate import Where

SITE = "site.yaml"
CAT = builtin_catalog()


def grid_site() -> dict:
    """20,000 H100 (24.5 MW at PUE 1.2) on a grid that gives 10 MW until a step to 60 MW in 2026."""
    site = base_site()
    site["grid"] = {"max_import_mw": 10, "energy_price_usd_per_mwh": 50,
                    "steps": [{"date": "2026-06-01", "max_import_mw": 60}]}
    site["compute"] = {"gpus": [{"model": "h100_sxm", "max_gpus": 30000}], "target": {"gpus": 20000}}
    site["caps"] = [{"name": "permit-gpus", "quantity": "gpus", "max": 25000, "source": "test permit 2026"}]
    return site


@pytest.fixture(scope="module")
def planned(tmp_path_factory) -> Path:
    """A site file and its committed plan (plans/testsite/), planned once."""
    root = tmp_path_factory.mktemp("committed")
    write_yaml(root / SITE, grid_site())
    result = run_cli(CliRunner(), "plan", root / SITE, "--typical-days", "2", "-o", root / "plans" / "testsite", "-q")
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def repo(planned, tmp_path) -> Path:
    """A fresh copy of the planned folder for a test to change."""
    shutil.copytree(planned, tmp_path / "repo")
    return tmp_path / "repo"


def edit(path: Path, change) -> Path:
    data = yaml.safe_load(path.read_text())
    change(data)
    return write_yaml(path, data)


def line_of(path: Path, fragment: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if fragment in line)


def failures(report: CheckReport, status: str = VIOLATION):
    return [f for fr in report.files for f in fr.findings if f.status == status]


# --- committed plans that fit ----------------------------------------------------------------

def test_sample_sites_with_committed_plans_pass_in_seconds():
    report = check_paths([REPO / "sites"])
    assert report.exit_code == 0, render(report, "text")
    assert sorted(fr.name for fr in report.files) == ["alberta", "johor", "memphis", "mojave"]
    assert all(fr.mode == "verified" and fr.plan for fr in report.files)  # no solve: plans/ is committed
    assert report.seconds < 10


def test_committed_plan_that_still_fits_passes(runner, repo):
    result = run_cli(runner, "check", repo)
    assert result.exit_code == 0, result.output
    assert "ok: " in result.output and "plan" in result.output and "verified" in result.output


def test_a_plan_that_no_longer_fits_reads_checked_not_verified(runner, repo):
    edit(repo / SITE, lambda d: d["compute"]["target"].update(gpus=25000))
    result = run_cli(runner, "check", repo)
    assert result.exit_code == 1 and "plans/testsite checked)" in result.output, result.output
    assert "verified)" not in result.output


def test_a_hand_edited_plan_file_is_violated_at_the_key_edited(repo, runner):
    """A GPU count or a total edited in plan.yaml had passed: the build checks read `gpus`, the
    model's evaluation `gpus_new`, and nothing added the totals up (a fuzzing review's case)."""
    plan = repo / "plans" / "testsite" / "plan.yaml"
    edit(plan, lambda d: d["sites"]["testsite"]["gpus"].update(h100_sxm=10))
    v, *totals = failures(check_paths([repo]))  # and the totals made of the site: its GPUs, $/GPU-hour
    assert (v.check, v.where.line, v.where.key) == ("plan figures", line_of(plan, "h100_sxm: 10"),
                                                     "sites.testsite.gpus.h100_sxm")
    assert {t.where.key for t in totals} == {"totals.gpus", "totals.cost_usd_per_gpu_hour"}
    assert "plan.yaml has 10 h100_sxm GPUs at testsite, but 20,000 new and the 0 the site has make 20,000" in v.message
    edit(plan, lambda d: d["sites"]["testsite"]["gpus"].update(h100_sxm=20000)
         or d["totals"].update(total_cost_usd_per_year=1.0e12))
    [v] = failures(check_paths([repo]))
    assert v.where.key == "totals.total_cost_usd_per_year" and "its cost lines add up to $" in v.message
    # cost lines are written to the dollar and add up exactly: $706 off is an edit, not round-off
    # (it had passed within a relative 1e-5, $2,277 on a $228 M total: a docs review's case)
    lines = yaml.safe_load(plan.read_text())["cost_breakdown_usd_per_year"]
    edit(plan, lambda d: d["totals"].update(total_cost_usd_per_year=sum(v for v in lines.values() if v) - 706))
    [v] = failures(check_paths([repo]))
    assert v.where.key == "totals.total_cost_usd_per_year"
    edit(plan, lambda d: d["cost_breakdown_usd_per_year"].update(gpus=lines["gpus"] + 706))
    assert "cost_breakdown_usd_per_year.gpus" in {f.where.key for f in failures(check_paths([repo]))}
    edit(plan, lambda d: d.update(totals="broken"))
    result = run_cli(runner, "check", repo)
    assert result.exit_code == 2 and "plan.yaml:" in result.output and "totals: input should be a valid dictionary" \
        in " ".join(result.output.split())


def test_a_sites_figures_are_those_its_committed_build_and_dispatch_make(repo, runner, tmp_path):
    """Units in use, MW, energy, emissions and water follow from the committed build: an edited
    one had passed (a fuzz review set a grid limit and a gas fleet to 0). Units in use that are not
    the new and existing ones are a violation, as for GPUs; a figure the model reads otherwise
    today is a warning (edited, or an input changed), but not beside a violation."""
    plan = repo / "plans" / "testsite" / "plan.yaml"
    written = yaml.safe_load(plan.read_text())["sites"]["testsite"]
    edit(plan, lambda d: d["sites"]["testsite"]["capacity"].update(grid_limit_mw=0))
    [warning] = [f for f in failures(check_paths([repo]), WARNING) if f.check == "built figures"]
    assert warning.where.key == "sites.testsite.capacity.grid_limit_mw"
    assert f"0 in plan.yaml, but the committed build and dispatch make {written['capacity']['grid_limit_mw']:,.6g}" \
        in warning.message
    edit(plan, lambda d: d["sites"]["testsite"]["capacity"].update(grid_limit_mw=written["capacity"]["grid_limit_mw"])
         or d["sites"]["testsite"].update(water_m3_per_year="x"))
    result = run_cli(runner, "check", repo)
    assert result.exit_code == 2 and "water_m3_per_year: input should be a valid number" in result.output
    shutil.copytree(REPO / "sites", tmp_path / "sample" / "sites")
    shutil.copytree(REPO / "plans", tmp_path / "sample" / "plans")
    memphis = tmp_path / "sample" / "plans" / "memphis" / "plan.yaml"
    edit(memphis, lambda d: d["sites"]["memphis"]["capacity"].update(gas_wartsila_18v50sg_units=0))
    [v] = failures(check_paths([tmp_path / "sample" / "sites" / "memphis.yaml"]))
    assert (v.check, v.where.key) == ("plan figures", "sites.memphis.capacity.gas_wartsila_18v50sg_units")
    assert "0 wartsila_18v50sg units in use at memphis, but 10 new and the 0 the site has make 10" in v.message
    assert all(f.check != "built figures" for f in failures(check_paths([tmp_path / "sample" / "sites"]), WARNING))
    # an input that breaks the plan is named at its line, not again at the figure it moved
    johor = tmp_path / "sample" / "sites" / "johor.yaml"
    johor.write_text(johor.read_text().replace("max_import_mw: 100 ", "max_import_mw: 20 ", 1))
    found = check_paths([johor]).files[0].findings
    assert {f.where.key for f in found if f.status == VIOLATION} == {"grid.max_import_mw"}
    assert all(f.check != "built figures" for f in found)


def test_an_edited_headline_figure_fails_at_its_key_and_an_impossible_status_is_no_plan(repo, runner):
    """Each total is what the plan's sites and dispatch make (Plan.key_figures), and
    compute_delivered what its GPUs deliver: GPUs, CO2, energy, $/GPU-hour and the compute
    edited by one part in 100,000 or less had been verified (an audit's case)."""
    plan = repo / "plans" / "testsite" / "plan.yaml"
    original = plan.read_text()
    for key, change in (("gpus", lambda x: x + 1), ("co2_t_per_year", lambda x: 1.0),
                        ("facility_energy_mwh_per_year", lambda x: x * 1.001),
                        ("cost_usd_per_gpu_hour", lambda x: x * 1.01), ("it_mw", lambda x: x * 2)):
        plan.write_text(original)
        edit(plan, lambda d: d["totals"].update({key: change(d["totals"][key])}))
        [v] = failures(check_paths([repo]))
        assert (v.check, v.where.key) == ("plan figures", f"totals.{key}"), (key, v)
        assert "the plan's sites and dispatch make it" in v.message and v.where.line > 1
    plan.write_text(original)
    edit(plan, lambda d: d.update(compute_delivered=d["compute_delivered"] - 1))
    [v] = failures(check_paths([repo]))
    assert (v.check, v.where.key) == ("compute target", "compute_delivered") and "19,999" in v.message
    plan.write_text(original)
    edit(plan, lambda d: d["solution"].update(status="infeasible"))
    result = run_cli(runner, "check", repo)
    assert result.exit_code == 2 and "solution.status" in result.output
    plan.write_text(original)
    assert check_paths([repo]).exit_code == 0


# --- a change in the input breaks the plan, at its line --------------------------------------

def test_lower_cap_fails_at_the_cap_line(repo):
    site = edit(repo / SITE, lambda d: d["caps"][0].update(max=15000))
    report = check_paths([repo])
    assert report.exit_code == 1
    [v] = failures(report)
    assert v.check == "cap permit-gpus"
    assert (v.where.file, v.where.line, v.where.key) == (str(site), line_of(site, "max: 15000"), "caps[0].max")
    assert "20,000" in v.message and "15,000 by 5,000" in v.message and "test permit 2026" in v.message


def test_higher_gpu_target_fails_at_the_target_line(repo):
    site = edit(repo / SITE, lambda d: d["compute"]["target"].update(gpus=24000))
    [v] = failures(check_paths([repo]))
    assert (v.where.line, v.where.key) == (line_of(site, "gpus: 24000"), "compute.target.gpus")
    assert "20,000 GPUs" in v.message and "4,000 short" in v.message


def test_fewer_allowed_gpus_fail_at_max_gpus(repo):
    site = edit(repo / SITE, lambda d: d["compute"]["gpus"][0].update(max_gpus=15000))
    [v] = failures(check_paths([repo]))
    assert (v.where.line, v.where.key) == (line_of(site, "max_gpus: 15000"), "compute.gpus[0].max_gpus")
    assert "5,000 too many" in v.message


def test_later_grid_date_fails_at_the_step_date(repo):
    site = edit(repo / SITE, lambda d: d["grid"]["steps"][0].update(date="2027-06-01"))
    report = check_paths([repo])
    assert report.exit_code == 1
    found = failures(report)
    grid = next(f for f in found if f.check == "grid schedule testsite")
    assert (grid.where.line, grid.where.key) == (line_of(site, "2027-06-01"), "grid.steps[0].date")
    assert "the grid allows 10.0 MW on 2027-01-01" in grid.message and "now comes on 2027-06-01" in grid.message
    # the build cannot be re-dispatched either: no other source can carry the load
    assert any(f.check == "re-dispatch" and "infeasible" in f.message for f in found)
    # its cost lines move with the dispatch today's limits hold back, not with their prices: not
    # blamed on a price (a lower grid limit read as a demand charge that fell 36 %)
    costs = [f for f in report.files[0].findings if f.check == "costs testsite"]
    assert [f.status for f in costs] == ["skipped"] and "breaks today's limits" in costs[0].message


def test_higher_pue_with_headroom_is_a_stale_dispatch_warning(repo):
    site = edit(repo / SITE, lambda d: d["cooling"][0].update(pue=1.3))
    report = check_paths([repo])
    assert report.exit_code == 0, render(report, "text")
    warned = failures(report, WARNING)
    load = next(f for f in warned if f.check == "load every hour testsite")
    assert (load.where.line, load.where.key) == (line_of(site, "pue: 1.3"), "cooling[0].pue")
    assert "re-dispatch" in load.message and "still fits" in load.message


def test_pue_beyond_the_grid_fails_even_after_redispatch(repo):
    site = edit(repo / SITE, lambda d: d["cooling"][0].update(pue=3.0))
    report = check_paths([repo])
    assert report.exit_code == 1
    load = next(f for f in failures(report) if f.check == "load every hour testsite")
    assert load.where.line == line_of(site, "pue: 3.0")
    assert "now draws 85.0 MW" in load.message  # 20,000 x (1,275 + 141.7) W x 3.0


def test_shedding_allowed_since_the_plan_does_not_make_up_a_shortfall(repo):
    """The supply is what the committed dispatch delivers as today's model sums it: a source the
    plan did not dispatch (here load shedding, priced since) delivered nothing."""
    def change(d):
        d["cooling"][0].update(pue=3.0)
        d.setdefault("reliability", {})["unserved_energy_usd_per_mwh"] = 10_000
    edit(repo / SITE, change)
    report = check_paths([repo])
    # a re-dispatch may now shed (at a price): a stale dispatch, no longer a broken build
    load = next(f for f in failures(report, WARNING) if f.check == "load every hour testsite")
    assert "supplies 34.0 MW" in load.message and "now draws 85.0 MW" in load.message


def test_power_capping_the_plan_did_not_take_does_not_lower_the_load(tmp_path, runner):
    """GPU power capped is a figure of several columns (the curve's segments), held at the plan's
    value: the check does not cap the GPUs to make up for a load the dispatch no longer meets."""
    site = grid_site()
    site["compute"]["power_capping"] = {"value_usd_per_gpu_hour": 1e6}  # never worth capping
    path = write_yaml(tmp_path / SITE, site)
    assert run_cli(runner, "plan", path, "--typical-days", "2", "-o", tmp_path / "plans" / "testsite",
                   "-q").exit_code == 0
    edit(path, lambda d: d["cooling"][0].update(pue=3.0))
    report = check_paths([tmp_path])
    assert report.exit_code == 1
    load = next(f for f in failures(report) if f.check == "load every hour testsite" and "draws" in f.message)
    assert "now draws 85.0 MW" in load.message  # all of it: 20,000 x (1,275 + 141.7) W x 3.0
    assert not any("deeper than the curve allows" in f.message for f in failures(report))


def test_a_plan_capping_to_the_full_depth_still_fits_a_lower_draw(tmp_path, runner):
    """The plan's GPU power capped is held as a most: where the GPUs now draw less (so the
    curve's depth in MW is smaller), capping less is no break of the curve."""
    write_csv(tmp_path / "price.csv", {"price": daily([40.0] * 17 + [5000.0] * 3 + [40.0] * 4)})
    site = base_site()
    site["grid"]["energy_price_usd_per_mwh"] = {"csv": "price.csv"}
    site["compute"] = {"gpus": [{"model": "h100_sxm"}], "target": {"gpus": 1000},
                       "power_capping": {"value_usd_per_gpu_hour": 0.5}}
    path = write_yaml(tmp_path / SITE, site)
    assert run_cli(runner, "plan", path, "--typical-days", "1", "-o", tmp_path / "plans" / "testsite",
                   "-q").exit_code == 0
    dispatch = (tmp_path / "plans" / "testsite" / "dispatch.csv").read_text().splitlines()  # caps at the spikes
    column = dispatch[0].split(",").index("gpu_capped_mw")
    assert max(float(line.split(",")[column]) for line in dispatch[1:]) > 0.1
    edit(path, lambda d: d["compute"].update(average_draw_fraction=0.8))
    report = check_paths([tmp_path])
    assert not any("deeper than the curve allows" in f.message for fr in report.files for f in fr.findings), render(report, "text")
    assert report.exit_code == 0, render(report, "text")


def test_a_plan_the_model_cannot_evaluate_in_time_is_a_warning_not_a_crash(repo, monkeypatch):
    import dcplan.checks.verify as verify

    monkeypatch.setattr(verify, "evaluate_committed", lambda *args, **kwargs: None)  # as past its time limit
    report = check_paths([repo])
    warned = [f for f in failures(report, WARNING) if f.check == "model rows"]
    assert warned and "could not be evaluated" in warned[0].message
    assert not any(f.check == "load every hour testsite" and f.status == PASS for fr in report.files for f in fr.findings)


def test_catalog_price_change_is_a_cost_warning_with_its_source(repo):
    site = edit(repo / SITE, lambda d: d.update(catalog={"gpus": {"h100_sxm": {"price_usd_per_gpu": 60000}}}))
    report = check_paths([repo])
    assert report.exit_code == 0
    [w] = [f for f in failures(report, WARNING) if f.check == "costs testsite"]
    assert w.message.startswith("gpus: ") and "+22.4%" in w.message  # 60,000 / 49,000
    assert (w.where.line, w.where.key) == (line_of(site, "price_usd_per_gpu: 60000"),
                                           "catalog.gpus.h100_sxm.price_usd_per_gpu")
    assert "override in" in w.message  # the value's source


def test_a_fuel_price_warning_names_the_heat_rates_of_the_units_the_plan_runs_only(tmp_path):
    """Memphis may build Wärtsilä engines and LM6000s; its plan runs engines alone."""
    import shutil

    shutil.copytree(REPO / "sites", tmp_path / "sites")
    shutil.copytree(REPO / "plans", tmp_path / "plans")
    path = tmp_path / "sites" / "memphis.yaml"
    path.write_text(path.read_text().replace("gas_price_usd_per_mmbtu: 4.00", "gas_price_usd_per_mmbtu: 9.00"))
    [w] = [f for f in failures(check_paths([path], tmp_path / "plans"), WARNING) if f.message.startswith("gas_fuel")]
    assert "wartsila_18v50sg.heat_rate" in w.message and "lm6000" not in w.message


def test_smaller_gas_units_fail_the_dispatch_at_the_catalog_override(tmp_path, runner):
    site = base_site()
    site["grid"]["max_import_mw"] = 5
    site["fuel"] = {"gas_price_usd_per_mmbtu": 3.0}
    site["technologies"] = {"gas": [{"type": "wartsila_18v50sg", "max_units": 2}]}
    site["compute"]["target"] = {"gpus": 20000}
    path = write_yaml(tmp_path / SITE, site)
    assert run_cli(runner, "plan", path, "--typical-days", "2", "-o", tmp_path / "plans" / "testsite",
                   "-q").exit_code == 0
    edit(path, lambda d: d.update(catalog={"generators": {"wartsila_18v50sg": {"unit_mw": 9}}}))
    found = failures(check_paths([tmp_path]))
    gas = next(f for f in found if f.check == "load every hour testsite" and "wartsila" in f.message)
    assert (gas.where.line, gas.where.key) == (line_of(path, "unit_mw: 9"),
                                               "catalog.generators.wartsila_18v50sg.unit_mw")
    assert "above 2 units x 9 MW" in gas.message
    assert any(f.check == "re-dispatch" for f in found)  # 5 + 18 MW cannot carry 24.5 MW



def test_hours_outside_the_typical_days_above_every_source_are_a_warning(tmp_path, runner):
    """A typical-days plan is held, hour by hour over the whole year, against the most each
    source can deliver as the model's technologies state it: a hotter climate outside the plan's
    days lifts the load above the grid there (grid alone: its limit), and nowhere else."""
    import numpy as np

    write_csv(tmp_path / "weather.csv", {"ambient_temp_c": np.full(8760, 10.0)})
    site = base_site()
    site["cooling"] = [{"type": "air_economizer",
                        "pue": {"curve": [[10, 1.2], [40, 1.6]], "against": {"csv": "weather.csv"}}}]
    path = write_yaml(tmp_path / SITE, site)
    folder = tmp_path / "plans" / "testsite"
    assert run_cli(runner, "plan", path, "--typical-days", "2", "-o", folder, "-q").exit_code == 0
    rows = [line.split(",") for line in (folder / "dispatch.csv").read_text().splitlines()]
    load = max(float(r[rows[0].index("load_mw")]) for r in rows[1:])
    planned_hours = {int(r[rows[0].index("hour_of_year")]) for r in rows[1:]}
    edit(path, lambda d: d["grid"].update(max_import_mw=round(1.1 * load, 3)))
    stale = failures(check_paths([tmp_path]), WARNING)  # every hour within 1.1x the planned load; the
    assert [f.where.key for f in stale] == ["sites.testsite.capacity.grid_limit_mw"]  # limit written is stale
    hot = np.full(8760, 10.0)
    outside = sorted(set(range(8760)) - planned_hours)
    hot[outside[:5]] = 40.0  # PUE 1.6: the load 4/3 of the planned one, in five hours the plan does not dispatch
    write_csv(tmp_path / "weather.csv", {"ambient_temp_c": hot})
    assert not failures(check_paths([tmp_path]))  # the committed days are as they were
    found = [f for f in failures(check_paths([tmp_path]), WARNING) if "which the plan's typical days stand for" in f.message]
    assert len(found) == 1
    assert f"draws up to {load * 1.6 / 1.2:,.1f} MW (hour {outside[0]} of the year)" in found[0].message
    assert f"grid {1.1 * load:,.1f}" in found[0].message and "over the year, which" in found[0].message and "short in 5 h:" in found[0].message


def test_power_caps_count_toward_what_the_plan_can_serve_over_the_year(tmp_path, runner):
    """As above, with GPU power capping: the deepest cap takes 0.49 x 700 W of each H100's
    1,416.7 W of IT, so the load of hours at PUE 1.6, 1.6 x IT, falls to 1.6 x 0.758 = 1.21 x IT,
    within the grid's 1.1 x 1.2 x IT: no warning (one had been raised, capping left out)."""
    import numpy as np

    write_csv(tmp_path / "weather.csv", {"ambient_temp_c": np.full(8760, 10.0)})
    site = base_site()
    site["cooling"] = [{"type": "air_economizer",
                        "pue": {"curve": [[10, 1.2], [40, 2.0]], "against": {"csv": "weather.csv"}}}]
    write_yaml(tmp_path / SITE, site)
    program = write_yaml(tmp_path / "capped.yaml", {
        "kind": "program", "name": "capped", "sites": [SITE], "time": {"typical_days": 2},
        "compute": {"gpus": [{"model": "h100_sxm"}], "target": {"gpus": 1000},
                    "power_capping": {"value_usd_per_gpu_hour": 2.0}}})
    folder = tmp_path / "plans" / "capped"
    assert run_cli(runner, "plan", program, "-o", folder, "-q").exit_code == 0
    rows = [line.split(",") for line in (folder / "dispatch.csv").read_text().splitlines()]
    load = max(float(r[rows[0].index("load_mw")]) for r in rows[1:])
    planned_hours = {int(r[rows[0].index("hour_of_year")]) for r in rows[1:]}
    edit(tmp_path / SITE, lambda d: d["grid"].update(max_import_mw=round(1.1 * load, 3)))
    hot = np.full(8760, 10.0)
    hot[sorted(set(range(8760)) - planned_hours)[:5]] = 25.0  # PUE 1.6
    write_csv(tmp_path / "weather.csv", {"ambient_temp_c": hot})
    assert not failures(check_paths([program]))
    assert not [f for f in failures(check_paths([program]), WARNING) if "typical days stand for" in f.message]
    hot[hot == 25.0] = 40.0  # PUE 2.0: 2.0 x 0.758 = 1.52 x IT, beyond the grid even capped
    write_csv(tmp_path / "weather.csv", {"ambient_temp_c": hot})
    found = [f for f in failures(check_paths([program]), WARNING) if "typical days stand for" in f.message]
    assert len(found) == 1 and "power capping" in found[0].message, found


def test_a_buildout_periods_hours_outside_its_typical_days_are_held_to_that_periods_capacity(tmp_path, runner):
    """The same hold for each period of a build-out on typical days, over that period's own months
    (it once ran for single-period plans alone: a review found a quarter 17 MW short for 140 h)."""
    import numpy as np

    write_csv(tmp_path / "weather.csv", {"ambient_temp_c": np.full(8760, 10.0)})
    site = base_site()
    site["cooling"] = [{"type": "air_economizer", "lead_time_months": 0,
                        "pue": {"curve": [[10, 1.2], [40, 1.6]], "against": {"csv": "weather.csv"}}}]
    site["compute"] = {"gpus": [{"model": "h100_sxm", "lead_time_months": 0}]}
    write_yaml(tmp_path / SITE, site)
    program = write_yaml(tmp_path / "staged.yaml", {
        "kind": "program", "name": "staged", "sites": [SITE], "time": {"typical_days": 2},
        "horizon": {"start": "2026-01-01", "years": 1},
        "buildout": {"period": "quarter", "targets": [{"date": "2026-01-01", "gpus": 10000}]}})
    folder = tmp_path / "plans" / "staged"
    assert run_cli(runner, "plan", program, "-o", folder, "-q").exit_code == 0
    rows = [line.split(",") for line in (folder / "dispatch.csv").read_text().splitlines()]
    q3 = [r for r in rows[1:] if r[rows[0].index("period")] == "2026-Q3"]
    load = max(float(r[rows[0].index("load_mw")]) for r in q3)
    planned_hours = {int(r[rows[0].index("hour_of_year")]) for r in rows[1:]}
    edit(tmp_path / SITE, lambda d: d["grid"].update(max_import_mw=round(1.1 * load, 3)))
    assert not [f for f in failures(check_paths([program]), WARNING) if "typical days stand for" in f.message]
    hot = np.full(8760, 10.0)
    august = [h for h in range(212 * 24, 243 * 24) if h not in planned_hours]  # hours of August (2026-Q3)
    hot[august[:5]] = 40.0
    write_csv(tmp_path / "weather.csv", {"ambient_temp_c": hot})
    found = [f for f in failures(check_paths([program]), WARNING) if "which the plan's typical days stand for" in f.message]
    assert len(found) == 1, found
    assert "over its months in 2026-Q3," in found[0].message and f"(hour {august[0]} of the year)" in found[0].message
    assert "short in 5 h:" in found[0].message


def test_a_constraint_family_added_in_the_model_alone_is_checked_at_its_input(tmp_path, runner, monkeypatch):
    """One model: a family of rows added to ``model/`` with its explanation (here a hot-day
    derating of the gas units to 30 % of their size) is held against committed plans by `dcplan
    check` with no code in ``check/``; the plan made without it breaks it, at the input named."""
    import pyomo.environ as pyo

    import dcplan.model.build as build

    site = base_site()
    site["grid"]["max_import_mw"] = 5
    site["fuel"] = {"gas_price_usd_per_mmbtu": 3.0}
    site["technologies"] = {"gas": [{"type": "wartsila_18v50sg", "max_units": 3}]}
    site["compute"]["target"] = {"gpus": 20000}
    path = write_yaml(tmp_path / SITE, site)
    assert run_cli(runner, "plan", path, "--typical-days", "2", "-o", tmp_path / "plans" / "testsite",
                   "-q").exit_code == 0
    assert not failures(check_paths([tmp_path]))  # the plan fits today's model
    add_gas = build.add_gas

    def add_gas_derated(sm):
        add_gas(sm)
        b, unit_mw = sm.block, CAT.generators["wartsila_18v50sg"].unit_mw
        b.gas_derated = pyo.Constraint(b.K, sm.steps, rule=lambda m, k, t: m.gas_gen[k, t] <= 0.3 * unit_mw * m.gas_units[k])
        sm.explain(b.gas_derated, lambda k, t: (f"{k} output (MW) above its hot-day derating",
                                                ("site", "technologies", "gas", 0, "type")))

    monkeypatch.setattr(build, "add_gas", add_gas_derated)
    found = [f for f in failures(check_paths([tmp_path])) if "hot-day derating" in f.message]
    assert len(found) == 1 and found[0].check == "load every hour testsite"
    assert (found[0].where.file, found[0].where.line, found[0].where.key) == (
        str(path), line_of(path, "type: wartsila_18v50sg"), "technologies.gas[0].type")
    assert "over in" in found[0].message and "h/yr" in found[0].message

# --- a build-out's lead times (hand-written plan following the timeline contract) -------------

def _ramp_money(periods: list[dict]) -> dict:
    """The ramp's money as the model's arithmetic makes it (capital when ordered, at the default
    8 % discount rate; nothing running), so that the hand-written plan adds up."""
    from dcplan.formulas import discount_factor

    capital = {"2027": 6.5e7 + 1.96e8, "2028": 1.96e8, "2029": 0.0}
    base, npv, hours = dt.date(2027, 1, 1), 0.0, 0.0
    for p in periods:
        start = dt.date.fromisoformat(p["start"])
        p["spend_usd"]["capital"] = capital[p["name"]]
        npv += capital[p["name"]] * discount_factor(0.08, base, start)
        hours += discount_factor(0.08, base, start, 0.5) * 8760 * p["gpus_online"]["rampsite"]["h100_sxm"]
    return {"npv_cost_usd": npv, "capital_usd": sum(capital.values()), "cost_per_gpu_hour_usd": npv / hours}


def _ramp(root: Path) -> Path:
    """A one-site program ramping to 4,000 H100 in 2028 and 8,000 by 2029, with a committed
    build-out plan: cooling ordered 2027 (6-month lead time here), GPUs ordered 2027 and 2028
    (3 months), rented engines in 2028."""
    site = base_site(name="rampsite")
    site["grid"]["max_import_mw"] = 40
    site["cooling"][0]["lead_time_months"] = 6
    site["fuel"] = {"gas_price_usd_per_mmbtu": 3.0}
    site["technologies"] = {"gas": [{"type": "wartsila_18v50sg", "max_units": 2,
                                     "rental": {"usd_per_kw_month": 20, "lead_time_months": 2}}]}
    del site["compute"]
    write_yaml(root / "rampsite.yaml", site)
    program = {"kind": "program", "name": "ramp", "sites": ["rampsite.yaml"],
               "compute": {"gpus": [{"model": "h100_sxm"}]}, "horizon": {"start": "2027-01-01", "years": 3},
               "buildout": {"period": "year", "targets": [{"gpus": 8000, "date": "2029-01-01"}]},
               "time": {"typical_days": 1}}
    write_yaml(root / "ramp.yaml", program)
    it_mw = 8000 * CAT.gpus["h100_sxm"].design_w_per_gpu / 1e6
    periods, rows = [], ["period,site,step,hour_of_year,weight,load_mw,pue,grid_mw,gas_wartsila_18v50sg_rented_mw"]
    for year, gpus in ((2027, 0), (2028, 4000), (2029, 8000)):
        it = it_mw * gpus / 8000
        periods.append({"name": str(year), "start": f"{year}-01-01", "end": f"{year}-12-31",
                        "target": 8000.0 if year == 2029 else None, "compute_online": float(gpus),
                        "gpus_online": {"rampsite": {"h100_sxm": gpus}},
                        "capacity_online": {"rampsite": {"grid_mw": 40.0, "gas_mw": 0.0, "rental_gas_mw": 0.0,
                                                         "solar_mw": 0.0, "wind_mw": 0.0, "battery_mw": 0.0,
                                                         "battery_mwh": 0.0, "it_mw": it}},
                        "spend_usd": {"capital": 0.0, "operating": 0.0, "rental": 0.0},
                        "energy_mwh": {"grid": 1.2 * it * 8760}, "co2_t": 0.0})
        rows += [f"{year},rampsite,{h},{h},365,{1.2 * it:.4f},1.2,{1.2 * it:.4f},0" for h in range(24)]
    order = {"site": "rampsite", "online_period": "2029", "online_date": "2029-01-01", "retire_date": None}
    plan = {
        "dcplan_version": "0.1.0", "program": "ramp", "scenario": None, "objective": "min_cost",
        "time_resolution": {"method": "typical_days", "steps": 24, "typical_days": 1, "periods": 3,
                            "period_length": "year"},
        "target": {"measure": "gpus", "amount": 8000.0}, "compute_delivered": 8000.0, "caps": [],
        "timeline": {
            "period_length": "year", "base_date": "2027-01-01",
            "periods": periods,
            "orders": [{**order, "asset": "cooling:air_economizer", "label": "air hall", "quantity": it_mw,
                        "unit": "MW IT", "order_period": "2027", "order_date": "2027-01-01", "online_period": "2028",
                        "online_date": "2028-01-01", "capex_usd": 6.5e7},
                       {**order, "asset": "gpus:h100_sxm", "label": "H100 SXM", "quantity": 4000, "unit": "GPUs",
                        "order_period": "2027", "order_date": "2027-01-01", "online_period": "2028",
                        "online_date": "2028-01-01", "capex_usd": 1.96e8},
                       {**order, "asset": "gpus:h100_sxm", "label": "H100 SXM", "quantity": 4000, "unit": "GPUs",
                        "order_period": "2028", "order_date": "2028-01-01", "capex_usd": 1.96e8}],
            "bridges": [{"site": "rampsite", "asset": "rental_gas:wartsila_18v50sg", "label": "rented engines",
                         "quantity": 1, "unit": "units", "start_period": "2028", "start_date": "2028-01-01",
                         "end_period": "2028", "end_date": "2028-12-31", "cost_usd": 4.5e6}],
            "totals": _ramp_money(periods)},
        "sites": {"rampsite": {
            "country": "US", "gpus": {"h100_sxm": 8000}, "gpus_new": {"h100_sxm": 8000}, "cooling": "air_economizer",
            "it_mw": it_mw, "capacity": {"grid_limit_mw": 40.0, "gas_wartsila_18v50sg_rented_units": 0,
                                         "gas_wartsila_18v50sg_rented_new_units": 0, "gas_wartsila_18v50sg_rented_mw": 0},
            "costs_usd_per_year": {"gpus": 1.0e8}}},
    }
    (root / "plans" / "ramp").mkdir(parents=True)
    write_yaml(root / "plans" / "ramp" / "plan.yaml", plan)
    (root / "plans" / "ramp" / "dispatch.csv").write_text("\n".join(rows) + "\n")
    return root / "ramp.yaml"


def test_buildout_plan_within_lead_times_passes(tmp_path):
    report = check_paths([_ramp(tmp_path)])
    assert report.exit_code == 0, render(report, "text")
    checks = {f.check: f.status for f in report.files[0].findings}
    assert checks["lead times"] == PASS and checks["dated targets"] == PASS


def test_longer_gpu_lead_time_fails_at_its_line(tmp_path):
    program = edit(_ramp(tmp_path), lambda d: d["compute"]["gpus"][0].update(lead_time_months=18))
    first, v = failures(check_paths([program]))  # both GPU orders now arrive late
    assert first.check == v.check == "lead times" and "ordered 2027-01-01" in first.message
    assert (v.where.file, v.where.line, v.where.key) == (str(program), line_of(program, "lead_time_months: 18"),
                                                         "compute.gpus[0].lead_time_months")
    assert "ordered 2028-01-01 are planned online 2029-01-01" in v.message and "not before 2029-07-01" in v.message


def test_cap_in_force_in_an_earlier_period_is_checked_there(tmp_path):
    program = _ramp(tmp_path)
    site = edit(tmp_path / "rampsite.yaml", lambda d: d.update(caps=[{
        "name": "phase-one", "quantity": "gpus", "max": 3000, "in_force_until": "2029-01-01", "source": "test"}]))
    [v] = failures(check_paths([program]))
    assert v.check == "cap phase-one" and v.where.line == line_of(site, "max: 3000")
    assert "gpus at rampsite in 2028 is 4,000, above the maximum of 3,000 by 1,000" in v.message


def test_longer_catalog_lead_time_points_at_the_catalog_override(tmp_path):
    program = _ramp(tmp_path)
    site = edit(tmp_path / "rampsite.yaml",
                lambda d: d.update(catalog={"gpus": {"h100_sxm": {"lead_time_months": 15}}}))
    found = failures(check_paths([program]))
    assert len(found) == 2  # both GPU orders come too early now
    assert all((v.where.file, v.where.line) == (str(site), line_of(site, "lead_time_months: 15")) for v in found)
    assert "not before 2028-04-01" in found[0].message


def test_longer_rental_lead_time_fails_the_bridge(tmp_path):
    program = _ramp(tmp_path)
    site = edit(tmp_path / "rampsite.yaml", lambda d: d["technologies"]["gas"][0]["rental"].update(lead_time_months=14))
    [v] = failures(check_paths([program]))
    assert (v.where.line, v.where.key) == (line_of(site, "lead_time_months: 14"),
                                           "technologies.gas[0].rental.lead_time_months")
    assert "rented from 2028-01-01" in v.message and "not before 2028-03-01" in v.message


@pytest.fixture(scope="module")
def planned_buildout(tmp_path_factory) -> Path:
    """A real three-year build-out, planned once: cheap dirty gas against a clean dear grid under
    a CO2 budget over the horizon that binds, a GPU allocation and a yearly capital limit."""
    root = tmp_path_factory.mktemp("buildout")
    site = base_site(fuel={"gas_price_usd_per_mmbtu": 1.0},
                     technologies={"gas": [{"type": "wartsila_18v50sg", "max_units": 2, "lead_time_months": 0}]})
    site["grid"].update({"energy_price_usd_per_mwh": 200.0, "co2_t_per_mwh": 0.0})
    site["cooling"] = [{"type": "air_economizer", "pue": 1.2, "lead_time_months": 0}]
    site["compute"] = {"gpus": [{"model": "h100_sxm", "lead_time_months": 0, "max_new_gpus_per_period": 20000}]}
    write_yaml(root / "site.yaml", site)
    program = {"kind": "program", "name": "staged", "sites": ["site.yaml"], "time": {"typical_days": 2},
               "horizon": {"start": "2026-01-01", "years": 3},
               "buildout": {"period": "year", "targets": [{"date": "2026-01-01", "gpus": 10000}],
                            "max_capital_usd_per_year": 1.0e12},
               "caps": [{"name": "co2-budget", "quantity": "co2_t", "max": 100000, "period": "horizon",
                         "scope": {"sites": ["testsite"]}, "source": "test"}]}
    write_yaml(root / "staged.yaml", program)
    result = run_cli(CliRunner(), "plan", root / "staged.yaml", "-o", root / "plans" / "staged", "-q")
    assert result.exit_code == 0, result.output
    cap = next(c for c in yaml.safe_load((root / "plans" / "staged" / "plan.yaml").read_text())["caps"]
               if c["name"] == "co2-budget")
    assert cap["value"] == pytest.approx(100000, rel=1e-6)  # the budget binds
    return root


def test_a_fresh_buildout_plan_passes_with_a_binding_horizon_cap(planned_buildout):
    report = check_paths([planned_buildout / "staged.yaml"])
    assert report.exit_code == 0, render(report, "text")
    checks = {f.check: f for f in report.files[0].findings}
    assert checks["cap co2-budget"].status == PASS and "over the horizon" in checks["cap co2-budget"].message
    assert checks["GPU allocations"].status == PASS and checks["capital per year"].status == PASS


@pytest.mark.parametrize("change, line, message", [
    (lambda d: d["caps"][0].update(max=90000), "max: 90000", "is 100,000 over the horizon, above the maximum"),
    (lambda d: d["buildout"].update(max_capital_usd_per_year=1.0e8), "max_capital_usd_per_year: 100000000",
     "of capital in 2026, above the limit of $100,000,000 a year"),
    (lambda d: d["horizon"].update(years=4), "years: 4", "the horizon is now 4 years (4 periods), the plan covers 3"),
])
def test_a_changed_buildout_limit_fails_at_its_line(planned_buildout, tmp_path, change, line, message):
    root = shutil.copytree(planned_buildout, tmp_path / "repo")
    program = edit(root / "staged.yaml", change)
    [v] = failures(check_paths([program]))
    assert (v.where.file, v.where.line) == (str(program), line_of(program, line)) and message in v.message, v


def test_a_dearer_gpu_warns_at_the_price_that_changed_the_orders_capital(planned_buildout, tmp_path):
    root = shutil.copytree(planned_buildout, tmp_path / "repo")
    price = CAT.gpus["h100_sxm"].price_usd_per_gpu * 1.5
    program = edit(root / "staged.yaml", lambda d: d.update(catalog={"gpus": {"h100_sxm": {"price_usd_per_gpu": price}}}))
    report = check_paths([program])
    assert report.exit_code == 0  # a cost warning does not fail the check
    [w] = failures(report, WARNING)
    assert w.check == "costs" and (w.where.file, w.where.line) == (str(program), line_of(program, "price_usd_per_gpu"))
    assert "10,000 GPUs of" in w.message and "(+50.0%)" in w.message


def test_a_smaller_gpu_allocation_fails_at_its_line(planned_buildout, tmp_path):
    root = shutil.copytree(planned_buildout, tmp_path / "repo")
    site = edit(root / "site.yaml", lambda d: d["compute"]["gpus"][0].update(max_new_gpus_per_period=5000))
    [v] = failures(check_paths([root / "staged.yaml"]))
    assert (v.where.file, v.where.line) == (str(site), line_of(site, "max_new_gpus_per_period: 5000"))
    assert "10,000 h100_sxm ordered at testsite on 2026-01-01, above the allocation of 5,000" in v.message


# --- every exit code -------------------------------------------------------------------------

def test_exit_0_when_every_plan_fits(runner, repo):
    assert run_cli(runner, "check", repo / SITE, "--plan", repo / "plans").exit_code == 0


def test_exit_1_when_a_committed_plan_is_violated(runner, repo):
    edit(repo / SITE, lambda d: d["caps"][0].update(max=15000))
    result = run_cli(runner, "check", repo)
    assert result.exit_code == 1
    assert f"{repo / SITE}:{line_of(repo / SITE, 'max: 15000')}: caps[0].max:" in result.output


def test_exit_1_when_no_plan_exists(runner, tmp_path):
    site = base_site()
    site["grid"]["max_import_mw"] = 1
    write_yaml(tmp_path / SITE, site)
    result = run_cli(runner, "check", tmp_path)
    assert result.exit_code == 1
    assert "infeasible" in result.output and "grid import" in result.output


def test_exit_2_for_invalid_input_naming_file_and_line(runner, repo):
    (repo / "broken.yaml").write_text("kind: site\nname: broken\ngrid:\n  max_import_mw: [1, 2\n")
    result = run_cli(runner, "check", repo)
    assert result.exit_code == 2
    assert f"{repo / 'broken.yaml'}:" in result.output and "YAML syntax error" in result.output
    assert "Traceback" not in result.output


def test_exit_2_for_a_malformed_committed_plan(runner, repo):
    plan = repo / "plans" / "testsite" / "plan.yaml"
    edit(plan, lambda d: d["sites"]["testsite"].pop("cooling"))
    result = run_cli(runner, "check", repo)
    assert result.exit_code == 2
    assert f"{plan}:" in result.output and "sites.testsite" in result.output and "required key" in result.output


@pytest.mark.parametrize("column, value", [("grid_mw", "nan"), ("load_mw", "inf"), ("weight", "-17"),
                                           ("grid_mw", "1e200")])
def test_exit_2_for_a_dispatch_with_a_value_dcplan_never_writes(runner, repo, column, value):
    """A NaN, an infinity, a negative weight or a number beyond what dcplan reads in any input
    (1e200 MW had been summed into report and show, and check had said ok) is a damaged file
    (exit 2 at its line and column), not a plan to judge: NaN passed every comparison and the
    check said ok."""
    dispatch = repo / "plans" / "testsite" / "dispatch.csv"
    rows = [line.split(",") for line in dispatch.read_text().splitlines()]
    rows[5][rows[0].index(column)] = value
    dispatch.write_text("\n".join(",".join(r) for r in rows) + "\n")
    result = run_cli(runner, "check", repo)
    assert result.exit_code == 2, result.output
    assert f"{dispatch}:6: {column}: '{value}' is not" in result.output


def test_a_committed_plan_edited_by_hand_is_warned_of(runner, repo):
    """A price in dispatch.csv changed by hand (report had drawn it, check said ok): its SHA-256
    is no longer summary.json's record, which check, show and report say; the plan is still
    verified as it is."""
    folder = repo / "plans" / "testsite"
    dispatch = folder / "dispatch.csv"
    text = dispatch.read_text()
    dispatch.write_bytes(text.replace("\n", "\r\n").encode())  # a checkout's line ends are no edit
    assert "warning" not in run_cli(runner, "show", folder).output
    rows = [line.split(",") for line in text.splitlines()]
    rows[5][rows[0].index("price_usd_per_mwh")] = "99999"
    dispatch.write_text("\n".join(",".join(r) for r in rows) + "\n")
    report = check_paths([repo])
    found = failures(report, WARNING)
    assert any(f.check == "plan files" and "dispatch.csv differs from what dcplan wrote" in f.message
               and f.where.file.endswith("dispatch.csv") for f in found), render(report, "text")
    out = " ".join(run_cli(runner, "show", folder).output.split())
    assert "warning: dispatch.csv differs from what dcplan wrote (summary.json records another SHA-256)" in out


def test_exit_2_for_a_negative_number_of_gpus_in_a_committed_plan(runner, repo):
    plan = repo / "plans" / "testsite" / "plan.yaml"
    edit(plan, lambda d: d["sites"]["testsite"]["gpus"].update(h100_sxm=-8000))
    result = run_cli(runner, "check", repo)
    assert result.exit_code == 2 and "sites.testsite.gpus.h100_sxm" in result.output, result.output


def test_an_output_file_is_never_written_over_a_file_dcplan_reads(runner, repo):
    """`-o` of check, diff and report wrote their text over the site checked or the plan shown,
    exit 0, and --solver-log appended to any file (reviews' cases); what the command does not
    read is replaced on every run (a rule by file name refused summary.json the second time)."""
    site, plan = repo / SITE, repo / "plans" / "testsite"
    before = {p: p.read_bytes() for p in (site, plan / "plan.yaml", plan / "summary.json", plan / "dispatch.csv")}
    # (an input's kind is refused before any work; the files read are refused again where written)
    read, plans_own = "of the kind dcplan reads as input", "is a file of the plan in"
    for args, target, said in ((("check", repo), site, read), (("diff", plan, plan), plan / "plan.yaml", plans_own),
                               (("report", plan), plan / "summary.json", plans_own),
                               (("diff", plan, plan), plan / "dispatch.csv", plans_own),  # a plan's, not read
                               (("report", plan), site, "exists and is not a dcplan report"),  # a report: none other
                               (("diff", plan, plan), site, read)):  # an input the plans were made from
        result = run_cli(runner, *args, "-o", target)
        assert result.exit_code == 2 and said in " ".join(result.output.split()), (args, result.output)
    assert all(p.read_bytes() == text for p, text in before.items())
    data = repo / "elsewhere.csv"  # an input's kind that neither reads: diff had written over a price CSV
    data.write_text("hour,price_usd_per_mwh\n0,40\n")
    for args in (("diff", plan, plan), ("check", repo)):
        result = run_cli(runner, *args, "-o", data)
        assert result.exit_code == 2 and "of the kind dcplan reads as input" in " ".join(result.output.split())
    assert data.read_text() == "hour,price_usd_per_mwh\n0,40\n"
    for _ in range(2):  # what it does not read it replaces, run after run, whatever its name
        assert run_cli(runner, "report", plan, "-o", plan / "report.html").exit_code == 0
        assert run_cli(runner, "check", repo, "--format", "json", "-o", repo / "summary.json").exit_code == 0
    result = run_cli(runner, "plan", site, "--typical-days", "2", "--solver-log", site)
    assert result.exit_code == 2 and "is an input of this plan" in result.output and site.read_bytes() == before[site]
    result = run_cli(runner, "plan", site, "--typical-days", "2", "-o", repo / "out", "--solver-log", repo / "out" / "h.log")
    assert result.exit_code == 2 and "which the plan replaces whole" in result.output, result.output


def test_a_smoothings_files_are_not_an_outputs_to_write_over(runner, repo, tmp_path):
    """`dcplan smooth -o` writes schedule.csv beside smoothing.yaml (a plan's training job too,
    under smoothing/): `diff -o` had written over it."""
    plan = repo / "plans" / "testsite"
    (tmp_path / "job").mkdir()
    (tmp_path / "job" / "smoothing.yaml").write_text("dcplan_version: 0.1.0\n")
    (tmp_path / "job" / "schedule.csv").write_text("t_s,grid_mw\n")
    result = run_cli(runner, "diff", plan, plan, "-o", tmp_path / "job" / "schedule.csv")
    assert result.exit_code == 2 and "is a file of the smoothing in" in " ".join(result.output.split())
    assert (tmp_path / "job" / "schedule.csv").read_text() == "t_s,grid_mw\n"


def test_an_output_through_a_link_keeps_the_link_and_a_device_stays_a_device(runner, repo, tmp_path):
    """`-o` of a link to a file replaced the link with a file, and of a link to /dev/null (or
    /dev/null itself, as root) made the device a file."""
    plan = repo / "plans" / "testsite"
    (tmp_path / "real.md").write_text("old")
    os.symlink(tmp_path / "real.md", tmp_path / "link.md")
    os.symlink("/dev/null", tmp_path / "sink")
    for target in (tmp_path / "link.md", tmp_path / "sink"):
        assert run_cli(runner, "diff", plan, plan, "-o", target).exit_code == 0
        assert target.is_symlink()
    assert "no changes" in (tmp_path / "real.md").read_text()
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_exit_2_for_a_plan_without_its_dispatch(runner, repo):
    (repo / "plans" / "testsite" / "dispatch.csv").unlink()
    result = run_cli(runner, "check", repo)
    assert result.exit_code == 2 and "dispatch.csv" in result.output and "missing" in result.output


def test_exit_2_for_a_plan_folder_without_its_plan_not_a_silent_solve(runner, repo):
    """A committed plan folder whose plan.yaml is gone (or is a folder) had been taken for no plan
    at all: the file was solved for feasibility, and passed (an audit: 78 s, exit 0)."""
    plan = repo / "plans" / "testsite" / "plan.yaml"
    plan.unlink()
    result = run_cli(runner, "check", repo)
    assert result.exit_code == 2 and "plan.yaml: missing: the plan folder holds dispatch.csv" in result.output
    plan.mkdir()
    result = run_cli(runner, "check", repo)
    assert result.exit_code == 2 and "plan.yaml: not a file" in result.output


def test_exit_2_for_a_dispatch_cut_short_not_a_pass_on_part_of_the_year(runner, repo):
    dispatch = repo / "plans" / "testsite" / "dispatch.csv"
    lines = dispatch.read_text().splitlines(keepends=True)
    dispatch.write_text("".join(lines[:10]))  # 9 of the 24 steps (its two typical days are alike: one)
    result = run_cli(runner, "check", repo)
    assert result.exit_code == 2, result.output
    assert "9 rows, but plan.yaml's time grid has 24 steps" in result.output
    for command in ("show", "report"):  # the plan's other readers refuse it too
        shown = run_cli(runner, command, repo / "plans" / "testsite")
        assert shown.exit_code == 2 and "9 rows" in shown.output, shown.output


def test_exit_2_for_a_missing_or_mistaken_plans_folder_not_a_fallback_to_plans(runner, repo):
    result = run_cli(runner, "check", repo, "--plan", repo / "nowhere")
    assert result.exit_code == 2 and "--plan: no such folder" in result.output
    assert "verified" not in result.output
    (repo / "elsewhere").mkdir()  # a folder, but of none of the plans: each would be solved instead, and pass
    result = run_cli(runner, "check", repo, "--plan", repo / "elsewhere")
    assert result.exit_code == 2 and "--plan: no committed plan of any file checked" in result.output
    assert "solved" not in result.output


def test_an_emptied_site_file_fails_and_orphans_its_committed_plan(runner, repo):
    (repo / SITE).write_text("")
    result = run_cli(runner, "check", repo)
    assert result.exit_code == 2, result.output
    assert f"{repo / SITE}:1: empty file" in result.output
    assert "plans/testsite/plan.yaml: a committed plan of no site or program" in result.output


def test_a_scenario_that_breaks_the_program_fails_the_check_at_its_line(runner, tmp_path):
    write_yaml(tmp_path / SITE, grid_site())
    program = {"kind": "program", "name": "p", "sites": [SITE], "time": {"typical_days": 2},
               "scenarios": {"fine": {"finance": {"discount_rate": 0.1}},
                             "typo": {"site_overrides": {"testsite": {"grid": {"max_imprt_mw": 5}}}}}}
    write_yaml(tmp_path / "p.yaml", program)
    assert run_cli(runner, "plan", tmp_path / "p.yaml", "-o", tmp_path / "plans" / "p", "-q").exit_code == 0
    result = run_cli(runner, "check", tmp_path / "p.yaml")
    assert result.exit_code == 2, result.output
    where = f"{tmp_path / 'p.yaml'}:{line_of(tmp_path / 'p.yaml', 'max_imprt_mw')}"
    assert f"{where}: scenarios.typo.site_overrides.testsite.grid.max_imprt_mw: unknown key" in result.output


def test_exit_3_when_the_solver_runs_out_of_time(runner, tmp_path):
    write_yaml(tmp_path / SITE, grid_site())  # no committed plan: solved for feasibility
    result = run_cli(runner, "check", tmp_path, "--time-limit", "0.000001")
    assert result.exit_code == 3, result.output
    assert "solver failure" in result.output


def test_invalid_input_outranks_a_violation(runner, repo):
    edit(repo / SITE, lambda d: d["caps"][0].update(max=15000))
    (repo / "other.yaml").write_text("kind: program\nname: p\n")
    assert run_cli(runner, "check", repo).exit_code == 2


# --- discovery -------------------------------------------------------------------------------

def test_plans_folder_is_found_beside_the_paths_and_not_read_as_input(repo):
    (repo / "workflow.yml").write_text("on: [push]\njobs: {check: {runs-on: ubuntu-latest}}\n")
    report = check_paths([repo / SITE])  # plans/ is in the file's folder
    assert [fr.file for fr in report.files] == [str(repo / SITE)]
    assert report.files[0].plan == str(repo / "plans" / "testsite")
    whole = check_paths([repo])  # neither the workflow nor plans/testsite/plan.yaml is an input
    assert [fr.file for fr in whole.files] == [str(repo / SITE)]


def test_two_files_with_one_name_are_invalid(repo):
    shutil.copy(repo / SITE, repo / "twin.yaml")
    report = check_paths([repo])
    assert report.exit_code == 2
    [v] = failures(report, INVALID)
    assert "also the name of" in v.message and v.where.key == "name"


# --- output formats --------------------------------------------------------------------------

COMMAND = re.compile(r"^::(error|warning|notice)(?: ([^:]*))?::(.*)$")


def _tricky_report() -> CheckReport:
    fr = FileReport("dir,1/a:b.yaml", "site", "x")
    fr.add("cap 100%: a,b", VIOLATION, "50% over\nsecond line\r", Where("dir,1/a:b.yaml", 7, "caps[0].max"))
    fr.add("feasibility", INFEASIBLE, "no plan", Where("p.yaml", 3, "compute.target.gpus"), ("one", "two"))
    fr.add("costs", WARNING, "moved", Where("s.yaml", 9, ""))
    fr.add("valid", PASS, "fine")
    bad = FileReport("bad.yaml", "unknown")
    bad.add("valid", INVALID, "YAML syntax error", Where("bad.yaml", 4, ""))
    slow = FileReport("slow.yaml", "site")
    slow.add("feasibility", SOLVER, "no answer", None)
    return CheckReport([fr, bad, slow], 1.5)


def test_github_annotations_follow_the_workflow_command_syntax():
    out = render(_tricky_report(), "github")
    commands = [line for line in out.splitlines() if line.startswith("::")]
    assert len(commands) == 5  # a pass is not annotated
    for line in commands:
        m = COMMAND.match(line)
        assert m, line
        props = dict(p.split("=", 1) for p in m.group(2).split(","))
        assert set(props) <= {"file", "line", "endLine", "col", "endColumn", "title"}
        assert all(":" not in v and "," not in v for v in props.values())  # escaped in properties
        assert "\n" not in m.group(3) and "\r" not in m.group(3)
    first = COMMAND.match(commands[0])
    props = dict(p.split("=", 1) for p in first.group(2).split(","))
    assert first.group(1) == "error" and props["file"] == "dir%2C1/a%3Ab.yaml" and props["line"] == "7"
    assert props["title"] == "dcplan check%3A violated (cap 100%25%3A a%2Cb)"
    # a finding's own control characters are escapes from the start (dcplan.errors.printable)
    assert first.group(3) == "caps[0].max: 50%25 over\\x0asecond line\\x0d"
    assert COMMAND.match(commands[1]).group(3).endswith("no plan%0A- one%0A- two")
    assert COMMAND.match(commands[2]).group(1) == "warning"
    assert "line=" not in commands[4]  # no line known: the annotation names the file only


def test_github_annotation_of_a_value_set_outside_the_repository_lands_on_the_checked_file():
    fr = FileReport("sites/a.yaml", "site", "a")
    fr.add("lead times", VIOLATION, "late", Where("/usr/lib/dcplan/catalog/data/gpus.yaml", 12, "h100.lead_time_months"))
    [command] = [line for line in render(CheckReport([fr], 0.1), "github").splitlines() if line.startswith("::")]
    assert command.startswith("::error file=sites/a.yaml,title=")
    assert command.endswith("::late (set at /usr/lib/dcplan/catalog/data/gpus.yaml:12: h100.lead_time_months)")


def test_escaping_per_the_workflow_commands_reference():
    assert escape_data("100%\r\n") == "100%25%0D%0A"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_junit_report_has_the_required_elements_and_counts():
    root = ET.fromstring(render(_tricky_report(), "junit"))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["dir,1/a:b.yaml", "bad.yaml", "slow.yaml"]  # one per file
    for suite in suites:
        for attr in ("name", "tests", "failures", "errors", "skipped", "time"):
            assert suite.get(attr) is not None, attr
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(c.find("failure") is not None for c in cases)
        assert int(suite.get("errors")) == sum(c.find("error") is not None for c in cases)
        assert int(suite.get("skipped")) == sum(c.find("skipped") is not None for c in cases)
        for case in cases:
            assert case.get("name") and case.get("classname")
            for bad in case.findall("failure") + case.findall("error"):
                assert bad.get("message") and bad.get("type") and bad.text
    for attr in ("tests", "failures", "errors"):
        assert int(root.get(attr)) == sum(int(s.get(attr)) for s in suites)
    first = suites[0]
    assert [c.get("name") for c in first.findall("testcase")] == ["cap 100%: a,b", "feasibility", "costs", "valid"]
    failure = first.find("testcase/failure")
    assert failure.get("type") == VIOLATION and "dir,1/a:b.yaml:7: caps[0].max: 50% over" in failure.text
    assert suites[1].find("testcase/error").get("type") == INVALID
    assert suites[2].find("testcase/error").get("type") == SOLVER


def test_junit_of_a_real_check_parses(runner, repo, tmp_path):
    edit(repo / SITE, lambda d: d["compute"]["target"].update(gpus=24000))
    out = tmp_path / "report.xml"
    result = run_cli(runner, "check", repo, "--format", "junit", "-o", out)
    assert result.exit_code == 1 and result.output == ""
    root = ET.parse(out).getroot()
    [suite] = root.findall("testsuite")
    assert suite.get("name") == str(repo / SITE) and suite.get("failures") == "1"
    assert suite.find("testcase[@name='compute target']/failure") is not None


def test_junit_of_a_key_with_a_control_character_parses(runner, repo, tmp_path):
    """A key holding \\x01 was written raw: the file did not parse, and CI dropped the report."""
    (repo / SITE).write_text((repo / SITE).read_text() + '"odd\\x01key": 1\n')
    out = tmp_path / "report.xml"
    assert run_cli(runner, "check", repo, "--format", "junit", "-o", out).exit_code == 2
    failure = ET.parse(out).getroot().find("testsuite/testcase/error")
    assert "odd\\x01key" in failure.text  # escaped where the finding is made (dcplan.errors.printable)


def test_json_report_carries_every_finding(runner, repo):
    import json

    doc = json.loads(run_cli(runner, "check", repo, "--format", "json").output)
    assert doc["exit_code"] == 0
    [entry] = doc["files"]
    assert entry["mode"] == "verified" and {f["check"] for f in entry["findings"]} >= {
        "valid", "compute target", "build testsite", "load every hour testsite", "grid schedule testsite",
        "cap permit-gpus", "costs testsite"}


# --- the explanation of an infeasible program names the culprit ------------------------------

def _explain(path: Path) -> str:
    report = check_paths([path])
    [finding] = failures(report, INFEASIBLE)
    return " ".join(finding.details)


def test_explanation_names_the_conflicting_cap(tmp_path):
    site = base_site()
    site["caps"] = [{"name": "permit-gpus", "quantity": "gpus", "max": 500, "source": "test permit"}]
    text = _explain(write_yaml(tmp_path / SITE, site))
    assert "permit-gpus" in text and "500" in text and "1,000" in text


def test_explanation_names_the_grid_limit_of_a_site_that_cannot_island(tmp_path):
    site = base_site()  # grid only: no gas, solar or battery to island on
    site["grid"]["max_import_mw"] = 10
    site["compute"]["target"] = {"gpus": 20000}
    text = _explain(write_yaml(tmp_path / SITE, site))
    short = 20000 * CAT.gpus["h100_sxm"].design_w_per_gpu / 1e6 * 1.2 - 10
    assert "grid import ≤ 10 MW" in text and f"{short:,.1f} MW" in text


def test_explanation_names_a_lead_time_that_misses_the_deadline(tmp_path):
    site = base_site(name="leadsite")
    site["cooling"][0]["lead_time_months"] = 0  # the cooling is ready: the GPUs are the culprit
    del site["compute"]
    write_yaml(tmp_path / "leadsite.yaml", site)
    program = {"kind": "program", "name": "deadline", "sites": ["leadsite.yaml"],
               "compute": {"gpus": [{"model": "h100_sxm", "lead_time_months": 12}]},
               "horizon": {"start": "2027-01-01", "years": 2},
               "buildout": {"period": "quarter", "targets": [{"gpus": 1000, "date": "2027-06-30"}]},
               "time": {"typical_days": 1}}
    text = _explain(write_yaml(tmp_path / "program.yaml", program))
    assert "h100_sxm" in text and "2027" in text and "2028" in text  # ordered now, it arrives in 2028


# --- every cap quantity measured from the committed plan as the model measured it ------------

ALL_CAPS = [
    {"quantity": "gpus", "max": 1e9}, {"quantity": "gpus_h100e", "max": 1e9},
    {"quantity": "gpus_h100e", "max": 1e9, "exempt_orders_below_h100e": 100},
    {"quantity": "compute_share", "max": 1}, {"quantity": "nox_t", "max": 1e9}, {"quantity": "co2_t", "max": 1e9},
    {"quantity": "backup_engine_hours", "max": 8760}, {"quantity": "pue", "max": 3},
    {"quantity": "renewable_share", "min": 0}, {"quantity": "water_m3", "max": 1e12},
    {"quantity": "grid_import_mw", "max": 1e6},
    {"quantity": "grid_emergency_import_mw", "max": 1e6, "emergency": {"hours_per_year": 100}},
    {"quantity": "billed_demand_fraction", "min": 0}, {"quantity": "land_acres", "max": 1e9, "building_acres": 10},
    {"quantity": "cost_usd", "max": 1e12}, {"quantity": "onsite_dispatchable_share", "max": 100},
]


def test_cap_values_recomputed_from_the_plan_match_the_model(tmp_path, runner):
    from dcplan.schema.caps import QUANTITIES

    assert {c["quantity"] for c in ALL_CAPS} | {"hourly_cfe_share"} == set(QUANTITIES)
    site = base_site()
    site["grid"].update(demand_charge_usd_per_kw_month=10, energy_price_usd_per_mwh={
        "time_of_use": {"default": 40, "periods": [{"value": 150, "hours": [17, 18, 19]}]}})
    site["fuel"] = {"gas_price_usd_per_mmbtu": 3.0}
    site["technologies"] = {"gas": [{"type": "wartsila_18v50sg", "max_units": 2},
                                    {"type": "smt130", "max_units": 2, "role": "backup"}],
                            "solar": {"max_mw": 5, "capacity_factor": 0.25},
                            "battery": {"max_power_mw": 5}}
    site["caps"] = [{"name": f"c{i}", "source": "test", **cap} for i, cap in enumerate(ALL_CAPS)]
    write_yaml(tmp_path / SITE, site)
    assert run_cli(runner, "plan", tmp_path / SITE, "--typical-days", "3", "-o", tmp_path / "plans" / "testsite",
                   "-q").exit_code == 0
    report = check_paths([tmp_path])
    assert report.exit_code == 0, render(report, "text")
    plan = yaml.safe_load((tmp_path / "plans" / "testsite" / "plan.yaml").read_text())
    measured = {f.check.removeprefix("cap "): f.message.split(": ", 1)[1] for f in report.files[0].findings
                if f.check.startswith("cap ")}
    for cap in plan["caps"]:
        label, value = measured[cap["name"]].rsplit(" ", 1)
        assert float(value.replace(",", "")) == pytest.approx(cap["value"], rel=2e-3, abs=1e-3), cap


def test_solve_also_solves_a_program_with_a_committed_plan(repo):
    report = check_paths([repo], solve=True)
    assert report.exit_code == 0
    [fr] = report.files
    assert fr.mode == "verified+solved"
    assert any(f.check == "feasibility" and f.status == PASS for f in fr.findings)


# --- the CI recipe -------------------------------------------------------------------------------

def test_ci_recipe_annotates_with_check_and_comments_the_diff(runner, monkeypatch):
    workflow = yaml.safe_load((REPO / "examples" / "ci" / "dcplan-check.yml").read_text())
    runs = [step.get("run", "") for step in workflow["jobs"]["check"]["steps"]]
    assert any("dcplan check" in r and "--format github" in r for r in runs)
    assert any("dcplan diff" in r and "--format markdown" in r and "gh pr comment" in r for r in runs)
    [hook] = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert (hook["id"], hook["entry"], hook["language"], hook["pass_filenames"]) == (
        "dcplan-check", "dcplan check", "python", False)
    config = yaml.safe_load((REPO / "examples" / "ci" / ".pre-commit-config.yaml").read_text())
    [repo_entry] = config["repos"]
    [used] = repo_entry["hooks"]
    assert used["id"] == hook["id"]
    monkeypatch.chdir(REPO)  # the hook's command on this repository's sample sites and plans
    result = run_cli(runner, *hook["entry"].split()[1:], "sites", "--format", "github")
    assert result.exit_code == 0 and "::error" not in result.output


def test_a_program_owns_the_name_it_shares_with_its_site(repo):
    program = {"kind": "program", "name": "testsite", "sites": [SITE], "time": {"typical_days": 2}}
    write_yaml(repo / "program.yaml", program)
    report = check_paths([repo])
    assert report.exit_code == 0, render(report, "text")
    modes = {Path(fr.file).name: (fr.mode, fr.plan) for fr in report.files}
    assert modes == {"program.yaml": ("verified", str(repo / "plans" / "testsite")), SITE: ("validated", None)}


def test_every_assets_lead_time_is_where_check_and_diagnosis_find_it(tmp_path):
    """The model prices and schedules each asset at its lead time; `dcplan check` and the
    diagnosis read it through Locator.lead_time with the input line that sets it. Both must agree
    for every kind of asset, with the site's own values and with the catalog's."""
    from dcplan.loader import load_program
    from dcplan.locate import Locator
    from dcplan.model.build import build_single_period

    site = base_site(fuel={"gas_price_usd_per_mmbtu": 3.0}, technologies={
        "gas": [{"type": "lm6000", "max_units": 2},  # the catalog's lead time
                {"type": "wartsila_18v50sg", "max_units": 2, "lead_time_months": 7},
                {"type": "lm6000", "max_units": 2, "rental": {"usd_per_kw_month": 40, "lead_time_months": 2}}],
        "solar": {"max_mw": 50, "capacity_factor": 0.25, "lead_time_months": 5}, "battery": {"max_power_mw": 20}})
    site["grid"]["upgrades"] = [{"name": "sub", "adds_mw": 150, "equipment": "substation_150mw"},
                                {"name": "line", "adds_mw": 5, "capex_usd": 1e6, "lead_time_months": 4}]
    site["cooling"] = [{"type": "air_economizer", "pue": 1.2},
                       {"type": "air_chiller", "rental": {"usd_per_kw_month": 10, "lead_time_months": 1}}]
    site["compute"]["gpus"] = [{"model": "h100_sxm", "lead_time_months": 2}, {"model": "b200"}]
    site["compute"]["cloud"] = [{"model": "h100_sxm", "usd_per_gpu_hour": 4.0, "lead_time_months": 1, "source": "test"}]
    pi = load_program(write_yaml(tmp_path / SITE, site))
    sm = build_single_period(pi, typical_days=1).sites[0]
    loc, kinds = Locator(pi), set()
    for asset in sm.assets:
        months, where = loc.lead_time(sm.si, asset.key)
        assert months == pytest.approx(asset.lead_time_months), asset.key
        assert where.line, asset.key  # a line of the site file or of the built-in catalog
        kinds.add(asset.key.split(":")[0])
    assert {"gas", "solar", "battery_power", "grid_upgrade", "cooling", "gpus", "cloud"} <= kinds
    months, where = loc.lead_time(sm.si, "gas:lm6000")
    assert months == CAT.generators["lm6000"].lead_time_months and where.key == "lm6000.lead_time_months"
    months, where = loc.lead_time(sm.si, "gpus:h100_sxm")
    assert months == 2 and where.file.endswith(SITE) and where.key == "compute.gpus[0].lead_time_months"
    assert loc.lead_time(sm.si, "gas:no_such_unit") is None


def test_a_stop_ends_the_check_at_the_solve_under_way():
    """Ctrl-C in `dcplan check` sets ``stop``: the feasibility solve under way ends, and no later
    file is checked (the command then says "interrupted", exit 130, and prints no verdict)."""
    import threading

    from dcplan.checks import check_paths

    stop, seen = threading.Event(), []

    def progress(line: str) -> None:
        seen.append(line)
        if line.startswith("solving"):
            stop.set()  # as the signal handler does, mid-check

    check_paths([REPO / "sites"], None, solve=True, progress=progress, stop=stop)
    assert [line for line in seen if line.startswith("solving")] == [seen[-1]]  # one solve begun, none after


def test_the_completion_tolerates_a_first_stage_closed_only_to_solver_tolerance(monkeypatch):
    """The completion's first stage (least excess) closes its rows only to HiGHS's tolerance (an
    audit saw 9e-7), and its second (least cost, each row's excess held) had been infeasible where
    the hold was tighter than that: the first stage's completion stood, its free columns anywhere
    (every month's peak up to the grid limit: a fresh plan's demand charge read as a +86 %
    warning). Here x is committed at 1 against a row x <= 0.9999 (a file's rounding: excess
    1e-4), y free, and the first stage answers each column 2e-6 short."""
    import pyomo.core as pyo

    import dcplan.checks.evaluate as evaluate
    from dcplan.solver.highs import Compiled

    m = pyo.ConcreteModel()
    m.x, m.y = pyo.Var(bounds=(1, 1)), pyo.Var(bounds=(0, 10))
    m.rounded = pyo.Constraint(expr=m.x <= 0.9999)
    m.room = pyo.Constraint(expr=m.y - m.x <= 0.5)
    m.cost = pyo.Objective(expr=-m.y)  # the second stage's least cost: y as high as the room allows
    compiled = Compiled(m)
    real, stages = evaluate.new_highs, []

    class ShortFirstStage:
        def __init__(self):
            self.highs = real()

        def __getattr__(self, name):
            return getattr(self.highs, name)

        def run(self):
            out = self.highs.run()
            stages.append(self.highs.getModelStatus().name)
            return out

        def getSolution(self):
            solution = self.highs.getSolution()
            if len(stages) == 1:
                solution.col_value = list(np.maximum(0.0, np.array(solution.col_value) - 2e-6))
            return solution

    monkeypatch.setattr(evaluate, "new_highs", ShortFirstStage)
    none = np.zeros(2, dtype=bool)
    x, excess = evaluate._complete(compiled, compiled.col_lower, compiled.col_upper, none, none)
    assert stages == ["kOptimal", "kOptimal"]
    y = x[[i for i, v in enumerate(compiled.columns) if v is m.y][0]]
    held = evaluate.HOLD_SHARE * evaluate.TOLERANCE * 2  # the room row's give: a hundredth of broken
    assert 1.5 <= y <= 1.5 + held + 1e-9 and excess[compiled.row_index[id(m.rounded)]] == pytest.approx(1e-4, abs=1e-5)


@pytest.mark.parametrize("edit_money", [
    lambda t: t["totals"].update(npv_cost_usd=t["totals"]["npv_cost_usd"] + 1e8),
    lambda t: t["totals"].update(salvage_credit_usd=t["totals"]["salvage_credit_usd"] - 4e7),
    lambda t: t["totals"].update(capital_usd=t["totals"]["capital_usd"] + 5e7),
    lambda t: t["totals"].update(cost_per_gpu_hour_usd=t["totals"]["cost_per_gpu_hour_usd"] * 0.8),
    lambda t: next(p for p in t["periods"] if p["spend_usd"]["capital"] > 0)["spend_usd"].update(capital=0.0),
])
def test_a_build_outs_edited_money_is_violated(tmp_path, runner, edit_money):
    """A build-out's net present cost, salvage, capital and cost per GPU-hour are recomputed from
    its orders and periods: each had passed when edited (an audit)."""
    from test_buildout import islanded_site, program

    doc = program(tmp_path, islanded_site(rental=True))
    path = write_yaml(tmp_path / "program.yaml", doc)
    (tmp_path / ".git").mkdir()
    assert run_cli(runner, "plan", path, "-q", "-o", tmp_path / "plans" / "staged").exit_code == 0
    assert run_cli(runner, "check", path, "--plan", tmp_path / "plans").exit_code == 0
    edit(tmp_path / "plans" / "staged" / "plan.yaml", lambda d: edit_money(d["timeline"]))
    result = run_cli(runner, "check", path, "--plan", tmp_path / "plans")
    assert result.exit_code == 1 and "the file was edited" in result.output, result.output


def test_an_edited_periods_capital_does_not_hide_a_breach_of_the_capital_budget(tmp_path, runner):
    from test_buildout import islanded_site, program

    doc = program(tmp_path, islanded_site(rental=True))
    path = write_yaml(tmp_path / "program.yaml", doc)
    (tmp_path / ".git").mkdir()
    assert run_cli(runner, "plan", path, "-q", "-o", tmp_path / "plans" / "staged").exit_code == 0
    plan = yaml.safe_load((tmp_path / "plans" / "staged" / "plan.yaml").read_text())
    most = max(p["spend_usd"]["capital"] for p in plan["timeline"]["periods"])
    doc["buildout"]["max_capital_usd_per_year"] = most / 2
    write_yaml(path, doc)
    edit(tmp_path / "plans" / "staged" / "plan.yaml", lambda d: [p["spend_usd"].update(capital=0.0)
                                                                 for p in d["timeline"]["periods"]])
    result = run_cli(runner, "check", path, "--plan", tmp_path / "plans")
    assert result.exit_code == 1 and "above the limit of" in result.output, result.output


def test_the_committed_plans_are_found_in_a_folder_above_up_to_the_repositorys_top(tmp_path, runner):
    """examples/x/site.yaml two folders below the repository's plans/ had found none and been
    solved instead (an audit); above the work tree's top nothing is looked for."""
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / "examples" / "x").mkdir(parents=True)
    site = write_yaml(tmp_path / "repo" / "examples" / "x" / "site.yaml", base_site())
    assert run_cli(runner, "plan", site, "--typical-days", "2", "-q", "-o",
                   tmp_path / "repo" / "plans" / "testsite").exit_code == 0
    result = run_cli(runner, "check", site)
    assert result.exit_code == 0 and "(plan" in result.output and "verified)" in result.output, result.output
    from dcplan.checks.discover import default_plan_root

    (tmp_path / "plans").mkdir()  # above the work tree: not its plans
    assert default_plan_root(tmp_path / "repo" / "examples") == tmp_path / "repo" / "plans"
    (tmp_path / "repo" / "plans").rename(tmp_path / "repo" / "elsewhere")
    assert default_plan_root(tmp_path / "repo" / "examples" / "x") is None
