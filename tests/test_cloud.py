"""Rented compute (compute.cloud): the rent-or-own crossover found by the model at the owned
cost per GPU-hour, and in a build-out cloud GPUs rented until owned ones arrive, not after."""

from __future__ import annotations

import pytest
from conftest import base_site, run_cli, write_yaml

from dcplan import api

GPUS = 1000


def single_site(tmp_path, cloud_usd: float | None) -> object:
    site = base_site()
    site["compute"] = {"gpus": [{"model": "h100_sxm"}], "target": {"gpus": GPUS}}
    if cloud_usd is not None:
        site["compute"]["cloud"] = [{"model": "h100_sxm", "usd_per_gpu_hour": cloud_usd, "source": "test"}]
    return write_yaml(tmp_path / f"site-{cloud_usd}.yaml", site)


def test_the_model_rents_exactly_when_the_cloud_is_cheaper_than_owning(tmp_path):
    """By hand: the grid-only site has no fixed cost, so owning costs the same per GPU-hour at
    any size: that figure is the crossover. Just above it the plan owns every GPU; just below,
    it rents every one and builds nothing."""
    owned = api.plan(single_site(tmp_path, None)).plan
    crossover = owned.cost_usd_per_gpu_hour
    assert 1.0 < crossover < 3.0
    above = api.plan(single_site(tmp_path, crossover * 1.01)).plan
    assert above.sites[0].gpus["h100_sxm"] == GPUS and above.sites[0].cloud_gpus["h100_sxm"] == pytest.approx(0, abs=1e-6)
    assert above.total_cost_usd == pytest.approx(owned.total_cost_usd, rel=1e-6)
    below = api.plan(single_site(tmp_path, crossover * 0.99)).plan
    assert below.sites[0].gpus["h100_sxm"] == 0 and below.sites[0].cloud_gpus["h100_sxm"] == pytest.approx(GPUS)
    assert below.total_cost_usd == pytest.approx(GPUS * 8760 * crossover * 0.99, rel=1e-6)  # the rent alone
    assert below.cost_usd_per_gpu_hour == pytest.approx(crossover * 0.99, rel=1e-6)


def buildout(tmp_path, gpu_lead_months: float) -> object:
    site = base_site()
    site["cooling"] = [{"type": "air_economizer", "pue": 1.2, "lead_time_months": 0}]
    write_yaml(tmp_path / "site.yaml", site)
    doc = {"kind": "program", "name": "bridge", "sites": ["site.yaml"], "horizon": {"start": "2026-01-01", "years": 2},
           "time": {"typical_days": 1},
           "compute": {"gpus": [{"model": "h100_sxm", "lead_time_months": gpu_lead_months}],
                       "cloud": [{"model": "h100_sxm", "usd_per_gpu_hour": 4.0, "source": "test"}]},
           "buildout": {"period": "quarter", "targets": [{"date": "2026-04-01", "gpus": GPUS}]}}
    return write_yaml(tmp_path / "program.yaml", doc)


def test_cloud_gpus_bridge_until_owned_ones_arrive_and_not_after(tmp_path, runner):
    """Owned H100s ordered on day one arrive six months later (2026-Q3); the target starts in
    2026-Q2, so that quarter is rented, every later one owned (at $4/GPU-hour renting costs
    more than twice owning)."""
    path = buildout(tmp_path, 6)
    plan = api.plan(path).plan
    rented = {p.name: p.cloud_gpus for p in plan.timeline.periods}
    owned = {p.name: p.gpus for p in plan.timeline.periods}
    assert rented["2026-Q1"] == pytest.approx(0) and rented["2026-Q2"] == pytest.approx(GPUS)
    assert all(rented[name] == pytest.approx(0, abs=1e-6) for name in list(rented)[2:])
    assert owned["2026-Q2"] == 0 and all(owned[name] == GPUS for name in list(owned)[2:])
    [order] = [o for o in plan.timeline.orders if o.asset == "gpus:h100_sxm"]
    assert (order.order_period, order.online_period) == ("2026-Q1", "2026-Q3")
    [bridge] = [b for b in plan.timeline.bridges if b.asset == "cloud:h100_sxm"]
    assert (bridge.start_period, bridge.end_period) == ("2026-Q2", "2026-Q2")
    assert bridge.cost_usd == pytest.approx(GPUS * 4.0 * 8760 * 0.25, rel=1e-9)  # a quarter's rent

    result = run_cli(runner, "plan", path, "-o", tmp_path / "plans" / "bridge", "-q")
    assert result.exit_code == 0, result.output
    from dcplan.checks import check_paths, render
    report = check_paths([path])
    assert report.exit_code == 0, render(report, "text")  # the committed plan, cloud GPUs counted, passes


def test_a_target_the_owned_gpus_cannot_meet_alone_is_met_with_cloud_gpus(tmp_path):
    """The up-front checks (too few GPUs allowed) leave a target a cloud can fill to the solve."""
    site = base_site()
    site["compute"] = {"gpus": [{"model": "h100_sxm", "max_gpus": 504}], "target": {"gpus": GPUS},
                       "cloud": [{"model": "h100_sxm", "usd_per_gpu_hour": 3.0}]}
    plan = api.plan(write_yaml(tmp_path / "site.yaml", site)).plan
    assert plan.sites[0].gpus["h100_sxm"] == 504 and plan.sites[0].cloud_gpus["h100_sxm"] == pytest.approx(GPUS - 504)


def test_diff_names_cloud_gpus(tmp_path, runner):
    owned, rented = tmp_path / "owned", tmp_path / "rented"
    assert run_cli(runner, "plan", single_site(tmp_path, 9.0), "-o", owned, "-q").exit_code == 0
    assert run_cli(runner, "plan", single_site(tmp_path, 0.5), "-o", rented, "-q").exit_code == 0
    result = run_cli(runner, "diff", owned, rented)
    assert "cloud h100_sxm" in result.output, result.output
