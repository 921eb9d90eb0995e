"""Sensor signals of one apartment for one local day, driven by occupancy and the weather.

A fridge cycles, the TV follows people in the living room, washing machine and dishwasher
run a few times a week, CO2 rises with people and falls with an open window, indoor
temperature follows the weather and heating, and cumulative counters integrate power.
State (temperatures, CO2, counters, batteries) is carried from one day to the next.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from domotic_assets.simulator.anomalies import DayAnomalies
from domotic_assets.simulator.apartments import Apartment
from domotic_assets.simulator.occupancy import DayOccupancy

OUTDOOR_CO2 = 420.0


@dataclass
class ApartmentState:
    """What carries over midnight."""

    indoor_temp: float = 22.0
    co2: dict[str, float] = field(default_factory=dict)
    bath_humidity: float = 55.0
    fridge_phase: float = 0.0
    counters_kwh: dict[str, float] = field(default_factory=dict)
    battery: dict[str, float] = field(default_factory=dict)
    days_since_wash: int = 2


@dataclass
class DaySignals:
    """`values[(sensor, measure)]` is an array over the day's minutes (NaN: nothing to report)."""

    values: dict[tuple[str, str], np.ndarray]
    n_minutes: int


def _appliance_power(
    kind: str, occ: DayOccupancy, rng: np.random.Generator, n: int, state: ApartmentState, working_day: bool
) -> np.ndarray:
    power = np.zeros(n)
    if kind == "fridge":
        period, on_len = rng.uniform(48, 56), rng.uniform(15, 19)
        phase = (state.fridge_phase + np.arange(n)) % period
        compressor = phase < on_len
        state.fridge_phase = float((state.fridge_phase + n) % period)
        power = np.where(compressor, rng.normal(86, 2.5, n), rng.normal(1.4, 0.15, n))
        return np.clip(power, 0.8, None)
    if kind == "tv":
        watching = (occ.awake_in("Living") > 0) & (np.arange(n) >= 18 * 60)
        return np.where(watching, rng.normal(98, 4, n), 0.7)
    if kind == "coffee":
        power[:] = 1.9
        kitchen = np.flatnonzero((occ.awake_in("Kitchen") > 0) & (np.arange(n) < 11 * 60))
        for start in kitchen[::25][:3]:
            power[start : start + 2] = rng.normal(1230, 25)
        return power
    if kind == "computer":
        return np.where(occ.awake_in("Office") > 0, rng.normal(125, 12, n), 2.8)
    if kind in ("washer", "dishwasher"):
        power[:] = 0.5
        runs = kind == "dishwasher" and rng.random() < 0.6
        if kind == "washer":
            state.days_since_wash += 1
            runs = state.days_since_wash >= 3 and (not working_day or rng.random() < 0.3)
        home = np.flatnonzero(occ.anyone_home() & (np.arange(n) > 8 * 60) & (np.arange(n) < 21 * 60))
        if runs and len(home):
            start = int(home[-1] if kind == "dishwasher" else rng.choice(home))
            profile = (
                ([2050.0] * 25 + [180.0] * 55 + [520.0] * 12)
                if kind == "washer"
                else ([1850.0] * 20 + [95.0] * 50 + [1800.0] * 15 + [5.0] * 10)
            )
            seg = power[start : start + len(profile)]
            seg[:] = np.array(profile[: len(seg)]) + rng.normal(0, 15, len(seg))
            if kind == "washer":
                state.days_since_wash = 0
        return power
    return power


