"""The sensor that notices new sensor files on the landing share and asks for their days.

Each tick lists the share once, registers at most `MAX_FILES_PER_TICK` new complete files
(reading each to learn the day inside it), and requests one run per day that has files not
yet in Bronze; each run brings that day's Bronze copy, its Silver `sensor_events` and its Gold
facts up to date (a late file updates its own day downstream). Every 5 s: with the two looks a
file needs, a minute's file is in a run 5-10 s after it lands (at 15 s, 15-30 s: the bulk of the
freshness benchmark's latency). What was seen lives in `meta.bronze_sensor_files`; the cursor only keeps the
files that looked incomplete, to compare at the next tick.

Runs of a day overlap by at most two (the `domotic/live_day` run queue limit): while one writes that
day's Gold, the next loads Bronze and Silver, and each step waits for its table's day lock
(`warehouse.day_locks`). A day with a run still queued gets no new request: that run takes every file
registered before it starts, so a burst of files costs one run, not one per tick.

A share that is down is simply tried again at the next tick (one connection attempt per tick).
A share that refuses us (bad credentials, missing share) is not hammered: the sensor waits 1, 2,
4 ... up to 15 minutes between attempts, saying why in its skip reason, until the share answers.
"""

import json
import time
from contextlib import closing

import dagster as dg

from domotic_assets.defs.bronze.assets import bronze_sensor_files
from domotic_assets.defs.executors import live_asset_job
from domotic_assets.defs.partitions import daily_partitions
from domotic_assets.defs.resources import BronzeResource, LandingResource, PidbResource, WarehouseResource
from domotic_assets.defs.selections import GOLD_DAILY
from domotic_assets.ingest.landing import SourceError, SourceRefused
from domotic_assets.ingest.sensor_files import ingest_sensor_files
from domotic_assets.warehouse.bronze_files import unstored_days

MAX_FILES_PER_TICK = 20_000
TICK_SECONDS = 5
LIVE_DAY_TAG = "domotic/live_day"
"""The run queue lets two runs per value of this tag run at once (`cli.DAGSTER_YAML`,
`deploy/dagster.yaml`)."""
NOT_YET_STARTED = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED]
REFUSED_FIRST_WAIT, REFUSED_LONGEST_WAIT = 60, 900


def days_with_a_queued_run(instance: dg.DagsterInstance) -> set[str]:
    """The days whose live run is queued and will take, when it starts, every file registered until then."""
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=NOT_YET_STARTED))
    return {run.tags[LIVE_DAY_TAG] for run in runs if LIVE_DAY_TAG in run.tags}


LIVE_SELECTION = dg.AssetSelection.assets(bronze_sensor_files.key).downstream() & (
    dg.AssetSelection.assets(bronze_sensor_files.key, "sensor_events") | GOLD_DAILY
)
"""A run for new files carries them through Bronze, Silver and the day's Gold facts and aggregates built
from them, nothing more: models retrain on their own schedule, schedules are planned a day ahead."""

live_job = live_asset_job(
    "live_job",
    selection=LIVE_SELECTION,
    description="A day's new sensor files through Bronze, Silver and the day's Gold.",
)


@dg.sensor(
    job=live_job,
    minimum_interval_seconds=TICK_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def sensor_files_sensor(
    context: dg.SensorEvaluationContext,
    warehouse: WarehouseResource,
    landing: LandingResource,
    bronze: BronzeResource,
    pidb: PidbResource,
) -> dg.SensorResult:
    cursor = json.loads(context.cursor) if context.cursor else {}
    refused = cursor.get("refused")
    if refused and time.time() < refused["until"]:
        return dg.SensorResult(
            cursor=context.cursor,
            skip_reason=(f"{refused['reason']} (next attempt in {refused['until'] - time.time():.0f} s)"),
        )
    with warehouse.connect() as conn:
        try:
            with closing(landing.open(patience=0)) as share:
                report = ingest_sensor_files(
                    share,
                    conn,
                    bronze.path,
                    pidb.apartment_timezone(context.log),
                    previous_look=cursor.get("waiting", {}),
                    limit=MAX_FILES_PER_TICK,
                )
        except SourceError as exc:
            if isinstance(exc, SourceRefused):
                wait = min(REFUSED_LONGEST_WAIT, 2 * refused["wait"]) if refused else REFUSED_FIRST_WAIT
                cursor["refused"] = {"reason": str(exc), "wait": wait, "until": time.time() + wait}
            context.log.error(str(exc))
            return dg.SensorResult(cursor=json.dumps(cursor), skip_reason=str(exc))
        pending = unstored_days(conn)
    valid = set(daily_partitions.get_partition_keys(dynamic_partitions_store=context.instance))
    queued = days_with_a_queued_run(context.instance) if pending else set()
    requests, skipped = [], {}
    for day, count, newest in pending:
        key = day.isoformat()
        if key not in valid:
            skipped[key] = count
            continue
        if key in queued:
            continue
        # one request per day and state of its backlog: a failed run is not re-requested every tick
        requests.append(
            dg.RunRequest(
                partition_key=key,
                run_key=f"bronze_sensor_files:{key}:{newest}",
                tags={"domotic/files_waiting": str(count), LIVE_DAY_TAG: key},
            )
        )
    if skipped:
        context.log.warning(
            f"files dated outside the partitions were registered but not requested: {skipped}"
        )
    new_cursor = {"waiting": report.waiting, "registered": cursor.get("registered", 0) + report.registered}
    return dg.SensorResult(
        run_requests=requests,
        cursor=json.dumps(new_cursor),
        skip_reason=None
        if requests
        else (
            f"the queued runs of {', '.join(sorted(queued))} will take the new files"
            if queued and pending
            else f"no new complete files ({len(report.waiting)} still being written)"
        ),
    )
