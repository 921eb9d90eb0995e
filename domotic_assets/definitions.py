"""The root Dagster definitions: every domain's definitions and the resources, built once."""

import dagster as dg

from domotic_assets.defs import bronze, gold, silver
from domotic_assets.defs.resources import build_resources
from domotic_assets.settings import Settings

defs = dg.Definitions.merge(
    bronze.defs,
    silver.defs,
    gold.defs,
    dg.Definitions(resources=build_resources(Settings.from_env())),
)
