"""Live telemetry of households over MQTT: meters, PV inverters and home batteries.

A household's load follows a day (base load, morning, midday and evening peaks, a few appliance
runs); PV follows the simulated weather's radiation at its site and its installed kWp; a
battery charges from PV surplus and discharges to cover the load within its state-of-charge
bounds. The first households are the reference apartments (pidb building ids 1, 2, ... with
their PV and battery); more are generated. Deterministic per seed.

Real streams are untidy, and so is this one (`TELEMETRY_FAULT_RATES`): duplicated messages, late
(out-of-order) messages, malformed ones of four kinds, and household outages (silent for 30-60
minutes). Each message says what it is and which readings it should leave in the warehouse,
so tests can check the consumer exactly.
"""

from __future__ import annotations

import heapq
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import orjson

from domotic_assets.contracts.timestamps import zone
from domotic_assets.optimise.household_parameters import PV_PERFORMANCE_RATIO
from domotic_assets.settings import PLATFORM_TIMEZONE
from domotic_assets.simulator.apartments import apartments_for
from domotic_assets.simulator.weather import truth
from domotic_assets.stream.publisher import Publisher

MALFORMED = ("malformed_json", "bad_value", "missing_timestamp", "household_mismatch")
TELEMETRY_FAULT_RATES = {
    "none": {"duplicate": 0.0, "late": 0.0, "malformed": 0.0, "outage": 0.0},
    "default": {"duplicate": 5e-3, "late": 3e-3, "malformed": 2e-3, "outage": 0.1},
    "heavy": {"duplicate": 0.04, "late": 0.03, "malformed": 0.02, "outage": 0.3},
}
"""Per message (duplicate, late, malformed) and per household-day (outage)."""
LATE_BY = (20, 400)
"""A late message is sent this many messages after its turn (out of order)."""


@dataclass(frozen=True)
class Household:
    id: str
    """The topic's household: a pidb building id."""
    site: str
    pv_kwp: float
    battery_kwh: float
    base_w: float


@dataclass(frozen=True)
class SimMessage:
    topic: str
    payload: bytes
    ts: datetime
    """The instant the message stands for (its reading time)."""
    kind: str
    """`reading`, `duplicate`, `late`, or one of MALFORMED."""
    keys: tuple[tuple[str, str, datetime, float], ...]
    """(household, measure, ts, value) the warehouse must hold once this message is in."""


def simulated_households(
    count: int, apartments: tuple[str, ...] = ("jimmy", "jeremie"), seed: int = 42
) -> list[Household]:
    """The reference apartments first (building ids in pidb order), then generated households."""
    out = [
        Household(str(i), a.weather_site, a.pv_kwp, a.battery_kwh, 110.0 + 30 * i)
        for i, a in enumerate(apartments_for(list(apartments)), 1)
    ][:count]
    rng = np.random.default_rng([seed, 11])
    for i in range(len(out) + 1, count + 1):
        pv = float(rng.choice([0.0, 4.0, 6.0, 8.5, 10.0], p=[0.4, 0.15, 0.2, 0.15, 0.1]))
        battery = float(rng.choice([0.0, 5.0, 10.0, 13.5], p=[0.5, 0.15, 0.25, 0.1])) if pv else 0.0
        out.append(
            Household(str(i), str(rng.choice(["Sion", "Sierre"])), pv, battery, float(rng.uniform(80, 300)))
        )
    return out


def _bump(minutes: np.ndarray, centre: float, width: float, height: float) -> np.ndarray:
    return height * np.exp(-0.5 * ((minutes - centre) / width) ** 2)


def load_watts(household: Household, day: date, minutes: np.ndarray, seed: int) -> np.ndarray:
    """The household's consumption (W) at these minutes of a local day."""
    rng = np.random.default_rng([seed, zlib.crc32(household.id.encode()), day.toordinal()])
    weekend = day.weekday() >= 5
    load = household.base_w + 60 * np.sin(2 * np.pi * minutes / 47.0) ** 2  # fridge and standby
    load += _bump(minutes, 540 if weekend else 435, 45, 500)
    load += _bump(minutes, 735, 35, 350 if weekend else 200)
    load += _bump(minutes, 1140, 95, 750)
    for _ in range(rng.poisson(3)):  # cooking, kettle, washing machine, dishwasher
        start, length = rng.uniform(360, 1380), rng.uniform(5, 45)
        load += np.where((minutes >= start) & (minutes < start + length), rng.uniform(1000, 2200), 0.0)
    return np.maximum(load * (1 + 0.05 * rng.standard_normal(len(minutes))), 40.0)


