"""The forecaster of one regular series (energy of an apartment or a device, or any series of any scale
and step), which proves itself on the end of its own history before it answers.

`fit` backtests the learnt models (ml.learnt) and the plain baselines (ml.baselines) at rolling
origins on the history's last weeks (ml.backtest), keeps the best of them or their blend, and
calibrates the 80 % interval on the errors it made there. `report` says what it chose and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from domotic_assets.ml import backtest
from domotic_assets.ml.baselines import BASELINE_NAMES, candidates
from domotic_assets.ml.calendar import PLATFORM_HOLIDAYS
from domotic_assets.ml.learnt import (
    MIN_TRAINING_ROWS,
    TARGETS,
    LearntModel,
    features,
    weather_known_at,
    without_late_weather,
)

COVERAGE = 0.8
NO_BACKTEST_BLEND = {"level": 0.5, "typical_day": 0.5}


def regular(series: pd.DataFrame) -> pd.Series:
    """`ts,value` rows as a series on its own regular grid (the most common step), gaps as NaN."""
    frame = series.dropna(subset=["ts"]).copy()
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    frame = frame.groupby("ts", as_index=True)["value"].mean().sort_index()
    if len(frame) < 3:
        raise ValueError("a series needs at least three timestamps")
    step = frame.index.to_series().diff().dropna().mode().iloc[0]
    if step <= pd.Timedelta(0):
        raise ValueError("timestamps must increase")
    grid = pd.date_range(frame.index[0], frame.index[-1], freq=step)
    return frame.reindex(grid).rename("value")


@dataclass
class EnergyForecaster:
    """Forecaster of one series: `fit` on its history (backtest, choice, interval), `predict` the next
    `horizon_steps`. `region`: the public holidays of the series' calendar (None: none)."""

    timezone: str
    horizon_steps: int
    region: str | None = PLATFORM_HOLIDAYS
    coverage: float = COVERAGE
    max_origins: int = backtest.MAX_ORIGINS
    choice: backtest.Choice | None = None
    interval: backtest.Interval | None = None
    models: dict[str, LearntModel] = field(default_factory=dict)
    step: pd.Timedelta | None = None
    non_negative: bool = True
    training_rows: int = 0
    feature_names: list[str] = field(default_factory=list)

    def fit(self, y: pd.Series, weather: pd.DataFrame | None = None) -> EnergyForecaster:
        if len(y) < 3:
            raise ValueError("a series needs at least three points")
        self.step = y.index[1] - y.index[0]
        y = (
            y.loc[y.first_valid_index() :] if y.notna().any() else y
        )  # a training window opened before the feed began
        values = y.to_numpy(dtype=float)
        x = features(y, self.horizon_steps, self.timezone, weather, self.region)
        lagged = x.filter(like="lag_").notna().any(axis=1).to_numpy()
        usable = int((~np.isnan(values) & lagged).sum())
        if usable < MIN_TRAINING_ROWS:  # not a day of values with a value a horizon before them
            raise ValueError(
                f"too little history to forecast: {usable} usable points, {MIN_TRAINING_ROWS} needed"
            )
        self.non_negative = bool(np.nanmin(values) >= 0)
        check = backtest.run(
            y,
            x,
            self.horizon_steps,
            self.timezone,
            self.region,
            self.max_origins,
            weather_known_at(weather, y.index),
        )
        # with no backtest yet (under MIN_HISTORY_DAYS and a horizon of history), the blend the platform's
        # own series did best with in their first weeks (docs/models.md)
        self.choice = backtest.choose(check) if check.origins else backtest.Choice(dict(NO_BACKTEST_BLEND))
        known = ~np.isnan(values)
        for name in self.choice.weights:
            if name in TARGETS:
                self.models[name] = LearntModel(name).fit(values, x, known)
        if self.models:
            self.feature_names = next(iter(self.models.values())).feature_names
            self.training_rows = max(m.training_rows for m in self.models.values())
        chosen = backtest.blend(check.forecasts, self.choice.weights) if check.origins else None
        self.interval = backtest.calibrate(check, chosen, self.coverage) if chosen is not None else None
        if self.interval is None:
            self.interval = backtest.day_to_day_interval(values, self.step, self.coverage)
        return self

    @property
    def method(self) -> str:
        return self.choice.method if self.choice else "not fitted"

    def report(self) -> dict:
        """What the forecaster chose and the backtest it chose on, for `--report` and model metadata."""
        return {
            "summary": self.summary(),
            "method": self.method,
            "weights": self.choice.weights,
            "backtest_origins": self.choice.origins,
            "backtest_points": self.choice.points,
            "backtest_mae": self.choice.mae,
            "horizon_steps": self.horizon_steps,
            "step_minutes": self.step / pd.Timedelta(minutes=1),
            "interval": self.coverage,
            "backtest_interval_coverage": self.interval.coverage,
            "holidays": self.region,
        }

    def summary(self) -> str:
        """One line: what the forecast uses, its backtest error beside the best baseline's, the interval's
        record."""
        errors, choice = self.choice.mae, self.choice
        if not errors:
            return f"{self.method} (too little history for a backtest)"
        best = min((name for name in errors if name in BASELINE_NAMES), key=errors.get)
        held = (
            f", its 80 % interval held {100 * self.interval.coverage:.0f} %"
            if self.interval.coverage is not None
            else ""
        )
        return (
            f"{self.method}; backtest MAE {errors[choice.chosen]:.4g} against {errors[best]:.4g} for the "
            f"best baseline ({best}), {choice.points} points at {choice.origins} origins{held}"
        )

    def predict(
        self, history: pd.Series, weather: pd.DataFrame | None = None, steps: int | None = None
    ) -> pd.DataFrame:
        """The next `steps` (at most the horizon) after the end of `history`: ts, value, lower, upper. A
        weather value that arrived after the origin (its `known_at`, where `weather` has one) is not read."""
        steps = steps or self.horizon_steps
        if steps > self.horizon_steps:
            raise ValueError(f"fitted for {self.horizon_steps} steps ahead, asked for {steps}")
        future = pd.date_range(history.index[-1] + self.step, periods=self.horizon_steps, freq=self.step)
        forecasts = candidates(history, self.horizon_steps, self.timezone, self.region)
        if self.models:
            grid = pd.concat([history.astype(float), pd.Series(np.nan, index=future)])
            x = features(grid, self.horizon_steps, self.timezone, weather, self.region).iloc[
                -self.horizon_steps :
            ]
            x = without_late_weather(
                x, weather_known_at(weather, future), np.full(len(future), future[0].value)
            )
            forecasts |= {name: model.predict(x) for name, model in self.models.items()}
        value = backtest.blend(forecasts, self.choice.weights)
        for fallback in ("typical_day", "seasonal_naive_1d"):  # a gap in the chosen candidate's inputs
            value = np.where(np.isnan(value), forecasts[fallback], value)
        value = np.where(np.isnan(value), np.nanmean(history.to_numpy(dtype=float)), value)
        blocks = future.tz_convert(self.timezone).hour.to_numpy() // backtest.BLOCK_HOURS
        lower, upper = self.interval.bounds(value, blocks)
        if self.non_negative:  # a consumption never seen below zero is not forecast below it
            value, lower = np.clip(value, 0, None), np.clip(lower, 0, None)
        return pd.DataFrame(
            {"ts": future, "value": value, "lower": lower, "upper": np.maximum(upper, value)}
        ).iloc[:steps]


def read_history(path, timezone: str) -> pd.Series:
    """A `ts,value` CSV as a regular series (timestamps without an offset are read in `timezone`)."""
    frame = pd.read_csv(path)
    missing = {"ts", "value"} - set(frame.columns)
    if missing:
        raise ValueError(f"missing column(s) {', '.join(sorted(missing))}; expected ts,value")
    stamps = pd.to_datetime(frame["ts"], errors="coerce", utc=False, format="mixed")
    if stamps.dt.tz is None:
        stamps = stamps.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
    values = pd.to_numeric(frame["value"], errors="coerce")
    return regular(pd.DataFrame({"ts": stamps, "value": values}))


def forecast_series(
    history: pd.Series, horizon: int, timezone: str, region: str | None = PLATFORM_HOLIDAYS
) -> tuple[pd.DataFrame, dict]:
    """The next `horizon` points of a regular series (ts, value, lower, upper) and the forecaster's report."""
    forecaster = EnergyForecaster(timezone, horizon, region).fit(history)
    return forecaster.predict(history), forecaster.report()
