"""A site that declares its training job: `dcplan plan` adds the smoothing it needs."""

from __future__ import annotations

import threading
import time
import types

import pytest
from conftest import base_site, run_cli, write_yaml

from dcplan import api
from dcplan.catalog import builtin_catalog
from dcplan.diagnose import arithmetic_checks
from dcplan.formulas import capital_recovery_factor
from dcplan.loader import load_program
from dcplan.model.training import smoothing_cost_usd
from dcplan.schema.smoothing import SmoothingSpec
from dcplan.smoothing.api import smooth
from dcplan.smoothing.workload import load_workload
from dcplan.solver import SolveOptions

JOB = {"kind": "workload", "name": "job", "gpu": "h100_sxm", "gpus": 8000, "duration_s": 60,
       "resolution_s": 0.1, "iteration": {"period_s": 8, "compute_fraction": 0.75},
       "start": {"idle_s": 2, "ramp_s": 1}}
SMOOTHING = {"limits": {"swing_mw": 2, "swing_window_s": 5}, "mitigations": {"battery": {}}, "workload": "job.yaml"}


def test_plan_adds_the_smoothing_of_the_declared_job(tmp_path):
    write_yaml(tmp_path / "job.yaml", JOB)
    drawing = {"gpus": [{"model": "h100_sxm"}], "target": {"gpus": 1000}, "average_draw_fraction": 0.8}
    plain = api.plan(write_yaml(tmp_path / "plain.yaml", base_site(compute=drawing)), typical_days=2).plan
    path = write_yaml(tmp_path / "site.yaml", base_site(compute=drawing, smoothing=SMOOTHING))
    planned = api.plan(path, typical_days=2).plan
    result = smooth(load_workload(tmp_path / "job.yaml"), SmoothingSpec.model_validate(SMOOTHING))
    site = planned.sites[0]
    assert smoothing_cost_usd(result) > 0
    assert site.costs_usd["smoothing"] == pytest.approx(smoothing_cost_usd(result), rel=1e-9)
    assert site.capacity["smoothing_battery_mw"] == pytest.approx(result.sizes["battery_power_mw"])
    assert site.capacity["smoothing_job_gpus"] == 8000  # what those sizes are for (the plan has 1,000 GPUs)
    # by hand: the smoothing's extra energy, as a share of the job's design (8,000 H100 all in),
    # adds to the IT's hourly draw of 0.8 of its design
    design_mw = JOB["gpus"] * builtin_catalog().gpus["h100_sxm"].design_w_per_gpu / 1e6
    added = result.energy_overhead_fraction * result.before["mean_mw"] / design_mw
    assert 0 < added < 0.2
    assert planned.facility_energy_mwh == pytest.approx(plain.facility_energy_mwh * (0.8 + added) / 0.8, rel=1e-9)
    # and the water the IT's energy takes
    assert plain.sites[0].water_m3 > 0
    assert planned.sites[0].water_m3 == pytest.approx(plain.sites[0].water_m3 * (0.8 + added) / 0.8, rel=1e-9)


def test_the_smoothed_job_never_draws_above_the_design(tmp_path):
    """A cluster drawing its design all hour (the default) has no trough for smoothing to fill:
    the plan's hourly load stays at the design, its design peak the design IT at the highest PUE
    (the smoothing's extra energy had been added on top of it: 9.8 % above what the GPUs can
    draw in a user's case, and their N+1, grid and CO2 cap held to that)."""
    write_yaml(tmp_path / "job.yaml", JOB)
    site = base_site(smoothing=SMOOTHING)
    site["compute"]["target"] = {"gpus": JOB["gpus"]}
    s = api.plan(write_yaml(tmp_path / "site.yaml", site), typical_days=2).plan.sites[0]
    pue = 1.2  # base_site's
    assert s.capacity["design_peak_mw"] == pytest.approx(s.it_mw * pue, rel=1e-9)
    assert max(s.dispatch["load_mw"]) == pytest.approx(s.it_mw * pue, rel=1e-9)
    assert min(s.dispatch["load_mw"]) == pytest.approx(s.it_mw * pue, rel=1e-9)


