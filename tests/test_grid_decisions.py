"""Grid connections as decisions: an upgrade ordered at the latest period that still meets the
target, and a flexible (curtailable) connection accepted exactly when what it costs is below
what it gains."""

from __future__ import annotations

import pytest
from conftest import base_site, run_cli, write_yaml

from dcplan import api
from dcplan.series import HOURS_PER_YEAR


def upgrade_program(tmp_path, lead_months: float) -> object:
    """1,000 H100 (1.7 MW of facility load) from 2027-01-01 on a 1 MW connection: a 5 MW upgrade
    that takes ``lead_months`` is needed."""
    site = base_site()
    site["grid"].update(max_import_mw=1, upgrades=[{"name": "substation", "adds_mw": 5, "capex_usd": 1.0e6,
                                                     "lead_time_months": lead_months}])
    site["cooling"] = [{"type": "air_economizer", "pue": 1.2, "lead_time_months": 0}]
    write_yaml(tmp_path / "site.yaml", site)
    return write_yaml(tmp_path / "program.yaml", {
        "kind": "program", "name": "upgrade", "sites": ["site.yaml"], "horizon": {"start": "2026-01-01", "years": 3},
        "time": {"typical_days": 1},
        "compute": {"gpus": [{"model": "h100_sxm", "lead_time_months": 0}]},
        "buildout": {"period": "quarter", "targets": [{"date": "2027-01-01", "gpus": 1000}]}})


def test_an_upgrade_is_ordered_at_the_latest_period_that_still_meets_the_target(tmp_path, runner):
    """By hand: in service by 2027-01-01 after 9 months means ordered by 2026-04-01 (2026-Q2);
    capital later is cheaper (discounting), so that is when."""
    path = upgrade_program(tmp_path, 9)
    plan = api.plan(path).plan
    [order] = [o for o in plan.timeline.orders if o.asset == "grid_upgrade:substation"]
    assert (order.order_period, order.online_period, order.quantity) == ("2026-Q2", "2027-Q1", 1)
    assert order.slack_months == pytest.approx(0.0)
    last = plan.timeline.periods[-1]
    assert last.capacity_online["testsite"]["grid_mw"] == pytest.approx(6.0)  # 1 MW + the upgrade's 5
    assert run_cli(runner, "plan", path, "-o", tmp_path / "plans" / "upgrade", "-q").exit_code == 0
    from dcplan.checks import check_paths, render
    report = check_paths([path])
    assert report.exit_code == 0, render(report, "text")  # the upgrade's MW count in the grid schedule


def test_an_upgrade_too_slow_for_the_target_is_named_in_the_reason(tmp_path, runner):
    result = run_cli(runner, "plan", upgrade_program(tmp_path, 40))
    assert result.exit_code == 1 and "upgrade substation ordered now in service in" in " ".join(result.output.split())


LOAD_MW = 1000 * (1275 + 141.7) / 1e6 * 1.2  # 1,000 H100 at PUE 1.2
PRICE, SHED, CURTAILED = 50.0, 1000.0, 100


def flexible_site(tmp_path, fee: float) -> object:
    """No firm connection in the plan's year (it comes in 2030), an offer of 10 MW now except in
    100 curtailed hours, and shedding load at $1,000/MWh as the only other way."""
    site = base_site(reliability={"n_plus_one": False, "unserved_energy_usd_per_mwh": SHED})
    site["grid"].update(max_import_mw=10, available_from="2030-01-01", energy_price_usd_per_mwh=PRICE,
                        flexible={"max_import_mw": 10, "available_from": "2027-01-01",
                                  "curtailment": {"hours_per_year": CURTAILED}, "fee_usd_per_year": fee})
    return write_yaml(tmp_path / f"site-{fee:.0f}.yaml", site)


