"""YAML reading that remembers where every key came from.

PyYAML's composer gives us nodes with line marks; we build plain Python data from them and,
alongside, a map from key path (a tuple of keys and list indices) to 1-based line number.
Validation errors are then reported at the line of the offending key.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

import dcplan.trust as trust
from dcplan.errors import InputError, Problem, display_path, refuse

KeyPath = tuple

MAX_VALUES = 1_000_000
"""The most values a document may hold once its aliases are expanded (a billion-laughs alias
bomb expands a few lines into billions)."""
MAX_DEPTH = 100
"""The deepest nesting of mappings and lists read (a site file nests about six deep)."""


class _TooLarge(Exception):
    pass


@dataclass
class YamlDocument:
    """Parsed YAML data with the line of every key path."""

    path: Path
    data: object
    lines: dict[KeyPath, int] = field(default_factory=dict)
    folders: tuple[Path, ...] = ()  # what the files it refers to may be in: see dcplan.trust
    written_at: dict[KeyPath, KeyPath] = field(default_factory=dict)  # an overlay's keys: see overlaid

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
        loc = tuple(loc)
        return Problem(self.name, self.line_of(loc), dotted(self._written(loc)), message)

    def _written(self, loc: KeyPath) -> KeyPath:
        """Where ``loc`` is written: under an overlay's prefix where the deepest part of it the
        file has (whose line :meth:`line_of` gives) is the overlay's, a missing key included."""
        known = next((loc[:n] for n in range(len(loc), 0, -1) if loc[:n] in self.lines), ())
        return self.written_at[known] + loc[len(known):] if known in self.written_at else loc

    def overlaid(self, prefix: KeyPath) -> YamlDocument:
        """This document with the keys under ``prefix`` (a scenario's) standing in for the keys
        they override, so that a value a scenario sets is reported at the scenario's line and key."""
        n = len(prefix)
        under = [loc for loc in self.lines if loc[:n] == prefix and len(loc) > n]
        overlay = {loc[n:] for loc in under}
        # a value that is no mapping (a list, a number) replaces the base's whole: its keys below go
        mappings = {loc[:-1] for loc in overlay if isinstance(loc[-1], str)}
        replaced = overlay - mappings
        kept = {loc: line for loc, line in self.lines.items()
                if not any(loc[:len(r)] == r and len(loc) > len(r) for r in replaced)}
        return dataclasses.replace(self, lines={**kept, **{loc[n:]: self.lines[loc] for loc in under}},
                                   written_at={**self.written_at, **{loc[n:]: loc for loc in under}})

    def reference(self, written: str, loc: KeyPath) -> Path:
        """The file that ``written``, a path this document gives at ``loc``, names (relative to
        the document's folder); :class:`InputError` at ``loc`` when it is outside the trusted
        folders, before anything opens it."""
        path = self.path.parent / written
        if trust.outside(path, self.folders):
            raise InputError([self.problem(loc, trust.refusal(written, self.folders, path))])
        return path


