"""Staged build-outs: lead times, bridges, discounting, and what the outputs may show when."""

from __future__ import annotations

import csv
import datetime as dt

import pytest
import yaml
from conftest import base_site, run_cli, write_yaml

from dcplan import api
from dcplan.catalog import builtin_catalog
from dcplan.formulas import capital_recovery_factor
from dcplan.model.buildout import add_months, months_between, periods_of
from dcplan.plans.files import read_dispatch
from dcplan.schema.program import Escalation, Finance

CAT = builtin_catalog()
H100 = CAT.gpus["h100_sxm"]
LM6000 = CAT.generators["lm6000"]


def islanded_site(rental: bool, owned_lead_months: float = 12) -> dict:
    """No grid: power comes from LM6000s that take a year to arrive, or from rented ones."""
    gas = [{"type": "lm6000", "max_units": 4, "lead_time_months": owned_lead_months}]
    if rental:
        gas.append({"type": "lm6000", "max_units": 4,
                    "rental": {"usd_per_kw_month": 40, "lead_time_months": 1}})
    site = base_site(fuel={"gas_price_usd_per_mmbtu": 3.0}, technologies={"gas": gas})
    del site["grid"]
    site["cooling"] = [{"type": "air_economizer", "pue": 1.2, "lead_time_months": 0}]
    site["compute"] = {"gpus": [{"model": "h100_sxm", "lead_time_months": 0}]}
    return site


def program(tmp_path, site: dict, **buildout) -> dict:
    write_yaml(tmp_path / "site.yaml", site)
    doc = {"kind": "program", "name": "staged", "sites": ["site.yaml"],
           "horizon": {"start": "2026-01-01", "years": 3}, "time": {"typical_days": 2},
           "buildout": {"period": "quarter", "targets": [{"date": "2026-04-01", "gpus": 10000}]}}
    doc["buildout"].update(buildout)
    return doc


def prompt_site(**gpu) -> dict:
    """A grid-tied site whose cooling and H100s come without a lead time (``gpu``: more of the
    GPU option, an allocation say)."""
    site = base_site()
    site["cooling"] = [{"type": "air_economizer", "pue": 1.2, "lead_time_months": 0}]
    site["compute"] = {"gpus": [{"model": "h100_sxm", "lead_time_months": 0, **gpu}]}
    return site


def one_year(tmp_path, site: dict, targets: list[dict]) -> dict:
    """A quarterly build-out of ``site`` over 2026 with these targets."""
    doc = program(tmp_path, site, targets=targets)
    doc["horizon"]["years"] = 1
    return doc


def plan_of(tmp_path, doc: dict):
    return api.plan(write_yaml(tmp_path / "program.yaml", doc))


def test_periods_and_calendar_arithmetic():
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2026, 10, 1), 36) == dt.date(2029, 10, 1)
    # an order's slack in calendar months: six of them are 6.0, not 181 days over an average month (5.9)
    assert months_between(dt.date(2026, 1, 1), dt.date(2026, 7, 1)) == 6.0
    assert months_between(dt.date(2026, 1, 31), dt.date(2026, 2, 28)) == 1.0  # as add_months counts
    assert months_between(dt.date(2026, 1, 1), dt.date(2026, 1, 16)) == pytest.approx(15 / (365.25 / 12))
    from dcplan.schema.program import Program
    prog = Program.model_validate({"kind": "program", "name": "p", "sites": ["s.yaml"],
                                   "horizon": {"start": "2026-07-01", "years": 2},
                                   "buildout": {"period": "quarter"}})
    periods = periods_of(prog)
    assert [p.name for p in periods[:3]] == ["2026-Q3", "2026-Q4", "2027-Q1"]
    assert len(periods) == 8 and periods[-1].end == dt.date(2028, 6, 30)
    assert periods[0].months == (6, 7, 8)
    esc = Escalation(gas_price_pct_per_year=10, gas_price_factor_by_year={2028: 2.0})
    assert esc.factor("gas_price", 1.0, 2027) == pytest.approx(1.1)  # a year after the start, in 2027
    assert esc.factor("gas_price", 2.5, 2028) == 2.0


