"""Training, evaluating and applying the energy forecasters of every apartment and main device."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from domotic_assets.ml.energy_forecast import EnergyForecaster
from domotic_assets.ml.evaluation import evaluate_energy, origins
from domotic_assets.ml.series import STEP, SeriesKey

HORIZON_STEPS = 192  # 48 hours of quarter-hours
TRAINING_DAYS = 42
HOLDOUT_DAYS = 2
"""Days at the end of a training window held out for the version's own evaluation."""


@dataclass
class EnergyTrainingSet:
    """Quarter-hour kWh per series and its weather forecast, over the local days first..last."""

    first_day: date
    last_day: date
    timezones: dict[SeriesKey, str]
    series: dict[SeriesKey, pd.Series]
    weather: dict[SeriesKey, pd.DataFrame]
    names: dict[SeriesKey, str] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return int(sum(y.notna().sum() for y in self.series.values()))


@dataclass
class EnergyModels:
    forecasters: dict[SeriesKey, EnergyForecaster]
    metrics: dict
    skipped: dict[str, str]
    features: list[str]


def train(training: EnergyTrainingSet, holdout_days: int = HOLDOUT_DAYS) -> EnergyModels:
    """One forecaster per series on the whole window (each backtests itself and keeps what did best on
    its own series), judged on the window's last `holdout_days` by one trained without them, beside the
    seasonal-naive and typical-day baselines."""
    forecasters, skipped = {}, {}
    for key, y in training.series.items():
        try:
            forecasters[key] = EnergyForecaster(training.timezones[key], HORIZON_STEPS).fit(
                y, training.weather.get(key)
            )
        except ValueError as exc:
            skipped[training.names.get(key, str(key))] = str(exc)
    metrics: dict = {}
    if forecasters and holdout_days:
        start = pd.Timestamp(training.last_day) - pd.Timedelta(days=holdout_days - 1)
        try:
            metrics = evaluate_energy(
                {k: training.series[k] for k in forecasters},
                training.weather,
                origins(start, 1),
                HORIZON_STEPS,
                training.timezones,
            ).metrics()
        except ValueError as exc:
            metrics = {"not_evaluated": str(exc)}
    if forecasters:  # what each series' own backtest chose (a model, a baseline or a blend)
        metrics["chosen"] = {training.names.get(k, str(k)): f.method for k, f in forecasters.items()}
    features = next((f.feature_names for f in forecasters.values() if f.feature_names), [])
    return EnergyModels(forecasters, metrics, skipped, features)


def forecast(
    models: EnergyModels,
    series: dict[SeriesKey, pd.Series],
    weather: dict[SeriesKey, pd.DataFrame],
    origin: pd.Timestamp,
) -> pd.DataFrame:
    """The 48 hours after `origin` for every series with a forecaster, from its history before `origin`: ts,
    issued_at, apartment_key, device_key (None: the apartment), predicted_value, lower_value, upper_value."""
    frames = []
    for key, forecaster in models.forecasters.items():
        y = series.get(key)
        if y is None:
            continue
        history = y[y.index < origin]  # the series' grid runs up to the origin (series.energy_series)
        if history.empty or history.index[-1] != origin - STEP:
            continue
        predicted = forecaster.predict(history, weather.get(key))
        frames.append(
            pd.DataFrame(
                {
                    "ts": predicted["ts"],
                    "issued_at": origin,
                    "apartment_key": key[0],
                    "device_key": key[1] or None,
                    "predicted_value": predicted["value"],
                    "lower_value": predicted["lower"],
                    "upper_value": predicted["upper"],
                    "confidence": 0.8,  # the interval's nominal coverage
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
