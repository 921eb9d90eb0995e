"""The daily weather fetch: around 07:00 Europe/Zurich, when the service has issued the day's file."""


import dagster as dg

from domotic_assets.defs.bronze.assets import bronze_weather_files
from domotic_assets.settings import PLATFORM_TIMEZONE

WEATHER_RETRIES = dg.RetryPolicy(max_retries=5, delay=120, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
"""A late forecast is fetched again after about 2, 4, 8, 16 and 32 minutes (about an hour in all)."""

weather_job = dg.define_asset_job("weather_job", selection=[bronze_weather_files.key, dg.AssetKey("weather_clean")],
                                 op_retry_policy=WEATHER_RETRIES)


@dg.schedule(job=weather_job, cron_schedule="15 7 * * *", execution_timezone=PLATFORM_TIMEZONE,
             default_status=dg.DefaultScheduleStatus.RUNNING)
def weather_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Fetch the file issued today (the asset retries with back-off if it is late)."""
    # scheduled_execution_time is already in the schedule's Europe/Zurich time zone
    key = context.scheduled_execution_time.strftime("%Y-%m-%d")
    return dg.RunRequest(partition_key=key, run_key=f"weather:{key}")
