"""Bronze -> `silver.sensor_events`, one local day at a time.

Two paths, with the same result (a test compares them):

* **rebuild** (`load_days`): the day from all of its Bronze files, swapped in atomically; days of
  a backfill are transformed in parallel;
* **append** (`append_new_files`): only the files not in the watermark yet, when they all come
  after the day's newest reading (the live case). The day's last minutes are re-read as context
  so spike windows and counter resets see the same neighbours as in a rebuild, and only the tail
  from `TAIL` before the first new reading is replaced. Late files, files of the daylight-saving
  hours or a day not loaded yet need a rebuild (`None`).
"""

from __future__ import annotations

import contextlib
import os
import queue
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import psycopg

from domotic_assets.ingest.landing import LocalFolder
from domotic_assets.settings import PLATFORM_TIMEZONE
from domotic_assets.transform.sensor_events import (
    DayReadings,
    SourceFile,
    changed_flags,
    last_totals,
    read_day,
    with_previous_totals,
)
from domotic_assets.warehouse import bronze_files, reference_tables, silver_tables
from domotic_assets.warehouse.binary_copy import encode
from domotic_assets.warehouse.silver_tables import EVENT_TYPES, day_bounds, replace_day, replace_tail

TAIL = timedelta(minutes=20)
"""Rows whose spike windows can include a new reading (Hampel median and MAD reach 14 rows each way)."""
CONTEXT = timedelta(minutes=20)
"""Rows before the tail, re-read so the tail's windows are as complete as in a rebuild."""


@dataclass(frozen=True)
class DayLoad:
    day: date
    files: int
    rows: int
    readings_total: int
    readings_missing: int
    readings_duplicate: int
    outliers: int
    quarantined_files: int


def _transform(args) -> DayReadings:
    files, bronze_root, zones, previous = args
    # a folder's plain `open`, not pathlib: a day reads thousands of files, pathlib costs more than the read
    bronze = LocalFolder(bronze_root)
    return read_day(files, bronze.read, lambda a: zones.get(a, PLATFORM_TIMEZONE), previous)


@dataclass
class _EncodedDay:
    """A day transformed in a worker: all its events encoded for COPY, in the order of the day's unique key
    (a presorted table builds its index three times faster), and its counter readings again as rows, since
    their first minutes are judged again when the day before was transformed beside this one."""

    readings: DayReadings
    """`events` holds the counter (`total`) readings only."""
    payload: bytes
    rows: int
    outliers: int


def _transform_and_encode(args) -> _EncodedDay:
    readings = _transform(args)
    events = readings.events
    readings.events = events[(events["measure"] == "total").to_numpy()].reset_index(drop=True)
    return _EncodedDay(readings, encode(events, EVENT_TYPES), len(events), int(events["is_outlier"].sum()))


WRITERS = 2
"""Connections that swap days in at once: a day's COPY, key and statistics take the server as long as its
transform takes a worker, so one writer would leave the workers waiting."""


def load_days(
    conn: psycopg.Connection,
    bronze_root: Path,
    days: list[date],
    workers: int | None = None,
    connect: Callable[[], contextlib.AbstractContextManager[psycopg.Connection]] | None = None,
) -> list[DayLoad]:
    """Rebuild these days from all of their Bronze files: transformed and encoded in parallel by `workers`
    processes, then swapped in (each day in its own transaction) by WRITERS connections opened with
    `connect` (by `conn` alone without it). At most a few days are in flight whatever the range, so memory
    stays that of a few days. The counters' midnight is judged in day order between the two."""
    zones = reference_tables.building_zones(conn)
    days = sorted(days)
    workers = workers or min(len(days), os.cpu_count() or 1)
    results: list[DayLoad] = []
    transforming: deque = deque()
    swapping: deque[Future] = deque()
    totals_of_day_before: dict = {}
    in_run = set(days)  # a day whose day before is in the run is judged right after it

    with contextlib.ExitStack() as stack:
        pool = stack.enter_context(
            ProcessPoolExecutor(workers) if workers > 1 and len(days) > 1 else _InPlace()
        )
        writers: queue.SimpleQueue[psycopg.Connection] = queue.SimpleQueue()
        if connect and len(days) > 1:
            for _ in range(WRITERS):
                writers.put(stack.enter_context(connect()))
            swapper = stack.enter_context(ThreadPoolExecutor(WRITERS))
        else:  # `conn` alone, which this thread also reads through: each swap when it is submitted
            writers.put(conn)
            swapper = _InPlace()
        concurrent_swaps = writers.qsize()

        def swap(*day_args) -> DayLoad:
            writer = writers.get()
            try:
                return _swap_in(writer, *day_args)
            finally:
                writers.put(writer)

        def judge_oldest() -> None:
            nonlocal totals_of_day_before
            day, files, previous, future = transforming.popleft()
            done = future.result()
            counters, outliers, corrections = done.readings.events, done.outliers, None
            if day - timedelta(days=1) in in_run:
                # the day before was transformed beside this one, not read from Silver: judge midnight again
                judged = with_previous_totals(counters.copy(), {**previous, **totals_of_day_before})
                corrections = changed_flags(counters, judged)
                outliers += int(judged["is_outlier"].sum()) - int(counters["is_outlier"].sum())
                counters = judged
            swapping.append(swapper.submit(swap, day, files, done, corrections, outliers))
            totals_of_day_before = last_totals(counters)
            while len(swapping) > concurrent_swaps:
                results.append(swapping.popleft().result())

        for day in days:
            files = bronze_files.loadable(conn, day)
            # a day whose day before is rebuilt in this run takes that day's totals, judged above
            previous = (
                {}
                if day - timedelta(days=1) in in_run
                else silver_tables.last_counter_readings(conn, day_bounds(day)[0])
            )
            job = (files, str(bronze_root), zones, previous)
            transforming.append((day, files, previous, pool.submit(_transform_and_encode, job)))
            if len(transforming) > workers:
                judge_oldest()
        while transforming:
            judge_oldest()
        results.extend(pending.result() for pending in swapping)
    return results