class _Battery:
    """A rule-based home battery: PV surplus charges it, it discharges to cover the load."""

    def __init__(self, capacity_kwh: float):
        self.capacity = capacity_kwh
        self.soc = 0.5
        self.max_kw = capacity_kwh / 2

    def step(self, surplus_w: float, hours: float) -> tuple[float, float]:
        """(state of charge %, power W: positive charging, negative discharging)."""
        if surplus_w > 0:
            room = (0.95 - self.soc) * self.capacity / hours / 0.95 * 1000
            power = min(surplus_w, self.max_kw * 1000, max(room, 0.0))
            self.soc += power / 1000 * hours * 0.95 / self.capacity
        else:
            available = (self.soc - 0.10) * self.capacity / hours * 0.95 * 1000
            power = -min(-surplus_w, self.max_kw * 1000, max(available, 0.0))
            self.soc += power / 1000 * hours / 0.95 / self.capacity
        return round(self.soc * 100, 2), round(power, 1)


def _stamp(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def _clean_messages(
    households: list[Household],
    start: datetime,
    end: datetime,
    step_seconds: int,
    seed: int,
    outage_rate: float,
) -> Iterator[SimMessage]:
    """Every reading message from `start` (included) to `end` (excluded), in time order."""
    local = zone(PLATFORM_TIMEZONE)
    batteries = {h.id: _Battery(h.battery_kwh) for h in households if h.battery_kwh}
    step = timedelta(seconds=step_seconds)
    day = start.astimezone(local).date()
    while True:
        day_start = datetime(day.year, day.month, day.day, tzinfo=local).astimezone(UTC)
        day_end = datetime.combine(day + timedelta(days=1), datetime.min.time(), local).astimezone(UTC)
        first = max(start, day_start)
        first += (day_start - first) % step  # instants on the step grid of the day
        count = max(0, int(np.ceil((min(end, day_end) - first) / step)))
        if first >= end:
            return
        instants = [first + i * step for i in range(count)]
        minutes = np.array([(t - day_start).total_seconds() / 60 for t in instants])
        per_household = {}
        for h in households:
            loads = load_watts(h, day, minutes, seed)
            pv = np.zeros(count)
            if h.pv_kwp:
                epoch_minutes = np.array([t.timestamp() // 60 for t in instants])
                pv = h.pv_kwp * truth(h.site, seed, epoch_minutes)["radiation"] * PV_PERFORMANCE_RATIO
            rng = np.random.default_rng([seed, zlib.crc32(h.id.encode()), day.toordinal(), 5])
            silent = np.zeros(count, dtype=bool)
            if rng.random() < outage_rate:
                begin = rng.uniform(0, 1380)
                silent = (minutes >= begin) & (minutes < begin + rng.uniform(30, 60))
            per_household[h.id] = (loads, pv, silent)
        hours = step_seconds / 3600
        for i, ts in enumerate(instants):
            stamp = _stamp(ts)
            for h in households:
                loads, pv, silent = per_household[h.id]
                household_id = int(h.id) if h.id.isdigit() else h.id
                readings = [("meter", {"consumption_w": round(float(loads[i]), 1)})]
                if h.pv_kwp:
                    readings.append(("pv", {"pv_w": round(float(pv[i]), 1)}))
                if h.id in batteries:
                    soc, power = batteries[h.id].step(float(pv[i] - loads[i]), hours)
                    readings.append(("battery", {"soc_pct": soc, "power_w": power}))
                if silent[i]:
                    continue
                for kind, values in readings:
                    body = {"household_id": household_id, "ts": stamp, **values}
                    keys = tuple((h.id, measure, ts, float(values[key])) for key, measure in _MEASURES[kind])
                    yield SimMessage(f"home/{h.id}/{kind}", orjson.dumps(body), ts, "reading", keys)
        day += timedelta(days=1)


_MEASURES = {
    "meter": (("consumption_w", "consumption"),),
    "pv": (("pv_w", "pv_power"),),
    "battery": (("soc_pct", "battery_soc"), ("power_w", "battery_power")),
}


def _malformed(message: SimMessage, kind: str) -> SimMessage:
    body = orjson.loads(message.payload)
    if kind == "malformed_json":
        payload = message.payload[: len(message.payload) // 2]
    elif kind == "bad_value":
        payload = orjson.dumps(
            {k: ("n/a" if k not in ("household_id", "ts") else v) for k, v in body.items()}
        )
    elif kind == "missing_timestamp":
        payload = orjson.dumps({k: v for k, v in body.items() if k != "ts"})
    else:
        payload = orjson.dumps({**body, "household_id": f"{body['household_id']}9"})
    return SimMessage(message.topic, payload, message.ts, kind, ())


def telemetry_messages(
    households: list[Household],
    start: datetime,
    end: datetime,
    step_seconds: int = 60,
    seed: int = 42,
    faults: str = "default",
) -> Iterator[SimMessage]:
    """The stream in the order it is published, faults included (deterministic per seed)."""
    rates = TELEMETRY_FAULT_RATES[faults]
    rng = np.random.default_rng([seed, 29])
    held: list[tuple[int, int, SimMessage]] = []
    position = 0
    for message in _clean_messages(households, start, end, step_seconds, seed, rates["outage"]):
        draw = rng.random()
        if draw < rates["malformed"]:
            # the reading is lost at the source: the gateway sent garbage instead
            message = _malformed(message, MALFORMED[int(rng.integers(len(MALFORMED)))])
        elif draw < rates["malformed"] + rates["late"]:
            heapq.heappush(
                held,
                (
                    position + int(rng.integers(*LATE_BY)),
                    position,
                    SimMessage(message.topic, message.payload, message.ts, "late", message.keys),
                ),
            )
            continue
        while held and held[0][0] <= position:
            yield heapq.heappop(held)[2]
        yield message
        position += 1
        if message.kind == "reading" and rng.random() < rates["duplicate"]:
            yield SimMessage(message.topic, message.payload, message.ts, "duplicate", message.keys)
    while held:
        yield heapq.heappop(held)[2]


@dataclass
class PublishSummary:
    messages: int = 0
    readings: int = 0
    """Readings the warehouse should hold once every message is in (duplicates counted once)."""
    seconds: float = 0.0
    kinds: dict[str, int] = field(default_factory=dict)


def publish_telemetry(
    publisher: Publisher,
    messages: Iterable[SimMessage],
    rate: float | None = None,
    burst: int = 1,
    live_speed: float | None = None,
    log: Callable[[str], None] | None = None,
) -> PublishSummary:
    """Publish a stream: as fast as the broker takes it, at `rate` messages a second in bursts of
    `burst`, or live (each message at its own time, `live_speed` times real time). Returns once the
    broker has acknowledged every message."""
    began = time.monotonic()
    summary, allowance, last = PublishSummary(), float(burst), began
    first_ts = None
    for message in messages:
        if live_speed:
            first_ts = first_ts or message.ts
            wait = (message.ts - first_ts).total_seconds() / live_speed - (time.monotonic() - began)
            if wait > 0:
                time.sleep(wait)
        elif rate:
            now = time.monotonic()
            allowance = min(float(burst), allowance + (now - last) * rate)
            last = now
            if allowance < 1:
                time.sleep((1 - allowance) / rate)
                allowance, last = 1.0, time.monotonic()
            allowance -= 1
        publisher.publish(message.topic, message.payload)
        summary.messages += 1
        summary.kinds[message.kind] = summary.kinds.get(message.kind, 0) + 1
        if message.kind in ("reading", "late"):
            summary.readings += len(message.keys)
        if log and summary.messages % 50_000 == 0:
            log(f"mqtt: {summary.messages} messages, simulated time {message.ts:%Y-%m-%d %H:%M} UTC")
    publisher.close()
    summary.seconds = time.monotonic() - began
    return summary
