"""Honest evaluation: rolling origins over held-out days, each model beside its baselines in the same run.

At each origin (a local midnight) a model is trained only on what came before and judged on what
came after; the baselines see the same history. Metrics are plain dicts, ready for asset metadata
and for `gold.model_versions`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from domotic_assets.ml import presence
from domotic_assets.ml.baselines import baselines, seasonal_naive, typical_day
from domotic_assets.ml.energy_forecast import EnergyForecaster
from domotic_assets.settings import PLATFORM_TIMEZONE


def mae(actual, predicted) -> float:
    a, p = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    ok = ~(np.isnan(a) | np.isnan(p))
    return float(np.mean(np.abs(a[ok] - p[ok]))) if ok.any() else float("nan")


def f1(actual, predicted) -> dict:
    a, p = np.asarray(actual, dtype=bool), np.asarray(predicted, dtype=bool)
    tp, fp, fn = int((a & p).sum()), int((~a & p).sum()), int((a & ~p).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    score = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "f1": round(score, 4),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "positives": int(a.sum()),
    }


def improvement(model: float, baseline: float) -> float:
    """How much lower the model's error is than the baseline's, as a fraction (0.2: 20 % lower)."""
    return round(1 - model / baseline, 4) if baseline and baseline == baseline else float("nan")


def local_midnight(day, timezone: str = PLATFORM_TIMEZONE) -> pd.Timestamp:
    """The start of a local day (the platform's calendar by default), as a UTC instant."""
    return pd.Timestamp(pd.Timestamp(day).date()).tz_localize(timezone).tz_convert("UTC")


def origins(last_day, count: int) -> list[pd.Timestamp]:
    """The local midnights of the `count` days up to and including `last_day`, as UTC instants."""
    return [local_midnight(d) for d in pd.date_range(end=pd.Timestamp(last_day), periods=count, freq="D")]


def improvement_interval(
    origin_errors: np.ndarray | None, draws: int = 5000, seed: int = 0
) -> tuple[float, float] | None:
    """A 95 % bootstrap interval of the improvement over a baseline from each origin's summed errors
    (rows: origins; columns: model, baseline; absolute errors, or squared ones for a Brier score),
    resampling the origins (whole forecast days, not single points, whose errors move together); None
    below five origins."""
    e = origin_errors
    if e is None or len(e) < 5:
        return None
    sums = e[np.random.default_rng(seed).integers(0, len(e), (draws, len(e)))].sum(axis=1)
    low, high = np.percentile(1 - sums[:, 0] / sums[:, 1], [2.5, 97.5])
    return round(float(low), 4), round(float(high), 4)


@dataclass
class EnergyEvaluation:
    mae: float
    seasonal_naive_mae: float
    typical_day_mae: float
    interval_coverage: float
    points: int
    origin_errors: np.ndarray | None = None
    """Per origin: the summed absolute errors of the model and of seasonal naive (rows: origins)."""

    def improvement_interval(self) -> tuple[float, float] | None:
        return improvement_interval(self.origin_errors)

    def metrics(self) -> dict:
        out = {
            "mae_kwh": round(self.mae, 5),
            "seasonal_naive_mae_kwh": round(self.seasonal_naive_mae, 5),
            "typical_day_mae_kwh": round(self.typical_day_mae, 5),
            "improvement_vs_seasonal_naive": improvement(self.mae, self.seasonal_naive_mae),
            "improvement_vs_typical_day": improvement(self.mae, self.typical_day_mae),
            "interval_coverage": round(self.interval_coverage, 4),
            "points": self.points,
        }
        interval = self.improvement_interval()
        if interval:
            out["improvement_vs_seasonal_naive_ci95"] = list(interval)
        return out


def evaluate_energy(
    series: dict, weather: dict, starts: list[pd.Timestamp], horizon_steps: int, timezones: dict
) -> EnergyEvaluation:
    """Every series, at every origin: a forecaster trained on the history before the origin, the
    two baselines on the same history, all judged on the `horizon_steps` after it. `timezones`:
    each series' own zone, for its calendar."""
    actual, model, naive, typical, inside, at = [], [], [], [], [], []
    for key, y in series.items():
        for number, origin in enumerate(starts):
            history, truth = y[y.index < origin], y[y.index >= origin].iloc[:horizon_steps]
            if truth.notna().sum() == 0 or history.notna().sum() < 4 * 96:
                continue  # (a horizon running past the data is judged on the part that is there)
            forecaster = EnergyForecaster(timezones[key], horizon_steps)
            try:
                forecaster.fit(history, weather.get(key))
            except ValueError:
                continue
            predicted = forecaster.predict(history, weather.get(key)).iloc[: len(truth)]
            actual.append(truth.to_numpy(dtype=float))
            model.append(predicted["value"].to_numpy())
            inside.append(
                (truth.to_numpy() >= predicted["lower"].to_numpy())
                & (truth.to_numpy() <= predicted["upper"].to_numpy())
            )
            naive.append(seasonal_naive(history, horizon_steps)[: len(truth)])
            typical.append(typical_day(history, horizon_steps, timezones[key])[: len(truth)])
            at.append(np.full(len(truth), number))
    if not actual:
        raise ValueError("no series has enough history before the evaluation origins")
    a, m, n, t, where = (np.concatenate(v) for v in (actual, model, naive, typical, at))
    known = ~np.isnan(a)
    # every forecast is judged on the same points: those where the model and both baselines have a value
    # (seasonal naive has none a week after a gap); a baseline with no value at all (under a week of
    # history for seasonal naive) is left out, its error undefined, rather than leaving nothing to judge
    scored = known & ~np.isnan(m)
    for baseline in (n, t):
        if (scored & ~np.isnan(baseline)).any():
            scored &= ~np.isnan(baseline)
    paired = scored & ~np.isnan(n)
    origin_errors = np.array(
        [
            [np.abs(a - m)[paired & (where == i)].sum(), np.abs(a - n)[paired & (where == i)].sum()]
            for i in np.unique(where[paired])
        ]
    )
    return EnergyEvaluation(
        mae(a[scored], m[scored]),
        mae(a[scored], n[scored]),
        mae(a[scored], t[scored]),
        float(np.concatenate(inside)[known].mean()),
        int(scored.sum()),
        origin_errors,
    )


def day_ahead_origins(y: pd.Series, timezone: str, count: int) -> list[pd.Timestamp]:
    """The last `count` local midnights of `y` with a whole day of it after them."""
    midnights = pd.date_range(
        y.index[0].tz_convert(timezone).ceil("D"), y.index[-1].tz_convert(timezone).floor("D"), freq="D"
    )
    return [m.tz_convert("UTC") for m in midnights[:-1][-count:]]


def evaluate_forecaster(
    y: pd.Series,
    timezone: str,
    region: str | None,
    starts: list[pd.Timestamp],
    horizon_steps: int,
    weather: pd.DataFrame | None = None,
) -> dict:
    """The forecaster at every origin (fitted on the history before it, its own backtest included) beside
    every plain baseline on the same history, all judged on the `horizon_steps` after it: MAE of each,
    the gain over the weekly naive and over the best baseline with 95 % intervals over the origins, and
    how often the 80 % interval held. `weather`: its inputs, as they would have been known (a frame
    without `known_at` is read as known in advance)."""
    errors, inside, chosen = {}, [], []
    for origin in starts:
        history, truth = y[y.index < origin], y[y.index >= origin].iloc[:horizon_steps].to_numpy(dtype=float)
        forecaster = EnergyForecaster(timezone, horizon_steps, region).fit(history, weather)
        predicted = forecaster.predict(history, weather)
        candidates = {
            "forecaster": predicted["value"].to_numpy(),
            **baselines(history, horizon_steps, timezone, region),
        }
        for name, forecast in candidates.items():
            errors.setdefault(name, []).append(np.nansum(np.abs(truth - forecast[: len(truth)])))
        inside.append((truth >= predicted["lower"].to_numpy()) & (truth <= predicted["upper"].to_numpy()))
        chosen.append(forecaster.choice.chosen)
    sums = {name: np.array(e) for name, e in errors.items()}
    points = int(sum(len(i) for i in inside))
    mae_of = {name: float(e.sum() / points) for name, e in sums.items()}
    best = min((n for n in mae_of if n != "forecaster"), key=mae_of.get)
    out = {
        "origins": len(starts),
        "points": points,
        "mae": {n: round(v, 6) for n, v in mae_of.items()},
        "best_baseline": best,
        "interval_coverage": round(float(np.concatenate(inside).mean()), 4),
        "chosen": pd.Series(chosen).value_counts().to_dict(),
    }
    for label, baseline in (("weekly_naive", "seasonal_naive_7d"), ("best_baseline", best)):
        out[f"improvement_vs_{label}"] = improvement(mae_of["forecaster"], mae_of[baseline])
        out[f"improvement_vs_{label}_ci95"] = improvement_interval(
            np.column_stack([sums["forecaster"], sums[baseline]])
        )
    return out


def evaluate_presence(
    rows: pd.DataFrame, truth: pd.Series | None, starts: list[pd.Timestamp], select=None
) -> dict:
    """At every origin, a model trained on the room-hours before it, judged on the rows `select(rows,
    origin)` picks (default: the next 24 hours at every lead), against the ground truth (`truth`:
    occupied per row, e.g. from the simulator's manifest) or else against Gold's own presence rule;
    with the time-of-day frequency baseline."""
    predicted, baseline, actual, per_origin = [], [], [], []
    for origin in starts:
        train = rows[rows["ts"] < origin]  # labels known by the origin
        test = (
            select(rows, origin)
            if select
            else rows[(rows["ts"] >= origin) & (rows["ts"] < origin + pd.Timedelta(hours=24))]
        )
        if test.empty or train["presence_minutes"].notna().sum() < 200:
            continue
        model = presence.PresenceModel().fit(train)
        labels = (
            truth.loc[test.index]
            if truth is not None
            else pd.Series(presence.label(test["presence_minutes"]), index=test.index)
        )
        ok = labels.notna().to_numpy()
        predicted.append(model.probability(test)[ok])
        baseline.append(test["profile"].fillna(0).to_numpy()[ok])
        actual.append(labels.to_numpy()[ok].astype(bool))
        per_origin.append(
            [((predicted[-1] - actual[-1]) ** 2).sum(), ((baseline[-1] - actual[-1]) ** 2).sum()]
        )
    if not actual:
        raise ValueError("no origin has enough history before it")
    a, p, b = np.concatenate(actual), np.concatenate(predicted), np.concatenate(baseline)
    model_scores, base_scores = f1(a, p >= 0.5), f1(a, b >= 0.5)
    brier, baseline_brier = float(np.mean((p - a) ** 2)), float(np.mean((b - a) ** 2))
    # the Brier gain over the baseline, with its 95 % interval over the origins (whole days resampled)
    interval = improvement_interval(np.array(per_origin))
    return {
        **model_scores,
        "baseline_f1": base_scores["f1"],
        "brier": round(brier, 4),
        "baseline_brier": round(baseline_brier, 4),
        "brier_improvement": improvement(brier, baseline_brier),
        "brier_improvement_ci95": list(interval) if interval else None,
        "room_hours": int(len(a)),
        "against": "ground truth" if truth is not None else "Gold presence rule",
    }


def match_anomalies(found: pd.DataFrame, injected: pd.DataFrame) -> dict:
    """Precision and recall of found anomalies against injected ones (same apartment and entity, overlapping
    in time). `injected` has apartment_key, entity, start, end (the manifest mapped onto Gold's keys)."""
    hit_found = np.zeros(len(found), dtype=bool)
    hit_injected = np.zeros(len(injected), dtype=bool)
    for i, f in enumerate(found.itertuples(index=False)):
        for j, t in enumerate(injected.itertuples(index=False)):
            if f.entity == t.entity and f.start < t.end and t.start < f.end:
                hit_found[i] = hit_injected[j] = True
    precision = float(hit_found.mean()) if len(found) else (1.0 if not len(injected) else 0.0)
    recall = float(hit_injected.mean()) if len(injected) else 1.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "found": int(len(found)),
        "injected": int(len(injected)),
        "matched_injected": int(hit_injected.sum()),
    }
