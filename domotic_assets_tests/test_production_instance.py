"""The production Dagster instance (deploy/dagster.yaml): runs, events and schedules in PostgreSQL."""

import shutil
from datetime import date
from pathlib import Path

import dagster as dg
import psycopg
from psycopg.conninfo import conninfo_to_dict

from domotic_assets.defs import bronze, silver
from domotic_assets.defs.resources import build_resources
from domotic_assets.defs.run_range import materialize_range
from domotic_assets.warehouse.connection import warehouse_password

DEPLOY = Path(__file__).resolve().parents[1] / "deploy" / "dagster.yaml"


def test_runs_and_their_events_are_stored_in_postgres(settings, make_database, tmp_path, monkeypatch):
    instance_dsn = make_database()
    parts = conninfo_to_dict(instance_dsn)
    for name, value in {
        "DAGSTER_PG_HOST": parts["host"],
        "DAGSTER_PG_PORT": str(parts["port"]),
        "DAGSTER_PG_USER": parts["user"],
        "DAGSTER_PG_PASSWORD": warehouse_password(instance_dsn) or "",
        "DAGSTER_PG_DB": parts["dbname"],
    }.items():
        monkeypatch.setenv(name, value)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY, home / "dagster.yaml")
    defs = dg.Definitions.merge(bronze.defs, silver.defs, dg.Definitions(resources=build_resources(settings)))
    keys = {dg.AssetKey("bronze_sensor_files"), *silver.assets.pidb_dimensions.keys}
    with dg.DagsterInstance.from_config(str(home)) as instance:
        outcome = materialize_range(
            defs, keys, date(2023, 8, 18), date(2023, 8, 18), instance, echo=lambda _line: None
        )
        assert outcome.success, outcome.failures
        records = instance.get_run_records()
        assert len(records) == 2 and all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records)
        materialized = instance.get_latest_materialization_event(dg.AssetKey("bronze_sensor_files"))
        assert materialized is not None
    with psycopg.connect(instance_dsn) as conn:  # what the webserver and the daemon of a building read
        tables = {t for (t,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert {"runs", "event_logs", "jobs", "job_ticks"} <= tables
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 2
        assert (
            conn.execute(
                "SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'"
            ).fetchone()[0]
            > 0
        )
