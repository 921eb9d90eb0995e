"""Scale: the pipeline as a user runs it, on many apartments beside two, per apartment-day.

For 2 apartments, then `--apartments` (200), over `--days` (2) simulated days: `domotic run --from --to
--select 'not group:ml and not key:household_schedules'` (Bronze, Silver and Gold, on its own state folder
and private warehouse, started and stopped by the command), as a process. Prints each run's wall time,
its time per apartment-day, its peak memory, and the ratio of the two per-apartment-day times (target:
no worse than linear, a ratio of at most 1). Then a sensor tick that finds nothing new, over each landing, and
the API under load on each warehouse: `domotic serve` answering Debian's `wrk` (32 connections), each request
by the owner or the current renter of an apartment taken in turn with their own token, as `api_bench.py`
does; its p95 on 200 apartments beside 2 (target: within 1.5x, and under 50 ms).
Usage: python benchmarks/scale_bench.py [--apartments 200] [--days 2] [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
from api_bench import TARGETS, Route, readers, start_serve, wrk
from measure import timed

from domotic_assets.ingest.landing import LocalFolder
from domotic_assets.ingest.sensor_files import ingest_sensor_files
from domotic_assets.settings import PLATFORM_TIMEZONE
from domotic_assets.simulator.feed import SimulationConfig, simulate
from domotic_assets.system_packages import apt_install
from domotic_assets.warehouse.embedded import EmbeddedPostgres

SELECTION = "not group:ml and not key:household_schedules"


def api_latency(home: Path, dsn: str, first: date, last: date, seconds: int) -> dict[str, dict]:
    """The API's routes under load on the warehouse of `home`: {route: p50/p95/p99 ms and requests/s}."""
    zone = ZoneInfo(PLATFORM_TIMEZONE)
    start = datetime.combine(first, datetime.min.time(), zone)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone)
    routes = [
        Route("/api/latest (24 h at 15 min)", "/api/latest/{code}"),
        Route("/api/energy, the simulated days (minute)", "/api/energy", start, end),
        Route("/api/energy, a month at hour grain", "/api/energy", end - timedelta(days=30), end),
    ]
    with psycopg.connect(dsn, autocommit=True) as conn:
        who = readers(conn, last)
    serve, base = start_serve(home)
    try:
        return {route.name: wrk(base, route, who, 32, seconds) | {"accounts": len(who)} for route in routes}
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)


def run_pipeline(work: Path, apartments: int, days: int, load_seconds: int) -> dict:
    """Simulate, then `domotic run` the days; its wall time, peak memory, the idle tick and the API."""
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
        api = api_latency(home, dsn, feed.start, last, load_seconds)
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
        "api": api,
        "per_apartment_day": seconds / (apartments * days),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--apartments", type=int, default=200)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10, help="load per API route and scale")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        apt_install("wrk")
    work = Path(tempfile.mkdtemp(prefix="domotic-scale-bench-"))
    try:
        small = run_pipeline(work / "small", 2, args.days, args.seconds)
        large = run_pipeline(work / "large", args.apartments, args.days, args.seconds)
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
    print(f"\nthe API under load (`domotic serve`, wrk, 32 connections, {args.seconds} s per route)")
    for name, at_large in large["api"].items():
        at_small = small["api"][name]
        ratio, worst = at_large["p95"] / at_small["p95"], max(at_large["p95"], at_small["p95"])
        print(
            f"  {name:<42} p50/p95/p99 ms {at_small['p50']:5.1f} / {at_small['p95']:5.1f} / "
            f"{at_small['p99']:5.1f} ({at_small['accounts']} accounts, {at_small['rps']:4.0f} req/s)  "
            f"{at_large['p50']:5.1f} / {at_large['p95']:5.1f} / {at_large['p99']:5.1f} "
            f"({at_large['accounts']} accounts, {at_large['rps']:4.0f} req/s)  p95 ratio {ratio:.2f}x "
            f"(target <= {TARGETS['flat']}: {'met' if ratio <= TARGETS['flat'] else 'NOT met'}; "
            f"p95 < {TARGETS['p95_ms']:.0f} ms: {'met' if worst < TARGETS['p95_ms'] else 'NOT met'})"
        )


if __name__ == "__main__":
    main()
