"""A program ties sites to a compute target, a horizon and financial assumptions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, model_validator

from dcplan.schema.base import (
    MAX_MONTHS,
    At,
    Fraction,
    Months,
    NonNeg,
    StrictModel,
    check_date_order,
)
from dcplan.schema.caps import Cap, Links
from dcplan.schema.compute import Compute, ComputeTarget
from dcplan.schema.site import CatalogOverrides


class Finance(StrictModel):
    discount_rate: float = Field(
        0.08, ge=0, lt=1, description="real annual rate for annualising capital (assumption: 8%)"
    )
    carbon_price_usd_per_t: NonNeg = 0.0
    lifetimes_years: dict[str, Annotated[float, Field(gt=0, le=100)]] = Field(
        default_factory=dict,
        description="override asset lives, years (above 0, at most 100), by catalog key or section (gpus, "
        "generators, renewables, storage, cooling, grid_equipment)",
    )


class Horizon(StrictModel):
    start: dt.date = Field(dt.date(2027, 1, 1), ge=dt.date(1900, 1, 1), le=dt.date(2200, 12, 31),
                           description="from 1900 to 2200 (a start in 9999 ran the calendar past its end)")
    years: int = Field(1, ge=1, le=40)


class TimeResolution(StrictModel):
    typical_days: int | None = Field(
        None, ge=1, le=365, description="cluster the year into N weighted typical days; omit for 8,760 h"
    )


class DatedTarget(ComputeTarget):
    """Compute that must be online from the build-out period containing ``date`` onward."""

    date: dt.date


TRIANGULAR_QUANTILES = (0.1, 0.3, 0.5, 0.7, 0.9)
"""A triangular distribution of months late is taken as five equally likely outcomes: its
quantiles at the middle of each fifth of the probability."""
PROBABILITY_ROUNDING = 5e-4
"""How far each of a delay's probabilities may be from what it stands for, rounded to three
decimals (0.333 for a third: their sum may miss 1 by this much per entry, and at least 0.001);
they are then scaled to add up to 1."""


class Delay(StrictModel):
    """How late one site's deliveries of one asset (or its grid connection) may come, beyond
    its lead time (or date): months with their probabilities, or a triangular distribution;
    entries are independent."""

    site: str
    asset: str = Field(description="an asset key as plan.yaml's orders name it (gas:lm6000, gpus:gb200_nvl72, "
                       "cooling:direct_liquid, solar:utility_pv, battery_power:li_ion_lfp...), or grid: the "
                       "connection's date and every later step")
    months: dict[float, float] | None = Field(
        None, min_length=1, description="months late -> probability (they add up to 1, each as rounded to three "
        "decimals: three thirds written 0.333 are scaled to add up), e.g. {0: 0.5, 6: 0.3, 12: 0.2}")
    triangular_months: tuple[Months, Months, Months] | None = Field(
        None, description="[least, likeliest, most] months late: a triangular distribution, taken as five equally "
        "likely outcomes (its quantiles at 10, 30, 50, 70 and 90 %)")

    @model_validator(mode="after")
    def _a_distribution(self):
        if (self.months is None) == (self.triangular_months is None):
            raise ValueError("give months (months late -> probability) or triangular_months, not both")
        if self.triangular_months is not None:
            low, mode, high = self.triangular_months
            if not low <= mode <= high:
                raise ValueError("triangular_months is [least, likeliest, most], in that order")
            return self
        if any(not 0 <= m <= MAX_MONTHS for m in self.months) or any(p <= 0 for p in self.months.values()):
            raise ValueError(f"months late are 0 to {MAX_MONTHS}, each with a probability above 0")
        if abs(sum(self.months.values()) - 1) > max(2, len(self.months)) * PROBABILITY_ROUNDING + 1e-12:
            raise ValueError(f"the probabilities add up to {sum(self.months.values()):g}, not 1")
        return self

    def distribution(self) -> dict[float, float]:
        """Months late -> probability, adding up to 1 exactly (a triangular distribution as five
        equally likely quantiles)."""
        if self.months is not None:
            total = sum(self.months.values())
            return {m: p / total for m, p in self.months.items()}
        out: dict[float, float] = {}
        for q in TRIANGULAR_QUANTILES:
            m = triangular_quantile(*self.triangular_months, q)
            out[m] = out.get(m, 0.0) + 1 / len(TRIANGULAR_QUANTILES)
        return out


def triangular_quantile(low: float, mode: float, high: float, p: float) -> float:
    """The ``p`` quantile of a triangular distribution on [low, high] peaking at ``mode``."""
    if high == low:
        return low
    if p < (mode - low) / (high - low):
        return low + ((high - low) * (mode - low) * p) ** 0.5
    return high - ((high - low) * (high - mode) * (1 - p)) ** 0.5


class EarliestGoal(ComputeTarget):
    """Compute to have online as early as possible (dcplan.studies.earliest)."""

    curve_periods: int = Field(0, ge=0, le=20, description="also plan each of the next N periods: what waiting "
                               "one, two... periods longer saves, and what changes (a time-to-power curve)")
    delays: list[Delay] = Field(
        default_factory=list, description="uncertain deliveries: the odds of the earliest period (P50, P90) over "
        "every combination, and a plan whose orders hold in at least 90 % of them (dcplan.studies.odds)")


PriceFactor = Annotated[float, Field(ge=0, le=100)]


class Escalation(StrictModel):
    """How prices move between build-out periods: the site files' prices are those at the
    horizon's start, and grow at a yearly rate, compounded to each period's middle; a factor for
    a calendar year (relative to the site files' prices) overrides the rate in the periods whose
    middle falls in that year."""

    # the bounds: a price that doubles every year, or stands at 100 times today's, is past planning
    gas_price_pct_per_year: float = Field(0.0, gt=-100, le=100)
    grid_energy_price_pct_per_year: float = Field(0.0, gt=-100, le=100)
    gas_price_factor_by_year: dict[int, PriceFactor] = Field(default_factory=dict)
    grid_energy_price_factor_by_year: dict[int, PriceFactor] = Field(default_factory=dict)

    def factor(self, kind: str, years_from_start: float, calendar_year: int) -> float:
        """The price factor of a period whose middle is ``years_from_start`` after the horizon's
        start, in ``calendar_year``."""
        table = getattr(self, f"{kind}_factor_by_year")
        if calendar_year in table:
            return table[calendar_year]
        return (1 + getattr(self, f"{kind}_pct_per_year") / 100) ** years_from_start


class Buildout(StrictModel):
    """A staged build-out over the horizon: orders per period, lead times, targets at dates."""

    period: Literal["quarter", "year"] = "quarter"
    targets: list[DatedTarget] = Field(default_factory=list, description="compute online by each date (a ramp)")
    earliest: EarliestGoal | None = Field(
        None, description="find the earliest period by which this much compute can be online, to the horizon's "
        "end, and the least-cost plan that has it then (dcplan.studies.earliest)")
    capital_at_order_fraction: Fraction = Field(
        1.0, description="share of an order's capital paid when ordered; the rest when it comes online")
    max_capital_usd_per_year: NonNeg | None = Field(None, description="capital spend limit per calendar year")
    salvage: Literal["straight_line", "none"] = Field(
        "straight_line", description="credit the undepreciated value of assets at the horizon's end")
    escalation: Escalation = Field(default_factory=Escalation)

    @model_validator(mode="after")
    def _one_measure(self):
        measures = {t.measure for t in self.targets} | ({self.earliest.measure} if self.earliest else set())
        if len(measures) > 1:
            raise At(("targets",), f"all build-out targets (and earliest) must use one measure (found {sorted(measures)})")
        check_date_order([t.date for t in self.targets], "targets", "build-out targets")
        return self


class Objective(StrictModel):
    sense: Literal["min_cost", "max_compute"] = "min_cost"
    budget_usd_per_year: NonNeg | None = Field(None, description="annualised cost limit for max_compute")

    @model_validator(mode="after")
    def _budget_for_max(self):
        if self.sense == "max_compute" and self.budget_usd_per_year is None:
            raise At(("sense",), "objective max_compute needs budget_usd_per_year")
        return self


class Pareto(StrictModel):
    """Cost against CO2 (dcplan.studies.pareto): the least cost at each of ``co2_points`` CO2 limits, evenly
    spaced from the least CO2 any plan can have to the CO2 of the least-cost plan."""

    co2_points: int = Field(ge=2, le=20, description="points of the cost-against-CO2 curve, both ends included")


class Program(StrictModel):
    kind: Literal["program"]
    name: str = Field(pattern=r"^[A-Za-z0-9_\-]+$", max_length=100,
                      description="letters, digits, _ and -, at most 100: plan folders are named after it")
    sites: list[str] = Field(min_length=1, description="site files, relative to this file")
    compute: Compute | None = Field(None, description="default: the single site's compute section")
    objective: Objective = Field(default_factory=Objective)
    horizon: Horizon = Field(default_factory=Horizon)
    buildout: Buildout | None = Field(None, description="plan a staged build-out over the horizon, period by period")
    pareto: Pareto | None = Field(
        None, description="also plan at CO2 limits below the least-cost plan's: what each tonne less costs (dcplan.studies.pareto)")
    finance: Finance = Field(default_factory=Finance)
    time: TimeResolution = Field(default_factory=TimeResolution)
    presets: list[str] = Field(default_factory=list, description="rule presets to apply, by name (dcplan presets)")
    country_groups: dict[str, list[str]] = Field(default_factory=dict, description="named sets of country codes")
    caps: list[Cap] = Field(default_factory=list)
    links: Links = Field(default_factory=Links)
    site_overrides: dict[str, dict] = Field(
        default_factory=dict, description="site name -> fields merged into that site for this program")
    scenarios: dict[str, dict] = Field(
        default_factory=dict, description="named overrides merged into this program and its sites"
    )
    catalog: CatalogOverrides = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_tradeoff(self):
        if self.pareto is not None and self.objective.sense != "min_cost":
            raise At(("pareto",), "pareto trades cost against CO2: it needs objective min_cost")
        if self.pareto is not None and self.buildout is not None and self.buildout.earliest is not None:
            raise At(("pareto",), "one trade-off per plan: buildout.earliest (time to power) or pareto (CO2), not both")
        return self

    @model_validator(mode="after")
    def _buildout_fits(self):
        if self.buildout is None:
            return self
        start = self.horizon.start
        if start.day != 1 or (start.month - 1) % (3 if self.buildout.period == "quarter" else 12):
            raise At(("horizon", "start"), f"a build-out by {self.buildout.period} starts on the first day of a "
                             f"{self.buildout.period} (horizon.start is {start})")
        if self.objective.sense != "min_cost":
            raise At(("objective", "sense"), "a build-out plan minimises cost (objective max_compute is single-period only)")
        if (self.buildout.targets or self.buildout.earliest) and self.compute is not None \
                and self.compute.target is not None:
            raise At(("compute", "target"), "give the build-out's targets in buildout.targets (or earliest) or compute.target, "
                             "not both")
        return self
