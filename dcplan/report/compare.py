"""Two plans' output folders side by side in one self-contained HTML file: their key figures
with the difference, every change `dcplan diff` finds, capacity, energy, costs and emissions
in paired bars, and for two single-period plans their load duration curves on one chart.

A is the plan compared against (the baseline), B the other; every difference is B − A."""

from __future__ import annotations

from html import escape

import numpy as np

import dcplan.report.svg as svg
from dcplan.errors import display_path, real_path
from dcplan.formatting import counted, figure, fixed, money
from dcplan.plans.diff import diff_plan, format_change, format_value
from dcplan.report.data import (
    PlanFolder,
    by_model,
    duration_curve,
    key_figures,
    source_key,
    source_label,
    source_rank,
    whole_year,
)
from dcplan.report.html import (
    AFTER,
    BEFORE,
    CSS,
    CURVE_POINTS,
    Html,
    _capacity_rows,
    _DataLinks,
    _legend,
    _section,
    _source_keys,
    _table,
    page,
    palette,
)

SIDE_COLOURS = {"A": BEFORE, "B": AFTER}  # where a chart shows the two plans, not a technology
LINKED = {"report.html": "its report", "plan.yaml": "the plan", "dispatch.csv": "every step"}
SAME = 1e-9  # a relative difference below this is no change (round-off)
COMPARE_CSS = ".side{font-weight:700;display:inline-block;min-width:1.4em}.kinds{color:#8a5a00}"

# Key figures with a difference: (name, value of a plan, format). The values shown are those of
# the single report (key_figures); the text-only figures (solution, caps, build-out) follow them.
_NUMBERS = [
    ("GPUs", lambda p: p["totals"].get("gpus"), lambda x: fixed(x)),
    ("compute", lambda p: p.get("compute_delivered") if isinstance(p.get("target"), dict) else None,
     lambda x: fixed(x)),
    ("IT load", lambda p: p["totals"].get("it_mw"), lambda x: fixed(x, 1, " MW")),
    ("cost per year", lambda p: p["totals"].get("total_cost_usd_per_year"), money),
    ("cost per GPU-hour", lambda p: p["totals"].get("cost_usd_per_gpu_hour"), lambda x: fixed(x, 3, prefix="$")),
    ("levelised cost", lambda p: p["totals"].get("levelised_cost_usd_per_mwh"), lambda x: fixed(x, 1, "/MWh", "$")),
    ("power cost", lambda p: p["totals"].get("power_cost_usd_per_mwh"), lambda x: fixed(x, 2, "/MWh", "$")),
    ("facility energy", lambda p: _scale(p["totals"].get("facility_energy_mwh_per_year"), 1e-3),
     lambda x: fixed(x, 1, " GWh/yr")),
    ("CO2", lambda p: p["totals"].get("co2_t_per_year"), lambda x: fixed(x, 0, " t/yr")),
    ("NOx", lambda p: p["totals"].get("nox_t_per_year"), lambda x: fixed(x, 1, " t/yr")),
    ("water", lambda p: _total(s.get("water_m3_per_year") for s in p["sites"].values()), lambda x: fixed(x, 0, " m³/yr")),
    ("NPV cost", lambda p: ((p.get("timeline") or {}).get("totals") or {}).get("npv_cost_usd"), money),
]


def _scale(x, factor: float):
    return x * factor if _is_number(x) else None


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _total(values) -> float | None:
    values = [v for v in values if _is_number(v)]
    return sum(values) if values else None


def plan_label(folder: PlanFolder) -> str:
    """A plan's name: its program, and its scenario when it has one."""
    plan = folder.plan
    return str(plan["program"]) + (f", scenario {plan['scenario']}" if plan.get("scenario") else "")


def _kind(folder: PlanFolder) -> str:
    return "a build-out" if folder.timeline else "a single-period plan"


def signed(d: float, form) -> str:
    """A difference with its sign, ``form`` writing its size: +$27.1 M, −150.4 MW."""
    if d == 0:
        return form(0.0)
    return ("+" if d > 0 else "−") + form(abs(d))


