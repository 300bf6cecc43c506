"""Hostile and broken inputs (the corpus in tests/hostile.py): every one answered by `validate`,
`plan`, `check` and `smooth` with exit 2 and a message naming the file, no traceback, within
seconds and in bounded memory; nothing outside the trusted folders is read or echoed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, base_site, run_cli, write_yaml
from hostile import CASES, SECRET

from dcplan.report import load_folder

MAX_SECONDS = 10.0  # each command on each input; most answer in a few hundredths
MAX_RSS_MB = 1500  # the driver's peak, dcplan and pyomo imported (about 0.5 GB)
SECRET_TEXT = Path(SECRET).read_text().splitlines()[0] if Path(SECRET).exists() else "root:x:0:0"
READ_NOTHING = {("smoothing.workload outside", "smooth")}
"""`smooth --site` reads only a site's limits, not its workload: nothing hostile is read, exit 0."""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[dict]:
    folder = tmp_path_factory.mktemp("hostile")
    env = {k: v for k, v in os.environ.items() if k != "DCPLAN_ALLOW_PATHS"}
    env.update({"DCPLAN_MAX_YAML_MB": "1", "DCPLAN_MAX_CSV_MB": "1", "COLUMNS": "200"})
    subprocess.run([sys.executable, str(REPO / "tests" / "hostile.py"), str(folder), str(folder / "results.json")],
                   check=True, timeout=600, env=env, cwd=folder)
    return json.loads((folder / "results.json").read_text())


def test_the_corpus_has_forty_inputs_and_each_ran_through_four_commands(corpus):
    assert len(CASES) >= 40
    assert {(r["case"], r["command"]) for r in corpus} == {(c, cmd) for c in CASES
                                                          for cmd in ("validate", "plan", "check", "smooth")}


def test_every_hostile_input_is_an_input_error_naming_its_file(corpus):
    wrong = [(r["case"], r["command"], r["exit_code"], r["output"][:200]) for r in corpus
             if (r["case"], r["command"]) not in READ_NOTHING
             and (r["exit_code"] != 2 or r["file"] not in r["output"])]
    assert not wrong


def test_no_traceback_no_secret_and_bounded_time_and_memory(corpus):
    for r in corpus:
        where = (r["case"], r["command"])
        assert r["exception"] is None and "Traceback" not in r["output"], where
        assert "internal error" not in r["output"], where
        assert SECRET_TEXT not in r["output"], where
        assert r["seconds"] < MAX_SECONDS, (where, r["seconds"])
    assert max(r["max_rss_mb"] for r in corpus) < MAX_RSS_MB


def test_user_text_is_shown_as_written_not_as_markup_or_emoji(corpus):
    shown = next(r["output"] for r in corpus if r["case"] == "markup and emoji codes in user text"
                 and r["command"] == "validate")
    assert "'[bold red]:x: boom[/]'" in shown and "❌" not in shown


def test_references_outside_are_refused_before_they_are_opened(corpus):
    """`validate` follows every reference; the other commands follow those they need (`plan`
    of a workload file stops at its kind), and none prints what a refused file holds."""
    outside = [r for r in corpus if r["command"] == "validate" and
               ("outside" in r["case"] or "out of the folder" in r["case"] or r["case"] == "csv: a device")]
    assert len(outside) == 8  # the NUL and the loop are refused too, as unreadable links
    for r in outside:
        assert "is outside the folders this file may read" in " ".join(r["output"].split()), r["case"]


def test_a_link_out_of_a_checked_folder_is_refused_and_allowing_a_folder_lets_it_in(tmp_path, runner, monkeypatch):
    folder = tmp_path / "repo"
    (folder / ".git").mkdir(parents=True)
    os.symlink(SECRET, folder / "passwd.yaml")
    for command in ("validate", "check"):
        result = run_cli(runner, command, folder)
        assert result.exit_code == 2 and "passwd.yaml" in result.output and SECRET_TEXT not in result.output
        said = " ".join(result.output.split())  # where the link leads, never what is there
        assert f"'passwd.yaml' (a link to {SECRET}) is outside the folders this file may read" in said

    (tmp_path / "shared").mkdir()
    write_yaml(tmp_path / "shared" / "site.yaml", base_site())
    program = write_yaml(folder / "program.yaml", {"kind": "program", "name": "p", "sites": ["../shared/site.yaml"]})
    assert run_cli(runner, "validate", program).exit_code == 2
    monkeypatch.setenv("DCPLAN_ALLOW_PATHS", str(tmp_path / "shared"))
    assert run_cli(runner, "validate", program).exit_code == 0


def test_a_committed_plan_linked_outside_the_repository_is_refused_unread(tmp_path, runner):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    site = write_yaml(repo / "site.yaml", base_site())
    assert run_cli(runner, "plan", site, "--typical-days", "2", "-q", "-o", tmp_path / "elsewhere").exit_code == 0
    (tmp_path / "elsewhere" / "plan.yaml").write_text((tmp_path / "elsewhere" / "plan.yaml").read_text()
                                                     .replace("cooling: air_economizer", "cooling: TOPSECRET-123"))
    (repo / "plans" / "testsite").mkdir(parents=True)
    for name in ("plan.yaml", "dispatch.csv"):
        os.symlink(tmp_path / "elsewhere" / name, repo / "plans" / "testsite" / name)
    result = run_cli(runner, "check", repo, "--format", "github")
    assert result.exit_code == 2 and "is outside the folders this file may read" in " ".join(result.output.split())
    assert "TOPSECRET" not in result.output


def test_a_report_does_not_embed_an_input_outside_the_plan_folders(tmp_path, runner):
    (tmp_path / ".git").mkdir()
    site = write_yaml(tmp_path / "site.yaml", base_site())
    assert run_cli(runner, "plan", site, "--typical-days", "2", "-q", "-o", tmp_path / "out").exit_code == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    summary["inputs"].append({"path": os.path.relpath(SECRET, tmp_path / "out"), "sha256": "0"})
    (tmp_path / "out" / "summary.json").write_text(json.dumps(summary))
    (tmp_path / "secrets.yaml").write_text("api_key: TOPSECRET\n")  # inside the folders, but no input
    summary["inputs"].append({"path": "../secrets.yaml", "sha256": "0"})
    (tmp_path / "out" / "summary.json").write_text(json.dumps(summary))
    inputs = {i.path.name: i for i in load_folder(tmp_path / "out").inputs}
    assert inputs["site.yaml"].text is not None
    assert inputs[Path(SECRET).name].text is None and "outside the folders" in inputs[Path(SECRET).name].note
    assert inputs["secrets.yaml"].text is None and "not a program, site or workload file" in inputs["secrets.yaml"].note
