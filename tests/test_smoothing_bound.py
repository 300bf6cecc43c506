"""The two-level method's proof: the pieces' Lagrangian bound (dcplan.smoothing.bound) is below
the exact optimum and nearly meets it, the prices it starts from are the pieces' marginal values,
and the windows planned again keep every limit."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

from dcplan.schema.smoothing import SmoothingSpec
from dcplan.smoothing import bound
from dcplan.smoothing.api import Strategy, smooth
from dcplan.smoothing.metrics import violations
from dcplan.smoothing.model import Boundary, ModelData, Store, build
from dcplan.smoothing.run import solve_lp
from dcplan.smoothing.workload import synthetic_workload
from dcplan.solver import SolveOptions
from dcplan.solver.highs import Deadline

ERCOT_LIKE = {"limits": {"swing_mw": 10, "swing_window_s": 5, "ramp_up_mw_per_s": 2, "ramp_down_mw_per_s": 2,
                         "ramp_up_mw_per_min": 8, "ramp_down_mw_per_min": 20},
              "mitigations": {"burn": {}, "battery": {"max_c_rate_per_h": 4}}}
PIECES = Strategy(direct_max_steps=100, coarse_max_steps=300, piece_steps=300)


def job(duration_s: float = 240, **extra):
    """24k H100 at 100 ms with a hard start and a checkpoint every minute: the limits bind
    across the seams of the rolling horizon's pieces."""
    return synthetic_workload(gpu="h100_sxm", gpus=24_000, duration_s=duration_s, resolution_s=0.1, seed=5,
                              iteration={"period_s": 8, "compute_fraction": 0.75, "comm_power_fraction": 0.15},
                              checkpoint={"every_min": 1, "duration_s": 10, "power_fraction": 0.15},
                              start={"idle_s": 20}, **extra)


@pytest.fixture(scope="module")
def exact_and_rolled():
    sp = SmoothingSpec.model_validate(ERCOT_LIKE)
    w = job()
    return smooth(w, sp, strategy=Strategy(periodic=False)), smooth(w, sp, strategy=PIECES)


def test_the_pieces_bound_the_optimum_from_below_and_nearly_meet_it(exact_and_rolled):
    exact, rolled = exact_and_rolled
    assert exact.method["method"] == "direct" and exact.status == "optimal"
    assert rolled.method["method"] == "two_level" and rolled.method["pieces"] >= 6
    optimum = exact.total_cost_usd_per_year
    assert rolled.lower_bound_usd_per_year <= optimum * (1 + 1e-7)
    assert rolled.total_cost_usd_per_year >= optimum * (1 - 1e-7)
    # measured: the coarse level's bound 3.3 % below the optimum, the pieces' 0.53 % (pieces of
    # 30 s against limits that reach a minute back, a checkpoint a minute), the schedule 0.02 % above
    coarse, pieces = (optimum - rolled.method[k] for k in ("coarse_bound_usd_per_year", "piece_bound_usd_per_year"))
    assert pieces < coarse / 5
    assert rolled.method["gap"] < 0.01
    assert not violations(rolled.schedule["grid_mw"], 0.1, rolled.limits, tol_mw=1e-6)


