"""The Python API (`import dcplan`): plan, validate, check and smooth as documented in the
package's docstring and the README's "From Python"."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pickle
import re
import subprocess
import sys
import threading

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, base_site, write_yaml

import dcplan
from dcplan.api import PlanOutcome
from dcplan.cli import app
from dcplan.errors import Problem
from dcplan.loader import load_program, load_site
from dcplan.solver import SolveOptions


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
    assert plan.timeline_frame().empty and plan.orders_frame().empty  # one period
    # the year's PUE: the site's 1.2 every hour, as plan.yaml's totals and a pue cap count it
    assert plan.pue == pytest.approx(1.2) and plan.key_figures()["pue"] == pytest.approx(1.2)
    it_energy = float((frame["weight"] * frame["load_mw"] / frame["pue"]).sum())
    assert plan.facility_energy_mwh / it_energy == pytest.approx(plan.pue)


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


def test_a_loaded_program_changed_after_loading_is_refused_at_the_override_that_would_change_it(tmp_path):
    """Hourly series, caps and flags are derived at load: a loaded program edited afterwards (a
    cap added, a site's price changed) had been planned half changed (the cap and the price
    ignored, a discount rate honoured). It is refused, naming the override that does it."""
    import dataclasses

    from dcplan.schema.program import Program

    path = write_yaml(tmp_path / "site.yaml", base_site())
    loaded = load_program(path)
    assert loaded.edited() is None
    site = loaded.sites[0].site
    cheaper = site.model_copy(update={"grid": site.grid.model_copy(update={"energy_price_usd_per_mwh": 5.0})})
    with pytest.raises(ValueError, match=r"changed after loading, at sites\.testsite\.grid\.energy_price_usd_per_mwh: "
                                         r".* overrides=\{'sites\.testsite\.grid\.energy_price_usd_per_mwh': \.\.\.\}"):
        dcplan.plan(dataclasses.replace(loaded, sites=[dataclasses.replace(loaded.sites[0], site=cheaper)]),
                    typical_days=2)
    capped = Program.model_validate({**loaded.program.model_dump(), "caps": [
        {"name": "co2", "quantity": "co2_t", "max": 1000, "source": "a test"}]})
    with pytest.raises(ValueError, match="changed after loading, at caps: "):
        dcplan.plan(dataclasses.replace(loaded, program=capped), typical_days=2)
    loaded.program.finance.discount_rate = 0.2  # set in place
    assert loaded.edited() == "finance.discount_rate"
    loaded = load_program(path)
    loaded.sites[0].site.cooling[0].pue = 1.5  # a list element's path as overrides write it
    assert loaded.edited() == "sites.testsite.cooling.0.pue"
    with pytest.raises(TypeError, match="not dict; to change values in memory, give the file's path with overrides"):
        dcplan.plan({"kind": "program"})


def test_a_cap_given_as_an_override_is_located_at_the_override_not_at_the_programs_first_line(tmp_path):
    write_yaml(tmp_path / "site.yaml", base_site())
    path = write_yaml(tmp_path / "p.yaml", {"kind": "program", "name": "p", "sites": ["site.yaml"]})
    cap = {"name": "imports", "quantity": "grid_import_mw", "max": 1, "source": "a test"}
    with pytest.raises(dcplan.NoPlan) as caught:
        dcplan.plan(path, typical_days=2, overrides={"caps": [cap]})
    assert caught.value.reasons[0].startswith("cap imports (grid_import_mw, portfolio, overrides): ≤ 1.000 would need"), \
        caught.value.reasons
    plan = dcplan.plan(path, typical_days=2, overrides={"caps": [{**cap, "max": 1e9}]})
    assert (plan.caps[0].file, plan.caps[0].line) == ("overrides", None)


def test_a_dispatch_frame_of_no_such_site_names_the_sites(tmp_path):
    plan = dcplan.plan(write_yaml(tmp_path / "site.yaml", base_site()), typical_days=2)
    for no_site in ("memphis", 0, ""):  # 0 and "" had quietly given the first site's
        with pytest.raises(KeyError, match="its sites: testsite"):
            plan.dispatch_frame(no_site)
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
    again = pickle.loads(pickle.dumps(caught.value))  # as a process pool returns it
    assert (again.status, again.reasons, str(again)) == (caught.value.status, caught.value.reasons, str(caught.value))
    assert again.outcome.infeasible and again.outcome.plan is None


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
    # committed before typical days kept the peak day: still evaluated on their own days, whose
    # month peaks count as the plan counted them (else memphis's demand charge reads -56 %)
    assert not [f.message for r in report.files for f in r.findings if f.status == "warning"]


def test_build_out_dispatch_frame_carries_each_period(tmp_path):
    program = REPO / "examples" / "gigawatt-buildout" / "program.yaml"
    if not program.exists():
        pytest.skip("example not present")
    plan = dcplan.plan(program, typical_days=1, mip_gap=1e-2)
    periods = plan.timeline_frame()
    assert list(periods["period"]) == [p.name for p in plan.timeline.periods]
    assert list(periods["co2_t_in_period"]) == [p.co2_t for p in plan.timeline.periods]
    orders = plan.orders_frame()
    assert len(orders) == len(plan.timeline.orders) > 0
    assert orders["capex_usd"].sum() == pytest.approx(sum(o.capex_usd for o in plan.timeline.orders))
    assert {"site", "asset", "quantity", "unit", "order_date", "online_date", "latest_order_date"} <= set(orders)
    frame = plan.dispatch_frame()
    assert set(frame["period"]) == set(periods["period"])
    years = sorted({int(p.start[:4]) for p in plan.timeline.periods})
    assert sorted(set(frame.index.year)) == years
    assert np.all(np.diff(frame.index.year.to_numpy()) >= 0)  # periods in order


@pytest.mark.parametrize("resolution_s, message", [(float("inf"), "below 3600 (got inf)"),
                                                   ("1", "must be a number (got '1')"), (7200, "below 3600")])
def test_a_smoothing_step_that_is_no_step_is_named_as_the_argument(resolution_s, message):
    """inf raised OverflowError and '1' a TypeError; both exit 70 on the command line."""
    examples = REPO / "examples" / "smoothing"
    with pytest.raises(dcplan.InputError, match=re.escape(message)) as err:
        dcplan.smooth(examples / "llama_24k_h100.yaml", site=examples / "ercot_limits.yaml", resolution_s=resolution_s)
    assert err.value.problems[0].key == "resolution_s"


def test_arguments_of_the_wrong_kind_are_named_not_a_crash_inside(tmp_path):
    """An AttributeError or TypeError from deep inside, or (validate('')) the current folder checked."""
    examples = REPO / "examples" / "smoothing"
    job, limits = examples / "llama_24k_h100.yaml", examples / "ercot_limits.yaml"
    with pytest.raises(ValueError, match="gpus must be a whole number"):
        dcplan.smooth(job, site=limits, gpus="x")
    with pytest.raises(TypeError, match="limits must be a dict"):
        dcplan.smooth(job, site=limits, limits=5)
    with pytest.raises(TypeError, match="stop must be a threading.Event"):
        dcplan.plan(write_yaml(tmp_path / "s.yaml", base_site()), stop=True)
    for overrides in ([1, 2], {5: 0.1}, {("finance", "discount_rate"): 0.1}):
        with pytest.raises(TypeError, match="overrides must be a dict of dotted paths"):
            dcplan.plan(tmp_path / "s.yaml", overrides=overrides)
    with pytest.raises(TypeError, match="scenario is the name of one of the program's scenarios"):
        dcplan.plan(tmp_path / "s.yaml", scenario=["gas_at_8"])
    with pytest.raises(TypeError, match="writes a Plan .*not None"):
        dcplan.write_plan(None, tmp_path / "out")
    with pytest.raises(TypeError, match="report is True or False, not 'no'"):  # a string is true: it had written one
        dcplan.write_plan(dcplan.read_plan(REPO / "plans" / "johor"), tmp_path / "out", report="no")
    assert not (tmp_path / "out").exists()
    for call in (dcplan.validate, dcplan.check):
        with pytest.raises(ValueError, match="a path is the empty string"):
            call("")
    # None had been pathlib's "expected str, bytes or os.PathLike object"
    for call, args in ((dcplan.validate, (None,)), (dcplan.read_plan, (None,)),
                       (dcplan.write_plan, (dcplan.read_plan(REPO / "plans" / "johor"), None))):
        with pytest.raises(TypeError, match=r"takes paths of files or folders \(str or os.PathLike\), not NoneType"):
            call(*args)


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
    frame = capped.schedule_frame()  # a row a step, by the time from the trace's start
    assert len(frame) == len(capped.schedule["grid_mw"]) and frame.index[1] == pd.Timedelta(seconds=capped.step_s)
    assert np.array_equal(frame["grid_mw"].to_numpy(), capped.schedule["grid_mw"]) and "time_s" not in frame
    with pytest.raises(ValueError, match="time_limit_s"):
        dcplan.smooth(trace, gpus=1000, gpu="h100_sxm", limits={"ramp_up_mw_per_s": 0.1}, time_limit_s=-1)
    with pytest.raises(TypeError, match="needs a path"):
        dcplan.validate()
    with pytest.raises(dcplan.InputError, match="arguments: resolution_s: must be above 0"):  # not '--resolution-s'
        dcplan.smooth(trace, gpus=1000, gpu="h100_sxm", limits={"ramp_up_mw_per_s": 0.1}, resolution_s=-1)
    with pytest.raises(dcplan.InputError, match=r"or gpus\)$"):  # a file's problem advises the keyword, not --gpus
        dcplan.smooth(trace, limits={"ramp_up_mw_per_s": 0.1})
    halves = tmp_path / "halves.csv"  # a 0.5 s trace on a 1 s model: its note names the keyword
    halves.write_text("time_s,w_per_gpu\n" + "".join(f"{i / 2},{700 if i % 4 < 2 else 100}\n" for i in range(80)))
    coarse = dcplan.smooth(halves, gpus=1000, gpu="h100_sxm", limits={"ramp_up_mw_per_s": 0.1}, resolution_s=1.0)
    assert any("resolution_s 0.5" in n for n in coarse.notes) and not any("--" in n for n in coarse.notes)


def test_input_error_and_no_plan_pickle_whole():
    """From a worker process (ProcessPoolExecutor, joblib, Dask) an error arrives pickled: it came
    back as AttributeError, and the pool broke."""
    error = dcplan.InputError([Problem("b.yaml", 7, "grid", "worse"), Problem("a.yaml", 3, "k", "bad")])
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is dcplan.InputError and again.problems == error.problems and str(again) == str(error)
    no_plan = dcplan.NoPlan(PlanOutcome(None, None, None, ["site x: no power"]))
    again = pickle.loads(pickle.dumps(no_plan))
    assert (again.status, again.reasons, str(again)) == ("infeasible", ["site x: no power"], "infeasible: site x: no power")
    assert again.outcome.reasons == ["site x: no power"]
    no_plan.outcome.program = threading.Lock()  # something of a solve's that does not pickle
    again = pickle.loads(pickle.dumps(no_plan))
    assert again.outcome is None and (again.status, again.reasons, str(again)) == (
        no_plan.status, no_plan.reasons, str(no_plan))


def test_validate_reports_a_sweep_files_problems_as_the_command_line(tmp_path, runner):
    write_yaml(tmp_path / "site.yaml", base_site())
    write_yaml(tmp_path / "program.yaml", {"kind": "program", "name": "p", "sites": ["site.yaml"]})
    sweep = write_yaml(tmp_path / "sweep.yaml", {"base": "program.yaml",
                                                 "axes": {"sites.testsite.grid.max_import_mx": [50, 80]}})
    problems = dcplan.validate(str(sweep))
    assert problems and problems[0].line is not None and "did you mean" in problems[0].message, problems
    shown = runner.invoke(app, ["validate", "--json", str(sweep)])
    assert shown.exit_code == 2
    assert [dataclasses.asdict(p) for p in problems] == json.loads(shown.stdout)["problems"]
    assert dcplan.validate(tmp_path) == problems  # in a folder too
    empty = tmp_path / "empty"
    empty.mkdir()
    assert [p.message for p in dcplan.validate(empty)] == ["no site or program files found"]  # not "all valid"


def test_check_without_a_path_is_a_type_error_as_validate():
    for call in (dcplan.check, dcplan.validate):
        with pytest.raises(TypeError, match=r"missing required argument 'paths'.*needs a path"):
            call()
        with pytest.raises(TypeError, match=r"takes paths of files or folders \(str or os.PathLike\), not dict"):
            call({"kind": "site"})


def test_loaders_and_plan_take_str_and_path_like_paths(tmp_path):
    path = write_yaml(tmp_path / "site.yaml", base_site())
    assert load_program(str(path)).name == "testsite" and load_site(str(path)).name == "testsite"
    plan = dcplan.plan(str(path), typical_days=2)
    assert dcplan.validate(str(path)) == [] and plan.sites[0].name == "testsite"


@pytest.mark.parametrize("arguments, message", [
    ({"typical_days": -3}, "typical_days must be"), ({"typical_days": 400}, "typical_days must be"),
    ({"mip_gap": -1}, "mip_gap must be at least 0"),
])
def test_plan_outcome_checks_its_arguments_as_plan(tmp_path, arguments, message):
    path = write_yaml(tmp_path / "site.yaml", base_site())
    with pytest.raises(ValueError, match=message):
        dcplan.plan_outcome(path, **arguments)


def test_plan_outcome_returns_no_plan_instead_of_raising(tmp_path):
    site = base_site()
    site["grid"]["max_import_mw"] = 0.5  # 1000 H100 need more
    outcome = dcplan.plan_outcome(write_yaml(tmp_path / "site.yaml", site), typical_days=2)
    assert isinstance(outcome, dcplan.PlanOutcome) and outcome.plan is None and outcome.infeasible
    assert outcome.why_no_plan()


def test_import_is_lazy_and_dir_lists_the_lazy_names():
    code = ("import sys, dcplan; names = dir(dcplan); "
            "print(all(n in names for n in dcplan.__all__), 'pyomo' in sys.modules)")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.split() == ["True", "False"], shown
    assert {"Plan", "NoPlan", "InputError", "SolveOptions", "plan_outcome"} <= set(dir(dcplan))


@pytest.mark.parametrize("call", [dcplan.plan, dcplan.plan_outcome])
def test_a_misspelt_solver_option_names_the_closest(tmp_path, call):
    path = write_yaml(tmp_path / "site.yaml", base_site())
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'time_limit' \(did you mean 'time_limit_s'\?\)"
                       r".*mip_gap"):
        call(path, time_limit=5)
    with pytest.raises(TypeError, match="did you mean 'typical_days'"):
        call(path, typical_day=2)


def test_plans_docstring_lists_every_solver_option():
    for field in dataclasses.fields(SolveOptions):
        assert f"``{field.name}``" in dcplan.plan.__doc__, field.name


def test_a_plans_repr_is_short(tmp_path):
    plan = dcplan.plan(write_yaml(tmp_path / "site.yaml", base_site()), typical_days=2)
    shown = repr(plan)
    assert shown.startswith("Plan(program='testsite'") and "status='optimal'" in shown and "gpus=1000" in shown
    assert len(shown) < 300 and len(repr(plan.sites)) < 300
    for documented in (dcplan.Plan, dcplan.Plan.total_cost_usd, dcplan.Plan.co2_t, dcplan.Plan.facility_energy_mwh,
                       dcplan.Plan.levelised_cost_usd_per_mwh, dcplan.Plan.power_cost_usd_per_mwh):
        assert documented.__doc__, documented
    assert "npv_cost_usd" in dcplan.Plan.total_cost_usd.__doc__
    assert "standard" in dcplan.Plan.dispatch_frame.__doc__ and "weight" in dcplan.Plan.dispatch_frame.__doc__


def test_overrides_set_a_number_by_a_sweeps_path():
    """A value changed from Python as a sweep's axis changes it: the quickstart's gas at $8 by
    `overrides` is its `gas_at_8` scenario; a path or value the model refuses is an InputError
    at `overrides: <path>`, with "did you mean", not at the file line whose value it replaced."""
    program = REPO / "examples" / "quickstart" / "program.yaml"
    by_path = dcplan.plan(program, overrides={"sites.memphis.fuel.gas_price_usd_per_mmbtu": 8.0})
    by_scenario = dcplan.plan(program, scenario="gas_at_8")
    assert by_path.total_cost_usd == pytest.approx(by_scenario.total_cost_usd, rel=1e-9)
    assert by_path.sites[0].capacity == by_scenario.sites[0].capacity
    with pytest.raises(dcplan.InputError) as err:
        dcplan.plan(program, overrides={"sites.memphs.fuel.gas_price_usd_per_mmbtu": 8.0})
    assert [(p.file, p.key) for p in err.value.problems] == [("overrides", "sites.memphs.fuel.gas_price_usd_per_mmbtu")]
    assert "did you mean 'memphis'" in err.value.problems[0].message
    with pytest.raises(dcplan.InputError) as err:
        dcplan.plan(program, overrides={"finance.discount_rate": -5})
    assert [(p.file, p.key) for p in err.value.problems] == [("overrides", "finance.discount_rate")]
    assert err.value.problems[0].message.startswith("value -5: ")
    with pytest.raises(dcplan.InputError) as err:  # over a scenario that sets it too: at the override, not the scenario's line
        dcplan.plan(program, scenario="carbon_100", overrides={"finance.carbon_price_usd_per_t": float("nan")})
    assert [(p.file, p.key) for p in err.value.problems] == [("overrides", "finance.carbon_price_usd_per_t")]
    with pytest.raises(dcplan.InputError) as err:  # a misspelt section on the way: at the override too
        dcplan.plan(program, overrides={"sites.memphis.battery.max_power_mw": 5})
    assert [(p.file, p.key) for p in err.value.problems] == [("overrides", "sites.memphis.battery.max_power_mw")]
    with pytest.raises(dcplan.NoPlan) as caught:  # a plan the value makes impossible: why, at the override
        dcplan.plan(program, overrides={"compute.max_it_mw": 20})
    assert "max_it_mw is 20.0 MW (overrides: compute.max_it_mw)" in str(caught.value), str(caught.value)
    with pytest.raises(dcplan.NoPlan) as caught:  # a finding about the target an override's key lies in
        dcplan.plan(program, overrides={"compute.target.gpus": 5_000_000})
    assert "5,000,000 gpus (overrides: compute.target.gpus)" in str(caught.value), str(caught.value)
    # a list element over a scenario's list: the scenario's list, with that element changed
    from dcplan.sweep.expand import load_with_overrides

    memphis = REPO / "examples" / "memphis-colossus" / "program.yaml"
    late = load_with_overrides(memphis, "substation_22_late", {"sites.colossus.grid.steps.0.max_import_mw": 280})
    scenario = load_program(memphis, "substation_22_late")
    assert [(x.date, x.max_import_mw) for x in late.sites[0].site.grid.steps] == \
        [(scenario.sites[0].site.grid.steps[0].date, 280.0), *[(x.date, x.max_import_mw)
                                                               for x in scenario.sites[0].site.grid.steps[1:]]]
    with pytest.raises(ValueError, match="overrides apply to a path"):
        dcplan.plan(load_program(program), overrides={"finance.discount_rate": 0.1})


def _close(a, b, where=()) -> None:
    """``a`` equals ``b`` to the 6 significant digits the files keep (recursively); the totals
    made of the dispatch (facility energy and what divides by it) to its 4 decimals a step."""
    if isinstance(a, dict):
        assert set(a) == set(b), (where, set(a) ^ set(b))
        for key in a:
            _close(a[key], b[key], where + (key,))
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, where + (i,))
    elif isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-4 if where[0] == "totals" else 2e-6, abs=1e-3), where
    else:
        assert a == b, where


def _same_plan(read: dcplan.Plan, plan: dcplan.Plan) -> None:
    from dcplan.plans.write import dispatch_csv, plan_document, summary_document

    _close(plan_document(read), plan_document(plan))
    assert dispatch_csv(read) == dispatch_csv(plan)  # to the file's 4 decimals, every step
    _close(summary_document(read).get("sites_by_period"), summary_document(plan).get("sites_by_period"))
    assert read.solver["status"] == plan.solver["status"] and read.year == plan.year
    assert read.dispatch_frame().index.equals(plan.dispatch_frame().index)


def test_a_plan_written_and_read_back_is_the_plan(tmp_path):
    """dcplan.write_plan then dcplan.read_plan: every figure of plan.yaml, every dispatch step,
    the timestamps of the frame, to the precision the files keep; a folder of other files is
    refused, named as the argument."""
    site = write_yaml(tmp_path / "s.yaml", base_site())
    program = write_yaml(tmp_path / "p.yaml", {"kind": "program", "name": "p", "sites": ["s.yaml"]})
    plan = dcplan.plan(program, typical_days=2, overrides={"sites.testsite.grid.max_import_mw": 150})
    made_from = hashlib.sha256(site.read_bytes()).hexdigest()
    site.write_text(site.read_text() + "# edited after the plan was made\n")
    written = dcplan.write_plan(plan, tmp_path / "out", report=True)
    assert sorted(p.name for p in written) == ["dispatch.csv", "plan.yaml", "report.html", "summary.json"]
    recorded = json.loads((tmp_path / "out" / "summary.json").read_text())["inputs"]
    assert {"path": "../s.yaml", "sha256": made_from} in recorded  # the file as the plan was made from it
    read = dcplan.read_plan(tmp_path / "out")
    _same_plan(read, plan)
    assert read.inputs == plan.inputs and site.resolve() in read.inputs  # as they were when it was made
    assert read.overrides == plan.overrides == {"sites.testsite.grid.max_import_mw": 150}
    assert read.sites[0].capacity == pytest.approx(plan.sites[0].capacity, rel=1e-5)
    assert [c.name for c in read.caps] == [c.name for c in plan.caps]
    first = (tmp_path / "out" / "plan.yaml").read_text()
    dcplan.write_plan(read, tmp_path / "out")  # an earlier plan's folder is replaced whole
    assert not (tmp_path / "out" / "report.html").exists()
    again = yaml.safe_load((tmp_path / "out" / "plan.yaml").read_text())
    assert again["totals"]["total_cost_usd_per_year"] == yaml.safe_load(first)["totals"]["total_cost_usd_per_year"]
    with pytest.raises(dcplan.InputError, match="holds files dcplan did not write") as err:
        dcplan.write_plan(plan, tmp_path)  # s.yaml is there
    assert err.value.problems[0].file == "arguments"
    with pytest.raises(dcplan.InputError, match="not an output folder"):
        dcplan.read_plan(tmp_path)


def test_a_plans_written_cost_lines_add_up_to_its_written_totals_and_stay_so_read_back(tmp_path):
    """Cost lines to the whole dollar: the Mojave sample's lines, written to six digits each, had
    summed to $1 over its total, and a plan read back and written again carried a total made of
    them ($2 apart on $1.4 B)."""
    dcplan.write_plan(dcplan.plan(REPO / "sites" / "mojave.yaml", typical_days=12), tmp_path / "a")
    dcplan.write_plan(dcplan.read_plan(tmp_path / "a"), tmp_path / "b")
    first, again = (yaml.safe_load((tmp_path / name / "plan.yaml").read_text()) for name in "ab")
    for written in (first, again):
        for entry in written["sites"].values():
            assert sum(entry["costs_usd_per_year"].values()) == entry["total_cost_usd_per_year"]
        assert sum(written["cost_breakdown_usd_per_year"].values()) == written["totals"]["total_cost_usd_per_year"]
    assert again["cost_breakdown_usd_per_year"] == first["cost_breakdown_usd_per_year"]
    assert again["totals"]["total_cost_usd_per_year"] == first["totals"]["total_cost_usd_per_year"]


def test_a_build_out_read_back_has_every_periods_sites(tmp_path):
    """Each period's sites come back from summary.json (plan.yaml holds the last period's), the
    orders, bridges and timeline.csv's assets too; a damaged period's site is named at its key."""
    from test_buildout import islanded_site, program

    doc = program(tmp_path, islanded_site(rental=True), targets=[{"date": "2026-04-01", "gpus": 10000}])
    plan = dcplan.plan(write_yaml(tmp_path / "p.yaml", doc))
    dcplan.write_plan(plan, tmp_path / "out")
    read = dcplan.read_plan(tmp_path / "out")
    _same_plan(read, plan)
    assert len(read.timeline.sites_by_period) == len(plan.timeline.sites_by_period) > 4
    for mine, theirs in zip(read.timeline.sites_by_period, plan.timeline.sites_by_period):
        assert mine[0].capacity == pytest.approx(theirs[0].capacity, rel=1e-5, abs=1e-6)
    assert read.timeline.bridges and read.timeline.bridges[0] == plan.timeline.bridges[0]
    assert read.timeline.assets.keys() == plan.timeline.assets.keys()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    first = next(iter(summary["sites_by_period"]))
    site = next(iter(summary["sites_by_period"][first]))
    summary["sites_by_period"][first][site]["it_mw"] = "lots"
    (tmp_path / "out" / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(dcplan.InputError, match="summary.json") as err:
        dcplan.read_plan(tmp_path / "out")
    assert err.value.problems[0].key == f"sites_by_period.{first}.{site}.it_mw"


@pytest.mark.parametrize("damage, message", [
    (lambda out: _replace(out / "dispatch.csv", "\n2026-Q2,", "\n2031-Q9,"), "rows of period 2031-Q9, which plan.yaml"),
    (lambda out: _replace(out / "dispatch.csv", "\n2026-Q1,testsite,", "\n2026-Q1,ghost,"), "rows of site 'ghost'"),
    (lambda out: (out / "timeline.csv").write_text((out / "timeline.csv").read_text() + "2026-Q1,a\n"),
     "expected 10 fields"),
    (lambda out: _replace(out / "summary.json", '"solver": {', '"solver": "optimal", "was": {'), "solver"),
    (lambda out: _drop_column(out / "dispatch.csv", "gas_lm6000_mw"),
     "gas_lm6000_mw: missing column: plan.yaml's site testsite has energy from gas_lm6000;"),
])
def test_a_damaged_build_out_folder_is_an_input_error(built_out, tmp_path, damage, message):
    """Each a ValueError, IndexError or StopIteration later, or a period or site dropped unsaid."""
    import shutil

    out = shutil.copytree(built_out, tmp_path / "out")
    damage(out)
    with pytest.raises(dcplan.InputError) as err:
        dcplan.read_plan(out)
    assert message in str(err.value), str(err.value)


def _drop_column(path, column: str) -> None:
    """A supply column taken out: the week charted and the energy summed without it, before."""
    rows = [line.split(",") for line in path.read_text().splitlines()]
    at = rows[0].index(column)
    path.write_text("".join(",".join(r[:at] + r[at + 1:]) + "\n" for r in rows))


def _replace(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


@pytest.fixture(scope="module")
def built_out(tmp_path_factory):
    from test_buildout import islanded_site, program

    tmp = tmp_path_factory.mktemp("built_out")
    doc = program(tmp, islanded_site(rental=True), targets=[{"date": "2026-04-01", "gpus": 10000}])
    dcplan.write_plan(dcplan.plan(write_yaml(tmp / "p.yaml", doc)), tmp / "out")
    return tmp / "out"
