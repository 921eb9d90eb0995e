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


ENERGY_COLUMNS = ("kwh", "chf", "kwh_high", "kwh_low")


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
    bucket = {
        "minute": "ts",
        "15min": "date_bin('15 minutes', ts, timestamptz '2000-01-01 00:00:00+00')",
        "hour": "date_trunc('hour', ts, %(tz)s)",
        "day": "date_trunc('day', ts, %(tz)s)",
    }[grain]
    tz = conn.execute("SELECT timezone FROM gold.dim_apartment WHERE apartment_key = %s", (apartment_key,))
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
            "tz": (tz.fetchone() or ["UTC"])[0] or "UTC",
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
