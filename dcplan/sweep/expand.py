"""From a sweep file to its scenarios: each axis path resolved against the base program's data,
each scenario's values drawn (seeded) and turned into the override mapping that
:func:`dcplan.loader.load_program` applies like a named scenario.

A path is ``sites.<site>.<key>...`` (into that site's file, as the program's ``site_overrides``)
or a program key path (``finance.discount_rate``, ``catalog.gpus.h100_sxm.price_usd_per_gpu``).
In a list, an element is picked by its index or by its ``name``, ``type`` or ``model``
(``sites.memphis.cooling.direct_liquid.pue``, ``caps.memphis-air-permit.max``); since a merge
replaces lists whole, the override then carries the whole list with that element changed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dcplan.errors import InputError, Problem, did_you_mean, refuse
from dcplan.loader import (
    ProgramInput,
    _apply_scenario,
    deep_merge,
    load_program,
    training_job,
)
from dcplan.schema.catalog import SECTIONS as CATALOG_SECTIONS
from dcplan.schema.program import Program
from dcplan.series import SeriesError
from dcplan.sweep.spec import Range, SweepFile, load_sweep
from dcplan.version import __version__
from dcplan.yamlio import dotted

NOT_VARIED = ("kind", "scenarios", "site_overrides")  # sites.<site>... takes the place of site_overrides
ELEMENT_KEYS = ("name", "type", "model")


@dataclass(frozen=True)
class Axis:
    path: str
    site: str | None  # None: a program key
    loc: tuple  # the key path in the site's or the program's data, list elements as indices


@dataclass(frozen=True)
class Scenario:
    id: str
    values: dict  # axis path -> value
    overrides: dict  # a scenario as load_program applies it


@dataclass
class ScenarioSet:
    sweep: SweepFile
    axes: list[Axis]
    scenarios: list[Scenario]
    digest: str  # of everything besides the axis values that a result depends on
    set_at: dict  # key path in the program's data -> (file, line, key) of the axis that sets it (ProgramInput.set_at)


def load_scenarios(path: Path) -> ScenarioSet:
    """Read a sweep file, load its base program, and expand the scenarios. Every axis value is
    tried on the base first, so a bad path or value is an :class:`InputError` at its line in the
    sweep file, before anything runs."""
    sweep = load_sweep(path)
    base = load_program(sweep.base_path)
    if base.doc is None:
        raise InputError([sweep.doc.problem(("base",), "expected a program file, found a site file; "
                                            "write a program that lists the site (see examples/quickstart)")])
    data = _BaseData(base)
    axes, problems = [], []
    for path_text in sweep.spec.axes:
        try:
            axes.append(data.resolve(path_text))
        except _PathError as err:
            problems.append(_at_axis(sweep, path_text, str(err)))
    refuse(problems)
    values = _draw(sweep, axes)
    scenarios, seen = [], set()
    for combo in values:
        by_path = {a.path: v for a, v in zip(axes, combo)}
        sid = scenario_id(by_path)
        if sid not in seen:  # sampling a short list of values repeats combinations
            seen.add(sid)
            scenarios.append(Scenario(sid, by_path, data.overrides(axes, combo)))
    _try_values(sweep, data, axes, scenarios)

    set_at = {data.program_loc(a): (sweep.doc.name, sweep.doc.line_of(("axes", a.path)), f"axes.{a.path}")
              for a in axes}
    return ScenarioSet(sweep, axes, scenarios, _digest(base, sweep), set_at)


def scenario_id(values: dict) -> str:
    """A stable id from the values alone: the same values give the same id in any run or order."""
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class _PathError(Exception):
    pass


class _BaseData:
    """The raw data a scenario's overrides are merged into: the program's, and each site's with
    the program's own site_overrides applied (as the loader does), after the named ``scenario``
    (a list element overridden carries its whole list: the scenario's, not the file's)."""

    def __init__(self, base: ProgramInput, scenario: str | None = None):
        self.program = base.doc.data
        self.doc = base.doc  # with the scenario's keys standing in for those it overrides
        own = self.program.get("site_overrides") or {}
        if scenario is not None:
            self.program, own = _apply_scenario(self.program, own, (self.program.get("scenarios") or {}).get(scenario))
        self.sites = {si.name: deep_merge(si.doc.data, own.get(si.name) or {}) for si in base.sites}
        self.files = {si.name: si.doc.name for si in base.sites}
        self.program_file = base.doc.name
        self.catalogs = {si.name: si.catalog for si in base.sites}

    def resolve(self, path: str) -> Axis:
        parts = path.split(".")
        if not all(parts):
            raise _PathError("a path is keys joined by dots, without empty parts")
        if parts[0] == "sites":
            if len(parts) < 3:
                raise _PathError("expected sites.<site>.<key>...")
            site = parts[1]
            if site not in self.sites:
                raise _PathError(f"no site named '{site}'{did_you_mean(site, self.sites)}; "
                                 f"sites: {', '.join(self.sites)}")
            self._check_catalog(parts[2:], [self.catalogs[site]])
            return Axis(path, site, _walk(self.sites[site], parts[2:], f"sites.{site}"))
        self._check_catalog(parts, list(self.catalogs.values()))
        allowed = [k for k in Program.model_fields if k not in NOT_VARIED and k != "sites"]
        if parts[0] not in allowed:
            raise _PathError(f"'{parts[0]}' is not a key a sweep can vary{did_you_mean(parts[0], allowed)}; "
                             f"a path starts with sites.<site>. or one of: {', '.join(allowed)}")
        return Axis(path, None, _walk(self.program, parts, ""))

    @staticmethod
    def _check_catalog(parts: list[str], catalogs: list) -> None:
        """A catalog path names an existing entry: a sweep varies figures, it does not add
        equipment (a misspelt name would otherwise read as a new, incomplete entry)."""
        if parts[0] != "catalog" or len(parts) < 3:
            return
        section, name = parts[1], parts[2]
        if section not in CATALOG_SECTIONS:
            raise _PathError(f"the catalog has no section '{section}'{did_you_mean(section, CATALOG_SECTIONS)}; "
                             f"sections: {', '.join(CATALOG_SECTIONS)}")
        names = sorted({key for catalog in catalogs for key in getattr(catalog, section)})
        if name not in names:
            raise _PathError(f"no {section} entry '{name}' in the catalog{did_you_mean(name, names)}")

    def overrides(self, axes: list[Axis], values) -> dict:
        """The scenario mapping for these axis values; axes are applied in turn, so two axes in
        one list both land in the whole list the last of them carries."""
        program, sites, out = self.program, dict(self.sites), {}
        for axis, value in zip(axes, values):
            if axis.site is None:
                part = _nested(program, axis.loc, value)
                program = deep_merge(program, part)
                out = deep_merge(out, part)
            else:
                part = _nested(sites[axis.site], axis.loc, value)
                sites[axis.site] = deep_merge(sites[axis.site], part)
                out = deep_merge(out, {"site_overrides": {axis.site: part}})
        return out

    @staticmethod
    def program_loc(axis: Axis) -> tuple:
        """Where what ``axis`` sets lands in the program's data (a site's key: its site_overrides)."""
        return axis.loc if axis.site is None else ("site_overrides", axis.site) + axis.loc

    def file_of(self, axis: Axis) -> str:
        return self.program_file if axis.site is None else self.files[axis.site]


def load_with_overrides(path: Path, scenario: str | None, values: dict) -> ProgramInput:
    """The program at ``path`` (with ``scenario``) with each of ``values``' dotted paths set as a
    sweep's axis would set it (``sites.<site>.<key>...`` or a program key; a list element by
    index or by name). A path that names nothing, or a value the schema refuses, is an
    InputError at ``overrides: <path>``, not at the file's line the value replaced."""
    base = load_program(path, scenario)
    if base.doc is None:
        raise InputError([Problem("overrides", None, next(iter(values), ""),
                                  "overrides apply to a program file, not to a site file planned alone")])
    data, axes = _BaseData(base, scenario), []
    for key in values:
        try:
            axes.append(data.resolve(key))
        except _PathError as err:
            raise InputError([Problem("overrides", None, key, str(err))]) from None
    set_at = {data.program_loc(a): ("overrides", None, a.path) for a in axes}  # what findings about them cite
    try:
        return load_program(path, scenario, data.overrides(axes, list(values.values())), set_at)
    except InputError as err:
        raise InputError([_at_override(data, axes, values, p) for p in err.problems]) from None


