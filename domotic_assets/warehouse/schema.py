"""Warehouse schemas and the pipeline's own metadata tables, created idempotently."""

from __future__ import annotations

from domotic_assets.warehouse import prediction_tables, schedule_tables, silver_tables, telemetry_tables
from domotic_assets.warehouse.connection import connect

SCHEMAS = ("meta", "silver", "gold")

DDL = """
CREATE TABLE IF NOT EXISTS meta.bronze_sensor_files (
    id             bigserial PRIMARY KEY,
    apartment      text        NOT NULL,
    source_path    text        NOT NULL,  -- relative to the landing share, apartment folder first
    size           bigint      NOT NULL,
    mtime_ns       bigint      NOT NULL,
    checksum       text        NOT NULL,  -- sha256 of the bytes
    partition_day  date        NOT NULL,  -- local day of the document, or of arrival if unreadable
    doc_ts         timestamptz,
    ts_flag        text,                  -- daylight-saving rule applied (see contracts.timestamps)
    quarantine_reason text,               -- null: readable
    quarantine_detail text,
    bronze_path    text,                  -- null until copied into Bronze
    registered_at  timestamptz NOT NULL DEFAULT now(),
    stored_at      timestamptz,
    UNIQUE (source_path, size, mtime_ns)
);
CREATE INDEX IF NOT EXISTS bronze_sensor_files_unstored
    ON meta.bronze_sensor_files (partition_day) WHERE bronze_path IS NULL;
CREATE INDEX IF NOT EXISTS bronze_sensor_files_day ON meta.bronze_sensor_files (partition_day);

CREATE TABLE IF NOT EXISTS meta.bronze_weather_files (
    id            bigserial PRIMARY KEY,
    file_name     text        NOT NULL,
    issue_day     date        NOT NULL,
    checksum      text        NOT NULL,
    size          bigint      NOT NULL,
    version       integer     NOT NULL,
    bronze_path   text        NOT NULL,
    stored_at     timestamptz NOT NULL DEFAULT now(),
    arrived_at    timestamptz,             -- its modification time on the drop: when the service put it there
    UNIQUE (file_name, checksum),
    UNIQUE (file_name, version)
);
ALTER TABLE meta.bronze_weather_files ADD COLUMN IF NOT EXISTS arrived_at timestamptz;

CREATE TABLE IF NOT EXISTS meta.dim_imports (
    table_name    text PRIMARY KEY,
    row_count     bigint      NOT NULL,
    content_hash  text        NOT NULL,
    imported_at   timestamptz NOT NULL,
    changed_at    timestamptz NOT NULL
);

-- what Gold's energy of an apartment-day was built from: the main meter's kWh in Silver then
CREATE TABLE IF NOT EXISTS meta.gold_energy_basis (
    apartment  text             NOT NULL,
    day        date             NOT NULL,
    meter_kwh  double precision NOT NULL,
    built_at   timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (apartment, day)
);
"""


def ensure_schema(dsn: str) -> None:
    """Create the schemas and metadata tables if they are missing. Safe to call concurrently."""
    with connect(dsn, autocommit=True) as conn:
        # serialise concurrent first runs: CREATE ... IF NOT EXISTS can still race on catalogs
        conn.execute("SELECT pg_advisory_lock(hashtext('domotic.ensure_schema'))")
        try:
            for schema in SCHEMAS:
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            conn.execute(DDL)
            conn.execute(telemetry_tables.DDL)
            conn.execute(silver_tables.DDL)
            conn.execute(schedule_tables.DDL)
            conn.execute(prediction_tables.DDL)
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext('domotic.ensure_schema'))")