def dotted(loc: KeyPath) -> str:
    """('grid', 'steps', 0, 'date') -> 'grid.steps[0].date'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _expanded_values(node: yaml.Node, counted: dict, depth: int = 0) -> int:
    """How many values ``node`` holds once its aliases are expanded, each shared node counted
    once per use but walked once, so that an alias bomb is refused in milliseconds rather than
    after building a million values (seconds). Stops at ``MAX_DEPTH``, which :func:`_build`
    reports; a node inside itself (a recursive anchor) counts as too many."""
    key = id(node)
    if key in counted:
        return counted[key]
    if depth > MAX_DEPTH or not isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        return 1
    counted[key] = MAX_VALUES + 1  # while its children are counted: met again, it contains itself
    children = [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else node.value
    counted[key] = min(MAX_VALUES + 1, 1 + sum(_expanded_values(n, counted, depth + 1) for n in children))
    return counted[key]


def _build(node: yaml.Node, path: KeyPath, lines: dict, problems: list, fname: str):
    if len(path) > MAX_DEPTH:
        raise _TooLarge(f"nested more than {MAX_DEPTH} deep")
    lines[path] = node.start_mark.line + 1
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN_TAGS:
        problems.append(Problem(fname, node.start_mark.line + 1, dotted(path), f"the tag {node.tag} is not "
                                "allowed: a dcplan input is plain mappings, lists and values"))
        return None
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor`, YAML 1.1's, which the reader does not merge
                problems.append(Problem(fname, key_node.start_mark.line + 1, dotted(path + ("<<",)),
                                        "a merge key (<<) is not read: write the keys out (an anchor and alias "
                                        "may stand for a whole value)"))
                continue
            key = _build(key_node, path + ("<key>",), {}, problems, fname)
            if isinstance(key, (list, dict)):
                problems.append(Problem(fname, key_node.start_mark.line + 1, dotted(path),
                                        "a mapping key must be a plain value"))
                continue
            if key in out:
                problems.append(Problem(fname, key_node.start_mark.line + 1, dotted(path + (key,)),
                                        f"duplicate key (line {lines[path + (key,)]} sets it too)"))
            out[key] = _build(value_node, path + (key,), lines, problems, fname)
            lines[path + (key,)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), lines, problems, fname) for i, item in enumerate(node.value)]
    try:
        value = _scalar(node)
    except ValueError as exc:  # a value YAML reads as a date or number but cannot be one: 2027-13-45
        problems.append(Problem(fname, node.start_mark.line + 1, dotted(path), f"not a valid value: {exc}"))
        return None
    if isinstance(value, float) and not math.isfinite(value):  # .nan or .inf would pass every range check
        problems.append(Problem(fname, node.start_mark.line + 1, dotted(path),
                                f"{node.value} is not a number a plan can use; give a finite value"))
        return None
    if node.tag in _NUMBER_TAGS and _YAML11_NUMBER.match(node.value):
        problems.append(Problem(fname, node.start_mark.line + 1, dotted(path),
                                f"{node.value} is read by YAML as {trust.shown(value)} (an octal, hexadecimal, binary or base-60 "
                                "number): write the number in decimal, or quote it for text"))
        return None
    if isinstance(value, str) and _SURROGATE.search(value):  # a "\ud800" escape: no text can hold it
        problems.append(Problem(fname, node.start_mark.line + 1, dotted(path),
                                "a lone surrogate (an escape such as \\ud800) is not text: remove it"))
        return None
    if trust.too_large(value) and not (path and path[-1] == "seed"):
        problems.append(Problem(fname, node.start_mark.line + 1, dotted(path), trust.too_large_words(value)))
        return None
    return value


def _scalar(node: yaml.ScalarNode):
    """The value of one scalar node, as YAML 1.1's safe loader reads it (dates, numbers, booleans).
    The shared constructor remembers each node it built; forgotten here, or a long process
    (a sweep's worker) would keep every input file's nodes."""
    try:
        return _CONSTRUCTOR.construct_object(node, deep=True)
    finally:  # (a value it refuses leaves the node marked as under construction: unmarked too)
        _CONSTRUCTOR.constructed_objects.pop(node, None)
        _CONSTRUCTOR.recursive_objects.pop(node, None)
        _CONSTRUCTOR.deep_construct = False


_CONSTRUCTOR = yaml.SafeLoader("")
_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_SURROGATE = re.compile("[\ud800-\udfff]")
_YAML11_NUMBER = re.compile(r"[-+]?(0[0-9_]*[0-9]|0[xob].*|[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?)$")
"""YAML 1.1's numbers that no one means in a site file: 0150 (octal, 104), 0x96, 0b11 and 2:30
(base 60, 150), which PyYAML read silently."""


def load_yaml(path: Path, folders: tuple[Path, ...] | None = None) -> YamlDocument:
    """Read a YAML file; raise :class:`InputError` for unreadable files and syntax errors.
    ``folders``: those the files it refers to may be in; by default (a file given on the command
    line) :func:`dcplan.trust.trusted_folders` of its own path."""
    name = display_path(path)
    folders = trust.trusted_folders(path) if folders is None else folders
    try:
        refused = trust.file_problem(path, trust.MAX_YAML_BYTES, "DCPLAN_MAX_YAML_MB", "a YAML input")
        if refused:
            raise InputError([refused])
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError([Problem(name, None, "", "file not found")]) from None
    except UnicodeDecodeError as exc:
        line = exc.object[:exc.start].count(b"\n") + 1
        raise InputError([Problem(name, line, "", f"not UTF-8 text: byte 0x{exc.object[exc.start]:02x} "
                                  "(save the file as UTF-8)")]) from None
    except OSError as exc:
        raise InputError([Problem(name, None, "", f"cannot read file: {exc}")]) from None
    return parse_yaml(text, path, folders)


def load_packaged(text: str):
    """YAML shipped with dcplan (the catalog, the presets), whose errors no user reads: parsed by
    libyaml where PyYAML has it, the same data some 25 times faster (the catalog's files: 0.07 s
    of every plan's start in pure Python)."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def parse_yaml(text: str, path: Path, folders: tuple[Path, ...] = ()) -> YamlDocument:
    """YAML text read as :func:`load_yaml` reads a file (``path`` names it in messages: a file
    in a git revision, say), within the same limits."""
    name = display_path(path)
    if trust.MAX_YAML_BYTES is None:
        raise InputError([trust.limit_problem("DCPLAN_MAX_YAML_MB")])
    if len(text.encode()) > trust.MAX_YAML_BYTES:
        raise InputError([Problem(name, None, "", f"larger than the {trust.MAX_YAML_BYTES / 1e6:g} MB a YAML "
                                  "input may be (DCPLAN_MAX_YAML_MB raises it)")])
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        raise InputError([Problem(name, None, "", f"nested too deep to read (at most {MAX_DEPTH} levels)")]) from None
    except yaml.reader.ReaderError as exc:  # a control character (ESC, NUL): it has a position, not a mark
        line = text[:exc.position].count("\n") + 1 if isinstance(exc.position, int) else None
        raise InputError([Problem(name, line, "", f"a control character (0x{exc.character:02x}) YAML does not allow "
                                  "in a file: remove it")]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = exc.problem or "invalid YAML"
        began = exc.context_mark.line + 1 if exc.context_mark else None  # an unclosed [ or {: where it opened
        context = (f" ({exc.context}" + (f" begun on line {began}" if began and began != line else "") + ")"
                   if exc.context else "")
        raise InputError([Problem(name, line, "", f"YAML syntax error: {what}{context}")]) from None
    except yaml.YAMLError as exc:
        raise InputError([Problem(name, None, "", f"YAML syntax error: {exc}")]) from None
    if node is None:
        return YamlDocument(path, {}, {(): 1}, folders)
    problems: list[Problem] = []
    lines: dict[KeyPath, int] = {}
    try:
        if _expanded_values(node, {}) > MAX_VALUES:
            raise _TooLarge(f"more than {MAX_VALUES:,} values once its aliases are expanded")
        data = _build(node, (), lines, problems, name)
    except _TooLarge as exc:
        raise InputError([Problem(name, None, "", f"not read: {exc}")]) from None
    except yaml.YAMLError as exc:  # a tag no constructor reads (!custom): its words, at its line
        mark = getattr(exc, "problem_mark", None)
        said = getattr(exc, "problem", None) or str(exc)
        raise InputError([Problem(name, mark.line + 1 if mark else None, "", f"YAML error: {said}"
                                  + (" (a tag dcplan does not read: remove it)" if "tag" in said else ""))]) from None
    refuse(problems)
    return YamlDocument(path, data, lines, folders)
