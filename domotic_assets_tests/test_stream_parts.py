"""The streaming consumer's pure parts: the disk buffer, batch decoding, the broker URL, the telemetry
simulator."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from domotic_assets.contracts.mqtt_message import RawMessage
from domotic_assets.simulator.telemetry import MALFORMED, simulated_households, telemetry_messages
from domotic_assets.stream.disk_buffer import DiskBuffer, encode
from domotic_assets.stream.mqtt_client import MqttEndpoint
from domotic_assets.transform.telemetry import decode_batch, message_key

NOW_US = int(datetime(2025, 9, 12, 10, 5, tzinfo=UTC).timestamp() * 1e6)


def raw(topic: str, body, received_us: int = NOW_US) -> RawMessage:
    return RawMessage(topic, body if isinstance(body, bytes) else orjson.dumps(body), received_us)


def test_the_disk_buffer_gives_back_its_batches_in_order_after_a_restart(tmp_path):
    buffer = DiskBuffer(tmp_path)
    batches = [[raw(f"home/{b}/meter", {"n": i}) for i in range(3)] for b in range(4)]
    for batch in batches:
        buffer.append(batch)
    assert buffer.messages == 12
    reopened = DiskBuffer(tmp_path)  # as after a crash
    assert reopened.messages == 12
    assert [messages for _, messages in reopened.segments()] == batches
    path, messages = next(reopened.segments())
    reopened.remove(path, len(messages))
    assert reopened.messages == 9
    assert [m for _, m in DiskBuffer(tmp_path).segments()] == batches[1:]


def test_a_batch_half_written_by_a_killed_process_is_dropped_and_a_damaged_one_kept_aside(tmp_path):
    buffer = DiskBuffer(tmp_path)
    buffer.append([raw("home/1/meter", {"n": 1})])
    (tmp_path / "000000000099.tmp").write_bytes(encode([raw("home/1/meter", {"n": 2})])[:10])
    data = bytearray(encode([raw("home/1/meter", {"n": 3}), raw("home/1/meter", {"n": 4})]))
    data[-3] ^= 0xFF  # the second record's payload no longer matches its checksum
    (tmp_path / "000000000002.seg").write_bytes(bytes(data))
    reopened = DiskBuffer(tmp_path)
    assert not list(tmp_path.glob("*.tmp")), "a temporary segment was never acknowledged: it goes"
    read = [(p.parent.name, [orjson.loads(m.payload)["n"] for m in ms]) for p, ms in reopened.segments()]
    assert read == [(tmp_path.name, [1]), ("corrupt", [3])]
    assert (tmp_path / "corrupt" / "000000000002.seg").exists()


def test_a_batch_becomes_telemetry_sensor_rows_and_quarantine():
    batch = decode_batch(
        [
            raw("home/1/meter", {"household_id": 1, "ts": "2025-09-12T10:00:00Z", "consumption_w": 450}),
            raw(
                "home/1/battery",
                {"household_id": 1, "ts": "2025-09-12T10:00:00Z", "soc_pct": 154.0, "power_w": -800},
            ),
            raw("home/1/pv", {"household_id": 1, "ts": "2025-09-12T10:00:00Z", "pv_w": "NaN"}),
            raw(
                "home/1/battery",
                {"household_id": 1, "ts": "2025-09-12T10:00:00Z", "soc_pct": "x", "power_w": 5},
            ),
            raw(
                "domotic/jimmy/meteos/W-JIM-01",
                {"ts": "2025-09-12T12:00:00+02:00", "co2": 20000, "temperature": 21.5},
            ),
            raw("home/1/meter", b'{"household_id": 1, "ts": "2025-09-12T10:0'),
            raw("home/1/meter", {"household_id": 1, "ts": "2025-09-14T10:00:00Z", "consumption_w": 450}),
            raw("home/1/meter", {"household_id": 1, "ts": "1970-01-01T00:00:00Z", "consumption_w": 450}),
            raw("home/1/fridge", {"ts": "2025-09-12T10:00:00Z"}),
        ],
        lambda source: "Europe/Zurich",
    )
    ts = datetime(2025, 9, 12, 10, tzinfo=UTC)
    assert [(h, m, t, v, outlier) for h, m, t, v, _u, outlier, _f, _r in batch.household] == [
        ("1", "consumption", ts, 450.0, False),
        ("1", "battery_soc", ts, 154.0, True),
        ("1", "battery_power", ts, -800.0, False),
        ("1", "battery_power", ts, 5.0, False),
    ]
    assert [
        (s, m, v, outlier, reason) for _a, _r, s, _c, m, _t, v, _u, outlier, reason, _f in batch.sensor
    ] == [("W-JIM-01", "temperature", 21.5, False, None), ("W-JIM-01", "co2", 20000.0, True, "out_of_bounds")]
    reasons = [row[3] for row in batch.quarantine]
    assert reasons == [
        "no_readable_value",
        "values_unreadable",
        "malformed_json",
        "future_timestamp",
        "before_partitions_start",
        "unknown_topic",
    ]
    assert batch.messages == 9 and batch.values_missing == 1
    assert len({row[0] for row in batch.quarantine}) == len(batch.quarantine)


def test_a_redelivered_message_has_the_same_key_and_another_message_another():
    assert message_key("home/1/meter", b"{}") == message_key("home/1/meter", b"{}")
    assert message_key("home/1/meter", b"{}") != message_key("home/2/meter", b"{}")


def test_the_broker_url_gives_host_port_tls_and_user_but_never_a_password():
    plain = MqttEndpoint.from_url("mqtt://10.0.0.5")
    assert (plain.host, plain.port, plain.tls, plain.username) == ("10.0.0.5", 1883, False, None)
    secure = MqttEndpoint.from_url(
        "mqtts://meter@broker.example", {"password": "s3cret", "ca_file": "/etc/ca.pem"}
    )
    assert (secure.port, secure.tls, secure.username, secure.password, secure.ca_file) == (
        8883,
        True,
        "meter",
        "s3cret",
        "/etc/ca.pem",
    )
    assert "s3cret" not in repr(secure) and secure.url == "mqtts://meter@broker.example:8883"
    with pytest.raises(ValueError, match="password"):
        MqttEndpoint.from_url("mqtt://meter:s3cret@broker.example")
    with pytest.raises(ValueError, match="mqtt://"):
        MqttEndpoint.from_url("http://broker.example")


def test_the_simulated_stream_is_realistic_deterministic_and_says_what_it_holds():
    households = simulated_households(3)
    assert [(h.id, h.pv_kwp > 0, h.battery_kwh > 0) for h in households][:2] == [
        ("1", True, True),
        ("2", False, False),
    ]
    start = datetime(2023, 6, 21, 22, tzinfo=UTC)  # local midnight of a long summer day
    stream = list(
        telemetry_messages(households, start, start + timedelta(days=1), 60, seed=3, faults="heavy")
    )
    assert stream == list(
        telemetry_messages(households, start, start + timedelta(days=1), 60, seed=3, faults="heavy")
    )
    kinds = Counter(m.kind for m in stream)
    assert (
        kinds["reading"] > 5000 and kinds["duplicate"] and kinds["late"] and all(kinds[k] for k in MALFORMED)
    )
    late_positions = [i for i, m in enumerate(stream) if m.kind == "late"]
    assert any(stream[i].ts < stream[i - 1].ts for i in late_positions), "late messages arrive out of order"
    readings = [key for m in stream if m.kind in ("reading", "late") for key in m.keys]
    assert len(readings) == len({k[:3] for k in readings}), "every reading has its own natural key"
    by_measure: dict[str, list[tuple]] = {}
    for _household, measure, ts, value in readings:
        by_measure.setdefault(measure, []).append((ts, value))
    assert all(0 <= v <= 100 for _, v in by_measure["battery_soc"])
    assert all(v > 0 for _, v in by_measure["consumption"])
    night = [v for ts, v in by_measure["pv_power"] if ts.hour in (22, 23, 0, 1, 2)]
    noon = [v for ts, v in by_measure["pv_power"] if ts.hour == 11]
    assert max(night) == 0 and min(noon) > 500
    assert not any(m.keys for m in stream if m.kind in MALFORMED)
