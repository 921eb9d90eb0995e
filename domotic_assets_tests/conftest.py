"""Shared fixtures: the real servers, a simulated feed, and a no-skip rule."""

from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from psycopg.conninfo import make_conninfo

from domotic_assets.settings import Settings
from domotic_assets.simulator.feed import SimulationConfig, simulate
from domotic_assets_tests import servers
from domotic_assets_tests.servers.mosquitto import MosquittoServer

pytest_plugins = ["domotic_assets_tests.served_warehouse"]
"""Fixtures more than one module takes: the served warehouse (`warehouse`) of the API and dashboard tests."""

EXAMPLES = Path(__file__).resolve().parent / "data" / "contract_examples"
"""Copies of shared/contracts/examples, so a clone runs its tests anywhere."""


WORKER = bool(os.environ.get("PYTEST_XDIST_WORKER"))
SESSION_OWNER = os.getppid() if WORKER else os.getpid()
"""The pytest process that stops, at its end, the servers its tests started: the xdist controller,
not a worker that could stop a server the other worker still uses."""


SERVER_FIXTURES = {"test_servers"}
"""Every real server the tests use comes through this fixture (PostgreSQL, MariaDB, Samba, sftp)."""
STARTS_ITS_OWN_SERVERS = {
    "test_cli",
    "test_control",
    "test_embedded_postgres",
    "test_interruptions",
    "test_stream",
    "test_stream_outages",
    "test_stream_parts",
    "test_ui_browser",
}
"""Modules whose tests start a private PostgreSQL or Mosquitto themselves (or through `domotic`)."""
SLOW = (
    "test_celery_workers",
    "test_interruptions",
    "test_gold",
    "test_archives",
    "test_stream_outages",
    "test_ui_browser",
    "test_dashboards",
    "test_production_sources",
    "test_ml_warehouse",
    "test_cli",
    "test_nothing_goes_stale",
    "test_sensor_and_schedule",
    "test_backups",
    "test_access",
    "test_control",
)
"""Modules with tests of a minute or more, the longest first (their sums in a whole run's `--durations`): they
are handed to the xdist workers first, so no long module starts last and keeps one worker running alone."""


def pytest_collection_modifyitems(config, items):
    """Each test is `unit` (no server: `make test-unit`) or `integration` (real servers), and `slow` where its
    module holds tests of minutes. In a unit-only run (DOMOTIC_UNIT_ONLY=1) a unit test that starts a server
    fails (`_no_server_in_unit_tests`), so a wrong mark cannot hide."""
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1]
        integration = bool(SERVER_FIXTURES & set(item.fixturenames)) or module in STARTS_ITS_OWN_SERVERS
        item.add_marker(pytest.mark.integration if integration else pytest.mark.unit)
        if module in SLOW:
            item.add_marker(pytest.mark.slow)
    rank = {module: position for position, module in enumerate(SLOW)}
    items.sort(key=lambda item: rank.get(item.module.__name__.rsplit(".", 1)[-1], len(SLOW)))


@pytest.fixture(autouse=True, scope="session")
def _no_server_in_unit_tests():
    if os.environ.get("DOMOTIC_UNIT_ONLY") != "1":
        yield
        return
    from domotic_assets.stream.broker import EmbeddedBroker
    from domotic_assets.warehouse.embedded import EmbeddedPostgres

    def refuse(*_args, **_kwargs):
        raise RuntimeError(
            "a test marked unit started a server: mark it integration (conftest.STARTS_ITS_OWN_SERVERS)"
        )

    with pytest.MonkeyPatch.context() as patch:
        for target in (EmbeddedPostgres, EmbeddedBroker):
            patch.setattr(target, "ensure_running", refuse)
        patch.setattr(servers, "ensure", refuse)
        yield


