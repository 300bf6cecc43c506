"""The report's "Time to power" section (plan.yaml's earliest:, dcplan.studies.earliest): the goal and
the earliest period found, why one period sooner has no plan, the periods tried, and the
time-to-power curve as a chart and a table whose figures are plan.yaml's; escaped, its long
change lists folded, absent from a plan that did not ask, and a damaged earliest: an input error."""

from __future__ import annotations

import re
import shutil
from html import escape
from pathlib import Path

import pytest
import yaml
from conftest import run_cli
from test_buildout import islanded_site
from test_earliest import earliest_program
from test_report import HOSTILE, _section_ids, write_buildout
from test_report_browser import browser_page  # noqa: F401 (a fixture)
from typer.testing import CliRunner

from dcplan.formatting import money
from dcplan.report import load_folder, render, write_report
from dcplan.report.data import goal_text, key_figures


def _earliest_section(html: str) -> str:
    return re.search(r'<section id="earliest">.*?</section>', html, re.S).group(0)


@pytest.fixture(scope="module")
def planned(tmp_path_factory) -> Path:
    """An islanded site whose owned turbines take 6 months and rented ones 1: 10,000 GPUs from
    2026-Q2 at the earliest, and the curve of the three quarters after it; planned with --report."""
    tmp = tmp_path_factory.mktemp("earliest")
    (tmp / ".git").mkdir()
    program = earliest_program(tmp, islanded_site(rental=True, owned_lead_months=6),
                               earliest={"gpus": 10000, "curve_periods": 3})
    result = run_cli(CliRunner(), "plan", program, "-o", tmp / "out", "--report", "-q")
    assert result.exit_code == 0, result.output
    return tmp / "out"


def test_report_shows_the_earliest_period_why_not_sooner_and_the_curve(planned):
    html = (planned / "report.html").read_text()
    earliest = yaml.safe_load((planned / "plan.yaml").read_text())["earliest"]
    assert _section_ids(html)[:3] == ["figures", "earliest", "timeline"]
    assert '<a href="#earliest">Time to power</a>' in html
    section = _earliest_section(html)
    assert (f"<b>10,000 GPUs</b> can be online from <b>{earliest['period']} ({earliest['date']})</b> at the earliest"
            in section)
    assert earliest["period"] == "2026-Q2"  # the rented turbines arrive after a month: the second quarter
    for line in earliest["why_not_sooner"]:
        assert f"<li>{escape(line)}</li>" in section
    for t in earliest["tried"]:
        assert f"{t['period']}: {'a plan' if t['plan'] else 'no plan'}</span>" in section
    curve = earliest["curve"]
    assert [p["period"] for p in curve] == ["2026-Q2", "2026-Q3", "2026-Q4", "2027-Q1"]
    for i, point in enumerate(curve):  # each point's row: its period, cost and saving as plan.yaml has them
        share = f" ({point['saving_usd'] / curve[0]['npv_cost_usd']:.1%})" if i else ""
        row = (f"<tr><td>{point['period']}</td><td class=n>{money(point['npv_cost_usd'])}</td>"
               f"<td class=n>{money(point['saving_usd'])}{share}</td>")
        assert row in section, row
        for change in point["changes"][:6]:
            assert f"<li>{escape(change)}</li>" in section
    chart = re.search(r'aria-label="least NPV cost of each date the goal is online from".*?</svg>', section, re.S)
    assert chart and chart.group(0).count("<circle") == len(curve)
    assert all(f">{p['period']}</text>" in chart.group(0) for p in curve)  # the periods on the x axis, in order
    figures = {name: (value, detail) for name, value, detail in key_figures(load_folder(planned))}
    assert figures["time to power"] == ("2026-Q2", "10,000 GPUs online from 2026-04-01")


def test_a_plan_without_earliest_has_no_time_to_power(tmp_path):
    html = render(load_folder(write_buildout(tmp_path / "buildout")))
    assert "earliest" not in _section_ids(html) and "Time to power" not in html
    assert "time to power" not in html


def _with_earliest(tmp_path: Path, earliest: dict) -> Path:
    folder = write_buildout(tmp_path / "buildout")
    plan = yaml.safe_load((folder / "plan.yaml").read_text())
    plan["earliest"] = earliest
    (folder / "plan.yaml").write_text(yaml.safe_dump(plan, sort_keys=False))
    return folder


