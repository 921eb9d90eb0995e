"""silver.sensor_events in PostgreSQL: loads, atomic day swaps, idempotence, recovery, checks."""

import dataclasses
import hashlib
import os
import subprocess
import time
from datetime import date

import dagster as dg
import pandas as pd
import psycopg
import pytest

from domotic_assets.defs.bronze.assets import bronze_sensor_files
from domotic_assets.defs.bronze.sensors import LIVE_SELECTION, sensor_files_sensor
from domotic_assets.defs.resources import build_resources
from domotic_assets.defs.silver.assets import pidb_dimensions, sensor_events
from domotic_assets.warehouse import quality
from domotic_assets.warehouse.binary_copy import encode
from domotic_assets.warehouse.silver_tables import EVENT_TYPES, replace_day
from domotic_assets_tests.cli_helpers import domotic_command, domotic_env, kill_when

RANGE = {
    "dagster/asset_partition_range_start": "2023-08-18",
    "dagster/asset_partition_range_end": "2023-08-19",
}


def load(settings, tags=RANGE, assets=(bronze_sensor_files, sensor_events)):
    resources = build_resources(settings)
    assert dg.materialize([pidb_dimensions], resources=resources).success
    return dg.materialize(list(assets), resources=resources, tags=tags, raise_on_error=False)


def test_appending_new_minutes_gives_exactly_what_a_rebuild_gives(settings, feed, make_database, tmp_path):
    evening = [p for p in feed.share.rglob("*_20230818T*.json") if p.name.split("T")[1][:2] >= "18"]
    held = tmp_path / "held"
    for path in evening:  # the gateway has not written the evening yet
        target = held / path.relative_to(feed.share)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
    one_day = {
        "dagster/asset_partition_range_start": "2023-08-18",
        "dagster/asset_partition_range_end": "2023-08-18",
    }
    assert load(settings, tags=one_day).success
    for path in evening:
        (held / path.relative_to(feed.share)).rename(path)
    live = load(settings, tags=one_day)
    assert live.success
    assert (
        live.asset_materializations_for_node("sensor_events")[0].metadata["mode"].value
        == "appended new files"
    )

    clean = dataclasses.replace(settings, home=tmp_path / "clean", pg_dsn=make_database())
    assert load(clean, tags=one_day).success
    assert table_digest(settings.pg_dsn) == table_digest(clean.pg_dsn)


def table_digest(dsn) -> str:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("""SELECT e.apartment, e.room, e.sensor, e.category, e.measure, e.ts, e.value,
                                   e.unit,
                                      e.is_outlier, e.outlier_reason, e.counter_reset, e.ts_flag,
                                          b.source_path
                               FROM silver.sensor_events e JOIN meta.bronze_sensor_files b
                                   ON b.id = e.source_file_id
                               ORDER BY e.apartment, e.sensor, e.measure, e.ts""").fetchall()
        marks = conn.execute("""SELECT path, checksum, partition_day, readings_total, readings_missing,
                                    readings_duplicate,
                                       rows_loaded, status FROM silver.etl_watermark
                                           ORDER BY path""").fetchall()
        reports = conn.execute("""SELECT partition_day, apartment, sensor, kind, reported_room,
                                      expected_room, readings,
                                         first_ts, last_ts FROM silver.unknown_references ORDER BY 1, 2, 3,
                                             4, 5""").fetchall()
        errors = conn.execute("""SELECT partition_day, apartment, sensor, ts, code FROM silver.sensor_errors
                                 ORDER BY 1, 2, 3, 4, 5""").fetchall()
    return hashlib.sha256(repr((rows, marks, reports, errors)).encode()).hexdigest()


