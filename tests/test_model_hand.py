"""The sizing model against answers derived by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import base_site, daily, run_cli, write_csv, write_yaml
from typer.testing import CliRunner

from dcplan import api
from dcplan.catalog import builtin_catalog
from dcplan.cli import app
from dcplan.formulas import capital_recovery_factor
from dcplan.series import HOURS_PER_YEAR

CAT = builtin_catalog()
H100 = CAT.gpus["h100_sxm"]


def it_mw(gpus: int) -> float:
    """Design IT of H100s: 1,275 W of server and 141.7 W of cluster per GPU, fully provisioned."""
    return gpus * (H100.it_power_per_gpu_w + H100.cluster_w_per_gpu) / 1e6


def plan(tmp_path, site, **kw):
    outcome = api.plan(write_yaml(tmp_path / "site.yaml", site), **kw)
    assert outcome.plan is not None, outcome.solve
    return outcome.plan


def test_capital_recovery_factor_matches_annuity_formula():
    r, n = 0.08, 20
    assert capital_recovery_factor(r, n) == pytest.approx(r * (1 + r) ** n / ((1 + r) ** n - 1))
    assert capital_recovery_factor(0.0, 10) == pytest.approx(0.1)


def test_grid_only_cost_is_price_times_load_plus_demand_charges(tmp_path):
    price = daily([30] * 8 + [90] * 12 + [40] * 4)
    write_csv(tmp_path / "price.csv", {"price_usd_per_mwh": price})
    site = base_site()
    site["grid"].update({"energy_price_usd_per_mwh": {"csv": "price.csv"},
                         "demand_charge_usd_per_kw_month": 12.5})
    p = plan(tmp_path, site)
    load = it_mw(1000) * 1.2
    costs = p.sites[0].costs_usd
    assert costs["grid_energy"] == pytest.approx(float(np.sum(price)) * load, rel=1e-9)
    assert costs["grid_demand"] == pytest.approx(12 * load * 1000 * 12.5, rel=1e-9)
    assert p.sites[0].energy_mwh["grid"] == pytest.approx(load * HOURS_PER_YEAR, rel=1e-9)


def test_gas_only_with_n_plus_one_builds_ceil_peak_over_unit_plus_one(tmp_path):
    unit = CAT.generators["lm6000"].unit_mw
    gpus = 100_000
    peak = it_mw(gpus) * 1.25
    site = base_site(fuel={"gas_price_usd_per_mmbtu": 3.0},
                     technologies={"gas": [{"type": "lm6000", "max_units": 20}]})
    del site["grid"]  # islanded: N+1 is required by default
    site["cooling"] = [{"type": "air_economizer", "pue": 1.25}]
    site["compute"]["target"] = {"gpus": gpus}
    p = plan(tmp_path, site)
    units = p.sites[0].capacity["gas_lm6000_units"]
    assert units == math.ceil(peak / unit) + 1
    assert any("N+1" in b for b in p.sites[0].binding)



def test_a_unit_trip_the_grid_cannot_cover_is_said(tmp_path):
    """Grid-tied, N+1 is off by default; 100k GPUs at PUE 1.2 (170 MW) on a 100 MW connection
    need 2 LM6000 (49 MW each). With one tripped at the peak, 100 + 49 = 149 MW: 21 MW short,
    said beside the binding limits (nothing is said once n_plus_one is set)."""
    unit = CAT.generators["lm6000"].unit_mw
    gpus = 100_000
    site = base_site(fuel={"gas_price_usd_per_mmbtu": 3.0},
                     technologies={"gas": [{"type": "lm6000", "max_units": 20}]})
    site["compute"]["target"] = {"gpus": gpus}
    p = plan(tmp_path, site, typical_days=2)
    s = p.sites[0]
    assert s.capacity["gas_lm6000_units"] == 2
    short = it_mw(gpus) * 1.2 - (100 + unit)
    assert s.unguarded_trip_short_mw == pytest.approx(short, rel=1e-6)
    assert any(b.startswith("no spare unit kept") and f"{short:,.1f} MW short" in b for b in s.binding)
    # a battery of 10 MW and 8 MWh counts, as N+1 counts it, for what it can hold for 4 h out of
    # what it holds at the peak: at most 8 MWh x sqrt(0.85) out / 4 h = 1.84 MW; at a flat price
    # the plan leaves it empty, and an empty battery counts for nothing (it had counted 1.84 MW
    # whatever it held; at full power, 10 MW, before that)
    site["technologies"]["battery"] = {"max_power_mw": 0, "existing_power_mw": 10, "existing_energy_mwh": 8}
    s = plan(tmp_path, site, typical_days=2).sites[0]
    eta_out = CAT.storage["li_ion_lfp"].one_way_efficiencies()[1]
    assert s.capacity["gas_lm6000_units"] == 2 and eta_out == pytest.approx(0.85 ** 0.5)
    held = s.dispatch["battery_soc_mwh"][int(np.argmax(s.dispatch["load_mw"]))]
    assert held == pytest.approx(0.0, abs=1e-6)
    assert s.unguarded_trip_short_mw == pytest.approx(short - min(10, held * eta_out / 4), rel=1e-6)
    assert not any("the battery's" in b for b in s.binding)
    # dear at 01:00 each day, so that it is charged at midnight (the flat load's first peak step):
    # then it counts for the power it can hold for 4 h out of that charge
    write_csv(tmp_path / "price.csv", {"price_usd_per_mwh": daily([50, 120] + [50] * 22)})
    site["grid"]["energy_price_usd_per_mwh"] = {"csv": "price.csv"}
    s = plan(tmp_path, site, typical_days=2).sites[0]
    held = s.dispatch["battery_soc_mwh"][int(np.argmax(s.dispatch["load_mw"]))]
    counted = min(10, held * eta_out / 4)
    assert s.capacity["gas_lm6000_units"] == 2 and held > 1
    assert s.unguarded_trip_short_mw == pytest.approx(short - counted, rel=1e-6)
    assert any(f"the battery's {counted:,.1f} MW for 4 h" in b for b in s.binding)
    site["reliability"] = {"n_plus_one": False}
    assert not any(b.startswith("no spare unit kept") for b in plan(tmp_path, site, typical_days=2).sites[0].binding)


def test_a_fuel_other_than_natural_gas_is_counted_at_its_own_co2_factor(tmp_path):
    """Diesel engines (73.96 kg CO2/MMBtu, EPA 40 CFR 98 Table C-1) on an islanded site: CO2 is
    the fuel burned times the fuel's factor, the load x PUE every hour."""
    gen = CAT.generators["wartsila_18v50sg"]
    site = base_site(fuel={"gas_price_usd_per_mmbtu": 15.0, "co2_t_per_mmbtu": 0.07396},
                     technologies={"gas": [{"type": "wartsila_18v50sg", "max_units": 4}]},
                     reliability={"n_plus_one": False})
    del site["grid"]
    p = plan(tmp_path, site, typical_days=2)
    burned = it_mw(1000) * 1.2 * HOURS_PER_YEAR * gen.heat_rate_mmbtu_per_mwh
    assert p.co2_t == pytest.approx(burned * 0.07396, rel=1e-6)
    assert p.sites[0].costs_usd["gas_fuel"] == pytest.approx(burned * 15.0, rel=1e-6)


