"""The streaming consumer against a real Mosquitto and a real PostgreSQL: every message stored exactly
once whatever the messages (malformed, duplicated, late) and through a broker restart. Outages of the
database and of the consumer itself: test_stream_outages.py."""

import shutil
import time

import orjson
import psycopg

from domotic_assets.simulator.telemetry import MALFORMED
from domotic_assets.stream.consumer import StreamConsumer, StreamOptions
from domotic_assets.stream.mqtt_client import MqttEndpoint
from domotic_assets.stream.publisher import Publisher
from domotic_assets_tests.stream_helpers import (
    BackgroundPublisher,
    assert_exactly_once,
    broker_url,
    expected_readings,
    quarantine_reasons,
    simulated_stream,
    stored_readings,
    wait_for_readings,
)


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
        MqttEndpoint.from_url(broker_url(broker)),
        warehouse_dsn,
        tmp_path / "buffer",
        StreamOptions(client_id="faults", batch_size=500),
    ).start()
    try:
        assert consumer.subscribed.wait(30)
        publisher = Publisher(MqttEndpoint.from_url(broker_url(broker)), "faulty-meters")
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


def test_the_consumer_reconnects_and_resubscribes_by_itself_when_the_broker_restarts(
    broker, warehouse_dsn, tmp_path
):
    endpoint = MqttEndpoint.from_url(broker_url(broker))
    consumer = StreamConsumer(
        endpoint, warehouse_dsn, tmp_path / "buffer", StreamOptions(client_id="restarts")
    ).start()
    try:
        assert consumer.subscribed.wait(30)
        first, second = simulated_stream(6000)[:3000], simulated_stream(6000)[3000:]
        meters = BackgroundPublisher(broker_url(broker), first, rate=300)
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
        BackgroundPublisher(broker_url(broker), second, rate=1000, client_id="meters-after").join(timeout=120)
        stored = wait_for_readings(warehouse_dsn, expected_readings(first + second), 60)
        assert_exactly_once(stored, expected_readings(first + second))
    finally:
        consumer.stop()
