"""The whole Definitions load, with every asset, sensor, schedule and resource in place, and what each
job, sensor and schedule carries (so a new asset downstream cannot slip into a live run unseen)."""

import re
import subprocess

import dagster as dg
import kombu

from domotic_assets.contracts.pidb import REFERENCE_TABLES
from domotic_assets.definitions import build_definitions
from domotic_assets.defs.dbt_project import DBT_EXECUTABLE
from domotic_assets.defs.executors import broker_url
from domotic_assets.defs.run_range import resolve_selection
from domotic_assets.settings import Settings

GOLD_DIMENSIONS = [
    "gold/dim_apartment",
    "gold/dim_date",
    "gold/dim_device",
    "gold/dim_horizon",
    "gold/dim_minute_of_day",
    "gold/dim_model",
    "gold/dim_room",
    "gold/dim_sensor",
    "gold/dim_target",
    "gold/dim_tariff",
    "gold/dim_weather_site",
    "gold/tariff_calendar",
]
ENERGY_AGGREGATES = [
    f"gold/agg_energy_{grain}_{period}"
    for grain in ("apartment", "device", "room")
    for period in ("15min", "day", "hour")
]
CARRIED = {
    "sensor sensor_files_sensor": "job live_job",
    "sensor repricing_sensor": "job reprice_job",
    # every 15-30 s while files arrive: Bronze, Silver and the day's Gold facts and aggregates, nothing more
    "job live_job": sorted(
        [
            "bronze_sensor_files",
            "sensor_events",
            "gold/fact_device_health_day",
            "gold/fact_energy_minute",
            "gold/fact_environment_minute",
            "gold/fact_presence_minute",
            *ENERGY_AGGREGATES,
            *(
                f"gold/agg_environment_{g}_{p}"
                for g in ("apartment", "room")
                for p in ("15min", "day", "hour")
            ),
        ]
    ),
    "job reprice_job": sorted(["gold/fact_energy_minute", *ENERGY_AGGREGATES]),
    "sensor pidb_changes_sensor": "job reference_job",
    "sensor day_ahead_schedules_sensor": "job schedules_job",
    "schedule weather_schedule": "job weather_job",
    "schedule telemetry_schedule": "job telemetry_job",
    "schedule ml_daily_schedule": "job ml_job",
    "schedule archive_schedule": "job archive_job",
    "job archive_job": ["archives"],
    "job weather_job": ["bronze_weather_files", "gold/fact_weather_day", "weather_clean"],
    "job telemetry_job": [
        "gold/agg_household_telemetry_15min",
        "gold/agg_household_telemetry_hour",
        "household_telemetry",
    ],
    "job reference_job": sorted([*(f"dim_{t}" for t in REFERENCE_TABLES), *GOLD_DIMENSIONS]),
    "job schedules_job": ["household_schedules"],
    "job ml_job": [
        "anomaly_detection",
        "anomaly_model",
        "anomaly_training_set",
        "energy_forecast",
        "energy_forecast_model",
        "energy_training_set",
        "presence_forecast",
        "presence_model",
        "presence_training_set",
    ],
}


def _names(keys) -> list[str]:
    return sorted(k.to_user_string() for k in keys)


def _carried(defs: dg.Definitions) -> dict:
    graph = defs.resolve_asset_graph()
    out = {}
    for sensor in defs.sensors:
        sensor = defs.resolve_sensor_def(sensor.name)
        out[f"sensor {sensor.name}"] = (
            _names(sensor.asset_selection.resolve(graph))
            if sensor.asset_selection
            else f"job {sensor.job_name}"
        )
    for schedule in defs.schedules:
        out[f"schedule {schedule.name}"] = f"job {defs.resolve_schedule_def(schedule.name).job_name}"
    for job in defs.resolve_all_job_defs():
        if not job.name.startswith("__"):
            out[f"job {job.name}"] = _names(job.asset_layer.selected_asset_keys)
    return out


