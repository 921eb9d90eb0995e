"""Bronze assets over simulated data: placement by the document's own time, immutability, quarantine."""

import dataclasses
import hashlib
import os
import shutil
import time
from datetime import date

import dagster as dg
import pandas as pd
import psycopg

from domotic_assets.defs.bronze.assets import bronze_sensor_files, bronze_weather_files
from domotic_assets.defs.resources import build_resources
from domotic_assets.ingest import sensor_files
from domotic_assets_tests.bronze_helpers import bronze_snapshot, materialize_bronze


def _rows(settings, sql, *args):
    with psycopg.connect(settings.pg_dsn) as conn:
        return conn.execute(sql, args).fetchall()


def test_a_day_lands_by_the_timestamp_inside_each_file(settings, feed):
    result = materialize_bronze(settings, "2023-08-18")
    assert result.success
    hours = sorted(p.name for p in (settings.bronze_dir / "jimmy/2023/08/18").iterdir())
    assert hours == [f"{h:02d}" for h in range(24)]
    # jeremie writes local wall-clock times: 00:00 local lands in hour 00, not in UTC's 22
    assert (settings.bronze_dir / "jeremie/2023/08/18/00/jeremie_20230818T000000.json").exists()
    days = dict(
        _rows(
            settings,
            "SELECT partition_day, count(*) FROM meta.bronze_sensor_files WHERE bronze_path <> '' "
            "AND quarantine_reason IS NULL GROUP BY 1",
        )
    )
    assert set(days) == {date(2023, 8, 18)}  # readable files wait for their day; unreadable ones never wait
    unstored = dict(
        _rows(
            settings,
            "SELECT partition_day, count(*) FROM meta.bronze_sensor_files WHERE bronze_path IS NULL GROUP "
            "BY 1",
        )
    )
    assert date(2023, 8, 19) in unstored, (
        "files of other days are registered and wait for their own partition"
    )


def test_unreadable_files_are_kept_and_quarantined_with_a_reason(settings, feed):
    assert materialize_bronze(settings, "2023-08-18", "2023-08-19").success
    faults = pd.read_parquet(feed.out / "manifest" / "faults.parquet")
    unreadable = faults[
        faults.kind.isin(["malformed_json", "truncated", "empty_file", "not_utf8", "apartment_mismatch"])
    ]
    assert len(unreadable) > 0
    rows = {
        r[0]: r[1:]
        for r in _rows(
            settings, "SELECT source_path, quarantine_reason, bronze_path FROM meta.bronze_sensor_files"
        )
    }
    for fault in unreadable.itertuples():
        reason, bronze_path = rows[fault.file]
        assert reason is not None, fault.file
        assert "/_quarantine/" in bronze_path
        assert (settings.bronze_dir / bronze_path).read_bytes() == (feed.share / fault.file).read_bytes()


def test_every_landing_file_is_accounted_for(settings, feed):
    assert materialize_bronze(settings, "2023-08-18", "2023-08-19").success
    landing = {p.relative_to(feed.share).as_posix() for p in feed.share.rglob("*.json")}
    rows = _rows(settings, "SELECT source_path, bronze_path, partition_day FROM meta.bronze_sensor_files")
    assert {r[0] for r in rows} == landing
    late = {r[0] for r in rows if r[1] is None}
    # only late files dated inside the range but arriving after it, or dated outside, can wait
    assert all(r[2] not in (date(2023, 8, 18), date(2023, 8, 19)) for r in rows if r[1] is None), late


def test_rerunning_changes_nothing_and_a_lost_day_is_rebuilt_identically(settings, feed):
    assert materialize_bronze(settings, "2023-08-18").success
    first = bronze_snapshot(settings)
    assert materialize_bronze(settings, "2023-08-18").success
    assert bronze_snapshot(settings) == first
    # lose the day's Bronze files and tracking rows entirely: a rerun rebuilds exactly the same
    shutil.rmtree(settings.bronze_dir)
    with psycopg.connect(settings.pg_dsn) as conn:
        conn.execute("DELETE FROM meta.bronze_sensor_files")
        conn.execute("DELETE FROM meta.bronze_weather_files")
    assert materialize_bronze(settings, "2023-08-18").success
    assert bronze_snapshot(settings) == first


def test_a_sensor_file_lost_from_bronze_fails_the_check_by_name(settings, feed):
    assert materialize_bronze(settings, "2023-08-18").success
    lost = "jimmy/2023/08/18/10/jimmy_20230818T101500.json"
    (settings.bronze_dir / lost).unlink()
    result = materialize_bronze(settings, "2023-08-18")
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "files_accounted_for"]
    assert not check.passed
    assert check.metadata["files_missing_on_disk"].value == 1
    assert check.metadata["first_missing"].value == [lost]


