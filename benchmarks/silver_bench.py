"""Benchmark of Bronze -> Silver at reference scale (2 apartments, 70 days, ~200,000 files).

Prints, in one run: Bronze->Silver wall time, files/s, rows/s and peak memory; the physical
reference (a raw binary COPY of the very same rows into the same server, from a dump of them)
and the ratio of the two row rates; and the work of a one-minute live tick for 2 apartments.
Usage: python benchmarks/silver_bench.py [--days 70] [--keep DIR]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import psycopg
from measure import raw_copy_seconds

from domotic_assets.ingest.landing import LocalFolder
from domotic_assets.ingest.pidb_import import import_reference_tables
from domotic_assets.ingest.sensor_events_load import append_new_files, load_days
from domotic_assets.ingest.sensor_files import ingest_sensor_files
from domotic_assets.settings import PLATFORM_TIMEZONE
from domotic_assets.simulator.feed import SimulationConfig, simulate
from domotic_assets.warehouse.embedded import EmbeddedPostgres
from domotic_assets.warehouse.schema import ensure_schema
from domotic_assets.warehouse.silver_tables import partition_name


def peak_mib() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=70)
    parser.add_argument("--keep", type=Path, default=None)
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="domotic-silver-bench-"))
    feed = SimulationConfig(out=work / "feed", days=args.days)
    if not (feed.out / "manifest").exists():
        shutil.rmtree(feed.out, ignore_errors=True)
        print(f"simulating {args.days} days ...", flush=True)
        simulate(feed)
    server = EmbeddedPostgres(work / "pg")
    dsn, _ = server.ensure_running()
    try:
        ensure_schema(dsn)
        days = [feed.start + timedelta(days=i) for i in range(args.days)]
        bronze = work / "bronze"
        with psycopg.connect(dsn, autocommit=True) as conn:
            import_reference_tables(f"sqlite:///{feed.out / 'pidb.sqlite'}", conn)
            if not conn.execute("SELECT count(*) FROM meta.bronze_sensor_files").fetchone()[0]:
                print("copying the feed into Bronze ...", flush=True)
                ingest_sensor_files(
                    LocalFolder(feed.share),
                    conn,
                    bronze,
                    lambda a: PLATFORM_TIMEZONE,
                    store_days=[
                        days[0] - timedelta(days=1),
                        *days,
                        *(days[-1] + timedelta(days=i) for i in range(1, 4)),
                    ],
                    settle_seconds=0,
                )

            began = time.perf_counter()
            loads = load_days(conn, bronze, days, connect=lambda: psycopg.connect(dsn, autocommit=True))
            silver_s = time.perf_counter() - began
            rows, files = sum(d.rows for d in loads), sum(d.files for d in loads)
            print(
                f"Bronze -> Silver, {args.days} days: {silver_s:.1f} s, {files:,} files "
                f"({files / silver_s:,.0f}/s), {rows:,} rows ({rows / silver_s:,.0f}/s), peak memory "
                f"{peak_mib():,.0f} MiB",
                flush=True,
            )

            raw_s = raw_copy_seconds(conn, work)
            print(
                f"raw binary COPY of the same rows: {raw_s:.1f} s ({rows / raw_s:,.0f} rows/s); "
                f"Silver load reaches {100 * raw_s / silver_s:.1f} % of the raw row rate",
                flush=True,
            )

            last = days[-1]
            began = time.perf_counter()
            load_days(conn, bronze, [last], workers=1)
            rebuild_s = time.perf_counter() - began
            # the live case: the day's last minute arrives (one file per apartment) and is appended
            ids, first = conn.execute(
                """SELECT array_agg(id), min(doc_ts) FROM meta.bronze_sensor_files
                                         WHERE partition_day = %s AND quarantine_reason IS NULL
                                             AND bronze_path <> ''
                                           AND doc_ts >= (SELECT max(doc_ts) - interval '30 seconds'
                                               FROM meta.bronze_sensor_files
                                                          WHERE partition_day = %s
                                                              AND quarantine_reason IS NULL)""",
                (last, last),
            ).fetchone()
            conn.execute("DELETE FROM silver.etl_watermark WHERE file_id = ANY(%s)", (ids,))
            conn.execute(f"DELETE FROM silver.{partition_name(last)} WHERE ts >= %s", (first,))
            began = time.perf_counter()
            appended = append_new_files(conn, bronze, last)
            tick_s = time.perf_counter() - began
            assert appended is not None and appended.files == len(ids)
            print(
                f"live tick, {len(ids)} new files appended: {tick_s:.2f} s of work "
                f"(rebuilding the whole day instead: {rebuild_s:.2f} s)",
                flush=True,
            )
    finally:
        server.stop()
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
