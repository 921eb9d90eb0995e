"""Benchmark of the HTTP API as residents meet it: `domotic serve` under load, on the 70-day warehouse and on
its Gold replicated to 100 apartments.

Needs the warehouse that `silver_bench.py --keep DIR` and `gold_bench.py --silver DIR` leave in DIR. The
households' MQTT telemetry for the same days is added first (simulated, written as the stream consumer
writes it, rolled up by dbt), since `/api/latest` shows it.

For each route and scale: p50, p95, p99 and requests per second under 32 connections from Debian's `wrk`
(installed when missing), each request by the owner or the current renter of an apartment taken in turn
with their own token; beside it, the very same SQL run bare through psycopg by 32 connections of the API's
role in the same run (account set, apartment looked up, series read, committed), so the ratio is what the
API itself adds. Then optimize jobs: a 96-slot day of a simulated household posted, and polled until its
result, one after the other.

100 apartments: the 2 apartments' rows copied 49 times under new keys (apartment, sensor, room, device)
into every relation the three routes read: `dim_apartment`, the apartment energy rollups, the households'
telemetry rollup, and of `fact_energy_minute` the main meters' minutes (the plugs' minutes, which no
benchmarked route reads, are not copied). Each copy gets its own owner and renters, with the grants of
the originals. Copies are removed at the start of every run.

Usage: python benchmarks/api_bench.py --silver DIR [--seconds 10] [--connections 32]
Targets: p95 under 50 ms for each route; the API's p95 at most 2x the bare query's; p95 at 100 apartments
within 1.5x of 2 apartments; an optimize job answered within 2 s at p95.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
from psycopg.conninfo import make_conninfo

from domotic_assets.contracts.mqtt_message import RawMessage
from domotic_assets.defs.dbt_project import run_dbt
from domotic_assets.serving.grain import grain_for
from domotic_assets.settings import PLATFORM_TIMEZONE
from domotic_assets.simulator.scenarios import simulated_scenario
from domotic_assets.simulator.telemetry import simulated_households, telemetry_messages
from domotic_assets.system_packages import apt_install
from domotic_assets.transform.telemetry import decode_batch
from domotic_assets.warehouse import access_tables, api_queries
from domotic_assets.warehouse.embedded import EmbeddedPostgres
from domotic_assets.warehouse.schema import ensure_schema
from domotic_assets.warehouse.telemetry_tables import TelemetryWriter

COPY_KEY = 1000
"""A copy's keys are the original's plus k x COPY_KEY (k = 1 .. 49); originals are below it."""
COPIED = {
    "dim_apartment": "TRUE",
    "agg_energy_apartment_15min": "TRUE",
    "agg_energy_apartment_hour": "TRUE",
    "agg_energy_apartment_day": "TRUE",
    "agg_household_telemetry_15min": "TRUE",
    "fact_energy_minute": "is_main_meter",
}
"""The Gold relations the benchmarked routes read, and which of their rows are copied."""
SHIFTED = ("apartment_key", "sensor_key", "room_key", "device_key")
COPY_LOGIN = "#copy"
ADMIN = "bench-admin"
TARGETS = {"p95_ms": 50.0, "overhead": 2.0, "flat": 1.5, "job_p95_s": 2.0}


@dataclass(frozen=True)
class Reader:
    """An account reading one apartment, with its token."""

    login: str
    code: str
    token: str


@dataclass(frozen=True)
class Route:
    name: str
    path: str
    """Under `{code}`; the query string follows the range."""
    first: datetime | None = None
    last: datetime | None = None

    def url(self, code: str) -> str:
        if self.first is None or self.last is None:
            return self.path.format(code=code)
        query = {"apartment": code, "from": self.first.isoformat(), "to": self.last.isoformat()}
        return f"{self.path}?{urlencode(query)}"


def add_telemetry(dsn: str, target: Path) -> str:
    """The 2 households' telemetry over the warehouse's days, as the stream writes it, and its 15-minute
    rollup; skipped when it is already there."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        if conn.execute("SELECT EXISTS (SELECT 1 FROM silver.household_telemetry)").fetchone()[0]:
            return "telemetry already there"
        first, last = conn.execute(
            "SELECT min(local_day), max(local_day) FROM gold.agg_energy_apartment_day"
        ).fetchone()
        local = ZoneInfo(PLATFORM_TIMEZONE)
        start = datetime.combine(first, datetime.min.time(), local)
        end = datetime.combine(last + timedelta(days=1), datetime.min.time(), local)
        writer, batch, rows = TelemetryWriter(conn), [], 0
        stream = telemetry_messages(simulated_households(2), start, end, 60, faults="none")
        for m in stream:
            batch.append(RawMessage(m.topic, m.payload, int(m.ts.timestamp() * 1e6) + 2_000_000))
            if len(batch) == 100_000:
                rows += writer.write(decode_batch(batch, lambda _: PLATFORM_TIMEZONE)).household_rows
                batch = []
        rows += writer.write(decode_batch(batch, lambda _: PLATFORM_TIMEZONE)).household_rows
    window = json.dumps({"first_day": first.isoformat(), "last_day": last.isoformat()})
    done = run_dbt(
        "run", "--select", "agg_household_telemetry_15min", "--vars", window, dsn=dsn, target_path=target
    )
    if done.returncode:
        raise SystemExit(done.stdout[-4000:])
    return f"telemetry added: {rows:,} readings, {first} .. {last}"


