"""Bronze after interruptions: files registered by the sensor, files gone, and a run killed mid-copy."""

import dataclasses
import subprocess

import dagster as dg
import psycopg

from domotic_assets.defs.bronze.sensors import sensor_files_sensor
from domotic_assets.defs.resources import build_resources
from domotic_assets_tests.bronze_helpers import bronze_snapshot, materialize_bronze
from domotic_assets_tests.cli_helpers import domotic_command, domotic_env, kill_when


def test_files_registered_by_the_sensor_are_stored_by_the_next_run(settings, feed):
    with dg.instance_for_test() as instance:
        sensor_files_sensor(dg.build_sensor_context(instance=instance, resources=build_resources(settings)))
    gone = feed.share / "jimmy/2023/08/18/jimmy_20230818T120000.json"
    gone.unlink()  # deleted from the share between registration and copy
    assert materialize_bronze(settings, "2023-08-18").success
    with psycopg.connect(settings.pg_dsn) as conn:
        state = dict(
            conn.execute("""SELECT coalesce(quarantine_reason, 'ok'), count(*) FROM meta.bronze_sensor_files
                                     WHERE partition_day = '2023-08-18' GROUP BY 1""").fetchall()
        )
        unstored = conn.execute(
            "SELECT count(*) FROM meta.bronze_sensor_files WHERE partition_day = '2023-08-18' "
            "AND bronze_path IS NULL"
        ).fetchone()[0]
    assert unstored == 0
    assert state["vanished_before_copy"] == 1, "said, not silently dropped"
    assert not (settings.bronze_dir / "jimmy/2023/08/18/12/jimmy_20230818T120000.json").exists()
    assert (settings.bronze_dir / "jimmy/2023/08/18/12/jimmy_20230818T120100.json").exists()


def test_a_run_killed_mid_copy_is_repaired_by_the_next(settings, feed, make_database, tmp_path):
    clean = dataclasses.replace(settings, home=tmp_path / "clean", pg_dsn=make_database())
    assert materialize_bronze(clean, "2023-08-18", "2023-08-19").success
    expected = bronze_snapshot(clean)

    env = domotic_env(settings)
    command = domotic_command("run", "--from", "2023-08-18", "--to", "2023-08-19", "--select", "bronze")
    jimmy = settings.bronze_dir / "jimmy"
    kill_when(command, env, lambda: jimmy.is_dir() and sum(1 for _ in jimmy.rglob("*.json")) > 300)

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert bronze_snapshot(settings) == expected
