"""Workloads: the power a training job draws, step by step.

Two sources:

- a measured trace in a CSV file (a header row; a time column in seconds or ISO 8601
  timestamps; a power column in MW, or in W per GPU to be scaled by a GPU count), at a uniform
  step of 10 ms or more;
- a synthetic job in a ``kind: workload`` YAML file: GPU model and count, iteration period,
  compute fraction, power in each phase as a fraction of TDP, checkpoints, start and stop
  ramps, and jitter between groups of GPUs. The generator is deterministic for a seed.

The job's power is split into the GPUs' share (what a power floor or burn work acts on) and a
constant server share (CPUs, NICs, fans: ``server_w_per_gpu`` per GPU).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import ValidationError

import dcplan.trust as trust
from dcplan.catalog import builtin_catalog
from dcplan.errors import InputError, Problem, did_you_mean, display_path, refuse
from dcplan.schema.validate import validation_problems
from dcplan.schema.workload import MAX_STEP_S, MIN_STEP_S, JitterSpec, RampSpec, WorkloadFile
from dcplan.yamlio import YamlDocument, load_yaml

STEP_TOLERANCE = 1e-3
"""Relative tolerance on a uniform time step (timestamps rounded to the millisecond)."""

TIME_COLUMNS = ("time_s", "time", "t", "seconds", "timestamp", "datetime")
MW_COLUMNS = ("mw", "power_mw", "load_mw", "it_mw", "grid_mw")
PER_GPU_COLUMNS = ("w_per_gpu", "power_w_per_gpu", "gpu_w")
MAX_PROBLEMS = 20


@dataclass
class Workload:
    """A job's power on a uniform time grid.

    ``load_mw[i]`` is the average power over ``[i * time_step_s, (i + 1) * time_step_s)``. It is
    the GPUs' power plus a constant ``server_mw``; ``gpus`` and ``tdp_w`` (when known) say what
    a power floor or burn work can act on.
    """

    name: str
    time_step_s: float
    load_mw: np.ndarray
    gpus: int | None = None
    gpu_model: str | None = None
    tdp_w: float | None = None
    server_mw: float = 0.0
    source: str = ""
    design_w_per_gpu: float | None = None  # the catalog's all-in W a GPU (when the model is known)

    def scaled_to(self, gpus: int) -> Workload:
        """The same job on ``gpus`` GPUs in step (its power scaled with them)."""
        k = gpus / self.gpus
        return dataclasses.replace(self, load_mw=self.load_mw * k, gpus=gpus, server_mw=self.server_mw * k)

    @property
    def steps(self) -> int:
        return len(self.load_mw)

    @property
    def duration_s(self) -> float:
        return self.steps * self.time_step_s

    @property
    def design_mw(self) -> float:
        """The job's design IT, MW: its GPUs all in, as a plan counts them (the trace's own peak
        where the GPU count or model is unknown, or where the trace goes above it)."""
        peak = float(self.load_mw.max())
        if self.gpus is None or self.design_w_per_gpu is None:
            return peak
        return max(self.gpus * self.design_w_per_gpu / 1e6, peak)

    @property
    def gpu_mw(self) -> np.ndarray:
        """The GPUs' share of the load."""
        return self.load_mw - self.server_mw

    @property
    def tdp_mw(self) -> float | None:
        """All GPUs at TDP, MW (None when the GPU count or model is unknown)."""
        if self.gpus is None or self.tdp_w is None:
            return None
        return self.gpus * self.tdp_w / 1e6

    @property
    def energy_mwh(self) -> float:
        return float(self.load_mw.sum()) * self.time_step_s / 3600.0


MAX_STEPS = 5_000_000
"""The most steps a synthetic job is generated with (almost 6 days at 0.1 s; each step takes some
hundred bytes while it is made): a file's one number must not exhaust memory."""
SYNTHETIC_KEYS = ("iteration", "checkpoint", "start", "stop", "jitter", "duration_s")


