"""What the API reads from Gold, as the API's role: every query runs under the account's row-level security
(`access_tables`), so a row the account may not see is simply not there (an apartment or a schedule it may
not see reads as unknown).

A series comes back as the JSON text of its points, built by PostgreSQL (`json_rows`): the API passes it on
as it is, with no Python object per value (a month at the hour grain is 720 points)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import psycopg


@dataclass(frozen=True)
class Apartment:
    key: int
    code: str
    timezone: str


async def apartment(conn: psycopg.AsyncConnection, code_or_key: str) -> Apartment | None:
    """An apartment by its code or its key (the MQTT household id), if the account may see it; the rest of
    the transaction then reads times in its time zone."""
    row = await _first(
        conn,
        """SELECT apartment_key, code, zone FROM (
               SELECT apartment_key, code, coalesce(timezone, 'UTC') AS zone FROM gold.dim_apartment
               WHERE code = %s OR apartment_key::text = %s ORDER BY code = %s DESC LIMIT 1) a,
           set_config('TimeZone', zone, true)""",
        (code_or_key, code_or_key, code_or_key),
    )
    return Apartment(*row) if row else None


async def apartments(conn: psycopg.AsyncConnection) -> str:
    """The apartments the account may see, by code: `code`, `key`, `name`, `timezone`, their `rooms`
    (`room`, `name`) and `devices` (`device`, `name`, `kind`, `room`)."""
    return await json_rows(
        conn,
        """SELECT a.code, a.apartment_key AS key, a.name, coalesce(a.timezone, 'UTC') AS timezone,
                  (SELECT coalesce(json_agg(json_build_object('room', r.room_key, 'name', r.name)
                                            ORDER BY r.name, r.room_key), '[]')
                   FROM gold.dim_room r WHERE r.apartment_key = a.apartment_key) AS rooms,
                  (SELECT coalesce(json_agg(json_build_object('device', d.device_key, 'name', d.name,
                                                              'kind', d.kind, 'room', d.room_key)
                                            ORDER BY d.name, d.device_key), '[]')
                   FROM gold.dim_device d WHERE d.apartment_key = a.apartment_key) AS devices
           FROM gold.dim_apartment a""",
        {},
        order="code",
    )


async def last_day(conn: psycopg.AsyncConnection, apartment_key: int) -> date | None:
    """The last local day with energy the account may see of the apartment."""
    row = await _first(
        conn,
        "SELECT max(local_day) FROM gold.agg_energy_apartment_day WHERE apartment_key = %s",
        (apartment_key,),
    )
    return row[0] if row else None


async def presence_shared(conn: psycopg.AsyncConnection, apartment_key: int, first: date, last: date) -> str:
    """Whether the account may see the apartment's presence over the days [first, last]: `all`, `some` or
    `none` (presence is the occupant's: an owner sees it only on days no tenancy covers)."""
    row = await _first(
        conn,
        """SELECT CASE WHEN meta.is_admin() OR days @> wanted THEN 'all'
                       WHEN days && wanted THEN 'some' ELSE 'none' END
           FROM (SELECT coalesce((meta.my_days('presence'))[%s], '{}'::datemultirange) AS days,
                        daterange(%s, %s, '[]') AS wanted) s""",
        (apartment_key, first, last),
    )
    return row[0] if row else "none"


async def part_of(conn: psycopg.AsyncConnection, apartment_key: int, kind: str, key: int) -> bool:
    """Whether the apartment has the room or device (`kind`) of that key, as the account may see it."""
    table = {"room": "dim_room", "device": "dim_device"}[kind]
    row = await _first(
        conn, f"SELECT 1 FROM gold.{table} WHERE apartment_key = %s AND {kind}_key = %s", (apartment_key, key)
    )
    return row is not None


BUCKETS = {
    "minute": "ts",
    "15min": "date_bin('15 minutes', ts, timestamptz '2000-01-01 00:00:00+00')",
    "hour": "date_trunc('hour', ts, current_setting('TimeZone'))",
    "day": "date_trunc('day', ts, current_setting('TimeZone'))",
}
"""A minute row's period at each grain, in the apartment's time zone (the transaction's, set by `apartment`),
as the rollups cut them."""


async def energy(
    conn: psycopg.AsyncConnection,
    apartment_key: int,
    first: datetime,
    last: datetime,
    grain: str,
    room_key: int | None = None,
    device_key: int | None = None,
) -> str:
    """Per period of `grain` in [first, last): `ts`, `kwh`, `chf`, `kwh_high`, `kwh_low` (at the high and the
    low tariff) and, for the apartment, `plugs_kwh` (what its plugs measured): the apartment's main meter, a
    room's plugs, or one device's plug. A minute, or a device, is read from the minute fact, the rest from the
    rollups."""
    params = {
        "apartment": apartment_key,
        "first": first,
        "last": last,
        "room": room_key,
        "device": device_key,
    }
    if grain != "minute" and device_key is None:
        level = "room" if room_key is not None else "apartment"
        extra = ", plugs_energy_kwh AS plugs_kwh" if level == "apartment" else ""
        room = " AND room_key = %(room)s" if room_key is not None else ""
        return await json_rows(
            conn,
            f"""SELECT period_start AS ts, energy_kwh AS kwh, cost_chf AS chf, energy_high_kwh AS kwh_high,
                       energy_low_kwh AS kwh_low{extra}
                FROM gold.agg_energy_{level}_{grain}
                WHERE apartment_key = %(apartment)s AND period_start >= %(first)s
                    AND period_start < %(last)s{room}""",
            params,
        )
    if device_key is not None:
        which = "device_key = %(device)s"
    elif room_key is not None:
        which = "room_key = %(room)s AND NOT is_main_meter"
    else:
        which = "is_main_meter"
    return await json_rows(
        conn,
        f"""SELECT {BUCKETS[grain]} AS ts, sum(energy_kwh) AS kwh, sum(cost_chf) AS chf,
                   sum(energy_kwh) FILTER (WHERE tariff_period = 'high') AS kwh_high,
                   sum(energy_kwh) FILTER (WHERE tariff_period = 'low') AS kwh_low
            FROM gold.fact_energy_minute
            WHERE apartment_key = %(apartment)s AND ts >= %(first)s AND ts < %(last)s AND {which}
            GROUP BY 1""",
        params,
    )


def _per_device(grain: str) -> str:
    """Per period and device: `period_start`, `room_key`, `device_key`, `kwh`, `chf` of the apartment's
    plugs."""
    if grain == "minute":
        return """(SELECT ts AS period_start, room_key, device_key, energy_kwh AS kwh, cost_chf AS chf
                   FROM gold.fact_energy_minute
                   WHERE apartment_key = %(apartment)s AND ts >= %(first)s AND ts < %(last)s
                       AND NOT is_main_meter AND device_key IS NOT NULL)"""
    return f"""(SELECT period_start, room_key, device_key, energy_kwh AS kwh, cost_chf AS chf
               FROM gold.agg_energy_device_{grain}
               WHERE apartment_key = %(apartment)s AND period_start >= %(first)s
                   AND period_start < %(last)s)"""


async def energy_by_device(
    conn: psycopg.AsyncConnection,
    apartment_key: int,
    first: datetime,
    last: datetime,
    grain: str,
    room_key: int | None = None,
) -> dict[str, str]:
    """The apartment's plugs device by device (a room's, with `room_key`): `points` per period (`ts`,
    `device`, `kwh`, `chf`); `devices`, each one's total over the range (`device`, `name`, `kwh`, `chf`),
    costliest first; and, for the whole apartment, `unmetered` per period (`ts`, `kwh`, `chf`): the main
    meter minus the plugs, what no plug measured."""
    params = {"apartment": apartment_key, "first": first, "last": last, "room": room_key}
    rows = _per_device(grain)
    room = " WHERE d.room_key = %(room)s" if room_key is not None else ""
    points = await json_rows(
        conn,
        f"SELECT period_start AS ts, device_key AS device, kwh, chf FROM {rows} d{room}",
        params,
        "ts, device",
    )
    devices = await json_rows(
        conn,
        f"""SELECT d.device_key AS device, min(n.name) AS name, sum(d.kwh) AS kwh, sum(d.chf) AS chf
            FROM {rows} d LEFT JOIN gold.dim_device n USING (device_key){room}
            GROUP BY d.device_key""",
        params,
        "chf DESC NULLS LAST, device",
    )
    if room_key is not None:
        return {"points": points, "devices": devices, "unmetered": "[]"}
    meter = (
        """(SELECT ts AS period_start, energy_kwh, cost_chf FROM gold.fact_energy_minute
            WHERE apartment_key = %(apartment)s AND ts >= %(first)s AND ts < %(last)s AND is_main_meter)"""
        if grain == "minute"
        else f"""(SELECT period_start, energy_kwh, cost_chf FROM gold.agg_energy_apartment_{grain}
                  WHERE apartment_key = %(apartment)s AND period_start >= %(first)s
                      AND period_start < %(last)s)"""
    )
    unmetered = await json_rows(
        conn,
        f"""SELECT m.period_start AS ts, m.energy_kwh - coalesce(p.kwh, 0) AS kwh,
                   m.cost_chf - coalesce(p.chf, 0) AS chf
            FROM {meter} m
            LEFT JOIN (SELECT period_start, sum(kwh) AS kwh, sum(chf) AS chf FROM {rows} d GROUP BY 1) p
                USING (period_start)""",
        params,
    )
    return {"points": points, "devices": devices, "unmetered": unmetered}


async def latest(conn: psycopg.AsyncConnection, apartment_key: int) -> tuple[datetime | None, str]:
    """The time of the household's last reading (telemetry or main meter), and the 24 hours before it at
    15 minutes: `ts`, `consumption_w`, `pv_w` (mean power), `battery_soc_pct` (at the end),
    `battery_charge_kwh`, `battery_discharge_kwh` and `meter_kwh`."""
    last = (
        await _first(
            conn,
            """SELECT greatest(
               (SELECT max(period_start) + interval '15 minutes' FROM gold.agg_household_telemetry_15min
                WHERE apartment_key = %(a)s),
               (SELECT max(ts) + interval '1 minute' FROM gold.fact_energy_minute
                WHERE apartment_key = %(a)s AND is_main_meter))""",
            {"a": apartment_key},
        )
    )[0]
    if last is None:
        return None, "[]"
    return last, await json_rows(
        conn,
        """SELECT coalesce(t.period_start, e.period_start) AS ts, t.consumption_mean_w AS consumption_w,
                  t.pv_mean_w AS pv_w, t.battery_soc_end_pct AS battery_soc_pct, t.battery_charge_kwh,
                  t.battery_discharge_kwh, e.energy_kwh AS meter_kwh
           FROM (SELECT * FROM gold.agg_household_telemetry_15min
                 WHERE apartment_key = %(a)s AND period_start >= %(from)s AND period_start < %(to)s) t
           FULL JOIN (SELECT period_start, energy_kwh FROM gold.agg_energy_apartment_15min
                      WHERE apartment_key = %(a)s AND period_start >= %(from)s AND period_start < %(to)s) e
                  USING (period_start)""",
        {"a": apartment_key, "from": last - timedelta(hours=24), "to": last},
    )


async def schedules(conn: psycopg.AsyncConnection, apartment_key: int, first: date, last: date) -> str:
    """The newest schedule of each local day in [first, last]: `schedule_id`, `day`, `status`, `battery_mode`,
    `cost_rule_based_chf`, `cost_sent_chf` and `savings_vs_rule_based_pct`."""
    return await json_rows(
        conn,
        """SELECT DISTINCT ON (local_day) schedule_id, local_day AS day, status, battery_mode,
                  cost_rule_based_chf, cost_sent_chf, savings_vs_rule_based_pct
           FROM gold.schedule_kpis
           WHERE apartment_key = %(apartment)s AND local_day BETWEEN %(first)s AND %(last)s
           ORDER BY local_day, created_at DESC""",
        {"apartment": apartment_key, "first": first, "last": last},
        order="day",
    )


async def schedule(conn: psycopg.AsyncConnection, schedule_id: str) -> tuple[dict, list[dict]] | None:
    """A schedule's KPIs and its slots, if the account may see it."""
    async with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        await cur.execute(
            """SELECT schedule_id, household, local_day, status, reason, battery_mode, cost_no_battery_chf,
                      cost_rule_based_chf, cost_optimised_chf, cost_sent_chf, savings_vs_rule_based_pct,
                      self_consumption_rate, autarky_rate, created_at
               FROM gold.schedule_kpis WHERE schedule_id = %s""",
            (schedule_id,),
        )
        kpis = await cur.fetchone()
        if kpis is None:
            return None
        await cur.execute(
            """SELECT slot, slot_start, slot_end, grid_import_kw, grid_export_kw, battery_charge_kw,
                      battery_discharge_kw, soc, battery_reserve_soc, pv_used_kw, appliances_kw,
                          appliance_starts
               FROM gold.schedules WHERE schedule_id = %s ORDER BY slot""",
            (schedule_id,),
        )
        slots = await cur.fetchall()
    return kpis, slots


async def environment(
    conn: psycopg.AsyncConnection,
    apartment_key: int,
    first: datetime,
    last: datetime,
    grain: str,
    room_key: int | None,
) -> str:
    """Per period: `ts`, `temperature_c`, `humidity_pct`, `co2_ppm` (mean), `co2_max_ppm`, `noise_db` and
    `window_open_minutes`, of a room or of the apartment's rooms together."""
    params = {"apartment": apartment_key, "first": first, "last": last, "room": room_key}
    room = " AND room_key = %(room)s" if room_key is not None else ""
    if grain != "minute":
        level = "room" if room_key is not None else "apartment"
        return await json_rows(
            conn,
            f"""SELECT period_start AS ts, temperature_mean_c AS temperature_c,
                       humidity_mean_pct AS humidity_pct, co2_mean_ppm AS co2_ppm, co2_max_ppm,
                       noise_mean_db AS noise_db, minutes_window_open AS window_open_minutes
                FROM gold.agg_environment_{level}_{grain}
                WHERE apartment_key = %(apartment)s AND period_start >= %(first)s AND period_start < %(last)s
                {room}""",
            params,
        )
    return await json_rows(
        conn,
        f"""SELECT ts, avg(temperature_c) AS temperature_c, avg(humidity_pct) AS humidity_pct,
                   avg(co2_ppm) AS co2_ppm, max(co2_ppm) AS co2_max_ppm, avg(noise_db) AS noise_db,
                   count(*) FILTER (WHERE window_open) AS window_open_minutes
            FROM gold.fact_environment_minute
            WHERE apartment_key = %(apartment)s AND ts >= %(first)s AND ts < %(last)s{room}
            GROUP BY ts""",
        params,
    )


async def openings(
    conn: psycopg.AsyncConnection, apartment_key: int, first: datetime, last: datetime, room_key: int | None
) -> str:
    """Each run of open minutes of a window or door: `room`, `kind` (window or door), `from` (its first open
    minute) and `to` (the minute after its last)."""
    room = " AND room_key = %(room)s" if room_key is not None else ""
    return await json_rows(
        conn,
        f"""WITH flags AS (
                SELECT room_key, kind, ts,
                       ts - (row_number() OVER (PARTITION BY room_key, kind
                           ORDER BY ts)) * interval '1 minute' AS run
                FROM gold.fact_environment_minute,
                     LATERAL (VALUES ('window', window_open), ('door', door_open)) AS o (kind, open)
                WHERE apartment_key = %(apartment)s AND ts >= %(first)s AND ts < %(last)s AND open{room})
            SELECT room_key AS room, kind, min(ts) AS "from", max(ts) + interval '1 minute' AS "to"
            FROM flags GROUP BY room_key, kind, run""",
        {"apartment": apartment_key, "first": first, "last": last, "room": room_key},
        order='"from", room, kind',
    )


async def anomalies(
    conn: psycopg.AsyncConnection, apartment_key: int, first: datetime, last: datetime
) -> str:
    """The anomalies overlapping the range: `entity`, `kind`, `room`, `device`, `from`, `to`, `score` and
    `reason`."""
    return await json_rows(
        conn,
        """SELECT entity, kind, room_key AS room, device_key AS device, period_start AS "from",
                  period_end AS "to", score, reason
           FROM gold.anomalies
           WHERE apartment_key = %(apartment)s AND period_end > %(first)s AND period_start < %(last)s""",
        {"apartment": apartment_key, "first": first, "last": last},
        order='"from"',
    )


async def presence(
    conn: psycopg.AsyncConnection,
    apartment_key: int,
    first: datetime,
    last: datetime,
    grain: str,
    room_key: int | None,
) -> str:
    """Per room and period: `ts`, `room`, `present_minutes` (someone was there) and `minutes` (measured)."""
    room = " AND room_key = %(room)s" if room_key is not None else ""
    return await json_rows(
        conn,
        f"""SELECT {BUCKETS[grain]} AS ts, room_key AS room, count(*) FILTER (WHERE presence_flag)
                   AS present_minutes, count(*) AS minutes
            FROM gold.fact_presence_minute
            WHERE apartment_key = %(apartment)s AND ts >= %(first)s AND ts < %(last)s{room}
            GROUP BY 1, 2""",
        {
            "apartment": apartment_key,
            "first": first,
            "last": last,
            "room": room_key,
        },
        order="ts, room",
    )


async def predictions(
    conn: psycopg.AsyncConnection,
    apartment_key: int,
    model_key: int,
    first: datetime,
    last: datetime,
    room_key: int | None,
    device_key: int | None,
) -> str:
    """The newest prediction of the model for each instant, room and device in the range (the apartment's
    whole only, unless a room or device): `ts`, `room`, `device`, `value`, `lower`, `upper`, `issued_at`."""
    which = (
        " AND device_key = %(device)s"
        if device_key is not None
        else " AND room_key = %(room)s"
        if room_key is not None
        else " AND device_key IS NULL AND (room_key IS NULL OR %(model)s = 2)"
    )
    return await json_rows(
        conn,
        f"""SELECT DISTINCT ON (ts, room_key, device_key) ts, room_key AS room, device_key AS device,
                   predicted_value AS value, lower_value AS lower, upper_value AS upper, issued_at
            FROM gold.fact_prediction
            WHERE apartment_key = %(apartment)s AND model_key = %(model)s AND ts >= %(first)s
                AND ts < %(last)s{which}
            ORDER BY ts, room_key, device_key, issued_at DESC""",
        {
            "apartment": apartment_key,
            "model": model_key,
            "first": first,
            "last": last,
            "room": room_key,
            "device": device_key,
        },
        order="ts, room, device",
    )


async def weather(conn: psycopg.AsyncConnection, apartment_key: int, first_day: date, last_day: date) -> str:
    """The apartment's weather site per local day in [first_day, last_day), from the latest issue before it
    (the shortest lead): `day`, `temperature_min_c`, `temperature_mean_c`, `temperature_max_c`,
    `humidity_pct`, `precipitation_mm` and `radiation_wh_m2`."""
    return await json_rows(
        conn,
        """SELECT DISTINCT ON (w.local_day) w.local_day AS day, w.temperature_min_c, w.temperature_mean_c,
                  w.temperature_max_c, w.humidity_mean_pct AS humidity_pct, w.precipitation_mm,
                  w.radiation_wh_m2
           FROM gold.fact_weather_day w JOIN gold.dim_apartment a ON a.weather_site_key = w.weather_site_key
           WHERE a.apartment_key = %(apartment)s AND w.local_day >= %(first)s AND w.local_day < %(last)s
           ORDER BY w.local_day, w.lead_days, w.issue_day DESC""",
        {"apartment": apartment_key, "first": first_day, "last": last_day},
        order="day",
    )


async def json_rows(conn: psycopg.AsyncConnection, query: str, params: dict, order: str = "ts") -> str:
    """The rows of `query` as a JSON array of objects named by its columns, in `order`, built by PostgreSQL:
    times in ISO 8601 in the transaction's time zone (the apartment's, set by `apartment`), numbers as
    PostgreSQL writes them (the shortest that reads back the same double)."""
    return (
        await _first(
            conn, f"SELECT coalesce(json_agg(r ORDER BY {order}), '[]')::text FROM ({query}) r", params
        )
    )[0]


async def _first(conn: psycopg.AsyncConnection, query: str, params: dict | tuple) -> tuple | None:
    cursor = await conn.execute(query, params)
    return await cursor.fetchone()