def _at_override(data: _BaseData, axes: list[Axis], values: dict, p: Problem) -> Problem:
    for axis in axes:
        if _of_axis(data, axis, p):
            return Problem("overrides", None, axis.path, f"value {values[axis.path]!r}: {p.message}")
    return p


def _of_axis(data: _BaseData, axis: Axis, p: Problem) -> bool:
    """Whether a problem is about what ``axis`` sets: at its key, below it (a key of the value
    set), or above it (a key on its way that the file does not have: a misspelt section)."""
    keys = {dotted(axis.loc)}
    if axis.site is None:  # where the file writes it: under the scenario that also sets it
        keys.add(data.doc.problem(axis.loc, "").key)
    return p.file == data.file_of(axis) and any(
        p.key == key or p.key.startswith((key + ".", key + "[")) or key.startswith((p.key + ".", p.key + "["))
        for key in keys)


def _walk(node, parts: list[str], prefix: str) -> tuple:
    loc = []
    for i, seg in enumerate(parts):
        here = ".".join(([prefix] if prefix else []) + parts[:i])
        if isinstance(node, list):
            index = _element(node, seg, here)
            loc.append(index)
            node = node[index]
        elif node is None or isinstance(node, dict):
            loc.append(seg)
            node = node.get(seg) if node else None
        else:
            raise _PathError(f"{here} is a single value ({node!r}); it has no key '{seg}'")
    return tuple(loc)


