"""Sensor files from the landing share into Bronze, tracked in `meta.bronze_sensor_files`.

A file is *registered* once it is complete (its size and modification time did not change
between two looks, or it has not been touched for `settle_seconds`): its bytes are read, hashed
and dated by the timestamp inside the document (an unreadable one by its arrival time, with a
quarantine reason). It is *stored* when copied into `bronze/<apartment>/YYYY/MM/DD/HH/` of its
local time. The sensor only registers (cheap, bounded per tick) to learn which day partitions
changed; the Bronze asset registers and stores the files of its days.

An unreadable file is stored as soon as it is registered, by whoever registers it (the sensor, or a
run of any day range), into `bronze/<apartment>/_quarantine/` of its arrival day: its bytes are safe
even if the gateway cleans its share before a run of that day comes.
"""

from __future__ import annotations

import gc
import multiprocessing
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from multiprocessing.util import Finalize
from pathlib import Path
from typing import NamedTuple

import psycopg

from domotic_assets.contracts.sensor_file import QuarantineError, read_sensor_file
from domotic_assets.contracts.timestamps import zone
from domotic_assets.ingest.bronze_store import flush_to_disk, sha256, store_immutable, sweep_incoming
from domotic_assets.ingest.landing import Landing, LandingEntry
from domotic_assets.settings import PLATFORM_TIMEZONE
from domotic_assets.warehouse import bronze_files

CHUNK = 5_000
PARALLEL_FROM = 2 * CHUNK
"""New files from which a run reads, judges and copies them in worker processes (fewer: in this one)."""


@dataclass
class IngestReport:
    registered: int = 0
    stored: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)
    days: dict[date, int] = field(default_factory=dict)
    """Day partition -> number of newly registered files."""
    waiting: dict[str, list[int]] = field(default_factory=dict)
    """Files seen incomplete or changing: relpath -> [size, mtime_ns] of this look."""
    backlog: int = 0
    """Complete new files left for a later pass by the `limit`."""
    vanished: int = 0


def _bronze_relpath(entry: LandingEntry, local: datetime, quarantined: bool) -> str:
    if quarantined:
        return f"{entry.apartment}/_quarantine/{local:%Y/%m/%d}/{entry.name}"
    return f"{entry.apartment}/{local:%Y/%m/%d/%H}/{entry.name}"


def _examine(
    entry: LandingEntry, data: bytes, tz_of: Callable[[str], str]
) -> tuple[bronze_files.FileRow, date, str]:
    """Date and judge one complete file: its tracking row (unstored), day, and Bronze path."""
    platform = zone(PLATFORM_TIMEZONE)
    try:
        doc = read_sensor_file(data, entry.apartment, tz_of(entry.apartment))
        local = doc.ts.astimezone(platform)
        reason = detail = None
        doc_ts, flag = doc.ts, doc.ts_flag
    except QuarantineError as problem:
        local = datetime.fromtimestamp(entry.mtime_ns / 1e9, tz=UTC).astimezone(platform)
        reason, detail, doc_ts, flag = problem.reason, problem.detail, None, None
    row = bronze_files.FileRow(
        entry.apartment,
        entry.relpath,
        entry.size,
        entry.mtime_ns,
        sha256(data),
        local.date(),
        doc_ts,
        flag,
        reason,
        detail,
    )
    return row, local.date(), _bronze_relpath(entry, local, reason is not None)


def ingest_sensor_files(
    landing: Landing,
    conn: psycopg.Connection,
    bronze_root: Path,
    tz_of: Callable[[str], str],
    *,
    store_days: Iterable[date] = (),
    previous_look: dict[str, list[int]] | None = None,
    settle_seconds: float = 30.0,
    limit: int | None = None,
    now: float | None = None,
    workers: int = 1,
    reopen: Callable[[], Landing] | None = None,
) -> IngestReport:
    """Register the new complete files of the landing; store those (and any registered earlier)
    whose day is in `store_days`. Commits per chunk, so an interrupted pass keeps its progress.

    With `workers` > 1 and `reopen` (how a worker process opens the landing for itself: its own SMB or
    sFTP session), PARALLEL_FROM new files or more are read, judged and copied by that many processes."""
    report = IngestReport()
    sweep_incoming(bronze_root)
    store_days = set(store_days)
    previous_look = previous_look or {}
    now_ns = int((now if now is not None else time.time()) * 1e9)
    known = bronze_files.known_files(conn)
    complete: list[LandingEntry] = []
    for entry in landing.list(".json"):
        if "/" not in entry.relpath or (entry.relpath, entry.size, entry.mtime_ns) in known:
            continue
        unchanged = previous_look.get(entry.relpath) == [entry.size, entry.mtime_ns]
        if unchanged or now_ns - entry.mtime_ns > settle_seconds * 1e9:
            complete.append(entry)
        else:
            report.waiting[entry.relpath] = [entry.size, entry.mtime_ns]
    complete.sort(key=lambda e: e.mtime_ns)
    if limit is not None and len(complete) > limit:
        report.backlog = len(complete) - limit
        complete = complete[:limit]
    for outcomes in _taken_in_chunks(landing, complete, tz_of, bronze_root, store_days, workers, reopen):
        rows = []
        for entry, row, day, size_read in outcomes:
            if row is None:
                if size_read is None:
                    report.vanished += 1
                else:  # still being written after all
                    report.waiting[entry.relpath] = [size_read, entry.mtime_ns]
                continue
            rows.append(row)
            report.registered += 1
            report.days[day] = report.days.get(day, 0) + 1
            if row.bronze_path is not None:
                report.stored += 1
            if reason := row.quarantine_reason:
                report.quarantined[reason] = report.quarantined.get(reason, 0) + 1
        if report.stored:
            flush_to_disk()
        with conn.transaction():
            bronze_files.register(conn, rows)
    if store_days:
        _store_registered(landing, conn, bronze_root, sorted(store_days), report)
    return report


