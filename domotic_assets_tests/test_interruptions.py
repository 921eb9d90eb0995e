"""Runs interrupted by a PostgreSQL restart or a SIGKILL, or run beside another run of the same days, end
exactly like clean runs."""

import dataclasses
import shutil
import subprocess
import sys
import threading
import time
from datetime import date

import dagster as dg
import pytest

from domotic_assets.definitions import build_definitions
from domotic_assets.defs.bronze.assets import bronze_sensor_files
from domotic_assets.defs.resources import build_resources
from domotic_assets.defs.selections import PIPELINE
from domotic_assets.defs.silver.assets import pidb_dimensions, sensor_events
from domotic_assets.settings import Settings
from domotic_assets.warehouse.connection import connect
from domotic_assets.warehouse.day_locks import NAMESPACE, day_writer
from domotic_assets.warehouse.embedded import EmbeddedPostgres
from domotic_assets_tests.bronze_helpers import bronze_snapshot
from domotic_assets_tests.cli_helpers import BRONZE_TO_GOLD, copying, domotic_command, domotic_env, kill_when
from domotic_assets_tests.conftest import databases
from domotic_assets_tests.real_sources import retries
from domotic_assets_tests.snapshots import differences, warehouse_snapshot

DAYS = {
    "dagster/asset_partition_range_start": "2023-08-18",
    "dagster/asset_partition_range_end": "2023-08-19",
}
BACKFILL = domotic_command("run", "--from", "2023-08-18", "--to", "2023-08-19", *BRONZE_TO_GOLD)
LIVE_RUN = """
import sys
import dagster as dg
from domotic_assets.definitions import defs
from domotic_assets.defs.bronze.sensors import LIVE_SELECTION
result = dg.materialize(
    [*defs.assets, *defs.asset_checks], selection=LIVE_SELECTION, partition_key=sys.argv[1],
    resources=defs.resources, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
)
sys.exit(0 if result.success else 1)
"""
"""What the file sensor's run of one day carries, launched from outside `domotic run`."""


@pytest.fixture(scope="module")
def clean_run(feed_2days, tmp_path_factory, pg_server_dsn):
    """Bronze and the warehouse after one clean `domotic run` of the two days, on a copy of the feed (the
    copies keep the files' modification times, so every copy registers alike)."""
    out = tmp_path_factory.mktemp("clean") / "feed"
    shutil.copytree(feed_2days.out, out)
    with databases(pg_server_dsn) as make:
        clean = Settings(
            home=out.parent / "home",
            landing=str(out / "share"),
            weather=str(out / "meteo2"),
            pidb_url=f"sqlite:///{out / 'pidb.sqlite'}",
            pg_dsn=make(),
            ground_truth=str(out / "manifest"),
        )
        done = subprocess.run(BACKFILL, env=domotic_env(clean), capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        yield bronze_snapshot(clean)["files"], warehouse_snapshot(clean.pg_dsn)


def _load(settings, instance=None):
    resources = build_resources(settings)
    assert dg.materialize([pidb_dimensions], resources=resources).success
    assert dg.materialize([bronze_sensor_files], resources=resources, tags=DAYS).success
    return dg.materialize(
        [sensor_events],
        resources=resources,
        tags=DAYS,
        raise_on_error=False,
        instance=instance or dg.DagsterInstance.ephemeral(),
    )


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
        while time.monotonic() < deadline and run.is_alive() and not copying(dsn, "silver.sensor_events"):
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


def test_a_run_killed_mid_partition_is_completed_exactly_by_the_next(settings, feed, clean_run):
    kill_when(
        BACKFILL,
        domotic_env(settings),
        lambda: copying(settings.pg_dsn, "silver.sensor_events"),
        timeout=300,
    )
    again = subprocess.run(BACKFILL, env=domotic_env(settings), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]

    files, expected = clean_run
    assert bronze_snapshot(settings)["files"] == files
    assert len(expected) > 40 and expected["gold.fact_energy_minute"][0] > 0
    assert differences(warehouse_snapshot(settings.pg_dsn), expected) == {}


def _waiting_for(dsn: str, table: str, day: date) -> int:
    with connect(dsn) as conn:
        return conn.execute(
            """SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
                               WHERE d.datname = current_database() AND l.locktype = 'advisory'
                                   AND NOT l.granted
                               AND l.objsubid = 2 AND l.classid = hashtext(%s)::oid AND l.objid = %s::oid""",
            (NAMESPACE + table, day.toordinal()),
        ).fetchone()[0]


def test_a_backfill_and_a_live_run_of_the_same_day_take_turns_and_end_as_the_backfill_alone(
    settings, feed, clean_run, tmp_path
):
    """One writer per table and day, whatever launched the runs: `domotic run` over two days and a live run of
    the second, started together, both succeed, one waiting for the other, and leave what the backfill alone
    leaves."""
    defs = build_definitions(settings)  # a platform already running: its reference data is in
    graph = defs.resolve_asset_graph()
    reference = [k for k in PIPELINE.resolve(graph) if graph.get(k).partitions_def is None]
    assert dg.materialize([*defs.assets], selection=reference, resources=defs.resources).success
    env, day = domotic_env(settings), date(2023, 8, 19)
    # each run's output goes to a file: a pipe nobody reads while the other run is waited for fills up and
    # stops its writer in the middle of a step, holding its days
    logs = [tmp_path / "backfill.log", tmp_path / "live.log"]
    with (
        connect(settings.pg_dsn, autocommit=True) as holder,
        day_writer(holder, ["sensor_events"], [day], "the test"),
        open(logs[0], "w") as backfill_log,
        open(logs[1], "w") as live_log,
    ):
        # while a third writer holds Silver's 19 August, both runs start and queue behind it for that day
        runs = [
            subprocess.Popen(BACKFILL, env=env, stdout=backfill_log, stderr=subprocess.STDOUT),
            subprocess.Popen(
                [sys.executable, "-c", LIVE_RUN, day.isoformat()],
                env=env,
                stdout=live_log,
                stderr=subprocess.STDOUT,
            ),
        ]
        deadline = time.monotonic() + 600
        while _waiting_for(settings.pg_dsn, "sensor_events", day) < 2 and time.monotonic() < deadline:
            assert all(run.poll() is None for run in runs), [log.read_text()[-3000:] for log in logs]
            time.sleep(0.2)
        assert _waiting_for(settings.pg_dsn, "sensor_events", day) == 2, "both runs wait for the day's writer"
    # released: one of the two takes the day, the other waits for it
    for run in runs:
        run.wait(timeout=900)
    assert [run.returncode for run in runs] == [0, 0], [log.read_text()[-3000:] for log in logs]
    with connect(settings.pg_dsn) as conn:
        assert (
            conn.execute("""SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
                               WHERE d.datname = current_database()
                                   AND l.locktype = 'advisory'""").fetchone()[0]
            == 0
        )
    files, expected = clean_run
    assert bronze_snapshot(settings)["files"] == files
    assert differences(warehouse_snapshot(settings.pg_dsn), expected) == {}
