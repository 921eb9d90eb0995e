"""Data-quality rules over Silver, as plain SQL: each returns (passed, facts for an operator)."""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

import psycopg

from domotic_assets.warehouse.silver_tables import day_bounds, partition_name, range_bounds

SMOOTH_MEASURES = ("temperature", "humidity", "co2", "pressure")
OUTLIER_RATE_LIMIT = 0.01
GAP_SHARE_LIMIT = 0.05
FRESHNESS_LIMIT_MINUTES = 10


def judged_readings(conn: psycopg.Connection, days: list[date]) -> int:
    """Readings and files the checks of these days have to judge (0: nothing arrived for them)."""
    low, high = range_bounds(days)
    return conn.execute(
        """SELECT (SELECT count(*) FROM silver.etl_watermark WHERE partition_day = ANY(%s))
                                  + (SELECT count(*) FROM (SELECT 1 FROM silver.sensor_events WHERE ts >= %s
                                      AND ts < %s
                                                           LIMIT 1) one)""",
        (days, low, high),
    ).fetchone()[0]


def duplicate_keys(conn: psycopg.Connection, days: list[date]) -> tuple[bool, dict]:
    """One row per apartment, sensor, measure and minute: the unique index `sensor_events_key` enforces it on
    every day partition, so the check asks the catalogue, not 12 M rows, whether each loaded day of the range
    is a partition under a valid unique key (a table attached by hand without it, or an index left invalid,
    fails)."""
    names = [partition_name(day) for day in days]
    rows = conn.execute(
        """SELECT c.relname,
                  EXISTS (SELECT 1 FROM pg_index x JOIN pg_inherits key ON key.inhrelid = x.indexrelid
                          WHERE x.indrelid = c.oid AND x.indisunique AND x.indisvalid
                            AND key.inhparent = to_regclass('silver.sensor_events_key'))
           FROM pg_inherits p JOIN pg_class c ON c.oid = p.inhrelid
           WHERE p.inhparent = 'silver.sensor_events'::regclass AND c.relname = ANY(%s)
           ORDER BY 1""",
        (names,),
    ).fetchall()
    unkeyed = [name for name, keyed in rows if not keyed]
    return not unkeyed, {
        "day_partitions": len(rows),
        "partitions_without_unique_key": unkeyed,
        "key": "apartment, sensor, measure, ts (unique index sensor_events_key)",
    }


class MeasureCounts(NamedTuple):
    rows: int
    outliers: int
    from_stream: int
    """Rows that came over MQTT (no source file)."""


def measure_counts(conn: psycopg.Connection, days: list[date]) -> dict[str, MeasureCounts]:
    """The range's rows per measure: one pass that both `reconciliation` and `outlier_rates` judge."""
    low, high = range_bounds(days)
    rows = conn.execute(
        """SELECT measure, count(*), count(*) FILTER (WHERE is_outlier),
                  count(*) FILTER (WHERE source_file_id IS NULL)
           FROM silver.sensor_events WHERE ts >= %s AND ts < %s GROUP BY 1 ORDER BY 1""",
        (low, high),
    ).fetchall()
    return {measure: MeasureCounts(*counts) for measure, *counts in rows}


def reconciliation(
    conn: psycopg.Connection, days: list[date], counts: dict[str, MeasureCounts] | None = None
) -> tuple[bool, dict]:
    """Every reading of Bronze is loaded, missing, or a losing duplicate; every file is accounted for.
    Readings that came over MQTT only are counted beside (`rows_from_mqtt`). `counts`: `measure_counts`
    of the days, when the caller has them."""
    counts = measure_counts(conn, days) if counts is None else counts
    total, missing, duplicate, loaded, files = conn.execute(
        """SELECT coalesce(sum(readings_total), 0), coalesce(sum(readings_missing), 0),
               coalesce(sum(readings_duplicate), 0),
                  coalesce(sum(rows_loaded), 0), count(*) FROM silver.etl_watermark
                      WHERE partition_day = ANY(%s)""",
        (days,),
    ).fetchone()
    from_stream = sum(c.from_stream for c in counts.values())
    in_table = sum(c.rows for c in counts.values()) - from_stream
    bronze_files, quarantined = conn.execute(
        """SELECT count(*) FILTER (WHERE quarantine_reason IS NULL), count(*)
               FILTER (WHERE quarantine_reason IS NOT NULL)
           FROM meta.bronze_sensor_files WHERE partition_day = ANY(%s) AND bronze_path IS NOT NULL""",
        (days,),
    ).fetchone()
    facts = {
        "readings_in_bronze": int(total),
        "rows_in_silver": int(in_table),
        "rows_from_mqtt": int(from_stream),
        "readings_missing": int(missing),
        "readings_duplicate": int(duplicate),
        "files_loaded": int(files),
        "files_readable_in_bronze": int(bronze_files),
        "files_quarantined": int(quarantined),
    }
    passed = total == loaded + missing + duplicate and loaded == in_table and files == bronze_files
    return passed, facts


