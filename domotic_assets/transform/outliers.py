"""Outlier rules for sensor readings: physical bounds, and spikes against neighbouring minutes.

Outliers are flagged (`is_outlier`, `outlier_reason`), never removed. Gold and the models ignore
flagged readings.

Physical bounds, inclusive (a reading outside is `out_of_bounds`): the table of `contracts.bounds`.

Readings that arrive over MQTT get the bounds rule as they are stored; the spike rules need a
day's neighbours and apply to the readings of files.

Spikes (`spike`):
* slowly varying measures (temperature, humidity, co2, pressure, noise): a Hampel filter over
  the 15 neighbouring minutes of the same sensor: flagged when the distance to the window median
  exceeds both 3 scaled MADs and a floor per measure (so a flat signal's tiny MAD flags nothing);
* power: an isolated one-minute excursion, more than 3 times and 200 W above both neighbours
  (appliances switch on for minutes, not for one reading);
* cumulative counters (`total`): one reading that sticks out above (or dips below) neighbours that
  agree with each other; a counter that drops and stays down is a reset, not a spike; and a reading
  that rose faster than the sensor's power bound allows (x 1.5) since the previous good reading,
  which also catches a spike at the day's last minute, where no next reading exists yet. The day's
  first reading is judged against the previous day's last plausible one, when it is known.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from domotic_assets.contracts.bounds import BOUNDS, UNBOUNDED, bounds_for

HAMPEL_FLOOR = {"temperature": 3.0, "humidity": 10.0, "co2": 250.0, "pressure": 4.0, "noise": 25.0}
HAMPEL_WINDOW = 15
COUNTER_RATE_MARGIN = 1.5
MAD_SCALE = 1.4826
SERIES = ["apartment", "sensor"]
"""A series is one apartment's sensor (the same id reported by two apartments is two series)."""


def bounds_reason(frame: pd.DataFrame) -> np.ndarray:
    """'out_of_bounds' where a value breaks its measure's physical bounds, else None."""
    low = frame["measure"].map(lambda m: BOUNDS.get(m, UNBOUNDED)[0]).to_numpy(float)
    high = frame["measure"].map(lambda m: BOUNDS.get(m, UNBOUNDED)[1]).to_numpy(float)
    power = (frame["measure"] == "power").to_numpy()
    if power.any():
        cats = frame["category"].to_numpy()[power]
        low[power] = [bounds_for(c, "power")[0] for c in cats]
        high[power] = [bounds_for(c, "power")[1] for c in cats]
    values = frame["value"].to_numpy(float)
    out = (values < low) | (values > high)
    return np.where(out, "out_of_bounds", np.array(None, dtype=object))


def spike_mask(
    frame: pd.DataFrame, previous_totals: dict[tuple[str, str], float] | None = None
) -> np.ndarray:
    """True for spikes; `frame` must be sorted by sensor, measure, ts (index 0..n-1). `previous_totals`:
    the last plausible counter reading per (apartment, sensor) before the frame's first."""
    mask = np.zeros(len(frame), dtype=bool)
    for measure, floor in HAMPEL_FLOOR.items():
        part = frame[frame["measure"] == measure]
        if part.empty:
            continue
        at, values = _series_positions(part), part["value"].to_numpy(float)
        deviation = np.abs(values - _rolling_median(values, at))
        mad = _rolling_median(deviation, at)
        with np.errstate(invalid="ignore"):  # NaN where a series is too short: not a spike
            mask[part.index.to_numpy()] = deviation > np.maximum(3 * MAD_SCALE * mad, floor)
    power = frame[frame["measure"] == "power"]
    if not power.empty:
        by_sensor = power.groupby(SERIES, sort=False, observed=True)["value"]
        before, after = by_sensor.shift(1), by_sensor.shift(-1)
        value = power["value"]
        spike = (value > 3 * before + 200) & (value > 3 * after + 200)
        mask[power.index.to_numpy()] |= spike.fillna(False).to_numpy()
    counters = frame[frame["measure"] == "total"]
    if not counters.empty:
        by_sensor = counters.groupby(SERIES, sort=False, observed=True)["value"]
        before, after = by_sensor.shift(1), by_sensor.shift(-1)
        first = before.isna()
        if previous_totals and first.any():
            keys = zip(counters.loc[first, "apartment"].astype(str), counters.loc[first, "sensor"])
            before.loc[first] = [previous_totals.get(k, np.nan) for k in keys]
        value, tolerance = counters["value"], 0.001
        neighbours_agree = after >= before - tolerance
        sticks_out = ((value > after + tolerance) | (value < before - tolerance)) & neighbours_agree
        mask[counters.index.to_numpy()] |= sticks_out.fillna(False).to_numpy()
        mask[_too_fast(counters[~sticks_out.fillna(False)], tolerance)] = True
    return mask


def _series_positions(part: pd.DataFrame) -> np.ndarray:
    """Where each row goes in a copy of the rows with half a window of gaps before each series (a run of
    one apartment's sensor, the frame being sorted by them)."""
    first = np.zeros(len(part), dtype=bool)
    first[0] = True
    for column in SERIES:
        codes = pd.factorize(part[column])[0]
        first[1:] |= codes[1:] != codes[:-1]
    return np.arange(len(part)) + (HAMPEL_WINDOW // 2) * np.cumsum(first)


def _rolling_median(values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The centred median of HAMPEL_WINDOW readings of the same series (of at least 5): one rolling pass over
    every series at once, the gaps between them NaN, which the median skips, so no window reaches another
    series (as many times faster than a pass per series as there are series)."""
    spread = np.full(at[-1] + 1, np.nan)
    spread[at] = values
    return pd.Series(spread).rolling(HAMPEL_WINDOW, center=True, min_periods=5).median().to_numpy()[at]


def _too_fast(counters: pd.DataFrame, tolerance: float) -> np.ndarray:
    """Counter readings that rose faster than the sensor could draw (its power bound, with a margin),
    judged against the previous reading that does not stick out. This catches a spike with no next
    reading to compare with (the day's last minute)."""
    by_sensor = counters.groupby(SERIES, sort=False, observed=True)
    rise = counters["value"] - by_sensor["value"].shift(1)
    hours = (counters["ts_ns"] - by_sensor["ts_ns"].shift(1)) / 3.6e12
    max_kw = counters["category"].map(lambda c: bounds_for(c, "power")[1] / 1000).astype(float)
    too_fast = rise > max_kw * hours * COUNTER_RATE_MARGIN + tolerance
    return counters.index.to_numpy()[too_fast.fillna(False).to_numpy()]


def flag_outliers(
    frame: pd.DataFrame, previous_totals: dict[tuple[str, str], float] | None = None
) -> pd.DataFrame:
    """Add `is_outlier` and `outlier_reason` (bounds take precedence over spikes)."""
    reason = bounds_reason(frame)
    # spikes are judged among the plausible readings only, so an impossible value does not mask one
    plausible = frame[reason == None].reset_index()  # noqa: E711 (element-wise)
    spikes = np.zeros(len(frame), dtype=bool)
    if len(plausible):
        local = spike_mask(plausible.drop(columns="index"), previous_totals)
        spikes[plausible["index"].to_numpy()[local]] = True
    reason = np.where(spikes & (reason == None), "spike", reason)  # noqa: E711
    frame["outlier_reason"] = reason
    frame["is_outlier"] = reason != None  # noqa: E711
    return frame
