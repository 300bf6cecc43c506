"""Scenario sweeps: expansion, errors at the sweep file's lines, the local pool against a Dask
cluster on loopback (row by row), failures that do not stop a sweep, resuming, and the summary."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import base_site, daily, run_cli, write_csv, write_yaml

import dcplan
from dcplan import read_plan
from dcplan.errors import InputError
from dcplan.sweep.expand import load_scenarios, scenario_id
from dcplan.sweep.runner import run_sweep
from dcplan.sweep.scenario import TIMING_COLUMNS
from dcplan.sweep.store import read_results

GAS = "sites.tiny.fuel.gas_price_usd_per_mmbtu"
UNITS = "sites.tiny.technologies.gas.wartsila_18v50sg.max_units"


@pytest.fixture
def program(tmp_path) -> Path:
    """A small site (20k H100, a 10 MW grid, up to two gas engines with unit commitment) at two
    typical days: a scenario solves in a fraction of a second."""
    write_csv(tmp_path / "price.csv", {"price_usd_per_mwh": daily([30] * 7 + [60] * 12 + [90] * 5)})
    site = base_site(name="tiny",
                     grid={"max_import_mw": 10, "energy_price_usd_per_mwh": {"csv": "price.csv"}},
                     fuel={"gas_price_usd_per_mmbtu": 4.0},
                     technologies={"gas": [{"type": "wartsila_18v50sg", "max_units": 2, "unit_commitment": True}]},
                     compute={"gpus": [{"model": "h100_sxm"}], "target": {"gpus": 20000}})
    write_yaml(tmp_path / "tiny.yaml", site)
    caps = [{"name": "co2", "quantity": "co2_t", "max": 1e9, "source": "test"},
            {"name": "nox", "quantity": "nox_t", "max": 1e6, "source": "test"}]
    return write_yaml(tmp_path / "program.yaml", {"kind": "program", "name": "tiny", "sites": ["tiny.yaml"],
                                                  "time": {"typical_days": 2}, "caps": caps})


def sweep_file(folder: Path, axes: dict, **settings) -> Path:
    return write_yaml(folder / "sweep.yaml", {"base": "program.yaml", "axes": axes, **settings})


def rows_without_timings(outdir: Path) -> list[dict]:
    rows, _ = read_results(outdir)
    return [{k: v for k, v in row.items() if k not in TIMING_COLUMNS} for row in rows]


# --- expansion and errors ------------------------------------------------------------------

def test_factorial_ranges_and_list_elements(program):
    path = sweep_file(program.parent, {
        GAS: [3, 8],
        "sites.tiny.cooling.air_economizer.pue": {"start": 1.1, "stop": 1.3, "step": 0.1},
        "caps.co2.max": [1e8],
        "caps.nox.max": {"start": 10, "stop": 30, "num": 2},
    })
    s = load_scenarios(path)
    assert len(s.scenarios) == 2 * 3 * 1 * 2
    assert [a.loc for a in s.axes][1] == ("cooling", 0, "pue")
    assert sorted({sc.values["sites.tiny.cooling.air_economizer.pue"] for sc in s.scenarios}) == [1.1, 1.2, 1.3]
    first = s.scenarios[0]
    assert first.values == {GAS: 3, "sites.tiny.cooling.air_economizer.pue": 1.1, "caps.co2.max": 1e8,
                            "caps.nox.max": 10.0}
    # two axes in one list: the list carries both changes
    assert [(c["name"], c["max"]) for c in first.overrides["caps"]] == [("co2", 1e8), ("nox", 10.0)]
    assert first.id == scenario_id(first.values) == load_scenarios(path).scenarios[0].id
    assert len({sc.id for sc in s.scenarios}) == len(s.scenarios)


def test_sampling_is_seeded_and_deduplicated(program):
    axes = {GAS: {"distribution": "uniform", "low": 2, "high": 8, "round": 2},
            "finance.discount_rate": {"distribution": "triangular", "low": 0.05, "mode": 0.08, "high": 0.12}}
    a = load_scenarios(sweep_file(program.parent, axes, sample=8, seed=1))
    b = load_scenarios(sweep_file(program.parent, axes, sample=8, seed=1))
    c = load_scenarios(sweep_file(program.parent, axes, sample=8, seed=2))
    assert [s.values for s in a.scenarios] == [s.values for s in b.scenarios]
    assert [s.values for s in a.scenarios] != [s.values for s in c.scenarios]
    assert all(2 <= s.values[GAS] <= 8 and round(s.values[GAS], 2) == s.values[GAS] for s in a.scenarios)
    few = load_scenarios(sweep_file(program.parent, {GAS: [3, 8]}, sample=20))
    assert sorted(s.values[GAS] for s in few.scenarios) == [3, 8]
    factorial = load_scenarios(sweep_file(program.parent, {GAS: {"distribution": "normal", "mean": 4, "sd": 0.5,
                                                                 "draws": 3}}))
    assert len(factorial.scenarios) == 3


def test_sampling_listed_axes_draws_distinct_combinations(program):
    axes = {GAS: [2, 3, 4, 5, 6, 7], UNITS: [0, 1, 2]}
    drawn = load_scenarios(sweep_file(program.parent, axes, sample=10, seed=3)).scenarios
    assert len(drawn) == 10 == len({s.id for s in drawn})
    assert [s.values for s in drawn] == [s.values for s in load_scenarios(program.parent / "sweep.yaml").scenarios]
    whole = load_scenarios(sweep_file(program.parent, axes, sample=100)).scenarios
    assert len(whole) == 18  # no more than the factorial has


@pytest.mark.parametrize("axes, settings, line, expected", [
    ({"sites.tiny.fuel.gas_price_usd_per_mmbtux": [3]}, {}, 3, "unknown key (did you mean 'gas_price_usd_per_mmbtu'?)"),
    ({GAS: [3, -1]}, {}, 3, "value -1: input should be greater than or equal to 0"),
    ({"sites.tiny.fuel.gas_price_usd_per_mmbtu": [3], "sites.memphis.fuel.gas_price_usd_per_mmbtu": [3]}, {}, 5,
     "no site named 'memphis'; sites: tiny"),
    ({"sites.tiny.cooling.liquid.pue": [1.1]}, {}, 3, "no element 'liquid'"),
    ({"sites.tiny.cooling.air_economizer.pue": [1.2, 0.5]}, {}, 3,
     "pue: value 0.5 is outside the plausible range 1..3 pue\n"),  # said once, and not counted in hours
    ({"finanse.discount_rate": [0.1]}, {}, 3, "did you mean 'finance'?"),
    ({GAS: {"distribution": "uniform", "low": 2, "high": 8}}, {}, 3, "needs `draws: N`"),
    ({GAS: [3, 3]}, {}, 5, "listed twice"),
    ({GAS: {"start": 5, "stop": 1, "step": 1}}, {}, 3, "stop must not be below start"),
    ({"catalog.gpus.h100_sxmm.price_usd_per_gpu": [1]}, {}, 3,
     "no gpus entry 'h100_sxmm' in the catalog (did you mean 'h100_sxm'?)"),
    ({"sites.tiny.catalog.gpu.h100_sxm.price_usd_per_gpu": [1]}, {}, 3, "no section 'gpu' (did you mean 'gpus'?)"),
    # draws of infinity: an OverflowError (exit 70)
    ({GAS: {"distribution": "normal", "mean": 1e308, "sd": 1e308, "draws": 3, "round": 0}}, {}, 5,
     "mean: 1e+308 is beyond what dcplan reads (at most 1e+15 in magnitude)"),
])
def test_bad_axes_are_reported_at_their_line(program, runner, axes, settings, line, expected):
    path = sweep_file(program.parent, axes, **settings)
    with pytest.raises(InputError) as err:
        load_scenarios(path)
    text = "\n".join(map(str, err.value.problems)) + "\n"
    assert f"sweep.yaml:{line}:" in text and expected in text, text
    result = run_cli(runner, "sweep", path, "-o", program.parent / "out")
    assert result.exit_code == 2 and expected in result.output
    assert not (program.parent / "out").exists()


def test_validate_reads_sweep_files_named_or_in_a_folder(program, runner):
    """Once 'not a file dcplan reads' when named, and skipped in a folder."""
    path = sweep_file(program.parent, {GAS: [3, 4]})
    for target in (path, program.parent):
        result = run_cli(runner, "validate", target)
        assert result.exit_code == 0, result.output
    sweep_file(program.parent, {GAS: [3, -1]})
    for target in (path, program.parent):
        result = run_cli(runner, "validate", target)
        assert result.exit_code == 2 and "sweep.yaml:3: axes." in result.output and "value -1" in result.output


def test_the_base_must_be_a_program(program):
    path = write_yaml(program.parent / "sweep.yaml", {"base": "tiny.yaml", "axes": {GAS: [3]}})
    with pytest.raises(InputError, match="sweep.yaml:1: base: expected a program file"):
        load_scenarios(path)


def test_scheduler_without_distributed_says_what_to_install(program, runner, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if it were not installed
    result = run_cli(runner, "sweep", sweep_file(program.parent, {GAS: [3]}), "--scheduler", "tcp://127.0.0.1:9")
    assert result.exit_code == 2 and "pip install 'dcplan[cluster]'" in result.output


@pytest.mark.parametrize("address, expected", [("notanaddress", "not a scheduler address"),
                                               ("tcp://127.0.0.1:9", "cannot reach the Dask scheduler")])
def test_a_bad_scheduler_address_is_an_input_error(program, runner, address, expected):
    pytest.importorskip("distributed")
    result = run_cli(runner, "sweep", sweep_file(program.parent, {GAS: [3]}), "--scheduler", address)
    assert result.exit_code == 2 and expected in result.output


def test_output_must_be_a_folder(program, runner):
    (program.parent / "out").write_text("")
    result = run_cli(runner, "sweep", sweep_file(program.parent, {GAS: [3]}), "-o", program.parent / "out")
    assert result.exit_code == 2 and "exists and is not a folder" in result.output


def test_a_folder_holding_what_no_sweep_wrote_is_refused(program, runner):
    """A user's own results.csv was overwritten, and a plan's folder got a sweep mixed into it."""
    for name, text in (("results.csv", "my,own\n1,2\n"), ("plan.yaml", "program: x\n")):
        out = program.parent / f"out-{name}"
        out.mkdir()
        (out / name).write_text(text)
        result = run_cli(runner, "sweep", sweep_file(program.parent, {GAS: [3]}), "-o", out)
        assert result.exit_code == 2 and f"holds files no dcplan sweep wrote ({name})" in result.output, result.output
        assert (out / name).read_text() == text and sorted(p.name for p in out.iterdir()) == [name]


# --- running ---------------------------------------------------------------------------------

def test_an_infeasible_scenario_cites_the_axis_that_set_the_value(program, runner):
    """The reason names the sweep file's axis line for the value it set, not the line of the
    program or site file that value replaced."""
    path = sweep_file(program.parent, {GAS: [3], UNITS: [0]})
    out = program.parent / "out"
    result = run_cli(runner, "sweep", path, "-o", out, "--workers", "1")
    assert result.exit_code == 0
    assert "sweep 1/1" in result.stderr and "sweep 1/1" not in result.stdout  # progress on stderr, as plan's
    reason = read_results(out)[0][0]["reason"]
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "max_units" in text)
    assert f"sweep.yaml:{line}: axes.{UNITS}" in reason, reason
    assert "technologies.gas[0].max_units" not in reason, reason  # the site file's line for it


def test_failed_scenarios_are_recorded_the_rest_complete_and_a_rerun_resumes(program, runner):
    path = sweep_file(program.parent, {UNITS: [0, 2], GAS: [3, 8]})
    out = program.parent / "out"
    result = run_cli(runner, "sweep", path, "-o", out, "--workers", "2")
    assert result.exit_code == 0, result.output  # infeasible is a final outcome, not a failure to run
    rows = {(r[UNITS], r[GAS]): r for r in read_results(out)[0]}
    assert [r["scenario"] for r in read_results(out)[0]] == sorted(r["scenario"] for r in rows.values())
    for gas in (3, 8):
        assert rows[0, gas]["status"] == "infeasible" and "could not be met" in rows[0, gas]["reason"]
        assert rows[2, gas]["status"] == "optimal" and rows[2, gas]["gas_units_wartsila_18v50sg"] >= 1
        assert (out / "scenarios" / rows[2, gas]["scenario"] / "plan.yaml").exists()
        assert not (out / "scenarios" / rows[0, gas]["scenario"]).exists()
    assert rows[2, 8]["total_cost_usd_per_year"] > rows[2, 3]["total_cost_usd_per_year"]
    assert "4 scenarios: 2 infeasible, 2 optimal (4 run now" in result.output.replace("\n", " ")
    csv_lines = (out / "results.csv").read_text().splitlines()
    assert len(csv_lines) == 5 and csv_lines[0].startswith('"scenario","status","' + UNITS)

    before = rows_without_timings(out)
    again = run_sweep(path, out, workers=2)
    assert (again.ran, again.reused) == (0, 4) and rows_without_timings(out) == before
    (out / "scenarios" / rows[2, 3]["scenario"] / "dispatch.csv").unlink()  # a plan folder damaged since:
    mended = run_sweep(path, out, workers=1)  # run again (it had been kept as done, the folder unreadable)
    assert (mended.ran, mended.reused) == (1, 3) and read_plan(out / "scenarios" / rows[2, 3]["scenario"])
    edited = out / "scenarios" / rows[2, 8]["scenario"] / "plan.yaml"  # edited by hand: results.csv and
    edited.write_text(edited.read_text().replace("total_cost_usd_per_year:", "total_cost_usd_per_year: 1.0 #", 1))
    mended = run_sweep(path, out, workers=1)  # `show` had told two stories; run again
    assert (mended.ran, mended.reused) == (1, 3) and "total_cost_usd_per_year: 1.0" not in edited.read_text()

    sweep_file(program.parent, {UNITS: [0, 2], GAS: [3, 8, 5]})  # a value added: only its scenarios run
    extended = run_sweep(path, out, workers=2)
    assert (extended.ran, extended.reused) == (2, 4) and len(extended.rows) == 6

    summary = run_cli(runner, "sweep", "summary", out, "--metric", "cost_usd_per_gpu_hour")
    assert summary.exit_code == 0, summary.output
    assert "sensitivity of cost_usd_per_gpu_hour" in summary.output and GAS in summary.output
    assert "0 of 3" in summary.output and "no plan" in summary.output  # the value no scenario of has a plan
    assert (out / "tornado.png").read_bytes().startswith(b"\x89PNG")
    query = run_cli(runner, "sweep", "summary", out, "--sql", "SELECT status, count(*) AS n FROM results GROUP BY 1")
    assert query.exit_code == 0 and "infeasible" in query.output
    typed = run_cli(runner, "sweep", "summary", out, "--json", "--sql",  # what JSON has no type for
                    "SELECT 1.5 AS d, DATE '2027-01-02' AS day, '\\xAB'::BLOB AS b, sum(1.25) AS s FROM results")
    assert typed.exit_code == 0, typed.output
    assert json.loads(typed.output) == [{"d": 1.5, "day": "2027-01-02", "b": "ab", "s": 7.5}]
    assert run_cli(runner, "sweep", "summary", out, "--metric", "nope").exit_code == 2
    for empty in ("", "-- only a comment"):  # DuckDB gave no cursor: an AttributeError, exit 70
        nothing = run_cli(runner, "sweep", "summary", out, "--sql", empty)
        assert nothing.exit_code == 2 and "no statement to run" in nothing.output, nothing.output
    for sql, said in ((f"COPY results TO '{program.parent / 'leak.csv'}'", "file system operations are disabled"),
                      ("SELECT * FROM read_csv_auto('/etc/passwd')", "file system operations are disabled"),
                      ("SELECT 1; SELECT 2", "2 statements: give one"),
                      ("SELECT '\udcff'", "--sql: not UTF-8 text")):  # a pasted recipe reads and writes nothing;
        # '\udcff': a byte the terminal could not decode
        refused = run_cli(runner, "sweep", "summary", out, "--sql", sql)
        assert refused.exit_code == 2 and said in " ".join(refused.output.split()), refused.output
    assert not (program.parent / "leak.csv").exists()

    recorded = json.loads((out / "scenarios" / rows[2, 8]["scenario"] / "summary.json").read_text())
    assert recorded["sweep_values"] == {UNITS: 2, GAS: 8}
    assert [Path(i["path"]).name for i in recorded["inputs"]] == ["program.yaml", "tiny.yaml", "price.csv"]

    for command in (("plan", program, "-o", out), ("show", out)):  # a sweep's folder where a plan's is due
        wrong = run_cli(runner, *command)
        assert wrong.exit_code == 2 and "it is a sweep's output folder" in " ".join(wrong.output.split()), wrong.output
    assert (out / "results.parquet").is_file()

    sweep_file(program.parent, {UNITS: [2], GAS: [3]})  # a smaller sweep: the folder describes it alone
    run_sweep(path, out, workers=1)
    assert [p.name for p in (out / "scenarios").iterdir()] == [rows[2, 3]["scenario"]]
    alone = run_cli(runner, "sweep", "summary", out).output  # one plan: nothing to compare, said so
    assert "one scenario has a plan: no sensitivity to compare" in alone and "sensitivity of" not in alone
    table = pq.read_table(out / "results.parquet")
    for column in ("status", GAS):  # a column dropped by hand: a DuckDB BinderException had been exit 70
        pq.write_table(table.drop([column]), out / "results.parquet")
        lacking = run_cli(runner, "sweep", "summary", out)
        assert lacking.exit_code == 2 and f"the sweep's results lack the column {column}" \
            in " ".join(lacking.output.split()), lacking.output
    (out / "results.parquet").write_text("damaged")
    damaged = run_cli(runner, "sweep", "summary", out)
    assert damaged.exit_code == 2 and "cannot read the sweep's results" in damaged.output


def test_a_sweep_without_any_plan_has_its_columns_and_says_so(program, runner):
    out = program.parent / "out"
    assert run_cli(runner, "sweep", sweep_file(program.parent, {UNITS: [0]}), "-o", out, "-q").exit_code == 0
    assert "total_cost_usd_per_year" in (out / "results.csv").read_text().splitlines()[0]
    summary = run_cli(runner, "sweep", "summary", out)
    assert summary.exit_code == 0 and "no scenario has a plan" in summary.output.replace("\n", " ")


def test_a_combination_the_model_rejects_is_recorded_as_invalid(program):
    """Each date is valid alone (tried up front); one pair puts the grid steps out of order."""
    site = program.parent / "tiny.yaml"
    data = yaml.safe_load(site.read_text())
    data["grid"]["steps"] = [{"date": "2028-01-01", "max_import_mw": 20}, {"date": "2029-01-01", "max_import_mw": 30}]
    write_yaml(site, data)
    first, second = "sites.tiny.grid.steps.0.date", "sites.tiny.grid.steps.1.date"
    path = sweep_file(program.parent, {first: ["2028-01-01", "2028-09-01"], second: ["2029-01-01", "2028-06-01"]})
    with pytest.raises(ValueError, match="workers must be a whole number at least 1, not 0"):
        dcplan.run_sweep(path, program.parent / "out", workers=0)
    run = dcplan.run_sweep(path, program.parent / "out", workers=1)  # the API's call of the same runner
    invalid = [r for r in run.rows if r["status"] == "invalid"]
    assert [(r[first], r[second]) for r in invalid] == [("2028-09-01", "2028-06-01")]
    assert "tiny.yaml" in invalid[0]["reason"] and "grid steps must be in date order" in invalid[0]["reason"]
    assert run.statuses["optimal"] == 3 and run.finished
    assert [r["pue"] for r in run.rows if r["status"] == "optimal"] == pytest.approx([1.2] * 3)  # the site's, every hour


def _kill_pool_workers() -> bool:
    """SIGKILL the sweep's pool processes (children of the forkserver, itself our child)."""
    servers = [p for p in psutil.Process().children() if "forkserver" in " ".join(p.cmdline())]
    killed = False
    for worker in (w for s in servers for w in s.children()):
        try:
            if worker.status() != psutil.STATUS_ZOMBIE:
                worker.send_signal(signal.SIGKILL)
                killed = True
        except psutil.NoSuchProcess:
            pass
    return killed


