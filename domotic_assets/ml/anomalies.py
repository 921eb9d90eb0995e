"""Anomalies: devices and rooms behaving unlike their own history at the same hour of the day.

Each entity has hourly features: a plug-metered device its mean power and its on-cycles, an apartment the
power its main meter sees that no plug explains, a room the minutes its windows stood open (while it is cold
outside). The baseline of an entity is the range, median and spread (MAD) of each feature at each local hour
over its history; an hour's score is the robust z-score in the direction that matters (a device that usually
runs at this hour and stops; more unexplained load; a window open for longer), measured beyond the entity's
usual range at that hour (`USUAL_LOW`, `USUAL_HIGH`) in units of its spread, with a floor on the spread so a
very regular history does not turn noise into alarms. Flagged hours of one entity that follow each other form
one anomaly, with its score and a reason in words.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from domotic_assets.settings import PLATFORM_TIMEZONE

THRESHOLD = 4.0
MIN_HISTORY_DAYS = 5
RULES = {
    # feature: (direction, spread floor, share of the usual value added to the floor, words)
    "cycles": (-1, 0.2, 0.0, "on-cycles in the hour"),
    "mean_power_w": (-1, 3.0, 0.05, "mean power (W)"),
    "unmetered_w": (+1, 150.0, 0.25, "power on no plug (W)"),
    "window_open_minutes": (+1, 6.0, 0.0, "minutes a window stood open"),
}
ENTITY_FEATURES = {
    "device": ("cycles", "mean_power_w"),
    "apartment": ("unmetered_w",),
    "room": ("window_open_minutes",),
}
MIN_HOURS = {"device": 2, "apartment": 1, "room": 1}
"""Hours in a row before an entity is called anomalous (a TV left off one evening is not a fault)."""
RUNNING_W, ACTIVE_SHARE, ALWAYS_ON_HOURS = 5.0, 0.75, 0.8
"""A device is watched for stopping only if it runs around the clock (above RUNNING_W on ACTIVE_SHARE of its
past days in ALWAYS_ON_HOURS of the hours, a fridge), and only at hours where it usually ran: a
dishwasher or a TV that is not used one evening is not a fault."""
COLD_BELOW_C = 12.0
"""A window open for long is only an anomaly while it is cold outside (heat goes out; in summer it is
airing)."""
USUAL_LOW, USUAL_HIGH = 0.25, 0.9
"""The edges of an hour's usual range. Low at the quartile: a device that failed on a few past days
(up to a quarter of them) must not make failing look usual; high at the 90th percentile: an
appliance used at varying times (a hob at dinner) makes high values common at some hours."""


@dataclass
class Baseline:
    """Per entity, feature and local hour: the usual range (USUAL_LOW, USUAL_HIGH), the median and
    spread (MAD), and for devices how often they were running."""

    timezones: dict[int, str]
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    first_day: object = None
    last_day: object = None

    def fit(self, hourly: pd.DataFrame) -> Baseline:
        frame = _with_hour(hourly, self.timezones)
        days = frame["local_day"].nunique()
        if days < MIN_HISTORY_DAYS:
            raise ValueError(f"too little history for baselines: {days} days, {MIN_HISTORY_DAYS} needed")
        running = (
            frame.assign(running=frame.get("mean_power_w", pd.Series(np.nan, index=frame.index)) > RUNNING_W)
            .groupby(["entity", "hour"])["running"]
            .mean()
            .rename("active")
        )
        always_on = (running >= ACTIVE_SHARE).groupby(level="entity").mean().rename(
            "always_on"
        ) >= ALWAYS_ON_HOURS
        running = running.to_frame().join(always_on, on="entity")
        rows = []
        for feature in RULES:
            if feature not in frame:
                continue
            grouped = frame.dropna(subset=[feature]).groupby(["entity", "hour"])[feature]
            stats = grouped.agg(
                median="median", low=lambda v: v.quantile(USUAL_LOW), high=lambda v: v.quantile(USUAL_HIGH)
            )
            stats["mad"] = grouped.agg(lambda v: float(np.median(np.abs(v - np.median(v)))))
            stats["feature"] = feature
            rows.append(stats.join(running).reset_index())
        self.table = pd.concat(rows, ignore_index=True)
        self.first_day, self.last_day = frame["local_day"].min(), frame["local_day"].max()
        return self

    def score(self, hourly: pd.DataFrame) -> pd.DataFrame:
        """One row per entity, hour and feature watched: value, usual range, z-score beyond it in the bad
        direction."""
        frame = _with_hour(hourly, self.timezones)
        if "outdoor_c" not in frame:
            frame["outdoor_c"] = np.nan
        long = frame.melt(
            id_vars=["entity", "kind", "apartment_key", "room_key", "device_key", "ts", "hour", "outdoor_c"],
            value_vars=[f for f in RULES if f in frame],
            var_name="feature",
            value_name="value",
        ).dropna(subset=["value"])
        scored = long.merge(self.table, on=["entity", "hour", "feature"], how="inner")
        scored = scored[[f in ENTITY_FEATURES[k] for f, k in zip(scored["feature"], scored["kind"])]]
        rule = scored["feature"].map(RULES)
        direction = rule.map(lambda r: r[0])
        spread = np.maximum(
            1.4826 * scored["mad"],
            rule.map(lambda r: r[1]) + rule.map(lambda r: r[2]) * scored["median"].abs(),
        )
        scored["usual"] = np.where(direction > 0, scored["high"], scored["low"])
        scored["z"] = direction * (scored["value"] - scored["usual"]) / spread
        device = (scored["kind"] != "device") | (
            (scored["active"] >= ACTIVE_SHARE) & scored["always_on"].astype(bool)
        )
        cold = (scored["kind"] != "room") | ~(scored["outdoor_c"] >= COLD_BELOW_C)  # unknown weather: watched
        watched = device & cold
        return scored[watched].reset_index(drop=True)


def _with_hour(hourly: pd.DataFrame, timezones: dict[int, str]) -> pd.DataFrame:
    """The local hour and day of each row, in its apartment's own zone."""
    frame = hourly.copy()
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    frame["hour"], frame["local_day"] = 0, None
    for apartment, index in frame.groupby("apartment_key").groups.items():
        local = frame.loc[index, "ts"].dt.tz_convert(timezones.get(apartment, PLATFORM_TIMEZONE))
        frame.loc[index, "hour"], frame.loc[index, "local_day"] = local.dt.hour, local.dt.date
    return frame


