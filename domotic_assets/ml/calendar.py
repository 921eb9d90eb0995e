"""Calendar features of instants in a household's own time: time of day, weekday, public holidays."""

from __future__ import annotations

from functools import lru_cache

import holidays
import numpy as np
import pandas as pd

HOLIDAY_COUNTRY, HOLIDAY_REGION = "CH", "ZH"


@lru_cache
def _holidays(year: int) -> frozenset:
    return frozenset(holidays.country_holidays(HOLIDAY_COUNTRY, subdiv=HOLIDAY_REGION, years=year))


def is_holiday(days: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    dates = pd.DatetimeIndex(days).date
    return np.array([d in _holidays(d.year) for d in dates], dtype=bool)


def calendar_features(ts: pd.Series | pd.DatetimeIndex, timezone: str) -> pd.DataFrame:
    """Local minute of day (and its sine and cosine), weekday, weekend and public holiday, per instant."""
    local = pd.DatetimeIndex(ts).tz_convert(timezone)
    minute = local.hour * 60 + local.minute
    angle = 2 * np.pi * minute / 1440
    holiday = is_holiday(local)
    weekday = local.weekday
    return pd.DataFrame({
        "minute_of_day": minute, "tod_sin": np.sin(angle), "tod_cos": np.cos(angle),
        "weekday": weekday, "day_off": ((weekday >= 5) | holiday).astype(int), "holiday": holiday.astype(int),
    }, index=pd.RangeIndex(len(local)))
