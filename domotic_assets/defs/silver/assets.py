"""The ten `silver.dim_*` tables, imported from pidb on demand (reference data, unpartitioned)."""


from typing import Iterator

import dagster as dg

from domotic_assets.contracts.pidb import REFERENCE_TABLES
from domotic_assets.defs.resources import PidbResource, WarehouseResource
from domotic_assets.ingest.pidb_import import PidbUnavailable, dim_table, import_reference_tables


@dg.multi_asset(
    specs=[
        dg.AssetSpec(dim_table(name), group_name="silver", kinds={"postgres"},
                     description=f"silver.{dim_table(name)}: pidb `{name}`, the contract's columns only.")
        for name in REFERENCE_TABLES
    ],
)
def pidb_dimensions(context: dg.AssetExecutionContext, warehouse: WarehouseResource, pidb: PidbResource) -> Iterator[dg.MaterializeResult]:
    with warehouse.connect() as conn:
        try:
            results = import_reference_tables(pidb.url, conn)
        except PidbUnavailable as exc:
            raise dg.Failure(description=f"{exc}. The silver dimensions were left as they were.") from None
    for result in results:
        yield dg.MaterializeResult(asset_key=result.table, metadata={
            "rows": result.rows, "changed": result.changed, "content_hash": result.content_hash[:16],
        })
