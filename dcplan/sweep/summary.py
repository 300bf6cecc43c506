"""What a sweep says, from its results.parquet through DuckDB: a tornado of how far each axis
moves a result (mean at the axis's lowest values against its highest), and a table of how the
decisions change along each axis. Also runs any SQL over the results as the view ``results``.

An axis with more than ``BINS`` distinct values (a sampled or random axis) is cut into
``BINS`` equal-count bins; the figures are means over the scenarios that have a plan, so in a
sampled sweep they are main effects averaged over the other axes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from dcplan.errors import InputError, Problem, did_you_mean, display_path
from dcplan.formatting import counted
from dcplan.plans.write import atomic_write
from dcplan.sweep.scenario import TIMING_COLUMNS
from dcplan.sweep.store import RESULTS, TORNADO, WITH_PLAN, axes_of
from dcplan.terminal import _fmt, table_of

BINS = 5
DECISIONS = ("gpus", "it_mw", "cooling", "grid_peak_mw", "gas_mw", "solar_mw", "wind_mw", "battery_mw",
             "battery_mwh")
DECISION_PREFIXES = ("gpus_", "gas_units_")
SHOWN_FAILURES = 10


@dataclass
class Bar:
    axis: str
    low_value: str  # the axis's lowest value (or bin)
    low: float  # mean result there
    high_value: str
    high: float

    @property
    def swing(self) -> float:
        return abs(self.high - self.low)


@dataclass
class SweepSummary:
    outdir: Path
    metric: str
    statuses: dict[str, int]
    solved: int  # scenarios with a plan
    baseline: float | None  # mean of the metric over them
    bars: list[Bar]  # largest swing first
    decisions: list[str]  # decision columns that change across the sweep
    groups: list[dict] = field(default_factory=list)  # axis, value, scenarios, metric, decisions
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # (id, status, reason)
    written: list[Path] = field(default_factory=list)


def summarise(outdir: Path | str, metric: str = "total_cost_usd_per_year") -> SweepSummary:
    """Summarise a sweep's results and write the tornado chart to ``outdir/tornado.png``."""
    outdir = Path(outdir)
    con, schema = _connect(outdir)
    axes = axes_of(schema)
    numeric = [f.name for f in schema if (pa.types.is_integer(f.type) or pa.types.is_floating(f.type))
               and f.name not in axes and f.name not in TIMING_COLUMNS]
    if metric not in numeric:
        raise InputError([Problem("command line", None, "--metric", f"'{metric}' is not a numeric result"
                                  f"{did_you_mean(metric, numeric)}; one of: {', '.join(numeric)}")])
    ok = f"status IN {WITH_PLAN} AND {_q(metric)} IS NOT NULL"
    statuses = dict(con.execute("SELECT status, count(*) FROM results GROUP BY status ORDER BY 2 DESC, 1").fetchall())
    solved, baseline = con.execute(f"SELECT count(*), avg({_q(metric)}) FROM results WHERE {ok}").fetchone()
    failures = con.execute(f"SELECT scenario, status, reason FROM results WHERE status NOT IN {WITH_PLAN} "
                           f"ORDER BY scenario LIMIT {SHOWN_FAILURES}").fetchall()
    names = schema.names
    candidates = [c for c in names if c in DECISIONS or c.startswith(DECISION_PREFIXES)]
    decisions = [c for c in candidates if con.execute(
        f"SELECT count(DISTINCT {_rounded(c, schema)}) FROM results WHERE {ok}").fetchone()[0] > 1]
    summary = SweepSummary(outdir, metric, statuses, solved, baseline, [], decisions, failures=failures)
    for axis in axes:
        rows = _groups(con, axis, metric, ok, decisions, schema)
        summary.groups += rows
        solved = [r for r in rows if r["scenarios"]]  # a bar from the values with a mean
        if len(solved) > 1:
            summary.bars.append(Bar(axis, solved[0]["value"], solved[0][metric], solved[-1]["value"],
                                    solved[-1][metric]))
    summary.bars.sort(key=lambda b: -b.swing)
    if summary.bars:
        atomic_write(outdir / TORNADO, tornado_png(summary))
        summary.written.append(outdir / TORNADO)
    return summary


