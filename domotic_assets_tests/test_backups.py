"""`domotic backup` and `domotic restore-backup`, as an operator runs them: a day from Bronze to Gold with its
Dagster instance in PostgreSQL, backed up, then restored into a new private PostgreSQL server, where every
meta, silver and gold table holds what it held, the row-level security is back, and the Bronze manifest
lists exactly the files on disk with their sha256."""

from __future__ import annotations

import csv
import hashlib
import shutil
import subprocess
import uuid
from datetime import date
from pathlib import Path

import dagster as dg
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from domotic_assets.definitions import build_definitions
from domotic_assets.defs.run_range import materialize_range
from domotic_assets.defs.selections import PIPELINE
from domotic_assets.warehouse import access_tables, table_digests
from domotic_assets.warehouse.connection import warehouse_password
from domotic_assets_tests.cli_helpers import domotic_command, domotic_env
from domotic_assets_tests.snapshots import warehouse_snapshot

DEPLOY = Path(__file__).resolve().parents[1] / "deploy" / "dagster.yaml"
DAY = date(2023, 8, 18)


def _dagster_env(instance_dsn: str) -> dict[str, str]:
    parts = conninfo_to_dict(instance_dsn)
    return {
        "DAGSTER_PG_HOST": parts["host"],
        "DAGSTER_PG_PORT": str(parts["port"]),
        "DAGSTER_PG_USER": parts["user"],
        "DAGSTER_PG_PASSWORD": warehouse_password(instance_dsn) or "",
        "DAGSTER_PG_DB": parts["dbname"],
    }


def _without_passfile(dsn: str, **changes: str) -> str:
    """The DSN without its password file: the password must then come from elsewhere."""
    parts = {k: v for k, v in conninfo_to_dict(dsn).items() if k != "passfile"}
    return make_conninfo(**(parts | changes))


def _without_runs(tables: dict) -> dict:
    return {name: value for name, value in tables.items() if name != "meta.operation_runs"}


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(domotic_command(*args), env=env, capture_output=True, text=True, timeout=600)


def test_a_backup_restores_into_a_new_server_with_every_table_equal(
    settings, make_database, own_postgres, tmp_path, monkeypatch
):
    instance_dsn = make_database()
    for name, value in _dagster_env(instance_dsn).items():
        monkeypatch.setenv(name, value)
    settings.dagster_home.mkdir(parents=True)
    shutil.copy(DEPLOY, settings.dagster_home / "dagster.yaml")
    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    keys = {k for k in PIPELINE.resolve(graph) if graph.get(k).group_name != "ml"}
    keys.discard(dg.AssetKey("household_schedules"))
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        outcome = materialize_range(defs, keys, DAY, DAY, instance, echo=lambda _line: None)
    assert outcome.success, outcome
    analyst = f"bi-{uuid.uuid4().hex[:8]}"  # the test cluster's roles are shared: a name of its own
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        access_tables.add_admin(conn, analyst)
        bi_role, _ = access_tables.sql_login(conn, analyst)
    try:
        _backup_and_restore(settings, instance_dsn, own_postgres, tmp_path, bi_role)
    finally:
        with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
            conn.execute(f'DROP ROLE IF EXISTS "{bi_role}"')


