"""Reading sensor files per shared/contracts/sensor-file.md, on the contract's examples and on faults."""

from datetime import UTC, datetime

import pytest

from domotic_assets.contracts.bounds import TELEMETRY_BOUNDS, UNBOUNDED, bounds_for
from domotic_assets.contracts.sensor_file import QuarantineError, device_errors, flatten, read_sensor_file
from domotic_assets.contracts.timestamps import AMBIGUOUS, NONEXISTENT, local_day, resolve_timestamp
from domotic_assets.contracts.values import read_number
from domotic_assets.contracts.weather_file import issue_day
from domotic_assets_tests.conftest import EXAMPLES

ZURICH = "Europe/Zurich"


def test_reference_example_reads_every_reading():
    doc = read_sensor_file((EXAMPLES / "jimmy_20230818T101500.json").read_bytes(), "jimmy", ZURICH)
    assert doc.ts == datetime(2023, 8, 18, 8, 15, tzinfo=UTC)
    assert doc.ts_flag is None
    readings = {(r.sensor, r.measure): r for r in flatten(doc)}
    assert readings[("P-JIM-01", "power")].value == 84.7
    assert readings[("P-JIM-02", "power")].value == 0.0  # "0,0": a decimal comma, read as zero watts
    assert readings[("P-JIM-02", "total")].value == 40.113  # a number sent as a string
    assert readings[("P-JIM-02", "on")].value == 0.0
    assert readings[("D-JIM-02", "battery")].value is None
    assert readings[("D-JIM-02", "battery")].missing_reason == "null"
    assert readings[("H-JIM-01", "humidity")].value is None  # -999 sentinel: missing, not a reading
    assert readings[("H-JIM-01", "humidity")].missing_reason == "sentinel"
    assert readings[("W-JIM-01", "co2")].unit == "ppm"
    assert readings[("W-JIM-01", "co2")].room == "Living"
    assert device_errors(doc) == [
        {"sensor": "M-JIM-01", "code": "BATTERY_LOW", "message": "battery under 20 %"}
    ]


def test_truncated_example_is_quarantined_with_a_reason():
    with pytest.raises(QuarantineError) as caught:
        read_sensor_file((EXAMPLES / "truncated.json").read_bytes(), "jimmy", ZURICH)
    assert caught.value.reason == "malformed_json"


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"", "empty_file"),
        (b"   \n", "empty_file"),
        (
            b'{"apartment":"jimmy","timestamp":"2023-08-18T10:15:00+02:00","plugs":{"P":{"room":"S\xe9jour"}}}',
            "not_utf8",
        ),
        (b"[1, 2]", "not_an_object"),
        (b'{"timestamp":"2023-08-18T10:15:00+02:00"}', "missing_apartment"),
        (b'{"apartment":"other","timestamp":"2023-08-18T10:15:00+02:00"}', "apartment_mismatch"),
        (b'{"apartment":"jimmy"}', "missing_timestamp"),
        (b'{"apartment":"jimmy","timestamp":"yesterday"}', "bad_timestamp"),
    ],
)
def test_unreadable_files_get_a_stable_reason(raw, reason):
    with pytest.raises(QuarantineError) as caught:
        read_sensor_file(raw, "jimmy", ZURICH)
    assert caught.value.reason == reason


def test_byte_order_mark_is_ignored():
    raw = (EXAMPLES / "jimmy_20230818T101500.json").read_bytes()
    with_bom = read_sensor_file(b"\xef\xbb\xbf" + raw, "jimmy", ZURICH)
    assert list(flatten(with_bom)) == list(flatten(read_sensor_file(raw, "jimmy", ZURICH)))


def test_unknown_category_is_reported_not_guessed():
    doc = read_sensor_file(
        b'{"apartment":"jimmy","timestamp":"2023-08-18T10:15:00Z","thermostats":{"T-1":{"setpoint":21}}}',
        "jimmy",
        ZURICH,
    )
    assert doc.unknown_categories == ("thermostats",)
    assert list(flatten(doc)) == []


@pytest.mark.parametrize(
    "raw, value, reason",
    [
        (23.4, 23.4, None),
        ("23.4", 23.4, None),
        ("23,4", 23.4, None),
        (" 7 ", 7.0, None),
        (True, 1.0, None),
        (False, 0.0, None),
        (0, 0.0, None),
        (None, None, "null"),
        ("", None, "empty"),
        ("NaN", None, "nan"),
        (float("nan"), None, "nan"),
        (-999, None, "sentinel"),
        ("-999", None, "sentinel"),
        (-99999, None, "sentinel"),
        ("abc", None, "unreadable"),
        ("1,234,5", None, "unreadable"),
        ([1], None, "unreadable"),
        (-300, -300.0, None),
    ],
)
def test_values_are_read_or_marked_missing_never_zero(raw, value, reason):
    assert read_number(raw, bounds_for("meteos", "temperature")) == (value, reason)


