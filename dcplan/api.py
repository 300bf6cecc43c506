"""The library API: what the CLI calls, and what tests and notebooks can call too."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import math
import pickle
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import pyomo.core as pyo

import dcplan.trust as trust
from dcplan.diagnose import arithmetic_checks, explain_infeasible, timeline_checks
from dcplan.errors import InputError, Problem, display_path
from dcplan.formulas import asset_life_years
from dcplan.loader import (
    ProgramInput,
    SiteInput,
    discover,
    input_files,
    is_sweep,
    load_program,
    training_job,
    validate_paths,
)
from dcplan.model import build_model
from dcplan.model.compute import power_share
from dcplan.model.context import is_operational
from dcplan.model.results import Plan, extract
from dcplan.model.technologies import couples_steps, relaxed_away
from dcplan.outfolder import OutputFolder
from dcplan.plans.write import input_hashes, write_plan_files
from dcplan.solver import SolveOptions, SolveResult, solve
from dcplan.yamlio import load_yaml

if TYPE_CHECKING:
    from dcplan.schema.catalog import Catalog
    from dcplan.schema.smoothing import SmoothingSpec
    from dcplan.smoothing.result import SmoothingResult
    from dcplan.smoothing.workload import Workload
    from dcplan.studies.earliest import Earliest

# Imported where used, so that a plain plan does not load them: the searches of buildout.earliest
# and pareto (dcplan.studies.earliest, .odds, .pareto) and the smoothing of training jobs (dcplan.smoothing.api,
# .output, with Pyomo's plugins).


def validate(paths: list[Path]) -> tuple[list[Path], list[Problem]]:
    """Check every site, program, workload, smoothing and sweep file under ``paths``; return
    (files checked, problems)."""
    from dcplan.sweep.expand import load_scenarios

    paths = [Path(p) for p in paths]
    checked, problems = validate_paths(paths)
    for f in discover(paths)[0]:
        try:
            if not is_sweep(load_yaml(f)):
                continue
        except InputError:
            continue  # validate_paths said why
        checked.append(f)
        try:
            load_scenarios(f)  # its base, its axes and every value tried on the base
        except InputError as err:
            problems += err.problems
    for f in checked:  # a valid program's time-to-power delays, and a scenario's own (their assets need its model)
        if any(p.file == display_path(f) for p in problems):
            continue
        data = load_yaml(f).data
        if not (isinstance(data, dict) and data.get("kind") == "program"):
            continue
        for scenario in [None, *(data.get("scenarios") or {})]:
            if _has_delays(data if scenario is None else data["scenarios"][scenario]):
                try:
                    check_program_delays(load_program(f, scenario))
                except InputError as err:
                    problems += [p for p in err.problems if p not in problems]
    return checked, sorted(problems, key=lambda p: (p.file, p.line or 0, p.key))


def _has_delays(data) -> bool:
    """Whether a program's (or a scenario's) data lists time-to-power delays."""
    earliest = (data.get("buildout") or {}).get("earliest") if isinstance(data, dict) else None
    return isinstance(earliest, dict) and bool(earliest.get("delays"))


@dataclass
class PlanOutcome:
    program: ProgramInput
    solve: SolveResult | None
    plan: Plan | None  # None when no plan exists (infeasible, or no solution in time)
    reasons: list[str] = dataclasses.field(default_factory=list)  # why not, when known up front
    smoothing: dict = dataclasses.field(default_factory=dict)  # site -> SmoothingResult of its training job
    earliest: Earliest | None = None  # what the search for buildout.earliest found

    @property
    def infeasible(self) -> bool:
        return bool(self.reasons) or (self.solve is not None and self.solve.status == "infeasible")

    @property
    def input_files(self) -> list[Path]:
        return input_files(self.program)

    def why_no_plan(self) -> list[str]:
        """Why there is no plan, in sentences a reviewer can act on: the reasons known up front,
        else (infeasible) the diagnosis of :func:`dcplan.diagnose.explain_infeasible`, else the
        solver's status."""
        if self.reasons:
            return self.reasons
        if self.infeasible:
            return explain_infeasible(self.program, self.smoothing)
        return [f"{self.solve.status}: {self.solve.message}" if self.solve else "no plan"]


