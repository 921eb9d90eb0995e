"""The new-file sensor (durable, bounded, half-written files) and the daily weather schedule."""

import json
import os
import time
from datetime import datetime

import dagster as dg
import psycopg

from domotic_assets.contracts.timestamps import zone
from domotic_assets.defs.bronze import sensors as sensor_module
from domotic_assets.defs.bronze.schedules import weather_job, weather_schedule
from domotic_assets.defs.bronze.sensors import sensor_files_sensor
from domotic_assets.defs.resources import build_resources
from domotic_assets.settings import Settings


def _tick(settings: Settings, instance, cursor=None) -> dg.SensorResult:
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=build_resources(settings))
    return sensor_files_sensor(context)


def test_new_files_request_their_days_once(settings, feed):
    with dg.instance_for_test() as instance:
        first = _tick(settings, instance)
        keys = {r.partition_key for r in first.run_requests}
        assert {"2023-08-18", "2023-08-19"} <= keys  # late files may add the days they arrived on
        again = _tick(settings, instance, first.cursor)
        # nothing new: the same backlog state gives the same run keys, so no new runs are launched
        assert {r.run_key for r in again.run_requests} == {r.run_key for r in first.run_requests}
        with psycopg.connect(settings.pg_dsn) as conn:
            registered = conn.execute("SELECT count(*) FROM meta.bronze_sensor_files").fetchone()[0]
        assert registered == sum(1 for _ in feed.share.rglob("*.json"))
        assert json.loads(again.cursor)["registered"] == registered


def test_a_day_whose_run_is_still_queued_gets_no_second_request(settings, feed):
    """A queued run takes every file registered before it starts: a burst of files costs one run, not one
    per tick, while a day whose run has started (or has none) is requested again for its new files."""
    with dg.instance_for_test() as instance:
        first = _tick(settings, instance)
        days = sorted(r.partition_key for r in first.run_requests)
        assert all(r.tags[sensor_module.LIVE_DAY_TAG] == r.partition_key for r in first.run_requests)
        queued, started = days[0], days[1]
        # NOT_STARTED: a run requested, not yet dequeued (a QUEUED one needs a code location to be stored)
        for day, status in (
            (queued, dg.DagsterRunStatus.NOT_STARTED),
            (started, dg.DagsterRunStatus.STARTED),
        ):
            instance.add_run(
                dg.DagsterRun(
                    job_name="__ASSET_JOB",
                    status=status,
                    tags={sensor_module.LIVE_DAY_TAG: day, "dagster/partition": day},
                )
            )
        again = _tick(settings, instance, first.cursor)
        assert sorted(r.partition_key for r in again.run_requests) == days[1:]
        (feed.share / "jimmy" / "jimmy_20230820T101600.json").write_text(
            f'{{"apartment":"jimmy","timestamp":"{queued}T10:16:00+02:00","plugs":{{}}}}'
        )
        os.utime(feed.share / "jimmy" / "jimmy_20230820T101600.json", (time.time() - 60, time.time() - 60))
        later = _tick(settings, instance, again.cursor)
        assert queued not in {r.partition_key for r in later.run_requests}
        assert json.loads(later.cursor)["registered"] == json.loads(again.cursor)["registered"] + 1


def test_a_half_written_file_waits_for_a_second_look(settings, feed):
    with dg.instance_for_test() as instance:
        baseline = _tick(settings, instance)
        growing = feed.share / "jimmy" / "jimmy_20230820T101500.json"
        growing.write_bytes(
            b'{"apartment":"jimmy","timestamp":"2023-08-20T10:15:00+02:00","plugs":{"P-JIM-01":'
        )
        waiting = _tick(settings, instance, baseline.cursor)
        assert "jimmy/jimmy_20230820T101500.json" in json.loads(waiting.cursor)["waiting"]
        assert "2023-08-20" not in {r.partition_key for r in waiting.run_requests}
        growing.write_bytes(b'{"apartment":"jimmy","timestamp":"2023-08-20T10:15:00+02:00","plugs":{}}')
        changed = _tick(settings, instance, waiting.cursor)  # it changed since the last look: still waiting
        assert "2023-08-20" not in {r.partition_key for r in changed.run_requests}
        settled = _tick(settings, instance, changed.cursor)  # unchanged between two looks: complete
        assert "2023-08-20" in {r.partition_key for r in settled.run_requests}
        assert json.loads(settled.cursor)["waiting"] == {}


def test_the_cursor_survives_a_restart(settings, feed):
    """What the sensor saw lives in the warehouse: a fresh instance and an empty cursor re-register
    nothing."""
    with dg.instance_for_test() as instance:
        first = _tick(settings, instance)
    with dg.instance_for_test() as fresh:
        after_restart = _tick(settings, fresh)
    assert json.loads(after_restart.cursor)["registered"] == 0
    assert {r.run_key for r in after_restart.run_requests} == {r.run_key for r in first.run_requests}