def test_lead_time_makes_target_infeasible_until_a_rental_bridge_is_allowed(tmp_path):
    owned_only = plan_of(tmp_path, program(tmp_path, islanded_site(rental=False)))
    assert owned_only.infeasible
    bridged = plan_of(tmp_path, program(tmp_path, islanded_site(rental=True)))
    t = bridged.plan.timeline
    # the owned turbines ordered at the start arrive a year later; rentals cover the gap
    first_owned = min(o.online_date for o in t.orders if o.asset == "gas:lm6000")
    assert first_owned == "2027-01-01"
    assert len(t.bridges) == 1
    bridge = t.bridges[0]
    assert bridge.asset == "gas:lm6000_rented"
    assert (bridge.start_period, bridge.end_period) == ("2026-Q2", "2026-Q4")
    assert bridge.end_date == "2026-12-31"
    # N+1 on 12.2 MW of load: two 49 MW units, rented then owned
    load = 10000 * H100.design_w_per_gpu / 1e6 * 1.2
    assert bridge.quantity == 2 and load < LM6000.unit_mw
    rent = 2 * LM6000.unit_mw * 1000 * 40 * 12 * 0.75
    assert bridge.cost_usd == pytest.approx(rent, rel=1e-9)
    assert all(p.compute_online >= 10000 - 1e-6 for p in t.periods[1:])


def test_discounting_defers_an_order_to_the_last_period_it_can_wait_for(tmp_path):
    site = base_site()
    site["grid"].update({"energy_price_usd_per_mwh": 0.0})  # running early costs nothing
    site["cooling"] = [{"type": "air_economizer", "pue": 1.2, "lead_time_months": 0}]
    site["compute"] = {"gpus": [{"model": "h100_sxm", "lead_time_months": 0}]}
    doc = program(tmp_path, site, period="year", salvage="none",
                  targets=[{"date": "2028-01-01", "gpus": 1000}])
    doc["finance"] = {"discount_rate": 0.08}
    late = plan_of(tmp_path, doc).plan.timeline
    assert {o.order_period for o in late.orders} == {"2028"}
    capex = 1000 * H100.price_usd_per_gpu + 1000 * H100.design_w_per_gpu / 1e3 \
        * CAT.cooling["air_economizer"].capex_usd_per_kw_it
    assert late.npv_cost_usd == pytest.approx(capex * 1.08 ** -((dt.date(2028, 1, 1) - dt.date(2026, 1, 1)).days / 365.25), rel=1e-9)
    # the same build needed from the start costs its full price: deferring saved the discount
    doc["buildout"]["targets"] = [{"date": "2026-01-01", "gpus": 1000}]
    early = plan_of(tmp_path, doc).plan.timeline
    assert {o.order_period for o in early.orders} == {"2026"}
    assert early.npv_cost_usd == pytest.approx(capex, rel=1e-9)


def _rows(path):
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_nothing_is_used_before_its_order_date_plus_lead_time(tmp_path, runner):
    site = islanded_site(rental=True, owned_lead_months=7)
    site["compute"]["gpus"][0]["lead_time_months"] = 4
    site["cooling"][0]["lead_time_months"] = 5
    doc = program(tmp_path, site, targets=[{"date": "2026-07-01", "gpus": 5000},
                                           {"date": "2027-10-01", "gpus": 30000}])
    prog = write_yaml(tmp_path / "program.yaml", doc)
    out = tmp_path / "out"
    assert run_cli(runner, "plan", prog, "-o", out, "-q").exit_code == 0
    leads = {"gpus:h100_sxm": 4, "cooling:air_economizer": 5, "gas:lm6000": 7, "gas:lm6000_rented": 1}
    plan_doc = yaml.safe_load((out / "plan.yaml").read_text())
    timeline = plan_doc["timeline"]
    assert timeline["orders"], "the plan orders something"
    for o in timeline["orders"]:
        earliest = add_months(dt.date.fromisoformat(o["order_date"]), leads[o["asset"]])
        assert dt.date.fromisoformat(o["online_date"]) >= earliest, o
    rows = _rows(out / "timeline.csv")
    starts = {r["period"]: dt.date.fromisoformat(r["start"]) for r in rows}
    for r in rows:
        lead = leads[r["asset"]]
        ready = sum(float(x["ordered"]) for x in rows if x["asset"] == r["asset"]
                    and add_months(starts[x["period"]], lead) <= starts[r["period"]])
        assert float(r["online"]) <= ready + 1e-6, r
        if float(r["rented"]) > 0:
            assert starts[r["period"]] >= add_months(dt.date(2026, 1, 1), lead)
    online = {(r["period"], r["asset"]): float(r["online"]) + float(r["rented"]) for r in rows}
    periods = {p["name"]: p for p in timeline["periods"]}
    for name, p in periods.items():
        gpus = sum(p["gpus_online"]["testsite"].values())
        assert gpus <= online[(name, "gpus:h100_sxm")] + 1e-6
    dispatch = _rows(out / "dispatch.csv")
    for r in dispatch:
        owned, rented = online[(r["period"], "gas:lm6000")], online[(r["period"], "gas:lm6000_rented")]
        assert float(r["gas_lm6000_mw"]) <= owned * LM6000.unit_mw + 1e-6
        assert float(r["gas_lm6000_rented_mw"]) <= rented * LM6000.unit_mw + 1e-6
        if online[(r["period"], "gpus:h100_sxm")] == 0:
            assert float(r["load_mw"]) == 0
    assert read_dispatch(out / "dispatch.csv")["testsite"]["load_mw"].max() > 0


