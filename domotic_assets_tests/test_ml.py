"""The energy forecast on series whose answer is known: it beats its baselines and never looks ahead, its
scores and horizons, `domotic forecast`. Presence: test_presence_models.py; anomalies: test_anomalies.py."""

import subprocess
import sys
from datetime import date

import numpy as np
import pandas as pd
import pytest

from domotic_assets.ml.baselines import seasonal_naive
from domotic_assets.ml.energy_forecast import EnergyForecaster, read_history, regular
from domotic_assets.ml.evaluation import (
    EnergyEvaluation,
    evaluate_energy,
    origins,
)
from domotic_assets.ml.learnt import features
from domotic_assets.ml.prediction_rows import horizon_keys

TZ = "Europe/Zurich"


def household_series(days=35, seed=0) -> pd.Series:
    """Quarter-hour kWh: a morning and an evening peak on working days, a late one at weekends, noise."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2023-11-06", periods=days * 96, freq="15min", tz=TZ).tz_convert("UTC")
    local = index.tz_convert(TZ)
    hour = local.hour + local.minute / 60
    weekend = local.weekday >= 5
    peak = np.where(weekend, np.exp(-((hour - 11) ** 2) / 4), np.exp(-((hour - 7.5) ** 2) / 0.5))
    peak = peak + np.exp(-((hour - 19) ** 2) / 2)
    values = 0.04 + 0.12 * peak + rng.gamma(1.0, 0.02, len(index))
    return pd.Series(values, index=pd.DatetimeIndex(index, freq="15min"), name="value")


def test_the_energy_forecast_beats_the_seasonal_naive_baseline_on_days_it_never_saw():
    y = household_series()
    scores = evaluate_energy({(1, 0): y}, {}, origins(date(2023, 12, 5), 4), 192, {(1, 0): TZ}).metrics()
    assert scores["points"] == 4 * 192
    assert scores["improvement_vs_seasonal_naive"] > 0.15, scores
    assert 0.6 < scores["interval_coverage"] < 0.98, scores


def test_every_forecast_is_judged_on_the_same_points_and_a_baseline_without_any_drops_out():
    y = household_series(days=22)
    y.iloc[14 * 96 : 14 * 96 + 40] = np.nan  # a gap on day 14: seasonal naive has no value on day 21
    y.iloc[20 * 96 : 20 * 96 + 40] = np.nan  # and one on day 20, unknown truth
    scores = evaluate_energy({(1, 0): y}, {}, origins(date(2023, 11, 27), 2), 96, {(1, 0): TZ}).metrics()
    assert (
        scores["points"] == 2 * 96 - 2 * 40
    )  # days 20 and 21 without the unknown truth nor the points naive lacks
    # six days of history: no week-old values, so no seasonal-naive figure, but the model is still judged
    short = evaluate_energy({(1, 0): y.iloc[: 7 * 96]}, {}, origins(date(2023, 11, 12), 1), 96, {(1, 0): TZ})
    assert short.points == 96 and short.mae > 0 and short.typical_day_mae > 0
    assert np.isnan(short.seasonal_naive_mae) and len(short.origin_errors) == 0


def test_the_improvement_gets_an_interval_over_its_origins_that_widens_when_the_days_disagree():
    y = household_series(days=49)
    evaluation = evaluate_energy({(1, 0): y}, {}, origins(date(2023, 12, 22), 6), 192, {(1, 0): TZ})
    assert evaluation.origin_errors.shape == (6, 2)  # one row per origin: model, seasonal naive
    low, high = evaluation.metrics()["improvement_vs_seasonal_naive_ci95"]
    assert low <= evaluation.metrics()["improvement_vs_seasonal_naive"] <= high
    steady = EnergyEvaluation(1, 2, 2, 0.8, 6, np.array([[1.0, 2.0]] * 6))
    assert steady.improvement_interval() == (0.5, 0.5)
    split = EnergyEvaluation(1, 2, 2, 0.8, 6, np.array([[0.2, 2.0]] * 3 + [[2.0, 1.0]] * 3))
    low, high = split.improvement_interval()
    assert low < 0 < 0.5 < high  # half the days much better, half worse: the sign itself is uncertain
    assert EnergyEvaluation(1, 2, 2, 0.8, 4, np.array([[1.0, 2.0]] * 4)).improvement_interval() is None


def test_a_forecast_never_looks_past_its_origin():
    """Every input of every forecast instant, computed on the history cut at the origin, equals the same input
    computed on the whole series (the truth after the origin included): nothing after the origin is used."""
    y = household_series()
    origin = pd.Timestamp("2023-12-01", tz=TZ).tz_convert("UTC")
    history = y[y.index < origin]
    window = y.index[y.index >= origin][:192]
    known_at_origin = pd.concat([history, pd.Series(np.nan, index=window)])
    with_the_future = y[y.index <= window[-1]]
    assert with_the_future.loc[window].notna().all()
    pd.testing.assert_frame_equal(
        features(known_at_origin, 192, TZ).iloc[-192:].reset_index(drop=True),
        features(with_the_future, 192, TZ).iloc[-192:].reset_index(drop=True),
    )
    assert (
        features(with_the_future, 192, TZ)["kind_median_4w"].iloc[-192:].notna().all()
    )  # the typical day is among them
    # the comparison sees look-ahead: inputs made for a 23-hour horizon (a day's lag) reach past the origin
    # on the second day of a 48-hour window
    assert (
        not features(known_at_origin, 92, TZ)
        .iloc[-192:]
        .equals(features(with_the_future, 92, TZ).iloc[-192:])
    )
    model = EnergyForecaster(TZ, 192).fit(history)
    before = model.predict(history)
    assert len(before) == 192 and before["ts"].iloc[0] == origin
    assert (before["lower"] <= before["value"]).all() and (before["value"] <= before["upper"]).all()
    # the same model, given a history that goes on past the origin with nonsense, cannot be asked about it
    changed = pd.concat([history, pd.Series(9.9, index=y.index[(y.index >= origin)][:96])])
    later = model.predict(changed)
    assert later["ts"].iloc[0] == origin + pd.Timedelta(hours=24)


def test_a_device_that_is_off_most_of_the_time_is_still_forecast_on_when_it_usually_is():
    # 0 kWh all day, 0.024 kWh per quarter-hour on 9 evenings in 10 (a TV): the pinball loss's ties at 0
    index = pd.date_range("2023-11-01", periods=28 * 96, freq="15min", tz="UTC")
    rng = np.random.default_rng(1)
    evening = (index.tz_convert(TZ).hour >= 19) & (index.tz_convert(TZ).hour < 23)
    y = pd.Series(np.where(evening & (rng.random(len(index)) < 0.9), 0.024, 0.0), index=index)
    y.index.freq = "15min"
    predicted = EnergyForecaster(TZ, 96).fit(y).predict(y)
    local = predicted["ts"].dt.tz_convert(TZ).dt.hour
    assert predicted.loc[(local >= 19) & (local < 23), "value"].min() > 0.015
    assert predicted.loc[local < 17, "value"].max() < 0.005


def test_a_device_on_at_one_slot_on_most_evenings_is_forecast_nearer_on_than_off():
    # a dishwasher started at 21:00 on 3 evenings in 5 (its 1.5 hours of draws), standby otherwise, read to
    # the Wh: the boosted median alone forecasts 0.03 kWh at 21:00, drowned in the noisy gradient signs of
    # the standby readings; the slot's median over four weeks says "on"
    index = pd.date_range("2023-11-01", periods=35 * 96, freq="15min", tz=TZ).tz_convert("UTC")
    local = index.tz_convert(TZ)
    rng = np.random.default_rng(4)
    runs = rng.random(35) < 0.6
    slot = np.asarray(local.hour * 4 + local.minute // 15 - 84)  # 0: 21:00
    on = runs[(local.normalize() - local.normalize()[0]).days] & (slot >= 0) & (slot < 6)
    draws = np.array([0.4625, 0.141, 0.024, 0.024, 0.194, 0.27])
    standby = rng.normal(0, 0.0003, len(index)).clip(0) + 0.000125
    y = pd.Series(
        np.round(np.where(on, draws[slot.clip(0, 5)], 0) + standby, 3),
        index=pd.DatetimeIndex(index, freq="15min"),
    )
    predicted = EnergyForecaster(TZ, 96).fit(y).predict(y)
    at = predicted["ts"].dt.tz_convert(TZ)
    nine = (at.dt.hour == 21) & (at.dt.minute == 0)
    assert predicted.loc[nine, "value"].item() > 0.4625 / 2, predicted.loc[
        nine
    ]  # on the side of "on", where the absolute error is lower
    assert predicted.loc[at.dt.hour < 20, "value"].max() < 0.01
    assert (predicted["lower"] <= predicted["value"]).all() and (
        predicted["value"] <= predicted["upper"]
    ).all()


def test_seasonal_naive_is_the_same_time_a_week_earlier():
    y = household_series(days=14)
    assert np.allclose(seasonal_naive(y, 96), y.iloc[-7 * 96 : -6 * 96].to_numpy())


def test_a_series_read_from_a_csv_gets_its_own_regular_step_and_gaps(tmp_path):
    path = tmp_path / "meter.csv"
    path.write_text(
        "ts,value\n2024-03-30 22:00,1.0\n2024-03-30 23:00,2\n2024-03-31 01:00,x\n2024-03-31 03:00,3.5\n"
    )
    y = read_history(path, TZ)  # naive local times, one unreadable value, the spring-forward night
    assert (y.index[1] - y.index[0]) == pd.Timedelta(hours=1)
    # 21:00 and 22:00 UTC, 23:00 UTC never sent, 00:00 UTC unreadable, 03:00 summer time is 01:00 UTC
    assert y.index[0] == pd.Timestamp("2024-03-30 21:00", tz="UTC") and len(y) == 5
    assert y.isna().tolist() == [False, False, True, True, False]
    with pytest.raises(ValueError, match="at least three timestamps"):
        regular(pd.DataFrame({"ts": pd.to_datetime(["2024-01-01"], utc=True), "value": [1.0]}))


def test_domotic_forecast_writes_the_next_steps_with_an_interval(tmp_path):
    y = household_series(days=21).resample("1h").sum()
    history = tmp_path / "history.csv"
    pd.DataFrame({"ts": y.index.tz_convert(TZ).strftime("%Y-%m-%d %H:%M"), "value": y.to_numpy()}).to_csv(
        history, index=False
    )
    out = tmp_path / "forecast.csv"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "domotic_assets.cli",
            "forecast",
            "--history",
            str(history),
            "--horizon",
            "36",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    written = pd.read_csv(out)
    assert list(written.columns) == ["ts", "value", "lower", "upper"] and len(written) == 36
    assert (written["lower"] <= written["value"]).all() and (written["value"] <= written["upper"]).all()
    stamps = pd.to_datetime(written["ts"], utc=True)
    assert (
        stamps.iloc[0] == y.index[-1] + pd.Timedelta(hours=1)
        and (stamps.diff().dropna() == pd.Timedelta(hours=1)).all()
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("time,kwh\n2024-01-01 00:00,1\n")
    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "domotic_assets.cli",
            "forecast",
            "--history",
            str(bad),
            "--horizon",
            "4",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0 and "missing column(s) ts, value" in refused.stderr


def test_each_prediction_gets_the_smallest_horizon_that_covers_its_lead():
    assert horizon_keys([0, 1, 15, 16, 60, 61, 360, 1440, 1441, 2880]).tolist() == [
        0,
        1,
        1,
        2,
        2,
        3,
        3,
        4,
        5,
        5,
    ]
    with pytest.raises(ValueError):
        horizon_keys([2881])
