"""The daily weather fetch: around 07:00 Europe/Zurich, when the service has issued the day's file."""

import dagster as dg

from domotic_assets.defs.bronze.assets import bronze_weather_files
from domotic_assets.defs.executors import live_asset_job
from domotic_assets.defs.selections import GOLD_DAILY
from domotic_assets.settings import PLATFORM_TIMEZONE

WEATHER_RETRIES = dg.RetryPolicy(
    max_retries=5, delay=120, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
"""A late forecast is fetched again after about 2, 4, 8, 16 and 32 minutes (about an hour in all)."""

weather_job = live_asset_job(
    "weather_job",
    op_retry_policy=WEATHER_RETRIES,
    selection=dg.AssetSelection.assets(bronze_weather_files).downstream()
    & (dg.AssetSelection.assets(bronze_weather_files, "weather_clean") | GOLD_DAILY),
    description="The day's forecast file into Bronze, Silver (weather_clean) and Gold (fact_weather_day, by "
    "issue day).",
)


@dg.schedule(
    job=weather_job,
    cron_schedule="15 7 * * *",
    execution_timezone=PLATFORM_TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def weather_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Fetch the file issued today; a file not there yet fails the step, which is retried with back-off."""
    # scheduled_execution_time is already in the schedule's Europe/Zurich time zone
    key = context.scheduled_execution_time.strftime("%Y-%m-%d")
    return dg.RunRequest(
        partition_key=key,
        run_key=f"weather:{key}",
        run_config={"ops": {"bronze_weather_files": {"config": {"wait_for_missing": True}}}},
    )
