"""Scenario sweeps: one program planned over many input values, in a local process pool or on a
Dask cluster, with a results table, each scenario's plan and a summary (README, "Scenario
sweeps"). Entry points: :func:`dcplan.sweep.runner.run_sweep` and
:func:`dcplan.sweep.summary.summarise`."""
