"""A forecaster's self-check on the end of its own history, before it answers.

The history's last weeks are forecast again from rolling origins (whole days back from its end, at the
time of day of the real origin, each with the requested horizon and only what came before it): by
the learnt models and by every plain baseline. The forecast then uses whatever did best there, or a
blend of the best three weighted by their inverse error when that did better still, so on the user's
own series it is no worse than its best simple baseline was. The errors of that choice at those
origins give the 80 % interval (split conformal, per three hours of the local day), and the same
errors, each origin left out in turn, say how often such an interval held.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from domotic_assets.ml.baselines import candidates, steps_per_day
from domotic_assets.ml.learnt import TARGETS, LearntModel, without_late_weather

MAX_ORIGINS = 14
MIN_HISTORY_DAYS = 8
"""Days before a backtest origin: a week-old value and the week-before-last day for the level shift."""
BLEND_SIZE = 3
BLEND_MARGIN = 0.02
"""A blend is used only when it beats the best single candidate by this share: its weights come from the
same backtest that judges it, so part of its edge there is fit, not skill (on England and Wales demand a
blend chosen by a hair cost 1.1 % against using the best baseline throughout)."""
MAX_MISSING = 0.2
"""A candidate with no value at more than this share of the backtest's points does not compete."""
BLOCK_HOURS = 3
MIN_BLOCK_RESIDUALS = 30


@dataclass
class Backtest:
    """Each candidate's forecasts at the backtest origins (rows: origins, columns: lead steps)."""

    origins: list[pd.Timestamp]
    actual: np.ndarray
    forecasts: dict[str, np.ndarray]
    blocks: np.ndarray
    """The local three-hour block of the day of every forecast instant (same shape as `actual`)."""


