"""The weather forecast's tables, and every statement on them: `meta.bronze_weather_files` (each version
of a day's file kept in Bronze), `silver.weather_clean` (the winning version's values) and
`silver.weather_loads` (what each issue day's load did).

A day's values are replaced with its load record in one transaction, so a reader never sees a half day.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import psycopg

from domotic_assets.warehouse.silver_tables import copy_frame

DDL = """
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

CREATE TABLE IF NOT EXISTS silver.weather_clean (
    site        text             NOT NULL,
    measure     text             NOT NULL,
    unit        text,
    valid_ts    timestamptz      NOT NULL,  -- UTC time the value is forecast for
    lead_hours  integer          NOT NULL,
    value       double precision NOT NULL,
    source_code text             NOT NULL,  -- the service's measurement code
    known_site  boolean          NOT NULL,  -- false: the site is tied to no pidb building
    issue_day   date             NOT NULL,
    bronze_path text             NOT NULL,  -- the file version that won
    PRIMARY KEY (site, measure, valid_ts, lead_hours)
);
CREATE INDEX IF NOT EXISTS weather_clean_issue_day ON silver.weather_clean (issue_day);
CREATE TABLE IF NOT EXISTS silver.weather_loads (
    issue_day date PRIMARY KEY, bronze_path text, version integer, status text NOT NULL, reason text,
    rows_in_file integer, rows_loaded integer, missing integer, duplicates integer, unreadable integer,
    loaded_at timestamptz NOT NULL DEFAULT now()
);
"""


def lock_file_name(cur: psycopg.Cursor, name: str) -> None:
    """Serialise, until the transaction ends, everything stored under this file name."""
    cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (name,))


def stored_copy(cur: psycopg.Cursor, name: str, checksum: str) -> str | None:
    """The Bronze path of the version of `name` with these bytes, if one is stored."""
    cur.execute(
        "SELECT bronze_path FROM meta.bronze_weather_files WHERE file_name = %s AND checksum = %s",
        (name, checksum),
    )
    row = cur.fetchone()
    return row[0] if row else None


def next_version(cur: psycopg.Cursor, name: str) -> int:
    cur.execute(
        "SELECT coalesce(max(version), 0) + 1 FROM meta.bronze_weather_files WHERE file_name = %s", (name,)
    )
    return cur.fetchone()[0]


def record_file(
    cur: psycopg.Cursor,
    name: str,
    day: date,
    checksum: str,
    size: int,
    version: int,
    bronze_path: str,
    arrived_at: datetime,
) -> None:
    cur.execute(
        """INSERT INTO meta.bronze_weather_files
               (file_name, issue_day, checksum, size, version, bronze_path, arrived_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s)""",
        (name, day, checksum, size, version, bronze_path, arrived_at),
    )


def newest_file(conn: psycopg.Connection, day: date) -> tuple[str, int] | None:
    """(Bronze path, version) of the newest version of the day's file, if any."""
    return conn.execute(
        """SELECT bronze_path, version FROM meta.bronze_weather_files WHERE issue_day = %s
           ORDER BY version DESC LIMIT 1""",
        (day,),
    ).fetchone()


_RECORD_LOAD = """
    INSERT INTO silver.weather_loads
        (issue_day, bronze_path, version, status, reason, rows_in_file, rows_loaded, missing, duplicates,
         unreadable)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (issue_day) DO UPDATE SET
        bronze_path = excluded.bronze_path, version = excluded.version, status = excluded.status,
        reason = excluded.reason, rows_in_file = excluded.rows_in_file, rows_loaded = excluded.rows_loaded,
        missing = excluded.missing, duplicates = excluded.duplicates, unreadable = excluded.unreadable,
        loaded_at = now()"""


def quarantine_day(conn: psycopg.Connection, day: date, bronze_path: str, version: int, reason: str) -> None:
    """The day's newest file cannot be read: no values for the day, and the reason recorded."""
    with conn.transaction():
        conn.execute("DELETE FROM silver.weather_clean WHERE issue_day = %s", (day,))
        conn.execute(
            _RECORD_LOAD, (day, bronze_path, version, "quarantined", reason, None, None, None, None, None)
        )


def replace_day(
    conn: psycopg.Connection,
    day: date,
    bronze_path: str,
    version: int,
    rows: pd.DataFrame,
    counts: tuple[int, int, int, int],
) -> None:
    """The day's values replaced by `rows` (COPY), with the load's record: rows in the file, missing,
    duplicate and unreadable values (`counts`)."""
    in_file, missing, duplicates, unreadable = counts
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("DELETE FROM silver.weather_clean WHERE issue_day = %s", (day,))
        copy_frame(cur, "silver.weather_clean", rows)
        cur.execute(
            _RECORD_LOAD,
            (day, bronze_path, version, "loaded", None, in_file, len(rows), missing, duplicates, unreadable),
        )
