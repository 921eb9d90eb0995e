"""`meta.operation_runs`: each backup and archive run, when it started and finished, and whether it
succeeded (monitoring alerts on a failed one). A run killed before it finished keeps `finished_at` NULL.
Every statement on the table is here, its DDL included."""

from __future__ import annotations

import psycopg

DDL = """
CREATE TABLE IF NOT EXISTS meta.operation_runs (
    id          bigserial PRIMARY KEY,
    operation   text        NOT NULL,  -- backup | archive
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    ok          boolean,
    detail      text
);
CREATE INDEX IF NOT EXISTS operation_runs_newest ON meta.operation_runs (operation, finished_at);
"""


def started(conn: psycopg.Connection, operation: str) -> int:
    return conn.execute(
        "INSERT INTO meta.operation_runs (operation) VALUES (%s) RETURNING id", (operation,)
    ).fetchone()[0]


def finished(conn: psycopg.Connection, run: int, ok: bool, detail: str) -> None:
    conn.execute(
        "UPDATE meta.operation_runs SET finished_at = now(), ok = %s, detail = %s WHERE id = %s",
        (ok, detail, run),
    )