def test_infeasible_target_explains_itself_in_time_terms(tmp_path, runner):
    prog = write_yaml(tmp_path / "program.yaml", program(tmp_path, islanded_site(rental=False)))
    result = run_cli(runner, "plan", prog)
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "2026-Q2" in text and "10,000" in text
    assert "gives at most 0.0 MW" in text and "arrive in 2027-Q1" in text  # all ordered today


def test_a_target_late_for_several_reasons_names_each(tmp_path):
    """GPUs 9 months away and cooling 12 for a target 3 months out: both are said (only the first
    reason was, so a user who fixed the GPUs met the cooling next)."""
    site = islanded_site(rental=False)
    site["compute"]["gpus"][0]["lead_time_months"] = 9
    site["cooling"][0]["lead_time_months"] = 12
    outcome = api.plan(write_yaml(tmp_path / "program.yaml", program(tmp_path, site)))
    reason = outcome.why_no_plan()[0]
    assert reason.startswith("target of 10,000 gpus by 2026-Q2:")
    assert "GPUs ordered now (h100_sxm, lead time 9 months" in reason and "arrive in 2026-Q4" in reason
    assert "no cooling plant can be ready (the first, air_economizer ordered now, lead time 12 months" in reason


def grid_and_gas_site() -> dict:
    """Grid power is clean and dear, gas cheap and dirty: a CO2 cap moves the mix."""
    site = base_site(fuel={"gas_price_usd_per_mmbtu": 1.0},
                     technologies={"gas": [{"type": "wartsila_18v50sg", "max_units": 2, "lead_time_months": 0}]})
    site["grid"].update({"energy_price_usd_per_mwh": 200.0, "co2_t_per_mwh": 0.0})
    site["cooling"] = [{"type": "air_economizer", "pue": 1.2, "lead_time_months": 0}]
    site["compute"] = {"gpus": [{"model": "h100_sxm", "lead_time_months": 0}]}
    return site


def test_a_horizon_cap_limits_the_sum_over_the_periods(tmp_path):
    doc = program(tmp_path, grid_and_gas_site(), period="year",
                  targets=[{"date": "2026-01-01", "gpus": 10000}])
    free = plan_of(tmp_path, doc).plan.timeline
    yearly_co2 = [p.co2_t for p in free.periods]
    assert min(yearly_co2) > 1000  # unconstrained, the site burns gas every year
    limit = sum(yearly_co2) / 2
    doc["caps"] = [{"name": "co2-budget", "quantity": "co2_t", "max": limit, "period": "horizon",
                    "scope": {"sites": ["testsite"]}, "source": "test"}]
    capped = plan_of(tmp_path, doc).plan
    assert sum(p.co2_t for p in capped.timeline.periods) == pytest.approx(limit, rel=1e-6)
    row = next(c for c in capped.caps if c.name == "co2-budget")
    assert row.value == pytest.approx(limit, rel=1e-6) and row.binding


