"""An output folder is one transaction: a run killed at any moment leaves the earlier run's
complete folder or its own, never a mix; a second run on the same folder is refused while the
first holds it; a folder holding files dcplan did not write is never replaced."""

from __future__ import annotations

import json
import pickle
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import base_site, run_cli, write_yaml

from dcplan import api
from dcplan.outfolder import FolderLock, OutputFolder
from dcplan.plans.write import write_plan_files

WRITER = """
import pickle, sys
from pathlib import Path
from dcplan.outfolder import OutputFolder
from dcplan.plans.write import write_plan_files
plans = pickle.loads(Path(sys.argv[1]).read_bytes())
out = Path(sys.argv[2])
for i in range(10**9):
    with OutputFolder(out) as folder, folder.replace() as staging:
        write_plan_files(plans[i % 2], staging)
    print(i, flush=True)
"""


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_run_killed_at_random_moments_always_leaves_one_complete_run(tmp_path):
    """A writer alternates two different plans into one folder and is killed (SIGKILL) at a
    random moment, at least 16 times and until 4 kills have landed while it was writing (a busy
    machine slows the writer's start, so more of them can land between runs): after each kill
    the folder is exactly one of the two plans."""
    plans = []
    for gpus in (1000, 3000):
        site = write_yaml(tmp_path / f"site{gpus}.yaml", base_site(compute={
            "gpus": [{"model": "h100_sxm"}], "target": {"gpus": gpus}}))
        plans.append(api.plan(site, typical_days=2).plan)
    (tmp_path / "plans.pickle").write_bytes(pickle.dumps(plans))
    references = []
    for i, plan in enumerate(plans):
        write_plan_files(plan, tmp_path / f"ref{i}")
        references.append(_files(tmp_path / f"ref{i}"))
    assert references[0]["plan.yaml"] != references[1]["plan.yaml"]

    out, rng, interrupted, kills = tmp_path / "out", random.Random(20261130), 0, 0
    while kills < 16 or (interrupted < 4 and kills < 96):
        kills += 1
        writer = subprocess.Popen([sys.executable, "-c", WRITER, tmp_path / "plans.pickle", out],
                                  stdout=subprocess.PIPE, text=True)
        assert writer.stdout.readline(), "the writer wrote nothing"  # one complete run first
        time.sleep(rng.uniform(0.0, 0.05))
        writer.kill()
        writer.wait()
        writer.stdout.close()
        interrupted += any(p.name.startswith(".out.staging-") for p in tmp_path.iterdir())
        assert _files(out) in references
    assert interrupted >= 4, "too few kills landed while a run was writing to test anything"
    with OutputFolder(out) as folder:  # the next run cleans up what the killed ones left
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.staging-")]
        assert folder.lock.path.exists()
    assert not folder.lock.path.exists()


