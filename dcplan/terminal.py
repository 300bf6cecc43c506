"""Rich renderings for the terminal: problems, catalog tables, plan summaries."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from dcplan.catalog import cited, references
from dcplan.errors import Problem
from dcplan.formatting import (
    amount,
    counted,
    figure,
    gap_words,
    money,
    month_span,
    per_tonne,
    time_resolution_words,
)
from dcplan.plans.types import Plan, gas_units
from dcplan.schema.catalog import Catalog

CATALOG_COLUMNS = {
    "gpus": [("tdp_w", "TDP W"), ("it_power_per_gpu_w", "IT W/GPU"),
             ("cluster_w_per_gpu", "cluster W/GPU"), ("purchase_unit", "unit"),
             ("gpus_per_unit", "GPUs/unit"), ("bf16_dense_tflops", "BF16 TF"), ("fp8_dense_tflops", "FP8 TF"),
             ("tpp", "TPP"), ("price_usd_per_gpu", "$ / GPU"), ("liquid_cooling_required", "liquid")],
    "generators": [("kind", "kind"), ("unit_mw", "MW"), ("heat_rate_mmbtu_per_mwh", "HR MMBtu/MWh"),
                   ("capex_usd_per_kw", "$/kW"), ("fixed_om_usd_per_kw_year", "FOM $/kW-yr"),
                   ("variable_om_usd_per_mwh", "VOM $/MWh"), ("lead_time_months", "lead mo"),
                   ("min_stable_load_fraction", "min load"), ("nox_kg_per_mwh", "NOx kg/MWh")],
    "renewables": [("kind", "kind"), ("capex_usd_per_kw", "$/kW"), ("fixed_om_usd_per_kw_year", "FOM $/kW-yr"),
                   ("lifetime_years", "life yr"), ("lead_time_months", "lead mo"),
                   ("land_acres_per_mw", "acres/MW")],
    "storage": [("power_capex_usd_per_kw", "$/kW"), ("energy_capex_usd_per_kwh", "$/kWh"),
                ("round_trip_efficiency", "RTE"), ("fixed_om_usd_per_kw_year", "FOM $/kW-yr"),
                ("lifetime_years", "life yr"), ("lead_time_months", "lead mo")],
    "cooling": [("liquid", "liquid"), ("pue", "PUE"), ("wue_l_per_kwh", "WUE L/kWh"),
                ("capex_usd_per_kw_it", "$/kW IT"), ("lifetime_years", "life yr")],
    "grid_equipment": [("kind", "kind"), ("rating_mva", "MVA"), ("lead_time_months", "lead mo"), ("capex_usd", "capex $")],
}


def table_of(title: str | None, columns, right=(), **options) -> Table:
    """A table with a bold cyan header: ``columns``, those in ``right`` right-justified, each
    with ``options`` (overflow, no_wrap)."""
    table = Table(title=title, header_style="bold cyan")
    for name in columns:
        table.add_column(name, justify="right" if name in right else "left", **options)
    return table


def print_problems(console: Console, problems: list[Problem]) -> None:
    for p in problems:
        where = f"{p.file}:{p.line}" if p.line else p.file
        key = f" [bold]{escape(p.key)}[/bold]:" if p.key else ""
        console.print(f"[red]{escape(where)}[/red]:{key} {escape(p.message)}", highlight=False, soft_wrap=True)
    n = len(problems)
    console.print(f"[red bold]{counted(n, 'problem')} found[/red bold]")


def _fmt(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):  # as written in the catalog (812.5 W, not 812): beside its source
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:,.6g}" if abs(value) < 1e6 \
            else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list):  # a curve of (x, y) points
        return ", ".join(f"{_fmt(float(x))}: {_fmt(float(y))}" for x, y in value)
    return str(value)


def catalog_tables(catalog: Catalog, section: str, width: int, show_sources: bool = False) -> list[Table]:
    """One row per field, one column per entry, split into as many tables as the terminal
    ``width`` needs. With ``show_sources``, one row per field of each entry with its source."""
    entries = getattr(catalog, section)
    if show_sources:
        table = table_of(f"catalog: {section}", ("key", "field", "value", "source"), overflow="fold")
        for key, entry in entries.items():
            for field in entry.sourced_fields():
                table.add_row(key, field, _fmt(getattr(entry, field)), entry.sources.get(field, ""))
        known = references()
        keys = [k for entry in entries.values() for source in entry.sources.values() for k in cited(source)]
        keys = sorted({k for k in keys if k in known}, key=lambda k: (k.startswith("RC"), int(k.split()[-1])))
        if not keys:
            return [table]
        refs = Table(title=f"references cited in catalog: {section}", header_style="bold cyan")
        refs.add_column("[ ]", no_wrap=True)
        refs.add_column("reference", overflow="fold")
        for k in keys:
            refs.add_row(k, known[k])
        return [table, refs]
    label_width = max(len(h) for _, h in CATALOG_COLUMNS[section]) + 3
    chunks, chunk, used = [], [], label_width
    for key, entry in entries.items():
        need = max(len(key), *(len(_fmt(getattr(entry, f))) for f, _ in CATALOG_COLUMNS[section])) + 3
        if chunk and used + need > width:
            chunks.append(chunk)
            chunk, used = [], label_width
        chunk.append((key, entry))
        used += need
    chunks.append(chunk)
    tables = []
    for chunk in chunks:
        table = Table(title=f"catalog: {section}", header_style="bold cyan")
        table.add_column("", style="bold", no_wrap=True)
        for key, _ in chunk:
            table.add_column(key, justify="right", no_wrap=True)
        for field, header in CATALOG_COLUMNS[section]:
            table.add_row(header, *[_fmt(getattr(e, field)) for _, e in chunk])
        tables.append(table)
    return tables


def plan_summary(console: Console, plan: Plan) -> None:
    res = plan.time_resolution
    when = time_resolution_words(res, [p.peak_days for p in plan.timeline.periods] if plan.timeline else ())
    gap = plan.solver.get("gap")
    if "periods" in res:
        when += f" per {res['period_length']}, {res['periods']} periods"
    console.print(f"[bold]Plan {plan.program}[/bold]"
                  + (f" (scenario {plan.scenario})" if plan.scenario else "")
                  + f": {plan.solver['status']}" + (f", gap {gap_words(gap, plan.solver.get('gap_share', 1.0))}" if gap else "")
                  + f", {when}")
    if plan.earliest is not None:
        _earliest_summary(console, plan.earliest, plan.time_resolution.get("method") == "typical_days")
    if plan.timeline is not None:
        timeline_summary(console, plan.timeline)
    if plan.pareto is not None:
        _pareto_summary(console, plan.pareto)
    build = Table(title="Build" + (f" (in {plan.timeline.periods[-1].name})" if plan.timeline else ""),
                  header_style="bold cyan")
    build.add_column("", style="bold", no_wrap=True)
    for s in plan.sites:
        build.add_column(s.name, overflow="fold")
    rows: dict[str, list[str]] = {}
    for s in plan.sites:
        c = s.capacity
        gas = "\n".join(f"{int(n)} × {kind}" for kind, (n, _) in gas_units(c).items() if n > 0) or "-"
        battery = (f"{c['battery_mw']:,.0f} MW / {c['battery_mwh']:,.0f} MWh"
                   if "battery_mw" in c else "-")
        values = {
            "GPUs": "\n".join(f"{n:,} {g}" for g, n in s.gpus.items() if n),
            "cooling": s.cooling,
            "IT load": f"{s.it_mw:,.1f} MW",
            "design peak": f"{c['design_peak_mw']:,.1f} MW",
            "grid peak import": f"{c['grid_peak_import_mw']:,.1f} of {c['grid_limit_mw']:,.0f} MW"
            + (f" + {c['grid_flexible_mw']:,.1f} MW flexible" if c.get("grid_flexible_mw", 0) > 1e-6 else "")
            if "grid_limit_mw" in c else "no grid",
            "gas units": gas,
            "solar": f"{c['solar_mw']:,.0f} MW" if "solar_mw" in c else "-",
            "wind": f"{c['wind_mw']:,.0f} MW" if "wind_mw" in c else "-",
            "battery": battery,
        }
        if any(n > 0.5 for n in s.cloud_gpus.values()):
            values["cloud GPUs (rented)"] = "\n".join(f"{n:,.0f} {g}" for g, n in s.cloud_gpus.items() if n > 0.5)
        if "smoothing_battery_mw" in c:
            job = c.get("smoothing_job_gpus") or 0
            each = f" for the training job's {job:,.0f} GPUs" if job and abs(job - sum(s.gpus.values())) > 0.5 else ""
            values["smoothing"] = (f"{c['smoothing_battery_mw']:,.1f} MW / {c['smoothing_battery_mwh']:,.2f} MWh "
                                   f"battery{each}, +{c['smoothing_energy_overhead_fraction']:.1%} job energy (drawn up "
                                   "to the design)")
        for k, v in values.items():
            rows.setdefault(k, []).append(v)
    for k, v in rows.items():
        build.add_row(k, *v)
    console.print(build)

    mix = table_of("Energy mix (per year)", ("source", "GWh", "share"), right=("GWh", "share"))
    energy: dict[str, float] = {}
    for s in plan.sites:
        for k, v in s.energy_mwh.items():
            if k not in ("battery_charge",):
                energy[k] = energy.get(k, 0.0) + v
    # shares of what the sources make, which sums to 100 % (the load is that less battery losses);
    # the battery's discharge was counted in the energy that charged it
    total = sum(v for k, v in energy.items() if k != "battery_discharge")
    for k, v in energy.items():
        if abs(v) < 0.5:
            continue
        mix.add_row(k, f"{v / 1000:,.1f}", f"{v / total:.1%}" if total and k != "battery_discharge" else "-")
    console.print(mix)
    if plan.timeline is None:
        console.print(_source_cost_table(plan))

    costs = table_of("Annualised cost", ("component", "per year", "share"), right=("per year", "share"))
    for k, v in sorted(plan.cost_components().items(), key=lambda kv: -abs(kv[1])):
        if abs(v) < 0.5:
            continue
        costs.add_row(k, money(v), f"{v / plan.total_cost_usd:.1%}" if plan.total_cost_usd else "-")
    costs.add_row("[bold]total[/bold]", f"[bold]{money(plan.total_cost_usd)}[/bold]", "")
    console.print(costs)
    rented = sum(sum(s.cloud_gpus.values()) for s in plan.sites)
    console.print(
        f"[bold]{plan.total_gpus:,}[/bold] GPUs" + (f" + {rented:,.0f} rented" if rented > 0.5 else "")
        + (f" · [bold]${plan.cost_usd_per_gpu_hour:,.2f}[/bold]/GPU-hour" if plan.total_gpus or rented > 0.5 else "")
        + " · "
        + (f"levelised ${plan.levelised_cost_usd_per_mwh:,.0f}/MWh all-in, ${plan.power_cost_usd_per_mwh:,.1f}/MWh for power · "
           if plan.facility_energy_mwh > 0 else "no energy at the sites · ")
        + (f"PUE {plan.pue:.3f} · " if plan.facility_energy_mwh > 0 else "")
        + f"CO2 {plan.co2_t:,.0f} t/yr · NOx {plan.nox_t:,.1f} t/yr"
    )
    if plan.caps and plan.timeline is not None and not any(c.binding for c in plan.caps):
        in_force = sum(c.in_force for c in plan.caps)
        console.print(f"Caps: none binds in any period ({in_force} period rows in force; plan.yaml lists them)")
    elif plan.caps:
        console.print(cap_table(plan, binding_only=plan.timeline is not None))
    binding = [(s.name, b) for s in plan.sites for b in s.binding]
    if binding:
        console.print("[bold]Limits reached and notes[/bold]")  # a derate, a unit trip, capped hours too
        for site, b in binding:
            console.print(f"  • {site}: {b}")


def timeline_summary(console: Console, t) -> None:
    """The build-out period by period, the orders to place, and the bridges."""
    columns = ("period", "target", "online", "IT", "grid", "gas", "rented", "solar+wind", "battery", "capital", "opex")
    table = table_of("Timeline (MW online, grid +flex: a flexible connection's curtailable MW; money spent in "
                     "the period, nominal; opex includes rent)", columns, right=columns[1:], no_wrap=True)
    for p in t.periods:
        cap = {k: sum(site.get(k, 0.0) for site in p.capacity_online.values())
               for k in ("it_mw", "grid_mw", "grid_flexible_mw", "gas_mw", "rented_gas_mw", "solar_mw", "wind_mw",
                         "battery_mw")}
        grid = f"{cap['grid_mw']:,.0f}" + (f"+{cap['grid_flexible_mw']:,.0f} flex" if cap["grid_flexible_mw"] else "")
        table.add_row(p.name, "-" if p.target is None else f"{p.target:,.0f}", f"{p.compute_online:,.0f}",
                      f"{cap['it_mw']:,.0f}", grid,
                      *(f"{v:,.0f}" for v in (cap["gas_mw"], cap["rented_gas_mw"], cap["solar_mw"] + cap["wind_mw"],
                                               cap["battery_mw"])),
                      money(p.spend_usd["capital"]), money(p.spend_usd["operating"] + p.spend_usd["rental"]))
    stocked = [f"{p.name} {p.stock:,}" for p in t.periods if p.stock]
    if stocked:
        table.caption = ("GPUs delivered and in stock, not running (paid for; no target needs them then): "
                         + ", ".join(stocked))
    console.print(table)
    orders = Table(title="Orders", header_style="bold cyan")
    for col in ("order", "site", "what", "quantity", "online", "capital", "slack"):
        orders.add_column(col, justify="right" if col in ("quantity", "capital", "slack") else "left",
                          no_wrap=col in ("order", "online", "quantity", "capital", "slack"), overflow="fold")
    capital = sum(o.capex_usd for o in t.orders)
    small = [o for o in t.orders if o.capex_usd < 1e-4 * capital]
    for o in t.orders:
        if o in small:
            continue
        orders.add_row(o.order_period, o.site, o.asset, amount(o.quantity, o.unit),
                       o.online_period, money(o.capex_usd), f"{o.slack_months:.1f} mo")
    orders.caption = "slack: how late an order may be placed (or its delivery slip) and still come online then"
    if small:
        orders.caption += (f"; {len(small)} orders under 0.01 % of the capital ({money(sum(o.capex_usd for o in small))} "
                           "in all) not shown; plan.yaml lists every order")
    if len(small) < len(t.orders):
        console.print(orders)
    else:  # nothing bought worth a row (a plan that rents all it uses): no empty table
        console.print("Orders: none" + (f" (but {len(small)} under 0.01 % of the capital, in plan.yaml)" if small else ""))
    if t.bridges:
        bridges = table_of("Bridges (rented)", ("site", "what", "quantity", "from", "until", "rent"),
                           right=("quantity", "rent"), overflow="fold")
        for b in t.bridges:
            bridges.add_row(b.site, b.asset, amount(b.quantity, b.unit), b.start_period, b.end_period,
                            money(b.cost_usd))
        console.print(bridges)
    per_hour = "-" if t.cost_per_gpu_hour_usd is None else f"${t.cost_per_gpu_hour_usd:,.2f}"
    console.print(f"Program cost (NPV to {t.base_date}): [bold]{money(t.npv_cost_usd)}[/bold] "
                  f"after a salvage credit of {money(t.salvage_usd)} · {per_hour}/GPU-hour delivered (levelised)")


def cap_table(plan: Plan, binding_only: bool = False) -> Table:
    """Every cap row, or (for a build-out's many period rows) those that bind."""
    caps = [c for c in plan.caps if c.binding] if binding_only else plan.caps
    title = f"Caps binding ({len(caps)} of {len(plan.caps)} period rows)" if binding_only else "Caps"
    table = Table(title=title, header_style="bold cyan")
    table.add_column("cap", overflow="fold", ratio=3)
    table.add_column("scope", overflow="fold", ratio=1)
    for col in ("limit", "value", "slack", "binds", "shadow price"):
        table.add_column(col, justify="right" if col != "binds" else "left", no_wrap=True)
    for c in caps:
        if not c.in_force:
            table.add_row(f"[dim]{c.name}[/dim]", c.scope, "", "", "", "[dim]not in force[/dim]", "")
            continue
        shadow = ("[dim]not computed[/dim]" if c.shadow_price is None and c.binding else "-" if not c.shadow_price
                  else f"{figure(c.shadow_price)}\n[dim]{c.shadow_price_unit}[/dim]")  # None: no duals (time limit)
        binds = "[bold red]yes[/bold red]" if c.binding else ("[yellow]major source[/yellow]"
                                                            if "major source" in c.note else "no")
        note = f"\n[yellow]{escape(c.note)}[/yellow]" if c.note else ""
        table.add_row(f"{escape(c.name)}\n[dim]{c.quantity}[/dim]{note}", c.scope, f"{'≤' if c.sense == 'max' else '≥'} "
                      f"{figure(c.limit)}", figure(c.value), figure(c.slack), binds, shadow)
    return table


def _source_cost_table(plan: Plan) -> Table:
    """What each source's energy costs, all in and to run (fuel, energy bought, variable O&M):
    why the optimizer ran one rather than another (the report explains more)."""
    from dcplan.plans.write import plan_document
    from dcplan.report.data import source_costs

    totals: dict[str, list[float]] = {}  # source -> [MWh, cost, running cost]
    for site in plan_document(plan)["sites"].values():
        for sc in source_costs(site):
            t = totals.setdefault(sc.source, [0.0, 0.0, 0.0])
            t[0], t[1], t[2] = t[0] + sc.energy_mwh, t[1] + sc.cost_usd, t[2] + sc.running_usd
    table = table_of("Cost of energy by source (per year)", ("source", "GWh", "all-in $/MWh", "running $/MWh"),
                     right=("GWh", "all-in $/MWh", "running $/MWh"))
    for source, (mwh, cost, running) in totals.items():
        if mwh > 0.5:
            table.add_row(source, f"{mwh / 1000:,.1f}", f"{cost / mwh:,.2f}", f"{running / mwh:,.2f}")
        elif cost > 0.5:
            table.add_row(source, "0.0", "-", "-")
    return table


def _earliest_summary(console: Console, earliest: dict, typical_days: bool) -> None:
    """The period found for buildout.earliest, and why one period sooner has no plan; a date
    found on typical days is said to be theirs (the real year's hours may ask for more)."""
    (measure, amount), = earliest["goal"].items()
    console.print(f"[bold]Earliest[/bold]: {amount:,} {measure.replace('_', ' ')} online from "
                  f"{earliest['period']} ({earliest['date']}); this plan is the least-cost one with it then. "
                  "Not sooner:", highlight=False)
    for line in earliest["why_not_sooner"]:
        console.print(f"  • {escape(line)}", highlight=False)
    tried = ", ".join(f"{t['period']} {'yes' if t['plan'] else 'no'}" for t in earliest["tried"])
    days = ("; found on typical days: `dcplan check` holds the plan against every hour of each period"
            if typical_days else "")
    console.print(f"[dim]periods tried (a plan or not): {tried}{days}[/dim]", highlight=False)
    if earliest.get("curve"):
        curve = table_of("Time to power: the least cost of each date (NPV)", ("period", "NPV cost", "saves against "
                         "the earliest", "what changes from the date before"),
                         right=("NPV cost", "saves against the earliest"), overflow="fold")
        for point in earliest["curve"]:
            curve.add_row(point["period"], money(point["npv_cost_usd"]), money(point["saving_usd"]),
                          escape("; ".join(point["changes"][:6]) + (" ..." if len(point["changes"]) > 6 else "")))
        console.print(curve)
    if earliest.get("curve_note"):
        console.print(f"[yellow]note:[/yellow] {escape(earliest['curve_note'])}", highlight=False)
    if earliest.get("odds"):
        _odds_summary(console, earliest["odds"])


def _odds_summary(console: Console, odds: dict) -> None:
    """The chance of each earliest period under the delays (dcplan.studies.odds), and the plan that holds."""
    table = table_of("Time to power under the delays: the chance of each earliest period",
                     ("earliest period", "chance", "by then"), right=("chance", "by then"))
    for row in odds["distribution"]:
        table.add_row(row["period"] or "not in the horizon", f"{row['probability']:.1%}", f"{row['cumulative']:.1%}")
    console.print(table)
    if odds.get("undecided") and not odds["distribution"]:
        console.print("P50 and P90 undecided: a search had no answer in time", highlight=False)
    else:
        console.print(f"P50 {odds['p50'] or 'not in the horizon'}, P90 {odds['p90'] or 'not in the horizon'}",
                      highlight=False)
    held = odds.get("plan_holding_90")
    if held:
        late = ", ".join(f"{d['asset']} at {d['site']} {month_span(d['months_late'])} late" for d in held["planned_for"])
        expected = held["expected_npv_cost_usd"]
        console.print(f"A plan that holds in {held['holds_probability']:.1%} of the cases: the goal from {held['period']}, "
                      f"orders placed as if {late} (covers {held['covers_probability']:.1%}); NPV {money(held['npv_cost_usd'])}"
                      + (f", expected {money(expected)} with the bridges the late cases need" if expected else ""),
                      highlight=False)
        if held.get("orders"):
            orders = table_of(f"Orders of the plan that holds in {held['holds_probability']:.1%} (the timeline "
                              "below is the on-time plan's)", ("order", "site", "what", "quantity", "online"),
                              right=("quantity",))
            for o in held["orders"]:
                orders.add_row(o["order_period"], o["site"], o["asset"], amount(o["quantity"], o["unit"]),
                               o["online_period"])
            console.print(orders)
    for line in odds.get("notes", []):
        console.print(f"[yellow]note:[/yellow] {escape(line)}", highlight=False)


def _pareto_summary(console: Console, pareto: dict) -> None:
    """The cost-against-CO2 points (dcplan.studies.pareto), least CO2 first, and what changes between them."""
    unit, cost_unit = pareto["co2_unit"], pareto["cost_unit"]
    columns = ("point", "CO2", "cost", "extra", "$/t avoided", "$/t margin")
    table = table_of(f"Cost against CO2 (CO2 in {unit}, cost in {cost_unit}; extra $0: this plan)", columns,
                     right=columns)
    points = pareto["points"]
    for k, point in enumerate(points, 1):
        table.add_row(str(k), f"{point['co2_t']:,.0f}", money(point["cost_usd"]), money(point["extra_cost_usd"]),
                      per_tonne(point["usd_per_t_avoided"]), per_tonne(point["marginal_usd_per_t"]))
    console.print(table)
    for k, point in enumerate(points[1:], 2):
        if point["changes"]:
            shown = "; ".join(point["changes"][:6]) + (" ..." if len(point["changes"]) > 6 else "")
            console.print(f"  {k} against {k - 1}: {escape(shown)}", highlight=False)
    for line in pareto.get("notes", []):
        console.print(f"[yellow]note:[/yellow] {escape(line)}", highlight=False)