def _change(a, b, form) -> tuple[str, str]:
    """(B − A, as a share of A) for two numbers; '' for a missing one, 'same' for none."""
    if not (_is_number(a) and _is_number(b)):
        return "", ""
    d = float(b) - float(a)
    if abs(d) <= SAME * max(abs(a), abs(b), 1e-12):
        return "same", ""
    return signed(d, form), (f"{d / abs(a):+.1%}".replace("-", "−") if a else "")


def render_comparison(a: PlanFolder, b: PlanFolder,
                      data_dirs: tuple[str | None, str | None] = (None, None)) -> str:
    """The comparison of plan ``a`` (the baseline) and plan ``b`` as one HTML document; each
    difference is B − A. ``data_dirs``: each folder's address relative to the page ('' for the
    page's own folder, else a path ending in '/'; None for none), to link its files."""
    labels = {"A": plan_label(a), "B": plan_label(b)}
    if labels["A"] == labels["B"] and real_path(a.path) != real_path(b.path):  # the same program twice: say which
        labels = {"A": f"{labels['A']} ({a.path.name})", "B": f"{labels['B']} ({b.path.name})"}
    same_kind = bool(a.timeline) == bool(b.timeline)
    single = not a.timeline and not b.timeline
    colours = palette(_source_keys(a) | _source_keys(b))
    left_out = ["each plan's week of dispatch and whole-year heat maps (open each plan's own report)"]
    if not single:
        left_out.insert(0, "the load duration curves (they need two single-period plans)")
    if a.timeline or b.timeline:
        left_out.insert(1, "the build-out's orders, bridges and cash flow by year (its own report has them)")
    parts = {"figures": _figures(a, b), "changes": _changes(a, b),
             "capacity": _capacity(a, b, colours), "costs": _costs(a, b), "emissions": _emissions(a, b),
             "load": _load(a, b) if single else ""}
    kinds = ("" if same_kind else
             f'<p class="kinds">A is {_kind(a)} and B {_kind(b)}: their yearly figures are not like for like; '
             "a build-out's capacity, energy, costs and emissions are those plan.yaml gives for it as a whole.</p>")
    title = f"dcplan comparison: {labels['A']} and {labels['B']}"
    sides = "".join(
        f'<p class=sub><span class="side">{side}</span>{escape(labels[side])} · {escape(_kind(f))} · '
        f"{escape(display_path(f.path))}{_links(f, where)}</p>"
        for side, f, where in (("A", a, data_dirs[0]), ("B", b, data_dirs[1])))
    return page(title, f"{sides}<p class=sub>A is the baseline: every difference is B − A, and its share is "
                f"of A.</p>{kinds}<p class=sub>Left out: {escape('; '.join(left_out))}.</p>", parts, CSS + COMPARE_CSS)


def _links(folder: PlanFolder, data_dir: str | None) -> str:
    links = _DataLinks(folder, data_dir, LINKED)
    return "" if data_dir is None else "".join(f" · {links(name)}" for name in links.present)


def _figures(a: PlanFolder, b: PlanFolder) -> str:
    rows = []
    for name, value, form in _NUMBERS:
        x, y = value(a.plan), value(b.plan)
        if x is None and y is None:
            continue
        d, share = _change(x, y, form)
        rows.append([name, form(x) if x is not None else "-", form(y) if y is not None else "-", d, share])
    shown = {name for name, *_ in _NUMBERS}
    fa = {k: (v, d) for k, v, d in key_figures(a) if k not in shown}
    fb = {k: (v, d) for k, v, d in key_figures(b) if k not in shown}

    def text(figure) -> Html | str:
        if figure is None:
            return "-"
        value, detail = figure
        return Html(escape(value) + (f"<br><small>{escape(detail)}</small>" if detail else ""))

    for name in list(fa) + [k for k in fb if k not in fa]:
        rows.append([name, text(fa.get(name)), text(fb.get(name)), "", ""])
    gpus = [Html(", ".join(f"{n:,} {m}" for m, n in by_model(f, "gpus").items() if n) or "-") for f in (a, b)]
    rows.insert(1, [Html("<small>by model</small>"), *gpus, "", ""])
    return _section("figures", _table(["figure", "A", "B", "B − A", "change"], rows, "lrrrr"))


