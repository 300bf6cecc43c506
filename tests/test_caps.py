"""Each cap family binds in a small case and moves the decision the expected way."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import base_site, daily, run_cli, write_csv, write_yaml

from dcplan import api
from dcplan.errors import InputError


def site(name, country="US", price=50.0, **kw):
    s = base_site(name=name, **kw)
    s["location"] = {"lat": 30.0, "lon": -90.0, "country": country, "timezone": "UTC"}
    s["grid"]["energy_price_usd_per_mwh"] = price
    s["grid"]["max_import_mw"] = 400
    del s["compute"]
    return s


def program(tmp_path, sites, caps=(), typical_days=2, target=20_000, **extra):
    names = []
    for s in sites:
        write_yaml(tmp_path / f"{s['name']}.yaml", s)
        names.append(f"{s['name']}.yaml")
    prog = {"kind": "program", "name": "p", "sites": names,
            "compute": {"gpus": [{"model": "h100_sxm"}], "target": {"gpus": target}},
            "time": {"typical_days": typical_days}, "caps": list(caps), **extra}
    return write_yaml(tmp_path / "program.yaml", prog)


def solve(path):
    outcome = api.plan(path)
    assert outcome.plan is not None, outcome.solve
    return outcome.plan


def cap(plan, name):
    return next(c for c in plan.caps if c.name == name)


def gpus(plan, site_name):
    return sum(next(s for s in plan.sites if s.name == site_name).gpus.values())


def test_export_cap_moves_gpus_to_another_country(tmp_path):
    sites = [site("kl", "MY", price=30.0), site("tx", "US", price=60.0)]
    free = solve(program(tmp_path, sites))
    assert gpus(free, "kl") == 20_000  # cheaper power abroad
    capped = solve(program(tmp_path, sites, caps=[{
        "name": "my-cap", "quantity": "gpus_h100e", "max": 5000, "scope": {"countries": ["MY"]},
        "source": "test"}]))
    assert gpus(capped, "kl") <= 5000 and gpus(capped, "tx") >= 15_000
    c = cap(capped, "my-cap")
    assert c.binding and c.value == pytest.approx(5000)
    # shadow price: relaxing by one H100e moves one GPU to the cheaper country
    loose = solve(program(tmp_path, sites, caps=[{
        "name": "my-cap", "quantity": "gpus_h100e", "max": 5008, "scope": {"countries": ["MY"]},
        "source": "test"}]))
    assert (capped.total_cost_usd - loose.total_cost_usd) / 8 == pytest.approx(c.shadow_price, rel=1e-3)


def test_small_orders_are_exempt_from_the_count(tmp_path):
    sites = [site("kl", "MY", price=30.0), site("tx", "US", price=60.0)]
    rule = {"name": "tier2", "quantity": "gpus_h100e", "max": 0, "scope": {"countries": ["MY"]},
            "exempt_orders_below_h100e": 1700, "source": "LPP test"}
    p = solve(program(tmp_path, sites, caps=[rule]))
    assert 1600 <= gpus(p, "kl") <= 1700  # the largest exempt order, in whole servers


def test_compute_share_keeps_half_in_the_us(tmp_path):
    sites = [site("kl", "MY", price=30.0), site("tx", "US", price=60.0)]
    p = solve(program(tmp_path, sites, caps=[{
        "name": "us-half", "quantity": "compute_share", "min": 0.5, "scope": {"countries": ["US"]},
        "source": "UVEU"}]))
    assert gpus(p, "tx") == pytest.approx(10_000, abs=8)
    assert cap(p, "us-half").binding


def test_nox_cap_swaps_turbines_for_grid(tmp_path):
    s = site("gas", price=90.0, fuel={"gas_price_usd_per_mmbtu": 2.0},
             technologies={"gas": [{"type": "lm6000", "max_units": 4}]})
    free = solve(program(tmp_path, [s], target=60_000))
    assert free.nox_t > 200
    capped = solve(program(tmp_path, [s], target=60_000, caps=[{"name": "permit", "quantity": "nox_t", "max": 60,
                                                 "scope": {"sites": ["gas"]}, "source": "air permit"}]))
    assert capped.nox_t <= 60 * (1 + 1e-6)
    units = lambda p: p.sites[0].capacity["gas_lm6000_units"]  # noqa: E731
    assert units(capped) < units(free)
    assert capped.sites[0].energy_mwh["grid"] > free.sites[0].energy_mwh.get("grid", 0)
    assert cap(capped, "permit").binding and cap(capped, "permit").shadow_price > 0


def test_major_source_switch_exceeds_the_threshold_when_it_pays(tmp_path):
    s = site("gas", price=90.0, fuel={"gas_price_usd_per_mmbtu": 2.0},
             technologies={"gas": [{"type": "lm6000", "max_units": 4}]})
    rule = {"name": "title-v", "quantity": "nox_t", "max": 20, "scope": {"sites": ["gas"]}, "source": "CAA",
            "major_source": {"cost_usd_per_year": 1000, "lead_time_months": 18}}
    cheap = solve(program(tmp_path, [s], caps=[rule]))
    assert cheap.nox_t > 20 and "major source" in cap(cheap, "title-v").note
    assert cheap.cost_components()["major_source_permit"] == pytest.approx(1000)
    rule["major_source"]["cost_usd_per_year"] = 1e9
    dear = solve(program(tmp_path, [s], caps=[rule]))
    assert dear.nox_t <= 20 + 1e-6



def test_major_source_switch_is_bounded_by_the_grid_in_force_in_each_period(tmp_path):
    """A build-out on a grid that steps from 10 to 200 MW: once a major source, the site may emit
    what the later period's grid can bring (the switch's bound is the model's own, not the base
    grid's 10 MW at a literal intensity)."""
    s = site("stepgrid")
    s["grid"].update(max_import_mw=10, co2_t_per_mwh=0.9, steps=[{"date": "2026-07-01", "max_import_mw": 200}])
    s["cooling"] = [{"type": "air_economizer", "pue": 1.2, "lead_time_months": 0}]
    rule = {"name": "title-v", "quantity": "co2_t", "max": 1000, "source": "test",
            "major_source": {"cost_usd_per_year": 100_000}}
    write_yaml(tmp_path / "stepgrid.yaml", s)
    path = write_yaml(tmp_path / "program.yaml", {
        "kind": "program", "name": "p", "sites": ["stepgrid.yaml"], "caps": [rule],
        "horizon": {"start": "2026-01-01", "years": 2}, "time": {"typical_days": 2},
        "compute": {"gpus": [{"model": "h100_sxm", "lead_time_months": 0}]},
        "buildout": {"period": "quarter", "targets": [{"date": "2026-10-01", "gpus": 40000}]}})
    plan = solve(path)
    assert plan.total_gpus == 40000
    last = plan.timeline.periods[-1]
    assert last.co2_t > 50 * 1000  # a quarter's emissions, far above the yearly threshold: the permit was bought
    assert plan.timeline.sites_by_period[-1][0].costs_usd["major_source_permit"] == pytest.approx(100_000)

