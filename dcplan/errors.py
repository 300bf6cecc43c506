"""Problems in user input, and the exit codes the CLI maps them to.

Every problem names the file, the line and the key it comes from, so that a user (or a CI
annotation) can jump straight to it. Loaders collect all problems of a file before raising,
so one run reports everything that is wrong.
"""

from __future__ import annotations

import difflib
import errno
import os
import re
from dataclasses import dataclass
from pathlib import Path

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with its control characters written as escapes (ESC as ``\\x1b``): text from an
    input file (a key, a value echoed in a message) must not clear a terminal or fake a line of
    dcplan's own output (a review's key ``"\\e[2J\\e[Hok: 1 file valid\\n"``)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text) if _CONTROL.search(text) else text


class ExitCode:
    """Documented process exit codes (README, "Exit codes")."""

    OK = 0
    INFEASIBLE = 1  # no plan meets the targets within the limits, or a plan violates them
    INVALID_INPUT = 2  # a file is missing, malformed or fails validation
    SOLVER_FAILURE = 3  # the solver failed or hit its time limit before proving a result
    INTERRUPTED = 130  # Ctrl-C (in `plan`'s solve, the first one keeps and writes the best plan so far)
    TERMINATED = 143  # SIGTERM: the signal's own exit, which `sweep` takes after saving its finished scenarios


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input file."""

    file: str
    line: int | None
    key: str
    message: str

    def __post_init__(self):
        for name in ("file", "key", "message"):
            object.__setattr__(self, name, printable(str(getattr(self, name))))

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class InputError(Exception):
    """Raised with every problem found in one or more input files."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(set(problems), key=lambda p: (p.file, p.line or 0, p.key))
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self):
        """Pickled as its problems, so that it reaches the caller whole from a worker process
        (a ProcessPoolExecutor's, joblib's, Dask's): by default it would be rebuilt from its
        message, a string, and fail."""
        return type(self), (self.problems,), self.__dict__


def refuse(problems: list[Problem]) -> None:
    """Raise :class:`InputError` with ``problems``, if there are any."""
    if problems:
        raise InputError(problems)


def did_you_mean(word: str, choices) -> str:
    """A ' (did you mean X?)' suffix when a close match exists, else '': the one choice that is
    the word with more after an underscore (a key without its unit, ``gas_price``; a model
    without its variant, ``h100``), else the closest by spelling."""
    choices = [str(c) for c in choices]
    longer = [c for c in choices if c.startswith(f"{word}_")]
    match = longer if len(longer) == 1 else difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


PACKAGE = Path(__file__).resolve().parent


def real_path(path: Path | str) -> Path:
    """``path`` with its links followed, absolute; where they cannot be followed (a link that
    loops, which Python 3.11 raises as RuntimeError; a NUL in the name), as given, made absolute:
    never an exception, so that what names or compares a hostile path can still say what is wrong."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError, ValueError):
        return Path(os.path.abspath(path))


def loops(path: Path | str) -> bool:
    """Whether ``path`` is a symbolic link that leads back to itself (or into another loop)."""
    try:
        Path(path).resolve()
    except RuntimeError:
        return True
    except OSError as exc:
        return exc.errno == errno.ELOOP
    except ValueError:
        return False
    return False


def display_path(path: Path | str) -> str:
    """A path as the user would type it: relative to the working directory when possible; a file
    of dcplan's own (the built-in catalog) as ``dcplan/...`` wherever it is installed, so that
    what names it (a plan's reasons) is the same on every machine."""
    resolved = real_path(path)
    if resolved.is_relative_to(PACKAGE):  # first: from a folder above the install too (a repo's .venv)
        return (Path(PACKAGE.name) / resolved.relative_to(PACKAGE)).as_posix()
    try:
        return str(resolved.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
