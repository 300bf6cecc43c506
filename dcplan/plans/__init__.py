"""Plans as data and as files: the typed Plan (:mod:`.types`), its one writer (:mod:`.write`) and
one reader (:mod:`.files`) of an output folder, and what changed between two plans (:mod:`.diff`).
A Plan is made from a solved model by :mod:`dcplan.model.results`."""