def test_hourly_matching_adds_storage(tmp_path):
    cf = daily([0.0] * 7 + [0.6, 0.9, 1.0, 1.0, 1.0, 1.0, 0.9, 0.6] + [0.0] * 9)
    write_csv(tmp_path / "cf.csv", {"solar_cf": cf})
    s = site("sun", price=40.0, technologies={"solar": {"max_mw": 500, "capacity_factor": {"csv": "cf.csv"}},
                                              "battery": {"type": "li_ion_lfp"}})
    free = solve(program(tmp_path, [s], typical_days=1))
    assert free.sites[0].capacity["battery_mw"] == pytest.approx(0, abs=1e-6)
    matched = solve(program(tmp_path, [s], typical_days=1, caps=[{
        "name": "cfe", "quantity": "hourly_cfe_share", "min": 0.6, "source": "24/7 CFE"}]))
    assert matched.sites[0].capacity["battery_mw"] > 1
    assert cap(matched, "cfe").value == pytest.approx(0.6, abs=1e-6)


def test_hourly_matching_reports_the_share_the_dispatch_reaches(tmp_path):
    cf = daily([0.0] * 7 + [0.6, 0.9, 1.0, 1.0, 1.0, 1.0, 0.9, 0.6] + [0.0] * 9)
    write_csv(tmp_path / "cf.csv", {"solar_cf": cf})
    s = site("sun", price=400.0, technologies={"solar": {"max_mw": 500, "capacity_factor": {"csv": "cf.csv"}}})
    p = solve(program(tmp_path, [s], typical_days=1, caps=[{
        "name": "cfe", "quantity": "hourly_cfe_share", "min": 0.05, "source": "24/7 CFE"}]))
    d = p.sites[0].dispatch  # dear grid power: solar covers the daytime, well above the 5 % floor
    share = float(np.sum(d["weight"] * np.minimum(d["load_mw"], d["solar_mw"])) / np.sum(d["weight"] * d["load_mw"]))
    assert share > 0.2
    assert cap(p, "cfe").value == pytest.approx(share, rel=1e-6) and not cap(p, "cfe").binding


