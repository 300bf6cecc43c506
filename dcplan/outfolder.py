"""An output folder (``-o``) written as one transaction.

A run claims the folder before it solves: the folder must be new, empty or an earlier dcplan
output (a folder holding anything else is refused, so ``-o .`` never replaces a repository),
and a lock beside it makes a second run on the same folder fail at once rather than interleave.
The run then writes every file into a fresh staging folder beside the target and swaps it in
with one rename, so a reader, or a run killed at any moment, sees either the earlier run's
complete folder or this run's, never a mix and never another run's leftovers.

On Linux the swap is ``renameat2(RENAME_EXCHANGE)``: atomic even when the folder exists.
Elsewhere the earlier folder is renamed aside first; a crash between the two renames leaves no
folder (and the earlier run's under a hidden name, removed by the next run), still never a mix.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import glob
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from dcplan.errors import InputError, Problem, display_path, real_path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; runs on one folder are not serialised there
    fcntl = None

SMOOTHING_NAMES = frozenset({"schedule.csv", "smoothing.yaml", "smoothing.png"})
"""What `dcplan smooth -o` writes (beside a plan, the report shows it)."""
REPORT_MARK = b"<title>dcplan "
"""How a report (:func:`dcplan.report.html.page`: "dcplan plan ...", "dcplan comparison: ...")
begins its title, within its first kilobyte: a file that does not is not replaced by one."""
OUTPUT_NAMES = SMOOTHING_NAMES | {
    "plan.yaml", "dispatch.csv", "dispatch.parquet", "summary.json", "timeline.csv", "report.html",  # plan
    "compare.html",  # dcplan report --compare
    "smoothing",  # a plan's training jobs, one folder each
}
"""What dcplan writes in a plan or smoothing folder: the only names a folder it replaces may hold."""
FILLING = ".dcplan-fill-"
"""What :func:`filled` names its lock and staging folder with, inside the folder it fills (a
name of dcplan's own: a user's hidden entries there are kept)."""
NAME_MAX = 255  # bytes in a file name on Linux, macOS and Windows file systems
STAGING = "staging-"
"""Staging folders beside a target are named .TARGET.staging-XXXX (hidden, and removed when found)."""
SWEEP_RESULTS, SWEEP_CSV, SWEEP_SCENARIOS = "results.parquet", "results.csv", "scenarios"
"""What `dcplan sweep -o` writes (:mod:`dcplan.sweep.store`): its table, twice, and a plan folder a scenario."""


def sweep_hint(folder: Path) -> str:
    """What to do with a sweep's folder given where a plan's is due ('' for any other folder)."""
    if not ((folder / SWEEP_RESULTS).is_file() and (folder / SWEEP_SCENARIOS).is_dir()):
        return ""
    shown = display_path(folder)
    return (f": it is a sweep's output folder (`dcplan sweep summary {shown}`; each scenario's plan is in "
            f"{display_path(folder / SWEEP_SCENARIOS)}/<id>/)")


class OutputFolder:
    """Claim ``target`` for one run (checks and lock, before any solve); then
    ``with folder.replace() as staging:`` write the files into ``staging``. Use as a context
    manager so that the lock is released however the run ends."""

    def __init__(self, target: Path | str, option: str = "-o", names: frozenset[str] = OUTPUT_NAMES):
        # `-o .` names the folder; a link to a folder names the folder it leads to (the swap beside
        # the link replaced the link, and left it, dangling, for a staging folder no one removed)
        # (`init DIR` follows one, the user's own new portfolio; an output folder may be a CI run's on a
        # pull request's files, whose committed link would send the plan where it names)
        _refuse_dangling(Path(os.path.abspath(target)), option, "folder")
        self.target, self.option = Path(os.path.realpath(target) if os.path.islink(target) else
                                        os.path.abspath(target)), option
        self.lock = FolderLock(self.target, option)
        try:
            self._refuse_unless_replaceable(names)
        except InputError:
            self.lock.release()
            raise

    def __enter__(self) -> OutputFolder:
        return self

    def __exit__(self, *exc) -> None:
        self.lock.release()

    def replace(self, only: frozenset[str] | None = None):
        """See :func:`replaced`."""
        return replaced(self.target, only)

    def _refuse_unless_replaceable(self, names: frozenset[str]) -> None:
        target = self.target
        if target.is_dir():
            foreign = sorted(p.name for p in target.iterdir() if p.name not in names or not _written_by_dcplan(p))
            if foreign:
                shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
                what = sweep_hint(target) or f" holds files dcplan did not write ({shown})"
                raise _problem(self.option, f"{display_path(target)}{what}; a run replaces the whole folder, so "
                                            "give a new or empty one")


def _written_by_dcplan(path: Path) -> bool:
    """Whether an entry with one of dcplan's names is dcplan's: its YAML says which dcplan wrote
    it; its ``smoothing`` folder holds a folder a job of smoothing's files and nothing else (a
    name alone let a run delete a hand-written plan.yaml and a user's notes, found by review)."""
    if path.name == "smoothing":
        return path.is_dir() and all(job.is_dir() and all(f.name in SMOOTHING_NAMES for f in job.iterdir())
                                     for job in path.iterdir())
    if path.suffix == ".yaml":
        try:
            with path.open("rb") as fh:
                return b"dcplan_version:" in fh.read(4096)
        except OSError:
            return False
    return True


