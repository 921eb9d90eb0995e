"""The ML assets, per local day D: a training set of the days before D, a model fitted on it (kept by
the model store, registered in gold.model_versions with its held-out metrics), and D's predictions
in gold.fact_prediction. Energy: the 48 hours from D's midnight per apartment and main device;
presence: each room's next 24 hours from D's midnight; anomalies: D's hours unlike their history."""

from datetime import date, timedelta

import dagster as dg
import pandas as pd

from domotic_assets.defs.day_writers import writing_days
from domotic_assets.defs.failures import warehouse_guard
from domotic_assets.defs.partitions import daily_partitions, partition_days, single_run_backfill
from domotic_assets.defs.resources import GroundTruthResource, WarehouseResource
from domotic_assets.ml import anomalies as detector
from domotic_assets.ml import energy_models, ground_truth, presence_models
from domotic_assets.ml.evaluation import local_midnight
from domotic_assets.ml.prediction_rows import MODEL_KEYS, rows
from domotic_assets.warehouse import ml_inputs
from domotic_assets.warehouse.energy_training_sets import energy_training_sets
from domotic_assets.warehouse.prediction_tables import (
    previous_metrics,
    register_version,
    replace_anomalies,
    replace_predictions,
)

CODE_VERSION = "1"
ML = dict(
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    group_name="ml",
    code_version=CODE_VERSION,
)
STORED = dict(ML, io_manager_key="model_store", kinds={"python", "scikitlearn"})
WRITES_GOLD = dict(ML, kinds={"python", "postgres"})
GOLD = {
    name: dg.AssetKey(["gold", name])
    for name in (
        "fact_energy_minute",
        "fact_presence_minute",
        "fact_environment_minute",
        "dim_device",
        "dim_room",
        "dim_sensor",
        "dim_apartment",
        "fact_prediction",
    )
}


def _window(day: date, days: int) -> tuple[date, date]:
    return day - timedelta(days=days), day - timedelta(days=1)


def _version(model: str, first: date, last: date) -> str:
    return f"{model}-v{CODE_VERSION}-{first:%Y%m%d}-{last:%Y%m%d}"


RETRAIN_EVERY_DAYS = 7
"""In a range (a backfill), a model is trained on the first day of each week of it and serves the
days after until the next; a daily run trains every day. Either way no day's model has seen that day."""


def _train_in_blocks(training_sets: dict, fit) -> tuple[dict, dict]:
    """`fit(day)` -> (model, metadata) or None, for the days that start a block (or follow a failed fit);
    every day gets the model of its block (None before the first that could be trained)."""
    out, latest, current, since = {}, {}, None, None
    for day in sorted(training_sets):
        today = date.fromisoformat(day)
        if current is None or (today - since).days >= RETRAIN_EVERY_DAYS:
            fitted = fit(day)
            current, since = (fitted[0], today) if fitted else (None, None)
            latest = fitted[1] if fitted else latest
        out[day] = current
    return out, latest


def _register(
    context: dg.AssetExecutionContext,
    conn,
    day: str,
    model: str,
    training,
    rows: int,
    features: list[str],
    metrics: dict,
    key: str,
    higher_is_better: bool,
) -> dict:
    """Record a trained version in gold.model_versions (its key goes into `metrics`); what the asset shows:
    the metrics, the version, and the previous version's with whether this one is better on `key`."""
    version = _version(model, training.first_day, training.last_day)
    before = previous_metrics(conn, model, version) or {}
    metrics["version_key"] = register_version(
        conn,
        MODEL_KEYS[model],
        model,
        version,
        training.first_day,
        training.last_day,
        rows,
        features,
        metrics,
        f"{'/'.join(context.asset_key.path)}/{day}.joblib",
    )
    shown = {**metrics, "version": version, "previous_version": before or None}
    if key in metrics and before.get(key) is not None and metrics[key] == metrics[key]:
        shown["better_than_previous"] = bool(
            metrics[key] > before[key] if higher_is_better else metrics[key] < before[key]
        )
    return shown


