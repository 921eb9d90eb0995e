"""One writer per table and day: PostgreSQL advisory locks held by every step that writes days of a table.

Whatever launched a run (the file sensor, a schedule, a UI backfill, `domotic run`), a step that writes
days of a table first takes that table's locks for its days and keeps them until it ends; a step of
another run that wants one of those days waits, and says whom it waits for. The locks belong to the
step's own connection, so a run that is killed releases them with its connection.

Two levels keep the number of locks small whatever the range (PostgreSQL's lock table is shared and
finite: a three-year backfill of twenty tables must not hold 22,000 locks): a step that writes at least
`BULK_DAYS` days of a month takes that month exclusively; otherwise it shares the month and takes each
of its days exclusively. Two live runs of different days of a month go side by side; a backfill and a
live run of a day in its months take turns.

Two runs never wait for each other: every step takes its locks in one global order (table, month, the
month's lock before its days) and holds none that comes later in that order while it waits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from itertools import groupby
from typing import NamedTuple

import psycopg

NAMESPACE = "domotic.writer:"
MONTH_NAMESPACE = "domotic.writer-month:"
BULK_DAYS = 8


class WriterLock(NamedTuple):
    namespace: str
    table: str
    number: int
    """The day's ordinal, or the month as year * 12 + month."""
    exclusive: bool

    @property
    def key(self) -> tuple[str, int]:
        return self.namespace + self.table, self.number

    def __str__(self) -> str:
        if self.namespace == NAMESPACE:
            return f"{self.table} of {date.fromordinal(self.number)}"
        year, month = divmod(self.number - 1, 12)
        return f"{self.table} of {year}-{month + 1:02d}"


def plan(tables: Iterable[str], days: Iterable[date]) -> list[WriterLock]:
    """The locks a writer of these days of these tables takes, in the global order."""
    locks = []
    for table in sorted(set(tables)):
        for month, in_month in groupby(sorted(set(days)), key=lambda d: d.year * 12 + d.month):
            in_month = list(in_month)
            bulk = len(in_month) >= BULK_DAYS
            locks.append(WriterLock(MONTH_NAMESPACE, table, month, exclusive=bulk))
            if not bulk:
                locks += [WriterLock(NAMESPACE, table, d.toordinal(), exclusive=True) for d in in_month]
    return locks


def _holder(conn: psycopg.Connection, lock: WriterLock) -> str:
    row = conn.execute(
        """
        SELECT a.application_name, a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND a.datname = current_database()
          AND l.classid = hashtext(%s)::oid AND l.objid = %s::oid AND a.pid <> pg_backend_pid()
        LIMIT 1""",
        lock.key,
    ).fetchone()
    return f"{row[0] or 'a session'} (pid {row[1]})" if row else "another writer"


@contextmanager
def day_writer(
    conn: psycopg.Connection,
    tables: Iterable[str],
    days: Iterable[date],
    holder: str = "",
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the writer locks of `tables` for `days` while the block runs. `holder` names this writer to the
    others (it becomes the connection's application_name); `on_wait` hears whom it waits for, before it
    waits."""
    if holder:
        conn.execute("SELECT set_config('application_name', %s, false)", (holder[:63],))
    held: list[WriterLock] = []
    try:
        for lock in plan(tables, days):
            mode = "" if lock.exclusive else "_shared"
            if not conn.execute(f"SELECT pg_try_advisory_lock{mode}(hashtext(%s), %s)", lock.key).fetchone()[
                0
            ]:
                if on_wait:
                    on_wait(f"{lock} is being written by {_holder(conn, lock)}: waiting for it to finish")
                conn.execute(f"SELECT pg_advisory_lock{mode}(hashtext(%s), %s)", lock.key)
            held.append(lock)
        yield
    finally:
        try:
            for lock in reversed(held):
                mode = "" if lock.exclusive else "_shared"
                conn.execute(f"SELECT pg_advisory_unlock{mode}(hashtext(%s), %s)", lock.key)
        except psycopg.OperationalError:
            pass  # the connection is gone, and its locks with it
