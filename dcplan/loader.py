"""Load site and program files into validated inputs with resolved hourly series.

Every problem found is collected (syntax, schema, unknown catalog keys, CSV content) and raised
together as one :class:`InputError`, each naming file, line and key.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import BaseModel

import dcplan.series as S
import dcplan.trust as trust
from dcplan.catalog import builtin_catalog_data
from dcplan.choices import CATALOG_SECTIONS
from dcplan.errors import (
    InputError,
    Problem,
    did_you_mean,
    display_path,
    loops,
    printable,
    real_path,
    refuse,
)
from dcplan.formulas import output_fraction
from dcplan.rules import resolve_caps
from dcplan.schema.base import CsvColumn
from dcplan.schema.caps import Preset
from dcplan.schema.catalog import Catalog
from dcplan.schema.program import Program
from dcplan.schema.site import Site
from dcplan.schema.smoothing import SmoothingSpec
from dcplan.schema.validate import validation_problems
from dcplan.smoothing.limits import check_spec, load_smoothing_spec
from dcplan.smoothing.workload import load_workload, workload_files
from dcplan.yamlio import KeyPath, YamlDocument, dotted, load_yaml

KINDS = {"site": Site, "program": Program}


@dataclass
class SiteInput:
    """A validated site with its merged catalog and its hourly series (8,760 values each)."""

    site: Site
    doc: YamlDocument
    catalog: Catalog
    price_usd_per_mwh: np.ndarray | None = None
    grid_co2_t_per_mwh: np.ndarray | None = None
    solar_cf: np.ndarray | None = None
    wind_cf: np.ndarray | None = None
    pue: dict[str, np.ndarray] = field(default_factory=dict)  # cooling type -> hourly PUE
    ambient_temp_c: np.ndarray | None = None
    year: int = 2027  # the calendar year of its hours: the series' clock
    flags: dict = field(default_factory=dict)  # (file, key path) -> hour flags: see hour_flags

    def hour_flags(self, spec: CsvColumn, where: KeyPath, doc: YamlDocument | None = None) -> np.ndarray:
        """The 0/1 flags, hour by hour, of the CSV column ``spec`` that ``doc`` (by default the
        site file) names at ``where`` (a cap's emergency hours, a connection's curtailed ones), on
        the site's clock. Read once, at load (so that ``validate`` finds a bad file), and kept for
        the model and the sweep. :class:`dcplan.series.SeriesError` where it cannot be read."""
        doc = doc or self.doc
        key = (doc.path, tuple(where))
        if key not in self.flags:
            self.flags[key] = S.SeriesResolver(doc, self.year, self.site.location.timezone).resolve(spec, where, S.FLAGS)
        return self.flags[key]

    @property
    def name(self) -> str:
        return self.site.name

    def gas_output_fraction(self, gen_type: str, heat: bool = True, thin_air: bool = True) -> np.ndarray:
        """Each hour's available output of a ``gen_type`` unit as a share of its ISO rating: its
        catalog derates at the site's ambient temperature and at its elevation (each 1 where the
        site or the catalog does not give it, or where ``heat`` or ``thin_air`` leaves it out;
        the two multiply, an assumption)."""
        spec, elevation = self.catalog.generators[gen_type], self.site.location.elevation_m
        share = np.ones(S.HOURS_PER_YEAR)
        if heat and self.ambient_temp_c is not None:
            share = output_fraction(spec.output_vs_ambient_c, self.ambient_temp_c)
        if thin_air and elevation is not None:
            share = share * output_fraction(spec.output_vs_elevation_m, np.array([elevation]))[0]
        return share

    def gas_firm_unit_mw(self, gen_type: str, heat: bool = True, thin_air: bool = True) -> float:
        """What a ``gen_type`` unit counts for as firm capacity, MW: its output in the year's
        least favourable hour (its summer rating), what N+1 and a grid outage's backup rely on
        (``heat``, ``thin_air``: as :meth:`gas_output_fraction`, to tell which derate matters)."""
        return self.catalog.generators[gen_type].unit_mw * float(np.min(self.gas_output_fraction(gen_type, heat, thin_air)))

    def wue(self, cooling: str) -> float:
        """Water use of a cooling option, L per kWh of IT energy: the site's figure or the catalog's."""
        option = next(c for c in self.site.cooling if c.type == cooling)
        return option.wue_l_per_kwh if option.wue_l_per_kwh is not None else self.catalog.cooling[cooling].wue_l_per_kwh


@dataclass
class ProgramInput:
    program: Program
    doc: YamlDocument | None
    sites: list[SiteInput]
    scenario: str | None = None
    caps: list = field(default_factory=list)  # dcplan.rules.ResolvedCap
    delay_months: dict = field(default_factory=dict)  # (site, asset key) -> months beyond its lead time (dcplan.studies.odds)
    # key path in the program's data -> (file, line, key) that set it instead: a sweep's axis, an API override
    set_at: dict = field(default_factory=dict)
    loaded: dict = field(default_factory=dict, repr=False, compare=False)
    """The program and its sites as validated (JSON data by override path), kept to tell a later
    edit: hourly series, caps and flags are derived at load, so an edited model would be planned
    half as edited (see :meth:`edited`)."""

    def __post_init__(self):
        if not self.loaded:
            self.loaded = self._as_data()

    def _as_data(self) -> dict:
        return {"": self.program.model_dump(mode="json", warnings=False),
                **{f"sites.{si.name}": si.site.model_dump(mode="json", warnings=False) for si in self.sites}}

    def edited(self) -> str | None:
        """The override path of the first value changed since loading (``dataclasses.replace``,
        ``model_copy``, an attribute set), or None."""
        return _first_difference(self.loaded, self._as_data(), ())

    @property
    def name(self) -> str:
        return self.program.name


def _first_difference(a, b, path: tuple) -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            if key not in a or key not in b:
                return ".".join(map(str, path + (key,)))
            found = _first_difference(a[key], b[key], path + (key,) if key else path)
            if found is not None:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return next((f for i, (x, y) in enumerate(zip(a, b)) if (f := _first_difference(x, y, path + (i,)))), None)
    return None if a == b else ".".join(map(str, path)) or "the program"


# --- catalog -----------------------------------------------------------------------------

def merge_catalog(base: dict, overrides: dict, doc: YamlDocument):
    """Apply a file's ``catalog:`` overrides to raw catalog data; return (data, problems)."""
    merged = copy.deepcopy(base)
    for section, entries in (overrides or {}).items():
        for key, fields in (entries or {}).items():
            if not isinstance(fields, dict):
                continue
            base_entry = merged[section].get(key, {})
            merged[section][key] = entry = {**base_entry, **fields}
            own = fields.get("sources", {})
            if not isinstance(own, dict):
                continue  # as written, for the schema to report below
            # the override's sources join the catalog's: the fields it leaves alone keep theirs
            entry["sources"] = sources = {**base_entry.get("sources", {}), **own}
            for name in fields:
                if name not in ("sources", "notes", "name") and name not in own:
                    line = doc.line_of(("catalog", section, key, name))
                    sources[name] = f"override in {doc.name}:{line}"
    problems = validation_problems(doc, Catalog, merged, ("catalog",)) if overrides else []
    return merged, _new_entries_explained(problems, base, overrides, doc)


