"""What the API reads from Gold, as the API's role: every query runs under the account's row-level security
(`access_tables`), so a row the account may not see is simply not there (an apartment or a schedule it may
not see reads as unknown)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg


@dataclass(frozen=True)
class Apartment:
    key: int
    code: str
    timezone: str


def apartment(conn: psycopg.Connection, code_or_key: str) -> Apartment | None:
    """An apartment by its code or its key (the MQTT household id), if the account may see it."""
    row = conn.execute(
        """SELECT apartment_key, code, coalesce(timezone, 'UTC') FROM gold.dim_apartment
           WHERE code = %s OR apartment_key::text = %s ORDER BY code = %s DESC LIMIT 1""",
        (code_or_key, code_or_key, code_or_key),
    ).fetchone()
    return Apartment(*row) if row else None


def room_of(conn: psycopg.Connection, apartment_key: int, room_key: int) -> bool:
    row = conn.execute(
        "SELECT 1 FROM gold.dim_room WHERE apartment_key = %s AND room_key = %s", (apartment_key, room_key)
    ).fetchone()
    return row is not None


def device_of(conn: psycopg.Connection, apartment_key: int, device_key: int) -> bool:
    row = conn.execute(
        "SELECT 1 FROM gold.dim_device WHERE apartment_key = %s AND device_key = %s",
        (apartment_key, device_key),
    ).fetchone()
    return row is not None


BUCKETS = {
    "minute": "ts",
    "15min": "date_bin('15 minutes', ts, timestamptz '2000-01-01 00:00:00+00')",
    "hour": "date_trunc('hour', ts, %(tz)s)",
    "day": "date_trunc('day', ts, %(tz)s)",
}
"""A minute row's period at each grain, in the apartment's time zone (`%(tz)s`), as the rollups cut them."""


def energy(
    conn: psycopg.Connection,
    apartment_key: int,
    first: datetime,
    last: datetime,
    grain: str,
    room_key: int | None = None,
    device_key: int | None = None,
) -> list[tuple]:
    """(period start, kWh, CHF, kWh at the high tariff, at the low tariff[, plugs' kWh]) per period of `grain`
    in [first, last): the apartment's main meter (with what its plugs measured), a room's plugs, or one
    device's plug. A minute, or a device, is read from the minute fact, the rest from the rollups."""
    if grain != "minute" and device_key is None:
        level = "room" if room_key is not None else "apartment"
        extra = ", plugs_energy_kwh" if level == "apartment" else ""
        room = " AND room_key = %(room)s" if room_key is not None else ""
        return conn.execute(
            f"""SELECT period_start, energy_kwh, cost_chf, energy_high_kwh, energy_low_kwh{extra}
                FROM gold.agg_energy_{level}_{grain}
                WHERE apartment_key = %(apartment)s AND period_start >= %(first)s
                    AND period_start < %(last)s{room}
                ORDER BY period_start""",
            {"apartment": apartment_key, "first": first, "last": last, "room": room_key},
        ).fetchall()
    if device_key is not None:
        which = "device_key = %(device)s"
    elif room_key is not None:
        which = "room_key = %(room)s AND NOT is_main_meter"
    else:
        which = "is_main_meter"
    bucket = BUCKETS[grain]
    return conn.execute(
        f"""SELECT {bucket} AS period, sum(energy_kwh), sum(cost_chf),
                   sum(energy_kwh) FILTER (WHERE tariff_period = 'high'),
                   sum(energy_kwh) FILTER (WHERE tariff_period = 'low')
            FROM gold.fact_energy_minute
            WHERE apartment_key = %(apartment)s AND ts >= %(first)s AND ts < %(last)s AND {which}
            GROUP BY 1 ORDER BY 1""",
        {
            "apartment": apartment_key,
            "first": first,
            "last": last,
            "room": room_key,
            "device": device_key,
            "tz": _zone(conn, apartment_key),
        },
    ).fetchall()


def latest(conn: psycopg.Connection, apartment_key: int) -> tuple[datetime | None, list[tuple]]:
    """The time of the household's last reading (telemetry or main meter), and the 24 hours before it at
    15 minutes: (period start, consumption W, PV W, battery state of charge %, battery charge kWh, discharge
    kWh, main meter kWh)."""
    last = conn.execute(
        """SELECT greatest(
               (SELECT max(period_start) + interval '15 minutes' FROM gold.agg_household_telemetry_15min
                WHERE apartment_key = %(a)s),
               (SELECT max(ts) + interval '1 minute' FROM gold.fact_energy_minute
                WHERE apartment_key = %(a)s AND is_main_meter))""",
        {"a": apartment_key},
    ).fetchone()[0]
    if last is None:
        return None, []
    rows = conn.execute(
        """SELECT coalesce(t.period_start, e.period_start), t.consumption_mean_w, t.pv_mean_w,
                  t.battery_soc_end_pct, t.battery_charge_kwh, t.battery_discharge_kwh, e.energy_kwh
           FROM (SELECT * FROM gold.agg_household_telemetry_15min
                 WHERE apartment_key = %(a)s AND period_start >= %(from)s AND period_start < %(to)s) t
           FULL JOIN (SELECT period_start, energy_kwh FROM gold.agg_energy_apartment_15min
                      WHERE apartment_key = %(a)s AND period_start >= %(from)s AND period_start < %(to)s) e
                  USING (period_start)
           ORDER BY 1""",
        {"a": apartment_key, "from": last - timedelta(hours=24), "to": last},
    ).fetchall()
    return last, rows


def schedule(conn: psycopg.Connection, schedule_id: str) -> tuple[dict, list[dict]] | None:
    """A schedule's KPIs and its slots, if the account may see it."""
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        kpis = cur.execute(
            """SELECT schedule_id, household, local_day, status, reason, battery_mode, cost_no_battery_chf,
                      cost_rule_based_chf, cost_optimised_chf, cost_sent_chf, savings_vs_rule_based_pct,
                      self_consumption_rate, autarky_rate, created_at
               FROM gold.schedule_kpis WHERE schedule_id = %s""",
            (schedule_id,),
        ).fetchone()
        if kpis is None:
            return None
        slots = cur.execute(
            """SELECT slot, slot_start, slot_end, grid_import_kw, grid_export_kw, battery_charge_kw,
                      battery_discharge_kw, soc, battery_reserve_soc, pv_used_kw, appliances_kw,
                          appliance_starts
               FROM gold.schedules WHERE schedule_id = %s ORDER BY slot""",
            (schedule_id,),
        ).fetchall()
    return kpis, slots


def environment(
    conn: psycopg.Connection,
    apartment_key: int,
    first: datetime,
    last: datetime,
    grain: str,
    room_key: int | None,
) -> list[tuple]:
    """(period start, temperature °C, humidity %, CO2 ppm, CO2 max ppm, noise dB, minutes a window stood open)
    per period: a room, or the apartment's rooms together."""
    params = {"apartment": apartment_key, "first": first, "last": last, "room": room_key}
    room = " AND room_key = %(room)s" if room_key is not None else ""
    if grain != "minute":
        level = "room" if room_key is not None else "apartment"
        return conn.execute(
            f"""SELECT period_start, temperature_mean_c, humidity_mean_pct, co2_mean_ppm, co2_max_ppm,
                       noise_mean_db, minutes_window_open
                FROM gold.agg_environment_{level}_{grain}
                WHERE apartment_key = %(apartment)s AND period_start >= %(first)s AND period_start < %(last)s
                {room} ORDER BY period_start""",
            params,
        ).fetchall()
    return conn.execute(
        f"""SELECT ts, avg(temperature_c), avg(humidity_pct), avg(co2_ppm), max(co2_ppm), avg(noise_db),
                   count(*) FILTER (WHERE window_open)
            FROM gold.fact_environment_minute
            WHERE apartment_key = %(apartment)s AND ts >= %(first)s AND ts < %(last)s{room}
            GROUP BY ts ORDER BY ts""",
        params,
    ).fetchall()


def openings(
    conn: psycopg.Connection, apartment_key: int, first: datetime, last: datetime, room_key: int | None
) -> list[tuple]:
    """(room key, window or door, first open minute, the minute after the last) of each run of open
    minutes."""
    room = " AND room_key = %(room)s" if room_key is not None else ""
    return conn.execute(
        f"""WITH flags AS (
                SELECT room_key, kind, ts,
                       ts - (row_number() OVER (PARTITION BY room_key, kind
                           ORDER BY ts)) * interval '1 minute' AS run
                FROM gold.fact_environment_minute,
                     LATERAL (VALUES ('window', window_open), ('door', door_open)) AS o (kind, open)
                WHERE apartment_key = %(apartment)s AND ts >= %(first)s AND ts < %(last)s AND open{room})
            SELECT room_key, kind, min(ts), max(ts) + interval '1 minute' FROM flags
            GROUP BY room_key, kind, run ORDER BY 3, 1, 2""",
        {"apartment": apartment_key, "first": first, "last": last, "room": room_key},
    ).fetchall()


def anomalies(conn: psycopg.Connection, apartment_key: int, first: datetime, last: datetime) -> list[tuple]:
    """(entity, kind, room key, device key, start, end, score, reason) of the anomalies overlapping the
    range."""
    return conn.execute(
        """SELECT entity, kind, room_key, device_key, period_start, period_end, score, reason
               FROM gold.anomalies
           WHERE apartment_key = %s AND period_end > %s AND period_start < %s ORDER BY period_start""",
        (apartment_key, first, last),
    ).fetchall()


def presence(
    conn: psycopg.Connection,
    apartment_key: int,
    first: datetime,
    last: datetime,
    grain: str,
    room_key: int | None,
) -> list[tuple]:
    """(period start, room key, minutes someone was there, minutes measured) per room and period."""
    bucket = BUCKETS[grain]
    room = " AND room_key = %(room)s" if room_key is not None else ""
    return conn.execute(
        f"""SELECT {bucket}, room_key, count(*) FILTER (WHERE presence_flag), count(*)
            FROM gold.fact_presence_minute
            WHERE apartment_key = %(apartment)s AND ts >= %(first)s AND ts < %(last)s{room}
            GROUP BY 1, 2 ORDER BY 1, 2""",
        {
            "apartment": apartment_key,
            "first": first,
            "last": last,
            "room": room_key,
            "tz": _zone(conn, apartment_key),
        },
    ).fetchall()


def predictions(
    conn: psycopg.Connection,
    apartment_key: int,
    model_key: int,
    first: datetime,
    last: datetime,
    room_key: int | None,
    device_key: int | None,
) -> list[tuple]:
    """(instant, room key, device key, value, lower, upper, issued at) of the newest prediction of the model
    for each instant, room and device in the range (the apartment's whole only, unless a room or device)."""
    which = (
        " AND device_key = %(device)s"
        if device_key is not None
        else " AND room_key = %(room)s"
        if room_key is not None
        else " AND device_key IS NULL AND (room_key IS NULL OR %(model)s = 2)"
    )
    return conn.execute(
        f"""SELECT DISTINCT ON (ts, room_key, device_key) ts, room_key, device_key, predicted_value,
                lower_value,
                   upper_value, issued_at
            FROM gold.fact_prediction
            WHERE apartment_key = %(apartment)s AND model_key = %(model)s AND ts >= %(first)s
                AND ts < %(last)s
                  {which}
            ORDER BY ts, room_key, device_key, issued_at DESC""",
        {
            "apartment": apartment_key,
            "model": model_key,
            "first": first,
            "last": last,
            "room": room_key,
            "device": device_key,
        },
    ).fetchall()


def weather(conn: psycopg.Connection, apartment_key: int, first_day, last_day) -> list[tuple]:
    """(local day, temperature min, mean, max °C, humidity %, precipitation mm, radiation Wh/m2) of the
    apartment's weather site for each day, from the latest issue before it (the shortest lead)."""
    return conn.execute(
        """SELECT DISTINCT ON (w.local_day) w.local_day, w.temperature_min_c, w.temperature_mean_c,
                  w.temperature_max_c, w.humidity_mean_pct, w.precipitation_mm, w.radiation_wh_m2
           FROM gold.fact_weather_day w JOIN gold.dim_apartment a ON a.weather_site_key = w.weather_site_key
           WHERE a.apartment_key = %s AND w.local_day >= %s AND w.local_day < %s
           ORDER BY w.local_day, w.lead_days, w.issue_day DESC""",
        (apartment_key, first_day, last_day),
    ).fetchall()


def _zone(conn: psycopg.Connection, apartment_key: int) -> str:
    row = conn.execute(
        "SELECT timezone FROM gold.dim_apartment WHERE apartment_key = %s", (apartment_key,)
    ).fetchone()
    return (row[0] if row else None) or "UTC"
