"""The ML assets on a real warehouse: nine simulated winter days of one apartment through Bronze,
Silver, Gold and the ML assets (as `domotic run` does), then a day predicted again, from the UI's
point of view, and Gold's own tests on what the models wrote."""

from datetime import date, timedelta

import dagster as dg
import psycopg
import pytest

from domotic_assets.definitions import build_definitions
from domotic_assets.defs.dbt_project import run_dbt
from domotic_assets.defs.run_range import materialize_range
from domotic_assets.defs.selections import PIPELINE
from domotic_assets.settings import Settings
from domotic_assets.simulator.feed import SimulationConfig, simulate
from domotic_assets.warehouse.schedule_inputs import households, scenario_for
from domotic_assets_tests.conftest import databases

FIRST, DAYS = date(2023, 12, 4), 9
LAST = FIRST + timedelta(days=DAYS - 1)
ML_ASSETS = [
    "energy_training_set",
    "energy_forecast_model",
    "energy_forecast",
    "presence_training_set",
    "presence_model",
    "presence_forecast",
    "anomaly_training_set",
    "anomaly_model",
    "anomaly_detection",
]


@pytest.fixture(scope="module")
def built(tmp_path_factory, pg_server_dsn):
    feed = SimulationConfig(
        out=tmp_path_factory.mktemp("ml_feed"),
        apartments=("jimmy",),
        start=FIRST,
        days=DAYS,
        seed=5,
        anomaly_rate=0.3,
    )
    simulate(feed)
    with databases(pg_server_dsn) as make:
        settings = Settings(
            home=tmp_path_factory.mktemp("ml_home"),
            landing=str(feed.share),
            weather=str(feed.meteo),
            pidb_url=feed.pidb,
            pg_dsn=make(),
            ground_truth=str(feed.out / "manifest"),
        )
        defs = build_definitions(settings)
        keys = set(PIPELINE.resolve(defs.resolve_asset_graph()))
        outcome = materialize_range(defs, keys, FIRST, LAST, dg.DagsterInstance.ephemeral(), echo=print)
        yield settings, defs, outcome


def query(settings: Settings, sql: str, params=()):
    with psycopg.connect(settings.pg_dsn) as conn:
        return conn.execute(sql, params).fetchall()


def predictions(settings: Settings) -> list[tuple]:
    return query(
        settings,
        """SELECT m.code, count(*), count(DISTINCT p.local_day), min(p.local_day),
               count(DISTINCT p.model_version_key)
                              FROM gold.fact_prediction p JOIN gold.dim_model m USING (model_key) GROUP BY 1
                                  ORDER BY 1""",
    )


def test_every_model_writes_its_predictions_to_gold_once_it_has_history(built):
    settings, _, outcome = built
    assert outcome.success, outcome.failures
    by_model = {
        code: (rows, days, first, versions) for code, rows, days, first, versions in predictions(settings)
    }
    assert set(by_model) == {"energy_forecast", "presence", "anomaly_detection"}
    energy_rows, energy_days, energy_first, _ = by_model["energy_forecast"]
    # an energy model needs a day of rows with two-day lags (four days with the feed's gaps): then every day
    # is issued
    assert FIRST + timedelta(days=3) <= energy_first <= FIRST + timedelta(days=4)
    issues = (LAST - energy_first).days + 1
    assert energy_days == issues + 1  # each issue covers its day and the next
    series = query(
        settings,
        "SELECT count(DISTINCT coalesce(device_key, 0)) FROM gold.fact_prediction WHERE model_key = 1",
    )[0][0]
    assert series == 4, "the apartment and its three main devices"
    assert energy_rows == issues * 192 * series
    bad = query(
        settings,
        """SELECT count(*) FROM gold.fact_prediction WHERE model_key = 1
                             AND NOT (lower_value <= predicted_value AND predicted_value <= upper_value
                                 AND lower_value >= 0)""",
    )
    assert bad == [(0,)]
    hours = query(
        settings,
        """SELECT min(predicted_value), max(predicted_value), count(DISTINCT room_key)
               FROM gold.fact_prediction
                               WHERE model_key = 2""",
    )[0]
    assert 0 <= hours[0] < hours[1] <= 1 and hours[2] == 4, "the four rooms with a motion sensor"
    versions = query(
        settings, "SELECT model_code, metrics FROM gold.model_versions ORDER BY model_version_key"
    )
    assert {code for code, _ in versions} == {"energy_forecast", "presence", "anomaly_detection"}
    # a backfill trains once a week: one energy version, trained with four days of history, which is too
    # little to hold two days out and judge it: it says so rather than show a figure
    energy = [m for code, m in versions if code == "energy_forecast"]
    assert [m.pop("not_evaluated") for m in energy] == [
        "no series has enough history before the evaluation origins"
    ]
    # and too little to backtest itself: every series takes the blend of the boosted level and the typical day
    assert energy == [
        {"chosen": {name: "blend of level 0.50, typical_day 0.50" for name in energy[0]["chosen"]}}
    ]
    assert len(energy[0]["chosen"]) == 4, "the apartment and its three main devices"
    # the presence model of the second week is judged on its window's last two days against the true occupancy
    presence = [m for code, m in versions if code == "presence"]
    assert len(presence) == 2 and "not_evaluated" in presence[0]
    judged = presence[1]
    assert judged["against"] == "ground truth" and judged["room_hours"] == 4 * 48 and judged["positives"] > 0
    assert 0.5 < judged["precision"] <= 1 and 0.4 < judged["recall"] <= 1
    assert judged["f1"] == pytest.approx(
        2 * judged["precision"] * judged["recall"] / (judged["precision"] + judged["recall"]), abs=1e-3
    )


