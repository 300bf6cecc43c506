"""Plans as data (:mod:`dcplan.plan.types`)."""
