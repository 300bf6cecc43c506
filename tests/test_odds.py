"""The odds of time to power: two independent delivery delays with discrete distributions, the
earliest period of every combination derived by hand, P50 and P90, and a plan whose orders hold
in at least 90 % of the probability (bridged by rentals where the site has them)."""

from __future__ import annotations

import pytest
import yaml
from conftest import run_cli, write_yaml
from test_buildout import islanded_site
from test_earliest import START

from dcplan import api
from dcplan.model.buildout import add_months

GAS_LATE = {0: 0.5, 6: 0.45, 12: 0.05}  # months late -> probability, LM6000s (15-month lead time)
GPUS_LATE = {0: 0.6, 20: 0.4}  # H100s (no lead time)


def odds_program(tmp_path, site: dict, delays: list[dict] | None = None) -> object:
    write_yaml(tmp_path / "site.yaml", site)
    delays = delays if delays is not None else [
        {"site": "testsite", "asset": "gas:lm6000", "months": GAS_LATE},
        {"site": "testsite", "asset": "gpus:h100_sxm", "months": GPUS_LATE}]
    doc = {"kind": "program", "name": "odds", "sites": ["site.yaml"], "horizon": {"start": str(START), "years": 3},
           "time": {"typical_days": 1},
           "buildout": {"period": "quarter", "earliest": {"gpus": 10000, "delays": delays}}}
    return write_yaml(tmp_path / "program.yaml", doc)


def quarter_of(day) -> str:
    """The first quarter starting on or after ``day``: when a delivery on ``day`` is in use."""
    first = [add_months(START, 3 * k) for k in range(12)]
    start = next(q for q in first if q >= day)
    return f"{start.year}-Q{(start.month - 1) // 3 + 1}"


def by_hand() -> dict[str, float]:
    """Each combination: gas from 15 + g months, GPUs from h months; the goal needs both."""
    out: dict[str, float] = {}
    for g, pg in GAS_LATE.items():
        for h, ph in GPUS_LATE.items():
            period = max(quarter_of(add_months(START, 15 + g)), quarter_of(add_months(START, h)))
            out[period] = out.get(period, 0.0) + pg * ph
    return dict(sorted(out.items()))


def test_p50_and_p90_of_two_independent_delays_are_those_derived_by_hand(tmp_path):
    expected = by_hand()
    assert expected == pytest.approx({"2027-Q2": 0.3, "2027-Q4": 0.65, "2028-Q2": 0.05})
    plan = api.plan(odds_program(tmp_path, islanded_site(rental=False, owned_lead_months=15))).plan
    odds = plan.earliest["odds"]
    assert {row["period"]: row["probability"] for row in odds["distribution"]} == pytest.approx(expected)
    assert [row["cumulative"] for row in odds["distribution"]] == pytest.approx([0.3, 0.95, 1.0])
    assert odds["p50"] == "2027-Q4" and odds["p90"] == "2027-Q4"
    assert plan.earliest["period"] == "2027-Q2"  # with no delay at all

    held = odds["plan_holding_90"]
    # planned for gas 6 months late and GPUs 20 (P = 0.95 x 1.0); it fails only when gas is 12 late
    assert held["period"] == "2027-Q4"
    assert {(d["asset"], d["months_late"]) for d in held["planned_for"]} == {("gas:lm6000", 6), ("gpus:h100_sxm", 20)}
    assert held["holds_probability"] == pytest.approx(0.95)
    assert held["expected_npv_cost_usd"] == pytest.approx(held["npv_cost_usd"], rel=1e-6)  # early deliveries wait


def test_rented_turbines_bridge_the_late_cases_at_a_cost(tmp_path):
    plan = api.plan(odds_program(tmp_path, islanded_site(rental=True, owned_lead_months=15),
                                 [{"site": "testsite", "asset": "gas:lm6000", "months": GAS_LATE}])).plan
    odds = plan.earliest["odds"]
    assert odds["p50"] == odds["p90"] == "2026-Q2"  # rentals arrive in a month whatever the owned units do
    held = odds["plan_holding_90"]
    assert held["planned_for"] == [{"site": "testsite", "asset": "gas:lm6000", "months_late": 6}]  # not 12: dearer
    assert held["covers_probability"] == pytest.approx(0.95)
    assert held["holds_probability"] == pytest.approx(1.0)  # rented turbines cover the owned ones' delay
    assert held["expected_npv_cost_usd"] > held["npv_cost_usd"]  # ... at the rent of the months they cover


