#!/usr/bin/env python
"""Regenerate the hourly profiles under ``sites/data/`` from the typical-year weather files
that ship with pvlib.

This is a developer tool: pvlib (and pandas, which pvlib brings) are **not** runtime
dependencies of dcplan. Install them into a development environment and run::

    pip install pvlib
    python scripts/make_site_profiles.py            # writes sites/data/*.csv
    python scripts/make_site_profiles.py --check    # regenerate in memory, compare, exit 1 on drift

Inputs (all offline, inside pvlib's ``data`` directory)
-------------------------------------------------------
- ``723170TYA.CSV``: TMY3, Greensboro Piedmont Triad Intl, NC (36.10 N, 79.95 W, 273 m, UTC-5).
- ``12839.tm2``:     TMY2, Miami Intl, FL (25.80 N, 80.27 W, 2 m, UTC-5).
- ``703165TY.csv``:  TMY3, Sand Point, AK (55.32 N, 160.52 W, 7 m, UTC-9).

Outputs (CSV; a header row, then exactly 8,760 data rows, no comment lines)
---------------------------------------------------------------------------
``<station>_weather.csv`` with columns ``hour, solar_cf, solar_fixed_cf, wind_cf, ambient_temp_c``
and ``<site>_price.csv`` with columns ``hour, price_usd_per_mwh``. ``hour`` runs 0..8759; row
``h`` is the hour that *starts* ``h`` hours after Jan 1 00:00 local standard time of the
station (no daylight saving). TMY files hold hour-ending records (record "01:00" covers
00:00-01:00), so file record ``i`` becomes ``hour = i``. A Feb 29 in the file (none in these
TMYs) would be dropped. Values are rounded to 4 decimals.

Models and assumptions
----------------------
Solar (``solar_cf``: single-axis tracker; ``solar_fixed_cf``: fixed rack, tilt = latitude,
facing the equator). AC output per unit of AC (inverter) rating, 0..1:

- sun position at the middle of each hour (pvlib SPA), with the file's pressure and temperature;
- tracker: horizontal N-S axis, +/-60 deg rotation limit, backtracking, ground coverage ratio
  0.35 (assumption: typical utility tracker);
- plane-of-array irradiance: Hay-Davies transposition, ground albedo 0.2 (assumption);
- Fresnel/glass incidence-angle loss on the beam component (``pvlib.iam.physical``);
- cell temperature: SAPM, open-rack glass/polymer module;
- DC: PVWatts, temperature coefficient -0.35 %/K (assumption: mono-Si), system losses from
  ``pvlib.pvsystem.pvwatts_losses`` defaults (14.1 %: soiling 2, shading 3, mismatch 2,
  wiring 2, connections 0.5, LID 1.5, nameplate 1, availability 3);
- AC: PVWatts inverter, nominal efficiency 0.96, DC/AC ratio 1.3 (assumption: typical
  utility plant), output clipped at the AC rating, so ``cf = P_ac / P_ac,rated`` is in 0..1.
  Capacities in site files are therefore MW(AC).

Wind (``wind_cf``). Per unit of turbine rating, 0..1:

- TMY wind speed is measured at about 10 m; it is extrapolated to a 100 m hub with the power
  law ``v_hub = v_10 * (100/10) ** 0.14`` (alpha = 0.14, assumption: the 1/7 law for open
  terrain; real shear varies by site, hour and season);
- a *generic* 3 MW-class power curve (assumption, not any vendor's curve): 0 below the cut-in
  speed 3 m/s, ``(v^3 - 3^3) / (12^3 - 3^3)`` between cut-in and the rated speed 12 m/s,
  1.0 from 12 m/s to the cut-out speed 25 m/s, 0 above 25 m/s;
- gross output: no wake, availability or electrical losses, no air-density correction;
  hourly mean speeds through a cubic curve understate a real turbine's output a little.
  Airport anemometers are a poor guide to a wind farm's resource: treat ``wind_cf`` as a
  shape with a plausible level, not as a resource assessment.

Temperature (``ambient_temp_c``): the file's dry-bulb temperature in deg C, unchanged.

Clear-sky solar at a site's own coordinates (``<site>_clearsky_solar.csv``: ``solar_cf``,
``solar_fixed_cf``), for a site no shipped station resembles (a desert is much sunnier than
Miami): pvlib's Ineichen clear-sky irradiance at the site's latitude, longitude and altitude,
with the Linke turbidity pvlib ships for that place and month, every component scaled by the
site's stated clear-sky index (the share of clear-sky irradiance a typical year delivers:
the cloudiness, an assumption per site in ``CLEAR_SKY_SITES``), then the same PV chain as
above with the cell temperature of a 25 deg C ambient and 2 m/s wind (assumption). Real
weather has cloudy runs and clear runs; this profile has neither, only the right level and
the right shape of each day.

Price (``price_usd_per_mwh``): a *synthetic* wholesale-like hourly energy price, not market
data. For each hour, with ``T`` the station's dry-bulb temperature (deg C), ``h`` the local
hour of day, and the 2027 calendar (dcplan's default horizon year; 2027-01-01 is a Friday)
for weekends::

    price = base
          + hot  * max(0, T - t_hot)            # cooling load lifts demand
          + hot2 * max(0, T - t_scarce) ** 2    # scarcity on the hottest hours
          + cold * max(0, t_cold - T)           # heating load
          + evening_peak   if h in evening hours
          + morning_peak   if h in morning hours
          - solar_dip * solar_cf                # midday solar depresses prices (duck curve)
          - weekend_discount on Saturdays and Sundays
    price = max(price, floor)

Parameters per site are in ``PRICE_MODELS`` below; they are assumptions chosen so that the
annual mean lands near published industrial energy rates (TVA-distributor large-load energy
charges of about 4-5 c/kWh plus fuel adjustment; CAISO-like midday dip and evening ramp).
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pvlib

HOURS_PER_YEAR = 8760
CALENDAR_YEAR = 2027  # dcplan's default horizon start; used only for weekdays in the price model
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "sites" / "data"

# --- solar assumptions ------------------------------------------------------------------
DC_AC_RATIO = 1.3
INVERTER_ETA_NOM = 0.96
GAMMA_PDC_PER_K = -0.0035
ALBEDO = 0.2
TRACKER_MAX_ANGLE_DEG = 60.0
TRACKER_GCR = 0.35

# --- wind assumptions -------------------------------------------------------------------
ANEMOMETER_HEIGHT_M = 10.0
HUB_HEIGHT_M = 100.0
SHEAR_ALPHA = 0.14
CUT_IN_MS = 3.0
RATED_MS = 12.0
CUT_OUT_MS = 25.0


@dataclasses.dataclass(frozen=True)
class Station:
    key: str
    filename: str
    kind: str  # "tmy3" or "tmy2"
    description: str


STATIONS = {
    "greensboro": Station("greensboro", "723170TYA.CSV", "tmy3",
                          "TMY3 723170, Greensboro Piedmont Triad Intl, NC"),
    "miami": Station("miami", "12839.tm2", "tmy2", "TMY2 12839, Miami Intl, FL"),
    "sand_point": Station("sand_point", "703165TY.csv", "tmy3", "TMY3 703165, Sand Point, AK"),
}


@dataclasses.dataclass(frozen=True)
class ClearSkySite:
    """A site profiled from the clear sky at its own coordinates (see the module docstring)."""

    key: str
    latitude: float
    longitude: float
    altitude_m: float
    tz_hours: float
    clear_sky_index: float  # share of the clear-sky irradiance a typical year delivers
    description: str


CLEAR_SKY_SITES = {
    "mojave": ClearSkySite(
        "mojave", 35.01, -117.56, 750.0, -8.0, 0.88,
        "Kramer Junction area, Mojave Desert, CA (sites/mojave.yaml); clear-sky index 0.88 "
        "(assumption: the desert southwest receives close to 90 % of its clear-sky GHI in a year)"),
}


@dataclasses.dataclass(frozen=True)
class PriceModel:
    """Synthetic hourly price; see the module docstring for the formula."""

    station: str
    base: float
    hot: float = 0.0
    t_hot: float = 20.0
    hot2: float = 0.0
    t_scarce: float = 30.0
    cold: float = 0.0
    t_cold: float = 5.0
    evening_peak: float = 0.0
    evening_hours: tuple[int, ...] = (17, 18, 19, 20)
    morning_peak: float = 0.0
    morning_hours: tuple[int, ...] = (6, 7, 8)
    solar_dip: float = 0.0
    weekend_discount: float = 0.0
    floor: float = 5.0


PRICE_MODELS = {
    # TVA-like: winter-morning and summer-afternoon peaks, no solar dip. Greensboro weather is
    # the proxy for Memphis (both humid-subtropical mid-South; Memphis is ~1 K warmer).
    "memphis": PriceModel(
        station="greensboro", base=44.0, hot=1.2, t_hot=20.0, hot2=0.6, t_scarce=30.0,
        cold=1.5, t_cold=5.0, evening_peak=16.0, evening_hours=(16, 17, 18, 19, 20),
        morning_peak=6.0, morning_hours=(6, 7, 8), weekend_discount=6.0,
    ),
    # CAISO-like duck curve: midday solar depresses prices, steep evening ramp. Miami irradiance
    # and temperature are the proxy (the sunniest file pvlib ships; see sites/README.md).
    "mojave": PriceModel(
        station="miami", base=52.0, hot=1.0, t_hot=24.0, hot2=1.0, t_scarce=31.0,
        evening_peak=32.0, evening_hours=(17, 18, 19, 20, 21), morning_peak=8.0,
        morning_hours=(6, 7), solar_dip=40.0, weekend_discount=5.0, floor=5.0,
    ),
}

WEATHER_COLUMNS = ("solar_cf", "solar_fixed_cf", "wind_cf", "ambient_temp_c")


# ----------------------------------------------------------------------------------------
# reading


def pvlib_data_dir() -> Path:
    return Path(os.path.dirname(pvlib.__file__)) / "data"


def read_station(station: Station) -> tuple[pd.DataFrame, dict]:
    """Weather in file order with columns ghi, dni, dhi, temp_air, wind_speed, pressure (Pa).

    Rows are the 8,760 hour-ending records of the file, Feb 29 removed if present; the index is
    a plain 0..8759 RangeIndex (row ``i`` covers hour ``i`` after Jan 1 00:00 local standard).
    """
    path = pvlib_data_dir() / station.filename
    if station.kind == "tmy3":
        raw, meta = pvlib.iotools.read_tmy3(str(path), map_variables=True)
        dates = pd.to_datetime(raw["Date (MM/DD/YYYY)"], format="%m/%d/%Y")
        month, day = dates.dt.month.to_numpy(), dates.dt.day.to_numpy()
        df = pd.DataFrame({
            "ghi": raw["ghi"], "dni": raw["dni"], "dhi": raw["dhi"],
            "temp_air": raw["temp_air"], "wind_speed": raw["wind_speed"],
            "pressure": raw["pressure"] * 100.0,  # mbar -> Pa
        })
        tz_hours = float(meta["TZ"])
    elif station.kind == "tmy2":
        raw, meta = pvlib.iotools.read_tmy2(str(path))
        month, day = raw["month"].to_numpy(), raw["day"].to_numpy()
        # TMY2 stores dry bulb in 0.1 deg C and wind speed in 0.1 m/s; pvlib's reader keeps
        # the raw integers. Irradiance is in Wh/m2 over the hour (= mean W/m2).
        df = pd.DataFrame({
            "ghi": raw["GHI"].astype(float), "dni": raw["DNI"].astype(float),
            "dhi": raw["DHI"].astype(float),
            "temp_air": raw["DryBulb"] / 10.0, "wind_speed": raw["Wspd"] / 10.0,
            "pressure": raw["Pressure"] * 100.0,  # mbar -> Pa
        })
        tz_hours = float(meta["TZ"])
    else:  # pragma: no cover - configuration error
        raise ValueError(station.kind)
    keep = ~((month == 2) & (day == 29))
    df = df.loc[keep].reset_index(drop=True)
    if len(df) != HOURS_PER_YEAR:
        raise SystemExit(f"{path}: {len(df)} hourly records after dropping Feb 29, expected 8760")
    if df.isna().any().any():
        raise SystemExit(f"{path}: missing values in {df.columns[df.isna().any()].tolist()}")
    meta = dict(meta)
    meta["tz_hours"] = tz_hours
    return df, meta


def mid_hour_times(tz_hours: float) -> pd.DatetimeIndex:
    """Middle of each hour of a non-leap year in the station's fixed standard-time offset."""
    tz = f"Etc/GMT{-int(tz_hours):+d}" if tz_hours != 0 else "UTC"  # Etc/GMT+5 == UTC-5
    start = pd.Timestamp(f"{CALENDAR_YEAR}-01-01 00:30", tz=tz)
    return pd.date_range(start, periods=HOURS_PER_YEAR, freq="h")


