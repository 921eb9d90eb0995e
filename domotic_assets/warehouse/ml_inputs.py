"""What the ML models read from the warehouse: series and hourly features out of Gold and Silver.

Every reader takes a range of local days (both included) and returns a plain DataFrame, so the
models in `domotic_assets.ml` never see SQL. Times are UTC; the household's zone travels with it.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import psycopg

from domotic_assets.settings import PLATFORM_TIMEZONE
from domotic_assets.warehouse.silver_tables import day_bounds

MAIN_DEVICES = 3
"""Devices forecast per apartment besides the apartment itself: the largest consumers."""


def _bounds(first: date, last: date) -> dict:
    return {"low": day_bounds(first, PLATFORM_TIMEZONE)[0], "high": day_bounds(last, PLATFORM_TIMEZONE)[1]}


def _frame(conn: psycopg.Connection, sql: str, params: dict) -> pd.DataFrame:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        frame = pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])
    for column in frame.columns:
        if column == "ts":
            frame[column] = pd.to_datetime(frame[column], utc=True)
        elif column in NUMERIC:  # numeric(…) columns arrive as Decimal
            frame[column] = frame[column].astype(float)
    return frame


NUMERIC = {"kwh", "mean_power_w", "unmetered_w", "co2_mean", "co2_rise", "light_mean", "outdoor_c"}


def apartments(conn: psycopg.Connection) -> pd.DataFrame:
    return _frame(
        conn,
        """SELECT apartment_key, code, coalesce(timezone, %(tz)s) AS timezone, weather_site
                           FROM gold.dim_apartment ORDER BY apartment_key""",
        {"tz": PLATFORM_TIMEZONE},
    )


def rooms(conn: psycopg.Connection) -> pd.DataFrame:
    return _frame(conn, "SELECT apartment_code, name, apartment_key, room_key FROM gold.dim_room", {})


def devices(conn: psycopg.Connection) -> pd.DataFrame:
    return _frame(conn, "SELECT apartment_key, device_key, room_key, name FROM gold.dim_device", {})


def sensors(conn: psycopg.Connection) -> pd.DataFrame:
    return _frame(conn, "SELECT external_id, apartment_code, device_key, room_key FROM gold.dim_sensor", {})


def main_devices(
    conn: psycopg.Connection, first: date, last: date, per_apartment: int = MAIN_DEVICES
) -> pd.DataFrame:
    """The largest plug-metered consumers of each apartment over the days."""
    return _frame(
        conn,
        """
        SELECT apartment_key, device_key, room_key, name FROM (
            SELECT f.apartment_key, f.device_key, d.room_key, d.name,
                   row_number() OVER (PARTITION BY f.apartment_key
                       ORDER BY sum(f.energy_kwh) DESC NULLS LAST) AS rank
            FROM gold.fact_energy_minute f JOIN gold.dim_device d USING (device_key)
            WHERE NOT f.is_main_meter AND f.ts >= %(low)s AND f.ts < %(high)s
            GROUP BY 1, 2, 3, 4) ranked
        WHERE rank <= %(n)s ORDER BY 1, 2""",
        {**_bounds(first, last), "n": per_apartment},
    )


def energy_series(conn: psycopg.Connection, first: date, last: date) -> pd.DataFrame:
    """kWh per 15 minutes of each apartment (its main meter, device_key 0) and of each plug's device."""
    return _frame(
        conn,
        """
        SELECT apartment_key, CASE WHEN is_main_meter THEN 0 ELSE device_key END AS device_key,
               date_bin('15 minutes', ts, timestamptz '2000-01-01 00:00:00+00') AS ts, sum(energy_kwh) AS kwh
        FROM gold.fact_energy_minute
        WHERE ts >= %(low)s AND ts < %(high)s AND (is_main_meter OR device_key IS NOT NULL)
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""",
        _bounds(first, last),
    )