def test_a_delay_of_an_asset_the_site_does_not_order_is_an_input_error_at_its_line(tmp_path, runner, monkeypatch):
    """Before the training jobs are smoothed or any plan is made (a typo once surfaced only after
    15 s of smoothing)."""
    import dcplan.api

    monkeypatch.setattr(dcplan.api, "smooth_training_jobs", lambda *_: pytest.fail("smoothed before the check"))
    path = odds_program(tmp_path, islanded_site(rental=False, owned_lead_months=15),
                        [{"site": "testsite", "asset": "gas:lm2500", "months": {0: 1.0}}])
    for command in (("plan",), ("validate",), ("check",)):  # each says it, before any solve
        result = run_cli(runner, *command[:1], path, *command[1:])
        assert result.exit_code == 2, (command, result.output)
        assert "program.yaml" in result.output and "earliest.delays[0].asset" in result.output
        assert "orders no 'gas:lm2500'" in result.output and "gas:lm6000" in result.output


def test_validate_checks_a_scenarios_own_delays(tmp_path, runner):
    """Delays given in a scenario (as the memphis example does) are checked by validate too."""
    path = odds_program(tmp_path, islanded_site(rental=False, owned_lead_months=15), [])
    doc = yaml.safe_load(path.read_text())
    doc["buildout"]["earliest"].pop("delays")
    doc["scenarios"] = {"odds": {"buildout": {"earliest": {"gpus": 10000, "delays": [
        {"site": "testsite", "asset": "gas:lm2500", "months": {0: 1.0}}]}}}}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = run_cli(runner, "validate", path)
    assert result.exit_code == 2 and "scenarios.odds.buildout.earliest.delays[0].asset" in result.output, result.output
    assert result.output.count("orders no 'gas:lm2500'") == 1


def test_probabilities_that_do_not_add_up_are_refused(tmp_path, runner):
    path = odds_program(tmp_path, islanded_site(rental=False),
                        [{"site": "testsite", "asset": "gas:lm6000", "months": {0: 0.5, 6: 0.4}}])
    result = run_cli(runner, "validate", path)
    assert result.exit_code == 2 and "add up to 0.9" in result.output


def test_probabilities_written_to_three_decimals_are_scaled_to_add_up():
    """Probabilities rounded to three decimals (three thirds written 0.333: 0.999; sixths written
    0.167: 1.002) are taken and scaled to add up to 1 (they had been refused)."""
    from dcplan.schema.program import Delay

    delay = Delay(site="s", asset="grid", months={0: 0.333, 3: 0.333, 6: 0.333})
    assert delay.distribution() == pytest.approx({0: 1 / 3, 3: 1 / 3, 6: 1 / 3})
    assert sum(delay.distribution().values()) == pytest.approx(1.0, abs=1e-15)
    assert Delay(site="s", asset="grid", months={0: 0.5, 6: 0.499}).distribution()[0] == pytest.approx(0.5 / 0.999)
    sixths = Delay(site="s", asset="grid", months={m: 0.167 for m in range(6)})  # 1.002: each within 0.0005
    assert sum(sixths.distribution().values()) == pytest.approx(1.0, abs=1e-15)
    with pytest.raises(ValueError, match="add up to 0.99"):
        Delay(site="s", asset="grid", months={0: 0.5, 6: 0.49})


