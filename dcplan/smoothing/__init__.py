"""Training power-swing smoothing: what the grid sees of a synchronous training job, and the
cheapest mix of mitigations (GPU power floor and ramp limits, burn work, rack capacitors, a site
battery) that keeps it within the site's ramp, swing and band limits.

The library entry point is :func:`dcplan.smoothing.api.smooth`; ``dcplan smooth`` is a thin
shell over it. The inputs (a site's ``smoothing:`` section, a workload file) are schemas in
:mod:`dcplan.schema.smoothing` and :mod:`dcplan.schema.workload`.
"""