class FolderLock:
    """Held while one run writes ``target`` (a lock file beside it, holding the run's process id):
    a second run on the same folder is refused at once, before it solves anything. Also makes
    the folder's parent, and removes staging folders that a killed run left there."""

    def __init__(self, target: Path, option: str = "-o"):
        self.target, self.option = writable_path(target, option, folder=True), option
        if self.target.parent == self.target:  # the lock beside it would be inside it
            raise self._problem(f"{self.target} is the file system's root: give a folder of its own")
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._problem(f"cannot make {display_path(self.target.parent)}: {exc.strerror or exc}") from None
        name_bytes = len(os.fsencode(self.target.name))
        room = NAME_MAX - len(f"..{STAGING}") - 8  # mkdtemp's random part
        if name_bytes > room:  # else found only when the plan is written, after the solve
            raise self._problem(f"the folder name is {name_bytes} bytes long: at most {room} leave room "
                                "for its staging folder beside it")
        self.path = self.target.parent / f".{self.target.name}.lock"
        self._fd = _claim(self.path, self.target, self._problem)
        for leftover in self.target.parent.glob(f".{glob.escape(self.target.name)}.{STAGING}*"):
            if leftover.is_symlink():  # rmtree refuses a link
                leftover.unlink(missing_ok=True)
            else:
                shutil.rmtree(leftover, ignore_errors=True)

    def __enter__(self) -> FolderLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def release(self) -> None:
        if self._fd is not None:
            self.path.unlink(missing_ok=True)  # before the lock goes: see _claim
            os.close(self._fd)
            self._fd = None

    def _problem(self, message: str) -> InputError:
        return _problem(self.option, message)


def _problem(option: str, message: str) -> InputError:
    return InputError([Problem("command line", None, option, message)])


INPUT_SUFFIXES = (".csv", ".yaml", ".yml", ".parquet")
"""What dcplan's inputs are written in: a text output (`check -o`, `diff -o`) replaces no such file."""