# ----------------------------------------------------------------------------------------
# models


def solar_cf(weather: pd.DataFrame, meta: dict, tracking: bool) -> np.ndarray:
    """AC capacity factor (0..1) of a PV plant with DC/AC 1.3; see module docstring."""
    times = mid_hour_times(meta["tz_hours"])
    w = weather.set_index(times)
    solpos = pvlib.solarposition.get_solarposition(
        times, meta["latitude"], meta["longitude"], altitude=meta["altitude"],
        pressure=w["pressure"], temperature=w["temp_air"],
    )
    if tracking:
        trk = pvlib.tracking.singleaxis(
            solpos["apparent_zenith"], solpos["azimuth"], axis_tilt=0, axis_azimuth=180,
            max_angle=TRACKER_MAX_ANGLE_DEG, backtrack=True, gcr=TRACKER_GCR,
        )
        tilt = trk["surface_tilt"].fillna(0.0)
        azimuth = trk["surface_azimuth"].fillna(180.0)
    else:
        tilt = pd.Series(abs(meta["latitude"]), index=times)
        azimuth = pd.Series(180.0 if meta["latitude"] >= 0 else 0.0, index=times)
    dni_extra = pvlib.irradiance.get_extra_radiation(times)
    airmass = pvlib.atmosphere.get_relative_airmass(solpos["apparent_zenith"])
    poa = pvlib.irradiance.get_total_irradiance(
        tilt, azimuth, solpos["apparent_zenith"], solpos["azimuth"],
        w["dni"], w["ghi"], w["dhi"], dni_extra=dni_extra, airmass=airmass,
        albedo=ALBEDO, model="haydavies",
    ).fillna(0.0)
    aoi = pvlib.irradiance.aoi(tilt, azimuth, solpos["apparent_zenith"], solpos["azimuth"])
    iam = pvlib.iam.physical(aoi).fillna(0.0)
    effective = (poa["poa_direct"] * iam + poa["poa_diffuse"]).clip(lower=0.0)
    effective[solpos["apparent_zenith"] >= 90] = 0.0
    params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_polymer"]
    t_cell = pvlib.temperature.sapm_cell(
        poa["poa_global"], w["temp_air"], w["wind_speed"], **params
    )
    losses = pvlib.pvsystem.pvwatts_losses() / 100.0
    pdc = pvlib.pvsystem.pvwatts_dc(effective, t_cell, DC_AC_RATIO, GAMMA_PDC_PER_K) * (1 - losses)
    pac_rated = 1.0
    pac = pvlib.inverter.pvwatts(pdc.clip(lower=0.0), pac_rated / INVERTER_ETA_NOM,
                                 eta_inv_nom=INVERTER_ETA_NOM)
    return np.clip(np.asarray(pac, dtype=float) / pac_rated, 0.0, 1.0)