def test_hourly_matching_columns_are_dispatch_so_the_decomposition_keeps_them_out_of_its_master(tmp_path):
    """A column an hour of clean supply matched had been an anonymous cap column, which the
    decomposition took for design: its master held one an hour, and HiGHS's cuts on it took a
    minute a round (an audit's full year ran out of 300 s with no plan; now about 100 s)."""
    import pyomo.core as pyo

    from dcplan.loader import load_program
    from dcplan.model import build_model
    from dcplan.model.context import is_operational

    cf = daily([0.0] * 7 + [0.6, 0.9, 1.0, 1.0, 1.0, 1.0, 0.9, 0.6] + [0.0] * 9)
    write_csv(tmp_path / "cf.csv", {"solar_cf": cf})
    s = site("sun", technologies={"solar": {"max_mw": 500, "capacity_factor": {"csv": "cf.csv"}}})
    path = program(tmp_path, [s], typical_days=1, caps=[{
        "name": "cfe", "quantity": "hourly_cfe_share", "min": 0.3, "source": "24/7 CFE"}])
    model = build_model(load_program(path), 1).model
    design = [v for v in model.component_objects(pyo.Var, descend_into=True) if not is_operational(v)]
    assert sum(len(v) for v in design) < 100  # what is built and chosen: no column an hour
    matched = [v for v in model.component_objects(pyo.Var, descend_into=True) if v.local_name.startswith("cap_matched")]
    assert matched and all(is_operational(v) for v in matched)


def test_annual_renewable_share_builds_solar(tmp_path):
    cf = daily([0.0] * 7 + [0.6, 0.9, 1.0, 1.0, 1.0, 1.0, 0.9, 0.6] + [0.0] * 9)
    write_csv(tmp_path / "cf.csv", {"solar_cf": cf})
    s = site("sun", price=40.0, technologies={"solar": {"max_mw": 500, "capacity_factor": {"csv": "cf.csv"}}})
    outcome = api.plan(program(tmp_path, [s], typical_days=1, caps=[{
        "name": "re", "quantity": "renewable_share", "min": 0.25, "source": "EnEfG"}]))
    p = outcome.plan
    # at the cap, which binds (solar is dearer than the grid): the decomposed plan is a vertex
    assert outcome.solve.strategy == "decompose"
    assert p.sites[0].capacity["solar_mw"] > 1 and cap(p, "re").value == pytest.approx(0.25, abs=1e-6)
    assert cap(p, "re").binding and cap(p, "re").shadow_price > 0


def _two_cooling(s):
    s["cooling"] = [{"type": "air_economizer", "pue": 1.35, "wue_l_per_kwh": 1.5},
                    {"type": "direct_liquid", "pue": 1.3, "wue_l_per_kwh": 0.05}]
    s["catalog"] = {"cooling": {"direct_liquid": {"capex_usd_per_kw_it": 20000}}}
    return s


def test_pue_cap_forces_the_efficient_cooling(tmp_path):
    s = _two_cooling(site("a"))
    s["cooling"][1]["pue"] = 1.15
    assert solve(program(tmp_path, [s])).sites[0].cooling == "air_economizer"
    p = solve(program(tmp_path, [s], caps=[{"name": "pue", "quantity": "pue", "max": 1.2, "source": "EnEfG"}]))
    assert p.sites[0].cooling == "direct_liquid" and cap(p, "pue").value == pytest.approx(1.15)


