"""The forecaster proves itself before it answers: on real public series it is no worse than its best plain
baseline on its own backtest, its 80 % interval holds about 80 % of the time there, and neither the scale nor
the step of a series changes what it does."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from domotic_assets.ml import backtest
from domotic_assets.ml.baselines import (
    BASELINE_NAMES,
    day_before_moved,
    seasonal_naive,
    weekly_naive_at_recent_level,
)
from domotic_assets.ml.energy_forecast import EnergyForecaster
from domotic_assets.ml.evaluation import day_ahead_origins, evaluate_forecaster
from domotic_assets.ml.public_series import taylor, victoria_2014


def test_on_a_real_demand_series_domotic_forecast_answers_with_what_did_best_on_its_own_backtest(tmp_path):
    """England and Wales demand (tens of thousands of MW, UTC stamps, the series' own zone), day-ahead."""
    series = taylor()
    history = tmp_path / "taylor.csv"
    pd.DataFrame(
        {"ts": series.values.index.strftime("%Y-%m-%dT%H:%M:%SZ"), "value": series.values.to_numpy()}
    ).to_csv(history, index=False)
    out, report_file = tmp_path / "forecast.csv", tmp_path / "report.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "domotic_assets.cli",
            "forecast",
            "--history",
            str(history),
            "--horizon",
            "48",
            "--timezone",
            series.timezone,
            "--out",
            str(out),
            "--report",
            str(report_file),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(report_file.read_text())
    errors = report["backtest_mae"]
    assert report["holidays"] == "GB" and report["backtest_origins"] == backtest.MAX_ORIGINS
    assert set(BASELINE_NAMES) | {"level", "departure", "linear"} <= set(errors)
    chosen = "blend" if len(report["weights"]) > 1 else next(iter(report["weights"]))
    assert errors[chosen] <= min(errors[name] for name in BASELINE_NAMES), errors
    assert 0.75 <= report["backtest_interval_coverage"] <= 0.85, report
    assert (
        f"forecaster: {report['method']}; backtest MAE" in done.stderr and "80 % interval held" in done.stderr
    )
    written = pd.read_csv(out)
    assert (
        len(written) == 48
        and (written["lower"] <= written["value"]).all()
        and (written["value"] <= written["upper"]).all()
    )
    assert (
        written["value"].min() > 15_000 and written["value"].max() < 45_000
    )  # the series' own scale, no clipping


def test_the_choice_and_the_interval_do_not_depend_on_the_series_scale():
    y = victoria_2014()[2].values.iloc[: 60 * 48]
    small, large = (EnergyForecaster("Australia/Melbourne", 48, "AU-VIC").fit(s) for s in (y, y * 10_000))
    assert small.choice.weights == large.choice.weights
    a, b = small.predict(y), large.predict(y * 10_000)
    for column in ("value", "lower", "upper"):
        np.testing.assert_allclose(b[column].to_numpy() / 10_000, a[column].to_numpy(), rtol=1e-3)


def test_a_series_that_repeats_every_week_is_forecast_by_the_weekly_naive():
    rng = np.random.default_rng(3)
    week = rng.gamma(2.0, 1.0, 7 * 24)  # a week of hours, no daily pattern, repeated exactly
    index = pd.date_range("2024-01-01", periods=6 * 7 * 24, freq="1h", tz="UTC")
    y = pd.Series(np.tile(week, 6), index=pd.DatetimeIndex(index, freq="1h"))
    forecaster = EnergyForecaster("UTC", 24, None).fit(y)
    assert forecaster.choice.mae["seasonal_naive_7d"] == 0 and forecaster.choice.weights == {
        "seasonal_naive_7d": 1.0
    }
    np.testing.assert_allclose(forecaster.predict(y)["value"], week[:24])


def test_the_day_before_moved_carries_a_new_level_over_with_the_weeks_shape():
    """A level that rose on the history's last day (a cold spell) and stays: the weekly naive misses it, the
    day before moved by the weeks' usual change from one day to the next has it, on both days of a 48-hour
    horizon."""
    rng = np.random.default_rng(5)
    week = rng.gamma(2.0, 1.0, 7 * 24)
    index = pd.date_range("2024-01-01", periods=5 * 7 * 24, freq="1h", tz="UTC")
    level = np.where(np.arange(len(index)) >= len(index) - 24, 5.0, 0.0)
    y = pd.Series(np.tile(week, 5) + level, index=pd.DatetimeIndex(index, freq="1h"))
    truth = np.tile(week, 2)[:48] + 5.0
    np.testing.assert_allclose(day_before_moved(y, 48), truth)
    assert np.abs(seasonal_naive(y, 48, 7) - truth).mean() == pytest.approx(5.0)
    assert np.isnan(day_before_moved(y.iloc[:24], 48)).all()  # no week before: nothing to say


def test_a_blend_is_used_only_where_it_beat_the_best_candidate():
    actual = np.array([[1.0, 2.0, 3.0, 4.0]] * 3)
    check = backtest.Backtest(
        [pd.Timestamp("2024-01-01")] * 3,
        actual,
        {"high": actual + 1, "low": actual - 1, "far": actual + 5},
        np.zeros_like(actual, dtype=int),
    )
    choice = backtest.choose(check)
    assert choice.chosen == "blend" and set(choice.weights) == {"high", "low", "far"}
    assert choice.mae["blend"] < choice.mae["high"] == choice.mae["low"] == 1
    exact = backtest.Backtest(
        check.origins, actual, {"exact": actual.copy(), "high": actual + 1}, check.blocks
    )
    assert backtest.choose(exact).weights == {"exact": 1.0}
    # a blend 1 % better than the best candidate is not worth its weights, fitted on the same backtest
    long = np.arange(300.0).reshape(3, 100)
    other = long + 1
    other[0, 0] = long[0, 0] - 1  # the two disagree at one point in 300: together they are 0.3 % better
    near = backtest.choose(
        backtest.Backtest(check.origins, long, {"a": long + 1, "b": other}, np.zeros((3, 100), dtype=int))
    )
    assert near.mae["blend"] < near.mae["a"] == near.mae["b"] == 1 and len(near.weights) == 1


def test_the_interval_is_the_conformal_quantiles_of_the_backtest_errors_and_says_how_often_it_held():
    residuals = np.tile(
        np.arange(-50, 50, dtype=float), (10, 1)
    )  # 1000 errors, -50..49, same at every origin
    check = backtest.Backtest(
        [pd.Timestamp("2024-01-01")] * 10, residuals, {}, np.zeros_like(residuals, dtype=int)
    )
    interval = backtest.calibrate(check, np.zeros_like(residuals), 0.8)
    # the 100th and 901st of the 1000 sorted errors: ranks floor(1001 * .1) and ceil(1001 * .9)
    assert interval.lower[0] == -41 and interval.upper[0] == 40
    assert interval.coverage == 0.82  # -41..40 of -50..49, at every origin left out in turn
    lower, upper = interval.bounds(np.array([100.0]), np.array([0]))
    assert lower[0] == 59 and upper[0] == 140


def test_the_baselines_repeat_the_last_season_and_follow_the_recent_level():
    index = pd.date_range("2024-01-01", periods=14 * 24, freq="1h", tz="UTC")
    y = pd.Series(np.r_[np.full(13 * 24, 10.0), np.full(24, 12.0)], index=pd.DatetimeIndex(index, freq="1h"))
    np.testing.assert_array_equal(seasonal_naive(y, 48, 1), np.full(48, 12.0))  # the last day, repeated
    np.testing.assert_array_equal(
        weekly_naive_at_recent_level(y, 24), np.full(24, 12.0)
    )  # 10 a week ago, +2 since


def test_the_day_ahead_evaluation_judges_the_forecaster_and_every_baseline_on_the_same_days():
    series = victoria_2014()[
        3
    ]  # stamped in standard time, UTC+10; Melbourne keeps summer time (UTC+11) in December
    starts = day_ahead_origins(series.values, series.timezone, 3)
    assert [s.tz_convert(series.timezone).strftime("%m-%d %H:%M") for s in starts] == [
        "12-29 00:00",
        "12-30 00:00",
        "12-31 00:00",
    ]
    scores = evaluate_forecaster(series.values, series.timezone, series.holidays, starts, 48)
    assert scores["points"] == 3 * 48 and sum(scores["chosen"].values()) == 3
    truth = np.concatenate([series.values[series.values.index >= s].iloc[:48].to_numpy() for s in starts])
    naive = np.concatenate([seasonal_naive(series.values[series.values.index < s], 48) for s in starts])
    assert scores["mae"]["seasonal_naive_7d"] == round(float(np.abs(truth - naive).mean()), 6)
    assert scores["improvement_vs_weekly_naive"] == round(
        1 - scores["mae"]["forecaster"] / scores["mae"]["seasonal_naive_7d"], 4
    )
    assert scores["mae"][scores["best_baseline"]] == min(
        v for k, v in scores["mae"].items() if k != "forecaster"
    )


def _weather_driven_load(weeks: int = 8) -> tuple[pd.Series, pd.DataFrame]:
    """A quarter-hour load that follows the temperature, and a temperature forecast per instant known (like
    the service's file) at 07:00 of the day before the instant's local day."""
    tz = "Europe/Zurich"
    index = pd.date_range("2024-01-01", periods=weeks * 7 * 96, freq="15min", tz=tz).tz_convert("UTC")
    rng = np.random.default_rng(3)
    hours = np.arange(len(index)) / 4
    temperature = 5 + 6 * np.sin(2 * np.pi * hours / 24) + np.repeat(rng.normal(0, 4, len(index) // 96), 96)
    load = pd.Series(2.0 + 0.15 * (18 - temperature) + rng.normal(0, 0.05, len(index)), index=index)
    local_day = index.tz_convert(tz).normalize()
    known_at = (local_day - pd.Timedelta(hours=17)).tz_convert("UTC")
    return load, pd.DataFrame({"air_temperature": temperature, "known_at": known_at}, index=index)


def test_weather_that_arrived_after_the_origin_never_reaches_a_forecast():
    """Predict: changing the temperature of the instants whose forecast arrived after the origin (the day
    after the origin's) changes nothing; changing it where it had arrived changes the forecast (the model
    reads it)."""
    load, weather = _weather_driven_load()
    origin = load.index[-2 * 96]
    history = load[load.index < origin]
    forecaster = EnergyForecaster("Europe/Zurich", 192).fit(history, weather)
    assert {"level", "departure", "linear"} & set(forecaster.choice.weights), forecaster.method
    late = weather["known_at"] > origin
    assert late.sum() == 96  # the second day ahead: its file arrives at 07:00 on the origin's day
    changed_late = weather.assign(air_temperature=weather["air_temperature"].where(~late, 40.0))
    changed_known = weather.assign(
        air_temperature=weather["air_temperature"].where(~((weather.index >= origin) & ~late), 40.0)
    )
    first = forecaster.predict(history, weather)["value"]
    pd.testing.assert_series_equal(first, forecaster.predict(history, changed_late)["value"])
    assert not np.allclose(first, forecaster.predict(history, changed_known)["value"])


def test_the_backtest_reads_at_each_origin_only_the_weather_that_had_arrived():
    """The history's last day is forecast in the backtest only from the midnight before it (48 hours ahead),
    when its weather file was not issued yet: changing that day's temperature changes no backtest forecast.
    Without the arrival times the same change shows, so the comparison can fail."""
    from domotic_assets.ml.learnt import features, weather_known_at

    load, weather = _weather_driven_load()
    last_day = weather.index >= load.index[-96]
    changed = weather.assign(air_temperature=weather["air_temperature"].where(~last_day, 40.0))

    def forecasts(frame, known=True):
        x = features(load, 192, "Europe/Zurich", frame)
        check = backtest.run(
            load,
            x,
            192,
            "Europe/Zurich",
            None,
            weather_known_at=weather_known_at(frame, load.index) if known else None,
        )
        return np.concatenate([check.forecasts[name].ravel() for name in ("level", "departure", "linear")])

    np.testing.assert_array_equal(forecasts(weather), forecasts(changed))
    assert not np.array_equal(forecasts(weather, known=False), forecasts(changed, known=False))
