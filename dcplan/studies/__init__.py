"""Questions asked of the optimizer beyond one plan: the earliest period a compute goal can be
online (:mod:`.earliest`), its odds when deliveries come late (:mod:`.odds`), and cost against
CO2 (:mod:`.pareto`). Each solves the program several times through :mod:`dcplan.api`'s planner."""