def _new_entries_explained(problems: list[Problem], base: dict, overrides, doc: YamlDocument) -> list[Problem]:
    """An override of an entry the catalog does not have is a new entry, which lacks every
    required field: one problem that says so (and which entry was likely meant), not ten."""
    for section, entries in (overrides or {}).items():
        for key in entries if isinstance(entries, dict) and section in base else ():
            prefix = dotted(("catalog", section, key)) + "."
            missing = [p for p in problems if p.key.startswith(prefix) and p.message.startswith("required key is missing")]
            if key in base[section] or not missing:
                continue
            problems = [p for p in problems if p not in missing] + [doc.problem(
                ("catalog", section, key), f"'{key}' is not in the {section} catalog{did_you_mean(key, base[section])}; "
                f"as a new entry it needs also: {', '.join(p.key[len(prefix):] for p in missing)}")]
    return problems


# --- sites -------------------------------------------------------------------------------

def _check_one_battery(site: Site, doc: YamlDocument) -> list[Problem]:
    """A training job is smoothed with the site's own battery (see Site._one_battery): a smoothing
    battery of another type than the site's would be a second battery, priced and sized apart."""
    job = site.smoothing.mitigations.battery if site.smoothing is not None and site.smoothing.workload else None
    own = site.technologies.battery
    if job is None or own is None or job.type == own.type:
        return []
    return [doc.problem(("smoothing", "mitigations", "battery", "type"),
                        f"'{job.type}' is not the site's battery (technologies.battery.type '{own.type}'): the "
                        "training job is smoothed with the site's own battery; name one type, or leave this out")]


