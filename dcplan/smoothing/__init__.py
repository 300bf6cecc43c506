"""Training power-swing smoothing: what the grid sees of a synchronous training job, and the
cheapest mix of mitigations (GPU power floor and ramp limits, burn work, rack capacitors, a site
battery) that keeps it within the site's ramp, swing and band limits.

The library entry point is :func:`dcplan.smoothing.api.smooth`; ``dcplan smooth`` is a thin
shell over it. The inputs (a site's ``smoothing:`` section, a workload file) are schemas in
:mod:`dcplan.schema.smoothing` and :mod:`dcplan.schema.workload`.

The way through, a module each: ``workload`` (the trace) -> ``prepare`` (the model's data) ->
``model`` (the LP/MILP) solved by ``exact`` (the whole trace, or one period of it) or
``two_level`` (coarse level, rolling horizon, and ``bound``'s proof), both on ``run``'s
machinery -> ``result`` (schedule, sizes, costs); ``diagnose`` says why limits cannot be met;
``output``, ``report`` and ``plot`` write and show a result.
"""
