"""Time to power (buildout.earliest): the earliest period derived by hand from lead times, the
period before proved impossible with the reason, the least cost at that date, and a bisection
that agrees with trying every period."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from conftest import base_site, run_cli, write_yaml
from test_buildout import islanded_site

from dcplan import api
from dcplan.loader import load_program
from dcplan.model.buildout import add_months, periods_of
from dcplan.studies.earliest import with_goal_at

START = dt.date(2026, 1, 1)


def earliest_program(tmp_path, site: dict, **buildout) -> object:
    write_yaml(tmp_path / "site.yaml", site)
    doc = {"kind": "program", "name": "ttp", "sites": ["site.yaml"], "horizon": {"start": str(START), "years": 3},
           "time": {"typical_days": 1}, "buildout": {"period": "quarter", "earliest": {"gpus": 10000}, **buildout}}
    return write_yaml(tmp_path / "program.yaml", doc)


def first_period_from(day: dt.date, periods) -> str:
    """By hand: equipment delivered on ``day`` is in use from the first period starting then or later."""
    return next(p.name for p in periods if p.start >= day)


def test_the_earliest_period_is_the_gas_lead_time_and_one_sooner_is_impossible(tmp_path):
    path = earliest_program(tmp_path, islanded_site(rental=False, owned_lead_months=15))
    periods = periods_of(load_program(path).program)
    expected = first_period_from(add_months(START, 15), periods)  # 2027-04-01: 2027-Q2
    assert expected == "2027-Q2"
    outcome = api.plan(path)
    found = outcome.plan.earliest
    assert found["period"] == expected and found["date"] == "2027-04-01"
    assert "lead time 15 months" in " ".join(found["why_not_sooner"]) and "2027-Q1" in found["why_not_sooner"][0]
    assert {t["period"]: t["plan"] for t in found["tried"]}["2027-Q1"] is False
    assert len(found["tried"]) <= math.ceil(math.log2(len(periods))) + 1  # a bisection, not a scan

    fixed = write_yaml(tmp_path / "fixed.yaml", {**load_program(path).doc.data, "buildout": {
        "period": "quarter", "targets": [{"date": "2027-04-01", "gpus": 10000}]}})
    assert outcome.plan.total_cost_usd == pytest.approx(api.plan(fixed).plan.total_cost_usd, rel=1e-6)


def test_renting_turbines_brings_the_date_forward_and_the_bisection_agrees_with_every_period(tmp_path):
    path = earliest_program(tmp_path, islanded_site(rental=True, owned_lead_months=15))
    pi = load_program(path)
    periods = periods_of(pi.program)
    found = api.plan(path).plan.earliest
    assert found["period"] == first_period_from(add_months(START, 1), periods) == "2026-Q2"  # rental: 1 month
    every = [api.plan_program(with_goal_at(pi, p)).plan is not None for p in periods]
    assert every.index(True) == [p.name for p in periods].index("2026-Q2") and all(every[every.index(True):])


def test_solar_and_wind_given_without_a_type_take_the_standard_ones_in_the_search(tmp_path):
    """The reasons for a period too soon look up every asset's lead time, untyped solar and
    wind included (they had no catalog key there: an internal error)."""
    site = base_site(technologies={"solar": {"max_mw": 50, "capacity_factor": 0.25},
                                   "wind": {"max_mw": 50, "capacity_factor": 0.35}})
    site["cooling"] = [{"type": "air_economizer", "pue": 1.2, "lead_time_months": 15}]
    site["compute"] = {"gpus": [{"model": "h100_sxm", "lead_time_months": 0}]}
    path = earliest_program(tmp_path, site)
    found = api.plan(path).plan.earliest
    assert found["period"] == first_period_from(add_months(START, 15), periods_of(load_program(path).program))
    assert "lead time 15 months" in " ".join(found["why_not_sooner"])


def test_a_goal_later_than_the_horizon_is_infeasible_with_its_reason(tmp_path, runner):
    path = earliest_program(tmp_path, islanded_site(rental=False, owned_lead_months=40))
    result = run_cli(runner, "plan", path)
    assert result.exit_code == 1
    assert "2028-Q4" in result.output and "lead time 40 months" in " ".join(result.output.split())


def test_a_search_stopped_by_the_time_limit_is_undecided_not_a_date(tmp_path, runner):
    path = earliest_program(tmp_path, islanded_site(rental=True, owned_lead_months=15))
    result = run_cli(runner, "plan", path, "--time-limit", "0")
    assert result.exit_code == 3 and "Earliest" not in result.output


def test_the_goal_joins_the_ramp_and_a_later_target_never_asks_for_less(tmp_path):
    path = earliest_program(tmp_path, islanded_site(rental=True),
                            targets=[{"date": "2026-04-01", "gpus": 2000}, {"date": "2028-01-01", "gpus": 8000}])
    pi = load_program(path)
    period = next(p for p in periods_of(pi.program) if p.name == "2027-Q1")
    targets = [(t.date.isoformat(), t.gpus) for t in with_goal_at(pi, period).program.buildout.targets]
    assert targets == [("2026-04-01", 2000), ("2027-01-01", 10000), ("2028-01-01", 10000)]


def test_the_goal_never_lowers_a_larger_target_due_before_it(tmp_path):
    """A ramp of 12,000 GPUs from 2026-04-01 and a goal of 10,000: the goal at 2027-Q1 had been
    added as the latest target, 10,000, and lowered the 12,000 in force (an audit's curve point
    cost less than the ramp alone)."""
    path = earliest_program(tmp_path, islanded_site(rental=True), targets=[{"date": "2026-04-01", "gpus": 12000}])
    pi = load_program(path)
    period = next(p for p in periods_of(pi.program) if p.name == "2027-Q1")
    targets = [(t.date.isoformat(), t.gpus) for t in with_goal_at(pi, period).program.buildout.targets]
    assert targets == [("2026-04-01", 12000), ("2027-01-01", 12000)]


def test_the_time_to_power_curve_is_monotone_each_point_optimal_and_its_changes_named(tmp_path):
    path = earliest_program(tmp_path, islanded_site(rental=True, owned_lead_months=6))
    write_yaml(path, {**load_program(path).doc.data, "buildout": {
        "period": "quarter", "earliest": {"gpus": 10000, "curve_periods": 2}}})
    pi = load_program(path)
    curve = api.plan(path).plan.earliest["curve"]
    assert [p["period"] for p in curve] == ["2026-Q2", "2026-Q3", "2026-Q4"]
    costs = [p["npv_cost_usd"] for p in curve]
    assert costs == sorted(costs, reverse=True) and curve[0]["saving_usd"] == 0  # waiting never costs more
    periods = {p.name: p for p in periods_of(pi.program)}
    for point in curve:  # each point is the least cost with the goal at its date, as a plan alone finds it
        alone = api.plan_program(with_goal_at(pi, periods[point["period"]])).plan
        assert point["npv_cost_usd"] == pytest.approx(alone.timeline.npv_cost_usd, rel=2e-4)
        assert point["saving_usd"] == pytest.approx(costs[0] - point["npv_cost_usd"], rel=1e-9, abs=1e-6)
    assert not curve[0]["changes"] and all(p["changes"] for p in curve[1:] if p["saving_usd"] > 0)
    assert any("rentals" in change for change in curve[1]["changes"])  # one quarter later: no rented turbines
    assert "curve_note" not in api.plan(path).plan.earliest


def test_a_curve_cut_short_by_the_horizon_says_so(tmp_path):
    """Earliest 2026-Q2 in a one-year horizon: 2 of the 5 later dates asked for fall in it."""
    path = earliest_program(tmp_path, islanded_site(rental=True, owned_lead_months=6))
    write_yaml(path, {**load_program(path).doc.data, "horizon": {"start": str(START), "years": 1}, "buildout": {
        "period": "quarter", "earliest": {"gpus": 10000, "curve_periods": 5}}})
    earliest = api.plan(path).plan.earliest
    assert [p["period"] for p in earliest["curve"]] == ["2026-Q2", "2026-Q3", "2026-Q4"]
    assert earliest["curve_note"] == "curve_periods asks for 5 later dates; 2 fall within the horizon"


def test_check_holds_a_committed_earliest_plan_to_its_goal_from_the_period_it_found(tmp_path, runner):
    from dcplan.checks import check_paths, render
    from dcplan.checks.report import VIOLATION

    path = earliest_program(tmp_path, islanded_site(rental=False, owned_lead_months=15))
    result = run_cli(runner, "plan", path, "-o", tmp_path / "plans" / "ttp")
    assert result.exit_code == 0, result.output
    assert "found on typical days: `dcplan check` holds the plan against every hour of each period" \
        in " ".join(result.output.split())  # the date is the typical days' (the real year may ask for more)
    report = check_paths([path])
    assert report.exit_code == 0, render(report, "text")
    assert {f.check: f.status for f in report.files[0].findings}["dated targets"] == "pass"

    plan_file = tmp_path / "plans" / "ttp" / "plan.yaml"
    plan_file.write_text(plan_file.read_text().replace("period: 2027-Q2", "period: 2027-Q3"))
    doc = load_program(path).doc
    later = write_yaml(path, {**doc.data, "buildout": {**doc.data["buildout"], "earliest": {"gpus": 12000}}})
    found = [f for f in check_paths([later]).files[0].findings if f.status == VIOLATION and f.check == "dated targets"]
    assert found and "2027-Q3: 10,000 GPUs online but 12,000 are due" in found[0].message
    assert found[0].where.key == "buildout.earliest.gpus"

    plan_file.write_text(plan_file.read_text().replace("period: 2027-Q3", "period: 2031-Q1"))
    [v] = [f for f in check_paths([later]).files[0].findings if f.status == VIOLATION]
    assert "the plan says '2031-Q1'" in v.message and v.where.key == "buildout.earliest.gpus"


@pytest.mark.parametrize("count", [1, 2, 5, 12, 16, 40])
def test_the_search_finds_the_first_period_whatever_the_guess_within_its_probe_bound(count):
    """Every answer (a period, or none) against every guess, right or wrong: the right period,
    each period probed once, at most 2 log2(count) + 2 probes."""
    from dcplan.studies.earliest import first_with_plan

    bound = 2 * math.ceil(math.log2(max(count, 2))) + 2
    for answer in range(count + 1):  # count: no period has a plan
        for guess in range(-1, count):
            asked = []
            found = first_with_plan(lambda k: asked.append(k) or k >= answer, count, guess)
            assert found == (answer if answer < count else None), (answer, guess)
            assert len(asked) == len(set(asked)) and len(asked) <= bound, (answer, guess, asked)


def test_a_sweep_records_time_to_power_and_npv(tmp_path):
    """A sweep's row of a build-out with an earliest goal: its NPV, its earliest period and the
    months to it (a number `sweep summary --metric earliest_months` can rank)."""
    from dcplan.sweep.scenario import plan_outputs

    plan = api.plan(earliest_program(tmp_path, islanded_site(rental=False, owned_lead_months=15))).plan
    row = plan_outputs(plan)
    assert row["npv_cost_usd"] == plan.timeline.npv_cost_usd
    assert row["earliest_period"] == plan.earliest["period"] == "2027-Q2"  # 15 months: 2027-04-01
    assert row["earliest_months"] == 15.0


def test_a_proved_date_whose_least_cost_plan_runs_out_of_time_keeps_its_first_plan(tmp_path):
    """The search proved 2027-Q2 but the least-cost plan for it found nothing in time (as with a
    --time-limit spent on the probes): the probe's plan is the answer, said to be cut by the time
    limit, with its gap (it was "no plan found", nothing written)."""
    from dcplan.api import PlanOutcome, Replanner
    from dcplan.solver import SolveOptions, SolveResult
    from dcplan.studies.earliest import search

    pi = load_program(earliest_program(tmp_path, islanded_site(rental=False, owned_lead_months=15)))
    real = Replanner(None, SolveOptions(), {})

    def out_of_time_when_exact(variant, exact, **kw):
        return PlanOutcome(variant, SolveResult("no_solution", message="time limit"), None) if exact \
            else real(variant, exact, **kw)

    found, outcome = search(pi, out_of_time_when_exact)
    assert found.period.name == "2027-Q2" and outcome.plan is not None
    assert outcome.solve.status == outcome.plan.solver["status"] == "time_limit"
    assert outcome.solve.message.startswith("time limit")

    def stopped_when_exact(variant, exact, **kw):  # Ctrl-C during the exact plan: said as such
        return PlanOutcome(variant, SolveResult("no_solution", message="stopped"), None) if exact \
            else real(variant, exact, **kw)

    assert search(pi, stopped_when_exact)[1].solve.message == "stopped"
