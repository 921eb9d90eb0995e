"""Telemetry: household meters, PV and batteries over MQTT, accounted for per day and rolled up in Gold."""

import dagster as dg

from domotic_assets.defs.telemetry.assets import household_telemetry
from domotic_assets.defs.telemetry.schedules import telemetry_schedule

defs = dg.Definitions(assets=[household_telemetry], schedules=[telemetry_schedule])
