"""A site: where GPUs can go, and what can power and cool them there."""

from __future__ import annotations

import datetime as dt
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from dcplan.schema.base import (
    At,
    CurvedSeries,
    Months,
    NonNeg,
    Series,
    StrictModel,
    check_date_order,
)
from dcplan.schema.caps import Cap, Emergency
from dcplan.schema.compute import Compute
from dcplan.schema.smoothing import SmoothingSpec


class Location(StrictModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    country: str = Field(description="ISO 3166-1 alpha-2 code, e.g. US")
    region: str | None = Field(None, description="grid region or ISO, e.g. ERCOT, TVA")
    timezone: str = Field(description="IANA time zone, e.g. America/Chicago")
    elevation_m: float | None = Field(None, ge=-500, le=6000, description="height above sea level, m: gas units "
                                      "lose output in thinner air (the catalog's output_vs_elevation_m); default: "
                                      "sea level")

    @field_validator("country")
    @classmethod
    def _iso2(cls, v: str) -> str:
        if len(v) != 2 or not v.isalpha() or not v.isupper():
            raise ValueError(f"expected a two-letter upper-case ISO country code such as 'US', found '{v}'")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone '{v}' (e.g. 'America/Chicago', 'UTC')") from None
        return v


class GridStep(StrictModel):
    date: dt.date
    max_import_mw: NonNeg


class GridUpgrade(StrictModel):
    """Equipment that raises the import limit once in service: a substation, a transformer, or
    the utility's network upgrade behind an interconnection request (its in-service time as the
    lead time). Ordered and paid like any asset, at its own price or the equipment's catalog
    price (derived, order-of-magnitude: give a quote where there is one)."""

    name: str = Field(pattern=r"^[a-z0-9_]+$", description="how the plan names it (orders: grid_upgrade:NAME)")
    adds_mw: float = Field(gt=0, description="import MW each unit adds")
    capex_usd: NonNeg | None = Field(None, description="per unit, all-in: equipment, works and the utility's "
                                     "charges; default: the equipment's catalog price")
    max_units: int = Field(1, ge=0)
    equipment: str | None = Field(None, description="grid_equipment catalog key: its lead time, unless "
                                  "lead_time_months is given")
    lead_time_months: Months | None = Field(None, description="order to service; default: the equipment's")
    lifetime_years: float = Field(40.0, gt=0, description="assumption: 40 years, as utility plant")

    @model_validator(mode="after")
    def _a_lead_time(self):
        if self.equipment is None and (self.lead_time_months is None or self.capex_usd is None):
            raise ValueError("give lead_time_months and capex_usd, or the equipment (a grid_equipment catalog key) "
                             "whose lead time and price it takes")
        return self


class FlexibleConnection(StrictModel):
    """A utility's offer of a larger or earlier connection that may be curtailed: up to
    ``max_import_mw`` from ``available_from`` except in the curtailed hours, when import is held
    to the firm limit (0 before the firm connection). The plan accepts it or not, in each
    build-out period, and meets the curtailed hours on site (gas, battery, shed load)."""

    max_import_mw: NonNeg = Field(description="the import limit outside curtailed hours while accepted")
    available_from: dt.date | None = Field(None, description="default: as the firm connection")
    curtailment: Emergency = Field(description="the curtailed hours: hours_per_year (the dearest hours, as "
                                   "the utility would call them), or flags (a CSV column of 0/1)")
    fee_usd_per_year: NonNeg = Field(0.0, description="what accepting costs a year, if anything")


class Grid(StrictModel):
    max_import_mw: NonNeg = Field(description="import limit from the available date")
    available_from: dt.date | None = None
    steps: list[GridStep] = Field(default_factory=list, description="later changes of the limit")
    upgrades: list[GridUpgrade] = Field(default_factory=list, description="equipment the plan may order "
                                        "to raise the limit (dcplan.model.grid)")
    flexible: FlexibleConnection | None = Field(None, description="a curtailable connection the plan may accept")
    energy_price_usd_per_mwh: Series
    demand_charge_usd_per_kw_month: NonNeg = 0.0
    co2_t_per_mwh: Series = 0.0

    @model_validator(mode="after")
    def _steps_in_order(self):
        check_date_order([s.date for s in self.steps], "steps", "grid steps")
        names = [u.name for u in self.upgrades]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise At(("upgrades",), f"grid upgrade name used twice: {', '.join(twice)}")
        return self


NATURAL_GAS_CO2_T_PER_MMBTU = 0.05306
"""EPA emission factor for natural gas, 53.06 kg CO2/MMBtu (40 CFR 98 Table C-1; DESIGN.md)."""


class Fuel(StrictModel):
    gas_price_usd_per_mmbtu: NonNeg = Field(description="price of the fuel the units burn, USD per MMBtu (HHV)")
    pipeline_limit_mmbtu_per_h: NonNeg | None = None
    co2_t_per_mmbtu: NonNeg = Field(
        NATURAL_GAS_CO2_T_PER_MMBTU, description="CO2 of the fuel, t per MMBtu burned (HHV): pipeline natural "
        "gas 0.05306 (the default), distillate No. 2 (diesel) 0.07396, propane 0.06287, hydrogen 0 "
        "(EPA 40 CFR 98 Table C-1)")


class Rental(StrictModel):
    """Rented rather than owned: no capital cost, a price per month while in use, and a short
    lead time (mobile turbines, rented chillers). Build-outs use rentals as bridges."""

    usd_per_kw_month: NonNeg = Field(description="rental price per kW of rated capacity (per kW of IT for cooling)")
    lead_time_months: Months = Field(1.0, description="from the start of the plan to the first rented unit")


LEAD_TIME = Field(None, description="order-to-use lead time; default: the catalog's")


class GasCandidate(StrictModel):
    type: str = Field(description="generator catalog key, e.g. lm6000")
    max_units: int = Field(ge=0, description="most units that may be built (new), or rented at once")
    existing_units: int = Field(0, ge=0)
    unit_commitment: bool = Field(False, description="integer units on each hour, with minimum stable load")
    role: Literal["prime", "backup"] = Field(
        "prime", description="backup units count as firm capacity; caps may limit their hours")
    lead_time_months: Months | None = LEAD_TIME
    rental: Rental | None = Field(None, description="rent these units instead of buying them")

    @property
    def key(self) -> str:
        """How the model names this candidate: its type, marked when rented (a site may both own
        and rent one type)."""
        return self.type if self.rental is None else f"{self.type}_rented"


DEFAULT_RENEWABLE = {"solar": "utility_pv", "wind": "onshore_wind"}


class RenewableCandidate(StrictModel):
    type: str | None = Field(None, description="renewables catalog key (default: the standard one, "
                             "utility_pv or onshore_wind)")
    max_mw: NonNeg
    existing_mw: NonNeg = 0.0
    capacity_factor: Series = Field(description="hourly output per MW installed, 0-1")
    lead_time_months: Months | None = LEAD_TIME


class BatteryCandidate(StrictModel):
    type: str = "li_ion_lfp"
    max_power_mw: NonNeg | None = None
    duration_h: float | None = Field(None, gt=0, description="fixed energy/power ratio; omit to size freely")
    existing_power_mw: NonNeg = 0.0
    existing_energy_mwh: NonNeg = 0.0
    lead_time_months: Months | None = LEAD_TIME


class Technologies(StrictModel):
    gas: list[GasCandidate] = Field(default_factory=list)
    solar: RenewableCandidate | None = None
    wind: RenewableCandidate | None = None
    battery: BatteryCandidate | None = None

    @model_validator(mode="after")
    def _standard_renewables(self):
        """Solar or wind given without a type is the standard one, named here once, so that every
        reader (model, lead times, timeline keys) sees the same catalog key."""
        for tech, key in DEFAULT_RENEWABLE.items():
            cand = getattr(self, tech)
            if cand is not None and cand.type is None:
                cand.type = key
        return self


class CoolingOption(StrictModel):
    type: str = Field(description="cooling catalog key, e.g. direct_liquid")
    pue: CurvedSeries | None = Field(None, description="hourly PUE; default: the catalog's annual PUE")
    wue_l_per_kwh: NonNeg | None = None
    lead_time_months: Months | None = LEAD_TIME
    rental: Rental | None = Field(None, description="rented cooling (e.g. chillers) instead of a built plant")


class Reliability(StrictModel):
    n_plus_one: bool | None = Field(
        None, description="firm on-site capacity minus its largest unit covers the design peak; "
        "default: required in every period in which the grid gives nothing (no connection yet, or none)",
    )
    unserved_energy_usd_per_mwh: NonNeg | None = Field(
        None, description="allow load shedding at this price; default: never shed load"
    )
    grid_outage_hours: float | None = Field(
        None, gt=0, description="a grid-tied site rides through a grid outage this long on site: its gas "
        "units (without the largest under N+1) and its battery, for the power it holds this long, carry "
        "the design peak; default: no such backup")
    battery_firm_hours: float = Field(
        4.0, gt=0, description="a battery counts toward N+1 with the power it can hold this long (energy / "
        "hours, at most its power); assumption: the 4-hour duration that ISO capacity markets accredit in "
        "full (CAISO resource adequacy)")


CatalogOverrides = dict[
    Literal["gpus", "generators", "renewables", "storage", "cooling", "grid_equipment"], dict[str, dict]
]


class Site(StrictModel):
    kind: Literal["site"]
    name: str = Field(pattern=r"^[A-Za-z0-9_\-]+$", max_length=100,
                      description="letters, digits, _ and -, at most 100: plan folders are named after it")
    location: Location
    land_available_acres: NonNeg | None = Field(
        None, description="land the site has for its PV, acres: what solar takes (the catalog's "
        "land_acres_per_mw) stays within it (a wind project's area is leased apart; the land_acres cap counts both)")
    ambient_temp_c: Series | None = Field(
        None, description="hourly dry-bulb temperature at the site, °C (a CSV column in °F is converted): gas "
        "units deliver their catalog's output_vs_ambient_c share of their ISO rating each hour, and count as firm "
        "for their output in the year's hottest hour; default: none, units at their ISO rating in every hour")
    jurisdiction_tags: list[str] = Field(default_factory=list)
    grid: Grid | None = None
    fuel: Fuel | None = None
    technologies: Technologies = Field(default_factory=Technologies)
    cooling: list[CoolingOption] = Field(min_length=1)
    compute: Compute | None = None
    reliability: Reliability = Field(default_factory=Reliability)
    caps: list[Cap] = Field(default_factory=list, description="caps on this site (permits, local rules)")
    smoothing: SmoothingSpec | None = Field(None, description="training power-swing limits and mitigations "
                                            "(`dcplan smooth --site`)")
    catalog: CatalogOverrides = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_battery(self):
        """A training job smoothed with a battery uses the site's battery: one asset, sized for
        both and ordered with its lead time. A site that lists a battery lends the smoothing its
        type (`dcplan smooth --site` too; two types named are two batteries: the loader refuses
        them for a declared job); one that lists none gets a candidate of the smoothing battery's
        type where it declares the job."""
        s = self.smoothing
        if s is None or s.mitigations.battery is None:
            return self
        job, own = s.mitigations.battery, self.technologies.battery
        if own is not None and "type" not in job.model_fields_set:
            job.type = own.type
        elif own is None and s.workload is not None:
            self.technologies.battery = BatteryCandidate(type=job.type)
        return self

    @model_validator(mode="after")
    def _fuel_for_gas(self):
        if self.technologies.gas and self.fuel is None:
            raise At(("technologies", "gas"), "gas units are listed under technologies.gas but the site has no fuel section")
        return self

    def needs_n_plus_one(self, grid_limit_mw: float) -> bool:
        """N+1 on the on-site units while the grid gives ``grid_limit_mw``: as the site says, else
        whenever the grid gives nothing (no connection, or a period before it arrives)."""
        if self.reliability.n_plus_one is not None:
            return self.reliability.n_plus_one
        return grid_limit_mw <= 0