def _backup_and_restore(settings, instance_dsn: str, own_postgres, tmp_path, bi_role: str) -> None:
    env = domotic_env(settings)

    folder = tmp_path / "backup"
    made = _run("backup", str(folder), env=env)
    assert made.returncode == 0, made.stderr
    assert "Dagster instance: postgres" in made.stdout
    assert sorted(p.name for p in folder.iterdir()) == [
        "backup.json",
        "bronze-manifest.csv",
        "dagster.dump",
        "warehouse.dump",
    ]
    # the Bronze manifest is the Bronze folder: every file there, its bytes and sha256
    with (folder / "bronze-manifest.csv").open() as handle:
        listed = {row["path"]: (int(row["bytes"]), row["sha256"]) for row in csv.DictReader(handle)}
    on_disk = {
        str(p.relative_to(settings.bronze_dir)): (
            p.stat().st_size,
            hashlib.sha256(p.read_bytes()).hexdigest(),
        )
        for p in settings.bronze_dir.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }
    assert listed and listed == on_disk

    server, target = own_postgres
    instance_target = make_conninfo(target, dbname="dagster")
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute("CREATE DATABASE dagster")
    restore_env = {**env, "DOMOTIC_RESTORE_PASSWORD": server.password}
    target_no_file = _without_passfile(target)  # the password comes from the environment
    done = _run(
        "restore-backup",
        str(folder),
        "--to",
        target_no_file,
        "--dagster-to",
        instance_target,
        env=restore_env,
    )
    assert done.returncode == 0, done.stderr
    assert server.password not in done.stdout + done.stderr
    assert "each equal to the backup" in done.stdout and bi_role in done.stdout

    # every table equal, read by the product's digests and by the tests' own snapshot; but the backup's
    # own record, which it completed after its snapshot (restored, it is the run in progress)
    with psycopg.connect(settings.pg_dsn) as before, psycopg.connect(target) as after:
        assert _without_runs(table_digests.digests(before)) == _without_runs(table_digests.digests(after))
        runs = "SELECT operation, finished_at IS NULL FROM meta.operation_runs"
        assert before.execute(runs).fetchall() == [("backup", False)]
        assert after.execute(runs).fetchall() == [("backup", True)]
    assert _without_runs(warehouse_snapshot(settings.pg_dsn)) == _without_runs(warehouse_snapshot(target))
    # the row-level security came back: the API role with no account sees no row
    with psycopg.connect(target, autocommit=True) as conn:
        access_tables.set_api_password(conn, "restored-api")
        secured = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'gold' AND c.relrowsecurity"
        ).fetchone()[0]
        assert secured > 5
    api = _without_passfile(target, user=access_tables.API_ROLE, password="restored-api")
    with psycopg.connect(api) as conn:
        assert conn.execute("SELECT count(*) FROM gold.fact_energy_minute").fetchone()[0] == 0
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT count(*) FROM gold.fact_energy_minute").fetchone()[0] > 1000
    # the Dagster instance's runs came along
    with psycopg.connect(instance_dsn) as before, psycopg.connect(instance_target) as after:
        runs = "SELECT run_id, status FROM runs ORDER BY run_id"
        assert before.execute(runs).fetchall() == after.execute(runs).fetchall() != []

    # a second restore into the same database is refused, and changes nothing
    again = _run("restore-backup", str(folder), "--to", target, env=restore_env)
    assert again.returncode != 0 and "restore into an empty one" in again.stderr


def test_a_restore_refuses_an_unfinished_or_altered_backup_and_a_password_in_the_dsn(
    settings, own_postgres, tmp_path
):
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS meta")
        conn.execute("CREATE TABLE meta.note (id int PRIMARY KEY, text text)")
        conn.execute("INSERT INTO meta.note VALUES (1, 'kept')")
    env = domotic_env(settings)
    folder = tmp_path / "backup"
    assert _run("backup", str(folder), env=env).returncode == 0
    _, target = own_postgres
    # a byte changed in the dump: refused before anything is restored
    dump = folder / "warehouse.dump"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    altered = _run("restore-backup", str(folder), "--to", target, env=env)
    assert altered.returncode != 0 and "sha256 differs" in altered.stderr
    # a backup killed before its manifest was written is not a backup; running it again finishes it
    (folder / "backup.json").unlink()
    unfinished = _run("restore-backup", str(folder), "--to", target, env=env)
    assert unfinished.returncode != 0 and "no finished backup" in unfinished.stderr
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'meta'").fetchone()[0] == 0
    assert _run("backup", str(folder), env=env).returncode == 0
    assert _run("restore-backup", str(folder), "--to", target, env=env).returncode == 0
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT text FROM meta.note").fetchall() == [("kept",)]
    # a password in the DSN is refused, and not echoed
    leaky = _without_passfile(target, password="hunter2-secret")
    refused = _run("restore-backup", str(folder), "--to", leaky, env=env)
    assert refused.returncode != 0 and "hunter2-secret" not in refused.stdout + refused.stderr