def simulate_signals(
    apartment: Apartment,
    occ: DayOccupancy,
    outdoor: dict[str, np.ndarray],
    working_day: bool,
    heating_season: bool,
    rng: np.random.Generator,
    state: ApartmentState,
    anomalies: DayAnomalies | None = None,
) -> DaySignals:
    n = occ.location.shape[1]
    anomalies = anomalies or DayAnomalies()
    values: dict[tuple[str, str], np.ndarray] = {}
    minute = np.arange(n)

    # Windows: morning airing, and long summer evenings / nights with the bedroom window open.
    window_open: dict[str, np.ndarray] = {}
    for sensor in apartment.sensors:
        if sensor.category != "doors":
            continue
        if sensor.kind == "door":
            is_open = occ.transitions_out_in().copy()
        else:
            is_open = np.zeros(n, dtype=bool)
            if occ.anyone_home()[7 * 60 : 10 * 60].any() and rng.random() < 0.65:
                start = int(rng.integers(7 * 60, 10 * 60))
                is_open[start : start + int(rng.integers(5, 12 if heating_season else 40))] = True
            if not heating_season and rng.random() < 0.45:
                start = int(rng.integers(19 * 60, 22 * 60))
                is_open[start : start + int(rng.integers(30, 180 if sensor.room != "Bedroom" else 600))] = (
                    True
                )
            if sensor.external_id in anomalies.window_open:
                is_open = is_open | anomalies.window_open[sensor.external_id]
        window_open[sensor.room] = window_open.get(sensor.room, np.zeros(n, dtype=bool)) | (
            is_open if sensor.kind == "window" else False
        )
        values[(sensor.external_id, "open")] = is_open.astype(float)

    any_window = np.zeros(n, dtype=bool)
    for w in window_open.values():
        any_window |= w

    # Indoor temperature: first-order response to outdoor, sun, people, heating and open windows.
    temp = np.empty(n)
    t_in = state.indoor_temp
    people_total = (occ.location >= 0).sum(axis=0)
    setpoint = np.where((minute > 6 * 60) & (minute < 22 * 60), 21.0, 19.5)
    for i in range(n):
        tau = 25.0 * 60 if not any_window[i] else 2.5 * 60
        gain = 0.0009 * people_total[i] + 0.000004 * outdoor["radiation"][i]
        heat = 0.004 * max(0.0, setpoint[i] - t_in) * 60 if heating_season else 0.0
        # +4.5 K: a lived-in, insulated flat sits above the outdoor air (appliances, walls).
        t_in += (outdoor["temperature"][i] + 4.5 - t_in) / tau + gain + heat / 60
        temp[i] = t_in
    state.indoor_temp = t_in
    room_offset = {
        "Living": 0.0,
        "Bedroom": -0.7,
        "Kitchen": 0.4,
        "Bathroom": 0.9,
        "Entrance": -0.4,
        "Office": 0.2,
    }

    # CO2 per room: people breathe it in, ventilation (much faster with a window open) removes it.
    co2 = {}
    for room in {s.room for s in apartment.sensors if s.category == "meteos"}:
        level = state.co2.get(room, 600.0)
        volume = apartment.room(room).volume_m3
        awake, here = occ.awake_in(room), occ.people_in(room)
        series = np.empty(n)
        open_here = window_open.get(room, np.zeros(n, dtype=bool)) | (any_window & (room == "Living"))
        for i in range(n):
            generation = (0.30 * awake[i] + 0.18 * (here[i] - awake[i])) * 1000 / volume
            exchange = (6.0 if open_here[i] else 0.45) / 60
            level += generation - (level - OUTDOOR_CO2) * exchange
            series[i] = level
        state.co2[room] = level
        co2[room] = series

    # Bathroom humidity: showers push it up, it decays back toward the indoor baseline.
    bath = np.empty(n)
    h = state.bath_humidity
    baseline = np.clip(38 + 0.35 * (outdoor["humidity"] - 50), 30, 65)
    in_bath = occ.awake_in("Bathroom")
    for i in range(n):
        h += (8.0 if in_bath[i] and 6 * 60 < i < 10 * 60 else 0.0) - (h - baseline[i]) / 22
        bath[i] = min(h, 97.0)
    state.bath_humidity = h

    lamps_needed = outdoor["radiation"] < 60
    plug_total = np.zeros(n)
    tv_power = np.zeros(n)
    for sensor in apartment.sensors:
        sid, room = sensor.external_id, sensor.room
        if sensor.category == "plugs":
            device = next(d for d in apartment.devices if d.name == sensor.device)
            power = _appliance_power(device.kind, occ, rng, n, state, working_day)
            if device.kind == "fridge" and anomalies.fridge_off is not None:
                power = np.where(anomalies.fridge_off, 1.4, power)
            plug_total += power
            if device.kind == "tv":
                tv_power = power
            values[(sid, "power")] = power
            values[(sid, "on")] = (power > 5).astype(float)
            start = state.counters_kwh.get(sid, float(rng.uniform(5, 400)))
            total = start + np.cumsum(power) / 60000
            state.counters_kwh[sid] = float(total[-1])
            values[(sid, "total")] = total
        elif sensor.category == "motions":
            awake, asleep = occ.awake_in(room), occ.people_in(room) - occ.awake_in(room)
            p = 1 - (0.35**awake) * (0.97**asleep) * 0.999
            values[(sid, "motion")] = (rng.random(n) < p).astype(float)
            lamp = (awake > 0) & lamps_needed
            values[(sid, "light")] = np.clip(
                outdoor["radiation"] * 0.45 + lamp * rng.normal(210, 15, n) + rng.normal(0, 3, n), 0, None
            )
            values[(sid, "temperature")] = temp + room_offset.get(room, 0) + rng.normal(0, 0.05, n)
        elif sensor.category == "meteos":
            people = occ.people_in(room)
            values[(sid, "temperature")] = temp + room_offset.get(room, 0) + rng.normal(0, 0.04, n)
            values[(sid, "humidity")] = np.clip(
                42 + 0.3 * (outdoor["humidity"] - 55) + 1.5 * people + rng.normal(0, 0.4, n), 20, 80
            )
            values[(sid, "co2")] = np.round(co2[room] + rng.normal(0, 6, n))
            loud = 32 + 9 * (occ.awake_in(room) > 0) + 12 * ((tv_power > 5) & (room == "Living"))
            values[(sid, "noise")] = np.round(loud + rng.normal(0, 1.5, n))
            values[(sid, "pressure")] = outdoor["pressure"] - 3 + rng.normal(0, 0.15, n)
        elif sensor.category == "humidities":
            hum = (
                bath
                if room == "Bathroom"
                else np.clip(45 + 15 * (occ.awake_in("Kitchen") > 0) * (minute > 18 * 60), 30, 80)
            )
            values[(sid, "humidity")] = hum + rng.normal(0, 0.5, n)
            values[(sid, "temperature")] = temp + room_offset.get(room, 0) + rng.normal(0, 0.05, n)

    # The main meter sees every plug, plus what no plug measures: lamps, hob, standby, ventilation.
    base = 135 + rng.normal(0, 8, n)
    if anomalies.night_draw_w is not None:
        base = base + anomalies.night_draw_w
    lamps = 55 * sum(((occ.awake_in(r) > 0) & lamps_needed).astype(float) for r in occ.rooms)
    hob = np.zeros(n)
    dinner = np.flatnonzero((occ.awake_in("Kitchen") > 0) & (minute > 17 * 60))
    if len(dinner) and rng.random() < 0.8:
        hob[dinner[0] : dinner[0] + 30] = rng.normal(1900, 60)
    for sensor in apartment.sensors:
        if sensor.category == "consumptions":
            power = plug_total + base + lamps + hob
            values[(sensor.external_id, "power")] = power
            start = state.counters_kwh.get(sensor.external_id, float(rng.uniform(3000, 9000)))
            total = start + np.cumsum(power) / 60000
            state.counters_kwh[sensor.external_id] = float(total[-1])
            values[(sensor.external_id, "total")] = total

    # Batteries drain slowly (a few percent a month), with an occasional replacement.
    for sensor in apartment.sensors:
        if sensor.category in ("doors", "motions", "humidities"):
            level = state.battery.get(sensor.external_id, float(rng.uniform(35, 100)))
            level -= rng.uniform(0.05, 0.25)
            if level < 8:
                level = 100.0
            state.battery[sensor.external_id] = level
            values[(sensor.external_id, "battery")] = np.full(n, float(int(level)))
    return DaySignals(values=values, n_minutes=n)