def _file_problems(spec: WorkloadFile, doc: YamlDocument | None) -> list[Problem]:
    def problem(loc, msg):
        return doc.problem(loc, msg) if doc else Problem("workload", None, ".".join(map(str, loc)), msg)

    problems = []
    gpus = builtin_catalog().gpus
    if spec.gpu is not None and spec.gpu not in gpus:
        problems.append(problem(("gpu",), f"'{spec.gpu}' is not in the gpus catalog"
                                + did_you_mean(spec.gpu, gpus) + f"; known: {', '.join(gpus)}"))
    if spec.trace is None and spec.iteration is None:
        problems.append(problem(("iteration",), "required key is missing (a synthetic job needs "
                                "`iteration:`; a measured one needs `trace: {csv: FILE}`)"))
    if spec.trace is not None:
        for key in SYNTHETIC_KEYS:
            if getattr(spec, key) is not None:
                problems.append(problem((key,), "a workload with `trace:` is measured; "
                                        f"`{key}` belongs to a synthetic job"))
    else:
        for key in ("gpu", "gpus", "duration_s"):
            if getattr(spec, key) is None:
                problems.append(problem((key,), "required key is missing (a synthetic job needs "
                                        "gpu, gpus and duration_s)"))
        if spec.duration_s is not None and spec.duration_s / spec.resolution_s > MAX_STEPS:
            problems.append(problem(("duration_s",), f"{spec.duration_s:g} s of {spec.resolution_s:g} s steps is "
                                    f"{spec.duration_s / spec.resolution_s:,.0f} steps, more than the {MAX_STEPS:,} a "
                                    "synthetic job may have (a shorter job, or a coarser resolution_s)"))
        elif spec.duration_s is not None and spec.duration_s < 2 * spec.resolution_s:
            problems.append(problem(("duration_s",), f"{spec.duration_s:g} s is shorter than two "
                                    f"steps of resolution_s {spec.resolution_s:g} s"))
        idle_s = (spec.start.idle_s if spec.start else 0.0) + (spec.stop.idle_s if spec.stop else 0.0)
        if spec.duration_s is not None and idle_s >= spec.duration_s:
            problems.append(problem(("duration_s",), f"{spec.duration_s:g} s is all idle (start.idle_s + "
                                    f"stop.idle_s: {idle_s:g} s): the job never trains"))
        if spec.iteration is not None and spec.iteration.period_s < 2 * spec.resolution_s:
            problems.append(problem(("iteration", "period_s"), f"{spec.iteration.period_s:g} s is shorter than two "
                                    f"steps of resolution_s {spec.resolution_s:g} s: its phases cannot be told "
                                    "apart (a finer resolution_s, or a longer period)"))
    return problems


# --- synthetic generator -----------------------------------------------------------------

def generate(spec: WorkloadFile) -> np.ndarray:
    """GPU power as a fraction of TDP at each step (the mean of the groups), deterministic
    for ``spec.seed``. Each step is evaluated at its midpoint."""
    res, duration = spec.resolution_s, float(spec.duration_s)
    n = round(duration / res)
    t = (np.arange(n) + 0.5) * res
    rng = np.random.default_rng(spec.seed)
    it = spec.iteration
    start = spec.start or RampSpec()
    stop = spec.stop or RampSpec()
    job_from = start.idle_s
    job_to = duration - stop.idle_s
    wall = t - job_from  # seconds since the job started
    # training clock: wall time less the checkpoints taken so far
    in_ckpt = np.zeros(n, dtype=bool)
    train = wall.copy()
    if spec.checkpoint is not None:
        every = spec.checkpoint.every_min * 60.0
        dur = spec.checkpoint.duration_s
        k = np.floor(np.maximum(wall, 0.0) / every)
        into = np.maximum(wall, 0.0) - k * every
        taken = np.where(k >= 1, (k - 1) * dur + np.minimum(into, dur), 0.0)
        in_ckpt = (k >= 1) & (into < dur)
        train = wall - taken
    # iteration boundaries on the training clock, shared by all groups (synchronous training)
    horizon = max(duration, 1.0) + it.period_s
    shortest = it.period_s * (0.5 if it.period_jitter_fraction > 0 else 1.0)
    count = math.ceil(horizon / shortest) + 2
    periods = np.full(count, it.period_s)
    if it.period_jitter_fraction > 0:
        noise = rng.standard_normal(count) * it.period_jitter_fraction
        periods = it.period_s * np.clip(1.0 + noise, 0.5, 1.5)
    starts = np.concatenate([[0.0], np.cumsum(periods)])
    jitter = spec.jitter or JitterSpec()
    offsets = rng.uniform(0.0, jitter.max_offset_s, jitter.groups) if jitter.max_offset_s > 0 \
        else np.zeros(jitter.groups)
    pattern = np.zeros(n)
    for offset in offsets:
        tau = train - offset
        idx = np.clip(np.searchsorted(starts, tau, side="right") - 1, 0, len(periods) - 1)
        phase = (tau - starts[idx]) / periods[idx]
        computing = (tau >= 0) & (phase < it.compute_fraction)
        pattern += np.where(computing, it.compute_power_fraction, it.comm_power_fraction)
    pattern /= len(offsets)
    if spec.checkpoint is not None:
        pattern = np.where(in_ckpt, spec.checkpoint.power_fraction, pattern)
    # start and stop ramps between idle and the pattern
    envelope = np.ones(n)
    if start.ramp_s > 0:
        envelope = np.minimum(envelope, (t - job_from) / start.ramp_s)
    else:
        envelope = np.where(t < job_from, 0.0, envelope)
    if stop.ramp_s > 0:
        envelope = np.minimum(envelope, (job_to - t) / stop.ramp_s)
    else:
        envelope = np.where(t >= job_to, 0.0, envelope)
    envelope = np.clip(envelope, 0.0, 1.0)
    idle = spec.idle_power_fraction
    return idle + envelope * (pattern - idle)


