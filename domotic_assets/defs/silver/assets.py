"""Silver assets: sensor events per local day, and the ten `dim_*` tables from pidb."""

from collections.abc import Iterator

import dagster as dg

from domotic_assets.contracts.pidb import REFERENCE_TABLES
from domotic_assets.defs.bronze.assets import bronze_sensor_files, bronze_weather_files
from domotic_assets.defs.check_results import check_metadata, nothing_to_judge
from domotic_assets.defs.day_writers import writing_days
from domotic_assets.defs.failures import warehouse_guard
from domotic_assets.defs.partitions import daily_partitions, partition_days, single_run_backfill
from domotic_assets.defs.resources import BronzeResource, PidbResource, WarehouseResource
from domotic_assets.defs.silver.checks import evaluate_sensor_event_checks, sensor_event_check_specs
from domotic_assets.ingest.pidb_import import PidbUnavailable, dim_table, import_reference_tables
from domotic_assets.ingest.sensor_events_load import append_new_files, load_days
from domotic_assets.ingest.weather_load import load_weather_days
from domotic_assets.transform.tariffs import price_change
from domotic_assets.transform.weather import CORE_MEASURES
from domotic_assets.warehouse.access_tables import refresh_grants
from domotic_assets.warehouse.quality import weather_completeness
from domotic_assets.warehouse.repricing import days_to_reprice, pricing_state

PRICING_TABLES = {"dim_tariffs", "dim_energy_profiles"}
"""The reference tables whose change can alter what Gold's energy cost."""


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            dim_table(name),
            group_name="silver",
            kinds={"postgres"},
            description=f"silver.{dim_table(name)}: pidb `{name}`, the contract's columns only.",
        )
        for name in REFERENCE_TABLES
    ],
)
def pidb_dimensions(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, pidb: PidbResource
) -> Iterator[dg.MaterializeResult]:
    """A changed tariff or energy profile names the days of Gold's energy facts to price again
    (`reprice_first_day`, `reprice_last_day` on dim_tariffs and dim_energy_profiles): `repricing_sensor` acts
    on it. Who may see which apartment's rows is recomputed from the occupancy roles
    (`meta.access_grants`)."""
    with warehouse_guard(context), warehouse.connect() as conn, writing_days(context, conn):
        old_tariffs, old_profiles = pricing_state(conn)
        try:
            results = import_reference_tables(pidb.url, conn, pidb.password())
        except PidbUnavailable as exc:
            raise dg.Failure(description=f"{exc}. The silver dimensions were left as they were.") from None
        new_tariffs, new_profiles = pricing_state(conn)
        reprice = days_to_reprice(conn, price_change(old_tariffs, new_tariffs, old_profiles, new_profiles))
        granted = refresh_grants(conn)
    for result in results:
        metadata = {"rows": result.rows, "changed": result.changed, "content_hash": result.content_hash[:16]}
        if result.table == "dim_occupancy_roles":
            metadata["access_grants"] = granted
        if reprice and result.changed and result.table in PRICING_TABLES:
            metadata.update(reprice_first_day=reprice[0].isoformat(), reprice_last_day=reprice[1].isoformat())
            context.log.info(
                f"{result.table} changed: Gold's energy facts of {reprice[0]} .. {reprice[1]} are to be "
                "priced again"
            )
        yield dg.MaterializeResult(asset_key=result.table, metadata=metadata)


class SensorEventsConfig(dg.Config):
    """A one-day run appends the files not loaded yet when it can; `rebuild` forces the whole day."""

    rebuild: bool = False


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    group_name="silver",
    kinds={"postgres"},
    deps=[bronze_sensor_files, "dim_sensors", "dim_rooms", "dim_buildings"],
    check_specs=sensor_event_check_specs("sensor_events"),
    description="silver.sensor_events: one row per apartment, sensor, measure and minute, outliers flagged, "
    "missing values counted (etl_watermark), unknown sensors reported (unknown_references). Each day is "
    "rebuilt from its Bronze files and swapped in atomically; a live run appends only the files not "
    "loaded yet.",
)
def sensor_events(
    context: dg.AssetExecutionContext,
    config: SensorEventsConfig,
    warehouse: WarehouseResource,
    bronze: BronzeResource,
) -> dg.MaterializeResult:
    days = partition_days(context)
    with warehouse_guard(context), warehouse.connect() as conn, writing_days(context, conn):
        appended = None if config.rebuild or len(days) > 1 else append_new_files(conn, bronze.path, days[0])
        loads = [appended] if appended else load_days(conn, bronze.path, days, connect=warehouse.connect)
        checks = evaluate_sensor_event_checks(conn, days, connect=warehouse.connect)
    rows = sum(d.rows for d in loads)
    return dg.MaterializeResult(
        metadata={
            "days": dg.MetadataValue.text(f"{days[0]} .. {days[-1]}"),
            "mode": "appended new files" if appended else "rebuilt",
            "rows": rows,
            "files": sum(d.files for d in loads),
            "readings_missing": sum(d.readings_missing for d in loads),
            "readings_duplicate": sum(d.readings_duplicate for d in loads),
            "outliers": sum(d.outliers for d in loads),
            "dagster/row_count": rows,
        },
        check_results=checks,
    )


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    group_name="silver",
    kinds={"postgres"},
    deps=[bronze_weather_files, "dim_buildings"],
    check_specs=[
        dg.AssetCheckSpec(
            "weather_completeness",
            asset="weather_clean",
            description="Each known site has its core forecast values for every lead of the day's issue.",
        )
    ],
    description="silver.weather_clean: one standardised value per site, measure, valid time and lead time, "
    "from the newest issue of each day's file; -99999 is missing.",
)
def weather_clean(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, bronze: BronzeResource
) -> dg.MaterializeResult:
    days = partition_days(context)
    with warehouse_guard(context), warehouse.connect() as conn, writing_days(context, conn):
        loads = load_weather_days(conn, bronze.path, days)
        passed, facts = weather_completeness(conn, days, CORE_MEASURES)
    problems = {str(d.day): f"{d.status}: {d.reason}" for d in loads if d.status != "loaded"}
    return dg.MaterializeResult(
        metadata={"rows": sum(d.rows for d in loads), "days_not_loaded": dg.MetadataValue.json(problems)},
        check_results=[
            nothing_to_judge("weather_completeness", facts["why"])
            if passed is None
            else dg.AssetCheckResult(
                check_name="weather_completeness",
                passed=passed,
                severity=dg.AssetCheckSeverity.WARN,
                metadata=check_metadata(facts),
            )
        ],
    )