def query(outdir: Path | str, sql: str) -> tuple[list[str], list[tuple]]:
    """Run ``sql``, one statement, over the table ``results``; return (column names, rows). The
    results are read into memory first and then no file is read or written: a --sql from a
    pasted recipe cannot print /etc/passwd or COPY the results anywhere."""
    try:
        sql.encode("utf-8")
    except UnicodeEncodeError:  # bytes the terminal could not decode (surrogate escapes): no query
        raise InputError([Problem("command line", None, "--sql", "not UTF-8 text")]) from None
    con, _ = _connect(Path(outdir))
    import duckdb

    try:
        con.execute("CREATE TABLE sweep_results AS SELECT * FROM results; DROP VIEW results; "
                    "ALTER TABLE sweep_results RENAME TO results")
        con.execute("SET enable_external_access = false; SET lock_configuration = true")
        statements = con.extract_statements(sql)
        if len(statements) > 1:  # DuckDB runs them all and shows the last
            raise InputError([Problem("command line", None, "--sql", f"{len(statements)} statements: give one")])
        cursor = con.execute(sql)
        if cursor is None:  # an empty statement (or only a comment): DuckDB gives no cursor
            raise InputError([Problem("command line", None, "--sql", "no statement to run")])
        return [d[0] for d in cursor.description or []], cursor.fetchall()
    except duckdb.Error as exc:
        raise InputError([Problem("command line", None, "--sql", str(exc).splitlines()[0])]) from None


def _connect(outdir: Path):
    import duckdb

    path = outdir / RESULTS
    if not path.exists():
        raise InputError([Problem(display_path(path), None, "", "no sweep results here (run `dcplan sweep` "
                                  "with -o pointing at this folder first)")])
    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException) as exc:
        raise InputError([Problem(display_path(path), None, "", f"cannot read the sweep's results ({exc}); "
                                  "run the sweep again")]) from None
    missing = [c for c in ("scenario", "status", "reason", *axes_of(schema)) if c not in schema.names]
    if missing:  # a table edited by hand, or not a sweep's: the queries below name these columns
        raise InputError([Problem(display_path(path), None, "", f"the sweep's results lack the column"
                                  f"{'s' if len(missing) > 1 else ''} {', '.join(missing)}; run the sweep again")])
    con = duckdb.connect()
    con.read_parquet(str(path)).create_view("results")
    return con, schema


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _rounded(column: str, schema: pa.Schema) -> str:
    """Floats compared to 1e-3, so that solver noise does not count as a change."""
    return f"round({_q(column)}, 3)" if pa.types.is_floating(schema.field(column).type) else _q(column)


def _groups(con, axis: str, metric: str, ok: str, decisions: list[str], schema: pa.Schema) -> list[dict]:
    """Per value of the axis (or per bin of a many-valued one): the scenarios with a plan and all
    of them, the mean metric, and the mean of each decision that changes (for text: the value,
    or each value's count where the scenarios split, never one of a tie as if it were the
    decision). A value where no scenario has a plan is kept, its means None (it had been left
    out, and with it the axis's most telling value)."""
    text = {d for d in decisions if pa.types.is_string(schema.field(d).type)}
    aggregates = ", ".join(f"{'histogram' if d in text else 'avg'}({_q(d)}) FILTER (WHERE solved)" for d in decisions)
    rows = con.execute(f"""
        WITH run AS (SELECT *, {_q(axis)} AS x, ({ok}) AS solved FROM results),
        binned AS (SELECT *, CASE WHEN (SELECT count(DISTINCT x) FROM run) > {BINS}
                                  THEN ntile({BINS}) OVER (ORDER BY x) ELSE dense_rank() OVER (ORDER BY x) END AS bin
                   FROM run)
        SELECT min(x), max(x), count(*) FILTER (WHERE solved), count(*), avg({_q(metric)}) FILTER (WHERE solved)
               {', ' + aggregates if aggregates else ''}
        FROM binned GROUP BY bin ORDER BY bin""").fetchall()
    out = []
    for low, high, n, run, mean, *values in rows:
        label = _label(low) if low == high else f"{_label(low)}–{_label(high)}"
        out.append({"axis": axis, "value": label, "scenarios": n, "scenarios_run": run, metric: mean,
                    **{d: _split(v) if d in text else v for d, v in zip(decisions, values)}})
    return out


def _split(counts: dict | None) -> str | None:
    """A text decision in one group: 'air_economizer', or 'air_economizer 3 · direct_liquid 3'."""
    if not counts:
        return None
    if len(counts) == 1:
        return str(next(iter(counts)))
    return " · ".join(f"{value} {n}" for value, n in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0]))))


