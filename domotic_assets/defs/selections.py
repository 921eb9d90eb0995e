"""Asset selections several domains' jobs and sensors share: Gold's dbt models by the tag dbt gives them, and
the pipeline as a whole."""

import dagster as dg

GOLD_DAILY = dg.AssetSelection.tag("daily", "")
"""The day-partitioned dbt models (facts and aggregates): `+tags: [daily]` in dbt_project.yml."""

GOLD_REFERENCE = dg.AssetSelection.tag("reference", "")
"""The dimensions of the star schema, rebuilt whole from the Silver reference tables."""

OPERATIONS = ("operations", "archives")
"""The operations' group and asset: a selection string names one of them to run the archive."""
PIPELINE = dg.AssetSelection.all() - dg.AssetSelection.groups("operations")
"""Everything a day range materializes (`domotic run` without `--select`, the demo): the data layers and
the models; not the operations (the archive runs on its own schedule or from `domotic archive`)."""