def test_a_held_values_reduced_cost_is_its_marginal_value():
    """The seams' prices are the reduced costs of what a rolling-horizon piece holds (the grid
    power before it, its starting charge): each is the change of the piece's optimum per unit
    of the held value, measured here by moving it a little either way."""
    rng = np.random.default_rng(1)
    load = 20 + 8 * (rng.random(300) > 0.5)
    lim = SmoothingSpec.model_validate({"limits": {"ramp_up_mw_per_s": 2, "ramp_down_mw_per_s": 2,
                                                   "ramp_up_mw_per_min": 8}}).limits
    battery = Store(0.95, 0.95, power_usd_per_mw_year=40_000, energy_usd_per_mj_year=8, wear_usd_per_mwh=5)

    def optimum(history: np.ndarray, soc: float):
        data = ModelData(0.1, load, lim, 60.0, 1000.0, battery=battery,
                         boundary=Boundary(history, {"bat": soc}, {"bat": 50.0}))
        sm = build(data)
        res, reduced, compiled = solve_lp(sm, SolveOptions())
        column = {id(v): j for j, v in enumerate(compiled.columns)}
        held = [sm.model.g[t] for t in range(len(history))] + [sm.model.bat_soc_start]
        return res.objective, np.array([reduced[column[id(v)]] if id(v) in column else 0.0 for v in held])

    history, soc = np.full(600, 26.0) - np.linspace(0, 3, 600), 40.0
    _, prices = optimum(history, soc)
    for i in [int(np.argmax(np.abs(prices[:-1]))), len(prices) - 1]:
        step = np.zeros(601)
        step[i] = 1e-4
        up = optimum(history + step[:-1], soc + step[-1])[0]
        down = optimum(history - step[:-1], soc - step[-1])[0]
        assert prices[i] != 0
        assert (up - down) / 2e-4 == pytest.approx(prices[i], rel=1e-4)


def test_planning_windows_again_keeps_every_limit_and_costs_less(monkeypatch, exact_and_rolled):
    """Without the windows planned again the schedule is dearer; with them every limit still
    holds across their edges (the grid power around them and their charges are held)."""
    _, rolled = exact_and_rolled
    assert rolled.method["replanned_windows"] >= 1
    monkeypatch.setattr(bound, "CLOSE", float("inf"))  # no piece loses enough to be planned again
    plain = smooth(job(), SmoothingSpec.model_validate(ERCOT_LIKE), strategy=PIECES)
    assert plain.method["replanned_windows"] == 0
    assert rolled.total_cost_usd_per_year < plain.total_cost_usd_per_year
    for r in (rolled, plain):
        assert not violations(r.schedule["grid_mw"], 0.1, r.limits, tol_mw=1e-6)
        soc = r.schedule["battery_soc_mwh"]
        assert soc.min() >= -1e-9 and soc.max() <= r.sizes["battery_energy_mwh"] + 1e-9


def test_choices_relaxed_piece_by_piece_still_bound_the_optimum():
    """GPU floor settings (a binary choice) and rack capacitors: each piece may pick its own
    setting (their fixed costs shared by length), a relaxation; the bound stays below the
    exact optimum."""
    sp = SmoothingSpec.model_validate({
        "limits": {"ramp_up_mw_per_s": 2, "ramp_down_mw_per_s": 2, "ramp_up_mw_per_min": 8},
        "mitigations": {"burn": {}, "battery": {"max_c_rate_per_h": 4}, "capacitors": {"j_per_gpu": 65},
                        "gpu_smoothing": {"floor_fractions": [0, 0.4, 0.8], "ramp_down_w_per_s": 2000}}})
    w = job(duration_s=100)
    exact = smooth(w, sp, strategy=Strategy(periodic=False))
    rolled = smooth(w, sp, strategy=Strategy(direct_max_steps=100, coarse_max_steps=300, piece_steps=300))
    assert exact.status == "optimal" and rolled.method["method"] == "two_level"
    assert "piece_bound_usd_per_year" in rolled.method
    assert rolled.method["piece_bound_usd_per_year"] <= exact.total_cost_usd_per_year * (1 + 1e-7)
    assert rolled.lower_bound_usd_per_year <= exact.total_cost_usd_per_year * (1 + 1e-7)


def test_joined_pieces_keep_the_prices_of_the_steps_before_them():
    """Limits that reach back further than a piece (a minute of history, pieces of 30 s): a
    later member's copies reach past the group's start, and the joined piece prices them as the
    members did, so the pieces before it pay what they were built with."""
    reach, length = 6, 3
    rng = np.random.default_rng(0)
    pieces = [bound.Marginals(a, a + length, rng.normal(size=min(a, reach)), {}) for a in range(0, 15, length)]
    before = bound._steps_usd(pieces, 15)
    joined = pieces[:2] + [bound._joined(pieces[2:4])] + pieces[4:]
    after = bound._steps_usd(joined, 15)
    assert np.allclose(after[:6], before[:6])  # the steps before the group
    assert joined[2].start == 6 and joined[2].stop == 12 and joined[2].joined == 2


