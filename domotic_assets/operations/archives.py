"""Archiving old days out of the hot layers, and restoring them (`domotic archive`, `domotic restore`).

- **Bronze**: each apartment-day folder older than its retention becomes one `tar` compressed with zstd
  (`archive/bronze/<apartment>/YYYY/MM/DD.tar.zst`, pyarrow's zstd stream; `tar --zstd -xf` reads it),
  its files under their Bronze paths and a `MANIFEST.sha256` of each file's sha256. The archive is read
  back and every file compared before the raw files are deleted.
- **Silver** (each day partition of `sensor_events` and `household_telemetry`) and **Gold** (each day of
  the minute facts): Parquet with statistics (`archive/<layer>/<table>/YYYY/MM/DD.parquet`). The file is
  read back, loaded into a temporary copy of the table and digested the way the warehouse digests the
  day; only an equal digest lets the day be dropped (a Silver partition detached and dropped, a Gold day
  deleted), in one transaction that checks again that the day did not change meanwhile.

The connection is in autocommit; each step that must be atomic is one transaction. Every archive is
written beside its name and renamed when complete, and recorded in `meta.archives`
before its source is dropped: a killed run leaves at most an unverified file (rewritten next time) or a
verified archive whose source is still there (dropped next time). Nothing is dropped unverified.

`restore` puts days back: Bronze files byte-identical at their paths, Silver and Gold rows identical
(their digest compared with the archive's). Gold can also be rebuilt from the restored Silver (`domotic
run --select gold`), and equals what was archived.

`verify` is the nightly check: every archive present with its size, and its sha256 read back at least
every `READ_BACK_DAYS` (pidb parameter `archive_read_back_days`).
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq

from domotic_assets.operations.backups import sha256_of
from domotic_assets.operations.retention import Cutoffs
from domotic_assets.warehouse import archive_tables
from domotic_assets.warehouse.table_digests import TableDigest

MANIFEST = "MANIFEST.sha256"
READ_BACK_DAYS = 30
"""An archive's sha256 is read back at least this often (days): each night reads about 1/30 of them."""


class ArchiveError(RuntimeError):
    """An archive that does not verify, or a day that cannot be restored; the message says which."""


@dataclass
class ArchiveReport:
    """What one run archived and dropped, per layer, and what it left for the next run (and why)."""

    archived: dict[str, int] = field(default_factory=lambda: {"bronze": 0, "silver": 0, "gold": 0})
    dropped: dict[str, int] = field(default_factory=lambda: {"bronze": 0, "silver": 0, "gold": 0})
    left: list[str] = field(default_factory=list)


