"""Gold, the dbt star schema: built through the Dagster definitions on three simulated days around
the autumn daylight-saving change (Saturday 2023-10-28 .. Monday 2023-10-30, the middle day has
25 hours), checked against Silver, the tariff rule and the simulator's ground truth."""

import json
import subprocess
from datetime import date

import dagster as dg
import pandas as pd
import psycopg
import pytest

from domotic_assets.definitions import build_definitions
from domotic_assets.defs.dbt_project import DBT_DIR, dbt_project
from domotic_assets.defs.dbt_project import run_dbt as dbt_project_cli
from domotic_assets.defs.gold.assets import gold_daily
from domotic_assets.defs.gold.checks import cost_matches_tariff, energy_reconciliation
from domotic_assets.defs.resources import build_resources
from domotic_assets.defs.run_range import materialize_range
from domotic_assets.defs.selections import PIPELINE
from domotic_assets.settings import Settings
from domotic_assets.simulator.feed import SimulationConfig, simulate
from domotic_assets.warehouse import gold_quality
from domotic_assets.warehouse.silver_tables import day_bounds
from domotic_assets_tests.conftest import databases
from domotic_assets_tests.gold_recompute import (
    ENVIRONMENT,
    differences,
    energy_minutes,
    environment_minutes,
    frame,
    rollup,
    silver_readings,
)

FIRST, LAST = date(2023, 10, 28), date(2023, 10, 30)
DAYS = gold_quality.days_between(FIRST, LAST)
DAILY_TABLES = [
    "fact_energy_minute",
    "fact_environment_minute",
    "fact_presence_minute",
    "fact_device_health_day",
    "fact_weather_day",
    *(
        f"agg_{d}_{lvl}_{g}"
        for d in ("energy", "environment")
        for lvl in ("room", "apartment")
        for g in ("15min", "hour", "day")
    ),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory, pg_server_dsn):
    """Bronze, Silver and Gold of the three days, built like `domotic run` builds them."""
    feed = SimulationConfig(out=tmp_path_factory.mktemp("gold_feed"), start=FIRST, days=3, seed=11)
    simulate(feed)
    with databases(pg_server_dsn) as make:
        settings = Settings(
            home=tmp_path_factory.mktemp("gold_home"),
            landing=str(feed.share),
            weather=str(feed.meteo),
            pidb_url=feed.pidb,
            pg_dsn=make(),
            ground_truth=str(feed.out / "manifest"),
        )
        defs = build_definitions(settings)
        lines: list[str] = []
        keys = set(PIPELINE.resolve(defs.resolve_asset_graph()))
        outcome = materialize_range(
            defs, keys, FIRST, LAST, dg.DagsterInstance.ephemeral(), echo=lines.append
        )
        # what dbt left in the target folder of these days (folders are named by op and window; no other test
        # builds this window)
        folders = list((DBT_DIR / "target" / "runs").glob(f"gold_daily-{FIRST:%Y%m%d}-{LAST:%Y%m%d}-*"))
        kept = {p.relative_to(DBT_DIR).as_posix() for folder in folders for p in folder.iterdir()}
        yield settings, defs, outcome, lines, (folders, kept)


def query(settings: Settings, sql: str, params=()):
    with psycopg.connect(settings.pg_dsn) as conn:
        return conn.execute(sql, params).fetchall()


def snapshot(settings: Settings) -> dict[str, list[tuple]]:
    """Every daily Gold table, rows sorted, floats rounded (sums may add in another order)."""

    def norm(value):
        return round(value, 9) if isinstance(value, float) else value

    out = {}
    with psycopg.connect(settings.pg_dsn) as conn:
        for table in DAILY_TABLES:
            rows = conn.execute(f"SELECT * FROM gold.{table}").fetchall()
            out[table] = sorted((tuple(norm(v) for v in row) for row in rows), key=repr)
    return out