def _check_catalog_refs(site: Site, catalog: Catalog, doc: YamlDocument, data: dict) -> list[Problem]:
    """Each catalog key the site names (``data``: as written, overrides merged) is in its catalog."""
    problems = []

    def need(section, key, loc):
        if key not in getattr(catalog, section):
            problems.append(doc.problem(loc, f"'{key}' is not in the {section} catalog"
                                        + did_you_mean(key, getattr(catalog, section))))

    if site.compute:
        for kind in ("gpus", "cloud"):
            for i, g in enumerate(getattr(site.compute, kind)):
                need("gpus", g.model, ("compute", kind, i, "model"))
    if site.grid is not None:
        for i, u in enumerate(site.grid.upgrades):
            if u.equipment is not None:
                need("grid_equipment", u.equipment, ("grid", "upgrades", i, "equipment"))
    keys = set()
    for i, g in enumerate(site.technologies.gas):
        need("generators", g.type, ("technologies", "gas", i, "type"))
        if g.key in keys:  # with the cooling's below, every option listed twice is said in one run
            problems.append(doc.problem(("technologies", "gas", i, "type"), f"gas type '{g.type}' is listed twice"
                                        f"{' as rented' if g.rental else ''} (raise max_units instead; an owned and a "
                                        "rented entry of one type may coexist)"))
        keys.add(g.key)
    for tech in ("solar", "wind"):
        cand = getattr(site.technologies, tech)
        if cand is not None:
            key = cand.type
            need("renewables", key, ("technologies", tech, "type"))
            if key in catalog.renewables and catalog.renewables[key].kind != tech:
                problems.append(doc.problem(("technologies", tech, "type"),
                                            f"'{key}' is a {catalog.renewables[key].kind} entry, not {tech}"))
    for loc in (("technologies", "battery", "type"), ("smoothing", "mitigations", "battery", "type")):
        written = _written(data, loc)  # (a type left out is the default, or lent: see Site._one_battery)
        if written is not None:
            need("storage", written, loc)
    seen = set()
    for i, c in enumerate(site.cooling):
        need("cooling", c.type, ("cooling", i, "type"))
        if c.type in seen:
            problems.append(doc.problem(("cooling", i, "type"), f"cooling option '{c.type}' is listed twice"))
        seen.add(c.type)
    return problems


def _written(data, loc: KeyPath):
    """The value at ``loc`` in raw YAML ``data``; None where it is not written."""
    for key in loc:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _resolve_series(si: SiteInput, year: int) -> list[Problem]:
    site, resolver, problems = si.site, S.SeriesResolver(si.doc, year, si.site.location.timezone), []

    def get(spec, loc, quantity):
        try:
            return resolver.resolve(spec, loc, quantity)
        except S.SeriesError as err:
            problems.append(err.problem)
            return None

    if site.grid:
        si.price_usd_per_mwh = get(site.grid.energy_price_usd_per_mwh, ("grid", "energy_price_usd_per_mwh"), S.PRICE)
        si.grid_co2_t_per_mwh = get(site.grid.co2_t_per_mwh, ("grid", "co2_t_per_mwh"), S.GRID_CO2)
    if site.technologies.solar:
        si.solar_cf = get(site.technologies.solar.capacity_factor,
                          ("technologies", "solar", "capacity_factor"), S.CAPACITY_FACTOR)
    if site.technologies.wind:
        si.wind_cf = get(site.technologies.wind.capacity_factor,
                         ("technologies", "wind", "capacity_factor"), S.CAPACITY_FACTOR)
    if site.ambient_temp_c is not None:
        si.ambient_temp_c = get(site.ambient_temp_c, ("ambient_temp_c",), S.TEMPERATURE)
    for i, option in enumerate(site.cooling):
        spec = option.pue
        if spec is None and option.type in si.catalog.cooling:
            spec = si.catalog.cooling[option.type].pue
        if spec is not None:
            si.pue[option.type] = get(spec, ("cooling", i, "pue"), S.PUE)
    hours = [(cap.emergency, ("caps", i, "emergency")) for i, cap in enumerate(site.caps)]
    if site.grid is not None and site.grid.flexible is not None:
        hours.append((site.grid.flexible.curtailment, ("grid", "flexible", "curtailment")))
    return problems + _flag_problems(si, hours)