def workload_from_spec(spec: WorkloadFile, doc: YamlDocument | None = None) -> Workload:
    """A :class:`Workload` from a validated workload file (synthetic, or its CSV trace, found
    beside ``doc`` or, without one, in the working directory)."""
    problems = _file_problems(spec, doc)
    refuse(problems)
    gpu = builtin_catalog().gpus[spec.gpu] if spec.gpu else None
    if spec.trace is not None:
        csv_path = doc.reference(spec.trace.csv, ("trace", "csv")) if doc else Path.cwd() / spec.trace.csv
        if not csv_path.is_file():  # a folder or a pipe too, named at the key that points at it
            why = "not a regular file" if csv_path.exists() else "file not found"
            where = doc.problem(("trace", "csv"), f"{why}: {display_path(csv_path)}") if doc \
                else Problem(display_path(csv_path), None, "", why)
            raise InputError([where])
        return load_trace_csv(csv_path, gpus=spec.gpus, gpu_model=spec.gpu, column=spec.trace.column,
                              time_column=spec.trace.time_column, server_w_per_gpu=spec.server_w_per_gpu,
                              name=spec.name)
    server_w = spec.server_w_per_gpu if spec.server_w_per_gpu is not None \
        else gpu.design_w_per_gpu - gpu.tdp_w
    fraction = generate(spec)
    server_mw = spec.gpus * server_w / 1e6
    load = fraction * gpu.tdp_w * spec.gpus / 1e6 + server_mw
    return Workload(spec.name, spec.resolution_s, load, spec.gpus, spec.gpu, gpu.tdp_w, server_mw,
                    doc.name if doc else "synthetic", gpu.design_w_per_gpu)


def synthetic_workload(**fields) -> Workload:
    """A synthetic workload from the fields of a workload file (``kind`` may be left out), for
    tests and notebooks: ``synthetic_workload(gpu="h100_sxm", gpus=1000, duration_s=64,
    iteration={"period_s": 8, "compute_fraction": 0.75})``."""
    data = {"kind": "workload", **fields}
    try:
        spec = WorkloadFile.model_validate(data)
    except ValidationError as exc:  # pydantic's message is clear enough for a programmatic call
        raise InputError([Problem("workload", None, "", str(exc))]) from None
    return workload_from_spec(spec)


# --- CSV traces --------------------------------------------------------------------------

def _parse_time(text: str) -> float | dt.datetime:
    """Seconds (a finite number) or an ISO 8601 timestamp; ValueError for anything else."""
    try:
        seconds = trust.cell_number(text)
    except ValueError:
        return dt.datetime.fromisoformat(text.strip())
    if not math.isfinite(seconds):
        raise ValueError(text)
    return seconds


