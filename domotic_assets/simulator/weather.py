"""Outdoor weather of a site, and the forecast files the weather service issues from it.

The 'true' weather is a smooth function of time: seasonal mean, a daily cycle and day-to-day
anomalies drawn deterministically from (seed, site, day), so any instant can be evaluated
without simulating what came before. Forecasts are the truth plus an error growing with lead.
"""

from __future__ import annotations

import zlib
from datetime import UTC, date, datetime, timedelta

import numpy as np

SITES = {"Sion": (46.23, 7.36, 10.6), "Sierre": (46.29, 7.53, 10.2)}
"""site -> (latitude, longitude, annual mean temperature °C)."""

MEASUREMENTS = (
    ("PRED_T_2M_ctrl", "°C", "temperature"),
    ("PRED_RELHUM_2M_ctrl", "%", "humidity"),
    ("PRED_TOT_PREC_ctrl", "mm", "precipitation"),
    ("PRED_GLOB_ctrl", "Watt/m2", "radiation"),
)
MISSING = -99999


def _day_noise(seed: int, site: str, ordinals: np.ndarray, stream: int) -> np.ndarray:
    """A standard-normal draw per calendar day, the same whatever order days are asked in."""
    key = zlib.crc32(site.encode())
    return np.array([np.random.default_rng([seed, key, stream, int(o)]).standard_normal() for o in ordinals])


def _smooth_daily(seed: int, site: str, days: np.ndarray, stream: int) -> np.ndarray:
    """Correlated day-to-day anomaly (a short moving average of daily noise)."""
    lo, hi = int(days.min()) - 3, int(days.max()) + 2
    ordinals = np.arange(lo, hi)
    noise = _day_noise(seed, site, ordinals, stream)
    smooth = np.convolve(noise, [0.2, 0.35, 0.45], mode="same")
    return smooth[days - lo]


def truth(site: str, seed: int, epoch_minutes: np.ndarray) -> dict[str, np.ndarray]:
    """Outdoor temperature, humidity, precipitation (mm/h), radiation (W/m²), pressure at instants."""
    lat, lon, annual_mean = SITES.get(site, SITES["Sion"])
    minutes = epoch_minutes.astype(np.int64)
    day_float = minutes / 1440.0
    day = np.floor(day_float).astype(np.int64) + 719163  # proleptic ordinal of 1970-01-01
    frac = day_float - np.floor(day_float)
    doy = np.array([date.fromordinal(int(o)).timetuple().tm_yday for o in np.unique(day)])
    doy_of = dict(zip(np.unique(day), doy))
    doy_arr = np.vectorize(doy_of.get)(day)
    anomaly = _smooth_daily(seed, site, day, 1) * 3.0
    anomaly_next = _smooth_daily(seed, site, day + 1, 1) * 3.0
    anomaly = anomaly + (anomaly_next - anomaly) * frac
    cloud = 1 / (1 + np.exp(-1.6 * _smooth_daily(seed, site, day, 2)))
    solar_hour = (frac * 24 + lon / 15.0) % 24
    seasonal = annual_mean - 10.0 * np.cos(2 * np.pi * (doy_arr - 20) / 365.25)
    amplitude = 4.0 + 4.0 * (1 - cloud)
    temperature = seasonal + anomaly + amplitude * np.cos(2 * np.pi * (solar_hour - 15) / 24)
    declination = np.radians(23.44) * np.sin(2 * np.pi * (284 + doy_arr) / 365)
    phi = np.radians(lat)
    sin_el = np.sin(phi) * np.sin(declination) + np.cos(phi) * np.cos(declination) * np.cos(
        np.radians(15 * (solar_hour - 12))
    )
    radiation = np.where(sin_el > 0, 1000 * np.clip(sin_el, 0, 1) ** 1.15 * (1 - 0.72 * cloud), 0.0)
    humidity = np.clip(62 + 25 * cloud - 2.2 * (temperature - seasonal), 18, 100)
    wet = np.sin(2 * np.pi * (frac * 24 / 5.3 + cloud * 7))
    precipitation = np.where((cloud > 0.72) & (wet > 0.2), (cloud - 0.72) * 12 * wet, 0.0)
    pressure = 1016 - 9 * (cloud - 0.5) + 2 * _smooth_daily(seed, site, day, 3)
    return {
        "temperature": temperature,
        "humidity": humidity,
        "precipitation": precipitation,
        "radiation": radiation,
        "pressure": pressure,
    }


def forecast_rows(site: str, seed: int, issued: date, rng: np.random.Generator) -> list[list]:
    """One site's rows of the file issued on `issued`: 46 hourly leads from 06:00 UTC."""
    first = datetime(issued.year, issued.month, issued.day, 6, tzinfo=UTC)
    leads = np.arange(46)
    epoch_minutes = (first.timestamp() // 60) + leads * 60
    true = truth(site, seed, epoch_minutes)
    rows = []
    for code, unit, key in MEASUREMENTS:
        spread = {"temperature": 0.6, "humidity": 4.0, "precipitation": 0.3, "radiation": 40.0}[key]
        values = true[key] + rng.standard_normal(len(leads)) * spread * (1 + leads / 24)
        if key != "temperature":
            values = np.clip(values, 0, 100 if key == "humidity" else None)
        for lead, value in zip(leads, values):
            valid = first + timedelta(hours=int(lead))
            rows.append(
                [valid.strftime("%Y-%m-%d %H:%M:%S"), round(float(value), 1), int(lead), site, code, unit]
            )
    return rows
