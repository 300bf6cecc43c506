"""The ``dcplan`` command line: a thin shell over :mod:`dcplan.api`.

Each command imports what it needs when it runs, so that `dcplan --help`, `--version` and
shell completion start without the solver stack.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import decimal
import enum
import errno
import functools
import json
import math
import os
import shutil
import signal
import sys
import threading
import time
from importlib import resources
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

import dcplan.trust as trust
from dcplan import STARTED_S
from dcplan.choices import (
    CATALOG_SECTIONS,
    CHECK_FORMATS,
    CHECK_TIME_LIMIT_S,
    DIFF_FORMATS,
    MIP_GAP,
    RESOLUTION_S,
    SCHEMA_KINDS,
    STRATEGIES,
    TIME_LIMIT_S,
    within,
)
from dcplan.errors import ExitCode, InputError, Problem, display_path, real_path
from dcplan.formatting import counted, gap_words
from dcplan.outfolder import SMOOTHING_NAMES, OutputFolder, filled, writable_path
from dcplan.progress import StatusLine
from dcplan.version import __version__

INTERNAL_ERROR = 70
WRITE_SHARE = 0.1
"""Of ``plan --time-limit``, the share kept for reading the plan out, writing and printing it
(a full year's dispatch: about 0.1-0.3 s)."""
_clock = {"process": False, "started": 0.0}  # when the command began: the process's start under run()


def _choice(name: str, values: tuple[str, ...]) -> type[enum.Enum]:
    """A string Enum, which typer validates and lists in --help (and completes in the shell)."""
    return enum.Enum(name, {v: v for v in values}, type=str)


Strategy, CheckFormat, DiffFormat, CatalogSection, SchemaKind = (
    _choice("Strategy", STRATEGIES), _choice("CheckFormat", CHECK_FORMATS), _choice("DiffFormat", DIFF_FORMATS),
    _choice("CatalogSection", CATALOG_SECTIONS), _choice("SchemaKind", SCHEMA_KINDS))


def _within(bounds: tuple):
    """A callback that takes a number only within ``bounds`` (:func:`dcplan.choices.within`):
    a usage error (exit 2) otherwise, NaN included, never a run that misreads it."""
    def check(ctx: typer.Context, param: typer.CallbackParam, value: float | None) -> float | None:
        if value is not None:
            try:
                within(param.opts[0], value, bounds)
            except ValueError as exc:
                raise typer.BadParameter(str(exc)) from None
        return value

    return check


def _print_json(data) -> None:
    """A result as JSON on standard output (dates as ISO text), for scripts and notebooks: strict
    JSON, a number that is not finite as null (Python's NaN is no JSON: a sweep's summary with one
    did not parse)."""
    typer.echo(json.dumps(_finite(data), indent=2, default=_as_json, allow_nan=False))


def _no_result_json(as_json: bool, status: str, reasons, nested: bool = False) -> None:
    """With ``--json``, a run that ends without a result still prints JSON: its status where a
    result has it (a plan's ``solution.status``, ``nested``; a schedule's ``status``) and why."""
    if as_json:
        outcome = {"status": status, "reasons": list(reasons)}
        _print_json({"solution": outcome} if nested else outcome)


def _as_json(value):
    """What JSON has no type for: a decimal (a --sql literal or sum) as a number, a date or time as
    ISO text, bytes (a BLOB) as hex text; the rest as its text."""
    if isinstance(value, decimal.Decimal):
        return _finite(float(value))
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)


def _finite(data):
    if isinstance(data, float) and not math.isfinite(data):
        return None
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_finite(v) for v in data]
    return data

