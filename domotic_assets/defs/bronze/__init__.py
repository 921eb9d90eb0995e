"""Bronze: immutable raw copies of sensor files and weather forecasts."""

import dagster as dg

from domotic_assets.defs.bronze.assets import bronze_sensor_files, bronze_weather_files
from domotic_assets.defs.bronze.schedules import weather_schedule
from domotic_assets.defs.bronze.sensors import sensor_files_sensor

defs = dg.Definitions(
    assets=[bronze_sensor_files, bronze_weather_files],
    sensors=[sensor_files_sensor],
    schedules=[weather_schedule],
)
