"""MQTT messages of the contract into readings: telemetry, sensor readings, and every way to be bad."""

from datetime import UTC, datetime

import pytest

from domotic_assets.contracts.mqtt_message import read_message
from domotic_assets.contracts.sensor_file import QuarantineError

ZURICH = "Europe/Zurich"


def test_meter_pv_and_battery_messages_give_one_reading_per_measure():
    meter = read_message(
        "home/1/meter", b'{"household_id": 1, "ts": "2025-09-12T10:00:00Z", "consumption_w": 450}', ZURICH
    )
    assert [(r.table, r.source, r.measure, r.value, r.unit) for r in meter.readings] == [
        ("household_telemetry", "1", "consumption", 450.0, "W")
    ]
    assert meter.readings[0].ts == datetime(2025, 9, 12, 10, tzinfo=UTC)
    battery = read_message(
        "home/1/battery", b'{"ts": "2025-09-12T12:00:00+02:00", "soc_pct": 54.0, "power_w": -800}', ZURICH
    )
    assert {(r.measure, r.value) for r in battery.readings} == {
        ("battery_soc", 54.0),
        ("battery_power", -800.0),
    }
    assert battery.readings[0].ts == datetime(2025, 9, 12, 10, tzinfo=UTC)
    pv = read_message(
        "home/jimmy/pv", b'{"household_id": "jimmy", "ts": "2025-09-12T10:00:00Z", "pv_w": "1200,5"}', ZURICH
    )
    assert pv.readings[0].value == 1200.5


def test_a_sensor_reading_has_the_natural_key_of_a_reading_from_a_file():
    message = read_message(
        "domotic/jimmy/plugs/P-JIM-01",
        b'{"ts": "2023-08-18T10:15:00+02:00", "power": 41.5, "total": 12.25, "room": "kitchen"}',
        ZURICH,
    )
    keys = {(r.table, r.source, r.sensor, r.category, r.measure, r.ts) for r in message.readings}
    assert keys == {
        ("sensor_events", "jimmy", "P-JIM-01", "plugs", m, datetime(2023, 8, 18, 8, 15, tzinfo=UTC))
        for m in ("power", "total")
    }


def test_wall_clock_time_follows_the_daylight_saving_rule():
    message = read_message("home/1/meter", b'{"ts": "2023-10-29T02:30:00", "consumption_w": 300}', ZURICH)
    assert message.readings[0].ts == datetime(2023, 10, 29, 0, 30, tzinfo=UTC)
    assert message.readings[0].ts_flag == "ambiguous_local_time"


def test_unreadable_values_are_named_and_the_readable_ones_kept():
    message = read_message(
        "home/1/battery", b'{"ts": "2025-09-12T10:00:00Z", "soc_pct": "NaN", "power_w": 200}', ZURICH
    )
    assert [r.measure for r in message.readings] == ["battery_power"] and message.missing == {
        "soc_pct": "nan"
    }


@pytest.mark.parametrize(
    "topic, payload, reason",
    [
        ("home/1/meter", b"", "empty_file"),
        ("home/1/meter", b"{not json", "malformed_json"),
        ("home/1/meter", b"\xff\xfe", "not_utf8"),
        ("home/1/meter", b"[1, 2]", "not_an_object"),
        ("home/1/meter", b'{"consumption_w": 5}', "missing_timestamp"),
        ("home/1/meter", b'{"ts": "yesterday", "consumption_w": 5}', "bad_timestamp"),
        ("home/1/meter", b'{"ts": "2025-09-12T10:00:00Z", "consumption_w": -99999}', "no_readable_value"),
        ("home/1/meter", b'{"ts": "2025-09-12T10:00:00Z", "pv_w": 5}', "no_readable_value"),
        (
            "home/2/meter",
            b'{"household_id": 1, "ts": "2025-09-12T10:00:00Z", "consumption_w": 5}',
            "household_mismatch",
        ),
        ("home/1/cmd", b'{"ts": "2025-09-12T10:00:00Z"}', "unknown_topic"),
        ("domotic/jimmy/toasters/T1", b'{"ts": "2025-09-12T10:00:00Z", "power": 5}', "unknown_category"),
        ("domotic/jimmy/plugs", b'{"ts": "2025-09-12T10:00:00Z", "power": 5}', "unknown_topic"),
    ],
)
def test_malformed_messages_are_quarantined_with_a_stable_reason(topic, payload, reason):
    with pytest.raises(QuarantineError) as caught:
        read_message(topic, payload, ZURICH)
    assert caught.value.reason == reason


def test_a_battery_discharging_at_999_w_is_a_reading_and_a_sentinel_soc_is_missing():
    """-999 W is a battery giving 999 W (mqtt.md); -999 % cannot be a state of charge."""
    message = read_message(
        "home/1/battery", b'{"ts": "2025-09-12T10:00:00Z", "soc_pct": -999, "power_w": -999.0}', ZURICH
    )
    assert [(r.measure, r.value) for r in message.readings] == [("battery_power", -999.0)]
    assert message.missing == {"soc_pct": "sentinel"}
    sensor = read_message(
        "domotic/jimmy/meteos/W-JIM-01",
        b'{"ts": "2025-09-12T10:00:00Z", "temperature": -999, "co2": 600}',
        ZURICH,
    )
    assert [(r.measure, r.value) for r in sensor.readings] == [("co2", 600.0)] and sensor.missing == {
        "temperature": "sentinel"
    }
