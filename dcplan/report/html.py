"""Render a plan's output folder as one self-contained HTML file: inline CSS and SVG, no
script and nothing fetched, so it opens offline and can be mailed or archived as it is."""

from __future__ import annotations

import datetime as dt
from html import escape

import numpy as np

import dcplan.report.svg as svg
from dcplan.errors import display_path
from dcplan.report.data import (
    PlanFolder,
    fmt,
    key_figures,
    money,
    number,
    source_key,
    source_label,
    source_rank,
    supply_columns,
    typical_week,
)
from dcplan.smoothing.metrics import MEASURE_OF_LIMIT
from dcplan.smoothing.plot import representative_window
from dcplan.smoothing.report import ROWS as SMOOTHING_ROWS

FAMILIES = {  # colour of each family of sources and costs (by prefix; rent: rental_ and rented_)
    "rent": "#b03a2e", "battery_charge": "#c9b8e6", "battery": "#7b5ea7", "grid": "#64748b",
    "gas": "#e07b39", "solar": "#f2c318", "wind": "#2a9d8f", "unserved": "#d62728", "gpus": "#4c72b0",
    "cooling": "#5fa8d3", "smoothing": "#8c6d9e",
}
OTHER = ["#9c755f", "#bab0ac", "#ff9da7", "#76b7b2", "#edc948", "#59a14f"]
BINDING, SLACK, LOAD = "#d62728", "#4c9a6a", "#111111"
BEFORE, AFTER = "#9aa5b1", "#2f6fb0"
SECTIONS = {"figures": "Key figures", "timeline": "Build-out", "capacity": "Capacity and energy",
            "dispatch": "Dispatch", "costs": "Costs", "emissions": "Emissions and caps",
            "smoothing": "Training-power smoothing", "inputs": "Inputs"}

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2933;margin:0 auto;
 max-width:1080px;padding:0 20px 40px}
h1{font-size:24px;margin:24px 0 4px}h2{font-size:19px;margin:34px 0 8px;border-bottom:1px solid #d9dee3;
 padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}