def test_unsmoothable_job_makes_the_plan_infeasible(tmp_path, runner):
    write_yaml(tmp_path / "job.yaml", JOB)
    spec = {"limits": {"band_max_mw": 1}, "workload": "job.yaml"}
    result = run_cli(runner, "plan", write_yaml(tmp_path / "site.yaml", base_site(smoothing=spec)), "-q")
    assert result.exit_code == 1 and "training job job.yaml" in result.output


def test_missing_workload_is_an_input_error(tmp_path, runner):
    spec = {"limits": {"swing_mw": 2}, "workload": "nope.yaml"}
    result = run_cli(runner, "validate", write_yaml(tmp_path / "site.yaml", base_site(smoothing=spec)))
    assert result.exit_code == 2 and "smoothing.workload: workload file not found" in result.output


def test_plan_writes_the_smoothing_beside_the_plan_and_the_report_shows_it(tmp_path, runner):
    write_yaml(tmp_path / "job.yaml", JOB)
    path = write_yaml(tmp_path / "site.yaml", base_site(smoothing=SMOOTHING))
    out = tmp_path / "out"
    result = run_cli(runner, "plan", path, "-o", out, "--report", "--typical-days", "2", "-q")
    assert result.exit_code == 0, result.output
    assert {"smoothing.yaml", "schedule.csv", "plan.yaml", "report.html"} <= {p.name for p in out.iterdir()}
    assert "Training-power smoothing" in (out / "report.html").read_text()


def test_the_plan_is_designed_for_at_least_the_peak_of_its_declared_job(tmp_path):
    """The job's power (GPUs at TDP plus their servers and the cluster around them), smoothed, never
    exceeds the IT the plan is designed for, so its supply and cooling carry the job."""
    write_yaml(tmp_path / "job.yaml", JOB)
    site = base_site(smoothing=SMOOTHING)
    site["compute"]["target"] = {"gpus": JOB["gpus"]}
    planned = api.plan(write_yaml(tmp_path / "site.yaml", site), typical_days=2)
    plan = planned.plan.sites[0]
    after = planned.smoothing["testsite"].after["max_mw"]
    assert after > 0.9 * plan.it_mw  # a job near the cluster's full power
    assert plan.it_mw >= after - 1e-6
    assert plan.capacity["design_peak_mw"] >= after


def test_one_battery_serves_the_smoothing_and_the_plan(tmp_path):
    """The battery the job is smoothed with is the site's own (bought, priced and dispatched by the
    plan), not a second one hidden in the smoothing's cost: a site listing no battery gets one."""
    write_yaml(tmp_path / "job.yaml", JOB)
    site = base_site(smoothing=SMOOTHING)
    assert "battery" not in site.get("technologies", {})
    plan = api.plan(write_yaml(tmp_path / "site.yaml", site), typical_days=2)
    s = plan.plan.sites[0]
    needs = plan.smoothing["testsite"].sizes
    assert needs["battery_power_mw"] > 0
    assert s.capacity["battery_mw"] >= needs["battery_power_mw"] - 1e-6
    assert s.capacity["battery_mwh"] >= needs["battery_energy_mwh"] - 1e-6
    assert s.costs_usd["battery_capex"] > 0
    job = plan.smoothing["testsite"].costs_usd_per_year
    assert s.costs_usd["smoothing"] == pytest.approx(sum(v for k, v in job.items()
                                                         if k not in ("battery_capex", "battery_fixed_om")
                                                         and not k.startswith("energy_")), rel=1e-9)


