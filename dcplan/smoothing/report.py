"""Terminal rendering of a smoothing result (rich tables)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from dcplan.formatting import money
from dcplan.smoothing.metrics import MEASURE_OF_LIMIT
from dcplan.smoothing.spectrum import band_label
from dcplan.terminal import table_of

ROWS = [  # (measure key, label, unit)
    ("ramp_up_mw_per_s", "ramp up", "MW/s"),
    ("ramp_down_mw_per_s", "ramp down", "MW/s"),
    ("ramp_up_mw_per_min", "ramp up per minute", "MW/min"),
    ("ramp_down_mw_per_min", "ramp down per minute", "MW/min"),
    ("swing_mw", "swing", "MW"),
    ("min_mw", "minimum", "MW"),
    ("max_mw", "maximum", "MW"),
    ("mean_mw", "mean", "MW"),
]


def _num(x) -> str:
    if x is None:
        return "-"
    return f"{x:,.3f}" if abs(x) < 100 else f"{x:,.1f}"


def _energy(mwh: float) -> str:
    return f"{mwh * 1000:,.2f} kWh" if mwh < 1 else f"{mwh:,.2f} MWh"


def sizes_table(result) -> Table:
    s = result.sizes
    table = table_of("Mitigations", ("mitigation", "size"), right=("size",))
    allowed = result.spec.mitigations
    if allowed.gpu_smoothing is not None:
        ramp = [f"{k} {s[f'gpu_ramp_{k}_w_per_s']:,.0f} W/s" for k in ("up", "down") if s.get(f"gpu_ramp_{k}_w_per_s")]
        floor = f"{s['gpu_floor_fraction']:.0%} of TDP"
        if s.get("gpu_ramp_down_hysteresis_s"):
            ramp.append(f"hold {s['gpu_ramp_down_hysteresis_s']:g} s before ramping down")
        table.add_row("GPU power floor", floor + (", " + ", ".join(ramp) if ramp else ""))
        if s.get("gpu_slowdown_fraction"):
            table.add_row("  deferred by ramp-up limit", f"{s['gpu_slowdown_fraction']:.2%} of GPU work")
    if allowed.burn is not None:
        table.add_row("burn work", f"peak {s['burn_peak_mw']:,.2f} MW, {s['burn_mwh_per_year']:,.0f} MWh/yr"
                      if s["burn_on"] else "not used")
    if allowed.capacitors is not None:
        table.add_row("rack capacitors", f"{s['capacitor_energy_mj']:,.3f} MJ, peak {s['capacitor_peak_mw']:,.2f} MW")
    if allowed.battery is not None:
        p, e = s["battery_power_mw"], s["battery_energy_mwh"]
        if p > 1e-6:
            table.add_row("site battery", f"{p:,.2f} MW / {_energy(e)} ({s['battery_duration_s']:,.0f} s at full power)")
        else:
            table.add_row("site battery", "not needed")
    return table


def cost_table(result) -> Table:
    table = table_of("Cost per year", ("component", "per year"), right=("per year",))
    for k, v in sorted(result.costs_usd_per_year.items(), key=lambda kv: -abs(kv[1])):
        if abs(v) >= 0.5:
            table.add_row(k.replace("_", " "), money(v, million_digits=2))
    table.add_row("[bold]total[/bold]", f"[bold]{money(result.total_cost_usd_per_year, million_digits=2)}[/bold]")
    return table


def limits_table(result) -> Table:
    lim = result.spec.limits
    limit_of = {v: k for k, v in MEASURE_OF_LIMIT.items()}
    table = table_of(f"What the grid sees (swing in any {lim.swing_window_s:g} s)", ("", "limit", "before", "after"),
                     right=("limit", "before", "after"))
    if result.trace_after is not None:
        table.add_column(f"after @ {result.workload.time_step_s * 1000:g} ms", justify="right")
    minute = {"ramp_up_mw_per_min": lim.minute_ramp("up"), "ramp_down_mw_per_min": lim.minute_ramp("down")}
    rows = [(key, label, unit, result.before.get(key), result.after, result.trace_after) for key, label, unit in ROWS]
    for band in lim.spectral_mask or []:
        name = band_label(band)
        rows.append((name, f"amplitude {name}", "MW", result.before["spectral_amplitude_mw"][name],
                     (result.after or {}).get("spectral_amplitude_mw"),
                     (result.trace_after or {}).get("spectral_amplitude_mw")))
    for key, label, unit, before, after_set, trace_set in rows:
        if key in minute:
            limit = minute[key][0] if minute[key] else None
        elif " Hz" in key:
            limit = next(b.max_amplitude_mw for b in lim.spectral_mask if band_label(b) == key)
        else:
            lkey = "band_min_mw" if key == "min_mw" else "band_max_mw" if key == "max_mw" else limit_of.get(key)
            limit = getattr(lim, lkey) if lkey else None
        after = after_set.get(key) if after_set else None
        bad = limit is not None and after is not None and (after < limit - 1e-6 if key == "min_mw"
                                                           else after > limit + 1e-6 * max(1, limit))
        row = [f"{label} ({unit})", ("≥ " if key == "min_mw" else "≤ ") + _num(limit) if limit is not None else "",
               _num(before), ("[red]" if bad else "") + _num(after)]
        if result.trace_after is not None:
            row.append(_num(trace_set.get(key) if trace_set else None))
        table.add_row(*row)
    return table


def print_result(console: Console, result) -> None:
    w = result.workload
    gpus = f", {w.gpus:,} × {w.gpu_model}" if w.gpus and w.gpu_model else ""
    console.print(f"[bold]Smoothing {w.name}[/bold]{gpus}: {w.duration_s:,.1f} s at "
                  f"{result.step_s * 1000:g} ms steps, {w.energy_mwh:,.2f} MWh; {result.status}")
    console.print(limits_table(result))
    console.print(sizes_table(result))
    console.print(cost_table(result))
    overhead = result.energy_overhead_fraction
    if overhead is not None:  # None: the job draws no energy (a trace of zeros)
        console.print(f"energy overhead: [bold]{overhead:.2%}[/bold] of the job's energy")
    method = result.method
    if method.get("method") == "periodic":
        console.print(f"[dim]the trace repeats every {method['period_steps']:,} steps: one period solved exactly "
                      f"and repeated {method['periods']:,} times (the optimum of the whole trace: no row that "
                      "reaches back across the period's end binds)[/dim]")
    if method.get("method") == "two_level":
        replanned = method.get("replanned_windows", 0)
        by = "the pieces" if method.get("piece_bound_usd_per_year") == result.lower_bound_usd_per_year \
            else "the relaxation"
        console.print(f"[dim]rolling horizon at full resolution ({method['pieces']} pieces"
                      + (f", {replanned} windows planned again" if replanned else "")
                      + (f", the cheapest of {method['rolls']} runs, the later at the batteries the cuts chose"
                         if method.get("rolls", 1) > 1 else "")
                      + f") guided by a {method['coarse_factor']}× coarser relaxation; cost within "
                      f"{method.get('gap', 0):.2%} of its lower bound "
                      f"{money(result.lower_bound_usd_per_year, million_digits=3)} (proven by {by})[/dim]")
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {note}", highlight=False)
    dec = result.decimation
    if dec.get("factor", 1) > 1:
        console.print(f"[dim]trace decimated {dec['factor']}× to {dec['model_step_s'] * 1000:g} ms block means; "
                      f"within a step the raw load deviates from its mean by up to {dec['ripple_mw']:,.2f} MW "
                      f"(last column: the limits re-measured at the trace's resolution)[/dim]")
