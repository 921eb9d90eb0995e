"""Every 15 minutes: today's telemetry accounted for, checked for silent households, and rolled up."""

from datetime import timedelta

import dagster as dg

from domotic_assets.defs.executors import live_asset_job
from domotic_assets.defs.selections import GOLD_DAILY
from domotic_assets.defs.telemetry.assets import household_telemetry
from domotic_assets.settings import PLATFORM_TIMEZONE

telemetry_job = live_asset_job(
    "telemetry_job",
    selection=dg.AssetSelection.assets(household_telemetry).downstream()
    & (dg.AssetSelection.assets(household_telemetry) | GOLD_DAILY),
    description="household_telemetry of a day and its Gold rollups (15 minutes, hour).",
)


@dg.schedule(
    job=telemetry_job,
    cron_schedule="2-59/15 * * * *",
    execution_timezone=PLATFORM_TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def telemetry_schedule(context: dg.ScheduleEvaluationContext):
    """Today's partition; just after midnight, yesterday's too, so its last quarter-hours are rolled up."""
    now = context.scheduled_execution_time  # already in Europe/Zurich
    days = [now.date() - timedelta(days=1), now.date()] if now.hour == 0 and now.minute < 15 else [now.date()]
    for day in days:
        yield dg.RunRequest(partition_key=day.isoformat(), run_key=f"telemetry:{day}:{now:%Y%m%d%H%M}")
