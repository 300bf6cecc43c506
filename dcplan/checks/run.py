"""`dcplan check` as a library call: validate every file under the paths, verify each committed
plan against the current inputs, and solve for feasibility where no plan is committed (or
when asked); return every finding."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable

from dcplan.api import check_program_delays
from dcplan.checks.discover import Target, find_targets
from dcplan.checks.planfile import read_plan
from dcplan.checks.report import (
    INFEASIBLE,
    PASS,
    SOLVER,
    WARNING,
    CheckReport,
    FileReport,
    Finding,
)
from dcplan.checks.solve import solve_for_feasibility
from dcplan.checks.verify import verify_plan
from dcplan.choices import CHECK_TIME_LIMIT_S
from dcplan.errors import InputError, Problem, display_path
from dcplan.loader import ProgramInput, load_program, scenario_problems, validate_file
from dcplan.locate import Locator, Where
from dcplan.plans.files import changed_words
from dcplan.solver import SolveOptions


def check_paths(paths: list[Path], plan_root: Path | None = None, solve: bool = False,
                time_limit_s: float | None = CHECK_TIME_LIMIT_S,
                progress: Callable[[str], None] | None = None, stop: threading.Event | None = None) -> CheckReport:
    """Check every site and program file under ``paths``.

    ``plan_root``: the folder of committed plans (default: see :mod:`dcplan.checks.discover`);
    ``solve``: solve every program for feasibility, even one with a committed plan;
    ``time_limit_s``: for each solve; ``progress``: called with a line saying what runs now;
    ``stop``: once set (from another thread, a signal handler), the solve under way ends and no
    further file is checked (the caller says the check was interrupted).
    """
    started = time.perf_counter()
    targets, problems = find_targets([Path(p) for p in paths], plan_root)
    reports = [FileReport(p.file, "unknown", findings=[Finding.from_problem("files", p)]) for p in problems]
    names: dict[str, str] = {}
    options = SolveOptions(time_limit_s=time_limit_s, stop=stop)
    for target in targets:
        if stop is not None and stop.is_set():
            break
        if progress:
            progress(f"checking {display_path(target.path)}")
        report = _check_target(target, solve, options, names, progress)
        if report is not None:
            reports.append(report)
    if not reports:
        where = ", ".join(map(str, paths))
        reports.append(FileReport(where, "unknown", findings=[
            Finding.from_problem("files", Problem(where, None, "", "no site or program files found"))]))
    return CheckReport(reports, time.perf_counter() - started)


def _invalid(report: FileReport, problems: list[Problem]) -> FileReport:
    report.findings += [Finding.from_problem("valid", p) for p in problems]
    return report


def _check_target(t: Target, solve: bool, options: SolveOptions, names: dict[str, str],
                  progress) -> FileReport | None:
    started = time.perf_counter()
    report = FileReport(display_path(t.path), t.kind or "unknown", t.name)
    try:
        if t.doc is None:
            return _invalid(report, t.unreadable)
        if not t.plannable:
            read, problems = validate_file(t.path, t.named, t.doc)
            if not read:
                return None  # YAML that is not a dcplan file (a CI workflow, say)
            if problems:
                return _invalid(report, problems)
            report.add("valid", PASS, f"a valid {t.kind} file")
            return report
        if t.name in names:
            return _invalid(report, [t.doc.problem(("name",), f"'{t.name}' is also the name of {names[t.name]}: "
                                                   "their committed plans would share one folder")])
        names[t.name] = report.file
        committed = read_plan(t.plan) if t.plan is not None else None
        pi = load_program(t.path, committed.plan.scenario if committed else None)
        check_program_delays(pi)
        if t.kind == "program":
            problems = scenario_problems(t.path, t.doc, besides=pi.scenario)
            if problems:
                return _invalid(report, problems)
    except InputError as err:
        return _invalid(report, err.problems)
    finally:
        report.seconds = time.perf_counter() - started
    report.add("valid", PASS, f"a valid {t.kind} file" + (f" (scenario {pi.scenario})" if pi.scenario else ""))
    modes = []
    try:
        if committed is not None:
            report.plan = committed.name
            if committed.changed:
                report.add("plan files", WARNING, changed_words(committed.changed),
                           Where(display_path(committed.folder / committed.changed[0]), None, ""))
            verify_plan(pi, committed, report, options)
            modes.append("verified")
        if committed is None or solve:
            if progress:
                progress(f"solving {report.file} for feasibility")
            _feasibility(pi, options, report, committed is None)
            modes.append("solved")
    except InputError as err:  # a problem only planning finds, after validation
        _invalid(report, err.problems)
    report.mode = "+".join(modes) or "validated"
    report.seconds = time.perf_counter() - started
    return report


def _target_where(pi: ProgramInput) -> Where:
    compute = pi.program.compute
    if compute.target is not None:
        return Locator(pi).program("compute", "target", compute.target.measure)
    return Locator(pi).program("buildout", "targets")


def _feasibility(pi: ProgramInput, options: SolveOptions, report: FileReport, uncommitted: bool) -> None:
    outcome = solve_for_feasibility(pi, options)
    result = outcome.solve
    if outcome.infeasible:
        reasons = tuple(outcome.why_no_plan())
        report.add("feasibility", INFEASIBLE, "no plan meets the target within the limits", _target_where(pi),
                   reasons)
    elif outcome.plan is None:
        report.add("feasibility", SOLVER, f"the solver gave no answer ({result.status}: {result.message}); "
                   "raise --time-limit", _target_where(pi))
    else:
        hint = (f"; no plan is committed: `dcplan plan {report.file} -o plans/{pi.name}` makes one"
                if uncommitted else "")
        report.add("feasibility", PASS, f"a plan exists for the current inputs (found in "
                   f"{result.compile_seconds + result.solve_seconds:,.1f} s, not optimised){hint}")
