"""Turning one day of signals into gateway documents, with the file and value faults applied."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from domotic_assets.contracts.sensor_file import MEASURES
from domotic_assets.contracts.timestamps import zone
from domotic_assets.simulator.apartments import Apartment
from domotic_assets.simulator.faults import FILE_FAULTS, IMPOSSIBLE, VALUE_FAULTS, FaultRates

DECIMALS = {"power": 1, "total": 3, "temperature": 1, "humidity": 1, "pressure": 1, "light": 1}
INTEGERS = {"co2", "noise", "battery"}
BOOLEANS = {"open", "on", "motion"}
ID_LETTER = {
    "plugs": "P",
    "doors": "D",
    "motions": "M",
    "meteos": "W",
    "humidities": "H",
    "consumptions": "C",
}
"""First letter of a sensor id per category (P-JIM-01 ...), to file sensors unknown to pidb."""


@dataclass(frozen=True)
class FeedFile:
    """One file as the gateway writes it: where, what, which instant it describes, when it lands."""

    relpath: str
    data: bytes
    ts: datetime
    arrival: datetime


def _column(measure: str, series: np.ndarray) -> list:
    if measure in BOOLEANS:
        return [bool(v) for v in series.tolist()]
    if measure in INTEGERS:
        return np.rint(series).astype(int).tolist()
    return np.round(series, DECIMALS.get(measure, 2)).tolist()


def _faulty_value(kind: str, measure: str, value, rng: np.random.Generator):
    if kind == "null":
        return None
    if measure in BOOLEANS or isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if kind == "string_number":
        return str(value)
    if kind == "decimal_comma":
        return str(value).replace(".", ",")
    if kind == "nan_string":
        return "NaN"
    if kind == "empty_string":
        return ""
    if kind == "sentinel":
        return -999
    if kind == "impossible":
        return IMPOSSIBLE.get(measure, -500.0)
    if kind == "spike":
        return round(value + 25.0, 1) if measure == "temperature" else round(value * 6 + 50, 1)
    return value


class DocumentWriter:
    """Builds the files of one apartment-day; records every injected fault in `faults`."""

    def __init__(self, apartment: Apartment, rates: FaultRates, faults: list[dict]):
        self.apartment = apartment
        self.rates = rates
        self.faults = faults
        self.tz = zone(apartment.timezone)
        self.gateway = {"id": f"gw-{apartment.code}", "firmware": "4.2.1"}
        self.attrs = {}
        for s in apartment.sensors:
            static = {"room": s.room}
            if s.category == "plugs":
                static["device"] = s.device
            elif s.category == "doors":
                static["kind"] = s.kind
            elif s.category == "consumptions":
                static = {"meter": "main"}
            self.attrs[s.external_id] = static

    def _note(
        self,
        kind: str,
        relpath: str,
        ts: datetime,
        sensor: str | None = None,
        measure: str | None = None,
        detail: str = "",
    ):
        self.faults.append(
            {
                "kind": kind,
                "apartment": self.apartment.code,
                "file": relpath,
                "ts": ts,
                "sensor": sensor,
                "measure": measure,
                "detail": detail,
            }
        )

    def day_files(
        self,
        instants: list[datetime],
        values: dict[tuple[str, str], np.ndarray],
        missing_minutes: np.ndarray,
        room_override: dict[str, tuple[np.ndarray, str]],
        rng: np.random.Generator,
    ) -> list[FeedFile]:
        apt = self.apartment
        tz = self.tz
        n = len(instants)
        columns = {key: _column(key[1], series) for key, series in values.items()}
        layout = []  # (category, [(sensor, [(measure, column)])])
        slots = []  # flat list of (category, sensor, measure) for value faults
        for category, measures in MEASURES.items():
            sensors = []
            for s in apt.sensors:
                if s.category != category:
                    continue
                ms = [(m, columns[(s.external_id, m)]) for m in measures if (s.external_id, m) in columns]
                sensors.append((s.external_id, ms))
                slots += [(category, s.external_id, m) for m, _ in ms]
            extra = sorted(
                {sid for (sid, _m) in values if sid not in self.attrs and sid[0] == ID_LETTER[category]}
            )
            for sid in extra:  # sensors unknown to pidb
                ms = [(m, columns[(sid, m)]) for m in measures if (sid, m) in columns]
                sensors.append((sid, ms))
            layout.append((category, sensors))
        value_faults: dict[int, list[tuple[int, str]]] = {}
        for kind in VALUE_FAULTS:
            rate = self.rates.per_value[kind]
            if rate <= 0:
                continue
            count = rng.binomial(n * len(slots), rate)
            for flat in rng.integers(0, n * len(slots), count):
                value_faults.setdefault(int(flat // len(slots)), []).append((int(flat % len(slots)), kind))
        file_fault_draw = {k: rng.random(n) < r for k, r in self.rates.per_file.items() if r > 0}

        out: list[FeedFile] = []
        seen_wall: set[datetime] = set()
        for i, ts in enumerate(instants):
            if missing_minutes[i]:
                continue
            wall = ts.astimezone(tz).replace(tzinfo=None)
            name = f"{apt.code}_{wall:%Y%m%dT%H%M%S}"
            if wall in seen_wall:  # the repeated hour in autumn: a gateway still needs a new name
                name += "_2"
            seen_wall.add(wall)
            stamp = wall.isoformat() if apt.naive_timestamps else ts.astimezone(tz).isoformat()
            doc = {"apartment": apt.code, "timestamp": stamp, "gateway": self.gateway}
            errors = []
            for category, sensors in layout:
                block = {}
                for sid, measures in sensors:
                    entry = dict(self.attrs.get(sid, {"room": "Living"}))
                    override = room_override.get(sid)
                    if override is not None and override[0][i]:
                        entry["room"] = override[1]
                    for measure, col in measures:
                        v = col[i]
                        if v is not None and not math.isnan(v):
                            entry[measure] = v
                    if entry.get("battery", 100) < 20 and wall.minute == 0:
                        errors.append({"sensor": sid, "code": "BATTERY_LOW", "message": "battery under 20 %"})
                    block[sid] = entry
                doc[category] = block
            relpath = self._relpath(name, ts)
            for slot, kind in value_faults.get(i, ()):
                category, sid, measure = slots[slot]
                entry = doc[category][sid]
                before = entry.get(measure)
                after = _faulty_value(kind, measure, before, rng) if measure in entry else before
                if after is not before:  # one fault per reading; a second draw on it is void
                    entry[measure] = after
                    self._note(kind, relpath, ts, sid, measure)
            if errors:
                doc["errors"] = errors
            out.extend(self._with_file_faults(doc, name, relpath, ts, i, file_fault_draw, rng))
        return out

    def _relpath(self, name: str, arrival: datetime) -> str:
        if self.apartment.nested_folders:
            local = arrival.astimezone(self.tz)
            return f"{self.apartment.code}/{local:%Y/%m/%d}/{name}.json"
        return f"{self.apartment.code}/{name}.json"

    def _with_file_faults(
        self,
        doc: dict,
        name: str,
        relpath: str,
        ts: datetime,
        i: int,
        draw: dict[str, np.ndarray],
        rng: np.random.Generator,
    ) -> list[FeedFile]:
        arrival = ts + timedelta(seconds=int(rng.integers(2, 9)))
        kind = next((k for k in FILE_FAULTS if k in draw and draw[k][i]), None)
        extra: list[FeedFile] = []
        if kind == "unknown_category":
            doc["thermostats"] = {
                f"T-{self.apartment.code[:3].upper()}-01": {"room": "Living", "setpoint": 21.0}
            }
        elif kind == "apartment_mismatch":
            doc["apartment"] = f"{self.apartment.code}-old"
        elif kind == "conflicting_duplicate":
            other = json.loads(json.dumps(doc))
            for block in other.values():
                if isinstance(block, dict):
                    for entry in block.values():
                        if isinstance(entry, dict) and isinstance(entry.get("power"), (int, float)):
                            entry["power"] = round(entry["power"] * 1.1 + 1, 1)
            twin = self._relpath(name + "_b", ts)
            extra.append(
                FeedFile(
                    twin,
                    json.dumps(other, separators=(",", ":")).encode(),
                    ts,
                    arrival + timedelta(seconds=20),
                )
            )
        text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        data = text.encode("utf-8")
        if kind == "malformed_json":
            cut = int(rng.integers(10, len(text) - 10))
            data = (text[:cut] + '",}{' + text[cut:]).encode()
        elif kind == "truncated":
            data = data[: int(rng.integers(5, len(data) - 5))]
        elif kind == "empty_file":
            data = b""
        elif kind == "not_utf8":
            data = text.replace('"Living"', '"Séjour"').encode("latin-1", errors="replace")
        elif kind == "bom":
            data = b"\xef\xbb\xbf" + data
        elif kind == "duplicate_document":
            extra.append(
                FeedFile(self._relpath(name + "_copy", ts), data, ts, arrival + timedelta(seconds=30))
            )
        elif kind == "late_file":
            arrival = ts + timedelta(minutes=int(rng.integers(60, 60 * 72)))
            relpath = self._relpath(name, arrival)
        if kind:
            self._note(
                kind, relpath, ts, detail=f"arrives {arrival.isoformat()}" if kind == "late_file" else ""
            )
        return [FeedFile(relpath, data, ts, arrival), *extra]