def test_water_cap_forces_dry_cooling(tmp_path):
    s = _two_cooling(site("a"))
    free = solve(program(tmp_path, [s]))
    assert free.sites[0].cooling == "air_economizer"
    p = solve(program(tmp_path, [s], caps=[{"name": "water", "quantity": "water_m3", "max": 100_000,
                                            "source": "municipal"}]))
    assert p.sites[0].cooling == "direct_liquid" and p.sites[0].water_m3 <= 100_000


def test_grid_import_cap_and_emergency_curtailment_need_onsite_supply(tmp_path):
    s = site("g", price=40.0, fuel={"gas_price_usd_per_mmbtu": 6.0},
             technologies={"gas": [{"type": "wartsila_18v50sg", "max_units": 6}],
                           "battery": {"type": "li_ion_lfp", "duration_h": 4}})
    free = solve(program(tmp_path, [s]))
    assert free.sites[0].capacity["gas_wartsila_18v50sg_units"] == 0
    p = solve(program(tmp_path, [s], caps=[{"name": "import", "quantity": "grid_import_mw", "max": 10,
                                            "source": "MVA budget"}]))
    assert p.sites[0].capacity["grid_peak_import_mw"] <= 10 + 1e-6
    assert p.sites[0].capacity["gas_wartsila_18v50sg_units"] >= 1
    e = solve(program(tmp_path, [s], caps=[{"name": "eea", "quantity": "grid_emergency_import_mw", "max": 0,
                                            "emergency": {"hours_per_year": 20}, "source": "SB 6"}]))
    onsite = e.sites[0].capacity["gas_wartsila_18v50sg_mw"] + e.sites[0].capacity["battery_mw"]
    assert onsite >= e.sites[0].capacity["facility_peak_mw"] - 1e-6
    assert cap(e, "eea").value == pytest.approx(0, abs=1e-6)


def test_a_grid_import_cap_over_two_sites_caps_their_total_each_hour_unless_each_site(tmp_path):
    """By default a cap binds its scope as a whole: two sites under one 10 MW import cap import
    10 MW together in any hour (it capped each at 10, 20 MW together, a review found); `each: site`
    caps each."""
    sites = [site(n, price=40.0, fuel={"gas_price_usd_per_mmbtu": 6.0},
                  technologies={"gas": [{"type": "wartsila_18v50sg", "max_units": 6}]}) for n in ("a", "b")]
    imports = {}
    for each in ("scope", "site"):
        p = solve(program(tmp_path, sites, target=20_000, caps=[{"name": "import", "quantity": "grid_import_mw",
                                                                   "max": 10, "each": each, "source": "test"}]))
        grid = sum(s.dispatch["grid_mw"] for s in p.sites)  # the same typical days at both sites
        imports[each] = float(grid.max())
        rows = [c for c in p.caps if c.name == "import"]
        assert len(rows) == (1 if each == "scope" else 2)
        assert max(c.value for c in rows) == pytest.approx(imports[each] if each == "scope" else 10, abs=1e-6)
    assert imports["scope"] <= 10 + 1e-6 < imports["site"]


def test_minimum_take_raises_billed_demand(tmp_path):
    s = site("t", price=40.0)
    s["grid"]["demand_charge_usd_per_kw_month"] = 10
    free = solve(program(tmp_path, [s]))
    p = solve(program(tmp_path, [s], caps=[{"name": "take", "quantity": "billed_demand_fraction", "min": 0.85,
                                            "contract_mw": 100, "source": "AEP Ohio DCT"}]))
    assert p.cost_components()["grid_demand"] == pytest.approx(12 * 85_000 * 10)
    assert p.cost_components()["grid_demand"] > free.cost_components()["grid_demand"]


def test_land_cap_limits_solar(tmp_path):
    cf = daily([0.0] * 7 + [0.6, 0.9, 1.0, 1.0, 1.0, 1.0, 0.9, 0.6] + [0.0] * 9)
    write_csv(tmp_path / "cf.csv", {"solar_cf": cf})
    s = site("sun", price=150.0, technologies={"solar": {"max_mw": 500, "capacity_factor": {"csv": "cf.csv"}}})
    free = solve(program(tmp_path, [s], typical_days=1))
    assert free.sites[0].capacity["solar_mw"] > 20
    p = solve(program(tmp_path, [s], typical_days=1, caps=[{"name": "land", "quantity": "land_acres", "max": 60,
                                                            "building_acres": 5, "source": "parcel"}]))
    from dcplan.catalog import builtin_catalog
    per_mw = builtin_catalog().renewables["utility_pv"].land_acres_per_mw
    assert p.sites[0].capacity["solar_mw"] == pytest.approx(55 / per_mw, rel=1e-6)


