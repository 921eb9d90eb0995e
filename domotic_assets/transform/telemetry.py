"""A batch of raw MQTT messages -> the rows the warehouse stores, and the messages it quarantines.

Pure: the consumer, the disk-buffer replay and the tests all call it. Every message ends up
somewhere: as readings (household telemetry or sensor events, each with the bounds rule of
`contracts.bounds` applied), or in quarantine with its topic, payload and a stable reason. A
message with some unreadable values keeps the readable ones and is also listed in quarantine
(`values_unreadable`) so the loss is visible.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from domotic_assets.contracts.bounds import TELEMETRY_BOUNDS, bounds_for
from domotic_assets.contracts.mqtt_message import RawMessage, read_message
from domotic_assets.contracts.sensor_file import QuarantineError
from domotic_assets.settings import PARTITIONS_START
from domotic_assets.transform.sensor_events import EVENT_COLUMNS

FUTURE_LIMIT = timedelta(days=1)
"""A reading dated further ahead of its arrival than this is a broken clock, not a forecast."""
EARLIEST = datetime.fromisoformat(PARTITIONS_START).replace(tzinfo=UTC)
"""Readings before the first partition day (a gateway whose clock restarted at 1970) are quarantined."""

HOUSEHOLD_COLUMNS = ("household", "measure", "ts", "value", "unit", "is_outlier", "ts_flag", "received_at")
SENSOR_COLUMNS = tuple(c for c in EVENT_COLUMNS if c not in ("counter_reset", "source_file_id"))
"""A streamed reading's columns of `silver.sensor_events`: no counter judgement (one reading alone cannot tell
a reset) and no source file."""
QUARANTINE_COLUMNS = ("message_key", "topic", "payload", "reason", "detail", "received_at")


@dataclass
class DecodedBatch:
    household: list[tuple] = field(default_factory=list)
    """Rows of `silver.household_telemetry` (HOUSEHOLD_COLUMNS)."""
    sensor: list[tuple] = field(default_factory=list)
    """Rows of `silver.sensor_events` from `domotic/...` topics (SENSOR_COLUMNS)."""
    quarantine: list[tuple] = field(default_factory=list)
    """Rows of `meta.stream_quarantine` (QUARANTINE_COLUMNS)."""
    messages: int = 0
    values_missing: int = 0


def message_key(topic: str, payload: bytes) -> str:
    """The identity of a message as delivered: a redelivered or duplicated message has the same key."""
    return hashlib.blake2b(topic.encode() + b"\0" + payload, digest_size=16).hexdigest()


def _received(message: RawMessage) -> datetime:
    return datetime.fromtimestamp(message.received_us / 1_000_000, UTC)


def rejected(message: RawMessage, reason: str, detail: str | None = None) -> DecodedBatch:
    """A batch that only quarantines this message."""
    return DecodedBatch(
        messages=1,
        quarantine=[
            (
                message_key(message.topic, message.payload),
                message.topic,
                message.payload,
                reason,
                detail,
                _received(message),
            )
        ],
    )


def decode_batch(messages: Iterable[RawMessage], tz_of: Callable[[str], str]) -> DecodedBatch:
    """`tz_of(household or apartment)` gives the time zone for timestamps without an offset."""
    out = DecodedBatch()
    add_household, add_sensor, add_quarantine = out.household.append, out.sensor.append, out.quarantine.append
    for raw in messages:
        out.messages += 1
        received = _received(raw)
        source = raw.topic.split("/", 2)[1] if raw.topic.count("/") >= 2 else ""
        try:
            message = read_message(raw.topic, raw.payload, tz_of(source))
        except QuarantineError as problem:
            add_quarantine(
                (
                    message_key(raw.topic, raw.payload),
                    raw.topic,
                    raw.payload,
                    problem.reason,
                    problem.detail or None,
                    received,
                )
            )
            continue
        ts = message.readings[0].ts
        if ts > received + FUTURE_LIMIT or ts < EARLIEST:
            reason, detail = (
                ("future_timestamp", f"{ts.isoformat()} is more than {FUTURE_LIMIT} after its arrival")
                if ts > received
                else ("before_partitions_start", f"{ts.isoformat()} is before {PARTITIONS_START}")
            )
            add_quarantine(
                (message_key(raw.topic, raw.payload), raw.topic, raw.payload, reason, detail, received)
            )
            continue
        if message.missing:
            out.values_missing += len(message.missing)
            add_quarantine(
                (
                    message_key(raw.topic, raw.payload),
                    raw.topic,
                    raw.payload,
                    "values_unreadable",
                    orjson.dumps(message.missing).decode(),
                    received,
                )
            )
        for r in message.readings:
            if r.table == "household_telemetry":
                low, high = TELEMETRY_BOUNDS[r.measure]
                add_household(
                    (
                        r.source,
                        r.measure,
                        r.ts,
                        r.value,
                        r.unit,
                        not low <= r.value <= high,
                        r.ts_flag,
                        received,
                    )
                )
            else:
                low, high = bounds_for(r.category, r.measure)
                outlier = not low <= r.value <= high
                add_sensor(
                    (
                        r.source,
                        r.room,
                        r.sensor,
                        r.category,
                        r.measure,
                        r.ts,
                        r.value,
                        r.unit,
                        outlier,
                        "out_of_bounds" if outlier else None,
                        r.ts_flag,
                    )
                )
    return out
