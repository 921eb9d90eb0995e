"""Bronze -> `silver.sensor_events`, one local day at a time, days transformed in parallel.

Each day is rebuilt from all of its Bronze files and swapped in atomically (see
`warehouse.silver_tables`); the watermark records every file with its reading accounts.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import psycopg

from domotic_assets.settings import PLATFORM_TIMEZONE
from domotic_assets.transform.sensor_events import DayReadings, SourceFile, read_day
from domotic_assets.warehouse.silver_tables import day_bounds, replace_day


@dataclass(frozen=True)
class DayLoad:
    day: date
    files: int
    rows: int
    readings_total: int
    readings_missing: int
    readings_duplicate: int
    outliers: int
    quarantined_files: int
    unknown_sensors: int


def _reference(conn: psycopg.Connection) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """Sensor -> (apartment, room) and apartment -> time zone, from the Silver dimensions (if loaded)."""
    exists = conn.execute("SELECT to_regclass('silver.dim_sensors') IS NOT NULL AND to_regclass('silver.dim_buildings') IS NOT NULL").fetchone()[0]
    if not exists:
        return {}, {}
    sensors = conn.execute("""SELECT s.external_id, b.code, r.name FROM silver.dim_sensors s
                              JOIN silver.dim_rooms r ON r.id = s.room_id JOIN silver.dim_buildings b ON b.id = r.building_id""").fetchall()
    zones = conn.execute("SELECT code, timezone FROM silver.dim_buildings").fetchall()
    return {s: (a, r) for s, a, r in sensors}, {a: tz or PLATFORM_TIMEZONE for a, tz in zones}


def _source_files(conn: psycopg.Connection, day: date) -> list[SourceFile]:
    rows = conn.execute("""SELECT id, bronze_path, apartment, mtime_ns, source_path, checksum FROM meta.bronze_sensor_files
                           WHERE partition_day = %s AND quarantine_reason IS NULL AND bronze_path <> ''
                           ORDER BY id""", (day,)).fetchall()
    return [SourceFile(*row) for row in rows]


def _previous_totals(conn: psycopg.Connection, day: date) -> dict[tuple[str, str], float]:
    low, _ = day_bounds(day)
    rows = conn.execute("""SELECT DISTINCT ON (apartment, sensor) apartment, sensor, value FROM silver.sensor_events
                           WHERE measure = 'total' AND NOT is_outlier AND ts >= %s AND ts < %s
                           ORDER BY apartment, sensor, ts DESC""", (low - timedelta(days=1), low)).fetchall()
    return {(a, s): v for a, s, v in rows}


def _transform(args) -> DayReadings:
    files, bronze_root, zones, reference, previous = args
    root = Path(bronze_root)
    return read_day(files, lambda p: (root / p).read_bytes(), lambda a: zones.get(a, PLATFORM_TIMEZONE), reference, previous)


def load_days(conn: psycopg.Connection, bronze_root: Path, days: list[date], workers: int | None = None) -> list[DayLoad]:
    reference, zones = _reference(conn)
    jobs = []
    for day in days:
        files = _source_files(conn, day)
        jobs.append((day, files, (files, str(bronze_root), zones, reference, _previous_totals(conn, day))))
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    results = []
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(workers) as pool:
            transformed = pool.map(_transform, [job[2] for job in jobs])
            results = [_swap_in(conn, day, files, readings) for (day, files, _), readings in zip(jobs, transformed)]
    else:
        results = [_swap_in(conn, day, files, _transform(args)) for day, files, args in jobs]
    return results


def _swap_in(conn: psycopg.Connection, day: date, files: list[SourceFile], readings: DayReadings) -> DayLoad:
    by_id = {f.file_id: f for f in files}
    watermark = readings.files.assign(
        path=[by_id[i].bronze_path for i in readings.files["file_id"]],
        checksum=[by_id[i].checksum for i in readings.files["file_id"]],
        partition_day=day,
    )
    errors = readings.errors.assign(partition_day=day)
    unknown = readings.unknown.assign(partition_day=day)
    replace_day(conn, day, readings.events, watermark, unknown, errors)
    sums = readings.files[["readings_total", "readings_missing", "readings_duplicate"]].sum()
    return DayLoad(
        day=day, files=len(files), rows=len(readings.events), readings_total=int(sums["readings_total"]),
        readings_missing=int(sums["readings_missing"]), readings_duplicate=int(sums["readings_duplicate"]),
        outliers=int(readings.events["is_outlier"].sum()),
        quarantined_files=int((readings.files["status"] == "quarantined").sum()),
        unknown_sensors=int((readings.unknown["kind"] == "unknown_sensor").sum()) if len(readings.unknown) else 0,
    )