def _label(value) -> str:
    return "null" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def tornado_png(summary: SweepSummary) -> bytes:
    """The tornado chart: per axis, the mean result at its lowest and highest values against the
    mean over all solved scenarios; the axis that moves it most on top."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import EngFormatter

    bars = list(reversed(summary.bars))
    fig = Figure(figsize=(10, 1.6 + 0.6 * len(bars)), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    base = summary.baseline
    for i, bar in enumerate(bars):
        for value, label, color, name in ((bar.low, bar.low_value, "C0", "lowest value"),
                                          (bar.high, bar.high_value, "C1", "highest value")):
            ax.barh(i, value - base, left=base, height=0.6, color=color, alpha=0.85,
                    label=name if i == 0 else None)
            ax.annotate(label, (value, i), xytext=(4 if value >= base else -4, 0), textcoords="offset points",
                        ha="left" if value >= base else "right", va="center", fontsize=8)
    ax.axvline(base, color="0.3", lw=1)
    ax.set_yticks(range(len(bars)), [b.axis for b in bars], fontsize=8)
    ax.xaxis.set_major_formatter(EngFormatter())  # 1.15 G on each tick, no "1e9" over the caption
    ax.set_xlabel(f"{summary.metric}: mean at each axis's lowest and highest value\n"
                  f"the line: mean of all {summary.solved} scenarios with a plan", fontsize=9)
    ax.margins(x=0.15)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"Sensitivity of {summary.metric}", fontsize=10)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def print_summary(console: Console, s: SweepSummary) -> None:
    total = sum(s.statuses.values())
    console.print(f"[bold]{counted(total, 'scenario')}[/bold]: " + ", ".join(f"{n} {k}" for k, n in s.statuses.items()))
    for sid, status, reason in s.failures:
        console.print(f"  [red]{sid}[/red] {status}: {escape(reason or '')}", highlight=False)
    if not s.solved:
        console.print(f"no scenario has a plan, so there is nothing to compare for {s.metric}")
        return
    console.print(f"{s.metric}: mean {_num(s.baseline)} over {counted(s.solved, 'scenario')} "
                  "with a plan")
    if s.solved == 1:  # nothing to compare: no sensitivity, no change of decisions to speak of
        console.print("one scenario has a plan: no sensitivity to compare (see the failures above)")
        return
    tornado = Table(title=f"sensitivity of {s.metric}, largest first", header_style="bold cyan")
    tornado.add_column("axis", overflow="fold")
    for header in ("lowest value", "mean there", "highest value", "mean there", "swing"):
        tornado.add_column(header, justify="right")
    for b in s.bars:
        tornado.add_row(b.axis, b.low_value, _compact(b.low), b.high_value, _compact(b.high), _compact(b.swing))
    console.print(tornado)
    for axis in dict.fromkeys(g["axis"] for g in s.groups):
        groups = [g for g in s.groups if g["axis"] == axis]
        table = Table(title=f"along {axis} (means over the scenarios with a plan)", header_style="bold cyan")
        table.add_column("value", overflow="fold")
        for g in groups:
            table.add_column(g["value"], justify="right")
        table.add_row("scenarios", *(str(g["scenarios"]) if g["scenarios"] == g.get("scenarios_run", g["scenarios"])
                                     else f"{g['scenarios']} of {g['scenarios_run']}" for g in groups))
        for name in (s.metric, *s.decisions):
            table.add_row(name, *(_num(g[name]) if isinstance(g[name], (int, float)) else
                                  "no plan" if not g["scenarios"] else str(g[name]) for g in groups))
        console.print(table)
    if not s.decisions:
        console.print("the decisions are the same in every scenario")


def _num(value) -> str:
    return _fmt(0.0 if abs(value) < 1e-6 else float(value))


def _compact(value: float) -> str:
    """1,147,630,278 -> 1.148 G, so that the tornado table fits a terminal."""
    for scale, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(value) >= scale:
            return f"{value / scale:.4g}{suffix}"
    return _num(value)


def print_query(console: Console, columns: list[str], rows: list[tuple]) -> None:
    table = table_of(None, columns, overflow="fold")
    for row in rows:
        table.add_row(*(_fmt(v) if v is not None else "" for v in row))
    console.print(table)


def print_run(console: Console, run) -> None:
    """What a sweep run did (a :class:`dcplan.sweep.runner.SweepRun`): outcomes, failures, files."""
    statuses = run.statuses
    console.print(f"[bold]{len(run.scenarios.scenarios)} scenarios[/bold]: "
                  + ", ".join(f"{n} {k}" for k, n in statuses.most_common())
                  + f" ({run.ran} run now, {run.reused} kept from an earlier run)")
    if run.stale:
        console.print(f"[yellow]the base program or its sites changed since the last run[/yellow]: "
                      f"{run.stale} earlier results were replaced")
    failed = [r for r in run.rows if r["status"] not in WITH_PLAN]
    for row in failed[:SHOWN_FAILURES]:
        console.print(f"  [red]{row['scenario']}[/red] {row['status']}: {escape(row.get('reason') or '')}",
                      highlight=False)
    if len(failed) > SHOWN_FAILURES:
        console.print(f"  ... and {len(failed) - SHOWN_FAILURES} more (see results.csv)")
    plans = sum(r["status"] in WITH_PLAN for r in run.rows)
    out = escape(display_path(run.outdir))
    console.print(f"wrote {out}/{RESULTS}, results.csv and {counted(plans, 'plan')} in {out}/scenarios/; "
                  f"next: dcplan sweep summary {out}")
