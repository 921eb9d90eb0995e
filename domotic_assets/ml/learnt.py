"""The learnt forecasts: models of what is known a horizon ahead of each instant.

Every target instant is described only by values at least a horizon before it: the same instant whole
days earlier, the slot's mean over a week and its median over four weeks of the same kind of day, the
level of a whole day and how it moved against the week before, its calendar in the series' own time
and the weather forecast for it (blanked where that forecast arrived after the origin:
`without_late_weather`). Because no input is nearer than the horizon, one model serves every
lead time, and the inputs of a past instant are the same whether the history is cut at an origin or
not (which makes the backtest cheap: one fit, then every origin's forecast by lookup).

Three models are learnt, and the backtest decides between them (and the baselines) for each series:
- `level`: gradient boosting of the value itself. Good for devices that are on or off: trees route
  the on/off slots.
- `departure`: gradient boosting of the change from the same instant a week (or whole weeks) earlier,
  in units of the series' typical size. For aggregates of any scale (tens of thousands of MW or a few
  kWh): last week's curve, corrected, instead of a staircase of tree leaves.
- `linear`: a ridge regression of the same change on the changes seen since. Trees cannot extrapolate:
  a level never seen in training (a heat wave, a growing demand) is clipped to the nearest leaf, where
  a linear model carries the week-on-week change over.
Missing values are allowed everywhere: trees route them, the linear model reads them as "no change",
so a short history degrades the forecast instead of stopping it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from domotic_assets.ml.baselines import TYPICAL_DAY_WEEKS, steps_per_day
from domotic_assets.ml.calendar import PLATFORM_HOLIDAYS, calendar_features

if TYPE_CHECKING:  # scikit-learn takes 2 s to import: a fit needs it, not every process that loads the code
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.pipeline import Pipeline

WEATHER = ("air_temperature", "global_radiation")
WEATHER_INPUTS = [*WEATHER, *(f"{name}_change" for name in WEATHER)]
MIN_TRAINING_ROWS = 96
TARGETS = ("level", "departure", "linear")


def lag_days(horizon_steps: int, step: pd.Timedelta) -> list[int]:
    """Whole-day lags a horizon-long forecast may use: every lag is at least the horizon."""
    first = max(1, math.ceil(horizon_steps / steps_per_day(step)))
    return sorted({first, first + 1, max(7, first)})


def reference_days(horizon_steps: int, step: pd.Timedelta) -> int:
    """The whole weeks back the `departure` target is measured from: the nearest week the horizon allows."""
    return 7 * math.ceil(lag_days(horizon_steps, step)[0] / 7)


def features(
    y: pd.Series,
    horizon_steps: int,
    timezone: str,
    weather: pd.DataFrame | None = None,
    region: str | None = PLATFORM_HOLIDAYS,
) -> pd.DataFrame:
    """The models' inputs for every instant of `y` (a regular series; NaN where not yet known)."""
    step = y.index[1] - y.index[0]
    per_day, lags = steps_per_day(step), lag_days(horizon_steps, step)
    first, week = lags[0], reference_days(horizon_steps, step) * per_day
    series = pd.Series(y.to_numpy(dtype=float))
    out = calendar_features(y.index, timezone, region)
    for days in lags:
        out[f"lag_{days}d"] = series.shift(days * per_day).to_numpy()
        # the same slot's change against the week before it, seen `days` ago
        out[f"change_{days}d"] = (
            series.shift(days * per_day) - series.shift(days * per_day + week)
        ).to_numpy()
    out["reference"] = series.shift(week).to_numpy()
    out["reference_day_off"] = out["day_off"].shift(week).to_numpy()
    same_slot = pd.DataFrame({k: series.shift((first + k) * per_day) for k in range(7)})
    out["slot_mean_7d"] = same_slot.mean(axis=1).to_numpy()
    out["slot_max_7d"] = same_slot.max(axis=1).to_numpy()
    day_level = series.shift(first * per_day).rolling(per_day, min_periods=per_day // 2).mean()
    out["day_level"] = day_level.to_numpy()
    out["day_level_change"] = (day_level - day_level.shift(week)).to_numpy()
    out["kind_median_4w"] = _same_kind_days(series, out["day_off"], first, per_day).median(axis=1).to_numpy()
    for name in WEATHER:
        values = (
            weather[name].reindex(y.index).to_numpy(dtype=float)
            if weather is not None and name in weather
            else np.full(len(y), np.nan)
        )
        out[name] = values
        out[f"{name}_change"] = values - pd.Series(values).shift(week).to_numpy()
    return out


def weather_known_at(weather: pd.DataFrame | None, index: pd.DatetimeIndex) -> np.ndarray | None:
    """When the weather forecast of each instant had arrived (ns since the epoch; None: the frame does not
    say)."""
    if weather is None or "known_at" not in weather:
        return None
    known = pd.to_datetime(weather["known_at"].reindex(index), utc=True)
    return np.where(
        known.isna(), np.iinfo(np.int64).min, known.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    )


def without_late_weather(x: pd.DataFrame, known_at: np.ndarray | None, origin_ns: np.ndarray) -> pd.DataFrame:
    """`x` with the weather inputs blanked on the rows whose forecast arrived after their origin (`origin_ns`,
    one per row): a forecast made at an origin reads only what had arrived by then."""
    if known_at is None or not (late := known_at > origin_ns).any():
        return x
    x = x.copy()
    x.loc[late, [c for c in WEATHER_INPUTS if c in x]] = np.nan
    return x


def _same_kind_days(series: pd.Series, day_off: pd.Series, first: int, per_day: int) -> pd.DataFrame:
    """The typical day: each instant's slot on the days of the same kind (working or off) over the four
    weeks that end `first` days before it (one column per day back; NaN on days of the other kind)."""
    return pd.DataFrame(
        {
            k: series.shift(k * per_day).where(day_off.shift(k * per_day) == day_off)
            for k in range(first, first + 7 * TYPICAL_DAY_WEEKS)
        }
    )


@dataclass
class LearntModel:
    """One of the three models (`target`: level, departure or linear); boosting fits the absolute error,
    a median forecast."""

    target: str
    max_iter: int = 100
    model: HistGradientBoostingRegressor | Pipeline | None = None
    feature_names: list[str] = field(default_factory=list)
    scale: float = 1.0
    training_rows: int = 0

    def fit(self, y: np.ndarray, x: pd.DataFrame, rows: np.ndarray) -> LearntModel:
        """Learn from the instants `rows` (a mask over `y` and `x`, which share their order)."""
        goal = self._goal(y, x)
        rows = rows & ~np.isnan(goal) & x.filter(like="lag_").notna().any(axis=1).to_numpy()
        if rows.sum() < MIN_TRAINING_ROWS:
            raise ValueError(
                f"too little history to train: {int(rows.sum())} usable points, {MIN_TRAINING_ROWS} needed"
            )
        # a feature with no value at all (no weather forecast for a series) is left out, not learnt from
        self.feature_names = [c for c in x.columns if x.loc[rows, c].notna().any()]
        self.scale = float(np.nanmean(np.abs(y[rows]))) or 1.0
        target = goal[rows] / self.scale
        # A device that is off reads exactly 0 most of the time; with that many ties at the median the
        # absolute-error boosting never leaves a prediction of 0 (seen on a TV whose evenings are 90 % on).
        # A deterministic jitter a million times below the signal breaks the ties.
        target = target + np.random.default_rng(0).normal(0, 1e-6 * (np.std(target) or 1.0), len(target))
        from threadpoolctl import threadpool_limits

        if self.target == "linear":
            from sklearn.linear_model import Ridge
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler

            self.model = make_pipeline(StandardScaler(), Ridge(alpha=1.0))
            inputs = _linear_inputs(x.loc[rows])
            self.feature_names = list(inputs.columns)
            self.model.fit(inputs, target)
            self.training_rows = int(rows.sum())
            return self
        from sklearn.ensemble import HistGradientBoostingRegressor

        self.model = HistGradientBoostingRegressor(
            loss="absolute_error",
            max_iter=self.max_iter,
            learning_rate=0.1,
            max_leaf_nodes=15,
            min_samples_leaf=20,
            random_state=0,
        )
        # One thread: on a few thousand rows OpenMP's threads wait on each other more than they work, and
        # on a busy machine (a backfill, the test suite) a 0.2 s fit took 5 s with two.
        with threadpool_limits(1, user_api="openmp"):
            self.model.fit(x.loc[rows, self.feature_names], target)
        self.training_rows = int(rows.sum())
        return self

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        """The forecast of every row of `x` (NaN where a `departure` has no reference value)."""
        from threadpoolctl import threadpool_limits

        inputs = _linear_inputs(x) if self.target == "linear" else x[self.feature_names]
        with threadpool_limits(1, user_api="openmp"):
            learnt = self.model.predict(inputs) * self.scale
        return learnt if self.target == "level" else learnt + x["reference"].to_numpy(dtype=float)

    def _goal(self, y: np.ndarray, x: pd.DataFrame) -> np.ndarray:
        return y.astype(float) if self.target == "level" else y - x["reference"].to_numpy(dtype=float)


def _linear_inputs(x: pd.DataFrame) -> pd.DataFrame:
    """The linear model's inputs: changes only (week on week, and each known value against the
    reference), with no change where a value is missing."""
    reference = x["reference"]
    changes = {c: x[c] for c in x.columns if c.startswith("change_") or c.endswith("_change")}
    changes |= {
        f"{c}_vs_reference": x[c] - reference
        for c in x.columns
        if c.startswith("lag_") or c in ("slot_mean_7d", "kind_median_4w")
    }
    return pd.DataFrame(changes).fillna(0.0)
