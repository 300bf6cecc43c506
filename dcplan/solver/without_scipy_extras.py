"""Keep Pyomo from importing SciPy's statistics along with SciPy (imported first by
:mod:`dcplan.solver`, before anything imports SciPy).

Pyomo registers a callback that, the first time anything imports SciPy, also imports
``scipy.stats``, ``scipy.integrate`` and ``scipy.spatial`` (``_finalize_scipy`` in
``pyomo.common.dependencies``): half a second of every planning or checking command's start, for
modules dcplan never uses (it needs ``scipy.sparse``; SciPy imports its other subpackages on
first access, for whoever uses them). The callback is Pyomo's private machinery: where it is not
as expected, or SciPy is already imported, nothing is changed. It is dropped for the whole
process: a program that imports dcplan and then Pyomo's SciPy-based tools gets them on access.
"""

from __future__ import annotations

import sys

from pyomo.common import dependencies


def drop_pyomo_scipy_callback() -> None:
    if "scipy" in sys.modules:
        return
    indicator = getattr(dependencies, "scipy_available", None)
    finalize = getattr(dependencies, "_finalize_scipy", None)
    if finalize is not None and getattr(indicator, "_callback", None) is finalize:
        indicator._callback = None


drop_pyomo_scipy_callback()