def test_budget_cap_on_one_site_moves_gpus(tmp_path):
    sites = [site("cheap", price=30.0), site("dear", price=60.0)]
    p = solve(program(tmp_path, sites, caps=[{"name": "capex", "quantity": "cost_usd", "max": 100e6,
                                              "scope": {"sites": ["cheap"]}, "source": "board"}]))
    assert next(s for s in p.sites if s.name == "cheap").total_cost_usd <= 100e6 * (1 + 1e-9)
    assert gpus(p, "dear") > 0


def test_backup_engine_hours(tmp_path):
    s = site("b", price=200.0, fuel={"gas_price_usd_per_mmbtu": 2.0},
             technologies={"gas": [{"type": "wartsila_18v50sg", "max_units": 4, "existing_units": 2,
                                    "role": "backup"}]})
    free = solve(program(tmp_path, [s]))
    assert free.sites[0].energy_mwh["gas_wartsila_18v50sg"] > 1000
    p = solve(program(tmp_path, [s], caps=[{"name": "rice", "quantity": "backup_engine_hours", "max": 50,
                                            "each": "site", "source": "NSPS JJJJ"}]))
    units = p.sites[0].capacity["gas_wartsila_18v50sg_units"]
    assert p.sites[0].energy_mwh["gas_wartsila_18v50sg"] <= 50 * 18.8 * units * (1 + 1e-6)
    s["location"]["elevation_m"] = 2000  # the engines give 0.95 of 18.8 MW: 50 h at that, not at 18.8
    p = solve(program(tmp_path, [s], caps=[{"name": "rice", "quantity": "backup_engine_hours", "max": 50,
                                            "each": "site", "source": "NSPS JJJJ"}]))
    units = p.sites[0].capacity["gas_wartsila_18v50sg_units"]
    assert p.sites[0].energy_mwh["gas_wartsila_18v50sg"] == pytest.approx(50 * 0.95 * 18.8 * units, rel=1e-6)


def test_onsite_dispatchable_share(tmp_path):
    s = site("ie", "IE", price=40.0, fuel={"gas_price_usd_per_mmbtu": 6.0},
             technologies={"gas": [{"type": "wartsila_18v50sg", "max_units": 10}]})
    s["grid"]["max_import_mw"] = 30
    p = solve(program(tmp_path, [s], target=15_000, caps=[{
        "name": "cru", "quantity": "onsite_dispatchable_share", "min": 1.0, "source": "CRU/2025/236"}]))
    assert p.sites[0].capacity["gas_wartsila_18v50sg_mw"] >= 30


def test_links_cluster_and_share(tmp_path):
    sites = [site("a", price=30.0), site("b", price=60.0), site("c", price=61.0)]
    p = solve(program(tmp_path, sites, links={"max_compute_share_per_site": 0.4, "min_gpus_in_one_site": 7000}))
    for s in p.sites:
        assert sum(s.gpus.values()) <= 0.4 * 20_000 + 8
    assert max(sum(s.gpus.values()) for s in p.sites) >= 7000


@pytest.mark.parametrize("links, named", [({"max_compute_share_per_site": 0.4}, "links.max_compute_share_per_site"),
                                           ({"min_gpus_in_one_site": 30_000}, "links.min_gpus_in_one_site")])
def test_links_that_cannot_hold_are_named(tmp_path, links, named):
    """One site cannot hold at most 40 % of the compute, nor a cluster larger than the target:
    the diagnosis names the link (it had said 'compute target' alone)."""
    from dcplan.diagnose import conflict_summary
    from dcplan.loader import load_program

    outcome = api.plan(program(tmp_path, [site("a")], links=links))
    assert outcome.plan is None and outcome.solve.status == "infeasible"
    [line] = conflict_summary(load_program(tmp_path / "program.yaml"))
    assert f"{named} at " in line and "program.yaml:" in line, line


