"""The built-in equipment catalog (data files in ``data/``) and its merging with overrides."""

from __future__ import annotations

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
