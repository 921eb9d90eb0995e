"""Bronze -> Silver rules on hand-made files: one test per rule of the sensor-file contract."""

import json
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from domotic_assets.contracts.timestamps import AMBIGUOUS, NONEXISTENT
from domotic_assets.transform.outliers import flag_outliers
from domotic_assets.transform.sensor_events import SourceFile, read_day

ZURICH = "Europe/Zurich"


class Files:
    """A throw-away Bronze: documents kept in memory, read back by path like the loader does."""

    def __init__(self):
        self.data, self.files = {}, []

    def add(self, body, name=None, mtime=None, raw=None, apartment="jimmy"):
        name = name or f"f{len(self.files):05d}.json"
        data = raw if raw is not None else json.dumps(body).encode()
        self.data[name] = data
        index = len(self.files)
        self.files.append(
            SourceFile(index, name, apartment, mtime if mtime is not None else index, name, str(hash(data)))
        )
        return name

    def read(self, **kwargs):
        return read_day(self.files, self.data.__getitem__, lambda a: ZURICH, **kwargs)


def doc(ts, **categories):
    return {"apartment": "jimmy", "timestamp": ts, **categories}


def values_of(day, sensor, measure):
    rows = day.events[(day.events.sensor == sensor) & (day.events.measure == measure)].sort_values("ts")
    return rows["value"].tolist()


def test_values_in_every_shape_are_read_and_missing_ones_are_counted_not_zero():
    files = Files()
    files.add(
        doc(
            "2023-08-18T10:00:00+02:00",
            meteos={
                "W-1": {
                    "room": "Living",
                    "temperature": "22,5",
                    "humidity": "47.0",
                    "co2": None,
                    "noise": "NaN",
                    "pressure": "",
                }
            },
        )
    )
    files.add(
        doc(
            "2023-08-18T10:01:00+02:00",
            meteos={
                "W-1": {
                    "room": "Living",
                    "temperature": -999,
                    "humidity": 48,
                    "co2": "abc",
                    "noise": 40,
                    "pressure": 1012.5,
                }
            },
        )
    )
    day = files.read()
    assert values_of(day, "W-1", "temperature") == [22.5]
    assert values_of(day, "W-1", "humidity") == [47.0, 48.0]
    assert values_of(day, "W-1", "co2") == []
    assert (day.events.value == 0).sum() == 0
    assert day.files.readings_total.tolist() == [5, 5]
    assert day.files.readings_missing.tolist() == [3, 2]
    assert day.files.rows_loaded.tolist() == [2, 3]


def test_booleans_are_zero_and_one_with_units():
    files = Files()
    files.add(
        doc(
            "2023-08-18T10:00:00Z",
            plugs={"P-1": {"room": "Kitchen", "power": 80.5, "total": 10.0, "on": True}},
            doors={"D-1": {"room": "Entrance", "kind": "door", "open": False, "battery": 90}},
        )
    )
    events = files.read().events.set_index(["sensor", "measure"])
    assert events.loc[("P-1", "on"), "value"] == 1.0 and events.loc[("D-1", "open"), "value"] == 0.0
    assert events.loc[("P-1", "power"), "unit"] == "W" and events.loc[("P-1", "total"), "unit"] == "kWh"
    assert events.loc[("D-1", "battery"), "unit"] == "%"


def test_the_same_document_twice_gives_one_row_per_reading():
    files = Files()
    body = doc(
        "2023-08-18T10:00:00+02:00", meteos={"W-1": {"room": "Living", "temperature": 22.0, "humidity": 50}}
    )
    files.add(body, name="a.json", mtime=1)
    files.add(body, name="a_copy.json", mtime=2)
    day = files.read()
    assert len(day.events) == 2
    assert day.files.readings_duplicate.sum() == 2
    assert (
        day.files.readings_total
        == day.files.readings_missing + day.files.readings_duplicate + day.files.rows_loaded
    ).all()


def test_a_conflicting_copy_of_a_minute_the_newest_arrival_wins():
    files = Files()
    files.add(
        doc("2023-08-18T10:00:00+02:00", meteos={"W-1": {"room": "Living", "temperature": 22.0}}),
        name="z_old.json",
        mtime=100,
    )
    files.add(
        doc("2023-08-18T08:00:00Z", meteos={"W-1": {"room": "Living", "temperature": 23.0}}),
        name="a_new.json",
        mtime=200,
    )
    day = files.read()
    assert values_of(day, "W-1", "temperature") == [23.0]
    assert day.events.source_file_id.tolist() == [1]


