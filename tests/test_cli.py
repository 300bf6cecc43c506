"""The command line as other tools meet it: JSON Schemas for editors, JSON output, exit codes
of choices and diffs, a start-up that does not load the solver stack, progress in a log, and
the CI workflow it ships."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import REPO, base_site, run_cli, write_yaml

from dcplan.choices import SCHEMA_KINDS
from dcplan.schema.editor import FOLDER, schema_text

MODELINE = "# yaml-language-server: $schema="


def _plain(data):
    """YAML data as an editor's language server sees it (dates are text)."""
    if isinstance(data, dict):
        return {str(k): _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    return data.isoformat() if isinstance(data, (dt.date, dt.datetime)) else data


def _shipped_inputs() -> list[Path]:
    found = [*REPO.glob("sites/*.yaml"), *REPO.glob("examples/**/*.yaml"), *REPO.glob("dcplan/scaffold/**/*.yaml")]
    return sorted(p for p in found if p.read_text().startswith(MODELINE))


@pytest.fixture(scope="module")
def schemas(tmp_path_factory) -> dict[str, dict]:
    from typer.testing import CliRunner

    out = {}
    for kind in SCHEMA_KINDS:
        result = run_cli(CliRunner(), "schema", kind)
        assert result.exit_code == 0, result.output
        out[kind] = json.loads(result.stdout)
    return out


def test_every_shipped_input_names_its_schema_and_validates_against_it(schemas):
    files = _shipped_inputs()
    assert len(files) >= 20  # the sample sites, the examples and the scaffold
    for path in files:
        target = (path.parent / path.read_text().splitlines()[0].removeprefix(MODELINE)).resolve()
        kind = target.stem
        assert kind in SCHEMA_KINDS and (target.is_file() or "scaffold" in str(path)), path
        errors = list(jsonschema.Draft202012Validator(schemas[kind]).iter_errors(_plain(yaml.safe_load(path.read_text()))))
        assert not errors, (path, [e.message for e in errors[:3]])


def test_a_schema_flags_what_validate_flags(schemas):
    site = base_site()
    site["grid"]["max_import_mw"] = "many"
    site["grdi"] = {}
    messages = [e.message for e in jsonschema.Draft202012Validator(schemas["site"]).iter_errors(_plain(site))]
    assert any("'grdi'" in m for m in messages) and any("'many'" in m for m in messages)


def test_the_repository_keeps_the_current_schemas():
    for kind in SCHEMA_KINDS:
        assert (FOLDER / f"{kind}.json").read_text() == schema_text(kind), f"run: dcplan schema {kind} > {FOLDER}/{kind}.json"


def test_init_writes_the_schemas_its_files_point_at(tmp_path, runner):
    assert run_cli(runner, "init", tmp_path / "p").exit_code == 0
    for path in (tmp_path / "p").rglob("*.yaml"):
        first = path.read_text().splitlines()[0]
        assert first.startswith(MODELINE) and (path.parent / first.removeprefix(MODELINE)).is_file(), path
    assert run_cli(runner, "validate", tmp_path / "p").exit_code == 0


def test_the_command_line_starts_without_the_solver_stack():
    """`dcplan --help`, `--version` and completion import no Pyomo, HiGHS, NumPy or pydantic."""
    heavy = ("pyomo", "highspy", "numpy", "scipy", "pydantic", "yaml", "pandas", "pyarrow", "matplotlib")
    code = f"import sys, dcplan, dcplan.cli; print([m for m in {heavy!r} if m in sys.modules])"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"


def test_planning_starts_without_scipys_statistics():
    """Pyomo would import scipy.stats (half a second) as soon as SciPy is imported; dcplan needs
    only scipy.sparse (dcplan.solver.without_scipy_extras)."""
    code = "import sys, dcplan.api, dcplan.checks; print('scipy.sparse' in sys.modules, 'scipy.stats' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split() == ["True", "False"]


def test_a_choice_not_offered_is_a_usage_error_that_lists_the_choices(tmp_path, runner):
    site = write_yaml(tmp_path / "site.yaml", base_site())
    result = run_cli(runner, "plan", site, "--strategy", "foo")
    assert result.exit_code == 2 and "auto" in result.output and "highs_mip" in result.output
    assert run_cli(runner, "check", site, "--format", "xml").exit_code == 2
    refused = run_cli(runner, "catalog", "turbines")
    assert refused.exit_code == 2 and "Invalid value for 'section': 'turbines' is not one of 'gpus'" in refused.output
    assert all("Value error" not in r.output for r in (result, refused))  # pydantic's words, under newer typer


def test_init_suggests_a_plan_folder_that_check_then_verifies(tmp_path, runner):
    result = run_cli(runner, "init", tmp_path / "p")
    suggested = next(line.split() for line in result.output.splitlines() if "dcplan plan" in line)
    assert run_cli(runner, *suggested[1:], "-q").exit_code == 0
    checked = run_cli(runner, "check", tmp_path / "p")
    assert checked.exit_code == 0 and "verified" in checked.output, checked.output


@pytest.mark.parametrize("args, message", [
    (("--mip-gap", "-1"), "must be at least 0 and below 1 (got -1)"),
    (("--mip-gap", "nan"), "(got nan)"),
    (("--mip-gap", "5"), "(got 5)"),
    (("--time-limit", "-1"), "must be at least 0 (got -1)"),
])
def test_an_option_out_of_its_range_is_a_usage_error_before_any_work(tmp_path, runner, args, message):
    result = run_cli(runner, "plan", write_yaml(tmp_path / "site.yaml", base_site()), *args)
    assert result.exit_code == 2 and message in result.output, result.output


def test_an_output_path_that_cannot_be_written_is_refused_up_front_as_input_not_a_bug(tmp_path, runner):
    site = write_yaml(tmp_path / "site.yaml", base_site())
    assert run_cli(runner, "plan", site, "--typical-days", "1", "-q", "-o", tmp_path / "a").exit_code == 0
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    for args in (("report", tmp_path / "a", "-o", blocker / "r.html"), ("check", tmp_path, "-o", blocker / "x.xml"),
                 ("check", tmp_path, "-o", tmp_path), ("diff", tmp_path / "a", tmp_path / "a", "-o", blocker / "d"),
                 ("init", blocker), ("init", blocker / "sub"),
                 ("plan", site, "--solver-log", blocker / "log")):
        result = run_cli(runner, *args)
        assert result.exit_code == 2, (args, result.output)
        assert ("is a file" in result.output or "is not a f" in result.output) and "internal error" not in result.output
    assert blocker.read_text() == "a file, not a folder"
    os.mkfifo(tmp_path / "log.fifo")  # a pipe no one reads: opening it had hung the plan past --time-limit
    result = run_cli(runner, "plan", site, "--typical-days", "1", "--time-limit", "5", "--solver-log", tmp_path / "log.fifo")
    assert result.exit_code == 2 and "log.fifo is a pipe or socket, not a file" in " ".join(result.output.split())


def test_json_on_standard_output_and_diff_exit_codes(tmp_path, runner):
    site = write_yaml(tmp_path / "site.yaml", base_site())
    planned = run_cli(runner, "plan", site, "--typical-days", "2", "--json", "-o", tmp_path / "a")
    assert planned.exit_code == 0, planned.output
    doc = json.loads(planned.stdout)
    assert doc["sites"]["testsite"]["gpus"] == {"h100_sxm": 1000} and doc["solver"]["solve_seconds"] >= 0
    written = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert written["totals"] == doc["totals"] and written["inputs"] == doc["inputs"] == [
        {"path": "../site.yaml", "sha256": hashlib.sha256(site.read_bytes()).hexdigest()}]

    shown = json.loads(run_cli(runner, "show", tmp_path / "a", "--json").stdout)
    assert shown["plan"]["totals"] == doc["totals"] and shown["key_figures"][0]["figure"]
    catalog = json.loads(run_cli(runner, "catalog", "gpus", "--json").stdout)
    assert catalog["gpus"]["h100_sxm"]["tdp_w"] == 700

    shutil.copytree(tmp_path / "a", tmp_path / "b")
    same = run_cli(runner, "diff", tmp_path / "a", tmp_path / "b", "--exit-code", "--format", "json")
    assert same.exit_code == 0 and json.loads(same.stdout)["changed"] == {"testsite": []}
    write_yaml(tmp_path / "site.yaml", base_site(compute={"gpus": [{"model": "h100_sxm"}], "target": {"gpus": 2000}}))
    assert run_cli(runner, "plan", site, "--typical-days", "2", "-q", "-o", tmp_path / "b").exit_code == 0
    changed = run_cli(runner, "diff", tmp_path / "a", tmp_path / "b", "--exit-code", "--format", "json")
    assert changed.exit_code == 1
    gpus = [c for c in json.loads(changed.stdout)["changed"]["testsite"] if c["section"] == "GPUs"]
    assert gpus and gpus[0]["old"] == 1000 and gpus[0]["new"] == 2000


def test_progress_goes_to_standard_error_as_plain_lines_in_a_log(tmp_path, runner):
    site = write_yaml(tmp_path / "site.yaml", base_site())
    result = run_cli(runner, "plan", site, "--typical-days", "2")
    assert result.exit_code == 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("[")]
    assert lines[0].startswith("[starting · ") and any(line.startswith("[building model · ") for line in lines)
    assert "[" not in result.stdout.split("\n")[0]


