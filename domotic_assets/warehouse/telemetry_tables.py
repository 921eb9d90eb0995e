"""The warehouse side of the MQTT stream: household telemetry, sensor readings and quarantine.

`silver.household_telemetry` is range-partitioned by `ts`, one partition per local day, like
`silver.sensor_events`; partitions are created as readings for a new day arrive. A batch is
written in one transaction: binary COPY into session-private staging tables, then
`INSERT ... ON CONFLICT DO NOTHING` into the Silver tables, so a reading is stored once whatever
the number of deliveries, and a batch replayed after a crash changes nothing.

Sensor readings from `domotic/...` topics go into `silver.sensor_events` under the natural key of
readings from files (apartment, sensor, measure, ts) with `source_file_id` null. A reading that
arrives both ways is stored once: the file's copy wins (`replace_day` carries the day's stream
rows over its rebuild for the keys no file has).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import psycopg

from domotic_assets.contracts.timestamps import zone
from domotic_assets.settings import PLATFORM_TIMEZONE
from domotic_assets.transform.telemetry import (
    HOUSEHOLD_COLUMNS,
    QUARANTINE_COLUMNS,
    SENSOR_COLUMNS,
    DecodedBatch,
)
from domotic_assets.warehouse.silver_tables import ensure_day_partition, stream_readings_insert

DDL = """
CREATE TABLE IF NOT EXISTS silver.household_telemetry (
    household   text             NOT NULL,  -- the topic's household: a pidb building (id or code)
    measure     text             NOT NULL,  -- consumption | pv_power | battery_soc | battery_power
    ts          timestamptz      NOT NULL,  -- UTC instant of the reading
    value       double precision NOT NULL,  -- W or %; battery_power < 0 is discharging
    unit        text             NOT NULL,
    is_outlier  boolean          NOT NULL,  -- outside the physical bounds (transform.outliers)
    ts_flag     text,                       -- daylight-saving rule applied to a wall-clock timestamp
    received_at timestamptz      NOT NULL   -- when the consumer received it (lateness)
) PARTITION BY RANGE (ts);
CREATE UNIQUE INDEX IF NOT EXISTS household_telemetry_key ON silver.household_telemetry (household, measure,
    ts);

CREATE TABLE IF NOT EXISTS meta.stream_quarantine (
    message_key text PRIMARY KEY,         -- the message as delivered (duplicates are one row)
    topic       text        NOT NULL,
    payload     bytea       NOT NULL,
    reason      text        NOT NULL,
    detail      text,
    received_at timestamptz NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS stream_quarantine_received ON meta.stream_quarantine (received_at);
"""

STAGING = {
    "household": (
        "stream_household",
        HOUSEHOLD_COLUMNS,
        ["text", "text", "timestamptz", "float8", "text", "bool", "text", "timestamptz"],
    ),
    "sensor": (
        "stream_sensor",
        SENSOR_COLUMNS,
        ["text", "text", "text", "text", "text", "timestamptz", "float8", "text", "bool", "text", "text"],
    ),
    "quarantine": (
        "stream_quarantine",
        QUARANTINE_COLUMNS,
        ["text", "text", "bytea", "text", "text", "timestamptz"],
    ),
}

STAGING_DDL = """
CREATE TEMP TABLE IF NOT EXISTS stream_household (LIKE silver.household_telemetry) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stream_sensor (
    apartment text, room text, sensor text, category text, measure text, ts timestamptz, value float8,
        unit text,
    is_outlier bool, outlier_reason text, ts_flag text) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stream_quarantine (
    message_key text, topic text, payload bytea, reason text, detail text, received_at timestamptz)
        ON COMMIT DELETE ROWS;
"""

INSERTS = {
    "household": "INSERT INTO silver.household_telemetry SELECT * FROM stream_household ON CONFLICT DO "
    "NOTHING",
    "quarantine": """INSERT INTO meta.stream_quarantine (message_key, topic, payload, reason, detail,
                         received_at)
                     SELECT * FROM stream_quarantine ON CONFLICT DO NOTHING""",
}


@dataclass(frozen=True)
class WriteResult:
    household_rows: int
    sensor_rows: int
    quarantined: int
    duplicates: int
    """Readings already stored (redeliveries, duplicates, a file that brought them first)."""


class TelemetryWriter:
    """Writes decoded batches over one connection; knows which day partitions already exist."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn
        self._partitions: set[tuple[str, date]] = set()
        conn.execute(STAGING_DDL)
        self._sensor_insert = stream_readings_insert(conn, "stream_sensor")

    def _ensure_partitions(self, parent: str, rows: list[tuple], ts_index: int) -> None:
        tz = zone(PLATFORM_TIMEZONE)
        for day in {ts.astimezone(tz).date() for ts in {row[ts_index] for row in rows}}:
            if (parent, day) not in self._partitions:
                ensure_day_partition(self.conn, parent, day)
                self._partitions.add((parent, day))

    def write(self, batch: DecodedBatch) -> WriteResult:
        """Store a batch, all or nothing (raises psycopg.OperationalError when the warehouse is gone)."""
        self._ensure_partitions("household_telemetry", batch.household, HOUSEHOLD_COLUMNS.index("ts"))
        self._ensure_partitions("sensor_events", batch.sensor, SENSOR_COLUMNS.index("ts"))
        stored = {}
        with self.conn.transaction(), self.conn.cursor() as cur:
            for kind, rows in (
                ("household", batch.household),
                ("sensor", batch.sensor),
                ("quarantine", batch.quarantine),
            ):
                stored[kind] = 0
                if not rows:
                    continue
                table, columns, types = STAGING[kind]
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(types)
                    for row in rows:
                        copy.write_row(row)
                cur.execute(self._sensor_insert if kind == "sensor" else INSERTS[kind])
                stored[kind] = cur.rowcount
        readings = len(batch.household) + len(batch.sensor)
        return WriteResult(
            household_rows=stored["household"],
            sensor_rows=stored["sensor"],
            quarantined=stored["quarantine"],
            duplicates=readings - stored["household"] - stored["sensor"],
        )
