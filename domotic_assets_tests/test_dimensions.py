"""The ten silver.dim_* tables from pidb: SQLite and real MariaDB, idempotent, never reading `users`."""

import sqlite3
import uuid
from datetime import date

import dagster as dg
import psycopg
import pytest
import sqlalchemy as sa
from dagster_shared.serdes import serialize_value
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from domotic_assets.contracts.pidb import REFERENCE_TABLES
from domotic_assets.defs.resources import build_resources
from domotic_assets.defs.silver.assets import pidb_dimensions
from domotic_assets.ingest.pidb_import import PidbUnavailable, import_reference_tables, read_reference_tables
from domotic_assets.settings import SecretInLocation, Settings
from domotic_assets.simulator.apartments import apartments_for
from domotic_assets.simulator.pidb import write_pidb
from domotic_assets.warehouse.connection import connect
from domotic_assets.warehouse.dbt_env import dbt_connection_env
from domotic_assets.warehouse.schema import ensure_schema
from domotic_assets_tests.servers.mariadb import MariaDbServer


def _dim_rows(dsn):
    with psycopg.connect(dsn) as conn:
        return {
            t: conn.execute(f"SELECT * FROM silver.dim_{t} ORDER BY 1, 2").fetchall()
            for t in REFERENCE_TABLES
        }


def _no_users_engine(url):
    """SQLite refuses any read of `users` through this engine: a read would raise, not pass silently."""
    engine = sa.create_engine(url)

    @sa.event.listens_for(engine, "connect")
    def deny_users(dbapi_connection, _record):
        def authorizer(action, table, *_):
            return (
                sqlite3.SQLITE_DENY
                if action == sqlite3.SQLITE_READ and table == "users"
                else sqlite3.SQLITE_OK
            )

        dbapi_connection.set_authorizer(authorizer)

    return engine


def test_import_is_idempotent_and_follows_changes(settings, feed):
    ensure_schema(settings.pg_dsn)
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        first = import_reference_tables(settings.pidb_url, conn)
        assert all(r.changed for r in first)
        before = _dim_rows(settings.pg_dsn)
        xmin = conn.execute("SELECT string_agg(xmin::text, ',') FROM silver.dim_sensors").fetchone()
        second = import_reference_tables(settings.pidb_url, conn)
        assert not any(r.changed for r in second)
        assert (
            conn.execute("SELECT string_agg(xmin::text, ',') FROM silver.dim_sensors").fetchone() == xmin
        ), "untouched"
        assert _dim_rows(settings.pg_dsn) == before
        engine = sa.create_engine(settings.pidb_url)
        with engine.begin() as src:
            src.execute(sa.text("UPDATE rooms SET area_m2 = 33.5 WHERE name = 'Living' AND building_id = 1"))
        engine.dispose()
        third = {r.table: r.changed for r in import_reference_tables(settings.pidb_url, conn)}
        assert third["dim_rooms"] and not third["dim_sensors"]
        area = conn.execute(
            "SELECT area_m2 FROM silver.dim_rooms WHERE name = 'Living' AND building_id = 1"
        ).fetchone()
        assert area == (33.5,)
    counts = {t: len(rows) for t, rows in before.items()}
    assert counts["buildings"] == 2 and counts["sensors"] == 38 and counts["tariffs"] == 6


def test_users_is_never_read(settings, feed):
    engine = _no_users_engine(settings.pidb_url)
    with engine.connect() as conn, pytest.raises(sa.exc.DatabaseError):
        conn.execute(sa.text("SELECT * FROM users"))  # the guard works ...
    engine.dispose()
    guarded = _no_users_engine(settings.pidb_url)  # ... and the import never trips it
    ensure_schema(settings.pg_dsn)
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        assert len(import_reference_tables(guarded, conn)) == 10
    guarded.dispose()
    with psycopg.connect(settings.pg_dsn) as conn:
        columns = {
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'silver'"
            )
        }
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'silver'"
            )
        }
    assert "dim_users" not in tables
    assert not columns & {"first_name", "last_name", "email", "phone", "birth_date"}


def test_import_from_real_mariadb_with_an_account_that_cannot_see_users(
    mariadb_database, mariadb_admin_url, warehouse_dsn, tmp_path, monkeypatch
):
    write_pidb(mariadb_database, apartments_for(["jimmy", "jeremie"]), date(2023, 8, 18), seed=3)
    database = mariadb_database.rsplit("/", 1)[1]
    account, password = f"reader_{database[-6:]}", f"pw-{uuid.uuid4().hex}"
    admin = sa.create_engine(mariadb_admin_url)
    with admin.begin() as conn:
        for host in ("%", "localhost"):
            conn.execute(
                sa.text(f"CREATE USER IF NOT EXISTS '{account}'@'{host}' IDENTIFIED BY '{password}'")
            )
            for table in REFERENCE_TABLES:
                conn.execute(sa.text(f"GRANT SELECT ON {database}.{table} TO '{account}'@'{host}'"))
    reader = mariadb_database.replace("root@", f"{account}@")  # the URL names the account, never its password
    secrets = tmp_path / "secrets.env"
    secrets.write_text(f"# pidb's reader\nDOMOTIC_PIDB_PASSWORD={password}\n")
    monkeypatch.setenv("DOMOTIC_SECRETS_FILE", str(secrets))
    try:
        engine = sa.create_engine(sa.engine.make_url(reader).set(password=password))
        with engine.connect() as conn, pytest.raises(sa.exc.DatabaseError):
            conn.execute(sa.text("SELECT * FROM users"))
        engine.dispose()
        settings = Settings(home=tmp_path, landing="", weather="", pidb_url=reader, pg_dsn=warehouse_dsn)
        result = dg.materialize([pidb_dimensions], resources=build_resources(settings))
        assert result.success
        assert password not in "".join(serialize_value(e) for e in result.all_events)
        rows = _dim_rows(warehouse_dsn)
        assert len(rows["sensors"]) == 38
        assert {r[1] for r in rows["buildings"]} == {"jimmy", "jeremie"}
        assert all(isinstance(r[5], bool) for r in rows["devices"]), "MariaDB TINYINT(1) arrives as a boolean"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP USER IF EXISTS '{account}'@'%'"))
            conn.execute(sa.text(f"DROP USER IF EXISTS '{account}'@'localhost'"))
        admin.dispose()


