"""Gold's ML outputs: model versions (the model dimension at version grain), predictions, anomalies.

`gold.fact_prediction` is dbt's (its keys and tests); the ML assets write its rows. A version is
one training: its window, features and the evaluation metrics beside the baselines', so a reader
sees whether a new model is better than the last. A re-run of a prediction day replaces that
model's rows of the day in one transaction, whatever version wrote them before.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime

import pandas as pd
import psycopg

DDL = """
CREATE TABLE IF NOT EXISTS gold.model_versions (
    model_version_key  serial PRIMARY KEY,
    model_key          integer     NOT NULL,   -- gold.dim_model
    model_code         text        NOT NULL,
    version            text        NOT NULL,   -- model code, training window and code version
    trained_at         timestamptz NOT NULL DEFAULT now(),
    training_first_day date        NOT NULL,
    training_last_day  date        NOT NULL,
    training_rows      bigint      NOT NULL,
    features           jsonb       NOT NULL,
    metrics            jsonb       NOT NULL,   -- the model's and the baselines', on held-out days
    artifact           text,                   -- where the I/O manager keeps the fitted model
    UNIQUE (model_code, version)
);
CREATE TABLE IF NOT EXISTS gold.anomalies (
    model_version_key  integer     NOT NULL,
    local_day          date        NOT NULL,
    entity             text        NOT NULL,   -- device:<key>, room:<key> or apartment:<key>
    kind               text        NOT NULL,
    apartment_key      integer     NOT NULL,
    room_key           integer,
    device_key         integer,
    period_start       timestamptz NOT NULL,
    period_end         timestamptz NOT NULL,
    score              double precision NOT NULL,
    feature            text        NOT NULL,
    reason             text        NOT NULL,
    PRIMARY KEY (entity, period_start)
);
CREATE INDEX IF NOT EXISTS anomalies_day ON gold.anomalies (local_day);
"""

PREDICTION_COLUMNS = [
    "ts",
    "local_day",
    "date_key",
    "minute_of_day_key",
    "apartment_key",
    "room_key",
    "device_key",
    "model_key",
    "model_version_key",
    "target_key",
    "horizon_key",
    "predicted_value",
    "lower_value",
    "upper_value",
    "confidence",
    "issued_at",
]


def register_version(
    conn: psycopg.Connection,
    model_key: int,
    model_code: str,
    version: str,
    first: date,
    last: date,
    training_rows: int,
    features: list[str],
    metrics: dict,
    artifact: str | None = None,
) -> int:
    """The version's key; training the same version again updates its metrics and artifact."""
    row = conn.execute(
        """
        INSERT INTO gold.model_versions (model_key, model_code, version, training_first_day,
            training_last_day,
                                         training_rows, features, metrics, artifact)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (model_code, version) DO UPDATE SET trained_at = now(),
            training_rows = excluded.training_rows,
            features = excluded.features, metrics = excluded.metrics, artifact = excluded.artifact
        RETURNING model_version_key""",
        (
            model_key,
            model_code,
            version,
            first,
            last,
            training_rows,
            json.dumps(features),
            json.dumps(_finite(metrics)),
            artifact,
        ),
    ).fetchone()
    return row[0]


def _finite(value):
    """JSON has no NaN: an undefined figure (no baseline error to compare with) is stored as null."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return None if isinstance(value, float) and math.isnan(value) else value


def previous_metrics(conn: psycopg.Connection, model_code: str, before_version: str) -> dict | None:
    """The metrics of the newest other version of the model, to compare a new one with."""
    row = conn.execute(
        """SELECT metrics FROM gold.model_versions WHERE model_code = %s AND version <> %s
                          ORDER BY training_last_day DESC, trained_at DESC LIMIT 1""",
        (model_code, before_version),
    ).fetchone()
    return row[0] if row else None


def replace_predictions(
    conn: psycopg.Connection,
    model_key: int,
    low: datetime,
    high: datetime,
    rows: pd.DataFrame,
    by: str = "issued_at",
) -> int:
    """The model's predictions whose `by` (issued_at or ts) is in [low, high), replaced by `rows`, all or
    nothing."""
    if by not in ("issued_at", "ts"):
        raise ValueError(by)
    frame = rows.reindex(columns=PREDICTION_COLUMNS)
    keys = [c for c in PREDICTION_COLUMNS if c.endswith("_key")]
    frame[keys] = frame[keys].astype("Int64")  # a key column with a gap arrives as floats
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            f"DELETE FROM gold.fact_prediction WHERE model_key = %s AND {by} >= %s AND {by} < %s",
            (model_key, low, high),
        )
        with cur.copy(f"COPY gold.fact_prediction ({', '.join(PREDICTION_COLUMNS)}) FROM STDIN") as copy:
            for record in frame.itertuples(index=False):
                copy.write_row([None if _missing(v) else v for v in record])
    return len(frame)


def replace_anomalies(
    conn: psycopg.Connection, model_version_key: int, first: date, last: date, found: pd.DataFrame
) -> None:
    """The anomalies of the local days first..last; a room found unusual gets `is_anomaly` in the environment
    fact."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("DELETE FROM gold.anomalies WHERE local_day BETWEEN %s AND %s", (first, last))
        with cur.copy("""COPY gold.anomalies (model_version_key, local_day, entity, kind, apartment_key,
                             room_key, device_key,
                         period_start, period_end, score, feature, reason) FROM STDIN""") as copy:
            for a in found.itertuples(index=False):
                copy.write_row(
                    [
                        model_version_key,
                        a.local_day,
                        a.entity,
                        a.kind,
                        int(a.apartment_key),
                        None if _missing(a.room_key) else int(a.room_key),
                        None if _missing(a.device_key) else int(a.device_key),
                        a.start,
                        a.end,
                        a.score,
                        a.feature,
                        a.reason,
                    ]
                )
        # is_anomaly: an outlier reading (dbt) or a room the anomaly model flagged (here, after dbt)
        cur.execute(
            """UPDATE gold.fact_environment_minute e SET is_anomaly = true
                       FROM gold.anomalies a
                       WHERE a.local_day BETWEEN %s AND %s AND a.kind = 'room' AND a.room_key = e.room_key
                         AND e.ts >= a.period_start AND e.ts < a.period_end AND e.is_anomaly IS DISTINCT
                             FROM true""",
            (first, last),
        )


def _missing(value) -> bool:
    return (
        value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and math.isnan(value))
    )


def anomalies_between(conn: psycopg.Connection, first: date, last: date) -> pd.DataFrame:
    """The anomalies found on the local days first..last: entity, start, end."""
    rows = conn.execute(
        "SELECT entity, period_start, period_end FROM gold.anomalies WHERE local_day BETWEEN %s AND %s",
        (first, last),
    ).fetchall()
    return pd.DataFrame(rows, columns=["entity", "start", "end"])


def predictions_count(conn: psycopg.Connection, model_key: int, low: datetime, high: datetime) -> int:
    """How many predictions of the model are for instants in [low, high)."""
    return conn.execute(
        "SELECT count(*) FROM gold.fact_prediction WHERE model_key = %s AND ts >= %s AND ts < %s",
        (model_key, low, high),
    ).fetchone()[0]