def pytest_sessionfinish(session, exitstatus):
    """Every test must run: a skipped or xfailed test fails the whole session."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter and (reporter.stats.get("skipped") or reporter.stats.get("xfailed")):
        reporter.write_line("FAILED: tests were skipped or expected to fail; CI runs every test.", red=True)
        session.exitstatus = 1
    if not WORKER:
        servers.stop_started(os.getpid())


@pytest.fixture(scope="session")
def test_servers():
    """Starts a real server on first use (when neither the machine nor scripts/test_servers.py
    runs one); the session's main pytest process stops those its tests started."""
    return lambda name: servers.ensure(name, owner=SESSION_OWNER)


@pytest.fixture(scope="session")
def pg_server_dsn(test_servers) -> str:
    """A PostgreSQL server for the tests: $DOMOTIC_TEST_PG_DSN or the platform's own private server."""
    return test_servers("postgres")["dsn"]


@pytest.fixture(scope="session")
def samba_server(test_servers) -> dict:
    """A real Samba server (SMB 3, signing and encryption required) and its share's folder on disk."""
    return test_servers("samba")


@pytest.fixture(scope="session")
def sftp_server(test_servers) -> dict:
    """A real OpenSSH sftp server, its client key and the known_hosts file pinning its host key."""
    return test_servers("sftp")


@contextmanager
def databases(server_dsn: str):
    """A maker of fresh, empty databases on the test server, all dropped at the end."""
    made = []

    def make() -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(server_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return make_conninfo(server_dsn, dbname=name)

    yield make
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        for name in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def own_postgres(tmp_path):
    """A private PostgreSQL server of the test's own, which it may stop and start (or restore into):
    (the server, its DSN)."""
    from domotic_assets.warehouse.embedded import EmbeddedPostgres

    server = EmbeddedPostgres(tmp_path / "pg")
    dsn, _ = server.ensure_running()
    yield server, dsn
    server.stop()


@pytest.fixture
def broker(tmp_path):
    """A private Mosquitto of the test's own (persistence on, the platform's queue limits)."""
    server = MosquittoServer(tmp_path / "broker").start()
    yield server
    server.stop()


@pytest.fixture
def make_database(pg_server_dsn):
    """Creates fresh, empty databases on the test server; drops them after the test."""
    with databases(pg_server_dsn) as make:
        yield make


@pytest.fixture
def warehouse_dsn(make_database) -> str:
    """A fresh, empty database on the test server for one test."""
    return make_database()


@pytest.fixture(scope="session")
def mariadb_admin_url(test_servers) -> str:
    """The machine's MariaDB (root on :3306), or a private one."""
    return test_servers("mariadb")["url"]


@pytest.fixture
def mariadb_database(mariadb_admin_url) -> str:
    """A fresh MariaDB database; yields its root URL."""
    name = f"pidb_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(mariadb_admin_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    yield mariadb_admin_url.rstrip("/") + "/" + name
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
    engine.dispose()


@pytest.fixture(scope="session")
def feed_2days(tmp_path_factory) -> SimulationConfig:
    """Two simulated days (default faults) for the two reference apartments. Read-only: copy to change."""
    config = SimulationConfig(out=tmp_path_factory.mktemp("feed"), start=date(2023, 8, 18), days=2, seed=7)
    simulate(config)
    return config


@pytest.fixture
def feed(feed_2days, tmp_path) -> SimulationConfig:
    """A private, writable copy of the two-day feed."""
    out = tmp_path / "feed"
    shutil.copytree(feed_2days.out, out)
    return SimulationConfig(out=out, start=feed_2days.start, days=feed_2days.days, seed=feed_2days.seed)


@pytest.fixture
def settings(feed, warehouse_dsn, tmp_path) -> Settings:
    """Platform settings for one test: its own state folder and database, the copied feed."""
    return Settings(
        home=tmp_path / "home",
        landing=str(feed.share),
        weather=str(feed.meteo),
        pidb_url=f"sqlite:///{feed.out / 'pidb.sqlite'}",
        pg_dsn=warehouse_dsn,
        ground_truth=str(feed.out / "manifest"),
    )
