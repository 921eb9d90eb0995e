"""One writer per table and day: PostgreSQL advisory locks held by every step that writes days of a table.

Whatever launched a run (the file sensor, a schedule, a UI backfill, `domotic run`), a step that writes
days of a table first takes that table's lock for each of its days and keeps them until it ends; a step
of another run that wants one of those days waits, and says whom it waits for. The locks belong to the
step's own connection, so a run that is killed releases them with its connection.

Two runs never wait for each other: a step takes its locks in one global order (table, then day) and
holds none while it waits for a lock that comes earlier in that order.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date
from typing import Callable, Iterable, Iterator

import psycopg

NAMESPACE = "domotic.writer:"


def _holder(conn: psycopg.Connection, table: str, day: date) -> str:
    row = conn.execute("""
        SELECT a.application_name, a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND a.datname = current_database()
          AND l.classid = hashtext(%s)::oid AND l.objid = %s::oid""", (NAMESPACE + table, day.toordinal())).fetchone()
    return f"{row[0] or 'a session'} (pid {row[1]})" if row else "another writer"


@contextmanager
def day_writer(conn: psycopg.Connection, tables: Iterable[str], days: Iterable[date], holder: str = "",
               on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the writer lock of each of `tables` for each of `days` while the block runs. `holder` names
    this writer to the others (it becomes the connection's application_name); `on_wait` hears whom
    this writer waits for, before it waits."""
    wanted = sorted({(t, d) for t in tables for d in days})
    if holder:
        conn.execute("SELECT set_config('application_name', %s, false)", (holder[:63],))
    held: list[tuple[str, date]] = []
    try:
        for table, day in wanted:
            key = (NAMESPACE + table, day.toordinal())
            if not conn.execute("SELECT pg_try_advisory_lock(hashtext(%s), %s)", key).fetchone()[0]:
                if on_wait:
                    on_wait(f"{table} of {day} is being written by {_holder(conn, table, day)}: waiting for it to finish")
                conn.execute("SELECT pg_advisory_lock(hashtext(%s), %s)", key)
            held.append((table, day))
        yield
    finally:
        try:
            for table, day in reversed(held):
                conn.execute("SELECT pg_advisory_unlock(hashtext(%s), %s)", (NAMESPACE + table, day.toordinal()))
        except psycopg.OperationalError:
            pass  # the connection is gone, and its locks with it
