"""Gold checks beyond dbt's tests. Each recomputes a figure independently of the dbt SQL, over the
days of the run that built the table (or its newest week when run on their own)."""

from datetime import date, timedelta

import dagster as dg

from domotic_assets.defs.resources import LandingResource, WarehouseResource
from domotic_assets.defs.run_range import RANGE_END_TAG, RANGE_START_TAG
from domotic_assets.defs.silver.checks import check_metadata
from domotic_assets.warehouse import gold_quality

ENERGY = dg.AssetKey(["gold", "fact_energy_minute"])
PRESENCE = dg.AssetKey(["gold", "fact_presence_minute"])
PRESENCE_FLOOR = 0.8
"""Precision and recall the motion rule must keep on simulated data (measured: see README)."""


def checked_days(context: dg.AssetCheckExecutionContext, conn, table: str) -> list[date]:
    tags = context.run.tags
    if RANGE_START_TAG in tags:
        first, last = date.fromisoformat(tags[RANGE_START_TAG]), date.fromisoformat(tags[RANGE_END_TAG])
    elif "dagster/partition" in tags:
        first = last = date.fromisoformat(tags["dagster/partition"])
    else:
        last = conn.execute(f"SELECT max(local_day) FROM gold.{table}").fetchone()[0] or date.today()
        first = last - timedelta(days=6)
    return gold_quality.days_between(first, last)


@dg.asset_check(asset=ENERGY, blocking=True, description="Gold kWh per apartment and day equals the main meter's "
                f"counter delta in Silver within {100 * gold_quality.RECONCILIATION_TOLERANCE} %.")
def energy_reconciliation(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect() as conn:
        passed, facts = gold_quality.energy_reconciliation(conn, checked_days(context, conn, "fact_energy_minute"))
    return dg.AssetCheckResult(passed=passed, metadata=check_metadata(facts))


@dg.asset_check(asset=ENERGY, blocking=True, description="Each minute's tariff row and cost (kWh x price) agree with "
                "the tariff rule recomputed in Python from pidb's tariffs.")
def cost_matches_tariff(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect() as conn:
        passed, facts = gold_quality.cost_against_tariffs(conn, checked_days(context, conn, "fact_energy_minute"))
    return dg.AssetCheckResult(passed=passed, metadata=check_metadata(facts))


@dg.asset_check(asset=PRESENCE, description="On a simulated feed: precision and recall of presence_flag against the "
                f"simulator's true occupancy (each at least {PRESENCE_FLOOR}). A real feed has no ground truth.")
def presence_against_ground_truth(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource,
                                  landing: LandingResource) -> dg.AssetCheckResult:
    truth = gold_quality.ground_truth_file(landing.location)
    if truth is None:
        return dg.AssetCheckResult(passed=True, severity=dg.AssetCheckSeverity.WARN,
                                   metadata={"ground_truth": "none: the landing folder is not a simulated feed"})
    with warehouse.connect() as conn:
        facts = gold_quality.presence_accuracy(conn, checked_days(context, conn, "fact_presence_minute"), truth)
    passed = facts.get("minutes", 0) > 0 and min(facts["precision"], facts["recall"]) >= PRESENCE_FLOOR
    return dg.AssetCheckResult(passed=passed, severity=dg.AssetCheckSeverity.WARN, metadata=check_metadata(facts))
