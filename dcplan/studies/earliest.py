"""Time to power: the earliest build-out period by which a compute goal can be online (and stay
online to the horizon's end), the least-cost plan that has it then, and the proof that one
period sooner is impossible, in the words of :func:`dcplan.diagnose.explain_infeasible`.

A program asks with ``buildout.earliest: {gpus: N}`` (or another measure). The goal becomes a
dated target at a candidate period, merged into the program's own ramp (a later target never
asks for less than the goal); whether a plan exists is monotone in that date (a plan that has
the goal online in one period has it in every later one), so a bisection over the periods finds
the earliest in about log2(periods) + 1 probes. A probe asks only whether a plan exists (the
first feasible plan will do: infeasibility is proved exactly whatever the gap), so only the
plan at the earliest period is solved to the requested gap.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

from dcplan.diagnose import timeline_checks
from dcplan.loader import ProgramInput
from dcplan.model.buildout import Period, periods_of
from dcplan.plans.diff import decision_changes
from dcplan.plans.write import plan_document
from dcplan.schema.program import DatedTarget


@dataclass
class Earliest:
    """What the search found: the goal, the earliest period (None: not within the horizon),
    why the period before cannot have it, and each period tried with its answer."""

    goal: dict  # {measure: amount}, as the program gives it
    period: Period | None
    why_not_sooner: list[str]
    tried: list[tuple[str, bool]]  # (period name, a plan exists), in the order tried
    curve: list[dict] = dataclasses.field(default_factory=list)  # the least cost at each later date
    odds: dict | None = None  # with delays: P50, P90 and a plan that holds (dcplan.studies.odds.Odds.document)
    curve_note: str | None = None  # why the curve has fewer later dates than curve_periods asks

    def document(self) -> dict:
        """plan.yaml's ``earliest:``."""
        return {"goal": self.goal,
                "period": self.period.name if self.period else None,
                "date": self.period.start.isoformat() if self.period else None,
                "why_not_sooner": self.why_not_sooner,
                "tried": [{"period": name, "plan": ok} for name, ok in self.tried],
                **({"curve": self.curve} if self.curve else {}),
                **({"curve_note": self.curve_note} if self.curve_note else {}), **({"odds": self.odds} if self.odds else {})}


def with_goal_at(pi: ProgramInput, period: Period) -> ProgramInput:
    """The program with its earliest goal due at ``period``'s start and to the end; a target due
    before then still holds where it asks for more (the target in force is the latest one: the
    goal added after a larger target had lowered it, an audit's ramp of 80,000 GPUs before a goal
    of 40,000)."""
    bo = pi.program.buildout
    goal = bo.earliest
    amount = getattr(goal, goal.measure)
    targets = [t if t.date < period.start else t.model_copy(update={t.measure: max(getattr(t, t.measure), amount)})
               for t in bo.targets]
    if not any(t.date == period.start for t in targets):
        before = [getattr(t, t.measure) for t in targets if t.date < period.start]
        targets.append(DatedTarget(date=period.start, **{goal.measure: max([amount, *before[-1:]])}))
    buildout = bo.model_copy(update={"targets": sorted(targets, key=lambda t: t.date), "earliest": None})
    return dataclasses.replace(pi, program=pi.program.model_copy(update={"buildout": buildout}))


class Undecided(Exception):
    """A probe stopped without an answer (a time limit): the search cannot say."""

    def __init__(self, index: int):
        super().__init__(f"no answer for period {index}")
        self.index = index


def first_with_plan(probe: Callable[[int], bool | None], count: int, guess: int = -1) -> int | None:
    """The first of ``count`` periods at which ``probe`` finds a plan (None: not even the last);
    ``probe`` is monotone (once True, True after). Raises :class:`Undecided`. ``guess``: a
    period that probably has none (the timeline's arithmetic): probed first, not trusted. From a
    confirmed guess the search gallops (guess + 1, + 2, + 4...) and then bisects, since the
    guess is often the answer's period before; with no guess, or a wrong one, it bisects (the
    last period first: is there any?). At most 2 log2(count) + 2 probes, each period once."""
    memo: dict[int, bool] = {}

    def asked(k: int) -> bool:
        if k not in memo:
            answer = probe(k)
            if answer is None:
                raise Undecided(k)
            memo[k] = answer
        return memo[k]

    last = count - 1
    sooner, latest = -1, None  # no plan at `sooner` (or before the horizon), a plan at `latest`
    if 0 <= guess <= last and not asked(guess):
        sooner, step = guess, 1
        while latest is None and sooner < last:
            k = min(sooner + step, last)
            if asked(k):
                latest = k
            else:
                sooner, step = k, step * 2
        if latest is None:
            return None
    elif 0 <= guess <= last:
        latest = guess
    elif not asked(last):
        return None
    else:
        latest = last
    while latest - sooner > 1:
        mid = (sooner + latest) // 2
        sooner, latest = (sooner, mid) if asked(mid) else (mid, latest)
    return latest


