"""The odds of time to power: when deliveries may come late, the chance of each earliest period
(P50, P90), and a plan whose orders hold in at least 90 % of the cases.

``buildout.earliest.delays`` lists independent discrete distributions of months late, each for
one site's deliveries of one asset (added to its lead time) or for its grid connection (every
date of its import schedule moves). Every combination of them is a case with the product of the
probabilities; the earliest period of each case is found as :mod:`dcplan.studies.earliest` finds it (the
timeline arithmetic's guess, then feasibility probes), and the quantiles are read off the distribution: P50 is the
first period by which at least half the probability has a plan.

A plan that holds at P90 is planned for one case ``c`` with P(every delay <= c's) >= 90 %: of
those whose earliest period is soonest, the least-cost plan among the least such cases. Its orders are then fixed and tried in every case, with
the goal due at that period: a delivery of what it orders earlier than the plan assumed waits
until the planned date (equipment can be stored; commissioning is deferred), a later one may be
bridged by what the plan does not fix (rentals, dispatch); a grid connection or a rental, which
the plan does not order, is used from when it comes (an early grid saves the rent of a bridge). The plan therefore holds in every case no worse than
``c``, at least 90 % of the probability, and in whichever later cases the bridges cover; the
expected cost is over the cases in which it holds.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from typing import Callable

from dcplan.errors import refuse
from dcplan.loader import ProgramInput
from dcplan.model.buildout import add_months, periods_of
from dcplan.studies.earliest import (
    Undecided,
    answer,
    first_with_plan,
    impossible_by_arithmetic,
    with_goal_at,
)

MAX_CASES = 64
"""Combinations of delays at most: each takes a bisection of probes."""

HOLD = 0.9
"""The share of the probability a plan that 'holds at P90' must cover."""

GRID = "grid"


@dataclass(frozen=True)
class Case:
    delays: tuple[tuple[tuple[str, str], float], ...]  # ((site, asset), months late)
    probability: float

    def months(self) -> dict[tuple[str, str], float]:
        return dict(self.delays)

    def covers(self, other: Case) -> bool:
        """No delay of ``other`` is longer than this case's."""
        mine = self.months()
        return all(months <= mine[key] for key, months in other.delays)


def cases(pi: ProgramInput) -> list[Case]:
    """Every combination of the goal's delays, with its probability."""
    entries = pi.program.buildout.earliest.delays
    keys = [(d.site, d.asset) for d in entries]
    return [Case(tuple(zip(keys, (m for m, _ in combo))), math.prod(p for _, p in combo))
            for combo in itertools.product(*(sorted(d.distribution().items()) for d in entries))]


def check_delays(pi: ProgramInput, asset_keys: dict[str, set[str]]) -> None:
    """Delays name sites and assets the program has (``asset_keys``: site -> its asset keys), and
    their combinations are few enough; else an input error at the entry."""
    entries = pi.program.buildout.earliest.delays
    problems = []
    for i, d in enumerate(entries):
        where = ("buildout", "earliest", "delays", i)
        site = next((si for si in pi.sites if si.name == d.site), None)
        if site is None:
            problems.append(pi.doc.problem(where + ("site",), f"no site {d.site!r} in this program"))
        elif d.asset == GRID and site.site.grid is None:
            problems.append(pi.doc.problem(where + ("asset",), f"site {d.site} has no grid connection to delay"))
        elif d.asset != GRID and d.asset not in asset_keys.get(d.site, ()):
            known = ", ".join(sorted(asset_keys.get(d.site, ())) + [GRID])
            problems.append(pi.doc.problem(where + ("asset",), f"site {d.site} orders no {d.asset!r} (it has: {known})"))
    keys = [(d.site, d.asset) for d in entries]
    if len(set(keys)) < len(keys):
        problems.append(pi.doc.problem(("buildout", "earliest", "delays"), "an asset's delay is given twice"))
    count = math.prod(len(d.distribution()) for d in entries)
    if count > MAX_CASES:
        problems.append(pi.doc.problem(("buildout", "earliest", "delays"),
                                       f"{count} combinations of delays; at most {MAX_CASES} (fewer outcomes per entry)"))
    refuse(problems)


def with_delays(pi: ProgramInput, months: dict[tuple[str, str], float]) -> ProgramInput:
    """The program with each asset's deliveries ``months`` later than their lead time, and each
    delayed grid connection's dates (the first, and every step) that much later."""
    sites = []
    for si in pi.sites:
        late = months.get((si.name, GRID), 0.0)
        grid = si.site.grid
        if late and grid is not None:
            first = grid.available_from or pi.program.horizon.start
            grid = grid.model_copy(update={"available_from": add_months(first, late), "steps": [
                step.model_copy(update={"date": add_months(step.date, late)}) for step in grid.steps]})
            si = dataclasses.replace(si, site=si.site.model_copy(update={"grid": grid}))
        sites.append(si)
    assets = {key: m for key, m in months.items() if key[1] != GRID and m}
    return dataclasses.replace(pi, sites=sites, delay_months=assets)


@dataclass
class Odds:
    distribution: list[dict]  # {period, probability, cumulative}, in time order; period None: not in the horizon
    p50: str | None
    p90: str | None
    held: dict | None  # the plan that holds in at least 90 %: see document()
    notes: list[str]
    undecided: bool = False  # a probe had no answer in time: the odds, or the plan that holds, are not known

    def document(self) -> dict:
        """plan.yaml's ``earliest.odds``."""
        return {**({"undecided": True} if self.undecided else {}), "p50": self.p50, "p90": self.p90,
                "distribution": self.distribution, **({"plan_holding_90": self.held} if self.held else {}),
                **({"notes": self.notes} if self.notes else {})}