def load_trace_csv(path: Path, gpus: int | None = None, gpu_model: str | None = None,
                   column: str | None = None, time_column: str | None = None,
                   server_w_per_gpu: float | None = None, name: str | None = None) -> Workload:
    """Read a measured trace. Every problem names the file, the line and the column."""
    fname = display_path(path)
    rows = trust.read_csv_rows(path)
    problems: list[Problem] = []
    gpu = None
    if gpu_model is not None:
        catalog = builtin_catalog().gpus
        if gpu_model not in catalog:
            raise InputError([Problem("command line" if name is None else fname, None, "gpu",
                                      f"'{gpu_model}' is not in the gpus catalog"
                                      + did_you_mean(gpu_model, catalog))])
        gpu = catalog[gpu_model]
    if not rows or not any(c.strip() for c in rows[0]):
        raise InputError([Problem(fname, 1, "", "expected a header row, e.g. `time_s,mw`")])
    header = [c.strip().lower() for c in rows[0]]

    def pick(wanted: str | None, candidates) -> int | None:
        if wanted is not None:
            if wanted.lower() not in header:
                problems.append(Problem(fname, 1, wanted, f"no column named '{wanted}'"
                                        + did_you_mean(wanted, header) + f"; columns: {', '.join(header)}"))
                return None
            return header.index(wanted.lower())
        for c in candidates:
            if c in header:
                return header.index(c)
        return None

    t_col = pick(time_column, TIME_COLUMNS)
    if t_col is None and time_column is None:
        problems.append(Problem(fname, 1, "", "no time column: name one of "
                                f"{', '.join(TIME_COLUMNS)} (seconds, or ISO 8601 timestamps)"))
    v_col = pick(column, MW_COLUMNS + PER_GPU_COLUMNS)
    both = [c for c in MW_COLUMNS + PER_GPU_COLUMNS if c in header]
    if column is None and any(c in MW_COLUMNS for c in both) and any(c in PER_GPU_COLUMNS for c in both):
        problems.append(Problem(fname, 1, "", f"two power columns ({', '.join(both)}): name the one to smooth "
                                "(`trace.column:` in a workload file)"))
    if v_col is None and column is None:
        problems.append(Problem(fname, 1, "", "no power column: name one `mw` (site MW) or "
                                "`w_per_gpu` (watts per GPU, scaled by the GPU count)"))
    refuse(problems)
    v_name = header[v_col]
    per_gpu = v_name in PER_GPU_COLUMNS or v_name.endswith("w_per_gpu")
    if not per_gpu and not v_name.endswith("mw"):
        raise InputError([Problem(fname, 1, v_name, "cannot tell the unit: name the power column "
                                  "with a `_mw` or `w_per_gpu` suffix")])
    if per_gpu and gpus is None:
        raise InputError([Problem(fname, 1, v_name, "watts per GPU need a GPU count "
                                  "(`gpus:` in the workload file, or --gpus)")])
    times, values = [], []
    for i, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) <= max(t_col, v_col):
            problems.append(Problem(fname, i, "", f"expected {len(header)} values, found {len(row)}"))
            continue
        try:
            t = _parse_time(row[t_col])
        except ValueError:
            problems.append(Problem(fname, i, header[t_col], f"expected seconds or an ISO 8601 "
                                    f"timestamp, found {row[t_col]!r}"))
            continue
        try:
            v = trust.cell_number(row[v_col])
        except ValueError:
            problems.append(Problem(fname, i, v_name, f"expected a number, found {row[v_col]!r}"))
            continue
        if not math.isfinite(v) or v < 0 or trust.too_large(v):
            problems.append(Problem(fname, i, v_name, trust.too_large_words(v) if trust.too_large(v)
                                    else f"expected a finite value >= 0, found {row[v_col]!r}"))
            continue
        times.append((i, t))
        values.append(v)
        if len(problems) >= MAX_PROBLEMS:
            break
    refuse(problems)
    if len(values) < 2:
        last = times[-1][0] if times else 1  # the one row there is, else the header
        raise InputError([Problem(fname, last, v_name, f"expected at least 2 rows of data (a trace needs a time "
                                  f"step), found {len(values)}")])
    kinds = {isinstance(t, dt.datetime) for _, t in times}
    if len(kinds) > 1:
        line = next(i for i, t in times if isinstance(t, dt.datetime) != isinstance(times[0][1], dt.datetime))
        raise InputError([Problem(fname, line, header[t_col], "mixes timestamps and seconds")])
    if isinstance(times[0][1], dt.datetime):
        try:
            seconds = np.array([(t - times[0][1]).total_seconds() for _, t in times])
        except TypeError:
            raise InputError([Problem(fname, times[0][0], header[t_col],
                                      "mixes timestamps with and without a time zone")]) from None
    else:
        seconds = np.array([t for _, t in times], dtype=float)
    lines = [i for i, _ in times]
    steps = np.diff(seconds)
    step = float(steps[0])
    if step <= 0:
        raise InputError([Problem(fname, lines[1], header[t_col], "time must increase from row to row")])
    if step < MIN_STEP_S * (1 - STEP_TOLERANCE):
        raise InputError([Problem(fname, lines[1], header[t_col], f"time step {step * 1000:g} ms is "
                                  f"finer than {MIN_STEP_S * 1000:g} ms; resample the trace")])
    if step >= MAX_STEP_S:
        raise InputError([Problem(fname, lines[1], header[t_col], f"time step {step:g} s is not below "
                                  f"{MAX_STEP_S:g} s: a training job's swings last seconds to minutes")])
    bad = np.flatnonzero(np.abs(steps - step) > STEP_TOLERANCE * step + 1e-9)
    for j in bad[:MAX_PROBLEMS]:
        what = "time repeats the row before" if steps[j] == 0 else "time goes backwards" if steps[j] < 0 else \
            f"time step {steps[j]:g} s differs from the trace's step {step:g} s (a gap or a repeat?)"
        problems.append(Problem(fname, lines[j + 1], header[t_col], what + "; the trace needs a uniform step"))
    refuse(problems)
    step = float((seconds[-1] - seconds[0]) / (len(seconds) - 1))
    values_arr = np.array(values, dtype=float)
    server_w = server_w_per_gpu or 0.0
    if server_w and gpus is None:
        raise InputError([Problem(fname, None, "server_w_per_gpu", "needs a GPU count")])
    server_mw = (gpus or 0) * server_w / 1e6
    w_per_gpu = values_arr if per_gpu else values_arr * 1e6 / gpus if gpus else None
    if w_per_gpu is not None and gpu is not None and float(w_per_gpu.max()) > gpu.design_w_per_gpu:
        i = int(np.argmax(w_per_gpu))
        over = "" if per_gpu else f" ({values_arr[i]:,.6g} MW over {gpus:,} GPUs)"
        raise InputError([Problem(fname, lines[i], v_name, f"{float(w_per_gpu[i]):,.0f} W per GPU{over} is more than "
                                  f"one {gpu_model} draws all in ({gpu.design_w_per_gpu:,.0f} W: its server and cluster "
                                  "share included): is the column per server or node, or in another unit?"
                                  + ("" if per_gpu else " Or the GPU count too low?"))])
    if per_gpu:
        load = values_arr * gpus / 1e6 + server_mw
    else:
        load = values_arr
        low = float(load.min())
        if server_mw > low + 1e-9:
            line = lines[int(np.argmin(load))]
            raise InputError([Problem(fname, line, v_name, f"{low:g} MW is below the server share "
                                      f"{server_mw:g} MW (gpus x server_w_per_gpu)")])
    return Workload(name or path.stem, step, load, gpus, gpu_model,
                    gpu.tdp_w if gpu is not None else None, server_mw, fname,
                    gpu.design_w_per_gpu if gpu is not None else None)


