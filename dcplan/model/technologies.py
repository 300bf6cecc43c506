"""The technologies a site's block is built from, each a module that owns its whole life."""

from __future__ import annotations

import dcplan.model.compute as compute
import dcplan.model.gas as gas
import dcplan.model.grid as grid
import dcplan.model.reliability as reliability
import dcplan.model.renewables as renewables
import dcplan.model.storage as storage

TECHNOLOGIES = (compute, grid, gas, renewables, storage, reliability)
"""The parts of a site's block, each a module that adds itself to the model (``add_*``), reads
its results into a plan (``report(sm, plan)``, after ``compute``'s and in this order) and fixes
a committed plan's build on its variables (``commit(sm, built)``); adding itself, it registers
on the ``SiteModel`` what others read of it (supply into the balance, firm and most MW, cost
lines, emissions, dispatch columns, what its rows mean). Code outside ``model/`` loops over
them and never names a variable."""

_RELAXED_AWAY = frozenset(name for t in TECHNOLOGIES for name in getattr(t, "RELAXED_AWAY", ()))
_COUPLES_STEPS = frozenset(name for t in TECHNOLOGIES for name in getattr(t, "COUPLES_STEPS", ()))


def relaxed_away(component) -> bool:
    """Whether a variable is an operational integer whose LP relaxation the model's other rows
    imply (a technology's ``RELAXED_AWAY``): a relaxed dispatch may leave it and its rows out."""
    return component.local_name in _RELAXED_AWAY


def couples_steps(component) -> bool:
    """Whether a constraint chains dispatch steps together (a technology's ``COUPLES_STEPS``: a
    state of charge), which a bound on hourly commitment may price instead."""
    return component.local_name in _COUPLES_STEPS
