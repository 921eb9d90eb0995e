"""`meta.operation_runs`: each backup and archive run, when it started and finished, and whether it
succeeded (monitoring alerts on a failed one). A run killed before it finished keeps `finished_at` NULL.
Every statement on the table is here, its DDL included."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

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


@dataclass
class Outcome:
    """What a recorded run ends with; the block sets it (a run that raises is recorded failed)."""

    ok: bool = True
    detail: str = "done"


@contextmanager
def recorded(conn: psycopg.Connection, operation: str) -> Iterator[Outcome]:
    """Record the block as a run of `operation` (autocommit `conn`): started now, finished with the
    block's outcome, or failed with the exception it raises."""
    run = conn.execute(
        "INSERT INTO meta.operation_runs (operation) VALUES (%s) RETURNING id", (operation,)
    ).fetchone()[0]
    outcome = Outcome()
    try:
        yield outcome
    except BaseException as exc:
        outcome = Outcome(False, str(exc) or type(exc).__name__)
        raise
    finally:
        conn.execute(
            "UPDATE meta.operation_runs SET finished_at = now(), ok = %s, detail = %s WHERE id = %s",
            (outcome.ok, outcome.detail, run),
        )
