"""`meta.bronze_sensor_files`: every sensor file seen on the landing, its content hash, its day, and where
its Bronze copy is (NULL: registered, not copied yet; '': gone before it could be copied). Every statement
on the table is here, its DDL included."""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

import psycopg

from domotic_assets.transform.sensor_events import SourceFile

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
-- each apartment's newest file (monitoring) and what was quarantined, without reading every row
CREATE INDEX IF NOT EXISTS bronze_sensor_files_newest ON meta.bronze_sensor_files (apartment, doc_ts);
CREATE INDEX IF NOT EXISTS bronze_sensor_files_quarantined ON meta.bronze_sensor_files (quarantine_reason)
    WHERE quarantine_reason IS NOT NULL;
"""


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


def loadable(
    conn: psycopg.Connection, day: date, since: datetime | None = None, new_only: bool = False
) -> list[SourceFile]:
    """The day's readable files in Bronze, in the order they were registered: those whose document is
    from `since` on, and (`new_only`) those not in Silver's watermark yet."""
    rows = conn.execute(
        """SELECT f.id, f.bronze_path, f.apartment, f.mtime_ns, f.source_path, f.checksum
           FROM meta.bronze_sensor_files f
           WHERE f.partition_day = %s AND f.quarantine_reason IS NULL AND f.bronze_path <> ''
             AND (%s::timestamptz IS NULL OR f.doc_ts >= %s)
             AND (NOT %s OR NOT EXISTS (SELECT 1 FROM silver.etl_watermark w WHERE w.file_id = f.id))
           ORDER BY f.id""",
        (day, since, since, new_only),
    ).fetchall()
    return [SourceFile._make(row) for row in rows]


def doc_times(conn: psycopg.Connection, file_ids: list[int]) -> dict[int, tuple[datetime, str | None]]:
    """File id -> (document instant, daylight-saving flag), as registered."""
    rows = conn.execute(
        "SELECT id, doc_ts, ts_flag FROM meta.bronze_sensor_files WHERE id = ANY(%s)", (file_ids,)
    ).fetchall()
    return {file_id: (ts, flag) for file_id, ts, flag in rows}
