"""The built-in equipment catalog (data files in ``data/``) and its merging with overrides."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from dcplan.schema.catalog import SECTIONS, Catalog
from dcplan.yamlio import load_packaged


@lru_cache(maxsize=1)
def builtin_catalog_data() -> dict[str, dict[str, dict]]:
    """Raw built-in catalog: section -> key -> fields."""
    data = {}
    for section in SECTIONS:
        text = resources.files("dcplan.catalog").joinpath("data", f"{section}.yaml").read_text("utf-8")
        data[section] = load_packaged(text) or {}
    return data


def builtin_catalog() -> Catalog:
    return Catalog(**builtin_catalog_data())


@lru_cache(maxsize=1)
def references() -> dict[str, str]:
    """What the catalog's sources cite as ``[n]`` or ``[RC n]``, by key ("14", "RC 16")."""
    text = resources.files("dcplan.catalog").joinpath("data", "references.yaml").read_text("utf-8")
    return {str(k): v for k, v in (load_packaged(text) or {}).items()}


def cited(source: str) -> list[str]:
    """The reference keys a source text cites, in order: "[RC 76,77]" -> RC 76, RC 77 (a prefix
    carries on within the brackets); "[48; RC 60-63]" -> 48, RC 60 ... RC 63."""
    keys = []
    for group in re.findall(r"\[([^\]]+)\]", source):
        prefix = ""
        for item in re.split(r"[,;]", group):
            found = re.fullmatch(r"\s*(RC\s+)?(\d+)(?:-(\d+))?\s*", item)
            if found is None:  # words in brackets: "[weak]"
                continue
            prefix = "RC " if found.group(1) else prefix
            first, last = int(found.group(2)), int(found.group(3) or found.group(2))
            keys += [f"{prefix}{n}" for n in range(first, last + 1) if f"{prefix}{n}" not in keys]
    return keys
