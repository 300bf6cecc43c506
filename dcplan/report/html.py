"""Render a plan's output folder as one self-contained HTML file: inline CSS and SVG, no
script and nothing fetched, so it opens offline and can be mailed or archived as it is."""

from __future__ import annotations

import datetime as dt
from html import escape
from pathlib import Path
from urllib.parse import quote

import numpy as np

import dcplan.report.svg as svg
from dcplan.errors import display_path
from dcplan.formatting import amount, figure, fixed, money, month_span, per_tonne
from dcplan.plans.files import changed_words
from dcplan.plans.types import gas_key, gas_units
from dcplan.report.data import (
    MONTH_OF_DAY,
    MONTHS,
    Merit,
    PlanFolder,
    SourceCost,
    Year,
    cash_flow_by_year,
    duration_curve,
    goal_text,
    key_figures,
    merit,
    rate_of,
    source_costs,
    source_key,
    source_label,
    source_rank,
    supply_columns,
    typical_week,
    whole_year,
)
from dcplan.schema.smoothing import Limits
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
CAPITAL, OPERATING = "#3b5b92", "#8fb3d9"
SECTIONS = {"figures": "Key figures", "earliest": "Time to power", "pareto": "Cost against CO2", "timeline": "Build-out", "capacity": "Capacity and energy",
            "dispatch": "Dispatch", "year": "The whole year", "costs": "Costs", "emissions": "Emissions and caps",
            "smoothing": "Training-power smoothing", "inputs": "Inputs",
            "changes": "What changed", "load": "Load duration"}  # the last two: of a comparison (compare.py)
DATA_FILES = {"dispatch.csv": "every step of every site", "timeline.csv": "the build-out by period and asset",
              "plan.yaml": "the plan", "summary.json": "the plan, with the solver's log and the inputs"}
