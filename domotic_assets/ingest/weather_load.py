"""Bronze weather files -> `silver.weather_clean`, one issue day at a time, newest version wins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg

from domotic_assets.contracts.sensor_file import QuarantineError
from domotic_assets.transform.weather import parse_weather_file
from domotic_assets.warehouse.silver_tables import copy_frame


@dataclass(frozen=True)
class WeatherDayLoad:
    day: date
    status: str
    rows: int
    reason: str | None = None


def _known_sites(conn: psycopg.Connection) -> set[str]:
    if not conn.execute("SELECT to_regclass('silver.dim_buildings') IS NOT NULL").fetchone()[0]:
        return set()
    return {
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT weather_site FROM silver.dim_buildings WHERE weather_site IS NOT NULL"
        )
    }


def load_weather_days(conn: psycopg.Connection, bronze_root: Path, days: list[date]) -> list[WeatherDayLoad]:
    sites = _known_sites(conn)
    results = []
    for day in days:
        newest = conn.execute(
            """SELECT bronze_path, version FROM meta.bronze_weather_files WHERE issue_day = %s
                                 ORDER BY version DESC LIMIT 1""",
            (day,),
        ).fetchone()
        if newest is None:
            results.append(WeatherDayLoad(day, "no_file", 0, "no forecast file in Bronze for this day"))
            continue
        path, version = newest
        try:
            parsed = parse_weather_file((bronze_root / path).read_bytes(), sites)
        except QuarantineError as problem:
            with conn.transaction():
                conn.execute("DELETE FROM silver.weather_clean WHERE issue_day = %s", (day,))
                conn.execute(
                    """INSERT INTO silver.weather_loads (issue_day, bronze_path, version, status, reason)
                                VALUES (%s, %s, %s, 'quarantined', %s) ON CONFLICT (issue_day) DO UPDATE SET
                                bronze_path = excluded.bronze_path, version = excluded.version,
                                    status = excluded.status,
                                reason = excluded.reason, loaded_at = now()""",
                    (day, path, version, problem.reason),
                )
            results.append(WeatherDayLoad(day, "quarantined", 0, problem.reason))
            continue
        rows = parsed.rows.assign(issue_day=day, bronze_path=path)
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("DELETE FROM silver.weather_clean WHERE issue_day = %s", (day,))
            copy_frame(cur, "silver.weather_clean", rows)
            cur.execute(
                """INSERT INTO silver.weather_loads (issue_day, bronze_path, version, status, reason,
                       rows_in_file,
                                   rows_loaded, missing, duplicates, unreadable)
                           VALUES (%s, %s, %s, 'loaded', NULL, %s, %s, %s, %s, %s) ON CONFLICT (issue_day)
                               DO UPDATE SET
                           bronze_path = excluded.bronze_path, version = excluded.version,
                               status = excluded.status,
                           reason = NULL, rows_in_file = excluded.rows_in_file,
                               rows_loaded = excluded.rows_loaded,
                           missing = excluded.missing, duplicates = excluded.duplicates,
                               unreadable = excluded.unreadable,
                           loaded_at = now()""",
                (
                    day,
                    path,
                    version,
                    parsed.rows_in_file,
                    len(rows),
                    parsed.missing,
                    parsed.duplicates,
                    parsed.unreadable,
                ),
            )
        results.append(WeatherDayLoad(day, "loaded", len(rows)))
    return results