def test_two_days_load_with_every_check_passing_or_warning(settings, feed):
    result = load(settings)
    assert result.success
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(checks) == {
        "files_accounted_for",
        "no_duplicate_keys",
        "reconciliation",
        "outlier_rate",
        "stuck_sensors",
        "gaps",
        "unknown_sensors",
        "live_freshness",
    }
    assert (
        checks["no_duplicate_keys"].passed
        and checks["reconciliation"].passed
        and checks["files_accounted_for"].passed
    )
    with psycopg.connect(settings.pg_dsn) as conn:
        partitions = conn.execute(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'silver.sensor_events'::regclass"
        ).fetchone()[0]
        rows = conn.execute("SELECT count(*) FROM silver.sensor_events").fetchone()[0]
        flagged = conn.execute("""SELECT b.source_path, e.sensor, e.measure, e.outlier_reason
                                      FROM silver.sensor_events e
                                  JOIN meta.bronze_sensor_files b ON b.id = e.source_file_id
                                      WHERE e.is_outlier""").fetchall()
    assert partitions == 2 and 2 * 2 * 1440 * 50 < rows < 2 * 2 * 1440 * 70
    faults = pd.read_parquet(feed.out / "manifest" / "faults.parquet")
    impossible = faults[
        (faults.kind == "impossible")
        & faults.ts.dt.tz_convert("Europe/Zurich").dt.date.isin([date(2023, 8, 18), date(2023, 8, 19)])
    ]
    flagged_keys = {(f, s, m) for f, s, m, _ in flagged}
    missed = [
        (r.file, r.sensor, r.measure)
        for r in impossible.itertuples()
        if (r.file, r.sensor, r.measure) not in flagged_keys
    ]
    # a flagged reading can still lose to a later duplicate of its minute; anything else must be flagged
    assert len(missed) <= max(1, len(impossible) // 50), missed


def test_rerunning_a_day_gives_the_same_rows(settings, feed):
    assert load(settings).success
    first = table_digest(settings.pg_dsn)
    assert load(settings).success
    assert table_digest(settings.pg_dsn) == first


def test_a_failed_swap_leaves_the_previous_day_whole(settings, feed):
    assert load(settings).success
    before = table_digest(settings.pg_dsn)
    bad = pd.DataFrame(
        [
            {
                "apartment": "jimmy",
                "room": "Living",
                "sensor": "W-JIM-01",
                "category": "meteos",
                "measure": "temperature",
                "ts": pd.Timestamp("2023-08-25 10:00", tz="UTC"),
                "value": 21.0,
                "unit": "°C",
                "is_outlier": False,
                "outlier_reason": None,
                "counter_reset": False,
                "ts_flag": None,
                "source_file_id": 1,
            }
        ]
    )
    empty = pd.DataFrame()
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.CheckViolation):
            # a row outside its day
            replace_day(conn, date(2023, 8, 18), encode(bad, EVENT_TYPES), empty, empty, empty)
        leftovers = conn.execute("SELECT count(*) FROM pg_class WHERE relname LIKE '%%__load'").fetchone()[0]
    assert leftovers == 0
    assert table_digest(settings.pg_dsn) == before


def test_a_run_killed_while_loading_silver_is_repaired_by_the_next(settings, feed, make_database, tmp_path):
    clean = dataclasses.replace(settings, home=tmp_path / "clean", pg_dsn=make_database())
    assert load(clean).success
    expected = table_digest(clean.pg_dsn)

    assert load(settings, assets=(bronze_sensor_files,)).success
    env = domotic_env(settings)
    command = domotic_command(
        "run", "--from", "2023-08-18", "--to", "2023-08-19", "--select", "sensor_events"
    )
    with psycopg.connect(settings.pg_dsn, autocommit=True) as watch:
        copying = (
            "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE 'COPY silver.%%' AND state <> 'idle' "
            "AND datname = current_database()"
        )
        kill_when(command, env, lambda: watch.execute(copying).fetchone()[0] > 0)
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert table_digest(settings.pg_dsn) == expected


def test_a_late_file_brings_its_own_day_up_to_date(settings, feed):
    assert load(settings).success
    late = feed.share / "jimmy" / "late_gateway_resend.json"
    late.write_text(
        '{"apartment":"jimmy","timestamp":"2023-08-18T12:00:30+02:00",'
        '"meteos":{"W-JIM-09":{"room":"Living","temperature":22.2},"W-JIM-01":{"room":"Kitchen","humidity":47.0}}}'
    )
    os.utime(late, (time.time() - 300, time.time() - 300))
    with dg.instance_for_test() as instance:
        tick = sensor_files_sensor(
            dg.build_sensor_context(instance=instance, resources=build_resources(settings))
        )
        request = next(r for r in tick.run_requests if r.partition_key == "2023-08-18")
        assets = [
            a
            for a in (bronze_sensor_files, sensor_events)
            if a.key in set(LIVE_SELECTION.resolve([bronze_sensor_files, sensor_events]))
        ]
        result = dg.materialize(
            assets,
            resources=build_resources(settings),
            partition_key=request.partition_key,
            instance=instance,
        )
    assert result.success
    with psycopg.connect(settings.pg_dsn) as conn:
        row = conn.execute("SELECT value FROM silver.sensor_events WHERE sensor = 'W-JIM-09'").fetchall()
        unknown = conn.execute("""SELECT sensor, kind, reported_room, expected_room, readings
                                      FROM silver.unknown_references
                                  WHERE sensor IN ('W-JIM-09', 'W-JIM-01') ORDER BY sensor""").fetchall()
        mode = result.asset_materializations_for_node("sensor_events")[0].metadata["mode"].value
    assert row == [(22.2,)]
    assert unknown == [
        ("W-JIM-01", "room_mismatch", "Kitchen", "Living", 1),
        ("W-JIM-09", "unknown_sensor", "Living", None, 1),
    ]
    assert mode == "rebuilt", "a late file cannot be appended: its day is rebuilt"