# --- entry point -------------------------------------------------------------------------

def load_workload(path: Path | str, gpus: int | None = None, gpu_model: str | None = None,
                  folders: tuple[Path, ...] | None = None) -> Workload:
    """A workload from a CSV trace or a ``kind: workload`` YAML file. ``gpus`` and
    ``gpu_model`` (the command line's --gpus, --gpu) complete a CSV trace, or override the
    workload file's. ``folders``: where its trace may be (:mod:`dcplan.trust`)."""

    path = Path(path)
    if gpus is not None and gpus <= 0:
        raise InputError([Problem("command line", None, "--gpus", f"expected a count > 0, found {gpus}")])
    if path.suffix.lower() in (".csv", ".txt"):
        return load_trace_csv(path, gpus=gpus, gpu_model=gpu_model)
    doc = load_yaml(path, folders)
    data = doc.data
    if not isinstance(data, dict) or data.get("kind") != "workload":
        found = data.get("kind") if isinstance(data, dict) else None
        raise InputError([doc.problem(("kind",), "expected `kind: workload` (or give a CSV trace)"
                                      + (f", found kind: {found}" if found else ""))])
    data = dict(data)
    if gpus is not None:
        data["gpus"] = gpus
    if gpu_model is not None:
        catalog = builtin_catalog().gpus
        if gpu_model not in catalog:  # the command line's, not the file's: said there
            raise InputError([Problem("command line", None, "gpu", f"'{gpu_model}' is not in the gpus catalog"
                                      + did_you_mean(gpu_model, catalog))])
        data["gpu"] = gpu_model
    refuse(validation_problems(doc, WorkloadFile, data))
    spec = WorkloadFile.model_validate(data)
    return workload_from_spec(spec, doc)


def workload_files(path: Path, folders: tuple[Path, ...] | None = None) -> list[Path]:
    """The files a workload is read from: the file itself and, for a ``kind: workload`` file
    with a trace, its CSV (recorded with a plan that reads them)."""
    path = Path(path)
    if path.suffix.lower() in (".csv", ".txt"):
        return [path]
    doc = load_yaml(path, folders)
    trace = doc.data.get("trace") if isinstance(doc.data, dict) else None
    if isinstance(trace, dict) and isinstance(trace.get("csv"), str):
        return [path, doc.reference(trace["csv"], ("trace", "csv"))]
    return [path]