def _metadata(metrics: dict) -> dict:
    """Figures and names as their own metadata entries (the UI plots numbers over materializations), all as
    JSON."""
    plain = {k: v for k, v in metrics.items() if isinstance(v, (int, float, str)) and pd.notna(v)}
    return {**plain, "metrics": dg.MetadataValue.json(metrics)}


# --- energy ----------------------------------------------------------------------------------------


@dg.asset(
    **STORED,
    deps=[GOLD["fact_energy_minute"], GOLD["dim_device"], GOLD["dim_apartment"], "weather_clean"],
    description="Quarter-hour kWh of each apartment (main meter) and its main devices over the "
    f"{energy_models.TRAINING_DAYS} days before the partition, with the weather forecast for them.",
)
def energy_training_set(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.Output[dict]:
    with warehouse_guard(context), warehouse.connect() as conn, writing_days(context, conn):
        out = energy_training_sets(conn, partition_days(context), context.log.info)
    return dg.Output(
        out,
        metadata={
            "series": max((len(t.series) for t in out.values()), default=0),
            "quarter_hours": sum(t.rows for t in out.values()),
        },
    )


@dg.asset(
    **STORED,
    description="Per series, the forecast that did best on a backtest of the window's own end (a learnt "
    "model, a plain baseline or a blend) with its conformal 80 % interval, judged again on the "
    "window's last two days against seasonal naive.",
)
def energy_forecast_model(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, energy_training_set: dict
) -> dg.Output[dict]:
    with warehouse_guard(context), warehouse.connect() as conn, writing_days(context, conn):

        def fit(day: str):
            training = energy_training_set[day]
            models = energy_models.train(training)
            if not models.forecasters:
                context.log.warning(f"{day}: no energy forecaster: {models.skipped}")
                return None
            shown = _register(
                context,
                conn,
                day,
                "energy_forecast",
                training,
                training.rows,
                models.features,
                models.metrics,
                "mae_kwh",
                higher_is_better=False,
            )
            return models, {**shown, "skipped": models.skipped}

        out, latest = _train_in_blocks(energy_training_set, fit)
    return dg.Output(out, metadata=_metadata(latest))


@dg.asset(
    **WRITES_GOLD,
    deps=[GOLD["fact_prediction"]],
    description="gold.fact_prediction: kWh per quarter-hour for the 48 hours from the partition's midnight, "
    "with an 80 % interval, per apartment and main device.",
)
def energy_forecast(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    energy_training_set: dict,
    energy_forecast_model: dict,
) -> dg.MaterializeResult:
    with (
        warehouse_guard(context),
        warehouse.connect() as conn,
        writing_days(context, conn, "gold/fact_prediction"),
    ):
        devices = ml_inputs.devices(conn)
        room_of = dict(zip(devices["device_key"], devices["room_key"]))

        def frame_of(day: date, models) -> pd.DataFrame:
            training = energy_training_set[day.isoformat()]
            frame = energy_models.forecast(models, training.series, training.weather, local_midnight(day))
            return frame.assign(room_key=frame["device_key"].map(room_of)) if len(frame) else frame

        written = _write_issues(
            context, conn, energy_forecast_model, frame_of, "energy_forecast", "energy_kwh"
        )
    return dg.MaterializeResult(metadata={"dagster/row_count": written})


def _write_issues(
    context: dg.AssetExecutionContext, conn, models_by_day: dict, frame_of, model: str, target: str
) -> int:
    """Each partition day's predictions as issued at its midnight (`frame_of(day, models)`), replacing that
    issue."""
    written = 0
    for day in partition_days(context):
        models = models_by_day[day.isoformat()]
        frame = frame_of(day, models) if models is not None else pd.DataFrame()
        if frame.empty:
            context.log.info(f"{day}: no {model} predictions (no model trained yet)")
            continue
        written += replace_predictions(
            conn,
            MODEL_KEYS[model],
            local_midnight(day),
            local_midnight(day + timedelta(days=1)),
            rows(frame, model, target, int(models.metrics["version_key"])),
            by="issued_at",
        )
    return written


# --- presence --------------------------------------------------------------------------------------


def _presence_truth(truth: GroundTruthResource, conn, training_rows: pd.DataFrame) -> pd.Series | None:
    """The simulator's true occupancy for these rows, where a ground truth is configured."""
    occupancy, _ = truth.manifest()
    if occupancy is None:
        return None
    rooms = ml_inputs.rooms(conn)
    return ground_truth.truth_for_rows(training_rows, ground_truth.occupied_hours(occupancy, rooms))


@dg.asset(
    **STORED,
    deps=[GOLD["fact_presence_minute"], GOLD["fact_environment_minute"], "sensor_events"],
    description=f"Room-hours of the {presence_models.TRAINING_DAYS} days before the partition as feature "
    "rows (recent presence, motion, CO2, light, doors; time of day, weekday; lead time).",
)
def presence_training_set(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.Output[dict]:
    out = {}
    with warehouse_guard(context), warehouse.connect() as conn, writing_days(context, conn):
        zones = dict(ml_inputs.apartments(conn)[["apartment_key", "timezone"]].itertuples(index=False))
        for day in partition_days(context):
            first, last = _window(day, presence_models.TRAINING_DAYS)
            hourly = ml_inputs.presence_hourly(
                conn, first - timedelta(days=presence_models.CONTEXT_DAYS), day
            )
            out[day.isoformat()] = presence_models.training_set(hourly, first, last, zones)
    return dg.Output(out, metadata={"rows": sum(len(t.rows) for t in out.values())})


@dg.asset(
    **STORED,
    description="Gradient-boosted presence classifier over all rooms, judged on the window's last two "
    "days as issued at midnight, against the simulator's occupancy where there is one, "
    "beside the time-of-day frequency baseline.",
)
def presence_model(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    ground_truth: GroundTruthResource,
    presence_training_set: dict,
) -> dg.Output[dict]:
    with warehouse_guard(context), warehouse.connect() as conn, writing_days(context, conn):

        def fit(day: str):
            training = presence_training_set[day]
            try:
                models = presence_models.train(training, _presence_truth(ground_truth, conn, training.rows))
            except ValueError as exc:
                context.log.warning(f"{day}: no presence model: {exc}")
                return None
            return models, _register(
                context,
                conn,
                day,
                "presence",
                training,
                models.model.training_rows,
                models.model.feature_names,
                models.metrics,
                "f1",
                higher_is_better=True,
            )

        out, latest = _train_in_blocks(presence_training_set, fit)
    return dg.Output(out, metadata=_metadata(latest))


@dg.asset(
    **WRITES_GOLD,
    deps=[GOLD["fact_prediction"]],
    description="gold.fact_prediction: each room's probability of presence for every hour of the partition, "
    "as issued at its midnight.",
)
def presence_forecast(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    presence_training_set: dict,
    presence_model: dict,
) -> dg.MaterializeResult:
    with (
        warehouse_guard(context),
        warehouse.connect() as conn,
        writing_days(context, conn, "gold/fact_prediction"),
    ):
        written = _write_issues(
            context,
            conn,
            presence_model,
            lambda day, models: presence_models.forecast(
                models, presence_training_set[day.isoformat()].rows, local_midnight(day)
            ),
            "presence",
            "presence_prob",
        )
    return dg.MaterializeResult(metadata={"dagster/row_count": written})


# --- anomalies -------------------------------------------------------------------------------------

BASELINE_DAYS = 28


@dg.asset(
    **STORED,
    deps=[GOLD["fact_energy_minute"], GOLD["fact_environment_minute"], GOLD["dim_room"]],
    description=f"Hourly features of every device, apartment and room over the {BASELINE_DAYS} days before "
    "the partition and on the partition itself (mean power and on-cycles, power on no plug, minutes "
    "windows stood open).",
)
def anomaly_training_set(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.Output[dict]:
    days = partition_days(context)
    with (
        warehouse_guard(context),
        warehouse.connect() as conn,
        writing_days(context, conn),
    ):  # once for the range, cut per day
        hourly = ml_inputs.anomaly_hourly(conn, days[0] - timedelta(days=BASELINE_DAYS), days[-1])
    out = {
        day.isoformat(): hourly[
            (hourly["ts"] >= local_midnight(day - timedelta(days=BASELINE_DAYS)))
            & (hourly["ts"] < local_midnight(day + timedelta(days=1)))
        ].reset_index(drop=True)
        for day in days
    }
    return dg.Output(out, metadata={"entity_hours": sum(len(f) for f in out.values())})


@dg.asset(
    **STORED, description="Each entity's own history per local hour (median, spread, how often active)."
)
def anomaly_model(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, anomaly_training_set: dict
) -> dg.Output[dict]:
    out, latest = {}, {}
    with warehouse_guard(context), warehouse.connect() as conn, writing_days(context, conn):
        zones = dict(ml_inputs.apartments(conn)[["apartment_key", "timezone"]].itertuples(index=False))
        for day, hourly in sorted(anomaly_training_set.items()):
            history = hourly[hourly["ts"] < local_midnight(date.fromisoformat(day))]
            try:
                baseline = detector.Baseline(zones).fit(history)
            except ValueError as exc:
                context.log.warning(f"{day}: {exc}")
                out[day] = None
                continue
            first, last = baseline.first_day, baseline.last_day
            version = _version("anomaly_detection", first, last)
            key = register_version(
                conn,
                MODEL_KEYS["anomaly_detection"],
                "anomaly_detection",
                version,
                first,
                last,
                len(history),
                list(detector.RULES),
                {"threshold": detector.THRESHOLD},
            )
            out[day] = (key, baseline)
            latest = {"version": version, "version_key": key, "baselines": len(baseline.table)}
    return dg.Output(out, metadata=_metadata(latest))


@dg.asset(
    **WRITES_GOLD,
    deps=[GOLD["fact_prediction"]],
    description="gold.anomalies (each with its score and reason) and the hourly anomaly score of every "
    "entity in gold.fact_prediction; rooms found unusual get is_anomaly in gold.fact_environment_minute.",
)
def anomaly_detection(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    anomaly_training_set: dict,
    anomaly_model: dict,
) -> dg.MaterializeResult:
    written, found_all = 0, []
    # it also flags rooms in gold.fact_environment_minute, which the daily dbt models write
    with (
        warehouse_guard(context),
        warehouse.connect() as conn,
        writing_days(context, conn, "gold/fact_prediction", "gold/anomalies", "gold/fact_environment_minute"),
    ):
        for day in partition_days(context):
            fitted, hourly = anomaly_model[day.isoformat()], anomaly_training_set[day.isoformat()]
            if fitted is None:
                continue
            key, baseline = fitted
            today = hourly[hourly["ts"] >= local_midnight(day)]
            if today.empty:
                continue
            scores = detector.hour_scores(baseline.score(today))
            found = detector.events(scores, dict(zip(hourly["entity"], hourly["name"]))).assign(local_day=day)
            found_all.append(found)
            # a nowcast: each hour's score, issued as the hour is scored (horizon PT0M)
            frame = scores.assign(
                issued_at=scores["ts"],
                predicted_value=scores["score"],
                confidence=(scores["score"] / (2 * detector.THRESHOLD)).clip(0, 1),
            )
            written += replace_predictions(
                conn,
                MODEL_KEYS["anomaly_detection"],
                local_midnight(day),
                local_midnight(day + timedelta(days=1)),
                rows(frame, "anomaly_detection", "anomaly_score", key),
                by="ts",
            )
            replace_anomalies(conn, key, day, day, found)
    reasons = [reason for found in found_all for reason in found["reason"]]
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": written,
            "anomalies": len(reasons),
            "found": dg.MetadataValue.json(reasons[:50]),
        }
    )