def test_a_flexible_connection_is_accepted_exactly_when_it_costs_less_than_it_gains(tmp_path):
    """By hand: accepting pays the fee, the energy of the 8,660 uncurtailed hours at $50, and
    sheds the 100 curtailed ones at $1,000; refusing sheds all 8,760. Accept iff the fee is below
    ($1,000 - $50) x load x 8,660 h."""
    gain = (SHED - PRICE) * LOAD_MW * (HOURS_PER_YEAR - CURTAILED)
    taken = api.plan(flexible_site(tmp_path, gain * 0.99)).plan.sites[0]
    assert taken.capacity["grid_flexible_mw"] == pytest.approx(10.0)
    assert taken.energy_mwh["grid"] == pytest.approx(LOAD_MW * (HOURS_PER_YEAR - CURTAILED), rel=1e-6)
    assert taken.costs_usd["grid_flexible_fee"] == pytest.approx(gain * 0.99)
    assert any("flexible connection accepted" in b and "(100 h/yr on the plan's time grid)" in b for b in taken.binding)
    from rich.console import Console

    from dcplan.terminal import plan_summary

    console = Console(record=True, width=200)
    plan_summary(console, api.plan(flexible_site(tmp_path, gain * 0.99)).plan)
    assert " + 10.0 MW flexible" in console.export_text()  # the peak is read against the limit with the offer
    refused = api.plan(flexible_site(tmp_path, gain * 1.01)).plan.sites[0]
    assert refused.capacity["grid_flexible_mw"] == 0.0 and refused.energy_mwh.get("grid", 0.0) == pytest.approx(0.0)
    # the GPUs and cooling cost the same either way: refusing costs the gain less the fee more
    assert refused.total_cost_usd - taken.total_cost_usd == pytest.approx(gain - gain * 0.99, rel=1e-6)


def test_the_hours_at_the_grid_limit_count_the_flexible_room_outside_the_curtailed_hours(tmp_path):
    """A firm 1 MW and an offer of 2 MW outside 100 curtailed hours, for a 1.7 MW load: the import is at
    the limit in force only in the curtailed hours (1 MW, the rest shed), not in the 8,660 others,
    where 1.7 MW is below 2 MW (it had been read against the firm 1 MW alone: 8,760 h)."""
    site = base_site(reliability={"n_plus_one": False, "unserved_energy_usd_per_mwh": SHED})
    site["grid"].update(max_import_mw=1, energy_price_usd_per_mwh=PRICE,
                        flexible={"max_import_mw": 2, "curtailment": {"hours_per_year": CURTAILED}})
    taken = api.plan(write_yaml(tmp_path / "site.yaml", site)).plan.sites[0]
    assert taken.capacity["grid_flexible_mw"] == pytest.approx(1.0)
    assert f"grid import at its 1 MW limit (2 MW outside the curtailed hours) for {CURTAILED:,} h/yr" in taken.binding


def earliest_with_offer(tmp_path, offer: bool) -> dict:
    """10,000 H100 as early as possible; the firm 30 MW connection comes 2027-07-01. The offer:
    the same 30 MW from 2026-04-01, curtailed in the dearest hours, which a battery carries."""
    site = base_site(technologies={"battery": {"type": "li_ion_lfp", "lead_time_months": 0}})
    site["grid"].update(max_import_mw=30, available_from="2027-07-01")
    if offer:
        site["grid"]["flexible"] = {"max_import_mw": 30, "available_from": "2026-04-01",
                                    "curtailment": {"hours_per_year": 50}}
    site["cooling"] = [{"type": "air_economizer", "pue": 1.2, "lead_time_months": 0}]
    write_yaml(tmp_path / "site.yaml", site)
    path = write_yaml(tmp_path / "program.yaml", {
        "kind": "program", "name": "flex", "sites": ["site.yaml"], "horizon": {"start": "2026-01-01", "years": 3},
        "time": {"typical_days": 1}, "compute": {"gpus": [{"model": "h100_sxm", "lead_time_months": 0}]},
        "buildout": {"period": "quarter", "earliest": {"gpus": 10000}}})
    return api.plan(path).plan


def test_a_flexible_connection_brings_the_earliest_date_forward_with_a_battery_for_the_curtailed_hours(tmp_path):
    firm_only = earliest_with_offer(tmp_path, False)
    assert firm_only.earliest["period"] == "2027-Q3"
    flexible = earliest_with_offer(tmp_path, True)
    assert flexible.earliest["period"] == "2026-Q2"  # five quarters sooner
    early = next(p for p in flexible.timeline.periods if p.name == "2026-Q2")
    assert early.capacity_online["testsite"]["grid_flexible_mw"] == pytest.approx(30.0)
    assert early.capacity_online["testsite"]["battery_mw"] > 0  # what carries the curtailed hours
    # one typical day a quarter: its dearest hour stands for 365 h a year, all curtailed
    binding = next(s for s in flexible.timeline.sites_by_period[1]).binding
    assert ("flexible connection accepted: 30 MW more outside its curtailed hours (365 h/yr on the plan's "
            "time grid for the 50 h asked: a typical day's hour stands for its whole weight)") in binding
    late = next(p for p in flexible.timeline.periods if p.name == "2027-Q3")
    assert late.capacity_online["testsite"].get("grid_flexible_mw", 0.0) == 0.0  # firm by then: nothing to accept


