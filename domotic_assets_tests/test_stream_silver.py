"""Sensor readings over MQTT (`domotic/<apartment>/<category>/<sensor>`) share silver.sensor_events with
the readings of files: one row per natural key, the file's copy winning, kept through rebuilds and appends."""

from datetime import UTC, timedelta

import dagster as dg
import orjson
import psycopg

from domotic_assets.contracts.mqtt_message import RawMessage
from domotic_assets.defs.bronze.assets import bronze_sensor_files
from domotic_assets.defs.resources import build_resources
from domotic_assets.defs.silver.assets import pidb_dimensions, sensor_events
from domotic_assets.transform.telemetry import decode_batch
from domotic_assets.warehouse.telemetry_tables import TelemetryWriter

DAY = {"dagster/asset_partition_range_start": "2023-08-18", "dagster/asset_partition_range_end": "2023-08-18"}


def load(settings, rebuild: bool = False) -> dg.ExecuteInProcessResult:
    resources = build_resources(settings)
    assert dg.materialize([pidb_dimensions], resources=resources).success
    config = {"ops": {"sensor_events": {"config": {"rebuild": rebuild}}}}
    result = dg.materialize(
        [bronze_sensor_files, sensor_events], resources=resources, tags=DAY, run_config=config
    )
    assert result.success
    return result


def send(dsn: str, *readings: tuple) -> tuple[int, int]:
    """Write (sensor, ts, power) readings as the stream does; returns (rows stored, already there)."""
    messages = [
        RawMessage(
            f"domotic/jimmy/plugs/{sensor}",
            orjson.dumps({"ts": ts.isoformat(), "power": power}),
            int((ts + timedelta(seconds=1)).timestamp() * 1e6),
        )
        for sensor, ts, power in readings
    ]
    with psycopg.connect(dsn, autocommit=True) as conn:
        result = TelemetryWriter(conn).write(decode_batch(messages, lambda source: "Europe/Zurich"))
    return result.sensor_rows, result.duplicates


def rows(dsn: str, sensor: str, ts) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            """SELECT value, source_file_id IS NULL, room FROM silver.sensor_events
                               WHERE apartment = 'jimmy' AND sensor = %s AND measure = 'power' AND ts = %s""",
            (sensor, ts),
        ).fetchall()


def checks(result) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def test_a_reading_from_both_ways_is_stored_once_and_mqtt_only_readings_survive_a_rebuild(settings, feed):
    load(settings)
    with psycopg.connect(settings.pg_dsn) as conn:
        ts, value = conn.execute("""SELECT ts, value FROM silver.sensor_events WHERE sensor = 'P-JIM-01'
                                    AND measure = 'power' ORDER BY ts OFFSET 300 LIMIT 1""").fetchone()
    between = ts + timedelta(seconds=30)  # no file has a reading at half past
    assert send(settings.pg_dsn, ("P-JIM-01", ts, value + 1), ("P-JIM-01", between, 77.0)) == (1, 1)
    assert [r[:2] for r in rows(settings.pg_dsn, "P-JIM-01", ts)] == [(value, False)], "the file's copy stays"
    (mqtt_row,) = rows(settings.pg_dsn, "P-JIM-01", between)
    assert mqtt_row[:2] == (77.0, True) and mqtt_row[2], "the reading takes its sensor's room from pidb"

    rebuilt = load(settings, rebuild=True)
    assert rows(settings.pg_dsn, "P-JIM-01", ts)[0][:2] == (value, False)
    assert rows(settings.pg_dsn, "P-JIM-01", between) == [mqtt_row]
    assert checks(rebuilt)["reconciliation"] and checks(rebuilt)["no_duplicate_keys"]
    (evaluation,) = [e for e in rebuilt.get_asset_check_evaluations() if e.check_name == "reconciliation"]
    assert evaluation.metadata["rows_from_mqtt"].value == 1


def test_a_file_arriving_after_its_readings_came_over_mqtt_replaces_them_on_the_live_append(
    settings, feed, tmp_path
):
    evening = [p for p in feed.share.rglob("*_20230818T*.json") if p.name.split("T")[1][:2] >= "20"]
    held = tmp_path / "held"
    for path in evening:
        target = held / path.relative_to(feed.share)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
    load(settings)
    with psycopg.connect(settings.pg_dsn) as conn:
        last = conn.execute(
            "SELECT max(ts) FROM silver.sensor_events WHERE sensor = 'P-JIM-02' AND measure = 'power'"
        ).fetchone()[0]
    early, only_mqtt = last + timedelta(minutes=30), last + timedelta(minutes=30, seconds=30)
    assert send(settings.pg_dsn, ("P-JIM-02", early, 4321.0), ("P-JIM-02", only_mqtt, 12.0)) == (2, 0)

    for path in evening:  # the gateway's files of the evening arrive after the stream's copy
        (held / path.relative_to(feed.share)).rename(path)
    live = load(settings)
    assert (
        live.asset_materializations_for_node("sensor_events")[0].metadata["mode"].value
        == "appended new files"
    )
    (from_file,) = rows(settings.pg_dsn, "P-JIM-02", early)
    assert from_file[1] is False and from_file[0] != 4321.0, "the file's copy wins"
    assert [r[:2] for r in rows(settings.pg_dsn, "P-JIM-02", only_mqtt)] == [(12.0, True)]
    assert checks(live)["reconciliation"] and checks(live)["no_duplicate_keys"]


def test_a_battery_at_minus_999_w_is_stored_as_a_reading_and_a_sentinel_soc_is_quarantined(warehouse_dsn):
    """mqtt.md: -999 W is a battery discharging at 999 W; -999 % is no state of charge."""
    from datetime import datetime

    from domotic_assets.warehouse.schema import ensure_schema

    ensure_schema(warehouse_dsn)
    at = datetime(2023, 8, 18, 10, tzinfo=UTC)
    message = RawMessage(
        "home/1/battery",
        orjson.dumps({"household_id": 1, "ts": at.isoformat(), "soc_pct": -999, "power_w": -999.0}),
        int(at.timestamp() * 1e6) + 1_000_000,
    )
    with psycopg.connect(warehouse_dsn, autocommit=True) as conn:
        TelemetryWriter(conn).write(decode_batch([message], lambda source: "Europe/Zurich"))
        stored = conn.execute("SELECT measure, value, is_outlier FROM silver.household_telemetry").fetchall()
        quarantined = conn.execute("SELECT reason, detail FROM meta.stream_quarantine").fetchall()
    assert stored == [("battery_power", -999.0, False)]
    assert quarantined == [("values_unreadable", '{"soc_pct":"sentinel"}')]