def test_the_odds_are_written_read_back_and_shown(tmp_path, runner):
    path = odds_program(tmp_path, islanded_site(rental=False, owned_lead_months=15))
    result = run_cli(runner, "plan", path, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "P50 2027-Q4, P90 2027-Q4" in result.output and "holds in 95.0%" in " ".join(result.output.split())
    assert run_cli(runner, "report", tmp_path / "out", "-o", tmp_path / "report.html").exit_code == 0
    html = (tmp_path / "report.html").read_text()
    assert "The odds, with deliveries late" in html and "<b>P90 2027-Q4</b>" in html
    # what the plan that holds orders is written, shown and read back (the timeline is the on-time plan's)
    held = yaml.safe_load((tmp_path / "out" / "plan.yaml").read_text())["earliest"]["odds"]["plan_holding_90"]
    assert held["orders"] and all(o["online_period"] <= held["period"] for o in held["orders"])
    assert "Orders of the plan that holds in 95.0%" in " ".join(result.output.split())
    assert "Its orders (the timeline of this report is the on-time plan" in html


def test_odds_without_an_answer_in_time_are_undecided_and_exit_as_a_time_limit(tmp_path, runner, monkeypatch):
    """A probe of the odds with no answer (its time limit, or Ctrl-C) had left P50 and P90 'not in
    the horizon' and the command exiting 0 with a plan 'optimal'."""
    import dcplan.studies.odds as odds_study
    from dcplan.studies.earliest import Undecided

    def no_answer(probe, n, guess=None):
        raise Undecided(n - 1)

    monkeypatch.setattr(odds_study, "first_with_plan", no_answer)
    path = odds_program(tmp_path, islanded_site(rental=False, owned_lead_months=15))
    result = run_cli(runner, "plan", path, "-o", tmp_path / "out")
    out = " ".join(result.output.split())
    assert result.exit_code == 3 and "P50 and P90 undecided" in out and "not in the horizon" not in out, out
    written = yaml.safe_load((tmp_path / "out" / "plan.yaml").read_text())
    assert written["earliest"]["odds"]["undecided"] is True and written["solution"]["status"] == "time_limit"
    assert run_cli(runner, "report", tmp_path / "out", "-o", tmp_path / "report.html").exit_code == 0
    assert "P50 and P90 undecided" in (tmp_path / "report.html").read_text()


def test_a_triangular_delay_is_five_equally_likely_quantiles(tmp_path):
    """[0, 3, 12] months late: the quantile at 25 % is the likeliest value (3 = (3 - 0) / 12 of
    the range); the plan's P50 is the third fifth's quarter and P90 the last's, by hand."""
    from dcplan.schema.program import TRIANGULAR_QUANTILES, triangular_quantile

    assert triangular_quantile(0, 3, 12, 0.25) == pytest.approx(3.0)
    late = [triangular_quantile(0, 3, 12, q) for q in TRIANGULAR_QUANTILES]
    quarters = [quarter_of(add_months(START, 15 + m)) for m in late]
    plan = api.plan(odds_program(tmp_path, islanded_site(rental=False, owned_lead_months=15),
                                 [{"site": "testsite", "asset": "gas:lm6000", "triangular_months": [0, 3, 12]}])).plan
    odds = plan.earliest["odds"]
    assert (odds["p50"], odds["p90"]) == (quarters[2], quarters[4])
    expected: dict[str, float] = {}
    for q in quarters:
        expected[q] = expected.get(q, 0.0) + 0.2
    assert {r["period"]: r["probability"] for r in odds["distribution"]} == pytest.approx(expected)



def test_a_grid_that_comes_on_time_is_used_then_and_saves_the_bridge(tmp_path):
    """Planned for the substation six months late, bridged by rented turbines; in the half of the
    cases where it comes on time, the same orders run on the grid six months sooner and rent
    less: the expected cost is below the plan's (an early grid is not held to the planned date)."""
    site = islanded_site(rental=True, owned_lead_months=36)
    site["grid"] = {"max_import_mw": 40, "energy_price_usd_per_mwh": 30, "available_from": str(add_months(START, 9))}
    plan = api.plan(odds_program(tmp_path, site, [{"site": "testsite", "asset": "grid", "months": {0: 0.5, 6: 0.5}}])).plan
    held = plan.earliest["odds"]["plan_holding_90"]
    assert held["planned_for"] == [{"site": "testsite", "asset": "grid", "months_late": 6}]
    assert held["holds_probability"] == pytest.approx(1.0)
    assert held["expected_npv_cost_usd"] < held["npv_cost_usd"] - 1e5

