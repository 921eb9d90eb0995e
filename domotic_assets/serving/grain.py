"""The grain of a series, chosen from its range unless asked (pure): minutes up to 2 days, 15 minutes up to
2 weeks, hours up to 3 months, days beyond; at most `MAX_POINTS` points a series."""

from __future__ import annotations

from datetime import datetime, timedelta

GRAINS = {
    "minute": timedelta(minutes=1),
    "15min": timedelta(minutes=15),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
}
AUTOMATIC = (("minute", timedelta(days=2)), ("15min", timedelta(days=14)), ("hour", timedelta(days=92)))
MAX_POINTS = 5000


class GrainError(ValueError):
    """A range or grain the API refuses; the message names what is wrong."""


def grain_for(first: datetime, last: datetime, asked: str | None = None) -> str:
    """The grain of a series over [first, last): `asked`, or the range's own."""
    if last <= first:
        raise GrainError("'to' must come after 'from'")
    span = last - first
    if asked is None:
        return next((grain for grain, up_to in AUTOMATIC if span <= up_to), "day")
    if asked not in GRAINS:
        raise GrainError(f"grain must be one of {', '.join(GRAINS)}")
    if span / GRAINS[asked] > MAX_POINTS:
        raise GrainError(f"{asked} over this range is more than {MAX_POINTS} points: choose a coarser grain")
    return asked