def test_definitions_load(tmp_path, monkeypatch):
    from domotic_assets import definitions

    dg.Definitions.validate_loadable(definitions.defs)  # what workspace.yaml loads
    # the same, built for a home of its own: the module's `defs` was built when the first test module imported
    # it, from the home of the working directory, where `make demo` may have left a simulated feed's manifest
    monkeypatch.setenv("DOMOTIC_HOME", str(tmp_path))
    monkeypatch.delenv("DOMOTIC_GROUND_TRUTH", raising=False)
    defs = build_definitions(Settings.from_env())
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"gold/fact_energy_minute", "gold/dim_sensor", "gold/agg_energy_room_day"} <= keys
    assert {
        "bronze_sensor_files",
        "bronze_weather_files",
        "sensor_events",
        "weather_clean",
        "household_telemetry",
        "gold/agg_household_telemetry_15min",
        "gold/agg_household_telemetry_hour",
        "household_schedules",
        "energy_training_set",
        "energy_forecast_model",
        "energy_forecast",
        "presence_training_set",
        "presence_model",
        "presence_forecast",
        "anomaly_training_set",
        "anomaly_model",
        "anomaly_detection",
    } <= keys
    assert {f"dim_{t}" for t in REFERENCE_TABLES} <= keys
    assert "dim_users" not in keys
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups == {"bronze", "silver", "gold", "ml", "operations"}
    # `domotic run` and the demo materialize the pipeline, never the archive (it has its own schedule)
    assert dg.AssetKey("archives") not in resolve_selection(defs, None)
    assert dg.AssetKey("archives") not in resolve_selection(defs, "not group:ml")
    assert resolve_selection(defs, "key:archives") == {dg.AssetKey("archives")}
    checks = {key.name for key in graph.asset_check_keys}
    assert {
        "no_duplicate_keys",
        "reconciliation",
        "outlier_rate",
        "stuck_sensors",
        "gaps",
        "unknown_sensors",
        "live_freshness",
        "weather_files_present",
        "weather_completeness",
        "energy_reconciliation",
        "cost_matches_tariff",
        "telemetry_freshness",
        "schedules_verified",
        "schedules_beat_rule_based",
        "schedules_made",
    } <= checks
    # a real feed has no ground truth: no check pretends to judge against one
    assert not {"presence_against_ground_truth", "anomalies_against_injected"} & checks
    assert set(defs.resources) == {
        "warehouse",
        "landing",
        "weather_drop",
        "pidb",
        "bronze",
        "archive",
        "dbt",
        "model_store",
        "ground_truth",
    }


def test_the_checks_against_the_truth_exist_where_a_ground_truth_is_configured(tmp_path):
    simulated = Settings(
        home=tmp_path,
        landing=str(tmp_path),
        weather=str(tmp_path),
        pidb_url="sqlite://",
        pg_dsn=None,
        ground_truth=str(tmp_path / "manifest"),
    )
    checks = {key.name for key in build_definitions(simulated).resolve_asset_graph().asset_check_keys}
    assert {"presence_against_ground_truth", "anomalies_against_injected"} <= checks


def test_each_job_sensor_and_schedule_carries_exactly_its_own_assets(tmp_path):
    assert _carried(build_definitions(Settings.from_env({"DOMOTIC_HOME": str(tmp_path)}))) == CARRIED


def test_live_runs_stay_in_process_and_the_rest_take_the_settings_executor(tmp_path):
    """With DOMOTIC_EXECUTOR=celery, backfills (the asset job) and ML training spread over workers; every job
    a sensor or a schedule starts for live data keeps its steps in its own process."""
    for executor in ("in_process", "celery"):
        env = {"DOMOTIC_HOME": str(tmp_path), "DOMOTIC_EXECUTOR": executor}
        jobs = build_definitions(Settings.from_env(env)).resolve_all_job_defs()
        executors = {job.name: job.executor_def.name for job in jobs}
        assert executors.pop("__ASSET_JOB") == executors.pop("ml_job") == executor
        assert set(executors.values()) == {"in_process"}, executors


def test_gold_dbt_reports_the_version_of_the_executable_it_runs(tmp_path):
    """GoldDbt skips dagster-dbt's `dbt --version` call: the version it reports instead must be the one the
    executable answers, or dagster-dbt would treat a Fusion engine (2.x) as dbt Core."""
    dbt = build_definitions(Settings.from_env({"DOMOTIC_HOME": str(tmp_path)})).resources["dbt"]
    answer = subprocess.run([DBT_EXECUTABLE, "--version"], capture_output=True, text=True, check=True).stdout
    assert str(dbt._cli_version) == re.search(r"(\d+\.\d+\.\d+)", answer).group(1)
    assert dbt._initialize_dbt_core_adapter(["build"]) is None


def test_the_broker_password_comes_from_the_secrets_and_only_the_celery_app_holds_it(tmp_path, monkeypatch):
    secret = "p@ss/word:1"
    (tmp_path / "secrets").write_text(f"DOMOTIC_CELERY_PASSWORD={secret}\n")
    monkeypatch.setenv("DOMOTIC_SECRETS_FILE", str(tmp_path / "secrets"))
    monkeypatch.delenv("DOMOTIC_CELERY_PASSWORD", raising=False)
    settings = Settings.from_env(
        {
            "DOMOTIC_HOME": str(tmp_path),
            "DOMOTIC_EXECUTOR": "celery",
            "DOMOTIC_CELERY_BROKER": "amqp://domotic@rabbit.example:5673/domotic",
        }
    )
    broker = kombu.Connection(broker_url(settings))
    assert (broker.userid, broker.password, broker.hostname, broker.port, broker.virtual_host) == (
        "domotic",
        secret,
        "rabbit.example",
        5673,
        "domotic",
    )
    assert secret not in broker.as_uri(), "Celery's own output masks it"
    executor = build_definitions(settings).resolve_implicit_global_asset_job_def().executor_def
    assert set(executor.config_schema.config_type.fields) == {"retries"}, (
        "nothing of the broker is configured"
    )
