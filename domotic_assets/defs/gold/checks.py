"""Gold checks beyond dbt's tests. Each recomputes a figure independently of the dbt SQL, over the
days of the run that built the table (or its newest week when run on their own)."""

import dagster as dg

from domotic_assets.defs.check_results import check_metadata, checked_days, nothing_to_judge
from domotic_assets.defs.resources import GroundTruthResource, WarehouseResource
from domotic_assets.warehouse import gold_quality

ENERGY = dg.AssetKey(["gold", "fact_energy_minute"])
PRESENCE = dg.AssetKey(["gold", "fact_presence_minute"])
PRESENCE_FLOOR = 0.8
"""Precision and recall the motion rule must keep on simulated data (measured: see docs/gold.md)."""


@dg.asset_check(
    asset=ENERGY,
    blocking=True,
    description="Gold kWh per apartment and day equals the main meter's "
    f"counter delta in Silver within {100 * gold_quality.RECONCILIATION_TOLERANCE} %, where Gold was "
    "built from the meter readings Silver has now.",
)
def energy_reconciliation(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    with warehouse.connect() as conn:
        days = checked_days(context, conn, "fact_energy_minute")
        passed, facts = gold_quality.energy_reconciliation(conn, days)
    if not facts["apartment_days"]:
        return nothing_to_judge(None, f"no main meter reading in Silver for {days[0]} .. {days[-1]}")
    if not facts["judged"]:
        return nothing_to_judge(
            None,
            "the main meter readings in Silver changed after Gold was built from them, "
            "on every apartment-day; the run that changed them rebuilds and judges them",
            superseded=facts["superseded"],
        )
    return dg.AssetCheckResult(passed=passed, metadata=check_metadata(facts))


@dg.asset_check(
    asset=ENERGY,
    blocking=True,
    description="Each minute's tariff row and cost (kWh x price) agree with "
    "the tariff rule recomputed in Python from pidb's tariffs.",
)
def cost_matches_tariff(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    with warehouse.connect() as conn:
        days = checked_days(context, conn, "fact_energy_minute")
        passed, facts = gold_quality.cost_against_tariffs(conn, days)
    if not facts["rows"]:
        return nothing_to_judge(None, f"no energy minute in Gold for {days[0]} .. {days[-1]}")
    return dg.AssetCheckResult(passed=passed, metadata=check_metadata(facts))


@dg.asset_check(
    asset=PRESENCE,
    description="Precision and recall of presence_flag against the simulator's true "
    f"occupancy (each at least {PRESENCE_FLOOR}); defined only where a ground truth is configured.",
)
def presence_against_ground_truth(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, ground_truth: GroundTruthResource
) -> dg.AssetCheckResult:
    truth = gold_quality.occupancy_file(ground_truth.folder)
    if truth is None:
        return nothing_to_judge(None, f"no occupancy file in the ground truth {ground_truth.folder!r}")
    with warehouse.connect() as conn:
        days = checked_days(context, conn, "fact_presence_minute")
        facts = gold_quality.presence_accuracy(conn, days, truth)
    if not facts.get("minutes"):
        return nothing_to_judge(None, f"no presence minute of {days[0]} .. {days[-1]} is in the ground truth")
    passed = min(facts["precision"], facts["recall"]) >= PRESENCE_FLOOR
    return dg.AssetCheckResult(
        passed=passed, severity=dg.AssetCheckSeverity.WARN, metadata=check_metadata(facts)
    )