def writable_path(path: Path, option: str, folder: bool = False, report_of: tuple[Path, ...] = (),
                  text: bool = False) -> Path:
    """Refuse, before any work is done, a path to write (a file; ``folder``: a folder to create
    or fill) that cannot be written: a file where a folder is wanted or the reverse, a file on
    the way to it, a folder that cannot be written in, a place inside an output folder that a
    later run would refuse. ``report_of``: the plan folders a report is of; it may go in their
    folders alone, and replaces no file but a report. ``text``: a text output, which replaces no
    file of an input's kind (INPUT_SUFFIXES: `diff -o` had written over a site's price CSV, which
    it does not read). (A file the command reads is refused where
    it would be written: :func:`dcplan.plans.write.atomic_write`.)"""
    path = Path(os.path.abspath(path))
    if not folder:
        _refuse_dangling(path, option, "file")
    if path.exists() and path.is_dir() != folder:
        raise _problem(option, f"{display_path(path)} exists and is not a {'folder' if folder else 'file'}")
    owner = None if folder else _owner(path)
    if owner is not None:
        raise _problem(option, f"{display_path(path)} is a file of the {owner} in {display_path(path.parent)}: no "
                       "output is written over it; give another name")
    enclosing = next((f for f in path.parents[1:] if _output_folder(f)), None)
    if enclosing is not None:
        raise _problem(option, f"{display_path(path)} is inside {display_path(enclosing)}, a dcplan output folder, "
                       "which a later run replaces whole (and refuses while it holds a folder dcplan did not "
                       "write): write it elsewhere")
    if not folder and path.name not in OUTPUT_NAMES and _output_folder(path.parent):
        raise _problem(option, f"{display_path(path.parent)} is a dcplan output folder, which a later run replaces "
                       f"whole (and refuses while it holds a file dcplan did not write): write {path.name} elsewhere"
                       + (", or name it report.html" if path.suffix == ".html" else ""))
    if report_of and not folder:
        _report_destination(path, option, report_of)
    if text and path.is_file() and path.suffix.lower() in INPUT_SUFFIXES:
        raise _problem(option, f"{display_path(path)} exists and is a {path.suffix} file, of the kind dcplan reads "
                       "as input: no output is written over it; give another name, or delete it first")
    if path.is_fifo() or path.is_socket():  # opened for writing, a pipe with no reader waits for ever
        raise _problem(option, f"{display_path(path)} is a pipe or socket, not a file: dcplan would wait on it")
    if path.exists() and not folder and not path.is_file():  # a device (/dev/null): written in place
        if not os.access(path, os.W_OK):
            raise _problem(option, f"cannot write {display_path(path)}: permission denied")
        return path
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise _problem(option, f"{display_path(parent)} is a file, not a folder: {display_path(path)} cannot be made")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise _problem(option, f"cannot write {display_path(path)}: permission denied")
    return path


def _refuse_dangling(path: Path, option: str, what: str) -> None:
    """A link to nothing is refused as an output: writing through it would make what it names,
    wherever that is."""
    if path.is_symlink() and not path.exists():
        raise _problem(option, f"{path} is a link to {os.readlink(path)}, which does not exist: "  # the link as named
                       f"give the {what} itself")


def _report_destination(path: Path, option: str, plans: tuple[Path, ...]) -> None:
    """A report goes beside its own plan, not into another plan's folder (a folder holding one
    plan and the report of another), and replaces only a report: `report -o` had written HTML
    over a site's price CSV, which summary.json does not record."""
    if _output_folder(path.parent) and real_path(path.parent) not in {real_path(p) for p in plans}:
        raise _problem(option, f"{display_path(path.parent)} is the output folder of another plan: its report goes "
                       f"in {display_path(plans[0])}, or elsewhere")
    if path.is_file() and not _is_report(path):
        raise _problem(option, f"{display_path(path)} exists and is not a dcplan report: no report is written over "
                       "it; give another name, or delete it first")


