"""The words the command line accepts for its choice options, and the defaults it shows.

Kept free of imports so that `dcplan --help` and `dcplan --version` start without loading the
solver stack; the modules that act on these values import them from here.
"""

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