def test_a_weather_file_lost_from_disk_is_put_back(settings, feed):
    assert materialize_bronze(settings, "2023-08-18", assets=[bronze_weather_files]).success
    copy = settings.bronze_dir / "weather/2023/08/18/Pred_2023-08-18.csv"
    copy.unlink()
    assert materialize_bronze(settings, "2023-08-18", assets=[bronze_weather_files]).success
    assert copy.read_bytes() == (feed.meteo / "Pred_2023-08-18.csv").read_bytes()


def test_a_changed_file_under_a_known_name_becomes_a_new_version(settings, feed):
    assert materialize_bronze(settings, "2023-08-18").success
    source = feed.share / "jimmy/2023/08/18/jimmy_20230818T101500.json"
    original = source.read_bytes()
    source.write_bytes(original.replace(b'"firmware":"4.2.1"', b'"firmware":"4.2.2"'))
    os.utime(source, (time.time() - 3600, time.time() - 3600))
    assert materialize_bronze(settings, "2023-08-18").success
    folder = settings.bronze_dir / "jimmy/2023/08/18/10"
    assert (folder / "jimmy_20230818T101500.json").read_bytes() == original
    assert (folder / "jimmy_20230818T101500.v2.json").read_bytes() == source.read_bytes()


def test_worker_processes_store_what_one_process_stores(settings, feed, make_database, monkeypatch):
    """Many new files are read, judged and copied by worker processes: the same Bronze, tracking rows and
    version numbers as one process, with a name sent twice with different bytes in different chunks."""
    original = feed.share / "jimmy/2023/08/18/jimmy_20230818T101500.json"
    resent = feed.share / "jimmy/resent/jimmy_20230818T101500.json"
    resent.parent.mkdir()
    resent.write_bytes(original.read_bytes().replace(b'"firmware":"4.2.1"', b'"firmware":"4.2.2"'))
    os.utime(resent, (time.time() - 600, time.time() - 600))  # arrives last: it is version 2
    one = dataclasses.replace(settings, home=settings.home.parent / "one", pg_dsn=make_database())
    monkeypatch.setattr(sensor_files, "PARALLEL_FROM", 10**9)
    assert materialize_bronze(one, "2023-08-18", "2023-08-19").success
    monkeypatch.setattr(sensor_files, "CHUNK", 700)
    monkeypatch.setattr(sensor_files, "PARALLEL_FROM", 1)
    assert materialize_bronze(settings, "2023-08-18", "2023-08-19").success
    many = bronze_snapshot(settings)
    assert many == bronze_snapshot(one)
    assert (
        many["files"]["jimmy/2023/08/18/10/jimmy_20230818T101500.v2.json"]
        == hashlib.sha256(resent.read_bytes()).hexdigest()
    )
    assert len(many["rows"]) > 4 * 700


def test_a_late_file_lands_in_its_own_day(settings, feed):
    assert materialize_bronze(settings, "2023-08-18").success
    late = feed.share / "jimmy/2023/08/19/jimmy_late_copy.json"
    late.write_bytes(
        (feed.share / "jimmy/2023/08/18/jimmy_20230818T050000.json")
        .read_bytes()
        .replace(b"T05:00:00", b"T05:00:30")
    )
    os.utime(late, (time.time() - 120, time.time() - 120))  # arrived two minutes ago, complete
    result = materialize_bronze(settings, "2023-08-18")
    assert result.success
    assert (settings.bronze_dir / "jimmy/2023/08/18/05/jimmy_late_copy.json").exists()


def test_a_file_still_being_written_is_left_for_later(settings, feed):
    growing = feed.share / "jimmy" / "jimmy_20230818T235959.json"
    growing.write_bytes(b'{"apartment":"jimmy","timestamp":"2023-08-18T23:59:59+02:00","plugs":{')
    assert materialize_bronze(settings, "2023-08-18").success
    assert not _rows(
        settings,
        "SELECT 1 FROM meta.bronze_sensor_files WHERE source_path = %s",
        "jimmy/jimmy_20230818T235959.json",
    )
    growing.write_bytes(b'{"apartment":"jimmy","timestamp":"2023-08-18T23:59:59+02:00","plugs":{}}')
    os.utime(growing, (time.time() - 120, time.time() - 120))
    assert materialize_bronze(settings, "2023-08-18").success
    assert _rows(
        settings,
        "SELECT quarantine_reason FROM meta.bronze_sensor_files WHERE source_path = %s",
        "jimmy/jimmy_20230818T235959.json",
    ) == [(None,)]


