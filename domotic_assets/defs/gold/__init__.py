"""Gold: the star schema built by dbt, and the checks that recompute its figures independently."""

import dagster as dg

from domotic_assets.defs.gold.assets import gold_daily, gold_dimensions
from domotic_assets.defs.gold.checks import (
    cost_matches_tariff,
    energy_reconciliation,
    presence_against_ground_truth,
)
from domotic_assets.defs.gold.sensors import repricing_sensor

defs = dg.Definitions(
    assets=[gold_dimensions, gold_daily],
    asset_checks=[energy_reconciliation, cost_matches_tariff],
    sensors=[repricing_sensor],
)

ground_truth_checks = [presence_against_ground_truth]
"""Checks with a meaning on simulated data only: defined where a ground truth is configured."""
