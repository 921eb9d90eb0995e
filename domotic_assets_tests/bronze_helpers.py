"""Helpers for Bronze tests: materialize with the real resources, and snapshot what Bronze holds."""

import hashlib

import dagster as dg
import psycopg

from domotic_assets.defs.bronze.assets import bronze_sensor_files, bronze_weather_files
from domotic_assets.defs.resources import build_resources
from domotic_assets.ingest.bronze_store import INCOMING
from domotic_assets.settings import Settings


def materialize_bronze(settings: Settings, first: str, last: str | None = None, assets=None, instance=None):
    tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last or first}
    return dg.materialize(
        assets or [bronze_sensor_files, bronze_weather_files],
        resources=build_resources(settings),
        tags=tags,
        instance=instance or dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def bronze_snapshot(settings: Settings) -> dict:
    """Every Bronze file with its checksum, and the tracking rows that describe them."""
    files = {
        p.relative_to(settings.bronze_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in settings.bronze_dir.rglob("*")
        if p.is_file()
    }
    assert not [f for f in files if f.startswith(INCOMING)], "no temporaries left behind"
    with psycopg.connect(settings.pg_dsn) as conn:
        rows = conn.execute("""SELECT source_path, size, mtime_ns, checksum, partition_day, doc_ts, ts_flag,
                                      quarantine_reason, bronze_path FROM meta.bronze_sensor_files
                               ORDER BY source_path, mtime_ns""").fetchall()
    return {"files": files, "rows": rows}
