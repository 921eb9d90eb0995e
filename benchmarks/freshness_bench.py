"""Freshness benchmark: live mode end to end, as in production.

`domotic simulate --live` writes one file per apartment and minute into a landing folder (real time,
each file written in two steps), while `dagster-daemon` runs the platform's sensor and launches its
runs (Bronze -> Silver -> the day's Gold) exactly as it does for a building. The benchmark polls the
warehouse once a second and reports, per file, the latency from its arrival (its modification time)
to its minute in silver.sensor_events and in gold.fact_energy_minute: p50 and p95, against the
target (p95 under 45 s to Gold) and against a baseline measured in the same run (the day's Gold
rebuilt by dbt directly, without Dagster: the work that no scheduling can avoid).
Usage: python benchmarks/freshness_bench.py [--minutes 15]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import numpy as np
import psycopg

from domotic_assets.contracts.sensor_file import QuarantineError, read_sensor_file
from domotic_assets.contracts.timestamps import zone
from domotic_assets.defs.dbt_project import run_dbt
from domotic_assets.defs.selections import PIPELINE
from domotic_assets.settings import PLATFORM_TIMEZONE, Settings
from domotic_assets.warehouse.embedded import EmbeddedPostgres

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TARGET_P95_GOLD_S = 45.0


def percentile(values: list[float], share: float) -> float:
    return float(np.percentile(values, 100 * share)) if values else float("nan")


def newest_minutes(conn) -> tuple[dict, dict]:
    """Per apartment: the newest minute in Silver, and in Gold's energy fact (last hours only)."""
    since = datetime.now(UTC) - timedelta(hours=3)
    silver = dict(
        conn.execute(
            "SELECT apartment, max(ts) FROM silver.sensor_events WHERE ts >= %s GROUP BY 1", (since,)
        ).fetchall()
    )
    gold = (
        dict(
            conn.execute(
                """SELECT a.code, max(f.ts) FROM gold.fact_energy_minute f JOIN gold.dim_apartment a
                       USING (apartment_key)
                                WHERE f.ts >= %s GROUP BY 1""",
                (since,),
            ).fetchall()
        )
        if conn.execute("SELECT to_regclass('gold.fact_energy_minute') IS NOT NULL").fetchone()[0]
        else {}
    )
    return silver, gold


