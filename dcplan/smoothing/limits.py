"""Read a ``kind: smoothing`` file and apply command-line overrides; check a smoothing spec
beyond its schema. A site's ``smoothing:`` section is read with its site
(:func:`dcplan.loader.load_smoothing`); the schema and the definitions of each limit are in
:mod:`dcplan.schema.smoothing`."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from dcplan.catalog import builtin_catalog
from dcplan.choices import RESOLUTION_S, within
from dcplan.errors import InputError, Problem, did_you_mean, refuse
from dcplan.schema.smoothing import Economics, Limits, SmoothingFile, SmoothingSpec
from dcplan.schema.validate import validation_problems
from dcplan.yamlio import YamlDocument, load_yaml


def check_spec(spec: SmoothingSpec, doc: YamlDocument, base: tuple) -> list[Problem]:
    """What the schema cannot say of ``spec`` (written at ``base`` in ``doc``): a slowdown needs
    a price. (Its battery type is checked against the catalog that prices it: dcplan's here, a
    site's by the loader.)"""
    burn = spec.mitigations.burn
    if burn is not None and burn.slowdown_fraction > 0 and spec.economics.throughput_value_usd_per_gpu_hour == 0:
        return [doc.problem(base + ("mitigations", "burn", "slowdown_fraction"),
                            "a slowdown needs economics.throughput_value_usd_per_gpu_hour to price it")]
    return []


def load_smoothing_spec(path: Path | str) -> SmoothingSpec:
    """Read a ``kind: smoothing`` file (limits, mitigations, economics)."""
    doc = load_yaml(Path(path))
    data = doc.data
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind != "smoothing":
        found = f"found {kind!r}" if kind is not None else "it is missing"
        raise InputError([doc.problem(("kind",), f"expected `kind: smoothing` (or `kind: site` with a "
                                      f"`smoothing:` section), {found}")])
    refuse(validation_problems(doc, SmoothingFile, data))
    spec = SmoothingSpec.model_validate({k: v for k, v in data.items() if k not in ("kind", "name")})
    problems = check_spec(spec, doc, ())
    storage = builtin_catalog().storage
    bat = spec.mitigations.battery
    if bat is not None and bat.type not in storage:
        problems.append(doc.problem(("mitigations", "battery", "type"),
                                    f"'{bat.type}' is not in the storage catalog" + did_you_mean(bat.type, storage)))
    refuse(problems)
    return spec


def with_overrides(spec: SmoothingSpec, limits: dict | None = None, economics: dict | None = None,
                   resolution_s: float | None = None) -> SmoothingSpec:
    """``spec`` with command-line values (None = not given) replacing the file's."""
    limits = {k: v for k, v in (limits or {}).items() if v is not None}
    economics = {k: v for k, v in (economics or {}).items() if v is not None}
    problems = []
    update = {}
    for name, cls, given in (("limits", Limits, limits), ("economics", Economics, economics)):
        if not given:
            continue
        try:
            update[name] = cls.model_validate({**getattr(spec, name).model_dump(exclude_unset=True), **given})
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                key = "--" + str(err["loc"][0]).replace("_", "-") if err["loc"] else \
                    ", ".join("--" + k.replace("_", "-") for k in given)
                problems.append(Problem("command line", None, key, err["msg"].removeprefix("Value error, ")))
    if resolution_s is not None:
        try:
            within("--resolution-s", resolution_s, RESOLUTION_S)
        except ValueError as exc:
            problems.append(Problem("command line", None, "--resolution-s", str(exc).removeprefix("--resolution-s ")))
        update["resolution_s"] = resolution_s
    refuse(problems)
    return spec.model_copy(update=update) if update else spec