def _flag_problems(si: SiteInput, hours: list[tuple], doc: YamlDocument | None = None) -> list[Problem]:
    """Problems with the CSVs of hour flags that ``doc`` (by default the site file) names
    (``hours``: each a spec of chosen hours or None, with its key path), read for ``si`` now
    (:meth:`SiteInput.hour_flags`)."""
    problems = []
    for spec, at in hours:
        if spec is not None and spec.flags is not None:
            try:
                si.hour_flags(spec.flags, at + ("flags",), doc)
            except S.SeriesError as err:
                problems.append(err.problem)
    return problems


def load_site(path: str | os.PathLike, base_catalog: dict | None = None, year: int = 2027,
              overrides_by_site: dict | None = None, folders: tuple[Path, ...] | None = None,
              program_doc: YamlDocument | None = None) -> SiteInput:
    """Load and fully check one site file (``path``: a ``str`` or ``os.PathLike``).
    ``overrides_by_site`` (site name -> mapping, from a program's scenario) is merged into the
    site's raw data first; a problem with a value it sets is reported at its line in
    ``program_doc`` (the program's, its scenario overlaid), where it was written. ``folders``: where the files it refers to may be (:mod:`dcplan.trust`; default, those
    of a file on the command line)."""
    path = Path(path)
    doc = load_yaml(path, folders)
    data = doc.data
    problems = _kind_problems(doc, "site")
    refuse(problems)
    name = data.get("name")
    override = (overrides_by_site or {}).get(name) if isinstance(name, str) else None
    renamed = isinstance(override, dict) and "name" in override and override["name"] != name
    if (override is not None and not isinstance(override, dict)) or renamed:  # the program's to explain
        where = ("site_overrides", name) + (("name",) if renamed else ())
        message = ("a site's name is how the program finds it: give another site file, not another name" if renamed
                   else f"expected a mapping of the site's keys to change, found {printable(repr(override))[:80]}")
        raise InputError([program_doc.problem(where, message) if program_doc else Problem("overrides", None,
                                                                                          dotted(where), message)])
    if not override:
        return _load_site(doc, data, base_catalog, year)
    try:
        return _load_site(doc, deep_merge(data, override), base_catalog, year)
    except InputError as err:
        if program_doc is None:
            raise
        raise InputError(_blamed(err.problems, doc, override, program_doc, ("site_overrides", name))) from None


def _blamed(problems: list[Problem], doc: YamlDocument, override: dict, blame: YamlDocument,
            prefix: KeyPath) -> list[Problem]:
    """``problems`` of ``doc`` at a key that ``override`` sets, moved to where ``blame`` writes
    it (under ``prefix``); the others (and those of values given as data, a sweep's) as they are.
    A mapping it merges into the site's own is the site's (a problem of the whole section is the
    site's to explain); one it puts where the site has none, or something else (a mapping where
    a list belongs), is its own."""
    written: dict[str, KeyPath] = {}

    def walk(node, loc: KeyPath, site) -> None:
        merged = isinstance(node, dict) and isinstance(site, dict)
        if loc and not merged:
            written[dotted(loc)] = loc
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, loc + (key,), site.get(key) if merged else None)

    walk(override, (), doc.data)
    return [blame.problem(prefix + written[p.key], p.message)
            if p.file == doc.name and p.key in written and prefix + written[p.key] in blame.lines else p
            for p in problems]