def test_cap_out_of_force_is_reported_not_applied(tmp_path):
    p = solve(program(tmp_path, [site("a")], caps=[{"name": "later", "quantity": "gpus", "max": 10,
                                                    "in_force_from": "2040-01-01", "source": "future"}]))
    assert gpus(p, "a") == 20_000 and not cap(p, "later").in_force


def test_presets_load_and_apply(tmp_path):
    from dcplan.rules import load_preset, preset_names
    names = preset_names()
    assert "ai-diffusion-2025" in names
    for n in names:
        preset = load_preset(n)
        assert preset.name == n and preset.source and all(c.source for c in preset.caps)
    sites = [site("kl", "MY", price=30.0), site("tx", "US", price=60.0)]
    p = solve(program(tmp_path, sites, target=120_000, presets=["ai-diffusion-2025"]))
    assert gpus(p, "kl") <= 49_900 + 1700 + 8


def test_unknown_preset_and_scope_references_are_input_errors(tmp_path, runner):
    path = program(tmp_path, [site("a")], presets=["ai-diffusion-2052"],
                   caps=[{"name": "x", "quantity": "gpus", "max": 1, "scope": {"groups": ["tier9"]}, "source": "test"}])
    result = run_cli(runner, "validate", path)
    assert result.exit_code == 2
    assert "did you mean 'ai-diffusion-2025'" in result.output
    path = program(tmp_path, [site("a")], caps=[{"name": "x", "quantity": "gpus", "max": 1,
                                                 "scope": {"groups": ["tier9"]}, "source": "test"}])
    result = run_cli(runner, "validate", path)
    assert result.exit_code == 2 and "no country group 'tier9'" in result.output
    with pytest.raises(InputError):
        api.plan(path)


def test_emergency_hours_from_a_csv_of_flags(tmp_path):
    flags = np.zeros(8760)
    flags[4000:4010] = 1
    write_csv(tmp_path / "eea.csv", {"eea_flag": flags})
    s = site("g", price=40.0, fuel={"gas_price_usd_per_mmbtu": 6.0},
             technologies={"battery": {"type": "li_ion_lfp", "duration_h": 12}})
    s["caps"] = [{"name": "eea", "quantity": "grid_emergency_import_mw", "max": 0,
                  "emergency": {"flags": {"csv": "eea.csv"}}, "source": "utility EEA log"}]
    p = solve(program(tmp_path, [s], typical_days=None))
    d = p.sites[0].dispatch
    assert np.all(d["grid_mw"][4000:4010] <= 1e-6) and d["grid_mw"][3990] > 1
    assert p.sites[0].capacity["battery_mwh"] >= 10 * p.sites[0].capacity["facility_peak_mw"] * 0.99


def test_emergency_flags_other_than_0_and_1_are_refused_at_their_row(tmp_path, runner):
    """A flag of 0.5 had read as not flagged and 0.7 as flagged (the range allowed 0..1)."""
    flags = np.zeros(8760)
    flags[4000] = 0.7
    write_csv(tmp_path / "eea.csv", {"eea_flag": flags})
    s = site("g", price=40.0)
    s["caps"] = [{"name": "eea", "quantity": "grid_emergency_import_mw", "max": 0,
                  "emergency": {"flags": {"csv": "eea.csv"}}, "source": "utility EEA log"}]
    result = run_cli(runner, "validate", write_yaml(tmp_path / "g.yaml", s))
    out = " ".join(result.output.split())
    assert result.exit_code == 2 and "eea.csv:4002: column 'eea_flag' value 0.7 is not 0 or 1 (a flag)" in out, out