def _battery_site(tmp_path, low, high, power_mw, duration_h):
    price = daily([low] * 12 + [high] * 12)
    write_csv(tmp_path / "price.csv", {"price_usd_per_mwh": price})
    site = base_site(technologies={"battery": {"type": "li_ion_lfp", "max_power_mw": power_mw,
                                               "duration_h": duration_h}})
    site["grid"].update({"energy_price_usd_per_mwh": {"csv": "price.csv"}, "max_import_mw": 500})
    site["compute"]["target"] = {"gpus": 40_000}
    return site


def test_two_price_battery_arbitrage(tmp_path):
    low, high, power, duration = 20.0, 600.0, 10.0, 12.0
    p = plan(tmp_path, _battery_site(tmp_path, low, high, power, duration))
    rte = CAT.storage["li_ion_lfp"].round_trip_efficiency
    load = it_mw(40_000) * 1.2
    s = p.sites[0]
    assert s.capacity["battery_mw"] == pytest.approx(power)
    # charging is power-limited (10 MW for 12 cheap hours); 120 MWh in returns 120*RTE out,
    # spread over the 12 dear hours.
    per_day = 12 * low * (load + power) + 12 * high * (load - power * rte)
    assert s.costs_usd["grid_energy"] == pytest.approx(365 * per_day, rel=1e-7)
    spec = CAT.storage["li_ion_lfp"]
    capex = power * 1000 * (spec.power_capex_usd_per_kw + duration * spec.energy_capex_usd_per_kwh)
    assert s.costs_usd["battery_capex"] == pytest.approx(
        capex * capital_recovery_factor(0.08, spec.lifetime_years), rel=1e-9)



