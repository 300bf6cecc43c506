"""`dcplan diff OLD NEW`: what changed between two plans, in words a reviewer reads.

Each side is a plan.yaml, a plan folder, or a folder of plan folders (``plans/``), on disk or at a
git revision as ``REV:PATH`` (read with ``git show``; PATH from the repository root, or ``./PATH``
from the current folder). In folders of plans, plans are matched by their folder's name (two
plans of one program, a scenario's and the base's, are two plans); two single plans are
compared whatever their names. Reported: GPUs by site and model,
MW and MWh by source, energy by source, cost lines, emissions, caps (limit, value, binding),
the limits that bind at each site, and a build-out's orders and rentals. Output is text for a
terminal or Markdown for a pull-request comment.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from dcplan.errors import InputError, Problem
from dcplan.formatting import amount, money, quantity
from dcplan.plans.files import FiguredPlan, note_recorded_inputs, read_plan_yaml

PLAN_FILE = "plan.yaml"
TOTALS = [("gpus", "GPUs", ""), ("compute_delivered", "compute delivered", ""), ("it_mw", "IT load", "MW"), ("pue", "PUE", ""),
          ("total_cost_usd_per_year", "cost", "USD/yr"), ("cost_usd_per_gpu_hour", "cost per GPU-hour", "USD"),
          ("power_cost_usd_per_mwh", "power cost", "USD/MWh"), ("co2_t_per_year", "CO2", "t/yr"),
          ("nox_t_per_year", "NOx", "t/yr")]
CAPACITY_UNITS = (("_mwh", "MWh"), ("_mw", "MW"), ("_units", "units"))


@dataclass(frozen=True)
class Change:
    section: str  # GPUs, capacity, energy, cost, emissions, caps, binding, orders, rentals, totals, studies
    item: str
    old: object  # None: added
    new: object  # None: removed
    unit: str = ""


@dataclass
class PlanSet:
    """The plans one side of a diff names: by folder name in a folder of plans, else by program."""

    label: str
    plans: dict[str, dict] = field(default_factory=dict)


# --- reading -------------------------------------------------------------------------------

def _git_show(rev: str, path: str) -> str | None:
    """A file's text at a revision; None if the path is not there (or names a folder)."""
    if rev.startswith("-"):  # git would read it as an option (--output=FILE writes a file)
        raise InputError([Problem(f"{rev}:{path}", None, "", "a revision does not start with '-'")])
    try:
        out = subprocess.run(["git", "show", f"{rev}:{path}"], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise InputError([Problem(f"{rev}:{path}", None, "", "git is not installed")]) from None
    if out.returncode != 0:
        message = out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "git show failed"
        if "exists on disk, but not in" in message or "does not exist in" in message or "does not exist (" in message:
            return None
        raise InputError([Problem(f"{rev}:{path}", None, "", message)])
    return out.stdout


def _git_plans(rev: str, path: str) -> dict[str, tuple[str | None, str]]:
    """name shown -> (folder name in a folder of plans, else None; text) of the plan(s) at ``rev:path``."""
    label, at = f"{rev}:{path}", rev or "git's index"  # ':PATH' is the staged file
    if not rev and not path.strip("/"):  # git's answer is its usage text
        raise InputError([Problem(label, None, "", "a git revision is written REV:PATH, e.g. HEAD~1:plans")])
    if path.endswith((".yaml", ".yml")):
        text = _git_show(rev, path)
        if text is None:
            raise InputError([Problem(label, None, "", f"no such file at {at}")])
        return {label: (None, text)}
    folder = path.rstrip("/")
    inside = f"{folder}/" if folder else ""  # REV: is the repository's top: ':/x' is a search of git's
    text = _git_show(rev, f"{inside}{PLAN_FILE}")
    if text is not None:
        return {label: (None, text)}
    listing = _git_show(rev, folder) if rev else None  # the index holds files: it lists no folder
    if listing is None or not listing.startswith("tree "):
        hint = " (git's index lists no folder: name a plan's folder or plan.yaml, or a revision such as HEAD:PATH)" \
            if not rev else ""
        raise InputError([Problem(label, None, "", f"no plan.yaml or folder of plans at {at}{hint}")])
    found = {}
    for entry in listing.splitlines()[2:]:
        if entry.endswith("/"):
            text = _git_show(rev, f"{inside}{entry}{PLAN_FILE}")
            if text is not None:
                found[f"{rev}:{inside}{entry}{PLAN_FILE}"] = (entry.rstrip("/"), text)
    return found


def _disk_plans(path: Path) -> list[tuple[str | None, Path]]:
    """(folder name in a folder of plans, else None; plan.yaml) of the plan(s) at ``path``."""
    if path.is_file():
        return [(None, path)]
    if (path / PLAN_FILE).is_file():
        return [(None, path / PLAN_FILE)]
    return sorted((p.name, p / PLAN_FILE) for p in path.iterdir() if (p / PLAN_FILE).is_file())


def load_plans(ref: str) -> PlanSet:
    """The plans named by ``ref``: a path, or ``REV:PATH`` in git."""
    path = Path(ref)
    if path.exists():
        found = _disk_plans(path)
        for _, plan_yaml in found:  # `diff -o` is not written over what they were made from
            note_recorded_inputs(plan_yaml.parent)
        docs = [(key, read_plan_yaml(f, shape=FiguredPlan)[0]) for key, f in found]
    elif ":" in ref:
        rev, _, inner = ref.partition(":")
        docs = [(key, read_plan_yaml(text=text, name=where, shape=FiguredPlan)[0])
                for where, (key, text) in _git_plans(rev, inner).items()]
    else:
        raise InputError([Problem(ref, None, "", "no such file or folder (a git revision is written REV:PATH)")])
    plans = PlanSet(ref)
    for key, doc in docs:
        plans.plans[key or str(doc.data["program"])] = doc.data
    if not plans.plans:
        raise InputError([Problem(ref, None, "", "no plan.yaml found")])
    return plans


# --- comparing -----------------------------------------------------------------------------

def _unit(key: str) -> str:
    return next((unit for suffix, unit in CAPACITY_UNITS if key.endswith(suffix)), "")


def _mapping(changes: list[Change], section: str, prefix: str, old: dict, new: dict, unit=None) -> None:
    for key in sorted(set(old) | set(new), key=str):
        a, b = old.get(key), new.get(key)
        if a != b and not {a, b} <= {None, 0}:  # a zero where the other plan lists nothing is no change
            changes.append(Change(section, f"{prefix}{key}", a, b, unit if unit is not None else _unit(str(key))))


def _caps(changes: list[Change], old: list, new: list) -> None:
    def by_key(caps):
        return {f"{c.get('name')} ({c.get('scope')})": c for c in caps or []}

    a, b = by_key(old), by_key(new)
    for key in sorted(set(a) | set(b)):
        ca, cb = a.get(key), b.get(key)
        if ca is None or cb is None:
            changes.append(Change("caps", key, _cap_text(ca), _cap_text(cb)))
            continue
        for name, label in (("limit", "limit"), ("value", "value"), ("binding", "binding")):
            if ca.get(name) != cb.get(name):
                changes.append(Change("caps", f"{key} {label}", ca.get(name), cb.get(name)))


def _cap_text(cap: dict | None) -> str | None:
    if cap is None:
        return None
    return f"{cap.get('sense')} {cap.get('limit')}, value {cap.get('value')}" + (", binding" if cap.get("binding") else "")


VERBS = {"orders": "ordered", "rentals": "rented from"}


def _timeline(changes: list[Change], old: dict | None, new: dict | None) -> None:
    old, new = old or {}, new or {}
    # a rental's quantity is its peak: its cost tells a longer or larger rental at the same peak
    for section, key_fields, shown in (("orders", ("site", "asset", "order_period"),
                                        ("quantity", "online_date", "capex_usd")),
                                       ("rentals", ("site", "asset", "start_period"),
                                        ("quantity", "end_date", "cost_usd"))):
        source = "orders" if section == "orders" else "bridges"

        def index(timeline):
            return {" ".join(str(x.get(k)) for k in key_fields): x for x in timeline.get(source) or []}

        a, b = index(old), index(new)
        for xa, xb in _moved(a, b, key_fields):  # the asset's line in another period: one change, not two
            del a[" ".join(str(xa.get(k)) for k in key_fields)], b[" ".join(str(xb.get(k)) for k in key_fields)]
            when = key_fields[-1]
            if xa.get("quantity") == xb.get("quantity"):
                what, before, after = f"({_line_text(xa, shown[:1])}) {VERBS[section]}", xa.get(when), xb.get(when)
            else:
                what, before, after = VERBS[section], *(f"{_line_text(x, shown[:1])} in {x.get(when)}" for x in (xa, xb))
            changes.append(Change(section, f"{xa.get('site')} {xa.get('asset')} {what}", before, after))
        for key in sorted(set(a) | set(b)):
            xa, xb = a.get(key), b.get(key)
            if xa is None or xb is None:
                changes.append(Change(section, key, _line_text(xa, shown), _line_text(xb, shown)))
                continue
            for name in shown:
                if xa.get(name) != xb.get(name):
                    changes.append(Change(section, f"{key} {name}", xa.get(name), xb.get(name), xb.get("unit", "")
                                          if name == "quantity" else ""))
    ot, nt = old.get("totals") or {}, new.get("totals") or {}
    for dollars in (True, False):  # NPV, capital, ... in dollars
        _mapping(changes, "totals", "build-out ", *({k: v for k, v in t.items() if k.endswith("_usd") == dollars}
                                                    for t in (ot, nt)), "USD" if dollars else "")


def _moved(a: dict, b: dict, key_fields) -> list[tuple[dict, dict]]:
    """Pairs of lines only one side has, of the same site and asset in other periods (an order
    placed a quarter later, or larger), matched in the order of their periods."""
    def unmatched(mine, other):
        by = {}
        for key, x in sorted(mine.items(), key=lambda kv: str(kv[1].get(key_fields[-1]))):
            if key not in other:
                by.setdefault((x.get("site"), x.get("asset")), []).append(x)
        return by
    gone, came = unmatched(a, b), unmatched(b, a)
    return [pair for what in sorted(gone.keys() & came.keys(), key=str) for pair in zip(gone[what], came[what])]


def _line_text(line: dict | None, shown) -> str | None:
    if line is None:
        return None
    q = line.get("quantity")
    text = amount(q, line.get("unit", "")) if isinstance(q, (int, float)) else str(q)
    return text.strip() + "".join(
        f", {name} {line.get(name)}" for name in shown[1:])


def diff_plan(old: dict, new: dict) -> list[Change]:
    """Every difference that matters to a reviewer between two plan.yaml documents."""
    changes: list[Change] = []
    ot, nt = old.get("totals") or {}, new.get("totals") or {}
    for key, label, unit in TOTALS:
        a = old.get(key) if key == "compute_delivered" else ot.get(key)
        b = new.get(key) if key == "compute_delivered" else nt.get(key)
        if a != b:
            changes.append(Change("totals", label, a, b, unit))
    before, after = ((doc.get("earliest") or {}).get("period") for doc in (old, new))
    if before != after:  # time to power: the question a build-out with an earliest goal answers
        changes.append(Change("totals", "time to power", before, after))
    for label, read in (("scenario", lambda doc: doc.get("scenario")),
                        ("time to power P50", lambda doc: _quantile(doc, "p50")),
                        ("time to power P90", lambda doc: _quantile(doc, "p90"))):
        if read(old) != read(new):
            changes.append(Change("totals", label, read(old), read(new)))
    for label, read in (("time-to-power curve", _curve), ("cost against CO2", _frontier)):
        if read(old) != read(new):
            changes.append(Change("studies", label, read(old), read(new)))
    osites, nsites = old.get("sites") or {}, new.get("sites") or {}
    for site in sorted(set(osites) | set(nsites)):
        a, b = osites.get(site) or {}, nsites.get(site) or {}
        _mapping(changes, "GPUs", f"{site} ", a.get("gpus") or {}, b.get("gpus") or {}, "GPUs")
        _mapping(changes, "GPUs", f"{site} cloud ", a.get("cloud_gpus") or {}, b.get("cloud_gpus") or {}, "GPUs")
        if a.get("cooling") != b.get("cooling"):
            changes.append(Change("capacity", f"{site} cooling", a.get("cooling"), b.get("cooling")))
        _mapping(changes, "capacity", f"{site} ", a.get("capacity") or {}, b.get("capacity") or {})
        _mapping(changes, "energy", f"{site} ", a.get("energy_mwh_per_year") or {}, b.get("energy_mwh_per_year") or {},
                 "MWh/yr")
        _mapping(changes, "emissions", f"{site} ", a.get("emissions_t_per_year") or {},
                 b.get("emissions_t_per_year") or {}, "t/yr")
        before, after = set(a.get("binding_limits") or []), set(b.get("binding_limits") or [])
        changes += [Change("binding", site, text, None) for text in sorted(before - after)]
        changes += [Change("binding", site, None, text) for text in sorted(after - before)]
    _mapping(changes, "cost", "", old.get("cost_breakdown_usd_per_year") or {},
             new.get("cost_breakdown_usd_per_year") or {}, "USD/yr")
    _caps(changes, old.get("caps"), new.get("caps"))
    if old.get("timeline") or new.get("timeline"):
        _timeline(changes, old.get("timeline"), new.get("timeline"))
    return changes


def _quantile(doc: dict, q: str) -> str | None:
    """An earliest period's P50 or P90 under the delays: the period, 'not in the horizon', or
    'undecided' (no answer in time)."""
    odds = (doc.get("earliest") or {}).get("odds")
    if not odds:
        return None
    if odds.get("undecided") and not odds.get("distribution"):
        return "undecided"
    return odds.get(q) or "not in the horizon"


def _curve(doc: dict) -> str | None:
    """The time-to-power curve as 'period NPV' points."""
    points = (doc.get("earliest") or {}).get("curve") or []
    return "; ".join(f"{p.get('period')} {money(p.get('npv_cost_usd') or 0)}" for p in points) or None


def _frontier(doc: dict) -> str | None:
    """The cost-against-CO2 points as 'CO2 t: cost'."""
    points = (doc.get("pareto") or {}).get("points") or []
    return "; ".join(f"{quantity(p.get('co2_t') or 0)} t: {money(p.get('cost_usd') or 0)}" for p in points) or None


DECISION_SECTIONS = ("GPUs", "capacity", "orders", "rentals")
"""What a trade-off curve (time to power, cost against CO2) names as changed from one point to
the next: the decisions, not their consequences."""


def decision_changes(old: dict, new: dict) -> list[str]:
    """The decisions that differ between two plan.yaml documents, in words ("capacity site
    solar_mw: +40 MW (+50.0%)")."""
    return [f"{c.section} {c.item}: " + (f"{c.old} → {c.new}" if isinstance(c.old, str) and isinstance(c.new, str)
                                          else format_change(c))
            for c in diff_plan(old, new) if c.section in DECISION_SECTIONS]


@dataclass
class PlanDiff:
    old: PlanSet
    new: PlanSet
    changed: dict[str, list[Change]]  # program -> changes (empty: the same)
    added: list[str]
    removed: list[str]

    @property
    def empty(self) -> bool:
        return not self.added and not self.removed and not any(self.changed.values())


def diff(old_ref: str, new_ref: str) -> PlanDiff:
    old, new = load_plans(old_ref), load_plans(new_ref)
    if len(old.plans) == 1 and len(new.plans) == 1:  # two single plans: compare them whatever their names
        (a_name, a), (b_name, b) = next(iter(old.plans.items())), next(iter(new.plans.items()))
        name = b_name if a_name == b_name else f"{a_name} → {b_name}"
        return PlanDiff(old, new, {name: diff_plan(a, b)}, [], [])
    common = sorted(set(old.plans) & set(new.plans))
    return PlanDiff(old, new, {n: diff_plan(old.plans[n], new.plans[n]) for n in common},
                    sorted(set(new.plans) - set(old.plans)), sorted(set(old.plans) - set(new.plans)))


# --- rendering -----------------------------------------------------------------------------

def format_value(value, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        x = float(value)
        text = quantity(x)
        if unit == "USD/yr":
            return f"${text}/yr"
        if unit == "USD":
            return money(x) if abs(x) >= 1e4 else f"${x:,.4g}"  # an NPV in $ B, a GPU-hour in cents
        return f"{text} {unit}".strip()
    return str(value)


def format_change(c: Change) -> str:
    a, b = c.old, c.new
    if a is None:
        return "added"
    if b is None:
        return "removed"
    if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
        return "changed"
    d = float(b) - float(a)
    pct = f" ({d / a:+.1%})" if a else ""
    sign = "+" if d >= 0 else "-"
    body = format_value(abs(d), c.unit)
    return f"{sign}{body}{pct}"


def _headline(changes: list[Change]) -> str:
    """GPUs, cost and CO2; a build-out's time to power and net present cost first (its yearly
    cost is its last period's)."""
    picks = {c.item: c for c in changes if c.section == "totals"}
    parts = [f"time to power {picks['time to power'].old or '-'} → {picks['time to power'].new or '-'}"] \
        if "time to power" in picks else []
    parts += [f"{label} {format_change(picks[key])}" for key, label in
              (("build-out npv_cost_usd", "NPV"), ("GPUs", "GPUs"), ("cost", "cost"), ("CO2", "CO2")) if key in picks]
    return ", ".join(parts) if parts else "no change in GPUs, cost or CO2"


def render_text(d: PlanDiff) -> str:
    lines = [f"dcplan diff {d.old.label} → {d.new.label}"]
    for name in d.added:
        lines.append(f"+ plan {name} (new)")
    for name in d.removed:
        lines.append(f"- plan {name} (removed)")
    for name, changes in d.changed.items():
        if not changes:
            lines.append(f"  plan {name}: no changes")
            continue
        lines.append(f"  plan {name}: {_headline(changes)}")
        width = max(len(c.item) for c in changes)
        for c in changes:
            lines.append(f"    {c.section:<9} {c.item:<{width}}  {format_value(c.old, c.unit)} → {format_value(c.new, c.unit)}  "
                         f"({format_change(c)})")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(d: PlanDiff) -> str:
    lines = [f"### dcplan diff: `{d.old.label}` → `{d.new.label}`", ""]
    if d.empty:
        return "\n".join(lines + ["No changes in the plans.", ""])
    for name in d.added:
        lines.append(f"- **{name}**: new plan")
    for name in d.removed:
        lines.append(f"- **{name}**: plan removed")
    for name, changes in d.changed.items():
        lines += ["", f"#### {name}: {_headline(changes)}" if changes else f"#### {name}: no changes", ""]
        if not changes:
            continue
        lines += ["| | what | old | new | change |", "|---|---|--:|--:|--:|"]
        for c in changes:
            lines.append(f"| {c.section} | {_cell(c.item)} | {_cell(format_value(c.old, c.unit))} | "
                         f"{_cell(format_value(c.new, c.unit))} | {_cell(format_change(c))} |")
    return "\n".join(lines) + "\n"


def render_json(d: PlanDiff) -> str:
    """The diff as JSON: each program's changes (old and new values, null where one side has
    none), and the programs added or removed."""
    doc = {"old": d.old.label, "new": d.new.label, "added": d.added, "removed": d.removed,
           "changed": {name: [dataclasses.asdict(c) for c in changes] for name, changes in d.changed.items()}}
    return json.dumps(doc, indent=2, default=str) + "\n"
