"""dcplan: plan AI data-center build-outs as code.

From Python (the command line in :mod:`dcplan.cli` is a thin shell over the same calls)::

    import dcplan

    problems = dcplan.validate("sites/")            # [] when every file is valid
    plan = dcplan.plan("sites/johor.yaml", typical_days=12, mip_gap=1e-3)
    plan.total_cost_usd, plan.sites[0].capacity     # a typed dcplan.plans.types.Plan
    plan.dispatch_frame("johor")                   # pandas, indexed by timestamp
    dcplan.write_plan(plan, "plans/johor")         # the files of `dcplan plan -o plans/johor`
    committed = dcplan.read_plan("plans/johor")    # and back, as a Plan
    report = dcplan.check("sites/", plan_root="plans/")
    report.exit_code                               # 0 when every committed plan still fits
    result = dcplan.smooth("examples/smoothing/llama_24k_h100.yaml",
                           site="examples/smoothing/ercot_limits.yaml", resolution_s=1.0)

:func:`plan` raises :class:`dcplan.errors.InputError` for invalid input (its ``problems`` name
file, line and key) and :class:`NoPlan` when no plan exists, with the reasons in words;
:func:`plan_outcome` returns the whole :class:`PlanOutcome` instead, plan or not. Paths may be
``str`` or ``os.PathLike``.
"""

from __future__ import annotations

import importlib
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

from dcplan.version import __version__

STARTED_S = time.perf_counter()
"""When this process started with dcplan (``time.perf_counter``; only the standard library and
the interpreter's start-up come before): the command line counts its ``--time-limit`` from
here, imports included, so that the whole command keeps to it."""

if TYPE_CHECKING:
    from dcplan.api import NoPlan, PlanOutcome
    from dcplan.checks.report import CheckReport
    from dcplan.errors import InputError, Problem
    from dcplan.loader import ProgramInput
    from dcplan.plans.types import Plan
    from dcplan.smoothing.result import SmoothingResult
    from dcplan.solver import SolveOptions
    from dcplan.sweep.runner import SweepRun

__all__ = ["CheckReport", "InputError", "NoPlan", "Plan", "PlanOutcome", "Problem", "SmoothingResult",
           "SolveOptions", "__version__", "check", "plan", "plan_outcome", "read_plan", "smooth",
           "run_sweep", "validate", "write_plan"]

_HOMES = {"NoPlan": "dcplan.api", "PlanOutcome": "dcplan.api", "CheckReport": "dcplan.checks.report",
          "InputError": "dcplan.errors", "Problem": "dcplan.errors", "Plan": "dcplan.plans.types",
          "SmoothingResult": "dcplan.smoothing.result", "SolveOptions": "dcplan.solver"}


