"""How every check reports: its facts as UI metadata, and an honest answer when it had nothing to judge."""

from datetime import date, timedelta

import dagster as dg

from domotic_assets.defs.run_range import RANGE_END_TAG, RANGE_START_TAG
from domotic_assets.warehouse.gold_quality import days_between, newest_day


def check_metadata(facts: dict) -> dict:
    """Facts for the UI: numbers and text as they are, lists and mappings as JSON."""
    return {k: v if isinstance(v, (int, float, str)) else dg.MetadataValue.json(v) for k, v in facts.items()}


def nothing_to_judge(check_name: str | None, why: str, **facts) -> dg.AssetCheckResult:
    """A check that found nothing to judge never says passed: it warns, and says why (a blocking check
    then blocks nothing, since there is nothing it could have found wrong)."""
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"nothing to judge: {why}",
        metadata=check_metadata({"judged": 0, "nothing_to_judge": why, **facts}),
    )


def checked_days(
    context: dg.AssetCheckExecutionContext, conn, table: str, day_column: str = "local_day"
) -> list[date]:
    """The days a check judges: those of the run that built its asset, or the table's newest week when
    the check is run on its own."""
    tags = context.run.tags
    if RANGE_START_TAG in tags:
        first, last = date.fromisoformat(tags[RANGE_START_TAG]), date.fromisoformat(tags[RANGE_END_TAG])
    elif "dagster/partition" in tags:
        first = last = date.fromisoformat(tags["dagster/partition"])
    else:
        last = newest_day(conn, table, day_column) or date.today()
        first = last - timedelta(days=6)
    return days_between(first, last)
