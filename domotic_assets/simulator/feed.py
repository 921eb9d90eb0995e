"""`domotic simulate`: write a realistic feed (sensor files, weather files, pidb, manifest).

Batch mode writes a whole date range as fast as the disk allows, one process per apartment;
live mode writes one file per apartment per simulated minute as time passes, the way a
gateway does, including files caught half-written.
"""

from __future__ import annotations

import csv
import heapq
import io
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import holidays
import numpy as np
import pandas as pd

from domotic_assets.contracts.timestamps import zone
from domotic_assets.contracts.weather_file import file_name
from domotic_assets.simulator.anomalies import RATES as ANOMALY_RATES
from domotic_assets.simulator.anomalies import plan_day
from domotic_assets.simulator.apartments import Apartment, apartments_for
from domotic_assets.simulator.documents import DocumentWriter, FeedFile
from domotic_assets.simulator.faults import PROFILES, FaultRates
from domotic_assets.simulator.occupancy import simulate_day
from domotic_assets.simulator.pidb import write_pidb
from domotic_assets.simulator.signals import ApartmentState, simulate_signals
from domotic_assets.simulator.weather import MISSING, forecast_rows, truth


@dataclass(frozen=True)
class SimulationConfig:
    out: Path
    apartments: tuple[str, ...] = ("jimmy", "jeremie")
    start: date = date(2023, 8, 18)
    days: int = 7
    seed: int = 42
    faults: str = "default"
    pidb_url: str | None = None
    anomaly_rate: float | None = None
    """Probability per apartment-day of each injected anomaly; None: the fault profile's rate."""

    @property
    def share(self) -> Path:
        return self.out / "share"

    @property
    def meteo(self) -> Path:
        return self.out / "meteo2"

    @property
    def pidb(self) -> str:
        """Where the simulated pidb goes: --pidb-url, or a SQLite file beside the feed."""
        return self.pidb_url or f"sqlite:///{self.out / 'pidb.sqlite'}"

    @property
    def rates(self) -> FaultRates:
        return PROFILES[self.faults]

    @property
    def anomalies(self) -> float:
        return ANOMALY_RATES[self.faults] if self.anomaly_rate is None else self.anomaly_rate


@dataclass
class SimulationSummary:
    files: int = 0
    readings: int = 0
    weather_files: int = 0
    anomalies: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


