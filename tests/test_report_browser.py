"""The HTML report in a real headless browser (Debian's Chromium, driven by Playwright): it
loads with no console error and no request beyond its own file, every chart has a size and
marks in it and keeps its labels inside it, and a screenshot of the page is far from blank.

Skipped when Chromium or Playwright is missing, unless DCPLAN_REQUIRE_BROWSER=1 (as in CI)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread
from test_report import plan_quickstart, write_buildout

from dcplan.report import write_report

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _browser_missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory):
    missing = _browser_missing()
    if missing:
        if os.environ.get("DCPLAN_REQUIRE_BROWSER") == "1":
            pytest.fail(f"DCPLAN_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(str(profile), executable_path=str(CHROMIUM), args=ARGS,
                                                       headless=True, viewport={"width": 1200, "height": 900})
        yield context.new_page()
        context.close()


@pytest.fixture(params=["quickstart", "buildout"])
def report(request, tmp_path) -> Path:
    """The report of the planned quickstart, and of the hand-made build-out with smoothing."""
    if request.param == "quickstart":
        return plan_quickstart(tmp_path) / "report.html"
    return write_report(write_buildout(tmp_path / "buildout"))


def test_report_renders_in_chromium(browser_page, report, tmp_path):
    page = browser_page
    errors, requests = [], []
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report.as_uri(), wait_until="load")
    assert errors == []
    assert requests == [report.as_uri()]  # self-contained: nothing else was fetched
    charts = page.eval_on_selector_all("svg.chart", """svgs => svgs.map(s => {
        const box = s.getBoundingClientRect();
        const marks = [...s.querySelectorAll('rect, polygon, polyline')].filter(m => {
            const b = m.getBoundingClientRect(); return b.width > 0 && b.height > 0; });
        return [s.getAttribute('aria-label'), box.width, box.height, marks.length];
    })""")
    assert len(charts) >= 4
    for label, width, height, marks in charts:
        assert width > 500 and height > 40 and marks > 0, (label, width, height, marks)
    outside = page.eval_on_selector_all("svg.chart", """svgs => svgs.flatMap(s => {
        const box = s.getBoundingClientRect();
        return [...s.querySelectorAll('text')].filter(t => {
            const b = t.getBoundingClientRect();
            return b.width > 0 && (b.left < box.left - 1 || b.right > box.right + 1
                                   || b.top < box.top - 1 || b.bottom > box.bottom + 1);
        }).map(t => [s.getAttribute('aria-label'), t.textContent]);
    })""")
    assert outside == []  # no label runs off the edge of its chart
    page.click("details summary")  # an embedded input opens
    assert page.is_visible("details[open] pre")
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    pixels = imread(shot)[..., :3]
    colours = np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    inked = np.mean(np.any(pixels < 0.9, axis=-1))
    assert len(colours) > 200 and inked > 0.05, (len(colours), inked)
