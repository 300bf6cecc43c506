"""`dcplan diff`: what changed between two plans (files, folders, folders of plans, git
revisions), in text and in Markdown for a pull-request comment."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import REPO, base_site, run_cli, write_yaml
from typer.testing import CliRunner

from dcplan.errors import InputError
from dcplan.plans import diff as diff_module
from dcplan.plans.diff import diff, diff_plan, render_markdown, render_text


@pytest.fixture(scope="module")
def two_plans(tmp_path_factory) -> tuple[Path, Path]:
    """The same site planned for 1,000 and then 2,000 GPUs."""
    root = tmp_path_factory.mktemp("diff")
    folders = []
    for gpus in (1000, 2000):
        site = base_site()
        site["compute"]["target"] = {"gpus": gpus}
        path = write_yaml(root / f"site{gpus}.yaml", site)
        out = root / f"plans{gpus}" / "testsite"
        result = run_cli(CliRunner(), "plan", path, "--typical-days", "2", "-o", out, "-q")
        assert result.exit_code == 0, result.output
        folders.append(out)
    return folders[0], folders[1]


def test_more_gpus_show_in_gpus_power_cost_and_emissions(two_plans):
    old, new = two_plans
    d = diff(str(old), str(new))
    [changes] = d.changed.values()
    by_item = {(c.section, c.item): c for c in changes}
    gpus = by_item[("GPUs", "testsite h100_sxm")]
    assert (gpus.old, gpus.new) == (1000, 2000)
    assert by_item[("totals", "GPUs")].new == 2000
    it = by_item[("totals", "IT load")]
    assert it.new == pytest.approx(2 * it.old)
    assert by_item[("totals", "cost")].new > by_item[("totals", "cost")].old
    assert by_item[("energy", "testsite grid")].new == pytest.approx(2 * by_item[("energy", "testsite grid")].old,
                                                                     rel=1e-4)
    assert ("cost", "gpus") in by_item
    text = render_text(d)
    assert "testsite h100_sxm" in text and "1,000 GPUs → 2,000 GPUs" in text and "+1,000 GPUs (+100.0%)" in text
    assert text.splitlines()[1].startswith("  plan testsite: GPUs +1,000 (+100.0%), cost +$")


def test_markdown_is_a_table_for_a_pull_request_comment(two_plans):
    md = render_markdown(diff(str(two_plans[0]), str(two_plans[1])))
    lines = md.splitlines()
    assert lines[0].startswith("### dcplan diff:")
    header = lines.index("| | what | old | new | change |")
    assert lines[header + 1] == "|---|---|--:|--:|--:|"
    rows = [line for line in lines[header + 2:] if line.startswith("|")]
    assert all(row.count("|") == 6 for row in rows)  # five cells each, pipes in values escaped
    assert "| GPUs | testsite h100_sxm | 1,000 GPUs | 2,000 GPUs | +1,000 GPUs (+100.0%) |" in rows


def test_identical_plans_have_no_changes(two_plans):
    d = diff(str(two_plans[0]), str(two_plans[0] / "plan.yaml"))
    assert d.empty
    assert "No changes" in render_markdown(d)


def test_a_plan_from_a_newer_dcplan_says_so_where_this_one_cannot_read_it(two_plans, tmp_path, runner):
    """A value a later dcplan may write (a method of time resolution added since) is refused at
    its key, with the likely reason at dcplan_version's line; fields this dcplan does not know
    are passed over, and a plan of this version gets no such reason."""
    doc = yaml.safe_load((two_plans[1] / "plan.yaml").read_text())
    (tmp_path / "new").mkdir()
    for version, method, said in (("9.0.0", "hourly", None), ("9.0.0", "rolling", True), (doc["dcplan_version"], "rolling", False)):
        changed = {**doc, "dcplan_version": version, "time_resolution": {**doc["time_resolution"], "method": method},
                   "carbon_removal": {"mt_per_year": 1}}
        (tmp_path / "new" / "plan.yaml").write_text(yaml.safe_dump(changed, sort_keys=False))
        result = run_cli(runner, "diff", two_plans[0], tmp_path / "new")
        out = " ".join(result.output.split())
        assert result.exit_code == (0 if said is None else 2), out
        assert ("written by dcplan 9.0.0, newer than this dcplan" in out) is bool(said), out


@pytest.mark.parametrize("damage, where", [
    (lambda d: d.update(totals="broken"), "totals: input should be a valid dictionary"),
    (lambda d: d["totals"].update(total_cost_usd_per_year="lots"), "totals.total_cost_usd_per_year: input should be a valid number"),
    (lambda d: d["sites"]["testsite"].update(energy_mwh_per_year=[1]), "sites.testsite.energy_mwh_per_year: input should be a valid dict"),
    # a number quoted, or written 1e3 (text to YAML): read as text by every reader, it had been a
    # change "to 227664299.0" in diff and an internal error in report and show
    (lambda d: d["totals"].update(total_cost_usd_per_year=str(d["totals"]["total_cost_usd_per_year"])),
     "totals.total_cost_usd_per_year: input should be a valid number"),
    (lambda d: d["sites"]["testsite"]["capacity"].update(grid_limit_mw="1e3"),
     "sites.testsite.capacity.grid_limit_mw"),
    # show and report had printed these, diff and check refused them
    (lambda d: d["solution"].update(status="infeasible"), "solution.status: input should be 'optimal' or 'time_limit'"),
    (lambda d: d["solution"].update(gap=-1), "solution.gap: input should be greater than or equal to 0"),
    (lambda d: d["time_resolution"].update(method="bogus"), "time_resolution.method: input should be 'hourly' or"),
    (lambda d: d["time_resolution"].update(typical_days=0), "time_resolution.typical_days: input should be greater"),
    (lambda d: d.update(dcplan_version=[1, 2]), "dcplan_version: input should be a valid string"),  # report had printed it
])
def test_a_damaged_plan_is_refused_at_its_key_not_compared(two_plans, tmp_path, runner, damage, where):
    """A string for the totals had been an internal error (exit 70), a word for the total cost a
    change "to lots" (exit 0), though `dcplan show` refused both; show holds a plan to the same
    types as diff."""
    doc = yaml.safe_load((two_plans[1] / "plan.yaml").read_text())
    damage(doc)
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "plan.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    for command in (("diff", two_plans[0], tmp_path / "new"), ("show", tmp_path / "new")):
        result = run_cli(runner, *command)
        out = " ".join(result.output.split())
        assert result.exit_code == 2 and "plan.yaml:" in out and where in out, (command[0], out)


def test_folders_of_plans_match_by_folder_and_list_added_and_removed(two_plans, tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    shutil.copytree(two_plans[0], old / "testsite")
    shutil.copytree(REPO / "plans" / "memphis", old / "memphis")
    shutil.copytree(two_plans[1], new / "testsite")
    shutil.copytree(REPO / "plans" / "johor", new / "johor")
    d = diff(str(old), str(new))
    assert d.added == ["johor"] and d.removed == ["memphis"] and list(d.changed) == ["testsite"]
    text = render_text(d)
    assert "+ plan johor (new)" in text and "- plan memphis (removed)" in text


def test_two_plans_of_one_program_in_a_folder_of_plans_are_two_plans(two_plans, tmp_path):
    """A scenario's plan keeps its program's name: matched by program, one of two plans that both
    changed was dropped without a word. Matched by folder, both are compared."""
    old, new = tmp_path / "old", tmp_path / "new"
    shutil.copytree(two_plans[0], old / "base")
    shutil.copytree(two_plans[1], old / "bigger")
    shutil.copytree(two_plans[1], new / "base")
    shutil.copytree(two_plans[0], new / "bigger")
    d = diff(str(old), str(new))
    assert sorted(d.changed) == ["base", "bigger"] and all(d.changed.values())
    assert not d.added and not d.removed


def _plan(**changes) -> dict:
    plan = yaml.safe_load((REPO / "plans" / "memphis" / "plan.yaml").read_text())
    plan.update(changes)
    return plan


def test_binding_caps_and_limits_are_reported():
    cap = {"name": "air-permit", "quantity": "nox_t", "scope": "memphis", "sense": "max", "limit": 1200.0,
           "value": 1123.5, "binding": False}
    old = _plan(caps=[cap])
    new = _plan(caps=[{**cap, "limit": 1000.0, "value": 1000.0, "binding": True}])
    new["sites"]["memphis"]["binding_limits"] = ["gas wartsila_18v50sg: all 12 allowed new units built (max_units)"]
    changes = {(c.section, c.item): c for c in diff_plan(old, new)}
    assert changes[("caps", "air-permit (memphis) binding")].new is True
    assert changes[("caps", "air-permit (memphis) limit")].old == 1200.0
    assert changes[("binding", "memphis")].new.startswith("gas wartsila_18v50sg")


def test_buildout_orders_and_rentals_are_compared():
    order = {"site": "memphis", "asset": "gas:lm6000", "label": "LM6000PF", "quantity": 4.0, "unit": "units",
             "order_period": "2026-Q1", "order_date": "2026-01-01", "online_period": "2029-Q1",
             "online_date": "2029-01-01"}
    bridge = {"site": "memphis", "asset": "rental_gas:mobile_turbine", "quantity": 15.0, "unit": "units",
              "start_period": "2026-Q2", "end_date": "2028-12-31"}
    old = _plan(timeline={"orders": [order], "bridges": [bridge], "totals": {"npv_cost_usd": 1.0e10}})
    new = _plan(timeline={"orders": [{**order, "quantity": 6.0, "online_date": "2029-07-01"},
                                     {**order, "asset": "solar:utility_pv", "quantity": 100.0, "unit": "MW"}],
                          "bridges": [], "totals": {"npv_cost_usd": 1.1e10}})
    changes = {(c.section, c.item): c for c in diff_plan(old, new)}
    assert changes[("orders", "memphis gas:lm6000 2026-Q1 quantity")].new == 6.0
    assert changes[("orders", "memphis gas:lm6000 2026-Q1 online_date")].new == "2029-07-01"
    assert changes[("orders", "memphis solar:utility_pv 2026-Q1")].old is None  # a new order
    assert changes[("rentals", "memphis rental_gas:mobile_turbine 2026-Q2")].new is None  # no longer rented
    assert changes[("totals", "build-out npv_cost_usd")].new == 1.1e10
    # an order placed in another quarter is one change, said as the move (it was a removal and an addition)
    later = _plan(timeline={"orders": [{**order, "order_period": "2026-Q3"}, {**order, "asset": "gpus:h100_sxm",
                                                                              "quantity": 2000.0, "unit": "GPUs"}],
                            "bridges": [bridge], "totals": {"npv_cost_usd": 1.0e10}})
    earlier = _plan(timeline={"orders": [order, {**order, "asset": "gpus:h100_sxm", "quantity": 1000.0,
                                                 "unit": "GPUs", "order_period": "2025-Q4"}],
                              "bridges": [bridge], "totals": {"npv_cost_usd": 1.0e10}})
    from dcplan.plans.diff import decision_changes
    assert decision_changes(earlier, later) == [
        "orders memphis gas:lm6000 (4 units) ordered: 2026-Q1 → 2026-Q3",
        "orders memphis gpus:h100_sxm ordered: 1,000 GPUs in 2025-Q4 → 2,000 GPUs in 2026-Q1"]


def test_git_revisions_are_read_with_git_show(monkeypatch, two_plans):
    """REV:PATH: a plan file, a plan folder and a folder of plans at a revision."""
    files = {"plans/testsite/plan.yaml": (two_plans[0] / "plan.yaml").read_text(),
             "plans/memphis/plan.yaml": (REPO / "plans" / "memphis" / "plan.yaml").read_text()}
    calls = []

    def fake_run(args, **kwargs):
        calls.append(args)
        assert args[:2] == ["git", "show"]
        rev, _, path = args[2].partition(":")
        if path in files:
            return subprocess.CompletedProcess(args, 0, files[path], "")
        if path == "plans":
            return subprocess.CompletedProcess(args, 0, f"tree {rev}:plans\n\nmemphis/\ntestsite/\n", "")
        return subprocess.CompletedProcess(args, 128, "", f"fatal: path '{path}' does not exist in '{rev}'\n")

    monkeypatch.setattr(diff_module.subprocess, "run", fake_run)
    one = diff("main:plans/testsite", str(two_plans[1]))
    assert [c.new for c in one.changed["testsite"] if c.item == "testsite h100_sxm"] == [2000]
    every = diff("main:plans", "main:plans/memphis/plan.yaml")
    assert set(every.old.plans) == {"testsite", "memphis"} and every.removed == ["testsite"]
    assert all(call[0:2] == ["git", "show"] for call in calls)


def test_real_git_errors_are_clear(monkeypatch):
    monkeypatch.chdir(REPO)
    with pytest.raises(InputError, match="no such file at HEAD"):
        diff("HEAD:no/such/plan.yaml", "plans/memphis")
    with pytest.raises(InputError, match="not a plan.yaml written by `dcplan plan`"):
        diff("HEAD:examples/quickstart/program.yaml", "plans/memphis")
    with pytest.raises(InputError, match="no-such-revision"):
        diff("no-such-revision:plans", "plans/memphis")


def test_a_revision_that_git_would_read_as_an_option_is_refused(monkeypatch, tmp_path):
    """`--output=FILE:plans/x/plan.yaml` made `git show` write a file."""
    monkeypatch.chdir(REPO)
    written = tmp_path / "evil"
    with pytest.raises(InputError, match="a revision does not start with '-'"):
        diff(f"--output={written}:plans/johor/plan.yaml", "plans/memphis")
    assert not written.exists()


def test_cli_diff_markdown_and_bad_input(runner, two_plans, tmp_path):
    result = run_cli(runner, "diff", two_plans[0], two_plans[1], "--format", "markdown")
    assert result.exit_code == 0 and "| GPUs | testsite h100_sxm |" in result.output
    out = tmp_path / "diff.md"
    assert run_cli(runner, "diff", two_plans[0], two_plans[1], "--format", "markdown", "-o", out).exit_code == 0
    assert out.read_text() == result.output
    bad = run_cli(runner, "diff", tmp_path / "missing", two_plans[1])
    assert bad.exit_code == 2 and "no such file or folder" in bad.output and "Traceback" not in bad.output
    assert run_cli(runner, "diff", two_plans[0], two_plans[1], "--format", "html").exit_code == 2


def test_a_bridge_rented_larger_at_the_same_peak_shows_by_its_cost():
    bridge = {"site": "s", "asset": "gas:smt130_rented", "start_period": "2027-Q1", "quantity": 23, "unit": "units",
              "end_date": "2027-12-31", "cost_usd": 60_885_000.0}
    old = {"sites": {}, "timeline": {"bridges": [bridge]}}
    new = {"sites": {}, "timeline": {"bridges": [{**bridge, "cost_usd": 71_280_000.0}]}}
    [change] = [c for c in diff_plan(old, new) if c.section == "rentals"]
    assert change.item.endswith("cost_usd") and (change.old, change.new) == (60_885_000.0, 71_280_000.0)


def test_a_build_outs_time_to_power_and_npv_lead_its_headline():
    """What a build-out answers (when, at what net present cost) heads the diff; its yearly cost
    is the last period's (a planner read +0.7 % where the NPV rose 146 % and the date moved)."""
    from dcplan.plans.diff import _headline

    def doc(period, npv):
        return {"earliest": {"period": period}, "totals": {"total_cost_usd_per_year": 2.0e9},
                "timeline": {"periods": [], "orders": [], "bridges": [], "totals": {"npv_cost_usd": npv}}}

    changes = diff_plan(doc("2028-Q1", 2.128e9), doc("2026-Q3", 5.229e9))
    assert _headline(changes) == "time to power 2028-Q1 → 2026-Q3, NPV +$3.10 B (+145.7%)"


