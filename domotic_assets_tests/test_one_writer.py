"""One writer per table and day, whatever launched the runs: a range backfill (`domotic run`) and a live run
of a day inside the range, started together, both succeed (one waits for the other), and the warehouse
equals what the backfill alone makes."""

import dataclasses
import subprocess
import sys
import time
from datetime import date

import dagster as dg

from domotic_assets.definitions import build_definitions
from domotic_assets.warehouse.connection import connect
from domotic_assets.warehouse.day_locks import NAMESPACE, day_writer
from domotic_assets_tests.cli_helpers import domotic_command, domotic_env
from domotic_assets_tests.snapshots import differences, warehouse_snapshot

LIVE_RUN = """
import sys
import dagster as dg
from domotic_assets.definitions import defs
from domotic_assets.defs.bronze.sensors import LIVE_SELECTION
result = dg.materialize([*defs.assets, *defs.asset_checks], selection=LIVE_SELECTION, partition_key=sys.argv[1],
                        resources=defs.resources, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
sys.exit(0 if result.success else 1)
"""
"""What the file sensor's run of one day carries, launched from outside `domotic run`."""


def _waiting_for(dsn: str, table: str, day: date) -> int:
    with connect(dsn) as conn:
        return conn.execute("""SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
                               WHERE d.datname = current_database() AND l.locktype = 'advisory' AND NOT l.granted
                               AND l.objsubid = 2 AND l.classid = hashtext(%s)::oid AND l.objid = %s::oid""",
                            (NAMESPACE + table, day.toordinal())).fetchone()[0]


def test_a_backfill_and_a_live_run_of_the_same_day_take_turns_and_end_as_the_backfill_alone(settings, feed, make_database,
                                                                                             tmp_path):
    backfill = domotic_command("run", "--from", "2023-08-18", "--to", "2023-08-19")
    alone = dataclasses.replace(settings, home=tmp_path / "alone", pg_dsn=make_database())
    done = subprocess.run(backfill, env=domotic_env(alone), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    # a platform already running: its reference data is in
    defs = build_definitions(settings)
    reference = [k for k in defs.resolve_asset_graph().get_all_asset_keys() if defs.resolve_asset_graph().get(k).partitions_def is None]
    assert dg.materialize([*defs.assets], selection=reference, resources=defs.resources).success
    env, day = domotic_env(settings), date(2023, 8, 19)
    with connect(settings.pg_dsn, autocommit=True) as holder, day_writer(holder, ["sensor_events"], [day], "the test"):
        # while a third writer holds Silver's 19 August, both runs start and queue behind it for that day
        runs = [subprocess.Popen(backfill, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True),
                subprocess.Popen([sys.executable, "-c", LIVE_RUN, day.isoformat()], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)]
        deadline = time.monotonic() + 600
        while _waiting_for(settings.pg_dsn, "sensor_events", day) < 2 and time.monotonic() < deadline:
            assert all(run.poll() is None for run in runs), [run.communicate()[0][-3000:] for run in runs]
            time.sleep(0.2)
        assert _waiting_for(settings.pg_dsn, "sensor_events", day) == 2, "both runs wait for the day's writer"
    # released: one of the two takes the day, the other waits for it
    outputs = [run.communicate(timeout=900)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [out[-3000:] for out in outputs]
    with connect(settings.pg_dsn) as conn:
        assert conn.execute("""SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
                               WHERE d.datname = current_database() AND l.locktype = 'advisory'""").fetchone()[0] == 0
    got, expected = warehouse_snapshot(settings.pg_dsn), warehouse_snapshot(alone.pg_dsn)
    assert expected["gold.fact_energy_minute"][0] > 0 and expected["silver.sensor_events"][0] > 0
    assert differences(got, expected) == {}