def origin_rows(
    length: int, horizon_steps: int, step: pd.Timedelta, max_origins: int = MAX_ORIGINS
) -> list[int]:
    """Positions of the backtest origins in a history of `length` points: whole days back from its end,
    newest first, each with a whole horizon of known truth after it and half the history before it."""
    per_day = steps_per_day(step)
    first = math.ceil(horizon_steps / per_day)
    earliest = max(MIN_HISTORY_DAYS * per_day, length // 2)
    return [
        length - (first + j) * per_day
        for j in range(max_origins)
        if length - (first + j) * per_day >= earliest
    ]


def run(
    y: pd.Series,
    x: pd.DataFrame,
    horizon_steps: int,
    timezone: str,
    region: str | None,
    max_origins: int = MAX_ORIGINS,
    weather_known_at: np.ndarray | None = None,
) -> Backtest:
    """Forecast the end of `y` again from its backtest origins (`x`: the models' inputs for every instant
    of `y`; none is nearer than the horizon, so one fit before the earliest origin serves them all).
    A weather forecast that arrived after an origin (`weather_known_at`, per instant of `y`) is not read
    from it: at a midnight origin, the next day's weather is mostly not issued yet."""
    step = y.index[1] - y.index[0]
    starts = origin_rows(len(y), horizon_steps, step, max_origins)
    values = y.to_numpy(dtype=float)
    leads = np.arange(horizon_steps)
    if not starts:
        return Backtest([], np.empty((0, horizon_steps)), {}, np.empty((0, horizon_steps), dtype=int))
    at = np.array(starts)[:, None] + leads[None, :]  # rows of y forecast from each origin
    forecasts: dict[str, list[np.ndarray]] = {}
    for start in starts:
        for name, forecast in candidates(y.iloc[:start], horizon_steps, timezone, region).items():
            forecasts.setdefault(name, []).append(forecast)
    out = {name: np.vstack(rows) for name, rows in forecasts.items()}
    before = np.arange(len(y)) < min(starts)
    for target in TARGETS:
        try:
            model = LearntModel(target).fit(values, x, before)
        except ValueError:
            continue  # too little history before the earliest origin: the model cannot prove itself
        inputs = x.iloc[at.ravel()].reset_index(drop=True)
        origin_ns = np.repeat(y.index[starts].asi8, horizon_steps)
        inputs = without_late_weather(
            inputs, None if weather_known_at is None else weather_known_at[at.ravel()], origin_ns
        )
        out[target] = model.predict(inputs).reshape(at.shape)
    local_hours = y.index.tz_convert(timezone).hour.to_numpy()
    return Backtest([y.index[s] for s in starts], values[at], out, local_hours[at] // BLOCK_HOURS)


@dataclass
class Choice:
    """What the forecast uses (candidate -> weight) and what every candidate scored on the backtest."""

    weights: dict[str, float]
    mae: dict[str, float] = field(default_factory=dict)
    points: int = 0
    origins: int = 0

    @property
    def chosen(self) -> str:
        """The candidate's name, or `blend`."""
        return next(iter(self.weights)) if len(self.weights) == 1 else "blend"

    @property
    def method(self) -> str:
        if self.chosen != "blend":
            return self.chosen
        return "blend of " + ", ".join(f"{name} {weight:.2f}" for name, weight in self.weights.items())


def blend(forecasts: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """The weighted mean of the candidates, each point over the candidates that have a value there."""
    stack = np.stack([forecasts[name] for name in weights])
    w = np.array(list(weights.values())).reshape((-1,) + (1,) * (stack.ndim - 1)) * ~np.isnan(stack)
    total = w.sum(axis=0)
    with np.errstate(invalid="ignore"):
        return np.where(
            total > 0, (np.nan_to_num(stack) * w).sum(axis=0) / np.where(total > 0, total, 1), np.nan
        )


def choose(check: Backtest, fallback: str = "typical_day") -> Choice:
    """The candidate with the lowest backtest MAE on the points where every competing candidate has a
    value, or the inverse-error blend of the best three where that is lower by BLEND_MARGIN."""
    known = ~np.isnan(check.actual)
    competing = {
        name: f
        for name, f in check.forecasts.items()
        if known.any() and np.isnan(f[known]).mean() <= MAX_MISSING
    }
    if not competing:
        return Choice({fallback: 1.0})
    scored = known & np.logical_and.reduce([~np.isnan(f) for f in competing.values()])
    mae = {name: float(np.abs(check.actual - f)[scored].mean()) for name, f in competing.items()}
    best = sorted(mae, key=mae.get)[:BLEND_SIZE]
    weights = {name: 1 / max(mae[name], 1e-12) for name in best}
    weights = {name: round(w / sum(weights.values()), 4) for name, w in weights.items()}
    mae["blend"] = float(np.abs(check.actual - blend(competing, weights))[scored].mean())
    chosen = weights if mae["blend"] < (1 - BLEND_MARGIN) * mae[best[0]] else {best[0]: 1.0}
    return Choice(
        chosen, {name: round(v, 6) for name, v in mae.items()}, int(scored.sum()), len(check.origins)
    )


@dataclass
class Interval:
    """Offsets from the forecast to the interval's bounds, per local block of the day, from backtest
    errors."""

    lower: dict[int, float]
    upper: dict[int, float]
    coverage: float | None
    """How often the interval held at each backtest origin when calibrated on the others (None: too few)."""

    def offsets(self, blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each instant's offsets: its block's, or the pooled ones (-1) where its block had too few errors."""
        return (
            np.array([self.lower.get(b, self.lower[-1]) for b in blocks]),
            np.array([self.upper.get(b, self.upper[-1]) for b in blocks]),
        )

    def bounds(self, value: np.ndarray, blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        low, high = self.offsets(blocks)
        return np.minimum(value + low, value), np.maximum(value + high, value)


def _offsets(
    residuals: np.ndarray, blocks: np.ndarray, coverage: float
) -> tuple[dict[int, float], dict[int, float]]:
    lower, upper = {}, {}
    for block in [-1, *np.unique(blocks)]:
        r = np.sort(residuals if block == -1 else residuals[blocks == block])
        if len(r) < (1 if block == -1 else MIN_BLOCK_RESIDUALS):
            continue
        n, tail = len(r), (1 - coverage) / 2
        # split-conformal ranks: the interval holds at least `coverage` of new errors like these
        lower[int(block)] = float(r[max(math.floor((n + 1) * tail) - 1, 0)])
        upper[int(block)] = float(r[min(math.ceil((n + 1) * (1 - tail)) - 1, n - 1)])
    return lower, upper


def calibrate(check: Backtest, forecast: np.ndarray, coverage: float) -> Interval | None:
    """The interval from the errors of `forecast` (the chosen candidate at the backtest origins)."""
    residuals = check.actual - forecast
    ok = ~np.isnan(residuals)
    if not ok.any():
        return None
    lower, upper = _offsets(residuals[ok], check.blocks[ok], coverage)
    held = []
    for k in range(len(check.origins)) if len(check.origins) >= 3 else []:
        rest, this = ok.copy(), np.zeros_like(ok)
        rest[k], this[k] = False, ok[k]
        if rest.any() and this.any():
            lo, hi = Interval(*_offsets(residuals[rest], check.blocks[rest], coverage), None).offsets(
                check.blocks[this]
            )
            held.append((residuals[this] >= lo) & (residuals[this] <= hi))
    return Interval(lower, upper, round(float(np.concatenate(held).mean()), 4) if held else None)


def day_to_day_interval(values: np.ndarray, step: pd.Timedelta, coverage: float) -> Interval:
    """With no backtest (under MIN_HISTORY_DAYS of history): the spread of the history's day-to-day
    changes."""
    per_day = steps_per_day(step)
    change = values[per_day:] - values[:-per_day] if len(values) > per_day else values - np.nanmean(values)
    change = change[~np.isnan(change)]
    lower, upper = _offsets(change, np.zeros(len(change), dtype=int), coverage) if len(change) else ({}, {})
    return Interval(lower or {-1: 0.0}, upper or {-1: 0.0}, None)
