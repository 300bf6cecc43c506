"""Optional dependencies: sweeps need pyarrow and duckdb (``dcplan[sweep]``), the PNG charts
need matplotlib (``dcplan[plots]``), a Dask cluster needs distributed (``dcplan[cluster]``).
A plan, a check, a report and a smoothing schedule need none of them; their DataFrames need
pandas (``dcplan[pandas]``)."""

from __future__ import annotations

import importlib.util

from dcplan.errors import InputError, Problem

EXTRAS = {"pyarrow": "sweep", "duckdb": "sweep", "matplotlib": "plots", "distributed": "cluster"}


def available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def pandas():
    """pandas, for the DataFrames of a plan or a smoothing schedule; an ImportError that names the
    extra where it is missing (the rest of dcplan does without it)."""
    try:
        import pandas
    except ImportError as err:
        raise ImportError("DataFrames need pandas: pip install 'dcplan[pandas]'") from err
    return pandas


def require(what: str, *modules: str) -> None:
    """An input error naming what to install when ``what`` (a command, say) needs a missing module."""
    missing = [m for m in modules if not available(m)]
    if missing:
        extras = ",".join(dict.fromkeys(EXTRAS[m] for m in missing))
        raise InputError([Problem("command line", None, "", f"{what} needs {', '.join(missing)}: "
                                  f"pip install 'dcplan[{extras}]'")])