def _changes(a: PlanFolder, b: PlanFolder) -> str:
    changes = diff_plan(a.plan, b.plan)
    if not changes:
        return _section("changes", "<p><b>No changes</b>: the two plans make the same decisions, with the same "
                        "totals, capacity, energy, costs, emissions and caps.</p>")
    rows = [[c.section, c.item, format_value(_unsigned_zero(c.old), c.unit), format_value(_unsigned_zero(c.new), c.unit),
             format_change(c).replace("-", "−")] for c in changes]
    sections = sorted({c.section for c in changes}, key=[c.section for c in changes].index)
    return _section("changes", f"<p>{counted(len(changes), 'change')} in "
                    f"{escape(', '.join(sections))}, as <code>dcplan diff</code> finds them (— where a plan has "
                    "none).</p>" + _table(["what", "item", "A", "B", "B − A"], rows, "llrrr"))


def _unsigned_zero(x):
    """-0.0 (solver round-off) as 0."""
    return 0.0 if _is_number(x) and x == 0 else x


def _amount(unit: str):
    """A formatter for a chart's values: whole numbers, one decimal under 10 (0.4 GWh, not 0 GWh)."""
    return lambda v: f"{v:,.{0 if abs(v) >= 10 or v == 0 else 1}f}{unit}"


def _by_source(folder: PlanFolder) -> tuple[dict[str, float], dict[str, float]]:
    """MW and MWh per year of each source, all sites together; the grid's MW is its peak import."""
    mw: dict[str, float] = {}
    mwh: dict[str, float] = {}
    for site in folder.plan["sites"].values():
        for key, value, _ in _capacity_rows(site):
            mw[key] = mw.get(key, 0.0) + (value or 0.0)
        for key, value in site["energy_mwh_per_year"].items():
            if key != "battery_charge":
                mwh[source_key(key)] = mwh.get(source_key(key), 0.0) + (value or 0.0)
    return mw, mwh


def _paired(keys: list[str], values: dict[str, tuple[float, float]], colours: dict[str, str],
            labels) -> list[tuple[str, list[tuple[str, str, float]]]]:
    """Two bars per key, A's then B's, in the key's colour."""
    rows = []
    for key in keys:
        for side, v in zip("AB", values[key]):
            rows.append((f"{labels(key)} · {side}", [(f"plan {side}", colours[key], v)]))
    return rows


def _capacity(a: PlanFolder, b: PlanFolder, colours: dict[str, str]) -> str:
    (mw_a, mwh_a), (mw_b, mwh_b) = _by_source(a), _by_source(b)
    keys = sorted({k for d in (mw_a, mw_b) for k, v in d.items() if v > 0.05}
                  | {k for d in (mwh_a, mwh_b) for k, v in d.items() if v > 0.5}, key=lambda k: (source_rank(k), k))
    if not keys:
        return _section("capacity", "<p>Neither plan has any capacity or energy by source.</p>")
    cap_keys = [k for k in keys if max(mw_a.get(k, 0.0), mw_b.get(k, 0.0)) > 0.05]
    energy_keys = [k for k in keys if max(mwh_a.get(k, 0.0), mwh_b.get(k, 0.0)) > 0.5]
    cap = {k: (mw_a.get(k, 0.0), mw_b.get(k, 0.0)) for k in keys}
    energy = {k: (mwh_a.get(k, 0.0) / 1e3, mwh_b.get(k, 0.0) / 1e3) for k in keys}
    rows = []
    for k in keys:
        (x, y), (e, f) = cap[k], energy[k]
        rows.append([source_label(k) + (" (peak import)" if k == "grid" else ""), fixed(x, 1), fixed(y, 1),
                     _change(x, y, lambda v: fixed(v, 1))[0], fixed(e, 1), fixed(f, 1),
                     _change(e, f, lambda v: fixed(v, 1))[0]])
    several = len(a.plan["sites"]) > 1 or len(b.plan["sites"]) > 1
    return _section("capacity", _legend([(source_label(k), colours[k]) for k in keys])
                    + "<p>Each source's bars: A's above, B's below, all sites together"
                    + (" (the table of each plan's own report has them site by site)" if several else "")
                    + "; the grid's capacity is its peak import.</p>"
                    + "<h3>Capacity (MW)</h3>"
                    + svg.hbars(_paired(cap_keys, cap, colours, source_label), _amount(" MW"),
                                "capacity by source, A and B", group=2)
                    + "<h3>Energy (GWh per year)</h3>"
                    + svg.hbars(_paired(energy_keys, energy, colours, source_label), _amount(" GWh"),
                                "energy by source, A and B", group=2)
                    + _table(["source", "A MW", "B MW", "B − A MW", "A GWh/yr", "B GWh/yr", "B − A GWh/yr"], rows))


