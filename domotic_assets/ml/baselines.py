"""The plain forecasts every model has to beat, each made from the history before its origin alone.

Each takes a regular series that ends just before the origin (gaps as NaN) and returns the next
`steps` values (NaN where it has nothing to say, e.g. seasonal naive with under a week of history).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from domotic_assets.ml.calendar import PLATFORM_HOLIDAYS, calendar_features

TYPICAL_DAY_WEEKS = 4
BASELINE_NAMES = ("seasonal_naive_1d", "seasonal_naive_7d", "typical_day", "weekly_naive_at_recent_level")


def steps_per_day(step: pd.Timedelta) -> int:
    return max(1, round(pd.Timedelta(days=1) / step))


def _step(history: pd.Series) -> pd.Timedelta:
    return history.index[1] - history.index[0]


def seasonal_naive(history: pd.Series, steps: int, season_days: int = 7) -> np.ndarray:
    """The last `season_days` of history repeated: the same instant a week earlier (a day earlier with
    `season_days=1`, the last day repeated past the first day ahead)."""
    season = season_days * steps_per_day(_step(history))
    values = history.to_numpy(dtype=float)
    if len(values) < season:
        return np.full(steps, np.nan)
    return values[-season:][np.arange(steps) % season]


def weekly_naive_at_recent_level(history: pd.Series, steps: int) -> np.ndarray:
    """Seasonal naive at a week, moved by how much the last day differed from the same day a week earlier
    (a heat wave or a holiday week lifts or lowers every value of the coming days alike)."""
    per_day = steps_per_day(_step(history))
    naive = seasonal_naive(history, steps, 7)
    values = history.to_numpy(dtype=float)
    if len(values) < 8 * per_day:
        return naive
    change = values[-per_day:] - values[-8 * per_day:-7 * per_day]
    return naive + np.nanmean(change) if np.isfinite(change).any() else naive


def typical_day(history: pd.Series, steps: int, timezone: str, region: str | None = PLATFORM_HOLIDAYS,
                weeks: int = TYPICAL_DAY_WEEKS) -> np.ndarray:
    """The median of the same local time on the same kind of day (working, or weekend and holiday) over
    the last `weeks` weeks, or on any day when the history holds none of that kind."""
    step = _step(history)
    recent = history.iloc[-weeks * 7 * steps_per_day(step):]
    cal = calendar_features(recent.index, timezone, region)
    known = recent.notna().to_numpy()
    values, cal = pd.Series(recent.to_numpy(dtype=float)[known]), cal[known].reset_index(drop=True)
    profile = values.groupby([cal["day_off"], cal["minute_of_day"]]).median()
    any_day = values.groupby(cal["minute_of_day"]).median()
    future = pd.date_range(history.index[-1] + step, periods=steps, freq=step)
    fut = calendar_features(future, timezone, region)
    return np.array([profile.get((d, m), any_day.get(m, np.nan)) for d, m in zip(fut["day_off"], fut["minute_of_day"])])


def baselines(history: pd.Series, steps: int, timezone: str, region: str | None = PLATFORM_HOLIDAYS) -> dict[str, np.ndarray]:
    """Every baseline's forecast of the `steps` after `history`, by name."""
    forecasts = (seasonal_naive(history, steps, 1), seasonal_naive(history, steps, 7),
                 typical_day(history, steps, timezone, region), weekly_naive_at_recent_level(history, steps))
    return dict(zip(BASELINE_NAMES, forecasts))
