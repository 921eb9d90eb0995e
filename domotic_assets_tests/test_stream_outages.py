"""The streaming consumer through outages, against a real Mosquitto and a PostgreSQL server of the test's own:
the database down for a minute under a steady stream, and the consumer killed with SIGKILL and restarted,
lose and double nothing."""

import time

from domotic_assets_tests.stream_helpers import (
    BackgroundPublisher,
    StreamProcess,
    assert_exactly_once,
    broker_url,
    expected_readings,
    simulated_stream,
    wait_for_readings,
)


def test_the_database_down_for_60_seconds_during_a_steady_stream_loses_and_doubles_nothing(
    broker, own_postgres, tmp_path
):
    server, dsn = own_postgres
    consumer = StreamProcess(tmp_path / "home", dsn, broker_url(broker), tmp_path / "stream.log")
    consumer.wait_subscribed()
    stream = simulated_stream(20_000)
    meters = BackgroundPublisher(broker_url(broker), stream, rate=250)
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
    consumer = StreamProcess(home, dsn, broker_url(broker), log)
    consumer.wait_subscribed()
    meters = BackgroundPublisher(broker_url(broker), stream, rate=250)
    time.sleep(8)
    consumer.kill()  # mid-batch: what it had not acknowledged comes again
    time.sleep(3)
    consumer = StreamProcess(home, dsn, broker_url(broker), log)
    time.sleep(8)
    server.stop()  # now the consumer buffers to disk ...
    time.sleep(6)
    segments = list((home / "stream-buffer").glob("*.seg"))
    assert segments, "with the warehouse down, acknowledged batches wait in the disk buffer"
    consumer.kill()  # ... and dies with a full buffer
    consumer = StreamProcess(home, dsn, broker_url(broker), log)
    time.sleep(5)
    server.ensure_running()
    meters.join(timeout=120)
    stored = wait_for_readings(dsn, expected_readings(stream), timeout=120)
    assert_exactly_once(stored, expected_readings(stream))
    assert not list((home / "stream-buffer").glob("*.seg"))
    assert consumer.terminate() == 0, "SIGTERM: a clean stop"