def _costs(a: PlanFolder, b: PlanFolder) -> str:
    ca, cb = a.plan["cost_breakdown_usd_per_year"], b.plan["cost_breakdown_usd_per_year"]
    keys = sorted((k for k in set(ca) | set(cb) if max(abs(ca.get(k) or 0), abs(cb.get(k) or 0)) >= 0.5),
                  key=lambda k: -max(abs(ca.get(k) or 0), abs(cb.get(k) or 0)))
    colours = palette(keys)
    stacked = [(f"{side}", [(k.replace("_", " "), colours[k], c.get(k) or 0.0) for k in keys if abs(c.get(k) or 0) >= 0.5])
               for side, c in (("A", ca), ("B", cb))]
    deltas = [(k.replace("_", " "), [(k.replace("_", " "), colours[k], (cb.get(k) or 0.0) - (ca.get(k) or 0.0))])
              for k in keys if abs((cb.get(k) or 0.0) - (ca.get(k) or 0.0)) >= 0.5]
    if len(deltas) > 1:  # every change in one bar: rises rightwards, savings leftwards, the net at its end
        deltas.append(("net change", [segment for _, (segment,) in deltas]))
    ta, tb = a.plan["totals"].get("total_cost_usd_per_year"), b.plan["totals"].get("total_cost_usd_per_year")
    rows = [[k.replace("_", " "), money(ca.get(k)), money(cb.get(k)), *_change(ca.get(k) or 0.0, cb.get(k) or 0.0, money)]
            for k in keys]
    rows.append([Html("<b>total</b>"), money(ta), money(tb), *_change(ta, tb, money)])
    change = (svg.hbars(deltas, lambda v: signed(v, money), "change in annualised cost by component, B − A")
              if deltas else "<p>No cost line changed.</p>")
    return _section("costs", "<p>Per year: capital annualised over each asset's life, plus a year of fuel, "
                    "energy and O&amp;M, as in each plan's report.</p>"
                    + _legend([(k.replace("_", " "), colours[k]) for k in keys])
                    + "<h3>Annualised cost by component</h3>"
                    + svg.hbars(stacked, money, "annualised cost by component, A and B")
                    + "<h3>What changed, B − A</h3>"
                    + ("<p>The last bar adds the changes up: rises to the right, savings to the left, the net "
                       "change at its end.</p>" if len(deltas) > 1 else "") + change
                    + _table(["component", "A", "B", "B − A", "change"], rows))


def _emissions(a: PlanFolder, b: PlanFolder) -> str:
    def site_sum(folder: PlanFolder, key: str):
        return _total(s["emissions_t_per_year"].get(key) for s in folder.plan["sites"].values())

    measures = [("CO2", "t/yr", lambda f: f.plan["totals"].get("co2_t_per_year"), 0),
                ("NOx", "t/yr", lambda f: f.plan["totals"].get("nox_t_per_year"), 1),
                ("water", "m³/yr", lambda f: _total(s.get("water_m3_per_year") for s in f.plan["sites"].values()), 0)]
    rows, charts = [], []
    for name, unit, value, digits in measures:
        x, y = value(a), value(b)
        x = x if x is not None else site_sum(a, name.lower()) if name != "water" else None
        y = y if y is not None else site_sum(b, name.lower()) if name != "water" else None
        rows.append([f"{name} {unit}", fixed(x, digits), fixed(y, digits), *_change(x, y, lambda v, d=digits: fixed(v, d))])
        if name != "water" and (_is_number(x) or _is_number(y)):
            charts.append(f'<p class="ct">{name} ({unit})</p>' + svg.hbars(
                [(side, [(f"plan {side}", SIDE_COLOURS[side], v if _is_number(v) else 0.0)])
                 for side, v in (("A", x), ("B", y))],
                _amount(""), f"{name} per year, A and B"))
    body = (_legend([("A", SIDE_COLOURS["A"]), ("B", SIDE_COLOURS["B"])]) + "".join(charts)
            + _table(["per year", "A", "B", "B − A", "change"], rows) + _caps(a, b))
    return _section("emissions", body)


