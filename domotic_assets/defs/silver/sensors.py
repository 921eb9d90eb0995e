"""The sensor that notices a change in `pidb` and brings Silver's and Gold's dimensions up to date.

Every `PIDB_CHECK_SECONDS` it reads the ten reference tables (small) and compares their content hashes
with those of the last import (`meta.dim_imports`); any difference asks for one run of `reference_job`
(the Silver dimensions, then Gold's). The run key is the hashes themselves: one run per state of pidb.
A tariff or energy-profile change then re-prices Gold's energy facts (`gold.sensors.repricing_sensor`).
"""

import hashlib

import dagster as dg

from domotic_assets.defs.executors import live_asset_job
from domotic_assets.defs.resources import PidbResource, WarehouseResource
from domotic_assets.defs.selections import GOLD_REFERENCE
from domotic_assets.defs.silver.assets import pidb_dimensions
from domotic_assets.ingest.pidb_import import PidbUnavailable, content_hashes
from domotic_assets.warehouse.reference_tables import imported_hashes

PIDB_CHECK_SECONDS = 600

reference_job = live_asset_job(
    "reference_job",
    selection=dg.AssetSelection.assets(*pidb_dimensions.keys) | GOLD_REFERENCE,
    description="The ten Silver dimensions from pidb, then the dimensions of Gold's star schema.",
)


@dg.sensor(
    job=reference_job,
    minimum_interval_seconds=PIDB_CHECK_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def pidb_changes_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource, pidb: PidbResource
):
    try:
        now = content_hashes(pidb.url, pidb.password())
    except PidbUnavailable as exc:
        return dg.SkipReason(f"{exc}; trying again in {PIDB_CHECK_SECONDS // 60} minutes")
    with warehouse.connect() as conn:
        imported = imported_hashes(conn)
    changed = sorted(table for table, digest in now.items() if imported.get(table) != digest)
    if not changed:
        return dg.SkipReason("pidb is as it was last imported (same content hashes)")
    state = hashlib.sha256("".join(f"{t}={now[t]};" for t in sorted(now)).encode()).hexdigest()[:16]
    context.log.info(f"pidb changed since the last import: {', '.join(changed)}")
    return dg.RunRequest(run_key=f"pidb:{state}", tags={"domotic/pidb_changed": ",".join(changed)[:200]})
