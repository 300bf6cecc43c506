"""Plans as data (:mod:`dcplan.plans.types`)."""