def _caps(a: PlanFolder, b: PlanFolder) -> str:
    def by_key(folder: PlanFolder) -> dict[str, dict]:
        return {f"{c.get('name')} · {c.get('scope', '')}": c for c in folder.plan.get("caps") or [] if isinstance(c, dict)}

    ca, cb = by_key(a), by_key(b)
    if not ca and not cb:
        return "<p>No caps apply to either plan.</p>"

    def state(cap: dict | None) -> list:
        if cap is None:
            return ["-", "-", "not in this plan"]
        if not cap.get("in_force", True):
            return ["", figure(cap.get("value")), "not in force"]
        sense = "≥" if cap.get("sense") == "min" else "≤"
        return [f"{sense} {figure(cap.get('limit'))}", figure(cap.get("value")),
                Html('<span class="yes">binds</span>') if cap.get("binding") else "slack"]

    rows = [[key, *state(ca.get(key)), *state(cb.get(key))] for key in list(ca) + [k for k in cb if k not in ca]]
    return ("<h3>Caps</h3>" + _table(["cap · scope", "A limit", "A value", "A", "B limit", "B value", "B"], rows,
                                     "lrrlrrl"))


def _load(a: PlanFolder, b: PlanFolder) -> str:
    """The facility load of each plan, all sites together, sorted from the highest: two single-period
    plans' duration curves on one chart."""
    curves, said = [], []  # said: (peak, mean, MWh a year) of each
    for side, folder in (("A", a), ("B", b)):
        years = [whole_year(folder, name) for name in folder.plan["sites"]]
        if not years or any(len(y.hour) != len(years[0].hour) or np.any(y.hour != years[0].hour) for y in years):
            return _section("load", "<p>Left out: the sites of a plan have different time steps.</p>")
        load, weight = sum((y.load for y in years), np.zeros(len(years[0].hour))), years[0].weight_h
        if not len(load):
            return _section("load", "<p>Left out: a plan has no time steps.</p>")
        curves.append((side, *duration_curve(load, weight)))
        said.append((float(load.max()), float(np.sum(weight * load) / weight.sum()), float(np.sum(weight * load))))
    end = max(float(np.sum(h)) for _, _, h in curves)
    t = np.linspace(0.0, end, CURVE_POINTS)
    series = []
    for (side, level, hours), width in zip(curves, (5.0, 1.6)):  # A wide and pale under B
        edge = np.cumsum(hours)
        series.append((f"plan {side}", SIDE_COLOURS[side],
                       level[np.minimum(np.searchsorted(edge, t, side="right"), len(level) - 1)], width))
    same = np.allclose(series[0][2], series[1][2], rtol=1e-6, atol=1e-6)
    note = " The two plans have the same load: B's line runs inside A's." if same else ""
    rows = [[name, *(form(s[i]) for s in said), _change(said[0][i], said[1][i], form)[0]]
            for i, (name, form) in enumerate((("peak MW", lambda v: fixed(v, 1)), ("mean MW", lambda v: fixed(v, 1)),
                                              ("MWh a year", lambda v: fixed(v))))]
    return _section("load", "<p>The facility load of all sites together, sorted from the highest: how many "
                    f"hours of the year it stays above each level; A's line is the wide pale one.{note}</p>"
                    + _legend([("A", SIDE_COLOURS["A"]), ("B", SIDE_COLOURS["B"])])
                    + svg.line_chart(t, series, [], "h", "MW", "load duration curves, A and B")
                    + _table(["facility load", "A", "B", "B − A"], rows))