class NoPlan(Exception):
    """No plan: the program is infeasible (``status`` "infeasible"), or the solver stopped
    without one. ``reasons`` say why in words; ``outcome`` holds the rest.

    It pickles (from a worker process to its caller) with its status, reasons and message;
    ``outcome`` comes with them where it pickles, else it is None on the other side."""

    def __init__(self, outcome: PlanOutcome):
        self.outcome: PlanOutcome | None = outcome
        self.status = "infeasible" if outcome.infeasible else (outcome.solve.status if outcome.solve else "none")
        self.reasons = outcome.why_no_plan()
        said = "; ".join(self.reasons)
        super().__init__(said if said.startswith(f"{self.status}:") else f"{self.status}: {said}")

    def __reduce__(self):
        """Rebuilt from its attributes, not by ``__init__`` (which would diagnose the outcome again,
        and by default is given the message instead of an outcome)."""
        state = dict(self.__dict__)
        try:
            pickle.dumps(self.outcome)
        except Exception:  # something of the solve's that does not pickle: the caller keeps the rest
            state["outcome"] = None
        return _exception_of, (type(self), self.args), state


def _exception_of(cls: type[Exception], args: tuple) -> Exception:
    """An exception of class ``cls`` with ``args``, its ``__init__`` not run (unpickling sets the
    rest of its attributes)."""
    error = cls.__new__(cls)
    error.args = args
    return error


def plan(path: Path | str, scenario: str | None = None, typical_days: int | None = None,
         options: SolveOptions | None = None, overrides: dict | None = None) -> PlanOutcome:
    """Load a program (or a site file with a compute target), build and solve its model.
    ``overrides``: values by a sweep's dotted paths (``{"sites.memphis.fuel.gas_price_usd_per_mmbtu":
    8}``), applied after ``scenario`` (:func:`dcplan.sweep.expand.load_with_overrides`).

    Raises :class:`dcplan.errors.InputError` for invalid input. ``options.time_limit_s`` counts
    from this call, reading the inputs included.
    """
    started = time.perf_counter()
    if overrides:
        from dcplan.sweep.expand import load_with_overrides

        program = load_with_overrides(Path(path), scenario, overrides)
    else:
        program = load_program(Path(path), scenario)
    outcome = plan_program(program, typical_days, less_time(options, time.perf_counter() - started))
    if outcome.plan is not None and overrides:
        outcome.plan.overrides = dict(overrides)
    return outcome


def less_time(options: SolveOptions | None, spent_s: float) -> SolveOptions | None:
    """``options`` with ``spent_s`` seconds fewer to its time limit (none left: 0)."""
    if options is None or options.time_limit_s is None:
        return options
    return dataclasses.replace(options, time_limit_s=max(options.time_limit_s - spent_s, 0.0))


