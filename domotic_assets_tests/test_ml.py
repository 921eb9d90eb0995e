"""The ML models on series whose answer is known: forecasts that beat their baselines and never look
ahead, presence rows issued at an origin, anomalies with reasons, the scores, `domotic forecast`."""

import subprocess
import sys
from datetime import date

import numpy as np
import pandas as pd
import pytest

from domotic_assets.ml import anomalies, presence
from domotic_assets.ml.baselines import seasonal_naive
from domotic_assets.ml.energy_forecast import EnergyForecaster, read_history, regular
from domotic_assets.ml.evaluation import (
    EnergyEvaluation,
    evaluate_energy,
    evaluate_presence,
    f1,
    match_anomalies,
    origins,
)
from domotic_assets.ml.learnt import features
from domotic_assets.ml.prediction_rows import horizon_keys
from domotic_assets.ml.presence_models import issued_at_origin
from domotic_assets.simulator.anomalies import plan_day
from domotic_assets.simulator.apartments import apartments_for

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


def routine_hours(days=21) -> pd.DataFrame:
    """One bedroom occupied 22:00-07:00 every night, with the Gold-like signals that go with it."""
    ts = pd.date_range("2023-11-01", periods=days * 24, freq="h", tz=TZ).tz_convert("UTC")
    hour = ts.tz_convert(TZ).hour
    asleep = (hour >= 22) | (hour < 7)
    rng = np.random.default_rng(2)
    return pd.DataFrame(
        {
            "apartment_key": 1,
            "room_key": 4,
            "ts": ts,
            "presence_minutes": np.where(asleep, 60, 0).astype(float),
            "motion_count": np.where(asleep, rng.integers(0, 3, len(ts)), 0).astype(float),
            "co2_mean": np.where(asleep, 900.0, 500.0),
            "co2_rise": np.where(asleep, 80.0, 5.0),
            "light_mean": np.where(asleep, 0.0, 150.0),
            "door_open_minutes": 0.0,
        }
    )


def test_the_presence_brier_gain_gets_an_interval_over_the_origins():
    rows = presence.feature_rows(
        routine_hours(days=28).assign(
            presence_minutes=lambda f: np.where(
                np.random.default_rng(5).random(len(f)) < 0.1,
                60 - f["presence_minutes"],
                f["presence_minutes"],
            )
        ),
        {1: TZ},
    )
    scores = evaluate_presence(rows, None, origins(date(2023, 11, 28), 6))
    low, high = scores["brier_improvement_ci95"]
    assert low <= scores["brier_improvement"] <= high and low < high  # one night in ten breaks the routine
    assert scores["brier_improvement"] == pytest.approx(
        1 - scores["brier"] / scores["baseline_brier"], abs=0.01
    )


def test_presence_rows_issued_at_midnight_use_only_the_hours_before_it():
    hourly = routine_hours()
    rows = presence.feature_rows(hourly, {1: TZ})
    origin = pd.Timestamp("2023-11-15", tz=TZ).tz_convert("UTC")
    issued = issued_at_origin(rows, origin)
    assert len(issued) == 24 and (issued["lead_hours"] == np.arange(1, 25)).all()
    tampered = hourly.copy()
    tampered.loc[
        tampered["ts"] >= origin, ["presence_minutes", "motion_count", "co2_mean", "light_mean"]
    ] = -1.0
    again = issued_at_origin(presence.feature_rows(tampered, {1: TZ}), origin)
    features = [c for c in presence.FEATURES]
    pd.testing.assert_frame_equal(
        issued[features].reset_index(drop=True), again[features].reset_index(drop=True)
    )
    model = presence.PresenceModel().fit(rows[rows["ts"] < origin])
    predicted = model.probability(issued) >= 0.5
    assert f1(presence.label(issued["presence_minutes"]), predicted)["f1"] == 1.0


def entity_history(days=28, stop_on=None, off_one_evening=None, hob_days=()) -> pd.DataFrame:
    """Hourly features of a fridge (cycling all day), a TV (on every evening) and an apartment's unmetered
    load."""
    ts = pd.date_range("2023-11-01", periods=days * 24, freq="h", tz=TZ).tz_convert("UTC")
    hour, day = ts.tz_convert(TZ).hour, (ts - ts[0]).days
    rng = np.random.default_rng(3)
    fridge = pd.DataFrame(
        {
            "entity": "device:1",
            "kind": "device",
            "apartment_key": 1,
            "room_key": 3,
            "device_key": 1,
            "ts": ts,
            "mean_power_w": rng.normal(28, 3, len(ts)),
            "cycles": rng.integers(1, 3, len(ts)).astype(float),
            "name": "Fridge",
        }
    )
    if stop_on is not None:
        stopped = (day == stop_on) & (hour >= 9) & (hour < 15)
        fridge.loc[stopped, ["mean_power_w", "cycles"]] = [1.4, 0.0]
    tv_on = hour >= 19
    tv = pd.DataFrame(
        {
            "entity": "device:2",
            "kind": "device",
            "apartment_key": 1,
            "room_key": 1,
            "device_key": 2,
            "ts": ts,
            "mean_power_w": np.where(tv_on, 98.0, 0.7),
            "cycles": np.where(hour == 19, 1.0, 0.0),
            "name": "TV",
        }
    )
    if off_one_evening is not None:
        tv.loc[(day == off_one_evening) & (hour == 21), ["mean_power_w"]] = 0.7
    unmetered = 135 + rng.normal(0, 5, len(ts))
    for d in hob_days:  # the hob at dinner, at a varying hour
        unmetered[(day == d) & (hour == 18 + d % 3)] += 900
    apartment = pd.DataFrame(
        {
            "entity": "apartment:1",
            "kind": "apartment",
            "apartment_key": 1,
            "room_key": None,
            "device_key": None,
            "ts": ts,
            "unmetered_w": unmetered,
            "name": "main meter",
        }
    )
    return pd.concat([fridge, tv, apartment], ignore_index=True)


