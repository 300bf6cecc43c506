"""The ``kind: workload`` file: a training job's power described by its phases (iteration,
checkpoint, start and stop ramps, jitter) or by a recorded trace."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from dcplan.choices import RESOLUTION_S
from dcplan.schema.base import Fraction, NonNeg, StrictModel

MIN_STEP_S = 0.01
"""Finest trace resolution accepted (10 ms)."""
MAX_STEP_S = RESOLUTION_S[1]
"""Every step is below an hour (a training job's swings last seconds to minutes)."""

class IterationSpec(StrictModel):
    """One training iteration: a compute phase, then a communication phase."""

    period_s: float = Field(gt=0, description="length of one iteration, seconds")
    compute_fraction: float = Field(gt=0, le=1, description="share of the iteration spent computing")
    compute_power_fraction: Fraction = Field(1.0, description="GPU power while computing, fraction of TDP")
    comm_power_fraction: Fraction = Field(
        0.15, description="GPU power while communicating, fraction of TDP (O5: ~15 %)")
    period_jitter_fraction: float = Field(
        0.0, ge=0, le=0.3, description="standard deviation of each iteration's length, fraction of period_s")


class CheckpointSpec(StrictModel):
    """A checkpoint every ``every_min`` minutes of the job, lasting ``duration_s``; training
    pauses meanwhile (iterations resume where they stopped)."""

    every_min: float = Field(gt=0)
    duration_s: float = Field(gt=0)
    power_fraction: Fraction = Field(0.15, description="GPU power while checkpointing, fraction of TDP")

    @model_validator(mode="after")
    def _fits(self):
        if self.duration_s >= self.every_min * 60:
            raise ValueError(f"a checkpoint of {self.duration_s:g} s does not fit in every "
                             f"{self.every_min:g} min")
        return self


class RampSpec(StrictModel):
    """Idle time, then a linear ramp between idle and the training pattern (start), or the
    ramp and then idle time (stop). ``ramp_s: 0`` is a step."""

    ramp_s: NonNeg = 0.0
    idle_s: NonNeg = 0.0


class JitterSpec(StrictModel):
    """GPUs in ``groups`` equal groups, each starting its phases a random (uniform, seeded)
    offset of up to ``max_offset_s`` late: softens the edges the site sees."""

    groups: int = Field(1, ge=1, le=4096)
    max_offset_s: NonNeg = 0.0


class TraceSpec(StrictModel):
    """A measured trace in a CSV file, path relative to the workload file."""

    csv: str
    column: str | None = Field(None, description="power column: a name ending in _mw or w_per_gpu")
    time_column: str | None = None


class WorkloadFile(StrictModel):
    kind: Literal["workload"]
    name: str = "workload"
    gpu: str | None = Field(None, description="GPU catalog key, e.g. h100_sxm")
    gpus: int | None = Field(None, gt=0)
    server_w_per_gpu: NonNeg | None = Field(
        None, description="constant non-GPU power per GPU (CPUs, NICs, fans, and the cluster's network, "
        "storage and management); default for a synthetic job: the catalog's it_power_per_gpu_w + "
        "cluster_w_per_gpu - tdp_w; for a trace: 0")
    idle_power_fraction: Fraction = Field(
        0.1, description="GPU power before the start and after the stop ramp, fraction of TDP "
        "(assumption: ~70 W of a 700 W H100)")
    seed: int = Field(0, ge=0, description="of the random draws (jitter): the same seed, the same trace")
    duration_s: float | None = Field(None, gt=0)
    resolution_s: float = Field(0.1, ge=MIN_STEP_S, lt=MAX_STEP_S)
    iteration: IterationSpec | None = None
    checkpoint: CheckpointSpec | None = None
    start: RampSpec | None = None
    stop: RampSpec | None = None
    jitter: JitterSpec | None = None
    trace: TraceSpec | None = None
