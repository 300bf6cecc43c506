"""What every check of a committed plan shares: the program, the plan and its files, where each
input is set, the plan's sites as they stand in each period and on today's model, and the report
the findings go to (:mod:`dcplan.checks.verify` runs the checks; one module a family)."""

from __future__ import annotations

import datetime as dt

from dcplan.checks.evaluate import Evaluation
from dcplan.checks.planfile import CommittedPlan
from dcplan.checks.report import VIOLATION, FileReport, Finding
from dcplan.checks.state import SiteState
from dcplan.loader import ProgramInput
from dcplan.locate import Locator, Where

TOL_MW = 1e-3  # dispatch.csv keeps 4 decimals; solvers close rows to ~1e-7
REL_TOL = 1e-6


def over(value, limit) -> bool:
    return value > limit + TOL_MW + REL_TOL * abs(limit)


class Verification:
    """A committed plan under check. ``slices``: what each period of the plan runs (a build-out's
    earlier periods, then the final state), with its sites' annual costs where known; ``evaluations``:
    each slice on today's model (None where it could not be evaluated)."""

    def __init__(self, pi: ProgramInput, committed: CommittedPlan, report: FileReport):
        self.pi, self.c, self.plan, self.report = pi, committed, committed.plan, report
        self.loc = Locator(pi)
        self.sites = {si.name: si for si in pi.sites}
        self.timeline = self.plan.timeline
        self.dispatch_issues: list[Finding] = []  # a re-dispatch of the committed build may clear these
        self.states: dict[str, SiteState] = {}
        self.slices: list[tuple[dict[str, SiteState], dict[str, float]]] = []
        self.evaluations: list[Evaluation | None] = []

    def add(self, check: str, status: str, message: str, where: Where | None = None,
            details: tuple[str, ...] = ()) -> None:
        self.report.add(check, status, message, where, details)

    def issue(self, check: str, message: str, where: Where) -> None:
        """A violation of the committed dispatch, held back: a re-dispatch of the committed build
        under today's inputs may turn it into a warning (``verify._settle_dispatch``)."""
        self.dispatch_issues.append(Finding(check, VIOLATION, message, where))

    def dates(self) -> tuple[dt.date, dt.date]:
        """The first and last day the plan's final state stands for."""
        if self.timeline is None:
            start = self.pi.program.horizon.start
            return start, start
        last = self.timeline.periods[-1]
        return last.start, last.end

    def owned_in_use(self, site: str, asset: str, p) -> float:
        """Units of an owned asset in use in period ``p``: delivered by its start, not retired before its end."""
        return sum(o.quantity for o in self.timeline.orders if o.site == site and o.asset == asset
                   and o.online_date <= p.start and (o.retire_date is None or p.end < o.retire_date))
