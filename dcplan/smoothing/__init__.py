"""Training power-swing smoothing: what the grid sees of a synchronous training job, and the
cheapest mix of mitigations (GPU power floor and ramp limits, burn work, rack capacitors, a site
battery) that keeps it within the site's ramp, swing and band limits.

The library entry point is :func:`dcplan.smoothing.api.smooth`; ``dcplan smooth`` is a thin
shell over it.
"""

from dcplan.smoothing.api import SmoothingResult, smooth, smooth_files
from dcplan.smoothing.limits import Limits, Mitigations, SmoothingSpec, load_smoothing_spec
from dcplan.smoothing.metrics import measure
from dcplan.smoothing.workload import Workload, generate, load_workload, synthetic_workload

__all__ = [
    "Limits",
    "Mitigations",
    "SmoothingResult",
    "SmoothingSpec",
    "Workload",
    "generate",
    "load_smoothing_spec",
    "load_workload",
    "measure",
    "smooth",
    "smooth_files",
    "synthetic_workload",
]