def test_a_program_caps_emergency_hours_are_read_beside_the_program_and_recorded_with_the_plan(tmp_path, runner):
    """The flags' CSV is named by the program, so it is found beside the program (it had been
    looked for beside the site file: validate passed, plan failed at the site's line); a missing
    one is found by validate at the program's key; the plan records it among its inputs."""
    flags = np.zeros(8760)
    flags[4000:4010] = 1
    write_csv(tmp_path / "eea.csv", {"eea_flag": flags})
    (tmp_path / "sites").mkdir()
    s = site("g", price=40.0, fuel={"gas_price_usd_per_mmbtu": 6.0},
             technologies={"battery": {"type": "li_ion_lfp", "duration_h": 12}})
    write_yaml(tmp_path / "sites" / "g.yaml", s)
    eea = {"name": "eea", "quantity": "grid_emergency_import_mw", "max": 0,
           "emergency": {"flags": {"csv": "eea.csv"}}, "source": "utility EEA log"}
    path = write_yaml(tmp_path / "program.yaml", {
        "kind": "program", "name": "p", "sites": ["sites/g.yaml"], "time": {"typical_days": None},
        "compute": {"gpus": [{"model": "h100_sxm"}], "target": {"gpus": 1000}}, "caps": [eea]})
    p = solve(path)
    assert np.all(p.sites[0].dispatch["grid_mw"][4000:4010] <= 1e-6) and p.sites[0].dispatch["grid_mw"][3990] > 1
    assert (tmp_path / "eea.csv").resolve() in p.inputs and (tmp_path / "sites" / "g.yaml").resolve() in p.inputs
    (tmp_path / "eea.csv").unlink()
    result = run_cli(runner, "validate", path)
    assert result.exit_code == 2 and "program.yaml:" in result.output, result.output
    assert "program.yaml:18: caps[0].emergency.flags.csv: CSV file not found: " in result.output, result.output


def test_emergency_hours_stamped_in_utc_are_read_on_the_sites_clock_by_validate_and_plan_alike(tmp_path, runner):
    """Flags stamped in UTC for a site in Chicago (standard time UTC-6): hour 0 of its year is
    06:00Z. validate and the model read them on the same clock (validate had read them on the
    site's, the model without one: a file one passed, the other refused); a site cap's missing
    flags file is found by validate at its key."""
    import datetime as dt

    start = dt.datetime(2027, 1, 1, 6, tzinfo=dt.timezone.utc)
    rows = ["timestamp,eea_flag"] + [f"{(start + dt.timedelta(hours=h)).isoformat()},{int(4000 <= h < 4010)}"
                                     for h in range(8760)]
    (tmp_path / "eea.csv").write_text("\n".join(rows) + "\n")
    s = site("g", price=40.0, fuel={"gas_price_usd_per_mmbtu": 6.0},
             technologies={"battery": {"type": "li_ion_lfp", "duration_h": 12}})
    s["location"]["timezone"] = "America/Chicago"
    s["caps"] = [{"name": "eea", "quantity": "grid_emergency_import_mw", "max": 0,
                  "emergency": {"flags": {"csv": "eea.csv"}}, "source": "utility EEA log"}]
    path = program(tmp_path, [s], typical_days=None, target=1000)
    assert run_cli(runner, "validate", path).exit_code == 0
    d = solve(path).sites[0].dispatch
    assert np.all(d["grid_mw"][4000:4010] <= 1e-6) and d["grid_mw"][3999] > 1 and d["grid_mw"][4010] > 1
    s["caps"][0]["emergency"]["flags"]["csv"] = "missing.csv"
    result = run_cli(runner, "validate", program(tmp_path, [s], typical_days=None, target=1000))
    assert result.exit_code == 2 and "g.yaml:" in result.output, result.output
    assert "caps[0].emergency.flags.csv: CSV file not found" in result.output, result.output


def co2_capped_site(tmp_path, cap_t: float) -> object:
    """Full year: grid at 0.4 t/MWh, solar (up to 1 MW) at a capacity factor of 0.25 every hour."""
    write_csv(tmp_path / "cf.csv", {"solar_cf": daily([0.25] * 24)})
    s = base_site(technologies={"solar": {"max_mw": 1, "capacity_factor": {"csv": "cf.csv"}}},
                  caps=[{"name": "permit", "quantity": "co2_t", "max": cap_t, "source": "test"}])
    s["grid"]["co2_t_per_mwh"] = 0.4
    return write_yaml(tmp_path / "site.yaml", s)


