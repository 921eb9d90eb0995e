"""The root Dagster definitions: every domain's definitions and the resources, built once."""

import dagster as dg

from domotic_assets.defs import bronze, gold, ml, operations, optimisation, silver, telemetry
from domotic_assets.defs.executors import spreading_executor
from domotic_assets.defs.resources import build_resources
from domotic_assets.settings import Settings


def build_definitions(settings: Settings) -> dg.Definitions:
    """The platform on these settings (the code location uses the environment's; tests their own). The checks
    against a simulator's ground truth exist only where one is configured: a real feed has none."""
    truth = [*gold.ground_truth_checks, *ml.ground_truth_checks] if settings.ground_truth else []
    return dg.Definitions.merge(
        bronze.defs,
        silver.defs,
        gold.defs,
        telemetry.defs,
        optimisation.defs,
        ml.defs,
        operations.defs,
        # Backfills, UI materializations and ML training on the settings' executor (defs/executors.py); live
        # runs stay in their own process: their three steps start in about 1 s instead of 3 x 3 s.
        dg.Definitions(
            resources=build_resources(settings), executor=spreading_executor(settings), asset_checks=truth
        ),
    )


defs = build_definitions(Settings.from_env())