CURVE_POINTS = 1000  # points of a duration curve at most: more than a chart's width can show
CHANGES_SHOWN = 6  # changes of a time-to-power step listed; the rest behind "…and N more"

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
.note{color:#8a5a00}.ct{font-weight:600;margin:14px 0 2px}
.headline{font-size:15px}.tried span{white-space:nowrap}.no{color:#d62728}
ul.changes{margin:0;padding-left:16px}ul.changes li{margin:0}
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
    return svg.blend(colour, "#000000" if k % 2 else "#ffffff", min(0.2 * ((k + 1) // 2), 0.6))


def palette(keys) -> dict[str, str]:
    """A colour per source or cost key, by family (gas, grid, solar...), shades within a family;
    a rented unit ('gas_x_rented') is of the rented family. Shorter keys first: a family's total
    ('gas', 'rented_gas') takes its plain colour, its types the shades."""
    out: dict[str, str] = {}
    members: dict[str, int] = {}
    for key in sorted(set(keys), key=lambda k: (k.count("_"), k)):
        family = "rent" if key.endswith("_rented") else next((f for f in FAMILIES if key.startswith(f)), "")
        k = members.get(family, 0)
        out[key] = _shade(FAMILIES[family], k) if family else OTHER[k % len(OTHER)]
        members[family] = k + 1
    return out


def _legend(items: list[tuple[str, str]]) -> str:
    return '<div class="legend">' + "".join(f'<span><i style="background:{c}"></i>{escape(n)}</span>'
                                           for n, c in items) + "</div>"


def _section(key: str, body: str) -> str:
    return f'<section id="{key}"><h2>{SECTIONS[key]}</h2>{body}</section>'


def render(folder: PlanFolder, data_dir: str | None = "", shown_as: Path | None = None) -> str:
    """The whole report as one HTML document. ``data_dir``: the output folder's address
    relative to the report ('' when the report is in it, a path ending in '/' otherwise; None
    when there is none, as on another drive), to link the data files beside it; ``shown_as``:
    the folder to name (default, the folder's own path)."""
    plan = folder.plan
    colours = palette(_source_keys(folder))
    links = _DataLinks(folder, data_dir)
    years = {name: whole_year(folder, name) for name in plan["sites"]}
    parts = {"figures": _figures(folder), "earliest": _earliest(folder) if folder.earliest else "",
             "pareto": _pareto(folder.pareto) if folder.pareto else "",
             "timeline": _timeline(folder, colours, links) if folder.timeline else "",
             "capacity": _capacity(folder, colours), "dispatch": _dispatch(folder, colours),
             "year": _year(folder, years, colours, links), "costs": _costs(folder, years),
             "emissions": _emissions(folder), "smoothing": _smoothing(folder) if folder.smoothing else "",
             "inputs": _inputs(folder)}
    title = f"dcplan plan {plan['program']}" + (f", scenario {plan['scenario']}" if plan.get("scenario") else "")
    return page(title, f"<p class=sub>objective {escape(str(plan.get('objective', '-')))}"
                f" · written by dcplan {escape(str(plan.get('dcplan_version', '?')))} to "
                f"{escape(display_path(shown_as or folder.path))}</p><p class=sub>data: {links.all()}</p>"
                + (f"<p class=note>{escape(changed_words(folder.changed))}.</p>" if folder.changed else ""), parts)


def page(title: str, header: str, parts: dict[str, str], css: str = CSS) -> str:
    """One self-contained HTML document: the title, ``header`` (HTML) below it, a menu of the
    ``parts`` (SECTIONS keys to their HTML) that have something, and the parts."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{css}</style></head><body>"
        f"<header><h1>{escape(title)}</h1>{header}</header>"
        "<nav>" + "".join(f'<a href="#{k}">{SECTIONS[k]}</a>' for k, html in parts.items() if html) + "</nav>"
        + "".join(parts.values()) + "</body></html>\n"
    )


class _DataLinks:
    """Relative links to the data files beside the report: it opens offline and still leads
    to every number behind it."""

    def __init__(self, folder: PlanFolder, data_dir: str | None, files=DATA_FILES):
        self.present = [name for name in files if (folder.path / name).is_file()]
        self.data_dir = data_dir

    def __call__(self, name: str) -> str:
        if self.data_dir is None or name not in self.present:
            return f"<code>{escape(name)}</code>"
        # a name's bytes as the file system has them (a byte UTF-8 does not read: %FF)
        return f'<a href="{escape(quote(self.data_dir + name, errors="surrogateescape"))}"><code>{escape(name)}</code></a>'

    def all(self) -> str:
        return " · ".join(f"{self(name)} ({escape(DATA_FILES[name])})" for name in self.present)


def _source_keys(folder: PlanFolder) -> set[str]:
    """Every source any chart shows, so that each keeps one colour throughout ('gas': all the
    gas units together, as in the energy-cost chart and the capacity online)."""
    keys = {"battery_charge", "gas"}
    for name, site in folder.plan["sites"].items():
        keys |= {k for k, _, _ in _capacity_rows(site)}
        keys |= {source_key(k) for k in site["energy_mwh_per_year"]}
        keys |= {source_key(c) for c in supply_columns(folder.dispatch[name])}
    if folder.timeline:
        for period in folder.timeline["periods"]:
            for caps in period["capacity_online"].values():
                keys |= {source_key(k) for k in caps if k.endswith("_mw") and k != "it_mw"}
        keys |= {_asset_key(a["asset"]) for a in folder.timeline["orders"] + folder.timeline["bridges"]}
    return keys


def _asset_key(asset: str) -> str:
    """The colour key of a timeline asset, its dispatch column's for a gas unit, so that one
    type of unit has one colour in every chart: 'gas:lm6000' -> 'gas_lm6000', 'rental_gas:x' ->
    'rental_gas_x', 'battery_power:x' -> 'battery', 'solar:utility_pv' -> 'solar'."""
    section, _, kind = asset.partition(":")
    if section.startswith("battery"):
        return "battery"
    return f"{section}_{kind}" if section in ("gas", "rental_gas") and kind else section


def _figures(folder: PlanFolder) -> str:
    cards = "".join(f'<div class="card"><div class="k">{escape(k)}</div><div class="v">{escape(v)}</div>'
                    f'<div class="d">{escape(d)}</div></div>' for k, v, d in key_figures(folder))
    return _section("figures", f'<div class="cards">{cards}</div>')


def _earliest(folder: PlanFolder) -> str:
    """What buildout.earliest found: the goal and its earliest period, why one period sooner has
    no plan, the periods tried, and the time-to-power curve (the least cost of each later date)."""
    e = folder.earliest
    goal, period, date = escape(goal_text(e["goal"])), e.get("period"), e.get("date")
    if period:
        when = escape(str(period)) + (f" ({escape(str(date))})" if date else "")
        head = (f'<p class="headline"><b>{goal}</b> can be online from <b>{when}</b> at the earliest, and stay online '
                "to the horizon's end. This plan is the least-cost one that has it then.</p>"
                "<h3>Why not one period sooner</h3>")
    else:
        head = (f'<p class="headline">No plan found with <b>{goal}</b> online by any period of the horizon.</p>'
                "<h3>Why not</h3>")
    why = "<ul>" + "".join(f"<li>{escape(str(line))}</li>" for line in e["why_not_sooner"]) + "</ul>"
    tried = " · ".join(f'<span{"" if t["plan"] else " class=no"}>{escape(str(t.get("period")))}: '
                       f'{"a plan" if t["plan"] else "no plan"}</span>' for t in e["tried"])
    body = head + why + (f'<p class="tried">Periods tried, in order (a bisection): {tried}</p>' if tried else "")
    base = (folder.timeline or {}).get("base_date")
    note = f'<p class="no">{escape(str(e["curve_note"]))}</p>' if e.get("curve_note") else ""
    return _section("earliest", body + _odds(e.get("odds")) + _time_to_power(e.get("curve") or [], base) + note)


def _odds(odds: dict | None) -> str:
    """The chance of each earliest period under the goal's delays, P50 and P90, and the plan whose
    orders hold in at least 90 % of the cases (dcplan.studies.odds)."""
    if not odds:
        return ""
    rows = [[r.get("period") or "not in the horizon", f"{r['probability']:.1%}", f"{r['cumulative']:.1%}"]
            for r in odds.get("distribution") or []]
    quantiles = ("P50 and P90 undecided: a search had no answer in time" if odds.get("undecided") and not rows else
                 f"P50 {escape(str(odds.get('p50') or 'not in the horizon'))}</b>, "
                 f"<b>P90 {escape(str(odds.get('p90') or 'not in the horizon'))}")
    body = (f"<h3>The odds, with deliveries late</h3><p>Every combination of the delays given, planned for its "
            f"earliest period: <b>{quantiles}</b>.</p>" + _table(["earliest period", "chance", "by then"], rows, "lrr"))
    held = odds.get("plan_holding_90")
    if held:
        late = ", ".join(f"{escape(str(d['asset']))} at {escape(str(d['site']))} {month_span(d['months_late'])} late"
                         for d in held.get("planned_for") or [])
        expected = held.get("expected_npv_cost_usd")
        body += (f"<p>A plan that holds in <b>{held['holds_probability']:.1%}</b> of the cases has the goal online from "
                 f"<b>{escape(str(held['period']))}</b>: its orders are placed as if {late} (a case covering "
                 f"{held['covers_probability']:.1%}), NPV {money(held['npv_cost_usd'])}"
                 + (f"; expected {money(expected)} over the cases it holds in, with what their delays need "
                    "(early deliveries wait; late ones are bridged where rentals can)" if expected else "") + ".</p>")
        if held.get("orders"):
            body += ("<p>Its orders (the timeline of this report is the on-time plan's):</p>"
                     + _table(["order", "site", "what", "quantity", "online"],
                              [[o["order_period"], o["site"], o["asset"], amount(o["quantity"], o["unit"]),
                                o["online_period"]] for o in held["orders"]], "lllrl"))
    return body + "".join(f'<p class="no">{escape(str(n))}</p>' for n in odds.get("notes") or [])


def _time_to_power(curve: list[dict], base) -> str:
    """The least NPV cost of each date from the earliest on: a line over the periods, and a
    table of what each saves against the earliest and what changes from the date before."""
    if not curve:
        return ""
    names = [str(p.get("period")) for p in curve]
    costs = [p.get("npv_cost_usd") for p in curve]
    first = costs[0] if isinstance(costs[0], (int, float)) else None
    chart = ""
    if len(curve) > 1 and all(isinstance(c, (int, float)) and np.isfinite(c) for c in costs):
        scale, unit = next((f, u) for f, u in ((1e9, "$ B"), (1e6, "$ M"), (1e3, "$ k"), (1.0, "$"))
                           if max(abs(c) for c in costs) >= f or f == 1.0)
        tips = [f"{n}: NPV {money(c)}" + (f", saves {money(p.get('saving_usd'))} against the earliest" if i else
                                          " (the earliest)") for i, (n, c, p) in enumerate(zip(names, costs, curve))]
        chart = svg.line_chart(np.arange(len(curve), dtype=float),
                               [("NPV cost", CAPITAL, np.array(costs, dtype=float) / scale)], [], "",
                               unit, "least NPV cost of each date the goal is online from",
                               x_labels=names, dots=tips)
    rows = []
    for i, p in enumerate(curve):
        saving = p.get("saving_usd")
        share = f" ({saving / first:.1%})" if i and first and isinstance(saving, (int, float)) else ""
        rows.append([p.get("period"), money(p.get("npv_cost_usd")), money(saving) + share,
                     Html(_changes(p.get("changes") or [], i == 0))])
    table = _table(["goal online from", "NPV cost", "saves against the earliest", "what changes from the date "
                    "before"], rows, "lrrl")
    discounted = f" (discounted to {escape(str(base))})" if base else ""
    return ("<h3>The price of time to power</h3><p>The goal planned again due one, two… periods later: the least "
            f"NPV cost of each date{discounted}, what waiting saves against the earliest, and what the plan "
            "changes (its orders, rentals, capacity and GPUs) from the date before. Hover a point for its "
            "figures.</p>" + chart + table)


def _pareto(pareto: dict) -> str:
    """The cost-against-CO2 points: cost over CO2 as a line, and a table of what each point costs,
    per tonne avoided on average and at the margin, and what changes from the point before."""
    points, unit, cost_unit = pareto.get("points") or [], pareto.get("co2_unit", "t"), pareto.get("cost_unit", "USD")
    co2 = [p.get("co2_t") for p in points]
    costs = [p.get("cost_usd") for p in points]
    chart = ""
    if len(points) > 1 and all(isinstance(v, (int, float)) and np.isfinite(v) for v in co2 + costs):
        scale, money_unit = next((f, u) for f, u in ((1e9, "$ B"), (1e6, "$ M"), (1e3, "$ k"), (1.0, "$"))
                                 if max(abs(c) for c in costs) >= f or f == 1.0)
        tips = [f"{c:,.0f} {unit}: {money(v)}" + (f", {money(p.get('extra_cost_usd'))} more than the least-cost plan"
                                                  if p.get("extra_cost_usd") else " (the least-cost plan)")
                for c, v, p in zip(co2, costs, points)]
        chart = svg.line_chart(np.array(co2, dtype=float), [("cost", CAPITAL, np.array(costs, dtype=float) / scale)],
                               [], unit, money_unit, "least cost at each CO2 limit", dots=tips)
    rows = [[f"{p.get('co2_t', 0):,.0f}", money(p.get("cost_usd")), money(p.get("extra_cost_usd")),
             per_tonne(p.get("usd_per_t_avoided")), per_tonne(p.get("marginal_usd_per_t")),
             Html(_changes(p.get("changes") or [], i == 0, "the least CO2 any plan can have"))]
            for i, p in enumerate(points)]
    table = _table([f"CO2 ({unit})", f"cost ({cost_unit})", "more than the least-cost plan", "$ per t avoided",
                    "$ per t at the margin", "what changes from the point before"], rows, "rrrrrl")
    stops = "".join(f'<p class="no">{escape(str(w))}</p>' for w in pareto.get("notes") or [])
    return _section("pareto", "<p>The least cost at CO2 limits spaced evenly from the least CO2 any plan can have "
                    "to the CO2 of the least-cost plan (this plan, the last point): each point is planned again "
                    "under its limit. <i>At the margin</i>: what each tonne less costs from a point to the cleaner "
                    "one before it. Hover a point for its figures.</p>" + chart + table + stops)


def _changes(changes: list, first: bool, first_is: str = "the earliest: this plan") -> str:
    """A step's changes as a list: the first CHANGES_SHOWN, the rest (two or more) folded behind "…and N more"."""
    if first:
        return f"<small>{escape(first_is)}</small>"
    if not changes:
        return "<small>no change in the decisions</small>"
    items = [f"<li>{escape(str(c))}</li>" for c in changes]
    if len(items) <= CHANGES_SHOWN + 1:  # folding away a single one would save nothing
        return '<ul class="changes">' + "".join(items) + "</ul>"
    shown, rest = '<ul class="changes">' + "".join(items[:CHANGES_SHOWN]) + "</ul>", len(items) - CHANGES_SHOWN
    return (shown + f"<details><summary>…and {rest} more</summary>"
            f'<ul class="changes">{"".join(items[CHANGES_SHOWN:])}</ul></details>')


def _capacity_rows(site: dict) -> list[tuple[str, float, str]]:
    """(source, MW, detail) of each thing a site has, or could have built, to meet its load."""
    c = site["capacity"]
    rows = []
    if "grid_limit_mw" in c:
        rows.append(("grid", c.get("grid_peak_import_mw") or 0.0, f"peak import; limit {fixed(c['grid_limit_mw'])} MW"))
    for kind, (units, new) in gas_units(c).items():
        rows.append((f"gas_{kind}", c.get(gas_key(kind, "mw")) or 0.0, f"{fixed(units)} units, {fixed(new)} new"))
    for tech in ("solar", "wind"):
        if f"{tech}_mw" in c:
            rows.append((tech, c[f"{tech}_mw"] or 0.0, ""))
    if "battery_mw" in c:
        rows.append(("battery", c["battery_mw"] or 0.0, f"{fixed(c.get('battery_mwh'))} MWh"))
    return rows


def _capacity(folder: PlanFolder, colours: dict[str, str]) -> str:
    cap_rows, energy_rows, rows, classes, present = [], [], [], [], set()
    for name, site in folder.plan["sites"].items():
        capacity = {k: (mw, detail) for k, mw, detail in _capacity_rows(site)}
        energy = {source_key(k): v or 0.0 for k, v in site["energy_mwh_per_year"].items() if k != "battery_charge"}
        stored = source_key("battery_discharge")  # re-delivers energy a source made: no share of its own
        total = sum(v for k, v in energy.items() if k != stored)
        for key in sorted(set(capacity) | set(energy), key=lambda k: (source_rank(k), k)):
            mw, detail = capacity.get(key, (None, ""))
            mwh = energy.get(key)
            rows.append([name, source_label(key), fixed(mw, 1), Html(f"<small>{escape(detail)}</small>"),
                         fixed(None if mwh is None else mwh / 1e3, 1),
                         f"{mwh / total:.1%}" if mwh is not None and total and key != stored else ""])
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


def _year(folder: PlanFolder, years: dict[str, Year], colours: dict[str, str], links: _DataLinks) -> str:
    parts = []
    for name, year in years.items():
        if not len(year.hour):
            continue
        site = folder.plan["sites"][name]
        running = _gas_running(site) if not folder.timeline else None  # a build-out's prices escalate
        parts.append(f"<h3>{escape(name)}: {escape(year.label)}</h3>" + _heatmaps(year, colours)
                     + _monthly(year, colours, running, not folder.timeline)
                     + _durations(year, site, colours, merit(site, year) if not folder.timeline else None))
    if not parts:
        return ""
    typical = any(y.typical for y in years.values())
    note = (" This plan was solved on typical days, and the folder does not record which calendar days "
            "each stands for: these views show the typical days themselves, in calendar order, each with "
            "the number of days it stands for (×N d), and group energy by typical day, not by month."
            if typical else "")
    return _section("year", f"<p>Every step of {links('dispatch.csv')}, weighted by the hours each stands "
                    f"for.{escape(note)}</p>" + "".join(parts))


def _gas_running(site: dict) -> float | None:
    """The site's gas fuel and variable O&M per MWh of gas (plan.yaml gives them for all its
    units together)."""
    gas = next((c for c in source_costs(site) if c.source == "gas"), None)
    return gas.per_mwh(gas.running_usd) if gas else None


def _day_name(year: Year, i: int, sep: str = " ") -> str:
    return f"{year.days[i]}{sep}×{year.day_weight[i]:.0f} d" if year.typical else year.days[i]


def _heatmaps(year: Year, colours: dict[str, str]) -> str:
    """A heat map per source by day and hour: when in the year and the day each one runs."""
    n = len(year.days)
    if year.typical:
        every = -(-n // 16)  # a label per column, or per few when there are many
        columns = [(i, _day_name(year, i, "\n")) for i in range(0, n, every)]
    else:
        columns = [(int(np.argmax(MONTH_OF_DAY == m)), MONTHS[m]) for m in range(12)]
    out, unused = [], []
    for column, mw in year.supply.items():
        if float(np.sum(year.weight_h * mw)) <= 0.5:
            unused.append(source_label(column))
            continue
        cells = year.by_day(mw)
        energy = year.energy_mwh(mw, year.day, n) / year.day_weight
        peak = np.where(np.isnan(cells), -np.inf, cells).max(axis=1)
        titles = [f"{_day_name(year, i)}: {energy[i]:,.0f} MWh in the day, peak {peak[i]:,.1f} MW"
                  if np.isfinite(peak[i]) else f"{_day_name(year, i)}: no data" for i in range(n)]
        label = "grid import" if column == "grid_mw" else source_label(column)
        out.append(f'<p class="ct">{escape(label)} (MW)</p>'
                   + svg.heatmap(cells, colours[source_key(column)], columns, titles, "MW",
                                 f"{label} by hour of the day and day of the year", not year.typical))
    none = f"<p>No energy from {escape(', '.join(unused))}.</p>" if unused else ""
    return ("<p>By hour of the day (down) and day of the year (across); hover a day for its energy and "
            "peak.</p>" + "".join(out) + none)


def _monthly(year: Year, colours: dict[str, str], gas_running: float | None, with_cost: bool) -> str:
    """Energy by source in each month (each typical day), and ``with_cost`` what the energy
    bought or burnt costs: the grid's at its hourly price, gas's at the site's fuel and variable
    O&M per MWh (a build-out's prices escalate by period, which dispatch.csv does not show)."""
    labels, group = year.groups()
    if year.typical:
        labels = [_day_name(year, i) for i in range(len(labels))]
    n = len(labels)
    energy = {c: year.energy_mwh(mw, group, n) for c, mw in year.supply.items()
              if float(np.sum(year.weight_h * mw)) > 0.5}
    what = "typical day" if year.typical else "month"
    bars = [(labels[i], [(source_label(c), colours[source_key(c)], e[i])
                         for c, e in energy.items() if e[i] > 0.5]) for i in range(n)]
    cost: list[tuple[str, str, np.ndarray]] = []  # (what, colour, $ per group)
    if with_cost and year.price is not None and "grid_mw" in year.supply:
        cost.append(("grid energy at its hourly price", colours["grid"],
                     year.energy_mwh(year.price * year.supply["grid_mw"], group, n)))
    gas = sum((e for c, e in energy.items() if c.startswith("gas_")), np.zeros(n))
    if gas_running is not None and gas.any():
        cost.append((f"gas fuel and variable O&M at ${gas_running:,.2f}/MWh", colours["gas"],
                     gas * gas_running))
    total = sum(energy.values(), np.zeros(n))
    cost_total = sum((c for *_, c in cost), np.zeros(n))
    head = [what, *(f"{source_label(c)} MWh" for c in energy), "total MWh", *(["energy cost"] if cost else [])]
    rows = [[labels[i], *(fixed(e[i]) for e in energy.values()), fixed(total[i]),
             *([money(cost_total[i])] if cost else [])] for i in range(n)]
    rows.append([Html("<b>year</b>"), *(fixed(e.sum()) for e in energy.values()), fixed(total.sum()),
                 *([money(cost_total.sum())] if cost else [])])
    out = (f'<p class="ct">Energy by source in each {what} (MWh)</p>'
           + _legend([(source_label(c), colours[source_key(c)]) for c in energy])
           + svg.hbars(bars, lambda v: f"{v:,.0f} MWh", f"energy by source in each {what}"))
    if cost:
        out += (f'<p class="ct">Energy cost in each {what}</p><p>What the energy bought or burnt costs: '
                "capital, fixed O&amp;M and demand charges are yearly and left out; gas is at the year's "
                "average per MWh of all its units.</p>" + _legend([(k, c) for k, c, _ in cost])
                + svg.hbars([(labels[i], [(k, c, v[i]) for k, c, v in cost if v[i] >= 0.5]) for i in range(n)],
                            money, f"energy cost in each {what}"))
    elif not with_cost:
        out += (f"<p>The energy cost by {what} is left out for a build-out: its prices escalate by period; "
                "the per-period table above has its operating cost.</p>")
    return out + _table(head, rows)


def _curve(values: np.ndarray, weight_h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A duration curve as points to draw: a step per value, or at most CURVE_POINTS samples."""
    level, hours = duration_curve(values, weight_h)
    end = np.cumsum(hours)
    if 2 * len(level) <= CURVE_POINTS:
        return np.column_stack([end - hours, end]).ravel(), np.repeat(level, 2)
    t = np.linspace(0.0, end[-1], CURVE_POINTS)
    return t, level[np.minimum(np.searchsorted(end, t, side="right"), len(level) - 1)]


def _durations(year: Year, site: dict, colours: dict[str, str], weighed: Merit | None) -> str:
    """The load, and the grid's price, sorted from the highest: how many hours of the year each
    stays above a level; with the grid's limit, and gas's running cost (``weighed``; with the
    plan's carbon price on both where it has one, as the plan weighed them), to read them against."""
    w = year.weight_h
    limit = site["capacity"].get("grid_limit_mw")
    hlines = [("grid import limit", limit)] if isinstance(limit, (int, float)) and limit > 0 else []
    t, v = _curve(year.load, w)
    out = (f'<p class="ct">Load duration curve</p><p>Facility load: peak {year.load.max():,.1f} MW, '
           f"mean {np.sum(w * year.load) / w.sum():,.1f} MW, {np.sum(w * year.load):,.0f} MWh in the year"
           f"{f'; the dotted line is the grid import limit, {limit:,.0f} MW' if hlines else ''}.</p>"
           + svg.line_chart(t, [("facility load", LOAD, v)], hlines, "h", "MW", "load duration curve"))
    if year.price is None:
        return out
    over = "the typical days' hours, as they weigh in the year" if year.typical else "the year's hours"
    text = (f"Hourly grid energy price: ${year.price.min():,.2f} to ${year.price.max():,.2f}/MWh, mean "
            f"${np.sum(w * year.price) / w.sum():,.2f}/MWh over {over}")
    price, label, gas_line = year.price, "grid energy price", []
    if weighed is not None:
        carbon = f" with CO2 at ${weighed.carbon_usd_per_t:,.2f}/t" if weighed.carbon_usd_per_t else ""
        price, label = weighed.grid_usd_per_mwh, "grid energy price" + (" and its CO2" if carbon else "")
        text += (f"; {'with its CO2, ' if carbon else ''}above gas's running cost{carbon} "
                 f"(${weighed.gas_usd_per_mwh:,.2f}/MWh, dotted) for "
                 f"{np.sum(w[price > weighed.gas_usd_per_mwh]):,.0f} h")
        gas_line = [("gas running cost" + (" and its CO2" if carbon else ""), weighed.gas_usd_per_mwh)]
    t, v = _curve(price, w)
    return out + (f'<p class="ct">Grid price duration curve</p><p>{text}.</p>'
                  + svg.line_chart(t, [(label, colours["grid"], v)], gas_line, "h", "$/MWh",
                                   "grid price duration curve"))


def _source_hint(sc: SourceCost, site: dict, year: Year, gas: SourceCost | None) -> str:
    """What the numbers show about why a source was used as much as it was, and no more.
    ``gas``: the site's gas, to weigh the grid against (None for a build-out, whose prices
    escalate by period while dispatch.csv has the site's own)."""
    w = year.weight_h
    hours = w.sum() or 1.0
    fixed = sc.cost_usd - sc.running_usd
    if sc.source == "grid":
        said = [f"peak import {sc.mw:,.1f} MW of a {sc.limit_mw:,.0f} MW limit"] if sc.limit_mw else []
        imported = year.supply["grid_mw"] > 1e-3 if "grid_mw" in year.supply else np.zeros(len(w), bool)
        said.append(f"imported in {np.sum(w[imported]) / hours:.0%} of hours")
        weighed = merit(site, year) if gas else None
        while_importing = []
        if weighed is not None:
            price, running = weighed.grid_usd_per_mwh, weighed.gas_usd_per_mwh
            carbon = f" (with CO2 at ${weighed.carbon_usd_per_t:,.2f}/t on both)" if weighed.carbon_usd_per_t else ""
            said.append(f"its price was above gas's running cost (${running:,.2f}/MWh){carbon} in "
                        f"{np.sum(w[price > running]) / hours:.0%} of hours")
            if imported.any():
                while_importing.append(f"its price was below that in {_share(w, imported, price < running)}")
        if gas and gas.mw > 0.05 and imported.any():
            output = sum((mw for c, mw in year.supply.items() if c.startswith("gas_")), np.zeros(len(w)))
            while_importing.append(f"the gas units ran at their full {gas.mw:,.1f} MW in "
                                   f"{_share(w, imported, output >= gas.mw * (1 - 1e-3))}")
        if while_importing:
            said.append("of the hours it imported, " + " and ".join(while_importing))
        if sc.cost_usd > 0 and fixed > 0.5:
            said.append(f"demand charges are {fixed / sc.cost_usd:.0%} of its cost")
        return "; ".join(said)
    if sc.mw <= 0.05 and sc.energy_mwh <= 0.5:
        return "not built"
    if sc.source == "battery":
        charged = site["energy_mwh_per_year"].get("battery_charge") or 0.0
        return (f"discharged {sc.energy_mwh:,.0f} of {charged:,.0f} MWh charged" if charged > 0.5
                else "built, never discharged")
    if sc.source == "unserved":
        return f"{sc.energy_mwh:,.0f} MWh a year not served"
    said = [f"capacity factor {sc.energy_mwh / (sc.mw * 8760):.0%}"] if sc.mw > 0.05 else []
    if sc.source == "gas":
        names = {k: k.removeprefix("gas_").replace("_", " ") for k in sc.kinds}
        if sum(v > 0.5 for v in sc.kinds.values()) > 1:
            said.append("of its energy " + ", ".join(f"{names[k]} {v / sc.energy_mwh:.0%}"
                                                    for k, v in sc.kinds.items() if v > 0.5))
        idle = [names[k] for k, v in sc.kinds.items() if v <= 0.5]
        if idle:
            said.append(f"no energy from {', '.join(idle)}")
    elif sc.running_usd <= 0.5:
        said.append("no fuel: its cost is capital and fixed O&M")
    return "; ".join(said)


def _share(weight_h: np.ndarray, among: np.ndarray, which: np.ndarray) -> str:
    """The share of the hours ``among`` that are also ``which``."""
    return f"{np.sum(weight_h[among & which]) / np.sum(weight_h[among]):.0%}"


def _source_table(folder: PlanFolder, years: dict[str, Year]) -> str:
    """Each source's cost per year over its energy: the price of a MWh from it, all in and at
    the margin, with a hint why it ran as much as it did."""
    several = len(folder.plan["sites"]) > 1
    rows = []
    for name, site in folder.plan["sites"].items():
        costs = source_costs(site)
        gas = None if folder.timeline else next((c for c in costs if c.source == "gas"), None)
        for sc in costs:
            mw = fixed(sc.mw, 1) + (" peak" if sc.source == "grid" else "")
            rows.append([*([name] if several else []), source_label(sc.source), mw, fixed(sc.energy_mwh),
                         money(sc.cost_usd),
                         fixed(sc.per_mwh(sc.cost_usd), 2, prefix="$"),
                         fixed(sc.per_mwh(sc.running_usd), 2, prefix="$"),
                         Html(f"<small>{escape(_source_hint(sc, site, years[name], gas))}</small>")])
    if not rows:
        return ""
    head = [*(["site"] if several else []), "source", "MW", "MWh/yr", "cost/yr", "$/MWh", "running $/MWh",
            "what the numbers show"]
    when = " (a build-out: its last period, at a yearly rate)" if folder.timeline else ""
    return ("<h3>Cost per MWh by source</h3><p>Each source's cost lines per year (capital, O&amp;M, fuel, "
            f"energy, demand charges) over the energy it gave{when}; <em>running</em> counts only what is "
            "paid per MWh (fuel, energy bought, variable O&amp;M). The battery's is per MWh discharged. GPUs, "
            "cooling and other lines belong to no source and are left out.</p>"
            + _table(head, rows, "l" * several + "l" + "r" * 5 + "l"))


def _costs(folder: PlanFolder, years: dict[str, Year]) -> str:
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
    rate = rate_of(folder)
    return _section("costs", "<p>Per year" + (f", at {escape(rate)}" if rate else "") + ": capital annualised at "
                    "the program's discount rate over each asset's life, plus a year of fuel, energy and O&amp;M"
                    + (" at that period's prices and season" if rate else "") + ".</p>" + chart + _table(head, rows)
                    + _source_table(folder, years))


def _emissions(folder: PlanFolder) -> str:
    plan, totals = folder.plan, folder.plan["totals"]
    rows = [[name, fixed(s["emissions_t_per_year"].get("co2")), fixed(s["emissions_t_per_year"].get("nox"), 1),
             fixed(s.get("water_m3_per_year"))] for name, s in plan["sites"].items()]
    water = [s.get("water_m3_per_year") for s in plan["sites"].values()]
    rows.append([Html("<b>total</b>"), fixed(totals.get("co2_t_per_year")), fixed(totals.get("nox_t_per_year"), 1),
                 fixed(sum(w for w in water if isinstance(w, (int, float))))])
    body = _table(["site", "CO2 t/yr", "NOx t/yr", "water m³/yr"], rows)
    caps = plan.get("caps") or []
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
            c.get("scope", ""), f"{sense} {figure(c.get('limit'))}" if in_force else "",
            figure(c.get("value")), figure(c.get("slack")),
            (Html('<span class="yes">yes</span>') if c.get("binding") else "no") if in_force else "not in force",
            Html(f"{escape(figure(c['shadow_price']))}<br><small>{unit}</small>") if c.get("shadow_price") else "-",
            Html(f"{escape(str(c.get('origin', '')))}<br><small>{escape(str(c.get('source', '')))}</small>{note}")])
        classes.append("" if in_force else "dim")
    table = _table(["cap", "scope", "limit", "value", "slack", "binds", "shadow price", "origin and source"],
                   cap_rows, "llrrrlrl", classes)
    return _section("emissions", body + "<h3>Caps</h3><p>Slack is how far each value is from its limit; the "
                    "shadow price is what relaxing the cap by one unit (0.01 for shares and PUE) would save "
                    "per year.</p>" + chart + table)


def _timeline(folder: PlanFolder, colours: dict[str, str], links: _DataLinks) -> str:
    tl = folder.timeline
    periods = tl["periods"]
    start, end = periods[0]["start"], periods[-1]["end"] + dt.timedelta(days=1)
    several = len({x["site"] for x in tl["orders"] + tl["bridges"]}) > 1
    rows, titles = [], []

    def row_label(item: dict) -> str:
        """'site · label ×quantity unit' on up to two lines, a long label cut after a word to
        keep the quantity in view; the whole of it is the row's tooltip."""
        site = f"{item['site']} · " if several else ""
        quantity = f"×{fixed(item.get('quantity'))} {item.get('unit', '')}".rstrip()
        titles.append(f"{site}{item['label']} {quantity}")
        return svg.fit(f"{site}{item['label']}", quantity)

    for o in sorted(tl["orders"], key=lambda o: (o["site"], o["order_date"], o["asset"])):
        what = f"{o['label']} ×{fixed(o.get('quantity'))} {o.get('unit', '')}".rstrip()
        colour = colours[_asset_key(o["asset"])]
        retired = f", retired {o['retire_date']}" if o.get("retire_date") else ""
        rows.append((row_label(o), [
            (o["order_date"], o["online_date"], colour, "lead",
             f"{what}: ordered {o['order_date']} ({o.get('order_period', '')}), online {o['online_date']}; "
             f"{money(o.get('capex_usd'))}" + (f"; {o['slack_months']:.1f} months of slack (order by "
                                               f"{o.get('latest_order_date')})" if "slack_months" in o else "")),
            (o["online_date"], min(o.get("retire_date") or end, end), colour, "online",
             f"{what}: online from {o['online_date']} ({o.get('online_period', '')}){retired}")]))
    for b in sorted(tl["bridges"], key=lambda b: (b["site"], b["start_date"])):
        what = f"{b['label']} ×{fixed(b.get('quantity'))} {b.get('unit', '')}".rstrip()
        rows.append((row_label(b), [
            (b["start_date"], b["end_date"] + dt.timedelta(days=1), colours[_asset_key(b["asset"])], "rented",
             f"{what}: rented {b['start_date']} to {b['end_date']}; {money(b.get('cost_usd'))}")]))
    gantt = ("<p>Each order is pale from the day it is ordered to the day it comes online (its lead time), "
             "then solid while it serves; rented bridges are dashed. Hover a bar for its dates and cost.</p>"
             + svg.gantt(rows, start, end, "orders and bridges over the build-out", titles)) if rows else \
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
    stock = [sum(sum(m.values()) for m in (p.get("gpus_in_stock") or {}).values()) for p in periods]
    held = ["GPUs in stock"] if any(stock) else []  # delivered, not running
    table = _table(["period", "target", "compute online", *held, "capital", "operating", "rental", "CO2 t"], [
        [p["name"], fixed(p.get("target")), fixed(p.get("compute_online")), *([fixed(n)] if held else []),
         *(money((p.get("spend_usd") or {}).get(k)) for k in ("capital", "operating", "rental")),
         fixed(p.get("co2_t"))] for p, n in zip(periods, stock)])
    totals = tl.get("totals") or {}
    intro = (f"{len(periods)} {tl.get('period_length', 'period')}s from {start}; cash flows discounted to "
             f"{tl.get('base_date', start)}: NPV {money(totals.get('npv_cost_usd'))}, "
             f"{fixed(totals.get('cost_per_gpu_hour_usd'), 2, prefix='$')} per GPU-hour. Spend is nominal.")
    return _section("timeline", f"<p>{escape(intro)} {links('timeline.csv')} has each asset's orders, "
                    "capacity online and capital per period.</p><h3>Orders and bridges</h3>" + gantt
                    + "<h3>Capacity online (MW)</h3>" + capacity + "<h3>Per period</h3>" + table
                    + _cash_flow(tl))


def _cash_flow(timeline: dict) -> str:
    """Spend by calendar year: the capital of the orders placed in it, and the operating and
    rental cost of its periods, with the capital its periods pay beside it in the table."""
    years = cash_flow_by_year(timeline)
    segments = (("ordered", "capital (orders placed)", CAPITAL), ("operating", "operating", OPERATING),
                ("rental", "rental", FAMILIES["rent"]))
    bars = [(str(y), [(name, colour, row[key]) for key, name, colour in segments if row[key]])
            for y, row in years.items()]
    table = _table(["year", "capital (orders placed)", "capital paid", "operating", "rental",
                    "orders + operating + rental"],
                   [[str(y), money(r["ordered"]), money(r["paid"]), money(r["operating"]), money(r["rental"]),
                     money(r["ordered"] + r["operating"] + r["rental"])] for y, r in years.items()])
    return ("<h3>Cash flow by year</h3><p>Capital counts in the year its order is placed; the plan pays it "
            "partly then and the rest on delivery (<em>capital paid</em>, by period). Operating and rental "
            "costs are those of the year's periods, nominal.</p>"
            + _legend([(name, colour) for _, name, colour in segments])
            + svg.hbars(bars, money, "spend by calendar year") + table)


def _smoothing(folder: PlanFolder) -> str:
    sm, s = folder.smoothing, folder.schedule
    limits, before, after = sm["limits"], sm["before"], sm.get("after") or {}
    limit_of = {v: k for k, v in MEASURE_OF_LIMIT.items()}
    rows = []
    for key, label, unit in SMOOTHING_ROWS:
        limit = _minute_limit(limits, key) if key.endswith("_per_min") else limits.get(limit_of.get(key, ""))
        bound = "" if limit is None else ("≥ " if key == "min_mw" else "≤ ") + fixed(limit, 2)
        rows.append([f"{label} ({unit})", bound, fixed(before.get(key), 2), fixed(after.get(key), 2)])
    mask = limits.get("spectral_mask_max_amplitude_mw") or {}
    for band, most in mask.items():  # the spectral mask: each band's largest amplitude, by FFT
        rows.append([f"amplitude {band} (MW)", "≤ " + fixed(most, 2), fixed((before.get("spectral_amplitude_mw") or {}).get(band), 2),
                     fixed((after.get("spectral_amplitude_mw") or {}).get(band), 2)])
    window_s = limits.get("swing_window_s") or 5.0
    window = representative_window(s["raw_load_mw"], float(np.median(np.diff(s["time_s"]))), window_s)
    bands = [(k.replace("_", " "), limits[k]) for k in ("band_min_mw", "band_max_mw") if limits.get(k) is not None]
    chart = svg.line_chart(s["time_s"][window], [("before: the job's load", BEFORE, s["raw_load_mw"][window]),
                                                  ("after: what the grid sees", AFTER, s["grid_mw"][window])],
                           bands, "s", "MW", "training power before and after smoothing")
    w = sm["workload"]
    overhead = sm.get("energy_overhead_fraction")
    intro = (f"Training job {w.get('name')} ({w.get('source', '')}): {fixed(w.get('gpus'))} × {w.get('gpu')}, "
             f"{fixed(w.get('duration_s'))} s; {sm.get('status')}; energy overhead "
             f"{f'{overhead:.2%}' if isinstance(overhead, (int, float)) else '-'} of the job's energy. "
             "The costs below are the job's own; the plan carries their non-energy part as its smoothing "
             "cost line" + (", scaled in each period by the GPUs then in use." if folder.timeline else "."))
    costs = [[k.replace("_", " "), money(v)] for k, v in (sm.get("costs_usd_per_year") or {}).items()
             if isinstance(v, (int, float)) and abs(v) >= 0.5]
    return _section("smoothing", f"<p>{escape(intro)}</p>"
                    + _table(["what the grid sees", "limit", "before", "after"], rows)
                    + f"<h3>Around the worst swing, before and after (limits over any {escape(fixed(window_s, 1))} s)</h3>"
                    + _legend([("before: the job's load", BEFORE), ("after: what the grid sees", AFTER)])
                    + chart + _table(["cost per year", ""], costs + [[Html("<b>total</b>"),
                                                                     money(sm.get("total_cost_usd_per_year"))]]))


def _minute_limit(limits: dict, key: str) -> float | None:
    """The ramp per minute in force (MW/min): the tighter of the MW/min limit and the %/min of
    ``capacity_mw``, as :meth:`dcplan.schema.smoothing.Limits.minute_ramp` reads them."""
    try:
        found = Limits.model_validate({k: v for k, v in limits.items() if k in Limits.model_fields}).minute_ramp(
            "up" if key.startswith("ramp_up") else "down")
    except ValueError:  # a hand-edited smoothing.yaml: show what it says
        found = None
    return found[0] if found else limits.get(key)


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
        name = f"<code>{escape(display_path(f.path))}</code>{note}"
        blocks.append(f"<details><summary>{name}</summary><pre>{escape(f.text)}</pre></details>" if f.text is not None
                      else f"<p>{name}</p>")
    return _section("inputs", "<p>The files this plan was made from; open one to read it (data files, such as "
                    "CSVs, are listed with their state, not shown).</p>" + "".join(blocks))
