"""The Python API (`import dcplan`): plan, validate, check and smooth as documented in the
package's docstring and the README's "From Python"."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, base_site, write_yaml

import dcplan
from dcplan.loader import load_program


def test_plan_returns_a_typed_plan_whose_dispatch_frame_has_timestamps(tmp_path):
    path = write_yaml(tmp_path / "site.yaml", base_site())
    plan = dcplan.plan(path, typical_days=2)
    assert isinstance(plan, dcplan.Plan) and plan.sites[0].name == "testsite"
    assert plan.sites[0].gpus == {"h100_sxm": 1000} and plan.year == 2027
    frame = plan.dispatch_frame()
    assert isinstance(frame.index, pd.DatetimeIndex)
    first = int(frame["hour_of_year"].iloc[0])
    assert frame.index[0] == pd.Timestamp(2027, 1, 1) + pd.Timedelta(hours=first)
    # the frame is the plan's own dispatch: the energy it sums to is the plan's
    assert float((frame["weight"] * frame["load_mw"]).sum()) == pytest.approx(plan.facility_energy_mwh)
    assert float((frame["weight"] * frame["grid_mw"]).sum()) == pytest.approx(plan.sites[0].energy_mwh["grid"])
    assert plan.timeline_frame().empty  # one period


def test_plan_from_a_loaded_program_equals_the_plan_from_its_path(tmp_path):
    path = write_yaml(tmp_path / "site.yaml", base_site())
    by_path = dcplan.plan(path, typical_days=2)
    by_program = dcplan.plan(load_program(path), typical_days=2)
    assert by_program.total_cost_usd == pytest.approx(by_path.total_cost_usd, rel=1e-9)


@pytest.mark.parametrize("arguments, message", [
    ({"typical_days": 0}, "typical_days must be at least 1 and below 366"),
    ({"typical_days": 400}, "typical_days must be"), ({"typical_days": 2.5}, "typical_days must be"),
    ({"mip_gap": -1}, "mip_gap must be at least 0"), ({"mip_gap": float("nan")}, "mip_gap must be"),
    ({"time_limit_s": -5}, "time_limit_s must be at least 0"), ({"time_limit_s": float("nan")}, "time_limit_s"),
])
def test_arguments_out_of_the_command_lines_ranges_are_refused(tmp_path, arguments, message):
    path = write_yaml(tmp_path / "site.yaml", base_site())
    with pytest.raises(ValueError, match=message):
        dcplan.plan(path, **arguments)


def test_a_scenario_with_a_loaded_program_is_refused_not_ignored(tmp_path):
    write_yaml(tmp_path / "site.yaml", base_site())
    path = write_yaml(tmp_path / "p.yaml", {"kind": "program", "name": "p", "sites": ["site.yaml"],
                                            "scenarios": {"dear": {"finance": {"discount_rate": 0.2}}}})
    with pytest.raises(ValueError, match="load_program"):
        dcplan.plan(load_program(path), scenario="dear", typical_days=2)
    assert dcplan.plan(load_program(path, "dear"), scenario="dear", typical_days=2).scenario == "dear"


def test_a_dispatch_frame_of_no_such_site_names_the_sites(tmp_path):
    plan = dcplan.plan(write_yaml(tmp_path / "site.yaml", base_site()), typical_days=2)
    with pytest.raises(KeyError, match="its sites: testsite"):
        plan.dispatch_frame("memphis")
    plan.sites[0].dispatch["grid_mw"][0] = -0.0  # as a solver leaves a column at its bound
    frame = plan.dispatch_frame()
    assert frame["grid_mw"].iloc[0] == 0 and not np.signbit(frame.select_dtypes("float").to_numpy()).any()


def test_no_plan_raises_with_the_reasons_in_words(tmp_path):
    site = base_site(reliability={"n_plus_one": True}, grid=None)
    site["fuel"] = {"gas_price_usd_per_mmbtu": 3.0}
    site["technologies"] = {"gas": [{"type": "lm6000", "max_units": 1}]}
    path = write_yaml(tmp_path / "site.yaml", {k: v for k, v in site.items() if v is not None})
    with pytest.raises(dcplan.NoPlan) as caught:
        dcplan.plan(path, typical_days=2)
    assert caught.value.status == "infeasible"
    assert any("N+1" in r for r in caught.value.reasons), caught.value.reasons


def test_invalid_input_raises_input_error_at_file_and_line(tmp_path):
    site = base_site()
    site["grid"]["max_import_mw"] = -5
    path = write_yaml(tmp_path / "site.yaml", site)
    with pytest.raises(dcplan.InputError) as caught:
        dcplan.plan(path)
    problem = caught.value.problems[0]
    assert problem.file.endswith("site.yaml") and problem.line is not None and "max_import_mw" in problem.key
    assert [p.key for p in dcplan.validate(path)] == [problem.key]


def test_check_and_validate_on_the_sample_portfolio():
    assert dcplan.validate(REPO / "sites") == []
    report = dcplan.check(REPO / "sites", plan_root=REPO / "plans")
    assert report.exit_code == 0 and len(report.files) == 4


def test_build_out_dispatch_frame_carries_each_period(tmp_path):
    program = REPO / "examples" / "gigawatt-buildout" / "program.yaml"
    if not program.exists():
        pytest.skip("example not present")
    plan = dcplan.plan(program, typical_days=1, mip_gap=1e-2)
    periods = plan.timeline_frame()
    assert list(periods["period"]) == [p.name for p in plan.timeline.periods]
    frame = plan.dispatch_frame()
    assert set(frame["period"]) == set(periods["period"])
    years = sorted({int(p.start[:4]) for p in plan.timeline.periods})
    assert sorted(set(frame.index.year)) == years
    assert np.all(np.diff(frame.index.year.to_numpy()) >= 0)  # periods in order


def test_smooth_a_job_against_a_site_limits_file(tmp_path):
    """As the README shows, on a shortened copy of the example job (ten minutes, 1 s steps)."""
    import yaml

    examples = REPO / "examples" / "smoothing"
    job = yaml.safe_load((examples / "llama_24k_h100.yaml").read_text())
    job.update(duration_s=600, resolution_s=1.0, checkpoint=None)
    path = write_yaml(tmp_path / "job.yaml", {k: v for k, v in job.items() if v is not None})
    result = dcplan.smooth(path, site=examples / "ercot_limits.yaml")
    assert result.has_schedule and result.status in ("optimal", "feasible")
    # the command line's options, by their names there (gpu, not gpu_model) and a time limit
    trace = tmp_path / "trace.csv"
    trace.write_text("time_s,w_per_gpu\n" + "".join(f"{i},{700 if i % 4 < 2 else 100}\n" for i in range(40)))
    capped = dcplan.smooth(trace, gpus=1000, gpu="h100_sxm", limits={"ramp_up_mw_per_s": 0.1},
                           energy_price_usd_per_mwh=80.0, time_limit_s=60)
    assert capped.has_schedule
    with pytest.raises(ValueError, match="time_limit_s"):
        dcplan.smooth(trace, gpus=1000, gpu="h100_sxm", limits={"ramp_up_mw_per_s": 0.1}, time_limit_s=-1)
    with pytest.raises(TypeError, match="needs a path"):
        dcplan.validate()
    with pytest.raises(dcplan.InputError, match="arguments: resolution_s: expected > 0"):  # not '--resolution-s'
        dcplan.smooth(trace, gpus=1000, gpu="h100_sxm", limits={"ramp_up_mw_per_s": 0.1}, resolution_s=-1)
