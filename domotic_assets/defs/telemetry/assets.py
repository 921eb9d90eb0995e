"""`household_telemetry`: the day's MQTT telemetry, written by the streaming consumer (`domotic stream`).

The stream writes the rows as they arrive; materializing a day accounts for it (rows, households,
outliers, late readings, quarantined messages) and checks that no household fell silent, so the
Gold rollups downstream (`agg_household_telemetry_15min`, `_hour`) can be built and backfilled
from the UI like every other day-partitioned asset.
"""

import dagster as dg

from domotic_assets.defs.check_results import check_metadata, nothing_to_judge
from domotic_assets.defs.failures import warehouse_guard
from domotic_assets.defs.partitions import daily_partitions, partition_days, single_run_backfill
from domotic_assets.defs.resources import WarehouseResource
from domotic_assets.warehouse import telemetry_quality
from domotic_assets.warehouse.reference_tables import parameter

FRESHNESS = "telemetry_freshness"


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    group_name="silver",
    kinds={"postgres"},
    deps=["dim_buildings"],
    check_specs=[
        dg.AssetCheckSpec(
            FRESHNESS,
            asset="household_telemetry",
            description=(
                "No household that streamed that day was silent longer than the pidb parameter "
                f"telemetry_silence_minutes (default {telemetry_quality.SILENCE_LIMIT_MINUTES:.0f}); for "
                "today, up to now."
            ),
        )
    ],
    description="silver.household_telemetry: MQTT meter, PV and battery readings, one row per household, "
    "measure and timestamp, written live by `domotic stream` (QoS 1, acknowledged once durable, "
    "duplicates absorbed). A run accounts for its days and checks every household kept talking.",
)
def household_telemetry(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    days = partition_days(context)
    with warehouse_guard(context), warehouse.connect() as conn:
        summary = telemetry_quality.day_summary(conn, days)
        limit = parameter(conn, "telemetry_silence_minutes", telemetry_quality.SILENCE_LIMIT_MINUTES)
        passed, facts = telemetry_quality.freshness(conn, days, limit)
    return dg.MaterializeResult(
        metadata={
            **check_metadata(summary),
            "days": dg.MetadataValue.text(f"{days[0]} .. {days[-1]}"),
            "dagster/row_count": summary["rows"],
        },
        check_results=[
            nothing_to_judge(FRESHNESS, facts["why"])
            if passed is None
            else dg.AssetCheckResult(
                check_name=FRESHNESS,
                passed=passed,
                severity=dg.AssetCheckSeverity.WARN,
                metadata=check_metadata(facts),
            )
        ],
    )