def hour_scores(scored: pd.DataFrame) -> pd.DataFrame:
    """The anomaly score of each entity-hour: its worst feature (0 when nothing is unusual)."""
    worst = scored.sort_values("z", ascending=False).drop_duplicates(["entity", "ts"])
    worst = worst.assign(score=worst["z"].clip(lower=0))
    return worst.sort_values(["entity", "ts"]).reset_index(drop=True)


def events(
    scores: pd.DataFrame, names: dict[str, str] | None = None, threshold: float = THRESHOLD
) -> pd.DataFrame:
    """Consecutive flagged hours of one entity as one anomaly: start, end, score, reason."""
    names = names or {}
    flagged = scores[scores["score"] >= threshold].sort_values(["entity", "ts"])
    out = []
    for entity, hours in flagged.groupby("entity"):
        run = (hours["ts"].diff() != pd.Timedelta(hours=1)).cumsum()
        for _, block in hours.groupby(run):
            top = block.loc[block["score"].idxmax()]
            if len(block) < MIN_HOURS[top["kind"]]:
                continue
            words = RULES[top["feature"]][3]
            out.append(
                {
                    "entity": entity,
                    "kind": top["kind"],
                    "apartment_key": top["apartment_key"],
                    "room_key": top["room_key"],
                    "device_key": top["device_key"],
                    "start": block["ts"].min(),
                    "end": block["ts"].max() + pd.Timedelta(hours=1),
                    "score": float(block["score"].max()),
                    "feature": top["feature"],
                    "reason": f"{names.get(entity, entity)}: {words} {top['value']:.1f} at {len(block)} "
                    f"hour(s) from {block['ts'].min():%Y-%m-%d %H:%M} UTC; its usual range at this hour "
                    f"reaches {'up to' if RULES[top['feature']][0] > 0 else 'down to'} "
                    f"{top['usual']:.1f} (median {top['median']:.1f})",
                }
            )
    columns = [
        "entity",
        "kind",
        "apartment_key",
        "room_key",
        "device_key",
        "start",
        "end",
        "score",
        "feature",
        "reason",
    ]
    return pd.DataFrame(out, columns=columns)