def test_the_repeated_autumn_hour_keeps_both_hours_of_a_wall_clock_gateway():
    files = Files()
    first = files.add(
        doc("2023-10-29T02:30:00", meteos={"W-1": {"room": "Living", "temperature": 20.0}}), mtime=1
    )
    files.add(doc("2023-10-29T02:30:00", meteos={"W-1": {"room": "Living", "temperature": 19.0}}), mtime=2)
    files.add(
        raw=files.data[first], body=None, name="again.json", mtime=3
    )  # the same bytes again: a duplicate
    day = files.read()
    temps = day.events[day.events.measure == "temperature"].sort_values("ts")
    assert temps.ts.tolist() == [
        pd.Timestamp("2023-10-29 00:30", tz="UTC"),
        pd.Timestamp("2023-10-29 01:30", tz="UTC"),
    ]
    assert temps.value.tolist() == [20.0, 19.0]
    assert set(temps.ts_flag) == {AMBIGUOUS}
    assert day.files.readings_duplicate.tolist() == [1, 0, 0]  # the first copy lost to its later twin


def test_the_skipped_spring_hour_is_shifted_forward_and_flagged():
    files = Files()
    files.add(doc("2023-03-26T02:30:00", meteos={"W-1": {"room": "Living", "temperature": 20.0}}))
    events = files.read().events
    assert events.ts.tolist() == [pd.Timestamp("2023-03-26 01:30", tz="UTC")]
    assert events.ts_flag.tolist() == [NONEXISTENT]


def _counter_files(values, start_minute=0):
    files = Files()
    for i, v in enumerate(values):
        files.add(
            doc(f"2023-08-18T10:{start_minute + i:02d}:00Z", plugs={"P-1": {"room": "Kitchen", "total": v}})
        )
    return files


def test_a_counter_that_goes_backwards_is_a_reset_not_negative_energy():
    day = _counter_files([10.0, 10.1, 10.2, 0.01, 0.02, 0.03]).read()
    rows = day.events.sort_values("ts")
    assert rows.counter_reset.tolist() == [False, False, False, True, False, False]
    assert not rows.is_outlier.any()


def test_a_counter_spike_in_the_last_minute_of_a_day_is_caught_by_the_rate_it_would_need():
    # minute 57-59 of the day's last hour: no next reading to compare the spike with
    rows = _counter_files([225.90, 225.92, 225.94, 1405.6], start_minute=56).read().events.sort_values("ts")
    assert rows.outlier_reason.tolist() == [None, None, None, "spike"]
    after_a_gap = _counter_files(
        [225.90, 226.90], start_minute=0
    ).read()  # +1 kWh in a minute: 60 kW, too fast for a plug
    assert after_a_gap.events.sort_values("ts").outlier_reason.tolist() == [None, "spike"]
    ordinary = _counter_files([225.90, 225.95, 226.00]).read()  # 3 kW
    assert not ordinary.events.is_outlier.any()


def test_a_counter_one_watt_hour_back_is_jitter_not_a_reset():
    rows = _counter_files([289.001, 289.002, 289.002, 289.001, 289.001]).read().events.sort_values("ts")
    assert not rows.counter_reset.any()


def test_a_counter_reset_at_midnight_is_seen_from_the_previous_day():
    day = _counter_files([0.05, 0.06]).read(previous_totals={("jimmy", "P-1"): 812.4})
    assert day.events.sort_values("ts").counter_reset.tolist() == [True, False]


def test_a_counter_spike_in_the_first_minute_of_a_day_is_judged_against_the_previous_day():
    # found by the 70-day winter feed: 77.8 at 00:00 between 4.628 and 4.628 put 73 kWh into one Gold minute
    day = _counter_files([77.8, 4.628, 4.628]).read(previous_totals={("jimmy", "P-1"): 4.628})
    rows = day.events.sort_values("ts")
    assert rows.outlier_reason.tolist() == ["spike", None, None]
    assert not rows.counter_reset.any()
    reset = _counter_files([0.05, 0.06, 0.07]).read(previous_totals={("jimmy", "P-1"): 812.4})
    assert reset.events.sort_values("ts").outlier_reason.tolist() == [None, None, None]


