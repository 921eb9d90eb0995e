"""Optimisation: each household's battery and appliance schedule of a day, planned the day before and
stored in Gold for the controller."""

import dagster as dg

from domotic_assets.defs.optimisation.assets import household_schedules
from domotic_assets.defs.optimisation.sensors import day_ahead_schedules_sensor, schedules_job

defs = dg.Definitions(
    assets=[household_schedules], jobs=[schedules_job], sensors=[day_ahead_schedules_sensor]
)