def test_at_negative_prices_an_hours_charge_and_discharge_share_the_battery_power(tmp_path):
    """The grid pays $50 a MWh taken all year: the battery (10 MW existing) takes more than the
    load by charging and discharging in the same hours, burning the round trip's loss. In an hour
    it may charge for part of it and discharge for the rest: with charge c, discharge d = RTE c
    (a full state of charge kept) and c + d = 10 MW, it adds 10 (1 - RTE) / (1 + RTE) MW to the
    import (held each to 10 MW alone, it had added 10 (1 - RTE))."""
    site = base_site(technologies={"battery": {"type": "li_ion_lfp", "max_power_mw": 0,
                                               "existing_power_mw": 10, "existing_energy_mwh": 40}})
    site["grid"]["energy_price_usd_per_mwh"] = -50.0
    s = plan(tmp_path, site, typical_days=2).sites[0]
    rte = CAT.storage["li_ion_lfp"].round_trip_efficiency
    extra_mw = 10 * (1 - rte) / (1 + rte)
    assert s.costs_usd["grid_energy"] == pytest.approx(-50.0 * HOURS_PER_YEAR * (it_mw(1000) * 1.2 + extra_mw), rel=1e-7)
    d = s.dispatch
    assert (d["battery_charge_mw"] + d["battery_discharge_mw"]).max() <= 10 + 1e-6


def test_one_way_battery_efficiencies_split_the_round_trip(tmp_path):
    """All the loss on the way in (charge 85 %, discharge 100 %): the state of charge rises by
    0.85 MWh per MWh charged and falls 1:1; the arbitrage pays what the round trip gives."""
    site = _battery_site(tmp_path, 20.0, 600.0, 10.0, 12.0)
    site["catalog"] = {"storage": {"li_ion_lfp": {"charge_efficiency": 0.85, "discharge_efficiency": 1.0}}}
    s = plan(tmp_path, site).sites[0]
    d = s.dispatch
    soc, charge, discharge = d["battery_soc_mwh"], d["battery_charge_mw"], d["battery_discharge_mw"]
    np.testing.assert_allclose(soc - np.roll(soc, 1), 0.85 * charge - discharge, atol=1e-6)
    assert discharge.sum() == pytest.approx(0.85 * charge.sum(), rel=1e-9)
    load = it_mw(40_000) * 1.2  # the arbitrage pays as with the round trip split evenly
    assert s.costs_usd["grid_energy"] == pytest.approx(365 * (12 * 20.0 * (load + 10) + 12 * 600.0 * (load - 10 * 0.85)),
                                                       rel=1e-7)

