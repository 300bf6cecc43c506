"""The sweep file: a base program and the axes to vary, checked like every other dcplan input
(every problem as file:line: key: message).

```yaml
base: ../quickstart/program.yaml              # a program file, relative to this file
axes:                                         # a path in the input model -> its values
  sites.memphis.fuel.gas_price_usd_per_mmbtu: [2.5, 3.5, 5, 8]
  catalog.gpus.h100_sxm.price_usd_per_gpu: {start: 40000, stop: 60000, step: 10000}
  sites.memphis.cooling.direct_liquid.pue: {distribution: uniform, low: 1.08, high: 1.3, draws: 3}
sample: 64                                    # draw 64 scenarios; omit for the full factorial
seed: 0                                       # for every random draw
time_limit_s: 300                             # solver time limit of each scenario
```
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import Discriminator, Field, Tag, model_validator

from dcplan.errors import InputError, Problem, refuse
from dcplan.schema.base import StrictModel
from dcplan.schema.validate import validation_problems
from dcplan.trust import MAX_MAGNITUDE
from dcplan.yamlio import YamlDocument, load_yaml

MAX_SCENARIOS = 100_000
"""A guard against a factorial that would run for months; sample from larger spaces."""


class Range(StrictModel):
    """Evenly spaced values from ``start`` to ``stop`` inclusive, ``step`` apart or ``num`` of them."""

    start: int | float
    stop: int | float
    step: int | float | None = Field(None, gt=0)
    num: int | None = Field(None, ge=2, le=MAX_SCENARIOS)

    @model_validator(mode="after")
    def _one_spacing(self):
        if (self.step is None) == (self.num is None):
            raise ValueError("give exactly one of step or num")
        if self.stop < self.start:
            raise ValueError("stop must not be below start")
        if self.step is not None and (self.stop - self.start) / self.step >= MAX_SCENARIOS:
            raise ValueError(f"more than {MAX_SCENARIOS:,} values; use a larger step")
        return self

    def values(self) -> list:
        if self.num is not None:
            raw = [self.start + (self.stop - self.start) * i / (self.num - 1) for i in range(self.num)]
        else:  # a tolerance so that 0.1 steps reach the stop despite rounding
            n = math.floor((self.stop - self.start) / self.step + 1e-9) + 1
            raw = [self.start + i * self.step for i in range(n)]
        if all(isinstance(x, int) for x in (self.start, self.stop, self.step or 0)) and self.num is None:
            return [int(x) for x in raw]
        return [float(f"{x:.12g}") for x in raw]  # 0.30000000000000004 -> 0.3


Parameter = Annotated[float, Field(ge=-MAX_MAGNITUDE, le=MAX_MAGNITUDE)]
"""A distribution's parameter: within any quantity an input holds, so that every draw is a finite
number (a mean of 1e308 drew infinities, an OverflowError; a sweep file's own numbers are held to
it as it is read, a sweep built in Python here)."""


class _Random(StrictModel):
    draws: int | None = Field(None, ge=1, le=MAX_SCENARIOS,
                              description="values to draw for a full factorial; with sample: N, one per scenario")
    round: int | None = Field(None, ge=0, le=12, description="decimal places kept (0: whole numbers)")

    def draw(self, rng: np.random.Generator, n: int) -> list:
        values = [float(x) for x in self._draw(rng, n)]
        if self.round == 0:
            return [int(round(x)) for x in values]
        return values if self.round is None else [round(x, self.round) for x in values]


class Uniform(_Random):
    distribution: Literal["uniform"]
    low: Parameter
    high: Parameter

    @model_validator(mode="after")
    def _order(self):
        if self.high <= self.low:
            raise ValueError("high must be above low")
        return self

    def _draw(self, rng, n):
        return rng.uniform(self.low, self.high, n)


class Normal(_Random):
    distribution: Literal["normal"]
    mean: Parameter
    sd: float = Field(gt=0, le=MAX_MAGNITUDE)

    def _draw(self, rng, n):
        return rng.normal(self.mean, self.sd, n)


class LogNormal(_Random):
    """Parameterised by its median and the standard deviation of its logarithm."""

    distribution: Literal["lognormal"]
    median: float = Field(gt=0, le=MAX_MAGNITUDE)
    sigma: float = Field(gt=0, le=10)

    def _draw(self, rng, n):
        return rng.lognormal(math.log(self.median), self.sigma, n)


class Triangular(_Random):
    distribution: Literal["triangular"]
    low: Parameter
    mode: Parameter
    high: Parameter

    @model_validator(mode="after")
    def _order(self):
        if not self.low <= self.mode <= self.high or self.low == self.high:
            raise ValueError("expected low <= mode <= high with low < high")
        return self

    def _draw(self, rng, n):
        return rng.triangular(self.low, self.mode, self.high, n)


Distribution = Annotated[Union[Uniform, Normal, LogNormal, Triangular], Field(discriminator="distribution")]


def _axis_tag(value: Any) -> str | None:
    if isinstance(value, list):
        return "values"
    if isinstance(value, dict):
        if "distribution" in value:
            return "random"
        if "start" in value or "stop" in value:
            return "range"
    return None


Axis = Annotated[
    Union[
        Annotated[list[Any], Tag("values"), Field(min_length=1)],
        Annotated[Range, Tag("range")],
        Annotated[Distribution, Tag("random")],
    ],
    Discriminator(_axis_tag, custom_error_type="axis", custom_error_message=(
        "expected a list of values, {start, stop, step or num}, or "
        "{distribution: uniform|normal|lognormal|triangular, ...}")),
]


class Sweep(StrictModel):
    base: str = Field(description="the program file to vary, relative to the sweep file")
    axes: dict[str, Axis] = Field(min_length=1, description="path in the input model -> values")
    sample: int | None = Field(None, ge=1, le=MAX_SCENARIOS,
                               description="draw this many scenarios; omit for the full factorial")
    seed: int = Field(0, ge=0)
    time_limit_s: float | None = Field(None, gt=0, description="solver time limit of each scenario")
    mip_gap: float = Field(1e-4, ge=0, lt=1)


@dataclass
class SweepFile:
    spec: Sweep
    doc: YamlDocument

    @property
    def base_path(self) -> Path:
        return (self.doc.path.parent / self.spec.base).resolve()


def load_sweep(path: Path) -> SweepFile:
    """Read and check a sweep file; raise :class:`InputError` with every problem found."""
    doc = load_yaml(Path(path))
    if not isinstance(doc.data, dict):
        raise InputError([doc.problem((), "expected a mapping with `base:` and `axes:`")])
    if "kind" in doc.data:
        raise InputError([doc.problem(("kind",), f"this is a {doc.data['kind']} file; a sweep file has "
                                      "`base:` (a program file) and `axes:`, and no kind")])
    refuse(validation_problems(doc, Sweep, doc.data))
    sweep = SweepFile(Sweep.model_validate(doc.data), doc)
    refuse(_check(sweep))
    return sweep


def _check(sweep: SweepFile) -> list[Problem]:
    spec, doc, problems = sweep.spec, sweep.doc, []
    try:
        doc.reference(spec.base, ("base",))
        if not sweep.base_path.is_file():
            problems.append(doc.problem(("base",), f"program file not found: {spec.base}"))
    except InputError as err:
        problems += err.problems
    count = 1
    for path, axis in spec.axes.items():
        loc = ("axes", path)
        if isinstance(axis, list):
            seen = set()
            for i, value in enumerate(axis):
                key = json.dumps(value, sort_keys=True, default=str)
                if key in seen:
                    problems.append(doc.problem(loc + (i,), f"value {value!r} is listed twice"))
                seen.add(key)
            count *= len(axis)
        elif isinstance(axis, Range):
            count *= len(axis.values())
        elif spec.sample is None and axis.draws is None:
            problems.append(doc.problem(loc, "a random axis in a full factorial needs `draws: N` "
                                        "(or give the sweep `sample: N`)"))
        elif spec.sample is not None and axis.draws is not None:
            problems.append(doc.problem(loc + ("draws",), "with `sample: N` every scenario draws one "
                                        "value; remove draws"))
        else:
            count *= axis.draws or 1
    if spec.sample is None and count > MAX_SCENARIOS:
        problems.append(doc.problem(("axes",), f"the full factorial has {count:,} scenarios (at most "
                                    f"{MAX_SCENARIOS:,}); give the sweep `sample: N` to draw some"))
    return problems