def test_gold_tests_pass_on_what_the_models_wrote(built, tmp_path):
    settings, _, _ = built
    done = run_dbt(
        "test",
        "--select",
        "fact_prediction",
        "--vars",
        f'{{"first_day": "{FIRST}", "last_day": "{LAST + timedelta(days=1)}"}}',
        dsn=settings.pg_dsn,
        target_path=tmp_path / "dbt-target",
    )
    assert done.returncode == 0, done.stdout[-3000:]


def test_anomalies_come_with_a_score_and_a_reason_and_rooms_are_marked_in_gold(built):
    settings, _, _ = built
    found = query(settings, "SELECT kind, score, reason, room_key FROM gold.anomalies")
    assert found, "the feed had anomalies injected on 30 % of days per kind"
    assert all(score >= 4 and len(reason) > 30 for _, score, reason, _ in found)
    rooms = [r for kind, _, _, r in found if kind == "room"]
    assert rooms, "a window left open in the heating season is found in its room"
    marked = query(
        settings,
        """SELECT count(*) FROM gold.fact_environment_minute e JOIN gold.anomalies a
                                ON a.kind = 'room' AND a.room_key = e.room_key AND e.ts >= a.period_start
                                    AND e.ts < a.period_end
                                WHERE e.is_anomaly""",
    )
    within = query(
        settings,
        """SELECT count(*) FROM gold.fact_environment_minute e JOIN gold.anomalies a
                                ON a.kind = 'room' AND a.room_key = e.room_key AND e.ts >= a.period_start
                                    AND e.ts < a.period_end""",
    )
    assert marked == within and within[0][0] > 0, "every minute of a room found unusual is flagged in Gold"


