"""Reading a plan's files back (the one reader every command uses: check, report, show, diff);
writing them is :mod:`dcplan.plans.write`'s. plan.yaml is read with the line of every key and its
shape checked against :class:`PlanFile`, the fields the readers rely on; a malformed plan is an
input error at its file and line like any other."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import os
import re
from pathlib import Path, PurePath
from typing import Annotated, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    TypeAdapter,
    ValidationError,
    field_validator,
)

import dcplan.trust as trust
from dcplan.errors import InputError, Problem, display_path, real_path, refuse
from dcplan.outfolder import sweep_hint
from dcplan.plans.types import Bridge, CapReport, OrderLine, PeriodLine, Plan, SitePlan, Timeline
from dcplan.plans.write import TIMELINE_COLUMNS, file_digest
from dcplan.schema.compute import MEASURES
from dcplan.schema.validate import validation_problems
from dcplan.series import HOURS_PER_YEAR
from dcplan.version import __version__
from dcplan.yamlio import YamlDocument, load_yaml, parse_yaml

TEXT_COLUMNS = ("period", "timestamp")
"""Columns of dispatch.csv that are text: a build-out's period names, the ISO hour of each step."""


def read_dispatch(path: Path) -> dict[str, dict[str, np.ndarray]]:
    """dispatch.csv back into arrays per site (``TEXT_COLUMNS`` stay text); a
    missing column, a short row or a bad value (not a number, not finite, a negative weight) is
    an InputError at its line."""
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
                number = trust.cell_number(value)
            except ValueError:
                raise InputError([Problem(name, line, key, f"not a number: '{value}'")]) from None
            hour = key == "hour_of_year"
            if not math.isfinite(number) or trust.too_large(number) or (key == "weight" and number < 0) or (
                    hour and not (0 <= number < HOURS_PER_YEAR and number == int(number))):  # dcplan writes none
                what = ("a weight (hours, at least 0)" if key == "weight" else
                        f"an hour of the year (0 to {HOURS_PER_YEAR - 1})" if hour else
                        f"a finite number of at most {trust.MAX_MAGNITUDE:g} in magnitude")
                raise InputError([Problem(name, line, key, f"'{value}' is not {what}: dcplan writes none, so "
                                          "the file was changed or damaged")])
            columns.setdefault(key, []).append(number)
    for site, columns in sites.items():
        for key, values in columns.items():
            if len(values) != counts[site]:
                raise InputError([Problem(name, None, key, f"empty in some rows of site {site}")])
    return {s: {k: np.array(v) for k, v in cols.items()} for s, cols in sites.items()}


def dispatch_problems(name: str, dispatch: dict[str, dict[str, np.ndarray]], plan: PlanFile) -> list[Problem]:
    """What keeps ``dispatch`` (read from the file ``name``) from covering ``plan``: a site of
    plan.yaml without rows or rows of a site it does not have, a source of a site's energy
    without its column (the chart and the balance would lose it unsaid), a build-out's period without rows
    or rows of a period it does not have, or a site (in a period) with other than the time grid's
    number of steps plan.yaml records (a file cut short or spliced together), so that no reader
    draws, sums or verifies part of a year as if it were all of it."""
    problems = [Problem(name, None, "site", f"rows of site '{site}', which plan.yaml does not have")
                for site in dispatch if site not in plan.sites]
    steps = plan.time_resolution.steps
    by_period = {p.name: p.steps for p in plan.timeline.periods if p.steps} if plan.timeline else {}
    for site in plan.sites:
        columns = dispatch.get(site)
        if columns is None:
            problems.append(Problem(name, None, "site", f"no rows for site '{site}' of plan.yaml"))
            continue
        problems += [Problem(name, 1, f"{source}_mw", f"missing column: plan.yaml's site {site} has energy from "
                             f"{source}; the file was changed or is not this plan's")
                     for source in plan.sites[site].energy_mwh_per_year if f"{source}_mw" not in columns]
        periods = columns.get("period")
        if plan.timeline is not None:  # every period of plan.yaml's timeline, and none other
            named = [p.name for p in plan.timeline.periods]
            found = set(periods) if periods is not None else set()
            problems += [Problem(name, None, "period", f"site {site}: no rows of period {p} of plan.yaml's timeline")
                         for p in named if p not in found]
            problems += [Problem(name, None, "period", f"site {site}: rows of period {p}, which plan.yaml's timeline "
                                 "does not have") for p in sorted(found - set(named))]
        if steps is None:
            continue
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

