"""A household's 15-minute series of a local day, as the optimiser reads it from Gold.

Every slot of the day is there (92, 96 or 100 on daylight-saving days), in time order; a slot the
household sent nothing for has no values (NaN) and `covered` false, so a caller fills or forecasts
it knowingly instead of reading a silent meter as zero consumption.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import psycopg

from domotic_assets.settings import PLATFORM_TIMEZONE
from domotic_assets.warehouse.silver_tables import day_bounds

COLUMNS = [
    "period_start",
    "load_kw",
    "pv_kw",
    "battery_charge_kw",
    "battery_discharge_kw",
    "battery_soc_pct",
    "covered",
]


def household_day(conn: psycopg.Connection, household: str, day: date) -> pd.DataFrame:
    """The 15-minute slots of `day` (Europe/Zurich) for `household`: mean powers in kW, state of charge at the
    slot's end."""
    low, high = day_bounds(day, PLATFORM_TIMEZONE)
    rows = conn.execute(
        """
        SELECT s.slot, t.consumption_mean_w / 1000, t.pv_mean_w / 1000, t.battery_charge_kwh * 4,
            t.battery_discharge_kwh * 4,
               t.battery_soc_end_pct, t.period_start IS NOT NULL
        FROM generate_series(%s::timestamptz, %s::timestamptz - interval '15 minutes',
            interval '15 minutes') AS s(slot)
        LEFT JOIN gold.agg_household_telemetry_15min t ON t.household = %s AND t.period_start = s.slot
        ORDER BY s.slot""",
        (low, high, household),
    ).fetchall()
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.astype({c: float for c in COLUMNS[1:-1]})
