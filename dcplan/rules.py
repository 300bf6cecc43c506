"""Caps from every place they can come from — rule presets, the program, each site — resolved
into the groups of sites each one binds.

Program caps replace preset caps of the same name (how a user tightens or relaxes a preset);
site caps bind their own site. A cap out of force on the plan's start date is kept for the
record but not applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from dcplan.errors import Problem, did_you_mean, refuse
from dcplan.schema.caps import Cap, Preset
from dcplan.yamlio import YamlDocument, load_packaged


@dataclass(frozen=True)
class ResolvedCap:
    cap: Cap
    origin: str  # where it comes from: "program", "site NAME" or "preset NAME (status)"
    file: str
    line: int | None
    groups: tuple[tuple[str, tuple[str, ...]], ...]  # (label, site names) the limit applies to
    in_force: bool
    doc: YamlDocument | None = None  # the file that writes it (None: a preset or a study's), and where
    at: tuple = ("caps",)

    @property
    def flags_at(self) -> tuple:
        """Where its emergency hours' CSV is named (read relative to :attr:`doc`)."""
        return self.at + ("emergency", "flags") if self.doc is not None else self.at


def preset_names() -> list[str]:
    folder = resources.files("dcplan.presets").joinpath("data")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


@lru_cache(maxsize=None)
def load_preset(name: str) -> Preset:
    text = resources.files("dcplan.presets").joinpath("data", f"{name}.yaml").read_text("utf-8")
    return Preset.model_validate(load_packaged(text))


def _scope_sites(cap: Cap, sites, groups: dict[str, list[str]]) -> list:
    sc = cap.scope
    chosen = []
    for si in sites:
        country = si.site.location.country
        if sc.sites is not None and si.name not in sc.sites:
            continue
        if sc.countries is not None and country not in sc.countries:
            continue
        if sc.groups is not None and not any(country in groups[g] for g in sc.groups):
            continue
        if sc.outside_groups is not None and any(country in groups[g] for g in sc.outside_groups):
            continue
        if sc.tags is not None and not set(sc.tags) & set(si.site.jurisdiction_tags):
            continue
        chosen.append(si)
    return chosen


def _split(cap: Cap, chosen) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if cap.each == "site":
        return tuple((si.name, (si.name,)) for si in chosen)
    if cap.each == "country":
        countries = sorted({si.site.location.country for si in chosen})
        return tuple((c, tuple(si.name for si in chosen if si.site.location.country == c)) for c in countries)
    label = _scope_label(cap)
    return ((label, tuple(si.name for si in chosen)),) if chosen else ()


def _scope_label(cap: Cap) -> str:
    sc = cap.scope
    parts = []
    for key in ("sites", "countries", "groups", "tags"):
        values = getattr(sc, key)
        if values is not None:
            parts.append(",".join(values))
    if sc.outside_groups is not None:
        parts.append("outside " + ",".join(sc.outside_groups))
    return " & ".join(parts) or "portfolio"


def resolve_caps(program, program_doc: YamlDocument | None, sites, when, set_at: dict | None = None) -> list[ResolvedCap]:
    """All caps that bind this portfolio, or :class:`InputError` naming bad references.
    ``set_at``: where key paths were set instead of the program file (``ProgramInput.set_at``): a
    cap given as an override is located there."""
    problems: list[Problem] = []
    groups: dict[str, list[str]] = {}
    entries: dict[str, tuple] = {}  # name -> cap, origin, file, line, document, key path
    known = preset_names()
    for i, name in enumerate(program.presets):
        if name not in known:
            problems.append(program_doc.problem(("presets", i), f"no preset '{name}'" + did_you_mean(name, known)
                                                + f"; available: {', '.join(known)}"))
            continue
        preset = load_preset(name)
        groups.update(preset.country_groups)
        for cap in preset.caps:
            entries[cap.name] = (cap, f"preset {name} ({preset.status})", f"preset:{name}", None, None, ("caps",))
    groups.update(program.country_groups)
    for i, cap in enumerate(program.caps):
        file = program_doc.name if program_doc else ""
        line = program_doc.line_of(("caps", i)) if program_doc else None
        file, line = next((set_at[p][:2] for p in (("caps", i), ("caps",)) if p in (set_at or {})), (file, line))
        entries[cap.name] = (cap, "program", file, line, program_doc, ("caps", i))
    site_names = {si.name for si in sites}
    resolved = []
    for cap, origin, file, line, _, _ in entries.values():
        loc = ("caps", next((i for i, c in enumerate(program.caps) if c.name == cap.name), 0), "scope")
        for g in (cap.scope.groups or []) + (cap.scope.outside_groups or []):
            if g not in groups:
                problems.append(_problem(program_doc, file, line, loc, f"cap '{cap.name}': no country group '{g}'"
                                         + did_you_mean(g, groups)))
        for s in cap.scope.sites or []:
            if s not in site_names:
                problems.append(_problem(program_doc, file, line, loc, f"cap '{cap.name}': no site '{s}' in "
                                         "this program" + did_you_mean(s, site_names)))
    refuse(problems)
    for cap, origin, file, line, doc, at in entries.values():
        chosen = _scope_sites(cap, sites, groups)
        resolved.append(ResolvedCap(cap, origin, file, line, _split(cap, chosen), cap.in_force(when), doc, at))
    for si in sites:
        for i, cap in enumerate(si.site.caps):
            bad = [s for s in cap.scope.sites or [] if s != si.name]
            if bad or cap.scope.countries or cap.scope.groups or cap.scope.outside_groups or cap.scope.tags:
                problems.append(si.doc.problem(("caps", i, "scope"), "a cap in a site file binds that site only; "
                                               "put portfolio caps in the program file"))
                continue
            resolved.append(ResolvedCap(cap, f"site {si.name}", si.doc.name, si.doc.line_of(("caps", i)),
                                        ((si.name, (si.name,)),), cap.in_force(when), si.doc, ("caps", i)))
    refuse(problems)
    return resolved


def _problem(doc, file, line, loc, message) -> Problem:
    if doc is not None and file == doc.name:
        return doc.problem(loc, message)
    return Problem(file, line, "caps", message)