def weather_hourly(
    conn: psycopg.Connection, first: date, last: date, known_before: datetime | None = None
) -> pd.DataFrame:
    """Per site and hour, temperature and radiation as the newest forecast that had arrived by the hour's
    local midnight, and by `known_before` when given (a forecast's origin): nothing a model reads for an
    hour was issued after the moment it stands for. `known_at` says when the value used had arrived.

    A file is known from its modification time on the drop, and at the latest from the end of the day it is
    named after (the service issues a day's file that day; a copy put on the drop later, as when a history is
    migrated, keeps its day). Of a file issued again with corrections, the version Silver keeps counts."""
    frame = _frame(
        conn,
        """
        WITH issued AS (
            SELECT bronze_path, least(coalesce(arrived_at, stored_at),
                                      ((issue_day + 1)::timestamp AT TIME ZONE %(tz)s)) AS known_at
            FROM meta.bronze_weather_files)
        SELECT DISTINCT ON (w.site, w.measure, w.valid_ts) w.site AS weather_site, w.measure,
            w.valid_ts AS ts, w.value,
               i.known_at
        FROM silver.weather_clean w JOIN issued i USING (bronze_path)
        WHERE w.measure IN ('air_temperature', 'global_radiation') AND w.known_site
          AND w.valid_ts >= %(low)s AND w.valid_ts < %(high)s
          AND i.known_at <= least(((w.valid_ts AT TIME ZONE %(tz)s)::date)::timestamp AT TIME ZONE %(tz)s,
                                  coalesce(%(known_before)s, 'infinity'::timestamptz))
        ORDER BY w.site, w.measure, w.valid_ts, w.issue_day DESC""",
        {**_bounds(first, last), "tz": PLATFORM_TIMEZONE, "known_before": known_before},
    )
    if frame.empty:
        return pd.DataFrame(columns=["weather_site", "ts", "air_temperature", "global_radiation", "known_at"])
    frame["known_at"] = pd.to_datetime(frame["known_at"], utc=True)
    values = frame.pivot_table(index=["weather_site", "ts"], columns="measure", values="value")
    known = frame.groupby(["weather_site", "ts"])["known_at"].max()
    return values.join(known).reset_index()


def presence_hourly(conn: psycopg.Connection, first: date, last: date) -> pd.DataFrame:
    """Per room and hour: minutes flagged present, motions, CO2, doors and windows opened, light (Silver)."""
    return _frame(
        conn,
        """
        WITH presence AS (
            SELECT apartment_key, room_key, date_trunc('hour', ts) AS ts,
                   count(*) FILTER (WHERE presence_flag) AS presence_minutes,
                       sum(motion_count) AS motion_count
            FROM gold.fact_presence_minute WHERE ts >= %(low)s AND ts < %(high)s GROUP BY 1, 2, 3),
        climate AS (
            SELECT room_key, date_trunc('hour', ts) AS ts, avg(co2_ppm) AS co2_mean,
                   max(co2_ppm) - min(co2_ppm) AS co2_rise,
                   count(*) FILTER (WHERE door_open OR window_open) AS door_open_minutes
            FROM gold.fact_environment_minute WHERE ts >= %(low)s AND ts < %(high)s GROUP BY 1, 2),
        light AS (
            SELECT s.room_key, date_trunc('hour', e.ts) AS ts, avg(e.value) AS light_mean
            FROM silver.sensor_events e JOIN gold.dim_sensor s ON s.external_id = e.sensor
                AND s.apartment_code = e.apartment
            WHERE e.measure = 'light' AND NOT e.is_outlier AND e.ts >= %(low)s AND e.ts < %(high)s
                GROUP BY 1, 2)
        SELECT p.apartment_key, p.room_key, p.ts, p.presence_minutes, p.motion_count,
               c.co2_mean, c.co2_rise, l.light_mean, coalesce(c.door_open_minutes, 0) AS door_open_minutes
        FROM presence p LEFT JOIN climate c USING (room_key, ts) LEFT JOIN light l USING (room_key, ts)
        ORDER BY 1, 2, 3""",
        _bounds(first, last),
    )


