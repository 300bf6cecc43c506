"""The optimisation model: a Pyomo model assembled from small parts, one per technology and per
family of constraints. :func:`dcplan.model.build.build_model` is the entry point."""
