"""Reading one apartment sensor file (shared/contracts/sensor-file.md) into readings.

`read_sensor_file` decides whether a file is usable at all (and why not, for quarantine);
`flatten` turns a usable document into one reading per sensor and measure. Values that
cannot be read become readings with `value=None` and a reason, so they are counted as
missing, never as zero and never silently dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from domotic_assets.contracts.bounds import bounds_for
from domotic_assets.contracts.timestamps import resolve_timestamp
from domotic_assets.contracts.values import read_number

BOM = b"\xef\xbb\xbf"

MEASURES: dict[str, dict[str, str]] = {
    "plugs": {"power": "W", "total": "kWh", "on": "bool"},
    "doors": {"open": "bool", "battery": "%"},
    "motions": {"motion": "bool", "light": "lux", "temperature": "°C", "battery": "%"},
    "meteos": {"temperature": "°C", "humidity": "%", "co2": "ppm", "noise": "dB", "pressure": "hPa"},
    "humidities": {"humidity": "%", "temperature": "°C", "battery": "%"},
    "consumptions": {"power": "W", "total": "kWh"},
}
"""Category -> measure -> unit. Other keys of a sensor (room, device, kind, meter) are attributes."""

DOCUMENT_KEYS = frozenset({"apartment", "timestamp", "gateway", "errors", *MEASURES})


class QuarantineError(ValueError):
    """A file the pipeline cannot read. `reason` is a short stable code, `detail` is for people."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class SensorDocument:
    apartment: str
    ts: datetime
    """The exact instant (UTC) of the document."""
    ts_flag: str | None
    """Set when a wall-clock timestamp needed the daylight-saving rule."""
    body: dict = field(repr=False)
    unknown_categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reading:
    sensor: str
    category: str
    room: str | None
    measure: str
    value: float | None
    unit: str
    missing_reason: str | None


def decode(raw: bytes) -> dict:
    """Bytes to a JSON object; a leading UTF-8 byte-order mark is ignored. orjson reads the usual document;
    what it refuses (bare NaN, numbers beyond a double, lone surrogates, broken files) is read, or judged
    with its line and column, by the standard library, so the same files pass and fail as with the standard
    library alone (an integer beyond 64 bits comes as a float, as every reading becomes)."""
    if raw.startswith(BOM):
        raw = raw[len(BOM) :]
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = _decode_strictly(raw)
    if not isinstance(body, dict):
        raise QuarantineError("not_an_object", f"top level is {type(body).__name__}")
    return body


def _decode_strictly(raw: bytes) -> object:
    if not raw.strip():
        raise QuarantineError("empty_file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise QuarantineError("not_utf8", f"invalid byte at offset {exc.start}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise QuarantineError(
            "malformed_json", f"{exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


def read_sensor_file(raw: bytes, folder_apartment: str, tz_name: str) -> SensorDocument:
    """Validate what every reader relies on: the apartment and an exact timestamp."""
    body = decode(raw)
    apartment = body.get("apartment")
    if not isinstance(apartment, str) or not apartment:
        raise QuarantineError("missing_apartment")
    if apartment != folder_apartment:
        raise QuarantineError(
            "apartment_mismatch", f"document says {apartment!r}, folder is {folder_apartment!r}"
        )
    stamp = body.get("timestamp")
    if not isinstance(stamp, str):
        raise QuarantineError("missing_timestamp")
    try:
        ts, flag = resolve_timestamp(stamp, tz_name)
    except ValueError:
        raise QuarantineError("bad_timestamp", repr(stamp)[:80]) from None
    unknown = tuple(sorted(k for k in body if k not in DOCUMENT_KEYS))
    return SensorDocument(apartment=apartment, ts=ts, ts_flag=flag, body=body, unknown_categories=unknown)


def iter_sensors(doc: SensorDocument, categories: Iterable[str]) -> Iterator[tuple[str, str, dict]]:
    """(category, sensor, its object) for every well-formed sensor of these categories, in document order."""
    for category in categories:
        sensors = doc.body.get(category)
        if not isinstance(sensors, dict):
            continue
        for sensor, attributes in sensors.items():
            if isinstance(attributes, dict):
                yield category, sensor, attributes


def iter_values(doc: SensorDocument) -> Iterator[tuple[str, str, str | None, str, object]]:
    """(category, sensor, room, measure, raw value) for every measure present, in document order."""
    for category, sensor, attributes in iter_sensors(doc, MEASURES):
        room = attributes.get("room")
        room = room if isinstance(room, str) else None
        for measure in MEASURES[category]:
            if measure in attributes:
                yield category, sensor, room, measure, attributes[measure]


def flatten(doc: SensorDocument) -> Iterator[Reading]:
    """One reading per (sensor, measure) present in the document, in document order."""
    for category, sensor, room, measure, raw in iter_values(doc):
        value, missing = read_number(raw, bounds_for(category, measure))
        yield Reading(sensor, category, room, measure, value, MEASURES[category][measure], missing)


def device_errors(doc: SensorDocument) -> list[dict]:
    """The error reports of the document that name a sensor and a code."""
    errors = doc.body.get("errors")
    if not isinstance(errors, list):
        return []
    return [
        e
        for e in errors
        if isinstance(e, dict) and isinstance(e.get("sensor"), str) and isinstance(e.get("code"), str)
    ]
