"""Limits as grid operators write them (ramps in % of capacity per minute, a spectral mask), GPU
smoothing firmware with ramp-down hysteresis (each case derived by hand), the time limit at full
resolution, and periodic traces solved one period at a time."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from conftest import run_cli, write_yaml

from dcplan.schema.smoothing import SmoothingSpec
from dcplan.smoothing.api import Strategy, smooth
from dcplan.smoothing.metrics import measure, violations
from dcplan.smoothing.spectrum import amplitude_spectrum
from dcplan.smoothing.workload import Workload, synthetic_workload
from dcplan.solver import SolveOptions


def spec(**data) -> SmoothingSpec:
    return SmoothingSpec.model_validate(data)


# --- ramps in % of capacity per minute ---------------------------------------------------

def stepped_job() -> Workload:
    """10 MW for 200 s, 20 MW for 200 s, 10 MW for 200 s at 1 s steps; 20,000 GPUs of 1 kW, so
    burn can fill anything up to 20 MW."""
    load = np.repeat([10.0, 20.0, 10.0], 200)
    return Workload("steps", 1.0, load, gpus=20_000, gpu_model="x", tdp_w=1000.0)


@pytest.mark.parametrize("up_mw_per_min, up_step_mw, burn_mw_s", [
    # 2 % of 200 MW = 4 MW/min binds (8 MW/min is looser): to stand at 20 MW at t = 200 s the grid
    # must be at 16 MW from 140 s and 12 MW from 80 s; burn fills 60 s x (6 + 2) MW. Going down
    # at 2.5 % = 5 MW/min it must hold 15 MW for the 60 s after 400 s: 60 s x 5 MW.
    (8.0, 4.0, 60 * (6 + 2) + 60 * 5),
    # 3 MW/min is tighter than 2 %: steps of 3 MW, 60 s x (7 + 4 + 1) MW before the rise
    (3.0, 3.0, 60 * (7 + 4 + 1) + 60 * 5),
])
def test_pct_per_min_ramps_bind_where_tighter(up_mw_per_min, up_step_mw, burn_mw_s):
    w = stepped_job()
    limits = {"ramp_up_pct_per_min": 2, "ramp_down_pct_per_min": 2.5, "capacity_mw": 200,
              "ramp_up_mw_per_min": up_mw_per_min}
    before = violations(w.load_mw, 1.0, spec(limits=limits).limits)
    assert before["ramp_up_pct_per_min"] == pytest.approx(10 / 200 * 100 - 2)  # 10 MW in a minute is 5 %
    r = smooth(w, spec(limits=limits, mitigations={"burn": {}}))
    assert r.status == "optimal"
    # the least grid power is a staircase: each step may rise at most one ramp above the one 60 s before
    g = r.schedule["grid_mw"]
    assert g[140:200] == pytest.approx(np.full(60, 20 - up_step_mw))
    assert g[400:460] == pytest.approx(np.full(60, 15.0))
    assert float(r.schedule["burn_mw"].sum()) == pytest.approx(burn_mw_s)
    assert r.energy_overhead_fraction == pytest.approx(burn_mw_s / w.load_mw.sum())
    assert not violations(g, 1.0, r.limits, tol_mw=1e-6)
    assert r.after["ramp_up_mw_per_min"] == pytest.approx(up_step_mw)


def test_pct_ramp_without_capacity_is_an_input_error(tmp_path, monkeypatch, runner):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.csv").write_text("time_s,mw\n0,30\n1,20\n2,30\n")
    (tmp_path / "lim.yaml").write_text("kind: smoothing\nlimits:\n  ramp_up_pct_per_min: 2\n")
    result = run_cli(runner, "smooth", "t.csv", "--site", "lim.yaml")
    assert result.exit_code == 2
    assert "lim.yaml:2: limits: ramp_up_pct_per_min needs capacity_mw" in result.output


# --- spectral mask -----------------------------------------------------------------------

def half_square(swing_mw: float, period_steps: int = 80, cycles: int = 10, step_s: float = 0.1) -> Workload:
    """A square wave of 50 % duty between 100 - swing and 100 MW."""
    one = np.where(np.arange(period_steps) < period_steps // 2, 100.0, 100.0 - swing_mw)
    return Workload("square", step_s, np.tile(one, cycles))


def test_fft_reads_a_square_waves_fundamental_as_4_over_pi_half_its_swing():
    swing = 15.0
    w = half_square(swing)
    mask = spec(limits={"spectral_mask": [{"from_hz": 0.1, "to_hz": 0.2, "max_amplitude_mw": 1}]}).limits.spectral_mask
    found = measure(w.load_mw, 0.1, mask=mask)["spectral_amplitude_mw"]["0.1-0.2 Hz"]
    assert found == pytest.approx(4 / math.pi * swing / 2, rel=1e-3)  # the continuous square wave
    assert found == pytest.approx(2 / 80 * swing / math.sin(math.pi / 80), rel=1e-12)  # sampled, 80 a period
    spectrum = amplitude_spectrum(w.load_mw)
    assert spectrum[10] == pytest.approx(found)  # 0.125 Hz: bin 10 of 800 samples at 0.1 s
    assert spectrum[0] == pytest.approx(100 - swing / 2)  # the mean
    assert spectrum[20] == pytest.approx(0, abs=1e-9)  # no even harmonics at 50 % duty


def test_spectral_mask_is_met_with_the_least_battery_derived_by_hand():
    """The mask holds when the total variation is at most N M sin(pi k/N), k the band's first bin
    (here the fundamental, 10 of 800): 10 periods of a square wave of swing S' have TV 20 S', so
    S' = 40 M sin(pi/80). A battery of power P leaves a swing of at least S - 2P in every period,
    so the least P is (S - S')/2, and shrinking the square by P either side achieves it."""
    swing, most = 15.0, 3.0
    w = half_square(swing)
    limits = {"spectral_mask": [{"from_hz": 0.125, "to_hz": 20, "max_amplitude_mw": most}]}
    power_only = {"power_capex_usd_per_kw": 100, "energy_capex_usd_per_kwh": 0, "fixed_om_usd_per_kw_year": 0,
                  "round_trip_efficiency": 1.0, "max_c_rate_per_h": None, "degradation_usd_per_mwh": 0}
    r = smooth(w, spec(limits=limits, mitigations={"battery": power_only}))
    assert r.status == "optimal"
    left = 40 * most * math.sin(math.pi / 80)
    assert r.sizes["battery_power_mw"] == pytest.approx((swing - left) / 2, rel=1e-6)
    assert r.before["spectral_amplitude_mw"]["0.125-20 Hz"] == pytest.approx(4 / math.pi * swing / 2, rel=1e-3)
    assert r.after["spectral_amplitude_mw"]["0.125-20 Hz"] <= most * (1 + 1e-6)
    assert not violations(r.schedule["grid_mw"], 0.1, r.limits, tol_mw=1e-6)


def test_spectral_mask_without_mitigation_names_the_band():
    w = half_square(15.0)
    r = smooth(w, spec(limits={"spectral_mask": [{"from_hz": 0.1, "to_hz": 1, "max_amplitude_mw": 2}]},
                       mitigations={}))
    assert r.status == "infeasible"
    assert any(reason.startswith("spectral_mask (0.1-1 Hz <= 2 MW)") for reason in r.reasons)


def test_a_band_the_trace_cannot_resolve_is_said_not_checked_and_one_beyond_the_model_step_not_shaped():
    """600 samples of 10 ms (6 s) resolve 1/6 to 50 Hz; decimated to 100 ms the model resolves
    1/6 to 5 Hz. A 100-1000 Hz band is seen by neither, a 10-40 Hz band by the trace only."""
    w = Workload("ripple", 0.01, 10 + np.sin(np.arange(600) * 0.7), gpus=None, gpu_model=None, tdp_w=None)
    mask = [{"from_hz": 100, "to_hz": 1000, "max_amplitude_mw": 0.1},
            {"from_hz": 10, "to_hz": 40, "max_amplitude_mw": 0.1}, {"from_hz": 0.5, "to_hz": 2, "max_amplitude_mw": 9}]
    r = smooth(w, spec(limits={"spectral_mask": mask}, mitigations={}))
    assert r.decimation["factor"] == 10
    assert [n.split(":")[0] for n in r.notes if n.startswith("spectral_mask")] == [
        "spectral_mask 100-1000 Hz is not checked", "spectral_mask 10-40 Hz lies outside the frequencies the "
        "schedule is made at (0.167 to 5 Hz at 0.1 s steps)"]


def test_a_model_step_other_than_the_one_asked_is_said_and_so_is_what_raises_it():
    """A step of 0.015 s on a 10 ms trace is 0.02 s; 3,000 samples with max_steps 100 are modelled
    at 0.3 s whatever was asked, and the limits they break at 10 ms are said with the max_steps to
    keep them (both had passed in silence, or advised the --resolution-s already given)."""
    w = Workload("ripple", 0.01, 10 + np.sin(np.arange(3000) * 0.7), gpus=None, gpu_model=None, tdp_w=None)
    r = smooth(w, spec(resolution_s=0.015, mitigations={}))
    assert "the model step is 0.02 s, not the 0.015 s asked: a whole number of the trace's 0.01 s steps" in r.notes
    r = smooth(w, spec(resolution_s=0.01, max_steps=100, limits={"swing_mw": 0.5}, mitigations={"battery": {}}))
    assert r.step_s == pytest.approx(0.3) and any("at most max_steps (100) model steps" in n for n in r.notes)
    assert any(re.match(r"at the trace's own step \(0.01 s\) the schedule breaks swing_mw by [0-9.]+ MW: ", n)
               and "--resolution-s 0.01 and max_steps 3,000" in n for n in r.notes), r.notes  # with its unit


def test_spectral_band_order_is_checked(tmp_path, monkeypatch, runner):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.csv").write_text("time_s,mw\n0,30\n1,20\n2,30\n")
    write_yaml(tmp_path / "lim.yaml", {"kind": "smoothing", "limits": {
        "spectral_mask": [{"from_hz": 2, "to_hz": 1, "max_amplitude_mw": 1}]}})
    result = run_cli(runner, "smooth", "t.csv", "--site", "lim.yaml")
    assert result.exit_code == 2
    assert "lim.yaml:4: limits.spectral_mask[0]: from_hz 2 is above to_hz 1" in result.output


# --- GPU smoothing firmware: ramp-down hysteresis ----------------------------------------

def o6_job() -> Workload:
    """O6: 6 s at TDP, 2 s at 15 % of TDP (700 W H100s, no server share)."""
    return synthetic_workload(gpu="h100_sxm", gpus=10_000, duration_s=64, resolution_s=0.1, server_w_per_gpu=0,
                              iteration={"period_s": 8, "compute_fraction": 0.75, "compute_power_fraction": 1.0,
                                         "comm_power_fraction": 0.15})


@pytest.mark.parametrize("firmware, extra_j_per_gpu", [
    # hold 1 s of the 2 s trough at 700 W instead of 105 W: 595 J an iteration
    ({"ramp_down_hysteresis_s": 1.0}, 595.0),
    # a hold longer than the trough never ramps down: 2 s x 595 W, and the grid sees no swing
    ({"ramp_down_hysteresis_s": 2.5}, 2 * 595.0),
    # hold 1 s, then fall 59.5 W a step (595 W/s): 595 J plus sum_{j=1..10} (595 - 59.5 j) W x 0.1 s
    ({"ramp_down_hysteresis_s": 1.0, "ramp_down_w_per_s": 595}, 595.0 + 0.1 * (5950 - 59.5 * 55)),
])
def test_firmware_hysteresis_holds_power_through_short_troughs(firmware, extra_j_per_gpu):
    w = o6_job()
    r = smooth(w, spec(mitigations={"gpu_smoothing": {"floor_fractions": [0], **firmware}}))
    assert r.status == "optimal"
    iteration_j_per_gpu = 6 * 700 + 2 * 105
    assert r.energy_overhead_fraction == pytest.approx(extra_j_per_gpu / iteration_j_per_gpu, rel=1e-9)
    assert r.sizes["gpu_ramp_down_hysteresis_s"] == firmware["ramp_down_hysteresis_s"]
    if firmware["ramp_down_hysteresis_s"] > 2:
        assert np.ptp(r.schedule["grid_mw"]) == pytest.approx(0.0, abs=1e-9)
    else:
        assert r.after["min_mw"] == pytest.approx(10_000 * 105 / 1e6)


def test_spectral_mask_holds_across_the_rolling_horizon():
    """Pieces of the rolling horizon share what is left of the total variation, the last one
    counting the step back to the first: the whole schedule still meets the mask."""
    w = half_square(15.0)
    sp = spec(limits={"spectral_mask": [{"from_hz": 0.1, "to_hz": 20, "max_amplitude_mw": 4}], "ramp_up_mw_per_s": 20,
                      "ramp_down_mw_per_s": 20},
              mitigations={"battery": {"round_trip_efficiency": 0.9, "max_c_rate_per_h": None}})
    exact = smooth(w, sp)
    rolled = smooth(w, sp, strategy=Strategy(direct_max_steps=100, coarse_max_steps=200, piece_steps=100))
    assert rolled.method["method"] == "two_level" and rolled.has_schedule
    assert not violations(rolled.schedule["grid_mw"], 0.1, rolled.limits, tol_mw=1e-6)
    assert rolled.lower_bound_usd_per_year <= exact.total_cost_usd_per_year * (1 + 1e-6)
    assert exact.total_cost_usd_per_year <= rolled.total_cost_usd_per_year * (1 + 1e-6)


def test_time_limit_is_honoured_at_full_resolution():
    """A limit too short for the rolling horizon stops it within the limit and says where, with the
    bound the coarse level proved."""
    w = synthetic_workload(gpu="h100_sxm", gpus=24_000, duration_s=150, resolution_s=0.1, seed=3,
                           iteration={"period_s": 8, "compute_fraction": 0.75}, start={"idle_s": 30})
    sp = spec(limits={"swing_mw": 10, "ramp_up_mw_per_s": 2, "ramp_down_mw_per_s": 2, "ramp_up_mw_per_min": 8},
              mitigations={"burn": {}, "battery": {}})
    st = Strategy(direct_max_steps=100, piece_steps=200, target_gap=1.0)  # not rolled again
    full = smooth(w, sp, strategy=st)
    assert full.status == "feasible"
    limit = full.method["coarse_seconds"] * 2 + 0.2 * full.method["fine_seconds"]
    r = smooth(w, sp, SolveOptions(time_limit_s=limit), strategy=st)
    assert r.status == "time_limit" and not r.has_schedule
    assert r.timings["total_s"] < limit + 2
    assert any("the time limit ran out at" in reason for reason in r.reasons)
    if r.lower_bound_usd_per_year is not None:  # the coarse level finished: its bound stands
        assert r.lower_bound_usd_per_year == pytest.approx(full.method["coarse_bound_usd_per_year"], rel=1e-6)


# --- periodic traces ---------------------------------------------------------------------

def steady_job(phase_steps: int, duration_s: float = 600) -> Workload:
    """Ten minutes (or ``duration_s``) of steady training at 100 ms (iterations of 8 s, four
    groups a little out of step), read from ``phase_steps`` into an iteration."""
    w = synthetic_workload(gpu="h100_sxm", gpus=24_000, duration_s=duration_s, resolution_s=0.1, seed=2,
                           iteration={"period_s": 8, "compute_fraction": 0.75, "comm_power_fraction": 0.15},
                           jitter={"groups": 4, "max_offset_s": 0.3})
    w.load_mw = np.roll(w.load_mw, -phase_steps)
    return w


ERCOT_LIKE = {"limits": {"swing_mw": 10, "ramp_up_mw_per_s": 2, "ramp_down_mw_per_s": 2, "ramp_up_mw_per_min": 8,
                         "ramp_down_mw_per_min": 20}, "mitigations": {"burn": {}, "battery": {}}}


def test_periodic_decomposition_equals_the_exact_lp_on_four_minutes():
    """One 8 s period solved cyclically and repeated 30 times is the optimum of the whole
    4-minute LP (2,400 steps, four of the per-minute ramp's windows), certified by the zero duals
    of the rows that reach back across the period's end; the trace starts 3 s into a compute
    phase, where nothing binds."""
    w = steady_job(30, duration_s=240)
    periodic = smooth(w, SmoothingSpec.model_validate(ERCOT_LIKE))
    exact = smooth(w, SmoothingSpec.model_validate(ERCOT_LIKE), strategy=Strategy(periodic=False))
    assert periodic.method["method"] == "periodic" and periodic.method["period_steps"] == 80
    assert periodic.method["periods"] == 30
    assert exact.method["method"] == "direct" and exact.status == "optimal"
    assert periodic.total_cost_usd_per_year == pytest.approx(exact.total_cost_usd_per_year, rel=1e-7)
    assert periodic.lower_bound_usd_per_year == pytest.approx(periodic.total_cost_usd_per_year, rel=1e-7)
    assert periodic.sizes["battery_power_mw"] == pytest.approx(exact.sizes["battery_power_mw"], rel=1e-6, abs=1e-6)
    assert not violations(periodic.schedule["grid_mw"], 0.1, periodic.limits, tol_mw=1e-6)
    g = periodic.schedule["grid_mw"]
    assert np.array_equal(g[:80], g[-80:])


def test_periodic_trace_without_a_certificate_is_solved_whole():
    """Read from the start of a compute phase, the ramp at the trace's end binds in the one-period
    model: the whole trace lacks that row, so the period is not certified and the trace is solved
    as a whole (a little cheaper: it need not join its end to its start)."""
    ramps = SmoothingSpec.model_validate({**ERCOT_LIKE, "limits": {"ramp_up_mw_per_s": 2, "ramp_down_mw_per_s": 2}})
    r = smooth(steady_job(0, duration_s=120), ramps)
    assert r.method["method"] == "direct" and r.status == "optimal"
    assert smooth(steady_job(30, duration_s=120), ramps).method["method"] == "periodic"  # the same job, certified


# --- the coarse level's bound ------------------------------------------------------------

def test_coarse_bound_sees_the_load_move_within_its_blocks():
    """10 MW and 0 MW in turn, second by second, against a flat grid: block means of two steps
    are a flat 5 MW, which alone would need no battery (a bound of 0). What the steps inside a
    block imply -- discharge at least 10 - g at the first, charge at least g at the second -- puts
    the battery's power at 5 MW or more: the bound is the optimum."""
    w = Workload("alternating", 1.0, np.tile([10.0, 0.0], 50))
    power_only = {"power_capex_usd_per_kw": 100, "energy_capex_usd_per_kwh": 0, "fixed_om_usd_per_kw_year": 0,
                  "round_trip_efficiency": 1.0, "max_c_rate_per_h": None, "degradation_usd_per_mwh": 0}
    sp = spec(limits={"ramp_up_mw_per_s": 0, "ramp_down_mw_per_s": 0}, mitigations={"battery": power_only})
    exact = smooth(w, sp, strategy=Strategy(periodic=False))
    assert exact.sizes["battery_power_mw"] == pytest.approx(5.0) and exact.total_cost_usd_per_year > 0
    r = smooth(w, sp, strategy=Strategy(periodic=False, direct_max_steps=10, coarse_max_steps=50, piece_steps=20))
    assert r.method["method"] == "two_level" and r.method["coarse_factor"] == 2
    assert r.lower_bound_usd_per_year == pytest.approx(exact.total_cost_usd_per_year, rel=1e-9)


def test_an_interior_point_solve_that_stalls_is_finished_by_the_simplex_method(monkeypatch):
    """IPX had iterated for over ten minutes on a property test's tiny coarse model, with no
    time limit to stop it: past IPM_ITERATIONS the simplex method solves the LP instead. Here
    one iteration, presolve off so that IPX runs at all."""
    import pyomo.environ as pyo

    import dcplan.smoothing.run as run
    from dcplan.solver.highs import Compiled

    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(30), bounds=(0, 10))
    m.chain = pyo.Constraint(range(29), rule=lambda m, i: m.x[i] + 2 * m.x[i + 1] <= 1 + 0.1 * i)
    m.objective = pyo.Objective(expr=-sum(m.x[i] for i in range(30)))
    compiled = Compiled(m)
    reference, _, _ = run.run_lp(compiled, SolveOptions())
    made = run.new_highs

    def without_presolve(options):
        h = made(options)
        h.setOptionValue("presolve", "off")
        return h

    monkeypatch.setattr(run, "new_highs", without_presolve)
    monkeypatch.setattr(run, "IPM_ITERATIONS", 1)
    result, x, _ = run.run_lp(compiled, SolveOptions(), interior=True)
    assert result.status == "optimal" and result.strategy == "simplex" and x is not None
    assert result.objective == pytest.approx(reference.objective, rel=1e-9)