def test_an_upgrade_named_by_its_equipment_takes_the_catalog_price_and_lead_time(tmp_path):
    from dcplan.catalog import builtin_catalog
    from dcplan.formulas import capital_recovery_factor

    spec = builtin_catalog().grid_equipment["substation_150mw"]
    site = base_site()
    site["grid"].update(max_import_mw=1, upgrades=[{"name": "sub", "adds_mw": 150, "equipment": "substation_150mw"}])
    plan = api.plan(write_yaml(tmp_path / "site.yaml", site), typical_days=1).plan.sites[0]
    assert plan.capacity["grid_upgrade_sub_units"] == 1 and plan.capacity["grid_limit_mw"] == 151
    assert plan.costs_usd["grid_upgrade"] == pytest.approx(spec.capex_usd * capital_recovery_factor(0.08, 40), rel=1e-9)
    assert spec.sources["capex_usd"].startswith("derived")


def test_an_upgrade_name_used_twice_is_refused(tmp_path, runner):
    site = base_site()
    site["grid"]["upgrades"] = [{"name": "sub", "adds_mw": 5, "capex_usd": 1.0e6, "lead_time_months": 0},
                                {"name": "sub", "adds_mw": 50, "capex_usd": 1.0e5, "lead_time_months": 0}]
    result = run_cli(runner, "validate", write_yaml(tmp_path / "site.yaml", site))
    assert result.exit_code == 2 and "grid upgrade name used twice: sub" in result.output


def test_upgrades_add_nothing_before_the_connection_and_an_offer_is_the_limit_with_them(tmp_path):
    """Upgrades raise a connection that is there; with one in service, an accepted offer of 10 MW
    on a 1 MW connection raised by 5 gives 4 MW more: 10 MW in all, not 15."""
    site = base_site(reliability={"n_plus_one": False, "unserved_energy_usd_per_mwh": 100000})
    site["compute"]["target"] = {"gpus": 8000}  # 13.6 MW at PUE 1.2: more than any limit here
    site["grid"].update(max_import_mw=1, upgrades=[{"name": "sub", "adds_mw": 5, "capex_usd": 1e5, "lead_time_months": 0}],
                        flexible={"max_import_mw": 10, "curtailment": {"hours_per_year": 10}})
    plan = api.plan(write_yaml(tmp_path / "site.yaml", site), typical_days=1).plan.sites[0]
    assert plan.capacity["grid_upgrade_sub_units"] == 1 and plan.capacity["grid_flexible_mw"] == pytest.approx(4.0)
    assert plan.capacity["grid_peak_import_mw"] == pytest.approx(10.0)
    site["grid"].update(available_from="2030-01-01", flexible=None)
    later = api.plan(write_yaml(tmp_path / "later.yaml", site), typical_days=1).plan.sites[0]
    assert later.energy_mwh.get("grid", 0.0) == pytest.approx(0.0)  # no connection yet: the upgrade adds nothing


@pytest.mark.parametrize("start, end, key", [
    ("2026-06-01", None, ("grid", "available_from")),  # before the connection: 0 MW
    ("2027-03-01", None, ("grid", "max_import_mw")),
    ("2028-02-01", None, ("grid", "steps", 0, "max_import_mw")),
    ("2029-02-01", None, ("grid", "steps", 1, "max_import_mw")),  # down to 120 MW
    ("2028-10-01", "2029-03-31", ("grid", "steps", 1, "max_import_mw")),  # the least in the period
    ("2026-10-01", "2027-03-31", ("grid", "available_from")),
])
def test_the_key_that_sets_a_periods_grid_limit(start, end, key):
    """What a message cites for the grid's firm limit in a period: the entry whose limit is the
    least of the period (a step, or the connection's date), as formulas.grid_limit_during takes."""
    import datetime as dt

    from dcplan.formulas import grid_limit_key
    from dcplan.schema.site import Grid

    grid = Grid(max_import_mw=150, available_from="2027-01-01", energy_price_usd_per_mwh=50,
                steps=[{"date": "2028-01-01", "max_import_mw": 300}, {"date": "2029-01-01", "max_import_mw": 120}])
    day = dt.date.fromisoformat
    assert grid_limit_key(grid, day(start), day(end) if end else None) == key
