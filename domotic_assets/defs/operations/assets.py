"""`archives`: every day older than its retention moved out of the hot layers, each archive verified before
its source is dropped (`operations.archives`), run every night; its check finds every archive recorded
with its size, and reads back the sha256 of those not read back for 30 days (a rotating scrub)."""

from datetime import datetime

import dagster as dg

from domotic_assets.contracts.timestamps import zone
from domotic_assets.defs.executors import live_asset_job
from domotic_assets.defs.failures import warehouse_guard
from domotic_assets.defs.resources import ArchiveResource, BronzeResource, WarehouseResource
from domotic_assets.operations import archives as archiving
from domotic_assets.operations import retention
from domotic_assets.settings import PLATFORM_TIMEZONE
from domotic_assets.warehouse import operation_runs
from domotic_assets.warehouse.reference_tables import parameters_named

VERIFIED = "archives_verify"


@dg.asset(
    group_name="operations",
    kinds={"parquet", "postgres"},
    check_specs=[
        dg.AssetCheckSpec(
            VERIFIED,
            asset="archives",
            description="Every archive recorded in meta.archives is on disk with its size, and each one's "
            "sha256 is read back at least every 30 days (pidb parameter archive_read_back_days).",
        )
    ],
    description="Days past their retention archived: Bronze apartment-days as tar + zstd (raw files kept "
    "90 days), Silver day partitions and Gold minute facts as Parquet (13 months), each verified before "
    "its source is dropped; pidb parameters retention_bronze_days[:<apartment>] and "
    "retention_silver_months override the defaults. Restore with `domotic restore --from --to`.",
)
def archives(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    bronze: BronzeResource,
    archive: ArchiveResource,
) -> dg.MaterializeResult:
    today = datetime.now(zone(PLATFORM_TIMEZONE)).date()
    with warehouse_guard(context), warehouse.connect() as conn:
        limits = retention.cutoffs(today, parameters_named(conn, "retention_"))
        with operation_runs.recorded(conn, "archive") as outcome:
            report = archiving.archive(conn, bronze.path, archive.path, limits)
            every = parameters_named(conn, "archive_").get("archive_read_back_days", archiving.READ_BACK_DAYS)
            checked = archiving.verify(conn, archive.path, every)
            problems = checked.problems
            outcome.ok, outcome.detail = not problems, "; ".join(problems) or "archived and verified"
    context.log.info(f"archived {report.archived}, dropped {report.dropped}; left: {report.left}")
    return dg.MaterializeResult(
        metadata={
            **{f"archived_{layer}_days": n for layer, n in report.archived.items()},
            **{f"dropped_{layer}_days": n for layer, n in report.dropped.items()},
            "bronze_before": str(limits.bronze_default),
            "silver_and_gold_before": str(limits.silver),
            "left_for_next_run": dg.MetadataValue.text("\n".join(report.left) or "nothing"),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=VERIFIED,
                passed=not problems,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={
                    "problems": dg.MetadataValue.text("\n".join(problems) or "none"),
                    "archived_days": sum(report.archived.values()),
                    "archives_present": checked.present,
                    "archives_read_back": checked.read_back,
                },
            )
        ],
    )


archive_job = live_asset_job(
    "archive_job",
    selection=[archives],
    description="The nightly archive.",
)

archive_schedule = dg.ScheduleDefinition(
    name="archive_schedule",
    job=archive_job,
    cron_schedule="30 3 * * *",
    execution_timezone=PLATFORM_TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every night at 03:30: the days past their retention, archived and verified.",
)
