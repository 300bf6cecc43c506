"""Find the files `dcplan check` looks at, and the committed plan of each.

Convention: the committed plan of a program (or of a site file with a compute target, which is
planned alone) is the output folder of `dcplan plan` named after it, ``plans/<name>/`` holding
``plan.yaml`` and ``dispatch.csv`` (``summary.json`` may sit beside them and is not read). The
``plans/`` folder is the one given with ``--plan``, or else the first ``plans/`` found in the
folder of each path given (a folder, or a file's folder) or a folder above it, up to its git
work tree's top (outside git, the folder above). A program
owns its name: a site file named like a program checked with it is only validated.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from dcplan.errors import InputError, Problem, display_path, real_path
from dcplan.loader import discover, is_plan_output
from dcplan.yamlio import YamlDocument, load_yaml

PLANS_FOLDER = "plans"


@dataclass
class Target:
    """One YAML file to check; ``plan`` is its committed plan folder when there is one."""

    path: Path
    doc: YamlDocument | None  # None when the file could not be read as YAML
    kind: str | None
    name: str | None = None
    plannable: bool = False  # a program, or a site file with a compute target
    plan: Path | None = None
    named: bool = False  # named on the command line (not found in a folder)
    unreadable: list[Problem] = field(default_factory=list)  # why ``doc`` is None: read once, not again


def default_plan_root(path: Path) -> Path | None:
    """The first ``plans/`` in the path's folder or a folder above it, up to its git work tree's
    top (else the folder above: outside git there is no top to stop at). An example two folders
    down from the repository's plans/ had found none and been solved instead (an audit)."""
    folder = Path(os.path.abspath(path if path.is_dir() else path.parent))
    top = next((d for d in (folder, *folder.parents) if (d / ".git").exists()), folder.parent)
    for candidate in (folder, *folder.parents):
        if (candidate / PLANS_FOLDER).is_dir():
            return candidate / PLANS_FOLDER
        if candidate == top:
            break
    return None


def find_targets(paths: list[Path], plan_root: Path | None = None) -> tuple[list[Target], list[Problem]]:
    """Every YAML file under ``paths`` that dcplan reads (other YAML, such as CI workflows and
    committed plans, is left out), each with its committed plan folder if it has one; and, as
    problems, paths that do not exist and the committed plans of a folder checked whole (its own
    ``plans/``) that no file in it plans (its input deleted or renamed). Raises
    :class:`InputError` when ``plan_root`` is not a folder, or holds the plan of no file checked."""
    if plan_root is not None and not plan_root.is_dir():  # not a fallback to plans/: the wrong plans pass
        raise InputError([Problem(display_path(plan_root), None, "--plan", "a file, not a folder of committed plans"
                                  if plan_root.exists() else "no such folder")])
    problems: list[Problem] = []
    targets, seen = [], set()
    for path in paths:
        files, missing = discover([path])
        problems += missing
        root = plan_root or default_plan_root(path)
        for f in files:
            resolved = real_path(f)
            if resolved in seen or (root is not None and resolved.is_relative_to(real_path(root))):
                continue
            seen.add(resolved)
            target = _target(f, named=not path.is_dir())
            if target is None:
                continue
            if target.plannable and root is not None and (root / target.name).is_dir():
                target.plan = root / target.name  # without its plan.yaml, an input error: never a solve
            targets.append(target)
    programs = {t.name for t in targets if t.kind == "program" and t.plannable}
    for t in targets:
        if t.kind == "site" and t.name in programs:
            t.plannable, t.plan = False, None
    plannable = [t.name for t in targets if t.plannable]
    if plan_root is not None and plannable and not any(t.plan for t in targets):
        # a mistyped --plan would otherwise turn verification into a solve of each, which passes
        held = sorted(f.name for f in plan_root.iterdir() if (f / "plan.yaml").is_file())
        raise InputError([Problem(display_path(plan_root), None, "--plan", "no committed plan of any file checked "
                                  f"(looked for {', '.join(f'{n}/plan.yaml' for n in plannable[:3])}"
                                  f"{', ...' if len(plannable) > 3 else ''}; it holds the plans of "
                                  f"{', '.join(held) if held else 'nothing'})")])
    return targets, problems + _orphaned_plans(paths, targets)


def _orphaned_plans(paths: list[Path], targets: list[Target]) -> list[Problem]:
    """The committed plans in ``PATH/plans/`` of each folder PATH checked whole that no file
    found plans: every input of such a folder's plans lies in it, so the plan's input is gone."""
    planned = {t.name for t in targets if t.plannable}
    unreadable = any(t.doc is None for t in targets)  # its name unknown: it may own any plan
    problems = []
    for path in paths:
        root = path / PLANS_FOLDER
        if unreadable or not path.is_dir() or not root.is_dir():
            continue
        where = "this folder" if display_path(path) == "." else display_path(path)
        for folder in sorted(root.iterdir()):
            if (folder / "plan.yaml").is_file() and folder.name not in planned:
                problems.append(Problem(display_path(folder / "plan.yaml"), None, "",
                                        f"a committed plan of no site or program in {where} (none is named "
                                        f"'{folder.name}'): delete it, or restore or rename its input"))
    return problems


def _target(path: Path, named: bool) -> Target | None:
    try:
        doc = load_yaml(path)
    except InputError as err:
        return Target(path, None, None, named=named, unreadable=err.problems)
    if is_plan_output(doc) and not named:
        return None
    data = doc.data if isinstance(doc.data, dict) else {}
    kind = data.get("kind")
    name = data.get("name") if isinstance(data.get("name"), str) else None
    compute = data.get("compute")
    plannable = kind == "program" or (kind == "site" and isinstance(compute, dict)
                                      and compute.get("target") is not None)
    return Target(path, doc, kind if isinstance(kind, str) else None, name, plannable and name is not None,
                  named=named)