def _load_site(doc: YamlDocument, data: dict, base_catalog: dict | None, year: int) -> SiteInput:
    refuse(validation_problems(doc, Site, data))
    site = Site.model_validate(data)
    raw_catalog, problems = merge_catalog(base_catalog or builtin_catalog_data(), site.catalog, doc)
    refuse(problems)
    si = SiteInput(site, doc, Catalog.model_validate(raw_catalog), year=year)
    problems = _check_catalog_refs(site, si.catalog, doc, data) + _check_one_battery(site, doc)
    if site.smoothing is not None:
        problems += check_spec(site.smoothing, doc, ("smoothing",))
    problems += _resolve_series(si, year)
    if site.smoothing is not None and site.smoothing.workload is not None:
        try:
            workload = doc.reference(site.smoothing.workload, ("smoothing", "workload"))
            if not workload.exists():
                raise InputError([doc.problem(("smoothing", "workload"),
                                              f"workload file not found: {display_path(workload)}")])
            load_workload(workload, folders=doc.folders)
        except InputError as err:
            problems += err.problems
    refuse(problems)
    return si


def load_smoothing(path: str | os.PathLike) -> tuple[SmoothingSpec, Catalog | None]:
    """The smoothing limits, mitigations and economics of a ``kind: smoothing`` file (priced from
    dcplan's catalog: None), or of a site's ``smoothing:`` section with the site's catalog, the
    whole site checked: its battery is the site's (see ``Site._one_battery``), priced as the
    site's plan prices it."""
    doc = load_yaml(Path(path))
    if not (isinstance(doc.data, dict) and doc.data.get("kind") == "site"):
        return load_smoothing_spec(path), None
    si = load_site(path)
    if si.site.smoothing is None:
        raise InputError([doc.problem(("kind",), "this site file has no `smoothing:` section "
                                      "(limits, mitigations, economics)")])
    return si.site.smoothing, si.catalog


EMPTY = "empty file: a site, program, workload or smoothing file starts with `kind:`"


def _kind_problems(doc: YamlDocument, expected: str | None = None) -> list[Problem]:
    if doc.data in ({}, None):
        return [doc.problem((), EMPTY)]
    if not isinstance(doc.data, dict):
        return [doc.problem((), "expected a mapping with `kind: site` or `kind: program` at the top")]
    kind = doc.data.get("kind")
    if kind not in KINDS:
        found = f"found {kind!r}" if kind is not None else "it is missing"
        return [doc.problem(("kind",), f"expected `kind: site` or `kind: program`, {found}"
                            + (did_you_mean(kind, KINDS) if kind else ""))]
    if expected and kind != expected:
        return [doc.problem(("kind",), f"expected a {expected} file, found kind: {kind}")]
    return []


def deep_merge(base, override):
    """Recursively merge mappings; lists and scalars in ``override`` replace those in ``base``."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for k, v in override.items():
            out[k] = deep_merge(base.get(k), v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(override)


def _apply_scenario(data: dict, site_overrides: dict, scenario: dict | None) -> tuple[dict, dict]:
    """A scenario's ``site_overrides`` join the program's; its other keys merge into the program."""
    override = dict(scenario) if isinstance(scenario, dict) else {}
    sites = override.get("site_overrides")  # not a mapping: the schema says so
    return (deep_merge(data, override if not isinstance(sites, dict) else
                       {k: v for k, v in override.items() if k != "site_overrides"}),
            deep_merge(site_overrides, sites) if isinstance(sites, dict) else site_overrides)


# --- programs ----------------------------------------------------------------------------

def scenario_problems(path: Path, doc: YamlDocument, besides: str | None = None) -> list[Problem]:
    """The problems of each scenario of the program ``path`` (read as ``doc``), but ``besides``:
    a scenario that breaks the program is found before anyone plans it."""
    scenarios = doc.data.get("scenarios") if isinstance(doc.data, dict) else None
    problems: list[Problem] = []
    for name in scenarios if isinstance(scenarios, dict) else ():
        if name == besides:
            continue
        try:
            load_program(path, name)
        except InputError as err:
            problems += [p for p in err.problems if p not in problems]
    return problems


def _unread_site_problems(doc: YamlDocument, sites) -> list[Problem]:
    """The shape problems of the site files a program lists (``sites``, as written), where the
    program's own shape stopped it before it read them: a typo in each must not take two runs to
    find. Only the shape: a site's catalog keys and series depend on the program being valid."""
    found = []
    for i, written in enumerate(sites if isinstance(sites, list) else []):
        try:
            site_path = doc.reference(written, ("sites", i)) if isinstance(written, str) else None
            if site_path is None or not site_path.is_file():
                continue
            site_doc = load_yaml(site_path)
        except InputError as err:
            found += err.problems
            continue
        found += _kind_problems(site_doc, "site") or validation_problems(site_doc, Site, site_doc.data)
    return found


