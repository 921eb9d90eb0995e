"""The history load as a user runs it: `domotic run --select bronze`, then `--select silver`, over the 70-day
reference history (2 apartments, about 200,000 files, 12 M readings), each a process of its own as from a
terminal: Dagster's start-up, the dimension import, the checks and weather included.

Prints each command's wall time and the peak memory of its largest process (VmHWM of every process of the
command, sampled), their sum against the target (70 s), and the baseline measured in the same run: a raw
binary COPY of the very same Silver rows into the same server, with the ratio of the row rates (target: at
least 20 %). Usage: python benchmarks/user_path_bench.py [--days 70] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import psycopg
from measure import raw_copy_seconds

from domotic_assets.simulator.feed import SimulationConfig, simulate
from domotic_assets.warehouse.embedded import EmbeddedPostgres

TARGET_SECONDS, TARGET_RATIO, TARGET_MIB = 70.0, 0.20, 600


def _group_peak_mib(group: int) -> float:
    """The largest peak resident memory (VmHWM) among the live processes of a process group."""
    peak = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[2]) != group:
                continue
            for line in (stat.parent / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except (OSError, IndexError, ValueError):
            continue
    return peak / 1024


def run_measured(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(seconds, peak MiB of its largest process, output) of a command run to its end."""
    began = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, _group_peak_mib(process.pid))
        time.sleep(0.2)
    seconds = time.perf_counter() - began
    output = process.stdout.read() if process.stdout else ""
    if process.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{output[-4000:]}")
    return seconds, peak, output


def _met(condition: bool) -> str:
    return "met" if condition else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=70)
    parser.add_argument("--keep", type=Path, default=None, help="Keep the feed here (reused when present).")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="domotic-user-path-"))
    feed = SimulationConfig(out=work / "feed", days=args.days)
    if not (feed.out / "manifest").exists():
        shutil.rmtree(feed.out, ignore_errors=True)
        print(f"simulating {args.days} days ...", flush=True)
        simulate(feed)
    home = work / "home"
    shutil.rmtree(home, ignore_errors=True)
    server = EmbeddedPostgres(work / "pg")
    shutil.rmtree(server.folder, ignore_errors=True)
    dsn, _ = server.ensure_running()
    try:
        env = {
            **os.environ,
            "DOMOTIC_HOME": str(home),
            "DOMOTIC_LANDING": str(feed.share),
            "DOMOTIC_WEATHER": str(feed.meteo),
            "DOMOTIC_PIDB_URL": f"sqlite:///{feed.out / 'pidb.sqlite'}",
            "DOMOTIC_PG_DSN": dsn,
        }
        env.pop("DOMOTIC_GROUND_TRUTH", None)
        last = feed.start + timedelta(days=args.days - 1)
        total, peaks = 0.0, []
        for layer in ("bronze", "silver"):
            command = [sys.executable, "-m", "domotic_assets.cli", "run", "--from", str(feed.start)]
            seconds, peak, _ = run_measured([*command, "--to", str(last), "--select", layer], env)
            total += seconds
            peaks.append(peak)
            print(
                f"domotic run --select {layer:<6} {seconds:7.1f} s   largest process {peak:6.0f} MiB",
                flush=True,
            )
        with psycopg.connect(dsn, autocommit=True) as conn:
            rows = conn.execute("SELECT count(*) FROM silver.sensor_events").fetchone()[0]
            raw_s = raw_copy_seconds(conn, work)
        ratio, largest = raw_s / total, max(peaks)
        print(
            f"Bronze + Silver as a user runs them, {args.days} days: {total:.1f} s for {rows:,} rows "
            f"({rows / total:,.0f} rows/s; target {TARGET_SECONDS:.0f} s: {_met(total < TARGET_SECONDS)})"
        )
        print(
            f"baseline, a raw binary COPY of the same rows: {raw_s:.1f} s ({rows / raw_s:,.0f} rows/s); "
            f"the user path reaches {100 * ratio:.1f} % of it (ratio {ratio:.2f}; target "
            f"{100 * TARGET_RATIO:.0f} %: {_met(ratio >= TARGET_RATIO)})"
        )
        print(f"largest process: {largest:.0f} MiB (target {TARGET_MIB} MiB: {_met(largest <= TARGET_MIB)})")
    finally:
        server.stop()
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