Number = StrictFloat  # a number as written (a quoted "1.5" or 1e3, text to YAML, is refused: every reader
Count = StrictInt     # of the file reads its data, which had kept the text, not the number checked)
NonNegativeNumber = Annotated[StrictFloat, Field(ge=0)]
NonNegativeCount = Annotated[StrictInt, Field(ge=0)]


class _Record(BaseModel):
    """What the readers (check, report, show, diff) rely on; anything else a plan file carries
    is ignored. A figure dcplan could not write as a number (an infinite one) is null."""

    model_config = ConfigDict(extra="ignore")


Figures = dict[str, Number | None]


class SiteEntry(_Record):
    gpus: dict[str, NonNegativeCount]
    gpus_new: dict[str, NonNegativeCount]
    cloud_gpus: dict[str, NonNegativeNumber] = {}
    cooling: str
    it_mw: NonNegativeNumber
    capacity: dict[str, Count | Number]  # unit counts as written (whole numbers)
    costs_usd_per_year: dict[str, Number]
    energy_mwh_per_year: Figures = {}  # by source: each has its column <source>_mw in dispatch.csv


class CapEntry(_Record):
    name: str
    note: str = ""
    limit: Number | None = None
    value: Number | None = None
    slack: Number | None = None
    shadow_price: Number | None = None


class PeriodEntry(_Record):
    name: str
    start: dt.date
    end: dt.date
    gpus_online: dict[str, dict[str, Number]]
    cloud_gpus_online: dict[str, dict[str, Number]] = {}
    gpus_in_stock: dict[str, dict[str, Number]] = {}
    steps: Count | None = Field(None, ge=1)  # its time grid's; older plans have time_resolution.steps only
    peak_days: Count | None = None
    capacity_online: dict[str, dict[str, Number | str]] = {}  # by site: MW and MWh, and the cooling chosen
    spend_usd: dict[str, Number] = {}

    @field_validator("capacity_online")
    @classmethod
    def _numbers_but_the_cooling(cls, online):
        for site, figures in online.items():
            for key, value in figures.items():
                if isinstance(value, str) != (key == "cooling"):
                    raise ValueError(f"capacity_online.{site}.{key}: expected "
                                     + ("the cooling's name" if key == "cooling" else "a number") + f", found {value!r}")
        return online


class OrderEntry(_Record):
    site: str
    asset: str
    label: str
    quantity: Number
    unit: str
    order_date: dt.date
    online_date: dt.date
    retire_date: dt.date | None = None
    capex_usd: Number = 0.0


class BridgeEntry(_Record):
    site: str
    asset: str
    label: str
    quantity: Number
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
    method: Literal["hourly", "typical_days"]
    steps: Count | None = Field(None, ge=1)  # rows of dispatch.csv per site (and period); older plans lack it
    typical_days: Count | None = Field(None, ge=1, le=366)
    peak_days: Count | None = Field(None, ge=0)  # of the typical days, those kept for a peak hour (the last period's)


class TriedEntry(_Record):
    period: str
    plan: bool


class CurvePoint(_Record):
    period: str
    npv_cost_usd: Number
    saving_usd: Number
    changes: list[str] = []


class OddsRow(_Record):
    period: str | None  # None: not within the horizon
    probability: Number
    cumulative: Number


class LateBy(_Record):
    site: str
    asset: str
    months_late: Number


class HeldOrder(_Record):
    site: str
    asset: str
    label: str = ""
    quantity: Number
    unit: str = ""
    order_period: str
    online_period: str


class HoldingPlan(_Record):
    period: str
    date: dt.date
    planned_for: list[LateBy] = []
    covers_probability: Number
    npv_cost_usd: Number
    holds_probability: Number
    expected_npv_cost_usd: Number | None = None
    orders: list[HeldOrder] = []  # what it orders (plans before 2026-12-02 have none)


class OddsEntry(_Record):
    """The odds of time to power under delays (dcplan.studies.odds.Odds.document)."""

    undecided: bool = False
    p50: str | None = None
    p90: str | None = None
    distribution: list[OddsRow] = []
    plan_holding_90: HoldingPlan | None = None
    notes: list[str] = []