def load_program(path: str | os.PathLike, scenario: str | None = None,
                 overrides: dict | None = None, set_at: dict | None = None) -> ProgramInput:
    """Load a program and its sites (``path``: a ``str`` or ``os.PathLike``); a site file is
    treated as a one-site program. ``overrides`` is one more scenario given as data (a sweep's
    values), applied after the named one; ``set_at``: where each of its key paths was written
    (file, line, key: a sweep's axis), which findings about it cite (ProgramInput.set_at)."""
    path = Path(path)
    doc = load_yaml(path)
    refuse(_kind_problems(doc))
    if doc.data["kind"] == "site":
        if scenario or overrides:
            raise InputError([doc.problem(("kind",), "scenarios live in program files, not site files")])
        si = load_site(path)
        compute = si.site.compute
        if compute is None or (compute.target is None and not (compute.fixed_it_mw and not compute.gpus)):
            raise InputError([doc.problem(("compute",), "planning a site file alone needs `compute:` with a "
                                          "`target:`, or a `fixed_it_mw` and no GPUs (or write a program file)")])
        program = Program(kind="program", name=si.name, sites=[str(path)], compute=si.site.compute)
        return ProgramInput(program, None, [si], None, resolve_caps(program, None, [si], program.horizon.start))
    data = doc.data
    site_overrides = data.get("site_overrides") if isinstance(data.get("site_overrides"), dict) else {}
    if scenario is not None:
        scenarios = data.get("scenarios") or {}
        if scenario not in scenarios:
            raise InputError([doc.problem(("scenarios",), f"no scenario '{scenario}'"
                                          + did_you_mean(scenario, scenarios)
                                          + (f"; defined: {', '.join(scenarios)}" if scenarios else ""))])
        data, site_overrides = _apply_scenario(data, site_overrides, scenarios[scenario])
        doc = doc.overlaid(("scenarios", scenario))
    if overrides:
        data, site_overrides = _apply_scenario(data, site_overrides, overrides)
    problems = validation_problems(doc, Program, data)
    if problems:
        raise InputError(problems + _unread_site_problems(doc, data.get("sites")))
    program = Program.model_validate(data)
    raw_catalog, problems = merge_catalog(builtin_catalog_data(), program.catalog, doc)
    refuse(problems)
    sites, problems, names = [], [], {}
    for i, rel in enumerate(program.sites):
        try:
            site_path = doc.reference(rel, ("sites", i))
        except InputError as err:
            problems += err.problems
            continue
        if site_path.is_dir() or not site_path.exists():  # (a folder: '' and '.' name the program's own)
            what = "a folder, not a site file" if site_path.is_dir() else "site file not found"
            problems.append(doc.problem(("sites", i), f"{what}: {display_path(site_path)}"))
            continue
        try:
            si = load_site(site_path, raw_catalog, program.horizon.start.year, site_overrides, doc.folders, doc)
        except InputError as err:
            problems += err.problems
            continue
        if si.name in names:
            problems.append(doc.problem(("sites", i), f"site name '{si.name}' is used by two files"))
        names[si.name] = si
        sites.append(si)
    refuse(problems)
    refuse([doc.problem(("site_overrides", name), f"no site named '{name}'{did_you_mean(name, names)}; "
                        f"sites: {', '.join(sorted(names))}") for name in sorted(set(site_overrides) - set(names))])
    if program.compute is None:
        if len(sites) == 1 and sites[0].site.compute is not None:
            program = program.model_copy(update={"compute": sites[0].site.compute})
        else:
            raise InputError([doc.problem(("compute",), "required key is missing "
                                          "(a program of several sites needs its own compute section)")])
    if program.buildout is not None and (program.buildout.targets or program.buildout.earliest) \
            and program.compute.target is not None:
        # a site file's own target is for planning it alone; the build-out's ramp replaces it
        program = program.model_copy(update={"compute": program.compute.model_copy(update={"target": None})})
    has_target = program.compute.target is not None or (program.buildout and (program.buildout.targets
                                                                               or program.buildout.earliest))
    if program.buildout is not None:
        start, years = program.horizon.start, program.horizon.years
        end = start.replace(year=start.year + years)  # a build-out starts on the 1st of a month
        outside = [doc.problem(("buildout", "targets", i, "date"), f"{t.date} is not before the horizon's end "
                               f"({end}: horizon.start {start} + {years} years); extend horizon.years or move the target")
                   if t.date >= end else
                   doc.problem(("buildout", "targets", i, "date"), f"{t.date} is before the horizon's start "
                               f"({start}): move the target, or horizon.start")
                   for i, t in enumerate(program.buildout.targets) if not start <= t.date < end]
        refuse(outside)
    if not has_target and program.objective.sense == "min_cost":
        if ("buildout",) in doc.written_at and program.buildout is None:  # a scenario's `buildout: null`
            raise InputError([doc.problem(("buildout",), "this removes the build-out and its targets: "
                                          "give compute.target here too, for the plan's one year")])
        raise InputError([doc.problem(("compute", "target"), "required key is missing "
                                      "(or give buildout.targets)")])
    for kind, options in (("gpus", program.compute.gpus), ("cloud", program.compute.cloud)):
        for i, g in enumerate(options):
            if g.model not in sites[0].catalog.gpus:
                raise InputError([doc.problem(("compute", kind, i, "model"),
                                              f"'{g.model}' is not in the gpus catalog"
                                              + did_you_mean(g.model, sites[0].catalog.gpus))])
    known = {*CATALOG_SECTIONS, *(key for si in sites for section in CATALOG_SECTIONS for key in getattr(si.catalog, section))}
    refuse([doc.problem(("finance", "lifetimes_years", key), f"'{key}' is neither a catalog section nor a catalog "
                        "key" + did_you_mean(key, sorted(known)))
            for key in program.finance.lifetimes_years if key not in known])
    caps = resolve_caps(program, doc, sites, program.horizon.start, set_at)
    hours = [(cap.emergency, ("caps", i, "emergency")) for i, cap in enumerate(program.caps)]
    refuse(sorted(set(p for si in sites for p in _flag_problems(si, hours, doc))))  # each on its site's clock
    return ProgramInput(program, doc, sites, scenario, caps, set_at=dict(set_at or {}))


