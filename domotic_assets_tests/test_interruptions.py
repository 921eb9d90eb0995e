"""Runs interrupted by a PostgreSQL restart or a SIGKILL end exactly like clean runs."""

import dataclasses
import subprocess
import threading
import time

import dagster as dg
import psycopg

from domotic_assets.defs.bronze.assets import bronze_sensor_files
from domotic_assets.defs.resources import build_resources
from domotic_assets.defs.silver.assets import pidb_dimensions, sensor_events
from domotic_assets.warehouse.embedded import EmbeddedPostgres
from domotic_assets_tests.bronze_helpers import bronze_snapshot
from domotic_assets_tests.cli_helpers import domotic_command, domotic_env, kill_when
from domotic_assets_tests.real_sources import retries
from domotic_assets_tests.snapshots import differences, warehouse_snapshot

DAYS = {"dagster/asset_partition_range_start": "2023-08-18", "dagster/asset_partition_range_end": "2023-08-19"}


def _copying(dsn: str, into: str) -> bool:
    """Whether a COPY into `into` is running on the server of `dsn`."""
    try:
        with psycopg.connect(dsn, connect_timeout=2) as conn:
            return bool(conn.execute("SELECT 1 FROM pg_stat_activity WHERE query ILIKE %s AND pid <> pg_backend_pid() "
                                     "AND datname = current_database()",
                                     (f"COPY {into}%",)).fetchone())
    except psycopg.OperationalError:
        return False


def _load(settings, instance=None):
    resources = build_resources(settings)
    assert dg.materialize([pidb_dimensions], resources=resources).success
    assert dg.materialize([bronze_sensor_files], resources=resources, tags=DAYS).success
    return dg.materialize([sensor_events], resources=resources, tags=DAYS, raise_on_error=False,
                          instance=instance or dg.DagsterInstance.ephemeral())


def test_postgres_restarting_during_the_silver_load_is_retried_without_duplicates(settings, feed, tmp_path):
    clean = _load(settings)
    assert clean.success
    expected = warehouse_snapshot(settings.pg_dsn, ("silver",))

    server = EmbeddedPostgres(tmp_path / "pg")
    dsn, _ = server.ensure_running()
    try:
        restarting = dataclasses.replace(settings, home=tmp_path / "restarting", pg_dsn=dsn)
        outcome = {}

        def load():
            with dg.DagsterInstance.ephemeral() as instance:  # made, used and closed in this thread
                outcome["result"] = _load(restarting, instance)

        run = threading.Thread(target=load)
        run.start()
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and run.is_alive() and not _copying(dsn, "silver.sensor_events"):
            time.sleep(0.02)
        assert run.is_alive(), "the load ended before the restart"
        server.stop()  # fast shutdown: every session is terminated mid-COPY
        assert server.ensure_running()[0] == dsn
        run.join(timeout=300)
        result = outcome["result"]
        assert result.success and retries(result) >= 1, "the load was retried after the restart"
        assert differences(warehouse_snapshot(dsn, ("silver",)), expected) == {}
    finally:
        server.stop()


def test_a_run_killed_mid_partition_is_completed_exactly_by_the_next(settings, feed, make_database, tmp_path):
    command = domotic_command("run", "--from", "2023-08-18", "--to", "2023-08-19")
    clean = dataclasses.replace(settings, home=tmp_path / "clean", pg_dsn=make_database())
    done = subprocess.run(command, env=domotic_env(clean), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    kill_when(command, domotic_env(settings), lambda: _copying(settings.pg_dsn, "silver.sensor_events"), timeout=300)
    again = subprocess.run(command, env=domotic_env(settings), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]

    assert bronze_snapshot(settings)["files"] == bronze_snapshot(clean)["files"]
    got, expected = warehouse_snapshot(settings.pg_dsn), warehouse_snapshot(clean.pg_dsn)
    assert len(expected) > 40 and expected["gold.fact_energy_minute"][0] > 0
    assert differences(got, expected) == {}
