"""Silver: clean, typed tables in PostgreSQL. So far the reference dimensions from pidb."""

import dagster as dg

from domotic_assets.defs.silver.assets import pidb_dimensions

defs = dg.Definitions(assets=[pidb_dimensions])
