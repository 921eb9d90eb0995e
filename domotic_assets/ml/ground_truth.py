"""The simulator's manifest (what really happened) mapped onto Gold's keys, to judge the models by.

Presence: a room-hour is occupied when someone was in the room for `presence.OCCUPIED_MINUTES`.
Anomalies: each injected one becomes the entity the detector reports on (a stopped fridge its
device, a window left open its room, an unmetered draw its apartment).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from domotic_assets.ml.presence import OCCUPIED_MINUTES


def read_manifest(folder: Path) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """(occupancy, anomalies) of a simulated feed's manifest folder, each None when absent."""
    occupancy, anomalies = folder / "occupancy.parquet", folder / "anomalies.parquet"
    return (
        pd.read_parquet(occupancy) if occupancy.exists() else None,
        pd.read_parquet(anomalies) if anomalies.exists() else None,
    )


def occupied_hours(occupancy: pd.DataFrame, rooms: pd.DataFrame) -> pd.DataFrame:
    """apartment_key, room_key, ts (hour), occupied from the true people count per minute.
    `rooms`: apartment_code, name, apartment_key, room_key (gold.dim_room)."""
    frame = occupancy.assign(
        ts=pd.to_datetime(occupancy["ts"], utc=True).dt.floor("h"), here=occupancy["people"] > 0
    )
    minutes = frame.groupby(["apartment", "room", "ts"], as_index=False)["here"].sum()
    merged = minutes.merge(rooms, left_on=["apartment", "room"], right_on=["apartment_code", "name"])
    merged["occupied"] = (merged["here"] >= OCCUPIED_MINUTES).astype(int)
    return merged[["apartment_key", "room_key", "ts", "occupied"]]


def truth_for_rows(rows: pd.DataFrame, occupied: pd.DataFrame) -> pd.Series:
    """The true label of each presence row (NaN where the manifest says nothing)."""
    keyed = rows[["room_key", "ts"]].merge(
        occupied[["room_key", "ts", "occupied"]], on=["room_key", "ts"], how="left"
    )
    return pd.Series(keyed["occupied"].to_numpy(dtype=float), index=rows.index)


def injected_anomalies(
    anomalies: pd.DataFrame, sensors: pd.DataFrame, apartments: pd.DataFrame
) -> pd.DataFrame:
    """apartment_key, entity, kind, start, end of each injected anomaly. `sensors`: external_id,
    apartment_code, device_key, room_key (gold.dim_sensor); `apartments`: code, apartment_key."""
    keys = apartments.set_index("code")["apartment_key"]
    by_sensor = sensors.set_index(["apartment_code", "external_id"])
    rows = []
    for a in anomalies.itertuples(index=False):
        apartment = keys.get(a.apartment)
        if apartment is None:
            continue
        if a.kind == "night_power_draw":
            entity = f"apartment:{apartment}"
        else:
            sensor = (
                by_sensor.loc[(a.apartment, a.sensor)] if (a.apartment, a.sensor) in by_sensor.index else None
            )
            if sensor is None:
                continue
            key = sensor["device_key"] if a.kind == "fridge_stopped" else sensor["room_key"]
            if key is None or (isinstance(key, float) and np.isnan(key)):
                continue
            entity = f"{'device' if a.kind == 'fridge_stopped' else 'room'}:{int(key)}"
        rows.append(
            {
                "apartment_key": int(apartment),
                "entity": entity,
                "kind": a.kind,
                "start": pd.Timestamp(a.start),
                "end": pd.Timestamp(a.end),
            }
        )
    return pd.DataFrame(rows, columns=["apartment_key", "entity", "kind", "start", "end"])
