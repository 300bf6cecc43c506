"""Every form of hourly series loads to the right 8,760 values."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from conftest import base_site, write_csv, write_yaml

from dcplan.errors import InputError
from dcplan.loader import load_site


def load(tmp_path, price_spec, extra_files=()):
    site = base_site()
    site["grid"]["energy_price_usd_per_mwh"] = price_spec
    return load_site(write_yaml(tmp_path / "s.yaml", site)).price_usd_per_mwh


def test_constant(tmp_path):
    assert np.all(load(tmp_path, 42.5) == 42.5)


def test_csv_with_hour_index_and_named_column(tmp_path):
    values = np.arange(8760) % 100
    write_csv(tmp_path / "p.csv", {"a_usd_per_mwh": values, "b_usd_per_mwh": values * 2})
    np.testing.assert_allclose(load(tmp_path, {"csv": "p.csv", "column": "b_usd_per_mwh"}), values * 2)


def test_csv_without_index_single_column_and_scale(tmp_path):
    values = np.linspace(0.02, 0.09, 8760)
    write_csv(tmp_path / "p.csv", {"price_usd_per_kwh": values}, index=None)
    np.testing.assert_allclose(load(tmp_path, {"csv": "p.csv", "scale": 1000}), values * 1000, rtol=1e-5)


@pytest.mark.parametrize("column, unit", [("price_cents_per_kwh", "cents_per_kwh"), ("price_eur_per_mwh", "eur_per_mwh"),
                                           ("price_usd_per_kwh", "usd_per_kwh")])
def test_a_column_in_another_unit_is_refused_unless_scaled(tmp_path, column, unit):
    """A column that names a unit other than the one expected is refused, not read as if it were
    (cents per kWh had been read as dollars per MWh, euros as a bare 'mwh'); `scale:` converts."""
    write_csv(tmp_path / "p.csv", {column: np.full(8760, 4.4)})
    with pytest.raises(InputError) as err:
        load(tmp_path, {"csv": "p.csv"})
    assert f"column '{column}' of " in str(err.value) and f"p.csv is in {unit}, expected usd_per_mwh" in str(err.value)
    np.testing.assert_allclose(load(tmp_path, {"csv": "p.csv", "scale": 10}), 44.0)


def test_csv_with_timestamps(tmp_path):
    start = dt.datetime(2027, 1, 1)
    lines = ["timestamp,price_usd_per_mwh"] + [
        f"{(start + dt.timedelta(hours=h)).isoformat()},{h % 7}" for h in range(8760)]
    (tmp_path / "p.csv").write_text("\n".join(lines) + "\n")
    np.testing.assert_allclose(load(tmp_path, {"csv": "p.csv"}), np.arange(8760) % 7)


def test_csv_with_a_timestamp_gap_is_rejected(tmp_path):
    from dcplan.errors import InputError
    start = dt.datetime(2027, 1, 1)
    stamps = [start + dt.timedelta(hours=h + (h >= 50)) for h in range(8760)]
    (tmp_path / "p.csv").write_text("timestamp,price_usd_per_mwh\n" + "\n".join(
        f"{s.isoformat()},1" for s in stamps) + "\n")
    with pytest.raises(InputError, match="does not follow"):
        load(tmp_path, {"csv": "p.csv"})


def _stamped(start: dt.datetime, first: str | None = None) -> list[str]:
    stamps = [(start + dt.timedelta(hours=h)).isoformat() for h in range(8760)]
    return [first or stamps[0], *stamps[1:]]


@pytest.mark.parametrize("header, rows, spec, message", [
    # a year from 1 July, or from 02:00, read as if from 1 January 00:00
    ("timestamp,price_usd_per_mwh", [f"{s},1" for s in _stamped(dt.datetime(2027, 7, 1))], {},
     "p.csv:2: the first timestamp is 2027-07-01 00:00:00: a year's series starts at 1 January 00:00"),
    ("timestamp,price_usd_per_mwh", [f"{s},1" for s in _stamped(dt.datetime(2027, 1, 1, 2))], {},
     "the first timestamp is 2027-01-01 02:00:00"),
    # one stamp with a time zone among stamps without: a TypeError (exit 70)
    ("timestamp,price_usd_per_mwh", [f"{s},1" for s in _stamped(dt.datetime(2027, 1, 1), "2027-01-01T00:00-06:00")],
     {}, "p.csv:3: timestamp '2027-01-01T01:00:00' mixes timestamps with and without a time zone"),
    # the index in the second column, its hours backwards: read as a year that runs backwards
    ("price_usd_per_mwh,hour", [f"1,{8759 - h}" for h in range(8760)], {},
     "p.csv:2: hour is '8759', expected 0"),
    # the hours used as prices: they fall in the price's plausible range
    ("hour,price_usd_per_mwh", [f"{h},1" for h in range(8760)], {"column": "hour"},
     "p.csv is its index (the hour each row is)"),
])
def test_an_index_that_is_not_the_years_hours_in_order_is_refused(tmp_path, header, rows, spec, message):
    (tmp_path / "p.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError) as err:
        load(tmp_path, {"csv": "p.csv", **spec})
    assert message in str(err.value)


def _year_of(start: dt.datetime, row) -> list[str]:
    return [row(start + dt.timedelta(hours=h), h) for h in range(8760)]


@pytest.mark.parametrize("header, rows", [
    # a timestamp first and the hour of the day beside it: the timestamp is the index
    ("timestamp,hour,price_usd_per_mwh", _year_of(dt.datetime(2027, 1, 1), lambda t, h: f"{t.isoformat()},{t.hour},1")),
    # a date and its hours 1-24 (an ISO export's layout): no index column to check
    ("date,hour,price_usd_per_mwh", _year_of(dt.datetime(2027, 1, 1), lambda t, h: f"{t.date()},{t.hour + 1},1")),
    # stamped at each hour's end, from 01:00 to the next year's 00:00: each row the hour before its stamp
    ("timestamp,price_usd_per_mwh", _year_of(dt.datetime(2027, 1, 1, 1), lambda t, h: f"{t.isoformat()},1")),
    # stamps in UTC from the site's (UTC-6) midnight, and in its wall-clock time across daylight saving
    ("timestamp,price_usd_per_mwh",
     _year_of(dt.datetime(2027, 1, 1, 6, tzinfo=dt.timezone.utc), lambda t, h: f"{t.isoformat()},1")),
    ("timestamp,price_usd_per_mwh",
     _year_of(dt.datetime(2027, 1, 1, 6, tzinfo=dt.timezone.utc),
              lambda t, h: f"{t.astimezone(ZoneInfo('America/Chicago')).isoformat()},1")),
])
def test_an_index_read_as_the_years_hours_where_it_is_them(tmp_path, header, rows):
    (tmp_path / "p.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    assert np.all(load(tmp_path, {"csv": "p.csv", "column": "price_usd_per_mwh"}) == 1)


def test_stamps_with_an_offset_start_at_the_sites_midnight(tmp_path):
    """UTC midnight is 18:00 of 31 December at a UTC-6 site: six hours off, said so."""
    rows = _year_of(dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc), lambda t, h: f"{t.isoformat()},1")
    (tmp_path / "p.csv").write_text("timestamp,price_usd_per_mwh\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError, match="2026-12-31 18:00 in the site's standard time"):
        load(tmp_path, {"csv": "p.csv"})


def test_a_bad_cell_is_named_at_its_line_counting_blank_lines(tmp_path):
    rows = ["hour,price_usd_per_mwh", *[f"{h},{'x' if h == 5000 else 1}" for h in range(8760)]]
    rows[10:10] = ["", "", ""]  # three blank lines before it: line 5005, not 5002
    (tmp_path / "p.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(InputError, match=r"p.csv:5005: column 'price_usd_per_mwh' has 'x'"):
        load(tmp_path, {"csv": "p.csv"})


def test_a_cell_with_digits_grouped_by_an_underscore_is_no_number(tmp_path):
    """Python's float() reads 4_0 as 40 (its own source's digit grouping): a cell is a number
    written plainly, or it is refused at its line."""
    rows = ["hour,price_usd_per_mwh", *[f"{h},{'4_0' if h == 7 else 1}" for h in range(8760)]]
    (tmp_path / "p.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(InputError, match=r"p.csv:9: column 'price_usd_per_mwh' has '4_0', not a number"):
        load(tmp_path, {"csv": "p.csv"})


def test_time_of_use(tmp_path):
    spec = {"time_of_use": {"default": 40, "periods": [
        {"value": 120, "months": [7, 8], "hours": [16, 17, 18]},
        {"value": 20, "hours": [0, 1, 2, 3]}]}}
    values = load(tmp_path, spec)
    start = dt.datetime(2027, 1, 1)
    for h in (0, 3, 12, 4000, 5000):
        stamp = start + dt.timedelta(hours=h)
        expected = 20 if stamp.hour < 4 else (120 if stamp.month in (7, 8) and stamp.hour in (16, 17, 18) else 40)
        assert values[h] == expected
    assert values[(dt.datetime(2027, 7, 10, 17) - start).days * 24 + 17] == 120


@pytest.mark.parametrize("period, message", [({"value": 9, "hours": []}, "at least 1 item"),
                                            ({"value": 9, "hours": [True]}, "valid integer"),
                                            ({"value": 9, "months": []}, "at least 1 item")])
def test_a_time_of_use_period_of_no_hours_or_of_true_is_refused(tmp_path, period, message):
    """[] made a period that applied nowhere; [true] was read as hour 1."""
    with pytest.raises(InputError, match=message):
        load(tmp_path, {"time_of_use": {"default": 40, "periods": [period]}})


def test_pue_curve_against_temperature(tmp_path):
    temps = np.linspace(-10, 40, 8760)
    write_csv(tmp_path / "w.csv", {"ambient_temp_c": temps})
    site = base_site()
    site["cooling"] = [{"type": "air_economizer",
                        "pue": {"curve": [[0, 1.1], [30, 1.4]], "against": {"csv": "w.csv"}}}]
    pue = load_site(write_yaml(tmp_path / "s.yaml", site)).pue["air_economizer"]
    np.testing.assert_allclose(pue, np.interp(temps, [0, 30], [1.1, 1.4]), rtol=1e-5)
    assert pue[0] == pytest.approx(1.1) and pue[-1] == pytest.approx(1.4)  # held at the ends


def test_a_temperature_in_fahrenheit_is_read_in_celsius(tmp_path):
    """An ``_temp_f`` column is converted with its offset (104 °F is 40 °C, 32 °F is 0 °C), for
    the site's ambient temperature and a PUE curve's alike; ``scale:`` alone could not."""
    fahrenheit = np.linspace(14, 104, 8760)
    write_csv(tmp_path / "w.csv", {"ambient_temp_f": fahrenheit})
    site = base_site()
    site["ambient_temp_c"] = {"csv": "w.csv"}
    site["cooling"] = [{"type": "air_economizer", "pue": {"curve": [[0, 1.1], [30, 1.4]], "against": {"csv": "w.csv"}}}]
    si = load_site(write_yaml(tmp_path / "s.yaml", site))
    np.testing.assert_allclose(si.ambient_temp_c, (fahrenheit - 32) * 5 / 9, atol=1e-3)  # the CSV holds 6 digits
    assert si.ambient_temp_c[-1] == pytest.approx(40.0) and si.pue["air_economizer"][-1] == pytest.approx(1.4)
    site["ambient_temp_c"]["scale"] = 0.5556  # as an older hint said: now refused, not converted twice
    with pytest.raises(InputError, match="in °F, which is converted to °C on load: remove `scale:`"):
        load_site(write_yaml(tmp_path / "s.yaml", site))


def test_a_temperature_in_kelvin_is_refused(tmp_path):
    write_csv(tmp_path / "w.csv", {"ambient_temp_k": np.full(8760, 290.0)})
    site = base_site(ambient_temp_c={"csv": "w.csv"})
    with pytest.raises(InputError) as err:
        load_site(write_yaml(tmp_path / "s.yaml", site))
    assert "w.csv is in temp_k, expected temp_c" in str(err.value)


def test_default_pue_comes_from_the_catalog(tmp_path):
    from dcplan.catalog import builtin_catalog
    site = base_site()
    site["cooling"] = [{"type": "immersion"}]
    pue = load_site(write_yaml(tmp_path / "s.yaml", site)).pue["immersion"]
    assert np.all(pue == builtin_catalog().cooling["immersion"].pue)


def test_a_file_separated_by_semicolons_is_named_so(tmp_path):
    """It had been read as one column named 'hour;price_usd_per_mwh', offered as a did-you-mean."""
    (tmp_path / "p.csv").write_text("hour;price_usd_per_mwh\n" + "".join(f"{h};40,5\n" for h in range(8760)))
    with pytest.raises(InputError) as err:
        load(tmp_path, {"csv": "p.csv", "column": "price_usd_per_mwh"})
    assert "p.csv is separated by ';', not commas" in str(err.value) and "did you mean" not in str(err.value)

