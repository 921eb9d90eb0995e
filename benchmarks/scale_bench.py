"""Scale: the pipeline as a user runs it, on many apartments beside two, per apartment-day.

For 2 apartments, then `--apartments` (200), over `--days` (2) simulated days: `domotic run --from --to
--select 'not group:ml and not key:household_schedules'` (Bronze, Silver and Gold, on its own state folder
and private warehouse, started and stopped by the command), as a process. Prints each run's wall time,
its time per apartment-day, its peak memory, and the ratio of the two per-apartment-day times (target:
no worse than linear, a ratio of at most 1). Then a sensor tick that finds nothing new, over each landing.
Usage: python benchmarks/scale_bench.py [--apartments 200] [--days 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import psycopg
from measure import timed

from domotic_assets.ingest.landing import LocalFolder
from domotic_assets.ingest.sensor_files import ingest_sensor_files
from domotic_assets.settings import PLATFORM_TIMEZONE
from domotic_assets.simulator.feed import SimulationConfig, simulate
from domotic_assets.warehouse.embedded import EmbeddedPostgres

SELECTION = "not group:ml and not key:household_schedules"


def run_pipeline(work: Path, apartments: int, days: int) -> dict:
    """Simulate, then `domotic run` the days; its wall time, peak memory and the idle tick."""
    codes = ("jimmy", "jeremie") if apartments == 2 else tuple(f"apt{i:03d}" for i in range(apartments))
    feed = SimulationConfig(out=work / "feed", apartments=codes, days=days)
    began = time.perf_counter()
    simulate(feed)
    files = sum(1 for _ in feed.share.rglob("*.json"))
    print(
        f"{apartments} apartments: {files:,} files simulated in {time.perf_counter() - began:.0f} s",
        flush=True,
    )
    home = work / "home"
    env = {
        **os.environ,
        "DOMOTIC_HOME": str(home),
        "DOMOTIC_LANDING": str(feed.share),
        "DOMOTIC_WEATHER": str(feed.meteo),
        "DOMOTIC_PIDB_URL": feed.pidb,
    }
    env.pop("DOMOTIC_PG_DSN", None)
    last = feed.start + timedelta(days=days - 1)
    command = [
        sys.executable,
        "-m",
        "domotic_assets.cli",
        "run",
        "--from",
        str(feed.start),
        "--to",
        str(last),
        "--select",
        SELECTION,
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    seconds, done = timed(lambda: subprocess.run(command, env=env, capture_output=True, text=True))
    if done.returncode not in (0, 3):
        raise SystemExit(f"domotic run failed:\n{done.stderr[-3000:]}")
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    server = EmbeddedPostgres(home / "pg")
    dsn, _ = server.ensure_running()
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            days_list = [feed.start + timedelta(days=i) for i in range(days)]
            tick, _ = timed(
                lambda: ingest_sensor_files(
                    LocalFolder(feed.share),
                    conn,
                    home / "bronze",
                    lambda a: PLATFORM_TIMEZONE,
                    store_days=days_list,
                    limit=20_000,
                )
            )
            rows = conn.execute("SELECT count(*) FROM silver.sensor_events").fetchone()[0]
            gold = conn.execute("SELECT count(*) FROM gold.fact_energy_minute").fetchone()[0]
    finally:
        server.stop()
    return {
        "apartments": apartments,
        "files": files,
        "seconds": seconds,
        "peak_mib": peak,
        "tick": tick,
        "rows": rows,
        "gold_rows": gold,
        "per_apartment_day": seconds / (apartments * days),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--apartments", type=int, default=200)
    parser.add_argument("--days", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="domotic-scale-bench-"))
    try:
        small = run_pipeline(work / "small", 2, args.days)
        large = run_pipeline(work / "large", args.apartments, args.days)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nBronze, Silver and Gold over {args.days} days (`domotic run`, a process, private warehouse)")
    for r in (small, large):
        print(
            f"  {r['apartments']:>4} apartments: {r['seconds']:7.1f} s, {r['per_apartment_day']:6.2f} s per "
            f"apartment-day, {r['files']:,} files, {r['rows']:,} Silver rows, {r['gold_rows']:,} Gold energy "
            f"minutes, peak {r['peak_mib']:,.0f} MiB"
        )
    ratio = large["per_apartment_day"] / small["per_apartment_day"]
    verdict = "met" if ratio <= 1 else "NOT met"
    print(f"  per apartment-day, {args.apartments} against 2: ratio {ratio:.2f}x (target <= 1: {verdict})")
    print(
        f"sensor tick, nothing new: {small['tick']:.2f} s over {small['files']:,} files (2 apartments), "
        f"{large['tick']:.2f} s over {large['files']:,} files ({args.apartments}); "
        f"ratio {large['tick'] / small['tick']:.1f}x for {large['files'] / small['files']:.0f}x the files"
    )


if __name__ == "__main__":
    main()
