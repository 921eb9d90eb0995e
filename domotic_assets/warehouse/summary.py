"""What is in the warehouse, for people: file counts, quarantine reasons, rows per table."""

from __future__ import annotations

import psycopg


def table_rows(conn: psycopg.Connection, schemas=("meta", "silver", "gold")) -> list[tuple[str, int]]:
    # partitioned tables once (their partitions are counted in them), views not at all
    tables = conn.execute("""SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                             WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p') AND NOT c.relispartition
                               AND c.relname NOT LIKE '%%\_\_load'
                             ORDER BY 1""", (list(schemas),)).fetchall()
    return [(name, conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]) for (name,) in tables]


def sensor_file_summary(conn: psycopg.Connection) -> dict:
    total, stored, pending = conn.execute("""SELECT count(*), count(*) FILTER (WHERE bronze_path <> ''),
                                                    count(*) FILTER (WHERE bronze_path IS NULL)
                                             FROM meta.bronze_sensor_files""").fetchone()
    reasons = conn.execute("""SELECT quarantine_reason, count(*) FROM meta.bronze_sensor_files
                              WHERE quarantine_reason IS NOT NULL GROUP BY 1 ORDER BY 2 DESC""").fetchall()
    weather = conn.execute("SELECT count(*) FROM meta.bronze_weather_files").fetchone()[0]
    return {"registered": total, "stored": stored, "not_yet_stored": pending,
            "quarantined": dict(reasons), "weather_files": weather}
