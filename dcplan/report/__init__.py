"""Reports of a plan's output folder: one self-contained HTML file (`dcplan report`) and the
key figures with a chart of a week's dispatch in the terminal (`dcplan show`)."""

from __future__ import annotations

import os
from pathlib import Path

from dcplan.output import atomic_write
from dcplan.report.data import PlanFolder, load_folder
from dcplan.report.html import render


def write_report(outdir: Path, path: Path | str | None = None) -> Path:
    """Render the output folder ``outdir`` to ``path`` (default, or when ``path`` is a folder or
    ends with a separator: report.html in it), its links to the data files relative to ``path``."""
    outdir = Path(outdir)
    folder = path is None or str(path).endswith(("/", os.sep)) or Path(path).is_dir()
    path = Path(path) if path is not None else outdir
    path = path / "report.html" if folder else path
    atomic_write(path, render(load_folder(outdir), _relative(outdir, path.parent)))
    return path


def _relative(folder: Path, start: Path) -> str | None:
    """``folder`` as seen from ``start``: '' for the same folder, else a path ending in '/';
    None when no relative path joins them (another drive)."""
    try:
        rel = Path(os.path.relpath(folder.resolve(), start.resolve())).as_posix()
    except ValueError:
        return None
    return "" if rel == "." else rel + "/"


__all__ = ["PlanFolder", "load_folder", "render", "write_report"]