def test_the_share_held_for_smoothing_counts_for_nothing_else(tmp_path):
    """An islanded site on two 18.8 MW engines under N+1 (18.8 MW firm) with a 20.6 MW design
    peak: the battery carries the 1.8 MW gap for 4 h on top of what the smoothing holds (it had
    counted one battery for both, sized to the larger duty). By hand: power = held + gap,
    energy = held + 4 h x gap / discharge efficiency, and no hour's dispatch reaches the share."""
    write_yaml(tmp_path / "job.yaml", JOB)
    site = base_site(smoothing=SMOOTHING, fuel={"gas_price_usd_per_mmbtu": 4})
    del site["grid"]
    site["compute"]["target"] = {"gpus": 12000}
    site["technologies"] = {"gas": [{"type": "wartsila_18v50sg", "max_units": 6}], "battery": {"type": "li_ion_lfp"}}
    path = write_yaml(tmp_path / "site.yaml", site)
    s = api.plan(path, typical_days=2).plan.sites[0]
    c, d = s.capacity, s.dispatch
    assert c["gas_wartsila_18v50sg_units"] == 2 and c["smoothing_battery_mw"] > 0
    gap = c["design_peak_mw"] - 18.8
    assert 0 < gap < 18.8
    eta_out = load_program(path).sites[0].catalog.storage["li_ion_lfp"].one_way_efficiencies()[1]
    assert c["battery_mw"] == pytest.approx(c["smoothing_battery_mw"] + gap, rel=1e-6)
    assert c["battery_mwh"] == pytest.approx(c["smoothing_battery_mwh"] + 4 * gap / eta_out, rel=1e-6)
    free_mw, free_mwh = c["battery_mw"] - c["smoothing_battery_mw"], c["battery_mwh"] - c["smoothing_battery_mwh"]
    assert max(d["battery_charge_mw"].max(), d["battery_discharge_mw"].max()) <= free_mw + 1e-6
    assert d["battery_soc_mwh"].max() <= free_mwh + 1e-6


@pytest.mark.parametrize("swing_mw", [2.0, 5.3])
def test_a_build_out_sizes_the_smoothing_battery_for_the_gpus_it_runs(tmp_path, swing_mw):
    """The job states 8,000 GPUs; the build-out grows to 16,000. Its swing limit is in MW, so
    what 16,000 need is more than twice what 8,000 do: the last period's battery is at least
    the job's need at 16,000 (smoothed apart), not twice its need at 8,000 (as it was); at
    5.3 MW, 8,000 GPUs need no battery and 16,000 do (none was built)."""
    outcome = api.plan(buildout_with_job(
        tmp_path, smoothing={**SMOOTHING, "limits": {"swing_mw": swing_mw, "swing_window_s": 5}}))
    job = outcome.smoothing["testsite"]
    larger = job.larger
    assert larger is not None and larger.workload.gpus == 16000
    twice = 2 * job.sizes["battery_power_mw"]
    assert larger.sizes["battery_power_mw"] > twice * 1.01
    assert (job.sizes["battery_power_mw"] == 0) == (swing_mw > 5)
    last = outcome.plan.timeline.sites_by_period[-1][0]
    assert last.capacity["battery_mw"] >= larger.sizes["battery_power_mw"] - 1e-6
    first = outcome.plan.timeline.sites_by_period[2][0]  # 2028, 8,000 GPUs: the job's own need
    assert first.capacity["battery_mw"] >= job.sizes["battery_power_mw"] - 1e-6
    # the cost and the extra energy follow the larger run too: at 16,000 GPUs its cost, not twice
    # the job's, and the larger of the two runs' energy shares (both had been the job's, scaled)
    assert last.costs_usd["smoothing"] == pytest.approx(smoothing_cost_usd(larger), rel=1e-6)
    assert first.costs_usd["smoothing"] == pytest.approx(smoothing_cost_usd(job), rel=1e-6)
    share = max(job.energy_overhead_fraction or 0.0, larger.energy_overhead_fraction or 0.0)
    assert last.capacity["smoothing_energy_overhead_fraction"] == pytest.approx(share)


def test_check_verifies_a_plan_with_a_smoothing_battery(tmp_path, runner):
    """`check` rebuilds the model with the plan's committed smoothing (its sizes, not its job)."""
    write_yaml(tmp_path / "job.yaml", JOB)
    path = write_yaml(tmp_path / "site.yaml", base_site(smoothing=SMOOTHING))
    (tmp_path / ".git").mkdir()
    result = run_cli(runner, "plan", path, "--typical-days", "2", "-o", tmp_path / "plans" / "testsite", "-q")
    assert result.exit_code == 0, result.output
    result = run_cli(runner, "check", path, "--plan", tmp_path / "plans")
    assert result.exit_code == 0 and "verified" in result.output, result.output