def run_dbt(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    return dbt_project_cli(*args, dsn=settings.pg_dsn, target_path=settings.home / "dbt-target")


def test_the_range_fills_every_gold_table_and_every_check_passes(built):
    settings, _defs, outcome, lines, (folders, kept) = built
    assert outcome.success, outcome.failures
    assert folders and {path.rsplit("/", 1)[1] for path in kept} == {"partial_parse.msgpack"}, (
        "a successful dbt run leaves only the parse that the next run of its window reuses"
    )
    assert not [line for line in lines if "FAILED" in line]
    passed = sum(int(line.split(":")[1]) for line in lines if "checks passed" in line)
    assert passed > 100  # the dbt tests of every Gold table, and the Python checks
    for table in DAILY_TABLES:
        days = {
            d
            for (d,) in query(
                settings,
                f"SELECT DISTINCT {'issue_day' if table == 'fact_weather_day' else 'local_day'} FROM "
                f"gold.{table}",
            )
        }
        assert days == set(DAYS), table
    # the ML assets ran too: on three days of history only the presence model can train (from the second day)
    by_model = dict(
        query(settings, "SELECT model_key, count(DISTINCT local_day) FROM gold.fact_prediction GROUP BY 1")
    )
    assert by_model == {2: len(DAYS) - 1}


def test_local_days_at_the_daylight_saving_change_have_their_true_length(built):
    settings = built[0]
    hours = dict(
        query(
            settings,
            "SELECT date, hours_in_day FROM gold.dim_date WHERE date IN ('2023-03-26', '2023-10-29', "
            "'2023-10-30')",
        )
    )
    assert hours == {date(2023, 3, 26): 23, date(2023, 10, 29): 25, date(2023, 10, 30): 24}
    minutes = dict(
        query(
            settings,
            "SELECT local_day, count(*) / count(DISTINCT room_key) FROM gold.fact_presence_minute GROUP BY 1",
        )
    )
    assert minutes == {date(2023, 10, 28): 1440, date(2023, 10, 29): 1500, date(2023, 10, 30): 1440}
    expected = dict(
        query(
            settings, "SELECT local_day, max(expected_readings) FROM gold.fact_device_health_day GROUP BY 1"
        )
    )
    assert expected == {date(2023, 10, 28): 1440, date(2023, 10, 29): 1500, date(2023, 10, 30): 1440}
    hours_of_day = query(
        settings,
        """SELECT count(*) FROM gold.agg_energy_apartment_hour h JOIN gold.dim_apartment a
               USING (apartment_key)
                                      WHERE a.code = 'jimmy' AND h.local_day = '2023-10-29'""",
    )
    assert hours_of_day == [(25,)]


def test_energy_reconciles_with_the_main_meter_and_cost_follows_the_tariff(built):
    settings = built[0]
    with psycopg.connect(settings.pg_dsn) as conn:
        reconciled, facts = gold_quality.energy_reconciliation(conn, DAYS)
        assert reconciled and facts["apartment_days"] == 6, facts
        assert facts["worst_gap_pct"] <= 0.5
        costed, facts = gold_quality.cost_against_tariffs(conn, DAYS)
        assert costed, facts
    periods = dict(
        query(
            settings,
            """SELECT local_day::text || ' ' || tariff_period, count(*) FROM gold.fact_energy_minute
                                      WHERE is_main_meter GROUP BY 1""",
        )
    )
    assert set(periods) == {
        "2023-10-28 low",
        "2023-10-29 low",
        "2023-10-30 low",
        "2023-10-30 high",
    }  # weekend: low only
    high_hours = query(
        settings,
        """SELECT min(m.label), max(m.label) FROM gold.fact_energy_minute f
                                    JOIN gold.dim_minute_of_day m USING (minute_of_day_key)
                                        WHERE f.tariff_period = 'high'""",
    )
    assert high_hours == [("07:00", "19:59")]
    # the per-device and the whole-apartment figures come from one table without double counting
    plugs, meter = query(
        settings,
        """SELECT sum(energy_kwh) FILTER (WHERE NOT is_main_meter), sum(energy_kwh)
               FILTER (WHERE is_main_meter)
                                      FROM gold.fact_energy_minute""",
    )[0]
    assert 0 < plugs < meter


def test_outliers_never_reach_any_measure_of_any_fact_or_aggregate(built):
    """Every Gold measure equals its recomputation from Silver's plausible readings alone (pandas,
    docs/gold.md's rules): an outlier that entered a minute fact or a rollup, a counter spike in energy_kwh
    included, differs."""
    settings = built[0]
    with psycopg.connect(settings.pg_dsn) as conn:
        readings = silver_readings(conn)
        environment = frame(
            conn,
            "SELECT apartment_key, room_key, ts, temperature_c, humidity_pct, co2_ppm, noise_db "
            "FROM gold.fact_environment_minute",
        )
        energy = frame(conn, "SELECT sensor_key, ts, power_w, energy_kwh FROM gold.fact_energy_minute")
        rollups = {t: frame(conn, f"SELECT * FROM gold.{t}") for t in DAILY_TABLES if t.startswith("agg_")}
    flagged = readings[readings["is_outlier"]].groupby("measure").size()
    assert {"temperature", "humidity", "co2", "power", "total"} <= set(flagged.index), (
        flagged
    )  # each kind is in the feed
    for frame_ in (environment, energy, *rollups.values()):
        for column in ("ts", "period_start"):
            if column in frame_:
                frame_[column] = pd.to_datetime(frame_[column], utc=True)

    env = environment_minutes(readings)
    assert (
        differences(env, environment, ["apartment_key", "room_key", "ts"], list(ENVIRONMENT.values())) == {}
    )
    kwh = energy_minutes(readings)
    assert (
        differences(
            kwh[["sensor_key", "ts", "power_w", "energy_kwh"]],
            energy,
            ["sensor_key", "ts"],
            ["power_w", "energy_kwh"],
        )
        == {}
    )

    def local_day(minutes):
        return minutes["ts"].dt.tz_convert("Europe/Zurich").dt.date

    total = lambda column: (column, lambda v: v.sum(min_count=1))  # noqa: E731 - SQL's sum: null when nothing to add
    meter = kwh.assign(
        meter_kwh=kwh["energy_kwh"].where(kwh["is_main_meter"]),
        meter_w=kwh["power_w"].where(kwh["is_main_meter"]),
        plugs_kwh=kwh["energy_kwh"].where(~kwh["is_main_meter"]),
    )
    plugs = kwh[~kwh["is_main_meter"]]
    room_env = {
        "temperature_mean_c": ("temperature_c", "mean"),
        "temperature_min_c": ("temperature_c", "min"),
        "temperature_max_c": ("temperature_c", "max"),
        "humidity_mean_pct": ("humidity_pct", "mean"),
        "co2_mean_ppm": ("co2_ppm", "mean"),
        "co2_max_ppm": ("co2_ppm", "max"),
        "noise_mean_db": ("noise_db", "mean"),
    }
    compared = 0
    for grain in ("15min", "hour", "day"):
        period = "local_day" if grain == "day" else "period_start"
        expected = {
            f"agg_energy_room_{grain}": (
                rollup(
                    plugs,
                    ["apartment_key", "room_key"],
                    grain,
                    local_day(plugs),
                    {
                        "energy_kwh": total("energy_kwh"),
                        "mean_power_w": ("power_w", "mean"),
                        "max_power_w": ("power_w", "max"),
                    },
                ),
                ["apartment_key", "room_key"],
            ),
            f"agg_energy_apartment_{grain}": (
                rollup(
                    meter,
                    ["apartment_key"],
                    grain,
                    local_day(meter),
                    {
                        "energy_kwh": total("meter_kwh"),
                        "plugs_energy_kwh": total("plugs_kwh"),
                        "mean_power_w": ("meter_w", "mean"),
                        "max_power_w": ("meter_w", "max"),
                    },
                ),
                ["apartment_key"],
            ),
            f"agg_environment_room_{grain}": (
                rollup(env, ["apartment_key", "room_key"], grain, local_day(env), room_env),
                ["apartment_key", "room_key"],
            ),
            f"agg_environment_apartment_{grain}": (
                rollup(env, ["apartment_key"], grain, local_day(env), room_env),
                ["apartment_key"],
            ),
        }
        for table, (mine, keys) in expected.items():
            measures = [c for c in mine.columns if c not in (*keys, "period")]
            gold = rollups[table][[*keys, period, *measures]].rename(columns={period: "period"})
            assert differences(mine, gold, [*keys, "period"], measures) == {}, table
            compared += 1
    assert compared == 12


def gold_checks_of_the_last_day(defs) -> list[dg.AssetCheckEvaluation]:
    """The Python checks of Gold alone, as the UI runs them on the day of a run (its range tags say
    which days they judge)."""
    energy = dg.AssetKey(["gold", "fact_energy_minute"])
    result = dg.materialize(
        [gold_daily, energy_reconciliation, cost_matches_tariff],
        resources=defs.resources,
        tags={
            "dagster/asset_partition_range_start": LAST.isoformat(),
            "dagster/asset_partition_range_end": LAST.isoformat(),
        },
        selection=dg.AssetSelection.checks(
            dg.AssetCheckKey(energy, "energy_reconciliation"), dg.AssetCheckKey(energy, "cost_matches_tariff")
        ),
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    return result.get_asset_check_evaluations()


def test_the_python_checks_of_gold_fail_on_a_corrupted_minute_and_a_corrupted_tariff(built):
    settings, defs = built[0], built[1]

    def run_checks() -> dict[str, bool]:
        return {e.check_name: e.passed for e in gold_checks_of_the_last_day(defs)}

    assert run_checks() == {"energy_reconciliation": True, "cost_matches_tariff": True}
    one_minute = """(SELECT sensor_key, ts FROM gold.fact_energy_minute WHERE is_main_meter
                        AND local_day = '2023-10-30'
                     AND energy_kwh > 0 ORDER BY ts LIMIT 1)"""
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE gold.fact_energy_minute SET energy_kwh = energy_kwh + 1 WHERE (sensor_key, ts) IN "
            f"{one_minute}"
        )
        try:
            assert run_checks() == {"energy_reconciliation": False, "cost_matches_tariff": False}
        finally:
            conn.execute(
                "UPDATE gold.fact_energy_minute SET energy_kwh = energy_kwh - 1 WHERE (sensor_key, ts) IN "
                "(SELECT sensor_key, ts FROM gold.fact_energy_minute WHERE is_main_meter AND local_day = "
                "'2023-10-30' AND energy_kwh > 1 ORDER BY ts LIMIT 1)"
            )
        assert run_checks() == {"energy_reconciliation": True, "cost_matches_tariff": True}
        # pidb's price of the high tariff changes and Gold was not priced again: the cost check sees it
        conn.execute(
            "UPDATE silver.dim_tariffs SET price_chf_kwh = price_chf_kwh + 0.01 WHERE period = 'high'"
        )
        try:
            assert run_checks() == {"energy_reconciliation": True, "cost_matches_tariff": False}
        finally:
            conn.execute(
                "UPDATE silver.dim_tariffs SET price_chf_kwh = price_chf_kwh - 0.01 WHERE period = 'high'"
            )
    assert run_checks() == {"energy_reconciliation": True, "cost_matches_tariff": True}


def test_energy_is_judged_against_the_silver_it_was_built_from(built):
    """A live run's Silver load can land after another run built Gold from the readings before it: that
    Gold is behind, not wrong. The check judges an apartment-day only where Gold was built from the meter
    readings Silver has now, lists the others, and never says passed with nothing judged."""
    settings = built[0]
    last_reading = """(SELECT apartment, sensor, measure, ts FROM silver.sensor_events
                          WHERE category = 'consumptions'
                       AND measure = 'total' AND NOT is_outlier AND ts >= %s AND ts < %s AND apartment = %s
                       ORDER BY ts DESC LIMIT 1)"""
    low, high = day_bounds(LAST)
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        apartments = sorted({a for a, d in gold_quality.meter_energy(conn, [LAST])})
        assert len(apartments) == 2
        passed, facts = gold_quality.energy_reconciliation(conn, [LAST])
        assert passed and facts["judged"] == 2 and not facts["superseded"], facts

        def move_meter(apartment: str, kwh: float) -> None:
            conn.execute(
                "UPDATE silver.sensor_events SET value = value + %s WHERE (apartment, sensor, measure, ts) "
                f"IN {last_reading}",
                (kwh, low, high, apartment),
            )

        move_meter(apartments[0], 0.5)  # a newer reading of the first apartment, not yet in Gold
        try:
            passed, facts = gold_quality.energy_reconciliation(conn, [LAST])
            assert (
                passed and facts["judged"] == 1 and list(facts["superseded"]) == [f"{LAST} {apartments[0]}"]
            ), facts
            move_meter(apartments[1], 0.5)
            try:
                passed, facts = gold_quality.energy_reconciliation(conn, [LAST])
                assert not passed and facts["judged"] == 0 and len(facts["superseded"]) == 2, facts
                [check] = [
                    e
                    for e in gold_checks_of_the_last_day(built[1])
                    if e.check_name == "energy_reconciliation"
                ]
                assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
                assert "changed after Gold was built" in check.description
            finally:
                move_meter(apartments[1], -0.5)
        finally:
            move_meter(apartments[0], -0.5)
        assert gold_quality.energy_reconciliation(conn, [LAST])[0]

        # a build during which Silver's meter moved records no basis for that apartment-day
        before = gold_quality.forget_energy_basis(conn, [LAST])
        move_meter(apartments[0], 0.5)
        try:
            assert gold_quality.record_energy_basis(conn, [LAST], before) == 1
        finally:
            move_meter(apartments[0], -0.5)
        passed, facts = gold_quality.energy_reconciliation(conn, [LAST])
        assert (
            passed
            and facts["judged"] == 1
            and "unknown state" in facts["superseded"][f"{LAST} {apartments[0]}"]
        )
        assert (
            gold_quality.record_energy_basis(conn, [LAST], gold_quality.forget_energy_basis(conn, [LAST]))
            == 2
        )


def test_presence_is_measured_against_the_ground_truth(built):
    settings = built[0]
    truth = gold_quality.occupancy_file(settings.ground_truth)
    with psycopg.connect(settings.pg_dsn) as conn:
        accuracy = gold_quality.presence_accuracy(conn, DAYS, truth)
    assert accuracy["minutes"] == 3 * 1440 * 8 + 60 * 8  # 8 rooms with motion sensors, a 25-hour day
    assert accuracy["precision"] > 0.85 and accuracy["recall"] > 0.85, accuracy


def test_days_rebuilt_one_by_one_in_any_order_and_a_full_refresh_give_the_same_gold(built):
    settings = built[0]
    before = snapshot(settings)
    assert all(before.values())
    daily = [gold_daily]
    for day in ("2023-10-30", "2023-10-28", "2023-10-29"):  # any order, each a second time (models only: the
        # tests ran with the range build)
        result = dg.materialize(
            daily,
            partition_key=day,
            resources=build_resources(settings),
            raise_on_error=False,
            selection=dg.AssetSelection.assets(*gold_daily.keys).without_checks(),
        )
        assert result.success
    assert snapshot(settings) == before
    refreshed = run_dbt(settings, "run", "--full-refresh")
    assert refreshed.returncode == 0, refreshed.stdout[-3000:]
    assert snapshot(settings) == before


def test_presence_thresholds_come_from_pidb_parameters(built):
    settings = built[0]

    def present_minutes():
        return query(
            settings,
            "SELECT count(*) FILTER (WHERE presence_flag) FROM gold.fact_presence_minute WHERE local_day = "
            "'2023-10-28'",
        )[0][0]

    window = json.dumps({"first_day": "2023-10-28", "last_day": "2023-10-28"})
    strict = present_minutes()
    query_update = "UPDATE silver.dim_parameters SET value = %s WHERE name = 'presence_motion_min_count'"
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        conn.execute(query_update, ("1",))
    try:
        assert run_dbt(settings, "run", "--select", "fact_presence_minute", "--vars", window).returncode == 0
        assert present_minutes() > strict
    finally:
        with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
            conn.execute(query_update, ("2",))
        assert run_dbt(settings, "run", "--select", "fact_presence_minute", "--vars", window).returncode == 0
    assert present_minutes() == strict


def test_every_dbt_test_is_an_asset_check_and_gold_facts_are_daily_partitions(built):
    defs = built[1]
    graph = defs.resolve_asset_graph()
    manifest = json.loads(dbt_project.manifest_path.read_text())
    dbt_tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    gold_checks = [k for k in graph.asset_check_keys if k.asset_key.path[0] == "gold"]
    assert len(gold_checks) == len(dbt_tests) + 3  # and the three Python checks
    for table in DAILY_TABLES:
        node = graph.get(dg.AssetKey(["gold", table]))
        assert node.partitions_def is not None and node.backfill_policy == dg.BackfillPolicy.single_run()
    assert graph.get(dg.AssetKey(["gold", "dim_sensor"])).partitions_def is None


def test_dbt_docs_generate_works(built):
    settings = built[0]
    done = run_dbt(settings, "docs", "generate")
    assert done.returncode == 0, done.stdout[-3000:]
    catalog = json.loads((settings.home / "dbt-target" / "catalog.json").read_text())
    assert "model.domotic.fact_energy_minute" in catalog["nodes"]