def plan_program(program: ProgramInput, typical_days: int | None = None,
                 options: SolveOptions | None = None) -> PlanOutcome:
    """Build and solve; for ``buildout.earliest``, the earliest period's plan (:mod:`dcplan.studies.earliest`);
    with ``pareto``, the least-cost plan and its cost-against-CO2 curve (:mod:`dcplan.studies.pareto`)."""
    started = time.perf_counter()
    options = options or SolveOptions()
    if options.solver_log and trust.was_read(Path(options.solver_log)):  # HiGHS would append its log to it
        raise InputError([Problem("solver_log", None, "", f"{display_path(Path(options.solver_log))} is an input "
                                  "of this plan: HiGHS's log is not appended to it; give another file")])
    bo = program.program.buildout
    if program.program.pareto is None and (bo is None or bo.earliest is None):
        return plan_once(program, typical_days, options)
    check_program_delays(program)  # before the training jobs are smoothed (seconds)
    smoothing, ended = smooth_training_jobs(program, options)  # the same for every plan of the search
    if ended is not None:
        return ended
    plan_at = Replanner(typical_days, less_time(options, time.perf_counter() - started), smoothing)
    if program.program.pareto is not None:
        from dcplan.studies.pareto import frontier

        outcome = plan_at(program)
        if outcome.plan is not None:
            outcome.plan.pareto = frontier(program, outcome, plan_at).document()
        return outcome
    from dcplan.studies.earliest import cut_short, search
    from dcplan.studies.odds import odds

    found, outcome = search(program, plan_at)
    if found.period is not None and bo.earliest.delays:
        study = odds(program, plan_at, found.period.index)
        found.odds = study.document()
        if study.undecided and outcome.plan is not None:  # asked for and not answered: not a plan at its optimum
            stopped = options.stop is not None and options.stop.is_set()
            earlier = outcome.solve.message if outcome.solve.status == "time_limit" else ""  # the search's own
            outcome = cut_short(outcome, "stopped" if stopped else
                                (f"{earlier}; " if earlier.startswith("time limit: ") else "time limit: ")
                                + "the odds under the delays undecided")
    outcome.earliest = found
    if outcome.plan is not None:
        outcome.plan.earliest = found.document()
    return outcome


def check_program_delays(program: ProgramInput) -> None:
    """A time-to-power goal's delays name sites and assets the program has (an InputError at the
    entry); the assets' keys need a model of one typical day, so only a program with delays pays."""
    bo = program.program.buildout
    if bo is not None and bo.earliest is not None and bo.earliest.delays:
        from dcplan.studies.odds import check_delays

        check_delays(program, asset_keys(program))


def asset_keys(program: ProgramInput) -> dict[str, set[str]]:
    """Each site's assets by the key orders name them with (a model of one typical day is enough;
    a training job's smoothing adds none)."""
    pm = build_model(program, 1, {})
    return {sm.name: {a.key for a in sm.assets} for sm in pm.buildout.sites[0]}


@dataclass
class Replanner:
    """Plans of variants of one program (a search's probes, a curve's points) under one time
    limit for them all, its training jobs smoothed once. ``exact`` False: a probe, any plan will
    do (mip_gap 1; infeasibility is still proved exactly). ``change_model(plan_model)``: a change
    to the built model before it is solved (another objective, decisions fixed)."""

    typical_days: int | None
    options: SolveOptions
    smoothing: dict
    deadline: float | None = dataclasses.field(init=False, default=None)

    def __post_init__(self):
        limit = self.options.time_limit_s
        self.deadline = None if limit is None else time.perf_counter() + limit

    def __call__(self, pi: ProgramInput, exact: bool = True, change_model: Callable | None = None) -> PlanOutcome:
        left = None if self.deadline is None else max(self.deadline - time.perf_counter(), 0.0)
        options = dataclasses.replace(self.options, mip_gap=self.options.mip_gap if exact else 1.0, time_limit_s=left)
        return plan_once(pi, self.typical_days, options, change_model, self.smoothing)


