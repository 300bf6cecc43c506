"""Read a `dcplan plan` output folder back into one plain object for the HTML report and
`dcplan show`: plan.yaml, summary.json and dispatch.csv, and when present the build-out
timeline (plan.yaml's ``timeline:``) and a smoothing result (smoothing.yaml, schedule.csv).
A missing or damaged file is an InputError naming the file and line, never a traceback."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import dcplan.trust as trust
from dcplan.errors import InputError, Problem, display_path, real_path, refuse
from dcplan.formatting import counted, fixed, gap_words, money, time_resolution_words
from dcplan.plans.files import ReportedPlan, read_folder
from dcplan.schema.compute import MEASURE_UNITS
from dcplan.smoothing.output import SCHEDULE_COLUMNS, read_schedule
from dcplan.yamlio import YamlDocument, load_yaml

EMBED_LIMIT_BYTES = 512 * 1024  # inputs larger than this are listed, not embedded
INPUT_KIND = re.compile(rb"^kind:[ \t]*[\"']?(program|site|workload)[\"']?[ \t]*(#.*)?$", re.MULTILINE)
"""The YAML files a plan is made from say what they are on a line of their own (input_files)."""
SUPPLY = re.compile(r"^(grid|solar|wind|battery_discharge|unserved)_mw$|^(gas|rental|rented)_.+_mw$")
SUPPLY_ORDER = ("grid", "gas", "rent", "solar", "wind", "battery", "unserved")  # rent: rental_ or rented_

# smoothing.yaml as the report reads it, checked up front so that a damaged file is reported,
# not a traceback (plan.yaml's shape is dcplan.plans.files.PlanFile, the one reader's)
SMOOTHING_SHAPE = {"before": dict, "limits": dict, "workload": dict}
YEAR_START = dt.date(2001, 1, 1)  # a year of 365 days, as dcplan's 8,760 hours count
MONTHS = [dt.date(2001, m, 1).strftime("%b") for m in range(1, 13)]
MONTH_OF_DAY = np.array([(YEAR_START + dt.timedelta(days=d)).month - 1 for d in range(365)])
SOURCES = ("grid", "gas", "solar", "wind", "battery", "unserved")  # what plan.yaml's costs can be split by
RUNNING_COSTS = ("grid_energy", "gas_fuel", "gas_variable_om", "unserved_energy")  # paid per MWh


@dataclass
class InputFile:
    """An input the plan was made from, as it is now; ``note`` says why it may not be shown as it was."""

    path: Path
    text: str | None
    note: str = ""


@dataclass
class PlanFolder:
    path: Path
    plan: dict  # plan.yaml
    summary: dict  # summary.json
    dispatch: dict[str, dict[str, np.ndarray]]  # site -> column -> values per step ('period' is text)
    inputs: list[InputFile] = field(default_factory=list)
    smoothing: dict | None = None  # smoothing.yaml
    schedule: dict[str, np.ndarray] | None = None  # schedule.csv
    changed: list[str] = field(default_factory=list)  # files that differ from what dcplan wrote

    @property
    def timeline(self) -> dict | None:
        return self.plan.get("timeline")

    @property
    def earliest(self) -> dict | None:
        """What ``buildout.earliest`` found (plan.yaml's ``earliest:``, :mod:`dcplan.studies.earliest`):
        the goal, the earliest period, why not sooner, the periods tried, and the time-to-power curve."""
        return self.plan.get("earliest")

    @property
    def pareto(self) -> dict | None:
        """The cost-against-CO2 points (plan.yaml's ``pareto:``, :mod:`dcplan.studies.pareto`)."""
        return self.plan.get("pareto")


@dataclass
class Week:
    """About a week of one site's dispatch, hour by hour, to chart."""

    label: str  # which hours these are, e.g. "the week closest to the year's supply mix"
    days: list[str]  # a label per 24 steps
    supply: dict[str, np.ndarray]  # dispatch column -> MW, in stacking order
    charge: np.ndarray | None  # battery charging, MW
    load: np.ndarray


@dataclass
class Year:
    """A year of one site's dispatch, every step, for the whole-year views: each step's hours
    of the year and the column (a calendar day, or a typical day) it falls in."""

    label: str  # which steps these are
    typical: bool  # typical days: which calendar days each stands for is not in the folder
    hour: np.ndarray  # hour of the year (0-8759) each step samples
    weight_h: np.ndarray  # hours of the year each step stands for (about 8,760 in all)
    day: np.ndarray  # each step's column: its day of the year, or its typical day (in calendar order)
    days: list[str]  # a date per column
    day_weight: np.ndarray  # days of the year each column stands for (1 on a calendar)
    supply: dict[str, np.ndarray]  # dispatch column -> MW, in stacking order
    load: np.ndarray  # facility load, MW
    price: np.ndarray | None  # grid energy price, $/MWh
    grid_co2_t_per_mwh: np.ndarray | None = None  # the grid's hourly CO2 intensity

    def by_day(self, mw: np.ndarray) -> np.ndarray:
        """``mw`` laid out for a heat map: a row per column (day), a value per hour of the day, NaN where none."""
        cells = np.full((len(self.days), 24), np.nan)
        cells[self.day, self.hour % 24] = mw
        return cells

    def groups(self) -> tuple[list[str], np.ndarray]:
        """The rows of the monthly views and each step's: the months of a calendar year, but
        the typical days of a typical-day plan, whose steps belong to no month in particular."""
        if self.typical:
            return self.days, self.day
        return MONTHS, MONTH_OF_DAY[np.minimum(self.hour // 24, 364)]

    def energy_mwh(self, mw: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
        """MWh of ``mw`` in each of ``n`` groups (each step's in ``group``)."""
        return np.bincount(group, weights=self.weight_h * mw, minlength=n)


@dataclass
class SourceCost:
    """A source's share of a site's cost per year (plan.yaml's cost lines by their prefix)."""

    source: str  # one of SOURCES
    mw: float  # capacity built (the grid: its peak import)
    energy_mwh: float  # per year (the battery: discharged)
    cost_usd: float  # per year, all its cost lines
    running_usd: float  # per year, its lines paid per MWh (RUNNING_COSTS)
    kinds: dict[str, float]  # MWh per year of each type (the gas units)
    limit_mw: float | None = None  # the grid connection

    def per_mwh(self, usd: float) -> float | None:
        return usd / self.energy_mwh if self.energy_mwh > 0.5 else None


def load_folder(path: Path) -> PlanFolder:
    """Read an output folder of `dcplan plan`; raise InputError when it is not one or is damaged."""
    path = Path(path)
    files = read_folder(path, ReportedPlan)
    folder = PlanFolder(path, files.doc.data, files.summary, files.dispatch, _inputs(path, files.summary),
                        changed=files.changed)
    if (path / "smoothing.yaml").is_file():
        smoothing = load_yaml(path / "smoothing.yaml")
        _need(smoothing, (), smoothing.data, SMOOTHING_SHAPE)
        for key in ("before", "after", "limits", "costs_usd_per_year"):
            value = smoothing.data.get(key)
            if value is not None and not isinstance(value, dict):
                raise InputError([smoothing.problem((key,), f"expected a mapping of figures, found '{value}'")])
            _numbers(smoothing, (key,), value)
        folder.smoothing = smoothing.data
        folder.schedule = _read_schedule(path / "schedule.csv")
    return folder


def _need(doc: YamlDocument, loc: tuple, value, shape: dict) -> None:
    if not isinstance(value, dict):
        raise InputError([doc.problem(loc, "expected a mapping")])
    problems = [doc.problem(loc + (key,), f"missing key '{key}'" if key not in value else "expected a mapping")
                for key, kind in shape.items() if not isinstance(value.get(key), kind)]
    refuse(problems)


def goal_text(goal: dict) -> str:
    """An earliest goal for people: {'gpus': 10000} -> '10,000 GPUs'."""
    return ", ".join(f"{fixed(amount, 0 if float(amount).is_integer() else 2)} "
                     f"{MEASURE_UNITS.get(measure, str(measure).replace('_', ' '))}"
                     for measure, amount in goal.items() if isinstance(amount, (int, float))) or "-"


def _numbers(doc: YamlDocument, loc: tuple, value) -> None:
    """Every value under ``loc`` is a number or null (dcplan writes an infinite one as null)."""
    if isinstance(value, dict):
        for key, item in value.items():
            _numbers(doc, loc + (key,), item)
    elif value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise InputError([doc.problem(loc, f"expected a number, found '{value}'")])


def _read_schedule(path: Path) -> dict[str, np.ndarray]:
    name = display_path(path)
    if not path.is_file():
        raise InputError([Problem(name, None, "", "file not found (smoothing.yaml is beside it)")])
    try:
        with warnings.catch_warnings():  # numpy warns of an empty file, then finds no columns: said below
            warnings.simplefilter("ignore")
            schedule = read_schedule(path)
    except (OSError, UnicodeDecodeError, ValueError, IndexError, TypeError) as exc:
        raise InputError([Problem(name, None, "", "cannot read schedule: " + (
            "empty file" if path.stat().st_size == 0 else str(exc)))]) from None
    for key in SCHEDULE_COLUMNS:
        values = schedule.get(key)
        if values is None or values.ndim != 1 or len(values) < 2:
            raise InputError([Problem(name, 1, key, "missing column, or fewer than 2 rows")])
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad):
            raise InputError([Problem(name, int(bad[0]) + 2, key, "not a number")])
    return schedule


def _inputs(path: Path, summary: dict) -> list[InputFile]:
    """The inputs summary.json records (relative to the folder, with their SHA-256), as they are now
    (YAML files embedded, data files such as CSVs only said to be as they were or changed); only
    those in the folder's trusted folders (:mod:`dcplan.trust`), and only program, site and workload
    files: a summary.json from a pull request must not embed /etc/passwd, or a secrets.yaml beside
    the plans, in a report."""
    out, folders = [], trust.trusted_folders(path)
    for i, record in enumerate(summary.get("inputs") or []):
        if not isinstance(record, dict) or not isinstance(record.get("path"), str) or "\0" in record["path"]:
            raise InputError([Problem(display_path(path / "summary.json"), None, f"inputs[{i}]",
                                      "expected {path: ..., sha256: ...}")])
        where = real_path(path / record["path"])
        if trust.outside(where, folders):
            out.append(InputFile(where, None, "not shown: outside the folders a report may read"))
            continue
        data_file = where.suffix.lower() not in (".yaml", ".yml")  # hourly series, traces: the hash says enough
        try:
            status = where.stat()
            if not stat.S_ISREG(status.st_mode) or (status.st_size > EMBED_LIMIT_BYTES and not data_file):
                out.append(InputFile(where, None, f"{status.st_size:,} bytes: too large to embed"
                                     if stat.S_ISREG(status.st_mode) else "not a regular file"))
                continue
            if data_file:
                with where.open("rb") as fh:
                    same = hashlib.file_digest(fh, "sha256").hexdigest() == record.get("sha256")
                out.append(InputFile(where, None, "data, not embedded: " + ("as when the plan was made" if same
                                                                             else "changed since the plan was made")))
                continue
            data = where.read_bytes()
        except OSError:
            out.append(InputFile(where, None, "not found: moved or deleted since the plan was made"))
            continue
        if not INPUT_KIND.search(data):  # a summary.json edited to name some other YAML of the folders
            out.append(InputFile(where, None, "not shown: not a program, site or workload file"))
            continue
        same = hashlib.sha256(data).hexdigest() == record.get("sha256")
        note = "" if same else "changed since the plan was made: this is the file as it is now"
        try:
            out.append(InputFile(where, data.decode("utf-8"), note))
        except UnicodeDecodeError:
            out.append(InputFile(where, None, "not a UTF-8 text file"))
    return out


def source_rank(column: str) -> int:
    """Where a source goes in a stack or a list: firm sources first."""
    return next((i for i, p in enumerate(SUPPLY_ORDER) if column.startswith(p)), len(SUPPLY_ORDER))


def supply_columns(columns) -> list[str]:
    """The dispatch columns that supply the load, firm sources first (the stacking order)."""
    return sorted((c for c in columns if SUPPLY.match(c)), key=source_rank)


def source_key(name: str) -> str:
    """One key per source whatever file it comes from, so that it keeps its colour in every
    chart: 'gas_lm6000_mw' -> 'gas_lm6000', 'battery_discharge' -> 'battery', 'grid_peak_import_mw' -> 'grid'."""
    key = name.removesuffix("_mw")
    return {"battery_discharge": "battery", "grid_peak_import": "grid"}.get(key, key)


def source_label(name: str) -> str:
    return {"battery_charge": "battery charging"}.get(source_key(name), source_key(name)).replace("_", " ")


def day_label(hour_of_year: float) -> str:
    day = dt.date(2001, 1, 1) + dt.timedelta(hours=int(hour_of_year))  # a year of 365 days
    return f"{day.day} {day:%b}"


def typical_week(folder: PlanFolder, site: str) -> Week:
    """A week of the site's dispatch: the 7 most-weighted typical days in calendar order, the
    week of the year whose supply mix is closest to the year's, or the first 168 steps; for a
    multi-period plan, of its last period."""
    d = folder.dispatch[site]
    rows = np.arange(len(d["load_mw"]))
    period = ""
    if "period" in d:
        period = str(d["period"][-1])
        rows = rows[d["period"] == period]
    columns = supply_columns(d)
    hours = d["hour_of_year"][rows]
    n, days = len(rows), len(rows) // 24
    if folder.plan["time_resolution"].get("method") == "typical_days" and n % 24 == 0 and n:
        weight = d["weight"][rows].reshape(days, 24).sum(axis=1) / 24  # days of a year each stands for
        if period:  # a period's weights are a yearly rate: days of its own instead
            entry = next(p for p in (folder.plan.get("timeline") or {}).get("periods", []) if p["name"] == period)
            weight = weight * _years(entry)
        pick = np.argsort(-weight, kind="stable")[:7]
        pick = pick[np.argsort(hours[pick * 24])]
        rows = np.concatenate([rows[24 * p:24 * p + 24] for p in pick])
        labels = [f"{day_label(hours[24 * p])} ×{weight[p]:.0f}" for p in pick]
        what = (f"the {len(pick)} most-weighted of {days} typical days (×N: the days each stands for)"
                if days > len(pick) else f"the {days} typical days (×N: the days each stands for)")
    elif n >= 168 and n % 24 == 0 and columns:
        daily = np.column_stack([d[c][rows] for c in columns]).reshape(days, 24, -1).sum(axis=1)
        cum = np.vstack([np.zeros(daily.shape[1]), np.cumsum(daily, axis=0)])
        weeks = cum[7:] - cum[:-7]
        share = weeks / np.maximum(weeks.sum(axis=1, keepdims=True), 1e-9)
        year = daily.sum(axis=0) / max(daily.sum(), 1e-9)
        first = int(np.argmin(np.abs(share - year).sum(axis=1)))
        rows = rows[24 * first:24 * (first + 7)]
        labels = [day_label(h) for h in hours[24 * first::24][:7]]
        what = "the week whose supply mix is closest to the year's"
    else:
        rows = rows[:168]
        labels = [f"steps {i}–{min(i + 24, len(rows)) - 1}" for i in range(0, len(rows), 24)]
        what = f"the first {len(rows)} time steps"
    charge = d["battery_charge_mw"][rows] if "battery_charge_mw" in d else None
    return Week(what + (f", period {period}" if period else ""), labels,
                {c: d[c][rows] for c in columns}, charge, d["load_mw"][rows])


def _years(period: dict) -> float:
    """A period's length as a share of a year, by its calendar months."""
    after = period["end"] + dt.timedelta(days=1)
    return ((after.year - period["start"].year) * 12 + after.month - period["start"].month) / 12


def last_year(periods: list[dict]) -> dict[str, float]:
    """A build-out's last periods that together make a year, by name (in timeline order), each
    with its share of a year."""
    chosen: dict[str, float] = {}
    for p in reversed(periods):
        if chosen and sum(chosen.values()) + _years(p) > 1 + 1e-9:
            break
        chosen[p["name"]] = min(_years(p), 1.0)
    return dict(reversed(chosen.items()))


def whole_year(folder: PlanFolder, site: str) -> Year:
    """Every step of one year of the site's dispatch: all of a single-period plan's; of a
    build-out, its last periods that together make a year, each step's weight scaled by its
    period's share of a year (a period's weights are a yearly rate)."""
    d = folder.dispatch[site]
    rows, weight = np.arange(len(d["load_mw"])), d["weight"].astype(float)
    label = "the whole year"
    if "period" in d and folder.timeline:
        chosen = last_year(folder.timeline["periods"])
        share = np.array([chosen.get(str(p), 0.0) for p in d["period"]])
        rows, weight = rows[share > 0], weight * share
        names = list(chosen)
        label = (f"the build-out's last year, periods {names[0]} to {names[-1]} (each at its share of a year)"
                 if len(names) > 1 else f"the build-out's last period, {names[0]}")
    hour, weight, n = d["hour_of_year"][rows].astype(int), weight[rows], len(rows)
    typical = folder.plan["time_resolution"].get("method") == "typical_days" and n % 24 == 0 and n > 0
    if typical:
        order = np.argsort(hour[::24], kind="stable")  # typical days in calendar order
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        day = np.repeat(rank, 24)
        days = [day_label(hour[24 * i]) for i in order]
        day_weight = weight.reshape(-1, 24).sum(axis=1)[order] / 24
    else:
        day = np.clip(hour // 24, 0, 364)
        days = [day_label(24 * i) for i in range(365)]
        day_weight = np.ones(365)
    price = d["price_usd_per_mwh"][rows] if "price_usd_per_mwh" in d else None
    co2 = d["grid_co2_t_per_mwh"][rows] if "grid_co2_t_per_mwh" in d else None
    return Year(label, typical, hour, weight, day, days, day_weight,
                {c: d[c][rows] for c in supply_columns(d)}, d["load_mw"][rows], price, co2)


@dataclass
class Merit:
    """What a MWh from the grid (each step) and from gas (the year's mean) costs to run, with
    the carbon price where the plan has one (its carbon line over its CO2), so that the report
    weighs them as the plan did: without it, a $20/t price had left the grid "above gas's running
    cost in 100 % of hours" where with it gas cost $8.36/MWh more."""

    grid_usd_per_mwh: np.ndarray
    gas_usd_per_mwh: float
    carbon_usd_per_t: float  # 0 where the plan prices no CO2


def merit(site: dict, year: Year) -> Merit | None:
    """The grid's and gas's running cost at ``site`` (None without a grid price or gas energy)."""
    gas = next((c for c in source_costs(site) if c.source == "gas"), None)
    running = gas.per_mwh(gas.running_usd) if gas else None
    if year.price is None or running is None:
        return None
    co2_t = (site.get("emissions_t_per_year") or {}).get("co2") or 0.0
    carbon = site["costs_usd_per_year"].get("carbon") or 0.0
    if carbon <= 0 or co2_t <= 0:
        return Merit(year.price, running, 0.0)
    per_t = carbon / co2_t
    grid_co2 = year.grid_co2_t_per_mwh if year.grid_co2_t_per_mwh is not None else np.zeros(len(year.price))
    imported_t = float(np.sum(year.weight_h * year.supply.get("grid_mw", 0.0) * grid_co2))
    return Merit(year.price + per_t * grid_co2, running + per_t * max(co2_t - imported_t, 0.0) / gas.energy_mwh, per_t)


def cash_flow_by_year(timeline: dict) -> dict[int, dict[str, float]]:
    """A build-out's spend in each calendar year: the capital of the orders placed that year
    (committed), the capital its periods pay (part at order, the rest at delivery), and their
    operating and rental cost (nominal)."""
    years: dict[int, dict[str, float]] = {}

    def add(year: int, key: str, usd) -> None:
        row = years.setdefault(year, dict.fromkeys(("ordered", "paid", "operating", "rental"), 0.0))
        row[key] += usd if isinstance(usd, (int, float)) else 0.0

    for p in timeline["periods"]:
        spend = p.get("spend_usd") or {}
        add(p["start"].year, "paid", spend.get("capital"))
        add(p["start"].year, "operating", spend.get("operating"))
        add(p["start"].year, "rental", spend.get("rental"))
    for o in timeline["orders"]:
        add(o["order_date"].year, "ordered", o.get("capex_usd"))
    return dict(sorted(years.items()))


def duration_curve(values: np.ndarray, weight_h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``values`` from the highest down, with the hours of the year each stands for: read
    cumulatively, how many hours a year the load (or price) is at or above each level."""
    order = np.argsort(-values, kind="stable")
    return values[order], weight_h[order]


def _source_of(key: str) -> str | None:
    """The source a cost line or an energy key belongs to: 'gas_fuel' and 'rental_gas_x' -> 'gas'."""
    if key.startswith(("rental_gas", "rented_gas")):
        return "gas"
    return next((s for s in SOURCES if key.startswith(s + "_") or key == s), None)


def source_costs(site: dict) -> list[SourceCost]:
    """Each source's capacity, energy and cost per year at a site, from plan.yaml: the sources
    the site has, or could have built (a candidate left unbuilt has its capacity at 0)."""
    c = site["capacity"]
    out: dict[str, SourceCost] = {}

    def get(source: str) -> SourceCost:
        return out.setdefault(source, SourceCost(source, 0.0, 0.0, 0.0, 0.0, {}))

    for key, mw in c.items():
        source = _source_of(key.removesuffix("_mw"))
        if key == "grid_limit_mw":
            get("grid").limit_mw = mw
        elif key == "grid_peak_import_mw":
            get("grid").mw = mw or 0.0
        elif source and key.endswith("_mw") and source != "grid":
            get(source).mw += mw or 0.0
    for key, mwh in site["energy_mwh_per_year"].items():
        source = _source_of(source_key(key))
        if source and key != "battery_charge":
            get(source).energy_mwh += mwh or 0.0
            get(source).kinds[source_key(key)] = mwh or 0.0
    for key, usd in site["costs_usd_per_year"].items():
        if _source_of(key) and usd:
            get(_source_of(key)).cost_usd += usd
            if key in RUNNING_COSTS:
                get(_source_of(key)).running_usd += usd
    return sorted(out.values(), key=lambda s: SOURCES.index(s.source))




def _scaled(x, factor: float):
    return x * factor if isinstance(x, (int, float)) else x


def rate_of(folder: PlanFolder) -> str:
    """What a plan's yearly figures are a year of: "" for a year's plan; for a build-out whose
    periods are shorter than a year, its last period's rate ("2029-Q4's rate"), that season's."""
    periods = folder.timeline["periods"] if folder.timeline else []
    return f"{periods[-1]['name']}'s rate" if len(last_year(periods)) > 1 else ""


def by_model(folder: PlanFolder, key: str) -> dict[str, float]:
    """The sites' ``gpus`` (or ``cloud_gpus``) added up by model."""
    out: dict[str, float] = {}
    for site in folder.plan["sites"].values():
        for model, count in (site.get(key) or {}).items():
            out[model] = out.get(model, 0) + (count or 0)
    return out


def key_figures(folder: PlanFolder) -> list[tuple[str, str, str]]:
    """(figure, value, detail): the same list heads the HTML report and `dcplan show`."""
    plan, totals = folder.plan, folder.plan["totals"]
    sites = plan["sites"]
    gpus, cloud = by_model(folder, "gpus"), by_model(folder, "cloud_gpus")
    resolution = plan["time_resolution"]
    periods = (plan.get("timeline") or {}).get("periods") or []
    when = time_resolution_words(resolution, [p.get("peak_days") or 0 for p in periods])
    solution = plan["solution"]
    gap = solution.get("gap")
    co2 = totals.get("co2_t_per_year")
    rate = rate_of(folder)
    periods = folder.timeline["periods"] if folder.timeline else []
    last = {p["name"]: p for p in periods if p["name"] in last_year(periods)}
    figures = [
        ("GPUs", fixed(totals.get("gpus")), ", ".join([f"{n:,} {m}" for m, n in gpus.items() if n]
                                                    + [f"{n:,.0f} {m} rented in the cloud" for m, n in cloud.items() if n])),
        ("IT load", fixed(totals.get("it_mw"), 1, " MW"), f"{counted(len(sites), 'site')}: "
         + ", ".join(sites)),
        ("cost per year", money(totals.get("total_cost_usd_per_year")),
         "annualised capital, fuel and O&M" + (f" at {rate}" if rate else "")),
        ("cost per GPU-hour", fixed(totals.get("cost_usd_per_gpu_hour"), 2, prefix="$"), "all-in"),
        ("levelised cost", fixed(totals.get("levelised_cost_usd_per_mwh"), 0, "/MWh", "$"),
         fixed(totals.get("power_cost_usd_per_mwh"), 1, "/MWh", "$") + " for power alone"),
        ("facility energy", fixed(_scaled(totals.get("facility_energy_mwh_per_year"), 1e-3), 0, " GWh/yr"),
         (f"{rate}; " if rate else "") + (f"PUE {fixed(totals.get('pue'), 3)} over "
                                          + (periods[-1]["name"] if rate else "the year")
                                          if totals.get("pue") is not None else "")),
        # a quarter's rate leaves the other seasons out: the last year's periods as emitted beside it
        ("CO2", fixed(co2, 0, " t/yr"), (f"{rate}; {sum(p['co2_t'] for p in last.values()):,.0f} t in "
                                         f"{next(iter(last))} to {list(last)[-1]}; " if rate else "")
         + f"NOx {fixed(totals.get('nox_t_per_year'), 1)} t/yr"),
    ]
    target = plan.get("target")
    if isinstance(target, dict):
        figures.append(("compute", f"{fixed(plan.get('compute_delivered'))} {str(target.get('measure')).replace('_', ' ')}",
                        f"target {fixed(target.get('amount'))}"))
    caps = [c for c in plan.get("caps") or [] if isinstance(c, dict) and c.get("in_force", True)]
    if caps:
        binding = [c.get("name", "?") for c in caps if c.get("binding")]
        rows = " period rows" if folder.timeline else ""  # a build-out's caps: one row a period, as `plan` says
        figures.append(("caps", f"{len(binding)} of {len(caps)}{rows} binding", ", ".join(binding)))
    timeline = folder.timeline
    if timeline:
        periods = timeline["periods"]
        npv = (timeline.get("totals") or {}).get("npv_cost_usd")
        figures.append(("build-out", f"{len(periods)} {timeline.get('period_length', 'period')}s",
                        f"{periods[0]['name']} to {periods[-1]['name']}"))
        figures.append(("NPV cost", money(npv), f"discounted to {timeline.get('base_date', 'the start')}"))
    earliest = folder.earliest
    if earliest:
        figures.append(("time to power", str(earliest.get("period") or "not in the horizon"),
                        f"{goal_text(earliest['goal'])} online" + (f" from {earliest['date']}"
                                                                   if earliest.get("date") else "")))
    solver = folder.summary.get("solver") or {}
    seconds, share = solver.get("solve_seconds"), solver.get("gap_share")
    solved = f"; solved in {seconds:,.1f} s" if isinstance(seconds, (int, float)) else ""
    gap_text = gap_words(gap, share if isinstance(share, (int, float)) else 1.0) if isinstance(gap, (int, float)) and gap else ""
    figures.append(("solution", f"{solution.get('status', '?')}" + (f", gap {gap_text}" if gap_text else ""), when + solved))
    return figures
