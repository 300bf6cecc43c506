"""What the model parts share: per-site data on the time grid, and the bookkeeping each part
adds to (supply into the site's power balance, annual cost terms, emissions)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyomo.environ as pyo

from dcplan.loader import SiteInput
from dcplan.model.timegrid import TimeGrid
from dcplan.schema.program import Finance

NATURAL_GAS_CO2_T_PER_MMBTU = 0.05306
"""EPA emission factor for natural gas, 53.06 kg CO2/MMBtu (40 CFR 98 Table C-1; DESIGN.md)."""


def capital_recovery_factor(rate: float, years: float) -> float:
    """CRF = r(1+r)^n / ((1+r)^n - 1): the annuity that repays 1 unit of capital over n years."""
    if rate == 0:
        return 1.0 / years
    growth = (1 + rate) ** years
    return rate * growth / (growth - 1)


@dataclass
class SiteModel:
    """One site's block and the terms its parts contribute."""

    name: str
    si: SiteInput
    tg: TimeGrid
    finance: Finance
    block: pyo.Block
    supply: list = field(default_factory=list)  # IndexedVar/Expression over steps: + into balance
    withdraw: list = field(default_factory=list)  # IndexedVar over steps: - from balance
    costs: dict[str, object] = field(default_factory=dict)  # component -> annual USD expression
    co2_t: list = field(default_factory=list)  # annual tonnes expressions
    nox_t: list = field(default_factory=list)
    smoothing: object = None  # dcplan.smoothing.api.SmoothingResult for the site's training job
    load: object = None  # facility load per step (expression rule), set by the compute part
    peak_load: object = None  # design peak facility load (MW) over the full year

    @property
    def steps(self):
        return self.block.T

    def series(self, values: np.ndarray) -> list[float]:
        """A full-year series sampled on the time grid, as floats for fast expression building."""
        return self.tg.sample(values).astype(float).tolist()

    def weights(self) -> list[float]:
        return self.tg.weight.astype(float).tolist()

    def crf(self, section: str, key: str, spec_life: float) -> float:
        lives = self.finance.lifetimes_years
        life = lives.get(key, lives.get(section, spec_life))
        return capital_recovery_factor(self.finance.discount_rate, life)

    def add_cost(self, component: str, expr) -> None:
        self.costs[component] = self.costs[component] + expr if component in self.costs else expr