def remove_copies(conn: psycopg.Connection) -> None:
    for table in COPIED:
        conn.execute(f"DELETE FROM gold.{table} WHERE apartment_key >= %s", (COPY_KEY,))
    conn.execute("DELETE FROM meta.access_grants WHERE apartment_key >= %s", (COPY_KEY,))
    conn.execute("DELETE FROM meta.accounts WHERE login LIKE %s", (f"%{COPY_LOGIN}%",))


def copy_apartments(conn: psycopg.Connection, apartments: int) -> None:
    """The original apartments' rows copied until there are `apartments` (see the module's docstring)."""
    originals = conn.execute("SELECT count(*) FROM gold.dim_apartment").fetchone()[0]
    copies = apartments // originals - 1
    for table, which in COPIED.items():
        columns = [
            c
            for (c,) in conn.execute(
                """SELECT column_name FROM information_schema.columns WHERE table_schema = 'gold'
                   AND table_name = %s ORDER BY ordinal_position""",
                (table,),
            )
        ]
        values = [
            f"{c} + k * {COPY_KEY}"
            if c in SHIFTED
            else f"{c} || '-' || k"
            if c == "code"
            else f"(apartment_key + k * {COPY_KEY})::text"
            if c == "household"
            else c
            for c in columns
        ]
        conn.execute(
            f"""INSERT INTO gold.{table} ({", ".join(columns)})
                SELECT {", ".join(values)} FROM gold.{table}, generate_series(1, {copies}) AS k
                WHERE apartment_key < {COPY_KEY} AND {which}"""
        )
        conn.execute(f"ANALYZE gold.{table}")
    conn.execute(
        f"""INSERT INTO meta.accounts (login, kind)
            SELECT DISTINCT login || '{COPY_LOGIN}' || k, 'resident' FROM meta.access_grants,
                   generate_series(1, {copies}) AS k"""
    )
    conn.execute(
        f"""INSERT INTO meta.access_grants
            SELECT login || '{COPY_LOGIN}' || k, apartment_key + k * {COPY_KEY}, scope, day_from, day_to,
                   ts_from, ts_to
            FROM meta.access_grants, generate_series(1, {copies}) AS k WHERE apartment_key < {COPY_KEY}"""
    )


def readers(conn: psycopg.Connection, day: date) -> list[Reader]:
    """The owner and the renter of every apartment on `day`, each with a new token."""
    found = conn.execute(
        """SELECT DISTINCT g.login, a.code FROM meta.access_grants g JOIN gold.dim_apartment a USING
               (apartment_key)
           WHERE g.scope = 'all' AND g.day_from <= %s AND (g.day_to IS NULL OR g.day_to > %s)
           ORDER BY 2, 1""",
        (day, day),
    ).fetchall()
    return [Reader(login, code, access_tables.issue_token(conn, login)) for login, code in found]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(home: Path) -> tuple[subprocess.Popen, str]:
    """`domotic serve` on the warehouse of `home`, answering."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DOMOTIC_PG_DSN"} | {"DOMOTIC_HOME": str(home)}
    domotic = Path(sys.executable).with_name("domotic")
    process = subprocess.Popen([str(domotic), "serve", "--port", str(port)], env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(f"{base}/openapi.json", timeout=1).read()
            return process, base
        except OSError:
            if process.poll() is not None:
                raise SystemExit("domotic serve stopped") from None
            time.sleep(0.1)
    raise SystemExit("domotic serve did not answer within 60 s")


WRK_SCRIPT = """
local requests = {%s}
local i = 0
init = function(args) i = math.random(#requests) end
request = function()
  i = i %% #requests + 1
  return wrk.format("GET", requests[i][1], {["Authorization"] = "Bearer " .. requests[i][2]})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"p50": %%d, "p95": %%d, "p99": %%d, "requests": %%d, "us": %%d, "errors": %%d}\\n',
    latency:percentile(50), latency:percentile(95), latency:percentile(99), summary.requests,
    summary.duration, e.connect + e.read + e.write + e.timeout + e.status))
