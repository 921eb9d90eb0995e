"""The checks of `sensor_events`, evaluated in the same run over the partitions it loaded."""

from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import dagster as dg

from domotic_assets.defs.check_results import check_metadata, nothing_to_judge
from domotic_assets.warehouse import quality, reference_tables

SENSOR_EVENT_CHECKS = {
    # name: (blocking, description)
    "no_duplicate_keys": (
        True,
        "One row per apartment, sensor, measure and timestamp: every day partition is under the unique key.",
    ),
    "reconciliation": (
        True,
        "Every reading in Bronze is in Silver, missing, or a losing duplicate; every file is loaded.",
    ),
    "outlier_rate": (
        False,
        f"Share of flagged readings per measure stays under {quality.OUTLIER_RATE_LIMIT:.0%}.",
    ),
    "stuck_sensors": (
        False,
        "No normally varying reading stays identical for hours (pidb parameter stuck_sensor_hours).",
    ),
    "gaps": (False, f"No sensor misses more than {quality.GAP_SHARE_LIMIT:.0%} of a day's minutes."),
    "unknown_sensors": (False, "Every sensor and room in the feed is known to pidb."),
    "live_freshness": (
        False,
        f"Silver is within {quality.FRESHNESS_LIMIT_MINUTES} minutes of the newest Bronze file.",
    ),
}


def sensor_event_check_specs(asset_key: str) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(name, asset=asset_key, blocking=blocking, description=text)
        for name, (blocking, text) in SENSOR_EVENT_CHECKS.items()
    ]


def evaluate_sensor_event_checks(conn, days, connect=None) -> list[dg.AssetCheckResult]:
    """Every check over the days; days with no file and no reading leave every check nothing to judge. With
    `connect`, the longest check (stuck sensors, an ordered pass over the range) runs on a connection of its
    own beside the others."""
    judged = quality.judged_readings(conn, days)
    if not judged:
        return [
            nothing_to_judge(name, f"no sensor file and no reading for {days[0]} .. {days[-1]}")
            for name in SENSOR_EVENT_CHECKS
        ]
    hours = reference_tables.parameter(conn, "stuck_sensor_hours", 3.0)
    with ExitStack() as stack:
        if connect is not None:
            pool = stack.enter_context(ThreadPoolExecutor(1))
            beside = pool.submit(quality.stuck_sensors, stack.enter_context(connect()), days, hours)
        counts = quality.measure_counts(conn, days)
        outcomes = {
            "no_duplicate_keys": quality.duplicate_keys(conn, days),
            "reconciliation": quality.reconciliation(conn, days, counts),
            "outlier_rate": quality.outlier_rates(counts),
            "gaps": quality.gaps(conn, days),
            "unknown_sensors": quality.unknown_references(conn, days),
            "live_freshness": quality.freshness(conn),
            "stuck_sensors": quality.stuck_sensors(conn, days, hours) if connect is None else beside.result(),
        }
    return [_result(name, *outcomes[name]) for name in SENSOR_EVENT_CHECKS]


def _result(name: str, passed: bool | None, facts: dict) -> dg.AssetCheckResult:
    if passed is None:
        return nothing_to_judge(name, facts["why"])
    return dg.AssetCheckResult(
        check_name=name,
        passed=bool(passed),
        severity=dg.AssetCheckSeverity.ERROR if SENSOR_EVENT_CHECKS[name][0] else dg.AssetCheckSeverity.WARN,
        metadata=check_metadata(facts),
    )