def anomaly_hourly(conn: psycopg.Connection, first: date, last: date) -> pd.DataFrame:
    """Hourly features per entity: devices (mean power, on-cycles), apartments (power on no plug),
    rooms (minutes a window stood open, and the outdoor temperature then), with a readable name per entity."""
    params = _bounds(first, last)
    devices = _frame(
        conn,
        """
        WITH minutes AS (
            SELECT f.apartment_key, f.room_key, f.device_key, f.ts, f.power_w,
                   (f.power_w > 5 AND coalesce(lag(f.power_w) OVER w, 0) <= 5)::int AS switched_on
            FROM gold.fact_energy_minute f
            WHERE NOT f.is_main_meter AND f.device_key IS NOT NULL AND f.power_w IS NOT NULL
              AND f.ts >= %(low)s AND f.ts < %(high)s
            WINDOW w AS (PARTITION BY f.device_key ORDER BY f.ts))
        SELECT 'device:' || m.device_key AS entity, 'device' AS kind, m.apartment_key, m.room_key,
            m.device_key,
               date_trunc('hour', m.ts) AS ts, avg(m.power_w) AS mean_power_w, sum(m.switched_on) AS cycles,
               d.name || ' (' || a.code || ')' AS name
        FROM minutes m JOIN gold.dim_device d USING (device_key) JOIN gold.dim_apartment a
            ON a.apartment_key = m.apartment_key
        GROUP BY m.apartment_key, m.room_key, m.device_key, date_trunc('hour', m.ts), d.name, a.code
        HAVING count(*) >= 45""",
        params,
    )
    unmetered = _frame(
        conn,
        """
        WITH minutes AS (
            SELECT apartment_key, ts, avg(power_w) FILTER (WHERE is_main_meter) AS main_w,
                   coalesce(sum(power_w) FILTER (WHERE NOT is_main_meter), 0) AS plugs_w
            FROM gold.fact_energy_minute WHERE ts >= %(low)s AND ts < %(high)s GROUP BY 1, 2)
        SELECT 'apartment:' || m.apartment_key AS entity, 'apartment' AS kind, m.apartment_key,
               NULL::int AS room_key, NULL::int AS device_key, date_trunc('hour', m.ts) AS ts,
               avg(m.main_w - m.plugs_w) AS unmetered_w, 'main meter (' || a.code || ')' AS name
        FROM minutes m JOIN gold.dim_apartment a USING (apartment_key)
        WHERE m.main_w IS NOT NULL GROUP BY m.apartment_key, date_trunc('hour', m.ts), a.code
            HAVING count(*) >= 45""",
        params,
    )
    rooms = _frame(
        conn,
        """
        WITH outdoor AS (   -- the outdoor temperature forecast for each hour (the shortest lead)
            SELECT DISTINCT ON (site, valid_ts) site, valid_ts, value FROM silver.weather_clean
            WHERE measure = 'air_temperature' AND valid_ts >= %(low)s AND valid_ts < %(high)s
            ORDER BY site, valid_ts, lead_hours),
        hours AS (
            SELECT e.apartment_key, e.room_key, date_trunc('hour', e.ts) AS ts,
                   count(*) FILTER (WHERE e.window_open) AS window_open_minutes
            FROM gold.fact_environment_minute e
            WHERE e.ts >= %(low)s AND e.ts < %(high)s AND e.window_open IS NOT NULL
            GROUP BY 1, 2, 3 HAVING count(*) >= 45)
        SELECT 'room:' || h.room_key AS entity, 'room' AS kind, h.apartment_key, h.room_key,
            NULL::int AS device_key, h.ts,
               h.window_open_minutes, o.value AS outdoor_c, r.name || ' windows (' || a.code || ')' AS name
        FROM hours h JOIN gold.dim_room r USING (room_key) JOIN gold.dim_apartment a
            ON a.apartment_key = h.apartment_key
        LEFT JOIN outdoor o ON o.site = a.weather_site AND o.valid_ts = h.ts""",
        params,
    )
    parts = [f for f in (devices, unmetered, rooms) if not f.empty]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=ANOMALY_COLUMNS)


ANOMALY_COLUMNS = [
    "entity",
    "kind",
    "apartment_key",
    "room_key",
    "device_key",
    "ts",
    "mean_power_w",
    "cycles",
    "unmetered_w",
    "window_open_minutes",
    "outdoor_c",
    "name",
]