def test_the_shipped_ci_workflow_is_a_valid_github_workflow():
    """GitHub's workflow schema (SchemaStore's, vendored by check-jsonschema), offline."""
    tool = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or shutil.which("check-jsonschema")
    assert tool, "pip install check-jsonschema (in the test extra)"
    result = subprocess.run([tool, "--builtin-schema", "vendor.github-workflows",
                             str(REPO / "examples" / "ci" / "dcplan-check.yml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    workflow = yaml.safe_load((REPO / "examples" / "ci" / "dcplan-check.yml").read_text())
    assert all("timeout-minutes" in job for job in workflow["jobs"].values())


def test_an_extra_not_installed_is_named_with_the_command_that_installs_it(tmp_path, runner, monkeypatch):
    import dcplan.extras
    import dcplan.smoothing.output

    def available(module: str) -> bool:  # as if the sweep and plots extras were not installed
        return module not in ("pyarrow", "duckdb", "matplotlib")

    monkeypatch.setattr(dcplan.extras, "available", available)
    monkeypatch.setattr(dcplan.smoothing.output, "available", available)
    write_yaml(tmp_path / "sweep.yaml", {"base": "program.yaml", "axes": {"finance.discount_rate": [0.05]}})
    result = run_cli(runner, "sweep", tmp_path / "sweep.yaml", "-o", tmp_path / "out")
    assert result.exit_code == 2 and "pip install 'dcplan[sweep]'" in result.output
    assert "needs pyarrow, duckdb, matplotlib: pip install 'dcplan[sweep,plots]'" in \
        " ".join(run_cli(runner, "sweep", "summary", tmp_path).output.split())

    trace = tmp_path / "trace.csv"
    trace.write_text("time_s,mw\n" + "".join(f"{i * 0.1:.1f},{10 + 5 * (i // 20 % 2)}\n" for i in range(200)))
    smoothed = run_cli(runner, "smooth", trace, "--ramp-up-mw-per-s", "20", "-o", tmp_path / "smooth")
    assert smoothed.exit_code == 0, smoothed.output
    assert "smoothing.png not drawn: pip install 'dcplan[plots]'" in " ".join(smoothed.output.split())
    assert sorted(p.name for p in (tmp_path / "smooth").iterdir()) == ["schedule.csv", "smoothing.yaml"]


def test_parquet_on_request_holds_the_csv_with_typed_timestamps(tmp_path, runner):
    import pyarrow.parquet as pq

    site = write_yaml(tmp_path / "site.yaml", base_site())
    assert run_cli(runner, "plan", site, "--typical-days", "2", "-q", "--parquet").exit_code == 2  # needs -o
    assert run_cli(runner, "plan", site, "--typical-days", "2", "-q", "--parquet", "-o", tmp_path / "o").exit_code == 0
    table = pq.read_table(tmp_path / "o" / "dispatch.parquet")
    csv_lines = (tmp_path / "o" / "dispatch.csv").read_text().splitlines()
    assert table.num_rows == len(csv_lines) - 1 >= 24 and table.column_names == csv_lines[0].split(",")
    assert str(table.schema.field("timestamp").type).startswith("timestamp")
    first = table.slice(0, 1).to_pylist()[0]
    assert first["timestamp"].isoformat(timespec="minutes") == csv_lines[1].split(",")[3]


def test_validate_and_smooth_print_json_too(tmp_path, runner):
    site = base_site()
    site["grid"]["max_import_mw"] = -1
    bad = run_cli(runner, "validate", write_yaml(tmp_path / "site.yaml", site), "--json")
    assert bad.exit_code == 2
    [problem] = json.loads(bad.stdout)["problems"]
    assert problem["key"] == "grid.max_import_mw" and problem["line"] > 1 and problem["file"].endswith("site.yaml")
    trace = tmp_path / "trace.csv"
    trace.write_text("time_s,mw\n" + "".join(f"{i * 0.1:.1f},{10 + 5 * (i // 20 % 2)}\n" for i in range(200)))
    smoothed = run_cli(runner, "smooth", trace, "--ramp-up-mw-per-s", "20", "--json")
    assert smoothed.exit_code == 0 and json.loads(smoothed.stdout)["status"] == "optimal"


def test_json_runs_that_end_without_a_result_still_print_json(tmp_path, runner):
    """A script reading `--json` gets JSON whatever happens: an infeasible plan its status and
    reasons (where a plan has its status), an infeasible schedule likewise, bad input its problems."""
    site = base_site()
    site["grid"]["max_import_mw"] = 10
    site["compute"]["target"] = {"gpus": 20_000}
    infeasible = run_cli(runner, "plan", write_yaml(tmp_path / "site.yaml", site), "--typical-days", "4", "--json")
    assert infeasible.exit_code == 1
    solution = json.loads(infeasible.stdout)["solution"]
    assert solution["status"] == "infeasible" and any("grid import" in r for r in solution["reasons"])
    site["grid"]["max_import_mw"] = -1
    bad = run_cli(runner, "plan", write_yaml(tmp_path / "bad.yaml", site), "--json")
    assert bad.exit_code == 2
    [problem] = json.loads(bad.stdout)["problems"]
    assert problem["key"] == "grid.max_import_mw" and problem["line"] > 1
    trace = tmp_path / "trace.csv"
    trace.write_text("time_s,mw\n" + "".join(f"{i * 0.1:.1f},{10 + 5 * (i // 20 % 2)}\n" for i in range(200)))
    unsmoothable = run_cli(runner, "smooth", trace, "--band-max-mw", "5", "--json")
    assert unsmoothable.exit_code == 1, unsmoothable.output
    result = json.loads(unsmoothable.stdout)
    assert result["status"] == "infeasible" and result["reasons"]


def test_smooth_takes_percent_ramps_of_a_capacity_and_refuses_them_without_one(tmp_path, runner):
    trace = tmp_path / "trace.csv"
    trace.write_text("time_s,mw\n" + "".join(f"{i * 0.1:.1f},{10 + 5 * (i // 20 % 2)}\n" for i in range(200)))
    alone = run_cli(runner, "smooth", trace, "--ramp-up-pct-per-min", "2")
    assert alone.exit_code == 2 and "capacity_mw" in alone.output
    done = run_cli(runner, "smooth", trace, "--ramp-up-pct-per-min", "2", "--capacity-mw", "400", "--json")
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert result["limits"]["ramp_up_pct_per_min"] == 2 and result["limits"]["capacity_mw"] == 400
    nothing = run_cli(runner, "smooth", trace)  # no limit at all: nothing to solve for
    assert nothing.exit_code == 2 and "no limits to keep the job within" in nothing.output


def test_a_figure_rounded_to_zero_is_written_as_0_not_minus_0():
    from dcplan.plans.write import _round

    assert [str(_round(v)) for v in (-1e-9, -0.0, -0.5)] == ["0.0", "0.0", "-0.5"]


def test_the_status_line_says_ctrl_c_keeps_the_plan_once_a_plan_has_waited_a_while(monkeypatch):
    from rich.console import Console

    import dcplan.progress as progress

    line = progress.StatusLine(Console(), "HiGHS MIP", quiet=True, hint="Ctrl-C keeps this plan")
    line.update("HiGHS MIP", 2.9e-4)
    assert "Ctrl-C" not in line.text()
    monkeypatch.setattr(progress, "HINT_AFTER_S", 0.0)
    assert line.text().endswith("gap 0.029% · Ctrl-C keeps this plan")
    line.update("HiGHS MIP", None)  # no plan yet: nothing to keep
    assert "Ctrl-C" not in line.text()


def test_a_reader_that_leaves_early_does_not_stop_the_plan_or_change_its_exit_code(tmp_path):
    """`dcplan plan ... | head -2`: the reader closes the pipe (here before the first line); the
    plan is still written and the exit code is the plan's (a broken pipe once ended it with 1,
    nothing written). With standard output closed outright (`>&-`) the same."""
    dcplan = str(Path(sys.executable).parent / "dcplan")
    program = REPO / "examples" / "quickstart" / "program.yaml"
    reader = subprocess.Popen([dcplan, "plan", program, "-o", tmp_path / "piped"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL)
    reader.stdout.close()
    assert reader.wait(timeout=120) == 0
    assert (tmp_path / "piped" / "plan.yaml").exists()
    closed = subprocess.run([dcplan, "catalog"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: os.close(1), timeout=60)
    assert closed.returncode == 0 and "Traceback" not in closed.stderr
    bad = base_site()
    bad["grid"]["max_import_mw"] = -1
    for stderr in (subprocess.DEVNULL, None):  # standard error closed (2>&-), or unwritable: the exit code stays
        no_stderr = subprocess.run([dcplan, "validate", write_yaml(tmp_path / "bad.yaml", bad)], stdout=subprocess.DEVNULL,
                                   stderr=stderr, preexec_fn=(lambda: os.close(2)) if stderr is None else None, timeout=60)
        assert no_stderr.returncode == 2


def test_a_full_disk_a_zero_width_and_odd_destinations_get_words_not_a_bug_report(tmp_path, runner):
    """A full disk under standard output or a device written in place had been "internal error"
    (exit 70); COLUMNS=0 (some CI shells) had printed nothing at all, errors included; a
    --solver-log in no folder was dropped silently; -o through a dangling link made the folder it
    names, anywhere (audit cases)."""
    dcplan = str(Path(sys.executable).parent / "dcplan")
    if Path("/dev/full").exists():
        full = subprocess.run(f"{dcplan} catalog > /dev/full", shell=True, capture_output=True, text=True, timeout=60)
        assert full.returncode == 2 and "No space left on device" in full.stderr and "bug" not in full.stderr
    bad = base_site()
    bad["grid"]["max_import_mw"] = -1
    site = write_yaml(tmp_path / "site.yaml", bad)
    narrow = subprocess.run([dcplan, "validate", site], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "COLUMNS": "0"})
    assert narrow.returncode == 2 and "grid.max_import_mw" in narrow.stderr
    good = write_yaml(tmp_path / "good.yaml", base_site())
    nowhere = run_cli(runner, "plan", good, "--solver-log", tmp_path / "no" / "such" / "log", "-q")
    assert nowhere.exit_code == 2 and "no folder" in nowhere.output
    (tmp_path / "dangling").symlink_to(tmp_path / "elsewhere" / "out")
    linked = run_cli(runner, "plan", good, "-q", "-o", tmp_path / "dangling")
    assert linked.exit_code == 2 and "which does not exist" in linked.output
    assert not (tmp_path / "elsewhere").exists()


def test_init_that_cannot_write_leaves_nothing_behind(tmp_path, runner, monkeypatch):
    """A full disk once left empty files, in a folder that init then refused as not empty."""
    def full(src, dst, **_):
        (Path(dst) / "program.yaml").write_text("")  # a file begun, then the disk is full
        raise shutil.Error([(str(src), str(Path(dst) / "program.yaml"), "[Errno 28] No space left on device")])

    monkeypatch.setattr(shutil, "copytree", full)
    result = run_cli(runner, "init", tmp_path / "port")
    assert result.exit_code == 2 and "No space left on device" in result.output and "bug" not in result.output
    assert f"{tmp_path / 'port' / 'program.yaml'}:" in " ".join(result.output.split())  # not the staging folder's
    assert not (tmp_path / "port").exists() and not [p for p in tmp_path.iterdir() if "port" in p.name]
    monkeypatch.undo()
    assert run_cli(runner, "init", tmp_path / "port").exit_code == 0  # and it can be run again


def test_json_on_standard_output_is_strict_json(capsys):
    """A sweep summary with a NaN printed `"baseline": NaN`, which no JSON parser reads."""
    from dcplan.cli import _print_json

    _print_json({"baseline": float("nan"), "bars": [1.5, float("inf")], "when": dt.date(2027, 1, 1)})
    assert json.loads(capsys.readouterr().out) == {"baseline": None, "bars": [1.5, None], "when": "2027-01-01"}


def test_paths_with_markup_are_printed_as_written(tmp_path, runner, monkeypatch):
    """'[/]' in an output folder's name raised Rich's MarkupError after the plan was written (and
    the internal-error handler with it); '[red]x' printed as x."""
    monkeypatch.chdir(tmp_path)
    assert run_cli(runner, "init", "[red]x").output.startswith("created [red]x; next:")
    write_yaml(tmp_path / "s.yaml", base_site())
    result = run_cli(runner, "plan", "s.yaml", "--typical-days", "1", "-o", "out/[/]q")
    assert result.exit_code == 0 and "wrote out/[/]q/plan.yaml" in result.output, result.output
    result = run_cli(runner, "report", "out/[/]q")
    assert result.exit_code == 0 and "wrote out/[/]q/report.html" in result.output, result.output
    result = run_cli(runner, "report", "out/[/]q", "-o", "")  # had written ./report.html
    assert result.exit_code == 2 and "--output: an empty path" in result.output and not (tmp_path / "report.html").exists()


def test_init_in_a_fresh_git_repository_keeps_its_hidden_entries(tmp_path, runner, monkeypatch):
    """`git init && dcplan init .` was refused as not empty; a folder of files still is."""
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (tmp_path / "repo" / ".gitkeep").write_text("")
    monkeypatch.chdir(tmp_path / "repo")
    assert run_cli(runner, "init", ".").exit_code == 0
    assert (tmp_path / "repo" / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"
    assert sorted(p.name for p in (tmp_path / "repo").iterdir()) == [".git", ".gitkeep", "program.yaml", "schemas", "sites"]
    again = run_cli(runner, "init", ".")
    assert again.exit_code == 2 and "is not empty" in again.output


def test_init_through_a_dangling_link_and_after_a_killed_init(tmp_path, runner):
    """A link to a folder not made yet is followed (mkdir had failed, 'File exists'); what a killed
    init left, a hidden staging folder, is cleared and not taken for the user's."""
    os.symlink(tmp_path / "real", tmp_path / "link")
    assert run_cli(runner, "init", tmp_path / "link").exit_code == 0
    assert (tmp_path / "real" / "program.yaml").is_file() and (tmp_path / "link").is_symlink()
    (tmp_path / "fresh" / ".dcplan-fill-staging-x1y2" / "sites").mkdir(parents=True)
    (tmp_path / "fresh" / ".staging-mine").mkdir()  # a user's hidden folder of a like name is theirs
    assert run_cli(runner, "init", tmp_path / "fresh").exit_code == 0
    assert sorted(p.name for p in (tmp_path / "fresh").iterdir()) == [".staging-mine", "program.yaml", "schemas", "sites"]


def test_ctrl_c_while_the_command_line_loads_exits_130_without_a_traceback(monkeypatch):
    import dcplan.__main__ as entry

    class Interrupting:  # Ctrl-C arriving while dcplan.cli is imported
        def find_spec(self, name, path=None, target=None):
            if name == "dcplan.cli":
                raise KeyboardInterrupt

    monkeypatch.delitem(sys.modules, "dcplan.cli", raising=False)
    monkeypatch.setattr(sys, "meta_path", [Interrupting(), *sys.meta_path])
    with pytest.raises(SystemExit) as ended:
        entry.main()
    assert ended.value.code == 130
