"""A committed site plan seen through the current inputs: its GPUs, build and dispatch as
committed, and what they draw, emit and cost under today's catalog, series and site file.

Nothing here optimises: the load is the committed IT (recomputed from the GPU counts and the
current catalog) times the current PUE at each committed step. What the plan's build and dispatch
cost, emit and measure against caps is the model's to say (dcplan.checks.evaluate).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from dcplan.checks.evaluate import CommittedSmoothing, SiteFigures
from dcplan.formulas import smoothed_draw_fraction
from dcplan.loader import SiteInput
from dcplan.plans.files import SiteEntry
from dcplan.plans.types import gas_key
from dcplan.schema.compute import Compute


@dataclass
class SiteState:
    si: SiteInput
    entry: SiteEntry
    d: dict[str, np.ndarray]  # committed dispatch columns (a build-out's final period)
    compute: Compute  # the compute options in force at the site
    start: dt.date  # the dates the dispatch stands for (grid limits, caps in force)
    end: dt.date
    period: str = ""  # the build-out period the state is of ("" for a single-period plan)
    figures: SiteFigures | None = None  # what today's model makes of it (dcplan.checks.evaluate)

    @property
    def name(self) -> str:
        return self.si.name

    @property
    def when(self) -> str:
        """For messages: " in <period>" of a build-out."""
        return f" in {self.period}" if self.period else ""

    @property
    def hours(self) -> np.ndarray:
        return self.d["hour_of_year"].astype(int)

    @property
    def weight(self) -> np.ndarray:
        return self.d["weight"]

    def col(self, name: str) -> np.ndarray:
        """A dispatch column, zeros when the plan has none (the technology was not modelled)."""
        return self.d.get(name, np.zeros(len(self.weight)))

    @property
    def gpus(self) -> dict[str, int]:
        return {g: n for g, n in self.entry.gpus.items() if n > 0}

    @property
    def it_mw(self) -> float:
        """Today's IT of the committed GPUs; the plan's own where the model could not evaluate it."""
        return self.figures.it_mw if self.figures is not None else self.entry.it_mw

    def compute_in(self, measure: str) -> float:
        return self.figures.compute[measure]

    @property
    def draw_fraction(self) -> float:
        """The share of its design the IT draws each hour: today's average share, and what the
        plan committed its training job's smoothing to add."""
        smoothing = CommittedSmoothing.of(self.entry.capacity)
        if smoothing is None:
            return self.compute.average_draw_fraction
        return smoothed_draw_fraction(self.compute.average_draw_fraction, smoothing.draw_added_fraction,
                                      smoothing.peak_fraction)

    @property
    def cooling_known(self) -> bool:
        return self.entry.cooling in self.si.pue

    @cached_property
    def pue(self) -> np.ndarray:
        """The current PUE of the committed cooling option at each step."""
        return self.si.pue[self.entry.cooling][self.hours]

    @property
    def load_mw(self) -> np.ndarray:
        return self.figures.load_mw

    @property
    def design_peak_mw(self) -> float:
        return self.figures.design_peak_mw

    # --- what was built, read from the plan's capacities -----------------------------------

    def gas(self) -> list[tuple[int, object, int]]:
        """(index in technologies.gas, candidate, units now) for each candidate of the plan."""
        out = []
        for i, cand in enumerate(self.si.site.technologies.gas):
            new = self.entry.capacity.get(gas_key(cand.key, "new_units"))
            if new is not None:
                out.append((i, cand, int(round(new)) + cand.existing_units))
        return out

    def capacity(self, key: str) -> float:
        return self.entry.capacity.get(key, 0.0)
