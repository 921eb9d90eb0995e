"""Silver: clean, typed tables in PostgreSQL: sensor events and the reference dimensions."""

import dagster as dg

from domotic_assets.defs.silver.assets import pidb_dimensions, sensor_events

defs = dg.Definitions(assets=[pidb_dimensions, sensor_events])