def input_files(program: ProgramInput) -> list[Path]:
    """Every file a plan is made from (recorded with it, with its hash): the program and site
    files, the CSV series each site names, and each training job with its trace. A file named
    twice is listed once."""
    files = [program.doc.path, *(program.doc.reference(c.csv, ()) for c in _csv_columns(program.program.caps))] \
        if program.doc else []
    for si in program.sites:
        files.append(si.doc.path)
        files += [si.doc.reference(c.csv, ()) for c in _csv_columns(si.site)]
        spec = si.site.smoothing
        if spec is not None and spec.workload is not None:
            files += workload_files(si.doc.reference(spec.workload, ("smoothing", "workload")), si.doc.folders)
    return list(dict.fromkeys(Path(f).resolve() for f in files))


def _csv_columns(node) -> list[CsvColumn]:
    """Every CSV column a validated site or program section names, however deep (series, curves'
    temperatures, hour flags)."""
    if isinstance(node, CsvColumn):
        return [node]
    if isinstance(node, BaseModel):
        node = list(node.__dict__.values())
    elif isinstance(node, dict):
        node = list(node.values())
    if isinstance(node, (list, tuple)):
        return [c for item in node for c in _csv_columns(item)]
    return []


def training_job(si: SiteInput):
    """The site's declared training job (its ``smoothing.workload``), or None."""
    spec = si.site.smoothing
    if spec is None or spec.workload is None:
        return None
    return load_workload(si.doc.reference(spec.workload, ("smoothing", "workload")), folders=si.doc.folders)


# --- validate ----------------------------------------------------------------------------

def discover(paths: list[Path]) -> tuple[list[Path], list[Problem]]:
    """YAML files named or found under the given paths (hidden folders skipped)."""
    files, problems = [], []
    for p in paths:
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.suffix in (".yaml", ".yml")
                           and not any(part.startswith(".") for part in f.relative_to(p).parts))
            folders = trust.trusted_folders(p)
            for f in found:
                if trust.outside(f, folders):  # a symbolic link out of the folder (say, to /etc)
                    problems.append(Problem(display_path(f), None, "", trust.refusal(str(f.relative_to(p)), folders, f)))
                else:
                    files.append(f)
        elif p.exists():
            files.append(p)
        else:
            problems.append(Problem(display_path(p), None, "", "a symbolic link that loops (it leads back to itself)"
                                    if loops(p) else "no such file or folder"))
    return files, problems