def test_a_yearly_capital_limit_spreads_orders_over_years(tmp_path):
    site = base_site()
    site["cooling"] = [{"type": "air_economizer", "pue": 1.2, "lead_time_months": 0}]
    site["compute"] = {"gpus": [{"model": "h100_sxm", "lead_time_months": 0}]}
    gpu_capex = 1000 * H100.price_usd_per_gpu
    doc = program(tmp_path, site, period="year", targets=[{"date": "2028-01-01", "gpus": 1000}],
                  max_capital_usd_per_year=0.6 * gpu_capex)
    t = plan_of(tmp_path, doc).plan.timeline
    assert all(p.spend_usd["capital"] <= 0.6 * gpu_capex * (1 + 1e-9) for p in t.periods)
    assert {o.order_period for o in t.orders if o.asset == "gpus:h100_sxm"} == {"2027", "2028"}
    assert sum(o.quantity for o in t.orders if o.asset == "gpus:h100_sxm") == 1000


def test_a_horizon_cap_in_a_single_period_plan_counts_every_year(tmp_path):
    site = grid_and_gas_site()
    site["compute"]["target"] = {"gpus": 10000}
    write_yaml(tmp_path / "site.yaml", site)
    doc = {"kind": "program", "name": "flat", "sites": ["site.yaml"], "time": {"typical_days": 2},
           "horizon": {"start": "2026-01-01", "years": 4}}
    yearly = plan_of(tmp_path, doc).plan.co2_t
    doc["caps"] = [{"name": "co2-budget", "quantity": "co2_t", "max": 2 * yearly, "period": "horizon",
                    "scope": {"sites": ["testsite"]}, "source": "test"}]
    capped = plan_of(tmp_path, doc).plan
    assert capped.co2_t == pytest.approx(yearly / 2, rel=1e-6)  # four years at half the rate


def test_an_asset_is_not_used_in_a_period_its_life_ends_in(tmp_path):
    """GPUs with a 1.3-year life, online 2026-Q2, retire on 2027-07-19: not in use in 2027-Q3,
    so replacements must be online by then."""
    site = base_site()
    site["cooling"] = [{"type": "air_economizer", "pue": 1.2, "lead_time_months": 0}]
    site["compute"] = {"gpus": [{"model": "h100_sxm", "lead_time_months": 0}]}
    doc = program(tmp_path, site)
    doc["finance"] = {"lifetimes_years": {"gpus": 1.3}}
    t = plan_of(tmp_path, doc).plan.timeline
    gpu_orders = [o for o in t.orders if o.asset == "gpus:h100_sxm"]
    assert len(gpu_orders) >= 2 and gpu_orders[0].online_date == "2026-04-01"
    for p in t.periods:
        usable = sum(o.quantity for o in gpu_orders if o.online_date <= p.start
                     and (o.retire_date is None or p.end < o.retire_date))
        assert p.gpus_online["testsite"]["h100_sxm"] <= usable + 1e-6, p.name
    q3 = next(p for p in t.periods if p.name == "2027-Q3")
    assert gpu_orders[0].retire_date < q3.end and q3.gpus_online["testsite"]["h100_sxm"] >= 10000


def test_existing_gpus_run_from_day_one_with_the_cooling_they_have(tmp_path):
    """Cooling takes a year to order, yet installed GPUs meet the first target at once, and
    neither the build-out nor a single-period plan buys cooling for them."""
    site = base_site()
    site["cooling"] = [{"type": "air_economizer", "pue": 1.2, "lead_time_months": 12}]
    site["compute"] = {"gpus": [{"model": "h100_sxm", "existing_gpus": 10000, "lead_time_months": 0}]}
    doc = program(tmp_path, site, targets=[{"date": "2026-01-01", "gpus": 10000}])
    t = plan_of(tmp_path, doc).plan.timeline
    assert t.orders == [] and t.periods[0].gpus_online["testsite"]["h100_sxm"] == 10000
    site["compute"]["target"] = {"gpus": 12000}
    single = api.plan(write_yaml(tmp_path / "single.yaml", site)).plan.sites[0]
    new_it_kw = 2000 * H100.design_w_per_gpu / 1e3
    spec = CAT.cooling["air_economizer"]
    crf = capital_recovery_factor(Finance().discount_rate, spec.lifetime_years)
    # cooling is bought for the 2,000 new GPUs alone
    assert single.costs_usd["cooling"] == pytest.approx(new_it_kw * spec.capex_usd_per_kw_it * crf, rel=1e-9)