def _is_report(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return REPORT_MARK in fh.read(1024)
    except OSError:
        return False


def _output_folder(folder: Path) -> bool:
    """Whether ``folder`` is a plan's or a smoothing's output folder (its plan.yaml or
    smoothing.yaml written by dcplan)."""
    real = Path(os.path.realpath(folder))
    return any((real / name).is_file() and _written_by_dcplan(real / name) for name in ("plan.yaml", "smoothing.yaml"))


def _owner(path: Path) -> str | None:
    """'plan' where ``path`` (through a link) is one of a plan's own files, beside its plan.yaml
    (a report of the plan is an output of it, not one of them), 'smoothing' where it is a
    smoothing's, beside its smoothing.yaml (`dcplan smooth -o`, a plan's training job); else None."""
    real = Path(os.path.realpath(path))
    if real.name in OUTPUT_NAMES - {"report.html", "compare.html"} and (real.parent / "plan.yaml").is_file():
        return "plan"
    if real.name in SMOOTHING_NAMES and (real.parent / "smoothing.yaml").is_file():
        return "smoothing"
    return None


@contextlib.contextmanager
def replaced(target: Path, only: frozenset[str] | None = None) -> Iterator[Path]:
    """A fresh staging folder beside ``target``; when the block ends without an exception it
    becomes the target in one atomic swap, else it is removed and the target is untouched.
    ``only``: the names this run replaces; the target's other files are carried over (a
    smoothing written beside a plan keeps the plan), these never (no stale one survives)."""
    target = Path(target)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.{STAGING}", dir=target.parent))
    try:
        os.chmod(staging, 0o777 & ~current_umask())  # mkdtemp makes 0700; give the folder normal permissions
        for kept in sorted(target.iterdir()) if only is not None and target.is_dir() else ():
            if kept.name not in only:
                (shutil.copytree if kept.is_dir() else shutil.copy2)(kept, staging / kept.name)
        yield staging
        _swap_in(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # the earlier folder, after a swap


@contextlib.contextmanager
def filled(target: Path | str, option: str) -> Iterator[Path]:
    """A staging folder inside ``target``, a new or empty folder (hidden entries such as ``.git``
    are kept), whose entries are moved into ``target`` when the block ends without an exception,
    none over one there; under a lock inside ``target``, so that two runs cannot mix their files.
    A run killed leaves hidden entries only, which the next one removes. For `dcplan init`: the
    folder keeps its inode (``.``, a git working tree), where :func:`replaced` swaps it."""
    target = Path(os.path.realpath(target))  # through a link, a dangling one too
    created = not target.exists()
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _problem(option, f"cannot make {display_path(target)}: {exc.strerror or exc}") from None
    lock = target / f"{FILLING}lock"
    fd = _claim(lock, target, lambda message: _problem(option, message))
    try:
        if any(not p.name.startswith(".") for p in target.iterdir()):
            raise InputError([Problem(display_path(target), None, "", "folder exists and is not empty (hidden "
                                      "entries such as .git are kept: `git init && dcplan init .` works)")])
        for leftover in target.glob(f"{glob.escape(FILLING)}staging-*"):  # a killed run's, by its own name only
            shutil.rmtree(leftover, ignore_errors=True)
        staging, moved = Path(tempfile.mkdtemp(prefix=f"{FILLING}staging-", dir=target)), []
        try:
            yield staging
            for entry in sorted(staging.iterdir()):
                if (target / entry.name).exists():  # none there when the lock was taken, so none now
                    raise OSError(errno.EEXIST, "exists already", str(target / entry.name))
                entry.rename(target / entry.name)
                moved.append(target / entry.name)
        except BaseException:
            for entry in moved:
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        lock.unlink(missing_ok=True)  # before the lock goes: see _claim
        if fd is not None:
            os.close(fd)
        if created and not any(target.iterdir()):
            target.rmdir()


def _claim(lock_path: Path, target: Path, problem) -> int | None:
    """An exclusive lock on ``lock_path``, holding this process's id; None without locks."""
    if fcntl is None:
        return None
    while True:
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise problem(f"cannot make the lock file {display_path(lock_path)}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # held by another process (any other error surfaces as itself)
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise problem(f"another dcplan run (pid {holder}) is writing to {display_path(target)}; "
                          "wait for it to end or give another folder") from None
        try:
            if os.stat(lock_path).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)  # the holder removed this file as we opened it: take the new one
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def _swap_in(staging: Path, target: Path) -> None:
    """Make ``staging`` the target; afterwards ``staging`` holds the earlier folder, if any."""
    if not target.exists():
        os.rename(staging, target)
        return
    if _exchange(staging, target):
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.{STAGING}", dir=target.parent))
    os.replace(target, aside)  # an empty aside folder is replaced (POSIX); then no target until ...
    os.replace(staging, target)  # ... this rename
    os.replace(aside, staging)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    if _renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if _renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):  # an old kernel, or a file system without it
        return False
    raise OSError(err, os.strerror(err), str(b))


def _libc_renameat2():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError, TypeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return function


_renameat2 = _libc_renameat2() if os.name == "posix" else None


def current_umask() -> int:
    """The process's umask (reading it means setting it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