def test_a_co2_cap_below_the_floor_is_proved_infeasible_without_a_solve_and_at_the_floor_has_a_plan(tmp_path):
    """By hand: 1,000 H100 at PUE 1.2 draw 1.70 MW every hour; the most solar makes is 0.25 MW,
    so the grid brings at least 1.45 MW at 0.4 t/MWh: the floor is 1.45 x 8,760 x 0.4 t."""
    load_mw = 1000 * (1275 + 141.7) / 1e6 * 1.2
    floor_t = (load_mw - 0.25) * 8760 * 0.4
    below = api.plan(co2_capped_site(tmp_path, floor_t * 0.999), typical_days=0)
    assert below.plan is None and below.infeasible and below.solve.lp_solves == 0  # the arithmetic, no solve
    assert "cap permit" in below.reasons[0] and f"at least {floor_t:,.0f}" in below.reasons[0]
    at = api.plan(co2_capped_site(tmp_path, floor_t * 1.001), typical_days=0).plan
    assert at is not None and floor_t <= at.co2_t <= floor_t * 1.001 * (1 + 1e-9)  # nearly all the solar it may build


def test_a_binding_cap_without_duals_says_its_shadow_price_was_not_computed():
    """A plan stopped at its time limit has no duals: a binding cap's price is unknown, which
    once read as '-' like a cap that costs nothing."""
    from rich.console import Console

    from dcplan.plans.types import CapReport
    from dcplan.terminal import cap_table

    rows = [CapReport("co2-na", "co2_t", "na", "max", 1e6, 1e6, 0.0, True, None, "", "program", "test", "p.yaml", 3),
            CapReport("nox", "nox_t", "na", "max", 90, 40, 50, False, 0.0, "USD/yr per t", "program", "", "p.yaml", 4)]

    class Shown:
        caps = rows

    console = Console(record=True, width=200)
    console.print(cap_table(Shown()))
    lines = console.export_text().splitlines()
    assert "not computed" in next(line for line in lines if "co2-na" in line)
    assert "not computed" not in next(line for line in lines if "nox" in line)


def test_the_sites_land_holds_what_solar_takes_and_check_names_it(tmp_path, runner):
    """At $400/MWh solar is worth building past the daytime load (about 57 MW); land for 20 MW
    (utility PV at the catalog's acres per MW) holds it there. land_available_acres had been read
    and ignored. A committed plan that takes more land than a later site file gives is caught."""
    from dcplan.catalog import builtin_catalog

    per_mw = builtin_catalog().renewables["utility_pv"].land_acres_per_mw
    cf = daily([0.0] * 7 + [0.6, 0.9, 1.0, 1.0, 1.0, 1.0, 0.9, 0.6] + [0.0] * 9)
    write_csv(tmp_path / "cf.csv", {"solar_cf": cf})
    s = site("sun", price=400.0, technologies={"solar": {"max_mw": 500, "capacity_factor": {"csv": "cf.csv"}}})
    assert solve(program(tmp_path, [s], typical_days=1)).sites[0].capacity["solar_mw"] > 50
    s["land_available_acres"] = 20 * per_mw
    p = solve(program(tmp_path, [s], typical_days=1))
    assert p.sites[0].capacity["solar_mw"] == pytest.approx(20)
    assert any(b.startswith(f"land: solar takes all {20 * per_mw:,.0f} acres") for b in p.sites[0].binding)
    assert run_cli(runner, "plan", tmp_path / "program.yaml", "-o", tmp_path / "plans" / "p", "-q").exit_code == 0
    s["land_available_acres"] = 10 * per_mw
    write_yaml(tmp_path / "sun.yaml", s)
    result = run_cli(runner, "check", tmp_path / "program.yaml", "--plan", tmp_path / "plans")
    out = " ".join(result.output.split())
    assert result.exit_code == 1 and "land taken by solar" in out and "land_available_acres" in out, out


def test_a_cap_met_to_a_designs_accuracy_is_at_its_limit():
    """A renewable share of 0.250003 against a 0.25 minimum had read as not binding (the tolerance
    was 1e-6), though the plan's solar was sized to it and a lower limit saved $56 k a year (an
    audit): a cap within 1e-5 of its limit (at least of 1) sits at it; one 1e-4 away does not."""
    from dcplan.model.results import at_limit_tolerance

    assert 3e-6 <= at_limit_tolerance(0.25) < 1e-4
    assert at_limit_tolerance(1e6) == pytest.approx(10.0)  # 10 t of a million-tonne CO2 cap
