"""The dependency floors in pyproject.toml are true: dcplan[test] installed with the lowest
versions (tests/minimum-versions.txt) passes the suite. Slow (a fresh virtual environment and a
full install from the package index): `pytest -m slow tests/test_minimum_versions.py`.

PyPSA (the ``compare`` extra) is left out there: its 1.x needs a newer numpy than dcplan's floor,
and the tests that use it skip without it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib

import pytest
from conftest import REPO

CONSTRAINTS = REPO / "tests" / "minimum-versions.txt"


def _pins() -> dict[str, str]:
    lines = (line.split("#")[0].strip() for line in CONSTRAINTS.read_text().splitlines())
    return dict(line.split("==") for line in lines if "==" in line)


def test_the_floors_in_pyproject_are_the_pinned_minimums():
    text = (REPO / "pyproject.toml").read_text()
    block = text[text.index("dependencies = ["):text.index("]", text.index("dependencies = ["))]
    floors = dict(re.findall(r'"([a-z0-9_-]+)>=([0-9.]+)"', block))
    def release(version: str) -> tuple[int, ...]:  # 12.0.0 and 12 are the same release
        parts = [int(x) for x in version.split(".")]
        while parts and parts[-1] == 0:
            parts.pop()
        return tuple(parts)

    assert {n: release(v) for n, v in _pins().items()} == {n: release(v) for n, v in floors.items()}


def _test_extra_but_pypsa(source) -> list[str]:
    """The requirements of dcplan[test] installed from ``source``, the compare extra left out."""
    extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]
    own = [r for r in extra if r.startswith("dcplan[")]
    assert own == ["dcplan[all,compare]"], own
    return [f"{source}[all]", *(r for r in extra if r not in own)]


def test_the_minimum_versions_install_the_test_extra_but_pypsa():
    requirements = _test_extra_but_pypsa(REPO)
    assert requirements[0] == f"{REPO}[all]" and "pytest>=8" in requirements
    assert not any("compare" in r or "pypsa" in r for r in requirements)


@pytest.mark.slow
def test_the_suite_passes_with_the_minimum_versions(tmp_path):
    source = tmp_path / "dcplan"  # a copy: building the package writes build/ beside its sources
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".venv", "build", "out", "*.egg-info", "__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", "-c", str(CONSTRAINTS), *_test_extra_but_pypsa(source)],
                   check=True, timeout=1200)
    installed = subprocess.run([python, "-m", "pip", "freeze"], capture_output=True, text=True, check=True).stdout
    for name, version in _pins().items():
        assert re.search(rf"(?im)^{re.escape(name)}=={re.escape(version)}$", installed), name
    run = subprocess.run([python, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "tests"],
                         cwd=source, capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
