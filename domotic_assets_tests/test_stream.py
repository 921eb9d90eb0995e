"""The streaming consumer against a real Mosquitto and a real PostgreSQL: every message stored exactly
once through a database outage, SIGKILLs, broker restarts, and malformed, duplicated and late messages."""

import shutil
import time

import orjson
import psycopg
import pytest

from domotic_assets.simulator.telemetry import MALFORMED
from domotic_assets.stream.consumer import StreamConsumer, StreamOptions
from domotic_assets.stream.mqtt_client import MqttEndpoint
from domotic_assets.stream.publisher import Publisher
from domotic_assets.warehouse.embedded import EmbeddedPostgres
from domotic_assets_tests.servers.mosquitto import MosquittoServer
from domotic_assets_tests.stream_helpers import (
    BackgroundPublisher,
    StreamProcess,
    expected_readings,
    quarantine_reasons,
    simulated_stream,
    stored_readings,
    wait_for_readings,
)


@pytest.fixture
def broker(tmp_path):
    """A private broker of the test's own (persistence on, the platform's queue limits)."""
    server = MosquittoServer(tmp_path / "broker").start()
    yield server
    server.stop()


@pytest.fixture
def own_postgres(tmp_path):
    """A PostgreSQL server this test may stop and start."""
    server = EmbeddedPostgres(tmp_path / "pg")
    dsn, _ = server.ensure_running()
    yield server, dsn
    server.stop()


def url(server: MosquittoServer) -> str:
    return f"mqtt://127.0.0.1:{server.port}"


def assert_exactly_once(stored, expected) -> None:
    missing, extra = expected - set(stored), set(stored) - expected
    assert not missing, f"{len(missing)} readings lost, e.g. {sorted(missing)[:3]}"
    assert not extra, f"{len(extra)} readings that were never sent, e.g. {sorted(extra)[:3]}"
    assert set(stored.values()) == {1}


def test_duplicates_late_and_malformed_messages_leave_each_reading_once_and_each_bad_message_in_quarantine(
    broker, warehouse_dsn, tmp_path
):
    stream = simulated_stream(3000, faults="heavy")
    sensor_messages = [
        ("domotic/jimmy/plugs/P-JIM-01", {"ts": "2025-09-12T10:15:00+02:00", "power": 41.5, "total": 12.25}),
        ("domotic/jimmy/plugs/P-JIM-01", {"ts": "2025-09-12T10:15:00+02:00", "power": 41.5, "total": 12.25}),
        ("domotic/jimmy/plugs/P-JIM-01", {"ts": "2025-09-12T10:14:00+02:00", "power": 40.0, "total": 12.24}),
        ("domotic/jimmy/fridges/F-1", {"ts": "2025-09-12T10:15:00+02:00", "power": 1.0}),
        (
            "domotic/jimmy/plugs/P-JIM-02",
            {"ts": "2025-09-12T10:15:00+02:00", "power": 5.0, "room": "nul\u0000room"},
        ),
    ]
    consumer = StreamConsumer(
        MqttEndpoint.from_url(url(broker)),
        warehouse_dsn,
        tmp_path / "buffer",
        StreamOptions(client_id="faults", batch_size=500),
    ).start()
    try:
        assert consumer.subscribed.wait(30)
        publisher = Publisher(MqttEndpoint.from_url(url(broker)), "faulty-meters")
        for message in stream:
            publisher.publish(message.topic, message.payload)
        for topic, body in sensor_messages:
            publisher.publish(topic, orjson.dumps(body))
        publisher.close()
        assert consumer.wait_until_durable(len(stream) + len(sensor_messages), timeout=120)
    finally:
        consumer.stop()

    assert_exactly_once(stored_readings(warehouse_dsn), expected_readings(stream))
    kinds = {m.kind for m in stream}
    assert {"duplicate", "late", *MALFORMED} <= kinds, "the heavy stream holds every kind of fault"
    malformed = {(m.topic, m.payload) for m in stream if m.kind in MALFORMED}
    reasons = quarantine_reasons(warehouse_dsn)
    assert (
        sum(reasons.values()) == len(malformed) + 2
    )  # + the unknown category and the NUL the warehouse refused
    assert {
        "malformed_json",
        "no_readable_value",
        "missing_timestamp",
        "household_mismatch",
        "unknown_category",
        "rejected_by_warehouse",
    } <= set(reasons)
    with psycopg.connect(warehouse_dsn) as conn:
        sensors = conn.execute("""SELECT sensor, measure, ts, value, source_file_id FROM silver.sensor_events
                                  ORDER BY ts, measure""").fetchall()
        stored_payloads = {
            (t, bytes(p)) for t, p in conn.execute("SELECT topic, payload FROM meta.stream_quarantine")
        }
    assert [(s, m, v, f) for s, m, _t, v, f in sensors] == [
        ("P-JIM-01", "power", 40.0, None),
        ("P-JIM-01", "total", 12.24, None),
        ("P-JIM-01", "power", 41.5, None),
        ("P-JIM-01", "total", 12.25, None),
    ]
    assert malformed <= stored_payloads, "each quarantined message keeps its topic and payload"
    duplicated = sum(len(m.keys) for m in stream if m.kind == "duplicate") + 2
    assert consumer.health.totals["duplicate_readings"] == duplicated