def test_the_plans_time_limit_holds_for_its_jobs_smoothing(tmp_path):
    """A plan's time limit covers the smoothing of its training jobs, which comes first: ten
    minutes of a jittered job at 100 ms smooth in about 40 s with no limit (the whole trace, no
    period to repeat), and a plan limited to 1 s had taken all of that before looking at its clock."""
    write_yaml(tmp_path / "job.yaml", {**JOB, "duration_s": 600, "jitter": {"groups": 4, "max_offset_s": 0.3}})
    path = write_yaml(tmp_path / "site.yaml", base_site(smoothing=SMOOTHING))
    started = time.perf_counter()
    outcome = api.plan_program(load_program(path), 2, SolveOptions(time_limit_s=1.0))
    assert time.perf_counter() - started < 3.0
    assert outcome.plan is None and outcome.solve.status == "no_solution" and not outcome.reasons
    assert outcome.solve.message == "time limit: spent smoothing site testsite's training job"  # said where it went


STAGED = [{"date": "2028-01-01", "gpus": 8000}, {"date": "2029-01-01", "gpus": 16000}]
"""The job's 8,000 GPUs, then a build-out grown to 16,000: smoothed at both counts."""


def buildout_with_job(tmp_path, targets=STAGED, period: str = "year", years: int = 4, **site_changes):
    """The program file of a build-out of the site (``base_site`` with the job declared, 200 MW of
    grid, ``site_changes``) to ``targets``, the job written beside it."""
    write_yaml(tmp_path / "job.yaml", JOB)
    site = base_site(**{"smoothing": SMOOTHING, **site_changes})
    site["grid"]["max_import_mw"] = 200
    write_yaml(tmp_path / "site.yaml", site)
    return write_yaml(tmp_path / "program.yaml", {
        "kind": "program", "name": "staged", "sites": ["site.yaml"], "compute": {"gpus": [{"model": "h100_sxm"}]},
        "horizon": {"start": "2026-01-01", "years": years}, "time": {"typical_days": 1},
        "buildout": {"period": period, "targets": targets}})


def test_a_battery_too_late_for_the_jobs_smoothing_is_named_with_the_smoothing_at_its_line(tmp_path):
    """The GPUs need the battery their smoothing holds: a battery that cannot be delivered by the
    first target conflicts with the smoothing, named at its limits' line (it had been counted
    among rows of physics, leaving the battery's lead time and the target unexplained)."""
    outcome = api.plan(buildout_with_job(tmp_path, STAGED[:1], technologies={
        "battery": {"type": "li_ion_lfp", "lead_time_months": 30}}))
    assert outcome.plan is None
    [conflict] = [r for r in outcome.why_no_plan() if r.startswith("these limits cannot hold together")]
    limits_line = next(i for i, text in enumerate((tmp_path / "site.yaml").read_text().splitlines(), 1)
                       if text.strip().startswith("limits:"))
    where = conflict.split("testsite: the training job's smoothing, which needs a battery with its GPUs at ")[1]
    assert where.split(",")[0].split(";")[0].endswith(f"site.yaml:{limits_line}")
    assert "lead time of battery_energy li_ion_lfp" in conflict and "target of 8,000 gpus by 2028" in conflict


def test_a_target_no_order_can_meet_in_time_ends_the_plan_before_the_jobs_smoothing(tmp_path, monkeypatch):
    """The timeline's arithmetic (GPUs, cooling and supply that can be in service by a target)
    needs no smoothing: a target it finds impossible ends the plan before the job is smoothed
    (the explanation came after it: 15 s of smoothing on a perturbed memphis-colossus)."""
    monkeypatch.setattr("dcplan.smoothing.api.smooth", lambda *_, **__: pytest.fail("smoothed"))
    outcome = api.plan(buildout_with_job(tmp_path, [{"date": "2026-01-01", "gpus": 8000}], "quarter", 2))
    assert outcome.plan is None and outcome.infeasible
    assert outcome.reasons[0].startswith("target of 8,000 gpus by 2026-Q1: the earliest GPUs ordered now")


