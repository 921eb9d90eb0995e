"""`meta.bronze_sensor_files`: every sensor file seen on the landing, its content hash, its day, and where
its Bronze copy is (NULL: registered, not copied yet; '': gone before it could be copied). Every statement
on the table is here; its DDL is in `warehouse.schema`."""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

import psycopg


class FileRow(NamedTuple):
    """A file's row, in the order of its COPY."""

    apartment: str
    source_path: str
    size: int
    mtime_ns: int
    checksum: str
    partition_day: date
    doc_ts: datetime | None
    ts_flag: str | None
    quarantine_reason: str | None
    quarantine_detail: str | None
    bronze_path: str | None = None
    stored_at: datetime | None = None


COLUMNS = FileRow._fields


class DayTotals(NamedTuple):
    in_bronze: int
    quarantined: int
    not_yet_stored: int


def known_files(conn: psycopg.Connection) -> set[tuple[str, int, int]]:
    """(source path, size, mtime_ns) of every version of a file already registered."""
    with conn.cursor() as cur:
        cur.execute("SELECT source_path, size, mtime_ns FROM meta.bronze_sensor_files")
        return set(cur.fetchall())


def register(conn: psycopg.Connection, rows: list[FileRow]) -> None:
    """COPY into a temporary table, then insert what is not there yet (concurrent runs are fine)."""
    if not rows:
        return
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS incoming_sensor_files "
            "(LIKE meta.bronze_sensor_files INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        with cur.copy(f"COPY incoming_sensor_files ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute(f"""
            INSERT INTO meta.bronze_sensor_files ({", ".join(COLUMNS)})
            SELECT {", ".join(COLUMNS)} FROM incoming_sensor_files
            ON CONFLICT (source_path, size, mtime_ns) DO NOTHING""")


def not_yet_stored(conn: psycopg.Connection, days: list[date]) -> list[tuple]:
    """(id, source_path, size, mtime_ns, checksum, doc_ts, quarantine_reason) of the days' files registered
    but not copied, oldest first."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT id, source_path, size, mtime_ns, checksum, doc_ts, quarantine_reason
               FROM meta.bronze_sensor_files WHERE bronze_path IS NULL AND partition_day = ANY(%s)
               ORDER BY id""",
            (days,),
        )
        return cur.fetchall()


def record_stored(conn: psycopg.Connection, updates: list[tuple[int, str, str | None]]) -> None:
    """(id, Bronze path or '' when gone, reason or None) for each file copied or given up, in one
    transaction."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS stored_sensor_files "
            "(id bigint, bronze_path text, reason text) ON COMMIT DELETE ROWS"
        )
        with cur.copy("COPY stored_sensor_files (id, bronze_path, reason) FROM STDIN") as copy:
            for row in updates:
                copy.write_row(row)
        cur.execute("""UPDATE meta.bronze_sensor_files f
                       SET bronze_path = s.bronze_path, stored_at = now(),
                           quarantine_reason = coalesce(s.reason, f.quarantine_reason)
                       FROM stored_sensor_files s WHERE f.id = s.id""")


def day_totals(conn: psycopg.Connection, days: list[date]) -> DayTotals:
    """The days' files in Bronze, quarantined, and registered but not copied yet."""
    row = conn.execute(
        """SELECT count(*) FILTER (WHERE bronze_path <> ''), count(*)
               FILTER (WHERE quarantine_reason IS NOT NULL),
                  count(*) FILTER (WHERE bronze_path IS NULL)
           FROM meta.bronze_sensor_files WHERE partition_day = ANY(%s)""",
        (days,),
    ).fetchone()
    return DayTotals(*(int(v) for v in row))


def stored_paths(conn: psycopg.Connection, days: list[date]) -> list[str]:
    """The Bronze paths of the days' copied files."""
    rows = conn.execute(
        "SELECT bronze_path FROM meta.bronze_sensor_files WHERE partition_day = ANY(%s) AND bronze_path <> "
        "''",
        (days,),
    ).fetchall()
    return [path for (path,) in rows]


def unstored_days(conn: psycopg.Connection) -> list[tuple[date, int, int]]:
    """(day, files waiting, newest file id) for every day with registered files not in Bronze."""
    return conn.execute("""SELECT partition_day, count(*), max(id) FROM meta.bronze_sensor_files
                           WHERE bronze_path IS NULL GROUP BY partition_day
                               ORDER BY partition_day""").fetchall()