def test_checks_catch_lost_rows_stuck_sensors_gaps_and_a_lagging_live_path(settings, feed):
    assert load(settings).success
    days = [date(2023, 8, 18), date(2023, 8, 19)]
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        assert quality.reconciliation(conn, days)[0]
        assert quality.stuck_sensors(conn, days, 3.0)[0]
        conn.execute("""UPDATE silver.sensor_events SET value = 21.5 WHERE sensor = 'W-JIM-01'
                            AND measure = 'temperature'
                        AND ts >= '2023-08-18 08:00Z' AND ts < '2023-08-18 12:30Z'""")
        stuck, facts = quality.stuck_sensors(conn, days, 3.0)
        assert not stuck and any("W-JIM-01 temperature = 21.5" in run for run in facts["runs"])
        assert quality.freshness(conn)[0]
        conn.execute("""DELETE FROM silver.sensor_events WHERE sensor = 'W-JER-02'
                        AND ts >= '2023-08-19 09:00Z' AND ts < '2023-08-19 11:00Z'""")
        passed, facts = quality.gaps(conn, days)
        assert not passed and facts["above_limit"]["2023-08-19 jeremie W-JER-02"] >= 120
        conn.execute("""UPDATE meta.bronze_sensor_files SET doc_ts = doc_ts + interval '1 hour'
                        WHERE id = (SELECT id FROM meta.bronze_sensor_files WHERE quarantine_reason IS NULL
                                    ORDER BY doc_ts DESC LIMIT 1)""")
        late, facts = quality.freshness(conn)
        assert not late and facts["lag_minutes"] > 30
        rows_before = quality.reconciliation(conn, days)[1]["rows_in_silver"]
        conn.execute(
            "DELETE FROM silver.sensor_events_20230819 WHERE ctid = (SELECT ctid FROM "
            "silver.sensor_events_20230819 LIMIT 1)"
        )
        passed, facts = quality.reconciliation(conn, days)
        assert not passed and facts["rows_in_silver"] == rows_before - 1
        assert quality.duplicate_keys(conn, days)[0]
        conn.execute("DROP INDEX silver.sensor_events_key")  # a warehouse whose key was lost
        conn.execute(
            "INSERT INTO silver.sensor_events_20230819 SELECT * FROM silver.sensor_events_20230819 LIMIT 1"
        )
        passed, facts = quality.duplicate_keys(conn, days)
        assert not passed and facts["partitions_without_unique_key"] == [
            "sensor_events_20230818",
            "sensor_events_20230819",
        ]


def test_a_counter_spike_at_midnight_is_caught_when_the_days_are_loaded_together(
    settings, feed, make_database, tmp_path
):
    # found by the 70-day benchmark: in a range load the day before is transformed beside the day, not read
    # from Silver, so a wild first reading of the day went unflagged and put 73 kWh into one Gold minute
    import json

    midnight = next(feed.share.rglob("jimmy_20230819T000000.json"))
    document = json.loads(midnight.read_text())
    document["plugs"]["P-JIM-02"]["total"] += 70.0
    stat = midnight.stat()
    midnight.write_text(json.dumps(document))
    os.utime(midnight, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert load(settings).success  # both days in one run
    with psycopg.connect(settings.pg_dsn) as conn:
        flagged = conn.execute("""SELECT outlier_reason FROM silver.sensor_events WHERE sensor = 'P-JIM-02'
                                      AND measure = 'total'
                                  AND ts = '2023-08-18 22:00+00'""").fetchall()
        resets = conn.execute("""SELECT count(*) FROM silver.sensor_events WHERE sensor = 'P-JIM-02'
                                     AND counter_reset
                                 AND ts BETWEEN '2023-08-18 21:00+00'
                                     AND '2023-08-18 23:00+00'""").fetchone()[0]
    assert flagged == [("spike",)] and resets == 0
    one_by_one = dataclasses.replace(settings, home=tmp_path / "days", pg_dsn=make_database())
    for day in ("2023-08-18", "2023-08-19"):
        assert load(
            one_by_one,
            tags={"dagster/asset_partition_range_start": day, "dagster/asset_partition_range_end": day},
        ).success
    assert table_digest(settings.pg_dsn) == table_digest(one_by_one.pg_dsn)