class _Commands(TyperGroup):
    """dcplan's commands. A value typer refuses is worded without pydantic's "Value error, " (newer
    typer reads values through pydantic: "Value error, 'foo' is not one of 'auto', ...")."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except typer.BadParameter as exc:
            exc.message = exc.message.removeprefix("Value error, ")
            raise


app = typer.Typer(
    cls=_Commands,
    name="dcplan",
    help="Plan AI data-center build-outs: GPUs, power, cooling and caps, optimised with HiGHS.\n\n"
    "Exit codes: 0 ok, 1 infeasible or violated, 2 invalid input, 3 solver failure or time limit, "
    "70 internal error (a bug: DCPLAN_DEBUG=1 shows it), 130 interrupted (Ctrl-C: `plan` writes the best plan "
    "found so far), 143 terminated (SIGTERM).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: click's metavars (PATH, TEXT), no <bool> column
)
LOG_WIDTH = 160
"""Columns of tables printed to a log or pipe (Rich's default there is 80, which cuts a build-out's
timeline to ellipses); a log scrolls sideways. COLUMNS, where set, wins."""


def _console(stderr: bool = False) -> Console:
    console = Console(stderr=stderr, emoji=False)  # user text such as ":x:" stays text
    zero = os.environ.get("COLUMNS", "").strip() == "0"  # (some CI shells): Rich printed nothing, errors included
    if zero or (not console.is_terminal and "COLUMNS" not in os.environ):
        console.width = shutil.get_terminal_size((LOG_WIDTH, 24)).columns if console.is_terminal else LOG_WIDTH
    return console


console, err_console = _console(), _console(stderr=True)


SYSTEM_REFUSALS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EACCES, errno.EPERM,
                             errno.EFBIG})
"""Why the system refuses a write that names no file (a full disk under standard output)."""


def _friendly(fn):
    """Map input errors to exit code 2 and never show a traceback for them. A command run with
    ``--json`` also prints the problems on standard output, so a script always has JSON to read."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        trust.forget_reads()  # what an earlier command of this process read is not this one's input
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            from dcplan.terminal import print_problems

            print_problems(err_console, exc.problems)
            if kwargs.get("as_json"):  # a script reading stdout gets the problems as `validate --json` gives them
                _print_json({"problems": [dataclasses.asdict(p) for p in exc.problems]})
            raise typer.Exit(ExitCode.INVALID_INPUT) from None
        except typer.Exit:
            raise
        except KeyboardInterrupt:
            err_console.print("interrupted")
            raise typer.Exit(ExitCode.INTERRUPTED) from None
        except OSError as exc:
            if not os.environ.get("DCPLAN_DEBUG") and not exc.filename and exc.errno in SYSTEM_REFUSALS:
                # standard output, or a device written in place (`-o /dev/full`): the system's, not a bug
                err_console.print(f"[red]cannot write[/red] the output: {escape(exc.strerror or str(exc))}",
                                  highlight=False)
                raise typer.Exit(ExitCode.INVALID_INPUT) from None
            if os.environ.get("DCPLAN_DEBUG") or not exc.filename:
                return _internal(exc)
            # a file the system refused (full, read-only, a path not checked up front): the user's to fix
            err_console.print(f"[red]cannot read or write[/red] {escape(display_path(Path(exc.filename)))}: "
                              f"{escape(str(exc.strerror or exc))}", highlight=False)
            raise typer.Exit(ExitCode.INVALID_INPUT) from None
        except Exception as exc:  # a bug in dcplan, not in the input
            return _internal(exc)

    return wrapper


def _internal(exc: BaseException):
    """A bug in dcplan, not in the input: exit 70 (a traceback with DCPLAN_DEBUG=1)."""
    if os.environ.get("DCPLAN_DEBUG"):
        raise exc
    err_console.print(f"[red]internal error:[/red] {type(exc).__name__}: {escape(str(exc))}\n"
                      "This is a bug in dcplan; run with DCPLAN_DEBUG=1 for a traceback.")
    raise typer.Exit(INTERNAL_ERROR) from None


def _version(value: bool):
    if value:
        console.print(f"dcplan {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Show the version and exit."),
         allow_path: Optional[list[Path]] = typer.Option(
             None, "--allow-path", metavar="DIR", help="Also let input files refer to files in this folder (repeatable; "
             f"before the command: dcplan --allow-path DIR plan ...). Same as {trust.ALLOW_ENV}.")):
    """dcplan: plan AI data-center build-outs as code."""
    if not _clock["process"]:  # a command called in a longer-lived process (tests, notebooks)
        _clock["started"] = time.perf_counter()
    if allow_path:  # in the environment, so that sweep workers see it too
        folders = [os.environ.get(trust.ALLOW_ENV, ""), *(str(real_path(p)) for p in allow_path)]
        os.environ[trust.ALLOW_ENV] = os.pathsep.join(f for f in folders if f)


@app.command()
@_friendly
def validate(paths: list[Path] = typer.Argument(..., metavar="PATH",
                                               help="Site, program, workload, smoothing or sweep files, or folders of them."),
             as_json: bool = typer.Option(False, "--json", help="Print the files checked and every problem "
                                          "(file, line, key, message) as JSON; the exit code is the same.")):
    """Check site, program, workload, smoothing and sweep files; report every problem as file:line: key: message."""

    import dcplan.api as api
    from dcplan.terminal import print_problems

    files, problems = api.validate(paths)
    if as_json:
        _print_json({"files": [str(f) for f in files], "problems": [dataclasses.asdict(p) for p in problems]})
        raise typer.Exit(ExitCode.INVALID_INPUT if problems or not files else ExitCode.OK)
    if problems:
        print_problems(err_console, problems)
        raise typer.Exit(ExitCode.INVALID_INPUT)
    if not files:
        print_problems(err_console, [Problem(", ".join(map(str, paths)), None, "",
                                             "no site or program files found")])
        raise typer.Exit(ExitCode.INVALID_INPUT)
    console.print(f"[green]ok[/green]: {counted(len(files), 'file')} valid")


