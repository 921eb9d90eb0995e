"""Gold's minute facts and their rollups recomputed in pandas from Silver's plausible readings only, to
compare with what dbt built: an outlier that reached any measure of any fact or aggregate shows up as a
difference (the rules are docs/gold.md's, written again without SQL)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import psycopg

ENVIRONMENT = {
    "temperature": "temperature_c",
    "humidity": "humidity_pct",
    "co2": "co2_ppm",
    "noise": "noise_db",
}
COUNTER_LOOKBACK = pd.Timedelta(hours=48)
GRAINS = {"15min": "15min", "hour": "h"}


def frame(conn: psycopg.Connection, sql: str, params=()) -> pd.DataFrame:
    cur = conn.execute(sql, params)
    return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])


def silver_readings(conn: psycopg.Connection) -> pd.DataFrame:
    """Every Silver reading of a sensor Gold knows, with its Gold keys; outliers still in (flagged)."""
    readings = frame(
        conn,
        """SELECT e.apartment, e.sensor, e.category, e.measure, e.ts, e.value, e.is_outlier, e.counter_reset,
                                     s.sensor_key, s.room_key, s.apartment_key
                              FROM silver.sensor_events e
                              JOIN gold.dim_sensor s ON s.external_id = e.sensor
                                  AND s.apartment_code = e.apartment""",
    )
    readings["ts"] = pd.to_datetime(readings["ts"], utc=True)
    readings["minute"] = readings["ts"].dt.floor("min")
    return readings


def environment_minutes(readings: pd.DataFrame) -> pd.DataFrame:
    """room_key, ts and the mean of each measure over the room's plausible readings of the minute."""
    rows = readings[
        readings["category"].isin(["meteos", "humidities", "motions", "doors"])
        & readings["measure"].isin([*ENVIRONMENT, "open"])
    ]
    keys = rows[["apartment_key", "room_key", "minute"]].drop_duplicates()
    plausible = rows[~rows["is_outlier"] & rows["measure"].isin(list(ENVIRONMENT))]
    means = plausible.pivot_table(
        index=["room_key", "minute"], columns="measure", values="value", aggfunc="mean"
    )
    out = keys.merge(means.rename(columns=ENVIRONMENT).reset_index(), on=["room_key", "minute"], how="left")
    return out.rename(columns={"minute": "ts"}).reindex(
        columns=["apartment_key", "room_key", "ts", *ENVIRONMENT.values()]
    )


def energy_minutes(readings: pd.DataFrame) -> pd.DataFrame:
    """sensor_key, ts, power_w (mean of plausible readings) and energy_kwh (the counter's delta since its
    previous plausible reading at most 48 h old; a reset counts from zero; a step back counts zero)."""
    rows = readings[readings["category"].isin(["plugs", "consumptions"]) & ~readings["is_outlier"]]
    power = (
        rows[rows["measure"] == "power"].groupby(["sensor_key", "minute"])["value"].mean().rename("power_w")
    )
    totals = rows[rows["measure"] == "total"].sort_values(["sensor_key", "ts"])
    previous = totals.groupby("sensor_key")[["value", "ts"]].shift()
    recent = (totals["ts"] - previous["ts"]) <= COUNTER_LOOKBACK
    delta = np.where(
        totals["counter_reset"],
        totals["value"],
        np.where(recent, np.maximum(totals["value"] - previous["value"], 0.0), np.nan),
    )
    energy = totals.assign(energy_kwh=delta).groupby(["sensor_key", "minute"])["energy_kwh"].sum(min_count=1)
    out = pd.concat([power, energy], axis=1).reset_index().rename(columns={"minute": "ts"})
    keys = readings[["sensor_key", "room_key", "apartment_key", "category"]].drop_duplicates("sensor_key")
    return out.merge(keys, on="sensor_key").assign(is_main_meter=lambda f: f["category"] == "consumptions")


def rollup(
    minutes: pd.DataFrame, keys: list[str], grain: str, local_day: pd.Series, measures: dict
) -> pd.DataFrame:
    """Minute rows summed or averaged per period: 15 minutes, hour (whole UTC hours are whole local hours
    here) or local day; `measures`: output column -> (minute column, pandas aggregation)."""
    period = local_day if grain == "day" else minutes["ts"].dt.floor(GRAINS[grain])
    grouped = minutes.assign(period=period).groupby([*keys, "period"])
    return pd.DataFrame(
        {out: grouped[column].agg(how) for out, (column, how) in measures.items()}
    ).reset_index()


def differences(
    expected: pd.DataFrame, gold: pd.DataFrame, keys: list[str], measures: list[str]
) -> dict[str, int]:
    """Rows per measure where Gold and the recomputation differ (missing on one side, or by more than
    1e-6)."""
    both = expected.merge(gold, on=keys, how="outer", suffixes=("_expected", "_gold"), indicator=True)
    out = {"rows_only_on_one_side": int((both["_merge"] != "both").sum())}
    for measure in measures:
        a, b = both[f"{measure}_expected"].astype(float), both[f"{measure}_gold"].astype(float)
        out[measure] = int((~(np.isclose(a, b, rtol=1e-6, atol=1e-6) | (a.isna() & b.isna()))).sum())
    return {k: v for k, v in out.items() if v}