def test_a_source_url_or_dsn_with_a_password_is_refused_naming_the_variable_to_use(tmp_path):
    secret = "s3cr3t-Pa55"
    for variable, value, instead in (
        ("DOMOTIC_PIDB_URL", f"mysql+pymysql://reader:{secret}@db.example/pidb", "DOMOTIC_PIDB_PASSWORD"),
        ("DOMOTIC_PG_DSN", f"postgresql://domotic:{secret}@pg.example:5432/domotic", "DOMOTIC_PG_PASSWORD"),
        (
            "DOMOTIC_PG_DSN",
            f"host=pg.example dbname=domotic user=domotic password={secret}",
            "DOMOTIC_PG_PASSWORD",
        ),
        (
            "DOMOTIC_CELERY_BROKER",
            f"amqp://domotic:{secret}@rabbit.example:5672/domotic",
            "DOMOTIC_CELERY_PASSWORD",
        ),
    ):
        with pytest.raises(SecretInLocation) as refused:
            Settings.from_env({"DOMOTIC_HOME": str(tmp_path), variable: value})
        assert (
            instead in str(refused.value)
            and variable in str(refused.value)
            and secret not in str(refused.value)
        )
    fine = Settings.from_env(
        {
            "DOMOTIC_HOME": str(tmp_path),
            "DOMOTIC_PIDB_URL": "mysql+pymysql://reader@db.example/pidb",
            "DOMOTIC_PG_DSN": "postgresql://domotic@pg.example:5432/domotic",
        }
    )
    assert fine.pidb_url.endswith("reader@db.example/pidb") and fine.pg_dsn.endswith(
        "domotic@pg.example:5432/domotic"
    )


def test_the_warehouse_password_comes_from_the_secrets_file_and_never_from_the_dsn(
    pg_server_dsn, make_database, tmp_path, monkeypatch
):
    """A role with a password on the test server, reached through a DSN without one."""
    role, password = f"r_{uuid.uuid4().hex[:10]}", f"pw-{uuid.uuid4().hex}"
    with psycopg.connect(pg_server_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    try:
        parts = conninfo_to_dict(pg_server_dsn)
        dsn = make_conninfo(host=parts["host"], port=parts["port"], dbname=parts["dbname"], user=role)
        secrets = tmp_path / "secrets.env"
        secrets.write_text(f"DOMOTIC_PG_PASSWORD={password}\n")
        monkeypatch.setenv("DOMOTIC_SECRETS_FILE", str(secrets))
        monkeypatch.delenv("DOMOTIC_PG_PASSWORD", raising=False)
        with connect(dsn) as conn:
            assert conn.execute("SELECT current_user").fetchone() == (role,)
        assert dbt_connection_env(dsn)["DOMOTIC_PG_PASSWORD"] == password
        secrets.write_text("DOMOTIC_PG_PASSWORD=wrong\n")
        with pytest.raises(psycopg.OperationalError) as refused:
            connect(dsn).close()
        assert password not in str(refused.value)
    finally:
        with psycopg.connect(pg_server_dsn, autocommit=True) as conn:
            conn.execute(f"DROP ROLE IF EXISTS {role}")


def test_mariadb_down_fails_the_import_clearly_and_leaves_dimensions_alone(warehouse_dsn, tmp_path):
    server = MariaDbServer(tmp_path / "mariadb").start()
    try:
        with sa.create_engine(server.url).begin() as conn:
            conn.execute(sa.text("CREATE DATABASE pidb"))
        write_pidb(server.url + "pidb", apartments_for(["jimmy", "jeremie"]), date(2023, 8, 18), seed=3)
        settings = Settings(
            home=tmp_path, landing="", weather="", pidb_url=server.url + "pidb", pg_dsn=warehouse_dsn
        )
        assert dg.materialize([pidb_dimensions], resources=build_resources(settings)).success
        before = _dim_rows(warehouse_dsn)
        server.stop()
        result = dg.materialize([pidb_dimensions], resources=build_resources(settings), raise_on_error=False)
    finally:
        server.stop()
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.user_failure_data.description
    assert f"cannot read pidb at {server.url}pidb" in message and "left as they were" in message
    assert "Can't connect" in message, "the driver's reason is kept"
    assert _dim_rows(warehouse_dsn) == before
    with pytest.raises(PidbUnavailable):
        read_reference_tables(settings.pidb_url)