end
"""


def wrk(base: str, route: Route, who: list[Reader], connections: int, seconds: int) -> dict:
    """p50/p95/p99 (ms) and requests/s of the route under `connections`, requests by `who` in turn."""
    entries = ", ".join(f'{{"{route.url(r.code)}", "{r.token}"}}' for r in who)
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT % entries)
        script.flush()
        out = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", script.name, base],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    found = json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:])
    if found["errors"]:
        raise SystemExit(f"{route.name}: {found['errors']} requests failed or did not answer 200:\n{out}")
    return {
        "p50": found["p50"] / 1000,
        "p95": found["p95"] / 1000,
        "p99": found["p99"] / 1000,
        "rps": found["requests"] / (found["us"] / 1e6),
    }


async def bare_call(conn: psycopg.AsyncConnection, route: Route, reader: Reader) -> None:
    """What the route reads, as the reader, in one transaction."""
    async with conn.transaction():
        await access_tables.sign_in(conn, reader.token)
        flat = await api_queries.apartment(conn, reader.code)
        if route.first is None or route.last is None:
            await api_queries.latest(conn, flat.key)
        else:
            grain = grain_for(route.first, route.last)
            await api_queries.energy(conn, flat.key, route.first, route.last, grain)


def _bare_worker(dsn: str, route: Route, who: list[Reader], connections: int, seconds: int) -> list[float]:
    """Seconds of each call made by `connections` connections during `seconds` (one process)."""

    async def run(n: int) -> list[float]:
        times = []
        async with await psycopg.AsyncConnection.connect(dsn) as conn:
            i, stop = n * 7, time.perf_counter() + seconds
            while (began := time.perf_counter()) < stop:
                await bare_call(conn, route, who[i % len(who)])
                times.append(time.perf_counter() - began)
                i += 1
        return times

    async def everyone() -> list[list[float]]:
        return await asyncio.gather(*(run(n) for n in range(connections)))

    return [t for times in asyncio.run(everyone()) for t in times]


def bare(dsn: str, route: Route, who: list[Reader], connections: int, seconds: int) -> dict:
    """The same figures for the bare SQL: `connections` connections in two processes, as wrk's two threads."""
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
        parts = [pool.submit(_bare_worker, dsn, route, who, connections // 2, seconds) for _ in range(2)]
        times = np.array([t for p in parts for t in p.result()]) * 1000
    p50, p95, p99 = np.percentile(times, [50, 95, 99])
    return {"p50": p50, "p95": p95, "p99": p99, "rps": len(times) / seconds}


def optimize_jobs(base: str, dsn: str, count: int) -> list[float]:
    """Seconds from POST to result of `count` jobs, one after the other, by an admin: 96-slot days of a
    simulated household with a battery, PV and appliances."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        if ADMIN not in {a.login for a in access_tables.accounts(conn)}:
            access_tables.add_admin(conn, ADMIN)
        token = access_tables.issue_token(conn, ADMIN)
    household = next(h for h in simulated_households(6) if h.battery_kwh and h.pv_kwp)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    out = []
    for n in range(count):
        scenario = simulated_scenario(household, date(2023, 6, 1) + timedelta(days=n), 15)
        body = json.dumps({"scenario": scenario}).encode()
        began = time.perf_counter()
        request = urllib.request.Request(f"{base}/api/optimize", body, headers, method="POST")
        job = json.load(urllib.request.urlopen(request))["job"]
        while True:
            answer = json.load(
                urllib.request.urlopen(urllib.request.Request(f"{base}/api/optimize/{job}", headers=headers))
            )
            if answer["status"] in ("done", "failed"):
                break
            time.sleep(0.01)
        if answer["status"] != "done":
            raise SystemExit(f"optimize job failed: {answer}")
        out.append(time.perf_counter() - began)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--silver", type=Path, required=True, help="the folder silver_bench.py --keep left")
    parser.add_argument("--seconds", type=int, default=10, help="load per route and scale")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--apartments", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=30)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        apt_install("wrk")
    home = args.silver.resolve()
    server = EmbeddedPostgres(home / "pg")
    dsn, _ = server.ensure_running()
    try:
        ensure_schema(dsn)
        began = time.perf_counter()
        print(f"{add_telemetry(dsn, home / 'dbt-target')} ({time.perf_counter() - began:.0f} s)", flush=True)
        with psycopg.connect(dsn, autocommit=True) as conn:
            remove_copies(conn)
            access_tables.refresh_grants(conn)
            last = conn.execute("SELECT max(local_day) FROM gold.agg_energy_apartment_day").fetchone()[0]
        serve, base = start_serve(home)
        try:
            results = load(args, dsn, home, base, last)
            jobs = np.array(optimize_jobs(base, dsn, args.jobs))
        finally:
            serve.send_signal(signal.SIGTERM)
            serve.wait(timeout=60)
            with psycopg.connect(dsn, autocommit=True) as conn:
                remove_copies(conn)
    finally:
        server.stop()
    report(results, jobs)


def load(args: argparse.Namespace, dsn: str, home: Path, base: str, last: date) -> dict:
    """Each route under load through the API and bare, at both scales: {(route, apartments): (api, bare)}."""
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), ZoneInfo(PLATFORM_TIMEZONE))
    routes = [
        Route("/api/latest (24 h at 15 min)", "/api/latest/{code}"),
        Route("/api/energy, a month at hour grain", "/api/energy", end - timedelta(days=30), end),
        Route("/api/energy, a year at day grain", "/api/energy", end - timedelta(days=365), end),
    ]
    password = (home / "pg" / "api-password").read_text().strip()  # written by `domotic serve`
    api_dsn = make_conninfo(dsn, user=access_tables.API_ROLE, password=password, passfile="")
    results = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        originals = conn.execute("SELECT count(*) FROM gold.dim_apartment").fetchone()[0]
    for scale in (originals, args.apartments):
        with psycopg.connect(dsn, autocommit=True) as conn:
            if scale > originals:
                began = time.perf_counter()
                copy_apartments(conn, scale)
                print(
                    f"\nGold copied to {scale} apartments in {time.perf_counter() - began:.0f} s", flush=True
                )
            who = readers(conn, last)
        print(
            f"\n{scale} apartments, {len(who)} accounts, {args.connections} connections, "
            f"{args.seconds} s each\n{'route':<38} {'API p50 / p95 / p99 ms':>24} {'req/s':>7}   "
            f"{'bare p50 / p95 / p99 ms':>24} {'req/s':>7}  p95 ratio",
            flush=True,
        )
        for route in routes:
            api = wrk(base, route, who, args.connections, args.seconds)
            raw = bare(api_dsn, route, who, args.connections, args.seconds)
            results[route.name, scale] = api, raw
            print(
                f"{route.name:<38} {api['p50']:6.1f} / {api['p95']:6.1f} / {api['p99']:6.1f} "
                f"{api['rps']:7.0f}   {raw['p50']:6.1f} / {raw['p95']:6.1f} / {raw['p99']:6.1f} "
                f"{raw['rps']:7.0f}  {api['p95'] / raw['p95']:5.2f}x",
                flush=True,
            )
    return results


def report(results: dict, jobs: np.ndarray) -> None:
    j50, j95 = np.percentile(jobs, [50, 95])
    print(f"\noptimize jobs, 96 slots, POST to result, {len(jobs)} in turn: p50 {j50:.2f} s, p95 {j95:.2f} s")
    small, large = sorted({scale for _, scale in results})
    names = sorted({name for name, _ in results})
    checks = [
        *(
            (f"API p95 ms, {name}, {scale} apartments", results[name, scale][0]["p95"], TARGETS["p95_ms"])
            for name, scale in results
        ),
        (
            "worst API / bare p95",
            max(api["p95"] / raw["p95"] for api, raw in results.values()),
            TARGETS["overhead"],
        ),
        (
            f"worst p95 {large} / {small} apartments",
            max(results[name, large][0]["p95"] / results[name, small][0]["p95"] for name in names),
            TARGETS["flat"],
        ),
        ("optimize job p95 s", j95, TARGETS["job_p95_s"]),
    ]
    print("\ntargets:")
    for what, figure, limit in checks:
        print(f"  {what:<64} {figure:8.2f}  target {limit:<5}  {'met' if figure <= limit else 'NOT met'}")


if __name__ == "__main__":
    main()
