"""Cost against CO2: the Pareto set of plans by the epsilon-constraint method.

A program asks with ``pareto: {co2_points: N}``. Two plans fix the ends: the least-cost plan
(its CO2 is the most any point needs) and the plan of least CO2 (the model's own emissions, the
expression a ``co2_t`` cap limits, minimised instead of the cost). Between them, N CO2 limits are
spaced evenly and each point is the least-cost plan under its limit, planned as the program with
one more cap on the whole portfolio's CO2 (a year; over the horizon for a build-out). The ends
are points too: the least-CO2 end is priced as the least cost at that CO2, so every point is
optimal for its limit, and cost falls as the limit rises.

Each point says what it costs against the least-cost plan, what each tonne avoided costs on
average, what each tonne less costs at the margin (from this point to the cleaner one before it:
a marginal abatement cost), and which decisions change from the point before (dcplan diff's words).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import pyomo.core as pyo

from dcplan.loader import ProgramInput
from dcplan.plans.diff import decision_changes
from dcplan.plans.write import plan_document
from dcplan.rules import ResolvedCap
from dcplan.schema.caps import Cap

CO2_CAP = "pareto_co2"
"""The name of the cap each point adds; it limits the same quantity as a program's ``co2_t`` caps."""

LIMIT_ROOM = 1e-6
"""Relative room above the least CO2 for the curve's first limit, so that the least-CO2 plan
itself fits under it despite the solver's tolerances."""


@dataclass
class Frontier:
    """The points found (least CO2 first); ``notes`` say why the curve stops short or has one point."""

    unit: str  # "t/yr", or "t" over a build-out's horizon
    cost_unit: str  # "USD/yr", or "USD (NPV)"
    points: list[dict]
    notes: list[str] = dataclasses.field(default_factory=list)

    def document(self) -> dict:
        """plan.yaml's ``pareto:``."""
        return {"co2_unit": self.unit, "cost_unit": self.cost_unit, "points": self.points,
                **({"notes": self.notes} if self.notes else {})}


def with_co2_limit(pi: ProgramInput, limit_t: float | None) -> ProgramInput:
    """The program with its whole portfolio's CO2 at most ``limit_t`` (per year; over the horizon
    for a build-out). ``None`` adds the cap as a measure only (at least 0 t), to read its
    expression."""
    horizon = pi.program.buildout is not None
    cap = Cap(name=CO2_CAP, quantity="co2_t", period="horizon" if horizon else "year",
              **({"max": limit_t} if limit_t is not None else {"min": 0.0}),
              source="dcplan pareto: the CO2 limit of one point of the cost-against-CO2 curve")
    where = str(pi.doc.path) if pi.doc else str(pi.sites[0].doc.path)
    resolved = ResolvedCap(cap, "pareto", where, None, (("portfolio", tuple(si.name for si in pi.sites)),), True)
    return dataclasses.replace(pi, caps=[*pi.caps, resolved])


def minimise_co2(plan_model) -> None:
    """Minimise the portfolio's CO2 in place of the cost: the expression the Pareto cap limits
    (the one definition of the portfolio's CO2)."""
    co2 = next(row.value for row in plan_model.cap_rows if row.cap.cap.name == CO2_CAP)
    plan_model.model.objective.deactivate()
    plan_model.model.least_co2 = pyo.Objective(expr=co2, sense=pyo.minimize)


def frontier(pi: ProgramInput, least_cost, plan_at: Callable[..., object]) -> Frontier:
    """The cost-against-CO2 points of ``pi`` given its least-cost outcome ``least_cost``;
    ``plan_at(program, change_model=None)`` plans a variant of it (:class:`dcplan.api.Replanner`)."""
    horizon = pi.program.buildout is not None
    found = Frontier("t" if horizon else "t/yr", "USD (NPV)" if horizon else "USD/yr", [])
    most = plan_co2_t(least_cost.plan)
    cleanest = plan_at(with_co2_limit(pi, None), change_model=minimise_co2)
    if cleanest.plan is None:
        found.notes = ["the least CO2 was not found: " + "; ".join(cleanest.why_no_plan())]
        return found
    least = plan_co2_t(cleanest.plan)
    if most - least <= LIMIT_ROOM * max(abs(most), 1.0):
        found.points = _points([(most, least_cost)], least_cost)
        found.notes = ["no trade-off: the least-cost plan already has the least CO2 any plan can have"]
        return found
    n = pi.program.pareto.co2_points
    limits = [least + (most - least) * k / (n - 1) for k in range(n - 1)]
    limits[0] = least + LIMIT_ROOM * max(abs(most), 1.0)
    outcomes = []
    for limit in limits:
        outcome = plan_at(with_co2_limit(pi, limit))
        if outcome.plan is None:
            found.notes = [f"no plan at {limit:,.6g} {found.unit}: " + "; ".join(outcome.why_no_plan())]
            break
        outcomes.append((limit, outcome))
    else:
        outcomes.append((most, least_cost))
    found.points = _points(outcomes, least_cost)
    return found


def plan_co2_t(plan) -> float:
    """A plan's CO2: tonnes a year, or over a build-out's horizon (each period's rate times its length)."""
    if plan.timeline is not None:
        return sum(p.co2_t for p in plan.timeline.periods)
    return plan.co2_t


def plan_cost_usd(plan) -> float:
    """What the objective minimises: the annual cost, or a build-out's NPV."""
    return plan.timeline.npv_cost_usd if plan.timeline is not None else plan.total_cost_usd


def _points(outcomes: list[tuple[float, object]], least_cost) -> list[dict]:
    base_cost, base_co2 = plan_cost_usd(least_cost.plan), plan_co2_t(least_cost.plan)
    points, previous, before = [], None, None
    for limit, outcome in outcomes:
        plan = outcome.plan
        doc = plan_document(plan)
        cost, co2 = plan_cost_usd(plan), plan_co2_t(plan)
        avoided = base_co2 - co2
        extra = cost - base_cost
        step = None if before is None else co2 - before[1]
        points.append({"co2_limit_t": limit, "co2_t": co2, "cost_usd": cost, "extra_cost_usd": extra,
                       "usd_per_t_avoided": extra / avoided if avoided > 1e-9 * max(base_co2, 1.0) else None,
                       "marginal_usd_per_t": (before[0] - cost) / step if step and step > 1e-9 * max(base_co2, 1.0)
                       else None,
                       "changes": [] if previous is None else decision_changes(previous, doc)})
        previous, before = doc, (cost, co2)
    return points
