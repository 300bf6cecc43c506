"""Reading a plan's files back (the one reader every command uses); writing them is
:mod:`dcplan.output`'s."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from dcplan.errors import InputError, Problem, display_path

TEXT_COLUMNS = ("period", "timestamp")
"""Columns of dispatch.csv that are text: a build-out's period names, the ISO hour of each step."""


def read_dispatch(path: Path) -> dict[str, dict[str, np.ndarray]]:
    """dispatch.csv back into arrays per site (``TEXT_COLUMNS`` stay text); a
    missing column, a short row or a bad value is an InputError at its line."""
    name = display_path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:  # a byte-order mark is no header
            rows = list(csv.reader(fh))
    except FileNotFoundError:
        raise InputError([Problem(name, None, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError([Problem(name, None, "", f"cannot read file: {exc}")]) from None
    header = rows[0] if rows else []
    for required in ("site", "hour_of_year", "weight", "load_mw"):
        if required not in header:
            raise InputError([Problem(name, 1, required, "missing column")])
    sites: dict[str, dict[str, list]] = {}
    counts: dict[str, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise InputError([Problem(name, line, "", f"expected {len(header)} fields, found {len(row)}")])
        site = row[header.index("site")]
        columns = sites.setdefault(site, {})
        counts[site] = counts.get(site, 0) + 1
        for key, value in zip(header, row):
            if key == "site" or value == "":
                continue
            if key in TEXT_COLUMNS:
                columns.setdefault(key, []).append(value)
                continue
            try:
                columns.setdefault(key, []).append(float(value))
            except ValueError:
                raise InputError([Problem(name, line, key, f"not a number: '{value}'")]) from None
    for site, columns in sites.items():
        for key, values in columns.items():
            if len(values) != counts[site]:
                raise InputError([Problem(name, None, key, f"empty in some rows of site {site}")])
    return {s: {k: np.array(v) for k, v in cols.items()} for s, cols in sites.items()}
