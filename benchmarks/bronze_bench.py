"""Benchmark of the foundation at reference scale (2 apartments, 70 days, ~200,000 files).

Measures, in one run, each figure beside a baseline of raw I/O on the same machine and data:
  1. the simulator vs writing the same number of same-sized files with no generation;
  2. Bronze intake of the whole history vs a plain read-and-copy of every file;
  3. a sensor tick on the full landing (nothing new; then one new minute) vs a bare directory walk.
Usage: python benchmarks/bronze_bench.py [--days 70] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import psycopg
from measure import line, timed

from domotic_assets.ingest.landing import LocalFolder
from domotic_assets.ingest.sensor_files import ingest_sensor_files
from domotic_assets.settings import PLATFORM_TIMEZONE
from domotic_assets.simulator.feed import SimulationConfig, simulate
from domotic_assets.warehouse.embedded import EmbeddedPostgres
from domotic_assets.warehouse.schema import ensure_schema


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=70)
    parser.add_argument(
        "--keep", type=Path, default=None, help="work folder to keep (default: a temporary one)"
    )
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="domotic-bench-"))
    feed = SimulationConfig(out=work / "feed", days=args.days)
    shutil.rmtree(feed.out, ignore_errors=True)

    sim_s, summary = timed(lambda: simulate(feed))
    files = sorted(p for p in feed.share.rglob("*.json"))
    sizes = [p.stat().st_size for p in files[:2000]]
    blob = b"x" * int(sum(sizes) / len(sizes))
    raw_dir = work / "raw"

    def raw_write():
        for i in range(len(files)):
            folder = raw_dir / f"{i // 1440:04d}"
            if i % 1440 == 0:
                folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{i}.json").write_bytes(blob)

    raw_s, _ = timed(raw_write)
    print(f"reference feed: {summary.files:,} files, {summary.readings:,} readings, {args.days} days")
    line("simulate (generate + write)", sim_s, raw_s, summary.files, "files")

    copy_dir = work / "copy"

    def raw_copy():
        for p in files:
            target = copy_dir / p.relative_to(feed.share)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(p.read_bytes())
        os.sync()

    copy_s, _ = timed(raw_copy)
    server = EmbeddedPostgres(work / "pg")
    dsn, _started = server.ensure_running()
    try:
        ensure_schema(dsn)
        days = [feed.start + timedelta(days=i) for i in range(-1, args.days + 4)]
        landing = LocalFolder(feed.share)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("TRUNCATE meta.bronze_sensor_files")
            shutil.rmtree(work / "bronze", ignore_errors=True)
            ingest_s, report = timed(
                lambda: ingest_sensor_files(
                    landing,
                    conn,
                    work / "bronze",
                    lambda a: PLATFORM_TIMEZONE,
                    store_days=days,
                    settle_seconds=0,
                )
            )
            line("Bronze intake, whole history", ingest_s, copy_s, report.stored, "files")
            walk_s, listed = timed(lambda: sum(1 for _ in landing.list(".json")))
            idle_s, _ = timed(
                lambda: ingest_sensor_files(
                    landing, conn, work / "bronze", lambda a: PLATFORM_TIMEZONE, limit=20_000
                )
            )
            line(f"sensor tick, {listed:,} known files", idle_s, walk_s, listed, "files listed")
            minute = feed.share / "jimmy" / "bench_new_minute.json"
            minute.write_bytes(files[0].read_bytes())
            os.utime(minute, (time.time() - 60, time.time() - 60))
            tick_s, new = timed(
                lambda: ingest_sensor_files(
                    landing, conn, work / "bronze", lambda a: PLATFORM_TIMEZONE, limit=20_000
                )
            )
            line("sensor tick, one new file", tick_s, walk_s, listed, "files listed")
    finally:
        server.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {peak:,.0f} MiB")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