def test_time_to_power_is_escaped_and_long_change_lists_folded(tmp_path):
    changes = [f"orders memphis gpus:h100_sxm 2026-Q{k}: {HOSTILE}" for k in range(10)]
    folder = _with_earliest(tmp_path, {
        "goal": {"h100_equivalents": 2500.5}, "period": f"2026-Q2 {HOSTILE}", "date": "2026-04-01",
        "why_not_sooner": [f"lead time {HOSTILE}"], "tried": [{"period": HOSTILE, "plan": False}],
        "curve": [{"period": "2026-Q2", "npv_cost_usd": 2.0e9, "saving_usd": 0.0, "changes": []},
                  {"period": HOSTILE, "npv_cost_usd": 1.5e9, "saving_usd": 5.0e8, "changes": changes}]})
    html = write_report(folder).read_text()
    section = _earliest_section(html)
    assert HOSTILE not in html and section.count(escape(HOSTILE)) >= 4 + len(changes)
    assert "<b>2,500.50 H100-equivalents</b>" in section
    shown, folded = re.search(r'<ul class="changes">(.*?)</ul><details><summary>…and 4 more</summary>'
                              r'<ul class="changes">(.*?)</ul></details>', section).groups()
    assert shown.count("<li>") == 6 and folded.count("<li>") == 4 and "2026-Q9" in folded
    assert "<td class=n>$500.0 M (25.0%)</td>" in section and "$ B</text>" in section


def test_no_period_within_the_horizon(tmp_path):
    folder = _with_earliest(tmp_path, {"goal": {"gpus": 10 ** 6}, "period": None, "date": None,
                                       "why_not_sooner": ["no firm supply"], "tried": [{"period": "2027-Q4", "plan": False}]})
    section = _earliest_section(render(load_folder(folder)))
    assert "No plan found with <b>1,000,000 GPUs</b> online" in section and "<li>no firm supply</li>" in section
    assert "<svg" not in section  # no curve


@pytest.mark.parametrize("earliest, where, message", [
    ({"goal": 3, "why_not_sooner": [], "tried": []}, "earliest.goal", "valid dictionary"),
    ({"goal": {"gpus": "many"}, "why_not_sooner": [], "tried": []}, "earliest.goal.gpus", "valid number"),
    ({"goal": {"gpus": 1}, "why_not_sooner": [], "tried": [{"period": "2026-Q1"}]}, "earliest.tried[0].plan",
     "required key is missing"),
    ({"goal": {"gpus": 1}, "why_not_sooner": [], "tried": [],
      "curve": [{"period": "2026-Q1", "npv_cost_usd": "lots", "saving_usd": 0, "changes": []}]},
     "earliest.curve[0].npv_cost_usd", "valid number"),
])
def test_a_damaged_earliest_is_an_input_error(tmp_path, runner, earliest, where, message):
    folder = _with_earliest(tmp_path, earliest)
    result = run_cli(runner, "report", folder)
    assert result.exit_code == 2 and where in result.output and message in result.output, result.output


def test_goal_text():
    assert goal_text({"gpus": 10000}) == "10,000 GPUs" and goal_text({"bf16_pflops": 12.5}) == "12.50 BF16 PFLOPS"


def test_time_to_power_in_chromium(browser_page, tmp_path):  # noqa: F811
    """The section's chart has its dots and keeps its labels inside it; the folded changes open."""
    folder = _with_earliest(tmp_path, {
        "goal": {"gpus": 80000}, "period": "2026-Q2", "date": "2026-04-01", "why_not_sooner": ["lead times"],
        "tried": [{"period": "2027-Q4", "plan": True}, {"period": "2026-Q1", "plan": False}],
        "curve": [{"period": f"202{6 + k // 4}-Q{k % 4 + 1}", "npv_cost_usd": 2.0e9 - 1e8 * k ** 0.5,
                   "saving_usd": 1e8 * k ** 0.5, "changes": [f"orders memphis item {j}: added" for j in range(k)]}
                  for k in range(1, 12)]})
    shutil.rmtree(folder / "inputs")  # no other <details> on the page
    page = browser_page
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(write_report(folder).as_uri(), wait_until="load")
    assert errors == []
    chart = 'svg[aria-label="least NPV cost of each date the goal is online from"]'
    assert page.eval_on_selector_all(f"{chart} circle", "cs => cs.filter(c => c.getBoundingClientRect().width > 0)"
                                     ".length") == 11
    outside = page.eval_on_selector(chart, """s => { const box = s.getBoundingClientRect();
        return [...s.querySelectorAll('text')].filter(t => { const b = t.getBoundingClientRect();
            return b.left < box.left - 1 || b.right > box.right + 1; }).map(t => t.textContent); }""")
    assert outside == []
    labels = page.eval_on_selector_all(f"{chart} text.tick", """ts => ts.filter(t => /Q/.test(t.textContent))
        .map(t => t.getBoundingClientRect()).map(b => [b.left, b.right])""")
    assert all(a[1] < b[0] for a, b in zip(labels, labels[1:]))  # the periods' labels do not overlap
    page.click("#earliest details summary")
    assert page.is_visible("#earliest details[open] li")
