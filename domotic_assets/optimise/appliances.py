"""Power profiles of shiftable appliances: what a run draws, quarter-hour by quarter-hour.

Shapes are fractions of the device's nominal power (pidb `devices.nominal_power_w`), typical of
each kind: a washing machine heats its water first, a dishwasher heats twice, a tumble dryer
draws nearly full power until the end. They are physics of the machine, not prices or hours.
"""

from __future__ import annotations

SHAPE_STEP_MINUTES = 15
"""The length of each step of a shape (below)."""
SHAPES = {
    "washer": (1.0, 0.95, 0.15, 0.15, 0.25, 0.1, 0.3, 0.05),
    "dishwasher": (0.95, 0.95, 0.05, 0.05, 0.85, 0.1),
    "dryer": (1.0, 1.0, 1.0, 0.9, 0.45),
}
"""kind -> share of nominal power in each step of a run."""
WINDOWS = {"washer": ("07:00", "22:00"), "dishwasher": ("12:00", "24:00"), "dryer": ("09:00", "22:00")}
"""kind -> the local hours a run may use when the household has said nothing else."""


def start_step_minutes(step_minutes: float) -> float:
    """How often the platform lets a run start in a scenario of `step_minutes` slots: never more often than a
    shape step, also in 5-minute scenarios. On 20 simulated days of 288 five-minute slots, the exact optimum
    with starts every 5 minutes was 0.00016 CHF a day cheaper on average and 0.0014 at most (less than the
    solver's own tolerance of 0.005 CHF), for twice the solve time (docs/decisions.md, "The optimiser"). A
    scenario document may still ask for any multiple of its step."""
    return max(step_minutes, SHAPE_STEP_MINUTES)


def profile_kw(kind: str, nominal_w: float, step_minutes: float = 15) -> list[float]:
    """The kW of each slot of one run, for slots of `step_minutes` (5, 15, 30 or 60)."""
    shape = SHAPES[kind]
    if step_minutes <= SHAPE_STEP_MINUTES:
        repeat = round(SHAPE_STEP_MINUTES / step_minutes)
        return [round(nominal_w / 1000 * f, 4) for f in shape for _ in range(repeat)]
    group = round(step_minutes / SHAPE_STEP_MINUTES)
    return [
        round(nominal_w / 1000 * sum(shape[i : i + group]) / group, 4) for i in range(0, len(shape), group)
    ]
