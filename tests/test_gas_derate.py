"""Gas units in the heat: the catalog's output_vs_ambient_c at the site's ambient_temp_c, against
answers derived by hand. The LM6000's curve is 1.0 at 15 °C and 0.72 at 50 °C, so at 40 °C it
gives 1 - 0.28 x 25 / 35 = 0.80 of its 49 MW ISO rating: 39.2 MW (0.96 at the sites' 20 °C
elsewhere: below its rating every hour)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import base_site, run_cli, write_csv, write_yaml
from typer.testing import CliRunner

from dcplan import api
from dcplan.catalog import builtin_catalog
from dcplan.formulas import output_fraction
from dcplan.series import HOURS_PER_YEAR

REPO = Path(__file__).resolve().parents[1]
CAT = builtin_catalog()
H100 = CAT.gpus["h100_sxm"]
UNIT_MW = CAT.generators["lm6000"].unit_mw
HOT_UNIT_MW = UNIT_MW * 0.80  # at 40 °C
HOT_HOUR = 200 * 24 + 15  # an afternoon in July


def it_mw(gpus: int) -> float:
    return gpus * H100.design_w_per_gpu / 1e6


def test_the_curve_is_interpolated_and_held_at_its_ends():
    curve = CAT.generators["lm6000"].output_vs_ambient_c
    got = output_fraction(curve, np.array([-20.0, 15.0, 40.0, 50.0, 60.0]))
    assert got == pytest.approx([1.0, 1.0, 0.80, 0.72, 0.72])
    assert output_fraction(None, np.array([45.0])) == pytest.approx([1.0])


def _site(tmp_path, gpus: int, temperature: bool = True, **kw) -> dict:
    temp = np.full(HOURS_PER_YEAR, 20.0)
    temp[HOT_HOUR] = 40.0
    write_csv(tmp_path / "weather.csv", {"ambient_temp_c": temp})
    site = base_site(fuel={"gas_price_usd_per_mmbtu": 3.0},
                     technologies={"gas": [{"type": "lm6000", "max_units": 20}]}, **kw)
    site["cooling"] = [{"type": "air_economizer", "pue": 1.25}]
    site["compute"]["target"] = {"gpus": gpus}
    if temperature:
        site["ambient_temp_c"] = {"csv": "weather.csv", "column": "ambient_temp_c"}
    return site


def _plan(tmp_path, site, **kw):
    outcome = api.plan(write_yaml(tmp_path / "site.yaml", site), **kw)
    assert outcome.plan is not None, outcome.solve
    return outcome.plan.sites[0]


def test_n_plus_one_counts_each_unit_for_its_output_in_the_hottest_hour(tmp_path):
    """Islanded, 100k H100 at PUE 1.25 (177.1 MW): N+1 needs ceil(177.1 / 39.2) + 1 = 6 units
    where the ISO rating would give ceil(177.1 / 49) + 1 = 5. Without a temperature the units
    stay at their rating, and the plan says so."""
    peak = it_mw(100_000) * 1.25
    site = _site(tmp_path, 100_000)
    del site["grid"]
    hot = _plan(tmp_path, site)
    assert hot.capacity["gas_lm6000_units"] == math.ceil(peak / HOT_UNIT_MW) + 1 == 6
    assert hot.capacity["n_plus_one_firm_mw"] == pytest.approx(5 * HOT_UNIT_MW)
    assert any("39.2 MW a unit in the hottest hour (40.0 °C" in b and "below its rating 8,760 h a year" in b
               for b in hot.binding), hot.binding
    del site["ambient_temp_c"]
    rated = _plan(tmp_path, site)
    assert rated.capacity["gas_lm6000_units"] == math.ceil(peak / UNIT_MW) + 1 == 5
    assert any("no derate for heat: the site gives no ambient_temp_c" in b for b in rated.binding), rated.binding


@pytest.mark.parametrize("typical_days", [None, 3])
def test_each_hour_the_units_deliver_at_most_their_derated_output(tmp_path, typical_days):
    """Grid-tied (200 MW, N+1 off), 200k H100 at PUE 1.2 (340.1 MW): gas carries 140.1 MW in
    the hot hour, ceil(140.1 / 39.2) = 4 units, not ceil(140.1 / 49) = 3; on three typical days
    too (the hot hour's day is kept as a day of its own). Gas ($3/MMBtu: $33.7/MWh) is cheaper
than the grid, so the units run flat out: 4 x 39.2 MW in the hot hour, 4 x 47.04 at 20 °C."""
    gpus = 200_000
    site = _site(tmp_path, gpus)
    site["grid"]["max_import_mw"] = 200
    site["cooling"] = [{"type": "air_economizer", "pue": 1.2}]
    s = _plan(tmp_path, site, typical_days=typical_days)
    need = it_mw(gpus) * 1.2 - 200
    assert math.ceil(need / UNIT_MW) == 3
    assert s.capacity["gas_lm6000_units"] == math.ceil(need / HOT_UNIT_MW) == 4
    hours = s.dispatch["hour_of_year"].astype(int)
    gas = s.dispatch["gas_lm6000_mw"]
    assert gas[hours == HOT_HOUR] == pytest.approx([4 * HOT_UNIT_MW])  # gas ($34/MWh) runs flat out
    assert gas[hours != HOT_HOUR] == pytest.approx(4 * 0.96 * UNIT_MW)  # below the grid's $50


def test_check_finds_a_plan_made_before_the_site_gave_its_temperature(tmp_path):
    """A plan made at the ISO rating (3 units for 140.1 MW) is short once the site gives its
    temperature, 40 °C all year (3 x 39.2 = 117.6 MW): `check` names the input that changed
    (site.ambient_temp_c), with no code of its own for the derate."""
    site = _site(tmp_path, 200_000, temperature=False)
    site["grid"]["max_import_mw"] = 200
    site["cooling"] = [{"type": "air_economizer", "pue": 1.2}]
    write_csv(tmp_path / "hot.csv", {"ambient_temp_c": np.full(HOURS_PER_YEAR, 40.0)})
    path = write_yaml(tmp_path / "site.yaml", site)
    runner = CliRunner()
    result = run_cli(runner, "plan", path, "-o", tmp_path / "plans" / "testsite", "-q", "--typical-days", "3")
    assert result.exit_code == 0, result.output
    assert run_cli(runner, "check", path, "--plan", tmp_path / "plans").exit_code == 0
    site["ambient_temp_c"] = {"csv": "hot.csv", "column": "ambient_temp_c"}
    write_yaml(path, site)
    result = run_cli(runner, "check", path, "--plan", tmp_path / "plans")
    assert result.exit_code == 1, result.output
    assert "ambient_temp_c" in result.output and "derated" in result.output, result.output


def test_thin_air_lowers_every_hour(tmp_path):
    """Islanded at 1,000 m with no temperature: an LM6000 gives 0.89 x 49 = 43.61 MW in every
    hour, so N+1 for 177.1 MW takes ceil(177.1 / 43.61) + 1 = 6 units (5 at sea level)."""
    peak = it_mw(100_000) * 1.25
    site = _site(tmp_path, 100_000, temperature=False)
    del site["grid"]
    site["location"]["elevation_m"] = 1000
    s = _plan(tmp_path, site)
    assert s.capacity["gas_lm6000_units"] == math.ceil(peak / (0.89 * UNIT_MW)) + 1 == 6
    assert any("43.6 MW a unit in every hour (1,000 m up" in b for b in s.binding), s.binding


def test_a_build_out_whose_quarters_keep_different_days_reads_back(tmp_path, runner):
    """Sand Point's weather: only the warmer quarters have an hour above the turbines' 15 °C, so
    only they keep a day for it (4 days against 3). Each period records its own steps and kept
    days, so the plan's files read back and `check` verifies them (it refused them before:
    "96 rows, but plan.yaml's time grid has 72 steps"), and the headline says which kept one."""
    for name in ("sand_point_weather.csv", "memphis_price.csv"):
        shutil.copy(REPO / "sites" / "data" / name, tmp_path / name)
    site = base_site(fuel={"gas_price_usd_per_mmbtu": 3.0},
                     technologies={"gas": [{"type": "lm6000", "max_units": 10, "lead_time_months": 0}]})
    site["grid"] = {"max_import_mw": 30,
                    "energy_price_usd_per_mwh": {"csv": "memphis_price.csv", "column": "price_usd_per_mwh"}}
    site["ambient_temp_c"] = {"csv": "sand_point_weather.csv", "column": "ambient_temp_c"}
    site["cooling"] = [{"type": "air_economizer", "lead_time_months": 0}]
    site["compute"] = {"gpus": [{"model": "h100_sxm", "lead_time_months": 0}]}
    write_yaml(tmp_path / "site.yaml", site)
    doc = {"kind": "program", "name": "staged", "sites": ["site.yaml"], "horizon": {"start": "2026-01-01", "years": 1},
           "time": {"typical_days": 3}, "buildout": {"period": "quarter", "targets": [{"date": "2026-04-01", "gpus": 30000}]}}
    program = write_yaml(tmp_path / "program.yaml", doc)
    result = run_cli(runner, "plan", program, "-o", tmp_path / "plans" / "staged")
    assert result.exit_code == 0, result.output
    assert "3 typical days (up to 1 more kept for a peak hour in 2 of 4 periods)" in " ".join(result.output.split())
    periods = yaml.safe_load((tmp_path / "plans" / "staged" / "plan.yaml").read_text())["timeline"]["periods"]
    assert [(p["steps"], p["peak_days"]) for p in periods] == [(72, 0), (96, 1), (96, 1), (72, 0)]
    result = run_cli(runner, "check", program)
    assert result.exit_code == 0, result.output


def test_a_curve_that_credits_cold_hours_above_the_rating_is_used(tmp_path):
    """A site's own curve may pass 1 (a turbine makes more in cold air): at 0 °C all year, 1 +
    0.2 x 15 / 35 = 1.0857 of 49 MW is 53.2 MW a unit, so four units carry 113,000 H100 at PUE
    1.25 (200.1 MW) that their ISO 196 MW could not (the output's bounds assumed at most 1)."""
    write_csv(tmp_path / "cold.csv", {"ambient_temp_c": np.zeros(HOURS_PER_YEAR)})
    site = _site(tmp_path, 113_000, temperature=False, reliability={"n_plus_one": False})
    del site["grid"]
    site["technologies"]["gas"][0]["max_units"] = 4
    site["ambient_temp_c"] = {"csv": "cold.csv", "column": "ambient_temp_c"}
    site["catalog"] = {"generators": {"lm6000": {"output_vs_ambient_c": [[-20, 1.2], [15, 1.0], [50, 0.72]],
                                                 "sources": {"output_vs_ambient_c": "assumption: a test's"}}}}
    assert 4 * UNIT_MW < it_mw(113_000) * 1.25 < 4 * UNIT_MW * (1 + 0.2 * 15 / 35)
    s = _plan(tmp_path, site, typical_days=2)
    assert s.capacity["gas_lm6000_units"] == 4


def test_check_blames_the_heat_for_an_n_plus_one_it_breaks(tmp_path, runner):
    """Islanded, 100k H100: the plan made at the ISO rating has 5 LM6000 (196 MW without the
    largest); with the site's temperature given, 4 x 39.2 = 156.8 MW is 20.3 MW short of 177.1,
    and `check` says so at ambient_temp_c, not at the gas units."""
    site = _site(tmp_path, 100_000, temperature=False)
    del site["grid"]
    path = write_yaml(tmp_path / "site.yaml", site)
    assert run_cli(runner, "plan", path, "-o", tmp_path / "plans" / "testsite", "-q", "--typical-days", "3").exit_code == 0
    site["ambient_temp_c"] = {"csv": "weather.csv", "column": "ambient_temp_c"}
    write_yaml(path, site)
    result = run_cli(runner, "check", path, "--plan", tmp_path / "plans")
    text = " ".join(result.output.split())
    assert result.exit_code == 1, text
    assert ("ambient_temp_c: N+1: the planned gas units give 156.8 MW without the largest (derated for the "
            "site's heat; 196.0 MW at ISO), below the design peak of 177.1 MW now (20.3 MW short)") in text


def test_a_derate_flat_over_the_year_is_said_for_every_hour(tmp_path):
    """Wärtsilä engines at 2,000 m with the site's temperature never above 40 °C: their share is
    0.95 in every hour (thin air; no heat derate below 40 °C), 17.86 MW a unit, said for every
    hour, with no hour's temperature named as the hottest."""
    temp = np.full(HOURS_PER_YEAR, 20.0)
    temp[0], temp[HOT_HOUR] = 5.0, 30.0
    write_csv(tmp_path / "weather.csv", {"ambient_temp_c": temp})
    site = base_site(fuel={"gas_price_usd_per_mmbtu": 3.0},
                     technologies={"gas": [{"type": "wartsila_18v50sg", "max_units": 20}]})
    del site["grid"]
    site["location"]["elevation_m"] = 2000
    site["ambient_temp_c"] = {"csv": "weather.csv", "column": "ambient_temp_c"}
    s = _plan(tmp_path, site, typical_days=2)
    line = next(b for b in s.binding if b.startswith("gas wartsila_18v50sg:"))
    assert line.startswith("gas wartsila_18v50sg: 17.9 MW a unit in every hour (2,000 m up, what counts as firm)"), line


def test_a_constant_temperature_is_named_in_the_derate(tmp_path):
    """`ambient_temp_c: 35` (a number is an hourly series too): an LM6000 gives 1 - 0.28 x 20 / 35
    = 0.84 of 49 MW = 41.2 MW in every hour, said with the temperature that takes it."""
    site = _site(tmp_path, 50_000, temperature=False)
    del site["grid"]
    site["ambient_temp_c"] = 35
    s = _plan(tmp_path, site, typical_days=2)
    assert any(b.startswith("gas lm6000: 41.2 MW a unit in every hour (35.0 °C, what counts as firm)") for b in s.binding), \
        s.binding
