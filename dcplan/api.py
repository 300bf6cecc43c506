"""The library API: what the CLI calls, and what tests and notebooks can call too."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from dcplan.errors import Problem
from dcplan.loader import ProgramInput, load_program, validate_paths
from dcplan.model.build import build_model
from dcplan.results import Plan, extract
from dcplan.solver import SolveOptions, SolveResult, solve


def validate(paths: list[Path]) -> tuple[list[Path], list[Problem]]:
    """Check every site and program file under ``paths``; return (files checked, problems)."""
    return validate_paths([Path(p) for p in paths])


@dataclass
class PlanOutcome:
    program: ProgramInput
    solve: SolveResult
    plan: Plan | None  # None when no plan exists (infeasible, or no solution in time)


def plan(path: Path | str, scenario: str | None = None, typical_days: int | None = None,
         options: SolveOptions | None = None) -> PlanOutcome:
    """Load a program (or a site file with a compute target), build and solve its model.

    Raises :class:`dcplan.errors.InputError` for invalid input.
    """
    program = load_program(Path(path), scenario)
    return plan_program(program, typical_days, options)


def plan_program(program: ProgramInput, typical_days: int | None = None,
                 options: SolveOptions | None = None) -> PlanOutcome:
    options = options or SolveOptions()
    if options.progress:
        options.progress("building model", 0.0, None)
    pm = build_model(program, typical_days)
    if pm.cap_rows and not options.duals:
        options = dataclasses.replace(options, duals=True)
    result = solve(pm.model, options)
    return PlanOutcome(program, result, extract(pm, result) if result.has_solution else None)