def validate_paths(paths: list[Path]) -> tuple[list[Path], list[Problem]]:
    """Check every site and program file under ``paths``; YAML files of other kinds (a CI
    workflow, a sweep) found in a folder are skipped. Returns (files checked, problems)."""
    files, problems = discover(paths)
    named = {real_path(p) for p in paths if not p.is_dir()}
    checked = []
    for f in files:
        read, found = validate_file(f, named=real_path(f) in named)
        if read:
            checked.append(f)
        problems += found
    return checked, sorted(set(problems), key=lambda p: (p.file, p.line or 0, p.key))


def validate_file(path: Path, named: bool = False, doc: YamlDocument | None = None) -> tuple[bool, list[Problem]]:
    """(whether ``path`` is a file dcplan reads, its problems). An empty file is one, with a
    problem (a site file emptied by mistake must not pass as nothing to check); other YAML (a CI
    workflow, a plan written by dcplan) is not, unless ``named`` on the command line, where
    skipping it would pass a file the user asked about unread. ``doc``: the file, if read already."""
    try:
        doc = doc or load_yaml(path)
    except InputError as err:
        return True, err.problems
    kind = doc.data.get("kind") if isinstance(doc.data, dict) else None
    if doc.data in ({}, None):
        return True, [doc.problem((), EMPTY)]
    if is_sweep(doc):
        return False, []  # read by dcplan.sweep (dcplan.api.validate checks it)
    if is_plan_output(doc):
        return named, [doc.problem((), "a plan written by `dcplan plan`, not an input: `dcplan check` verifies "
                                   "a committed plan against its inputs")] if named else []
    if kind is None and not _looks_like_dcplan(doc.data):
        return named, [doc.problem(("kind",), "not a file dcplan reads: expected `kind:` site, program, "
                                   "workload, smoothing or preset" + _sweep_hint(doc))] if named else []
    try:
        _validate_kind(kind, path, doc)
    except InputError as err:
        return True, err.problems
    return True, []


def is_sweep(doc: YamlDocument) -> bool:
    """A sweep file (`dcplan sweep`): `base:` and `axes:`, and no kind."""
    return isinstance(doc.data, dict) and "kind" not in doc.data and {"base", "axes"} <= set(doc.data)


def is_plan_output(doc: YamlDocument) -> bool:
    """A plan.yaml written by `dcplan plan` (an output kept in git, not an input)."""
    return isinstance(doc.data, dict) and "dcplan_version" in doc.data


def _looks_like_dcplan(data) -> bool:
    return isinstance(data, dict) and bool({"site", "program", "grid", "cooling", "sites"} & set(data))


def _validate_kind(kind, path: Path, doc: YamlDocument) -> None:
    """Fully load one file of any kind dcplan reads, raising :class:`InputError` if it is bad."""
    if kind == "program":
        load_program(path)
        refuse(scenario_problems(path, doc))
    elif kind == "site":
        load_site(path)
    elif kind == "workload":
        load_workload(path)
    elif kind == "smoothing":
        load_smoothing_spec(path)
    elif kind == "preset":
        refuse(validation_problems(doc, Preset, doc.data))
    else:
        raise InputError([doc.problem(("kind",), "expected `kind:` site, program, workload, smoothing or preset, "
                                      + (f"found {kind!r}" + did_you_mean(kind, ALL_KINDS) if kind else "it is missing")
                                      + _sweep_hint(doc))])


def _sweep_hint(doc: YamlDocument) -> str:
    """What a file meant as a sweep lacks (its kind, or its base): said where a kind is asked for."""
    meant = doc.data.get("kind") == "sweep" or "axes" in doc.data if isinstance(doc.data, dict) else False
    return "; a sweep file has no kind, and gives `base:` (a program file) and `axes:`" if meant else ""


ALL_KINDS = ("site", "program", "workload", "smoothing", "preset")
