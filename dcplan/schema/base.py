"""Shared pieces of the input model: the strict base class and series specifications."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Union, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictFloat,
    StrictInt,
    Tag,
    model_validator,
)

import dcplan.trust as trust


class At(ValueError):
    """A rule of a record broken at one of its keys (``key``, a path below the record): reported
    at that key's line (:func:`dcplan.schema.validate.validation_problems`), not the record's
    first line (a program's rule across sections had named line 1)."""

    def __init__(self, key: tuple, message: str):
        super().__init__(message)
        self.key = key


def check_date_order(dates: list[dt.date], key: str, what: str) -> None:
    """Dated entries (grid steps, build-out targets) strictly in date order: two on one date are a
    contradiction the last had silently won, :class:`At` the entry that repeats its date."""
    for i in range(1, len(dates)):
        if dates[i] < dates[i - 1]:
            raise At((key, i, "date"), f"{what} must be in date order ({dates[i]} after {dates[i - 1]})")
        if dates[i] == dates[i - 1]:
            raise At((key, i, "date"), f"two {what} on {dates[i]}: give one")


class StrictModel(BaseModel):
    """Input records reject unknown keys (a typo must never be silently ignored), infinite or
    undefined numbers (``1e400`` reads as infinity) and true/false where a number is due (pydantic
    reads ``max_import_mw: true`` as 1 MW)."""

    model_config = ConfigDict(extra="forbid", frozen=False, populate_by_name=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_true_or_false_for_a_number(cls, data):
        """true/false given for a number, and a number for a date (pydantic reads ``start: 0``
        as 1970-01-01, seconds since then), are passed on as text, which fails at its own key."""
        if isinstance(data, dict):
            for name, value in data.items():
                field = cls.model_fields.get(name)
                if field is None:
                    continue
                if isinstance(value, bool) and _number_not_bool(field.annotation):
                    data = {**data, name: str(value).lower()}
                elif isinstance(value, (int, float)) and not isinstance(value, bool) and _takes(field.annotation, dt.date):
                    data = {**data, name: f"{value} (a number; a date is written 2027-01-01)"}
        return data


    @model_validator(mode="after")
    def _no_number_beyond_what_dcplan_reads(self):
        """A number beyond :data:`dcplan.trust.MAX_MAGNITUDE` is refused at its key. The YAML
        reader refuses those it reads as numbers; these came as text (``1e308`` is text to YAML
        1.1, and so is ``"1.0e+300"``) or from Python (an override), and had overflowed the
        solver (an internal error)."""
        for name in type(self).model_fields:
            if name == "seed":
                continue
            value = getattr(self, name)
            for key, number in _numbers_in(value, (name,)):
                if trust.too_large(number):
                    raise At(key, trust.too_large_words(number))
        return self


def _numbers_in(value, key: tuple):
    """The numbers in a field's value (itself, or in its lists and mappings), each with its key
    below the record; records inside check their own."""
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _numbers_in(item, key + (i,))
    elif isinstance(value, dict):
        for k, item in value.items():
            yield from _numbers_in(item, key + (k,))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield key, value


def _kinds(annotation) -> set:
    """The plain types a field's type is made of (through unions, lists and Annotated)."""
    kinds, todo = set(), [annotation]
    while todo:
        t = todo.pop()
        if isinstance(t, type):
            kinds.add(t)
        todo.extend(get_args(t))
    return kinds


def _number_not_bool(annotation) -> bool:
    """Whether a field's type takes numbers but not true/false."""
    kinds = _kinds(annotation) & {int, float, bool}
    return bool(kinds) and bool not in kinds


def _takes(annotation, kind: type) -> bool:
    """Whether a field's type takes ``kind`` and no number (a date, not a date or a count)."""
    kinds = _kinds(annotation)
    return kind in kinds and not kinds & {int, float}


class CsvColumn(StrictModel):
    """An hourly series in a CSV file, path relative to the YAML file that names it.

    The file has a header row. ``column`` picks the value column; by default the only column
    that is not a timestamp. A header may carry a unit suffix (``price_usd_per_mwh``); if it
    names a different unit than the field expects, loading fails rather than guess.
    """

    csv: str
    column: str | None = None
    scale: float = Field(1.0, description="multiplier applied to every value (unit conversion)")


class TimeOfUsePeriod(StrictModel):
    value: float
    # whole numbers (true is no hour), and at least one: an empty list made a period that applied nowhere
    months: list[Annotated[StrictInt, Field(ge=1, le=12)]] = Field(default_factory=lambda: list(range(1, 13)),
                                                                    min_length=1)
    hours: list[Annotated[StrictInt, Field(ge=0, le=23)]] = Field(
        default_factory=lambda: list(range(24)), min_length=1, description="local hours of day, 0-23"
    )
    weekdays_only: bool = False


class TimeOfUse(StrictModel):
    """A default value with periods that override it (later periods win)."""

    default: float
    periods: list[TimeOfUsePeriod] = Field(default_factory=list)


class TimeOfUseSeries(StrictModel):
    time_of_use: TimeOfUse


class CurvePoint(StrictModel):
    x: float
    y: float


Point = tuple[StrictFloat, StrictFloat]
"""A curve's (x, y) point: numbers, not true or false (which pydantic reads as 1 and 0 in a tuple)."""


class CurveSeries(StrictModel):
    """A value interpolated piecewise-linearly against another hourly series (e.g. PUE vs
    ambient temperature in °C). Points are (x, y) pairs sorted by x; values outside the range
    are held at the end points."""

    curve: list[Point] = Field(min_length=2)
    against: CsvColumn

    @model_validator(mode="after")
    def _sorted(self):
        xs = [p[0] for p in self.curve]
        if xs != sorted(xs) or len(set(xs)) != len(xs):
            raise ValueError("curve points must have strictly increasing x")
        return self


def _series_tag(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return "constant"
    if isinstance(value, dict):
        for key in SERIES_TAGS:
            if key in value:
                return key
    return None


SERIES_TAGS = ("csv", "time_of_use", "curve")
"""The tags of a series' kinds, each also the key that marks its mapping: in an error's location
pydantic puts the tag before the mapping's keys (see :func:`dcplan.schema.validate._clean_loc`)."""


_SERIES_HELP = "a number, {csv: FILE, column: NAME}, {time_of_use: {default: .., periods: [..]}}"

Series = Annotated[
    Union[
        Annotated[float, Tag("constant")],
        Annotated[CsvColumn, Tag("csv")],
        Annotated[TimeOfUseSeries, Tag("time_of_use")],
    ],
    Discriminator(_series_tag, custom_error_type="series", custom_error_message=f"expected {_SERIES_HELP}"),
]
"""An hourly quantity: constant, CSV column, or time-of-use table."""

CurvedSeries = Annotated[
    Union[
        Annotated[float, Tag("constant")],
        Annotated[CsvColumn, Tag("csv")],
        Annotated[TimeOfUseSeries, Tag("time_of_use")],
        Annotated[CurveSeries, Tag("curve")],
    ],
    Discriminator(
        _series_tag,
        custom_error_type="series",
        custom_error_message=f"expected {_SERIES_HELP} or {{curve: [[x, y], ...], against: {{csv: ..}}}}",
    ),
]
"""An hourly quantity that may also be a curve against another series (PUE vs temperature)."""

NonNeg = Annotated[float, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]
MAX_MONTHS = 1200
Months = Annotated[float, Field(ge=0, le=MAX_MONTHS)]
"""A lead time or delay: at most a century (a lead time of 1e8 months passed and broke the
calendar: year 8,335,360)."""