def test_a_second_run_on_a_folder_in_use_is_refused_before_solving(tmp_path, runner):
    site = write_yaml(tmp_path / "site.yaml", base_site())
    with FolderLock(tmp_path / "out"):
        result = run_cli(runner, "plan", site, "--typical-days", "2", "-o", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "another dcplan run (pid" in result.output and "is writing to" in result.output
    assert "building" not in result.output and not (tmp_path / "out").exists()
    assert run_cli(runner, "plan", site, "--typical-days", "2", "-o", tmp_path / "out", "-q").exit_code == 0


@pytest.mark.parametrize("command", ["plan", "smooth"])
def test_a_folder_holding_other_files_is_never_replaced(tmp_path, runner, command):
    """`-o .` in a repository must not replace the repository with a plan."""
    site = write_yaml(tmp_path / "site.yaml", base_site())
    (tmp_path / "notes.md").write_text("mine")
    args = [site, "--typical-days", "2"] if command == "plan" else [tmp_path / "trace.csv"]
    result = run_cli(runner, command, *args, "-o", tmp_path)
    assert result.exit_code == 2 and "holds files dcplan did not write" in result.output, result.output
    assert "notes.md" in result.output and (tmp_path / "notes.md").read_text() == "mine"


def test_smoothing_into_a_plan_folder_keeps_the_plan_and_no_stale_smoothing(tmp_path, runner):
    site = write_yaml(tmp_path / "site.yaml", base_site())
    assert run_cli(runner, "plan", site, "--typical-days", "2", "-q", "-o", tmp_path / "out").exit_code == 0
    plan = _files(tmp_path / "out")
    (tmp_path / "out" / "smoothing.png").write_bytes(b"an earlier run's")
    trace = tmp_path / "trace.csv"
    trace.write_text("time_s,mw\n" + "".join(f"{i * 0.1:.1f},{10 + 5 * (i // 20 % 2)}\n" for i in range(200)))
    import dcplan.smoothing.output

    dcplan.smoothing.output.available, available = (lambda m: False), dcplan.smoothing.output.available
    try:  # this run draws no PNG: the earlier one must not stay beside the new schedule
        assert run_cli(runner, "smooth", trace, "--ramp-up-mw-per-s", "20", "-q", "-o", tmp_path / "out").exit_code == 0
    finally:
        dcplan.smoothing.output.available = available
    files = _files(tmp_path / "out")
    assert {k: files[k] for k in plan} == plan and sorted(set(files) - set(plan)) == ["schedule.csv", "smoothing.yaml"]


def test_a_report_inside_a_plan_folder_takes_the_folders_own_name_or_goes_elsewhere(tmp_path, runner):
    """`dcplan report OUT -o OUT/r.html` had written a file that the next `dcplan plan -o OUT`
    refused as not dcplan's: inside an output folder a report is report.html, nothing else."""
    site = write_yaml(tmp_path / "site.yaml", base_site())
    out = tmp_path / "out"
    assert run_cli(runner, "plan", site, "--typical-days", "2", "-q", "-o", out).exit_code == 0
    refused = run_cli(runner, "report", out, "-o", out / "r.html")
    assert refused.exit_code == 2 and "is a dcplan output folder" in refused.output and "report.html" in refused.output
    assert not (out / "r.html").exists()
    assert run_cli(runner, "report", out, "-o", out / "report.html").exit_code == 0
    assert run_cli(runner, "report", out, "-o", tmp_path / "r.html").exit_code == 0
    assert run_cli(runner, "plan", site, "--typical-days", "2", "-q", "-o", out).exit_code == 0  # still its own


def test_a_report_goes_beside_its_own_plan_and_replaces_nothing_but_a_report(tmp_path, runner):
    """`report -o` had written another plan's report into a plan folder (a folder of two plans),
    a folder inside one (which the next `plan -o` refused), and HTML over a site's price CSV."""
    site = write_yaml(tmp_path / "site.yaml", base_site())
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        assert run_cli(runner, "plan", site, "--typical-days", "2", "-q", "-o", out).exit_code == 0
    data = tmp_path / "price.csv"
    data.write_text("hour,price_usd_per_mwh\n0,40\n")
    for target, said in ((b / "report.html", "is the output folder of another plan"),
                         (a / "sub" / "x.html", "is inside"), (data, "exists and is not a dcplan report")):
        refused = run_cli(runner, "report", a, "-o", target)
        assert refused.exit_code == 2 and said in " ".join(refused.output.split()), (target, refused.output)
    assert not (b / "report.html").exists() and not (a / "sub").exists()
    assert data.read_text() == "hour,price_usd_per_mwh\n0,40\n"
    mine = tmp_path / "mine.html"
    assert run_cli(runner, "report", a, "-o", mine).exit_code == 0
    assert run_cli(runner, "report", b, "-o", mine).exit_code == 0  # a report replaces a report
    assert run_cli(runner, "report", a, "--compare", b, "-o", b).exit_code == 0  # a comparison: either plan's folder
    assert (b / "compare.html").is_file()


def test_the_two_rename_swap_where_renameat2_is_missing(tmp_path, monkeypatch):
    import dcplan.outfolder as outfolder

    monkeypatch.setattr(outfolder, "_renameat2", None)
    for run in ("first", "second"):
        with OutputFolder(tmp_path / "out") as folder, folder.replace() as staging:
            (staging / "plan.yaml").write_text(f"dcplan_version: {run}\n")
    assert _files(tmp_path / "out") == {"plan.yaml": b"dcplan_version: second\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_dash_o_dot_names_the_current_folder(tmp_path, runner, monkeypatch):
    site = write_yaml(tmp_path / "site.yaml", base_site())
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    assert run_cli(runner, "plan", site, "--typical-days", "2", "-q", "-o", ".").exit_code == 0
    assert sorted(p.name for p in (tmp_path / "here").iterdir()) == ["dispatch.csv", "plan.yaml", "summary.json"]


def test_an_output_folder_under_a_file_is_refused_before_solving(tmp_path, runner):
    (tmp_path / "afile").write_text("")
    site = write_yaml(tmp_path / "site.yaml", base_site())
    result = run_cli(runner, "plan", site, "-o", tmp_path / "afile" / "out")
    assert result.exit_code == 2 and "afile is a file, not a folder" in " ".join(result.output.split())


@pytest.mark.slow
def test_dcplan_plan_killed_at_random_moments_leaves_one_complete_run(tmp_path):
    """The command itself, killed (SIGKILL) at 24 random moments of its run, alternating two
    programs: the folder is always one complete run of one of them."""
    sites = []
    for gpus in (1000, 3000):
        sites.append(write_yaml(tmp_path / f"site{gpus}.yaml", base_site(compute={
            "gpus": [{"model": "h100_sxm"}], "target": {"gpus": gpus}})))
    plans = []
    for i, site in enumerate(sites):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "dcplan", "plan", site, "--typical-days", "2", "-q",
                        "-o", tmp_path / f"ref{i}"], check=True)
        seconds = time.perf_counter() - started
        plans.append((_files(tmp_path / f"ref{i}"), seconds))
    rng, out = random.Random(7), tmp_path / "out"
    subprocess.run([sys.executable, "-m", "dcplan", "plan", sites[0], "--typical-days", "2", "-q", "-o", out],
                   check=True)
    for k in range(24):
        i = k % 2
        run = subprocess.Popen([sys.executable, "-m", "dcplan", "plan", sites[i], "--typical-days", "2", "-q",
                                "-o", out])
        time.sleep(rng.uniform(0.5, 1.1) * plans[i][1])
        run.kill()
        run.wait()
        files = _files(out)
        assert files.keys() == plans[0][0].keys()
        assert [files[n] for n in ("plan.yaml", "dispatch.csv")] in [[p[n] for n in ("plan.yaml", "dispatch.csv")]
                                                                   for p, _ in plans]
        summary = json.loads(files["summary.json"])  # its timings differ from run to run; its plan does not
        assert summary["sites"] == yaml.safe_load(files["plan.yaml"])["sites"]


