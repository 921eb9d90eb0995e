"""Asset selections several domains' jobs and sensors share: Gold's dbt models by the tag dbt gives them."""

import dagster as dg

GOLD_DAILY = dg.AssetSelection.tag("daily", "")
"""The day-partitioned dbt models (facts and aggregates): `+tags: [daily]` in dbt_project.yml."""

GOLD_REFERENCE = dg.AssetSelection.tag("reference", "")
"""The dimensions of the star schema, rebuilt whole from the Silver reference tables."""
