"""Optimisation: each household's battery and appliance schedule of the day, stored in Gold for the controller."""

import dagster as dg

from domotic_assets.defs.optimisation.assets import household_schedules

defs = dg.Definitions(assets=[household_schedules])