class EarliestEntry(_Record):
    """buildout.earliest's answer (dcplan.studies.earliest.Earliest.document)."""

    goal: dict[str, Number]
    period: str | None = None
    date: dt.date | None = None
    why_not_sooner: list[str] = []
    tried: list[TriedEntry] = []
    curve: list[CurvePoint] = []
    curve_note: str | None = None
    odds: OddsEntry | None = None


class PlanFile(_Record):
    program: str
    dcplan_version: str = ""
    scenario: str | None = None
    time_resolution: TimeResolutionEntry
    caps: list[CapEntry] = []
    timeline: TimelineEntry | None = None
    sites: dict[str, SiteEntry] = Field(min_length=1)
    earliest: EarliestEntry | None = None


class ParetoPoint(_Record):
    co2_limit_t: Number
    co2_t: Number
    cost_usd: Number
    extra_cost_usd: Number
    usd_per_t_avoided: Number | None = None
    marginal_usd_per_t: Number | None = None
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


class SolutionEntry(_Record):
    status: Literal["optimal", "time_limit"]  # a written plan's (an infeasible run writes none)
    gap: NonNegativeNumber | None = None


class TargetEntry(_Record):
    measure: Literal[MEASURES]
    amount: Number


class ReportedPlan(PlanFile):
    """All a report draws: the checks' fields, and the totals and energy dcplan also writes (the
    solution, target and compute of the types diff and check hold them to: show had printed a
    plan whose status read "infeasible" or whose gap was -1)."""

    solution: SolutionEntry
    target: TargetEntry | None = None
    compute_delivered: NonNegativeNumber | None = None
    totals: Figures
    cost_breakdown_usd_per_year: Figures
    sites: dict[str, ReportedSite] = Field(min_length=1)
    pareto: ParetoEntry | None = None


class FiguredSite(SiteEntry):
    emissions_t_per_year: Figures = {}
    water_m3_per_year: Number | None = None
    binding_limits: list[str] = []


class FiguredPlan(PlanFile):
    """What `dcplan diff` and `dcplan check` draw: the checks' fields, and the solution, target,
    totals, costs, energy and emissions, each optional (an older plan in git may lack one) but of
    its type where written (a string for the totals had been an internal error in diff, a word
    for a cost a change "to lots"; check had passed both)."""

    solution: SolutionEntry | None = None
    target: TargetEntry | None = None
    compute_delivered: NonNegativeNumber | None = None
    totals: Figures = {}
    cost_breakdown_usd_per_year: Figures = {}
    sites: dict[str, FiguredSite] = Field(min_length=1)


def read_plan_yaml(path: Path | None = None, text: str | None = None, name: str | None = None,
                   shape: type[PlanFile] = PlanFile) -> tuple[YamlDocument, PlanFile]:
    """plan.yaml from a file (``path``) or from text (``text``, e.g. from a git revision, named
    ``name`` in messages): the document with its lines, and its ``shape`` checked (the fields
    the caller relies on: :class:`PlanFile`, or :class:`ReportedPlan` for a report). Not a plan
    (a site file, say) is an input error saying what it is."""
    doc = load_yaml(path, ()) if text is None else parse_yaml(text, PurePath(name or "plan.yaml"))
    if not isinstance(doc.data, dict) or "program" not in doc.data or "sites" not in doc.data:
        raise InputError([doc.problem((), "not a plan.yaml written by `dcplan plan` (no program: and sites:)")])
    problems = validation_problems(doc, shape, doc.data)
    refuse(problems + _newer_writer(doc) if problems else [])
    plan = shape.model_validate(doc.data)
    _as_checked(doc.data, plan)
    return doc, plan


def _version_key(text: object) -> tuple[int, ...] | None:
    found = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)\S*", str(text).strip())
    return tuple(map(int, found.groups())) if found else None


def _newer_writer(doc: YamlDocument) -> list[Problem]:
    """Where a plan.yaml this dcplan cannot read was written by a newer dcplan, the likely
    reason (a field added since), said once at its ``dcplan_version`` line."""
    written, this = _version_key(doc.data.get("dcplan_version")), _version_key(__version__)
    if written is None or this is None or written <= this:
        return []
    return [doc.problem(("dcplan_version",), f"written by dcplan {doc.data['dcplan_version']}, newer than this "
                        f"dcplan ({__version__}): upgrade dcplan to read it")]


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


