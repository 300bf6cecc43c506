"""Read a committed plan folder (the output of `dcplan plan`): plan.yaml with the line of every
key, and dispatch.csv as arrays per site. A malformed plan is invalid input, reported at its
file and line like any other."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict

from dcplan.errors import InputError, Problem, display_path
from dcplan.locate import Where
from dcplan.plans.files import read_dispatch
from dcplan.schema.validate import validation_problems
from dcplan.yamlio import YamlDocument, load_yaml

DISPATCH_REQUIRED = ("hour_of_year", "weight", "load_mw")


class _Record(BaseModel):
    """Plan files carry more than the checks read; the rest is ignored."""

    model_config = ConfigDict(extra="ignore")


class SiteEntry(_Record):
    gpus: dict[str, int]
    gpus_new: dict[str, int]
    cooling: str
    it_mw: float
    capacity: dict[str, float]
    costs_usd_per_year: dict[str, float]


class CapEntry(_Record):
    name: str
    note: str = ""


class PeriodEntry(_Record):
    name: str
    start: dt.date
    end: dt.date
    gpus_online: dict[str, dict[str, float]]
    capacity_online: dict[str, dict[str, float | str]] = {}
    spend_usd: dict[str, float] = {}


class OrderEntry(_Record):
    site: str
    asset: str
    label: str
    quantity: float
    unit: str
    order_date: dt.date
    online_date: dt.date
    retire_date: dt.date | None = None
    capex_usd: float = 0.0


class BridgeEntry(_Record):
    site: str
    asset: str
    label: str
    quantity: float
    unit: str
    start_date: dt.date
    end_date: dt.date


class TimelineEntry(_Record):
    period_length: str
    base_date: dt.date
    periods: list[PeriodEntry]
    orders: list[OrderEntry] = []
    bridges: list[BridgeEntry] = []


class TimeResolutionEntry(_Record):
    method: str
    typical_days: int | None = None


class PlanFile(_Record):
    program: str
    scenario: str | None = None
    time_resolution: TimeResolutionEntry
    caps: list[CapEntry] = []
    timeline: TimelineEntry | None = None
    sites: dict[str, SiteEntry]


@dataclass
class CommittedPlan:
    folder: Path
    doc: YamlDocument
    plan: PlanFile
    dispatch: dict[str, dict[str, np.ndarray]]  # site -> column -> values (a build-out's `period` as text)
    dispatch_name: str

    @property
    def name(self) -> str:
        return display_path(self.folder)

    def where(self, loc: tuple) -> Where:
        """A key of plan.yaml, for findings about the plan itself."""
        p = self.doc.problem(loc, "")
        return Where(p.file, p.line, p.key)


def read_plan(folder: Path) -> CommittedPlan:
    """plan.yaml and dispatch.csv of a committed plan, or :class:`InputError` naming what is wrong."""
    doc = load_yaml(folder / "plan.yaml")
    problems = validation_problems(doc, PlanFile, doc.data)
    if problems:
        raise InputError(problems)
    plan = PlanFile.model_validate(doc.data)
    path = folder / "dispatch.csv"
    name = display_path(path)
    if not path.is_file():
        raise InputError([Problem(name, None, "", "missing: commit dispatch.csv with plan.yaml "
                                  "(both are written by `dcplan plan -o`)")])
    dispatch = read_dispatch(path)
    problems = []
    for site in plan.sites:
        columns = dispatch.get(site)
        if columns is None:
            problems.append(Problem(name, None, "site", f"no rows for site '{site}' of plan.yaml"))
            continue
        missing = [c for c in DISPATCH_REQUIRED if c not in columns]
        if missing:
            problems.append(Problem(name, 1, "", f"site {site}: missing column(s) {', '.join(missing)}"))
        elif np.any(columns["hour_of_year"] < 0) or np.any(columns["hour_of_year"] >= 8760):
            problems.append(Problem(name, None, "hour_of_year", f"site {site}: hours must be 0..8759"))
    if plan.timeline is not None and any("period" not in cols for cols in dispatch.values()):
        problems.append(Problem(name, 1, "period", "a build-out plan's dispatch needs a `period` column"))
    if problems:
        raise InputError(problems)
    return CommittedPlan(folder, doc, plan, dispatch, name)
