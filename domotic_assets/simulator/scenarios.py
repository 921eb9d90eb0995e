"""Optimisation scenarios of simulated households: a day's load and PV from the telemetry
simulator, the simulated pidb's time-of-use tariff and feed-in price, a battery and appliances.

The same households the MQTT stream simulates, so tests and the benchmark solve realistic days
(92, 96 or 100 quarter-hours, or 288 five-minute slots) without a warehouse.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd

from domotic_assets.contracts.timestamps import zone
from domotic_assets.optimise.appliances import WINDOWS, profile_kw
from domotic_assets.optimise.appliances import start_step_minutes as platform_start_step
from domotic_assets.optimise.household_parameters import PV_PERFORMANCE_RATIO
from domotic_assets.settings import PLATFORM_TIMEZONE
from domotic_assets.simulator.pidb import FEED_IN_CHF_KWH, TARIFF_ROWS
from domotic_assets.simulator.telemetry import Household, load_watts
from domotic_assets.simulator.weather import truth
from domotic_assets.transform.tariffs import TariffRow, tariff_at

NOMINAL_W = {"washer": 2100, "dishwasher": 1900, "dryer": 2400}
TARIFFS = [TariffRow(i, *row) for i, row in enumerate(TARIFF_ROWS, 1)]


def _local_time(day: date, hhmm: str, tz) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, tzinfo=tz) + timedelta(hours=hours, minutes=minutes)


def simulated_scenario(
    household: Household,
    day: date,
    step_minutes: int = 15,
    seed: int = 42,
    appliances: tuple[str, ...] = ("washer", "dishwasher", "dryer"),
    start_step_minutes: int | None = None,
) -> dict:
    """The scenario document of one household's local day; the appliances start on the platform's
    grid (`optimise.appliances.start_step_minutes`) unless `start_step_minutes` says otherwise."""
    tz = zone(PLATFORM_TIMEZONE)
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tz)
    minutes = int((end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() // 60)
    slots = minutes // step_minutes
    utc = pd.date_range(start.astimezone(UTC), periods=minutes, freq="min")
    utc_minutes = utc.asi8 // 60_000_000_000
    wall = utc.tz_convert(PLATFORM_TIMEZONE)  # the household lives by the clock, also on daylight-saving days
    load = load_watts(household, day, np.asarray(wall.hour * 60 + wall.minute, dtype=float), seed) / 1000
    pv = (
        household.pv_kwp * truth(household.site, seed, utc_minutes)["radiation"] * PV_PERFORMANCE_RATIO / 1000
        if household.pv_kwp
        else np.zeros(minutes)
    )

    def by_slot(series: np.ndarray) -> list[float]:
        return [round(float(v), 4) for v in series.reshape(slots, step_minutes).mean(axis=1)]

    instants = [start.astimezone(UTC) + timedelta(minutes=step_minutes * t) for t in range(slots)]
    prices = [tariff_at(TARIFFS, "OIKEN-DT", t.astimezone(tz)).price_chf_kwh for t in instants]
    doc = {
        "start": start.isoformat(),
        "timezone": PLATFORM_TIMEZONE,
        "step_minutes": step_minutes,
        "price_import_chf_kwh": prices,
        "price_export_chf_kwh": [FEED_IN_CHF_KWH] * slots,
        "load_kw": by_slot(load),
        "pv_kw": by_slot(pv),
        "grid": {"import_kw_max": 13.0, "export_kw_max": 10.0},
        "appliances": [
            {
                "name": kind,
                "profile_kw": profile_kw(kind, NOMINAL_W[kind], step_minutes),
                "earliest_start": _local_time(day, WINDOWS[kind][0], tz).isoformat(),
                "latest_end": _local_time(day, WINDOWS[kind][1], tz).isoformat(),
                "start_step_minutes": start_step_minutes or platform_start_step(step_minutes),
            }
            for kind in appliances
        ],
        "weights": {"cost": 1.0, "self_consumption": 0.0, "export": 0.0},
    }
    if household.battery_kwh:
        doc["battery"] = {
            "capacity_kwh": household.battery_kwh,
            "soc_init": 0.5,
            "soc_min": 0.1,
            "soc_max": 0.95,
            "soc_final": 0.5,
            "charge_kw_max": household.battery_kwh / 2,
            "discharge_kw_max": household.battery_kwh / 2,
            "eff_charge": 0.95,
            "eff_discharge": 0.95,
        }
    return doc