def test_the_job_and_the_job_at_the_most_gpus_are_smoothed_side_by_side(tmp_path, monkeypatch):
    """Two independent solves of about one size: the plan waits for one, not two (each waits
    here for the other to have started: in turn, the first would wait alone and fail)."""
    both = threading.Barrier(2, timeout=20)

    def meet_then_smooth(workload, *args, **kwargs):
        both.wait()
        return smooth(workload, *args, **kwargs)

    monkeypatch.setattr("dcplan.smoothing.api.smooth", meet_then_smooth)
    smoothing, ended = api.smooth_training_jobs(load_program(buildout_with_job(tmp_path)))
    assert ended is None and smoothing["testsite"].larger.workload.gpus == 16000


def test_the_larger_smoothing_is_stopped_once_the_job_has_no_schedule(tmp_path, monkeypatch):
    """Side by side, the larger run starts before the job is known to have no schedule; its answer
    would be thrown away, so it is stopped (not left to run its minutes on a long job), and the
    plan ends with the job's own reasons."""
    seen = {}

    def fake(workload, spec, options, **_):
        if workload.gpus == 8000:
            return types.SimpleNamespace(has_schedule=False, status="infeasible", reasons=["no battery can"])
        seen["stopped"] = options.stop.wait(20)  # as a solve polls its stop
        return types.SimpleNamespace(has_schedule=False, status="time_limit", reasons=["stopped"])

    monkeypatch.setattr("dcplan.smoothing.api.smooth", fake)
    smoothing, ended = api.smooth_training_jobs(load_program(buildout_with_job(tmp_path)), SolveOptions(time_limit_s=600))
    assert seen == {"stopped": True}
    assert smoothing == {} and ended.infeasible and "no battery can" in ended.reasons[0]


@pytest.mark.parametrize("status, ends_as", [("time_limit", "no_solution"), ("infeasible", "reasons")])
def test_a_smoothing_cut_short_is_no_plan_in_time_not_a_job_that_cannot_be_smoothed(tmp_path, monkeypatch,
                                                                                    status, ends_as):
    """The two levels give their coarse level half the time left: a time-out there comes well
    before the plan's deadline, and is no proof that the job cannot be smoothed (exit 3, not 1)."""
    write_yaml(tmp_path / "job.yaml", JOB)
    program = load_program(write_yaml(tmp_path / "site.yaml", base_site(smoothing=SMOOTHING)))
    monkeypatch.setattr("dcplan.smoothing.api.smooth", lambda *_, **__: types.SimpleNamespace(
        has_schedule=False, status=status, reasons=[f"{status} at the coarse level"]))
    smoothing, ended = api.smooth_training_jobs(program, SolveOptions(time_limit_s=600))
    assert smoothing == {} and ended.plan is None
    if ends_as == "no_solution":
        assert ended.solve.status == "no_solution" and not ended.reasons and not ended.infeasible
    else:
        assert ended.solve is None and ended.infeasible and "infeasible at the coarse level" in ended.reasons[0]