def _element(items: list, seg: str, where: str) -> int:
    if seg.isdigit() and int(seg) < len(items):
        return int(seg)
    matches = [i for i, item in enumerate(items)
               if isinstance(item, dict) and any(item.get(k) == seg for k in ELEMENT_KEYS)]
    if len(matches) == 1:
        return matches[0]
    names = [next((str(item[k]) for k in ELEMENT_KEYS if k in item), str(i)) if isinstance(item, dict) else str(i)
             for i, item in enumerate(items)]
    if matches:
        raise _PathError(f"{where} has {len(matches)} elements named '{seg}'; pick one by index")
    raise _PathError(f"{where} is a list with no element '{seg}'{did_you_mean(seg, names)}; pick one by "
                     f"index (0-{len(items) - 1}) or by {', '.join(ELEMENT_KEYS)}: {', '.join(names)}")


def _nested(node, loc: tuple, value):
    """The override that sets ``loc`` in ``node`` to ``value`` under deep_merge: a mapping gives
    only the changed key; a list is given whole, with one element changed."""
    if not loc:
        return value
    head, rest = loc[0], loc[1:]
    if isinstance(head, int):
        items = list(node)
        items[head] = deep_merge(node[head], _nested(node[head], rest, value))
        return items
    child = node.get(head) if isinstance(node, dict) else None
    return {head: _nested(child, rest, value)}


def _draw(sweep: SweepFile, axes: list[Axis]) -> list[tuple]:
    """The value combinations, in a fixed order: the full factorial (first axis slowest) or
    ``sample`` of them. When every axis lists its values, the sample is drawn from the factorial
    without replacement; otherwise each axis draws from its own seeded stream (seed, axis path),
    so adding an axis leaves the others' draws as they were."""
    spec = sweep.spec
    listed_axes = [_listed(spec.axes[a.path]) for a in axes]
    if (spec.sample is not None and all(v is not None for v in listed_axes)
            and math.prod(len(v) for v in listed_axes) < 2**62):  # beyond, repeats are improbable
        return _sample_factorial(listed_axes, spec.sample, spec.seed)
    columns = []
    for axis in axes:
        rng = np.random.default_rng([spec.seed, int(hashlib.sha256(axis.path.encode()).hexdigest()[:15], 16)])
        kind = spec.axes[axis.path]
        listed = _listed(kind)
        if spec.sample is None:
            columns.append(listed if listed is not None else kind.draw(rng, kind.draws))
        elif listed is not None:
            columns.append([listed[i] for i in rng.integers(0, len(listed), spec.sample)])
        else:
            columns.append(kind.draw(rng, spec.sample))
    if spec.sample is None:
        return list(itertools.product(*columns))
    return list(zip(*columns))