def outlier_rates(counts: dict[str, MeasureCounts]) -> tuple[bool, dict]:
    """The share of flagged readings per measure, from `measure_counts`."""
    rates = {m: round(c.outliers / c.rows, 5) for m, c in counts.items() if c.rows}
    worst = {m: r for m, r in rates.items() if r > OUTLIER_RATE_LIMIT}
    return not worst, {"outlier_rate_by_measure": rates, "above_limit": worst, "limit": OUTLIER_RATE_LIMIT}


def stuck_sensors(conn: psycopg.Connection, days: list[date], hours: float) -> tuple[bool, dict]:
    """Sensors of normally varying measures whose reading did not change for `hours` or more. One ordered
    pass: each reading carries the start of its run of equal values, and only readings `hours` past that
    start are grouped (a few), not every run (millions).

    Each day partition's key already holds every series in time order, so the pass merges the partitions'
    keys (sorting is switched off for this statement alone): half the CPU of sorting the range's rows
    again, 6.4 s against 8.5 s on two cores for 70 days."""
    low, high = range_bounds(days)
    with conn.transaction():
        previous = conn.execute("SELECT current_setting('enable_sort')").fetchone()[0]
        conn.execute("SET LOCAL enable_sort = off")
        rows = _stuck_runs(conn, low, high, hours)
        conn.execute("SELECT set_config('enable_sort', %s, true)", (previous,))  # as it was in an outer one
    stuck = [f"{a} {s} {m} = {v} from {lo:%Y-%m-%d %H:%M} to {hi:%H:%M} UTC" for a, s, m, lo, hi, v in rows]
    return not stuck, {"stuck_runs": len(stuck), "runs": stuck[:50], "hours": hours}


def _stuck_runs(conn: psycopg.Connection, low: datetime, high: datetime, hours: float) -> list[tuple]:
    return conn.execute(
        """
        SELECT apartment, sensor, measure, run_start, max(ts), min(value) FROM (
            SELECT *, max(CASE WHEN changed THEN ts END) OVER runs AS run_start FROM (
                SELECT apartment, sensor, measure, ts, value,
                       value IS DISTINCT FROM lag(value) OVER series AS changed
                FROM silver.sensor_events
                WHERE ts >= %s AND ts < %s AND measure = ANY(%s) AND NOT is_outlier
                WINDOW series AS (PARTITION BY apartment, sensor, measure ORDER BY ts)) marked
            WINDOW runs AS (PARTITION BY apartment, sensor, measure ORDER BY ts ROWS UNBOUNDED PRECEDING)
        ) started
        WHERE ts - run_start >= make_interval(secs => %s)
        GROUP BY apartment, sensor, measure, run_start
        ORDER BY 4""",
        (low, high, list(SMOOTH_MEASURES), hours * 3600),
    ).fetchall()


