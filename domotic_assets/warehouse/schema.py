"""The warehouse's schemas and tables, created idempotently: each table's DDL lives in the module that owns
it (and holds every statement on it); this module runs them in order."""

from __future__ import annotations

from domotic_assets.settings import PLATFORM_TIMEZONE
from domotic_assets.warehouse import (
    access_tables,
    archive_tables,
    bronze_files,
    gold_quality,
    job_tables,
    operation_runs,
    platform_metrics,
    prediction_tables,
    reference_tables,
    schedule_tables,
    silver_tables,
    telemetry_tables,
    weather_tables,
)
from domotic_assets.warehouse.connection import connect

SCHEMAS = ("meta", "silver", "gold")

QUARANTINE_VIEW = """
CREATE OR REPLACE VIEW meta.quarantine AS
    SELECT 'sensor_file'::text AS source, source_path AS file, bronze_path, partition_day,
           quarantine_reason AS reason, quarantine_detail AS detail, registered_at AS quarantined_at
    FROM meta.bronze_sensor_files WHERE quarantine_reason IS NOT NULL
    UNION ALL
    SELECT 'sensor_file_at_load', w.path, w.path, w.partition_day, w.reason, NULL, w.loaded_at
    FROM silver.etl_watermark w WHERE w.status = 'quarantined'
    UNION ALL
    SELECT 'weather_file', l.bronze_path, l.bronze_path, l.issue_day, l.reason, NULL, l.loaded_at
    FROM silver.weather_loads l WHERE l.status = 'quarantined'
    UNION ALL
    SELECT 'mqtt_message', q.topic, NULL, (q.received_at AT TIME ZONE '__PLATFORM_TIMEZONE__')::date,
        q.reason, q.detail, q.received_at
    FROM meta.stream_quarantine q;
""".replace("__PLATFORM_TIMEZONE__", PLATFORM_TIMEZONE)
"""Everything quarantined, whatever the source, in one place (`domotic quarantine` reads it)."""
OWNERS = (
    bronze_files,
    weather_tables,
    reference_tables,
    gold_quality,
    telemetry_tables,
    silver_tables,
    schedule_tables,
    prediction_tables,
    access_tables,
    job_tables,
    operation_runs,
    archive_tables,
    platform_metrics,
)
"""The modules that own the warehouse's tables, each with its DDL, in the order they are created."""


def ensure_schema(dsn: str) -> None:
    """Create the schemas and metadata tables if they are missing. Safe to call concurrently."""
    with connect(dsn, autocommit=True) as conn:
        # serialise concurrent first runs: CREATE ... IF NOT EXISTS can still race on catalogs
        conn.execute("SELECT pg_advisory_lock(hashtext('domotic.ensure_schema'))")
        try:
            for schema in SCHEMAS:
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            for owner in OWNERS:
                conn.execute(owner.DDL)
            conn.execute(QUARANTINE_VIEW)
            access_tables.ensure_roles(conn)
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext('domotic.ensure_schema'))")