def _listed(kind) -> list | None:
    """An axis's values when it lists them (a list or a range); None for a random axis."""
    return kind if isinstance(kind, list) else kind.values() if isinstance(kind, Range) else None


def _sample_factorial(columns: list[list], n: int, seed: int) -> list[tuple]:
    """``n`` distinct combinations of listed values, drawn without replacement (the whole
    factorial when it has no more than ``n``), in factorial order."""
    shape = [len(c) for c in columns]
    size = math.prod(shape)
    picked = range(size) if n >= size else np.sort(np.random.default_rng([seed, 0]).choice(size, n, replace=False))
    return [tuple(c[i] for c, i in zip(columns, np.unravel_index(int(k), shape))) for k in picked]


def _try_values(sweep: SweepFile, data: _BaseData, axes: list[Axis], scenarios: list[Scenario]) -> None:
    """Load the base with each axis value alone (the lowest and highest of a numeric axis, every
    value of another), so that a value the model rejects is reported at its axis line."""
    problems = []
    for axis in axes:
        seen = {}
        for s in scenarios:
            seen.setdefault(json.dumps(s.values[axis.path], sort_keys=True, default=str), s.values[axis.path])
        values = list(seen.values())
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            values = sorted({min(values), max(values)})
        for value in values:
            try:
                load_program(sweep.base_path, None, data.overrides([axis], [value]))
            except InputError as err:
                problems += [_remap(sweep, data, axis, value, p) for p in err.problems]
    refuse(problems)


def _remap(sweep: SweepFile, data: _BaseData, axis: Axis, value, p: Problem) -> Problem:
    said = p.message if _of_axis(data, axis, p) else str(p)
    return _at_axis(sweep, axis.path, said if said.startswith("value ") else f"value {value!r}: {said}")


def _at_axis(sweep: SweepFile, path: str, message: str) -> Problem:
    return sweep.doc.problem(("axes", path), message)


def _digest(base: ProgramInput, sweep: SweepFile) -> str:
    """What makes earlier results reusable: the program's and sites' data, each site's merged
    catalog, hourly series, emergency-hour flags and training job, the resolved caps, the dcplan
    version and the optimality gap (not the time limit, nor the axes)."""

    h = hashlib.sha256()

    def add(*items) -> None:
        for item in items:
            if isinstance(item, np.ndarray) or item is None:
                h.update(b"-" if item is None else np.ascontiguousarray(item, dtype=float).tobytes())
            else:
                h.update(json.dumps(item, sort_keys=True, default=str).encode())

    add([__version__, sweep.spec.mip_gap, base.doc.data], [(c.cap.model_dump(), c.groups, c.in_force)
                                                           for c in base.caps])
    for si in base.sites:
        add(si.doc.data, si.catalog.model_dump(), si.price_usd_per_mwh, si.grid_co2_t_per_mwh, si.solar_cf,
            si.wind_cf, *(si.pue[k] for k in sorted(si.pue)), *_flags(si, base.caps))
        job = training_job(si)
        if job is not None:
            add([job.time_step_s, job.gpus, job.tdp_w, job.server_mw], job.load_mw)
    return h.hexdigest()[:16]


def _flags(si, caps) -> list:
    """The hour flags the plan would read for this site: each cap's emergency hours and a flexible
    connection's curtailed hours (None where a file cannot be read)."""
    grid = si.site.grid
    hours = [(getattr(rc.cap, "emergency", None), rc.flags_at, rc.doc) for rc in caps]
    if grid is not None and grid.flexible is not None:
        hours.append((grid.flexible.curtailment, ("grid", "flexible", "curtailment", "flags"), None))
    out = []
    for em, where, doc in hours:
        if em is None or em.flags is None:
            continue
        try:
            out.append(si.hour_flags(em.flags, where, doc))
        except SeriesError:
            out.append(None)
    return out