def test_a_killed_scenario_is_recorded_and_retried_and_a_time_limit_is_not_final(program):
    """The full-year scenario's worker is killed each time it starts (as an out-of-memory kill
    would); the sweep records it as crashed and finishes the other. A re-run retries only it, and
    with a 0.3 s limit it stops at the time limit, which a further re-run retries again."""
    path = sweep_file(program.parent, {"time.typical_days": [2, None]}, time_limit_s=0.3)
    out = program.parent / "out"
    full_year = scenario_id({"time.typical_days": None})

    def kill_full_year(p):
        if p.done >= 1 and p.running == 1:  # the two-day scenario has finished; the full year runs
            deadline = time.monotonic() + 10
            while not _kill_pool_workers() and time.monotonic() < deadline:
                time.sleep(0.01)

    first = run_sweep(path, out, workers=1, progress=kill_full_year)
    statuses = {r["scenario"]: r["status"] for r in first.rows}
    assert statuses.pop(full_year) == "crashed" and list(statuses.values()) == ["optimal"]
    assert "worker process died" in next(r["reason"] for r in first.rows if r["scenario"] == full_year)
    assert not first.finished

    second = run_sweep(path, out, workers=1)
    assert (second.ran, second.reused) == (1, 1)
    row = next(r for r in second.rows if r["scenario"] == full_year)
    assert row["status"] in ("time_limit", "no_solution"), row
    third = run_sweep(path, out, workers=1)
    assert (third.ran, third.reused) == (1, 1)