def test_prices_escalate_from_the_horizons_start_to_each_periods_middle(tmp_path):
    """The site's $50/MWh is the price at horizon.start (2027-07-01): 10 %/yr compounds to each
    quarter's middle (1.1^0.125 in the first; it was counted from 1 January, 1.1^0.625), and a
    factor for a calendar year replaces the rate in the quarters whose middle is in it."""
    site = base_site()
    site["cooling"] = [{"type": "air_economizer", "pue": 1.2, "lead_time_months": 0}]
    site["compute"] = {"gpus": [{"model": "h100_sxm", "lead_time_months": 0}]}
    doc = program(tmp_path, site, targets=[{"date": "2027-07-01", "gpus": 1000}],
                  escalation={"grid_energy_price_pct_per_year": 10, "grid_energy_price_factor_by_year": {2028: 1.5}})
    doc["horizon"] = {"start": "2027-07-01", "years": 2}
    plan = plan_of(tmp_path, doc).plan
    factors = {p.name: sites[0].costs_usd["grid_energy"] / (50 * sites[0].energy_mwh["grid"])
               for p, sites in zip(plan.timeline.periods, plan.timeline.sites_by_period)}

    def years(day: str) -> float:  # from the horizon's start to the quarter's middle
        return (dt.date.fromisoformat(day) - dt.date(2027, 7, 1)).days / 365.25 + 0.125

    assert factors["2027-Q3"] == pytest.approx(1.1 ** 0.125, rel=1e-9)
    assert factors["2027-Q4"] == pytest.approx(1.1 ** years("2027-10-01"), rel=1e-9)
    assert factors["2028-Q1"] == factors["2028-Q4"] == pytest.approx(1.5, rel=1e-9)
    assert factors["2029-Q2"] == pytest.approx(1.1 ** years("2029-04-01"), rel=1e-9)
    # dispatch.csv's price column is the price each period pays: Σ weight × MW × price is its
    # grid_energy line (it had been the base year's price, short by the factor)
    for sites in plan.timeline.sites_by_period:
        d = sites[0].dispatch
        assert sum(d["weight"] * d["grid_mw"] * d["price_usd_per_mwh"]) == pytest.approx(
            sites[0].costs_usd["grid_energy"], rel=1e-9)


def test_an_escalation_past_planning_is_an_input_error(tmp_path, runner):
    """1e300 %/yr raised OverflowError (exit 70); a factor of 1e300 was a solver failure (exit 3).
    (Both are now refused as beyond 1e15; 1e6 is within that and still out of range.)"""
    for escalation, key in (({"gas_price_pct_per_year": 1e6}, "gas_price_pct_per_year"),
                            ({"gas_price_factor_by_year": {2027: 1e6}}, "gas_price_factor_by_year[2027]")):
        doc = program(tmp_path, islanded_site(rental=True), escalation=escalation)
        result = run_cli(runner, "validate", write_yaml(tmp_path / "program.yaml", doc))
        assert result.exit_code == 2 and f"buildout.escalation.{key}: input should be less than or equal to 100" \
            in result.output, result.output


def test_a_target_outside_the_horizon_is_an_input_error(tmp_path, runner):
    doc = program(tmp_path, islanded_site(rental=True), targets=[{"date": "2029-01-01", "gpus": 10000}])
    result = run_cli(runner, "validate", write_yaml(tmp_path / "program.yaml", doc))
    assert result.exit_code == 2
    assert "buildout.targets[0].date: 2029-01-01 is not before the horizon's end (2029-01-01" in result.output
    start = doc["horizon"]["start"]
    doc["buildout"]["targets"] = [{"date": "2020-01-01", "gpus": 10000}]  # planned as infeasible 'by' the first period
    result = run_cli(runner, "validate", write_yaml(tmp_path / "program.yaml", doc))
    assert result.exit_code == 2
    assert f"buildout.targets[0].date: 2020-01-01 is before the horizon's start ({start})" in result.output


