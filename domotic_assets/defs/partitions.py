"""The one partitioning of every time-partitioned asset: local calendar days in Europe/Zurich.

Apartments are rows, not partitions: 200 apartments over 3 years stay at ~1,100 partitions per
asset. `end_offset=1` makes today a partition, so live files land before the day is over.
"""

import warnings
from datetime import date, timedelta

import dagster as dg

from domotic_assets.settings import PARTITIONS_START, PLATFORM_TIMEZONE

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=PARTITIONS_START, timezone=PLATFORM_TIMEZONE, end_offset=1
)

planning_partitions = dg.DailyPartitionsDefinition(
    start_date=PARTITIONS_START, timezone=PLATFORM_TIMEZONE, end_offset=2
)
"""The days a household schedule is made for: tomorrow too, since a day is planned the day before."""

DAY_BEFORE = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)
"""A plan for day D rests on what was known on D-1: its history, its forecast issue, its weather issue."""

single_run_backfill = dg.BackfillPolicy.single_run()
# Chosen on purpose (a range is one run), and Dagster's beta notice on it was printed again each time
# any code touched the warning filters: dozens of times at the top of `domotic demo`.
warnings.filterwarnings(
    "ignore",
    message="Parameter `backfill_policy` of function `asset` is currently in beta",
    category=dg.BetaWarning,
)


def partition_days(context: dg.AssetExecutionContext) -> list[date]:
    """The local days a run covers: one partition, or a whole range in a single-run backfill."""
    window = context.partition_time_window
    first, last = window.start.date(), window.end.date()
    return [first + timedelta(days=i) for i in range((last - first).days)]