def plan_once(program: ProgramInput, typical_days: int | None, options: SolveOptions,
              change_model: Callable | None = None, smoothing: dict | None = None) -> PlanOutcome:
    """One plan of the program as it stands (its ``earliest`` and ``pareto`` are not looked at).
    ``smoothing``: its training jobs' smoothing, when already done."""
    started = time.perf_counter()
    if options.progress:
        options.progress("building model", 0.0, None)
    # necessary conditions, by the model's own formulas: no solve needed, nor the jobs' smoothing
    reasons = timeline_checks(program) or arithmetic_checks(program)
    if reasons:
        return PlanOutcome(program, SolveResult("infeasible", message="; ".join(reasons)), None, reasons)
    if smoothing is None:
        smoothing, ended = smooth_training_jobs(program, less_time(options, time.perf_counter() - started))
        if ended is not None:
            return ended
    timed_out = PlanOutcome(program, SolveResult("no_solution", message="time limit"), None, smoothing=smoothing)

    def out_of_time(build_s: float) -> bool:  # the limit holds for the whole plan, building included
        left = less_time(options, time.perf_counter() - started).time_limit_s
        return left is not None and left <= build_s  # compiling takes about as long as building

    if out_of_time(0.0):  # no time for anything: no model is built
        return timed_out
    built = time.perf_counter()
    pm = build_model(program, typical_days, smoothing)
    build_s = time.perf_counter() - built
    if out_of_time(build_s):  # before the typical days too: they would only add to the overrun
        return timed_out
    if change_model is not None:
        change_model(pm)
    if pm.cap_rows and not options.duals:
        options = dataclasses.replace(options, duals=True)
    start, share = _typical_days_start(program, smoothing, options) if pm.tg.method == "hourly" else (None, 1.0)
    suspect = start == {}  # typical days found no plan
    # the gap is of the power system's cost, as the typical days share it out (see power_share);
    # another objective (a curve's CO2) keeps its own
    share = max(share, MIN_POWER_SHARE) if change_model is None else 1.0
    if out_of_time(build_s):
        return timed_out
    options = _gap_of_share(less_time(options, time.perf_counter() - started), share)
    result = solve(pm.model, options, operational=is_operational, start=start or None, suspect_infeasible=suspect,
                   relaxed_away=relaxed_away, couples_steps=couples_steps, negligible=pm.negligible())
    if result.gap is not None:  # reported as asked: of the same share
        result.gap, result.gap_share = result.gap / share, share
    plan = extract(pm, result) if result.has_solution else None
    if plan is not None:  # what writing it needs: the files it came from as they were, its jobs' smoothing
        plan.inputs, plan.smoothing = input_hashes(input_files(program)), smoothing
    return PlanOutcome(program, result, plan, smoothing=smoothing)


def _gap_of_share(options: SolveOptions, share: float) -> SolveOptions:
    """``options`` whose gap, asked and shown while solving, is of ``share`` of the objective
    (the solver's own gaps are of the whole objective). Shown of the whole, held-out r2043_08
    (power 9 % of its cost) read 0.015 % for 0.16 % of its power system's cost."""
    if share == 1.0:
        return options
    shown = options.progress
    return dataclasses.replace(options, mip_gap=options.mip_gap * share, progress=shown and (
        lambda phase, elapsed_s, gap: shown(phase, elapsed_s, None if gap is None else gap / share)))


START_TYPICAL_DAYS = 12
START_GAP = 1e-2
"""The gap the typical-days start is solved to: typical days stand for the year only to a few
per cent of its cost, so a closer proof buys no better start. On the build-out examples planned
over full years that proof was most of the plan (rent-vs-own: 48 s of 61 at the asked 1e-4, 6 s
at 1e-2; gigawatt-buildout 28 s -> 6 s), the year's own solve as long as before."""
MIN_POWER_SHARE = 0.01  # a plan nearly all compute keeps a gap of at least a hundredth of the asked


