"""A program ties sites to a compute target, a horizon and financial assumptions."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, model_validator

from dcplan.schema.base import NonNeg, StrictModel
from dcplan.schema.caps import Cap, Links
from dcplan.schema.compute import Compute
from dcplan.schema.site import CatalogOverrides


class Finance(StrictModel):
    discount_rate: float = Field(
        0.08, ge=0, lt=1, description="real annual rate for annualising capital (assumption: 8%)"
    )
    carbon_price_usd_per_t: NonNeg = 0.0
    lifetimes_years: dict[str, float] = Field(
        default_factory=dict,
        description="override asset lives by catalog key or section (gpus, generators, ...)",
    )


class Horizon(StrictModel):
    start: dt.date = dt.date(2027, 1, 1)
    years: int = Field(1, ge=1, le=40)


class TimeResolution(StrictModel):
    typical_days: int | None = Field(
        None, ge=1, le=365, description="cluster the year into N weighted typical days; omit for 8,760 h"
    )


class Objective(StrictModel):
    sense: Literal["min_cost", "max_compute"] = "min_cost"
    budget_usd_per_year: NonNeg | None = Field(None, description="annualised cost limit for max_compute")

    @model_validator(mode="after")
    def _budget_for_max(self):
        if self.sense == "max_compute" and self.budget_usd_per_year is None:
            raise ValueError("objective max_compute needs budget_usd_per_year")
        return self


class Program(StrictModel):
    kind: Literal["program"]
    name: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    sites: list[str] = Field(min_length=1, description="site files, relative to this file")
    compute: Compute | None = Field(None, description="default: the single site's compute section")
    objective: Objective = Field(default_factory=Objective)
    horizon: Horizon = Field(default_factory=Horizon)
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