def clear_sky_weather(site: ClearSkySite) -> tuple[pd.DataFrame, dict]:
    """Ineichen clear-sky irradiance (Linke turbidity from pvlib's data) scaled by the site's
    clear-sky index, at a 25 deg C ambient and 2 m/s wind, in the shape ``read_station`` gives."""
    times = mid_hour_times(site.tz_hours)
    location = pvlib.location.Location(site.latitude, site.longitude, altitude=site.altitude_m)
    sky = location.get_clearsky(times, model="ineichen") * site.clear_sky_index
    weather = pd.DataFrame({
        "ghi": sky["ghi"].to_numpy(), "dni": sky["dni"].to_numpy(), "dhi": sky["dhi"].to_numpy(),
        "temp_air": 25.0, "wind_speed": 2.0,
        "pressure": pvlib.atmosphere.alt2pres(site.altitude_m),
    })
    meta = {"latitude": site.latitude, "longitude": site.longitude, "altitude": site.altitude_m,
            "tz_hours": site.tz_hours}
    return weather, meta


def wind_cf(wind_speed_10m: np.ndarray) -> np.ndarray:
    """Capacity factor (0..1) of the generic 3 MW-class curve at a 100 m hub."""
    shear = (HUB_HEIGHT_M / ANEMOMETER_HEIGHT_M) ** SHEAR_ALPHA
    v = np.asarray(wind_speed_10m, dtype=float) * shear
    cubic = (v ** 3 - CUT_IN_MS ** 3) / (RATED_MS ** 3 - CUT_IN_MS ** 3)
    above_rated = np.where(v <= CUT_OUT_MS, 1.0, 0.0)
    cf = np.where(v < CUT_IN_MS, 0.0, np.where(v < RATED_MS, cubic, above_rated))
    return np.clip(cf, 0.0, 1.0)


