"""The energy forecasters' training sets, read from the warehouse as they stood at each day's origin.

For local day D the origin is D's midnight: the series are the quarter-hours of the window before it,
and the weather is what had arrived by then. Over the window each hour carries the forecast known at its
own day's midnight (what a forecast issued that midnight would have read); over the 48 hours ahead, the
newest forecast that had arrived before D's midnight, so the hours of D+1 carry the day-before-yesterday's
issue where it reaches them, and nothing where it does not (the service's 07:00 file of D arrives after
the origin). Nothing in a day's set depends on what arrived after its origin.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import pandas as pd

from domotic_assets.ml.energy_models import HORIZON_STEPS, TRAINING_DAYS, EnergyTrainingSet
from domotic_assets.ml.evaluation import local_midnight
from domotic_assets.ml.series import STEP, energy_series, weather_for
from domotic_assets.warehouse import ml_inputs

DAYS_AHEAD = math.ceil(HORIZON_STEPS * STEP / pd.Timedelta(days=1))
"""Local days after the origin's day whose weather a forecast may read (the last one partly: a 25-hour
day)."""


def energy_training_sets(conn, days: list[date], log=None) -> dict[str, EnergyTrainingSet]:
    """One training set per day (key: the day in ISO form), the warehouse read once for the whole range."""
    apartments = ml_inputs.apartments(conn)
    sites = dict(zip(apartments["apartment_key"], apartments["weather_site"]))
    zones = dict(zip(apartments["apartment_key"], apartments["timezone"]))
    start = days[0] - timedelta(days=TRAINING_DAYS)
    kwh_all = ml_inputs.energy_series(conn, start, days[-1] - timedelta(days=1))
    past_weather = ml_inputs.weather_hourly(conn, start, days[-1] - timedelta(days=1))
    apartment_names = {
        (a, 0): f"apartment {c}" for a, c in zip(apartments["apartment_key"], apartments["code"])
    }
    out = {}
    for day in days:
        first, last = day - timedelta(days=TRAINING_DAYS), day - timedelta(days=1)
        low, origin = local_midnight(first), local_midnight(day)
        devices = ml_inputs.main_devices(conn, first, last)
        kwh = kwh_all[(kwh_all["ts"] >= low) & (kwh_all["ts"] < origin)]
        series = energy_series(kwh, devices, low, origin)
        ahead = ml_inputs.weather_hourly(
            conn, day, day + timedelta(days=DAYS_AHEAD), known_before=origin.to_pydatetime()
        )
        weather = pd.concat(
            [past_weather[(past_weather["ts"] >= low) & (past_weather["ts"] < origin)], ahead]
        )
        weather = weather_for(series, weather, sites, origin, HORIZON_STEPS)
        names = {
            **apartment_names,
            **{
                (a, d): n for a, d, n in zip(devices["apartment_key"], devices["device_key"], devices["name"])
            },
        }
        out[day.isoformat()] = EnergyTrainingSet(
            first, last, {k: zones[k[0]] for k in series}, series, weather, names
        )
        if log:
            log(f"{day}: {len(series)} series, {out[day.isoformat()].rows:,} quarter-hours")
    return out