class _InPlace(contextlib.AbstractContextManager):
    """An executor that runs each job when it is submitted (one worker)."""

    def submit(self, fn, *args) -> Future:
        future: Future = Future()
        future.set_result(fn(*args))
        return future

    def __exit__(self, *_exc) -> None:
        return None


def _swap_in(
    conn: psycopg.Connection,
    day: date,
    files: list[SourceFile],
    done: _EncodedDay,
    corrections: pd.DataFrame | None,
    outliers: int,
) -> DayLoad:
    """`outliers`: the day's, after its counters were judged again (`corrections`)."""
    readings = done.readings
    by_id = {f.file_id: f for f in files}
    watermark = readings.files.assign(
        path=[by_id[i].bronze_path for i in readings.files["file_id"]],
        checksum=[by_id[i].checksum for i in readings.files["file_id"]],
        partition_day=day,
    )
    errors = readings.errors.assign(partition_day=day)
    replace_day(
        conn, day, done.payload, watermark, errors, readings.attributes.assign(partition_day=day), corrections
    )
    return _summary(day, files, readings, done.rows, outliers)


def _summary(day: date, files: list[SourceFile], readings: DayReadings, rows: int, outliers: int) -> DayLoad:
    sums = readings.files[["readings_total", "readings_missing", "readings_duplicate"]].sum()
    return DayLoad(
        day=day,
        files=len(files),
        rows=rows,
        readings_total=int(sums["readings_total"]),
        readings_missing=int(sums["readings_missing"]),
        readings_duplicate=int(sums["readings_duplicate"]),
        outliers=outliers,
        quarantined_files=int((readings.files["status"] == "quarantined").sum()),
    )


def append_new_files(conn: psycopg.Connection, bronze_root: Path, day: date) -> DayLoad | None:
    """Load only the day's files not loaded yet, when they extend its end; None when a rebuild is needed."""
    if not silver_tables.day_exists(conn, day):
        return None
    new = bronze_files.loadable(conn, day, new_only=True)
    if not new:
        return DayLoad(day, 0, 0, 0, 0, 0, 0, 0)
    new_times = bronze_files.doc_times(conn, [f.file_id for f in new])
    first_new = min(ts for ts, _flag in new_times.values())
    newest = silver_tables.newest_file_reading(conn, day)
    if newest is None or first_new <= newest or any(flag for _ts, flag in new_times.values()):
        return None
    tail, context = first_new - TAIL, first_new - TAIL - CONTEXT
    files = bronze_files.loadable(conn, day, since=context)
    times = bronze_files.doc_times(conn, [f.file_id for f in files])
    if any(flag for _ts, flag in times.values()):
        return None
    zones, previous = (
        reference_tables.building_zones(conn),
        silver_tables.last_counter_readings(conn, context),
    )
    readings = _transform((files, str(bronze_root), zones, previous))
    replaced = [f for f in files if times[f.file_id][0] >= tail]
    by_id = {f.file_id: f for f in replaced}
    marks = readings.files[readings.files["file_id"].isin(by_id)]
    watermark = marks.assign(
        path=[by_id[i].bronze_path for i in marks["file_id"]],
        checksum=[by_id[i].checksum for i in marks["file_id"]],
        partition_day=day,
    )
    errors = readings.errors[readings.errors["source_file_id"].isin(by_id)].assign(partition_day=day)
    events = readings.events[readings.events["ts"] >= tail]
    replace_tail(
        conn, day, tail, events, watermark, errors, readings.attributes.assign(partition_day=day), list(by_id)
    )
    kept = DayReadings(events=events, files=marks, errors=errors, attributes=readings.attributes)
    return _summary(day, new, kept, len(events), int(events["is_outlier"].sum()))
