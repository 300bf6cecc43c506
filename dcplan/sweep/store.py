"""A sweep's output folder: ``results.parquet`` and ``results.csv`` (one row per scenario, sorted
by scenario id) and ``scenarios/<id>/`` with each plan's files.

The table is rewritten atomically as scenarios finish, so an interrupted sweep leaves what it
finished; a re-run keeps the rows of finished scenarios when the inputs they came from (the
digest stored in the Parquet metadata) are unchanged, and runs the rest.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from dcplan.errors import InputError, Problem, display_path
from dcplan.outfolder import STAGING, SWEEP_CSV, SWEEP_RESULTS, SWEEP_SCENARIOS, replaced
from dcplan.plans.files import read_folder
from dcplan.plans.types import Plan
from dcplan.plans.write import atomic_write, write_plan_files
from dcplan.sweep.scenario import OUTPUT_COLUMNS, TIMING_COLUMNS

RESULTS, CSV, SCENARIOS = SWEEP_RESULTS, SWEEP_CSV, SWEEP_SCENARIOS
TORNADO = "tornado.png"  # written beside them by `dcplan sweep summary`
FLUSH_EVERY_S = 2.0  # the table is rewritten at most this often while scenarios finish (and at the end)
DONE = ("optimal", "infeasible", "invalid")
"""Final outcomes; a re-run retries the others (time limit, no solution, crashed, error)."""
WITH_PLAN = ("optimal", "time_limit")
TEXT_COLUMNS = ("scenario", "status", "reason", "cooling", "binding_caps")
FIRST, LAST = ("scenario", "status"), ("reason", *TIMING_COLUMNS)
SCENARIO_ID = "[0-9a-f]{12}"  # as expand.scenario_id makes them
META_DIGEST, META_AXES = b"dcplan.sweep.digest", b"dcplan.sweep.axes"


class ResultStore:
    """The results of one sweep in its folder: earlier rows of scenarios it still has (when the
    inputs are unchanged), new rows as they come; plan folders of scenarios no longer in the
    sweep are removed, so the folder describes this sweep alone."""

    def __init__(self, outdir: Path, axes: list[str], digest: str, ids: set[str]):
        self.outdir, self.axes, self.digest = Path(outdir), axes, digest
        self.last_flush = time.monotonic()
        self.rows: dict[str, dict] = {}
        self.stale = 0  # earlier rows dropped because the inputs changed
        _refuse_foreign(self.outdir)
        earlier, digest_then = read_results(self.outdir)
        for row in earlier:
            if row["scenario"] not in ids:
                continue
            if digest_then != digest:
                self.stale += 1
            else:
                self.rows[row["scenario"]] = row
        plans = self.outdir / SCENARIOS
        for folder in plans.iterdir() if digest_then is not None and plans.is_dir() else ():
            if folder.is_dir() and re.fullmatch(SCENARIO_ID, folder.name) and folder.name not in ids:
                shutil.rmtree(folder)
        for leftover in plans.glob(f".*.{STAGING}*"):  # scenario ids are hex: nothing to escape  # of a sweep killed while it wrote a plan
            shutil.rmtree(leftover, ignore_errors=True)

    def is_done(self, sid: str) -> bool:
        row = self.rows.get(sid)
        if row is None or row["status"] not in DONE:
            return False
        return row["status"] not in WITH_PLAN or _whole(self.plan_dir(sid))

    def plan_dir(self, sid: str) -> Path:
        return self.outdir / SCENARIOS / sid

    def record(self, row: dict, plan: Plan | None) -> None:
        """Write the scenario's plan files (or remove an earlier run's), then its row."""
        folder = self.plan_dir(row["scenario"])
        if plan is None:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            folder.parent.mkdir(parents=True, exist_ok=True)
            with replaced(folder) as staging:
                write_plan_files(plan, staging, {axis: row[axis] for axis in self.axes})
        self.rows[row["scenario"]] = row
        if time.monotonic() - self.last_flush >= FLUSH_EVERY_S:
            self.flush()

    def flush(self) -> None:
        table = results_table(sorted(self.rows.values(), key=lambda r: r["scenario"]), self.axes, self.digest)
        parquet = pa.BufferOutputStream()
        pq.write_table(table, parquet)
        text = io.BytesIO()
        pacsv.write_csv(table, text)
        atomic_write(self.outdir / RESULTS, parquet.getvalue().to_pybytes())
        atomic_write(self.outdir / CSV, text.getvalue())
        self.last_flush = time.monotonic()


def _refuse_foreign(outdir: Path) -> None:
    """A folder that holds what no sweep wrote is not written in: a results.csv of the user's own
    (one a sweep wrote, and the summary's tornado.png, sit beside its results.parquet), a plan's
    folder, notes; a sweep rewrites
    its results whole and removes the plans of scenarios it no longer has."""
    if not outdir.is_dir():
        return
    ours = {RESULTS, CSV, SCENARIOS, TORNADO} if (outdir / RESULTS).is_file() else {SCENARIOS}
    plans = outdir / SCENARIOS
    if plans.exists() and not (plans.is_dir() and all(re.fullmatch(SCENARIO_ID, p.name) or STAGING in p.name
                                                       for p in plans.iterdir())):
        ours = ours - {SCENARIOS}
    foreign = sorted(p.name for p in outdir.iterdir()
                     if p.name not in ours and not any(p.name.startswith(f".{name}.") for name in (RESULTS, CSV, TORNADO)))
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise InputError([Problem("command line", None, "-o", f"{display_path(outdir)} holds files no dcplan sweep "
                                  f"wrote ({shown}); a sweep rewrites its folder, so give a new or empty one")])


def read_results(outdir: Path) -> tuple[list[dict], str | None]:
    """Earlier rows and the digest of the inputs they came from; ([], None) without results."""
    path = Path(outdir) / RESULTS
    if not path.exists():
        return [], None
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise InputError([Problem(display_path(path), None, "", f"cannot read earlier results ({exc}); "
                                  "delete the file or write to another folder")]) from None
    meta = table.schema.metadata or {}
    if "scenario" not in table.column_names or META_DIGEST not in meta:
        raise InputError([Problem(display_path(path), None, "", "not a dcplan sweep's results; "
                                  "write to another folder")])
    return table.to_pylist(), meta[META_DIGEST].decode()


def axes_of(schema: pa.Schema) -> list[str]:
    """The axis columns of a results table, in the sweep file's order."""
    return json.loads((schema.metadata or {}).get(META_AXES, b"[]"))


def results_table(rows: list[dict], axes: list[str], digest: str) -> pa.Table:
    """Rows as an Arrow table: id and status, the axis values, the outputs (fixed ones first, then
    GPUs and gas units by kind), the reason and the timings."""
    seen = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    middle = [c for c in seen if c not in FIRST + LAST and c not in axes]
    fixed = list(dict.fromkeys([*OUTPUT_COLUMNS, *(c for c in middle if not c.startswith(("gpus_", "gas_units_")))]))
    columns = [*FIRST, *axes, *fixed, *sorted(set(middle) - set(fixed)), *LAST]  # outputs even without a plan
    arrays = [_column(name, [row.get(name) for row in rows]) for name in columns]
    table = pa.Table.from_arrays(arrays, names=columns)
    return table.replace_schema_metadata({META_DIGEST: digest.encode(), META_AXES: json.dumps(axes).encode()})


def _column(name: str, values: list) -> pa.Array:
    """One type per column: integers, numbers, booleans, or text (lists and mappings as JSON)."""
    present = [v for v in values if v is not None]
    if name not in TEXT_COLUMNS and present:
        if all(isinstance(v, bool) for v in present):
            return pa.array(values, pa.bool_())
        if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
            return pa.array(values, pa.int64())
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
            return pa.array([None if v is None else float(v) for v in values], pa.float64())
    elif name not in TEXT_COLUMNS:
        return pa.array(values, pa.float64())
    return pa.array([json.dumps(v, sort_keys=True, default=str) if isinstance(v, (list, dict))
                     else None if v is None else str(v) for v in values], pa.string())


def _whole(folder: Path) -> bool:
    """A scenario's plan folder as its plan wrote it, every file there, reading back and as
    written (one lost, damaged or edited since had been kept as done: a sweep "finished" with a
    folder `show` refused, or whose plan.yaml no longer said what results.csv did)."""
    try:
        return not read_folder(folder).changed
    except InputError:
        return False
