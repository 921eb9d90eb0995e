"""Nothing goes stale: the daily weather fetch rebuilds the weather facts of its day, a change in pidb reaches
Silver's and Gold's dimensions on its own, and a new tariff row prices the affected days of Gold again.
Each path runs the jobs and sensors of the definitions, as the daemon does."""

import dataclasses
import json
import shutil
from datetime import date

import dagster as dg
import psycopg
import pytest
import sqlalchemy as sa

from domotic_assets.definitions import build_definitions
from domotic_assets.defs.bronze.sensors import LIVE_SELECTION
from domotic_assets.defs.gold.sensors import REPRICE_SELECTION, repricing_request
from domotic_assets.defs.run_range import materialize_range
from domotic_assets.defs.selections import PIPELINE
from domotic_assets.defs.silver.sensors import pidb_changes_sensor
from domotic_assets.settings import Settings
from domotic_assets_tests.conftest import databases


def _query(settings, sql, params=()):
    with psycopg.connect(settings.pg_dsn) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def platform(feed_2days, tmp_path_factory, pg_server_dsn):
    """A running platform on a private copy of the two-day feed: its reference data and both days' live layers
    built, with the Dagster instance the daemon would keep (sensors read their history from it)."""
    out = tmp_path_factory.mktemp("stale") / "feed"
    shutil.copytree(feed_2days.out, out)
    feed = dataclasses.replace(feed_2days, out=out)
    with databases(pg_server_dsn) as make, dg.instance_for_test() as instance:
        settings = Settings(
            home=out.parent / "home",
            landing=str(feed.share),
            weather=str(feed.meteo),
            pidb_url=f"sqlite:///{out / 'pidb.sqlite'}",
            pg_dsn=make(),
        )
        defs = build_definitions(settings)
        graph = defs.resolve_asset_graph()
        keys = set(LIVE_SELECTION.resolve(graph)) | {
            k for k in PIPELINE.resolve(graph) if graph.get(k).partitions_def is None
        }
        assert materialize_range(
            defs, keys, date(2023, 8, 18), date(2023, 8, 19), instance, echo=lambda _: None
        ).success
        yield settings, feed, defs, instance


def _pidb_tick(defs, instance):
    context = dg.build_sensor_context(instance=instance, resources=defs.resources)
    return pidb_changes_sensor(context)


def test_the_daily_weather_fetch_rebuilds_the_weather_facts_of_its_issue(platform):
    settings, feed, defs, instance = platform
    weather_job = defs.resolve_job_def("weather_job")
    fetch = {"ops": {"bronze_weather_files": {"config": {"wait_for_missing": True}}}}
    # the live layers carry no weather: only the daily fetch brings it to Gold
    assert _query(settings, "SELECT to_regclass('gold.fact_weather_day')") == [(None,)]
    assert weather_job.execute_in_process(
        partition_key="2023-08-18", run_config=fetch, instance=instance
    ).success
    sql = """SELECT max(temperature_max_c) FROM gold.fact_weather_day f JOIN gold.dim_weather_site s
                 USING (weather_site_key)
             WHERE f.issue_day = '2023-08-18' AND s.name = 'Sion' AND f.lead_days = 0"""
    before = _query(settings, sql)[0][0]
    assert before is not None and before < 45
    # the service issues the day again with a hot afternoon in Sion
    issued = feed.meteo / "Pred_2023-08-18.csv"
    lines = issued.read_bytes().decode("utf-8-sig").splitlines()
    lines = [
        line.replace(line.split(",")[1], "45.5", 1)
        if ",Sion,PRED_T_2M_ctrl," in line and " 13:00:00," in line
        else line
        for line in lines
    ]
    issued.write_text("\n".join(lines) + "\n")
    assert weather_job.execute_in_process(
        partition_key="2023-08-18", run_config=fetch, instance=instance
    ).success
    assert _query(settings, sql)[0][0] == 45.5