def test_any_prices_give_a_bound_and_a_spent_deadline_gives_none():
    """The relaxation holds whatever the seams are priced at (here: nothing), against the exact
    LP of a 30 s trace cut in three; with the time already spent there is no bound, not a
    partial one."""
    rng = np.random.default_rng(3)
    load = 20 + 8 * (rng.random(300) > 0.5)
    lim = SmoothingSpec.model_validate({"limits": {"ramp_up_mw_per_s": 2, "ramp_down_mw_per_s": 2}}).limits
    battery = Store(0.95, 0.95, power_usd_per_mw_year=40_000, energy_usd_per_mj_year=8, c_rate_per_h=4)
    data = ModelData(0.1, load, lim, 60.0, 1000.0, battery=battery, burn=False)
    sm = build(data)
    exact, _, _ = solve_lp(sm, SolveOptions())
    sizes = (sm.model.bat_power.value, sm.model.bat_energy.value)  # where the cuts start
    schedule = {k: np.zeros(300) for k in ("grid_mw", "battery_discharge_mw", "battery_soc_mj", "capacitor_soc_mj")}
    pieces = [bound.Marginals(a, a + 100, np.zeros(min(a, 1)), {"bat": 0.0}) for a in (0, 100, 200)]
    now = time.perf_counter()
    found = bound.lagrangian_bound(data, pieces, schedule, 0.0, sizes, 10 * exact.objective, SolveOptions(),
                                   Deadline(None, now))
    assert found is not None and found.usd_per_year <= exact.objective * (1 + 1e-9)
    assert found.usd_per_year > 0
    assert bound.lagrangian_bound(data, pieces, schedule, 0.0, sizes, 10 * exact.objective, SolveOptions(),
                                  Deadline(0.0, now)) is None


def test_rolling_again_where_the_cuts_point_closes_a_blind_coarse_levels_gap():
    """Blocks of 15 s average 8 s iterations away, so the coarse level buys no battery and the
    first rolling horizon only burns: its prices are a zero battery's and the pieces' bound
    (measured: 43 % below) points at far too large a battery. Rolled again where the cuts point,
    each rolling horizon's prices adding a family of cuts, the sizes and the bound close on the
    exact LP's (measured: its battery to 0.1 %, the gap 0.17 %)."""
    w = synthetic_workload(gpu="h100_sxm", gpus=24_000, duration_s=1200, resolution_s=1.0, seed=5,
                           iteration={"period_s": 8, "compute_fraction": 0.75, "comm_power_fraction": 0.15},
                           checkpoint={"every_min": 5, "duration_s": 30, "power_fraction": 0.15},
                           start={"idle_s": 30})
    sp = SmoothingSpec.model_validate(ERCOT_LIKE)
    exact = smooth(w, sp, strategy=Strategy(periodic=False))
    optimum = exact.total_cost_usd_per_year
    assert exact.method["method"] == "direct" and exact.status == "optimal"
    blind = Strategy(direct_max_steps=100, coarse_max_steps=80, piece_steps=150)
    once = smooth(w, sp, strategy=dataclasses.replace(blind, max_rolls=1))
    assert once.method["coarse_factor"] == 15 and once.sizes["battery_power_mw"] == 0.0
    assert once.method["gap"] > 0.1
    again = smooth(w, sp, strategy=blind)
    assert again.method["rolls"] > 1
    assert again.lower_bound_usd_per_year <= optimum * (1 + 1e-7) <= again.total_cost_usd_per_year * (1 + 2e-7)
    assert again.method["gap"] < 0.005
    assert again.sizes["battery_power_mw"] == pytest.approx(exact.sizes["battery_power_mw"], rel=0.02)
    assert not violations(again.schedule["grid_mw"], 1.0, again.limits, tol_mw=1e-6)
