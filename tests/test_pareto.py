"""Cost against CO2 (pareto): a curve derived by hand, each point re-solved as a program with a
CO2 cap of its own, the set monotone, and the changes between neighbouring points named."""

from __future__ import annotations

import pytest
from conftest import base_site, daily, run_cli, write_csv, write_yaml

from dcplan import api
from dcplan.catalog import builtin_catalog
from dcplan.formulas import capital_recovery_factor
from dcplan.series import HOURS_PER_YEAR

CAT = builtin_catalog()
GRID_PRICE, GRID_CO2, SOLAR_CF = 50.0, 0.4, 0.25


def pareto_program(tmp_path, site: dict, points: int, **program) -> object:
    write_yaml(tmp_path / "site.yaml", site)
    return write_yaml(tmp_path / "program.yaml", {"kind": "program", "name": "curve", "sites": ["site.yaml"],
                                                  "time": {"typical_days": 1}, "pareto": {"co2_points": points},
                                                  **program})


def grid_and_solar_site(tmp_path) -> dict:
    """Grid at $50/MWh and 0.4 t/MWh; solar at a capacity factor of 0.25 every hour (so every
    MW of solar displaces the same grid energy in every hour, up to the whole load)."""
    write_csv(tmp_path / "cf.csv", {"solar_cf": daily([SOLAR_CF] * 24)})
    site = base_site(technologies={"solar": {"max_mw": 100, "capacity_factor": {"csv": "cf.csv"}}})
    site["grid"]["co2_t_per_mwh"] = GRID_CO2
    return site


def test_the_curve_of_grid_against_solar_is_the_line_derived_by_hand(tmp_path):
    """By hand: the load L is met by grid and by solar S MW (S x 0.25 every hour). Solar costs
    its annuity and fixed O&M per MW; per MWh that is above the grid's $50, so the least-cost
    plan builds none and emits 0.4 x L x 8,760 t; the least CO2 is 0 (S = L / 0.25). Between,
    the limit e needs S = (L - e / (0.4 x 8,760)) / 0.25, and each tonne avoided costs
    (solar's cost per MWh - $50) / 0.4 t/MWh, on average and at the margin alike."""
    outcome = api.plan(pareto_program(tmp_path, grid_and_solar_site(tmp_path), points=5))
    plan = outcome.plan
    load = plan.sites[0].energy_mwh["grid"] / HOURS_PER_YEAR
    pv = CAT.renewables["utility_pv"]
    usd_per_mw_year = pv.capex_usd_per_kw * 1e3 * capital_recovery_factor(0.08, pv.lifetime_years) \
        + pv.fixed_om_usd_per_kw_year * 1e3
    solar_usd_per_mwh = usd_per_mw_year / (SOLAR_CF * HOURS_PER_YEAR)
    assert solar_usd_per_mwh > GRID_PRICE  # so the least-cost plan has no solar
    usd_per_t = (solar_usd_per_mwh - GRID_PRICE) / GRID_CO2

    points = plan.pareto["points"]
    most = GRID_CO2 * load * HOURS_PER_YEAR
    assert [p["co2_t"] for p in points] == pytest.approx([most * k / 4 for k in range(5)], abs=1e-3 * most)
    assert points[-1]["cost_usd"] == pytest.approx(plan.total_cost_usd, rel=1e-9) and points[-1]["extra_cost_usd"] == 0
    for p in points[:-1]:
        solar_mw = (load - p["co2_t"] / (GRID_CO2 * HOURS_PER_YEAR)) / SOLAR_CF
        assert p["extra_cost_usd"] == pytest.approx(solar_mw * SOLAR_CF * HOURS_PER_YEAR * (solar_usd_per_mwh - GRID_PRICE),
                                                    rel=1e-5)
        assert p["usd_per_t_avoided"] == pytest.approx(usd_per_t, rel=1e-5)
    assert [p["marginal_usd_per_t"] for p in points[1:]] == pytest.approx([usd_per_t] * 4, rel=1e-5)
    assert points[0]["marginal_usd_per_t"] is None
    assert any("solar_mw" in c for c in points[1]["changes"])