def test_n_plus_one_holds_in_every_period_before_the_grid_arrives_and_not_after(tmp_path):
    """Memphis-like: rented turbines carry the cluster until the substation is energised; in those
    periods the turbines keep a spare unit (N+1), once the grid is there they need not."""
    site = islanded_site(rental=True)
    site["grid"] = {"max_import_mw": 100, "available_from": "2027-01-01", "energy_price_usd_per_mwh": 40}
    doc = program(tmp_path, site, targets=[{"date": "2026-04-01", "gpus": 60000}])
    t = plan_of(tmp_path, doc).plan.timeline
    peak = 60000 * H100.design_w_per_gpu / 1e6 * 1.2  # 102 MW at PUE 1.2: three 49 MW units, and a fourth spare
    for p, sites in zip(t.periods, t.sites_by_period):
        if p.target is None or p.start < "2026-04-01":
            continue
        s = sites[0]
        units = sum(v for k, v in s.capacity.items() if k.startswith("gas_") and k.endswith("_units") and "new" not in k)
        if p.start < "2027-01-01":
            assert s.capacity["n_plus_one_firm_mw"] >= s.capacity["design_peak_mw"] - 1e-6 >= peak - 1e-6, p.name
            assert units * LM6000.unit_mw - LM6000.unit_mw >= peak, p.name
        else:
            assert "n_plus_one_firm_mw" not in s.capacity, p.name  # the grid carries it: no spare needed


def test_gpus_allocated_ahead_of_their_power_wait_in_stock(tmp_path, runner):
    """A supplier allocates 10,000 H100 a quarter and the target is 30,000 on 2026-07-01, the
    day the grid arrives: only by taking 10,000 in each of the first three quarters and holding
    the first 20,000 unpowered is the target met (running on delivery needs power there is none
    of). Online 0, 0, 30,000; in stock 10,000, 20,000, then none; the terminal says so."""
    site = prompt_site(max_new_gpus_per_period=10000)
    site["grid"].update(available_from="2026-07-01")
    outcome = plan_of(tmp_path, one_year(tmp_path, site, [{"date": "2026-07-01", "gpus": 30000}]))
    assert outcome.plan is not None, outcome.solve
    t = outcome.plan.timeline
    assert [p.gpus for p in t.periods] == [0, 0, 30000, 30000]
    assert [p.stock for p in t.periods] == [10000, 20000, 0, 0]
    assert t.periods[1].gpus_in_stock == {"testsite": {"h100_sxm": 20000}}
    assert sorted((o.order_period, o.quantity) for o in t.orders if o.asset.startswith("gpus")) == [
        ("2026-Q1", 10000), ("2026-Q2", 10000), ("2026-Q3", 10000)]
    result = run_cli(runner, "plan", tmp_path / "program.yaml", "-o", tmp_path / "plans" / "staged", "--report")
    assert result.exit_code == 0, result.output
    assert ">GPUs in stock</th>" in (tmp_path / "plans" / "staged" / "report.html").read_text()
    assert "GPUs delivered and in stock, not running (paid for; no target needs them then): 2026-Q1 10,000, " \
        "2026-Q2 20,000" \
        in " ".join(result.output.split())
    written = yaml.safe_load((tmp_path / "plans" / "staged" / "plan.yaml").read_text())["timeline"]["periods"]
    assert [sum(sum(g.values()) for g in p["gpus_in_stock"].values()) for p in written] == [10000, 20000, 0, 0]
    result = run_cli(runner, "check", tmp_path / "program.yaml")  # the committed plan with its stock fits
    assert result.exit_code == 0, result.output


def test_gpus_a_falling_target_no_longer_needs_wait_idle(tmp_path):
    """30,000 H100 from 2026-Q1, then 10,000 from 2026-Q3: the 20,000 no target needs any more
    stay delivered but idle (in stock) rather than powered (a review found a rule that made
    delivered GPUs run cost $7 M more here, and make a shrinking grid infeasible)."""
    targets = [{"date": "2026-01-01", "gpus": 30000}, {"date": "2026-07-01", "gpus": 10000}]
    outcome = plan_of(tmp_path, one_year(tmp_path, prompt_site(), targets))
    assert outcome.plan is not None, outcome.solve
    t = outcome.plan.timeline
    assert [p.gpus for p in t.periods] == [30000, 30000, 10000, 10000]
    assert [p.stock for p in t.periods] == [0, 0, 20000, 20000]