def answer(outcome) -> bool | None:
    """What a probe's outcome says: True, a plan exists; False, proved none; None, no answer (a time limit)."""
    return True if outcome.plan is not None else False if outcome.infeasible else None


def impossible_by_arithmetic(pi: ProgramInput, periods: list[Period]) -> int:
    """The last period at which :func:`dcplan.diagnose.timeline_checks` finds the goal impossible
    (lead times against the most that could be in service; no solve), or -1. A start for
    :func:`first_with_plan`: the checks are necessary conditions (what they find impossible is),
    and a probe confirms it."""
    first = first_with_plan(lambda k: not timeline_checks(with_goal_at(pi, periods[k])), len(periods))
    return (len(periods) if first is None else first) - 1


def search(pi: ProgramInput, plan_at: Callable[..., object]) -> tuple[Earliest, object]:
    """The earliest period, by probes with ``plan_at(program, exact)`` (an outcome with ``plan``
    and ``why_no_plan()``, as :class:`dcplan.api.Replanner` gives; ``exact`` False: any plan will
    do), starting from the timeline arithmetic's guess; return what was found and the least-cost
    outcome at the earliest period (the last period's when none has a plan). A probe that stops
    without an answer (a time limit) ends the search undecided: that outcome is returned, with no plan."""
    goal, periods = pi.program.buildout.earliest, periods_of(pi.program)
    outcomes: dict[int, object] = {}
    tried: list[tuple[str, bool]] = []

    def probe(k: int) -> bool | None:
        outcomes[k] = outcome = plan_at(with_goal_at(pi, periods[k]), False)
        tried.append((periods[k].name, outcome.plan is not None))
        return answer(outcome)

    try:
        latest = first_with_plan(probe, len(periods), impossible_by_arithmetic(pi, periods))
    except Undecided as stop:
        why = [f"no answer for {periods[stop.index].name}: " + "; ".join(outcomes[stop.index].why_no_plan())]
        return Earliest(_goal(goal), None, why, tried), outcomes[stop.index]
    if latest is None:
        last = outcomes[len(periods) - 1]
        return Earliest(_goal(goal), None, last.why_no_plan(), tried), last
    why = outcomes[latest - 1].why_no_plan() if latest > 0 else ["it is met in the horizon's first period"]
    best = plan_at(with_goal_at(pi, periods[latest]), True)
    if best.plan is None and outcomes[latest].plan is not None:  # out of time: the date is proved,
        stopped = best.solve is not None and best.solve.message == "stopped"  # (Ctrl-C, a stop event)
        best = cut_short(outcomes[latest], "stopped" if stopped else  # so keep the probe's plan, its gap open
                         "time limit: the earliest period's first plan, not its least-cost one")
    found = Earliest(_goal(goal), periods[latest], why, tried)
    if best.plan is not None:
        later = [(p, plan_at(with_goal_at(pi, p), True)) for p in periods[latest + 1:latest + 1 + goal.curve_periods]]
        found.curve = time_to_power_curve([(periods[latest], best), *later])
        if len(found.curve) - 1 < len(later):
            found.curve_note = (f"the curve stops before {later[len(found.curve) - 1][0].name}: no plan for it "
                                "in time (a time limit)")
        elif len(later) < goal.curve_periods:
            found.curve_note = (f"curve_periods asks for {goal.curve_periods} later dates; {len(later)} fall "
                                "within the horizon")
    return found, best


def cut_short(outcome, message: str):
    """``outcome``, a plan, as an answer that ran out of time (``message`` "stopped": Ctrl-C): the
    earliest period's probe (any plan would do) when its least-cost plan did not come in time
    (the search had proved the date, and answered "no plan found" after all), or the plan whose
    odds under the delays stayed undecided. Its gap stays as it is; the command exits as at a
    time limit."""
    solve = dataclasses.replace(outcome.solve, status="time_limit", message=message)
    outcome.plan.solver.update(status="time_limit", gap=solve.gap)
    return dataclasses.replace(outcome, solve=solve)


def time_to_power_curve(points_in: list[tuple[Period, object]]) -> list[dict]:
    """Each later date's least cost against the earliest's, and what changes from the date
    before (dcplan diff's changes in the decisions): the price of time to power. Stops at the
    first date without a plan (a time limit)."""
    points, previous, first_cost = [], None, None
    for period, outcome in points_in:
        if outcome.plan is None:
            break
        doc = plan_document(outcome.plan)
        cost = doc["timeline"]["totals"]["npv_cost_usd"]
        first_cost = cost if first_cost is None else first_cost
        changes = [] if previous is None else decision_changes(previous, doc)
        points.append({"period": period.name, "npv_cost_usd": cost, "saving_usd": first_cost - cost,
                       "changes": changes})
        previous = doc
    return points



def _goal(goal) -> dict:
    return {goal.measure: getattr(goal, goal.measure)}