def test_a_job_is_smoothed_once_a_process_and_each_plan_gets_its_own_copy(tmp_path, monkeypatch):
    """A sweep's worker plans scenario after scenario of one program: its job, against the same
    limits, is smoothed once, each plan adding to a copy of its own; other limits smooth it
    again; a time-out is not remembered."""
    write_yaml(tmp_path / "job.yaml", JOB)
    program = load_program(write_yaml(tmp_path / "site.yaml", base_site(smoothing=SMOOTHING)))
    calls = []
    real = smooth
    monkeypatch.setattr("dcplan.smoothing.api.smooth", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    first, _ = api.smooth_training_jobs(program)
    first["testsite"].notes.append("a plan's own note")
    again, _ = api.smooth_training_jobs(program)
    assert len(calls) == 1 and "a plan's own note" not in again["testsite"].notes
    again["testsite"].notes.append("another plan's note")
    third, _ = api.smooth_training_jobs(program)
    assert len(calls) == 1 and not {"a plan's own note", "another plan's note"} & set(third["testsite"].notes)
    assert again["testsite"].sizes == first["testsite"].sizes and again["testsite"].schedule is not first["testsite"].schedule
    tighter = {**SMOOTHING, "limits": {"swing_mw": 1.5, "swing_window_s": 5}}
    other = load_program(write_yaml(tmp_path / "tighter.yaml", base_site(smoothing=tighter)))
    api.smooth_training_jobs(other)
    assert len(calls) == 2 and calls[1].limits.swing_mw == 1.5
    cut, _ = api.smooth_training_jobs(load_program(write_yaml(tmp_path / "t.yaml", base_site(smoothing={
        **SMOOTHING, "limits": {"swing_mw": 1.2, "swing_window_s": 5}}))), SolveOptions(time_limit_s=0.0))
    api.smooth_training_jobs(load_program(tmp_path / "t.yaml"))
    assert len(calls) == 4  # the time-out, then the answer


def test_a_long_traces_two_level_schedule_is_remembered_unless_a_clock_could_have_cut_it(tmp_path, monkeypatch):
    """A long trace is smoothed in two levels ('feasible': within its gap of a bound); without a
    time limit that answer is final and remembered like an optimal one (a sweep had smoothed it
    again every scenario); under a time limit it may be cut short, and is not."""
    write_yaml(tmp_path / "job.yaml", JOB)
    program = load_program(write_yaml(tmp_path / "site.yaml", base_site(smoothing=SMOOTHING)))
    calls = []

    def two_level(*args, **kwargs):
        calls.append(args[2])
        result = smooth(*args, **kwargs)
        result.status = "feasible"
        return result

    monkeypatch.setattr("dcplan.smoothing.api.smooth", two_level)
    api.smooth_training_jobs(program, SolveOptions(time_limit_s=600))
    api.smooth_training_jobs(program, SolveOptions(time_limit_s=600))
    assert len(calls) == 2 and calls[0].time_limit_s is not None
    api.smooth_training_jobs(program)
    again, _ = api.smooth_training_jobs(program)
    assert len(calls) == 3 and again["testsite"].status == "feasible"


def test_remembered_smoothings_are_bounded_in_bytes_the_newest_kept(tmp_path, monkeypatch):
    """Eight long schedules had grown a process planning job after job to 5.6 GB: the answers kept
    are bounded in bytes too, oldest out first, the newest kept whatever its size."""
    write_yaml(tmp_path / "job.yaml", JOB)
    monkeypatch.setattr(api, "SMOOTHED_KEPT_BYTES", 1)
    for swing_mw in (2.0, 2.5):  # two jobs: another limit each
        limits = {**SMOOTHING, "limits": {**SMOOTHING["limits"], "swing_mw": swing_mw}}
        api.smooth_training_jobs(load_program(write_yaml(tmp_path / "site.yaml", base_site(smoothing=limits))))
        assert len(api._SMOOTHED) == 1
    kept = next(iter(api._SMOOTHED.values()))
    assert kept.spec.limits.swing_mw == 2.5 and api._array_bytes(kept) > 1


def test_the_smoothing_prices_its_battery_as_the_plan_does(tmp_path):
    """The battery that smooths the job is the site's own, priced by the plan from the catalog
    with its overrides; the smoothing weighs it at the same price (it had dcplan's own catalog's,
    whatever the site or program said), and a job remembered at one price is smoothed again at
    another."""
    write_yaml(tmp_path / "job.yaml", JOB)
    path = write_yaml(tmp_path / "site.yaml", base_site(smoothing=SMOOTHING))
    cat = load_program(path).sites[0].catalog.storage["li_ion_lfp"]
    crf = capital_recovery_factor(SmoothingSpec.model_validate(SMOOTHING).economics.discount_rate, cat.lifetime_years)
    for times in (1, 3):
        dearer = {"storage": {"li_ion_lfp": {"power_capex_usd_per_kw": times * cat.power_capex_usd_per_kw}}}
        site = write_yaml(tmp_path / "site.yaml", base_site(smoothing=SMOOTHING, catalog=dearer))
        result = api.smooth_training_jobs(load_program(site))[0]["testsite"]
        power_mw, energy_mwh = result.sizes["battery_power_mw"], result.sizes["battery_energy_mwh"]
        assert power_mw > 0
        assert result.costs_usd_per_year["battery_capex"] == pytest.approx(
            crf * 1000 * (power_mw * times * cat.power_capex_usd_per_kw + energy_mwh * cat.energy_capex_usd_per_kwh),
            rel=1e-9)


@pytest.mark.parametrize("own_rate, lives", [(None, {}), (0.05, {}), (None, {"storage": 5}), (None, {"li_ion_lfp": 6})])
def test_the_smoothing_annualises_its_battery_as_the_plan_does(tmp_path, own_rate, lives):
    """The plan annualises the site's battery at the program's discount rate over the life its
    finance gives it (by key, else by section, else the catalog's); the smoothing that sizes that
    battery does too, unless its own economics give a rate (it had 8 % and the catalog's life)."""
    write_yaml(tmp_path / "job.yaml", JOB)
    smoothing = {**SMOOTHING, **({"economics": {"discount_rate": own_rate}} if own_rate else {})}
    write_yaml(tmp_path / "site.yaml", base_site(smoothing=smoothing))
    path = write_yaml(tmp_path / "program.yaml", {"kind": "program", "name": "p", "sites": ["site.yaml"],
                                                  "finance": {"discount_rate": 0.12, "lifetimes_years": lives}})
    program = load_program(path)
    result = api.smooth_training_jobs(program)[0]["testsite"]
    rate = own_rate or 0.12
    assert result.spec.economics.discount_rate == rate
    cat = program.sites[0].catalog.storage["li_ion_lfp"]
    life = next(iter(lives.values()), cat.lifetime_years)
    assert life != cat.lifetime_years or not lives
    power_mw, energy_mwh = result.sizes["battery_power_mw"], result.sizes["battery_energy_mwh"]
    assert power_mw > 0
    assert result.costs_usd_per_year["battery_capex"] == pytest.approx(
        capital_recovery_factor(rate, life) * 1000
        * (power_mw * cat.power_capex_usd_per_kw + energy_mwh * cat.energy_capex_usd_per_kwh), rel=1e-9)


NMC = {"storage": {"li_ion_nmc": {"name": "NMC (a test's entry)", "power_capex_usd_per_kw": 300,
                                  "energy_capex_usd_per_kwh": 250, "fixed_om_usd_per_kw_year": 10,
                                  "round_trip_efficiency": 0.9, "lifetime_years": 12, "lead_time_months": 6}}}


def test_the_smoothing_uses_the_sites_battery_type_and_refuses_another(tmp_path, runner):
    """One battery serves the job and the plan: a smoothing that names no type takes the site's;
    one that names another type is refused at its line (it would be a second battery)."""
    write_yaml(tmp_path / "job.yaml", JOB)
    site = base_site(smoothing=SMOOTHING, technologies={"battery": {"type": "li_ion_nmc"}}, catalog=NMC)
    program = load_program(write_yaml(tmp_path / "site.yaml", site))
    assert program.sites[0].site.smoothing.mitigations.battery.type == "li_ion_nmc"
    result = api.smooth_training_jobs(program)[0]["testsite"]
    assert result.sizes["battery_round_trip_efficiency"] == pytest.approx(0.9)
    other = {**SMOOTHING, "mitigations": {"battery": {"type": "li_ion_lfp"}}}
    path = write_yaml(tmp_path / "site.yaml", base_site(smoothing=other, technologies={"battery": {"type": "li_ion_nmc"}},
                                                         catalog=NMC))
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "type: li_ion_lfp" in text)
    done = run_cli(runner, "validate", path)
    assert done.exit_code == 2
    assert f"site.yaml:{line}: smoothing.mitigations.battery.type: 'li_ion_lfp' is not the site's battery" in done.output