def price_series(model: PriceModel, weather: pd.DataFrame, solar: np.ndarray) -> np.ndarray:
    t = weather["temp_air"].to_numpy(dtype=float)
    stamps = pd.date_range(f"{CALENDAR_YEAR}-01-01", periods=HOURS_PER_YEAR, freq="h")
    hour = stamps.hour.to_numpy()
    weekend = stamps.day_of_week.to_numpy() >= 5
    p = (model.base
         + model.hot * np.maximum(0.0, t - model.t_hot)
         + model.hot2 * np.maximum(0.0, t - model.t_scarce) ** 2
         + model.cold * np.maximum(0.0, model.t_cold - t)
         + model.evening_peak * np.isin(hour, model.evening_hours)
         + model.morning_peak * np.isin(hour, model.morning_hours)
         - model.solar_dip * solar
         - model.weekend_discount * weekend)
    return np.maximum(p, model.floor)


# ----------------------------------------------------------------------------------------
# writing


def _fmt(v: float) -> str:
    s = np.format_float_positional(round(float(v), 4) + 0.0, precision=4, trim="-")
    return "0" if s in ("-0", "0.") else s


def to_csv_text(columns: dict[str, np.ndarray]) -> str:
    names = list(columns)
    arrays = [np.asarray(columns[n], dtype=float) for n in names]
    for n, a in zip(names, arrays):
        if a.shape != (HOURS_PER_YEAR,) or not np.all(np.isfinite(a)):
            raise ValueError(f"column {n}: expected 8760 finite values")
    buf = io.StringIO()
    buf.write(",".join(["hour", *names]) + "\n")
    for i in range(HOURS_PER_YEAR):
        buf.write(",".join([str(i), *(_fmt(a[i]) for a in arrays)]) + "\n")
    return buf.getvalue()