def test_energy_mix_shares_add_up_past_battery_losses(tmp_path):
    """The terminal's energy shares are of what the sources make (100 %; the grid's share of the
    load read 100.2 % beside a cycling battery's losses), the battery's discharge has none."""
    runner = CliRunner()
    site = write_yaml(tmp_path / "site.yaml", _battery_site(tmp_path, 20.0, 600.0, 10.0, 12.0))
    result = runner.invoke(app, ["plan", str(site)], env={"COLUMNS": "200"}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    table = result.output.split("Energy mix")[1].split("└")[0]
    rows = {cells[0]: cells[2] for line in table.splitlines()
            if len(cells := [c.strip() for c in line.strip("│ ").split("│")]) == 3 and cells[1][:1].isdigit()}
    assert rows["battery_discharge"] == "-" and rows["grid"] == "100.0%", rows


def test_battery_not_built_when_spread_does_not_pay(tmp_path):
    p = plan(tmp_path, _battery_site(tmp_path, 40.0, 45.0, 10.0, 12.0))
    assert p.sites[0].capacity["battery_mw"] == pytest.approx(0.0, abs=1e-6)


def test_solar_plus_battery_on_a_single_day(tmp_path):
    """Islanded: solar shines at CF 1 for 8 hours; the battery carries the other 16.
    Solar must cover the load plus charging 16 h of load through the round trip."""
    cf = daily([0.0] * 8 + [1.0] * 8 + [0.0] * 8)
    write_csv(tmp_path / "cf.csv", {"solar_cf": cf})
    site = base_site(technologies={"solar": {"max_mw": 1000, "capacity_factor": {"csv": "cf.csv"}},
                                   "battery": {"type": "li_ion_lfp"}},
                     reliability={"n_plus_one": False})
    del site["grid"]
    p = plan(tmp_path, site, typical_days=1)
    assert p.time_resolution == {"method": "typical_days", "steps": 24, "typical_days": 1}
    rte = CAT.storage["li_ion_lfp"].round_trip_efficiency
    load = it_mw(1000) * 1.2
    s = p.sites[0]
    assert s.capacity["solar_mw"] == pytest.approx(load * (1 + 2 / rte), rel=1e-6)
    assert s.capacity["battery_mw"] == pytest.approx(2 * load / rte, rel=1e-6)
    assert s.capacity["battery_mwh"] == pytest.approx(16 * load / math.sqrt(rte), rel=1e-6)


def test_a_battery_counted_firm_keeps_its_hours_in_store(tmp_path):
    """Islanded on solar and a battery alone, N+1 (the default there) counts the battery for the
    power it holds 4 h: the night's 16 h of load ride on top of 4 h of the peak kept in store at
    every hour, each MWh out drawing 1 / sqrt(rte) from store, so the energy is
    (16 + 4) L / sqrt(rte) (it was 16 L / sqrt(rte), the store emptied each night)."""
    cf = daily([0.0] * 8 + [1.0] * 8 + [0.0] * 8)
    write_csv(tmp_path / "cf.csv", {"solar_cf": cf})
    site = base_site(technologies={"solar": {"max_mw": 1000, "capacity_factor": {"csv": "cf.csv"}},
                                   "battery": {"type": "li_ion_lfp"}})
    del site["grid"]
    p = plan(tmp_path, site, typical_days=1)
    rte = CAT.storage["li_ion_lfp"].round_trip_efficiency
    load = it_mw(1000) * 1.2
    s = p.sites[0]
    assert s.capacity["n_plus_one_firm_mw"] == pytest.approx(load, rel=1e-6)
    assert s.capacity["battery_mwh"] == pytest.approx(20 * load / math.sqrt(rte), rel=1e-6)
    assert min(s.dispatch["battery_soc_mwh"]) == pytest.approx(4 * load / math.sqrt(rte), rel=1e-6)


@pytest.mark.parametrize("climate, expected", [(-5.0, "air_economizer"), (35.0, "direct_liquid")])
def test_cooling_choice_flips_with_ambient(tmp_path, climate, expected):
    temperature = np.full(HOURS_PER_YEAR, climate) + 5 * np.sin(np.arange(HOURS_PER_YEAR) / 24 * 2 * np.pi)
    write_csv(tmp_path / "weather.csv", {"ambient_temp_c": temperature})
    site = base_site()
    site["grid"]["energy_price_usd_per_mwh"] = 80
    site["cooling"] = [
        {"type": "air_economizer",
         "pue": {"curve": [[-10, 1.05], [15, 1.1], [30, 1.45], [40, 1.6]], "against": {"csv": "weather.csv"}}},
        {"type": "direct_liquid", "pue": 1.15},
    ]
    site["compute"]["target"] = {"gpus": 20_000}
    p = plan(tmp_path, site)
    assert p.sites[0].cooling == expected


def test_liquid_only_gpus_force_liquid_cooling(tmp_path):
    site = base_site()
    site["cooling"] = [{"type": "air_economizer", "pue": 1.1}, {"type": "direct_liquid", "pue": 1.3}]
    site["compute"] = {"gpus": [{"model": "gb200_nvl72"}], "target": {"gpus": 720}}
    p = plan(tmp_path, site)
    assert p.sites[0].cooling == "direct_liquid"
    assert p.sites[0].gpus["gb200_nvl72"] == 720


def test_gpus_bought_in_whole_purchase_units(tmp_path):
    site = base_site()
    site["compute"] = {"gpus": [{"model": "h100_sxm"}], "target": {"gpus": 1001}}
    p = plan(tmp_path, site)
    assert p.sites[0].gpus["h100_sxm"] == 1008  # 126 servers of 8


def test_max_compute_within_budget(tmp_path):
    site = base_site()
    path = write_yaml(tmp_path / "site.yaml", site)
    write_yaml(tmp_path / "prog.yaml", {
        "kind": "program", "name": "maxc", "sites": ["site.yaml"],
        "compute": {"gpus": [{"model": "h100_sxm"}]},
        "objective": {"sense": "max_compute", "budget_usd_per_year": 50e6}})
    outcome = api.plan(tmp_path / "prog.yaml")
    p = outcome.plan
    assert p.total_cost_usd <= 50e6 * (1 + 1e-9)
    per_server = p.total_cost_usd / (p.total_gpus / 8)
    assert p.total_cost_usd + per_server > 50e6  # one more server would break the budget
    assert path.exists()


def test_infeasible_grid_limit_is_explained(tmp_path, runner):
    from conftest import run_cli
    site = base_site()
    site["grid"]["max_import_mw"] = 10
    site["compute"]["target"] = {"gpus": 20_000}
    path = write_yaml(tmp_path / "site.yaml", site)
    result = run_cli(runner, "plan", path, "--typical-days", "4", "-q")
    assert result.exit_code == 1
    assert "could not be met" in result.output and "grid import ≤ 10 MW" in result.output


def test_infeasible_n_plus_one_is_explained(tmp_path, runner):
    from conftest import run_cli
    site = base_site(fuel={"gas_price_usd_per_mmbtu": 3.0},
                     technologies={"gas": [{"type": "lm6000", "max_units": 2}]})
    del site["grid"]
    site["compute"]["target"] = {"gpus": 100_000}
    result = run_cli(runner, "plan", write_yaml(tmp_path / "site.yaml", site), "-q")
    assert result.exit_code == 1
    assert "N+1 needs firm gas" in result.output


def test_a_fixed_it_load_is_powered_and_cooled_with_or_without_gpus(tmp_path, runner):
    """20 MW of IT that is not GPUs, on the grid at PUE 1.2: energy and cooling by hand; with GPUs
    the two loads add up. Without GPUs the summary has no cost per GPU-hour (it read $nan)."""
    price = 50.0
    site = base_site()
    site["compute"] = {"fixed_it_mw": 20.0}
    p = plan(tmp_path, site, typical_days=2)
    summary = run_cli(runner, "plan", tmp_path / "site.yaml", "--typical-days", "2", "-o", tmp_path / "out")
    assert summary.exit_code == 0 and "0 GPUs · levelised" in summary.output and "nan" not in summary.output
    s = p.sites[0]
    assert s.it_mw == pytest.approx(20.0) and s.gpus == {}
    assert s.costs_usd["grid_energy"] == pytest.approx(20.0 * 1.2 * HOURS_PER_YEAR * price, rel=1e-9)
    cool = CAT.cooling["air_economizer"]
    assert s.costs_usd["cooling"] == pytest.approx(20.0 * 1000 * cool.capex_usd_per_kw_it
                                                   * capital_recovery_factor(0.08, cool.lifetime_years), rel=1e-6)
    site["compute"] = {"gpus": [{"model": "h100_sxm"}], "target": {"gpus": 1000}, "fixed_it_mw": 20.0}
    both = plan(tmp_path, site, typical_days=2).sites[0]
    assert both.it_mw == pytest.approx(20.0 + it_mw(1000))


def test_a_battery_counts_toward_n_plus_one_for_the_power_it_holds_four_hours(tmp_path):
    """Islanded, two gas units of 18.8 MW for a 17 MW design peak: N+1 needs a third unit, or a
    battery that holds the largest unit's shortfall for 4 hours (battery_firm_hours)."""
    unit = CAT.generators["wartsila_18v50sg"].unit_mw
    gpus = 10_000
    peak = it_mw(gpus) * 1.2
    site = base_site(fuel={"gas_price_usd_per_mmbtu": 3.0},
                     technologies={"gas": [{"type": "wartsila_18v50sg", "max_units": 1}],
                                   "battery": {"type": "li_ion_lfp", "max_power_mw": 100}})
    del site["grid"]
    site["cooling"] = [{"type": "air_economizer", "pue": 1.2}]
    site["compute"]["target"] = {"gpus": gpus}
    s = plan(tmp_path, site, typical_days=2).sites[0]
    assert s.capacity["gas_wartsila_18v50sg_units"] == 1 and unit >= peak  # one unit carries the load ...
    # ... and N+1 leaves it out: the battery alone must hold the design peak for 4 hours
    assert s.capacity["battery_mw"] >= peak - 1e-6
    assert s.capacity["battery_mwh"] >= 4 * peak - 1e-5
    assert s.capacity["n_plus_one_firm_mw"] >= peak - 1e-6


def test_a_grid_tied_site_can_ask_for_backup_through_a_grid_outage(tmp_path):
    """With reliability.grid_outage_hours, a grid-tied site's gas units and battery carry the
    design peak on site; without it, the grid alone serves (no gas is built)."""
    gpus = 10_000
    peak = it_mw(gpus) * 1.2
    site = base_site(fuel={"gas_price_usd_per_mmbtu": 20.0},  # dearer than the grid's $50/MWh
                     technologies={"gas": [{"type": "wartsila_18v50sg", "max_units": 4}]})
    site["compute"]["target"] = {"gpus": gpus}
    plain = plan(tmp_path, site, typical_days=2).sites[0]
    assert plain.capacity["gas_wartsila_18v50sg_units"] == 0 and "grid_outage_firm_mw" not in plain.capacity
    site["reliability"] = {"grid_outage_hours": 8}
    backed = plan(tmp_path, site, typical_days=2).sites[0]
    unit = CAT.generators["wartsila_18v50sg"].unit_mw
    assert backed.capacity["gas_wartsila_18v50sg_units"] == math.ceil(peak / unit)  # no spare: not N+1
    assert backed.capacity["grid_outage_firm_mw"] >= peak - 1e-6


def test_oversubscription_is_explicit_and_the_plan_says_what_a_full_job_draws(tmp_path):
    """provisioning_utilisation 0.8 designs for 80 % of the GPUs' all-in power; the plan says how
    much more a job driving every GPU at once would draw."""
    site = base_site()
    site["compute"]["provisioning_utilisation"] = 0.8
    s = plan(tmp_path, site, typical_days=2).sites[0]
    full = it_mw(1000)
    assert s.it_mw == pytest.approx(0.8 * full)
    note = next(b for b in s.binding if b.startswith("oversubscribed"))
    assert f"{full:,.1f} MW" in note and f"{0.2 * full:,.1f} MW more" in note


def test_the_average_draw_sets_energy_apart_from_the_design(tmp_path):
    """average_draw_fraction 0.75: a quarter less energy bought, the same design IT and peak."""
    site = base_site()
    full = plan(tmp_path, site, typical_days=2).sites[0]
    site["compute"]["average_draw_fraction"] = 0.75
    part = plan(tmp_path, site, typical_days=2).sites[0]
    assert part.it_mw == pytest.approx(full.it_mw) == pytest.approx(it_mw(1000))
    assert part.capacity["design_peak_mw"] == pytest.approx(full.capacity["design_peak_mw"])
    assert part.energy_mwh["grid"] == pytest.approx(0.75 * full.energy_mwh["grid"], rel=1e-9)
    assert part.energy_mwh["grid"] == pytest.approx(0.75 * it_mw(1000) * 1.2 * HOURS_PER_YEAR, rel=1e-9)


def test_typical_days_dispatch_the_design_peaks_hour(tmp_path):
    """One hot afternoon (PUE 1.45 in hour 15 of day 100; else a seasonal 1.1-1.3 flat over each
    day) is no typical day's medoid, yet it sets what a grid-tied site must carry: the typical
    days keep its day as a day of its own, so gas is built for it, as on the full year:
    ceil((IT x 1.45 - grid) / unit) units (on medoids alone: for at most 1.3)."""
    unit = CAT.generators["lm6000"].unit_mw
    gpus = 200_000
    day = np.arange(HOURS_PER_YEAR) // 24
    pue = 1.2 + 0.1 * np.sin(2 * np.pi * day / 365)
    hot = 100 * 24 + 15
    pue[hot] = 1.45
    write_csv(tmp_path / "pue.csv", {"pue": pue})
    grid = it_mw(gpus) * 1.2
    site = base_site(fuel={"gas_price_usd_per_mmbtu": 3.0},
                     technologies={"gas": [{"type": "lm6000", "max_units": 20}]})
    site["grid"]["max_import_mw"] = grid
    site["cooling"] = [{"type": "air_economizer", "pue": {"csv": "pue.csv"}}]
    site["compute"]["target"] = {"gpus": gpus}
    needed = math.ceil((it_mw(gpus) * 1.45 - grid) / unit)
    assert needed > math.ceil((it_mw(gpus) * 1.3 - grid) / unit)
    for days in (None, 3):
        p = plan(tmp_path, site, typical_days=days)
        assert p.sites[0].capacity["gas_lm6000_units"] == needed, days
    assert p.time_resolution["typical_days"] == 4 and p.time_resolution["peak_days"] == 1


def test_typical_days_that_miss_the_years_mean_price_say_so(tmp_path):
    """A daily price cycle with 15 one-hour spikes to $3,000 on days drawn at random: the medoids of
    4 typical days are ordinary days, so the plan's mean price (its steps' prices by their weights)
    falls short of the year's by more than 3 %. The plan says so beside its figures, with both
    means; the full year, which has every hour, says nothing."""
    rng = np.random.default_rng(1)
    hour = np.arange(8760)
    price = 40 + 10 * np.sin(2 * np.pi * (hour % 24) / 24) + rng.normal(0, 3, 8760)
    for day in rng.choice(365, 15, replace=False):
        price[day * 24 + rng.integers(0, 24)] = 3000.0
    write_csv(tmp_path / "price.csv", {"price_usd_per_mwh": price})
    site = base_site()
    site["grid"]["energy_price_usd_per_mwh"] = {"csv": "price.csv", "column": "price_usd_per_mwh"}
    path = write_yaml(tmp_path / "site.yaml", site)
    s = api.plan(path, typical_days=4).plan.sites[0]
    w, hours = s.dispatch["weight"], s.dispatch["hour_of_year"].astype(int)
    days = float(np.sum(w * price[hours]) / np.sum(w))
    assert days < 0.97 * price.mean()
    [note] = [b for b in s.binding if b.startswith("typical days")]
    assert f"mean grid price at {days:,.4g} $/MWh, the hours they stand for at {price.mean():,.4g} $/MWh" in note
    assert not [b for b in api.plan(path, typical_days=0).plan.sites[0].binding if b.startswith("typical days")]
