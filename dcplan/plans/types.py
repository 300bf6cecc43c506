"""A plan as data: what to build and buy at each site, its dispatch, costs, emissions and caps,
and for a build-out its timeline of orders, rentals and periods. Made from a solved model by
:mod:`dcplan.model.results`; written, read, shown and compared as this one shape."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from dcplan.extras import pandas
from dcplan.version import __version__

COMPUTE_LINES = ("gpus", "cloud_rental", "cooling", "cooling_rental")
"""Cost lines of the compute and the plant that cools it, set mostly by the compute target and
often nine tenths of a plan's cost; the other lines are the power system's."""


def gas_key(candidate: str, what: str) -> str:
    """The capacity key of a gas candidate's ``what``: ``units`` (in use), ``new_units`` (built)
    or ``mw``, as ``gas_<candidate>_<what>``."""
    return f"gas_{candidate}_{what}"


def gas_units(capacity: dict) -> dict[str, tuple[float, float | None]]:
    """Each gas candidate's (units, new units) in a plan's capacities (``gas_key``), by key; new
    units None where the plan does not say."""
    return {key[4:-6]: (units, capacity.get(gas_key(key[4:-6], "new_units"))) for key, units in capacity.items()
            if key.startswith("gas_") and key.endswith("_units") and not key.endswith("_new_units")}


@dataclass
class SitePlan:
    """One site's plan; the model's technologies fill it in turn (``dcplan.model.results``)."""

    name: str
    country: str
    gpus: dict[str, int] = field(default_factory=dict)
    gpus_new: dict[str, int] = field(default_factory=dict)
    cloud_gpus: dict[str, float] = field(default_factory=dict)  # rented from a cloud (the program's first site)
    cooling: str = ""
    it_mw: float = 0.0
    # what is built and the limits reached, by key; the key's suffix is its unit: ``battery_mw``,
    # ``battery_mwh``, ``solar_mw``, ``gas_<candidate>_units`` (in use) and ``_new_units`` (built),
    # ``grid_limit_mw``, ``grid_peak_import_mw``, ``facility_peak_mw``, ``..._fraction``
    capacity: dict[str, float] = field(default_factory=dict)
    energy_mwh: dict[str, float] = field(default_factory=dict)  # MWh a year, by source
    costs_usd: dict[str, float] = field(default_factory=dict)  # USD a year (capital annualised), by component
    co2_t: float = 0.0  # tonnes a year
    nox_t: float = 0.0  # tonnes a year
    water_m3: float = 0.0  # cubic metres a year
    dispatch: dict[str, np.ndarray] = field(default_factory=dict)  # per time step: see Plan.dispatch_frame
    binding: list[str] = field(default_factory=list)
    unguarded_trip_short_mw: float = 0.0  # at the peak with a unit tripped, N+1 off (said in binding)

    @property
    def total_cost_usd(self) -> float:
        """The site's cost, USD a year: the sum of ``costs_usd``."""
        return sum(self.costs_usd.values())

    @property
    def facility_energy_mwh(self) -> float:
        """The facility's energy (IT and cooling), MWh a year: the dispatch's load times each
        step's weight. The load asked for: energy shed at the unserved price counts."""
        return float(np.sum(self.dispatch["weight"] * self.dispatch["load_mw"]))

    @property
    def pue(self) -> float:
        """The year's PUE (facility energy over IT energy) as a ``pue`` cap counts it: each step's
        PUE of the chosen cooling weighted by the hours it stands for, the IT at its design load in
        every hour; NaN without a dispatch."""
        weight, pue = self.dispatch.get("weight"), self.dispatch.get("pue")
        if weight is None or pue is None or not np.sum(weight) > 0:
            return float("nan")
        return float(np.average(pue, weights=weight))

    def __repr__(self) -> str:  # not the dataclass's: its dispatch is thousands of numbers
        return (f"SitePlan(name={self.name!r}, country={self.country!r}, gpus={self.gpus!r}, "
                f"it_mw={self.it_mw:.6g}, total_cost_usd={self.total_cost_usd:.6g})")


@dataclass
class CapReport:
    """A cap as it came out: its limit, the value reached, slack, and its shadow price (the
    objective saved by relaxing the limit by one unit, or by 0.01 for shares and PUE)."""

    name: str
    quantity: str
    scope: str
    sense: str
    limit: float
    value: float | None
    slack: float | None
    binding: bool
    shadow_price: float | None
    shadow_price_unit: str
    origin: str
    source: str
    file: str
    line: int | None
    in_force: bool = True
    note: str = ""


