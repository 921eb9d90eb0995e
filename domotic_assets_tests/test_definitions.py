"""The whole Definitions load, with every asset, sensor, schedule and resource in place."""

import dagster as dg

from domotic_assets.contracts.pidb import REFERENCE_TABLES


def test_definitions_load(tmp_path, monkeypatch):
    monkeypatch.setenv("DOMOTIC_HOME", str(tmp_path))
    from domotic_assets.definitions import defs

    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"gold/fact_energy_minute", "gold/dim_sensor", "gold/agg_energy_room_day"} <= keys
    assert {"bronze_sensor_files", "bronze_weather_files", "sensor_events", "weather_clean", "household_telemetry",
            "gold/agg_household_telemetry_15min", "gold/agg_household_telemetry_hour", "household_schedules",
            "energy_training_set", "energy_forecast_model", "energy_forecast", "presence_training_set", "presence_model",
            "presence_forecast", "anomaly_training_set", "anomaly_model", "anomaly_detection"} <= keys
    assert {f"dim_{t}" for t in REFERENCE_TABLES} <= keys
    assert "dim_users" not in keys
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups == {"bronze", "silver", "gold", "ml"}
    checks = {key.name for key in graph.asset_check_keys}
    assert {"no_duplicate_keys", "reconciliation", "outlier_rate", "stuck_sensors", "gaps", "unknown_sensors",
            "live_freshness", "weather_completeness", "energy_reconciliation", "cost_matches_tariff",
            "presence_against_ground_truth", "telemetry_freshness", "schedules_verified", "schedules_beat_rule_based",
            "anomalies_against_injected"} <= checks
    assert defs.resolve_sensor_def("sensor_files_sensor")
    assert defs.resolve_schedule_def("weather_schedule")
    assert defs.resolve_schedule_def("telemetry_schedule")
    assert defs.resolve_schedule_def("ml_daily_schedule")
    assert set(defs.resources) == {"warehouse", "landing", "weather_drop", "pidb", "bronze", "dbt", "model_store"}
