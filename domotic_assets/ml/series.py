"""The energy series the forecaster works on, out of the warehouse's frames: one per apartment and main
device."""

from __future__ import annotations

import pandas as pd

from domotic_assets.ml.learnt import WEATHER

STEP = pd.Timedelta(minutes=15)
SeriesKey = tuple[int, int]
"""(apartment_key, device_key); device_key 0 is the whole apartment (its main meter)."""


def energy_series(
    kwh: pd.DataFrame, devices: pd.DataFrame, first: pd.Timestamp, end: pd.Timestamp
) -> dict[SeriesKey, pd.Series]:
    """kWh per quarter-hour on the full grid first..end (exclusive), gaps as NaN, for each apartment
    and each of its main devices (`devices`: apartment_key, device_key)."""
    grid = pd.date_range(first, end, freq=STEP, inclusive="left")
    wanted = {(int(a), 0) for a in kwh["apartment_key"].unique()}
    wanted |= {(int(a), int(d)) for a, d in zip(devices["apartment_key"], devices["device_key"])}
    out = {}
    for (apartment, device), rows in kwh.groupby(["apartment_key", "device_key"]):
        if (int(apartment), int(device)) in wanted:
            y = rows.set_index("ts")["kwh"].astype(float).reindex(grid)
            y.index.freq = STEP
            out[(int(apartment), int(device))] = y.rename("value")
    return out


def weather_for(
    series: dict[SeriesKey, pd.Series],
    weather: pd.DataFrame,
    sites: dict[int, str | None],
    end: pd.Timestamp,
    horizon_steps: int,
) -> dict[SeriesKey, pd.DataFrame]:
    """Each series' weather forecast on its grid extended by the horizon (hourly values held for the hour),
    with when each had arrived (`known_at`)."""
    out = {}
    for key, y in series.items():
        site = weather[weather["weather_site"] == sites.get(key[0])]
        if site.empty:
            continue
        grid = pd.date_range(y.index[0], end + horizon_steps * STEP, freq=STEP, inclusive="left")
        hourly = site.set_index("ts")[[c for c in (*WEATHER, "known_at") if c in site]].sort_index()
        out[key] = hourly.reindex(grid, method="ffill", limit=3)
    return out
