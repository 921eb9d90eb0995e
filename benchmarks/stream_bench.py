"""Benchmark of the streaming consumer against two baselines measured in the same run, on the same
broker, database and messages:

  * bare: a stock paho-mqtt subscriber at QoS 1 that stores nothing (the transport's own ceiling);
  * reference: the usual design, a stock paho subscriber inserting batches of 50 rows with executemany;
  * consumer: `StreamConsumer` (buffered reads, COPY batches, acknowledgements once durable).

Each drains the same backlog: its persistent session is registered, the messages are published while
it is away (the broker queues them), then it connects and takes them all. The backlog measures the
subscriber, not the publisher. Zero loss is checked against the readings the stream holds.
A soak run follows: `domotic stream` as its own process for `--soak-minutes` at a steady rate, its
memory sampled every 10 s, every reading checked at the end.

Usage: python benchmarks/stream_bench.py [--messages 100000] [--soak-minutes 10] [--soak-rate 2000]
Targets: consumer >= 70 % of bare, >= 10x reference, zero loss, memory flat over the soak.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
from psycopg.conninfo import make_conninfo

from domotic_assets.contracts.mqtt_message import SUBSCRIPTIONS, read_message
from domotic_assets.contracts.sensor_file import QuarantineError
from domotic_assets.contracts.timestamps import local_day
from domotic_assets.settings import PLATFORM_TIMEZONE
from domotic_assets.stream.broker import EmbeddedBroker
from domotic_assets.stream.consumer import StreamConsumer, StreamOptions
from domotic_assets.stream.mqtt_client import MqttEndpoint, connect_properties
from domotic_assets.warehouse.embedded import EmbeddedPostgres
from domotic_assets.warehouse.schema import ensure_schema
from domotic_assets.warehouse.silver_tables import ensure_day_partition
from domotic_assets_tests.stream_helpers import (
    BackgroundPublisher,
    expected_readings,
    simulated_stream,
    stored_readings,
)

REFERENCE_BATCH = 50


def stock_client(client_id: str) -> mqtt.Client:
    return mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)


def register(endpoint: MqttEndpoint, client_id: str) -> None:
    """Create the persistent session and its subscriptions, then leave: the broker queues for it."""
    client, done = stock_client(client_id), threading.Event()
    client.on_connect = lambda c, u, f, rc, p: c.subscribe([(t, 1) for t in SUBSCRIPTIONS])
    client.on_subscribe = lambda *args: done.set()
    client.connect(endpoint.host, endpoint.port, clean_start=False, properties=connect_properties(3600))
    client.loop_start()
    assert done.wait(30), "subscription not confirmed"
    client.disconnect()
    client.loop_stop()


def drain(
    client: mqtt.Client, endpoint: MqttEndpoint, finished: threading.Event, timeout: float = 900
) -> float:
    began = time.perf_counter()
    client.connect(endpoint.host, endpoint.port, clean_start=False, properties=connect_properties(3600))
    client.loop_start()
    assert finished.wait(timeout), "the backlog was not drained"
    seconds = time.perf_counter() - began
    client.disconnect()
    client.loop_stop()
    return seconds


def bare(endpoint: MqttEndpoint, messages: int) -> float:
    client, finished, count = stock_client("bench-bare"), threading.Event(), [0]

    def on_message(c, u, message):
        count[0] += 1
        if count[0] >= messages:
            finished.set()

    client.on_message = on_message
    return drain(client, endpoint, finished)


def reference(endpoint: MqttEndpoint, dsn: str, messages: int) -> float:
    """The usual loop: decode each message, insert 50 rows at a time with executemany, commit."""
    conn = psycopg.connect(dsn)
    client, finished, count, rows = stock_client("bench-reference"), threading.Event(), [0], []
    insert = """INSERT INTO silver.household_telemetry (household, measure, ts, value, unit, is_outlier,
                    ts_flag, received_at)
                VALUES (%s, %s, %s, %s, %s, false, %s, now()) ON CONFLICT DO NOTHING"""

    def flush():
        with conn.cursor() as cur:
            cur.executemany(insert, rows)
        conn.commit()
        rows.clear()

    def on_message(c, u, message):
        try:
            for r in read_message(message.topic, message.payload, "Europe/Zurich").readings:
                rows.append((r.source, r.measure, r.ts, r.value, r.unit, r.ts_flag))
        except QuarantineError:
            pass
        if len(rows) >= REFERENCE_BATCH:
            flush()
        count[0] += 1
        if count[0] >= messages:
            flush()
            finished.set()

    client.on_message = on_message
    try:
        return drain(client, endpoint, finished)
    finally:
        conn.close()


def consumer(endpoint: MqttEndpoint, dsn: str, messages: int, buffer: Path) -> float:
    stream = StreamConsumer(
        endpoint, dsn, buffer, StreamOptions(client_id="bench-consumer"), report=lambda f: None
    )
    began = time.perf_counter()
    stream.start()
    assert stream.wait_until_durable(messages, timeout=900), "the backlog was not drained"
    seconds = time.perf_counter() - began
    stream.stop()
    return seconds


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def soak(url: str, dsn: str, home: Path, minutes: float, rate: float) -> dict:
    """`domotic stream` for `minutes` at `rate` messages a second: its memory, and every reading checked."""
    stream = simulated_stream(int(minutes * 60 * rate), step_seconds=1, households=50)
    env = {**os.environ, "DOMOTIC_HOME": str(home), "DOMOTIC_PG_DSN": dsn, "DOMOTIC_MQTT_URL": url}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "domotic_assets.cli",
            "stream",
            "--client-id",
            "bench-soak",
            "--health-seconds",
            "30",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(5)  # connected and subscribed
    meters = BackgroundPublisher(url, stream, rate=rate, client_id="bench-soak-meters")
    samples, began = [], time.monotonic()
    while meters.running:
        samples.append((time.monotonic() - began, rss_mib(process.pid)))
        time.sleep(10)
    meters.join(timeout=60)
    expected = expected_readings(stream)
    deadline = time.monotonic() + 300
    while len(stored_readings(dsn)) < len(expected) and time.monotonic() < deadline:
        time.sleep(1)
    stored = stored_readings(dsn)
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(60)
    by_minute = [
        max(m for t, m in samples if int(t // 60) == minute)
        for minute in sorted({int(t // 60) for t, _ in samples})
    ]
    return {
        "messages": len(stream),
        "seconds": time.monotonic() - began,
        "rss_by_minute": by_minute,
        "lost": len(expected - set(stored)),
        "doubled": sum(1 for v in stored.values() if v > 1),
        "unexpected": len(set(stored) - expected),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--soak-minutes", type=float, default=10)
    parser.add_argument("--soak-rate", type=float, default=2000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="domotic-stream-bench-"))
    broker, postgres = EmbeddedBroker(work / "broker"), EmbeddedPostgres(work / "pg")
    url, _ = broker.ensure_running()
    server_dsn, _ = postgres.ensure_running()
    endpoint = MqttEndpoint.from_url(url)
    try:
        dsns = {}
        with psycopg.connect(server_dsn, autocommit=True) as conn:
            for name in ("bench_reference", "bench_consumer", "bench_soak"):
                conn.execute(f"CREATE DATABASE {name}")
                dsns[name] = make_conninfo(server_dsn, dbname=name)
        for dsn in dsns.values():
            ensure_schema(dsn)
        stream = simulated_stream(args.messages)
        expected = expected_readings(stream)
        with psycopg.connect(dsns["bench_reference"], autocommit=True) as conn:  # the reference only inserts
            for day in {local_day(ts, PLATFORM_TIMEZONE) for _, _, ts, _ in expected}:
                ensure_day_partition(conn, "household_telemetry", day)
        for client_id in ("bench-bare", "bench-reference", "bench-consumer"):
            register(endpoint, client_id)
        published = BackgroundPublisher(url, stream, rate=None, client_id="bench-meters")
        published.join(timeout=1800)
        print(
            f"backlog: {len(stream):,} messages ({len(expected):,} readings, duplicates and malformed "
            f"included), published in {published.summary.seconds:.1f} s, queued for each subscriber"
        )

        bare_s = bare(endpoint, len(stream))
        reference_s = reference(endpoint, dsns["bench_reference"], len(stream))
        consumer_s = consumer(endpoint, dsns["bench_consumer"], len(stream), work / "buffer")
        ref_rows, stored = (
            len(stored_readings(dsns["bench_reference"])),
            stored_readings(dsns["bench_consumer"]),
        )
        lost, extra = len(expected - set(stored)), len(set(stored) - expected)
        n = len(stream)
        print(f"{'bare paho subscriber (stores nothing)':<44} {bare_s:8.2f} s  {n / bare_s:>9,.0f} msg/s")
        print(
            f"{'reference: executemany, batches of 50':<44} {reference_s:8.2f} s  {n / reference_s:>9,.0f} "
            f"msg/s   rows {ref_rows:,}"
        )
        print(
            f"{'domotic stream consumer (COPY, durable acks)':<44} {consumer_s:8.2f} s  "
            f"{n / consumer_s:>9,.0f} msg/s   rows {len(stored):,}, lost {lost}, unexpected {extra}"
        )
        print(
            f"consumer / bare: {bare_s / consumer_s:.0%} (target >= 70 %); consumer / reference: "
            f"{reference_s / consumer_s:.1f}x (target >= 10x); zero loss: "
            f"{'yes' if lost == extra == 0 else 'NO'}"
        )

        if args.soak_minutes > 0:
            result = soak(url, dsns["bench_soak"], work / "soak", args.soak_minutes, args.soak_rate)
            rss = result["rss_by_minute"]
            half = rss[len(rss) // 2 :]
            print(
                f"soak: {result['messages']:,} messages in {result['seconds']:.0f} s (target rate "
                f"{args.soak_rate:,.0f} msg/s); lost {result['lost']}, doubled {result['doubled']}, "
                f"unexpected {result['unexpected']}"
            )
            print(
                "consumer memory by minute (MiB): "
                + " ".join(f"{m:.0f}" for m in rss)
                + f"; second half {min(half):.0f}-{max(half):.0f} ({max(half) / min(half) - 1:+.1%})"
            )
        print(
            json.dumps(
                {
                    "messages": n,
                    "bare_msg_s": round(n / bare_s),
                    "reference_msg_s": round(n / reference_s),
                    "consumer_msg_s": round(n / consumer_s),
                }
            )
        )
    finally:
        broker.stop()
        postgres.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
