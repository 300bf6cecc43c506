"""What `dcplan check` found: one :class:`Finding` per check, grouped by the site or program file
it belongs to, with the exit code the findings add up to."""

from __future__ import annotations

from dataclasses import dataclass, field

from dcplan.errors import ExitCode, Problem, printable
from dcplan.locate import Where

PASS = "pass"
WARNING = "warning"  # reported, does not fail the check (a stale dispatch, a cost drift)
VIOLATION = "violation"  # the committed plan breaks a limit of the current inputs
INFEASIBLE = "infeasible"  # no plan exists for the current inputs
INVALID = "invalid"  # an input or committed plan file is malformed
SOLVER = "solver_failure"  # the solver failed or ran out of time before an answer
SKIPPED = "skipped"  # a check that does not apply, with the reason

EXIT_BY_STATUS = {INVALID: ExitCode.INVALID_INPUT, VIOLATION: ExitCode.INFEASIBLE,
                  INFEASIBLE: ExitCode.INFEASIBLE, SOLVER: ExitCode.SOLVER_FAILURE}
EXIT_PRIORITY = (ExitCode.INVALID_INPUT, ExitCode.INFEASIBLE, ExitCode.SOLVER_FAILURE)


@dataclass(frozen=True)
class Finding:
    check: str  # what was checked, e.g. "dispatch memphis", "cap memphis-air-permit"
    status: str
    message: str
    where: Where | None = None
    details: tuple[str, ...] = ()

    def __post_init__(self):  # a cap's name or a value echoed from an input, as text (see printable)
        object.__setattr__(self, "check", printable(self.check))
        object.__setattr__(self, "message", printable(self.message))
        object.__setattr__(self, "details", tuple(printable(d) for d in self.details))

    @classmethod
    def from_problem(cls, check: str, problem: Problem) -> Finding:
        return cls(check, INVALID, problem.message, Where(problem.file, problem.line, problem.key))


@dataclass
class FileReport:
    """Every finding for one site or program file (and its committed plan, if any)."""

    file: str
    kind: str  # site | program | workload | smoothing | unknown
    name: str | None = None
    plan: str | None = None  # the committed plan folder verified
    mode: str = "validated"  # validated | verified | solved | verified+solved
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, check: str, status: str, message: str, where: Where | None = None,
            details: tuple[str, ...] = ()) -> None:
        self.findings.append(Finding(check, status, message, where, details))

    @property
    def exit_code(self) -> int:
        return worst(EXIT_BY_STATUS.get(f.status, ExitCode.OK) for f in self.findings)


@dataclass
class CheckReport:
    files: list[FileReport]
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        return worst(f.exit_code for f in self.files)


def worst(codes) -> int:
    """Invalid input first (fix the files), then a plan that does not fit, then a solver failure."""
    codes = set(codes)
    return next((c for c in EXIT_PRIORITY if c in codes), ExitCode.OK)