def test_the_scenario_the_odds_and_the_studies_curves_are_compared():
    """Two plans differing only in these were 'no changes' (--exit-code 0)."""
    base = {"program": "p", "scenario": None, "sites": {}, "totals": {}}
    odds = {"p50": "2027-Q2", "p90": "2027-Q4", "distribution": [{"period": "2027-Q2"}]}
    new = {**base, "scenario": "late", "earliest": {"period": "2027-Q1", "odds": odds,
                                                    "curve": [{"period": "2027-Q1", "npv_cost_usd": 3.0e9}]},
           "pareto": {"points": [{"co2_t": 5000.0, "cost_usd": 1.0e9}]}}
    old = {**base, "earliest": {"period": "2027-Q1", "odds": {"undecided": True, "p50": None, "p90": None,
                                                              "distribution": []}}}
    found = {(c.section, c.item): (c.old, c.new) for c in diff_module.diff_plan(old, new)}
    assert found == {("totals", "scenario"): (None, "late"),
                     ("totals", "time to power P50"): ("undecided", "2027-Q2"),
                     ("totals", "time to power P90"): ("undecided", "2027-Q4"),
                     ("studies", "time-to-power curve"): (None, "2027-Q1 $3.00 B"),
                     ("studies", "cost against CO2"): (None, "5,000 t: $1.00 B")}


def test_a_colon_alone_is_a_revision_written_wrongly_not_gits_usage_text(runner, tmp_path):
    result = run_cli(runner, "diff", ":", tmp_path)
    assert result.exit_code == 2 and "a git revision is written REV:PATH" in result.output and "<command>" not in result.output
