"""Regulatory and corporate caps as named, sourced YAML entries, and rule presets.

A cap names a quantity (GPUs in H100-equivalents, metric tonnes of NOx, annual PUE, ...), the scope it
binds (sites, countries, country groups, or the whole portfolio), a limit (max and/or min), and
the clause it comes from. Each quantity is modelled in :mod:`dcplan.model.caps`.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, model_validator

from dcplan.schema.base import At, CsvColumn, Months, NonNeg, StrictModel

QUANTITIES = {
    "gpus": "GPUs installed",
    "gpus_h100e": "GPUs in H100-equivalents by TPP",
    "compute_share": "share of portfolio compute (by TPP), 0-1",
    "nox_t": "metric tonnes of NOx per year (US permits count short tons: x 0.907185)",
    "co2_t": "metric tonnes of CO2 per year",
    "backup_engine_hours": "equivalent full-load hours per year of backup gas units",
    "pue": "annual energy-weighted PUE",
    "renewable_share": "share of facility energy from on-site solar and wind, annual, 0-1",
    "hourly_cfe_share": "share of facility energy matched hour by hour by solar, wind and "
                        "storage charged from them (24/7 carbon-free), 0-1",
    "water_m3": "cubic metres of water per year (WUE x IT energy)",
    "grid_import_mw": "grid import in every hour, MW (a scope's sites added up)",
    "grid_emergency_import_mw": "grid import during declared emergency hours, MW (a scope's sites added up)",
    "billed_demand_fraction": "each month's billed demand as a fraction of contracted demand (minimum take), "
                              "site by site: a term of each connection's contract",
    "land_acres": "land used by solar and wind plus buildings, acres",
    "cost_usd": "annualised cost, USD per year",
    "onsite_dispatchable_share": "on-site dispatchable capacity (gas and battery MW) as a share of "
                                 "the grid import limit, 0-",
}
Quantity = Literal[tuple(QUANTITIES)]  # type: ignore[valid-type]


class Scope(StrictModel):
    """Which sites a cap binds. Empty means the whole portfolio; fields combine with AND."""

    sites: list[str] | None = None
    countries: list[str] | None = None
    groups: list[str] | None = Field(None, description="country groups (program or preset country_groups)")
    outside_groups: list[str] | None = Field(None, description="sites in countries outside these groups")
    tags: list[str] | None = Field(None, description="sites carrying any of these jurisdiction tags")


class Emergency(StrictModel):
    """Declared grid-emergency hours: a count per year (taken as the dearest hours of the
    site's price series, when scarcity is likeliest), or a CSV column of 0/1 flags."""

    hours_per_year: int | None = Field(None, ge=0, le=8760)
    flags: CsvColumn | None = None

    @model_validator(mode="after")
    def _one(self):
        if (self.hours_per_year is None) == (self.flags is None):
            raise ValueError("give exactly one of hours_per_year or flags")
        return self


class MajorSource(StrictModel):
    """A Title-V-style switch: the cap may be exceeded by becoming a major source, which costs
    money every year and takes time to permit."""

    cost_usd_per_year: NonNeg
    lead_time_months: Months = 0


class Cap(StrictModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    quantity: Quantity
    max: float | None = None
    min: float | None = None
    scope: Scope = Field(default_factory=Scope)
    each: Literal["scope", "site", "country"] = Field(
        "scope", description="apply the limit to the scope as a whole, or to each site or country in it")
    period: Literal["year", "horizon"] = Field("year", description="limit per year, or over the whole horizon")
    in_force_from: dt.date | None = None
    in_force_until: dt.date | None = None
    source: str = Field(min_length=3, description="the clause, permit or policy that imposes it")
    exempt_orders_below_h100e: NonNeg | None = Field(
        None, description="gpus/gpus_h100e caps: a site's order below this size does not count")
    emergency: Emergency | None = Field(None, description="grid_emergency_import_mw: which hours")
    contract_mw: NonNeg | None = Field(None, description="billed_demand_fraction: contracted demand "
                                       "(default: the site's grid import limit)")
    building_acres: NonNeg = Field(0.0, description="land_acres: acres taken by buildings")
    major_source: MajorSource | None = None

    @model_validator(mode="after")
    def _limits(self):
        if self.max is None and self.min is None:
            raise ValueError("a cap needs max, min or both")
        if self.quantity == "grid_emergency_import_mw" and self.emergency is None:
            raise At(("quantity",), "grid_emergency_import_mw needs `emergency:` (hours_per_year or flags)")
        if self.exempt_orders_below_h100e is not None and self.quantity != "gpus_h100e":
            raise At(("exempt_orders_below_h100e",), "exempt_orders_below_h100e applies to gpus_h100e caps")
        if self.major_source is not None and self.quantity not in ("nox_t", "co2_t"):
            raise At(("major_source",), "major_source applies to nox_t and co2_t caps")
        if self.major_source is not None and self.period == "horizon":
            raise At(("major_source",), "major_source applies to yearly caps (a permit's tonnes per year), not period: horizon")
        return self

    def in_force(self, when: dt.date) -> bool:
        return self.in_force_during(when, when)

    def in_force_during(self, start: dt.date, end: dt.date) -> bool:
        """In force on any day from ``start`` to ``end`` (inclusive): a build-out period then
        holds the cap throughout, as it holds a grid step that arrives mid-period to the lower limit."""
        return (self.in_force_from is None or end >= self.in_force_from) and (
            self.in_force_until is None or start < self.in_force_until)


class Links(StrictModel):
    """How compute may be split between sites."""

    min_gpus_in_one_site: int | None = Field(None, gt=0, description="a training cluster needs this many GPUs together")
    max_compute_share_per_site: float | None = Field(None, gt=0, le=1)


class Preset(StrictModel):
    """A named library of caps, with its source, date and legal status."""

    kind: Literal["preset"]
    name: str
    title: str
    source: str
    date: dt.date
    status: Literal["in_force", "proposed", "rescinded"]
    notes: str | None = None
    country_groups: dict[str, list[str]] = Field(default_factory=dict)
    caps: list[Cap] = Field(default_factory=list)
