"""Hourly series: resolve a constant, a CSV column, a time-of-use table or a curve into an
8,760-value array, checking length, gaps, units and plausible ranges.

CSV format: a header row, then one row per hour of a non-leap year (8,760 rows). An optional
first column ``hour`` (0..8759) or ``timestamp`` (ISO 8601, hourly) indexes the rows; value
columns carry their unit as a suffix (``solar_cf``, ``price_usd_per_mwh``, ``ambient_temp_c``).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

import dcplan.trust as trust
from dcplan.errors import InputError, Problem, did_you_mean, display_path
from dcplan.formatting import counted
from dcplan.schema.base import CsvColumn, CurveSeries, TimeOfUseSeries
from dcplan.yamlio import YamlDocument

HOURS_PER_YEAR = 8760
LEAP_YEAR_HOURS = 8784
MAX_ROWS = LEAP_YEAR_HOURS
"""Rows read at most: a longer file is refused without being read to its end."""
INDEX_COLUMNS = ("hour", "timestamp")


@dataclass(frozen=True)
class Quantity:
    """What a series measures: its unit token (as used in CSV headers) and plausible range."""

    unit: str
    low: float
    high: float
    ends_only: bool = False  # low or high and nothing between (flags)


PRICE = Quantity("usd_per_mwh", -1000.0, 20000.0)
CAPACITY_FACTOR = Quantity("cf", 0.0, 1.0)
GRID_CO2 = Quantity("t_per_mwh", 0.0, 2.0)
PUE = Quantity("pue", 1.0, 3.0)
TEMPERATURE = Quantity("temp_c", -60.0, 60.0)
FLAGS = Quantity("flag", 0.0, 1.0, ends_only=True)  # hours chosen by a CSV of 0/1 (a cap's emergency hours, a connection's curtailed ones)

KNOWN_UNITS = ("cf", "pue", "mw", "kw", "mwh")
"""Unit suffixes read as such; a rate (``<unit>_per_<unit>``) and a temperature (``temp_<scale>``)
are read whatever their units (:func:`column_unit`)."""


def column_unit(column: str) -> str | None:
    """The unit a CSV column's name ends in, None where it names none: a rate's last two words
    around ``per`` (``price_cents_per_kwh`` -> ``cents_per_kwh``), a temperature's scale
    (``ambient_temp_k`` -> ``temp_k``), or one of ``KNOWN_UNITS`` (``solar_cf`` -> ``cf``). A
    unit that is not the one expected is refused rather than read as if it were (cents per kWh
    had been read as dollars per MWh)."""
    name = column.lower()
    rate = re.search(r"(?:^|_)([a-z0-9]+_per_[a-z0-9]+)$", name)
    if rate:
        return rate.group(1)
    temperature = re.search(r"(?:^|_)(temp_[a-z]+)$", name)
    if temperature:
        return temperature.group(1)
    return next((u for u in KNOWN_UNITS if name == u or name.endswith("_" + u)), None)


def standard_time(timezone: str, year: int) -> dt.timezone:
    """The fixed offset of ``timezone``'s standard time (the lesser of its January and July
    offsets, so either hemisphere's summer time is left out): the clock of dcplan's hours."""
    zone = ZoneInfo(timezone)
    offset = min(dt.datetime(year, month, 1, tzinfo=zone).utcoffset() for month in (1, 7))
    return dt.timezone(offset)


class SeriesError(Exception):
    def __init__(self, problem: Problem):
        self.problem = problem


class SeriesResolver:
    """Turns series specifications of one YAML document into arrays; CSV files are read once."""

    def __init__(self, doc: YamlDocument, year: int = 2027, timezone: str | None = None):
        self.doc = doc
        self.year = year
        self.standard = standard_time(timezone, year) if timezone else None  # where hour 0 is, for stamps with an offset
        self._tables: dict[Path, tuple[list[str], list[list[str]], list[int]]] = {}  # header, rows, their lines

    def resolve(self, spec, loc: tuple, quantity: Quantity) -> np.ndarray:
        """An array of 8,760 floats, or :class:`SeriesError` naming file, line and key."""
        if isinstance(spec, (int, float)):
            values = np.full(HOURS_PER_YEAR, float(spec))
            self._check_range(values, loc, quantity, where=None, hourly=False)
            return values
        if isinstance(spec, CsvColumn):
            return self._csv(spec, loc, quantity)
        if isinstance(spec, TimeOfUseSeries):
            values = self._time_of_use(spec)
            self._check_range(values, loc, quantity, where=None)
            return values
        if isinstance(spec, CurveSeries):
            x = self._csv(spec.against, loc + ("against",), TEMPERATURE)
            pts = np.array(spec.curve, dtype=float)
            values = np.interp(x, pts[:, 0], pts[:, 1])
            self._check_range(values, loc, quantity, where=None)
            return values
        raise TypeError(f"not a series specification: {spec!r}")

    # -- forms ---------------------------------------------------------------------------

    def _time_of_use(self, spec: TimeOfUseSeries) -> np.ndarray:
        table = spec.time_of_use
        start = dt.datetime(self.year, 1, 1)
        stamps = [start + dt.timedelta(hours=h) for h in range(HOURS_PER_YEAR)]
        month = np.array([s.month for s in stamps])
        hour = np.array([s.hour for s in stamps])
        weekday = np.array([s.weekday() < 5 for s in stamps])
        values = np.full(HOURS_PER_YEAR, table.default, dtype=float)
        for period in table.periods:
            mask = np.isin(month, period.months) & np.isin(hour, period.hours)
            if period.weekdays_only:
                mask &= weekday
            values[mask] = period.value
        return values

    def _csv(self, spec: CsvColumn, loc: tuple, quantity: Quantity) -> np.ndarray:
        csv_loc = loc + ("csv",) if (loc + ("csv",)) in self.doc.lines else loc
        try:
            path = self.doc.reference(spec.csv, csv_loc).resolve()
        except InputError as err:
            raise SeriesError(err.problems[0]) from None
        header, rows, lines = self._read(path, csv_loc)
        name = display_path(path)
        separator = next((s for s in (";", "\t", "|") if len(header) == 1 and s in header[0]), None)
        if separator is not None:  # a European spreadsheet's export: one column whose name holds the others
            raise self._fail(csv_loc, f"{name} is separated by {separator!r}, not commas: dcplan reads comma-separated "
                             "values (export the file as CSV with commas)")
        value_columns = [c for c in header if c not in INDEX_COLUMNS]
        twice = [c for c in header if header.count(c) > 1]
        if twice:
            raise self._fail(csv_loc, f"{name} has two columns named '{twice[0]}': which one?")
        column = spec.column
        if column is None:
            if len(value_columns) != 1:
                raise self._fail(csv_loc, f"{name} has columns {value_columns}: name one with `column:`")
            column = value_columns[0]
        if column not in value_columns:
            what = "is its index (the hour each row is)" if column in header else "is not there"
            raise self._fail(loc + ("column",), f"column '{column}' of {name} {what}; its values are in "
                             f"{value_columns}" + did_you_mean(column, value_columns))
        unit = column_unit(column)
        fahrenheit = unit == "temp_f" and quantity.unit == "temp_c"  # converted below, with its offset
        if fahrenheit and spec.scale != 1.0:
            raise self._fail(loc + ("scale",), f"column '{column}' of {name} is in °F, which is converted to °C on "
                             "load: remove `scale:` (it would apply before the conversion)")
        if unit is not None and unit != quantity.unit and spec.scale == 1.0 and not fahrenheit:
            raise self._fail(loc + ("column",), f"column '{column}' of {name} is in {unit}, expected "
                             f"{quantity.unit} (convert it, or set `scale:` to convert on load)")
        widths = np.fromiter((len(r) for r in rows), dtype=int, count=len(rows))
        if (widths != len(header)).any():
            i = int(np.flatnonzero(widths != len(header))[0])
            raise self._fail(csv_loc, f"{name}:{lines[i]}: {widths[i]} fields, but the header has {len(header)}")
        if len(rows) <= MAX_ROWS:
            self._check_index(header, rows, lines, name, csv_loc)  # first: a missing hour is named at its line
        if len(rows) != HOURS_PER_YEAR:
            hint = (" (a leap year? keep its first 8,760 hours: dcplan's year is 365 days from 1 January, so 29 "
                    "February is one of them and 31 December is not)") if len(rows) == LEAP_YEAR_HOURS else ""
            count = f"more than {MAX_ROWS:,}" if len(rows) > MAX_ROWS else f"{len(rows)}"
            raise self._fail(csv_loc, f"{name} has {count} data rows, expected {HOURS_PER_YEAR}{hint}")
        values = self._numbers(rows, lines, header.index(column), f"{name}:{{row}}: column '{column}' has {{what}}",
                               csv_loc)
        values *= spec.scale
        if fahrenheit:
            values = (values - 32.0) * (5.0 / 9.0)
        large = np.flatnonzero(np.abs(values) > trust.MAX_MAGNITUDE)
        if len(large):
            scaled = f" (scaled by {spec.scale:g})" if spec.scale != 1 else ""
            raise self._fail(csv_loc, f"{name}:{lines[large[0]]}: column '{column}'{scaled}: "
                                      + trust.too_large_words(values[large[0]]))
        self._check_range(values, loc, quantity, where=(name, column, lines))
        return values

    def _numbers(self, rows: list, lines: list[int], j: int, problem: str, loc: tuple) -> np.ndarray:
        """Column ``j`` of ``rows`` as finite numbers, or the first cell that is not one (its CSV
        line, from ``lines``, and what it holds, in ``problem``'s ``{row}`` and ``{what}``)."""
        try:
            cells = [row[j] for row in rows]
            values = np.array(cells, dtype=float)  # the whole column at once
            if np.isfinite(values).all() and not any("_" in c for c in cells):  # (see trust.cell_number)
                return values
        except (ValueError, IndexError):
            pass
        values = np.empty(len(rows))
        for i, row in enumerate(rows):  # cell by cell, to name the first bad one
            cell = row[j].strip() if j < len(row) else ""
            try:
                values[i] = trust.cell_number(cell)
            except ValueError:
                values[i] = np.nan
            if not np.isfinite(values[i]):
                what = "an empty cell (a gap)" if cell == "" else f"'{cell}', not a number"
                raise self._fail(loc, problem.format(row=lines[i], what=what))
        return values

    def _read(self, path: Path, loc: tuple):
        if path not in self._tables:
            try:
                refused = trust.file_problem(path, trust.MAX_CSV_BYTES, "DCPLAN_MAX_CSV_MB", "a CSV input")
                if refused and refused.file == "environment":  # said once, not at every file's reference
                    raise InputError([refused])
                if refused:
                    raise self._fail(loc, f"{display_path(path)}: {refused.message}")
                with path.open(newline="", encoding="utf-8-sig") as fh:  # a byte-order mark is no header
                    reader = csv.reader(fh)
                    header = [h.strip() for h in next(reader, [])]
                    rows, lines = [], []
                    for r in reader:  # one row past the most a year may have is enough to refuse
                        if r and "".join(r).strip():  # blank lines are skipped, and counted in lines
                            rows.append(r)
                            lines.append(reader.line_num)
                            if len(rows) > MAX_ROWS:
                                break
            except FileNotFoundError:
                raise self._fail(loc, f"CSV file not found: {display_path(path)}") from None
            except UnicodeDecodeError:
                raise self._fail(loc, _not_utf8(path)) from None
            except (OSError, csv.Error) as exc:
                raise self._fail(loc, f"cannot read {display_path(path)}: {exc}") from None
            if not header:
                raise self._fail(loc, f"{display_path(path)} is empty (expected a header row)")
            self._tables[path] = (header, rows, lines)
        return self._tables[path]

    def _check_index(self, header, rows, lines, name, loc):
        """The rows are the year's hours in order from hour 0 (1 January 00:00 in the site's
        standard time), as their index column says where the file has one: ``timestamp`` in any
        place, else ``hour`` (unless beside a ``date``: then it is the hour of each day)."""
        index = "timestamp" if "timestamp" in header else "hour" if "hour" in header and "date" not in header else None
        j = header.index(index) if index else None
        if index == "hour":
            for i, row in enumerate(rows):
                if row[j].strip() != str(i):
                    raise self._fail(loc, f"{name}:{lines[i]}: hour is '{row[j]}', expected {i} "
                                     "(rows must be consecutive hours from 0)")
        elif index == "timestamp":
            previous = None
            for i, row in enumerate(rows):
                try:
                    stamp = dt.datetime.fromisoformat(row[j].strip())
                    step = stamp - previous if previous is not None else None
                except ValueError:
                    raise self._fail(loc, f"{name}:{lines[i]}: timestamp '{row[j]}' is not ISO 8601") from None
                except TypeError:  # one with a time zone, one without
                    raise self._fail(loc, f"{name}:{lines[i]}: timestamp '{row[j]}' mixes timestamps with and "
                                     "without a time zone") from None
                local = stamp.astimezone(self.standard) if previous is None and stamp.tzinfo and self.standard else stamp
                # hour 0 stamped at its start (00:00), or at its end (01:00: each row the hour before its stamp)
                if previous is None and ((local.month, local.day, local.minute) != (1, 1, 0) or local.hour > 1):
                    said = f" ({local:%Y-%m-%d %H:%M} in the site's standard time)" if local is not stamp else ""
                    raise self._fail(loc, f"{name}:{lines[i]}: the first timestamp is {stamp}{said}: a year's "
                                     "series starts at 1 January 00:00 of the site's standard time (hour 0), or "
                                     "at 01:00 for data stamped at each hour's end")
                if step is not None and step != dt.timedelta(hours=1):
                    raise self._fail(loc, f"{name}:{lines[i]}: timestamp {stamp} does not follow "
                                     f"{previous} by one hour (a gap or a duplicate)")
                previous = stamp

    def _check_range(self, values, loc, quantity: Quantity, where, hourly: bool = True):
        if quantity.ends_only:  # a flag of 0.5 had read as not flagged, 0.7 as flagged
            bad = np.flatnonzero((values != quantity.low) & (values != quantity.high))
            rule = f"not {quantity.low:g} or {quantity.high:g} (a {quantity.unit})"
        else:
            bad = np.flatnonzero((values < quantity.low) | (values > quantity.high))
            rule = f"outside the plausible range {quantity.low:g}..{quantity.high:g} {quantity.unit}"
        if bad.size:
            i = int(bad[0])
            place = f"{where[0]}:{where[2][i]}: column '{where[1]}' " if where else ""
            hours = f" ({counted(int(bad.size), 'such hour')})" if hourly else ""
            raise self._fail(loc, f"{place}value {values[i]:g} is {rule}{hours}")

    def _fail(self, loc, message) -> SeriesError:
        return SeriesError(self.doc.problem(loc, message))


def _not_utf8(path: Path) -> str:
    """Where a CSV that is not UTF-8 first breaks it, by line (the reader's error counts bytes of
    a buffer, not of the file)."""
    data = path.read_bytes()
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = exc.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        line = data[:start].count(b"\n") + 1
        return f"{display_path(path)}:{line}: not UTF-8 text: byte 0x{data[start]:02x} (save the file as UTF-8)"
    return f"cannot read {display_path(path)}: not UTF-8 text"