def test_a_full_disk_is_named_at_the_file_being_written_and_keeps_the_previous_plan(tmp_path, runner, monkeypatch):
    """ENOSPC says no file name: it was reported as a bug in dcplan (exit 70)."""
    import errno
    import os

    import dcplan.plans.write as write

    site = write_yaml(tmp_path / "site.yaml", base_site())
    out = tmp_path / "out"
    assert run_cli(runner, "plan", site, "--typical-days", "2", "-o", out, "-q").exit_code == 0
    before = (out / "plan.yaml").read_text()

    def full(fd, mode):
        os.close(fd)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(write.os, "fdopen", full)
    result = run_cli(runner, "plan", site, "--typical-days", "2", "-o", out, "-q")
    assert result.exit_code == 2, result.output
    assert "cannot read or write" in result.output and "No space left on device" in result.output
    assert "bug" not in result.output and (out / "plan.yaml").read_text() == before


def test_a_file_that_has_a_name_dcplan_writes_but_is_not_dcplans_is_never_replaced(tmp_path, runner):
    """A hand-written plan.yaml, or notes in a folder named smoothing, passed as dcplan's by
    name and were deleted by the run's swap (review)."""
    site = write_yaml(tmp_path / "site.yaml", base_site())
    for name, text in (("plan.yaml", "mine\n"), ("smoothing/notes.txt", "notes\n")):
        out = tmp_path / name.replace("/", "-")
        (out / name).parent.mkdir(parents=True)
        (out / name).write_text(text)
        result = run_cli(runner, "plan", site, "--typical-days", "2", "-o", out, "-q")
        assert result.exit_code == 2 and "holds files dcplan did not write" in result.output
        assert (out / name).read_text() == text


def test_a_folder_name_too_long_for_its_staging_folder_is_refused_before_solving(tmp_path, runner):
    site = write_yaml(tmp_path / "site.yaml", base_site())
    result = run_cli(runner, "plan", site, "-o", tmp_path / ("n" * 240))  # fits a name, not the staging one
    assert result.exit_code == 2 and "the folder name is 240 bytes long: at most 237" in result.output


def test_the_file_systems_root_is_refused_as_an_output_folder(tmp_path, runner):
    """Its lock would be inside it, and was listed among the files dcplan did not write."""
    site = write_yaml(tmp_path / "site.yaml", base_site())
    result = run_cli(runner, "plan", site, "-o", "/")
    assert result.exit_code == 2 and "-o: / is the file system's root: give a folder of its own" in result.output
    assert not Path("/..lock").exists()


def test_an_output_folder_given_through_a_link_is_written_where_the_link_leads(tmp_path, runner):
    """The swap beside the link replaced the link with a folder and left the link, dangling, in
    a staging name that was never removed (review)."""
    site = write_yaml(tmp_path / "site.yaml", base_site())
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    assert run_cli(runner, "plan", site, "--typical-days", "2", "-o", tmp_path / "link", "-q").exit_code == 0
    assert (tmp_path / "link").is_symlink() and (tmp_path / "real" / "plan.yaml").is_file()
    assert not [p for p in tmp_path.iterdir() if "staging" in p.name]


def test_a_dangling_link_as_an_output_folder_is_refused_by_its_own_name(tmp_path, runner):
    """The message had named the missing target as the link ("nowhere is a link to nowhere")."""
    site = write_yaml(tmp_path / "site.yaml", base_site())
    (tmp_path / "L").symlink_to("nowhere")
    result = run_cli(runner, "plan", site, "--typical-days", "2", "-o", tmp_path / "L", "-q")
    out = " ".join(result.output.split())
    assert result.exit_code == 2 and f"{tmp_path / 'L'} is a link to nowhere, which does not exist" in out, out
