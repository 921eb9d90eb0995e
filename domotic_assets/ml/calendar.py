"""Calendar features of instants in a household's own time: time of day, weekday, public holidays."""

from __future__ import annotations

from functools import lru_cache

import holidays
import numpy as np
import pandas as pd

from domotic_assets.settings import PLATFORM_TIMEZONE

PLATFORM_HOLIDAYS = "CH-ZH"
"""The public holidays of the platform's buildings (canton of Zurich): `COUNTRY` or `COUNTRY-SUBDIVISION`."""


def holiday_region_for(timezone: str) -> str | None:
    """The holidays a series in `timezone` most likely keeps: its country's national holidays (the
    platform's canton for Zurich), or None where the zone names no country (UTC, Etc/GMT-10)."""
    if timezone == PLATFORM_TIMEZONE:
        return PLATFORM_HOLIDAYS
    import pytz  # a pandas dependency; only it maps zones to countries

    countries = [country for country, zones in pytz.country_timezones.items() if timezone in zones]
    return countries[0] if len(countries) == 1 else None


@lru_cache
def _holidays(region: str, year: int) -> frozenset:
    country, _, subdivision = region.partition("-")
    return frozenset(holidays.country_holidays(country, subdiv=subdivision or None, years=year))


def is_holiday(days: pd.Series | pd.DatetimeIndex, region: str | None = PLATFORM_HOLIDAYS) -> np.ndarray:
    dates = pd.DatetimeIndex(days).date
    if region is None:
        return np.zeros(len(dates), dtype=bool)
    return np.array([d in _holidays(region, d.year) for d in dates], dtype=bool)


def calendar_features(
    ts: pd.Series | pd.DatetimeIndex, timezone: str, region: str | None = PLATFORM_HOLIDAYS
) -> pd.DataFrame:
    """Local minute of day (and its sine and cosine), weekday, weekend and public holiday (of `region`,
    none when None), per instant."""
    local = pd.DatetimeIndex(ts).tz_convert(timezone)
    minute = local.hour * 60 + local.minute
    angle = 2 * np.pi * minute / 1440
    holiday = is_holiday(local, region)
    weekday = local.weekday
    return pd.DataFrame(
        {
            "minute_of_day": minute,
            "tod_sin": np.sin(angle),
            "tod_cos": np.cos(angle),
            "weekday": weekday,
            "day_off": ((weekday >= 5) | holiday).astype(int),
            "holiday": holiday.astype(int),
        },
        index=pd.RangeIndex(len(local)),
    )