@dataclass
class Plan:
    """A plan of a program, as :func:`dcplan.plan` returns it (and plan.yaml holds it).

    Costs are yearly rates in USD, capital annualised at the program's discount rate; energy is
    in MWh a year and emissions in tonnes a year, summed over the sites. For a build-out (a
    ``timeline``), ``sites`` and the figures made of them are those of the last period, in its
    year; the build-out's net present cost is ``timeline.npv_cost_usd`` (with the rest of its
    totals in ``timeline.totals()``, its periods in :meth:`timeline_frame`)."""

    program: str  # the program's name
    scenario: str | None
    objective: str  # min_cost or max_compute
    time_resolution: dict  # method ("hourly" or "typical_days"), steps, typical_days, periods
    solver: dict  # status ("optimal", "time_limit", ...), gap (of gap_share of the objective), objective, best_bound, seconds
    sites: list[SitePlan]
    target: dict | None  # the compute target met: {"measure", "amount"}
    compute_delivered: float  # in the target's measure
    caps: list[CapReport] = field(default_factory=list)
    timeline: Timeline | None = None  # of a build-out
    version: str = __version__
    year: int | None = None  # the calendar year the dispatch's hours belong to
    earliest: dict | None = None  # buildout.earliest: the period found and why not sooner (dcplan.studies.earliest)
    pareto: dict | None = None  # pareto: the cost-against-CO2 points (dcplan.studies.pareto)
    inputs: dict[Path, str] = field(default_factory=dict)  # the files it was made from -> their SHA-256 then
    overrides: dict = field(default_factory=dict)  # values by a sweep's dotted paths it was made with
    smoothing: dict = field(default_factory=dict, repr=False)  # site -> SmoothingResult of its training job

    def dispatch_frame(self, site: str | None = None):
        """The dispatch of one site (default: the first) as a pandas DataFrame, MW by column,
        indexed by the timestamp each step stands for; for a build-out, every period's steps
        with a ``period`` column. Needs pandas (``pip install 'dcplan[pandas]'``).

        The timestamps are naive, in the site's *standard* time all year: hours of a 365-day
        year, with no daylight-saving shift (``location.timezone`` is recorded, not applied). So
        ``tz_localize("America/Chicago")`` fails at the spring change (2027-03-14 02:00); localise
        to the standard time's fixed offset instead, as ``frame.tz_localize("Etc/GMT+6")`` for
        UTC-6 (the sign of an ``Etc/`` zone is reversed), and then ``tz_convert("America/Chicago")``
        for wall-clock time.

        ``weight``: the hours of the year each step stands for: 1 for a full-year plan; with
        typical days, the days that typical day represents (each of its hours stands for them
        all). The weights of a year (of each period, in a build-out) sum to 8,760, so
        ``(frame.weight * frame.load_mw).sum()`` is the facility's MWh a year;
        ``hour_of_year`` is the calendar hour (0 to 8,759) each step samples."""
        pd = pandas()
        name = self.sites[0].name if site is None else site  # 0 or "" is no site's name, not the first
        if name not in {s.name for s in self.sites}:
            raise KeyError(f"no site {name!r} in this plan; its sites: {', '.join(s.name for s in self.sites)}")
        if self.timeline is None:
            frame = pd.DataFrame(next(s for s in self.sites if s.name == name).dispatch)
            years = np.full(len(frame), self.year or 2027)
        else:
            frame = pd.DataFrame(self.timeline.dispatch_of(name))
            years = frame["period_start"].str[:4].astype(int).to_numpy()
        hours = pd.to_timedelta(frame["hour_of_year"].to_numpy().astype(int), unit="h")
        frame.index = pd.DatetimeIndex(pd.to_datetime({"year": years, "month": 1, "day": 1}) + hours, name="timestamp")
        floats = frame.select_dtypes("float").columns
        frame[floats] = frame[floats] + 0.0  # a solver's -0.0 is 0.0, as the files write it
        return frame

    def timeline_frame(self):
        """A build-out's periods as a DataFrame (one row a period: dates, compute online, spend
        by kind, the period's CO2 in ``co2_t_in_period``), indexed by each period's first day;
        empty for a single-period plan. Its orders, one row each: :meth:`orders_frame`."""
        pd = pandas()
        if self.timeline is None:
            return pd.DataFrame()
        rows = [{"period": p.name, "start": pd.Timestamp(p.start), "end": pd.Timestamp(p.end), "target": p.target,
                 "compute_online": p.compute_online, "gpus": p.gpus, "co2_t_in_period": p.co2_t,
                 **{f"spend_{k}_usd": v for k, v in p.spend_usd.items()}} for p in self.timeline.periods]
        return pd.DataFrame(rows).set_index("start")

    def orders_frame(self):
        """A build-out's orders as a DataFrame, one row an order (:class:`OrderLine`'s fields:
        site, asset, quantity and unit, when ordered and online, ``capex_usd``, the latest order
        date that still arrives in time); empty for a single-period plan."""
        pd = pandas()
        if self.timeline is None:
            return pd.DataFrame(columns=[f.name for f in fields(OrderLine)])
        return pd.DataFrame([asdict(o) for o in self.timeline.orders], columns=[f.name for f in fields(OrderLine)])

    @property
    def total_cost_usd(self) -> float:
        """The cost of a year, USD, capital annualised, over all sites. For a build-out, the last
        period's yearly cost, not the net present cost: that is ``timeline.npv_cost_usd``."""
        return sum(s.total_cost_usd for s in self.sites)

    def __repr__(self) -> str:  # not the dataclass's: the sites' dispatch is thousands of numbers
        return (f"Plan(program={self.program!r}, scenario={self.scenario!r}, status={self.solver.get('status')!r}, "
                f"sites={[s.name for s in self.sites]!r}, total_cost_usd={self.total_cost_usd:.6g}, "
                f"gpus={self.total_gpus})")

    def key_figures(self) -> dict[str, float]:
        """The plan's key figures, summed over its sites: what plan.yaml's ``totals`` and a
        sweep's result row carry (one definition for both)."""
        return {
            "gpus": self.total_gpus,
            "it_mw": sum(s.it_mw for s in self.sites),
            "facility_energy_mwh_per_year": self.facility_energy_mwh,
            "pue": self.pue,
            "total_cost_usd_per_year": self.total_cost_usd,
            "levelised_cost_usd_per_mwh": self.levelised_cost_usd_per_mwh,
            "power_cost_usd_per_mwh": self.power_cost_usd_per_mwh,
            "cost_usd_per_gpu_hour": self.cost_usd_per_gpu_hour,
            "co2_t_per_year": self.co2_t,
            "nox_t_per_year": self.nox_t,
        }

    @property
    def total_gpus(self) -> int:
        return sum(sum(s.gpus.values()) for s in self.sites)

    def cost_components(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for s in self.sites:
            for k, v in s.costs_usd.items():
                out[k] = out.get(k, 0.0) + v
        return out

    @property
    def facility_energy_mwh(self) -> float:
        """The facilities' energy (IT and cooling), MWh a year, over all sites."""
        return sum(s.facility_energy_mwh for s in self.sites)

    @property
    def levelised_cost_usd_per_mwh(self) -> float:
        """All of the yearly cost (power, cooling and compute: ``total_cost_usd``) per MWh of
        facility energy, USD/MWh; NaN with no energy."""
        energy = self.facility_energy_mwh
        return self.total_cost_usd / energy if energy else float("nan")

    @property
    def power_cost_usd_per_mwh(self) -> float:
        """The yearly cost of the power supply alone (no GPUs, cloud or cooling plant:
        COMPUTE_LINES) per MWh of facility energy, USD/MWh; NaN with no energy."""
        energy = self.facility_energy_mwh
        power = sum(v for k, v in self.cost_components().items() if k not in COMPUTE_LINES)
        return power / energy if energy else float("nan")

    @property
    def cost_usd_per_gpu_hour(self) -> float:
        """The annual cost over the GPU-hours of a year, owned and rented from a cloud: every GPU
        for 8,760 h, whether it runs, is capped or waits on shed load."""
        gpus = self.total_gpus + sum(sum(s.cloud_gpus.values()) for s in self.sites)
        return self.total_cost_usd / (gpus * 8760) if gpus else float("nan")

    @property
    def pue(self) -> float:
        """The year's PUE over all sites: each site's (:attr:`SitePlan.pue`) weighted by its IT
        MW; NaN with no IT."""
        it = [(s.it_mw, s.pue) for s in self.sites if s.it_mw > 0]
        total = sum(mw for mw, _ in it)
        return sum(mw * pue for mw, pue in it) / total if total > 0 else float("nan")

    @property
    def co2_t(self) -> float:
        """CO2 emitted, tonnes a year, over all sites: from the gas burnt and the grid's energy."""
        return sum(s.co2_t for s in self.sites)

    @property
    def nox_t(self) -> float:
        """NOx emitted by gas units, tonnes a year, over all sites."""
        return sum(s.nox_t for s in self.sites)


@dataclass
class OrderLine:
    site: str
    asset: str
    label: str
    quantity: float
    unit: str
    order_period: str
    order_date: str
    online_period: str
    online_date: str
    retire_date: str | None  # None when beyond the horizon
    capex_usd: float
    latest_order_date: str  # placed after this, it comes online a period later
    slack_months: float  # from order_date to latest_order_date: how late the order may be and still arrive in time


@dataclass
class Bridge:
    """A rented asset in use over a contiguous span of periods."""

    site: str
    asset: str
    label: str
    quantity: float  # the most in use during the span
    unit: str
    start_period: str
    start_date: str
    end_period: str
    end_date: str
    cost_usd: float


@dataclass
class PeriodLine:
    name: str
    start: str
    end: str
    target: float | None
    compute_online: float
    gpus_online: dict[str, dict[str, int]]
    capacity_online: dict[str, dict[str, float]]
    spend_usd: dict[str, float]
    energy_mwh: dict[str, float]  # in the period
    co2_t: float  # tonnes in the period (a quarter's, where periods are quarters; not a year's)
    cloud_gpus_online: dict[str, dict[str, float]] = field(default_factory=dict)  # site -> model -> rented
    gpus_in_stock: dict[str, dict[str, int]] = field(default_factory=dict)  # site -> model -> delivered, not yet running
    steps: int = 0  # of the period's time grid (typical days can differ by period: a day kept for its peak hour)
    peak_days: int = 0  # of its typical days, those kept for a peak hour

    @property
    def stock(self) -> int:
        """GPUs delivered by the period and not running in it: beyond what its target needs (ahead
        of a later one, or past a target that fell), or waiting for power and cooling."""
        return sum(sum(g.values()) for g in self.gpus_in_stock.values())

    @property
    def gpus(self) -> int:
        return sum(sum(g.values()) for g in self.gpus_online.values())

    @property
    def cloud_gpus(self) -> float:
        return sum(sum(g.values()) for g in self.cloud_gpus_online.values())


@dataclass
class Timeline:
    period_length: str
    base_date: str
    periods: list[PeriodLine]
    orders: list[OrderLine]
    bridges: list[Bridge]
    npv_cost_usd: float
    salvage_usd: float
    cost_per_gpu_hour_usd: float | None
    sites_by_period: list[list[SitePlan]] = field(default_factory=list, repr=False)
    # period -> (site, asset, unit) -> [ordered, online (owned), rented, capex ordered]
    assets: dict[str, dict[tuple, list]] = field(default_factory=dict, repr=False)

    def asset_rows(self, period: PeriodLine) -> list[tuple]:
        """(period, start, end, site, asset, unit, ordered, online, rented, capex) for timeline.csv."""
        rows = []
        for (site, asset, unit), line in sorted(self.assets[period.name].items()):
            rows.append((period.name, period.start, period.end, site, asset, unit, *line))
        return rows

    def dispatch_of(self, site: str) -> dict[str, np.ndarray]:
        """One site's dispatch over every period, each step with its period and its first day."""
        parts = [(p, next(s for s in sites if s.name == site)) for p, sites in zip(self.periods, self.sites_by_period)]
        out = {"period": np.concatenate([[p.name] * len(sp.dispatch["weight"]) for p, sp in parts]),
               "period_start": np.concatenate([[p.start] * len(sp.dispatch["weight"]) for p, sp in parts])}
        out.update({c: np.concatenate([sp.dispatch[c] for _, sp in parts]) for c in parts[-1][1].dispatch})
        return out

    def totals(self) -> dict:
        return {"npv_cost_usd": self.npv_cost_usd, "salvage_credit_usd": self.salvage_usd,
                "capital_usd": sum(p.spend_usd["capital"] for p in self.periods),
                "operating_usd": sum(p.spend_usd["operating"] for p in self.periods),
                "rental_usd": sum(p.spend_usd["rental"] for p in self.periods),
                "cost_per_gpu_hour_usd": self.cost_per_gpu_hour_usd}