def test_a_single_wild_counter_reading_is_a_spike_not_a_reset():
    rows = _counter_files([10.0, 10.1, 71.0, 10.2, 10.3]).read().events.sort_values("ts")
    assert rows.outlier_reason.tolist() == [None, None, "spike", None, None]
    assert not rows.counter_reset.any()


@pytest.mark.parametrize(
    "category, measure, value",
    [
        ("meteos", "humidity", 140.0),
        ("meteos", "temperature", 850.0),
        ("meteos", "co2", -5.0),
        ("plugs", "power", -300.0),
        ("plugs", "power", 9000.0),
        ("meteos", "pressure", 20.0),
        ("doors", "battery", 180.0),
    ],
)
def test_physically_impossible_values_are_kept_and_flagged(category, measure, value):
    files = Files()
    files.add(doc("2023-08-18T10:00:00Z", **{category: {"X-1": {"room": "Living", measure: value}}}))
    events = files.read().events
    assert events.value.tolist() == [value], "kept"
    assert events.outlier_reason.tolist() == ["out_of_bounds"]


def _series(measure, values, category="meteos"):
    n = len(values)
    return pd.DataFrame(
        {
            "apartment": "jimmy",
            "sensor": "S",
            "category": category,
            "measure": measure,
            "ts_ns": np.arange(n) * 60_000_000_000,
            "value": np.asarray(values, dtype=float),
        }
    )


def test_a_temperature_spike_among_its_neighbours_is_flagged():
    values = list(21.0 + 0.05 * np.sin(np.arange(40) / 5))
    values[20] = 46.0
    flagged = flag_outliers(_series("temperature", values))
    assert flagged.outlier_reason.tolist()[20] == "spike"
    assert flagged.is_outlier.sum() == 1


def test_each_series_is_judged_among_its_own_readings_only():
    """A window never reaches the next series (another sensor, or the same id reported by another
    apartment): three readings are too few to judge, whatever series lies beside them."""
    few = _series("temperature", [12.0] * 3).assign(apartment="jeremie")
    warm = _series("temperature", [24.0] * 30)  # jimmy's S: the same id as jeremie's
    for beside in (warm.assign(apartment="jeremie", sensor="T"), warm):
        assert not flag_outliers(pd.concat([few, beside], ignore_index=True)).is_outlier.any()
    spiked = warm.assign(value=[40.0] + [24.0] * 29)  # a series' first minute is judged by its own next ones
    flagged = flag_outliers(pd.concat([few, spiked], ignore_index=True))
    assert flagged.outlier_reason.tolist() == [None] * 3 + ["spike"] + [None] * 29
    plug = _series("power", [100.0] * 3, "plugs").assign(apartment="jeremie")
    same_id = _series("power", [1000.0, 100.0, 100.0], "plugs")  # no minute before it to compare with
    assert not flag_outliers(pd.concat([plug, same_id], ignore_index=True)).is_outlier.any()


def test_a_slow_rise_is_not_a_spike():
    flagged = flag_outliers(_series("co2", np.linspace(450, 1800, 120)))  # a bedroom at night
    assert not flagged.is_outlier.any()


def test_an_appliance_switching_on_is_not_a_power_spike_but_a_lone_minute_is():
    washer = [0.5] * 10 + [2050.0] * 25 + [180.0] * 10
    assert not flag_outliers(_series("power", washer, "plugs")).is_outlier.any()
    fridge = [86.0, 85.0, 566.0, 86.0, 84.0]
    assert flag_outliers(_series("power", fridge, "plugs")).outlier_reason.tolist() == [
        None,
        None,
        "spike",
        None,
        None,
    ]


def test_device_errors_of_the_feed_are_kept():
    files = Files()
    files.add(
        doc(
            "2023-08-18T10:00:00Z",
            errors=[{"sensor": "M-1", "code": "BATTERY_LOW", "message": "low"}, {"bad": 1}],
        )
    )
    errors = files.read().errors
    assert errors[["sensor", "code"]].values.tolist() == [["M-1", "BATTERY_LOW"]]
    assert errors.ts.tolist() == [datetime(2023, 8, 18, 10, tzinfo=UTC)]
