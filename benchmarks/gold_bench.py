"""Benchmark of Silver -> Gold (dbt) at reference scale (2 apartments, 70 days, ~12 M Silver rows).

Needs the warehouse that `silver_bench.py --keep DIR` leaves in DIR. Prints, in one run: the
whole Gold built from scratch (`dbt build --full-refresh`: every model and test), rows per fact,
one live day rebuilt incrementally (what each live run does), and the physical reference measured
on the same server: a plain copy of all Silver rows into a new table (`CREATE TABLE AS SELECT`).
Usage: python benchmarks/gold_bench.py --silver DIR
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date
from pathlib import Path

import psycopg

from domotic_assets.defs.dbt_project import run_dbt
from domotic_assets.warehouse.embedded import EmbeddedPostgres
from domotic_assets.warehouse.schema import ensure_schema

FACTS = (
    "fact_energy_minute",
    "fact_environment_minute",
    "fact_presence_minute",
    "fact_device_health_day",
    "fact_weather_day",
)


def dbt(dsn: str, target: Path, *args: str) -> float:
    began = time.perf_counter()
    done = run_dbt(*args, dsn=dsn, target_path=target)
    if done.returncode:
        raise SystemExit(done.stdout[-4000:])
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--silver", type=Path, required=True, help="the folder silver_bench.py --keep left")
    args = parser.parse_args()
    server = EmbeddedPostgres(args.silver / "pg")
    dsn, _ = server.ensure_running()
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            silver_rows, first, last = conn.execute(
                "SELECT count(*), min(ts AT TIME ZONE 'Europe/Zurich')::date, max(ts AT TIME ZONE "
                "'Europe/Zurich')::date FROM silver.sensor_events"
            ).fetchone()
            conn.execute("DROP SCHEMA IF EXISTS gold CASCADE")
            ensure_schema(dsn)  # the Gold tables Python writes (anomalies, schedules), which dbt reads
            target = args.silver / "dbt-target"
            whole_s = dbt(dsn, target, "build", "--full-refresh")
            rows = {t: conn.execute(f"SELECT count(*) FROM gold.{t}").fetchone()[0] for t in FACTS}
            print(
                f"Silver -> Gold, {(last - first).days + 1} days, {silver_rows:,} Silver rows: "
                f"{whole_s:.1f} s for every model and test ({silver_rows / whole_s:,.0f} Silver rows/s)",
                flush=True,
            )
            print("  " + ", ".join(f"{t} {n:,}" for t, n in rows.items()), flush=True)
            day = last.isoformat() if isinstance(last, date) else str(last)
            live_s = dbt(
                dsn,
                target,
                "build",
                "--select",
                "tag:daily",
                "--vars",
                json.dumps({"first_day": day, "last_day": day}),
            )
            print(f"one day incrementally (facts, aggregates and their tests): {live_s:.1f} s", flush=True)
            began = time.perf_counter()
            conn.execute(
                "CREATE UNLOGGED TABLE silver.gold_bench_reference AS SELECT * FROM silver.sensor_events"
            )
            raw_s = time.perf_counter() - began
            conn.execute("DROP TABLE silver.gold_bench_reference")
            print(
                f"physical reference, all Silver rows copied by the server: {raw_s:.1f} s; "
                f"Gold from scratch takes {whole_s / raw_s:.1f}x that",
                flush=True,
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
