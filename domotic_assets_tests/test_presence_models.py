"""Presence rows issued at an origin use only the hours before it, and the model's Brier gain gets its
interval over the origins."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from domotic_assets.ml import presence
from domotic_assets.ml.evaluation import (
    evaluate_presence,
    f1,
    origins,
)
from domotic_assets.ml.presence_models import issued_at_origin

TZ = "Europe/Zurich"


def routine_hours(days=21) -> pd.DataFrame:
    """One bedroom occupied 22:00-07:00 every night, with the Gold-like signals that go with it."""
    ts = pd.date_range("2023-11-01", periods=days * 24, freq="h", tz=TZ).tz_convert("UTC")
    hour = ts.tz_convert(TZ).hour
    asleep = (hour >= 22) | (hour < 7)
    rng = np.random.default_rng(2)
    return pd.DataFrame(
        {
            "apartment_key": 1,
            "room_key": 4,
            "ts": ts,
            "presence_minutes": np.where(asleep, 60, 0).astype(float),
            "motion_count": np.where(asleep, rng.integers(0, 3, len(ts)), 0).astype(float),
            "co2_mean": np.where(asleep, 900.0, 500.0),
            "co2_rise": np.where(asleep, 80.0, 5.0),
            "light_mean": np.where(asleep, 0.0, 150.0),
            "door_open_minutes": 0.0,
        }
    )


def test_the_presence_brier_gain_gets_an_interval_over_the_origins():
    rows = presence.feature_rows(
        routine_hours(days=28).assign(
            presence_minutes=lambda f: np.where(
                np.random.default_rng(5).random(len(f)) < 0.1,
                60 - f["presence_minutes"],
                f["presence_minutes"],
            )
        ),
        {1: TZ},
    )
    scores = evaluate_presence(rows, None, origins(date(2023, 11, 28), 6))
    low, high = scores["brier_improvement_ci95"]
    assert low <= scores["brier_improvement"] <= high and low < high  # one night in ten breaks the routine
    assert scores["brier_improvement"] == pytest.approx(
        1 - scores["brier"] / scores["baseline_brier"], abs=0.01
    )


def test_presence_rows_issued_at_midnight_use_only_the_hours_before_it():
    hourly = routine_hours()
    rows = presence.feature_rows(hourly, {1: TZ})
    origin = pd.Timestamp("2023-11-15", tz=TZ).tz_convert("UTC")
    issued = issued_at_origin(rows, origin)
    assert len(issued) == 24 and (issued["lead_hours"] == np.arange(1, 25)).all()
    tampered = hourly.copy()
    tampered.loc[
        tampered["ts"] >= origin, ["presence_minutes", "motion_count", "co2_mean", "light_mean"]
    ] = -1.0
    again = issued_at_origin(presence.feature_rows(tampered, {1: TZ}), origin)
    features = [c for c in presence.FEATURES]
    pd.testing.assert_frame_equal(
        issued[features].reset_index(drop=True), again[features].reset_index(drop=True)
    )
    model = presence.PresenceModel().fit(rows[rows["ts"] < origin])
    predicted = model.probability(issued) >= 0.5
    assert f1(presence.label(issued["presence_minutes"]), predicted)["f1"] == 1.0