def test_the_database_down_for_60_seconds_during_a_steady_stream_loses_and_doubles_nothing(
    broker, own_postgres, tmp_path
):
    server, dsn = own_postgres
    consumer = StreamProcess(tmp_path / "home", dsn, url(broker), tmp_path / "stream.log")
    consumer.wait_subscribed()
    stream = simulated_stream(20_000)
    meters = BackgroundPublisher(url(broker), stream, rate=250)
    time.sleep(10)
    server.stop()
    outage_began = meters.published
    time.sleep(60)
    buffered = consumer.wait_for(
        lambda e: e.get("event") == "stream_health" and e["buffer_messages"] > 0, timeout=5
    )
    assert buffered["warehouse"] == "down"
    server.ensure_running()
    meters.join(timeout=120)
    stored = wait_for_readings(dsn, expected_readings(stream), timeout=120)
    assert_exactly_once(stored, expected_readings(stream))
    assert meters.published - outage_began > 10_000, "the outage covered a large part of the stream"
    replayed = consumer.wait_for(
        lambda e: e.get("event") == "stream_health" and e["replayed"] > 0 and e["buffer_messages"] == 0
    )
    assert replayed["replayed"] >= buffered["buffer_messages"]
    assert not list((tmp_path / "home" / "stream-buffer").glob("*.seg")), "the buffer is empty once replayed"
    assert consumer.terminate() == 0


def test_a_consumer_killed_with_sigkill_mid_stream_and_restarted_loses_and_doubles_nothing(
    broker, own_postgres, tmp_path
):
    server, dsn = own_postgres
    home, log = tmp_path / "home", tmp_path / "stream.log"
    stream = simulated_stream(12_000)
    consumer = StreamProcess(home, dsn, url(broker), log)
    consumer.wait_subscribed()
    meters = BackgroundPublisher(url(broker), stream, rate=250)
    time.sleep(8)
    consumer.kill()  # mid-batch: what it had not acknowledged comes again
    time.sleep(3)
    consumer = StreamProcess(home, dsn, url(broker), log)
    time.sleep(8)
    server.stop()  # now the consumer buffers to disk ...
    time.sleep(6)
    segments = list((home / "stream-buffer").glob("*.seg"))
    assert segments, "with the warehouse down, acknowledged batches wait in the disk buffer"
    consumer.kill()  # ... and dies with a full buffer
    consumer = StreamProcess(home, dsn, url(broker), log)
    time.sleep(5)
    server.ensure_running()
    meters.join(timeout=120)
    stored = wait_for_readings(dsn, expected_readings(stream), timeout=120)
    assert_exactly_once(stored, expected_readings(stream))
    assert not list((home / "stream-buffer").glob("*.seg"))
    assert consumer.terminate() == 0, "SIGTERM: a clean stop"


def test_the_consumer_reconnects_and_resubscribes_by_itself_when_the_broker_restarts(
    broker, warehouse_dsn, tmp_path
):
    endpoint = MqttEndpoint.from_url(url(broker))
    consumer = StreamConsumer(
        endpoint, warehouse_dsn, tmp_path / "buffer", StreamOptions(client_id="restarts")
    ).start()
    try:
        assert consumer.subscribed.wait(30)
        first, second = simulated_stream(6000)[:3000], simulated_stream(6000)[3000:]
        meters = BackgroundPublisher(url(broker), first, rate=300)
        time.sleep(4)
        broker.stop()  # a clean restart: the broker keeps its sessions and queued messages on disk
        time.sleep(3)
        broker.start()
        meters.join(timeout=120)
        assert_exactly_once(
            wait_for_readings(warehouse_dsn, expected_readings(first), 60), expected_readings(first)
        )

        connections = consumer.connections
        broker.stop()  # a broker that lost its store: the consumer's session and subscriptions are gone
        shutil.rmtree(broker.folder / "data")
        broker.start()
        deadline = time.monotonic() + 60
        while consumer.connections == connections or not consumer.subscribed.is_set():
            assert time.monotonic() < deadline, "the consumer did not reconnect and subscribe again"
            time.sleep(0.1)
        BackgroundPublisher(url(broker), second, rate=1000, client_id="meters-after").join(timeout=120)
        stored = wait_for_readings(warehouse_dsn, expected_readings(first + second), 60)
        assert_exactly_once(stored, expected_readings(first + second))
    finally:
        consumer.stop()
