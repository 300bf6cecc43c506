"""The comparison of two plans' output folders (`write_comparison`): its numbers are those of
the two plan.yaml files, worked out here; every change `dcplan diff` finds is in it; a folder
compared with itself has none; plans of different kinds still compare, saying what is left
out; the page needs nothing from the network and renders in a real browser."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from matplotlib.image import imread
from test_report import EXTERNAL, _part, _section_ids, _tables, plan_quickstart, write_buildout
from test_report_browser import ARGS, CHROMIUM, _browser_missing

from dcplan.errors import InputError
from dcplan.formatting import fixed, money
from dcplan.plans.diff import diff_plan
from dcplan.report import load_folder, render_comparison, write_comparison

GAS = "gas_wartsila_18v50sg"


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory) -> tuple[Path, Path]:
    """The quickstart (A) and its gas_at_8 scenario (B), planned."""
    return (plan_quickstart(tmp_path_factory.mktemp("qa")),
            plan_quickstart(tmp_path_factory.mktemp("qb"), "--scenario", "gas_at_8"))


@pytest.fixture(scope="module")
def compared(scenarios) -> str:
    return write_comparison(*scenarios).read_text()


def _plan(folder: Path) -> dict:
    return yaml.safe_load((folder / "plan.yaml").read_text())


def _signed(d: float, form) -> str:
    return ("+" if d > 0 else "−") + form(abs(d))


def _rows(table: list[list[str]]) -> dict[str, list[str]]:
    return {row[0]: row[1:] for row in table[1:]}


def test_comparison_is_written_beside_b(scenarios, tmp_path):
    a, b = scenarios
    assert write_comparison(a, b) == b / "compare.html"
    html = (b / "compare.html").read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert _section_ids(html) == ["figures", "changes", "capacity", "costs", "emissions", "load"]
    assert "quickstart, scenario gas_at_8" in html  # B, by its program and scenario
    links = re.findall(r'href="([^"#]*)"', html)  # each folder's files, relative to the page
    assert f"{Path(os.path.relpath(a, b)).as_posix()}/plan.yaml" in links
    assert "plan.yaml" in links and "report.html" in links  # B's own, beside the page
    assert all(not Path(link).is_absolute() for link in links)
    assert write_comparison(a, b, tmp_path / "x.html") == tmp_path / "x.html"
    assert write_comparison(a, b, f"{tmp_path}/new/") == tmp_path / "new" / "compare.html"
    assert write_comparison(a, b, tmp_path) == tmp_path / "compare.html"


def test_key_figures_and_their_difference(scenarios, compared):
    """The cost per year, CO2 and power cost of A and B, and B − A with its share of A, from plan.yaml."""
    ta, tb = (_plan(f)["totals"] for f in scenarios)
    rows = _rows(_tables(_part(compared, "figures"))[0])
    cost_a, cost_b = ta["total_cost_usd_per_year"], tb["total_cost_usd_per_year"]
    d = cost_b - cost_a
    assert rows["cost per year"] == [money(cost_a), money(cost_b), _signed(d, money), f"+{d / cost_a:.1%}"]
    co2 = tb["co2_t_per_year"] - ta["co2_t_per_year"]
    assert rows["CO2"][2:] == [_signed(co2, lambda x: f"{x:,.0f} t/yr"), f"−{-co2 / ta['co2_t_per_year']:.1%}"]
    power = tb["power_cost_usd_per_mwh"] - ta["power_cost_usd_per_mwh"]
    assert rows["power cost"][2] == f"+${power:,.2f}/MWh"
    assert rows["GPUs"] == [f"{ta['gpus']:,}", f"{tb['gpus']:,}", "same", ""]


def test_every_change_of_the_diff_is_listed(scenarios, compared):
    a, b = (_plan(f) for f in scenarios)
    changes = diff_plan(a, b)
    table = _tables(_part(compared, "changes"))[0]
    assert table[0] == ["what", "item", "A", "B", "B − A"]
    assert [row[:2] for row in table[1:]] == [[c.section, c.item] for c in changes]
    assert f"{len(changes)} changes in" in compared
    gas = next(row for row in table if row[1] == f"memphis {GAS}_mw")  # a capacity that changed
    mw_a, mw_b = a["sites"]["memphis"]["capacity"][f"{GAS}_mw"], b["sites"]["memphis"]["capacity"][f"{GAS}_mw"]
    assert mw_a != mw_b and gas[2:4] == [f"{mw_a:,.4g} MW", f"{mw_b:,.4g} MW"]
    assert gas[4].startswith(_signed(mw_b - mw_a, lambda x: f"{x:,.0f} MW"))
    assert "grid import at its 150 MW limit" in _part(compared, "changes")  # a binding limit, added


def test_capacity_energy_and_costs_side_by_side(scenarios, compared):
    a, b = (_plan(f) for f in scenarios)
    sa, sb = a["sites"]["memphis"], b["sites"]["memphis"]
    capacity = _part(compared, "capacity")
    rows = _rows(_tables(capacity)[0])
    mw = sa["capacity"][f"{GAS}_mw"], sb["capacity"][f"{GAS}_mw"]
    gwh = sa["energy_mwh_per_year"][GAS] / 1e3, sb["energy_mwh_per_year"][GAS] / 1e3
    assert rows["gas wartsila 18v50sg"] == [fixed(mw[0], 1), fixed(mw[1], 1), _signed(mw[1] - mw[0], lambda x: fixed(x, 1)),
                                            fixed(gwh[0], 1), fixed(gwh[1], 1),
                                            _signed(gwh[1] - gwh[0], lambda x: fixed(x, 1))]
    grid = sb["capacity"]["grid_peak_import_mw"]
    assert rows["grid (peak import)"][1] == fixed(grid, 1)
    # paired bars, one colour per technology: the colour of the plan's own report
    report = (scenarios[0] / "report.html").read_text()
    own = set(re.findall(r'fill="(#[0-9a-f]{6})"><title>[^<]*: gas wartsila 18v50sg ', report))
    paired = re.findall(r'fill="(#[0-9a-f]{6})"><title>gas wartsila 18v50sg · ([AB]): plan \2 ([^<]*)</title>',
                        capacity)
    assert len(own) == 1 and {f for f, *_ in paired} == own and len(paired) == 4  # capacity and energy, A and B
    assert [v for *_, v in paired[:2]] == [f"{mw[0]:,.0f} MW", f"{mw[1]:,.0f} MW"]
    costs = _rows(_tables(_part(compared, "costs"))[0])
    ca, cb = a["cost_breakdown_usd_per_year"], b["cost_breakdown_usd_per_year"]
    assert costs["grid demand"][:3] == [money(ca["grid_demand"]), money(cb["grid_demand"]),
                                        _signed(cb["grid_demand"] - ca["grid_demand"], money)]
    d = b["totals"]["total_cost_usd_per_year"] - a["totals"]["total_cost_usd_per_year"]
    assert costs["total"][2] == _signed(d, money)
    assert re.search(rf'class="value"[^>]*>{re.escape(_signed(d, money))}</text>', _part(compared, "costs"))  # net
    emissions = _rows(_tables(_part(compared, "emissions"))[0])
    nox = a["totals"]["nox_t_per_year"], b["totals"]["nox_t_per_year"]
    assert emissions["NOx t/yr"][:3] == [fixed(nox[0], 1), fixed(nox[1], 1), _signed(nox[1] - nox[0], lambda x: fixed(x, 1))]


def test_load_duration_curves_on_one_chart(scenarios, compared):
    load = _part(compared, "load")
    chart = re.search(r'aria-label="load duration curves, A and B".*?</svg>', load).group(0)
    assert chart.count("<polyline") == 2 and "plan A" in chart and "plan B" in chart
    energy = _plan(scenarios[0])["totals"]["facility_energy_mwh_per_year"]
    rows = _rows(_tables(load)[0])
    assert float(rows["MWh a year"][0].replace(",", "")) == pytest.approx(energy, abs=1)
    assert "the same load" in load  # a gas price scenario does not change the load


def test_a_folder_compared_with_itself_has_no_changes(scenarios):
    a = load_folder(scenarios[0])
    html = render_comparison(a, a)
    assert "No changes" in _part(html, "changes") and "<table>" not in _part(html, "changes")
    figures = _tables(_part(html, "figures"))[0]
    assert all(row[3] in ("same", "") for row in figures[1:])
    assert "No cost line changed" in html


def test_self_contained(compared, tmp_path):
    buildout = write_buildout(tmp_path / "buildout")
    for html in (compared, render_comparison(load_folder(buildout), load_folder(buildout))):
        assert not EXTERNAL.search(html), EXTERNAL.search(html)
        assert "<script" not in html.lower() and "url(" not in html and "@import" not in html
        assert "<link" not in html.lower() and "<img" not in html.lower()


def test_plans_of_different_kinds(scenarios, tmp_path):
    """A build-out against a single-period plan: key figures and decisions, and what is left out."""
    buildout = write_buildout(tmp_path / "buildout")
    html = write_comparison(buildout, scenarios[0], tmp_path / "c.html").read_text()
    assert _section_ids(html) == ["figures", "changes", "capacity", "costs", "emissions"]
    assert "A is a build-out and B a single-period plan" in html
    assert "Left out: the load duration curves (they need two single-period plans)" in html
    rows = _rows(_tables(_part(html, "figures"))[0])
    assert rows["NPV cost"] == ["$12.00 B", "-", "", ""] and rows["build-out"][1] == "-"
    assert rows["GPUs"][2:] == ["+20,000", "+25.0%"]
    changes = _tables(_part(html, "changes"))[0]
    assert ["orders", "memphis gas:lm6000 2026-Q1"] in [row[:2] for row in changes]  # gone in B
    assert "<b>bold</b>" not in html and "<script>" not in html  # text from the files is escaped
    assert "buildout &lt;b&gt;bold&lt;/b&gt;" in html


def test_missing_folder_is_an_input_error(scenarios, tmp_path):
    with pytest.raises(InputError, match="no such folder"):
        write_comparison(scenarios[0], tmp_path / "nope", tmp_path / "c.html")
    assert not (tmp_path / "c.html").exists()


def test_comparison_renders_in_chromium(scenarios, tmp_path):
    missing = _browser_missing()
    if missing:
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    page_file = write_comparison(*scenarios, tmp_path / "compare.html")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(str(tmp_path / "profile"), executable_path=str(CHROMIUM),
                                                       args=ARGS, headless=True,
                                                       viewport={"width": 1200, "height": 900})
        page = context.new_page()
        errors, requests = [], []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_file.as_uri(), wait_until="load")
        assert errors == [] and requests == [page_file.as_uri()]
        charts = page.eval_on_selector_all("svg.chart", """svgs => svgs.map(s => {
            const box = s.getBoundingClientRect();
            const outside = [...s.querySelectorAll('text')].filter(t => {
                const b = t.getBoundingClientRect();
                return b.width > 0 && (b.left < box.left - 1 || b.right > box.right + 1); }).length;
            return [s.getAttribute('aria-label'), box.width, box.height, outside];
        })""")
        assert len(charts) == 7  # capacity, energy, cost, its change, CO2, NOx, load duration
        for label, width, height, outside in charts:
            assert width > 500 and height > 40 and outside == 0, (label, width, height, outside)
        shot = tmp_path / "compare.png"
        page.screenshot(path=str(shot), full_page=True)
        context.close()
    pixels = imread(shot)[..., :3]
    assert np.mean(np.any(pixels < 0.9, axis=-1)) > 0.03  # drawn, not blank (a longer change list, less ink a pixel)
