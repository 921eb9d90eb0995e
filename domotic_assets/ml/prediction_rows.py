"""Predictions as rows of `gold.fact_prediction`: keys, the horizon that covers each lead time, the
interval."""

from __future__ import annotations

import numpy as np
import pandas as pd

from domotic_assets.settings import PLATFORM_TIMEZONE

MODEL_KEYS = {"energy_forecast": 1, "presence": 2, "anomaly_detection": 3}
TARGET_KEYS = {"energy_kwh": 1, "presence_prob": 3, "anomaly_score": 4}
HORIZONS = ((0, 0), (15, 1), (60, 2), (360, 3), (1440, 4), (2880, 5))
"""(lead minutes, horizon_key) of gold.dim_horizon: a row's horizon is the smallest covering its lead."""


def horizon_keys(lead_minutes) -> np.ndarray:
    leads = np.asarray(lead_minutes, dtype=float)
    bounds = np.array([m for m, _ in HORIZONS], dtype=float)
    index = np.searchsorted(bounds, leads, side="left")
    if (index >= len(HORIZONS)).any():
        raise ValueError(f"a lead of {leads.max():.0f} minutes is beyond the longest horizon")
    return np.array([k for _, k in HORIZONS])[index]


def local_columns(ts: pd.Series, timezone: str) -> pd.DataFrame:
    """Gold's calendar keys of each instant: its local day, `date_key` (YYYYMMDD) and minute of the day."""
    local = pd.to_datetime(ts, utc=True).dt.tz_convert(timezone)
    return pd.DataFrame(
        {
            "local_day": local.dt.date,
            "date_key": local.dt.strftime("%Y%m%d").astype(int),
            "minute_of_day_key": local.dt.hour * 60 + local.dt.minute,
        }
    )


def rows(frame: pd.DataFrame, model: str, target: str, model_version_key: int) -> pd.DataFrame:
    """`frame`: ts, issued_at, apartment_key, room_key, device_key, predicted_value, lower_value,
    upper_value, confidence (any of the last four may be missing). Local days are the platform's
    calendar, as everywhere in Gold."""
    out = frame.copy()
    lead = (
        pd.to_datetime(out["ts"], utc=True) - pd.to_datetime(out["issued_at"], utc=True)
    ).dt.total_seconds() / 60
    out["horizon_key"] = horizon_keys(lead.clip(lower=0))
    out = pd.concat(
        [out.reset_index(drop=True), local_columns(out["ts"], PLATFORM_TIMEZONE).reset_index(drop=True)],
        axis=1,
    )
    out["model_key"], out["target_key"], out["model_version_key"] = (
        MODEL_KEYS[model],
        TARGET_KEYS[target],
        model_version_key,
    )
    for column in ("room_key", "device_key", "lower_value", "upper_value", "confidence"):
        if column not in out:
            out[column] = None
    return out
