"""The `domotic` command: run a day range through the Dagster definitions, and the demo."""

import os
import shutil
import subprocess

import psycopg

from domotic_assets.warehouse.embedded import EmbeddedPostgres
from domotic_assets_tests.bronze_helpers import bronze_snapshot
from domotic_assets_tests.cli_helpers import domotic_command, domotic_env


def _domotic(*args, env):
    return subprocess.run(domotic_command(*args), env=env, capture_output=True, text=True, timeout=600)


def test_run_rebuilds_a_chosen_day_identically(settings, feed):
    done = _domotic("run", "--from", "2023-08-18", "--to", "2023-08-18", env=domotic_env(settings))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "bronze_sensor_files" in done.stdout and "dim_sensors" in done.stdout
    first = bronze_snapshot(settings)
    assert first["files"]
    shutil.rmtree(settings.bronze_dir)
    with psycopg.connect(settings.pg_dsn) as conn:
        conn.execute("TRUNCATE meta.bronze_sensor_files, meta.bronze_weather_files")
    again = _domotic("run", "--from", "2023-08-18", "--to", "2023-08-18", "--select", "bronze", env=domotic_env(settings))
    assert again.returncode == 0, again.stderr[-3000:]
    assert "dim_sensors" not in again.stdout
    assert bronze_snapshot(settings) == first
    # the run is recorded in the Dagster instance of the state folder, as the UI shows it
    assert any((settings.home / "dagster").rglob("*.db"))


def test_run_exits_non_zero_and_says_why_when_a_run_fails(settings, feed):
    done = _domotic("run", "--from", "2023-08-19", "--to", "2023-08-20", "--select", "bronze_weather_files", env=domotic_env(settings))
    assert done.returncode == 1
    assert "no forecast file issued yet for 2023-08-20" in done.stdout + done.stderr


def test_demo_runs_on_embedded_defaults(tmp_path):
    home = tmp_path / "state"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DOMOTIC_")}
    done = _domotic("demo", "--days", "1", env={**clean, "DOMOTIC_HOME": str(home)})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "quarantined:" in done.stdout and "silver.dim_sensors" in done.stdout
    assert (home / "bronze" / "jimmy" / "2023" / "08" / "18").is_dir()
    assert EmbeddedPostgres(home / "pg").running_port() is None, "the private server is stopped afterwards"