def _write_partial(path: Path, write: Callable[[Path], None]) -> None:
    """`write` into a file beside `path`, flushed to disk, then renamed onto it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    write(partial)
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    partial.replace(path)


# --- Bronze -----------------------------------------------------------------------------------------


DAY_GLOBS = ("[0-9][0-9][0-9][0-9]/[0-9][0-9]/[0-9][0-9]", "_*/[0-9][0-9][0-9][0-9]/[0-9][0-9]/[0-9][0-9]")
"""An apartment's day folders in Bronze: its copies (`YYYY/MM/DD/HH/`) and its quarantined files
(`_quarantine/YYYY/MM/DD/`)."""


def bronze_days(bronze: Path, cutoffs: Cutoffs) -> list[tuple[str, date]]:
    """(apartment folder, day) of every Bronze day older than its apartment's cutoff."""
    found = set()
    for apartment in sorted(p for p in bronze.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for pattern in DAY_GLOBS:
            for day_dir in apartment.glob(pattern):
                year, month, day = (int(part) for part in day_dir.parts[-3:])
                when = date(year, month, day)
                if when < cutoffs.bronze_for(apartment.name):
                    found.add((apartment.name, when))
    return sorted(found)


def _day_folders(bronze: Path, apartment: str, day: date) -> list[Path]:
    tail = f"{day:%Y}/{day:%m}/{day:%d}"
    return [p for p in [bronze / apartment / tail, *(bronze / apartment).glob(f"_*/{tail}")] if p.is_dir()]


def _tar_zst(path: Path, files: dict[str, bytes], manifest: bytes) -> None:
    with (
        pa.CompressedOutputStream(str(path), "zstd") as stream,
        tarfile.open(fileobj=stream, mode="w|") as tar,
    ):
        for name, data in [*files.items(), (MANIFEST, manifest)]:
            member = tarfile.TarInfo(name)
            member.size = len(data)
            member.mode = 0o444
            tar.addfile(member, io.BytesIO(data))


def read_bronze_archive(path: Path) -> dict[str, bytes]:
    """Every member of a Bronze archive by name, its manifest included."""
    found = {}
    with (
        pa.CompressedInputStream(str(path), "zstd") as stream,
        tarfile.open(fileobj=stream, mode="r|") as tar,
    ):
        for member in tar:
            handle = tar.extractfile(member)
            if handle is not None:
                found[member.name] = handle.read()
    return found


def _manifest(files: dict[str, bytes]) -> bytes:
    return "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in files.items()).encode()


def archive_bronze_day(
    conn: psycopg.Connection, bronze: Path, archive: Path, apartment: str, day: date
) -> bool:
    """Archive one apartment-day of Bronze and delete its raw files once the archive is verified; False
    when the folder held nothing. A day a killed run archived (or began deleting) is completed: its
    recorded archive is verified, files that arrived since are added to it, and the rest deleted."""
    folders = _day_folders(bronze, apartment, day)
    on_disk = {
        str(p.relative_to(bronze)): p.read_bytes()
        for folder in folders
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
    if not on_disk:
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
        return False
    relative = f"bronze/{apartment}/{day:%Y/%m/%d}.tar.zst"
    target = archive / relative
    kept: dict[str, bytes] = {}
    known = [a for a in archive_tables.archived(conn, "bronze", day, day) if a["relation"] == apartment]
    if known and target.exists() and sha256_of(target) == known[0]["file_sha256"]:
        kept = _members_checked(target, known[0]["digest"])
    clash = [name for name in on_disk if name in kept and kept[name] != on_disk[name]]
    if clash:  # Bronze never rewrites a file: this is not the archive of these files
        raise ArchiveError(f"{target}: {clash[0]} differs from the file archived under that name")
    files = dict(sorted({**kept, **on_disk}.items()))
    if files != kept:
        manifest = _manifest(files)
        _write_partial(target, lambda partial: _tar_zst(partial, files, manifest))
        if _members_checked(target, hashlib.sha256(manifest).hexdigest()) != files:
            raise ArchiveError(f"{target}: the archive does not hold the day's files")
        archive_tables.record(
            conn,
            "bronze",
            apartment,
            day,
            relative,
            len(files),
            hashlib.sha256(manifest).hexdigest(),
            sha256_of(target),
            target.stat().st_size,
        )
    for name in on_disk:
        (bronze / name).unlink()
    for folder in folders:
        shutil.rmtree(folder)
    archive_tables.mark(conn, "bronze", apartment, day, "removed")
    return True


def _members_checked(path: Path, manifest_sha256: str) -> dict[str, bytes]:
    """The archive's files, after checking its manifest is the one recorded and each file matches it."""
    members = read_bronze_archive(path)
    manifest = members.pop(MANIFEST, b"")
    if hashlib.sha256(manifest).hexdigest() != manifest_sha256 or _manifest(members) != manifest:
        raise ArchiveError(f"{path}: its files do not match the manifest recorded")
    return members


# --- Silver and Gold ----------------------------------------------------------------------------------


def archive_table_day(conn: psycopg.Connection, archive: Path, layer: str, relation: str, day: date) -> bool:
    """Archive one day of a Silver partition or a Gold minute fact to Parquet, verify it, and drop the day.
    False when the day changed between its archive and its drop (archived again next run)."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        expected = archive_tables.digest_day(conn, layer, relation, day)
        data = archive_tables.read_day(conn, layer, relation, day)
    relative = f"{layer}/{relation.split('.')[1]}/{day:%Y/%m/%d}.parquet"
    target = archive / relative
    _write_partial(
        target, lambda partial: pq.write_table(data, partial, compression="zstd", write_statistics=True)
    )
    _verify_parquet(conn, target, relation, expected)
    with conn.transaction():
        archive_tables.record(
            conn,
            layer,
            relation,
            day,
            relative,
            expected.rows,
            expected.digest,
            sha256_of(target),
            target.stat().st_size,
        )
    return archive_tables.drop_day(conn, layer, relation, day, expected)


def _verify_parquet(conn: psycopg.Connection, path: Path, relation: str, expected: TableDigest) -> None:
    with conn.transaction():
        found = archive_tables.digest_of_rows(conn, relation, pq.read_table(path))
    if found != expected:
        raise ArchiveError(f"{path}: {found.rows} rows read back, digest {found.digest}; expected {expected}")


def archive(conn: psycopg.Connection, bronze: Path, archive_root: Path, cutoffs: Cutoffs) -> ArchiveReport:
    """Archive every day older than its cutoff, layer by layer (Bronze first: the oldest raw files)."""
    report = ArchiveReport()
    if bronze.is_dir():
        for apartment, day in bronze_days(bronze, cutoffs):
            if archive_bronze_day(conn, bronze, archive_root, apartment, day):
                report.archived["bronze"] += 1
                report.dropped["bronze"] += 1
    for layer, tables, days_of in (
        ("silver", archive_tables.SILVER_DAY_TABLES, archive_tables.silver_days),
        ("gold", archive_tables.GOLD_MINUTE_FACTS, archive_tables.gold_days),
    ):
        for table in tables:
            with conn.transaction():
                days = days_of(conn, table, cutoffs.silver)
            for day in days:
                relation = f"{layer}.{table}"
                report.archived[layer] += 1
                if archive_table_day(conn, archive_root, layer, relation, day):
                    report.dropped[layer] += 1
                else:
                    report.left.append(f"{relation} {day}: changed while archived, archived again next run")
    return report


# --- Restore --------------------------------------------------------------------------------------------


def restore(
    conn: psycopg.Connection, bronze: Path, archive_root: Path, first: date, last: date
) -> dict[str, int]:
    """Put the archived days in [first, last] back: Bronze files byte-identical where they were, Silver
    partitions and Gold days row-identical (checked against the archive's digest). Days already back are
    left as they are. Returns the days restored per layer."""
    with conn.transaction():
        entries = [a for a in archive_tables.archived(conn, None, first, last) if a["removed_at"] is not None]
    restored = {"bronze": 0, "silver": 0, "gold": 0}
    for entry in entries:
        path = archive_root / entry["path"]
        if sha256_of(path) != entry["file_sha256"]:
            raise ArchiveError(f"{path} is not the archive recorded (its sha256 differs)")
        if entry["layer"] == "bronze":
            members = _members_checked(path, entry["digest"])
            for name, data in members.items():
                target = bronze / name
                target.parent.mkdir(parents=True, exist_ok=True)
                _write_partial(target, lambda partial, data=data: partial.write_bytes(data))
            archive_tables.mark(conn, "bronze", entry["relation"], entry["day"], "restored")
        else:
            expected = TableDigest(entry["rows"], entry["digest"])
            archive_tables.put_back(
                conn, entry["layer"], entry["relation"], entry["day"], pq.read_table(path), expected
            )
        restored[entry["layer"]] += 1
    return restored


@dataclass
class Verification:
    """One night's check of the archives: the problems found, how many archives were present with their
    size, and how many of those had their sha256 read back."""

    problems: list[str]
    present: int
    read_back: int


def verify(conn: psycopg.Connection, archive_root: Path, every_days: float = READ_BACK_DAYS) -> Verification:
    """Every recorded archive checked for its presence and size; its sha256 read back when it was last
    read back `every_days` or more ago (or never), so each night reads about 1/`every_days` of the
    archives and none goes longer unread (a scrub, as storage systems do), instead of every archive ever
    made every night."""
    with conn.transaction():
        entries = archive_tables.archived(conn)
        due_before = conn.execute("SELECT now() - %s * interval '1 day'", (every_days,)).fetchone()[0]
    found = Verification([], 0, 0)
    for entry in entries:
        path = archive_root / entry["path"]
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            found.problems.append(f"{entry['path']}: missing")
            continue
        if entry["file_bytes"] is not None and size != entry["file_bytes"]:
            found.problems.append(f"{entry['path']}: {size} bytes, {entry['file_bytes']} when it was made")
            continue
        found.present += 1
        if entry["verified_at"] is not None and entry["verified_at"] > due_before:
            continue
        found.read_back += 1
        if sha256_of(path) != entry["file_sha256"]:
            found.problems.append(f"{entry['path']}: its sha256 differs from the one recorded")
        else:
            archive_tables.read_back(conn, entry["layer"], entry["relation"], entry["day"], size)
    return found
