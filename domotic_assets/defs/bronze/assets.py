"""Bronze assets: sensor files by the day of their own timestamp, weather files by issue day."""

import os
from contextlib import closing

import dagster as dg

from domotic_assets.defs.check_results import check_metadata
from domotic_assets.defs.day_writers import writing_days
from domotic_assets.defs.failures import source_guard, warehouse_guard
from domotic_assets.defs.partitions import daily_partitions, partition_days, single_run_backfill
from domotic_assets.defs.resources import BronzeResource, LandingResource, PidbResource, WarehouseResource
from domotic_assets.ingest import bronze_store
from domotic_assets.ingest.sensor_files import ingest_sensor_files
from domotic_assets.ingest.weather_files import ingest_weather_files
from domotic_assets.warehouse import bronze_files

SETTLE_SECONDS = 30.0
"""A file untouched this long is complete even if no sensor tick saw it twice."""


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    group_name="bronze",
    kinds={"file"},
    check_specs=[
        dg.AssetCheckSpec(
            "files_accounted_for",
            asset="bronze_sensor_files",
            description="Every file registered for these days is in Bronze (or said to have "
            "vanished from the share), and every Bronze path recorded is on disk.",
        )
    ],
    description="Raw sensor files copied from the landing share into bronze/<apartment>/YYYY/MM/DD/HH/ "
    "by the timestamp inside each document; unreadable files kept under _quarantine/ with a reason.",
)
def bronze_sensor_files(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    landing: LandingResource,
    bronze: BronzeResource,
    pidb: PidbResource,
) -> dg.MaterializeResult:
    days = partition_days(context)
    with (
        warehouse_guard(context),
        warehouse.connect() as conn,
        writing_days(context, conn),
        source_guard(context),
        closing(landing.open(context.log.warning)) as share,
    ):
        report = ingest_sensor_files(
            share,
            conn,
            bronze.path,
            pidb.apartment_timezone(context.log),
            store_days=days,
            settle_seconds=SETTLE_SECONDS,
            workers=os.cpu_count() or 1,
            reopen=landing.open,
        )
        totals = bronze_files.day_totals(conn, days)
        recorded = bronze_files.stored_paths(conn, days)
    not_on_disk = bronze_store.missing_files(bronze.path, recorded)
    other_days = {d.isoformat(): n for d, n in sorted(report.days.items()) if d not in set(days)}
    if other_days:
        context.log.info(
            f"new files of other days were registered and wait for their own partitions: {other_days}"
        )
    if report.waiting:
        context.log.warning(
            f"{len(report.waiting)} file(s) still being written were left for the next run: "
            f"{', '.join(sorted(report.waiting)[:10])}"
        )
    accounted = dg.AssetCheckResult(
        check_name="files_accounted_for",
        passed=not not_on_disk and totals.not_yet_stored == 0,
        metadata={
            "files_not_yet_stored": totals.not_yet_stored,
            "files_missing_on_disk": len(not_on_disk),
            "first_missing": dg.MetadataValue.json(not_on_disk[:20]),
        },
    )
    return dg.MaterializeResult(
        check_results=[accounted],
        metadata={
            "days": dg.MetadataValue.text(f"{days[0]} .. {days[-1]}"),
            "files_stored_now": report.stored,
            "files_in_bronze": totals.in_bronze,
            "files_quarantined": totals.quarantined,
            "files_not_yet_stored": totals.not_yet_stored,
            "quarantine_reasons_now": dg.MetadataValue.json(report.quarantined),
            "files_still_being_written": len(report.waiting),
            "files_left_being_written": dg.MetadataValue.json(sorted(report.waiting)[:100]),
            "files_vanished_before_copy": report.vanished,
            "new_files_of_other_days": dg.MetadataValue.json(other_days),
        },
    )


class WeatherFetchConfig(dg.Config):
    """How a run treats a day whose forecast file is not on the drop yet."""

    wait_for_missing: bool = False
    """True (the daily fetch): fail the step, so the retry policy fetches again later. False (a range,
    a backfill): store the days that have a file and name the others in `weather_files_present`."""


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    group_name="bronze",
    kinds={"file"},
    check_specs=[
        dg.AssetCheckSpec(
            "weather_files_present",
            asset="bronze_weather_files",
            description="Every day of the run has a forecast file on the drop (warns, naming the "
            "missing days: the other layers go on without them).",
        )
    ],
    description="Weather forecast files (Pred_YYYY-MM-DD.csv) copied into bronze/weather/YYYY/MM/DD/ "
    "by issue day; a re-issued file with new content is kept as a new version.",
)
def bronze_weather_files(
    context: dg.AssetExecutionContext,
    config: WeatherFetchConfig,
    warehouse: WarehouseResource,
    weather_drop: LandingResource,
    bronze: BronzeResource,
) -> dg.MaterializeResult:
    days = partition_days(context)
    with (
        warehouse_guard(context),
        warehouse.connect() as conn,
        writing_days(context, conn),
        source_guard(context),
        closing(weather_drop.open(context.log.warning)) as drop,
    ):
        report = ingest_weather_files(drop, conn, bronze.path, days)
    missing = [d.isoformat() for d in report.missing_days]
    if missing and config.wait_for_missing:
        # What was there is stored; the step fails and the retry policy fetches again later.
        raise dg.Failure(
            description=f"no forecast file issued yet for {', '.join(missing)} in {weather_drop.location}",
            metadata={"stored": len(report.stored), "unchanged": len(report.unchanged)},
        )
    if missing:
        context.log.warning(
            f"no forecast file for {', '.join(missing)} in {weather_drop.location}: "
            "those days have no weather, the other layers go on"
        )
    return dg.MaterializeResult(
        metadata={
            "files_stored": dg.MetadataValue.json(report.stored),
            "files_unchanged": len(report.unchanged),
            "days_without_file": dg.MetadataValue.json(missing),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="weather_files_present",
                passed=not missing,
                severity=dg.AssetCheckSeverity.WARN,
                metadata=check_metadata(
                    {"days": len(days), "missing_days": missing, "drop": weather_drop.location}
                ),
            )
        ],
    )
