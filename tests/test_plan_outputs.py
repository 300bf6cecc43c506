"""`dcplan plan` outputs: the energy balance closes every hour in dispatch.csv, and the costs and
emissions in plan.yaml recompute from the dispatch and the capacities alone."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from conftest import REPO, base_site, daily, run_cli, write_csv, write_yaml

from dcplan.catalog import builtin_catalog
from dcplan.formulas import capital_recovery_factor
from dcplan.model.timegrid import month_of_hour
from dcplan.plans.files import read_dispatch
from dcplan.schema.site import NATURAL_GAS_CO2_T_PER_MMBTU

CAT = builtin_catalog()
RATE = 0.08
GAS_PRICE = 3.2
DEMAND = 9.0


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    from typer.testing import CliRunner
    tmp = tmp_path_factory.mktemp("outputs")
    price = daily([25] * 7 + [60] * 10 + [140] * 4 + [45] * 3) + np.linspace(0, 10, 8760)
    solar = daily([0] * 6 + [0.2, 0.5, 0.7, 0.85, 0.9, 0.9, 0.9, 0.85, 0.7, 0.5, 0.2] + [0] * 7)
    write_csv(tmp / "profiles.csv", {"price_usd_per_mwh": price, "solar_cf": solar,
                                     "co2_t_per_mwh": np.full(8760, 0.4)})
    site = base_site(
        fuel={"gas_price_usd_per_mmbtu": GAS_PRICE},
        technologies={
            "gas": [{"type": "lm2500xpress", "max_units": 4}, {"type": "wartsila_18v50sg", "max_units": 3}],
            "solar": {"max_mw": 60, "capacity_factor": {"csv": "profiles.csv", "column": "solar_cf"}},
            "battery": {"type": "li_ion_lfp", "max_power_mw": 30},
        })
    site["grid"] = {"max_import_mw": 40, "demand_charge_usd_per_kw_month": DEMAND,
                    "energy_price_usd_per_mwh": {"csv": "profiles.csv", "column": "price_usd_per_mwh"},
                    "co2_t_per_mwh": {"csv": "profiles.csv", "column": "co2_t_per_mwh"}}
    site["compute"]["target"] = {"gpus": 43_200}  # 61.2 MW of IT: a load that needs every source
    path = write_yaml(tmp / "site.yaml", site)
    result = run_cli(CliRunner(), "plan", path, "-o", tmp / "out", "-q")
    assert result.exit_code == 0, result.output
    plan = yaml.safe_load((tmp / "out" / "plan.yaml").read_text())
    dispatch = read_dispatch(tmp / "out" / "dispatch.csv")["testsite"]
    return plan, dispatch, json.loads((tmp / "out" / "summary.json").read_text())


def test_energy_balance_closes_every_hour(planned):
    _, d, _ = planned
    supply = d["grid_mw"] + d["solar_mw"] + d["battery_discharge_mw"] - d["battery_charge_mw"]
    supply += sum(d[c] for c in d if c.startswith("gas_"))
    assert len(d["load_mw"]) == 8760
    np.testing.assert_allclose(supply, d["load_mw"], atol=5e-4)
    # state of charge follows charge and discharge, cyclic over the year
    eta = np.sqrt(CAT.storage["li_ion_lfp"].round_trip_efficiency)
    soc = d["battery_soc_mwh"]
    np.testing.assert_allclose(soc - np.roll(soc, 1), eta * d["battery_charge_mw"] - d["battery_discharge_mw"] / eta,
                               atol=2e-3)


def test_costs_recompute_from_dispatch_and_capacities(planned):
    plan, d, _ = planned
    site = plan["sites"]["testsite"]
    cap, reported = site["capacity"], site["costs_usd_per_year"]
    w = d["weight"]
    month = month_of_hour(2027)[d["hour_of_year"].astype(int)]
    expected = {
        "grid_energy": np.sum(w * d["price_usd_per_mwh"] * d["grid_mw"]),
        "grid_demand": sum(d["grid_mw"][month == m].max() for m in range(12)) * 1000 * DEMAND,
        "gas_fuel": 0.0, "gas_variable_om": 0.0, "gas_capex": 0.0, "gas_fixed_om": 0.0,
    }
    co2 = np.sum(w * d["grid_co2_t_per_mwh"] * d["grid_mw"])
    for k in ("lm2500xpress", "wartsila_18v50sg"):
        g, energy = CAT.generators[k], np.sum(w * d[f"gas_{k}_mw"])
        expected["gas_fuel"] += energy * g.heat_rate_mmbtu_per_mwh * GAS_PRICE
        expected["gas_variable_om"] += energy * g.variable_om_usd_per_mwh
        mw = cap[f"gas_{k}_units"] * g.unit_mw
        expected["gas_capex"] += mw * 1000 * g.capex_usd_per_kw * capital_recovery_factor(RATE, g.lifetime_years)
        expected["gas_fixed_om"] += mw * 1000 * g.fixed_om_usd_per_kw_year
        co2 += energy * g.heat_rate_mmbtu_per_mwh * NATURAL_GAS_CO2_T_PER_MMBTU
    pv = CAT.renewables["utility_pv"]
    expected["solar_capex"] = cap["solar_mw"] * 1000 * pv.capex_usd_per_kw * capital_recovery_factor(RATE, pv.lifetime_years)
    expected["solar_fixed_om"] = cap["solar_mw"] * 1000 * pv.fixed_om_usd_per_kw_year
    bat = CAT.storage["li_ion_lfp"]
    expected["battery_capex"] = (cap["battery_mw"] * 1000 * bat.power_capex_usd_per_kw + cap["battery_mwh"] * 1000
                                 * bat.energy_capex_usd_per_kwh) * capital_recovery_factor(RATE, bat.lifetime_years)
    expected["battery_fixed_om"] = cap["battery_mw"] * 1000 * bat.fixed_om_usd_per_kw_year
    h100 = CAT.gpus["h100_sxm"]
    expected["gpus"] = site["gpus_new"]["h100_sxm"] * h100.price_usd_per_gpu * capital_recovery_factor(RATE, h100.lifetime_years)
    cool = CAT.cooling["air_economizer"]
    expected["cooling"] = site["it_mw"] * 1000 * cool.capex_usd_per_kw_it * capital_recovery_factor(RATE, cool.lifetime_years)
    assert set(expected) == set(reported)
    for k, v in expected.items():
        assert reported[k] == pytest.approx(v, rel=2e-5, abs=1.0), k
    assert site["total_cost_usd_per_year"] == pytest.approx(sum(expected.values()), rel=2e-5)
    assert plan["totals"]["total_cost_usd_per_year"] == pytest.approx(sum(expected.values()), rel=2e-5)
    assert site["emissions_t_per_year"]["co2"] == pytest.approx(co2, rel=2e-5)


def test_the_gas_units_a_plan_file_holds_are_read_back_by_candidate(planned):
    """plan.yaml keeps each gas candidate's units as flat keys (a diff reads them line by line);
    every reader (check, report, terminal, sweep) gets them through one function."""
    from dcplan.plans.types import gas_key, gas_units

    capacity = planned[0]["sites"]["testsite"]["capacity"]
    read = gas_units(capacity)
    assert set(read) == {"lm2500xpress", "wartsila_18v50sg"}
    for kind, (units, new) in read.items():
        assert units == capacity[gas_key(kind, "units")] and new == capacity[gas_key(kind, "new_units")]
        assert capacity[gas_key(kind, "mw")] == pytest.approx(units * CAT.generators[kind].unit_mw)


def test_plan_uses_several_sources_and_reports_key_figures(planned):
    plan, d, summary = planned
    energy = plan["sites"]["testsite"]["energy_mwh_per_year"]
    assert energy["grid"] > 0 and sum(v for k, v in energy.items() if k.startswith("gas_")) > 0
    totals = plan["totals"]
    assert totals["cost_usd_per_gpu_hour"] == pytest.approx(
        totals["total_cost_usd_per_year"] / (totals["gpus"] * 8760), rel=1e-5)
    assert totals["levelised_cost_usd_per_mwh"] == pytest.approx(
        totals["total_cost_usd_per_year"] / totals["facility_energy_mwh_per_year"], rel=1e-5)
    assert plan["solution"]["status"] == "optimal"
    assert summary["solver"]["status"] == "optimal" and "solve_seconds" not in summary["solver"]


def test_re_planning_unchanged_inputs_rewrites_every_file_byte_for_byte(tmp_path, runner):
    """A committed plan shows a diff only when something changed: no timings in the files."""
    path = write_yaml(tmp_path / "s.yaml", base_site())
    for out in ("a", "b"):
        assert run_cli(runner, "plan", path, "-o", tmp_path / out, "-q", "--typical-days", "3").exit_code == 0
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["dispatch.csv", "plan.yaml", "summary.json"]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    with_timings = json.loads(run_cli(runner, "plan", path, "--json", "--typical-days", "3").stdout)
    assert with_timings["solver"]["solve_seconds"] >= 0  # printed, not written


def test_time_limit_without_a_plan_exits_3(tmp_path, runner):
    path = write_yaml(tmp_path / "s.yaml", base_site())
    result = run_cli(runner, "plan", path, "--time-limit", "0", "-o", tmp_path / "out")
    assert result.exit_code == 3
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_invalid_input_to_plan_exits_2_and_writes_nothing(tmp_path, runner):
    site = base_site()
    site["grid"]["max_import_mw"] = -1
    result = run_cli(runner, "plan", write_yaml(tmp_path / "s.yaml", site), "-o", tmp_path / "out")
    assert result.exit_code == 2 and not (tmp_path / "out").exists()


def test_quickstart_example_plans(tmp_path, runner):
    result = run_cli(runner, "plan", REPO / "examples" / "quickstart" / "program.yaml", "-o", tmp_path / "q")
    assert result.exit_code == 0, result.output
    plan = yaml.safe_load((tmp_path / "q" / "plan.yaml").read_text())
    assert plan["totals"]["gpus"] >= 100_000
    assert plan["time_resolution"]["typical_days"] == 13 and plan["time_resolution"]["peak_days"] == 1  # 12 and the hottest


def test_init_scaffold_validates_and_plans(tmp_path, runner):
    target = tmp_path / "portfolio"
    assert run_cli(runner, "init", target).exit_code == 0
    assert run_cli(runner, "validate", target).exit_code == 0
    assert run_cli(runner, "plan", target / "program.yaml", "-q", "--scenario", "expensive_gas").exit_code == 0
    assert run_cli(runner, "init", target).exit_code == 2  # never overwrite


def test_version(runner):
    from dcplan import __version__
    result = run_cli(runner, "--version")
    assert result.exit_code == 0 and __version__ in result.output


def test_a_reused_output_folder_keeps_no_file_of_an_earlier_run(tmp_path):
    """Files a run does not write (an earlier build-out's timeline, a job's smoothing, a report)
    are gone from a reused -o, so that show and report never mix two runs."""
    from typer.testing import CliRunner

    out = tmp_path / "out"
    out.mkdir()
    stale = ["timeline.csv", "schedule.csv", "smoothing.yaml", "smoothing.png", "report.html"]
    for name in stale:  # (a YAML file dcplan wrote says so: see outfolder._written_by_dcplan)
        (out / name).write_text("dcplan_version: 0.1.0  # from an earlier run" if name.endswith(".yaml")
                                else "from an earlier run")
    (out / "smoothing" / "other").mkdir(parents=True)
    (out / "smoothing" / "other" / "schedule.csv").write_text("from an earlier run")
    path = write_yaml(tmp_path / "site.yaml", base_site())
    assert run_cli(CliRunner(), "plan", path, "--typical-days", "2", "-o", out, "-q").exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["dispatch.csv", "plan.yaml", "summary.json"]


def test_the_plan_files_read_back_as_written(tmp_path):
    """One writer (dcplan.plans.write) and one reader (dcplan.plans.files): a round trip keeps every
    figure of plan.yaml and every dispatch column (to the 4 decimals written)."""
    from dcplan import api
    from dcplan.plans.files import read_plan_yaml
    from dcplan.plans.write import plan_document, write_plan_files

    plan = api.plan(write_yaml(tmp_path / "s.yaml", base_site()), typical_days=2).plan
    write_plan_files(plan, tmp_path / "out")
    doc, shape = read_plan_yaml(tmp_path / "out" / "plan.yaml")
    assert doc.data == yaml.safe_load(yaml.safe_dump(plan_document(plan), sort_keys=False))
    assert shape.sites["testsite"].gpus == plan.sites[0].gpus and doc.line_of(("sites", "testsite", "it_mw")) > 1
    dispatch = read_dispatch(tmp_path / "out" / "dispatch.csv")["testsite"]
    for column, values in plan.sites[0].dispatch.items():
        assert np.allclose(dispatch[column], values, atol=6e-5), column
    assert dispatch["timestamp"][0] == "2027-01-01T00:00"
    text_doc, _ = read_plan_yaml(text=(tmp_path / "out" / "plan.yaml").read_text(), name="main:plans/x/plan.yaml")
    assert text_doc.data == doc.data and text_doc.name == "main:plans/x/plan.yaml"


def test_a_summary_nested_past_pythons_recursion_limit_is_refused_by_show_and_report(tmp_path, runner):
    """Read back, json raised RecursionError: an internal error (exit 70) in show and report."""
    out = tmp_path / "out"
    assert run_cli(runner, "plan", write_yaml(tmp_path / "s.yaml", base_site()), "--typical-days", "1",
                   "-q", "-o", out).exit_code == 0
    (out / "summary.json").write_text("[" * 5000 + "]" * 5000)
    for args in (("show", out), ("report", out, "-o", tmp_path / "r.html")):
        result = run_cli(runner, *args)
        text = " ".join(result.output.split())
        assert result.exit_code == 2 and "summary.json: nested too deep to read" in text, (args, text)


def test_files_keep_six_significant_digits_of_a_small_figure_too():
    """A smoothing battery of 0.0002266579 MWh had been written 0.000227 (1.5e-3 off; an audit)."""
    from dcplan.plans.write import _round

    assert _round(0.0002266579) == 0.000226658 and _round(0.012000191) == 0.0120002
    assert _round(-1e-9) == 0.0 and _round(1234567.0) == 1234567.0 and _round(3.14159265) == 3.14159
