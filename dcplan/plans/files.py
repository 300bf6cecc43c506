"""Reading a plan's files back (the one reader every command uses: check, report, show, diff);
writing them is :mod:`dcplan.plans.write`'s. plan.yaml is read with the line of every key and its
shape checked against :class:`PlanFile`, the fields the readers rely on; a malformed plan is an
input error at its file and line like any other."""

from __future__ import annotations

import datetime as dt
from pathlib import Path, PurePath

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

import dcplan.trust as trust
from dcplan.errors import InputError, Problem, display_path, refuse
from dcplan.schema.validate import validation_problems
from dcplan.yamlio import YamlDocument, load_yaml, parse_yaml

TEXT_COLUMNS = ("period", "timestamp")
"""Columns of dispatch.csv that are text: a build-out's period names, the ISO hour of each step."""


def read_dispatch(path: Path) -> dict[str, dict[str, np.ndarray]]:
    """dispatch.csv back into arrays per site (``TEXT_COLUMNS`` stay text); a
    missing column, a short row or a bad value is an InputError at its line."""
    name = display_path(path)
    rows = trust.read_csv_rows(path)
    header = rows[0] if rows else []
    for required in ("site", "hour_of_year", "weight", "load_mw"):
        if required not in header:
            raise InputError([Problem(name, 1, required, "missing column")])
    sites: dict[str, dict[str, list]] = {}
    counts: dict[str, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise InputError([Problem(name, line, "", f"expected {len(header)} fields, found {len(row)}")])
        site = row[header.index("site")]
        columns = sites.setdefault(site, {})
        counts[site] = counts.get(site, 0) + 1
        for key, value in zip(header, row):
            if key == "site" or value == "":
                continue
            if key in TEXT_COLUMNS:
                columns.setdefault(key, []).append(value)
                continue
            try:
                columns.setdefault(key, []).append(float(value))
            except ValueError:
                raise InputError([Problem(name, line, key, f"not a number: '{value}'")]) from None
    for site, columns in sites.items():
        for key, values in columns.items():
            if len(values) != counts[site]:
                raise InputError([Problem(name, None, key, f"empty in some rows of site {site}")])
    return {s: {k: np.array(v) for k, v in cols.items()} for s, cols in sites.items()}


def dispatch_problems(name: str, dispatch: dict[str, dict[str, np.ndarray]], plan: PlanFile) -> list[Problem]:
    """What keeps ``dispatch`` (read from the file ``name``) from covering ``plan``: a site of
    plan.yaml without rows, or a site (a build-out: a site in a period) with other than the
    time grid's number of steps plan.yaml records (a file cut short or spliced together), so that
    no reader draws, sums or verifies part of a year as if it were all of it."""
    problems = []
    steps = plan.time_resolution.steps
    by_period = {p.name: p.steps for p in plan.timeline.periods if p.steps} if plan.timeline else {}
    for site in plan.sites:
        columns = dispatch.get(site)
        if columns is None:
            problems.append(Problem(name, None, "site", f"no rows for site '{site}' of plan.yaml"))
            continue
        if steps is None:
            continue
        periods = columns.get("period")
        counts = ({p: int(n) for p, n in zip(*np.unique(periods, return_counts=True))} if periods is not None
                  else {None: max(map(len, columns.values()), default=0)})
        for period, n in counts.items():
            expected = by_period.get(period, steps)
            if period is not None and period not in by_period:  # written before periods kept their steps
                expected = _steps_of_period(plan, period, n)
            if n != expected:
                where = f"site {site}" + (f", period {period}" if period is not None else "")
                key = ("steps of the period in timeline.periods" if period in by_period
                       else "the period's hours" if period is not None else "time_resolution.steps")
                problems.append(Problem(name, None, "", f"{where}: {n} rows, but plan.yaml's time grid has {expected} "
                                        f"steps ({key}): the file is incomplete or not this plan's"))
    return problems


def _steps_of_period(plan: PlanFile, period: str, rows: int) -> int:
    """The steps a build-out period of a plan that records none of its own must have: an hourly
    period's hours of its months in the horizon's first year (the 365 days whose grid every
    later year reuses), or its ``rows`` where they are whole days (its typical days and kept
    peak days, which may differ by period, were not recorded)."""
    entry = next((p for p in plan.timeline.periods if p.name == period), None)
    if entry is None:
        return plan.time_resolution.steps or rows
    if plan.time_resolution.method == "typical_days":
        return rows if rows % 24 == 0 and rows > 0 else (plan.time_resolution.steps or rows)
    count = (entry.end.year - entry.start.year) * 12 + entry.end.month - entry.start.month + 1
    months = {(entry.start.month - 1 + k) % 12 + 1 for k in range(count)}
    first = dt.date(plan.timeline.periods[0].start.year, 1, 1)
    return 24 * sum((first + dt.timedelta(days=i)).month in months for i in range(365))


# --- plan.yaml ----------------------------------------------------------------------------

class _Record(BaseModel):
    """What the readers (check, report, show, diff) rely on; anything else a plan file carries
    is ignored. A figure dcplan could not write as a number (an infinite one) is null."""

    model_config = ConfigDict(extra="ignore")


Figures = dict[str, float | None]


class SiteEntry(_Record):
    gpus: dict[str, int]
    gpus_new: dict[str, int]
    cloud_gpus: dict[str, float] = {}
    cooling: str
    it_mw: float
    capacity: dict[str, float]
    costs_usd_per_year: dict[str, float]


class CapEntry(_Record):
    name: str
    note: str = ""
    limit: float | None = None
    value: float | None = None
    slack: float | None = None
    shadow_price: float | None = None


class PeriodEntry(_Record):
    name: str
    start: dt.date
    end: dt.date
    gpus_online: dict[str, dict[str, float]]
    cloud_gpus_online: dict[str, dict[str, float]] = {}
    gpus_in_stock: dict[str, dict[str, float]] = {}
    steps: int | None = Field(None, ge=1)  # its time grid's; older plans have time_resolution.steps only
    peak_days: int | None = None
    capacity_online: dict[str, dict[str, float | str | None]] = {}
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
    periods: list[PeriodEntry] = Field(min_length=1)
    totals: Figures = {}
    orders: list[OrderEntry] = []
    bridges: list[BridgeEntry] = []


class TimeResolutionEntry(_Record):
    method: str
    steps: int | None = Field(None, ge=1)  # rows of dispatch.csv per site (and period); older plans lack it
    typical_days: int | None = None
    peak_days: int | None = None  # of the typical days, those kept for a peak hour (the last period's)


class TriedEntry(_Record):
    period: str
    plan: bool


class CurvePoint(_Record):
    period: str
    npv_cost_usd: float
    saving_usd: float
    changes: list[str] = []


class OddsRow(_Record):
    period: str | None  # None: not within the horizon
    probability: float
    cumulative: float


class LateBy(_Record):
    site: str
    asset: str
    months_late: float


class HeldOrder(_Record):
    site: str
    asset: str
    label: str = ""
    quantity: float
    unit: str = ""
    order_period: str
    online_period: str


class HoldingPlan(_Record):
    period: str
    date: dt.date
    planned_for: list[LateBy] = []
    covers_probability: float
    npv_cost_usd: float
    holds_probability: float
    expected_npv_cost_usd: float | None = None
    orders: list[HeldOrder] = []  # what it orders (plans before 2026-12-02 have none)


class OddsEntry(_Record):
    """The odds of time to power under delays (dcplan.studies.odds.Odds.document)."""

    p50: str | None = None
    p90: str | None = None
    distribution: list[OddsRow] = []
    plan_holding_90: HoldingPlan | None = None
    notes: list[str] = []


class EarliestEntry(_Record):
    """buildout.earliest's answer (dcplan.studies.earliest.Earliest.document)."""

    goal: dict[str, float]
    period: str | None = None
    date: dt.date | None = None
    why_not_sooner: list[str] = []
    tried: list[TriedEntry] = []
    curve: list[CurvePoint] = []
    curve_note: str | None = None
    odds: OddsEntry | None = None


class PlanFile(_Record):
    program: str
    scenario: str | None = None
    time_resolution: TimeResolutionEntry
    caps: list[CapEntry] = []
    timeline: TimelineEntry | None = None
    sites: dict[str, SiteEntry] = Field(min_length=1)
    earliest: EarliestEntry | None = None


class ParetoPoint(_Record):
    co2_limit_t: float
    co2_t: float
    cost_usd: float
    extra_cost_usd: float
    usd_per_t_avoided: float | None = None
    marginal_usd_per_t: float | None = None
    changes: list[str] = []


class ParetoEntry(_Record):
    """The cost-against-CO2 points (dcplan.studies.pareto.Frontier.document)."""

    co2_unit: str
    cost_unit: str
    points: list[ParetoPoint] = []
    notes: list[str] = []


class ReportedSite(SiteEntry):
    energy_mwh_per_year: Figures
    emissions_t_per_year: Figures


class ReportedPlan(PlanFile):
    """All a report draws: the checks' fields, and the totals and energy dcplan also writes."""

    solution: dict
    totals: Figures
    cost_breakdown_usd_per_year: Figures
    sites: dict[str, ReportedSite] = Field(min_length=1)
    pareto: ParetoEntry | None = None


def read_plan_yaml(path: Path | None = None, text: str | None = None, name: str | None = None,
                   shape: type[PlanFile] = PlanFile) -> tuple[YamlDocument, PlanFile]:
    """plan.yaml from a file (``path``) or from text (``text``, e.g. from a git revision, named
    ``name`` in messages): the document with its lines, and its ``shape`` checked (the fields
    the caller relies on: :class:`PlanFile`, or :class:`ReportedPlan` for a report). Not a plan
    (a site file, say) is an input error saying what it is."""
    doc = load_yaml(path, ()) if text is None else parse_yaml(text, PurePath(name or "plan.yaml"))
    if not isinstance(doc.data, dict) or "program" not in doc.data or "sites" not in doc.data:
        raise InputError([doc.problem((), "not a plan.yaml written by `dcplan plan` (no program: and sites:)")])
    refuse(validation_problems(doc, shape, doc.data))
    plan = shape.model_validate(doc.data)
    _as_checked(doc.data, plan)
    return doc, plan


def _as_checked(data: dict, plan: PlanFile) -> None:
    """The timeline as checked, written back into the data: dates as dates (also where the file
    has them as text), optional lists and mappings present with their defaults, so that every
    reader of the data can sort and index them alike."""
    for key in ("earliest", "pareto"):
        if getattr(plan, key, None) is not None:
            data[key] = {**data[key], **getattr(plan, key).model_dump()}
    if plan.timeline is None:
        return
    raw, checked = data["timeline"], plan.timeline
    raw.update(base_date=checked.base_date, totals={**(raw.get("totals") or {}), **checked.totals})
    for key in ("periods", "orders", "bridges"):
        raw[key] = [{**item, **entry.model_dump()} for item, entry in zip(raw.get(key) or [], getattr(checked, key))]
