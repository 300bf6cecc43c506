"""The optimisation model: a Pyomo model assembled from small parts, one per technology and per
family of constraints; :func:`build_model` is the entry point, and :mod:`.results` (with
:mod:`.timeline` for a build-out) reads a solved model back into a :class:`dcplan.plans.types.Plan`."""

from __future__ import annotations

from dcplan.loader import ProgramInput
from dcplan.model.build import PlanModel, build_single_period
from dcplan.model.buildout import build_buildout_model

__all__ = ["PlanModel", "build_model"]


def build_model(pi: ProgramInput, typical_days: int | None = None, smoothing: dict | None = None,
                elastic: bool = False) -> PlanModel:
    """The model of a program: one period, or a staged build-out when it has ``buildout:``.
    ``typical_days`` overrides the program's time resolution (0: hourly); ``smoothing``: site
    name -> SmoothingResult of the site's declared training job; ``elastic``: caps may be violated
    at a large cost (to explain an infeasible plan)."""
    if pi.program.buildout is not None:
        return build_buildout_model(pi, typical_days, smoothing, elastic)
    return build_single_period(pi, typical_days, smoothing, elastic)