@pytest.mark.parametrize("typical_days, start", [(None, "2026-01-01"), (None, "2028-01-01"), (3, "2026-01-01")])
def test_a_build_out_plan_written_before_periods_kept_their_steps_reads(tmp_path, runner, typical_days, start):
    """Plans written before each period recorded its steps: an hourly quarter has its own hours
    (2,160 in 2026-Q1, 2,208 in Q3; a horizon from a leap year reuses that year's 365 days, whose
    Q1 has 2,184 and Q4 2,184) and typical-day quarters may differ by a kept peak day; `check`
    reads them (it refused them as "incomplete or not this plan's")."""
    doc = one_year(tmp_path, prompt_site(), [{"date": start, "gpus": 10000}])
    doc["horizon"]["start"] = start
    if typical_days is None:
        del doc["time"]
    else:
        doc["time"]["typical_days"] = typical_days
    path = write_yaml(tmp_path / "program.yaml", doc)
    assert run_cli(runner, "plan", path, "-o", tmp_path / "plans" / "staged", "-q").exit_code == 0
    plan_yaml = tmp_path / "plans" / "staged" / "plan.yaml"
    old = yaml.safe_load(plan_yaml.read_text())
    for p in old["timeline"]["periods"]:
        del p["steps"], p["peak_days"]
    plan_yaml.write_text(yaml.safe_dump(old, sort_keys=False))
    result = run_cli(runner, "check", path)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("lead", [1.5, 29.5, 33.1, 7.0])
def test_the_latest_order_date_plus_its_lead_time_arrives_in_time_and_a_day_later_does_not(lead):
    """An order's slack ends at the last day from which its lead time still arrives: going back
    29.5 months from 2028-07-01 had given 2026-01-17, which arrives 2028-07-02 (an audit found 21
    such dates over 2026-2028 for leads of 29.5, 33.1 and 1.5 months)."""
    from dcplan.model.buildout import add_months, latest_start

    for year in (2026, 2027, 2028):
        for month in (1, 4, 7, 10):
            by = dt.date(year, month, 1)
            latest = latest_start(by, lead)
            assert add_months(latest, lead) <= by < add_months(latest + dt.timedelta(days=1), lead)


def test_timeline_csv_counts_what_exists_as_online_from_the_first_period(tmp_path, runner):
    """8,000 H100 and 2 LM6000 already there, 2 more LM6000 ordered a year ahead: online is what
    exists plus what the orders delivered (timeline.csv had left what exists out: 0 GPUs online
    in 2026 beside plan.yaml's 8,000; an audit)."""
    site = islanded_site(rental=False)
    site["technologies"]["gas"][0]["existing_units"] = 2
    site["compute"]["gpus"][0]["existing_gpus"] = 8000
    doc = program(tmp_path, site, targets=[{"date": "2026-01-01", "gpus": 8000}, {"date": "2027-01-01", "gpus": 16000}])
    path = write_yaml(tmp_path / "program.yaml", doc)
    assert run_cli(runner, "plan", path, "-q", "-o", tmp_path / "out").exit_code == 0
    rows = list(csv.DictReader((tmp_path / "out" / "timeline.csv").open()))
    online = {(r["period"], r["asset"]): float(r["online"]) for r in rows}
    assert online["2026-Q1", "gpus:h100_sxm"] == 8000 and online["2027-Q1", "gpus:h100_sxm"] == 16000
    plan = yaml.safe_load((tmp_path / "out" / "plan.yaml").read_text())
    units = {p["name"]: p["capacity_online"]["testsite"]["gas_mw"] / CAT.generators["lm6000"].unit_mw
             for p in plan["timeline"]["periods"]}
    [gas] = {a for (_, a) in online if a.startswith("gas:")}
    assert units["2026-Q1"] >= 2 and all(online[period, gas] == pytest.approx(n) for period, n in units.items())