# --- a plan's folder, and a Plan read back ----------------------------------------------

class SavedSite(ReportedSite):
    """A site as plan.yaml (and summary.json's ``sites_by_period``) holds it: all a SitePlan needs."""

    country: str = ""
    water_m3_per_year: Number | None = 0.0
    binding_limits: list[str] = []


class SavedCap(CapEntry):
    quantity: str = ""
    scope: str = ""
    sense: str = ""
    binding: bool = False
    shadow_price_unit: str = ""
    origin: str = ""
    source: str = ""
    in_force: bool = True


class SavedPeriod(PeriodEntry):
    target: Number | None = None
    compute_online: Number = 0.0
    energy_mwh: Figures = {}
    co2_t: Number = 0.0


class SavedOrder(OrderEntry):
    quantity: Count | Number  # as written: GPUs whole
    order_period: str = ""
    online_period: str = ""
    latest_order_date: dt.date | None = None
    slack_months: Number = 0.0


class SavedBridge(BridgeEntry):
    start_period: str = ""
    end_period: str = ""
    cost_usd: Number = 0.0


class SavedTimeline(TimelineEntry):
    periods: list[SavedPeriod] = Field(min_length=1)
    orders: list[SavedOrder] = []
    bridges: list[SavedBridge] = []


class SavedPlan(ReportedPlan):
    """All of plan.yaml that :func:`read_plan` turns back into a :class:`Plan`."""

    objective: str = "min_cost"
    target: dict | None = None
    compute_delivered: Number = 0.0
    caps: list[SavedCap] = []
    timeline: SavedTimeline | None = None
    sites: dict[str, SavedSite] = Field(min_length=1)


@dataclasses.dataclass
class PlanFiles:
    """A plan's folder as read: plan.yaml (its document with lines, and its shape checked),
    summary.json and dispatch.csv (site -> column -> values per step)."""

    doc: YamlDocument
    shape: PlanFile
    summary: dict
    dispatch: dict[str, dict[str, np.ndarray]]
    changed: list[str] = dataclasses.field(default_factory=list)  # see changed_files


def read_folder(path: str | os.PathLike, shape: type[PlanFile] = PlanFile) -> PlanFiles:
    """The files `dcplan plan -o FOLDER` wrote, each checked (plan.yaml against ``shape``, the
    dispatch against plan.yaml's time grid); InputError at the file and line when the folder is
    not one or is damaged."""
    path = Path(path)
    if path.is_file():  # the folder beside it only where it is a plan's (a program's folder is not)
        folder = f" ({display_path(path.parent)})" if (path.parent / "plan.yaml").is_file() else ""
        raise InputError([Problem(display_path(path), None, "", f"a file: give the plan's folder{folder}, as "
                                  "`dcplan plan FILE -o FOLDER` wrote it")])
    if not path.is_dir():
        raise InputError([Problem(display_path(path), None, "", "no such folder (write one with "
                                  "`dcplan plan FILE -o FOLDER`)")])
    if not (path / "plan.yaml").is_file():
        raise InputError([Problem(display_path(path / "plan.yaml"), None, "", "file not found: the folder is "
                                  "not an output folder of `dcplan plan`" + sweep_hint(path))])
    doc, plan = read_plan_yaml(path / "plan.yaml", shape=shape)
    summary = _read_json(path / "summary.json")
    note_recorded_inputs(path, summary)
    dispatch = read_dispatch(path / "dispatch.csv")
    refuse(dispatch_problems(display_path(path / "dispatch.csv"), dispatch, plan))
    files = PlanFiles(doc, plan, summary, dispatch, changed_files(path, summary))
    for key, kind in (("solver", dict), ("inputs", list[InputRecord])):  # what every reader relies on
        _summary_value(files, key, kind)
    return files


def changed_files(folder: Path, summary: dict) -> list[str]:
    """The files of a plan's folder that differ from what dcplan wrote: their SHA-256 is not the
    one summary.json records (edited by hand, or another plan's summary beside them). A folder
    written before summary.json kept them (dcplan before 2026-12-04) has none to compare."""
    recorded = summary.get("files")
    if not isinstance(recorded, dict):
        return []
    changed = []
    for name, sha in recorded.items():
        path = folder / str(name)
        if Path(str(name)).name == str(name) and path.is_file():  # a name of the folder's own
            try:
                if file_digest(path.read_bytes()) != sha:
                    changed.append(str(name))
            except OSError:
                changed.append(str(name))
    return changed


