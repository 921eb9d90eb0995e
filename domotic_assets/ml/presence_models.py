"""Training, evaluating and applying the room presence model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from domotic_assets.ml import presence
from domotic_assets.ml.evaluation import evaluate_presence, local_midnight, origins

TRAINING_DAYS = 28
CONTEXT_DAYS = presence.PROFILE_DAYS
"""Days read before a window so its first rows have their profile and recent state."""
HOLDOUT_DAYS = 2


@dataclass
class PresenceTrainingSet:
    first_day: date
    last_day: date
    rows: pd.DataFrame  # presence.feature_rows of the window and of the day after it


@dataclass
class PresenceModels:
    model: presence.PresenceModel
    metrics: dict


def training_set(
    hourly: pd.DataFrame, first: date, last: date, timezones: dict[int, str]
) -> PresenceTrainingSet:
    """Feature rows of the local days first..last to train on, and of the day after, to forecast it
    (`hourly` may start earlier, for the first rows' context; the day after may hold nothing yet)."""
    end = local_midnight(last + timedelta(days=2)) - pd.Timedelta(hours=1)
    rows = presence.feature_rows(hourly, timezones, end=end)
    low = local_midnight(first)
    return PresenceTrainingSet(first, last, rows[rows["ts"] >= low].reset_index(drop=True))


def issued_at_origin(rows: pd.DataFrame, origin: pd.Timestamp, hours: int = 24) -> pd.DataFrame:
    """The rows an issue at `origin` makes: each of the next `hours` hours at its own lead."""
    offset = ((rows["ts"] - origin) / pd.Timedelta(hours=1)).round()
    return rows[(offset >= 0) & (offset < hours) & (rows["lead_hours"] == offset + 1)]


def train(
    training: PresenceTrainingSet, truth: pd.Series | None = None, holdout_days: int = HOLDOUT_DAYS
) -> PresenceModels:
    """The model on the whole window, judged first on its last `holdout_days` as issued at each
    midnight (trained without them), beside the time-of-day frequency baseline."""
    rows = training.rows[training.rows["ts"] < local_midnight(training.last_day + timedelta(days=1))]
    model = presence.PresenceModel().fit(rows)
    metrics: dict = {}
    if holdout_days:
        start = pd.Timestamp(training.last_day) - pd.Timedelta(days=holdout_days - 1)
        try:
            metrics = evaluate_presence(rows, truth, origins(start, holdout_days), select=issued_at_origin)
        except ValueError as exc:
            metrics = {"not_evaluated": str(exc)}
    return PresenceModels(model, metrics)


def forecast(models: PresenceModels, rows: pd.DataFrame, origin: pd.Timestamp) -> pd.DataFrame:
    """Probability of presence in each room for the 24 hours after `origin`, as issued then."""
    issued = issued_at_origin(rows, origin)
    if issued.empty:
        return pd.DataFrame()
    probability = models.model.probability(issued)
    return pd.DataFrame(
        {
            "ts": issued["ts"].to_numpy(),
            "issued_at": origin,
            "apartment_key": issued["apartment_key"].to_numpy(),
            "room_key": issued["room_key"].to_numpy(),
            "predicted_value": probability,
            "confidence": np.abs(probability - 0.5) * 2,  # 0: a coin toss, 1: certain
        }
    )
