"""Equipment catalog records. Every numeric field carries a source (``sources[field]``):
a citation, or text starting with "assumption" where no source exists."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from dcplan.choices import CATALOG_SECTIONS
from dcplan.schema.base import Fraction, Months, NonNeg, Point, StrictModel


class Sourced(StrictModel):
    name: str = Field(description="human-readable name")
    sources: dict[str, str] = Field(
        default_factory=dict, description="field name -> citation, or 'assumption: why'"
    )
    notes: str | None = None

    def sourced_fields(self) -> list[str]:
        """The fields that need a source: numbers, and curves of them (a derate)."""
        return [k for k, v in self if (isinstance(v, (int, float)) and not isinstance(v, bool))
                or (isinstance(v, list) and v and all(isinstance(p, tuple) for p in v))]

    def unsourced_fields(self) -> list[str]:
        return [f for f in self.sourced_fields() if not self.sources.get(f, "").strip()]


class GpuSpec(Sourced):
    vendor: str
    tdp_w: float = Field(gt=0)
    it_power_per_gpu_w: float = Field(gt=0, description="GPU plus its share of server/rack at full load")
    cluster_w_per_gpu: NonNeg = Field(0.0, description="the cluster outside the servers or racks, per GPU: "
                                      "network fabric (switches, optics), storage and management nodes, W")
    purchase_unit: Literal["server", "rack"]
    gpus_per_unit: int = Field(gt=0)
    bf16_dense_tflops: float = Field(gt=0)
    fp8_dense_tflops: float = Field(gt=0)
    tpp: float = Field(gt=0, description="Total Processing Performance (export-control metric)")
    price_usd_per_gpu: float = Field(gt=0, description="all-in installed cost per GPU incl. server and network share")
    liquid_cooling_required: bool = False
    lifetime_years: float = Field(gt=0)
    lead_time_months: Months = 0

    @property
    def design_w_per_gpu(self) -> float:
        """A GPU's all-in IT power at full load, W: its server or rack share plus its share of the
        cluster's network, storage and management (H100: 1,275 + 142 = 1,417 W)."""
        return self.it_power_per_gpu_w + self.cluster_w_per_gpu

    @property
    def h100_equivalents(self) -> float:
        """H100-equivalents by TPP (H100 SXM: 15,832)."""
        return self.tpp / H100_TPP


H100_TPP = 15_832.0
"""TPP of the H100 SXM (989.5 TFLOPS BF16 dense x 16 bits); regulatory-caps.md [16]."""


class GeneratorSpec(Sourced):
    kind: Literal["aeroderivative", "reciprocating", "frame", "combined_cycle", "fuel_cell"]
    unit_mw: float = Field(gt=0)
    heat_rate_mmbtu_per_mwh: float = Field(gt=3.412, description="HHV fuel in per MWh out")
    capex_usd_per_kw: NonNeg
    fixed_om_usd_per_kw_year: NonNeg
    variable_om_usd_per_mwh: NonNeg
    lead_time_months: Months
    min_stable_load_fraction: Fraction
    ramp_rate_fraction_per_min: NonNeg
    nox_kg_per_mwh: NonNeg
    lifetime_years: float = Field(gt=0)
    output_vs_ambient_c: list[Point] | None = Field(
        None, min_length=2, description="available output as a share of unit_mw (rated at ISO, 15 °C) against "
        "the ambient dry-bulb temperature in °C, [[temp_c, share], ...] with rising temp_c, held at the ends; "
        "applied where the site gives ambient_temp_c; default: no derate")
    output_vs_elevation_m: list[Point] | None = Field(
        None, min_length=2, description="available output as a share of unit_mw (rated at sea level) against the "
        "site's elevation in m, [[elevation_m, share], ...], held at the ends; applied where the site's location "
        "gives elevation_m; default: no derate")

    @model_validator(mode="after")
    def _curves_rise(self):
        for name in ("output_vs_ambient_c", "output_vs_elevation_m"):
            xs = [x for x, _ in getattr(self, name) or []]
            if xs != sorted(xs) or len(set(xs)) != len(xs):
                raise ValueError(f"{name}: its x values must rise strictly")
            if any(not 0 < share <= 1.5 for _, share in getattr(self, name) or []):
                raise ValueError(f"{name}: each share of unit_mw must lie in (0, 1.5]")
        return self