def _typical_days_start(program: ProgramInput, smoothing: dict, options: SolveOptions) -> tuple[dict | None, float]:
    """The design of the plan on typical days (variable name -> value), where the full-year
    solve starts: a second or less for one period (seconds for a build-out's), solved to
    :data:`START_GAP`, and usually within a few per cent of the year's.
    When typical days have no plan, the design that breaks the caps least (an elastic plan:
    typical days misweigh the hours a tight yearly cap depends on) is the start. Empty when
    neither has a plan (the year is then suspect); None when no start is wanted. With it, the
    share of that plan's cost that is the power system's (:func:`dcplan.model.compute.power_share`;
    1 for a plan that maximises compute or spans periods, or without a plan)."""
    if options.strategy not in ("auto", "decompose"):
        return None, 1.0
    quick = dataclasses.replace(options, progress=None, duals=False, strategy="auto", solver_log=None,
                                mip_gap=max(options.mip_gap, START_GAP),
                                time_limit_s=None if options.time_limit_s is None else options.time_limit_s / 10)
    for elastic in (False, True) if program.caps else (False,):
        pm = build_model(program, START_TYPICAL_DAYS, smoothing, elastic=elastic)
        _relax_operational_integers(pm.model)
        result = solve(pm.model, quick, operational=is_operational, relaxed_away=relaxed_away)
        if result.has_solution:
            share = power_share(pm.sites, pm.model.total_cost) if pm.buildout is None and not elastic \
                and program.program.objective.sense == "min_cost" else 1.0
            return {v.name: v.value for v in pm.model.component_data_objects(pyo.Var)
                    if not is_operational(v.parent_component()) and v.value is not None
                    and v.parent_component().local_name != "cap_slack"}, share
        if result.status != "infeasible":
            return None, 1.0
    return {}, 1.0


def _relax_operational_integers(model: pyo.Block) -> None:
    """Hourly integers (units on) made continuous, as the year's decomposition relaxes them in
    its loop: the start needs a design, and with them integral the typical days are a MIP of
    hundreds of commitment integers (seconds of heuristics) for the same design or nearly."""
    for component in model.component_objects(pyo.Var, descend_into=True):
        if not is_operational(component):
            continue
        for var in component.values():
            if var.is_integer():
                lower, upper = var.bounds
                var.domain = pyo.Reals
                var.setlb(lower)
                var.setub(upper)


def write_outputs(plan: Plan, outdir: Path, parquet: bool = False) -> list[Path]:
    """The plan's files, with its input files recorded, and the smoothing of each site's training
    job (in OUTDIR itself for one job, so that the report shows it; in OUTDIR/smoothing/SITE for
    several); ``parquet`` adds dispatch.parquet. ``outdir`` should be new: see
    :class:`dcplan.outfolder.OutputFolder`, which makes a folder that replaces an earlier run's whole."""
    written = write_plan_files(plan, outdir, parquet=parquet)
    if plan.smoothing:
        from dcplan.smoothing.output import write_smoothing
    for site, result in plan.smoothing.items():
        folder = outdir if len(plan.smoothing) == 1 else outdir / "smoothing" / site
        written += write_smoothing(result, folder)
    return written


def write_folder(plan: Plan, folder: OutputFolder, report: bool = False, parquet: bool = False) -> list[Path]:
    """Write ``plan`` (:func:`write_outputs`, and ``report``: report.html) into a claimed output
    folder as one transaction; the paths written, in the folder."""
    with folder.replace() as staging:
        written = write_outputs(plan, staging, parquet)
        if report:
            from dcplan.report import write_report

            written.append(write_report(staging, shown_as=folder.target))
    return [folder.target / p.relative_to(staging) for p in written]


