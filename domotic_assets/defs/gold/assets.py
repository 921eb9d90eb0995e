"""Gold: the dbt star schema as Dagster assets. Dimensions are rebuilt whole (reference data);
facts and aggregates are day-partitioned and built incrementally for the run's days. Every dbt
test becomes an asset check of the model it tests."""

import hashlib
import json
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets
from psycopg.conninfo import conninfo_to_dict

from domotic_assets.defs.day_writers import writing_days
from domotic_assets.defs.dbt_project import DBT_DIR, dbt_project, ensure_manifest
from domotic_assets.defs.partitions import daily_partitions, partition_days, single_run_backfill
from domotic_assets.defs.resources import WarehouseResource
from domotic_assets.warehouse import gold_quality
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


ENERGY = dg.AssetKey(["gold", "fact_energy_minute"])
RUNS_DIR = DBT_DIR / "target" / "runs"
PARSE_FILE = "partial_parse.msgpack"
"""dbt's own name for the parse it keeps in a target folder."""
KEEP_PARSE_SECONDS = 2 * 86400
"""A window's parse is kept two days: long enough for its day's live runs and the night after."""


def _target(context: dg.AssetExecutionContext, window: str, dsn: str) -> Path:
    """dbt's target folder for this step: one per warehouse, op, window and selection, reused by the runs that
    share them.

    dbt parses the whole project again (8-9 s on a 2-core machine) whenever its vars differ from those of
    the parse it finds in the target folder. A live run of today passes today's window, like the runs before
    it that day, so in a folder of its own it parses partially (about a second). Two runs that share a folder
    write the same days of the same tables of one warehouse, so the day locks already keep them apart."""
    server = conninfo_to_dict(dsn)
    identity = [server.get(k) for k in ("host", "port", "dbname", "user")]
    selection = sorted(k.to_user_string() for k in context.selected_asset_keys)
    digest = hashlib.sha1(json.dumps([identity, selection]).encode()).hexdigest()[:12]
    return RUNS_DIR / f"{context.op_execution_context.op.name}-{window}-{digest}"


def _dbt_build(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    args: list[str],
    window: str = "all",
    days: list | None = None,
):
    """`dbt build` against the platform's warehouse, holding the run's days of Gold (one writer per day).
    When it rebuilds the energy facts of `days`, it records the Silver meter readings they were built
    from, which `energy_reconciliation` judges them against.
    After a success its artifacts (about 5 MB) are removed but for the parse the next run of the window
    reuses, and parses older than two days go; a failed run keeps them, with dbt.log, to read."""
    dsn = warehouse.ready_dsn()
    os.environ.update(dbt_connection_env(dsn))  # the profile reads DOMOTIC_PG_*
    target = _target(context, window, dsn)
    energy_days = days if days and ENERGY in context.selected_asset_keys else None
    with warehouse.connect() as conn, writing_days(context, conn):
        basis = gold_quality.forget_energy_basis(conn, energy_days) if energy_days else None
        yield from dbt.cli(["build", *args], context=context, target_path=target).stream()
        if energy_days:
            gold_quality.record_energy_basis(conn, energy_days, basis)
        for artifact in target.iterdir():
            if artifact.name != PARSE_FILE:
                shutil.rmtree(artifact) if artifact.is_dir() else artifact.unlink()
    stale = time.time() - KEEP_PARSE_SECONDS
    for folder in RUNS_DIR.iterdir():
        if folder != target and folder.stat().st_mtime < stale:
            shutil.rmtree(folder, ignore_errors=True)


@dbt_assets(
    manifest=manifest,
    project=dbt_project,
    select="tag:reference",
    dagster_dbt_translator=translator,
    name="gold_dimensions",
)
def gold_dimensions(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """Dimensions of the star schema, rebuilt from the Silver reference tables. A fact's relationship
    test names a dimension too: `buildable` keeps it for the facts' run, where it belongs."""
    yield from _dbt_build(context, dbt, warehouse, ["--indirect-selection", "buildable"])


@dbt_assets(
    manifest=manifest,
    project=dbt_project,
    select="tag:daily",
    dagster_dbt_translator=translator,
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    name="gold_daily",
)
def gold_daily(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """Facts and aggregates for the run's local days (dbt vars first_day / last_day): each day is
    deleted and rebuilt in one transaction per table, so re-runs and backfills are idempotent."""
    days = partition_days(context)
    window = {"first_day": days[0].isoformat(), "last_day": days[-1].isoformat()}
    yield from _dbt_build(
        context, dbt, warehouse, ["--vars", json.dumps(window)], f"{days[0]:%Y%m%d}-{days[-1]:%Y%m%d}", days
    )