.sub{color:#52606d;margin:0}nav{margin:12px 0;display:flex;flex-wrap:wrap;gap:6px 14px}
nav a{color:#2f6fb0;text-decoration:none}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:10px}
.card{border:1px solid #d9dee3;border-radius:6px;padding:8px 12px;background:#f8fafc}
.card .k{color:#52606d;font-size:12px;text-transform:uppercase;letter-spacing:.03em}
.card .v{font-size:20px;font-weight:600}.card .d{color:#52606d;font-size:12px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{padding:3px 10px;border-bottom:1px solid #e4e7eb;text-align:left;vertical-align:top}
th{background:#f1f4f7}.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.dim td{color:#9aa5b1}.yes{color:#d62728;font-weight:600}small{color:#52606d}
svg.chart{width:100%;height:auto;display:block;font-size:12px}svg.chart text{fill:#1f2933}
svg .tick{fill:#52606d;font-size:11px}svg .value{font-size:11px}svg .grid{stroke:#e4e7eb}
svg .axis{stroke:#52606d}svg .sep{stroke:#9aa5b1;stroke-dasharray:2 3}
svg .load{fill:none;stroke:#111;stroke-width:1.4}svg .hover{fill:transparent}
svg .hover:hover{fill:rgba(0,0,0,.08)}svg .marker{stroke:#111;stroke-width:2}
svg .limit{stroke:#d62728;stroke-dasharray:4 3}svg .lead{opacity:.35}
svg .rented{stroke:#111;stroke-dasharray:3 2;stroke-width:1}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;margin:4px 0}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-2px;border-radius:2px}
details{margin:6px 0}summary{cursor:pointer}
pre{background:#f6f8fa;border:1px solid #e4e7eb;padding:10px;overflow:auto;font-size:12px;max-height:520px}
.note{color:#8a5a00}
"""


class Html(str):
    """Text that is already HTML; anything else put in a table is escaped."""


def _cell(value) -> str:
    return value if isinstance(value, Html) else escape(str(value))


def _table(head: list[str], rows: list[list], align: str = "l", classes: list[str] | None = None) -> str:
    """A table; ``align`` has an 'l' or 'r' per column, its last letter repeating (by default
    the first column is text and the others are numbers)."""
    align = align if len(align) > 1 else align + "r"

    def cells(tag, row):
        return "".join(f'<{tag}{" class=n" if align[min(i, len(align) - 1)] == "r" else ""}>{_cell(c)}</{tag}>'
                       for i, c in enumerate(row))
    body = "".join(f'<tr{f" class={c}" if c else ""}>{cells("td", r)}</tr>'
                   for r, c in zip(rows, classes or [""] * len(rows)))
    return f"<table><thead><tr>{cells('th', head)}</tr></thead><tbody>{body}</tbody></table>"


def _shade(colour: str, k: int) -> str:
    """The k-th shade of a colour: itself, then alternately darker and lighter."""
    if k == 0:
        return colour
    rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)
    amount = min(0.2 * ((k + 1) // 2), 0.6)
    rgb = rgb * (1 - amount) if k % 2 else rgb + (255 - rgb) * amount
    return "#" + "".join(f"{round(c):02x}" for c in rgb)


def palette(keys) -> dict[str, str]:
    """A colour per source or cost key, by family (gas, grid, solar...), shades within a family."""
    out: dict[str, str] = {}
    members: dict[str, int] = {}
    for key in sorted(set(keys)):
        family = next((f for f in FAMILIES if key.startswith(f)), "")
        k = members.get(family, 0)
        out[key] = _shade(FAMILIES[family], k) if family else OTHER[k % len(OTHER)]
        members[family] = k + 1
    return out


def _legend(items: list[tuple[str, str]]) -> str:
    return '<div class="legend">' + "".join(f'<span><i style="background:{c}"></i>{escape(n)}</span>'
                                           for n, c in items) + "</div>"


def _section(key: str, body: str) -> str:
    return f'<section id="{key}"><h2>{SECTIONS[key]}</h2>{body}</section>'


def render(folder: PlanFolder) -> str:
    """The whole report as one HTML document."""
    plan = folder.plan
    colours = palette(_source_keys(folder))
    parts = {"figures": _figures(folder), "timeline": _timeline(folder, colours) if folder.timeline else "",
             "capacity": _capacity(folder, colours), "dispatch": _dispatch(folder, colours), "costs": _costs(folder),
             "emissions": _emissions(folder), "smoothing": _smoothing(folder) if folder.smoothing else "",
             "inputs": _inputs(folder)}
    title = f"dcplan plan {plan['program']}" + (f", scenario {plan['scenario']}" if plan.get("scenario") else "")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><p class=sub>objective {escape(str(plan.get('objective', '-')))}"
        f" · written by dcplan {escape(str(plan.get('dcplan_version', '?')))} to "
        f"{escape(display_path(folder.path))}</p></header>"
        "<nav>" + "".join(f'<a href="#{k}">{SECTIONS[k]}</a>' for k, html in parts.items() if html) + "</nav>"
        + "".join(parts.values()) + "</body></html>\n"
    )


def _source_keys(folder: PlanFolder) -> set[str]:
    """Every source any chart shows, so that each keeps one colour throughout."""
    keys = {"battery_charge"}
    for name, site in folder.plan["sites"].items():
        keys |= {k for k, _, _ in _capacity_rows(site)}
        keys |= {source_key(k) for k in site["energy_mwh_per_year"]}
        keys |= {source_key(c) for c in supply_columns(folder.dispatch[name])}
    if folder.timeline:
        for period in folder.timeline["periods"]:
            for caps in period["capacity_online"].values():
                keys |= {source_key(k) for k in caps if k.endswith("_mw") and k != "it_mw"}
        keys |= {_asset_key(a["asset"]) for a in folder.timeline["orders"]}
    return keys


def _asset_key(asset: str) -> str:
    """The colour key of a timeline asset: 'gas:lm6000' -> 'gas', 'battery_power:x' -> 'battery'."""
    section = asset.split(":", 1)[0]
    return "battery" if section.startswith("battery") else section


def _figures(folder: PlanFolder) -> str:
    cards = "".join(f'<div class="card"><div class="k">{escape(k)}</div><div class="v">{escape(v)}</div>'
                    f'<div class="d">{escape(d)}</div></div>' for k, v, d in key_figures(folder))
    return _section("figures", f'<div class="cards">{cards}</div>')


def _capacity_rows(site: dict) -> list[tuple[str, float, str]]:
    """(source, MW, detail) of each thing a site has, or could have built, to meet its load."""
    c = site["capacity"]
    rows = []
    if "grid_limit_mw" in c:
        rows.append(("grid", c.get("grid_peak_import_mw") or 0.0, f"peak import; limit {fmt(c['grid_limit_mw'])} MW"))
    for key, units in c.items():
        if key.startswith("gas_") and key.endswith("_units") and not key.endswith("_new_units"):
            kind = key[4:-6]
            rows.append((f"gas_{kind}", c.get(f"gas_{kind}_mw") or 0.0,
                         f"{fmt(units)} units, {fmt(c.get(f'gas_{kind}_new_units'))} new"))
    for tech in ("solar", "wind"):
        if f"{tech}_mw" in c:
            rows.append((tech, c[f"{tech}_mw"] or 0.0, ""))
    if "battery_mw" in c:
        rows.append(("battery", c["battery_mw"] or 0.0, f"{fmt(c.get('battery_mwh'))} MWh"))
    return rows


def _capacity(folder: PlanFolder, colours: dict[str, str]) -> str:
    cap_rows, energy_rows, rows, classes, present = [], [], [], [], set()
    for name, site in folder.plan["sites"].items():
        capacity = {k: (mw, detail) for k, mw, detail in _capacity_rows(site)}
        energy = {source_key(k): v or 0.0 for k, v in site["energy_mwh_per_year"].items() if k != "battery_charge"}
        total = sum(energy.values())
        for key in sorted(set(capacity) | set(energy), key=lambda k: (source_rank(k), k)):
            mw, detail = capacity.get(key, (None, ""))
            mwh = energy.get(key)
            rows.append([name, source_label(key), fmt(mw, 1), Html(f"<small>{escape(detail)}</small>"),
                         fmt(None if mwh is None else mwh / 1e3, 1),
                         f"{mwh / total:.1%}" if mwh is not None and total else ""])
            classes.append("" if (mw or 0) > 0.05 or (mwh or 0) > 0.5 else "dim")
        cap_rows.append((name, [(source_label(k), colours[k], mw) for k, (mw, _) in capacity.items() if mw > 0]))
        energy_rows.append((name, [(source_label(k), colours[k], v / 1e3)
                                   for k, v in sorted(energy.items(), key=lambda kv: source_rank(kv[0])) if v > 0.5]))
        present |= {k for k, (mw, _) in capacity.items() if mw > 0} | {k for k, v in energy.items() if v > 0.5}
    legend = _legend([(source_label(k), colours[k]) for k in sorted(present, key=lambda k: (source_rank(k), k))])
    table = _table(["site", "source", "MW", "", "GWh/yr", "share of energy"], rows, "llrlrr", classes)
    return _section("capacity", legend
                    + "<h3>Capacity (MW)</h3>" + svg.hbars(cap_rows, lambda v: f"{v:,.0f} MW", "capacity by source")
                    + "<h3>Energy (GWh per year)</h3>"
                    + svg.hbars(energy_rows, lambda v: f"{v:,.0f} GWh", "energy by source")
                    + "<p>Candidates the plan did not build are greyed.</p>" + table)


def _dispatch(folder: PlanFolder, colours: dict[str, str]) -> str:
    parts = []
    for name in folder.plan["sites"]:
        week = typical_week(folder, name)
        layers = [(source_label(c), colours[source_key(c)], v) for c, v in week.supply.items() if np.any(v > 1e-6)]
        below = ([("battery charging", colours["battery_charge"], week.charge)]
                 if week.charge is not None and np.any(week.charge > 1e-6) else [])
        parts.append(f"<h3>{escape(name)}: {escape(week.label)}</h3>"
                     + _legend([(n, c) for n, c, _ in layers + below] + [("facility load", LOAD)])
                     + svg.stacked_area(layers, below, ("load", week.load), week.days, "MW",
                                        f"hourly dispatch at {name}"))
    return _section("dispatch", "<p>Supply is stacked, the line is the facility load and battery charging "
                    "is drawn below zero. Hover an hour for its values.</p>" + "".join(parts))


def _costs(folder: PlanFolder) -> str:
    plan = folder.plan
    colours = palette(plan["cost_breakdown_usd_per_year"])
    parts = sorted(((k, v) for k, v in plan["cost_breakdown_usd_per_year"].items() if abs(v or 0) >= 0.5),
                   key=lambda kv: -abs(kv[1]))
    chart = svg.hbars([(k.replace("_", " "), [(k.replace("_", " "), colours[k], v)]) for k, v in parts],
                      money, "annualised cost by component")
    sites, total = plan["sites"], plan["totals"].get("total_cost_usd_per_year")
    several = len(sites) > 1
    rows = []
    for key, value in parts + [("total", total)]:
        per_site = [money(s["costs_usd_per_year"].get(key) if key != "total" else s.get("total_cost_usd_per_year"))
                    for s in sites.values()]
        share = f"{value / total:.1%}" if total and value is not None else "-"
        rows.append([key.replace("_", " "), *per_site, *([money(value)] if several else []), share])
    head = ["component", *sites, *(["total"] if several else []), "share"]
    return _section("costs", "<p>Per year: capital annualised at the program's discount rate over each asset's "
                    "life, plus a year of fuel, energy and O&amp;M.</p>" + chart + _table(head, rows))


def _emissions(folder: PlanFolder) -> str:
    plan, totals = folder.plan, folder.plan["totals"]
    rows = [[name, fmt(s["emissions_t_per_year"].get("co2")), fmt(s["emissions_t_per_year"].get("nox"), 1),
             fmt(s.get("water_m3_per_year"))] for name, s in plan["sites"].items()]
    water = [s.get("water_m3_per_year") for s in plan["sites"].values()]
    rows.append([Html("<b>total</b>"), fmt(totals.get("co2_t_per_year")), fmt(totals.get("nox_t_per_year"), 1),
                 fmt(sum(w for w in water if isinstance(w, (int, float))))])
    body = _table(["site", "CO2 t/yr", "NOx t/yr", "water m³/yr"], rows)
    caps = plan["caps"]
    if not caps:
        return _section("emissions", body + "<p>No caps apply to this plan.</p>")
    bars = [(f"{c['name']} · {c.get('scope', '')}", [("of its limit", BINDING if c.get("binding") else SLACK,
                                                      100 * c["value"] / c["limit"])])
            for c in caps if c.get("in_force", True) and c.get("limit") and c.get("value") is not None]
    chart = ("<h3>Value as a share of the limit</h3>" + _legend([("binding", BINDING), ("slack", SLACK)])
             + svg.hbars(bars, lambda v: f"{v:,.0f} %", "cap values as a share of their limits",
                         [100.0] * len(bars), "the limit,") if bars else "")
    cap_rows, classes = [], []
    for c in caps:
        in_force = c.get("in_force", True)
        sense = "≥" if c.get("sense") == "min" else "≤"
        unit = escape(str(c.get("shadow_price_unit", "")))
        note = f'<br><span class="note">{escape(str(c["note"]))}</span>' if c.get("note") else ""
        cap_rows.append([
            Html(f"<b>{escape(c['name'])}</b><br><small>{escape(str(c.get('quantity', '')))}</small>"),
            c.get("scope", ""), f"{sense} {number(c.get('limit'))}" if in_force else "",
            number(c.get("value")), number(c.get("slack")),
            (Html('<span class="yes">yes</span>') if c.get("binding") else "no") if in_force else "not in force",
            Html(f"{escape(number(c['shadow_price']))}<br><small>{unit}</small>") if c.get("shadow_price") else "-",
            Html(f"{escape(str(c.get('origin', '')))}<br><small>{escape(str(c.get('source', '')))}</small>{note}")])
        classes.append("" if in_force else "dim")
    table = _table(["cap", "scope", "limit", "value", "slack", "binds", "shadow price", "origin and source"],
                   cap_rows, "llrrrlrl", classes)
    return _section("emissions", body + "<h3>Caps</h3><p>Slack is how far each value is from its limit; the "
                    "shadow price is what relaxing the cap by one unit (0.01 for shares and PUE) would save "
                    "per year.</p>" + chart + table)


def _timeline(folder: PlanFolder, colours: dict[str, str]) -> str:
    tl = folder.timeline
    periods = tl["periods"]
    start, end = periods[0]["start"], periods[-1]["end"] + dt.timedelta(days=1)
    several = len({x["site"] for x in tl["orders"] + tl["bridges"]}) > 1

    def row_label(item: dict) -> str:
        """'site · label ×quantity unit', a long label cut to keep the quantity in view."""
        label = item["label"] if len(item["label"]) <= 30 else item["label"][:29] + "…"
        site = f"{item['site']} · " if several else ""
        return f"{site}{label} ×{fmt(item.get('quantity'))} {item.get('unit', '')}".rstrip()

    rows = []
    for o in sorted(tl["orders"], key=lambda o: (o["site"], o["order_date"], o["asset"])):
        what = f"{o['label']} ×{fmt(o.get('quantity'))} {o.get('unit', '')}".rstrip()
        colour = colours[_asset_key(o["asset"])]
        retired = f", retired {o['retire_date']}" if o.get("retire_date") else ""
        rows.append((row_label(o), [
            (o["order_date"], o["online_date"], colour, "lead",
             f"{what}: ordered {o['order_date']} ({o.get('order_period', '')}), online {o['online_date']}; "
             f"{money(o.get('capex_usd'))}"),
            (o["online_date"], min(o.get("retire_date") or end, end), colour, "online",
             f"{what}: online from {o['online_date']} ({o.get('online_period', '')}){retired}")]))
    for b in sorted(tl["bridges"], key=lambda b: (b["site"], b["start_date"])):
        what = f"{b['label']} ×{fmt(b.get('quantity'))} {b.get('unit', '')}".rstrip()
        rows.append((row_label(b), [
            (b["start_date"], b["end_date"] + dt.timedelta(days=1), FAMILIES["rent"], "rented",
             f"{what}: rented {b['start_date']} to {b['end_date']}; {money(b.get('cost_usd'))}")]))
    gantt = ("<p>Each order is pale from the day it is ordered to the day it comes online (its lead time), "
             "then solid while it serves; rented bridges are dashed. Hover a bar for its dates and cost.</p>"
             + svg.gantt(rows, start, end, "orders and bridges over the build-out")) if rows else \
        "<p>No orders or bridges.</p>"
    bars, keys = [], set()
    for p in periods:
        total: dict[str, float] = {}
        for caps in p["capacity_online"].values():
            for k, v in caps.items():
                if k.endswith("_mw") and k != "it_mw" and v:
                    total[source_key(k)] = total.get(source_key(k), 0.0) + v
        keys |= set(total)
        it = sum(caps.get("it_mw") or 0 for caps in p["capacity_online"].values())
        bars.append((p["name"], [(source_label(k), colours[k], v) for k, v in
                                 sorted(total.items(), key=lambda kv: source_rank(kv[0])) if v > 0], it))
    capacity = (_legend([(source_label(k), colours[k]) for k in sorted(keys, key=lambda k: (source_rank(k), k))]
                        + [("IT load online (tick)", LOAD)])
                + svg.hbars([(n, segs) for n, segs, _ in bars], lambda v: f"{v:,.0f} MW",
                            "capacity online per period", [it for *_, it in bars], "IT load online"))
    table = _table(["period", "target", "compute online", "capital", "operating", "rental", "CO2 t"], [
        [p["name"], fmt(p.get("target")), fmt(p.get("compute_online")),
         *(money((p.get("spend_usd") or {}).get(k)) for k in ("capital", "operating", "rental")),
         fmt(p.get("co2_t"))] for p in periods])
    totals = tl.get("totals") or {}
    intro = (f"{len(periods)} {tl.get('period_length', 'period')}s from {start}; cash flows discounted to "
             f"{tl.get('base_date', start)}: NPV {money(totals.get('npv_cost_usd'))}, "
             f"{fmt(totals.get('cost_per_gpu_hour_usd'), 2, prefix='$')} per GPU-hour. Spend is nominal.")
    return _section("timeline", f"<p>{escape(intro)}</p><h3>Orders and bridges</h3>" + gantt
                    + "<h3>Capacity online (MW)</h3>" + capacity + "<h3>Per period</h3>" + table)


def _smoothing(folder: PlanFolder) -> str:
    sm, s = folder.smoothing, folder.schedule
    limits, before, after = sm["limits"], sm["before"], sm.get("after") or {}
    limit_of = {v: k for k, v in MEASURE_OF_LIMIT.items()}
    rows = []
    for key, label, unit in SMOOTHING_ROWS:
        limit = limits.get(limit_of.get(key, ""))
        bound = "" if limit is None else ("≥ " if key == "min_mw" else "≤ ") + fmt(limit, 2)
        rows.append([f"{label} ({unit})", bound, fmt(before.get(key), 2), fmt(after.get(key), 2)])
    window_s = limits.get("swing_window_s") or 5.0
    window = representative_window(s["raw_load_mw"], float(np.median(np.diff(s["time_s"]))), window_s)
    bands = [(k.replace("_", " "), limits[k]) for k in ("band_min_mw", "band_max_mw") if limits.get(k) is not None]
    chart = svg.line_chart(s["time_s"][window], [("before: the job's load", BEFORE, s["raw_load_mw"][window]),
                                                  ("after: what the grid sees", AFTER, s["grid_mw"][window])],
                           bands, "s", "MW", "training power before and after smoothing")
    w = sm["workload"]
    overhead = sm.get("energy_overhead_fraction")
    intro = (f"Training job {w.get('name')} ({w.get('source', '')}): {fmt(w.get('gpus'))} × {w.get('gpu')}, "
             f"{fmt(w.get('duration_s'))} s; {sm.get('status')}; energy overhead "
             f"{f'{overhead:.2%}' if isinstance(overhead, (int, float)) else '-'} of the job's energy. "
             "The costs below are the job's own; the plan carries their non-energy part as its smoothing "
             "cost line" + (", scaled in each period by the GPUs then in use." if folder.timeline else "."))
    costs = [[k.replace("_", " "), money(v)] for k, v in (sm.get("costs_usd_per_year") or {}).items()
             if isinstance(v, (int, float)) and abs(v) >= 0.5]
    return _section("smoothing", f"<p>{escape(intro)}</p>"
                    + _table(["what the grid sees", "limit", "before", "after"], rows)
                    + f"<h3>Around the worst swing, before and after (limits over any {escape(fmt(window_s, 1))} s)</h3>"
                    + _legend([("before: the job's load", BEFORE), ("after: what the grid sees", AFTER)])
                    + chart + _table(["cost per year", ""], costs + [[Html("<b>total</b>"),
                                                                     money(sm.get("total_cost_usd_per_year"))]]))


def _inputs(folder: PlanFolder) -> str:
    values = folder.summary.get("sweep_values") or {}
    changed = ("<p>A scenario of a sweep: these values replace the files' own.</p>"
               + _table(["path", "value"], [[k, str(v)] for k, v in values.items()], "ll")) if values else ""
    if not folder.inputs:
        return _section("inputs", changed + "<p>summary.json records no input files (it was written by a dcplan "
                        "that did not record them); run <code>dcplan plan</code> again to embed them.</p>")
    blocks = [changed]
    for f in folder.inputs:
        note = f' <span class="note">({escape(f.note)})</span>' if f.note else ""
        text = f"<pre>{escape(f.text)}</pre>" if f.text is not None else ""
        blocks.append(f"<details><summary><code>{escape(display_path(f.path))}</code>{note}</summary>{text}</details>")
    return _section("inputs", "<p>The files this plan was made from; open one to read it.</p>" + "".join(blocks))
