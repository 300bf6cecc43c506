"""Where an input value comes from — file, line and key — so that every finding points at the
line a reviewer must look at: a scenario's or the program's site override before the site file,
a catalog override in a site or program file before the built-in catalog."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from dcplan.errors import printable
from dcplan.loader import ProgramInput, SiteInput
from dcplan.model.build import site_compute
from dcplan.rules import ResolvedCap
from dcplan.yamlio import YamlDocument, dotted, load_yaml


@dataclass(frozen=True)
class Where:
    """The input a finding is about: file, line and dotted key (a CI annotation's anchor)."""

    file: str
    line: int | None
    key: str = ""

    def __post_init__(self):  # a key from an input, as text (see dcplan.errors.printable)
        object.__setattr__(self, "file", printable(str(self.file)))
        object.__setattr__(self, "key", printable(str(self.key)))

    def __str__(self) -> str:
        at = f"{self.file}:{self.line}" if self.line else self.file
        return f"{at}: {self.key}" if self.key else at


_ASSET_SECTIONS = {"gpus": "gpus", "gas": "generators", "solar": "renewables", "wind": "renewables",
                   "battery_power": "storage", "battery_energy": "storage", "cooling": "cooling",
                   "grid_equipment": "grid_equipment"}
"""The catalog section of each kind of asset of a timeline."""


@lru_cache(maxsize=None)
def builtin_catalog_doc(section: str) -> YamlDocument:
    with resources.as_file(resources.files("dcplan.catalog").joinpath("data", f"{section}.yaml")) as path:
        return load_yaml(Path(path))


def _at(doc: YamlDocument, loc: tuple) -> Where:
    return Where(doc.name, doc.line_of(loc), dotted(loc))


def _value_at(data, loc: tuple):
    """The value at ``loc`` in parsed YAML data, or None."""
    for key in loc:
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and isinstance(key, int) and key < len(data):
            data = data[key]
        else:
            return None
    return data


class Locator:
    """Where the values of one loaded program come from."""

    def __init__(self, pi: ProgramInput):
        self.pi = pi
        self.doc = pi.doc  # None for a site file planned alone
        self.scenario = ("scenarios", pi.scenario) if pi.scenario else None

    def _program_paths(self, loc: tuple) -> list[tuple]:
        paths = [self.scenario + loc] if self.scenario else []
        return paths + [loc]

    def _first(self, candidates: list[tuple[YamlDocument, tuple]]) -> Where | None:
        for doc, loc in candidates:
            if doc is not None and doc is self.doc and (found := self._set_elsewhere(loc)) is not None:
                return found
            if doc is not None and loc in doc.lines:
                return _at(doc, loc)
        return None

    def _set_elsewhere(self, loc: tuple) -> Where | None:
        """Where a value of the program's data was set outside its file (a sweep's axis): it, a
        key above it, or a key below it (a finding about the target whose GPUs an axis set):
        the value in force is that one, not the line the file gives."""
        if self.scenario and loc[:2] == self.scenario:
            loc = loc[2:]
        for n in range(len(loc), 0, -1):
            if loc[:n] in self.pi.set_at:
                return Where(*self.pi.set_at[loc[:n]])
        below = next((key for key in self.pi.set_at if key[:len(loc)] == loc), None) if loc else None
        return Where(*self.pi.set_at[below]) if below is not None else None

    def site(self, si: SiteInput, *loc) -> Where:
        """A key of a site file, or the program's (or scenario's) override of it."""
        overrides = [(self.doc, p) for p in self._program_paths(("site_overrides", si.name) + loc)] if self.doc else []
        return self._first(overrides + [(si.doc, loc)]) or _at(si.doc, loc)

    def program(self, *loc) -> Where:
        """A program-level key: in the program file, or in the site file of a site planned alone
        (or of a one-site program that takes the site's compute section)."""
        first = self.pi.sites[0].doc
        if self.doc is None:
            return _at(first, loc)
        found = self._first([(self.doc, p) for p in self._program_paths(loc)])
        if found is None and len(self.pi.sites) == 1 and loc[:1] == ("compute",) and "compute" not in self.doc.data:
            return self.site(self.pi.sites[0], *loc)
        return found or _at(self.doc, loc)

    def input(self, si: SiteInput | None, path: tuple) -> Where:
        """The input at a path the model gives (see dcplan.model.context.Explanation and Limit):
        a program key, a build-out's dated target, or a site's (``si``, or the one named by a
        leading ``("site_named", name)``) site, catalog or compute key or an asset's lead time."""
        kind, keys = path[0], path[1:]
        if kind == "site_named":
            return self.input(next(s for s in self.pi.sites if s.name == keys[0]), keys[1:])
        if kind == "program":
            return self.program(*keys)
        if kind == "dated_target":
            return self.dated_target(*keys)
        if kind == "lead_time":
            return self.lead_time(si, *keys)[1]
        return getattr(self, kind)(si, *keys)

    def dated_target(self, date: dt.date | None) -> Where:
        """A build-out's target due on ``date`` as the program (or its scenario) lists it; else its
        earliest goal (whose date the search sets); a program-wide target without a date."""
        if date is None:
            return self.program("compute", "target")
        for path in self._program_paths(("buildout", "targets")) if self.doc is not None else ():
            listed = _value_at(self.doc.data, path)
            for i, item in enumerate(listed if isinstance(listed, list) else []):
                if isinstance(item, dict) and str(item.get("date")) == str(date):
                    return _at(self.doc, path + (i, "date"))
        earliest = [(self.doc, p) for p in self._program_paths(("buildout", "earliest"))]
        return self._first(earliest) or self.program("buildout", "targets")

    def compute(self, si: SiteInput, *loc) -> Where:
        """A key of the compute options in force at a site (a portfolio site may list its own)."""
        if len(self.pi.sites) > 1 and si.site.compute is not None:
            return self.site(si, "compute", *loc)
        return self.program("compute", *loc)

    def gpu_option(self, si: SiteInput, model: str, *loc) -> Where:
        options = site_compute(si, self.pi).gpus
        index = next((i for i, o in enumerate(options) if o.model == model), None)
        return self.compute(si, "gpus", *((index,) + loc if index is not None else ()))

    def catalog(self, si: SiteInput, section: str, key: str, field: str) -> Where:
        """A catalog field: its override in the site or program file, else the built-in entry."""
        loc = ("catalog", section, key, field)
        candidates = [(si.doc, loc)] + ([(self.doc, p) for p in self._program_paths(loc)] if self.doc else [])
        found = self._first(candidates)
        if found is not None:
            return found
        return _at(builtin_catalog_doc(section), (key, field))

    def cap(self, rc: ResolvedCap, sense: str) -> Where:
        """The violated limit of a cap; a preset's cap points at the program's `presets` entry."""
        name = rc.cap.name
        if rc.origin.startswith("preset"):
            preset = rc.file.split(":", 1)[1]
            index = self.pi.program.presets.index(preset) if preset in self.pi.program.presets else None
            return self.program("presets", index) if index is not None else self.program("presets")
        if rc.origin == "program":
            index = next(i for i, c in enumerate(self.pi.program.caps) if c.name == name)
            return self.program("caps", index, sense)
        si = next(s for s in self.pi.sites if rc.origin == f"site {s.name}")
        index = next(i for i, c in enumerate(si.site.caps) if c.name == name)
        return self.site(si, "caps", index, sense)

    def lead_time(self, si: SiteInput, asset: str) -> tuple[float, Where] | None:
        """An asset's lead time in months as today's inputs set it (a site's or the program's own
        value, else the catalog's), and where; None where the site no longer offers it. ``asset``: a
        timeline's key, ``<section>:<key>`` (``rental_<section>:<type>`` for a rental)."""
        section, _, key = asset.partition(":")
        rented = section.startswith("rental_")
        section = section.removeprefix("rental_")
        tech = si.site.technologies
        if section == "gpus":
            option = next((o for o in site_compute(si, self.pi).gpus if o.model == key), None)
            if option is None:
                return None
            if option.lead_time_months is not None:
                return option.lead_time_months, self.gpu_option(si, key, "lead_time_months")
        elif section == "grid_upgrade":
            found = next(((i, u) for i, u in enumerate(si.site.grid.upgrades if si.site.grid else []) if u.name == key),
                         None)
            if found is None:
                return None
            i, u = found
            if u.lead_time_months is not None or u.equipment is None:
                return u.lead_time_months or 0.0, self.site(si, "grid", "upgrades", i, "lead_time_months")
            section, key = "grid_equipment", u.equipment
        elif section == "cloud":
            found = next(((i, o) for i, o in enumerate(site_compute(si, self.pi).cloud) if o.model == key), None)
            return None if found is None else (found[1].lead_time_months,
                                               self.program("compute", "cloud", found[0], "lead_time_months"))
        elif section == "gas":
            found = next(((i, c) for i, c in enumerate(tech.gas)
                          if c.key == key or (rented and c.rental and c.type == key)), None)
            if found is None:
                return None
            i, cand = found
            if cand.rental is not None:
                return cand.rental.lead_time_months, self.site(si, "technologies", "gas", i, "rental", "lead_time_months")
            if cand.lead_time_months is not None:
                return cand.lead_time_months, self.site(si, "technologies", "gas", i, "lead_time_months")
            key = cand.type
        elif section in ("solar", "wind", "battery_power", "battery_energy"):
            name = "battery" if section.startswith("battery") else section
            cand = getattr(tech, name)
            if cand is None:
                return None
            if cand.lead_time_months is not None:
                return cand.lead_time_months, self.site(si, "technologies", name, "lead_time_months")
        elif section == "cooling":
            found = next(((i, c) for i, c in enumerate(si.site.cooling) if c.type == key), None)
            if found is None:
                return None
            i, option = found
            if option.rental is not None:
                return option.rental.lead_time_months, self.site(si, "cooling", i, "rental", "lead_time_months")
            if option.lead_time_months is not None:
                return option.lead_time_months, self.site(si, "cooling", i, "lead_time_months")
        else:
            return None
        catalog_section = _ASSET_SECTIONS[section]
        entries = getattr(si.catalog, catalog_section)
        if key not in entries:
            return None
        return entries[key].lead_time_months, self.catalog(si, catalog_section, key, "lead_time_months")