def odds(pi: ProgramInput, plan_at: Callable[..., object], on_time: int | None = None) -> Odds:
    """The distribution of the earliest period over the cases of the goal's delays, its P50 and
    P90, and the plan that holds in at least 90 % (``plan_at`` as :class:`dcplan.api.Replanner`).
    ``on_time``: the earliest period's index with no delay, when the search has found it (that
    case is not searched again). A probe without an answer (a time limit) leaves the odds
    undecided (notes say so)."""
    periods, all_cases = periods_of(pi.program), cases(pi)
    earliest: dict[Case, int | None] = {}
    try:
        for case in all_cases:
            if on_time is not None and not any(m for _, m in case.delays):
                earliest[case] = on_time
                continue
            variant = with_delays(pi, case.months())
            earliest[case] = first_with_plan(lambda k: answer(plan_at(with_goal_at(variant, periods[k]), False)),
                                             len(periods), impossible_by_arithmetic(variant, periods))
    except Undecided as stop:
        return Odds([], None, None, None, [f"undecided: no answer in time for {periods[stop.index].name}"], True)
    order = sorted({k for k in earliest.values() if k is not None}) + ([None] if None in earliest.values() else [])
    distribution, total = [], 0.0
    for k in order:
        p = sum(c.probability for c, e in earliest.items() if e == k)
        total += p
        distribution.append({"period": periods[k].name if k is not None else None, "probability": p,
                             "cumulative": total})
    quantile = {q: next((row["period"] for row in distribution if row["cumulative"] >= q - 1e-9), None)
                for q in (0.5, HOLD)}
    held, notes, undecided = _holding_plan(pi, plan_at, all_cases, earliest, periods)
    return Odds(distribution, quantile[0.5], quantile[HOLD], held, notes, undecided)


def _holding_plan(pi, plan_at, all_cases: list[Case], earliest: dict, periods) -> tuple[dict | None, list[str], bool]:
    """Among the cases covering at least 90 % of the probability, those with the soonest earliest
    period; of them the least-cost plan for a least case (no other candidate under it); its
    orders fixed and tried in every case (deliveries waiting for the planned date when early).
    With notes, and whether it is undecided (a plan not found or tried in time)."""
    def covered(c: Case) -> float:
        return sum(o.probability for o in all_cases if c.covers(o))

    candidates = [c for c in all_cases if earliest[c] is not None and covered(c) >= HOLD - 1e-9]
    if not candidates:
        return None, ["no plan holds in 90 % of the cases: too many have no plan within the horizon"], False
    k = min(earliest[c] for c in candidates)
    soonest = [c for c in candidates if earliest[c] == k]
    least = [c for c in soonest if not any(o != c and c.covers(o) for o in soonest)]
    plans = [(c, plan_at(with_goal_at(with_delays(pi, c.months()), periods[k]), True)) for c in least]
    plans = [(c, outcome) for c, outcome in plans if outcome.plan is not None]
    if not plans:
        return None, ["undecided: the plan for 90 % was not found in time"], True
    chosen, planned = min(plans, key=lambda item: item[1].plan.timeline.npv_cost_usd)
    fixed = _fix_orders(planned.plan)
    stored = {(o.site, o.asset) for o in planned.plan.timeline.orders}  # what waits when delivered early
    holds, cost, tried = 0.0, 0.0, {}  # tried: the outcome of each set of delays (alike cases share one)
    for case in all_cases:
        late = tuple((key, max(m, chosen.months()[key]) if key in stored else m) for key, m in case.delays)
        if late not in tried:
            tried[late] = plan_at(with_goal_at(with_delays(pi, dict(late)), periods[k]), True, change_model=fixed)
        outcome = tried[late]
        if answer(outcome) is None:
            return None, [f"undecided: the plan for 90 % was not tried in every case in time ({outcome.why_no_plan()[0]})"], True
        if outcome.plan is not None:
            holds += case.probability
            cost += case.probability * outcome.plan.timeline.npv_cost_usd
    return {"period": periods[k].name, "date": periods[k].start.isoformat(),
            "planned_for": [{"site": s, "asset": a, "months_late": m} for (s, a), m in chosen.delays],
            "covers_probability": covered(chosen), "npv_cost_usd": planned.plan.timeline.npv_cost_usd,
            "holds_probability": holds, "expected_npv_cost_usd": cost / holds if holds else None,
            # what to order: the timeline written beside it is the on-time plan's
            "orders": [{"site": o.site, "asset": o.asset, "label": o.label, "quantity": o.quantity, "unit": o.unit,
                        "order_period": o.order_period, "online_period": o.online_period}
                       for o in planned.plan.timeline.orders]}, [], False


def _fix_orders(plan) -> Callable:
    """A change_model that fixes every order to what ``plan`` orders (nothing where it orders nothing)."""
    ordered: dict[tuple[str, str, str], float] = {}
    for o in plan.timeline.orders:
        key = (o.site, o.asset, o.order_period)
        ordered[key] = ordered.get(key, 0.0) + o.quantity

    def fix(plan_model) -> None:
        for o in plan_model.buildout.orders:
            units = ordered.get((o.site, o.asset.key, o.period.name), 0.0) / o.asset.size
            o.var.fix(round(units) if o.asset.integer else units)
    return fix