def smooth_training_jobs(program: ProgramInput, options: SolveOptions | None = None) -> tuple[dict, PlanOutcome | None]:
    """Smooth every site's declared training job against that site's limits: the results by site,
    and None, or the outcome that ends the plan (the reasons some job cannot be smoothed; no
    solution where the time limit, counted from here, or ``options.stop`` ended a smoothing first:
    the plan's clock holds for its jobs' smoothing too: about 10 s on examples/memphis-colossus,
    where the job and the job at the most GPUs are smoothed side by side)."""
    results, reasons = {}, []
    limit = None if options is None else options.time_limit_s
    deadline = None if limit is None else time.perf_counter() + limit

    def within_time() -> SolveOptions:  # the smoothing's own options: only the plan's clock and stop
        left = None if deadline is None else max(deadline - time.perf_counter(), 0.0)
        return SolveOptions(time_limit_s=left, stop=options and options.stop, threads=options and options.threads)

    def cut_short(result, site: str) -> PlanOutcome | None:
        """Where ``result`` has no schedule for want of time (a time-out, a stop), the plan's end:
        the jobs already proved unsmoothable, else no plan in time; None otherwise."""
        stopped = bool(options and options.stop and options.stop.is_set())
        if result.has_schedule or result.status == "infeasible" or not (
                result.status == "time_limit" or stopped or (deadline is not None and time.perf_counter() >= deadline)):
            return None
        return PlanOutcome(program, None, None, reasons) if reasons else PlanOutcome(program, SolveResult(
            "no_solution", message="stopped" if stopped else f"time limit: spent smoothing site {site}'s training job"),
            None)

    for si in program.sites:
        workload = training_job(si)
        if workload is None:
            continue
        if options is not None and options.progress is not None:  # tens of seconds: say where they go
            options.progress(f"smoothing {si.name}'s training job", 0.0, None)
        spec, catalog = _as_planned(si, program)
        most = _most_gpus_running(program, si, workload)
        result, larger = _smoothed_with_larger(workload, most, spec, within_time, catalog, options)
        ended = cut_short(result, si.name)
        if ended is not None:
            return {}, ended
        if not result.has_schedule:
            reasons += [f"site {si.name}: training job {spec.workload}: {r}" for r in result.reasons]
            continue
        if larger is not None:
            ended = cut_short(larger, si.name)
            if ended is not None:
                return {}, ended
            if larger.has_schedule:
                result.larger = larger
            else:
                result.notes.append(f"at {most:,} GPUs (the most the build-out may run here) the job cannot be "
                                    f"smoothed ({'; '.join(larger.reasons)}): the battery scales with the GPUs")
        results[si.name] = result
    return (results, None) if not reasons else ({}, PlanOutcome(program, None, None, reasons))


def _smoothed_with_larger(workload: Workload, most: int | None, spec: SmoothingSpec,
                          within_time: Callable[[], SolveOptions], catalog: Catalog,
                          options: SolveOptions | None) -> tuple[SmoothingResult, SmoothingResult | None]:
    """The job smoothed, and (where ``most`` is given) the same job on ``most`` GPUs: (result,
    larger or None). The two are independent solves of about one size, so they run side by side,
    each in its own thread (HiGHS lets go of the GIL while it solves: on 2 cores the plan of
    examples/memphis-colossus waits for one smoothing, not two). The larger one is of use only
    where the job has a schedule: it is stopped as soon as the job is found to have none."""
    if most is None:
        return smoothed(workload, spec, within_time(), catalog), None
    given = options.stop if options is not None else None
    needless = threading.Event()  # the larger one's stop: set where its answer would be thrown away
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="smooth-larger") as pool:
        larger = pool.submit(smoothed, workload.scaled_to(most), spec,
                             dataclasses.replace(within_time(), stop=needless), catalog)
        try:
            result = smoothed(workload, spec, within_time(), catalog)
        except BaseException:
            needless.set()
            raise
        if not result.has_schedule:
            needless.set()
        while wait([larger], timeout=0.1).not_done:  # the caller's stop reaches it too
            if given is not None and given.is_set():
                needless.set()
    return result, larger.result() if result.has_schedule else None


def _as_planned(si: SiteInput, program: ProgramInput) -> tuple[SmoothingSpec, Catalog]:
    """A site's smoothing (its spec and catalog) as its plan weighs the battery they share: priced
    from the site's catalog with the program's overrides, its capital annualised at the program's
    discount rate (unless the smoothing's economics give their own) over the life the plan gives
    it (``finance.lifetimes_years``)."""
    spec, catalog, finance = si.site.smoothing, si.catalog, program.program.finance
    if "discount_rate" not in spec.economics.model_fields_set:
        spec = spec.model_copy(update={"economics": spec.economics.model_copy(
            update={"discount_rate": finance.discount_rate})})
    battery = spec.mitigations.battery
    if battery is not None and battery.type in catalog.storage:
        entry = catalog.storage[battery.type]
        life = asset_life_years(finance.lifetimes_years, "storage", battery.type, entry.lifetime_years)
        if life != entry.lifetime_years:
            entry = entry.model_copy(update={"lifetime_years": life})
            catalog = catalog.model_copy(update={"storage": {**catalog.storage, battery.type: entry}})
    return spec, catalog


