"""What each measure can physically be: the bounds table of the sensor-file and MQTT contracts.

A reading outside its bounds is impossible: it is stored and flagged as an outlier (`transform.outliers`).
The same table decides what a sentinel means (`values.read_number`): −999 °C or −999 % cannot be measured,
so they are "missing"; −999 W of a battery that discharges is a real reading.

| measure | low | high | unit |
|---|---|---|---|
| temperature | -30 | 60 | °C (indoor sensors) |
| humidity | 0 | 100 | % |
| co2 | 350 | 10000 | ppm (outdoor air is ~420) |
| noise | 0 | 140 | dB |
| pressure | 850 | 1100 | hPa |
| light | 0 | 100000 | lux |
| battery | 0 | 100 | % |
| power (plugs) | 0 | 4000 | W (a 16 A socket at 230 V is 3.7 kW) |
| power (main meter) | 0 | 45000 | W (3 × 63 A) |
| total | 0 | 10,000,000 | kWh |
| on, open, motion | 0 | 1 | boolean |
| MQTT consumption / pv_power | 0 | 45,000 / 50,000 | W (household telemetry) |
| MQTT battery_soc / battery_power | 0 / -25,000 | 100 / 25,000 | % / W (negative: discharging) |
"""

from __future__ import annotations

from functools import lru_cache

Bounds = tuple[float, float]
UNBOUNDED: Bounds = (float("-inf"), float("inf"))

BOUNDS: dict[str, Bounds] = {
    "temperature": (-30.0, 60.0),
    "humidity": (0.0, 100.0),
    "co2": (350.0, 10_000.0),
    "noise": (0.0, 140.0),
    "pressure": (850.0, 1100.0),
    "light": (0.0, 100_000.0),
    "battery": (0.0, 100.0),
    "total": (0.0, 1e7),
    "on": (0.0, 1.0),
    "open": (0.0, 1.0),
    "motion": (0.0, 1.0),
}
POWER_BOUNDS: dict[str, Bounds] = {"plugs": (0.0, 4000.0), "consumptions": (0.0, 45_000.0)}
TELEMETRY_BOUNDS: dict[str, Bounds] = {
    "consumption": (0.0, 45_000.0),
    "pv_power": (0.0, 50_000.0),
    "battery_soc": (0.0, 100.0),
    "battery_power": (-25_000.0, 25_000.0),
}
"""Household telemetry over MQTT (W, %): a 3 x 63 A connection, a large home PV plant, a home battery."""


@lru_cache(maxsize=256)
def bounds_for(category: str, measure: str) -> Bounds:
    """The physical bounds of one measure of a sensor category (power depends on the category)."""
    if measure == "power":
        return POWER_BOUNDS.get(category, (0.0, 45_000.0))
    return BOUNDS.get(measure, UNBOUNDED)


def possible(value: float, bounds: Bounds) -> bool:
    return bounds[0] <= value <= bounds[1]