def test_a_sweep_killed_leaves_no_process_behind_and_resumes_to_the_uninterrupted_result(program):
    """SIGKILL of the sweep itself: its pool workers, forkserver and resource tracker all end
    within seconds; a re-run resumes, and the results equal those of a sweep never killed."""
    path = sweep_file(program.parent, {UNITS: [1, 2], GAS: [2, 3, 4, 5, 6, 7, 8, 9]})
    out = program.parent / "out"
    sweep = subprocess.Popen([sys.executable, "-m", "dcplan", "sweep", path, "-o", out, "--workers", "2", "-q"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not any((out / "scenarios").glob("*/plan.yaml")):
        assert time.monotonic() < deadline and sweep.poll() is None, "the sweep ended before it was killed"
        time.sleep(0.05)
    family = psutil.Process(sweep.pid).children(recursive=True)
    assert sweep.poll() is None and len(family) >= 3  # forkserver, workers, resource tracker
    sweep.kill()
    sweep.wait()
    gone, alive = psutil.wait_procs(family, timeout=15)
    for orphan in alive:  # not to leave them to the rest of the suite if this fails
        orphan.kill()
    assert not alive, [p.cmdline()[-1][:80] for p in alive]

    resumed = run_sweep(path, out, workers=2)
    assert resumed.reused < 16 and resumed.finished
    run_sweep(path, program.parent / "uninterrupted", workers=2)
    assert rows_without_timings(out) == rows_without_timings(program.parent / "uninterrupted")
    names = lambda folder: sorted(p.name for p in (folder / "scenarios").iterdir())  # noqa: E731
    assert names(out) == names(program.parent / "uninterrupted")  # no staging folder left behind


def test_a_sweep_terminated_saves_what_finished_and_exits_143(program):
    """SIGTERM (`timeout`, a cancelled CI job): as Ctrl-C, the workers end and every scenario
    whose plan was written has its row; Python's warning of leaked semaphores is not printed."""
    path = sweep_file(program.parent, {UNITS: [1, 2], GAS: [2, 3, 4, 5, 6, 7, 8, 9]})
    out = program.parent / "out"
    sweep = subprocess.Popen([sys.executable, "-m", "dcplan", "sweep", path, "-o", out, "--workers", "2", "-q"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(list((out / "scenarios").glob("*/plan.yaml"))) < 2:  # so that a saved row is owed
        assert time.monotonic() < deadline and sweep.poll() is None, "the sweep ended before it was terminated"
        time.sleep(0.05)
    family = psutil.Process(sweep.pid).children(recursive=True)
    sweep.terminate()
    _, stderr = sweep.communicate(timeout=60)
    gone, alive = psutil.wait_procs(family, timeout=15)
    for orphan in alive:
        orphan.kill()
    assert sweep.returncode == 143 and not alive and "leaked" not in stderr, stderr
    assert "terminated: the scenarios finished by then are saved" in stderr
    planned = {p.name for p in (out / "scenarios").iterdir()}
    saved = {r["scenario"] for r in csv.DictReader((out / "results.csv").open())}
    # a plan folder is written before its row: a signal between the two leaves one to run again
    assert len(planned) >= 2 and len(planned - saved) <= 1


@pytest.fixture(scope="module")
def dask_scheduler(tmp_path_factory):
    """A Dask scheduler and two single-thread workers on loopback, each its own process."""
    pytest.importorskip("distributed")
    from distributed import Client

    folder = tmp_path_factory.mktemp("dask")
    dask = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")
    log = (folder / "dask.log").open("wb")
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(folder / "scheduler.json")], stdout=log, stderr=log)]
    try:
        deadline = time.monotonic() + 60
        while not (folder / "scheduler.json").exists():
            assert time.monotonic() < deadline and procs[0].poll() is None, "the scheduler did not start"
            time.sleep(0.1)
        time.sleep(0.2)  # the file is written whole, but give the writer a moment
        address = json.loads((folder / "scheduler.json").read_text())["address"]
        for i in range(2):
            procs.append(subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                           "--host", "127.0.0.1", "--local-directory", str(folder / f"w{i}")],
                                          stdout=log, stderr=log, env={**os.environ, "OMP_NUM_THREADS": "1"}))
        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:  # the workers first: a worker that loses its scheduler while closing can hang
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        log.close()