def changed_since_written(folder: Path) -> list[str]:
    """:func:`changed_files` of a folder whose summary.json may be missing or unreadable (none
    then: a reader that needs only plan.yaml and dispatch.csv, as `check`)."""
    try:
        return changed_files(folder, _read_json(folder / "summary.json"))
    except InputError:
        return []


def changed_words(changed: list[str]) -> str:
    """What a reader says of :func:`changed_files`."""
    return (f"{' and '.join(changed)} {'differs' if len(changed) == 1 else 'differ'} from what dcplan wrote "
            "(summary.json records another SHA-256): edited by hand, or not this plan's summary; shown as "
            + ("it is" if len(changed) == 1 else "they are"))


def _read_json(path: Path) -> dict:
    name = display_path(path)
    trust.note_read(path)
    try:
        refused = trust.file_problem(path, trust.MAX_YAML_BYTES, "DCPLAN_MAX_YAML_MB", "a summary")  # a pipe waits
        if refused is not None:
            raise InputError([refused])
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError([Problem(name, None, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([Problem(name, None, "", f"cannot read file: {exc}")]) from None
    except json.JSONDecodeError as exc:
        raise InputError([Problem(name, exc.lineno, "", f"invalid JSON: {exc.msg}")]) from None
    except RecursionError:  # dcplan writes it a few levels deep
        raise InputError([Problem(name, None, "", "nested too deep to read: not a summary dcplan wrote")]) from None
    if not isinstance(data, dict):
        raise InputError([Problem(name, 1, "", "expected a JSON object")])
    return data


def note_recorded_inputs(folder: Path, summary: dict | None = None) -> None:
    """The inputs a plan's summary.json (``summary``, read if not given) records, marked read by
    this command (:func:`dcplan.trust.was_read`), so that no output of it is written over them;
    a summary that cannot be read marks none (a reader that needs it says why)."""
    try:
        records = (summary if summary is not None else _read_json(folder / "summary.json")).get("inputs")
    except InputError:
        return
    for record in records if isinstance(records, list) else []:
        if isinstance(record, dict) and isinstance(record.get("path"), str) and "\0" not in record["path"]:
            trust.note_read(folder / record["path"])


class SolverEntry(_Record):
    """summary.json's ``solver``: what the readers rely on; its other figures are kept as written."""

    model_config = ConfigDict(extra="allow")
    status: str
    gap: float | None = None


class InputRecord(_Record):
    path: str  # relative to the plan's folder
    sha256: str


def read_plan(path: str | os.PathLike) -> Plan:
    """A plan's folder (as `dcplan plan -o` or :func:`dcplan.write_plan` wrote it) read back into
    a :class:`Plan`: its figures as written (6 significant digits, dispatch to 4 decimals), its
    totals made of them again, the inputs it records (as they were when it was made). A
    build-out's last period is plan.yaml's, the others summary.json's ``sites_by_period``; from a
    folder written before summary.json kept them (dcplan before 2026-12-02), those periods come
    with their dispatch alone. Not in the files, so not read back: its training jobs' smoothing
    as objects (smoothing.yaml beside the plan has their figures), where in an input file each
    cap was set, and the solve's timings."""
    files = read_folder(path, SavedPlan)
    folder, plan = Path(path), files.shape
    raw = load_yaml(folder / "plan.yaml", ()).data  # as written: before the shape's defaults and dates
    solver = _summary_value(files, "solver", SolverEntry)
    records = _summary_value(files, "inputs", list[InputRecord]) or []
    sites = [_site_plan(name, entry, _dispatch_of(files.dispatch[name])) for name, entry in plan.sites.items()]
    timeline = None
    if plan.timeline is not None:
        timeline = _timeline(files, plan, _sites_by_period(files, plan), folder / "timeline.csv")
        sites = timeline.sites_by_period[-1]
    return Plan(
        program=plan.program, scenario=plan.scenario, objective=plan.objective, time_resolution=raw["time_resolution"],
        solver=solver.model_dump() if solver else dict(plan.solution), sites=sites, target=raw.get("target"),
        compute_delivered=plan.compute_delivered,
        caps=[CapReport(c.name, c.quantity, c.scope, c.sense, c.limit, c.value, c.slack, c.binding, c.shadow_price,
                        c.shadow_price_unit, c.origin, c.source, "", None, c.in_force, c.note) for c in plan.caps],
        timeline=timeline, version=plan.dcplan_version, year=_year(files, sites[0].name),
        earliest=raw.get("earliest"), pareto=raw.get("pareto"),
        inputs={real_path(folder / r.path): r.sha256 for r in records},
        overrides=_summary_value(files, "sweep_values", dict[str, object]) or {})


def _summary_value(files: PlanFiles, key: str, kind):
    """summary.json's ``key`` checked as ``kind`` (None where it has none): InputError naming it."""
    if files.summary.get(key) is None:
        return None
    try:
        return TypeAdapter(kind).validate_python(files.summary[key])
    except ValidationError as exc:
        raise InputError([Problem(_summary_name(files), None, ".".join(map(str, (key, *e["loc"]))),
                                  re.sub(r" or instance of \w+", "", e["msg"][:1].lower() + e["msg"][1:]))
                          for e in exc.errors(include_url=False)]) from None


def _summary_name(files: PlanFiles) -> str:
    return display_path(files.doc.path.parent / "summary.json")


def _sites_by_period(files: PlanFiles, plan: SavedPlan) -> dict[str, dict[str, SavedSite]]:
    """summary.json's ``sites_by_period``, every period of the timeline with every site of
    plan.yaml and nothing else; {} from a folder written before it kept them."""
    by_period = _summary_value(files, "sites_by_period", dict[str, dict[str, SavedSite]]) or {}
    if not by_period:
        return {}
    periods, sites = [p.name for p in plan.timeline.periods], set(plan.sites)
    problems = [Problem(_summary_name(files), None, "sites_by_period", f"no period {p} of plan.yaml's timeline")
                for p in periods if p not in by_period]
    problems += [Problem(_summary_name(files), None, f"sites_by_period.{p}", "a period plan.yaml's timeline does not have")
                 for p in by_period if p not in periods]
    problems += [Problem(_summary_name(files), None, f"sites_by_period.{p}", f"its sites are {sorted(entries)}, "
                         f"plan.yaml's {sorted(sites)}") for p, entries in by_period.items() if set(entries) != sites]
    refuse(problems)
    return by_period


def _year(files: PlanFiles, site: str) -> int | None:
    """The calendar year of a plan's hours: its first timestamp's."""
    stamps = files.dispatch[site].get("timestamp")
    if stamps is None:
        return None
    try:
        return dt.datetime.fromisoformat(str(stamps[0])).year
    except ValueError:
        raise InputError([Problem(display_path(files.doc.path.parent / "dispatch.csv"), None, "timestamp",
                                  f"'{stamps[0]}' is not ISO 8601")]) from None


def _dispatch_of(columns: dict[str, np.ndarray], rows=slice(None)) -> dict[str, np.ndarray]:
    """A site's dispatch columns (of ``rows``), without those the writer adds to each row."""
    return {k: v[rows] for k, v in columns.items() if k not in ("step", "timestamp", "period")}


def _site_plan(name: str, entry: SavedSite | FiguredSite | None, dispatch: dict[str, np.ndarray]) -> SitePlan:
    if entry is None:  # a period a folder written before 2026-12-02 does not describe
        return SitePlan(name, "", dispatch=dispatch)
    emissions = entry.emissions_t_per_year
    saved = isinstance(entry, SavedSite)  # a FiguredSite (check's, diff's) leaves out what no figure needs
    return SitePlan(name, entry.country if saved else "", gpus=dict(entry.gpus), gpus_new=dict(entry.gpus_new),
                    cloud_gpus=dict(entry.cloud_gpus), cooling=entry.cooling, it_mw=entry.it_mw,
                    capacity=dict(entry.capacity), energy_mwh={k: v or 0.0 for k, v in entry.energy_mwh_per_year.items()},
                    costs_usd=dict(entry.costs_usd_per_year), co2_t=emissions.get("co2") or 0.0,
                    nox_t=emissions.get("nox") or 0.0, water_m3=(entry.water_m3_per_year or 0.0) if saved else 0.0,
                    dispatch=dispatch, binding=list(entry.binding_limits))


def figures_of(plan: FiguredPlan, dispatch: dict[str, dict[str, np.ndarray]]) -> dict[str, float]:
    """The key figures (:meth:`Plan.key_figures`, the one definition) that plan.yaml's sites (a
    build-out's last period) and their rows of dispatch.csv make: what its ``totals`` must be."""
    last = plan.timeline.periods[-1].name if plan.timeline is not None else None
    sites = [_site_plan(name, entry, _dispatch_of(dispatch[name], slice(None) if last is None
                                                   else dispatch[name]["period"] == last))
             for name, entry in plan.sites.items() if name in dispatch]
    return Plan(program=plan.program, scenario=plan.scenario, objective="", time_resolution={}, solver={},
                sites=sites, target=None, compute_delivered=0.0).key_figures()


def _timeline(files: PlanFiles, plan: SavedPlan, by_period: dict, assets_csv: Path) -> Timeline:
    """plan.yaml's ``timeline:`` as a Timeline: each period's sites (the last period's from
    plan.yaml, the reviewed file; the others from ``by_period``) with their rows of dispatch.csv."""
    t = plan.timeline
    whole = lambda g: {site: {k: round(v) for k, v in models.items()} for site, models in g.items()}  # noqa: E731
    periods = [PeriodLine(p.name, p.start.isoformat(), p.end.isoformat(), p.target, p.compute_online,
                          whole(p.gpus_online), dict(p.capacity_online), dict(p.spend_usd), dict(p.energy_mwh), p.co2_t,
                          dict(p.cloud_gpus_online), whole(p.gpus_in_stock), p.steps or 0, p.peak_days or 0)
               for p in t.periods]
    sites_by_period = []
    for i, p in enumerate(periods):
        entries = plan.sites if i == len(periods) - 1 else by_period.get(p.name, {})
        sites_by_period.append([_site_plan(name, entries.get(name), _dispatch_of(files.dispatch[name],
                                                                                 files.dispatch[name]["period"] == p.name))
                                for name in plan.sites])
    iso = lambda d: d.isoformat() if d is not None else None  # noqa: E731
    orders = [OrderLine(o.site, o.asset, o.label, o.quantity, o.unit, o.order_period, iso(o.order_date), o.online_period,
                        iso(o.online_date), iso(o.retire_date), o.capex_usd, iso(o.latest_order_date) or "", o.slack_months)
              for o in t.orders]
    bridges = [Bridge(b.site, b.asset, b.label, b.quantity, b.unit, b.start_period, iso(b.start_date), b.end_period,
                      iso(b.end_date), b.cost_usd) for b in t.bridges]
    totals = t.totals
    return Timeline(t.period_length, t.base_date.isoformat(), periods, orders, bridges, totals.get("npv_cost_usd") or 0.0,
                    totals.get("salvage_credit_usd") or 0.0, totals.get("cost_per_gpu_hour_usd"), sites_by_period,
                    _assets(assets_csv, periods))


def _assets(path: Path, periods: list[PeriodLine]) -> dict[str, dict[tuple, list]]:
    """timeline.csv back into Timeline.assets: period -> (site, asset, unit) -> [ordered, online,
    rented, capex]; empty periods where the file is missing."""
    assets: dict[str, dict[tuple, list]] = {p.name: {} for p in periods}
    if not path.exists():
        return assets
    name = display_path(path)
    rows = trust.read_csv_rows(path)
    if not rows or rows[0] != TIMELINE_COLUMNS:
        raise InputError([Problem(name, 1, "", f"not the columns dcplan writes in timeline.csv: {', '.join(TIMELINE_COLUMNS)}")])
    for line, row in enumerate(rows[1:], start=2):
        try:
            if len(row) != len(TIMELINE_COLUMNS) or row[0] not in assets:
                raise ValueError
            assets[row[0]][tuple(row[3:6])] = [float(v) for v in row[6:10]]
        except ValueError:
            raise InputError([Problem(name, line, "", f"expected {len(TIMELINE_COLUMNS)} fields, a period of "
                                      "plan.yaml's timeline first and numbers last")]) from None
    return assets