def reference_data(env: dict) -> None:
    """pidb -> Silver dims -> Gold dims once, before the live runs (the UI's 'materialize' of them)."""
    os.environ.update(env)
    from domotic_assets.definitions import defs
    from domotic_assets.defs.run_range import materialize_range

    graph = defs.resolve_asset_graph()
    keys = {k for k in PIPELINE.resolve(graph) if graph.get(k).partitions_def is None}
    today = datetime.now(zone(PLATFORM_TIMEZONE)).date()
    with (
        dg.DagsterInstance.get() as instance,
        open(os.devnull, "w") as quiet,
        contextlib.redirect_stdout(quiet),
    ):
        outcome = materialize_range(defs, keys, today, today, instance, echo=lambda _line: None)
    if not outcome.success:
        raise SystemExit(f"reference data failed: {outcome.failures}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument(
        "--drain", type=float, default=150.0, help="seconds to wait for the last files after the feed stops"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="domotic-freshness-"))
    feed_dir, home = work / "feed", work / "home"
    server = EmbeddedPostgres(work / "pg")
    dsn, _ = server.ensure_running()
    env = {
        **os.environ,
        "DOMOTIC_HOME": str(home),
        "DOMOTIC_LANDING": str(feed_dir / "share"),
        "DOMOTIC_WEATHER": str(feed_dir / "meteo2"),
        "DOMOTIC_PIDB_URL": f"sqlite:///{feed_dir / 'pidb.sqlite'}",
        "DOMOTIC_PG_DSN": dsn,
        "DAGSTER_HOME": str(home / "dagster"),
    }
    from domotic_assets.cli import prepare_dagster_home

    prepare_dagster_home(Settings.from_env(env))
    simulator = subprocess.Popen(
        [BIN / "domotic", "simulate", "--out", str(feed_dir), "--live", "--days", "0", "--faults", "none"],
        env=env,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    daemon = None
    try:
        while not (feed_dir / "pidb.sqlite").exists():
            time.sleep(0.2)
        time.sleep(1)
        reference_data(env)
        log = open(work / "daemon.log", "w")  # noqa: SIM115 - the daemon writes to it until it is stopped
        daemon = subprocess.Popen(
            [BIN / "dagster-daemon", "run", "-w", str(REPO / "workspace.yaml")],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        print(
            f"live for {args.minutes:g} min: simulator, dagster-daemon (file sensor every 5 s), state in "
            f"{work}",
            flush=True,
        )
        files: dict[Path, dict] = {}
        feed_stops = time.time() + args.minutes * 60
        deadline = feed_stops + args.drain
        with psycopg.connect(dsn, autocommit=True) as conn:
            while time.time() < deadline:
                if simulator.poll() is None and time.time() >= feed_stops:
                    os.killpg(simulator.pid, signal.SIGTERM)
                    simulator.wait()
                for path in (feed_dir / "share").rglob("*.json"):
                    if path not in files:
                        try:
                            doc = read_sensor_file(
                                path.read_bytes(),
                                path.relative_to(feed_dir / "share").parts[0],
                                PLATFORM_TIMEZONE,
                            )
                        except QuarantineError:  # still being written
                            continue
                        files[path] = {
                            "arrival": path.stat().st_mtime,
                            "apartment": doc.apartment,
                            "ts": doc.ts,
                        }
                silver, gold = newest_minutes(conn)
                now = time.time()
                for info in files.values():
                    for layer, newest in (("silver", silver), ("gold", gold)):
                        if (
                            layer not in info
                            and newest.get(info["apartment"])
                            and newest[info["apartment"]] >= info["ts"]
                        ):
                            info[layer] = now - info["arrival"]
                if simulator.poll() is not None and files and all("gold" in f for f in files.values()):
                    break
                time.sleep(1)
        with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
            runs = instance.get_run_records()
            live = [r for r in runs if r.dagster_run.tags.get("dagster/sensor_name") == "sensor_files_sensor"]
            durations = [r.end_time - r.start_time for r in live if r.start_time and r.end_time]
            failed = [
                failed_steps(instance, r.dagster_run.run_id)
                for r in runs
                if r.dagster_run.status == dg.DagsterRunStatus.FAILURE
            ]
            carried = {len(r.dagster_run.asset_selection or ()) for r in live}
            others = sorted(
                {
                    r.dagster_run.job_name
                    if not r.dagster_run.job_name.startswith("__")
                    else r.dagster_run.tags.get("dagster/sensor_name")
                    or r.dagster_run.tags.get("dagster/schedule_name", "?")
                    for r in runs
                    if r not in live
                }
            )
        print(
            f"live runs carried {sorted(carried)} asset(s) each; other runs in the same time: "
            f"{others or 'none'}"
        )
        baseline = dbt_day_seconds(dsn)
    finally:
        for process in (simulator, daemon):
            if process and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=60)
        server.stop()
    report(files, durations, failed, baseline)


def failed_steps(instance: dg.DagsterInstance, run_id: str) -> str:
    """A failed run, as its id and the steps that failed."""
    failures = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records
    steps = ", ".join(sorted({r.event_log_entry.step_key or "?" for r in failures}))
    return f"{run_id[:8]}: {steps or 'no step failed'}"


def dbt_day_seconds(dsn: str) -> float:
    """Baseline: today's Gold facts and aggregates rebuilt by dbt directly (no sensor, no run launch)."""
    today = datetime.now(zone(PLATFORM_TIMEZONE)).date()
    window = json.dumps({"first_day": today.isoformat(), "last_day": today.isoformat()})
    began = time.perf_counter()
    done = run_dbt("build", "--select", "tag:daily", "--vars", window, dsn=dsn)
    if done.returncode:
        raise SystemExit(done.stdout[-4000:])
    return time.perf_counter() - began


def report(files: dict, durations: list[float], failed: list[str], baseline: float) -> None:
    silver = [f["silver"] for f in files.values() if "silver" in f]
    gold = [f["gold"] for f in files.values() if "gold" in f]
    missing = len(files) - len(gold)
    print(
        f"files: {len(files)}; reached Silver: {len(silver)}, Gold: {len(gold)}; never reached Gold: "
        f"{missing}"
    )
    print(
        f"live runs: {len(durations)} finished ({len(failed)} runs failed in all), run duration mean "
        f"{statistics.mean(durations or [0]):.1f} s, max {max(durations or [0]):.1f} s"
    )
    for run in failed:
        print(f"  failed run {run}")
    met = percentile(gold, 0.95) < TARGET_P95_GOLD_S and not missing and not failed
    print(f"latency to Silver: p50 {percentile(silver, 0.5):.1f} s, p95 {percentile(silver, 0.95):.1f} s")
    print(
        f"latency to Gold:   p50 {percentile(gold, 0.5):.1f} s, p95 {percentile(gold, 0.95):.1f} s (target "
        f"p95 < {TARGET_P95_GOLD_S:.0f} s, every file in Gold, no run failed: {'met' if met else 'NOT met'})"
    )
    print(
        f"baseline, the day's Gold by dbt directly: {baseline:.1f} s; Gold p95 / baseline = "
        f"{percentile(gold, 0.95) / baseline:.1f}"
    )


if __name__ == "__main__":
    main()