@app.command()
@_friendly
def catalog(
    section: Optional[CatalogSection] = typer.Argument(None, help="A section; default all.", show_default=False),
    sources: bool = typer.Option(False, "--sources", help="Show the source of every number."),
    as_json: bool = typer.Option(False, "--json", help="Print the catalog as JSON (every field, sources included)."),
):
    """Show the built-in equipment catalog."""
    from dcplan.catalog import builtin_catalog

    cat = builtin_catalog()
    sections = [section.value] if section else list(CATALOG_SECTIONS)
    if as_json:
        _print_json({s: {k: v.model_dump(mode="json") for k, v in getattr(cat, s).items()} for s in sections})
        return
    from dcplan.terminal import catalog_tables

    for s in sections:
        for table in catalog_tables(cat, s, console.width, sources):
            console.print(table)


@app.command()
@_friendly
def init(directory: Path = typer.Argument(..., help="Folder to create the starter portfolio in.")):
    """Scaffold a small working portfolio (a site, a program, a weather CSV)."""
    writable_path(directory, "DIR", folder=True)
    from dcplan.schema.editor import write_schemas

    source = resources.files("dcplan").joinpath("scaffold")
    # made whole, then moved into place: a full disk once left empty files, in a folder that init
    # then refused as not empty
    with filled(directory, "DIR") as staging, resources.as_file(source) as src:
        try:
            shutil.copytree(src, staging, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        except shutil.Error as err:  # a list of (source, target, why): the first names the file
            _, target, why = err.args[0][0]  # named where it was to be, not in the hidden staging folder
            raise OSError(errno.EIO, why, str(directory / Path(target).relative_to(staging))) from None
        write_schemas(staging / "schemas")  # the files' modelines point here: completion in the editor
    shown = escape(display_path(directory))
    console.print(f"[green]created[/green] {shown}; next:\n"
                  f"  dcplan validate {shown}\n"
                  f"  dcplan plan {escape(display_path(directory / 'program.yaml'))} -o "
                  f"{escape(display_path(directory / 'plans' / 'starter'))}\n"
                  f"  dcplan check {shown}   (verifies the committed plan, as in CI)")


@app.command()
@_friendly
def schema(kind: SchemaKind = typer.Argument(..., help="Which input file's schema.")):
    """Print the JSON Schema of an input file, for editors (see README, "Editor set-up")."""
    from dcplan.schema.editor import schema_text

    typer.echo(schema_text(kind.value), nl=False)


@app.command()
@_friendly
def plan(
    path: Path = typer.Argument(..., help="Program file, or a site file with a compute target."),
    outdir: Optional[Path] = typer.Option(None, "-o", "--outdir", help="Write plan.yaml, dispatch.csv, summary.json here."),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", callback=_within(TIME_LIMIT_S),
                                               help="Seconds the whole command may take "
                                               "(start-up, solving and writing); default none."),
    mip_gap: float = typer.Option(1e-4, "--mip-gap", callback=_within(MIP_GAP),
                                  help="Relative optimality gap to stop at (on a full year, "
                                  "auto or decompose: of the power system's cost, the plan's less its GPUs and cooling)."),
    typical_days: Optional[int] = typer.Option(None, "--typical-days", min=1, max=365,
                                               help="Cluster the year into N typical days (fast)."),
    scenario: Optional[str] = typer.Option(None, "--scenario", help="Apply a named scenario of the program."),
    strategy: Strategy = typer.Option("auto", "--strategy", help="How to solve (auto picks for the model)."),
    solver_log: Optional[Path] = typer.Option(None, "--solver-log", help="Append HiGHS's own log to this file."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Show HiGHS's own log on standard error."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Only print problems."),
    as_json: bool = typer.Option(False, "--json", help="Print the plan (summary.json's content, with the solve's "
                                 "timings; input paths relative to OUTDIR, or without -o to the current folder) as "
                                 "JSON on standard output instead of the summary."),
    with_report: bool = typer.Option(False, "--report", help="Also write OUTDIR/report.html (needs -o)."),
    parquet: bool = typer.Option(False, "--parquet", help="Also write OUTDIR/dispatch.parquet (needs -o and "
                                 "the sweep extra)."),
):
    """Size GPUs, power and cooling at least cost; print a summary and write the plan."""
    for flag, wanted in (("--report", with_report), ("--parquet", parquet)):
        if wanted and outdir is None:
            raise InputError([Problem("command line", None, flag, "needs -o OUTDIR to write in")])
    if parquet:
        from dcplan.extras import require

        require("--parquet", "pyarrow")
    if verbose and solver_log is not None:
        raise InputError([Problem("command line", None, "--verbose", "give -v or --solver-log, not both")])
    log = "/dev/stderr" if verbose else str(writable_path(solver_log, "--solver-log")) if solver_log else None
    if log and outdir is not None and Path(os.path.abspath(log)).is_relative_to(os.path.abspath(outdir)):
        raise InputError([Problem("command line", None, "--solver-log", f"{display_path(Path(log))} is in -o "
                                  f"{display_path(outdir)}, which the plan replaces whole: the log would be lost")])
    if solver_log is not None and not Path(log).parent.is_dir():  # HiGHS would write no log, and say nothing
        raise InputError([Problem("command line", None, "--solver-log", f"no folder {display_path(Path(log).parent)} "
                                  "to write the log in: make it first")])
    with OutputFolder(outdir) if outdir is not None else contextlib.nullcontext() as folder:
        _plan(path, folder, time_limit, mip_gap, typical_days, scenario, strategy.value, log, quiet or as_json,
              with_report, as_json, parquet)


def _what_the_time_went_to(message: str) -> str:
    """What a solve cut short by its time limit says it spent the time on ('time limit: WHAT'),
    or '' where it says nothing more."""
    return message.removeprefix("time limit: ") if message.startswith("time limit: ") else ""


def _planning_budget(limit_s: float | None) -> float | None:
    """``--time-limit`` is for the whole command: the planning gets what is left of it once the
    process has started and loaded the solver, less a share for writing the plan."""
    if limit_s is None:
        return None
    return max(0.0, limit_s * (1 - WRITE_SHARE) - (time.perf_counter() - _clock["started"]))


def _plan(path, folder, time_limit, mip_gap, typical_days, scenario, strategy, solver_log, quiet, with_report,
          as_json, parquet):
    import dcplan.api as api
    from dcplan.solver import SolveOptions

    stop = threading.Event()
    with StatusLine(err_console, quiet=quiet, hint="Ctrl-C keeps this plan") as status, _ctrl_c_stops(stop, status):
        options = SolveOptions(time_limit_s=_planning_budget(time_limit), mip_gap=mip_gap, strategy=strategy,
                               progress=lambda phase, _elapsed, gap: status.update(phase, gap),
                               solver_log=solver_log, stop=stop)
        outcome = api.plan(path, scenario, typical_days, options)
    result = outcome.solve
    stopped = stop.is_set() and (result is None or result.status != "optimal")
    if outcome.infeasible:
        err_console.print("[red bold]infeasible:[/red bold] no plan meets the target within the limits.")
        reasons = outcome.why_no_plan()
        for line in reasons:
            err_console.print(f"  • {line}", highlight=False)
        _no_result_json(as_json, "infeasible", reasons, nested=True)
        raise typer.Exit(ExitCode.INFEASIBLE)
    if outcome.plan is None:
        if stopped:
            err_console.print("[yellow]stopped[/yellow]: no plan found yet")
            _no_result_json(as_json, "interrupted", ["stopped before a plan was found"], nested=True)
            raise typer.Exit(ExitCode.INTERRUPTED)
        if time_limit is not None and result.status == "no_solution" and "time" in result.message.lower():
            spent = _what_the_time_went_to(result.message)
            said = f"no plan found within {time_limit:g} s" + (f" ({spent})" if spent else "")
            err_console.print(f"[yellow]time limit reached[/yellow]: {said}")
            _no_result_json(as_json, "time_limit", [said], nested=True)
        else:
            err_console.print(f"[red bold]solver failure:[/red bold] {result.status}: {result.message}")
            _no_result_json(as_json, result.status, [result.message], nested=True)
        raise typer.Exit(ExitCode.SOLVER_FAILURE)
    if as_json:
        from dcplan.plans.write import input_records, summary_document

        printed = summary_document(outcome.plan, timings=True)
        printed["inputs"] = input_records(outcome.plan.inputs, folder.target if folder else Path.cwd())  # as in summary.json
        _print_json(printed)
    elif not quiet:
        from dcplan.terminal import plan_summary

        plan_summary(console, outcome.plan)
        work = {"highs_mip": f"HiGHS MIP, {counted(result.nodes, 'node')}",
                "decompose": f"{counted(result.nodes, 'round')}, {counted(result.lp_solves, 'dispatch solve')}"}.get(
                    result.strategy, counted(result.lp_solves, "LP solve"))
        console.print(f"[dim]build {outcome.plan.solver['build_seconds']:.2f} s · compile "
                      f"{result.compile_seconds:.2f} s · solve {result.solve_seconds:.2f} s "
                      f"({result.strategy}: {work})[/dim]")
    if folder is not None:
        written = api.write_folder(outcome.plan, folder, with_report, parquet)
        if not quiet:
            console.print("wrote " + ", ".join(escape(display_path(p)) for p in written))
    if result.status == "time_limit":
        gap = (f"has gap {gap_words(result.gap, result.gap_share)}" if result.gap is not None
               else "has no gap yet: no bound on the cost was proved in time")
        why = "stopped" if stopped else "time limit reached"
        left = _what_the_time_went_to(result.message)
        err_console.print(f"[yellow]{why}[/yellow]: " + (f"{left}; the plan" if left else "best plan found")
                          + f" {gap}")
        raise typer.Exit(ExitCode.INTERRUPTED if stopped else ExitCode.SOLVER_FAILURE)


@contextlib.contextmanager
def _ctrl_c_stops(stop: threading.Event, status: StatusLine,
                  saying: str = "stopping: keeping the best plan so far (Ctrl-C again to quit)"):
    """While planning, the first Ctrl-C ends the solve as a time limit would (the best plan so
    far is written, with its gap); a second one quits at once. Nothing has been written while
    the solve runs, so quitting then leaves no output behind. ``saying``: the status line then."""
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return

    def on_ctrl_c(_signum, _frame) -> None:
        if stop.is_set():
            err_console.print("interrupted")
            sys.stderr.flush()
            os._exit(ExitCode.INTERRUPTED)  # not an exception: it would unwind through HiGHS's callbacks
        stop.set()
        status.update(saying)

    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _sigterm_unwinds():
    """SIGTERM (`timeout`, a cancelled CI job, a batch scheduler) ends a sweep as Ctrl-C does: its
    workers stop, the scenarios finished by then are saved, and it exits 143. Killed outright, the
    last finished scenarios would run again on resume, and Python warned of leaked semaphores."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(_signum, _frame) -> None:
        raise SystemExit(ExitCode.TERMINATED)

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    except SystemExit as exc:
        if exc.code == ExitCode.TERMINATED:
            err_console.print("terminated: the scenarios finished by then are saved; run it again to resume")
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)


@app.command()
@_friendly
def smooth(
    workload: Path = typer.Argument(..., help="A power trace (CSV: time_s or timestamp, and mw or w_per_gpu) "
                                    "or a synthetic job (`kind: workload` YAML)."),
    site: Optional[Path] = typer.Option(None, "--site", help="Site file with a `smoothing:` section, "
                                        "or a `kind: smoothing` limits file."),
    outdir: Optional[Path] = typer.Option(None, "-o", "--outdir",
                                          help="Write schedule.csv, smoothing.yaml, smoothing.png here."),
    gpus: Optional[int] = typer.Option(None, "--gpus", help="GPU count (scales a w_per_gpu trace)."),
    gpu: Optional[str] = typer.Option(None, "--gpu", help="GPU catalog key, e.g. h100_sxm."),
    ramp_up_mw_per_s: Optional[float] = typer.Option(None, "--ramp-up-mw-per-s",
                                                     help="Most the grid power may rise a second, MW (each step)."),
    ramp_down_mw_per_s: Optional[float] = typer.Option(None, "--ramp-down-mw-per-s",
                                                       help="Most the grid power may fall a second, MW (each step)."),
    ramp_up_mw_per_min: Optional[float] = typer.Option(None, "--ramp-up-mw-per-min",
                                                       help="Most it may rise over any minute, MW."),
    ramp_down_mw_per_min: Optional[float] = typer.Option(None, "--ramp-down-mw-per-min",
                                                         help="Most it may fall over any minute, MW."),
    ramp_up_pct_per_min: Optional[float] = typer.Option(None, "--ramp-up-pct-per-min", help="% of --capacity-mw."),
    ramp_down_pct_per_min: Optional[float] = typer.Option(None, "--ramp-down-pct-per-min", help="% of --capacity-mw."),
    capacity_mw: Optional[float] = typer.Option(None, "--capacity-mw", help="What the % ramps are of."),
    swing_mw: Optional[float] = typer.Option(None, "--swing-mw", help="Peak-to-peak limit in any window."),
    swing_window_s: Optional[float] = typer.Option(None, "--swing-window-s", help="Default 5 s."),
    band_min_mw: Optional[float] = typer.Option(None, "--band-min-mw", help="Least grid power, MW."),
    band_max_mw: Optional[float] = typer.Option(None, "--band-max-mw", help="Most grid power, MW."),
    energy_price: Optional[float] = typer.Option(None, "--energy-price-usd-per-mwh",
                                                 help="Price of the extra energy burned or lost; default the "
                                                 "site's smoothing.economics, else $60/MWh."),
    resolution_s: Optional[float] = typer.Option(None, "--resolution-s", callback=_within(RESOLUTION_S),
                                                 help="Model time step, seconds (decimates the trace); default the "
                                                 "site's smoothing.resolution_s, else the trace's (at least 0.1 s)."),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", callback=_within(TIME_LIMIT_S),
                                               help="Solver time limit, seconds; default none."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Only print problems."),
    as_json: bool = typer.Option(False, "--json", help="Print the result (smoothing.yaml's content) as JSON."),
):
    """Keep a training job's power swings within the site's ramp, swing, band and spectral limits at least
    cost (a spectral mask is given in the site or limits file)."""
    limits = {"ramp_up_mw_per_s": ramp_up_mw_per_s, "ramp_down_mw_per_s": ramp_down_mw_per_s,
              "ramp_up_mw_per_min": ramp_up_mw_per_min, "ramp_down_mw_per_min": ramp_down_mw_per_min,
              "ramp_up_pct_per_min": ramp_up_pct_per_min, "ramp_down_pct_per_min": ramp_down_pct_per_min,
              "capacity_mw": capacity_mw, "swing_mw": swing_mw, "swing_window_s": swing_window_s,
              "band_min_mw": band_min_mw, "band_max_mw": band_max_mw}
    with OutputFolder(outdir) if outdir is not None else contextlib.nullcontext() as folder:
        _smooth(workload, site, gpus, gpu, limits, energy_price, resolution_s, time_limit, quiet or as_json, folder,
                as_json)


def _smooth(workload, site, gpus, gpu, limits, energy_price, resolution_s, time_limit, quiet, folder, as_json):
    from dcplan.extras import available
    from dcplan.smoothing import api as smoothing
    from dcplan.smoothing.output import write_smoothing
    from dcplan.smoothing.report import print_result
    from dcplan.solver import SolveOptions

    stop = threading.Event()
    with StatusLine(err_console, "smoothing", quiet=quiet) as status, \
            _ctrl_c_stops(stop, status, "stopping: keeping the best schedule so far (Ctrl-C again to quit)"):
        result = smoothing.smooth_files(workload, site, gpus=gpus, gpu_model=gpu, limits=limits,
                                        economics={"energy_price_usd_per_mwh": energy_price},
                                        resolution_s=resolution_s,
                                        options=SolveOptions(time_limit_s=time_limit, stop=stop))
    if stop.is_set() and not result.has_schedule:
        err_console.print("interrupted: no schedule yet")
        _no_result_json(as_json, "interrupted", ["stopped before a schedule was found"])
        raise typer.Exit(ExitCode.INTERRUPTED)
    if result.status == "infeasible":
        err_console.print("[red bold]infeasible:[/red bold] the limits cannot be met with the allowed mitigations.")
        for line in result.reasons:
            err_console.print(f"  • {line}", highlight=False)
        _no_result_json(as_json, "infeasible", result.reasons)
        raise typer.Exit(ExitCode.INFEASIBLE)
    if not result.has_schedule:
        err_console.print(f"[red bold]solver failure:[/red bold] {result.status}: " + "; ".join(result.reasons))
        _no_result_json(as_json, result.status, result.reasons)
        raise typer.Exit(ExitCode.SOLVER_FAILURE)
    if as_json:
        from dcplan.smoothing.output import summary_document

        _print_json(summary_document(result))
    elif not quiet:
        print_result(console, result)
        t = result.timings
        console.print(f"[dim]build {t['build_s']:.1f} s · compile {t['compile_s']:.1f} s · "
                      f"solve {t['solve_s']:.1f} s · total {t['total_s']:.1f} s[/dim]")
    if folder is not None:
        with folder.replace(only=SMOOTHING_NAMES) as staging:  # beside a plan, the plan stays
            written = write_smoothing(result, staging)
        if not quiet and not available("matplotlib"):
            console.print("smoothing.png not drawn: pip install 'dcplan[plots]'", style="dim", markup=False)
        if not quiet:
            console.print("wrote " + ", ".join(escape(display_path(folder.target / p.relative_to(staging)))
                                               for p in written))
    if result.status == "time_limit" or stop.is_set():
        err_console.print(f"[yellow]{'stopped' if stop.is_set() else 'time limit reached'}[/yellow]: the "
                          "schedule meets the limits but may not be least-cost")
        raise typer.Exit(ExitCode.INTERRUPTED if stop.is_set() else ExitCode.SOLVER_FAILURE)


@app.command()
@_friendly
def report(
    outdir: Path = typer.Argument(..., help="A folder written by `dcplan plan -o`."),
    output: Optional[str] = typer.Option(None, "-o", "--output",  # text: a trailing / means a folder
                                         help="HTML file (or folder) to write; default OUTDIR/report.html "
                                         "(with --compare, OUTDIR/compare.html)."),
    compare: Optional[Path] = typer.Option(None, "--compare", metavar="BASELINE",
                                           help="Compare OUTDIR with this plan folder, side by side (OUTDIR "
                                           "minus BASELINE)."),
):
    """Write one self-contained HTML report of a plan (charts included; opens without a network),
    or of two plans side by side."""
    from dcplan.report import COMPARISON_FILE, report_path, write_comparison, write_report

    if output is not None:
        if not output.strip():  # Path("") is the current folder: not what was meant (diff -o "" is refused too)
            raise InputError([Problem("command line", None, "--output", "an empty path: give a file or a folder")])
        writable_path(report_path(outdir, output, COMPARISON_FILE if compare is not None else "report.html"),
                      "--output", report_of=(outdir,) if compare is None else (outdir, compare))
    written = write_comparison(compare, outdir, output) if compare is not None else write_report(outdir, output)
    console.print(f"wrote {escape(display_path(written))}")


@app.command()
@_friendly
def show(outdir: Path = typer.Argument(..., help="A folder written by `dcplan plan -o`."),
         as_json: bool = typer.Option(False, "--json", help="Print the plan's key figures and decisions as JSON.")):
    """Print a plan's key figures and a chart of a typical week's dispatch."""
    from dcplan.report import load_folder

    folder = load_folder(outdir)
    if as_json:
        from dcplan.report.data import key_figures

        _print_json({"key_figures": [{"figure": f, "value": v, "detail": d} for f, v, d in key_figures(folder)],
                     "plan": folder.plan})
        return
    from dcplan.report.terminal import print_folder

    print_folder(console, folder)


@app.command()
@_friendly
def check(
    paths: Optional[list[Path]] = typer.Argument(None, metavar="PATH", help="Site and program files, or folders of them; "
                                                 "default: the current folder."),
    plan_root: Optional[Path] = typer.Option(None, "--plan", help="Folder of committed plans, plans/<name>/plan.yaml "
                                             "and dispatch.csv; default: plans/ in or above each path's folder."),
    fmt: CheckFormat = typer.Option("text", "--format", help="text, json, github (annotations) or junit (XML)."),
    solve: bool = typer.Option(False, "--solve", help="Also solve every program for feasibility, even one with "
                               "a committed plan."),
    time_limit: float = typer.Option(CHECK_TIME_LIMIT_S, "--time-limit", callback=_within(TIME_LIMIT_S),
                                     help="Seconds for each solve."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write the report to this file instead of "
                                          "standard output."),
):
    """Does every committed plan still fit its inputs? Validates every file, verifies each committed
    plan without re-optimising, and solves for feasibility where none is committed."""
    from dcplan.checks import check_paths, render
    from dcplan.plans.write import atomic_write

    if output is not None:
        writable_path(output, "--output", text=True)
    stop = threading.Event()
    with StatusLine(err_console, "checking", quiet=not err_console.is_terminal) as status, \
            _ctrl_c_stops(stop, status, "stopping the check (Ctrl-C again to quit)"):
        result = check_paths(paths or [Path(".")], plan_root, solve, time_limit, status.update, stop)
    if stop.is_set():  # a check cut short is no verdict: nothing is printed or written
        err_console.print("interrupted")
        raise typer.Exit(ExitCode.INTERRUPTED)
    text = render(result, fmt.value)
    if output is not None:
        atomic_write(output, text)
    else:
        typer.echo(text, nl=False)
    raise typer.Exit(result.exit_code)


@app.command()
@_friendly
def diff(
    old: str = typer.Argument(..., help="A plan.yaml, a plan folder or a folder of them; or REV:PATH in git "
                              "(e.g. main:plans)."),
    new: str = typer.Argument(..., help="The same, for the newer side."),
    fmt: DiffFormat = typer.Option("text", "--format", help="text, markdown (for a pull-request comment) or json."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write to this file instead of standard output."),
    exit_code: bool = typer.Option(False, "--exit-code", help="Exit 1 when the plans differ (as git diff --exit-code)."),
):
    """What changed between two plans: GPUs, MW by source, orders, cost, emissions, binding caps."""
    from dcplan.plans.diff import diff as diff_plans
    from dcplan.plans.diff import render_json, render_markdown, render_text
    from dcplan.plans.write import atomic_write

    if output is not None:
        writable_path(output, "--output", text=True)
    result = diff_plans(old, new)
    text = {"text": render_text, "markdown": render_markdown, "json": render_json}[fmt.value](result)
    if output is not None:
        atomic_write(output, text)
    else:
        typer.echo(text, nl=False)
    if exit_code and not result.empty:
        raise typer.Exit(1)


class _SweepGroup(TyperGroup):
    """`dcplan sweep FILE ...` runs a sweep (the `run` command); `dcplan sweep summary DIR` sums it up."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


sweep_app = typer.Typer(cls=_SweepGroup, no_args_is_help=True, help=(
    "Plan a program over many input values: `dcplan sweep SWEEP.yaml [-o OUTDIR]` runs (or resumes) "
    "a sweep; `dcplan sweep summary OUTDIR` shows what moves the results."))
app.add_typer(sweep_app, name="sweep")


@sweep_app.command("run")
@_friendly
def sweep_run(
    path: Path = typer.Argument(..., help="Sweep file: a base program and the axes to vary."),
    outdir: Optional[Path] = typer.Option(None, "-o", "--outdir", help="Results folder; default out/<sweep file name>."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help="Local processes; default one per core."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Run on this Dask scheduler, e.g. tcp://host:8786."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Only print problems."),
):
    """Plan every scenario; write results.parquet, results.csv and scenarios/<id>/. Re-run to resume."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from dcplan.extras import require

    require("dcplan sweep", "pyarrow", "duckdb")
    from dcplan.sweep.runner import run_sweep
    from dcplan.sweep.summary import print_run

    outdir = outdir if outdir is not None else Path("out") / path.stem
    bar = Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[state]}"),
                   TimeElapsedColumn(), console=err_console)  # progress on standard error, as plan's

    shown = [-1]

    def progress(p):  # first called once the sweep has been checked and the scenarios drawn
        if quiet:
            return
        eta = f" · ETA {int(p.eta_s) // 60}:{int(p.eta_s) % 60:02d}" if p.eta_s is not None else ""
        if not err_console.is_terminal:  # a log: one plain line each time a scenario finishes
            if p.done != shown[0]:
                shown[0] = p.done
                err_console.print(f"sweep {p.done}/{p.total} · {p.running} running · {p.failed} failed{eta}",
                                  highlight=False, markup=False)
            return
        if not bar.tasks:
            bar.add_task("sweep", total=p.total, state="")
            bar.start()
        bar.update(bar.tasks[0].id, completed=p.done, state=f"{p.running} running · {p.failed} failed{eta}")

    try:
        with _sigterm_unwinds():
            run = run_sweep(path, outdir, workers, scheduler, progress)
    finally:
        if bar.tasks:
            bar.stop()
    if not quiet:
        print_run(console, run)
    if not run.finished:
        err_console.print("[yellow]some scenarios did not finish[/yellow] (time limit, crash or error): "
                          "run the same command again to retry them")
        raise typer.Exit(ExitCode.SOLVER_FAILURE)


@sweep_app.command("summary")
@_friendly
def sweep_summary(
    outdir: Path = typer.Argument(..., help="A sweep's results folder."),
    metric: str = typer.Option("total_cost_usd_per_year", "--metric",
                               help="The result to explain: a numeric column of the results, such as "
                               "cost_usd_per_gpu_hour, co2_t_per_year or gpus (a wrong name lists them all)."),
    sql: Optional[str] = typer.Option(None, "--sql", help="Run this SQL over the view `results` instead."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary (or the query's rows) as JSON."),
):
    """Tornado chart of sensitivities (tornado.png) and how the decisions change along each axis."""

    from dcplan.extras import require

    require("dcplan sweep summary", "pyarrow", "duckdb", "matplotlib")
    from dcplan.sweep import summary

    if sql is not None:
        columns, rows = summary.query(outdir, sql)
        if as_json:
            _print_json([dict(zip(columns, row)) for row in rows])
        else:
            summary.print_query(console, columns, rows)
        return
    result = summary.summarise(outdir, metric)
    if as_json:
        _print_json(dataclasses.asdict(result) | {"bars": [dataclasses.asdict(b) | {"swing": b.swing}
                                                          for b in result.bars]})
        return
    summary.print_summary(console, result)
    if result.written:
        console.print("wrote " + ", ".join(escape(display_path(p)) for p in result.written))


class _ReaderMayLeave:
    """Standard output that its reader may close early (``dcplan plan ... | head``): what is left
    to print is dropped and the command goes on, writing its files and exiting with its own code
    (a broken pipe once ended it before its files, with exit 1, which means infeasible here).
    ``drops``: the errors that mean the reader is gone (standard error's: any it raises)."""

    def __init__(self, stream, drops: tuple[type[OSError], ...] = (BrokenPipeError,)):
        self._stream, self._drops = stream, drops

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except self._drops:
            self._left()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except self._drops:
            self._left()

    def _left(self) -> None:
        os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())  # the rest goes nowhere

    def __getattr__(self, name):
        return getattr(self._stream, name)


def run() -> None:
    """The console script: the app, then an exit that leaves freeing the process's objects to
    the operating system (Python takes about half a second to tear down a year's model, which
    ``--time-limit`` would otherwise not cover). Exit handlers still run and output is flushed."""
    import atexit

    _clock.update(process=True, started=STARTED_S)
    sys.stdout = _ReaderMayLeave(sys.stdout) if sys.stdout is not None else open(os.devnull, "w")  # None: closed
    # standard error that cannot be written (closed, a full disk) has no one to tell: the exit code
    # stays the command's (it had become 1, which means infeasible here)
    sys.stderr = _ReaderMayLeave(sys.stderr, (OSError,)) if sys.stderr is not None else open(os.devnull, "w")
    try:
        app(prog_name="dcplan")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
