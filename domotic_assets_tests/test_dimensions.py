"""The ten silver.dim_* tables from pidb: SQLite and real MariaDB, idempotent, never reading `users`."""

import sqlite3
from datetime import date

import dagster as dg
import psycopg
import pytest
import sqlalchemy as sa

from domotic_assets.contracts.pidb import REFERENCE_TABLES
from domotic_assets.defs.resources import build_resources
from domotic_assets.defs.silver.assets import pidb_dimensions
from domotic_assets.ingest.pidb_import import PidbUnavailable, import_reference_tables, read_reference_tables
from domotic_assets.settings import Settings
from domotic_assets.simulator.apartments import apartments_for
from domotic_assets.simulator.pidb import write_pidb
from domotic_assets.warehouse.schema import ensure_schema
from domotic_assets_tests.servers.mariadb import MariaDbServer


def _dim_rows(dsn):
    with psycopg.connect(dsn) as conn:
        return {t: conn.execute(f"SELECT * FROM silver.dim_{t} ORDER BY 1, 2").fetchall() for t in REFERENCE_TABLES}


def _no_users_engine(url):
    """SQLite refuses any read of `users` through this engine: a read would raise, not pass silently."""
    engine = sa.create_engine(url)

    @sa.event.listens_for(engine, "connect")
    def deny_users(dbapi_connection, _record):
        def authorizer(action, table, *_):
            return sqlite3.SQLITE_DENY if action == sqlite3.SQLITE_READ and table == "users" else sqlite3.SQLITE_OK
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
        assert conn.execute("SELECT string_agg(xmin::text, ',') FROM silver.dim_sensors").fetchone() == xmin, "untouched"
        assert _dim_rows(settings.pg_dsn) == before
        engine = sa.create_engine(settings.pidb_url)
        with engine.begin() as src:
            src.execute(sa.text("UPDATE rooms SET area_m2 = 33.5 WHERE name = 'Living' AND building_id = 1"))
        engine.dispose()
        third = {r.table: r.changed for r in import_reference_tables(settings.pidb_url, conn)}
        assert third["dim_rooms"] and not third["dim_sensors"]
        area = conn.execute("SELECT area_m2 FROM silver.dim_rooms WHERE name = 'Living' AND building_id = 1").fetchone()
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
        columns = {r[0] for r in conn.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = 'silver'")}
        tables = {r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'silver'")}
    assert "dim_users" not in tables
    assert not columns & {"first_name", "last_name", "email", "phone", "birth_date"}


def test_import_from_real_mariadb_with_an_account_that_cannot_see_users(mariadb_database, mariadb_admin_url, warehouse_dsn, tmp_path):
    write_pidb(mariadb_database, apartments_for(["jimmy", "jeremie"]), date(2023, 8, 18), seed=3)
    database = mariadb_database.rsplit("/", 1)[1]
    account = f"reader_{database[-6:]}"
    admin = sa.create_engine(mariadb_admin_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE USER IF NOT EXISTS '{account}'@'%' IDENTIFIED BY 'pw'"))
        conn.execute(sa.text(f"CREATE USER IF NOT EXISTS '{account}'@'localhost' IDENTIFIED BY 'pw'"))
        for table in REFERENCE_TABLES:
            for host in ("%", "localhost"):
                conn.execute(sa.text(f"GRANT SELECT ON {database}.{table} TO '{account}'@'{host}'"))
    reader = mariadb_database.replace("root@", f"{account}:pw@")
    try:
        engine = sa.create_engine(reader)
        with engine.connect() as conn, pytest.raises(sa.exc.DatabaseError):
            conn.execute(sa.text("SELECT * FROM users"))
        engine.dispose()
        settings = Settings(home=tmp_path, landing="", weather="", pidb_url=reader, pg_dsn=warehouse_dsn)
        result = dg.materialize([pidb_dimensions], resources=build_resources(settings))
        assert result.success
        rows = _dim_rows(warehouse_dsn)
        assert len(rows["sensors"]) == 38
        assert {r[1] for r in rows["buildings"]} == {"jimmy", "jeremie"}
        assert all(isinstance(r[5], bool) for r in rows["devices"]), "MariaDB TINYINT(1) arrives as a boolean"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP USER IF EXISTS '{account}'@'%'"))
            conn.execute(sa.text(f"DROP USER IF EXISTS '{account}'@'localhost'"))
        admin.dispose()


def test_mariadb_down_fails_the_import_clearly_and_leaves_dimensions_alone(warehouse_dsn, tmp_path):
    server = MariaDbServer(tmp_path / "mariadb").start()
    try:
        with sa.create_engine(server.url).begin() as conn:
            conn.execute(sa.text("CREATE DATABASE pidb"))
        write_pidb(server.url + "pidb", apartments_for(["jimmy", "jeremie"]), date(2023, 8, 18), seed=3)
        settings = Settings(home=tmp_path, landing="", weather="", pidb_url=server.url + "pidb", pg_dsn=warehouse_dsn)
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