def test_weather_files_by_issue_day_and_reissues_as_versions(settings, feed):
    result = materialize_bronze(settings, "2023-08-18", "2023-08-19", assets=[bronze_weather_files])
    assert result.success
    day = settings.bronze_dir / "weather/2023/08/18"
    assert [p.name for p in day.iterdir()] == ["Pred_2023-08-18.csv"]
    assert materialize_bronze(settings, "2023-08-18", assets=[bronze_weather_files]).success
    assert [p.name for p in day.iterdir()] == ["Pred_2023-08-18.csv"], "same content: no new version"
    reissued = feed.meteo / "Pred_2023-08-18.csv"
    reissued.write_bytes(
        reissued.read_bytes() + b"2023-08-19 06:00:00,15.0,24,Sion,PRED_T_2M_ctrl,\xc2\xb0C\n"
    )
    assert materialize_bronze(settings, "2023-08-18", assets=[bronze_weather_files]).success
    assert sorted(p.name for p in day.iterdir()) == ["Pred_2023-08-18.csv", "Pred_2023-08-18.v2.csv"]
    assert (day / "Pred_2023-08-18.v2.csv").read_bytes() == reissued.read_bytes()


def test_a_missing_weather_file_is_named_in_a_range_and_fails_the_daily_fetch(settings, feed):
    # a range (a backfill): what exists is stored, the missing day is named by a warning, the run goes on
    result = materialize_bronze(settings, "2023-08-19", "2023-08-20", assets=[bronze_weather_files])
    assert result.success
    check = next(e for e in result.get_asset_check_evaluations() if e.check_name == "weather_files_present")
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["missing_days"].value == ["2023-08-20"]
    assert (settings.bronze_dir / "weather/2023/08/19/Pred_2023-08-19.csv").exists()
    # the daily fetch waits for its file: the step fails, so its retry policy fetches again later
    fetch = dg.materialize(
        [bronze_weather_files],
        resources=build_resources(settings),
        partition_key="2023-08-20",
        run_config={"ops": {"bronze_weather_files": {"config": {"wait_for_missing": True}}}},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not fetch.success
    failure = next(e for e in fetch.all_events if e.is_step_failure)
    assert (
        "no forecast file issued yet for 2023-08-20"
        in failure.step_failure_data.user_failure_data.description
    )


def test_unreadable_files_reach_bronze_at_once_whatever_days_the_run_is_for(settings, feed):
    """Files with no readable timestamp are dated by their arrival (today): a backfill of history days that
    registers them copies their bytes into Bronze's quarantine then, before a gateway cleans its share."""
    dropped = {
        "jimmy/empty.json": b"",
        "jimmy/truncated.json": b'{"apartment":"jimmy","timestamp":"2023-08-18T10:',
        "jeremie/latin1.json": '{"apartment":"jeremie","room":"Séjour"}'.encode("latin-1"),
    }
    old = time.time() - 120  # complete: untouched for longer than the settle time
    for relpath, data in dropped.items():
        (feed.share / relpath).write_bytes(data)
        os.utime(feed.share / relpath, (old, old))
    assert materialize_bronze(settings, "2023-08-18", "2023-08-19", assets=[bronze_sensor_files]).success
    rows = {
        r[0]: r[1:]
        for r in _rows(
            settings,
            "SELECT source_path, partition_day, quarantine_reason, bronze_path "
            "FROM meta.bronze_sensor_files WHERE source_path = ANY(%s)",
            list(dropped),
        )
    }
    assert set(rows) == set(dropped)
    for relpath, (day, reason, bronze_path) in rows.items():
        assert day > date(2023, 8, 19) and reason, relpath
        assert (
            "/_quarantine/" in bronze_path
            and (settings.bronze_dir / bronze_path).read_bytes() == dropped[relpath]
        )


def test_bronze_assets_are_day_partitioned_with_single_run_backfills():
    for asset in (bronze_sensor_files, bronze_weather_files):
        assert asset.partitions_def.timezone == "Europe/Zurich"
        assert asset.backfill_policy.max_partitions_per_run is None
    # apartments are rows, not partitions: three years are 1,096 partitions whatever the number of apartments
    three_years = bronze_sensor_files.partitions_def.get_partition_keys_in_range(
        dg.PartitionKeyRange("2023-01-01", "2025-12-31")
    )
    assert len(three_years) == 1096
    assert len(bronze_sensor_files.partitions_def.get_partition_keys()) < 100_000