def test_a_150000_file_folder_ticks_in_bounded_steps(settings, tmp_path):
    share = tmp_path / "big_share" / "jimmy"
    share.mkdir(parents=True)
    old = time.time() - 3600
    template = '{"apartment":"jimmy","timestamp":"2023-08-18T%02d:%02d:%02d+02:00"}'
    for i in range(150_000):
        path = share / f"f{i:06d}.json"
        path.write_text(template % (i // 7200 % 24, i // 120 % 60, i % 60))
        os.utime(path, (old, old))
    big = Settings(
        home=settings.home,
        landing=str(share.parent),
        weather=settings.weather,
        pidb_url=settings.pidb_url,
        pg_dsn=settings.pg_dsn,
    )
    assert sensor_module.MAX_FILES_PER_TICK == 20_000
    cursor, ticks, durations = None, 0, []
    with dg.instance_for_test() as instance:
        while True:
            began = time.perf_counter()
            result = _tick(big, instance, cursor)
            durations.append(time.perf_counter() - began)
            cursor, ticks = result.cursor, ticks + 1
            with psycopg.connect(settings.pg_dsn) as conn:
                registered = conn.execute("SELECT count(*) FROM meta.bronze_sensor_files").fetchone()[0]
            assert registered == min(150_000, ticks * 20_000), "each tick does a bounded share of the work"
            if registered == 150_000:
                break
        idle = _tick(big, instance, cursor)
    assert ticks == 8
    assert json.loads(idle.cursor)["registered"] == 150_000
    print(f"150,000-file folder: {ticks} ticks, slowest {max(durations):.2f} s")


def test_weather_schedule_asks_for_the_local_day_at_quarter_past_seven():
    assert weather_schedule.cron_schedule == "15 7 * * *"
    assert weather_schedule.execution_timezone == "Europe/Zurich"
    when = datetime(2023, 8, 18, 7, 15, tzinfo=zone("Europe/Zurich"))
    request = weather_schedule(dg.build_schedule_context(scheduled_execution_time=when))
    assert request.partition_key == "2023-08-18"
    # the daily fetch waits for a file not issued yet (its step fails and is retried); a backfill would not
    assert request.run_config == {"ops": {"bronze_weather_files": {"config": {"wait_for_missing": True}}}}
    assert weather_job.op_retry_policy.max_retries == 5


def test_telemetry_schedule_rolls_up_today_every_quarter_hour_and_closes_yesterday_after_midnight():
    from domotic_assets.defs.telemetry.schedules import telemetry_schedule

    zurich = zone("Europe/Zurich")
    assert telemetry_schedule.cron_schedule == "2-59/15 * * * *"
    daytime = list(
        telemetry_schedule(
            dg.build_schedule_context(scheduled_execution_time=datetime(2023, 10, 29, 10, 17, tzinfo=zurich))
        )
    )
    assert [r.partition_key for r in daytime] == ["2023-10-29"]
    midnight = list(
        telemetry_schedule(
            dg.build_schedule_context(scheduled_execution_time=datetime(2023, 10, 30, 0, 2, tzinfo=zurich))
        )
    )
    assert [r.partition_key for r in midnight] == ["2023-10-29", "2023-10-30"]
    assert len({r.run_key for r in daytime + midnight}) == 3


def test_ml_schedule_retrains_and_predicts_today_after_midnight_once_a_day():
    from domotic_assets.defs.ml.schedules import ml_daily_schedule, ml_job

    zurich = zone("Europe/Zurich")
    assert (
        ml_daily_schedule.cron_schedule == "30 1 * * *"
        and ml_daily_schedule.execution_timezone == "Europe/Zurich"
    )
    requests = list(
        ml_daily_schedule(
            dg.build_schedule_context(scheduled_execution_time=datetime(2023, 10, 29, 1, 30, tzinfo=zurich))
        )
    )
    assert [r.partition_key for r in requests] == ["2023-10-29"] and requests[0].run_key == "ml:2023-10-29"
    assert ml_job.selection == dg.AssetSelection.groups("ml")


def test_tomorrow_is_planned_once_todays_weather_and_forecast_are_in():
    from domotic_assets.defs.optimisation.sensors import day_ahead_request

    zurich = zone("Europe/Zurich")
    morning, afternoon = (
        datetime(2023, 10, 28, 8, 0, tzinfo=zurich),
        datetime(2023, 10, 28, 13, 0, tzinfo=zurich),
    )

    def arrive(instance, key):
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition="2023-10-28"))

    with dg.instance_for_test() as instance:
        waiting = day_ahead_request(instance, morning)
        assert isinstance(waiting, dg.SkipReason) and "weather" in waiting.skip_message
        arrive(instance, "weather_clean")
        assert "energy forecast" in day_ahead_request(instance, morning).skip_message
        # the forecast does not come by noon: tomorrow is planned on the load history
        late = day_ahead_request(instance, afternoon)
        assert late.partition_key == "2023-10-29" and late.run_key.endswith("forecast-None")
        arrive(instance, "energy_forecast")
        planned = day_ahead_request(instance, afternoon)
        assert planned.partition_key == "2023-10-29" and planned.run_key != late.run_key
        assert day_ahead_request(instance, afternoon).run_key == planned.run_key, (
            "the same inputs are planned once"
        )
        arrive(instance, "weather_clean")  # the weather service issues the day again: a new plan
        assert day_ahead_request(instance, afternoon).run_key not in (planned.run_key, late.run_key)