def test_a_day_predicted_again_from_the_ui_retrains_shows_its_scores_and_replaces_its_rows(built):
    settings, defs, _ = built
    before = predictions(settings)
    day = (LAST - timedelta(days=1)).isoformat()
    result = dg.materialize(
        [*defs.assets, *defs.asset_checks],
        selection=ML_ASSETS,
        partition_key=day,
        resources=defs.resources,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert result.success
    check = [e for e in result.get_asset_check_evaluations() if e.check_name == "anomalies_against_injected"]
    assert len(check) == 1, "judged against the simulator's manifest"
    judged = {k: v.value for k, v in check[0].metadata.items()}
    found_that_day = query(settings, "SELECT count(*) FROM gold.anomalies WHERE local_day = %s", (day,))[0][0]
    assert judged["found"] == found_that_day and judged["entity_hours_scored"] > 0
    assert 0 <= judged["precision"] <= 1 and 0 <= judged["recall"] <= 1
    assert check[0].passed == (judged["precision"] >= 0.7 and judged["recall"] >= 0.7)
    # a daily run trains that day's models; their held-out scores, beside the baselines', are on the asset
    shown = {
        e.asset_key.to_user_string(): e.step_materialization_data.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    # (nine days hold no week-old values: the seasonal-naive baseline is undefined, so not shown as a figure)
    energy = {k: v.value for k, v in shown["energy_forecast_model"].items()}
    assert 0 < energy["mae_kwh"] < 0.5 and 0 < energy["typical_day_mae_kwh"] < 0.5, energy
    assert energy["improvement_vs_typical_day"] == pytest.approx(
        1 - energy["mae_kwh"] / energy["typical_day_mae_kwh"], abs=2e-3
    )
    assert energy["version"].startswith("energy_forecast-v1-") and energy["version"].endswith(
        (LAST - timedelta(days=2)).strftime("%Y%m%d")
    )
    assert "seasonal_naive_mae_kwh" not in shown["energy_forecast_model"]
    presence = {k: v.value for k, v in shown["presence_model"].items()}
    assert 0.4 < presence["f1"] <= 1 and 0.4 < presence["baseline_f1"] <= 1, presence
    assert (
        0 < presence["brier"] < 0.25
        and 0 < presence["baseline_brier"] < 0.25
        and presence["against"] == "ground truth"
    )
    after = predictions(settings)
    assert [row[:4] for row in after] == [row[:4] for row in before]
    duplicates = query(
        settings,
        """SELECT count(*) FROM (SELECT 1 FROM gold.fact_prediction
                                    GROUP BY apartment_key, room_key, device_key, model_key, target_key,
                                        horizon_key, ts
                                    HAVING count(*) > 1) d""",
    )
    assert duplicates == [(0,)]


def test_the_optimiser_plans_on_the_energy_forecast(built):
    settings, _, _ = built
    with psycopg.connect(settings.pg_dsn) as conn:
        household = households(conn)[0]
        inputs = scenario_for(conn, household, LAST)
    assert inputs.notes["load"].startswith("energy forecast"), inputs.notes


def test_a_days_energy_inputs_are_those_of_the_warehouse_cut_at_its_origin(built):
    """The training set of LAST (origin: its midnight), read from the whole warehouse, equals the one read
    from the warehouse as it stood at the origin: the energy facts after it and the weather files that arrived
    after it removed (in a transaction rolled back). Every value: the series, the weather over the window and
    the 48 hours ahead, and the forecast made from them."""
    import pandas as pd

    from domotic_assets.ml import energy_models
    from domotic_assets.ml.evaluation import local_midnight
    from domotic_assets.warehouse.energy_training_sets import energy_training_sets

    settings, _, _ = built
    origin = local_midnight(LAST)
    with psycopg.connect(settings.pg_dsn) as conn:
        whole = energy_training_sets(conn, [LAST])[LAST.isoformat()]
        late_files = """SELECT bronze_path FROM meta.bronze_weather_files
                        WHERE least(arrived_at,
                            ((issue_day + 1)::timestamp AT TIME ZONE 'Europe/Zurich')) > %s"""
        ahead = conn.execute(
            f"""SELECT count(*) FROM silver.weather_clean WHERE bronze_path IN ({late_files})
                                 AND valid_ts >= %s AND valid_ts < %s""",
            (origin, origin, origin + timedelta(hours=48)),
        ).fetchone()[0]
        assert ahead > 0  # the warehouse holds forecasts for the 48 hours ahead that arrived after the origin
        with conn.transaction(force_rollback=True):
            conn.execute(f"DELETE FROM silver.weather_clean WHERE bronze_path IN ({late_files})", (origin,))
            conn.execute("DELETE FROM gold.fact_energy_minute WHERE ts >= %s", (origin,))
            cut = energy_training_sets(conn, [LAST])[LAST.isoformat()]
    assert (
        whole.series.keys() == cut.series.keys()
        and whole.weather.keys() == cut.weather.keys()
        and whole.weather
    )
    for key in whole.series:
        pd.testing.assert_series_equal(whole.series[key], cut.series[key])
        pd.testing.assert_frame_equal(whole.weather[key], cut.weather[key])
        assert (
            whole.weather[key].loc[origin:, "air_temperature"].notna().any()
        )  # the day ahead has its weather
    models = energy_models.train(whole)
    pd.testing.assert_frame_equal(
        energy_models.forecast(models, whole.series, whole.weather, origin),
        energy_models.forecast(models, cut.series, cut.weather, origin),
    )
