"""The `domotic` command: run a day range through the Dagster definitions, and the demo."""

import json
import os
import shutil
import subprocess
import time
import urllib.request

import dagster as dg
import psycopg
from dagster_shared.serdes import serialize_value

from domotic_assets.warehouse.embedded import EmbeddedPostgres
from domotic_assets_tests.bronze_helpers import bronze_snapshot
from domotic_assets_tests.cli_helpers import domotic_command, domotic_env, running_ui


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


def test_a_range_with_days_of_no_data_finishes_every_layer_for_the_days_that_have_some(settings, feed):
    """The feed has files and forecasts for 18-19 August only: 17 and 20 hold the other layers back in nothing."""
    done = _domotic("run", "--from", "2023-08-17", "--to", "2023-08-20", env=domotic_env(settings))
    assert done.returncode == 3, done.stdout[-3000:] + done.stderr[-3000:]
    assert "finished, with data missing for 2 day(s): 2023-08-17, 2023-08-20" in done.stdout
    assert "bronze_weather_files.weather_files_present" in done.stdout
    with psycopg.connect(settings.pg_dsn) as conn:
        energy = conn.execute("SELECT DISTINCT local_day::text FROM gold.fact_energy_minute ORDER BY 1").fetchall()
        weather = conn.execute("SELECT DISTINCT issue_day::text FROM gold.fact_weather_day ORDER BY 1").fetchall()
        presence = conn.execute("SELECT count(DISTINCT local_day) FROM gold.fact_presence_minute").fetchone()
    assert energy[:2] == [("2023-08-18",), ("2023-08-19",)] and weather == [("2023-08-18",), ("2023-08-19",)]
    assert presence[0] >= 2


def test_run_exits_1_and_says_why_when_a_run_fails(settings, feed, tmp_path):
    env = {**domotic_env(settings), "DOMOTIC_WEATHER": str(tmp_path / "no_such_drop")}
    done = _domotic("run", "--from", "2023-08-18", "--to", "2023-08-18", "--select", "bronze_weather_files", env=env)
    assert done.returncode == 1
    assert "no_such_drop" in done.stdout + done.stderr and "not retried" in done.stdout + done.stderr


def test_demo_runs_on_embedded_defaults_and_the_ui_shows_its_gold_checks_passed(tmp_path):
    home = tmp_path / "state"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DOMOTIC_")}
    env = {**clean, "DOMOTIC_HOME": str(home)}
    done = _domotic("demo", "--days", "1", env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "quarantined:" in done.stdout and "silver.dim_sensors" in done.stdout
    assert "gold.fact_energy_minute" in done.stdout and "presence precision" in done.stdout
    assert (home / "bronze" / "jimmy" / "2023" / "08" / "18").is_dir()
    assert EmbeddedPostgres(home / "pg").running_port() is None, "the private server is stopped afterwards"
    nodes, resources = _ui_query(env, """{ assetNodes { assetKey { path } groupName
        assetChecksOrError { ... on AssetChecks { checks { name executionForLatestMaterialization { status } } } } } }""",
                                 RESOURCES)
    gold = {(tuple(n["assetKey"]["path"]), c["name"]): (c["executionForLatestMaterialization"] or {}).get("status")
            for n in nodes if n["groupName"] == "gold" for c in n["assetChecksOrError"]["checks"]}
    assert len(gold) > 100 and (("gold", "fact_energy_minute"), "energy_reconciliation") in gold
    not_passed = {k: v for k, v in gold.items() if v != "SUCCEEDED"}
    # one day has no history to plan a schedule on: those checks say they had nothing to judge, not passed
    assert not_passed == {(("household_schedules",), name): "FAILED"
                          for name in ("schedules_verified", "schedules_beat_rule_based", "schedules_made")}, not_passed
    _no_password_shown(home, resources)


RESOURCES = """{ workspaceOrError { ... on Workspace { locationEntries { locationOrLoadError { ... on RepositoryLocation {
    repositories { allTopLevelResourceDetails { name configuredValues { key value type } } } } } } } } }"""


def _no_password_shown(home, resources: dict) -> None:
    """The private warehouse's generated password appears in no resource's configuration as the UI shows it,
    in no run's event log, and in no file the Dagster instance, dbt or the UI wrote."""
    password = (home / "pg" / "password").read_text().strip()
    configured = [(r["name"], v["key"], v["value"]) for entry in resources["workspaceOrError"]["locationEntries"]
                  for repo in entry["locationOrLoadError"]["repositories"] for r in repo["allTopLevelResourceDetails"]
                  for v in r["configuredValues"]]
    assert ("warehouse", "dsn") in {(name, key) for name, key, _ in configured}
    assert len(password) > 20 and not [c for c in configured if password in c[2]], "a password is shown in the UI"
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        records = instance.get_run_records()
        assert records
        for record in records:
            assert password not in json.dumps(record.dagster_run.run_config) + json.dumps(dict(record.dagster_run.tags))
            for event in instance.all_logs(record.dagster_run.run_id):
                assert password not in serialize_value(event), f"run {record.dagster_run.run_id} logged the password"
    written = [p for folder in ("dagster", "logs") for p in (home / folder).rglob("*") if p.is_file()] + [home / "ui.log"]
    assert len(written) > 5 and not [p for p in written if password.encode() in p.read_bytes()]


def test_live_simulation_writes_minute_files_as_time_passes(tmp_path):
    out = tmp_path / "live"
    command = domotic_command("simulate", "--out", str(out), "--apartments", "jimmy", "--start", "2023-08-18",
                              "--days", "1", "--live", "--speed", "1200")
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


def _ui_query(env: dict, graphql: str, *more: str):
    """Start `domotic ui` on a state folder, ask its GraphQL for the asset nodes (and the answers of `more`
    queries), stop it."""
    answers = []
    with running_ui(env) as base:
        for query in (graphql, *more):
            request = urllib.request.Request(f"{base}/graphql", data=json.dumps({"query": query}).encode(),
                                             headers={"Content-Type": "application/json"})
            answer = json.loads(urllib.request.urlopen(request, timeout=60).read())
            assert "errors" not in answer, answer.get("errors")
            answers.append(answer["data"])
    return (answers[0]["assetNodes"], *answers[1:]) if more else answers[0]["assetNodes"]


def test_ui_serves_the_asset_graph_on_the_same_state(settings, feed):
    nodes = _ui_query(domotic_env(settings), "{ assetNodes { assetKey { path } groupName } }")
    groups = {tuple(n["assetKey"]["path"]): n["groupName"] for n in nodes}
    assert groups[("bronze_sensor_files",)] == "bronze" and groups[("sensor_events",)] == "silver"
    assert groups[("gold", "fact_energy_minute")] == "gold"
    assert (settings.home / "dagster" / "dagster.yaml").exists()

