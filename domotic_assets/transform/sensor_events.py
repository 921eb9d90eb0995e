"""One local day of Bronze sensor files -> the rows of `silver.sensor_events`, with accounts.

Rules (each has a test):

* **Missing values** (null, "", "NaN", unreadable strings, and sentinels where their measure cannot
  take them: `contracts.bounds`) are not rows; they are counted per file as `readings_missing`.
* **Duplicates**: one row per (apartment, sensor, measure, ts). The copy from the file that
  arrived **last** wins (newest modification time, then the larger source path): a gateway that
  sends a minute again sends its correction. The readings that lost are counted per file as
  `readings_duplicate`.
* **The repeated autumn hour** with wall-clock timestamps: the first file of an apartment with a
  given ambiguous wall time is summer time (the Bronze rule); a second file with the same wall
  time and different bytes arrived an hour later and is read as winter time. Identical bytes are
  a duplicate document, not a second hour.
* **Cumulative counters** (`total`) that go backwards are resets (a re-paired plug): the reading is
  kept and marked `counter_reset`, never read as negative energy.
* **Outliers**: see `outliers` (flagged, never removed).
* **Unknown sensors and rooms** are loaded all the same; `warehouse.silver_tables` reports them
  against the pidb dimensions in `unknown_references`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import NamedTuple

import numpy as np
import pandas as pd

from domotic_assets.contracts.bounds import bounds_for, possible
from domotic_assets.contracts.sensor_file import (
    MEASURES,
    QuarantineError,
    SensorDocument,
    device_errors,
    iter_sensors,
    read_sensor_file,
)
from domotic_assets.contracts.timestamps import AMBIGUOUS, zone
from domotic_assets.contracts.values import SENTINELS, read_number
from domotic_assets.transform.outliers import flag_outliers

EVENT_COLUMNS = (
    "apartment",
    "room",
    "sensor",
    "category",
    "measure",
    "ts",
    "value",
    "unit",
    "is_outlier",
    "outlier_reason",
    "counter_reset",
    "ts_flag",
    "source_file_id",
)
KEY_COLUMNS = ["apartment", "sensor", "measure", "ts"]
"""The unique key of `silver.sensor_events`, in the order of its index (and of a day's rows)."""
JUDGED_COLUMNS = ["is_outlier", "outlier_reason", "counter_reset"]
"""What the rules decide about a reading."""
RESET_TOLERANCE_KWH = 0.01
"""A counter reading below the previous one by more than this is a reset (a re-paired plug starts
again near zero); a smaller backward step is rounding jitter of the meter (1 Wh in real exports):
no reset, and Gold counts zero energy for it."""
UNITS = {(c, m): u for c, ms in MEASURES.items() for m, u in ms.items()}
ATTRIBUTES = {"doors": ("kind",), "consumptions": ("meter",), "plugs": ("device",)}
"""Text attributes of a sensor that Gold needs (a door or a window, the main meter), kept per day."""
ATTRIBUTE_COLUMNS = ["apartment", "sensor", "attribute", "value", "last_ts"]


class SourceFile(NamedTuple):
    """A Bronze file to read (a tuple: a day's thousands are made, and sent to a worker, cheaply)."""

    file_id: int
    bronze_path: str
    apartment: str
    mtime_ns: int
    source_path: str
    checksum: str


@dataclass
class DayReadings:
    events: pd.DataFrame
    files: pd.DataFrame
    """Per file: file_id, readings_total, readings_missing, readings_duplicate, rows_loaded, status,
    reason."""
    errors: pd.DataFrame
    """Device error reports of the feed: apartment, sensor, ts, code, message, source_file_id."""
    attributes: pd.DataFrame
    """The newest value of each sensor's text attributes (ATTRIBUTES): apartment, sensor, attribute, value,
    last_ts."""


MEASURE_BOUNDS = tuple(
    (category, tuple((measure, bounds_for(category, measure)) for measure in measures))
    for category, measures in MEASURES.items()
)
"""Each category's measures with their physical bounds, in the contract's order (the parse loop's table)."""
_INFINITIES = (math.inf, -math.inf)


def _value(raw: object, bounds: tuple[float, float]) -> float | None:
    """read_number's value (None: missing, an infinity included) for the common types without a call;
    the rest (strings, None, other types) falls back to read_number."""
    if type(raw) is float:
        if raw != raw or raw in _INFINITIES:  # NaN, or an infinity
            return None
        value = raw
    elif type(raw) is bool:
        return 1.0 if raw else 0.0
    elif type(raw) is int:
        value = float(raw)
    else:
        return read_number(raw, bounds)[0]
    if value in SENTINELS and not possible(value, bounds):
        return None
    return value


@dataclass
class _Parsed:
    """Column lists of every readable value, and per-file accounts, before any rule is applied."""

    n: int
    series: list = field(default_factory=list)
    """Per value, its index in `keys`."""
    keys: dict = field(default_factory=dict)
    """(category, sensor, room, measure) -> its index, in order of first appearance."""
    measures_of: dict = field(default_factory=dict)
    """(category, sensor, room) -> {measure: its index in `keys`}: a reading finds its series by measure."""
    value: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    attributes: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.totals = np.zeros(self.n, dtype=np.int64)
        self.values = np.zeros(self.n, dtype=np.int64)
        """Per file, how many values it gave (they follow each other in file order)."""
        self.missing = np.zeros(self.n, dtype=np.int64)
        self.doc_ts = np.zeros(self.n, dtype=np.int64)
        self.status = ["loaded"] * self.n
        self.reasons: list[str | None] = [None] * self.n
        self.flags: list[str | None] = [None] * self.n


def _parse(
    files: list[SourceFile], read_bytes: Callable[[str], bytes], tz_of: Callable[[str], str]
) -> _Parsed:
    """The hot loop: one pass over every document, appending to flat columns (locals: it is hot)."""
    out = _Parsed(len(files))
    add_series, add_value, keys, measures_of = out.series.append, out.value.append, out.keys, out.measures_of
    for index, source in enumerate(files):
        try:
            doc = read_sensor_file(read_bytes(source.bronze_path), source.apartment, tz_of(source.apartment))
        except QuarantineError as problem:  # Bronze already judged it; a re-judgement is still honoured
            out.status[index], out.reasons[index] = "quarantined", problem.reason
            continue
        except FileNotFoundError:
            out.status[index], out.reasons[index] = "quarantined", "bronze_copy_missing"
            continue
        out.doc_ts[index] = int(doc.ts.timestamp()) * 1_000_000_000 + doc.ts.microsecond * 1000
        out.flags[index] = doc.ts_flag
        total = missing = 0
        given = len(out.value)
        body = doc.body
        for category, measures in MEASURE_BOUNDS:  # iter_values, unrolled: this runs per reading
            sensors = body.get(category)
            if not isinstance(sensors, dict):
                continue
            for sensor, attributes in sensors.items():
                if not isinstance(attributes, dict):
                    continue
                room = attributes.get("room")
                if not isinstance(room, str):
                    room = None
                own = measures_of.get((category, sensor, room))
                if own is None:
                    own = measures_of[category, sensor, room] = {}
                for measure, bounds in measures:
                    if measure not in attributes:
                        continue
                    total += 1
                    value = _value(attributes[measure], bounds)
                    if value is None:
                        missing += 1
                        continue
                    series = own.get(measure)
                    if series is None:
                        series = own[measure] = keys[category, sensor, room, measure] = len(keys)
                    add_series(series)
                    add_value(value)
        out.totals[index], out.missing[index] = total, missing
        out.values[index] = len(out.value) - given
        for error in device_errors(doc):
            out.errors.append(
                (
                    source.apartment,
                    error["sensor"],
                    doc.ts,
                    error["code"],
                    error.get("message"),
                    source.file_id,
                )
            )
        _note_attributes(out.attributes, source.apartment, doc)
    return out


def _note_attributes(seen: dict, apartment: str, doc: SensorDocument) -> None:
    """Keep the newest value of each text attribute of the document's sensors."""
    for category, sensor, attributes in iter_sensors(doc, ATTRIBUTES):
        for name in ATTRIBUTES[category]:
            value = attributes.get(name)
            if isinstance(value, str):
                key = (apartment, sensor, name)
                if key not in seen or seen[key][1] <= doc.ts:
                    seen[key] = (value, doc.ts)


def read_day(
    files: Iterable[SourceFile],
    read_bytes: Callable[[str], bytes],
    tz_of: Callable[[str], str],
    previous_totals: dict[tuple[str, str], float] | None = None,
) -> DayReadings:
    """The rows of these files under every rule. `previous_totals`: the last plausible counter value
    per (apartment, sensor) before the first of them, to see a reset at the boundary (midnight)."""
    files = list(files)
    parsed = _parse(files, read_bytes, tz_of)
    doc_ts, flags = parsed.doc_ts, parsed.flags
    _second_autumn_hour(files, doc_ts, flags, tz_of)
    file_index = np.repeat(np.arange(len(files), dtype=np.int64), parsed.values)
    series = np.asarray(parsed.series, dtype=np.int64)
    keys = list(parsed.keys)  # text columns as categoricals: codes per value, each text once per series
    frame = pd.DataFrame(
        {
            "file": file_index,
            "apartment": pd.Categorical([files[i].apartment for i in range(len(files))])[file_index],
            **{
                name: _categorical([key[position] for key in keys], series)
                for position, name in enumerate(("category", "sensor", "room", "measure"))
            },
            "series": series,
            "ts_ns": doc_ts[file_index],
            "value": np.asarray(parsed.value, dtype=float),
        }
    )
    rank = np.empty(len(files), dtype=np.int64)
    rank[sorted(range(len(files)), key=lambda i: (files[i].mtime_ns, files[i].source_path))] = np.arange(
        len(files)
    )
    frame["arrival_rank"] = rank[file_index]
    frame = frame.sort_values(
        ["apartment", "sensor", "measure", "ts_ns", "arrival_rank"], kind="stable", ignore_index=True
    )
    winner = ~frame.duplicated(["apartment", "sensor", "measure", "ts_ns"], keep="last")
    duplicates = np.bincount(frame.loc[~winner, "file"].to_numpy(), minlength=len(files))
    events = flag_outliers(frame[winner].reset_index(drop=True), previous_totals)
    events = _counter_resets(events, previous_totals or {})
    event_file = events["file"].to_numpy()
    loaded = np.bincount(event_file, minlength=len(files))

    out = pd.DataFrame(
        {
            "apartment": events["apartment"],
            "room": events["room"],
            "sensor": events["sensor"],
            "category": events["category"],
            "measure": events["measure"],
            "ts": pd.DatetimeIndex(events["ts_ns"].to_numpy().view("datetime64[ns]")).tz_localize("UTC"),
            "value": events["value"],
            "unit": _categorical([UNITS[(key[0], key[3])] for key in keys], events["series"].to_numpy()),
            "is_outlier": events["is_outlier"],
            "outlier_reason": events["outlier_reason"],
            "counter_reset": events["counter_reset"],
            "ts_flag": np.asarray(flags, dtype=object)[event_file],
            "source_file_id": np.asarray([f.file_id for f in files], dtype=np.int64)[event_file],
        },
        columns=list(EVENT_COLUMNS),
    )
    per_file = pd.DataFrame(
        {
            "file_id": [f.file_id for f in files],
            "readings_total": parsed.totals,
            "readings_missing": parsed.missing,
            "readings_duplicate": duplicates,
            "rows_loaded": loaded,
            "status": parsed.status,
            "reason": parsed.reasons,
        }
    )
    attributes = pd.DataFrame(
        [(*key, value, ts) for key, (value, ts) in parsed.attributes.items()], columns=ATTRIBUTE_COLUMNS
    )
    return DayReadings(
        events=out,
        files=per_file,
        errors=pd.DataFrame(
            parsed.errors, columns=["apartment", "sensor", "ts", "code", "message", "source_file_id"]
        ),
        attributes=attributes,
    )


def _categorical(per_series: list, series: np.ndarray) -> pd.Categorical:
    """The column whose value is `per_series[s]` on each row of series `s`, built from codes (no text per
    row); its categories are sorted, so sorting by it sorts by the text."""
    small = pd.Categorical(per_series)
    return pd.Categorical.from_codes(small.codes[series], dtype=small.dtype)


def _second_autumn_hour(
    files: list[SourceFile], doc_ts: np.ndarray, flags: list, tz_of: Callable[[str], str]
) -> None:
    """Move the second arrival of an ambiguous wall time (different bytes) to winter time."""
    seen: dict[tuple[str, int], set[str]] = {}
    order = sorted(
        (i for i, f in enumerate(flags) if f == AMBIGUOUS),
        key=lambda i: (files[i].mtime_ns, files[i].source_path),
    )
    for i in order:
        key = (files[i].apartment, int(doc_ts[i]))
        checksums = seen.setdefault(key, set())
        if checksums and files[i].checksum not in checksums:
            tz = zone(tz_of(files[i].apartment))
            instant = pd.Timestamp(int(doc_ts[i]), tz="UTC").to_pydatetime()
            wall = instant.astimezone(tz).replace(tzinfo=None)
            shift = wall.replace(tzinfo=tz, fold=0).utcoffset() - wall.replace(tzinfo=tz, fold=1).utcoffset()
            doc_ts[i] += int(shift / timedelta(microseconds=1)) * 1000
        checksums.add(files[i].checksum)


def last_totals(events: pd.DataFrame) -> dict[tuple[str, str], float]:
    """The last plausible counter reading per (apartment, sensor) of a day's events."""
    plausible = events[(events["measure"] == "total") & ~events["is_outlier"]].sort_values("ts")
    last = plausible.groupby(["apartment", "sensor"], sort=False, observed=True)["value"].last()
    return {(str(a), str(s)): float(v) for (a, s), v in last.items()}


def with_previous_totals(events: pd.DataFrame, previous_totals: dict[tuple[str, str], float]) -> pd.DataFrame:
    """The counter rules of a day's events (spikes, resets) judged again against the previous day's last
    readings: for days transformed side by side, whose previous day was not in Silver yet."""
    totals = events.index[events["measure"] == "total"]
    if not len(totals) or not previous_totals:
        return events
    part = events.loc[totals, ["apartment", "sensor", "category", "measure", "value"]].reset_index(drop=True)
    part["ts_ns"] = events.loc[totals, "ts"].astype("int64").to_numpy()
    judged = _counter_resets(flag_outliers(part, previous_totals), previous_totals)
    events.loc[totals, JUDGED_COLUMNS] = judged[JUDGED_COLUMNS].to_numpy()
    return events


def changed_flags(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """The rows of `after` (the same rows as `before`, judged again) whose flags changed: their key and
    new flags."""
    changed = np.zeros(len(after), dtype=bool)
    for column in JUDGED_COLUMNS:
        old, new = before[column].to_numpy(), after[column].to_numpy()
        changed |= (old != new) & ~(pd.isna(old) & pd.isna(new))
    return after.loc[changed, KEY_COLUMNS + JUDGED_COLUMNS].reset_index(drop=True)


def _counter_resets(events: pd.DataFrame, previous_totals: dict[tuple[str, str], float]) -> pd.DataFrame:
    events["counter_reset"] = False
    totals = (events["measure"] == "total") & ~events["is_outlier"]
    if totals.any():
        part = events.loc[totals, ["apartment", "sensor", "value"]]
        before = part.groupby(["apartment", "sensor"], sort=False, observed=True)["value"].shift(1)
        first = before.isna()
        if previous_totals and first.any():
            keys = list(zip(part.loc[first, "apartment"].astype(str), part.loc[first, "sensor"]))
            before.loc[first] = [previous_totals.get(k, np.nan) for k in keys]
        events.loc[totals, "counter_reset"] = (part["value"] < before - RESET_TOLERANCE_KWH).to_numpy()
    return events