@pytest.mark.parametrize(
    "raw, bounds, value, reason",
    [
        (-999, bounds_for("meteos", "temperature"), None, "sentinel"),  # -999 °C cannot be measured
        (-9999, bounds_for("humidities", "humidity"), None, "sentinel"),  # nor -9999 %
        (-999, bounds_for("plugs", "power"), None, "sentinel"),  # a plug draws, never gives back
        (-999.0, TELEMETRY_BOUNDS["battery_power"], -999.0, None),  # a battery discharging at 999 W
        ("-9999", TELEMETRY_BOUNDS["battery_power"], -9999.0, None),
        (-99999, TELEMETRY_BOUNDS["battery_power"], None, "sentinel"),  # beyond what a home battery can do
        (-999, UNBOUNDED, -999.0, None),  # a measure without bounds: a reading
    ],
)
def test_a_sentinel_is_missing_only_where_its_measure_cannot_take_it(raw, bounds, value, reason):
    assert read_number(raw, bounds) == (value, reason)


def test_sentinels_in_a_sensor_file_are_missing_where_impossible():
    doc = read_sensor_file(
        b'{"apartment":"jimmy","timestamp":"2023-08-18T10:15:00Z",'
        b'"meteos":{"W-1":{"temperature":-999,"humidity":-9999.0,"co2":612,"noise":-99999}},'
        b'"plugs":{"P-1":{"power":-999,"total":-999.0}}}',
        "jimmy",
        ZURICH,
    )
    readings = {(r.sensor, r.measure): (r.value, r.missing_reason) for r in flatten(doc)}
    assert readings == {
        ("W-1", "temperature"): (None, "sentinel"),
        ("W-1", "humidity"): (None, "sentinel"),
        ("W-1", "co2"): (612.0, None),
        ("W-1", "noise"): (None, "sentinel"),
        ("P-1", "power"): (None, "sentinel"),
        ("P-1", "total"): (None, "sentinel"),
    }


def test_offset_timestamps_are_exact():
    assert resolve_timestamp("2023-08-18T10:15:00+02:00", ZURICH) == (
        datetime(2023, 8, 18, 8, 15, tzinfo=UTC),
        None,
    )
    assert resolve_timestamp("2023-08-18T08:15:00Z", "America/New_York")[0] == datetime(
        2023, 8, 18, 8, 15, tzinfo=UTC
    )


def test_wall_clock_timestamps_use_the_apartment_time_zone():
    assert resolve_timestamp("2023-08-18T10:15:00", ZURICH) == (
        datetime(2023, 8, 18, 8, 15, tzinfo=UTC),
        None,
    )
    assert resolve_timestamp("2023-01-18T10:15:00", ZURICH) == (
        datetime(2023, 1, 18, 9, 15, tzinfo=UTC),
        None,
    )


def test_repeated_autumn_hour_takes_the_earlier_instant_and_is_flagged():
    ts, flag = resolve_timestamp("2023-10-29T02:30:00", ZURICH)
    assert flag == AMBIGUOUS
    assert ts == datetime(2023, 10, 29, 0, 30, tzinfo=UTC)  # 02:30 summer time (+02:00)


def test_skipped_spring_hour_shifts_forward_and_is_flagged():
    ts, flag = resolve_timestamp("2023-03-26T02:30:00", ZURICH)
    assert flag == NONEXISTENT
    assert ts == datetime(2023, 3, 26, 1, 30, tzinfo=UTC)  # = 03:30 summer time
    assert resolve_timestamp("2023-03-26T03:30:00", ZURICH) == (ts, None)


def test_local_days_follow_zurich_not_utc():
    assert str(local_day(datetime(2023, 8, 17, 22, 30, tzinfo=UTC), ZURICH)) == "2023-08-18"
    assert str(local_day(datetime(2023, 8, 17, 21, 59, tzinfo=UTC), ZURICH)) == "2023-08-17"


def test_weather_file_names():
    assert str(issue_day("Pred_2023-08-18.csv")) == "2023-08-18"
    assert issue_day("Pred_2023-02-30.csv") is None
    assert issue_day("notes.csv") is None
