"""Validate parsed YAML against a pydantic schema and turn each error into a problem at the
file, line and dotted key it is about (with a did-you-mean for unknown keys)."""

from __future__ import annotations

import datetime as dt
import types
import typing

from pydantic import BaseModel, ValidationError

from dcplan.errors import Problem, did_you_mean
from dcplan.schema.base import SERIES_TAGS, At
from dcplan.yamlio import YamlDocument, dotted


def _model_at(cls, loc: tuple):
    """The pydantic model class that owns the last key of ``loc``, walking through containers."""
    tp = cls
    for part in loc:
        tp = _unwrap(tp, part)
        if tp is None:
            return None
    return _unwrap(tp, None)


def _unwrap(tp, part):
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0], part)
    if origin in (typing.Union, types.UnionType):
        models = [a for a in typing.get_args(tp) if _unwrap(a, None) is not None]
        return _unwrap(models[0], part) if len(models) == 1 else None
    if origin in (list, tuple):
        return typing.get_args(tp)[0] if isinstance(part, int) else None
    if origin is dict:
        return typing.get_args(tp)[1] if part is not None else None
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if part is None:
            return tp
        info = tp.model_fields.get(part)
        return info.annotation if info else None
    return None


def _clean_loc(data, loc: tuple) -> tuple:
    """Drop union tags pydantic inserts into error locations, keeping real keys and indices."""
    out, node = [], data
    for i, part in enumerate(loc):
        if part in SERIES_TAGS and isinstance(node, dict) and i + 1 < len(loc) and not _holds(node.get(part), loc[i + 1]):
            continue  # a series' union tag (csv, curve) that is also a key of its mapping: the tag
        if isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, dict) and part in (other := _other_keys(node)):  # a key YAML read as null,
            out.append(other[part])  # a number or a date, which pydantic names by its str or repr
            node = node[other[part]]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            out.append(part)
            node = node[part]
        elif i == len(loc) - 1 and isinstance(node, dict):
            out.append(part)  # a missing key: report it under its parent
        elif isinstance(node, (dict, list)):
            continue
    return tuple(out)


def _holds(node, part) -> bool:
    return (isinstance(node, dict) and part in node) or (isinstance(node, list) and isinstance(part, int)
                                                         and part < len(node))


def _other_keys(node: dict) -> dict:
    """The keys of ``node`` that are not text, by their str and repr."""
    return {text: k for k in node if not isinstance(k, str) for text in (str(k), repr(k))}


def validation_problems(doc: YamlDocument, cls, data, base_loc: tuple = ()) -> list[Problem]:
    """Validate ``data`` as ``cls``; translate pydantic errors into file/line problems."""
    try:
        cls.model_validate(data)
        return []
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    problems = []
    for err in errors:
        kind = err["type"]
        # a key YAML read as other than text where text is wanted, of a model or of a dict[str, ...] (pydantic
        # places it in the location as its repr, or 1 for true); a dict by number reports its keys as values
        if kind == "invalid_key" or (kind == "string_type" and err["loc"][-1:] == ("[key]",)):
            parent = err["loc"][:-1] if kind == "invalid_key" else err["loc"][:-2]
            problems.append(_key_not_text(doc, base_loc + _clean_loc(data, tuple(parent)), err["input"]))
            continue
        loc = _clean_loc(data, tuple(err["loc"]))
        full = base_loc + loc
        if kind == "extra_forbidden":
            owner = _model_at(cls, loc[:-1])
            allowed = sorted(owner.model_fields) if owner else []
            hint = did_you_mean(loc[-1], allowed)
            msg = f"unknown key{hint}; expected one of: {', '.join(allowed)}" if allowed else "unknown key"
        elif kind == "missing" and isinstance(err["loc"][-1], int):  # a fixed-length list (a curve's [x, y])
            full = base_loc + _clean_loc(data, tuple(err["loc"][:-1]))
            msg = f"too few values (none at position {err['loc'][-1] + 1}); found {_short(err['input'])}"
        elif kind == "missing":
            msg = "required key is missing"
        elif kind == "model_type":  # pydantic names its class: 'a valid dictionary or instance of GpuOption'
            found = err.get("input")
            msg = "expected a mapping of keys (key: value)" + (f"; found {found!r}" if not isinstance(found, list) else
                                                               "; found a list")
        elif kind == "value_error":
            error = err.get("ctx", {}).get("error")
            msg = str(error) if error is not None else err["msg"]
            full += error.key if isinstance(error, At) else ()
        else:
            found = err.get("input")
            found_text = ("; found null" if found is None else f"; found the date {found.isoformat()}"
                          if isinstance(found, (dt.date, dt.datetime)) else
                          f"; found {_short(found)}" if not isinstance(found, (dict, list)) else "")
            msg = f"{err['msg'][0].lower()}{err['msg'][1:]}{found_text}"
            if kind in ("float_parsing", "int_parsing") and found in ("true", "false"):  # (StrictModel passes it as text)
                msg = (f"a number is due, not {found} (YAML reads an unquoted yes, no, on or off as true or "
                       "false)")
            if isinstance(found, bool) and kind == "string_type":
                msg += (" (YAML reads an unquoted yes, no, on or off as true or false: quote the text, "
                        "as in country: \"NO\")")
        problems.append(doc.problem(full, msg))
    return problems


def _short(value) -> str:
    """A value found, as written (quoted if text), cut to 80 characters: a name of a
    megabyte had been echoed whole."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(str(value)):,} characters)"


def _key_not_text(doc: YamlDocument, parent: tuple, key) -> Problem:
    """A mapping key YAML read as something other than text (``5``, ``true``, ``~``, a date),
    at its own line and under its parent (a number printed in the dotted key reads as a list
    position)."""
    what = ("true or false" if isinstance(key, bool) else "null" if key is None
            else "a date" if isinstance(key, (dt.date, dt.datetime)) else "a number")
    written = "~" if key is None else str(key).lower() if isinstance(key, bool) else str(key)
    line = doc.lines.get(parent + (key,)) or doc.line_of(parent)
    return Problem(doc.name, line, dotted(parent), f"the key {written} is read by YAML as {what}, not a name: "
                   f"quote it (\"{written}\":) if a name is meant")