def gaps(conn: psycopg.Connection, days: list[date]) -> tuple[bool, dict]:
    """Missing minutes per sensor and day (readings are never invented to fill them)."""
    rows = []
    for day in days:
        low, high = day_bounds(day)
        minutes = int((high - low).total_seconds() // 60)
        rows += conn.execute(
            """SELECT %s::date, apartment, sensor, %s - count(DISTINCT date_trunc('minute', ts))
                                FROM silver.sensor_events WHERE ts >= %s AND ts < %s GROUP BY apartment,
                                    sensor""",
            (day, minutes, low, high),
        ).fetchall()
    missing = {f"{d} {a} {s}": int(m) for d, a, s, m in rows if m > 0}
    worst = {k: m for k, m in missing.items() if m > GAP_SHARE_LIMIT * 1440}
    return not worst, {
        "missing_minutes_total": sum(missing.values()),
        "sensor_days_with_gaps": len(missing),
        "above_limit": dict(sorted(worst.items(), key=lambda kv: -kv[1])[:30]),
    }


def unknown_references(conn: psycopg.Connection, days: list[date]) -> tuple[bool, dict]:
    rows = conn.execute(
        """SELECT kind, apartment, sensor, reported_room, expected_room, sum(readings)
               FROM silver.unknown_references
                           WHERE partition_day = ANY(%s) GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3""",
        (days,),
    ).fetchall()
    listed = [
        f"{k}: {a} {s}"
        + (f" reports {r!r}, pidb says {e!r}" if k == "room_mismatch" else "")
        + f" ({n} readings)"
        for k, a, s, r, e, n in rows
    ]
    return not rows, {"references_to_fix": len(rows), "details": listed[:50]}


def freshness(conn: psycopg.Connection) -> tuple[bool | None, dict]:
    """The live path keeps up: Silver's newest reading is close to Bronze's newest readable file
    (None: no readable file yet, nothing to judge)."""
    bronze = conn.execute(
        "SELECT max(doc_ts) FROM meta.bronze_sensor_files WHERE quarantine_reason IS NULL"
    ).fetchone()[0]
    if bronze is None:
        return None, {"why": "no readable sensor file has arrived yet"}
    # the newest Silver minute, looked for in the last day partitions first (the usual case: no full scan)
    silver = (
        conn.execute(
            "SELECT max(ts) FROM silver.sensor_events WHERE ts > %s - interval '1 day'", (bronze,)
        ).fetchone()[0]
        or conn.execute("SELECT max(ts) FROM silver.sensor_events").fetchone()[0]
    )
    if silver is None:  # everything is still on its way: Silver is behind by all of it
        return False, {"newest_in_bronze": bronze.isoformat(), "newest_in_silver": None}
    lag = (bronze - silver).total_seconds() / 60
    return lag <= FRESHNESS_LIMIT_MINUTES, {
        "newest_in_bronze": bronze.isoformat(),
        "newest_in_silver": silver.isoformat(),
        "lag_minutes": round(lag, 1),
        "limit_minutes": FRESHNESS_LIMIT_MINUTES,
    }


WEATHER_COMPLETENESS_LIMIT = 0.95


def weather_completeness(
    conn: psycopg.Connection, days: list[date], core_measures: tuple[str, ...], leads: int = 46
) -> tuple[bool | None, dict]:
    """Share of the expected core values (site x measure x lead) present per known site and issue day
    (None: no building is tied to a forecast site, nothing to judge)."""
    expected = len(core_measures) * leads
    rows = conn.execute(
        """
        WITH sites AS (SELECT DISTINCT weather_site AS site FROM silver.dim_buildings
            WHERE weather_site IS NOT NULL),
             days AS (SELECT unnest(%s::date[]) AS issue_day)
        SELECT d.issue_day, s.site, count(w.value)
        FROM days d CROSS JOIN sites s
        LEFT JOIN silver.weather_clean w ON w.issue_day = d.issue_day AND w.site = s.site
            AND w.measure = ANY(%s)
        GROUP BY 1, 2 ORDER BY 1, 2""",
        (days, list(core_measures)),
    ).fetchall()
    if not rows:
        return None, {"why": "no building in pidb is tied to a forecast site"}
    shares = {f"{d} {s}": round(n / expected, 3) for d, s, n in rows}
    short = {k: v for k, v in shares.items() if v < WEATHER_COMPLETENESS_LIMIT}
    unknown = [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT site FROM silver.weather_clean WHERE issue_day = ANY(%s) AND NOT known_site",
            (days,),
        )
    ]
    return not short, {
        "completeness": shares,
        "below_limit": short,
        "limit": WEATHER_COMPLETENESS_LIMIT,
        "unknown_sites": unknown,
    }
