"""The `domotic` command: run a day range through the Dagster definitions, a live simulation, the UI
(the demo and what the UI shows of it: test_ui_browser.py)."""

import shutil
import subprocess
import time

import psycopg

from domotic_assets_tests.bronze_helpers import bronze_snapshot
from domotic_assets_tests.cli_helpers import domotic_command, domotic_env, ui_query


def _domotic(*args, env):
    return subprocess.run(domotic_command(*args), env=env, capture_output=True, text=True, timeout=600)


def test_a_range_with_days_of_no_data_finishes_every_layer_and_bronze_rebuilds_identically(settings, feed):
    """The feed has files and forecasts for 18-19 August only: 17 and 20 hold the other layers back in
    nothing. Bronze deleted and rebuilt alone for the range is what it was."""
    done = _domotic("run", "--from", "2023-08-17", "--to", "2023-08-20", env=domotic_env(settings))
    assert done.returncode == 3, done.stdout[-3000:] + done.stderr[-3000:]
    assert "finished, with data missing for 2 day(s): 2023-08-17, 2023-08-20" in done.stdout
    assert "bronze_weather_files.weather_files_present" in done.stdout and "dim_sensors" in done.stdout
    with psycopg.connect(settings.pg_dsn) as conn:
        energy = conn.execute(
            "SELECT DISTINCT local_day::text FROM gold.fact_energy_minute ORDER BY 1"
        ).fetchall()
        weather = conn.execute(
            "SELECT DISTINCT issue_day::text FROM gold.fact_weather_day ORDER BY 1"
        ).fetchall()
        presence = conn.execute("SELECT count(DISTINCT local_day) FROM gold.fact_presence_minute").fetchone()
    assert energy[:2] == [("2023-08-18",), ("2023-08-19",)] and weather == [("2023-08-18",), ("2023-08-19",)]
    assert presence[0] >= 2
    # the run is recorded in the Dagster instance of the state folder, as the UI shows it
    assert any((settings.home / "dagster").rglob("*.db"))

    # Bronze lost: one layer of the range rebuilt alone gives the same files, byte for byte
    first = bronze_snapshot(settings)
    assert first["files"]
    shutil.rmtree(settings.bronze_dir)
    with psycopg.connect(settings.pg_dsn) as conn:
        conn.execute("TRUNCATE meta.bronze_sensor_files, meta.bronze_weather_files")
    again = _domotic(
        "run", "--from", "2023-08-17", "--to", "2023-08-20", "--select", "bronze", env=domotic_env(settings)
    )
    assert again.returncode == 3, again.stdout[-3000:] + again.stderr[-3000:]
    assert "bronze_sensor_files" in again.stdout and "dim_sensors" not in again.stdout
    assert bronze_snapshot(settings) == first


def test_run_exits_1_and_says_why_when_a_run_fails(settings, feed, tmp_path):
    env = {**domotic_env(settings), "DOMOTIC_WEATHER": str(tmp_path / "no_such_drop")}
    done = _domotic(
        "run", "--from", "2023-08-18", "--to", "2023-08-18", "--select", "bronze_weather_files", env=env
    )
    assert done.returncode == 1
    assert "no_such_drop" in done.stdout + done.stderr and "not retried" in done.stdout + done.stderr


def test_live_simulation_writes_minute_files_as_time_passes(tmp_path):
    out = tmp_path / "live"
    command = domotic_command(
        "simulate",
        "--out",
        str(out),
        "--apartments",
        "jimmy",
        "--start",
        "2023-08-18",
        "--days",
        "1",
        "--live",
        "--speed",
        "1200",
    )
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(6)
        early = sorted(p.name for p in (out / "share").rglob("*.json"))
        time.sleep(4)
        later = sorted(p.name for p in (out / "share").rglob("*.json"))
    finally:
        process.kill()
        process.wait()
    # 1200x: a simulated minute every 50 ms, so files keep appearing, in timestamp order
    assert 10 < len(early) < len(later) < 1440
    assert early[0] == "jimmy_20230818T000000.json" and later[: len(early)] == early
    assert (out / "pidb.sqlite").exists()


def test_ui_serves_the_asset_graph_on_the_same_state(settings, feed):
    nodes = ui_query(domotic_env(settings), "{ assetNodes { assetKey { path } groupName } }")
    groups = {tuple(n["assetKey"]["path"]): n["groupName"] for n in nodes}
    assert groups[("bronze_sensor_files",)] == "bronze" and groups[("sensor_events",)] == "silver"
    assert groups[("gold", "fact_energy_minute")] == "gold"
    assert (settings.home / "dagster" / "dagster.yaml").exists()
