"""YAML reading that remembers where every key came from.

PyYAML's composer gives us nodes with line marks; we build plain Python data from them and,
alongside, a map from key path (a tuple of keys and list indices) to 1-based line number.
Validation errors are then reported at the line of the offending key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from dcplan.errors import InputError, Problem, display_path

KeyPath = tuple


@dataclass
class YamlDocument:
    """Parsed YAML data with the line of every key path."""

    path: Path
    data: object
    lines: dict[KeyPath, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return display_path(self.path)

    def line_of(self, loc: KeyPath) -> int | None:
        """Line of the deepest known prefix of ``loc`` (a missing key points at its parent)."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), 1)

    def problem(self, loc: KeyPath, message: str) -> Problem:
        return Problem(self.name, self.line_of(loc), dotted(loc), message)


def dotted(loc: KeyPath) -> str:
    """('grid', 'steps', 0, 'date') -> 'grid.steps[0].date'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _build(node: yaml.Node, path: KeyPath, lines: dict, problems: list, fname: str):
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = _build(key_node, path + ("<key>",), {}, problems, fname)
            if isinstance(key, (list, dict)):
                problems.append(Problem(fname, key_node.start_mark.line + 1, dotted(path),
                                        "a mapping key must be a plain value"))
                continue
            if key in out:
                problems.append(Problem(fname, key_node.start_mark.line + 1, dotted(path + (key,)),
                                        "duplicate key (an earlier line sets it too)"))
            out[key] = _build(value_node, path + (key,), lines, problems, fname)
            lines[path + (key,)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), lines, problems, fname) for i, item in enumerate(node.value)]
    try:
        return yaml.SafeLoader.construct_object(_CONSTRUCTOR, node, deep=True)
    except ValueError as exc:  # a value YAML reads as a date or number but cannot be one: 2027-13-45
        problems.append(Problem(fname, node.start_mark.line + 1, dotted(path), f"not a valid value: {exc}"))
        return None


_CONSTRUCTOR = yaml.SafeLoader("")


def load_yaml(path: Path) -> YamlDocument:
    """Read a YAML file; raise :class:`InputError` for unreadable files and syntax errors."""
    name = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError([Problem(name, None, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([Problem(name, None, "", f"cannot read file: {exc}")]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = exc.problem or "invalid YAML"
        context = f" ({exc.context})" if exc.context else ""
        raise InputError([Problem(name, line, "", f"YAML syntax error: {what}{context}")]) from None
    except yaml.YAMLError as exc:
        raise InputError([Problem(name, None, "", f"YAML syntax error: {exc}")]) from None
    if node is None:
        return YamlDocument(path, {}, {(): 1})
    problems: list[Problem] = []
    lines: dict[KeyPath, int] = {}
    try:
        data = _build(node, (), lines, problems, name)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError([Problem(name, mark.line + 1 if mark else None, "",
                                  f"YAML error: {exc}")]) from None
    if problems:
        raise InputError(problems)
    return YamlDocument(path, data, lines)