def found_on(hourly: pd.DataFrame, day: int) -> pd.DataFrame:
    start = hourly["ts"].min() + pd.Timedelta(days=day)
    history, today = (
        hourly[hourly["ts"] < start],
        hourly[(hourly["ts"] >= start) & (hourly["ts"] < start + pd.Timedelta(days=1))],
    )
    baseline = anomalies.Baseline({1: TZ}).fit(history)
    return anomalies.events(
        anomalies.hour_scores(baseline.score(today)), dict(zip(hourly["entity"], hourly["name"]))
    )


def test_a_fridge_that_stops_cycling_is_an_anomaly_with_its_reason_and_a_tv_left_off_one_evening_is_not():
    hourly = entity_history(days=29, stop_on=28, off_one_evening=28, hob_days=range(0, 29))
    found = found_on(hourly, 28)
    assert found["entity"].tolist() == ["device:1"], found[["entity", "reason"]]
    stop = found.iloc[0]
    assert stop["end"] - stop["start"] == pd.Timedelta(hours=6)
    assert "Fridge" in stop["reason"] and "usual range" in stop["reason"]
    assert found_on(entity_history(days=29, hob_days=range(0, 29)), 28).empty


def window_history(days: int, open_on: int, outdoor_c: float) -> pd.DataFrame:
    """A bedroom whose window is opened 10 minutes each morning, and left open one afternoon."""
    ts = pd.date_range("2023-11-01", periods=days * 24, freq="h", tz=TZ).tz_convert("UTC")
    hour, day = ts.tz_convert(TZ).hour, (ts - ts[0]).days
    minutes = np.where(hour == 7, 10.0, 0.0)
    minutes[(day == open_on) & (hour >= 13) & (hour < 18)] = 60.0
    return pd.DataFrame(
        {
            "entity": "room:4",
            "kind": "room",
            "apartment_key": 1,
            "room_key": 4,
            "device_key": None,
            "ts": ts,
            "window_open_minutes": minutes,
            "outdoor_c": outdoor_c,
            "name": "Bedroom windows",
        }
    )


def test_a_window_left_open_is_an_anomaly_in_the_cold_and_airing_in_the_summer():
    winter = found_on(window_history(15, open_on=14, outdoor_c=3.0), 14)
    assert winter["entity"].tolist() == ["room:4"] and winter.iloc[0]["end"] - winter.iloc[0][
        "start"
    ] == pd.Timedelta(hours=5)
    assert found_on(window_history(15, open_on=14, outdoor_c=24.0), 14).empty


def test_a_fridge_that_failed_on_a_few_past_days_is_still_watched():
    hourly = entity_history(days=29, stop_on=28)
    for past in (3, 11, 19):  # three earlier failures at the same hours: 10 % of the history
        hourly.loc[
            (hourly["entity"] == "device:1")
            & ((hourly["ts"] - hourly["ts"].min()).dt.days == past)
            & hourly["ts"].dt.tz_convert(TZ).dt.hour.between(9, 14),
            ["mean_power_w", "cycles"],
        ] = [1.4, 0.0]
    assert found_on(hourly, 28)["entity"].tolist() == ["device:1"]


def test_too_little_history_is_said_not_guessed():
    with pytest.raises(ValueError, match="too little history"):
        anomalies.Baseline({1: TZ}).fit(entity_history(days=3))


def test_anomaly_precision_and_recall_count_overlapping_events_of_the_same_entity():
    t = pd.Timestamp("2024-01-01", tz="UTC")
    h = pd.Timedelta(hours=1)
    found = pd.DataFrame(
        {
            "entity": ["device:1", "device:1", "room:4"],
            "start": [t, t + 10 * h, t],
            "end": [t + 2 * h, t + 11 * h, t + h],
        }
    )
    injected = pd.DataFrame(
        {"entity": ["device:1", "room:5"], "start": [t + h, t], "end": [t + 3 * h, t + h]}
    )
    assert match_anomalies(found, injected) == {
        "precision": 0.3333,
        "recall": 0.5,
        "found": 3,
        "injected": 2,
        "matched_injected": 1,
    }
    assert f1([1, 1, 0, 0], [1, 0, 1, 0]) == {"f1": 0.5, "precision": 0.5, "recall": 0.5, "positives": 2}


def test_the_simulator_plans_each_anomaly_deterministically_and_only_in_its_season():
    apartment = apartments_for(["jimmy"])[0]
    winter = plan_day(apartment, np.random.default_rng(7), 1440, heating_season=True, rate=1.0)
    assert sorted(e["kind"] for e in winter.events) == [
        "fridge_stopped",
        "night_power_draw",
        "window_left_open",
    ]
    again = plan_day(apartment, np.random.default_rng(7), 1440, heating_season=True, rate=1.0)
    assert winter.events == again.events
    summer = plan_day(apartment, np.random.default_rng(7), 1440, heating_season=False, rate=1.0)
    assert "window_left_open" not in {e["kind"] for e in summer.events}
    assert plan_day(apartment, np.random.default_rng(7), 1440, heating_season=True, rate=0.0).events == []