@pytest.mark.parametrize("larger_usd, at_zero, at_200k", [(10e6, 0.0, 10e6),  # dearer a GPU: the two lines
                                                          (6e6, 0.0, 8e6)])  # cheaper a GPU: the job's rate
def test_a_build_outs_smoothing_cost_follows_the_larger_run_only_where_it_costs_more_a_gpu(larger_usd, at_zero, at_200k):
    """$4 M for the job's 100k GPUs. At 200k: $10 M along the line to the larger run; where the
    larger run is $6 M (less a GPU), the most of the two lines had charged $2 M with no GPU running."""
    import pyomo.environ as pyo

    from dcplan.model import training

    def run(usd, gpus):
        return types.SimpleNamespace(costs_usd_per_year={"capacitors": usd}, workload=types.SimpleNamespace(gpus=gpus))

    smoothing = run(4e6, 100_000)
    smoothing.larger = run(larger_usd, 200_000)
    for gpus, expected in ((0, at_zero), (100_000, 4e6), (200_000, at_200k)):
        m = pyo.ConcreteModel()
        m.G = pyo.Set(initialize=["h100"])
        m.gpus = pyo.Var(m.G, bounds=(gpus, gpus))
        costs = {}
        sm = types.SimpleNamespace(smoothing=smoothing, period="2027-Q1", block=m, explain=lambda *_: None,
                                   add_cost=lambda name, expr, *_: costs.update({name: expr}))
        training.add_cost(sm)
        m.objective = pyo.Objective(expr=costs["smoothing"])
        pyo.SolverFactory("appsi_highs").solve(m)
        assert pyo.value(costs["smoothing"]) == pytest.approx(expected, abs=1e-3), (gpus, larger_usd)


