"""What an input file may make dcplan read (README, "Trust and limits").

Site files arrive through pull requests, so a file is not trusted to name any path it likes.
A file given on the command line may refer (a program's ``sites:``, a series' ``csv:``, a
site's ``smoothing.workload``, a workload's ``trace:``, a sweep's ``base:``) only to files
inside its *trusted folders*: the git work tree that holds it, or, outside git, its own folder
and the working directory; symbolic links are followed before the test. A user allows more
folders with ``DCPLAN_ALLOW_PATHS`` (or the ``--allow-path`` option), separated as in PATH.
A refused file is never opened, so nothing of it can reach a message or a report.

Sizes are bounded too, so that a hostile or mistaken file is refused quickly and in little
memory: YAML inputs (``DCPLAN_MAX_YAML_MB``, default 10 MB) and CSV inputs
(``DCPLAN_MAX_CSV_MB``, default 200 MB: a year of hourly columns is well under 1 MB; a
millisecond power trace of a day is about 100 MB).
"""

from __future__ import annotations

import csv
import math
import os
import stat
from pathlib import Path

from dcplan.errors import InputError, Problem, display_path, loops, real_path

ALLOW_ENV = "DCPLAN_ALLOW_PATHS"


def _megabytes(env: str, default: float) -> int | None:
    """Bytes from the environment's ``env`` (megabytes), else ``default``; None for a value that is
    no size (``abc``, ``inf``, ``-1``): refused where a file is read (:func:`limit_problem`)."""
    text = os.environ.get(env, "").strip()  # set empty (a template's way of leaving it out): unset
    try:
        mb = float(text or default)
    except ValueError:
        return None
    return int(mb * 1e6) if math.isfinite(mb) and mb > 0 else None


def limit_problem(env: str) -> Problem:
    """The problem of a size limit the environment gives that is no size."""
    return Problem("environment", None, env, f"{env}='{os.environ.get(env)}' is not a size: give megabytes, a "
                   "number above 0 (or unset it)")


MAX_YAML_BYTES = _megabytes("DCPLAN_MAX_YAML_MB", 10)
MAX_CSV_BYTES = _megabytes("DCPLAN_MAX_CSV_MB", 200)
MAX_MAGNITUDE = 1e15
"""The largest magnitude of a number in an input (YAML or CSV; a seed excepted): a thousand times
any real price, budget or count (a year's capital for the largest campus is about 1e11 USD), and
small enough that the model's products (a price times 8,760 hours times 1,000 kW) stay finite and
below HiGHS's infinity (1e20). A typo such as 1.0e+308 passed every range check and made a plan
of NaN."""


def too_large(value) -> bool:
    """Whether ``value``, a number read from an input, is beyond :data:`MAX_MAGNITUDE`."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) > MAX_MAGNITUDE


def too_large_words(value) -> str:
    return f"{shown(value)} is beyond what dcplan reads (at most {MAX_MAGNITUDE:g} in magnitude): a typo?"


def shown(value: int | float) -> str:
    """A number read from an input, as ``%g``; an integer too large for a float (``%g`` of it
    raises) by its count of digits."""
    try:
        return f"{value:g}"
    except OverflowError:
        try:
            digits = len(str(abs(value)))
        except ValueError:  # beyond Python's digits for str(): about that many
            digits = int(abs(value).bit_length() * math.log10(2)) + 1
        return f"an integer of {digits:,} digits"


def trusted_folders(top: Path) -> tuple[Path, ...]:
    """The folders that ``top``, a file (or folder) given on the command line, and the files it
    refers to may read from."""
    top = Path(os.path.abspath(top))  # as named: a link to elsewhere does not move the trust there
    start = top if _is_dir(top) else top.parent
    work_tree = next((d for d in (start, *start.parents) if (d / ".git").exists()), None)
    folders = [work_tree] if work_tree is not None else [start, Path.cwd()]
    folders += [Path(p).expanduser() for p in os.environ.get(ALLOW_ENV, "").split(os.pathsep) if p]
    return tuple(dict.fromkeys(real_path(f) for f in folders))


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def outside(path: Path, folders: tuple[Path, ...]) -> bool:
    """True when ``path`` (symbolic links followed) lies in none of ``folders``, or cannot be
    followed at all (a loop of links, a NUL in the name): such a path is refused too."""
    try:
        real = Path(path).resolve()
    except (OSError, RuntimeError, ValueError):
        return True
    return not any(real.is_relative_to(folder) for folder in folders)


def refusal(written: str, folders: tuple[Path, ...], path: Path | None = None) -> str:
    """Why a reference is refused, naming what the file says (and where a link on the way
    leads: ``path``, the file it names), never what the target holds."""
    if path is not None and loops(path):
        return f"'{written}' is a symbolic link that loops (it leads back to itself): fix or remove the link"
    shown = ", ".join(display_path(f) or "." for f in folders)
    link = ""
    try:
        real = Path(os.path.realpath(path)) if path is not None else None
        link = f" (a link to {display_path(real)})" if real is not None and real != Path(os.path.abspath(path)) else ""
    except (OSError, ValueError):  # a NUL in the name: no such link to name
        pass
    return (f"'{written}'{link} is outside the folders this file may read ({shown}); dcplan reads only files "
            f"in the repository of the file it is given: copy the file in, or allow its folder with "
            f"the environment variable {ALLOW_ENV} (from the command line also dcplan --allow-path DIR)")


_READ: set[Path] = set()
"""Every input file this process has read (since :func:`forget_reads`): no output is written over one."""


def note_read(path: Path) -> None:
    """Record that ``path`` is read as an input (see :func:`was_read`)."""
    _READ.add(real_path(path))


def was_read(path: Path) -> bool:
    """Whether ``path`` is a file read as an input (since the command began)."""
    return real_path(path) in _READ


def forget_reads() -> None:
    """A new command: what earlier ones read in this process is not its input."""
    _READ.clear()


def file_problem(path: Path, limit: int | None, env: str, what: str) -> Problem | None:
    """A problem when ``path`` is not a regular file (a folder, a pipe or a device would block
    or never end) or is larger than ``limit`` bytes (``env`` raises the limit; None: it gave no
    size). Raises
    FileNotFoundError for a missing file, as opening it would."""
    if limit is None:
        return limit_problem(env)
    note_read(path)
    status = Path(path).stat()
    if not stat.S_ISREG(status.st_mode):
        return Problem(display_path(path), None, "", f"not a regular file: {what} must be a file")
    if status.st_size <= limit:
        return None
    return Problem(display_path(path), None, "", f"{status.st_size / 1e6:,.3g} MB is larger than the "
                   f"{limit / 1e6:g} MB {what} may be ({env} raises it)")


def cell_number(text: str) -> float:
    """A CSV cell as a number; ValueError for what is not one written plainly. Python reads
    ``4_0`` as 40 (digits grouped as in its own source): a cell with an underscore is refused."""
    if "_" in text:
        raise ValueError(f"not a number: {text!r}")
    return float(text)


def read_csv_rows(path: Path) -> list[list[str]]:
    """A CSV input's rows (a byte-order mark is no header), as InputError when it is missing,
    not a file, too large or unreadable."""
    name = display_path(path)
    try:
        refused = file_problem(path, MAX_CSV_BYTES, "DCPLAN_MAX_CSV_MB", "a CSV input")
        if refused:
            raise InputError([refused])
        with Path(path).open(newline="", encoding="utf-8-sig") as fh:
            return list(csv.reader(fh))
    except FileNotFoundError:
        raise InputError([Problem(name, None, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError([Problem(name, None, "", f"cannot read CSV: {exc}")]) from None