class ApartmentFeed:
    """Generates one apartment's files day by day, carrying physical state across midnight."""

    def __init__(self, apartment: Apartment, index: int, config: SimulationConfig):
        self.apartment = apartment
        self.index = index
        self.config = config
        self.tz = zone(apartment.timezone)
        self.state = ApartmentState()
        self.faults: list[dict] = []
        self.anomalies: list[dict] = []
        self.occupancy: list[pd.DataFrame] = []
        self.writer = DocumentWriter(apartment, config.rates, self.faults)
        self.readings = 0

    def day(self, day: date) -> list[FeedFile]:
        cfg, apt = self.config, self.apartment
        start = datetime(day.year, day.month, day.day, tzinfo=self.tz).astimezone(UTC)
        nxt = day + timedelta(days=1)
        end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=self.tz).astimezone(UTC)
        n = int((end - start).total_seconds() // 60)
        instants = [start + timedelta(minutes=i) for i in range(n)]
        epoch = np.arange(n) + int(start.timestamp() // 60)
        outdoor = truth(apt.weather_site, cfg.seed, epoch)
        rng = np.random.default_rng([cfg.seed, self.index, day.toordinal()])
        working = day.weekday() < 5 and day not in public_holidays(day.year)
        heating = float(np.mean(outdoor["temperature"])) < 14.0
        occ = simulate_day(apt, working, rng, n)
        plan = plan_day(
            apt, np.random.default_rng([cfg.seed, self.index, day.toordinal(), 8]), n, heating, cfg.anomalies
        )
        self.anomalies += [
            {
                "kind": e["kind"],
                "apartment": apt.code,
                "sensor": e["sensor"],
                "room": e["room"],
                "start": instants[e["first"]],
                "end": instants[e["last"]] + timedelta(minutes=1),
                "detail": e["detail"],
            }
            for e in plan.events
        ]
        signals = simulate_signals(apt, occ, outdoor, working, heating, rng, self.state, plan)
        missing, overrides = self._events(day, instants, signals.values, rng)
        files = self.writer.day_files(instants, signals.values, missing, overrides, rng)
        self.readings += sum(int(np.count_nonzero(~np.isnan(v[~missing]))) for v in signals.values.values())
        stamps = pd.to_datetime(epoch, unit="m", utc=True)
        for r, room in enumerate(occ.rooms):
            self.occupancy.append(
                pd.DataFrame(
                    {
                        "apartment": apt.code,
                        "ts": stamps,
                        "room": room,
                        "people": (occ.location == r).sum(axis=0).astype(np.int8),
                    }
                )
            )
        return files

    def _events(self, day, instants, values, rng):
        """Gaps, stuck sensors, counter resets, unknown sensors and room mismatches for one day."""
        rates, n, apt = self.config.rates.per_day, len(instants), self.apartment
        missing = np.zeros(n, dtype=bool)
        overrides: dict[str, tuple[np.ndarray, str]] = {}

        def window(lo, hi):
            start = int(rng.integers(0, n - hi))
            return start, start + int(rng.integers(lo, hi))

        def note(kind, a, b, sensor=None, measure=None, detail=""):
            self.faults.append(
                {
                    "kind": kind,
                    "apartment": apt.code,
                    "file": None,
                    "ts": instants[a],
                    "sensor": sensor,
                    "measure": measure,
                    "detail": f"until {instants[b - 1].isoformat()} {detail}".strip(),
                }
            )

        if rng.random() < rates["gap"]:
            a, b = window(10, 90)
            missing[a:b] = True
            note("gap", a, b)
        if rng.random() < rates["stuck_sensor"]:
            sensor = [s for s in apt.sensors if s.category == "meteos"][int(rng.integers(2))]
            measure = ["temperature", "humidity", "co2"][int(rng.integers(3))]
            a, b = window(180, 480)
            series = values[(sensor.external_id, measure)]
            series[a:b] = series[a]
            note("stuck_sensor", a, b, sensor.external_id, measure)
        if rng.random() < rates["counter_reset"]:
            plug = [s for s in apt.sensors if s.category == "plugs"][int(rng.integers(6))]
            a = int(rng.integers(0, n))
            series = values[(plug.external_id, "total")]
            offset = series[a] - 0.001
            series[a:] -= offset
            self.state.counters_kwh[plug.external_id] -= offset
            note("counter_reset", a, a + 1, plug.external_id, "total", "plug re-paired")
        if rng.random() < rates["unknown_sensor"]:
            a, b = window(60, 300)
            sid = f"P-{apt.code[:3].upper()}-99"
            power = np.full(n, np.nan)
            power[a:b] = rng.normal(40, 3, b - a)
            values[(sid, "power")] = power
            note("unknown_sensor", a, b, sid, "power")
        if rng.random() < rates["room_mismatch"]:
            sensor = [s for s in apt.sensors if s.category == "motions"][int(rng.integers(4))]
            a, b = window(60, 600)
            mask = np.zeros(n, dtype=bool)
            mask[a:b] = True
            overrides[sensor.external_id] = (mask, "Kitchen" if sensor.room != "Kitchen" else "Living")
            note("room_mismatch", a, b, sensor.external_id)
        return missing, overrides


@lru_cache
def public_holidays(year: int):
    """The simulated households' days off: the public holidays of the canton of Zurich."""
    return holidays.country_holidays("CH", subdiv="ZH", years=year)


def _batch_apartment(
    args: tuple[Apartment, int, SimulationConfig],
) -> tuple[int, int, list[dict], pd.DataFrame, list[dict]]:
    apartment, index, cfg = args
    feed = ApartmentFeed(apartment, index, cfg)
    written = 0
    made: set[Path] = set()
    for offset in range(cfg.days):
        for f in feed.day(cfg.start + timedelta(days=offset)):
            path = cfg.share / f.relpath
            if path.parent not in made:
                path.parent.mkdir(parents=True, exist_ok=True)
                made.add(path.parent)
            path.write_bytes(f.data)
            stamp = int(f.arrival.timestamp() * 1e9)
            os.utime(path, ns=(stamp, stamp))
            written += 1
    occupancy = pd.concat(feed.occupancy, ignore_index=True) if feed.occupancy else pd.DataFrame()
    return written, feed.readings, feed.faults, occupancy, feed.anomalies


def weather_file(sites: list[str], cfg: SimulationConfig, issued: date, faults: list[dict]) -> bytes:
    """The CSV the weather service issues on `issued`, with its faults, as bytes."""
    rng = np.random.default_rng([cfg.seed, 99, issued.toordinal()])
    rates = cfg.rates.per_weather_file
    rows = [row for site in sites for row in forecast_rows(site, cfg.seed, issued, rng)]
    name = file_name(issued)

    def note(kind, detail=""):
        faults.append(
            {
                "kind": f"weather_{kind}",
                "apartment": None,
                "file": f"meteo2/{name}",
                "ts": None,
                "sensor": None,
                "measure": None,
                "detail": detail,
            }
        )

    if rng.random() < rates["missing_value"]:
        for i in rng.integers(0, len(rows), 3):
            rows[int(i)][1] = MISSING
        note("missing_value", "3 values -99999")
    if rng.random() < rates["duplicate_rows"]:
        rows += [list(rows[int(i)]) for i in rng.integers(0, len(rows), 5)]
        note("duplicate_rows", "5 rows repeated")
    if rng.random() < rates["unknown_site"]:
        rows += [[r[0], r[1], r[2], "Zermatt", r[4], r[5]] for r in rows[:8]]
        note("unknown_site", "Zermatt")
    if rng.random() < rates["reissued"]:
        note("reissued", "corrected copy issued later the same day")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["Time", "Value", "Prediction", "Site", "Measurement", "Unit"])
    writer.writerows(rows)
    data = buffer.getvalue().encode("utf-8")
    if rng.random() < rates["bom"]:
        data = b"\xef\xbb\xbf" + data
    return data


def _sites(apartments: list[Apartment]) -> list[str]:
    return sorted({a.weather_site for a in apartments})


def _write_weather(cfg: SimulationConfig, sites: list[str], issued: date, faults: list[dict]) -> None:
    cfg.meteo.mkdir(parents=True, exist_ok=True)
    path = cfg.meteo / file_name(issued)
    path.write_bytes(weather_file(sites, cfg, issued, faults))
    at = datetime(issued.year, issued.month, issued.day, 7, 2, tzinfo=zone("Europe/Zurich")).timestamp()
    os.utime(path, (at, at))


def write_manifest(
    out: Path, faults: list[dict], occupancy: list[pd.DataFrame], anomalies: list[dict]
) -> None:
    """Ground truth: every injected fault and anomaly, and the true number of people per room and minute."""
    folder = out / "manifest"
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(faults, columns=["kind", "apartment", "file", "ts", "sensor", "measure", "detail"])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    frame.to_parquet(folder / "faults.parquet", index=False)
    events = pd.DataFrame(
        anomalies, columns=["kind", "apartment", "sensor", "room", "start", "end", "detail"]
    )
    for column in ("start", "end"):
        events[column] = pd.to_datetime(events[column], utc=True)
    events.to_parquet(folder / "anomalies.parquet", index=False)
    occ = [o for o in occupancy if len(o)]
    if occ:
        pd.concat(occ, ignore_index=True).to_parquet(folder / "occupancy.parquet", index=False)


def simulate(cfg: SimulationConfig) -> SimulationSummary:
    """Batch mode: the whole range, one worker process per apartment (up to the core count)."""
    began = time.perf_counter()
    apartments = apartments_for(list(cfg.apartments))
    cfg.out.mkdir(parents=True, exist_ok=True)
    write_pidb(cfg.pidb, apartments, cfg.start, cfg.seed, cfg.days or 1)
    summary = SimulationSummary()
    faults: list[dict] = []
    sites = _sites(apartments)
    for offset in range(cfg.days):
        _write_weather(cfg, sites, cfg.start + timedelta(days=offset), faults)
        summary.weather_files += 1
    jobs = [(apt, i, cfg) for i, apt in enumerate(apartments)]
    workers = max(1, min(len(jobs), os.cpu_count() or 1))
    occupancy, anomalies = [], []
    with ProcessPoolExecutor(workers) as pool:
        for written, readings, apt_faults, occ, apt_anomalies in pool.map(_batch_apartment, jobs):
            summary.files += written
            summary.readings += readings
            faults += apt_faults
            occupancy.append(occ)
            anomalies += apt_anomalies
    write_manifest(cfg.out, faults, occupancy, anomalies)
    summary.anomalies = len(anomalies)
    for f in faults:
        summary.faults[f["kind"]] = summary.faults.get(f["kind"], 0) + 1
    summary.seconds = time.perf_counter() - began
    return summary


def simulate_live(
    cfg: SimulationConfig, speed: float = 1.0, start: datetime | None = None, log=print
) -> SimulationSummary:
    """Live mode: files appear as simulated time passes (`speed` times real time), each one
    written in two steps, so a reader can catch it half-written. Runs `cfg.days` days, or
    forever when `cfg.days` is 0."""
    apartments = apartments_for(list(cfg.apartments))
    cfg.out.mkdir(parents=True, exist_ok=True)
    write_pidb(cfg.pidb, apartments, cfg.start, cfg.seed, cfg.days or 1)
    feeds = [ApartmentFeed(a, i, cfg) for i, a in enumerate(apartments)]
    clock = start or datetime.now(UTC).replace(second=0, microsecond=0)
    local_tz = zone("Europe/Zurich")
    day = clock.astimezone(local_tz).date()
    stop = day + timedelta(days=cfg.days) if cfg.days else None
    summary, faults, pending = SimulationSummary(), [], []
    sequence = 0
    began_real, began_sim = time.monotonic(), clock
    while stop is None or day < stop:
        for feed in feeds:
            for f in feed.day(day):
                if f.arrival >= clock:
                    heapq.heappush(pending, (f.arrival, sequence, f))
                    sequence += 1
        if datetime(day.year, day.month, day.day, 7, tzinfo=local_tz) >= clock:
            heapq.heappush(
                pending, (datetime(day.year, day.month, day.day, 7, 2, tzinfo=local_tz), sequence, day)
            )
            sequence += 1
        day += timedelta(days=1)
        day_end = datetime(day.year, day.month, day.day, tzinfo=local_tz)
        while pending and pending[0][0] < day_end:
            arrival, _, item = heapq.heappop(pending)
            wait = (arrival - began_sim).total_seconds() / speed - (time.monotonic() - began_real)
            if wait > 0:
                time.sleep(wait)
            if isinstance(item, date):
                _write_weather(cfg, _sites(apartments), item, faults)
                summary.weather_files += 1
                continue
            path = cfg.share / item.relpath
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as handle:  # a gateway writes in pieces; readers may see half
                handle.write(item.data[: len(item.data) // 2])
                handle.flush()
                time.sleep(min(0.05, 1.0 / speed))
                handle.write(item.data[len(item.data) // 2 :])
            summary.files += 1
            if summary.files % 100 == 0:
                log(
                    f"live: {summary.files} files, simulated time "
                    f"{arrival.astimezone(local_tz):%Y-%m-%d %H:%M}"
                )
    for feed in feeds:
        faults += feed.faults
    write_manifest(
        cfg.out,
        faults,
        [o for feed in feeds for o in feed.occupancy],
        [a for feed in feeds for a in feed.anomalies],
    )
    return summary
