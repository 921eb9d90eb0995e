"""Every night: retrain every model on the days up to yesterday and predict today."""

import dagster as dg

from domotic_assets.settings import PLATFORM_TIMEZONE

ml_job = dg.define_asset_job(
    "ml_job",
    selection=dg.AssetSelection.groups("ml"),
    description="Training sets, models and predictions of one day (all ML assets).",
)


@dg.schedule(
    job=ml_job,
    cron_schedule="30 1 * * *",
    execution_timezone=PLATFORM_TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def ml_daily_schedule(context: dg.ScheduleEvaluationContext):
    """Today's partition at 01:30, once yesterday's last files are in Gold."""
    day = context.scheduled_execution_time.date()
    yield dg.RunRequest(partition_key=day.isoformat(), run_key=f"ml:{day}")
