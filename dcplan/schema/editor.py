"""JSON Schemas of the input files, for editors (the YAML language server completes keys,
shows each field's description and flags wrong types as you type) and for other tools.

They are generated from the same pydantic models that validate the files, so they cannot
drift; `dcplan schema KIND` prints one, and the repository keeps them in
``dcplan/schema/json/`` (a test checks they are current). They check shapes and types; the
checks that need the catalog or the CSVs (a GPU model that exists, a column's unit) remain
`dcplan validate`'s.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from dcplan.choices import SCHEMA_KINDS

MODELS = {"site": ("dcplan.schema.site", "Site"), "program": ("dcplan.schema.program", "Program"),
          "workload": ("dcplan.schema.workload", "WorkloadFile"),
          "smoothing": ("dcplan.schema.smoothing", "SmoothingFile"), "sweep": ("dcplan.sweep.spec", "Sweep")}
assert tuple(MODELS) == SCHEMA_KINDS
FOLDER = Path(__file__).parent / "json"
"""Where the repository keeps the schemas (a site file's modeline points here)."""


def json_schema(kind: str) -> dict:
    """The JSON Schema (draft 2020-12) of one kind of input file."""
    module, name = MODELS[kind]
    schema = getattr(importlib.import_module(module), name).model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": f"dcplan {kind} file", **schema}


def schema_text(kind: str) -> str:
    return json.dumps(json_schema(kind), indent=2, sort_keys=True) + "\n"


def write_schemas(folder: Path) -> None:
    """Every kind's schema into ``folder`` (as ``KIND.json``), for a portfolio of its own."""
    folder.mkdir(parents=True, exist_ok=True)
    for kind in SCHEMA_KINDS:
        (folder / f"{kind}.json").write_text(schema_text(kind))
