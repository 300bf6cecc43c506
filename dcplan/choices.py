"""The words the command line accepts for its choice options, and the defaults it shows.

Kept free of imports so that `dcplan --help` and `dcplan --version` start without loading the
solver stack; the modules that act on these values import them from here.
"""

import numbers

STRATEGIES = ("auto", "decompose", "branch_and_bound", "highs_mip")
"""Solve strategies (:func:`dcplan.solver.solve`)."""
CHECK_FORMATS = ("text", "json", "github", "junit")
"""Report formats of `dcplan check` (:mod:`dcplan.checks.formats`)."""
DIFF_FORMATS = ("text", "markdown", "json")
"""Formats of `dcplan diff`."""
CATALOG_SECTIONS = ("gpus", "generators", "renewables", "storage", "cooling", "grid_equipment")
"""Sections of the equipment catalog (:class:`dcplan.schema.catalog.Catalog`)."""
SCHEMA_KINDS = ("site", "program", "workload", "smoothing", "sweep")
"""Input files with a JSON Schema (`dcplan schema KIND`)."""
CHECK_TIME_LIMIT_S = 300.0
"""Seconds `dcplan check` allows each solve."""

MIP_GAP = (0.0, 1.0, True)
"""(least, below, least allowed): the relative gap to stop at (`plan --mip-gap`, ``mip_gap``)."""
TIME_LIMIT_S = (0.0, None, True)
"""The seconds a command or solve may take (0: none left; None: no limit)."""
TYPICAL_DAYS = (1, 366, True)
"""Typical days a year is clustered into (a whole number)."""
RESOLUTION_S = (0.0, 3600.0, False)
"""A smoothing model's step, seconds (`smooth --resolution-s`, a workload's, a site's): above 0,
below an hour (a training job's swings last seconds to minutes)."""



def within(name: str, value, bounds: tuple, whole: bool = False) -> None:
    """ValueError unless ``value`` is a number (with ``whole``, a whole one) in ``bounds`` (one of
    the tuples above; NaN never is, infinity only where no upper bound is: no time limit): the one check of the ranges the command line and the Python
    API both keep to."""
    least, below, can_equal = bounds
    if isinstance(value, bool) or not isinstance(value, numbers.Integral if whole else numbers.Real):
        raise ValueError(f"{name} must be a {'whole ' if whole else ''}number (got {value!r})")
    if not ((value >= least if can_equal else value > least) and (below is None or value < below)):
        shown = f"{'at least' if can_equal else 'above'} {least:g}" + (f" and below {below:g}" if below is not None else "")
        raise ValueError(f"{name} must be {shown} (got {value:g})")
