"""Gold: the dbt star schema as Dagster assets. Dimensions are rebuilt whole (reference data);
facts and aggregates are day-partitioned and built incrementally for the run's days. Every dbt
test becomes an asset check of the model it tests."""

import json
import os
import shutil
from typing import Any, Mapping

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from domotic_assets.defs.day_writers import writing_days
from domotic_assets.defs.dbt_project import DBT_DIR, dbt_project, ensure_manifest
from domotic_assets.defs.partitions import daily_partitions, partition_days, single_run_backfill
from domotic_assets.defs.resources import WarehouseResource
from domotic_assets.warehouse.dbt_env import dbt_connection_env


class GoldTranslator(DagsterDbtTranslator):
    """dbt models become `gold/<model>`; a dbt source is the Silver asset of the same name."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        name = dbt_resource_props["name"]
        return dg.AssetKey(name if dbt_resource_props["resource_type"] == "source" else ["gold", name])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str:
        return "gold"


translator = GoldTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
manifest = ensure_manifest()


def _dbt_build(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, args: list[str]):
    """`dbt build` against the platform's warehouse, holding the run's days of Gold (one writer per day).
    Its artifacts (about 5 MB a run, four runs a minute when live) are removed after a success; a failed
    run keeps them, with dbt.log, to read."""
    os.environ.update(dbt_connection_env(warehouse.ready_dsn()))  # the profile reads DOMOTIC_PG_*
    target = DBT_DIR / "target" / "runs" / f"{context.run_id}-{context.op_execution_context.op.name}"
    with warehouse.connect() as conn, writing_days(context, conn):
        yield from dbt.cli(["build", *args], context=context, target_path=target).stream()
    shutil.rmtree(target, ignore_errors=True)


@dbt_assets(manifest=manifest, project=dbt_project, select="tag:reference", dagster_dbt_translator=translator,
            name="gold_dimensions")
def gold_dimensions(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """Dimensions of the star schema, rebuilt from the Silver reference tables. A fact's relationship
    test names a dimension too: `buildable` keeps it for the facts' run, where it belongs."""
    yield from _dbt_build(context, dbt, warehouse, ["--indirect-selection", "buildable"])


@dbt_assets(manifest=manifest, project=dbt_project, select="tag:daily", dagster_dbt_translator=translator,
            partitions_def=daily_partitions, backfill_policy=single_run_backfill, name="gold_daily")
def gold_daily(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """Facts and aggregates for the run's local days (dbt vars first_day / last_day): each day is
    deleted and rebuilt in one transaction per table, so re-runs and backfills are idempotent."""
    days = partition_days(context)
    window = {"first_day": days[0].isoformat(), "last_day": days[-1].isoformat()}
    yield from _dbt_build(context, dbt, warehouse, ["--vars", json.dumps(window)])