def __getattr__(name: str):
    """The API's types, imported when first used: `import dcplan` (and the command line's
    start-up) does not load Pyomo, HiGHS and SciPy until a plan is made."""
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'dcplan' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public API, the lazily imported types included (``dir(dcplan)``, tab completion)."""
    return sorted(__all__)


def plan(source: str | os.PathLike | ProgramInput, *, scenario: str | None = None,
         typical_days: int | None = None, overrides: dict | None = None, **solve_options) -> Plan:
    """Plan a program (or a site file with a compute target), given as a path (``str`` or
    ``os.PathLike``) or as a loaded :class:`dcplan.loader.ProgramInput`.

    ``scenario``: one of the program's ``scenarios:``; ``typical_days``: plan on that many
    weighted typical days (1 to 365) instead of the whole year; ``overrides``: values by the
    dotted paths a sweep varies, applied after the scenario (``{"sites.memphis.fuel.gas_price_usd_per_mmbtu":
    8.0, "finance.discount_rate": 0.1}``; a path that names nothing is an InputError with
    "did you mean"). The other keywords are the fields of :class:`SolveOptions`:

    - ``time_limit_s``: seconds for the whole plan, reading the inputs included (default none);
    - ``mip_gap``: the relative optimality gap to stop at, at least 0 and below 1 (default 1e-4;
      on a full year, of the power system's cost, as the plan's own gap and ``progress``'s are);
    - ``strategy``: how the year is solved (``dcplan.solver.STRATEGIES``; default "auto");
    - ``stop``: a ``threading.Event`` that, set from another thread, ends the solve with the
      best plan so far;
    - ``progress``: called with (phase, elapsed seconds, gap or None) as the solve goes;
    - ``threads``, ``duals``, ``relax_for_duals``, ``solver_log`` (a file for HiGHS's own log),
      ``feasibility_tolerance``.

    A keyword that is none of these is a TypeError naming the closest; a value outside the
    command line's ranges is a ValueError, as is a loaded program edited since it was loaded
    (its series and caps were derived then: change it with ``overrides`` on its path). Invalid input files raise
    :class:`dcplan.errors.InputError`. A plan stopped by the time limit or by ``stop`` is
    returned (its ``solver`` says so, with the gap); no plan at all raises :class:`NoPlan`
    (:func:`plan_outcome` returns it instead)."""
    outcome = _plan_outcome("plan", source, scenario, typical_days, overrides, solve_options)
    if outcome.plan is None:
        from dcplan.api import NoPlan

        raise NoPlan(outcome)
    return outcome.plan


def plan_outcome(source: str | os.PathLike | ProgramInput, *, scenario: str | None = None,
                 typical_days: int | None = None, overrides: dict | None = None, **solve_options) -> PlanOutcome:
    """As :func:`plan`, with the same arguments and checks, but the whole
    :class:`dcplan.api.PlanOutcome` is returned, plan or not: no :class:`NoPlan` is raised, so a
    loop over variants goes on past an infeasible one. Its ``plan`` is None when there is no
    plan; then ``infeasible`` and ``why_no_plan()`` say why, and ``solve`` holds the solver's
    status. Invalid input still raises :class:`dcplan.errors.InputError`."""
    return _plan_outcome("plan_outcome", source, scenario, typical_days, overrides, solve_options)


def write_plan(plan: Plan, folder: str | os.PathLike, *, report: bool = False, parquet: bool = False) -> list[Path]:
    """Write ``plan`` into ``folder`` as `dcplan plan -o FOLDER` does: plan.yaml, dispatch.csv,
    summary.json (timeline.csv for a build-out, its training jobs' smoothing), with ``report``
    report.html and with ``parquet`` dispatch.parquet; the paths written. The folder is replaced
    whole in one transaction; one that holds files dcplan did not write is refused
    (:class:`dcplan.errors.InputError`, as for a folder that cannot be made)."""
    from dcplan.api import write_folder
    from dcplan.errors import InputError
    from dcplan.extras import available
    from dcplan.outfolder import OutputFolder
    from dcplan.plans.types import Plan

    if not isinstance(plan, Plan):
        raise TypeError(f"write_plan() writes a Plan (from dcplan.plan or dcplan.read_plan), not {plan!r}")
    _need_paths("write_plan", (folder,))
    for name, flag in (("report", report), ("parquet", parquet)):
        if not isinstance(flag, bool):  # report="no" is true
            raise TypeError(f"write_plan(): {name} is True or False, not {flag!r}")
    if parquet and not available("pyarrow"):
        raise ImportError("parquet=True needs pyarrow: pip install 'dcplan[sweep]'")
    try:
        claimed = OutputFolder(folder, "folder")
    except InputError as err:  # named as the caller wrote it: the argument, not the command's -o
        raise InputError([_as_arguments(p) for p in err.problems]) from None
    with claimed:
        return write_folder(plan, claimed, report, parquet)


def read_plan(folder: str | os.PathLike) -> Plan:
    """A plan's folder (written by `dcplan plan -o` or :func:`write_plan`) read back as a
    :class:`Plan`, with its figures as the files hold them; a folder that is not one, or is
    damaged, raises :class:`dcplan.errors.InputError` naming the file, line and key."""
    from dcplan.plans.files import read_plan as read

    _need_paths("read_plan", (folder,))
    return read(folder)


def _plan_outcome(caller: str, source, scenario: str | None, typical_days: int | None, overrides: dict | None,
                  solve_options: dict) -> PlanOutcome:
    """:func:`plan` and :func:`plan_outcome`: their arguments checked, then the plan made."""
    from dcplan import api
    from dcplan.loader import ProgramInput

    options = _solve_options(caller, solve_options)
    _check_arguments(typical_days, options)
    if scenario is not None and not isinstance(scenario, str):
        raise TypeError(f"scenario is the name of one of the program's scenarios (a str), not {scenario!r}")
    if overrides is not None and not (isinstance(overrides, dict) and all(isinstance(k, str) for k in overrides)):
        raise TypeError("overrides must be a dict of dotted paths to values, e.g. "
                        f"{{'finance.discount_rate': 0.1}}, not {overrides!r}")
    if isinstance(source, ProgramInput):
        if scenario is not None and scenario != source.scenario:
            raise ValueError(f"scenario {scenario!r}: a loaded program has its scenario already "
                             f"({source.scenario!r}); load it with dcplan.loader.load_program(path, scenario)")
        if overrides:
            raise ValueError("overrides apply to a path: give the program's file, not a loaded program")
        edited = source.edited()
        if edited is not None:
            raise ValueError(f"this loaded program was changed after loading, at {edited}: what dcplan derives "
                             "at load (hourly prices and series, caps, hour flags) was not, so it would be planned "
                             f"half changed; give the file's path with overrides={{{edited!r}: ...}}, or load it again")
        return api.plan_program(source, typical_days, options)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"{caller}() plans a file (a str or os.PathLike path) or a loaded ProgramInput, not "
                        f"{type(source).__name__}; to change values in memory, give the file's path with "
                        "overrides={'finance.discount_rate': 0.1, ...}")
    return api.plan(source, scenario, typical_days, options, overrides)


def _solve_options(caller: str, keywords: dict) -> SolveOptions:
    """:class:`SolveOptions` of ``caller``'s keywords; one it does not take is a TypeError that
    names it, suggests the closest and lists them all (rather than SolveOptions.__init__'s)."""
    import dataclasses
    import difflib

    from dcplan.solver import SolveOptions

    valid = [f.name for f in dataclasses.fields(SolveOptions) if f.init]
    for name in keywords:
        if name not in valid:
            close = difflib.get_close_matches(name, ["scenario", "typical_days", "overrides", *valid], n=1, cutoff=0.6)
            raise TypeError(f"{caller}() got an unexpected keyword argument {name!r}"
                            + (f" (did you mean {close[0]!r}?)" if close else "")
                            + f"; it takes scenario, typical_days, overrides and the solver options {', '.join(valid)}")
    return SolveOptions(**keywords)


def _check_arguments(typical_days, options) -> None:
    """The ranges the command line's options keep to (:func:`dcplan.choices.within`), for callers
    from Python: a ValueError rather than a plan of another resolution (typical_days=0 planned
    the whole year) or a crash."""
    from dcplan.choices import MIP_GAP, TIME_LIMIT_S, TYPICAL_DAYS, within

    if typical_days is not None:
        within("typical_days", typical_days, TYPICAL_DAYS, whole=True)
    within("mip_gap", options.mip_gap, MIP_GAP)
    if options.time_limit_s is not None:
        within("time_limit_s", options.time_limit_s, TIME_LIMIT_S)
    if options.stop is not None and not callable(getattr(options.stop, "is_set", None)):
        raise TypeError(f"stop must be a threading.Event (or anything with is_set()), not {options.stop!r}")
    if options.progress is not None and not callable(options.progress):
        raise TypeError(f"progress must be callable: (phase, elapsed seconds, gap or None), not {options.progress!r}")


def _need_paths(caller: str, paths: tuple) -> None:
    """No path at all is a TypeError: with none, a check that finds nothing would read as a pass;
    an empty one a ValueError (``Path("")`` is the current folder, not what was meant)."""
    if not paths:
        raise TypeError(f"{caller}() missing required argument 'paths': it needs a path (a file or "
                        "a folder); with none, nothing checked would read as a pass")
    wrong = [p for p in paths if not isinstance(p, (str, os.PathLike))]  # (None among them too)
    if wrong:
        raise TypeError(f"{caller}() takes paths of files or folders (str or os.PathLike), not "
                        f"{type(wrong[0]).__name__}" + ("; a Plan is checked from its folder: dcplan.write_plan(plan, "
                                                        "folder) first" if type(wrong[0]).__name__ == "Plan" else ""))
    if any(str(p) == "" for p in paths):
        raise ValueError(f"{caller}(): a path is the empty string")


def validate(*paths: str | os.PathLike) -> list[Problem]:
    """Every problem in the site, program, workload, smoothing and sweep files under ``paths``
    (files or folders), as `dcplan validate` reports them: [] when every file is valid. Paths
    under which no such file is found are a problem too; no path at all is a TypeError."""
    from dcplan.api import validate as validate_files
    from dcplan.errors import Problem

    _need_paths("validate", paths)
    files, problems = validate_files([Path(p) for p in paths])
    if not files and not problems:  # as the command line: nothing read is not "all valid"
        return [Problem(", ".join(map(str, paths)), None, "", "no site or program files found")]
    return problems


def check(*paths: str | os.PathLike, plan_root: str | os.PathLike | None = None, solve: bool = False,
          time_limit_s: float | None = 300.0) -> CheckReport:
    """Does every committed plan still fit its inputs (as `dcplan check`)? ``paths``: files or
    folders of sites and programs, at least one (none is a TypeError, as for :func:`validate`);
    ``plan_root``: the folder of committed plans; ``solve``: also solve each program for
    feasibility, each within ``time_limit_s``. The report as `dcplan check` prints it:
    ``dcplan.checks.formats.render(report, "text")`` (or "json", "github", "junit")."""
    from dcplan.checks import check_paths
    from dcplan.choices import TIME_LIMIT_S, within

    _need_paths("check", paths)
    if time_limit_s is not None:
        within("time_limit_s", time_limit_s, TIME_LIMIT_S)
    return check_paths([Path(p) for p in paths], Path(plan_root) if plan_root else None, solve, time_limit_s)


def run_sweep(path: str | os.PathLike, outdir: str | os.PathLike, *, workers: int | None = None,
              scheduler: str | None = None) -> SweepRun:
    """Run (or resume) the sweep file ``path`` into ``outdir``, as `dcplan sweep run PATH -o
    OUTDIR`: each scenario planned in its own process (``workers``, default one per core; or on
    the Dask scheduler at ``scheduler``), results.parquet, results.csv and scenarios/<id>/
    written. Returns a :class:`dcplan.sweep.runner.SweepRun`: ``rows`` (a dict per scenario, its
    inputs and key figures: ``pandas.DataFrame(run.rows)``), ``finished``, ``statuses``. Needs
    the sweep extra (``pip install 'dcplan[sweep]'``). The processes import the calling script
    again, as Python's multiprocessing does: call it under ``if __name__ == "__main__":``."""
    from dcplan.extras import require
    from dcplan.sweep import runner

    _need_paths("run_sweep", (path, outdir))
    require("dcplan.run_sweep", "pyarrow", "duckdb")
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        raise ValueError(f"workers must be a whole number at least 1, not {workers!r}")
    return runner.run_sweep(Path(path), Path(outdir), workers, scheduler)


def smooth(workload: str | os.PathLike, site: str | os.PathLike | None = None, *, gpus: int | None = None,
           gpu: str | None = None, limits: dict | None = None, energy_price_usd_per_mwh: float | None = None,
           resolution_s: float | None = None, time_limit_s: float | None = None) -> SmoothingResult:
    """Smooth a training job's power (a trace CSV or a workload YAML) against a site's
    ``smoothing:`` section (the site checked whole, its battery priced from its catalog) or a
    ``kind: smoothing`` file (as `dcplan smooth`). ``gpus`` and
    ``gpu`` (a catalog key) complete a trace; ``limits`` ({"swing_mw": 10, ...}, the keys of
    ``smoothing.limits``), ``energy_price_usd_per_mwh`` and ``resolution_s`` override the
    site's."""
    from dcplan.choices import TIME_LIMIT_S, within
    from dcplan.errors import InputError
    from dcplan.smoothing.api import smooth_files
    from dcplan.solver import SolveOptions

    if time_limit_s is not None:
        within("time_limit_s", time_limit_s, TIME_LIMIT_S)
    if gpus is not None:
        within("gpus", gpus, (1, None, True), whole=True)
    if limits is not None and not isinstance(limits, dict):
        raise TypeError(f"limits must be a dict of smoothing.limits keys, e.g. {{'swing_mw': 10}}, not {limits!r}")
    try:
        result = smooth_files(workload, site, gpus=gpus, gpu_model=gpu, limits=limits,
                              economics={"energy_price_usd_per_mwh": energy_price_usd_per_mwh},
                              resolution_s=resolution_s, options=SolveOptions(time_limit_s=time_limit_s))
    except InputError as err:  # named as the caller wrote them: keywords, not the command's flags
        raise InputError([_as_arguments(p) for p in err.problems]) from None
    result.notes = [_as_keywords(n) for n in result.notes]
    result.reasons = [_as_keywords(r) for r in result.reasons]
    return result


def _as_keywords(text: str) -> str:
    """The command line's flags in a message (``--resolution-s 0.1``) as this API's keywords."""
    return re.sub(r"--([a-z][a-z-]*)", lambda m: m.group(1).replace("-", "_"), text)


def _as_arguments(problem: Problem) -> Problem:
    """A problem the command line would blame on its flags (``--resolution-s``), as keywords; a
    file's problem keeps its place, its advice in keywords ("or gpus", not "or --gpus")."""
    from dcplan.errors import Problem

    if problem.file != "command line":
        return Problem(problem.file, problem.line, problem.key, _as_keywords(problem.message))
    return Problem("arguments", None, _as_keywords(problem.key), _as_keywords(problem.message))
