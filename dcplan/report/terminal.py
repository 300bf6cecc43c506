"""`dcplan show`: a plan's key figures and, per site, a stacked chart of a typical week's
dispatch drawn with block characters (one shade per source, so it reads without colour too)."""

from __future__ import annotations

import math

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from dcplan.plans.files import changed_words
from dcplan.report.data import (
    PlanFolder,
    Week,
    key_figures,
    rate_of,
    source_costs,
    source_key,
    source_label,
    typical_week,
)
from dcplan.report.html import palette

ROWS = 10  # chart height in lines
AXIS = 8  # width of the value axis
SHADES = "█▓▒░▚▞▙▛"  # a fill per source (eight before one repeats): without colour, a pipe or a log, still told apart
EIGHTHS = " ▁▂▃▄▅▆▇█"


def print_folder(console: Console, folder: PlanFolder) -> None:
    plan = folder.plan
    scenario = f" (scenario {plan['scenario']})" if plan.get("scenario") else ""
    console.print(f"[bold]Plan {escape(plan['program'])}[/bold]{escape(scenario)}")
    if folder.changed:
        console.print(f"[yellow]warning:[/yellow] {escape(changed_words(folder.changed))}.", highlight=False)
    table = Table(title="Key figures", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_column(style="dim", overflow="fold")
    for name, value, detail in key_figures(folder):
        table.add_row(name, value, detail)
    console.print(table)
    rate = rate_of(folder)
    for site, data in plan["sites"].items():
        console.print(_sources_table(site, data, f"per year, at {rate}" if rate else "per year"))
        week = typical_week(folder, site)
        console.print(f"[bold]Dispatch at {escape(site)}[/bold]: {escape(week.label)}", highlight=False)
        console.print(week_chart(week, max(24, min(84, console.width - AXIS - 2))))


def week_chart(week: Week, width: int) -> Text:
    """Stacked supply, ``width`` columns wide: each column the mean of as many steps as it
    takes, each line an equal slice of MW; the top cell of a stack is drawn in eighths."""
    sources = [(c, v) for c, v in week.supply.items() if np.any(v > 1e-6)]
    colours = palette(source_key(c) for c, _ in sources)
    n = len(week.load)
    per = max(1, math.ceil(n / width))
    cols = math.ceil(n / per)

    def binned(v: np.ndarray) -> np.ndarray:
        return np.array([v[i * per:(i + 1) * per].mean() for i in range(cols)])

    tops = np.cumsum([binned(v) for _, v in sources], axis=0) if sources else np.zeros((1, cols))
    peak = float(tops[-1].max()) or 1.0
    unit = peak / ROWS
    labels = ["0 MW" if r == ROWS - 1 else f"{(ROWS - r) * unit:,.0f} MW" if r % 3 == 0 else ""  # a tick each 3 lines
              for r in range(ROWS)]
    axis = max(AXIS, max(map(len, labels)) + 1)
    text = Text()
    for r in range(ROWS):
        lo = (ROWS - 1 - r) * unit
        text.append(f"{labels[r]:>{axis - 1}}│")
        for col in range(cols):
            stack = tops[:, col]
            if stack[-1] <= lo + 1e-9:
                text.append(" ")
                continue
            if stack[-1] < lo + unit * (1 - 1 / 16):  # the stack ends inside this cell
                eighths = round((stack[-1] - lo) / unit * 8)
                text.append(EIGHTHS[max(eighths, 1)], style=colours[source_key(sources[-1][0])])
            else:
                k = min(int(np.searchsorted(stack, lo + unit / 2)), len(stack) - 1)  # the source mid-cell
                text.append(SHADES[k % len(SHADES)], style=colours[source_key(sources[k][0])])
        text.append("\n")
    text.append(" " * (axis - 1) + "└" + "─" * cols + "\n")
    day_width = max(1, round(24 / per))
    text.append(" " * axis + "".join(d[:day_width - 1].ljust(day_width) for d in week.days).rstrip() + "\n")
    text.append(" " * axis)
    for k, (column, _) in enumerate(sources):
        text.append(SHADES[k % len(SHADES)] * 2, style=colours[source_key(column)])
        text.append(f" {source_label(column)}  ")
    return text


def _sources_table(site: str, data: dict, basis: str) -> Table:
    """Each source at a site: capacity, energy, and what its energy costs, all in and to run."""
    table = Table(title=f"Sources at {escape(site)} ({basis})", title_justify="left", header_style="bold")
    for name in ("source", "MW", "GWh", "all-in $/MWh", "running $/MWh"):
        table.add_column(name, justify="left" if name == "source" else "right")
    for sc in source_costs(data):
        if sc.mw > 0.05 or sc.energy_mwh > 0.5:
            all_in, running = sc.per_mwh(sc.cost_usd), sc.per_mwh(sc.running_usd)
            table.add_row(sc.source, f"{sc.mw:,.1f}", f"{sc.energy_mwh / 1000:,.1f}",
                          "-" if all_in is None else f"{all_in:,.2f}", "-" if running is None else f"{running:,.2f}")
    return table