class RenewableSpec(Sourced):
    kind: Literal["solar", "wind"]
    capex_usd_per_kw: NonNeg
    fixed_om_usd_per_kw_year: NonNeg
    lifetime_years: float = Field(gt=0)
    lead_time_months: Months
    land_acres_per_mw: NonNeg


class StorageSpec(Sourced):
    kind: Literal["battery"] = "battery"
    power_capex_usd_per_kw: NonNeg
    energy_capex_usd_per_kwh: NonNeg
    fixed_om_usd_per_kw_year: NonNeg
    round_trip_efficiency: float = Field(gt=0, le=1)
    charge_efficiency: float | None = Field(None, gt=0, le=1, description="AC in to energy stored, one way; "
                                            "default: round_trip_efficiency / discharge_efficiency, or its square root")
    discharge_efficiency: float | None = Field(None, gt=0, le=1, description="energy stored to AC out, one way")
    lifetime_years: float = Field(gt=0)
    lead_time_months: Months

    @model_validator(mode="after")
    def _one_way_make_the_round_trip(self):
        charge, discharge, rte = self.charge_efficiency, self.discharge_efficiency, self.round_trip_efficiency
        if charge is not None and discharge is not None:
            if abs(charge * discharge - rte) > 1e-6:
                raise ValueError(f"charge_efficiency x discharge_efficiency = {charge * discharge:.4g}, not the "
                                 f"round_trip_efficiency of {rte:.4g}")
        elif (given := charge if charge is not None else discharge) is not None and given < rte:
            raise ValueError(f"a one-way efficiency of {given:.4g} cannot make a round trip of {rte:.4g}")
        return self

    def one_way_efficiencies(self) -> tuple[float, float]:
        """(charge, discharge): as given; one given, the other makes up the round trip; neither,
        the square root of the round trip each way."""
        rte, charge, discharge = self.round_trip_efficiency, self.charge_efficiency, self.discharge_efficiency
        if charge is None and discharge is None:
            return rte ** 0.5, rte ** 0.5
        if charge is None:
            return rte / discharge, discharge
        return charge, rte / charge if discharge is None else discharge


class CoolingSpec(Sourced):
    liquid: bool = Field(description="supports liquid-cooled GPUs")
    pue: float = Field(ge=1, le=3, description="typical annual PUE when a site gives no profile")
    wue_l_per_kwh: NonNeg
    capex_usd_per_kw_it: NonNeg
    lifetime_years: float = Field(gt=0)
    lead_time_months: Months


class GridEquipmentSpec(Sourced):
    """Equipment between a site and the grid, with the lead time that sets when a connection
    can carry load (the grid-connection decisions build on it)."""

    kind: Literal["transformer", "substation"]
    rating_mva: float = Field(gt=0)
    lead_time_months: Months
    capex_usd: NonNeg | None = Field(None, description="installed price of one unit (a site's grid upgrade may give its own)")


class Catalog(StrictModel):
    gpus: dict[str, GpuSpec] = Field(default_factory=dict)
    generators: dict[str, GeneratorSpec] = Field(default_factory=dict)
    renewables: dict[str, RenewableSpec] = Field(default_factory=dict)
    storage: dict[str, StorageSpec] = Field(default_factory=dict)
    cooling: dict[str, CoolingSpec] = Field(default_factory=dict)
    grid_equipment: dict[str, GridEquipmentSpec] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _keys_are_identifiers(self):
        for section in SECTIONS:
            for key in getattr(self, section):
                if not key.replace("_", "").replace("-", "").isalnum():
                    raise ValueError(f"catalog key '{key}' in {section}: use letters, digits, '_' or '-'")
        return self


SECTIONS = CATALOG_SECTIONS
