"""Operations: the daily archive of days past their retention (`domotic archive` as a scheduled asset)."""

import dagster as dg

from domotic_assets.defs.operations.assets import archive_job, archive_schedule, archives

defs = dg.Definitions(assets=[archives], jobs=[archive_job], schedules=[archive_schedule])
