"""The anomaly detector judged against what the simulator injected: defined only where a ground truth is
configured."""

from datetime import timedelta

import dagster as dg

from domotic_assets.defs.check_results import check_metadata, checked_days, nothing_to_judge
from domotic_assets.defs.resources import GroundTruthResource, WarehouseResource
from domotic_assets.ml import ground_truth as truth_maps
from domotic_assets.ml.evaluation import local_midnight, match_anomalies
from domotic_assets.ml.prediction_rows import MODEL_KEYS
from domotic_assets.warehouse import ml_inputs, prediction_tables

FLOOR = 0.7
"""Precision and recall the detector must keep on the injected anomalies."""


@dg.asset_check(
    asset="anomaly_detection",
    description="Precision and recall of gold.anomalies against the anomalies "
    f"the simulator injected (each at least {FLOOR}); with none injected, no anomaly may be reported.",
)
def anomalies_against_injected(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, ground_truth: GroundTruthResource
) -> dg.AssetCheckResult:
    _, injected = ground_truth.manifest()
    if injected is None:
        return nothing_to_judge(None, f"no anomalies file in the ground truth {ground_truth.folder!r}")
    with warehouse.connect() as conn:
        days = checked_days(context, conn, "anomalies")
        low, high = local_midnight(days[0]), local_midnight(days[-1] + timedelta(days=1))
        found = prediction_tables.anomalies_between(conn, days[0], days[-1])
        scored = prediction_tables.predictions_count(conn, MODEL_KEYS["anomaly_detection"], low, high)
        truth = truth_maps.injected_anomalies(injected, ml_inputs.sensors(conn), ml_inputs.apartments(conn))
    if not scored:
        return nothing_to_judge(None, f"no hour of {days[0]} .. {days[-1]} was scored (no baseline yet)")
    truth = truth[(truth["end"] > low) & (truth["start"] < high)]
    scores = match_anomalies(found, truth)
    passed = scores["precision"] >= FLOOR and scores["recall"] >= FLOOR
    return dg.AssetCheckResult(
        passed=bool(passed),
        severity=dg.AssetCheckSeverity.WARN,
        metadata=check_metadata(
            {**scores, "entity_hours_scored": scored, "days": f"{days[0]} .. {days[-1]}"}
        ),
    )