def mixed_site(tmp_path) -> dict:
    """Grid (capped), integer gas units, solar and a battery, over a day of varying sun and price."""
    write_csv(tmp_path / "cf.csv", {"solar_cf": daily([0.0] * 7 + [0.3, 0.6, 0.8, 0.9, 0.9, 0.8, 0.6, 0.3] + [0.0] * 9)})
    write_csv(tmp_path / "price.csv", {"price": daily([40.0] * 8 + [90.0] * 12 + [60.0] * 4)})
    site = base_site(fuel={"gas_price_usd_per_mmbtu": 3.0},
                     technologies={"gas": [{"type": "wartsila_18v50sg", "max_units": 4}],
                                   "solar": {"max_mw": 60, "capacity_factor": {"csv": "cf.csv"}},
                                   "battery": {"type": "li_ion_lfp", "max_power_mw": 30}})
    site["grid"].update({"max_import_mw": 30, "energy_price_usd_per_mwh": {"csv": "price.csv"}, "co2_t_per_mwh": 0.45})
    site["compute"]["target"] = {"gpus": 10000}
    return site


def test_each_point_is_the_least_cost_under_its_limit_and_the_set_is_monotone(tmp_path):
    outcome = api.plan(pareto_program(tmp_path, mixed_site(tmp_path), points=4))
    points = outcome.plan.pareto["points"]
    assert len(points) == 4
    co2 = [p["co2_t"] for p in points]
    costs = [p["cost_usd"] for p in points]
    assert co2 == sorted(co2) and co2[0] < co2[-1]
    assert all(a >= b * (1 - 1e-4) for a, b in zip(costs, costs[1:]))  # a looser limit never costs more
    assert all(p["co2_t"] <= p["co2_limit_t"] * (1 + 1e-6) for p in points)
    assert all(p["changes"] for p in points[1:])  # neighbouring points differ in some decision
    program = outcome.program.doc.data
    for p in points[:-1]:  # re-solved: the same program with a CO2 cap of its own, by the user's route
        capped = {k: v for k, v in program.items() if k != "pareto"}
        capped["caps"] = [{"name": "co2", "quantity": "co2_t", "max": p["co2_limit_t"], "source": "test"}]
        alone = api.plan(write_yaml(tmp_path / "capped.yaml", capped)).plan
        assert alone.total_cost_usd == pytest.approx(p["cost_usd"], rel=2e-4)


def test_the_curve_is_written_read_back_and_shown(tmp_path, runner):
    path = pareto_program(tmp_path, grid_and_solar_site(tmp_path), points=3)
    result = run_cli(runner, "plan", path, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "Cost against CO2" in result.output and "$/t margin" in result.output
    shown = run_cli(runner, "report", tmp_path / "out", "-o", tmp_path / "report.html")
    assert shown.exit_code == 0, shown.output
    html = (tmp_path / "report.html").read_text()
    assert 'id="pareto"' in html and "least cost at each CO2 limit" in html


def test_pareto_with_max_compute_is_an_input_error(tmp_path, runner):
    path = pareto_program(tmp_path, grid_and_solar_site(tmp_path), points=3,
                          objective={"sense": "max_compute", "budget_usd_per_year": 1e9})
    result = run_cli(runner, "validate", path)
    assert result.exit_code == 2 and "pareto" in result.output and "min_cost" in result.output


def test_a_site_without_a_cleaner_option_has_one_point_and_says_so(tmp_path):
    site = base_site()
    site["grid"]["co2_t_per_mwh"] = GRID_CO2
    pareto = api.plan(pareto_program(tmp_path, site, points=4)).plan.pareto
    assert len(pareto["points"]) == 1 and "no trade-off" in pareto["notes"][0]
