"""Reports of a plan's output folder: one self-contained HTML file (`dcplan report`), the
comparison of two plans' folders side by side (`write_comparison`), and the key figures with
a chart of a week's dispatch in the terminal (`dcplan show`)."""

from __future__ import annotations

import os
from pathlib import Path

from dcplan.plans.write import atomic_write
from dcplan.report.compare import render_comparison
from dcplan.report.data import PlanFolder, load_folder
from dcplan.report.html import render

COMPARISON_FILE = "compare.html"


def write_report(outdir: Path, path: Path | str | None = None, shown_as: Path | None = None) -> Path:
    """Render the output folder ``outdir`` to ``path`` (default, or when ``path`` is a folder or
    ends with a separator: report.html in it), its links to the data files relative to ``path``.
    ``shown_as``: the folder the report names, where ``outdir`` is a staging folder that will
    become it (`plan --report`), so that the report names where it lives, the same each run."""
    outdir = Path(outdir)
    path = report_path(outdir, path, "report.html")
    atomic_write(path, render(load_folder(outdir), _relative(outdir, path.parent), shown_as))
    return path


def write_comparison(folder_a: Path | str, folder_b: Path | str, path: Path | str | None = None) -> Path:
    """Compare two output folders of `dcplan plan` side by side: ``folder_a`` is the baseline
    (A) and ``folder_b`` the plan compared with it (B); every difference is B − A. Written to
    ``path``; by default, or when ``path`` is a folder or ends with a separator, to compare.html
    in it (by default in ``folder_b``). Its links to each folder's files are relative to it.
    A missing or damaged folder is an InputError, and nothing is written."""
    folder_a, folder_b = Path(folder_a), Path(folder_b)
    a, b = load_folder(folder_a), load_folder(folder_b)
    path = report_path(folder_b, path, COMPARISON_FILE)
    dirs = (_relative(folder_a, path.parent), _relative(folder_b, path.parent))
    atomic_write(path, render_comparison(a, b, dirs))
    return path


def report_path(outdir: Path, path: Path | str | None, name: str) -> Path:
    """The file to write: ``path``, or ``name`` in it when it is a folder or ends with a
    separator, or ``name`` in ``outdir`` when there is no ``path``."""
    folder = path is None or str(path).endswith(("/", os.sep)) or Path(path).is_dir()
    target = Path(path) if path is not None else outdir
    return target / name if folder else target


def _relative(folder: Path, start: Path) -> str | None:
    """``folder`` as seen from ``start``: '' for the same folder, else a path ending in '/';
    None when no relative path joins them (another drive)."""
    try:
        rel = Path(os.path.relpath(folder.resolve(), start.resolve())).as_posix()
    except ValueError:
        return None
    return "" if rel == "." else rel + "/"


__all__ = ["PlanFolder", "load_folder", "render", "render_comparison", "report_path", "write_comparison",
           "write_report"]
