"""Weather forecast files from the drop folder into `bronze/weather/YYYY/MM/DD/`.

The newest copy of a day's file wins downstream, and every copy is kept: a re-issued file with
new content becomes a new version (`Pred_D.v2.csv`), an unchanged one is recognised by checksum.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg

from domotic_assets.contracts.weather_file import file_name, issue_day
from domotic_assets.ingest.bronze_store import (
    flush_to_disk,
    sha256,
    store_immutable,
    sweep_incoming,
    versioned,
)
from domotic_assets.ingest.landing import Landing
from domotic_assets.warehouse import weather_tables


@dataclass
class WeatherReport:
    stored: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    missing_days: list[date] = field(default_factory=list)


def ingest_weather_files(
    drop: Landing, conn: psycopg.Connection, bronze_root: Path, days: Iterable[date]
) -> WeatherReport:
    """Store every new version of the forecast files issued on `days`; list the days with none."""
    wanted = set(days)
    report = WeatherReport()
    sweep_incoming(bronze_root)
    found = {issue_day(e.name): e for e in drop.list(".csv") if issue_day(e.name) in wanted}
    for day in sorted(wanted):
        if day not in found:
            report.missing_days.append(day)
            continue
        name = file_name(day)
        data = drop.read(found[day].relpath)
        checksum = sha256(data)
        with conn.transaction(), conn.cursor() as cur:
            weather_tables.lock_file_name(cur, name)
            known = weather_tables.stored_copy(cur, name, checksum)
            if known and (bronze_root / known).exists():
                report.unchanged.append(name)
                continue
            if known:  # tracked but lost from disk: put the same bytes back where the table says
                store_immutable(bronze_root, known, data)
                flush_to_disk()
                report.stored.append(known)
                continue
            version = weather_tables.next_version(cur, name)
            relpath = store_immutable(bronze_root, versioned(f"weather/{day:%Y/%m/%d}/{name}", version), data)
            flush_to_disk()
            arrived = datetime.fromtimestamp(found[day].mtime_ns / 1e9, UTC)
            weather_tables.record_file(cur, name, day, checksum, len(data), version, relpath, arrived)
            report.stored.append(relpath)
    return report
