"""The compute side of a plan: which GPU models may be bought, and how much compute is needed."""

from __future__ import annotations

from pydantic import Field, model_validator

from dcplan.schema.base import At, Months, NonNeg, Point, StrictModel


class GpuOption(StrictModel):
    model: str = Field(description="GPU catalog key, e.g. h100_sxm")
    max_gpus: int | None = Field(None, ge=0, description="supply or space limit")
    existing_gpus: int = Field(0, ge=0, description="already installed; no purchase cost")
    lead_time_months: Months | None = Field(None, description="order-to-rack; default: the catalog's")
    max_new_gpus_per_period: int | None = Field(
        None, ge=0, description="supplier allocation: most GPUs ordered in one build-out period")


class CloudOption(StrictModel):
    """GPUs rented from a cloud by the hour: they count toward the compute target but draw no
    power, cooling or capital at the sites; in a build-out they are rented period by period (a
    bridge until owned GPUs and power arrive), in a single-period plan all year. The optimizer
    weighs renting against owning; the crossover is its answer."""

    model: str = Field(description="GPU catalog key: what one rented GPU counts for toward the target")
    usd_per_gpu_hour: NonNeg = Field(description="the rental price, every hour of the year (renting to run)")
    max_gpus: int | None = Field(None, ge=0, description="most GPUs the cloud will rent at once")
    lead_time_months: Months = Field(0.0, description="from the start of the plan to the first rented GPU")
    source: str | None = Field(None, description="where the price comes from (a quote, a price list), or 'assumption'")


PRETRAINING_POWER_CURVE = [(1.0, 1.0), (0.885, 0.935), (0.76, 0.874), (0.64, 0.787), (0.51, 0.626)]
"""Throughput of LLM pre-training (MPT-7B) against the GPUs' power as a share of their uncapped
draw, measured by Emerald AI on the 256-GPU cluster of the Phoenix demonstration (Colangelo et
al., arXiv:2507.00909; data/dvfs_sweep.csv of github.com/ai-emerald/emerald-ai-demo-may-2025,
Apache-2.0): caps of 350, 300, 250 and 200 W on 400 W parts (A100-class: inferred, the files do
not name it) against an uncapped draw of 388 W. No H100 or B200 training curve is published:
using it for them is an assumption."""


class PowerCapping(StrictModel):
    """Hour by hour the plan may cap the GPUs below their uncapped draw (a power limit set in the
    driver, as in the Phoenix demonstration): less energy, less throughput, each GPU-hour lost
    priced at ``value_usd_per_gpu_hour``. Worth it against high energy prices and in a flexible
    connection's curtailed hours; supply, cooling and N+1 still carry the uncapped peak. The plan
    uses the curve's lower convex envelope (a cap costs throughput ever faster as it deepens) and
    the GPU with the least board power per MW (the most GPU-hours lost per MW saved)."""

    value_usd_per_gpu_hour: NonNeg = Field(description="what a GPU-hour of the job is worth (e.g. its rental price)")
    curve: list[Point] = Field(
        default_factory=lambda: list(PRETRAINING_POWER_CURVE),
        description="(power as a share of the uncapped draw, throughput as a share of uncapped) from (1, 1) "
        "down to the deepest cap allowed; default: Emerald AI's measured pre-training curve")

    @model_validator(mode="after")
    def _a_curve(self):
        power = [p for p, _ in self.curve]
        if len(self.curve) < 2 or self.curve[0] != (1.0, 1.0):
            raise ValueError("the curve starts at (1, 1), uncapped, and has at least one cap below it")
        if any(b >= a for a, b in zip(power, power[1:])) or power[-1] <= 0:
            raise ValueError("power shares fall from 1 toward 0, each below the one before")
        if any(not 0 < t <= 1 for _, t in self.curve):
            raise ValueError("throughput shares lie in (0, 1]")
        return self


