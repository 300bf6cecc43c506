"""Read a committed plan folder (the output of `dcplan plan`): plan.yaml with the line of every
key, and dispatch.csv as arrays per site. A malformed plan is invalid input, reported at its
file and line like any other."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import dcplan.trust as trust
from dcplan.errors import InputError, Problem, display_path, refuse
from dcplan.locate import Where
from dcplan.plans.files import (
    FiguredPlan,
    changed_since_written,
    dispatch_problems,
    read_dispatch,
    read_plan_yaml,
)
from dcplan.yamlio import YamlDocument

DISPATCH_REQUIRED = ("hour_of_year", "weight", "load_mw")


@dataclass
class CommittedPlan:
    folder: Path
    doc: YamlDocument
    plan: FiguredPlan
    dispatch: dict[str, dict[str, np.ndarray]]  # site -> column -> values (a build-out's `period` as text)
    dispatch_name: str
    changed: list[str]  # files that differ from what dcplan wrote (dcplan.plans.files.changed_files)

    @property
    def name(self) -> str:
        return display_path(self.folder)

    def where(self, loc: tuple) -> Where:
        """A key of plan.yaml, for findings about the plan itself."""
        p = self.doc.problem(loc, "")
        return Where(p.file, p.line, p.key)


def read_plan(folder: Path) -> CommittedPlan:
    """plan.yaml and dispatch.csv of a committed plan, or :class:`InputError` naming what is wrong.
    Both must lie in the plan folder's trusted folders (:mod:`dcplan.trust`): a committed plan
    linked to a file elsewhere is refused unread."""
    folders = trust.trusted_folders(folder)
    for name in ("plan.yaml", "dispatch.csv"):
        if trust.outside(folder / name, folders):
            raise InputError([Problem(display_path(folder / name), None, "", trust.refusal(name, folders, folder / name))])
    if not (folder / "plan.yaml").is_file():  # a damaged plan must not turn verification into a solve
        held = ", ".join(sorted(f.name for f in folder.iterdir() if f.name != "plan.yaml")) or "nothing else"
        what = "not a file" if (folder / "plan.yaml").exists() else "missing"
        raise InputError([Problem(display_path(folder / "plan.yaml"), None, "", f"{what}: the plan folder holds "
                                  f"{held}; commit plan.yaml with them (`dcplan plan -o` writes them together), "
                                  "or delete the folder to have the file solved for feasibility")])
    doc, plan = read_plan_yaml(folder / "plan.yaml", shape=FiguredPlan)
    path = folder / "dispatch.csv"
    name = display_path(path)
    if not path.is_file():
        raise InputError([Problem(name, None, "", "missing: commit dispatch.csv with plan.yaml "
                                  "(both are written by `dcplan plan -o`)")])
    dispatch = read_dispatch(path)
    problems = dispatch_problems(name, dispatch, plan)
    for site in plan.sites:
        columns = dispatch.get(site)
        if columns is None:
            continue
        missing = [c for c in DISPATCH_REQUIRED if c not in columns]
        if missing:
            problems.append(Problem(name, 1, "", f"site {site}: missing column(s) {', '.join(missing)}"))
        elif np.any(columns["hour_of_year"] < 0) or np.any(columns["hour_of_year"] >= 8760):
            problems.append(Problem(name, None, "hour_of_year", f"site {site}: hours must be 0..8759"))
    if plan.timeline is not None and any("period" not in cols for cols in dispatch.values()):
        problems.append(Problem(name, 1, "period", "a build-out plan's dispatch needs a `period` column"))
    refuse(problems)
    return CommittedPlan(folder, doc, plan, dispatch, name, changed_since_written(folder))
