"""Room presence: the probability that a room is occupied in an hour, 1 to 24 hours ahead.

Input is one row per room and local hour (`hourly` columns below), built from Gold's presence
minutes, motion, doors and CO2 and Silver's light readings. An hour counts as occupied when
someone is in the room for at least `OCCUPIED_MINUTES` of it. For an issue at the start of an
hour, the model sees the last complete hours of the room and of the whole apartment, the target
hour's calendar, the lead time, and how often that room was occupied at that hour on that kind
of day over the past two weeks (which is also the baseline it must beat).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from domotic_assets.ml.calendar import calendar_features

if TYPE_CHECKING:  # scikit-learn takes 2 s to import: a fit needs it, not every process that loads the code
    from sklearn.ensemble import HistGradientBoostingClassifier

OCCUPIED_MINUTES = 30
LEADS = tuple(range(1, 25))
PROFILE_DAYS = 14
HOURLY = ("presence_minutes", "motion_count", "co2_mean", "co2_rise", "light_mean", "door_open_minutes")
"""Per room and hour: minutes flagged present (Gold's rule), motions, CO2 mean and rise, light, doors
opened."""


def label(presence_minutes: pd.Series | np.ndarray) -> np.ndarray:
    return (np.asarray(presence_minutes, dtype=float) >= OCCUPIED_MINUTES).astype(int)


def _profile(hours: pd.DataFrame, timezone: str) -> np.ndarray:
    """How often the room was occupied at this local hour on this kind of day (working or off) over the
    `PROFILE_DAYS` such days before; on any day at that hour when there was none of that kind yet."""
    cal = calendar_features(hours["ts"], timezone)
    occupied = pd.Series(label(hours["presence_minutes"]), dtype=float)
    occupied[hours["presence_minutes"].isna().to_numpy()] = np.nan
    hour = (cal["minute_of_day"] // 60).to_numpy()

    def past_share(keys: np.ndarray) -> np.ndarray:
        out = np.full(len(hours), np.nan)
        for key in np.unique(keys):
            rows = np.flatnonzero(keys == key)
            out[rows] = occupied.iloc[rows].shift(1).rolling(PROFILE_DAYS, min_periods=1).mean().to_numpy()
        return out

    typed = past_share(cal["day_off"].to_numpy() * 100 + hour)
    return np.where(np.isnan(typed), past_share(hour), typed)


def _room_rows(
    hours: pd.DataFrame, apartment_presence: np.ndarray, timezone: str, leads: tuple[int, ...]
) -> pd.DataFrame:
    """Feature rows (target hour x lead) of one room's hourly frame on a complete hourly grid."""
    n = len(hours)
    profile = _profile(hours, timezone)
    cal = calendar_features(hours["ts"], timezone)
    state = {name: hours[name].to_numpy(dtype=float) for name in HOURLY}
    columns: dict[str, list[np.ndarray]] = {}
    for lead in leads:
        target = np.arange(n)
        last = target - lead  # the last complete hour at the issue
        ok = last >= 2
        t, s = target[ok], last[ok]
        part = {
            "ts": hours["ts"].to_numpy()[t],
            "lead_hours": np.full(len(t), lead),
            "hour": cal["minute_of_day"].to_numpy()[t] // 60,
            "weekday": cal["weekday"].to_numpy()[t],
            "day_off": cal["day_off"].to_numpy()[t],
            "profile": profile[t],
            **{f"last_{name}": state[name][s] for name in HOURLY},
            "prev_presence_minutes": state["presence_minutes"][s - 1],
            "motion_3h": state["motion_count"][s]
            + state["motion_count"][s - 1]
            + state["motion_count"][s - 2],
            "apartment_presence": apartment_presence[s],
            "presence_minutes": state["presence_minutes"][t],
        }
        for name, values in part.items():
            columns.setdefault(name, []).append(values)
    # joined column by column: pandas warns when it concatenates frames that are empty or all-NA
    return pd.DataFrame({name: np.concatenate(parts) for name, parts in columns.items()})


def feature_rows(
    hourly: pd.DataFrame,
    timezones: dict[int, str],
    leads: tuple[int, ...] = LEADS,
    end: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Feature rows for every room of `hourly` (apartment_key, room_key, ts, HOURLY...), with their keys.
    A row's `lead_hours` counts from the issue (the start of an hour) to the end of the target hour.
    `timezones`: each apartment's own zone, for its calendar; `end`: the last hour to make rows for
    (later than the data: rows to forecast, their state from the last hours known)."""
    frames = []
    for apartment, rooms in hourly.groupby("apartment_key"):
        everyone = rooms.pivot_table(
            index="ts", columns="room_key", values="presence_minutes", aggfunc="sum"
        ).sort_index()
        grid = pd.date_range(
            everyone.index.min(), max(everyone.index.max(), end or everyone.index.max()), freq="h"
        )
        for room, hours in rooms.groupby("room_key"):
            hours = hours.set_index("ts").reindex(grid).rename_axis("ts").reset_index()
            others = everyone.reindex(grid).fillna(0).sum(axis=1).to_numpy()
            rows = _room_rows(hours, others, timezones[apartment], leads)
            rows.insert(0, "room_key", room)
            rows.insert(0, "apartment_key", apartment)
            frames.append(rows)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=ROW_COLUMNS)


FEATURES = [
    "lead_hours",
    "hour",
    "weekday",
    "day_off",
    "profile",
    *(f"last_{n}" for n in HOURLY),
    "prev_presence_minutes",
    "motion_3h",
    "apartment_presence",
]


@dataclass
class PresenceModel:
    """Gradient-boosted classifier over all rooms (the room's own history enters through `profile`)."""

    max_iter: int = 60
    model: HistGradientBoostingClassifier | None = None
    feature_names: list[str] = field(default_factory=lambda: list(FEATURES))
    training_rows: int = 0

    def fit(self, rows: pd.DataFrame) -> PresenceModel:
        known = rows["presence_minutes"].notna()
        if known.sum() < 200:
            raise ValueError(f"too little history to train: {int(known.sum())} labelled room-hours")
        y = label(rows.loc[known, "presence_minutes"])
        if len(set(y)) < 2:
            raise ValueError("the history holds only one class (always or never occupied)")
        # Strongly regularised: a room-hour appears once per lead (24 near-copies), so large leaves and
        # small trees; 31-leaf trees fitted Gold's rule more closely and the truth less (F1 0.887 vs 0.889).
        from sklearn.ensemble import HistGradientBoostingClassifier

        self.model = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=0.1,
            max_leaf_nodes=7,
            min_samples_leaf=500,
            l2_regularization=1.0,
            random_state=0,
        )
        # a feature with no value yet (no past day for the profile on a feed's second day) is left out
        self.feature_names = [c for c in FEATURES if rows.loc[known, c].notna().any()]
        self.model.fit(rows.loc[known, self.feature_names], y)
        self.training_rows = int(known.sum())
        return self

    def probability(self, rows: pd.DataFrame) -> np.ndarray:
        return self.model.predict_proba(rows[self.feature_names])[:, 1]


ROW_COLUMNS = ["apartment_key", "room_key", "ts", *FEATURES, "presence_minutes"]
