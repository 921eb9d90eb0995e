"""ML: energy forecast, room presence and anomalies, trained and applied per day, written back to Gold."""

import dagster as dg

from domotic_assets.defs.ml.assets import (
    anomaly_detection,
    anomaly_model,
    anomaly_training_set,
    energy_forecast,
    energy_forecast_model,
    energy_training_set,
    presence_forecast,
    presence_model,
    presence_training_set,
)
from domotic_assets.defs.ml.checks import anomalies_against_injected
from domotic_assets.defs.ml.schedules import ml_daily_schedule, ml_job

defs = dg.Definitions(
    assets=[
        energy_training_set,
        energy_forecast_model,
        energy_forecast,
        presence_training_set,
        presence_model,
        presence_forecast,
        anomaly_training_set,
        anomaly_model,
        anomaly_detection,
    ],
    jobs=[ml_job],
    schedules=[ml_daily_schedule],
)

ground_truth_checks = [anomalies_against_injected]
"""Checks with a meaning on simulated data only: defined where a ground truth is configured."""