class _Outcome(NamedTuple):
    entry: LandingEntry
    row: bronze_files.FileRow | None
    """None: the file vanished, or is still being written (`size_read` differs from the listing)."""
    day: date | None = None
    size_read: int | None = None


def _take(
    landing: Landing,
    entries: list[LandingEntry],
    tz_of: Callable[[str], str],
    bronze_root: Path,
    store_days: set[date],
) -> list[_Outcome]:
    """Read and judge each complete file; copy it into Bronze when its day is stored now or it is
    unreadable."""
    outcomes: list[_Outcome] = []
    for entry in entries:
        try:
            data = landing.read(entry.relpath)
        except FileNotFoundError:
            outcomes.append(_Outcome(entry, None))
            continue
        if len(data) != entry.size:
            outcomes.append(_Outcome(entry, None, size_read=len(data)))
            continue
        row, day, relpath = _examine(entry, data, tz_of)
        if day in store_days or row.quarantine_reason is not None:
            row = row._replace(
                bronze_path=store_immutable(bronze_root, relpath, data), stored_at=datetime.now(UTC)
            )
        outcomes.append(_Outcome(entry, row, day))
    return outcomes


def _taken_in_chunks(
    landing: Landing,
    complete: list[LandingEntry],
    tz_of: Callable[[str], str],
    bronze_root: Path,
    store_days: set[date],
    workers: int,
    reopen: Callable[[], Landing] | None,
) -> Iterator[list[_Outcome]]:
    """The outcomes of `complete`, CHUNK files at a time, in order. In worker processes, each chunk is
    shared out by Bronze name, so the versions of one name are copied in arrival order by one worker, and a
    chunk starts only when the one before is copied; it is judged while the caller registers the one
    before."""
    chunks = [complete[start : start + CHUNK] for start in range(0, len(complete), CHUNK)]
    if workers < 2 or reopen is None or len(complete) < PARALLEL_FROM:
        for chunk in chunks:
            yield _take(landing, chunk, tz_of, bronze_root, store_days)
        return
    # fork: the workers inherit `reopen` and `tz_of` (closures need not be picklable)
    context = multiprocessing.get_context("fork")
    setup = (reopen, tz_of, bronze_root, store_days)
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=setup) as pool:

        def submit(chunk: list[LandingEntry]) -> list:
            shares: list[list[LandingEntry]] = [[] for _ in range(workers)]
            for entry in chunk:
                shares[hash((entry.apartment, entry.name)) % workers].append(entry)
            return [pool.submit(_take_in_worker, share) for share in shares if share]

        pending = submit(chunks[0])
        for following in [*chunks[1:], None]:
            outcomes = [outcome for future in pending for outcome in future.result()]
            pending = submit(following) if following else []
            yield outcomes


_worker_setup: tuple | None = None


def _start_worker(reopen: Callable[[], Landing], tz_of, bronze_root: Path, store_days: set[date]) -> None:
    global _worker_setup
    gc.freeze()  # the heap inherited from the run is never collected: no pass walks it, no page is copied
    landing = reopen()
    Finalize(landing, landing.close, exitpriority=10)
    _worker_setup = (landing, tz_of, bronze_root, store_days)


def _take_in_worker(entries: list[LandingEntry]) -> list[_Outcome]:
    assert _worker_setup is not None
    landing, tz_of, bronze_root, store_days = _worker_setup
    return _take(landing, entries, tz_of, bronze_root, store_days)


def _store_registered(
    landing: Landing, conn: psycopg.Connection, bronze_root: Path, days: list[date], report: IngestReport
) -> None:
    """Copy files registered earlier (by the sensor, or by a run that was killed) for these days."""
    pending = bronze_files.not_yet_stored(conn, days)
    platform = zone(PLATFORM_TIMEZONE)
    for start in range(0, len(pending), CHUNK):
        updates = []
        for file_id, source, size, mtime_ns, checksum, doc_ts, reason in pending[start : start + CHUNK]:
            entry = LandingEntry(source, size, mtime_ns)
            try:
                data = landing.read(source)
            except FileNotFoundError:
                data = None
            if data is None or sha256(data) != checksum:
                # Gone, or rewritten since it was registered: those bytes exist nowhere any more.
                # New content under the name is registered as a new version by its new size/mtime.
                updates.append((file_id, "", "vanished_before_copy"))
                report.vanished += 1
                continue
            instant = doc_ts or datetime.fromtimestamp(mtime_ns / 1e9, tz=UTC)
            relpath = _bronze_relpath(entry, instant.astimezone(platform), reason is not None)
            updates.append((file_id, store_immutable(bronze_root, relpath, data), None))
            report.stored += 1
        flush_to_disk()
        bronze_files.record_stored(conn, updates)
