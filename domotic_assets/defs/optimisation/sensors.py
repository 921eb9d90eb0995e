"""Tomorrow's schedules, planned today once today's weather issue and energy forecast are in.

A household's plan for day D rests on the weather issued on D-1 (PV) and the energy forecast issued at
D-1's midnight (load), so the sensor asks for D = tomorrow as soon as both of today's are materialized.
A forecast that has not come by `FORECAST_DEADLINE_HOUR` is not waited for: the plan then uses the
load history (and is made again if the forecast comes later). A re-issued weather file or a new
forecast makes a new plan; the same inputs never do twice (the run key names them).
"""

from datetime import datetime, timedelta

import dagster as dg

from domotic_assets.contracts.timestamps import zone
from domotic_assets.defs.executors import live_asset_job
from domotic_assets.defs.optimisation.assets import household_schedules
from domotic_assets.settings import PLATFORM_TIMEZONE

FORECAST_DEADLINE_HOUR = 12

schedules_job = live_asset_job(
    "schedules_job",
    selection=[household_schedules.key],
    description="Every household's battery and appliance schedule of one day.",
)


def _latest(instance: dg.DagsterInstance, key: str, day: str) -> int | None:
    """The storage id of the newest materialization of `key` for partition `day`, if any."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(key), asset_partitions=[day]), limit=1, ascending=False
    ).records
    return records[0].storage_id if records else None


def day_ahead_request(instance: dg.DagsterInstance, now: datetime) -> dg.RunRequest | dg.SkipReason:
    """What the sensor asks for at `now` (local time of the platform)."""
    today = now.date().isoformat()
    tomorrow = (now.date() + timedelta(days=1)).isoformat()
    weather, forecast = _latest(instance, "weather_clean", today), _latest(instance, "energy_forecast", today)
    if weather is None:
        return dg.SkipReason(f"waiting for today's weather issue ({today}) to plan {tomorrow}")
    if forecast is None and now.hour < FORECAST_DEADLINE_HOUR:
        return dg.SkipReason(
            f"waiting for today's energy forecast ({today}) until {FORECAST_DEADLINE_HOUR}:00 to plan "
            f"{tomorrow}"
        )
    return dg.RunRequest(
        partition_key=tomorrow,
        run_key=f"schedules:{tomorrow}:weather-{weather}:forecast-{forecast}",
        tags={"domotic/planned_on": today},
    )


@dg.sensor(job=schedules_job, minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.RUNNING)
def day_ahead_schedules_sensor(context: dg.SensorEvaluationContext):
    return day_ahead_request(context.instance, datetime.now(zone(PLATFORM_TIMEZONE)))
