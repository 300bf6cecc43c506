"""GPU power capping (compute.power_capping): chosen exactly in the hours where the energy it
saves is worth more than the throughput it costs, to the depth the curve allows."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import base_site, daily, write_csv, write_yaml

from dcplan import api
from dcplan.catalog import builtin_catalog
from dcplan.formulas import capping_segments
from dcplan.schema.compute import PRETRAINING_POWER_CURVE

H100 = builtin_catalog().gpus["h100_sxm"]
PUE, GPUS = 1.2, 1000
SPIKE_HOURS = 3  # a day's dearest hours


def capped_plan(tmp_path, value: float, spike: float):
    """A flat $40/MWh with three hours a day at ``spike``; capping priced at ``value`` a GPU-hour."""
    write_csv(tmp_path / "price.csv", {"price": daily([40.0] * 17 + [spike] * SPIKE_HOURS + [40.0] * 4)})
    site = base_site()
    site["grid"]["energy_price_usd_per_mwh"] = {"csv": "price.csv"}
    site["compute"] = {"gpus": [{"model": "h100_sxm"}], "target": {"gpus": GPUS},
                       "power_capping": {"value_usd_per_gpu_hour": value}}
    return api.plan(write_yaml(tmp_path / "site.yaml", site), typical_days=1).plan


def test_the_first_segment_is_worth_capping_exactly_when_its_energy_beats_its_throughput(tmp_path):
    """By hand: capping the first segment saves PUE x price per MWh of IT and loses slope /
    (TDP x 1 h) GPU-hours per MWh (the envelope's first slope, 0.525, over 0.0007 MW): it pays in
    the spike hours iff 1.2 x spike > value x 750. Its depth is 24 % of the GPUs' board power."""
    (width, slope), *_ = capping_segments(PRETRAINING_POWER_CURVE)
    assert (width, slope) == pytest.approx((0.24, 0.525))
    lost_per_mwh = slope / (H100.tdp_w / 1e6)
    spike = 2000.0
    threshold = PUE * spike / lost_per_mwh  # $ per GPU-hour at which capping stops paying
    board_mw = GPUS * H100.tdp_w / 1e6

    taken = capped_plan(tmp_path, threshold * 0.95, spike).sites[0]
    capped = taken.dispatch["gpu_capped_mw"]
    price = taken.dispatch["price_usd_per_mwh"]
    assert np.all(capped[price > 1000] == pytest.approx(width * board_mw, rel=1e-6))  # the whole first segment
    assert np.all(capped[price < 1000] == pytest.approx(0.0, abs=1e-9))  # never at $40
    days = float(np.sum(taken.dispatch["weight"])) / 24
    assert taken.costs_usd["power_capping"] == pytest.approx(
        threshold * 0.95 * lost_per_mwh * width * board_mw * SPIKE_HOURS * days, rel=1e-6)
    assert any("GPU power capped" in b for b in taken.binding)

    kept = capped_plan(tmp_path, threshold * 1.05, spike).sites[0]
    assert np.all(kept.dispatch["gpu_capped_mw"] == pytest.approx(0.0, abs=1e-9))
    assert "power_capping" not in kept.costs_usd or kept.costs_usd["power_capping"] == pytest.approx(0.0, abs=1e-6)


def test_a_deeper_cap_is_taken_only_when_its_dearer_segment_pays_too(tmp_path):
    """At a spike that pays for the second segment (0.725) but not the third (1.238), the cap
    goes 36 % deep (0.24 + 0.12) and stops there."""
    segments = capping_segments(PRETRAINING_POWER_CURVE)
    value = 1.0
    spike = value * (segments[1][1] + segments[2][1]) / 2 / (H100.tdp_w / 1e6) / PUE  # between the two
    capped = capped_plan(tmp_path, value, spike).sites[0].dispatch["gpu_capped_mw"]
    board_mw = GPUS * H100.tdp_w / 1e6
    assert capped.max() == pytest.approx((segments[0][0] + segments[1][0]) * board_mw, rel=1e-6)


def test_a_curve_not_starting_uncapped_is_refused(tmp_path, runner):
    from conftest import run_cli
    site = base_site()
    site["compute"]["power_capping"] = {"value_usd_per_gpu_hour": 2.0, "curve": [[0.9, 0.95], [0.5, 0.6]]}
    result = run_cli(runner, "validate", write_yaml(tmp_path / "site.yaml", site))
    assert result.exit_code == 2 and "starts at (1, 1)" in result.output


def test_power_caps_save_the_water_of_the_energy_they_take_away(tmp_path):
    plan = capped_plan(tmp_path, 0.01, 2000.0).sites[0]  # caps pay in the spike hours
    w, capped = plan.dispatch["weight"], plan.dispatch["gpu_capped_mw"]
    assert capped.max() > 0
    wue = builtin_catalog().cooling[plan.cooling].wue_l_per_kwh
    assert plan.water_m3 == pytest.approx((float(np.sum(w)) * plan.it_mw - float(np.sum(w * capped))) * wue, rel=1e-9)
