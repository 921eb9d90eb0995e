"""Behaviour unlike an apartment's own history, injected as ground truth for the anomaly models.

Unlike the feed faults (`faults`), these are real events in the home, so they change the physics
the signals follow: a stopped fridge draws standby power only, a window left open cools the room
and clears its CO2, an unmetered heater shows on the main meter only. Each apartment-day draws
from its own random stream, so injecting anomalies leaves every other signal as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from domotic_assets.simulator.apartments import Apartment

RATES = {"none": 0.0, "default": 0.05, "heavy": 0.15}
"""Probability per apartment-day of each kind, by fault profile (`--anomalies` overrides it)."""


@dataclass
class DayAnomalies:
    """Minute masks (index = minute since local midnight) of what happens in one apartment-day."""

    fridge_off: np.ndarray | None = None
    window_open: dict[str, np.ndarray] = field(default_factory=dict)  # window sensor id -> mask
    night_draw_w: np.ndarray | None = None
    events: list[dict] = field(default_factory=list)  # kind, sensor, room, first and last minute, detail


def plan_day(
    apartment: Apartment, rng: np.random.Generator, n: int, heating_season: bool, rate: float
) -> DayAnomalies:
    """Which anomalies happen today, where and when. A window is only left open in the heating season."""
    plan = DayAnomalies()
    if rate <= 0:
        return plan
    draws = rng.random(3)
    if draws[0] < rate:
        fridge = next(
            (
                s
                for s in apartment.sensors
                if s.category == "plugs"
                and next(d for d in apartment.devices if d.name == s.device).kind == "fridge"
            ),
            None,
        )
        if fridge is not None:
            start, length = int(rng.integers(0, n - 600)), int(rng.integers(300, 600))
            plan.fridge_off = _mask(n, start, length)
            plan.events.append(
                {
                    "kind": "fridge_stopped",
                    "sensor": fridge.external_id,
                    "room": fridge.room,
                    "first": start,
                    "last": start + length - 1,
                    "detail": "compressor stopped",
                }
            )
    if draws[1] < rate and heating_season:
        windows = [s for s in apartment.sensors if s.category == "doors" and s.kind == "window"]
        window = windows[int(rng.integers(len(windows)))]
        start, length = int(rng.integers(9 * 60, n - 480)), int(rng.integers(240, 480))
        plan.window_open[window.external_id] = _mask(n, start, length)
        plan.events.append(
            {
                "kind": "window_left_open",
                "sensor": window.external_id,
                "room": window.room,
                "first": start,
                "last": start + length - 1,
                "detail": "open in the heating season",
            }
        )
    if draws[2] < rate:
        start, length = int(rng.integers(30, 180)), int(rng.integers(90, 180))
        watts = float(rng.uniform(900, 1800))
        plan.night_draw_w = np.where(_mask(n, start, length), watts, 0.0)
        plan.events.append(
            {
                "kind": "night_power_draw",
                "sensor": None,
                "room": None,
                "first": start,
                "last": start + length - 1,
                "detail": f"{watts:.0f} W on no plug",
            }
        )
    return plan


def _mask(n: int, start: int, length: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[start : start + length] = True
    return mask
