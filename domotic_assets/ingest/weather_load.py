"""Bronze weather files -> `silver.weather_clean`, one issue day at a time, newest version wins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg

from domotic_assets.contracts.sensor_file import QuarantineError
from domotic_assets.transform.weather import parse_weather_file
from domotic_assets.warehouse import reference_tables, weather_tables


@dataclass(frozen=True)
class WeatherDayLoad:
    day: date
    status: str
    rows: int
    reason: str | None = None


def load_weather_days(conn: psycopg.Connection, bronze_root: Path, days: list[date]) -> list[WeatherDayLoad]:
    """Each issue day from the newest version of its Bronze file; an unreadable file quarantines its day."""
    sites = reference_tables.weather_sites(conn)
    results = []
    for day in days:
        newest = weather_tables.newest_file(conn, day)
        if newest is None:
            results.append(WeatherDayLoad(day, "no_file", 0, "no forecast file in Bronze for this day"))
            continue
        path, version = newest
        try:
            parsed = parse_weather_file((bronze_root / path).read_bytes(), sites)
        except QuarantineError as problem:
            weather_tables.quarantine_day(conn, day, path, version, problem.reason)
            results.append(WeatherDayLoad(day, "quarantined", 0, problem.reason))
            continue
        rows = parsed.rows.assign(issue_day=day, bronze_path=path)
        counts = (parsed.rows_in_file, parsed.missing, parsed.duplicates, parsed.unreadable)
        weather_tables.replace_day(conn, day, path, version, rows, counts)
        results.append(WeatherDayLoad(day, "loaded", len(rows)))
    return results
