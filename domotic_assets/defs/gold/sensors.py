"""The sensor that prices Gold's energy again after pidb's tariffs or energy profiles changed.

`pidb_dimensions` names the days a change reaches (`reprice_first_day`, `reprice_last_day` on the changed
table's materialization). Once Gold's dimensions have been rebuilt after that change (the tariff calendar
the facts join), this sensor asks for one run over those days of `fact_energy_minute` and the energy
aggregates built on it (a single-run backfill, as from the UI). Its cursor keeps the newest change it has
read and the days still waiting, so a change is priced once, whether Gold's dimensions come in the same
run or later.
"""

import json
from datetime import date

import dagster as dg

from domotic_assets.defs.executors import live_asset_job
from domotic_assets.defs.run_range import RANGE_END_TAG, RANGE_START_TAG
from domotic_assets.defs.selections import GOLD_DAILY
from domotic_assets.defs.silver.assets import PRICING_TABLES

ENERGY = dg.AssetKey(["gold", "fact_energy_minute"])
REPRICE_SELECTION = dg.AssetSelection.assets(ENERGY).downstream() & GOLD_DAILY
"""The energy fact and the aggregates built on it."""
PRICING_KEYS = [dg.AssetKey(table) for table in sorted(PRICING_TABLES)]
CALENDAR = dg.AssetKey(["gold", "tariff_calendar"])


def _changes_after(instance: dg.DagsterInstance, storage_id: int) -> tuple[int, list[tuple[int, date, date]]]:
    """The newest storage id read, and (storage id, first day, last day) of each pricing change
    materialized after `storage_id`."""
    newest, found = storage_id, []
    for key in PRICING_KEYS:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, after_storage_id=storage_id), limit=10_000, ascending=True
        ).records
        for record in records:
            newest = max(newest, record.storage_id)
            metadata = record.asset_materialization.metadata
            if "reprice_first_day" in metadata:
                found.append(
                    (
                        record.storage_id,
                        date.fromisoformat(metadata["reprice_first_day"].value),
                        date.fromisoformat(metadata["reprice_last_day"].value),
                    )
                )
    return newest, sorted(found)


def repricing_request(
    instance: dg.DagsterInstance, cursor: dict
) -> tuple[dg.RunRequest | dg.SkipReason, dict]:
    """What the sensor asks for, and its next cursor: {"seen": newest storage id read, "pending": [first day,
    last day, storage id of the newest change]}."""
    seen, changes = _changes_after(instance, cursor.get("seen", 0))
    pending = cursor.get("pending")
    for storage_id, first, last in changes:
        if pending:
            first, last = (
                min(first, date.fromisoformat(pending[0])),
                max(last, date.fromisoformat(pending[1])),
            )
        pending = [first.isoformat(), last.isoformat(), storage_id]
    if not pending:
        return dg.SkipReason("no tariff or energy profile changed"), {"seen": seen}
    calendar = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=CALENDAR), limit=1, ascending=False
    ).records
    if not calendar or calendar[0].storage_id < pending[2]:
        return (
            dg.SkipReason(
                f"prices of {pending[0]} .. {pending[1]} changed: waiting for Gold's dimensions to be rebuilt"
            ),
            {"seen": seen, "pending": pending},
        )
    request = dg.RunRequest(
        run_key=f"reprice:{pending[0]}:{pending[1]}:{pending[2]}",
        tags={RANGE_START_TAG: pending[0], RANGE_END_TAG: pending[1], "domotic/reason": "prices changed"},
    )
    return request, {"seen": seen}


reprice_job = live_asset_job(
    "reprice_job",
    selection=REPRICE_SELECTION,
    description="The energy fact and its aggregates of the days a tariff change touches.",
)


@dg.sensor(
    job=reprice_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def repricing_sensor(context: dg.SensorEvaluationContext):
    answer, cursor = repricing_request(context.instance, json.loads(context.cursor) if context.cursor else {})
    context.update_cursor(json.dumps(cursor))
    return answer