_SMOOTHED: dict[bytes, SmoothingResult] = {}
_SMOOTHED_LOCK = threading.Lock()  # a Dask worker runs scenarios in threads
SMOOTHED_KEPT = 8
SMOOTHED_KEPT_BYTES = 512 * 2**20
"""And at most this many bytes of their arrays, the newest kept whatever its size: a schedule of
a long job at 0.1 s holds half a gigabyte, and eight of them had grown a process that planned
job after job from Python to 5.6 GB (a fuzz review)."""


def smoothed(workload: Workload, spec: SmoothingSpec, options: SolveOptions, catalog: Catalog) -> SmoothingResult:
    """:func:`dcplan.smoothing.api.smooth`, remembered in this process by the job, its limits and
    its battery's catalog entry (all it depends on): a sweep's worker plans scenario after
    scenario of one program, and each smoothed the same job again (18 s a scenario on
    examples/memphis-colossus). Only an answer that more time would not change is kept (see
    :func:`_final`), the last :data:`SMOOTHED_KEPT` within :data:`SMOOTHED_KEPT_BYTES`; each caller gets its own copy, as a plan adds
    to it. A remembered answer keeps the timings of its first run."""
    from dcplan.smoothing.api import smooth

    battery = spec.mitigations.battery
    key = hashlib.sha256(pickle.dumps((workload, spec, battery and catalog.storage[battery.type]))).digest()
    with _SMOOTHED_LOCK:
        result = _SMOOTHED.get(key)
    if result is None:
        result = smooth(workload, spec, options, catalog=catalog)
        if not _final(result, options):
            return result
        with _SMOOTHED_LOCK:
            _SMOOTHED[key] = result
            while len(_SMOOTHED) > 1 and (len(_SMOOTHED) > SMOOTHED_KEPT or sum(
                    _array_bytes(r) for r in _SMOOTHED.values()) > SMOOTHED_KEPT_BYTES):
                del _SMOOTHED[next(iter(_SMOOTHED))]
    return copy.deepcopy(result)


def _array_bytes(result: SmoothingResult | None) -> int:
    """The bytes of a smoothing result's arrays (its schedule and job, and its larger run's)."""
    if result is None:
        return 0
    return (sum(a.nbytes for a in result.schedule.values()) + result.workload.load_mw.nbytes
            + _array_bytes(result.larger))


def _final(result: SmoothingResult, options: SolveOptions) -> bool:
    """Whether ``result`` is what any later smoothing of the same job would find: optimal, or a
    long trace's two-level schedule (feasible, within its gap of a bound) that no time limit or
    stop could have cut short. (An infeasible answer's diagnosis may have been cut short.)"""
    if result.status == "optimal":
        return True
    stopped = options.stop is not None and options.stop.is_set()
    return result.status == "feasible" and options.time_limit_s is None and not stopped


def _most_gpus_running(program: ProgramInput, si, workload) -> int | None:
    """In a build-out whose smoothing may use a battery (the only need the plan scales), the most
    GPUs of the job's model the site may run, where more than the job's: the program's largest
    target met by them alone, or the site's max_gpus of them; None when the site does not list
    the job's model."""
    from dcplan.model.build import largest_target, site_compute
    from dcplan.model.compute import gpu_measure

    target = largest_target(program.program)
    if (program.program.buildout is None or target is None or not workload.gpus
            or si.site.smoothing.mitigations.battery is None):
        return None
    options = [g for g in site_compute(si, program).gpus if g.model == workload.gpu_model]
    if not options:
        return None
    most = math.ceil(target.amount / gpu_measure(si.catalog.gpus[workload.gpu_model], target.measure))
    most = min([most, *(g.max_gpus for g in options if g.max_gpus is not None)])
    return most if most > workload.gpus else None


