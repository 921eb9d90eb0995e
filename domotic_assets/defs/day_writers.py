"""Every step that writes days of a table holds their writer locks (`warehouse.day_locks`) while it writes,
so a live run, a schedule, a UI backfill and `domotic run` never write the same day of a table at once."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import dagster as dg
import psycopg

from domotic_assets.defs.partitions import partition_days
from domotic_assets.warehouse.archive_tables import archived_away
from domotic_assets.warehouse.day_locks import day_writer

WHOLE_TABLE = date(1, 1, 1)
"""The one 'day' of an unpartitioned table (a dimension rebuilt whole)."""
SOURCES = {"bronze": {"bronze"}, "silver": {"bronze", "silver"}}
"""The archived layers a group's day is rebuilt from (Bronze from the landing; the rest from Silver and
Gold): a day archived there cannot be rebuilt until it is restored."""


@contextmanager
def writing_days(context: dg.AssetExecutionContext, conn: psycopg.Connection, *also: str) -> Iterator[None]:
    """Hold the run's days of the assets this step materializes, and of the tables it writes `also`
    (`gold/fact_prediction`, say), until the block ends."""
    names = {key.to_user_string() for key in context.selected_asset_keys} | set(also)
    days = (
        partition_days(context)
        if context.has_partition_key or context.has_partition_key_range
        else [WHOLE_TABLE]
    )
    if days != [WHOLE_TABLE]:
        _refuse_archived(context, conn, days)
    holder = f"dagster run {context.run.run_id[:8]} {context.op_execution_context.op.name}"
    with day_writer(conn, names, days, holder, on_wait=context.log.info):
        yield


def _refuse_archived(context: dg.AssetExecutionContext, conn: psycopg.Connection, days: list[date]) -> None:
    """A day whose sources were archived would be rebuilt from nothing (an empty Silver day would empty its
    Gold aggregates, kept forever): the step fails and says how to restore it."""
    groups = {context.assets_def.group_names_by_key[key] for key in context.selected_asset_keys}
    layers = set().union(*(SOURCES.get(group, {"silver", "gold"}) for group in groups))
    away = archived_away(conn, layers, days)
    if away:
        first, last = min(d for *_, d in away), max(d for *_, d in away)
        raise dg.Failure(
            description=f"{len(away)} archived day(s) of {', '.join(sorted({r for _, r, _ in away}))}, "
            f"{first} to {last}: restore them first (`domotic restore --from {first} --to {last}`)",
            allow_retries=False,
        )