def test_dask_cluster_gives_the_local_pool_results_row_by_row(program, runner, dask_scheduler):
    path = sweep_file(program.parent, {GAS: [3, 8], "sites.tiny.grid.energy_price_usd_per_mwh": [40, 90]})
    local, cluster = program.parent / "local", program.parent / "cluster"
    assert run_cli(runner, "sweep", path, "-o", local, "--workers", "2", "-q").exit_code == 0
    result = run_cli(runner, "sweep", path, "-o", cluster, "--scheduler", dask_scheduler)
    assert result.exit_code == 0, result.output
    rows = rows_without_timings(local)
    assert len(rows) == 4 and all(r["status"] == "optimal" for r in rows)
    assert rows_without_timings(cluster) == rows
    for row in rows:
        plan = Path("scenarios", row["scenario"], "plan.yaml")
        assert (local / plan).read_bytes() == (cluster / plan).read_bytes()


def test_earlier_results_are_stale_when_a_file_behind_the_sites_changes(program):
    """The digest covers what the loader reads besides the site files: here a training job."""
    job = {"kind": "workload", "name": "job", "gpu": "h100_sxm", "gpus": 8000, "duration_s": 60,
           "resolution_s": 0.1, "iteration": {"period_s": 8, "compute_fraction": 0.75}}
    write_yaml(program.parent / "job.yaml", job)
    site = yaml.safe_load((program.parent / "tiny.yaml").read_text())
    site["smoothing"] = {"limits": {"swing_mw": 2, "swing_window_s": 5}, "mitigations": {"battery": {}},
                         "workload": "job.yaml"}
    write_yaml(program.parent / "tiny.yaml", site)
    path = sweep_file(program.parent, {GAS: [3]})
    before = load_scenarios(path).digest
    write_yaml(program.parent / "job.yaml", {**job, "iteration": {"period_s": 6, "compute_fraction": 0.75}})
    assert load_scenarios(path).digest != before


def test_a_text_decision_the_scenarios_split_on_shows_each_count_not_one_of_a_tie():
    import duckdb
    import pyarrow as pa

    from dcplan.sweep.summary import _groups

    table = pa.table({"gas": [2.5, 2.5, 8.0, 8.0], "cost": [1.0, 2.0, 3.0, 4.0],
                      "cooling": ["direct_liquid", "air_economizer", "air_economizer", "air_economizer"]})
    con = duckdb.connect()
    con.register("results", table)
    rows = _groups(con, "gas", "cost", "true", ["cooling"], table.schema)
    assert [r["cooling"] for r in rows] == ["air_economizer 1 · direct_liquid 1", "air_economizer"]
    assert [r["cost"] for r in rows] == [1.5, 3.5]