def test_a_change_in_pidb_reaches_silver_and_gold_dimensions_on_its_own(platform):
    settings, _feed, defs, instance = platform
    unchanged = _pidb_tick(defs, instance)
    assert isinstance(unchanged, dg.SkipReason) and "as it was last imported" in unchanged.skip_message
    engine = sa.create_engine(settings.pidb_url)
    with engine.begin() as conn:
        room = conn.execute(sa.text("SELECT room_id FROM sensors WHERE external_id = 'W-JIM-01'")).scalar()
        conn.execute(
            sa.text(
                "INSERT INTO sensors (id, external_id, room_id, category, model) "
                "VALUES (900, 'W-JIM-99', :room, 'meteos', 'station v2')"
            ),
            {"room": room},
        )
    engine.dispose()
    changed = _pidb_tick(defs, instance)
    assert isinstance(changed, dg.RunRequest) and changed.tags["domotic/pidb_changed"] == "dim_sensors"
    assert changed.run_key.startswith("pidb:")
    assert (
        defs.resolve_job_def("reference_job").execute_in_process(instance=instance, tags=changed.tags).success
    )
    assert isinstance(_pidb_tick(defs, instance), dg.SkipReason)
    assert _query(settings, "SELECT count(*) FROM silver.dim_sensors WHERE external_id = 'W-JIM-99'") == [
        (1,)
    ]
    assert _query(settings, "SELECT category FROM gold.dim_sensor WHERE external_id = 'W-JIM-99'") == [
        ("meteos",)
    ]


def test_a_new_tariff_row_prices_the_days_it_reaches_again(platform):
    """From Saturday 19 August the utility sells its weekend energy at 0.20 CHF/kWh instead of 0.248."""
    settings, _feed, defs, instance = platform
    cost = """SELECT local_day::text, round((sum(cost_chf) / sum(energy_kwh))::numeric, 4)::float8
                  FROM gold.fact_energy_minute
              WHERE is_main_meter AND energy_kwh > 0 GROUP BY 1 ORDER BY 1"""
    before = _query(settings, cost)
    assert [day for day, _ in before] == ["2023-08-18", "2023-08-19"] and before[1][1] == 0.248
    idle, cursor = repricing_request(instance, {})
    assert isinstance(idle, dg.SkipReason) and "no tariff" in idle.skip_message

    engine = sa.create_engine(settings.pidb_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE tariffs SET valid_to = '2023-08-19' WHERE id = 3"))
        conn.execute(
            sa.text(
                "INSERT INTO tariffs (id, tariff_code, valid_from, valid_to, period, weekday_mask, "
                "start_time, end_time, price_chf_kwh) VALUES (7, 'OIKEN-DT', '2023-08-19', '2024-01-01', "
                "'low', '0000011', '00:00:00', '00:00:00', 0.20)"
            )
        )
    engine.dispose()
    changed = _pidb_tick(defs, instance)
    assert isinstance(changed, dg.RunRequest) and changed.tags["domotic/pidb_changed"] == "dim_tariffs"
    assert (
        defs.resolve_job_def("reference_job").execute_in_process(instance=instance, tags=changed.tags).success
    )

    request, cursor = repricing_request(instance, cursor)
    assert isinstance(request, dg.RunRequest), request
    # the old weekend row itself changed (it now ends on the 19th), so both built days are priced again
    assert (
        request.tags["dagster/asset_partition_range_start"],
        request.tags["dagster/asset_partition_range_end"],
    ) == ("2023-08-18", "2023-08-19")
    repriced = dg.materialize(
        [*defs.assets, *defs.asset_checks],
        selection=REPRICE_SELECTION,
        tags=request.tags,
        resources=defs.resources,
        instance=instance,
    )
    assert repriced.success
    checks = {e.check_name: e.passed for e in repriced.get_asset_check_evaluations()}
    assert checks["cost_matches_tariff"] and checks["energy_reconciliation"]
    again, cursor = repricing_request(instance, json.loads(json.dumps(cursor)))
    assert isinstance(again, dg.SkipReason), "a change is priced once"
    after = _query(settings, cost)
    assert after[0] == before[0] and after[1] == ("2023-08-19", 0.2)
    day_rows = _query(
        settings,
        "SELECT abs(sum(cost_chf) - sum(energy_kwh) * 0.20) < 1e-6 "
        "FROM gold.agg_energy_apartment_day WHERE local_day = '2023-08-19'",
    )
    assert day_rows == [(True,)], "the aggregates built on the energy fact follow"
