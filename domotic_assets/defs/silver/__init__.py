"""Silver: clean, typed tables in PostgreSQL: sensor events, weather and the reference dimensions."""

import dagster as dg

from domotic_assets.defs.silver.assets import pidb_dimensions, sensor_events, weather_clean
from domotic_assets.defs.silver.sensors import pidb_changes_sensor, reference_job

defs = dg.Definitions(
    assets=[pidb_dimensions, sensor_events, weather_clean],
    jobs=[reference_job],
    sensors=[pidb_changes_sensor],
)
