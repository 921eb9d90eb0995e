"""Reading one MQTT message (shared/contracts/mqtt.md) into readings, or a quarantine reason.

Two families of topics come in:

* `home/<household>/meter|pv|battery`: household telemetry, one row per household, measure and
  instant in `silver.household_telemetry`;
* `domotic/<apartment>/<category>/<sensor>`: one reading of the sensor-file contract, stored in
  `silver.sensor_events` under the same natural key as a reading from a file (apartment, sensor,
  measure, instant), so a reading that arrives both ways is stored once.

A message the pipeline cannot use raises QuarantineError with a stable reason code; a message
with some unreadable values keeps the readable ones and names the others in `missing`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from domotic_assets.contracts.bounds import TELEMETRY_BOUNDS, Bounds, bounds_for
from domotic_assets.contracts.sensor_file import MEASURES, QuarantineError, decode
from domotic_assets.contracts.timestamps import resolve_timestamp
from domotic_assets.contracts.values import read_number


@dataclass(frozen=True)
class RawMessage:
    """A message as the broker delivered it: its topic, its bytes, and when it was received (µs since the
    epoch)."""

    topic: str
    payload: bytes
    received_us: int


TELEMETRY: dict[str, dict[str, tuple[str, str]]] = {
    "meter": {"consumption_w": ("consumption", "W")},
    "pv": {"pv_w": ("pv_power", "W")},
    "battery": {"soc_pct": ("battery_soc", "%"), "power_w": ("battery_power", "W")},
}
"""Topic kind -> payload key -> (measure stored, unit). Battery power is negative when discharging."""

SUBSCRIPTIONS = ("home/+/meter", "home/+/pv", "home/+/battery", "domotic/+/+/+")
"""What the consumer subscribes to (the `cmd` topics are the platform's own output)."""


@dataclass(frozen=True)
class Reading:
    """One value: `source` is the household (telemetry) or the apartment (sensor)."""

    table: str
    """`household_telemetry` or `sensor_events`."""
    source: str
    sensor: str | None
    category: str | None
    measure: str
    ts: datetime
    value: float
    unit: str
    ts_flag: str | None = None
    room: str | None = None
    """A sensor reading's room, when the payload names it (as a sensor file does)."""


@dataclass(frozen=True)
class Message:
    readings: list[Reading]
    missing: dict[str, str] = field(default_factory=dict)
    """Payload key -> why its value could not be read."""


def _body(payload: bytes) -> dict:
    """The JSON object of a payload: orjson for the common case (a stream is thousands a second),
    the sensor-file rules for the rest (byte-order mark, NaN, and the reason when it is bad)."""
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return decode(payload)
    if not isinstance(body, dict):
        raise QuarantineError("not_an_object", f"top level is {type(body).__name__}")
    return body


def _instant(body: dict, tz_name: str) -> tuple[datetime, str | None]:
    stamp = body.get("ts")
    if not isinstance(stamp, str):
        raise QuarantineError("missing_timestamp")
    try:
        return resolve_timestamp(stamp, tz_name)
    except ValueError:
        raise QuarantineError("bad_timestamp", repr(stamp)[:80]) from None


def _values(
    body: dict, wanted: dict[str, tuple[str, str]], bounds: Callable[[str], Bounds]
) -> tuple[list[tuple[str, float, str]], dict[str, str]]:
    """The readable values of the payload keys `wanted` (key -> measure, unit); `bounds(measure)` tells
    where a sentinel is a reading and where it means missing."""
    values, missing = [], {}
    for key, (measure, unit) in wanted.items():
        if key not in body:
            continue
        value, why = read_number(body[key], bounds(measure))
        if value is None:
            missing[key] = why or "unreadable"
        else:
            values.append((measure, value, unit))
    if not values:
        raise QuarantineError("no_readable_value", f"expected one of {sorted(wanted)}; unreadable: {missing}")
    return values, missing


def read_message(topic: str, payload: bytes, tz_name: str) -> Message:
    """The readings of one message. `tz_name` reads timestamps without an offset (wall-clock time
    of the apartment, with the daylight-saving rule of `timestamps`)."""
    parts = topic.split("/")
    if len(parts) == 3 and parts[0] == "home" and parts[1] and parts[2] in TELEMETRY:
        _, household, kind = parts
        body = _body(payload)
        claimed = body.get("household_id")
        if claimed is not None and str(claimed) != household:
            raise QuarantineError("household_mismatch", f"payload says {claimed!r}, topic says {household!r}")
        ts, flag = _instant(body, tz_name)
        values, missing = _values(body, TELEMETRY[kind], TELEMETRY_BOUNDS.__getitem__)
        return Message(
            [
                Reading("household_telemetry", household, None, None, measure, ts, value, unit, flag)
                for measure, value, unit in values
            ],
            missing,
        )
    if len(parts) == 4 and parts[0] == "domotic" and all(parts[1:]):
        _, apartment, category, sensor = parts
        if category not in MEASURES:
            raise QuarantineError("unknown_category", category)
        body = _body(payload)
        ts, flag = _instant(body, tz_name)
        values, missing = _values(
            body,
            {m: (m, unit) for m, unit in MEASURES[category].items()},
            lambda measure: bounds_for(category, measure),
        )
        room = body.get("room") if isinstance(body.get("room"), str) else None
        return Message(
            [
                Reading("sensor_events", apartment, sensor, category, measure, ts, value, unit, flag, room)
                for measure, value, unit in values
            ],
            missing,
        )
    raise QuarantineError("unknown_topic", topic[:200])