MEASURE_UNITS = {"gpus": "GPUs", "h100_equivalents": "H100-equivalents", "bf16_pflops": "BF16 PFLOPS"}
"""What a compute target may be counted in, and the words its amounts are printed with."""
MEASURES = tuple(MEASURE_UNITS)


class ComputeTarget(StrictModel):
    """Exactly one measure of how much compute must be online."""

    gpus: int | None = Field(None, gt=0)
    h100_equivalents: float | None = Field(None, gt=0, description="counted by TPP")
    bf16_pflops: float | None = Field(None, gt=0, description="dense BF16 PFLOPS")

    @model_validator(mode="after")
    def _exactly_one(self):
        given = [k for k in MEASURES if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of gpus, h100_equivalents, bf16_pflops (found {len(given)})"
            )
        return self

    @property
    def measure(self) -> str:
        return next(k for k in MEASURES if getattr(self, k) is not None)

    @property
    def amount(self) -> float:
        return float(getattr(self, self.measure))


class Compute(StrictModel):
    gpus: list[GpuOption] = Field(default_factory=list, description="GPU models the optimizer may choose")
    cloud: list[CloudOption] = Field(default_factory=list, description="GPUs the optimizer may rent from a cloud "
                                     "instead of (or before) owning them")
    provisioning_utilisation: float = Field(
        1.0, gt=0, le=1,
        description="design IT as a share of the GPUs' all-in power: 1 (the default) for a synchronous "
        "training cluster, whose GPUs reach their peak together; below 1 oversubscribes, as a fleet of "
        "independent jobs can (Meta provisions GB200 at 80 % of TDP), at the risk of tripping breakers "
        "and the supply when one job drives every GPU at once",
    )
    average_draw_fraction: float = Field(
        1.0, gt=0, le=1,
        description="the IT's hourly average draw as a share of its design IT, fixed_it_mw included "
        "(communication phases, checkpoints, idle): the hourly load, and so energy, fuel, emissions, water, "
        "grid imports against their limit and demand charges; cooling and N+1 firm capacity are sized for the "
        "design IT. Default 1: a training cluster near its peak all year (SemiAnalysis's 100k H100: 150 MW, "
        "about 1.59 TWh a year). A smoothed training job (smoothing.workload) adds the energy of its smoothing "
        "(burn work, a floor, the stores' losses) to this share, never above the design: at 1 there is no "
        "trough left to fill")
    power_capping: PowerCapping | None = Field(None, description="let the plan cap the GPUs' power hour by hour, "
                                               "at a price per GPU-hour lost")
    target: ComputeTarget | None = None
    max_it_mw: NonNeg | None = Field(None, description="building limit on IT load")
    fixed_it_mw: NonNeg = Field(0.0, description="IT load at each site besides the GPUs' (CPU servers, "
                                "storage, networks outside the GPU servers), MW at the design, drawn all year "
                                "(times average_draw_fraction, as the GPUs'); alone, a plan of power only")

    @model_validator(mode="after")
    def _each_model_once(self):
        bought = [g.model for g in self.gpus]
        for i, model in enumerate(bought):
            if model in bought[:i]:  # the first entry had won, the second's limits quietly ignored
                raise At(("gpus", i, "model"), f"GPU model '{model}' is listed twice (one entry per model: "
                         "raise its max_gpus instead)")
        models = [c.model for c in self.cloud]
        twice = sorted({m for m in models if models.count(m) > 1})
        if twice:
            raise ValueError(f"cloud GPU model listed twice: {', '.join(twice)} (one offer per model)")
        return self

    @model_validator(mode="after")
    def _some_load(self):
        if not self.gpus and self.fixed_it_mw == 0:
            raise ValueError("list the GPU models the plan may buy (gpus), or a fixed_it_mw to plan power for")
        if not self.gpus and self.target is not None:
            raise At(("target",), "a compute target needs GPU models to meet it (gpus)")
        return self