def test_a_co2_cap_the_smoothing_breaks_is_explained_with_its_energy(tmp_path):
    """By hand: 8,000 H100 drawing 0.8 of their design at PUE 1.2 from a grid at 0.4 t/MWh emit at
    least design x 0.8 x 1.2 x 8,760 x 0.4 t, and with the smoothing's extra energy design x (0.8 +
    added) x ...; a cap between the two passes the arithmetic before the job is smoothed (a lower
    bound holds without its energy), and once the solve finds no plan the diagnosis names the cap
    with the floor that counts it (it had been 'the limits conflict in a way these checks do not
    isolate')."""
    write_yaml(tmp_path / "job.yaml", JOB)
    result = smooth(load_workload(tmp_path / "job.yaml"), SmoothingSpec.model_validate(SMOOTHING))
    design_mw = JOB["gpus"] * builtin_catalog().gpus["h100_sxm"].design_w_per_gpu / 1e6
    draw = 0.8 + result.energy_overhead_fraction * result.before["mean_mw"] / design_mw
    floor_t = design_mw * draw * 1.2 * 8760 * 0.4
    cap_t = design_mw * 0.8 * 1.2 * 8760 * 0.4 * 1.001
    assert cap_t < floor_t
    site = base_site(smoothing=SMOOTHING, caps=[{"name": "permit", "quantity": "co2_t", "max": cap_t,
                                                 "source": "test"}])
    site["grid"]["co2_t_per_mwh"] = 0.4
    site["compute"] = {"gpus": [{"model": "h100_sxm"}], "target": {"gpus": JOB["gpus"]}, "average_draw_fraction": 0.8}
    path = write_yaml(tmp_path / "site.yaml", site)
    assert arithmetic_checks(load_program(path)) == []
    outcome = api.plan(path, typical_days=0)
    assert outcome.plan is None and outcome.infeasible
    said = " ".join(outcome.why_no_plan())
    assert "cap permit" in said and f"at least {floor_t:,.0f}" in said and f"drawing {draw:.1%} of it" in said