def build_all() -> dict[str, str]:
    """File name -> CSV text for every profile."""
    files: dict[str, str] = {}
    weather_by_station: dict[str, tuple[pd.DataFrame, np.ndarray]] = {}
    for key, station in STATIONS.items():
        weather, meta = read_station(station)
        tracker = solar_cf(weather, meta, tracking=True)
        fixed = solar_cf(weather, meta, tracking=False)
        wind = wind_cf(weather["wind_speed"].to_numpy())
        temp = weather["temp_air"].to_numpy(dtype=float)
        files[f"{key}_weather.csv"] = to_csv_text(
            {"solar_cf": tracker, "solar_fixed_cf": fixed, "wind_cf": wind, "ambient_temp_c": temp}
        )
        weather_by_station[key] = (weather, tracker)
    for key, site in CLEAR_SKY_SITES.items():
        weather, meta = clear_sky_weather(site)
        files[f"{key}_clearsky_solar.csv"] = to_csv_text(
            {"solar_cf": solar_cf(weather, meta, tracking=True), "solar_fixed_cf": solar_cf(weather, meta, tracking=False)})
    for site, model in PRICE_MODELS.items():
        weather, tracker = weather_by_station[model.station]
        price = price_series(model, weather, tracker)
        files[f"{site}_price.csv"] = to_csv_text({"price_usd_per_mwh": price})
    return files


def summarize(files: dict[str, str]) -> str:
    lines = []
    for name, text in files.items():
        df = pd.read_csv(io.StringIO(text))
        stats = ", ".join(f"{c} mean {df[c].mean():.3f} [{df[c].min():g}..{df[c].max():g}]"
                          for c in df.columns if c != "hour")
        lines.append(f"{name}: {len(df)} rows; {stats}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true",
                    help="do not write; exit 1 if any file in --out-dir differs from a fresh build")
    args = ap.parse_args(argv)
    files = build_all()
    if args.check:
        stale = [n for n, text in files.items()
                 if not (args.out_dir / n).is_file()
                 or (args.out_dir / n).read_text(encoding="utf-8") != text]
        for n in stale:
            print(f"out of date: {args.out_dir / n}", file=sys.stderr)
        return 1 if stale else 0
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        target = args.out_dir / name
        tmp = target.with_suffix(".csv.tmp")
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, target)
    print(summarize(files))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
