"""The held-out draws of ``benchmarks/perturb.py`` are valid inputs and the same for the same
seed: a draw that moved a number out of its domain would test the validator, not the planner,
and a flag it raises must be reproducible from its seed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import dcplan

PERTURB = Path(__file__).resolve().parents[1] / "benchmarks" / "perturb.py"


def _draw(out: Path, seed: int) -> dict[str, list]:
    subprocess.run([sys.executable, str(PERTURB), "--seed", str(seed), "--draws", "1", "--dry", "--out", str(out)],
                   check=True, capture_output=True, text=True)
    return {d.name: json.loads((d / "d0" / "perturbations.json").read_text()) for d in sorted(out.iterdir())}


def test_every_draw_is_a_valid_input_and_its_seed_repeats_it(tmp_path, monkeypatch):
    moves = _draw(tmp_path / "a", seed=11)
    assert len(moves) >= 13 and all(moves.values())  # every example program and sample site, each moved
    for name, moved in moves.items():
        monkeypatch.chdir(tmp_path / "a" / name / "d0")  # as perturb.py plans it: its files are below
        assert dcplan.validate(*sorted({m["file"] for m in moved})) == [], name
        assert all(m["new"] != m["old"] for m in moved)
    assert _draw(tmp_path / "b", seed=11) == moves
